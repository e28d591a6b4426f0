/* SPDX-License-Identifier: MIT */
/*
 * core/tests/test_vma_tree.c - the VMA tree against a simple model (a
 * sorted array), under random insert / erase / store / lookups with fixed
 * seeds; transactions and their visibility to other threads; 64K entries
 * with node counts; the checker catching corruption.
 */
#include "vma_tree.h"
#include "t.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* ---- the model ------------------------------------------------------------ */

struct ment {
	uint64_t start, end;
	void *val;
};

struct model {
	struct ment *e;
	size_t n, cap;
};

/* index of the first entry with end > addr */
static size_t m_find(const struct model *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->e[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void m_insert(struct model *m, uint64_t s, uint64_t e, void *v)
{
	size_t i = m_find(m, s);

	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->e = realloc(m->e, m->cap * sizeof(*m->e));
	}
	memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(*m->e));
	m->e[i] = (struct ment){ s, e, v };
	m->n++;
}

static void m_remove(struct model *m, size_t i)
{
	memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof(*m->e));
	m->n--;
}

static bool m_overlaps(const struct model *m, uint64_t s, uint64_t e)
{
	size_t i = m_find(m, s);

	return i < m->n && m->e[i].start < e;
}

static int m_store(struct model *m, uint64_t s, uint64_t e, void *v)
{
	size_t i = m_find(m, s), j;
	int removed = 0;

	for (j = i; j < m->n && m->e[j].start < e; j++)
		if ((m->e[j].start < s || m->e[j].end > e) && m->e[j].val != v)
			return -EINVAL;
	while (i < m->n && m->e[i].start < e) {
		m_remove(m, i);
		removed++;
	}
	if (v)
		m_insert(m, s, e, v);
	return removed;
}

/* ---- helpers --------------------------------------------------------------- */

static struct vma_tree_stats stats;
static struct mmf_rwsem lock;
static uintptr_t next_id;

static void *new_val(void)
{
	return (void *)(++next_id * 16);
}

static bool tree_check(struct vma_tree *t, const char *when)
{
	char msg[256];

	return EXPECT(vma_tree_check(t, msg, sizeof(msg)) == 0, "%s: %s", when, msg);
}

static bool same_as_model(struct vma_tree *t, const struct model *m)
{
	struct vma_tree_range r;
	void *v;
	size_t i = 0;

	if (!EXPECT(vma_tree_count(t) == m->n, "count %lu model %zu", vma_tree_count(t), m->n))
		return false;
	vma_tree_for_each(t, v, r, 0, UINT64_MAX) {
		if (!EXPECT(i < m->n && m->e[i].start == r.start && m->e[i].end == r.end &&
			    m->e[i].val == v, "entry %zu [%#llx,%#llx) differs", i,
			    (unsigned long long)r.start, (unsigned long long)r.end))
			return false;
		i++;
	}
	if (!EXPECT(i == m->n, "iterated %zu of %zu", i, m->n))
		return false;
	/* and backwards with vma_tree_prev from the last entry */
	if (m->n) {
		r.start = r.end = UINT64_MAX;
		v = vma_tree_find_prev(t, UINT64_MAX, &r);
		for (i = m->n; v; v = vma_tree_prev(t, &r)) {
			i--;
			if (!EXPECT(m->e[i].start == r.start && m->e[i].val == v,
				    "backwards entry %zu differs", i))
				return false;
			if (i == 0)
				break;
		}
		if (!EXPECT(i == 0 && vma_tree_prev(t, &r) == NULL, "backwards walk stopped at %zu", i))
			return false;
	}
	return true;
}

static bool lookups_match(struct vma_tree *t, const struct model *m, uint64_t addr)
{
	struct vma_tree_range r;
	size_t i = m_find(m, addr);
	void *v;
	bool ok = true;

	/* find: first end > addr */
	v = vma_tree_find(t, addr, &r);
	if (i < m->n)
		ok &= EXPECT(v == m->e[i].val && r.start == m->e[i].start && r.end == m->e[i].end,
			     "find(%#llx)", (unsigned long long)addr);
	else
		ok &= EXPECT(v == NULL, "find(%#llx) past the end", (unsigned long long)addr);
	/* load: covering */
	v = vma_tree_load(t, addr, NULL);
	ok &= EXPECT(v == (i < m->n && m->e[i].start <= addr ? m->e[i].val : NULL),
		     "load(%#llx)", (unsigned long long)addr);
	/* prev: last start < addr */
	{
		size_t k = (i < m->n && m->e[i].start < addr) ? i + 1 : i;

		v = vma_tree_find_prev(t, addr, &r);
		if (k > 0)
			ok &= EXPECT(v == m->e[k - 1].val && r.start == m->e[k - 1].start,
				     "prev(%#llx)", (unsigned long long)addr);
		else
			ok &= EXPECT(v == NULL, "prev(%#llx) before the start",
				     (unsigned long long)addr);
	}
	return ok;
}

/* ---- basic -------------------------------------------------------------------- */

static void test_basic(void)
{
	struct vma_tree t;
	struct vma_tree_range r;
	void *a = new_val(), *b = new_val(), *c = new_val();
	char msg[256];

	vma_tree_init(&t, &stats, &lock);
	mmf_down_write(&lock);
	CHECK(vma_tree_find(&t, 0, NULL) == NULL, "empty find");
	CHECK(vma_tree_find_prev(&t, ~0ULL, NULL) == NULL, "empty prev");
	CHECK(vma_tree_height(&t) == 0 && vma_tree_check(&t, msg, sizeof(msg)) == 0, "empty ok");
	CHECK(vma_tree_insert(&t, 10, 10, a) == -EINVAL, "empty range");
	CHECK(vma_tree_insert(&t, 10, 20, NULL) == -EINVAL, "NULL value");
	CHECK(vma_tree_insert(&t, 10, 20, a) == 0, "insert");
	CHECK(vma_tree_insert(&t, 19, 25, b) == -EEXIST, "overlap right");
	CHECK(vma_tree_insert(&t, 5, 11, b) == -EEXIST, "overlap left");
	CHECK(vma_tree_insert(&t, 12, 13, b) == -EEXIST, "inside");
	CHECK(vma_tree_insert(&t, 0, 100, b) == -EEXIST, "around");
	CHECK(vma_tree_insert(&t, 20, 30, b) == 0, "adjacent insert");
	CHECK(vma_tree_load(&t, 19, &r) == a && r.start == 10 && r.end == 20, "load 19");
	CHECK(vma_tree_load(&t, 20, &r) == b && r.start == 20 && r.end == 30, "load 20");
	CHECK(vma_tree_load(&t, 9, NULL) == NULL && vma_tree_find(&t, 9, NULL) == a, "gap");
	CHECK(vma_tree_find_prev(&t, 20, &r) == a, "prev of b's start is a");
	CHECK(vma_tree_find_prev(&t, 10, &r) == NULL, "nothing before a");

	/* store: partial overlap by another entry is refused */
	CHECK(vma_tree_store(&t, 15, 25, c) == -EINVAL, "store over half of a and b");
	CHECK(vma_tree_count(&t) == 2, "unchanged after -EINVAL");
	/* store: expand a over b's range (b inside), i.e. a merge */
	CHECK(vma_tree_store(&t, 10, 30, a) == 2, "merge removes a's old entry and b");
	CHECK(vma_tree_load(&t, 25, &r) == a && r.start == 10 && r.end == 30, "merged");
	/* store: shrink a; the rest becomes a gap */
	CHECK(vma_tree_store(&t, 10, 15, a) == 1, "shrink");
	CHECK(vma_tree_load(&t, 20, NULL) == NULL && vma_tree_load(&t, 14, NULL) == a, "shrunk");
	/* split in one transaction: a [10,12) + c [12,15) */
	vma_tree_begin(&t);
	CHECK(vma_tree_store(&t, 10, 12, a) == 1, "split: shrink");
	CHECK(vma_tree_insert(&t, 12, 15, c) == 0, "split: insert");
	CHECK(vma_tree_load(&t, 13, NULL) == c, "own txn visible to the writer");
	vma_tree_commit(&t);
	CHECK(vma_tree_check(&t, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(vma_tree_store(&t, 0, 100, NULL) == 2, "clear a range");
	CHECK(vma_tree_count(&t) == 0 && vma_tree_find(&t, 0, NULL) == NULL, "cleared");
	CHECK(vma_tree_erase(&t, 5, NULL) == NULL, "erase nothing");
	CHECK(vma_tree_check(&t, msg, sizeof(msg)) == 0, "%s", msg);
	mmf_up_write(&lock);
	vma_tree_destroy(&t, false);
}

/* ---- transaction visibility to another thread --------------------------------- */

struct peek {
	struct vma_tree *t;
	uint64_t addr;
};

static void *peek_thread(void *arg)
{
	struct peek *p = arg;
	void *v;

	mmf_rcu_read_lock();
	v = vma_tree_load(p->t, p->addr, NULL);
	mmf_rcu_read_unlock();
	return v;
}

static void *peek(struct vma_tree *t, uint64_t addr)
{
	struct peek p = { t, addr };
	pthread_t th;
	void *v;

	pthread_create(&th, NULL, peek_thread, &p);
	pthread_join(th, &v);
	return v;
}

static void test_txn_visibility(void)
{
	struct vma_tree t;
	void *a = new_val(), *b = new_val();

	vma_tree_init(&t, &stats, &lock);
	mmf_down_write(&lock);
	vma_tree_insert(&t, 100, 200, a);
	vma_tree_begin(&t);
	vma_tree_erase(&t, 150, NULL);
	vma_tree_insert(&t, 100, 150, b);
	CHECK(vma_tree_load(&t, 120, NULL) == b, "writer sees its txn");
	CHECK(peek(&t, 120) == a && peek(&t, 170) == a, "reader sees the committed tree");
	vma_tree_commit(&t);
	CHECK(peek(&t, 120) == b && peek(&t, 170) == NULL, "reader sees the commit");
	mmf_up_write(&lock);
	vma_tree_destroy(&t, true);
}

/* ---- random ops against the model ------------------------------------------- */

#define SPACE 0x8000ULL		/* small space: plenty of overlaps */

static void random_run(unsigned long long seed, int nops)
{
	struct vma_tree t;
	struct model m = { 0 };
	unsigned long long s = seed;
	int op, in_txn = 0, txn_left = 0;
	long nins = 0, ners = 0, nst = 0, nlook = 0;
	bool ok = true;

	vma_tree_init(&t, &stats, &lock);
	mmf_down_write(&lock);
	for (op = 0; op < nops && ok; op++) {
		unsigned r = t_rand(&s) % 100;
		uint64_t a = t_rand(&s) % SPACE;
		uint64_t len = 1 + t_rand(&s) % (t_rand(&s) % 4 ? 16 : 256);

		if (!in_txn && t_rand(&s) % 50 == 0) {
			vma_tree_begin(&t);
			in_txn = 1;
			txn_left = 1 + t_rand(&s) % 8;
		}
		if (r < 35) {
			void *v = new_val();
			int want = m_overlaps(&m, a, a + len) ? -EEXIST : 0;
			int got = vma_tree_insert(&t, a, a + len, v);

			ok &= EXPECT(got == want, "seed %llu op %d insert [%#llx,%#llx): %d want %d",
				     seed, op, (unsigned long long)a,
				     (unsigned long long)(a + len), got, want);
			if (want == 0)
				m_insert(&m, a, a + len, v);
			nins++;
		} else if (r < 55) {
			size_t i = m_find(&m, a);
			void *want = i < m.n && m.e[i].start <= a ? m.e[i].val : NULL;
			struct vma_tree_range rr;
			void *got = vma_tree_erase(&t, a, &rr);

			ok &= EXPECT(got == want, "seed %llu op %d erase(%#llx)", seed, op,
				     (unsigned long long)a);
			if (want) {
				ok &= EXPECT(rr.start == m.e[i].start && rr.end == m.e[i].end,
					     "erase range");
				m_remove(&m, i);
			}
			ners++;
		} else if (r < 70) {
			uint64_t b = a + len;
			void *v;
			int mode = t_rand(&s) % 3, want, got;

			if (mode == 0) {
				v = new_val();
			} else if (mode == 1 || m.n == 0) {
				v = NULL;
			} else {
				/* an existing entry, moved/grown/shrunk around itself */
				struct ment e = m.e[t_rand(&s) % m.n];
				uint64_t lo = e.start > 32 ? e.start - 32 : 0;

				v = e.val;
				a = lo + t_rand(&s) % (e.end - lo);		/* a < e.end */
				if (a < e.start)
					b = e.start + 1 + t_rand(&s) % (e.end + 32 - e.start);
				else
					b = a + 1 + t_rand(&s) % (e.end + 32 - a);
			}
			want = m_store(&m, a, b, v);
			got = vma_tree_store(&t, a, b, v);
			ok &= EXPECT(got == want, "seed %llu op %d store [%#llx,%#llx) %p: %d want %d",
				     seed, op, (unsigned long long)a, (unsigned long long)b,
				     v, got, want);
			nst++;
		} else {
			ok &= lookups_match(&t, &m, a);
			nlook++;
		}
		if (in_txn && --txn_left == 0) {
			vma_tree_commit(&t);
			in_txn = 0;
		}
		if (!in_txn && (op % 1000 == 999 || !ok)) {
			ok &= tree_check(&t, "random");
			ok &= same_as_model(&t, &m);
		}
	}
	if (in_txn)
		vma_tree_commit(&t);
	ok &= tree_check(&t, "random end");
	ok &= same_as_model(&t, &m);
	CHECK(ok, "seed %llu: random run diverged at op %d", seed, op);
	printf("seed %llu: %d ops (%ld insert, %ld erase, %ld store, %ld lookup), "
	       "%lu entries, height %d, %lu nodes\n",
	       seed, op, nins, ners, nst, nlook, vma_tree_count(&t), vma_tree_height(&t),
	       vma_tree_nr_nodes(&t));
	mmf_up_write(&lock);
	vma_tree_destroy(&t, true);
	free(m.e);
}

/* ---- 64K entries ----------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define BIG 65536

static void test_64k(void)
{
	struct vma_tree t;
	static uint32_t perm[BIG];
	unsigned long long s = 42;
	long alloc0, alloc1;
	double t0, t1, t2;
	int i, bad = 0, h;
	const uint64_t page = 4096;

	vma_tree_init(&t, &stats, &lock);
	mmf_down_write(&lock);
	for (i = 0; i < BIG; i++)
		perm[i] = i;
	for (i = BIG - 1; i > 0; i--) {
		uint32_t j = t_rand(&s) % (i + 1), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	alloc0 = mmf_atomic_long_read(&stats.node_alloc);
	t0 = now();
	/* VMA k at [2k pages, 2k+1 pages): a one-page gap between neighbours */
	for (i = 0; i < BIG; i++)
		bad += vma_tree_insert(&t, 2 * perm[i] * page, (2 * perm[i] + 1) * page,
				       (void *)(uintptr_t)((perm[i] + 1) * 16)) != 0;
	t1 = now();
	CHECK(bad == 0, "%d inserts failed", bad);
	CHECK(vma_tree_count(&t) == BIG, "count %lu", vma_tree_count(&t));
	tree_check(&t, "64k");
	h = vma_tree_height(&t);
	alloc1 = mmf_atomic_long_read(&stats.node_alloc) - alloc0;
	printf("64K random inserts: height %d, %lu live nodes (%.1f entries/leaf-ish), "
	       "%ld nodes allocated, %.3f s\n", h, vma_tree_nr_nodes(&t),
	       (double)BIG / vma_tree_nr_nodes(&t), alloc1, t1 - t0);
	CHECK(h >= 4 && h <= 6, "height %d is logarithmic", h);
	CHECK(vma_tree_nr_nodes(&t) <= BIG / (16 / 2) * 2, "nodes %lu bounded by fill",
	      vma_tree_nr_nodes(&t));
	/* path copying: one insert into a full-size tree copies one path */
	{
		long before = mmf_atomic_long_read(&stats.node_alloc);

		vma_tree_insert(&t, (2ULL * BIG + 10) * page, (2ULL * BIG + 11) * page,
				(void *)(uintptr_t)((BIG + 5) * 16));
		vma_tree_erase(&t, (2ULL * BIG + 10) * page, NULL);
		CHECK(mmf_atomic_long_read(&stats.node_alloc) - before <= 2 * (h + 2),
		      "one insert+erase allocated %ld nodes (height %d)",
		      mmf_atomic_long_read(&stats.node_alloc) - before, h);
	}
	for (i = 0; i < BIG; i++) {
		uint64_t k = t_rand(&s) % BIG;
		struct vma_tree_range r;
		void *v = vma_tree_load(&t, 2 * k * page + 5, &r);

		bad += v != (void *)(uintptr_t)((k + 1) * 16) || r.start != 2 * k * page;
		bad += vma_tree_load(&t, (2 * k + 1) * page, NULL) != NULL;
		v = vma_tree_find(&t, (2 * k + 1) * page, &r);
		bad += k + 1 < BIG ? r.start != (2 * k + 2) * page : v != NULL;
	}
	t2 = now();
	CHECK(bad == 0, "%d lookups wrong", bad);
	printf("64K random lookups x3: %.3f s\n", t2 - t1);
	/* a batch of 256 inserts in one transaction shares its path copies */
	{
		long before = mmf_atomic_long_read(&stats.node_alloc);

		vma_tree_begin(&t);
		for (i = 0; i < 256; i++)
			vma_tree_insert(&t, (2ULL * i + 1) * page, (2ULL * i + 2) * page,
					(void *)(uintptr_t)((BIG + 100 + i) * 16));
		vma_tree_commit(&t);
		printf("256 adjacent inserts in one txn: %ld nodes allocated\n",
		       mmf_atomic_long_read(&stats.node_alloc) - before);
		CHECK(mmf_atomic_long_read(&stats.node_alloc) - before < 256,
		      "txn shares copies");
		tree_check(&t, "64k txn");
		CHECK(vma_tree_store(&t, 0, 512 * page, NULL) == 512, "clear 512 entries");
	}
	/* erase everything in random order */
	for (i = 0; i < BIG; i++)
		bad += vma_tree_erase(&t, 2ULL * perm[(i * 7919) % BIG] * page, NULL) == NULL &&
		       perm[(i * 7919) % BIG] >= 256;
	CHECK(bad == 0, "%d erases failed", bad);
	CHECK(vma_tree_count(&t) == 0 && vma_tree_nr_nodes(&t) == 0, "empty again: %lu nodes",
	      vma_tree_nr_nodes(&t));
	tree_check(&t, "64k erased");
	mmf_up_write(&lock);
	vma_tree_destroy(&t, true);
	printf("64K erase all: %.3f s\n", now() - t2);
}

/* ---- the checker catches corruption ------------------------------------------- */

struct vt_node_view {		/* leading fields of struct vt_node */
	uint64_t start[16];
	uint64_t end[16];
	void *slot[16];
};

static void test_checker(void)
{
	struct vma_tree t;
	struct vt_node_view *leaf;
	char msg[256];
	uint64_t saved;
	void *v;
	int i;

	vma_tree_init(&t, &stats, &lock);
	mmf_down_write(&lock);
	for (i = 0; i < 5; i++)
		vma_tree_insert(&t, i * 10, i * 10 + 5, new_val());
	CHECK(vma_tree_check(&t, msg, sizeof(msg)) == 0, "%s", msg);
	leaf = (struct vt_node_view *)t.wroot;
	saved = leaf->end[1];
	leaf->end[1] = leaf->start[2] + 1;
	CHECK(vma_tree_check(&t, msg, sizeof(msg)) == -1 && strstr(msg, "overlaps"),
	      "overlap detected: %s", msg);
	leaf->end[1] = saved;
	v = leaf->slot[3];
	leaf->slot[3] = leaf->slot[0];
	CHECK(vma_tree_check(&t, msg, sizeof(msg)) == -1 && strstr(msg, "twice"),
	      "duplicate value detected: %s", msg);
	leaf->slot[3] = v;
	/* many values (the sorting path, values differing in every byte) */
	for (i = 5; i < 300; i++)
		vma_tree_insert(&t, i * 10, i * 10 + 5,
				(void *)(uintptr_t)(0x9e3779b97f4a7c10ULL * (uint64_t)i));
	CHECK(vma_tree_check(&t, msg, sizeof(msg)) == 0, "%s", msg);
	for (i = 0; i < 3; i++) {
		uint64_t at[3] = { 5, 150, 299 };	/* duplicate a far-away value */
		struct vma_tree_range r;
		void *old = vma_tree_load(&t, at[i] * 10, &r);

		CHECK(vma_tree_store(&t, at[i] * 10, at[i] * 10 + 5,
				     vma_tree_load(&t, (at[i] * 7 % 295 + 5) * 10, NULL)) >= 0,
		      "store");
		CHECK(vma_tree_check(&t, msg, sizeof(msg)) == -1 && strstr(msg, "twice"),
		      "duplicate value among 300 detected: %s", msg);
		vma_tree_store(&t, at[i] * 10, at[i] * 10 + 5, old);
		CHECK(vma_tree_check(&t, msg, sizeof(msg)) == 0, "%s", msg);
	}
	for (i = 5; i < 300; i++)
		vma_tree_erase(&t, i * 10, NULL);
	t.count++;
	CHECK(vma_tree_check(&t, msg, sizeof(msg)) == -1 && strstr(msg, "count"),
	      "count mismatch detected: %s", msg);
	t.count--;
	CHECK(vma_tree_check(&t, msg, sizeof(msg)) == 0, "%s", msg);
	mmf_up_write(&lock);
	vma_tree_destroy(&t, false);
}

int main(int argc, char **argv)
{
	static const unsigned long long seeds[] = { 1, 2, 3, 0xdeadbeef, 20240607 };
	int nops = argc > 1 ? atoi(argv[1]) : 100000;
	long alloc, freed;

	mmf_rwsem_init(&lock);
	test_basic();
	test_txn_visibility();
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		random_run(seeds[i], nops);
	test_64k();
	test_checker();

	mmf_rcu_barrier();
	alloc = mmf_atomic_long_read(&stats.node_alloc);
	freed = mmf_atomic_long_read(&stats.node_free);
	printf("tree_node_alloc %ld, tree_node_free %ld, rcu batches %ld\n", alloc, freed,
	       mmf_atomic_long_read(&stats.rcu_calls));
	CHECK(alloc == freed && alloc > 0, "every node freed after rcu_barrier: %ld vs %ld",
	      alloc, freed);
	CHECK(mmf_sync_locks_held() == 0, "no lock held");
	mmf_rwsem_destroy(&lock);
	return t_done();
}
