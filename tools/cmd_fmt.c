// SPDX-License-Identifier: MIT
/*
 * tools/cmd_fmt.c - `mmfuzz fmt`: a program (binary or text) as canonical text.
 */
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mmfuzz fmt [OPTIONS] FILE\n"
		"\n"
		"Print a program - a text program or a binary fuzz input - as canonical text,\n"
		"one op per line, on stdout.\n"
		"\n"
		"options:\n"
		"  --text, --binary   the file's format (default: detected; a fuzz input whose\n"
		"                     bytes are all printable needs --binary)\n"
		"  --kernel           decode binary input in kernel mode, as the kernel-checkable\n"
		"                     fuzz targets do\n"
		"  --concurrent       a concurrent program (thread sections, schedule; the\n"
		"                     sched_fuzzer and race_fuzzer inputs)\n");
}

static int fmt(int argc, char **argv)
{
	enum mmf_load_format format = MMF_LOAD_AUTO;
	enum mmf_decode_mode mode = MMF_DECODE_ANY;
	const char *path = NULL;
	bool concurrent = false;
	struct mmf_prog p;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		} else if (!strcmp(a, "--text")) {
			format = MMF_LOAD_TEXT;
		} else if (!strcmp(a, "--binary")) {
			format = MMF_LOAD_BINARY;
		} else if (!strcmp(a, "--kernel")) {
			mode = MMF_DECODE_KERNEL;
		} else if (!strcmp(a, "--concurrent")) {
			concurrent = true;
		} else if (a[0] == '-' && a[1] != '\0') {
			return mmf_cli_usage_error("fmt", "unknown option '%s'", a);
		} else if (path) {
			return mmf_cli_usage_error("fmt", "more than one file ('%s')", a);
		} else {
			path = a;
		}
	}
	if (!path)
		return mmf_cli_usage_error("fmt", "no file given");
	if (concurrent)
		return mmf_cli_concurrent("fmt", path, NULL);
	mmf_prog_init(&p);
	r = mmf_cli_load("fmt", &p, path, format, mode);
	if (!r)
		mmf_prog_print(stdout, &p);
	mmf_prog_free(&p);
	if (!r && fflush(stdout)) {
		perror("mmfuzz fmt: stdout");
		return MMF_EXIT_FAIL;
	}
	return r;
}

const struct mmf_cmd mmf_cmd_fmt = {
	"fmt", "print a program (binary or text) as canonical text", fmt,
};
