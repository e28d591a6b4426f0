// SPDX-License-Identifier: MIT
/*
 * core/madvise.c - madvise(2) for the modelled advice, and the VMA walk
 * that PR_SET_VMA_ANON_NAME shares (core/anon_name.c).
 *
 * The advice that only looks at pages (DONTNEED, PAGEOUT, REMOVE,
 * POPULATE, ...) runs under the mmap_lock for READ, concurrently with
 * faults.  The advice that changes vm_flags may split or merge: mmap_lock
 * for write.  The vm_flags bits that /proc/pid/maps does not show still
 * decide merges.  Holes in the range do not stop the walk
 * but make the result -ENOMEM; an error on a VMA stops it at once.
 */
#include <errno.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
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

/* The advice that touches pages only (mmap_lock read). */
static int pages_visit(struct core_mm *mm, struct core_vma *vma, struct core_vma **prev,
		       uint64_t start, uint64_t end, void *arg)
{
	uint32_t advice = *(uint32_t *)arg;

	*prev = vma;
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_FREE:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_REMOVE:
		/* mlocked pages are not given up */
		if (vma->flags & VM_LOCKED)
			return -EINVAL;
		break;
	}
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
		/* private pages are lost, file pages stay cached */
		zap_page_range(mm, start, end);
		return 0;
	case MADV_FREE:
		/* lazily freeable: without memory pressure nothing changes */
		return vma_is_anonymous(vma) ? 0 : -EINVAL;
	case MADV_WILLNEED:
	case MADV_COLD:
		return 0;
	case MADV_PAGEOUT:
		core_file_pageout(mm, vma, start, end);
		return 0;
	case MADV_GUARD_INSTALL:
		/*
		 * mlocked pages must stay; the VMA is marked so that fork
		 * copies its page table, markers included; only private
		 * anonymous memory gets an anon_vma for it
		 */
		if (vma->flags & VM_LOCKED)
			return -EINVAL;
		mmf_write_once(vma->maybe_guard, true);
		if (vma_is_anonymous(vma))
			anon_vma_prepare(vma);
		guard_install_range(mm, start, end);
		return 0;
	case MADV_GUARD_REMOVE:
		guard_remove_range(mm, start, end);
		return 0;
	case MADV_REMOVE:
		if (!vma->file)
			return -EINVAL;
		if (!(vma->flags & VM_SHARED))
			return -EACCES;
		return core_file_punch_hole(vma->file,
					    vma->pgoff + ((start - vma->start) >> MMF_PAGE_SHIFT),
					    vma->pgoff + ((end - vma->start) >> MMF_PAGE_SHIFT));
	}
	return -EINVAL;
}

/* The advice that changes vm_flags (mmap_lock write): split or merge. */
static int flags_visit(struct core_mm *mm, struct core_vma *vma, struct core_vma **prev,
		       uint64_t start, uint64_t end, void *arg)
{
	uint32_t advice = *(uint32_t *)arg, flags = vma->flags;
	struct core_vma *nv;
	int err;

	switch (advice) {
	case MADV_NORMAL:
		flags &= ~(VM_RAND_READ | VM_SEQ_READ);
		break;
	case MADV_SEQUENTIAL:
		flags = (flags & ~VM_RAND_READ) | VM_SEQ_READ;
		break;
	case MADV_RANDOM:
		flags = (flags & ~VM_SEQ_READ) | VM_RAND_READ;
		break;
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
		/* droppable memory is always wiped on fork */
		if (flags & VM_DROPPABLE)
			return -EINVAL;
		flags &= ~VM_WIPEONFORK;
		break;
	case MADV_DONTDUMP:
		flags |= VM_DONTDUMP;
		break;
	case MADV_DODUMP:
		/* droppable memory is never dumped */
		if (flags & VM_DROPPABLE)
			return -EINVAL;
		flags &= ~VM_DONTDUMP;
		break;
	case MADV_MERGEABLE:
		/* KSM merges private memory only; otherwise ignored */
		if (!(flags & VM_SHARED))
			flags |= VM_MERGEABLE;
		break;
	case MADV_UNMERGEABLE:
		flags &= ~VM_MERGEABLE;
		break;
	case MADV_HUGEPAGE:
		flags = (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
		break;
	case MADV_NOHUGEPAGE:
		flags = (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
		break;
	}
	if (flags == vma->flags) {
		*prev = vma;
		return 0;
	}
	nv = vma_modify(mm, *prev, vma, start, end, flags, vma->anon_name, &err);
	if (!nv)
		return err == -ENOMEM ? -EAGAIN : err;	/* max_map_count: -EAGAIN */
	*prev = nv;
	vma_start_write(nv);
	nv->flags = flags;
	return 0;
}

/*
 * madvise_populate: fault every page in as a read or a write would, values
 * unchanged.  A hole stops it (-ENOMEM, stacks do not grow here), a VMA
 * whose prot forbids the access is -EINVAL, a page beyond EOF -EFAULT.
 */
static int populate(struct core_mm *mm, uint64_t start, uint64_t end, bool write)
{
	uint64_t addr;
	int err;

	for (addr = start; addr < end; addr += MMF_PAGE_SIZE) {
		struct core_vma *vma = vma_lookup(mm, addr);

		if (!vma)
			return -ENOMEM;
		if (!(vma->flags & (write ? VM_WRITE : VM_READ)))
			return -EINVAL;
		err = populate_page(mm, vma, addr, write);
		if (err)
			return err;
	}
	return 0;
}

int64_t core_madvise(struct core_mm *mm, uint64_t start, uint64_t len_in, uint32_t advice)
{
	uint64_t len, end;
	int ret;

	if (!mmf_advice_known(advice))
		return -EINVAL;
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

	if (mmf_advice_walks_pages(advice)) {
		mmap_read_lock(mm);
		if (mm->dead)
			ret = -ESRCH;
		else if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
			ret = populate(mm, start, end, advice == MADV_POPULATE_WRITE);
		else
			ret = madvise_walk_vmas(mm, start, end, pages_visit, &advice);
		mmap_read_unlock(mm);
	} else {
		mmap_write_lock(mm);
		ret = mm->dead ? -ESRCH : madvise_walk_vmas(mm, start, end, flags_visit, &advice);
		mmap_write_unlock(mm);
	}
	return ret;
}
