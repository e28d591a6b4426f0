// SPDX-License-Identifier: MIT
/*
 * tools/cmd_asm.c - `mmfuzz asm`: text program -> the binary form.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mmfuzz asm [OPTIONS] FILE -o OUT\n"
		"\n"
		"Assemble a text program into the binary form fuzzers mutate (a binary input\n"
		"is re-encoded canonically). The output decodes back to exactly the program.\n"
		"\n"
		"options:\n"
		"  -o, --output OUT   where to write the bytes ('-': stdout)\n"
		"  --kernel           fail unless the program is in the kernel-checkable subset,\n"
		"                     i.e. decodes to itself in kernel mode too\n"
		"  --text, --binary   the input's format (default: detected)\n"
		"  --concurrent       a concurrent program (thread sections, schedule; the\n"
		"                     sched_fuzzer and race_fuzzer inputs)\n");
}

static int assemble(int argc, char **argv)
{
	enum mmf_load_format format = MMF_LOAD_AUTO;
	const char *path = NULL, *out = NULL, *v;
	bool kernel = false, concurrent = false;
	struct mmf_prog p, q;
	uint8_t *buf = NULL;
	size_t len;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (mmf_cli_is_help(a)) {
			usage(stdout);
			return MMF_EXIT_OK;
		}
		if ((r = mmf_cli_opt_value("asm", argc, argv, &i, "-o", &v)) ||
		    (r = mmf_cli_opt_value("asm", argc, argv, &i, "--output", &v))) {
			if (r < 0)
				return MMF_EXIT_USAGE;
			out = v;
		} else if (!strcmp(a, "--kernel")) {
			kernel = true;
		} else if (!strcmp(a, "--concurrent")) {
			concurrent = true;
		} else if (!strcmp(a, "--text")) {
			format = MMF_LOAD_TEXT;
		} else if (!strcmp(a, "--binary")) {
			format = MMF_LOAD_BINARY;
		} else if (a[0] == '-' && a[1] != '\0') {
			return mmf_cli_usage_error("asm", "unknown option '%s'", a);
		} else if (path) {
			return mmf_cli_usage_error("asm", "more than one file ('%s')", a);
		} else {
			path = a;
		}
	}
	if (!path)
		return mmf_cli_usage_error("asm", "no file given");
	if (!out)
		return mmf_cli_usage_error("asm", "no output given (-o OUT)");
	if (concurrent)
		return mmf_cli_concurrent("asm", path, out);

	mmf_prog_init(&p);
	mmf_prog_init(&q);
	r = mmf_cli_load("asm", &p, path, format, MMF_DECODE_ANY);
	if (r)
		goto done;
	len = mmf_prog_encode(&p, NULL, 0);
	buf = malloc(len ? len : 1);
	if (!buf) {
		fprintf(stderr, "mmfuzz asm: out of memory\n");
		r = MMF_EXIT_FAIL;
		goto done;
	}
	mmf_prog_encode(&p, buf, len);
	mmf_prog_decode(&q, buf, len, MMF_DECODE_ANY);
	if (!mmf_prog_equal(&p, &q)) {
		fprintf(stderr, "mmfuzz asm: internal error: %s does not round-trip\n", path);
		r = MMF_EXIT_FAIL;
		goto done;
	}
	if (kernel) {
		mmf_prog_decode(&q, buf, len, MMF_DECODE_KERNEL);
		for (uint32_t i = 0; i < p.nr_ops; i++) {
			char text[MMF_OP_TEXT_MAX];

			if (i >= q.nr_ops || !mmf_op_equal(&p.ops[i], &q.ops[i])) {
				fprintf(stderr, "%s: op %u is outside the kernel-checkable subset: %s\n",
					path, i + 1, mmf_op_format(&p.ops[i], text, sizeof(text)));
				r = MMF_EXIT_USAGE;
				goto done;
			}
		}
	}
	r = mmf_cli_write("asm", out, buf, len);
done:
	free(buf);
	mmf_prog_free(&p);
	mmf_prog_free(&q);
	return r;
}

const struct mmf_cmd mmf_cmd_asm = {
	"asm", "assemble a text program into the binary form", assemble,
};
