/* SPDX-License-Identifier: MIT */
/*
 * core/vma_tree.c - a copy-on-write B+tree of disjoint ranges, readable
 * under RCU.  Rules and API: vma_tree.h.
 *
 * Shape.  Every node has up to VT_SLOTS (16) items; an item is a triple
 * (start, end, slot).  In a leaf the triple is an entry: [start, end) maps
 * to the value `slot`.  In an internal node it summarises a child: `start`
 * is the child's first start, `end` its last end, `slot` the child.  Items
 * are sorted; since the ranges are disjoint, sorting by start also sorts by
 * end, so one array serves both directions of search:
 *   find(addr)  first entry with end > addr:   descend into the first child
 *               whose last end > addr;
 *   prev(addr)  last entry with start < addr:  descend into the last child
 *               whose first start < addr.
 * All leaves are at the same depth; a node other than the root has at
 * least VT_MIN items; an internal root has at least two.  With 64K entries
 * the height is 4 or 5.
 *
 * Copy-on-write.  A node is never modified once it may be reachable by a
 * reader.  Each transaction has a generation; a node whose gen equals the
 * tree's current gen was allocated by this transaction and is not yet
 * published, so the writer updates it in place; any other node on the
 * writer's path is first copied (cow()), and the original goes on the
 * retired list.  Commit publishes the working root with a release store,
 * then hands the retired list to RCU as one batch.  A node allocated and
 * dropped within one transaction was never visible and is freed at once.
 *
 * Readers therefore need no ordering beyond the acquire load of the root:
 * every node reachable from a root was fully written before that root was
 * published and is immutable afterwards.
 */
#include "vma_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VT_SLOTS	16
#define VT_MIN		(VT_SLOTS / 2)

struct vt_node {
	uint64_t start[VT_SLOTS];
	uint64_t end[VT_SLOTS];
	void *slot[VT_SLOTS];
	uint64_t gap[VT_SLOTS];		/* internal: largest gap inside child i */
	uint64_t gen;			/* transaction that allocated it */
	uint8_t leaf;
	uint8_t n;			/* items in use */
	/* retirement: written by the writer after the node is replaced,
	 * never read by lookups */
	struct vt_node *retire_next;
	struct vma_tree_stats *stats;
	struct mmf_rcu_head rcu;
};

static struct vma_tree_stats fallback_stats;

/* ---- nodes --------------------------------------------------------------- */

size_t vma_tree_node_size(void)
{
	return sizeof(struct vt_node);
}

/*
 * A node with its header zeroed; its item arrays are left as they come
 * (every caller fills the items it counts in n, and nothing reads an item
 * at or beyond n): a node is mostly arrays, and cow/dup_node overwrite
 * them right away.
 */
static struct vt_node *node_alloc(struct vma_tree *t, bool leaf)
{
	struct objcache *cache = t->stats->cache;
	struct vt_node *n = cache ? objcache_alloc_uninit(cache) : malloc(sizeof(*n));

	if (!n)
		mmf_sync_bug("vma_tree: out of memory");
	memset(&n->gen, 0, sizeof(*n) - offsetof(struct vt_node, gen));
	n->gen = t->gen;
	n->leaf = leaf;
	n->stats = t->stats;
	t->nr_nodes++;
	mmf_atomic_long_inc(&t->stats->node_alloc);
	return n;
}

static void node_free_now(struct vt_node *n)
{
	struct vma_tree_stats *stats = n->stats;

	mmf_atomic_long_inc(&stats->node_free);
	if (stats->cache)
		objcache_free(stats->cache, n);
	else
		free(n);
}

/* Every node of a chain (one tree's, so one stats) goes back at once. */
static void free_chain_rcu(struct mmf_rcu_head *head)
{
	struct vt_node *n = container_of(head, struct vt_node, rcu), *next;
	struct vma_tree_stats *stats = n->stats;
	struct objcache_chain ch;
	long nr = 0;

	objcache_chain_init(&ch);
	for (; n; n = next, nr++) {
		next = n->retire_next;
		if (stats->cache)
			objcache_chain_add(stats->cache, &ch, n);
		else
			free(n);
	}
	if (stats->cache)
		objcache_free_chain(stats->cache, &ch);
	mmf_atomic_long_add(&stats->node_free, nr);
}

/* n leaves the writer's view: free it now if nobody can see it, else retire. */
static void node_drop(struct vma_tree *t, struct vt_node *n)
{
	t->nr_nodes--;
	if (n->gen == t->gen) {
		node_free_now(n);
		return;
	}
	n->retire_next = t->retired;
	t->retired = n;
}

/* A node of the writer's path that may be modified. */
static struct vt_node *cow(struct vma_tree *t, struct vt_node *n)
{
	struct vt_node *c;

	if (n->gen == t->gen)
		return n;
	c = node_alloc(t, n->leaf);
	c->n = n->n;
	memcpy(c->start, n->start, sizeof(c->start));
	memcpy(c->end, n->end, sizeof(c->end));
	memcpy(c->slot, n->slot, sizeof(c->slot));
	memcpy(c->gap, n->gap, sizeof(c->gap));
	node_drop(t, n);
	return c;
}

static inline uint64_t node_first(const struct vt_node *n) { return n->start[0]; }
static inline uint64_t node_last(const struct vt_node *n) { return n->end[n->n - 1]; }

/* The largest gap between two consecutive entries of the subtree n. */
static uint64_t node_max_gap(const struct vt_node *n)
{
	uint64_t g = 0;
	int i;

	for (i = 0; i < n->n; i++) {
		if (i > 0 && n->start[i] - n->end[i - 1] > g)
			g = n->start[i] - n->end[i - 1];
		if (!n->leaf && n->gap[i] > g)
			g = n->gap[i];
	}
	return g;
}

/* Refresh the summary of child i of internal node p. */
static void update_key(struct vt_node *p, int i)
{
	struct vt_node *c = p->slot[i];

	p->start[i] = node_first(c);
	p->end[i] = node_last(c);
	p->gap[i] = node_max_gap(c);
}

static void item_move(struct vt_node *dst, int di, const struct vt_node *src, int si, int cnt)
{
	memmove(&dst->start[di], &src->start[si], cnt * sizeof(dst->start[0]));
	memmove(&dst->end[di], &src->end[si], cnt * sizeof(dst->end[0]));
	memmove(&dst->slot[di], &src->slot[si], cnt * sizeof(dst->slot[0]));
	memmove(&dst->gap[di], &src->gap[si], cnt * sizeof(dst->gap[0]));
}

static void item_remove(struct vt_node *n, int i)
{
	item_move(n, i, n, i + 1, n->n - i - 1);
	n->n--;
}

/*
 * Insert an item at position pos of the private node n.  If n is full it is
 * split in two halves; the new right half is returned (else NULL).
 */
static struct vt_node *item_insert(struct vma_tree *t, struct vt_node *n, int pos,
				   uint64_t start, uint64_t end, void *slot)
{
	uint64_t ts[VT_SLOTS + 1], te[VT_SLOTS + 1], tg[VT_SLOTS + 1];
	void *tp[VT_SLOTS + 1];
	uint64_t gap = n->leaf ? 0 : node_max_gap(slot);
	struct vt_node *r;
	int total, nl;

	if (n->n < VT_SLOTS) {
		item_move(n, pos + 1, n, pos, n->n - pos);
		n->start[pos] = start;
		n->end[pos] = end;
		n->slot[pos] = slot;
		n->gap[pos] = gap;
		n->n++;
		return NULL;
	}
	total = VT_SLOTS + 1;
	memcpy(ts, n->start, pos * sizeof(ts[0]));
	memcpy(te, n->end, pos * sizeof(te[0]));
	memcpy(tp, n->slot, pos * sizeof(tp[0]));
	memcpy(tg, n->gap, pos * sizeof(tg[0]));
	ts[pos] = start;
	te[pos] = end;
	tp[pos] = slot;
	tg[pos] = gap;
	memcpy(&ts[pos + 1], &n->start[pos], (VT_SLOTS - pos) * sizeof(ts[0]));
	memcpy(&te[pos + 1], &n->end[pos], (VT_SLOTS - pos) * sizeof(te[0]));
	memcpy(&tp[pos + 1], &n->slot[pos], (VT_SLOTS - pos) * sizeof(tp[0]));
	memcpy(&tg[pos + 1], &n->gap[pos], (VT_SLOTS - pos) * sizeof(tg[0]));

	nl = total / 2;
	r = node_alloc(t, n->leaf);
	memcpy(n->start, ts, nl * sizeof(ts[0]));
	memcpy(n->end, te, nl * sizeof(te[0]));
	memcpy(n->slot, tp, nl * sizeof(tp[0]));
	memcpy(n->gap, tg, nl * sizeof(tg[0]));
	n->n = nl;
	memcpy(r->start, &ts[nl], (total - nl) * sizeof(ts[0]));
	memcpy(r->end, &te[nl], (total - nl) * sizeof(te[0]));
	memcpy(r->slot, &tp[nl], (total - nl) * sizeof(tp[0]));
	memcpy(r->gap, &tg[nl], (total - nl) * sizeof(tg[0]));
	r->n = total - nl;
	return r;
}

/* ---- lookups ------------------------------------------------------------- */

/* Index of the first item with end > addr, or n->n. */
static inline int first_end_above(const struct vt_node *n, uint64_t addr)
{
	int i;

	for (i = 0; i < n->n; i++)
		if (n->end[i] > addr)
			break;
	return i;
}

/* Index of the last item with start < addr, or -1. */
static inline int last_start_below(const struct vt_node *n, uint64_t addr)
{
	int i;

	for (i = n->n - 1; i >= 0; i--)
		if (n->start[i] < addr)
			break;
	return i;
}

/* The root this thread must look at. */
static inline struct vt_node *view(const struct vma_tree *t)
{
	if (mmf_read_once(t->txn_owner) == mmf_sync_self())
		return t->wroot;
	return mmf_rcu_dereference(((struct vma_tree *)t)->root);
}

/*
 * A reader's step down the tree.  Published nodes never change, so a plain
 * load would do for the memory model (the root's acquire orders them); it
 * is an RCU dereference as in the maple tree (mas_slot) so that the sched
 * backend can preempt a walk between levels, where a node freed without a
 * grace period would be caught.
 */
static inline struct vt_node *child(const struct vt_node *n, int i)
{
	return mmf_rcu_dereference(((struct vt_node *)n)->slot[i]);
}

static void *node_find(const struct vt_node *n, uint64_t addr, struct vma_tree_range *r)
{
	int i;

	if (!n)
		return NULL;
	for (;;) {
		i = first_end_above(n, addr);
		if (i == n->n)
			return NULL;
		if (n->leaf)
			break;
		n = child(n, i);
	}
	if (r) {
		r->start = n->start[i];
		r->end = n->end[i];
	}
	return n->slot[i];
}

void *vma_tree_find(const struct vma_tree *t, uint64_t addr, struct vma_tree_range *r)
{
	return node_find(view(t), addr, r);
}

void *vma_tree_load(const struct vma_tree *t, uint64_t addr, struct vma_tree_range *r)
{
	struct vma_tree_range rr;
	void *v = node_find(view(t), addr, &rr);

	if (!v || rr.start > addr)
		return NULL;
	if (r)
		*r = rr;
	return v;
}

void *vma_tree_find_prev(const struct vma_tree *t, uint64_t addr, struct vma_tree_range *r)
{
	const struct vt_node *n = view(t);
	int i;

	if (!n)
		return NULL;
	for (;;) {
		i = last_start_below(n, addr);
		if (i < 0)
			return NULL;
		if (n->leaf)
			break;
		n = child(n, i);
	}
	if (r) {
		r->start = n->start[i];
		r->end = n->end[i];
	}
	return n->slot[i];
}

/* ---- gaps ------------------------------------------------------------------ */

/* Does [a, b) keep at least len bytes inside [low, high)? */
static inline bool gap_fits(uint64_t a, uint64_t b, uint64_t low, uint64_t high, uint64_t len)
{
	if (a < low)
		a = low;
	if (b > high)
		b = high;
	return a < b && b - a >= len;
}

/* Could child i of internal node n hold a fitting gap? */
static inline bool child_may_fit(const struct vt_node *n, int i, uint64_t low, uint64_t high,
				 uint64_t len)
{
	return n->gap[i] >= len && gap_fits(n->start[i], n->end[i], low, high, len);
}

static bool gap_rev(const struct vt_node *n, uint64_t low, uint64_t high, uint64_t len,
		    uint64_t *gs, uint64_t *ge)
{
	int i;

	for (i = n->n - 1; i >= 0; i--) {
		if (!n->leaf && child_may_fit(n, i, low, high, len) &&
		    gap_rev(child(n, i), low, high, len, gs, ge))
			return true;
		if (i == 0)
			break;
		if (gap_fits(n->end[i - 1], n->start[i], low, high, len)) {
			*gs = n->end[i - 1];
			*ge = n->start[i];
			return true;
		}
		if (n->end[i - 1] <= low)
			break;
	}
	return false;
}

static bool gap_fwd(const struct vt_node *n, uint64_t low, uint64_t high, uint64_t len,
		    uint64_t *gs, uint64_t *ge)
{
	int i;

	for (i = 0; i < n->n; i++) {
		if (i > 0) {
			if (gap_fits(n->end[i - 1], n->start[i], low, high, len)) {
				*gs = n->end[i - 1];
				*ge = n->start[i];
				return true;
			}
			if (n->start[i] >= high)
				break;
		}
		if (!n->leaf && child_may_fit(n, i, low, high, len) &&
		    gap_fwd(child(n, i), low, high, len, gs, ge))
			return true;
	}
	return false;
}

bool vma_tree_gap_rev(const struct vma_tree *t, uint64_t low, uint64_t high, uint64_t len,
		      uint64_t *gs, uint64_t *ge)
{
	const struct vt_node *n = view(t);

	return n && gap_rev(n, low, high, len, gs, ge);
}

bool vma_tree_gap(const struct vma_tree *t, uint64_t low, uint64_t high, uint64_t len,
		  uint64_t *gs, uint64_t *ge)
{
	const struct vt_node *n = view(t);

	return n && gap_fwd(n, low, high, len, gs, ge);
}

/* ---- in-order iteration ---------------------------------------------------- */

static void *iter_leaf_entry(struct vma_tree_iter *it, struct vma_tree_range *r)
{
	const struct vt_node *n = it->node[it->depth];
	int i = it->idx[it->depth];

	r->start = n->start[i];
	r->end = n->end[i];
	return n->slot[i];
}

void *vma_tree_iter_start(const struct vma_tree *t, struct vma_tree_iter *it, uint64_t addr,
			  struct vma_tree_range *r)
{
	const struct vt_node *n = view(t);
	int d = 0, i;

	it->depth = -1;
	if (!n)
		return NULL;
	for (;; d++) {
		if (d == VMA_TREE_MAX_HEIGHT)
			mmf_sync_bug("vma_tree: deeper than %d", VMA_TREE_MAX_HEIGHT);
		i = first_end_above(n, addr);
		if (i == n->n)
			return NULL;
		it->node[d] = n;
		it->idx[d] = i;
		if (n->leaf)
			break;
		n = child(n, i);
	}
	it->depth = d;
	return iter_leaf_entry(it, r);
}

void *vma_tree_iter_next(struct vma_tree_iter *it, struct vma_tree_range *r)
{
	int d = it->depth, leaf = it->depth;

	if (d < 0)
		return NULL;
	/* climb to the lowest level with a next item, then descend leftmost */
	while (d >= 0 && it->idx[d] + 1 >= it->node[d]->n)
		d--;
	if (d < 0) {
		it->depth = -1;
		return NULL;
	}
	it->idx[d]++;
	for (; d < leaf; d++) {
		it->node[d + 1] = child(it->node[d], it->idx[d]);
		it->idx[d + 1] = 0;
	}
	return iter_leaf_entry(it, r);
}

static void *iter_check_private(struct vma_tree *t, struct vma_tree_iter *it)
{
	if (it->depth < 0 || it->node[it->depth]->gen != t->gen || t->txn_depth <= 0)
		mmf_sync_bug("vma_tree_iter_replace outside the tree's own transaction");
	return (void *)it->node[it->depth];
}

void vma_tree_iter_replace(struct vma_tree *t, struct vma_tree_iter *it, void *val)
{
	struct vt_node *n = iter_check_private(t, it);

	if (!val)
		mmf_sync_bug("vma_tree_iter_replace with NULL");
	n->slot[it->idx[it->depth]] = val;
}

static void assert_writer(const struct vma_tree *t);

/* ---- bulk copy ------------------------------------------------------------- */

static struct vt_node *dup_node(struct vma_tree *t, const struct vt_node *src)
{
	struct vt_node *n = node_alloc(t, src->leaf);
	int i;

	n->n = src->n;
	memcpy(n->start, src->start, sizeof(n->start));
	memcpy(n->end, src->end, sizeof(n->end));
	memcpy(n->slot, src->slot, sizeof(n->slot));
	memcpy(n->gap, src->gap, sizeof(n->gap));
	if (!n->leaf)
		for (i = 0; i < n->n; i++)
			n->slot[i] = dup_node(t, src->slot[i]);
	return n;
}

void vma_tree_dup(struct vma_tree *dst, const struct vma_tree *src)
{
	assert_writer(dst);
	if (dst->txn_depth <= 0 || dst->wroot)
		mmf_sync_bug("vma_tree_dup: the destination must be empty, in a transaction");
	if (src->wroot)
		dst->wroot = dup_node(dst, src->wroot);
	dst->count = src->count;
}

/* ---- transactions ---------------------------------------------------------- */

static void assert_writer(const struct vma_tree *t)
{
	const void *owner = mmf_read_once(t->txn_owner);

	if (t->lock)
		mmf_rwsem_assert_write_locked(t->lock);
	if (owner && owner != mmf_sync_self())
		mmf_sync_bug("vma_tree %p: update while another thread's transaction is open",
			     (void *)t);
}

void vma_tree_init(struct vma_tree *t, struct vma_tree_stats *stats, struct mmf_rwsem *lock)
{
	memset(t, 0, sizeof(*t));
	t->stats = stats ? stats : &fallback_stats;
	t->lock = lock;
}

void vma_tree_begin(struct vma_tree *t)
{
	assert_writer(t);
	if (t->txn_depth++ > 0)
		return;
	t->gen++;
	mmf_write_once(t->txn_owner, mmf_sync_self());
}

void vma_tree_commit(struct vma_tree *t)
{
	struct vt_node *chain;

	assert_writer(t);
	if (t->txn_depth <= 0)
		mmf_sync_bug("vma_tree_commit without vma_tree_begin");
	if (--t->txn_depth > 0)
		return;
	if (t->wroot != t->root)
		mmf_rcu_assign_pointer(t->root, t->wroot);
	mmf_write_once(t->txn_owner, NULL);
	chain = t->retired;
	t->retired = NULL;
	if (!chain)
		return;
#ifdef VMA_TREE_BROKEN_NO_RCU
	/* Deliberately wrong (demonstration build only): no grace period. */
	free_chain_rcu(&chain->rcu);
#else
	mmf_atomic_long_inc(&t->stats->rcu_calls);
	mmf_call_rcu(&chain->rcu, free_chain_rcu);
#endif
}

/* ---- insert --------------------------------------------------------------- */

/* Insert into the subtree *np (private copy stored back).  Returns the new
 * right sibling when the node split. */
static struct vt_node *insert_rec(struct vma_tree *t, struct vt_node **np,
				  uint64_t start, uint64_t end, void *val)
{
	struct vt_node *n = cow(t, *np), *c, *right;
	int i;

	*np = n;
	i = last_start_below(n, start);		/* items before the new one */
	if (n->leaf)
		return item_insert(t, n, i + 1, start, end, val);
	if (i < 0)
		i = 0;
	c = n->slot[i];
	right = insert_rec(t, &c, start, end, val);
	n->slot[i] = c;
	update_key(n, i);
	if (!right)
		return NULL;
	return item_insert(t, n, i + 1, node_first(right), node_last(right), right);
}

static void do_insert(struct vma_tree *t, uint64_t start, uint64_t end, void *val)
{
	struct vt_node *right, *root;

	if (!t->wroot) {
		root = node_alloc(t, true);
		root->start[0] = start;
		root->end[0] = end;
		root->slot[0] = val;
		root->n = 1;
		t->wroot = root;
	} else {
		right = insert_rec(t, &t->wroot, start, end, val);
		if (right) {
			root = node_alloc(t, false);
			root->n = 2;
			root->slot[0] = t->wroot;
			root->slot[1] = right;
			update_key(root, 0);
			update_key(root, 1);
			t->wroot = root;
		}
	}
	t->count++;
}

int vma_tree_insert(struct vma_tree *t, uint64_t start, uint64_t end, void *val)
{
	struct vma_tree_range r;

	if (start >= end || !val)
		return -EINVAL;
	assert_writer(t);
	vma_tree_begin(t);
	if (node_find(t->wroot, start, &r) && r.start < end) {
		vma_tree_commit(t);
		return -EEXIST;
	}
	do_insert(t, start, end, val);
	vma_tree_commit(t);
	return 0;
}

/* ---- erase ------------------------------------------------------------------ */

/* Child i of the private internal node p is under-full: borrow or merge. */
static void rebalance(struct vma_tree *t, struct vt_node *p, int i)
{
	int l = i > 0 ? i - 1 : i;
	struct vt_node *L = cow(t, p->slot[l]);
	struct vt_node *R = p->slot[l + 1];

	p->slot[l] = L;
	if (L->n + R->n <= VT_SLOTS) {
		/* merge into L; R (private or not) only needs to be read */
		item_move(L, L->n, R, 0, R->n);
		L->n += R->n;
		node_drop(t, R);
		item_remove(p, l + 1);
		update_key(p, l);
		return;
	}
	R = cow(t, R);
	p->slot[l + 1] = R;
	if (L->n < R->n) {		/* take R's first */
		L->start[L->n] = R->start[0];
		L->end[L->n] = R->end[0];
		L->slot[L->n] = R->slot[0];
		L->gap[L->n] = R->gap[0];
		L->n++;
		item_remove(R, 0);
	} else {			/* give L's last to R */
		item_move(R, 1, R, 0, R->n);
		R->start[0] = L->start[L->n - 1];
		R->end[0] = L->end[L->n - 1];
		R->slot[0] = L->slot[L->n - 1];
		R->gap[0] = L->gap[L->n - 1];
		R->n++;
		L->n--;
	}
	update_key(p, l);
	update_key(p, l + 1);
}

/* Remove the entry covering addr (known to exist) from the subtree *np. */
static void *erase_rec(struct vma_tree *t, struct vt_node **np, uint64_t addr,
		       struct vma_tree_range *r)
{
	struct vt_node *n = cow(t, *np), *c;
	void *val;
	int i;

	*np = n;
	i = first_end_above(n, addr);
	if (n->leaf) {
		val = n->slot[i];
		r->start = n->start[i];
		r->end = n->end[i];
		item_remove(n, i);
		return val;
	}
	c = n->slot[i];
	val = erase_rec(t, &c, addr, r);
	n->slot[i] = c;
	if (c->n)
		update_key(n, i);
	if (c->n < VT_MIN)
		rebalance(t, n, i);
	return val;
}

static void *do_erase(struct vma_tree *t, uint64_t addr, struct vma_tree_range *r)
{
	void *val = erase_rec(t, &t->wroot, addr, r);
	struct vt_node *old;

	t->count--;
	while (t->wroot) {
		old = t->wroot;
		if (old->n == 0) {
			t->wroot = NULL;
		} else if (!old->leaf && old->n == 1) {
			t->wroot = old->slot[0];
		} else {
			break;
		}
		node_drop(t, old);
	}
	return val;
}

void *vma_tree_erase(struct vma_tree *t, uint64_t addr, struct vma_tree_range *r)
{
	struct vma_tree_range rr;
	void *val = NULL;

	assert_writer(t);
	vma_tree_begin(t);
	if (node_find(t->wroot, addr, &rr) && rr.start <= addr)
		val = do_erase(t, addr, &rr);
	vma_tree_commit(t);
	if (val && r)
		*r = rr;
	return val;
}

/* ---- store ------------------------------------------------------------------ */

int vma_tree_store(struct vma_tree *t, uint64_t start, uint64_t end, void *val)
{
	struct vma_tree_range r;
	void *v;
	int removed = 0;

	if (start >= end)
		return -EINVAL;
	assert_writer(t);
	vma_tree_begin(t);
	/* validate first, so that an error leaves the tree untouched */
	for (v = node_find(t->wroot, start, &r); v && r.start < end;
	     v = node_find(t->wroot, r.end, &r)) {
		if ((r.start < start || r.end > end) && v != val) {
			vma_tree_commit(t);
			return -EINVAL;
		}
	}
	while ((v = node_find(t->wroot, start, &r)) && r.start < end) {
		do_erase(t, r.start, &r);
		removed++;
	}
	if (val)
		do_insert(t, start, end, val);
	vma_tree_commit(t);
	return removed;
}

/* ---- destroy / introspection ------------------------------------------------ */

/* Put every node of the subtree on the chain *head. */
static void chain_all(struct vt_node *n, struct vt_node **head)
{
	int i;

	if (!n->leaf)
		for (i = 0; i < n->n; i++)
			chain_all(n->slot[i], head);
	n->retire_next = *head;
	*head = n;
}

void vma_tree_destroy(struct vma_tree *t, bool wait_readers)
{
	struct vt_node *chain = NULL;

	if (t->txn_depth)
		mmf_sync_bug("vma_tree_destroy inside a transaction");
	if (t->wroot) {
		chain_all(t->wroot, &chain);
		mmf_rcu_assign_pointer(t->root, NULL);
		t->wroot = NULL;
		if (wait_readers) {
			mmf_atomic_long_inc(&t->stats->rcu_calls);
			mmf_call_rcu(&chain->rcu, free_chain_rcu);
		} else {
			free_chain_rcu(&chain->rcu);
		}
	}
	t->count = 0;
	t->nr_nodes = 0;
}

unsigned long vma_tree_count(const struct vma_tree *t)
{
	return t->count;
}

unsigned long vma_tree_nr_nodes(const struct vma_tree *t)
{
	return t->nr_nodes;
}

int vma_tree_height(const struct vma_tree *t)
{
	const struct vt_node *n = t->wroot;
	int h = 0;

	for (; n; n = n->leaf ? NULL : n->slot[0])
		h++;
	return h;
}

struct check_ctx {
	const struct vma_tree *t;
	char *msg;
	size_t msglen;
	int leaf_depth;
	unsigned long entries, nodes;
	uint64_t last_end;
	bool have_last;
	void **vals;
	size_t nvals, capvals;
};

#define FAIL(c, ...) do { snprintf((c)->msg, (c)->msglen, __VA_ARGS__); return -1; } while (0)

static int check_node(struct check_ctx *c, const struct vt_node *n, int depth, bool is_root)
{
	int i;

	c->nodes++;
	if (n->gen > c->t->gen)
		FAIL(c, "vma_tree: node gen %llu > tree gen %llu",
		     (unsigned long long)n->gen, (unsigned long long)c->t->gen);
	if (n->n == 0 || n->n > VT_SLOTS)
		FAIL(c, "vma_tree: node with %d items", n->n);
	if (!is_root && n->n < VT_MIN)
		FAIL(c, "vma_tree: non-root node under-full (%d < %d)", n->n, VT_MIN);
	if (is_root && !n->leaf && n->n < 2)
		FAIL(c, "vma_tree: internal root with one child");
	for (i = 0; i < n->n; i++) {
		if (n->start[i] >= n->end[i])
			FAIL(c, "vma_tree: empty range [%#llx, %#llx)",
			     (unsigned long long)n->start[i], (unsigned long long)n->end[i]);
		if (!n->slot[i])
			FAIL(c, "vma_tree: NULL slot at [%#llx, %#llx)",
			     (unsigned long long)n->start[i], (unsigned long long)n->end[i]);
		if (i > 0 && n->start[i] < n->end[i - 1])
			FAIL(c, "vma_tree: [%#llx, %#llx) overlaps or precedes [%#llx, %#llx)",
			     (unsigned long long)n->start[i], (unsigned long long)n->end[i],
			     (unsigned long long)n->start[i - 1], (unsigned long long)n->end[i - 1]);
	}
	if (n->leaf) {
		if (c->leaf_depth < 0)
			c->leaf_depth = depth;
		else if (c->leaf_depth != depth)
			FAIL(c, "vma_tree: leaves at depths %d and %d", c->leaf_depth, depth);
		for (i = 0; i < n->n; i++) {
			if (c->have_last && n->start[i] < c->last_end)
				FAIL(c, "vma_tree: entry [%#llx, %#llx) starts before the previous end %#llx",
				     (unsigned long long)n->start[i], (unsigned long long)n->end[i],
				     (unsigned long long)c->last_end);
			c->last_end = n->end[i];
			c->have_last = true;
			c->entries++;
			if (c->nvals == c->capvals) {
				size_t cap = c->capvals ? 2 * c->capvals : 256;
				void **nv = realloc(c->vals, cap * sizeof(*nv));

				if (!nv)
					FAIL(c, "vma_tree: check out of memory");
				c->vals = nv;
				c->capvals = cap;
			}
			c->vals[c->nvals++] = n->slot[i];
		}
		return 0;
	}
	for (i = 0; i < n->n; i++) {
		const struct vt_node *ch = n->slot[i];

		if (ch->n == 0 || n->start[i] != node_first(ch) || n->end[i] != node_last(ch))
			FAIL(c, "vma_tree: stale summary [%#llx, %#llx) of child %d",
			     (unsigned long long)n->start[i], (unsigned long long)n->end[i], i);
		if (n->gap[i] != node_max_gap(ch))
			FAIL(c, "vma_tree: stale gap %#llx of child %d (largest is %#llx)",
			     (unsigned long long)n->gap[i], i, (unsigned long long)node_max_gap(ch));
		if (check_node(c, ch, depth + 1, false))
			return -1;
	}
	return 0;
}

/*
 * Is a value stored twice?  The values are heap pointers, whose order
 * differs between two runs of the same program in one process (malloc's
 * state differs), so a comparison sort (qsort) would branch differently
 * each time: a fuzzer's coverage of the checker would change with the
 * heap, not the input (AFL++ persistent mode counted it as instability).
 * Equality is what matters and it does not depend on addresses, so the
 * control flow here depends only on n and on equality: pairwise for small
 * sets, else an LSD radix sort (no comparisons of keys) and neighbours.
 * Sorts vals in place; returns the duplicate or NULL.
 */
static void *find_duplicate(void **vals, size_t n)
{
	void **tmp, **from = vals, **to;
	size_t i, j;

	if (n <= 64) {
		for (i = 1; i < n; i++)
			for (j = 0; j < i; j++)
				if (vals[i] == vals[j])
					return vals[i];
		return NULL;
	}
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		abort();
	to = tmp;
	for (unsigned shift = 0; shift < 8 * sizeof(uintptr_t); shift += 8) {
		size_t pos[257] = { 0 };
		void **t;

		for (i = 0; i < n; i++)
			pos[(((uintptr_t)from[i] >> shift) & 0xff) + 1]++;
		for (i = 1; i < 257; i++)
			pos[i] += pos[i - 1];
		for (i = 0; i < n; i++)
			to[pos[((uintptr_t)from[i] >> shift) & 0xff]++] = from[i];
		t = from;
		from = to;
		to = t;
	}
	/* an even number of passes: the sorted keys are back in vals */
	free(tmp);
	for (i = 1; i < n; i++)
		if (vals[i] == vals[i - 1])
			return vals[i];
	return NULL;
}

int vma_tree_check(const struct vma_tree *t, char *msg, size_t msglen)
{
	struct check_ctx c = { .t = t, .msg = msg, .msglen = msglen, .leaf_depth = -1 };
	int ret = 0;

	if (msglen)
		msg[0] = 0;
	if (t->txn_depth || t->txn_owner)
		FAIL(&c, "vma_tree: transaction open (depth %d)", t->txn_depth);
	if (t->wroot != t->root)
		FAIL(&c, "vma_tree: working root differs from the published root");
	if (t->retired)
		FAIL(&c, "vma_tree: retired nodes not handed to RCU");
	if (t->wroot)
		ret = check_node(&c, t->wroot, 0, true);
	if (!ret && c.entries != t->count) {
		snprintf(msg, msglen, "vma_tree: %lu entries, count says %lu", c.entries, t->count);
		ret = -1;
	}
	if (!ret && c.nodes != t->nr_nodes) {
		snprintf(msg, msglen, "vma_tree: %lu nodes, nr_nodes says %lu", c.nodes, t->nr_nodes);
		ret = -1;
	}
	if (!ret && c.nvals > 1) {
		void *dup = find_duplicate(c.vals, c.nvals);

		if (dup) {
			snprintf(msg, msglen, "vma_tree: value %p stored twice", dup);
			ret = -1;
		}
	}
	free(c.vals);
	return ret;
}
