// SPDX-License-Identifier: MIT
/*
 * tests/test_isolate.c - diff/isolate.c: a check run in a child process
 * gives its own signature when it returns and a crash:... signature when it
 * ends the process, which is what lets the minimizers shrink crashes.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "isolate.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif

static bool check_passes(void *ctx, char *sig, size_t len)
{
	(void)ctx, (void)sig, (void)len;
	return false;
}

static bool check_fails(void *ctx, char *sig, size_t len)
{
	snprintf(sig, len, "diff:%s:ret", (const char *)ctx);
	return true;
}

static bool check_aborts(void *ctx, char *sig, size_t len)
{
	(void)ctx, (void)sig, (void)len;
	abort();
}

static bool check_exits(void *ctx, char *sig, size_t len)
{
	(void)ctx, (void)sig, (void)len;
	exit(7);
}

static bool check_hangs(void *ctx, char *sig, size_t len)
{
	(void)ctx, (void)sig, (void)len;
	for (;;)
		pause();
}

static volatile int sink;

__attribute__((noinline)) static void use_after_free(void)
{
	int *volatile p = malloc(sizeof(*p));

	*p = 1;
	free(p);
	sink = *p;
}

static bool check_uses_freed(void *ctx, char *sig, size_t len)
{
	(void)ctx, (void)sig, (void)len;
	use_after_free();
	return false;
}

/* A child that prints: its stdout reaches ours, line by line. */
static bool check_prints(void *ctx, char *sig, size_t len)
{
	(void)ctx, (void)sig, (void)len;
	printf("# printed by the child\n");
	return false;
}

int main(void)
{
	char sig[160];
	bool bad;

	bad = mmf_run_isolated(check_passes, NULL, 10, 0, sig, sizeof(sig));
	CHECK(!bad && sig[0] == '\0', "passing check: bad %d, sig '%s'", bad, sig);

	bad = mmf_run_isolated(check_fails, "mmap", 10, 0, sig, sizeof(sig));
	CHECK(bad && !strcmp(sig, "diff:mmap:ret"), "failing check: bad %d, sig '%s'", bad, sig);

	bad = mmf_run_isolated(check_aborts, NULL, 10, 0, sig, sizeof(sig));
	CHECK(bad && !strcmp(sig, "crash:signal:6"), "abort: bad %d, sig '%s'", bad, sig);

	bad = mmf_run_isolated(check_exits, NULL, 10, 0, sig, sizeof(sig));
	CHECK(bad && !strcmp(sig, "crash:exit:7"), "exit(7): bad %d, sig '%s'", bad, sig);

	bad = mmf_run_isolated(check_hangs, NULL, 1, 0, sig, sizeof(sig));
	CHECK(bad && !strcmp(sig, "crash:signal:14"), "hang: bad %d, sig '%s'", bad, sig);

	bad = mmf_run_isolated(check_prints, NULL, 10, 0, sig, sizeof(sig));
	CHECK(!bad, "printing check: bad %d, sig '%s'", bad, sig);

#if __has_feature(address_sanitizer) || defined(__SANITIZE_ADDRESS__)
	bad = mmf_run_isolated(check_uses_freed, NULL, 10, 0, sig, sizeof(sig));
	CHECK(bad && !strcmp(sig, "crash:heap-use-after-free:use_after_free"),
	      "use after free under ASan: bad %d, sig '%s'", bad, sig);
#else
	(void)check_uses_freed;
#endif
	return CHECK_SUMMARY();
}
