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

#endif /* MMFUZZ_FUZZERS_SCHED_FUZZ_H */
