// SPDX-License-Identifier: MIT
/*
 * tools/cmd_diff.c - `mmfuzz diff`: run one program on several
 * implementations through the differential engine (diff/diff.c) and print
 * the first divergence.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diff.h"

static void usage(FILE *out)
{
	char names[256];

	mmf_cli_impl_names(names, sizeof(names));
	fprintf(out,
		"usage: mmfuzz diff [OPTIONS] PROGRAM\n"
		"\n"
		"Run a program (text or binary) op by op on several implementations, compare\n"
		"every result (ret, signal, value) and the snapshots (after fork/exit and at the\n"
		"end, or after every op), and print the first divergence: its signature\n"
		"'diff:<op>:<what>', the op, both results and both snapshots.\n"
		"\n"
		"options:\n"
		"  --kernel           reference against the host kernel (same as\n"
		"                     --impl reference,kernel); a binary program is decoded in\n"
		"                     kernel mode\n"
		"  --impl A,B[,C]     implementations, the first is the baseline (built: %s;\n"
		"                     default: reference,core when core is built, else\n"
		"                     reference,kernel)\n"
		"  --every-op         compare snapshots after every op\n"
		"  --trace            print every op with every implementation's result\n"
		"  --print            print the program first\n"
		"  --rewrite-reads    turn reads of untouched private anonymous pages into\n"
		"                     writes of 0 (or drop them where not writable): for hosts\n"
		"                     without the zero page, as `mmfuzz conform` does\n"
		"  --text, --binary   the program's format (default: detected)\n"
		"\n"
		"With the kernel, the models run as this host is (x86 protection keys make\n"
		"PROT_EXEC alone execute-only: mmf_config.exec_only_pkey, probed); without\n"
		"it, a program that asks for PROT_EXEC alone runs in both modes.\n"
		"\n"
		"Ops one implementation cannot check (the kernel: non-fixed placement, ranges\n"
		"outside the model window, names on a kernel without CONFIG_ANON_VMA_NAME) are\n"
		"not compared; if such an op changed another implementation, the run stops as\n"
		"'incomparable' (see diff/diff.h).\n"
		"\n"
		"Exit status: 0 no divergence (or incomparable), 1 a divergence or an\n"
		"implementation failed, 2 usage error or malformed program.\n",
		names);
}

static bool kernel_used(const struct mmf_impl *const impls[], int n)
{
	for (int k = 0; k < n; k++)
		if (impls[k] == &mmf_kernel)
			return true;
	return false;
}

/* Split "a,b,c" into implementations; returns the count or -1. */
static int parse_impls(const char *list, const struct mmf_impl **out, int max)
{
	char buf[256], *save = NULL, *tok;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct mmf_impl *impl = mmf_cli_impl(tok);

		if (!impl) {
			char names[256];

			mmf_cli_impl_names(names, sizeof(names));
			mmf_cli_usage_error("diff", "unknown implementation '%s' (built: %s)",
					    tok, names);
			return -1;
		}
		if (n == max) {
			mmf_cli_usage_error("diff", "at most %d implementations", max);
			return -1;
		}
		out[n++] = impl;
	}
	if (n < 2) {
		mmf_cli_usage_error("diff", "--impl needs at least two implementations");
		return -1;
	}
	return n;
}

static int diff_main(int argc, char **argv)
{
	const char *impl_list = NULL, *path = NULL, *v;
	enum mmf_load_format fmt = MMF_LOAD_AUTO;
	enum mmf_decode_mode mode = MMF_DECODE_ANY;
	const struct mmf_impl *impls[MMF_DIFF_MAX_IMPLS];
	struct mmf_diff_opts opts = { 0 };
	struct mmf_config host;
	struct mmf_diff_report rep;
	bool kernel = false, print = false, rewrite = false;
	struct mmf_prog p;
	int n, r, ret;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		}
		if ((r = mmf_cli_opt_value("diff", argc, argv, &i, "--impl", &v))) {
			if (r < 0)
				return MMF_EXIT_USAGE;
			impl_list = v;
		} else if (!strcmp(a, "--kernel")) {
			kernel = true;
			mode = MMF_DECODE_KERNEL;
		} else if (!strcmp(a, "--every-op")) {
			opts.snap_every_op = true;
		} else if (!strcmp(a, "--trace")) {
			opts.trace = stdout;
		} else if (!strcmp(a, "--rewrite-reads")) {
			rewrite = true;
		} else if (!strcmp(a, "--print")) {
			print = true;
		} else if (!strcmp(a, "--text")) {
			fmt = MMF_LOAD_TEXT;
		} else if (!strcmp(a, "--binary")) {
			fmt = MMF_LOAD_BINARY;
		} else if (a[0] == '-' && a[1] != '\0') {
			return mmf_cli_usage_error("diff", "unknown option '%s'", a);
		} else if (path) {
			return mmf_cli_usage_error("diff", "more than one program ('%s')", a);
		} else {
			path = a;
		}
	}
	if (!path)
		return mmf_cli_usage_error("diff", "no program given");
	if (kernel && impl_list)
		return mmf_cli_usage_error("diff", "--kernel and --impl: choose one");
	if (!impl_list)
		impl_list = kernel || !mmf_cli_impl("core") ? "reference,kernel" : "reference,core";
	n = parse_impls(impl_list, impls, MMF_DIFF_MAX_IMPLS);
	if (n < 0)
		return MMF_EXIT_USAGE;
	for (int k = 0; k < n; k++)
		if (impls[k] == &mmf_kernel)
			mode = MMF_DECODE_KERNEL;

	mmf_prog_init(&p);
	r = mmf_cli_load("diff", &p, path, fmt, mode);
	if (r) {
		mmf_prog_free(&p);
		return r;
	}
	if (rewrite) {
		struct mmf_prog v;
		int nr;

		mmf_prog_init(&v);
		nr = mmf_diff_zero_page_variant(&p, impls[0] == &mmf_kernel ? impls[1] : impls[0], &v);
		mmf_prog_free(&p);
		p = v;
		fprintf(stderr, "mmfuzz diff: %d read(s) of untouched private anonymous pages rewritten\n",
			nr);
	}
	if (print) {
		printf("# %s (%u ops)\n", path, p.nr_ops);
		mmf_prog_print(stdout, &p);
		printf("\n");
	}
	if (kernel_used(impls, n)) {
		/* the models as this host is: with or without execute-only pkeys */
		host = mmf_kernel_host_config();
		opts.cfg = &host;
	} else {
		opts.both_pkey_worlds = true;
	}
	mmf_diff_report_init(&rep);
	mmf_diff_run(&p, impls, n, &opts, &rep);
	fflush(stdout);
	mmf_diff_report_print(stdout, &rep, impls);
	if (rep.status == MMF_DIFF_DIVERGED) {
		if (kernel_used(impls, n) && !(mmf_kernel_probe(NULL, 0) & MMF_KERNEL_ZERO_PAGE)) {
			struct mmf_prog v;
			int nr;

			mmf_prog_init(&v);
			nr = mmf_diff_zero_page_variant(&p, impls[0] == &mmf_kernel ? impls[1] : impls[0],
							&v);
			if (nr)
				printf("mmfuzz: note: this host has no zero page (pvm_no_zero_page=1?): %d read(s)\n"
				       "mmfuzz: of untouched private anonymous pages allocate pages here; see\n"
				       "mmfuzz: --rewrite-reads (what `mmfuzz conform` does)\n", nr);
			mmf_prog_free(&v);
		}
	}
	switch (rep.status) {
	case MMF_DIFF_SAME:
	case MMF_DIFF_INCOMPARABLE:
		ret = MMF_EXIT_OK;
		break;
	default:
		ret = MMF_EXIT_FAIL;
		break;
	}
	mmf_diff_report_free(&rep);
	mmf_prog_free(&p);
	if (fflush(stdout)) {
		perror("mmfuzz diff: stdout");
		return MMF_EXIT_FAIL;
	}
	return ret;
}

const struct mmf_cmd mmf_cmd_diff = {
	"diff", "run a program on several implementations and report the first divergence",
	diff_main,
};
