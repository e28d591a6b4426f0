// SPDX-License-Identifier: MIT
/*
 * fuzzers/diff_fuzzer.c - the differential fuzz target.
 *
 * Input: any bytes, decoded (totally) by mmf_prog_decode(MMF_DECODE_ANY).
 * The program runs on "lanes", each an implementation's world:
 *
 *   lane 0   the reference (mmf_reference): the specification, the baseline
 *   lane 1   the core (mmf_core) when built (MMF_HAVE_CORE); otherwise a
 *            second, independent reference world (determinism)
 *   clones   halfway through the program, every lane whose impl has
 *            ->clone is cloned; the clone runs the rest of the program and
 *            must behave exactly like the world it was cloned from
 *
 * After each op the results are compared (ret, signal, and the value of
 * reads), impl->check runs when there is one, and the snapshots are
 * compared after fork/exit and at the end -- after every op when
 * MMF_CHECK_EVERY_OP is set in the environment or at build time.  A lazy
 * snapshot mismatch is re-run with every-op snapshots so that the
 * signature names the first op whose state differs.
 *
 * The first difference gives a stable one-line signature,
 *     mmfuzz: diff:<op>:<what>      what: ret, signal, value,
 *                                         snapshot:<vma|page|value|...>,
 *                                         clone:<...> for a clone lane
 *     mmfuzz: invariant:<name>      name: the first word of check's message
 * printed after the program (text form), the op and both results, and then
 * the target abort()s.
 *
 * TEMPORARY: this file carries its own small executor until the diff engine
 * (diff/diff.h, mmf_diff_run) lands; then the lanes below go and the target
 * calls the engine, so that there is one executor.
 *
 * Nothing survives an input: every world is freed before returning, so
 * AFL++ persistent mode sees 100% stability.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"

#ifdef MMF_HAVE_CORE
extern const struct mmf_impl mmf_core;
#endif

#define MAX_LANES 4

struct lane {
	const struct mmf_impl *impl;
	struct mmf_world *w;
	int base;		/* lane this one is compared with (-1: none) */
	int clone;		/* 1 for a lane cloned mid-program */
	char label[48];
	struct mmf_res res;
};

struct run {
	const struct mmf_prog *p;
	unsigned flags;
	struct lane lanes[MAX_LANES];
	int nr;
	struct mmf_fuzz_fail *fail;
	FILE *report;
	int failed;		/* 0, or 1 = result/invariant, 2 = snapshot */
};

static int lane_add(struct run *r, const struct mmf_impl *impl, struct mmf_world *w,
		    int base, int clone, const char *label)
{
	struct lane *l;

	if (!w || r->nr >= MAX_LANES)
		return -1;
	l = &r->lanes[r->nr];
	memset(l, 0, sizeof(*l));
	l->impl = impl;
	l->w = w;
	l->base = base;
	l->clone = clone;
	snprintf(l->label, sizeof(l->label), "%s", label);
	return r->nr++;
}

/* ---- reporting ------------------------------------------------------------ */

static void report_head(struct run *r, int op)
{
	char buf[512];

	if (!r->report)
		return;
	fprintf(r->report, "mmfuzz: ---- program (%u ops) ----\n", r->p->nr_ops);
	mmf_prog_print(r->report, r->p);
	fprintf(r->report, "mmfuzz: ---- first difference ----\n");
	if (op >= 0)
		fprintf(r->report, "mmfuzz: op #%d: %s\n", op,
			mmf_op_format(&r->p->ops[op], buf, sizeof(buf)));
	else
		fprintf(r->report, "mmfuzz: before the first op\n");
}

static void set_sig(struct run *r, int op, const char *fmt, const char *a, const char *b)
{
	char what[120];
	size_t n;

	snprintf(what, sizeof(what), fmt, a, b);
	/* keep signatures one token: [a-z0-9_:.-] */
	for (n = 0; what[n]; n++) {
		unsigned char c = (unsigned char)what[n];

		if (!isalnum(c) && c != ':' && c != '_' && c != '-' && c != '.')
			what[n] = '_';
		else
			what[n] = (char)tolower(c);
	}
	snprintf(r->fail->sig, sizeof(r->fail->sig), "%s", what);
	r->fail->op = op;
}

static const char *op_name_at(const struct run *r, int op)
{
	return op >= 0 ? mmf_op_name(r->p->ops[op].kind) : "start";
}

/* ---- comparing ------------------------------------------------------------ */

static int compare_results(struct run *r, int op)
{
	enum mmf_op_kind kind = r->p->ops[op].kind;
	bool has_value = kind == MMF_OP_READ || kind == MMF_OP_FILE_READ;

	for (int i = 0; i < r->nr; i++) {
		const struct lane *l = &r->lanes[i], *b;
		const char *what = NULL;
		char ra[64], rb[64];

		if (l->base < 0)
			continue;
		b = &r->lanes[l->base];
		if (l->res.sig != b->res.sig || l->res.si_code != b->res.si_code)
			what = "signal";
		else if (l->res.ret != b->res.ret)
			what = "ret";
		else if (has_value && l->res.value != b->res.value)
			what = "value";
		if (!what)
			continue;
		set_sig(r, op, l->clone ? "diff:%s:clone:%s" : "diff:%s:%s",
			op_name_at(r, op), what);
		if (r->report) {
			report_head(r, op);
			fprintf(r->report, "mmfuzz: %-24s %s\n", b->label,
				mmf_res_str(kind, &b->res, rb, sizeof(rb)));
			fprintf(r->report, "mmfuzz: %-24s %s\n", l->label,
				mmf_res_str(kind, &l->res, ra, sizeof(ra)));
		}
		return 1;
	}
	return 0;
}

static int run_checks(struct run *r, int op)
{
	char msg[512];

	for (int i = 0; i < r->nr; i++) {
		const struct lane *l = &r->lanes[i];
		char name[64];
		size_t n = 0;

		if (!l->impl->check)
			continue;
		msg[0] = '\0';
		if (l->impl->check(l->w, msg, sizeof(msg)) == 0)
			continue;
		while (msg[n] && n + 1 < sizeof(name) && msg[n] != ':' && !isspace((unsigned char)msg[n])) {
			name[n] = msg[n];
			n++;
		}
		name[n] = '\0';
		set_sig(r, op, "invariant:%s%s", n ? name : "unnamed", "");
		if (r->report) {
			report_head(r, op);
			fprintf(r->report, "mmfuzz: %s: check: %s\n", l->label, msg);
		}
		return 1;
	}
	return 0;
}

/* Compare lane snapshots with their bases.  Returns 1 on a difference. */
static int compare_snapshots(struct run *r, int op)
{
	struct mmf_snap s[MAX_LANES];
	int ret = 0;

	for (int i = 0; i < r->nr; i++) {
		mmf_snap_init(&s[i]);
		r->lanes[i].impl->snapshot(r->lanes[i].w, &s[i]);
	}
	for (int i = 0; i < r->nr && !ret; i++) {
		const struct lane *l = &r->lanes[i];
		char why[512], what[32];
		size_t n = 0;

		if (l->base < 0 || mmf_snap_equal(&s[l->base], &s[i], why, sizeof(why)))
			continue;
		while (why[n] && why[n] != ':' && n + 1 < sizeof(what)) {
			what[n] = why[n];
			n++;
		}
		what[n] = '\0';
		set_sig(r, op, l->clone ? "diff:%s:clone:snapshot:%s" : "diff:%s:snapshot:%s",
			op_name_at(r, op), what);
		if (r->report) {
			report_head(r, op);
			fprintf(r->report, "mmfuzz: snapshot (%s | %s): %s\n",
				r->lanes[l->base].label, l->label, why);
			fprintf(r->report, "mmfuzz: ---- %s ----\n", r->lanes[l->base].label);
			mmf_snap_print(r->report, &s[l->base]);
			fprintf(r->report, "mmfuzz: ---- %s ----\n", l->label);
			mmf_snap_print(r->report, &s[i]);
		}
		ret = 1;
	}
	for (int i = 0; i < r->nr; i++)
		mmf_snap_free(&s[i]);
	return ret;
}

/* ---- running -------------------------------------------------------------- */

static void clone_lanes(struct run *r, int op)
{
	int n = r->nr;

	for (int i = 0; i < n; i++) {
		const struct lane *l = &r->lanes[i];
		char label[48];

		if (l->clone || !l->impl->clone)
			continue;
		snprintf(label, sizeof(label), "%s(clone@%d)", l->label, op);
		if (lane_add(r, l->impl, l->impl->clone(l->w), i, 1, label) < 0)
			break;
	}
}

static int run_prog(struct run *r)
{
	const struct mmf_prog *p = r->p;
	uint32_t clone_at = p->nr_ops / 2;
	struct mmf_config cfg = { 0 };

	lane_add(r, &mmf_reference, mmf_reference.world_new(&cfg), -1, 0, "reference");
#ifdef MMF_HAVE_CORE
	lane_add(r, &mmf_core, mmf_core.world_new(&cfg), 0, 0, "core");
#else
	lane_add(r, &mmf_reference, mmf_reference.world_new(&cfg), 0, 0, "reference#2");
#endif
	if (r->nr < 2) {
		fprintf(stderr, "mmfuzz: world_new failed\n");
		abort();
	}
	if (run_checks(r, -1))
		return 1;

	for (uint32_t i = 0; i < p->nr_ops; i++) {
		const struct mmf_op *op = &p->ops[i];

		if (i == clone_at && p->nr_ops >= 2) {
			int before = r->nr;

			clone_lanes(r, (int)i - 1);
			if (r->nr > before && compare_snapshots(r, (int)i - 1))
				return 2;
		}
		for (int l = 0; l < r->nr; l++) {
			memset(&r->lanes[l].res, 0, sizeof(r->lanes[l].res));
			r->lanes[l].impl->exec(r->lanes[l].w, op, &r->lanes[l].res);
		}
		if (compare_results(r, (int)i) || run_checks(r, (int)i))
			return 1;
		if ((r->flags & MMF_FUZZ_EVERY_OP) || op->kind == MMF_OP_FORK ||
		    op->kind == MMF_OP_EXIT || i + 1 == p->nr_ops)
			if (compare_snapshots(r, (int)i))
				return 2;
	}
	if (p->nr_ops == 0 && compare_snapshots(r, -1))
		return 2;
	return 0;
}

static void free_lanes(struct run *r)
{
	/* clones first: a clone may share immutable data with its origin */
	for (int i = r->nr - 1; i >= 0; i--)
		r->lanes[i].impl->world_free(r->lanes[i].w);
	r->nr = 0;
}

int mmf_fuzz_check(const struct mmf_prog *p, unsigned flags,
		   struct mmf_fuzz_fail *fail, FILE *report)
{
	struct run r;
	int ret;

	memset(&r, 0, sizeof(r));
	memset(fail, 0, sizeof(*fail));
	fail->op = -1;
	r.p = p;
	r.flags = flags;
	r.fail = fail;
	/* a lazy snapshot difference is located precisely by an every-op re-run */
	r.report = (flags & MMF_FUZZ_EVERY_OP) ? report : NULL;
	ret = run_prog(&r);
	free_lanes(&r);
	if (ret == 0)
		return 0;
	if (!(flags & MMF_FUZZ_EVERY_OP)) {
		struct mmf_fuzz_fail precise;

		if (mmf_fuzz_check(p, flags | MMF_FUZZ_EVERY_OP, &precise, report)) {
			*fail = precise;
			return 1;
		}
		/* not reproducible with every-op checks: report the lazy run */
		memset(&r, 0, sizeof(r));
		r.p = p;
		r.flags = flags;
		r.fail = fail;
		r.report = report;
		if (report)
			fprintf(report, "mmfuzz: warning: the difference disappears with every-op checks\n");
		if (run_prog(&r) == 0)
			snprintf(fail->sig, sizeof(fail->sig), "diff:nondeterministic");
		free_lanes(&r);
	}
	return 1;
}

unsigned mmf_fuzz_default_flags(void)
{
	static int flags = -1;

	if (flags < 0) {
		const char *e = getenv("MMF_CHECK_EVERY_OP");

		flags = 0;
#ifdef MMF_CHECK_EVERY_OP
		flags |= MMF_FUZZ_EVERY_OP;
#endif
		if (e && *e && strcmp(e, "0") != 0)
			flags |= MMF_FUZZ_EVERY_OP;
	}
	return (unsigned)flags;
}

/* ---- the fuzz entry point ------------------------------------------------- */

/*
 * Live statistics for scripts/campaign.sh: when MMF_FUZZ_STATS names a file,
 * "execs N ops N" is written to it about once a second (write + rename).
 */
static void stats_tick(uint32_t nr_ops)
{
	static const char *path;
	static int init;
	static uint64_t execs, ops, last;
	struct timespec ts;
	uint64_t now;

	if (!init) {
		init = 1;
		path = getenv("MMF_FUZZ_STATS");
	}
	if (!path)
		return;
	execs++;
	ops += nr_ops;
	if (execs % 64)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec;
	if (now != last) {
		char tmp[4096];
		FILE *f;

		last = now;
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "execs %" PRIu64 " ops %" PRIu64 "\n", execs, ops);
			fclose(f);
			rename(tmp, path);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmf_fuzz_fail fail;
	struct mmf_prog p;

	mmf_prog_init(&p);
	mmf_prog_decode(&p, data, size, MMF_DECODE_ANY);
	if (mmf_fuzz_check(&p, mmf_fuzz_default_flags(), &fail, stderr)) {
		fprintf(stderr, "mmfuzz: %s\n", fail.sig);
		fflush(stderr);
		abort();
	}
	stats_tick(p.nr_ops);
	mmf_prog_free(&p);
	return 0;
}
