// SPDX-License-Identifier: MIT
/*
 * lib/snapshot.c - the canonical snapshot: building, comparing, printing,
 * hashing.  Every implementation fills the same structs (zeroed first), so
 * equality is a byte comparison and printing is this one function.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/mm.h"

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("mmfuzz: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* Make room for one more element in an array of *cap (*count in use) of
 * `size` bytes, doubling; new slots are zeroed (freeing walks them). */
static void *grow(void *arr, uint32_t count, uint32_t *cap, size_t size)
{
	uint32_t old = *cap;

	if (count < old)
		return arr;
	*cap = old ? 2 * old : 4;
	arr = xrealloc(arr, (size_t)*cap * size);
	memset((char *)arr + (size_t)old * size, 0, (size_t)(*cap - old) * size);
	return arr;
}

void mmf_snap_init(struct mmf_snap *s)
{
	memset(s, 0, sizeof(*s));
}

void mmf_snap_free(struct mmf_snap *s)
{
	for (uint32_t i = 0; i < s->cap_procs; i++) {
		free(s->procs[i].vmas);
		free(s->procs[i].pages);
	}
	for (uint32_t i = 0; i < s->cap_files; i++)
		free(s->files[i].pages);
	free(s->procs);
	free(s->files);
	memset(s, 0, sizeof(*s));
}

void mmf_snap_reset(struct mmf_snap *s)
{
	s->nr_procs = 0;
	s->nr_files = 0;
}

struct mmf_snap_proc *mmf_snap_add_proc(struct mmf_snap *s, int pid)
{
	struct mmf_snap_proc *p;

	s->procs = grow(s->procs, s->nr_procs, &s->cap_procs, sizeof(*s->procs));
	p = &s->procs[s->nr_procs++];
	p->pid = pid;
	p->nr_vmas = 0;
	p->nr_pages = 0;
	return p;
}

struct mmf_snap_vma *mmf_snap_add_vma(struct mmf_snap_proc *p)
{
	struct mmf_snap_vma *v;

	p->vmas = grow(p->vmas, p->nr_vmas, &p->cap_vmas, sizeof(*p->vmas));
	v = &p->vmas[p->nr_vmas++];
	memset(v, 0, sizeof(*v));
	return v;
}

void mmf_snap_add_page(struct mmf_snap_proc *p, uint64_t addr, uint64_t value)
{
	struct mmf_snap_page *pg;

	p->pages = grow(p->pages, p->nr_pages, &p->cap_pages, sizeof(*p->pages));
	pg = &p->pages[p->nr_pages++];
	memset(pg, 0, sizeof(*pg));
	pg->addr = addr;
	pg->value = value;
}

struct mmf_snap_file *mmf_snap_add_file(struct mmf_snap *s, int fid, uint64_t size)
{
	struct mmf_snap_file *f;

	s->files = grow(s->files, s->nr_files, &s->cap_files, sizeof(*s->files));
	f = &s->files[s->nr_files++];
	f->fid = fid;
	f->size = size;
	f->nr_pages = 0;
	return f;
}

void mmf_snap_add_fpage(struct mmf_snap_file *f, uint64_t index, uint64_t value)
{
	struct mmf_snap_fpage *pg;

	f->pages = grow(f->pages, f->nr_pages, &f->cap_pages, sizeof(*f->pages));
	pg = &f->pages[f->nr_pages++];
	memset(pg, 0, sizeof(*pg));
	pg->index = index;
	pg->value = value;
}

/* ---- printing ------------------------------------------------------------ */

static void format_vma(const struct mmf_snap_vma *v, char *buf, size_t len)
{
	char prot[4], file[32];
	char flags[64] = "";

	mmf_prot_str(v->prot, prot);
	if (v->file == MMF_FILE_ANON)
		snprintf(file, sizeof(file), "%s", "anon");
	else
		snprintf(file, sizeof(file), "f%d", v->file);
	if (v->flags & MMF_VMA_GROWSDOWN)
		strcat(flags, " gd");
	if (v->flags & MMF_VMA_DONTCOPY)
		strcat(flags, " dc");
	if (v->flags & MMF_VMA_WIPEONFORK)
		strcat(flags, " wf");
	snprintf(buf, len, "%08" PRIx64 "-%08" PRIx64 " %s%c %08" PRIx64 " %s%s%s%.*s%s",
		 v->start, v->end, prot, (v->flags & MMF_VMA_SHARED) ? 's' : 'p',
		 v->pgoff << MMF_PAGE_SHIFT, file, flags,
		 v->has_name ? " [anon:" : "", MMF_ANON_NAME_MAX, v->name,
		 v->has_name ? "]" : "");
}

void mmf_snap_print(FILE *out, const struct mmf_snap *s)
{
	char line[256];

	for (uint32_t i = 0; i < s->nr_procs; i++) {
		const struct mmf_snap_proc *p = &s->procs[i];

		fprintf(out, "p%d: %u vmas, %u pages\n", p->pid, p->nr_vmas, p->nr_pages);
		for (uint32_t j = 0; j < p->nr_vmas; j++) {
			format_vma(&p->vmas[j], line, sizeof(line));
			fprintf(out, "  %s\n", line);
		}
		for (uint32_t j = 0; j < p->nr_pages; j++)
			fprintf(out, "  page %08" PRIx64 " = 0x%" PRIx64 "\n",
				p->pages[j].addr, p->pages[j].value);
	}
	for (uint32_t i = 0; i < s->nr_files; i++) {
		const struct mmf_snap_file *f = &s->files[i];

		fprintf(out, "f%d: size 0x%" PRIx64 ", %u cached pages\n",
			f->fid, f->size, f->nr_pages);
		for (uint32_t j = 0; j < f->nr_pages; j++)
			fprintf(out, "  page %" PRIu64 " = 0x%" PRIx64 "\n",
				f->pages[j].index, f->pages[j].value);
	}
}

/* ---- comparing ----------------------------------------------------------- */

static bool say(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool procs_equal(const struct mmf_snap_proc *a, const struct mmf_snap_proc *b,
			char *why, size_t len)
{
	char la[256], lb[256];
	uint32_t n;

	n = a->nr_vmas < b->nr_vmas ? a->nr_vmas : b->nr_vmas;
	for (uint32_t j = 0; j < n; j++) {
		if (memcmp(&a->vmas[j], &b->vmas[j], sizeof(a->vmas[j])) == 0)
			continue;
		format_vma(&a->vmas[j], la, sizeof(la));
		format_vma(&b->vmas[j], lb, sizeof(lb));
		return say(why, len, "vma: p%d vma %u: %s | %s", a->pid, j, la, lb);
	}
	if (a->nr_vmas != b->nr_vmas)
		return say(why, len, "vma: p%d has %u vmas | %u vmas",
			   a->pid, a->nr_vmas, b->nr_vmas);
	n = a->nr_pages < b->nr_pages ? a->nr_pages : b->nr_pages;
	for (uint32_t j = 0; j < n; j++) {
		const struct mmf_snap_page *pa = &a->pages[j], *pb = &b->pages[j];

		if (pa->addr != pb->addr)
			return say(why, len, "page: p%d page %u at %08" PRIx64 " | at %08" PRIx64,
				   a->pid, j, pa->addr, pb->addr);
		if (pa->value != pb->value)
			return say(why, len, "value: p%d page %08" PRIx64 " = 0x%" PRIx64 " | 0x%" PRIx64,
				   a->pid, pa->addr, pa->value, pb->value);
	}
	if (a->nr_pages != b->nr_pages)
		return say(why, len, "page: p%d has %u pages | %u pages",
			   a->pid, a->nr_pages, b->nr_pages);
	return true;
}

static bool files_equal(const struct mmf_snap_file *a, const struct mmf_snap_file *b,
			char *why, size_t len)
{
	uint32_t n;

	if (a->size != b->size)
		return say(why, len, "fsize: f%d size 0x%" PRIx64 " | 0x%" PRIx64,
			   a->fid, a->size, b->size);
	n = a->nr_pages < b->nr_pages ? a->nr_pages : b->nr_pages;
	for (uint32_t j = 0; j < n; j++) {
		const struct mmf_snap_fpage *pa = &a->pages[j], *pb = &b->pages[j];

		if (pa->index != pb->index)
			return say(why, len, "fpage: f%d page %u index %" PRIu64 " | %" PRIu64,
				   a->fid, j, pa->index, pb->index);
		if (pa->value != pb->value)
			return say(why, len, "fvalue: f%d page %" PRIu64 " = 0x%" PRIx64 " | 0x%" PRIx64,
				   a->fid, pa->index, pa->value, pb->value);
	}
	if (a->nr_pages != b->nr_pages)
		return say(why, len, "fpage: f%d has %u cached pages | %u",
			   a->fid, a->nr_pages, b->nr_pages);
	return true;
}

/*
 * The first difference is described as "<what>: <detail>", where <what> is
 * one of procs, vma, page, value, files, fsize, fpage, fvalue: the diff
 * engine builds its stable signature diff:<op>:snapshot:<what> from it.
 */
bool mmf_snap_equal(const struct mmf_snap *a, const struct mmf_snap *b,
		    char *why, size_t whylen)
{
	uint32_t n;

	n = a->nr_procs < b->nr_procs ? a->nr_procs : b->nr_procs;
	for (uint32_t i = 0; i < n; i++) {
		if (a->procs[i].pid != b->procs[i].pid)
			return say(why, whylen, "procs: process %u is p%d | p%d",
				   i, a->procs[i].pid, b->procs[i].pid);
		if (!procs_equal(&a->procs[i], &b->procs[i], why, whylen))
			return false;
	}
	if (a->nr_procs != b->nr_procs)
		return say(why, whylen, "procs: %u processes | %u processes",
			   a->nr_procs, b->nr_procs);
	n = a->nr_files < b->nr_files ? a->nr_files : b->nr_files;
	for (uint32_t i = 0; i < n; i++) {
		if (a->files[i].fid != b->files[i].fid)
			return say(why, whylen, "files: file %u is f%d | f%d",
				   i, a->files[i].fid, b->files[i].fid);
		if (!files_equal(&a->files[i], &b->files[i], why, whylen))
			return false;
	}
	if (a->nr_files != b->nr_files)
		return say(why, whylen, "files: %u files | %u files", a->nr_files, b->nr_files);
	return true;
}

/* ---- hashing (FNV-1a over the canonical bytes) ----------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t mmf_snap_hash(const struct mmf_snap *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < s->nr_procs; i++) {
		const struct mmf_snap_proc *p = &s->procs[i];

		h = fnv(h, &p->pid, sizeof(p->pid));
		h = fnv(h, &p->nr_vmas, sizeof(p->nr_vmas));
		h = fnv(h, p->vmas, p->nr_vmas * sizeof(*p->vmas));
		h = fnv(h, &p->nr_pages, sizeof(p->nr_pages));
		h = fnv(h, p->pages, p->nr_pages * sizeof(*p->pages));
	}
	for (uint32_t i = 0; i < s->nr_files; i++) {
		const struct mmf_snap_file *f = &s->files[i];

		h = fnv(h, &f->fid, sizeof(f->fid));
		h = fnv(h, &f->size, sizeof(f->size));
		h = fnv(h, &f->nr_pages, sizeof(f->nr_pages));
		h = fnv(h, f->pages, f->nr_pages * sizeof(*f->pages));
	}
	return h;
}
