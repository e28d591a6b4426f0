// SPDX-License-Identifier: MIT
/*
 * prog/text.c - the text form of a program: one op per line.
 *
 * Example:
 *
 *     # a comment; blank lines are fine
 *     file_create 0x4000                        # -> f0
 *     mmap p0 0x10000 0x4000 rw- private anon fixed
 *     mmap p0 0 0x2000 r-- shared f0 pgoff=1 noreplace
 *     mprotect p0 0x10000 0x1000 r-x
 *     mremap p0 0x10000 0x1000 0x2000 maymove fixed=0x40000 dontunmap
 *     madvise p0 0x11000 0x1000 wipeonfork
 *     set_name p0 0x12000 0x1000 "heap\x01"
 *     write p0 0x12000 0x2a
 *     read p0 0x12008
 *     fork p0                                   # -> p1
 *     exit p1
 *     truncate f0 0x1000
 *     file_write f0 3 0x2a
 *     file_read f0 3
 *
 * Grammar.  Tokens are separated by spaces or tabs; `#` outside a string
 * starts a comment that runs to the end of the line; \r is whitespace.
 *
 *   op      := 'fork' PROC
 *            | 'exit' PROC
 *            | 'mmap' PROC ADDR LEN PROT MFLAG...
 *            | 'munmap' PROC ADDR LEN
 *            | 'mprotect' PROC ADDR LEN PROT
 *            | 'mremap' PROC ADDR LEN NEWLEN RFLAG...
 *            | 'madvise' PROC ADDR LEN ADVICE
 *            | 'set_name' PROC ADDR LEN (STRING | 'null')
 *            | 'read' PROC ADDR
 *            | 'write' PROC ADDR VALUE
 *            | 'file_create' SIZE
 *            | 'truncate' FILE SIZE
 *            | 'file_read' FILE PGOFF
 *            | 'file_write' FILE PGOFF VALUE
 *   PROC    := 'p' DEC                      0..255 (p0 exists at start)
 *   FILE    := 'f' DEC                      0..255
 *   NUM     := DEC | '0x' HEX               any 64-bit value (ADDR LEN ...)
 *   PROT    := [r-][w-][x-] ['+' NUM]       e.g. rw-, r-x, ---+0x1000000
 *                                           (+NUM: further PROT_* bits)
 *   MFLAG   := 'private' | 'shared' | 'shared_validate'   (MAP_TYPE bits)
 *            | 'anon' | FILE                exactly one of them
 *            | 'pgoff=' NUM                 file offset in pages
 *            | 'fixed' | 'noreplace' | 'growsdown'
 *            | 'flags=' NUM                 further raw MAP_* bits
 *   RFLAG   := 'maymove' | 'fixed=' ADDR | 'dontunmap' | 'flags=' NUM
 *   ADVICE  := NUM | 'normal' | 'random' | 'sequential' | 'willneed'
 *            | 'dontneed' | 'free' | 'remove' | 'dontfork' | 'dofork'
 *            | 'mergeable' | 'unmergeable' | 'hugepage' | 'nohugepage'
 *            | 'dontdump' | 'dodump' | 'wipeonfork' | 'keeponfork'
 *            | 'cold' | 'pageout' | 'populate_read' | 'populate_write'
 *            | 'hwpoison' | 'guard_install' | 'guard_remove'
 *   line    := op ['=' RESULT]              RESULT: what the op is expected to
 *                                           return, spelt as `mmfuzz run` prints
 *                                           it: 0x10000, 0, -ENOMEM, -22, p1,
 *                                           f0, eof, SIGSEGV/MAPERR, SIGBUS/ADRERR
 *                                           (mmf_prog_parse_expect keeps it)
 *   STRING  := '"' ... '"' with escapes \\ \" \n \t \r \xHH; at most
 *              MMF_OP_NAME_MAX (127) bytes, no NUL
 *
 * MFLAG and RFLAG words may come in any order.  The canonical form
 * (mmf_op_format) writes numbers in hex (0 as "0"; page offsets in decimal),
 * mmap words in the order type, anon|fN, pgoff=, fixed, noreplace,
 * growsdown, flags= (only the bits no word covers), and mremap words as
 * maymove, fixed=, dontunmap, flags=.  format(parse(format(op))) ==
 * format(op), and parse(format(op)) == op for every op the binary decoder
 * produces.  An anonymous mmap has op->file == -1.
 *
 * Errors are reported as "FILE:LINE: message", e.g.
 *     t.mmf:3: unknown op 'mmapp'
 *     t.mmf:4: mmap: missing LEN (usage: mmap pN ADDR LEN PROT ...)
 *     t.mmf:5: munmap: bad number for LEN: '0xzz'
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/uapi.h"
#include "prog_ext.h"

#define MAX_TOKENS	32

/* ---- ops, their syntax ------------------------------------------------ */

static const char *const usage[MMF_OP__COUNT] = {
	[MMF_OP_FORK] = "fork pN",
	[MMF_OP_EXIT] = "exit pN",
	[MMF_OP_MMAP] = "mmap pN ADDR LEN PROT private|shared anon|fN [pgoff=N] "
			"[fixed] [noreplace] [growsdown] [flags=N]",
	[MMF_OP_MUNMAP] = "munmap pN ADDR LEN",
	[MMF_OP_MPROTECT] = "mprotect pN ADDR LEN PROT",
	[MMF_OP_MREMAP] = "mremap pN ADDR LEN NEWLEN [maymove] [fixed=ADDR] "
			  "[dontunmap] [flags=N]",
	[MMF_OP_MADVISE] = "madvise pN ADDR LEN ADVICE",
	[MMF_OP_SET_NAME] = "set_name pN ADDR LEN \"NAME\"|null",
	[MMF_OP_READ] = "read pN ADDR",
	[MMF_OP_WRITE] = "write pN ADDR VALUE",
	[MMF_OP_FILE_CREATE] = "file_create SIZE",
	[MMF_OP_TRUNCATE] = "truncate fN SIZE",
	[MMF_OP_FILE_READ] = "file_read fN PGOFF",
	[MMF_OP_FILE_WRITE] = "file_write fN PGOFF VALUE",
};

static const struct {
	const char *name;
	uint32_t advice;
} advices[] = {
	{ "normal", 0 }, { "random", 1 }, { "sequential", 2 }, { "willneed", 3 },
	{ "dontneed", 4 }, { "free", 8 }, { "remove", 9 }, { "dontfork", 10 },
	{ "dofork", 11 }, { "mergeable", 12 }, { "unmergeable", 13 },
	{ "hugepage", 14 }, { "nohugepage", 15 }, { "dontdump", 16 },
	{ "dodump", 17 }, { "wipeonfork", 18 }, { "keeponfork", 19 },
	{ "cold", 20 }, { "pageout", 21 }, { "populate_read", 22 },
	{ "populate_write", 23 }, { "hwpoison", 100 }, { "guard_install", 102 },
	{ "guard_remove", 103 },
};
#define NR_ADVICES (sizeof(advices) / sizeof(advices[0]))

/* MAP_* bits that have a word of their own. */
#define MMAP_WORD_BITS	(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | \
			 MAP_FIXED_NOREPLACE | MAP_GROWSDOWN)
#define MREMAP_WORD_BITS (MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)

/* ---- the parser --------------------------------------------------------- */

struct tok {
	const char *s;
	size_t n;
	bool quoted;
};

struct pctx {
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
	const char *opname;	/* for messages; NULL before the op is known */
	enum mmf_op_kind kind;
	struct tok tok[MAX_TOKENS];
	int ntok;
};

static int fail(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct pctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen) {
		if (c->opname)
			snprintf(c->err, c->errlen, "%s:%u: %s: %s", c->file, c->line,
				 c->opname, msg);
		else
			snprintf(c->err, c->errlen, "%s:%u: %s", c->file, c->line, msg);
	}
	return -1;
}

/* A token for a message: quoted, non-printables as '?', long ones cut. */
static const char *show(const struct tok *t, char buf[48])
{
	size_t i, n = t->n < 40 ? t->n : 40;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)t->s[i];

		buf[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (n < t->n) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);

	return !t->quoted && t->n == n && memcmp(t->s, word, n) == 0;
}

/* Does ch end a word?  (not strchr: that would match the NUL too) */
static bool ends_word(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v' || ch == '#';
}

/* Split one line (without its newline) into tokens; a NUL byte, even in a
 * comment, is an error (text holds none: a binary input read as text?). */
static int tokenize(struct pctx *c, const char *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);

	if (nul)
		return fail(c, "NUL byte at column %zu (a text program holds none; "
			    "a binary input is read with --binary)", (size_t)(nul - s) + 1);
	size_t i = 0;

	c->ntok = 0;
	while (i < n) {
		char ch = s[i];
		size_t start = i;

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') {
			i++;
			continue;
		}
		if (ch == '#')
			break;
		if (c->ntok == MAX_TOKENS)
			return fail(c, "too many tokens on one line (max %d)", MAX_TOKENS);
		if (ch == '"') {
			i++;
			while (i < n && s[i] != '"') {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				i++;
			}
			if (i >= n)
				return fail(c, "unterminated string");
			i++;	/* closing quote */
			if (i < n && !ends_word(s[i]))
				return fail(c, "junk after closing quote");
			c->tok[c->ntok++] = (struct tok){ s + start, i - start, true };
			continue;
		}
		while (i < n && !ends_word(s[i]))
			i++;
		c->tok[c->ntok++] = (struct tok){ s + start, i - start, false };
	}
	return 0;
}

static const struct tok *arg(struct pctx *c, int i, const char *what)
{
	if (i < c->ntok)
		return &c->tok[i];
	fail(c, "missing %s (usage: %s)", what, usage[c->kind]);
	return NULL;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 0: ok; -1: not a number; -2: does not fit in 64 bits */
static int scan_num(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (n == 2)
			return -1;
		for (i = 2; i < n; i++) {
			int d = hexval(s[i]);

			if (d < 0)
				return -1;
			if (v >> 60)
				return -2;
			v = v << 4 | (uint64_t)d;
		}
	} else {
		if (n == 0)
			return -1;
		for (i = 0; i < n; i++) {
			unsigned d = (unsigned char)s[i] - '0';

			if (d > 9)
				return -1;
			if (v > (UINT64_MAX - d) / 10)
				return -2;
			v = v * 10 + d;
		}
	}
	*out = v;
	return 0;
}

/* A number token, all of it or after a prefix like "pgoff=". */
static int num_at(struct pctx *c, const struct tok *t, size_t skip, const char *what,
		  uint64_t max, uint64_t *out)
{
	char b[48];
	int r = t->quoted ? -1 : scan_num(t->s + skip, t->n - skip, out);

	if (r == -1)
		return fail(c, "bad number for %s: '%s'", what, show(t, b));
	if (r == -2 || *out > max)
		return fail(c, "number too large for %s: '%s'", what, show(t, b));
	return 0;
}

static int num(struct pctx *c, int i, const char *what, uint64_t *out)
{
	const struct tok *t = arg(c, i, what);

	return t ? num_at(c, t, 0, what, UINT64_MAX, out) : -1;
}

static int handle(struct pctx *c, int i, char prefix, int32_t *out)
{
	const char *what = prefix == 'p' ? "process handle pN" : "file handle fN";
	const struct tok *t = arg(c, i, what);
	uint64_t v;
	char b[48];
	int r;

	if (!t)
		return -1;
	if (t->quoted || t->n < 2 || t->s[0] != prefix)
		return fail(c, "expected a %s, got '%s'", what, show(t, b));
	r = scan_num(t->s + 1, t->n - 1, &v);
	if (r == -1 || (t->n > 2 && t->s[1] == '0') || t->s[1] == 'x')
		return fail(c, "expected a %s, got '%s'", what, show(t, b));
	if (r == -2 || v > MMF_HANDLE_MAX)
		return fail(c, "handle out of range: '%s' (max %c%d)", show(t, b), prefix,
			    MMF_HANDLE_MAX);
	*out = (int32_t)v;
	return 0;
}

static int prot(struct pctx *c, int i, uint32_t *out)
{
	const struct tok *t = arg(c, i, "PROT");
	uint64_t extra = 0;
	char b[48];

	if (!t)
		return -1;
	if (t->quoted || t->n < 3 || (t->s[0] != 'r' && t->s[0] != '-') ||
	    (t->s[1] != 'w' && t->s[1] != '-') || (t->s[2] != 'x' && t->s[2] != '-') ||
	    (t->n > 3 && (t->s[3] != '+' || t->n == 4)))
		return fail(c, "bad prot '%s' (expected e.g. rw-, r-x or ---+0x1000000)",
			    show(t, b));
	if (t->n > 3 && num_at(c, t, 4, "PROT", UINT32_MAX, &extra))
		return -1;
	*out = (t->s[0] == 'r' ? PROT_READ : 0) | (t->s[1] == 'w' ? PROT_WRITE : 0) |
	       (t->s[2] == 'x' ? PROT_EXEC : 0) | (uint32_t)extra;
	return 0;
}

/* Decode a quoted string token into name[]. */
static int string(struct pctx *c, const struct tok *t, char *name)
{
	size_t i, n = 0;

	for (i = 1; i + 1 < t->n; i++) {
		unsigned char ch = (unsigned char)t->s[i];

		if (ch == '\\') {
			char e = t->s[++i];
			int hi, lo;

			switch (e) {
			case '\\': ch = '\\'; break;
			case '"': ch = '"'; break;
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'x':
				hi = i + 1 < t->n - 1 ? hexval(t->s[i + 1]) : -1;
				lo = i + 2 < t->n - 1 ? hexval(t->s[i + 2]) : -1;
				if (hi < 0 || lo < 0)
					return fail(c, "bad escape in string: \\x needs two hex digits");
				ch = (unsigned char)(hi << 4 | lo);
				i += 2;
				break;
			default:
				if ((unsigned char)e >= 0x20 && (unsigned char)e < 0x7f)
					return fail(c, "bad escape in string: '\\%c'", e);
				return fail(c, "bad escape in string");
			}
		}
		if (ch == 0)
			return fail(c, "NUL byte in name");
		if (n < MMF_OP_NAME_MAX)
			name[n] = (char)ch;
		n++;
	}
	if (n > MMF_OP_NAME_MAX)
		return fail(c, "name too long (%zu bytes, max %d)", n, MMF_OP_NAME_MAX);
	name[n] = '\0';
	return 0;
}

static int no_more(struct pctx *c, int i)
{
	char b[48];

	if (i < c->ntok)
		return fail(c, "trailing junk '%s' (usage: %s)", show(&c->tok[i], b),
			    usage[c->kind]);
	return 0;
}

static int parse_mmap_words(struct pctx *c, int i, struct mmf_op *op)
{
	uint32_t type = 0;
	bool anon = false, have_file = false;
	char b[48];

	for (; i < c->ntok; i++) {
		const struct tok *t = &c->tok[i];
		uint32_t ty = 0;
		uint64_t v;

		if (tok_is(t, "private"))
			ty = MAP_PRIVATE;
		else if (tok_is(t, "shared"))
			ty = MAP_SHARED;
		else if (tok_is(t, "shared_validate"))
			ty = MAP_SHARED_VALIDATE;
		if (ty) {
			if (type && type != ty)
				return fail(c, "conflicting mapping types '%s'", show(t, b));
			type = ty;
		} else if (tok_is(t, "anon")) {
			anon = true;
		} else if (!t->quoted && t->n >= 2 && t->s[0] == 'f' && isdigit((unsigned char)t->s[1])) {
			int32_t f = 0;

			if (handle(c, i, 'f', &f))
				return -1;
			if (have_file && f != op->file)
				return fail(c, "two files '%s'", show(t, b));
			have_file = true;
			op->file = f;
		} else if (!t->quoted && t->n > 6 && !memcmp(t->s, "pgoff=", 6)) {
			if (num_at(c, t, 6, "pgoff", UINT64_MAX, &op->pgoff))
				return -1;
		} else if (tok_is(t, "fixed")) {
			op->flags |= MAP_FIXED;
		} else if (tok_is(t, "noreplace")) {
			op->flags |= MAP_FIXED_NOREPLACE;
		} else if (tok_is(t, "growsdown")) {
			op->flags |= MAP_GROWSDOWN;
		} else if (!t->quoted && t->n > 6 && !memcmp(t->s, "flags=", 6)) {
			if (num_at(c, t, 6, "flags", UINT32_MAX, &v))
				return -1;
			op->flags |= (uint32_t)v;
		} else {
			return fail(c, "unknown flag '%s' (usage: %s)", show(t, b), usage[c->kind]);
		}
	}
	op->flags |= type | (anon ? MAP_ANONYMOUS : 0);
	if ((op->flags & MAP_ANONYMOUS) && have_file)
		return fail(c, "both anon and a file");
	if (!(op->flags & MAP_ANONYMOUS) && !have_file)
		return fail(c, "needs anon or a file handle fN (usage: %s)", usage[c->kind]);
	if (op->flags & MAP_ANONYMOUS)
		op->file = MMF_FILE_ANON;
	return 0;
}

static int parse_mremap_words(struct pctx *c, int i, struct mmf_op *op)
{
	char b[48];

	for (; i < c->ntok; i++) {
		const struct tok *t = &c->tok[i];
		uint64_t v;

		if (tok_is(t, "maymove")) {
			op->flags |= MREMAP_MAYMOVE;
		} else if (tok_is(t, "dontunmap")) {
			op->flags |= MREMAP_DONTUNMAP;
		} else if (!t->quoted && t->n >= 5 && !memcmp(t->s, "fixed", 5) &&
			   (t->n == 5 || t->s[5] == '=')) {
			if (t->n <= 6)
				return fail(c, "fixed needs an address: fixed=ADDR");
			if (num_at(c, t, 6, "fixed", UINT64_MAX, &op->new_addr))
				return -1;
			op->flags |= MREMAP_FIXED;
		} else if (!t->quoted && t->n > 6 && !memcmp(t->s, "flags=", 6)) {
			if (num_at(c, t, 6, "flags", UINT32_MAX, &v))
				return -1;
			op->flags |= (uint32_t)v;
		} else {
			return fail(c, "unknown flag '%s' (usage: %s)", show(t, b), usage[c->kind]);
		}
	}
	return 0;
}

static int parse_advice(struct pctx *c, int i, uint32_t *out)
{
	const struct tok *t = arg(c, i, "ADVICE");
	uint64_t v;
	char b[48];

	if (!t)
		return -1;
	for (size_t k = 0; k < NR_ADVICES; k++) {
		if (tok_is(t, advices[k].name)) {
			*out = advices[k].advice;
			return 0;
		}
	}
	if (!t->quoted && t->n && isdigit((unsigned char)t->s[0])) {
		if (num_at(c, t, 0, "ADVICE", UINT32_MAX, &v))
			return -1;
		*out = (uint32_t)v;
		return 0;
	}
	return fail(c, "unknown advice '%s' (a number or dontneed, dontfork, dofork, "
		    "wipeonfork, keeponfork, ...)", show(t, b));
}

/* An errno name as mmf_errno_name spells it. */
static bool is_errno_name(const char *s, size_t n)
{
	for (int e = 1; e < 4096; e++) {
		const char *name = mmf_errno_name(e);

		if (name && strlen(name) == n && !memcmp(name, s, n))
			return true;
	}
	return false;
}

static bool all_of(const char *s, size_t n, int (*cls)(int))
{
	for (size_t i = 0; i < n; i++)
		if (!cls((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* A RESULT word: one of the spellings of mmf_res_str. */
static bool is_result(const struct tok *t)
{
	const char *s = t->s;
	size_t n = t->n;

	if (t->quoted)
		return false;
	if (n > 1 && s[0] == '-')
		return is_errno_name(s + 1, n - 1) || all_of(s + 1, n - 1, isdigit);
	if (n > 2 && s[0] == '0' && s[1] == 'x')
		return all_of(s + 2, n - 2, isxdigit);
	if (n > 1 && (s[0] == 'p' || s[0] == 'f'))
		return all_of(s + 1, n - 1, isdigit);
	if (n == 3 && !memcmp(s, "eof", 3))
		return true;
	if (n > 8 && !memcmp(s, "SIGSEGV/", 8))
		return all_of(s + 8, n - 8, isupper);
	if (n > 7 && !memcmp(s, "SIGBUS/", 7))
		return all_of(s + 7, n - 7, isupper);
	return all_of(s, n, isdigit);
}

/*
 * Split off a trailing "= RESULT": the op's tokens end before the '='.
 * *res gets the result ("" if none).
 */
static int parse_expectation(struct pctx *c, char res[MMF_EXPECT_TEXT_MAX])
{
	char b[48];
	int i;

	res[0] = '\0';
	for (i = 0; i < c->ntok; i++)
		if (tok_is(&c->tok[i], "="))
			break;
	if (i == c->ntok)
		return 0;
	if (i == 0)
		return fail(c, "'=' without an op before it");
	if (i + 1 == c->ntok)
		return fail(c, "missing RESULT after '='");
	if (i + 2 < c->ntok)
		return fail(c, "trailing junk '%s' after the result", show(&c->tok[i + 2], b));
	if (!is_result(&c->tok[i + 1]) || c->tok[i + 1].n >= MMF_EXPECT_TEXT_MAX)
		return fail(c, "bad result '%s' after '=' (expected e.g. 0x10000, 0, "
			    "-ENOMEM, p1, eof, SIGSEGV/MAPERR)", show(&c->tok[i + 1], b));
	memcpy(res, c->tok[i + 1].s, c->tok[i + 1].n);
	res[c->tok[i + 1].n] = '\0';
	c->ntok = i;
	return 0;
}

/* Parse the tokens of one line into op. */
static int parse_op(struct pctx *c, struct mmf_op *op)
{
	const struct tok *t = &c->tok[0];
	char b[48];
	int k, i = 1;

	memset(op, 0, sizeof(*op));
	for (k = 0; k < MMF_OP__COUNT; k++)
		if (tok_is(t, mmf_op_name((enum mmf_op_kind)k)))
			break;
	if (k == MMF_OP__COUNT)
		return fail(c, "unknown op '%s'", show(t, b));
	op->kind = c->kind = (enum mmf_op_kind)k;
	c->opname = mmf_op_name(op->kind);

	switch (op->kind) {
	case MMF_OP_FORK:
	case MMF_OP_EXIT:
	case MMF_OP_READ:
	case MMF_OP_WRITE:
	case MMF_OP_MMAP:
	case MMF_OP_MUNMAP:
	case MMF_OP_MPROTECT:
	case MMF_OP_MREMAP:
	case MMF_OP_MADVISE:
	case MMF_OP_SET_NAME:
		if (handle(c, i++, 'p', &op->proc))
			return -1;
		break;
	case MMF_OP_TRUNCATE:
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		if (handle(c, i++, 'f', &op->file))
			return -1;
		break;
	default:
		break;
	}

	switch (op->kind) {
	case MMF_OP_FORK:
	case MMF_OP_EXIT:
		break;
	case MMF_OP_MMAP:
		if (num(c, i++, "ADDR", &op->addr) || num(c, i++, "LEN", &op->len) ||
		    prot(c, i++, &op->prot))
			return -1;
		return parse_mmap_words(c, i, op);
	case MMF_OP_MUNMAP:
		if (num(c, i++, "ADDR", &op->addr) || num(c, i++, "LEN", &op->len))
			return -1;
		break;
	case MMF_OP_MPROTECT:
		if (num(c, i++, "ADDR", &op->addr) || num(c, i++, "LEN", &op->len) ||
		    prot(c, i++, &op->prot))
			return -1;
		break;
	case MMF_OP_MREMAP:
		if (num(c, i++, "ADDR", &op->addr) || num(c, i++, "LEN", &op->len) ||
		    num(c, i++, "NEWLEN", &op->new_len))
			return -1;
		return parse_mremap_words(c, i, op);
	case MMF_OP_MADVISE:
		if (num(c, i++, "ADDR", &op->addr) || num(c, i++, "LEN", &op->len) ||
		    parse_advice(c, i++, &op->advice))
			return -1;
		break;
	case MMF_OP_SET_NAME:
		if (num(c, i++, "ADDR", &op->addr) || num(c, i++, "LEN", &op->len))
			return -1;
		t = arg(c, i++, "NAME");
		if (!t)
			return -1;
		if (tok_is(t, "null"))
			op->name_null = true;
		else if (!t->quoted)
			return fail(c, "expected a quoted name or null, got '%s'", show(t, b));
		else if (string(c, t, op->name))
			return -1;
		break;
	case MMF_OP_READ:
		if (num(c, i++, "ADDR", &op->addr))
			return -1;
		break;
	case MMF_OP_WRITE:
		if (num(c, i++, "ADDR", &op->addr) || num(c, i++, "VALUE", &op->value))
			return -1;
		break;
	case MMF_OP_FILE_CREATE:
		if (num(c, i++, "SIZE", &op->len))
			return -1;
		break;
	case MMF_OP_TRUNCATE:
		if (num(c, i++, "SIZE", &op->len))
			return -1;
		break;
	case MMF_OP_FILE_READ:
		if (num(c, i++, "PGOFF", &op->pgoff))
			return -1;
		break;
	case MMF_OP_FILE_WRITE:
		if (num(c, i++, "PGOFF", &op->pgoff) || num(c, i++, "VALUE", &op->value))
			return -1;
		break;
	default:
		break;
	}
	return no_more(c, i);
}

int mmf_prog_parse(struct mmf_prog *p, const char *text, size_t len,
		   const char *filename, char *err, size_t errlen)
{
	return mmf_prog_parse_expect(p, NULL, text, len, filename, err, errlen);
}

int mmf_prog_parse_expect(struct mmf_prog *p, struct mmf_expect *ex, const char *text,
			  size_t len, const char *filename, char *err, size_t errlen)
{
	struct pctx c = { .file = filename ? filename : "<input>", .err = err, .errlen = errlen };
	uint32_t orig = p->nr_ops;
	size_t pos = 0;

	if (err && errlen)
		err[0] = '\0';
	if (ex && !orig)
		memset(ex, 0, sizeof(*ex));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		char res[MMF_EXPECT_TEXT_MAX];
		struct mmf_op op;

		c.line++;
		c.opname = NULL;
		if (tokenize(&c, text + pos, end - pos))
			goto fail;
		pos = end + 1;
		if (c.ntok == 0)
			continue;
		if (parse_expectation(&c, res) || parse_op(&c, &op))
			goto fail;
		if (mmf_prog_append(p, &op)) {
			c.opname = NULL;
			fail(&c, "too many ops (max %d)", MMF_PROG_MAX_OPS);
			goto fail;
		}
		if (ex) {
			ex->line[p->nr_ops - 1] = c.line;
			memcpy(ex->res[p->nr_ops - 1], res, sizeof(res));
			ex->nr_expected += res[0] != '\0';
		}
	}
	if (ex)
		ex->nr_ops = p->nr_ops;
	return 0;
fail:
	p->nr_ops = orig;
	return -1;
}

/* ---- the printer -------------------------------------------------------- */

struct sb {
	char *buf;
	size_t len, pos;
};

static void put(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->pos >= b->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->pos, b->len - b->pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->pos += (size_t)n;
}

static void put_hex(struct sb *b, uint64_t v)
{
	if (v)
		put(b, " 0x%" PRIx64, v);
	else
		put(b, " 0");
}

static void put_pgoff(struct sb *b, const char *prefix, uint64_t v)
{
	if (v < 0x100000)
		put(b, "%s%" PRIu64, prefix, v);
	else
		put(b, "%s0x%" PRIx64, prefix, v);
}

static void put_prot(struct sb *b, uint32_t prot)
{
	char s[4];

	put(b, " %s", mmf_prot_str(prot, s));
	if (prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
		put(b, "+0x%" PRIx32, prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC));
}

static void put_name(struct sb *b, const char *name)
{
	put(b, " \"");
	for (size_t i = 0; i < MMF_OP_NAME_MAX && name[i]; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '"' || ch == '\\')
			put(b, "\\%c", ch);
		else if (ch >= 0x20 && ch < 0x7f)
			put(b, "%c", ch);
		else
			put(b, "\\x%02x", ch);
	}
	put(b, "\"");
}

char *mmf_op_format(const struct mmf_op *op, char *buf, size_t len)
{
	struct sb b = { buf, len, 0 };
	uint32_t f = op->flags;

	if (!len)
		return buf;
	buf[0] = '\0';
	if ((unsigned)op->kind >= MMF_OP__COUNT) {
		put(&b, "# bad op kind %d", (int)op->kind);
		return buf;
	}
	put(&b, "%s", mmf_op_name(op->kind));
	switch (op->kind) {
	case MMF_OP_TRUNCATE:
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		put(&b, " f%" PRId32, op->file);
		break;
	case MMF_OP_FILE_CREATE:
		break;
	default:
		put(&b, " p%" PRId32, op->proc);
		break;
	}
	switch (op->kind) {
	case MMF_OP_FORK:
	case MMF_OP_EXIT:
		break;
	case MMF_OP_MMAP:
		put_hex(&b, op->addr);
		put_hex(&b, op->len);
		put_prot(&b, op->prot);
		if ((f & MAP_SHARED_VALIDATE) == MAP_SHARED)
			put(&b, " shared");
		else if ((f & MAP_SHARED_VALIDATE) == MAP_PRIVATE)
			put(&b, " private");
		else if ((f & MAP_SHARED_VALIDATE) == MAP_SHARED_VALIDATE)
			put(&b, " shared_validate");
		if (f & MAP_ANONYMOUS)
			put(&b, " anon");
		else
			put(&b, " f%" PRId32, op->file);
		if (op->pgoff)
			put_pgoff(&b, " pgoff=", op->pgoff);
		if (f & MAP_FIXED)
			put(&b, " fixed");
		if (f & MAP_FIXED_NOREPLACE)
			put(&b, " noreplace");
		if (f & MAP_GROWSDOWN)
			put(&b, " growsdown");
		if (f & ~(uint32_t)MMAP_WORD_BITS)
			put(&b, " flags=0x%" PRIx32, f & ~(uint32_t)MMAP_WORD_BITS);
		break;
	case MMF_OP_MUNMAP:
		put_hex(&b, op->addr);
		put_hex(&b, op->len);
		break;
	case MMF_OP_MPROTECT:
		put_hex(&b, op->addr);
		put_hex(&b, op->len);
		put_prot(&b, op->prot);
		break;
	case MMF_OP_MREMAP:
		put_hex(&b, op->addr);
		put_hex(&b, op->len);
		put_hex(&b, op->new_len);
		if (f & MREMAP_MAYMOVE)
			put(&b, " maymove");
		if (f & MREMAP_FIXED)
			put(&b, " fixed=0x%" PRIx64, op->new_addr);
		if (f & MREMAP_DONTUNMAP)
			put(&b, " dontunmap");
		if (f & ~(uint32_t)MREMAP_WORD_BITS)
			put(&b, " flags=0x%" PRIx32, f & ~(uint32_t)MREMAP_WORD_BITS);
		break;
	case MMF_OP_MADVISE: {
		size_t k;

		put_hex(&b, op->addr);
		put_hex(&b, op->len);
		for (k = 0; k < NR_ADVICES; k++)
			if (advices[k].advice == op->advice)
				break;
		if (k < NR_ADVICES)
			put(&b, " %s", advices[k].name);
		else
			put(&b, " %" PRIu32, op->advice);
		break;
	}
	case MMF_OP_SET_NAME:
		put_hex(&b, op->addr);
		put_hex(&b, op->len);
		if (op->name_null)
			put(&b, " null");
		else
			put_name(&b, op->name);
		break;
	case MMF_OP_READ:
		put_hex(&b, op->addr);
		break;
	case MMF_OP_WRITE:
		put_hex(&b, op->addr);
		put_hex(&b, op->value);
		break;
	case MMF_OP_FILE_CREATE:
	case MMF_OP_TRUNCATE:
		put_hex(&b, op->len);
		break;
	case MMF_OP_FILE_READ:
		put_pgoff(&b, " ", op->pgoff);
		break;
	case MMF_OP_FILE_WRITE:
		put_pgoff(&b, " ", op->pgoff);
		put_hex(&b, op->value);
		break;
	default:
		break;
	}
	return buf;
}

void mmf_prog_print(FILE *out, const struct mmf_prog *p)
{
	char buf[MMF_OP_TEXT_MAX];

	for (uint32_t i = 0; i < p->nr_ops; i++)
		fprintf(out, "%s\n", mmf_op_format(&p->ops[i], buf, sizeof(buf)));
}
