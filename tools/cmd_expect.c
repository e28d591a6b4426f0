// SPDX-License-Identifier: MIT
/*
 * tools/cmd_expect.c - `mmfuzz expect`: run text programs whose ops carry
 * their expected results ("op = RESULT", prog/text.c) on the reference, the
 * core and, when mmf_kernel_probe() says it can run here, the host kernel,
 * and report every result that differs from what the program says.
 *
 * The reference and the core run each program twice: as upstream Linux,
 * and as a host without the shared zero page (mmf_config.no_zero_page),
 * so that a program's expectations are known to hold on both kinds of
 * host whichever this one is.  A program without any expectation only
 * has to run.  The kernel backend
 * runs a program only if it expects something; an op the backend cannot
 * run (MMF_RES_SKIPPED: non-fixed placement, set_name without
 * CONFIG_ANON_VMA_NAME) ends that program's kernel run with a note, since
 * the host's state may differ from then on.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mmfuzz/uapi.h"
#ifdef MMF_HAVE_DIFF
#include "diff.h"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mmfuzz expect [OPTIONS] PATH...\n"
		"\n"
		"Run text programs (PATH: a file, or a directory: its *.mmf files) on the\n"
		"reference and the core (each also as a host without the zero page) and on\n"
		"the host kernel, and check every op that ends in '= RESULT' (RESULT as\n"
		"'mmfuzz run' prints it) returns exactly that.  Each difference is printed\n"
		"as 'FILE:LINE: IMPL: OP = GOT, expected RESULT'.\n"
		"\n"
		"options:\n"
		"  --no-kernel    do not run the host kernel\n"
		"  --kernel       the host kernel must run (fail if the backend cannot)\n"
		"  -v, --verbose  print one line per program and implementation\n"
		"\n"
		"Exit status: 0 every expectation held, 1 some did not (or a program could\n"
		"not be read, or --kernel and no kernel), 2 usage error or malformed program.\n");
}

struct expect_run {
	bool verbose;
	bool kernel_guard;	/* the host has guard regions (MMF_KERNEL_GUARD) */
	unsigned checked, failed, programs;
};

/* Run p on impl; 0 if every expectation held. */
static int run_one(struct expect_run *er, const char *path, const struct mmf_prog *p,
		   const struct mmf_expect *ex, const struct mmf_impl *impl, bool no_zero_page)
{
	struct mmf_config cfg = { .no_zero_page = no_zero_page };
	char name[64];
	struct mmf_world *w = impl->world_new(&cfg);
	unsigned failed = 0, checked = 0;
	uint32_t i;

	snprintf(name, sizeof(name), "%s%s", impl->name, no_zero_page ? "/no-zero-page" : "");
	if (!w) {
		fprintf(stderr, "%s: %s: cannot create a world\n", path, name);
		er->failed++;
		return -1;
	}
	for (i = 0; i < p->nr_ops; i++) {
		char got[128], text[MMF_OP_TEXT_MAX];
		struct mmf_res res;

		memset(&res, 0, sizeof(res));
		impl->exec(w, &p->ops[i], &res);
#ifdef MMF_HAVE_DIFF
		if (res.ret == MMF_RES_SKIPPED && !res.sig) {
			if (er->verbose)
				printf("%s:%u: note: %s skips this op; the rest is not checked there\n",
				       path, ex->line[i], name);
			break;
		}
		if (res.ret == MMF_RES_HARNESS && !res.sig) {
			printf("%s:%u: %s: harness failure: %s\n", path, ex->line[i], name,
			       impl == &mmf_kernel ? mmf_kernel_error(w) : "?");
			failed++;
			break;
		}
#endif
		if (!ex->res[i][0])
			continue;
		checked++;
		mmf_res_str(p->ops[i].kind, &res, got, sizeof(got));
		if (strcmp(got, ex->res[i])) {
			printf("%s:%u: %s: %s = %s, expected %s\n", path, ex->line[i], name,
			       mmf_op_format(&p->ops[i], text, sizeof(text)), got, ex->res[i]);
			failed++;
		}
	}
	impl->world_free(w);
	if (er->verbose)
		printf("%s: %s: %u of %u expectations held\n", path, name,
		       checked - failed, checked);
	er->checked += checked;
	er->failed += failed;
	return failed ? -1 : 0;
}

static bool uses_guard_regions(const struct mmf_prog *p)
{
	for (uint32_t i = 0; i < p->nr_ops; i++)
		if (p->ops[i].kind == MMF_OP_MADVISE &&
		    (p->ops[i].advice == MADV_GUARD_INSTALL || p->ops[i].advice == MADV_GUARD_REMOVE))
			return true;
	return false;
}

static int check_file(struct expect_run *er, const char *path,
		      const struct mmf_impl *const impls[], int nr_impls, bool kernel)
{
	static struct mmf_expect ex;
	struct mmf_prog p;
	char err[512];
	int r, ret = 0;

	mmf_prog_init(&p);
	r = mmf_prog_load_expect(&p, &ex, path, err, sizeof(err));
	if (r) {
		fprintf(stderr, "mmfuzz expect: %s\n", err);
		mmf_prog_free(&p);
		return r == -2 ? MMF_EXIT_USAGE : MMF_EXIT_FAIL;
	}
	er->programs++;
	for (int k = 0; k < 2 * nr_impls; k++)
		if (run_one(er, path, &p, &ex, impls[k % nr_impls], k >= nr_impls))
			ret = MMF_EXIT_FAIL;
#ifdef MMF_HAVE_DIFF
	if (kernel && ex.nr_expected && !er->kernel_guard && uses_guard_regions(&p)) {
		printf("%s: note: the host has no guard regions (Linux < 6.15): not run on it\n",
		       path);
		kernel = false;
	}
	if (kernel && ex.nr_expected && run_one(er, path, &p, &ex, &mmf_kernel, false))
		ret = MMF_EXIT_FAIL;
#else
	(void)kernel;
#endif
	mmf_prog_free(&p);
	return ret;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.mmf in dir, in name order. */
static int check_dir(struct expect_run *er, const char *dir,
		     const struct mmf_impl *const impls[], int nr_impls, bool kernel)
{
	char **names = NULL;
	size_t nr = 0, cap = 0;
	struct dirent *d;
	int ret = 0;
	DIR *dh = opendir(dir);

	if (!dh) {
		perror(dir);
		return MMF_EXIT_FAIL;
	}
	while ((d = readdir(dh))) {
		size_t n = strlen(d->d_name);

		if (n < 5 || strcmp(d->d_name + n - 4, ".mmf"))
			continue;
		if (nr == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[nr] = malloc(strlen(dir) + n + 2);
		if (!names[nr])
			abort();
		sprintf(names[nr++], "%s/%s", dir, d->d_name);
	}
	closedir(dh);
	qsort(names, nr, sizeof(*names), name_cmp);
	for (size_t i = 0; i < nr; i++) {
		int r = check_file(er, names[i], impls, nr_impls, kernel);

		if (r > ret)
			ret = r;
		free(names[i]);
	}
	free(names);
	return ret;
}

static int expect_main(int argc, char **argv)
{
	const struct mmf_impl *impls[2];
	struct expect_run er = { 0 };
	bool no_kernel = false, need_kernel = false, kernel = false;
	int nr_impls = 0, ret = 0, nr_paths = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		}
		if (!strcmp(a, "--no-kernel"))
			no_kernel = true;
		else if (!strcmp(a, "--kernel"))
			need_kernel = true;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			er.verbose = true;
		else if (a[0] == '-' && a[1])
			return mmf_cli_usage_error("expect", "unknown option '%s'", a);
		else
			nr_paths++;
	}
	if (!nr_paths)
		return mmf_cli_usage_error("expect", "no program given");
	impls[nr_impls++] = mmf_cli_impl("reference");
	if (mmf_cli_impl("core"))
		impls[nr_impls++] = mmf_cli_impl("core");
#ifdef MMF_HAVE_DIFF
	if (!no_kernel) {
		char why[256];

		unsigned probe = mmf_kernel_probe(why, sizeof(why));

		kernel = probe & MMF_KERNEL_OK;
		er.kernel_guard = probe & MMF_KERNEL_GUARD;
		if (!kernel)
			printf("mmfuzz expect: note: the host kernel backend cannot run: %s\n", why);
	}
#endif
	if (need_kernel && !kernel) {
		fprintf(stderr, "mmfuzz expect: --kernel: the host kernel backend cannot run\n");
		return MMF_EXIT_FAIL;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (argv[i][0] == '-' && argv[i][1])
			continue;
		if (stat(argv[i], &st)) {
			perror(argv[i]);
			ret = ret > MMF_EXIT_FAIL ? ret : MMF_EXIT_FAIL;
			continue;
		}
		if (S_ISDIR(st.st_mode))
			r = check_dir(&er, argv[i], impls, nr_impls, kernel);
		else
			r = check_file(&er, argv[i], impls, nr_impls, kernel);
		if (r > ret)
			ret = r;
	}
	printf("mmfuzz expect: %u programs on %s%s (with and without zero page)%s: "
	       "%u results checked, %u differ\n",
	       er.programs, impls[0]->name, nr_impls > 1 ? ", core" : "",
	       kernel ? ", kernel" : "", er.checked, er.failed);
	if (!ret && er.failed)
		ret = MMF_EXIT_FAIL;
	return ret;
}

const struct mmf_cmd mmf_cmd_expect = {
	"expect", "check the results a program's text expects, on every implementation",
	expect_main,
};
