// SPDX-License-Identifier: MIT
/*
 * fuzzers/mutate_prog.c - structure-aware edits of a program, shared by the
 * mutators of every target (mutator.c: diff_fuzzer's; cprog_mutator.c: the
 * concurrent targets'): insert, delete, duplicate, move or splice ops, change
 * one argument to a value that makes ops collide.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "fuzz.h"

uint64_t mmf_fuzz_rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t mmf_fuzz_below(uint64_t *s, uint64_t n)
{
	return n ? mmf_fuzz_rnd(s) % n : 0;
}

#define rnd mmf_fuzz_rnd
#define below mmf_fuzz_below

static const uint32_t map_flag_bits[] = {
	MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_ANONYMOUS, MAP_GROWSDOWN,
};
static const uint32_t advices[] = {
	MADV_NORMAL, MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK,
	MADV_KEEPONFORK, MADV_RANDOM, MADV_FREE, 0x7fff,
};
static const char *const names[] = {
	"", "a", "heap", "[anon]", "stack", "x y", "bad$name", "bad[name]", "name\\",
	"0123456789012345678901234567890123456789012345678901234567890123456789012345678", /* 79 */
	"01234567890123456789012345678901234567890123456789012345678901234567890123456789", /* 80 */
};

/* An address or length near something the program already uses. */
static uint64_t interesting_addr(const struct mmf_prog *p, uint64_t *s)
{
	static const uint64_t fixed[] = {
		0, MMF_MMAP_MIN_ADDR, MMF_MMAP_MIN_ADDR - MMF_PAGE_SIZE, 0x100000, 0x200000,
		MMF_MMAP_BASE, MMF_MMAP_BASE - MMF_PAGE_SIZE, MMF_TASK_SIZE - MMF_PAGE_SIZE,
		MMF_TASK_SIZE, MMF_TASK_SIZE - MMF_STACK_LIMIT,
	};
	const struct mmf_op *o;
	uint64_t a;

	if (!p->nr_ops || below(s, 4) == 0)
		return fixed[below(s, sizeof(fixed) / sizeof(fixed[0]))];
	o = &p->ops[below(s, p->nr_ops)];
	switch (below(s, 4)) {
	case 0: a = o->addr; break;
	case 1: a = o->addr + o->len; break;
	case 2: a = o->new_addr; break;
	default: a = o->addr + MMF_PAGE_SIZE * below(s, (o->len >> MMF_PAGE_SHIFT) + 1); break;
	}
	switch (below(s, 6)) {
	case 0: a += MMF_PAGE_SIZE; break;
	case 1: a -= MMF_PAGE_SIZE; break;
	case 2: a += 1; break;
	default: break;
	}
	return a;
}

static uint64_t interesting_len(uint64_t *s)
{
	switch (below(s, 8)) {
	case 0: return 0;
	case 1: return below(s, 2 * MMF_PAGE_SIZE);		/* unaligned */
	case 2: return MMF_STACK_GUARD_GAP + MMF_PAGE_SIZE * below(s, 4);
	case 3: return (uint64_t)1 << below(s, 64);		/* overflow */
	default: return MMF_PAGE_SIZE * (1 + below(s, 16));
	}
}

static void tweak_arg(struct mmf_prog *p, struct mmf_op *o, uint64_t *s)
{
	switch (below(s, 12)) {
	case 0:
		o->proc = (int32_t)below(s, MMF_MAX_PROCS + 1);
		break;
	case 1:
		o->file = below(s, 8) ? (int32_t)below(s, MMF_MAX_FILES + 1) : MMF_FILE_ANON;
		break;
	case 2:
		o->addr = interesting_addr(p, s);
		break;
	case 3:
		o->len = interesting_len(s);
		break;
	case 4:
		o->new_len = interesting_len(s);
		break;
	case 5:
		o->new_addr = interesting_addr(p, s);
		break;
	case 6:
		o->pgoff = below(s, 8) ? below(s, 16) : rnd(s);
		break;
	case 7:
		o->value = below(s, 2) ? below(s, 256) : rnd(s);
		break;
	case 8:
		o->prot = below(s, 8) ? (uint32_t)below(s, 8) : (uint32_t)rnd(s);
		break;
	case 9:
		if (o->kind == MMF_OP_MREMAP)
			o->flags ^= 1u << below(s, 3);
		else
			o->flags ^= map_flag_bits[below(s, sizeof(map_flag_bits) / sizeof(map_flag_bits[0]))];
		break;
	case 10:
		o->advice = advices[below(s, sizeof(advices) / sizeof(advices[0]))];
		break;
	default:
		o->name_null = below(s, 4) == 0;
		snprintf(o->name, sizeof(o->name), "%s",
			 names[below(s, sizeof(names) / sizeof(names[0]))]);
		break;
	}
}

static void insert_ops(struct mmf_prog *p, uint32_t at, const struct mmf_op *ops, uint32_t n)
{
	struct mmf_prog q;

	mmf_prog_init(&q);
	for (uint32_t i = 0; i < p->nr_ops && i < at; i++)
		mmf_prog_append(&q, &p->ops[i]);
	for (uint32_t i = 0; i < n; i++)
		mmf_prog_append(&q, &ops[i]);
	for (uint32_t i = at; i < p->nr_ops; i++)
		mmf_prog_append(&q, &p->ops[i]);
	mmf_prog_free(p);
	*p = q;
}

static void delete_ops(struct mmf_prog *p, uint32_t at, uint32_t n)
{
	if (at >= p->nr_ops)
		return;
	if (n > p->nr_ops - at)
		n = p->nr_ops - at;
	memmove(&p->ops[at], &p->ops[at + n], (p->nr_ops - at - n) * sizeof(p->ops[0]));
	p->nr_ops -= n;
}

void mmf_fuzz_mutate_prog(struct mmf_prog *p, uint64_t *s)
{
	uint32_t n = p->nr_ops;
	struct mmf_op op;

	switch (n ? below(s, 8) : 0) {
	case 0: {	/* insert freshly generated ops */
		struct mmf_prog g;

		mmf_prog_init(&g);
		mmf_prog_generate(&g, rnd(s), 1 + (uint32_t)below(s, 3), MMF_DECODE_ANY);
		insert_ops(p, (uint32_t)below(s, n + 1), g.ops, g.nr_ops);
		mmf_prog_free(&g);
		break;
	}
	case 1:		/* delete one or a few */
		delete_ops(p, (uint32_t)below(s, n), below(s, 4) ? 1 : 1 + (uint32_t)below(s, 4));
		break;
	case 2:		/* duplicate one op elsewhere, slightly changed */
		op = p->ops[below(s, n)];
		if (below(s, 2))
			tweak_arg(p, &op, s);
		insert_ops(p, (uint32_t)below(s, n + 1), &op, 1);
		break;
	case 3: {	/* splice: copy a run of ops to another place */
		uint32_t from = (uint32_t)below(s, n), len = 1 + (uint32_t)below(s, 8);
		struct mmf_op *copy;

		if (len > n - from)
			len = n - from;
		copy = malloc(len * sizeof(*copy));
		if (!copy)
			break;
		memcpy(copy, &p->ops[from], len * sizeof(*copy));
		insert_ops(p, (uint32_t)below(s, n + 1), copy, len);
		free(copy);
		break;
	}
	case 4: {	/* move one op */
		uint32_t from = (uint32_t)below(s, n);

		op = p->ops[from];
		delete_ops(p, from, 1);
		insert_ops(p, (uint32_t)below(s, p->nr_ops + 1), &op, 1);
		break;
	}
	case 5:		/* change the kind, keep the arguments */
		p->ops[below(s, n)].kind = (enum mmf_op_kind)below(s, MMF_OP__COUNT);
		break;
	default:	/* change one argument */
		tweak_arg(p, &p->ops[below(s, n)], s);
		break;
	}
}

/* Encode p into out; drops trailing ops until it fits.  0 if nothing fits. */
size_t mmf_fuzz_encode_fit(struct mmf_prog *p, uint8_t *out, size_t max)
{
	for (;;) {
		size_t need = mmf_prog_encode(p, out, max);

		if (need <= max)
			return need;
		if (!p->nr_ops)
			return 0;
		p->nr_ops--;
	}
}
