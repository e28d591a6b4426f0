// SPDX-License-Identifier: MIT
/*
 * reference/fault.c - the page table and the page-fault path: read and
 * write faults (mm/memory.c), stack expansion for GROWSDOWN VMAs
 * (mm/mmap.c expand_downwards), and anon_vma assignment (mm/rmap.c
 * anon_vma_prepare / find_mergeable_anon_vma).
 *
 * What a PTE maps:
 *  - private anonymous memory: the zero page after a read fault, a private
 *    page (PTE_ANON, the value lives in the PTE) after a write fault;
 *  - shared mappings and private file mappings not yet written: the page
 *    cache page (PTE_FILE), so later writes through other mappings or
 *    pwrite are seen;
 *  - a private file mapping after a write: a private copy (PTE_ANON);
 *  - any mapping, after MADV_GUARD_INSTALL: a guard marker (PTE_GUARD).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "ref.h"

/* ---- the page table -------------------------------------------------------- */

uint64_t pte_value(const struct ref_pte *pte)
{
	switch (pte->kind) {
	case PTE_ANON:
		return pte->value;
	case PTE_FILE:
		return file_page_value(pte->file, pte->index);
	case PTE_ZERO:
	case PTE_GUARD:
		break;
	}
	return 0;
}

void zap_ptes(struct ref_proc *p, uint64_t start, uint64_t end)
{
	size_t i = table_lower_bound(&p->ptes, start);

	while (i < p->ptes.nr) {
		const struct ref_pte *pte = table_row(&p->ptes, i);

		if (pte->addr >= end)
			break;
		if (pte->kind == PTE_GUARD)
			i++;
		else
			table_remove_range(&p->ptes, pte->addr, pte->addr + PAGE);
	}
}

void unmap_ptes(struct ref_proc *p, uint64_t start, uint64_t end)
{
	table_remove_range(&p->ptes, start, end);
}

bool pte_is_guard(const struct ref_proc *p, uint64_t page)
{
	const struct ref_pte *pte = table_find(&p->ptes, page);

	return pte && pte->kind == PTE_GUARD;
}

/* Move the PTEs of [old_addr, old_addr + len) to new_addr (mremap's move_page_tables). */
void move_ptes(struct ref_proc *p, uint64_t old_addr, uint64_t new_addr, uint64_t len)
{
	size_t first = table_lower_bound(&p->ptes, old_addr);
	size_t last = table_lower_bound(&p->ptes, old_addr + len);
	size_t n = last - first;
	struct ref_pte *moved;

	if (!n)
		return;
	moved = malloc(n * sizeof(*moved));
	if (!moved)
		abort();
	memcpy(moved, table_row(&p->ptes, first), n * sizeof(*moved));
	unmap_ptes(p, old_addr, old_addr + len);
	for (size_t i = 0; i < n; i++) {
		struct ref_pte *pte = table_get(&p->ptes, moved[i].addr - old_addr + new_addr);

		*pte = moved[i];
		pte->addr = moved[i].addr - old_addr + new_addr;
	}
	free(moved);
}

/* ---- anon_vma ---------------------------------------------------------------- */

/*
 * anon_vma_compatible(): a and b (a just below b) could have been one VMA
 * but for their R/W/X bits and the sticky flags merges ignore.  Names do
 * not matter here.
 */
static bool anon_vma_compatible(const struct ref_vma *a, const struct ref_vma *b)
{
	return a->end == b->start && a->file == b->file &&
	       !((a->flags ^ b->flags) & ~REF_VM_STICKY) &&
	       b->pgoff == a->pgoff + vma_pages(a);
}

/* reusable_anon_vma(): old's anon_vma, if old is not a fork child. */
static uint64_t reusable_anon_vma(const struct ref_vma *old, const struct ref_vma *a,
				  const struct ref_vma *b)
{
	if (anon_vma_compatible(a, b) && old->anon_vma && !old->fork_child)
		return old->anon_vma;
	return 0;
}

/*
 * anon_vma_prepare(): a VMA gets its anon_vma at the first fault that
 * creates a private page.  It borrows a compatible neighbour's (next
 * first, then prev: find_mergeable_anon_vma), so that a later mprotect
 * can merge the two again; else it gets a new one.
 */
void anon_vma_prepare(struct ref_world *w, struct ref_proc *p, struct ref_vma *v)
{
	struct ref_vma *next, *prev;
	uint64_t anon_vma = 0;

	if (v->anon_vma)
		return;
	next = vma_next(p, v);
	if (next)
		anon_vma = reusable_anon_vma(next, v, next);
	prev = vma_prev(p, v);
	if (!anon_vma && prev)
		anon_vma = reusable_anon_vma(prev, prev, v);
	v->anon_vma = anon_vma ? anon_vma : new_anon_vma(w);
	v->fork_child = false;
}

/* ---- stack expansion ------------------------------------------------------------ */

/*
 * expand_downwards(): grow GROWSDOWN VMA v down to the page at addr.
 * Returns 0, or -errno (the fault then fails with SEGV_MAPERR).
 */
static int expand_downwards(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t addr)
{
	struct ref_vma *prev = vma_prev(p, v);
	uint64_t size, grow;

	/* the stack may not grow below mmap_min_addr */
	if (addr < MMF_MMAP_MIN_ADDR)
		return -EPERM;
	/*
	 * stack_guard_gap: keep this far above the previous VMA, unless it is
	 * itself a stack or inaccessible (PROT_NONE guard mappings).
	 */
	if (prev && !(prev->flags & MMF_VMA_GROWSDOWN) && prev->prot != 0 &&
	    addr - prev->end < MMF_STACK_GUARD_GAP)
		return -ENOMEM;
	/* the stack's pages are anonymous: it gets its anon_vma first */
	anon_vma_prepare(w, p, v);
	size = v->end - addr;
	grow = (v->start - addr) >> PAGE_SHIFT;
	/* vm_pgoff would go below 0 */
	if (grow > v->pgoff)
		return -ENOMEM;
	/* RLIMIT_STACK */
	if (size > MMF_STACK_LIMIT)
		return -ENOMEM;
	v->start = addr;
	v->pgoff -= grow;
	return 0;
}

/*
 * lock_mm_and_find_vma(): the VMA the fault at addr hits, growing a stack
 * down to it if the next VMA above is GROWSDOWN; NULL means SEGV_MAPERR.
 */
static struct ref_vma *find_fault_vma(struct ref_world *w, struct ref_proc *p, uint64_t addr)
{
	struct ref_vma *v = find_vma(p, addr);

	if (!v)
		return NULL;
	if (v->start <= addr)
		return v;
	if (!(v->flags & MMF_VMA_GROWSDOWN))
		return NULL;
	if (expand_downwards(w, p, v, addr))
		return NULL;
	return v;
}

/* ---- the fault path ---------------------------------------------------------------- */

static void set_signal(struct mmf_res *res, int sig, int code)
{
	res->ret = 0;
	res->sig = sig;
	res->si_code = code;
}

/*
 * access_error() on x86, as the si_code it raises (0: allowed).  The
 * execute-only pkey forbids loads and stores first (SEGV_PKUERR, whether
 * or not the page is present); then a write needs PROT_WRITE, a read any
 * access bit (without a pkey PROT_EXEC implies readable).
 */
static int access_error(const struct ref_vma *v, bool write)
{
	if (v->flags & REF_VM_PKEY_XONLY)
		return SEGV_PKUERR;
	if (write)
		return v->prot & PROT_WRITE ? 0 : SEGV_ACCERR;
	return v->prot & (PROT_READ | PROT_WRITE | PROT_EXEC) ? 0 : SEGV_ACCERR;
}

/*
 * The VMA the access at addr may use, or NULL after setting the signal:
 * SEGV_MAPERR where nothing is mapped, SEGV_ACCERR or SEGV_PKUERR where
 * the VMA forbids it.
 */
static struct ref_vma *fault_vma(struct ref_world *w, struct ref_proc *p, uint64_t page,
				 bool write, struct mmf_res *res)
{
	struct ref_vma *v = find_fault_vma(w, p, page);
	int code;

	if (!v) {
		set_signal(res, SIGSEGV, SEGV_MAPERR);
		return NULL;
	}
	code = access_error(v, write);
	if (code) {
		set_signal(res, SIGSEGV, code);
		return NULL;
	}
	return v;
}

/* shmem_fault(): a page beyond EOF is SIGBUS. */
static bool beyond_eof(const struct ref_vma *v, uint64_t index)
{
	return index >= file_pages(v->file);
}

static void map_file_page(struct ref_proc *p, struct ref_vma *v, uint64_t page, uint64_t index)
{
	struct ref_pte *pte = table_get(&p->ptes, page);

	file_page_alloc(v->file, index);
	pte->kind = PTE_FILE;
	pte->file = v->file;
	pte->index = index;
}

static void map_private_page(struct ref_proc *p, uint64_t page, enum ref_pte_kind kind,
			     uint64_t value)
{
	struct ref_pte *pte = table_get(&p->ptes, page);

	pte->kind = kind;
	pte->value = value;
	pte->file = NULL;
	pte->index = 0;
}

/* fault_around_bytes: 64 KiB; PTRS_PER_PTE: one page table covers 2 MiB. */
#define FAULT_AROUND_PAGES	16u
#define PTRS_PER_PTE		512u

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * do_fault_around() + filemap_map_pages(): a read fault on a file VMA also
 * maps the neighbouring pages that are already in the page cache (inside
 * the file, not yet mapped): the 16-page block around the fault, clipped
 * to the VMA and to the page table, shifted up if the VMA starts inside it.
 */
static void fault_around(struct ref_proc *p, struct ref_vma *v, uint64_t page)
{
	uint64_t pte_off = (page >> PAGE_SHIFT) % PTRS_PER_PTE;
	uint64_t vma_off = (page - v->start) >> PAGE_SHIFT;
	uint64_t from = pte_off & ~(uint64_t)(FAULT_AROUND_PAGES - 1);
	uint64_t to;

	if (pte_off - min_u64(pte_off, vma_off) > from)
		from = pte_off - min_u64(pte_off, vma_off);
	to = min_u64(min_u64(from + FAULT_AROUND_PAGES, PTRS_PER_PTE),
		     pte_off + vma_pages(v) - vma_off);
	for (uint64_t i = from; i < to; i++) {
		uint64_t addr = page - pte_off * PAGE + i * PAGE;
		uint64_t index = vma_index(v, addr);

		if (!beyond_eof(v, index) && table_find(&v->file->cache, index) &&
		    !table_find(&p->ptes, addr))
			map_file_page(p, v, addr, index);
	}
}

/* A read fault on a page without a PTE (do_anonymous_page / do_read_fault). */
static int read_fault(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t page)
{
	uint64_t index;

	if (vma_is_private_anon(v)) {
		if (w->zero_page) {
			/* map the shared zero page: no anon_vma needed */
			map_private_page(p, page, PTE_ZERO, 0);
		} else {
			/* no zero page: a private zeroed page, as for a write */
			anon_vma_prepare(w, p, v);
			map_private_page(p, page, PTE_ANON, 0);
		}
		return 0;
	}
	/* map the cached neighbours, then the page (allocated if a hole) */
	fault_around(p, v, page);
	index = vma_index(v, page);
	if (beyond_eof(v, index))
		return -EFAULT;
	map_file_page(p, v, page, index);
	return 0;
}

/*
 * A write fault (do_shared_fault, do_anonymous_page, do_cow_fault,
 * do_wp_page): afterwards the page is mapped writable, its contents
 * unchanged.
 */
static int write_fault(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t page)
{
	struct ref_pte *pte = table_find(&p->ptes, page);
	uint64_t index = vma_index(v, page), value = 0;

	if (vma_is_shared(v)) {
		/* shared: the page cache page itself */
		if (pte)
			return 0;
		if (beyond_eof(v, index))
			return -EFAULT;
		map_file_page(p, v, page, index);
		/* the PTE is made writable and dirty */
		file_page_alloc(v->file, index)->dirty = true;
		return 0;
	}
	/* private: our own page already */
	if (pte && pte->kind == PTE_ANON)
		return 0;
	/*
	 * A private copy is made (of nothing, of the zero page, or of the page
	 * cache page): the VMA needs its anon_vma before anything else, even if
	 * the fault then fails with SIGBUS.
	 */
	anon_vma_prepare(w, p, v);
	if (pte) {
		value = pte_value(pte);
	} else if (!vma_is_private_anon(v)) {
		/* do_cow_fault reads the page cache page first (allocating it) */
		if (beyond_eof(v, index))
			return -EFAULT;
		value = file_page_alloc(v->file, index)->value;
	}
	map_private_page(p, page, PTE_ANON, value);
	return 0;
}

int handle_fault(struct ref_world *w, struct ref_proc *p, struct ref_vma *v, uint64_t page,
		 bool write)
{
	/* a guard marker: the fault fails (VM_FAULT_SIGSEGV) */
	if (pte_is_guard(p, page))
		return -EFAULT;
	if (write)
		return write_fault(w, p, v, page);
	/* a present page needs no read fault */
	if (table_find(&p->ptes, page))
		return 0;
	return read_fault(w, p, v, page);
}

void do_read(struct ref_world *w, struct ref_proc *p, uint64_t addr, struct mmf_res *res)
{
	uint64_t page = addr & MMF_PAGE_MASK;
	struct ref_vma *v = fault_vma(w, p, page, false, res);

	if (!v)
		return;
	if (pte_is_guard(p, page)) {
		set_signal(res, SIGSEGV, SEGV_MAPERR);
		return;
	}
	if (handle_fault(w, p, v, page, false)) {
		set_signal(res, SIGBUS, BUS_ADRERR);
		return;
	}
	res->value = pte_value(table_find(&p->ptes, page));
}

void do_write(struct ref_world *w, struct ref_proc *p, uint64_t addr, uint64_t value, struct mmf_res *res)
{
	uint64_t page = addr & MMF_PAGE_MASK;
	struct ref_vma *v = fault_vma(w, p, page, true, res);
	struct ref_pte *pte;

	if (!v)
		return;
	if (pte_is_guard(p, page)) {
		set_signal(res, SIGSEGV, SEGV_MAPERR);
		return;
	}
	if (handle_fault(w, p, v, page, true)) {
		set_signal(res, SIGBUS, BUS_ADRERR);
		return;
	}
	/* the store: into the page cache page, or into our private page */
	pte = table_find(&p->ptes, page);
	if (pte->kind == PTE_FILE) {
		struct ref_fpage *pg = file_page_alloc(pte->file, pte->index);

		pg->value = value;
		pg->dirty = true;
	} else {
		pte->value = value;
	}
}
