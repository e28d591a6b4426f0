/* SPDX-License-Identifier: MIT */
/*
 * fuzzers/fuzz.h - what the fuzz targets, their replay driver and their
 * structure-aware mutator share.
 *
 * One program check (diff_fuzzer.c) runs a decoded program on every
 * implementation compiled in and reports the first divergence as a stable
 * signature ("diff:<op>:<what>" or "invariant:<name>").  The libFuzzer/AFL++
 * entry point aborts on it; diff_replay and the minimizer call it directly.
 */
#ifndef MMFUZZ_FUZZERS_FUZZ_H
#define MMFUZZ_FUZZERS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmfuzz/prog.h"

/* flags of mmf_fuzz_check() */
#define MMF_FUZZ_EVERY_OP	0x1u	/* compare snapshots after every op */

struct mmf_fuzz_fail {
	char sig[160];		/* "diff:mmap:ret", "invariant:tree", ... */
	int op;			/* index of the op after which it was seen, -1: none */
};

/*
 * Run p on every implementation compiled in and compare.  Returns 0 when
 * everything agrees, else 1 with the signature in *fail and, if report is
 * non-NULL, a readable report (program, op, results, snapshot difference)
 * written to it.  Never aborts by itself (sanitizers may).
 */
int mmf_fuzz_check(const struct mmf_prog *p, unsigned flags,
		   struct mmf_fuzz_fail *fail, FILE *report);

/*
 * prog_fuzzer's check: data as every form of program (text, concurrent text,
 * binary, concurrent binary) must round-trip.  0, or 1 with the signature
 * "invariant:roundtrip:<form>" in *fail and the why written to report.
 */
int mmf_prog_fuzz_check(const uint8_t *data, size_t size, struct mmf_fuzz_fail *fail,
			FILE *report);

/* The flags the fuzz entry point uses: MMF_CHECK_EVERY_OP (env or build). */
unsigned mmf_fuzz_default_flags(void);

/* What scripts/campaign.sh passes in the environment (fuzz_env.c). */
void mmf_fuzz_stats_init(void);			/* MMF_FUZZ_STATS; from LLVMFuzzerInitialize */
void mmf_fuzz_stats_tick(uint32_t nr_ops);	/* once per input */
bool mmf_fuzz_is_ignored(const char *sig);	/* listed in MMF_FUZZ_IGNORE */

/* Structure-aware edits of a program (mutate_prog.c); rng is any state. */
void mmf_fuzz_mutate_prog(struct mmf_prog *p, uint64_t *rng);
uint64_t mmf_fuzz_rnd(uint64_t *rng);			/* splitmix64 */
uint64_t mmf_fuzz_below(uint64_t *rng, uint64_t n);	/* 0 <= r < n; 0 if n == 0 */
/* The targets' bound on population (bound_op.c): applied to every op run. */
#define MMF_FUZZ_POPULATE_MAX	(16ull << 20)
void mmf_fuzz_bound_populate(struct mmf_op *op);

/*
 * The concurrent targets' mutator (cprog_mutator.c) edits the schedule bytes
 * only for the target that has a scheduler: each target defines this.
 */
extern const bool mmf_cprog_mutates_schedule;

/* Encode p into out, dropping trailing ops until it fits; 0 if nothing fits. */
size_t mmf_fuzz_encode_fit(struct mmf_prog *p, uint8_t *out, size_t max);

#endif /* MMFUZZ_FUZZERS_FUZZ_H */
