// SPDX-License-Identifier: MIT
/*
 * lib/tsan_coverage_filter.c - TSan's report hook for libFuzzer + TSan
 * builds (preset libfuzzer-tsan): drops races on libFuzzer's own coverage
 * counters, and nothing else.  Linked into every executable of such a build
 * (CMakeLists.txt): race_fuzzer, and as much mmfuzz, race_replay and the
 * tests, whose libraries carry the same instrumentation -- the core's RCU
 * callback thread runs instrumented code beside the main thread even on a
 * sequential program.
 *
 * This file must be compiled WITHOUT coverage instrumentation: it names
 * __start___sancov_cntrs, and in an instrumented file that name would
 * collide with the one the coverage pass creates for its module
 * constructor (which then registers an empty range, and libFuzzer sees no
 * coverage at all).
 */
#include <stdbool.h>
#include <stddef.h>

#include "mmfuzz/tsan_report.h"

/* called from inside the TSan runtime: not instrumented */
#if defined(__has_attribute) && __has_attribute(disable_sanitizer_instrumentation)
#define NO_TSAN_INSTR __attribute__((disable_sanitizer_instrumentation))
#else
#define NO_TSAN_INSTR __attribute__((no_sanitize("thread")))
#endif

/*
 * libFuzzer's coverage counters.  -fsanitize=fuzzer-no-link puts an 8-bit
 * counter increment on every edge (a plain load/add/store into the
 * __sancov_cntrs section), and clang 14 runs its TSan pass after the
 * coverage pass, so TSan instruments those increments too: two threads
 * running the same core code "race" on the counter of each edge.  That is
 * the fuzzer's own bookkeeping, not memory of the program under test, so
 * the TSan report hook below drops a race report exactly when EVERY access
 * in it lies inside __sancov_cntrs; any report touching other memory goes
 * through.  (__tsan::OnReport is the runtime's weak hook for this:
 * returning true suppresses the report.)  Without coverage
 * instrumentation there is no such section: the bounds are NULL and nothing
 * is dropped.
 */
extern char __start___sancov_cntrs[] __attribute__((weak));
extern char __stop___sancov_cntrs[] __attribute__((weak));
bool mmf_tsan_drop_coverage_race(void *rep, bool suppressed)
	__asm__("_ZN6__tsan8OnReportEPKNS_10ReportDescEb");

NO_TSAN_INSTR __attribute__((used))
bool mmf_tsan_drop_coverage_race(void *rep, bool suppressed)
{
	const char *desc;
	int count, nstack, nmop, nloc, nmutex, nthread, nutid;
	void *trace[4];
	static const char race[] = "data-race";

	if (suppressed || !__start___sancov_cntrs || !__stop___sancov_cntrs)
		return suppressed;
	if (__tsan_get_report_data(rep, &desc, &count, &nstack, &nmop, &nloc, &nmutex, &nthread,
				   &nutid, trace, 4) != 1 || nmop <= 0 || !desc)
		return false;
	/* no strcmp: an intercepted call inside the report path */
	for (size_t k = 0; k < sizeof(race); k++)
		if (desc[k] != race[k])
			return false;
	for (int i = 0; i < nmop; i++) {
		int tid, size, write, atomic;
		void *addr = NULL;

		__tsan_get_report_mop(rep, (size_t)i, &tid, &addr, &size, &write, &atomic, trace, 4);
		if ((char *)addr < __start___sancov_cntrs || (char *)addr >= __stop___sancov_cntrs)
			return false;
	}
	return true;
}
