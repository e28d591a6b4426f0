// SPDX-License-Identifier: MIT
/*
 * prog/gen.c - random programs, deterministic in a seed.
 *
 * The generator builds ops directly, guided by a rough model of what the
 * program has done so far: which processes and files are live and, per
 * process, which page ranges are mapped (assuming every plausible op
 * succeeds).  So most accesses, mprotects, munmaps, mremaps and madvises
 * land on mapped memory - on whole VMAs, parts of them (splits), across
 * their ends (holes) - and new mappings go next to, into or far from old
 * ones (merges, MAP_FIXED replacement, fresh placement).  A few ops get odd
 * arguments: misaligned or huge lengths, dead handles, constants.
 *
 * The result is passed through the binary form (encode, then decode in the
 * requested mode), so a generated program is exactly what the decoder
 * makes of some input and a MMF_DECODE_KERNEL program obeys the same
 * restrictions as a decoded fuzz input.  The PRNG is splitmix64.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "prog_ext.h"

#define PAGE		MMF_PAGE_SIZE
#define MAX_RANGES	64
#define NR_RECENT	8

/* ---- the model: mapped page ranges per process --------------------------- */

struct range {
	uint64_t start, end;
};

struct space {
	struct range r[MAX_RANGES];	/* ascending, disjoint, not adjacent */
	unsigned n;
};

static void space_del(struct space *s, uint64_t start, uint64_t end)
{
	struct range out[MAX_RANGES + 1];
	unsigned n = 0;

	for (unsigned i = 0; i < s->n; i++) {
		struct range r = s->r[i];

		if (r.end <= start || r.start >= end) {
			out[n++] = r;
			continue;
		}
		if (r.start < start)
			out[n++] = (struct range){ r.start, start };
		if (r.end > end && n < MAX_RANGES + 1)
			out[n++] = (struct range){ end, r.end };
	}
	if (n > MAX_RANGES)
		n = MAX_RANGES;
	memcpy(s->r, out, n * sizeof(out[0]));
	s->n = n;
}

static void space_add(struct space *s, uint64_t start, uint64_t end)
{
	unsigned i, j;

	if (start >= end)
		return;
	space_del(s, start, end);
	/* merge with neighbours that touch */
	for (i = 0; i < s->n; i++) {
		if (s->r[i].end == start) {
			start = s->r[i].start;
			space_del(s, start, end);
			i = (unsigned)-1;
			continue;
		}
		if (s->r[i].start == end) {
			end = s->r[i].end;
			space_del(s, start, end);
			i = (unsigned)-1;
		}
	}
	if (s->n == MAX_RANGES)
		return;		/* the model is only a guide */
	for (i = 0; i < s->n && s->r[i].start < start; i++)
		;
	for (j = s->n; j > i; j--)
		s->r[j] = s->r[j - 1];
	s->r[i] = (struct range){ start, end };
	s->n++;
}

/* Highest free gap of len bytes below MMF_MMAP_BASE: top-down placement. */
static uint64_t space_topdown(const struct space *s, uint64_t len)
{
	uint64_t top = MMF_MMAP_BASE;

	for (unsigned i = s->n; i-- > 0;) {
		if (s->r[i].start >= top)
			continue;
		if (s->r[i].end <= top && top - s->r[i].end >= len)
			return top - len;
		top = s->r[i].start;
	}
	return top >= MMF_MMAP_MIN_ADDR + len ? top - len : 0;
}

/* ---- the generator ------------------------------------------------------ */

struct gen {
	uint64_t state;
	bool kernel;
	struct mmf_prog *p;
	bool proc_live[MMF_MAX_PROCS];
	struct space sp[MMF_MAX_PROCS];
	unsigned nfiles;
	uint64_t fsize[MMF_MAX_FILES];
	uint64_t bump;			/* next fresh address */
	uint64_t recent[NR_RECENT];	/* boundaries of recent ranges */
	unsigned nrecent;
};

static uint64_t next(struct gen *g)
{
	uint64_t z = (g->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) (n > 0). */
static uint64_t rnd(struct gen *g, uint64_t n)
{
	return next(g) % n;
}

static bool chance(struct gen *g, unsigned pct)
{
	return rnd(g, 100) < pct;
}

static void remember(struct gen *g, uint64_t a)
{
	if (a >= MMF_TASK_SIZE || (a & (PAGE - 1)))
		return;
	memmove(&g->recent[1], &g->recent[0], (NR_RECENT - 1) * sizeof(a));
	g->recent[0] = a;
	if (g->nrecent < NR_RECENT)
		g->nrecent++;
}

static int32_t pick_proc(struct gen *g)
{
	int live[MMF_MAX_PROCS], n = 0;

	for (int i = 0; i < MMF_MAX_PROCS; i++)
		if (g->proc_live[i])
			live[n++] = i;
	if (n == 0 || chance(g, 4))
		return (int32_t)rnd(g, MMF_MAX_PROCS + (g->kernel ? 0 : 1));
	return live[rnd(g, (uint64_t)n)];
}

static int32_t pick_file(struct gen *g)
{
	if (g->nfiles == 0 || chance(g, 4))
		return (int32_t)rnd(g, MMF_MAX_FILES + (g->kernel ? 0 : 1));
	return (int32_t)rnd(g, g->nfiles);
}

static const uint64_t odd_lens[] = {
	0, 1, PAGE - 1, PAGE + 1, MMF_STACK_GUARD_GAP, MMF_STACK_LIMIT,
	MMF_STACK_LIMIT + PAGE, MMF_TASK_SIZE, UINT64_MAX & MMF_PAGE_MASK, UINT64_MAX,
	1ULL << 63,
};

/* A length: mostly a few pages. */
static uint64_t gen_len(struct gen *g)
{
	unsigned r = (unsigned)rnd(g, 100);

	if (r < 65)
		return (1 + rnd(g, 4)) * PAGE;
	if (r < 88)
		return (1 + rnd(g, 16)) * PAGE;
	if (r < 94)
		return (16 + rnd(g, 240)) * PAGE;
	if (r < 98)
		return rnd(g, 8) * PAGE + 1 + rnd(g, PAGE - 1);	/* unaligned */
	return odd_lens[rnd(g, sizeof(odd_lens) / sizeof(odd_lens[0]))];
}

static const uint64_t odd_addrs[] = {
	0, 1, PAGE, MMF_MMAP_MIN_ADDR - PAGE, MMF_MMAP_BASE - PAGE, MMF_MMAP_BASE,
	MMF_TASK_SIZE - PAGE, MMF_TASK_SIZE, 1ULL << 63, UINT64_MAX & MMF_PAGE_MASK,
};

/* A fresh, unused-looking address for len bytes. */
static uint64_t fresh(struct gen *g, uint64_t len)
{
	uint64_t a = g->bump;

	if (len > 0x10000000 || a + len + PAGE > MMF_MMAP_BASE - 0x10000000)
		a = g->bump = 0x100000;
	g->bump = MMF_PAGE_ALIGN(a + len) + (chance(g, 50) ? 0 : rnd(g, 16) * PAGE);
	return a;
}

/*
 * An address (and, if lenp, a length) for an op on the memory of proc:
 * mostly inside one of its mapped ranges.
 */
static uint64_t gen_range(struct gen *g, int32_t proc, uint64_t *lenp)
{
	const struct space *s = (proc >= 0 && proc < MMF_MAX_PROCS) ? &g->sp[proc] : NULL;
	unsigned inside = lenp ? 82 : 90;
	unsigned r = (unsigned)rnd(g, 100);
	uint64_t a, len = 0;

	if (s && s->n && r < inside) {
		const struct range *rg = &s->r[rnd(g, s->n)];
		uint64_t pages = (rg->end - rg->start) / PAGE, off, rest;

		off = chance(g, 40) ? 0 : rnd(g, pages);
		if (chance(g, 15))
			off = pages - 1;			/* the last page */
		a = rg->start + off * PAGE;
		rest = pages - off;
		r = (unsigned)rnd(g, 100);
		if (r < 35)
			len = rest * PAGE;			/* to the end */
		else if (r < 75)
			len = (1 + rnd(g, rest)) * PAGE;	/* inside */
		else if (r < 90)
			len = (rest + 1 + rnd(g, 4)) * PAGE;	/* across the end */
		else
			len = gen_len(g);
	} else if (g->nrecent && r < 94) {
		int64_t d = chance(g, 60) ? 0 : (int64_t)rnd(g, 9) - 4;

		a = g->recent[rnd(g, g->nrecent)] + (uint64_t)d * PAGE;
		len = gen_len(g);
	} else if (r < 97) {
		a = odd_addrs[rnd(g, sizeof(odd_addrs) / sizeof(odd_addrs[0]))];
		len = gen_len(g);
	} else {
		a = MMF_MMAP_MIN_ADDR + rnd(g, MMF_MMAP_BASE - MMF_MMAP_MIN_ADDR);
		if (chance(g, 70))
			a &= MMF_PAGE_MASK;
		len = gen_len(g);
	}
	if (lenp)
		*lenp = len;
	return a;
}

static bool sane_range(uint64_t a, uint64_t len)
{
	return !(a & (PAGE - 1)) && len && len <= MMF_TASK_SIZE && a < MMF_TASK_SIZE &&
	       a + MMF_PAGE_ALIGN(len) <= MMF_TASK_SIZE;
}

static void gen_mmap(struct gen *g, struct mmf_op *op)
{
	struct space *s;
	unsigned r = (unsigned)rnd(g, 100);
	bool topdown = false;

	op->proc = pick_proc(g);
	s = (op->proc >= 0 && op->proc < MMF_MAX_PROCS) ? &g->sp[op->proc] : NULL;
	op->len = gen_len(g);
	op->prot = chance(g, 70) ? PROT_READ | PROT_WRITE : (uint32_t)rnd(g, 8);
	op->flags = chance(g, 75) ? MAP_PRIVATE : MAP_SHARED;
	if (g->nfiles && chance(g, 25)) {
		op->file = pick_file(g);
		op->pgoff = chance(g, 70) ? rnd(g, 4) : rnd(g, 32);
	} else {
		op->file = MMF_FILE_ANON;
		op->flags |= MAP_ANONYMOUS;
	}

	if (s && s->n && r < 30) {			/* next to a mapping: merge? */
		const struct range *rg = &s->r[rnd(g, s->n)];

		op->addr = chance(g, 60) ? rg->end : rg->start - MMF_PAGE_ALIGN(op->len);
	} else if (s && s->n && r < 45) {		/* over a mapping: replace */
		op->addr = gen_range(g, op->proc, NULL);
	} else if (r < 82 || g->kernel) {
		op->addr = fresh(g, op->len);
	} else if (r < 92) {				/* top-down */
		topdown = true;
		op->addr = chance(g, 80) ? 0 : gen_range(g, op->proc, NULL);
	} else {
		op->addr = gen_range(g, op->proc, NULL);
	}

	if (!topdown)
		op->flags |= chance(g, 85) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	if (chance(g, 4))
		op->flags |= MAP_GROWSDOWN;
	if (!g->kernel && chance(g, 2))
		op->flags ^= 1u << rnd(g, 32);		/* an odd flag */

	if (!s || (!(op->flags & MAP_ANONYMOUS) && (op->file < 0 || (unsigned)op->file >= g->nfiles)))
		return;
	if (topdown && op->len && op->len <= MMF_MMAP_BASE) {
		uint64_t a = (op->addr >= MMF_MMAP_MIN_ADDR) ? op->addr : space_topdown(s, MMF_PAGE_ALIGN(op->len));

		if (a)
			space_add(s, a, a + MMF_PAGE_ALIGN(op->len));
	} else if (sane_range(op->addr, op->len) && op->addr >= MMF_MMAP_MIN_ADDR) {
		space_add(s, op->addr, op->addr + MMF_PAGE_ALIGN(op->len));
	}
}

static void gen_mremap(struct gen *g, struct mmf_op *op)
{
	struct space *s;

	op->proc = pick_proc(g);
	s = (op->proc >= 0 && op->proc < MMF_MAX_PROCS) ? &g->sp[op->proc] : NULL;
	op->addr = gen_range(g, op->proc, &op->len);
	op->new_len = chance(g, 50) ? op->len + (1 + rnd(g, 4)) * PAGE :
		      chance(g, 70) ? MMF_PAGE_ALIGN(op->len) / 2 + PAGE : gen_len(g);
	if (chance(g, 60)) {
		op->flags |= MREMAP_MAYMOVE;
		if (g->kernel || chance(g, 50)) {
			op->flags |= MREMAP_FIXED;
			op->new_addr = chance(g, 70) ? fresh(g, op->new_len) :
				       gen_range(g, op->proc, NULL);
		}
		if (chance(g, 15))
			op->flags |= MREMAP_DONTUNMAP;
	}
	if (!g->kernel && chance(g, 3)) {
		op->flags ^= 1u << rnd(g, 3);		/* an invalid combination */
		if (!(op->flags & MREMAP_FIXED))
			op->new_addr = 0;
	}
	if (!s || !sane_range(op->addr, op->len) || !sane_range(op->addr, op->new_len))
		return;
	if (!(op->flags & MREMAP_MAYMOVE)) {
		if (op->new_len < op->len)
			space_del(s, op->addr + MMF_PAGE_ALIGN(op->new_len),
				  op->addr + MMF_PAGE_ALIGN(op->len));
		else
			space_add(s, op->addr, op->addr + MMF_PAGE_ALIGN(op->new_len));
		return;
	}
	if (!(op->flags & MREMAP_DONTUNMAP))
		space_del(s, op->addr, op->addr + MMF_PAGE_ALIGN(op->len));
	if ((op->flags & MREMAP_FIXED) && sane_range(op->new_addr, op->new_len))
		space_add(s, op->new_addr, op->new_addr + MMF_PAGE_ALIGN(op->new_len));
	else if (!(op->flags & MREMAP_FIXED)) {
		uint64_t a = space_topdown(s, MMF_PAGE_ALIGN(op->new_len));

		if (a)
			space_add(s, a, a + MMF_PAGE_ALIGN(op->new_len));
	}
}

static const char *const good_names[] = { "heap", "stack", "a", "b", "a:b/c.d-e_f" };
static const char *const bad_names[] = {
	"", "with space", "tab\there", "[brackets]", "$dollar", "back`tick", "back\\slash",
	"del\x7f", "caf\xc3\xa9",
};

static void gen_name(struct gen *g, struct mmf_op *op)
{
	unsigned r = (unsigned)rnd(g, 100);

	if (r < 70)
		strcpy(op->name, good_names[rnd(g, sizeof(good_names) / sizeof(good_names[0]))]);
	else if (r < 82)
		strcpy(op->name, bad_names[rnd(g, sizeof(bad_names) / sizeof(bad_names[0]))]);
	else if (r < 88)
		memset(op->name, 'x', MMF_ANON_NAME_MAX - 1 + rnd(g, 2));	/* 79 or 80 */
	else
		op->name_null = true;
}

static const uint32_t advices[7] = {
	MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
	MADV_GUARD_INSTALL, MADV_GUARD_REMOVE,
};

static const uint64_t odd_values[] = {
	0, UINT64_MAX, 1ULL << 63, 0xdeadbeef, 0x0123456789abcdefULL,
};

static uint64_t gen_value(struct gen *g)
{
	if (chance(g, 92))
		return 1 + rnd(g, 0xff);
	return odd_values[rnd(g, sizeof(odd_values) / sizeof(odd_values[0]))];
}

static uint64_t gen_fpgoff(struct gen *g, int32_t file)
{
	uint64_t pages = (file >= 0 && (unsigned)file < g->nfiles) ? g->fsize[file] / PAGE : 0;

	if (chance(g, 85))
		return rnd(g, pages + 2);
	return rnd(g, 64);
}

static const struct {
	enum mmf_op_kind kind;
	unsigned weight;
} weights[] = {
	{ MMF_OP_MMAP, 16 }, { MMF_OP_MUNMAP, 6 }, { MMF_OP_MPROTECT, 9 },
	{ MMF_OP_MREMAP, 6 }, { MMF_OP_MADVISE, 5 }, { MMF_OP_SET_NAME, 4 },
	{ MMF_OP_READ, 16 }, { MMF_OP_WRITE, 16 }, { MMF_OP_FORK, 4 },
	{ MMF_OP_EXIT, 1 }, { MMF_OP_FILE_CREATE, 2 }, { MMF_OP_TRUNCATE, 2 },
	{ MMF_OP_FILE_READ, 2 }, { MMF_OP_FILE_WRITE, 2 },
};
#define NR_WEIGHTS (sizeof(weights) / sizeof(weights[0]))

static enum mmf_op_kind pick_kind(struct gen *g)
{
	unsigned total = 0, r, mapped = 0;

	for (int i = 0; i < MMF_MAX_PROCS; i++)
		mapped += g->sp[i].n;
	if (!mapped && chance(g, 75))
		return MMF_OP_MMAP;
	for (unsigned i = 0; i < NR_WEIGHTS; i++)
		if (!(g->kernel && weights[i].kind == MMF_OP_SET_NAME))
			total += weights[i].weight;
	r = (unsigned)rnd(g, total);
	for (unsigned i = 0; i < NR_WEIGHTS; i++) {
		if (g->kernel && weights[i].kind == MMF_OP_SET_NAME)
			continue;
		if (r < weights[i].weight)
			return weights[i].kind;
		r -= weights[i].weight;
	}
	return MMF_OP_MMAP;
}

static void gen_op(struct gen *g, struct mmf_op *op)
{
	struct space *s;

	memset(op, 0, sizeof(*op));
	op->kind = pick_kind(g);
	if (op->kind >= MMF_OP_TRUNCATE && g->nfiles == 0 && chance(g, 80))
		op->kind = MMF_OP_FILE_CREATE;
	if (op->kind == MMF_OP_FILE_CREATE && g->nfiles >= MMF_MAX_FILES && chance(g, 90))
		op->kind = MMF_OP_MMAP;
	if (op->kind == MMF_OP_EXIT && chance(g, 90)) {
		int n = 0;

		for (int i = 0; i < MMF_MAX_PROCS; i++)
			n += g->proc_live[i];
		if (n <= 1)		/* keep the last process, mostly */
			op->kind = MMF_OP_FORK;
	}

	switch (op->kind) {
	case MMF_OP_MMAP:
		gen_mmap(g, op);
		break;
	case MMF_OP_MREMAP:
		gen_mremap(g, op);
		break;
	case MMF_OP_FORK:
		op->proc = pick_proc(g);
		if (op->proc < MMF_MAX_PROCS && g->proc_live[op->proc]) {
			for (int i = 0; i < MMF_MAX_PROCS; i++) {
				if (!g->proc_live[i]) {
					g->proc_live[i] = true;
					g->sp[i] = g->sp[op->proc];
					break;
				}
			}
		}
		break;
	case MMF_OP_EXIT:
		op->proc = pick_proc(g);
		if (op->proc < MMF_MAX_PROCS) {
			g->proc_live[op->proc] = false;
			g->sp[op->proc].n = 0;
		}
		break;
	case MMF_OP_MUNMAP:
	case MMF_OP_MPROTECT:
	case MMF_OP_MADVISE:
	case MMF_OP_SET_NAME:
		op->proc = pick_proc(g);
		op->addr = gen_range(g, op->proc, &op->len);
		if (op->kind == MMF_OP_MPROTECT)
			op->prot = chance(g, 97) ? (uint32_t)rnd(g, 8) :
				   (uint32_t)rnd(g, 8) | (g->kernel ? 0 : PROT_GROWSDOWN);
		else if (op->kind == MMF_OP_MADVISE)
			op->advice = (g->kernel || chance(g, 95)) ? advices[rnd(g, 7)] :
				     (uint32_t)rnd(g, 24);
		else if (op->kind == MMF_OP_SET_NAME)
			gen_name(g, op);
		s = op->proc < MMF_MAX_PROCS ? &g->sp[op->proc] : NULL;
		if (op->kind == MMF_OP_MUNMAP && s && sane_range(op->addr, op->len))
			space_del(s, op->addr, op->addr + MMF_PAGE_ALIGN(op->len));
		break;
	case MMF_OP_READ:
	case MMF_OP_WRITE:
		op->proc = pick_proc(g);
		op->addr = gen_range(g, op->proc, NULL);
		if (chance(g, 10))
			op->addr += rnd(g, PAGE);
		if (op->kind == MMF_OP_WRITE)
			op->value = gen_value(g);
		break;
	case MMF_OP_FILE_CREATE:
		op->len = chance(g, 90) ? rnd(g, 17) * PAGE : gen_len(g);
		if (op->len <= MMF_MAX_FILE_SIZE && g->nfiles < MMF_MAX_FILES)
			g->fsize[g->nfiles++] = op->len;
		break;
	case MMF_OP_TRUNCATE:
		op->file = pick_file(g);
		op->len = chance(g, 90) ? rnd(g, 17) * PAGE : gen_len(g);
		if ((unsigned)op->file < g->nfiles && op->len <= MMF_MAX_FILE_SIZE)
			g->fsize[op->file] = op->len;
		break;
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		op->file = pick_file(g);
		op->pgoff = gen_fpgoff(g, op->file);
		if (op->kind == MMF_OP_FILE_WRITE)
			op->value = gen_value(g);
		break;
	default:
		break;
	}
	if (op->kind <= MMF_OP_SET_NAME && op->kind >= MMF_OP_MMAP) {
		remember(g, op->addr);
		if (op->len <= MMF_TASK_SIZE)
			remember(g, op->addr + MMF_PAGE_ALIGN(op->len));
	}
}

void mmf_prog_generate(struct mmf_prog *p, uint64_t seed, uint32_t nr_ops,
		       enum mmf_decode_mode mode)
{
	struct gen g;
	struct mmf_prog tmp;
	uint8_t *buf;
	size_t len;

	memset(&g, 0, sizeof(g));
	g.state = seed;
	g.kernel = mode == MMF_DECODE_KERNEL;
	g.proc_live[0] = true;
	g.bump = 0x100000 + rnd(&g, 16) * 0x100000;
	if (nr_ops > MMF_PROG_MAX_OPS)
		nr_ops = MMF_PROG_MAX_OPS;

	mmf_prog_init(&tmp);
	for (uint32_t i = 0; i < nr_ops; i++) {
		struct mmf_op op;

		gen_op(&g, &op);
		mmf_prog_append(&tmp, &op);
	}
	/* through the binary form: canonical, and within the mode's rules */
	len = mmf_prog_encode(&tmp, NULL, 0);
	buf = malloc(len ? len : 1);
	if (!buf) {
		fputs("mmfuzz: out of memory\n", stderr);
		abort();
	}
	mmf_prog_encode(&tmp, buf, len);
	mmf_prog_decode(p, buf, len, mode);
	free(buf);
	mmf_prog_free(&tmp);
}
