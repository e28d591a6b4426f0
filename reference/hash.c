// SPDX-License-Identifier: MIT
/*
 * reference/hash.c - a hash of the complete state of a world
 * (mmf_impl.state_hash), which the linearizability checker memoizes on:
 * two worlds with equal hashes give every future op the same result and
 * end in the same snapshot (up to collisions of a 64-bit hash).
 *
 * So the hash takes in everything an op can read:
 *  - the world: max_map_count, zero_page, exec_only_pkey, which handle
 *    names which file;
 *  - every live process, by pid: its VMAs in address order, each with
 *    start, end, pgoff (private anonymous VMAs too: merging compares it),
 *    prot, every flag (the hidden REF_VM_* ones too: REF_VM_MAYBE_GUARD
 *    decides what fork copies), file, name,
 *    anon_vma and fork_child; then its PTEs in address order, each with
 *    its kind and what it maps (a value, or a file page; guard markers,
 *    which no snapshot shows, by their kind);
 *  - every file, handled or only mapped (the shmem object of a shared
 *    anonymous mapping): anon, size, and its page cache with each page's
 *    index, value and dirty bit (MADV_PAGEOUT drops clean pages only).
 *
 * and leaves out what no op can read:
 *  - the counters;
 *  - file reference counts (they follow from the handles and VMAs);
 *  - the *numbers* of anon_vma identities and the addresses of files.
 *    Only their equality matters (is this the same anon_vma, the same
 *    file?), and a new anon_vma is always one no VMA has yet, so each is
 *    hashed as the order of its first appearance in the walk above: 1 for
 *    the first met, 2 for the next one, and so on.  Two worlds that differ
 *    only in those names hash equal: for instance two VMAs faulted in
 *    opposite orders (anon_vma 1 and 2 swapped).  last_anon_vma goes out
 *    with them.
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

/* Identities met so far, in order of first appearance. */
struct seen {
	uint64_t *keys;
	size_t nr, cap;
};

struct hasher {
	uint64_t h;
	struct seen files;	/* struct ref_file pointers */
	struct seen anon_vmas;	/* anon_vma identities */
};

static void put(struct hasher *hs, uint64_t x)
{
	hs->h = (hs->h ^ x) * 0x9e3779b97f4a7c15ULL;
	hs->h ^= hs->h >> 29;
}

static void put_string(struct hasher *hs, const char *s)
{
	size_t len = strlen(s);

	put(hs, len);
	for (size_t i = 0; i < len; i++)
		put(hs, (unsigned char)s[i]);
}

/*
 * The position (1, 2, ...) of key among the identities seen, appending it
 * if new (*is_new says so).  Key 0 ("none") is 0.
 */
static uint64_t first_appearance(struct seen *s, uint64_t key, bool *is_new)
{
	*is_new = false;
	if (!key)
		return 0;
	for (size_t i = 0; i < s->nr; i++) {
		if (s->keys[i] == key)
			return i + 1;
	}
	if (s->nr == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->keys = realloc(s->keys, s->cap * sizeof(*s->keys));
		if (!s->keys)
			abort();
	}
	s->keys[s->nr++] = key;
	*is_new = true;
	return s->nr;
}

/* A file: its identity, and its contents the first time it is met. */
static void put_file(struct hasher *hs, const struct ref_file *f)
{
	bool is_new;

	put(hs, first_appearance(&hs->files, (uintptr_t)f, &is_new));
	if (!is_new)
		return;
	put(hs, f->anon);
	put(hs, f->size);
	put(hs, f->cache.nr);
	for (size_t i = 0; i < f->cache.nr; i++) {
		const struct ref_fpage *pg = table_row(&f->cache, i);

		put(hs, pg->index);
		put(hs, pg->value);
		put(hs, pg->dirty);
	}
}

static void put_vma(struct hasher *hs, const struct ref_vma *v)
{
	bool is_new;

	put(hs, v->start);
	put(hs, v->end);
	put(hs, v->pgoff);
	put(hs, v->prot);
	put(hs, v->flags);
	put_file(hs, v->file);
	put(hs, v->name != NULL);
	if (v->name)
		put_string(hs, v->name);
	put(hs, first_appearance(&hs->anon_vmas, v->anon_vma, &is_new));
	put(hs, v->fork_child);
}

static void put_pte(struct hasher *hs, const struct ref_pte *pte)
{
	put(hs, pte->addr);
	put(hs, pte->kind);
	switch (pte->kind) {
	case PTE_ANON:
		put(hs, pte->value);
		break;
	case PTE_FILE:
		put_file(hs, pte->file);
		put(hs, pte->index);
		break;
	case PTE_ZERO:
	case PTE_GUARD:
		break;
	}
}

uint64_t world_state_hash(struct ref_world *w)
{
	struct hasher hs = { .h = 0xcbf29ce484222325ULL };

	put(&hs, w->max_map_count);
	put(&hs, w->zero_page);
	put(&hs, w->exec_only_pkey);
	for (int fid = 0; fid < MMF_MAX_FILES; fid++) {
		put(&hs, w->files[fid] != NULL);
		if (w->files[fid])
			put_file(&hs, w->files[fid]);
	}
	for (int pid = 0; pid < MMF_MAX_PROCS; pid++) {
		const struct ref_proc *p = &w->procs[pid];

		put(&hs, p->live);
		if (!p->live)
			continue;
		put(&hs, p->nr_vmas);
		for (size_t i = 0; i < p->nr_vmas; i++)
			put_vma(&hs, p->vmas[i]);
		put(&hs, p->ptes.nr);
		for (size_t i = 0; i < p->ptes.nr; i++)
			put_pte(&hs, table_row(&p->ptes, i));
	}
	free(hs.files.keys);
	free(hs.anon_vmas.keys);
	return hs.h;
}
