// SPDX-License-Identifier: MIT
/*
 * fuzzers/diff_fuzzer.c - the differential fuzz target.
 *
 * Input: any bytes, decoded (totally) by mmf_prog_decode(MMF_DECODE_ANY).
 * The program runs through the differential engine (diff/diff.h,
 * mmf_diff_run: the one executor) on these implementations:
 *
 *   0  the reference (mmf_reference): the specification, the baseline
 *   1  the core (mmf_core) when built (MMF_HAVE_CORE); otherwise a second,
 *      independent reference world (determinism)
 *   2  (and 3) when an implementation has ->clone: a lane that runs the
 *      first half of the program on a world of that implementation, then
 *      replaces it by impl->clone() of itself, frees the original, and runs
 *      the second half on the clone; it must behave exactly like the others
 *      (and ASan catches a clone that still shares memory with its origin)
 *
 * Every lane is a thin wrapper (struct lane_world) that also runs
 * impl->check, when the implementation has one; a failed check stops the
 * engine (as a harness error) and becomes the signature
 * "invariant:<first word of the message>".
 *
 * A program that asks for exactly PROT_EXEC somewhere runs twice: as on x86
 * without protection keys, and in worlds with mmf_config.exec_only_pkey
 * (x86 PKU execute-only memory); the report says which failed
 * (mmf_diff_opts.both_pkey_worlds).  Other programs behave the same in both.
 *
 * What runs on an input (struct depth): the checks run where snapshots are
 * taken (fork/exit, the end: a broken invariant is seen by the next one),
 * and after every op on 1 input in CHECK_EVERY_OP_ONE_IN; the clone lanes
 * run on 1 input in CLONE_ONE_IN.  Both are chosen by a hash of the
 * program's ops, so a replay of an input does exactly what the fuzzer did;
 * MMF_FUZZ_EVERY_OP (replay --every-op, ctest, the minimizer, campaigns'
 * MMF_CHECK_EVERY_OP) runs everything on every input.  A failure is located
 * by a second run with snapshots and checks after every op (the same
 * lanes), so that it is named by the first op after which it shows.
 * (Before sampling, the checks after every op and two clone lanes were
 * ~2/3 of the time of an input: issue 12.)
 *
 * Snapshots are compared after fork/exit and at the end, or after every op
 * when MMF_CHECK_EVERY_OP is set in the environment or at build time.  A
 * difference found with lazy snapshots is re-run with every-op snapshots so
 * that the signature names the first op whose state differs; signatures are
 * therefore the same in every mode:
 *
 *     mmfuzz: diff:<op>:<what>          the engine's signature; a clone lane
 *                                       gives diff:<op>:clone:<what>
 *     mmfuzz: invariant:<name>
 *     mmfuzz: error:<impl>:<what>       an implementation failed (world_new)
 *     mmfuzz: hang:<op>                 an op ran for MMF_FUZZ_HANG_SECS (default
 *                                       5) seconds of CPU time; a watchdog
 *                                       prints the program and aborts, so
 *                                       that an endless loop has a stable
 *                                       signature (libFuzzer's own -timeout
 *                                       is wall-clock and names no op)
 *
 * Known failures: when MMF_FUZZ_IGNORE names a file of signatures (one a
 * line), an input failing with one of them counts as passing, so that a
 * campaign keeps fuzzing past a shallow bug it has already filed (the file
 * is read once, at the first input; scripts/campaign.sh restarts workers).
 *
 * On a failure the target prints the program (text form), the engine's
 * report (op, both results, both snapshots) and, last, the signature line,
 * then abort()s.  Nothing survives an input: every world is freed by the
 * engine before it returns, first-use paths run in LLVMFuzzerInitialize,
 * the core runs RCU callbacks synchronously (single_threaded) and no branch
 * depends on heap addresses, so AFL++ persistent mode is 100% stable
 * (ctest afl_stability in the afl preset checks it on the corpus).
 * MMF_FUZZ_STATS is for libFuzzer campaigns only: its once-a-second write
 * is a time-dependent branch, which afl-fuzz would count as unstable.
 */
#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff.h"
#include "fuzz.h"

#ifdef MMF_HAVE_CORE
extern const struct mmf_impl mmf_core;
#endif

/* ---- lanes: an implementation plus invariant checks and a mid-run clone ---- */

#define NR_LANES MMF_DIFF_MAX_IMPLS

struct lane_world {
	int slot;
	struct mmf_world *w;
	uint32_t ops;		/* ops executed */
};

struct lane {
	const struct mmf_impl *inner;
	bool clone;		/* replace the world by its clone at clone_at */
	char name[40];
};

/* 1 input in N gets the invariant checks after every op; 1 in N the clone
 * lanes (see the top of the file) */
#define CHECK_EVERY_OP_ONE_IN	8
#define CLONE_ONE_IN		4

/* What runs on one input. */
struct depth {
	bool snap_every_op;	/* compare snapshots after every op */
	bool check_every_op;	/* impl->check after every op, not only at snapshots */
	bool clone;		/* the clone lanes */
};

/* The state of the one run in progress (the fuzzer is single-threaded). */
static struct {
	struct lane lane[NR_LANES];
	uint32_t clone_at;
	bool check_every_op;
	/* first invariant failure */
	int bad_op;
	char bad_msg[512];
	char bad_lane[40];
	/* for the hang watchdog */
	const struct mmf_prog *prog;
	volatile int op;
} cur;

static struct mmf_world *lane_new(int slot, const struct mmf_config *cfg)
{
	struct lane_world *lw = calloc(1, sizeof(*lw));

	if (!lw)
		return NULL;
	lw->slot = slot;
	lw->w = cur.lane[slot].inner->world_new(cfg);
	if (!lw->w) {
		free(lw);
		return NULL;
	}
	return (struct mmf_world *)lw;
}

static void lane_free(struct mmf_world *w)
{
	struct lane_world *lw = (struct lane_world *)w;

	cur.lane[lw->slot].inner->world_free(lw->w);
	free(lw);
}

/* impl->check of one lane; false (and the failure recorded) if broken */
static bool lane_check(struct lane_world *lw)
{
	const struct lane *l = &cur.lane[lw->slot];
	char msg[512];

	if (!l->inner->check)
		return true;
	msg[0] = '\0';
	if (l->inner->check(lw->w, msg, sizeof(msg)) == 0)
		return true;
	if (cur.bad_op < 0) {
		snprintf(cur.bad_msg, sizeof(cur.bad_msg), "%s", msg[0] ? msg : "unnamed");
		cur.bad_op = (int)lw->ops - 1;
		snprintf(cur.bad_lane, sizeof(cur.bad_lane), "%s", l->name);
	}
	return false;
}

static void lane_exec(struct mmf_world *w, const struct mmf_op *op, struct mmf_res *res)
{
	struct lane_world *lw = (struct lane_world *)w;
	const struct lane *l = &cur.lane[lw->slot];

	if (cur.bad_op >= 0)		/* a snapshot point's check failed */
		goto stop;
	if (l->clone && lw->ops == cur.clone_at) {
		struct mmf_world *c = l->inner->clone(lw->w);

		if (!c) {
			snprintf(cur.bad_msg, sizeof(cur.bad_msg), "clone: returned NULL");
			goto bad;
		}
		l->inner->world_free(lw->w);
		lw->w = c;
	}
	cur.op = (int)lw->ops++;
	l->inner->exec(lw->w, op, res);
	if (!cur.check_every_op || lane_check(lw))
		return;
	goto stop;
bad:
	if (cur.bad_op < 0) {
		cur.bad_op = (int)lw->ops - 1;
		snprintf(cur.bad_lane, sizeof(cur.bad_lane), "%s", l->name);
	}
stop:
	/* stop the engine here (a harness error); reported as invariant:<name> */
	memset(res, 0, sizeof(*res));
	res->ret = MMF_RES_HARNESS;
}

/* A snapshot point: the invariants are checked here too (when not after
 * every op); a failure stops the engine at the next op. */
static void lane_snapshot(struct mmf_world *w, struct mmf_snap *s)
{
	struct lane_world *lw = (struct lane_world *)w;

	if (!cur.check_every_op && cur.bad_op < 0)
		lane_check(lw);
	cur.lane[lw->slot].inner->snapshot(lw->w, s);
}

static void lane_counters(struct mmf_world *w, struct mmf_counters *c)
{
	struct lane_world *lw = (struct lane_world *)w;

	cur.lane[lw->slot].inner->counters(lw->w, c);
}

#define LANE_IMPL(n)								\
	static struct mmf_world *lane_new_##n(const struct mmf_config *cfg)	\
	{									\
		return lane_new(n, cfg);					\
	}
LANE_IMPL(0)
LANE_IMPL(1)
LANE_IMPL(2)
LANE_IMPL(3)

static struct mmf_impl lane_impl[NR_LANES] = {
#define LANE_TABLE(n) [n] = { .world_new = lane_new_##n, .world_free = lane_free,	\
	.exec = lane_exec, .snapshot = lane_snapshot, .counters = lane_counters }
	LANE_TABLE(0), LANE_TABLE(1), LANE_TABLE(2), LANE_TABLE(3),
#undef LANE_TABLE
};

static int add_lane(int n, const struct mmf_impl *inner, bool clone, const char *name)
{
	if (n >= NR_LANES)
		return n;
	cur.lane[n].inner = inner;
	cur.lane[n].clone = clone;
	snprintf(cur.lane[n].name, sizeof(cur.lane[n].name), "%s", name);
	lane_impl[n].name = cur.lane[n].name;
	return n + 1;
}

static int setup_lanes(bool clone)
{
	int n = 0;

	n = add_lane(n, &mmf_reference, false, "reference");
#ifdef MMF_HAVE_CORE
	n = add_lane(n, &mmf_core, false, "core");
	if (clone && mmf_core.clone)
		n = add_lane(n, &mmf_core, true, "core(clone)");
#else
	n = add_lane(n, &mmf_reference, false, "reference#2");
#endif
	if (clone && mmf_reference.clone)
		n = add_lane(n, &mmf_reference, true, "reference(clone)");
	return n;
}

/* ---- the hang watchdog --------------------------------------------------- */

static timer_t hang_timer;
static int hang_secs = -1;

static void hang_handler(int signo)
{
	const struct mmf_prog *p = cur.prog;
	int op = cur.op;
	char buf[512];

	(void)signo;
	/* not async-signal-safe, but the process ends here either way */
	if (p) {
		fprintf(stderr, "mmfuzz: ---- program (%u ops) ----\n", p->nr_ops);
		mmf_prog_print(stderr, p);
	}
	if (p && op >= 0 && op < (int)p->nr_ops) {
		fprintf(stderr, "mmfuzz: op #%d still running after %d s of CPU time: %s\n",
			op, hang_secs, mmf_op_format(&p->ops[op], buf, sizeof(buf)));
		fprintf(stderr, "mmfuzz: hang:%s\n", mmf_op_name(p->ops[op].kind));
	} else {
		fprintf(stderr, "mmfuzz: hang:outside-ops\n");
	}
	fflush(stderr);
	abort();
}

static void watchdog(bool arm)
{
	struct itimerspec its = { 0 };

	if (hang_secs < 0) {
		const char *e = getenv("MMF_FUZZ_HANG_SECS");
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGVTALRM };

		hang_secs = e ? atoi(e) : 5;
		if (hang_secs > 0) {
			signal(SIGVTALRM, hang_handler);
			if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &hang_timer) < 0)
				hang_secs = 0;
		}
	}
	if (hang_secs <= 0)
		return;
	its.it_value.tv_sec = arm ? hang_secs : 0;
	timer_settime(hang_timer, 0, &its, NULL);
}

/* ---- the check ------------------------------------------------------------- */


/* A hash of the program's ops (every field but the name's unused bytes):
 * what the sampling of struct depth is decided on. */
static uint64_t prog_hash(const struct mmf_prog *p)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < p->nr_ops; i++) {
		const struct mmf_op *o = &p->ops[i];
		const uint64_t f[] = { o->kind, (uint32_t)o->proc, (uint32_t)o->file, o->addr,
				       o->len, o->new_len, o->new_addr, o->pgoff, o->value,
				       o->prot, o->flags, o->advice, o->name_null };

		for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
			h = (h ^ f[k]) * 0x100000001b3ull;
		for (const char *c = o->name; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static struct depth depth_of(const struct mmf_prog *p, unsigned flags)
{
	uint64_t h = prog_hash(p);

	if (flags & MMF_FUZZ_EVERY_OP)
		return (struct depth){ true, true, true };
	return (struct depth){
		.check_every_op = h % CHECK_EVERY_OP_ONE_IN == 0,
		.clone = (h >> 32) % CLONE_ONE_IN == 0,
	};
}

static int run_once(const struct mmf_prog *p, struct depth d, struct mmf_fuzz_fail *fail,
		    FILE *report)
{
	/* one thread drives every world: deferred work runs synchronously */
	static const struct mmf_config cfg = { .single_threaded = true };
	const struct mmf_impl *impls[NR_LANES];
	struct mmf_diff_opts opts = { .snap_every_op = d.snap_every_op, .cfg = &cfg,
				      .both_pkey_worlds = true };
	struct mmf_diff_report rep;
	enum mmf_diff_status st;
	int n = setup_lanes(d.clone), ret = 0;

	for (int i = 0; i < n; i++)
		impls[i] = &lane_impl[i];
	cur.check_every_op = d.check_every_op;
	cur.clone_at = p->nr_ops / 2;
	cur.bad_op = -1;
	cur.bad_msg[0] = '\0';
	cur.prog = p;
	cur.op = -1;

	mmf_diff_report_init(&rep);
	watchdog(true);
	st = mmf_diff_run(p, impls, n, &opts, &rep);
	watchdog(false);
	cur.op = -1;
	if (cur.bad_op >= 0) {
		char buf[512];

		mmf_invariant_sig(fail->sig, sizeof(fail->sig), cur.bad_msg);
		fail->op = cur.bad_op;
		if (report) {
			fprintf(report, "mmfuzz: ---- program (%u ops) ----\n", p->nr_ops);
			mmf_prog_print(report, p);
			fprintf(report, "mmfuzz: ---- invariant broken after op #%d: %s\n", cur.bad_op,
				cur.bad_op < (int)p->nr_ops ?
				mmf_op_format(&p->ops[cur.bad_op], buf, sizeof(buf)) : "?");
			fprintf(report, "mmfuzz: %s: %s\n", cur.bad_lane, cur.bad_msg);
		}
		ret = 1;
	} else if (st != MMF_DIFF_SAME) {
		snprintf(fail->sig, sizeof(fail->sig), "%s", rep.sig);
		fail->op = rep.op_index;
		/* a clone lane: diff:<op>:<what> -> diff:<op>:clone:<what> */
		if (st == MMF_DIFF_DIVERGED && rep.impl_b >= 0 && rep.impl_b < n &&
		    cur.lane[rep.impl_b].clone && !strncmp(rep.sig, "diff:", 5)) {
			const char *what = strchr(rep.sig + 5, ':');

			if (what)
				snprintf(fail->sig, sizeof(fail->sig), "%.*s:clone%s",
					 (int)(what - rep.sig), rep.sig, what);
		}
		if (report) {
			fprintf(report, "mmfuzz: ---- program (%u ops) ----\n", p->nr_ops);
			mmf_prog_print(report, p);
			fprintf(report, "mmfuzz: ---- first difference ----\n");
			mmf_diff_report_print(report, &rep, impls);
		}
		ret = 1;
	}
	mmf_diff_report_free(&rep);
	return ret;
}

static int check_bounded(const struct mmf_prog *p, unsigned flags,
			 struct mmf_fuzz_fail *fail, FILE *report);

/* The program runs with its population bounded (bound_op.c); the report
 * prints it so. */
int mmf_fuzz_check(const struct mmf_prog *p, unsigned flags,
		   struct mmf_fuzz_fail *fail, FILE *report)
{
	struct mmf_prog b;
	int ret;

	mmf_prog_init(&b);
	for (uint32_t i = 0; i < p->nr_ops; i++) {
		struct mmf_op o = p->ops[i];

		mmf_fuzz_bound_populate(&o);
		mmf_prog_append(&b, &o);
	}
	ret = check_bounded(&b, flags, fail, report);
	mmf_prog_free(&b);
	return ret;
}

static int check_bounded(const struct mmf_prog *p, unsigned flags,
			 struct mmf_fuzz_fail *fail, FILE *report)
{
	struct depth d = depth_of(p, flags), every = d;

	memset(fail, 0, sizeof(*fail));
	fail->op = -1;
	if (d.snap_every_op)
		return run_once(p, d, fail, report);
	if (!run_once(p, d, fail, NULL))
		return 0;
	/* locate it precisely (and print the report) with every-op snapshots
	 * and checks, on the same lanes */
	every.snap_every_op = every.check_every_op = true;
	{
		struct mmf_fuzz_fail lazy = *fail;

		if (run_once(p, every, fail, report))
			return 1;
		*fail = lazy;
		if (report) {
			fprintf(report, "mmfuzz: warning: the difference disappears with every-op snapshots\n");
			run_once(p, d, fail, report);
		}
		snprintf(fail->sig, sizeof(fail->sig), "diff:nondeterministic");
	}
	return 1;
}

unsigned mmf_fuzz_default_flags(void)
{
	static int flags = -1;

	if (flags < 0) {
		const char *e = getenv("MMF_CHECK_EVERY_OP");

		flags = 0;
#ifdef MMF_CHECK_EVERY_OP
		flags |= MMF_FUZZ_EVERY_OP;
#endif
		if (e && *e && strcmp(e, "0") != 0)
			flags |= MMF_FUZZ_EVERY_OP;
	}
	return (unsigned)flags;
}

/* ---- the fuzz entry point ------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One-time set-up outside the measured inputs (AFL++ stability). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* a program through most ops, run once so that first-use paths (thread
	 * registration, lazy set-up in the implementations) run here, not in
	 * the first input */
	static const char warm_up[] =
		"file_create 0x4000\n"
		"mmap p0 0x100000 0x4000 rw- shared f0 fixed\n"
		"mmap p0 0x200000 0x4000 rw- private anon fixed\n"
		"write p0 0x200000 0x1\n"
		"read p0 0x100000\n"
		"set_name p0 0x200000 0x1000 \"w\"\n"
		"mprotect p0 0x201000 0x1000 r--\n"
		"mremap p0 0x200000 0x1000 0x2000 maymove\n"
		"madvise p0 0x100000 0x1000 dontneed\n"
		"fork p0\n"
		"truncate f0 0x1000\n"
		"file_write f0 0 0x2\n"
		"file_read f0 0\n"
		"munmap p1 0x100000 0x4000\n"
		"exit p1\n";
	struct mmf_fuzz_fail fail;
	struct mmf_prog p;
	char err[256];

	(void)argc;
	(void)argv;
	mmf_fuzz_stats_init();
	mmf_fuzz_default_flags();
	mmf_fuzz_is_ignored("");
	watchdog(true);
	watchdog(false);
	mmf_prog_init(&p);
	if (mmf_prog_parse(&p, warm_up, sizeof(warm_up) - 1, "warm-up", err, sizeof(err)) == 0)
		mmf_fuzz_check(&p, mmf_fuzz_default_flags(), &fail, NULL);
	mmf_prog_free(&p);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmf_fuzz_fail fail;
	struct mmf_prog p;

	mmf_prog_init(&p);
	mmf_prog_decode(&p, data, size, MMF_DECODE_ANY);
	mmf_fuzz_stats_tick(p.nr_ops);
	if (mmf_fuzz_check(&p, mmf_fuzz_default_flags(), &fail, NULL) && !mmf_fuzz_is_ignored(fail.sig)) {
		/* again, with the report (rare: only on a real failure) */
		mmf_fuzz_check(&p, mmf_fuzz_default_flags(), &fail, stderr);
		fprintf(stderr, "mmfuzz: %s\n", fail.sig);
		fflush(stderr);
		abort();
	}
	mmf_prog_free(&p);
	return 0;
}
