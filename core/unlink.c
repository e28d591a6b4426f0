// SPDX-License-Identifier: MIT
/*
 * core/unlink.c - batched unlink of file VMAs from i_mmap.
 *
 * Tearing down a run of VMAs (munmap, exit) removes each file VMA from its
 * file's i_mmap.  Consecutive VMAs of the same file are collected (up to
 * CORE_UNLINK_BATCH) and removed under ONE i_mmap_rwsem acquisition; the
 * batch is flushed when the file changes or the batch is full, and at the
 * end.  Anonymous VMAs do not interrupt a batch.
 */
#include "mm.h"

void unlink_file_vma_batch_init(struct unlink_vma_file_batch *vb)
{
	vb->count = 0;
}

static void unlink_file_vma_batch_process(struct unlink_vma_file_batch *vb)
{
	struct core_file *f = vb->vmas[0]->file;
	int i;

	i_mmap_lock_write(f);
	for (i = 0; i < vb->count; i++)
		i_mmap_remove(f, vb->vmas[i]);
	i_mmap_unlock_write(f);
	vb->count = 0;
}

void unlink_file_vma_batch_add(struct unlink_vma_file_batch *vb, struct core_vma *vma)
{
	if (!vma->file)
		return;
	if (vb->count > 0 &&
	    (vb->count == CORE_UNLINK_BATCH || vb->vmas[0]->file != vma->file ||
	     (vma->mm->w->legacy & CORE_LEGACY_UNLINK)))
		unlink_file_vma_batch_process(vb);
	vb->vmas[vb->count++] = vma;
}

void unlink_file_vma_batch_final(struct unlink_vma_file_batch *vb)
{
	if (vb->count > 0)
		unlink_file_vma_batch_process(vb);
}
