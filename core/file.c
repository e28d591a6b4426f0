// SPDX-License-Identifier: MIT
/*
 * core/file.c - files: the page cache, i_size, and i_mmap.
 *
 * A file is a memfd-like object: a page cache (index -> page) and a size,
 * both under pages_lock, and i_mmap, the set of VMAs (of every process)
 * mapping it, under i_mmap_rwsem.  Shared anonymous mappings are backed by
 * an internal file (fid -1) of the mapping's size, as shmem_zero_setup
 * does.
 *
 * truncate: under pages_lock, the size changes, the page cache is cut and
 * every VMA in i_mmap loses the PTEs beyond the new end, private COW copies
 * included (the kernel's even_cows).  pages_lock stands for the kernel's
 * inode lock here: a write (which may extend the file again) and a fault
 * (which checks EOF and installs its PTE under pages_lock) come wholly
 * before or after a truncate.  Dropping pages_lock before the i_mmap walk
 * let the walk remove the PTE of a fault that came after a later write:
 * found by sched_fuzzer (linearizability:snapshot).  A VMA is in i_mmap
 * before any fault can install a PTE in it: a new VMA is write-locked
 * until mmap_region has linked it (core/mmap.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"

struct core_file *core_file_new(struct mmf_world *w, int fid, uint64_t size)
{
	struct core_file *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->fid = fid;
	f->w = w;
	f->size = size;
	mmf_refcount_init(&f->ref, 0);
	mmf_mutex_init(&f->pages_lock);
	mmf_rwsem_init(&f->i_mmap_rwsem);
	return f;
}

void core_file_get(struct core_file *f)
{
	if (!mmf_refcount_inc(&f->ref))
		mmf_sync_bug("core: file refcount saturated");
}

void core_file_put(struct core_file *f)
{
	size_t i;

	if (!mmf_refcount_dec_and_test(&f->ref))
		return;
	for (i = 0; i < f->nr_pages; i++)
		page_put(f->pages[i].page);
	free(f->pages);
	mmf_mutex_destroy(&f->pages_lock);
	mmf_rwsem_destroy(&f->i_mmap_rwsem);
	free(f);
}

/* ---- i_mmap ------------------------------------------------------------------ */

void i_mmap_lock_write(struct core_file *f)
{
	mmf_down_write(&f->i_mmap_rwsem);
	core_count(f->w, i_mmap_lock);
}

void i_mmap_unlock_write(struct core_file *f)
{
	mmf_up_write(&f->i_mmap_rwsem);
}

void i_mmap_lock_read(struct core_file *f)
{
	mmf_down_read(&f->i_mmap_rwsem);
	core_count(f->w, i_mmap_lock);
}

void i_mmap_unlock_read(struct core_file *f)
{
	mmf_up_read(&f->i_mmap_rwsem);
}

void i_mmap_insert(struct core_file *f, struct core_vma *vma)
{
	if (vma->in_i_mmap)
		mmf_sync_bug("core: VMA %p inserted into i_mmap twice", (void *)vma);
	vma->i_prev = NULL;
	vma->i_next = f->i_mmap;
	if (f->i_mmap)
		f->i_mmap->i_prev = vma;
	f->i_mmap = vma;
	vma->in_i_mmap = true;
	f->i_mmap_count++;
}

/*
 * Fork's insert: the child right behind its parent, so that a walk of i_mmap
 * (truncate's) meets the parent first.  Fork copies the parent's PTEs after
 * this insert, outside i_mmap_rwsem: a truncate that zaps the parent before
 * the copy leaves nothing to copy, and one that zaps it after the copy comes
 * to the child next.  With the child at the head of the list, a truncate
 * could pass the still empty child, then zap the parent after the copy: the
 * child kept a PTE beyond EOF (found by sched_fuzzer, invariant:pte_beyond_eof).
 */
void i_mmap_insert_after(struct core_file *f, struct core_vma *vma, struct core_vma *prev)
{
	if (vma->in_i_mmap || !prev->in_i_mmap)
		mmf_sync_bug("core: VMA %p inserted into i_mmap after %p", (void *)vma,
			     (void *)prev);
	vma->i_prev = prev;
	vma->i_next = prev->i_next;
	if (prev->i_next)
		prev->i_next->i_prev = vma;
	prev->i_next = vma;
	vma->in_i_mmap = true;
	f->i_mmap_count++;
}

void i_mmap_remove(struct core_file *f, struct core_vma *vma)
{
	if (!vma->in_i_mmap)
		mmf_sync_bug("core: VMA %p not in i_mmap", (void *)vma);
	if (vma->i_prev)
		vma->i_prev->i_next = vma->i_next;
	else
		f->i_mmap = vma->i_next;
	if (vma->i_next)
		vma->i_next->i_prev = vma->i_prev;
	vma->i_prev = vma->i_next = NULL;
	vma->in_i_mmap = false;
	f->i_mmap_count--;
}

/* ---- page cache (pages_lock held) ------------------------------------------- */

static size_t fpage_search(struct core_file *f, uint64_t index)
{
	size_t lo = 0, hi = f->nr_pages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->pages[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t size_pages(uint64_t size)
{
	return (size + MMF_PAGE_SIZE - 1) >> MMF_PAGE_SHIFT;
}

static struct core_page *fpage_insert(struct core_file *f, size_t pos, uint64_t index)
{
	struct core_page *p = page_alloc(f->w, false, 0);

	if (f->nr_pages == f->cap_pages) {
		f->cap_pages = f->cap_pages ? 2 * f->cap_pages : 8;
		f->pages = realloc(f->pages, f->cap_pages * sizeof(*f->pages));
		if (!f->pages)
			abort();
	}
	memmove(&f->pages[pos + 1], &f->pages[pos], (f->nr_pages - pos) * sizeof(*f->pages));
	f->pages[pos].index = index;
	f->pages[pos].page = p;
	f->nr_pages++;
	return p;
}

struct core_page *filemap_get_page(struct core_file *f, uint64_t index, bool create)
{
	size_t pos = fpage_search(f, index);
	struct core_page *p;

	if (pos < f->nr_pages && f->pages[pos].index == index) {
		p = f->pages[pos].page;
	} else {
		if (!create || index >= size_pages(f->size))
			return NULL;
		p = fpage_insert(f, pos, index);
	}
	page_get(p);
	return p;
}

/* ---- truncate, read, write ---------------------------------------------------- */

/* Zap the PTEs of every VMA mapping file pages >= index. */
static void unmap_mapping_range(struct core_file *f, uint64_t index)
{
	struct core_vma *vma;

	i_mmap_lock_read(f);
	for (vma = f->i_mmap; vma; vma = vma->i_next) {
		uint64_t first = vma->pgoff, last = vma->pgoff + vma_pages(vma);
		uint64_t from;

		if (last <= index)
			continue;
		from = index > first ? vma->start + ((index - first) << MMF_PAGE_SHIFT) : vma->start;
		zap_page_range(vma->mm, from, vma->end);
	}
	i_mmap_unlock_read(f);
}

int core_file_truncate(struct core_file *f, uint64_t size)
{
	uint64_t keep, old;
	size_t pos, i;

	if (size > MMF_MAX_FILE_SIZE)
		return -EFBIG;
	mmf_mutex_lock(&f->pages_lock);
	old = f->size;
	f->size = size;
	keep = size_pages(size);
	pos = fpage_search(f, keep);
	for (i = pos; i < f->nr_pages; i++)
		page_put(f->pages[i].page);
	f->nr_pages = pos;
	/* the bytes of the EOF page beyond the new size read as zero */
	if (size & (MMF_PAGE_SIZE - 1) && (size & (MMF_PAGE_SIZE - 1)) < 8 && size < old) {
		pos = fpage_search(f, size >> MMF_PAGE_SHIFT);
		if (pos < f->nr_pages && f->pages[pos].index == size >> MMF_PAGE_SHIFT) {
			struct core_page *p = f->pages[pos].page;
			unsigned int keep_bytes = size & (MMF_PAGE_SIZE - 1);
			uint64_t mask = (1ULL << (8 * keep_bytes)) - 1;

			mmf_write_once(p->value, mmf_read_once(p->value) & mask);
		}
	}
	/* still under pages_lock: a write that extends the file again, and a
	 * fault that maps its page, come after the whole truncate */
#ifdef MMF_ZOO_TRUNCATE_ZAP_UNLOCKED	/* zoo/README.md */
	mmf_mutex_unlock(&f->pages_lock);
	if (size < old)
		unmap_mapping_range(f, keep);
#else
	if (size < old)
		unmap_mapping_range(f, keep);
	mmf_mutex_unlock(&f->pages_lock);
#endif
	return 0;
}

int64_t core_file_read(struct core_file *f, uint64_t index, uint64_t *value)
{
	uint64_t pos = index << MMF_PAGE_SHIFT;
	int64_t n;
	size_t i;

	*value = 0;
	if (index > (MMF_MAX_FILE_SIZE >> MMF_PAGE_SHIFT))
		return 0;
	mmf_mutex_lock(&f->pages_lock);
	if (pos >= f->size) {
		n = 0;
	} else {
		n = f->size - pos < 8 ? (int64_t)(f->size - pos) : 8;
		i = fpage_search(f, index);
		if (i < f->nr_pages && f->pages[i].index == index)
			*value = mmf_read_once(f->pages[i].page->value);
		if (n < 8)
			*value &= (1ULL << (8 * n)) - 1;
	}
	mmf_mutex_unlock(&f->pages_lock);
	return n;
}

int64_t core_file_write(struct core_file *f, uint64_t index, uint64_t value)
{
	uint64_t pos, end;
	struct core_page *p;
	size_t i;

	if (index >= (MMF_MAX_FILE_SIZE >> MMF_PAGE_SHIFT))
		return -EFBIG;
	pos = index << MMF_PAGE_SHIFT;
	end = pos + 8;
	mmf_mutex_lock(&f->pages_lock);
	if (end > f->size)
		f->size = end;
	i = fpage_search(f, index);
	if (i < f->nr_pages && f->pages[i].index == index)
		p = f->pages[i].page;
	else
		p = fpage_insert(f, i, index);
	mmf_write_once(p->value, value);
	p->dirty = true;
	mmf_mutex_unlock(&f->pages_lock);
	return 8;
}

/* ---- hole punching and page-out (madvise) ------------------------------------ */

/*
 * shmem_fallocate(PUNCH_HOLE) for MADV_REMOVE: pages [first, end) leave
 * every mapping (private COW copies stay: even_cows = 0) and the page
 * cache.  pages_lock is held throughout so that no fault maps a page of
 * the hole that is about to leave the cache.
 */
int core_file_punch_hole(struct core_file *f, uint64_t first, uint64_t end)
{
	struct core_vma *vma;
	size_t lo, hi, i;

	if (first >= end)
		return 0;
	mmf_mutex_lock(&f->pages_lock);
	i_mmap_lock_read(f);
	for (vma = f->i_mmap; vma; vma = vma->i_next) {
		uint64_t vfirst = vma->pgoff, vlast = vma->pgoff + vma_pages(vma);
		uint64_t a = first > vfirst ? first : vfirst, b = end < vlast ? end : vlast;

		if (a >= b)
			continue;
		zap_page_range_filter(vma->mm, vma->start + ((a - vfirst) << MMF_PAGE_SHIFT),
				      vma->start + ((b - vfirst) << MMF_PAGE_SHIFT), true);
	}
	i_mmap_unlock_read(f);
	lo = fpage_search(f, first);
	hi = fpage_search(f, end);
	if (lo < hi) {
		for (i = lo; i < hi; i++)
			page_put(f->pages[i].page);
		memmove(&f->pages[lo], &f->pages[hi], (f->nr_pages - hi) * sizeof(*f->pages));
		f->nr_pages -= hi - lo;
	}
	mmf_mutex_unlock(&f->pages_lock);
	return 0;
}

/*
 * MADV_PAGEOUT without swap over [start, end) of vma: anonymous pages
 * stay; a page-cache page mapped by this PTE only is unmapped, and dropped
 * from the cache if it was never written (else writeout has nowhere to
 * go and it stays cached).  Pages mapped more than once are left alone.
 * mmap_lock held (read).
 */
void core_file_pageout(struct core_mm *mm, struct core_vma *vma, uint64_t start, uint64_t end)
{
	struct core_file *f = vma->file;
	uint64_t vpn;

	if (!f)
		return;
	mmf_mutex_lock(&f->pages_lock);
	mmf_spin_lock(&mm->page_table_lock);
	for (vpn = start >> MMF_PAGE_SHIFT; vpn < end >> MMF_PAGE_SHIFT; vpn++) {
		struct core_pte *pte = pte_lookup(mm, vpn);
		uint64_t index = vma->pgoff + vpn - (vma->start >> MMF_PAGE_SHIFT);
		struct core_page *page;
		size_t pos;

		if (!pte || pte->page->anon || pte->page->zero)
			continue;
		page = pte->page;
		pos = fpage_search(f, index);
		if (pos >= f->nr_pages || f->pages[pos].page != page)
			continue;
		/* mapcount: the page cache holds one reference, each PTE one */
		if (mmf_atomic_read(&page->ref) != 2)
			continue;
		mmf_spin_unlock(&mm->page_table_lock);
		zap_page_range(mm, vpn << MMF_PAGE_SHIFT, (vpn + 1) << MMF_PAGE_SHIFT);
		mmf_spin_lock(&mm->page_table_lock);
		if (!page->dirty) {
			memmove(&f->pages[pos], &f->pages[pos + 1],
				(f->nr_pages - pos - 1) * sizeof(*f->pages));
			f->nr_pages--;
			page_put(page);
		}
	}
	mmf_spin_unlock(&mm->page_table_lock);
	mmf_mutex_unlock(&f->pages_lock);
}
