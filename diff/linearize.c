// SPDX-License-Identifier: MIT
/*
 * diff/linearize.c - the linearizability checker: Wing & Gong's search,
 * with Lowe's memoization of failed configurations.  The contract is in
 * linearize.h.
 *
 * A *configuration* is how many ops of each thread have been placed (the
 * progress vector pos[]) and the reference world those ops, run in the
 * order placed, left behind.  Its *candidates* are the next unplaced op of
 * each thread whose call is before the earliest return among all unplaced
 * ops: any other op has some unplaced op that returned before it was
 * called, which real time says must come first.  (There is always one: the
 * next op of the thread that owns the earliest-returning unplaced op.)
 *
 * search() tries the candidates in call order.  A candidate is run on the
 * configuration's world (on a clone if another candidate will still need
 * that world: only the last one tried runs on the world itself); if the
 * reference gives the result the core gave, the search goes deeper.  A
 * configuration with every op placed succeeds when its snapshot equals
 * the core's final one.
 *
 * Memoization: a configuration that failed is recorded as (pos[], hash of
 * its world).  The set of ops placed is fixed by pos[], and equal state
 * hashes mean equal futures (mmf_impl.state_hash), so reaching it again by
 * another order of the same ops fails the same way and is cut at once.
 * Commuting ops are what makes this pay: k threads of n independent ops
 * have (kn)! / (n!)^k orders but only (n+1)^k progress vectors.
 *
 * Costs: states = reference ops executed (the budget); a configuration
 * costs one state hash, and each candidate one exec and, but for the
 * last, one clone.  The recursion is as deep as the history is long
 * (<= MMF_LIN_MAX_OPS frames of a few hundred bytes).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "linearize.h"
#include "prog_ext.h"

#define DEFAULT_MAX_STATES	1000000ULL

/* ---- memo: a set of (progress vector, state hash) ------------------------------ */

/*
 * A configuration's key: the hash of its world, and its progress vector as
 * one number (pos_key()).  A slot whose pos is 0 is empty.
 */
struct memo_key {
	uint64_t state;
	uint64_t pos;
};

struct memo {
	struct memo_key *slots;
	size_t nr, cap;		/* cap: a power of two; kept at most half full */
};

static uint64_t memo_bucket(const struct memo_key *k)
{
	/* murmur3's finalizer: every bit reaches the low (index) bits */
	uint64_t h = k->state ^ (k->pos * 0x9e3779b97f4a7c15ULL);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* The slot holding k, or the empty slot where it would go. */
static struct memo_key *memo_slot(const struct memo *m, const struct memo_key *k)
{
	size_t i = memo_bucket(k) & (m->cap - 1);

	while (m->slots[i].pos && (m->slots[i].pos != k->pos || m->slots[i].state != k->state))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static bool memo_contains(const struct memo *m, const struct memo_key *k)
{
	return m->cap && memo_slot(m, k)->pos;
}

static void memo_add(struct memo *m, const struct memo_key *k)
{
	struct memo_key *s;

	if (2 * (m->nr + 1) > m->cap) {
		struct memo old = *m;

		m->cap = old.cap ? 2 * old.cap : 1024;
		m->nr = 0;
		m->slots = calloc(m->cap, sizeof(*m->slots));
		if (!m->slots)
			abort();
		for (size_t i = 0; i < old.cap; i++) {
			if (old.slots[i].pos)
				memo_add(m, &old.slots[i]);
		}
		free(old.slots);
	}
	s = memo_slot(m, k);
	if (!s->pos) {
		*s = *k;
		m->nr++;
	}
}

/* ---- the search ------------------------------------------------------------------ */

struct lin {
	const struct mmf_impl *ref;
	const struct mmf_lin_history *h;
	const struct mmf_snap *final;
	uint64_t max_states;
	uint32_t nr_threads;
	/* each thread's ops (indices into h->ops) in call order */
	uint32_t *ops_of[MMF_LIN_MAX_THREADS];
	uint32_t nr_of[MMF_LIN_MAX_THREADS];
	/* min_ret[t][i]: the earliest return among ops i.. of thread t */
	uint64_t *min_ret[MMF_LIN_MAX_THREADS];
	/* pos_key(): place values of the mixed-radix index, and whether it fits */
	uint64_t stride[MMF_LIN_MAX_THREADS];
	bool pos_exact;

	/* the configuration being explored */
	uint32_t pos[MMF_LIN_MAX_THREADS];
	uint32_t depth;			/* ops placed: out->order[0 .. depth) */
	struct memo memo;
	bool aborted;			/* max_states reached */

	/* the deepest configuration reached, for the report */
	uint32_t best_depth;
	uint32_t *best_order;
	bool best_explained;		/* out->why and sig written for it */

	struct mmf_lin_result *out;
};

static const struct mmf_lin_op *op_at(const struct lin *L, uint32_t idx)
{
	return &L->h->ops[idx];
}

static uint64_t world_hash(const struct lin *L, struct mmf_world *w)
{
	struct mmf_snap s;
	uint64_t h;

	if (L->ref->state_hash)
		return L->ref->state_hash(w);
	/* no state hash: the snapshot's, which misses hidden state (see linearize.h) */
	mmf_snap_init(&s);
	L->ref->snapshot(w, &s);
	h = mmf_snap_hash(&s);
	mmf_snap_free(&s);
	return h;
}

/*
 * The progress vector as one nonzero number: 1 + its index in the grid
 * [0, n0] x [0, n1] x ... (mixed radix), exact when the grid has fewer
 * than 2^64 points -- always, unless 8 threads have about 256 ops each;
 * then a hash of pos[], and a collision, like one of state hashes, could
 * cut a configuration never tried.
 */
static uint64_t pos_key(const struct lin *L)
{
	uint64_t key = 0;

	for (uint32_t t = 0; t < L->nr_threads; t++) {
		if (L->pos_exact)
			key += L->pos[t] * L->stride[t];
		else
			key = (key ^ L->pos[t]) * 0x9e3779b97f4a7c15ULL + 1;
	}
	if (L->pos_exact)
		return key + 1;
	return key ? key : 1;
}

/* Append printf output to buf (of size len) at *at, truncating quietly. */
static void addf(char *buf, size_t len, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void addf(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at + 1 >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at = *at + (size_t)n < len ? *at + (size_t)n : len - 1;
}

/*
 * "; order so far: #3(t1) #0(t0) ...": the deepest prefix, as much of its
 * end as fits in what is left of out->why.
 */
static void add_prefix(struct lin *L, size_t *at)
{
	char *why = L->out->why;
	size_t len = sizeof(L->out->why);
	uint32_t from = 0, room;

	/* "#1234(t7) " is at most 11 characters */
	room = *at + 48 < len ? (uint32_t)((len - *at - 48) / 11) : 0;
	if (L->best_depth > room)
		from = L->best_depth - room;
	addf(why, len, at, "; order so far:");
	if (from)
		addf(why, len, at, " (first %" PRIu32 " omitted) ...", from);
	for (uint32_t i = from; i < L->best_depth; i++)
		addf(why, len, at, " #%" PRIu32 "(t%d)", L->best_order[i],
		     op_at(L, L->best_order[i])->thread);
}

/* The deepest configuration had every op placed, but its snapshot differs. */
static void explain_snapshot(struct lin *L, const char *diff)
{
	size_t at = 0;

	L->out->first_unplaced = -1;
	snprintf(L->out->sig, sizeof(L->out->sig), "linearizability:snapshot");
	addf(L->out->why, sizeof(L->out->why), &at,
	     "every op could be placed (%" PRIu32 " ops), but no such order ends in the core's final snapshot; the first one differs (reference | core): %s",
	     L->best_depth, diff);
	add_prefix(L, &at);
}

/*
 * The deepest configuration: no candidate gave the core's result.
 * cands[] in call order, got[] the reference's results.
 */
static void explain_candidates(struct lin *L, const uint32_t *cands, const struct mmf_res *got,
			       int nr)
{
	char *why = L->out->why;
	size_t len = sizeof(L->out->why), at = 0;
	const struct mmf_lin_op *first = op_at(L, cands[0]);

	L->out->first_unplaced = (int)cands[0];
	snprintf(L->out->sig, sizeof(L->out->sig), "linearizability:%s",
		 mmf_op_name(first->op.kind));
	addf(why, len, &at, "%" PRIu32 " of %" PRIu32 " ops placed, then no candidate gives the core's result:",
	     L->best_depth, L->h->nr_ops);
	for (int i = 0; i < nr; i++) {
		const struct mmf_lin_op *o = op_at(L, cands[i]);
		char text[MMF_OP_TEXT_MAX], rr[96], rc[96];

		addf(why, len, &at, "%s #%" PRIu32 " t%d `%s`: reference %s, core %s", i ? ";" : "",
		     cands[i], o->thread, mmf_op_format(&o->op, text, sizeof(text)),
		     mmf_diff_res_str(o->op.kind, &got[i], rr, sizeof(rr)),
		     mmf_diff_res_str(o->op.kind, &o->res, rc, sizeof(rc)));
	}
	add_prefix(L, &at);
}

/* The candidates of the current configuration, in call order; returns how many. */
static int candidates(const struct lin *L, uint32_t cands[MMF_LIN_MAX_THREADS])
{
	uint64_t earliest_ret = UINT64_MAX;
	int nr = 0;

	for (uint32_t t = 0; t < L->nr_threads; t++) {
		if (L->pos[t] < L->nr_of[t] && L->min_ret[t][L->pos[t]] < earliest_ret)
			earliest_ret = L->min_ret[t][L->pos[t]];
	}
	for (uint32_t t = 0; t < L->nr_threads; t++) {
		uint32_t idx;
		int i;

		if (L->pos[t] >= L->nr_of[t])
			continue;
		idx = L->ops_of[t][L->pos[t]];
		if (op_at(L, idx)->call > earliest_ret)
			continue;
		/* insert in call order */
		for (i = nr; i > 0 && op_at(L, cands[i - 1])->call > op_at(L, idx)->call; i--)
			cands[i] = cands[i - 1];
		cands[i] = idx;
		nr++;
	}
	return nr;
}

/* Every op placed: does w end in the core's final snapshot? */
static bool final_matches(struct lin *L, struct mmf_world *w)
{
	struct mmf_snap s;
	char diff[512];
	bool same;

	mmf_snap_init(&s);
	L->ref->snapshot(w, &s);
	same = mmf_snap_equal(&s, L->final, diff, sizeof(diff));
	mmf_snap_free(&s);
	if (!same && L->depth == L->best_depth && !L->best_explained) {
		explain_snapshot(L, diff);
		L->best_explained = true;
	}
	return same;
}

/*
 * Can the current configuration, whose reference world is w, be completed?
 * Takes w (frees it).  On success out->order[0 .. nr_ops) is the witness.
 */
static bool search(struct lin *L, struct mmf_world *w)
{
	struct memo_key key;
	uint32_t cands[MMF_LIN_MAX_THREADS];
	struct mmf_res got[MMF_LIN_MAX_THREADS];
	int nr;

	key.pos = pos_key(L);
	key.state = world_hash(L, w);
	if (memo_contains(&L->memo, &key)) {
		L->out->memo_hits++;
		L->ref->world_free(w);
		return false;
	}
	if (L->depth > L->best_depth) {
		L->best_depth = L->depth;
		L->best_explained = false;
		memcpy(L->best_order, L->out->order, L->depth * sizeof(*L->best_order));
	}

	if (L->depth == L->h->nr_ops) {
		bool ok = final_matches(L, w);

		L->ref->world_free(w);
		if (!ok)
			memo_add(&L->memo, &key);
		return ok;
	}

	nr = candidates(L, cands);
	for (int i = 0; i < nr; i++) {
		const struct mmf_lin_op *o = op_at(L, cands[i]);
		bool last = i == nr - 1;
		struct mmf_world *cw;
		bool ok;

		if (L->out->states >= L->max_states) {
			L->aborted = true;
			break;
		}
		/* only the last candidate may change w: the others need it intact */
		if (last) {
			cw = w;
			w = NULL;
		} else {
			cw = L->ref->clone(w);
			L->out->clones++;
		}
		L->ref->exec(cw, &o->op, &got[i]);
		L->out->states++;
		if (mmf_diff_res_cmp(o->op.kind, &o->res, &got[i])) {
			L->ref->world_free(cw);
			continue;
		}
		L->out->order[L->depth++] = cands[i];
		L->pos[o->thread]++;
		ok = search(L, cw);
		L->pos[o->thread]--;
		L->depth--;
		if (ok) {
			if (w)
				L->ref->world_free(w);
			return true;
		}
		if (L->aborted)
			break;
	}
	if (w)
		L->ref->world_free(w);
	if (L->aborted)
		return false;
	memo_add(&L->memo, &key);
	/*
	 * Nothing deeper was reached from here (that would have raised
	 * best_depth), so every candidate failed on its result: explain.
	 */
	if (L->depth == L->best_depth && !L->best_explained) {
		explain_candidates(L, cands, got, nr);
		L->best_explained = true;
	}
	return false;
}

/* ---- entry points ------------------------------------------------------------------ */

/* Is h well formed?  If not, why in out->why. */
static bool history_ok(const struct mmf_lin_history *h, struct mmf_lin_result *out)
{
	if (h->nr_threads < 1 || h->nr_threads > MMF_LIN_MAX_THREADS) {
		snprintf(out->why, sizeof(out->why), "%" PRIu32 " threads (1 to %d allowed)",
			 h->nr_threads, MMF_LIN_MAX_THREADS);
		return false;
	}
	if (h->nr_ops > MMF_LIN_MAX_OPS || (h->nr_ops && !h->ops)) {
		snprintf(out->why, sizeof(out->why), "%" PRIu32 " ops (at most %d allowed)",
			 h->nr_ops, MMF_LIN_MAX_OPS);
		return false;
	}
	for (uint32_t i = 0; i < h->nr_ops; i++) {
		const struct mmf_lin_op *o = &h->ops[i];

		if (o->thread < 0 || (uint32_t)o->thread >= h->nr_threads || o->call >= o->ret) {
			snprintf(out->why, sizeof(out->why),
				 "op #%" PRIu32 ": thread %d, call %" PRIu64 ", return %" PRIu64, i,
				 o->thread, o->call, o->ret);
			return false;
		}
	}
	return true;
}

/* idx[0 .. h->nr_ops) = the ops in call order (ties: index order). */
static void call_order(const struct mmf_lin_history *h, uint32_t *idx)
{
	/* insertion sort: stable, no global state, histories are short */
	for (uint32_t i = 0; i < h->nr_ops; i++) {
		uint32_t j = i;

		while (j > 0 && h->ops[idx[j - 1]].call > h->ops[i].call) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
}

enum mmf_lin_verdict mmf_linearize(const struct mmf_impl *ref, struct mmf_world *initial,
				   const struct mmf_lin_history *h,
				   const struct mmf_snap *final,
				   const struct mmf_lin_limits *lim,
				   struct mmf_lin_result *out)
{
	struct lin L;
	uint32_t *by_call_idx;
	uint64_t points;	/* of the progress grid */
	bool ok;

	memset(out, 0, sizeof(*out));
	out->first_unplaced = -1;
	if (!ref->clone) {
		out->verdict = MMF_LIN_UNKNOWN;
		snprintf(out->sig, sizeof(out->sig), "linearizability:unsupported");
		snprintf(out->why, sizeof(out->why), "%s has no clone", ref->name);
		return out->verdict;
	}
	if (!history_ok(h, out)) {
		out->verdict = MMF_LIN_UNKNOWN;
		snprintf(out->sig, sizeof(out->sig), "linearizability:bad-history");
		return out->verdict;
	}

	memset(&L, 0, sizeof(L));
	L.ref = ref;
	L.h = h;
	L.final = final;
	L.max_states = lim && lim->max_states ? lim->max_states : DEFAULT_MAX_STATES;
	L.nr_threads = h->nr_threads;
	L.out = out;
	L.best_order = calloc(h->nr_ops + 1, sizeof(*L.best_order));
	by_call_idx = calloc(h->nr_ops + 1, sizeof(*by_call_idx));
	if (!L.best_order || !by_call_idx)
		abort();

	/* each thread's ops in call order, and the earliest return from each on */
	call_order(h, by_call_idx);
	for (uint32_t t = 0; t < L.nr_threads; t++) {
		L.ops_of[t] = calloc(h->nr_ops + 1, sizeof(*L.ops_of[t]));
		L.min_ret[t] = calloc(h->nr_ops + 1, sizeof(*L.min_ret[t]));
		if (!L.ops_of[t] || !L.min_ret[t])
			abort();
	}
	for (uint32_t i = 0; i < h->nr_ops; i++) {
		int t = h->ops[by_call_idx[i]].thread;

		L.ops_of[t][L.nr_of[t]++] = by_call_idx[i];
	}
	/* pos_key() is exact when the grid's points, prod(n_t + 1), fit in 64 bits */
	points = 1;
	L.pos_exact = true;
	for (uint32_t t = 0; t < L.nr_threads && L.pos_exact; t++) {
		L.stride[t] = points;
		L.pos_exact = !__builtin_mul_overflow(points, (uint64_t)L.nr_of[t] + 1, &points);
	}
	for (uint32_t t = 0; t < L.nr_threads; t++) {
		uint64_t earliest = UINT64_MAX;

		for (uint32_t i = L.nr_of[t]; i-- > 0;) {
			if (h->ops[L.ops_of[t][i]].ret < earliest)
				earliest = h->ops[L.ops_of[t][i]].ret;
			L.min_ret[t][i] = earliest;
		}
	}

	out->clones = 1;
	ok = search(&L, ref->clone(initial));

	if (ok) {
		out->verdict = MMF_LIN_OK;
		out->nr_placed = h->nr_ops;
		/* failures on the way may have written a report: it is moot */
		out->first_unplaced = -1;
		out->sig[0] = 0;
		out->why[0] = 0;
	} else if (L.aborted) {
		size_t at = 0;

		out->verdict = MMF_LIN_UNKNOWN;
		out->first_unplaced = -1;
		snprintf(out->sig, sizeof(out->sig), "linearizability:unknown");
		addf(out->why, sizeof(out->why), &at,
		     "gave up after %" PRIu64 " reference ops (max_states); deepest: %" PRIu32 " of %" PRIu32 " ops placed",
		     out->states, L.best_depth, h->nr_ops);
		add_prefix(&L, &at);
	} else {
		out->verdict = MMF_LIN_FAIL;
	}
	if (!ok) {
		/* the deepest prefix, as data */
		out->nr_placed = L.best_depth;
		memcpy(out->order, L.best_order, L.best_depth * sizeof(*L.best_order));
	}

	for (uint32_t t = 0; t < L.nr_threads; t++) {
		free(L.ops_of[t]);
		free(L.min_ret[t]);
	}
	free(L.memo.slots);
	free(L.best_order);
	free(by_call_idx);
	return out->verdict;
}

void mmf_lin_print_history(FILE *out, const struct mmf_lin_history *h)
{
	uint32_t *idx = calloc(h->nr_ops + 1, sizeof(*idx));

	if (!idx)
		abort();
	call_order(h, idx);
	for (uint32_t i = 0; i < h->nr_ops; i++) {
		const struct mmf_lin_op *o = &h->ops[idx[i]];
		char text[MMF_OP_TEXT_MAX], res[96];

		fprintf(out, "#%-3" PRIu32 " t%d [%" PRIu64 ", %" PRIu64 "] %s = %s\n", idx[i],
			o->thread, o->call, o->ret, mmf_op_format(&o->op, text, sizeof(text)),
			mmf_diff_res_str(o->op.kind, &o->res, res, sizeof(res)));
	}
	free(idx);
}
