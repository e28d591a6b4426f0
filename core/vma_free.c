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
 * the name and file references, the anon_vma chain (by the caller).  The
 * memory goes back to the world's VMA cache (core/objcache.h) in the
 * callback; the mm it reads the world from is freed only with the world,
 * after a barrier (world_free).
 */
#include <stdlib.h>

#include "mm.h"

/* The batch (of one mm: its world outlives every callback) goes back to
 * the world's VMA cache under one cache lock acquisition. */
static void vma_free_batch_rcu(struct mmf_rcu_head *head)
{
	struct core_vma *vma = container_of(head, struct core_vma, rcu), *next;
	struct objcache *cache = &vma->mm->w->vma_cache;
	struct objcache_chain ch;

	objcache_chain_init(&ch);
	for (; vma; vma = next) {
		next = vma->free_next;
		mmf_rwsem_destroy(&vma->vm_lock);
		objcache_chain_add(cache, &ch, vma);
	}
	objcache_free_chain(cache, &ch);
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

/* Release what a VMA holds but its memory. */
static void vma_release_refs(struct core_vma *vma)
{
	anon_name_put(vma->anon_name);
	if (vma->file)
		core_file_put(vma->file);
	core_count(vma->mm->w, vma_free);
}

/*
 * The n VMAs of mm are detached (or were never attached) and write-locked.
 * They join mm's free list under one free_lock acquisition (exit frees
 * every VMA through here: a lock round trip per VMA showed in its profile),
 * each full batch going to call_rcu as it fills.
 */
void vm_area_free_many(struct core_mm *mm, struct core_vma **vmas, size_t n)
{
	unsigned int batch_at = mm->w->legacy & CORE_LEGACY_RCU_PER_VMA ? 1 : CORE_FREE_BATCH;
	struct core_vma *batch;
	size_t i;

	for (i = 0; i < n; i++)
		vma_release_refs(vmas[i]);
	mmf_spin_lock(&mm->free_lock);
	for (i = 0; i < n; i++) {
		vmas[i]->free_next = mm->free_list;
		mm->free_list = vmas[i];
		if (++mm->nr_free < batch_at)
			continue;
		batch = mm->free_list;
		mm->free_list = NULL;
		mm->nr_free = 0;
		mmf_spin_unlock(&mm->free_lock);
		vma_free_queue(mm, batch);
		mmf_spin_lock(&mm->free_lock);
	}
	mmf_spin_unlock(&mm->free_lock);
}

void vm_area_free(struct core_vma *vma)
{
	vm_area_free_many(vma->mm, &vma, 1);
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
