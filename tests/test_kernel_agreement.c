/* SPDX-License-Identifier: MIT */
/*
 * tests/test_kernel_agreement.c - the differential engine and the host
 * kernel backend (diff/).  Deterministic: fixed programs and seeds.
 *
 *  1. the engine on two reference worlds and on mutants of the reference
 *     (signatures diff:<op>:value / ret / signal / snapshot:<what>, the
 *     skip rules);
 *  2. the kernel backend on hand-written programs with the results Linux
 *     gives (values, SIGSEGV/MAPERR, ACCERR, SIGBUS past EOF, fork COW,
 *     DONTFORK, WIPEONFORK, exit, files, what is skipped);
 *  3. the kernel against itself on generated programs (determinism);
 *  4. the reference against the kernel on generated kernel-mode programs
 *     (on a host without the zero page, with mmf_diff_zero_page_variant).
 *
 * Parts 2-4 are skipped (with a note) where the kernel backend cannot run
 * (e.g. under TSan if its window collides).  Last line: "N passed, N failed".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diff.h"

static int parse(struct mmf_prog *p, const char *text)
{
	char err[256];

	mmf_prog_init(p);
	if (mmf_prog_parse(p, text, strlen(text), "case", err, sizeof(err))) {
		printf("FAIL parse: %s\n", err);
		failed++;
		return -1;
	}
	return 0;
}

/* ---- mutants of the reference, to see the engine catch differences ---- */

enum { MUT_NONE, MUT_READ_VALUE, MUT_MUNMAP_RET, MUT_WRITE_SIGNAL, MUT_SWALLOW_WRITE,
       MUT_SKIP_MPROTECT, MUT_SKIP_MADVISE, MUT_SKIP_MUNMAP };
static int mutation;	/* the test is single-threaded; only the mutant reads it */

static struct mmf_world *mut_new(const struct mmf_config *c) { return mmf_reference.world_new(c); }
static void mut_free(struct mmf_world *w) { mmf_reference.world_free(w); }
static void mut_snapshot(struct mmf_world *w, struct mmf_snap *s) { mmf_reference.snapshot(w, s); }

static void mut_exec(struct mmf_world *w, const struct mmf_op *op, struct mmf_res *res)
{
	if (mutation == MUT_SWALLOW_WRITE && op->kind == MMF_OP_WRITE) {
		memset(res, 0, sizeof(*res));
		return;
	}
	if ((mutation == MUT_SKIP_MPROTECT && op->kind == MMF_OP_MPROTECT) ||
	    (mutation == MUT_SKIP_MADVISE && op->kind == MMF_OP_MADVISE) ||
	    (mutation == MUT_SKIP_MUNMAP && op->kind == MMF_OP_MUNMAP)) {
		memset(res, 0, sizeof(*res));
		res->ret = MMF_RES_SKIPPED;
		return;
	}
	mmf_reference.exec(w, op, res);
	if (mutation == MUT_READ_VALUE && op->kind == MMF_OP_READ && !res->sig)
		res->value ^= 1;
	if (mutation == MUT_MUNMAP_RET && op->kind == MMF_OP_MUNMAP)
		res->ret = -22;
	if (mutation == MUT_WRITE_SIGNAL && op->kind == MMF_OP_WRITE) {
		res->sig = SIGSEGV;
		res->si_code = SEGV_ACCERR;
	}
}

static const struct mmf_impl mutant = {
	.name = "mutant", .world_new = mut_new, .world_free = mut_free,
	.exec = mut_exec, .snapshot = mut_snapshot, .may_skip = true,
};

/* the same, but it does not say it may skip */
static const struct mmf_impl mutant_undeclared = {
	.name = "mutant", .world_new = mut_new, .world_free = mut_free,
	.exec = mut_exec, .snapshot = mut_snapshot,
};

static const char engine_prog[] =
	"mmap p0 0x10000 0x4000 rw- private anon fixed\n"
	"write p0 0x10000 0x2a\n"
	"read p0 0x10000\n"
	"mprotect p0 0x11000 0x1000 r--\n"
	"munmap p0 0x13000 0x1000\n"
	"fork p0\n";

static const char engine_prog_noread[] =
	"mmap p0 0x10000 0x4000 rw- private anon fixed\n"
	"write p0 0x10000 0x2a\n"
	"mprotect p0 0x11000 0x1000 r--\n"
	"fork p0\n"
	"munmap p0 0x13000 0x1000\n";

/*
 * A failed op with side effects: the madvise over a hole marks both VMAs
 * DONTCOPY and returns -ENOMEM (as Linux does).  Skipped by the mutant, it
 * makes the worlds incomparable; the old rule (an op had an effect iff it
 * succeeded) went on, and reported the fork's snapshot as a divergence.
 */
static const char engine_prog_failed_effect[] =
	"mmap p0 0x10000 0x3000 rw- private anon fixed\n"
	"munmap p0 0x11000 0x1000\n"
	"madvise p0 0x10000 0x3000 dontfork\n"
	"fork p0\n";

/*
 * A successful op without effect: munmap of a hole returns 0.  Skipped by
 * the mutant, the worlds stay comparable (the old rule stopped there).
 */
static const char engine_prog_noop_success[] =
	"mmap p0 0x10000 0x3000 rw- private anon fixed\n"
	"write p0 0x10000 0x2a\n"
	"munmap p0 0x20000 0x1000\n"
	"fork p0\n"
	"read p1 0x10000\n";

static void engine_case_on(const struct mmf_impl *other, const char *text, int mut,
			   enum mmf_diff_status want, const char *sig, int op_index)
{
	const struct mmf_impl *impls[2] = { &mmf_reference, other };
	struct mmf_diff_report rep;
	struct mmf_prog p;

	if (parse(&p, text))
		return;
	mutation = mut;
	mmf_diff_report_init(&rep);
	mmf_diff_run(&p, impls, 2, NULL, &rep);
	CHECK(rep.status == want, "mutation %d: status %d, want %d (%s)", mut, rep.status, want,
	      rep.sig);
	if (sig)
		CHECK(!strcmp(rep.sig, sig), "mutation %d: signature '%s', want '%s'", mut,
		      rep.sig, sig);
	if (op_index >= 0)
		CHECK(rep.op_index == op_index, "mutation %d: op %d, want %d", mut, rep.op_index,
		      op_index);
	mmf_diff_report_free(&rep);
	mmf_prog_free(&p);
	mutation = MUT_NONE;
}

static void engine_case(const char *text, int mut, enum mmf_diff_status want, const char *sig,
			int op_index)
{
	engine_case_on(&mutant, text, mut, want, sig, op_index);
}

static void test_engine(void)
{
	engine_case(engine_prog, MUT_NONE, MMF_DIFF_SAME, NULL, -1);
	engine_case(engine_prog, MUT_READ_VALUE, MMF_DIFF_DIVERGED, "diff:read:value", 2);
	engine_case(engine_prog, MUT_MUNMAP_RET, MMF_DIFF_DIVERGED, "diff:munmap:ret", 4);
	engine_case(engine_prog, MUT_WRITE_SIGNAL, MMF_DIFF_DIVERGED, "diff:write:signal", 1);
	/* a swallowed write: the read after it sees the difference first */
	engine_case(engine_prog, MUT_SWALLOW_WRITE, MMF_DIFF_DIVERGED, "diff:read:value", 2);
	/* ... or, without that read, the snapshot taken after fork */
	engine_case(engine_prog_noread, MUT_SWALLOW_WRITE, MMF_DIFF_DIVERGED,
		    "diff:fork:snapshot:page", 3);
	/* a skipped op that changed the other side stops the comparison */
	engine_case(engine_prog, MUT_SKIP_MPROTECT, MMF_DIFF_INCOMPARABLE, "skip:mprotect:mutant", 3);
	/* the state decides, not the result: a failed op that changed it ... */
	engine_case(engine_prog_failed_effect, MUT_SKIP_MADVISE, MMF_DIFF_INCOMPARABLE,
		    "skip:madvise:mutant", 2);
	/* ... and a successful one that did not (the first munmap did) */
	engine_case(engine_prog_noop_success, MUT_SKIP_MUNMAP, MMF_DIFF_SAME, NULL, -1);
	engine_case(engine_prog_failed_effect, MUT_SKIP_MUNMAP, MMF_DIFF_INCOMPARABLE,
		    "skip:munmap:mutant", 1);
	/* a skip from an implementation that is not may_skip: the reference ran
	 * the op first, unhashed, so whether it changed is unknown */
	engine_case_on(&mutant_undeclared, engine_prog_noop_success, MUT_SKIP_MUNMAP,
		       MMF_DIFF_ERROR, "error:mutant:undeclared-skip", 2);
}

/* ---- the kernel backend on hand-written programs ---- */

struct kcase {
	const char *name;
	const char *text;
	const char *results[24];	/* mmf_diff_res_str of each op */
	const char *snapshot;		/* mmf_snap_print output, or NULL */
};

static const struct kcase kcases[] = {
	{ "anon values and faults",
	  "mmap p0 0x10000 0x4000 rw- private anon fixed\n"
	  "write p0 0x10000 0x2a\n"
	  "read p0 0x10000\n"
	  "read p0 0x14000\n"
	  "mprotect p0 0x11000 0x1000 r--\n"
	  "write p0 0x11000 1\n"
	  "read p0 0x11000\n"
	  "mmap p0 0x12000 0x1000 rw- private anon noreplace\n",
	  { "0x10000", "0", "0x2a", "SIGSEGV/MAPERR", "0", "SIGSEGV/ACCERR", "0x0", "-EEXIST" },
	  NULL },
	{ "fork: COW, dontfork, wipeonfork, exit",
	  "mmap p0 0x10000 0x3000 rw- private anon fixed\n"
	  "write p0 0x10000 1\n"
	  "write p0 0x11000 2\n"
	  "write p0 0x12000 3\n"
	  "madvise p0 0x11000 0x1000 dontfork\n"
	  "madvise p0 0x12000 0x1000 wipeonfork\n"
	  "fork p0\n"
	  "write p1 0x10000 9\n"
	  "read p0 0x10000\n"
	  "read p1 0x11000\n"
	  "read p1 0x12000\n"
	  "exit p0\n"
	  "read p1 0x10000\n",
	  { "0x10000", "0", "0", "0", "0", "0", "p1", "0", "0x1", "SIGSEGV/MAPERR", "0x0", "0",
	    "0x9" },
	  /* the read of the wiped page faulted it in again (zero page or not) */
	  "p1: 2 vmas, 2 pages\n"
	  "  00010000-00011000 rw-p 00000000 anon\n"
	  "  00012000-00013000 rw-p 00000000 anon wf\n"
	  "  page 00010000 = 0x9\n"
	  "  page 00012000 = 0x0\n" },
	{ "files: shared mapping, truncate, SIGBUS",
	  "file_create 0x2000\n"
	  "mmap p0 0x20000 0x2000 rw- shared f0 fixed\n"
	  "write p0 0x21000 0x77\n"
	  "file_read f0 1\n"
	  "file_write f0 0 0x55\n"
	  "read p0 0x20000\n"
	  "truncate f0 0x1000\n"
	  "read p0 0x21000\n"
	  "file_read f0 1\n"
	  "truncate f9 0\n",
	  { "f0", "0x20000", "0", "0x77", "8", "0x55", "0", "SIGBUS/ADRERR", "eof", "-EBADF" },
	  "p0: 1 vmas, 1 pages\n"
	  "  00020000-00022000 rw-s 00000000 f0\n"
	  "  page 00020000 = 0x55\n"
	  "f0: size 0x1000, 1 cached pages\n"
	  "  page 0 = 0x55\n" },
	{ "shared anon and growsdown",
	  "mmap p0 0x30000 0x2000 rw- shared anon fixed\n"
	  "write p0 0x31000 5\n"
	  "fork p0\n"
	  "read p1 0x31000\n"
	  "mmap p0 0x800000 0x1000 rw- private anon fixed growsdown\n"
	  "write p0 0x7ff000 6\n"
	  "read p0 0x7ff000\n",
	  { "0x30000", "0", "p1", "0x5", "0x800000", "0", "0x6" },
	  NULL },
	{ "not checkable here: skipped",
	  "mmap p0 0 0x1000 rw- private anon\n"
	  "mmap p0 0x1000 0x1000 rw- private anon fixed\n"
	  "munmap p0 0xfffff000 0x2000\n"
	  "read p0 0x100000000\n"
	  "read p5 0x10000\n",
	  { "skipped (not checkable)", "skipped (not checkable)", "skipped (not checkable)",
	    "skipped (not checkable)", "-ESRCH" },
	  NULL },
};

static void test_kernel_cases(void)
{
	for (size_t c = 0; c < sizeof(kcases) / sizeof(kcases[0]); c++) {
		const struct kcase *k = &kcases[c];
		struct mmf_world *w;
		struct mmf_prog p;

		if (parse(&p, k->text))
			continue;
		w = mmf_kernel.world_new(NULL);
		CHECK(w != NULL, "%s: world_new", k->name);
		if (!w) {
			mmf_prog_free(&p);
			continue;
		}
		for (uint32_t i = 0; i < p.nr_ops; i++) {
			struct mmf_res r;
			char got[64], text[512];

			memset(&r, 0, sizeof(r));
			mmf_kernel.exec(w, &p.ops[i], &r);
			mmf_diff_res_str(p.ops[i].kind, &r, got, sizeof(got));
			CHECK(k->results[i] && !strcmp(got, k->results[i]), "%s: op %u '%s': got %s, want %s",
			      k->name, i, mmf_op_format(&p.ops[i], text, sizeof(text)), got,
			      k->results[i] ? k->results[i] : "?");
		}
		if (k->snapshot) {
			struct mmf_snap s;
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);

			mmf_snap_init(&s);
			mmf_kernel.snapshot(w, &s);
			mmf_snap_print(f, &s);
			fclose(f);
			CHECK(!strcmp(buf, k->snapshot), "%s: snapshot\n--- got ---\n%s--- want ---\n%s",
			      k->name, buf, k->snapshot);
			free(buf);
			mmf_snap_free(&s);
		}
		CHECK(!*mmf_kernel_error(w), "%s: harness error: %s", k->name, mmf_kernel_error(w));
		mmf_kernel.world_free(w);
		mmf_prog_free(&p);
	}
}

/*
 * Execute-only memory: what the host does with PROT_EXEC alone (readable
 * without protection keys, SIGSEGV/PKUERR with them) is what the model
 * does with the host's config, and not what it does with the other one.
 */
#define XONLY_OPS 5

/* Run the exec-only program on a world of impl with cfg; results as text. */
static bool run_exec_only(const struct mmf_prog *p, const struct mmf_impl *impl,
			  const struct mmf_config *cfg, char got[XONLY_OPS][64])
{
	struct mmf_world *w = impl->world_new(cfg);

	CHECK(w != NULL, "exec-only: %s world_new", impl->name);
	if (!w)
		return false;
	for (uint32_t i = 0; i < p->nr_ops && i < XONLY_OPS; i++) {
		struct mmf_res r;

		memset(&r, 0, sizeof(r));
		impl->exec(w, &p->ops[i], &r);
		mmf_diff_res_str(p->ops[i].kind, &r, got[i], sizeof(got[i]));
	}
	impl->world_free(w);
	return true;
}

static void test_exec_only(unsigned probe)
{
	static const char text[] =
		"mmap p0 0x10000 0x1000 --x private anon fixed\n"
		"read p0 0x10000\n"
		"write p0 0x10000 0x1\n"
		"mprotect p0 0x10000 0x1000 r-x\n"
		"read p0 0x10000\n";
	bool pku = probe & MMF_KERNEL_PKU_XONLY;
	const char *want[XONLY_OPS] = { "0x10000", pku ? "SIGSEGV/PKUERR" : "0x0",
					pku ? "SIGSEGV/PKUERR" : "SIGSEGV/ACCERR", "0", "0x0" };
	struct mmf_config host = mmf_kernel_host_config(), other = { .exec_only_pkey = !pku };
	const struct mmf_impl *impls[2] = { &mmf_kernel, &mmf_reference };
	struct mmf_diff_opts opts = { .cfg = &host };
	struct mmf_diff_report rep;
	char got[XONLY_OPS][64];
	struct mmf_prog p;

	CHECK(host.exec_only_pkey == pku, "mmf_kernel_host_config agrees with the probe");
	if (parse(&p, text))
		return;
	/* the kernel, and the reference with the host's config, give want */
	for (int k = 0; k < 2; k++) {
		if (!run_exec_only(&p, impls[k], &host, got))
			continue;
		for (int i = 0; i < XONLY_OPS; i++)
			CHECK(!strcmp(got[i], want[i]), "exec-only: %s op %d: got %s, want %s",
			      impls[k]->name, i, got[i], want[i]);
	}
	/* the reference with the other config reads otherwise */
	if (run_exec_only(&p, &mmf_reference, &other, got))
		CHECK(strcmp(got[1], want[1]), "exec-only: the reference with exec_only_pkey=%d "
		      "reads %s, as this host does", other.exec_only_pkey, got[1]);
	/* a kernel world of the mode this host has not is refused */
	CHECK(mmf_kernel.world_new(&other) == NULL, "kernel world_new refuses exec_only_pkey=%d",
	      other.exec_only_pkey);
	mmf_diff_report_init(&rep);
	mmf_diff_run(&p, impls, 2, &opts, &rep);
	CHECK(rep.status == MMF_DIFF_SAME, "exec-only: kernel vs reference: %s %s", rep.sig,
	      rep.what);
	mmf_diff_report_free(&rep);
	mmf_prog_free(&p);
}

/* ---- generated programs ---- */

static void run_generated(const char *what, const struct mmf_impl *a, uint64_t seed0, int n,
			  uint32_t ops, bool rewrite)
{
	const struct mmf_impl *impls[2] = { a, &mmf_kernel };
	struct mmf_config host = mmf_kernel_host_config();
	struct mmf_diff_opts opts = { .cfg = &host };

	for (int i = 0; i < n; i++) {
		struct mmf_diff_report rep;
		struct mmf_prog g, p;

		mmf_prog_init(&g);
		mmf_prog_init(&p);
		mmf_prog_generate(&g, seed0 + (uint64_t)i, ops, MMF_DECODE_KERNEL);
		if (rewrite)
			mmf_diff_zero_page_variant(&g, a, &p);
		else
			for (uint32_t j = 0; j < g.nr_ops; j++)
				mmf_prog_append(&p, &g.ops[j]);
		mmf_diff_report_init(&rep);
		mmf_diff_run(&p, impls, 2, &opts, &rep);
		CHECK(rep.status == MMF_DIFF_SAME || rep.status == MMF_DIFF_INCOMPARABLE,
		      "%s: seed %llu: %s (op %d): %s  [mmfuzz conform --programs 1 --seed %llu --ops %u]",
		      what, (unsigned long long)(seed0 + (uint64_t)i), rep.sig, rep.op_index, rep.what,
		      (unsigned long long)(seed0 + (uint64_t)i), ops);
		mmf_diff_report_free(&rep);
		mmf_prog_free(&g);
		mmf_prog_free(&p);
	}
}

int main(void)
{
	char why[600];
	unsigned probe;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_engine();
	probe = mmf_kernel_probe(why, sizeof(why));
	if (!(probe & MMF_KERNEL_OK)) {
		printf("note: kernel backend unavailable here (%s); kernel parts skipped\n", why);
	} else {
		printf("note: host: %s, %s\n",
		       probe & MMF_KERNEL_ZERO_PAGE ? "zero page" :
		       "no zero page (reads of untouched private anon rewritten)",
		       probe & MMF_KERNEL_PKU_XONLY ?
		       "protection keys: PROT_EXEC alone is execute-only (model: exec_only_pkey)" :
		       "no protection keys: PROT_EXEC alone is readable");
		test_kernel_cases();
		test_exec_only(probe);
		run_generated("kernel vs kernel", &mmf_kernel, 100, 5, 48, false);
		run_generated("reference vs kernel", &mmf_reference, 1, 30, 64,
			      !(probe & MMF_KERNEL_ZERO_PAGE));
	}
	return CHECK_SUMMARY();
}
