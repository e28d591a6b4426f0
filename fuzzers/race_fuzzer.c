// SPDX-License-Identifier: MIT
/*
 * fuzzers/race_fuzzer.c - the real-thread race target (ThreadSanitizer).
 *
 * Input: any bytes, decoded (totally) by mmf_cprog_decode(MMF_DECODE_ANY)
 * into a concurrent program (include/mmfuzz/prog.h): setup ops, then 2-4
 * per-thread op lists over shared processes and files.  mmf_race_prepare
 * drops the schedule bytes (sched_fuzzer's), caps setup at
 * MMF_RACE_MAX_SETUP_OPS and each thread at MMF_RACE_MAX_THREAD_OPS ops,
 * and bounds population (mmf_fuzz_bound_populate) as every target does.
 *
 * One run (mmf_race_check):
 *   1. a fresh core world (mmf_core, native backend: pthreads + liburcu)
 *      with the default config -- NOT single_threaded, so RCU callbacks run
 *      asynchronously on liburcu's call_rcu thread, as they would in use;
 *   2. the setup ops, by this thread;
 *   3. one pthread per thread list; they wait on a start barrier, so that
 *      their ops really overlap, then each runs its list through
 *      mmf_core.exec;
 *   4. every thread is joined (pthread_timedjoin_np, watching progress:
 *      see hang:<op> below); no thread survives an input;
 *   5. the invariant checker (mmf_core.check) and a snapshot;
 *   6. disjoint mode only: the comparison with the reference (below);
 *   7. the world is freed (rcu_barrier: every deferred free runs).
 *
 * Two modes, chosen by the program's `disjoint` flag (MMF_CPROG_DISJOINT,
 * bit 0 of the binary form's FLAGS byte):
 *
 *  shared (default): the threads run the lists as decoded -- faults,
 *      mmap/munmap/mprotect/mremap/madvise, names, fork, exit, truncate,
 *      file read/write -- on the same processes, ranges and files.  The
 *      oracles are TSan (halt_on_error=1: a report aborts), the invariant
 *      checker, and no crash or hang.
 *
 *  disjoint: the program is rewritten so that the threads' ops commute,
 *      and then every result and the final snapshot must equal those of the
 *      reference running setup, thread 0's list, thread 1's, ... one after
 *      the other.  The rewrite, with T = number of threads:
 *        - thread t owns the address window W_t (race.h: 256 MiB windows
 *          0x30000000 apart, so 512 MiB unmapped gaps between them);
 *          every address a of thread t becomes base(W_t) + a % 256 MiB and
 *          every range is clipped to the window's end;
 *        - mmap without MAP_FIXED(_NOREPLACE) gets MAP_FIXED (no placement
 *          search: it would look at the other windows); mremap MAYMOVE
 *          without MREMAP_FIXED gets MREMAP_FIXED to a window address;
 *        - thread t owns the files h*T + t: setup's file_create runs T
 *          times, so the setup's h-th file exists once per window;
 *          every file handle h of window t (file mmaps, truncate,
 *          file_read, file_write) becomes h*T + t;
 *        - a PROT_NONE page above each window (win_sentinel) keeps a
 *          fault's lookup of the next VMA inside its own window;
 *        - setup's address and file ops are replicated, once per window,
 *          so each thread starts on the same layout in its own window;
 *          fork and exit run once (processes are shared: threads race on
 *          the same mm, in different windows);
 *        - threads drop fork, exit and file_create (they copy, destroy or
 *          number everything: not commuting).
 *      The original program is what a report prints (replaying it redoes
 *      the rewrite); the rewritten one follows as comments.
 *
 * Signatures (the last line of a failure, "mmfuzz: <sig>"):
 *     invariant:<name>     the core's invariant checker after the threads
 *                          (or after setup)
 *     race:<op>:<what>     disjoint mode: a thread's op gave a result other
 *                          than the sequential reference's; <what> is
 *                          signal, ret or value (diff/diff.c's words)
 *     race:snapshot:<field>  disjoint mode: final snapshots differ
 *                          (<field> from mmf_diff_snap_field)
 *     diff:<op>:<what>     disjoint mode: a SETUP op (sequential) differs:
 *                          the same signature diff_fuzzer gives
 *     hang:<op>            no thread completed an op for MMF_FUZZ_HANG_SECS
 *                          (default 10) wall-clock seconds while the process
 *                          was mostly idle (a deadlock: blocked threads burn
 *                          no CPU, so diff_fuzzer's CPU-time timer would not
 *                          fire), or for 6 times that while busy (an endless
 *                          loop).  <op> is the op of the lowest-numbered
 *                          stuck thread; every stuck thread is listed.  A
 *                          hang in the setup (one thread) is left to the
 *                          engine's -timeout
 *     TSan reports         "WARNING: ThreadSanitizer: ..." and exit
 *
 * On a failure the target prints the program (text form), the report and
 * the signature line, then abort()s.  MMF_FUZZ_IGNORE (a file of
 * signatures) and MMF_FUZZ_STATS work as in diff_fuzzer.
 *
 * Build: only where "thread" is in MMF_SANITIZE (preset libfuzzer-tsan;
 * race_replay in the tsan preset too).  Under ASan the target would find
 * use-after-free only when a race happens to hit it, and no data race at
 * all: the real-thread target is TSan's.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "mmfuzz/uapi.h"
#include "diff.h"
#include "fuzz.h"
#include "prog_ext.h"
#include "race.h"

extern const struct mmf_impl mmf_core;

/* cprog_mutator.c: real threads: no schedule */
const bool mmf_cprog_mutates_schedule = false;
/* race_tsan_hook.c: printed after a TSan report */
extern const char *volatile mmf_race_tsan_program;

/*
 * TSan: a report ends the run (the fuzzer saves the input).
 * report_signal_unsafe=0: nothing under test runs in a signal handler, but
 * libFuzzer's own SIGINT/SIGTERM/SIGALRM (-timeout) handlers allocate;
 * with the check on, stopping the fuzzer (or a timeout) becomes a bogus
 * "signal-unsafe call" report, whose death callback then deadlocks inside
 * the runtime (seen: a campaign worker that never exits).
 * Called by the TSan runtime before it is initialised: not instrumented.
 */
const char *__tsan_default_options(void);
MMF_RACE_NO_INSTR __attribute__((used))
const char *__tsan_default_options(void)
{
	return "halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0";
}

/* ---- preparing and rewriting programs --------------------------------------- */

static void prog_truncate(struct mmf_prog *p, uint32_t max)
{
	if (p->nr_ops > max)
		p->nr_ops = max;
}

static void prog_bound_populate(struct mmf_prog *p)
{
	for (uint32_t i = 0; i < p->nr_ops; i++)
		mmf_fuzz_bound_populate(&p->ops[i]);
}

/*
 * Population is bounded as in every target (bound_op.c).  Without it a
 * 4 GiB MAP_LOCKED mmap in the setup, replicated into every thread's
 * window and then mapped over again, made ~260,000 faults insert below
 * the other windows' PTEs: a libFuzzer timeout after 76 s, the only report
 * of a 30-minute campaign on the clean core
 * (corpus/regressions-race/populate_locked_windows.mmf).
 */
void mmf_race_prepare(struct mmf_cprog *c)
{
	c->sched_len = 0;
	prog_truncate(&c->setup, MMF_RACE_MAX_SETUP_OPS);
	prog_bound_populate(&c->setup);
	for (uint32_t t = 0; t < MMF_CPROG_MAX_THREADS; t++) {
		prog_truncate(&c->thread[t], MMF_RACE_MAX_THREAD_OPS);
		prog_bound_populate(&c->thread[t]);
	}
	while (c->nr_threads > 0 && c->thread[c->nr_threads - 1].nr_ops == 0)
		c->nr_threads--;
}

/* The ops actually run: the program itself, or its disjoint rewrite. */
struct plan {
	struct mmf_op *setup;
	uint32_t nr_setup;
	uint32_t nr_threads;
	struct mmf_op *thr[MMF_CPROG_MAX_THREADS];
	uint32_t nr[MMF_CPROG_MAX_THREADS];
	bool disjoint;
};

static bool has_range(enum mmf_op_kind k)
{
	switch (k) {
	case MMF_OP_MMAP:
	case MMF_OP_MUNMAP:
	case MMF_OP_MPROTECT:
	case MMF_OP_MREMAP:
	case MMF_OP_MADVISE:
	case MMF_OP_SET_NAME:
	case MMF_OP_READ:
	case MMF_OP_WRITE:
		return true;
	default:
		return false;
	}
}

static bool uses_file(const struct mmf_op *op)
{
	switch (op->kind) {
	case MMF_OP_MMAP:
		return !(op->flags & MAP_ANONYMOUS);
	case MMF_OP_TRUNCATE:
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		return true;
	default:
		return false;
	}
}

static uint64_t win_base(uint32_t t)
{
	return MMF_RACE_WIN_BASE + (uint64_t)t * MMF_RACE_WIN_STRIDE;
}

static uint64_t win_addr(uint64_t a, uint32_t t)
{
	return win_base(t) + a % MMF_RACE_WIN_SIZE;
}

/* len clipped so that [a, a + len) ends inside window t (a is in it) */
static uint64_t win_len(uint64_t a, uint64_t len, uint32_t t)
{
	uint64_t room = win_base(t) + MMF_RACE_WIN_SIZE - a;

	return len > room ? room : len;
}

/* Move op into window t of T: addresses, ranges and file handles. */
static void to_window(struct mmf_op *op, uint32_t t, uint32_t T)
{
	if (uses_file(op) && op->file >= 0 && op->file < MMF_MAX_FILES)
		op->file = op->file * (int32_t)T + (int32_t)t;
	if (!has_range(op->kind))
		return;
	op->addr = win_addr(op->addr, t);
	if (op->kind != MMF_OP_READ && op->kind != MMF_OP_WRITE)
		op->len = win_len(op->addr, op->len, t);
	if (op->kind == MMF_OP_MMAP && !(op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
		op->flags |= MAP_FIXED;
	if (op->kind == MMF_OP_MREMAP) {
		if ((op->flags & MREMAP_MAYMOVE) && !(op->flags & MREMAP_FIXED))
			op->flags |= MREMAP_FIXED;
		if (op->flags & MREMAP_FIXED) {
			op->new_addr = win_addr(op->new_addr, t);
			op->new_len = win_len(op->new_addr, op->new_len, t);
		} else {
			op->new_len = win_len(op->addr, op->new_len, t);
		}
	}
}

/*
 * The sentinel above window t: one PROT_NONE page at its end, mapped on p0
 * before the setup (so every process forked in it has them) and out of
 * every op's reach (to_window clips ranges to the window).  A fault on an
 * address of window t with no VMA above it in the window looks up the
 * next VMA above: without the sentinel that is the lowest VMA of window
 * t + 1, and when that VMA is GROWSDOWN the fault tries to grow it down
 * to the address, which prepares its anon_vma before the growth fails on
 * the stack limit (as the kernel's expand_downwards does).  The anon_vma
 * then stops a later merge of window t + 1 that the reference, running
 * the threads one after the other, makes: the campaign's
 * race:snapshot:vma.end (corpus/regressions-race/fault_below_next_window.mmf).
 */
static struct mmf_op win_sentinel(uint32_t t)
{
	struct mmf_op op = {
		.kind = MMF_OP_MMAP,
		.proc = 0,
		.file = -1,
		.addr = win_base(t) + MMF_RACE_WIN_SIZE,
		.len = MMF_PAGE_SIZE,
		.prot = PROT_NONE,
		.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
	};

	return op;
}

static void plan_free(struct plan *pl)
{
	free(pl->setup);
	for (uint32_t t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		free(pl->thr[t]);
	memset(pl, 0, sizeof(*pl));
}

static struct mmf_op *ops_alloc(size_t n)
{
	struct mmf_op *ops = calloc(n ? n : 1, sizeof(*ops));

	if (!ops)
		abort();
	return ops;
}

static void plan_make(struct plan *pl, const struct mmf_cprog *c)
{
	uint32_t T = c->nr_threads ? c->nr_threads : 1;

	memset(pl, 0, sizeof(*pl));
	pl->disjoint = (c->flags & MMF_CPROG_DISJOINT) != 0;
	pl->nr_threads = c->nr_threads;
	/* disjoint: a sentinel and a copy of every setup op per window */
	pl->setup = ops_alloc(pl->disjoint ? ((size_t)c->setup.nr_ops + 1) * T : c->setup.nr_ops);
	if (pl->disjoint)
		for (uint32_t t = 0; t < T; t++)
			pl->setup[pl->nr_setup++] = win_sentinel(t);
	for (uint32_t i = 0; i < c->setup.nr_ops; i++) {
		const struct mmf_op *op = &c->setup.ops[i];
		bool per_window = pl->disjoint && (has_range(op->kind) || uses_file(op) ||
						   op->kind == MMF_OP_FILE_CREATE);

		if (!per_window) {
			pl->setup[pl->nr_setup++] = *op;
			continue;
		}
		for (uint32_t t = 0; t < T; t++) {
			struct mmf_op o = *op;

			to_window(&o, t, T);
			pl->setup[pl->nr_setup++] = o;
		}
	}
	for (uint32_t t = 0; t < pl->nr_threads; t++) {
		const struct mmf_prog *p = &c->thread[t];

		pl->thr[t] = ops_alloc(p->nr_ops);
		for (uint32_t i = 0; i < p->nr_ops; i++) {
			struct mmf_op o = p->ops[i];

			if (pl->disjoint) {
				if (o.kind == MMF_OP_FORK || o.kind == MMF_OP_EXIT ||
				    o.kind == MMF_OP_FILE_CREATE)
					continue;
				to_window(&o, t, T);
			}
			pl->thr[t][pl->nr[t]++] = o;
		}
	}
}

static void print_ops(FILE *out, const char *prefix, const struct mmf_op *ops, uint32_t n)
{
	char buf[MMF_OP_TEXT_MAX];

	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "%s%s\n", prefix, mmf_op_format(&ops[i], buf, sizeof(buf)));
}

static void plan_print(FILE *out, const struct plan *pl)
{
	fprintf(out, "# ---- as run (disjoint rewrite: thread t in window 0x%llx + t * 0x%llx,\n"
		"# files h*T+t; a sentinel page above each window, then the setup\n"
		"# replicated per window) ----\n",
		(unsigned long long)MMF_RACE_WIN_BASE, (unsigned long long)MMF_RACE_WIN_STRIDE);
	print_ops(out, "#   ", pl->setup, pl->nr_setup);
	for (uint32_t t = 0; t < pl->nr_threads; t++) {
		fprintf(out, "#   thread %u\n", t);
		print_ops(out, "#       ", pl->thr[t], pl->nr[t]);
	}
}

void mmf_race_print(FILE *out, const struct mmf_cprog *c)
{
	mmf_cprog_print(out, c);
	if (c->flags & MMF_CPROG_DISJOINT) {
		struct plan pl;

		plan_make(&pl, c);
		plan_print(out, &pl);
		plan_free(&pl);
	}
}

/* ---- the threads ---------------------------------------------------------------- */

struct worker {
	pthread_t tid;
	uint32_t id;
	const struct mmf_op *ops;
	uint32_t nr_ops;
	struct mmf_res *res;
	struct mmf_world *w;
	pthread_barrier_t *start;
	int cur;		/* op in progress, -1 if none (__atomic) */
	unsigned done;		/* ops completed (__atomic) */
	bool joined;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	pthread_barrier_wait(wk->start);
	for (uint32_t i = 0; i < wk->nr_ops; i++) {
		__atomic_store_n(&wk->cur, (int)i, __ATOMIC_RELAXED);
		memset(&wk->res[i], 0, sizeof(wk->res[i]));
		mmf_core.exec(wk->w, &wk->ops[i], &wk->res[i]);
		__atomic_store_n(&wk->done, i + 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&wk->cur, -1, __ATOMIC_RELAXED);
	return NULL;
}

static int hang_secs(void)
{
	static int secs = -1;

	if (secs < 0) {
		const char *e = getenv("MMF_FUZZ_HANG_SECS");

		secs = e && atoi(e) > 0 ? atoi(e) : 10;
	}
	return secs;
}

/* No thread progresses: report and abort (the threads cannot be joined). */
static void hang(const struct mmf_cprog *c, struct worker *wk, uint32_t n, double secs,
		 double cpu)
{
	const char *sig = NULL;
	char buf[MMF_OP_TEXT_MAX];

	fprintf(stderr, "mmfuzz: ---- program ----\n");
	mmf_race_print(stderr, c);
	fprintf(stderr, "mmfuzz: no op completed for %.1f s (%.1f s of CPU time meanwhile: %s)\n",
		secs, cpu, cpu < secs / 4 ? "blocked, a deadlock" : "busy, a livelock or endless loop");
	for (uint32_t t = 0; t < n; t++) {
		int cur = __atomic_load_n(&wk[t].cur, __ATOMIC_RELAXED);

		if (wk[t].joined)
			continue;
		if (cur < 0 || (uint32_t)cur >= wk[t].nr_ops) {
			fprintf(stderr, "mmfuzz: thread %u still running, between ops\n", t);
			continue;
		}
		fprintf(stderr, "mmfuzz: thread %u stuck in op #%d: %s\n", t, cur,
			mmf_op_format(&wk[t].ops[cur], buf, sizeof(buf)));
		if (!sig)
			sig = mmf_op_name(wk[t].ops[cur].kind);
	}
	fprintf(stderr, "mmfuzz: hang:%s\n", sig ? sig : "outside-ops");
	fflush(stderr);
	abort();
}

static double now_secs(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Join every thread.  A hang is when no thread completes an op for
 * hang_secs() seconds while the process burns less than a quarter of a CPU
 * (blocked: a deadlock -- it burns no CPU, which is why diff_fuzzer's
 * CPU-time timer would not see it), or for 6 * hang_secs() seconds whatever
 * the CPU use (an endless loop or livelock); a legitimately long op (a
 * MAP_POPULATE of gigabytes under TSan takes seconds) keeps the CPU busy
 * and completes.
 */
static void join_all(const struct mmf_cprog *c, struct worker *wk, uint32_t n)
{
	double last = now_secs(CLOCK_MONOTONIC), cpu_last = now_secs(CLOCK_PROCESS_CPUTIME_ID);
	unsigned long progress = 0;

	for (uint32_t t = 0; t < n;) {
		unsigned long p = 0;
		struct timespec deadline;
		double idle, cpu;
		int err;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		err = pthread_timedjoin_np(wk[t].tid, NULL, &deadline);
		if (err == 0) {
			wk[t++].joined = true;
			continue;
		}
		if (err != ETIMEDOUT) {
			fprintf(stderr, "race_fuzzer: pthread_join: %s\n", strerror(err));
			abort();
		}
		for (uint32_t k = 0; k < n; k++)
			p += __atomic_load_n(&wk[k].done, __ATOMIC_RELAXED);
		if (p != progress) {
			progress = p;
			last = now_secs(CLOCK_MONOTONIC);
			cpu_last = now_secs(CLOCK_PROCESS_CPUTIME_ID);
			continue;
		}
		idle = now_secs(CLOCK_MONOTONIC) - last;
		cpu = now_secs(CLOCK_PROCESS_CPUTIME_ID) - cpu_last;
		if ((idle >= hang_secs() && cpu < idle / 4) || idle >= 6.0 * hang_secs())
			hang(c, wk, n, idle, cpu);
	}
}

/* ---- the check ----------------------------------------------------------------- */


static int check_invariants(struct mmf_world *w, const char *when, struct mmf_race_fail *fail,
			    FILE *report)
{
	char msg[512] = "";

	if (!mmf_core.check || mmf_core.check(w, msg, sizeof(msg)) == 0)
		return 0;
	mmf_invariant_sig(fail->sig, sizeof(fail->sig), msg[0] ? msg : "unnamed");
	if (report)
		fprintf(report, "mmfuzz: invariant broken %s: %s\n", when, msg);
	return 1;
}

/* The word diff/diff.c uses for how two results differ, or NULL. */
static const char *res_diff(const struct mmf_op *op, const struct mmf_res *a,
			    const struct mmf_res *b)
{
	if (a->sig != b->sig || a->si_code != b->si_code)
		return "signal";
	if (a->ret != b->ret)
		return "ret";
	if ((op->kind == MMF_OP_READ || op->kind == MMF_OP_FILE_READ) && a->value != b->value &&
	    (op->kind == MMF_OP_READ || a->ret > 0))
		return "value";
	return NULL;
}

static void report_res(FILE *report, const char *where, const struct mmf_op *op,
		       const struct mmf_res *ref, const struct mmf_res *core)
{
	char text[MMF_OP_TEXT_MAX], ra[64], rb[64];

	if (!report)
		return;
	fprintf(report, "mmfuzz: %s: %s\n", where, mmf_op_format(op, text, sizeof(text)));
	fprintf(report, "mmfuzz:   reference (sequential): %s\n",
		mmf_diff_res_str(op->kind, ref, ra, sizeof(ra)));
	fprintf(report, "mmfuzz:   core (threads):         %s\n",
		mmf_diff_res_str(op->kind, core, rb, sizeof(rb)));
}

/*
 * Disjoint mode: the reference runs setup, then each thread's list in
 * turn; every result and the final snapshot must be the core's.
 */
static int compare_reference(const struct plan *pl, const struct mmf_res *setup_res,
			     struct mmf_res *const thr_res[], const struct mmf_snap *core_snap,
			     struct mmf_race_fail *fail, FILE *report)
{
	static const struct mmf_config cfg;
	struct mmf_world *rw = mmf_reference.world_new(&cfg);
	struct mmf_snap rs;
	const char *what;
	char where[64];
	int bad = 0;

	if (!rw) {
		snprintf(fail->sig, sizeof(fail->sig), "error:reference:world_new");
		return 1;
	}
	for (uint32_t i = 0; i < pl->nr_setup && !bad; i++) {
		struct mmf_res r = { 0 };

		mmf_reference.exec(rw, &pl->setup[i], &r);
		what = res_diff(&pl->setup[i], &r, &setup_res[i]);
		if (what) {
			snprintf(fail->sig, sizeof(fail->sig), "diff:%s:%s",
				 mmf_op_name(pl->setup[i].kind), what);
			snprintf(where, sizeof(where), "setup op #%u (as run)", i);
			report_res(report, where, &pl->setup[i], &r, &setup_res[i]);
			bad = 1;
		}
	}
	for (uint32_t t = 0; t < pl->nr_threads && !bad; t++) {
		for (uint32_t i = 0; i < pl->nr[t] && !bad; i++) {
			struct mmf_res r = { 0 };

			mmf_reference.exec(rw, &pl->thr[t][i], &r);
			what = res_diff(&pl->thr[t][i], &r, &thr_res[t][i]);
			if (what) {
				snprintf(fail->sig, sizeof(fail->sig), "race:%s:%s",
					 mmf_op_name(pl->thr[t][i].kind), what);
				snprintf(where, sizeof(where), "thread %u op #%u (as run)", t, i);
				report_res(report, where, &pl->thr[t][i], &r, &thr_res[t][i]);
				bad = 1;
			}
		}
	}
	if (!bad) {
		mmf_snap_init(&rs);
		mmf_reference.snapshot(rw, &rs);
		if (!mmf_snap_equal(&rs, core_snap, NULL, 0)) {
			char why[256];
			const char *field = mmf_diff_snap_field(&rs, core_snap);

			mmf_snap_equal(&rs, core_snap, why, sizeof(why));
			snprintf(fail->sig, sizeof(fail->sig), "race:snapshot:%s",
				 field ? field : "unknown");
			if (report) {
				fprintf(report, "mmfuzz: final snapshots differ: %s\n", why);
				fprintf(report, "mmfuzz: ---- reference (sequential) ----\n");
				mmf_snap_print(report, &rs);
				fprintf(report, "mmfuzz: ---- core (threads) ----\n");
				mmf_snap_print(report, core_snap);
			}
			bad = 1;
		}
		mmf_snap_free(&rs);
	}
	mmf_reference.world_free(rw);
	return bad;
}

int mmf_race_check(const struct mmf_cprog *c, struct mmf_race_fail *fail, FILE *report)
{
	static const struct mmf_config cfg;	/* defaults: NOT single_threaded */
	struct worker wk[MMF_CPROG_MAX_THREADS];
	struct mmf_res *setup_res, *thr_res[MMF_CPROG_MAX_THREADS] = { 0 };
	pthread_barrier_t start;
	struct mmf_snap snap;
	struct mmf_world *w;
	struct plan pl;
	uint32_t n;
	int bad = 0;
	char *text = NULL, *details = NULL;
	size_t text_len = 0, details_len = 0;
	FILE *tf, *out = NULL;

	memset(fail, 0, sizeof(*fail));
	/* the report: the program first, then what went wrong (written below) */
	if (report)
		out = open_memstream(&details, &details_len);
	/* for a TSan report (race_tsan_hook.c): rendered now, printed there */
	tf = open_memstream(&text, &text_len);
	if (tf) {
		mmf_race_print(tf, c);
		fclose(tf);
		mmf_race_tsan_program = text;
	}
	plan_make(&pl, c);
	n = pl.nr_threads;
	w = mmf_core.world_new(&cfg);
	if (!w) {
		snprintf(fail->sig, sizeof(fail->sig), "error:core:world_new");
		plan_free(&pl);
		mmf_race_tsan_program = NULL;
		free(text);
		if (out)
			fclose(out);
		free(details);
		return 1;
	}

	setup_res = calloc(pl.nr_setup ? pl.nr_setup : 1, sizeof(*setup_res));
	if (!setup_res)
		abort();
	for (uint32_t i = 0; i < pl.nr_setup; i++)
		mmf_core.exec(w, &pl.setup[i], &setup_res[i]);
	bad = check_invariants(w, "after setup", fail, out);

	if (!bad && n) {
		memset(wk, 0, sizeof(wk));
		pthread_barrier_init(&start, NULL, n);
		for (uint32_t t = 0; t < n; t++) {
			thr_res[t] = calloc(pl.nr[t] ? pl.nr[t] : 1, sizeof(struct mmf_res));
			if (!thr_res[t])
				abort();
			wk[t] = (struct worker){ .id = t, .ops = pl.thr[t], .nr_ops = pl.nr[t],
						 .res = thr_res[t], .w = w, .start = &start,
						 .cur = -1 };
		}
		for (uint32_t t = 0; t < n; t++) {
			int err = pthread_create(&wk[t].tid, NULL, worker_main, &wk[t]);

			if (err) {
				fprintf(stderr, "race_fuzzer: pthread_create: %s\n", strerror(err));
				abort();
			}
		}
		join_all(c, wk, n);
		pthread_barrier_destroy(&start);
		bad = check_invariants(w, "after the threads", fail, out);
	}

	mmf_snap_init(&snap);
	if (!bad) {
		mmf_core.snapshot(w, &snap);
		if (pl.disjoint)
			bad = compare_reference(&pl, setup_res, thr_res, &snap, fail, out);
	}
	mmf_snap_free(&snap);
	mmf_core.world_free(w);

	if (out)
		fclose(out);
	if (bad && report) {
		fprintf(report, "mmfuzz: ---- program ----\n");
		mmf_race_print(report, c);
		if (details)
			fputs(details, report);
	}
	free(details);
	free(setup_res);
	for (uint32_t t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		free(thr_res[t]);
	plan_free(&pl);
	mmf_race_tsan_program = NULL;
	free(text);
	return bad;
}

/* ---- the fuzz entry point ------------------------------------------------------- */


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One-time set-up: a small program through the thread path, so that lazy
 * first-use work (RCU registration, liburcu's call_rcu thread) is done. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char warm_up[] =
		"file_create 0x4000\n"
		"mmap p0 0x100000 0x4000 rw- shared f0 fixed\n"
		"mmap p0 0x200000 0x4000 rw- private anon fixed\n"
		"thread 0\n"
		"write p0 0x200000 0x1\n"
		"munmap p0 0x201000 0x1000\n"
		"thread 1\n"
		"read p0 0x100000\n"
		"truncate f0 0x1000\n";
	struct mmf_race_fail fail;
	struct mmf_cprog c;
	char err[256];

	(void)argc;
	(void)argv;
	mmf_fuzz_stats_init();
	mmf_fuzz_is_ignored("");
	hang_secs();
	mmf_cprog_init(&c);
	if (mmf_cprog_parse(&c, warm_up, sizeof(warm_up) - 1, "warm-up", err, sizeof(err)) == 0)
		mmf_race_check(&c, &fail, NULL);
	mmf_cprog_free(&c);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmf_race_fail fail;
	struct mmf_cprog c;
	char *rep = NULL;
	size_t rep_len = 0;
	FILE *report = open_memstream(&rep, &rep_len);

	mmf_cprog_init(&c);
	mmf_cprog_decode(&c, data, size, MMF_DECODE_ANY);
	mmf_race_prepare(&c);
	mmf_fuzz_stats_tick(c.setup.nr_ops + c.thread[0].nr_ops + c.thread[1].nr_ops +
			    c.thread[2].nr_ops + c.thread[3].nr_ops);
	if (mmf_race_check(&c, &fail, report) && !mmf_fuzz_is_ignored(fail.sig)) {
		if (report)
			fclose(report);
		if (rep)
			fputs(rep, stderr);
		fprintf(stderr, "mmfuzz: %s\n", fail.sig);
		fflush(stderr);
		abort();
	}
	if (report)
		fclose(report);
	free(rep);
	mmf_cprog_free(&c);
	return 0;
}
