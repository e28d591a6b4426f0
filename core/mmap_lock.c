// SPDX-License-Identifier: MIT
/*
 * core/mmap_lock.c - the mm's mmap_lock and mm_lock_seq.
 *
 * LOCK ORDERING of the core (outermost first).  Every path that takes more
 * than one of these takes them in this order:
 *
 *   world->lock                   (handle tables: fork/exit/file create only;
 *                                  never held across an mm operation)
 *     mmap_lock                   (rwsem, one per mm; fork: parent then child)
 *       vma->vm_lock              (per-VMA rwsem; writers take it only
 *                                  inside mmap_lock write, to set vm_lock_seq;
 *                                  faults take it for read under RCU instead
 *                                  of mmap_lock)
 *         file->pages_lock        (page cache and i_size of one file; held by
 *                                  a fault while it checks EOF and installs
 *                                  the PTE, so truncate cannot miss it)
 *           file->i_mmap_rwsem    (the file's list of mapping VMAs)
 *             anon_vma->root->lock (the anon_vma hierarchy counters)
 *               mm->page_table_lock (one mm's PTEs)
 *                 mm->free_lock   (throttled VMA free list)
 *
 *   truncate: pages_lock (size + page cache), released, then i_mmap_rwsem
 *   (read) -> page_table_lock of each mapping mm; it never takes mmap_lock.
 *   RCU read-side sections nest inside anything and contain only
 *   vm_lock trylocks (lock_vma_under_rcu).
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
