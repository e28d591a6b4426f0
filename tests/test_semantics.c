/* SPDX-License-Identifier: MIT */
/*
 * tests/test_semantics.c - the semantic suite: what Linux does, op by op,
 * asserted exactly against any implementation of the model.
 *
 *     test_semantics --impl reference     run every case on the reference
 *     test_semantics --impl core          ... on the optimized core
 *     test_semantics --impl kernel        ... on the host kernel (diff/kernel.c;
 *                                         ops it cannot check fail as SKIPPED)
 *     test_semantics --list               print the case names
 *     test_semantics --case NAME          run one case (may be repeated)
 *     test_semantics --no-fork            run cases in this process
 *
 * Each case runs on a fresh world (impl->world_new(NULL); a case that needs
 * another configuration starts with CONFIGURE(...), e.g. the pkey_* cases
 * with .exec_only_pkey), in a child process so that a crashing
 * implementation fails that case only.  The last
 * line printed is "N passed, N failed"; the exit status is non-zero when a
 * case failed.
 *
 * Where the expected values come from.  Every case says above it which
 * kernel rule it checks.  "host-verified" marks a case whose ops were run
 * on the host kernel (Linux 6.18, x86_64) and gave exactly the expected
 * results, layouts, pages and signals: model address A at host address
 * 0x200000000000 + A (MAP_FIXED), a real process per model process, a
 * memfd per model file, /proc/PID/smaps, /proc/PID/pagemap, mincore().
 * Every host-verified case passes with "--impl kernel" (diff/kernel.c);
 * they were also checked with an independent probe of the same design.
 * Cases without it check rules the host cannot show in that window
 * (top-down placement from MMF_MMAP_BASE, mmap_min_addr 0x10000, handle
 * limits, anon names: the host lacks CONFIG_ANON_VMA_NAME) and were derived
 * from the kernel source (mm/mmap.c, mm/vma.c, mm/mremap.c, mm/madvise.c,
 * kernel/sys.c).
 *
 * One known host quirk: the host boots with pvm_no_zero_page=1, so a read
 * fault of private anonymous memory there allocates a page (and an
 * anon_vma) instead of mapping the shared zero page.  Mainline Linux maps
 * the zero page; the cases that depend on it follow mainline and are not
 * marked host-verified (merge_forked_read_only_vma_merges).
 *
 * Rules worth knowing before reading an expectation: a read fault on a file
 * mapping also maps cached neighbours (fault-around, see file_fault_around;
 * other cases fault every page they list so that it cannot matter);
 * VM_ACCOUNT and VM_NOHUGEPAGE (MAP_STACK) are invisible in maps but decide
 * merges; mprotect stops at the first hole, madvise and set_name continue
 * past holes; a non-zero hint below mmap_min_addr is raised to it.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sem.h"

/* ---- registry ------------------------------------------------------------ */

#define SEM_MAX_CASES 256
static struct sem_case cases[SEM_MAX_CASES];
static int nr_cases;

void sem_register(const char *name, void (*fn)(void), int line)
{
	if (nr_cases == SEM_MAX_CASES) {
		fprintf(stderr, "too many cases\n");
		abort();
	}
	cases[nr_cases++] = (struct sem_case){ name, fn, line };
}

static int case_cmp(const void *a, const void *b)
{
	return ((const struct sem_case *)a)->line - ((const struct sem_case *)b)->line;
}

struct sem_ctx sem;

void sem_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s\n  %s:%d: ", sem.name, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	longjmp(sem.fail, 1);
}

void sem_configure(const char *file, int line, const struct mmf_config *cfg)
{
	sem.impl->world_free(sem.w);
	sem.w = sem.impl->world_new(cfg);
	if (!sem.w)
		sem_fail(file, line, "world_new refused the case's configuration");
}

/* ---- operations -------------------------------------------------------------- */

struct mmf_res sem_exec(const struct mmf_op *op)
{
	struct mmf_res r;

	memset(&r, 0, sizeof(r));
	sem.impl->exec(sem.w, op, &r);
	return r;
}

static struct mmf_op op_new(enum mmf_op_kind kind, int p)
{
	struct mmf_op op;

	memset(&op, 0, sizeof(op));
	op.kind = kind;
	op.proc = p;
	op.file = -1;
	return op;
}

int64_t sem_mmap(int p, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
		 int file, uint64_t pgoff)
{
	struct mmf_op op = op_new(MMF_OP_MMAP, p);

	op.addr = addr;
	op.len = len;
	op.prot = prot;
	op.flags = flags;
	op.file = file;
	op.pgoff = pgoff;
	return sem_exec(&op).ret;
}

int64_t sem_munmap(int p, uint64_t addr, uint64_t len)
{
	struct mmf_op op = op_new(MMF_OP_MUNMAP, p);

	op.addr = addr;
	op.len = len;
	return sem_exec(&op).ret;
}

int64_t sem_mprotect(int p, uint64_t addr, uint64_t len, uint32_t prot)
{
	struct mmf_op op = op_new(MMF_OP_MPROTECT, p);

	op.addr = addr;
	op.len = len;
	op.prot = prot;
	return sem_exec(&op).ret;
}

int64_t sem_mremap(int p, uint64_t addr, uint64_t len, uint64_t new_len, uint32_t flags,
		   uint64_t new_addr)
{
	struct mmf_op op = op_new(MMF_OP_MREMAP, p);

	op.addr = addr;
	op.len = len;
	op.new_len = new_len;
	op.flags = flags;
	op.new_addr = new_addr;
	return sem_exec(&op).ret;
}

int64_t sem_madvise(int p, uint64_t addr, uint64_t len, uint32_t advice)
{
	struct mmf_op op = op_new(MMF_OP_MADVISE, p);

	op.addr = addr;
	op.len = len;
	op.advice = advice;
	return sem_exec(&op).ret;
}

int64_t sem_set_name(int p, uint64_t addr, uint64_t len, const char *name)
{
	struct mmf_op op = op_new(MMF_OP_SET_NAME, p);

	op.addr = addr;
	op.len = len;
	if (name)
		snprintf(op.name, sizeof(op.name), "%s", name);
	else
		op.name_null = true;
	return sem_exec(&op).ret;
}

int64_t sem_fork(int p)
{
	struct mmf_op op = op_new(MMF_OP_FORK, p);

	return sem_exec(&op).ret;
}

int64_t sem_exit(int p)
{
	struct mmf_op op = op_new(MMF_OP_EXIT, p);

	return sem_exec(&op).ret;
}

int64_t sem_file_create(uint64_t size)
{
	struct mmf_op op = op_new(MMF_OP_FILE_CREATE, 0);

	op.len = size;
	return sem_exec(&op).ret;
}

int64_t sem_truncate(int f, uint64_t size)
{
	struct mmf_op op = op_new(MMF_OP_TRUNCATE, 0);

	op.file = f;
	op.len = size;
	return sem_exec(&op).ret;
}

int64_t sem_file_write(int f, uint64_t pgoff, uint64_t value)
{
	struct mmf_op op = op_new(MMF_OP_FILE_WRITE, 0);

	op.file = f;
	op.pgoff = pgoff;
	op.value = value;
	return sem_exec(&op).ret;
}

struct mmf_res sem_file_read(int f, uint64_t pgoff)
{
	struct mmf_op op = op_new(MMF_OP_FILE_READ, 0);

	op.file = f;
	op.pgoff = pgoff;
	return sem_exec(&op);
}

struct mmf_res sem_read(int p, uint64_t addr)
{
	struct mmf_op op = op_new(MMF_OP_READ, p);

	op.addr = addr;
	return sem_exec(&op);
}

struct mmf_res sem_write(int p, uint64_t addr, uint64_t value)
{
	struct mmf_op op = op_new(MMF_OP_WRITE, p);

	op.addr = addr;
	op.value = value;
	return sem_exec(&op);
}

/* ---- observations ------------------------------------------------------------ */

static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void take_snapshot(struct mmf_snap *s)
{
	mmf_snap_init(s);
	sem.impl->snapshot(sem.w, s);
}

static const struct mmf_snap_proc *find_proc(const struct mmf_snap *s, int p)
{
	for (uint32_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == p)
			return &s->procs[i];
	return NULL;
}

static void fmt_vma(const struct mmf_snap_vma *v, char *buf, size_t len)
{
	char prot[4];

	cat(buf, len, "%" PRIx64 "-%" PRIx64 " %s%c ", v->start, v->end,
	    mmf_prot_str(v->prot, prot), (v->flags & MMF_VMA_SHARED) ? 's' : 'p');
	/* bits the snapshot must not carry are shown, so that they fail */
	if (v->prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
		cat(buf, len, "{prot 0x%x}", v->prot);
	if (v->file == MMF_FILE_ANON && !(v->flags & MMF_VMA_SHARED))
		cat(buf, len, v->pgoff ? "anon{pgoff 0x%" PRIx64 "}" : "anon", v->pgoff);
	else if (v->file == MMF_FILE_ANON)
		cat(buf, len, "anon@%" PRIx64, v->pgoff);
	else
		cat(buf, len, "f%d@%" PRIx64, v->file, v->pgoff);
	if (v->has_name)
		cat(buf, len, "[%.*s]", MMF_ANON_NAME_MAX, v->name);
	if (v->flags & MMF_VMA_GROWSDOWN)
		cat(buf, len, " gd");
	if (v->flags & MMF_VMA_DONTCOPY)
		cat(buf, len, " dc");
	if (v->flags & MMF_VMA_WIPEONFORK)
		cat(buf, len, " wf");
	if (v->flags & ~(MMF_VMA_SHARED | MMF_VMA_GROWSDOWN | MMF_VMA_DONTCOPY | MMF_VMA_WIPEONFORK))
		cat(buf, len, " {flags 0x%x}", v->flags);
	if (!v->has_name && v->name[0])
		cat(buf, len, " {name without has_name}");
}

bool sem_fmt_vmas(int p, char *buf, size_t len)
{
	struct mmf_snap s;
	const struct mmf_snap_proc *sp;

	buf[0] = '\0';
	take_snapshot(&s);
	sp = find_proc(&s, p);
	if (sp) {
		for (uint32_t i = 0; i < sp->nr_vmas; i++) {
			if (i)
				cat(buf, len, "; ");
			fmt_vma(&sp->vmas[i], buf, len);
		}
	} else {
		cat(buf, len, "<no process p%d>", p);
	}
	mmf_snap_free(&s);
	return sp != NULL;
}

bool sem_fmt_pages(int p, char *buf, size_t len)
{
	struct mmf_snap s;
	const struct mmf_snap_proc *sp;

	buf[0] = '\0';
	take_snapshot(&s);
	sp = find_proc(&s, p);
	if (sp) {
		for (uint32_t i = 0; i < sp->nr_pages; i++)
			cat(buf, len, "%s%" PRIx64 "=%" PRIx64, i ? " " : "",
			    sp->pages[i].addr, sp->pages[i].value);
	} else {
		cat(buf, len, "<no process p%d>", p);
	}
	mmf_snap_free(&s);
	return sp != NULL;
}

bool sem_fmt_file(int f, uint64_t *size, char *buf, size_t len)
{
	struct mmf_snap s;
	const struct mmf_snap_file *sf = NULL;

	buf[0] = '\0';
	take_snapshot(&s);
	for (uint32_t i = 0; i < s.nr_files; i++)
		if (s.files[i].fid == f)
			sf = &s.files[i];
	if (sf) {
		*size = sf->size;
		for (uint32_t i = 0; i < sf->nr_pages; i++)
			cat(buf, len, "%s%" PRIu64 "=%" PRIx64, i ? " " : "",
			    sf->pages[i].index, sf->pages[i].value);
	} else {
		cat(buf, len, "<no file f%d>", f);
	}
	mmf_snap_free(&s);
	return sf != NULL;
}

void sem_fmt_procs(char *buf, size_t len)
{
	struct mmf_snap s;

	buf[0] = '\0';
	take_snapshot(&s);
	for (uint32_t i = 0; i < s.nr_procs; i++)
		cat(buf, len, "%s%d", i ? " " : "", s.procs[i].pid);
	mmf_snap_free(&s);
}

/* ---- assertions ---------------------------------------------------------------- */

#define SEM_BUF (1 << 18)	/* formatted VMA lists of a thousand VMAs fit */

static const char *ret_str(int64_t v, char *buf, size_t len)
{
	/* diff/diff.h: MMF_RES_SKIPPED, MMF_RES_HARNESS of the kernel backend */
	if (v == -4097) {
		snprintf(buf, len, "SKIPPED (the host backend cannot check this op)");
		return buf;
	}
	if (v == -4098) {
		snprintf(buf, len, "HARNESS failure");
		return buf;
	}
	if (v < 0 && v >= -4095) {
		const char *name = mmf_errno_name((int)-v);

		if (name)
			snprintf(buf, len, "-%s", name);
		else
			snprintf(buf, len, "-%" PRId64, -v);
	} else {
		snprintf(buf, len, "0x%" PRIx64, (uint64_t)v);
	}
	return buf;
}

static const char *res_str(const struct mmf_res *r, char *buf, size_t len)
{
	char tmp[48];

	snprintf(buf, len, "ret=%s value=0x%" PRIx64 " sig=%d si_code=%d",
		 ret_str(r->ret, tmp, sizeof(tmp)), r->value, r->sig, r->si_code);
	return buf;
}

static const char *sig_str(int sig, int code, char *buf, size_t len)
{
	const char *c = "?";

	if (sig == SIGSEGV && code == SEGV_MAPERR)
		c = "SEGV_MAPERR";
	else if (sig == SIGSEGV && code == SEGV_ACCERR)
		c = "SEGV_ACCERR";
	else if (sig == SIGSEGV && code == SEGV_PKUERR)
		c = "SEGV_PKUERR";
	else if (sig == SIGBUS && code == BUS_ADRERR)
		c = "BUS_ADRERR";
	snprintf(buf, len, "%s/%s", sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : "sig?", c);
	return buf;
}

void sem_expect_ret(const char *file, int line, const char *expr, int64_t actual, int64_t expected)
{
	char a[48], e[48];

	if (actual != expected)
		sem_fail(file, line, "%s\n    expected %s\n    actual   %s", expr,
			 ret_str(expected, e, sizeof(e)), ret_str(actual, a, sizeof(a)));
}

void sem_expect_maps(const char *file, int line, int p, const char *expected)
{
	static char buf[SEM_BUF];

	sem_fmt_vmas(p, buf, sizeof(buf));
	if (strcmp(buf, expected))
		sem_fail(file, line, "VMAs of p%d\n    expected \"%s\"\n    actual   \"%s\"",
			 p, expected, buf);
}

void sem_expect_pages(const char *file, int line, int p, const char *expected)
{
	static char buf[SEM_BUF];

	sem_fmt_pages(p, buf, sizeof(buf));
	if (strcmp(buf, expected))
		sem_fail(file, line, "resident pages of p%d\n    expected \"%s\"\n    actual   \"%s\"",
			 p, expected, buf);
}

void sem_expect_file(const char *file, int line, int f, uint64_t size, const char *pages)
{
	static char buf[SEM_BUF];
	uint64_t actual = 0;

	if (!sem_fmt_file(f, &actual, buf, sizeof(buf)) || actual != size || strcmp(buf, pages))
		sem_fail(file, line, "file f%d\n    expected size 0x%" PRIx64 " pages \"%s\"\n"
			 "    actual   size 0x%" PRIx64 " pages \"%s\"", f, size, pages, actual, buf);
}

void sem_expect_procs(const char *file, int line, const char *expected)
{
	char buf[256];

	sem_fmt_procs(buf, sizeof(buf));
	if (strcmp(buf, expected))
		sem_fail(file, line, "live processes\n    expected \"%s\"\n    actual   \"%s\"",
			 expected, buf);
}

void sem_expect_read(const char *file, int line, int p, uint64_t addr, uint64_t value)
{
	struct mmf_res r = sem_read(p, addr);
	char buf[128];

	if (r.sig || r.ret < 0 || r.value != value)
		sem_fail(file, line, "read p%d 0x%" PRIx64 "\n    expected value=0x%" PRIx64
			 " (no signal)\n    actual   %s", p, addr, value, res_str(&r, buf, sizeof(buf)));
}

void sem_expect_write(const char *file, int line, int p, uint64_t addr, uint64_t value)
{
	struct mmf_res r = sem_write(p, addr, value);
	char buf[128];

	if (r.sig || r.ret != 0)
		sem_fail(file, line, "write p%d 0x%" PRIx64 " 0x%" PRIx64
			 "\n    expected ret=0 (no signal)\n    actual   %s",
			 p, addr, value, res_str(&r, buf, sizeof(buf)));
}

void sem_expect_sig(const char *file, int line, bool write, int p, uint64_t addr, int sig, int code)
{
	struct mmf_res r = write ? sem_write(p, addr, 0x5157) : sem_read(p, addr);
	char buf[128], e[48];

	if (r.sig != sig || r.si_code != code || r.ret != 0)
		sem_fail(file, line, "%s p%d 0x%" PRIx64 "\n    expected %s\n    actual   %s",
			 write ? "write" : "read", p, addr, sig_str(sig, code, e, sizeof(e)),
			 res_str(&r, buf, sizeof(buf)));
}

void sem_expect_fread(const char *file, int line, int f, uint64_t pgoff, int64_t ret, uint64_t value)
{
	struct mmf_res r = sem_file_read(f, pgoff);
	char buf[128], e[48];

	if (r.ret != ret || (ret > 0 && r.value != value))
		sem_fail(file, line, "file_read f%d %" PRIu64 "\n    expected ret=%s value=0x%" PRIx64
			 "\n    actual   %s", f, pgoff, ret_str(ret, e, sizeof(e)), value,
			 res_str(&r, buf, sizeof(buf)));
}

/* Model addresses used throughout: well above mmap_min_addr, far below MMF_MMAP_BASE. */
#define A	0x10000000ULL
#define B	0x20000000ULL
#define C	0x30000000ULL
#define TOP	MMF_MMAP_BASE

/* ==== mmap: placement =================================================== */

/* mmap: a private anonymous MAP_FIXED mapping is placed exactly, reads 0
 * until written; a read fault maps a (zero) page, a write a private page. */
/* host-verified */
CASE(mmap_anon_private_fixed)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	MAPS(0, "10000000-10003000 rw-p anon");
	PAGES(0, "");
	WRITES(0, A + P, 0x2a);
	READS(0, A + P, 0x2a);
	READS(0, A + 2 * P, 0);
	PAGES(0, "10001000=2a 10002000=0");
}

/* mmap: the length is rounded up to whole pages. */
/* host-verified */
CASE(mmap_len_rounded_up)
{
	EQ(MAP_ANON_P(0, A, P + 1, RW, FIXED), A);
	MAPS(0, "10000000-10002000 rw-p anon");
	READS(0, A + P, 0);
}

/* mmap: shared anonymous memory is a shmem object at pgoff 0. */
/* host-verified */
CASE(mmap_anon_shared_fixed)
{
	EQ(MAP_ANON_S(0, A, 2 * P, RW, FIXED), A);
	MAPS(0, "10000000-10002000 rw-s anon@0");
	WRITES(0, A, 7);
	READS(0, A, 7);
	PAGES(0, "10000000=7");
}

/* do_mmap: the offset of an anonymous mapping is ignored (a shared one
 * starts at pgoff 0), and so is the file handle when MAP_ANONYMOUS is set. */
/* host-verified */
CASE(mmap_anon_ignores_offset_and_file)
{
	EQ(sem_file_create(4 * P), 0);
	EQ(sem_mmap(0, A, P, RW, MAP_SHARED | MAP_ANONYMOUS | FIXED, -1, 7), A);
	EQ(sem_mmap(0, B, P, RW, MAP_SHARED | MAP_ANONYMOUS | FIXED, 0, 2), B);
	EQ(sem_mmap(0, C, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | FIXED, 0, 3), C);
	MAPS(0, "10000000-10001000 rw-s anon@0; 20000000-20001000 rw-s anon@0; 30000000-30001000 rw-p anon");
	WRITES(0, B, 5);
	FREAD(0, 0, 8, 0);
	FILE_IS(0, 4 * P, "");
}

/* file_mmap_ok: a file mapping must end below MAX_LFS_FILESIZE (LLONG_MAX),
 * so the largest page offset for one page is (LLONG_MAX - 4096) >> 12. */
/* host-verified */
CASE(mmap_file_pgoff_overflow)
{
	EQ(sem_file_create(4 * P), 0);
	EQ(sem_mmap(0, A, P, PROT_READ, MAP_SHARED | FIXED, 0, 0x7ffffffffffffULL), -EOVERFLOW);
	EQ(sem_mmap(0, B, P, PROT_READ, MAP_SHARED | FIXED, 0, 0x7fffffffffffeULL), B);
	MAPS(0, "20000000-20001000 r--s f0@7fffffffffffe");
}

/* MAP_HUGETLB on a machine with one huge page size (2 MiB) and none
 * reserved: unknown sizes and unaligned fixed addresses are -EINVAL, an
 * overlapping NOREPLACE is -EEXIST, everything else fails the reservation
 * with -ENOMEM -- after a MAP_FIXED mapping has unmapped what it replaces
 * (the whole 2 MiB-rounded range). */
/* host-verified */
CASE(mmap_hugetlb_rules)
{
	const uint32_t huge = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;

	EQ(sem_mmap(0, A, 4 * P, RW, huge | FIXED, -1, 0), -ENOMEM);
	EQ(sem_mmap(0, A + 5 * P, 4 * P, RW, huge | FIXED, -1, 0), -EINVAL);
	EQ(sem_mmap(0, A, 0, RW, huge | FIXED, -1, 0), -EINVAL);
	EQ(sem_mmap(0, A, 4 * P, RW, huge | FIXED | (12u << 26), -1, 0), -EINVAL);
	EQ(sem_mmap(0, A, 4 * P, RW, huge | FIXED | (21u << 26), -1, 0), -ENOMEM);
	EQ(sem_mmap(0, A, 4 * P, RW, huge | FIXED | MAP_GROWSDOWN, -1, 0), -EINVAL);
	EQ(MAP_ANON_P(0, B, P, RW, FIXED), B);
	EQ(MAP_ANON_P(0, B + 0x100000, P, RW, FIXED), B + 0x100000);
	EQ(MAP_ANON_P(0, B + 0x200000, P, RW, FIXED), B + 0x200000);
	EQ(sem_mmap(0, B, 4 * P, RW, huge | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	MAPS(0, "20000000-20001000 rw-p anon; 20100000-20101000 rw-p anon; 20200000-20201000 rw-p anon");
	EQ(sem_mmap(0, B, 4 * P, RW, huge | FIXED, -1, 0), -ENOMEM);
	MAPS(0, "20200000-20201000 rw-p anon");
}

/* arch_get_unmapped_area_topdown: with no hint the first mapping ends at
 * mmap_base, the next one goes right below it (and merges when compatible). */
CASE(mmap_topdown_first_at_base)
{
	EQ(MAP_ANON_P(0, 0, 3 * P, RW, 0), TOP - 3 * P);
	EQ(MAP_ANON_P(0, 0, 2 * P, RO, 0), TOP - 5 * P);
	MAPS(0, "efffb000-efffd000 r--p anon; efffd000-f0000000 rw-p anon");
	EQ(MAP_ANON_P(0, 0, P, RO, 0), TOP - 6 * P);
	MAPS(0, "efffa000-efffd000 r--p anon; efffd000-f0000000 rw-p anon");
}

/* Top-down search fills the highest gap that fits, below mmap_base. */
CASE(mmap_topdown_uses_highest_gap)
{
	EQ(MAP_ANON_P(0, TOP - 2 * P, 2 * P, RW, FIXED), TOP - 2 * P);
	EQ(MAP_ANON_P(0, TOP - 5 * P, 2 * P, RO, FIXED), TOP - 5 * P);
	/* the one-page hole at TOP-3P fits a page, not two */
	EQ(MAP_ANON_P(0, 0, P, NONE, 0), TOP - 3 * P);
	EQ(MAP_ANON_P(0, 0, 2 * P, NONE, 0), TOP - 7 * P);
	MAPS(0, "efff9000-efffb000 ---p anon; efffb000-efffd000 r--p anon; "
		"efffd000-efffe000 ---p anon; efffe000-f0000000 rw-p anon");
}

/* A free, aligned hint is honoured; a hint that overlaps a VMA is ignored
 * and the mapping goes top-down. */
CASE(mmap_hint_honoured_or_ignored)
{
	EQ(MAP_ANON_P(0, B, 2 * P, RW, 0), B);
	EQ(MAP_ANON_P(0, B + P, P, RO, 0), TOP - P);
	EQ(MAP_ANON_P(0, B - P, 2 * P, RO, 0), TOP - 3 * P);
	MAPS(0, "20000000-20002000 rw-p anon; efffd000-f0000000 r--p anon");
}

/* do_mmap: a hint is rounded down to a page boundary. */
CASE(mmap_hint_rounded_down)
{
	EQ(MAP_ANON_P(0, B + 0x123, P, RW, 0), B);
	MAPS(0, "20000000-20001000 rw-p anon");
}

/* round_hint_to_min: a non-zero hint below mmap_min_addr is raised to
 * mmap_min_addr (then used if free); when that is taken, top-down. */
CASE(mmap_hint_below_min_addr)
{
	EQ(MAP_ANON_P(0, 0x1000, P, RW, 0), MMF_MMAP_MIN_ADDR);
	EQ(MAP_ANON_P(0, 0x2000, P, RO, 0), TOP - P);
	MAPS(0, "10000-11000 rw-p anon; effff000-f0000000 r--p anon");
}

/* A hint whose range would end beyond TASK_SIZE is not used. */
CASE(mmap_hint_past_task_size)
{
	EQ(MAP_ANON_P(0, MMF_TASK_SIZE - P, 2 * P, RW, 0), TOP - 2 * P);
	EQ(MAP_ANON_P(0, MMF_TASK_SIZE - P, P, RO, 0), MMF_TASK_SIZE - P);
	MAPS(0, "efffe000-f0000000 rw-p anon; fffff000-100000000 r--p anon");
}

/* The hint may lie above mmap_base (below TASK_SIZE); it is honoured. */
/* host-verified */
CASE(mmap_hint_above_base)
{
	EQ(MAP_ANON_P(0, 0xf8000000ULL, P, RW, 0), 0xf8000000ULL);
	MAPS(0, "f8000000-f8001000 rw-p anon");
}

/* vm_start_gap: a hint whose end falls into the stack guard gap below a
 * GROWSDOWN VMA is not used; one below the gap is. */
CASE(mmap_hint_respects_stack_guard_gap)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	EQ(MAP_ANON_P(0, C - P, P, RW, 0), TOP - P);
	EQ(MAP_ANON_P(0, C - MMF_STACK_GUARD_GAP - P, P, RO, 0), C - MMF_STACK_GUARD_GAP - P);
	MAPS(0, "2feff000-2ff00000 r--p anon; 30000000-30004000 rw-p anon gd; "
		"effff000-f0000000 rw-p anon");
}

/* unmapped_area_topdown: top-down placement keeps the stack guard gap
 * below a GROWSDOWN VMA. */
CASE(mmap_topdown_respects_stack_guard_gap)
{
	EQ(MAP_ANON_P(0, TOP - 4 * P, 4 * P, RW, FIXED | MAP_GROWSDOWN), TOP - 4 * P);
	EQ(MAP_ANON_P(0, 0, P, RW, 0), TOP - 4 * P - MMF_STACK_GUARD_GAP - P);
	MAPS(0, "efefb000-efefc000 rw-p anon; efffc000-f0000000 rw-p anon gd");
}

/* ==== mmap: MAP_FIXED and its variants ==================================== */

/* MAP_FIXED replaces what is there: the old VMA is split around the new one
 * and the pages of the replaced range are gone. */
/* host-verified */
CASE(mmap_fixed_replaces_and_splits)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	for (int i = 0; i < 4; i++)
		WRITES(0, A + i * P, i + 1);
	EQ(MAP_ANON_P(0, A + P, 2 * P, RO, FIXED), A + P);
	MAPS(0, "10000000-10001000 rw-p anon; 10001000-10003000 r--p anon; 10003000-10004000 rw-p anon");
	PAGES(0, "10000000=1 10003000=4");
	READS(0, A + P, 0);
	READS(0, A + 3 * P, 4);
}

/* MAP_FIXED over several VMAs and holes replaces all of them. */
/* host-verified */
CASE(mmap_fixed_over_several_vmas)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RO, FIXED), A + 2 * P);
	EQ(MAP_ANON_S(0, A + 4 * P, 2 * P, RW, FIXED), A + 4 * P);
	WRITES(0, A, 1);
	WRITES(0, A + 5 * P, 2);
	EQ(MAP_ANON_P(0, A, 5 * P, RO, FIXED), A);
	MAPS(0, "10000000-10005000 r--p anon; 10005000-10006000 rw-s anon@1");
	PAGES(0, "10005000=2");
}

/* MAP_FIXED_NOREPLACE: -EEXIST when any page of the range is mapped; the
 * layout is untouched; a free range is mapped exactly. */
/* host-verified */
CASE(mmap_fixed_noreplace)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + P, P, RW, NOREPL), -EEXIST);
	EQ(MAP_ANON_P(0, A - P, 2 * P, RW, NOREPL), -EEXIST);
	EQ(MAP_ANON_P(0, A - 3 * P, 4 * P, RW, NOREPL), -EEXIST);
	MAPS(0, "10000000-10002000 rw-p anon");
	EQ(MAP_ANON_P(0, A + 3 * P, P, RO, NOREPL), A + 3 * P);
	MAPS(0, "10000000-10002000 rw-p anon; 10003000-10004000 r--p anon");
}

/* cap_mmap_addr: a fixed mapping below mmap_min_addr is -EPERM (for an
 * unprivileged process), with MAP_FIXED and MAP_FIXED_NOREPLACE alike. */
CASE(mmap_fixed_below_min_addr)
{
	EQ(MAP_ANON_P(0, 0, P, RW, FIXED), -EPERM);
	EQ(MAP_ANON_P(0, MMF_MMAP_MIN_ADDR - P, P, RW, FIXED), -EPERM);
	EQ(MAP_ANON_P(0, MMF_MMAP_MIN_ADDR - P, 2 * P, RW, NOREPL), -EPERM);
	MAPS(0, "");
	EQ(MAP_ANON_P(0, MMF_MMAP_MIN_ADDR, P, RW, FIXED), MMF_MMAP_MIN_ADDR);
	MAPS(0, "10000-11000 rw-p anon");
}

/* mmap does not validate prot on x86: unknown bits are ignored (only
 * mprotect checks them); PROT_SEM is accepted by mprotect and changes
 * nothing visible, so such VMAs merge with plain ones. */
/* host-verified */
CASE(mmap_prot_extra_bits)
{
	EQ(MAP_ANON_P(0, A, P, RW | 0x10, FIXED), A);
	EQ(MAP_ANON_P(0, A + P, P, RW | PROT_SEM, FIXED), A + P);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED), A + 2 * P);
	MAPS(0, "10000000-10003000 rw-p anon");
	EQ(sem_mprotect(0, A, P, RO | PROT_SEM), 0);
	EQ(sem_mprotect(0, A + P, P, RO | 0x10), -EINVAL);
	MAPS(0, "10000000-10001000 r--p anon; 10001000-10003000 rw-p anon");
}

/* Legacy mmap flags nobody checks (MAP_DENYWRITE, MAP_EXECUTABLE, unused
 * bits) are ignored; MAP_SHARED_VALIDATE refuses unknown bits with
 * -EOPNOTSUPP. */
/* host-verified */
CASE(mmap_legacy_and_unknown_flags)
{
	EQ(sem_file_create(P), 0);
	EQ(MAP_ANON_P(0, A, P, RW, FIXED | MAP_DENYWRITE | MAP_EXECUTABLE | 0x200000), A);
	EQ(MAP_ANON_P(0, A + P, P, RW, FIXED), A + P);
	MAPS(0, "10000000-10002000 rw-p anon");
	EQ(sem_mmap(0, B, P, RW, MAP_SHARED_VALIDATE | FIXED | 0x200000, 0, 0), -EOPNOTSUPP);
	EQ(sem_mmap(0, B, P, RW, MAP_SHARED_VALIDATE | FIXED | MAP_DENYWRITE, 0, 0), B);
	MAPS(0, "10000000-10002000 rw-p anon; 20000000-20001000 rw-s f0@0");
}

/* calc_vm_flag_bits (Linux >= 6.7, CONFIG_TRANSPARENT_HUGEPAGE): MAP_STACK
 * sets VM_NOHUGEPAGE, a flag /proc/PID/maps does not show but that keeps
 * the VMA from merging with a plain neighbour; two MAP_STACK VMAs merge. */
/* host-verified */
CASE(mmap_map_stack_nohugepage)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + P, P, RW, FIXED | MAP_STACK), A + P);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED | MAP_STACK), A + 2 * P);
	MAPS(0, "10000000-10001000 rw-p anon; 10001000-10003000 rw-p anon");
}

/* MAP_POPULATE faults the whole range in at mmap time: a private writable
 * mapping gets private (written) pages, a read-only one zero pages, a
 * shared file mapping the page cache pages. */
/* host-verified */
CASE(mmap_populate)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(sem_file_write(0, 1, 0x21), 8);
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED | MAP_POPULATE), A);
	EQ(MAP_FILE_S(0, B, 2 * P, RO, FIXED | MAP_POPULATE, 0, 0), B);
	PAGES(0, "10000000=0 10001000=0 20000000=0 20001000=21");
	FILE_IS(0, 2 * P, "0=0 1=21");
	/* the private pages are real (an anon_vma exists): a fork copies them */
	EQ(sem_fork(0), 1);
	PAGES(1, "10000000=0 10001000=0");
}

/* __get_unmapped_area: a fixed address must be page aligned (-EINVAL). */
/* host-verified */
CASE(mmap_fixed_misaligned)
{
	EQ(MAP_ANON_P(0, A + 0x800, P, RW, FIXED), -EINVAL);
	EQ(MAP_ANON_P(0, A + 8, P, RW, NOREPL), -EINVAL);
	MAPS(0, "");
}

/* do_mmap: a zero length is -EINVAL, before anything else is looked at. */
/* host-verified */
CASE(mmap_len_zero)
{
	EQ(MAP_ANON_P(0, A, 0, RW, FIXED), -EINVAL);
	EQ(MAP_ANON_S(0, A + 1, 0, RW, FIXED), -EINVAL);
	MAPS(0, "");
}

/* Lengths beyond the address space: -ENOMEM (len > TASK_SIZE, a length that
 * overflows when rounded up, a fixed range that ends past TASK_SIZE). */
CASE(mmap_huge_len)
{
	EQ(MAP_ANON_P(0, 0, MMF_TASK_SIZE + P, RW, 0), -ENOMEM);
	EQ(MAP_ANON_P(0, 0, UINT64_MAX, RW, 0), -ENOMEM);
	EQ(MAP_ANON_P(0, A, MMF_TASK_SIZE, RW, FIXED), -ENOMEM);
	EQ(MAP_ANON_P(0, MMF_TASK_SIZE - P, 2 * P, RW, FIXED), -ENOMEM);
	/* an address with the top bit set is not a (negative) result */
	EQ(MAP_ANON_P(0, 0x8000000000000000ULL, 11 * P, RW, FIXED), -ENOMEM);
	MAPS(0, "");
}

/* do_mmap: an anonymous mapping must be exactly one of MAP_PRIVATE and
 * MAP_SHARED; neither, or both (0x3, MAP_SHARED_VALIDATE), is -EINVAL. */
/* host-verified */
CASE(mmap_anon_type_invalid)
{
	EQ(sem_mmap(0, A, P, RW, MAP_ANONYMOUS | FIXED, -1, 0), -EINVAL);
	EQ(sem_mmap(0, A, P, RW, MAP_ANONYMOUS | MAP_SHARED | MAP_PRIVATE | FIXED, -1, 0), -EINVAL);
	MAPS(0, "");
}

/* The same argument checks for mmaps without a fixed address, and the
 * page at address 0 (never mappable here) faults with SEGV_MAPERR. */
CASE(mmap_invalid_args_unplaced)
{
	EQ(sem_mmap(0, 0, P, RW, MAP_ANONYMOUS, -1, 0), -EINVAL);
	EQ(sem_mmap(0, 0, P, RW, MAP_ANONYMOUS | MAP_SHARED | MAP_PRIVATE, -1, 0), -EINVAL);
	EQ(MAP_ANON_P(0, 0, 0, RW, 0), -EINVAL);
	EQ(MAP_ANON_S(0, B, 0, RW, 0), -EINVAL);
	MAPS(0, "");
	READ_SIG(0, 0, SIGSEGV, SEGV_MAPERR);
	WRITE_SIG(0, MMF_MMAP_MIN_ADDR - P, SIGSEGV, SEGV_MAPERR);
}

/* For a file, neither type is -EINVAL, but MAP_SHARED|MAP_PRIVATE is
 * MAP_SHARED_VALIDATE: a shared mapping. */
/* host-verified */
CASE(mmap_file_type)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(sem_mmap(0, A, P, RW, FIXED, 0, 0), -EINVAL);
	EQ(sem_mmap(0, A, P, RW, MAP_SHARED | MAP_PRIVATE | FIXED, 0, 1), A);
	MAPS(0, "10000000-10001000 rw-s f0@1");
	WRITES(0, A, 0x77);
	FREAD(0, 1, 8, 0x77);
}

/* ksys_mmap_pgoff: a file mapping of a descriptor that is not open is
 * -EBADF, checked before the length. */
/* host-verified */
CASE(mmap_bad_file)
{
	EQ(MAP_FILE_P(0, A, P, RW, FIXED, 0, 0), -EBADF);
	EQ(MAP_FILE_S(0, A, P, RW, FIXED, 5, 0), -EBADF);
	EQ(MAP_FILE_S(0, A, 0, RW, FIXED, 3, 0), -EBADF);
	EQ(sem_file_create(P), 0);
	EQ(MAP_FILE_S(0, A, P, RW, FIXED, 1, 0), -EBADF);
	EQ(MAP_FILE_S(0, A, P, RW, FIXED, MMF_MAX_FILES, 0), -EBADF);
	EQ(MAP_FILE_S(0, A, P, RW, FIXED, -5, 0), -EBADF);
	MAPS(0, "");
}

/* Model rule: an unknown or dead process handle is -ESRCH for every op. */
CASE(ops_on_bad_proc)
{
	struct mmf_res r;

	EQ(MAP_ANON_P(1, A, P, RW, FIXED), -ESRCH);
	EQ(MAP_ANON_P(-1, A, P, RW, FIXED), -ESRCH);
	EQ(MAP_ANON_P(MMF_MAX_PROCS, A, P, RW, FIXED), -ESRCH);
	EQ(sem_munmap(3, A, P), -ESRCH);
	EQ(sem_mprotect(3, A, P, RO), -ESRCH);
	EQ(sem_mremap(3, A, P, P, 0, 0), -ESRCH);
	EQ(sem_madvise(3, A, P, MADV_DONTNEED), -ESRCH);
	EQ(sem_set_name(3, A, P, "x"), -ESRCH);
	EQ(sem_exit(3), -ESRCH);
	r = sem_read(3, A);
	EQ(r.ret, -ESRCH);
	EQ(r.sig, 0);
	r = sem_write(3, A, 1);
	EQ(r.ret, -ESRCH);
	EQ(r.sig, 0);
	PROCS("0");
}

/* ==== munmap ============================================================ */

/* munmap in the middle splits the VMA and drops the pages of the hole; the
 * hole then faults with SEGV_MAPERR. */
/* host-verified */
CASE(munmap_middle_splits)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	for (int i = 0; i < 4; i++)
		WRITES(0, A + i * P, i + 1);
	EQ(sem_munmap(0, A + P, 2 * P), 0);
	MAPS(0, "10000000-10001000 rw-p anon; 10003000-10004000 rw-p anon");
	PAGES(0, "10000000=1 10003000=4");
	READ_SIG(0, A + P, SIGSEGV, SEGV_MAPERR);
	WRITE_SIG(0, A + 2 * P, SIGSEGV, SEGV_MAPERR);
	READS(0, A + 3 * P, 4);
}

/* munmap of a range that covers holes, or nothing at all, succeeds. */
/* host-verified */
CASE(munmap_holes_ok)
{
	EQ(MAP_ANON_P(0, A + P, P, RW, FIXED), A + P);
	EQ(MAP_ANON_P(0, A + 3 * P, 2 * P, RO, FIXED), A + 3 * P);
	EQ(sem_munmap(0, B, 16 * P), 0);
	EQ(sem_munmap(0, A, 4 * P), 0);
	MAPS(0, "10004000-10005000 r--p anon");
	EQ(sem_munmap(0, A, 4 * P), 0);
	EQ(sem_munmap(0, A, 0x10 * P), 0);
	MAPS(0, "");
}

/* munmap: misaligned start, zero length or a range past TASK_SIZE is
 * -EINVAL; a length is rounded up. */
/* host-verified */
CASE(munmap_invalid)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	EQ(sem_munmap(0, A + 0x10, P), -EINVAL);
	EQ(sem_munmap(0, A, 0), -EINVAL);
	MAPS(0, "10000000-10003000 rw-p anon");
	EQ(sem_munmap(0, A, P + 1), 0);
	MAPS(0, "10002000-10003000 rw-p anon");
}

/* munmap of a range across two VMAs trims both. */
/* host-verified */
CASE(munmap_across_vmas)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_S(0, A + 2 * P, 2 * P, RO, FIXED), A + 2 * P);
	WRITES(0, A, 1);
	EQ(sem_munmap(0, A + P, 2 * P), 0);
	MAPS(0, "10000000-10001000 rw-p anon; 10003000-10004000 r--s anon@1");
	PAGES(0, "10000000=1");
}

/* do_munmap: a range that ends beyond TASK_SIZE is -EINVAL. */
CASE(munmap_beyond_task_size)
{
	EQ(MAP_ANON_P(0, MMF_TASK_SIZE - P, P, RW, FIXED), MMF_TASK_SIZE - P);
	EQ(sem_munmap(0, MMF_TASK_SIZE - P, 2 * P), -EINVAL);
	EQ(sem_munmap(0, MMF_TASK_SIZE, P), -EINVAL);
	MAPS(0, "fffff000-100000000 rw-p anon");
	EQ(sem_munmap(0, MMF_TASK_SIZE - P, P), 0);
	MAPS(0, "");
}

/* munmap of a shared file mapping keeps the file's content. */
/* host-verified */
CASE(munmap_shared_file_keeps_content)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 0), A);
	WRITES(0, A + P, 0x99);
	EQ(sem_munmap(0, A, 2 * P), 0);
	MAPS(0, "");
	PAGES(0, "");
	FREAD(0, 1, 8, 0x99);
	FILE_IS(0, 2 * P, "1=99");
}

/* ==== mprotect ========================================================== */

/* mprotect of a middle range splits the VMA in three; restoring the old
 * protection merges the three back into one. */
/* host-verified */
CASE(mprotect_split_and_merge_back)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_mprotect(0, A + P, 2 * P, RO), 0);
	MAPS(0, "10000000-10001000 rw-p anon; 10001000-10003000 r--p anon; 10003000-10004000 rw-p anon");
	EQ(sem_mprotect(0, A + P, 2 * P, RW), 0);
	MAPS(0, "10000000-10004000 rw-p anon");
	READS(0, A, 1);
}

/* mprotect of a prefix, then of the rest to the same protection, merges
 * (the rest is faulted, the prefix is not: the faulted VMA's anon_vma is
 * taken over) - selftests/mm/merge.c mprotect_unfaulted_left, which uses
 * MAP_NORESERVE so that VM_ACCOUNT is equal on both sides. */
/* host-verified */
CASE(mprotect_merge_unfaulted_left)
{
	EQ(MAP_ANON_P(0, A, 10 * P, RW, FIXED | MAP_NORESERVE), A);
	EQ(sem_mprotect(0, A, 5 * P, RO), 0);
	WRITES(0, A + 5 * P, 0x78);
	EQ(sem_mprotect(0, A + 5 * P, 5 * P, RO), 0);
	MAPS(0, "10000000-1000a000 r--p anon");
	READS(0, A + 5 * P, 0x78);
}

/* merge.c mprotect_unfaulted_both: a faulted middle VMA made equal to its
 * unfaulted neighbours merges with both. */
/* host-verified */
CASE(mprotect_merge_unfaulted_both)
{
	EQ(MAP_ANON_P(0, A, 9 * P, RW, FIXED | MAP_NORESERVE), A);
	EQ(sem_mprotect(0, A, 3 * P, RO), 0);
	EQ(sem_mprotect(0, A + 6 * P, 3 * P, RO), 0);
	MAPS(0, "10000000-10003000 r--p anon; 10003000-10006000 rw-p anon; 10006000-10009000 r--p anon");
	WRITES(0, A + 3 * P, 0x78);
	EQ(sem_mprotect(0, A + 3 * P, 3 * P, RO), 0);
	MAPS(0, "10000000-10009000 r--p anon");
	PAGES(0, "10003000=78");
}

/* merge.c mprotect_faulted_left_unfaulted_right: pieces split from a
 * faulted VMA share its anon_vma and merge with an unfaulted right one. */
/* host-verified */
CASE(mprotect_merge_faulted_left_unfaulted_right)
{
	EQ(MAP_ANON_P(0, A, 9 * P, RW, FIXED | MAP_NORESERVE), A);
	EQ(sem_mprotect(0, A + 6 * P, 3 * P, RO), 0);
	WRITES(0, A, 0x78);
	EQ(sem_mprotect(0, A, 3 * P, RO), 0);
	EQ(sem_mprotect(0, A + 3 * P, 3 * P, RO), 0);
	MAPS(0, "10000000-10009000 r--p anon");
}

/* mprotect_fixup / VM_ACCOUNT: a private writable mapping is accounted
 * (VM_ACCOUNT) unless MAP_NORESERVE.  Made read-only, an unfaulted VMA (no
 * anon_vma) drops VM_ACCOUNT but a faulted one keeps it, and VMAs whose
 * flags differ do not merge: without MAP_NORESERVE the merge.c
 * mprotect_unfaulted_left sequence leaves two VMAs.  Unfaulted on both
 * sides, or faulted on both sides, they merge. */
/* host-verified */
CASE(mprotect_vm_account_blocks_merge)
{
	EQ(MAP_ANON_P(0, A, 10 * P, RW, FIXED), A);
	EQ(sem_mprotect(0, A, 5 * P, RO), 0);
	WRITES(0, A + 5 * P, 0x78);
	EQ(sem_mprotect(0, A + 5 * P, 5 * P, RO), 0);
	MAPS(0, "10000000-10005000 r--p anon; 10005000-1000a000 r--p anon");
	/* made writable again, the unfaulted part is accounted again: merge */
	EQ(sem_mprotect(0, A, 10 * P, RW), 0);
	MAPS(0, "10000000-1000a000 rw-p anon");
	EQ(MAP_ANON_P(0, B, 10 * P, RW, FIXED), B);
	EQ(sem_mprotect(0, B, 5 * P, RO), 0);
	EQ(sem_mprotect(0, B + 5 * P, 5 * P, RO), 0);
	MAPS(0, "10000000-1000a000 rw-p anon; 20000000-2000a000 r--p anon");
	/* a read-only private mapping is never accounted: it does not merge
	 * with a faulted, accounted VMA made read-only */
	EQ(MAP_ANON_P(0, C, 2 * P, RW, FIXED), C);
	WRITES(0, C, 1);
	EQ(sem_mprotect(0, C, 2 * P, RO), 0);
	EQ(MAP_ANON_P(0, C + 2 * P, P, RO, FIXED), C + 2 * P);
	MAPS(0, "10000000-1000a000 rw-p anon; 20000000-2000a000 r--p anon; "
		"30000000-30002000 r--p anon; 30002000-30003000 r--p anon");
}

/* Many VMAs: 64 alternating protections split one mapping into 64 VMAs;
 * one mprotect over the whole range merges them back into one; a munmap
 * of every other page and a munmap of everything leave exact layouts. */
/* host-verified */
CASE(mprotect_many_vmas_merge)
{
	char exp[8192] = "";

	EQ(MAP_ANON_P(0, A, 64 * P, RW, FIXED), A);
	for (int i = 0; i < 64; i += 2)
		EQ(sem_mprotect(0, A + i * P, P, RO), 0);
	for (int i = 0; i < 64; i++)
		cat(exp, sizeof(exp), "%s%" PRIx64 "-%" PRIx64 " %s anon", i ? "; " : "",
		    A + i * P, A + (i + 1) * P, (i & 1) ? "rw-p" : "r--p");
	MAPS(0, exp);
	WRITES(0, A + P, 1);
	EQ(sem_mprotect(0, A, 64 * P, RW), 0);
	MAPS(0, "10000000-10040000 rw-p anon");
	for (int i = 0; i < 64; i += 2)
		EQ(sem_munmap(0, A + i * P, P), 0);
	exp[0] = '\0';
	for (int i = 1; i < 64; i += 2)
		cat(exp, sizeof(exp), "%s%" PRIx64 "-%" PRIx64 " rw-p anon", i > 1 ? "; " : "",
		    A + i * P, A + (i + 1) * P);
	MAPS(0, exp);
	PAGES(0, "10001000=1");
	EQ(sem_munmap(0, A, 64 * P), 0);
	MAPS(0, "");
	PAGES(0, "");
}

/* A thousand VMAs: alternating protections, every third page unmapped;
 * mprotect over the range stops at the first hole (-ENOMEM); mprotect of
 * each pair of still adjacent pages merges it. */
/* host-verified */
CASE(many_vmas)
{
	static char exp[SEM_BUF];
	const int n = 1024;

	EQ(MAP_ANON_P(0, A, n * P, RW, FIXED), A);
	for (int i = 0; i < n; i += 2)
		EQ(sem_mprotect(0, A + i * P, P, RO), 0);
	for (int i = 0; i < n; i += 3)
		EQ(sem_munmap(0, A + i * P, P), 0);
	exp[0] = '\0';
	for (int i = 0; i < n; i++)
		if (i % 3)
			cat(exp, sizeof(exp), "%s%" PRIx64 "-%" PRIx64 " %s anon", exp[0] ? "; " : "",
			    A + i * P, A + (i + 1) * P, (i & 1) ? "rw-p" : "r--p");
	MAPS(0, exp);
	WRITES(0, A + 5 * P, 5);
	EQ(sem_mprotect(0, A, n * P, RW), -ENOMEM);
	MAPS(0, exp);	/* the first page is a hole: nothing changed */
	EQ(sem_mprotect(0, A + P, (n - 1) * P, RW), -ENOMEM);
	exp[0] = '\0';
	for (int i = 1; i < n; i++) {
		if (i % 3 == 0)
			continue;
		if (i == 1)
			cat(exp, sizeof(exp), "10001000-10003000 rw-p anon");
		else if (i != 2)
			cat(exp, sizeof(exp), "; %" PRIx64 "-%" PRIx64 " %s anon",
			    A + i * P, A + (i + 1) * P, (i & 1) ? "rw-p" : "r--p");
	}
	MAPS(0, exp);
	for (int i = 4; i < n; i += 3)
		EQ(sem_mprotect(0, A + i * P, i + 1 < n ? 2 * P : P, RW), 0);
	exp[0] = '\0';
	for (int i = 1; i < n; i += 3)
		cat(exp, sizeof(exp), "%s%" PRIx64 "-%" PRIx64 " rw-p anon", exp[0] ? "; " : "",
		    A + i * P, A + (i + (i + 1 < n ? 2 : 1)) * P);
	MAPS(0, exp);
	PAGES(0, "10005000=5");
	EQ(sem_munmap(0, A, n * P), 0);
	MAPS(0, "");
}

/* do_mprotect_pkey: the VMAs before a hole are changed, then -ENOMEM. */
/* host-verified */
CASE(mprotect_hole_enomem_partial)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 3 * P, 2 * P, RW, FIXED), A + 3 * P);
	EQ(sem_mprotect(0, A, 5 * P, RO), -ENOMEM);
	MAPS(0, "10000000-10002000 r--p anon; 10003000-10005000 rw-p anon");
	/* a range running past the last VMA: all of it changed, still -ENOMEM */
	EQ(sem_mprotect(0, A + 3 * P, 3 * P, NONE), -ENOMEM);
	MAPS(0, "10000000-10002000 r--p anon; 10003000-10005000 ---p anon");
}

/* mprotect whose start is unmapped is -ENOMEM and changes nothing. */
/* host-verified */
CASE(mprotect_unmapped_start)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(sem_mprotect(0, A - P, 2 * P, RO), -ENOMEM);
	EQ(sem_mprotect(0, B, P, RO), -ENOMEM);
	MAPS(0, "10000000-10002000 rw-p anon");
}

/* mprotect: misaligned start or unknown prot bits -EINVAL; a zero length
 * is a no-op returning 0; a length is rounded up. */
/* host-verified */
CASE(mprotect_invalid_args)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	EQ(sem_mprotect(0, A + 4, P, RO), -EINVAL);
	EQ(sem_mprotect(0, A, P, 0x10), -EINVAL);
	EQ(sem_mprotect(0, A, 0, RO), 0);
	EQ(sem_mprotect(0, B, 0, RO), 0);
	MAPS(0, "10000000-10003000 rw-p anon");
	EQ(sem_mprotect(0, A, 1, RO), 0);
	MAPS(0, "10000000-10001000 r--p anon; 10001000-10003000 rw-p anon");
}

/* Access checks: PROT_NONE -> SEGV_ACCERR for reads and writes, a write to
 * a read-only VMA -> SEGV_ACCERR, an unmapped address -> SEGV_MAPERR. */
/* host-verified */
CASE(access_signals)
{
	EQ(MAP_ANON_P(0, A, P, NONE, FIXED), A);
	EQ(MAP_ANON_P(0, A + P, P, RO, FIXED), A + P);
	READ_SIG(0, A, SIGSEGV, SEGV_ACCERR);
	WRITE_SIG(0, A, SIGSEGV, SEGV_ACCERR);
	READS(0, A + P, 0);
	WRITE_SIG(0, A + P, SIGSEGV, SEGV_ACCERR);
	READ_SIG(0, A + 2 * P, SIGSEGV, SEGV_MAPERR);
	WRITE_SIG(0, A - P, SIGSEGV, SEGV_MAPERR);
	READ_SIG(0, MMF_MMAP_MIN_ADDR, SIGSEGV, SEGV_MAPERR);
	PAGES(0, "10001000=0");
}

/* x86 cannot express write-only pages: a PROT_WRITE VMA is accessible,
 * so reading it succeeds (vma_is_accessible). */
/* host-verified */
CASE(access_write_only_is_readable)
{
	EQ(MAP_ANON_P(0, A, P, PROT_WRITE, FIXED), A);
	MAPS(0, "10000000-10001000 -w-p anon");
	READS(0, A, 0);
	WRITES(0, A, 4);
	READS(0, A, 4);
}

/* PROT_EXEC alone is readable too (x86 without protection keys, as this
 * host; with PKU an execute-only key would make reads SEGV_PKUERR);
 * writing is SEGV_ACCERR. */
/* host-verified */
CASE(access_exec_only)
{
	EQ(MAP_ANON_P(0, A, P, PROT_EXEC, FIXED), A);
	MAPS(0, "10000000-10001000 --xp anon");
	READS(0, A, 0);
	WRITE_SIG(0, A, SIGSEGV, SEGV_ACCERR);
	EQ(sem_mprotect(0, A, P, PROT_READ | PROT_EXEC), 0);
	MAPS(0, "10000000-10001000 r-xp anon");
}

/*
 * ---- execute-only memory under x86 protection keys ----
 * mmf_config.exec_only_pkey models a host with pku + ospke: an mmap or
 * mprotect asking for exactly PROT_EXEC gives the VMA the process's
 * execute-only pkey (arch/x86/mm/pkeys.c), any other mprotect gives key 0
 * back, and every load or store under the key is SIGSEGV/SEGV_PKUERR,
 * present page or not (arch/x86/mm/fault.c access_error and
 * bad_area_access_error).  Derived from kernel source, not host-verified:
 * the development host has no PKU.  Each case also runs without the config
 * where the two differ.
 */

/* Loads and stores of an execute-only VMA fault with SEGV_PKUERR, also on
 * a page that is present; r-x gives key 0 back and the data is readable. */
CASE(pkey_exec_only_accesses_fault)
{
	CONFIGURE(.exec_only_pkey = true);
	EQ(MAP_ANON_P(0, A, P, PROT_EXEC, FIXED), A);
	READ_SIG(0, A, SIGSEGV, SEGV_PKUERR);
	WRITE_SIG(0, A, SIGSEGV, SEGV_PKUERR);
	PAGES(0, "");
	EQ(MAP_ANON_P(0, B, P, RW, FIXED), B);
	WRITES(0, B, 5);
	EQ(sem_mprotect(0, B, P, PROT_EXEC), 0);
	READ_SIG(0, B, SIGSEGV, SEGV_PKUERR);
	WRITE_SIG(0, B, SIGSEGV, SEGV_PKUERR);
	PAGES(0, "20000000=5");
	EQ(sem_mprotect(0, B, P, PROT_READ | PROT_EXEC), 0);
	READS(0, B, 5);
	MAPS(0, "10000000-10001000 --xp anon; 20000000-20001000 r-xp anon");
}

/* Only exactly PROT_EXEC gets the key: PROT_EXEC | PROT_SEM is --x with key
 * 0 (readable), and PROT_EXEC on such a VMA is a real change, not a no-op. */
CASE(pkey_exec_only_needs_exact_prot)
{
	CONFIGURE(.exec_only_pkey = true);
	EQ(MAP_ANON_P(0, A, 2 * P, PROT_EXEC | PROT_SEM, FIXED), A);
	READS(0, A, 0);
	EQ(sem_mprotect(0, A + P, P, PROT_EXEC), 0);
	MAPS(0, "10000000-10001000 --xp anon; 10001000-10002000 --xp anon");
	READ_SIG(0, A + P, SIGSEGV, SEGV_PKUERR);
	EQ(sem_mprotect(0, A + P, P, PROT_EXEC | PROT_SEM), 0);
	MAPS(0, "10000000-10002000 --xp anon");
	READS(0, A + P, 0);
}

/* MAP_POPULATE faults nothing in under the key (GUP honours the PKRU);
 * without it the zero page is mapped. */
CASE(pkey_exec_only_populate_skipped)
{
	CONFIGURE(.exec_only_pkey = true);
	EQ(MAP_ANON_P(0, A, 2 * P, PROT_EXEC, FIXED | MAP_POPULATE), A);
	PAGES(0, "");
	CONFIGURE(.exec_only_pkey = false);
	EQ(MAP_ANON_P(0, A, 2 * P, PROT_EXEC, FIXED | MAP_POPULATE), A);
	PAGES(0, "10000000=0 10001000=0");
}

/* The key is a vm_flag: r-x next to --x does not merge while the key is
 * there; mprotect to r-x resets it and the two merge. */
CASE(pkey_exec_only_reset_merges)
{
	CONFIGURE(.exec_only_pkey = true);
	EQ(MAP_ANON_P(0, A, P, PROT_READ | PROT_EXEC, FIXED), A);
	EQ(MAP_ANON_P(0, A + P, P, PROT_EXEC, FIXED), A + P);
	MAPS(0, "10000000-10001000 r-xp anon; 10001000-10002000 --xp anon");
	EQ(sem_mprotect(0, A + P, P, PROT_READ | PROT_EXEC), 0);
	MAPS(0, "10000000-10002000 r-xp anon");
	READS(0, A + P, 0);
}

/*
 * anon_vma_compatible ignores R/W/X but not the key: a neighbour faulting
 * next to an execute-only VMA that has an anon_vma gets an anon_vma of its
 * own, so after mprotect makes them alike they stay two VMAs.  Without the
 * key it borrows the anon_vma and they merge.
 */
static void pkey_neighbour_anon_vma(bool pkey, const char *maps)
{
	CONFIGURE(.exec_only_pkey = pkey);
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_mprotect(0, A, P, PROT_EXEC), 0);
	EQ(MAP_ANON_P(0, A + P, P, RW, FIXED), A + P);
	WRITES(0, A + P, 2);
	EQ(sem_mprotect(0, A, P, RW), 0);
	MAPS(0, maps);
	READS(0, A, 1);
	READS(0, A + P, 2);
}

CASE(pkey_exec_only_blocks_anon_vma_reuse)
{
	pkey_neighbour_anon_vma(true, "10000000-10001000 rw-p anon; 10001000-10002000 rw-p anon");
}

CASE(pkey_off_exec_only_shares_anon_vma)
{
	pkey_neighbour_anon_vma(false, "10000000-10002000 rw-p anon");
}

/* fork copies the key (and the mm's execute-only pkey, PKRU included);
 * mremap moves it with the VMA; a GROWSDOWN stack grows before the key
 * check faults. */
CASE(pkey_exec_only_fork_mremap_stack)
{
	CONFIGURE(.exec_only_pkey = true);
	EQ(MAP_ANON_P(0, A, P, PROT_EXEC, FIXED), A);
	EQ(sem_fork(0), 1);
	READ_SIG(1, A, SIGSEGV, SEGV_PKUERR);
	EQ(MAP_ANON_P(1, B, P, PROT_EXEC, FIXED), B);
	WRITE_SIG(1, B, SIGSEGV, SEGV_PKUERR);
	EQ(sem_mremap(0, A, P, P, MAYMOVE | RFIXED, B), B);
	READ_SIG(0, B, SIGSEGV, SEGV_PKUERR);
	EQ(MAP_ANON_P(0, A + 0x100000, P, PROT_EXEC, FIXED | MAP_GROWSDOWN), A + 0x100000);
	READ_SIG(0, A + 0x100000 - P, SIGSEGV, SEGV_PKUERR);
	MAPS(0, "100ff000-10101000 --xp anon gd; 20000000-20001000 --xp anon");
	CONFIGURE(.exec_only_pkey = false);
	EQ(MAP_ANON_P(0, A, P, PROT_EXEC, FIXED), A);
	EQ(sem_fork(0), 1);
	READS(1, A, 0);
}

/* Data survives mprotect: PROT_NONE then back to read-write. */
/* host-verified */
CASE(mprotect_none_keeps_data)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A + P, 0x33);
	EQ(sem_mprotect(0, A, 2 * P, NONE), 0);
	MAPS(0, "10000000-10002000 ---p anon");
	READ_SIG(0, A + P, SIGSEGV, SEGV_ACCERR);
	PAGES(0, "10001000=33");
	EQ(sem_mprotect(0, A + P, P, RO), 0);
	READS(0, A + P, 0x33);
	MAPS(0, "10000000-10001000 ---p anon; 10001000-10002000 r--p anon");
}

/* A shared anonymous VMA split by mprotect: the right part has pgoff 2. */
/* host-verified */
CASE(mprotect_shared_anon_split_pgoff)
{
	EQ(MAP_ANON_S(0, A, 4 * P, RW, FIXED), A);
	WRITES(0, A + 3 * P, 5);
	EQ(sem_mprotect(0, A + 2 * P, 2 * P, RO), 0);
	MAPS(0, "10000000-10002000 rw-s anon@0; 10002000-10004000 r--s anon@2");
	READS(0, A + 3 * P, 5);
	EQ(sem_mprotect(0, A + 2 * P, 2 * P, RW), 0);
	MAPS(0, "10000000-10004000 rw-s anon@0");
}

/* ==== merging =========================================================== */

/* Adjacent compatible anonymous mappings merge, above and below. */
/* host-verified */
CASE(merge_adjacent_anon)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED), A + 2 * P);
	EQ(MAP_ANON_P(0, A - P, P, RW, FIXED), A - P);
	MAPS(0, "ffff000-10003000 rw-p anon");
	/* filling a hole merges all three */
	EQ(MAP_ANON_P(0, A + 4 * P, P, RW, FIXED), A + 4 * P);
	EQ(MAP_ANON_P(0, A + 3 * P, P, RW, FIXED), A + 3 * P);
	MAPS(0, "ffff000-10005000 rw-p anon");
}

/* Different protections, private vs shared, anon vs file: no merge. */
/* host-verified */
CASE(merge_incompatible)
{
	EQ(sem_file_create(4 * P), 0);
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + P, P, RO, FIXED), A + P);
	EQ(MAP_ANON_S(0, A + 2 * P, P, RO, FIXED), A + 2 * P);
	EQ(MAP_FILE_P(0, A + 3 * P, P, RO, FIXED, 0, 0), A + 3 * P);
	EQ(MAP_FILE_S(0, A + 4 * P, P, RO, FIXED, 0, 1), A + 4 * P);
	MAPS(0, "10000000-10001000 rw-p anon; 10001000-10002000 r--p anon; 10002000-10003000 r--s anon@0; "
		"10003000-10004000 r--p f0@0; 10004000-10005000 r--s f0@1");
}

/* File mappings merge only when the file and pgoff are contiguous. */
/* host-verified */
CASE(merge_file_pgoff_contiguous)
{
	EQ(sem_file_create(8 * P), 0);
	EQ(sem_file_create(8 * P), 1);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 0), A);
	EQ(MAP_FILE_S(0, A + 2 * P, 2 * P, RW, FIXED, 0, 2), A + 2 * P);
	MAPS(0, "10000000-10004000 rw-s f0@0");
	EQ(MAP_FILE_S(0, A + 4 * P, P, RW, FIXED, 0, 5), A + 4 * P);
	EQ(MAP_FILE_S(0, A + 5 * P, P, RW, FIXED, 1, 6), A + 5 * P);
	MAPS(0, "10000000-10004000 rw-s f0@0; 10004000-10005000 rw-s f0@5; 10005000-10006000 rw-s f1@6");
	/* a mapping below with pgoff just before merges too */
	EQ(MAP_FILE_S(0, B + P, P, RO, FIXED, 0, 3), B + P);
	EQ(MAP_FILE_S(0, B, P, RO, FIXED, 0, 2), B);
	EQ(MAP_FILE_P(0, B + 2 * P, P, RO, FIXED, 0, 4), B + 2 * P);
	MAPS(0, "10000000-10004000 rw-s f0@0; 10004000-10005000 rw-s f0@5; 10005000-10006000 rw-s f1@6; "
		"20000000-20002000 r--s f0@2; 20002000-20003000 r--p f0@4");
}

/* is_mergeable_anon_vma / vma_had_uncowed_parents: after fork the child's
 * copy of a faulted VMA has an anon_vma chained to the parent's and does
 * not merge with a fresh neighbour; the parent's VMA still does
 * (merge.c forked_target_vma). */
/* host-verified */
CASE(merge_forked_faulted_vma_does_not)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 0x2a);
	EQ(sem_fork(0), 1);
	WRITES(1, A, 0x2b);
	WRITES(1, A + P, 0x2c);
	EQ(MAP_ANON_P(1, A + 2 * P, P, RW, FIXED), A + 2 * P);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED), A + 2 * P);
	MAPS(1, "10000000-10002000 rw-p anon; 10002000-10003000 rw-p anon");
	MAPS(0, "10000000-10003000 rw-p anon");
	EQ(MAP_ANON_P(1, A - P, P, RW, FIXED), A - P);
	MAPS(1, "ffff000-10000000 rw-p anon; 10000000-10002000 rw-p anon; 10002000-10003000 rw-p anon");
	READS(1, A, 0x2b);
	READS(0, A, 0x2a);
}

/* merge.c forked_source_vma: making the forked VMA compatible with its
 * unfaulted neighbour by mprotect does not merge them either (MAP_NORESERVE
 * keeps VM_ACCOUNT out of the comparison, as in the selftest). */
/* host-verified */
CASE(merge_forked_source_vma_mprotect)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED | MAP_NORESERVE), A);
	WRITES(0, A, 1);
	EQ(sem_fork(0), 1);
	EQ(MAP_ANON_P(1, A + 2 * P, 2 * P, RO, FIXED | MAP_NORESERVE), A + 2 * P);
	EQ(sem_mprotect(1, A, 2 * P, RO), 0);
	MAPS(1, "10000000-10002000 r--p anon; 10002000-10004000 r--p anon");
	/* the parent's own VMA merges in the same situation */
	EQ(MAP_ANON_P(0, A + 2 * P, 2 * P, RO, FIXED | MAP_NORESERVE), A + 2 * P);
	EQ(sem_mprotect(0, A, 2 * P, RO), 0);
	MAPS(0, "10000000-10004000 r--p anon");
}

/* anon_vma_fork: each of the child's copies of VMAs split from one faulted
 * VMA gets an anon_vma of its own, so in the child they no longer merge
 * with each other; in the parent (one shared anon_vma) they do. */
/* host-verified */
CASE(merge_forked_split_vmas_stay_split)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_mprotect(0, A + P, P, RO), 0);
	EQ(sem_fork(0), 1);
	EQ(sem_mprotect(1, A + P, P, RW), 0);
	EQ(sem_mprotect(0, A + P, P, RW), 0);
	MAPS(1, "10000000-10001000 rw-p anon; 10001000-10002000 rw-p anon; 10002000-10003000 rw-p anon");
	MAPS(0, "10000000-10003000 rw-p anon");
	READS(1, A, 1);
}

/* A VMA that was only read (zero page, no anon_vma) before fork has no
 * anon_vma in the child either, so the child's copy still merges.  Mainline
 * rule (do_anonymous_page maps the zero page on a read fault); the host
 * runs with pvm_no_zero_page=1 and differs. */
CASE(merge_forked_read_only_vma_merges)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	READS(0, A, 0);
	EQ(sem_fork(0), 1);
	EQ(MAP_ANON_P(1, A + 2 * P, P, RW, FIXED), A + 2 * P);
	MAPS(1, "10000000-10003000 rw-p anon");
	PAGES(1, "");
	PAGES(0, "10000000=0");
}

/* A VMA that the child writes after fork, when the parent never faulted
 * it, gets a fresh anon_vma of its own and merges. */
/* host-verified */
CASE(merge_forked_unfaulted_vma_merges)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(sem_fork(0), 1);
	WRITES(1, A, 3);
	EQ(MAP_ANON_P(1, A + 2 * P, P, RW, FIXED), A + 2 * P);
	MAPS(1, "10000000-10003000 rw-p anon");
	READS(1, A, 3);
	READS(0, A, 0);
}

/* ==== fork and exit ===================================================== */

/* fork: private pages are copy-on-write in both directions. */
/* host-verified */
CASE(fork_cow_private_anon)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_fork(0), 1);
	PROCS("0 1");
	MAPS(1, "10000000-10002000 rw-p anon");
	READS(1, A, 1);
	WRITES(1, A, 2);
	READS(0, A, 1);
	WRITES(0, A, 3);
	WRITES(0, A + P, 4);
	READS(1, A, 2);
	READS(1, A + P, 0);
	PAGES(0, "10000000=3 10001000=4");
	PAGES(1, "10000000=2 10001000=0");
}

/* fork: shared anonymous and shared file mappings stay shared. */
/* host-verified */
CASE(fork_shared_stays_shared)
{
	EQ(sem_file_create(P), 0);
	EQ(MAP_ANON_S(0, A, P, RW, FIXED), A);
	EQ(MAP_FILE_S(0, B, P, RW, FIXED, 0, 0), B);
	EQ(sem_fork(0), 1);
	WRITES(1, A, 5);
	WRITES(1, B, 6);
	READS(0, A, 5);
	READS(0, B, 6);
	WRITES(0, A, 7);
	READS(1, A, 7);
	FREAD(0, 0, 8, 6);
	MAPS(1, "10000000-10001000 rw-s anon@0; 20000000-20001000 rw-s f0@0");
}

/* dup_mmap: only VMAs with an anon_vma copy their page table entries (and
 * those copy every entry, the COWed and the read-only ones); shared and
 * unCOWed file mappings are refaulted in the child. */
/* host-verified */
CASE(fork_copies_ptes_only_with_anon_vma)
{
	EQ(sem_file_create(4 * P), 0);
	EQ(sem_file_write(0, 0, 0x10), 8);
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A + P, 1);
	EQ(MAP_ANON_S(0, B, P, RW, FIXED), B);
	WRITES(0, B, 2);
	EQ(MAP_FILE_P(0, C, P, RO, FIXED, 0, 0), C);
	READS(0, C, 0x10);
	EQ(MAP_FILE_S(0, C + 2 * P, P, RW, FIXED, 0, 1), C + 2 * P);
	WRITES(0, C + 2 * P, 3);
	EQ(MAP_FILE_P(0, C + 4 * P, 2 * P, RW, FIXED, 0, 2), C + 4 * P);
	READS(0, C + 4 * P, 0);
	WRITES(0, C + 5 * P, 4);
	PAGES(0, "10001000=1 20000000=2 30000000=10 30002000=3 30004000=0 30005000=4");
	EQ(sem_fork(0), 1);
	PAGES(1, "10001000=1 30004000=0 30005000=4");
	READS(1, C, 0x10);
	READS(1, B, 2);
}

/* COW across generations: a grandchild shares the original page until
 * somebody writes; the parent exiting changes nothing for the others. */
/* host-verified */
CASE(fork_grandchild_cow_and_parent_exit)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_fork(0), 1);
	EQ(sem_fork(1), 2);
	WRITES(1, A, 2);
	READS(2, A, 1);
	READS(0, A, 1);
	EQ(sem_exit(0), 0);
	READS(2, A, 1);
	READS(1, A, 2);
	PROCS("1 2");
	PAGES(2, "10000000=1");
}

/* MADV_DONTFORK: the VMA (and only the advised range of it) is absent in
 * the child. */
/* host-verified */
CASE(fork_dontfork)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	WRITES(0, A + P, 9);
	EQ(sem_madvise(0, A + P, P, MADV_DONTFORK), 0);
	MAPS(0, "10000000-10001000 rw-p anon; 10001000-10002000 rw-p anon dc; 10002000-10003000 rw-p anon");
	EQ(sem_fork(0), 1);
	MAPS(1, "10000000-10001000 rw-p anon; 10002000-10003000 rw-p anon");
	READ_SIG(1, A + P, SIGSEGV, SEGV_MAPERR);
	READS(0, A + P, 9);
}

/* MADV_DOFORK undoes DONTFORK (and the pieces merge again). */
/* host-verified */
CASE(fork_dofork_undo)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	EQ(sem_madvise(0, A + P, P, MADV_DONTFORK), 0);
	EQ(sem_madvise(0, A, 3 * P, MADV_DOFORK), 0);
	MAPS(0, "10000000-10003000 rw-p anon");
	EQ(sem_fork(0), 1);
	MAPS(1, "10000000-10003000 rw-p anon");
}

/* MADV_WIPEONFORK: the child has the VMA (still marked) but it reads 0;
 * the parent keeps its data. */
/* host-verified */
CASE(fork_wipeonfork)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 7);
	WRITES(0, A + P, 8);
	EQ(sem_madvise(0, A, 2 * P, MADV_WIPEONFORK), 0);
	MAPS(0, "10000000-10002000 rw-p anon wf");
	EQ(sem_fork(0), 1);
	MAPS(1, "10000000-10002000 rw-p anon wf");
	PAGES(1, "");
	READS(1, A, 0);
	READS(0, A, 7);
	READS(0, A + P, 8);
}

/* WIPEONFORK on part of a VMA splits it; only that part is wiped. */
/* host-verified */
CASE(fork_wipeonfork_partial)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	for (int i = 0; i < 3; i++)
		WRITES(0, A + i * P, i + 1);
	EQ(sem_madvise(0, A + P, P, MADV_WIPEONFORK), 0);
	EQ(sem_fork(0), 1);
	MAPS(1, "10000000-10001000 rw-p anon; 10001000-10002000 rw-p anon wf; 10002000-10003000 rw-p anon");
	PAGES(1, "10000000=1 10002000=3");
	READS(1, A + P, 0);
	READS(0, A + P, 2);
}

/* A DONTFORK file mapping is not in the child, so truncate zaps only the
 * parent's pages, and the child's own mapping elsewhere is zapped too. */
/* host-verified */
CASE(fork_dontfork_file_then_truncate)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 0), A);
	WRITES(0, A + P, 5);
	EQ(sem_madvise(0, A, 2 * P, MADV_DONTFORK), 0);
	EQ(sem_fork(0), 1);
	MAPS(1, "");
	EQ(MAP_FILE_S(1, B, 2 * P, RO, FIXED, 0, 0), B);
	READS(1, B + P, 5);
	EQ(sem_truncate(0, P), 0);
	PAGES(0, "");
	PAGES(1, "");
	READ_SIG(0, A + P, SIGBUS, BUS_ADRERR);
	READ_SIG(1, B + P, SIGBUS, BUS_ADRERR);
}

/* MADV_KEEPONFORK undoes WIPEONFORK. */
/* host-verified */
CASE(fork_keeponfork_undo)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 7);
	EQ(sem_madvise(0, A, 2 * P, MADV_WIPEONFORK), 0);
	EQ(sem_madvise(0, A, 2 * P, MADV_KEEPONFORK), 0);
	MAPS(0, "10000000-10002000 rw-p anon");
	EQ(sem_fork(0), 1);
	READS(1, A, 7);
}

/* madvise_behavior: WIPEONFORK on a file or shared VMA is -EINVAL. */
/* host-verified */
CASE(fork_wipeonfork_shared_or_file_einval)
{
	EQ(sem_file_create(P), 0);
	EQ(MAP_ANON_S(0, A, P, RW, FIXED), A);
	EQ(MAP_FILE_P(0, B, P, RW, FIXED, 0, 0), B);
	EQ(MAP_FILE_S(0, C, P, RW, FIXED, 0, 0), C);
	EQ(sem_madvise(0, A, P, MADV_WIPEONFORK), -EINVAL);
	EQ(sem_madvise(0, B, P, MADV_WIPEONFORK), -EINVAL);
	EQ(sem_madvise(0, C, P, MADV_WIPEONFORK), -EINVAL);
	MAPS(0, "10000000-10001000 rw-s anon@0; 20000000-20001000 rw-p f0@0; 30000000-30001000 rw-s f0@0");
}

/* Model rule: fork of an unknown process is -ESRCH. */
CASE(fork_unknown_proc)
{
	EQ(sem_fork(1), -ESRCH);
	EQ(sem_fork(-1), -ESRCH);
	EQ(sem_fork(MMF_MAX_PROCS), -ESRCH);
	PROCS("0");
}

/* Model rule: at most MMF_MAX_PROCS processes; one more fork is -EAGAIN. */
CASE(fork_limit)
{
	for (int i = 1; i < MMF_MAX_PROCS; i++)
		EQ(sem_fork(0), i);
	EQ(sem_fork(0), -EAGAIN);
	EQ(sem_fork(3), -EAGAIN);
	PROCS("0 1 2 3 4 5 6 7");
	EQ(sem_exit(5), 0);
	EQ(sem_fork(3), 5);
}

/* Model rule: fork takes the lowest free handle, reusing exited ones. */
CASE(fork_lowest_free_slot)
{
	EQ(sem_fork(0), 1);
	EQ(sem_fork(0), 2);
	EQ(sem_fork(1), 3);
	EQ(sem_exit(2), 0);
	EQ(sem_exit(1), 0);
	PROCS("0 3");
	EQ(sem_fork(3), 1);
	EQ(sem_fork(0), 2);
	EQ(sem_fork(0), 4);
	PROCS("0 1 2 3 4");
}

/* exit: the process leaves the snapshot; writes it made through a shared file mapping stay in the file; the
 * parent's private data is untouched. */
/* host-verified */
CASE(exit_removes_process)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_fork(0), 1);
	EQ(MAP_FILE_S(1, B, 2 * P, RW, FIXED, 0, 0), B);
	WRITES(1, B + P, 0x42);
	WRITES(1, A, 2);
	EQ(sem_exit(1), 0);
	PROCS("0");
	FREAD(0, 1, 8, 0x42);
	FILE_IS(0, 2 * P, "1=42");
	READS(0, A, 1);
	MAPS(0, "10000000-10001000 rw-p anon");
}

/* Model rule: after exit the handle is dead (-ESRCH) until fork reuses it. */
CASE(exit_handle_dead)
{
	struct mmf_res r;

	EQ(sem_fork(0), 1);
	EQ(sem_exit(1), 0);
	EQ(sem_exit(1), -ESRCH);
	EQ(MAP_ANON_P(1, A, P, RW, FIXED), -ESRCH);
	r = sem_read(1, A);
	EQ(r.ret, -ESRCH);
	EQ(sem_fork(1), -ESRCH);
	EQ(sem_fork(0), 1);
	MAPS(1, "");
}

/* exit of the last process leaves an empty world; files remain. */
CASE(exit_last_process)
{
	EQ(sem_file_create(P), 0);
	EQ(sem_file_write(0, 0, 3), 8);
	EQ(sem_exit(0), 0);
	PROCS("");
	EQ(sem_fork(0), -ESRCH);
	FILE_IS(0, P, "0=3");
}

/* ==== madvise =========================================================== */

/* MADV_DONTNEED on private anonymous memory: the pages are gone, reads
 * return 0; the VMA stays. */
/* host-verified */
CASE(madvise_dontneed_private_anon)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	for (int i = 0; i < 3; i++)
		WRITES(0, A + i * P, i + 5);
	EQ(sem_madvise(0, A + P, P, MADV_DONTNEED), 0);
	MAPS(0, "10000000-10003000 rw-p anon");
	PAGES(0, "10000000=5 10002000=7");
	READS(0, A + P, 0);
	/* the length is rounded up to whole pages */
	EQ(sem_madvise(0, A + 2 * P, 1, MADV_DONTNEED), 0);
	PAGES(0, "10000000=5 10001000=0");
}

/* MADV_DONTNEED on shared anonymous and shared file memory drops the page
 * table entries only: the content comes back on the next fault. */
/* host-verified */
CASE(madvise_dontneed_shared_keeps_content)
{
	EQ(sem_file_create(P), 0);
	EQ(MAP_ANON_S(0, A, P, RW, FIXED), A);
	EQ(MAP_FILE_S(0, B, P, RW, FIXED, 0, 0), B);
	WRITES(0, A, 5);
	WRITES(0, B, 6);
	EQ(sem_madvise(0, A, P, MADV_DONTNEED), 0);
	EQ(sem_madvise(0, B, P, MADV_DONTNEED), 0);
	PAGES(0, "");
	READS(0, A, 5);
	READS(0, B, 6);
	FILE_IS(0, P, "0=6");
}

/* MADV_DONTNEED on a private file mapping drops the COWed copy: the page
 * cache content shows through again. */
/* host-verified */
CASE(madvise_dontneed_private_file_uncows)
{
	EQ(sem_file_create(P), 0);
	EQ(sem_file_write(0, 0, 3), 8);
	EQ(MAP_FILE_P(0, A, P, RW, FIXED, 0, 0), A);
	WRITES(0, A, 8);
	READS(0, A, 8);
	FREAD(0, 0, 8, 3);
	EQ(sem_madvise(0, A, P, MADV_DONTNEED), 0);
	READS(0, A, 3);
}

/* madvise_walk_vmas: holes make the call -ENOMEM but the advice is applied
 * to every mapped part; a range with nothing mapped is -ENOMEM. */
/* host-verified */
CASE(madvise_holes_enomem)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED), A + 2 * P);
	WRITES(0, A, 1);
	WRITES(0, A + 2 * P, 2);
	EQ(sem_madvise(0, A, 4 * P, MADV_DONTNEED), -ENOMEM);
	PAGES(0, "");
	EQ(sem_madvise(0, A - P, 4 * P, MADV_DONTFORK), -ENOMEM);
	MAPS(0, "10000000-10001000 rw-p anon dc; 10002000-10003000 rw-p anon dc");
	EQ(sem_madvise(0, B, P, MADV_DONTNEED), -ENOMEM);
	EQ(sem_madvise(0, A + 4 * P, P, MADV_DONTFORK), -ENOMEM);
}

/* do_madvise: unknown advice or a misaligned start is -EINVAL; a zero
 * length is 0. */
/* host-verified */
CASE(madvise_invalid)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_madvise(0, A, P, 999), -EINVAL);
	EQ(sem_madvise(0, A + 8, P, MADV_DONTNEED), -EINVAL);
	EQ(sem_madvise(0, A, 0, MADV_DONTNEED), 0);
	EQ(sem_madvise(0, B, 0, MADV_DONTNEED), 0);
	READS(0, A, 1);
}

/* ==== anonymous VMA names (PR_SET_VMA_ANON_NAME) ==========================
 * Derived from kernel/sys.c prctl_set_vma and mm/madvise.c
 * madvise_set_anon_name / madvise_vma_anon_name (the host kernel lacks
 * CONFIG_ANON_VMA_NAME, so none of these is host-verified). */

/* A name covers exactly the range given: the VMA is split at its edges. */
CASE(name_set_and_split)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	EQ(sem_set_name(0, A, 4 * P, "heap"), 0);
	MAPS(0, "10000000-10004000 rw-p anon[heap]");
	EQ(sem_set_name(0, A + P, 2 * P, "mid"), 0);
	MAPS(0, "10000000-10001000 rw-p anon[heap]; 10001000-10003000 rw-p anon[mid]; "
		"10003000-10004000 rw-p anon[heap]");
}

/* Adjacent VMAs with equal names merge; different names do not. */
CASE(name_merge_rules)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(sem_set_name(0, A, P, "x"), 0);
	EQ(MAP_ANON_P(0, A + P, P, RW, FIXED), A + P);
	MAPS(0, "10000000-10001000 rw-p anon[x]; 10001000-10002000 rw-p anon");
	EQ(sem_set_name(0, A + P, P, "x"), 0);
	MAPS(0, "10000000-10002000 rw-p anon[x]");
	EQ(sem_set_name(0, A + P, P, "y"), 0);
	MAPS(0, "10000000-10001000 rw-p anon[x]; 10001000-10002000 rw-p anon[y]");
	/* a fresh unnamed mapping does not merge with a named neighbour */
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED), A + 2 * P);
	MAPS(0, "10000000-10001000 rw-p anon[x]; 10001000-10002000 rw-p anon[y]; "
		"10002000-10003000 rw-p anon");
}

/* A NULL name clears it, and the cleared piece merges back. */
CASE(name_clear_with_null)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	EQ(sem_set_name(0, A + P, P, "tmp"), 0);
	MAPS(0, "10000000-10001000 rw-p anon; 10001000-10002000 rw-p anon[tmp]; 10002000-10003000 rw-p anon");
	EQ(sem_set_name(0, A + P, P, NULL), 0);
	MAPS(0, "10000000-10003000 rw-p anon");
}

/* ANON_VMA_NAME_MAX_LEN is 80 bytes with the NUL: 79 characters are
 * accepted, 80 or more are -EINVAL and change nothing. */
CASE(name_length_limit)
{
	char name[MMF_OP_NAME_MAX + 1];

	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	memset(name, 'a', sizeof(name));
	name[MMF_ANON_NAME_MAX] = '\0';
	EQ(sem_set_name(0, A, P, name), -EINVAL);
	name[MMF_OP_NAME_MAX] = '\0';
	EQ(sem_set_name(0, A, P, name), -EINVAL);
	MAPS(0, "10000000-10001000 rw-p anon");
	name[MMF_ANON_NAME_MAX - 1] = '\0';
	EQ(sem_set_name(0, A, P, name), 0);
	MAPS(0, "10000000-10001000 rw-p anon[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]");
}

/* is_valid_name_char: printable ASCII except \ ` $ [ ]; control chars and
 * DEL are -EINVAL.  Spaces and other punctuation are fine. */
CASE(name_invalid_chars)
{
	static const char *const bad[] = {
		"a[b", "a]", "$x", "back\\slash", "tick`", "new\nline", "tab\t", "del\x7f", "\x01",
		"hi\x80",
	};

	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EQ(sem_set_name(0, A, P, bad[i]), -EINVAL);
	MAPS(0, "10000000-10001000 rw-p anon");
	EQ(sem_set_name(0, A, P, "a b!#%&()*+,-./:;<=>?@^_{|}~'\""), 0);
	MAPS(0, "10000000-10001000 rw-p anon[a b!#%&()*+,-./:;<=>?@^_{|}~'\"]");
}

/* An empty string is a name (not a clear): the VMA shows an empty name
 * and no longer merges with unnamed neighbours. */
CASE(name_empty_string)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(sem_set_name(0, A + P, P, ""), 0);
	MAPS(0, "10000000-10001000 rw-p anon; 10001000-10002000 rw-p anon[]");
	EQ(sem_set_name(0, A + P, P, NULL), 0);
	MAPS(0, "10000000-10002000 rw-p anon");
}

/* Renaming a range to the name it already has changes nothing; a named
 * VMA grown in place by mremap keeps its name over the new part. */
CASE(name_same_name_and_growth)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	EQ(sem_set_name(0, A, 3 * P, "n"), 0);
	EQ(sem_set_name(0, A + P, P, "n"), 0);
	MAPS(0, "10000000-10003000 rw-p anon[n]");
	EQ(sem_mremap(0, A, 3 * P, 5 * P, 0, 0), A);
	MAPS(0, "10000000-10005000 rw-p anon[n]");
}

/* Only anonymous memory can be named: a file VMA is -EBADF (VMAs before it
 * in the range are named already); shared anonymous memory is allowed. */
CASE(name_file_ebadf_shared_anon_ok)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(MAP_FILE_P(0, A + P, P, RW, FIXED, 0, 0), A + P);
	EQ(MAP_ANON_S(0, B, 2 * P, RW, FIXED), B);
	EQ(sem_set_name(0, A + P, P, "f"), -EBADF);
	EQ(sem_set_name(0, A, 2 * P, "f"), -EBADF);
	EQ(sem_set_name(0, B + P, P, "shm"), 0);
	MAPS(0, "10000000-10001000 rw-p anon[f]; 10001000-10002000 rw-p f0@0; "
		"20000000-20001000 rw-s anon@0; 20001000-20002000 rw-s anon@1[shm]");
}

/* A hole in the range is -ENOMEM after the mapped parts are named; an
 * unmapped range is -ENOMEM; a misaligned start -EINVAL; length 0 is 0. */
CASE(name_holes_and_args)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED), A + 2 * P);
	EQ(sem_set_name(0, A, 3 * P, "n"), -ENOMEM);
	MAPS(0, "10000000-10001000 rw-p anon[n]; 10002000-10003000 rw-p anon[n]");
	EQ(sem_set_name(0, B, P, "n"), -ENOMEM);
	EQ(sem_set_name(0, A + 8, P, "n"), -EINVAL);
	EQ(sem_set_name(0, A, 0, "m"), 0);
	MAPS(0, "10000000-10001000 rw-p anon[n]; 10002000-10003000 rw-p anon[n]");
	/* the length is rounded up to whole pages */
	EQ(sem_set_name(0, A + 2 * P, 1, "m"), 0);
	MAPS(0, "10000000-10001000 rw-p anon[n]; 10002000-10003000 rw-p anon[m]");
}

/* fork: the child's VMAs carry the same names; renaming in the child does
 * not touch the parent. */
CASE(name_fork_keeps)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(sem_set_name(0, A, 2 * P, "shared-name"), 0);
	EQ(sem_fork(0), 1);
	MAPS(1, "10000000-10002000 rw-p anon[shared-name]");
	EQ(sem_set_name(1, A, P, "child"), 0);
	MAPS(1, "10000000-10001000 rw-p anon[child]; 10001000-10002000 rw-p anon[shared-name]");
	MAPS(0, "10000000-10002000 rw-p anon[shared-name]");
}

/* A name shared by several processes and VMAs stays with every holder
 * while others rename, unmap or exit. */
CASE(name_shared_holders)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	EQ(sem_set_name(0, A, 4 * P, "common"), 0);
	EQ(sem_mprotect(0, A + P, P, RO), 0);
	EQ(sem_fork(0), 1);
	EQ(sem_fork(0), 2);
	EQ(sem_exit(0), 0);
	EQ(sem_set_name(1, A, 4 * P, "mine"), 0);
	EQ(sem_munmap(2, A + 2 * P, P), 0);
	MAPS(1, "10000000-10001000 rw-p anon[mine]; 10001000-10002000 r--p anon[mine]; "
		"10002000-10004000 rw-p anon[mine]");
	MAPS(2, "10000000-10001000 rw-p anon[common]; 10001000-10002000 r--p anon[common]; "
		"10003000-10004000 rw-p anon[common]");
	EQ(sem_exit(1), 0);
	EQ(sem_mprotect(2, A + P, P, RW), 0);
	MAPS(2, "10000000-10002000 rw-p anon[common]; 10003000-10004000 rw-p anon[common]");
}

/* An unfaulted named VMA moved next to a VMA of the same name merges with
 * it; next to one of another name it does not. */
CASE(name_move_merges_with_same_name)
{
	EQ(MAP_ANON_P(0, B, 2 * P, RW, FIXED), B);
	EQ(sem_set_name(0, B, 2 * P, "pool"), 0);
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(sem_set_name(0, A, P, "pool"), 0);
	EQ(MAP_ANON_P(0, C, P, RW, FIXED), C);
	EQ(sem_set_name(0, C, P, "other"), 0);
	EQ(sem_mremap(0, A, P, P, MAYMOVE | RFIXED, B + 2 * P), B + 2 * P);
	EQ(sem_mremap(0, C, P, P, MAYMOVE | RFIXED, B - P), B - P);
	MAPS(0, "1ffff000-20000000 rw-p anon[other]; 20000000-20003000 rw-p anon[pool]");
}

/* Names survive mprotect splits and mremap moves. */
CASE(name_follows_split_and_move)
{
	EQ(MAP_ANON_P(0, A, 3 * P, RW, FIXED), A);
	EQ(sem_set_name(0, A, 3 * P, "buf"), 0);
	EQ(sem_mprotect(0, A + 2 * P, P, RO), 0);
	EQ(sem_mremap(0, A + 2 * P, P, P, MAYMOVE | RFIXED, B), B);
	MAPS(0, "10000000-10002000 rw-p anon[buf]; 20000000-20001000 r--p anon[buf]");
}

/* ==== stack (MAP_GROWSDOWN) ============================================= */

/* An access just below a GROWSDOWN VMA extends it down to that page. */
/* host-verified */
CASE(stack_grows_one_page)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	MAPS(0, "30000000-30004000 rw-p anon gd");
	READS(0, C - P, 0);
	MAPS(0, "2ffff000-30004000 rw-p anon gd");
	PAGES(0, "2ffff000=0");
}

/* An access several pages below extends the VMA to the accessed page. */
/* host-verified */
CASE(stack_grows_several_pages)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	WRITES(0, C - 5 * P, 0x5a);
	MAPS(0, "2fffb000-30004000 rw-p anon gd");
	READS(0, C - 5 * P, 0x5a);
	PAGES(0, "2fffb000=5a");
}

/* expand_downwards: the stack may not come within stack_guard_gap of an
 * accessible VMA below it (SEGV_MAPERR); exactly at the gap it may. */
/* host-verified */
CASE(stack_guard_gap)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	EQ(MAP_ANON_P(0, C - MMF_STACK_GUARD_GAP - 2 * P, 2 * P, RO, FIXED), C - MMF_STACK_GUARD_GAP - 2 * P);
	READ_SIG(0, C - P, SIGSEGV, SEGV_MAPERR);
	MAPS(0, "2fefe000-2ff00000 r--p anon; 30000000-30004000 rw-p anon gd");
	EQ(sem_munmap(0, C - MMF_STACK_GUARD_GAP - P, P), 0);
	READS(0, C - P, 0);
	MAPS(0, "2fefe000-2feff000 r--p anon; 2ffff000-30004000 rw-p anon gd");
	READ_SIG(0, C - 2 * P, SIGSEGV, SEGV_MAPERR);
}

/* expand_downwards: the guard gap is not enforced against another
 * GROWSDOWN VMA below. */
/* host-verified */
CASE(stack_above_stack)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	EQ(MAP_ANON_P(0, C - 3 * P, P, RW, FIXED | MAP_GROWSDOWN), C - 3 * P);
	READS(0, C - P, 0);
	WRITES(0, C - 2 * P, 1);
	MAPS(0, "2fffd000-2fffe000 rw-p anon gd; 2fffe000-30004000 rw-p anon gd");
}

/* expand_downwards: an inaccessible (PROT_NONE) VMA below does not block
 * growth into the gap. */
/* host-verified */
CASE(stack_guard_gap_ignores_prot_none)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	EQ(MAP_ANON_P(0, C - 4 * P, 2 * P, NONE, FIXED), C - 4 * P);
	READS(0, C - P, 0);
	WRITES(0, C - 2 * P, 1);
	MAPS(0, "2fffc000-2fffe000 ---p anon; 2fffe000-30004000 rw-p anon gd");
	/* below the PROT_NONE VMA the VMA found is that one, which does not
	 * grow: SEGV_MAPERR */
	READ_SIG(0, C - 6 * P, SIGSEGV, SEGV_MAPERR);
}

/* expand_downwards: the stack never grows below mmap_min_addr. */
CASE(stack_not_below_min_addr)
{
	EQ(MAP_ANON_P(0, MMF_MMAP_MIN_ADDR + 2 * P, 2 * P, RW, FIXED | MAP_GROWSDOWN),
	   MMF_MMAP_MIN_ADDR + 2 * P);
	READ_SIG(0, MMF_MMAP_MIN_ADDR - P, SIGSEGV, SEGV_MAPERR);
	MAPS(0, "12000-14000 rw-p anon gd");
	READS(0, MMF_MMAP_MIN_ADDR, 0);
	MAPS(0, "10000-14000 rw-p anon gd");
}

/* acct_stack_growth: the stack may grow to RLIMIT_STACK and no further. */
/* host-verified */
CASE(stack_limit)
{
	uint64_t end = C + 4 * P;

	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	READ_SIG(0, end - MMF_STACK_LIMIT - P, SIGSEGV, SEGV_MAPERR);
	MAPS(0, "30000000-30004000 rw-p anon gd");
	READS(0, end - MMF_STACK_LIMIT, 0);
	MAPS(0, "2f804000-30004000 rw-p anon gd");
	WRITE_SIG(0, end - MMF_STACK_LIMIT - P, SIGSEGV, SEGV_MAPERR);
}

/* The fault path expands the stack before it checks the access: a write
 * below a read-only GROWSDOWN VMA extends it and then fails with
 * SEGV_ACCERR. */
/* host-verified */
CASE(stack_expands_before_access_check)
{
	EQ(MAP_ANON_P(0, C, 2 * P, RO, FIXED | MAP_GROWSDOWN), C);
	WRITE_SIG(0, C - P, SIGSEGV, SEGV_ACCERR);
	MAPS(0, "2ffff000-30002000 r--p anon gd");
	READS(0, C - P, 0);
}

/* do_mprotect_pkey: PROT_GROWSDOWN extends the range down to the start of
 * the GROWSDOWN VMA; on another VMA it is -EINVAL. */
/* host-verified */
CASE(stack_mprotect_growsdown_flag)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	EQ(MAP_ANON_P(0, B, 4 * P, RW, FIXED), B);
	EQ(sem_mprotect(0, C + 2 * P, P, RO | PROT_GROWSDOWN), 0);
	EQ(sem_mprotect(0, B + 2 * P, P, RO | PROT_GROWSDOWN), -EINVAL);
	MAPS(0, "20000000-20004000 rw-p anon; 30000000-30003000 r--p anon gd; 30003000-30004000 rw-p anon gd");
}

/* Only GROWSDOWN VMAs grow: below an ordinary VMA is SEGV_MAPERR.  A
 * shared anonymous GROWSDOWN mapping is -EINVAL. */
/* host-verified */
CASE(stack_only_growsdown_grows)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED), C);
	READ_SIG(0, C - P, SIGSEGV, SEGV_MAPERR);
	EQ(MAP_ANON_S(0, B, P, RW, FIXED | MAP_GROWSDOWN), -EINVAL);
	MAPS(0, "30000000-30004000 rw-p anon");
}

/* ==== mremap ============================================================ */

/* Shrinking is done in place: the tail is unmapped with its pages. */
/* host-verified */
CASE(mremap_shrink_in_place)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	WRITES(0, A + 3 * P, 4);
	EQ(sem_mremap(0, A, 4 * P, 2 * P, 0, 0), A);
	MAPS(0, "10000000-10002000 rw-p anon");
	PAGES(0, "10000000=1");
	READ_SIG(0, A + 3 * P, SIGSEGV, SEGV_MAPERR);
	/* lengths are rounded up to whole pages: P + 1 is two pages */
	EQ(sem_mremap(0, A, 2 * P, P + 1, 0, 0), A);
	MAPS(0, "10000000-10002000 rw-p anon");
	EQ(sem_mremap(0, A, P + 1, 1, 0, 0), A);
	MAPS(0, "10000000-10001000 rw-p anon");
}

/* Shrinking unmaps [addr + new_len, addr + old_len) like munmap, even when
 * that range runs into the next VMA. */
/* host-verified */
CASE(mremap_shrink_across_vmas)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 2 * P, 2 * P, RO, FIXED), A + 2 * P);
	EQ(sem_mremap(0, A, 4 * P, P, 0, 0), A);
	MAPS(0, "10000000-10001000 rw-p anon");
}

/* Shrinking a range in the middle of a VMA splits it. */
/* host-verified */
CASE(mremap_shrink_middle_splits)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	for (int i = 0; i < 4; i++)
		WRITES(0, A + i * P, i + 1);
	EQ(sem_mremap(0, A + P, 2 * P, P, 0, 0), A + P);
	MAPS(0, "10000000-10002000 rw-p anon; 10003000-10004000 rw-p anon");
	PAGES(0, "10000000=1 10001000=2 10003000=4");
}

/* Moving part of a VMA splits the source around it; the moved piece takes
 * its pages along. */
/* host-verified */
CASE(mremap_move_middle_of_vma)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	for (int i = 0; i < 4; i++)
		WRITES(0, A + i * P, i + 1);
	EQ(sem_mremap(0, A + P, 2 * P, 2 * P, MAYMOVE | RFIXED, B), B);
	MAPS(0, "10000000-10001000 rw-p anon; 10003000-10004000 rw-p anon; 20000000-20002000 rw-p anon");
	PAGES(0, "10000000=1 10003000=4 20000000=2 20001000=3");
}

/* MREMAP_FIXED with a smaller new length: the tail is unmapped first,
 * then the rest moves; the destination's old VMAs are unmapped. */
/* host-verified */
CASE(mremap_fixed_shrink_and_move)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	for (int i = 0; i < 4; i++)
		WRITES(0, A + i * P, i + 1);
	EQ(MAP_ANON_P(0, B - P, 2 * P, RO, FIXED), B - P);
	EQ(sem_mremap(0, A, 4 * P, 2 * P, MAYMOVE | RFIXED, B), B);
	MAPS(0, "1ffff000-20000000 r--p anon; 20000000-20002000 rw-p anon");
	PAGES(0, "20000000=1 20001000=2");
}

/* Growing in place when the space after the VMA is free. */
/* host-verified */
CASE(mremap_grow_in_place)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A + P, 2);
	EQ(sem_mremap(0, A, 2 * P, 4 * P, 0, 0), A);
	MAPS(0, "10000000-10004000 rw-p anon");
	READS(0, A + P, 2);
	READS(0, A + 3 * P, 0);
}

/* vma_merge_extend: growing in place up to a compatible next VMA merges
 * with it. */
/* host-verified */
CASE(mremap_grow_in_place_merges_next)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 4 * P, 2 * P, RW, FIXED), A + 4 * P);
	EQ(sem_mremap(0, A, 2 * P, 4 * P, 0, 0), A);
	MAPS(0, "10000000-10006000 rw-p anon");
}

/* Growing is blocked by a VMA after the range: -ENOMEM without
 * MREMAP_MAYMOVE, nothing changes. */
/* host-verified */
CASE(mremap_grow_blocked_enomem)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 3 * P, P, RO, FIXED), A + 3 * P);
	EQ(sem_mremap(0, A, 2 * P, 4 * P, 0, 0), -ENOMEM);
	/* growing a range that ends inside the VMA is never in place */
	EQ(sem_mremap(0, A, P, 2 * P, 0, 0), -ENOMEM);
	MAPS(0, "10000000-10002000 rw-p anon; 10003000-10004000 r--p anon");
}

/* Shared anonymous memory is a shmem object of the mmap length: growing
 * the VMA with mremap does not grow the object, the new part is beyond
 * its EOF and faults SIGBUS. */
/* host-verified */
CASE(mremap_grow_shared_anon_sigbus)
{
	EQ(MAP_ANON_S(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A + P, 3);
	EQ(sem_mremap(0, A, 2 * P, 4 * P, 0, 0), A);
	MAPS(0, "10000000-10004000 rw-s anon@0");
	READS(0, A + P, 3);
	READ_SIG(0, A + 2 * P, SIGBUS, BUS_ADRERR);
	WRITE_SIG(0, A + 3 * P, SIGBUS, BUS_ADRERR);
}

/* vma_expandable checks only for overlap: a VMA may grow in place right
 * up to a GROWSDOWN VMA (no guard gap for the grower). */
/* host-verified */
CASE(mremap_grow_up_to_stack)
{
	EQ(MAP_ANON_P(0, C, 4 * P, RW, FIXED | MAP_GROWSDOWN), C);
	EQ(MAP_ANON_P(0, C - 4 * P, 2 * P, RW, FIXED), C - 4 * P);
	EQ(sem_mremap(0, C - 4 * P, 2 * P, 4 * P, 0, 0), C - 4 * P);
	MAPS(0, "2fffc000-30000000 rw-p anon; 30000000-30004000 rw-p anon gd");
	/* the stack cannot grow now */
	READ_SIG(0, C - 4 * P - P, SIGSEGV, SEGV_MAPERR);
}

/* With MREMAP_MAYMOVE a blocked VMA moves (top-down) with its pages. */
CASE(mremap_maymove_moves)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RO, FIXED), A + 2 * P);
	WRITES(0, A, 1);
	WRITES(0, A + P, 2);
	EQ(sem_mremap(0, A, 2 * P, 4 * P, MAYMOVE, 0), TOP - 4 * P);
	MAPS(0, "10002000-10003000 r--p anon; efffc000-f0000000 rw-p anon");
	PAGES(0, "efffc000=1 efffd000=2");
	READS(0, TOP - 3 * P, 2);
	READS(0, TOP - P, 0);
	READ_SIG(0, A, SIGSEGV, SEGV_MAPERR);
}

/* MREMAP_FIXED moves to new_addr, unmapping what was there; the moved,
 * faulted VMA keeps its own anon_vma and pgoff, so it does not merge with
 * the faulted remainder of the VMA it replaced. */
/* host-verified */
CASE(mremap_fixed_replaces)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	WRITES(0, A + P, 2);
	EQ(MAP_ANON_P(0, B, 3 * P, RW, FIXED), B);
	WRITES(0, B, 7);
	WRITES(0, B + P, 8);
	WRITES(0, B + 2 * P, 9);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, B + P), B + P);
	MAPS(0, "20000000-20001000 rw-p anon; 20001000-20003000 rw-p anon");
	PAGES(0, "20000000=7 20001000=1 20002000=2");
}

/* MREMAP_FIXED without MREMAP_MAYMOVE, overlapping ranges, a misaligned
 * new address, unknown flags, a zero new length: -EINVAL. */
/* host-verified */
CASE(mremap_invalid_args)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, RFIXED, B), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, A + P), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, A - P), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, A), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, B + 8), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | 0x80, 0), -EINVAL);
	EQ(sem_mremap(0, A + 8, P, P, 0, 0), -EINVAL);
	EQ(sem_mremap(0, A, P, 0, 0, 0), -EINVAL);
	MAPS(0, "10000000-10002000 rw-p anon");
}

/* mremap of an unmapped address is -EFAULT; a range that runs past the end
 * of its VMA into the next one is -EFAULT when resizing. */
/* host-verified */
CASE(mremap_efault)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 2 * P, 2 * P, RO, FIXED), A + 2 * P);
	EQ(sem_mremap(0, B, P, 2 * P, MAYMOVE, 0), -EFAULT);
	EQ(sem_mremap(0, A, 4 * P, 6 * P, MAYMOVE, 0), -EFAULT);
	EQ(sem_mremap(0, A + P, 2 * P, 3 * P, 0, 0), -EFAULT);
	MAPS(0, "10000000-10002000 rw-p anon; 10002000-10004000 r--p anon");
}

/* mremap_to: a destination past TASK_SIZE is -EINVAL; one below
 * mmap_min_addr is refused by get_unmapped_area (-EPERM). */
CASE(mremap_fixed_out_of_range)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, MMF_TASK_SIZE - P), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, MMF_MMAP_MIN_ADDR - 2 * P), -EPERM);
	MAPS(0, "10000000-10002000 rw-p anon");
}

/* remap_is_valid: old_len 0 (duplicate a mapping) is refused for private
 * mappings. */
/* host-verified */
CASE(mremap_dup_private_einval)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(sem_mremap(0, A, 0, P, MAYMOVE, 0), -EINVAL);
	MAPS(0, "10000000-10002000 rw-p anon");
}

/* old_len 0 on a shared mapping duplicates it: a second VMA of the same
 * object at the same pgoff; the original stays. */
/* host-verified */
CASE(mremap_dup_shared)
{
	EQ(MAP_ANON_S(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A + P, 9);
	EQ(sem_mremap(0, A + P, 0, P, MAYMOVE | RFIXED, B), B);
	MAPS(0, "10000000-10002000 rw-s anon@0; 20000000-20001000 rw-s anon@1");
	READS(0, B, 9);
	WRITES(0, B, 10);
	READS(0, A + P, 10);
}

/* Linux >= 6.17 (remap_move): a same-size MREMAP_FIXED move may span
 * several VMAs; each is moved, keeping their relative placement. */
/* host-verified */
CASE(mremap_fixed_moves_several_vmas)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RO, FIXED), A + 2 * P);
	WRITES(0, A + P, 3);
	EQ(sem_mremap(0, A, 3 * P, 3 * P, MAYMOVE | RFIXED, B), B);
	MAPS(0, "20000000-20002000 rw-p anon; 20002000-20003000 r--p anon");
	PAGES(0, "20001000=3");
}

/* remap_move: holes inside the range are kept (each VMA keeps its offset
 * from the start); a range that starts in a hole is -EFAULT. */
/* host-verified */
CASE(mremap_fixed_moves_vmas_with_hole)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED), A + 2 * P);
	WRITES(0, A, 1);
	WRITES(0, A + 2 * P, 3);
	EQ(sem_mremap(0, A - P, 4 * P, 4 * P, MAYMOVE | RFIXED, B), -EFAULT);
	MAPS(0, "10000000-10001000 rw-p anon; 10002000-10003000 rw-p anon");
	EQ(sem_mremap(0, A, 3 * P, 3 * P, MAYMOVE | RFIXED, B), B);
	MAPS(0, "20000000-20001000 rw-p anon; 20002000-20003000 rw-p anon");
	PAGES(0, "20000000=1 20002000=3");
}

/* MREMAP_DONTUNMAP: the pages move to the new VMA; the old VMA stays and,
 * private anonymous, reads 0. */
/* host-verified */
CASE(mremap_dontunmap_private_anon)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	WRITES(0, A + P, 2);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | DONTUNMAP | RFIXED, B), B);
	MAPS(0, "10000000-10002000 rw-p anon; 20000000-20002000 rw-p anon");
	PAGES(0, "20000000=1 20001000=2");
	READS(0, A, 0);
	READS(0, B + P, 2);
}

/* MREMAP_DONTUNMAP without MREMAP_FIXED picks the new address top-down. */
CASE(mremap_dontunmap_topdown)
{
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_mremap(0, A, P, P, MAYMOVE | DONTUNMAP, 0), TOP - P);
	MAPS(0, "10000000-10001000 rw-p anon; effff000-f0000000 rw-p anon");
	READS(0, TOP - P, 1);
	READS(0, A, 0);
}

/* MREMAP_DONTUNMAP of a shared mapping: the old VMA still maps the same
 * object, so it still sees the data. */
/* host-verified */
CASE(mremap_dontunmap_shared_anon)
{
	EQ(MAP_ANON_S(0, A, P, RW, FIXED), A);
	WRITES(0, A, 6);
	EQ(sem_mremap(0, A, P, P, MAYMOVE | DONTUNMAP | RFIXED, B), B);
	MAPS(0, "10000000-10001000 rw-s anon@0; 20000000-20001000 rw-s anon@0");
	PAGES(0, "20000000=6");
	READS(0, A, 6);
	WRITES(0, B, 7);
	READS(0, A, 7);
}

/* MREMAP_DONTUNMAP of a private file mapping: the COWed page moves, the
 * old VMA maps the file again and shows the page cache. */
/* host-verified */
CASE(mremap_dontunmap_private_file)
{
	EQ(sem_file_create(P), 0);
	EQ(sem_file_write(0, 0, 0x31), 8);
	EQ(MAP_FILE_P(0, A, P, RW, FIXED, 0, 0), A);
	WRITES(0, A, 0x32);
	EQ(sem_mremap(0, A, P, P, MAYMOVE | DONTUNMAP | RFIXED, B), B);
	MAPS(0, "10000000-10001000 rw-p f0@0; 20000000-20001000 rw-p f0@0");
	PAGES(0, "20000000=32");
	READS(0, A, 0x31);
	READS(0, B, 0x32);
}

/* After MREMAP_DONTUNMAP the old private VMA has no anon_vma: a fork
 * copies nothing of it, and it merges with a fresh neighbour. */
/* host-verified */
CASE(mremap_dontunmap_old_vma_is_fresh)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | DONTUNMAP | RFIXED, B), B);
	EQ(sem_fork(0), 1);
	PAGES(1, "20000000=1");
	EQ(MAP_ANON_P(0, A + 2 * P, P, RW, FIXED), A + 2 * P);
	MAPS(0, "10000000-10003000 rw-p anon; 20000000-20002000 rw-p anon");
}

/* MREMAP_DONTUNMAP of part of a VMA: the old VMA stays whole (no split),
 * only the pages of the range move. */
/* host-verified */
CASE(mremap_dontunmap_part_of_vma)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	for (int i = 0; i < 4; i++)
		WRITES(0, A + i * P, i + 1);
	EQ(sem_mremap(0, A + P, 2 * P, 2 * P, MAYMOVE | DONTUNMAP | RFIXED, B), B);
	MAPS(0, "10000000-10004000 rw-p anon; 20000000-20002000 rw-p anon");
	PAGES(0, "10000000=1 10003000=4 20000000=2 20001000=3");
	READS(0, A + P, 0);
}

/* MREMAP_DONTUNMAP of a shared file mapping: both VMAs map the file, and a
 * truncate zaps both. */
/* host-verified */
CASE(mremap_dontunmap_shared_file_truncate)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 0), A);
	WRITES(0, A + P, 0x41);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | DONTUNMAP | RFIXED, B), B);
	MAPS(0, "10000000-10002000 rw-s f0@0; 20000000-20002000 rw-s f0@0");
	READS(0, A + P, 0x41);
	READS(0, B + P, 0x41);
	EQ(sem_truncate(0, P), 0);
	READ_SIG(0, A + P, SIGBUS, BUS_ADRERR);
	READ_SIG(0, B + P, SIGBUS, BUS_ADRERR);
	PAGES(0, "");
}

/* MREMAP_DONTUNMAP needs MREMAP_MAYMOVE and equal lengths (-EINVAL). */
/* host-verified */
CASE(mremap_dontunmap_invalid)
{
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(sem_mremap(0, A, 2 * P, 3 * P, MAYMOVE | DONTUNMAP | RFIXED, B), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, P, MAYMOVE | DONTUNMAP | RFIXED, B), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, DONTUNMAP, 0), -EINVAL);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, DONTUNMAP | RFIXED, B), -EINVAL);
	MAPS(0, "10000000-10002000 rw-p anon");
}

/* copy_vma: a moved, faulted anonymous VMA keeps its pgoff, so it does not
 * merge with a compatible neighbour at the destination (verify that the
 * layout shows two VMAs). */
/* host-verified */
CASE(mremap_moved_faulted_no_merge)
{
	EQ(MAP_ANON_P(0, B, 2 * P, RW, FIXED), B);
	WRITES(0, B, 1);
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	WRITES(0, A, 2);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, B + 2 * P), B + 2 * P);
	MAPS(0, "20000000-20002000 rw-p anon; 20002000-20004000 rw-p anon");
	PAGES(0, "20000000=1 20002000=2");
}

/* copy_vma: an unfaulted anonymous VMA takes the pgoff of its new address
 * when moved, so it merges with a faulted neighbour (merge.c
 * mremap_unfaulted_to_faulted / mremap_unfaulted_behind_faulted). */
/* host-verified */
CASE(mremap_moved_unfaulted_merges)
{
	EQ(MAP_ANON_P(0, B, 2 * P, RW, FIXED), B);
	WRITES(0, B, 1);
	EQ(MAP_ANON_P(0, A, 2 * P, RW, FIXED), A);
	EQ(MAP_ANON_P(0, C, 2 * P, RW, FIXED), C);
	EQ(sem_mremap(0, A, 2 * P, 2 * P, MAYMOVE | RFIXED, B + 2 * P), B + 2 * P);
	EQ(sem_mremap(0, C, 2 * P, 2 * P, MAYMOVE | RFIXED, B - 2 * P), B - 2 * P);
	MAPS(0, "1fffe000-20004000 rw-p anon");
}

/* A faulted VMA moved back to where it came from is again contiguous in
 * pgoff with the same anon_vma and merges (merge.c
 * mremap_correct_placed_faulted). */
/* host-verified */
CASE(mremap_moved_back_merges)
{
	EQ(MAP_ANON_P(0, A, 4 * P, RW, FIXED), A);
	WRITES(0, A, 1);
	WRITES(0, A + 3 * P, 4);
	EQ(sem_mremap(0, A + 2 * P, 2 * P, 2 * P, MAYMOVE | RFIXED, B), B);
	MAPS(0, "10000000-10002000 rw-p anon; 20000000-20002000 rw-p anon");
	EQ(sem_mremap(0, B, 2 * P, 2 * P, MAYMOVE | RFIXED, A + 2 * P), A + 2 * P);
	MAPS(0, "10000000-10004000 rw-p anon");
	PAGES(0, "10000000=1 10003000=4");
}

/* A file mapping keeps file and pgoff when moved, and grows in place
 * covering further file pages. */
/* host-verified */
CASE(mremap_file_mapping)
{
	EQ(sem_file_create(8 * P), 0);
	EQ(sem_file_write(0, 3, 0x33), 8);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 2), A);
	EQ(sem_mremap(0, A + P, P, P, MAYMOVE | RFIXED, B), B);
	MAPS(0, "10000000-10001000 rw-s f0@2; 20000000-20001000 rw-s f0@3");
	READS(0, B, 0x33);
	EQ(sem_mremap(0, B, P, 3 * P, 0, 0), B);
	MAPS(0, "10000000-10001000 rw-s f0@2; 20000000-20003000 rw-s f0@3");
	WRITES(0, B + 2 * P, 0x55);
	FREAD(0, 5, 8, 0x55);
}

/* ==== files ============================================================= */

/* file_create returns the lowest free handle; the size is as given, the
 * page cache empty; file_write stores a page's value (8 bytes written),
 * file_read returns it, a hole reads 0 (8 bytes), past EOF 0 bytes. */
/* host-verified */
CASE(file_create_read_write)
{
	EQ(sem_file_create(3 * P), 0);
	EQ(sem_file_create(0), 1);
	FILE_IS(0, 3 * P, "");
	FILE_IS(1, 0, "");
	EQ(sem_file_write(0, 2, 0x55), 8);
	FREAD(0, 2, 8, 0x55);
	FREAD(0, 1, 8, 0);
	FREAD(0, 3, 0, 0);
	FREAD(1, 0, 0, 0);
	FILE_IS(0, 3 * P, "2=55");
}

/* pwrite past EOF extends the file to the end of the 8 bytes written. */
/* host-verified */
CASE(file_write_extends)
{
	EQ(sem_file_create(0), 0);
	EQ(sem_file_write(0, 2, 0x66), 8);
	FILE_IS(0, 2 * P + 8, "2=66");
	FREAD(0, 2, 8, 0x66);
	FREAD(0, 0, 8, 0);
	FREAD(0, 3, 0, 0);
	/* a write inside the file does not change its size */
	EQ(sem_file_write(0, 0, 1), 8);
	FILE_IS(0, 2 * P + 8, "0=1 2=66");
}

/* Model rule: at most MMF_MAX_FILES files (no close): -EMFILE. */
CASE(file_create_limit)
{
	for (int i = 0; i < MMF_MAX_FILES; i++)
		EQ(sem_file_create(P), i);
	EQ(sem_file_create(P), -EMFILE);
}

/* Unknown file handles are -EBADF for every file op; sizes beyond
 * MMF_MAX_FILE_SIZE are -EFBIG. */
CASE(file_bad_handle_and_size)
{
	struct mmf_res r;

	EQ(sem_truncate(0, P), -EBADF);
	EQ(sem_file_write(0, 0, 1), -EBADF);
	r = sem_file_read(0, 0);
	EQ(r.ret, -EBADF);
	EQ(sem_file_create(P), 0);
	EQ(sem_truncate(1, P), -EBADF);
	EQ(sem_truncate(-1, P), -EBADF);
	EQ(sem_file_write(MMF_MAX_FILES, 0, 1), -EBADF);
	EQ(sem_truncate(0, MMF_MAX_FILE_SIZE + 1), -EFBIG);
	EQ(sem_file_write(0, MMF_MAX_FILE_SIZE / P, 1), -EFBIG);
	EQ(sem_file_create(MMF_MAX_FILE_SIZE + 1), -EFBIG);
	FILE_IS(0, P, "");
}

/* Writes through a shared mapping are in the page cache: file_read sees
 * them, and so does another process's independent shared mapping. */
/* host-verified */
CASE(file_shared_write_visible)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 0), A);
	EQ(sem_fork(0), 1);
	EQ(MAP_FILE_S(1, B, P, RO, FIXED, 0, 1), B);
	WRITES(0, A + P, 0x11);
	FREAD(0, 1, 8, 0x11);
	READS(1, B, 0x11);
	EQ(sem_file_write(0, 1, 0x12), 8);
	READS(0, A + P, 0x12);
	READS(1, B, 0x12);
	FILE_IS(0, 2 * P, "1=12");
}

/* A private file mapping sees the page cache (including later writes to
 * the file) until it writes the page; then it has its own copy. */
/* host-verified */
CASE(file_private_cow)
{
	EQ(sem_file_create(P), 0);
	EQ(sem_file_write(0, 0, 1), 8);
	EQ(MAP_FILE_P(0, A, P, RW, FIXED, 0, 0), A);
	READS(0, A, 1);
	EQ(sem_file_write(0, 0, 2), 8);
	READS(0, A, 2);
	WRITES(0, A, 3);
	EQ(sem_file_write(0, 0, 4), 8);
	READS(0, A, 3);
	FREAD(0, 0, 8, 4);
	FILE_IS(0, P, "0=4");
}

/* A write fault of a private file mapping over a hole reads the page in
 * (allocating it in the page cache, zero-filled) and copies it; a COWed
 * page inside the new EOF survives a truncate, one beyond it does not. */
/* host-verified */
CASE(file_private_write_fault_and_truncate)
{
	EQ(sem_file_create(4 * P), 0);
	EQ(MAP_FILE_P(0, A, 4 * P, RW, FIXED, 0, 0), A);
	WRITES(0, A + P, 0x61);
	WRITES(0, A + 3 * P, 0x63);
	FILE_IS(0, 4 * P, "1=0 3=0");
	PAGES(0, "10001000=61 10003000=63");
	EQ(sem_truncate(0, 2 * P), 0);
	PAGES(0, "10001000=61");
	READS(0, A + P, 0x61);
	READ_SIG(0, A + 3 * P, SIGBUS, BUS_ADRERR);
	FILE_IS(0, 2 * P, "1=0");
}

static void pages_run(char *buf, size_t len, uint64_t addr, int first, int n, uint64_t base)
{
	for (int i = first; i < first + n; i++)
		cat(buf, len, "%s%" PRIx64 "=%" PRIx64, buf[0] ? " " : "", addr + i * P, base + i);
}

/* do_fault_around / filemap_map_pages: a read fault on a file mapping also
 * maps the neighbouring pages that are already in the page cache, in the
 * 16-page (fault_around_bytes 64K), 16-page-aligned block of the faulting
 * address, clamped to the VMA and to EOF.  Write faults do not. */
/* host-verified */
CASE(file_fault_around)
{
	char exp[4096] = "";

	EQ(sem_file_create(40 * P), 0);
	for (int i = 0; i < 40; i++)
		EQ(sem_file_write(0, i, 0x100 + i), 8);
	EQ(MAP_FILE_S(0, A, 32 * P, RO, FIXED, 0, 0), A);
	READS(0, A + 5 * P, 0x105);
	pages_run(exp, sizeof(exp), A, 0, 16, 0x100);
	PAGES(0, exp);
	READS(0, A + 31 * P, 0x11f);
	pages_run(exp, sizeof(exp), A, 16, 16, 0x100);
	PAGES(0, exp);
	/* a VMA that starts mid-block: clamped to the VMA */
	EQ(MAP_FILE_P(0, B + 3 * P, 6 * P, RW, FIXED, 0, 3), B + 3 * P);
	READS(0, B + 4 * P, 0x104);
	pages_run(exp, sizeof(exp), B, 3, 6, 0x100);
	PAGES(0, exp);
	/* a write fault maps only its own page */
	EQ(MAP_FILE_S(0, C, 8 * P, RW, FIXED, 0, 32), C);
	WRITES(0, C + 2 * P, 0x77);
	cat(exp, sizeof(exp), " 30002000=77");
	PAGES(0, exp);
	FREAD(0, 34, 8, 0x77);
}

/* Fault-around stops at EOF and maps only cached pages. */
/* host-verified */
CASE(file_fault_around_eof_and_holes)
{
	EQ(sem_file_create(16 * P), 0);
	EQ(sem_file_write(0, 0, 0x10), 8);
	EQ(sem_file_write(0, 2, 0x12), 8);
	EQ(sem_file_write(0, 9, 0x19), 8);
	EQ(sem_truncate(0, 9 * P), 0);
	EQ(MAP_FILE_S(0, A, 16 * P, RO, FIXED, 0, 0), A);
	READS(0, A + P, 0);
	PAGES(0, "10000000=10 10001000=0 10002000=12");
	FILE_IS(0, 9 * P, "0=10 1=0 2=12");
}

/* A read fault through a mapping of a hole of a shmem file allocates a
 * page cache page; file_read of a hole does not. */
/* host-verified */
CASE(file_fault_populates_page_cache)
{
	EQ(sem_file_create(4 * P), 0);
	FREAD(0, 2, 8, 0);
	FILE_IS(0, 4 * P, "");
	EQ(MAP_FILE_S(0, A, 4 * P, RO, FIXED, 0, 0), A);
	READS(0, A + P, 0);
	FILE_IS(0, 4 * P, "1=0");
	PAGES(0, "10001000=0");
}

/* Accesses past EOF through a mapping raise SIGBUS/BUS_ADRERR, shared and
 * private alike; a partial last page is accessible. */
/* host-verified */
CASE(file_access_beyond_eof)
{
	EQ(sem_file_create(P + 0x800), 0);
	EQ(MAP_FILE_S(0, A, 4 * P, RW, FIXED, 0, 0), A);
	EQ(MAP_FILE_P(0, B, 4 * P, RW, FIXED, 0, 0), B);
	READS(0, A + P, 0);
	READ_SIG(0, A + 2 * P, SIGBUS, BUS_ADRERR);
	WRITE_SIG(0, A + 3 * P, SIGBUS, BUS_ADRERR);
	READ_SIG(0, B + 2 * P, SIGBUS, BUS_ADRERR);
	WRITE_SIG(0, B + 2 * P, SIGBUS, BUS_ADRERR);
	MAPS(0, "10000000-10004000 rw-s f0@0; 20000000-20004000 rw-p f0@0");
}

/* truncate down unmaps the pages beyond the new EOF in every process that
 * maps the file, shared mappings and private COWed copies alike
 * (unmap_mapping_range with even_cows); afterwards those pages SIGBUS. */
/* host-verified */
CASE(file_truncate_zaps_all_processes)
{
	EQ(sem_file_create(4 * P), 0);
	for (int i = 0; i < 4; i++)
		EQ(sem_file_write(0, i, 0x10 + i), 8);
	EQ(MAP_FILE_S(0, A, 4 * P, RW, FIXED, 0, 0), A);
	EQ(MAP_FILE_P(0, B, 4 * P, RW, FIXED, 0, 0), B);
	/* every page is faulted, so fault-around (which maps cached
	 * neighbours on a read fault) cannot change what is resident */
	for (int i = 0; i < 4; i++) {
		READS(0, A + i * P, 0x10 + i);
		READS(0, B + i * P, 0x10 + i);
	}
	WRITES(0, B + 3 * P, 0x99);
	EQ(sem_fork(0), 1);
	for (int i = 0; i < 4; i++)
		READS(1, A + i * P, 0x10 + i);
	PAGES(1, "10000000=10 10001000=11 10002000=12 10003000=13 "
		 "20000000=10 20001000=11 20002000=12 20003000=99");
	EQ(sem_truncate(0, 2 * P), 0);
	PAGES(0, "10000000=10 10001000=11 20000000=10 20001000=11");
	PAGES(1, "10000000=10 10001000=11 20000000=10 20001000=11");
	FILE_IS(0, 2 * P, "0=10 1=11");
	READ_SIG(0, A + 2 * P, SIGBUS, BUS_ADRERR);
	READ_SIG(1, A + 3 * P, SIGBUS, BUS_ADRERR);
	READ_SIG(0, B + 3 * P, SIGBUS, BUS_ADRERR);
	READ_SIG(1, B + 3 * P, SIGBUS, BUS_ADRERR);
	READS(1, A + P, 0x11);
	MAPS(0, "10000000-10004000 rw-s f0@0; 20000000-20004000 rw-p f0@0");
}

/* truncate to a size inside a page zeroes the rest of that page; a read
 * of the page through the file returns only the bytes before EOF (pread),
 * a mapping sees the whole page with the tail zeroed. */
/* host-verified */
CASE(file_truncate_partial_page)
{
	struct mmf_res r;

	EQ(sem_file_create(2 * P), 0);
	EQ(sem_file_write(0, 1, 0x1122334455667788ULL), 8);
	EQ(sem_truncate(0, P + 4), 0);
	r = sem_file_read(0, 1);
	EQ(r.ret, 4);
	EQ(r.value, 0x55667788);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 0), A);
	READS(0, A + P, 0x55667788);
	EQ(sem_truncate(0, 2 * P), 0);
	FREAD(0, 1, 8, 0x55667788);
	FILE_IS(0, 2 * P, "1=55667788");
}

/* Runs of VMAs of one file and of another, unmapped in one process and
 * torn down by exit in another: truncate still zaps exactly the mappings
 * that remain (i_mmap holds precisely the live file VMAs). */
/* host-verified */
CASE(file_truncate_after_unmap_runs)
{
	EQ(sem_file_create(16 * P), 0);
	EQ(sem_file_create(16 * P), 1);
	/* 8 one-page VMAs: f0 at pgoff 0,2,4,6 and f1 at 1,3,5,7, alternating */
	for (int i = 0; i < 8; i++)
		EQ(MAP_FILE_S(0, A + i * P, P, RW, FIXED, i & 1, i), A + i * P);
	for (int i = 0; i < 8; i++)
		WRITES(0, A + i * P, 0x100 + i);
	EQ(sem_fork(0), 1);
	for (int i = 0; i < 8; i++)
		READS(1, A + i * P, 0x100 + i);
	EQ(sem_munmap(0, A + 2 * P, 4 * P), 0);
	MAPS(0, "10000000-10001000 rw-s f0@0; 10001000-10002000 rw-s f1@1; "
		"10006000-10007000 rw-s f0@6; 10007000-10008000 rw-s f1@7");
	EQ(sem_exit(1), 0);
	EQ(sem_truncate(0, 0), 0);
	PAGES(0, "10001000=101 10007000=107");
	READ_SIG(0, A, SIGBUS, BUS_ADRERR);
	READ_SIG(0, A + 6 * P, SIGBUS, BUS_ADRERR);
	READS(0, A + 7 * P, 0x107);
	FILE_IS(0, 0, "");
	FILE_IS(1, 16 * P, "1=101 3=103 5=105 7=107");
}

/* Every piece of a file VMA - split by mprotect or munmap, moved by
 * mremap, private with COWed pages - stays reachable from the file:
 * truncate zaps exactly the pages at or beyond the new EOF in all of them
 * (page index = vma pgoff + offset in the VMA). */
/* host-verified */
CASE(file_truncate_after_vma_changes)
{
	EQ(sem_file_create(8 * P), 0);
	for (int i = 0; i < 8; i++)
		EQ(sem_file_write(0, i, 0x100 + i), 8);
	EQ(MAP_FILE_S(0, A, 8 * P, RW, FIXED, 0, 0), A);
	EQ(sem_mprotect(0, A + 2 * P, 2 * P, RO), 0);
	EQ(sem_munmap(0, A + 4 * P, P), 0);
	EQ(sem_mremap(0, A + 6 * P, 2 * P, 2 * P, MAYMOVE | RFIXED, B), B);
	EQ(MAP_FILE_P(0, C, 8 * P, RW, FIXED, 0, 0), C);
	for (int i = 0; i < 8; i++)
		READS(0, C + i * P, 0x100 + i);
	WRITES(0, C + 7 * P, 0x99);
	EQ(sem_mremap(0, C + 4 * P, 4 * P, 4 * P, MAYMOVE | RFIXED, C + 16 * P), C + 16 * P);
	for (int i = 0; i < 4; i++)
		READS(0, A + i * P, 0x100 + i);
	READS(0, A + 5 * P, 0x105);
	READS(0, B, 0x106);
	READS(0, B + P, 0x107);
	MAPS(0, "10000000-10002000 rw-s f0@0; 10002000-10004000 r--s f0@2; 10005000-10006000 rw-s f0@5; "
		"20000000-20002000 rw-s f0@6; 30000000-30004000 rw-p f0@0; 30010000-30014000 rw-p f0@4");
	EQ(sem_truncate(0, 3 * P), 0);
	PAGES(0, "10000000=100 10001000=101 10002000=102 30000000=100 30001000=101 30002000=102");
	READ_SIG(0, A + 3 * P, SIGBUS, BUS_ADRERR);
	READ_SIG(0, B, SIGBUS, BUS_ADRERR);
	READ_SIG(0, C + 19 * P, SIGBUS, BUS_ADRERR);
}

/* truncate up after truncate down: the range comes back as holes (0). */
/* host-verified */
CASE(file_truncate_up_reads_zero)
{
	EQ(sem_file_create(4 * P), 0);
	EQ(sem_file_write(0, 3, 7), 8);
	EQ(MAP_FILE_S(0, A, 4 * P, RW, FIXED, 0, 0), A);
	READS(0, A + 3 * P, 7);
	EQ(sem_truncate(0, P), 0);
	READ_SIG(0, A + 3 * P, SIGBUS, BUS_ADRERR);
	EQ(sem_truncate(0, 4 * P), 0);
	READS(0, A + 3 * P, 0);
	FREAD(0, 3, 8, 0);
	FILE_IS(0, 4 * P, "3=0");
}

/* MAP_FIXED over a shared file mapping drops the mapping, not the data. */
/* host-verified */
CASE(file_fixed_over_shared_keeps_data)
{
	EQ(sem_file_create(2 * P), 0);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 0), A);
	WRITES(0, A, 0x21);
	EQ(MAP_ANON_P(0, A, P, RW, FIXED), A);
	MAPS(0, "10000000-10001000 rw-p anon; 10001000-10002000 rw-s f0@1");
	READS(0, A, 0);
	FREAD(0, 0, 8, 0x21);
}

/* A mapping of a file range past EOF is allowed; it faults SIGBUS until the
 * file grows. */
/* host-verified */
CASE(file_map_past_eof_then_grow)
{
	EQ(sem_file_create(P), 0);
	EQ(MAP_FILE_S(0, A, 2 * P, RW, FIXED, 0, 4), A);
	READ_SIG(0, A, SIGBUS, BUS_ADRERR);
	EQ(sem_file_write(0, 5, 0x44), 8);
	READS(0, A + P, 0x44);
	READS(0, A, 0);
	FILE_IS(0, 5 * P + 8, "4=0 5=44");
}

/* ==== concurrency (mm.h: exec is thread-safe) ============================ */

struct sem_worker {
	int proc;
	uint64_t base;
	int64_t bad;	/* first unexpected result, or 0 */
};

/* One thread's work on its own process: map, split, write, read, unmap;
 * every result is fixed, whatever the other thread does meanwhile. */
static void *sem_worker_run(void *arg)
{
	struct sem_worker *wk = arg;

	for (int round = 0; round < 50 && !wk->bad; round++) {
		uint64_t a = wk->base + (uint64_t)(round % 5) * 16 * P;
		struct mmf_res r;

		if (MAP_ANON_P(wk->proc, a, 8 * P, RW, FIXED) != (int64_t)a ||
		    sem_mprotect(wk->proc, a + 2 * P, 2 * P, RO) != 0)
			wk->bad = 1;
		r = sem_write(wk->proc, a + P, round + 1);
		if (r.ret || r.sig)
			wk->bad = 2;
		r = sem_read(wk->proc, a + P);
		if (r.sig || r.value != (uint64_t)round + 1)
			wk->bad = 3;
		if (sem_munmap(wk->proc, a + 4 * P, 4 * P) != 0)
			wk->bad = 4;
	}
	return NULL;
}

#ifdef SEM_SCHED
/* The core on the deterministic backend (core/sync_sched.c) runs on one OS
 * thread: the workers are its fibers there. */
#include "sched_ctl.h"

static void sem_worker_fiber(void *arg)
{
	sem_worker_run(arg);
}
#endif

/* Two threads drive two processes at once; processes are independent, so
 * the results and the final state are the same under any interleaving. */
CASE(concurrent_independent_processes)
{
	struct sem_worker wk[2] = { { 0, A, 0 }, { 1, B, 0 } };

	EQ(sem_fork(0), 1);
#ifdef SEM_SCHED
	{
		static const uint8_t schedule[] = { 0x09, 0x31, 0x11, 0x59, 0x01, 0x21 };
		struct mmf_sched_opts so = { .schedule = schedule,
					     .schedule_len = sizeof(schedule) };

		mmf_sched_begin(&so);
		for (int i = 0; i < 2; i++)
			mmf_sched_spawn(sem_worker_fiber, &wk[i]);
		mmf_sched_run();
		mmf_sched_end();
	}
#else
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		EQ(pthread_create(&t[i], NULL, sem_worker_run, &wk[i]), 0);
	for (int i = 0; i < 2; i++)
		EQ(pthread_join(t[i], NULL), 0);
#endif
	EQ(wk[0].bad, 0);
	EQ(wk[1].bad, 0);
	MAPS(0, "10000000-10002000 rw-p anon; 10002000-10004000 r--p anon; "
		"10010000-10012000 rw-p anon; 10012000-10014000 r--p anon; "
		"10020000-10022000 rw-p anon; 10022000-10024000 r--p anon; "
		"10030000-10032000 rw-p anon; 10032000-10034000 r--p anon; "
		"10040000-10042000 rw-p anon; 10042000-10044000 r--p anon");
	MAPS(1, "20000000-20002000 rw-p anon; 20002000-20004000 r--p anon; "
		"20010000-20012000 rw-p anon; 20012000-20014000 r--p anon; "
		"20020000-20022000 rw-p anon; 20022000-20024000 r--p anon; "
		"20030000-20032000 rw-p anon; 20032000-20034000 r--p anon; "
		"20040000-20042000 rw-p anon; 20042000-20044000 r--p anon");
	PAGES(0, "10001000=2e 10011000=2f 10021000=30 10031000=31 10041000=32");
	PAGES(1, "20001000=2e 20011000=2f 20021000=30 20031000=31 20041000=32");
}

/* ==== snapshots =========================================================== */

/* The snapshot lists live processes by handle, each VMA list ascending,
 * resident pages ascending with their values, files with size and pages. */
/* host-verified */
CASE(snapshot_exact)
{
	EQ(sem_file_create(3 * P), 0);
	EQ(sem_file_write(0, 0, 0xaa), 8);
	EQ(MAP_ANON_P(0, B, 2 * P, RW, FIXED), B);
	EQ(MAP_FILE_S(0, A, 3 * P, RO, FIXED, 0, 0), A);
	WRITES(0, B + P, 0xbb);
	READS(0, A, 0xaa);
	READS(0, A + 2 * P, 0);
	EQ(sem_fork(0), 1);
	EQ(sem_munmap(1, A, 3 * P), 0);
	PROCS("0 1");
	MAPS(0, "10000000-10003000 r--s f0@0; 20000000-20002000 rw-p anon");
	PAGES(0, "10000000=aa 10002000=0 20001000=bb");
	MAPS(1, "20000000-20002000 rw-p anon");
	PAGES(1, "20001000=bb");
	FILE_IS(0, 3 * P, "0=aa 2=0");
}

/* ---- driver ------------------------------------------------------------------ */

/* mmf_reference is declared in mm.h; mmf_core is linked when it is built. */
#ifdef MMF_HAVE_CORE
extern const struct mmf_impl mmf_core;
#endif
/* The host-kernel backend (diff/kernel.c, in mmf_diff): "--impl kernel"
 * replays the cases on the host; ops it cannot check there fail as
 * skipped. */
#if defined(__has_include)
#if __has_include("../diff/diff.h")
#define SEM_HAVE_KERNEL 1
extern const struct mmf_impl mmf_kernel;
#endif
#endif
/* A probe build may add one more implementation (-DMMF_SEM_EXTRA_IMPL=sym). */
#ifdef MMF_SEM_EXTRA_IMPL
extern const struct mmf_impl MMF_SEM_EXTRA_IMPL;
#endif

static const struct mmf_impl *find_impl(const char *name)
{
	const struct mmf_impl *impls[] = {
		&mmf_reference,
#ifdef MMF_HAVE_CORE
		&mmf_core,
#endif
#ifdef SEM_HAVE_KERNEL
		&mmf_kernel,
#endif
#ifdef MMF_SEM_EXTRA_IMPL
		&MMF_SEM_EXTRA_IMPL,
#endif
	};

	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
		if (impls[i] && impls[i]->name && !strcmp(impls[i]->name, name))
			return impls[i];
	return NULL;
}

/* Run one case in this process: 0 passed, 1 failed. */
static int run_case(const struct sem_case *c)
{
	int failed = 0;

	sem.name = c->name;
	sem.w = sem.impl->world_new(NULL);
	if (!sem.w) {
		printf("FAIL %s\n  world_new returned NULL\n", c->name);
		return 1;
	}
	if (setjmp(sem.fail) == 0)
		c->fn();
	else
		failed = 1;
	sem.impl->world_free(sem.w);
	sem.w = NULL;
	fflush(stdout);
	return failed;
}

#define SEM_EXIT_FAILED 77

/* Run one case in a child so that a crash or a hang fails only this case. */
static int run_case_isolated(const struct sem_case *c)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return run_case(c);
	}
	if (pid == 0) {
		alarm(120);	/* a hung implementation, not a timed assertion */
		_exit(run_case(c) ? SEM_EXIT_FAILED : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == SEM_EXIT_FAILED)
		return 1;	/* the failure is printed already */
	if (WIFEXITED(status)) {
		/* e.g. a sanitizer report from the implementation (above) */
		printf("FAIL %s\n  the implementation exited with status %d\n", c->name,
		       WEXITSTATUS(status));
		fflush(stdout);
		return 1;
	}
	printf("FAIL %s\n  the implementation crashed: signal %d (%s)\n", c->name,
	       WTERMSIG(status), strsignal(WTERMSIG(status)));
	fflush(stdout);
	return 1;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: test_semantics [--impl NAME] [--list] [--case NAME]... [--no-fork]\n"
		     "  --impl NAME   implementation to test: reference, core, kernel (the host;\n"
		     "                ops it cannot check there fail); default reference\n"
		     "  --list        print the case names and exit\n"
		     "  --case NAME   run only this case (repeatable)\n"
		     "  --no-fork     run cases in this process (for debuggers)\n");
}

int main(int argc, char **argv)
{
	const char *impl_name = "reference";
	const char *only[SEM_MAX_CASES];
	int nr_only = 0, passed = 0, failed = 0;
	bool list = false, isolate = true;
	static const struct option opts[] = {
		{ "impl", required_argument, NULL, 'i' },
		{ "list", no_argument, NULL, 'l' },
		{ "case", required_argument, NULL, 'c' },
		{ "no-fork", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "i:lc:nh", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			impl_name = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'c':
			if (nr_only < SEM_MAX_CASES)
				only[nr_only++] = optarg;
			break;
		case 'n':
			isolate = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	qsort(cases, nr_cases, sizeof(cases[0]), case_cmp);
	if (list) {
		for (int i = 0; i < nr_cases; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	sem.impl = find_impl(impl_name);
	if (!sem.impl) {
		fprintf(stderr, "test_semantics: implementation '%s' is not built into this binary\n",
			impl_name);
		return 2;
	}
	for (int j = 0; j < nr_only; j++) {
		bool found = false;

		for (int i = 0; i < nr_cases; i++)
			found |= !strcmp(cases[i].name, only[j]);
		if (!found) {
			fprintf(stderr, "test_semantics: no case named '%s'\n", only[j]);
			return 2;
		}
	}
	for (int i = 0; i < nr_cases; i++) {
		bool selected = nr_only == 0;

		for (int j = 0; j < nr_only; j++)
			selected |= !strcmp(cases[i].name, only[j]);
		if (!selected)
			continue;
		if (isolate ? run_case_isolated(&cases[i]) : run_case(&cases[i]))
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
