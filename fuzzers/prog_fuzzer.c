// SPDX-License-Identifier: MIT
/*
 * fuzzers/prog_fuzzer.c - the fuzz target of the program language's own
 * parsers and codecs (prog/text.c, prog/cprog.c, prog/binary.c): any bytes
 * are tried as a sequential text program, as a concurrent text program and
 * as the binary forms of both, and every form must round-trip:
 *
 *   text        parse -> print -> parse gives the same program, and the
 *               second print the same text (the printer's text is canonical)
 *   binary      decode -> encode -> decode gives the same program, and the
 *               second encode the same bytes; the decoded program
 *               round-trips through text as well
 *
 * (sequential and concurrent alike).  A text that does not parse is fine: its
 * error is the parser's business (tests/test_prog.c checks the messages).  A
 * failure prints the input's program and "mmfuzz: invariant:roundtrip:<form>"
 * and aborts; prog_replay (no engine) runs the same check on files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "prog_ext.h"

/* the largest encoding of a program: MMF_PROG_MAX_OPS ops of a few dozen bytes */
#define ENCODED_MAX	(1u << 20)

static uint8_t enc_a[ENCODED_MAX], enc_b[ENCODED_MAX];

static char *prog_text(const struct mmf_prog *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	mmf_prog_print(f, p);
	fclose(f);
	return buf;
}

static char *cprog_text(const struct mmf_cprog *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	mmf_cprog_print(f, c);
	fclose(f);
	return buf;
}

static int fail_with(struct mmf_fuzz_fail *fail, const char *form, const char *why,
		     FILE *report)
{
	snprintf(fail->sig, sizeof(fail->sig), "invariant:roundtrip:%s", form);
	fail->op = -1;
	if (report)
		fprintf(report, "%s: %s\n", form, why);
	return 1;
}

/* p (parsed or decoded) prints, and its text parses back to p and prints the same */
static int check_text(const struct mmf_prog *p, const char *form, struct mmf_fuzz_fail *fail,
		      FILE *report)
{
	static struct mmf_prog q;
	char err[512];
	size_t n1, n2;
	char *t1 = prog_text(p, &n1), *t2 = NULL;
	int ret = 0;

	if (mmf_prog_parse(&q, t1, n1, "<printed>", err, sizeof(err)))
		ret = fail_with(fail, form, err, report);
	else if (!mmf_prog_equal(p, &q))
		ret = fail_with(fail, form, "the printed program parses to another one", report);
	else if (t2 = prog_text(&q, &n2), n1 != n2 || memcmp(t1, t2, n1))
		ret = fail_with(fail, form, "printing the reparsed program gives another text",
				report);
	if (ret && report)
		fprintf(report, "printed:\n%s", t1);
	free(t1);
	free(t2);
	q.nr_ops = 0;
	return ret;
}

static int check_ctext(const struct mmf_cprog *c, const char *form, struct mmf_fuzz_fail *fail,
		       FILE *report)
{
	static struct mmf_cprog d;
	char err[512];
	size_t n1, n2;
	char *t1 = cprog_text(c, &n1), *t2 = NULL;
	int ret = 0;

	if (mmf_cprog_parse(&d, t1, n1, "<printed>", err, sizeof(err)))
		ret = fail_with(fail, form, err, report);
	else if (!mmf_cprog_equal(c, &d))
		ret = fail_with(fail, form, "the printed program parses to another one", report);
	else if (t2 = cprog_text(&d, &n2), n1 != n2 || memcmp(t1, t2, n1))
		ret = fail_with(fail, form, "printing the reparsed program gives another text",
				report);
	if (ret && report)
		fprintf(report, "printed:\n%s", t1);
	free(t1);
	free(t2);
	return ret;
}

static int check_binary(const struct mmf_prog *p, enum mmf_decode_mode mode,
			struct mmf_fuzz_fail *fail, FILE *report)
{
	static struct mmf_prog q;
	size_t a = mmf_prog_encode(p, enc_a, sizeof(enc_a)), b;

	if (a > sizeof(enc_a))
		return fail_with(fail, "binary", "encoding larger than ENCODED_MAX", report);
	mmf_prog_decode(&q, enc_a, a, mode);
	if (!mmf_prog_equal(p, &q))
		return fail_with(fail, "binary", "decode(encode(p)) != p", report);
	b = mmf_prog_encode(&q, enc_b, sizeof(enc_b));
	if (a != b || memcmp(enc_a, enc_b, a))
		return fail_with(fail, "binary", "encode(decode(encode(p))) != encode(p)", report);
	return 0;
}

static int check_cbinary(const struct mmf_cprog *c, struct mmf_fuzz_fail *fail, FILE *report)
{
	static struct mmf_cprog d;
	size_t a = mmf_cprog_encode(c, enc_a, sizeof(enc_a)), b;

	if (a > sizeof(enc_a))
		return fail_with(fail, "cbinary", "encoding larger than ENCODED_MAX", report);
	mmf_cprog_decode(&d, enc_a, a, MMF_DECODE_ANY);
	if (!mmf_cprog_equal(c, &d))
		return fail_with(fail, "cbinary", "decode(encode(c)) != c", report);
	b = mmf_cprog_encode(&d, enc_b, sizeof(enc_b));
	if (a != b || memcmp(enc_a, enc_b, a))
		return fail_with(fail, "cbinary", "encode(decode(encode(c))) != encode(c)",
				 report);
	return 0;
}

int mmf_prog_fuzz_check(const uint8_t *data, size_t size, struct mmf_fuzz_fail *fail,
			FILE *report)
{
	static struct mmf_prog p;
	static struct mmf_cprog c;
	char err[512];

	p.nr_ops = 0;	/* the parser appends */
	if (mmf_prog_parse(&p, (const char *)data, size, "<input>", err, sizeof(err)) == 0 &&
	    check_text(&p, "text", fail, report))
		return 1;
	p.nr_ops = 0;
	if (mmf_cprog_parse(&c, (const char *)data, size, "<input>", err, sizeof(err)) == 0 &&
	    check_ctext(&c, "ctext", fail, report))
		return 1;
	for (int mode = MMF_DECODE_ANY; mode <= MMF_DECODE_KERNEL; mode++) {
		mmf_prog_decode(&p, data, size, (enum mmf_decode_mode)mode);
		if (check_binary(&p, (enum mmf_decode_mode)mode, fail, report) ||
		    check_text(&p, "binary-text", fail, report))
			return 1;
	}
	mmf_cprog_decode(&c, data, size, MMF_DECODE_ANY);
	if (check_cbinary(&c, fail, report) || check_ctext(&c, "cbinary-text", fail, report))
		return 1;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mmf_fuzz_stats_init();
	mmf_fuzz_is_ignored("");	/* reads MMF_FUZZ_IGNORE now, not at the first failure */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmf_fuzz_fail fail;

	mmf_fuzz_stats_tick(0);
	if (!mmf_prog_fuzz_check(data, size, &fail, stderr) || mmf_fuzz_is_ignored(fail.sig))
		return 0;
	fprintf(stderr, "mmfuzz: %s\n", fail.sig);
	abort();
}
