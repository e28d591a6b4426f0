// SPDX-License-Identifier: MIT
/*
 * reference/check.c - the reference's invariants (mmf_impl.check), under
 * world->lock (taken by world.c): every VMA page-aligned, non-empty, in
 * order, inside the address space, a fork child with an anon_vma, at most
 * max_map_count + 1 of them; every PTE inside a VMA, a file PTE mapping its
 * VMA's file and a page its page cache holds within EOF, a private page
 * only in a VMA with an anon_vma.
 */
#include <stdio.h>

#include "ref.h"

/* "NAME: what": NAME, the invariant, is the signature (invariant:NAME) */
#define FAIL(...) do { snprintf(msg, msglen, __VA_ARGS__); return -1; } while (0)

static int check_proc(struct ref_world *w, int pid, char *msg, size_t msglen)
{
	struct ref_proc *p = &w->procs[pid];
	uint64_t prev_end = 0;

	if (p->nr_vmas > w->max_map_count + 1)
		FAIL("map_count: p%d: %zu VMAs, max_map_count %u", pid, p->nr_vmas, w->max_map_count);
	for (size_t i = 0; i < p->nr_vmas; i++) {
		const struct ref_vma *v = p->vmas[i];

		if (!page_aligned(v->start) || !page_aligned(v->end) || v->start >= v->end)
			FAIL("vma_range: p%d: bad VMA [%#llx, %#llx)", pid, (unsigned long long)v->start,
			     (unsigned long long)v->end);
		if (v->start < prev_end)
			FAIL("vma_overlap: p%d: VMA at %#llx overlaps or is out of order", pid,
			     (unsigned long long)v->start);
		if (v->end > MMF_TASK_SIZE || v->start < MMF_MMAP_MIN_ADDR)
			FAIL("vma_outside: p%d: VMA [%#llx, %#llx) outside the address space", pid,
			     (unsigned long long)v->start, (unsigned long long)v->end);
		if (v->fork_child && !v->anon_vma)
			FAIL("fork_anon_vma: p%d: fork child without anon_vma at %#llx", pid,
			     (unsigned long long)v->start);
		prev_end = v->end;
	}
	for (size_t i = 0; i < p->ptes.nr; i++) {
		const struct ref_pte *pte = table_row(&p->ptes, i);
		const struct ref_vma *v = vma_lookup(p, pte->addr);

		if (!v)
			FAIL("pte_outside_vma: p%d: PTE at %#llx outside every VMA", pid, (unsigned long long)pte->addr);
		if (pte->kind == PTE_FILE && pte->file != v->file)
			FAIL("pte_other_file: p%d: PTE at %#llx maps another file than its VMA", pid,
			     (unsigned long long)pte->addr);
		if (pte->kind == PTE_FILE &&
		    (!table_find(&pte->file->cache, pte->index) || pte->index >= file_pages(pte->file)))
			FAIL("pte_not_in_page_cache: p%d: PTE at %#llx maps a page not in the page cache", pid,
			     (unsigned long long)pte->addr);
		if (pte->kind == PTE_ANON && !v->anon_vma)
			FAIL("page_without_anon_vma: p%d: private page at %#llx in a VMA without anon_vma", pid,
			     (unsigned long long)pte->addr);
	}
	return 0;
}

int world_check(struct ref_world *w, char *msg, size_t msglen)
{
	int ret = 0;

	for (int pid = 0; pid < MMF_MAX_PROCS && !ret; pid++) {
		if (w->procs[pid].live)
			ret = check_proc(w, pid, msg, msglen);
	}
	return ret;
}
