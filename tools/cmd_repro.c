// SPDX-License-Identifier: MIT
/*
 * tools/cmd_repro.c - `mmfuzz repro`: replay a crash file (a fuzzer's raw
 * input) or a text program on the implementations it involves, print the
 * program, the trace and the first divergence with its signature.  Also the
 * runner `mmfuzz minimize` uses (tools/repro.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repro.h"

/* ---- checked implementations: inner->exec, then inner->check ------------ */

/*
 * Each implementation is wrapped so that its invariant checker (if any) runs
 * after every op, as in the fuzz target; a broken invariant stops the engine
 * (a harness result) and becomes the signature "invariant:<first word>".
 * The CLI is single-threaded and runs one program at a time.
 */
static struct {
	const struct mmf_impl *inner[MMF_DIFF_MAX_IMPLS];
	int bad_op;
	char bad_impl[40];
	char bad_msg[512];
} chk;

struct chk_world {
	int slot;
	uint32_t ops;
	struct mmf_world *w;
};

static struct mmf_world *chk_new(int slot, const struct mmf_config *cfg)
{
	struct chk_world *cw = calloc(1, sizeof(*cw));

	if (!cw)
		return NULL;
	cw->slot = slot;
	cw->w = chk.inner[slot]->world_new(cfg);
	if (!cw->w) {
		free(cw);
		return NULL;
	}
	return (struct mmf_world *)cw;
}

static void chk_free(struct mmf_world *w)
{
	struct chk_world *cw = (struct chk_world *)w;

	chk.inner[cw->slot]->world_free(cw->w);
	free(cw);
}

static void chk_exec(struct mmf_world *w, const struct mmf_op *op, struct mmf_res *res)
{
	struct chk_world *cw = (struct chk_world *)w;
	const struct mmf_impl *in = chk.inner[cw->slot];
	char msg[512] = "";

	cw->ops++;
	in->exec(cw->w, op, res);
	if (!in->check || in->check(cw->w, msg, sizeof(msg)) == 0)
		return;
	if (chk.bad_op < 0) {
		chk.bad_op = (int)cw->ops - 1;
		snprintf(chk.bad_impl, sizeof(chk.bad_impl), "%s", in->name);
		snprintf(chk.bad_msg, sizeof(chk.bad_msg), "%s", msg[0] ? msg : "unnamed");
	}
	memset(res, 0, sizeof(*res));
	res->ret = MMF_RES_HARNESS;
}

static void chk_snapshot(struct mmf_world *w, struct mmf_snap *s)
{
	struct chk_world *cw = (struct chk_world *)w;

	chk.inner[cw->slot]->snapshot(cw->w, s);
}

static void chk_counters(struct mmf_world *w, struct mmf_counters *c)
{
	struct chk_world *cw = (struct chk_world *)w;

	chk.inner[cw->slot]->counters(cw->w, c);
}

#define CHK_NEW(n)								\
	static struct mmf_world *chk_new_##n(const struct mmf_config *cfg)	\
	{									\
		return chk_new(n, cfg);						\
	}
CHK_NEW(0)
CHK_NEW(1)
CHK_NEW(2)
CHK_NEW(3)

static struct mmf_impl chk_impl[MMF_DIFF_MAX_IMPLS] = {
#define CHK_TABLE(n) [n] = { .world_new = chk_new_##n, .world_free = chk_free,	\
	.exec = chk_exec, .snapshot = chk_snapshot, .counters = chk_counters }
	CHK_TABLE(0), CHK_TABLE(1), CHK_TABLE(2), CHK_TABLE(3),
#undef CHK_TABLE
};

/* ---- shared with cmd_minimize.c (repro.h) -------------------------------- */

int mmf_repro_opt(struct mmf_repro *r, const char *cmd, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v;
	int k;

	if ((k = mmf_cli_opt_value(cmd, argc, argv, i, "--impl", &v))) {
		if (k < 0)
			return -1;
		r->impl_list = v;
	} else if (!strcmp(a, "--kernel")) {
		r->kernel = true;
	} else if (!strcmp(a, "--text")) {
		r->fmt = MMF_LOAD_TEXT;
	} else if (!strcmp(a, "--binary")) {
		r->fmt = MMF_LOAD_BINARY;
	} else {
		return 0;
	}
	return 1;
}

int mmf_repro_setup(struct mmf_repro *r, const char *cmd)
{
	const char *list = r->impl_list;
	char buf[256], *save = NULL, *tok;

	if (r->kernel && list)
		return mmf_cli_usage_error(cmd, "--kernel and --impl: choose one");
	if (!list)
		list = r->kernel || !mmf_cli_impl("core") ? "reference,kernel" : "reference,core";
	r->n = 0;
	r->mode = MMF_DECODE_ANY;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct mmf_impl *impl = mmf_cli_impl(tok);

		if (!impl) {
			char names[256];

			mmf_cli_impl_names(names, sizeof(names));
			return mmf_cli_usage_error(cmd, "unknown implementation '%s' (built: %s)",
						   tok, names);
		}
		if (r->n == MMF_DIFF_MAX_IMPLS)
			return mmf_cli_usage_error(cmd, "at most %d implementations",
						   MMF_DIFF_MAX_IMPLS);
		if (impl == &mmf_kernel)
			r->mode = MMF_DECODE_KERNEL;
		r->inner[r->n++] = impl;
	}
	if (r->n < 2)
		return mmf_cli_usage_error(cmd, "--impl needs at least two implementations");
	return 0;
}

const char *mmf_repro_names(const struct mmf_repro *r, char *buf, size_t len)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (int k = 0; k < r->n && pos < len; k++) {
		int m = snprintf(buf + pos, len - pos, "%s%s", k ? " vs " : "", r->inner[k]->name);

		if (m > 0)
			pos += (size_t)m;
	}
	return buf;
}


bool mmf_repro_run(const struct mmf_repro *r, const struct mmf_prog *p, FILE *trace,
		   FILE *report, char *sig, size_t siglen)
{
	const struct mmf_impl *impls[MMF_DIFF_MAX_IMPLS], *named[MMF_DIFF_MAX_IMPLS];
	struct mmf_diff_opts opts = { .snap_every_op = true, .trace = trace };
	struct mmf_config host;
	bool kernel = false;
	struct mmf_diff_report rep;
	bool failed = true;

	for (int k = 0; k < r->n; k++) {
		chk.inner[k] = r->inner[k];
		chk_impl[k].name = r->inner[k]->name;
		impls[k] = &chk_impl[k];
		named[k] = r->inner[k];
	}
	/* the models are checked in both x86 modes, as the fuzz target does */
	for (int k = 0; k < r->n; k++)
		kernel |= r->inner[k] == &mmf_kernel;
	opts.both_pkey_worlds = !kernel;
	if (kernel) {
		host = mmf_kernel_host_config();
		opts.cfg = &host;
	}
	chk.bad_op = -1;
	sig[0] = '\0';
	mmf_diff_report_init(&rep);
	mmf_diff_run(p, impls, r->n, &opts, &rep);
	if (chk.bad_op >= 0) {
		char buf[MMF_OP_TEXT_MAX];

		mmf_invariant_sig(sig, siglen, chk.bad_msg);
		if (report)
			fprintf(report, "invariant broken after op #%d: %s\n%s: %s\n", chk.bad_op,
				chk.bad_op < (int)p->nr_ops ?
				mmf_op_format(&p->ops[chk.bad_op], buf, sizeof(buf)) : "?",
				chk.bad_impl, chk.bad_msg);
	} else if (rep.status == MMF_DIFF_DIVERGED || rep.status == MMF_DIFF_ERROR) {
		if (rep.status == MMF_DIFF_ERROR && strncmp(rep.sig, "error", 5))
			snprintf(sig, siglen, "error:%s", rep.sig[0] ? rep.sig : "harness");
		else
			snprintf(sig, siglen, "%s", rep.sig);
		if (report)
			mmf_diff_report_print(report, &rep, named);
	} else {
		failed = false;
		if (report)
			mmf_diff_report_print(report, &rep, named);
	}
	mmf_diff_report_free(&rep);
	return failed;
}

/* ---- mmfuzz repro ---------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mmfuzz repro [OPTIONS] FILE\n"
		"\n"
		"Replay a crash file (the raw input a fuzzer saved) or a text program on the\n"
		"implementations it involves - reference vs core by default - and print the\n"
		"program, the trace (each op with each implementation's result) and the first\n"
		"divergence with its signature ('diff:<op>:<what>', or 'invariant:<name>' when\n"
		"an implementation's own checker fails).  Snapshots are compared after every\n"
		"op, so the divergence is the first op whose state differs.\n"
		"\n"
		"options:\n"
		MMF_REPRO_OPTIONS_HELP
		"  --quiet            no program and no trace: the divergence only\n"
		"  --target T         the fuzz target whose input FILE is: diff_fuzzer (default),\n"
		"                     sched_fuzzer or race_fuzzer.  Detected from the path\n"
		"                     (.../sched_fuzzer/..., .../race_fuzzer/...) and from text\n"
		"                     with `thread N` sections (sched_fuzzer).  Concurrent\n"
		"                     programs are handed to sched_replay --history (the\n"
		"                     identical interleaving, step by step) or race_replay\n"
		"                     (TSan build: this build's, else build/libfuzzer-tsan's\n"
		"                     or build/tsan's), run --repeat M times (default 10),\n"
		"                     each its own process replaying the input as often as\n"
		"                     the campaign found it needs (CRASHDIR/repeat), with\n"
		"                     delay injection where it needed that (CRASHDIR/jitter:\n"
		"                     race_replay --jitter R): it prints \"reproduced N/M\";\n"
		"                     a race the campaign filed with a deterministic\n"
		"                     schedule (CRASHDIR/sched/explore-input.mmf) replays\n"
		"                     that too, on sched_replay;\n"
		"                     a concurrent FILE not named *.mmf is read as raw bytes\n"
		"                     (a crash file) unless --text says otherwise.\n"
		"\n"
		"A crash that only the fuzz target's clone lanes see (signature\n"
		"'diff:<op>:clone:<what>') needs `diff_replay FILE`.  To shrink it:\n"
		"`mmfuzz minimize FILE`.\n"
		"\n"
		"Exit status: 0 no divergence, 1 a divergence (or an implementation failed),\n"
		"2 usage error or malformed program.\n");
}

/* The fuzz target a crash file belongs to, from its path or its text. */
static const char *detect_target(const char *path)
{
	static struct mmf_cprog c;
	char err[256];

	if (strstr(path, "sched_fuzzer") || strstr(path, "/sched/"))
		return "sched_fuzzer";
	if (strstr(path, "race_fuzzer") || strstr(path, "/race/"))
		return "race_fuzzer";
	/* a text program with thread sections (a binary one says nothing) */
	if (strlen(path) > 4 && !strcmp(path + strlen(path) - 4, ".mmf") &&
	    mmf_cprog_load(&c, path, err, sizeof(err)) == 0 && c.nr_threads)
		return "sched_fuzzer";
	return "diff_fuzzer";
}

/* The runs of a race_fuzzer crash (--repeat; races are probabilistic). */
static unsigned long race_runs = 10;

/*
 * A number the campaign filed beside a crash file, CRASHDIR/NAME, or dflt:
 * "repeat", how many times each run replays the input, and "jitter", the
 * delay injection rate (race_replay --jitter), together what the campaign
 * found to reproduce a race in 9 of 10 runs (race_replay_count in
 * scripts/campaign.sh).
 */
static unsigned long crash_dir_number(const char *path, const char *name,
				      unsigned long dflt, unsigned long max)
{
	char file[4200];
	const char *slash = strrchr(path, '/');
	unsigned long n = dflt;
	FILE *f;

	snprintf(file, sizeof(file), "%.*s/%s", slash ? (int)(slash - path) : 1,
		 slash ? path : ".", name);
	f = fopen(file, "r");
	if (f) {
		if (fscanf(f, "%lu", &n) != 1 || n < 1 || n > max)
			n = dflt;
		fclose(f);
	}
	return n;
}

/*
 * A race (real threads, TSan): each run is its own process (a TSan report
 * ends it), M of them; say how many reproduced, and show the first that did.
 */
static int run_race_replay(const char *drv, const char *format, const char *path)
{
	char out[64], repeat[32], jitter[32];
	unsigned long hit = 0, inner = crash_dir_number(path, "repeat", 1, 100000);
	unsigned long jit = crash_dir_number(path, "jitter", 0, 1024);
	bool shown = false;

	snprintf(out, sizeof(out), "/tmp/mmfuzz-repro.%d", (int)getpid());
	for (unsigned long i = 0; i < race_runs; i++) {
		int status = 0;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (!freopen(out, "w", stdout) || dup2(fileno(stdout), 2) < 0)
				_exit(127);
			char *argv[8];
			int n = 0;

			snprintf(repeat, sizeof(repeat), "%lu", inner);
			snprintf(jitter, sizeof(jitter), "%lu", jit);
			argv[n++] = (char *)drv;
			argv[n++] = "--repeat";
			argv[n++] = repeat;
			if (jit) {
				argv[n++] = "--jitter";
				argv[n++] = jitter;
			}
			if (format)
				argv[n++] = (char *)format;
			argv[n++] = (char *)path;
			argv[n] = NULL;
			execv(drv, argv);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0) {
			perror("mmfuzz repro: race_replay");
			return MMF_EXIT_FAIL;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
			fprintf(stderr, "mmfuzz repro: could not run %s\n", drv);
			return MMF_EXIT_FAIL;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		hit++;
		if (!shown) {
			FILE *f = fopen(out, "r");
			char line[1024];

			printf("---- run %lu of %lu (the first that reproduced) ----\n", i + 1,
			       race_runs);
			while (f && fgets(line, sizeof(line), f))
				fputs(line, stdout);
			if (f)
				fclose(f);
			shown = true;
		}
	}
	unlink(out);
	printf("race_fuzzer crash %s: reproduced %lu/%lu runs (%s, %lu time%s a run", path,
	       hit, race_runs, drv, inner, inner == 1 ? "" : "s");
	if (jit)
		printf(", --jitter %lu", jit);
	printf(")\n");
	if (!hit)
		printf("not reproduced: a race on real threads may need more runs (--repeat M)\n");
	return hit ? MMF_EXIT_FAIL : MMF_EXIT_OK;
}

/*
 * A race the campaign filed (CRASHDIR/input) may have a deterministic
 * schedule beside it, CRASHDIR/sched/explore-input.mmf, that the schedule
 * search found for the same program (scripts/campaign.sh race_to_schedule):
 * replay it on sched_replay, which runs it twice and needs both identical.
 * 1: it reproduced, 0: it passed, -1: none filed or no driver.
 */
static int run_filed_schedule(const char *sched_drv, const char *path)
{
	char sched[4200];
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 1, status = 0;
	pid_t pid;

	snprintf(sched, sizeof(sched), "%.*s/sched/explore-input.mmf", dirlen, slash ? path : ".");
	if (access(sched, R_OK) || access(sched_drv, X_OK))
		return -1;
	printf("---- the deterministic schedule filed beside it: %s ----\n", sched);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(sched_drv, sched_drv, "--history", "--text", sched, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return -1;
	printf("schedule %s: %s (deterministic: every replay runs the same interleaving)\n",
	       sched, WEXITSTATUS(status) ? "reproduced" : "passed (not reproduced)");
	return WEXITSTATUS(status) ? 1 : 0;
}

/* <dir>/fuzzers/<name> exists: drv filled. */
static bool find_driver(const char *dir, const char *name, char *drv, size_t len)
{
	snprintf(drv, len, "%s/fuzzers/%s", dir, name);
	return !access(drv, X_OK);
}

/*
 * Run the concurrent target's replay driver, <build>/fuzzers/<name>_replay;
 * race_replay from a TSan build beside it (build/libfuzzer-tsan, build/tsan)
 * when this build has none.
 */
static int exec_replay(const char *target, const char *path, enum mmf_load_format fmt)
{
	size_t len = strlen(path);
	/* a crash file's bytes may look like text: only *.mmf is detected */
	const char *format = fmt == MMF_LOAD_TEXT ? "--text" :
			     fmt == MMF_LOAD_BINARY || len < 4 || strcmp(path + len - 4, ".mmf") ?
			     "--binary" : NULL;
	char self[4096], drv[4200], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	bool sched = !strcmp(target, "sched_fuzzer");
	const char *name = sched ? "sched_replay" : "race_replay";

	if (n <= 0) {
		perror("mmfuzz repro: /proc/self/exe");
		return MMF_EXIT_FAIL;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';		/* <build>/tools */
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';	/* <build> */
	if (!find_driver(self, name, drv, sizeof(drv)) && !sched) {
		char sib[4200];

		snprintf(sib, sizeof(sib), "%s/../libfuzzer-tsan", self);
		if (!find_driver(sib, name, drv, sizeof(drv))) {
			snprintf(sib, sizeof(sib), "%s/../tsan", self);
			find_driver(sib, name, drv, sizeof(drv));
		}
	}
	if (access(drv, X_OK)) {
		fprintf(stderr, "mmfuzz repro: %s is not built in %s%s\n", name, self,
			sched ? "" : " (race_replay is built by the TSan presets: "
				     "cmake --preset tsan && cmake --build --preset tsan)");
		return MMF_EXIT_USAGE;
	}
	fflush(stdout);
	if (sched) {
		execl(drv, drv, "--history", format ? format : path, format ? path : (char *)NULL,
		      (char *)NULL);
	} else {
		char sched_drv[4200];
		int ret = run_race_replay(drv, format, path);

		find_driver(self, "sched_replay", sched_drv, sizeof(sched_drv));
		if (run_filed_schedule(sched_drv, path) > 0)
			ret = MMF_EXIT_FAIL;
		return ret;
	}
	fprintf(stderr, "mmfuzz repro: %s: %s\n", drv, strerror(errno));
	return MMF_EXIT_FAIL;
}

static int repro_main(int argc, char **argv)
{
	struct mmf_repro r = { 0 };
	const char *path = NULL, *target = NULL;
	bool quiet = false;
	char sig[160], names[256];
	struct mmf_prog p;
	int k, ret;
	bool failed;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		}
		if ((k = mmf_repro_opt(&r, "repro", argc, argv, &i))) {
			if (k < 0)
				return MMF_EXIT_USAGE;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			quiet = true;
		} else if ((k = mmf_cli_opt_value("repro", argc, argv, &i, "--target", &target))) {
			if (k < 0)
				return MMF_EXIT_USAGE;
			if (strcmp(target, "diff_fuzzer") && strcmp(target, "sched_fuzzer") &&
			    strcmp(target, "race_fuzzer"))
				return mmf_cli_usage_error("repro", "unknown target '%s' (diff_fuzzer, "
							   "sched_fuzzer or race_fuzzer)", target);
		} else if (!strcmp(a, "--repeat") && i + 1 < argc) {
			race_runs = strtoul(argv[++i], NULL, 0);
			if (!race_runs)
				return mmf_cli_usage_error("repro", "--repeat needs a count > 0");
		} else if (a[0] == '-' && a[1] != '\0') {
			return mmf_cli_usage_error("repro", "unknown option '%s'", a);
		} else if (path) {
			return mmf_cli_usage_error("repro", "more than one file ('%s')", a);
		} else {
			path = a;
		}
	}
	if (!path)
		return mmf_cli_usage_error("repro", "no file given");
	if (!target)
		target = detect_target(path);
	if (strcmp(target, "diff_fuzzer"))
		return exec_replay(target, path, r.fmt);
	if ((ret = mmf_repro_setup(&r, "repro")))
		return ret;
	mmf_prog_init(&p);
	if ((ret = mmf_cli_load("repro", &p, path, r.fmt, r.mode))) {
		mmf_prog_free(&p);
		return ret;
	}
	mmf_repro_names(&r, names, sizeof(names));
	if (!quiet) {
		printf("# %s (%u ops)\n", path, p.nr_ops);
		mmf_prog_print(stdout, &p);
		printf("\n---- trace: %s ----\n", names);
		fflush(stdout);
	}
	failed = mmf_repro_run(&r, &p, quiet ? NULL : stdout, stdout, sig, sizeof(sig));
	if (failed)
		printf("---- diverges (%s): signature %s\nmmfuzz: %s\n", names, sig, sig);
	else
		printf("---- no divergence (%s)\n", names);
	mmf_prog_free(&p);
	if (fflush(stdout)) {
		perror("mmfuzz repro: stdout");
		return MMF_EXIT_FAIL;
	}
	return failed ? MMF_EXIT_FAIL : MMF_EXIT_OK;
}

const struct mmf_cmd mmf_cmd_repro = {
	"repro", "replay a crash file or program: trace and first divergence", repro_main,
};
