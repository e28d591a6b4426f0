// SPDX-License-Identifier: MIT
/*
 * fuzzers/cprog_mutator.c - the structure-aware mutator of the concurrent
 * targets (sched_fuzzer, race_fuzzer).  LLVMFuzzerCustomMutator decodes the
 * input with the targets' own total decoder (mmf_cprog_decode), makes one
 * to three edits and encodes it back:
 *
 *   - one list (the setup or a thread) edited by mmf_fuzz_mutate_prog
 *     (mutate_prog.c: insert, delete, duplicate, move, splice, tweak);
 *   - one op moved from one list to another (a new thread included);
 *   - sched_fuzzer only (mmf_cprog_mutates_schedule), the schedule bytes of
 *     core/sync_sched.c (b & 7: which candidate runs next, b >> 3: for how
 *     many points): a preemption inserted at a chosen depth (zero bytes,
 *     which keep the running fiber, then one byte that switches), one byte
 *     or one of its two fields changed, a few bytes deleted, the schedule
 *     cut short.
 *
 * Growing the schedule is what byte-level mutation almost never does: its
 * length is in the header, so libFuzzer would have to change the length and
 * insert the bytes in one step; with the shipped seeds (no schedule line:
 * round-robin) the fuzzer then hardly leaves round-robin.  One call in five,
 * or when nothing can be encoded, goes to LLVMFuzzerMutate (weak).
 * LLVMFuzzerCustomCrossOver takes one program and replaces one of its lists,
 * or its schedule, by the other's.
 */
#include <string.h>

#include "fuzz.h"
#include "prog_ext.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
				 uint8_t *out, size_t max_out, unsigned int seed);

#define below mmf_fuzz_below
#define NR_LISTS	(1 + MMF_CPROG_MAX_THREADS)	/* the setup, then each thread */

static struct mmf_prog *list(struct mmf_cprog *c, unsigned i)
{
	return i == 0 ? &c->setup : &c->thread[i - 1];
}

/* ---- the schedule -------------------------------------------------------- */

static void sched_insert(struct mmf_cprog *c, uint32_t at, const uint8_t *b, uint32_t n)
{
	if (c->sched_len + n > MMF_CPROG_SCHED_MAX)
		n = MMF_CPROG_SCHED_MAX - c->sched_len;
	if (at > c->sched_len)
		at = c->sched_len;
	memmove(&c->sched[at + n], &c->sched[at], c->sched_len - at);
	memcpy(&c->sched[at], b, n);
	c->sched_len += n;
}

/* A byte that switches: candidate 1..7 (not the running one), any run. */
static uint8_t switch_byte(uint64_t *s)
{
	return (uint8_t)((1 + below(s, 7)) | below(s, 32) << 3);
}

static void mutate_schedule(struct mmf_cprog *c, uint64_t *s)
{
	uint32_t n = c->sched_len, at = (uint32_t)below(s, n + 1);
	uint8_t b[24];

	switch (n ? below(s, 6) : 0) {
	case 0:
	case 1: {	/* a preemption after a few more points of the same fiber */
		uint32_t zeros = (uint32_t)below(s, below(s, 4) ? 8 : 24);

		memset(b, 0, zeros);
		b[zeros] = switch_byte(s);
		sched_insert(c, at, b, zeros + 1);
		break;
	}
	case 2:		/* one byte anew */
		c->sched[below(s, n)] = below(s, 2) ? switch_byte(s) : (uint8_t)below(s, 256);
		break;
	case 3: {	/* one field of one byte: the candidate or the run length */
		uint8_t *p = &c->sched[below(s, n)];

		if (below(s, 2))
			*p = (uint8_t)((*p & ~7u) | below(s, 8));
		else
			*p = (uint8_t)((*p & 7u) | below(s, 32) << 3);
		break;
	}
	case 4: {	/* delete a few bytes */
		uint32_t from = (uint32_t)below(s, n), k = 1 + (uint32_t)below(s, 4);

		if (k > n - from)
			k = n - from;
		memmove(&c->sched[from], &c->sched[from + k], n - from - k);
		c->sched_len -= k;
		break;
	}
	default:	/* cut short */
		c->sched_len = (uint32_t)below(s, n);
		break;
	}
}

/* ---- the lists ------------------------------------------------------------- */

static void move_op(struct mmf_cprog *c, uint64_t *s)
{
	unsigned from = (unsigned)below(s, NR_LISTS), to = (unsigned)below(s, NR_LISTS);
	struct mmf_prog *f = list(c, from), *t = list(c, to);
	uint32_t i;
	struct mmf_op op;

	if (!f->nr_ops || from == to)
		return;
	i = (uint32_t)below(s, f->nr_ops);
	op = f->ops[i];
	memmove(&f->ops[i], &f->ops[i + 1], (f->nr_ops - i - 1) * sizeof(op));
	f->nr_ops--;
	mmf_prog_append(t, &op);
}

/* The setup one time in four, else a thread that has ops or the next one. */
static unsigned pick_list(const struct mmf_cprog *c, uint64_t *s)
{
	unsigned t;

	if (below(s, 4) == 0)
		return 0;
	t = (unsigned)below(s, c->nr_threads + 1);
	return 1 + (t < MMF_CPROG_MAX_THREADS ? t : MMF_CPROG_MAX_THREADS - 1);
}

static void mutate_cprog(struct mmf_cprog *c, uint64_t *s)
{
	unsigned r = (unsigned)below(s, 10);

	if (mmf_cprog_mutates_schedule && r < 4)
		mutate_schedule(c, s);
	else if (r == 4)
		move_op(c, s);
	else if (r == 5 && below(s, 8) == 0)
		c->flags ^= MMF_CPROG_DISJOINT;
	else
		mmf_fuzz_mutate_prog(list(c, pick_list(c, s)), s);
	mmf_cprog_count_threads(c);
}

/* Encode c into out, shortening the schedule, then the longest list, until
 * it fits; 0 if nothing fits or no op is left (an empty program runs
 * nothing: the engine skips the mutation, as it does for diff_fuzzer's,
 * whose empty program encodes to no bytes). */
static size_t encode_fit(struct mmf_cprog *c, uint8_t *out, size_t max)
{
	for (;;) {
		size_t need = mmf_cprog_encode(c, out, max);
		struct mmf_prog *longest = NULL;

		for (unsigned i = 0; i < NR_LISTS; i++)
			if (!longest || list(c, i)->nr_ops > longest->nr_ops)
				longest = list(c, i);
		if (!longest->nr_ops)
			return 0;
		if (need <= max)
			return need;
		if (c->sched_len) {
			c->sched_len /= 2;
			continue;
		}
		longest->nr_ops--;
	}
}

/* ---- libFuzzer's entry points --------------------------------------------- */

static struct mmf_cprog ca, cb;	/* large (the schedule): not on the stack */

static void init_once(void)
{
	static bool done;

	if (!done) {
		mmf_cprog_init(&ca);
		mmf_cprog_init(&cb);
		done = true;
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint64_t s = seed;
	size_t out;

	if (LLVMFuzzerMutate && below(&s, 5) == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	init_once();
	mmf_cprog_decode(&ca, data, size, MMF_DECODE_ANY);
	for (uint64_t k = 1 + below(&s, 3); k; k--)
		mutate_cprog(&ca, &s);
	out = encode_fit(&ca, data, max_size);
	if (out == 0 && LLVMFuzzerMutate)
		return LLVMFuzzerMutate(data, size, max_size);
	return out;
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
				 uint8_t *out, size_t max_out, unsigned int seed)
{
	uint64_t s = seed;
	unsigned i = (unsigned)below(&s, NR_LISTS + 1);

	init_once();
	mmf_cprog_decode(&ca, d1, s1, MMF_DECODE_ANY);
	mmf_cprog_decode(&cb, d2, s2, MMF_DECODE_ANY);
	if (i == NR_LISTS) {
		memcpy(ca.sched, cb.sched, cb.sched_len);
		ca.sched_len = cb.sched_len;
	} else {
		struct mmf_prog *to = list(&ca, i), *from = list(&cb, i);

		to->nr_ops = 0;
		for (uint32_t k = 0; k < from->nr_ops; k++)
			mmf_prog_append(to, &from->ops[k]);
		mmf_cprog_count_threads(&ca);
	}
	return encode_fit(&ca, out, max_out);
}
