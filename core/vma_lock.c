// SPDX-License-Identifier: MIT
/*
 * core/vma_lock.c - per-VMA locks.
 *
 * A fault looks its VMA up in the tree under RCU and read-locks only that
 * VMA.  Writers (holding mmap_lock for write) mark a VMA write-locked by
 * copying mm->mm_lock_seq into vma->vm_lock_seq under the VMA's own rwsem;
 * mmap_write_unlock() advances mm_lock_seq and so releases every VMA
 * write lock at once.
 *
 * The reader's protocol (lock_vma_under_rcu):
 *   1. under rcu_read_lock, find the VMA covering addr;
 *   2. if vm_lock_seq == mm_lock_seq it is write-locked: give up;
 *   3. trylock vm_lock for read (a writer in vma_start_write holds it);
 *   4. re-read vm_lock_seq: a writer may have finished marking between 2
 *      and 3;
 *   5. re-check that the VMA is still attached (not detached on its way
 *      to vm_area_free), still belongs to this mm and still covers addr:
 *      it may have been split, shrunk, moved or replaced before we locked.
 * The VMA's memory cannot be reused before the RCU section ends: freed VMAs
 * go through call_rcu (core/vma_free.c).
 */
#include "mm.h"

void vma_lock_init(struct core_vma *vma)
{
	mmf_rwsem_init(&vma->vm_lock);
	mmf_atomic_set(&vma->vm_lock_seq, -1);
	mmf_atomic_set(&vma->detached, 1);
}

bool vma_is_write_locked(struct core_vma *vma)
{
	return mmf_atomic_read(&vma->vm_lock_seq) ==
	       mmf_atomic_read(&vma->mm->mm_lock_seq);
}

/* mmap_lock held for write. */
void vma_start_write(struct core_vma *vma)
{
	int seq = mmf_atomic_read(&vma->mm->mm_lock_seq);

	if (mmf_atomic_read(&vma->vm_lock_seq) == seq)
		return;		/* already write-locked in this mmap_lock section */
	/* Wait for the readers that got in before us, then mark. */
#ifdef MMF_ZOO_START_WRITE_NO_WAIT	/* zoo/README.md */
	mmf_atomic_set(&vma->vm_lock_seq, seq);
#else
	mmf_down_write(&vma->vm_lock);
	mmf_atomic_set(&vma->vm_lock_seq, seq);
	mmf_up_write(&vma->vm_lock);
#endif
}

bool vma_start_read(struct core_mm *mm, struct core_vma *vma)
{
	/* Cheap check first: write-locked in the current mmap_lock section. */
	if (mmf_atomic_read(&vma->vm_lock_seq) == mmf_atomic_read_acquire(&mm->mm_lock_seq))
		return false;
	if (!mmf_down_read_trylock(&vma->vm_lock))
		return false;
	/*
	 * A writer may have set vm_lock_seq and dropped vm_lock between the
	 * check above and the trylock; holding vm_lock now, the value is
	 * stable until we release it.
	 */
#ifndef MMF_ZOO_SEQ_RECHECK	/* zoo/README.md */
	if (mmf_atomic_read(&vma->vm_lock_seq) == mmf_atomic_read_acquire(&mm->mm_lock_seq)) {
		mmf_up_read(&vma->vm_lock);
		return false;
	}
#endif
	return true;
}

void vma_end_read(struct core_vma *vma)
{
	mmf_up_read(&vma->vm_lock);
}

/* The VMA becomes reachable (it is write-locked by the caller). */
void vma_mark_attached(struct core_vma *vma)
{
	mmf_atomic_set_release(&vma->detached, 0);
}

/* The VMA leaves the tree for good; it must be write-locked. */
void vma_mark_detached(struct core_vma *vma)
{
	mmf_atomic_set_release(&vma->detached, 1);
}

struct core_vma *lock_vma_under_rcu(struct core_mm *mm, uint64_t addr)
{
	struct core_vma *vma;

	mmf_rcu_read_lock();
	vma = vma_tree_find(&mm->mt, addr, NULL);
	if (!vma)
		goto fail;		/* no VMA: maybe stack growth, needs mmap_lock */
	if (!vma_start_read(mm, vma))
		goto fail;
	/* Re-checks now that the VMA cannot change under us. */
#ifndef MMF_ZOO_DETACHED_CHECK	/* zoo/README.md */
	if (mmf_atomic_read_acquire(&vma->detached))
		goto fail_unlock;
#endif
	if (vma->mm != mm)
		goto fail_unlock;
#ifndef MMF_ZOO_RANGE_CHECK	/* zoo/README.md */
	if (addr < vma->start || addr >= vma->end)
		goto fail_unlock;
#endif
	/* Anonymous faults need an anon_vma, which only mmap_lock may create. */
#ifndef MMF_ZOO_ANON_VMA_CHECK	/* zoo/README.md */
	if (vma_is_anonymous(vma) && !mmf_load_acquire(vma->anon_vma))
		goto fail_unlock;
#endif
	mmf_rcu_read_unlock();
	return vma;

fail_unlock:
	vma_end_read(vma);
fail:
	mmf_rcu_read_unlock();
	core_count(mm->w, vma_lock_miss);
	return NULL;
}
