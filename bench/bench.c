// SPDX-License-Identifier: MIT
/*
 * bench/bench.c - the core against the reference, and each of the core's
 * mechanisms against its pre-patch behaviour (core_set_legacy), through the
 * public API (struct mmf_impl) in one process.
 *
 * Every row is one workload run REPS times per variant; the table shows the
 * median, in CPU time per op (process user+sys, CLOCK_PROCESS_CPUTIME_ID)
 * and wall time per op for the single-threaded rows, and in ops per wall
 * second for the threaded rows (faults/s and the writer's ops/s).  The
 * counters (struct mmf_counters) of the timed part of the last repetition
 * are printed beside the times.  Run it with scripts/bench.sh (release
 * preset); the figures are for comparing variants measured in the same run.
 *
 * Usage: mmfuzz_bench [--quick] [--reps N] [--only SUBSTRING] [--variant NAME]
 *
 * --variant NAME runs only that variant of each row (reference, core, or a
 * pre-patch switch's name); the other columns print as 0.  Under valgrind
 * (callgrind), instructions are collected only inside the timed part of a
 * workload (CALLGRIND_TOGGLE_COLLECT), so
 *	valgrind --tool=callgrind --collect-atstart=no \
 *		build/release/bench/mmfuzz_bench --only fork --variant core --reps 1
 * counts the fork itself, not the setup that populates the process; each
 * row's variant is dumped to a profile of its own (CALLGRIND_DUMP_STATS_AT).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "mm.h"		/* core/mm.h: core_set_legacy, CORE_LEGACY_* */

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_TOGGLE_COLLECT	((void)0)
#define CALLGRIND_DUMP_STATS_AT(s)	((void)(s))
#define RUNNING_ON_VALGRIND		0
#endif

extern const struct mmf_impl mmf_core;

struct variant {
	const char *name;
	const struct mmf_impl *impl;
	unsigned int legacy;
};

static int reps = 5;
static bool quick;

/* ---- time ---------------------------------------------------------------- */

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct clock_pair {
	double cpu, wall;
};

static void clock_start(struct clock_pair *c)
{
	c->cpu = now(CLOCK_PROCESS_CPUTIME_ID);
	c->wall = now(CLOCK_MONOTONIC);
}

static void clock_stop(struct clock_pair *c)
{
	c->cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c->cpu;
	c->wall = now(CLOCK_MONOTONIC) - c->wall;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- driving a world --------------------------------------------------------- */

struct ctx {
	const struct mmf_impl *impl;
	struct mmf_world *w;
};

static int64_t run(struct ctx *c, const struct mmf_op *op)
{
	struct mmf_res res;

	c->impl->exec(c->w, op, &res);
	return res.sig ? -1000 - res.sig : res.ret;
}

static int64_t must(struct ctx *c, const struct mmf_op *op)
{
	int64_t r = run(c, op);

	if (r < 0 && op->kind != MMF_OP_READ && op->kind != MMF_OP_WRITE) {
		fprintf(stderr, "bench: %s %s failed: %lld\n", c->impl->name,
			mmf_op_name(op->kind), (long long)r);
		exit(1);
	}
	return r;
}

static struct mmf_op op_mmap(int proc, uint64_t addr, uint64_t len, uint32_t prot,
			     uint32_t flags, int file, uint64_t pgoff)
{
	struct mmf_op op = { .kind = MMF_OP_MMAP, .proc = proc, .addr = addr, .len = len,
			     .prot = prot, .flags = flags, .file = file, .pgoff = pgoff };
	return op;
}

static struct mmf_op op_range(enum mmf_op_kind kind, int proc, uint64_t addr, uint64_t len)
{
	struct mmf_op op = { .kind = kind, .proc = proc, .addr = addr, .len = len };
	return op;
}

static void ctx_new(struct ctx *c, const struct variant *v)
{
	struct mmf_config cfg = { .max_map_count = 1u << 20,
				  .single_threaded = RUNNING_ON_VALGRIND != 0 };

	c->impl = v->impl;
	c->w = v->impl->world_new(&cfg);
	if (v->impl == &mmf_core)
		core_set_legacy(c->w, v->legacy);
}

static void ctx_free(struct ctx *c)
{
	c->impl->world_free(c->w);
}

static void counters_delta(struct ctx *c, const struct mmf_counters *before,
			   struct mmf_counters *out)
{
	struct mmf_counters now_c;

	c->impl->counters(c->w, &now_c);
#define DELTA(name) out->name = now_c.name - before->name;
	MMF_COUNTERS(DELTA)
#undef DELTA
}

/* n anonymous one-page VMAs laid down from MMF_MMAP_BASE downwards without
 * holes, alternating prot so that neighbours never merge (a non-fixed mmap
 * must look below all of them); returns the lowest address. */
#define RW (PROT_READ | PROT_WRITE)
static uint64_t populate_vmas(struct ctx *c, int proc, int n, bool named)
{
	uint64_t lowest = 0;
	int i;

	for (i = 0; i < n; i++) {
		/* fixed addresses: the setup must not cost a placement walk */
		struct mmf_op op = op_mmap(proc, MMF_MMAP_BASE - (uint64_t)(i + 1) * MMF_PAGE_SIZE,
					   MMF_PAGE_SIZE, i & 1 ? PROT_READ : RW,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		lowest = (uint64_t)must(c, &op);
		if (named) {
			struct mmf_op nm = op_range(MMF_OP_SET_NAME, proc, lowest, MMF_PAGE_SIZE);

			snprintf(nm.name, sizeof(nm.name), "bench-%d", i % 8);
			must(c, &nm);
		}
	}
	return lowest;
}

/* ---- results ----------------------------------------------------------------- */

struct result {
	double cpu, wall;	/* seconds per op (medians) */
	double rate, wrate;	/* threaded rows: ops/s of faulters, of the writer */
	struct mmf_counters cnt;
	unsigned long ops;
};

typedef void (*workload_fn)(struct ctx *c, int n, struct clock_pair *t, unsigned long *ops,
			    struct mmf_counters *cnt);

static struct result measure(const struct variant *v, workload_fn fn, int n)
{
	double cpu[32], wall[32];
	struct result r = { 0 };
	int i;

	for (i = 0; i < reps; i++) {
		struct ctx c;
		struct clock_pair t;

		ctx_new(&c, v);
		fn(&c, n, &t, &r.ops, &r.cnt);
		ctx_free(&c);
		cpu[i] = t.cpu / r.ops;
		wall[i] = t.wall / r.ops;
	}
	r.cpu = median(cpu, reps);
	r.wall = median(wall, reps);
	return r;
}

/* ---- single-threaded workloads ---------------------------------------------- */

/*
 * Under valgrind only: the core frees VMAs and tree nodes in RCU callbacks,
 * on its worker thread whenever that thread runs, and callgrind's client
 * requests toggle collection for the calling thread only.  So under
 * valgrind the worlds defer their callbacks (mmf_config.single_threaded:
 * the callbacks run in mmf_rcu_barrier, on the caller's thread), and the
 * timed part starts (uncounted: the setup's callbacks) and ends with a
 * barrier: a profile counts the op's whole work,
 * freeing included, the same on every run.  (Run no threaded row so.)
 */
static void callgrind_rcu_barrier(struct ctx *c)
{
	if (RUNNING_ON_VALGRIND && c->impl == &mmf_core)
		mmf_rcu_barrier();
}

#define TIMED_BEGIN(c, t, before) \
	do { callgrind_rcu_barrier(c); (c)->impl->counters((c)->w, &(before)); \
	     clock_start(t); CALLGRIND_TOGGLE_COLLECT; } while (0)
#define TIMED_END(c, t, before, cnt) \
	do { callgrind_rcu_barrier(c); CALLGRIND_TOGGLE_COLLECT; clock_stop(t); \
	     counters_delta((c), &(before), (cnt)); } while (0)

/* One op (kind) of p0 on a process with n VMAs, named or not: fork, exit. */
static void time_one_op(struct ctx *c, int n, bool named, enum mmf_op_kind kind,
			struct clock_pair *t, unsigned long *ops, struct mmf_counters *cnt)
{
	struct mmf_op op = { .kind = kind, .proc = 0 };
	struct mmf_counters b;

	populate_vmas(c, 0, n, named);
	TIMED_BEGIN(c, t, b);
	must(c, &op);
	TIMED_END(c, t, b, cnt);
	*ops = 1;
}

/* fork of a process with n named VMAs. */
static void wl_fork(struct ctx *c, int n, struct clock_pair *t, unsigned long *ops,
		    struct mmf_counters *cnt)
{
	time_one_op(c, n, true, MMF_OP_FORK, t, ops, cnt);
}

/* exit of a process with n VMAs (the world is then empty). */
static void wl_exit(struct ctx *c, int n, struct clock_pair *t, unsigned long *ops,
		    struct mmf_counters *cnt)
{
	time_one_op(c, n, false, MMF_OP_EXIT, t, ops, cnt);
}

#define MMAP_OPS 2000

/* MAP_FIXED mmap replacing one VMA among n (same prot: no merge). */
static void wl_mmap_fixed(struct ctx *c, int n, struct clock_pair *t, unsigned long *ops,
			  struct mmf_counters *cnt)
{
	uint64_t low = populate_vmas(c, 0, n, false);
	struct mmf_counters b;
	int i;

	TIMED_BEGIN(c, t, b);
	for (i = 0; i < MMAP_OPS; i++) {
		/* VMA j sits at low + (n-1-j) pages; its prot is j & 1 */
		int j = (int)((i * 7919L) % n);
		struct mmf_op op = op_mmap(0, low + (uint64_t)(n - 1 - j) * MMF_PAGE_SIZE,
					   MMF_PAGE_SIZE, j & 1 ? PROT_READ : RW,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		must(c, &op);
	}
	TIMED_END(c, t, b, cnt);
	*ops = MMAP_OPS;
}

/* non-fixed mmap of one page (placed below the n VMAs) and its munmap: one op pair. */
static void wl_mmap_munmap(struct ctx *c, int n, struct clock_pair *t, unsigned long *ops,
			   struct mmf_counters *cnt)
{
	struct mmf_counters b;
	int i;

	int nops = n > 4096 ? MMAP_OPS / 10 : MMAP_OPS;

	populate_vmas(c, 0, n, false);
	TIMED_BEGIN(c, t, b);
	for (i = 0; i < nops; i++) {
		struct mmf_op op = op_mmap(0, 0, MMF_PAGE_SIZE, PROT_READ | PROT_EXEC,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct mmf_op un = op_range(MMF_OP_MUNMAP, 0, (uint64_t)must(c, &op),
					    MMF_PAGE_SIZE);
		must(c, &un);
	}
	TIMED_END(c, t, b, cnt);
	*ops = nops;
}

#define FAULT_PAGES 1024
#define FAULT_OPS 200000

/* write faults on present pages of a 1024-page VMA, beside n other VMAs. */
static void wl_fault(struct ctx *c, int n, struct clock_pair *t, unsigned long *ops,
		     struct mmf_counters *cnt)
{
	struct mmf_op m = op_mmap(0, 0, FAULT_PAGES * MMF_PAGE_SIZE, RW,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct mmf_counters b;
	uint64_t base;
	int i;

	populate_vmas(c, 0, n, false);
	base = (uint64_t)must(c, &m);
	TIMED_BEGIN(c, t, b);
	for (i = 0; i < FAULT_OPS; i++) {
		struct mmf_op wr = { .kind = MMF_OP_WRITE, .proc = 0,
				     .addr = base + (uint64_t)(i % FAULT_PAGES) * MMF_PAGE_SIZE,
				     .value = i };
		must(c, &wr);
	}
	TIMED_END(c, t, b, cnt);
	*ops = FAULT_OPS;
}

/*
 * exec-like churn: fork p0, map what a dynamically linked exec maps (five
 * VMAs of one file: text, rodata, data, relro, bss-like tail, plus a heap
 * and a stack), exit the child.  One op = one fork+mmaps+exit.
 */
#define EXEC_ITERS 300
static void wl_exec(struct ctx *c, int n, struct clock_pair *t, unsigned long *ops,
		    struct mmf_counters *cnt)
{
	struct mmf_op fc = { .kind = MMF_OP_FILE_CREATE, .len = 64 * MMF_PAGE_SIZE };
	static const uint32_t prots[5] = { PROT_READ, PROT_READ | PROT_EXEC, PROT_READ,
					   RW, PROT_READ };
	struct mmf_counters b;
	int fid, i, k;

	(void)n;
	fid = (int)must(c, &fc);
	TIMED_BEGIN(c, t, b);
	for (i = 0; i < EXEC_ITERS; i++) {
		struct mmf_op fork = { .kind = MMF_OP_FORK, .proc = 0 };
		int child = (int)must(c, &fork);
		uint64_t base = 0x40000000;
		struct mmf_op ex = { .kind = MMF_OP_EXIT, .proc = child };

		for (k = 0; k < 5; k++) {
			struct mmf_op m = op_mmap(child, base + k * 4 * MMF_PAGE_SIZE,
						  4 * MMF_PAGE_SIZE, prots[k],
						  MAP_PRIVATE | MAP_FIXED, fid, k * 4);
			must(c, &m);
		}
		struct mmf_op heap = op_mmap(child, 0, 32 * MMF_PAGE_SIZE, RW,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		must(c, &heap);
		must(c, &ex);
	}
	TIMED_END(c, t, b, cnt);
	*ops = EXEC_ITERS;
}

/* ---- threaded workloads ------------------------------------------------------- */

#define RUN_SECONDS 0.4

struct thr {
	struct ctx *c;
	int proc;
	uint64_t base;
	int kind;		/* 0: faulter, 1: mmap/munmap/mprotect writer, 2: file mmap writer */
	int fid;
	volatile int *stop;
	unsigned long ops;
};

static void *thr_main(void *arg)
{
	struct thr *th = arg;
	unsigned long i = 0;

	while (!__atomic_load_n(th->stop, __ATOMIC_RELAXED)) {
		if (th->kind == 0) {
			struct mmf_op wr = { .kind = MMF_OP_WRITE, .proc = th->proc,
					     .addr = th->base + (i % FAULT_PAGES) * MMF_PAGE_SIZE,
					     .value = i };
			run(th->c, &wr);
		} else if (th->kind == 1) {
			struct mmf_op m = op_mmap(th->proc, 0, 4 * MMF_PAGE_SIZE, RW,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			int64_t a = run(th->c, &m);
			struct mmf_op p = op_range(MMF_OP_MPROTECT, th->proc, (uint64_t)a,
						   MMF_PAGE_SIZE);
			struct mmf_op u = op_range(MMF_OP_MUNMAP, th->proc, (uint64_t)a,
						   4 * MMF_PAGE_SIZE);

			p.prot = PROT_READ;
			run(th->c, &p);
			run(th->c, &u);
		} else {
			struct mmf_op m = op_mmap(th->proc, 0, 4 * MMF_PAGE_SIZE, PROT_READ,
						  MAP_SHARED, th->fid, 0);
			int64_t a = run(th->c, &m);
			struct mmf_op u = op_range(MMF_OP_MUNMAP, th->proc, (uint64_t)a,
						   4 * MMF_PAGE_SIZE);
			run(th->c, &u);
		}
		i++;
	}
	th->ops = i;
	return NULL;
}

/*
 * nf faulting threads on a populated 1024-page VMA of p0, beside one
 * writer (kind 1: mmap/mprotect/munmap in p0; kind 2: mmap/munmap of a
 * shared file VMA, with the faulters on a mapping of the same file).
 */
static void threaded(struct ctx *c, int nf, int wkind, double *rate, double *wrate,
		     struct mmf_counters *cnt, struct clock_pair *t)
{
	pthread_t tid[4];
	struct thr th[4];
	volatile int stop = 0;
	struct mmf_counters b;
	struct timespec ts = { 0, (long)(RUN_SECONDS * 1e9) };
	int fid = -1, i;
	uint64_t base;
	unsigned long faults = 0;

	populate_vmas(c, 0, 1000, false);
	if (wkind == 2) {
		struct mmf_op fc = { .kind = MMF_OP_FILE_CREATE, .len = FAULT_PAGES * MMF_PAGE_SIZE };
		struct mmf_op m;

		fid = (int)must(c, &fc);
		m = op_mmap(0, 0, FAULT_PAGES * MMF_PAGE_SIZE, RW, MAP_SHARED | MAP_POPULATE,
			    fid, 0);
		base = (uint64_t)must(c, &m);
	} else {
		struct mmf_op m = op_mmap(0, 0, FAULT_PAGES * MMF_PAGE_SIZE, RW,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		base = (uint64_t)must(c, &m);
	}
	for (i = 0; i <= nf; i++)
		th[i] = (struct thr){ .c = c, .proc = 0, .base = base, .fid = fid,
				      .kind = i < nf ? 0 : wkind, .stop = &stop };
	TIMED_BEGIN(c, t, b);
	for (i = 0; i <= nf; i++)
		pthread_create(&tid[i], NULL, thr_main, &th[i]);
	nanosleep(&ts, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i <= nf; i++)
		pthread_join(tid[i], NULL);
	TIMED_END(c, t, b, cnt);
	for (i = 0; i < nf; i++)
		faults += th[i].ops;
	*rate = faults / t->wall;
	*wrate = th[nf].ops / t->wall;
}

static struct result measure_threaded(const struct variant *v, int nf, int wkind)
{
	double rate[32], wrate[32], cpu[32];
	struct result r = { 0 };
	int i;

	for (i = 0; i < reps; i++) {
		struct ctx c;
		struct clock_pair t;

		ctx_new(&c, v);
		threaded(&c, nf, wkind, &rate[i], &wrate[i], &r.cnt, &t);
		ctx_free(&c);
		cpu[i] = t.cpu / t.wall;	/* CPUs busy */
	}
	r.rate = median(rate, reps);
	r.wrate = median(wrate, reps);
	r.cpu = median(cpu, reps);
	return r;
}

/* ---- the table ----------------------------------------------------------------- */

static const char *only;
static const char *only_variant;

static bool variant_skipped(const struct variant *v)
{
	return only_variant && (!v->name || strcmp(v->name, only_variant));
}

static void print_counters(const struct mmf_counters *c)
{
	printf(" i_mmap=%llu mmap_r=%llu mmap_w=%llu vl_hit=%llu vl_fb=%llu rcu=%llu"
	       " name_a=%llu name_c=%llu node_a=%llu",
	       (unsigned long long)c->i_mmap_lock, (unsigned long long)c->mmap_lock_read,
	       (unsigned long long)c->mmap_lock_write, (unsigned long long)c->vma_lock_hit,
	       (unsigned long long)c->vma_lock_fallback, (unsigned long long)c->call_rcu,
	       (unsigned long long)c->name_alloc, (unsigned long long)c->name_copy,
	       (unsigned long long)c->tree_node_alloc);
}

static void row(const char *what, workload_fn fn, int n, unsigned int legacy,
		const char *legacy_name)
{
	struct variant vs[3] = {
		{ "reference", &mmf_reference, 0 },
		{ "core", &mmf_core, 0 },
		{ legacy_name, &mmf_core, legacy },
	};
	struct result r[3];
	int i, nv = legacy ? 3 : 2;

	if (only && !strstr(what, only))
		return;
	for (i = 0; i < nv; i++) {
		char label[96];

		if (variant_skipped(&vs[i])) {
			r[i] = (struct result){ 0 };
			continue;
		}
		r[i] = measure(&vs[i], fn, n);
		/* callgrind: one profile per row and variant */
		snprintf(label, sizeof(label), "%s %d %s", what, n, vs[i].name);
		CALLGRIND_DUMP_STATS_AT(label);
	}
	printf("%-26s %6d | ref %9.2f us | core %9.2f us (wall %9.2f) | core/ref %6.2fx",
	       what, n, r[0].cpu * 1e6, r[1].cpu * 1e6, r[1].wall * 1e6, r[1].cpu / r[0].cpu);
	if (nv == 3)
		printf(" | %s %9.2f us (%.2fx core)", legacy_name, r[2].cpu * 1e6,
		       r[2].cpu / r[1].cpu);
	printf("\n    core:");
	print_counters(&r[1].cnt);
	if (nv == 3) {
		printf("\n    %s:", legacy_name);
		print_counters(&r[2].cnt);
	}
	printf("\n");
	fflush(stdout);
}

static void row_threaded(const char *what, int nf, int wkind, unsigned int legacy,
			 const char *legacy_name)
{
	struct variant vs[3] = {
		{ "reference", &mmf_reference, 0 },
		{ "core", &mmf_core, 0 },
		{ legacy_name, &mmf_core, legacy },
	};
	struct result r[3];
	int i;

	if (only && !strstr(what, only))
		return;
	for (i = 0; i < 3; i++)
		r[i] = variant_skipped(&vs[i]) ? (struct result){ 0 } :
		       measure_threaded(&vs[i], nf, wkind);
	printf("%-26s %6d |", what, nf);
	for (i = 0; i < 3; i++)
		printf(" %s %8.0f f/s w %7.0f/s (%.1f cpu) |", vs[i].name, r[i].rate, r[i].wrate,
		       r[i].cpu);
	printf(" core/%s faults %.2fx writer %.2fx\n", legacy_name, r[1].rate / r[2].rate,
	       r[1].wrate / r[2].wrate);
	for (i = 1; i < 3; i++) {
		printf("    %s:", vs[i].name);
		print_counters(&r[i].cnt);
		printf("\n");
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int big, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--variant") && i + 1 < argc)
			only_variant = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--quick] [--reps N] [--only SUBSTRING]"
				" [--variant NAME]\n",
				argv[0]);
			return 2;
		}
	}
	if (reps < 1 || reps > 32)
		reps = 5;
	if (quick)
		reps = 3;
	big = quick ? 16384 : 65536;
	printf("# mmfuzz bench: median of %d; single-threaded rows: CPU us per op; "
	       "threaded rows: ops per wall second over %.1f s\n", reps, RUN_SECONDS);
	row("fork named VMAs", wl_fork, big, CORE_LEGACY_NAME_COPY, "name-strdup");
	row("exit VMAs", wl_exit, 1000, CORE_LEGACY_RCU_PER_VMA, "rcu-per-vma");
	row("exit VMAs", wl_exit, big, CORE_LEGACY_RCU_PER_VMA, "rcu-per-vma");
	row("mmap MAP_FIXED", wl_mmap_fixed, 1000, 0, NULL);
	row("mmap MAP_FIXED", wl_mmap_fixed, big, 0, NULL);
	row("mmap+munmap", wl_mmap_munmap, 1000, 0, NULL);
	row("mmap+munmap", wl_mmap_munmap, big, 0, NULL);
	row("fault (1 thread)", wl_fault, 1000, CORE_LEGACY_NO_VMA_LOCK, "mmap_lock-only");
	row("fault (1 thread)", wl_fault, big, CORE_LEGACY_NO_VMA_LOCK, "mmap_lock-only");
	row("exec-like churn", wl_exec, 0, CORE_LEGACY_UNLINK, "unbatched-unlink");
	row_threaded("faults beside writer", 1, 1, CORE_LEGACY_NO_VMA_LOCK, "mmap_lock-only");
	row_threaded("faults beside writer", 2, 1, CORE_LEGACY_NO_VMA_LOCK, "mmap_lock-only");
	row_threaded("file mmap beside faults", 1, 2, CORE_LEGACY_I_MMAP_TREE, "i_mmap-tree");
	return 0;
}
