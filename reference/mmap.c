// SPDX-License-Identifier: MIT
/*
 * reference/mmap.c - mmap (mm/mmap.c do_mmap, mm/vma.c __mmap_region),
 * munmap (do_vmi_munmap) and placement (get_unmapped_area: the hint, the
 * top-down search below mmap_base, the bottom-up fallback).
 */
#include <errno.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "ref.h"

#define MAP_TYPE_MASK 0x0f

/*
 * The flags a MAP_SHARED_VALIDATE mapping may carry (LEGACY_MAP_MASK):
 * anything else is -EOPNOTSUPP there, and silently ignored otherwise.
 */
#define LEGACY_MAP_MASK (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | \
			 MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED | \
			 MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | \
			 MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT | \
			 (0x3fu << 26))

/* x86 __TASK_UNMAPPED_BASE: where the bottom-up fallback search starts. */
#define TASK_UNMAPPED_BASE page_align(MMF_TASK_SIZE / 3)

/* ---- placement ------------------------------------------------------------------- */

/* vm_start_gap(): a GROWSDOWN VMA keeps stack_guard_gap free below it. */
static uint64_t vm_start_gap(const struct ref_vma *v)
{
	if (!(v->flags & MMF_VMA_GROWSDOWN))
		return v->start;
	return v->start > MMF_STACK_GUARD_GAP ? v->start - MMF_STACK_GUARD_GAP : 0;
}

/*
 * The free gap between VMA i-1 and VMA i (i == nr_vmas: above the last
 * VMA), clipped to [low, high].  Returns false if it is empty.
 */
static bool gap(const struct ref_proc *p, size_t i, uint64_t low, uint64_t high,
		uint64_t *start, uint64_t *end)
{
	*start = i > 0 ? p->vmas[i - 1]->end : 0;
	*end = i < p->nr_vmas ? vm_start_gap(p->vmas[i]) : MMF_TASK_SIZE;
	if (*start < low)
		*start = low;
	if (*end > high)
		*end = high;
	return *start < *end;
}

/* unmapped_area_topdown(): the highest gap in [low, high] that fits len. */
static int64_t unmapped_area_topdown(const struct ref_proc *p, uint64_t len, uint64_t low,
				     uint64_t high)
{
	for (size_t i = p->nr_vmas + 1; i-- > 0;) {
		uint64_t start, end;

		if (gap(p, i, low, high, &start, &end) && end - start >= len)
			return (int64_t)(end - len);
	}
	return -ENOMEM;
}

/* unmapped_area(): the lowest gap in [low, high] that fits len. */
static int64_t unmapped_area(const struct ref_proc *p, uint64_t len, uint64_t low, uint64_t high)
{
	for (size_t i = 0; i <= p->nr_vmas; i++) {
		uint64_t start, end;

		if (gap(p, i, low, high, &start, &end) && end - start >= len)
			return (int64_t)start;
	}
	return -ENOMEM;
}

/* A hint is taken as is if [addr, addr + len) is free, stack gaps included. */
static bool hint_fits(const struct ref_proc *p, uint64_t addr, uint64_t len)
{
	size_t i = vma_index_of(p, addr);
	const struct ref_vma *next = i < p->nr_vmas ? p->vmas[i] : NULL;
	const struct ref_vma *prev = i > 0 ? p->vmas[i - 1] : NULL;

	return MMF_TASK_SIZE - len >= addr && addr >= MMF_MMAP_MIN_ADDR &&
	       (!next || addr + len <= vm_start_gap(next)) && (!prev || addr >= prev->end);
}

/* generic_get_unmapped_area_topdown() */
static int64_t topdown_area(const struct ref_proc *p, uint64_t addr, uint64_t len)
{
	int64_t found;

	/* the request cannot fit in the user address space at all */
	if (len > MMF_TASK_SIZE - MMF_MMAP_MIN_ADDR)
		return -ENOMEM;
	/* a usable hint wins */
	if (addr && hint_fits(p, page_align(addr), len))
		return (int64_t)page_align(addr);
	/* the highest gap below mmap_base ... */
	found = unmapped_area_topdown(p, len, MMF_MMAP_MIN_ADDR, MMF_MMAP_BASE);
	if (found >= 0)
		return found;
	/* ... else the lowest gap above TASK_UNMAPPED_BASE */
	return unmapped_area(p, len, TASK_UNMAPPED_BASE, MMF_TASK_SIZE);
}

/*
 * MAP_32BIT on x86-64: bottom-up in [1 GiB, 2 GiB) (the model does not
 * randomize the start), after a usable hint.
 */
static int64_t area_32bit(const struct ref_proc *p, uint64_t addr, uint64_t len)
{
	if (addr && hint_fits(p, page_align(addr), len))
		return (int64_t)page_align(addr);
	return unmapped_area(p, len, 0x40000000, 0x80000000);
}

int64_t get_unmapped_area_flags(struct ref_proc *p, uint64_t addr, uint64_t len, uint32_t flags)
{
	int64_t found;

	/* __get_unmapped_area: longer than the address space */
	if (len > MMF_TASK_SIZE)
		return -ENOMEM;
	if (flags & MAP_FIXED) {
		/* the fixed range must end inside the address space */
		if (addr > MMF_TASK_SIZE - len)
			return -ENOMEM;
		found = (int64_t)addr;
	} else if (flags & MAP_32BIT) {
		found = area_32bit(p, addr, len);
	} else {
		found = topdown_area(p, addr, len);
	}
	if (found < 0)
		return found;
	/* the range must end inside the address space */
	if ((uint64_t)found > MMF_TASK_SIZE - len)
		return -ENOMEM;
	/* a fixed address must be page aligned */
	if (!page_aligned((uint64_t)found))
		return -EINVAL;
	/* security_mmap_addr: nothing below mmap_min_addr */
	if ((uint64_t)found < MMF_MMAP_MIN_ADDR)
		return -EPERM;
	return found;
}

int64_t get_unmapped_area(struct ref_proc *p, uint64_t addr, uint64_t len, bool fixed)
{
	return get_unmapped_area_flags(p, addr, len, fixed ? MAP_FIXED : 0);
}

/* round_hint_to_min(): a hint is rounded down, and raised to mmap_min_addr. */
static uint64_t round_hint_to_min(uint64_t hint)
{
	hint &= MMF_PAGE_MASK;
	if (hint && hint < MMF_MMAP_MIN_ADDR)
		return page_align(MMF_MMAP_MIN_ADDR);
	return hint;
}

/* ---- munmap --------------------------------------------------------------------- */

/*
 * do_vmi_align_munmap(): split the VMAs straddling the ends of
 * [start, start + len), then remove everything inside with its PTEs.
 * The pieces left outside are never merged back.
 */
int do_munmap(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len)
{
	uint64_t end = start + len;
	struct ref_vma *v = find_vma_intersection(p, start, end);
	size_t i;

	/* nothing mapped there: nothing to do */
	if (!v)
		return 0;
	if (v->start < start) {
		/* splitting one VMA into three needs room for one more VMA */
		if (end < v->end && p->nr_vmas >= w->max_map_count)
			return -ENOMEM;
		__split_vma(w, p, v, start);
	}
	v = find_vma(p, end - 1);
	if (v && v->start < end && v->end > end)
		__split_vma(w, p, v, end);

	unmap_ptes(p, start, end);
	i = vma_index_of(p, start);
	while (i < p->nr_vmas && p->vmas[i]->start < end) {
		struct ref_vma *gone = p->vmas[i];

		vma_remove(p, gone);
		vma_free(w, gone);
	}
	return 0;
}

/* munmap(2) */
int64_t ref_munmap(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len)
{
	/* start must be page aligned and the range inside the address space */
	if (!page_aligned(start) || start > MMF_TASK_SIZE || len > MMF_TASK_SIZE - start)
		return -EINVAL;
	len = page_align(len);
	/* an empty range is an error */
	if (!len)
		return -EINVAL;
	return do_munmap(w, p, start, len);
}

/* ---- mmap ------------------------------------------------------------------------- */

/*
 * The hidden accounting flags: MAP_NORESERVE gives VM_NORESERVE (the model
 * allows overcommit); accountable_mapping(): private writable memory
 * without VM_NORESERVE is charged (VM_ACCOUNT).
 */
static uint32_t account_flags(uint32_t prot, bool shared, uint32_t map_flags)
{
	if (map_flags & MAP_NORESERVE)
		return REF_VM_NORESERVE;
	return !shared && (prot & PROT_WRITE) ? REF_VM_ACCOUNT : 0;
}

/* The checks of do_mmap on the mapping type, after placement; 0 or -errno. */
static int check_map_type(const struct mmf_op *op, bool anon, uint32_t flags, uint64_t len)
{
	uint32_t type = flags & MAP_TYPE_MASK;

	if (anon) {
		/* anonymous: MAP_SHARED, MAP_PRIVATE or MAP_DROPPABLE */
		if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_DROPPABLE)
			return -EINVAL;
		/* droppable memory cannot be locked, huge or a stack */
		if (type == MAP_DROPPABLE && (flags & (MAP_LOCKED | MAP_HUGETLB | MAP_GROWSDOWN)))
			return -EINVAL;
		/* a shared anonymous mapping cannot grow down */
		if (type == MAP_SHARED && (flags & MAP_GROWSDOWN))
			return -EINVAL;
		return 0;
	}
	/* file_mmap_ok: the mapping must end below MAX_LFS_FILESIZE */
	if (op->pgoff > (((uint64_t)INT64_MAX - len) >> PAGE_SHIFT))
		return -EOVERFLOW;
	/* files: MAP_SHARED_VALIDATE refuses flags it does not know */
	if (type == MAP_SHARED_VALIDATE && (flags & ~LEGACY_MAP_MASK))
		return -EOPNOTSUPP;
	if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE && type != MAP_PRIVATE)
		return -EINVAL;
	/* files cannot grow down */
	if (flags & MAP_GROWSDOWN)
		return -EINVAL;
	return 0;
}

/*
 * __mm_populate() (MAP_POPULATE, MAP_LOCKED): fault in every page, as a
 * write in private writable mappings (so they get their own pages), else
 * as a read.  Errors are ignored: an inaccessible VMA is skipped (PROT_NONE,
 * or execute-only under a pkey: GUP honours the PKRU), a fault error
 * (SIGBUS) skips the rest of its VMA.
 */
void populate_range(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t end)
{
	uint64_t page = start;

	while (page < end) {
		struct ref_vma *v = find_vma_intersection(p, page, end);
		bool write;

		if (!v)
			return;
		if (page < v->start)
			page = v->start;
		write = (v->prot & PROT_WRITE) && !vma_is_shared(v);
		while (v->prot && !(v->flags & REF_VM_PKEY_XONLY) && page < v->end && page < end) {
			if (handle_fault(w, p, v, page, write))
				break;
			page += PAGE;
		}
		page = v->end;
	}
}

/* __mmap_new_vma(): the mapping as a VMA of its own. */
static void insert_new_vma(struct ref_world *w, struct ref_proc *p, const struct ref_merge *m,
			   struct ref_file *file, bool shared_anon)
{
	struct ref_vma *v = vma_alloc(w);

	v->start = m->start;
	v->end = m->end;
	v->prot = m->prot;
	v->flags = m->flags;
	v->pgoff = m->pgoff;
	if (file) {
		v->file = file_get(file);
	} else if (shared_anon) {
		/* shmem_zero_setup(): a new shmem object the size of the mapping */
		v->file = file_new(m->end - m->start, true);
		v->pgoff = 0;
	}
	vma_insert(p, v);
}

/* mmap(2) of the model; returns the address or -errno. */
int64_t ref_mmap(struct ref_world *w, struct ref_proc *p, const struct mmf_op *op)
{
	bool anon = op->flags & MAP_ANONYMOUS;
	uint32_t flags = op->flags;
	uint32_t prot = op->prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
	struct ref_file *file = NULL;
	uint64_t addr = op->addr, len = op->len, pgoff = op->pgoff;
	struct ref_merge m = { 0 };
	int64_t found;
	bool huge = anon && (flags & MAP_HUGETLB);
	bool shared;
	int err;

	/* a file mapping needs a live file: -EBADF first of all */
	if (!anon) {
		if (op->file < 0 || op->file >= MMF_MAX_FILES || !w->files[op->file])
			return -EBADF;
		file = w->files[op->file];
		/* MAP_HUGETLB needs a hugetlbfs file */
		if (flags & MAP_HUGETLB)
			return -EINVAL;
	} else if (flags & MAP_HUGETLB) {
		/* ksys_mmap_pgoff: the huge page size must be one the machine has */
		if (!mmf_huge_page_size(flags))
			return -EINVAL;
		/* the length rounds up to whole huge pages */
		len = (len + MMF_HUGE_PAGE_SIZE - 1) & ~(MMF_HUGE_PAGE_SIZE - 1);
	}
	/* an empty mapping is invalid */
	if (!len)
		return -EINVAL;
	/* MAP_FIXED_NOREPLACE is MAP_FIXED that refuses to replace */
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;
	if (!(flags & MAP_FIXED))
		addr = round_hint_to_min(addr);
	/* the length rounds up to pages; wrapping to 0 is -ENOMEM */
	len = page_align(len);
	if (!len)
		return -ENOMEM;
	/* the file offset must not wrap */
	if (pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	/* too many mappings already */
	if (p->nr_vmas > w->max_map_count)
		return -ENOMEM;

	/* hugetlb_get_unmapped_area: a fixed address must be huge-page aligned */
	if (huge && (flags & MAP_FIXED) && (addr & (MMF_HUGE_PAGE_SIZE - 1)))
		return -EINVAL;
	found = get_unmapped_area_flags(p, addr, len, flags);
	if (found < 0)
		return found;
	addr = (uint64_t)found;
	/* MAP_FIXED_NOREPLACE: -EEXIST on any overlap */
	if ((flags & MAP_FIXED_NOREPLACE) && find_vma_intersection(p, addr, addr + len))
		return -EEXIST;
	/* MAP_HUGETLB memory is a hugetlbfs file: the file rules apply */
	err = check_map_type(op, anon && !huge, flags, len);
	if (err)
		return err;
	/*
	 * The model reserves no huge pages: the reservation fails, after
	 * mmap_region has already unmapped what a MAP_FIXED mapping replaces.
	 */
	if (huge) {
		if (flags & MAP_FIXED)
			do_munmap(w, p, addr, len);
		return -ENOMEM;
	}
	shared = (flags & MAP_TYPE_MASK) != MAP_PRIVATE && (flags & MAP_TYPE_MASK) != MAP_DROPPABLE;

	/* MAP_FIXED: whatever is mapped there goes first */
	err = do_munmap(w, p, addr, len);
	if (err)
		return err;

	m.start = addr;
	m.end = addr + len;
	m.prot = prot;
	m.flags = (shared ? MMF_VMA_SHARED : 0) | (flags & MAP_GROWSDOWN ? MMF_VMA_GROWSDOWN : 0) |
		  account_flags(prot, shared, flags);
	m.flags |= exec_only_pkey_flag(w, op->prot);
	/* MAP_LOCKED: mlocked (the model may always lock: CAP_IPC_LOCK) */
	if (flags & MAP_LOCKED)
		m.flags |= REF_VM_LOCKED;
	/* calc_vm_flag_bits(): thread stacks get no huge pages (VM_NOHUGEPAGE) */
	if (flags & MAP_STACK)
		m.flags |= REF_VM_NOHUGEPAGE;
	/*
	 * calc_vm_flag_bits() also turns MAP_SYNC into VM_SYNC before the
	 * mapping type is looked at: only MAP_SHARED_VALIDATE refuses it (the
	 * model's files cannot sync), so private, legacy shared and anonymous
	 * mappings keep it, and it blocks their merges.
	 */
	if (flags & MAP_SYNC)
		m.flags |= REF_VM_SYNC;
	/*
	 * MAP_DROPPABLE: private anonymous memory the kernel may drop, never
	 * charged, not inherited, not dumped.
	 */
	if (anon && (flags & MAP_TYPE_MASK) == MAP_DROPPABLE)
		m.flags = (m.flags & ~REF_VM_ACCOUNT) | REF_VM_DROPPABLE | REF_VM_NORESERVE |
			  MMF_VMA_WIPEONFORK | REF_VM_DONTDUMP;
	if (file) {
		m.file = file;
		m.pgoff = pgoff;
	} else if (!shared) {
		/* private anonymous memory: pgoff is the page number of the address */
		m.pgoff = addr >> PAGE_SHIFT;
	}
	/* a new mapping merges with an identical, contiguous neighbour */
	if ((anon && shared) || !merge_new_range(w, p, &m))
		insert_new_vma(w, p, &m, file, anon && shared);
	/* MAP_LOCKED, and MAP_POPULATE unless MAP_NONBLOCK, prefault the mapping */
	if ((flags & MAP_LOCKED) || (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE)
		populate_range(w, p, addr, addr + len);
	return (int64_t)addr;
}
