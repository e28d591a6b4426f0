// SPDX-License-Identifier: MIT
/*
 * fuzzers/afl_mutator.c - the AFL++ custom mutator for the program fuzzers
 * (diff_fuzzer_mutator.so, built by afl_mutator.cmake).
 *
 * A thin adapter from AFL++'s custom-mutator interface (afl_custom_init /
 * afl_custom_fuzz / afl_custom_describe / afl_custom_deinit, see AFL++'s
 * docs/custom_mutators.md) to the structure-aware mutator libFuzzer uses,
 * mutator.c: there is one implementation.  Each afl_custom_fuzz call is
 *
 *   - one call in four, when AFL++ hands us a second queue entry (add_buf):
 *     LLVMFuzzerCustomCrossOver, a prefix of one program joined with a
 *     suffix of the other;
 *   - otherwise LLVMFuzzerCustomMutator: decode, 1-3 program edits (insert,
 *     delete, duplicate, move, splice ops, change an op's kind or one
 *     argument), encode.  Its byte-level fallback (LLVMFuzzerMutate) is
 *     libFuzzer's and absent here: AFL++'s own havoc stage, which still
 *     runs after ours (AFL_CUSTOM_MUTATOR_ONLY unset), does byte mutations.
 *
 * Every output is the canonical encoding of a program (mmf_prog_encode) of
 * at most max_size bytes; 0 (nothing fits, or the program became empty)
 * tells AFL++ to skip the mutation.  The mutator is deterministic in the
 * seed afl_custom_init is given.  Use:
 *
 *   AFL_CUSTOM_MUTATOR_LIBRARY=build/afl/fuzzers/diff_fuzzer_mutator.so afl-fuzz ...
 *
 * (scripts/campaign.sh --engine afl sets it).  The library is loaded into
 * afl-fuzz itself, so it is built without coverage instrumentation and
 * exports nothing but the afl_custom_* functions.  ctest: afl_mutator_smoke.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define EXPORT __attribute__((visibility("default")))

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
				 uint8_t *out, size_t max_out, unsigned int seed);

struct afl_mutator {
	uint64_t rng;
	uint8_t *buf;		/* the output: AFL++ reads it until our next call */
	size_t cap;
	const char *last;	/* what the last call did, for afl_custom_describe */
};

static uint32_t next_seed(struct afl_mutator *m)
{
	/* splitmix64 */
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)(z ^ (z >> 31));
}

EXPORT void *afl_custom_init(void *afl, unsigned int seed);
EXPORT size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
			      uint8_t *add_buf, size_t add_buf_size, size_t max_size);
EXPORT const char *afl_custom_describe(void *data, size_t max_description_len);
EXPORT void afl_custom_deinit(void *data);

void *afl_custom_init(void *afl, unsigned int seed)
{
	struct afl_mutator *m = calloc(1, sizeof(*m));

	(void)afl;
	if (!m)
		return NULL;
	m->rng = 0x6d6d667a61666cULL ^ seed;
	m->last = "mmf";
	return m;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
		       uint8_t *add_buf, size_t add_buf_size, size_t max_size)
{
	struct afl_mutator *m = data;
	size_t need = buf_size > max_size ? buf_size : max_size, n;
	uint32_t seed = next_seed(m);

	*out_buf = NULL;
	if (need > m->cap) {
		uint8_t *b = realloc(m->buf, need);

		if (!b)
			return 0;
		m->buf = b;
		m->cap = need;
	}
	if (add_buf && add_buf_size && seed % 4 == 0) {
		m->last = "mmf-crossover";
		n = LLVMFuzzerCustomCrossOver(buf, buf_size, add_buf, add_buf_size, m->buf,
					      max_size, next_seed(m));
	} else {
		/* the libFuzzer hook mutates in place: give it a copy */
		m->last = "mmf-mutate";
		if (buf_size)
			memcpy(m->buf, buf, buf_size);
		n = LLVMFuzzerCustomMutator(m->buf, buf_size, max_size, next_seed(m));
	}
	if (n > max_size)	/* cannot happen (encode_fit); never hand AFL++ more */
		n = 0;
	*out_buf = m->buf;
	return n;
}

const char *afl_custom_describe(void *data, size_t max_description_len)
{
	struct afl_mutator *m = data;

	return strlen(m->last) <= max_description_len ? m->last : "";
}

void afl_custom_deinit(void *data)
{
	struct afl_mutator *m = data;

	if (!m)
		return;
	free(m->buf);
	free(m);
}
