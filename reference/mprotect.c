// SPDX-License-Identifier: MIT
/*
 * reference/mprotect.c - mprotect(2) (mm/mprotect.c do_mprotect_pkey,
 * mprotect_fixup): change R/W/X over a range, VMA by VMA, splitting and
 * merging; a hole stops the walk with -ENOMEM after the VMAs before it
 * have been changed.  With x86 protection keys the request also decides
 * each VMA's pkey (arch_override_mprotect_pkey: exec_only_pkey_flag).
 */
#include <errno.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "ref.h"

/*
 * The vm_flags mprotect gives [start, end) of v.  VM_ACCOUNT is set when a
 * private mapping first becomes writable, and dropped again only by a
 * private anonymous VMA that has no anon_vma yet (nothing was charged for
 * real): this hidden flag decides later merges.  The pkey flag is replaced
 * by the one the request gives (pkey).
 */
static uint32_t mprotect_flags(const struct ref_vma *v, uint32_t prot, uint32_t pkey)
{
	uint32_t flags = (v->flags & ~REF_VM_PKEY_XONLY) | pkey;

	if (prot & PROT_WRITE) {
		if (!(v->flags & (REF_VM_ACCOUNT | REF_VM_NORESERVE | MMF_VMA_SHARED)) &&
		    !(v->prot & PROT_WRITE))
			flags |= REF_VM_ACCOUNT;
	} else if ((v->flags & REF_VM_ACCOUNT) && vma_is_anonymous(v) && !v->anon_vma) {
		flags &= ~REF_VM_ACCOUNT;
	}
	return flags;
}

/*
 * mprotect_fixup(): returns the VMA now covering [start, end), or NULL with
 * *err.  pkey: the pkey flag the request gives (exec_only_pkey_flag).
 */
static struct ref_vma *mprotect_fixup(struct ref_world *w, struct ref_proc *p, struct ref_vma *v,
				      uint64_t start, uint64_t end, uint32_t prot, uint32_t pkey,
				      int *err)
{
	struct ref_merge m;

	/* the same protection and key: nothing changes, not even VM_ACCOUNT */
	if (prot == v->prot && pkey == (v->flags & REF_VM_PKEY_XONLY))
		return v;
	bool cow_now = (v->flags & REF_VM_LOCKED) && (prot & PROT_WRITE) &&
		       !(v->prot & PROT_WRITE) && !vma_is_shared(v);

	merge_from_vma(&m, v, start, end);
	m.prot = prot;
	m.flags = mprotect_flags(v, prot, pkey);
	v = vma_modify(w, p, &m, err);
	/* an mlocked private mapping made writable is COWed at once */
	if (v && cow_now)
		populate_range(w, p, start, end);
	return v;
}

int64_t ref_mprotect(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len, uint32_t prot)
{
	uint32_t grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	uint64_t end, done;
	struct ref_vma *v;
	uint32_t pkey;
	int err = 0;

	/* a mapping cannot grow both ways */
	prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	/* start must be page aligned */
	if (!page_aligned(start))
		return -EINVAL;
	/* an empty range succeeds at once */
	if (!len)
		return 0;
	/* the rounded range must not wrap */
	len = page_align(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	/* arch_validate_prot: only R, W, X (and the ignored PROT_SEM) */
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
		return -EINVAL;
	/* PROT_EXEC|PROT_SEM is not execute-only: it gets key 0 */
	pkey = exec_only_pkey_flag(w, prot);
	prot &= PROT_READ | PROT_WRITE | PROT_EXEC;

	v = find_vma_intersection(p, start, end);
	if (!v)
		return -ENOMEM;
	if (grows & PROT_GROWSDOWN) {
		/* PROT_GROWSDOWN: from the start of a GROWSDOWN VMA */
		if (!(v->flags & MMF_VMA_GROWSDOWN))
			return -EINVAL;
		start = v->start;
	} else if (v->start > start) {
		/* the range must start inside a VMA */
		return -ENOMEM;
	} else if (grows & PROT_GROWSUP) {
		/* PROT_GROWSUP: x86 has no VM_GROWSUP VMAs */
		return -EINVAL;
	}

	done = start;
	while (v && v->start < end) {
		/* a hole: stop, keeping what was changed so far */
		if (v->start > done)
			return -ENOMEM;
		v = mprotect_fixup(w, p, v, done, v->end < end ? v->end : end, prot, pkey, &err);
		if (!v)
			return err;
		done = v->end;
		v = vma_next(p, v);
	}
	/* the range runs past the last VMA */
	return done < end ? -ENOMEM : 0;
}
