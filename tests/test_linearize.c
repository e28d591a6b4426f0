// SPDX-License-Identifier: MIT
/*
 * tests/test_linearize.c - the linearizability checker (diff/linearize.c)
 * on hand-built histories of the reference, and the reference's state
 * hash it memoizes on.
 *
 * A history's "core results" are made by running a chosen sequential
 * order on the reference (so they are what a correct implementation
 * could return), or written by hand where a test needs impossible ones.
 * Logical times are then assigned to make ops overlap or not.  Every OK
 * verdict's witness order is replayed independently (witness_valid).
 *
 * `test_linearize -v` prints every history and verdict;
 * `test_linearize --bench [N]` prints the checker's time on its worst
 * case, 4 threads x N ops (default 32) fully overlapping; not a test.
 * Prints "N passed, N failed" last; exits non-zero on failure.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "diff.h"
#include "linearize.h"
#include "mmfuzz/prog.h"

#include "check.h"


static const struct mmf_impl *ref = &mmf_reference;
static bool verbose;	/* -v: print every history and verdict */

#define PAGE	MMF_PAGE_SIZE
#define A	0x100000ULL	/* where the tests map things */

/* ---- ops ----------------------------------------------------------------------- */

static struct mmf_op op_mmap_anon(uint64_t addr, uint64_t len)
{
	struct mmf_op op = { .kind = MMF_OP_MMAP, .addr = addr, .len = len,
			     .prot = PROT_READ | PROT_WRITE,
			     .flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED };
	return op;
}

static struct mmf_op op_mmap_file(int fid, uint64_t addr, uint64_t len)
{
	struct mmf_op op = { .kind = MMF_OP_MMAP, .file = fid, .addr = addr, .len = len,
			     .prot = PROT_READ | PROT_WRITE, .flags = MAP_SHARED | MAP_FIXED };
	return op;
}

static struct mmf_op op_munmap(uint64_t addr, uint64_t len)
{
	struct mmf_op op = { .kind = MMF_OP_MUNMAP, .addr = addr, .len = len };
	return op;
}

static struct mmf_op op_madvise(uint64_t addr, uint64_t len, uint32_t advice)
{
	struct mmf_op op = { .kind = MMF_OP_MADVISE, .addr = addr, .len = len, .advice = advice };
	return op;
}

static struct mmf_op op_read(uint64_t addr)
{
	struct mmf_op op = { .kind = MMF_OP_READ, .addr = addr };
	return op;
}

static struct mmf_op op_write(uint64_t addr, uint64_t value)
{
	struct mmf_op op = { .kind = MMF_OP_WRITE, .addr = addr, .value = value };
	return op;
}

static struct mmf_op op_file_create(uint64_t size)
{
	struct mmf_op op = { .kind = MMF_OP_FILE_CREATE, .len = size };
	return op;
}

static struct mmf_op op_file_write(int fid, uint64_t pgoff, uint64_t value)
{
	struct mmf_op op = { .kind = MMF_OP_FILE_WRITE, .file = fid, .pgoff = pgoff,
			     .value = value };
	return op;
}

static struct mmf_res res_value(uint64_t value)
{
	struct mmf_res r = { .value = value };
	return r;
}

static struct mmf_res res_segv(void)
{
	struct mmf_res r = { .sig = SIGSEGV, .si_code = SEGV_MAPERR };
	return r;
}

/* Run op on w and check it did what the test meant (ret >= 0, no signal). */
static void setup(struct mmf_world *w, struct mmf_op op)
{
	struct mmf_res r;

	ref->exec(w, &op, &r);
	CHECK(r.ret >= 0 && !r.sig, "setup %s: ret %" PRId64 " sig %d", mmf_op_name(op.kind),
	      r.ret, r.sig);
}

/* ---- histories --------------------------------------------------------------------- */

struct hist {
	struct mmf_lin_op ops[MMF_LIN_MAX_OPS];
	struct mmf_lin_history h;
};

static void hist_init(struct hist *H, uint32_t nr_threads)
{
	memset(H, 0, sizeof(*H));
	H->h.nr_threads = nr_threads;
	H->h.ops = H->ops;
}

/* Append an op; returns its index. */
static uint32_t add(struct hist *H, int thread, struct mmf_op op, uint64_t call, uint64_t ret,
		    struct mmf_res res)
{
	struct mmf_lin_op *o = &H->ops[H->h.nr_ops];

	o->thread = thread;
	o->op = op;
	o->res = res;
	o->call = call;
	o->ret = ret;
	return H->h.nr_ops++;
}

/*
 * Give every op the result the reference gives it when run in the order
 * order[0 .. nr_ops) from `initial`; *final = the snapshot after them.
 */
static void results_from(struct hist *H, struct mmf_world *initial, const uint32_t *order,
			 struct mmf_snap *final)
{
	struct mmf_world *w = ref->clone(initial);

	for (uint32_t i = 0; i < H->h.nr_ops; i++)
		ref->exec(w, &H->ops[order[i]].op, &H->ops[order[i]].res);
	mmf_snap_init(final);
	ref->snapshot(w, final);
	ref->world_free(w);
}

/* The snapshot of `initial` after ops run in this order (ignoring results). */
static void snapshot_after(struct mmf_world *initial, const struct hist *H, const uint32_t *order,
			   uint32_t nr, struct mmf_snap *s)
{
	struct mmf_world *w = ref->clone(initial);
	struct mmf_res r;

	for (uint32_t i = 0; i < nr; i++)
		ref->exec(w, &H->ops[order[i]].op, &r);
	mmf_snap_init(s);
	ref->snapshot(w, s);
	ref->world_free(w);
}

static const char *verdict_name(enum mmf_lin_verdict v)
{
	return v == MMF_LIN_OK ? "OK" : v == MMF_LIN_FAIL ? "FAIL" : "UNKNOWN";
}

/*
 * Is out->order a witness: every op once, real time kept, the reference
 * giving every op its result, and the final snapshot?
 */
static bool witness_valid(const struct hist *H, struct mmf_world *initial,
			  const struct mmf_snap *final, const struct mmf_lin_result *out)
{
	struct mmf_world *w = ref->clone(initial);
	bool *placed = calloc(H->h.nr_ops + 1, sizeof(*placed));
	bool ok = out->nr_placed == H->h.nr_ops;
	struct mmf_snap s;

	for (uint32_t i = 0; ok && i < H->h.nr_ops; i++) {
		const struct mmf_lin_op *o = &H->ops[out->order[i]];
		struct mmf_res r;

		ok = out->order[i] < H->h.nr_ops && !placed[out->order[i]];
		/* nothing still unplaced returned before this one was called */
		for (uint32_t j = 0; ok && j < H->h.nr_ops; j++)
			ok = placed[j] || j == out->order[i] || H->ops[j].ret > o->call;
		if (!ok)
			break;
		placed[out->order[i]] = true;
		ref->exec(w, &o->op, &r);
		ok = !mmf_diff_res_cmp(o->op.kind, &o->res, &r);
	}
	mmf_snap_init(&s);
	ref->snapshot(w, &s);
	ok = ok && mmf_snap_equal(&s, final, NULL, 0);
	mmf_snap_free(&s);
	ref->world_free(w);
	free(placed);
	return ok;
}

/* Check; on a surprise print the history and the result. */
static enum mmf_lin_verdict check(struct hist *H, struct mmf_world *initial,
				  const struct mmf_snap *final, uint64_t max_states,
				  struct mmf_lin_result *out, enum mmf_lin_verdict want)
{
	struct mmf_lin_limits lim = { .max_states = max_states };
	uint64_t before = ref->state_hash(initial);
	enum mmf_lin_verdict v = mmf_linearize(ref, initial, &H->h, final, &lim, out);

	CHECK(v == out->verdict, "returned %d, out->verdict %d", v, out->verdict);
	CHECK(ref->state_hash(initial) == before, "the initial world was modified");
	CHECK(v == want, "verdict %s, want %s; sig %s; why: %s", verdict_name(v),
	      verdict_name(want), out->sig, out->why);
	if (v == MMF_LIN_OK) {
		CHECK(witness_valid(H, initial, final, out), "the order is no witness");
		CHECK(!out->sig[0] && !out->why[0], "OK with sig '%s' why '%s'", out->sig, out->why);
	} else {
		CHECK(!strncmp(out->sig, "linearizability:", 16), "sig %s", out->sig);
		CHECK(out->why[0], "no why");
	}
	if (v != want || verbose) {
		mmf_lin_print_history(stderr, &H->h);
		fprintf(stderr, "=> %s %s: %" PRIu64 " states, %" PRIu64 " memo hits\n   %s\n\n",
			verdict_name(v), out->sig, out->states, out->memo_hits, out->why);
	}
	return v;
}

/* Is order[0 .. n) of out the sequence want[0 .. n)? */
static bool order_is(const struct mmf_lin_result *out, const uint32_t *want, uint32_t n)
{
	return out->nr_placed == n && !memcmp(out->order, want, n * sizeof(*want));
}

/* ---- (1) a sequential history is its own linearization ----------------------------- */

static void test_sequential(void)
{
	static struct hist H;
	struct mmf_world *initial = ref->world_new(NULL);
	struct mmf_lin_result *out = calloc(1, sizeof(*out));
	uint32_t order[8];
	struct mmf_snap final;

	hist_init(&H, 2);
	/* one op after the other, alternating threads: no two overlap */
	add(&H, 0, op_mmap_anon(A, 2 * PAGE), 1, 2, res_value(0));
	add(&H, 1, op_write(A, 0x2a), 3, 4, res_value(0));
	add(&H, 0, op_read(A), 5, 6, res_value(0));
	add(&H, 1, op_munmap(A + PAGE, PAGE), 7, 8, res_value(0));
	add(&H, 0, op_read(A + PAGE), 9, 10, res_value(0));
	add(&H, 1, op_write(A, 0x2b), 11, 12, res_value(0));
	for (uint32_t i = 0; i < H.h.nr_ops; i++)
		order[i] = i;
	results_from(&H, initial, order, &final);
	CHECK(H.ops[2].res.value == 0x2a, "read gave %#" PRIx64, H.ops[2].res.value);
	CHECK(H.ops[4].res.sig == SIGSEGV, "read of the unmapped page: sig %d", H.ops[4].res.sig);

	if (check(&H, initial, &final, 0, out, MMF_LIN_OK) == MMF_LIN_OK) {
		CHECK(order_is(out, order, H.h.nr_ops), "not the identity order");
		/* one candidate at every step: one exec per op, no backtracking */
		CHECK(out->states == H.h.nr_ops, "states %" PRIu64, out->states);
		/* and no clone but the initial world's */
		CHECK(out->clones == 1, "clones %" PRIu64, out->clones);
		CHECK(out->memo_hits == 0, "memo hits %" PRIu64, out->memo_hits);
	}
	mmf_snap_free(&final);
	ref->world_free(initial);
	free(out);
}

/* ---- (2) overlapping ops: only one order explains the results --------------------- */

/*
 * Setup: file f0 whose page 0 holds 0x2a.  t0 maps it at A while t1 reads
 * A; the read is called first.  Its result says which came first.
 */
static struct mmf_world *map_race_world(void)
{
	struct mmf_world *w = ref->world_new(NULL);

	setup(w, op_file_create(PAGE));
	setup(w, op_file_write(0, 0, 0x2a));
	return w;
}

static void map_race_history(struct hist *H, struct mmf_res read_res, uint64_t mmap_call,
			     uint64_t mmap_ret, uint32_t *mmap_i, uint32_t *read_i)
{
	hist_init(H, 2);
	*read_i = add(H, 1, op_read(A), 1, 4, read_res);
	*mmap_i = add(H, 0, op_mmap_file(0, A, PAGE), mmap_call, mmap_ret, res_value(A));
	H->ops[*mmap_i].res.ret = (int64_t)A;
}

static void test_overlap(void)
{
	static struct hist H;
	struct mmf_world *initial = map_race_world();
	struct mmf_lin_result *out = calloc(1, sizeof(*out));
	uint32_t mmap_i, read_i, order[2];
	struct mmf_snap final;

	/* the read saw the file's value: the mmap came first, though called second */
	map_race_history(&H, res_value(0x2a), 2, 3, &mmap_i, &read_i);
	order[0] = mmap_i;
	order[1] = read_i;
	snapshot_after(initial, &H, order, 2, &final);
	if (check(&H, initial, &final, 0, out, MMF_LIN_OK) == MMF_LIN_OK) {
		CHECK(order_is(out, order, 2), "order %u %u", out->order[0], out->order[1]);
		/* read first (SIGSEGV: wrong), then mmap, then read: 3 execs */
		CHECK(out->states == 3, "states %" PRIu64, out->states);
	}
	mmf_snap_free(&final);

	/* the read faulted: it came first */
	map_race_history(&H, res_segv(), 2, 3, &mmap_i, &read_i);
	order[0] = read_i;
	order[1] = mmap_i;
	snapshot_after(initial, &H, order, 2, &final);
	if (check(&H, initial, &final, 0, out, MMF_LIN_OK) == MMF_LIN_OK)
		CHECK(order_is(out, order, 2), "order %u %u", out->order[0], out->order[1]);
	mmf_snap_free(&final);

	/* the read saw a value nobody wrote: no order explains it */
	map_race_history(&H, res_value(0x99), 2, 3, &mmap_i, &read_i);
	order[0] = mmap_i;
	order[1] = read_i;
	snapshot_after(initial, &H, order, 2, &final);
	if (check(&H, initial, &final, 0, out, MMF_LIN_FAIL) == MMF_LIN_FAIL) {
		CHECK(!strcmp(out->sig, "linearizability:read"), "sig %s", out->sig);
		/* deepest prefix: the mmap; then the read gives 0x2a, not 0x99 */
		CHECK(out->first_unplaced == (int)read_i, "first_unplaced %d", out->first_unplaced);
		CHECK(order_is(out, &mmap_i, 1), "deepest prefix of %u ops", out->nr_placed);
		CHECK(strstr(out->why, "reference 0x2a, core 0x99"), "why: %s", out->why);
		CHECK(strstr(out->why, "1 of 2 ops placed"), "why: %s", out->why);
	}
	mmf_snap_free(&final);

	ref->world_free(initial);
	free(out);
}

/* ---- (3) the only explaining order contradicts real time ---------------------------- */

static void test_real_time(void)
{
	static struct hist H;
	struct mmf_world *initial = map_race_world();
	struct mmf_lin_result *out = calloc(1, sizeof(*out));
	uint32_t mmap_i, read_i, order[2];
	struct mmf_snap final;
	char segv[64];

	/*
	 * The read faulted, so it must precede the mmap, but the mmap returned
	 * before the read was called: mmap [1, 2], read [3, 4].  The same
	 * results with overlapping times were fine in test_overlap.
	 */
	hist_init(&H, 2);
	mmap_i = add(&H, 0, op_mmap_file(0, A, PAGE), 1, 2, res_value(A));
	H.ops[mmap_i].res.ret = (int64_t)A;
	read_i = add(&H, 1, op_read(A), 3, 4, res_segv());
	order[0] = read_i;
	order[1] = mmap_i;
	snapshot_after(initial, &H, order, 2, &final);
	if (check(&H, initial, &final, 0, out, MMF_LIN_FAIL) == MMF_LIN_FAIL) {
		CHECK(!strcmp(out->sig, "linearizability:read"), "sig %s", out->sig);
		CHECK(out->first_unplaced == (int)read_i, "first_unplaced %d", out->first_unplaced);
		CHECK(order_is(out, &mmap_i, 1), "deepest prefix of %u ops", out->nr_placed);
		mmf_res_str(MMF_OP_READ, &H.ops[read_i].res, segv, sizeof(segv));
		CHECK(strstr(out->why, segv) && strstr(out->why, "reference 0x2a"), "why: %s",
		      out->why);
		/* only the mmap could start: one exec, then the read */
		CHECK(out->states == 2, "states %" PRIu64, out->states);
	}
	mmf_snap_free(&final);
	ref->world_free(initial);
	free(out);
}

/* ---- (4) the final snapshot decides --------------------------------------------------- */

static void test_snapshot(void)
{
	static struct hist H;
	struct mmf_world *initial = ref->world_new(NULL);
	struct mmf_lin_result *out = calloc(1, sizeof(*out));
	uint32_t w1, w2, order[2];
	struct mmf_snap final;

	setup(initial, op_mmap_anon(A, PAGE));

	/* two overlapping writes of one page: only the final value orders them */
	hist_init(&H, 2);
	w1 = add(&H, 0, op_write(A, 1), 1, 3, res_value(0));
	w2 = add(&H, 1, op_write(A, 2), 2, 4, res_value(0));

	/* the page ends as 1: t1's write came first, though t0 was called first */
	order[0] = w2;
	order[1] = w1;
	snapshot_after(initial, &H, order, 2, &final);
	if (check(&H, initial, &final, 0, out, MMF_LIN_OK) == MMF_LIN_OK) {
		CHECK(order_is(out, order, 2), "order %u %u", out->order[0], out->order[1]);
		/* w1 w2 (snapshot differs), then w2 w1: clone for w1, 4 execs */
		CHECK(out->states == 4, "states %" PRIu64, out->states);
	}
	mmf_snap_free(&final);

	/*
	 * The core's final snapshot says 1 (t0's write last), but t1 wrote 2
	 * after both writes had returned: every order ends with 2.
	 */
	hist_init(&H, 2);
	add(&H, 0, op_write(A, 1), 1, 3, res_value(0));
	add(&H, 1, op_write(A, 3), 2, 4, res_value(0));
	add(&H, 1, op_write(A, 2), 5, 6, res_value(0));
	order[0] = 1;
	order[1] = 0;
	snapshot_after(initial, &H, order, 2, &final);
	if (check(&H, initial, &final, 0, out, MMF_LIN_FAIL) == MMF_LIN_FAIL) {
		CHECK(!strcmp(out->sig, "linearizability:snapshot"), "sig %s", out->sig);
		CHECK(out->first_unplaced == -1, "first_unplaced %d", out->first_unplaced);
		CHECK(out->nr_placed == 3, "deepest prefix of %u ops", out->nr_placed);
		CHECK(strstr(out->why, "final snapshot"), "why: %s", out->why);
		/* both complete orders end in the same state (page = 2): the second is a memo hit */
		CHECK(out->memo_hits == 1, "memo hits %" PRIu64, out->memo_hits);
	}
	mmf_snap_free(&final);

	/* a long sequential history ending elsewhere: why keeps the prefix's tail */
	hist_init(&H, 1);
	for (uint32_t i = 0; i < 400; i++)
		add(&H, 0, op_write(A, i), 2 * i + 1, 2 * i + 2, res_value(0));
	snapshot_after(initial, &H, order, 0, &final);
	if (check(&H, initial, &final, 0, out, MMF_LIN_FAIL) == MMF_LIN_FAIL) {
		CHECK(!strcmp(out->sig, "linearizability:snapshot"), "sig %s", out->sig);
		CHECK(strstr(out->why, " omitted) ... ") && strstr(out->why, " #399(t0)"),
		      "why: %s", out->why);
		CHECK(strlen(out->why) < sizeof(out->why), "why overflows");
		CHECK(out->states == 400, "states %" PRIu64, out->states);
	}
	mmf_snap_free(&final);

	ref->world_free(initial);
	free(out);
}

/* ---- (5, 6) a wide history: memoization makes it cheap -------------------------------- */

/*
 * nr_threads threads of n ops each, fully overlapping: every op is called
 * (round robin: op j of thread t at 1 + nr_threads*j + t) before any
 * returns.  Only each thread's program order constrains the search: the
 * worst case for the checker.  (A real thread's ops do not overlap each
 * other; the checker places a thread's ops in call order regardless.)
 *
 * The ops commute: thread t writes its own pages (op j, j even: page
 * (t, j) := t*1000+j) and reads them back (j odd: page (t, j-1)), all in one
 * anonymous VMA mapped by the setup.  Except op `conflict` of threads 0
 * and 1, which write the shared page X, 0xa and 0xb.
 *
 * The results and final snapshot come from the round-robin order with
 * t1's X write moved before t0's, so X ends as 0xa.  The search tries
 * round robin first, puts t0's write first, and learns only at the end
 * (X = 0xb) that every completion of that prefix fails.
 */
#define WIDE_MAX_N 64

static uint64_t wide_page(int t, int j)
{
	return A + (uint64_t)(t * WIDE_MAX_N + j) * PAGE;
}

#define X (A + 8ULL * WIDE_MAX_N * PAGE)

static struct mmf_world *wide_world(void)
{
	struct mmf_world *w = ref->world_new(NULL);

	setup(w, op_mmap_anon(A, 8ULL * WIDE_MAX_N * PAGE + PAGE));
	return w;
}

/*
 * Build it; *final: the snapshot the results come from.  final_x: the
 * value X must end with (0xa: linearizable; anything else: not).
 * conflict >= n: no conflicting op, every order works.
 */
static void wide_history(struct hist *H, struct mmf_world *initial, int nr_threads, int n,
			 int conflict, uint64_t final_x, struct mmf_snap *final)
{
	uint32_t order[MMF_LIN_MAX_OPS];

	hist_init(H, (uint32_t)nr_threads);
	for (int j = 0; j < n; j++) {
		for (int t = 0; t < nr_threads; t++) {
			struct mmf_op op = j % 2 ? op_read(wide_page(t, j - 1))
						 : op_write(wide_page(t, j), (uint64_t)(t * 1000 + j));

			if (j == conflict && t < 2)
				op = op_write(X, t ? 0xb : 0xa);
			add(H, t, op, 1 + (uint64_t)(nr_threads * j + t),
			    1 + (uint64_t)(nr_threads * n + nr_threads * j + t), res_value(0));
		}
	}
	/* round robin, t1's conflicting write just before t0's (ops are added round robin) */
	for (uint32_t i = 0; i < H->h.nr_ops; i++)
		order[i] = i;
	if (conflict < n) {
		order[nr_threads * conflict] = (uint32_t)(nr_threads * conflict + 1);
		order[nr_threads * conflict + 1] = (uint32_t)(nr_threads * conflict);
	}
	results_from(H, initial, order, final);
	if (conflict < n && final_x != 0xa) {
		struct mmf_world *w = ref->clone(initial);
		struct mmf_res r;

		for (uint32_t i = 0; i < H->h.nr_ops; i++)
			ref->exec(w, &H->ops[order[i]].op, &r);
		setup(w, op_write(X, final_x));
		mmf_snap_free(final);
		mmf_snap_init(final);
		ref->snapshot(w, final);
		ref->world_free(w);
	}
}

static uint64_t binomial(uint64_t n, uint64_t k)
{
	uint64_t r = 1;

	for (uint64_t i = 1; i <= k; i++)
		r = r * (n - k + i) / i;
	return r;
}

static void test_wide(void)
{
	static struct hist H;
	struct mmf_world *initial = wide_world();
	struct mmf_lin_result *out = calloc(1, sizeof(*out));
	const int T = 4, N = 12, C = 6;
	struct mmf_snap final;
	uint64_t sub_configs, sub_execs, bound, orders;

	wide_history(&H, initial, T, N, C, 0xa, &final);
	/*
	 * The bound.  Round robin reaches pos (C,C,C,C) with T*C execs and
	 * places t0's X write (1).  Every completion of that fails at its
	 * last op, so the whole subtree fails: its configurations are the
	 * progress vectors p0 in [C+1, N], p1..p3 in [C, N] -- and one state
	 * each, because with the ops placed fixed, the state is (X = 0xa
	 * while p1 = C, else 0xb): (N-C) * (N-C+1)^3 of them.  Memoized, each
	 * is expanded once, one exec per unfinished thread:
	 *     sum over configurations of the unfinished threads
	 *   = (N-C-1)(N-C+1)^3 + 3 (N-C)^2 (N-C+1)^2.
	 * Back at (C,C,C,C): t1's write (1), and the rest in round robin,
	 * which succeeds (T*N - T*C - 1 execs).
	 */
	sub_configs = (uint64_t)(N - C) * (N - C + 1) * (N - C + 1) * (N - C + 1);
	sub_execs = (uint64_t)(N - C - 1) * (N - C + 1) * (N - C + 1) * (N - C + 1) +
		    3ULL * (N - C) * (N - C) * (N - C + 1) * (N - C + 1);
	bound = (uint64_t)T * C + 1 + sub_execs + 1 + (uint64_t)(T * N - T * C - 1);
	/* without memoization: the orders of the subtree's 23 ops, for a start */
	orders = binomial(23, 5) * binomial(18, 6) * binomial(12, 6);

	if (check(&H, initial, &final, 0, out, MMF_LIN_OK) == MMF_LIN_OK) {
		CHECK(out->nr_placed == H.h.nr_ops, "nr_placed %u", out->nr_placed);
		CHECK(out->memo_hits > 0, "no memo hit");
		/* every configuration but the subtree's root was reached once first, then hit */
		CHECK(out->memo_hits == sub_execs - (sub_configs - 1), "memo hits %" PRIu64
		      ", want %" PRIu64, out->memo_hits, sub_execs - (sub_configs - 1));
		CHECK(out->states <= bound, "states %" PRIu64 " > bound %" PRIu64, out->states,
		      bound);
		printf("wide %dx%d: %" PRIu64 " states (bound %" PRIu64 "), %" PRIu64
		       " memo hits; unmemoized the failing subtree alone has %" PRIu64 " orders\n",
		       T, N, out->states, bound, out->memo_hits, orders);
	}

	/*
	 * Without state_hash the checker memoizes on snapshot hashes; here
	 * they tell the configurations apart as well (X is visible), so the
	 * search is the same.
	 */
	{
		struct mmf_impl nohash = mmf_reference;
		struct mmf_lin_result *out2 = calloc(1, sizeof(*out2));
		uint64_t states = out->states;

		nohash.state_hash = NULL;
		CHECK(mmf_linearize(&nohash, initial, &H.h, &final, NULL, out2) == MMF_LIN_OK,
		      "without state_hash: %s", out2->why);
		CHECK(out2->states == states, "without state_hash: %" PRIu64 " states, with: %"
		      PRIu64, out2->states, states);
		free(out2);
	}

	/* (6) the same with a budget of 10 reference ops */
	if (check(&H, initial, &final, 10, out, MMF_LIN_UNKNOWN) == MMF_LIN_UNKNOWN) {
		CHECK(out->states == 10, "states %" PRIu64, out->states);
		CHECK(!strcmp(out->sig, "linearizability:unknown"), "sig %s", out->sig);
		CHECK(out->nr_placed == 10, "deepest prefix %u", out->nr_placed);
	}
	mmf_snap_free(&final);

	/* not linearizable (X ends as 0xc): the search must exhaust every configuration */
	wide_history(&H, initial, T, 4, 2, 0xc, &final);
	if (check(&H, initial, &final, 0, out, MMF_LIN_FAIL) == MMF_LIN_FAIL) {
		CHECK(!strcmp(out->sig, "linearizability:snapshot"), "sig %s", out->sig);
		CHECK(out->memo_hits > 0, "no memo hit");
	}
	mmf_snap_free(&final);

	ref->world_free(initial);
	free(out);
}

/* ---- (7) histories of real executions of the reference ---------------------------------- */

static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * T threads of generated programs, executed atomically on the reference in
 * a random interleaving; each op gets an interval around its execution that
 * does not reach its thread's neighbours:
 *     op at position k: call = slot(j), j random in (previous op's k, k],
 *                       ret = slot(s), s random in [k, next op's k);
 * consecutive ops of a thread split the gap between them.  The execution
 * order is then a witness, so the history is linearizable.  With one
 * result made impossible (ret 12345: no op returns that) it is not.
 */
#define REAL_T 3
#define REAL_N 6

static void real_history(struct hist *H, struct mmf_world *initial, uint64_t seed,
			 struct mmf_snap *final)
{
	struct mmf_prog prog[REAL_T];
	uint32_t thread_of[REAL_T * REAL_N], k_of[REAL_T][REAL_N + 1], next[REAL_T] = { 0 };
	uint32_t order[REAL_T * REAL_N], n = 0;
	uint64_t rng = seed;

	/* the interleaving: position k runs thread_of[k]'s next op */
	for (int t = 0; t < REAL_T; t++) {
		mmf_prog_init(&prog[t]);
		mmf_prog_generate(&prog[t], seed * REAL_T + (uint64_t)t, REAL_N, MMF_DECODE_ANY);
		for (uint32_t i = 0; i < prog[t].nr_ops; i++)
			thread_of[n++] = (uint32_t)t;
	}
	for (uint32_t k = n; k > 1; k--) {
		uint32_t j = (uint32_t)(splitmix(&rng) % k), tmp = thread_of[k - 1];

		thread_of[k - 1] = thread_of[j];
		thread_of[j] = tmp;
	}
	for (uint32_t k = 0; k < n; k++)
		k_of[thread_of[k]][next[thread_of[k]]++] = k;

	hist_init(H, REAL_T);
	for (int t = 0; t < REAL_T; t++) {
		uint32_t split = 0;	/* first slot this op's call may use */

		for (uint32_t i = 0; i < prog[t].nr_ops; i++) {
			uint32_t k = k_of[t][i];
			uint32_t last = i + 1 < prog[t].nr_ops ? k_of[t][i + 1] - 1 : n - 1;
			uint32_t call = split + (uint32_t)(splitmix(&rng) % (k - split + 1));
			uint32_t ret = k + (uint32_t)(splitmix(&rng) % (last - k + 1));

			/* slots: 8 * (4 slot + 1) + t for calls, 8 * (4 slot + 3) + t for returns */
			add(H, t, prog[t].ops[i], 8 * (4 * (uint64_t)call + 1) + (uint64_t)t,
			    8 * (4 * (uint64_t)ret + 3) + (uint64_t)t, res_value(0));
			split = ret + 1;
		}
	}
	/* index of the op at position k: ops were added thread by thread */
	for (uint32_t k = 0, base; k < n; k++) {
		int t = (int)thread_of[k];

		base = 0;
		for (int u = 0; u < t; u++)
			base += prog[u].nr_ops;
		for (uint32_t i = 0; i < prog[t].nr_ops; i++) {
			if (k_of[t][i] == k)
				order[k] = base + i;
		}
	}
	results_from(H, initial, order, final);
	for (int t = 0; t < REAL_T; t++)
		mmf_prog_free(&prog[t]);
}

static void test_real_executions(void)
{
	static struct hist H;
	struct mmf_world *initial = ref->world_new(NULL);
	struct mmf_lin_result *out = calloc(1, sizeof(*out));
	uint64_t states = 0, max_states = 0, fails = 0, histories = 0;

	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct mmf_snap final;
		uint64_t rng = seed;

		real_history(&H, initial, seed, &final);
		if (!H.h.nr_ops) {
			mmf_snap_free(&final);
			continue;
		}
		histories++;
		check(&H, initial, &final, 0, out, MMF_LIN_OK);
		states += out->states;
		max_states = out->states > max_states ? out->states : max_states;

		/* one impossible result */
		H.ops[splitmix(&rng) % H.h.nr_ops].res = (struct mmf_res){ .ret = 12345 };
		if (check(&H, initial, &final, 0, out, MMF_LIN_FAIL) == MMF_LIN_FAIL) {
			char want[64];

			fails++;
			if (out->first_unplaced >= 0)
				snprintf(want, sizeof(want), "linearizability:%s",
					 mmf_op_name(H.ops[out->first_unplaced].op.kind));
			else
				snprintf(want, sizeof(want), "linearizability:snapshot");
			CHECK(!strcmp(out->sig, want), "sig %s, want %s", out->sig, want);
		}
		mmf_snap_free(&final);
	}
	CHECK(histories >= 90, "only %" PRIu64 " non-empty histories", histories);
	printf("real executions: %" PRIu64 " histories of %dx%d ops, %" PRIu64
	       " states in all (at most %" PRIu64 " for one); %" PRIu64 " broken ones failed\n",
	       histories, REAL_T, REAL_N, states, max_states, fails);
	ref->world_free(initial);
	free(out);
}

/* ---- malformed histories --------------------------------------------------------------- */

static void test_bad_history(void)
{
	static struct hist H;
	struct mmf_world *initial = ref->world_new(NULL);
	struct mmf_lin_result *out = calloc(1, sizeof(*out));
	struct mmf_snap final;

	mmf_snap_init(&final);
	ref->snapshot(initial, &final);
	hist_init(&H, 1);
	add(&H, 1, op_read(A), 1, 2, res_segv());	/* thread 1 of 1 */
	if (check(&H, initial, &final, 0, out, MMF_LIN_UNKNOWN) == MMF_LIN_UNKNOWN)
		CHECK(!strcmp(out->sig, "linearizability:bad-history"), "sig %s", out->sig);
	hist_init(&H, 1);
	add(&H, 0, op_read(A), 2, 2, res_segv());	/* returns when called */
	if (check(&H, initial, &final, 0, out, MMF_LIN_UNKNOWN) == MMF_LIN_UNKNOWN)
		CHECK(!strcmp(out->sig, "linearizability:bad-history"), "sig %s", out->sig);
	/* the empty history: linearizable when nothing changed */
	hist_init(&H, 1);
	check(&H, initial, &final, 0, out, MMF_LIN_OK);
	mmf_snap_free(&final);
	ref->world_free(initial);
	free(out);
}

/* ---- the reference's state hash ----------------------------------------------------------- */

static uint64_t snap_hash(struct mmf_world *w)
{
	struct mmf_snap s;
	uint64_t h;

	mmf_snap_init(&s);
	ref->snapshot(w, &s);
	h = mmf_snap_hash(&s);
	mmf_snap_free(&s);
	return h;
}

static void test_state_hash(void)
{
	struct mmf_world *a = ref->world_new(NULL), *b = ref->world_new(NULL), *c;

	/* two separate VMAs, faulted in opposite orders: anon_vma 1 and 2 swapped */
	setup(a, op_mmap_anon(A, PAGE));
	setup(a, op_mmap_anon(A + 2 * PAGE, PAGE));
	setup(b, op_mmap_anon(A, PAGE));
	setup(b, op_mmap_anon(A + 2 * PAGE, PAGE));
	setup(a, op_write(A, 1));
	setup(a, op_write(A + 2 * PAGE, 2));
	setup(b, op_write(A + 2 * PAGE, 2));
	setup(b, op_write(A, 1));
	CHECK(ref->state_hash(a) == ref->state_hash(b), "identities renamed: hashes differ");

	c = ref->clone(a);
	CHECK(ref->state_hash(c) == ref->state_hash(a), "a clone hashes differently");
	setup(c, op_write(A, 3));
	CHECK(ref->state_hash(c) != ref->state_hash(a), "a page value is not hashed");
	ref->world_free(c);

	/*
	 * Hidden state: a VMA whose page was written then dropped keeps its
	 * anon_vma; a fresh one has none.  Same snapshot, different futures
	 * (merging with a neighbour depends on it), different state hashes.
	 */
	ref->world_free(b);
	b = ref->world_new(NULL);
	c = ref->world_new(NULL);
	setup(b, op_mmap_anon(A, PAGE));
	setup(b, op_write(A, 1));
	setup(b, op_madvise(A, PAGE, MADV_DONTNEED));
	setup(c, op_mmap_anon(A, PAGE));
	CHECK(snap_hash(b) == snap_hash(c), "snapshots differ");
	CHECK(ref->state_hash(b) != ref->state_hash(c), "anon_vma is not hashed");

	/* hidden state: the zero page mapped by a read, versus nothing */
	ref->world_free(b);
	b = ref->clone(c);
	setup(b, op_read(A));
	setup(c, op_madvise(A, PAGE, MADV_DONTNEED));
	CHECK(ref->state_hash(b) != ref->state_hash(c), "a zero-page PTE is not hashed");

	ref->world_free(a);
	ref->world_free(b);
	ref->world_free(c);
}

/* ---- --bench ---------------------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench_one(const char *what, int n, int conflict, uint64_t final_x)
{
	static struct hist H;
	struct mmf_world *initial = wide_world();
	struct mmf_lin_result *out = calloc(1, sizeof(*out));
	struct mmf_lin_limits lim = { .max_states = UINT64_MAX };
	struct mmf_snap final;
	enum mmf_lin_verdict v;
	double t0, t;

	wide_history(&H, initial, 4, n, conflict, final_x, &final);
	t0 = now();
	v = mmf_linearize(ref, initial, &H.h, &final, &lim, out);
	t = now() - t0;
	printf("%-42s 4x%-3d %-5s %9" PRIu64 " states %9" PRIu64 " clones %9" PRIu64
	       " memo hits %7.3f s %5.2f us/state\n",
	       what, n, verdict_name(v), out->states, out->clones, out->memo_hits, t,
	       out->states ? 1e6 * t / (double)out->states : 0.0);
	mmf_snap_free(&final);
	ref->world_free(initial);
	free(out);
}

static int bench(int n)
{
	if (n < 2 || n > WIDE_MAX_N) {
		fprintf(stderr, "--bench N: 2 <= N <= %d\n", WIDE_MAX_N);
		return 2;
	}
	bench_one("linearizable, conflict at n/2", n, n / 2, 0xa);
	bench_one("linearizable, conflict at op 0", n, 0, 0xa);
	bench_one("not linearizable (worst case: exhaustive)", n, 0, 0xc);
	bench_one("linearizable, round robin first try", n, n, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return bench(argc > 2 ? atoi(argv[2]) : 32);
	verbose = argc > 1 && !strcmp(argv[1], "-v");
	test_sequential();
	test_overlap();
	test_real_time();
	test_snapshot();
	test_wide();
	test_real_executions();
	test_bad_history();
	test_state_hash();
	return CHECK_SUMMARY();
}
