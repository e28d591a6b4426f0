// SPDX-License-Identifier: MIT
/*
 * tools/cmd_run.c - `mmfuzz run`: run a program on one implementation,
 * print every op with its result, then the final snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
		"  --impl NAME        implementation to run: %s (default: reference)\n"
		"  -q, --quiet        print only the final snapshot\n"
		"  --check            run the implementation's invariant checker after every op\n"
		"  --counters         print the implementation's counters at the end\n"
		"  --max-map-count N  vm.max_map_count of the world (default %d)\n"
		"  --text, --binary   the program's format (default: detected)\n"
		"  --kernel           decode a binary program in kernel mode (as kernel targets do)\n"
		"\n"
		"Exit status: 0 ran (whatever the ops returned), 2 usage error or malformed\n"
		"program, 1 the program could not be read or an invariant check failed.\n",
		names, MMF_MAX_MAP_COUNT);
}

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
	if (counters && impl->counters) {
		struct mmf_counters c;

		memset(&c, 0, sizeof(c));
		impl->counters(w, &c);
		printf("\ncounters:\n");
		mmf_counters_print(stdout, &c);
	}
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
