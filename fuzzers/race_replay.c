// SPDX-License-Identifier: MIT
/*
 * fuzzers/race_replay.c - race_replay: run race_fuzzer's check on files,
 * without a fuzzing engine.  Races are probabilistic, so each input can be
 * run several times (--repeat).  Used by ctest (seed corpus and regressions,
 * a few runs each, in the TSan build) and people.
 *
 *   race_replay [options] FILE|DIR...
 *     --repeat N      run each input N times (default 1); it fails if any
 *                     run fails (a TSan report ends the process at once:
 *                     halt_on_error=1)
 *     --jitter R      delay injection (core/sync.h mmf_sync_jitter): each
 *                     lock, unlock, RCU or atomic operation of every thread
 *                     is delayed with probability R/1024 (a yield, a spin
 *                     or a few microseconds' sleep), so a race whose window
 *                     is a few instructions wide is hit in a fair share of
 *                     runs; TSan builds only.  The seed is printed (--seed S
 *                     gives it; the delays still depend on the OS's timing)
 *     --abort         abort() on the first failure, like the fuzz target
 *     --print         print each program (text) before running it
 *     --fmt           print each program (text form), do not run it
 *     --dict          do not run: print every op as a dictionary entry (its
 *                     binary form alone, with its thread tag; how
 *                     fuzzers/race_fuzzer.dict is made)
 *
 * A file is a concurrent program: text (`thread N` sections; see
 * <mmfuzz/prog.h>) or the raw bytes race_fuzzer saved (mmf_cprog_load).
 *
 * Every input goes through mmf_race_prepare (schedule dropped, lists
 * capped), as in the fuzzer.  Directories are walked as every replay
 * driver walks them (replay_walk.c).  Prints one line per failing file,
 * then "N passed, N failed"; exits 1 if any failed, 2 on a usage or load
 * error.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog_ext.h"
#include "race.h"
#include "replay_walk.h"
#include "sync.h"		/* mmf_sync_jitter */

static int opt_abort, opt_print, opt_fmt, opt_dict;
static unsigned long opt_repeat = 1;
static unsigned long opt_jitter, opt_seed;
static int have_seed;
static enum mmf_load_format opt_format;	/* --text, --binary */
static int passed, failed, errors;

static uint32_t total_ops(const struct mmf_cprog *c)
{
	uint32_t n = c->setup.nr_ops;

	for (uint32_t t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		n += c->thread[t].nr_ops;
	return n;
}

static void print_dict_ops(const struct mmf_prog *p, uint8_t tag)
{
	uint8_t buf[512];
	char text[MMF_OP_TEXT_MAX];

	for (uint32_t i = 0; i < p->nr_ops; i++) {
		struct mmf_prog one = { .nr_ops = 1, .cap = 1, .ops = &p->ops[i] };
		size_t n = mmf_prog_encode_tagged(&one, &tag, buf, sizeof(buf));

		if (n > sizeof(buf) || n < 2)
			continue;
		printf("# %s\n\"", mmf_op_format(&p->ops[i], text, sizeof(text)));
		for (size_t k = 0; k < n; k++)
			printf("\\x%02x", buf[k]);
		printf("\"\n");
	}
}

static void print_dict(const struct mmf_cprog *c)
{
	print_dict_ops(&c->setup, 0);
	for (uint32_t t = 0; t < c->nr_threads; t++)
		print_dict_ops(&c->thread[t], (uint8_t)(t + 1));
}

static void run_file(const char *path, void *ctx)
{
	struct mmf_race_fail f;
	struct mmf_cprog c;
	uint32_t before;
	char err[512];

	(void)ctx;
	mmf_cprog_init(&c);
	if (mmf_cprog_load_as(&c, path, opt_format, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		errors++;
		failed++;
		mmf_cprog_free(&c);
		return;
	}
	if (opt_dict) {
		print_dict(&c);
		mmf_cprog_free(&c);
		return;
	}
	before = total_ops(&c);
	mmf_race_prepare(&c);
	if (total_ops(&c) != before)
		fprintf(stderr, "%s: note: cut to %u setup and %u ops per thread (%u ops dropped)\n",
			path, MMF_RACE_MAX_SETUP_OPS, MMF_RACE_MAX_THREAD_OPS,
			before - total_ops(&c));
	if (opt_print || opt_fmt) {
		printf("# %s\n", path);
		mmf_race_print(stdout, &c);
		fflush(stdout);	/* TSan may end the process below */
		if (opt_fmt) {
			passed++;
			mmf_cprog_free(&c);
			return;
		}
	}
	for (unsigned long r = 0; r < opt_repeat; r++) {
		if (!mmf_race_check(&c, &f, stderr))
			continue;
		fprintf(stderr, "mmfuzz: %s\n", f.sig);
		printf("FAIL %s (run %lu of %lu): mmfuzz: %s\n", path, r + 1, opt_repeat, f.sig);
		failed++;
		if (opt_abort) {
			fflush(NULL);
			abort();
		}
		mmf_cprog_free(&c);
		return;
	}
	passed++;
	mmf_cprog_free(&c);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: race_replay [--repeat N] [--jitter R [--seed S]] [--abort]\n"
		"                   [--print|--fmt|--dict] [--text|--binary] FILE|DIR...\n"
		"Runs each concurrent program on the core with real threads (the race_fuzzer\n"
		"check).  A file is a text program if it looks like text, else the raw bytes\n"
		"race_fuzzer saved; --text or --binary says which.\n");
}

int main(int argc, char **argv)
{
	int nfiles = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--repeat") && i + 1 < argc) {
			opt_repeat = strtoul(argv[++i], NULL, 0);
			if (!opt_repeat)
				opt_repeat = 1;
		} else if (!strcmp(a, "--jitter") && i + 1 < argc) {
			char *end;

			opt_jitter = strtoul(argv[++i], &end, 0);
			if (*end || !opt_jitter || opt_jitter > 1024) {
				fprintf(stderr, "race_replay: --jitter R needs 1 <= R <= 1024\n");
				return 2;
			}
		} else if (!strcmp(a, "--seed") && i + 1 < argc) {
			opt_seed = strtoul(argv[++i], NULL, 0);
			have_seed = 1;
		} else if (!strcmp(a, "--abort"))
			opt_abort = 1;
		else if (!strcmp(a, "--print"))
			opt_print = 1;
		else if (!strcmp(a, "--fmt"))
			opt_fmt = 1;
		else if (!strcmp(a, "--dict"))
			opt_dict = 1;
		else if (!strcmp(a, "--text"))
			opt_format = MMF_LOAD_TEXT;
		else if (!strcmp(a, "--binary"))
			opt_format = MMF_LOAD_BINARY;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			usage(stderr);
			return 2;
		}
	}
	if (opt_jitter) {
		if (!have_seed)
			opt_seed = (unsigned long)time(NULL) * 2654435761UL ^ (unsigned long)getpid();
		if (!mmf_sync_jitter((unsigned)opt_jitter, opt_seed)) {
			fprintf(stderr, "race_replay: --jitter: this build has no delay "
				"injection (TSan builds have it)\n");
			return 2;
		}
		printf("jitter %lu/1024, seed %lu\n", opt_jitter, opt_seed);
		fflush(stdout);
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repeat") || !strcmp(argv[i], "--jitter") ||
		    !strcmp(argv[i], "--seed")) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		if (mmf_replay_walk(argv[i], run_file, NULL) < 0)
			errors++, failed++;
		nfiles++;
	}
	if (!nfiles) {
		usage(stderr);
		return 2;
	}
	if (!opt_dict && !opt_fmt)
		printf("%d passed, %d failed\n", passed, failed);
	if (errors)
		return 2;
	return failed ? 1 : 0;
}
