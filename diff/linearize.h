/* SPDX-License-Identifier: MIT */
/*
 * diff/linearize.h - the linearizability checker (Wing & Gong search).
 *
 * A concurrent history of the core (ops of several threads, each with the
 * logical time of its call and of its return, and the result the core gave)
 * is linearizable when some sequential order of all its ops
 *   - respects real time: if a returned before b was called, a comes first;
 *   - respects each thread's program order (implied by the above);
 *   - gives, run on the reference from the state before the threads started,
 *     every op the result the core gave it;
 *   - and ends in a reference state whose snapshot equals the core's final
 *     snapshot.
 *
 * The search is depth-first over "which thread's next op goes next", on
 * clones of the reference world, with memoization of failed
 * (progress per thread, reference state hash) pairs, so that two prefixes
 * reaching the same state with the same ops placed are explored once.
 * The state hash is ref->state_hash; without one, the hash of a snapshot,
 * which misses hidden state (anon_vma identities, zero-page PTEs ...): two
 * states that differ only there are then taken for one, and a history may
 * be reported not linearizable when it is (never the other way round).
 * Results are compared as the differential engine compares them
 * (mmf_diff_res_cmp: signal, ret, value).
 *
 * The search recurses once per op placed: call it on a thread with an
 * ordinary stack (not on a small fiber stack).  It keeps no global state.
 */
#ifndef MMFUZZ_DIFF_LINEARIZE_H
#define MMFUZZ_DIFF_LINEARIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mmfuzz/mm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMF_LIN_MAX_THREADS	8
#define MMF_LIN_MAX_OPS		(MMF_LIN_MAX_THREADS * 256)

struct mmf_lin_op {
	int thread;		/* 0 .. nr_threads-1 */
	struct mmf_op op;
	struct mmf_res res;	/* what the implementation under test returned */
	uint64_t call, ret;	/* logical times, call < ret; all distinct */
};

struct mmf_lin_history {
	uint32_t nr_threads;
	uint32_t nr_ops;
	/*
	 * Any order; each thread's ops have increasing call times, and are
	 * placed in call order (program order) even if their intervals
	 * overlap.  A setup may be given as one more thread whose ops all
	 * return before the others' are called.
	 */
	const struct mmf_lin_op *ops;
};

struct mmf_lin_limits {
	uint64_t max_states;	/* reference ops executed before giving up; 0: 10^6 */
};

enum mmf_lin_verdict {
	MMF_LIN_OK = 0,		/* linearizable; out->order is a witness */
	MMF_LIN_FAIL,		/* not linearizable */
	/*
	 * The search hit max_states (sig "linearizability:unknown"), or could
	 * not run: ref has no clone ("linearizability:unsupported"), or h is
	 * malformed ("linearizability:bad-history": more than
	 * MMF_LIN_MAX_THREADS threads or MMF_LIN_MAX_OPS ops, a thread out of
	 * range, call >= ret).  why says which.
	 */
	MMF_LIN_UNKNOWN,
};

struct mmf_lin_result {
	enum mmf_lin_verdict verdict;
	/*
	 * MMF_LIN_OK: indices into h->ops in a valid sequential order
	 * (nr_placed = nr_ops).  Otherwise the deepest prefix the search
	 * reached: order[0 .. nr_placed).
	 */
	uint32_t order[MMF_LIN_MAX_OPS];
	uint32_t nr_placed;
	/*
	 * MMF_LIN_FAIL: the op the deepest prefix could not be extended by
	 * (the earliest-called candidate), or -1 when every op was placed but
	 * no complete order ends in the core's final snapshot.
	 */
	int first_unplaced;
	/*
	 * "linearizability:<op name>" or "linearizability:snapshot" (FAIL);
	 * see MMF_LIN_UNKNOWN; "" when OK.
	 */
	char sig[64];
	/*
	 * One paragraph: how many ops the deepest prefix placed, why each
	 * candidate failed there ("#i tT `op`: reference R, core C", i the
	 * index in h->ops), or the snapshot difference, then the prefix itself
	 * (its tail, if long).  "" when OK.
	 */
	char why[2048];
	uint64_t states;	/* reference ops executed */
	uint64_t memo_hits;	/* configurations cut because they had failed before */
	uint64_t clones;	/* reference worlds cloned (at most states + 1) */
};

/*
 * Decide whether h is linearizable.  `ref` must have ->clone; `initial` is
 * the reference world after the setup ops (not modified); `final` the
 * implementation's snapshot after every thread finished.
 */
enum mmf_lin_verdict mmf_linearize(const struct mmf_impl *ref, struct mmf_world *initial,
				   const struct mmf_lin_history *h,
				   const struct mmf_snap *final,
				   const struct mmf_lin_limits *lim,
				   struct mmf_lin_result *out);

/*
 * Print the history, one op a line, in call order:
 *     #<index> t<thread> [<call>, <ret>] <op text> = <result>
 */
void mmf_lin_print_history(FILE *out, const struct mmf_lin_history *h);

#ifdef __cplusplus
}
#endif

#endif /* MMFUZZ_DIFF_LINEARIZE_H */
