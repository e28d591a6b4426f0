// SPDX-License-Identifier: MIT
/*
 * prog/load.c - read a program from a file, text or binary.
 *
 * Auto-detection: a file is text if it starts with '#', or if it holds no
 * control bytes other than tab, newline, CR, FF, VT and is valid UTF-8 (so a
 * comment may hold "naïve"), NUL bytes aside when they are fewer than the
 * others (the parser rejects a NUL at its line: a text program with a stray
 * NUL is an error, not an unrelated binary program); otherwise it is a
 * binary fuzz input.  An empty
 * file is the empty program.  A fuzz input that happens to be all printable
 * is read as text: force the format (mmf_prog_load_as, `mmfuzz run
 * --binary`) to decode it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prog_ext.h"

/*
 * Is b text?  NUL bytes aside, every byte must be text (above); a file with
 * NUL bytes is text when they are fewer than its other bytes: a text
 * program with a stray NUL, which the parser then reports at its line (a
 * binary input is mostly small bytes, 0x00-0x1f).
 */
static bool looks_like_text(const uint8_t *b, size_t n)
{
	size_t i = 0, nul = 0;

	if (n && b[0] == '#')
		return true;
	while (i < n) {
		uint8_t c = b[i];
		size_t more;

		if (c == 0) {
			nul++;
			i++;
			continue;
		}
		if (c < 0x80) {
			if ((c < 0x20 && !strchr("\t\n\r\f\v", c)) || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef)
			more = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			more = 3;
		else
			return false;
		for (size_t k = 1; k <= more; k++)
			if (i + k >= n || (b[i + k] & 0xc0) != 0x80)
				return false;
		i += more + 1;
	}
	return nul < n - nul;
}

int mmf_file_read(const char *path, uint8_t **bufp, size_t *lenp, bool *text,
		  char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	uint8_t *buf = NULL;
	FILE *f;

	if (err && errlen)
		err[0] = '\0';
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *nb;

			if (cap > MMF_PROG_FILE_MAX)
				goto too_large;
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto fail;
	}
	if (len > MMF_PROG_FILE_MAX)
		goto too_large;
	fclose(f);
	*bufp = buf;
	*lenp = len;
	if (text)
		*text = looks_like_text(buf, len);
	return 0;
too_large:
	snprintf(err, errlen, "%s: too large (more than %u bytes)", path, MMF_PROG_FILE_MAX);
fail:
	free(buf);
	fclose(f);
	return -1;
}

int mmf_prog_load_as(struct mmf_prog *p, const char *path, enum mmf_load_format fmt,
		     enum mmf_decode_mode mode, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	bool text;
	int ret = 0;

	if (mmf_file_read(path, &buf, &len, &text, err, errlen))
		return -1;
	p->nr_ops = 0;
	if (fmt == MMF_LOAD_AUTO)
		fmt = text ? MMF_LOAD_TEXT : MMF_LOAD_BINARY;
	if (fmt == MMF_LOAD_TEXT)
		ret = mmf_prog_parse(p, (const char *)buf, len, path, err, errlen) ? -2 : 0;
	else
		mmf_prog_decode(p, buf, len, mode);
	free(buf);
	return ret;
}

int mmf_prog_load_expect(struct mmf_prog *p, struct mmf_expect *ex, const char *path,
			 char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int ret;

	if (mmf_file_read(path, &buf, &len, NULL, err, errlen))
		return -1;
	p->nr_ops = 0;
	ret = mmf_prog_parse_expect(p, ex, (const char *)buf, len, path, err, errlen) ? -2 : 0;
	free(buf);
	return ret;
}

int mmf_prog_load(struct mmf_prog *p, const char *path, char *err, size_t errlen)
{
	return mmf_prog_load_as(p, path, MMF_LOAD_AUTO, MMF_DECODE_ANY, err, errlen) ? -1 : 0;
}
