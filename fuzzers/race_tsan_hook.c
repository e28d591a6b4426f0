// SPDX-License-Identifier: MIT
/*
 * fuzzers/race_tsan_hook.c - race_fuzzer: TSan's "report printed" hook,
 * which prints the program being run.  (The hook that drops races on
 * libFuzzer's coverage counters is lib/tsan_coverage_filter.c, linked into
 * every binary of a libFuzzer + TSan build.)
 *
 * Compiled without coverage instrumentation (see race_fuzzer.cmake): the
 * TSan runtime calls it from inside itself.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "race.h"
#include "mmfuzz/tsan_report.h"

/* the text of the program being run, or NULL (race_fuzzer.c) */
const char *volatile mmf_race_tsan_program;

int __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out_buf, size_t out_buf_size);
void mmf_race_tsan_printed(void *rep) __asm__("__tsan_on_report");

MMF_RACE_NO_INSTR
static size_t raw_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

MMF_RACE_NO_INSTR
static void raw_puts(const char *s)
{
	size_t n = raw_len(s);

	while (n) {
		long w = syscall(SYS_write, 2, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

MMF_RACE_NO_INSTR
static bool skipped(const char *f)
{
	static const char *const names[] = { "free", "malloc", "calloc", "realloc", "memcpy",
					     "memset", "memmove", NULL };

	if (f[0] == 'm' && f[1] == 'm' && f[2] == 'f' && f[3] == '_')
		return true;	/* core/sync.h wrappers */
	if (f[0] == '_' && f[1] == '_' && (f[2] == 't' || f[2] == 'i'))
		return true;	/* __tsan_*, __interceptor_* */
	for (int i = 0; names[i]; i++) {
		size_t k = 0;

		while (names[i][k] && names[i][k] == f[k])
			k++;
		if (!names[i][k] && !f[k])
			return true;
	}
	return false;
}

/* the first frame of pc (inlined frames innermost first) not skipped() */
MMF_RACE_NO_INSTR
static bool frame_name(void *pc, char *out, size_t len)
{
	static char buf[1024];
	size_t pos = 0;

	buf[0] = '\0';
	__sanitizer_symbolize_pc(pc, "%f", buf, sizeof(buf));
	/* a sequence of NUL-terminated names, ended by an empty one */
	while (pos < sizeof(buf) && buf[pos]) {
		const char *f = buf + pos;
		size_t n = raw_len(f);

		if (!skipped(f) && n < len) {
			for (size_t k = 0; k <= n; k++)
				out[k] = f[k];
			return true;
		}
		pos += n + 1;
	}
	return false;
}

MMF_RACE_NO_INSTR __attribute__((used))
void mmf_race_tsan_printed(void *rep)
{
	const char *desc = NULL, *prog = mmf_race_tsan_program;
	int count, nstack, nmop, nloc, nmutex, nthread, nutid;
	void *trace[16];
	char fn[256] = "";

	if (!prog)
		return;
	raw_puts("mmfuzz: ---- program (the TSan report above) ----\n");
	raw_puts(prog);
	if (__tsan_get_report_data(rep, &desc, &count, &nstack, &nmop, &nloc, &nmutex, &nthread,
				   &nutid, trace, 4) != 1 || !desc)
		desc = "unknown";
	if (nmop > 0) {
		int tid, size, write, atomic;
		void *addr;

		for (size_t i = 0; i < 16; i++)
			trace[i] = NULL;
		__tsan_get_report_mop(rep, 0, &tid, &addr, &size, &write, &atomic, trace, 16);
		for (size_t i = 0; i < 16 && trace[i] && !fn[0]; i++)
			frame_name(trace[i], fn, sizeof(fn));
	}
	raw_puts("mmfuzz: tsan:");
	raw_puts(desc);
	if (fn[0]) {
		raw_puts(":");
		raw_puts(fn);
	}
	raw_puts("\n");
}
