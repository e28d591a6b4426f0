// SPDX-License-Identifier: MIT
/*
 * fuzzers/sched_fuzzer.c - the deterministic concurrency target.
 *
 * Input: a concurrent program (struct mmf_cprog, decoded totally by
 * mmf_cprog_decode): setup ops, up to four threads' op lists and the
 * schedule bytes.  One run:
 *
 *   1. the core (built on the deterministic backend, core/sync_sched.c)
 *      runs the setup ops in the main context, then one fiber per thread
 *      runs its list while the schedule bytes decide, at every lock, atomic
 *      and RCU primitive, which fiber goes on (core/sched_ctl.h);
 *   2. every op's call and return are stamped with one event counter: all
 *      fibers share one OS thread, so the counter orders them in real time;
 *   3. the core's invariant checker runs, and its final snapshot is taken;
 *   4. the history (setup ops as one more "thread" that precedes the rest)
 *      must be linearizable on the reference (diff/linearize.h): some
 *      sequential order respecting real time gives every op the core's
 *      result and ends in the core's final snapshot.
 *
 * Failures (the last line printed before abort(), as in diff_fuzzer):
 *
 *     mmfuzz: linearizability:<op>     the first op no order can place
 *     mmfuzz: linearizability:snapshot every op placed, no final state matches
 *     mmfuzz: invariant:<name>         the core's checker after the run
 *     mmfuzz: nondeterminism:sched     two runs of one input differ (checking
 *                                      build, and always in sched_replay)
 *     mmf_sync_bug: deadlock: ...      from the scheduler itself (no fiber can
 *     mmf_sync_bug: livelock: ...      run / too many steps); the program and
 *                                      the history so far are printed first
 *
 * Interleaving coverage: every switch from fiber a to fiber b at a
 * scheduling point s bumps a libFuzzer extra counter indexed by a hash of
 * (s, a, b), so that a new interleaving of known code is new coverage.
 *
 * Limits, so that one input stays fast: at most MAX_THREAD_OPS ops per
 * thread and MAX_SETUP_OPS setup ops (the rest is ignored), no population
 * of more than MMF_FUZZ_POPULATE_MAX bytes (bounded_op), and the
 * linearizability search gives up (counted, not a failure) after
 * LIN_MAX_STATES reference ops.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "diff.h"
#include "fuzz.h"
#include "linearize.h"
#include "mmfuzz/uapi.h"
#include "prog_ext.h"
#include "sched_ctl.h"
#include "sched_fuzz.h"

extern const struct mmf_impl mmf_core;

/* cprog_mutator.c: the schedule bytes decide the interleaving */
const bool mmf_cprog_mutates_schedule = true;

#define MAX_SETUP_OPS	32
#define MAX_THREAD_OPS	12
/*
 * The search's budget, in reference ops.  Histories full of forks (each a
 * copy of a process the other threads are changing) can need millions; at
 * 200,000 such an input took 7-15 s under ASan and dragged a campaign's
 * exec/s down tenfold.  On 5,028 campaign inputs, 20,000 gives up on 7
 * (the rest need far less) and the longest search takes 1.7 s.
 */
#define LIN_MAX_STATES	20000
/*
 * Scheduling steps before the scheduler reports a livelock.  An op may be
 * long without spinning: MAP_POPULATE of the whole 4 GiB address space
 * faults a million pages, each a few steps; 2^26 steps leave room for a
 * few such ops and still end a real livelock in seconds.
 */
#define MAX_STEPS	(1ull << 26)

/* ---- interleaving coverage ------------------------------------------------ */

#define NR_SWITCH_COUNTERS	(1u << 14)
__attribute__((section("__libfuzzer_extra_counters"), used))
static uint8_t switch_counters[NR_SWITCH_COUNTERS];

static void count_switch(void *ctx, uint32_t site, int from, int to)
{
	uint64_t h = site * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(from + 3) << 40 ^
		     (uint64_t)(to + 3) << 48;
	uint8_t *c = &switch_counters[(h ^ h >> 29) % NR_SWITCH_COUNTERS];

	(void)ctx;
	if (*c != 0xff)
		(*c)++;
}

/* ---- one run of the core under the scheduler ------------------------------ */

struct fiber_ctx {
	struct run *run;
	int thread;
};

struct run {
	const struct mmf_cprog *c;
	struct mmf_world *w;
	struct mmf_lin_op ops[MAX_SETUP_OPS + MMF_CPROG_MAX_THREADS * MAX_THREAD_OPS];
	uint32_t nr_ops;
	uint64_t events;		/* the real-time event counter */
	/* sched clock at each op's call and return, for the interleaved history */
	uint64_t call_clock[MAX_SETUP_OPS + MMF_CPROG_MAX_THREADS * MAX_THREAD_OPS];
	uint64_t ret_clock[MAX_SETUP_OPS + MMF_CPROG_MAX_THREADS * MAX_THREAD_OPS];
	struct fiber_ctx fibers[MMF_CPROG_MAX_THREADS];
	uint64_t trace_hash;
};

static uint32_t nr_setup(const struct mmf_cprog *c)
{
	return c->setup.nr_ops < MAX_SETUP_OPS ? c->setup.nr_ops : MAX_SETUP_OPS;
}

static uint32_t nr_thread_ops(const struct mmf_cprog *c, int t)
{
	return c->thread[t].nr_ops < MAX_THREAD_OPS ? c->thread[t].nr_ops : MAX_THREAD_OPS;
}

/* Run one op, stamped; the slot was reserved in program order. */
static void run_op(struct run *r, uint32_t slot)
{
	struct mmf_lin_op *o = &r->ops[slot];

	bool fiber = mmf_sched_current() >= 0;	/* setup ops run before the scheduler */

	/* atomic: fibers are threads to TSan, switched without synchronisation */
	o->call = __atomic_add_fetch(&r->events, 1, __ATOMIC_RELAXED);
	r->call_clock[slot] = fiber ? mmf_sched_clock() : 0;
	mmf_core.exec(r->w, &o->op, &o->res);
	r->ret_clock[slot] = fiber ? mmf_sched_clock() : 0;
	o->ret = __atomic_add_fetch(&r->events, 1, __ATOMIC_RELAXED);
}

static void thread_main(void *arg)
{
	struct fiber_ctx *f = arg;
	struct run *r = f->run;

	for (uint32_t i = 0; i < r->nr_ops; i++)
		if (r->ops[i].thread == f->thread)
			run_op(r, i);
}


/*
 * op as run.  Population is bounded (mmf_fuzz_bound_populate).  A thread's (not the setup's)
 * madvise with advice the kernel applies under mmap_lock held for read
 * (mmf_advice_walks_pages, lib/abi.c) covers one page: faults and writes
 * run beside such an advice, so over more than one page it is not atomic,
 * in the kernel as in the core.  A DONTNEED over pages A < B zaps A, a
 * fault then maps A, a later write maps B, and the zap reaches B: A
 * mapped, B not, which no order of the three ops gives.  (POPULATE_WRITE copying private file pages around a file
 * write is the same.)  Linearizability is the wrong test for such an op, so
 * here it covers one page, where it is atomic; diff_fuzzer and race_fuzzer
 * keep the whole ranges.  Found by sched_fuzzer (linearizability:snapshot).
 *
 * Populating a file mapping is the same: MAP_POPULATE and MAP_LOCKED fault
 * the pages in one after the other (the kernel's mm_populate, after do_mmap
 * has dropped mmap_lock; the core's populate_range), and truncate, which
 * takes no mmap_lock, zaps between two of them, so the pages faulted before
 * it are gone and those after it stay, which no order of the ops gives.
 * A VM_LOCKED file VMA populates again later (mprotect to writable, mremap
 * growth), so MAP_LOCKED is dropped from every file mmap here and
 * MAP_POPULATE from a thread's file mmap of more than one page.  Found by
 * the 30-minute campaign (corpus/regressions-sched/populate_vs_truncate.mmf).
 */
static struct mmf_op bounded_op(const struct mmf_op *op, bool in_thread)
{
	struct mmf_op o = *op;
	bool file_mmap = o.kind == MMF_OP_MMAP && !(o.flags & MAP_ANONYMOUS);

	mmf_fuzz_bound_populate(&o);
	if (in_thread && o.kind == MMF_OP_MADVISE && o.len > MMF_PAGE_SIZE &&
	    mmf_advice_walks_pages(o.advice))
		o.len = MMF_PAGE_SIZE;
	if (file_mmap)
		o.flags &= ~(uint32_t)MAP_LOCKED;
	if (file_mmap && in_thread && o.len > MMF_PAGE_SIZE)
		o.flags &= ~(uint32_t)MAP_POPULATE;
	return o;
}

/*
 * The history's layout: setup ops first as thread nr_threads (they run
 * before every fiber), then each thread's ops in program order.
 */
static void reserve_ops(struct run *r)
{
	const struct mmf_cprog *c = r->c;
	uint32_t setup_thread = c->nr_threads;

	r->nr_ops = 0;
	for (uint32_t i = 0; i < nr_setup(c); i++) {
		r->ops[r->nr_ops] = (struct mmf_lin_op){ .thread = (int)setup_thread,
							  .op = bounded_op(&c->setup.ops[i], false) };
		r->nr_ops++;
	}
	for (uint32_t t = 0; t < c->nr_threads; t++)
		for (uint32_t i = 0; i < nr_thread_ops(c, (int)t); i++) {
			r->ops[r->nr_ops] = (struct mmf_lin_op){ .thread = (int)t,
								  .op = bounded_op(&c->thread[t].ops[i], true) };
			r->nr_ops++;
		}
}

/* The state of the run in progress, for the abort report. */
static struct {
	const struct mmf_cprog *c;
	struct run *run;
} cur;

static void run_core(struct run *r, const struct mmf_cprog *c, bool record_trace,
		     const struct mmf_config *cfg)
{
	struct mmf_sched_opts opts = {
		.schedule = c->sched,
		.schedule_len = c->sched_len,
		.on_switch = count_switch,
		.record_trace = record_trace,
		.max_steps = MAX_STEPS,
		.choose = mmf_sched_chooser.choose,
		.choose_ctx = mmf_sched_chooser.ctx,
	};
	memset(r, 0, sizeof(*r));
	r->c = c;
	reserve_ops(r);
	cur.run = r;
	r->w = mmf_core.world_new(cfg);
	if (!r->w) {
		fprintf(stderr, "mmfuzz: error:core:world_new\n");
		abort();
	}
	for (uint32_t i = 0; i < nr_setup(c); i++)
		run_op(r, i);

	mmf_sched_begin(&opts);
	for (uint32_t t = 0; t < c->nr_threads; t++) {
		r->fibers[t] = (struct fiber_ctx){ r, (int)t };
		mmf_sched_spawn(thread_main, &r->fibers[t]);
	}
	mmf_sched_run();
	r->trace_hash = mmf_sched_trace_hash();
	mmf_sched_end();
}

/* ---- reporting ---------------------------------------------------------- */

static void print_history(FILE *out, const struct run *r)
{
	struct mmf_lin_history h = { r->c->nr_threads + 1, r->nr_ops, r->ops };

	mmf_lin_print_history(out, &h);
}

/*
 * The interleaved history: every op's call and return, and between them
 * the scheduling steps of the trace, each with the fiber that ran it.
 */
static void print_interleaving(FILE *out, const struct run *r)
{
	size_t nr_steps = 0, s = 0;
	const struct mmf_sched_step *steps = mmf_sched_trace(&nr_steps);
	char buf[MMF_OP_TEXT_MAX], site[256], res[64];

	fprintf(out, "interleaving (%zu scheduling steps; t%u = setup):\n", nr_steps,
		r->c->nr_threads);
	for (uint64_t e = 1; e <= r->events; e++) {
		for (uint32_t i = 0; i < r->nr_ops; i++) {
			const struct mmf_lin_op *o = &r->ops[i];
			uint64_t clock;

			if (o->call != e && o->ret != e)
				continue;
			clock = o->call == e ? r->call_clock[i] : r->ret_clock[i];
			for (; s < nr_steps && steps[s].clock <= clock; s++)
				fprintf(out, "    step %-6" PRIu64 " %s%d  %s\n", steps[s].clock,
					steps[s].fiber == -2 ? "rcu" : "t",
					steps[s].fiber == -2 ? 0 : steps[s].fiber,
					mmf_sched_site_str(steps[s].site, site, sizeof(site)));
			if (o->call == e)
				fprintf(out, "t%d call  %s\n", o->thread,
					mmf_op_format(&o->op, buf, sizeof(buf)));
			else
				fprintf(out, "t%d ret   %s -> %s\n", o->thread,
					mmf_op_name(o->op.kind),
					mmf_res_str(o->op.kind, &o->res, res, sizeof(res)));
		}
	}
	for (; s < nr_steps; s++)
		fprintf(out, "    step %-6" PRIu64 " %s%d  %s\n", steps[s].clock,
			steps[s].fiber == -2 ? "rcu" : "t",
			steps[s].fiber == -2 ? 0 : steps[s].fiber,
			mmf_sched_site_str(steps[s].site, site, sizeof(site)));
}

/* Called by the sync layer's bug report (deadlock, livelock, misuse) before
 * it aborts: show what was running. */
void mmf_sync_bug_hook(void)
{
	if (!cur.c)
		return;
	fputs("program:\n", stderr);
	mmf_cprog_print(stderr, cur.c);
	if (cur.run) {
		fputs("history so far:\n", stderr);
		print_history(stderr, cur.run);
	}
}

/* ---- the check ------------------------------------------------------------ */

static void fail_with(struct mmf_fuzz_fail *fail, const char *sig)
{
	snprintf(fail->sig, sizeof(fail->sig), "%s", sig);
}

static struct run run, again;

/* A second run of c (no trace kept) gives the first's interleaving and results. */
static bool same_run_again(const struct mmf_cprog *c, const struct mmf_config *cfg,
			   const struct run *first)
{
	bool same;

	run_core(&again, c, false, cfg);
	mmf_core.world_free(again.w);
	same = again.trace_hash == first->trace_hash && again.nr_ops == first->nr_ops;
	for (uint32_t i = 0; same && i < first->nr_ops; i++)
		same = memcmp(&again.ops[i].res, &first->ops[i].res, sizeof(first->ops[i].res)) == 0 &&
		       again.ops[i].call == first->ops[i].call &&
		       again.ops[i].ret == first->ops[i].ret;
	return same;
}

/* The check of c in worlds made with cfg (the core's and the reference's). */
static int check_in_worlds(const struct mmf_cprog *c, unsigned flags,
			   const struct mmf_config *cfg, struct mmf_fuzz_fail *fail, FILE *report)
{
	static struct mmf_lin_result lin;
	struct mmf_lin_limits lim = { .max_states = LIN_MAX_STATES };
	struct mmf_lin_history h;
	enum mmf_lin_verdict verdict;
	struct timespec t0, t1;
	struct mmf_world *ref;
	double secs;
	struct mmf_snap snap;
	char msg[512] = "";
	int bad = 0;

	memset(fail, 0, sizeof(*fail));
	fail->op = -1;
	cur.c = c;
	run_core(&run, c, flags & (MMF_SCHED_HISTORY | MMF_SCHED_ALWAYS_HISTORY), cfg);
	if (mmf_core.check && mmf_core.check(run.w, msg, sizeof(msg))) {
		mmf_invariant_sig(fail->sig, sizeof(fail->sig), msg);
		if (report)
			fprintf(report, "core invariant broken after the run: %s\n", msg);
		bad = 1;
		goto out_world;
	}
	mmf_snap_init(&snap);
	mmf_core.snapshot(run.w, &snap);

	h = (struct mmf_lin_history){ c->nr_threads + 1, run.nr_ops, run.ops };
	ref = mmf_reference.world_new(cfg);
	if (!ref) {
		fail_with(fail, "error:reference:world_new");
		bad = 1;
		goto out_snap;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	verdict = mmf_linearize(&mmf_reference, ref, &h, &snap, &lim, &lin);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (secs > mmf_sched_stats.lin_max_seconds) {
		mmf_sched_stats.lin_max_seconds = secs;
		mmf_sched_stats.lin_max_ops = run.nr_ops;
	}
	if (lin.states > mmf_sched_stats.lin_max_states)
		mmf_sched_stats.lin_max_states = lin.states;
	switch (verdict) {
	case MMF_LIN_OK:
		break;
	case MMF_LIN_UNKNOWN:
		mmf_sched_stats.lin_unknown++;
		break;
	case MMF_LIN_FAIL:
		fail_with(fail, lin.sig);
		fail->op = lin.first_unplaced;
		if (report) {
			fputs("history (not linearizable on the reference):\n", report);
			print_history(report, &run);
			fprintf(report, "%s\n", lin.why);
			if (lin.first_unplaced < 0) {
				fputs("the core's final snapshot:\n", report);
				mmf_snap_print(report, &snap);
			}
		}
		bad = 1;
		break;
	}
	mmf_sched_stats.lin_states += lin.states;
	mmf_sched_stats.inputs++;
	mmf_reference.world_free(ref);
out_snap:
	mmf_snap_free(&snap);
out_world:
	if (report && ((bad && (flags & MMF_SCHED_HISTORY)) || (flags & MMF_SCHED_ALWAYS_HISTORY)))
		print_interleaving(report, &run);
	mmf_core.world_free(run.w);
	/*
	 * The second run of a replay comes after the whole check of the first,
	 * which does what the fuzzer's only run does: when the second ran first
	 * (and its world was freed first), a use-after-free the fuzzer met in
	 * the invariant checker showed in that world_free instead, under
	 * another signature (crash:heap-use-after-free:mmf_refcount_read vs
	 * ..._dec_and_test, zoo NAME_DUP_NO_GET).
	 */
	if ((flags & MMF_SCHED_DETERMINISM) && !same_run_again(c, cfg, &run)) {
		fail_with(fail, "nondeterminism:sched");
		if (report)
			fprintf(report, "two runs of one input differ: trace hash %016" PRIx64
				" vs %016" PRIx64 "\n", again.trace_hash, run.trace_hash);
		bad = 1;
	}
	cur.run = NULL;
	cur.c = NULL;
	return bad;
}

static bool cprog_asks_exec_only(const struct mmf_cprog *c)
{
	if (mmf_prog_asks_exec_only(&c->setup))
		return true;
	for (uint32_t t = 0; t < c->nr_threads; t++)
		if (mmf_prog_asks_exec_only(&c->thread[t]))
			return true;
	return false;
}

/*
 * As on x86 without protection keys; then, if some op asks for PROT_EXEC
 * alone, in worlds with exec_only_pkey (the only programs the two differ on).
 */
int mmf_sched_check(const struct mmf_cprog *c, unsigned flags, struct mmf_fuzz_fail *fail,
		    FILE *report)
{
	static const struct mmf_config plain, pkey = { .exec_only_pkey = true };

	if (check_in_worlds(c, flags, &plain, fail, report))
		return 1;
	if (!cprog_asks_exec_only(c))
		return 0;
	if (report)
		fputs("in worlds with exec_only_pkey (x86 protection keys: PROT_EXEC alone is "
		      "execute-only):\n", report);
	return check_in_worlds(c, flags, &pkey, fail, report);
}

struct mmf_sched_stats mmf_sched_stats;
struct mmf_sched_chooser mmf_sched_chooser;

/* ---- the fuzz entry point ------------------------------------------------- */

static unsigned entry_flags;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *every = getenv("MMF_CHECK_EVERY_OP");

	(void)argc;
	(void)argv;
#ifdef MMF_CHECK_EVERY_OP
	entry_flags |= MMF_SCHED_DETERMINISM;
#endif
	if (every && *every && strcmp(every, "0"))
		entry_flags |= MMF_SCHED_DETERMINISM;
	mmf_fuzz_stats_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mmf_cprog c;
	struct mmf_fuzz_fail fail;

	mmf_cprog_decode(&c, data, size, MMF_DECODE_ANY);
	mmf_fuzz_stats_tick(nr_setup(&c) + c.thread[0].nr_ops + c.thread[1].nr_ops +
			    c.thread[2].nr_ops + c.thread[3].nr_ops);
	if (!mmf_sched_check(&c, entry_flags, &fail, NULL))
		return 0;
	/* again, with the trace, to print the interleaving */
	fputs("program:\n", stderr);
	mmf_cprog_print(stderr, &c);
	mmf_sched_check(&c, entry_flags | MMF_SCHED_HISTORY, &fail, stderr);
	fprintf(stderr, "mmfuzz: %s\n", fail.sig);
	abort();
}
