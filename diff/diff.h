/* SPDX-License-Identifier: MIT */
/*
 * diff/diff.h - the differential engine and the host-kernel backend.
 *
 * mmf_diff_run() runs one program op by op on several implementations
 * (reference, core, host kernel), compares every op's struct mmf_res and the
 * snapshots, and reports the first divergence with a stable one-line
 * signature "diff:<op>:<what>".  It keeps no global state and never exits:
 * fuzzers call it in a loop, the CLI prints its report.
 *
 * Two result codes outside the errno range (Linux errnos are <= 4095) are
 * used by implementations that cannot check an op:
 *
 *   MMF_RES_SKIPPED  (ret = -4097)  "not checkable here": the kernel backend
 *       returns it for non-fixed mmap whose hint the host did not honour,
 *       mremap that would move to a host-chosen address, ranges that leave
 *       the model window [0, MMF_TASK_SIZE) (or reach below
 *       MMF_MMAP_MIN_ADDR for placement and faults), files bigger than the
 *       model's MMF_MAX_FILE_SIZE, and set_name on a host without
 *       CONFIG_ANON_VMA_NAME.  (An unknown process is -ESRCH, an unknown
 *       file -EBADF from the host's own fd check.)  The op had no
 *       effect on that implementation.  Only an implementation with
 *       mmf_impl.may_skip set may answer it.
 *   MMF_RES_HARNESS  (ret = -4098)  the implementation itself failed (a
 *       kernel child died or timed out).  Never a verdict on the model.
 *
 * Comparison rules (mmf_diff_run):
 *  - an op skipped by some implementation is not compared;
 *  - if it was skipped by one and changed the state of another (its
 *    state_hash, or without one its snapshot, differs from before the op),
 *    the worlds can no longer be compared: the run stops with
 *    MMF_DIFF_INCOMPARABLE (not a divergence).  The state decides, not the
 *    result: a failed op may have changed it (an mremap the host cannot
 *    place, which shrank the VMA before failing in the reference) and a
 *    successful one may not have (munmap of a hole).  The state before
 *    the op is hashed only when some may_skip implementation, run first,
 *    skipped it;
 *  - a MMF_RES_HARNESS result stops the run with MMF_DIFF_ERROR;
 *  - otherwise sig/si_code, then ret, then value (read, file_read) are
 *    compared, and the snapshots after every op (opts.snap_every_op) or after
 *    fork/exit ops and at the end.  Implementation 0 is the baseline; every
 *    other one is compared with it.
 */
#ifndef MMFUZZ_DIFF_H
#define MMFUZZ_DIFF_H

#include "mmfuzz/mm.h"
#include "mmfuzz/prog.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMF_RES_SKIPPED		(-4097)
#define MMF_RES_HARNESS		(-4098)

/* ---- the host-kernel backend (diff/kernel.c) ---- */

/*
 * Runs every model process as a real process; model address a is host
 * address MMF_KERNEL_WINDOW + a.  world_new returns NULL (and prints why to
 * stderr) when the backend cannot run here.
 */
extern const struct mmf_impl mmf_kernel;

#define MMF_KERNEL_OK		0x1u	/* the backend can run in this process */
#define MMF_KERNEL_NAMES	0x2u	/* PR_SET_VMA_ANON_NAME works on this host */
/*
 * A read fault of untouched private anonymous memory maps the shared zero
 * page (mainline).  Without it (e.g. a PVM guest booted with
 * pvm_no_zero_page=1) such a read allocates a page and an anon_vma, so fork
 * copies it and the VMA's merges change: see mmf_diff_zero_page_variant().
 */
#define MMF_KERNEL_ZERO_PAGE	0x4u
/*
 * x86 protection keys (cpu flags pku + ospke): a PROT_EXEC-only mapping
 * gets the execute-only pkey, and a load from it is SIGSEGV/SEGV_PKUERR.
 * Probed by doing it (in a child).  Every user of the backend passes this
 * as mmf_config.exec_only_pkey; a world asked for the other is refused.
 */
#define MMF_KERNEL_PKU_XONLY	0x8u
/* MADV_GUARD_INSTALL works in anonymous and file mappings (Linux 6.15+). */
#define MMF_KERNEL_GUARD	0x80u
/* Probe the host: MMF_KERNEL_* bits; if not OK, why in msg. */
unsigned mmf_kernel_probe(char *msg, size_t msglen);
/*
 * The config a model needs to be compared with this host (exec_only_pkey
 * as probed); every user of the kernel backend passes it to every world.
 */
struct mmf_config mmf_kernel_host_config(void);
/* The last harness failure of a kernel world ("" if none). */
const char *mmf_kernel_error(struct mmf_world *w);
/* Host address of model address 0. */
uint64_t mmf_kernel_window(void);

/* ---- the differential engine (diff/diff.c) ---- */

struct mmf_diff_opts {
	bool snap_every_op;		/* compare snapshots after every op */
	const struct mmf_config *cfg;	/* passed to every world_new (may be NULL) */
	/*
	 * Models only (never with the kernel, whose mode is the host's): when
	 * the program agrees and asks for exactly PROT_EXEC somewhere
	 * (mmf_prog_asks_exec_only), run it again in worlds with
	 * cfg->exec_only_pkey set, so both x86 modes are checked.
	 */
	bool both_pkey_worlds;
	FILE *trace;			/* if set: every op and its results */
};

enum mmf_diff_status {
	MMF_DIFF_SAME = 0,		/* every compared result and snapshot agreed */
	MMF_DIFF_DIVERGED,		/* first divergence in the report */
	MMF_DIFF_INCOMPARABLE,		/* stopped: an op skipped by one impl changed another */
	MMF_DIFF_ERROR,			/* an implementation failed (world_new, harness) */
};

#define MMF_DIFF_MAX_IMPLS	4

struct mmf_diff_report {
	enum mmf_diff_status status;
	int op_index;			/* op of the divergence / stop; -1 if none */
	struct mmf_op op;		/* that op (valid if op_index >= 0) */
	int impl_a, impl_b;		/* indices of the two implementations compared */
	struct mmf_res res_a, res_b;	/* their results for op */
	bool have_snaps;		/* the divergence is in the snapshots: */
	struct mmf_snap snap_a, snap_b;	/* owned by the report */
	char sig[96];			/* "diff:mmap:ret", "diff:fork:snapshot:vma.end" */
	char what[512];			/* human detail */
	uint32_t ops_run;		/* ops executed */
	uint32_t ops_compared;		/* ops whose results were compared */
	uint32_t ops_skipped;		/* ops some implementation skipped */
	uint32_t snaps_compared;
	bool exec_only_pkey;		/* the report is of the run with exec_only_pkey */
};

void mmf_diff_report_init(struct mmf_diff_report *r);
void mmf_diff_report_free(struct mmf_diff_report *r);

/*
 * Run prog on impls[0..n) (2 <= n <= MMF_DIFF_MAX_IMPLS).  Fills *rep (which
 * must be initialised; it is reset first) and returns rep->status.
 */
enum mmf_diff_status mmf_diff_run(const struct mmf_prog *prog,
				  const struct mmf_impl *const impls[], int n,
				  const struct mmf_diff_opts *opts,
				  struct mmf_diff_report *rep);

/* Print the report: signature, op, both results, both snapshots. */
void mmf_diff_report_print(FILE *out, const struct mmf_diff_report *rep,
			   const struct mmf_impl *const impls[]);

/* "ret", "skipped", "harness error" ... for a result (wraps mmf_res_str). */
const char *mmf_diff_res_str(enum mmf_op_kind kind, const struct mmf_res *r,
			     char *buf, size_t len);

/*
 * For hosts without the zero page (MMF_KERNEL_ZERO_PAGE unset): write into
 * *out (initialised) a copy of prog in which every read of a page that the
 * model (run step by step on `model`) has not populated, in a private
 * anonymous VMA, becomes a write of 0 -- what such a host does on that read
 * (allocate a zeroed anonymous page) -- or, when the VMA is not writable, is
 * dropped.  Returns the number of reads rewritten or dropped (0: out is a
 * plain copy).
 */
int mmf_diff_zero_page_variant(const struct mmf_prog *prog, const struct mmf_impl *model,
			       struct mmf_prog *out);

/*
 * The engine's comparison of two results of an op of this kind: NULL when
 * they agree, else what differs first: "signal" (sig or si_code), "ret",
 * or "value" (read; file_read that read something).  The linearizability
 * checker compares with it too.
 */
const char *mmf_diff_res_cmp(enum mmf_op_kind kind, const struct mmf_res *a,
			     const struct mmf_res *b);

/* Classify the first difference between two snapshots: "vma.end", "pages",
 * "file.size" ...; NULL when equal. */
const char *mmf_diff_snap_field(const struct mmf_snap *a, const struct mmf_snap *b);

#ifdef __cplusplus
}
#endif

/* invariant:NAME from a checker message "NAME: what" (every tool names a crash so) */
void mmf_invariant_sig(char *sig, size_t len, const char *msg);

#endif /* MMFUZZ_DIFF_H */
