// SPDX-License-Identifier: MIT
/*
 * tools/mmfuzz.c - the `mmfuzz` command: a table of subcommands (cli.h),
 * each in tools/cmd_NAME.c, and the helpers they share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MMF_CLI_ENTRY(name) &mmf_cmd_##name,
static const struct mmf_cmd *const commands[] = { MMF_CLI_COMMANDS(MMF_CLI_ENTRY) };
#undef MMF_CLI_ENTRY
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int mmf_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mmfuzz %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mmfuzz %s --help'.\n", cmd);
	return MMF_EXIT_USAGE;
}

bool mmf_cli_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int mmf_cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
		      const char **value)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		mmf_cli_usage_error(cmd, "option %s needs a value", name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

int mmf_cli_number(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		goto bad;
	*out = strtoull(s, &end, 0);
	if (errno || *end)
		goto bad;
	return 0;
bad:
	mmf_cli_usage_error(cmd, "%s: not a number: '%s'", opt, s);
	return -1;
}

int mmf_cli_load(const char *cmd, struct mmf_prog *p, const char *path,
		 enum mmf_load_format fmt, enum mmf_decode_mode mode)
{
	char err[512];
	int r = mmf_prog_load_as(p, path, fmt, mode, err, sizeof(err));

	if (r == 0)
		return 0;
	fprintf(stderr, "%s\n", err);
	if (r == -2 && fmt == MMF_LOAD_AUTO)
		fprintf(stderr, "mmfuzz %s: note: %s was read as text; for a binary fuzz input "
			"whose bytes happen to be printable, pass --binary\n", cmd, path);
	return r == -2 ? MMF_EXIT_USAGE : MMF_EXIT_FAIL;
}

int mmf_cli_write(const char *cmd, const char *out, const void *data, size_t len)
{
	FILE *f = strcmp(out, "-") ? fopen(out, "wb") : stdout;

	if (!f) {
		fprintf(stderr, "mmfuzz %s: %s: ", cmd, out);
		perror(NULL);
		return MMF_EXIT_FAIL;
	}
	if (fwrite(data, 1, len, f) != len || fflush(f) || (f != stdout && fclose(f))) {
		fprintf(stderr, "mmfuzz %s: %s: write error\n", cmd, out);
		if (f != stdout)
			fclose(f);
		return MMF_EXIT_FAIL;
	}
	return MMF_EXIT_OK;
}

int mmf_cli_concurrent(const char *cmd, const char *path, const char *out)
{
	static struct mmf_cprog c;
	char err[512];
	uint8_t *buf;
	size_t len;
	int r;

	if (mmf_cprog_load(&c, path, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return MMF_EXIT_USAGE;
	}
	if (!out) {
		mmf_cprog_print(stdout, &c);
		return fflush(stdout) ? MMF_EXIT_FAIL : MMF_EXIT_OK;
	}
	len = mmf_cprog_encode(&c, NULL, 0);
	buf = malloc(len);
	if (!buf) {
		fprintf(stderr, "mmfuzz %s: out of memory\n", cmd);
		return MMF_EXIT_FAIL;
	}
	mmf_cprog_encode(&c, buf, len);
	r = mmf_cli_write(cmd, out, buf, len);
	free(buf);
	return r;
}

static void help(FILE *out)
{
	fprintf(out,
		"usage: mmfuzz COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"Fuzzing and differential testing of a userspace model of the Linux VMA layer.\n"
		"A program is a text file, one op per line (see prog/text.c), or the binary\n"
		"form fuzzers mutate; every command reads both.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out,
		"\n"
		"'mmfuzz COMMAND --help' describes one command.\n"
		"Exit status: 0 ok, 2 usage error or malformed program, 1 other failure.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		help(stderr);
		return MMF_EXIT_USAGE;
	}
	if (mmf_cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			for (size_t i = 0; i < NR_COMMANDS; i++) {
				if (!strcmp(commands[i]->name, argv[2])) {
					char *hargv[] = { argv[2], (char *)"--help", NULL };

					return commands[i]->main(2, hargv);
				}
			}
		}
		help(stdout);
		return MMF_EXIT_OK;
	}
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i]->name, argv[1]))
			return commands[i]->main(argc - 1, argv + 1);
	fprintf(stderr, "mmfuzz: unknown command '%s'\n", argv[1]);
	help(stderr);
	return MMF_EXIT_USAGE;
}
