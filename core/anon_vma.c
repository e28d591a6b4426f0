// SPDX-License-Identifier: MIT
/*
 * core/anon_vma.c - anon_vma and the per-VMA anon_vma chain.
 *
 * The model keeps what merging, fork and COW observe:
 *  - identity: two VMAs merge only if their anon_vmas are compatible;
 *  - the chain: a VMA forked from a parent that had an anon_vma is chained
 *    to the parent's anon_vmas as well as its own, so its chain is not
 *    singular and it will not merge with VMAs that have no anon_vma;
 *  - the hierarchy counts (num_children, num_active_vmas) that decide when
 *    fork may reuse an ancestor's anon_vma instead of allocating one;
 *  - find_mergeable_anon_vma: a VMA faulting for the first time reuses the
 *    anon_vma of a compatible neighbour.
 *
 * Locking: the counts of every anon_vma of one hierarchy are protected by
 * the root's lock (anon_vma->lock points at the root's).  vma->anon_vma and
 * vma->chain change under the mmap write lock, or under the mmap read lock
 * plus mm->page_table_lock (anon_vma_prepare from a fault).  Fault paths
 * that did not take the mmap_lock read vma->anon_vma with an acquire load.
 */
#include <errno.h>
#include <stdlib.h>

#include "mm.h"

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *av = calloc(1, sizeof(*av));

	if (!av)
		abort();
	av->root = av;
	av->parent = av;
	mmf_mutex_init(&av->lock_storage);
	av->lock = &av->lock_storage;
	av->refcount = 1;
	return av;
}

static void anon_vma_lock(struct anon_vma *av)
{
	mmf_mutex_lock(av->root->lock);
}

static void anon_vma_unlock(struct anon_vma *av)
{
	mmf_mutex_unlock(av->root->lock);
}

/* Drop a reference; the root lock must not be held. */
static void put_anon_vma(struct anon_vma *av)
{
	struct anon_vma *root = av->root;
	bool free_av, free_root = false;

	anon_vma_lock(av);
	free_av = --av->refcount == 0;
	if (free_av && root != av)
		free_root = --root->refcount == 0;
	anon_vma_unlock(av);
	if (free_av && root != av) {
		mmf_mutex_destroy(&av->lock_storage);
		free(av);
	}
	if (free_root || (free_av && root == av)) {
		mmf_mutex_destroy(&root->lock_storage);
		free(root);
	}
}

/* Chain av to vma (as its newest link).  Root lock held. */
static void chain_add(struct core_vma *vma, struct anon_vma *av)
{
	if (vma->chain_len == vma->chain_cap) {
		vma->chain_cap = vma->chain_cap ? vma->chain_cap * 2 : 4;
		vma->chain = realloc(vma->chain, vma->chain_cap * sizeof(*vma->chain));
		if (!vma->chain)
			abort();
	}
	vma->chain[vma->chain_len++] = av;
	av->nr_vmas++;
}

bool vma_had_uncowed_parents(const struct core_vma *vma)
{
	return vma && vma->anon_vma && vma->chain_len != 1;
}

/*
 * Give dst the anon_vmas of src's chain.  If dst has no anon_vma yet (fork),
 * an ancestor anon_vma with no VMAs of its own and fewer than two children
 * is reused as dst's.  The caller sets dst->anon_vma beforehand when dst
 * simply shares src's (split, merge).
 */
int anon_vma_clone(struct core_vma *dst, struct core_vma *src)
{
	unsigned int i;

	if (!src->chain_len)
		return 0;
	anon_vma_lock(src->chain[0]);
	for (i = 0; i < src->chain_len; i++) {
		struct anon_vma *av = src->chain[i];

		chain_add(dst, av);
		if (!dst->anon_vma && src->anon_vma && av->num_children < 2 &&
		    av->num_active_vmas == 0)
			dst->anon_vma = av;
	}
	if (dst->anon_vma)
		dst->anon_vma->num_active_vmas++;
	anon_vma_unlock(src->chain[0]);
	return 0;
}

/* The child VMA vma of parent VMA pvma at fork. */
int anon_vma_fork(struct core_vma *vma, struct core_vma *pvma)
{
	struct anon_vma *av, *root;

	vma->anon_vma = NULL;
	vma->chain = NULL;
	vma->chain_len = vma->chain_cap = 0;
	if (!pvma->anon_vma)
		return 0;
	anon_vma_clone(vma, pvma);
	if (vma->anon_vma)
		return 0;	/* reused an ancestor's */

	av = anon_vma_alloc();
	root = pvma->anon_vma->root;
	av->root = root;
	av->parent = pvma->anon_vma;
	av->lock = root->lock;
	anon_vma_lock(av);
	root->refcount++;
	av->num_active_vmas++;
	chain_add(vma, av);
	av->parent->num_children++;
	vma->anon_vma = av;
	anon_vma_unlock(av);
	return 0;
}

void unlink_anon_vmas(struct core_vma *vma)
{
	struct anon_vma *emptied[64], **empty = emptied;
	unsigned int i, n = 0;

	if (!vma->chain_len) {
		vma->anon_vma = NULL;
		return;
	}
	if (vma->chain_len > 64)
		empty = malloc(vma->chain_len * sizeof(*empty));
	if (!empty)
		abort();
	anon_vma_lock(vma->chain[0]);
	for (i = vma->chain_len; i-- > 0;) {
		struct anon_vma *av = vma->chain[i];

		if (--av->nr_vmas == 0) {
			av->parent->num_children--;
			empty[n++] = av;
		}
	}
	if (vma->anon_vma)
		vma->anon_vma->num_active_vmas--;
	vma->anon_vma = NULL;
	anon_vma_unlock(vma->chain[0]);

	/* newest first: the root goes last */
	for (i = 0; i < n; i++)
		put_anon_vma(empty[i]);
	if (empty != emptied)
		free(empty);
	free(vma->chain);
	vma->chain = NULL;
	vma->chain_len = vma->chain_cap = 0;
}

/* a and b adjacent and alike enough to share an anon_vma (maybe_guard is
 * not compared: merges ignore it). */
static bool anon_vma_compatible(const struct core_vma *a, const struct core_vma *b)
{
	return a->end == b->start && a->file == b->file &&
	       !((a->flags ^ b->flags) & ~VM_PROT_MASK) &&
	       b->pgoff == a->pgoff + vma_pages(a);
}

static struct anon_vma *reusable_anon_vma(struct core_vma *old, struct core_vma *a,
					  struct core_vma *b)
{
	struct anon_vma *av;

	if (!anon_vma_compatible(a, b))
		return NULL;
	av = mmf_load_acquire(old->anon_vma);
	if (av && old->chain_len == 1)
		return av;
	return NULL;
}

/* Caller holds mmap_lock (read) and page_table_lock. */
static struct anon_vma *find_mergeable_anon_vma(struct core_vma *vma)
{
	struct core_mm *mm = vma->mm;
	struct core_vma *next = vma_next_of(mm, vma), *prev;
	struct anon_vma *av = NULL;

	if (next)
		av = reusable_anon_vma(next, vma, next);
	if (av)
		return av;
	prev = vma_prev_of(mm, vma);
	if (prev)
		av = reusable_anon_vma(prev, prev, vma);
	return av;
}

/*
 * Give vma an anon_vma before its first anonymous page.  Called with the
 * mmap_lock held (read is enough: concurrent callers are serialised by
 * page_table_lock when publishing).
 */
int anon_vma_prepare(struct core_vma *vma)
{
	struct core_mm *mm = vma->mm;
	struct anon_vma *av, *allocated = NULL;

	if (mmf_load_acquire(vma->anon_vma))
		return 0;

	mmf_spin_lock(&mm->page_table_lock);
	av = find_mergeable_anon_vma(vma);
	mmf_spin_unlock(&mm->page_table_lock);
	if (!av) {
		av = anon_vma_alloc();
		av->num_children++;	/* a root is its own parent */
		allocated = av;
	}

	anon_vma_lock(av);
	mmf_spin_lock(&mm->page_table_lock);
	if (!vma->anon_vma) {
		chain_add(vma, av);
		av->num_active_vmas++;
		mmf_store_release(vma->anon_vma, av);
		allocated = NULL;
	}
	mmf_spin_unlock(&mm->page_table_lock);
	anon_vma_unlock(av);

	if (allocated) {
		mmf_mutex_destroy(&allocated->lock_storage);
		free(allocated);
	}
	return 0;
}
