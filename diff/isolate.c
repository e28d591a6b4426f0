// SPDX-License-Identifier: MIT
/*
 * diff/isolate.c - one check in a child process (see isolate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolate.h"

/* Where every child's stderr goes: one temporary file, emptied per run. */
static FILE *child_stderr(void)
{
	static FILE *err;

	if (!err && !(err = tmpfile())) {
		perror("mmfuzz: tmpfile");
		exit(2);
	}
	if (ftruncate(fileno(err), 0) < 0) {
		perror("mmfuzz: ftruncate");
		exit(2);
	}
	rewind(err);
	return err;
}

/* The signature of a child that did not return from the check. */
static void crash_sig(FILE *err, int status, char *sig, size_t len)
{
	char line[1024];

	if (WIFSIGNALED(status))
		snprintf(sig, len, "crash:signal:%d", WTERMSIG(status));
	else
		snprintf(sig, len, "crash:exit:%d", WEXITSTATUS(status));
	rewind(err);
	while (fgets(line, sizeof(line), err)) {
		char tool[64], kind[128], fn[256];
		const char *in;

		/* the sched backend's own abort (core/sync_sched.c): named as
		 * scripts/campaign.sh names it, sched:deadlock, sched:livelock,
		 * else sync:<primitive> (sync:rwsem: destroyed while held, ...) */
		if (sscanf(line, "mmf_sync_bug: %127[a-z]", kind) == 1) {
			snprintf(sig, len, "%s:%s",
				 !strcmp(kind, "deadlock") || !strcmp(kind, "livelock") ? "sched" :
				 "sync", kind);
			break;
		}
		if (strncmp(line, "SUMMARY: ", 9))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "SUMMARY: %63[^:]: %127s", tool, kind) != 2) {
			snprintf(sig, len, "crash:sanitizer");
			break;
		}
		in = strstr(line, " in ");
		if (strcmp(tool, "AddressSanitizer"))
			snprintf(sig, len, "crash:%s", tool);
		else if (in && sscanf(in + 4, "%255s", fn) == 1)
			snprintf(sig, len, "crash:%s:%s", kind, fn);
		else
			snprintf(sig, len, "crash:%s", kind);
		break;
	}
}

static void copy_out(FILE *err)
{
	char buf[4096];
	size_t n;

	rewind(err);
	while ((n = fread(buf, 1, sizeof(buf), err)) > 0)
		fwrite(buf, 1, n, stderr);
	fflush(stderr);
}

bool mmf_run_isolated(mmf_isolated_fn fn, void *ctx, unsigned timeout, unsigned flags,
		      char *sig, size_t len)
{
	FILE *err = child_stderr();
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	sig[0] = '\0';
	fflush(NULL);
	if (pipe(fds) < 0) {
		perror("mmfuzz: pipe");
		exit(2);
	}
	pid = fork();
	if (pid < 0) {
		perror("mmfuzz: fork");
		exit(2);
	}
	if (pid == 0) {
		char got[256];
		bool failed;

		close(fds[0]);
		dup2(fileno(err), STDERR_FILENO);
		/* what the check prints survives a crash, up to the last line */
		setvbuf(stdout, NULL, _IOLBF, 0);
		alarm(timeout);
		failed = fn(ctx, got, sizeof(got));
		if (failed && write(fds[1], got, strlen(got)) < 0)
			_exit(3);
		/* exit, not _exit: stdout is flushed, a sanitizer's leak check runs */
		exit(failed ? 1 : 0);
	}
	close(fds[1]);
	n = read(fds[0], sig, len - 1);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		;
	sig[n > 0 ? n : 0] = '\0';
	if (flags & MMF_ISOLATE_SHOW_STDERR)
		copy_out(err);
	/* the check returned (exit 1 with a signature, exit 0 without) */
	if (WIFEXITED(status) && WEXITSTATUS(status) <= 1 &&
	    (WEXITSTATUS(status) == 1) == (n > 0))
		return n > 0;
	crash_sig(err, status, sig, len);
	return true;
}
