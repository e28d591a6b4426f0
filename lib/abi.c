// SPDX-License-Identifier: MIT
/*
 * lib/abi.c - facts of the Linux ABI and of the machine modelled that every
 * implementation must agree on, kept in one place.
 */
#include "mmfuzz/mm.h"
#include "mmfuzz/uapi.h"

/*
 * madvise_behavior_valid(), for a kernel without CONFIG_MEMORY_FAILURE
 * (MADV_HWPOISON and MADV_SOFT_OFFLINE are then unknown, as on the host
 * the model was checked against), with guard regions (6.13) and without
 * collapse.
 */
bool mmf_advice_known(uint32_t advice)
{
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_FREE:
	case MADV_REMOVE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_DONTNEED_LOCKED:
	case MADV_GUARD_INSTALL:
	case MADV_GUARD_REMOVE:
		return true;
	}
	return false;
}

/*
 * The advice the kernel applies under mmap_lock held for read
 * (madvise_need_mmap_write() false): it only looks at pages, and faults run
 * beside it, so over several pages it is not atomic.
 */
bool mmf_advice_walks_pages(uint32_t advice)
{
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_WILLNEED:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_REMOVE:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_GUARD_INSTALL:
	case MADV_GUARD_REMOVE:
		return true;
	}
	return false;
}

/*
 * MAP_HUGE_<log> in the mmap flags: 0 asks for the default size, otherwise
 * log2 of a size the machine must have.  The machine modelled has one,
 * MMF_HUGE_PAGE_SIZE (x86-64 without gigantic pages configured).
 */
uint64_t mmf_huge_page_size(uint32_t map_flags)
{
	uint32_t log = (map_flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;

	return log == 0 || (1ULL << log) == MMF_HUGE_PAGE_SIZE ? MMF_HUGE_PAGE_SIZE : 0;
}
