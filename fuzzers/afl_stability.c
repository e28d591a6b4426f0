// SPDX-License-Identifier: MIT
/*
 * fuzzers/afl_stability.c - ctest afl_stability (AFL++ builds only): is
 * diff_fuzzer 100% stable in persistent mode?
 *
 *   afl_stability [--reps N] FILE|DIR...
 *
 * Linked with diff_fuzzer's own afl-clang-fast objects, it does what
 * afl-fuzz's calibration and libAFLDriver do, in one process: call
 * LLVMFuzzerInitialize, run a dummy input, then run every input N times
 * (default 3), interleaved (inputs 1..k, then 1..k again, ...), each time
 * clearing AFL++'s coverage map before and bucketing the hit counts after,
 * as afl-fuzz does.  An edge whose bucket differs between two runs of the
 * same input is what afl-fuzz reports as a variable byte (stability < 100%).
 * Prints each such map id with the file that showed it and its sancov guard
 * (the id -> code mapping: the guard's address is referenced by the
 * instrumented function, e.g. `objdump -d diff_fuzzer | grep '# <addr>'`),
 * exits 1 if there is any.  This file is compiled without instrumentation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_walk.h"

extern uint8_t *__afl_area_ptr;
extern uint32_t __afl_final_loc;
extern uint32_t __start___sancov_guards[] __attribute__((weak));
extern uint32_t __stop___sancov_guards[] __attribute__((weak));

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	char *path;
	uint8_t *data;
	size_t size;
};

static struct input *inputs;
static size_t nr_inputs;

static void add_input(const char *path, void *ctx)
{
	FILE *f = fopen(path, "rb");
	struct input in = { strdup(path), malloc(1 << 20), 0 };

	(void)ctx;
	if (!f || !in.data || !in.path) {
		fprintf(stderr, "%s: cannot read\n", path);
		exit(2);
	}
	in.size = fread(in.data, 1, 1 << 20, f);
	fclose(f);
	inputs = realloc(inputs, (nr_inputs + 1) * sizeof(*inputs));
	inputs[nr_inputs++] = in;
}

/* afl-fuzz's classify_counts */
static uint8_t bucket(uint8_t v)
{
	return v == 0 ? 0 : v == 1 ? 1 : v == 2 ? 2 : v == 3 ? 3 : v < 8 ? 4 :
	       v < 16 ? 5 : v < 32 ? 6 : v < 128 ? 7 : 8;
}

int main(int argc, char **argv)
{
	static const uint8_t dummy[4] = "##SI";
	int reps = 3, first = 1, bad = 0;
	uint8_t *maps;
	size_t size;

	if (argc > 2 && !strcmp(argv[1], "--reps")) {
		reps = atoi(argv[2]);
		first = 3;
	}
	if (first >= argc || reps < 2) {
		fprintf(stderr, "usage: %s [--reps N>=2] FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = first; i < argc; i++)
		if (mmf_replay_walk(argv[i], add_input, NULL))
			return 2;
	LLVMFuzzerInitialize(&argc, &argv);
	LLVMFuzzerTestOneInput(dummy, sizeof(dummy));	/* as libAFLDriver does */

	size = (size_t)__afl_final_loc + 1;
	maps = calloc(nr_inputs, size);
	if (!maps)
		return 2;
	for (int r = 0; r < reps; r++) {
		for (size_t i = 0; i < nr_inputs; i++) {
			uint8_t *m = maps + i * size;

			memset(__afl_area_ptr, 0, size);
			LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].size);
			for (size_t k = 0; k < size; k++) {
				uint8_t b = bucket(__afl_area_ptr[k]);

				if (r == 0) {
					m[k] = b;
				} else if (m[k] != b && m[k] != 0xff) {
					long guard = -1;

					for (uint32_t *g = __start___sancov_guards;
					     g && g < __stop___sancov_guards; g++)
						if (*g == k)
							guard = (long)((char *)g - (char *)__start___sancov_guards);
					printf("UNSTABLE map id %zu: %s, run %d: bucket %u, run 1: %u "
					       "(guard at __start___sancov_guards+%#lx)\n", k,
					       inputs[i].path, r + 1, b, m[k], guard);
					m[k] = 0xff;	/* once per input and id */
					bad++;
				}
			}
		}
	}
	printf("%zu inputs x %d runs in one process, %zu map entries: %s\n", nr_inputs, reps,
	       size, bad ? "UNSTABLE" : "stable");
	return bad ? 1 : 0;
}
