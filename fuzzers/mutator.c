// SPDX-License-Identifier: MIT
/*
 * fuzzers/mutator.c - diff_fuzzer's structure-aware mutator.
 *
 * LLVMFuzzerCustomMutator decodes the input (the same total decoder the
 * target uses), edits the program (mmf_fuzz_mutate_prog,
 * mutate_prog.c: insert, delete, duplicate, move or splice ops, change one
 * argument to a value that makes ops collide) and encodes it back.  One
 * call in five, or when the edit cannot be encoded, it falls back to libFuzzer's own byte mutations (LLVMFuzzerMutate, weak:
 * absent under engines that do not provide it).
 * LLVMFuzzerCustomCrossOver joins a prefix of one program with a suffix of
 * another.
 */
#include "fuzz.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
				 uint8_t *out, size_t max_out, unsigned int seed);

#define below mmf_fuzz_below
#define encode_fit mmf_fuzz_encode_fit

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint64_t s = seed;
	struct mmf_prog p;
	size_t out;

	if (LLVMFuzzerMutate && below(&s, 5) == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	mmf_prog_init(&p);
	mmf_prog_decode(&p, data, size, MMF_DECODE_ANY);
	for (uint64_t k = 1 + below(&s, 3); k; k--)
		mmf_fuzz_mutate_prog(&p, &s);
	out = encode_fit(&p, data, max_size);
	mmf_prog_free(&p);
	if (out == 0 && LLVMFuzzerMutate)
		return LLVMFuzzerMutate(data, size, max_size);
	return out;
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
				 uint8_t *out, size_t max_out, unsigned int seed)
{
	uint64_t s = seed;
	struct mmf_prog a, b;
	uint32_t cut_a, cut_b;
	size_t n;

	mmf_prog_init(&a);
	mmf_prog_init(&b);
	mmf_prog_decode(&a, d1, s1, MMF_DECODE_ANY);
	mmf_prog_decode(&b, d2, s2, MMF_DECODE_ANY);
	cut_a = (uint32_t)below(&s, a.nr_ops + 1);
	cut_b = (uint32_t)below(&s, b.nr_ops + 1);
	a.nr_ops = cut_a;
	for (uint32_t i = cut_b; i < b.nr_ops; i++)
		if (mmf_prog_append(&a, &b.ops[i]) < 0)
			break;
	n = encode_fit(&a, out, max_out);
	mmf_prog_free(&a);
	mmf_prog_free(&b);
	return n;
}
