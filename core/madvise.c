// SPDX-License-Identifier: MIT
/*
 * core/madvise.c - madvise(2) for the modelled advice, and the VMA walk
 * that PR_SET_VMA_ANON_NAME shares (core/anon_name.c).
 *
 * MADV_DONTNEED only zaps PTEs: it runs under the mmap_lock for READ,
 * concurrently with faults.  The fork advice changes vm_flags and may split
 * or merge: mmap_lock for write.  Holes in the range do not stop the walk
 * but make the result -ENOMEM; an error on a VMA stops it at once.
 */
#include <errno.h>
#include <sys/mman.h>

#include "mm.h"

int madvise_walk_vmas(struct core_mm *mm, uint64_t start, uint64_t end,
		      madvise_visit_t visit, void *arg)
{
	struct core_vma *prev, *vma = find_vma_prev(mm, start, &prev);
	int unmapped = 0, err;

	if (vma && start > vma->start)
		prev = vma;
	for (;;) {
		uint64_t piece_end;

		if (!vma)
			return -ENOMEM;
		if (start < vma->start) {
			unmapped = -ENOMEM;
			start = vma->start;
			if (start >= end)
				break;
		}
		piece_end = vma->end < end ? vma->end : end;
		err = visit(mm, vma, &prev, start, piece_end, arg);
		if (err)
			return err;
		/* prev is the VMA now covering the piece (merged or split) */
		start = piece_end;
		if (prev && start < prev->end)
			start = prev->end;
		if (start >= end)
			break;
		vma = find_vma(mm, prev ? prev->end : start);
	}
	return unmapped;
}

static int dontneed_visit(struct core_mm *mm, struct core_vma *vma, struct core_vma **prev,
			  uint64_t start, uint64_t end, void *arg)
{
	zap_page_range(mm, start, end);
	*prev = vma;
	return 0;
}

static int flags_visit(struct core_mm *mm, struct core_vma *vma, struct core_vma **prev,
		       uint64_t start, uint64_t end, void *arg)
{
	uint32_t advice = *(uint32_t *)arg, flags = vma->flags;
	struct core_vma *nv;
	int err;

	switch (advice) {
	case MADV_DONTFORK:
		flags |= VM_DONTCOPY;
		break;
	case MADV_DOFORK:
		flags &= ~VM_DONTCOPY;
		break;
	case MADV_WIPEONFORK:
		if (vma->file || (vma->flags & VM_SHARED))
			return -EINVAL;
		flags |= VM_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		flags &= ~VM_WIPEONFORK;
		break;
	}
	if (flags == vma->flags) {
		*prev = vma;
		return 0;
	}
	nv = vma_modify(mm, *prev, vma, start, end, flags, vma->anon_name, &err);
	if (!nv)
		return err;
	*prev = nv;
	vma_start_write(nv);
	nv->flags = flags;
	return 0;
}

int64_t core_madvise(struct core_mm *mm, uint64_t start, uint64_t len_in, uint32_t advice)
{
	uint64_t len, end;
	int ret;

	switch (advice) {
	case MADV_DONTNEED:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
		break;
	default:
		return -EINVAL;
	}
	if (start & (MMF_PAGE_SIZE - 1))
		return -EINVAL;
	len = MMF_PAGE_ALIGN(len_in);
	if (len_in && !len)
		return -EINVAL;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	if (advice == MADV_DONTNEED) {
		mmap_read_lock(mm);
		ret = mm->dead ? -ESRCH : madvise_walk_vmas(mm, start, end, dontneed_visit, NULL);
		mmap_read_unlock(mm);
	} else {
		mmap_write_lock(mm);
		ret = mm->dead ? -ESRCH : madvise_walk_vmas(mm, start, end, flags_visit, &advice);
		mmap_write_unlock(mm);
	}
	return ret;
}
