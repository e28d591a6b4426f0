// SPDX-License-Identifier: MIT
/*
 * fuzzers/sched_replay.c - sched_replay: run the deterministic concurrency
 * target (sched_fuzzer.c) on files, without a fuzzing engine.  Used by ctest
 * (corpus and regressions), by scripts/campaign.sh (triage) and by
 * `mmfuzz repro` for concurrent programs.
 *
 *   sched_replay [options] FILE|DIR...
 *     --history   print every program's interleaved history (which fiber ran
 *                 which scheduling step of which op), not only failing ones
 *     --print     print each program as text before running it
 *     --abort     abort() on the first failure, like the fuzz target
 *     --stats     print the linearizability search's counters at the end
 *     --text, --binary  the files' format (default: text if it looks like
 *                 text; crash files are raw bytes that may look like text)
 *     --mutate N  for a passing file, also check N mutants of it made by the
 *                 targets' mutator (cprog_mutator.c; a smoke test in ctest)
 *     --minimize  for a failing file, print the smallest program (text) that
 *                 still fails with the same signature (diff/minimize.c); every
 *                 run is in a child process, so a sanitizer crash is minimized
 *                 too (signature crash:KIND:FN, diff/isolate.h)
 *     --explore   search each file's program for a failing schedule
 *                 (sched_explore.c: every schedule of at most --bound K
 *                 deviations from the non-preemptive one, default 2, for
 *                 programs of at most 4 ops per thread, then PCT with depth
 *                 --depth D, default 3, seed --seed S), at most --budget N
 *                 runs (default 2000); a find is printed as a program whose
 *                 schedule bytes replay it, and with --out DIR written there
 *                 (DIR/explore-NAME.mmf; a run that aborts, a sanitizer
 *                 report or a deadlock, leaves DIR/explore-NAME.abort)
 *
 * A file is a concurrent program: text (`thread N` sections, `schedule`
 * bytes; see <mmfuzz/prog.h>) or the raw bytes sched_fuzzer saved.  Every
 * input runs twice and the two runs must agree step for step (trace hash,
 * results, real-time order): a replay is the identical interleaving.
 * Prints one line per failing file, then "N passed, N failed"; exits 1 if
 * any failed, 2 on a usage or load error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "isolate.h"
#include "minimize.h"
#include "prog_ext.h"
#include "replay_walk.h"
#include "sched_fuzz.h"

static int opt_history, opt_print, opt_abort, opt_stats, opt_minimize, opt_explore;
static unsigned long opt_mutate;
static struct mmf_explore_opts opt_xo;
static const char *opt_out;
static enum mmf_load_format opt_format;	/* --text, --binary */
static int passed, failed, errors;

/* The target's own check, as a child process's job (diff/isolate.c). */
struct check {
	const struct mmf_cprog *c;
	unsigned flags;
	FILE *report;
};

static bool run_check(void *ctx, char *sig, size_t len)
{
	struct check *k = ctx;
	struct mmf_fuzz_fail f;

	if (!mmf_sched_check(k->c, k->flags, &f, k->report))
		return false;
	snprintf(sig, len, "%s", f.sig);
	return true;
}

/*
 * mmf_cprog_minimize's "still fails the same way": the check in a child
 * process, so that a sanitizer crash (a use after free the scheduler made
 * happen) is minimized too, its signature crash:KIND:FN.
 */
static bool still_fails(const struct mmf_cprog *c, const char *sig, void *ctx)
{
	struct check k = { c, 0, NULL };
	char got[256];

	(void)ctx;
	return mmf_run_isolated(run_check, &k, 60, 0, got, sizeof(got)) && !strcmp(got, sig);
}

static void minimize(struct mmf_cprog *c, const char *sig)
{
	struct mmf_min_stats st;

	mmf_cprog_minimize(c, sig, still_fails, NULL, 0, &st);
	printf("# minimized: %u -> %u ops, %u arguments simplified, %u runs; %s\n",
	       st.ops_before, st.ops_after, st.args_simplified, st.runs, sig);
	mmf_cprog_print(stdout, c);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/*
 * --mutate N: N inputs made from the file by the concurrent targets'
 * mutator (cprog_mutator.c), each a few edits away from the file: each must
 * fit, decode and pass the check (seeds fixed: the same every run); and some
 * must have grown the schedule, the edit byte-level mutation cannot make.
 */
static void mutate_smoke(const struct mmf_cprog *orig, const char *path)
{
	static uint8_t buf[4096];
	static struct mmf_cprog m;
	struct mmf_fuzz_fail f;
	unsigned long grew = 0;
	size_t n = 0;

	for (unsigned long i = 0; i < opt_mutate; i++) {
		if (i % 4 == 0)
			n = mmf_cprog_encode(orig, buf, sizeof(buf));
		if (n > sizeof(buf))
			n = 0;
		n = LLVMFuzzerCustomMutator(buf, n, sizeof(buf), (unsigned int)(i * 2654435761u));
		if (n == 0 || n > sizeof(buf)) {
			printf("FAIL %s (mutation %lu): the mutator returned %zu bytes\n", path, i, n);
			failed++;
			return;
		}
		mmf_cprog_decode(&m, buf, n, MMF_DECODE_ANY);
		if (m.sched_len > orig->sched_len)
			grew++;
		if (mmf_sched_check(&m, MMF_SCHED_DETERMINISM, &f, NULL)) {
			printf("FAIL %s (mutation %lu): mmfuzz: %s\n", path, i, f.sig);
			mmf_cprog_print(stdout, &m);
			failed++;
			if (opt_abort)
				abort();
		}
	}
	if (opt_mutate >= 16 && !grew) {
		printf("FAIL %s: %lu mutations, none grew the schedule\n", path, opt_mutate);
		failed++;
	}
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static void save_find(struct mmf_cprog *c, const char *path, const struct mmf_explore_result *r)
{
	char out[4096];
	FILE *f;

	snprintf(out, sizeof(out), "%s/explore-%s%s", opt_out, base_name(path),
		 strstr(path, ".mmf") ? "" : ".mmf");
	f = fopen(out, "w");
	if (!f) {
		perror(out);
		errors++;
		return;
	}
	fprintf(f, "# found by sched_replay --explore in %s (%s, run %lu): mmfuzz: %s\n", path,
		r->phase, r->runs, r->fail.sig);
	mmf_cprog_print(f, c);
	fclose(f);
	printf("explore: saved %s\n", out);
}

/* --explore: the schedule search on one program (sched_explore.c). */
static void explore_file(struct mmf_cprog *c, const char *path)
{
	static struct mmf_explore_result r;
	char abort_path[4096];

	if (opt_out) {
		snprintf(abort_path, sizeof(abort_path), "%s/explore-%s.abort", opt_out,
			 base_name(path));
		opt_xo.crash_path = abort_path;
	}
	mmf_explore(c, &opt_xo, &r);
	opt_xo.crash_path = NULL;
	printf("explore %s: %lu runs (%lu scheduling points without preemption); ", path,
	       r.runs, r.steps);
	if (r.bound_done >= 0)
		printf("every schedule of <= %d deviation%s tried", r.bound_done,
		       r.bound_done == 1 ? "" : "s");
	if (r.bound_done >= 0 && (unsigned)r.bound_done < r.bound && r.partial)
		printf(", %lu of bound %d", r.partial, r.bound_done + 1);
	if (r.exhausted)
		printf(" (all of the program's schedules: none has more)");
	printf("; %lu PCT runs\n", r.pct_runs);
	if (!r.found) {
		passed++;
		return;
	}
	c->sched_len = r.sched_len;
	memcpy(c->sched, r.sched, r.sched_len);
	printf("FAIL %s: mmfuzz: %s (explore: %s; %u schedule bytes, %s)\n", path, r.fail.sig,
	       r.phase, r.sched_len, r.replayed ? "replayed" : "NOT replayed by its bytes");
	mmf_cprog_print(stdout, c);
	if (opt_out && r.replayed)
		save_find(c, path, &r);
	if (!r.replayed)
		errors++;
	failed++;
	fflush(stdout);
}

static void run_file(const char *path, void *ctx)
{
	static struct mmf_cprog c;
	struct mmf_fuzz_fail fail;
	unsigned flags = MMF_SCHED_DETERMINISM | MMF_SCHED_HISTORY;
	char err[512];
	bool bad;

	(void)ctx;
	if (mmf_cprog_load_as(&c, path, opt_format, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		errors++;
		failed++;
		return;
	}
	if (opt_print || opt_history) {
		printf("== %s\n", path);
		mmf_cprog_print(stdout, &c);
	}
	if (opt_history)
		flags |= MMF_SCHED_ALWAYS_HISTORY;
	if (opt_explore) {
		explore_file(&c, path);
		return;
	}
	if (opt_minimize) {
		/* in a child, so that a crash still gives a signature to keep */
		struct check k = { &c, flags, stdout };

		bad = mmf_run_isolated(run_check, &k, 60, MMF_ISOLATE_SHOW_STDERR, fail.sig,
				       sizeof(fail.sig));
	} else {
		bad = mmf_sched_check(&c, flags, &fail, stdout);
	}
	if (!bad) {
		passed++;
		if (opt_mutate)
			mutate_smoke(&c, path);
		return;
	}
	if (!opt_print && !opt_history) {
		printf("== %s\n", path);
		mmf_cprog_print(stdout, &c);
	}
	printf("FAIL %s: mmfuzz: %s\n", path, fail.sig);
	if (opt_minimize)
		minimize(&c, fail.sig);
	fflush(stdout);
	failed++;
	if (opt_abort)
		abort();
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sched_replay [--history] [--print] [--abort] [--stats] [--minimize] [--mutate N]\n"
		"                    [--explore [--bound K] [--budget N] [--depth D] [--seed S]\n"
		"                    [--out DIR]] [--text|--binary] FILE|DIR...\n"
		"Runs each concurrent program on the core under the deterministic scheduler\n"
		"(twice: the runs must be identical) and checks its linearizability on the\n"
		"reference.  --explore searches schedules for a failing one.\n");
}

int main(int argc, char **argv)
{
	int nfiles = 0;

	mmf_explore_opts_default(&opt_xo);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;

		if (!strcmp(a, "--history"))
			opt_history = 1;
		else if (!strcmp(a, "--print"))
			opt_print = 1;
		else if (!strcmp(a, "--abort"))
			opt_abort = 1;
		else if (!strcmp(a, "--stats"))
			opt_stats = 1;
		else if (!strcmp(a, "--minimize"))
			opt_minimize = 1;
		else if (!strcmp(a, "--text"))
			opt_format = MMF_LOAD_TEXT;
		else if (!strcmp(a, "--binary"))
			opt_format = MMF_LOAD_BINARY;
		else if (!strcmp(a, "--mutate") && has_value)
			opt_mutate = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--explore"))
			opt_explore = 1;
		else if (!strcmp(a, "--bound") && has_value)
			opt_xo.bound = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--budget") && has_value)
			opt_xo.budget = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--depth") && has_value)
			opt_xo.depth = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--seed") && has_value)
			opt_xo.seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(a, "--out") && has_value)
			opt_out = argv[++i];
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "sched_replay: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (opt_out && mkdir(opt_out, 0777) && errno != EEXIST) {
		fprintf(stderr, "sched_replay: --out %s: %s\n", opt_out, strerror(errno));
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mutate") || !strcmp(argv[i], "--bound") ||
		    !strcmp(argv[i], "--budget") || !strcmp(argv[i], "--depth") ||
		    !strcmp(argv[i], "--seed") || !strcmp(argv[i], "--out")) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		if (mmf_replay_walk(argv[i], run_file, NULL)) {
			errors++;
			failed++;
		}
		nfiles++;
	}
	if (!nfiles) {
		usage(stderr);
		return 2;
	}
	if (opt_stats)
		printf("linearizability: %lu searches, %lu gave up, %llu reference ops; "
		       "largest search %llu ops; longest %.3f s CPU (a history of %u ops)\n",
		       mmf_sched_stats.inputs, mmf_sched_stats.lin_unknown,
		       mmf_sched_stats.lin_states, mmf_sched_stats.lin_max_states,
		       mmf_sched_stats.lin_max_seconds, mmf_sched_stats.lin_max_ops);
	printf("%d passed, %d failed\n", passed, failed);
	if (errors)
		return 2;
	return failed ? 1 : 0;
}
