// SPDX-License-Identifier: MIT
/*
 * core/mmap.c - mmap_region, munmap, exit_mmap and placement.
 *
 * mmap_region: the new VMA is write-locked (vma_start_write) BEFORE it is
 * stored in the tree, so a lockless fault that finds it fails its per-VMA
 * trylock and falls back to mmap_lock, which it gets only after the VMA is
 * complete and linked into its file's i_mmap.  The tree store and the
 * map_count update happen outside the i_mmap_rwsem critical section; that
 * lock covers only the i_mmap insertion.
 *
 * munmap / exit_mmap: the VMAs of the range are write-locked and detached
 * from the tree in one tree transaction, their PTEs zapped, then torn
 * down: anon_vma chains dropped, file VMAs unlinked from i_mmap in batches
 * (core/unlink.c), VMA memory freed through the throttled RCU list
 * (core/vma_free.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "mm.h"

#define MAP_TYPE_MASK 0x0f

/* MAP_SHARED_VALIDATE accepts only these (LEGACY_MAP_MASK). */
#define LEGACY_MAP_MASK (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | \
			 MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED | \
			 MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | \
			 MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT | \
			 ((uint32_t)MAP_HUGE_MASK << MAP_HUGE_SHIFT))

/* x86 __TASK_UNMAPPED_BASE: the bottom-up fallback starts here. */
#define TASK_UNMAPPED_BASE MMF_PAGE_ALIGN(MMF_TASK_SIZE / 3)

/* ---- placement --------------------------------------------------------------- */

static uint64_t vm_start_gap(const struct core_vma *v)
{
	if (!(v->flags & VM_GROWSDOWN))
		return v->start;
	return v->start > MMF_STACK_GUARD_GAP ? v->start - MMF_STACK_GUARD_GAP : 0;
}

/* The gap between prev and next (either may be NULL), clipped to [low, high]. */
static bool gap_between(const struct core_vma *prev, const struct core_vma *next,
			uint64_t low, uint64_t high, uint64_t *start, uint64_t *end)
{
	*start = prev ? prev->end : 0;
	*end = next ? vm_start_gap(next) : MMF_TASK_SIZE;
	if (*start < low)
		*start = low;
	if (*end > high)
		*end = high;
	return *start < *end;
}

/*
 * The tree finds candidate gaps between VMAs in O(log n) (vma_tree_gap*);
 * a candidate is the raw space [prev->end, next->start), which holds the
 * usable one (next's stack guard gap taken off), so a candidate that does
 * not fit once the guard is applied only moves the search past it.  The
 * space above the last VMA and below the first is looked at here.
 */
static bool gap_fits_len(const struct core_vma *prev, const struct core_vma *next,
			 uint64_t low, uint64_t high, uint64_t len, uint64_t *s, uint64_t *e)
{
	return gap_between(prev, next, low, high, s, e) && *e - *s >= len;
}

static int64_t unmapped_area_topdown(struct core_mm *mm, uint64_t len, uint64_t low,
				     uint64_t high)
{
	struct core_vma *last = vma_tree_find_prev(&mm->mt, MMF_TASK_SIZE, NULL);
	uint64_t s, e, gs, ge, top = high;

	if (gap_fits_len(last, NULL, low, high, len, &s, &e))
		return (int64_t)(e - len);
	if (!last)
		return -ENOMEM;
	while (vma_tree_gap_rev(&mm->mt, low, top, len, &gs, &ge)) {
		if (gap_fits_len(vma_lookup(mm, gs - 1), vma_lookup(mm, ge), low, high, len,
				 &s, &e))
			return (int64_t)(e - len);
		top = gs;
	}
	if (gap_fits_len(NULL, find_vma(mm, 0), low, high, len, &s, &e))
		return (int64_t)(e - len);
	return -ENOMEM;
}

static int64_t unmapped_area(struct core_mm *mm, uint64_t len, uint64_t low, uint64_t high)
{
	struct core_vma *first = find_vma(mm, 0);
	uint64_t s, e, gs, ge, bottom = low;

	if (gap_fits_len(NULL, first, low, high, len, &s, &e))
		return (int64_t)s;
	if (!first)
		return -ENOMEM;
	while (vma_tree_gap(&mm->mt, bottom, high, len, &gs, &ge)) {
		if (gap_fits_len(vma_lookup(mm, gs - 1), vma_lookup(mm, ge), low, high, len,
				 &s, &e))
			return (int64_t)s;
		bottom = ge;
	}
	if (gap_fits_len(vma_tree_find_prev(&mm->mt, MMF_TASK_SIZE, NULL), NULL, low, high,
			 len, &s, &e))
		return (int64_t)s;
	return -ENOMEM;
}

static bool hint_fits(struct core_mm *mm, uint64_t addr, uint64_t len)
{
	struct core_vma *prev, *next = find_vma_prev(mm, addr, &prev);

	return MMF_TASK_SIZE - len >= addr && addr >= MMF_MMAP_MIN_ADDR &&
	       (!next || addr + len <= vm_start_gap(next)) && (!prev || addr >= prev->end);
}

static int64_t topdown_area(struct core_mm *mm, uint64_t addr, uint64_t len)
{
	int64_t found;

	if (len > MMF_TASK_SIZE - MMF_MMAP_MIN_ADDR)
		return -ENOMEM;
	if (addr && hint_fits(mm, MMF_PAGE_ALIGN(addr), len))
		return (int64_t)MMF_PAGE_ALIGN(addr);
	found = unmapped_area_topdown(mm, len, MMF_MMAP_MIN_ADDR, MMF_MMAP_BASE);
	if (found >= 0)
		return found;
	return unmapped_area(mm, len, TASK_UNMAPPED_BASE, MMF_TASK_SIZE);
}

/* MAP_32BIT on x86-64: bottom-up in [1 GiB, 2 GiB), after a usable hint. */
static int64_t area_32bit(struct core_mm *mm, uint64_t addr, uint64_t len)
{
	if (addr && hint_fits(mm, MMF_PAGE_ALIGN(addr), len))
		return (int64_t)MMF_PAGE_ALIGN(addr);
	return unmapped_area(mm, len, 0x40000000, 0x80000000);
}

/* Returns an address or -errno (as int64_t in a uint64_t). */
uint64_t get_unmapped_area(struct core_mm *mm, uint64_t addr, uint64_t len, uint32_t flags)
{
	int64_t found;

	if (len > MMF_TASK_SIZE)
		return (uint64_t)-ENOMEM;
	if (flags & MAP_FIXED) {
		/* a fixed range must end inside the address space */
		if (addr > MMF_TASK_SIZE - len)
			return (uint64_t)-ENOMEM;
		found = (int64_t)addr;
	} else if (flags & MAP_32BIT) {
		found = area_32bit(mm, addr, len);
	} else {
		found = topdown_area(mm, addr, len);
	}
	if (found < 0)
		return (uint64_t)found;
	if ((uint64_t)found > MMF_TASK_SIZE - len)
		return (uint64_t)-ENOMEM;
	if ((uint64_t)found & (MMF_PAGE_SIZE - 1))
		return (uint64_t)-EINVAL;
	if ((uint64_t)found < MMF_MMAP_MIN_ADDR)
		return (uint64_t)-EPERM;
	return (uint64_t)found;
}

/* ---- tearing VMAs down ------------------------------------------------------------ */

/*
 * The VMAs are detached (out of the tree, write-locked) and their PTEs are
 * gone: drop anon_vma chains, unlink file VMAs from i_mmap in batches, and
 * free them.
 */
void unmap_vmas_batch(struct core_mm *mm, struct core_vma **vmas, size_t n)
{
	struct unlink_vma_file_batch vb;
	size_t i;

	unlink_file_vma_batch_init(&vb);
	for (i = 0; i < n; i++) {
		unlink_anon_vmas(vmas[i]);
		unlink_file_vma_batch_add(&vb, vmas[i]);
	}
	unlink_file_vma_batch_final(&vb);
	vm_area_free_many(mm, vmas, n);
}

/* Detach and tear down every VMA inside [start, end) (already split). */
static void remove_range(struct core_mm *mm, uint64_t start, uint64_t end)
{
	struct core_vma *stack[16], **vmas = stack, *vma;
	struct vma_tree_iter it;
	struct vma_tree_range r;
	size_t n = 0, cap = 16, i;
	bool all = start == 0 && end == MMF_TASK_SIZE && !mm->mt.txn_depth;

	/* exit: room for every VMA at once (growing by doubling showed in its profile) */
	if (all && vma_tree_count(&mm->mt) > cap) {
		cap = vma_tree_count(&mm->mt);
		vmas = malloc(cap * sizeof(*vmas));
		if (!vmas)
			abort();
	}
	vma_tree_walk(&mm->mt, it, vma, r, start, end) {
		if (n == cap) {
			struct core_vma **nv = malloc(2 * cap * sizeof(*nv));

			if (!nv)
				abort();
			for (i = 0; i < n; i++)
				nv[i] = vmas[i];
			if (vmas != stack)
				free(vmas);
			vmas = nv;
			cap *= 2;
		}
		vmas[n++] = vma;
	}
	if (!n)
		return;
	for (i = 0; i < n; i++)
		vma_start_write(vmas[i]);
	if (all) {
		/* exit: the whole tree goes at once (nodes through RCU) */
		for (i = 0; i < n; i++)
			vma_mark_detached(vmas[i]);
		vma_tree_destroy(&mm->mt, true);
		mm->map_count = 0;
	} else {
		vma_tree_begin(&mm->mt);
		for (i = 0; i < n; i++)
			vma_tree_remove(mm, vmas[i]);
		vma_tree_commit(&mm->mt);
	}
	unmap_page_range(mm, start, end);
	unmap_vmas_batch(mm, vmas, n);
	if (vmas != stack)
		free(vmas);
}

/* do_vmi_munmap on a page-aligned range; mmap_lock held for write. */
int do_munmap(struct core_mm *mm, uint64_t start, uint64_t len)
{
	uint64_t end = start + len;
	struct core_vma *vma = find_vma(mm, start), *last;

	if (!vma || vma->start >= end)
		return 0;
	if (vma->start < start) {
		/* one VMA becoming three needs room for one more */
		if (end < vma->end && (uint32_t)mm->map_count >= mm->w->max_map_count)
			return -ENOMEM;
		split_vma_nocheck(mm, vma, start, true, NULL);
	}
	last = vma_lookup(mm, end - 1);
	if (last && last->end > end)
		split_vma_nocheck(mm, last, end, false, NULL);
	remove_range(mm, start, end);
	return 0;
}

int64_t core_munmap(struct core_mm *mm, uint64_t start, uint64_t len)
{
	int ret;

	if ((start & (MMF_PAGE_SIZE - 1)) || start > MMF_TASK_SIZE || len > MMF_TASK_SIZE - start)
		return -EINVAL;
	len = MMF_PAGE_ALIGN(len);
	if (!len)
		return -EINVAL;
	mmap_write_lock(mm);
	ret = mm->dead ? -ESRCH : do_munmap(mm, start, len);
	mmap_write_unlock(mm);
	return ret;
}

/* exit_mmap: everything goes; the free list is drained. mmap_lock held (write). */
void exit_mmap(struct core_mm *mm)
{
	remove_range(mm, 0, MMF_TASK_SIZE);
	unmap_page_range(mm, 0, MMF_TASK_SIZE);
	vm_area_free_drain(mm);
}

/* ---- mmap ----------------------------------------------------------------------- */

static int check_map_type(bool anon, uint32_t flags, uint64_t pgoff, uint64_t len)
{
	uint32_t type = flags & MAP_TYPE_MASK;

	if (anon) {
		if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_DROPPABLE)
			return -EINVAL;
		/* droppable memory cannot be locked, huge or a stack */
		if (type == MAP_DROPPABLE && (flags & (MAP_LOCKED | MAP_HUGETLB | MAP_GROWSDOWN)))
			return -EINVAL;
		if (type == MAP_SHARED && (flags & MAP_GROWSDOWN))
			return -EINVAL;
		return 0;
	}
	/* file_mmap_ok: the mapping must end below MAX_LFS_FILESIZE */
	if (pgoff > (((uint64_t)INT64_MAX - len) >> MMF_PAGE_SHIFT))
		return -EOVERFLOW;
	if (type == MAP_SHARED_VALIDATE && (flags & ~LEGACY_MAP_MASK))
		return -EOPNOTSUPP;
	if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE && type != MAP_PRIVATE)
		return -EINVAL;
	if (flags & MAP_GROWSDOWN)
		return -EINVAL;
	return 0;
}

static uint32_t prot_to_vm(uint32_t prot)
{
	return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) |
	       (prot & PROT_EXEC ? VM_EXEC : 0);
}

/* __mmap_region: [addr, addr + len) is free (munmapped by the caller). */
static void mmap_region(struct core_mm *mm, struct core_file *file, uint64_t addr,
			uint64_t len, uint32_t vm_flags, uint64_t pgoff)
{
	bool shared_anon = !file && (vm_flags & VM_SHARED);
	struct vma_merge_req r = {
		.start = addr,
		.end = addr + len,
		.pgoff = pgoff,
		.flags = vm_flags,
		.file = file,
	};
	struct core_vma *vma;

	if (!shared_anon) {
		find_vma_prev(mm, addr, &r.prev);
		r.next = find_vma(mm, addr);
		if (vma_merge_new_range(mm, &r))
			return;
	}

	vma = vm_area_alloc(mm);
	vma->start = addr;
	vma->end = addr + len;
	vma->flags = vm_flags;
	vma->pgoff = pgoff;
	if (file) {
		core_file_get(file);
		vma->file = file;
	} else if (shared_anon) {
		/* shmem_zero_setup: a shmem object the size of the mapping */
		vma->file = core_file_new(mm->w, -1, len);
		vma->pgoff = 0;
	}
	/* invisible to lockless faults until mmap_write_unlock */
#ifndef MMF_ZOO_MMAP_LOCK_AFTER_LINK	/* zoo/README.md */
#ifndef MMF_ZOO_MMAP_NO_WRITE_LOCK
	vma_start_write(vma);
#endif
#endif
	if (vma->file && (mm->w->legacy & CORE_LEGACY_I_MMAP_TREE)) {
		i_mmap_lock_write(vma->file);
		vma_link_tree(mm, vma);
		i_mmap_insert(vma->file, vma);
		i_mmap_unlock_write(vma->file);
		return;
	}
	/* tree store and map_count outside the i_mmap lock ... */
	vma_link_tree(mm, vma);
#ifdef MMF_ZOO_MMAP_LOCK_AFTER_LINK
	vma_start_write(vma);
#endif
	/* ... which covers only the i_mmap insertion */
	if (vma->file) {
		i_mmap_lock_write(vma->file);
		i_mmap_insert(vma->file, vma);
		i_mmap_unlock_write(vma->file);
	}
}

/*
 * __mm_populate (MAP_POPULATE, MAP_LOCKED, mlocked growth): fault in
 * [start, end), as a write in private writable mappings (they get their
 * own pages), else as a read; holes and inaccessible VMAs (PROT_NONE, or
 * execute-only under a pkey: GUP honours the PKRU) are skipped and a fault
 * error ends the VMA.  mmap_lock held (the kernel drops the write
 * lock first; no observer can tell the difference).
 */
void populate_range(struct core_mm *mm, uint64_t start, uint64_t end)
{
	uint64_t addr = start;

	while (addr < end) {
		struct core_vma *vma = find_vma(mm, addr);
		bool write;

		if (!vma || vma->start >= end)
			return;
		if (addr < vma->start)
			addr = vma->start;
		write = (vma->flags & VM_WRITE) && !(vma->flags & VM_SHARED);
		while ((vma->flags & VM_PROT_MASK) && !(vma->flags & VM_PKEY_XONLY) &&
		       addr < vma->end && addr < end) {
			if (populate_page(mm, vma, addr, write))
				break;
			addr += MMF_PAGE_SIZE;
		}
		addr = vma->end;
	}
}

int64_t core_mmap(struct core_mm *mm, const struct mmf_op *op)
{
	bool anon = op->flags & MAP_ANONYMOUS, shared;
	bool huge = anon && (op->flags & MAP_HUGETLB);
	uint32_t flags = op->flags, vm_flags;
	uint32_t prot = op->prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
	struct core_file *file = NULL;
	uint64_t addr = op->addr, len = op->len, pgoff = op->pgoff, found;
	int64_t ret;
	int err;

	if (!anon) {
		err = core_lookup_file(mm, op->file, &file);
		if (err)
			return err;
		/* MAP_HUGETLB needs a hugetlbfs file */
		if (flags & MAP_HUGETLB)
			return -EINVAL;
	} else if (flags & MAP_HUGETLB) {
		/* a huge page size the machine has; lengths round up to it */
		if (!mmf_huge_page_size(flags))
			return -EINVAL;
		len = (len + MMF_HUGE_PAGE_SIZE - 1) & ~(MMF_HUGE_PAGE_SIZE - 1);
	}
	if (!len)
		return -EINVAL;
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;
	if (!(flags & MAP_FIXED)) {
		addr &= MMF_PAGE_MASK;
		if (addr && addr < MMF_MMAP_MIN_ADDR)
			addr = MMF_PAGE_ALIGN(MMF_MMAP_MIN_ADDR);
	}
	len = MMF_PAGE_ALIGN(len);
	if (!len)
		return -ENOMEM;
	if (pgoff + (len >> MMF_PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;

	mmap_write_lock(mm);
	if (mm->dead) {
		ret = -ESRCH;
		goto out;
	}
	if ((uint32_t)mm->map_count > mm->w->max_map_count) {
		ret = -ENOMEM;
		goto out;
	}
	/* a fixed hugetlb mapping must be huge-page aligned */
	if (huge && (flags & MAP_FIXED) && (addr & (MMF_HUGE_PAGE_SIZE - 1))) {
		ret = -EINVAL;
		goto out;
	}
	found = get_unmapped_area(mm, addr, len, flags);
	if ((int64_t)found < 0) {
		ret = (int64_t)found;
		goto out;
	}
	addr = found;
	if (flags & MAP_FIXED_NOREPLACE) {
		struct core_vma *v = find_vma(mm, addr);

		if (v && v->start < addr + len) {
			ret = -EEXIST;
			goto out;
		}
	}
	/* hugetlb memory is a hugetlbfs file: the file rules apply */
	err = check_map_type(anon && !huge, flags, pgoff, len);
	if (err) {
		ret = err;
		goto out;
	}
	/* no huge pages are reserved: the reservation fails, after a
	 * MAP_FIXED mapping has unmapped what it replaces */
	if (huge) {
		if (flags & MAP_FIXED)
			do_munmap(mm, addr, len);
		ret = -ENOMEM;
		goto out;
	}
	shared = (flags & MAP_TYPE_MASK) != MAP_PRIVATE &&
		 (flags & MAP_TYPE_MASK) != MAP_DROPPABLE;
	err = do_munmap(mm, addr, len);
	if (err) {
		ret = err;
		goto out;
	}
	vm_flags = prot_to_vm(prot) | (shared ? VM_SHARED : 0) |
		   (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
		   (flags & MAP_NORESERVE ? VM_NORESERVE : 0) |
		   /* calc_vm_flag_bits: thread stacks get no huge pages */
		   (flags & MAP_STACK ? VM_NOHUGEPAGE : 0) |
		   exec_only_pkey_flag(mm->w, op->prot) |
		   /* so is MAP_SYNC, whatever the mapping type */
		   (flags & MAP_SYNC ? VM_SYNC : 0);
	/* accountable_mapping: private writable memory is charged */
	if ((vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE)
		vm_flags |= VM_ACCOUNT;
	/* MAP_LOCKED: mlocked (the model may always lock) */
	if (flags & MAP_LOCKED)
		vm_flags |= VM_LOCKED;
	/* MAP_DROPPABLE: never charged, not inherited, not dumped */
	if (anon && (flags & MAP_TYPE_MASK) == MAP_DROPPABLE)
		vm_flags = (vm_flags & ~VM_ACCOUNT) | VM_DROPPABLE | VM_NORESERVE |
			   VM_WIPEONFORK | VM_DONTDUMP;
	if (!file)
		pgoff = shared ? 0 : addr >> MMF_PAGE_SHIFT;
	mmap_region(mm, file, addr, len, vm_flags, pgoff);
	/* MAP_LOCKED, and MAP_POPULATE unless MAP_NONBLOCK, prefault it */
	if ((flags & MAP_LOCKED) || (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE)
		populate_range(mm, addr, addr + len);
	ret = (int64_t)addr;
out:
	mmap_write_unlock(mm);
	return ret;
}
