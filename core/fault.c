// SPDX-License-Identifier: MIT
/*
 * core/fault.c - pages, page tables and the page-fault path.
 *
 * The fault path first tries the per-VMA lock (lock_vma_under_rcu): no
 * mmap_lock at all.  It falls back to mmap_lock (read) where the kernel
 * does:
 *  - no VMA covers the address (a stack may have to grow: that needs the
 *    mmap_lock for write, taken after dropping the read lock);
 *  - the VMA is write-locked, detached or changed under us;
 *  - an anonymous VMA without an anon_vma (only mmap_lock may create one),
 *    or a private file VMA whose write would need one first.
 *
 * What a PTE maps: the zero page (read fault on private anonymous memory),
 * a private anonymous page (refcounted: fork shares it copy-on-write),
 * a page-cache page (shared mappings, and private file mappings not yet
 * written), or the guard marker (MADV_GUARD_INSTALL: no page at all).
 * page_table_lock protects one mm's PTEs.  File faults hold the file's
 * pages_lock while they check EOF and install the PTE, so truncate either
 * sees the PTE in its i_mmap walk or the fault sees the new size.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "mmfuzz/uapi.h"
#include "mm.h"

/* ---- pages ----------------------------------------------------------------- */

struct core_page *page_alloc(struct mmf_world *w, bool anon, uint64_t value)
{
	struct core_page *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	mmf_atomic_set(&p->ref, 1);
	p->value = value;
	p->anon = anon;
	return p;
}

void page_get(struct core_page *p)
{
	if (!p->zero && !p->guard)
		mmf_atomic_inc(&p->ref);
}

void page_put(struct core_page *p)
{
	if (!p->zero && !p->guard && mmf_atomic_dec_and_test(&p->ref))
		free(p);
}

/* ---- the page table (page_table_lock held) ------------------------------------ */

/* The index of the first PTE at or above vpn (mm->nr_ptes: none): the
 * PTEs of [a, b) are mm->ptes[pte_index(a) .. pte_index(b)). */
size_t pte_index(struct core_mm *mm, uint64_t vpn)
{
	size_t lo = 0, hi = mm->nr_ptes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->ptes[mid].vpn < vpn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct core_pte *pte_lookup(struct core_mm *mm, uint64_t vpn)
{
	size_t i = pte_index(mm, vpn);

	return i < mm->nr_ptes && mm->ptes[i].vpn == vpn ? &mm->ptes[i] : NULL;
}

/* Install (or replace) the PTE at vpn; takes over the caller's page ref. */
void pte_set(struct core_mm *mm, uint64_t vpn, struct core_page *page)
{
	size_t i = pte_index(mm, vpn);

	if (i < mm->nr_ptes && mm->ptes[i].vpn == vpn) {
		struct core_page *old = mm->ptes[i].page;

		mm->ptes[i].page = page;
		page_put(old);
		return;
	}
	if (mm->nr_ptes == mm->cap_ptes) {
		mm->cap_ptes = mm->cap_ptes ? 2 * mm->cap_ptes : 16;
		mm->ptes = realloc(mm->ptes, mm->cap_ptes * sizeof(*mm->ptes));
		if (!mm->ptes)
			abort();
	}
	memmove(&mm->ptes[i + 1], &mm->ptes[i], (mm->nr_ptes - i) * sizeof(*mm->ptes));
	mm->ptes[i].vpn = vpn;
	mm->ptes[i].page = page;
	mm->nr_ptes++;
}

/* What a zap leaves in place. */
#define ZAP_KEEP_ANON	0x1u	/* private anonymous pages (a hole punch) */
#define ZAP_KEEP_GUARD	0x2u	/* guard markers (every zap but an unmap) */
#define ZAP_KEEP_PAGES	0x4u	/* every page: only markers go (MADV_GUARD_REMOVE) */

static bool zap_keeps(const struct core_page *page, unsigned int keep)
{
	if (page->guard)
		return keep & ZAP_KEEP_GUARD;
	return (keep & ZAP_KEEP_PAGES) || ((keep & ZAP_KEEP_ANON) && page->anon);
}

static size_t zap_ptes(struct core_mm *mm, uint64_t start, uint64_t end, unsigned int keep)
{
	size_t lo, hi, i, j;

	mmf_spin_lock(&mm->page_table_lock);
	lo = pte_index(mm, start >> MMF_PAGE_SHIFT);
	hi = pte_index(mm, end >> MMF_PAGE_SHIFT);
	if (lo == hi) {
		mmf_spin_unlock(&mm->page_table_lock);
		return 0;
	}
	for (i = j = lo; i < hi; i++) {
		if (zap_keeps(mm->ptes[i].page, keep))
			mm->ptes[j++] = mm->ptes[i];
		else
			page_put(mm->ptes[i].page);
	}
	memmove(&mm->ptes[j], &mm->ptes[hi], (mm->nr_ptes - hi) * sizeof(*mm->ptes));
	mm->nr_ptes -= hi - j;
	mmf_spin_unlock(&mm->page_table_lock);
	return hi - j;
}

size_t zap_page_range_filter(struct core_mm *mm, uint64_t start, uint64_t end, bool keep_anon)
{
	return zap_ptes(mm, start, end, ZAP_KEEP_GUARD | (keep_anon ? ZAP_KEEP_ANON : 0));
}

size_t zap_page_range(struct core_mm *mm, uint64_t start, uint64_t end)
{
	return zap_ptes(mm, start, end, ZAP_KEEP_GUARD);
}

void unmap_page_range(struct core_mm *mm, uint64_t start, uint64_t end)
{
	zap_ptes(mm, start, end, 0);
}

/*
 * madvise_guard_install's page-table part: in one page_table_lock section
 * (so no fault slips a page in between), every page of [start, end) gives
 * way to the guard marker.
 */
void guard_install_range(struct core_mm *mm, uint64_t start, uint64_t end)
{
#ifdef MMF_ZOO_GUARD_ZAP_THEN_MARK	/* zoo/README.md: a fault may map a page between */
	zap_ptes(mm, start, end, ZAP_KEEP_GUARD);
	mmf_spin_lock(&mm->page_table_lock);
	for (uint64_t vpn = start >> MMF_PAGE_SHIFT; vpn < end >> MMF_PAGE_SHIFT; vpn++)
		if (!pte_lookup(mm, vpn))
			pte_set(mm, vpn, &mm->w->guard_marker);
	mmf_spin_unlock(&mm->page_table_lock);
	return;
#endif
	mmf_spin_lock(&mm->page_table_lock);
	for (uint64_t vpn = start >> MMF_PAGE_SHIFT; vpn < end >> MMF_PAGE_SHIFT; vpn++)
		pte_set(mm, vpn, &mm->w->guard_marker);
	mmf_spin_unlock(&mm->page_table_lock);
}

void guard_remove_range(struct core_mm *mm, uint64_t start, uint64_t end)
{
	zap_ptes(mm, start, end, ZAP_KEEP_PAGES);
}

void move_page_tables(struct core_mm *mm, uint64_t old, uint64_t new_addr, uint64_t len)
{
	size_t lo, hi, n, i;
	struct core_pte *moved;

	mmf_spin_lock(&mm->page_table_lock);
	lo = pte_index(mm, old >> MMF_PAGE_SHIFT);
	hi = pte_index(mm, (old + len) >> MMF_PAGE_SHIFT);
	n = hi - lo;
	if (!n) {
		mmf_spin_unlock(&mm->page_table_lock);
		return;
	}
	moved = malloc(n * sizeof(*moved));
	if (!moved)
		abort();
	memcpy(moved, &mm->ptes[lo], n * sizeof(*moved));
	memmove(&mm->ptes[lo], &mm->ptes[hi], (mm->nr_ptes - hi) * sizeof(*mm->ptes));
	mm->nr_ptes -= n;
	for (i = 0; i < n; i++)
		pte_set(mm, moved[i].vpn - (old >> MMF_PAGE_SHIFT) + (new_addr >> MMF_PAGE_SHIFT),
			moved[i].page);
	mmf_spin_unlock(&mm->page_table_lock);
	free(moved);
}

/* ---- the fault proper ------------------------------------------------------------ */

#define FAULT_FLAG_WRITE	0x1u	/* a write access */
#define FAULT_FLAG_STORE	0x2u	/* ... that stores the op's value */

enum fault_ret {
	FAULT_DONE,
	FAULT_RETRY,		/* needs the mmap_lock (an anon_vma must be created) */
};

static void set_signal(struct mmf_res *res, int sig, int code)
{
	res->ret = 0;
	res->sig = sig;
	res->si_code = code;
}

/*
 * access_error() on x86, as the si_code it raises (0: allowed): the
 * execute-only pkey forbids loads and stores first (SEGV_PKUERR), then a
 * write needs VM_WRITE, a read any access bit.
 */
static int access_error(const struct core_vma *vma, bool write)
{
	if (vma->flags & VM_PKEY_XONLY)
		return SEGV_PKUERR;
	if (write)
		return vma->flags & VM_WRITE ? 0 : SEGV_ACCERR;
	return vma->flags & VM_PROT_MASK ? 0 : SEGV_ACCERR;
}


static uint64_t size_pages(uint64_t size)
{
	return (size + MMF_PAGE_SIZE - 1) >> MMF_PAGE_SHIFT;
}

/* fault_around_bytes (64 KiB) and the pages one page table covers (2 MiB). */
#define FAULT_AROUND_PAGES	16u
#define PTRS_PER_PTE		512u

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * do_fault_around + filemap_map_pages: a read fault on a file VMA also
 * maps the neighbouring pages already in the page cache (inside the file,
 * not yet mapped): the 16-page block around the fault, clipped to the VMA
 * and to the page table.  pages_lock and page_table_lock held.
 */
static void fault_around(struct core_mm *mm, struct core_vma *vma, uint64_t addr)
{
	struct core_file *f = vma->file;
	uint64_t pte_off = (addr >> MMF_PAGE_SHIFT) % PTRS_PER_PTE;
	uint64_t vma_off = (addr - vma->start) >> MMF_PAGE_SHIFT;
	uint64_t from = pte_off & ~(uint64_t)(FAULT_AROUND_PAGES - 1), to, i;

	if (pte_off - min_u64(pte_off, vma_off) > from)
		from = pte_off - min_u64(pte_off, vma_off);
	to = min_u64(min_u64(from + FAULT_AROUND_PAGES, PTRS_PER_PTE),
		     pte_off + vma_pages(vma) - vma_off);
	for (i = from; i < to; i++) {
		uint64_t a = addr - pte_off * MMF_PAGE_SIZE + i * MMF_PAGE_SIZE;
		uint64_t index = vma->pgoff + ((a - vma->start) >> MMF_PAGE_SHIFT);
		struct core_page *page;

		if (index >= size_pages(f->size) || pte_lookup(mm, a >> MMF_PAGE_SHIFT))
			continue;
		page = filemap_get_page(f, index, false);
		if (page)
			pte_set(mm, a >> MMF_PAGE_SHIFT, page);
	}
}

/*
 * Whether a private write at vpn creates a new page (no PTE, or one that
 * maps a page-cache page or the zero page), as do_wp_page decides it: under
 * page_table_lock, the only thing that keeps the mapped page alive.  Once
 * the lock is dropped, truncate (or DONTNEED) may zap the PTE and free the
 * page; the answer may then be stale, and the caller re-checks under the
 * lock.  Reading page->anon after the unlock was a use-after-free found by
 * race_fuzzer (corpus/regressions-sched/fault_anon_check_vs_truncate.mmf).
 */
static bool write_needs_new_page(struct core_mm *mm, uint64_t vpn)
{
	struct core_pte *pte;
	bool needs;

#ifdef MMF_ZOO_FAULT_ANON_AFTER_UNLOCK	/* zoo/README.md: the unfixed check */
	struct core_page *page;

	mmf_spin_lock(&mm->page_table_lock);
	pte = pte_lookup(mm, vpn);
	page = pte ? pte->page : NULL;
	mmf_spin_unlock(&mm->page_table_lock);
	return !page || !page->anon;
#endif
	mmf_spin_lock(&mm->page_table_lock);
	pte = pte_lookup(mm, vpn);
	/* a guard marker makes no page: the fault fails with SIGSEGV before
	 * anything needs an anon_vma (handle_pte_marker); preparing one here
	 * gave the VMA an anon_vma the kernel's has not, and a fork child's
	 * copy then could not merge (corpus/regressions/guard_write_no_anon_vma.mmf) */
	needs = !pte || (!pte->page->anon && !pte->page->guard);
	mmf_spin_unlock(&mm->page_table_lock);
	return needs;
}

/*
 * handle_mm_fault for one page.  The VMA is stable (per-VMA read lock or
 * mmap_lock).  locked_mm: the caller holds mmap_lock and may create an
 * anon_vma; otherwise a fault that needs one returns FAULT_RETRY.
 */
static enum fault_ret handle_fault(struct core_mm *mm, struct core_vma *vma, uint64_t addr,
				   unsigned int flags, uint64_t value, bool locked_mm,
				   struct mmf_res *res)
{
	uint64_t vpn = addr >> MMF_PAGE_SHIFT;
	uint64_t index = vma->pgoff + ((addr - vma->start) >> MMF_PAGE_SHIFT);
	bool write = flags & FAULT_FLAG_WRITE, store = flags & FAULT_FLAG_STORE;
	struct core_file *f = vma->file;
	struct core_pte *pte;
	struct core_page *page;
	uint64_t copy;

again:
	/* A private write that creates a page needs the anon_vma first,
	 * even if it then fails with SIGBUS. */
	if (write && !(vma->flags & VM_SHARED) && !mmf_load_acquire(vma->anon_vma) &&
	    write_needs_new_page(mm, vpn)) {
#ifndef MMF_ZOO_ANON_PREPARE_UNLOCKED	/* zoo/README.md */
		if (!locked_mm)
			return FAULT_RETRY;
#endif
		anon_vma_prepare(vma);
	}

	if (f)
		mmf_mutex_lock(&f->pages_lock);
	mmf_spin_lock(&mm->page_table_lock);
	pte = pte_lookup(mm, vpn);
	/* a guard marker: handle_pte_marker() gives VM_FAULT_SIGSEGV */
	if (pte && pte->page->guard) {
		set_signal(res, SIGSEGV, SEGV_MAPERR);
		goto out;
	}

	if (!write) {
		if (pte) {
			res->value = mmf_read_once(pte->page->value);
			goto out;
		}
		if (!f && mm->w->cfg.no_zero_page) {
			/* no zero page: a private zeroed page, as a write of 0 */
			if (!mmf_load_acquire(vma->anon_vma)) {
				mmf_spin_unlock(&mm->page_table_lock);
				if (!locked_mm)
					return FAULT_RETRY;
				anon_vma_prepare(vma);
				goto again;
			}
			pte_set(mm, vpn, page_alloc(mm->w, true, 0));
			res->value = 0;
			goto out;
		}
		if (!f) {
			/* do_anonymous_page, read: the zero page */
			pte_set(mm, vpn, &mm->w->zero_page);
			res->value = 0;
			goto out;
		}
		/* do_read_fault: map the cached neighbours, then the page */
		fault_around(mm, vma, addr);
		if (index >= size_pages(f->size)) {
			set_signal(res, SIGBUS, BUS_ADRERR);
			goto out;
		}
		page = filemap_get_page(f, index, true);
		pte_set(mm, vpn, page);
		res->value = mmf_read_once(page->value);
		goto out;
	}

	if (vma->flags & VM_SHARED) {
		/* do_shared_fault: the page-cache page itself, mapped dirty */
		if (!pte) {
			if (index >= size_pages(f->size)) {
				set_signal(res, SIGBUS, BUS_ADRERR);
				goto out;
			}
			page = filemap_get_page(f, index, true);
			pte_set(mm, vpn, page);
			pte = pte_lookup(mm, vpn);
			page->dirty = true;
		}
		if (store) {
			mmf_write_once(pte->page->value, value);
			pte->page->dirty = true;
		}
		goto out;
	}
	if (pte && pte->page->anon && (!store || mmf_atomic_read(&pte->page->ref) == 1)) {
		/* our own private page: reuse it */
		if (store)
			mmf_write_once(pte->page->value, value);
		goto out;
	}
	/* a new private page, anonymous or a COW copy, needs the anon_vma before
	 * anything is read: do_cow_fault prepares it before __do_fault reads
	 * the page-cache page.  Without it (the page or guard marker seen before
	 * the locks went away meanwhile) start over, having changed nothing:
	 * reading first left a page cached by a fault that then failed on the
	 * VMA that replaced its own (corpus/regressions-sched/cow_retry_reads_no_page.mmf) */
	if (!mmf_load_acquire(vma->anon_vma)) {
		mmf_spin_unlock(&mm->page_table_lock);
		if (f)
			mmf_mutex_unlock(&f->pages_lock);
		if (!locked_mm)
			return FAULT_RETRY;
		goto again;
	}
	copy = 0;
	if (pte) {
		copy = mmf_read_once(pte->page->value);
	} else if (f) {
		/* do_cow_fault reads the page-cache page first (allocating it) */
		if (index >= size_pages(f->size)) {
			set_signal(res, SIGBUS, BUS_ADRERR);
			goto out;
		}
		page = filemap_get_page(f, index, true);
		copy = mmf_read_once(page->value);
		page_put(page);
	}
	pte_set(mm, vpn, page_alloc(mm->w, true, store ? value : copy));
out:
	mmf_spin_unlock(&mm->page_table_lock);
	if (f)
		mmf_mutex_unlock(&f->pages_lock);
	return FAULT_DONE;
}

/*
 * Fault in one page for populate (MAP_POPULATE, MADV_POPULATE_*): as an
 * access would, without storing anything.  mmap_lock held.  0, or -EFAULT
 * when the page is beyond EOF.
 */
int populate_page(struct core_mm *mm, struct core_vma *vma, uint64_t addr, bool write)
{
	struct mmf_res res = { 0 };

	handle_fault(mm, vma, addr & MMF_PAGE_MASK, write ? FAULT_FLAG_WRITE : 0, 0, true, &res);
	return res.sig ? -EFAULT : 0;
}

/*
 * expand_downwards: grow the GROWSDOWN vma down to the page at addr.
 * mmap_lock held for write.
 */
static int expand_downwards(struct core_mm *mm, struct core_vma *vma, uint64_t addr)
{
	struct core_vma *prev = vma_prev_of(mm, vma);
	uint64_t size, grow;

	if (addr < MMF_MMAP_MIN_ADDR)
		return -EPERM;
	if (prev && !(prev->flags & VM_GROWSDOWN) && (prev->flags & VM_PROT_MASK) &&
	    addr - prev->end < MMF_STACK_GUARD_GAP)
		return -ENOMEM;
	anon_vma_prepare(vma);
	size = vma->end - addr;
	grow = (vma->start - addr) >> MMF_PAGE_SHIFT;
	if (grow > vma->pgoff)
		return -ENOMEM;
	if (size > MMF_STACK_LIMIT)
		return -ENOMEM;
	vma_start_write(vma);
	vma_set_range(mm, vma, addr, vma->end, vma->pgoff - grow);
	return 0;
}

int core_fault(struct core_mm *mm, uint64_t addr, bool write, uint64_t value,
	       struct mmf_res *res)
{
	uint64_t page_addr = addr & MMF_PAGE_MASK;
	struct core_vma *vma;
	bool wlocked = false;
	int code;

	res->ret = 0;
	res->value = 0;
	if (addr >= MMF_TASK_SIZE) {
		set_signal(res, SIGSEGV, SEGV_MAPERR);
		return 0;
	}

	/* 1. the per-VMA lock, no mmap_lock */
	vma = lock_vma_under_rcu(mm, page_addr);
	if (vma) {
		code = access_error(vma, write);
		if (code) {
			set_signal(res, SIGSEGV, code);
			vma_end_read(vma);
			core_count(mm->w, vma_lock_hit);
			return 0;
		}
		if (handle_fault(mm, vma, page_addr, write ? FAULT_FLAG_WRITE | FAULT_FLAG_STORE : 0,
				 value, false, res) == FAULT_DONE) {
			vma_end_read(vma);
			core_count(mm->w, vma_lock_hit);
			return 0;
		}
		vma_end_read(vma);
		core_count(mm->w, vma_lock_miss);
	}

	/* 2. fall back to mmap_lock */
	core_count(mm->w, vma_lock_fallback);
	mmap_read_lock(mm);
	if (mm->dead) {
		mmap_read_unlock(mm);
		return -ESRCH;
	}
	vma = find_vma(mm, page_addr);
	if (vma && vma->start > page_addr) {
		if (!(vma->flags & VM_GROWSDOWN)) {
			vma = NULL;
		} else {
			/* stack growth needs the write lock: drop, retake, look again */
			mmap_read_unlock(mm);
			mmap_write_lock(mm);
			wlocked = true;
			if (mm->dead) {
				mmap_write_unlock(mm);
				return -ESRCH;
			}
			vma = find_vma(mm, page_addr);
			if (vma && vma->start > page_addr &&
			    (!(vma->flags & VM_GROWSDOWN) || expand_downwards(mm, vma, page_addr)))
				vma = NULL;
		}
	}
	code = vma ? access_error(vma, write) : SEGV_MAPERR;
	if (code)
		set_signal(res, SIGSEGV, code);
	else
		handle_fault(mm, vma, page_addr, write ? FAULT_FLAG_WRITE | FAULT_FLAG_STORE : 0,
			     value, true, res);
	if (wlocked)
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
	return 0;
}
