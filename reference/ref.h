/* SPDX-License-Identifier: MIT */
/*
 * reference/ref.h - the single-lock reference implementation of the VMA
 * model: the executable specification the optimized core is compared with.
 *
 * Locking: there is exactly one lock, world->lock, taken by every entry
 * point in world.c (exec, snapshot, counters, check, clone).  Everything
 * below runs with it held, so no function in reference/ takes a lock.
 *
 * Data model (simple on purpose):
 *  - a world holds up to MMF_MAX_PROCS processes and MMF_MAX_FILES files;
 *  - a process holds a sorted array of VMAs and a page table (a sorted
 *    table of present PTEs);
 *  - a file (memfd-like shmem inode, or the hidden shmem object behind a
 *    shared anonymous mapping) holds its size and its page cache.
 *
 * The machine modelled is x86-64 Linux 6.18 with 4 KiB pages, no swap,
 * no memory pressure, THP off (the kernel backend disables it per process),
 * no huge pages reserved, no CONFIG_MEMORY_FAILURE, overcommit allowed,
 * and a process that may mlock (CAP_IPC_LOCK); a CPU without protection
 * keys unless mmf_config.exec_only_pkey says it has them (then only the
 * execute-only key exists: no pkey_alloc or pkey_mprotect).  Not
 * modelled: ASLR (no randomization of mmap_base or MAP_32BIT),
 * MADV_COLLAPSE, mseal, userfaultfd, NUMA policies.
 *
 * Each source file holds one concept: vma.c (the ordered VMA set, split,
 * merge), mmap.c (mmap, munmap, placement), mprotect.c, madvise.c (advice
 * and anon names), mremap.c, fault.c (page faults, stack growth, the page
 * table), fork.c, file.c (files and the page cache), world.c (handles,
 * dispatch, snapshot, clone), check.c (the invariants), hash.c (the
 * state hash), table.c (a sorted
 * table of 64-bit keys).
 */
#ifndef MMFUZZ_REFERENCE_REF_H
#define MMFUZZ_REFERENCE_REF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "mmfuzz/mm.h"

#define PAGE		MMF_PAGE_SIZE
#define PAGE_SHIFT	MMF_PAGE_SHIFT

/* Page-align a length the way the kernel does: wrapping to 0 on overflow. */
static inline uint64_t page_align(uint64_t len)
{
	return (len + PAGE - 1) & MMF_PAGE_MASK;
}

static inline bool page_aligned(uint64_t addr)
{
	return (addr & (PAGE - 1)) == 0;
}

/* ---- table.c: a sorted table of rows keyed by a leading uint64_t ------- */

struct ref_table {
	void *rows;
	size_t nr, cap;
	size_t row_size;	/* every row starts with its uint64_t key */
};

void table_init(struct ref_table *t, size_t row_size);
void table_free(struct ref_table *t);
void table_copy(struct ref_table *dst, const struct ref_table *src);
void *table_row(const struct ref_table *t, size_t i);
/* Index of the first row whose key is >= key. */
size_t table_lower_bound(const struct ref_table *t, uint64_t key);
void *table_find(const struct ref_table *t, uint64_t key);
/* The row with this key, inserted zero-filled (but for the key) if absent. */
void *table_get(struct ref_table *t, uint64_t key);
/* Remove every row with lo <= key < hi. */
void table_remove_range(struct ref_table *t, uint64_t lo, uint64_t hi);

/* ---- files and the page cache (file.c) ---------------------------------- */

struct ref_fpage {
	uint64_t index;		/* key */
	uint64_t value;
	bool dirty;		/* written (pwrite or a store through a mapping) */
};

struct ref_file {
	int refs;		/* the world's handle + every VMA mapping it */
	bool anon;		/* the shmem object of a shared anonymous mapping */
	uint64_t size;		/* bytes */
	struct ref_table cache;	/* struct ref_fpage, by index */
};

struct ref_file *file_new(uint64_t size, bool anon);
struct ref_file *file_get(struct ref_file *f);
void file_put(struct ref_file *f);
/* Pages [0, file_pages(f)) are inside the file; a fault beyond is SIGBUS. */
uint64_t file_pages(const struct ref_file *f);
/* The page cache page at index, allocated (value 0) if absent: shmem_fault. */
struct ref_fpage *file_page_alloc(struct ref_file *f, uint64_t index);
uint64_t file_page_value(const struct ref_file *f, uint64_t index);

/* ---- VMAs (vma.c) -------------------------------------------------------- */

/*
 * Hidden vm_flags that decide merging but that /proc/pid/maps does not
 * show; they live beside the MMF_VMA_* bits in ref_vma.flags.
 */
#define REF_VM_ACCOUNT	0x100u	/* VM_ACCOUNT: private writable memory is charged */
#define REF_VM_NORESERVE 0x200u	/* VM_NORESERVE: MAP_NORESERVE, never charged */
#define REF_VM_RAND_READ 0x400u	/* MADV_RANDOM */
#define REF_VM_SEQ_READ	0x800u	/* MADV_SEQUENTIAL */
#define REF_VM_DONTDUMP	0x1000u	/* MADV_DONTDUMP */
#define REF_VM_MERGEABLE 0x2000u /* MADV_MERGEABLE (KSM) */
#define REF_VM_HUGEPAGE	0x4000u	/* MADV_HUGEPAGE */
#define REF_VM_NOHUGEPAGE 0x8000u /* MADV_NOHUGEPAGE, MAP_STACK */
#define REF_VM_DROPPABLE 0x10000u /* MAP_DROPPABLE */
#define REF_VM_LOCKED	0x20000u /* MAP_LOCKED (mlock): kept populated */
/*
 * The process's execute-only protection key (x86 PKU; only with
 * ref_world.exec_only_pkey).  mmap and mprotect give it to a VMA whose
 * requested prot is exactly PROT_EXEC and take it away on any other
 * mprotect.  Its PKRU bits deny loads and stores, so every access is
 * SEGV_PKUERR; being a vm_flag it is copied by split, fork and mremap and
 * blocks anon_vma reuse by key-0 neighbours (anon_vma_compatible
 * ignores only the R/W/X bits).
 */
#define REF_VM_PKEY_XONLY 0x40000u
#define REF_VM_SYNC	0x80000u /* MAP_SYNC, on any mapping the flag is not refused on */
/*
 * VM_MAYBE_GUARD: MADV_GUARD_INSTALL has put markers somewhere in the VMA
 * (set on the whole VMA, never cleared, not even by MADV_GUARD_REMOVE).
 * The markers live in the page table only, so fork must copy the page
 * table of such a VMA (VM_COPY_ON_FORK) even without an anon_vma.  It is
 * sticky (REF_VM_STICKY): merges ignore it, and the VMA a merge leaves
 * has it if any part had it; split, fork and mremap copy it.
 */
#define REF_VM_MAYBE_GUARD 0x100000u
#define REF_VM_STICKY	REF_VM_MAYBE_GUARD
#define REF_VM_COPY_ON_FORK REF_VM_MAYBE_GUARD
#define REF_VM_SNAPSHOT_FLAGS \
	(MMF_VMA_SHARED | MMF_VMA_GROWSDOWN | MMF_VMA_DONTCOPY | MMF_VMA_WIPEONFORK)

struct ref_vma {
	uint64_t start, end;	/* [start, end), page aligned */
	uint64_t pgoff;		/* file offset in pages; private anon: start >> 12 at creation */
	uint32_t prot;		/* PROT_READ | PROT_WRITE | PROT_EXEC */
	uint32_t flags;		/* MMF_VMA_* | REF_VM_* */
	struct ref_file *file;	/* NULL for private anonymous memory */
	char *name;		/* anon name (PR_SET_VMA_ANON_NAME), or NULL */
	uint64_t anon_vma;	/* identity of the anon_vma, 0 if none yet */
	bool fork_child;	/* anon_vma_chain not singular: cloned from a parent */
};

struct ref_world;

struct ref_proc {
	bool live;
	struct ref_vma **vmas;	/* sorted by start, non-overlapping */
	size_t nr_vmas, cap_vmas;
	struct ref_table ptes;	/* struct ref_pte, by address */
};

static inline uint64_t vma_pages(const struct ref_vma *v)
{
	return (v->end - v->start) >> PAGE_SHIFT;
}

/* File page index that the page at addr maps. */
static inline uint64_t vma_index(const struct ref_vma *v, uint64_t addr)
{
	return v->pgoff + ((addr - v->start) >> PAGE_SHIFT);
}

static inline bool vma_is_private_anon(const struct ref_vma *v)
{
	return v->file == NULL;
}

/* vma_is_anonymous(): no vm_ops, i.e. private anonymous (shmem has vm_ops). */
static inline bool vma_is_anonymous(const struct ref_vma *v)
{
	return v->file == NULL;
}

static inline bool vma_is_shared(const struct ref_vma *v)
{
	return v->flags & MMF_VMA_SHARED;
}

struct ref_vma *vma_alloc(struct ref_world *w);
struct ref_vma *vma_dup(struct ref_world *w, const struct ref_vma *v);
void vma_free(struct ref_world *w, struct ref_vma *v);
void vma_set_name(struct ref_world *w, struct ref_vma *v, const char *name);
bool vma_names_equal(const char *a, const char *b);

/* Position of the first VMA with end > addr (nr_vmas if none). */
size_t vma_index_of(const struct ref_proc *p, uint64_t addr);
/* find_vma(): the first VMA with end > addr, or NULL. */
struct ref_vma *find_vma(const struct ref_proc *p, uint64_t addr);
/* vma_lookup(): the VMA containing addr, or NULL. */
struct ref_vma *vma_lookup(const struct ref_proc *p, uint64_t addr);
struct ref_vma *vma_prev(const struct ref_proc *p, const struct ref_vma *v);
struct ref_vma *vma_next(const struct ref_proc *p, const struct ref_vma *v);
/* find_vma_intersection(): the first VMA overlapping [start, end), or NULL. */
struct ref_vma *find_vma_intersection(const struct ref_proc *p, uint64_t start, uint64_t end);
void vma_insert(struct ref_proc *p, struct ref_vma *v);
void vma_remove(struct ref_proc *p, struct ref_vma *v);

/* split_vma(): checks max_map_count; __split_vma() does not. */
int split_vma(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t addr);
void __split_vma(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t addr);

/*
 * A proposed VMA (the kernel's vma_merge_struct): either a new range
 * (middle == NULL: mmap, mremap's copy_vma, in-place expansion) or the
 * range [start, end) of the existing VMA middle with new attributes
 * (mprotect, madvise, set_name).
 */
struct ref_merge {
	uint64_t start, end, pgoff;
	uint32_t prot, flags;
	struct ref_file *file;
	const char *name;
	uint64_t anon_vma;	/* the anon_vma the range brings along */
	bool fork_child;	/* ... and whether it came from a fork */
	struct ref_vma *middle;
	struct ref_vma *copied_from;	/* mremap: the VMA being moved */
};

void merge_from_vma(struct ref_merge *m, struct ref_vma *v, uint64_t start, uint64_t end);
/* vma_merge_new_range(): the VMA the new range merged into, or NULL. */
struct ref_vma *merge_new_range(struct ref_world *w, struct ref_proc *p, const struct ref_merge *m);
/*
 * vma_modify(): make [m->start, m->end) of m->middle one VMA with m's
 * attributes, merging with a neighbour or splitting.  Returns the VMA now
 * covering the range, or NULL with *err set (-ENOMEM from split_vma).
 */
struct ref_vma *vma_modify(struct ref_world *w, struct ref_proc *p, const struct ref_merge *m, int *err);

/* ---- the page table and faults (fault.c) ---------------------------------- */

enum ref_pte_kind {
	PTE_ANON,		/* a private page: its value lives in the PTE */
	PTE_ZERO,		/* the shared zero page: reads 0, no anon_vma needed */
	PTE_FILE,		/* a page-cache page of file at index */
	/*
	 * A guard marker (MADV_GUARD_INSTALL): no page, every access faults
	 * with SIGSEGV.  Zaps (MADV_DONTNEED, truncate, hole punch) leave it;
	 * only munmap, MADV_GUARD_REMOVE and exit take it away; mremap moves
	 * it and fork copies it like a page.  Not in the snapshot: pagemap
	 * does not show it present; accesses observe it.
	 */
	PTE_GUARD,
};

struct ref_pte {
	uint64_t addr;		/* key */
	enum ref_pte_kind kind;
	uint64_t value;		/* PTE_ANON */
	struct ref_file *file;	/* PTE_FILE (the VMA holds the reference) */
	uint64_t index;		/* PTE_FILE */
};

uint64_t pte_value(const struct ref_pte *pte);
/* zap_page_range(): the pages of [start, end) go, guard markers stay. */
void zap_ptes(struct ref_proc *p, uint64_t start, uint64_t end);
/* unmap_vmas(): everything in [start, end) goes, guard markers too. */
void unmap_ptes(struct ref_proc *p, uint64_t start, uint64_t end);
bool pte_is_guard(const struct ref_proc *p, uint64_t page);
void move_ptes(struct ref_proc *p, uint64_t old_addr, uint64_t new_addr, uint64_t len);
void anon_vma_prepare(struct ref_world *w, struct ref_proc *p, struct ref_vma *v);
/*
 * The fault at page (inside v, access already allowed): 0, or -EFAULT where
 * the kernel would raise SIGBUS (or SIGSEGV, on a guard marker).  A write fault leaves the page mapped
 * writable with its contents unchanged.
 */
int handle_fault(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t page,
		 bool write);
void do_read(struct ref_world *w, struct ref_proc *p, uint64_t addr, struct mmf_res *res);
void do_write(struct ref_world *w, struct ref_proc *p, uint64_t addr, uint64_t value, struct mmf_res *res);

/* ---- the world (world.c) --------------------------------------------------- */

struct ref_world {
	pthread_mutex_t lock;
	uint32_t max_map_count;
	struct ref_proc procs[MMF_MAX_PROCS];
	struct ref_file *files[MMF_MAX_FILES];
	uint64_t last_anon_vma;	/* anon_vma identities: 1, 2, 3, ... */
	/*
	 * Read faults on private anonymous memory map the shared zero page
	 * (upstream Linux).  false models kernels booted without a zero page
	 * (e.g. pvm_no_zero_page=1): reads then allocate a private page and
	 * the VMA's anon_vma, like a write of 0.
	 */
	bool zero_page;
	/*
	 * x86 protection keys (mmf_config.exec_only_pkey): PROT_EXEC-only
	 * VMAs carry the execute-only pkey (REF_VM_PKEY_XONLY).
	 */
	bool exec_only_pkey;
	struct mmf_counters counters;
};

static inline uint64_t new_anon_vma(struct ref_world *w)
{
	return ++w->last_anon_vma;
}

void proc_release(struct ref_world *w, struct ref_proc *p);

/*
 * The pkey flag an mmap or mprotect asking for req_prot (as passed, other
 * bits such as PROT_SEM included) gives a VMA: the execute-only key for
 * exactly PROT_EXEC (arch/x86/mm/pkeys.c), else key 0.
 */
static inline uint32_t exec_only_pkey_flag(const struct ref_world *w, uint32_t req_prot)
{
	return w->exec_only_pkey && req_prot == PROT_EXEC ? REF_VM_PKEY_XONLY : 0;
}

/* check.c: the invariants (mmf_impl.check); 0, or -1 with msg set. */
int world_check(struct ref_world *w, char *msg, size_t msglen);

/* hash.c: a hash of everything an op can observe (mmf_impl.state_hash). */
uint64_t world_state_hash(struct ref_world *w);

/* ---- operations: one per file ------------------------------------------------ */

int64_t ref_mmap(struct ref_world *w, struct ref_proc *p, const struct mmf_op *op);
int64_t ref_munmap(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len);
/* do_munmap() on a page-aligned range; 0 or -ENOMEM. */
int do_munmap(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len);
/*
 * __mm_populate(): fault in [start, end) as a write in private writable
 * mappings, else as a read; errors just stop it.
 */
void populate_range(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t end);
/* get_unmapped_area(): an address, or -errno. */
int64_t get_unmapped_area(struct ref_proc *p, uint64_t addr, uint64_t len, bool fixed);
/* The same for an mmap with these MAP_* flags (MAP_FIXED, MAP_32BIT). */
int64_t get_unmapped_area_flags(struct ref_proc *p, uint64_t addr, uint64_t len, uint32_t flags);

int64_t ref_mprotect(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len, uint32_t prot);
int64_t ref_mremap(struct ref_world *w, struct ref_proc *p, const struct mmf_op *op);
int64_t ref_madvise(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len, uint32_t advice);
int64_t ref_set_name(struct ref_world *w, struct ref_proc *p, uint64_t start, uint64_t len,
		     const char *name);
int64_t ref_fork(struct ref_world *w, struct ref_proc *parent);

int64_t ref_file_create(struct ref_world *w, uint64_t size);
int64_t ref_truncate(struct ref_world *w, struct ref_file *f, uint64_t size);
int64_t ref_file_read(struct ref_file *f, uint64_t index, uint64_t *value);
int64_t ref_file_write(struct ref_file *f, uint64_t index, uint64_t value);
/* Number of PTEs, in every process, that map page index of f. */
unsigned file_page_mapcount(struct ref_world *w, struct ref_file *f, uint64_t index);
/* fallocate(PUNCH_HOLE) of pages [first, end): MADV_REMOVE. */
void file_punch_hole(struct ref_world *w, struct ref_file *f, uint64_t first, uint64_t end);

#endif /* MMFUZZ_REFERENCE_REF_H */
