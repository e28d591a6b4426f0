// SPDX-License-Identifier: MIT
/*
 * fuzzers/fuzz_env.c - what a fuzz target takes from scripts/campaign.sh
 * through the environment, the same for every target:
 *
 *  MMF_FUZZ_STATS   a file: "execs N ops N" is written to it about once a
 *                   second (write + rename, so a reader never sees half a
 *                   line).  Targets call mmf_fuzz_stats_init() from
 *                   LLVMFuzzerInitialize and mmf_fuzz_stats_tick() once per
 *                   input.
 *  MMF_FUZZ_IGNORE  a file of signatures, one a line ('#' comments): an
 *                   input failing with one of them counts as passing, so a
 *                   campaign keeps fuzzing past a bug it has already filed.
 *                   Read once, at the first mmf_fuzz_is_ignored() call.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static char **ignored;
static size_t nr_ignored;

static void load_ignored(void)
{
	const char *path = getenv("MMF_FUZZ_IGNORE");
	char line[256];
	FILE *f;

	if (!path || !(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char **n;

		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		n = realloc(ignored, (nr_ignored + 1) * sizeof(*ignored));
		if (!n)
			break;
		ignored = n;
		ignored[nr_ignored++] = strdup(line);
	}
	fclose(f);
}

bool mmf_fuzz_is_ignored(const char *sig)
{
	static bool loaded;

	if (!loaded) {
		loaded = true;
		load_ignored();
	}
	for (size_t i = 0; i < nr_ignored; i++)
		if (ignored[i] && !strcmp(ignored[i], sig))
			return true;
	return false;
}
