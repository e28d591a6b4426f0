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
 * The writer's mark costs no lock round trip when no reader is inside:
 * readers announce themselves in vma->vm_readers before they look at
 * vm_lock_seq, and the writer sets vm_lock_seq before it looks at
 * vm_readers (each a sequentially consistent read-modify-write followed
 * by a sequentially consistent load, so at least one of the two sees the
 * other).  Only when a reader is inside or entering
 * does the writer take vm_lock for write, which waits for the readers that
 * hold it for read.
 *
 * The reader's protocol (lock_vma_under_rcu):
 *   1. under rcu_read_lock, find the VMA covering addr;
 *   2. if vm_lock_seq == mm_lock_seq it is write-locked: give up;
 *   3. announce itself (vm_readers++), then re-read vm_lock_seq: a writer
 *      that marked before our announcement is seen here, one that marks
 *      after it sees us and waits on vm_lock;
 *   4. trylock vm_lock for read (a waiting writer holds or queues on it),
 *      and re-read vm_lock_seq: a writer that saw us may have finished
 *      its wait on vm_lock before our trylock;
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
	mmf_atomic_set(&vma->vm_readers, 0);
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
	int old = mmf_atomic_read(&vma->vm_lock_seq);

	if (old == seq)
		return;		/* already write-locked in this mmap_lock section */
#ifdef MMF_ZOO_START_WRITE_NO_WAIT	/* zoo/README.md: mark, never wait */
	mmf_atomic_set(&vma->vm_lock_seq, seq);
#else
	/* Mark (only this writer writes vm_lock_seq: the cmpxchg succeeds) ... */
	mmf_atomic_cmpxchg(&vma->vm_lock_seq, old, seq);
	/* ... then wait for the readers that got in before the mark, if any. */
	if (mmf_atomic_read_sc(&vma->vm_readers) == 0)
		return;
	mmf_down_write(&vma->vm_lock);
	mmf_up_write(&vma->vm_lock);
#endif
}

/*
 * mmap_lock held for write; vma is new and in no tree yet, so no reader
 * can have found it: the mark needs none of vma_start_write's handshake
 * (fork marks each child VMA so; the tree's publication orders the mark
 * before any reader can see the VMA).
 */
void vma_start_write_new(struct core_vma *vma)
{
	mmf_atomic_set(&vma->vm_lock_seq, mmf_atomic_read(&vma->mm->mm_lock_seq));
}

bool vma_start_read(struct core_mm *mm, struct core_vma *vma)
{
	/* Cheap check first: write-locked in the current mmap_lock section. */
	if (mmf_atomic_read(&vma->vm_lock_seq) == mmf_atomic_read_acquire(&mm->mm_lock_seq))
		return false;
	mmf_atomic_add_return(&vma->vm_readers, 1);
	/*
	 * A writer may have marked the VMA since the check above: it did so
	 * before our announcement (we see its mark now) or it sees vm_readers
	 * and waits on vm_lock, which we then hold for read or fail to take.
	 */
	if (mmf_atomic_read_sc(&vma->vm_lock_seq) ==
	    mmf_atomic_read_acquire(&mm->mm_lock_seq))
		goto fail;
	if (!mmf_down_read_trylock(&vma->vm_lock))
		goto fail;
	/*
	 * A writer that saw us announced may have taken and dropped vm_lock
	 * (its wait) before our trylock: holding vm_lock now, vm_lock_seq
	 * is stable until we release it.
	 */
#ifndef MMF_ZOO_SEQ_RECHECK	/* zoo/README.md */
	if (mmf_atomic_read(&vma->vm_lock_seq) == mmf_atomic_read_acquire(&mm->mm_lock_seq)) {
		mmf_up_read(&vma->vm_lock);
		goto fail;
	}
#endif
	return true;
fail:
	mmf_atomic_sub_return(&vma->vm_readers, 1);
	return false;
}

/*
 * Once vm_lock is released and vm_readers dropped, a writer may detach and
 * free the VMA; whichever of the two comes last still touches it.  Inside
 * an RCU read-side section both are safe: the VMA's memory goes through
 * call_rcu, queued only after the writer saw us leave.
 */
void vma_end_read(struct core_vma *vma)
{
	mmf_rcu_read_lock();
	mmf_up_read(&vma->vm_lock);
	mmf_atomic_sub_return(&vma->vm_readers, 1);
	mmf_rcu_read_unlock();
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

	if (mm->w->legacy & CORE_LEGACY_NO_VMA_LOCK)
		return NULL;
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
	if (vma_is_anonymous(vma) && !mmf_load_acquire(vma->anon_vma))
		goto fail_unlock;
	mmf_rcu_read_unlock();
	return vma;

fail_unlock:
	vma_end_read(vma);
fail:
	mmf_rcu_read_unlock();
	core_count(mm->w, vma_lock_miss);
	return NULL;
}
