// SPDX-License-Identifier: MIT
/*
 * fuzzers/replay_main.c - diff_replay: run the differential target on files,
 * without a fuzzing engine.  Used by ctest (corpus and regressions), by
 * scripts/campaign.sh (triage) and by people reproducing a crash.
 *
 *   diff_replay [options] FILE|DIR...
 *     --every-op        compare snapshots after every op (MMF_CHECK_EVERY_OP=1)
 *     --abort           abort() on the first failure, like the fuzz target
 *     --print           print each program as text before running it
 *     --fmt             print each program as text, do not run it
 *     --minimize        for a failing file, print the smallest program (text)
 *                       that still fails with the same signature (diff/minimize.c:
 *                       the same minimizer as `mmfuzz minimize`); every run is
 *                       in a child process, so a sanitizer crash is minimized
 *                       too (signature crash:KIND:FN, diff/isolate.h)
 *     --mutate N        mutator smoke test: N structure-aware mutations per
 *                       file, each encoded, decoded and run
 *     --asm DIR         do not run: write each program's binary form to
 *                       DIR/<name without .mmf> (how corpus/ is regenerated)
 *     --dict            do not run: print every op as a libFuzzer dictionary
 *                       entry (its binary form on its own)
 *     --text / --binary how to read files (default: *.mmf is text, anything
 *                       else is the raw bytes a fuzzer saved)
 *
 * Directories are walked (not recursively), skipping hidden files and
 * README*.  Prints one line per failing file, then "N passed, N failed";
 * exits 1 if any failed, 2 on a usage or load error.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "isolate.h"
#include "minimize.h"
#include "prog_ext.h"
#include "replay_walk.h"

enum { READ_AUTO, READ_TEXT, READ_BINARY };

static unsigned flags;
static int opt_abort, opt_print, opt_minimize, read_mode = READ_AUTO;
static unsigned long opt_mutate;
static const char *opt_asm;
static int opt_dict, opt_fmt;
static int passed, failed, errors;

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int load(const char *path, struct mmf_prog *p)
{
	int text = read_mode == READ_TEXT || (read_mode == READ_AUTO && ends_with(path, ".mmf"));
	char err[512];

	if (mmf_prog_load_as(p, path, text ? MMF_LOAD_TEXT : MMF_LOAD_BINARY, MMF_DECODE_ANY,
			     err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/* The fuzz target's own check, as a child process's job (diff/isolate.c). */
struct check {
	const struct mmf_prog *p;
	unsigned flags;
	FILE *report;
};

static bool run_check(void *ctx, char *sig, size_t len)
{
	struct check *k = ctx;
	struct mmf_fuzz_fail f;

	if (!mmf_fuzz_check(k->p, k->flags, &f, k->report))
		return false;
	snprintf(sig, len, "%s", f.sig);
	return true;
}

/*
 * mmf_minimize's "still fails the same way": the check in a child process,
 * so that a sanitizer crash is minimized too (its signature crash:KIND:FN).
 */
static bool still_fails(const struct mmf_prog *q, const char *sig, void *ctx)
{
	struct check k = { q, MMF_FUZZ_EVERY_OP, NULL };
	char got[256];

	(void)ctx;
	return mmf_run_isolated(run_check, &k, 60, 0, got, sizeof(got)) && !strcmp(got, sig);
}

static void mutate_smoke(const struct mmf_prog *orig, const char *path)
{
	uint64_t rng = 0x6d6d66757a7aULL ^ strlen(path);
	struct mmf_fuzz_fail f;
	static uint8_t buf[1 << 16];

	for (unsigned long i = 0; i < opt_mutate; i++) {
		struct mmf_prog p, d;
		size_t n;

		mmf_prog_init(&p);
		for (uint32_t k = 0; k < orig->nr_ops; k++)
			mmf_prog_append(&p, &orig->ops[k]);
		for (int k = 0; k < 1 + (int)(i % 4); k++)
			mmf_fuzz_mutate_prog(&p, &rng);
		n = mmf_prog_encode(&p, buf, sizeof(buf));
		mmf_prog_init(&d);
		mmf_prog_decode(&d, buf, n < sizeof(buf) ? n : sizeof(buf), MMF_DECODE_ANY);
		if (mmf_fuzz_check(&d, flags, &f, stderr)) {
			printf("FAIL %s (mutation %lu): mmfuzz: %s\n", path, i, f.sig);
			failed++;
			if (opt_abort)
				abort();
		}
		mmf_prog_free(&d);
		mmf_prog_free(&p);
	}
}

static int write_binary(const char *path, const struct mmf_prog *p)
{
	static uint8_t buf[1 << 20];
	const char *base = strrchr(path, '/');
	char out[4096];
	size_t n = mmf_prog_encode(p, buf, sizeof(buf));
	FILE *f;

	base = base ? base + 1 : path;
	snprintf(out, sizeof(out), "%s/%.*s", opt_asm,
		 (int)(ends_with(base, ".mmf") ? strlen(base) - 4 : strlen(base)), base);
	if (n > sizeof(buf) || !(f = fopen(out, "wb"))) {
		fprintf(stderr, "%s: cannot write\n", out);
		return -1;
	}
	fwrite(buf, 1, n, f);
	fclose(f);
	return 0;
}

static void print_dict(const struct mmf_prog *p)
{
	uint8_t buf[512];
	char text[512];

	for (uint32_t i = 0; i < p->nr_ops; i++) {
		struct mmf_prog one = { .nr_ops = 1, .cap = 1, .ops = &p->ops[i] };
		size_t n = mmf_prog_encode(&one, buf, sizeof(buf));

		if (n > sizeof(buf) || n < 2)
			continue;
		printf("# %s\n\"", mmf_op_format(&p->ops[i], text, sizeof(text)));
		for (size_t k = 0; k < n; k++)
			printf("\\x%02x", buf[k]);
		printf("\"\n");
	}
}

static void run_file(const char *path)
{
	struct mmf_fuzz_fail f;
	struct mmf_prog p;
	bool bad;

	mmf_prog_init(&p);
	if (load(path, &p) < 0) {
		errors++;
		failed++;
		mmf_prog_free(&p);
		return;
	}
	if (opt_asm || opt_dict) {
		if (opt_dict)
			print_dict(&p);
		else if (write_binary(path, &p) < 0)
			failed++, errors++;
		else
			passed++;
		mmf_prog_free(&p);
		return;
	}
	if (opt_print || opt_fmt) {
		printf("# %s\n", path);
		mmf_prog_print(stdout, &p);
		fflush(stdout);	/* a sanitizer may end the process below */
		if (opt_fmt) {
			passed++;
			mmf_prog_free(&p);
			return;
		}
	}
	if (opt_minimize) {
		/* in a child, so that a crash still gives a signature to keep */
		struct check k = { &p, flags, stderr };

		bad = mmf_run_isolated(run_check, &k, 60, MMF_ISOLATE_SHOW_STDERR, f.sig,
				       sizeof(f.sig));
	} else {
		bad = mmf_fuzz_check(&p, flags, &f, stderr);
	}
	if (bad) {
		fprintf(stderr, "mmfuzz: %s\n", f.sig);
		printf("FAIL %s: mmfuzz: %s\n", path, f.sig);
		failed++;
		if (opt_abort) {
			fflush(NULL);
			abort();
		}
		if (opt_minimize) {
			struct mmf_min_stats st;

			mmf_minimize(&p, f.sig, still_fails, NULL, 0, &st);
			printf("# caught: mmfuzz: %s (minimized from %u to %u ops, %u argument(s)\n"
			       "# simplified; %s)\n",
			       f.sig, st.ops_before, st.ops_after, st.args_simplified, path);
			mmf_prog_print(stdout, &p);
		}
	} else {
		passed++;
		if (opt_mutate)
			mutate_smoke(&p, path);
	}
	mmf_prog_free(&p);
}

static void run_one(const char *path, void *ctx)
{
	(void)ctx;
	run_file(path);
}

static void run_path(const char *path)
{
	if (mmf_replay_walk(path, run_one, NULL)) {
		errors++;
		failed++;
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: diff_replay [--every-op] [--abort] [--print|--fmt] [--minimize] [--mutate N]\n"
		"                   [--asm OUTDIR | --dict] [--text|--binary] FILE|DIR...\n"
		"Runs each program on every implementation built and compares them\n"
		"(*.mmf files are text programs; other files are raw fuzzer inputs).\n");
}

int main(int argc, char **argv)
{
	int nfiles = 0;

	flags = mmf_fuzz_default_flags();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--every-op"))
			flags |= MMF_FUZZ_EVERY_OP;
		else if (!strcmp(a, "--abort"))
			opt_abort = 1;
		else if (!strcmp(a, "--print"))
			opt_print = 1;
		else if (!strcmp(a, "--minimize"))
			opt_minimize = 1;
		else if (!strcmp(a, "--mutate") && i + 1 < argc)
			opt_mutate = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--asm") && i + 1 < argc)
			opt_asm = argv[++i];
		else if (!strcmp(a, "--fmt"))
			opt_fmt = 1;
		else if (!strcmp(a, "--dict"))
			opt_dict = 1;
		else if (!strcmp(a, "--text"))
			read_mode = READ_TEXT;
		else if (!strcmp(a, "--binary"))
			read_mode = READ_BINARY;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			usage(stderr);
			return 2;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mutate") || !strcmp(argv[i], "--asm")) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		run_path(argv[i]);
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
