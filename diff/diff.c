// SPDX-License-Identifier: MIT
/*
 * diff/diff.c - the differential engine: one program, several
 * implementations, op by op; the first divergence, with a stable signature.
 *
 * Rules are written down once, in diff/diff.h.  The signature is
 *     diff:<op>:ret | diff:<op>:signal | diff:<op>:value
 *     diff:<op>:snapshot:<what>     (<what> from mmf_snap_equal: procs, vma,
 *                                    page, value, files, fsize, fpage, fvalue)
 * where <op> is the op's name (for a snapshot: the last op run before it).
 * No global state, no exit: everything lives in the report.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "diff.h"

void mmf_diff_report_init(struct mmf_diff_report *r)
{
	memset(r, 0, sizeof(*r));
	r->op_index = -1;
	mmf_snap_init(&r->snap_a);
	mmf_snap_init(&r->snap_b);
}

void mmf_diff_report_free(struct mmf_diff_report *r)
{
	mmf_snap_free(&r->snap_a);
	mmf_snap_free(&r->snap_b);
	mmf_diff_report_init(r);
}

const char *mmf_diff_res_str(enum mmf_op_kind kind, const struct mmf_res *r,
			     char *buf, size_t len)
{
	if (!r->sig && r->ret == MMF_RES_SKIPPED)
		snprintf(buf, len, "skipped (not checkable)");
	else if (!r->sig && r->ret == MMF_RES_HARNESS)
		snprintf(buf, len, "harness error");
	else
		mmf_res_str(kind, r, buf, len);
	return buf;
}

/* The <what> of a snapshot difference: the word before ':' in the reason. */
static void snap_what(const char *why, char *what, size_t len)
{
	size_t n = 0;

	while (why[n] && why[n] != ':' && n + 1 < len) {
		what[n] = why[n];
		n++;
	}
	what[n] = 0;
	if (!n)
		snprintf(what, len, "unknown");
}

/* Which field of the first differing VMA (for people; not in the signature). */
static const char *vma_field(const struct mmf_snap_vma *a, const struct mmf_snap_vma *b)
{
	if (a->start != b->start)
		return "vma.start";
	if (a->end != b->end)
		return "vma.end";
	if (a->prot != b->prot)
		return "vma.prot";
	if (a->flags != b->flags)
		return "vma.flags";
	if (a->file != b->file)
		return "vma.file";
	if (a->pgoff != b->pgoff)
		return "vma.pgoff";
	if (a->has_name != b->has_name || memcmp(a->name, b->name, sizeof(a->name)))
		return "vma.name";
	return NULL;
}

const char *mmf_diff_snap_field(const struct mmf_snap *a, const struct mmf_snap *b)
{
	uint32_t n = a->nr_procs < b->nr_procs ? a->nr_procs : b->nr_procs;

	for (uint32_t i = 0; i < n; i++) {
		const struct mmf_snap_proc *pa = &a->procs[i], *pb = &b->procs[i];
		uint32_t m = pa->nr_vmas < pb->nr_vmas ? pa->nr_vmas : pb->nr_vmas;

		if (pa->pid != pb->pid)
			return "procs";
		for (uint32_t j = 0; j < m; j++) {
			const char *f = vma_field(&pa->vmas[j], &pb->vmas[j]);

			if (f)
				return f;
		}
		if (pa->nr_vmas != pb->nr_vmas)
			return "vma.count";
		m = pa->nr_pages < pb->nr_pages ? pa->nr_pages : pb->nr_pages;
		for (uint32_t j = 0; j < m; j++) {
			if (pa->pages[j].addr != pb->pages[j].addr)
				return "page";
			if (pa->pages[j].value != pb->pages[j].value)
				return "value";
		}
		if (pa->nr_pages != pb->nr_pages)
			return "page.count";
	}
	if (a->nr_procs != b->nr_procs)
		return "procs";
	n = a->nr_files < b->nr_files ? a->nr_files : b->nr_files;
	for (uint32_t i = 0; i < n; i++) {
		const struct mmf_snap_file *fa = &a->files[i], *fb = &b->files[i];
		uint32_t m = fa->nr_pages < fb->nr_pages ? fa->nr_pages : fb->nr_pages;

		if (fa->fid != fb->fid)
			return "files";
		if (fa->size != fb->size)
			return "fsize";
		for (uint32_t j = 0; j < m; j++) {
			if (fa->pages[j].index != fb->pages[j].index)
				return "fpage";
			if (fa->pages[j].value != fb->pages[j].value)
				return "fvalue";
		}
		if (fa->nr_pages != fb->nr_pages)
			return "fpage.count";
	}
	if (a->nr_files != b->nr_files)
		return "files";
	return NULL;
}

static bool is_skipped(const struct mmf_res *r)
{
	return !r->sig && r->ret == MMF_RES_SKIPPED;
}

static bool is_harness(const struct mmf_res *r)
{
	return !r->sig && r->ret == MMF_RES_HARNESS;
}

/*
 * What an op may change in w: its state_hash (hidden state too), else the
 * hash of its snapshot.
 */
static uint64_t world_hash(const struct mmf_impl *impl, struct mmf_world *w)
{
	struct mmf_snap s;
	uint64_t h;

	if (impl->state_hash)
		return impl->state_hash(w);
	mmf_snap_init(&s);
	impl->snapshot(w, &s);
	h = mmf_snap_hash(&s);
	mmf_snap_free(&s);
	return h;
}

static void kernel_error_text(const struct mmf_impl *impl, struct mmf_world *w,
			      char *buf, size_t len)
{
	const char *e = impl == &mmf_kernel ? mmf_kernel_error(w) : "";

	snprintf(buf, len, "%s: %s", impl->name, e && *e ? e : "implementation failed");
}

struct run {
	const struct mmf_prog *prog;
	const struct mmf_impl *const *impls;
	int n;
	struct mmf_world *w[MMF_DIFF_MAX_IMPLS];
	struct mmf_res res[MMF_DIFF_MAX_IMPLS];
	/* world_hash before the op; only kept when some implementation skips it */
	bool have_before[MMF_DIFF_MAX_IMPLS];
	uint64_t before[MMF_DIFF_MAX_IMPLS];
	int nr_may_skip;
	const struct mmf_diff_opts *opts;
	struct mmf_diff_report *rep;
	/* one snapshot per implementation, refilled at every snapshot point
	 * (mmf_snap_reset keeps the buffers), freed when the run ends; not kept
	 * from run to run: their capacity would make snapshot.c's branches
	 * depend on earlier inputs (AFL++ stability, ctest afl_stability) */
	struct mmf_snap s[MMF_DIFF_MAX_IMPLS];
};

/*
 * Run op on every world: first those that may skip it, then the others.
 * Once one has skipped it, the state of each world still to run it is
 * hashed before it does, so that compare_results can tell whether the op
 * changed it.  When a run has two may_skip implementations, those are
 * hashed before every op (one may run it before the other skips it).  So
 * a run whose ops nobody skips, with at most one may_skip implementation
 * (diff_fuzzer's have none), hashes nothing.
 */
static void exec_op(struct run *r, const struct mmf_op *op)
{
	bool skipped = false;

	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < r->n; k++) {
			const struct mmf_impl *impl = r->impls[k];

			if (impl->may_skip != (pass == 0))
				continue;
			r->have_before[k] = skipped || (impl->may_skip && r->nr_may_skip > 1);
			if (r->have_before[k])
				r->before[k] = world_hash(impl, r->w[k]);
			memset(&r->res[k], 0, sizeof(r->res[k]));
			impl->exec(r->w[k], op, &r->res[k]);
			skipped |= is_skipped(&r->res[k]);
		}
	}
}

static void set_op(struct run *r, int i)
{
	r->rep->op_index = i;
	if (i >= 0)
		r->rep->op = r->prog->ops[i];
}

/* Compare snapshots after op i (-1: before any op).  Returns true if equal. */
static bool compare_snaps(struct run *r, int i)
{
	struct mmf_diff_report *rep = r->rep;
	struct mmf_snap *s = r->s;
	bool same = true;
	int bad = -1;

	for (int k = 0; k < r->n; k++) {
		mmf_snap_reset(&s[k]);
		r->impls[k]->snapshot(r->w[k], &s[k]);
		if (r->impls[k] == &mmf_kernel && *mmf_kernel_error(r->w[k]))
			bad = k;
	}
	rep->snaps_compared++;
	if (bad >= 0) {
		rep->status = MMF_DIFF_ERROR;
		set_op(r, i);
		kernel_error_text(r->impls[bad], r->w[bad], rep->what, sizeof(rep->what));
		snprintf(rep->sig, sizeof(rep->sig), "error:%s:snapshot", r->impls[bad]->name);
		same = false;
		goto out;
	}
	for (int k = 1; k < r->n && same; k++) {
		char why[400], what[32];

		if (mmf_snap_equal(&s[0], &s[k], why, sizeof(why)))
			continue;
		same = false;
		snap_what(why, what, sizeof(what));
		rep->status = MMF_DIFF_DIVERGED;
		set_op(r, i);
		rep->impl_a = 0;
		rep->impl_b = k;
		if (i >= 0) {
			rep->res_a = r->res[0];
			rep->res_b = r->res[k];
		}
		rep->have_snaps = true;
		snprintf(rep->sig, sizeof(rep->sig), "diff:%s:snapshot:%s",
			 i >= 0 ? mmf_op_name(r->prog->ops[i].kind) : "start", what);
		{
			const char *f = mmf_diff_snap_field(&s[0], &s[k]);

			snprintf(rep->what, sizeof(rep->what), "snapshot differs (%s): %s",
				 f ? f : what, why);
		}
		/* the report takes these two */
		rep->snap_a = s[0];
		rep->snap_b = s[k];
		mmf_snap_init(&s[0]);
		mmf_snap_init(&s[k]);
	}
out:
	return same;
}

const char *mmf_diff_res_cmp(enum mmf_op_kind kind, const struct mmf_res *a,
			     const struct mmf_res *b)
{
	bool has_value = kind == MMF_OP_READ || kind == MMF_OP_FILE_READ;

	if (a->sig != b->sig || a->si_code != b->si_code)
		return "signal";
	if (a->ret != b->ret)
		return "ret";
	/* a file_read that read nothing (ret 0) has no value to compare */
	if (has_value && a->value != b->value && (kind == MMF_OP_READ || a->ret > 0))
		return "value";
	return NULL;
}

/* Compare the results of op i; false (and the report filled) to stop. */
static bool compare_results(struct run *r, int i)
{
	const struct mmf_op *op = &r->prog->ops[i];
	struct mmf_diff_report *rep = r->rep;
	int skipped = -1, changed = -1, unknown = -1;

	for (int k = 0; k < r->n; k++) {
		if (is_harness(&r->res[k])) {
			rep->status = MMF_DIFF_ERROR;
			set_op(r, i);
			rep->impl_a = rep->impl_b = k;
			rep->res_a = rep->res_b = r->res[k];
			kernel_error_text(r->impls[k], r->w[k], rep->what, sizeof(rep->what));
			snprintf(rep->sig, sizeof(rep->sig), "error:%s:%s", r->impls[k]->name,
				 mmf_op_name(op->kind));
			return false;
		}
		if (is_skipped(&r->res[k]))
			skipped = skipped < 0 ? k : skipped;
	}
	if (skipped >= 0) {
		rep->ops_skipped++;
		for (int k = 0; k < r->n && changed < 0; k++) {
			if (is_skipped(&r->res[k]))
				continue;
			if (!r->have_before[k])
				unknown = k;
			else if (world_hash(r->impls[k], r->w[k]) != r->before[k])
				changed = k;
		}
		if (changed < 0 && unknown >= 0) {
			/* it ran before a skip nobody announced: its state before is lost */
			rep->status = MMF_DIFF_ERROR;
			set_op(r, i);
			rep->impl_a = rep->impl_b = skipped;
			rep->res_a = rep->res_b = r->res[skipped];
			snprintf(rep->what, sizeof(rep->what),
				 "%s skipped an op but is not may_skip", r->impls[skipped]->name);
			snprintf(rep->sig, sizeof(rep->sig), "error:%s:undeclared-skip",
				 r->impls[skipped]->name);
			return false;
		}
		if (changed >= 0) {
			rep->status = MMF_DIFF_INCOMPARABLE;
			set_op(r, i);
			rep->impl_a = changed;
			rep->impl_b = skipped;
			rep->res_a = r->res[changed];
			rep->res_b = r->res[skipped];
			snprintf(rep->what, sizeof(rep->what),
				 "%s could not check this op, which changed the state of %s: the worlds are no longer comparable",
				 r->impls[skipped]->name, r->impls[changed]->name);
			snprintf(rep->sig, sizeof(rep->sig), "skip:%s:%s",
				 mmf_op_name(op->kind), r->impls[skipped]->name);
			return false;
		}
		return true;
	}
	rep->ops_compared++;
	for (int k = 1; k < r->n; k++) {
		const struct mmf_res *a = &r->res[0], *b = &r->res[k];
		const char *what = mmf_diff_res_cmp(op->kind, a, b);
		char ra[64], rb[64];

		if (!what)
			continue;
		rep->status = MMF_DIFF_DIVERGED;
		set_op(r, i);
		rep->impl_a = 0;
		rep->impl_b = k;
		rep->res_a = *a;
		rep->res_b = *b;
		snprintf(rep->sig, sizeof(rep->sig), "diff:%s:%s", mmf_op_name(op->kind), what);
		snprintf(rep->what, sizeof(rep->what), "%s: %s | %s: %s",
			 r->impls[0]->name, mmf_diff_res_str(op->kind, a, ra, sizeof(ra)),
			 r->impls[k]->name, mmf_diff_res_str(op->kind, b, rb, sizeof(rb)));
		return false;
	}
	return true;
}

/* One run of prog, every world made with cfg. */
static enum mmf_diff_status run_in_worlds(const struct mmf_prog *prog,
					  const struct mmf_impl *const impls[], int n,
					  const struct mmf_diff_opts *opts,
					  const struct mmf_config *cfg,
					  struct mmf_diff_report *rep)
{
	struct run r;
	bool ok = true;

	mmf_diff_report_free(rep);
	memset(&r, 0, sizeof(r));
	r.prog = prog;
	r.impls = impls;
	r.n = n;
	r.opts = opts;
	r.rep = rep;
	if (n < 2 || n > MMF_DIFF_MAX_IMPLS) {
		rep->status = MMF_DIFF_ERROR;
		snprintf(rep->what, sizeof(rep->what), "mmf_diff_run: %d implementations (2..%d)",
			 n, MMF_DIFF_MAX_IMPLS);
		snprintf(rep->sig, sizeof(rep->sig), "error:usage");
		return rep->status;
	}
	for (int k = 0; k < n; k++) {
		r.nr_may_skip += impls[k]->may_skip;
		r.w[k] = impls[k]->world_new(cfg);
		if (!r.w[k]) {
			rep->status = MMF_DIFF_ERROR;
			snprintf(rep->what, sizeof(rep->what), "%s: world_new failed", impls[k]->name);
			snprintf(rep->sig, sizeof(rep->sig), "error:%s:world_new", impls[k]->name);
			goto out;
		}
	}
	for (uint32_t i = 0; i < prog->nr_ops && ok; i++) {
		const struct mmf_op *op = &prog->ops[i];
		bool snap;

		exec_op(&r, op);
		rep->ops_run++;
		if (opts->trace) {
			char buf[512], rb[64];

			fprintf(opts->trace, "%4u  %-56s", i, mmf_op_format(op, buf, sizeof(buf)));
			for (int k = 0; k < n; k++)
				fprintf(opts->trace, "  %s=%s", impls[k]->name,
					mmf_diff_res_str(op->kind, &r.res[k], rb, sizeof(rb)));
			fputc('\n', opts->trace);
		}
		ok = compare_results(&r, (int)i);
		if (!ok)
			break;
		snap = opts->snap_every_op || op->kind == MMF_OP_FORK || op->kind == MMF_OP_EXIT ||
		       i + 1 == prog->nr_ops;
		if (snap)
			ok = compare_snaps(&r, (int)i);
	}
	if (ok && prog->nr_ops == 0)
		compare_snaps(&r, -1);
out:
	for (int k = 0; k < n; k++) {
		if (r.w[k])
			impls[k]->world_free(r.w[k]);
		mmf_snap_free(&r.s[k]);
	}
	return rep->status;
}

enum mmf_diff_status mmf_diff_run(const struct mmf_prog *prog,
				  const struct mmf_impl *const impls[], int n,
				  const struct mmf_diff_opts *opts,
				  struct mmf_diff_report *rep)
{
	static const struct mmf_diff_opts defaults;
	struct mmf_config pkey = { 0 };
	struct mmf_diff_report first;

	if (!opts)
		opts = &defaults;
	if (run_in_worlds(prog, impls, n, opts, opts->cfg, rep) != MMF_DIFF_SAME ||
	    !opts->both_pkey_worlds || (opts->cfg && opts->cfg->exec_only_pkey) ||
	    !mmf_prog_asks_exec_only(prog))
		return rep->status;
	/* the same program on x86 with protection keys; the counts add up */
	if (opts->cfg)
		pkey = *opts->cfg;
	pkey.exec_only_pkey = true;
	first = *rep;
	run_in_worlds(prog, impls, n, opts, &pkey, rep);
	rep->exec_only_pkey = true;
	rep->ops_run += first.ops_run;
	rep->ops_compared += first.ops_compared;
	rep->ops_skipped += first.ops_skipped;
	rep->snaps_compared += first.snaps_compared;
	return rep->status;
}

void mmf_diff_report_print(FILE *out, const struct mmf_diff_report *rep,
			   const struct mmf_impl *const impls[])
{
	static const char *const status[] = {
		[MMF_DIFF_SAME] = "same",
		[MMF_DIFF_DIVERGED] = "diverged",
		[MMF_DIFF_INCOMPARABLE] = "incomparable",
		[MMF_DIFF_ERROR] = "error",
	};
	char buf[512], ra[64], rb[64];
	const char *na = impls ? impls[rep->impl_a]->name : "a";
	const char *nb = impls ? impls[rep->impl_b]->name : "b";

	fprintf(out, "mmfuzz: %s after %u ops (%u compared, %u skipped, %u snapshots)\n",
		status[rep->status], rep->ops_run, rep->ops_compared, rep->ops_skipped,
		rep->snaps_compared);
	if (rep->status == MMF_DIFF_SAME)
		return;
	if (rep->exec_only_pkey)
		fprintf(out, "mmfuzz: in worlds with exec_only_pkey (x86 protection keys: PROT_EXEC "
			"alone is execute-only); `mmfuzz run --exec-only-pkey` runs one\n");
	fprintf(out, "mmfuzz: %s\n", rep->sig);
	if (rep->op_index >= 0) {
		fprintf(out, "mmfuzz: op #%d: %s\n", rep->op_index,
			mmf_op_format(&rep->op, buf, sizeof(buf)));
		if (rep->status != MMF_DIFF_ERROR || impls) {
			fprintf(out, "mmfuzz:   %-10s %s\n", na,
				mmf_diff_res_str(rep->op.kind, &rep->res_a, ra, sizeof(ra)));
			if (rep->impl_b != rep->impl_a)
				fprintf(out, "mmfuzz:   %-10s %s\n", nb,
					mmf_diff_res_str(rep->op.kind, &rep->res_b, rb, sizeof(rb)));
		}
	}
	if (rep->what[0])
		fprintf(out, "mmfuzz: %s\n", rep->what);
	if (rep->have_snaps) {
		fprintf(out, "mmfuzz: ---- snapshot: %s ----\n", na);
		mmf_snap_print(out, &rep->snap_a);
		fprintf(out, "mmfuzz: ---- snapshot: %s ----\n", nb);
		mmf_snap_print(out, &rep->snap_b);
	}
}

/*
 * Would a read of addr in process proc fault in a fresh private anon page?
 * 0: no; 1: yes, in a writable VMA; 2: yes, in a VMA without PROT_WRITE.
 */
static int untouched_private_anon(const struct mmf_snap *s, int proc, uint64_t addr)
{
	const struct mmf_snap_proc *p = NULL;
	uint64_t page = addr & MMF_PAGE_MASK;

	for (uint32_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == proc)
			p = &s->procs[i];
	if (!p)
		return false;
	for (uint32_t i = 0; i < p->nr_pages; i++)
		if (p->pages[i].addr == page)
			return false;	/* already present */
	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		const struct mmf_snap_vma *v = &p->vmas[i];

		if (addr < v->start || addr >= v->end)
			continue;
		if (v->file != MMF_FILE_ANON || (v->flags & MMF_VMA_SHARED) ||
		    !(v->prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
			return 0;
		return v->prot & PROT_WRITE ? 1 : 2;
	}
	return 0;
}

int mmf_diff_zero_page_variant(const struct mmf_prog *prog, const struct mmf_impl *model,
			       struct mmf_prog *out)
{
	struct mmf_world *w = model->world_new(NULL);
	int rewritten = 0;

	out->nr_ops = 0;
	for (uint32_t i = 0; i < prog->nr_ops; i++) {
		struct mmf_op op = prog->ops[i];
		struct mmf_res res;

		if (w && op.kind == MMF_OP_READ) {
			struct mmf_snap s;
			int u;

			mmf_snap_init(&s);
			model->snapshot(w, &s);
			u = untouched_private_anon(&s, op.proc, op.addr);
			mmf_snap_free(&s);
			if (u == 2) {
				rewritten++;
				continue;	/* cannot write there: drop the read */
			}
			if (u == 1) {
				op.kind = MMF_OP_WRITE;
				op.addr &= MMF_PAGE_MASK;
				op.value = 0;
				rewritten++;
			}
		}
		mmf_prog_append(out, &op);
		if (w) {
			memset(&res, 0, sizeof(res));
			model->exec(w, &op, &res);
		}
	}
	if (w)
		model->world_free(w);
	return rewritten;
}

/*
 * invariant:NAME from an implementation checker's message "NAME: what"
 * (core/check.c, reference/world.c): one naming for every tool.
 */
void mmf_invariant_sig(char *sig, size_t len, const char *msg)
{
	char name[64];
	size_t n = 0;

	while (msg[n] && n + 1 < sizeof(name) && msg[n] != ':' && !isspace((unsigned char)msg[n])) {
		unsigned char c = (unsigned char)msg[n];

		name[n] = (isalnum(c) || c == '_' || c == '-' || c == '.') ? (char)c : '_';
		n++;
	}
	name[n] = '\0';
	snprintf(sig, len, "invariant:%s", n ? name : "unnamed");
}
