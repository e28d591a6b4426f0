/* SPDX-License-Identifier: MIT */
/*
 * mmfuzz/prog.h - programs: sequences of operations, in three forms.
 *
 *  - in memory: struct mmf_prog, an array of struct mmf_op;
 *  - text: one op per line, for people (prog/text.c):
 *        # a comment
 *        file_create 0x4000
 *        mmap p0 0x10000 0x4000 rw- private anon fixed
 *        mmap p0 0 0x2000 r-- shared f0 pgoff=1
 *        write p0 0x10000 0x2a
 *        fork p0
 *    The exact grammar is documented at the top of prog/text.c and in the
 *    README.  Malformed text is rejected with "file:line: what is wrong".
 *  - binary: compact bytes a fuzzer mutates (prog/binary.c).  The decoder
 *    is total: every byte string decodes to a valid program of at most
 *    MMF_PROG_MAX_OPS ops.  Addresses are mostly chosen relative to the
 *    boundaries of earlier ops, so that ops collide.  Text -> binary -> text
 *    round-trips.
 */
#ifndef MMFUZZ_PROG_H
#define MMFUZZ_PROG_H

#include "mm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMF_PROG_MAX_OPS	256

struct mmf_prog {
	uint32_t nr_ops;
	uint32_t cap;
	struct mmf_op *ops;
};

void mmf_prog_init(struct mmf_prog *p);
void mmf_prog_free(struct mmf_prog *p);
/* Append a copy of op; returns -1 if the program already has MMF_PROG_MAX_OPS ops. */
int mmf_prog_append(struct mmf_prog *p, const struct mmf_op *op);
/*
 * Does some op ask for exactly PROT_EXEC (an mmap with that prot, an
 * mprotect to it)?  Only such a program can behave differently in a world
 * with mmf_config.exec_only_pkey (x86 PKU), so the fuzz checks run it in
 * both worlds.
 */
bool mmf_prog_asks_exec_only(const struct mmf_prog *p);

/* ---- text form (prog/text.c) ---- */

/*
 * Parse text.  On error returns -1 and writes "FILE:LINE: message" (FILE is
 * `filename`) into err.  On success returns 0 and appends to *p.
 */
int mmf_prog_parse(struct mmf_prog *p, const char *text, size_t len,
		   const char *filename, char *err, size_t errlen);
/* Write one op as a line of text (no newline) into buf; returns buf. */
char *mmf_op_format(const struct mmf_op *op, char *buf, size_t len);
/* Write the whole program, one op per line. */
void mmf_prog_print(FILE *out, const struct mmf_prog *p);

/* ---- binary form (prog/binary.c) ---- */

enum mmf_decode_mode {
	MMF_DECODE_ANY = 0,	/* everything, including top-down placement */
	MMF_DECODE_KERNEL = 1,	/* the kernel-checkable subset: fixed placement only */
};

/* Total: any bytes give a valid program (possibly empty). */
void mmf_prog_decode(struct mmf_prog *p, const uint8_t *data, size_t size,
		     enum mmf_decode_mode mode);
/* Encode so that mmf_prog_decode gives back the same program.  Returns the
 * number of bytes written (or needed, if larger than cap). */
size_t mmf_prog_encode(const struct mmf_prog *p, uint8_t *out, size_t cap);

/* ---- generation (prog/gen.c) ---- */

/* A random program of nr_ops ops, deterministic in seed. */
void mmf_prog_generate(struct mmf_prog *p, uint64_t seed, uint32_t nr_ops,
		       enum mmf_decode_mode mode);

/* ---- loading (prog/load.c) ---- */

/*
 * Read a program from a file: text if it parses as text, else binary (an
 * input a fuzzer saved).  A file starting with "#mmfuzz" or whose bytes are
 * all printable is treated as text, and then text errors are reported.
 * Returns 0, or -1 with a message in err (text errors as FILE:LINE: ...).
 */
int mmf_prog_load(struct mmf_prog *p, const char *path, char *err, size_t errlen);

/* ---- concurrent programs (prog/cprog.c) ---- */

/*
 * A concurrent program: setup ops run first by one thread, then up to
 * MMF_CPROG_MAX_THREADS threads run their op lists at the same time; for
 * the deterministic scheduler, `sched` holds the schedule bytes that decide
 * the interleaving.  Text form:
 *
 *     # two threads: a fault racing an munmap
 *     mmap p0 0x100000 0x4000 rw- private anon fixed    # setup
 *     thread 0
 *         write p0 0x100000 0x1
 *     thread 1
 *         munmap p0 0x100000 0x1000
 *     schedule 01 00 03 ff
 *
 * Directives: `thread N` (0..3) starts thread N's list (ops before the
 * first one are setup); `schedule HEX...` appends bytes (two hex digits
 * each, spaces optional; may repeat); `disjoint` sets MMF_CPROG_DISJOINT.
 * A sequential program is a concurrent program with no thread.
 *
 * Binary form (total, like the sequential one):
 *     FLAGS  SCHED_LEN(2 bytes LE, mod MMF_CPROG_SCHED_MAX+1)  SCHED...  OPS
 * where OPS is the sequential binary form whose opcode bits 5-7 (ignored by
 * mmf_prog_decode) are a tag: 0 = the same list as the previous op (setup
 * at the start), t = 1..7 = thread (t-1) % 4.  Every list shares one decoder
 * shadow, so threads' addresses collide with each other and with setup.
 */
#define MMF_CPROG_MAX_THREADS	4
#define MMF_CPROG_SCHED_MAX	4096
#define MMF_CPROG_DISJOINT	0x1u	/* race_fuzzer: threads own disjoint ranges */

struct mmf_cprog {
	struct mmf_prog setup;
	uint32_t nr_threads;		/* highest thread with a list + 1 */
	struct mmf_prog thread[MMF_CPROG_MAX_THREADS];
	uint32_t flags;			/* MMF_CPROG_* */
	uint32_t sched_len;
	uint8_t sched[MMF_CPROG_SCHED_MAX];
};

void mmf_cprog_init(struct mmf_cprog *c);
void mmf_cprog_free(struct mmf_cprog *c);
/* Parse text (directives above); -1 with "FILE:LINE: ..." in err. */
int mmf_cprog_parse(struct mmf_cprog *c, const char *text, size_t len,
		    const char *filename, char *err, size_t errlen);
void mmf_cprog_print(FILE *out, const struct mmf_cprog *c);
/* Total decoder; replaces *c's contents. */
void mmf_cprog_decode(struct mmf_cprog *c, const uint8_t *data, size_t size,
		      enum mmf_decode_mode mode);
/* Bytes written (or needed, if more than cap); decodes back to *c. */
size_t mmf_cprog_encode(const struct mmf_cprog *c, uint8_t *out, size_t cap);
/* Text or binary file (as mmf_prog_load decides); 0, or -1 with err. */
int mmf_cprog_load(struct mmf_cprog *c, const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* MMFUZZ_PROG_H */
