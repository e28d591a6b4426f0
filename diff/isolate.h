/* SPDX-License-Identifier: MIT */
/*
 * diff/isolate.h - run one check in a child process, so that a check that
 * ends the process (a sanitizer report, a signal, a hang) still gives a
 * signature.  The minimizers (`mmfuzz minimize`, diff_replay --minimize,
 * sched_replay --minimize) run every candidate this way, so a crash is
 * minimized like a divergence.
 *
 * The signature is the check's own when it returns, else:
 *   crash:<error>:<function>   an AddressSanitizer SUMMARY line ("KIND ... in FN")
 *   crash:<error>              the same without a function
 *   crash:<tool>               another sanitizer's SUMMARY line
 *   crash:signal:<N>           killed by signal N (a hang: SIGALRM after timeout)
 *   crash:exit:<N>             any other exit
 * The caller must not have started threads before (fork copies only the
 * calling one).
 */
#ifndef MMFUZZ_DIFF_ISOLATE_H
#define MMFUZZ_DIFF_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The check: true if it failed, its signature in sig. */
typedef bool (*mmf_isolated_fn)(void *ctx, char *sig, size_t len);

#define MMF_ISOLATE_SHOW_STDERR	0x1u	/* copy the child's stderr to ours afterwards */

/*
 * Run fn(ctx) in a fork()ed child with its stderr captured (and dropped
 * unless MMF_ISOLATE_SHOW_STDERR) and at most timeout seconds; true if it
 * failed, with the signature in sig.  Exits the process if it cannot fork.
 */
bool mmf_run_isolated(mmf_isolated_fn fn, void *ctx, unsigned timeout, unsigned flags,
		      char *sig, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MMFUZZ_DIFF_ISOLATE_H */
