// SPDX-License-Identifier: MIT
/*
 * tools/cmd_minimize.c - `mmfuzz minimize`: shrink a diverging program (a
 * crash file or a text program) to a small one with the same signature, with
 * the minimizer diff_replay --minimize uses (diff/minimize.c), and write its
 * text form.
 */
#include <stdlib.h>
#include <string.h>

#include "isolate.h"
#include "minimize.h"
#include "repro.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mmfuzz minimize [OPTIONS] FILE [-o OUT]\n"
		"\n"
		"Shrink a program that diverges (see `mmfuzz repro`) to a small program that\n"
		"diverges with the same signature, and write it as text (stdout, or OUT).\n"
		"Passes, repeated until nothing changes: op-level delta debugging (drop halves,\n"
		"quarters ... single ops), then argument simplification (values -> 1, pgoff ->\n"
		"0, smaller lengths, rounder addresses, fewer flag and prot bits, handles -> 0).\n"
		"\n"
		"options:\n"
		"  -o, --output OUT   write the minimized program to OUT ('-': stdout)\n"
		"  --ops-only         op-level pass only, arguments untouched\n"
		"  --sig SIG          keep this signature (default: the file's own)\n"
		"  --no-fork          run in this process (faster; a crash ends the command)\n"
		"  --timeout SECS     a run taking longer is a crash (default 60)\n"
		MMF_REPRO_OPTIONS_HELP
		"\n"
		"Every run happens in a child process, so that a program that crashes the\n"
		"implementation (a sanitizer report, a signal: signature 'crash:<kind>:<fn>',\n"
		"'crash:signal:N') is minimized the same way as a divergence.\n"
		"\n"
		"Exit status: 0 minimized; 1 the program does not diverge (nothing written)\n"
		"or a write failed; 2 usage error or malformed program.\n");
}

/* ---- one run, in a child process ---------------------------------------- */

/*
 * With isolation (the default) every run happens in a fork()ed child
 * (diff/isolate.c), so that a program that crashes the process has a
 * signature too.  The parent never runs a world itself (so it never starts
 * the core's RCU threads before fork()ing).
 */
struct min_run {
	struct mmf_repro *r;
	const struct mmf_prog *q;	/* the program of the current run */
	bool isolate;
	unsigned timeout;		/* seconds per run */
};

static bool run_check(void *ctx, char *sig, size_t len)
{
	struct min_run *m = ctx;

	return mmf_repro_run(m->r, m->q, NULL, NULL, sig, len);
}

/* Run q; true if it fails, its signature in sig. */
static bool run_one(struct min_run *m, const struct mmf_prog *q, char *sig, size_t len)
{
	m->q = q;
	if (!m->isolate)
		return run_check(m, sig, len);
	return mmf_run_isolated(run_check, m, m->timeout, 0, sig, len);
}

static bool still_fails(const struct mmf_prog *q, const char *sig, void *ctx)
{
	char got[160];

	return run_one(ctx, q, got, sizeof(got)) && !strcmp(got, sig);
}

static int minimize_main(int argc, char **argv)
{
	struct mmf_repro r = { 0 };
	struct min_run run = { .r = &r, .isolate = true, .timeout = 60 };
	uint64_t secs;
	const char *path = NULL, *out = "-", *want = NULL, *v;
	unsigned flags = 0;
	struct mmf_min_stats st;
	char sig[160], names[256];
	struct mmf_prog p;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int k, ret;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		}
		if ((k = mmf_repro_opt(&r, "minimize", argc, argv, &i))) {
			if (k < 0)
				return MMF_EXIT_USAGE;
		} else if ((k = mmf_cli_opt_value("minimize", argc, argv, &i, "-o", &v)) ||
			   (k = mmf_cli_opt_value("minimize", argc, argv, &i, "--output", &v))) {
			if (k < 0)
				return MMF_EXIT_USAGE;
			out = v;
		} else if ((k = mmf_cli_opt_value("minimize", argc, argv, &i, "--sig", &v))) {
			if (k < 0)
				return MMF_EXIT_USAGE;
			want = v;
		} else if ((k = mmf_cli_opt_value("minimize", argc, argv, &i, "--timeout", &v))) {
			if (k < 0 || mmf_cli_number("minimize", "--timeout", v, &secs) < 0)
				return MMF_EXIT_USAGE;
			run.timeout = secs ? (unsigned)secs : 1;
		} else if (!strcmp(a, "--no-fork")) {
			run.isolate = false;
		} else if (!strcmp(a, "--ops-only")) {
			flags |= MMF_MIN_NO_ARGS;
		} else if (a[0] == '-' && a[1] != '\0') {
			return mmf_cli_usage_error("minimize", "unknown option '%s'", a);
		} else if (path) {
			return mmf_cli_usage_error("minimize", "more than one file ('%s')", a);
		} else {
			path = a;
		}
	}
	if (!path)
		return mmf_cli_usage_error("minimize", "no file given");
	if ((ret = mmf_repro_setup(&r, "minimize")))
		return ret;
	mmf_prog_init(&p);
	if ((ret = mmf_cli_load("minimize", &p, path, r.fmt, r.mode))) {
		mmf_prog_free(&p);
		return ret;
	}
	mmf_repro_names(&r, names, sizeof(names));
	if (!run_one(&run, &p, sig, sizeof(sig))) {
		fprintf(stderr, "mmfuzz minimize: %s: no divergence (%s): nothing to minimize\n",
			path, names);
		mmf_prog_free(&p);
		return MMF_EXIT_FAIL;
	}
	if (want && strcmp(want, sig)) {
		fprintf(stderr, "mmfuzz minimize: %s: signature is %s, not %s\n", path, sig, want);
		mmf_prog_free(&p);
		return MMF_EXIT_FAIL;
	}
	mmf_minimize(&p, sig, still_fails, &run, flags, &st);
	fprintf(stderr, "mmfuzz minimize: %s: %u -> %u ops, %u argument(s) simplified, %u runs\n",
		sig, st.ops_before, st.ops_after, st.args_simplified, st.runs);

	mem = open_memstream(&text, &len);
	if (!mem) {
		perror("mmfuzz minimize");
		mmf_prog_free(&p);
		return MMF_EXIT_FAIL;
	}
	fprintf(mem, "# mmfuzz: %s (%s)\n# minimized from %u to %u ops: %s\n", sig, names,
		st.ops_before, st.ops_after, path);
	mmf_prog_print(mem, &p);
	fclose(mem);
	ret = mmf_cli_write("minimize", out, text, len);
	free(text);
	mmf_prog_free(&p);
	return ret;
}

const struct mmf_cmd mmf_cmd_minimize = {
	"minimize", "shrink a diverging program to a small one with the same signature",
	minimize_main,
};
