// SPDX-License-Identifier: MIT
/*
 * prog/cprog.c - concurrent programs: setup ops, then up to four threads'
 * op lists, and the schedule bytes of the deterministic scheduler.  The
 * forms are documented with struct mmf_cprog in <mmfuzz/prog.h>.
 *
 * Ops are parsed, printed, encoded and decoded by the sequential program
 * code (text.c, binary.c); this file only adds the sections:
 *  - text: the directives `thread N`, `schedule HEX...` and `disjoint`;
 *    op lines are handed to mmf_prog_parse one section at a time, with the
 *    other sections' lines blanked so that errors keep their line numbers;
 *  - binary: a three-byte header and the schedule, then the sequential
 *    form whose opcode tags (bits 5-7) say which list an op belongs to.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prog_ext.h"

#define NO_THREAD	(-1)	/* the setup section */

void mmf_cprog_init(struct mmf_cprog *c)
{
	memset(c, 0, sizeof(*c));
	mmf_prog_init(&c->setup);
	for (int t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		mmf_prog_init(&c->thread[t]);
}

void mmf_cprog_free(struct mmf_cprog *c)
{
	mmf_prog_free(&c->setup);
	for (int t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		mmf_prog_free(&c->thread[t]);
	mmf_cprog_init(c);
}

static void cprog_clear(struct mmf_cprog *c)
{
	c->setup.nr_ops = 0;
	for (int t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		c->thread[t].nr_ops = 0;
	c->nr_threads = 0;
	c->flags = 0;
	c->sched_len = 0;
}

static struct mmf_prog *section(struct mmf_cprog *c, int thread)
{
	return thread == NO_THREAD ? &c->setup : &c->thread[thread];
}

void mmf_cprog_count_threads(struct mmf_cprog *c)
{
	c->nr_threads = 0;
	for (int t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		if (c->thread[t].nr_ops)
			c->nr_threads = (uint32_t)t + 1;
}

/* ---- binary ------------------------------------------------------------ */

#define HEADER_LEN	3	/* FLAGS, SCHED_LEN (2 bytes, little-endian) */

void mmf_cprog_decode(struct mmf_cprog *c, const uint8_t *data, size_t size,
		      enum mmf_decode_mode mode)
{
	uint8_t tags[MMF_PROG_MAX_OPS];
	struct mmf_prog all;
	size_t pos = 0, n;
	int cur = NO_THREAD;

	cprog_clear(c);
	if (!data)
		size = 0;
	if (size >= 1)
		c->flags = data[0] & MMF_CPROG_DISJOINT;
	if (size >= HEADER_LEN) {
		n = (data[1] | (size_t)data[2] << 8) % (MMF_CPROG_SCHED_MAX + 1);
		pos = HEADER_LEN;
		if (n > size - pos)
			n = size - pos;
		memcpy(c->sched, data + pos, n);
		c->sched_len = (uint32_t)n;
		pos += n;
	} else {
		pos = size;
	}

	mmf_prog_init(&all);
	mmf_prog_decode_tagged(&all, data ? data + pos : NULL, size - pos, mode, tags);
	for (uint32_t i = 0; i < all.nr_ops; i++) {
		if (tags[i])
			cur = (tags[i] - 1) % MMF_CPROG_MAX_THREADS;
		mmf_prog_append(section(c, cur), &all.ops[i]);
	}
	mmf_prog_free(&all);
	mmf_cprog_count_threads(c);
}

size_t mmf_cprog_encode(const struct mmf_cprog *c, uint8_t *out, size_t cap)
{
	uint8_t tags[MMF_PROG_MAX_OPS];
	struct mmf_prog all;
	uint8_t hdr[HEADER_LEN] = {
		(uint8_t)(c->flags & MMF_CPROG_DISJOINT),
		(uint8_t)(c->sched_len & 0xff), (uint8_t)(c->sched_len >> 8),
	};
	size_t len = 0, sched = c->sched_len;

	if (!out)
		cap = 0;
	if (sched > MMF_CPROG_SCHED_MAX)
		sched = MMF_CPROG_SCHED_MAX;
	hdr[1] = (uint8_t)(sched & 0xff);
	hdr[2] = (uint8_t)(sched >> 8);

	/* the setup first (tag 0), then each thread's list (tag t + 1) */
	mmf_prog_init(&all);
	for (uint32_t i = 0; i < c->setup.nr_ops; i++)
		if (mmf_prog_append(&all, &c->setup.ops[i]) == 0)
			tags[all.nr_ops - 1] = 0;
	for (int t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		for (uint32_t i = 0; i < c->thread[t].nr_ops; i++)
			if (mmf_prog_append(&all, &c->thread[t].ops[i]) == 0)
				tags[all.nr_ops - 1] = (uint8_t)(t + 1);

	if (len + HEADER_LEN <= cap)
		memcpy(out, hdr, HEADER_LEN);
	len += HEADER_LEN;
	if (len + sched <= cap)
		memcpy(out + len, c->sched, sched);
	len += sched;
	len += mmf_prog_encode_tagged(&all, tags, len <= cap ? out + len : NULL,
				      len <= cap ? cap - len : 0);
	mmf_prog_free(&all);
	return len;
}

/* ---- text --------------------------------------------------------------- */

struct cparse {
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
};

static int cfail(struct cparse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cfail(struct cparse *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->file, p->line, msg);
	return -1;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* The next word of [*s, end) (stops at a space or '#'); false at the end. */
static bool next_word(const char **s, const char *end, const char **w, size_t *n)
{
	const char *p = *s;

	while (p < end && is_space(*p))
		p++;
	if (p == end || *p == '#') {
		*s = p;
		return false;
	}
	*w = p;
	while (p < end && !is_space(*p) && *p != '#')
		p++;
	*n = (size_t)(p - *w);
	*s = p;
	return true;
}

static bool word_is(const char *w, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(w, lit, n) == 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int parse_schedule(struct cparse *p, struct mmf_cprog *c, const char *s,
			  const char *end)
{
	const char *w;
	size_t n;

	while (next_word(&s, end, &w, &n)) {
		if (n % 2)
			return cfail(p, "schedule: '%.*s' is not whole bytes (two hex digits each)",
				     (int)(n > 40 ? 40 : n), w);
		for (size_t i = 0; i < n; i += 2) {
			int hi = hex_digit(w[i]), lo = hex_digit(w[i + 1]);

			if (hi < 0 || lo < 0)
				return cfail(p, "schedule: '%.*s' is not hex",
					     (int)(n > 40 ? 40 : n), w);
			if (c->sched_len == MMF_CPROG_SCHED_MAX)
				return cfail(p, "schedule: longer than %d bytes",
					     MMF_CPROG_SCHED_MAX);
			c->sched[c->sched_len++] = (uint8_t)(hi << 4 | lo);
		}
	}
	return 0;
}

static int parse_thread(struct cparse *p, const char *s, const char *end, int *thread)
{
	const char *w;
	size_t n;

	if (!next_word(&s, end, &w, &n))
		return cfail(p, "thread: expected a thread number 0..%d",
			     MMF_CPROG_MAX_THREADS - 1);
	if (n != 1 || w[0] < '0' || w[0] >= '0' + MMF_CPROG_MAX_THREADS)
		return cfail(p, "thread: '%.*s' is not a thread number 0..%d",
			     (int)(n > 40 ? 40 : n), w, MMF_CPROG_MAX_THREADS - 1);
	*thread = w[0] - '0';
	if (next_word(&s, end, &w, &n))
		return cfail(p, "thread: unexpected '%.*s'", (int)(n > 40 ? 40 : n), w);
	return 0;
}

/*
 * Split the text: directives are applied here; each op line goes to its
 * section's text (lines[] says which section a line belongs to, -2 for
 * directive and blank lines).  Then each section's text, with every other
 * line left empty, is parsed by mmf_prog_parse, so its errors carry the
 * right line numbers.
 */
int mmf_cprog_parse(struct mmf_cprog *c, const char *text, size_t len,
		    const char *filename, char *err, size_t errlen)
{
	struct cparse p = { filename ? filename : "<input>", 0, err, errlen };
	char *buf = malloc(len + 1);
	int cur = NO_THREAD, ret = -1;
	bool seen_thread = false;
	uint32_t total = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!buf)
		return cfail(&p, "out of memory");
	cprog_clear(c);

	for (int sec = NO_THREAD; sec < MMF_CPROG_MAX_THREADS; sec++) {
		size_t pos = 0, out = 0;
		bool any = false;

		cur = NO_THREAD;
		p.line = 0;
		while (pos < len) {
			const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
			const char *end = nl ? nl : text + len;
			const char *s = line, *w;
			size_t n;
			bool op_line = false;

			p.line++;
			pos = (size_t)(end - text) + 1;
			if (sec == NO_THREAD && memchr(line, '\0', (size_t)(end - line))) {
				cfail(&p, "NUL byte at column %zu (a text program holds none; "
				      "a binary input is read with --binary)",
				      (size_t)((const char *)memchr(line, '\0', (size_t)(end - line)) - line) + 1);
				goto out;
			}
			if (!next_word(&s, end, &w, &n)) {
				/* blank or comment */
			} else if (word_is(w, n, "thread")) {
				if (parse_thread(&p, s, end, &cur))
					goto out;
				seen_thread = true;
			} else if (word_is(w, n, "schedule")) {
				if (sec == NO_THREAD && parse_schedule(&p, c, s, end))
					goto out;
			} else if (word_is(w, n, "disjoint")) {
				if (next_word(&s, end, &w, &n)) {
					cfail(&p, "disjoint: unexpected '%.*s'",
					      (int)(n > 40 ? 40 : n), w);
					goto out;
				}
				c->flags |= MMF_CPROG_DISJOINT;
			} else {
				op_line = cur == sec;
			}
			if (op_line) {
				memcpy(buf + out, line, (size_t)(end - line));
				out += (size_t)(end - line);
				any = true;
			}
			buf[out++] = '\n';
		}
		if (sec != NO_THREAD && !seen_thread)
			break;
		if (any && mmf_prog_parse(section(c, sec), buf, out, p.file, err, errlen))
			goto out;
		total += section(c, sec)->nr_ops;
		if (total > MMF_PROG_MAX_OPS) {
			p.line = 0;
			snprintf(err, errlen, "%s: too many ops in all sections (max %d)",
				 p.file, MMF_PROG_MAX_OPS);
			goto out;
		}
	}
	mmf_cprog_count_threads(c);
	ret = 0;
out:
	free(buf);
	if (ret)
		cprog_clear(c);
	return ret;
}

static void print_ops(FILE *out, const struct mmf_prog *p, const char *indent)
{
	char buf[MMF_OP_TEXT_MAX];

	for (uint32_t i = 0; i < p->nr_ops; i++)
		fprintf(out, "%s%s\n", indent, mmf_op_format(&p->ops[i], buf, sizeof(buf)));
}

void mmf_cprog_print(FILE *out, const struct mmf_cprog *c)
{
	print_ops(out, &c->setup, "");
	for (uint32_t t = 0; t < c->nr_threads && t < MMF_CPROG_MAX_THREADS; t++) {
		fprintf(out, "thread %u\n", t);
		print_ops(out, &c->thread[t], "    ");
	}
	if (c->flags & MMF_CPROG_DISJOINT)
		fputs("disjoint\n", out);
	for (uint32_t i = 0; i < c->sched_len && i < MMF_CPROG_SCHED_MAX; i += 32) {
		fputs("schedule", out);
		for (uint32_t k = i; k < i + 32 && k < c->sched_len; k++)
			fprintf(out, " %02x", c->sched[k]);
		fputc('\n', out);
	}
}

bool mmf_cprog_equal(const struct mmf_cprog *a, const struct mmf_cprog *b)
{
	if (a->nr_threads != b->nr_threads || a->flags != b->flags ||
	    a->sched_len != b->sched_len || memcmp(a->sched, b->sched, a->sched_len) ||
	    !mmf_prog_equal(&a->setup, &b->setup))
		return false;
	for (int t = 0; t < MMF_CPROG_MAX_THREADS; t++)
		if (!mmf_prog_equal(&a->thread[t], &b->thread[t]))
			return false;
	return true;
}

/* ---- files -------------------------------------------------------------- */

int mmf_cprog_load_as(struct mmf_cprog *c, const char *path, enum mmf_load_format fmt,
		      char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	bool text;
	int ret = 0;

	if (mmf_file_read(path, &buf, &len, &text, err, errlen))
		return -1;
	if (fmt != MMF_LOAD_AUTO)
		text = fmt == MMF_LOAD_TEXT;
	if (text)
		ret = mmf_cprog_parse(c, (const char *)buf, len, path, err, errlen);
	else
		mmf_cprog_decode(c, buf, len, MMF_DECODE_ANY);
	free(buf);
	return ret;
}

int mmf_cprog_load(struct mmf_cprog *c, const char *path, char *err, size_t errlen)
{
	return mmf_cprog_load_as(c, path, MMF_LOAD_AUTO, err, errlen);
}
