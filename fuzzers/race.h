/* SPDX-License-Identifier: MIT */
/*
 * fuzzers/race.h - what race_fuzzer (race_fuzzer.c) and its replay driver
 * (race_replay.c) share.  See the top of race_fuzzer.c for what the check
 * does and the signatures it gives.
 */
#ifndef MMFUZZ_FUZZERS_RACE_H
#define MMFUZZ_FUZZERS_RACE_H

#include <stdio.h>

#include "mmfuzz/prog.h"

/* Caps applied to every input (mmf_race_prepare); the rest is dropped. */
#define MMF_RACE_MAX_SETUP_OPS	64
#define MMF_RACE_MAX_THREAD_OPS	32

/*
 * Disjoint mode: thread t owns the address window
 *     [MMF_RACE_WIN_BASE + t * MMF_RACE_WIN_STRIDE, ... + MMF_RACE_WIN_SIZE)
 * The windows are separated by gaps of STRIDE - SIZE bytes (far more than
 * the stack guard gap), so no merge, anon_vma reuse or stack guard gap
 * check crosses from one window to another; the gaps are unmapped but for
 * one PROT_NONE page at the end of each window (win_sentinel in
 * race_fuzzer.c says why).
 */
#define MMF_RACE_WIN_BASE	0x10000000ULL
#define MMF_RACE_WIN_SIZE	0x10000000ULL
#define MMF_RACE_WIN_STRIDE	0x30000000ULL

struct mmf_race_fail {
	char sig[160];		/* "invariant:tree", "race:mmap:ret", "hang:munmap" */
};

/*
 * Make an input what the fuzzer runs: the schedule bytes are dropped (they
 * are sched_fuzzer's), setup is cut to MMF_RACE_MAX_SETUP_OPS ops and each
 * thread's list to MMF_RACE_MAX_THREAD_OPS.  Idempotent.
 */
void mmf_race_prepare(struct mmf_cprog *c);

/*
 * Run c (prepared) once: setup on a fresh core world, then the threads at
 * the same time, joined; the invariant checker; in disjoint mode the
 * comparison with the reference run sequentially.  Returns 0, or 1 with
 * the signature in *fail and a readable report (program, what differs)
 * written to report (if non-NULL).  A hang is not returned: it prints the
 * program and "mmfuzz: hang:<op>" to stderr and aborts (the stuck threads
 * cannot be joined).  TSan reports abort by themselves (halt_on_error=1).
 */
int mmf_race_check(const struct mmf_cprog *c, struct mmf_race_fail *fail, FILE *report);

/* Print c for a report: its text form (replayable), and in disjoint mode
 * the rewritten program actually run, as comments. */
void mmf_race_print(FILE *out, const struct mmf_cprog *c);

/* Functions the TSan runtime calls from inside itself: not instrumented. */
#if defined(__has_attribute) && __has_attribute(disable_sanitizer_instrumentation)
#define MMF_RACE_NO_INSTR __attribute__((disable_sanitizer_instrumentation))
#else
#define MMF_RACE_NO_INSTR __attribute__((no_sanitize("thread")))
#endif

#endif /* MMFUZZ_FUZZERS_RACE_H */
