/* SPDX-License-Identifier: MIT */
/*
 * core/vma_tree.h - the RCU-safe tree of an address space's VMAs.
 *
 * An ordered map from disjoint ranges [start, end) to non-NULL `void *`
 * values (the VMAs), one per mm: the role the maple tree (in RCU mode) plays
 * for mm->mm_mt in the kernel.
 *
 * Locking (where the rules live: here):
 *  - Readers: any lookup (vma_tree_find/load/prev) is safe under
 *    mmf_rcu_read_lock() alone, concurrently with a writer.  A reader sees
 *    either the whole of a committed update or none of it, and never a node
 *    that was freed before its read-side section ended.  The value it gets
 *    is only guaranteed to stay allocated until mmf_rcu_read_unlock(); the
 *    owner of the values must free them through RCU too (vm_area_free).
 *    Lookups are equally valid under the writers' lock (read or write).
 *  - Writers: insert / erase / store / begin / commit / destroy are called
 *    with the mm's mmap_lock held for WRITE.  The tree takes no lock of its
 *    own; it is told the lock at init (optional) and asserts it is held in
 *    debug builds.  Only one writer at a time therefore exists per tree.
 *  - Lifetime: lockless readers read the struct vma_tree itself (root,
 *    txn_owner), so it must outlive them: the mm embedding it is freed
 *    through RCU, and vma_tree_destroy(t, true) frees the nodes through RCU.
 *
 * Transactions: a writer may bracket several updates with vma_tree_begin()
 * / vma_tree_commit(); readers then see all of them at once (a VMA split
 * never shows a gap, a merge never shows both halves and the merged VMA).
 * Inside a transaction the writer thread's own lookups see its uncommitted
 * updates; other threads see the last committed tree.  A single update
 * outside a transaction is its own transaction.
 *
 * Memory: nodes are copy-on-write.  An update copies the nodes on its path
 * (nodes already copied in the same transaction are updated in place: no
 * reader can see them yet), publishes the new root with
 * mmf_rcu_assign_pointer() at commit and retires the replaced nodes with
 * one mmf_call_rcu() per commit (nodes come from stats->cache when there
 * is one, and go back to it in that callback).  tree_node_alloc / tree_node_free count
 * in struct vma_tree_stats, which may be shared by the trees of a world
 * and must outlive them until mmf_rcu_barrier() (node frees happen in RCU
 * callbacks).
 */
#ifndef MMF_CORE_VMA_TREE_H
#define MMF_CORE_VMA_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objcache.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Statistics, updated atomically (node frees run in RCU callbacks), and
 * where the nodes come from. */
struct vma_tree_stats {
	mmf_atomic_long_t node_alloc;	/* -> mmf_counters.tree_node_alloc */
	mmf_atomic_long_t node_free;	/* -> mmf_counters.tree_node_free */
	mmf_atomic_long_t rcu_calls;	/* mmf_call_rcu() batches of retired nodes */
	/* nodes are allocated here (NULL: calloc/free); set before the
	 * first tree using these stats is initialised, destroyed after the
	 * last node free (a barrier after the last tree's destroy) */
	struct objcache *cache;
};

/* The size of a tree node, for a cache of them (vma_tree_stats.cache). */
size_t vma_tree_node_size(void);

struct vt_node;

struct vma_tree {
	/* Published root: written with mmf_rcu_assign_pointer at commit,
	 * read by lookups with mmf_rcu_dereference.  NULL: empty. */
	struct vt_node *root;

	/* Writer-only state, protected by the writers' lock (mmap_lock). */
	struct vt_node *wroot;		/* working root; == root outside a txn */
	const void *txn_owner;		/* mmf_sync_self() of the writer in a txn;
					 * read (atomically) by every lookup */
	int txn_depth;
	uint64_t gen;			/* nodes with this gen are private to the txn */
	unsigned long count;		/* entries (writer's view) */
	unsigned long nr_nodes;		/* nodes in the writer's view */
	struct vt_node *retired;	/* nodes replaced in this txn, freed after
					 * commit + a grace period */
	struct vma_tree_stats *stats;
	struct mmf_rwsem *lock;		/* the writers' lock, for assertions */
};

/* A range as stored in the tree. */
struct vma_tree_range {
	uint64_t start, end;
};

/*
 * stats: where node allocations/frees are counted (NULL: a process-wide
 * fallback).  lock: the rwsem writers hold for write (NULL: not asserted).
 */
void vma_tree_init(struct vma_tree *t, struct vma_tree_stats *stats,
		   struct mmf_rwsem *lock);

/*
 * Tear down the tree (values are not touched: free them first, or after).
 * No transaction may be open.  wait_readers: free the nodes through RCU
 * (lockless readers may still walk the tree); otherwise free them now.
 */
void vma_tree_destroy(struct vma_tree *t, bool wait_readers);

/* ---- Lookups: under mmf_rcu_read_lock() or the writers' lock -------------- */

/* The first entry with end > addr (find_vma), or NULL.  r may be NULL. */
void *vma_tree_find(const struct vma_tree *t, uint64_t addr, struct vma_tree_range *r);
/* The entry with start <= addr < end (vma_lookup), or NULL. */
void *vma_tree_load(const struct vma_tree *t, uint64_t addr, struct vma_tree_range *r);
/* The last entry with start < addr (covering addr, or the one before), or NULL. */
void *vma_tree_find_prev(const struct vma_tree *t, uint64_t addr, struct vma_tree_range *r);

/* Step from the entry whose range is *r to its successor / predecessor;
 * *r is updated.  NULL at either end. */
static inline void *vma_tree_next(const struct vma_tree *t, struct vma_tree_range *r)
{
	return vma_tree_find(t, r->end, r);
}

static inline void *vma_tree_prev(const struct vma_tree *t, struct vma_tree_range *r)
{
	return vma_tree_find_prev(t, r->start, r);
}

/* Every entry intersecting [from, to), in order.  `r` is a struct
 * vma_tree_range lvalue.  The writer may erase the current entry. */
#define vma_tree_for_each(t, val, r, from, to)				\
	for ((val) = vma_tree_find((t), (from), &(r));			\
	     (val) && (r).start < (to);					\
	     (val) = vma_tree_find((t), (r).end, &(r)))

/*
 * Gap search (placement, O(log n)): every internal item also records the
 * largest gap between consecutive entries inside its child.  These return
 * the highest (_rev) / lowest gap [*gs, *ge) between two consecutive
 * entries (*gs: the end of one, *ge: the start of the next) that keeps at
 * least len bytes inside [low, high); false if there is none.  The space
 * before the first and after the last entry is not a gap here.
 */
bool vma_tree_gap_rev(const struct vma_tree *t, uint64_t low, uint64_t high, uint64_t len,
		      uint64_t *gs, uint64_t *ge);
bool vma_tree_gap(const struct vma_tree *t, uint64_t low, uint64_t high, uint64_t len,
		  uint64_t *gs, uint64_t *ge);

/*
 * In-order iterator: each step is O(1) amortised (it keeps its path from
 * the root instead of descending again).  The walk sees one version of the
 * tree: the one visible to the caller when vma_tree_iter_start ran.
 *  - Writers (mmap_lock held): the tree must not be updated between
 *    vma_tree_iter_start and the last vma_tree_iter_next (collect first,
 *    then erase; updating another tree is fine, as fork does).
 *  - Readers under one mmf_rcu_read_lock() section: a consistent snapshot
 *    (published nodes never change), however the writer proceeds.
 * Usage:
 *	struct vma_tree_iter it;
 *	struct vma_tree_range r;
 *	for (v = vma_tree_iter_start(t, &it, from, &r); v && r.start < to;
 *	     v = vma_tree_iter_next(&it, &r))
 * or vma_tree_walk(t, it, v, r, from, to).
 */
#define VMA_TREE_MAX_HEIGHT	16	/* VT_MIN = 8: enough for 2^45 entries */

struct vma_tree_iter {
	const struct vt_node *node[VMA_TREE_MAX_HEIGHT];
	int idx[VMA_TREE_MAX_HEIGHT];
	int depth;			/* the leaf is node[depth]; -1: done */
};

/* The first entry with end > addr (as vma_tree_find), or NULL. */
void *vma_tree_iter_start(const struct vma_tree *t, struct vma_tree_iter *it, uint64_t addr,
			  struct vma_tree_range *r);
/* The entry after the last one returned, or NULL. */
void *vma_tree_iter_next(struct vma_tree_iter *it, struct vma_tree_range *r);

/*
 * Inside t's own transaction, on an entry the walk returned from a node
 * the transaction created (a tree filled by vma_tree_dup in it): replace
 * the entry's value, keeping its range.  Fork uses it to put the child's
 * VMAs in place of the parent's.
 */
void vma_tree_iter_replace(struct vma_tree *t, struct vma_tree_iter *it, void *val);

/*
 * Bulk copy (the maple tree's dup, as fork does it): dst, empty and inside
 * a transaction opened by vma_tree_begin(dst), becomes a node-for-node copy
 * of src's writer view with the same values and ranges, in O(nodes).
 * Replace the values with vma_tree_iter_replace before the commit.
 */
void vma_tree_dup(struct vma_tree *dst, const struct vma_tree *src);

#define vma_tree_walk(t, it, val, r, from, to)				\
	for ((val) = vma_tree_iter_start((t), &(it), (from), &(r));	\
	     (val) && (r).start < (to);					\
	     (val) = vma_tree_iter_next(&(it), &(r)))

/* ---- Updates: mmap_lock held for write --------------------------------------- */

void vma_tree_begin(struct vma_tree *t);
void vma_tree_commit(struct vma_tree *t);

/* Add val at [start, end).  -EINVAL: empty range or NULL val; -EEXIST: an
 * entry intersects the range.  The tree is unchanged on error. */
int vma_tree_insert(struct vma_tree *t, uint64_t start, uint64_t end, void *val);

/* Remove the entry covering addr; returns its value (NULL: none).
 * r (optional) receives its range. */
void *vma_tree_erase(struct vma_tree *t, uint64_t addr, struct vma_tree_range *r);

/*
 * Range replacement: afterwards [start, end) holds val, or nothing when val
 * is NULL.  Nothing is trimmed: every entry intersecting [start, end) must
 * either lie inside it (it is removed: the caller has already split) or be
 * val itself (its old range is released wholly: this is how a VMA is
 * expanded or shrunk).  Any other partial overlap is -EINVAL and leaves
 * the tree unchanged.  -EINVAL also for an empty range.  Returns the number
 * of entries removed (val's own old entry included).
 */
int vma_tree_store(struct vma_tree *t, uint64_t start, uint64_t end, void *val);

/* ---- Introspection ------------------------------------------------------------- */

unsigned long vma_tree_count(const struct vma_tree *t);	/* writer's view */
unsigned long vma_tree_nr_nodes(const struct vma_tree *t);	/* writer's view */
int vma_tree_height(const struct vma_tree *t);			/* 0: empty */

/*
 * Structural check for the invariant checker (writer's view; call with the
 * writers' lock held or with no writer running): ranges non-empty, ordered
 * and non-overlapping, values non-NULL and distinct, node fill and summary
 * keys consistent, leaves at one depth, count and node count right, no
 * transaction open.  0 if sound; else -1 and a message in msg.
 */
int vma_tree_check(const struct vma_tree *t, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif

#endif /* MMF_CORE_VMA_TREE_H */
