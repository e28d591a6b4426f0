/* SPDX-License-Identifier: MIT */
/*
 * core/mm.h - internal structures of the optimized core.
 *
 * The core models the kernel's VMA layer with its scalability mechanisms:
 *   - an RCU-readable VMA tree (core/vma_tree.h),
 *   - per-VMA locks driven by mm_lock_seq (core/vma_lock.c),
 *   - mmap_region storing the VMA outside i_mmap_rwsem (core/mmap.c),
 *   - batched i_mmap unlink (core/unlink.c),
 *   - throttled call_rcu for freed VMAs (core/vma_free.c),
 *   - refcounted anonymous VMA names (core/anon_name.c).
 *
 * The lock ordering is documented once, at the top of core/mmap_lock.c.
 *
 * Everything synchronises through core/sync.h only; the small layer below
 * ("sync glue") gives the rest of the core kernel-flavoured names for it.
 */
#ifndef MMF_CORE_MM_H
#define MMF_CORE_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "mmfuzz/mm.h"
#include "objcache.h"
#include "sync.h"
#include "vma_tree.h"

/*
 * Symbol namespace: the core keeps the kernel's function names in its source
 * but links them as core_<name>, so that it coexists with the reference
 * (which uses the same kernel names) in one binary.
 */
#define anon_name_alloc              core_anon_name_alloc
#define anon_name_eq                 core_anon_name_eq
#define anon_name_get                core_anon_name_get
#define anon_name_put                core_anon_name_put
#define anon_name_refs               core_anon_name_refs
#define anon_vma_clone               core_anon_vma_clone
#define anon_vma_fork                core_anon_vma_fork
#define anon_vma_prepare             core_anon_vma_prepare
#define do_munmap                    core_do_munmap
#define exit_mmap                    core_exit_mmap
#define filemap_get_page             core_filemap_get_page
#define find_vma                     core_find_vma
#define find_vma_prev                core_find_vma_prev
#define get_unmapped_area            core_get_unmapped_area
#define i_mmap_insert                core_i_mmap_insert
#define i_mmap_lock_read             core_i_mmap_lock_read
#define i_mmap_lock_write            core_i_mmap_lock_write
#define i_mmap_insert_after          core_i_mmap_insert_after
#define i_mmap_remove                core_i_mmap_remove
#define i_mmap_unlock_read           core_i_mmap_unlock_read
#define i_mmap_unlock_write          core_i_mmap_unlock_write
#define lock_vma_under_rcu           core_lock_vma_under_rcu
#define madvise_walk_vmas            core_madvise_walk_vmas
#define mmap_assert_write_locked     core_mmap_assert_write_locked
#define mmap_read_lock               core_mmap_read_lock
#define mmap_read_unlock             core_mmap_read_unlock
#define mmap_write_lock              core_mmap_write_lock
#define mmap_write_unlock            core_mmap_write_unlock
#define move_page_tables             core_move_page_tables
#define page_alloc                   core_page_alloc
#define page_get                     core_page_get
#define page_put                     core_page_put
#define pte_index                    core_pte_index
#define pte_lookup                   core_pte_lookup
#define pte_set                      core_pte_set
#define split_vma                    core_split_vma
#define split_vma_nocheck            core_split_vma_nocheck
#define unlink_anon_vmas             core_unlink_anon_vmas
#define unlink_file_vma_batch_add    core_unlink_file_vma_batch_add
#define unlink_file_vma_batch_final  core_unlink_file_vma_batch_final
#define unlink_file_vma_batch_init   core_unlink_file_vma_batch_init
#define unmap_vmas_batch             core_unmap_vmas_batch
#define vm_area_alloc                core_vm_area_alloc
#define vm_area_dup                  core_vm_area_dup
#define vm_area_free                 core_vm_area_free
#define vm_area_free_many            core_vm_area_free_many
#define vm_area_free_drain           core_vm_area_free_drain
#define vma_end_read                 core_vma_end_read
#define vma_had_uncowed_parents      core_vma_had_uncowed_parents
#define vma_is_write_locked          core_vma_is_write_locked
#define vma_link_tree                core_vma_link_tree
#define vma_lock_init                core_vma_lock_init
#define vma_lookup                   core_vma_lookup
#define vma_mark_attached            core_vma_mark_attached
#define vma_mark_detached            core_vma_mark_detached
#define vma_merge_new_range          core_vma_merge_new_range
#define vma_modify                   core_vma_modify
#define vma_next_of                  core_vma_next_of
#define vma_prev_of                  core_vma_prev_of
#define vma_set_range                core_vma_set_range
#define vma_start_read               core_vma_start_read
#define vma_start_write              core_vma_start_write
#define vma_start_write_new          core_vma_start_write_new
#define vma_tree_remove              core_vma_tree_remove
#define zap_page_range               core_zap_page_range
#define zap_page_range_filter        core_zap_page_range_filter
#define unmap_page_range             core_unmap_page_range
#define guard_install_range          core_guard_install_range
#define guard_remove_range           core_guard_remove_range
#define populate_page                core_populate_page
#define populate_range               core_populate_range

/* ---- VMA flags (a private encoding of the kernel's vm_flags) ---------- */

#define VM_READ		0x0001u
#define VM_WRITE	0x0002u
#define VM_EXEC		0x0004u
#define VM_SHARED	0x0008u
#define VM_GROWSDOWN	0x0010u
#define VM_DONTCOPY	0x0020u
#define VM_WIPEONFORK	0x0040u
#define VM_ACCOUNT	0x0080u		/* private writable: committed memory */
#define VM_NORESERVE	0x0100u		/* MAP_NORESERVE: never accounted */
#define VM_RAND_READ	0x0200u		/* MADV_RANDOM */
#define VM_SEQ_READ	0x0400u		/* MADV_SEQUENTIAL */
#define VM_DONTDUMP	0x0800u		/* MADV_DONTDUMP */
#define VM_MERGEABLE	0x1000u		/* MADV_MERGEABLE (KSM) */
#define VM_HUGEPAGE	0x2000u		/* MADV_HUGEPAGE */
#define VM_NOHUGEPAGE	0x4000u		/* MADV_NOHUGEPAGE, MAP_STACK */
#define VM_DROPPABLE	0x8000u		/* MAP_DROPPABLE */
#define VM_LOCKED	0x10000u	/* MAP_LOCKED (mlock): kept populated */
/*
 * The execute-only protection key (x86 PKU, mmf_config.exec_only_pkey):
 * given by an mmap or mprotect of exactly PROT_EXEC, taken by any other
 * mprotect; loads and stores fault SEGV_PKUERR; it blocks merges and
 * anon_vma reuse with key-0 neighbours.  See reference/ref.h.
 */
#define VM_PKEY_XONLY	0x20000u
#define VM_SYNC		0x40000u	/* MAP_SYNC (kept unless refused) */

#define VM_PROT_MASK	(VM_READ | VM_WRITE | VM_EXEC)

struct mmf_world;
struct core_mm;
struct core_vma;
struct core_file;

/* ---- pages ---------------------------------------------------------------- */

/*
 * A page of memory: an anonymous page, a page-cache page, or the zero page.
 * Page tables and the page cache each hold a reference.
 */
struct core_page {
	mmf_atomic_t ref;
	uint64_t value;			/* mmf_read_once / mmf_write_once */
	bool anon;			/* anonymous (COW-able) page */
	bool dirty;			/* page cache: written since read in (pages_lock) */
	bool zero;			/* the shared zero page: never freed */
	/*
	 * The world's guard marker (MADV_GUARD_INSTALL), never freed: a PTE
	 * pointing to it is no page, and every access there is SIGSEGV.
	 * Zaps leave it; unmap, MADV_GUARD_REMOVE and exit remove it.
	 */
	bool guard;
};

/* A present page-table entry. */
struct core_pte {
	uint64_t vpn;			/* virtual page number */
	struct core_page *page;
};

/* ---- files (inode + address_space) ------------------------------------- */

struct core_file {
	int fid;			/* world handle, or -1 for a shmem object of shared anon */
	struct mmf_refcount ref;	/* handle + every VMA mapping it */
	struct mmf_world *w;

	/* page cache: sorted by index; protected by pages_lock */
	struct mmf_mutex pages_lock;
	uint64_t size;			/* i_size, bytes; written under pages_lock */
	struct core_fpage {
		uint64_t index;
		struct core_page *page;
	} *pages;
	size_t nr_pages, cap_pages;

	/* i_mmap: every VMA mapping this file, under i_mmap_rwsem */
	struct mmf_rwsem i_mmap_rwsem;
	struct core_vma *i_mmap;	/* doubly linked via vma->i_prev/i_next */
	unsigned long i_mmap_count;
};

/* ---- anon_vma ------------------------------------------------------------- */

/*
 * Only what merge decisions, fork and COW need: identity, the parent/root
 * hierarchy, and the counts anon_vma reuse at fork depends on.
 * Everything here is modified under the mmap write lock of some mm sharing
 * the root, so the root's lock serialises it.
 */
struct anon_vma {
	struct anon_vma *root, *parent;
	struct mmf_mutex *lock;		/* root->lock_storage */
	struct mmf_mutex lock_storage;
	unsigned long refcount;		/* self reference + children's root refs */
	unsigned long nr_vmas;		/* VMAs whose chain contains this anon_vma */
	unsigned long num_children;
	unsigned long num_active_vmas;	/* VMAs whose vma->anon_vma is this */
};

/* ---- anon names ----------------------------------------------------------- */

struct anon_name {
	struct mmf_refcount ref;
	char name[];
};

/* ---- VMAs ----------------------------------------------------------------- */

struct core_vma {
	uint64_t start, end;		/* [start, end) */
	uint64_t pgoff;
	uint32_t flags;			/* VM_* */
	/*
	 * VM_MAYBE_GUARD (reference/ref.h REF_VM_MAYBE_GUARD): guard markers
	 * may be in the page table, so fork copies it; merges ignore it and
	 * keep it if any part had it.  Kept out of flags because
	 * MADV_GUARD_INSTALL sets it under the mmap_lock for READ, beside
	 * faults reading flags: set with mmf_write_once there, read under
	 * the mmap_lock for write (fork, merge, split, mremap, clone).
	 */
	bool maybe_guard;
	struct core_mm *mm;
	struct core_file *file;		/* world file, shmem object, or NULL */
	struct anon_vma *anon_vma;
	struct anon_vma **chain;	/* anon_vma_chain: newest first, root last */
	unsigned int chain_len, chain_cap;
	struct anon_name *anon_name;

	/* per-VMA lock (core/vma_lock.c) */
	struct mmf_rwsem vm_lock;
	mmf_atomic_t vm_lock_seq;
	mmf_atomic_t vm_readers;	/* readers inside or entering vma_start_read */
	mmf_atomic_t detached;

	/* i_mmap linkage, under file->i_mmap_rwsem */
	struct core_vma *i_prev, *i_next;
	bool in_i_mmap;

	/* freeing (core/vma_free.c) */
	struct mmf_rcu_head rcu;
	struct core_vma *free_next;
};

static inline uint64_t vma_pages(const struct core_vma *v)
{
	return (v->end - v->start) >> MMF_PAGE_SHIFT;
}

static inline bool vma_is_anonymous(const struct core_vma *v)
{
	return v->file == NULL;
}

/* ---- address spaces --------------------------------------------------- */

struct core_mm {
	struct mmf_world *w;
	int pid;
	bool dead;				/* exited; under mmap_lock write */

	struct mmf_rwsem mmap_lock;
	mmf_atomic_t mm_lock_seq;		/* advanced by mmap_write_unlock */

	struct vma_tree mt;			/* the VMA tree */
	int map_count;

	/* page table, sorted by vpn, under page_table_lock */
	struct mmf_spinlock page_table_lock;
	struct core_pte *ptes;
	size_t nr_ptes, cap_ptes;

	/* throttled VMA freeing (core/vma_free.c) */
	struct mmf_spinlock free_lock;
	struct core_vma *free_list;
	unsigned int nr_free;

	struct core_mm *zombie_next;
};

/* ---- the world ---------------------------------------------------------- */

struct core_counters {
#define CORE_COUNTER_FIELD(name) mmf_atomic_long_t name;
	MMF_COUNTERS(CORE_COUNTER_FIELD)
#undef CORE_COUNTER_FIELD
};

struct mmf_world {
	struct mmf_config cfg;
	uint32_t max_map_count;
	struct mmf_mutex lock;			/* handle tables */
	struct core_mm *procs[MMF_MAX_PROCS];
	struct core_file *files[MMF_MAX_FILES];
	struct core_mm *zombies;		/* exited mms, freed with the world */
	struct core_counters cnt;
	struct core_page zero_page;
	struct core_page guard_marker;
	struct vma_tree_stats tree_stats;	/* shared by every mm's tree */
	unsigned int legacy;			/* CORE_LEGACY_* (bench only) */
	/*
	 * Where VMAs and tree nodes come from (core/objcache.h): freed
	 * objects go back only from their RCU callbacks, and the caches are
	 * destroyed with the world, after its last barrier.
	 */
	struct objcache vma_cache;
	struct objcache node_cache;		/* tree_stats.cache */
};

/*
 * Pre-patch behaviour of each mechanism, for bench/ only (set with
 * core_set_legacy before the first op; the fuzzers never set it, and each
 * costs one test of a bit on its path):
 *   UNLINK      one i_mmap_rwsem acquisition per unlinked file VMA
 *   I_MMAP_TREE mmap_region stores the VMA in the tree under i_mmap_rwsem
 *   NO_VMA_LOCK every fault takes mmap_lock (no lock_vma_under_rcu)
 *   RCU_PER_VMA one call_rcu per freed VMA
 *   NAME_COPY   every duplicated VMA copies its name (strdup)
 */
#define CORE_LEGACY_UNLINK	0x01u
#define CORE_LEGACY_I_MMAP_TREE	0x02u
#define CORE_LEGACY_NO_VMA_LOCK	0x04u
#define CORE_LEGACY_RCU_PER_VMA	0x08u
#define CORE_LEGACY_NAME_COPY	0x10u

void core_set_legacy(struct mmf_world *w, unsigned int bits);

#define core_count(w, name) mmf_atomic_long_inc(&(w)->cnt.name)

/* The pkey flag an mmap or mprotect asking for req_prot (raw) gives a VMA. */
static inline uint32_t exec_only_pkey_flag(const struct mmf_world *w, uint32_t req_prot)
{
	return w->cfg.exec_only_pkey && req_prot == PROT_EXEC ? VM_PKEY_XONLY : 0;
}

/* ---- tuning ----------------------------------------------------------------- */

#define CORE_UNLINK_BATCH	8	/* i_mmap unlink batch (core/unlink.c) */
#define CORE_FREE_BATCH		32	/* VMAs per call_rcu (core/vma_free.c) */

/* ---- core/mmap_lock.c ------------------------------------------------------ */

void mmap_read_lock(struct core_mm *mm);
void mmap_read_unlock(struct core_mm *mm);
void mmap_write_lock(struct core_mm *mm);
void mmap_write_unlock(struct core_mm *mm);
void mmap_assert_write_locked(struct core_mm *mm);

/* ---- core/vma_lock.c --------------------------------------------------------- */

void vma_lock_init(struct core_vma *vma);
void vma_start_write(struct core_vma *vma);
void vma_start_write_new(struct core_vma *vma);
bool vma_start_read(struct core_mm *mm, struct core_vma *vma);
void vma_end_read(struct core_vma *vma);
void vma_mark_attached(struct core_vma *vma);
void vma_mark_detached(struct core_vma *vma);
bool vma_is_write_locked(struct core_vma *vma);
struct core_vma *lock_vma_under_rcu(struct core_mm *mm, uint64_t addr);

/* ---- core/vma.c ---------------------------------------------------------------- */

struct core_vma *vm_area_alloc(struct core_mm *mm);
struct core_vma *vm_area_dup(struct core_vma *orig);
struct core_vma *find_vma(struct core_mm *mm, uint64_t addr);	/* first with end > addr */
struct core_vma *vma_lookup(struct core_mm *mm, uint64_t addr);	/* containing addr */
struct core_vma *vma_prev_of(struct core_mm *mm, struct core_vma *vma);
struct core_vma *vma_next_of(struct core_mm *mm, struct core_vma *vma);
struct core_vma *find_vma_prev(struct core_mm *mm, uint64_t addr, struct core_vma **prev);
void vma_link_tree(struct core_mm *mm, struct core_vma *vma);	/* insert, count */
void vma_tree_remove(struct core_mm *mm, struct core_vma *vma); /* erase, count */
void vma_set_range(struct core_mm *mm, struct core_vma *vma,
		   uint64_t start, uint64_t end, uint64_t pgoff);
int split_vma(struct core_mm *mm, struct core_vma *vma, uint64_t addr, bool new_below,
	      struct core_vma **newp);
int split_vma_nocheck(struct core_mm *mm, struct core_vma *vma, uint64_t addr,
		      bool new_below, struct core_vma **newp);

/* merging (vma_merge_new_range / vma_modify in the kernel) */
struct vma_merge_req {
	struct core_vma *prev, *next;	/* neighbours (may be NULL) */
	struct core_vma *middle;	/* existing VMA being modified, or NULL for a new range */
	uint64_t start, end, pgoff;
	uint32_t flags;
	struct core_file *file;
	struct anon_vma *anon_vma;
	struct anon_name *anon_name;
	struct core_vma *copied_from;	/* mremap's source: its anon_vma propagates */
	bool maybe_guard;		/* the range's VM_MAYBE_GUARD (sticky) */
};
struct core_vma *vma_merge_new_range(struct core_mm *mm, struct vma_merge_req *r);
/*
 * Change [start, end) of vma (which contains it) to flags/name: merge with a
 * neighbour when the kernel would, else split.  Returns the VMA now covering
 * exactly [start, end) with the new attributes, or an ERR value (negative
 * errno via *err).
 */
struct core_vma *vma_modify(struct core_mm *mm, struct core_vma *prev, struct core_vma *vma,
			    uint64_t start, uint64_t end, uint32_t flags,
			    struct anon_name *name, int *err);

/* ---- core/anon_vma.c ----------------------------------------------------------- */

int anon_vma_prepare(struct core_vma *vma);
int anon_vma_clone(struct core_vma *dst, struct core_vma *src);
int anon_vma_fork(struct core_vma *vma, struct core_vma *pvma);
void unlink_anon_vmas(struct core_vma *vma);
bool vma_had_uncowed_parents(const struct core_vma *vma);

/* ---- core/anon_name.c ---------------------------------------------------------- */

struct anon_name *anon_name_alloc(struct mmf_world *w, const char *name);
struct anon_name *anon_name_get(struct mmf_world *w, struct anon_name *n);	/* ref or copy */
void anon_name_put(struct anon_name *n);
bool anon_name_eq(const struct anon_name *a, const struct anon_name *b);
unsigned long anon_name_refs(const struct anon_name *n);
int core_set_anon_name(struct core_mm *mm, uint64_t addr, uint64_t len,
		       const char *name, bool clear);

/* ---- core/vma_free.c ------------------------------------------------------------ */

void vm_area_free(struct core_vma *vma);
void vm_area_free_many(struct core_mm *mm, struct core_vma **vmas, size_t n);
void vm_area_free_drain(struct core_mm *mm);

/* ---- core/unlink.c --------------------------------------------------------------- */

struct unlink_vma_file_batch {
	int count;
	struct core_vma *vmas[CORE_UNLINK_BATCH];
};
void unlink_file_vma_batch_init(struct unlink_vma_file_batch *vb);
void unlink_file_vma_batch_add(struct unlink_vma_file_batch *vb, struct core_vma *vma);
void unlink_file_vma_batch_final(struct unlink_vma_file_batch *vb);

/* ---- core/file.c -------------------------------------------------------------- */

struct core_file *core_file_new(struct mmf_world *w, int fid, uint64_t size);
void core_file_get(struct core_file *f);
void core_file_put(struct core_file *f);
void i_mmap_insert(struct core_file *f, struct core_vma *vma);	/* i_mmap_rwsem held */
void i_mmap_insert_after(struct core_file *f, struct core_vma *vma,
			 struct core_vma *prev);			/* i_mmap_rwsem held */
void i_mmap_remove(struct core_file *f, struct core_vma *vma);	/* i_mmap_rwsem held */
void i_mmap_lock_write(struct core_file *f);
void i_mmap_unlock_write(struct core_file *f);
void i_mmap_lock_read(struct core_file *f);
void i_mmap_unlock_read(struct core_file *f);
/* Find or (create && within EOF) create the page-cache page at index.
 * pages_lock held.  Returns a page with a reference taken for the caller, or NULL. */
struct core_page *filemap_get_page(struct core_file *f, uint64_t index, bool create);
int core_file_truncate(struct core_file *f, uint64_t size);
int64_t core_file_read(struct core_file *f, uint64_t index, uint64_t *value);
int64_t core_file_write(struct core_file *f, uint64_t index, uint64_t value);

/* ---- pages and page tables (core/fault.c) ---------------------------------------- */

struct core_page *page_alloc(struct mmf_world *w, bool anon, uint64_t value);
void page_get(struct core_page *p);
void page_put(struct core_page *p);
/* page_table_lock held */
size_t pte_index(struct core_mm *mm, uint64_t vpn);	/* first PTE at or above vpn */
struct core_pte *pte_lookup(struct core_mm *mm, uint64_t vpn);
void pte_set(struct core_mm *mm, uint64_t vpn, struct core_page *page);	/* takes over the ref */
/* Remove the PTEs of [start, end) but guard markers; returns how many. Takes page_table_lock. */
size_t zap_page_range(struct core_mm *mm, uint64_t start, uint64_t end);
/* Remove every PTE of [start, end), guard markers too (munmap, exit). */
void unmap_page_range(struct core_mm *mm, uint64_t start, uint64_t end);
/* MADV_GUARD_INSTALL / MADV_GUARD_REMOVE on [start, end). Take page_table_lock. */
void guard_install_range(struct core_mm *mm, uint64_t start, uint64_t end);
void guard_remove_range(struct core_mm *mm, uint64_t start, uint64_t end);
/* Move PTEs of [old, old+len) to new (mremap). Takes page_table_lock. */
void move_page_tables(struct core_mm *mm, uint64_t old, uint64_t new_addr, uint64_t len);
int populate_page(struct core_mm *mm, struct core_vma *vma, uint64_t addr, bool write);
/* Zap [start, end), keeping private anonymous pages if keep_anon. */
size_t zap_page_range_filter(struct core_mm *mm, uint64_t start, uint64_t end, bool keep_anon);
int core_file_punch_hole(struct core_file *f, uint64_t first, uint64_t end);
void core_file_pageout(struct core_mm *mm, struct core_vma *vma, uint64_t start, uint64_t end);
int core_fault(struct core_mm *mm, uint64_t addr, bool write, uint64_t value,
	       struct mmf_res *res);

/* ---- the operations -------------------------------------------------------------- */

int64_t core_mmap(struct core_mm *mm, const struct mmf_op *op);
int do_munmap(struct core_mm *mm, uint64_t start, uint64_t len);	/* mmap write lock held */
int64_t core_munmap(struct core_mm *mm, uint64_t addr, uint64_t len);
/* flags: MAP_FIXED, MAP_32BIT */
uint64_t get_unmapped_area(struct core_mm *mm, uint64_t hint, uint64_t len, uint32_t flags);
/* __mm_populate over [start, end): mmap_lock held */
void populate_range(struct core_mm *mm, uint64_t start, uint64_t end);
int64_t core_mprotect(struct core_mm *mm, uint64_t addr, uint64_t len, uint32_t prot);
int64_t core_mremap(struct core_mm *mm, const struct mmf_op *op);
typedef int (*madvise_visit_t)(struct core_mm *mm, struct core_vma *vma,
			       struct core_vma **prev, uint64_t start, uint64_t end,
			       void *arg);
int madvise_walk_vmas(struct core_mm *mm, uint64_t start, uint64_t end,
		      madvise_visit_t visit, void *arg);
int64_t core_madvise(struct core_mm *mm, uint64_t addr, uint64_t len, uint32_t advice);
int core_lookup_file(struct core_mm *mm, int fid, struct core_file **fp);
void core_fork_freeze_parent(struct core_mm *oldmm);
int core_dup_mm(struct core_mm *oldmm, struct core_mm *mm);
void exit_mmap(struct core_mm *mm);
void unmap_vmas_batch(struct core_mm *mm, struct core_vma **vmas, size_t n);

struct core_mm *core_mm_new(struct mmf_world *w, int pid);
int core_check(struct mmf_world *w, char *msg, size_t msglen);

#endif /* MMF_CORE_MM_H */
