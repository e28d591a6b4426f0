// SPDX-License-Identifier: MIT
/*
 * core/anon_name.c - refcounted anonymous VMA names.
 *
 * A name is an immutable string with a reference count, shared by every VMA
 * that carries it.  Duplicating a VMA (split, fork, merge target) takes a
 * reference; PR_SET_VMA_ANON_NAME allocates the new name once per call and
 * each VMA of the range takes a reference on it.  A count that would
 * saturate is not incremented: the VMA gets a private copy instead
 * (counted as name_copy).  Names compare by content (anon_name_eq), so two
 * VMAs carrying equal names in different objects still merge.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"

/* The saturation point of a name's refcount (the sync layer's default). */
#ifndef CORE_NAME_REF_MAX
#define CORE_NAME_REF_MAX 0
#endif

static struct anon_name *name_new(const char *name)
{
	size_t len = strlen(name);
	struct anon_name *n = malloc(sizeof(*n) + len + 1);

	if (!n)
		abort();
	mmf_refcount_init(&n->ref, CORE_NAME_REF_MAX);
	memcpy(n->name, name, len + 1);
	return n;
}

struct anon_name *anon_name_alloc(struct mmf_world *w, const char *name)
{
	core_count(w, name_alloc);
	return name_new(name);
}

/* A reference for another holder, or a copy if the count is saturated.
 * CORE_BROKEN_NAME_REF: a broken core that takes two (a leak no snapshot
 * shows, for the test that the fuzzers' invariant checks still catch and
 * name a broken invariant: ctest check_catches, fuzzers/CMakeLists.txt). */
struct anon_name *anon_name_get(struct mmf_world *w, struct anon_name *n)
{
#ifdef CORE_BROKEN_NAME_REF
	mmf_refcount_inc(&n->ref);
#endif
	if (!(w->legacy & CORE_LEGACY_NAME_COPY) && mmf_refcount_inc(&n->ref))
		return n;
	core_count(w, name_copy);
	return name_new(n->name);
}

void anon_name_put(struct anon_name *n)
{
	if (n && mmf_refcount_dec_and_test(&n->ref))
		free(n);
}

bool anon_name_eq(const struct anon_name *a, const struct anon_name *b)
{
	if (a == b)
		return true;
	return a && b && !strcmp(a->name, b->name);
}

unsigned long anon_name_refs(const struct anon_name *n)
{
	return (unsigned long)mmf_refcount_read(&n->ref);
}

/* Characters /proc/pid/maps or a shell would choke on are refused. */
static bool valid_name_char(char c)
{
	return c >= 0x20 && c <= 0x7e && !strchr("\\`$[]", c);
}

/* The visitor of the name walk: anonymous VMAs (and shared anon) only. */
static int name_visit(struct core_mm *mm, struct core_vma *vma, struct core_vma **prev,
		      uint64_t start, uint64_t end, void *arg)
{
	struct anon_name *name = arg;
	struct core_vma *nv;
	int err;

	if (vma->file && vma->file->fid >= 0)
		return -EBADF;
	if (anon_name_eq(vma->anon_name, name)) {
		*prev = vma;
		return 0;
	}
	nv = vma_modify(mm, *prev, vma, start, end, vma->flags, name, &err);
	if (!nv)
		return err == -ENOMEM ? -EAGAIN : err;	/* max_map_count: -EAGAIN */
	*prev = nv;
	vma_start_write(nv);
	if (!anon_name_eq(nv->anon_name, name)) {
		struct anon_name *old = nv->anon_name;

		nv->anon_name = name ? anon_name_get(mm->w, name) : NULL;
		anon_name_put(old);
	}
	return 0;
}

int core_set_anon_name(struct core_mm *mm, uint64_t start, uint64_t len_in,
		       const char *uname, bool clear)
{
	struct anon_name *name = NULL;
	uint64_t len, end;
	const char *p;
	int ret;

	if (!clear) {
		if (strnlen(uname, MMF_ANON_NAME_MAX) >= MMF_ANON_NAME_MAX)
			return -EINVAL;
		for (p = uname; *p; p++)
			if (!valid_name_char(*p))
				return -EINVAL;
		/* one name for the whole request, shared by every VMA of it */
		name = anon_name_alloc(mm->w, uname);
	}
	ret = 0;
	if (start & ~MMF_PAGE_MASK) {
		ret = -EINVAL;
		goto out;
	}
	len = MMF_PAGE_ALIGN(len_in);
	end = start + len;
	if ((len_in && !len) || end < start) {
		ret = -EINVAL;
		goto out;
	}
	if (end == start)
		goto out;

	mmap_write_lock(mm);
#ifdef MMF_ZOO_NAME_PUT_EARLY	/* zoo/README.md: the name put before the walk */
	anon_name_put(name);
#endif
	if (mm->dead)
		ret = -ESRCH;
	else
		ret = madvise_walk_vmas(mm, start, end, name_visit, name);
	mmap_write_unlock(mm);
out:
#ifndef MMF_ZOO_NAME_PUT_EARLY
	anon_name_put(name);
#endif
	return ret;
}
