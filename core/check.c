// SPDX-License-Identifier: MIT
/*
 * core/check.c - the invariant checker, run between ops (never concurrently
 * with exec):
 *  - no lock held and no RCU read-side section open by the caller, no mm's
 *    mmap_lock held, no VMA write-locked or read-locked;
 *  - each tree structurally sound, ordered and non-overlapping, and its
 *    count equal to map_count; every VMA attached and owned by its mm;
 *  - every file VMA in its file's i_mmap exactly once, and nothing else in
 *    any i_mmap (every entry is a live VMA of a live mm mapping that file);
 *  - every anon name's refcount equal to the number of VMAs holding it;
 *  - every PTE inside a VMA; private pages only in VMAs with an anon_vma;
 *    no PTE of a file VMA beyond EOF, and a page-cache PTE maps exactly the
 *    page the cache holds at its index (truncate and hole punching missed
 *    nothing that a concurrent fault installed);
 *  - an exited mm has no VMA, no PTE and nothing on its free list.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"

/* "NAME: what": NAME, the invariant, is the failure's signature (invariant:NAME) */
#define FAIL(name, ...) do { fail_msg(msg, msglen, name); \
	snprintf(msg + strlen(msg), msglen - strlen(msg), __VA_ARGS__); \
	ret = -1; goto out; } while (0)

static void fail_msg(char *msg, size_t msglen, const char *name)
{
	snprintf(msg, msglen, "%s: ", name);
}

/*
 * Holders counted per key (VMAs per anon name, VMAs per file).  A world has
 * few distinct ones: searched linearly, the last one first (neighbouring
 * VMAs share them), in an array on the caller's stack; the heap only past
 * HOLDERS_INLINE keys.  Only equality is compared, never the order of two
 * heap addresses, so the checker's control flow does not depend on malloc
 * (AFL++ persistent-mode stability).
 */
#define HOLDERS_INLINE 64

struct holder {
	const void *key;
	unsigned long n;
};

struct holders {
	struct holder *v;
	size_t nr, cap;
	struct holder inline_v[HOLDERS_INLINE];
};

static void holders_init(struct holders *h)
{
	h->v = h->inline_v;
	h->nr = 0;
	h->cap = HOLDERS_INLINE;
}

static void holders_free(struct holders *h)
{
	if (h->v != h->inline_v)
		free(h->v);
}

static void holders_count(struct holders *h, const void *key)
{
	size_t i;

	if (h->nr && h->v[h->nr - 1].key == key) {
		h->v[h->nr - 1].n++;
		return;
	}
	for (i = 0; i < h->nr; i++) {
		if (h->v[i].key == key) {
			h->v[i].n++;
			return;
		}
	}
	if (h->nr == h->cap) {
		struct holder *v = malloc(2 * h->cap * sizeof(*v));

		if (!v)
			abort();
		memcpy(v, h->v, h->nr * sizeof(*v));
		holders_free(h);
		h->v = v;
		h->cap *= 2;
	}
	h->v[h->nr].key = key;
	h->v[h->nr++].n = 1;
}

struct check_ctx {
	struct holders names;	/* struct anon_name * */
	struct holders files;	/* struct core_file * */
	/* the mm being walked (vma_tree_walk): */
	struct core_mm *mm;
	struct core_vma *prev;
	unsigned long nr_vmas;
	size_t pte;		/* next PTE of mm->ptes to check */
	char *msg;
	size_t msglen;
};

/* PTE i lies in vma (a file VMA's PTE within EOF, a page-cache PTE mapping
 * the page the cache holds: truncate and hole punching missed nothing a
 * concurrent fault installed). */
static int check_pte(struct core_mm *mm, size_t i, struct core_vma *vma, char *msg, size_t msglen)
{
	uint64_t addr = mm->ptes[i].vpn << MMF_PAGE_SHIFT;
	struct core_file *f = vma->file;
	struct core_page *cached;
	uint64_t index;
	int ret = 0;

	if (mm->ptes[i].page->anon && !vma->anon_vma)
		FAIL("page_without_anon_vma", "p%d: private page at %#llx in a VMA without anon_vma", mm->pid,
		     (unsigned long long)addr);
	if (!f || mm->ptes[i].page->guard)	/* a guard marker maps no page */
		goto out;
	index = vma->pgoff + ((addr - vma->start) >> MMF_PAGE_SHIFT);
	if (index >= (f->size + MMF_PAGE_SIZE - 1) >> MMF_PAGE_SHIFT)
		FAIL("pte_beyond_eof", "p%d: PTE at %#llx beyond the end of its file", mm->pid,
		     (unsigned long long)addr);
	if (!mm->ptes[i].page->anon) {
		mmf_mutex_lock(&f->pages_lock);
		cached = filemap_get_page(f, index, false);
		mmf_mutex_unlock(&f->pages_lock);
		if (cached)
			page_put(cached);
		if (cached != mm->ptes[i].page)
			FAIL("pte_not_in_page_cache", "p%d: PTE at %#llx maps a page the page cache does not hold",
			     mm->pid, (unsigned long long)addr);
	}
out:
	return ret;
}

/* The PTEs from c->pte on that lie below `below`: each must be in vma
 * (NULL: in no VMA, an error), in strictly increasing order. */
static int check_ptes_below(struct check_ctx *c, uint64_t below, struct core_vma *vma)
{
	struct core_mm *mm = c->mm;
	char *msg = c->msg;
	size_t msglen = c->msglen;
	int ret = 0;

	for (; c->pte < mm->nr_ptes; c->pte++) {
		size_t i = c->pte;
		uint64_t addr = mm->ptes[i].vpn << MMF_PAGE_SHIFT;

		if (i && mm->ptes[i - 1].vpn >= mm->ptes[i].vpn)
			FAIL("page_table_order", "p%d: page table out of order", mm->pid);
		if (addr >= below)
			break;
		if (!vma || addr < vma->start)
			FAIL("pte_outside_vma", "p%d: PTE at %#llx outside every VMA", mm->pid, (unsigned long long)addr);
		if (check_pte(mm, i, vma, msg, msglen))
			return -1;
	}
out:
	return ret;
}

/* One VMA of the in-order walk, and the PTEs up to its end. */
static int check_vma(void *val, const struct vma_tree_range *r, void *arg)
{
	struct check_ctx *c = arg;
	struct core_vma *vma = val, *prev = c->prev;
	struct core_mm *mm = c->mm;
	char *msg = c->msg;
	size_t msglen = c->msglen, i;
	int ret = 0;

	c->nr_vmas++;
	if (r->start != vma->start || r->end != vma->end)
		FAIL("tree_range", "p%d: tree range [%#llx,%#llx) but VMA [%#llx,%#llx)", mm->pid,
		     (unsigned long long)r->start, (unsigned long long)r->end,
		     (unsigned long long)vma->start, (unsigned long long)vma->end);
	if (vma->start >= vma->end || (vma->start | vma->end) & (MMF_PAGE_SIZE - 1))
		FAIL("vma_range", "p%d: bad VMA [%#llx,%#llx)", mm->pid, (unsigned long long)vma->start,
		     (unsigned long long)vma->end);
	if (prev && prev->end > vma->start)
		FAIL("vma_overlap", "p%d: VMAs overlap at %#llx", mm->pid, (unsigned long long)vma->start);
	if (vma->mm != mm)
		FAIL("vma_mm", "p%d: VMA %#llx belongs to another mm", mm->pid,
		     (unsigned long long)vma->start);
	if (mmf_atomic_read(&vma->detached))
		FAIL("vma_detached", "p%d: VMA %#llx in the tree but detached", mm->pid,
		     (unsigned long long)vma->start);
	if (vma_is_write_locked(vma) || mmf_rwsem_is_locked(&vma->vm_lock))
		FAIL("vma_locked", "p%d: VMA %#llx locked between ops", mm->pid,
		     (unsigned long long)vma->start);
	if (vma->file) {
		if (!vma->in_i_mmap)
			FAIL("vma_not_in_i_mmap", "p%d: file VMA %#llx not in i_mmap", mm->pid,
			     (unsigned long long)vma->start);
		holders_count(&c->files, vma->file);
	} else if (vma->in_i_mmap) {
		FAIL("anon_in_i_mmap", "p%d: anonymous VMA %#llx in an i_mmap", mm->pid,
		     (unsigned long long)vma->start);
	}
	if (vma->anon_name)
		holders_count(&c->names, vma->anon_name);
	if (vma->anon_vma) {
		bool found = false;

		for (i = 0; i < vma->chain_len; i++)
			found |= vma->chain[i] == vma->anon_vma;
		if (!found)
			FAIL("anon_vma_chain", "p%d: VMA %#llx: anon_vma not in its chain", mm->pid,
			     (unsigned long long)vma->start);
	} else if (vma->chain_len) {
		FAIL("chain_without_anon_vma", "p%d: VMA %#llx: chain without anon_vma", mm->pid,
		     (unsigned long long)vma->start);
	}
	c->prev = vma;
	return check_ptes_below(c, vma->end, vma);
out:
	return ret;
}

/* The VMAs in one in-order walk of the tree, merged with the (sorted) page
 * table: O(VMAs + PTEs), no lookup per VMA or per PTE. */
static int check_mm(struct check_ctx *c, struct core_mm *mm, char *msg, size_t msglen)
{
	struct vma_tree_iter it;
	struct vma_tree_range r;
	struct core_vma *vma;
	int ret = 0;

	if (mmf_rwsem_is_locked(&mm->mmap_lock))
		FAIL("mmap_lock_held", "p%d: mmap_lock held between ops", mm->pid);
	if (vma_tree_check(&mm->mt, msg, msglen))
		return -1;
	c->mm = mm;
	c->prev = NULL;
	c->nr_vmas = 0;
	c->pte = 0;
	c->msg = msg;
	c->msglen = msglen;
	vma_tree_walk(&mm->mt, it, vma, r, 0, MMF_TASK_SIZE)
		if (check_vma(vma, &r, c))
			return -1;
	if (check_ptes_below(c, UINT64_MAX, NULL))	/* PTEs past the last VMA */
		return -1;
	if (c->nr_vmas != (unsigned long)mm->map_count || c->nr_vmas != vma_tree_count(&mm->mt))
		FAIL("map_count", "p%d: map_count %d, tree count %lu, VMAs %lu", mm->pid, mm->map_count,
		     vma_tree_count(&mm->mt), c->nr_vmas);
out:
	return ret;
}

/* Every i_mmap entry is a live VMA of that file, and the counts agree. */
static int check_file(struct mmf_world *w, struct core_file *f,
		      unsigned long expect, char *msg, size_t msglen)
{
	struct core_vma *vma;
	unsigned long n = 0;
	int ret = 0;

	if (mmf_rwsem_is_locked(&f->i_mmap_rwsem))
		FAIL("i_mmap_held", "file %d: i_mmap_rwsem held between ops", f->fid);
	for (vma = f->i_mmap; vma; vma = vma->i_next) {
		struct core_mm *mm = vma->mm;

		n++;
		if (vma->file != f || !vma->in_i_mmap)
			FAIL("i_mmap_other_file", "file %d: i_mmap holds a VMA of another file", f->fid);
		if (mmf_atomic_read(&vma->detached) || mm->dead || w->procs[mm->pid] != mm ||
		    vma_tree_load(&mm->mt, vma->start, NULL) != vma)
			FAIL("i_mmap_unmapped_vma", "file %d: i_mmap holds a VMA [%#llx,%#llx) that is not mapped",
			     f->fid, (unsigned long long)vma->start, (unsigned long long)vma->end);
		if (n > expect)
			break;
	}
	if (n != expect || n != f->i_mmap_count)
		FAIL("i_mmap_count", "file %d: i_mmap has %lu VMAs (count %lu), %lu VMAs map it", f->fid, n,
		     f->i_mmap_count, expect);
out:
	return ret;
}

int core_check(struct mmf_world *w, char *msg, size_t msglen)
{
	struct check_ctx c;
	struct core_mm *mm;
	size_t i;
	int ret = 0, locks;

	holders_init(&c.names);
	holders_init(&c.files);
	locks = mmf_sync_locks_held();
	if (locks > 0)
		FAIL("checker_locks", "the checking thread holds %d locks", locks);
	if (mmf_rcu_read_depth() > 0)
		FAIL("checker_rcu", "the checking thread is inside an RCU read-side section");
	for (i = 0; i < MMF_MAX_PROCS; i++) {
		mm = w->procs[i];
		if (mm && check_mm(&c, mm, msg, msglen)) {
			ret = -1;
			goto out;
		}
	}
	for (mm = w->zombies; mm; mm = mm->zombie_next) {
		if (mm->map_count || mm->nr_ptes || mm->free_list || mm->nr_free)
			FAIL("exited_mm", "exited p%d: %d VMAs, %zu PTEs, %u on the free list", mm->pid,
			     mm->map_count, mm->nr_ptes, mm->nr_free);
	}
	/* world files nobody maps must have an empty i_mmap */
	for (i = 0; i < MMF_MAX_FILES; i++) {
		struct core_file *f = w->files[i];
		size_t j;
		bool mapped = false;

		if (!f)
			continue;
		for (j = 0; j < c.files.nr; j++)
			mapped |= c.files.v[j].key == f;
		if (!mapped && (f->i_mmap || f->i_mmap_count))
			FAIL("i_mmap_not_empty", "file %d: nobody maps it but its i_mmap is not empty", f->fid);
	}
	for (i = 0; i < c.files.nr; i++)
		if (check_file(w, (struct core_file *)c.files.v[i].key, c.files.v[i].n,
			       msg, msglen)) {
			ret = -1;
			goto out;
		}
	for (i = 0; i < c.names.nr; i++) {
		struct anon_name *n = (struct anon_name *)c.names.v[i].key;
		unsigned long refs = anon_name_refs(n);

		if (refs != c.names.v[i].n)
			FAIL("anon_name_refcount", "anon name \"%s\": refcount %lu, %lu VMAs hold it",
			     n->name, refs, c.names.v[i].n);
	}
out:
	holders_free(&c.names);
	holders_free(&c.files);
	return ret;
}
