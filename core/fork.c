// SPDX-License-Identifier: MIT
/*
 * core/fork.c - fork's copy of the address space (dup_mmap).
 *
 * The parent's mmap_lock is held for write and each parent VMA is
 * write-locked before it is copied, so no fault runs on it meanwhile (its
 * private pages become copy-on-write shared).  The child's mmap_lock is
 * held too; the child is not reachable by anyone until fork returns.
 *  - MADV_DONTFORK VMAs are skipped;
 *  - MADV_WIPEONFORK VMAs are copied empty, without an anon_vma;
 *  - other VMAs with an anon_vma get one of their own chained to the
 *    parent's (anon_vma_fork), and their PTEs are copied, sharing the
 *    pages (vma_needs_copy: only VMAs with an anon_vma copy PTEs);
 *  - names are shared by reference, files by reference;
 *  - every file VMA is inserted into its file's i_mmap.
 */
#include <errno.h>

#include "mm.h"

/* Share the parent's PTEs of [vma->start, vma->end) with the child. */
static void copy_page_range(struct core_mm *dst, struct core_mm *src, struct core_vma *vma)
{
	uint64_t vpn = vma->start >> MMF_PAGE_SHIFT, last = vma->end >> MMF_PAGE_SHIFT;
	struct core_pte *pte;

	/* lock order: the parent's page table, then the child's (not yet visible) */
	mmf_spin_lock(&src->page_table_lock);
	mmf_spin_lock(&dst->page_table_lock);
	for (; vpn < last; vpn++) {
		pte = pte_lookup(src, vpn);
		if (!pte)
			continue;
		page_get(pte->page);
		pte_set(dst, vpn, pte->page);
	}
	mmf_spin_unlock(&dst->page_table_lock);
	mmf_spin_unlock(&src->page_table_lock);
}

/* Both mmap_locks held for write. */
int core_dup_mm(struct core_mm *oldmm, struct core_mm *mm)
{
	struct core_vma *mpnt, *tmp;
	struct vma_tree_range r;

	vma_tree_for_each(&oldmm->mt, mpnt, r, 0, MMF_TASK_SIZE) {
		vma_start_write(mpnt);
		if (mpnt->flags & VM_DONTCOPY)
			continue;
		tmp = vm_area_dup(mpnt);
		tmp->mm = mm;
		tmp->flags &= ~VM_LOCKED;	/* mlock is not inherited */
		if (mpnt->flags & VM_WIPEONFORK) {
			tmp->anon_vma = NULL;
		} else {
			anon_vma_fork(tmp, mpnt);
		}
		vma_start_write(tmp);
		vma_link_tree(mm, tmp);
		if (tmp->file) {
			i_mmap_lock_write(tmp->file);
			i_mmap_insert(tmp->file, tmp);
			i_mmap_unlock_write(tmp->file);
		}
		if (!(mpnt->flags & VM_WIPEONFORK) && mpnt->anon_vma)
			copy_page_range(mm, oldmm, mpnt);
	}
	return 0;
}
