/* SPDX-License-Identifier: MIT */
/*
 * mmfuzz/tsan_report.h - the part of the TSan runtime's report-inspection
 * interface (compiler-rt's own tsan_interface.h; the installed
 * <sanitizer/tsan_interface.h> lacks it) that the report hooks use:
 * lib/tsan_coverage_filter.c (drops races on libFuzzer's counters) and
 * fuzzers/race_tsan_hook.c (prints the racing program).  TSan builds only.
 */
#ifndef MMFUZZ_TSAN_REPORT_H
#define MMFUZZ_TSAN_REPORT_H

#include <stddef.h>

int __tsan_get_report_data(void *report, const char **description, int *count,
			   int *stack_count, int *mop_count, int *loc_count, int *mutex_count,
			   int *thread_count, int *unique_tid_count, void **sleep_trace,
			   size_t trace_size);
int __tsan_get_report_mop(void *report, size_t idx, int *tid, void **addr, int *size,
			  int *write, int *atomic, void **trace, size_t trace_size);

#endif /* MMFUZZ_TSAN_REPORT_H */
