/* SPDX-License-Identifier: MIT */
/*
 * mmfuzz/mm.h - the one API every implementation of the VMA model exposes.
 *
 * A *world* holds files and processes; each process owns an address space.
 * An implementation (the reference, the optimized core, the host kernel) is
 * an ops table, struct mmf_impl.  The differential engine, the fuzzers, the
 * tests and the benchmarks drive every implementation through this table
 * only: one executor runs an op on each and compares (cryptofuzz style).
 *
 * Units and conventions (fixed for every implementation):
 *  - Addresses and lengths are bytes in the *model* address space
 *    [0, MMF_TASK_SIZE).  Page size is MMF_PAGE_SIZE.  Lengths need not be
 *    page aligned (rounded up, as Linux does); start addresses must be.
 *  - prot, mmap flags, mremap flags and madvise advice use the Linux values
 *    from <sys/mman.h> (PROT_READ, MAP_SHARED, MREMAP_MAYMOVE, MADV_DONTNEED).
 *  - Every operation returns what Linux returns: a non-negative value
 *    (address, handle, byte count) or -errno.  Memory accesses report a
 *    signal instead (see struct mmf_res).
 *  - A page holds one 64-bit value: `write` stores it at the page's first
 *    byte, `read` returns it; a page never written reads as 0.
 *  - Processes and files are small integer handles.  The world starts with
 *    one process, p0, and no files.  fork and file creation take the lowest
 *    free slot, so every implementation numbers handles identically.
 *  - Bad arguments (unknown or dead handle, misaligned or overflowing range,
 *    absurd length) are -errno results, never crashes or assertions.
 *  - Every implementation is deterministic.
 */
#ifndef MMFUZZ_MM_H
#define MMFUZZ_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The model machine ------------------------------------------------ */

#define MMF_PAGE_SHIFT		12
#define MMF_PAGE_SIZE		(1ULL << MMF_PAGE_SHIFT)
#define MMF_PAGE_MASK		(~(MMF_PAGE_SIZE - 1))
#define MMF_PAGE_ALIGN(x)	(((x) + MMF_PAGE_SIZE - 1) & MMF_PAGE_MASK)

/* User address space [0, MMF_TASK_SIZE): 4 GiB keeps addresses readable. */
#define MMF_TASK_SIZE		0x100000000ULL
/* vm.mmap_min_addr: MAP_FIXED below it is -EPERM, hints below are ignored. */
#define MMF_MMAP_MIN_ADDR	0x10000ULL
/* Top-down placement searches downwards from here (the stack lives above). */
#define MMF_MMAP_BASE		0xf0000000ULL
/* stack_guard_gap: 256 pages, the kernel default. */
#define MMF_STACK_GUARD_GAP	(256ULL * MMF_PAGE_SIZE)
/* RLIMIT_STACK: a GROWSDOWN VMA may not grow beyond this size. */
#define MMF_STACK_LIMIT		(8ULL << 20)
/* vm.max_map_count default; struct mmf_config can change it. */
#define MMF_MAX_MAP_COUNT	65530
/* The one huge page size of the machine; no huge pages are reserved. */
#define MMF_HUGE_PAGE_SIZE	(2ULL << 20)
/* Largest file the model allows (bytes); bigger sizes are -EFBIG. */
#define MMF_MAX_FILE_SIZE	(1ULL << 32)

#define MMF_MAX_PROCS		8	/* fork beyond this is -EAGAIN */
#define MMF_MAX_FILES		8	/* file creation beyond this is -EMFILE */

/* ANON_VMA_NAME_MAX_LEN: 80 bytes including the terminating NUL. */
#define MMF_ANON_NAME_MAX	80
/* An op may carry a longer name so that the length rule can be tested. */
#define MMF_OP_NAME_MAX		127

/* ---- Operations ---------------------------------------------------------- */

enum mmf_op_kind {
	MMF_OP_FORK,		/* proc -> child handle */
	MMF_OP_EXIT,		/* proc -> 0 */
	MMF_OP_MMAP,		/* proc addr len prot flags [file pgoff] -> addr */
	MMF_OP_MUNMAP,		/* proc addr len -> 0 */
	MMF_OP_MPROTECT,	/* proc addr len prot -> 0 */
	MMF_OP_MREMAP,		/* proc addr len new_len flags [new_addr] -> addr */
	MMF_OP_MADVISE,		/* proc addr len advice -> 0 */
	MMF_OP_SET_NAME,	/* proc addr len name|NULL -> 0 (PR_SET_VMA_ANON_NAME) */
	MMF_OP_READ,		/* proc addr -> value, or a signal */
	MMF_OP_WRITE,		/* proc addr value -> 0, or a signal */
	MMF_OP_FILE_CREATE,	/* len (initial size) -> file handle (memfd_create + ftruncate) */
	MMF_OP_TRUNCATE,	/* file len -> 0 (ftruncate) */
	MMF_OP_FILE_READ,	/* file pgoff -> bytes read (8, or 0 past EOF); value */
	MMF_OP_FILE_WRITE,	/* file pgoff value -> 8 (pwrite; extends the file) */
	MMF_OP__COUNT
};

struct mmf_op {
	enum mmf_op_kind kind;
	int32_t proc;		/* process handle */
	int32_t file;		/* file handle: mmap of a file, TRUNCATE, FILE_* */
	uint64_t addr;		/* start address (mmap: hint or fixed address) */
	uint64_t len;		/* length in bytes; FILE_CREATE/TRUNCATE: file size */
	uint64_t new_len;	/* mremap */
	uint64_t new_addr;	/* mremap with MREMAP_FIXED */
	uint64_t pgoff;		/* mmap: file offset in pages; FILE_READ/WRITE: page index */
	uint64_t value;		/* WRITE, FILE_WRITE */
	uint32_t prot;		/* PROT_* */
	uint32_t flags;		/* MAP_* for mmap, MREMAP_* for mremap */
	uint32_t advice;	/* MADV_* */
	bool name_null;		/* SET_NAME: clear the name (NULL pointer) */
	char name[MMF_OP_NAME_MAX + 1];	/* SET_NAME: NUL-terminated */
};

/* The result of one operation. */
struct mmf_res {
	int64_t ret;		/* value, address, handle or byte count; or -errno */
	uint64_t value;		/* READ, FILE_READ: the value read */
	int32_t sig;		/* READ/WRITE: 0, SIGSEGV or SIGBUS (then ret = 0) */
	int32_t si_code;	/* SEGV_MAPERR, SEGV_ACCERR, SEGV_PKUERR, BUS_ADRERR */
};

/* ---- Snapshot: the canonical observable state ---------------------------- */

/* Flags of a snapshot VMA (these are what /proc/pid/maps and smaps show). */
#define MMF_VMA_SHARED		0x1u	/* MAP_SHARED ('s' in maps) */
#define MMF_VMA_GROWSDOWN	0x2u
#define MMF_VMA_DONTCOPY	0x4u	/* MADV_DONTFORK */
#define MMF_VMA_WIPEONFORK	0x8u

/* file values of a snapshot VMA that is not a mapping of a world file */
#define MMF_FILE_ANON		(-1)	/* private or shared anonymous */

/*
 * Every struct here is zero-filled before it is written (padding and the
 * unused tail of name included), so that two snapshots are equal exactly
 * when their bytes are.
 */
struct mmf_snap_vma {
	uint64_t start, end;
	uint64_t pgoff;		/* file VMAs and shared anon: offset in pages; private anon: 0 */
	uint32_t prot;		/* PROT_READ | PROT_WRITE | PROT_EXEC */
	uint32_t flags;		/* MMF_VMA_* */
	int32_t file;		/* file handle, or MMF_FILE_ANON */
	uint32_t has_name;
	char name[MMF_ANON_NAME_MAX];
};

/* A present page-table entry of a process, and the value a read returns. */
struct mmf_snap_page {
	uint64_t addr;
	uint64_t value;
};

/* A page in a file's page cache. */
struct mmf_snap_fpage {
	uint64_t index;
	uint64_t value;
};

struct mmf_snap_proc {
	int32_t pid;
	uint32_t nr_vmas, nr_pages;
	struct mmf_snap_vma *vmas;	/* ascending start */
	struct mmf_snap_page *pages;	/* ascending addr */
	uint32_t cap_vmas, cap_pages;	/* allocated (the builders' business) */
};

struct mmf_snap_file {
	int32_t fid;
	uint32_t nr_pages;
	uint64_t size;			/* bytes */
	struct mmf_snap_fpage *pages;	/* ascending index */
	uint32_t cap_pages;
};

struct mmf_snap {
	uint32_t nr_procs, nr_files;	/* live processes / files, ascending handle */
	struct mmf_snap_proc *procs;
	struct mmf_snap_file *files;
	uint32_t cap_procs, cap_files;	/* entries allocated, zeroed when new */
};

/* Builders an implementation uses to fill a snapshot (lib/snapshot.c). */
void mmf_snap_init(struct mmf_snap *s);
void mmf_snap_free(struct mmf_snap *s);
/* Empty s for the next fill, keeping its buffers (the engine refills one
 * snapshot per implementation at every snapshot point of a run). */
void mmf_snap_reset(struct mmf_snap *s);
struct mmf_snap_proc *mmf_snap_add_proc(struct mmf_snap *s, int pid);
struct mmf_snap_vma *mmf_snap_add_vma(struct mmf_snap_proc *p);	/* zeroed */
void mmf_snap_add_page(struct mmf_snap_proc *p, uint64_t addr, uint64_t value);
struct mmf_snap_file *mmf_snap_add_file(struct mmf_snap *s, int fid, uint64_t size);
void mmf_snap_add_fpage(struct mmf_snap_file *f, uint64_t index, uint64_t value);

/* true when equal; otherwise writes the first difference to why (if non-NULL). */
bool mmf_snap_equal(const struct mmf_snap *a, const struct mmf_snap *b,
		    char *why, size_t whylen);
/* A /proc/pid/maps-like listing, then resident pages, then files. */
void mmf_snap_print(FILE *out, const struct mmf_snap *s);
/* 64-bit hash of the canonical bytes. */
uint64_t mmf_snap_hash(const struct mmf_snap *s);

/* ---- Counters ------------------------------------------------------------ */

/*
 * The same names in every implementation; an implementation that has no
 * such mechanism leaves the counter at 0.  X-macro so that printing and
 * comparing never miss one.
 */
#define MMF_COUNTERS(X)					\
	X(i_mmap_lock)		/* i_mmap_rwsem acquisitions (read or write) */	\
	X(mmap_lock_read)	/* mmap_lock taken for read */			\
	X(mmap_lock_write)	/* mmap_lock taken for write */			\
	X(vma_lock_hit)		/* fault handled under the per-VMA lock */	\
	X(vma_lock_miss)	/* per-VMA lock attempt failed (write-locked, detached, moved) */ \
	X(vma_lock_fallback)	/* fault retried under mmap_lock */		\
	X(call_rcu)		/* call_rcu() invocations */			\
	X(name_alloc)		/* anon names allocated */			\
	X(name_copy)		/* anon names copied (saturation or no refcounting) */ \
	X(vma_alloc)							\
	X(vma_free)							\
	X(tree_node_alloc)						\
	X(tree_node_free)

struct mmf_counters {
#define MMF_COUNTER_FIELD(name) uint64_t name;
	MMF_COUNTERS(MMF_COUNTER_FIELD)
#undef MMF_COUNTER_FIELD
};

void mmf_counters_print(FILE *out, const struct mmf_counters *c);

/* ---- Implementations ----------------------------------------------------- */

struct mmf_config {
	uint32_t max_map_count;		/* 0: MMF_MAX_MAP_COUNT */
	bool check_invariants;		/* run impl->check after every op */
	/*
	 * Model a host booted without the shared zero page (pvm_no_zero_page=1):
	 * a read fault on private anonymous memory allocates a private page and
	 * the VMA's anon_vma, as a write would.  false (default) is upstream Linux.
	 * Honoured by the reference, for comparing it with such a host kernel.
	 */
	bool no_zero_page;
	/*
	 * Model an x86 host with protection keys (cpu flags pku + ospke): a
	 * VMA whose prot is exactly PROT_EXEC gets the process's execute-only
	 * pkey, every load or store there is SIGSEGV/SEGV_PKUERR, and the key
	 * (a hidden vm_flag) blocks merges and anon_vma reuse with key-0
	 * neighbours.  false (default): PROT_EXEC implies readable, as on x86
	 * without PKU.  Honoured by the reference and the core.
	 */
	bool exec_only_pkey;
	/*
	 * The world is driven from one thread only (the single-threaded fuzz
	 * targets): an implementation may then do deferred work, such as RCU
	 * callbacks, synchronously, so that every run of an input takes the
	 * same path (AFL++ stability).  Honoured by the core.
	 */
	bool single_threaded;
};

struct mmf_world;

struct mmf_impl {
	const char *name;
	struct mmf_world *(*world_new)(const struct mmf_config *cfg);	/* cfg may be NULL */
	void (*world_free)(struct mmf_world *w);
	/* Run one op.  Thread-safe: several threads may call exec on one world. */
	void (*exec)(struct mmf_world *w, const struct mmf_op *op, struct mmf_res *res);
	/* Fill an initialised (mmf_snap_init) snapshot; not concurrent with exec. */
	void (*snapshot)(struct mmf_world *w, struct mmf_snap *snap);
	void (*counters)(struct mmf_world *w, struct mmf_counters *c);
	/* Invariant checker (NULL if none): 0 if sound, else -1 and a message. */
	int (*check)(struct mmf_world *w, char *msg, size_t msglen);
	/* Deep copy, for the linearizability search (NULL if unsupported). */
	struct mmf_world *(*clone)(struct mmf_world *w);
	/*
	 * A hash of the complete state: equal hashes => the same behaviour of
	 * every future op (same results, same snapshots), up to hash
	 * collisions.  Unlike mmf_snap_hash it covers hidden state (anon_vma
	 * identities, hidden VMA flags, zero-page PTEs ...), and it ignores
	 * what no op can observe (counters, the raw numbering of identities).
	 * The linearizability search memoizes on it.  NULL if unsupported;
	 * not concurrent with exec.
	 */
	uint64_t (*state_hash)(struct mmf_world *w);
	/*
	 * exec may answer MMF_RES_SKIPPED (diff/diff.h: "not checkable here",
	 * the host kernel backend): the differential engine runs such an
	 * implementation first, and hashes the others' state before the op
	 * only when one of them skipped it.
	 */
	bool may_skip;
};

extern const struct mmf_impl mmf_reference;

/* The ABI facts both implementations share (lib/abi.c): */
/* the madvise advice values the machine knows */
bool mmf_advice_known(uint32_t advice);
/* the advice applied under mmap_lock read, page by page beside faults */
bool mmf_advice_walks_pages(uint32_t advice);
/* the huge page size MAP_HUGETLB flags ask for, or 0 if the machine has none such */
uint64_t mmf_huge_page_size(uint32_t map_flags);

/* Name of an op kind as the text form spells it ("mmap", "fork", ...). */
const char *mmf_op_name(enum mmf_op_kind kind);
/* "rw-", "r-x", "---" ... into a 4-byte buffer. */
const char *mmf_prot_str(uint32_t prot, char buf[4]);
/*
 * Format a result the way `mmfuzz run` prints it ("0x10000", "-ENOMEM",
 * "SIGSEGV/MAPERR", "SIGSEGV/PKUERR").
 */
const char *mmf_res_str(enum mmf_op_kind kind, const struct mmf_res *r, char *buf, size_t len);
/* "ENOMEM" for 12; NULL if unknown. */
const char *mmf_errno_name(int err);

#ifdef __cplusplus
}
#endif

#endif /* MMFUZZ_MM_H */
