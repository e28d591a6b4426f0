// SPDX-License-Identifier: MIT
/*
 * reference/mremap.c - mremap(2) (mm/mremap.c): shrink in place, grow in
 * place, move (MREMAP_MAYMOVE), move to a fixed address (MREMAP_FIXED,
 * including the move of several VMAs at once when old_len == new_len),
 * and move leaving the old range mapped but empty (MREMAP_DONTUNMAP).
 * old_len == 0 duplicates a shared mapping.
 */
#include <errno.h>
#include <sys/mman.h>

#include "ref.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* The request, as the kernel's vma_remap_struct. */
struct remap {
	uint64_t addr, old_len, new_len, new_addr;
	uint32_t flags;
	struct ref_vma *vma;	/* the VMA containing addr */
};

enum remap_type { REMAP_NO_RESIZE, REMAP_SHRINK, REMAP_EXPAND };

static enum remap_type remap_type(const struct remap *r)
{
	if (r->old_len == r->new_len)
		return REMAP_NO_RESIZE;
	return r->old_len > r->new_len ? REMAP_SHRINK : REMAP_EXPAND;
}

static uint64_t remap_delta(const struct remap *r)
{
	return r->old_len > r->new_len ? r->old_len - r->new_len : r->new_len - r->old_len;
}

/* MREMAP_FIXED and MREMAP_DONTUNMAP always give the mapping a new address. */
static bool implies_new_addr(const struct remap *r)
{
	return r->flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
}

static bool overlaps(const struct remap *r)
{
	return r->addr + r->old_len > r->new_addr && r->new_addr + r->new_len > r->addr;
}

/* check_mremap_params(): the checks that need no VMA. */
static int check_params(const struct remap *r)
{
	/* unknown flags */
	if (r->flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return -EINVAL;
	/* addr must be page aligned */
	if (!page_aligned(r->addr))
		return -EINVAL;
	/* old_len may be 0 (duplicate a shared mapping), new_len may not */
	if (!r->new_len)
		return -EINVAL;
	if (r->new_len > MMF_TASK_SIZE)
		return -EINVAL;
	if (!implies_new_addr(r))
		return 0;
	/* the new range must lie inside the address space, page aligned */
	if (r->new_addr > MMF_TASK_SIZE - r->new_len)
		return -EINVAL;
	if (!page_aligned(r->new_addr))
		return -EINVAL;
	/* MREMAP_FIXED and MREMAP_DONTUNMAP need MREMAP_MAYMOVE */
	if (!(r->flags & MREMAP_MAYMOVE))
		return -EINVAL;
	/* MREMAP_DONTUNMAP cannot resize */
	if ((r->flags & MREMAP_DONTUNMAP) && r->old_len != r->new_len)
		return -EINVAL;
	/* the new range may not overlap the old one */
	if (overlaps(r))
		return -EINVAL;
	return 0;
}

/* check_prep_vma(): the checks on the VMA, for a grow or a move. */
static int check_vma(struct remap *r)
{
	struct ref_vma *v = r->vma;
	uint64_t old_len = r->old_len, pgoff;

	/* addr must be inside a VMA */
	if (!v)
		return -EFAULT;
	if (!implies_new_addr(r))
		r->new_addr = r->addr;
	/* a shrink or no-op in place needs nothing more */
	if (remap_type(r) != REMAP_EXPAND && !implies_new_addr(r))
		return 0;
	/* old_len == 0 duplicates a mapping: only shared mappings */
	if (!r->old_len && !vma_is_shared(v))
		return -EINVAL;
	/* a shrink may cross VMAs (it is an munmap), the rest may not */
	if (remap_type(r) == REMAP_SHRINK)
		old_len = r->new_len;
	if (old_len > v->end - r->addr)
		return -EFAULT;
	if (r->new_len == r->old_len)
		return 0;
	/* the file offset of the grown mapping must not wrap */
	pgoff = vma_index(v, r->addr);
	if (pgoff + (r->new_len >> PAGE_SHIFT) < pgoff)
		return -EINVAL;
	return 0;
}

/* __check_map_count_against_split(): a move may add two VMAs. */
static bool map_count_ok(struct ref_world *w, struct ref_proc *p, unsigned extra)
{
	return p->nr_vmas + extra + 2 <= w->max_map_count;
}

/*
 * copy_vma(): a VMA for [new_addr, new_addr + new_len) with the attributes
 * of r->vma at r->addr, merged with its new neighbours when possible.
 * Returns the VMA that covers the new range.
 */
static struct ref_vma *copy_vma(struct ref_world *w, struct ref_proc *p, struct remap *r)
{
	struct ref_vma *v = r->vma, *n;
	struct ref_merge m;

	merge_from_vma(&m, v, r->new_addr, r->new_addr + r->new_len);
	m.pgoff = vma_index(v, r->addr);
	m.middle = NULL;
	m.copied_from = v;
	/* an anonymous VMA never faulted takes the pgoff of its new place */
	if (vma_is_anonymous(v) && !v->anon_vma)
		m.pgoff = r->new_addr >> PAGE_SHIFT;
	n = merge_new_range(w, p, &m);
	if (n)
		return n;
	n = vma_dup(w, v);
	n->start = m.start;
	n->end = m.end;
	n->pgoff = m.pgoff;
	vma_insert(p, n);
	return n;
}

/* move_vma(): copy the VMA, move the pages, unmap (or empty) the source. */
static int64_t move_vma(struct ref_world *w, struct ref_proc *p, struct remap *r)
{
	uint64_t src_start = r->vma->start;
	struct ref_vma *n;

	/* room for the copy plus a split of the source */
	if (!map_count_ok(w, p, 0))
		return -ENOMEM;
	n = copy_vma(w, p, r);
	move_ptes(p, r->addr, r->new_addr, r->old_len);
	/* the source may have merged into the copy: find it again */
	r->vma = vma_lookup(p, src_start);

	if (r->flags & MREMAP_DONTUNMAP) {
		/*
		 * DONTUNMAP: the source stays mapped, its pages gone, no longer
		 * mlocked; moving a whole VMA also unlinks its anon_vma, since
		 * no page uses it.
		 */
		r->vma->flags &= ~REF_VM_LOCKED;
		if (r->vma != n && r->addr == r->vma->start &&
		    r->addr + r->old_len == r->vma->end) {
			r->vma->anon_vma = 0;
			r->vma->fork_child = false;
		}
	} else if (r->old_len) {
		/* unmap the source (old_len == 0 leaves it: a duplicate) */
		do_munmap(w, p, r->addr, r->old_len);
	}
	return (int64_t)r->new_addr;
}

/* The address the moved VMA goes to (vrm_set_new_addr). */
static int set_new_addr(struct ref_proc *p, struct remap *r)
{
	uint64_t hint = implies_new_addr(r) ? r->new_addr : 0;
	int64_t found = get_unmapped_area(p, hint, r->new_len, r->flags & MREMAP_FIXED);

	if (found < 0)
		return (int)found;
	r->new_addr = (uint64_t)found;
	return 0;
}

/* mremap_to(): MREMAP_FIXED or MREMAP_DONTUNMAP. */
static int64_t mremap_to(struct ref_world *w, struct ref_proc *p, struct remap *r)
{
	int err;

	if (r->flags & MREMAP_FIXED) {
		/* MREMAP_FIXED: the target range is unmapped first */
		err = do_munmap(w, p, r->new_addr, r->new_len);
		if (err)
			return err;
		r->vma = vma_lookup(p, r->addr);
		if (!r->vma)
			return -EFAULT;
	}
	if (remap_type(r) == REMAP_SHRINK) {
		/* shrink in place first, then move what is left */
		err = do_munmap(w, p, r->addr + r->new_len, remap_delta(r));
		if (err)
			return err;
		r->vma = vma_lookup(p, r->addr);
		if (!r->vma)
			return -EFAULT;
		r->old_len = r->new_len;
	}
	err = set_new_addr(p, r);
	if (err)
		return err;
	return move_vma(w, p, r);
}

/* vma_expandable(): the space after the VMA is free and inside the address space. */
static bool vma_expandable(struct ref_proc *p, const struct ref_vma *v, uint64_t delta)
{
	uint64_t end = v->end + delta;

	if (end < v->end)
		return false;
	if (find_vma_intersection(p, v->end, end))
		return false;
	return get_unmapped_area(p, v->start, end - v->start, true) >= 0;
}

/* vma_merge_extend(): grow v by delta, merging with next if it fits. */
static void expand_in_place(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t delta)
{
	struct ref_merge m;

	merge_from_vma(&m, v, v->end, v->end + delta);
	m.pgoff = v->pgoff + vma_pages(v);
	m.middle = NULL;
	merge_new_range(w, p, &m);
}

/* mremap_at(): no new address was asked for. */
static int64_t mremap_at(struct ref_world *w, struct ref_proc *p, struct remap *r)
{
	int err;

	switch (remap_type(r)) {
	case REMAP_NO_RESIZE:
		/* same size: nothing to do */
		return (int64_t)r->addr;
	case REMAP_SHRINK:
		/* shrinking always happens in place: unmap the tail */
		err = do_munmap(w, p, r->addr + r->new_len, remap_delta(r));
		return err ? err : (int64_t)r->addr;
	case REMAP_EXPAND:
		break;
	}
	/* grow in place if [addr, addr + old_len) ends the VMA and space follows */
	if (r->vma->end - r->addr == r->old_len && vma_expandable(p, r->vma, remap_delta(r))) {
		expand_in_place(w, p, r->vma, remap_delta(r));
		return (int64_t)r->addr;
	}
	/* else moving is the only way, and needs MREMAP_MAYMOVE */
	if (!(r->flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	err = set_new_addr(p, r);
	if (err)
		return err;
	return move_vma(w, p, r);
}

/*
 * remap_move(): MREMAP_FIXED with old_len == new_len moves every VMA in
 * [addr, addr + old_len), keeping the gaps between them; the range must
 * start inside a VMA.
 */
static int64_t remap_move(struct ref_world *w, struct ref_proc *p, const struct remap *req)
{
	uint64_t start = req->addr, end = req->addr + req->old_len;
	uint64_t target = req->new_addr, last_end = 0, cur = start;
	int64_t res = -EFAULT;
	bool seen = false;

	while (cur < end) {
		struct ref_vma *v = find_vma_intersection(p, cur, end);
		struct remap r = *req;
		uint64_t offset;
		int64_t moved;
		int err;

		if (!v)
			break;
		/* no gap allowed at the start of the range */
		if (!seen && start < v->start)
			return -EFAULT;
		r.vma = v;
		r.addr = v->start > start ? v->start : start;
		r.old_len = r.new_len = (v->end < end ? v->end : end) - r.addr;
		offset = seen ? v->start - last_end : 0;
		last_end = v->end;
		r.new_addr = target + offset;

		err = check_vma(&r);
		if (err)
			return err;
		moved = mremap_to(w, p, &r);
		if (moved < 0)
			return moved;
		if (!seen)
			res = moved;
		seen = true;
		target = (uint64_t)moved + r.new_len;
		/*
		 * carry on after this VMA (a DONTUNMAP source is still there),
		 * and stop at the end of the range: the copy may have merged
		 * with the source and reach past it
		 */
		cur = last_end;
	}
	return res;
}

int64_t ref_mremap(struct ref_world *w, struct ref_proc *p, const struct mmf_op *op)
{
	struct remap r = {
		.addr = op->addr,
		.old_len = page_align(op->len),
		.new_len = page_align(op->new_len),
		.new_addr = op->new_addr,
		.flags = op->flags,
	};
	bool locked_growth;
	uint64_t old_len;
	int64_t res;
	int err;

	err = check_params(&r);
	if (err)
		return err;
	/* room for the splits of two unmaps and of the move */
	if (!map_count_ok(w, p, 2))
		return -ENOMEM;
	/* a pure move to a fixed address may span several VMAs */
	if ((r.flags & MREMAP_FIXED) && r.old_len == r.new_len)
		return remap_move(w, p, &r);

	r.vma = vma_lookup(p, r.addr);
	err = check_vma(&r);
	if (err)
		return err;
	/* an mlocked mapping that grows gets its new part populated */
	locked_growth = (r.vma->flags & REF_VM_LOCKED) && r.new_len > r.old_len;
	old_len = r.old_len;
	res = implies_new_addr(&r) ? mremap_to(w, p, &r) : mremap_at(w, p, &r);
	if (res >= 0 && locked_growth)
		populate_range(w, p, (uint64_t)res + old_len, (uint64_t)res + r.new_len);
	return res;
}
