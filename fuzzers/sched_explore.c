// SPDX-License-Identifier: MIT
/*
 * fuzzers/sched_explore.c - the schedule search of `sched_replay --explore`
 * (and of the campaign's explore job): for one concurrent program, look
 * for a schedule under which sched_fuzzer's check fails, and give it back
 * as schedule bytes that replay it exactly.
 *
 * A run is driven by a chooser (sched_ctl.h opts.choose) instead of bytes:
 * it is asked at every decision, at every scheduling point.  Answer 0 is
 * what the zero schedule does: the asking fiber keeps running, or, when it
 * blocks, ends or spins, the next candidate in circular order runs.  So
 * the run of all-0 answers is the non-preemptive schedule, and a schedule
 * is named by its DEVIATIONS: (decision index, candidate != 0).  A
 * deviation at a skippable point (sched_ctl.h) is a preemption; at a
 * blocking, ending or spinning point it picks another successor.
 *
 * Phase 1, systematic (programs whose threads have at most small_ops ops):
 * for k = 0, 1, ..., bound, every schedule of exactly k deviations, the
 * i-th after the (i-1)-th, in order of position: the preemption-bounded
 * search of CHESS.  It guarantees that if some schedule of at most k
 * deviations fails the check, the search finds one, provided the budget
 * lets it finish bound k (the result says which bound it finished and how
 * far into the next it got).  Programs whose threads have at most tiny_ops
 * ops get bound + 1: a race that needs the reader stopped at three places
 * (announced, past the writer's wait, before its PTE) is a 3-deviation
 * schedule of a program of ~70 points, every one of which is ~15,000 runs
 * (corpus/sched/fault_vs_mprotect_seq.mmf).  Phase 2, PCT (probabilistic concurrency
 * testing): each run draws random priorities for the fibers and the RCU
 * runner, and d-1 change points among the K decisions of the
 * non-preemptive run; the highest-priority candidate runs, and at the i-th
 * change point the running one drops below every initial priority.  A bug
 * of depth d (d ordering constraints between events) is found by one run
 * with probability at least 1/(n K^(d-1)), n = threads + 1.  Both phases
 * are deterministic in (program, options): the same search each time.
 *
 * Encoding: the log of a run (every question: candidates, skippable, the
 * answer) becomes bytes with the same answers: one byte per decision that
 * must be read, whose run length passes the 0-answer skippable points up
 * to the next deviation (or past the next forced decision).  The bytes are
 * then run without the chooser, and a find counts only if that run fails
 * with the same signature.  A sanitizer report or a sync bug (deadlock,
 * livelock) aborts the process inside a run: a death callback encodes the
 * log so far and writes the program to opts.crash_path first.
 */
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched_ctl.h"
#include "sched_fuzz.h"

void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define MAX_DEVS	8

struct question {
	uint8_t n;		/* candidates */
	uint8_t skippable;
	uint8_t answer;
	int8_t running;
};

struct deviation {
	size_t at;		/* question index */
	uint8_t answer;
};

/* The search in progress (one at a time; the death callback reads it). */
static struct {
	const struct mmf_cprog *c;
	const struct mmf_explore_opts *o;
	struct question *log;
	size_t nr_log, cap_log;
	struct deviation devs[MAX_DEVS];
	unsigned nr_devs;
	/* PCT */
	bool pct;
	int prio[MMF_SCHED_MAX_FIBERS + 3];	/* by fiber id + 2 */
	size_t change[MAX_DEVS];
	unsigned nr_change, next_change;
} x;

static void log_question(const struct mmf_sched_choice *q, int answer)
{
	if (x.nr_log == x.cap_log) {
		x.cap_log = x.cap_log ? 2 * x.cap_log : 4096;
		x.log = realloc(x.log, x.cap_log * sizeof(*x.log));
		if (!x.log)
			abort();
	}
	x.log[x.nr_log++] = (struct question){ (uint8_t)q->nr_candidates, (uint8_t)!!q->skippable,
					       (uint8_t)answer, (int8_t)q->running };
}

static int choose_by_deviations(const struct mmf_sched_choice *q)
{
	for (unsigned i = 0; i < x.nr_devs; i++)
		if (x.devs[i].at == x.nr_log && x.devs[i].answer < q->nr_candidates)
			return x.devs[i].answer;
	return 0;
}

/* PCT: the highest priority candidate; at a change point the runner drops. */
static int choose_by_priority(const struct mmf_sched_choice *q)
{
	int best = 0;

	if (x.next_change < x.nr_change && x.change[x.next_change] == x.nr_log) {
		x.prio[q->running + 2] = (int)(x.nr_change - x.next_change);
		x.next_change++;
	}
	for (int k = 1; k < q->nr_candidates; k++)
		if (x.prio[q->ids[k] + 2] > x.prio[q->ids[best] + 2])
			best = k;
	return best;
}

static int chooser(void *ctx, const struct mmf_sched_choice *q)
{
	int a = 0;

	(void)ctx;
	if (q->nr_candidates > 1)
		a = x.pct ? choose_by_priority(q) : choose_by_deviations(q);
	log_question(q, a);
	return a;
}

/* ---- the log as schedule bytes ----------------------------------------------- */

static uint64_t run_length(unsigned code)
{
	return code < 16 ? code : (uint64_t)(code - 15) * 16;
}

/* The longest run length of at most n points. */
static unsigned run_code_at_most(size_t n)
{
	if (n < 16)
		return (unsigned)n;
	return n / 16 + 15 > 31 ? 31 : (unsigned)(n / 16 + 15);
}

/*
 * Bytes whose run answers every question of log[0..nr) as the log did
 * (sync_sched.c: a skippable point within a run length is no decision; any
 * other question with 2+ candidates reads a byte; one candidate ends the
 * run length, none leaves it).  Returns the length, or SIZE_MAX if over max.
 */
static size_t encode_log(const struct question *log, size_t nr, uint8_t *out, size_t max)
{
	uint64_t run_left = 0;
	size_t len = 0;

	for (size_t i = 0; i < nr; i++) {
		size_t j, pass = 0;
		unsigned code;

		if (log[i].skippable && run_left) {
			run_left--;
			continue;
		}
		if (log[i].n == 0)
			continue;
		if (log[i].n == 1) {
			run_left = 0;
			continue;
		}
		/* skippable 0-answers after i: the run may pass them */
		for (j = i + 1; j < nr && log[j].skippable && (log[j].n < 2 || !log[j].answer); j++)
			pass++;
		code = j == nr || !log[j].skippable ? 31 : run_code_at_most(pass);
		if (len == max)
			return SIZE_MAX;
		out[len++] = (uint8_t)(code << 3 | log[i].answer);
		run_left = run_length(code);
	}
	return len;
}

/* ---- aborts inside a run -------------------------------------------------------- */

static void save_crash(void)
{
	static struct mmf_cprog tmp;
	static uint8_t buf[1 << 16];
	size_t n;
	int fd;

	if (!x.c || !x.o || !x.o->crash_path)
		return;
	tmp = *x.c;	/* shallow: the op lists stay the caller's */
	n = encode_log(x.log, x.nr_log, tmp.sched, MMF_CPROG_SCHED_MAX);
	if (n == SIZE_MAX) {
		fprintf(stderr, "explore: the aborted run's schedule is over %d bytes\n",
			MMF_CPROG_SCHED_MAX);
		return;
	}
	tmp.sched_len = (uint32_t)n;
	n = mmf_cprog_encode(&tmp, buf, sizeof(buf));
	fd = open(x.o->crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0 && n <= sizeof(buf)) {
		if (write(fd, buf, n) == (ssize_t)n)
			fprintf(stderr, "explore: the aborted run's schedule (%u bytes) is in %s\n",
				tmp.sched_len, x.o->crash_path);
		close(fd);
	}
	x.c = NULL;
}

static void on_abort(int sig)
{
	save_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- one run ---------------------------------------------------------------------- */

/* Run under the chooser; 1 if the check failed (log and fail filled). */
static int run_once(struct mmf_fuzz_fail *fail)
{
	int bad;

	x.nr_log = 0;
	x.next_change = 0;
	mmf_sched_chooser = (struct mmf_sched_chooser){ chooser, NULL };
	bad = mmf_sched_check(x.c, 0, fail, NULL);
	mmf_sched_chooser = (struct mmf_sched_chooser){ NULL, NULL };
	return bad;
}

/* A failed run: encode, replay the bytes alone, keep if they fail alike. */
static void record_find(struct mmf_explore_result *r, const struct mmf_fuzz_fail *fail,
			const char *phase)
{
	static struct mmf_cprog tmp;
	struct mmf_fuzz_fail again;
	size_t n;

	r->found = 1;
	r->fail = *fail;
	snprintf(r->phase, sizeof(r->phase), "%s", phase);
	n = encode_log(x.log, x.nr_log, r->sched, MMF_CPROG_SCHED_MAX);
	if (n == SIZE_MAX)
		return;		/* found, not replayable: over the format's bytes */
	r->sched_len = (uint32_t)n;
	tmp = *x.c;
	tmp.sched_len = r->sched_len;
	memcpy(tmp.sched, r->sched, r->sched_len);
	r->replayed = mmf_sched_check(&tmp, MMF_SCHED_DETERMINISM, &again, NULL) &&
		      !strcmp(again.sig, fail->sig);
}

/* ---- phase 1: every schedule of k deviations ------------------------------------- */

/*
 * Schedules with devs[0..level) fixed and k - level more deviations, each
 * after the last: 1 found, -1 budget over, 0 none failed.
 */
static int systematic(struct mmf_explore_result *r, unsigned level, unsigned k)
{
	struct mmf_fuzz_fail fail;
	uint8_t *n_at;
	size_t from, nr;
	int ret = 0;

	if (r->runs >= x.o->budget)
		return -1;
	x.nr_devs = level;
	r->runs++;
	if (level == k)
		r->partial++;
	if (run_once(&fail)) {
		char phase[64];

		snprintf(phase, sizeof(phase), "systematic, %u deviation%s", level,
			 level == 1 ? "" : "s");
		record_find(r, &fail, phase);
		return 1;
	}
	if (level == k)
		return 0;
	/* the questions of this run, beyond the last deviation */
	from = level ? x.devs[level - 1].at + 1 : 0;
	nr = x.nr_log > from ? x.nr_log - from : 0;
	n_at = malloc(nr + 1);
	if (!n_at)
		abort();
	for (size_t i = 0; i < nr; i++)
		n_at[i] = x.log[from + i].n;
	for (size_t i = 0; i < nr && !ret; i++)
		for (uint8_t a = 1; a < n_at[i] && !ret; a++) {
			x.devs[level] = (struct deviation){ from + i, a };
			ret = systematic(r, level + 1, k);
		}
	free(n_at);
	return ret;
}

/* ---- phase 2: PCT --------------------------------------------------------------- */

static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int pct_run(struct mmf_explore_result *r, uint64_t *seed, unsigned d, size_t steps)
{
	int nprio = (int)x.c->nr_threads + 1;	/* fibers and the RCU runner */
	int perm[MMF_SCHED_MAX_FIBERS + 1];
	struct mmf_fuzz_fail fail;

	for (int i = 0; i < nprio; i++)
		perm[i] = i;
	for (int i = nprio - 1; i > 0; i--) {
		int j = (int)(next_rand(seed) % (uint64_t)(i + 1)), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	memset(x.prio, 0, sizeof(x.prio));
	/* initial priorities d .. d + nprio - 1, above every changed one */
	for (int i = 0; i < (int)x.c->nr_threads; i++)
		x.prio[i + 2] = (int)d + perm[i];
	x.prio[0] = (int)d + perm[nprio - 1];	/* the RCU runner, id -2 */
	x.nr_change = d - 1 < MAX_DEVS ? d - 1 : MAX_DEVS;
	for (unsigned i = 0; i < x.nr_change; i++)
		x.change[i] = (size_t)(next_rand(seed) % (steps ? steps : 1));
	/* in order of position */
	for (unsigned i = 1; i < x.nr_change; i++)
		for (unsigned j = i; j > 0 && x.change[j - 1] > x.change[j]; j--) {
			size_t t = x.change[j];

			x.change[j] = x.change[j - 1];
			x.change[j - 1] = t;
		}
	x.pct = true;
	r->runs++;
	r->pct_runs++;
	if (run_once(&fail)) {
		char phase[64];

		snprintf(phase, sizeof(phase), "pct d=%u run %lu", d, r->pct_runs);
		record_find(r, &fail, phase);
		x.pct = false;
		return 1;
	}
	x.pct = false;
	return 0;
}

/* ---- the search ----------------------------------------------------------------- */

void mmf_explore_opts_default(struct mmf_explore_opts *o)
{
	*o = (struct mmf_explore_opts){ .bound = 2, .budget = 2000, .small_ops = 4, .tiny_ops = 2,
					.depth = 3, .seed = 1 };
}

static bool few_ops(const struct mmf_cprog *c, unsigned small)
{
	for (uint32_t t = 0; t < c->nr_threads; t++)
		if (c->thread[t].nr_ops > small)
			return false;
	return true;
}

int mmf_explore(const struct mmf_cprog *c, const struct mmf_explore_opts *o,
		struct mmf_explore_result *r)
{
	uint64_t seed = o->seed ^ 0x5eed5eed5eedULL;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	r->bound_done = -1;
	x.c = c;
	x.o = o;
	x.pct = false;
	if (o->crash_path) {
		signal(SIGABRT, on_abort);
		if (__sanitizer_set_death_callback)
			__sanitizer_set_death_callback(save_crash);
	}
	/* the non-preemptive run: its length sizes PCT's change points */
	ret = systematic(r, 0, 0);
	r->steps = x.nr_log;
	if (!ret)
		r->bound_done = 0;
	r->bound = o->bound + (few_ops(c, o->tiny_ops) ? 1 : 0);
	if (!ret && few_ops(c, o->small_ops)) {
		for (unsigned k = 1; k <= r->bound && !ret && !r->exhausted; k++) {
			r->partial = 0;
			ret = systematic(r, 0, k);
			if (!ret)
				r->bound_done = (int)k;
			/* no schedule has k deviations: every schedule was run */
			r->exhausted = !ret && !r->partial;
		}
	}
	/* PCT for the rest of the budget, depths 2 .. d in turn */
	for (unsigned long i = 0; ret <= 0 && !r->exhausted && r->runs < o->budget; i++) {
		unsigned d = o->depth < 2 ? 2 : 2 + (unsigned)(i % (o->depth - 1));

		ret = pct_run(r, &seed, d, r->steps);
	}
	x.c = NULL;
	x.o = NULL;
	if (o->crash_path)
		signal(SIGABRT, SIG_DFL);
	return r->found;
}
