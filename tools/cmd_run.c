// SPDX-License-Identifier: MIT
/*
 * tools/cmd_run.c - `mmfuzz run`: run a program on one implementation,
 * print every op with its result, then the final snapshot.  `--impl both`
 * runs it on the reference and the core through the differential engine
 * (diff/diff.h) and stops at the first difference.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#ifdef MMF_HAVE_DIFF
#include "diff.h"
#endif

static void usage(FILE *out)
{
	char names[256];

	mmf_cli_impl_names(names, sizeof(names));
	fprintf(out,
		"usage: mmfuzz run [OPTIONS] PROGRAM\n"
		"\n"
		"Run a program (text or binary) on one implementation. Every op is printed\n"
		"with its result ('mmap p0 0x10000 0x1000 rw- private anon fixed = 0x10000',\n"
		"'read p0 0x5000 = SIGSEGV/MAPERR', '... = -ENOMEM'), then the final snapshot.\n"
		"\n"
		"options:\n"
		"  --impl NAME        implementation to run: %s (default: reference);\n"
		"                     'both': reference and core, every op compared (results\n"
		"                     and snapshots, through the differential engine); an\n"
		"                     op is printed once with the result both agree on; the\n"
		"                     first difference prints both results and snapshots\n"
		"  -q, --quiet        print only the final snapshot\n"
		"  --check            run the implementation's invariant checker after every op\n"
		"  --counters         print the implementation's counters at the end\n"
		"  --max-map-count N  vm.max_map_count of the world (default %d)\n"
		"  --exec-only-pkey   model x86 with protection keys: PROT_EXEC alone is\n"
		"                     execute-only (loads and stores SIGSEGV/PKUERR)\n"
		"  --text, --binary   the program's format (default: detected)\n"
		"  --kernel           decode a binary program in kernel mode (as kernel targets do)\n"
		"\n"
		"PROGRAM '-' reads the program from standard input.\n"
		"\n"
		"Exit status: 0 ran (whatever the ops returned), 2 usage error or malformed\n"
		"program, 1 the program could not be read, an invariant check failed, or\n"
		"(--impl both) the implementations differed.\n",
		names, MMF_MAX_MAP_COUNT);
}

static void print_counters(const struct mmf_impl *impl, struct mmf_world *w, const char *title)
{
	struct mmf_counters c;

	if (!impl->counters)
		return;
	memset(&c, 0, sizeof(c));
	impl->counters(w, &c);
	printf("\n%s:\n", title);
	mmf_counters_print(stdout, &c);
}

#ifdef MMF_HAVE_DIFF
/*
 * The results of op #idx differed (the engine keeps snapshots only for
 * snapshot differences): show both states right after that op.  w is the
 * core's replay world, which has run the ops before idx.
 */
static void print_both_snaps(const struct mmf_prog *p, const struct mmf_impl *const impls[2],
			     const struct mmf_config *cfg, struct mmf_world *w, uint32_t idx)
{
	struct mmf_world *rw = impls[0]->world_new(cfg);
	struct mmf_snap snap;
	struct mmf_res res;

	if (!rw)
		return;
	for (uint32_t i = 0; i <= idx; i++)
		impls[0]->exec(rw, &p->ops[i], &res);
	impls[1]->exec(w, &p->ops[idx], &res);
	printf("mmfuzz: ---- snapshot after op #%u: %s ----\n", idx, impls[0]->name);
	mmf_snap_init(&snap);
	impls[0]->snapshot(rw, &snap);
	mmf_snap_print(stdout, &snap);
	mmf_snap_free(&snap);
	printf("mmfuzz: ---- snapshot after op #%u: %s ----\n", idx, impls[1]->name);
	mmf_snap_init(&snap);
	impls[1]->snapshot(w, &snap);
	mmf_snap_print(stdout, &snap);
	mmf_snap_free(&snap);
	impls[0]->world_free(rw);
}

/*
 * --impl both: the differential engine runs the program on the reference
 * (baseline) and the core, comparing every op's result and the snapshots
 * after every op.  The ops they agreed on are then printed once, with their
 * common result, from a replay on the core (deterministic: the same
 * results), which also runs --check and gives the final snapshot and the
 * counters; a replay on the reference gives its counters.
 */
static int run_both(const struct mmf_prog *p, const struct mmf_config *cfg, bool quiet,
		    bool check, bool counters)
{
	const struct mmf_impl *impls[2] = { mmf_cli_impl("reference"), mmf_cli_impl("core") };
	struct mmf_diff_opts opts = { .snap_every_op = true, .cfg = cfg };
	struct mmf_diff_report rep;
	enum mmf_diff_status st;
	struct mmf_world *w;
	struct mmf_snap snap;
	uint32_t agreed;
	int ret = MMF_EXIT_OK;

	if (!impls[0] || !impls[1])
		return mmf_cli_usage_error("run", "--impl both: the core is not built");
	mmf_diff_report_init(&rep);
	st = mmf_diff_run(p, impls, 2, &opts, &rep);
	if (st == MMF_DIFF_SAME)
		agreed = p->nr_ops;
	else if (rep.op_index < 0)
		agreed = 0;
	else	/* a snapshot difference comes after its op's results agreed */
		agreed = (uint32_t)rep.op_index + (rep.have_snaps ? 1 : 0);

	w = impls[1]->world_new(cfg);
	if (!w) {
		fprintf(stderr, "mmfuzz run: cannot create a core world\n");
		mmf_diff_report_free(&rep);
		return MMF_EXIT_FAIL;
	}
	for (uint32_t i = 0; i < agreed; i++) {
		char text[MMF_OP_TEXT_MAX], res_text[128], msg[512];
		struct mmf_res res;

		memset(&res, 0, sizeof(res));
		impls[1]->exec(w, &p->ops[i], &res);
		if (!quiet)
			printf("%s = %s\n", mmf_op_format(&p->ops[i], text, sizeof(text)),
			       mmf_res_str(p->ops[i].kind, &res, res_text, sizeof(res_text)));
		if (check && impls[1]->check && impls[1]->check(w, msg, sizeof(msg))) {
			fflush(stdout);
			fprintf(stderr, "mmfuzz run: invariant violated after op %u (%s): %s\n",
				i + 1, mmf_op_format(&p->ops[i], text, sizeof(text)), msg);
			ret = MMF_EXIT_FAIL;
			break;
		}
	}
	if (st != MMF_DIFF_SAME) {
		/* the report: signature, the op, both results, both snapshots */
		fflush(stdout);
		if (!quiet)
			printf("\n");
		mmf_diff_report_print(stdout, &rep, impls);
		if (!rep.have_snaps && rep.op_index >= 0 && ret == MMF_EXIT_OK)
			print_both_snaps(p, impls, cfg, w, (uint32_t)rep.op_index);
		ret = MMF_EXIT_FAIL;
	} else if (ret == MMF_EXIT_OK) {
		if (!quiet)
			printf("\n");
		mmf_snap_init(&snap);
		impls[1]->snapshot(w, &snap);
		mmf_snap_print(stdout, &snap);
		mmf_snap_free(&snap);
	}
	if (counters && ret == MMF_EXIT_OK) {
		struct mmf_world *rw = impls[0]->world_new(cfg);

		if (rw) {
			struct mmf_res res;

			for (uint32_t i = 0; i < p->nr_ops; i++)
				impls[0]->exec(rw, &p->ops[i], &res);
			print_counters(impls[0], rw, "counters (reference)");
			impls[0]->world_free(rw);
		}
		print_counters(impls[1], w, "counters (core)");
	}
	impls[1]->world_free(w);
	mmf_diff_report_free(&rep);
	if (fflush(stdout)) {
		perror("mmfuzz run: stdout");
		return MMF_EXIT_FAIL;
	}
	return ret;
}
#endif

static int run(int argc, char **argv)
{
	const char *impl_name = "reference", *path = NULL, *v;
	enum mmf_load_format fmt = MMF_LOAD_AUTO;
	enum mmf_decode_mode mode = MMF_DECODE_ANY;
	bool quiet = false, check = false, counters = false;
	struct mmf_config cfg = { 0 };
	const struct mmf_impl *impl;
	struct mmf_world *w;
	struct mmf_prog p;
	struct mmf_snap snap;
	int ret = MMF_EXIT_OK, r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		uint64_t n;

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		}
		if ((r = mmf_cli_opt_value("run", argc, argv, &i, "--impl", &v))) {
			if (r < 0)
				return MMF_EXIT_USAGE;
			impl_name = v;
		} else if ((r = mmf_cli_opt_value("run", argc, argv, &i, "--max-map-count", &v))) {
			if (r < 0 || mmf_cli_number("run", "--max-map-count", v, &n))
				return MMF_EXIT_USAGE;
			if (n == 0 || n > UINT32_MAX)
				return mmf_cli_usage_error("run", "--max-map-count: out of range: %s", v);
			cfg.max_map_count = (uint32_t)n;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!strcmp(a, "--check")) {
			check = true;
		} else if (!strcmp(a, "--exec-only-pkey")) {
			cfg.exec_only_pkey = true;
		} else if (!strcmp(a, "--counters")) {
			counters = true;
		} else if (!strcmp(a, "--text")) {
			fmt = MMF_LOAD_TEXT;
		} else if (!strcmp(a, "--binary")) {
			fmt = MMF_LOAD_BINARY;
		} else if (!strcmp(a, "--kernel")) {
			mode = MMF_DECODE_KERNEL;
		} else if (a[0] == '-' && a[1] != '\0') {
			return mmf_cli_usage_error("run", "unknown option '%s'", a);
		} else if (path) {
			return mmf_cli_usage_error("run", "more than one program ('%s')", a);
		} else {
			path = a;
		}
	}
	if (!path)
		return mmf_cli_usage_error("run", "no program given");
	if (!strcmp(path, "-"))
		path = "/dev/stdin";
	if (!strcmp(impl_name, "both")) {
#ifdef MMF_HAVE_DIFF
		mmf_prog_init(&p);
		r = mmf_cli_load("run", &p, path, fmt, mode);
		if (!r) {
			cfg.check_invariants = check;
			r = run_both(&p, &cfg, quiet, check, counters);
		}
		mmf_prog_free(&p);
		return r;
#else
		return mmf_cli_usage_error("run", "--impl both needs the differential engine (diff/)");
#endif
	}
	impl = mmf_cli_impl(impl_name);
	if (!impl) {
		char names[256];

		mmf_cli_impl_names(names, sizeof(names));
		return mmf_cli_usage_error("run", "unknown implementation '%s' (built: %s)",
					   impl_name, names);
	}
	if (check && !impl->check)
		fprintf(stderr, "mmfuzz run: %s has no invariant checker; --check ignored\n",
			impl->name);

	mmf_prog_init(&p);
	r = mmf_cli_load("run", &p, path, fmt, mode);
	if (r) {
		mmf_prog_free(&p);
		return r;
	}
	cfg.check_invariants = check;
	w = impl->world_new(&cfg);
	if (!w) {
		fprintf(stderr, "mmfuzz run: cannot create a %s world\n", impl->name);
		mmf_prog_free(&p);
		return MMF_EXIT_FAIL;
	}
	for (uint32_t i = 0; i < p.nr_ops; i++) {
		char text[MMF_OP_TEXT_MAX], res_text[128], msg[512];
		struct mmf_res res;

		memset(&res, 0, sizeof(res));
		impl->exec(w, &p.ops[i], &res);
		if (!quiet)
			printf("%s = %s\n", mmf_op_format(&p.ops[i], text, sizeof(text)),
			       mmf_res_str(p.ops[i].kind, &res, res_text, sizeof(res_text)));
		if (check && impl->check && impl->check(w, msg, sizeof(msg))) {
			fflush(stdout);
			fprintf(stderr, "mmfuzz run: invariant violated after op %u (%s): %s\n",
				i + 1, mmf_op_format(&p.ops[i], text, sizeof(text)), msg);
			ret = MMF_EXIT_FAIL;
			break;
		}
	}
	if (!quiet)
		printf("\n");
	mmf_snap_init(&snap);
	impl->snapshot(w, &snap);
	mmf_snap_print(stdout, &snap);
	mmf_snap_free(&snap);
	if (counters)
		print_counters(impl, w, "counters");
	impl->world_free(w);
	mmf_prog_free(&p);
	if (fflush(stdout)) {
		perror("mmfuzz run: stdout");
		return MMF_EXIT_FAIL;
	}
	return ret;
}

const struct mmf_cmd mmf_cmd_run = {
	"run", "run a program on an implementation; print results and the final snapshot", run,
};
