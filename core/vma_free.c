// SPDX-License-Identifier: MIT
/*
 * core/vma_free.c - throttled RCU freeing of VMAs.
 *
 * A removed VMA may still be under a lockless reader (lock_vma_under_rcu
 * found it in the tree before it was erased), so its memory may only be
 * reused after a grace period.  Instead of one call_rcu per VMA, freed VMAs
 * are queued on a per-mm list (under mm->free_lock) and handed to RCU in
 * batches of CORE_FREE_BATCH with a single call_rcu, whose callback frees
 * the whole batch.  exit_mmap drains what is left (vm_area_free_drain).
 *
 * Everything but the VMA's memory (and its vm_lock) is released at once:
 * the name and file references, the anon_vma chain (by the caller).
 */
#include <stdlib.h>

#include "mm.h"

static void vma_free_batch_rcu(struct mmf_rcu_head *head)
{
	struct core_vma *vma = container_of(head, struct core_vma, rcu), *next;

	for (; vma; vma = next) {
		next = vma->free_next;
		mmf_rwsem_destroy(&vma->vm_lock);
		free(vma);
	}
}

static void vma_free_queue(struct core_mm *mm, struct core_vma *batch)
{
#ifdef MMF_ZOO_FREE_NO_RCU	/* zoo/README.md */
	vma_free_batch_rcu(&batch->rcu);
#else
	mmf_call_rcu(&batch->rcu, vma_free_batch_rcu);
#endif
	core_count(mm->w, call_rcu);
}

/* The VMA is detached (or was never attached) and write-locked. */
void vm_area_free(struct core_vma *vma)
{
	struct core_mm *mm = vma->mm;
	struct core_vma *batch = NULL;

	anon_name_put(vma->anon_name);
	if (vma->file)
		core_file_put(vma->file);
	core_count(mm->w, vma_free);

	mmf_spin_lock(&mm->free_lock);
	vma->free_next = mm->free_list;
	mm->free_list = vma;
	if (++mm->nr_free >= CORE_FREE_BATCH || (mm->w->legacy & CORE_LEGACY_RCU_PER_VMA)) {
		batch = mm->free_list;
		mm->free_list = NULL;
		mm->nr_free = 0;
	}
	mmf_spin_unlock(&mm->free_lock);
	if (batch)
		vma_free_queue(mm, batch);
}

void vm_area_free_drain(struct core_mm *mm)
{
	struct core_vma *batch;

	mmf_spin_lock(&mm->free_lock);
	batch = mm->free_list;
	mm->free_list = NULL;
	mm->nr_free = 0;
	mmf_spin_unlock(&mm->free_lock);
	if (batch)
		vma_free_queue(mm, batch);
}
