// SPDX-License-Identifier: MIT
/*
 * core/mprotect.c - mprotect(2): change R/W/X over a range, VMA by VMA,
 * merging with neighbours or splitting (vma_modify); a hole stops the walk
 * with -ENOMEM after the VMAs before it were changed.
 *
 * VM_ACCOUNT: set when a private mapping first becomes writable; dropped
 * when write goes away from a private anonymous VMA that has no anon_vma
 * yet.  It is invisible in the snapshot but decides merges; so does the
 * execute-only pkey (VM_PKEY_XONLY), replaced by the one the request gives.
 */
#include <errno.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "mm.h"

static uint32_t prot_to_vm_flags(uint32_t prot)
{
	return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) |
	       (prot & PROT_EXEC ? VM_EXEC : 0);
}

static uint32_t mprotect_flags(const struct core_vma *vma, uint32_t prot, uint32_t pkey)
{
	uint32_t flags = (vma->flags & ~(VM_PROT_MASK | VM_PKEY_XONLY)) | pkey;

	flags |= (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) |
		 (prot & PROT_EXEC ? VM_EXEC : 0);
	if (prot & PROT_WRITE) {
		if (!(vma->flags & (VM_ACCOUNT | VM_SHARED | VM_WRITE | VM_NORESERVE)))
			flags |= VM_ACCOUNT;
	} else if ((vma->flags & VM_ACCOUNT) && vma_is_anonymous(vma) && !vma->anon_vma) {
		flags &= ~VM_ACCOUNT;
	}
	return flags;
}

static struct core_vma *mprotect_fixup(struct core_mm *mm, struct core_vma *prev,
				       struct core_vma *vma, uint64_t start, uint64_t end,
				       uint32_t prot, uint32_t pkey, int *err)
{
	uint32_t flags;
	struct core_vma *nv;
	bool cow_now;

	*err = 0;
	/* the same protection and key: nothing changes, not even VM_ACCOUNT */
	if ((vma->flags & (VM_PROT_MASK | VM_PKEY_XONLY)) == (prot_to_vm_flags(prot) | pkey))
		return vma;
	cow_now = (vma->flags & VM_LOCKED) && (prot & PROT_WRITE) &&
		  !(vma->flags & (VM_WRITE | VM_SHARED));
	flags = mprotect_flags(vma, prot, pkey);
	nv = vma_modify(mm, prev, vma, start, end, flags, vma->anon_name, err);
	if (!nv)
		return NULL;
#ifndef MMF_ZOO_MPROTECT_NO_WRITE_LOCK	/* zoo/README.md */
	vma_start_write(nv);
#endif
	nv->flags = flags;
	/* an mlocked private mapping made writable is COWed at once */
	if (cow_now)
		populate_range(mm, start, end);
	return nv;
}

int64_t core_mprotect(struct core_mm *mm, uint64_t start, uint64_t len, uint32_t prot)
{
	uint32_t grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	struct core_vma *vma, *prev;
	uint64_t end, done;
	uint32_t pkey;
	int err = 0;
	int64_t ret;

	prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (start & (MMF_PAGE_SIZE - 1))
		return -EINVAL;
	if (!len)
		return 0;
	len = MMF_PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
		return -EINVAL;
	/* PROT_EXEC|PROT_SEM is not execute-only: it gets key 0 */
	pkey = exec_only_pkey_flag(mm->w, prot);
	prot &= PROT_READ | PROT_WRITE | PROT_EXEC;

	mmap_write_lock(mm);
	if (mm->dead) {
		ret = -ESRCH;
		goto out;
	}
	vma = find_vma(mm, start);
	if (!vma || vma->start >= end) {
		ret = -ENOMEM;
		goto out;
	}
	if (grows & PROT_GROWSDOWN) {
		/* from the start of a GROWSDOWN VMA */
		if (!(vma->flags & VM_GROWSDOWN)) {
			ret = -EINVAL;
			goto out;
		}
		start = vma->start;
	} else if (vma->start > start) {
		ret = -ENOMEM;
		goto out;
	} else if (grows & PROT_GROWSUP) {
		/* x86 has no VM_GROWSUP VMAs */
		ret = -EINVAL;
		goto out;
	}
	prev = start > vma->start ? vma : vma_prev_of(mm, vma);
	done = start;
	while (vma && vma->start < end) {
		if (vma->start > done) {
			ret = -ENOMEM;
			goto out;
		}
		vma = mprotect_fixup(mm, prev, vma, done, vma->end < end ? vma->end : end,
				     prot, pkey, &err);
		if (!vma) {
			ret = err;
			goto out;
		}
		done = vma->end;
		prev = vma;
		vma = vma_next_of(mm, vma);
	}
	ret = done < end ? -ENOMEM : 0;
out:
	mmap_write_unlock(mm);
	return ret;
}
