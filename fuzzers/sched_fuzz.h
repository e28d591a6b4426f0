/* SPDX-License-Identifier: MIT */
/*
 * fuzzers/sched_fuzz.h - what sched_fuzzer.c exports to its replay driver
 * (sched_replay.c) and to `mmfuzz repro`'s use of it.
 */
#ifndef MMFUZZ_FUZZERS_SCHED_FUZZ_H
#define MMFUZZ_FUZZERS_SCHED_FUZZ_H

#include <stdio.h>

#include "fuzz.h"
#include "mmfuzz/prog.h"

/* flags of mmf_sched_check() */
#define MMF_SCHED_DETERMINISM	0x1u	/* run twice, compare trace hash and history */
#define MMF_SCHED_HISTORY	0x2u	/* on failure, print the interleaving to report */
#define MMF_SCHED_ALWAYS_HISTORY 0x4u	/* print it on success too */

/*
 * Run the concurrent program on the core under the deterministic scheduler
 * and check the core's invariants and the history's linearizability on the
 * reference.  0: sound; 1: failed, signature in *fail, explanation in report
 * (if not NULL).  Aborts only through the scheduler (deadlock, livelock) or
 * a sanitizer.
 */
int mmf_sched_check(const struct mmf_cprog *c, unsigned flags, struct mmf_fuzz_fail *fail,
		    FILE *report);

/* Counters over every mmf_sched_check of the process. */
struct mmf_sched_stats {
	unsigned long inputs;		/* checks that reached the linearizability search */
	unsigned long lin_unknown;	/* searches that gave up (max states) */
	unsigned long long lin_states;	/* reference ops the searches ran */
	unsigned long long lin_max_states;	/* the largest search */
	double lin_max_seconds;		/* the longest search (CPU time) */
	unsigned lin_max_ops;		/* ops in the longest search's history */
};
extern struct mmf_sched_stats mmf_sched_stats;

/*
 * Set by the explorer (sched_explore.c) around its runs: mmf_sched_check
 * then schedules by choose() (sched_ctl.h opts.choose), not by c->sched.
 */
struct mmf_sched_choice;
struct mmf_sched_chooser {
	int (*choose)(void *ctx, const struct mmf_sched_choice *q);
	void *ctx;
};
extern struct mmf_sched_chooser mmf_sched_chooser;

/*
 * The schedule search (sched_explore.c, `sched_replay --explore`): for
 * one program, schedules of few deviations from the non-preemptive one,
 * every one up to `bound` deviations (CHESS-style preemption bounding),
 * then PCT's randomized priority schedules, within `budget` runs; all of
 * it deterministic in (program, options).  A failing run's schedule is
 * encoded as schedule bytes (sched_len/sched of the result) whose replay
 * by mmf_sched_check is checked to fail with the same signature.
 */
struct mmf_explore_opts {
	unsigned bound;			/* deviations of the systematic phase (2) */
	unsigned long budget;		/* runs in all (2000) */
	unsigned small_ops;		/* systematic only if no thread has more ops (4) */
	unsigned tiny_ops;		/* one deviation more if no thread has more ops (2) */
	unsigned depth;			/* PCT's bug depth d (3) */
	uint64_t seed;			/* PCT's priorities and change points */
	const char *crash_path;		/* a sanitizer or sync-bug abort saves its schedule here */
};

struct mmf_explore_result {
	unsigned long runs;		/* checks run */
	unsigned bound;			/* the systematic phase's bound for this program */
	int bound_done;			/* every schedule of <= this many deviations tried (-1: none) */
	unsigned long partial;		/* runs of the next bound, when the budget ended it */
	int exhausted;			/* no schedule has bound_done + 1 deviations: all were run */
	unsigned long pct_runs;
	unsigned long steps;		/* scheduling points of the non-preemptive run */
	int found;			/* 1: sig, sched below */
	char phase[64];			/* "systematic, 1 deviation", "pct d=3 run 17" */
	struct mmf_fuzz_fail fail;
	uint32_t sched_len;
	uint8_t sched[MMF_CPROG_SCHED_MAX];
	int replayed;			/* the bytes' own run failed with the same signature */
};

void mmf_explore_opts_default(struct mmf_explore_opts *o);
int mmf_explore(const struct mmf_cprog *c, const struct mmf_explore_opts *o,
		struct mmf_explore_result *r);

#endif /* MMFUZZ_FUZZERS_SCHED_FUZZ_H */
