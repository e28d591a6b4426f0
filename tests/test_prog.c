// SPDX-License-Identifier: MIT
/*
 * tests/test_prog.c - the program language: text <-> op <-> binary round
 * trips, decoder totality, the exact text errors, the generator, loading.
 * Prints "N passed, N failed" last; exits non-zero on failure.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmfuzz/prog.h"
#include "mmfuzz/uapi.h"
#include "prog_ext.h"

#include "check.h"


static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A program that uses every op, every word and every literal form. */
static const char all_ops[] =
	"#mmfuzz: every op and flag\n"
	"file_create 0x4000\n"
	"file_create 0\n"
	"mmap p0 0x10000 0x4000 rw- private anon fixed\n"
	"mmap p0 0 0x2000 r-- shared f0 pgoff=1 noreplace   # a comment\n"
	"mmap p0 0x200000 0x1000 rw- private anon fixed growsdown\n"
	"mmap p0 0x300000 0x1000 rwx shared_validate f1 fixed\n"
	"mmap p0 0x400000 0x1001 --- private anon noreplace fixed flags=0x8000\n"
	"mmap p0 0x500000 0x1000 r-x+0x1000000 private anon pgoff=0xffffffffffffffff\n"
	"mmap p0 0x600000 0x1000 -w- anon\n"
	"mmap p255 0xffffffffffffffff 0xffffffffffffffff -wx+0xfffffff8 shared f255 pgoff=18446744073709551615 fixed growsdown flags=0xffe00000\n"
	"\n"
	"\t munmap  p0\t0x10000 0x1000 \r\n"
	"mprotect p0 0x10000 0x1000 r-x\n"
	"mprotect p1 0x11000 0 ---+0x8\n"
	"mremap p0 0x10000 0x1000 0x2000 maymove fixed=0x40000 dontunmap\n"
	"mremap p0 0x10000 0x1000 0x2000\n"
	"mremap p0 0x10000 0x1000 0x2000 maymove\n"
	"mremap p0 0x10000 0x1000 0x2000 fixed=0 flags=0xf0\n"
	"madvise p0 0x10000 0x1000 dontneed\n"
	"madvise p0 0x10000 0x1000 dontfork\n"
	"madvise p0 0x10000 0x1000 dofork\n"
	"madvise p0 0x10000 0x1000 wipeonfork\n"
	"madvise p0 0x10000 0x1000 keeponfork\n"
	"madvise p0 0x10000 0x1000 hwpoison\n"
	"madvise p0 0x10000 0x1000 4294967295\n"
	"madvise p0 0x10000 0x1000 77\n"
	"set_name p0 0x10000 0x1000 \"heap\"\n"
	"set_name p0 0x10000 0x1000 null\n"
	"set_name p0 0x10000 0x1000 \"\"\n"
	"set_name p0 0x10000 0x1000 \"q\\\"b\\\\s\\x01\\xff\\n\\t\\r[x]$`\"\n"
	"set_name p0 0x10000 0x1000 \"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456\"\n"
	"read p0 0x10005\n"
	"write p0 0x10000 0x2a\n"
	"write p0 0x10000 18446744073709551615\n"
	"fork p0\n"
	"exit p1\n"
	"exit p7\n"
	"fork p9\n"
	"truncate f0 0x1000\n"
	"file_read f0 3\n"
	"file_write f0 3 0x2a\n"
	"file_write f7 0x123456789 0\n";

/* What mmf_prog_print makes of all_ops. */
static const char all_ops_canon[] =
	"file_create 0x4000\n"
	"file_create 0\n"
	"mmap p0 0x10000 0x4000 rw- private anon fixed\n"
	"mmap p0 0 0x2000 r-- shared f0 pgoff=1 noreplace\n"
	"mmap p0 0x200000 0x1000 rw- private anon fixed growsdown\n"
	"mmap p0 0x300000 0x1000 rwx shared_validate f1 fixed\n"
	"mmap p0 0x400000 0x1001 --- private anon fixed noreplace flags=0x8000\n"
	"mmap p0 0x500000 0x1000 r-x+0x1000000 private anon pgoff=0xffffffffffffffff\n"
	"mmap p0 0x600000 0x1000 -w- anon\n"
	"mmap p255 0xffffffffffffffff 0xffffffffffffffff -wx+0xfffffff8 shared f255 pgoff=0xffffffffffffffff fixed growsdown flags=0xffe00000\n"
	"munmap p0 0x10000 0x1000\n"
	"mprotect p0 0x10000 0x1000 r-x\n"
	"mprotect p1 0x11000 0 ---+0x8\n"
	"mremap p0 0x10000 0x1000 0x2000 maymove fixed=0x40000 dontunmap\n"
	"mremap p0 0x10000 0x1000 0x2000\n"
	"mremap p0 0x10000 0x1000 0x2000 maymove\n"
	"mremap p0 0x10000 0x1000 0x2000 fixed=0x0 flags=0xf0\n"
	"madvise p0 0x10000 0x1000 dontneed\n"
	"madvise p0 0x10000 0x1000 dontfork\n"
	"madvise p0 0x10000 0x1000 dofork\n"
	"madvise p0 0x10000 0x1000 wipeonfork\n"
	"madvise p0 0x10000 0x1000 keeponfork\n"
	"madvise p0 0x10000 0x1000 hwpoison\n"
	"madvise p0 0x10000 0x1000 4294967295\n"
	"madvise p0 0x10000 0x1000 77\n"
	"set_name p0 0x10000 0x1000 \"heap\"\n"
	"set_name p0 0x10000 0x1000 null\n"
	"set_name p0 0x10000 0x1000 \"\"\n"
	"set_name p0 0x10000 0x1000 \"q\\\"b\\\\s\\x01\\xff\\x0a\\x09\\x0d[x]$`\"\n"
	"set_name p0 0x10000 0x1000 \"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456\"\n"
	"read p0 0x10005\n"
	"write p0 0x10000 0x2a\n"
	"write p0 0x10000 0xffffffffffffffff\n"
	"fork p0\n"
	"exit p1\n"
	"exit p7\n"
	"fork p9\n"
	"truncate f0 0x1000\n"
	"file_read f0 3\n"
	"file_write f0 3 0x2a\n"
	"file_write f7 0x123456789 0\n";

static char *print_to_string(const struct mmf_prog *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	mmf_prog_print(f, p);
	fclose(f);
	return buf;
}

static bool parse_str(struct mmf_prog *p, const char *text, char *err, size_t errlen)
{
	return mmf_prog_parse(p, text, strlen(text), "t.mmf", err, errlen) == 0;
}

/* decode(encode(p)) == p, in `mode`. */
static bool bin_round_trip(const struct mmf_prog *p, enum mmf_decode_mode mode)
{
	static uint8_t buf[1 << 16];	/* > MMF_PROG_MAX_OPS * the longest op */
	static struct mmf_prog q;	/* reused: decode replaces its ops */
	size_t need = mmf_prog_encode(p, buf, sizeof(buf));

	if (need > sizeof(buf))
		return false;
	mmf_prog_decode(&q, buf, need, mode);
	return mmf_prog_equal(p, &q);
}

/* every op: parse(format(op)) == op and format is stable */
static bool text_round_trip(const struct mmf_prog *p, char *why, size_t whylen)
{
	char a[MMF_OP_TEXT_MAX], b[MMF_OP_TEXT_MAX], err[256];

	for (uint32_t i = 0; i < p->nr_ops; i++) {
		struct mmf_prog q;
		bool ok;

		mmf_prog_init(&q);
		mmf_op_format(&p->ops[i], a, sizeof(a));
		ok = mmf_prog_parse(&q, a, strlen(a), "rt", err, sizeof(err)) == 0 &&
		     q.nr_ops == 1 && mmf_op_equal(&q.ops[0], &p->ops[i]);
		if (ok)
			ok = strcmp(mmf_op_format(&q.ops[0], b, sizeof(b)), a) == 0;
		mmf_prog_free(&q);
		if (!ok) {
			snprintf(why, whylen, "op %u '%s': %s", i, a, err);
			return false;
		}
	}
	return true;
}

static void test_all_ops(void)
{
	struct mmf_prog p, q;
	char err[256] = "", why[1400] = "";
	bool seen[MMF_OP__COUNT] = { 0 };
	char *text;

	mmf_prog_init(&p);
	mmf_prog_init(&q);
	CHECK(parse_str(&p, all_ops, err, sizeof(err)), "%s", err);
	CHECK(p.nr_ops == 41, "%u ops", p.nr_ops);
	for (uint32_t i = 0; i < p.nr_ops; i++)
		seen[p.ops[i].kind] = true;
	for (int k = 0; k < MMF_OP__COUNT; k++)
		CHECK(seen[k], "op kind %s not covered", mmf_op_name((enum mmf_op_kind)k));

	text = print_to_string(&p);
	CHECK(strcmp(text, all_ops_canon) == 0, "canonical text:\n%s", text);
	CHECK(parse_str(&q, text, err, sizeof(err)), "%s", err);
	CHECK(mmf_prog_equal(&p, &q), "print -> parse changed the program");
	free(text);

	CHECK(text_round_trip(&p, why, sizeof(why)), "%s", why);
	CHECK(bin_round_trip(&p, MMF_DECODE_ANY), "text -> bin -> prog differs");

	/* a few fields, to be sure the words mean what they say */
	CHECK(p.ops[2].flags == (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) &&
	      p.ops[2].file == MMF_FILE_ANON && p.ops[2].prot == (PROT_READ | PROT_WRITE),
	      "mmap anon fields");
	CHECK(p.ops[3].flags == (MAP_SHARED | MAP_FIXED_NOREPLACE) && p.ops[3].file == 0 &&
	      p.ops[3].pgoff == 1 && p.ops[3].addr == 0 && p.ops[3].len == 0x2000,
	      "mmap file fields");
	CHECK(p.ops[4].flags & MAP_GROWSDOWN, "growsdown");
	CHECK(p.ops[7].prot == (PROT_READ | PROT_EXEC | PROT_GROWSDOWN), "prot extra bits");
	CHECK(p.ops[13].kind == MMF_OP_MREMAP && p.ops[13].flags ==
	      (MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) && p.ops[13].new_addr == 0x40000 &&
	      p.ops[13].len == 0x1000 && p.ops[13].new_len == 0x2000, "mremap fields");
	CHECK(p.ops[17].advice == MADV_DONTNEED && p.ops[20].advice == MADV_WIPEONFORK,
	      "advice words");
	CHECK(strcmp(p.ops[28].name, "q\"b\\s\x01\xff\n\t\r[x]$`") == 0, "string escapes");
	CHECK(p.ops[26].name_null && !p.ops[27].name_null && p.ops[27].name[0] == 0,
	      "null vs empty name");
	CHECK(strlen(p.ops[29].name) == MMF_OP_NAME_MAX, "longest name");

	/* parse appends */
	CHECK(parse_str(&q, "fork p0\n", err, sizeof(err)) && q.nr_ops == p.nr_ops + 1,
	      "parse appends");
	mmf_prog_free(&p);
	mmf_prog_free(&q);
}

static void test_format_samples(void)
{
	static const struct {
		const char *in, *out;
	} s[] = {
		{ "mmap p0 0x10000 4096 rw- anon private fixed", "mmap p0 0x10000 0x1000 rw- private anon fixed" },
		{ "mmap p0 0X10 0 --- f3 pgoff=0x10 flags=0x3", "mmap p0 0x10 0 --- shared_validate f3 pgoff=16" },
		{ "mmap p0 0 1 r-- shared anon shared", "mmap p0 0 0x1 r-- shared anon" },
		{ "mmap p0 0 1 r-- anon flags=0x20", "mmap p0 0 0x1 r-- anon" },
		{ "mmap p0 0 1 r-- f0 f0", "mmap p0 0 0x1 r-- f0" },
		{ "mmap p0 0 1 r-- anon pgoff=0x100000", "mmap p0 0 0x1 r-- anon pgoff=0x100000" },
		{ "mremap p3 1 2 3 flags=0x7", "mremap p3 0x1 0x2 0x3 maymove fixed=0x0 dontunmap" },
		{ "mremap p3 1 2 3 dontunmap fixed=0x5 maymove", "mremap p3 0x1 0x2 0x3 maymove fixed=0x5 dontunmap" },
		{ "madvise p0 0 0 4", "madvise p0 0 0 dontneed" },
		{ "madvise p0 0 0 0x0", "madvise p0 0 0 normal" },
		{ "mprotect p0 0 0 ---+0", "mprotect p0 0 0 ---" },
		{ "mprotect p0 0 0 r--+0x1", "mprotect p0 0 0 r--" },
		{ "set_name p0 0 0 \"a#b\" # c", "set_name p0 0 0 \"a#b\"" },
		{ "set_name p0 0 0 \"\\x41\\x7f\"", "set_name p0 0 0 \"A\\x7f\"" },
		{ "file_read f1 1048576", "file_read f1 0x100000" },
		{ "file_read f1 1048575", "file_read f1 1048575" },
		{ "write p0 0x0 0x0", "write p0 0 0" },
	};
	char err[256], buf[MMF_OP_TEXT_MAX];

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		struct mmf_prog p;

		mmf_prog_init(&p);
		if (!parse_str(&p, s[i].in, err, sizeof(err)) || p.nr_ops != 1) {
			CHECK(0, "'%s': %s", s[i].in, err);
		} else {
			mmf_op_format(&p.ops[0], buf, sizeof(buf));
			CHECK(strcmp(buf, s[i].out) == 0, "'%s' -> '%s', want '%s'", s[i].in, buf,
			      s[i].out);
		}
		mmf_prog_free(&p);
	}

	/* small buffers are NUL-terminated, never overrun */
	{
		struct mmf_op op = { .kind = MMF_OP_MMAP, .flags = MAP_PRIVATE | MAP_ANONYMOUS,
				     .file = -1, .addr = 0x10000, .len = 0x1000 };
		char small[8];

		memset(small, 'Z', sizeof(small));
		mmf_op_format(&op, small, 5);
		CHECK(strcmp(small, "mmap") == 0 && small[5] == 'Z', "truncated format '%s'", small);
	}
}

static void test_errors(void)
{
	static const struct {
		const char *text, *err;
	} e[] = {
		{ "mmapp p0 0 0 rw- anon", "t.mmf:1: unknown op 'mmapp'" },
		{ "\n# x\n  bogus", "t.mmf:3: unknown op 'bogus'" },
		{ "fork", "t.mmf:1: fork: missing process handle pN (usage: fork pN)" },
		{ "mmap p0 0x10000", "t.mmf:1: mmap: missing LEN (usage: mmap pN ADDR LEN PROT private|shared anon|fN [pgoff=N] [fixed] [noreplace] [growsdown] [flags=N])" },
		{ "munmap p0 0x10000 0xzz", "t.mmf:1: munmap: bad number for LEN: '0xzz'" },
		{ "munmap p0 0x 1", "t.mmf:1: munmap: bad number for ADDR: '0x'" },
		{ "munmap p0 -1 1", "t.mmf:1: munmap: bad number for ADDR: '-1'" },
		{ "munmap p0 0x10000000000000000 1", "t.mmf:1: munmap: number too large for ADDR: '0x10000000000000000'" },
		{ "munmap p0 18446744073709551616 1", "t.mmf:1: munmap: number too large for ADDR: '18446744073709551616'" },
		{ "munmap p0 0x1000 0x1000 junk", "t.mmf:1: munmap: trailing junk 'junk' (usage: munmap pN ADDR LEN)" },
		{ "fork p256", "t.mmf:1: fork: handle out of range: 'p256' (max p255)" },
		{ "truncate f99999999999999999999 0", "t.mmf:1: truncate: handle out of range: 'f99999999999999999999' (max f255)" },
		{ "fork 0", "t.mmf:1: fork: expected a process handle pN, got '0'" },
		{ "fork p01", "t.mmf:1: fork: expected a process handle pN, got 'p01'" },
		{ "truncate p0 0", "t.mmf:1: truncate: expected a file handle fN, got 'p0'" },
		{ "mprotect p0 0 0 rwz", "t.mmf:1: mprotect: bad prot 'rwz' (expected e.g. rw-, r-x or ---+0x1000000)" },
		{ "mprotect p0 0 0 rw-+", "t.mmf:1: mprotect: bad prot 'rw-+' (expected e.g. rw-, r-x or ---+0x1000000)" },
		{ "mprotect p0 0 0 rw-+0x100000000", "t.mmf:1: mprotect: number too large for PROT: 'rw-+0x100000000'" },
		{ "mmap p0 0 0 rw- private anon bogus", "t.mmf:1: mmap: unknown flag 'bogus' (usage: mmap pN ADDR LEN PROT private|shared anon|fN [pgoff=N] [fixed] [noreplace] [growsdown] [flags=N])" },
		{ "mmap p0 0 0 rw- private", "t.mmf:1: mmap: needs anon or a file handle fN (usage: mmap pN ADDR LEN PROT private|shared anon|fN [pgoff=N] [fixed] [noreplace] [growsdown] [flags=N])" },
		{ "mmap p0 0 0 rw- private anon f0", "t.mmf:1: mmap: both anon and a file" },
		{ "mmap p0 0 0 rw- private f0 flags=0x20", "t.mmf:1: mmap: both anon and a file" },
		{ "mmap p0 0 0 rw- private f0 f1", "t.mmf:1: mmap: two files 'f1'" },
		{ "mmap p0 0 0 rw- private shared anon", "t.mmf:1: mmap: conflicting mapping types 'shared'" },
		{ "mmap p0 0 0 rw- anon flags=0x100000000", "t.mmf:1: mmap: number too large for flags: 'flags=0x100000000'" },
		{ "mmap p0 0 0 rw- anon pgoff=x", "t.mmf:1: mmap: bad number for pgoff: 'pgoff=x'" },
		{ "mremap p0 0 0 0 fixed", "t.mmf:1: mremap: fixed needs an address: fixed=ADDR" },
		{ "mremap p0 0 0 0 moo", "t.mmf:1: mremap: unknown flag 'moo' (usage: mremap pN ADDR LEN NEWLEN [maymove] [fixed=ADDR] [dontunmap] [flags=N])" },
		{ "madvise p0 0 0 dontneeds", "t.mmf:1: madvise: unknown advice 'dontneeds' (a number or dontneed, dontfork, dofork, wipeonfork, keeponfork, ...)" },
		{ "madvise p0 0 0 4294967296", "t.mmf:1: madvise: number too large for ADVICE: '4294967296'" },
		{ "set_name p0 0 0 heap", "t.mmf:1: set_name: expected a quoted name or null, got 'heap'" },
		{ "set_name p0 0 0 \"heap", "t.mmf:1: unterminated string" },
		{ "set_name p0 0 0 \"heap\\\"", "t.mmf:1: unterminated string" },
		{ "set_name p0 0 0 \"heap\"x", "t.mmf:1: junk after closing quote" },
		{ "set_name p0 0 0 \"a\\q\"", "t.mmf:1: set_name: bad escape in string: '\\q'" },
		{ "set_name p0 0 0 \"a\\x4\"", "t.mmf:1: set_name: bad escape in string: \\x needs two hex digits" },
		{ "set_name p0 0 0 \"a\\x00\"", "t.mmf:1: set_name: NUL byte in name" },
		{ "set_name p0 0 0 \"01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\"",
		  "t.mmf:1: set_name: name too long (128 bytes, max 127)" },
		{ "set_name p0 0 0 null x", "t.mmf:1: set_name: trailing junk 'x' (usage: set_name pN ADDR LEN \"NAME\"|null)" },
		{ "set_name p0 0 0", "t.mmf:1: set_name: missing NAME (usage: set_name pN ADDR LEN \"NAME\"|null)" },
		{ "read p0 0x1 0x2", "t.mmf:1: read: trailing junk '0x2' (usage: read pN ADDR)" },
		{ "file_write f0 1", "t.mmf:1: file_write: missing VALUE (usage: file_write fN PGOFF VALUE)" },
		{ "fork p0\n\"x\"", "t.mmf:2: unknown op '\"x\"'" },
		{ "fork\x01 p0", "t.mmf:1: unknown op 'fork?'" },
		{ "fork p0 =", "t.mmf:1: missing RESULT after '='" },
		{ "= 0x1", "t.mmf:1: '=' without an op before it" },
		{ "fork p0 = p1 p2", "t.mmf:1: trailing junk 'p2' after the result" },
		{ "read p0 0 = SIGSEGV/maperr", "t.mmf:1: bad result 'SIGSEGV/maperr' after '=' (expected e.g. 0x10000, 0, -ENOMEM, p1, eof, SIGSEGV/MAPERR)" },
		{ "munmap p0 0 0 = -ENOPE", "t.mmf:1: bad result '-ENOPE' after '=' (expected e.g. 0x10000, 0, -ENOMEM, p1, eof, SIGSEGV/MAPERR)" },
		{ "munmap p0 0 = 0", "t.mmf:1: munmap: missing LEN (usage: munmap pN ADDR LEN)" },
		{ "a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7",
		  "t.mmf:1: too many tokens on one line (max 32)" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		struct mmf_prog p;
		int r;

		mmf_prog_init(&p);
		mmf_prog_append(&p, &(struct mmf_op){ .kind = MMF_OP_FORK });
		err[0] = 0;
		r = mmf_prog_parse(&p, e[i].text, strlen(e[i].text), "t.mmf", err, sizeof(err));
		CHECK(r == -1 && strcmp(err, e[i].err) == 0, "'%s':\n   got  '%s'\n   want '%s'",
		      e[i].text, err, e[i].err);
		CHECK(p.nr_ops == 1, "a failed parse must leave the program as it was (%u ops)",
		      p.nr_ops);
		mmf_prog_free(&p);
	}

	/* too many ops */
	{
		size_t n = (MMF_PROG_MAX_OPS + 1) * 8;
		char *text = malloc(n + 1);
		struct mmf_prog p;

		for (size_t i = 0; i < MMF_PROG_MAX_OPS + 1; i++)
			memcpy(text + i * 8, "fork p0\n", 8);
		text[n] = 0;
		mmf_prog_init(&p);
		CHECK(mmf_prog_parse(&p, text, n, "big", err, sizeof(err)) == -1 &&
		      strcmp(err, "big:257: too many ops (max 256)") == 0, "got '%s'", err);
		text[n - 8] = 0;
		CHECK(mmf_prog_parse(&p, text, n - 8, "big", err, sizeof(err)) == 0 &&
		      p.nr_ops == MMF_PROG_MAX_OPS, "256 ops: %s", err);
		mmf_prog_free(&p);
		free(text);
	}

	/* NUL bytes and no trailing newline are handled; err may be NULL */
	{
		struct mmf_prog p;
		const char t[] = "fork p0\nexit p0";

		mmf_prog_init(&p);
		CHECK(mmf_prog_parse(&p, t, sizeof(t) - 1, "x", NULL, 0) == 0 && p.nr_ops == 2,
		      "no final newline");
		CHECK(mmf_prog_parse(&p, "fork\0p0", 7, "x", NULL, 0) == -1, "NUL is junk");
		CHECK(mmf_prog_parse(&p, "", 0, "x", err, sizeof(err)) == 0 && p.nr_ops == 2,
		      "empty text");
		mmf_prog_free(&p);
	}
}

/* "op = RESULT": kept by mmf_prog_parse_expect, accepted by mmf_prog_parse. */
static void test_expectations(void)
{
	static struct mmf_expect ex;
	const char t[] = "# a program with results\n"
			 "mmap p0 0x100000 0x1000 rw- private anon fixed = 0x100000\n"
			 "\n"
			 "read p0 0x200000 = SIGSEGV/MAPERR   # unmapped\n"
			 "fork p0\n"
			 "munmap p0 0x100000 0x1000 = -EINVAL\n"
			 "file_read f0 0 = eof\n";
	struct mmf_prog p, q;
	char err[512];

	mmf_prog_init(&p);
	mmf_prog_init(&q);
	CHECK(mmf_prog_parse_expect(&p, &ex, t, sizeof(t) - 1, "e.mmf", err, sizeof(err)) == 0,
	      "parse: %s", err);
	CHECK(p.nr_ops == 5 && ex.nr_ops == 5 && ex.nr_expected == 4, "%u ops, %u expected",
	      p.nr_ops, ex.nr_expected);
	CHECK(!strcmp(ex.res[0], "0x100000") && ex.line[0] == 2, "op 0: '%s' line %u",
	      ex.res[0], ex.line[0]);
	CHECK(!strcmp(ex.res[1], "SIGSEGV/MAPERR") && ex.line[1] == 4, "op 1: '%s'", ex.res[1]);
	CHECK(!ex.res[2][0] && ex.line[2] == 5, "op 2 expects nothing ('%s')", ex.res[2]);
	CHECK(!strcmp(ex.res[3], "-EINVAL") && !strcmp(ex.res[4], "eof"), "ops 3, 4");
	CHECK(mmf_prog_parse(&q, t, sizeof(t) - 1, "e.mmf", err, sizeof(err)) == 0 &&
	      mmf_prog_equal(&p, &q), "the plain parser reads the same ops: %s", err);
	mmf_prog_free(&p);
	mmf_prog_free(&q);
}

/* Token soup: the parser never crashes, and what it accepts round-trips. */
static void test_text_fuzz(void)
{
	static const char *const vocab[] = {
		"fork", "exit", "mmap", "munmap", "mprotect", "mremap", "madvise", "set_name",
		"read", "write", "file_create", "truncate", "file_read", "file_write",
		"p0", "p1", "p255", "p256", "f0", "f3", "f255", "0", "0x10000", "0x1000",
		"4096", "0xffffffffffffffff", "18446744073709551616", "0x", "-1", "rw-", "r-x",
		"---", "rwx+0x1000000", "rw-+", "private", "shared", "shared_validate", "anon",
		"fixed", "noreplace", "growsdown", "flags=0x40", "flags=", "pgoff=3", "pgoff=",
		"maymove", "fixed=0x40000", "fixed=", "dontunmap", "dontneed", "wipeonfork", "77",
		"null", "\"heap\"", "\"\"", "\"a\\x01\\\\\\\"\"", "\"\\x0\"", "\"unterminated",
		"\"x\"y", "#", "# comment", "\t", "\xff", "\x01",
	};
	enum { N = 100000 };
	uint64_t seed = 0x7e47;
	unsigned accepted = 0, bad = 0;
	char line[1024], why[1400] = "", err[512];

	for (unsigned i = 0; i < N; i++) {
		size_t pos = 0;
		unsigned ntok = 1 + (unsigned)(splitmix(&seed) % 10);
		struct mmf_prog p;

		/* mostly a real op name first */
		for (unsigned t = 0; t < ntok; t++) {
			uint64_t r = splitmix(&seed);
			const char *w = t == 0 && (r & 3) ? vocab[(r >> 8) % 14] :
					vocab[(r >> 8) % (sizeof(vocab) / sizeof(vocab[0]))];
			size_t n = strlen(w);

			if (pos + n + 2 >= sizeof(line))
				break;
			memcpy(line + pos, w, n);
			pos += n;
			line[pos++] = (r >> 40) % 17 ? ' ' : '\n';
		}
		mmf_prog_init(&p);
		if (mmf_prog_parse(&p, line, pos, "soup", err, sizeof(err)) == 0) {
			accepted++;
			if (!text_round_trip(&p, why, sizeof(why)) || !bin_round_trip(&p, MMF_DECODE_ANY))
				bad++;
		} else if (strncmp(err, "soup:", 5) != 0) {
			bad++;
			snprintf(why, sizeof(why), "error without FILE:LINE: '%s'", err);
		}
		mmf_prog_free(&p);
	}
	CHECK(bad == 0, "%u bad: %s", bad, why);
	CHECK(accepted > 500, "only %u of %d lines accepted", accepted, N);
}

static bool kernel_ok(const struct mmf_op *op, char *why, size_t whylen)
{
	bool in = op->addr >= MMF_MMAP_MIN_ADDR && op->addr < MMF_MMAP_BASE;

	switch (op->kind) {
	case MMF_OP_SET_NAME:
		snprintf(why, whylen, "set_name");
		return false;
	case MMF_OP_MMAP:
		if (!(op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) || !in ||
		    op->len > MMF_MMAP_BASE - op->addr || (op->prot & ~7u) ||
		    (op->flags & ~(3u | MAP_ANONYMOUS | MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_GROWSDOWN)) ||
		    op->pgoff >= MMF_MAX_FILE_SIZE / MMF_PAGE_SIZE ||
		    (!(op->flags & MAP_ANONYMOUS) && (op->file < 0 || op->file >= MMF_MAX_FILES))) {
			snprintf(why, whylen, "mmap");
			return false;
		}
		break;
	case MMF_OP_MREMAP:
		if (!in || op->len > MMF_MMAP_BASE - op->addr || op->new_len > MMF_MMAP_BASE - op->addr ||
		    (op->flags & ~7u) ||
		    ((op->flags & MREMAP_MAYMOVE) && !(op->flags & MREMAP_FIXED)) ||
		    ((op->flags & MREMAP_FIXED) && (op->new_addr < MMF_MMAP_MIN_ADDR ||
						    op->new_addr >= MMF_MMAP_BASE ||
						    op->new_len > MMF_MMAP_BASE - op->new_addr))) {
			snprintf(why, whylen, "mremap");
			return false;
		}
		break;
	case MMF_OP_MUNMAP:
	case MMF_OP_MPROTECT:
	case MMF_OP_MADVISE:
		if (!in || op->len > MMF_MMAP_BASE - op->addr || (op->prot & ~7u) ||
		    (op->kind == MMF_OP_MADVISE && op->advice != MADV_DONTNEED &&
		     op->advice != MADV_DONTFORK && op->advice != MADV_DOFORK &&
		     op->advice != MADV_WIPEONFORK && op->advice != MADV_KEEPONFORK &&
		     op->advice != MADV_GUARD_INSTALL && op->advice != MADV_GUARD_REMOVE)) {
			snprintf(why, whylen, "%s", mmf_op_name(op->kind));
			return false;
		}
		break;
	case MMF_OP_READ:
	case MMF_OP_WRITE:
		if (!in) {
			snprintf(why, whylen, "access outside the window");
			return false;
		}
		break;
	case MMF_OP_FILE_CREATE:
	case MMF_OP_TRUNCATE:
		if (op->len > MMF_MAX_FILE_SIZE) {
			snprintf(why, whylen, "file size");
			return false;
		}
		break;
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		if (op->pgoff >= MMF_MAX_FILE_SIZE / MMF_PAGE_SIZE) {
			snprintf(why, whylen, "file pgoff");
			return false;
		}
		break;
	default:
		break;
	}
	if (op->kind <= MMF_OP_WRITE && (op->proc < 0 || op->proc >= MMF_MAX_PROCS)) {
		snprintf(why, whylen, "proc handle");
		return false;
	}
	if (op->kind >= MMF_OP_TRUNCATE && (op->file < 0 || op->file >= MMF_MAX_FILES)) {
		snprintf(why, whylen, "file handle");
		return false;
	}
	return true;
}

static bool prog_kernel_ok(const struct mmf_prog *p, char *why, size_t whylen)
{
	for (uint32_t i = 0; i < p->nr_ops; i++) {
		if (!kernel_ok(&p->ops[i], why, whylen)) {
			char buf[MMF_OP_TEXT_MAX];
			size_t n = strlen(why);

			snprintf(why + n, whylen - n, ": %s",
				 mmf_op_format(&p->ops[i], buf, sizeof(buf)));
			return false;
		}
	}
	return true;
}

/* 100k random byte strings: decoding is total and round-trips. */
static void test_totality(void)
{
	enum { N = 100000 };
	uint64_t seed = 0x5eed;
	uint8_t *buf = malloc(4096);
	unsigned bad_any = 0, bad_kernel = 0, bad_text = 0, bad_kmode = 0, bad_max = 0;
	unsigned long total_ops = 0;
	char why[1400] = "", kwhy[1400] = "";
	struct mmf_prog p, q;

	mmf_prog_init(&p);
	mmf_prog_init(&q);
	for (unsigned i = 0; i < N; i++) {
		uint64_t r = splitmix(&seed);
		size_t len = (r & 31) == 0 ? r % 4096 : r % 200;
		unsigned style = (unsigned)(r >> 32) % 4;

		for (size_t k = 0; k < len; k++) {
			uint64_t x = splitmix(&seed);

			/* uniform bytes, or biased towards the selector edges */
			if (style == 0)
				buf[k] = (uint8_t)x;
			else if (style == 1)
				buf[k] = (x & 0x300) ? (uint8_t)(0xe0 + (x & 0x1f)) : (uint8_t)x;
			else if (style == 2)
				buf[k] = (x & 0x300) ? (uint8_t)(x & 0x0f) : (uint8_t)x;
			else
				buf[k] = (x & 0x100) ? 0xff : (uint8_t)x;
		}
		mmf_prog_decode(&p, i % 97 ? buf : NULL, i % 97 ? len : 0, MMF_DECODE_ANY);
		total_ops += p.nr_ops;
		if (p.nr_ops > MMF_PROG_MAX_OPS || p.nr_ops > len)
			bad_max++;
		if (!bin_round_trip(&p, MMF_DECODE_ANY))
			bad_any++;
		if (i % 10 == 0 && !text_round_trip(&p, why, sizeof(why)))
			bad_text++;

		mmf_prog_decode(&q, buf, len, MMF_DECODE_KERNEL);
		if (!prog_kernel_ok(&q, kwhy, sizeof(kwhy)))
			bad_kmode++;
		/* a kernel program encodes to bytes that decode the same in both modes */
		if (!bin_round_trip(&q, MMF_DECODE_KERNEL) || !bin_round_trip(&q, MMF_DECODE_ANY))
			bad_kernel++;
	}
	CHECK(bad_max == 0, "%u programs too long", bad_max);
	CHECK(bad_any == 0, "%u of %d programs do not survive encode/decode", bad_any, N);
	CHECK(bad_text == 0, "%u programs do not survive format/parse, e.g. %s", bad_text, why);
	CHECK(bad_kmode == 0, "%u kernel-mode programs break the rules, e.g. %s", bad_kmode, kwhy);
	CHECK(bad_kernel == 0, "%u kernel-mode programs do not round-trip", bad_kernel);
	CHECK(total_ops > N, "decoded only %lu ops", total_ops);

	/* the op limit, and reading past the end */
	memset(buf, 0x08, 4096);	/* fork p0, fork p0, ... */
	mmf_prog_decode(&p, buf, 4096, MMF_DECODE_ANY);
	CHECK(p.nr_ops == MMF_PROG_MAX_OPS, "%u ops", p.nr_ops);
	buf[0] = 0xff;	/* opcode 0xff % 32 = 31: madvise, args past the end */
	mmf_prog_decode(&p, buf, 1, MMF_DECODE_ANY);
	CHECK(p.nr_ops == 1 && p.ops[0].kind == MMF_OP_MADVISE, "0xff is madvise (%u ops)", p.nr_ops);
	buf[0] = 0x00;
	mmf_prog_decode(&p, buf, 1, MMF_DECODE_ANY);
	CHECK(p.nr_ops == 1 && strcmp(mmf_op_format(&p.ops[0], why, sizeof(why)),
				      "mmap p0 0x10000 0x1000 --- private anon fixed") == 0,
	      "zero mmap: '%s'", why);
	mmf_prog_free(&p);
	mmf_prog_free(&q);
	free(buf);
}

static void test_opcodes(void)
{
	static const uint8_t want[MMF_OP__COUNT] = {
		[MMF_OP_MMAP] = 0x00, [MMF_OP_MUNMAP] = 0x01, [MMF_OP_MPROTECT] = 0x02,
		[MMF_OP_MREMAP] = 0x03, [MMF_OP_MADVISE] = 0x04, [MMF_OP_SET_NAME] = 0x05,
		[MMF_OP_READ] = 0x06, [MMF_OP_WRITE] = 0x07, [MMF_OP_FORK] = 0x08,
		[MMF_OP_EXIT] = 0x09, [MMF_OP_FILE_CREATE] = 0x0a, [MMF_OP_TRUNCATE] = 0x0b,
		[MMF_OP_FILE_READ] = 0x0c, [MMF_OP_FILE_WRITE] = 0x0d,
	};
	for (int k = 0; k < MMF_OP__COUNT; k++)
		CHECK(mmf_prog_opcode((enum mmf_op_kind)k) == want[k], "opcode of %s",
		      mmf_op_name((enum mmf_op_kind)k));

	/* a hand-assembled input: the documented layout */
	{
		const uint8_t in[] = {
			0x0a, 0x03,		/* file_create 4 pages */
			/* mmap private file fixed, p0, literal 0x10000000, 2 pages, r--,
			 * f0 (live #0), pgoff 2 */
			0x00, 0x02, 0x00, 0xff, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
			0x01, 0x01, 0x00, 0x02,
			0x06, 0x00, 0x00, 0x01,	/* read p0 pool[0]+1 page */
			0x07, 0xf1, 0xe1, 0x10, 0x2a,	/* write p1 (literal), pool[1]+16 bytes, 0x2a */
		};
		struct mmf_prog p;
		char *text;

		mmf_prog_init(&p);
		mmf_prog_decode(&p, in, sizeof(in), MMF_DECODE_ANY);
		text = print_to_string(&p);
		CHECK(strcmp(text, "file_create 0x4000\n"
				   "mmap p0 0x10000000 0x2000 r-- private f0 pgoff=2 fixed\n"
				   "read p0 0x10001000\n"
				   "write p1 0x10002010 0x2a\n") == 0, "decoded:\n%s", text);
		free(text);
		mmf_prog_free(&p);
	}
}

static void test_generator(void)
{
	struct mmf_prog a, b;
	char why[1400] = "";
	unsigned differ = 0, wrong_len = 0, bad_rt = 0, bad_k = 0, bad_text = 0;
	unsigned long fixed_maps = 0, maps = 0;
	bool seen[MMF_OP__COUNT] = { 0 };

	mmf_prog_init(&a);
	mmf_prog_init(&b);
	for (uint64_t seed = 0; seed < 300; seed++) {
		uint32_t n = (uint32_t)(seed % 120) + 1;

		mmf_prog_generate(&a, seed, n, MMF_DECODE_ANY);
		mmf_prog_generate(&b, seed, n, MMF_DECODE_ANY);
		if (!mmf_prog_equal(&a, &b))
			differ++;
		if (a.nr_ops != n)
			wrong_len++;
		if (!bin_round_trip(&a, MMF_DECODE_ANY))
			bad_rt++;
		if (!text_round_trip(&a, why, sizeof(why)))
			bad_text++;
		for (uint32_t i = 0; i < a.nr_ops; i++) {
			seen[a.ops[i].kind] = true;
			if (a.ops[i].kind == MMF_OP_MMAP) {
				maps++;
				fixed_maps += !!(a.ops[i].flags & MAP_FIXED);
			}
		}
		mmf_prog_generate(&b, seed, n, MMF_DECODE_KERNEL);
		if (b.nr_ops != n)
			wrong_len++;
		if (!prog_kernel_ok(&b, why, sizeof(why)) || !bin_round_trip(&b, MMF_DECODE_KERNEL))
			bad_k++;
	}
	CHECK(differ == 0, "generator is not deterministic (%u)", differ);
	CHECK(wrong_len == 0, "%u programs of the wrong length", wrong_len);
	CHECK(bad_rt == 0, "%u generated programs do not round-trip", bad_rt);
	CHECK(bad_text == 0, "%u generated programs do not survive text: %s", bad_text, why);
	CHECK(bad_k == 0, "%u kernel programs break the rules: %s", bad_k, why);
	for (int k = 0; k < MMF_OP__COUNT; k++)
		CHECK(seen[k], "generator never made %s", mmf_op_name((enum mmf_op_kind)k));
	CHECK(maps && fixed_maps * 2 > maps, "%lu of %lu mmaps fixed", fixed_maps, maps);

	mmf_prog_generate(&a, 1, 50, MMF_DECODE_ANY);
	mmf_prog_generate(&b, 2, 50, MMF_DECODE_ANY);
	CHECK(!mmf_prog_equal(&a, &b), "different seeds give the same program");
	mmf_prog_generate(&a, 1, 100000, MMF_DECODE_ANY);
	CHECK(a.nr_ops == MMF_PROG_MAX_OPS, "nr_ops is capped (%u)", a.nr_ops);
	mmf_prog_generate(&a, 1, 0, MMF_DECODE_ANY);
	CHECK(a.nr_ops == 0, "0 ops");
	mmf_prog_free(&a);
	mmf_prog_free(&b);
}

static char tmpdir[] = "/tmp/test_prog.XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	return path;
}

static void test_load(void)
{
	struct mmf_prog p, q;
	char err[512], want[512];
	const char *path;
	uint8_t bin[4096];
	size_t n;

	if (!mkdtemp(tmpdir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	mmf_prog_init(&p);
	mmf_prog_init(&q);

	path = write_file("all.mmf", all_ops, strlen(all_ops));
	CHECK(mmf_prog_load(&p, path, err, sizeof(err)) == 0 && p.nr_ops == 41, "%s", err);

	n = mmf_prog_encode(&p, bin, sizeof(bin));
	CHECK(n < sizeof(bin) && bin[0] == 0x0a, "encoded %zu bytes", n);
	path = write_file("all.bin", bin, n);
	CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == 0 && mmf_prog_equal(&p, &q),
	      "binary load: %s", err);

	/* loading replaces the program */
	CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == 0 && q.nr_ops == 41, "reload");

	path = write_file("empty", "", 0);
	CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == 0 && q.nr_ops == 0, "empty file");

	path = write_file("utf8.mmf", "fork p0 # na\xc3\xafve\n", strlen("fork p0 # na\xc3\xafve\n"));
	CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == 0 && q.nr_ops == 1 &&
	      q.ops[0].kind == MMF_OP_FORK, "UTF-8 comment: %s", err);

	path = write_file("bad.mmf", "# x\nfork p0\nmunmap p0 1\n", 24);
	snprintf(want, sizeof(want), "%s: munmap: missing LEN (usage: munmap pN ADDR LEN)",
		 path);
	CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == -1 && strstr(err, ":3: munmap:") &&
	      strncmp(err, path, strlen(path)) == 0, "got '%s'", err);

	/* printable bytes are text unless the format is forced */
	path = write_file("printable", "abc", 3);
	CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == -1, "printable is text");
	CHECK(mmf_prog_load_as(&q, path, MMF_LOAD_BINARY, MMF_DECODE_ANY, err, sizeof(err)) == 0 &&
	      q.nr_ops >= 1, "forced binary: %s", err);
	path = write_file("text-as-bin", "\x05\x00", 2);
	CHECK(mmf_prog_load_as(&q, path, MMF_LOAD_TEXT, MMF_DECODE_ANY, err, sizeof(err)) == -2,
	      "forced text");
	CHECK(mmf_prog_load_as(&q, path, MMF_LOAD_AUTO, MMF_DECODE_KERNEL, err, sizeof(err)) == 0 &&
	      q.nr_ops == 1 && q.ops[0].kind == MMF_OP_MUNMAP, "kernel-mode binary load");

	/* a text program with a NUL byte is text, and its NUL an error at its
	 * line: not a binary input, not "too many tokens" (strchr matched the
	 * terminator: every NUL was an empty token) */
	{
		static const char nul_op[] = "fork p0\nmun\0map p0 0x1000 0x1000\n";
		static const char nul_leading_comment[] = "# c\nfork p0\nfork p0\0\n";
		static const char nul_comment[] = "fork p0 # x\0y\n";
		static const char nul_thread[] = "file_create 0x1000\nthread 1\n    fork p0\0\n";
		static const char nul_directive[] = "fork p0\nthread\0 1\n    fork p0\n";
		struct mmf_cprog c;

		path = write_file("nul-op.mmf", nul_op, sizeof(nul_op) - 1);
		CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == -1 &&
		      strstr(err, "nul-op.mmf:2: NUL byte at column 4 (a text program holds none"),
		      "NUL in an op: '%s'", err);
		CHECK(mmf_prog_load_as(&q, path, MMF_LOAD_BINARY, MMF_DECODE_ANY, err,
				       sizeof(err)) == 0, "forced binary: %s", err);
		path = write_file("nul-comment.mmf", nul_leading_comment,
				  sizeof(nul_leading_comment) - 1);
		CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == -1 &&
		      strstr(err, "nul-comment.mmf:3: NUL byte at column 8") &&
		      !strstr(err, "too many tokens"), "NUL, leading comment: '%s'", err);
		CHECK(mmf_prog_parse(&q, nul_comment, sizeof(nul_comment) - 1, "t.mmf", err,
				     sizeof(err)) == -1 && strstr(err, "t.mmf:1: NUL byte at column 12"),
		      "NUL in a comment: '%s'", err);
		mmf_cprog_init(&c);
		path = write_file("nul-thread.mmf", nul_thread, sizeof(nul_thread) - 1);
		CHECK(mmf_cprog_load(&c, path, err, sizeof(err)) != 0 &&
		      strstr(err, "nul-thread.mmf:3: NUL byte at column 12"),
		      "concurrent, NUL in an op: '%s'", err);
		path = write_file("nul-directive.mmf", nul_directive, sizeof(nul_directive) - 1);
		CHECK(mmf_cprog_load(&c, path, err, sizeof(err)) != 0 &&
		      strstr(err, "nul-directive.mmf:2: NUL byte at column 7"),
		      "concurrent, NUL in a directive: '%s'", err);
		mmf_cprog_free(&c);
		/* a binary input is mostly NULs and small bytes: still binary */
		path = write_file("nul-bin", "\0\0\x01\0", 4);
		CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == 0, "binary: '%s'", err);
	}

	snprintf(want, sizeof(want), "%s/nonexistent", tmpdir);
	CHECK(mmf_prog_load(&q, want, err, sizeof(err)) == -1 &&
	      strstr(err, "nonexistent: cannot open: No such file or directory"), "got '%s'", err);
	CHECK(mmf_prog_load(&q, tmpdir, err, sizeof(err)) == -1 && strstr(err, "read error"),
	      "directory: '%s'", err);

	path = write_file("huge", "", 0);
	CHECK(truncate(path, (off_t)MMF_PROG_FILE_MAX + 1) == 0, "truncate");
	CHECK(mmf_prog_load(&q, path, err, sizeof(err)) == -1 && strstr(err, "too large"),
	      "huge: '%s'", err);
	unlink(path);

	mmf_prog_free(&p);
	mmf_prog_free(&q);
	{
		const char *names[] = { "all.mmf", "all.bin", "empty", "utf8.mmf", "bad.mmf",
					"printable", "text-as-bin", "nul-op.mmf", "nul-comment.mmf",
					"nul-thread.mmf", "nul-directive.mmf", "nul-bin" };
		char f[300];

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(f, sizeof(f), "%s/%s", tmpdir, names[i]);
			unlink(f);
		}
		rmdir(tmpdir);
	}
}

static void test_append(void)
{
	struct mmf_prog p;
	struct mmf_op op = { .kind = MMF_OP_FORK };
	int r = 0;

	mmf_prog_init(&p);
	for (int i = 0; i < MMF_PROG_MAX_OPS; i++)
		r |= mmf_prog_append(&p, &op);
	CHECK(r == 0 && p.nr_ops == MMF_PROG_MAX_OPS, "append up to the limit");
	CHECK(mmf_prog_append(&p, &op) == -1 && p.nr_ops == MMF_PROG_MAX_OPS, "append beyond");
	mmf_prog_free(&p);
	CHECK(p.nr_ops == 0 && p.ops == NULL, "free resets");
}

/* ---- concurrent programs (prog/cprog.c) ---- */

static char *cprint_to_string(const struct mmf_cprog *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	mmf_cprog_print(f, c);
	fclose(f);
	return text;
}

/* binary -> cprog -> binary -> cprog, and cprog -> text -> cprog */
static bool cprog_round_trips(const struct mmf_cprog *c, char *why, size_t whylen)
{
	static uint8_t buf[1 << 17];
	static struct mmf_cprog d;
	size_t need = mmf_cprog_encode(c, buf, sizeof(buf));
	char err[256], *text;
	bool ok;

	if (need > sizeof(buf) || need != mmf_cprog_encode(c, NULL, 0)) {
		snprintf(why, whylen, "encode size %zu", need);
		return false;
	}
	mmf_cprog_decode(&d, buf, need, MMF_DECODE_ANY);
	if (!mmf_cprog_equal(c, &d)) {
		snprintf(why, whylen, "encode -> decode differs");
		return false;
	}
	text = cprint_to_string(c);
	ok = mmf_cprog_parse(&d, text, strlen(text), "printed", err, sizeof(err)) == 0 &&
	     mmf_cprog_equal(c, &d);
	if (!ok)
		snprintf(why, whylen, "print -> parse differs (%s):\n%s", err, text);
	free(text);
	return ok;
}

static void test_cprog(void)
{
	static const char text[] =
		"# a fault racing an munmap\n"
		"file_create 0x4000\n"
		"mmap p0 0x100000 0x4000 rw- private anon fixed\n"
		"thread 1   # thread 0 has no ops\n"
		"    write p0 0x100000 0x1\n"
		"    read p0 0x101000\n"
		"thread 3\n"
		"    munmap p0 0x100000 0x1000\n"
		"thread 1\n"
		"    fork p0\n"
		"schedule 01 00 03ff\n"
		"disjoint\n"
		"schedule 7f\n";
	static const char canon[] =
		"file_create 0x4000\n"
		"mmap p0 0x100000 0x4000 rw- private anon fixed\n"
		"thread 0\n"
		"thread 1\n"
		"    write p0 0x100000 0x1\n"
		"    read p0 0x101000\n"
		"    fork p0\n"
		"thread 2\n"
		"thread 3\n"
		"    munmap p0 0x100000 0x1000\n"
		"disjoint\n"
		"schedule 01 00 03 ff 7f\n";
	static struct mmf_cprog c, d;
	static const struct { const char *in, *err; } e[] = {
		{ "fork p0\nthread 4\n", "x:2: thread: '4' is not a thread number 0..3" },
		{ "thread\n", "x:1: thread: expected a thread number 0..3" },
		{ "thread 0 1\n", "x:1: thread: unexpected '1'" },
		{ "schedule 012\n", "x:1: schedule: '012' is not whole bytes (two hex digits each)" },
		{ "schedule zz\n", "x:1: schedule: 'zz' is not hex" },
		{ "disjoint now\n", "x:1: disjoint: unexpected 'now'" },
		{ "thread 0\nfork p0\nthread 1\n\nmunmap p0 1\n",
		  "x:5: munmap: missing LEN (usage: munmap pN ADDR LEN)" },
		{ "fork p0\nthread 2\nfork\n", "x:3: fork: missing process handle pN (usage: fork pN)" },
	};
	char err[256], why[512], *out;
	uint64_t rng = 7;

	mmf_cprog_init(&c);
	mmf_cprog_init(&d);
	CHECK(mmf_cprog_parse(&c, text, sizeof(text) - 1, "x", err, sizeof(err)) == 0, "%s", err);
	CHECK(c.setup.nr_ops == 2 && c.nr_threads == 4 && c.thread[0].nr_ops == 0 &&
	      c.thread[1].nr_ops == 3 && c.thread[3].nr_ops == 1 &&
	      c.thread[1].ops[2].kind == MMF_OP_FORK && c.sched_len == 5 &&
	      c.sched[3] == 0xff && (c.flags & MMF_CPROG_DISJOINT),
	      "sections: setup %u, threads %u", c.setup.nr_ops, c.nr_threads);
	out = cprint_to_string(&c);
	CHECK(strcmp(out, canon) == 0, "canonical text:\n%s", out);
	free(out);
	CHECK(cprog_round_trips(&c, why, sizeof(why)), "%s", why);

	/* a sequential program is a concurrent one without threads */
	CHECK(mmf_cprog_parse(&c, "fork p0\nexit p1\n", 16, "x", err, sizeof(err)) == 0 &&
	      c.nr_threads == 0 && c.setup.nr_ops == 2 && c.sched_len == 0, "sequential");

	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		int r = mmf_cprog_parse(&c, e[i].in, strlen(e[i].in), "x", err, sizeof(err));

		CHECK(r == -1 && strcmp(err, e[i].err) == 0, "'%s':\n   got  '%s'\n   want '%s'",
		      e[i].in, err, e[i].err);
		CHECK(c.setup.nr_ops == 0 && c.nr_threads == 0, "a failed parse leaves it empty");
	}

	/* any bytes decode; what they decode to survives both round trips */
	for (int i = 0; i < 20000; i++) {
		uint8_t bytes[512];
		size_t n = splitmix(&rng) % sizeof(bytes);

		for (size_t k = 0; k < n; k++)
			bytes[k] = (uint8_t)splitmix(&rng);
		if (n >= 3 && i % 2)	/* keep the schedule short half of the time */
			bytes[1] %= 16, bytes[2] = 0;
		mmf_cprog_decode(&c, bytes, n, i % 3 ? MMF_DECODE_ANY : MMF_DECODE_KERNEL);
		if (!cprog_round_trips(&c, why, sizeof(why))) {
			CHECK(0, "random input %d: %s", i, why);
			break;
		}
	}
	CHECK(1, "20000 random concurrent programs round-trip");
	mmf_cprog_free(&c);
	mmf_cprog_free(&d);
}

int main(void)
{
	/* the encoder's size query agrees with what it writes */
	{
		struct mmf_prog p;
		uint8_t small[3];

		mmf_prog_init(&p);
		mmf_prog_generate(&p, 99, 40, MMF_DECODE_ANY);
		CHECK(mmf_prog_encode(&p, NULL, 0) == mmf_prog_encode(&p, small, sizeof(small)) &&
		      mmf_prog_encode(&p, NULL, 0) > sizeof(small), "encode size");
		mmf_prog_free(&p);
	}
	test_append();
	test_all_ops();
	test_format_samples();
	test_errors();
	test_expectations();
	test_text_fuzz();
	test_opcodes();
	test_totality();
	test_generator();
	test_load();
	test_cprog();
	return CHECK_SUMMARY();
}
