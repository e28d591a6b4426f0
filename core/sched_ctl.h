/* SPDX-License-Identifier: MIT */
/*
 * core/sched_ctl.h - the control side of the deterministic backend of
 * core/sync.h (core/sync_sched.c, built with MMF_SYNC_SCHED).
 *
 * The core itself never includes this file: it only sees sync.h, whose
 * primitives are scheduling points in this backend.  A driver (the
 * sched_fuzzer, its replay, the tests) includes it to:
 *
 *   1. mmf_sched_begin(opts)    reset the scheduler for one run; the
 *                               schedule bytes decide every choice below;
 *   2. mmf_sched_spawn(fn, arg) create fibers (cooperative, on the calling
 *                               OS thread; fiber ids 0, 1, 2 ... in order);
 *   3. mmf_sched_run()          run them to completion: at every scheduling
 *                               point the scheduler picks the next runnable
 *                               fiber (or the simulated RCU callback runner)
 *                               from the schedule; returns when every fiber
 *                               has returned and no RCU callback is pending;
 *   4. mmf_sched_end()          free the fibers (the trace stays readable
 *                               until the next begin).
 *
 * The same opts give the same interleaving, step for step: nothing here
 * depends on time, addresses or the OS scheduler.  mmf_sched_trace_hash()
 * summarises a run so that a driver can check that (run twice, compare).
 *
 * Outside mmf_sched_run() (the "main context": setup before the fibers
 * start, snapshot and checks after), the sync.h primitives work without
 * yielding; a primitive that would block there is a bug (mmf_sync_bug).
 * mmf_call_rcu() from the main context queues the callback; a grace period
 * there is immediate (no fiber exists), and mmf_rcu_barrier() /
 * mmf_synchronize_rcu() run what is due at once.
 *
 * Failures end in mmf_sync_bug() (abort) with a stable first word:
 *   "deadlock: ..."   no fiber can run: each fiber's state, what it waits
 *                     on, and its stack of held locks (with the sites that
 *                     took them) are printed first;
 *   "livelock: ..."   more than opts.max_steps scheduling steps;
 * plus the misuse reports sync.h already lists.
 *
 * RCU is simulated: a grace period that starts at step s ends only once
 * every fiber that was inside a read-side section at s has left it, and
 * when it ends is itself a scheduling decision; callbacks run (in
 * mmf_call_rcu order) on a pseudo-fiber the schedule picks like any other.
 * So memory freed without a grace period while a reader still holds it is
 * a use-after-free that ASan reports when the reader resumes.
 */
#ifndef MMF_CORE_SCHED_CTL_H
#define MMF_CORE_SCHED_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMF_SCHED_MAX_FIBERS	8

/* What opts.choose is asked (see below). */
struct mmf_sched_choice {
	uint64_t clock;		/* mmf_sched_clock() at the question */
	int nr_candidates;	/* in the order of the top of sync_sched.c */
	int running;		/* fiber id of the one asking (-1 main, -2 RCU) */
	/*
	 * A byte's run length could pass this point without a decision:
	 * candidate 0 is the one asking, which may keep running; choosing
	 * another is a preemption.  Otherwise it blocks, ends or spins.
	 */
	int skippable;
	int ids[MMF_SCHED_MAX_FIBERS + 2];	/* candidates' fiber ids (-2: RCU) */
};

struct mmf_sched_opts {
	/*
	 * The schedule: bytes that decide, at each scheduling point, whether
	 * to switch and to which runnable fiber (the encoding is the backend's
	 * and documented at the top of sync_sched.c: one byte per decision
	 * with a real choice; b & 7 picks the candidate, 0 = keep running;
	 * b >> 3 is how many points the chosen one runs before the next
	 * decision).  When they run out the scheduler goes round-robin (64
	 * points each), so every schedule, even the empty one, runs to
	 * completion; spinning (mmf_cpu_relax) always yields.
	 */
	const uint8_t *schedule;
	size_t schedule_len;
	/* Scheduling steps before "livelock"; 0: a default (10^6). */
	uint64_t max_steps;
	/*
	 * Called at every switch from one fiber to another (after the choice,
	 * before the switch) with the site of the scheduling point the old
	 * fiber stopped at: a driver feeds (site, from, to) to the fuzzer as
	 * interleaving coverage.  `site` is stable within one binary (an
	 * offset, not an ASLR-dependent address).  May be NULL.
	 */
	void (*on_switch)(void *ctx, uint32_t site, int from, int to);
	void *ctx;
	/* Keep a step-by-step trace (mmf_sched_trace); off: only the hash. */
	int record_trace;
	/*
	 * Exploration (fuzzers/sched_explore.c): when set, the schedule bytes
	 * are ignored and choose() is asked at every decision point instead,
	 * including those with 0 or 1 candidates (told, not asked: the return
	 * value is ignored there), with run length 0, so at every scheduling
	 * point.  It returns the candidate index, as b & 7 of a byte would.
	 * A log of its questions and answers encodes as schedule bytes that
	 * replay the same run (sched_explore.c, mmf_explore_encode).
	 */
	int (*choose)(void *ctx, const struct mmf_sched_choice *q);
	void *choose_ctx;
};

typedef void (*mmf_fiber_fn)(void *arg);

/*
 * Implementation notes (core/sync_sched.c has the details):
 *  - one OS thread: the first thread that uses the backend owns it (any
 *    other is a bug); fibers never run in parallel, so a driver's own
 *    state needs no locks -- but under TSan fibers are threads that
 *    synchronise only through sync.h, so state that several fibers write
 *    must use atomics (e.g. __atomic_add_fetch, relaxed) or a sync.h lock;
 *  - the schedule bytes are copied at begin; opts.on_switch runs on the
 *    scheduler's context (the caller of mmf_sched_run, its stack and TSan
 *    thread), with from/to fiber ids, or -2 for the RCU runner;
 *  - a fiber that returns holding a lock or inside a read-side section is
 *    a bug; so is a fiber blocking inside a read-side section or under a
 *    spinlock (sync.h's rules, checked here);
 *  - fiber stacks (256 KiB) are reused by the next begin: mmf_sched_end
 *    keeps up to MMF_SCHED_MAX_FIBERS of them.
 */
void mmf_sched_begin(const struct mmf_sched_opts *opts);
/* Create a fiber that will run fn(arg); returns its id.  From the main
 * context before (or a fiber during) mmf_sched_run. */
int mmf_sched_spawn(mmf_fiber_fn fn, void *arg);
/* Run every fiber to completion (see above). */
void mmf_sched_run(void);
void mmf_sched_end(void);

/* The running fiber's id; -1 in the main context, -2 inside an RCU
 * callback (run by the scheduler, see RCU above). */
int mmf_sched_current(void);
/*
 * Logical time: the number of scheduling steps taken so far in this run.
 * Strictly increases across every scheduling point, so call/return
 * timestamps taken by a driver around an op order the ops in real time.
 */
uint64_t mmf_sched_clock(void);
/* A hash of every decision and site of this run (same opts -> same hash). */
uint64_t mmf_sched_trace_hash(void);
/* Switches from one fiber (or the RCU runner) to another in this run. */
uint64_t mmf_sched_switches(void);
/* Schedule bytes consumed so far (decisions with a real choice). */
size_t mmf_sched_bytes_used(void);

/* One step of the trace: at `clock`, fiber `fiber` (-2: the RCU callback
 * runner) ran from a scheduling point at `site`. */
struct mmf_sched_step {
	uint64_t clock;
	int fiber;
	uint32_t site;
};
/* The recorded trace (opts.record_trace), valid until the next begin. */
const struct mmf_sched_step *mmf_sched_trace(size_t *nr_steps);
/* "function file:line" of a site when symbols are known, else "+0x1234". */
const char *mmf_sched_site_str(uint32_t site, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MMF_CORE_SCHED_CTL_H */
