/* SPDX-License-Identifier: MIT */
/*
 * core/tests/test_sched_tree.c - the RCU-safe VMA tree (core/vma_tree.c)
 * under the deterministic scheduler: reader fibers walk the tree under
 * mmf_rcu_read_lock() alone while a writer fiber, holding the "mmap_lock"
 * for write, inserts, erases and splits (one transaction).  A walk is
 * preemptible between levels (each child is an RCU dereference), so every
 * schedule that parks a reader on a node the writer replaces tests the
 * tree's grace period.
 *
 *   core_test_sched_tree             every schedule clean: VMAs alive and
 *                                    matching their range
 *   core_test_sched_tree_broken      the tree built with
 *                                    VMA_TREE_BROKEN_NO_RCU (replaced nodes
 *                                    freed at commit): a schedule ends in a
 *                                    sanitizer's use-after-free report
 */
#include "sched_ctl.h"
#include "vma_tree.h"
#include "t.h"

#include <string.h>

#define MAGIC		0x564d4121u	/* "VMA!" */
#define SLOT		64ULL
#define NSLOTS		256
#define SPACE		(NSLOTS * SLOT)
#define NREADERS	2
#define WRITER_OPS	24
#define READER_LOOKUPS	20

struct fvma {
	uint64_t start, end;
	uint32_t magic;
	struct mmf_rcu_head rcu;
};

static struct vma_tree tree;
static struct vma_tree_stats stats;
static struct mmf_rwsem mmap_lock;
static int bad_lookups;			/* readers: atomically */

static struct fvma *vma_new(uint64_t s, uint64_t e)
{
	struct fvma *v = calloc(1, sizeof(*v));

	v->start = s;
	v->end = e;
	v->magic = MAGIC;
	return v;
}

static void vma_free_rcu(struct mmf_rcu_head *h)
{
	struct fvma *v = container_of(h, struct fvma, rcu);

	v->magic = 0xdead;
	free(v);
}

static bool vma_ok(const struct fvma *v, const struct vma_tree_range *r)
{
	return v->magic == MAGIC && v->start == r->start && v->end == r->end;
}

static void reader(unsigned long long s)
{
	for (int i = 0; i < READER_LOOKUPS; i++) {
		uint64_t addr = t_rand(&s) % SPACE;
		struct vma_tree_range r;
		struct fvma *v;

		mmf_rcu_read_lock();
		v = vma_tree_find(&tree, addr, &r);
		mmf_sched_point();
		if (v && !(vma_ok(v, &r) && r.end > addr))
			__atomic_add_fetch(&bad_lookups, 1, __ATOMIC_RELAXED);
		v = vma_tree_find_prev(&tree, addr, &r);
		if (v && !(vma_ok(v, &r) && r.start < addr))
			__atomic_add_fetch(&bad_lookups, 1, __ATOMIC_RELAXED);
		mmf_rcu_read_unlock();
	}
}

/* Insert into an empty slot, erase a full one, or split it in a transaction. */
static void writer_op(unsigned long long *s)
{
	uint64_t k = t_rand(s) % NSLOTS, a = k * SLOT;
	struct vma_tree_range r;
	struct fvma *v;

	mmf_down_write(&mmap_lock);
	v = vma_tree_load(&tree, a, &r);
	if (!v) {
		v = vma_new(a, a + SLOT);
		if (vma_tree_insert(&tree, a, a + SLOT, v))
			free(v);	/* a neighbour's half covers it */
	} else if (t_rand(s) % 2) {
		vma_tree_erase(&tree, a, NULL);
		mmf_call_rcu(&v->rcu, vma_free_rcu);
	} else if (r.end - r.start >= 2) {
		uint64_t mid = r.start + (r.end - r.start) / 2;

		vma_tree_begin(&tree);
		vma_tree_erase(&tree, r.start, NULL);
		vma_tree_insert(&tree, r.start, mid, vma_new(r.start, mid));
		vma_tree_insert(&tree, mid, r.end, vma_new(mid, r.end));
		vma_tree_commit(&tree);
		mmf_call_rcu(&v->rcu, vma_free_rcu);
	}
	mmf_up_write(&mmap_lock);
}

static void fiber(void *arg)
{
	long id = (long)arg;
	unsigned long long s = 1234 + id;

	if (id == 0) {
		for (int i = 0; i < WRITER_OPS; i++)
			writer_op(&s);
	} else {
		reader(s);
	}
}

/* A fresh tree of NSLOTS / 2 entries (height 2 or more), built in the main context. */
static void tree_setup(void)
{
	vma_tree_init(&tree, &stats, &mmap_lock);
	mmf_down_write(&mmap_lock);
	for (uint64_t k = 0; k < NSLOTS; k += 2)
		vma_tree_insert(&tree, k * SLOT, (k + 1) * SLOT, vma_new(k * SLOT, (k + 1) * SLOT));
	mmf_up_write(&mmap_lock);
}

static void tree_teardown(void)
{
	struct vma_tree_range r;
	struct fvma *v;

	mmf_down_write(&mmap_lock);
	while ((v = vma_tree_find(&tree, 0, &r))) {
		vma_tree_erase(&tree, r.start, NULL);
		mmf_call_rcu(&v->rcu, vma_free_rcu);
	}
	mmf_up_write(&mmap_lock);
	vma_tree_destroy(&tree, true);
	mmf_rcu_barrier();
}

int main(int argc, char **argv)
{
	int nr_schedules = argc > 1 ? atoi(argv[1]) : 400, height = 0;
	unsigned long long seed = 42;
	uint8_t bytes[128];

	mmf_rwsem_init(&mmap_lock);
	for (int s = 0; s < nr_schedules; s++) {
		struct mmf_sched_opts opts = { .schedule = bytes };
		char msg[256];

		/* short run lengths: a decision every few points */
		opts.schedule_len = t_rand(&seed) % sizeof(bytes);
		for (size_t i = 0; i < opts.schedule_len; i++) {
			unsigned long long r = t_rand(&seed);

			bytes[i] = (uint8_t)((r & 7) | ((r >> 8) % 6) << 3);
		}
		tree_setup();
		if (!height)
			height = vma_tree_height(&tree);
		mmf_sched_begin(&opts);
		for (long f = 0; f <= NREADERS; f++)
			mmf_sched_spawn(fiber, (void *)f);
		mmf_sched_run();
		mmf_sched_end();
		EXPECT(!vma_tree_check(&tree, msg, sizeof(msg)), "schedule %d: %s", s, msg);
		tree_teardown();
	}
	CHECK(height >= 2, "tree height %d: walks cross levels", height);
	CHECK(bad_lookups == 0, "%d lookups found a stale or freed VMA", bad_lookups);
	CHECK(mmf_atomic_long_read(&stats.node_alloc) == mmf_atomic_long_read(&stats.node_free),
	      "every node freed");
	mmf_rwsem_destroy(&mmap_lock);
	return t_done();
}
