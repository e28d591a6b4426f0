// SPDX-License-Identifier: MIT
/*
 * fuzzers/prog_replay.c - prog_fuzzer's check (every form of program
 * round-trips, prog_fuzzer.c) on files, without an engine: ctest replays
 * the text corpora and prog_fuzzer's seeds with it, and it reproduces a
 * prog_fuzzer crash file.
 *
 *   prog_replay FILE|DIR...
 *
 * Prints one report per failing file, then "N passed, N failed"; exits 1 if
 * any failed, 2 if a file could not be read.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "prog_ext.h"
#include "replay_walk.h"

static int passed, failed, errors;

static void replay_one(const char *file, void *ctx)
{
	struct mmf_fuzz_fail fail;
	uint8_t *buf;
	size_t len;
	char err[512];

	(void)ctx;
	if (mmf_file_read(file, &buf, &len, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		errors++;
		return;
	}
	if (mmf_prog_fuzz_check(buf, len, &fail, stderr)) {
		printf("%s: mmfuzz: %s\n", file, fail.sig);
		failed++;
	} else {
		passed++;
	}
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: prog_replay FILE|DIR...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (mmf_replay_walk(argv[i], replay_one, NULL))
			errors++;
	printf("%d passed, %d failed\n", passed, failed);
	return errors ? 2 : failed ? 1 : 0;
}
