/* SPDX-License-Identifier: MIT */
/*
 * tests/check.h - the assertion of the plain ctest programs (test_prog,
 * test_linearize, test_kernel_agreement): CHECK(cond, fmt, ...) counts a
 * pass, or a failure with the file, line, condition and a message on
 * stderr; CHECK_SUMMARY() prints "N passed, N failed" and is the exit code.
 */
#ifndef MMFUZZ_TESTS_CHECK_H
#define MMFUZZ_TESTS_CHECK_H

#include <stdio.h>

static unsigned passed, failed;

#define CHECK(cond, ...)						\
	do {								\
		if (cond) {						\
			passed++;					\
		} else {						\
			failed++;					\
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

#define CHECK_SUMMARY()							\
	(printf("%u passed, %u failed\n", passed, failed), failed ? 1 : 0)

#endif /* MMFUZZ_TESTS_CHECK_H */
