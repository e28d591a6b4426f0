// SPDX-License-Identifier: MIT
/*
 * prog/binary.c - the compact binary form of a program, the bytes fuzzers
 * mutate.
 *
 * The decoder is TOTAL: every byte string is a valid program.  Reading past
 * the end yields zero bytes; decoding stops at the first op that would start
 * at or past the end, or after MMF_PROG_MAX_OPS ops.  Everything below is
 * little-endian.
 *
 * Op := OPCODE ARG...        kind = table[OPCODE % 32]; the encoder writes
 *                            the first byte of each kind (bits 5-7 are a
 *                            tag only concurrent programs read, cprog.c):
 *
 *     0x00 mmap     0x01 munmap    0x02 mprotect  0x03 mremap
 *     0x04 madvise  0x05 set_name  0x06 read      0x07 write
 *     0x08 fork     0x09 exit      0x0a file_create  0x0b truncate
 *     0x0c file_read 0x0d file_write
 *     0x0e-0x13 mmap, 0x14-0x15 munmap, 0x16-0x17 mprotect, 0x18-0x1a read,
 *     0x1b-0x1d write, 0x1e mremap, 0x1f madvise  (weights; bits 5-7 ignored)
 *
 * Arguments per kind:
 *     fork, exit    PROC
 *     mmap          MFLAGS [RAW32] PROC ADDR LEN PROT [FILE PGOFF | PGOFF]
 *     munmap        PROC ADDR LEN
 *     mprotect      PROC ADDR LEN PROT
 *     mremap        PROC ADDR LEN NEWLEN RFLAGS [RAW32] [NEWADDR]
 *     madvise       PROC ADDR LEN ADVICE
 *     set_name      PROC ADDR LEN NAME
 *     read          PROC ADDR
 *     write         PROC ADDR VALUE
 *     file_create   LEN           (the file size)
 *     truncate      FILE LEN
 *     file_read     FILE PGOFF
 *     file_write    FILE PGOFF VALUE
 *
 * Each argument starts with a selector byte s; 0xff is always the escape to
 * a literal, so any value round-trips:
 *
 *   PROC, FILE  s < 0xf0: the (s % n)-th live handle in ascending order
 *               (0 if none live); 0xf0-0xfe: handle s-0xf0; 0xff B: handle B.
 *   ADDR        s < 0xe0: pool[s % n] + D pages, D from the next byte d:
 *                 d < 0x80: D = d & 15 as a signed 4-bit number (-8..7),
 *                 else      D = d & 127 as a signed 7-bit number (-64..63);
 *               0xe0-0xef B: pool[(s & 15) % n] + B bytes (misaligned);
 *               0xf0-0xfe: addr_consts[s-0xf0]; 0xff: 8-byte literal.
 *               pool[0] is the most recent entry (see "shadow" below).
 *   LEN         s < 0xa0: ((s & 15) + 1) pages;
 *               0xa0-0xbf: (s - 0x9f) * 16 pages;
 *               0xc0-0xdf B: (s - 0xc0) pages + B bytes (odd lengths, 0);
 *               0xe0-0xef: pool[(s & 15) % n] - ADDR (ends on a boundary);
 *               0xf0-0xfe: len_consts[s-0xf0]; 0xff: 8-byte literal.
 *   PROT        s < 0x80: s & 7; 0x80-0xfe: (s & 7) | prot_odd[(s >> 3 & 15) % 6];
 *               0xff: 4-byte literal.
 *   MFLAGS      bit0 shared (else private); bit1 file-backed (else anon);
 *               bits2-3: 0 MAP_FIXED, 1 MAP_FIXED_NOREPLACE, 2-3 neither
 *               (hint / top-down); bit4 MAP_GROWSDOWN; bit5: a 4-byte RAW32
 *               follows and is the whole flags word (file-backed iff it lacks
 *               MAP_ANONYMOUS); bit6: an anonymous mapping has a PGOFF too;
 *               bit7 ignored.
 *   RFLAGS      bits0-2 MREMAP_MAYMOVE/FIXED/DONTUNMAP; bit3: RAW32 follows
 *               and is the whole flags word.  NEWADDR is present iff the
 *               flags have MREMAP_FIXED.
 *   ADVICE      s < 0xf0: {dontneed, dontfork, dofork, wipeonfork,
 *               keeponfork}[s % 5]; 0xf0-0xfe: advice_consts[s-0xf0];
 *               0xff: 4-byte literal.
 *   NAME        s < 0xc0: names[s % nr_names]; 0xc0-0xfe: NULL (clear);
 *               0xff L: a literal of (L & 127) bytes (cut at a NUL byte).
 *   PGOFF       s < 0x80: s & 15; 0x80-0xef: s - 0x80; 0xf0-0xfe:
 *               pgoff_consts[s-0xf0]; 0xff: 8-byte literal.
 *   VALUE       s < 0xf0: s; 0xf0-0xfe: value_consts[s-0xf0]; 0xff: literal.
 *
 * The shadow.  The decoder tracks, without running any implementation:
 * live processes (p0 at start; fork of a live process takes the lowest free
 * slot below MMF_MAX_PROCS, exit frees it), live files (file_create of a
 * size <= MMF_MAX_FILE_SIZE takes the lowest free slot), and a pool of up to
 * 64 interesting page addresses, initially MMF_MMAP_BASE, 0x40000000,
 * 0x100000, MMF_MMAP_MIN_ADDR (most recent last).  After mmap, munmap,
 * mprotect, madvise and set_name the end and then the start of the range
 * are added (a top-down mmap adds MMF_MMAP_BASE - len as a guess); mremap
 * adds the ends and starts of the old and (if MREMAP_FIXED) new range.  An
 * address already in the pool moves to the front.
 *
 * MMF_DECODE_KERNEL restricts the result to what the host kernel can check:
 * opcode 0x05 is munmap (no names), mmap flags keep only the type, anon,
 * fixed, noreplace and growsdown bits and get MAP_FIXED when neither fixed
 * bit is set, mremap flags keep the three MREMAP bits and MAYMOVE implies
 * FIXED (the NEWADDR argument then follows), prot keeps rwx, advice maps to
 * the five above (guard_install and guard_remove stay), handles are folded below MMF_MAX_PROCS/FILES,
 * addresses are folded into [MMF_MMAP_MIN_ADDR, MMF_MMAP_BASE), range
 * lengths are clamped so that ranges end by MMF_MMAP_BASE, file sizes and
 * page offsets stay within MMF_MAX_FILE_SIZE.  These fix-ups are idempotent,
 * so an encoded kernel program decodes identically in both modes.
 */
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "prog_ext.h"

#define NR_OPCODES	32
#define POOL_MAX	64

static const uint8_t any_table[NR_OPCODES] = {
	MMF_OP_MMAP, MMF_OP_MUNMAP, MMF_OP_MPROTECT, MMF_OP_MREMAP,
	MMF_OP_MADVISE, MMF_OP_SET_NAME, MMF_OP_READ, MMF_OP_WRITE,
	MMF_OP_FORK, MMF_OP_EXIT, MMF_OP_FILE_CREATE, MMF_OP_TRUNCATE,
	MMF_OP_FILE_READ, MMF_OP_FILE_WRITE, MMF_OP_MMAP, MMF_OP_MMAP,
	MMF_OP_MMAP, MMF_OP_MMAP, MMF_OP_MMAP, MMF_OP_MMAP,
	MMF_OP_MUNMAP, MMF_OP_MUNMAP, MMF_OP_MPROTECT, MMF_OP_MPROTECT,
	MMF_OP_READ, MMF_OP_READ, MMF_OP_READ, MMF_OP_WRITE,
	MMF_OP_WRITE, MMF_OP_WRITE, MMF_OP_MREMAP, MMF_OP_MADVISE,
};

#define PAGE	MMF_PAGE_SIZE

static const uint64_t addr_consts[15] = {
	0, 1, PAGE, MMF_MMAP_MIN_ADDR - PAGE, MMF_MMAP_MIN_ADDR, 0x100000, 0x40000000,
	MMF_MMAP_BASE - MMF_STACK_GUARD_GAP, MMF_MMAP_BASE - PAGE, MMF_MMAP_BASE,
	MMF_TASK_SIZE - PAGE, MMF_TASK_SIZE, 0x7ffffffff000ULL, 1ULL << 63,
	UINT64_MAX & MMF_PAGE_MASK,
};

static const uint64_t len_consts[15] = {
	0, 1, PAGE - 1, PAGE + 1, MMF_STACK_GUARD_GAP, MMF_STACK_LIMIT,
	MMF_STACK_LIMIT + PAGE, MMF_MMAP_BASE - MMF_MMAP_MIN_ADDR, MMF_TASK_SIZE - PAGE,
	MMF_TASK_SIZE, MMF_MAX_FILE_SIZE + 1, 1ULL << 63, UINT64_MAX & MMF_PAGE_MASK,
	UINT64_MAX, INT64_MAX,
};

static const uint64_t pgoff_consts[15] = {
	0x100, 0x1000, 0x10000, MMF_MAX_FILE_SIZE / PAGE - 1, MMF_MAX_FILE_SIZE / PAGE,
	MMF_MAX_FILE_SIZE / PAGE + 1, UINT64_MAX >> MMF_PAGE_SHIFT,
	(UINT64_MAX >> MMF_PAGE_SHIFT) + 1, 1ULL << 51, 1ULL << 52, 1ULL << 63,
	UINT64_MAX - 15, UINT64_MAX - 1, UINT64_MAX, INT64_MAX,
};

static const uint64_t value_consts[15] = {
	UINT64_MAX, 1ULL << 63, INT64_MAX, 0xdeadbeef, 0xcafebabe, 0x100, 0x1000,
	0x10000, 0xffffffff, 0x100000000ULL, 0x0123456789abcdefULL,
	0xaaaaaaaaaaaaaaaaULL, 0x5555555555555555ULL, UINT64_MAX - 1,
	0x8000000000000001ULL,
};

static const uint32_t prot_odd[6] = {
	PROT_SEM, PROT_GROWSDOWN, PROT_GROWSUP, 0x10, 0x80000000u,
	PROT_GROWSDOWN | PROT_GROWSUP,
};

static const uint32_t advice_five[5] = {
	MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
};

static const uint32_t advice_consts[15] = {
	0 /* normal */, 1 /* random */, 2 /* sequential */, 3 /* willneed */,
	8 /* free */, 9 /* remove */, 12 /* mergeable */, 14 /* hugepage */,
	16 /* dontdump */, 20 /* cold */, 21 /* pageout */, 22 /* populate_read */,
	23 /* populate_write */, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE,
};

#define X10 "xxxxxxxxxx"
static const char *const names[] = {
	"heap", "stack", "a", "b", "",
	X10 X10 X10 X10 X10 X10 X10 "xxxxxxxxx",	/* 79: the longest valid */
	X10 X10 X10 X10 X10 X10 X10 X10,		/* 80: one too long */
	"with space", "tab\there", "[brackets]", "$dollar", "back`tick",
	"back\\slash", "del\x7f", "caf\xc3\xa9", "a:b/c.d-e_f",
};
#undef X10
#define NR_NAMES (sizeof(names) / sizeof(names[0]))

/* ---- the shadow -------------------------------------------------------- */

struct shadow {
	bool kernel;
	bool proc_live[MMF_MAX_PROCS];
	bool file_live[MMF_MAX_FILES];
	uint64_t pool[POOL_MAX];	/* oldest first */
	unsigned npool;
};

static void pool_add(struct shadow *s, uint64_t a)
{
	unsigned i;

	a &= MMF_PAGE_MASK;
	if (a >= MMF_TASK_SIZE)
		return;
	for (i = 0; i < s->npool; i++) {
		if (s->pool[i] == a) {
			memmove(&s->pool[i], &s->pool[i + 1], (s->npool - i - 1) * sizeof(a));
			s->npool--;
			break;
		}
	}
	if (s->npool == POOL_MAX) {
		memmove(&s->pool[0], &s->pool[1], (POOL_MAX - 1) * sizeof(a));
		s->npool--;
	}
	s->pool[s->npool++] = a;
}

/* The j-th most recent pool entry (j < npool). */
static uint64_t pool_recent(const struct shadow *s, unsigned j)
{
	return s->pool[s->npool - 1 - j];
}

static void shadow_init(struct shadow *s, enum mmf_decode_mode mode)
{
	memset(s, 0, sizeof(*s));
	s->kernel = mode == MMF_DECODE_KERNEL;
	s->proc_live[0] = true;
	pool_add(s, MMF_MMAP_BASE);
	pool_add(s, 0x40000000);
	pool_add(s, 0x100000);
	pool_add(s, MMF_MMAP_MIN_ADDR);
}

/* Add the end, then the start, of [addr, addr+len). */
static void pool_add_range(struct shadow *s, uint64_t addr, uint64_t len)
{
	if (addr >= MMF_TASK_SIZE)
		return;
	if (len <= MMF_TASK_SIZE && addr + MMF_PAGE_ALIGN(len) <= MMF_TASK_SIZE)
		pool_add(s, addr + MMF_PAGE_ALIGN(len));
	pool_add(s, addr);
}

static int take_lowest(bool *live, int n)
{
	for (int i = 0; i < n; i++) {
		if (!live[i]) {
			live[i] = true;
			return i;
		}
	}
	return -1;
}

/* What the op does to the shadow: results-independent. */
static void shadow_apply(struct shadow *s, const struct mmf_op *op)
{
	switch (op->kind) {
	case MMF_OP_FORK:
		if (op->proc >= 0 && op->proc < MMF_MAX_PROCS && s->proc_live[op->proc])
			take_lowest(s->proc_live, MMF_MAX_PROCS);
		break;
	case MMF_OP_EXIT:
		if (op->proc >= 0 && op->proc < MMF_MAX_PROCS)
			s->proc_live[op->proc] = false;
		break;
	case MMF_OP_FILE_CREATE:
		if (op->len <= MMF_MAX_FILE_SIZE)
			take_lowest(s->file_live, MMF_MAX_FILES);
		break;
	case MMF_OP_MMAP:
		if (op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) || op->addr >= MMF_MMAP_MIN_ADDR)
			pool_add_range(s, op->addr, op->len);
		else if (op->len && op->len <= MMF_MMAP_BASE)
			pool_add_range(s, MMF_MMAP_BASE - MMF_PAGE_ALIGN(op->len), op->len);
		break;
	case MMF_OP_MUNMAP:
	case MMF_OP_MPROTECT:
	case MMF_OP_MADVISE:
	case MMF_OP_SET_NAME:
		pool_add_range(s, op->addr, op->len);
		break;
	case MMF_OP_MREMAP:
		pool_add_range(s, op->addr, op->new_len);
		pool_add_range(s, op->addr, op->len);
		if (op->flags & MREMAP_FIXED)
			pool_add_range(s, op->new_addr, op->new_len);
		break;
	default:
		break;
	}
}

/* ---- decoding ---------------------------------------------------------- */

struct rd {
	const uint8_t *d;
	size_t n, pos;
};

static uint8_t u8(struct rd *r)
{
	uint8_t b = r->pos < r->n ? r->d[r->pos] : 0;

	if (r->pos < r->n)
		r->pos++;
	else
		r->pos = r->n + 1;	/* past the end: only zeros from now on */
	return b;
}

static uint64_t le(struct rd *r, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)u8(r) << (8 * i);
	return v;
}

static int32_t dec_handle(struct rd *r, const bool *live, int max, bool kernel)
{
	uint8_t h = u8(r);
	int32_t v = 0;

	if (h < 0xf0) {
		int n = 0, k;

		for (int i = 0; i < max; i++)
			n += live[i];
		if (n) {
			k = h % n;
			for (int i = 0; i < max; i++)
				if (live[i] && k-- == 0)
					v = i;
		}
	} else if (h < 0xff) {
		v = h - 0xf0;
	} else {
		v = u8(r);
	}
	if (kernel)
		v %= max;
	return v;
}

static int64_t small_delta(uint8_t d)
{
	int64_t v;

	if (d < 0x80) {
		v = d & 15;
		return v >= 8 ? v - 16 : v;
	}
	v = d & 127;
	return v >= 64 ? v - 128 : v;
}

static uint64_t fold_addr(const struct shadow *s, uint64_t a)
{
	if (s->kernel && (a < MMF_MMAP_MIN_ADDR || a >= MMF_MMAP_BASE))
		a = MMF_MMAP_MIN_ADDR + (a - MMF_MMAP_MIN_ADDR) % (MMF_MMAP_BASE - MMF_MMAP_MIN_ADDR);
	return a;
}

static uint64_t dec_addr(struct rd *r, const struct shadow *s)
{
	uint8_t sel = u8(r);
	uint64_t a;

	if (sel < 0xe0) {
		uint64_t base = pool_recent(s, sel % s->npool);

		a = base + (uint64_t)small_delta(u8(r)) * PAGE;
	} else if (sel < 0xf0) {
		a = pool_recent(s, (sel & 15u) % s->npool) + u8(r);
	} else if (sel < 0xff) {
		a = addr_consts[sel - 0xf0];
	} else {
		a = le(r, 8);
	}
	return fold_addr(s, a);
}

/* A length; a range starting at addr (kernel mode: clamped to end by MMF_MMAP_BASE). */
static uint64_t dec_len(struct rd *r, const struct shadow *s, uint64_t addr, bool range)
{
	uint8_t sel = u8(r);
	uint64_t len;

	if (sel < 0xa0)
		len = ((uint64_t)(sel & 15) + 1) * PAGE;
	else if (sel < 0xc0)
		len = (uint64_t)(sel - 0x9f) * 16 * PAGE;
	else if (sel < 0xe0)
		len = (uint64_t)(sel - 0xc0) * PAGE + u8(r);
	else if (sel < 0xf0)
		len = pool_recent(s, (sel & 15u) % s->npool) - addr;
	else if (sel < 0xff)
		len = len_consts[sel - 0xf0];
	else
		len = le(r, 8);
	if (s->kernel) {
		if (range && len > MMF_MMAP_BASE - addr)
			len = MMF_MMAP_BASE - addr;
		if (!range && len > MMF_MAX_FILE_SIZE)
			len %= MMF_MAX_FILE_SIZE + 1;
	}
	return len;
}

static uint64_t dec_pgoff(struct rd *r, const struct shadow *s)
{
	uint8_t sel = u8(r);
	uint64_t v;

	if (sel < 0x80)
		v = sel & 15;
	else if (sel < 0xf0)
		v = sel - 0x80;
	else if (sel < 0xff)
		v = pgoff_consts[sel - 0xf0];
	else
		v = le(r, 8);
	if (s->kernel)
		v %= MMF_MAX_FILE_SIZE / PAGE;
	return v;
}

static uint64_t dec_value(struct rd *r)
{
	uint8_t sel = u8(r);

	if (sel < 0xf0)
		return sel;
	if (sel < 0xff)
		return value_consts[sel - 0xf0];
	return le(r, 8);
}

static uint32_t dec_prot(struct rd *r, const struct shadow *s)
{
	uint8_t sel = u8(r);
	uint32_t prot;

	if (sel < 0x80)
		prot = sel & 7;
	else if (sel < 0xff)
		prot = (sel & 7u) | prot_odd[((sel >> 3) & 15u) % 6];
	else
		prot = (uint32_t)le(r, 4);
	if (s->kernel)
		prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
	return prot;
}

static uint32_t dec_advice(struct rd *r, const struct shadow *s)
{
	uint8_t sel = u8(r);
	uint32_t a;

	if (sel < 0xf0)
		a = advice_five[sel % 5];
	else if (sel < 0xff)
		a = advice_consts[sel - 0xf0];
	else
		a = (uint32_t)le(r, 4);
	if (s->kernel) {
		bool ok = false;

		for (int i = 0; i < 5; i++)
			ok |= a == advice_five[i];
		/* guard regions: the host runs them (Linux 6.13+) */
		ok |= a == MADV_GUARD_INSTALL || a == MADV_GUARD_REMOVE;
		if (!ok)
			a = advice_five[a % 5];
	}
	return a;
}

static void dec_name(struct rd *r, struct mmf_op *op)
{
	uint8_t sel = u8(r);

	if (sel < 0xc0) {
		strcpy(op->name, names[sel % NR_NAMES]);
	} else if (sel < 0xff) {
		op->name_null = true;
	} else {
		unsigned len = u8(r) & 127u, n = 0;
		bool cut = false;

		for (unsigned i = 0; i < len; i++) {
			uint8_t b = u8(r);

			cut |= b == 0;
			if (!cut)
				op->name[n++] = (char)b;
		}
	}
}

#define MMAP_STRUCT_BITS (MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | \
			  MAP_FIXED_NOREPLACE | MAP_GROWSDOWN)

static void dec_mmap(struct rd *r, const struct shadow *s, struct mmf_op *op)
{
	uint8_t f = u8(r);
	bool file_backed;

	if (f & 0x20) {
		op->flags = (uint32_t)le(r, 4);
		file_backed = !(op->flags & MAP_ANONYMOUS);
	} else {
		op->flags = (f & 1) ? MAP_SHARED : MAP_PRIVATE;
		file_backed = f & 2;
		if (!file_backed)
			op->flags |= MAP_ANONYMOUS;
		if ((f & 0x0c) == 0)
			op->flags |= MAP_FIXED;
		else if ((f & 0x0c) == 0x04)
			op->flags |= MAP_FIXED_NOREPLACE;
		if (f & 0x10)
			op->flags |= MAP_GROWSDOWN;
	}
	if (s->kernel) {
		op->flags &= MMAP_STRUCT_BITS;
		if (!(op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
			op->flags |= MAP_FIXED;
	}
	op->proc = dec_handle(r, s->proc_live, MMF_MAX_PROCS, s->kernel);
	op->addr = dec_addr(r, s);
	op->len = dec_len(r, s, op->addr, true);
	op->prot = dec_prot(r, s);
	op->file = MMF_FILE_ANON;
	if (file_backed) {
		op->file = dec_handle(r, s->file_live, MMF_MAX_FILES, s->kernel);
		op->pgoff = dec_pgoff(r, s);
	} else if (f & 0x40) {
		op->pgoff = dec_pgoff(r, s);
	}
}

static void dec_mremap(struct rd *r, const struct shadow *s, struct mmf_op *op)
{
	uint8_t f;

	op->proc = dec_handle(r, s->proc_live, MMF_MAX_PROCS, s->kernel);
	op->addr = dec_addr(r, s);
	op->len = dec_len(r, s, op->addr, true);
	op->new_len = dec_len(r, s, op->addr, true);
	f = u8(r);
	op->flags = (f & 8) ? (uint32_t)le(r, 4) : (f & 7u);
	if (s->kernel) {
		op->flags &= MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
		if (op->flags & MREMAP_MAYMOVE)
			op->flags |= MREMAP_FIXED;
	}
	if (op->flags & MREMAP_FIXED) {
		op->new_addr = dec_addr(r, s);
		if (s->kernel && op->new_len > MMF_MMAP_BASE - op->new_addr)
			op->new_len = MMF_MMAP_BASE - op->new_addr;
	}
}

/* *tag: bits 5-7 of the opcode byte (concurrent programs, prog/cprog.c). */
static void dec_op(struct rd *r, const struct shadow *s, struct mmf_op *op, uint8_t *tag)
{
	uint8_t byte = u8(r);
	uint8_t opc = byte % NR_OPCODES;

	*tag = byte >> 5;
	memset(op, 0, sizeof(*op));
	op->kind = (enum mmf_op_kind)any_table[opc];
	if (s->kernel && op->kind == MMF_OP_SET_NAME)
		op->kind = MMF_OP_MUNMAP;

	switch (op->kind) {
	case MMF_OP_MMAP:
		dec_mmap(r, s, op);
		return;
	case MMF_OP_MREMAP:
		dec_mremap(r, s, op);
		return;
	case MMF_OP_TRUNCATE:
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		op->file = dec_handle(r, s->file_live, MMF_MAX_FILES, s->kernel);
		break;
	case MMF_OP_FILE_CREATE:
		break;
	default:
		op->proc = dec_handle(r, s->proc_live, MMF_MAX_PROCS, s->kernel);
		break;
	}

	switch (op->kind) {
	case MMF_OP_MUNMAP:
	case MMF_OP_MPROTECT:
	case MMF_OP_MADVISE:
	case MMF_OP_SET_NAME:
		op->addr = dec_addr(r, s);
		op->len = dec_len(r, s, op->addr, true);
		if (op->kind == MMF_OP_MPROTECT)
			op->prot = dec_prot(r, s);
		else if (op->kind == MMF_OP_MADVISE)
			op->advice = dec_advice(r, s);
		else if (op->kind == MMF_OP_SET_NAME)
			dec_name(r, op);
		break;
	case MMF_OP_READ:
	case MMF_OP_WRITE:
		op->addr = dec_addr(r, s);
		if (op->kind == MMF_OP_WRITE)
			op->value = dec_value(r);
		break;
	case MMF_OP_FILE_CREATE:
	case MMF_OP_TRUNCATE:
		op->len = dec_len(r, s, 0, false);
		break;
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		op->pgoff = dec_pgoff(r, s);
		if (op->kind == MMF_OP_FILE_WRITE)
			op->value = dec_value(r);
		break;
	default:
		break;
	}
}

void mmf_prog_decode_tagged(struct mmf_prog *p, const uint8_t *data, size_t size,
			    enum mmf_decode_mode mode, uint8_t *tags)
{
	struct rd r = { data, data ? size : 0, 0 };
	struct shadow s;

	shadow_init(&s, mode);
	p->nr_ops = 0;
	while (r.pos < r.n && p->nr_ops < MMF_PROG_MAX_OPS) {
		struct mmf_op op;
		uint8_t tag;

		dec_op(&r, &s, &op, &tag);
		if (tags)
			tags[p->nr_ops] = tag;
		mmf_prog_append(p, &op);
		shadow_apply(&s, &op);
	}
}

void mmf_prog_decode(struct mmf_prog *p, const uint8_t *data, size_t size,
		     enum mmf_decode_mode mode)
{
	mmf_prog_decode_tagged(p, data, size, mode, NULL);
}

/* ---- encoding ---------------------------------------------------------- */

struct wr {
	uint8_t *out;
	size_t cap, len;
};

static void w8(struct wr *w, uint8_t b)
{
	if (w->len < w->cap)
		w->out[w->len] = b;
	w->len++;
}

static void wle(struct wr *w, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		w8(w, (uint8_t)(v >> (8 * i)));
}

uint8_t mmf_prog_opcode(enum mmf_op_kind kind)
{
	for (unsigned i = 0; i < NR_OPCODES; i++)
		if (any_table[i] == kind)
			return (uint8_t)i;
	return 0;
}

/* Handles outside 0..255 cannot be encoded; they are truncated. */
static void enc_handle(struct wr *w, int32_t v, const bool *live, int max)
{
	int n = 0;

	for (int i = 0; i < max; i++) {
		if (live[i]) {
			if (i == v) {
				w8(w, (uint8_t)n);
				return;
			}
			n++;
		}
	}
	if (v >= 0 && v < 15) {
		w8(w, (uint8_t)(0xf0 + v));
	} else {
		w8(w, 0xff);
		w8(w, (uint8_t)v);
	}
}

/* diff (mod 2^64) as a whole number of pages in [lo, hi]? */
static bool page_delta(uint64_t diff, int64_t lo, int64_t hi, int64_t *out)
{
	uint64_t pages;

	if (diff & (PAGE - 1))
		return false;
	if (diff <= (uint64_t)hi * PAGE) {
		*out = (int64_t)(diff / PAGE);
		return true;
	}
	pages = (0 - diff) / PAGE;	/* negative delta */
	if (pages <= (uint64_t)-lo) {
		*out = -(int64_t)pages;
		return true;
	}
	return false;
}

static void enc_addr(struct wr *w, const struct shadow *s, uint64_t a)
{
	int64_t d;
	unsigned j;

	for (j = 0; j < s->npool; j++) {
		if (page_delta(a - pool_recent(s, j), -8, 7, &d)) {
			w8(w, (uint8_t)j);
			w8(w, (uint8_t)(d & 15));
			return;
		}
	}
	for (j = 0; j < s->npool; j++) {
		if (page_delta(a - pool_recent(s, j), -64, 63, &d)) {
			w8(w, (uint8_t)j);
			w8(w, (uint8_t)(0x80 | (d & 127)));
			return;
		}
	}
	for (j = 0; j < s->npool && j < 16; j++) {
		if (a - pool_recent(s, j) < 256) {
			w8(w, (uint8_t)(0xe0 + j));
			w8(w, (uint8_t)(a - pool_recent(s, j)));
			return;
		}
	}
	for (j = 0; j < 15; j++) {
		if (addr_consts[j] == a) {
			w8(w, (uint8_t)(0xf0 + j));
			return;
		}
	}
	w8(w, 0xff);
	wle(w, a, 8);
}

static void enc_len(struct wr *w, uint64_t len)
{
	uint64_t pages = len / PAGE, rest = len % PAGE;
	unsigned j;

	if (!rest && pages >= 1 && pages <= 16) {
		w8(w, (uint8_t)(pages - 1));
		return;
	}
	if (!rest && pages % 16 == 0 && pages >= 16 && pages <= 32 * 16) {
		w8(w, (uint8_t)(0x9f + pages / 16));
		return;
	}
	if (pages < 32 && rest < 256) {
		w8(w, (uint8_t)(0xc0 + pages));
		w8(w, (uint8_t)rest);
		return;
	}
	for (j = 0; j < 15; j++) {
		if (len_consts[j] == len) {
			w8(w, (uint8_t)(0xf0 + j));
			return;
		}
	}
	w8(w, 0xff);
	wle(w, len, 8);
}

static void enc_pgoff(struct wr *w, uint64_t v)
{
	unsigned j;

	if (v < 16) {
		w8(w, (uint8_t)v);
		return;
	}
	if (v < 0x70) {
		w8(w, (uint8_t)(0x80 + v));
		return;
	}
	for (j = 0; j < 15; j++) {
		if (pgoff_consts[j] == v) {
			w8(w, (uint8_t)(0xf0 + j));
			return;
		}
	}
	w8(w, 0xff);
	wle(w, v, 8);
}

static void enc_value(struct wr *w, uint64_t v)
{
	unsigned j;

	if (v < 0xf0) {
		w8(w, (uint8_t)v);
		return;
	}
	for (j = 0; j < 15; j++) {
		if (value_consts[j] == v) {
			w8(w, (uint8_t)(0xf0 + j));
			return;
		}
	}
	w8(w, 0xff);
	wle(w, v, 8);
}

static void enc_prot(struct wr *w, uint32_t prot)
{
	uint32_t odd = prot & ~7u;

	if (!odd) {
		w8(w, (uint8_t)prot);
		return;
	}
	for (unsigned j = 0; j < 6; j++) {
		if (prot_odd[j] == odd) {
			w8(w, (uint8_t)(0x80 | j << 3 | (prot & 7)));
			return;
		}
	}
	w8(w, 0xff);
	wle(w, prot, 4);
}

static void enc_advice(struct wr *w, uint32_t a)
{
	unsigned j;

	for (j = 0; j < 5; j++) {
		if (advice_five[j] == a) {
			w8(w, (uint8_t)j);
			return;
		}
	}
	for (j = 0; j < 15; j++) {
		if (advice_consts[j] == a) {
			w8(w, (uint8_t)(0xf0 + j));
			return;
		}
	}
	w8(w, 0xff);
	wle(w, a, 4);
}

static void enc_name(struct wr *w, const struct mmf_op *op)
{
	size_t n;

	if (op->name_null) {
		w8(w, 0xc0);
		return;
	}
	n = strnlen(op->name, MMF_OP_NAME_MAX);
	for (unsigned j = 0; j < NR_NAMES; j++) {
		if (strlen(names[j]) == n && memcmp(names[j], op->name, n) == 0) {
			w8(w, (uint8_t)j);
			return;
		}
	}
	w8(w, 0xff);
	w8(w, (uint8_t)n);
	for (size_t i = 0; i < n; i++)
		w8(w, (uint8_t)op->name[i]);
}

static void enc_mmap(struct wr *w, const struct shadow *s, const struct mmf_op *op)
{
	uint32_t fl = op->flags, type = fl & 3, place = fl & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	bool anon = fl & MAP_ANONYMOUS;
	bool structured = (type == MAP_SHARED || type == MAP_PRIVATE) &&
			  !(fl & ~(uint32_t)MMAP_STRUCT_BITS) &&
			  place != (MAP_FIXED | MAP_FIXED_NOREPLACE);
	uint8_t f;

	if (structured)
		f = (uint8_t)((type == MAP_SHARED ? 0x01 : 0) | (anon ? 0 : 0x02) |
			      (place == MAP_FIXED ? 0 : place == MAP_FIXED_NOREPLACE ? 0x04 : 0x08) |
			      (fl & MAP_GROWSDOWN ? 0x10 : 0));
	else
		f = 0x20;
	if (anon && op->pgoff)
		f |= 0x40;
	w8(w, f);
	if (!structured)
		wle(w, fl, 4);
	enc_handle(w, op->proc, s->proc_live, MMF_MAX_PROCS);
	enc_addr(w, s, op->addr);
	enc_len(w, op->len);
	enc_prot(w, op->prot);
	if (!anon) {
		enc_handle(w, op->file, s->file_live, MMF_MAX_FILES);
		enc_pgoff(w, op->pgoff);
	} else if (op->pgoff) {
		enc_pgoff(w, op->pgoff);
	}
}

static void enc_op(struct wr *w, const struct shadow *s, const struct mmf_op *op, uint8_t tag)
{
	if ((unsigned)op->kind >= MMF_OP__COUNT)
		return;
	w8(w, mmf_prog_opcode(op->kind) | (uint8_t)(tag << 5));
	switch (op->kind) {
	case MMF_OP_MMAP:
		enc_mmap(w, s, op);
		return;
	case MMF_OP_TRUNCATE:
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		enc_handle(w, op->file, s->file_live, MMF_MAX_FILES);
		break;
	case MMF_OP_FILE_CREATE:
		break;
	default:
		enc_handle(w, op->proc, s->proc_live, MMF_MAX_PROCS);
		break;
	}
	switch (op->kind) {
	case MMF_OP_MUNMAP:
	case MMF_OP_MPROTECT:
	case MMF_OP_MADVISE:
	case MMF_OP_SET_NAME:
	case MMF_OP_MREMAP:
		enc_addr(w, s, op->addr);
		enc_len(w, op->len);
		if (op->kind == MMF_OP_MPROTECT) {
			enc_prot(w, op->prot);
		} else if (op->kind == MMF_OP_MADVISE) {
			enc_advice(w, op->advice);
		} else if (op->kind == MMF_OP_SET_NAME) {
			enc_name(w, op);
		} else if (op->kind == MMF_OP_MREMAP) {
			enc_len(w, op->new_len);
			if (op->flags & ~7u) {
				w8(w, 0x08);
				wle(w, op->flags, 4);
			} else {
				w8(w, (uint8_t)op->flags);
			}
			if (op->flags & MREMAP_FIXED)
				enc_addr(w, s, op->new_addr);
		}
		break;
	case MMF_OP_READ:
	case MMF_OP_WRITE:
		enc_addr(w, s, op->addr);
		if (op->kind == MMF_OP_WRITE)
			enc_value(w, op->value);
		break;
	case MMF_OP_FILE_CREATE:
	case MMF_OP_TRUNCATE:
		enc_len(w, op->len);
		break;
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		enc_pgoff(w, op->pgoff);
		if (op->kind == MMF_OP_FILE_WRITE)
			enc_value(w, op->value);
		break;
	default:
		break;
	}
}

size_t mmf_prog_encode_tagged(const struct mmf_prog *p, const uint8_t *tags,
			      uint8_t *out, size_t cap)
{
	struct wr w = { out, out ? cap : 0, 0 };
	struct shadow s;

	shadow_init(&s, MMF_DECODE_ANY);
	for (uint32_t i = 0; i < p->nr_ops && i < MMF_PROG_MAX_OPS; i++) {
		enc_op(&w, &s, &p->ops[i], tags ? tags[i] & 7 : 0);
		shadow_apply(&s, &p->ops[i]);
	}
	return w.len;
}

size_t mmf_prog_encode(const struct mmf_prog *p, uint8_t *out, size_t cap)
{
	return mmf_prog_encode_tagged(p, NULL, out, cap);
}
