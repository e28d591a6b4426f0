// SPDX-License-Identifier: MIT
/*
 * reference/fork.c - fork (kernel/fork.c dup_mmap, mm/rmap.c anon_vma_fork,
 * mm/memory.c copy_page_range).
 *
 *  - MADV_DONTFORK VMAs are not copied;
 *  - MADV_WIPEONFORK VMAs are copied empty, without an anon_vma;
 *  - a VMA with an anon_vma gets a new anon_vma in the child, chained to
 *    the parent's: the child VMA is a "fork child" and will not merge with
 *    VMAs that have no anon_vma or another one;
 *  - PTEs are copied only for VMAs with an anon_vma or a copy-on-fork
 *    flag (REF_VM_MAYBE_GUARD: guard markers live in the page table only)
 *    (vma_needs_copy); other VMAs fault again in the child;
 *  - private pages are copy-on-write: each side keeps its own value, so
 *    the model simply copies them.
 */
#include <errno.h>

#include "ref.h"

/* copy_page_range() for [v->start, v->end). */
static void copy_ptes(struct ref_proc *child, const struct ref_proc *parent, const struct ref_vma *v)
{
	size_t i = table_lower_bound(&parent->ptes, v->start);

	for (; i < parent->ptes.nr; i++) {
		const struct ref_pte *src = table_row(&parent->ptes, i);
		struct ref_pte *dst;

		if (src->addr >= v->end)
			break;
		dst = table_get(&child->ptes, src->addr);
		*dst = *src;
	}
}

int64_t ref_fork(struct ref_world *w, struct ref_proc *parent)
{
	struct ref_proc *child = NULL;
	int pid;

	/* the lowest free process slot; none left is -EAGAIN */
	for (pid = 0; pid < MMF_MAX_PROCS; pid++) {
		if (!w->procs[pid].live) {
			child = &w->procs[pid];
			break;
		}
	}
	if (!child)
		return -EAGAIN;
	child->live = true;
	table_init(&child->ptes, sizeof(struct ref_pte));

	for (size_t i = 0; i < parent->nr_vmas; i++) {
		const struct ref_vma *v = parent->vmas[i];
		struct ref_vma *c;

		/* MADV_DONTFORK: not in the child */
		if (v->flags & MMF_VMA_DONTCOPY)
			continue;
		c = vma_dup(w, v);
		/* mlock is not inherited */
		c->flags &= ~REF_VM_LOCKED;
		if (v->flags & MMF_VMA_WIPEONFORK) {
			/* MADV_WIPEONFORK: the child starts with fresh zero memory */
			c->anon_vma = 0;
			c->fork_child = false;
		} else if (v->anon_vma) {
			/* anon_vma_fork(): a new anon_vma chained to the parent's */
			c->anon_vma = new_anon_vma(w);
			c->fork_child = true;
		}
		vma_insert(child, c);
		/* vma_needs_copy(): only these VMAs copy their PTEs */
		if (!(v->flags & MMF_VMA_WIPEONFORK) &&
		    (v->anon_vma || (v->flags & REF_VM_COPY_ON_FORK)))
			copy_ptes(child, parent, v);
	}
	return pid;
}
