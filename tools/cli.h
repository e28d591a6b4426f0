/* SPDX-License-Identifier: MIT */
/*
 * tools/cli.h - what the `mmfuzz` subcommands share.
 *
 * Adding a subcommand: write tools/cmd_NAME.c defining
 *     const struct mmf_cmd mmf_cmd_NAME = { "NAME", "one-line summary", main };
 * and add X(NAME) to MMF_CLI_COMMANDS below (the order is the --help order).
 * tools/CMakeLists.txt compiles every tools/cmd_*.c.
 *
 * Exit status of every command: 0 ok; 2 usage error or malformed program
 * (the message is "FILE:LINE: ..."); 1 any other failure.
 */
#ifndef MMFUZZ_TOOLS_CLI_H
#define MMFUZZ_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mmfuzz/mm.h"
#include "prog_ext.h"

#define MMF_CLI_COMMANDS(X)	\
	X(run)			\
	X(fmt)			\
	X(asm)			\
	X(gen)			\
	X(diff)			\
	X(repro)		\
	X(minimize)		\
	X(conform)		\
	X(expect)

struct mmf_cmd {
	const char *name;
	const char *summary;
	/* argv[0] is the subcommand name; returns the exit status */
	int (*main)(int argc, char **argv);
};

#define MMF_CLI_DECLARE(name) extern const struct mmf_cmd mmf_cmd_##name;
MMF_CLI_COMMANDS(MMF_CLI_DECLARE)
#undef MMF_CLI_DECLARE

enum { MMF_EXIT_OK = 0, MMF_EXIT_FAIL = 1, MMF_EXIT_USAGE = 2 };

/* "mmfuzz CMD: message" and a hint to --help on stderr; returns MMF_EXIT_USAGE. */
int mmf_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Option scanning.  For "--name VALUE" and "--name=VALUE": if argv[*i]
 * matches, sets *value (consuming the next argument when needed) and returns
 * 1; returns -1 (after a usage message) if the value is missing; else 0.
 */
int mmf_cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
		      const char **value);
/* Parse a decimal or 0x number; -1 (after a usage message) if it is not one. */
int mmf_cli_number(const char *cmd, const char *opt, const char *s, uint64_t *out);
bool mmf_cli_is_help(const char *arg);

/*
 * Load a program with mmf_prog_load_as; on failure prints the message and
 * returns MMF_EXIT_USAGE for a malformed program, MMF_EXIT_FAIL when the
 * file cannot be read.  Returns 0 on success.
 */
int mmf_cli_load(const char *cmd, struct mmf_prog *p, const char *path,
		 enum mmf_load_format fmt, enum mmf_decode_mode mode);

/*
 * fmt/asm of a concurrent program (<mmfuzz/prog.h> struct mmf_cprog, text
 * or binary, detected): out == NULL prints the text to stdout, else the
 * binary form is written to out.  Returns an exit status.
 */
int mmf_cli_concurrent(const char *cmd, const char *path, const char *out);

/* Write len bytes to the file out ('-': stdout); returns an exit status. */
int mmf_cli_write(const char *cmd, const char *out, const void *data, size_t len);

/* ---- implementations, by name (tools/impls.c) ---- */

/* NULL if unknown (or not built). */
const struct mmf_impl *mmf_cli_impl(const char *name);
/* "reference, core, kernel" */
void mmf_cli_impl_names(char *buf, size_t len);

#endif /* MMFUZZ_TOOLS_CLI_H */
