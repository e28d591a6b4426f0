// SPDX-License-Identifier: MIT
/*
 * fuzzers/fuzz_stats.c - live statistics of a fuzz target for
 * scripts/campaign.sh: when MMF_FUZZ_STATS names a file, "execs N ops N" is
 * written to it about once a second (write + rename, so a reader never sees
 * half a line).  Every target calls mmf_fuzz_stats_init() from
 * LLVMFuzzerInitialize and mmf_fuzz_stats_tick() once per input.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fuzz.h"

static const char *stats_path;

void mmf_fuzz_stats_init(void)
{
	stats_path = getenv("MMF_FUZZ_STATS");
}

void mmf_fuzz_stats_tick(uint32_t nr_ops)
{
	static uint64_t execs, ops, last;
	struct timespec ts;
	char tmp[4096];
	FILE *f;

	if (!stats_path)
		return;
	execs++;
	ops += nr_ops;
	if (execs % 64)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((uint64_t)ts.tv_sec == last)
		return;
	last = (uint64_t)ts.tv_sec;
	snprintf(tmp, sizeof(tmp), "%s.tmp", stats_path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "execs %" PRIu64 " ops %" PRIu64 "\n", execs, ops);
	fclose(f);
	rename(tmp, stats_path);
}
