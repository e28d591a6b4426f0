/* SPDX-License-Identifier: MIT */
/*
 * tools/repro.h - what `mmfuzz repro` and `mmfuzz minimize` share (defined
 * in tools/cmd_repro.c): choosing the implementations a crash file involves
 * and running a program on them with invariant checks, so that both
 * commands agree on a program's signature.
 */
#ifndef MMFUZZ_TOOLS_REPRO_H
#define MMFUZZ_TOOLS_REPRO_H

#include "cli.h"
#include "diff.h"

struct mmf_repro {
	/* options (mmf_repro_opt) */
	bool kernel;			/* --kernel: reference vs host kernel */
	const char *impl_list;		/* --impl A,B */
	enum mmf_load_format fmt;	/* --text / --binary */
	/* set by mmf_repro_setup */
	enum mmf_decode_mode mode;
	int n;
	const struct mmf_impl *inner[MMF_DIFF_MAX_IMPLS];
};

/*
 * If argv[*i] is one of the shared options (--kernel, --impl, --text,
 * --binary) consume it and return 1; -1 on a usage error; else 0.
 */
int mmf_repro_opt(struct mmf_repro *r, const char *cmd, int argc, char **argv, int *i);
/* Resolve the implementations; returns 0 or an exit status. */
int mmf_repro_setup(struct mmf_repro *r, const char *cmd);
/* "reference vs core" */
const char *mmf_repro_names(const struct mmf_repro *r, char *buf, size_t len);

/*
 * Run p on the implementations (snapshots compared after every op, each
 * implementation's invariant checker run after every op).  Returns true if
 * it fails: sig is then "diff:<op>:<what>", "invariant:<name>" or
 * "error:<what>".  trace (may be NULL) gets every op with every result; if
 * report is non-NULL the first divergence is printed to it.
 */
bool mmf_repro_run(const struct mmf_repro *r, const struct mmf_prog *p, FILE *trace,
		   FILE *report, char *sig, size_t siglen);

/* Usage text of the shared options. */
#define MMF_REPRO_OPTIONS_HELP							\
	"  --kernel           reference against the host kernel (binary input is\n" \
	"                     decoded in kernel mode)\n"				\
	"  --impl A,B         the implementations, the first is the baseline\n"	\
	"                     (default: reference,core)\n"			\
	"  --text, --binary   the file's format (default: detected)\n"

#endif /* MMFUZZ_TOOLS_REPRO_H */
