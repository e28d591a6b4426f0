// SPDX-License-Identifier: MIT
/*
 * core/mremap.c - mremap(2): shrink in place, grow in place, move
 * (MREMAP_MAYMOVE), move to a fixed address (MREMAP_FIXED, including the
 * move of several VMAs when old_len == new_len), move leaving the source
 * mapped but empty (MREMAP_DONTUNMAP), and old_len == 0 duplicating a
 * shared mapping.  All of it under the mmap_lock held for write.
 *
 * A move is copy_vma (a VMA for the new range, merged with its new
 * neighbours when possible, taking the source's anon_vma), then
 * move_page_tables, then the unmap of the source.  The new VMA is
 * write-locked before it enters the tree, like any new VMA.
 */
#include <errno.h>
#include <sys/mman.h>

#include "mm.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

struct remap {
	uint64_t addr, old_len, new_len, new_addr;
	uint32_t flags;
	struct core_vma *vma;		/* the VMA containing addr */
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

static bool implies_new_addr(const struct remap *r)
{
	return r->flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
}

static bool page_aligned(uint64_t a)
{
	return !(a & (MMF_PAGE_SIZE - 1));
}

static struct core_vma *find_vma_intersection(struct core_mm *mm, uint64_t start, uint64_t end)
{
	struct core_vma *vma = find_vma(mm, start);

	return vma && vma->start < end ? vma : NULL;
}

/* check_mremap_params: what needs no VMA. */
static int check_params(const struct remap *r)
{
	if (r->flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return -EINVAL;
	if (!page_aligned(r->addr))
		return -EINVAL;
	if (!r->new_len || r->new_len > MMF_TASK_SIZE)
		return -EINVAL;
	if (!implies_new_addr(r))
		return 0;
	if (r->new_addr > MMF_TASK_SIZE - r->new_len || !page_aligned(r->new_addr))
		return -EINVAL;
	if (!(r->flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if ((r->flags & MREMAP_DONTUNMAP) && r->old_len != r->new_len)
		return -EINVAL;
	if (r->addr + r->old_len > r->new_addr && r->new_addr + r->new_len > r->addr)
		return -EINVAL;
	return 0;
}

/* check_prep_vma: the checks on the source VMA. */
static int check_vma(struct remap *r)
{
	struct core_vma *vma = r->vma;
	uint64_t old_len = r->old_len, pgoff;

	if (!vma)
		return -EFAULT;
	if (!implies_new_addr(r))
		r->new_addr = r->addr;
	if (remap_type(r) != REMAP_EXPAND && !implies_new_addr(r))
		return 0;
	if (!r->old_len && !(vma->flags & VM_SHARED))
		return -EINVAL;
	if (remap_type(r) == REMAP_SHRINK)
		old_len = r->new_len;
	if (old_len > vma->end - r->addr)
		return -EFAULT;
	if (r->new_len == r->old_len)
		return 0;
	pgoff = vma->pgoff + ((r->addr - vma->start) >> MMF_PAGE_SHIFT);
	if (pgoff + (r->new_len >> MMF_PAGE_SHIFT) < pgoff)
		return -EINVAL;
	return 0;
}

static bool map_count_ok(struct core_mm *mm, unsigned int extra)
{
	return (uint64_t)mm->map_count + extra + 2 <= mm->w->max_map_count;
}

/* copy_vma: the VMA covering the new range, merged or new. */
static struct core_vma *copy_vma(struct core_mm *mm, struct remap *r)
{
	struct core_vma *vma = r->vma, *new;
	struct vma_merge_req m = {
		.start = r->new_addr,
		.end = r->new_addr + r->new_len,
		.pgoff = vma->pgoff + ((r->addr - vma->start) >> MMF_PAGE_SHIFT),
		.flags = vma->flags,
		.file = vma->file,
		.anon_vma = vma->anon_vma,
		.anon_name = vma->anon_name,
		.copied_from = vma,
		.maybe_guard = vma->maybe_guard,
	};

	/* an anonymous VMA never faulted takes the pgoff of its new place */
	if (vma_is_anonymous(vma) && !vma->anon_vma)
		m.pgoff = r->new_addr >> MMF_PAGE_SHIFT;
	find_vma_prev(mm, m.start, &m.prev);
	m.next = find_vma(mm, m.start);
	new = vma_merge_new_range(mm, &m);
	if (new)
		return new;

	new = vm_area_dup(vma);
	new->start = m.start;
	new->end = m.end;
	new->pgoff = m.pgoff;
	new->anon_vma = vma->anon_vma;
	anon_vma_clone(new, vma);
	vma_start_write(new);
	vma_link_tree(mm, new);
	if (new->file) {
		i_mmap_lock_write(new->file);
		i_mmap_insert(new->file, new);
		i_mmap_unlock_write(new->file);
	}
	return new;
}

/*
 * The PTEs of a file VMA move with i_mmap_rwsem held for write, so that a
 * truncate's walk of i_mmap sees them either all at the source or all at
 * the destination.  The destination VMA sits at the head of i_mmap (or
 * anywhere, when the move merged into a neighbour), so without the lock a
 * walk could pass the destination before the move and the source after
 * it: the moved page outlived the truncate (found by the schedule search on
 * corpus/sched/mremap_vs_truncate.mmf, invariant:pte_beyond_eof).  The
 * kernel takes these rmap locks only when the destination may come first
 * in the walk; this core always takes them.
 */
static void move_ptes_rmap_locked(struct core_mm *mm, struct remap *r, struct core_vma *new)
{
	struct core_file *f = new->file;

#ifdef MMF_ZOO_MREMAP_MOVE_NO_RMAP_LOCK	/* zoo/README.md */
	f = NULL;
#endif
	if (f)
		i_mmap_lock_write(f);
	move_page_tables(mm, r->addr, r->new_addr, r->old_len);
	if (f)
		i_mmap_unlock_write(f);
}

static int64_t move_vma(struct core_mm *mm, struct remap *r)
{
	uint64_t src_start = r->vma->start;
	struct core_vma *new;

	if (!map_count_ok(mm, 0))
		return -ENOMEM;
#ifdef MMF_ZOO_MREMAP_NO_WRITE_LOCK	/* zoo/README.md */
	new = copy_vma(mm, r);
#else
	vma_start_write(r->vma);
	new = copy_vma(mm, r);
#endif
	move_ptes_rmap_locked(mm, r, new);
	/* the source may have merged into the copy */
	r->vma = vma_lookup(mm, src_start);

	if (r->flags & MREMAP_DONTUNMAP) {
		/*
		 * The source stays, empty and no longer mlocked; a wholly moved
		 * VMA drops its anon_vma (no page uses it).
		 */
		if (r->vma) {
			vma_start_write(r->vma);
			r->vma->flags &= ~VM_LOCKED;
		}
		if (r->vma && r->vma != new && r->addr == r->vma->start &&
		    r->addr + r->old_len == r->vma->end) {
			vma_start_write(r->vma);
			unlink_anon_vmas(r->vma);
		}
	} else if (r->old_len) {
		do_munmap(mm, r->addr, r->old_len);
	}
	return (int64_t)r->new_addr;
}

static int set_new_addr(struct core_mm *mm, struct remap *r)
{
	uint64_t hint = implies_new_addr(r) ? r->new_addr : 0;
	int64_t found = (int64_t)get_unmapped_area(mm, hint, r->new_len,
						   r->flags & MREMAP_FIXED ? MAP_FIXED : 0);

	if (found < 0)
		return (int)found;
	r->new_addr = (uint64_t)found;
	return 0;
}

static int64_t mremap_to(struct core_mm *mm, struct remap *r)
{
	int err;

	if (r->flags & MREMAP_FIXED) {
		err = do_munmap(mm, r->new_addr, r->new_len);
		if (err)
			return err;
		r->vma = vma_lookup(mm, r->addr);
		if (!r->vma)
			return -EFAULT;
	}
	if (remap_type(r) == REMAP_SHRINK) {
		err = do_munmap(mm, r->addr + r->new_len, remap_delta(r));
		if (err)
			return err;
		r->vma = vma_lookup(mm, r->addr);
		if (!r->vma)
			return -EFAULT;
		r->old_len = r->new_len;
	}
	err = set_new_addr(mm, r);
	if (err)
		return err;
	return move_vma(mm, r);
}

static bool vma_expandable(struct core_mm *mm, struct core_vma *vma, uint64_t delta)
{
	uint64_t end = vma->end + delta;

	if (end < vma->end)
		return false;
	if (find_vma_intersection(mm, vma->end, end))
		return false;
	return (int64_t)get_unmapped_area(mm, vma->start, end - vma->start, MAP_FIXED) >= 0;
}

/* vma_merge_extend: grow vma by delta (it merges with itself, maybe next). */
static void expand_in_place(struct core_mm *mm, struct core_vma *vma, uint64_t delta)
{
	struct vma_merge_req m = {
		.start = vma->end,
		.end = vma->end + delta,
		.pgoff = vma->pgoff + vma_pages(vma),
		.flags = vma->flags,
		.file = vma->file,
		.anon_vma = vma->anon_vma,
		.anon_name = vma->anon_name,
		.prev = vma,
		.maybe_guard = vma->maybe_guard,
	};

	m.next = find_vma(mm, m.start);
	if (!vma_merge_new_range(mm, &m))
		mmf_sync_bug("core: mremap could not extend a VMA over free space");
}

static int64_t mremap_at(struct core_mm *mm, struct remap *r)
{
	int err;

	switch (remap_type(r)) {
	case REMAP_NO_RESIZE:
		return (int64_t)r->addr;
	case REMAP_SHRINK:
		err = do_munmap(mm, r->addr + r->new_len, remap_delta(r));
		return err ? err : (int64_t)r->addr;
	case REMAP_EXPAND:
		break;
	}
	if (r->vma->end - r->addr == r->old_len && vma_expandable(mm, r->vma, remap_delta(r))) {
		expand_in_place(mm, r->vma, remap_delta(r));
		return (int64_t)r->addr;
	}
	if (!(r->flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	err = set_new_addr(mm, r);
	if (err)
		return err;
	return move_vma(mm, r);
}

/* MREMAP_FIXED, old_len == new_len: move every VMA of the range, gaps kept. */
static int64_t remap_move(struct core_mm *mm, const struct remap *req)
{
	uint64_t start = req->addr, end = req->addr + req->old_len;
	uint64_t target = req->new_addr, last_end = 0, cur = start;
	int64_t res = -EFAULT;
	bool seen = false;

	while (cur < end) {
		struct core_vma *vma = find_vma_intersection(mm, cur, end);
		struct remap r = *req;
		uint64_t offset;
		int64_t moved;
		int err;

		if (!vma)
			break;
		if (!seen && start < vma->start)
			return -EFAULT;
		r.vma = vma;
		r.addr = vma->start > start ? vma->start : start;
		r.old_len = r.new_len = (vma->end < end ? vma->end : end) - r.addr;
		offset = seen ? vma->start - last_end : 0;
		last_end = vma->end;
		r.new_addr = target + offset;

		err = check_vma(&r);
		if (err)
			return err;
		moved = mremap_to(mm, &r);
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

static int64_t do_mremap(struct core_mm *mm, struct remap *r)
{
	int err;

	if (!map_count_ok(mm, 2))
		return -ENOMEM;
	if ((r->flags & MREMAP_FIXED) && r->old_len == r->new_len)
		return remap_move(mm, r);
	bool locked_growth;
	uint64_t old_len;
	int64_t res;

	r->vma = vma_lookup(mm, r->addr);
	err = check_vma(r);
	if (err)
		return err;
	/* an mlocked mapping that grows gets its new part populated */
	locked_growth = (r->vma->flags & VM_LOCKED) && r->new_len > r->old_len;
	old_len = r->old_len;
	res = implies_new_addr(r) ? mremap_to(mm, r) : mremap_at(mm, r);
	if (res >= 0 && locked_growth)
		populate_range(mm, (uint64_t)res + old_len, (uint64_t)res + r->new_len);
	return res;
}

int64_t core_mremap(struct core_mm *mm, const struct mmf_op *op)
{
	struct remap r = {
		.addr = op->addr,
		.old_len = MMF_PAGE_ALIGN(op->len),
		.new_len = MMF_PAGE_ALIGN(op->new_len),
		.new_addr = op->new_addr,
		.flags = op->flags,
	};
	int64_t ret;
	int err;

	err = check_params(&r);
	if (err)
		return err;
	mmap_write_lock(mm);
	ret = mm->dead ? -ESRCH : do_mremap(mm, &r);
	mmap_write_unlock(mm);
	return ret;
}
