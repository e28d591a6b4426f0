/* SPDX-License-Identifier: MIT */
/*
 * prog/prog_ext.h - additions to <mmfuzz/prog.h> owned by prog/: helpers
 * the CLI, the fuzzers and the tests share, kept out of the public header.
 * (Targets linking mmf_prog get this directory on their include path.)
 */
#ifndef MMFUZZ_PROG_EXT_H
#define MMFUZZ_PROG_EXT_H

#include "mmfuzz/prog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A buffer this large always holds mmf_op_format's output. */
#define MMF_OP_TEXT_MAX		1024
/* Program files larger than this are rejected by mmf_prog_load. */
#define MMF_PROG_FILE_MAX	(16u << 20)
/* Largest handle (pN, fN) the text and binary forms can express. */
#define MMF_HANDLE_MAX		255

/* Field-wise equality of two ops / programs (name compared as a string). */
bool mmf_op_equal(const struct mmf_op *a, const struct mmf_op *b);
bool mmf_prog_equal(const struct mmf_prog *a, const struct mmf_prog *b);
/* same setup, threads, schedule and flags */
bool mmf_cprog_equal(const struct mmf_cprog *a, const struct mmf_cprog *b);

/*
 * The results a program's text expects (prog/text.c): an op line may end in
 * "= RESULT", RESULT spelt exactly as mmf_res_str() prints it (`mmfuzz run`
 * output is such a program).  res[i] is "" where op i expects nothing.
 */
#define MMF_EXPECT_TEXT_MAX	32
struct mmf_expect {
	uint32_t nr_ops;
	uint32_t nr_expected;			/* ops with an expectation */
	uint32_t line[MMF_PROG_MAX_OPS];	/* the line of op i */
	char res[MMF_PROG_MAX_OPS][MMF_EXPECT_TEXT_MAX];
};

/* mmf_prog_parse that also keeps the expectations (ex may be NULL). */
int mmf_prog_parse_expect(struct mmf_prog *p, struct mmf_expect *ex, const char *text,
			  size_t len, const char *filename, char *err, size_t errlen);
/* A text program and its expectations; 0, -1 unreadable, -2 malformed. */
int mmf_prog_load_expect(struct mmf_prog *p, struct mmf_expect *ex, const char *path,
			 char *err, size_t errlen);

enum mmf_load_format {
	MMF_LOAD_AUTO = 0,	/* text if it looks like text, else binary */
	MMF_LOAD_TEXT,
	MMF_LOAD_BINARY,
};

/*
 * mmf_prog_load with the format forced (or auto) and the decoder mode for
 * binary input (mmf_prog_load is AUTO + MMF_DECODE_ANY).  Replaces *p's ops.
 * Returns 0; -1 if the file cannot be read (or is larger than
 * MMF_PROG_FILE_MAX); -2 if it is malformed text ("FILE:LINE: ..." in err).
 */
int mmf_prog_load_as(struct mmf_prog *p, const char *path, enum mmf_load_format fmt,
		     enum mmf_decode_mode mode, char *err, size_t errlen);

/* Set c->nr_threads after its lists changed: the highest thread with ops,
 * plus one. */
void mmf_cprog_count_threads(struct mmf_cprog *c);

/* mmf_cprog_load with the format forced (or auto): a crash file whose bytes
 * happen to look like text is still a raw input.  0, or -1 with err. */
int mmf_cprog_load_as(struct mmf_cprog *c, const char *path, enum mmf_load_format fmt,
		      char *err, size_t errlen);

/* The opcode byte mmf_prog_encode writes for an op kind (see prog/binary.c). */
uint8_t mmf_prog_opcode(enum mmf_op_kind kind);

/*
 * The binary form with a 3-bit tag per op (bits 5-7 of its opcode byte,
 * which mmf_prog_decode ignores): concurrent programs say with it which
 * thread an op belongs to (prog/cprog.c).  tags has MMF_PROG_MAX_OPS
 * entries (decode) or one per op (encode); NULL: all 0.
 */
void mmf_prog_decode_tagged(struct mmf_prog *p, const uint8_t *data, size_t size,
			    enum mmf_decode_mode mode, uint8_t *tags);
size_t mmf_prog_encode_tagged(const struct mmf_prog *p, const uint8_t *tags,
			      uint8_t *out, size_t cap);

/*
 * Read a whole file (at most MMF_PROG_FILE_MAX bytes) into a malloc'd
 * buffer; 0, or -1 with "PATH: why" in err.  *text: whether it looks like
 * the text form (see prog/load.c).
 */
int mmf_file_read(const char *path, uint8_t **buf, size_t *len, bool *text,
		  char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* MMFUZZ_PROG_EXT_H */
