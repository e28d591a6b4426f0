// SPDX-License-Identifier: MIT
/*
 * reference/vma.c - the ordered VMA set of a process, splitting, and the
 * merge rules (mm/vma.c): when may a proposed range join its neighbours,
 * and what the result looks like.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

/* ---- allocation and names ---------------------------------------------------- */

struct ref_vma *vma_alloc(struct ref_world *w)
{
	struct ref_vma *v = calloc(1, sizeof(*v));

	if (!v)
		abort();
	w->counters.vma_alloc++;
	return v;
}

/* vm_area_dup(): same attributes, same anon_vma, its own copy of the name. */
struct ref_vma *vma_dup(struct ref_world *w, const struct ref_vma *v)
{
	struct ref_vma *n = vma_alloc(w);

	*n = *v;
	n->name = NULL;
	vma_set_name(w, n, v->name);
	if (n->file)
		file_get(n->file);
	return n;
}

void vma_free(struct ref_world *w, struct ref_vma *v)
{
	if (v->file)
		file_put(v->file);
	free(v->name);
	free(v);
	w->counters.vma_free++;
}

/* Give v its own copy of name (NULL clears it). */
void vma_set_name(struct ref_world *w, struct ref_vma *v, const char *name)
{
	free(v->name);
	v->name = NULL;
	if (!name)
		return;
	v->name = strdup(name);
	if (!v->name)
		abort();
	w->counters.name_copy++;
}

bool vma_names_equal(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ---- the ordered set ------------------------------------------------------- */

size_t vma_index_of(const struct ref_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->vmas[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct ref_vma *find_vma(const struct ref_proc *p, uint64_t addr)
{
	size_t i = vma_index_of(p, addr);

	return i < p->nr_vmas ? p->vmas[i] : NULL;
}

struct ref_vma *vma_lookup(const struct ref_proc *p, uint64_t addr)
{
	struct ref_vma *v = find_vma(p, addr);

	return v && v->start <= addr ? v : NULL;
}

struct ref_vma *find_vma_intersection(const struct ref_proc *p, uint64_t start, uint64_t end)
{
	struct ref_vma *v = find_vma(p, start);

	return v && v->start < end ? v : NULL;
}

static size_t vma_position(const struct ref_proc *p, const struct ref_vma *v)
{
	size_t i = vma_index_of(p, v->start);

	while (p->vmas[i] != v)
		i++;
	return i;
}

struct ref_vma *vma_prev(const struct ref_proc *p, const struct ref_vma *v)
{
	size_t i = vma_position(p, v);

	return i > 0 ? p->vmas[i - 1] : NULL;
}

struct ref_vma *vma_next(const struct ref_proc *p, const struct ref_vma *v)
{
	size_t i = vma_position(p, v);

	return i + 1 < p->nr_vmas ? p->vmas[i + 1] : NULL;
}

void vma_insert(struct ref_proc *p, struct ref_vma *v)
{
	size_t i = vma_index_of(p, v->start);

	if (p->nr_vmas == p->cap_vmas) {
		p->cap_vmas = p->cap_vmas ? 2 * p->cap_vmas : 16;
		p->vmas = realloc(p->vmas, p->cap_vmas * sizeof(*p->vmas));
		if (!p->vmas)
			abort();
	}
	memmove(&p->vmas[i + 1], &p->vmas[i], (p->nr_vmas - i) * sizeof(*p->vmas));
	p->vmas[i] = v;
	p->nr_vmas++;
}

void vma_remove(struct ref_proc *p, struct ref_vma *v)
{
	size_t i = vma_position(p, v);

	memmove(&p->vmas[i], &p->vmas[i + 1], (p->nr_vmas - i - 1) * sizeof(*p->vmas));
	p->nr_vmas--;
}

/* ---- splitting --------------------------------------------------------------- */

/* __split_vma(): v keeps [start, addr), a new VMA takes [addr, end). */
void __split_vma(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t addr)
{
	struct ref_vma *tail = vma_dup(w, v);

	tail->start = addr;
	tail->pgoff = vma_index(v, addr);
	v->end = addr;
	vma_insert(p, tail);
}

/* split_vma(): refused when the mm already has max_map_count VMAs. */
int split_vma(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t addr)
{
	if (p->nr_vmas >= w->max_map_count)
		return -ENOMEM;
	__split_vma(w, p, v, addr);
	return 0;
}

/* ---- merging ------------------------------------------------------------------- */

void merge_from_vma(struct ref_merge *m, struct ref_vma *v, uint64_t start, uint64_t end)
{
	m->start = start;
	m->end = end;
	m->pgoff = vma_index(v, start);
	m->prot = v->prot;
	m->flags = v->flags;
	m->file = v->file;
	m->name = v->name;
	m->anon_vma = v->anon_vma;
	m->fork_child = v->fork_child;
	m->middle = v;
	m->copied_from = NULL;
}

/* is_mergeable_vma(): same vm_flags (the sticky ones aside), same file, same anon name. */
static bool attrs_mergeable(const struct ref_merge *m, const struct ref_vma *v)
{
	return v->prot == m->prot && !((v->flags ^ m->flags) & ~REF_VM_STICKY) &&
	       v->file == m->file &&
	       vma_names_equal(v->name, m->name);
}

/*
 * is_mergeable_anon_vma(): the range and the neighbour tgt can share one
 * anon_vma.  A VMA whose anon_vma came from fork (its anon_vma_chain is not
 * singular) never lends or borrows one: that keeps anon_vma roots small.
 */
static bool anon_vma_mergeable(const struct ref_merge *m, const struct ref_vma *tgt)
{
	/* the neighbour will take the range's anon_vma (not a forked one) */
	if (!tgt->anon_vma && m->anon_vma)
		return !(m->middle && m->middle->fork_child) &&
		       !(m->copied_from && m->copied_from->fork_child);
	/* the range will take the neighbour's anon_vma */
	if (tgt->anon_vma && !m->anon_vma)
		return !tgt->fork_child;
	/* both have one already (or neither): it must be the same */
	return tgt->anon_vma == m->anon_vma;
}

/* can_vma_merge_left(): prev ends where the range starts, pgoff continues. */
static bool can_merge_left(const struct ref_merge *m, const struct ref_vma *prev)
{
	return prev && prev->end == m->start && attrs_mergeable(m, prev) &&
	       anon_vma_mergeable(m, prev) && prev->pgoff + vma_pages(prev) == m->pgoff;
}

/*
 * can_vma_merge_right(): next starts where the range ends, pgoff continues;
 * when prev merges too, prev and next must agree on their anon_vma.
 */
static bool can_merge_right(const struct ref_merge *m, const struct ref_vma *prev,
			    const struct ref_vma *next, bool merge_left)
{
	if (!next || m->end != next->start || !attrs_mergeable(m, next) ||
	    !anon_vma_mergeable(m, next) ||
	    next->pgoff != m->pgoff + ((m->end - m->start) >> PAGE_SHIFT))
		return false;
	if (!merge_left)
		return true;
	return !prev->anon_vma || !next->anon_vma || prev->anon_vma == next->anon_vma;
}

/* The merged VMA has a sticky flag if any part had it. */
static void take_sticky(struct ref_vma *dst, uint32_t flags)
{
	dst->flags |= flags & REF_VM_STICKY;
}

/* The merged VMA carries an anon_vma if any part had one (dup_anon_vma). */
static void take_anon_vma(struct ref_vma *dst, uint64_t anon_vma, bool fork_child)
{
	if (dst->anon_vma || !anon_vma)
		return;
	dst->anon_vma = anon_vma;
	dst->fork_child = fork_child;
}

static void remove_and_free(struct ref_world *w, struct ref_proc *p, struct ref_vma *v)
{
	vma_remove(p, v);
	vma_free(w, v);
}

/* The VMAs just before and just after [start, end), which must be unmapped. */
static void neighbours(const struct ref_proc *p, uint64_t start, struct ref_vma **prev,
		       struct ref_vma **next)
{
	size_t i = vma_index_of(p, start);

	*prev = i > 0 ? p->vmas[i - 1] : NULL;
	*next = i < p->nr_vmas ? p->vmas[i] : NULL;
}

struct ref_vma *merge_new_range(struct ref_world *w, struct ref_proc *p, const struct ref_merge *m)
{
	struct ref_vma *prev, *next;
	bool left, right;

	neighbours(p, m->start, &prev, &next);
	left = can_merge_left(m, prev);
	right = can_merge_right(m, prev, next, left);

	if (left && right) {
		/* prev grows over the range and next: next goes away */
		prev->end = next->end;
		take_sticky(prev, m->flags | next->flags);
		take_anon_vma(prev, m->anon_vma, m->fork_child);
		take_anon_vma(prev, next->anon_vma, next->fork_child);
		remove_and_free(w, p, next);
		return prev;
	}
	if (left) {
		/* prev grows over the range */
		prev->end = m->end;
		take_sticky(prev, m->flags);
		take_anon_vma(prev, m->anon_vma, m->fork_child);
		return prev;
	}
	if (right) {
		/* next grows down over the range */
		next->start = m->start;
		next->pgoff = m->pgoff;
		take_sticky(next, m->flags);
		take_anon_vma(next, m->anon_vma, m->fork_child);
		return next;
	}
	return NULL;
}

/*
 * vma_merge_existing_range(): the range touches the start of middle (and
 * may merge into prev) and/or its end (and may merge into next).
 */
static struct ref_vma *merge_existing_range(struct ref_world *w, struct ref_proc *p,
					    const struct ref_merge *m)
{
	struct ref_vma *middle = m->middle;
	struct ref_vma *prev = vma_prev(p, middle);
	struct ref_vma *next = vma_next(p, middle);
	bool left_side = m->start == middle->start;
	bool right_side = m->end == middle->end;
	bool left = left_side && can_merge_left(m, prev);
	bool right = right_side && can_merge_right(m, prev, next, left);

	if (left && right) {
		/* prev absorbs all of middle and next */
		prev->end = next->end;
		take_sticky(prev, m->flags | next->flags);
		take_anon_vma(prev, middle->anon_vma, middle->fork_child);
		take_anon_vma(prev, next->anon_vma, next->fork_child);
		remove_and_free(w, p, middle);
		remove_and_free(w, p, next);
		return prev;
	}
	if (left) {
		/* prev absorbs the start of middle (or all of it) */
		prev->end = m->end;
		take_sticky(prev, m->flags);
		take_anon_vma(prev, middle->anon_vma, middle->fork_child);
		if (right_side) {
			remove_and_free(w, p, middle);
		} else {
			middle->pgoff = vma_index(middle, m->end);
			middle->start = m->end;
		}
		return prev;
	}
	if (right) {
		/* next absorbs the end of middle (or all of it) */
		next->start = m->start;
		next->pgoff = m->pgoff;
		take_sticky(next, m->flags);
		take_anon_vma(next, middle->anon_vma, middle->fork_child);
		if (left_side)
			remove_and_free(w, p, middle);
		else
			middle->end = m->start;
		return next;
	}
	return NULL;
}

struct ref_vma *vma_modify(struct ref_world *w, struct ref_proc *p, const struct ref_merge *m, int *err)
{
	struct ref_vma *v = m->middle;
	struct ref_vma *merged;

	/* first try to merge the range with a neighbour */
	merged = merge_existing_range(w, p, m);
	if (merged)
		return merged;
	/* else split off the part before the range ... */
	if (v->start < m->start) {
		*err = split_vma(w, p, v, m->start);
		if (*err)
			return NULL;
		v = vma_next(p, v);
	}
	/* ... and the part after it */
	if (v->end > m->end) {
		*err = split_vma(w, p, v, m->end);
		if (*err)
			return NULL;
	}
	/* the caller's attributes now apply to exactly this VMA */
	v->prot = m->prot;
	v->flags = m->flags;
	if (!vma_names_equal(v->name, m->name))
		vma_set_name(w, v, m->name);
	return v;
}
