/* SPDX-License-Identifier: MIT */
/*
 * core/tests/test_stress.c - real threads on one core world.
 *
 * Per round, six threads run generated op streams (prog/gen.c) at once:
 *
 *   t0, t1   each on its own process, anonymous memory only (file ops and
 *            file mappings filtered out, no fork/exit).  Nothing else
 *            touches their address spaces, so every result must equal that
 *            of the same stream run alone on the reference: a per-op
 *            oracle under full concurrency.
 *   t2, t3   each on its own process, everything: file mappings of the two
 *            shared files, truncate / file_read / file_write of them (which
 *            reach every process through i_mmap), fork of a short-lived
 *            child (a few ops, then exit)
 *   t4, t5   the same, both on ONE process: per-VMA-lock faults race
 *            mmap_lock writers of the same mm
 *
 * After the join the invariant checker (mmf_core.check) must pass and a
 * snapshot must be taken cleanly; the world is freed (RCU callbacks run).
 * Under the tsan preset the test must be TSan-clean.
 *
 * A stream is SEGMENTS generated programs (MMF_PROG_MAX_OPS ops each, a
 * fresh seed each) run back to back; the threads start together from a
 * barrier.
 *
 * usage: core_test_stress [ROUNDS [SEGMENTS]]   (defaults: 8 rounds, 8 segments)
 */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/mm.h"
#include "mmfuzz/prog.h"
#include "t.h"

extern const struct mmf_impl mmf_core;

#define NTHREADS	6
#define NFILES		2

struct worker {
	struct mmf_world *w;
	int id;
	int proc;		/* the process this thread runs on */
	bool anon_only;		/* checked against the reference */
	uint64_t seed;
	uint32_t segments;
	struct mmf_op *ops;	/* the stream actually run */
	uint32_t nr_ops;
	pthread_barrier_t *start;
	struct mmf_res *res;	/* its results (anon_only) */
	unsigned long forks, nexec;
};

static bool uses_file(const struct mmf_op *op)
{
	switch (op->kind) {
	case MMF_OP_MMAP:
		return !(op->flags & MAP_ANONYMOUS);
	case MMF_OP_FILE_CREATE:
	case MMF_OP_TRUNCATE:
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		return true;
	default:
		return false;
	}
}

/* Turn a generated program into this worker's stream. */
static void make_stream(struct worker *wk)
{
	struct mmf_prog gen;

	wk->ops = calloc((size_t)wk->segments * MMF_PROG_MAX_OPS, sizeof(*wk->ops));
	wk->nr_ops = 0;
	mmf_prog_init(&gen);
	for (uint32_t s = 0; s < wk->segments; s++) {
		mmf_prog_generate(&gen, wk->seed * 131 + s, MMF_PROG_MAX_OPS, MMF_DECODE_ANY);
		for (uint32_t i = 0; i < gen.nr_ops; i++) {
			struct mmf_op op = gen.ops[i];

			if (op.kind == MMF_OP_EXIT || op.kind == MMF_OP_FILE_CREATE)
				continue;
			if (wk->anon_only && (op.kind == MMF_OP_FORK || uses_file(&op)))
				continue;
			op.proc = wk->proc;
			if (op.file >= 0)
				op.file %= NFILES;	/* the shared files f0, f1 */
			wk->ops[wk->nr_ops++] = op;
		}
	}
	mmf_prog_free(&gen);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	unsigned long long rnd = wk->seed * 0x9e3779b97f4a7c15ULL + 1;

	pthread_barrier_wait(wk->start);

	for (uint32_t i = 0; i < wk->nr_ops; i++) {
		struct mmf_op op = wk->ops[i];
		struct mmf_res r;

		memset(&r, 0, sizeof(r));
		mmf_core.exec(wk->w, &op, &r);
		wk->nexec++;
		if (wk->anon_only) {
			wk->res[i] = r;
			continue;
		}
		if (op.kind == MMF_OP_FORK && r.ret > 0) {
			/* a short-lived child: a few ops of the stream on it, then exit */
			int child = (int)r.ret;
			uint32_t k, n = 1 + (uint32_t)(t_rand(&rnd) % 4);

			wk->forks++;
			for (k = 0; k < n && i + 1 + k < wk->nr_ops; k++) {
				struct mmf_op cop = wk->ops[i + 1 + k];

				if (cop.kind == MMF_OP_FORK)
					continue;
				cop.proc = child;
				mmf_core.exec(wk->w, &cop, &r);
				wk->nexec++;
			}
			op = (struct mmf_op){ .kind = MMF_OP_EXIT, .proc = child };
			mmf_core.exec(wk->w, &op, &r);
			EXPECT(r.ret == 0, "t%d: exit of child p%d = %lld", wk->id, child,
			       (long long)r.ret);
		}
	}
	return NULL;
}

/* Run an anon-only stream alone on the reference; compare op by op. */
static void check_against_reference(struct worker *wk)
{
	struct mmf_world *rw = mmf_reference.world_new(NULL);
	char text[512], a[64], b[64];

	for (uint32_t i = 0; i < wk->nr_ops; i++) {
		struct mmf_op op = wk->ops[i];
		struct mmf_res r;

		memset(&r, 0, sizeof(r));
		op.proc = 0;
		mmf_reference.exec(rw, &op, &r);
		if (!EXPECT(r.ret == wk->res[i].ret && r.sig == wk->res[i].sig &&
			    r.si_code == wk->res[i].si_code &&
			    ((op.kind != MMF_OP_READ) || r.value == wk->res[i].value),
			    "t%d seed %llu op %u: %s: core %s, reference %s", wk->id,
			    (unsigned long long)wk->seed, i, mmf_op_format(&op, text, sizeof(text)),
			    mmf_res_str(op.kind, &wk->res[i], a, sizeof(a)),
			    mmf_res_str(op.kind, &r, b, sizeof(b))))
			break;
	}
	mmf_reference.world_free(rw);
}

static void round_run(int round, uint32_t segments, unsigned long *total_ops,
		      unsigned long *total_forks)
{
	struct mmf_world *w = mmf_core.world_new(NULL);
	struct worker wk[NTHREADS];
	pthread_t th[NTHREADS];
	struct mmf_op op;
	struct mmf_res r;
	struct mmf_snap snap;
	pthread_barrier_t start;
	char msg[512];
	int i;

	/* two shared files with some cached pages, and processes p1..p4 */
	for (i = 0; i < NFILES; i++) {
		op = (struct mmf_op){ .kind = MMF_OP_FILE_CREATE, .len = 32 * MMF_PAGE_SIZE };
		mmf_core.exec(w, &op, &r);
		CHECK(r.ret == i, "round %d: file_create = f%d", round, i);
		for (int pg = 0; pg < 8; pg++) {
			op = (struct mmf_op){ .kind = MMF_OP_FILE_WRITE, .file = i, .pgoff = pg * 3,
					      .value = 0x1000 + pg };
			mmf_core.exec(w, &op, &r);
		}
	}
	for (i = 1; i <= 4; i++) {
		op = (struct mmf_op){ .kind = MMF_OP_FORK, .proc = 0 };
		mmf_core.exec(w, &op, &r);
		CHECK(r.ret == i, "round %d: fork = p%d", round, i);
	}

	for (i = 0; i < NTHREADS; i++) {
		memset(&wk[i], 0, sizeof(wk[i]));
		wk[i].w = w;
		wk[i].id = i;
		wk[i].proc = i < 4 ? i : 4;		/* t4 and t5 share p4 */
		wk[i].anon_only = i < 2;
		wk[i].seed = 1000003ULL * (uint64_t)round + 7919ULL * (uint64_t)i + 1;
		wk[i].segments = segments;
		wk[i].start = &start;
		make_stream(&wk[i]);
		wk[i].res = calloc(wk[i].nr_ops + 1, sizeof(*wk[i].res));
	}
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, worker_main, &wk[i]);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);

	msg[0] = '\0';
	CHECK(mmf_core.check(w, msg, sizeof(msg)) == 0, "round %d: invariant: %s", round, msg);
	mmf_snap_init(&snap);
	mmf_core.snapshot(w, &snap);
	CHECK(snap.nr_files == NFILES, "round %d: snapshot: %u files", round, snap.nr_files);
	mmf_snap_free(&snap);

	for (i = 0; i < NTHREADS; i++) {
		if (wk[i].anon_only)
			check_against_reference(&wk[i]);
		*total_ops += wk[i].nexec;
		*total_forks += wk[i].forks;
		free(wk[i].res);
		free(wk[i].ops);
	}

	/* exit everything: no VMA may stay allocated or queued */
	for (i = 0; i < MMF_MAX_PROCS; i++) {
		op = (struct mmf_op){ .kind = MMF_OP_EXIT, .proc = i };
		mmf_core.exec(w, &op, &r);
	}
	msg[0] = '\0';
	CHECK(mmf_core.check(w, msg, sizeof(msg)) == 0, "round %d: after exit: %s", round, msg);
	{
		struct mmf_counters c;

		mmf_core.counters(w, &c);
		CHECK(c.vma_free == c.vma_alloc, "round %d: every VMA freed (%llu of %llu)", round,
		      (unsigned long long)c.vma_free, (unsigned long long)c.vma_alloc);
		if (round == 0)
			mmf_counters_print(stderr, &c);
	}
	mmf_core.world_free(w);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 8;
	uint32_t segments = argc > 2 ? (uint32_t)atoi(argv[2]) : 8;
	unsigned long ops = 0, forks = 0;

	for (int round = 0; round < rounds; round++)
		round_run(round, segments, &ops, &forks);
	fprintf(stderr, "stress: %d rounds, %d threads, %lu ops, %lu forks\n", rounds, NTHREADS,
		ops, forks);
	return t_done();
}
