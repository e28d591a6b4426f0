/* SPDX-License-Identifier: MIT */
/*
 * core/tests/t.h - the tiny harness of the core unit tests.
 *
 * CHECK(cond, fmt, ...) counts a pass or a failure (and prints it);
 * EXPECT(cond, fmt, ...) counts only failures, for hot loops.
 * t_done() prints the last line, "N passed, N failed", and gives the exit
 * status.
 */
#ifndef MMF_CORE_TESTS_T_H
#define MMF_CORE_TESTS_T_H

#include <stdio.h>
#include <stdlib.h>

static int t_passed, t_failed;

#define T_REPORT(cond, ...)						\
	do {								\
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	} while (0)

#define CHECK(cond, ...)						\
	({								\
		int __ok = !!(cond);					\
		if (__ok) {						\
			__atomic_add_fetch(&t_passed, 1, __ATOMIC_RELAXED); \
		} else {						\
			__atomic_add_fetch(&t_failed, 1, __ATOMIC_RELAXED); \
			T_REPORT(cond, __VA_ARGS__);			\
		}							\
		__ok;							\
	})

#define EXPECT(cond, ...)						\
	({								\
		int __ok = !!(cond);					\
		if (!__ok) {						\
			__atomic_add_fetch(&t_failed, 1, __ATOMIC_RELAXED); \
			T_REPORT(cond, __VA_ARGS__);			\
		}							\
		__ok;							\
	})

static inline int t_done(void)
{
	fflush(stderr);
	printf("%d passed, %d failed\n", t_passed, t_failed);
	fflush(stdout);
	return t_failed ? 1 : 0;
}

/* xorshift64*: deterministic, seedable */
static inline unsigned long long t_rand(unsigned long long *s)
{
	unsigned long long x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif
