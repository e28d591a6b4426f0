// SPDX-License-Identifier: MIT
/*
 * prog/gen.c - random programs, deterministic in a seed.
 *
 * The generator writes bytes in the binary form (prog/binary.c), choosing
 * each opcode and argument selector from a distribution biased towards
 * meaningful programs, and then decodes them.  So a generated program is
 * exactly what the decoder makes of some input, the decoder's shadow picks
 * the handles and addresses (mostly the starts and ends of recent ranges,
 * give or take a few pages), and MMF_DECODE_KERNEL programs obey the same
 * restrictions as decoded fuzz inputs.  The PRNG is splitmix64.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "prog_ext.h"

#define PAGE MMF_PAGE_SIZE

struct gen {
	uint64_t state;
	bool kernel;
	uint8_t *buf;
	size_t len, cap;
	unsigned files;		/* file_create ops emitted so far */
	unsigned maps;		/* mmap ops emitted so far */
};

static uint64_t next(struct gen *g)
{
	uint64_t z = (g->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static unsigned rnd(struct gen *g, unsigned n)
{
	return (unsigned)(next(g) % n);
}

/* true with probability pct/100 */
static bool chance(struct gen *g, unsigned pct)
{
	return rnd(g, 100) < pct;
}

static void put(struct gen *g, uint8_t b)
{
	if (g->len == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		uint8_t *buf = realloc(g->buf, cap);

		if (!buf) {
			fputs("mmfuzz: out of memory\n", stderr);
			abort();
		}
		g->buf = buf;
		g->cap = cap;
	}
	g->buf[g->len++] = b;
}

static void put_le(struct gen *g, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		put(g, (uint8_t)(v >> (8 * i)));
}

static void gen_proc(struct gen *g)
{
	if (chance(g, 95))
		put(g, (uint8_t)rnd(g, 8));			/* a live one */
	else
		put(g, (uint8_t)(0xf0 + rnd(g, MMF_MAX_PROCS + 1)));	/* maybe dead */
}

static void gen_file(struct gen *g)
{
	if (chance(g, 95))
		put(g, (uint8_t)rnd(g, 8));
	else
		put(g, (uint8_t)(0xf0 + rnd(g, MMF_MAX_FILES + 1)));
}

/* Small signed page delta, mostly 0. */
static void gen_delta(struct gen *g)
{
	unsigned r = rnd(g, 100);
	int d;

	if (r < 55) {
		d = 0;
	} else if (r < 90) {
		d = (int)rnd(g, 4) + 1;
		if (chance(g, 50))
			d = -d;
	} else {
		d = (int)rnd(g, 63) + 1;
		if (chance(g, 50))
			d = -d;
		put(g, (uint8_t)(0x80 | (d & 127)));
		return;
	}
	put(g, (uint8_t)(d & 15));
}

static void gen_addr(struct gen *g, bool access)
{
	unsigned r = rnd(g, 100), j;

	if (r < (access ? 78u : 86u)) {
		r = rnd(g, 100);
		j = r < 45 ? 0 : r < 70 ? 1 : rnd(g, 8);
		put(g, (uint8_t)j);
		gen_delta(g);
	} else if (r < 92) {
		put(g, (uint8_t)(0xe0 + rnd(g, 4)));
		put(g, (uint8_t)rnd(g, 256));
	} else if (r < 98) {
		put(g, (uint8_t)(0xf0 + rnd(g, 15)));
	} else {
		put(g, 0xff);
		put_le(g, (next(g) % MMF_TASK_SIZE) & (chance(g, 80) ? MMF_PAGE_MASK : ~0ULL), 8);
	}
}

static void gen_len(struct gen *g)
{
	unsigned r = rnd(g, 100);

	if (r < 72)
		put(g, (uint8_t)(chance(g, 65) ? rnd(g, 4) : rnd(g, 16)));
	else if (r < 80)
		put(g, (uint8_t)(0xa0 + rnd(g, 8)));
	else if (r < 87) {
		put(g, (uint8_t)(0xc0 + rnd(g, 4)));
		put(g, (uint8_t)rnd(g, 256));
	} else if (r < 95) {
		put(g, (uint8_t)(0xe0 + rnd(g, 4)));
	} else {
		put(g, (uint8_t)(0xf0 + rnd(g, 15)));
	}
}

static void gen_prot(struct gen *g)
{
	unsigned r = rnd(g, 100);

	if (r < 50)
		put(g, 3);				/* rw- */
	else if (r < 94)
		put(g, (uint8_t)rnd(g, 8));
	else
		put(g, (uint8_t)(0x80 + rnd(g, 0x7f)));
}

static void gen_pgoff(struct gen *g)
{
	unsigned r = rnd(g, 100);

	if (r < 85)
		put(g, (uint8_t)rnd(g, 8));
	else if (r < 95)
		put(g, (uint8_t)(0x80 + rnd(g, 0x70)));
	else
		put(g, (uint8_t)(0xf0 + rnd(g, 15)));
}

static void gen_value(struct gen *g)
{
	if (chance(g, 90))
		put(g, (uint8_t)(1 + rnd(g, 0xef)));
	else
		put(g, (uint8_t)(0xf0 + rnd(g, 15)));
}

static void gen_mmap(struct gen *g)
{
	uint8_t f = 0;
	bool file_backed, topdown = false;
	uint32_t raw = 0;

	if (chance(g, 25))
		f |= 0x01;				/* shared */
	if (g->files && chance(g, 25))
		f |= 0x02;				/* file */
	if (g->kernel)
		f |= chance(g, 85) ? 0 : 0x04;		/* fixed / noreplace */
	else {
		unsigned r = rnd(g, 100);

		f |= r < 70 ? 0 : r < 80 ? 0x04 : 0x08;
		topdown = (f & 0x0c) == 0x08 && chance(g, 60);
	}
	if (chance(g, 4))
		f |= 0x10;				/* growsdown */
	if (chance(g, 3))
		f |= 0x40;				/* pgoff for anon */
	file_backed = f & 0x02;
	if (chance(g, 2)) {				/* raw flags with an odd bit */
		raw = (f & 1 ? MAP_SHARED : MAP_PRIVATE) | (file_backed ? 0 : MAP_ANONYMOUS) |
		      MAP_FIXED | (1u << rnd(g, 32));
		f |= 0x20;
		file_backed = !(raw & MAP_ANONYMOUS);
	}
	put(g, f);
	if (f & 0x20)
		put_le(g, raw, 4);
	gen_proc(g);
	if (topdown)
		put(g, 0xf0);				/* address 0 */
	else
		gen_addr(g, false);
	gen_len(g);
	gen_prot(g);
	if (file_backed) {
		gen_file(g);
		gen_pgoff(g);
	} else if (f & 0x40) {
		gen_pgoff(g);
	}
	g->maps++;
}

static void gen_mremap(struct gen *g)
{
	uint32_t fl = 0;

	gen_proc(g);
	gen_addr(g, false);
	gen_len(g);
	gen_len(g);
	if (chance(g, 60))
		fl |= MREMAP_MAYMOVE;
	if ((fl & MREMAP_MAYMOVE) && chance(g, g->kernel ? 100 : 50))
		fl |= MREMAP_FIXED;
	if ((fl & MREMAP_MAYMOVE) && chance(g, 15))
		fl |= 4;				/* MREMAP_DONTUNMAP */
	if (!g->kernel && chance(g, 3))
		fl ^= 1u << rnd(g, 3);			/* an invalid combination */
	put(g, (uint8_t)fl);
	if (fl & MREMAP_FIXED || (g->kernel && (fl & MREMAP_MAYMOVE)))
		gen_addr(g, false);
}

enum { W_MMAP, W_MUNMAP, W_MPROTECT, W_MREMAP, W_MADVISE, W_SET_NAME, W_READ,
       W_WRITE, W_FORK, W_EXIT, W_FILE_CREATE, W_TRUNCATE, W_FILE_READ,
       W_FILE_WRITE, W__COUNT };

static const struct {
	enum mmf_op_kind kind;
	unsigned weight;
} weights[W__COUNT] = {
	[W_MMAP] = { MMF_OP_MMAP, 18 },
	[W_MUNMAP] = { MMF_OP_MUNMAP, 7 },
	[W_MPROTECT] = { MMF_OP_MPROTECT, 8 },
	[W_MREMAP] = { MMF_OP_MREMAP, 6 },
	[W_MADVISE] = { MMF_OP_MADVISE, 5 },
	[W_SET_NAME] = { MMF_OP_SET_NAME, 4 },
	[W_READ] = { MMF_OP_READ, 16 },
	[W_WRITE] = { MMF_OP_WRITE, 16 },
	[W_FORK] = { MMF_OP_FORK, 4 },
	[W_EXIT] = { MMF_OP_EXIT, 1 },
	[W_FILE_CREATE] = { MMF_OP_FILE_CREATE, 2 },
	[W_TRUNCATE] = { MMF_OP_TRUNCATE, 2 },
	[W_FILE_READ] = { MMF_OP_FILE_READ, 2 },
	[W_FILE_WRITE] = { MMF_OP_FILE_WRITE, 2 },
};

static enum mmf_op_kind pick_kind(struct gen *g)
{
	unsigned total = 0, r;

	if (g->maps == 0 && chance(g, 80))
		return MMF_OP_MMAP;
	for (int i = 0; i < W__COUNT; i++)
		if (!(g->kernel && weights[i].kind == MMF_OP_SET_NAME))
			total += weights[i].weight;
	r = rnd(g, total);
	for (int i = 0; i < W__COUNT; i++) {
		if (g->kernel && weights[i].kind == MMF_OP_SET_NAME)
			continue;
		if (r < weights[i].weight)
			return weights[i].kind;
		r -= weights[i].weight;
	}
	return MMF_OP_MMAP;
}

static void gen_op(struct gen *g)
{
	enum mmf_op_kind kind = pick_kind(g);

	if (kind == MMF_OP_FILE_CREATE && g->files >= MMF_MAX_FILES && chance(g, 90))
		kind = MMF_OP_MMAP;
	put(g, mmf_prog_opcode(kind));
	switch (kind) {
	case MMF_OP_MMAP:
		gen_mmap(g);
		break;
	case MMF_OP_MREMAP:
		gen_mremap(g);
		break;
	case MMF_OP_FORK:
	case MMF_OP_EXIT:
		gen_proc(g);
		break;
	case MMF_OP_MUNMAP:
	case MMF_OP_MPROTECT:
	case MMF_OP_MADVISE:
	case MMF_OP_SET_NAME:
		gen_proc(g);
		gen_addr(g, false);
		gen_len(g);
		if (kind == MMF_OP_MPROTECT)
			gen_prot(g);
		else if (kind == MMF_OP_MADVISE)
			put(g, chance(g, 92) ? (uint8_t)rnd(g, 5) : (uint8_t)(0xf0 + rnd(g, 15)));
		else if (kind == MMF_OP_SET_NAME)
			put(g, chance(g, 70) ? (uint8_t)rnd(g, 0xc0) : 0xc0);
		break;
	case MMF_OP_READ:
	case MMF_OP_WRITE:
		gen_proc(g);
		gen_addr(g, true);
		if (kind == MMF_OP_WRITE)
			gen_value(g);
		break;
	case MMF_OP_FILE_CREATE:
		gen_len(g);
		g->files++;
		break;
	case MMF_OP_TRUNCATE:
		gen_file(g);
		gen_len(g);
		break;
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		gen_file(g);
		gen_pgoff(g);
		if (kind == MMF_OP_FILE_WRITE)
			gen_value(g);
		break;
	default:
		break;
	}
}

void mmf_prog_generate(struct mmf_prog *p, uint64_t seed, uint32_t nr_ops,
		       enum mmf_decode_mode mode)
{
	struct gen g = { .state = seed, .kernel = mode == MMF_DECODE_KERNEL };

	if (nr_ops > MMF_PROG_MAX_OPS)
		nr_ops = MMF_PROG_MAX_OPS;
	for (uint32_t i = 0; i < nr_ops; i++)
		gen_op(&g);
	mmf_prog_decode(p, g.buf, g.len, mode);
	free(g.buf);
}
