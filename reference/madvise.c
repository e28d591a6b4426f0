// SPDX-License-Identifier: MIT
/*
 * reference/madvise.c - madvise(2) for the modelled advice (mm/madvise.c)
 * and anonymous VMA names (prctl PR_SET_VMA_ANON_NAME), which the kernel
 * implements with the same VMA walk.
 *
 * The walk (madvise_walk_vmas): every VMA piece inside [start, end) gets
 * the advice; holes do not stop it but make the result -ENOMEM; an error
 * on a VMA stops it at once.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "ref.h"

/* What the walk applies to each VMA piece: an advice, or a name. */
struct advice {
	uint32_t advice;	/* MADV_* (unless set_name) */
	bool set_name;		/* PR_SET_VMA_ANON_NAME */
	const char *name;	/* set_name: the new name, or NULL to clear */
};

/* A split refused for max_map_count reads as -EAGAIN from madvise and prctl. */
static int update_error(int err)
{
	return err == -ENOMEM ? -EAGAIN : err;
}

/*
 * madvise_update_vma(): give [start, end) of v new flags or a new name,
 * splitting or merging; nothing at all if nothing changes.
 */
static int update_vma(struct ref_world *w, struct ref_proc *p, struct ref_vma **vp,
		      uint64_t start, uint64_t end, uint32_t flags, const struct advice *a)
{
	struct ref_vma *v = *vp;
	bool set_name = a->set_name;
	struct ref_merge m;
	int err = 0;

	if (flags == v->flags && (!set_name || vma_names_equal(v->name, a->name)))
		return 0;
	merge_from_vma(&m, v, start, end);
	m.flags = flags;
	if (set_name)
		m.name = a->name;
	v = vma_modify(w, p, &m, &err);
	if (!v)
		return err;
	*vp = v;
	return 0;
}

/* madvise_remove(): punch a hole in the file behind a shared mapping. */
static int remove_range(struct ref_world *w, struct ref_vma *v, uint64_t start, uint64_t end)
{
	/* only file-backed memory (shmem included) has a hole to punch */
	if (!v->file)
		return -EINVAL;
	/* and only through a shared, writable-capable mapping */
	if (!vma_is_shared(v))
		return -EACCES;
	file_punch_hole(w, v->file, vma_index(v, start), vma_index(v, end));
	return 0;
}

/*
 * madvise_pageout() on a machine without swap: anonymous pages cannot be
 * reclaimed and stay.  A page cache page mapped by this PTE only is
 * unmapped (try_to_unmap); if it was never written it is dropped from the
 * page cache too, else writeout fails (no swap for shmem) and it stays
 * cached.  Pages mapped more than once are left alone.
 */
static void pageout(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t end)
{
	size_t i = table_lower_bound(&p->ptes, start);

	while (i < p->ptes.nr) {
		struct ref_pte *pte = table_row(&p->ptes, i);
		struct ref_file *f = pte->file;
		uint64_t index = pte->index;
		struct ref_fpage *pg;

		if (pte->addr >= end)
			break;
		if (pte->kind != PTE_FILE || file_page_mapcount(w, f, index) != 1) {
			i++;
			continue;
		}
		zap_ptes(p, pte->addr, pte->addr + PAGE);
		pg = table_find(&f->cache, index);
		if (pg && !pg->dirty)
			table_remove_range(&f->cache, index, index + 1);
	}
}

/*
 * madvise_guard_install(): every page of [start, end) becomes a guard
 * marker.  mlocked memory is refused (its pages must stay).  The whole VMA
 * is marked REF_VM_MAYBE_GUARD, so that fork copies its page table,
 * markers included; a private anonymous VMA also gets its anon_vma (one
 * with page tables is expected to have one), a file or shared one does
 * not.  The pages there are zapped (private copies are lost, file pages
 * stay cached), markers already there stay.
 */
static int guard_install(struct ref_world *w, struct ref_proc *p, struct ref_vma *v,
			 uint64_t start, uint64_t end)
{
	if (v->flags & REF_VM_LOCKED)
		return -EINVAL;
	v->flags |= REF_VM_MAYBE_GUARD;
	if (vma_is_anonymous(v))
		anon_vma_prepare(w, p, v);
	zap_ptes(p, start, end);
	for (uint64_t page = start; page < end; page += PAGE) {
		struct ref_pte *pte = table_get(&p->ptes, page);

		pte->kind = PTE_GUARD;
	}
	return 0;
}

/* madvise_guard_remove(): the guard markers of [start, end) go, nothing else. */
static void guard_remove(struct ref_proc *p, uint64_t start, uint64_t end)
{
	for (uint64_t page = start; page < end; page += PAGE) {
		if (pte_is_guard(p, page))
			unmap_ptes(p, page, page + PAGE);
	}
}

/*
 * ksm_madvise(MADV_MERGEABLE): only private memory can be merged by KSM;
 * for anything else the advice is ignored.
 */
static uint32_t ksm_mergeable_flags(const struct ref_vma *v, uint32_t flags)
{
	if (vma_is_shared(v))
		return flags;
	return flags | REF_VM_MERGEABLE;
}

/* madvise_vma_behavior() for one VMA piece; *vp is updated to the result. */
static int advise_vma(struct ref_world *w, struct ref_proc *p, struct ref_vma **vp,
		      uint64_t start, uint64_t end, const struct advice *a)
{
	struct ref_vma *v = *vp;
	uint32_t flags = v->flags;

	if (a->set_name) {
		/* names are for anonymous memory: private, or shared (anon shmem) */
		if (v->file && !v->file->anon)
			return -EBADF;
		return update_error(update_vma(w, p, vp, start, end, flags, a));
	}
	switch (a->advice) {
	case MADV_DONTNEED:
	case MADV_FREE:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_REMOVE:
		/* mlocked pages are not given up */
		if (flags & REF_VM_LOCKED)
			return -EINVAL;
		break;
	}
	switch (a->advice) {
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
		/* zap the PTEs: private pages are lost, file pages stay cached */
		zap_ptes(p, start, end);
		return 0;
	case MADV_FREE:
		/*
		 * Private anonymous pages become lazily freeable: without memory
		 * pressure they stay, so nothing observable changes.
		 */
		return vma_is_anonymous(v) ? 0 : -EINVAL;
	case MADV_WILLNEED:
	case MADV_COLD:
		/* read-ahead and deactivation hints: nothing observable */
		return 0;
	case MADV_PAGEOUT:
		pageout(w, p, start, end);
		return 0;
	case MADV_REMOVE:
		return remove_range(w, v, start, end);
	case MADV_GUARD_INSTALL:
		return guard_install(w, p, v, start, end);
	case MADV_GUARD_REMOVE:
		guard_remove(p, start, end);
		return 0;
	case MADV_NORMAL:
		flags &= ~(REF_VM_RAND_READ | REF_VM_SEQ_READ);
		break;
	case MADV_SEQUENTIAL:
		flags = (flags & ~REF_VM_RAND_READ) | REF_VM_SEQ_READ;
		break;
	case MADV_RANDOM:
		flags = (flags & ~REF_VM_SEQ_READ) | REF_VM_RAND_READ;
		break;
	case MADV_DONTFORK:
		flags |= MMF_VMA_DONTCOPY;
		break;
	case MADV_DOFORK:
		flags &= ~MMF_VMA_DONTCOPY;
		break;
	case MADV_WIPEONFORK:
		/* only private anonymous memory can be wiped on fork */
		if (v->file || vma_is_shared(v))
			return -EINVAL;
		flags |= MMF_VMA_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		/* droppable memory is always wiped on fork */
		if (flags & REF_VM_DROPPABLE)
			return -EINVAL;
		flags &= ~MMF_VMA_WIPEONFORK;
		break;
	case MADV_DONTDUMP:
		flags |= REF_VM_DONTDUMP;
		break;
	case MADV_DODUMP:
		/* droppable memory is never dumped */
		if (flags & REF_VM_DROPPABLE)
			return -EINVAL;
		flags &= ~REF_VM_DONTDUMP;
		break;
	case MADV_MERGEABLE:
		flags = ksm_mergeable_flags(v, flags);
		break;
	case MADV_UNMERGEABLE:
		flags &= ~REF_VM_MERGEABLE;
		break;
	case MADV_HUGEPAGE:
		flags = (flags & ~REF_VM_NOHUGEPAGE) | REF_VM_HUGEPAGE;
		break;
	case MADV_NOHUGEPAGE:
		flags = (flags & ~REF_VM_HUGEPAGE) | REF_VM_NOHUGEPAGE;
		break;
	}
	return update_error(update_vma(w, p, vp, start, end, flags, a));
}

/* madvise_walk_vmas() over the page-aligned, non-empty [start, end). */
static int walk_vmas(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t end,
		     const struct advice *a)
{
	struct ref_vma *v = find_vma(p, start);
	int unmapped = 0;

	for (;;) {
		uint64_t piece_end;
		int err;

		/* nothing mapped from here on */
		if (!v)
			return -ENOMEM;
		/* a hole before this VMA: remember it, carry on */
		if (start < v->start) {
			unmapped = -ENOMEM;
			start = v->start;
			if (start >= end)
				break;
		}
		piece_end = v->end < end ? v->end : end;
		err = advise_vma(w, p, &v, start, piece_end, a);
		if (err)
			return err;
		if (piece_end < v->end)
			piece_end = v->end;
		if (piece_end >= end)
			break;
		v = find_vma(p, v->end);
		start = piece_end;
	}
	return unmapped;
}

/*
 * madvise_populate(): fault in every page of [start, end) as a read or a
 * write would, without changing any value.  Unlike the walk, a hole stops
 * it (-ENOMEM); a VMA whose prot forbids the access is -EINVAL; a page
 * beyond EOF is -EFAULT.  The pages before the failure stay populated.
 */
static int populate(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t end,
		    bool write)
{
	for (uint64_t page = start; page < end; page += PAGE) {
		struct ref_vma *v = vma_lookup(p, page);

		/* no VMA here (stacks do not grow for populate) */
		if (!v)
			return -ENOMEM;
		/* check_vma_flags(): a write needs PROT_WRITE, a read PROT_READ */
		if (!(v->prot & (write ? PROT_WRITE : PROT_READ)))
			return -EINVAL;
		if (handle_fault(w, p, v, page, write))
			return -EFAULT;
	}
	return 0;
}

/*
 * The range checks shared by madvise and PR_SET_VMA_ANON_NAME: 1 if the
 * walk should run over [*start, *end), else 0 or -EINVAL to return.
 */
static int madvise_range(uint64_t start, uint64_t len, uint64_t *end)
{
	uint64_t rounded = page_align(len);

	/* start must be page aligned */
	if (!page_aligned(start))
		return -EINVAL;
	/* the length must not round up to 0 ... */
	if (len && !rounded)
		return -EINVAL;
	/* ... nor the range wrap */
	if (start + rounded < start)
		return -EINVAL;
	/* an empty range does nothing */
	if (!rounded)
		return 0;
	*end = start + rounded;
	return 1;
}

int64_t ref_madvise(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len, uint32_t advice)
{
	struct advice a = { .advice = advice };
	uint64_t end;
	int ret;

	/* unknown advice */
	if (!mmf_advice_known(advice))
		return -EINVAL;
	ret = madvise_range(start, len, &end);
	if (ret <= 0)
		return ret;
	if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
		return populate(w, p, start, end, advice == MADV_POPULATE_WRITE);
	return walk_vmas(w, p, start, end, &a);
}

/* is_valid_name_char(): printable ASCII except \ ` $ [ ] */
static bool name_char_ok(char c)
{
	return c > 0x1f && c < 0x7f && !strchr("\\`$[]", c);
}

/* prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, start, len, name) */
int64_t ref_set_name(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len,
		     const char *name)
{
	struct advice a = { .set_name = true, .name = name };
	uint64_t end;
	int ret;

	if (name) {
		/* strndup_user(): at most ANON_VMA_NAME_MAX_LEN bytes with the NUL */
		if (strnlen(name, MMF_ANON_NAME_MAX) >= MMF_ANON_NAME_MAX)
			return -EINVAL;
		for (const char *c = name; *c; c++) {
			if (!name_char_ok(*c))
				return -EINVAL;
		}
		/* anon_vma_name_alloc(): one name for the whole request (even "") */
		w->counters.name_alloc++;
	}
	ret = madvise_range(start, len, &end);
	if (ret <= 0)
		return ret;
	return walk_vmas(w, p, start, end, &a);
}
