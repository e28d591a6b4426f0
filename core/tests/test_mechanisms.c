/* SPDX-License-Identifier: MIT */
/*
 * core/tests/test_mechanisms.c - the core's own mechanisms, proved by exact
 * counter values (struct mmf_counters deltas around the operation under
 * test; see "The mechanisms the core models" in the design):
 *
 *   unlink   batched i_mmap unlink: a run of N VMAs of one file is removed
 *            under ceil(N / CORE_UNLINK_BATCH) i_mmap_rwsem acquisitions;
 *            the batch flushes when the file changes; anonymous VMAs do not
 *            interrupt it
 *   free     throttled call_rcu: exit of 1000 VMAs is ceil(1000/32) = 32
 *            call_rcu calls; every VMA allocated is freed, nothing is left
 *            on the free list (mmf_core.check)
 *   names    fork of 65,536 VMAs sharing one anon name takes references:
 *            zero name copies, one name allocation (the set_name call)
 *   vmalock  a fault succeeds under the per-VMA lock while another thread
 *            holds mmap_lock (read, or write without write-locking that
 *            VMA); it falls back (and waits) while the VMA is write-locked;
 *            an anonymous VMA without anon_vma always falls back
 *
 * Built a second time against a core whose name refcount saturates at
 * CORE_NAME_REF_MAX = 4 (ctest core.name_saturation), the program runs only
 * test_name_saturation: past the limit a VMA gets a private copy (counted
 * as name_copy), so the "0 copies" above is a real measurement.
 *
 * The per-VMA lock tests use the core's internal API (core/mm.h) to hold
 * mmap_lock / write-lock a VMA in a second thread; they synchronise with
 * barriers and with the counters themselves, never with sleeps.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "mm.h"
#include "t.h"

extern const struct mmf_impl mmf_core;

#define PAGE	MMF_PAGE_SIZE
#define BASE	0x10000000ULL

/* the name refcount limit the core under test was built with (0: default) */
#ifndef CORE_NAME_REF_MAX
#define CORE_NAME_REF_MAX 0
#endif

/* ---- helpers ------------------------------------------------------------------ */

static struct mmf_counters cnt(struct mmf_world *w)
{
	struct mmf_counters c;

	memset(&c, 0, sizeof(c));
	mmf_core.counters(w, &c);
	return c;
}

#define D(field) ((long long)(c1.field - c0.field))

static struct mmf_res x_exec(struct mmf_world *w, const struct mmf_op *op)
{
	struct mmf_res r;

	memset(&r, 0, sizeof(r));
	mmf_core.exec(w, op, &r);
	return r;
}

static int64_t x_mmap(struct mmf_world *w, int proc, uint64_t addr, uint64_t len,
		      uint32_t prot, uint32_t flags, int file, uint64_t pgoff)
{
	struct mmf_op op = { .kind = MMF_OP_MMAP, .proc = proc, .addr = addr, .len = len,
			     .prot = prot, .flags = flags, .file = file, .pgoff = pgoff };

	if (file < 0)
		op.flags |= MAP_ANONYMOUS;
	return x_exec(w, &op).ret;
}

static int64_t x_simple(struct mmf_world *w, enum mmf_op_kind kind, int proc, uint64_t addr,
			uint64_t len)
{
	struct mmf_op op = { .kind = kind, .proc = proc, .addr = addr, .len = len };

	return x_exec(w, &op).ret;
}

static int64_t x_file_create(struct mmf_world *w, uint64_t size)
{
	struct mmf_op op = { .kind = MMF_OP_FILE_CREATE, .len = size };

	return x_exec(w, &op).ret;
}

static struct mmf_res x_access(struct mmf_world *w, int proc, uint64_t addr, bool write,
			       uint64_t value)
{
	struct mmf_op op = { .kind = write ? MMF_OP_WRITE : MMF_OP_READ, .proc = proc,
			     .addr = addr, .value = value };

	return x_exec(w, &op);
}

static int x_set_name(struct mmf_world *w, int proc, uint64_t addr, uint64_t len,
		      const char *name)
{
	struct mmf_op op = { .kind = MMF_OP_SET_NAME, .proc = proc, .addr = addr, .len = len };

	snprintf(op.name, sizeof(op.name), "%s", name);
	return (int)x_exec(w, &op).ret;
}

static void check_world(struct mmf_world *w, const char *what)
{
	char msg[512];

	msg[0] = '\0';
	CHECK(mmf_core.check(w, msg, sizeof(msg)) == 0, "%s: invariant: %s", what, msg);
}

static struct mmf_world *new_world(uint32_t max_map_count)
{
	struct mmf_config cfg = { .max_map_count = max_map_count };

	return mmf_core.world_new(&cfg);
}

/* ---- 1a. batched i_mmap unlink ------------------------------------------------------ */

/*
 * Map n one-page VMAs of files[i % nfiles] (nfiles >= 1) side by side at BASE,
 * alternating r-x / r-- so that neighbours never merge, then munmap all of
 * them with ONE munmap and return the i_mmap_lock acquisitions it took.
 * anon_every: every anon_every-th slot is anonymous instead (0: never).
 */
static long long unlink_run(const char *what, int n, const int *pattern, int npattern,
			    bool same_prot_gapped_pgoff)
{
	struct mmf_world *w = new_world(0);
	struct mmf_counters c0, c1;
	int files[2], i;
	long long acq;

	files[0] = (int)x_file_create(w, 64 * PAGE);
	files[1] = (int)x_file_create(w, 64 * PAGE);
	for (i = 0; i < n; i++) {
		int which = pattern[i % npattern];	/* 0, 1: file; -1: anonymous */
		uint32_t prot = same_prot_gapped_pgoff ? PROT_READ
						       : (i % 2 ? PROT_READ : PROT_READ | PROT_EXEC);
		/* gapped pgoffs (2i) never continue each other: no merge */
		uint64_t pgoff = same_prot_gapped_pgoff ? 2 * (uint64_t)i : (uint64_t)i;
		int64_t r = x_mmap(w, 0, BASE + i * PAGE, PAGE, prot, MAP_PRIVATE | MAP_FIXED,
				   which < 0 ? -1 : files[which], which < 0 ? 0 : pgoff);

		EXPECT(r == (int64_t)(BASE + i * PAGE), "%s: mmap %d = %lld", what, i,
		       (long long)r);
	}
	CHECK(w->procs[0]->map_count == n, "%s: %d separate VMAs (got %d)", what, n,
	      w->procs[0]->map_count);
	c0 = cnt(w);
	CHECK(x_simple(w, MMF_OP_MUNMAP, 0, BASE, n * PAGE) == 0, "%s: munmap", what);
	c1 = cnt(w);
	acq = D(i_mmap_lock);
	CHECK(D(vma_free) == n, "%s: %d VMAs freed (got %lld)", what, n, D(vma_free));
	CHECK(w->procs[0]->map_count == 0, "%s: nothing left mapped", what);
	CHECK(w->files[files[0]]->i_mmap_count == 0 && w->files[files[1]]->i_mmap_count == 0,
	      "%s: i_mmap empty", what);
	check_world(w, what);
	mmf_core.world_free(w);
	return acq;
}

static void test_unlink_batch(void)
{
	static const int one[] = { 0 };
	static const int alt[] = { 0, 1 };
	static const int pairs[] = { 0, 0, 1, 1 };
	static const int with_anon[] = { 0, -1 };
	long long a;

	/* the upstream example: 5 segments of one library, one acquisition */
	a = unlink_run("5 VMAs, one file, alternating prot", 5, one, 1, false);
	CHECK(a == 1, "5 VMAs of one file: 1 i_mmap_lock acquisition (got %lld)", a);
	a = unlink_run("5 VMAs, one file, gapped pgoff", 5, one, 1, true);
	CHECK(a == 1, "5 VMAs of one file (same prot, pgoff gaps): 1 acquisition (got %lld)", a);
	a = unlink_run("8 VMAs", 8, one, 1, false);
	CHECK(a == 1, "8 VMAs (a full batch): 1 acquisition (got %lld)", a);
	a = unlink_run("9 VMAs", 9, one, 1, false);
	CHECK(a == 2, "9 VMAs: 2 acquisitions, batch of %d (got %lld)", CORE_UNLINK_BATCH, a);
	a = unlink_run("16 VMAs", 16, one, 1, false);
	CHECK(a == 2, "16 VMAs: 2 acquisitions (got %lld)", a);
	a = unlink_run("17 VMAs", 17, one, 1, false);
	CHECK(a == 3, "17 VMAs: 3 acquisitions (got %lld)", a);
	/* the file changes at every VMA: every VMA is its own flush */
	a = unlink_run("5 VMAs, f0 f1 f0 f1 f0", 5, alt, 2, false);
	CHECK(a == 5, "f0 f1 f0 f1 f0: 5 acquisitions (got %lld)", a);
	a = unlink_run("6 VMAs, f0 f0 f1 f1 f0 f0", 6, pairs, 4, false);
	CHECK(a == 3, "f0 f0 f1 f1 f0 f0: 3 acquisitions (got %lld)", a);
	/* anonymous VMAs between the file VMAs do not break the batch */
	a = unlink_run("9 VMAs, f0 anon f0 anon ...", 9, with_anon, 2, false);
	CHECK(a == 1, "f0 anon f0 anon f0 anon f0 anon f0: 1 acquisition (got %lld)", a);
}

/* ---- 1b. throttled call_rcu on exit --------------------------------------------------- */

static void test_exit_call_rcu(void)
{
	const int n = 1000;
	struct mmf_world *w = new_world(0);
	struct mmf_counters c0, c1;
	long tree_rcu0, tree_rcu1;
	int i;

	for (i = 0; i < n; i++) {
		int64_t r = x_mmap(w, 0, BASE + i * PAGE, PAGE,
				   i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_FIXED, -1, 0);

		EXPECT(r == (int64_t)(BASE + i * PAGE), "mmap %d = %lld", i, (long long)r);
	}
	c0 = cnt(w);
	CHECK(w->procs[0]->map_count == n, "1000 separate VMAs (got %d)", w->procs[0]->map_count);
	CHECK(c0.vma_alloc == (uint64_t)n && c0.vma_free == 0 && c0.call_rcu == 0,
	      "before exit: %llu allocated, %llu freed, %llu call_rcu",
	      (unsigned long long)c0.vma_alloc, (unsigned long long)c0.vma_free,
	      (unsigned long long)c0.call_rcu);
	tree_rcu0 = mmf_atomic_long_read(&w->tree_stats.rcu_calls);

	CHECK(x_simple(w, MMF_OP_EXIT, 0, 0, 0) == 0, "exit p0");
	c1 = cnt(w);
	tree_rcu1 = mmf_atomic_long_read(&w->tree_stats.rcu_calls);
	/*
	 * 1000 VMAs freed: 31 full batches of 32 (992) go to call_rcu from
	 * vm_area_free, the last 8 from exit_mmap's drain: 32 calls.
	 * The tree retires its replaced nodes with call_rcu too, but counts
	 * those in vma_tree_stats.rcu_calls, not in mmf_counters.call_rcu:
	 * exit erases every VMA in ONE tree transaction, so exactly one
	 * call_rcu retires the whole old tree.
	 */
	CHECK(D(call_rcu) == 32, "exit of 1000 VMAs: ceil(1000/32) = 32 call_rcu (got %lld)",
	      D(call_rcu));
	CHECK(tree_rcu1 - tree_rcu0 == 1, "exit: one tree call_rcu (got %ld)",
	      tree_rcu1 - tree_rcu0);
	CHECK(D(vma_free) == n && c1.vma_free == c1.vma_alloc,
	      "vma_free == vma_alloc after exit (%llu, %llu)",
	      (unsigned long long)c1.vma_free, (unsigned long long)c1.vma_alloc);
	CHECK(D(vma_alloc) == 0, "exit allocates no VMA (got %lld)", D(vma_alloc));
	CHECK(D(mmap_lock_write) == 1, "exit: one mmap_lock write acquisition (got %lld)",
	      D(mmap_lock_write));
	/* the zombie mm: nothing on the free list, no VMA, no PTE */
	check_world(w, "after exit of 1000 VMAs");

	/* 31 batches of 32 + 1 of 8, and nothing more for a process of 31*32 */
	mmf_core.world_free(w);

	/* exactly a multiple of 32: no drain call_rcu */
	w = new_world(0);
	for (i = 0; i < 64; i++)
		x_mmap(w, 0, BASE + i * PAGE, PAGE, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED, -1, 0);
	c0 = cnt(w);
	CHECK(x_simple(w, MMF_OP_EXIT, 0, 0, 0) == 0, "exit p0 (64 VMAs)");
	c1 = cnt(w);
	CHECK(D(call_rcu) == 2 && D(vma_free) == 64,
	      "exit of 64 VMAs: 2 call_rcu, 64 freed (got %lld, %lld)", D(call_rcu), D(vma_free));
	check_world(w, "after exit of 64 VMAs");
	mmf_core.world_free(w);

	/* munmap of 31 leaves them queued; the 32nd free hands the batch over */
	w = new_world(0);
	for (i = 0; i < 40; i++)
		x_mmap(w, 0, BASE + i * PAGE, PAGE, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED, -1, 0);
	c0 = cnt(w);
	x_simple(w, MMF_OP_MUNMAP, 0, BASE, 31 * PAGE);
	c1 = cnt(w);
	CHECK(D(call_rcu) == 0 && D(vma_free) == 31 && w->procs[0]->nr_free == 31,
	      "munmap of 31: queued, no call_rcu (got %lld call_rcu, %u queued)", D(call_rcu),
	      w->procs[0]->nr_free);
	x_simple(w, MMF_OP_MUNMAP, 0, BASE + 31 * PAGE, PAGE);
	c1 = cnt(w);
	CHECK(D(call_rcu) == 1 && w->procs[0]->nr_free == 0,
	      "32nd free: one call_rcu, list empty (got %lld, %u queued)", D(call_rcu),
	      w->procs[0]->nr_free);
	c0 = cnt(w);
	x_simple(w, MMF_OP_EXIT, 0, 0, 0);
	c1 = cnt(w);
	CHECK(D(call_rcu) == 1 && D(vma_free) == 8, "exit of the last 8: 1 call_rcu (got %lld)",
	      D(call_rcu));
	check_world(w, "after munmap + exit");
	mmf_core.world_free(w);
}

/* ---- 1c. fork of 64K named VMAs ---------------------------------------------------------- */

static void test_fork_names(void)
{
	const int n = 65536;
	struct mmf_world *w = new_world(4 * n);
	struct mmf_counters c0, c1;
	struct core_vma *pv, *cv;
	int64_t child;
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		int64_t r = x_mmap(w, 0, BASE + (uint64_t)i * PAGE, PAGE,
				   i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_FIXED, -1, 0);

		if (r != (int64_t)(BASE + (uint64_t)i * PAGE) && !bad++)
			EXPECT(0, "mmap %d = %lld", i, (long long)r);
	}
	CHECK(w->procs[0]->map_count == n, "%d separate VMAs (got %d)", n,
	      w->procs[0]->map_count);

	c0 = cnt(w);
	CHECK(x_set_name(w, 0, BASE, (uint64_t)n * PAGE, "libfoo-heap") == 0, "set_name");
	c1 = cnt(w);
	CHECK(D(name_alloc) == 1, "one set_name over %d VMAs: 1 name_alloc (got %lld)", n,
	      D(name_alloc));
	CHECK(D(name_copy) == 0, "set_name: 0 name copies (got %lld)", D(name_copy));
	CHECK(w->procs[0]->map_count == n, "names did not merge alternating VMAs (%d)",
	      w->procs[0]->map_count);
	pv = vma_lookup(w->procs[0], BASE);
	CHECK(pv && pv->anon_name && anon_name_refs(pv->anon_name) == (unsigned long)n,
	      "one name object, %d references (got %lu)", n,
	      pv && pv->anon_name ? anon_name_refs(pv->anon_name) : 0);

	c0 = cnt(w);
	child = x_simple(w, MMF_OP_FORK, 0, 0, 0);
	c1 = cnt(w);
	CHECK(child == 1, "fork = p1 (got %lld)", (long long)child);
	CHECK(D(name_copy) == 0, "fork of %d named VMAs: 0 name copies (got %lld)", n,
	      D(name_copy));
	CHECK(D(name_alloc) == 0, "fork: 0 name allocations (got %lld)", D(name_alloc));
	CHECK(D(vma_alloc) == n, "fork: %d VMAs duplicated (got %lld)", n, D(vma_alloc));
	if (child == 1) {
		cv = vma_lookup(w->procs[1], BASE + (uint64_t)(n - 1) * PAGE);
		CHECK(cv && pv && cv->anon_name == pv->anon_name,
		      "the child's VMAs hold the parent's name object");
		CHECK(pv && anon_name_refs(pv->anon_name) == 2 * (unsigned long)n,
		      "%d references after fork (got %lu)", 2 * n,
		      pv ? anon_name_refs(pv->anon_name) : 0);
		CHECK(w->procs[1]->map_count == n, "child has %d VMAs", n);
	}
	check_world(w, "after fork of named VMAs");

	/* renaming drops the old references and allocates one new name */
	c0 = cnt(w);
	CHECK(x_set_name(w, 1, BASE, (uint64_t)n * PAGE, "renamed") == 0, "rename in child");
	c1 = cnt(w);
	CHECK(D(name_alloc) == 1 && D(name_copy) == 0, "rename: 1 alloc, 0 copies (got %lld, %lld)",
	      D(name_alloc), D(name_copy));
	CHECK(pv && anon_name_refs(pv->anon_name) == (unsigned long)n,
	      "parent's name back to %d references (got %lu)", n,
	      pv ? anon_name_refs(pv->anon_name) : 0);
	check_world(w, "after rename");
	mmf_core.world_free(w);
}

/*
 * Saturation (core built with CORE_NAME_REF_MAX = 4): set_name holds one
 * reference while it walks, so the first 3 VMAs share the name (4 refs)
 * and each of the other 7 gets a private copy (refcount 1).  Fork: the 3
 * sharing VMAs are back at 3 refs once set_name dropped its own, so one
 * child VMA takes the 4th and the other two copy; each of the 7 copies
 * goes from 1 to 2 references.
 */
static void test_name_saturation(void)
{
	const int n = 10;
	struct mmf_world *w = new_world(0);
	struct mmf_counters c0, c1;
	struct core_vma *v0, *v3;
	int i;

	for (i = 0; i < n; i++)
		x_mmap(w, 0, BASE + i * PAGE, PAGE, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED, -1, 0);
	c0 = cnt(w);
	CHECK(x_set_name(w, 0, BASE, n * PAGE, "sat") == 0, "set_name");
	c1 = cnt(w);
	CHECK(D(name_alloc) == 1 && D(name_copy) == 7,
	      "saturating at 4: 1 alloc, 7 copies (got %lld, %lld)", D(name_alloc), D(name_copy));
	CHECK(w->procs[0]->map_count == n, "copies with equal names did not merge alternating VMAs");
	v0 = vma_lookup(w->procs[0], BASE);
	v3 = vma_lookup(w->procs[0], BASE + 3 * PAGE);
	CHECK(v0 && v3 && v0->anon_name != v3->anon_name && anon_name_eq(v0->anon_name, v3->anon_name),
	      "the 4th VMA holds an equal copy");
	CHECK(v0 && anon_name_refs(v0->anon_name) == 3, "shared name: 3 refs (got %lu)",
	      v0 ? anon_name_refs(v0->anon_name) : 0);
	c0 = cnt(w);
	CHECK(x_simple(w, MMF_OP_FORK, 0, 0, 0) == 1, "fork");
	c1 = cnt(w);
	CHECK(D(name_copy) == 2 && D(name_alloc) == 0, "fork: 2 copies, 0 allocs (got %lld, %lld)",
	      D(name_copy), D(name_alloc));
	CHECK(v3 && anon_name_refs(v3->anon_name) == 2, "a copy shared with the child: 2 refs");
	check_world(w, "name saturation");
	mmf_core.world_free(w);
}

/* ---- 1d-f. per-VMA locks ------------------------------------------------------------------- */

enum holder_mode {
	HOLD_READ,		/* mmap_read_lock */
	HOLD_WRITE,		/* mmap_write_lock, the VMA not write-locked */
	HOLD_WRITE_VMA,		/* mmap_write_lock + vma_start_write(vma) */
};

struct holder {
	struct mmf_world *w;
	struct core_mm *mm;
	uint64_t addr;
	enum holder_mode mode;
	pthread_barrier_t locked;	/* B holds its locks */
	pthread_barrier_t done;		/* A has measured (HOLD_READ, HOLD_WRITE) */
	uint64_t fallback_before;	/* HOLD_WRITE_VMA: wait for fallback past this */
	int fault_done;			/* A's fault returned (atomic) */
	int saw_blocked;		/* B: A counted the fallback but had not finished */
	int wait_failed;
};

/* Thread B: hold mmap_lock (and maybe the VMA's write lock). */
static void *holder_thread(void *arg)
{
	struct holder *h = arg;
	struct core_vma *vma;

	if (h->mode == HOLD_READ) {
		mmap_read_lock(h->mm);
	} else {
		mmap_write_lock(h->mm);
		if (h->mode == HOLD_WRITE_VMA) {
			vma = vma_lookup(h->mm, h->addr);
			vma_start_write(vma);
		}
	}
	pthread_barrier_wait(&h->locked);
	if (h->mode == HOLD_WRITE_VMA) {
		/*
		 * A's fault must miss the per-VMA lock, count the fallback and
		 * then block on mmap_lock, which we hold: wait for the counter
		 * (the event itself, not a time), then A cannot have finished.
		 * The deadline only turns a broken core into a failure instead
		 * of a hang.
		 */
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while ((uint64_t)mmf_atomic_long_read(&h->w->cnt.vma_lock_fallback) ==
		       h->fallback_before) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 60) {
				h->wait_failed = 1;
				break;
			}
			sched_yield();
		}
		h->saw_blocked = !__atomic_load_n(&h->fault_done, __ATOMIC_ACQUIRE);
	} else {
		pthread_barrier_wait(&h->done);
	}
	if (h->mode == HOLD_READ)
		mmap_read_unlock(h->mm);
	else
		mmap_write_unlock(h->mm);
	return NULL;
}

struct fault_arg {
	struct holder *h;
	struct mmf_res res;
	bool write;
	uint64_t value;
};

static void *fault_thread(void *arg)
{
	struct fault_arg *f = arg;

	f->res = x_access(f->h->w, 0, f->h->addr, f->write, f->value);
	__atomic_store_n(&f->h->fault_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A world with p0 mapping one anonymous rw- VMA at BASE, written (anon_vma). */
static struct mmf_world *vma_lock_world(bool with_anon_vma)
{
	struct mmf_world *w = new_world(0);

	x_mmap(w, 0, BASE, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, -1, 0);
	if (with_anon_vma)
		x_access(w, 0, BASE, true, 0x1234);
	return w;
}

static void test_fault_under_vma_lock(enum holder_mode mode, const char *what)
{
	struct mmf_world *w = vma_lock_world(true);
	struct holder h = { .w = w, .mm = w->procs[0], .addr = BASE + PAGE, .mode = mode };
	struct mmf_counters c0, c1;
	struct mmf_res r;
	pthread_t b;

	CHECK(h.mm && vma_lookup(h.mm, BASE)->anon_vma, "%s: the VMA has an anon_vma", what);
	pthread_barrier_init(&h.locked, NULL, 2);
	pthread_barrier_init(&h.done, NULL, 2);
	pthread_create(&b, NULL, holder_thread, &h);
	pthread_barrier_wait(&h.locked);	/* B holds mmap_lock now */

	/* thread A (this one): a read and a write while B holds mmap_lock */
	c0 = cnt(w);
	r = x_access(w, 0, BASE, false, 0);
	c1 = cnt(w);
	CHECK(r.sig == 0 && r.ret == 0 && r.value == 0x1234, "%s: read = 0x%llx sig %d", what,
	      (unsigned long long)r.value, r.sig);
	CHECK(D(vma_lock_hit) == 1, "%s: read: vma_lock_hit +1 (got %lld)", what, D(vma_lock_hit));
	CHECK(D(vma_lock_miss) == 0 && D(vma_lock_fallback) == 0,
	      "%s: read: no miss, no fallback (got %lld, %lld)", what, D(vma_lock_miss),
	      D(vma_lock_fallback));
	CHECK(D(mmap_lock_read) == 0 && D(mmap_lock_write) == 0,
	      "%s: read: mmap_lock not taken (got %lld read, %lld write)", what,
	      D(mmap_lock_read), D(mmap_lock_write));

	c0 = cnt(w);
	r = x_access(w, 0, BASE + 2 * PAGE, true, 0x77);
	c1 = cnt(w);
	CHECK(r.sig == 0 && r.ret == 0, "%s: write to a new page: ok", what);
	CHECK(D(vma_lock_hit) == 1 && D(vma_lock_fallback) == 0 && D(mmap_lock_read) == 0,
	      "%s: write: under the VMA lock (hit %lld, fallback %lld, mmap_lock_read %lld)",
	      what, D(vma_lock_hit), D(vma_lock_fallback), D(mmap_lock_read));

	pthread_barrier_wait(&h.done);		/* B may release */
	pthread_join(b, NULL);
	r = x_access(w, 0, BASE + 2 * PAGE, false, 0);
	CHECK(r.value == 0x77, "%s: the write landed", what);
	pthread_barrier_destroy(&h.locked);
	pthread_barrier_destroy(&h.done);
	check_world(w, what);
	mmf_core.world_free(w);
}

static void test_fault_vma_write_locked(bool write)
{
	const char *what = write ? "write-locked VMA, write fault" : "write-locked VMA, read fault";
	struct mmf_world *w = vma_lock_world(true);
	struct holder h = { .w = w, .mm = w->procs[0], .addr = BASE, .mode = HOLD_WRITE_VMA };
	struct fault_arg fa = { .h = &h, .write = write, .value = 0x5678 };
	struct mmf_counters c0, c1;
	pthread_t a, b;

	pthread_barrier_init(&h.locked, NULL, 2);
	pthread_barrier_init(&h.done, NULL, 2);
	h.fallback_before = cnt(w).vma_lock_fallback;
	pthread_create(&b, NULL, holder_thread, &h);
	pthread_barrier_wait(&h.locked);	/* B holds mmap_lock (write) + VMA write lock */
	c0 = cnt(w);
	pthread_create(&a, NULL, fault_thread, &fa);
	pthread_join(b, NULL);			/* B saw the fallback, then released */
	pthread_join(a, NULL);
	c1 = cnt(w);

	CHECK(!h.wait_failed, "%s: the fault counted its fallback", what);
	CHECK(h.saw_blocked, "%s: the fault was blocked on mmap_lock after falling back", what);
	CHECK(fa.res.sig == 0 && fa.res.ret == 0 && (write || fa.res.value == 0x1234),
	      "%s: succeeded after B released (sig %d, value 0x%llx)", what, fa.res.sig,
	      (unsigned long long)fa.res.value);
	CHECK(D(vma_lock_miss) == 1, "%s: vma_lock_miss +1 (got %lld)", what, D(vma_lock_miss));
	CHECK(D(vma_lock_fallback) == 1, "%s: vma_lock_fallback +1 (got %lld)", what,
	      D(vma_lock_fallback));
	CHECK(D(vma_lock_hit) == 0, "%s: no hit (got %lld)", what, D(vma_lock_hit));
	CHECK(D(mmap_lock_read) == 1, "%s: mmap_lock taken for read once (got %lld)", what,
	      D(mmap_lock_read));
	if (write)
		CHECK(x_access(w, 0, BASE, false, 0).value == 0x5678, "%s: the write landed", what);

	/* B is gone: the same fault now takes the per-VMA lock again */
	c0 = cnt(w);
	x_access(w, 0, BASE, false, 0);
	c1 = cnt(w);
	CHECK(D(vma_lock_hit) == 1 && D(mmap_lock_read) == 0,
	      "%s: after mmap_write_unlock the VMA lock is free again", what);
	pthread_barrier_destroy(&h.locked);
	pthread_barrier_destroy(&h.done);
	check_world(w, what);
	mmf_core.world_free(w);
}

static void test_fault_no_anon_vma(void)
{
	struct mmf_world *w = vma_lock_world(false);
	struct mmf_counters c0, c1;
	struct core_vma *vma = vma_lookup(w->procs[0], BASE);
	struct mmf_res r;
	int fid;

	CHECK(vma && !vma->anon_vma, "fresh anonymous VMA: no anon_vma");
	/* a read maps the zero page and creates no anon_vma: every read falls back */
	for (int i = 0; i < 2; i++) {
		c0 = cnt(w);
		r = x_access(w, 0, BASE + i * PAGE, false, 0);
		c1 = cnt(w);
		CHECK(r.sig == 0 && r.value == 0, "no anon_vma: read %d = 0", i);
		CHECK(D(vma_lock_miss) == 1 && D(vma_lock_fallback) == 1 && D(vma_lock_hit) == 0,
		      "no anon_vma: read %d: miss +1, fallback +1, hit 0 (got %lld, %lld, %lld)", i,
		      D(vma_lock_miss), D(vma_lock_fallback), D(vma_lock_hit));
		CHECK(D(mmap_lock_read) == 1, "no anon_vma: read %d: mmap_lock_read +1 (got %lld)", i,
		      D(mmap_lock_read));
	}
	CHECK(!vma->anon_vma, "reads created no anon_vma");
	/* the first write falls back too and creates the anon_vma under mmap_lock */
	c0 = cnt(w);
	r = x_access(w, 0, BASE, true, 9);
	c1 = cnt(w);
	CHECK(r.sig == 0 && D(vma_lock_fallback) == 1 && D(mmap_lock_read) == 1,
	      "first write: fallback +1 (got %lld), mmap_lock_read +1 (got %lld)",
	      D(vma_lock_fallback), D(mmap_lock_read));
	CHECK(vma->anon_vma != NULL, "the write created the anon_vma");
	/* from now on the VMA lock suffices */
	c0 = cnt(w);
	r = x_access(w, 0, BASE + PAGE, true, 10);
	r = x_access(w, 0, BASE + 3 * PAGE, false, 0);
	c1 = cnt(w);
	CHECK(D(vma_lock_hit) == 2 && D(vma_lock_fallback) == 0 && D(mmap_lock_read) == 0,
	      "with anon_vma: 2 hits, no fallback (got %lld, %lld)", D(vma_lock_hit),
	      D(vma_lock_fallback));

	/* a shared file VMA needs no anon_vma: its faults never fall back */
	fid = (int)x_file_create(w, 4 * PAGE);
	x_mmap(w, 0, BASE + 16 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
	       fid, 0);
	c0 = cnt(w);
	x_access(w, 0, BASE + 16 * PAGE, false, 0);
	x_access(w, 0, BASE + 17 * PAGE, true, 3);
	c1 = cnt(w);
	CHECK(D(vma_lock_hit) == 2 && D(vma_lock_fallback) == 0,
	      "shared file VMA: 2 hits, no fallback (got %lld, %lld)", D(vma_lock_hit),
	      D(vma_lock_fallback));
	/* no VMA at all: a miss, then SIGSEGV under mmap_lock */
	c0 = cnt(w);
	r = x_access(w, 0, BASE + 64 * PAGE, false, 0);
	c1 = cnt(w);
	CHECK(r.sig != 0 && D(vma_lock_miss) == 1 && D(vma_lock_fallback) == 1,
	      "unmapped address: miss, fallback, signal");
	check_world(w, "no anon_vma");
	mmf_core.world_free(w);
}

int main(void)
{
	if (CORE_NAME_REF_MAX == 4) {	/* the saturating build */
		test_name_saturation();
		return t_done();
	}
	test_unlink_batch();
	test_exit_call_rcu();
	test_fork_names();
	test_fault_under_vma_lock(HOLD_READ, "mmap_lock held for read");
	test_fault_under_vma_lock(HOLD_WRITE, "mmap_lock held for write, VMA not write-locked");
	test_fault_vma_write_locked(false);
	test_fault_vma_write_locked(true);
	test_fault_no_anon_vma();
	return t_done();
}
