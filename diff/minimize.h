/* SPDX-License-Identifier: MIT */
/*
 * diff/minimize.h - shrink a failing program to a small one that fails the
 * same way.  The one minimizer: `diff_replay --minimize` and
 * `mmfuzz minimize` both call mmf_minimize() with their own notion of
 * "fails the same way" (the fuzz target's check, or the CLI's diff run).
 *
 * Passes, repeated until nothing changes (or max_rounds):
 *  1. op-level delta debugging: remove chunks of ops (half the program,
 *     then quarters, ... single ops) while the signature holds;
 *  2. argument simplification, op by op: values -> 1, pgoff -> 0, smaller
 *     lengths (one page, halves, a page less), rounder addresses (0, then
 *     the address with its low bits cleared, coarsest first), fewer flags
 *     and prot bits, shorter names, process/file handles -> 0.
 * Every candidate is kept only if still_fails() says the signature holds.
 */
#ifndef MMFUZZ_DIFF_MINIMIZE_H
#define MMFUZZ_DIFF_MINIMIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "mmfuzz/prog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* true if p still fails with signature sig */
typedef bool (*mmf_min_pred)(const struct mmf_prog *p, const char *sig, void *ctx);

#define MMF_MIN_NO_ARGS		0x1u	/* op-level pass only */

struct mmf_min_stats {
	uint32_t ops_before, ops_after;
	uint32_t args_simplified;	/* accepted argument simplifications */
	uint32_t runs;			/* calls of still_fails */
};

/* Shrink *p in place.  st may be NULL. */
void mmf_minimize(struct mmf_prog *p, const char *sig, mmf_min_pred still_fails, void *ctx,
		  unsigned flags, struct mmf_min_stats *st);

/*
 * The same for a concurrent program: the schedule is shortened (and its
 * bytes zeroed), then each list (setup, each thread) is minimized with
 * mmf_minimize while the others stay, until nothing changes.  nr_threads
 * is recomputed at the end.
 */
typedef bool (*mmf_cmin_pred)(const struct mmf_cprog *c, const char *sig, void *ctx);
void mmf_cprog_minimize(struct mmf_cprog *c, const char *sig, mmf_cmin_pred still_fails,
			void *ctx, unsigned flags, struct mmf_min_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* MMFUZZ_DIFF_MINIMIZE_H */
