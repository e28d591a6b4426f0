/* SPDX-License-Identifier: MIT */
/*
 * core/tests/test_tree_rcu.c - lockless readers against a writer.
 *
 * Reader threads look VMAs up under mmf_rcu_read_lock() alone (the per-VMA
 * lock fast path) while a writer, holding the "mmap_lock" for write,
 * inserts, erases, splits (erase + two inserts in one transaction) and
 * merges (one store over two VMAs).  Fake VMAs are freed through
 * mmf_call_rcu(), as vm_area_free does.  Readers check that every VMA they
 * find is alive (magic), agrees with the tree's range, and that the
 * "persistent" region, which is only ever split and merged, never shows a
 * gap (commits are atomic).  Meant to run clean under TSan and ASan.
 *
 * Broken variants, for demonstrating that TSan catches a missing grace
 * period (registered in the TSan build as tests that pass when TSan reports):
 *   --broken-free    erased VMAs are freed at once instead of via call_rcu
 *   (the core_test_tree_rcu_broken_tree binary links a tree built with
 *    VMA_TREE_BROKEN_NO_RCU: replaced tree nodes are freed at commit)
 */
#include "vma_tree.h"
#include "t.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#define MAGIC		0x564d4121u	/* "VMA!" */
#define SLOT		64ULL		/* address units per slot */
#define NSLOTS		512
#define NPERSIST	64		/* slots [0, NPERSIST): always covered */
#define SPACE		(NSLOTS * SLOT)
#define NREADERS	3

struct fvma {
	uint64_t start, end;	/* immutable after publication */
	uint32_t magic;
	struct mmf_rcu_head rcu;
};

static struct vma_tree tree;
static struct vma_tree_stats stats;
static struct mmf_rwsem mmap_lock;
static int broken_free;
static int stop;
static long vma_allocs, vma_frees;	/* atomics */
static long reads, hits;		/* atomics */

static struct fvma *vma_new(uint64_t s, uint64_t e)
{
	struct fvma *v = calloc(1, sizeof(*v));

	v->start = s;
	v->end = e;
	v->magic = MAGIC;
	__atomic_add_fetch(&vma_allocs, 1, __ATOMIC_RELAXED);
	return v;
}

static void vma_free_rcu(struct mmf_rcu_head *h)
{
	struct fvma *v = container_of(h, struct fvma, rcu);

	v->magic = 0xdead;	/* a write a premature free would race with */
	free(v);
	__atomic_add_fetch(&vma_frees, 1, __ATOMIC_RELAXED);
}

static void vma_free(struct fvma *v)
{
	if (broken_free) {
		vma_free_rcu(&v->rcu);		/* WRONG: readers may hold v */
		return;
	}
	mmf_call_rcu(&v->rcu, vma_free_rcu);
}

static bool vma_ok(const struct fvma *v, const struct vma_tree_range *r)
{
	return v->magic == MAGIC && v->start == r->start && v->end == r->end;
}

static void *reader(void *arg)
{
	unsigned long long s = (uintptr_t)arg * 7777 + 1;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		uint64_t addr = t_rand(&s) % SPACE;
		struct vma_tree_range r, r2;
		struct fvma *v, *w;
		int k;

		mmf_rcu_read_lock();
		v = vma_tree_load(&tree, addr, &r);
		if (v) {
			__atomic_add_fetch(&hits, 1, __ATOMIC_RELEASE);
			EXPECT(vma_ok(v, &r) && r.start <= addr && addr < r.end,
			       "load(%#llx): stale or freed VMA", (unsigned long long)addr);
		} else {
			EXPECT(addr >= NPERSIST * SLOT, "gap at %#llx in the persistent region",
			       (unsigned long long)addr);
		}
		/* a short walk forwards, as a reader-side iteration would */
		w = vma_tree_find(&tree, addr, &r);
		for (k = 0; w && k < 4; k++) {
			EXPECT(vma_ok(w, &r) && r.end > addr, "find walk: bad VMA");
			/* each lookup may see a newer tree (a merge can return
			 * an entry starting before r.end): only end > r.end */
			w = vma_tree_find(&tree, r.end, &r2);
			if (w)
				EXPECT(r2.end > r.end, "walk went backwards");
			r = r2;
		}
		w = vma_tree_find_prev(&tree, addr, &r);
		if (w)
			EXPECT(vma_ok(w, &r) && r.start < addr, "prev: bad VMA");
		mmf_rcu_read_unlock();
		__atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Wait until a reader has found a VMA since the writer got here.  The writer
 * calls this every 1000 operations, so lookups interleave with the writes
 * however the machine schedules the threads (on a loaded machine the writer
 * could otherwise finish before any reader had started, and the readers'
 * checks, and the broken variants' races, would have nothing to see).
 */
static void wait_for_reader_hit(void)
{
	long seen = __atomic_load_n(&hits, __ATOMIC_ACQUIRE);

	while (__atomic_load_n(&hits, __ATOMIC_ACQUIRE) == seen)
		sched_yield();
}

static void writer_op(unsigned long long *s)
{
	unsigned r = t_rand(s) % 100;
	struct vma_tree_range rr, r2;
	struct fvma *v, *w, *n1, *n2;

	mmf_down_write(&mmap_lock);
	if (r < 30) {			/* insert a whole dynamic slot */
		uint64_t slot = NPERSIST + t_rand(s) % (NSLOTS - NPERSIST);

		if (!vma_tree_find(&tree, slot * SLOT, &rr) || rr.start >= (slot + 1) * SLOT) {
			v = vma_new(slot * SLOT, (slot + 1) * SLOT);
			EXPECT(vma_tree_insert(&tree, v->start, v->end, v) == 0, "insert");
		}
	} else if (r < 60) {		/* erase whatever covers a dynamic address */
		uint64_t addr = NPERSIST * SLOT + t_rand(s) % (SPACE - NPERSIST * SLOT);

		v = vma_tree_load(&tree, addr, &rr);
		if (v && rr.start >= NPERSIST * SLOT) {
			EXPECT(vma_tree_erase(&tree, addr, NULL) == v, "erase");
			vma_free(v);
		}
	} else if (r < 80) {		/* split a VMA in one transaction */
		uint64_t addr = t_rand(s) % SPACE;

		v = vma_tree_load(&tree, addr, &rr);
		if (v && rr.end - rr.start >= 2) {
			uint64_t mid = rr.start + 1 + t_rand(s) % (rr.end - rr.start - 1);

			n1 = vma_new(rr.start, mid);
			n2 = vma_new(mid, rr.end);
			vma_tree_begin(&tree);
			EXPECT(vma_tree_erase(&tree, addr, NULL) == v, "split: erase");
			EXPECT(vma_tree_insert(&tree, n1->start, n1->end, n1) == 0, "split: left");
			EXPECT(vma_tree_insert(&tree, n2->start, n2->end, n2) == 0, "split: right");
			vma_tree_commit(&tree);
			vma_free(v);
		}
	} else {			/* merge a VMA with its adjacent successor */
		uint64_t addr = t_rand(s) % SPACE;

		v = vma_tree_load(&tree, addr, &rr);
		w = v ? vma_tree_find(&tree, rr.end, &r2) : NULL;
		/* never across the persistent/dynamic border: erase must not
		 * take a piece of the persistent region with it */
		if (w && r2.start == rr.end && rr.end != NPERSIST * SLOT) {
			n1 = vma_new(rr.start, r2.end);
			EXPECT(vma_tree_store(&tree, n1->start, n1->end, n1) == 2, "merge store");
			vma_free(v);
			vma_free(w);
		}
	}
	mmf_up_write(&mmap_lock);
}

int main(int argc, char **argv)
{
	pthread_t th[NREADERS];
	unsigned long long s = 12345;
	long ops = 20000;
	char msg[256];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--broken-free"))
			broken_free = 1;
		else if (!strcmp(argv[i], "--expect-race"))
			;	/* the broken-tree binary: same run */
		else
			ops = atol(argv[i]);
	}
	if (broken_free)
		printf("BROKEN VARIANT: VMAs freed without a grace period\n");
#ifdef VMA_TREE_BROKEN_NO_RCU
	printf("BROKEN VARIANT: tree nodes freed without a grace period\n");
#endif

	mmf_rwsem_init(&mmap_lock);
	vma_tree_init(&tree, &stats, &mmap_lock);
	mmf_down_write(&mmap_lock);
	for (i = 0; i < NPERSIST; i++) {
		struct fvma *v = vma_new(i * SLOT, (i + 1) * SLOT);

		vma_tree_insert(&tree, v->start, v->end, v);
	}
	mmf_up_write(&mmap_lock);

	for (i = 0; i < NREADERS; i++)
		pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)i);
	for (long op = 0; op < ops; op++) {
		if (op % 1000 == 0)
			wait_for_reader_hit();
		writer_op(&s);
		if (op % 5000 == 4999) {
			mmf_down_read(&mmap_lock);
			EXPECT(vma_tree_check(&tree, msg, sizeof(msg)) == 0, "%s", msg);
			mmf_up_read(&mmap_lock);
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NREADERS; i++)
		pthread_join(th[i], NULL);

	mmf_down_write(&mmap_lock);
	CHECK(vma_tree_check(&tree, msg, sizeof(msg)) == 0, "%s", msg);
	printf("writer: %ld ops; readers: %ld lookups, %ld hits; %lu VMAs, height %d, %lu nodes\n",
	       ops, reads, hits, vma_tree_count(&tree), vma_tree_height(&tree),
	       vma_tree_nr_nodes(&tree));
	{
		struct vma_tree_range r;
		struct fvma *v;

		while ((v = vma_tree_find(&tree, 0, &r))) {
			vma_tree_erase(&tree, r.start, NULL);
			vma_free(v);
		}
	}
	mmf_up_write(&mmap_lock);
	vma_tree_destroy(&tree, true);
	mmf_rcu_barrier();
	printf("vma alloc %ld free %ld; tree_node_alloc %ld tree_node_free %ld; rcu batches %ld\n",
	       vma_allocs, vma_frees, mmf_atomic_long_read(&stats.node_alloc),
	       mmf_atomic_long_read(&stats.node_free), mmf_atomic_long_read(&stats.rcu_calls));
	CHECK(vma_allocs == vma_frees, "every VMA freed");
	CHECK(mmf_atomic_long_read(&stats.node_alloc) == mmf_atomic_long_read(&stats.node_free),
	      "every tree node freed");
	mmf_rwsem_destroy(&mmap_lock);
	return t_done();
}
