// SPDX-License-Identifier: MIT
/*
 * reference/file.c - files: memfd-like shmem inodes with a size and a page
 * cache (index -> value), and the operations on them: create, ftruncate,
 * pread, pwrite.  The hidden shmem object behind a shared anonymous
 * mapping is a file too (anon = true), sized at mmap time.
 *
 * A page holds one 64-bit value stored at its first byte (mm.h), so the
 * bytes of a value are the first 8 bytes of the page, little endian.
 */
#include <errno.h>
#include <stdlib.h>

#include "ref.h"

struct ref_file *file_new(uint64_t size, bool anon)
{
	struct ref_file *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->refs = 1;
	f->anon = anon;
	f->size = size;
	table_init(&f->cache, sizeof(struct ref_fpage));
	return f;
}

struct ref_file *file_get(struct ref_file *f)
{
	f->refs++;
	return f;
}

void file_put(struct ref_file *f)
{
	if (--f->refs > 0)
		return;
	table_free(&f->cache);
	free(f);
}

uint64_t file_pages(const struct ref_file *f)
{
	return page_align(f->size) >> PAGE_SHIFT;
}

struct ref_fpage *file_page_alloc(struct ref_file *f, uint64_t index)
{
	return table_get(&f->cache, index);
}

uint64_t file_page_value(const struct ref_file *f, uint64_t index)
{
	const struct ref_fpage *pg = table_find(&f->cache, index);

	return pg ? pg->value : 0;
}

/* The low `bytes` bytes of a value (bytes <= 8). */
static uint64_t low_bytes(uint64_t value, uint64_t bytes)
{
	return bytes >= 8 ? value : value & ((1ULL << (8 * bytes)) - 1);
}

/* memfd_create + ftruncate(len): the lowest free handle. */
int64_t ref_file_create(struct ref_world *w, uint64_t size)
{
	/* ftruncate: sizes beyond the file size limit are -EFBIG */
	if (size > MMF_MAX_FILE_SIZE)
		return -EFBIG;
	for (int fid = 0; fid < MMF_MAX_FILES; fid++) {
		if (!w->files[fid]) {
			w->files[fid] = file_new(size, false);
			return fid;
		}
	}
	/* every descriptor slot in use */
	return -EMFILE;
}

/*
 * Remove every PTE that maps page index >= first of f, in every process:
 * unmap_mapping_range(even_cows = 1) also drops private COWed copies.
 */
static void unmap_mapping_from(struct ref_world *w, struct ref_file *f, uint64_t first)
{
	for (int pid = 0; pid < MMF_MAX_PROCS; pid++) {
		struct ref_proc *p = &w->procs[pid];

		if (!p->live)
			continue;
		for (size_t i = 0; i < p->nr_vmas; i++) {
			struct ref_vma *v = p->vmas[i];
			uint64_t from;

			if (v->file != f)
				continue;
			if (v->pgoff >= first)
				from = v->start;
			else if (first - v->pgoff >= vma_pages(v))
				continue;
			else
				from = v->start + ((first - v->pgoff) << PAGE_SHIFT);
			zap_ptes(p, from, v->end);
		}
	}
}

unsigned file_page_mapcount(struct ref_world *w, struct ref_file *f, uint64_t index)
{
	unsigned count = 0;

	for (int pid = 0; pid < MMF_MAX_PROCS; pid++) {
		struct ref_proc *p = &w->procs[pid];

		if (!p->live)
			continue;
		for (size_t i = 0; i < p->ptes.nr; i++) {
			const struct ref_pte *pte = table_row(&p->ptes, i);

			if (pte->kind == PTE_FILE && pte->file == f && pte->index == index)
				count++;
		}
	}
	return count;
}

/*
 * shmem_fallocate(FALLOC_FL_PUNCH_HOLE): unmap pages [first, end) of f
 * from every mapping except private COWed copies (even_cows = 0), then
 * drop them from the page cache.
 */
void file_punch_hole(struct ref_world *w, struct ref_file *f, uint64_t first, uint64_t end)
{
	for (int pid = 0; pid < MMF_MAX_PROCS; pid++) {
		struct ref_proc *p = &w->procs[pid];

		if (!p->live)
			continue;
		for (size_t i = 0; i < p->ptes.nr;) {
			struct ref_pte *pte = table_row(&p->ptes, i);

			if (pte->kind == PTE_FILE && pte->file == f && pte->index >= first &&
			    pte->index < end)
				zap_ptes(p, pte->addr, pte->addr + PAGE);
			else
				i++;
		}
	}
	table_remove_range(&f->cache, first, end);
}

/* ftruncate(f, size) on shmem (shmem_setattr). */
int64_t ref_truncate(struct ref_world *w, struct ref_file *f, uint64_t size)
{
	uint64_t first;

	/* ftruncate: sizes beyond the file size limit are -EFBIG */
	if (size > MMF_MAX_FILE_SIZE)
		return -EFBIG;
	if (size >= f->size) {
		/* growing: the new pages are holes, filled lazily with zeroes */
		f->size = size;
		return 0;
	}
	/* shrinking: unmap beyond the new EOF page, drop the page cache there */
	f->size = size;
	first = file_pages(f);
	unmap_mapping_from(w, f, first);
	table_remove_range(&f->cache, first, UINT64_MAX);
	/* the partial last page keeps its bytes before EOF and reads 0 after */
	if (size % PAGE) {
		struct ref_fpage *pg = table_find(&f->cache, size / PAGE);

		if (pg)
			pg->value = low_bytes(pg->value, size % PAGE);
	}
	return 0;
}

/* pread(f, 8 bytes, index * PAGE): bytes read; a hole reads 0, nothing allocated. */
int64_t ref_file_read(struct ref_file *f, uint64_t index, uint64_t *value)
{
	uint64_t off, bytes;

	*value = 0;
	/* pread at or beyond EOF reads nothing */
	if (index >= MMF_MAX_FILE_SIZE / PAGE)
		return 0;
	off = index * PAGE;
	if (off >= f->size)
		return 0;
	/* a read crossing EOF is short */
	bytes = f->size - off < 8 ? f->size - off : 8;
	*value = low_bytes(file_page_value(f, index), bytes);
	return (int64_t)bytes;
}

/* pwrite(f, &value, 8, index * PAGE): allocates the page, extends the size. */
int64_t ref_file_write(struct ref_file *f, uint64_t index, uint64_t value)
{
	struct ref_fpage *pg;
	uint64_t end;

	/* a write beyond the file size limit is -EFBIG */
	if (index >= MMF_MAX_FILE_SIZE / PAGE)
		return -EFBIG;
	end = index * PAGE + 8;
	if (end > MMF_MAX_FILE_SIZE)
		return -EFBIG;
	pg = file_page_alloc(f, index);
	pg->value = value;
	pg->dirty = true;
	if (end > f->size)
		f->size = end;
	return 8;
}
