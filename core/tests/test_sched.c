/* SPDX-License-Identifier: MIT */
/*
 * core/tests/test_sched.c - the deterministic backend (core/sync_sched.c):
 *
 *   determinism     the same schedule gives the same trace, hash and
 *                   interleaving; different schedules give different ones
 *   exclusion       mutex, spinlock and rwsem keep their critical sections
 *                   exclusive under hundreds of schedules (and the same
 *                   program without the lock does lose updates)
 *   rwsem           writer preference: a waiting writer stops new readers
 *                   and read trylocks; downgrade_write lets readers in
 *   rcu             synchronize_rcu waits for a reader inside its section
 *                   across yields; a callback runs only after its grace
 *                   period; rcu_barrier; the main context
 *   deadlock        an ABBA program ends in "deadlock:" listing both
 *                   fibers' held locks (in a child process)
 *   core ops        fibers running the core's ops on one world: disjoint
 *                   windows give exactly the reference's results and
 *                   snapshot under every schedule; overlapping ones keep the
 *                   invariants and replay identically
 *
 * Modes for the ctests that expect a crash:
 *   --abba            the ABBA deadlock (core.sched_deadlock)
 *   --livelock        a fiber spinning on a flag nobody sets
 *   --immediate-free  a writer frees an RCU-protected object without a
 *                     grace period while a reader holds it across a yield:
 *                     ASan reports heap-use-after-free when it resumes (TSan:
 *                     a race with the free)
 *   --race            two fibers increment a plain int without a lock
 *                     across a yield: TSan reports the data race
 * and --bench (figures; use a release build), --chaos-hashes (the hashes
 * the cross-process determinism test compares), --misuse=WHAT (the misuse
 * reports test_misuse_reports expects).
 *
 * Shared test state is accessed with mmf_read_once/mmf_write_once (atomics,
 * and scheduling points) or under the lock under test, so the program is
 * TSan-clean exactly when the backend's annotations are right.
 */
#include "mm.h"
#include "sched_ctl.h"
#include "sync.h"
#include "t.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const struct mmf_impl mmf_core;

/* ---- helpers ------------------------------------------------------------------- */

static unsigned long long seed = 0x5eed5eedULL;

static size_t random_schedule(uint8_t *buf, size_t max)
{
	size_t len = t_rand(&seed) % (max + 1), i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)t_rand(&seed);
	return len;
}

/* Short run lengths (0..7): a decision every few points, deep interleaving. */
static size_t fine_schedule(uint8_t *buf, size_t max)
{
	size_t len = t_rand(&seed) % (max + 1), i;

	for (i = 0; i < len; i++) {
		unsigned long long r = t_rand(&seed);

		buf[i] = (uint8_t)((r & 7) | ((r >> 8) % 8) << 3);
	}
	return len;
}

struct run_result {
	uint64_t hash, clock, switches;
	size_t bytes_used;
};

/* One run of nfib fibers fn(args[i]) under `bytes`. */
static struct run_result run(const uint8_t *bytes, size_t len, int nfib,
			     mmf_fiber_fn fn, void *const *args, bool trace)
{
	struct mmf_sched_opts opts = {
		.schedule = bytes, .schedule_len = len, .record_trace = trace,
	};
	struct run_result r;
	int i;

	mmf_sched_begin(&opts);
	for (i = 0; i < nfib; i++)
		mmf_sched_spawn(fn, args ? args[i] : (void *)(long)i);
	mmf_sched_run();
	r.hash = mmf_sched_trace_hash();
	r.clock = mmf_sched_clock();
	r.switches = mmf_sched_switches();
	r.bytes_used = mmf_sched_bytes_used();
	mmf_sched_end();
	return r;
}

/* Spin (yielding) until *flag becomes non-zero; false after `limit` tries. */
static bool wait_flag(int *flag, int limit)
{
	while (!mmf_read_once(*flag)) {
		if (limit-- == 0)
			return false;
		mmf_cpu_relax();
	}
	return true;
}

static void points(int n)
{
	while (n--)
		mmf_sched_point();
}

/* ---- determinism --------------------------------------------------------------- */

static struct mmf_mutex det_lock;
static int det_log[64], det_nr;

static void det_fiber(void *arg)
{
	int id = (int)(long)arg, i;

	for (i = 0; i < 5; i++) {
		mmf_mutex_lock(&det_lock);
		det_log[det_nr++] = id;
		points(2);
		mmf_mutex_unlock(&det_lock);
	}
}

struct switch_count {
	uint64_t n;
	bool bad;
};

static void count_switch(void *ctx, uint32_t site, int from, int to)
{
	struct switch_count *c = ctx;

	c->n++;
	if (from == to || from < -2 || to < -2 || to >= MMF_SCHED_MAX_FIBERS)
		c->bad = true;
}

static void test_determinism(void)
{
	uint8_t bytes[64];
	int logs[60][15], nr_distinct = 0, i, j, s;
	size_t len, nr1, nr2;
	bool same_trace = true, strictly_increasing = true;
	struct mmf_sched_step *copy;
	const struct mmf_sched_step *t;
	struct run_result a, b;

	mmf_mutex_init(&det_lock);
	for (s = 0; s < 60; s++) {
		len = random_schedule(bytes, sizeof(bytes));
		det_nr = 0;
		a = run(bytes, len, 3, det_fiber, NULL, true);
		memcpy(logs[s], det_log, sizeof(logs[s]));
		t = mmf_sched_trace(&nr1);
		copy = malloc(nr1 * sizeof(*copy));
		memcpy(copy, t, nr1 * sizeof(*copy));
		for (i = 1; i < (int)nr1; i++)
			if (copy[i].clock <= copy[i - 1].clock)
				strictly_increasing = false;

		det_nr = 0;
		b = run(bytes, len, 3, det_fiber, NULL, true);
		t = mmf_sched_trace(&nr2);
		if (nr1 != nr2 || memcmp(copy, t, nr1 * sizeof(*copy)))
			same_trace = false;
		free(copy);
		EXPECT(a.hash == b.hash && a.clock == b.clock, "schedule %d: hash or clock differs", s);
		EXPECT(!memcmp(logs[s], det_log, sizeof(logs[s])), "schedule %d: order differs", s);
		EXPECT(det_nr == 15, "schedule %d: %d critical sections", s, det_nr);
		EXPECT(nr1 == a.clock, "trace has %zu steps, clock %llu", nr1,
		       (unsigned long long)a.clock);

		for (j = 0; j < s; j++)
			if (!memcmp(logs[j], logs[s], sizeof(logs[s])))
				break;
		nr_distinct += j == s;
	}
	CHECK(same_trace, "same schedule, same step-by-step trace");
	CHECK(strictly_increasing, "trace clock strictly increases");
	CHECK(nr_distinct >= 20, "%d distinct lock orders in 60 schedules", nr_distinct);

	/* the empty schedule runs to completion; fiber 0 first and alone at first */
	det_nr = 0;
	a = run(NULL, 0, 3, det_fiber, NULL, false);
	CHECK(det_nr == 15 && det_log[0] == 0, "empty schedule: %d sections", det_nr);
	CHECK(a.bytes_used == 0, "empty schedule used %zu bytes", a.bytes_used);

	/* all-zero bytes: keep running; fiber 0 does its five sections first */
	memset(bytes, 0, sizeof(bytes));
	det_nr = 0;
	run(bytes, sizeof(bytes), 3, det_fiber, NULL, false);
	for (i = 0; i < 5; i++)
		EXPECT(det_log[i] == 0, "zero schedule: section %d by fiber %d", i, det_log[i]);

	/* two different schedules: different hashes */
	{
		uint8_t x[8] = { 0x01, 0x02, 0x01, 0x03, 0x01, 0x01, 0x02, 0x01 };
		uint8_t y[8] = { 0x00, 0x09, 0x01, 0x02, 0x00, 0x01, 0x01, 0x02 };
		struct run_result rx, ry;

		det_nr = 0;
		rx = run(x, sizeof(x), 3, det_fiber, NULL, false);
		det_nr = 0;
		ry = run(y, sizeof(y), 3, det_fiber, NULL, false);
		CHECK(rx.hash != ry.hash, "different schedules, different hashes");
	}

	/* on_switch: every switch is reported, from != to */
	{
		struct switch_count c = { 0, false };
		struct mmf_sched_opts opts = { .on_switch = count_switch, .ctx = &c };

		len = random_schedule(bytes, sizeof(bytes));
		opts.schedule = bytes;
		opts.schedule_len = len;
		det_nr = 0;
		mmf_sched_begin(&opts);
		for (i = 0; i < 3; i++)
			mmf_sched_spawn(det_fiber, (void *)(long)i);
		mmf_sched_run();
		CHECK(c.n == mmf_sched_switches() && c.n > 0 && !c.bad,
		      "on_switch called %llu times for %llu switches",
		      (unsigned long long)c.n, (unsigned long long)mmf_sched_switches());
		mmf_sched_end();
	}
	mmf_mutex_destroy(&det_lock);
}

/* ---- mutual exclusion ------------------------------------------------------------- */

enum excl_kind { EX_MUTEX, EX_SPIN, EX_RWSEM, EX_NONE };

static struct {
	enum excl_kind kind;
	struct mmf_mutex m;
	struct mmf_spinlock l;
	struct mmf_rwsem s;
	int counter;		/* atomically accessed: the lost-update detector */
	int in_cs, readers_in;	/* under the lock */
	int violations;
} ex;

#define EX_ITERS 8

/* counter++ as load, yield, store: only the lock makes it atomic */
static void split_increment(void)
{
	int v = mmf_read_once(ex.counter);

	mmf_sched_point();
	mmf_write_once(ex.counter, v + 1);
}

static void excl_fiber(void *arg)
{
	int id = (int)(long)arg, i;

	for (i = 0; i < EX_ITERS; i++) {
		switch (ex.kind) {
		case EX_MUTEX:
			mmf_mutex_lock(&ex.m);
			ex.violations += ex.in_cs++ != 0;
			if (MMF_SYNC_DEBUG && mmf_sync_locks_held() != 1)
				ex.violations++;
			split_increment();
			ex.in_cs--;
			mmf_mutex_unlock(&ex.m);
			break;
		case EX_SPIN:
			mmf_spin_lock(&ex.l);
			ex.violations += ex.in_cs++ != 0;
			split_increment();
			ex.in_cs--;
			mmf_spin_unlock(&ex.l);
			break;
		case EX_RWSEM:
			if ((id + i) % 3 == 0) {
				mmf_down_write(&ex.s);
				ex.violations += ex.in_cs++ != 0 || ex.readers_in != 0;
				split_increment();
				ex.in_cs--;
				mmf_up_write(&ex.s);
			} else {
				mmf_down_read(&ex.s);
				/* readers count under the read lock: an atomic */
				__atomic_add_fetch(&ex.readers_in, 1, __ATOMIC_RELAXED);
				if (ex.in_cs != 0)	/* readers share it: atomically */
					__atomic_add_fetch(&ex.violations, 1, __ATOMIC_RELAXED);
				points(2);
				/* readers exclude the writer's split increment */
				__atomic_add_fetch(&ex.counter, 1, __ATOMIC_RELAXED);
				__atomic_sub_fetch(&ex.readers_in, 1, __ATOMIC_RELAXED);
				mmf_up_read(&ex.s);
			}
			break;
		case EX_NONE:
			split_increment();
			break;
		}
	}
}

static void test_exclusion(void)
{
	static const char *const names[] = { "mutex", "spinlock", "rwsem", "no lock" };
	uint8_t bytes[96];
	int k, s, lost_without_lock = 0;

	mmf_mutex_init(&ex.m);
	mmf_spin_init(&ex.l);
	mmf_rwsem_init(&ex.s);
	for (k = EX_MUTEX; k <= EX_NONE; k++) {
		int bad = 0;

		ex.kind = k;
		for (s = 0; s < 250; s++) {
			size_t len = random_schedule(bytes, sizeof(bytes));

			ex.counter = 0;
			ex.violations = 0;
			run(bytes, len, 4, excl_fiber, NULL, false);
			if (k == EX_NONE) {
				lost_without_lock += ex.counter != 4 * EX_ITERS;
				continue;
			}
			if (ex.counter != 4 * EX_ITERS || ex.violations)
				bad++;
		}
		if (k != EX_NONE)
			CHECK(bad == 0, "%s: %d of 250 schedules broke exclusion", names[k], bad);
	}
	CHECK(lost_without_lock > 50, "without a lock, %d of 250 schedules lost updates",
	      lost_without_lock);
	mmf_mutex_destroy(&ex.m);
	mmf_spin_destroy(&ex.l);
	mmf_rwsem_destroy(&ex.s);
}

/* ---- rwsem: writer preference, downgrade, trylocks ---------------------------------- */

static struct {
	struct mmf_rwsem s;
	int r1_in, r1_released, w_started, r2_saw_writer, w_done, r2_done;
	int order[3], nr_order;		/* under s */
	int w_saw_r1_released;
	int write_trylock_failed;
	/* downgrade */
	int w2_has_write, r3_in, r3_in_before_w2_up;
	int timeouts;			/* a wait that should have ended did not */
} rw;

/* A bounded wait for the rwsem tests: a timeout is a counted failure. */
static void rw_wait(int *flag)
{
	if (!wait_flag(flag, 5000))
		rw.timeouts++;
}

static void rw_reader1(void *arg)
{
	mmf_down_read(&rw.s);
	mmf_write_once(rw.r1_in, 1);
	/* stay until R2 has seen the waiting writer turn it away */
	rw_wait(&rw.r2_saw_writer);
	mmf_write_once(rw.r1_released, 1);
	mmf_up_read(&rw.s);
}

static void rw_writer(void *arg)
{
	rw_wait(&rw.r1_in);
	/* a reader holds it: a write trylock fails and does not block */
	if (!mmf_down_write_trylock(&rw.s))
		mmf_write_once(rw.write_trylock_failed, 1);
	else
		mmf_up_write(&rw.s);
	mmf_write_once(rw.w_started, 1);
	mmf_down_write(&rw.s);
	rw.w_saw_r1_released = mmf_read_once(rw.r1_released);
	rw.order[rw.nr_order++] = 'W';
	points(3);
	mmf_up_write(&rw.s);
	mmf_write_once(rw.w_done, 1);
}

static void rw_reader2(void *arg)
{
	int tries = 0;

	rw_wait(&rw.w_started);
	/* until the writer queues, read trylocks succeed; then they fail */
	while (mmf_down_read_trylock(&rw.s)) {
		mmf_up_read(&rw.s);
		if (++tries == 5000) {
			rw.timeouts++;		/* a waiting writer never stopped us */
			break;
		}
		mmf_cpu_relax();
	}
	mmf_write_once(rw.r2_saw_writer, 1);
	mmf_down_read(&rw.s);		/* waits behind the writer */
	rw.order[rw.nr_order++] = 'R';
	mmf_up_read(&rw.s);
}

static void dg_writer(void *arg)
{
	int i;

	mmf_down_write(&rw.s);
	mmf_write_once(rw.w2_has_write, 1);
	points(4);
	mmf_downgrade_write(&rw.s);
	/* the waiting reader gets in while we still hold it for read */
	for (i = 0; i < 1000 && !mmf_read_once(rw.r3_in); i++)
		mmf_cpu_relax();
	rw.r3_in_before_w2_up = mmf_read_once(rw.r3_in);
	mmf_up_read(&rw.s);
}

static void dg_reader(void *arg)
{
	rw_wait(&rw.w2_has_write);
	mmf_down_read(&rw.s);
	mmf_write_once(rw.r3_in, 1);
	points(2);
	mmf_up_read(&rw.s);
}

static void rw_fiber(void *arg)
{
	static const mmf_fiber_fn fns[] = { rw_reader1, rw_writer, rw_reader2 };

	fns[(long)arg](NULL);
}

static void dg_fiber(void *arg)
{
	(arg ? dg_reader : dg_writer)(NULL);
}

static void test_rwsem(void)
{
	uint8_t bytes[64];
	int s, bad_order = 0, bad_wait = 0, bad_try = 0, bad_dg = 0, timeouts = 0;

	mmf_rwsem_init(&rw.s);
	for (s = 0; s < 200; s++) {
		size_t len = random_schedule(bytes, sizeof(bytes));

		memset(&rw.r1_in, 0, sizeof(rw) - offsetof(typeof(rw), r1_in));
		run(bytes, len, 3, rw_fiber, NULL, false);
		bad_order += rw.nr_order != 2 || rw.order[0] != 'W' || rw.order[1] != 'R';
		bad_wait += !rw.w_saw_r1_released;
		bad_try += !rw.write_trylock_failed;
		run(bytes, len, 2, dg_fiber, NULL, false);
		bad_dg += !rw.r3_in_before_w2_up;
		timeouts += rw.timeouts;
	}
	CHECK(timeouts == 0, "%d waits timed out", timeouts);
	CHECK(bad_order == 0, "waiting writer stops new readers: %d of 200 schedules wrong", bad_order);
	CHECK(bad_wait == 0, "writer waits for the reader: %d of 200 wrong", bad_wait);
	CHECK(bad_try == 0, "down_write_trylock under a reader fails: %d of 200 wrong", bad_try);
	CHECK(bad_dg == 0, "downgrade_write lets a waiting reader in: %d of 200 wrong", bad_dg);
	CHECK(!mmf_rwsem_is_locked(&rw.s), "rwsem free at the end");
	mmf_rwsem_destroy(&rw.s);
}

/* ---- RCU ------------------------------------------------------------------------------ */

struct rcu_obj {
	int alive;
	struct mmf_rcu_head rcu;
};

static struct {
	struct rcu_obj *gp;		/* the published pointer */
	int reader_in, reader_leaving, sync_returned_early, cb_ran, cb_ran_early;
	int reader_saw_dead;
	int depth_seen_by_other;
	int timeouts;
} rc;

static void rcu_obj_free(struct mmf_rcu_head *h)
{
	struct rcu_obj *o = container_of(h, struct rcu_obj, rcu);

	o->alive = 0;
	free(o);
	mmf_write_once(rc.cb_ran, 1);
}

/* a reader inside its section across yields */
static void sync_reader(void *arg)
{
	mmf_rcu_read_lock();
	mmf_write_once(rc.reader_in, 1);
	points(30);
	mmf_write_once(rc.reader_leaving, 1);
	mmf_rcu_read_unlock();
}

static void sync_writer(void *arg)
{
	if (!wait_flag(&rc.reader_in, 10000)) {
		rc.timeouts++;
		return;
	}
	rc.depth_seen_by_other = mmf_rcu_read_depth();	/* ours: 0 */
	mmf_synchronize_rcu();
	rc.sync_returned_early = !mmf_read_once(rc.reader_leaving);
}

static void cb_reader(void *arg)
{
	struct rcu_obj *o;
	int i;

	mmf_rcu_read_lock();
	o = mmf_rcu_dereference(rc.gp);
	mmf_write_once(rc.reader_in, 1);
	for (i = 0; i < 30; i++) {
		mmf_sched_point();
		if (mmf_read_once(rc.cb_ran))
			rc.cb_ran_early = 1;
		if (!o->alive)
			rc.reader_saw_dead = 1;
	}
	mmf_rcu_read_unlock();
}

static void cb_writer(void *arg)
{
	struct rcu_obj *o;

	if (!wait_flag(&rc.reader_in, 10000)) {
		rc.timeouts++;
		return;
	}
	o = mmf_rcu_access_pointer(rc.gp);
	mmf_rcu_assign_pointer(rc.gp, NULL);
	mmf_call_rcu(&o->rcu, rcu_obj_free);
	mmf_rcu_barrier();
	if (!mmf_read_once(rc.cb_ran))
		rc.cb_ran_early = 2;	/* barrier returned before the callback */
}

static void rcu_fiber(void *arg)
{
	long k = (long)arg;

	if (k == 0)
		sync_reader(NULL);
	else if (k == 1)
		sync_writer(NULL);
	else if (k == 2)
		cb_reader(NULL);
	else
		cb_writer(NULL);
}

/* call_rcu and return: mmf_sched_run drains the callback */
static void fire_and_forget(void *arg)
{
	struct rcu_obj *o = malloc(sizeof(*o));

	o->alive = 1;
	mmf_call_rcu(&o->rcu, rcu_obj_free);
}

/*
 * A writer replaces the published object NR_GEN times, handing each old
 * one to call_rcu (one to synchronize_rcu + free), while two readers hold
 * what they found across yields: every object a reader can still hold
 * must be alive (ASan would also report the use after free).
 */
#define NR_GEN 10

static struct {
	struct rcu_obj *gp;
	int bad_reads, readers_done;
} st;

static void stream_free(struct mmf_rcu_head *h)
{
	struct rcu_obj *o = container_of(h, struct rcu_obj, rcu);

	o->alive = 0;
	free(o);
}

static void stream_fiber(void *arg)
{
	struct rcu_obj *o, *old;
	int i;

	if (arg) {			/* reader */
		for (i = 0; i < 12; i++) {
			mmf_rcu_read_lock();
			o = mmf_rcu_dereference(st.gp);
			points(1 + (3 * i + (int)(long)arg) % 9);
			if (!o->alive)
				st.bad_reads++;
			mmf_rcu_read_unlock();
			mmf_sched_point();
		}
		return;
	}
	for (i = 0; i < NR_GEN; i++) {	/* writer */
		o = malloc(sizeof(*o));
		o->alive = 1;
		old = mmf_rcu_access_pointer(st.gp);
		mmf_rcu_assign_pointer(st.gp, o);
		if (i == NR_GEN / 2) {
			mmf_synchronize_rcu();
			old->alive = 0;
			free(old);
		} else {
			mmf_call_rcu(&old->rcu, stream_free);
		}
	}
}

static void test_rcu_stream(void)
{
	void *args[3] = { NULL, (void *)1L, (void *)2L };
	uint8_t bytes[96];
	int s, bad = 0;

	for (s = 0; s < 500; s++) {
		size_t len = random_schedule(bytes, sizeof(bytes));

		st.gp = malloc(sizeof(*st.gp));
		st.gp->alive = 1;
		st.bad_reads = 0;
		run(bytes, len, 3, stream_fiber, args, false);
		bad += st.bad_reads;
		free(st.gp);
	}
	CHECK(bad == 0, "readers saw %d freed objects in 500 schedules", bad);
}

static void test_rcu(void)
{
	uint8_t bytes[64];
	void *sync_args[2] = { (void *)0L, (void *)1L };
	void *cb_args[2] = { (void *)2L, (void *)3L };
	int s, early_sync = 0, early_cb = 0, dead = 0, missing_cb = 0, timeouts = 0;
	struct rcu_obj *o;

	for (s = 0; s < 200; s++) {
		size_t len = random_schedule(bytes, sizeof(bytes));

		memset(&rc, 0, sizeof(rc));
		run(bytes, len, 2, rcu_fiber, sync_args, false);
		early_sync += rc.sync_returned_early;
		timeouts += rc.timeouts;

		memset(&rc, 0, sizeof(rc));
		rc.gp = malloc(sizeof(*rc.gp));
		rc.gp->alive = 1;
		run(bytes, len, 2, rcu_fiber, cb_args, false);
		early_cb += rc.cb_ran_early != 0;
		dead += rc.reader_saw_dead;
		missing_cb += !rc.cb_ran;
		timeouts += rc.timeouts;
	}
	CHECK(timeouts == 0, "%d waits for the reader timed out", timeouts);
	CHECK(early_sync == 0, "synchronize_rcu returned inside the reader's section: %d of 200",
	      early_sync);
	CHECK(early_cb == 0, "callback ran before the reader left, or barrier did not wait: %d",
	      early_cb);
	CHECK(dead == 0, "reader saw a dead object: %d", dead);
	CHECK(missing_cb == 0, "callback never ran: %d", missing_cb);
	CHECK(rc.depth_seen_by_other == 0 || rc.depth_seen_by_other == -1,
	      "read depth is per fiber");

	/* mmf_sched_run returns only when every callback has run */
	rc.cb_ran = 0;
	run(NULL, 0, 1, fire_and_forget, NULL, false);
	CHECK(rc.cb_ran, "mmf_sched_run drains the callbacks");

	/* main context: call_rcu queues, rcu_barrier runs it at once */
	rc.cb_ran = 0;
	o = malloc(sizeof(*o));
	mmf_call_rcu(&o->rcu, rcu_obj_free);
	CHECK(!rc.cb_ran, "main context: call_rcu only queues");
	mmf_rcu_barrier();
	CHECK(rc.cb_ran, "main context: rcu_barrier runs the callback");
	rc.cb_ran = 0;
	o = malloc(sizeof(*o));
	mmf_call_rcu(&o->rcu, rcu_obj_free);
	mmf_synchronize_rcu();
	CHECK(rc.cb_ran, "main context: synchronize_rcu runs what is due");
	mmf_rcu_read_lock();
	CHECK(!MMF_SYNC_DEBUG || mmf_rcu_read_depth() == 1, "main context read depth");
	mmf_rcu_read_unlock();
}

/* ---- debug tracking per fiber --------------------------------------------------------- */

static struct {
	struct mmf_mutex m;
	int holder_count, other_count, other_done;
	bool holder_is_held, other_is_held;
} dt;

static void dt_fiber(void *arg)
{
	if (arg == NULL) {
		mmf_mutex_lock(&dt.m);
		dt.holder_count = mmf_sync_locks_held();
		dt.holder_is_held = mmf_mutex_is_held(&dt.m);
		wait_flag(&dt.other_done, 1000);
		mmf_mutex_unlock(&dt.m);
	} else {
		dt.other_count = mmf_sync_locks_held();
		dt.other_is_held = mmf_mutex_is_held(&dt.m);
		mmf_write_once(dt.other_done, 1);
	}
}

static void test_tracking(void)
{
	void *args[2] = { NULL, (void *)1L };

	mmf_mutex_init(&dt.m);
	run(NULL, 0, 2, dt_fiber, args, false);
	if (MMF_SYNC_DEBUG) {	/* tracking is off otherwise (-1, is_held always true) */
		CHECK(dt.holder_count == 1 && dt.holder_is_held, "holder: %d lock(s)",
		      dt.holder_count);
		CHECK(dt.other_count == 0 && !dt.other_is_held, "other fiber: %d lock(s)",
		      dt.other_count);
		CHECK(mmf_sync_locks_held() == 0 && mmf_rcu_read_depth() == 0,
		      "main context: nothing held");
	}
	CHECK(mmf_sched_current() == -1, "main context id");
	/* the main context does not yield, and trylocks work there */
	CHECK(mmf_mutex_trylock(&dt.m), "main: trylock");
	CHECK(!mmf_mutex_trylock(&dt.m), "main: second trylock fails");
	mmf_mutex_unlock(&dt.m);
	mmf_mutex_destroy(&dt.m);
}

/* ---- the core's ops on fibers ------------------------------------------------------------ */

#define P	MMF_PAGE_SIZE
#define MAX_OPS	32

static struct mmf_op op_mmap(int proc, uint64_t addr, uint64_t len, uint32_t prot,
			     uint32_t flags, int file, uint64_t pgoff)
{
	return (struct mmf_op){ .kind = MMF_OP_MMAP, .proc = proc, .addr = addr, .len = len,
				.prot = prot, .flags = flags, .file = file, .pgoff = pgoff };
}

static struct mmf_op op_range(enum mmf_op_kind kind, int proc, uint64_t addr, uint64_t len)
{
	return (struct mmf_op){ .kind = kind, .proc = proc, .addr = addr, .len = len };
}

static struct mmf_op op_rw(enum mmf_op_kind kind, int proc, uint64_t addr, uint64_t value)
{
	return (struct mmf_op){ .kind = kind, .proc = proc, .addr = addr, .value = value };
}

struct thread_prog {
	int nr;
	struct mmf_op ops[MAX_OPS];
	struct mmf_res res[MAX_OPS];
};

static struct mmf_world *core_world;

static void prog_fiber(void *arg)
{
	struct thread_prog *t = arg;
	int i;

	for (i = 0; i < t->nr; i++)
		mmf_core.exec(core_world, &t->ops[i], &t->res[i]);
}

static void add(struct thread_prog *t, struct mmf_op op)
{
	t->ops[t->nr++] = op;
}

/* Fiber t works in its own window of p0 and on its own file f<t>. */
static void disjoint_prog(struct thread_prog *t, int id)
{
	uint64_t base = 0x10000000ULL + (uint64_t)id * 0x1000000ULL;
	struct mmf_op name;

	t->nr = 0;
	add(t, op_mmap(0, base, 8 * P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	add(t, op_rw(MMF_OP_WRITE, 0, base, 0x100 + id));
	add(t, op_rw(MMF_OP_WRITE, 0, base + 3 * P, 0x200 + id));
	add(t, op_rw(MMF_OP_READ, 0, base + 3 * P, 0));
	add(t, (struct mmf_op){ .kind = MMF_OP_MPROTECT, .proc = 0, .addr = base + 2 * P,
				.len = 2 * P, .prot = PROT_READ });
	add(t, op_rw(MMF_OP_WRITE, 0, base + 2 * P, 1));	/* SEGV/ACCERR */
	add(t, op_mmap(0, base + 0x100000, 4 * P, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, id, 0));
	add(t, op_rw(MMF_OP_WRITE, 0, base + 0x100000 + P, 0x300 + id));
	add(t, op_rw(MMF_OP_READ, 0, base + 0x100000 + P, 0));
	add(t, (struct mmf_op){ .kind = MMF_OP_TRUNCATE, .file = id, .len = 2 * P });
	add(t, op_rw(MMF_OP_READ, 0, base + 0x100000 + 3 * P, 0));	/* SIGBUS */
	name = op_range(MMF_OP_SET_NAME, 0, base + 4 * P, 2 * P);
	snprintf(name.name, sizeof(name.name), "fiber%d", id);
	add(t, name);
	add(t, (struct mmf_op){ .kind = MMF_OP_MADVISE, .proc = 0, .addr = base, .len = P,
				.advice = MADV_DONTNEED });
	add(t, op_rw(MMF_OP_READ, 0, base, 0));
	add(t, (struct mmf_op){ .kind = MMF_OP_MREMAP, .proc = 0, .addr = base + 6 * P, .len = 2 * P,
				.new_len = 2 * P, .flags = MREMAP_MAYMOVE | MREMAP_FIXED,
				.new_addr = base + 0x200000 });
	add(t, op_rw(MMF_OP_WRITE, 0, base + 0x200000, 0x400 + id));
	add(t, op_range(MMF_OP_MUNMAP, 0, base + 5 * P, P));
	add(t, op_rw(MMF_OP_READ, 0, base + 5 * P, 0));		/* SEGV/MAPERR */
}

/*
 * Overlapping: all fibers on one window of p0 and on f0, plus a fork and
 * an exit; results depend on the interleaving, the invariants must not.
 */
static void chaos_prog(struct thread_prog *t, int id)
{
	uint64_t base = 0x20000000ULL;
	int i;

	t->nr = 0;
	for (i = 0; i < 3; i++) {
		uint64_t a = base + (uint64_t)((id + i) % 4) * 2 * P;

		add(t, op_mmap(0, a, 3 * P, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
		add(t, op_rw(MMF_OP_WRITE, 0, a + P, 0x10 * id + i));
		add(t, op_rw(MMF_OP_READ, 0, base + (uint64_t)id * P, 0));
		add(t, op_mmap(0, base + 0x100000 + (uint64_t)id * P, 2 * P, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, 0, (uint64_t)id));
		add(t, op_rw(MMF_OP_WRITE, 0, base + 0x100000 + (uint64_t)id * P, 0x77));
		add(t, (struct mmf_op){ .kind = MMF_OP_MPROTECT, .proc = 0, .addr = base + P,
					.len = 3 * P, .prot = i & 1 ? PROT_READ : PROT_READ | PROT_WRITE });
		add(t, (struct mmf_op){ .kind = MMF_OP_TRUNCATE, .file = 0,
					.len = (uint64_t)(1 + (id + i) % 3) * P });
		add(t, op_range(MMF_OP_MUNMAP, 0, base + (uint64_t)((id + 2 * i) % 5) * P, 2 * P));
	}
	if (id == 1)
		add(t, (struct mmf_op){ .kind = MMF_OP_FORK, .proc = 0 });
	if (id == 2) {
		add(t, op_rw(MMF_OP_WRITE, 1, base + P, 0x99));	/* the child, if forked */
		add(t, (struct mmf_op){ .kind = MMF_OP_EXIT, .proc = 1 });
	}
}

static void world_setup(const struct mmf_impl *impl, struct mmf_world *w, int files)
{
	struct mmf_res r;
	int i;

	for (i = 0; i < files; i++) {
		struct mmf_op op = { .kind = MMF_OP_FILE_CREATE, .len = 4 * P };

		impl->exec(w, &op, &r);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_core_ops(int nr_schedules, FILE *hashes_out)
{
	uint64_t outcomes[64];
	int nr_outcomes = 0;
	enum { NT = 3 };
	struct thread_prog progs[NT], ref_progs[NT];
	void *args[NT];
	struct mmf_world *rw_;
	struct mmf_snap want, got;
	uint8_t bytes[128];
	char msg[256], why[256];
	int s, t, i, bad_res = 0, bad_snap = 0, bad_check = 0, bad_replay = 0;
	uint64_t steps = 0, switches = 0, ops = 0;
	double t0, elapsed = 0;

	/* the reference, sequentially: fiber 0's ops, then 1's, then 2's */
	rw_ = mmf_reference.world_new(NULL);
	world_setup(&mmf_reference, rw_, NT);
	for (t = 0; t < NT; t++) {
		disjoint_prog(&ref_progs[t], t);
		for (i = 0; i < ref_progs[t].nr; i++)
			mmf_reference.exec(rw_, &ref_progs[t].ops[i], &ref_progs[t].res[i]);
	}
	mmf_snap_init(&want);
	mmf_reference.snapshot(rw_, &want);
	mmf_reference.world_free(rw_);

	for (s = 0; s < nr_schedules; s++) {
		size_t len = s & 1 ? fine_schedule(bytes, sizeof(bytes))
				   : random_schedule(bytes, sizeof(bytes));
		struct run_result rr;

		core_world = mmf_core.world_new(NULL);
		world_setup(&mmf_core, core_world, NT);		/* main context */
		for (t = 0; t < NT; t++) {
			disjoint_prog(&progs[t], t);
			args[t] = &progs[t];
		}
		t0 = now();
		rr = run(bytes, len, NT, prog_fiber, args, false);
		elapsed += now() - t0;
		steps += rr.clock;
		switches += rr.switches;
		for (t = 0; t < NT; t++) {
			ops += progs[t].nr;
			for (i = 0; i < progs[t].nr; i++)
				if (memcmp(&progs[t].res[i], &ref_progs[t].res[i], sizeof(struct mmf_res))) {
					if (!bad_res++)
						fprintf(stderr, "schedule %d fiber %d op %d (%s): %lld, reference %lld\n",
							s, t, i, mmf_op_name(progs[t].ops[i].kind),
							(long long)progs[t].res[i].ret,
							(long long)ref_progs[t].res[i].ret);
				}
		}
		if (mmf_core.check(core_world, msg, sizeof(msg)) && !bad_check++)
			fprintf(stderr, "schedule %d: check: %s\n", s, msg);
		mmf_snap_init(&got);
		mmf_core.snapshot(core_world, &got);
		if (!mmf_snap_equal(&want, &got, why, sizeof(why)) && !bad_snap++)
			fprintf(stderr, "schedule %d: snapshot: %s\n", s, why);
		mmf_snap_free(&got);
		mmf_core.world_free(core_world);
	}
	mmf_snap_free(&want);
	CHECK(bad_res == 0, "disjoint fibers: %d results differ from the reference", bad_res);
	CHECK(bad_snap == 0, "disjoint fibers: %d snapshots differ from the reference", bad_snap);
	CHECK(bad_check == 0, "disjoint fibers: invariants broken in %d schedules", bad_check);
	if (!hashes_out)
		printf("figures: %d schedules x %d fibers, %.0f scheduling steps per core op, "
		       "%.1f switches per op, %.0f steps/s, %.0f switches/s\n",
		       nr_schedules, NT, (double)steps / ops, (double)switches / ops,
		       steps / elapsed, switches / elapsed);

	/* overlapping fibers: invariants, and the same schedule replays the same */
	for (s = 0; s < nr_schedules; s++) {
		size_t len = s & 1 ? fine_schedule(bytes, sizeof(bytes))
				   : random_schedule(bytes, sizeof(bytes));
		struct mmf_res first[NT][MAX_OPS];
		uint64_t hash[2], snap_hash[2];
		int rep;

		for (rep = 0; rep < 2; rep++) {
			core_world = mmf_core.world_new(NULL);
			world_setup(&mmf_core, core_world, 1);
			for (t = 0; t < NT; t++) {
				chaos_prog(&progs[t], t);
				args[t] = &progs[t];
			}
			hash[rep] = run(bytes, len, NT, prog_fiber, args, false).hash;
			if (mmf_core.check(core_world, msg, sizeof(msg)) && !bad_check++)
				fprintf(stderr, "chaos schedule %d: check: %s\n", s, msg);
			mmf_snap_init(&got);
			mmf_core.snapshot(core_world, &got);
			snap_hash[rep] = mmf_snap_hash(&got);
			mmf_snap_free(&got);
			mmf_core.world_free(core_world);
			if (rep == 0) {
				for (t = 0; t < NT; t++)
					memcpy(first[t], progs[t].res, sizeof(first[t]));
			} else {
				for (t = 0; t < NT; t++)
					if (memcmp(first[t], progs[t].res,
						   progs[t].nr * sizeof(struct mmf_res)))
						bad_replay++;
			}
		}
		bad_replay += hash[0] != hash[1] || snap_hash[0] != snap_hash[1];
		if (hashes_out)
			fprintf(hashes_out, "%d %016llx %016llx\n", s, (unsigned long long)hash[0],
				(unsigned long long)snap_hash[0]);
		for (i = 0; i < nr_outcomes; i++)
			if (outcomes[i] == snap_hash[0])
				break;
		if (i == nr_outcomes && nr_outcomes < (int)(sizeof(outcomes) / sizeof(outcomes[0])))
			outcomes[nr_outcomes++] = snap_hash[0];
	}
	CHECK(bad_check == 0, "overlapping fibers: invariants broken in %d schedules", bad_check);
	CHECK(bad_replay == 0, "overlapping fibers: %d replays differ", bad_replay);
	CHECK(nr_outcomes >= 5, "overlapping fibers: %d distinct final states", nr_outcomes);
}

/* ---- crash modes (run in a child by the tests above, and by ctest) -------------------------- */

static struct {
	struct mmf_mutex a, b;
	int f0_has_a, f1_has_b;
} abba;

static void abba_fiber(void *arg)
{
	struct mmf_mutex *first = arg ? &abba.b : &abba.a, *second = arg ? &abba.a : &abba.b;

	mmf_mutex_lock(first);
	mmf_write_once(*(arg ? &abba.f1_has_b : &abba.f0_has_a), 1);
	wait_flag(arg ? &abba.f0_has_a : &abba.f1_has_b, 100000);
	mmf_mutex_lock(second);
	mmf_mutex_unlock(second);
	mmf_mutex_unlock(first);
}

static int mode_abba(void)
{
	void *args[2] = { NULL, (void *)1L };
	uint8_t bytes[16];
	size_t len = random_schedule(bytes, sizeof(bytes));

	mmf_mutex_init(&abba.a);
	mmf_mutex_init(&abba.b);
	run(bytes, len, 2, abba_fiber, args, false);
	fprintf(stderr, "ABBA did not deadlock\n");
	return 0;
}

static int never_set;

static void spinner(void *arg)
{
	if (arg)
		return;
	while (!mmf_read_once(never_set))
		mmf_cpu_relax();
}

static int mode_livelock(void)
{
	struct mmf_sched_opts opts = { .max_steps = 20000 };

	mmf_sched_begin(&opts);
	mmf_sched_spawn(spinner, NULL);
	mmf_sched_spawn(spinner, (void *)1L);
	mmf_sched_run();
	fprintf(stderr, "the spinner ended\n");
	return 0;
}

/* The reader holds the object across yields; the writer frees it at once. */
static void uaf_fiber(void *arg)
{
	struct rcu_obj *o;

	if (!arg) {
		mmf_rcu_read_lock();
		o = mmf_rcu_dereference(rc.gp);
		mmf_write_once(rc.reader_in, 1);
		wait_flag(&rc.cb_ran, 100000);
		printf("reader: alive = %d\n", o->alive);	/* heap-use-after-free */
		mmf_rcu_read_unlock();
	} else {
		wait_flag(&rc.reader_in, 100000);
		o = mmf_rcu_access_pointer(rc.gp);
		mmf_rcu_assign_pointer(rc.gp, NULL);
		free(o);				/* BUG: no grace period */
		mmf_write_once(rc.cb_ran, 1);
	}
}

static int mode_immediate_free(void)
{
	void *args[2] = { NULL, (void *)1L };

	rc.gp = malloc(sizeof(*rc.gp));
	rc.gp->alive = 1;
	run(NULL, 0, 2, uaf_fiber, args, false);
	fprintf(stderr, "no use-after-free was reported\n");
	return 0;
}

/* Two fibers increment a plain int with no lock, across a yield: TSan must
 * see the race (fibers synchronise only through the primitives). */
static int racy;

static void race_fiber(void *arg)
{
	int v = racy;

	mmf_sched_point();
	racy = v + 1;
}

static int mode_race(void)
{
	run(NULL, 0, 2, race_fiber, NULL, false);
	printf("racy = %d\n", racy);
	return 0;
}

/* Figures, in a release build: switches/s, steps/s. */
static long bench_points;

static void bench_fiber(void *arg)
{
	for (long i = 0; i < bench_points; i++)
		mmf_sched_point();
}

static int mode_bench(void)
{
	size_t n = 900000;		/* steps, under the default max_steps */
	uint8_t *bytes = malloc(n);
	struct run_result r;
	double t0;

	/* every point a decision, every decision a switch (byte 1: the other fiber) */
	memset(bytes, 0x01, n);
	bench_points = n / 2;
	t0 = now();
	r = run(bytes, n, 2, bench_fiber, NULL, false);
	printf("ping-pong: %llu steps, %llu switches, %.0f switches/s\n",
	       (unsigned long long)r.clock, (unsigned long long)r.switches,
	       r.switches / (now() - t0));
	/* a decision at every point, no switch (byte 0: keep running) */
	memset(bytes, 0x00, n);
	t0 = now();
	r = run(bytes, n, 2, bench_fiber, NULL, false);
	printf("decide, keep running: %.0f steps/s (%llu switches)\n", r.clock / (now() - t0),
	       (unsigned long long)r.switches);
	/* no bytes: round-robin every SCHED_QUANTUM points */
	t0 = now();
	r = run(NULL, 0, 2, bench_fiber, NULL, false);
	printf("round-robin: %.0f steps/s (%llu switches)\n", r.clock / (now() - t0),
	       (unsigned long long)r.switches);
	free(bytes);
	test_core_ops(400, NULL);
	return 0;
}

/* ---- misuse modes: each must end in mmf_sync_bug with its message ---------------- */

static struct mmf_mutex misuse_m;
static struct mmf_spinlock misuse_l;
static int misuse_flag;

static void *second_thread(void *arg)
{
	mmf_mutex_lock(&misuse_m);	/* BUG: the backend belongs to the main thread */
	mmf_mutex_unlock(&misuse_m);
	return NULL;
}

static void sleep_in_rcu(void *arg)
{
	mmf_rcu_read_lock();
	mmf_mutex_lock(&misuse_m);	/* BUG: may sleep inside a reader */
	mmf_mutex_unlock(&misuse_m);
	mmf_rcu_read_unlock();
}

static void unlock_other(void *arg)
{
	if (!arg) {
		mmf_mutex_lock(&misuse_m);
		mmf_write_once(misuse_flag, 1);
		points(20);
		mmf_mutex_unlock(&misuse_m);
	} else {
		wait_flag(&misuse_flag, 1000);
		mmf_mutex_unlock(&misuse_m);	/* BUG: fiber 0 holds it */
	}
}

/*
 * A grace period cannot be part of a deadlock cycle when sync.h's rules
 * hold (a reader blocks only on spinlocks, whose holders never sleep), but
 * it can wait behind one: fibers 0 (inside a reader) and 1 deadlock ABBA on
 * two spinlocks, and fiber 2 waits for a grace period that needs fiber 0.
 */
static struct mmf_spinlock misuse_l2;
static int misuse_flag2;

static void gp_deadlock(void *arg)
{
	long id = (long)arg;

	if (id == 0) {
		mmf_rcu_read_lock();
		mmf_spin_lock(&misuse_l);
		mmf_write_once(misuse_flag, 1);
		wait_flag(&misuse_flag2, 1000);
		mmf_spin_lock(&misuse_l2);
		mmf_spin_unlock(&misuse_l2);
		mmf_spin_unlock(&misuse_l);
		mmf_rcu_read_unlock();
	} else if (id == 1) {
		mmf_spin_lock(&misuse_l2);
		mmf_write_once(misuse_flag2, 1);
		wait_flag(&misuse_flag, 1000);
		mmf_spin_lock(&misuse_l);
		mmf_spin_unlock(&misuse_l);
		mmf_spin_unlock(&misuse_l2);
	} else {
		wait_flag(&misuse_flag, 1000);
		mmf_synchronize_rcu();
	}
}

static int mode_misuse(const char *what)
{
	void *args[2] = { NULL, (void *)1L };
	pthread_t th;

	mmf_mutex_init(&misuse_m);
	mmf_spin_init(&misuse_l);
	if (!strcmp(what, "second-thread")) {
		mmf_sched_point();		/* the main thread owns the backend */
		pthread_create(&th, NULL, second_thread, NULL);
		pthread_join(th, NULL);
	} else if (!strcmp(what, "sleep-in-rcu")) {
		run(NULL, 0, 1, sleep_in_rcu, NULL, false);
	} else if (!strcmp(what, "unlock-other")) {
		run(NULL, 0, 2, unlock_other, args, false);
	} else if (!strcmp(what, "gp-deadlock")) {
		mmf_spin_init(&misuse_l2);
		run(NULL, 0, 3, gp_deadlock, NULL, false);
	}
	fprintf(stderr, "no misuse reported\n");
	return 0;
}

/* Run this program with `mode` in a child; its stderr (and stdout, if
 * both) into buf. */
static int child_output(const char *mode, bool both, char *buf, size_t len)
{
	int pipefd[2], status;
	size_t off = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd))
		abort();
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 2);
		if (both)
			dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl("/proc/self/exe", "core_test_sched", mode, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while (off + 1 < len && (n = read(pipefd[0], buf + off, len - off - 1)) > 0)
		off += n;
	buf[off] = 0;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return status;
}

/*
 * Two processes (two address-space layouts under ASLR) run the same
 * schedules of the overlapping core program: the trace hashes and final
 * states must be the same, or a corpus file would not replay.
 */
static void test_cross_process_determinism(void)
{
	static char a[1 << 16], b[1 << 16];
	int sa = child_output("--chaos-hashes", true, a, sizeof(a));
	int sb = child_output("--chaos-hashes", true, b, sizeof(b));

	CHECK(WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) && WEXITSTATUS(sb) == 0,
	      "--chaos-hashes runs pass");
	CHECK(strlen(a) > 100 && !strcmp(a, b), "two processes, same hashes:\n%s\n---\n%s", a, b);
}

static void test_misuse_reports(void)
{
	static const struct { const char *mode, *want; } cases[] = {
		{ "--misuse=second-thread",
		  "mmf_sync_bug: the sched backend (core/sync_sched.c) used from a second OS thread" },
		{ "--misuse=sleep-in-rcu", "mmf_sync_bug: mutex_lock 0x" },
		{ "--misuse=unlock-other", "unlocked by a thread that does not hold it [fiber 1" },
		{ "--misuse=gp-deadlock", "mmf_sync_bug: deadlock: fiber 0 waits for spinlock" },
		{ "--misuse=gp-deadlock", "fiber 2 waits for grace period 1 at " },
	};
	static char out[1 << 16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* the debug checks: on with MMF_SYNC_DEBUG only */
		if (!MMF_SYNC_DEBUG && (strstr(cases[i].mode, "sleep-in-rcu") ||
					strstr(cases[i].mode, "unlock-other")))
			continue;
		int status = child_output(cases[i].mode, false, out, sizeof(out));

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGABRT &&
		      strstr(out, cases[i].want), "%s: want \"%s\", got:\n%s",
		      cases[i].mode, cases[i].want, out);
	}
	CHECK(strstr(out, "readers still inside: 0"), "the GP's holdout is named:\n%s", out);
}

static void test_deadlock_report(void)
{
	static char out[1 << 16];
	int status = child_output("--abba", false, out, sizeof(out));
	const char *first = strstr(out, "holds mutex");

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGABRT, "ABBA aborts");
	CHECK(strstr(out, "mmf_sync_bug: deadlock: fiber 0 waits for mutex") != NULL,
	      "deadlock signature:\n%s", out);
	CHECK(first && strstr(first + 1, "holds mutex"), "both fibers' held locks listed:\n%s", out);
	CHECK(strstr(out, "abba_fiber") || !strstr(out, "AddressSanitizer") ,
	      "sites name the function");

	status = child_output("--livelock", false, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGABRT &&
	      strstr(out, "mmf_sync_bug: livelock:"), "livelock reported:\n%s", out);
}

/*
 * The crash modes end in mmf_sync_bug's abort(); ctest counts a death by
 * signal as a failure whatever the output, so exit with abort's status
 * instead and let PASS_REGULAR_EXPRESSION judge the report.
 */
static void exit_on_abort(int sig)
{
	_exit(128 + sig);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && (!strcmp(argv[1], "--abba") || !strcmp(argv[1], "--livelock") ||
			 !strncmp(argv[1], "--misuse=", 9)))
		signal(SIGABRT, exit_on_abort);
	if (argc > 1 && !strncmp(argv[1], "--misuse=", 9))
		return mode_misuse(argv[1] + 9);
	if (argc > 1 && !strcmp(argv[1], "--abba"))
		return mode_abba();
	if (argc > 1 && !strcmp(argv[1], "--livelock"))
		return mode_livelock();
	if (argc > 1 && !strcmp(argv[1], "--immediate-free"))
		return mode_immediate_free();
	if (argc > 1 && !strcmp(argv[1], "--race"))
		return mode_race();
	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return mode_bench();
	if (argc > 1 && !strcmp(argv[1], "--chaos-hashes")) {
		test_core_ops(40, stdout);
		return t_failed ? 1 : 0;
	}

	test_determinism();
	test_exclusion();
	test_rwsem();
	test_rcu();
	test_rcu_stream();
	test_tracking();
	test_deadlock_report();
	test_misuse_reports();
	test_cross_process_determinism();
	test_core_ops(argc > 1 ? atoi(argv[1]) : 100, NULL);
	return t_done();
}
