// SPDX-License-Identifier: MIT
/*
 * tools/cmd_gen.c - `mmfuzz gen`: a random program, deterministic in a seed.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mmfuzz gen [--seed N] [--ops K] [--kernel] [--binary] [-o FILE]\n"
		"\n"
		"Write a random program (the same seed gives the same program).\n"
		"\n"
		"options:\n"
		"  --seed N          the seed (default 0)\n"
		"  --ops K           number of ops, at most %d (default 32)\n"
		"  --kernel          only the kernel-checkable subset (fixed placement in\n"
		"                    [0x%llx, 0x%llx), no names)\n"
		"  --binary          write the binary form instead of text\n"
		"  -o, --output FILE where to write (default: stdout)\n",
		MMF_PROG_MAX_OPS, (unsigned long long)MMF_MMAP_MIN_ADDR,
		(unsigned long long)MMF_MMAP_BASE);
}

static int gen(int argc, char **argv)
{
	uint64_t seed = 0, ops = 32;
	const char *out = "-", *v;
	bool kernel = false, binary = false;
	struct mmf_prog p;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		}
		if ((r = mmf_cli_opt_value("gen", argc, argv, &i, "--seed", &v))) {
			if (r < 0 || mmf_cli_number("gen", "--seed", v, &seed))
				return MMF_EXIT_USAGE;
		} else if ((r = mmf_cli_opt_value("gen", argc, argv, &i, "--ops", &v))) {
			if (r < 0 || mmf_cli_number("gen", "--ops", v, &ops))
				return MMF_EXIT_USAGE;
			if (ops > MMF_PROG_MAX_OPS)
				return mmf_cli_usage_error("gen", "--ops: at most %d", MMF_PROG_MAX_OPS);
		} else if ((r = mmf_cli_opt_value("gen", argc, argv, &i, "-o", &v)) ||
			   (r = mmf_cli_opt_value("gen", argc, argv, &i, "--output", &v))) {
			if (r < 0)
				return MMF_EXIT_USAGE;
			out = v;
		} else if (!strcmp(a, "--kernel")) {
			kernel = true;
		} else if (!strcmp(a, "--binary")) {
			binary = true;
		} else {
			return mmf_cli_usage_error("gen", "unexpected argument '%s'", a);
		}
	}

	mmf_prog_init(&p);
	mmf_prog_generate(&p, seed, (uint32_t)ops, kernel ? MMF_DECODE_KERNEL : MMF_DECODE_ANY);
	if (binary) {
		size_t len = mmf_prog_encode(&p, NULL, 0);
		uint8_t *buf = malloc(len ? len : 1);

		if (!buf) {
			mmf_prog_free(&p);
			fprintf(stderr, "mmfuzz gen: out of memory\n");
			return MMF_EXIT_FAIL;
		}
		mmf_prog_encode(&p, buf, len);
		r = mmf_cli_write("gen", out, buf, len);
		free(buf);
	} else {
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);

		if (!m) {
			mmf_prog_free(&p);
			perror("mmfuzz gen");
			return MMF_EXIT_FAIL;
		}
		fprintf(m, "# mmfuzz gen --seed %llu --ops %llu%s\n", (unsigned long long)seed,
			(unsigned long long)ops, kernel ? " --kernel" : "");
		mmf_prog_print(m, &p);
		fclose(m);
		r = mmf_cli_write("gen", out, text, len);
		free(text);
	}
	mmf_prog_free(&p);
	return r;
}

const struct mmf_cmd mmf_cmd_gen = {
	"gen", "write a random program (text or binary), deterministic in a seed", gen,
};
