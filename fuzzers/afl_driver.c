// SPDX-License-Identifier: MIT
/*
 * fuzzers/afl_driver.c - AFL++ persistent-mode driver, used only when AFL++'s
 * own libAFLDriver.a is not installed (Debian's afl++ ships it).  Build with
 * afl-clang-fast: the testcase comes through shared memory (__AFL_FUZZ_INIT)
 * and the target runs in a __AFL_LOOP, so it must leave no state behind.
 * Without AFL (plain run) it runs the target once on each file argument, or
 * on stdin.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef __AFL_LOOP
#error "afl_driver.c needs afl-clang-fast (__AFL_LOOP)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

__AFL_FUZZ_INIT();

static int run_file(FILE *f)
{
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);

	return LLVMFuzzerTestOneInput(buf, n);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (!getenv("__AFL_SHM_FUZZ_ID") && !getenv("__AFL_SHM_ID")) {
		/* not under afl-fuzz: replay */
		if (argc < 2)
			return run_file(stdin);
		for (int i = 1; i < argc; i++) {
			FILE *f = fopen(argv[i], "rb");

			if (!f) {
				perror(argv[i]);
				return 2;
			}
			run_file(f);
			fclose(f);
		}
		return 0;
	}
	__AFL_INIT();
	unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;

	while (__AFL_LOOP(100000)) {
		int len = __AFL_FUZZ_TESTCASE_LEN;

		LLVMFuzzerTestOneInput(buf, (size_t)len);
	}
	return 0;
}
