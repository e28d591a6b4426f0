// SPDX-License-Identifier: MIT
/*
 * core/vma.c - VMA objects, the tree wrappers, split, merge and modify.
 *
 * Every function here runs with the mm's mmap_lock held for write, and
 * write-locks (vma_start_write) each existing VMA before changing it, so
 * that a fault under a per-VMA lock never sees a VMA half-changed.
 * Tree updates that belong together are one vma_tree transaction: an RCU
 * reader sees a split or a merge entirely or not at all.
 *
 * Merge rules (the kernel's vma_merge_new_range / vma_merge_existing_range):
 *  - same flags, same file, equal anon names (by content), pgoff continuity;
 *  - maybe_guard is sticky: not compared, and the surviving VMA has it if
 *    any merged part had it;
 *  - anon_vma: equal, or one side has none and the side that has one was
 *    not cloned from a parent at fork (its chain is singular);
 *  - merging both neighbours also needs prev and next anon_vmas compatible
 *    with each other;
 *  - an existing VMA merges with prev only if the changed range starts at
 *    its start, with next only if it ends at its end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"

/* ---- allocation ------------------------------------------------------------ */

struct core_vma *vm_area_alloc(struct core_mm *mm)
{
	struct core_vma *vma = objcache_alloc(&mm->w->vma_cache);

	vma->mm = mm;
	vma_lock_init(vma);
	core_count(mm->w, vma_alloc);
	return vma;
}

/*
 * A copy of orig's attributes: file and name references are taken; the
 * anon_vma chain is not (anon_vma_clone / anon_vma_fork do that).
 * The attributes (everything before vm_lock) are copied in one memcpy
 * (fork's copy loop does this per VMA), the lock and linkage start afresh;
 * orig's lock words are not read (lockless readers update them).
 */
struct core_vma *vm_area_dup(struct core_vma *orig)
{
	struct core_vma *vma = objcache_alloc_uninit(&orig->mm->w->vma_cache);
	size_t attrs = offsetof(struct core_vma, vm_lock);

	memcpy(vma, orig, attrs);
	memset((char *)vma + attrs, 0, sizeof(*vma) - attrs);
	vma_lock_init(vma);
	core_count(orig->mm->w, vma_alloc);
	if (vma->file)
		core_file_get(vma->file);
	vma->anon_vma = NULL;
	vma->chain = NULL;
	vma->chain_len = vma->chain_cap = 0;
#ifdef MMF_ZOO_NAME_DUP_NO_GET	/* zoo/README.md */
	vma->anon_name = orig->anon_name;
#else
	vma->anon_name = orig->anon_name ? anon_name_get(orig->mm->w, orig->anon_name) : NULL;
#endif
	return vma;
}

/* ---- the tree --------------------------------------------------------------- */

struct core_vma *find_vma(struct core_mm *mm, uint64_t addr)
{
	return vma_tree_find(&mm->mt, addr, NULL);
}

struct core_vma *vma_lookup(struct core_mm *mm, uint64_t addr)
{
	return vma_tree_load(&mm->mt, addr, NULL);
}

struct core_vma *vma_prev_of(struct core_mm *mm, struct core_vma *vma)
{
	return vma_tree_find_prev(&mm->mt, vma->start, NULL);
}

struct core_vma *vma_next_of(struct core_mm *mm, struct core_vma *vma)
{
	return vma_tree_find(&mm->mt, vma->end, NULL);
}

/* find_vma, and the VMA before addr (the one ending at or below it). */
struct core_vma *find_vma_prev(struct core_mm *mm, uint64_t addr, struct core_vma **prev)
{
	struct core_vma *vma = find_vma(mm, addr);

	*prev = vma ? vma_prev_of(mm, vma) : vma_tree_find_prev(&mm->mt, MMF_TASK_SIZE, NULL);
	return vma;
}

/* Insert a new, write-locked VMA and count it. */
void vma_link_tree(struct core_mm *mm, struct core_vma *vma)
{
	if (vma_tree_insert(&mm->mt, vma->start, vma->end, vma))
		mmf_sync_bug("core: vma_tree_insert [%#llx,%#llx) failed",
			     (unsigned long long)vma->start, (unsigned long long)vma->end);
	mm->map_count++;
	vma_mark_attached(vma);
}

/* Erase a write-locked VMA from the tree; it is detached for good. */
void vma_tree_remove(struct core_mm *mm, struct core_vma *vma)
{
	if (vma_tree_erase(&mm->mt, vma->start, NULL) != vma)
		mmf_sync_bug("core: erase of %#llx found another VMA",
			     (unsigned long long)vma->start);
	mm->map_count--;
#ifndef MMF_ZOO_MUNMAP_NO_DETACH	/* zoo/README.md */
	vma_mark_detached(vma);
#endif
}

/* Change the range of a write-locked VMA that is in the tree.  Any other
 * VMA inside the new range must already be gone. */
void vma_set_range(struct core_mm *mm, struct core_vma *vma,
		   uint64_t start, uint64_t end, uint64_t pgoff)
{
	vma->start = start;
	vma->end = end;
	vma->pgoff = pgoff;
	if (vma_tree_store(&mm->mt, start, end, vma) < 0)
		mmf_sync_bug("core: vma_tree_store [%#llx,%#llx) failed",
			     (unsigned long long)start, (unsigned long long)end);
}

/*
 * A file VMA's range and pgoff are read by rmap walks (truncate, hole
 * punching) that hold only i_mmap_rwsem, so every change of them - and the
 * i_mmap insertions and removals that go with a split or a merge - happens
 * under one i_mmap_rwsem write acquisition (the kernel's vma_prepare /
 * vma_complete).
 */
static void vma_prepare(struct core_file *f)
{
	if (f)
		i_mmap_lock_write(f);
}

static void vma_complete(struct core_file *f)
{
	if (f)
		i_mmap_unlock_write(f);
}

/* ---- split ------------------------------------------------------------------ */

/*
 * Split vma at addr.  The new VMA takes the part below addr (new_below) or
 * above it.  No max_map_count check here (callers do it as the kernel's
 * callers do).
 */
static int __split_vma(struct core_mm *mm, struct core_vma *vma, uint64_t addr,
		       bool new_below, struct core_vma **newp)
{
	struct core_vma *new = vm_area_dup(vma);
	uint64_t delta = (addr - vma->start) >> MMF_PAGE_SHIFT;

	if (new_below) {
		new->end = addr;
	} else {
		new->start = addr;
		new->pgoff += delta;
	}
	new->anon_vma = vma->anon_vma;
	anon_vma_clone(new, vma);

	vma_start_write(vma);
	vma_start_write(new);

	vma_prepare(vma->file);
	vma_tree_begin(&mm->mt);
	if (new_below)
		vma_set_range(mm, vma, addr, vma->end, vma->pgoff + delta);
	else
		vma_set_range(mm, vma, vma->start, addr, vma->pgoff);
	vma_link_tree(mm, new);
	vma_tree_commit(&mm->mt);
	if (new->file)
		i_mmap_insert(new->file, new);
	vma_complete(vma->file);
	if (newp)
		*newp = new;
	return 0;
}

int split_vma(struct core_mm *mm, struct core_vma *vma, uint64_t addr, bool new_below,
	      struct core_vma **newp)
{
	if ((uint32_t)mm->map_count >= mm->w->max_map_count)
		return -ENOMEM;
	return __split_vma(mm, vma, addr, new_below, newp);
}

/* munmap splits without the map_count check of split_vma (it checks once). */
int split_vma_nocheck(struct core_mm *mm, struct core_vma *vma, uint64_t addr,
		      bool new_below, struct core_vma **newp)
{
	return __split_vma(mm, vma, addr, new_below, newp);
}

/* ---- merge ------------------------------------------------------------------ */

static bool is_mergeable_vma(const struct core_vma *v, const struct vma_merge_req *r)
{
	return v->flags == r->flags && v->file == r->file &&
	       anon_name_eq(v->anon_name, r->anon_name);
}

/* tgt is the neighbour we would merge into; r->middle the existing VMA
 * (NULL for a new range), r->anon_vma its anon_vma. */
static bool is_mergeable_anon_vma(const struct core_vma *tgt, const struct vma_merge_req *r)
{
	struct anon_vma *tgt_anon = tgt->anon_vma;
	struct anon_vma *src_anon = r->anon_vma;

	if (!tgt_anon && src_anon)
		return !vma_had_uncowed_parents(r->middle) &&
		       !vma_had_uncowed_parents(r->copied_from);
	if (tgt_anon && !src_anon)
		return !vma_had_uncowed_parents(tgt);
	return tgt_anon == src_anon;
}

static bool can_merge_left(const struct vma_merge_req *r)
{
	const struct core_vma *prev = r->prev;

	return prev && prev->end == r->start && is_mergeable_vma(prev, r) &&
	       is_mergeable_anon_vma(prev, r) &&
	       prev->pgoff + vma_pages(prev) == r->pgoff;
}

static bool can_merge_right(const struct vma_merge_req *r, bool left)
{
	const struct core_vma *next = r->next;

	if (!next || next->start != r->end || !is_mergeable_vma(next, r) ||
	    !is_mergeable_anon_vma(next, r) ||
	    next->pgoff != r->pgoff + ((r->end - r->start) >> MMF_PAGE_SHIFT))
		return false;
	if (!left)
		return true;
	/* prev and next each fit the range; they must also fit each other */
	return !r->prev->anon_vma || !next->anon_vma || r->prev->anon_vma == next->anon_vma;
}

/* dst survives a merge that swallows src: it inherits src's anon_vma. */
static void dup_anon_vma(struct core_vma *dst, struct core_vma *src)
{
	if (src && src->anon_vma && !dst->anon_vma) {
		mmf_store_release(dst->anon_vma, src->anon_vma);
		anon_vma_clone(dst, src);
	}
}

/* dst survives a merge: it keeps the sticky flag of any part. */
static void take_sticky(struct core_vma *dst, bool maybe_guard)
{
	dst->maybe_guard |= maybe_guard;
}

/* A VMA swallowed by a merge: write-locked already, erased from the tree
 * in the caller's transaction and from i_mmap under its vma_prepare. */
static void merge_remove(struct core_mm *mm, struct core_vma *vma)
{
	vma_tree_remove(mm, vma);
	if (vma->file)
		i_mmap_remove(vma->file, vma);
}

/* ... and released after vma_complete. */
static void merge_release(struct core_vma *vma)
{
	unlink_anon_vmas(vma);
	vm_area_free(vma);
}

/*
 * A new range [start, end) about to be mapped: extend prev and/or next
 * over it when the kernel would.  Returns the VMA now covering the range,
 * or NULL (the caller creates a new VMA).
 */
struct core_vma *vma_merge_new_range(struct core_mm *mm, struct vma_merge_req *r)
{
	bool left, right;
	struct core_vma *prev = r->prev, *next = r->next, *tgt;

	r->middle = NULL;
	left = can_merge_left(r);
	right = can_merge_right(r, left);
	if (!left && !right)
		return NULL;

	if (left) {
		tgt = prev;
		vma_start_write(prev);
		dup_anon_vma(prev, r->copied_from);
#ifdef MMF_ZOO_MERGE_NO_LOCK_NEXT	/* zoo/README.md */
		if (right) {
#else
		if (right) {
			vma_start_write(next);
#endif
			dup_anon_vma(prev, next);
			take_sticky(prev, r->maybe_guard || next->maybe_guard);
			vma_prepare(r->file);
			vma_tree_begin(&mm->mt);
			merge_remove(mm, next);
			vma_set_range(mm, prev, prev->start, next->end, prev->pgoff);
			vma_tree_commit(&mm->mt);
			vma_complete(r->file);
			merge_release(next);
		} else {
			take_sticky(prev, r->maybe_guard);
			vma_prepare(r->file);
			vma_set_range(mm, prev, prev->start, r->end, prev->pgoff);
			vma_complete(r->file);
		}
	} else {
		tgt = next;
		vma_start_write(next);
		dup_anon_vma(next, r->copied_from);
		take_sticky(next, r->maybe_guard);
		vma_prepare(r->file);
		vma_set_range(mm, next, r->start, next->end, r->pgoff);
		vma_complete(r->file);
	}
	return tgt;
}

/*
 * Try to merge the changed range [start, end) of r->middle into its
 * neighbours.  Returns the VMA covering [start, end) afterwards, or NULL
 * when nothing merged.
 */
static struct core_vma *vma_merge_existing_range(struct core_mm *mm, struct vma_merge_req *r)
{
	struct core_vma *mid = r->middle, *prev = r->prev, *next = r->next;
	bool left_side = r->start == mid->start, right_side = r->end == mid->end;
	bool left = false, right = false;

	if (!left_side && !right_side)
		return NULL;
	if (left_side)
		left = can_merge_left(r);
	if (right_side)
		right = can_merge_right(r, left);
	if (!left && !right)
		return NULL;

#ifndef MMF_ZOO_MERGE_NO_LOCK_MID	/* zoo/README.md */
	vma_start_write(mid);
#endif
	if (left && right) {
		/* prev swallows middle and next */
		vma_start_write(prev);
		vma_start_write(next);
		dup_anon_vma(prev, next);
		dup_anon_vma(prev, mid);
		take_sticky(prev, r->maybe_guard || next->maybe_guard);
		vma_prepare(r->file);
		vma_tree_begin(&mm->mt);
		merge_remove(mm, mid);
		merge_remove(mm, next);
		vma_set_range(mm, prev, prev->start, next->end, prev->pgoff);
		vma_tree_commit(&mm->mt);
		vma_complete(r->file);
		merge_release(mid);
		merge_release(next);
		return prev;
	}
	if (left) {
		vma_start_write(prev);
		dup_anon_vma(prev, mid);
		take_sticky(prev, r->maybe_guard);
		vma_prepare(r->file);
		vma_tree_begin(&mm->mt);
		if (right_side) {
			merge_remove(mm, mid);
		} else {
			uint64_t delta = (r->end - mid->start) >> MMF_PAGE_SHIFT;

			vma_set_range(mm, mid, r->end, mid->end, mid->pgoff + delta);
		}
		vma_set_range(mm, prev, prev->start, r->end, prev->pgoff);
		vma_tree_commit(&mm->mt);
		vma_complete(r->file);
		if (right_side)
			merge_release(mid);
		return prev;
	}
	/* right */
	vma_start_write(next);
	dup_anon_vma(next, mid);
	take_sticky(next, r->maybe_guard);
	vma_prepare(r->file);
	vma_tree_begin(&mm->mt);
	if (left_side)
		merge_remove(mm, mid);
	else
		vma_set_range(mm, mid, mid->start, r->start, mid->pgoff);
	vma_set_range(mm, next, r->start, next->end, r->pgoff);
	vma_tree_commit(&mm->mt);
	vma_complete(r->file);
	if (left_side)
		merge_release(mid);
	return next;
}

struct core_vma *vma_modify(struct core_mm *mm, struct core_vma *prev, struct core_vma *vma,
			    uint64_t start, uint64_t end, uint32_t flags,
			    struct anon_name *name, int *err)
{
	struct vma_merge_req r = {
		.prev = prev,
		.next = vma_next_of(mm, vma),
		.middle = vma,
		.start = start,
		.end = end,
		.pgoff = vma->pgoff + ((start - vma->start) >> MMF_PAGE_SHIFT),
		.flags = flags,
		.file = vma->file,
		.anon_vma = vma->anon_vma,
		.anon_name = name,
		.maybe_guard = vma->maybe_guard,
	};
	struct core_vma *merged;
	int ret;

	*err = 0;
	merged = vma_merge_existing_range(mm, &r);
	if (merged)
		return merged;

	if (vma->start < start) {
		ret = split_vma(mm, vma, start, true, NULL);
		if (ret) {
			*err = ret;
			return NULL;
		}
	}
	if (vma->end > end) {
		ret = split_vma(mm, vma, end, false, NULL);
		if (ret) {
			*err = ret;
			return NULL;
		}
	}
	return vma;
}
