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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"

#define FAIL(...) do { snprintf(msg, msglen, __VA_ARGS__); ret = -1; goto out; } while (0)

struct name_count {
	struct anon_name *name;
	unsigned long holders;
};

struct file_count {
	struct core_file *file;
	unsigned long vmas;
};

struct check_ctx {
	struct name_count *names;
	size_t nr_names, cap_names;
	struct file_count *files;
	size_t nr_files, cap_files;
};

static void count_name(struct check_ctx *c, struct anon_name *n)
{
	size_t i;

	for (i = 0; i < c->nr_names; i++) {
		if (c->names[i].name == n) {
			c->names[i].holders++;
			return;
		}
	}
	if (c->nr_names == c->cap_names) {
		c->cap_names = c->cap_names ? 2 * c->cap_names : 16;
		c->names = realloc(c->names, c->cap_names * sizeof(*c->names));
		if (!c->names)
			abort();
	}
	c->names[c->nr_names].name = n;
	c->names[c->nr_names++].holders = 1;
}

static void count_file(struct check_ctx *c, struct core_file *f)
{
	size_t i;

	for (i = 0; i < c->nr_files; i++) {
		if (c->files[i].file == f) {
			c->files[i].vmas++;
			return;
		}
	}
	if (c->nr_files == c->cap_files) {
		c->cap_files = c->cap_files ? 2 * c->cap_files : 16;
		c->files = realloc(c->files, c->cap_files * sizeof(*c->files));
		if (!c->files)
			abort();
	}
	c->files[c->nr_files].file = f;
	c->files[c->nr_files++].vmas = 1;
}

static int check_mm(struct check_ctx *c, struct core_mm *mm, char *msg, size_t msglen)
{
	struct core_vma *vma, *prev = NULL;
	struct vma_tree_range r;
	unsigned long n = 0;
	size_t i;
	int ret = 0;

	if (mmf_rwsem_is_locked(&mm->mmap_lock))
		FAIL("p%d: mmap_lock held between ops", mm->pid);
	if (vma_tree_check(&mm->mt, msg, msglen))
		return -1;
	vma_tree_for_each(&mm->mt, vma, r, 0, MMF_TASK_SIZE) {
		n++;
		if (r.start != vma->start || r.end != vma->end)
			FAIL("p%d: tree range [%#llx,%#llx) but VMA [%#llx,%#llx)", mm->pid,
			     (unsigned long long)r.start, (unsigned long long)r.end,
			     (unsigned long long)vma->start, (unsigned long long)vma->end);
		if (vma->start >= vma->end || (vma->start | vma->end) & (MMF_PAGE_SIZE - 1))
			FAIL("p%d: bad VMA [%#llx,%#llx)", mm->pid, (unsigned long long)vma->start,
			     (unsigned long long)vma->end);
		if (prev && prev->end > vma->start)
			FAIL("p%d: VMAs overlap at %#llx", mm->pid, (unsigned long long)vma->start);
		if (vma->mm != mm)
			FAIL("p%d: VMA %#llx belongs to another mm", mm->pid,
			     (unsigned long long)vma->start);
		if (mmf_atomic_read(&vma->detached))
			FAIL("p%d: VMA %#llx in the tree but detached", mm->pid,
			     (unsigned long long)vma->start);
		if (vma_is_write_locked(vma) || mmf_rwsem_is_locked(&vma->vm_lock))
			FAIL("p%d: VMA %#llx locked between ops", mm->pid,
			     (unsigned long long)vma->start);
		if (vma->file) {
			if (!vma->in_i_mmap)
				FAIL("p%d: file VMA %#llx not in i_mmap", mm->pid,
				     (unsigned long long)vma->start);
			count_file(c, vma->file);
		} else if (vma->in_i_mmap) {
			FAIL("p%d: anonymous VMA %#llx in an i_mmap", mm->pid,
			     (unsigned long long)vma->start);
		}
		if (vma->anon_name)
			count_name(c, vma->anon_name);
		if (vma->anon_vma) {
			bool found = false;

			for (i = 0; i < vma->chain_len; i++)
				found |= vma->chain[i] == vma->anon_vma;
			if (!found)
				FAIL("p%d: VMA %#llx: anon_vma not in its chain", mm->pid,
				     (unsigned long long)vma->start);
		} else if (vma->chain_len) {
			FAIL("p%d: VMA %#llx: chain without anon_vma", mm->pid,
			     (unsigned long long)vma->start);
		}
		prev = vma;
	}
	if (n != (unsigned long)mm->map_count || n != vma_tree_count(&mm->mt))
		FAIL("p%d: map_count %d, tree count %lu, VMAs %lu", mm->pid, mm->map_count,
		     vma_tree_count(&mm->mt), n);
	for (i = 0; i < mm->nr_ptes; i++) {
		uint64_t addr = mm->ptes[i].vpn << MMF_PAGE_SHIFT;

		vma = vma_lookup(mm, addr);
		if (!vma)
			FAIL("p%d: PTE at %#llx outside every VMA", mm->pid, (unsigned long long)addr);
		if (mm->ptes[i].page->anon && !vma->anon_vma)
			FAIL("p%d: private page at %#llx in a VMA without anon_vma", mm->pid,
			     (unsigned long long)addr);
		if (i && mm->ptes[i - 1].vpn >= mm->ptes[i].vpn)
			FAIL("p%d: page table out of order", mm->pid);
		if (vma->file && !mm->ptes[i].page->guard) {
			/* truncate never misses a PTE: none lies beyond EOF, and a
			 * page-cache PTE maps the page the cache holds */
			struct core_file *f = vma->file;
			uint64_t index = vma->pgoff + ((addr - vma->start) >> MMF_PAGE_SHIFT);
			struct core_page *cached;

			if (index >= (f->size + MMF_PAGE_SIZE - 1) >> MMF_PAGE_SHIFT)
				FAIL("p%d: PTE at %#llx beyond the end of its file", mm->pid,
				     (unsigned long long)addr);
			if (!mm->ptes[i].page->anon) {
				mmf_mutex_lock(&f->pages_lock);
				cached = filemap_get_page(f, index, false);
				mmf_mutex_unlock(&f->pages_lock);
				if (cached)
					page_put(cached);
				if (cached != mm->ptes[i].page)
					FAIL("p%d: PTE at %#llx maps a page the page cache does not hold",
					     mm->pid, (unsigned long long)addr);
			}
		}
	}
out:
	return ret;
}

/* Every i_mmap entry is a live VMA of that file, and the counts agree. */
static int check_file(struct check_ctx *c, struct mmf_world *w, struct core_file *f,
		      unsigned long expect, char *msg, size_t msglen)
{
	struct core_vma *vma;
	unsigned long n = 0;
	int ret = 0;

	if (mmf_rwsem_is_locked(&f->i_mmap_rwsem))
		FAIL("file %d: i_mmap_rwsem held between ops", f->fid);
	for (vma = f->i_mmap; vma; vma = vma->i_next) {
		struct core_mm *mm = vma->mm;

		n++;
		if (vma->file != f || !vma->in_i_mmap)
			FAIL("file %d: i_mmap holds a VMA of another file", f->fid);
		if (mmf_atomic_read(&vma->detached) || mm->dead || w->procs[mm->pid] != mm ||
		    vma_tree_load(&mm->mt, vma->start, NULL) != vma)
			FAIL("file %d: i_mmap holds a VMA [%#llx,%#llx) that is not mapped",
			     f->fid, (unsigned long long)vma->start, (unsigned long long)vma->end);
		if (n > expect)
			break;
	}
	if (n != expect || n != f->i_mmap_count)
		FAIL("file %d: i_mmap has %lu VMAs (count %lu), %lu VMAs map it", f->fid, n,
		     f->i_mmap_count, expect);
out:
	return ret;
}

int core_check(struct mmf_world *w, char *msg, size_t msglen)
{
	struct check_ctx c = { 0 };
	struct core_mm *mm;
	size_t i;
	int ret = 0, locks;

	locks = mmf_sync_locks_held();
	if (locks > 0)
		FAIL("the checking thread holds %d locks", locks);
	if (mmf_rcu_read_depth() > 0)
		FAIL("the checking thread is inside an RCU read-side section");
	for (i = 0; i < MMF_MAX_PROCS; i++) {
		mm = w->procs[i];
		if (mm && check_mm(&c, mm, msg, msglen)) {
			ret = -1;
			goto out;
		}
	}
	for (mm = w->zombies; mm; mm = mm->zombie_next) {
		if (mm->map_count || mm->nr_ptes || mm->free_list || mm->nr_free)
			FAIL("exited p%d: %d VMAs, %zu PTEs, %u on the free list", mm->pid,
			     mm->map_count, mm->nr_ptes, mm->nr_free);
	}
	/* world files nobody maps must have an empty i_mmap */
	for (i = 0; i < MMF_MAX_FILES; i++) {
		struct core_file *f = w->files[i];
		size_t j;
		bool mapped = false;

		if (!f)
			continue;
		for (j = 0; j < c.nr_files; j++)
			mapped |= c.files[j].file == f;
		if (!mapped && (f->i_mmap || f->i_mmap_count))
			FAIL("file %d: nobody maps it but its i_mmap is not empty", f->fid);
	}
	for (i = 0; i < c.nr_files; i++)
		if (check_file(&c, w, c.files[i].file, c.files[i].vmas, msg, msglen)) {
			ret = -1;
			goto out;
		}
	for (i = 0; i < c.nr_names; i++) {
		unsigned long refs = anon_name_refs(c.names[i].name);

		if (refs != c.names[i].holders)
			FAIL("anon name \"%s\": refcount %lu, %lu VMAs hold it",
			     c.names[i].name->name, refs, c.names[i].holders);
	}
out:
	free(c.names);
	free(c.files);
	return ret;
}
