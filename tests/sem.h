/* SPDX-License-Identifier: MIT */
/*
 * tests/sem.h - helpers of the semantic suite (tests/test_semantics.c).
 *
 * Every case runs on a fresh world of the implementation chosen with
 * --impl, drives it through impl->exec only, and asserts exact results:
 * return values (-errno spelled by name), values read, signals and their
 * si_code, the VMA list of a process formatted as one string, its resident
 * pages and the page cache of a file.  The first failed assertion ends the
 * case and prints the case name, file:line, expected and actual.
 *
 * VMA list format (one VMA per entry, "; " between entries, hex without 0x):
 *     START-END PROT{p|s} WHAT[NAME]{ gd}{ dc}{ wf}
 *   PROT  is "rwx" with '-' for a missing right, then 'p' private / 's' shared
 *   WHAT  is "anon" for private anonymous memory, "anon@PGOFF" for shared
 *         anonymous memory and "fN@PGOFF" for a mapping of file N
 *   NAME  is the anonymous name, if any
 *   gd/dc/wf are MAP_GROWSDOWN, MADV_DONTFORK, MADV_WIPEONFORK
 * e.g. "10000-12000 rw-p anon; 12000-13000 r--s f0@1; 20000-21000 rw-p anon[heap]".
 *
 * Resident pages: "ADDR=VALUE ..." (hex), ascending address; file pages:
 * "INDEX=VALUE ..." (index in decimal, value in hex).
 */
#ifndef MMF_TESTS_SEM_H
#define MMF_TESTS_SEM_H

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/mm.h"
#include "mmfuzz/uapi.h"

#define P	MMF_PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define RO	PROT_READ
#define NONE	PROT_NONE
#define PRIV	MAP_PRIVATE
#define SHARED	MAP_SHARED
#define FIXED	MAP_FIXED
#define NOREPL	MAP_FIXED_NOREPLACE
#define MAYMOVE	MREMAP_MAYMOVE
#define RFIXED	MREMAP_FIXED
#define DONTUNMAP MREMAP_DONTUNMAP

/* ---- registry and context ------------------------------------------------ */

struct sem_case {
	const char *name;
	void (*fn)(void);
	int line;
};

void sem_register(const char *name, void (*fn)(void), int line);

#define CASE(id)								\
	static void case_##id(void);						\
	__attribute__((constructor)) static void register_##id(void)		\
	{ sem_register(#id, case_##id, __LINE__); }				\
	static void case_##id(void)

struct sem_ctx {
	const struct mmf_impl *impl;
	struct mmf_world *w;
	const char *name;
	jmp_buf fail;
};
extern struct sem_ctx sem;

/*
 * Start the case over on a fresh world of this configuration (call it
 * first); a world the implementation refuses (the host kernel without the
 * feature) fails the case.
 */
void sem_configure(const char *file, int line, const struct mmf_config *cfg);
#define CONFIGURE(...) \
	sem_configure(__FILE__, __LINE__, &(const struct mmf_config){ __VA_ARGS__ })

/* Print the failure (case, file:line, what, expected, actual) and end the case. */
__attribute__((noreturn, format(printf, 3, 4)))
void sem_fail(const char *file, int line, const char *fmt, ...);

/* ---- operations ------------------------------------------------------------ */

struct mmf_res sem_exec(const struct mmf_op *op);

int64_t sem_mmap(int p, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
		 int file, uint64_t pgoff);
int64_t sem_munmap(int p, uint64_t addr, uint64_t len);
int64_t sem_mprotect(int p, uint64_t addr, uint64_t len, uint32_t prot);
int64_t sem_mremap(int p, uint64_t addr, uint64_t len, uint64_t new_len, uint32_t flags,
		   uint64_t new_addr);
int64_t sem_madvise(int p, uint64_t addr, uint64_t len, uint32_t advice);
int64_t sem_set_name(int p, uint64_t addr, uint64_t len, const char *name);
int64_t sem_fork(int p);
int64_t sem_exit(int p);
int64_t sem_file_create(uint64_t size);
int64_t sem_truncate(int f, uint64_t size);
int64_t sem_file_write(int f, uint64_t pgoff, uint64_t value);
struct mmf_res sem_file_read(int f, uint64_t pgoff);
struct mmf_res sem_read(int p, uint64_t addr);
struct mmf_res sem_write(int p, uint64_t addr, uint64_t value);

/* anonymous private / shared, file private / shared mmap shorthands */
#define MAP_ANON_P(p, a, l, prot, fl)	sem_mmap(p, a, l, prot, (fl) | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
#define MAP_ANON_S(p, a, l, prot, fl)	sem_mmap(p, a, l, prot, (fl) | MAP_SHARED | MAP_ANONYMOUS, -1, 0)
#define MAP_FILE_P(p, a, l, prot, fl, f, off) sem_mmap(p, a, l, prot, (fl) | MAP_PRIVATE, f, off)
#define MAP_FILE_S(p, a, l, prot, fl, f, off) sem_mmap(p, a, l, prot, (fl) | MAP_SHARED, f, off)

/* ---- observations ---------------------------------------------------------- */

/* Format process p's VMAs / resident pages, file f's pages into buf. */
bool sem_fmt_vmas(int p, char *buf, size_t len);
bool sem_fmt_pages(int p, char *buf, size_t len);
bool sem_fmt_file(int f, uint64_t *size, char *buf, size_t len);
void sem_fmt_procs(char *buf, size_t len);

/* ---- assertions --------------------------------------------------------------- */

void sem_expect_ret(const char *file, int line, const char *expr, int64_t actual, int64_t expected);
void sem_expect_maps(const char *file, int line, int p, const char *expected);
void sem_expect_pages(const char *file, int line, int p, const char *expected);
void sem_expect_file(const char *file, int line, int f, uint64_t size, const char *pages);
void sem_expect_procs(const char *file, int line, const char *expected);
void sem_expect_read(const char *file, int line, int p, uint64_t addr, uint64_t value);
void sem_expect_write(const char *file, int line, int p, uint64_t addr, uint64_t value);
void sem_expect_sig(const char *file, int line, bool write, int p, uint64_t addr, int sig, int code);
void sem_expect_fread(const char *file, int line, int f, uint64_t pgoff, int64_t ret, uint64_t value);

/* EQ(actual, expected): a return value (address, handle, 0 or -errno). */
#define EQ(actual, expected) sem_expect_ret(__FILE__, __LINE__, #actual, (int64_t)(actual), (int64_t)(expected))
/* MAPS(p, "..."): the exact VMA list of process p ("" when it has none). */
#define MAPS(p, s)	sem_expect_maps(__FILE__, __LINE__, p, s)
/* PAGES(p, "addr=value ..."): the exact resident pages of process p. */
#define PAGES(p, s)	sem_expect_pages(__FILE__, __LINE__, p, s)
/* FILE_IS(f, size, "index=value ..."): size and page cache of file f. */
#define FILE_IS(f, size, s) sem_expect_file(__FILE__, __LINE__, f, size, s)
/* PROCS("0 1 3"): the live process handles. */
#define PROCS(s)	sem_expect_procs(__FILE__, __LINE__, s)
/* READS(p, addr, v): the read succeeds (no signal) and returns v. */
#define READS(p, a, v)	sem_expect_read(__FILE__, __LINE__, p, a, v)
/* WRITES(p, addr, v): the write succeeds (ret 0, no signal). */
#define WRITES(p, a, v)	sem_expect_write(__FILE__, __LINE__, p, a, v)
/* READ_SIG / WRITE_SIG(p, addr, SIGSEGV, SEGV_MAPERR) */
#define READ_SIG(p, a, s, c)	sem_expect_sig(__FILE__, __LINE__, false, p, a, s, c)
#define WRITE_SIG(p, a, s, c)	sem_expect_sig(__FILE__, __LINE__, true, p, a, s, c)
/* FREAD(f, pgoff, ret, value): file_read returns ret (8 or 0) and value */
#define FREAD(f, pg, r, v) sem_expect_fread(__FILE__, __LINE__, f, pg, r, v)

#endif /* MMF_TESTS_SEM_H */
