// SPDX-License-Identifier: MIT
/*
 * tools/cmd_conform.c - `mmfuzz conform`: generate kernel-checkable programs
 * and run each on an implementation (the reference) and on the host kernel
 * through the differential engine; print the agreement rate and the
 * distinct divergences, each with a minimized reproduction.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cli.h"
#include "diff.h"

#define MAX_SIGS 64

struct sig_group {
	char sig[96];
	char field[32];		/* refined snapshot field, "" for results */
	uint32_t count;
	uint64_t seed;		/* first program that showed it */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mmfuzz conform [OPTIONS]\n"
		"\n"
		"Generate N kernel-checkable programs (mmf_prog_generate, kernel mode; program\n"
		"i has seed S+i), run each on the reference and on the host kernel, and print\n"
		"the agreement rate, the time, and the distinct divergences grouped by\n"
		"signature, the first few with a minimized program that reproduces them\n"
		"(`mmfuzz diff --kernel FILE` replays one).\n"
		"\n"
		"options:\n"
		"  --programs N       number of programs (default 100)\n"
		"  --seed S           seed of the first program (default 1)\n"
		"  --ops K            ops per program (default 64, at most %d)\n"
		"  --impl NAME        the implementation checked against the kernel\n"
		"                     (default: reference)\n"
		"  --every-op         compare snapshots after every op\n"
		"  --show M           reproductions to print (default 5; 0: none)\n"
		"  --no-minimize      print the reproducing programs as generated\n"
		"  --any              unrestricted generator (raw flags, other advice, huge\n"
		"                     arguments), made placement-free: non-fixed mmap becomes\n"
		"                     MAP_FIXED_NOREPLACE at its hint (dropped without one),\n"
		"                     growing MAYMOVE-only mremap and (without host names)\n"
		"                     set_name are dropped; the rest out of the window is skipped\n"
		"  --no-rewrite       on a host without the zero page, do not rewrite reads of\n"
		"                     untouched private anonymous pages into writes of 0\n"
		"  -v, --verbose      one line per program\n"
		"\n"
		"On a host whose read faults do not map the zero page (pvm_no_zero_page=1),\n"
		"such a read allocates a page and an anon_vma, which changes fork copies and\n"
		"merges; by default those reads are rewritten into writes of 0 (what the host\n"
		"does), see mmf_diff_zero_page_variant() in diff/diff.h.  On an x86 host with\n"
		"protection keys (pku, ospke) the model runs with mmf_config.exec_only_pkey.\n"
		"\n"
		"Exit status: 0 every program agreed, 1 some diverged or failed, 2 usage error.\n",
		MMF_PROG_MAX_OPS);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Program i as conform runs it (rewritten for a host without the zero page). */
/*
 * --any: a program of the unrestricted generator (raw flags, other advice,
 * extra prot bits, huge arguments), made placement-free: a non-fixed mmap
 * becomes MAP_FIXED_NOREPLACE at its hint (dropped if the hint is 0), a
 * growing MREMAP_MAYMOVE without MREMAP_FIXED is dropped, and set_name is
 * dropped where the host has no anon names.  What is left out of the window
 * the kernel backend skips.
 */
static void make_placement_free(struct mmf_prog *g, bool names)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < g->nr_ops; i++) {
		struct mmf_op op = g->ops[i];

		if (op.kind == MMF_OP_MMAP && !(op.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))) {
			if (!op.addr)
				continue;
			op.flags |= MAP_FIXED_NOREPLACE;
		}
		if (op.kind == MMF_OP_MREMAP && (op.flags & MREMAP_MAYMOVE) &&
		    !(op.flags & MREMAP_FIXED) &&
		    ((op.flags & ~(uint32_t)MREMAP_MAYMOVE) ||
		     MMF_PAGE_ALIGN(op.new_len) > MMF_PAGE_ALIGN(op.len)))
			continue;
		if (op.kind == MMF_OP_SET_NAME && !names)
			continue;
		g->ops[n++] = op;
	}
	g->nr_ops = n;
}

static void program(struct mmf_prog *p, uint64_t seed, uint64_t ops, bool rewrite,
		    const struct mmf_impl *model, uint64_t *rewritten, int any)
{
	struct mmf_prog g;
	int n;

	mmf_prog_init(&g);
	mmf_prog_generate(&g, seed, (uint32_t)ops, any ? MMF_DECODE_ANY : MMF_DECODE_KERNEL);
	if (any)
		make_placement_free(&g, any > 1);
	if (!rewrite) {
		for (uint32_t i = 0; i < g.nr_ops; i++)
			mmf_prog_append(p, &g.ops[i]);
	} else {
		n = mmf_diff_zero_page_variant(&g, model, p);
		if (rewritten)
			*rewritten += (uint64_t)n;
	}
	mmf_prog_free(&g);
}

/* The grouping key: signature, plus the VMA field for snapshot:vma. */
static void group_key(const struct mmf_diff_report *rep, char *field, size_t len)
{
	field[0] = 0;
	if (rep->have_snaps) {
		const char *f = mmf_diff_snap_field(&rep->snap_a, &rep->snap_b);

		snprintf(field, len, "%s", f ? f : "");
	}
}

static bool same_failure(const struct mmf_prog *p, const struct mmf_impl *const impls[],
			 const struct mmf_diff_opts *opts, const char *sig, const char *field)
{
	struct mmf_diff_report rep;
	char f[32];
	bool same;

	mmf_diff_report_init(&rep);
	mmf_diff_run(p, impls, 2, opts, &rep);
	group_key(&rep, f, sizeof(f));
	same = rep.status == MMF_DIFF_DIVERGED && !strcmp(rep.sig, sig) && !strcmp(f, field);
	mmf_diff_report_free(&rep);
	return same;
}

/*
 * Minimization (ddmin-like, bounded): cut after the divergent op, then try
 * removing chunks of ops, halving the chunk size down to single ops, keeping
 * every removal after which the program still fails with the same signature.
 */
static void minimize(struct mmf_prog *p, const struct mmf_impl *const impls[],
		     const struct mmf_diff_opts *opts, const char *sig, const char *field,
		     int op_index)
{
	struct mmf_prog t;
	int budget = 400;

	if (op_index >= 0 && (uint32_t)op_index + 1 < p->nr_ops) {
		uint32_t keep = p->nr_ops;

		p->nr_ops = (uint32_t)op_index + 1;
		if (!same_failure(p, impls, opts, sig, field))
			p->nr_ops = keep;
	}
	mmf_prog_init(&t);
	for (uint32_t chunk = p->nr_ops / 2 ? p->nr_ops / 2 : 1; budget > 0; chunk /= 2) {
		bool progress = false;

		if (chunk == 0)
			chunk = 1;
		/* from the end: later ops depend on earlier ones, not the reverse */
		for (int end = (int)p->nr_ops; end > 0 && budget > 0; end -= (int)chunk) {
			int start = end - (int)chunk < 0 ? 0 : end - (int)chunk;

			t.nr_ops = 0;
			for (int j = 0; j < (int)p->nr_ops; j++)
				if (j < start || j >= end)
					mmf_prog_append(&t, &p->ops[j]);
			budget--;
			if (t.nr_ops && same_failure(&t, impls, opts, sig, field)) {
				p->nr_ops = 0;
				for (uint32_t j = 0; j < t.nr_ops; j++)
					mmf_prog_append(p, &t.ops[j]);
				progress = true;
				if (end > (int)p->nr_ops)
					end = (int)p->nr_ops + (int)chunk;
			}
		}
		if (chunk == 1 && !progress)
			break;
	}
	mmf_prog_free(&t);
}

static int conform_main(int argc, char **argv)
{
	uint64_t programs = 100, seed = 1, ops = 64, show = 5;
	const char *impl_name = "reference", *v;
	struct mmf_diff_opts opts = { 0 };
	struct mmf_config host;
	const struct mmf_impl *impls[2];
	struct sig_group groups[MAX_SIGS];
	uint32_t nr_groups = 0, other_groups = 0;
	uint32_t same = 0, diverged = 0, incomparable = 0, errors = 0;
	uint64_t ops_compared = 0, ops_skipped = 0;
	bool minimize_on = true, verbose = false, rewrite = true;
	uint64_t rewritten = 0;
	unsigned probe;
	int any = 0;	/* 0: kernel-mode programs; 1: --any; 2: --any, host has names */
	char why[600];
	double t0;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		}
		if ((r = mmf_cli_opt_value("conform", argc, argv, &i, "--programs", &v))) {
			if (r < 0 || mmf_cli_number("conform", "--programs", v, &programs))
				return MMF_EXIT_USAGE;
		} else if ((r = mmf_cli_opt_value("conform", argc, argv, &i, "--seed", &v))) {
			if (r < 0 || mmf_cli_number("conform", "--seed", v, &seed))
				return MMF_EXIT_USAGE;
		} else if ((r = mmf_cli_opt_value("conform", argc, argv, &i, "--ops", &v))) {
			if (r < 0 || mmf_cli_number("conform", "--ops", v, &ops))
				return MMF_EXIT_USAGE;
			if (ops == 0 || ops > MMF_PROG_MAX_OPS)
				return mmf_cli_usage_error("conform", "--ops: 1..%d", MMF_PROG_MAX_OPS);
		} else if ((r = mmf_cli_opt_value("conform", argc, argv, &i, "--show", &v))) {
			if (r < 0 || mmf_cli_number("conform", "--show", v, &show))
				return MMF_EXIT_USAGE;
		} else if ((r = mmf_cli_opt_value("conform", argc, argv, &i, "--impl", &v))) {
			if (r < 0)
				return MMF_EXIT_USAGE;
			impl_name = v;
		} else if (!strcmp(a, "--every-op")) {
			opts.snap_every_op = true;
		} else if (!strcmp(a, "--any")) {
			any = 1;
		} else if (!strcmp(a, "--no-rewrite")) {
			rewrite = false;
		} else if (!strcmp(a, "--no-minimize")) {
			minimize_on = false;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = true;
		} else {
			return mmf_cli_usage_error("conform", "unknown argument '%s'", a);
		}
	}
	impls[0] = mmf_cli_impl(impl_name);
	impls[1] = &mmf_kernel;
	if (!impls[0] || impls[0] == &mmf_kernel)
		return mmf_cli_usage_error("conform", "--impl: not an implementation to check: '%s'",
					   impl_name);
	probe = mmf_kernel_probe(why, sizeof(why));
	if (!(probe & MMF_KERNEL_OK)) {
		fprintf(stderr, "mmfuzz conform: the kernel backend cannot run here: %s\n", why);
		return MMF_EXIT_FAIL;
	}

	/* the model as this host is: with or without execute-only pkeys */
	host = mmf_kernel_host_config();
	opts.cfg = &host;
	if (probe & MMF_KERNEL_ZERO_PAGE)
		rewrite = false;
	if (any && (probe & MMF_KERNEL_NAMES))
		any = 2;
	t0 = now();
	for (uint64_t i = 0; i < programs; i++) {
		struct mmf_diff_report rep;
		struct mmf_prog p;
		char field[32];
		uint32_t g;

		mmf_prog_init(&p);
		program(&p, seed + i, ops, rewrite, impls[0], &rewritten, any);
		mmf_diff_report_init(&rep);
		mmf_diff_run(&p, impls, 2, &opts, &rep);
		ops_compared += rep.ops_compared;
		ops_skipped += rep.ops_skipped;
		if (verbose)
			printf("seed %llu: %s%s%s\n", (unsigned long long)(seed + i),
			       rep.status == MMF_DIFF_SAME ? "same" :
			       rep.status == MMF_DIFF_DIVERGED ? "diverged " :
			       rep.status == MMF_DIFF_INCOMPARABLE ? "incomparable " : "error ",
			       rep.status == MMF_DIFF_SAME ? "" : rep.sig,
			       "");
		switch (rep.status) {
		case MMF_DIFF_SAME:
			same++;
			break;
		case MMF_DIFF_INCOMPARABLE:
			incomparable++;
			break;
		case MMF_DIFF_ERROR:
			errors++;
			fprintf(stderr, "mmfuzz conform: seed %llu: %s: %s\n",
				(unsigned long long)(seed + i), rep.sig, rep.what);
			break;
		case MMF_DIFF_DIVERGED:
			diverged++;
			group_key(&rep, field, sizeof(field));
			for (g = 0; g < nr_groups; g++)
				if (!strcmp(groups[g].sig, rep.sig) && !strcmp(groups[g].field, field))
					break;
			if (g < nr_groups) {
				groups[g].count++;
			} else if (nr_groups < MAX_SIGS) {
				snprintf(groups[g].sig, sizeof(groups[g].sig), "%s", rep.sig);
				snprintf(groups[g].field, sizeof(groups[g].field), "%s", field);
				groups[g].count = 1;
				groups[g].seed = seed + i;
				nr_groups++;
			} else {
				other_groups++;
			}
			break;
		}
		mmf_diff_report_free(&rep);
		mmf_prog_free(&p);
	}

	{
		double secs = now() - t0;
		uint32_t judged = same + diverged;

		printf("mmfuzz conform: %s vs kernel, %llu %sprograms of %llu ops, seeds %llu..%llu\n",
		       impls[0]->name,  (unsigned long long)programs, any ? "--any " : "",
		       (unsigned long long)ops, (unsigned long long)seed, (unsigned long long)(seed + programs - 1));
		printf("  agree        %u (%.1f%% of %u compared to the end)\n", same,
		       judged ? 100.0 * same / judged : 100.0, judged);
		printf("  diverged     %u\n", diverged);
		printf("  incomparable %u (an op the kernel cannot check changed the %s)\n",
		       incomparable, impls[0]->name);
		printf("  errors       %u\n", errors);
		printf("  ops compared %llu, skipped %llu\n", (unsigned long long)ops_compared,
		       (unsigned long long)ops_skipped);
		printf("  host         %s, %s, %s, %s\n",
		       probe & MMF_KERNEL_NAMES ? "anon names" : "no anon names (set_name skipped)",
		       probe & MMF_KERNEL_PKU_XONLY ?
		       "PKU: PROT_EXEC alone is execute-only (model: exec_only_pkey)" :
		       "no protection keys (PROT_EXEC readable)",
		       probe & MMF_KERNEL_ZERO_PAGE ? "zero page" :
		       rewrite ? "no zero page: reads of untouched private anon pages rewritten" :
		       "no zero page (reads NOT rewritten)",
		       probe & MMF_KERNEL_GUARD ? "guard regions" :
		       "no guard regions (MADV_GUARD_* diverge: -EINVAL)");
		if (rewrite)
			printf("  rewritten    %llu reads\n", (unsigned long long)rewritten);
		printf("  time         %.2f s (%.1f ms per program)\n", secs,
		       programs ? 1e3 * secs / (double)programs : 0.0);
	}
	if (nr_groups) {
		printf("\ndistinct divergences (%u%s):\n", nr_groups, other_groups ? "+" : "");
		for (uint32_t g = 0; g < nr_groups; g++)
			printf("  %5u  %-40s %-12s first: --seed %llu\n", groups[g].count, groups[g].sig,
			       groups[g].field, (unsigned long long)groups[g].seed);
	}
	for (uint32_t g = 0; g < nr_groups && g < show; g++) {
		struct mmf_diff_report rep;
		struct mmf_prog p;

		mmf_prog_init(&p);
		program(&p, groups[g].seed, ops, rewrite, impls[0], NULL, any);
		mmf_diff_report_init(&rep);
		mmf_diff_run(&p, impls, 2, &opts, &rep);
		if (minimize_on)
			minimize(&p, impls, &opts, groups[g].sig, groups[g].field, rep.op_index);
		mmf_diff_run(&p, impls, 2, &opts, &rep);
		printf("\n==== %s %s (seed %llu%s, %u ops) ====\n", groups[g].sig, groups[g].field,
		       (unsigned long long)groups[g].seed, minimize_on ? ", minimized" : "",
		       p.nr_ops);
		mmf_prog_print(stdout, &p);
		printf("----\n");
		mmf_diff_report_print(stdout, &rep, impls);
		mmf_diff_report_free(&rep);
		mmf_prog_free(&p);
	}
	fflush(stdout);
	return diverged || errors ? MMF_EXIT_FAIL : MMF_EXIT_OK;
}

const struct mmf_cmd mmf_cmd_conform = {
	"conform", "check an implementation against the host kernel on generated programs",
	conform_main,
};
