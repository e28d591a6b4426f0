// SPDX-License-Identifier: MIT
/*
 * core/mmap_lock.c - the mm's mmap_lock and mm_lock_seq.
 *
 * LOCK ORDERING of the core (outermost first).  Every path that takes more
 * than one of these takes them in this order:
 *
 *   mmap_lock                     (rwsem, one per mm)
 *     world->lock                 (handle tables; taken alone by lookups
 *                                  and file creation; fork takes it under
 *                                  the parent's mmap_lock to reserve the
 *                                  child's slot, exit under the dying mm's
 *                                  to free its slot as it dies)
 *       mmap_lock of a new child  (fork: unreachable until published, so
 *                                  never contended)
 *     vma->vm_lock                (per-VMA rwsem; a writer takes it only
 *                                  when a reader is announced, for an
 *                                  instant inside the mmap_lock write
 *                                  section, to wait for the readers, and
 *                                  waits for nothing while holding it; faults hold
 *                                  it for read instead of mmap_lock, taken
 *                                  by trylock under RCU)
 *       anon_vma->root->lock      (anon_vma counts and chains; never held
 *                                  together with pages_lock or i_mmap_rwsem)
 *       file->pages_lock          (page cache, i_size and dirty bits of one
 *                                  file; a fault holds it while it checks EOF
 *                                  and installs the PTE, so truncate cannot
 *                                  miss the PTE)
 *         file->i_mmap_rwsem      (the VMAs mapping the file; truncate
 *                                  and MADV_REMOVE nest it inside
 *                                  pages_lock; mmap/split/merge/unlink take
 *                                  it alone inside mmap_lock)
 *           mm->page_table_lock   (one mm's PTEs; fork nests the child's
 *                                  inside the parent's; anon_vma_prepare
 *                                  takes it inside the anon_vma lock)
 *             mm->free_lock       (throttled VMA free list: taken alone)
 *
 *   RCU read-side sections nest inside anything and contain only the
 *   vm_lock trylock (lock_vma_under_rcu), its release (vma_end_read)
 *   and tree lookups.
 *   truncate and MADV_REMOVE reach other processes' page tables through
 *   i_mmap and never take their mmap_lock.
 *
 * mm_lock_seq: a VMA is write-locked while vma->vm_lock_seq equals
 * mm->mm_lock_seq.  mmap_write_unlock advances mm_lock_seq (release), which
 * unlocks every VMA write-locked under this mmap_lock at once.
 */
#include "mm.h"

void mmap_read_lock(struct core_mm *mm)
{
	mmf_down_read(&mm->mmap_lock);
	core_count(mm->w, mmap_lock_read);
}

void mmap_read_unlock(struct core_mm *mm)
{
	mmf_up_read(&mm->mmap_lock);
}

void mmap_write_lock(struct core_mm *mm)
{
	mmf_down_write(&mm->mmap_lock);
	core_count(mm->w, mmap_lock_write);
}

void mmap_write_unlock(struct core_mm *mm)
{
	/*
	 * Ending the write section ends every VMA write lock taken in it.
	 * Only the mmap_lock writer writes mm_lock_seq.
	 */
	mmf_atomic_set_release(&mm->mm_lock_seq, mmf_atomic_read(&mm->mm_lock_seq) + 1);
	mmf_up_write(&mm->mmap_lock);
}

void mmap_assert_write_locked(struct core_mm *mm)
{
	mmf_rwsem_assert_write_locked(&mm->mmap_lock);
}
