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

#include "ref.h"

/* How the walk applies one request to one VMA piece. */
struct advice {
	uint32_t advice;	/* MADV_*, or ADVICE_SET_NAME */
	const char *name;	/* ADVICE_SET_NAME: the new name, or NULL */
};

#define ADVICE_SET_NAME 0xffffffffu

/*
 * madvise_update_vma(): give [start, end) of v new flags or a new name,
 * splitting or merging; nothing at all if nothing changes.
 */
static int update_vma(struct ref_world *w, struct ref_proc *p, struct ref_vma **vp,
		      uint64_t start, uint64_t end, uint32_t flags, const struct advice *a)
{
	struct ref_vma *v = *vp;
	bool set_name = a->advice == ADVICE_SET_NAME;
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

/* madvise_vma_behavior() for one VMA piece; *vp is updated to the result. */
static int advise_vma(struct ref_world *w, struct ref_proc *p, struct ref_vma **vp,
		      uint64_t start, uint64_t end, const struct advice *a)
{
	struct ref_vma *v = *vp;
	uint32_t flags = v->flags;

	switch (a->advice) {
	case MADV_DONTNEED:
		/* zap the PTEs: private pages are lost, file pages stay cached */
		zap_ptes(p, start, end);
		return 0;
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
		flags &= ~MMF_VMA_WIPEONFORK;
		break;
	case ADVICE_SET_NAME:
		/* names are for anonymous memory: private, or shared (anon shmem) */
		if (v->file && !v->file->anon)
			return -EBADF;
		break;
	}
	return update_vma(w, p, vp, start, end, flags, a);
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

/* madvise_behavior_valid(), for the advice the model knows. */
static bool advice_known(uint32_t advice)
{
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
		return true;
	}
	return false;
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
	if (!advice_known(advice))
		return -EINVAL;
	ret = madvise_range(start, len, &end);
	if (ret <= 0)
		return ret;
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
	struct advice a = { .advice = ADVICE_SET_NAME, .name = name };
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
