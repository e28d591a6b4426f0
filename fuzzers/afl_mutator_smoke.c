// SPDX-License-Identifier: MIT
/*
 * fuzzers/afl_mutator_smoke.c - ctest afl_mutator_smoke: load the AFL++
 * custom mutator the way afl-fuzz does (dlopen, dlsym of afl_custom_*) and
 * drive it on every seed of a corpus.
 *
 *   afl_mutator_smoke [--concurrent] MUTATOR.so CORPUS_DIR [ROUNDS]
 *
 * For each seed, ROUNDS (default 200) chained calls of afl_custom_fuzz (each
 * output is the next input), with a second seed as add_buf and max_size
 * cycling through 4096, 512 and 48 bytes.  Every output must
 *   - be at most max_size bytes, in the mutator's buffer, and leave the
 *     input buffer untouched;
 *   - decode (mmf_prog_decode; mmf_cprog_decode with --concurrent, for
 *     sched_fuzzer_mutator.so) to a program whose encoding is exactly the
 *     output: the structure-aware path made it, not random bytes.
 * Over the run most outputs must differ from their input, both kinds of
 * mutation (mutate, crossover) must have happened, and two mutators
 * initialised with the same seed must produce the same outputs.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmfuzz/prog.h"
#include "replay_walk.h"

typedef void *(*init_fn)(void *afl, unsigned int seed);
typedef size_t (*fuzz_fn)(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
			  uint8_t *add_buf, size_t add_buf_size, size_t max_size);
typedef const char *(*describe_fn)(void *data, size_t max_len);
typedef void (*deinit_fn)(void *data);

static init_fn m_init;
static fuzz_fn m_fuzz;
static describe_fn m_describe;
static deinit_fn m_deinit;

struct seed {
	uint8_t *data;
	size_t size;
};

static struct seed *seeds;
static size_t nr_seeds;
static int failures;
static unsigned long outputs, changed, skipped, crossovers, mutations;

#define FAIL(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); fputc('\n', stderr); failures++; } while (0)

static void add_seed(const char *path, void *ctx)
{
	FILE *f = fopen(path, "rb");
	struct seed s = { malloc(1 << 16), 0 };

	(void)ctx;
	if (!f || !s.data) {
		FAIL("%s: cannot read", path);
		if (f)
			fclose(f);
		free(s.data);
		return;
	}
	s.size = fread(s.data, 1, 1 << 16, f);
	fclose(f);
	seeds = realloc(seeds, (nr_seeds + 1) * sizeof(*seeds));
	seeds[nr_seeds++] = s;
}

static bool concurrent;	/* the outputs are concurrent programs */

/* ops in the program out decodes to, with its canonical encoding in again */
static uint32_t decode_encode(const uint8_t *out, size_t n, uint8_t *again, size_t cap,
			      size_t *m)
{
	static struct mmf_cprog c;	/* large (the schedule): not on the stack */
	struct mmf_prog p;
	uint32_t ops;

	if (concurrent) {
		mmf_cprog_decode(&c, out, n, MMF_DECODE_ANY);
		*m = mmf_cprog_encode(&c, again, cap);
		ops = c.setup.nr_ops;
		for (int t = 0; t < MMF_CPROG_MAX_THREADS; t++)
			ops += c.thread[t].nr_ops;
		return ops;
	}
	mmf_prog_init(&p);
	mmf_prog_decode(&p, out, n, MMF_DECODE_ANY);
	*m = mmf_prog_encode(&p, again, cap);
	ops = p.nr_ops;
	mmf_prog_free(&p);
	return ops;
}

/* out must be the canonical encoding of the program it decodes to */
static void check_output(const char *what, const uint8_t *out, size_t n)
{
	static uint8_t again[1 << 16];
	size_t m;
	uint32_t ops = decode_encode(out, n, again, sizeof(again), &m);

	if (ops == 0)
		FAIL("%s: %zu bytes decode to an empty program", what, n);
	else if (m != n || memcmp(again, out, n) != 0)
		FAIL("%s: %zu bytes are not the encoding of the %u-op program they decode to "
		     "(re-encoded: %zu bytes)", what, n, ops, m);
}

static void run_seed(void *mut, size_t i, unsigned rounds)
{
	static const size_t max_sizes[] = { 4096, 512, 48 };
	static uint8_t cur[4096], copy[4096];
	size_t len = seeds[i].size < sizeof(cur) ? seeds[i].size : sizeof(cur);
	const struct seed *other = &seeds[(i + 1) % nr_seeds];

	memcpy(cur, seeds[i].data, len);
	for (unsigned r = 0; r < rounds; r++) {
		size_t max = max_sizes[r % 3], n;
		uint8_t *out = NULL;
		char what[64];
		const char *desc;

		snprintf(what, sizeof(what), "seed %zu round %u", i, r);
		memcpy(copy, cur, len);
		n = m_fuzz(mut, cur, len, &out, other->data, other->size, max);
		desc = m_describe ? m_describe(mut, 64) : "";
		if (memcmp(copy, cur, len) != 0)
			FAIL("%s: the input buffer was modified", what);
		if (n > max) {
			FAIL("%s: %zu bytes returned, max_size %zu", what, n, max);
			continue;
		}
		if (n == 0) {
			skipped++;
			continue;
		}
		if (!out) {
			FAIL("%s: %zu bytes but no out_buf", what, n);
			continue;
		}
		outputs++;
		if (!strcmp(desc, "mmf-crossover"))
			crossovers++;
		else if (!strcmp(desc, "mmf-mutate"))
			mutations++;
		else
			FAIL("%s: afl_custom_describe says '%s'", what, desc);
		check_output(what, out, n);
		if (n != len || memcmp(out, cur, n) != 0)
			changed++;
		memcpy(cur, out, n);	/* chain: mutate the mutant */
		len = n;
	}
}

/* Two mutators with the same seed give the same outputs. */
static void check_deterministic(void)
{
	void *a = m_init(NULL, 42), *b = m_init(NULL, 42);
	uint8_t *oa, *ob;

	for (size_t i = 0; i < nr_seeds; i++) {
		const struct seed *s = &seeds[i], *t = &seeds[(i + 3) % nr_seeds];
		size_t na = m_fuzz(a, s->data, s->size, &oa, t->data, t->size, 4096);
		size_t nb = m_fuzz(b, s->data, s->size, &ob, t->data, t->size, 4096);

		if (na != nb || (na && memcmp(oa, ob, na) != 0))
			FAIL("seed %zu: two mutators seeded alike differ", i);
	}
	m_deinit(a);
	m_deinit(b);
}

int main(int argc, char **argv)
{
	unsigned rounds;
	void *so, *mut;

	if (argc > 1 && strcmp(argv[1], "--concurrent") == 0) {
		concurrent = true;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	rounds = argc > 3 ? (unsigned)atoi(argv[3]) : 200;
	if (argc < 3) {
		fprintf(stderr, "usage: %s [--concurrent] MUTATOR.so CORPUS_DIR [ROUNDS]\n", argv[0]);
		return 2;
	}
	so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
		return 1;
	}
	m_init = (init_fn)dlsym(so, "afl_custom_init");
	m_fuzz = (fuzz_fn)dlsym(so, "afl_custom_fuzz");
	m_describe = (describe_fn)dlsym(so, "afl_custom_describe");
	m_deinit = (deinit_fn)dlsym(so, "afl_custom_deinit");
	if (!m_init || !m_fuzz || !m_deinit || !m_describe) {
		fprintf(stderr, "FAIL: %s lacks afl_custom_init/fuzz/describe/deinit\n", argv[1]);
		return 1;
	}
	/* the adapter exports the AFL++ interface only */
	if (dlsym(so, "mmf_prog_decode") || dlsym(so, "LLVMFuzzerCustomMutator"))
		FAIL("%s exports internal symbols (they could clash inside afl-fuzz)", argv[1]);
	if (mmf_replay_walk(argv[2], add_seed, NULL) != 0 || nr_seeds == 0) {
		fprintf(stderr, "FAIL: no seeds in %s\n", argv[2]);
		return 1;
	}
	mut = m_init(NULL, 1);
	if (!mut) {
		fprintf(stderr, "FAIL: afl_custom_init returned NULL\n");
		return 1;
	}
	for (size_t i = 0; i < nr_seeds; i++)
		run_seed(mut, i, rounds);
	m_deinit(mut);
	check_deterministic();

	printf("%zu seeds x %u rounds: %lu outputs (%lu mutate, %lu crossover), %lu changed, "
	       "%lu skipped (0 returned)\n", nr_seeds, rounds, outputs, mutations, crossovers,
	       changed, skipped);
	if (outputs < nr_seeds * rounds / 2)
		FAIL("only %lu of %zu calls produced an output", outputs, nr_seeds * rounds);
	if (changed < outputs * 3 / 4)
		FAIL("only %lu of %lu outputs differ from their input", changed, outputs);
	if (!crossovers || !mutations)
		FAIL("not both kinds of mutation happened");
	for (size_t i = 0; i < nr_seeds; i++)
		free(seeds[i].data);
	free(seeds);
	/* no dlclose (afl-fuzz does none): the concurrent mutator keeps its two
	 * programs in statics, which LeakSanitizer calls leaks once unmapped */
	(void)so;
	printf("%s\n", failures ? "FAILED" : "OK");
	return failures ? 1 : 0;
}
