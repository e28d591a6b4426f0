// SPDX-License-Identifier: MIT
/*
 * core/fork.c - fork's copy of the address space (dup_mmap).
 *
 * The parent's mmap_lock is held for write and every parent VMA is
 * write-locked before the child's pid is taken (core_fork_freeze_parent),
 * so no fault runs on the parent meanwhile (its private pages become
 * copy-on-write shared) and the child is the parent as of that moment.
 * The child's mmap_lock is held too; the child is not reachable by anyone
 * until fork returns.
 *  - MADV_DONTFORK VMAs are skipped;
 *  - MADV_WIPEONFORK VMAs are copied empty, without an anon_vma;
 *  - other VMAs with an anon_vma get one of their own chained to the
 *    parent's (anon_vma_fork), and their PTEs are copied, sharing the
 *    pages (vma_needs_copy: only VMAs with an anon_vma or maybe_guard
 *    copy PTEs);
 *  - names are shared by reference, files by reference;
 *  - every file VMA is inserted into its file's i_mmap, right behind the
 *    parent's (i_mmap_insert_after says why), before its PTEs are copied.
 */
#include <errno.h>
#include <stdlib.h>

#include "mm.h"

/*
 * Share the parent's PTEs of [vma->start, vma->end) with the child: the
 * PTEs present, not every page of the range (a binary search per page of
 * large, sparsely populated VMAs made a program of 15 forks cost 9 s of CPU
 * in diff_fuzzer: the 30-minute campaign's hang:fork,
 * corpus/regressions/fork_sparse_vmas.mmf).
 */
static void copy_page_range(struct core_mm *dst, struct core_mm *src, struct core_vma *vma)
{
	size_t i, end;

	/* lock order: the parent's page table, then the child's (not yet visible) */
	mmf_spin_lock(&src->page_table_lock);
	mmf_spin_lock(&dst->page_table_lock);
	end = pte_index(src, vma->end >> MMF_PAGE_SHIFT);
	for (i = pte_index(src, vma->start >> MMF_PAGE_SHIFT); i < end; i++) {
		page_get(src->ptes[i].page);
		pte_set(dst, src->ptes[i].vpn, src->ptes[i].page);
	}
	mmf_spin_unlock(&dst->page_table_lock);
	mmf_spin_unlock(&src->page_table_lock);
}

/*
 * Write-lock every VMA of the parent (its mmap_lock held for write), so that
 * no fault changes it from here on: fork calls this before the child's pid
 * becomes visible, so the copy is the parent as of that moment.  Locking
 * each VMA only just before copying it (as the copy loop once did) let a per-VMA-lock fault land in the copy after another thread had
 * already seen the child's pid taken: found by sched_fuzzer
 * (linearizability:snapshot).
 */
void core_fork_freeze_parent(struct core_mm *oldmm)
{
	struct core_vma *mpnt;
	struct vma_tree_iter it;
	struct vma_tree_range r;

#ifdef MMF_ZOO_FORK_NO_FREEZE	/* zoo/README.md */
	return;
#endif
	vma_tree_walk(&oldmm->mt, it, mpnt, r, 0, MMF_TASK_SIZE)
		vma_start_write(mpnt);
}

/* Both mmap_locks held for write, the parent frozen (core_fork_freeze_parent).
 * The child's tree starts as a copy of the parent's (vma_tree_dup, one
 * transaction): each entry then gets the child's VMA, and the MADV_DONTFORK
 * entries are erased at the end. */
int core_dup_mm(struct core_mm *oldmm, struct core_mm *mm)
{
	struct core_vma *mpnt, *tmp;
	struct vma_tree_iter it;
	struct vma_tree_range r;
	uint64_t *skip = NULL;
	size_t nskip = 0, cap = 0, i;

	vma_tree_begin(&mm->mt);
	vma_tree_dup(&mm->mt, &oldmm->mt);
	vma_tree_walk(&mm->mt, it, mpnt, r, 0, MMF_TASK_SIZE) {
		if (mpnt->flags & VM_DONTCOPY) {
			if (nskip == cap) {
				cap = cap ? 2 * cap : 16;
				skip = realloc(skip, cap * sizeof(*skip));
				if (!skip)
					abort();
			}
			skip[nskip++] = mpnt->start;
			continue;
		}
		tmp = vm_area_dup(mpnt);
		tmp->mm = mm;
		tmp->flags &= ~VM_LOCKED;	/* mlock is not inherited */
		if (mpnt->flags & VM_WIPEONFORK) {
			tmp->anon_vma = NULL;
		} else {
			anon_vma_fork(tmp, mpnt);
		}
		vma_start_write_new(tmp);
		vma_tree_iter_replace(&mm->mt, &it, tmp);
		mm->map_count++;
		vma_mark_attached(tmp);
		if (tmp->file) {
			i_mmap_lock_write(tmp->file);
#ifdef MMF_ZOO_FORK_CHILD_FIRST_IN_I_MMAP	/* zoo/README.md */
			i_mmap_insert(tmp->file, tmp);
#else
			i_mmap_insert_after(tmp->file, tmp, mpnt);
#endif
			i_mmap_unlock_write(tmp->file);
		}
		if (!(mpnt->flags & VM_WIPEONFORK) && (mpnt->anon_vma || mpnt->maybe_guard))
			copy_page_range(mm, oldmm, mpnt);
	}
	/* the entries left hold the parent's DONTFORK VMAs: drop them */
	for (i = 0; i < nskip; i++)
		vma_tree_erase(&mm->mt, skip[i], NULL);
	vma_tree_commit(&mm->mt);
	free(skip);
	return 0;
}
