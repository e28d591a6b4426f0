// SPDX-License-Identifier: MIT
/*
 * diff/minimize.c - the program minimizer (see minimize.h).
 */
#include <stddef.h>
#include <string.h>

#include "minimize.h"
#include "prog_ext.h"

#define PAGE 0x1000ULL

struct min_ctx {
	const char *sig;
	mmf_min_pred pred;
	void *ctx;
	struct mmf_min_stats *st;
};

static bool fails(struct min_ctx *m, const struct mmf_prog *p)
{
	m->st->runs++;
	return m->pred(p, m->sig, m->ctx);
}

static void copy_ops(struct mmf_prog *dst, const struct mmf_prog *src)
{
	dst->nr_ops = 0;
	for (uint32_t i = 0; i < src->nr_ops; i++)
		mmf_prog_append(dst, &src->ops[i]);
}

/* Greedy delta debugging over ops: remove chunks while the signature holds. */
static bool shrink_ops(struct min_ctx *m, struct mmf_prog *p)
{
	struct mmf_prog q;
	bool changed = false;

	mmf_prog_init(&q);
	for (uint32_t chunk = p->nr_ops / 2 ? p->nr_ops / 2 : 1; chunk; chunk /= 2) {
		for (uint32_t at = 0; at < p->nr_ops;) {
			q.nr_ops = 0;
			for (uint32_t i = 0; i < p->nr_ops; i++)
				if (i < at || i >= at + chunk)
					mmf_prog_append(&q, &p->ops[i]);
			if (q.nr_ops < p->nr_ops && fails(m, &q)) {
				copy_ops(p, &q);
				changed = true;
			} else {
				at += chunk;
			}
		}
	}
	mmf_prog_free(&q);
	return changed;
}

/* The op reads back the same from its text form (the minimizer's output):
 * e.g. clearing the anon flag of an anonymous mmap makes an op with no text. */
static bool text_ok(const struct mmf_op *op)
{
	char buf[MMF_OP_TEXT_MAX], err[256];
	struct mmf_prog t;
	bool ok;

	mmf_op_format(op, buf, sizeof(buf));
	mmf_prog_init(&t);
	ok = mmf_prog_parse(&t, buf, strlen(buf), "minimize", err, sizeof(err)) == 0 &&
	     t.nr_ops == 1 && mmf_op_equal(&t.ops[0], op);
	mmf_prog_free(&t);
	return ok;
}

/* Try op i with one field replaced; keep it if the signature holds. */
static bool try_op(struct min_ctx *m, struct mmf_prog *p, uint32_t i, const struct mmf_op *cand)
{
	struct mmf_op old = p->ops[i];

	if (!memcmp(&old, cand, sizeof(old)) || !text_ok(cand))
		return false;
	p->ops[i] = *cand;
	if (fails(m, p)) {
		m->st->args_simplified++;
		return true;
	}
	p->ops[i] = old;
	return false;
}

/* Smaller lengths: one page, then halves, then a page less. */
static bool simplify_len(struct min_ctx *m, struct mmf_prog *p, uint32_t i, size_t off)
{
	bool changed = false;

	for (;;) {
		uint64_t v, cands[4];
		int n = 0;
		bool got = false;

		memcpy(&v, (char *)&p->ops[i] + off, sizeof(v));
		if (v > PAGE)
			cands[n++] = PAGE;
		if (v / 2 >= PAGE && (v / 2) % PAGE == 0 && v / 2 != PAGE)
			cands[n++] = v / 2;
		if (v > 2 * PAGE && v % PAGE == 0)
			cands[n++] = v - PAGE;
		if (v % PAGE && v > PAGE)	/* unaligned: the page-aligned value below */
			cands[n++] = v & ~(PAGE - 1);
		for (int k = 0; k < n && !got; k++) {
			struct mmf_op c = p->ops[i];

			if (cands[k] >= v)
				continue;
			memcpy((char *)&c + off, &cands[k], sizeof(cands[k]));
			got = try_op(m, p, i, &c);
		}
		if (!got)
			return changed;
		changed = true;
	}
}

/* Replace address v by nv in every addr and new_addr field (an address used
 * by several ops - an mmap and the faults into it - moves as one). */
static bool try_addr_all(struct min_ctx *m, struct mmf_prog *p, uint64_t v, uint64_t nv)
{
	struct mmf_prog q;
	bool ok;

	if (v == nv)
		return false;
	mmf_prog_init(&q);
	copy_ops(&q, p);
	for (uint32_t k = 0; k < q.nr_ops; k++) {
		if (q.ops[k].addr == v)
			q.ops[k].addr = nv;
		if (q.ops[k].new_addr == v)
			q.ops[k].new_addr = nv;
	}
	ok = fails(m, &q);
	if (ok) {
		copy_ops(p, &q);
		m->st->args_simplified++;
	}
	mmf_prog_free(&q);
	return ok;
}

/* Rounder addresses: 0, the base of an earlier op's range holding it, then
 * the address with its low bits cleared (coarsest first), so 0x12345000
 * tries 0x10000000, 0x12000000, 0x12300000 ... */
static bool simplify_addr(struct min_ctx *m, struct mmf_prog *p, uint32_t i, size_t off)
{
	uint64_t v, prev = 0;

	memcpy(&v, (char *)&p->ops[i] + off, sizeof(v));
	if (!v)
		return false;
	if (try_addr_all(m, p, v, 0))
		return true;
	for (uint32_t k = 0; k < i; k++) {
		uint64_t a = p->ops[k].addr;

		if (!a || a >= v || v - a >= p->ops[k].len)
			continue;
		if (try_addr_all(m, p, v, a))
			return true;
	}
	for (int bit = 63, last = 0; bit >= 12; bit--) {
		uint64_t r = v & ~((1ULL << bit) - 1);

		if (r == v || r == 0 || (last && r == prev))
			continue;
		prev = r;
		last = 1;
		if (try_addr_all(m, p, v, r))
			return true;
	}
	return false;
}

static bool simplify_bits(struct min_ctx *m, struct mmf_prog *p, uint32_t i, size_t off)
{
	bool changed = false;
	uint32_t v;

	memcpy(&v, (char *)&p->ops[i] + off, sizeof(v));
	for (int bit = 31; bit >= 0; bit--) {
		struct mmf_op c = p->ops[i];
		uint32_t nv;

		if (!(v & (1u << bit)))
			continue;
		nv = v & ~(1u << bit);
		memcpy((char *)&c + off, &nv, sizeof(nv));
		if (try_op(m, p, i, &c)) {
			v = nv;
			changed = true;
		}
	}
	return changed;
}

static bool simplify_u64_to(struct min_ctx *m, struct mmf_prog *p, uint32_t i, size_t off,
			    uint64_t to)
{
	uint64_t v;
	struct mmf_op c = p->ops[i];

	memcpy(&v, (char *)&c + off, sizeof(v));
	if (v <= to)
		return false;
	memcpy((char *)&c + off, &to, sizeof(to));
	return try_op(m, p, i, &c);
}

static bool simplify_i32_to0(struct min_ctx *m, struct mmf_prog *p, uint32_t i, size_t off)
{
	int32_t v, z = 0;
	struct mmf_op c = p->ops[i];

	memcpy(&v, (char *)&c + off, sizeof(v));
	if (v <= 0)
		return false;
	memcpy((char *)&c + off, &z, sizeof(z));
	return try_op(m, p, i, &c);
}

static bool simplify_name(struct min_ctx *m, struct mmf_prog *p, uint32_t i)
{
	size_t n = strlen(p->ops[i].name);
	struct mmf_op c;

	if (n <= 1)
		return false;
	c = p->ops[i];
	memset(c.name, 0, sizeof(c.name));
	c.name[0] = 'a';
	return try_op(m, p, i, &c);
}

/*
 * Move a whole region at once: for op i's range [addr, addr + len), try a
 * rounder base R (0x0 excluded, coarsest first) with every address of the
 * program inside the range (addr, new_addr of any op) moved along, so that
 * an mmap and the faults and munmaps into it stay together.
 */
static bool rebase_region(struct min_ctx *m, struct mmf_prog *p, uint32_t i)
{
	uint64_t x = p->ops[i].addr, span = p->ops[i].len, prev = 0;
	struct mmf_prog q;
	bool done = false;

	if (!x || !span || x + span < x)
		return false;
	mmf_prog_init(&q);
	for (int bit = 63; bit >= 12 && !done; bit--) {
		uint64_t r = x & ~((1ULL << bit) - 1);
		bool moved = false;

		if (r == x || r == 0 || r == prev)
			continue;
		prev = r;
		copy_ops(&q, p);
		for (uint32_t k = 0; k < q.nr_ops; k++) {
			uint64_t *f[2] = { &q.ops[k].addr, &q.ops[k].new_addr };

			for (int j = 0; j < 2; j++)
				if (*f[j] >= x && *f[j] - x < span) {
					*f[j] = *f[j] - x + r;
					moved |= k != i;
				}
		}
		/* nothing else used the region: simplify_addr covers it */
		if (!moved)
			break;
		if (fails(m, &q)) {
			copy_ops(p, &q);
			m->st->args_simplified++;
			done = true;
		}
	}
	mmf_prog_free(&q);
	return done;
}

#define OFF(field) offsetof(struct mmf_op, field)

static bool simplify_args(struct min_ctx *m, struct mmf_prog *p)
{
	bool changed = false;

	for (uint32_t i = 0; i < p->nr_ops; i++)
		if (p->ops[i].kind == MMF_OP_MMAP)
			changed |= rebase_region(m, p, i);
	for (uint32_t i = 0; i < p->nr_ops; i++) {
		changed |= simplify_u64_to(m, p, i, OFF(value), 1);
		changed |= simplify_u64_to(m, p, i, OFF(pgoff), 0);
		changed |= simplify_len(m, p, i, OFF(len));
		changed |= simplify_len(m, p, i, OFF(new_len));
		changed |= simplify_addr(m, p, i, OFF(addr));
		changed |= simplify_addr(m, p, i, OFF(new_addr));
		changed |= simplify_bits(m, p, i, OFF(flags));
		changed |= simplify_bits(m, p, i, OFF(prot));
		changed |= simplify_bits(m, p, i, OFF(advice));
		changed |= simplify_name(m, p, i);
		changed |= simplify_i32_to0(m, p, i, OFF(proc));
		changed |= simplify_i32_to0(m, p, i, OFF(file));
	}
	return changed;
}

void mmf_minimize(struct mmf_prog *p, const char *sig, mmf_min_pred still_fails, void *ctx,
		  unsigned flags, struct mmf_min_stats *st)
{
	struct mmf_min_stats dummy;
	struct min_ctx m = { .sig = sig, .pred = still_fails, .ctx = ctx };

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	m.st = st;
	st->ops_before = p->nr_ops;
	for (int round = 0; round < 8; round++) {
		bool changed = shrink_ops(&m, p);

		if (!(flags & MMF_MIN_NO_ARGS))
			changed |= simplify_args(&m, p);
		if (!changed)
			break;
	}
	st->ops_after = p->nr_ops;
}

/* ---- concurrent programs -------------------------------------------------- */

struct cmin_ctx {
	struct mmf_cprog *c;
	struct mmf_prog *section;	/* the list being minimized */
	mmf_cmin_pred pred;
	void *ctx;
	uint32_t runs;
};

/*
 * Run the predicate on the program as it stands, with nr_threads as the
 * text and binary forms would give it (empty trailing threads dropped), so
 * that what is kept is what the minimized file will run.
 */
static bool cprog_fails(struct cmin_ctx *m, const char *sig)
{
	struct mmf_cprog *c = m->c;
	uint32_t saved = c->nr_threads;
	bool fails;

	mmf_cprog_count_threads(c);
	m->runs++;
	fails = m->pred(c, sig, m->ctx);
	if (!fails)
		c->nr_threads = saved;
	return fails;
}

/* The sequential minimizer's predicate: the section replaced by q. */
static bool section_still_fails(const struct mmf_prog *q, const char *sig, void *ctx)
{
	struct cmin_ctx *m = ctx;
	struct mmf_prog saved = *m->section;
	bool fails;

	*m->section = *q;
	fails = cprog_fails(m, sig);
	*m->section = saved;
	return fails;
}

static uint32_t cprog_ops(const struct mmf_cprog *c)
{
	uint32_t n = c->setup.nr_ops;

	for (int t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		n += c->thread[t].nr_ops;
	return n;
}

/* Shorter schedules (halving the tail), then bytes set to 0, one by one. */
static bool shrink_schedule(struct cmin_ctx *m, const char *sig)
{
	struct mmf_cprog *c = m->c;
	bool changed = false;

	for (uint32_t cut = c->sched_len / 2 + 1; c->sched_len && cut;) {
		uint32_t len = c->sched_len;

		c->sched_len = len > cut ? len - cut : 0;
		if (cprog_fails(m, sig)) {
			changed = true;
			continue;
		}
		c->sched_len = len;
		cut /= 2;
	}
	for (uint32_t i = 0; i < c->sched_len; i++) {
		uint8_t b = c->sched[i];

		if (!b)
			continue;
		c->sched[i] = 0;
		if (cprog_fails(m, sig))
			changed = true;
		else
			c->sched[i] = b;
	}
	return changed;
}

void mmf_cprog_minimize(struct mmf_cprog *c, const char *sig, mmf_cmin_pred still_fails,
			void *ctx, unsigned flags, struct mmf_min_stats *st)
{
	struct mmf_min_stats dummy, one;
	struct cmin_ctx m = { .c = c, .pred = still_fails, .ctx = ctx };

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	st->ops_before = cprog_ops(c);
	for (int round = 0; round < 8; round++) {
		uint32_t before = cprog_ops(c);
		bool changed = shrink_schedule(&m, sig);

		for (int s = -1; s < MMF_CPROG_MAX_THREADS; s++) {
			m.section = s < 0 ? &c->setup : &c->thread[s];
			if (!m.section->nr_ops)
				continue;
			mmf_minimize(m.section, sig, section_still_fails, &m, flags, &one);
			st->args_simplified += one.args_simplified;
			changed |= one.args_simplified > 0;
		}
		changed |= cprog_ops(c) != before;
		if (!changed)
			break;
	}
	cprog_fails(&m, sig);	/* nr_threads as the files will say */
	st->ops_after = cprog_ops(c);
	st->runs = m.runs;
}
