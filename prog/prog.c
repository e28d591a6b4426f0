// SPDX-License-Identifier: MIT
/*
 * prog/prog.c - a program in memory: a bounded array of ops.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "prog_ext.h"

void mmf_prog_init(struct mmf_prog *p)
{
	memset(p, 0, sizeof(*p));
}

void mmf_prog_free(struct mmf_prog *p)
{
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

int mmf_prog_append(struct mmf_prog *p, const struct mmf_op *op)
{
	if (p->nr_ops >= MMF_PROG_MAX_OPS)
		return -1;
	if (p->nr_ops == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 16;
		struct mmf_op *ops;

		if (cap > MMF_PROG_MAX_OPS)
			cap = MMF_PROG_MAX_OPS;
		ops = realloc(p->ops, (size_t)cap * sizeof(*ops));
		if (!ops) {
			fputs("mmfuzz: out of memory\n", stderr);
			abort();
		}
		p->ops = ops;
		p->cap = cap;
	}
	p->ops[p->nr_ops++] = *op;
	return 0;
}

bool mmf_prog_asks_exec_only(const struct mmf_prog *p)
{
	for (uint32_t i = 0; i < p->nr_ops; i++) {
		const struct mmf_op *op = &p->ops[i];

		if (op->kind == MMF_OP_MMAP && op->prot == PROT_EXEC)
			return true;
		/* mprotect looks at prot without its PROT_GROWS* bits */
		if (op->kind == MMF_OP_MPROTECT &&
		    (op->prot & ~(uint32_t)(PROT_GROWSDOWN | PROT_GROWSUP)) == PROT_EXEC)
			return true;
	}
	return false;
}

bool mmf_op_equal(const struct mmf_op *a, const struct mmf_op *b)
{
	return a->kind == b->kind && a->proc == b->proc && a->file == b->file &&
	       a->addr == b->addr && a->len == b->len && a->new_len == b->new_len &&
	       a->new_addr == b->new_addr && a->pgoff == b->pgoff &&
	       a->value == b->value && a->prot == b->prot && a->flags == b->flags &&
	       a->advice == b->advice && a->name_null == b->name_null &&
	       strncmp(a->name, b->name, sizeof(a->name)) == 0;
}

bool mmf_prog_equal(const struct mmf_prog *a, const struct mmf_prog *b)
{
	if (a->nr_ops != b->nr_ops)
		return false;
	for (uint32_t i = 0; i < a->nr_ops; i++)
		if (!mmf_op_equal(&a->ops[i], &b->ops[i]))
			return false;
	return true;
}
