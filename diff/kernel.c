// SPDX-License-Identifier: MIT
/*
 * diff/kernel.c - the host Linux kernel as an implementation (mmf_kernel).
 *
 * Every model process is a real process.  Model address a is host address
 * KWIN + a: the model's whole address space [0, MMF_TASK_SIZE) is a 4 GiB
 * window that the harness never uses (checked against /proc/self/maps at
 * world_new, with KMARGIN free on both sides so that nothing of the harness
 * merges with, or sits in the stack guard gap of, a model VMA):
 *
 *   ASan/UBSan or no sanitizer: KWIN = 0x200000000000 (above ASan's high
 *       shadow, below its allocator at 0x600000000000, far from the PIE
 *       binary and the top-down mmap area);
 *   TSan: KWIN = 0x7000000000 (TSan's low application range, below its
 *       shadow at 0x10000000000).
 *
 * IPC.  The harness holds one SOCK_SEQPACKET socketpair end per process.
 * world_new forks a keeper process, a child subreaper that forks p0 and then
 * only reaps: every model process that outlives its parent is reparented to
 * the keeper, not to PID 1 (which in a container may never reap).  The
 * keeper exits when the harness closes its socket and its children are gone.
 * p0 closes every inherited fd but its
 * end (moved to fd 3), unmaps the window, sets RLIMIT_STACK to
 * MMF_STACK_LIMIT, disables THP (PR_SET_THP_DISABLE: the model has no huge
 * pages), ignores SIGCHLD (its own children are reaped by the kernel),
 * installs SIGSEGV/SIGBUS handlers and says HELLO with its pid and a pidfd.
 * A `fork` op makes a new socketpair in the harness and passes the child end
 * to the forking process with SCM_RIGHTS; the process forks for real, the
 * new process adopts that end as fd 3 and says HELLO.  Mapping a file passes
 * its memfd along with the op the same way (the process closes it after
 * mmap).  Files are memfds ("mmfuzz-fN") held by the harness: truncate,
 * file_read, file_write and the file part of the snapshot run there.
 * Every read from a process is bounded by poll() (KTIMEOUT_MS): a process
 * that dies or hangs gives MMF_RES_HARNESS and a message
 * (mmf_kernel_error()), never a hang.  world_free SIGKILLs and reaps all.
 *
 * Inside a process (async-signal-safe territory: the harness may be
 * multi-threaded and sanitized, so the process uses raw syscalls, no malloc,
 * static buffers):
 *   - read/write: a volatile u64 load/store at KWIN + page, guarded by
 *     sigsetjmp and a SIGSEGV/SIGBUS handler that records sig and si_code;
 *   - snapshot: /proc/self/smaps for the window's VMAs (prot, s/p, file from
 *     the path "/memfd:mmfuzz-fN (deleted)", shared anon "/dev/zero
 *     (deleted)", names "[anon:NAME]" / "[anon_shmem:NAME]", pgoff from the
 *     offset, VmFlags gd/dc/wf), /proc/self/pagemap bit 63 for every page of
 *     every window VMA, and the values of present pages through
 *     /proc/self/mem (no fault, works on PROT_NONE pages).
 *
 * What is checkable (everything else returns MMF_RES_SKIPPED, see diff.h):
 *   - mmap with MAP_FIXED / MAP_FIXED_NOREPLACE inside the window and not
 *     below MMF_MMAP_MIN_ADDR; a hinted mmap when the host honours the hint
 *     (otherwise the host mapping is removed and the op is skipped); an
 *     mmap with addr 0 and no fixed flag is skipped (top-down placement is
 *     the host's);
 *   - mremap in place, MREMAP_FIXED into the window; MREMAP_MAYMOVE growth
 *     is first tried in place (no MAYMOVE): success is the answer, -ENOMEM
 *     means the host would move it anywhere, so skipped;
 *   - munmap inside the window; mprotect, madvise (not MADV_HWPOISON/
 *     SOFT_OFFLINE) and set_name starting inside it (a range running past
 *     MMF_TASK_SIZE is clipped, see kc_ranged()); read/write at
 *     [MMF_MMAP_MIN_ADDR, MMF_TASK_SIZE);
 *   - not: populating more than KPOPULATE_MAX of real memory at once
 *     (MAP_POPULATE, MAP_LOCKED, MADV_POPULATE_READ/WRITE), to spare the host;
 *   - set_name when the host has CONFIG_ANON_VMA_NAME (probed at world_new;
 *     otherwise skipped with a one-time note on stderr);
 *   - fork/exit; process and file numbering (lowest free slot,
 *     MMF_MAX_PROCS -> -EAGAIN, MMF_MAX_FILES -> -EMFILE, an unknown
 *     process -> -ESRCH; an unknown file is fd -1, so -EBADF) is bookkeeping the
 *     backend reproduces;
 *   - files up to MMF_MAX_FILE_SIZE.
 * Known differences that come from the host, not the model (the one place
 * they are listed):
 *   - vm.max_map_count counts the harness's own VMAs too;
 *   - vm.mmap_min_addr of the host is below the window anyway (hence the
 *     skips below MMF_MMAP_MIN_ADDR);
 *   - a host without the shared zero page (a PVM guest booted with
 *     pvm_no_zero_page=1, as the development host is) allocates a page and
 *     an anon_vma on a read fault of private anonymous memory: fork then
 *     copies that page and the VMA stops merging with anon_vma-less
 *     neighbours.  mmf_kernel_probe() reports it (no MMF_KERNEL_ZERO_PAGE);
 *     `mmfuzz conform` rewrites such reads (mmf_diff_zero_page_variant);
 *   - no CONFIG_ANON_VMA_NAME: set_name is skipped (MMF_KERNEL_NAMES);
 *   - x86 protection keys (pku + ospke): PROT_EXEC-only memory is
 *     execute-only there (loads and stores SIGSEGV/SEGV_PKUERR, and the
 *     key blocks merges and anon_vma reuse); mmf_kernel_probe() reports it
 *     (MMF_KERNEL_PKU_XONLY), every user passes it to the model as
 *     mmf_config.exec_only_pkey, and world_new refuses a config that asks
 *     for the other;
 *   - guard regions (MADV_GUARD_INSTALL/REMOVE) are modelled as in Linux
 *     6.18: the VMA gets the sticky VM_MAYBE_GUARD (merges ignore it, fork
 *     copies its page table), and only private anonymous memory an
 *     anon_vma too.  An older host answers -EINVAL (before 6.13, or
 *     6.13-6.14 in file mappings): mmf_kernel_probe() reports it (no
 *     MMF_KERNEL_GUARD), `mmfuzz expect` then leaves programs that use them
 *     off the host.  A host with guard regions but no VM_MAYBE_GUARD gives
 *     a file or shared-anonymous VMA an anon_vma instead (a fork child's
 *     such VMAs then stop merging, diff:fork:snapshot:vma); not probed;
 *   - THP is disabled in every model process (PR_SET_THP_DISABLE): the
 *     model has no huge pages.
 * Timeouts: KTIMEOUT_MS per op reply, KSNAP_TIMEOUT_MS per snapshot message.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mmfuzz/uapi.h"
#include "diff.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA		0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME	0
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open		434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal	424
#endif
#ifndef SYS_close_range
#define SYS_close_range		436
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KWIN_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define KWIN_TSAN 1
#endif

#ifdef KWIN_TSAN
#define KWIN		0x7000000000ULL
#else
#define KWIN		0x200000000000ULL
#endif
#define KMARGIN		(16ULL << 20)	/* kept free around the window */
#define KCTL		3		/* the control socket in a process */
#define KTIMEOUT_MS	30000	/* a loaded CI machine may stall a process for seconds */
#define KSNAP_TIMEOUT_MS 30000
/* populating more than this (MAP_POPULATE, MAP_LOCKED, MADV_POPULATE_*) is skipped */
#define KPOPULATE_MAX	(256ULL << 20)

#define NO_SAN __attribute__((no_sanitize("address", "thread", "undefined"), noinline))

/* ---- messages ------------------------------------------------------------ */

enum { KREQ_OP = 1, KREQ_SNAP };
enum { KMSG_HELLO = 1, KMSG_RES, KMSG_VMA, KMSG_PAGES, KMSG_END, KMSG_ERR };

struct kreq {
	uint32_t type;
	uint32_t names_ok;
	struct mmf_op op;
};

#define KPAGES_MAX 240

struct kmsg {
	uint32_t type, n;
	union {
		struct {
			struct mmf_res res;
			int64_t aux;	/* HELLO, fork: pid */
		} r;
		struct mmf_snap_vma vma;
		struct mmf_snap_page pages[KPAGES_MAX];
		char err[256];
	} u;
};

/* ---- the harness side: a world ------------------------------------------- */

struct kproc {
	bool live;
	int sock;		/* harness end */
	int pidfd;		/* -1 if pidfd_open is unavailable */
	pid_t pid;
};

struct kfile {
	bool live;
	int fd;
};

struct mmf_world {
	pthread_mutex_t lock;
	bool names_ok;
	struct kproc procs[MMF_MAX_PROCS];
	struct kfile files[MMF_MAX_FILES];
	int keeper_sock;	/* EOF tells the keeper to finish */
	pid_t keeper;		/* our child; the parent of p0 */
	char err[512];
};

static atomic_int names_note_printed;
/* probe_pku_exec_only(), once per harness: 0 not yet, 1 no, 2 yes */
static atomic_int pku_probed;

uint64_t mmf_kernel_window(void)
{
	return KWIN;
}

const char *mmf_kernel_error(struct mmf_world *w)
{
	return w ? w->err : "";
}

/* ---- the process side ------------------------------------------------------ */

/*
 * Everything below up to the harness side runs in a forked process.  The
 * statics are per process (copy-on-write after fork) and never touched by
 * the harness.
 */
static sigjmp_buf kc_jmp;
static volatile sig_atomic_t kc_guard;
static volatile int kc_sig, kc_code;
static char kc_buf[1 << 16];

static void kc_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!kc_guard) {
		/* not ours: die of it, the harness reports the death */
		signal(sig, SIG_DFL);
		return;
	}
	kc_guard = 0;
	kc_sig = sig;
	kc_code = si->si_code;
	siglongjmp(kc_jmp, 1);
}

static NO_SAN uint64_t kc_load(uintptr_t a)
{
	return *(volatile uint64_t *)a;
}

static NO_SAN void kc_store(uintptr_t a, uint64_t v)
{
	*(volatile uint64_t *)a = v;
}

static long kc_sys(long r)
{
	return r == -1 ? -errno : r;
}

static void kc_send(const struct kmsg *m)
{
	size_t len = offsetof(struct kmsg, u) + sizeof(m->u);

	if (m->type == KMSG_PAGES)
		len = offsetof(struct kmsg, u) + m->n * sizeof(m->u.pages[0]);
	while (send(KCTL, m, len, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			_exit(0);	/* harness gone */
	}
}

static void kc_send_fd(const struct kmsg *m, int fd)
{
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(KCTL, &mh, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			_exit(0);
	}
}

/* Receive a request and maybe one fd; exits on EOF (the harness is gone). */
static void kc_recv(struct kreq *rq, int *fd)
{
	struct iovec iov = { .iov_base = rq, .iov_len = sizeof(*rq) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do {
		n = recvmsg(KCTL, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(0);
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
}

static void kc_hello(void)
{
	struct kmsg m;
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	memset(&m, 0, sizeof(m));
	m.type = KMSG_HELLO;
	m.u.r.aux = getpid();
	kc_send_fd(&m, pidfd);
	if (pidfd >= 0)
		close(pidfd);
}

/* fd 3 is the control socket; close everything else but stdio. */
static void kc_adopt_ctl(int fd)
{
	if (fd != KCTL) {
		if (dup2(fd, KCTL) < 0)
			_exit(1);
		close(fd);
	}
	if (syscall(SYS_close_range, KCTL + 1, ~0U, 0) < 0) {
		for (int i = KCTL + 1; i < 1024; i++)
			close(i);
	}
}

static void kc_setup_p0(int fd)
{
	struct sigaction sa;
	struct rlimit rl;

	kc_adopt_ctl(fd);
	/* The model's address space: empty. */
	syscall(SYS_munmap, KWIN - KMARGIN, MMF_TASK_SIZE + 2 * KMARGIN);
	if (getrlimit(RLIMIT_STACK, &rl) == 0) {
		rl.rlim_cur = MMF_STACK_LIMIT;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
			rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_STACK, &rl);
	}
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kc_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Is [addr, addr + PAGE_ALIGN(len)) inside the model address space? */
static bool in_window(uint64_t addr, uint64_t len)
{
	if (addr >= MMF_TASK_SIZE || len > MMF_TASK_SIZE)
		return false;
	return addr + MMF_PAGE_ALIGN(len) <= MMF_TASK_SIZE;
}

static bool host_in_window(uint64_t h)
{
	return h >= KWIN && h < KWIN + MMF_TASK_SIZE;
}

static void kc_mmap(const struct kreq *rq, int fd, struct mmf_res *res)
{
	const struct mmf_op *op = &rq->op;
	bool fixed = op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	long r;

	if (op->pgoff >= (1ULL << (64 - MMF_PAGE_SHIFT))) {	/* not expressible in mmap(2) */
		res->ret = MMF_RES_SKIPPED;
		return;
	}
	r = kc_sys(syscall(SYS_mmap, (unsigned long)(KWIN + op->addr), (unsigned long)op->len,
			   (unsigned long)op->prot, (unsigned long)op->flags, (long)fd,
			   (unsigned long)(op->pgoff << MMF_PAGE_SHIFT)));
	if (r < 0 && r >= -4095) {
		res->ret = r;
		return;
	}
	if (host_in_window((uint64_t)r) &&
	    (fixed || (uint64_t)r == KWIN + op->addr) &&
	    in_window((uint64_t)r - KWIN, op->len)) {
		res->ret = (int64_t)((uint64_t)r - KWIN);
		return;
	}
	/* The host placed it somewhere of its own choosing: not checkable. */
	syscall(SYS_munmap, r, (unsigned long)op->len);
	res->ret = MMF_RES_SKIPPED;
}

static void kc_mremap(const struct kreq *rq, struct mmf_res *res)
{
	const struct mmf_op *op = &rq->op;
	uint64_t old = KWIN + op->addr;
	uint64_t nad = (op->flags & MREMAP_FIXED) ? KWIN + op->new_addr : 0;
	long r;

	if (op->flags == MREMAP_MAYMOVE && MMF_PAGE_ALIGN(op->new_len) > MMF_PAGE_ALIGN(op->len)) {
		r = kc_sys(syscall(SYS_mremap, old, op->len, op->new_len, 0, 0));
		if (r == -ENOMEM) {
			res->ret = MMF_RES_SKIPPED;	/* the host would move it anywhere */
			return;
		}
		if (r >= 0 || r < -4095) {
			res->ret = (int64_t)((uint64_t)r - KWIN);
			return;
		}
		/* another error: no effect, ask the real question */
	}
	r = kc_sys(syscall(SYS_mremap, old, op->len, op->new_len, op->flags, nad));
	if (r < 0 && r >= -4095) {
		res->ret = r;
		return;
	}
	if (host_in_window((uint64_t)r)) {
		res->ret = (int64_t)((uint64_t)r - KWIN);
		return;
	}
	/* moved out of the window: gone for the model; not checkable */
	syscall(SYS_munmap, r, (unsigned long)op->new_len);
	res->ret = MMF_RES_SKIPPED;
}

/*
 * mprotect, madvise and PR_SET_VMA_ANON_NAME walk the VMAs of the range and
 * may change some before failing with -ENOMEM at a hole.  A range that runs
 * past MMF_TASK_SIZE (without overflowing in the model) is clipped to the
 * window: on a machine whose address space ends there the rest is a hole,
 * so the answer is the clipped call's, or -ENOMEM if that succeeded.  An
 * overflowing range is passed as it is: the host overflows too and fails
 * before touching anything, as the model does.  The clip also keeps
 * madvise, which goes on past holes, away from the harness's mappings.
 */
static long kc_ranged(const struct mmf_op *op)
{
	uint64_t alen = MMF_PAGE_ALIGN(op->len), len = op->len;
	bool clip = false;
	long r;

	if (op->len && alen && op->addr + alen > op->addr && op->addr + alen > MMF_TASK_SIZE) {
		len = MMF_TASK_SIZE - op->addr;
		clip = true;
	}
	if (op->kind == MMF_OP_MPROTECT)
		r = kc_sys(syscall(SYS_mprotect, KWIN + op->addr, len, op->prot));
	else if (op->kind == MMF_OP_MADVISE)
		r = kc_sys(syscall(SYS_madvise, KWIN + op->addr, len, op->advice));
	else
		r = kc_sys(prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, KWIN + op->addr, len,
				 op->name_null ? NULL : op->name));
	if (clip && r == 0)
		r = -ENOMEM;
	return r;
}

static void kc_access(const struct kreq *rq, struct mmf_res *res)
{
	const struct mmf_op *op = &rq->op;
	uintptr_t a = (uintptr_t)(KWIN + (op->addr & MMF_PAGE_MASK));

	kc_sig = 0;
	kc_code = 0;
	if (sigsetjmp(kc_jmp, 1) == 0) {
		kc_guard = 1;
		if (op->kind == MMF_OP_READ)
			res->value = kc_load(a);
		else
			kc_store(a, op->value);
		kc_guard = 0;
		res->ret = 0;
	} else {
		res->ret = 0;
		res->value = 0;
		res->sig = kc_sig;
		res->si_code = kc_code;
	}
}

/* ---- snapshot inside the process ---- */

struct kc_snap {
	int pagemap, mem;
	struct kmsg pages;		/* batch being filled */
	bool have_vma;
	struct mmf_snap_vma vma;
	bool failed;
	bool no_scan;		/* PAGEMAP_SCAN unsupported */
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static const char *parse_hex(const char *s, uint64_t *v)
{
	int d;

	*v = 0;
	while ((d = hexval(*s)) >= 0) {
		*v = (*v << 4) | (uint64_t)d;
		s++;
	}
	return s;
}

static void kc_flush_pages(struct kc_snap *ks)
{
	if (ks->pages.n) {
		ks->pages.type = KMSG_PAGES;
		kc_send(&ks->pages);
		ks->pages.n = 0;
	}
}

/* PAGEMAP_SCAN (Linux 6.7): only the present ranges, instead of 8 bytes a page. */
struct kc_page_region {
	uint64_t start, end, categories;
};

struct kc_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define KC_PAGEMAP_SCAN		_IOWR('f', 16, struct kc_pm_scan_arg)
#define KC_PAGE_IS_PRESENT	(1ULL << 3)
#define KC_PAGE_IS_PFNZERO	(1ULL << 5)

static void kc_add_page(struct kc_snap *ks, uint64_t pa)
{
	uint64_t v = 0;

	if (pread(ks->mem, &v, 8, (off_t)pa) != 8)
		ks->failed = true;
	ks->pages.u.pages[ks->pages.n].addr = pa - KWIN;
	ks->pages.u.pages[ks->pages.n].value = v;
	if (++ks->pages.n == KPAGES_MAX)
		kc_flush_pages(ks);
}

/* 0 when done with PAGEMAP_SCAN, -1 to fall back to reading pagemap. */
static int kc_scan_pages(struct kc_snap *ks, uint64_t start, uint64_t end)
{
	static struct kc_page_region vec[256];
	struct kc_pm_scan_arg arg;
	uint64_t va = start;

	if (ks->no_scan)
		return -1;
	while (va < end) {
		long n;

		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.start = va;
		arg.end = end;
		arg.vec = (uint64_t)(uintptr_t)vec;
		arg.vec_len = sizeof(vec) / sizeof(vec[0]);
		arg.category_mask = KC_PAGE_IS_PRESENT;
		arg.return_mask = KC_PAGE_IS_PRESENT;
		n = ioctl(ks->pagemap, KC_PAGEMAP_SCAN, &arg);
		if (n < 0) {
			if (va != start) {
				ks->failed = true;
				return 0;
			}
			ks->no_scan = true;
			return -1;
		}
		for (long i = 0; i < n; i++)
			for (uint64_t pa = vec[i].start; pa < vec[i].end; pa += MMF_PAGE_SIZE)
				kc_add_page(ks, pa);
		if (arg.walk_end <= va) {
			ks->failed = true;
			return 0;
		}
		va = arg.walk_end;
	}
	return 0;
}

static void kc_snap_pages(struct kc_snap *ks, uint64_t start, uint64_t end)
{
	static uint64_t ents[4096];
	uint64_t va = start;

	if (kc_scan_pages(ks, start, end) == 0)
		return;
	while (va < end) {
		size_t n = (end - va) >> MMF_PAGE_SHIFT;
		ssize_t got;

		if (n > sizeof(ents) / sizeof(ents[0]))
			n = sizeof(ents) / sizeof(ents[0]);
		got = pread(ks->pagemap, ents, n * 8, (off_t)((va >> MMF_PAGE_SHIFT) * 8));
		if (got <= 0) {
			ks->failed = true;
			return;
		}
		n = (size_t)got / 8;
		for (size_t i = 0; i < n; i++) {
			if (ents[i] >> 63)
				kc_add_page(ks, va + (i << MMF_PAGE_SHIFT));
		}
		va += (uint64_t)n << MMF_PAGE_SHIFT;
	}
}

/* A complete VMA (its VmFlags line seen): send it, then its pages. */
static void kc_snap_vma_done(struct kc_snap *ks)
{
	struct kmsg m;

	if (!ks->have_vma)
		return;
	ks->have_vma = false;
	memset(&m, 0, sizeof(m));
	m.type = KMSG_VMA;
	m.u.vma = ks->vma;
	kc_send(&m);
	kc_snap_pages(ks, KWIN + ks->vma.start, KWIN + ks->vma.end);
	kc_flush_pages(ks);
}

static void kc_snap_header(struct kc_snap *ks, const char *l)
{
	uint64_t start, end, off;
	const char *p = l, *path;
	struct mmf_snap_vma *v = &ks->vma;
	size_t len;

	kc_snap_vma_done(ks);	/* a VMA without VmFlags (should not happen) */
	p = parse_hex(p, &start);
	if (*p++ != '-')
		return;
	p = parse_hex(p, &end);
	if (*p++ != ' ')
		return;
	if (end <= KWIN || start >= KWIN + MMF_TASK_SIZE)
		return;
	memset(v, 0, sizeof(*v));
	/* a VMA reaching out of the window is clipped (and will not match) */
	v->start = (start < KWIN ? KWIN : start) - KWIN;
	v->end = (end > KWIN + MMF_TASK_SIZE ? KWIN + MMF_TASK_SIZE : end) - KWIN;
	if (p[0] == 'r')
		v->prot |= PROT_READ;
	if (p[1] == 'w')
		v->prot |= PROT_WRITE;
	if (p[2] == 'x')
		v->prot |= PROT_EXEC;
	if (p[3] == 's')
		v->flags |= MMF_VMA_SHARED;
	p += 4;
	while (*p == ' ')
		p++;
	p = parse_hex(p, &off);
	/* dev, inode */
	for (int field = 0; field < 2; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	while (*p == ' ')
		p++;
	path = p;
	len = strlen(path);
	v->file = MMF_FILE_ANON;
	if (len == 0) {
		v->pgoff = 0;
	} else if (!strncmp(path, "/memfd:mmfuzz-f", 15)) {
		v->file = (int32_t)strtol(path + 15, NULL, 10);
		v->pgoff = off >> MMF_PAGE_SHIFT;
	} else if (!strncmp(path, "/dev/zero", 9) || !strncmp(path, "/SYSV", 5)) {
		v->pgoff = off >> MMF_PAGE_SHIFT;
	} else if (!strncmp(path, "[anon:", 6) || !strncmp(path, "[anon_shmem:", 12)) {
		const char *n = path + (path[5] == ':' ? 6 : 12);
		size_t nl = len - (size_t)(n - path);

		if (nl && n[nl - 1] == ']')
			nl--;
		if (nl >= MMF_ANON_NAME_MAX)
			nl = MMF_ANON_NAME_MAX - 1;
		memcpy(v->name, n, nl);
		v->has_name = 1;
		v->pgoff = path[5] == ':' ? 0 : off >> MMF_PAGE_SHIFT;
	} else {
		/* something the model does not know: make it visible */
		v->file = -2;
		v->pgoff = off >> MMF_PAGE_SHIFT;
		len = len < MMF_ANON_NAME_MAX - 1 ? len : MMF_ANON_NAME_MAX - 1;
		memcpy(v->name, path, len);
	}
	ks->have_vma = true;
}

static void kc_snap_vmflags(struct kc_snap *ks, const char *p)
{
	if (!ks->have_vma)
		return;
	while (*p) {
		while (*p == ' ')
			p++;
		if (p[0] && p[1] && (p[2] == ' ' || p[2] == 0)) {
			if (p[0] == 'g' && p[1] == 'd')
				ks->vma.flags |= MMF_VMA_GROWSDOWN;
			else if (p[0] == 'd' && p[1] == 'c')
				ks->vma.flags |= MMF_VMA_DONTCOPY;
			else if (p[0] == 'w' && p[1] == 'f')
				ks->vma.flags |= MMF_VMA_WIPEONFORK;
		}
		while (*p && *p != ' ')
			p++;
	}
	kc_snap_vma_done(ks);
}

static void kc_snap_line(struct kc_snap *ks, char *l)
{
	if (hexval(l[0]) >= 0)
		kc_snap_header(ks, l);
	else if (!strncmp(l, "VmFlags:", 8))
		kc_snap_vmflags(ks, l + 8);
}

static void kc_snapshot(void)
{
	struct kc_snap ks;
	struct kmsg m;
	size_t have = 0;
	int smaps;

	memset(&ks, 0, sizeof(ks));
	smaps = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	ks.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ks.mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (smaps < 0 || ks.pagemap < 0 || ks.mem < 0) {
		ks.failed = true;
	} else {
		for (;;) {
			ssize_t n = read(smaps, kc_buf + have, sizeof(kc_buf) - 1 - have);
			char *l, *nl;

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			have += (size_t)n;
			kc_buf[have] = 0;
			l = kc_buf;
			while ((nl = strchr(l, '\n'))) {
				*nl = 0;
				kc_snap_line(&ks, l);
				l = nl + 1;
			}
			have = (size_t)(kc_buf + have - l);
			memmove(kc_buf, l, have);
			if (have == sizeof(kc_buf) - 1)
				have = 0;	/* absurd line */
		}
		kc_snap_vma_done(&ks);
	}
	if (smaps >= 0)
		close(smaps);
	if (ks.pagemap >= 0)
		close(ks.pagemap);
	if (ks.mem >= 0)
		close(ks.mem);
	memset(&m, 0, sizeof(m));
	if (ks.failed) {
		m.type = KMSG_ERR;
		strcpy(m.u.err, "snapshot: reading /proc/self/{smaps,pagemap,mem} failed");
	} else {
		m.type = KMSG_END;
	}
	kc_send(&m);
}

/* The request loop of a model process. */
static __attribute__((noreturn)) void kc_main(void)
{
	struct kreq rq;
	struct kmsg m;
	int fd;

	for (;;) {
		const struct mmf_op *op = &rq.op;
		struct mmf_res *res = &m.u.r.res;

		kc_recv(&rq, &fd);
		if (rq.type == KREQ_SNAP) {
			kc_snapshot();
			continue;
		}
		memset(&m, 0, sizeof(m));
		m.type = KMSG_RES;
		switch (op->kind) {
		case MMF_OP_FORK: {
			pid_t pid;

			if (fd < 0) {
				res->ret = MMF_RES_HARNESS;
				break;
			}
			pid = fork();
			if (pid == 0) {
				kc_adopt_ctl(fd);
				kc_hello();
				continue;
			}
			close(fd);
			res->ret = pid < 0 ? -errno : 0;
			m.u.r.aux = pid;
			break;
		}
		case MMF_OP_EXIT:
			res->ret = 0;
			kc_send(&m);
			_exit(0);
		case MMF_OP_MMAP:
			kc_mmap(&rq, fd, res);
			break;
		case MMF_OP_MUNMAP:
			res->ret = kc_sys(syscall(SYS_munmap, KWIN + op->addr, op->len));
			break;
		case MMF_OP_MPROTECT:
			res->ret = kc_ranged(op);
			break;
		case MMF_OP_MREMAP:
			kc_mremap(&rq, res);
			break;
		case MMF_OP_MADVISE:
		case MMF_OP_SET_NAME:
			res->ret = kc_ranged(op);
			break;
		case MMF_OP_READ:
		case MMF_OP_WRITE:
			kc_access(&rq, res);
			break;
		default:
			res->ret = MMF_RES_HARNESS;
			break;
		}
		if (fd >= 0 && op->kind != MMF_OP_FORK)
			close(fd);
		kc_send(&m);
	}
}

/* ---- harness side ---------------------------------------------------------- */

static void kerr(struct mmf_world *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void kerr(struct mmf_world *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mmfuzz: kernel: %s\n", w->err);
}

static int h_send(int sock, const struct kreq *rq, int fd)
{
	struct iovec iov = { .iov_base = (void *)rq, .iov_len = sizeof(*rq) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*rq) ? 0 : -1;
}

/* Receive one message within timeout_ms; 0, or -1 (EOF, timeout, error). */
static int h_recv(int sock, struct kmsg *m, int *fd, int timeout_ms, const char **why)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *c;
	ssize_t n;
	int r;

	if (fd)
		*fd = -1;
	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		*why = "timed out";
		return -1;
	}
	if (r < 0) {
		*why = "poll failed";
		return -1;
	}
	memset(m, 0, sizeof(*m));
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		*why = "died";
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;

			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (fd)
				*fd = got;
			else
				close(got);
		}
	}
	return 0;
}

/* Wait (bounded) until a process has gone; reap it if it is our child. */
static void h_reap(struct kproc *p, bool kill_it)
{
	if (kill_it) {
		if (p->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
		else if (p->pid > 0)
			kill(p->pid, SIGKILL);
	}
	if (p->pidfd >= 0) {
		struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
		int r;

		do {
			r = poll(&pfd, 1, KTIMEOUT_MS);
		} while (r < 0 && errno == EINTR);
	}
	if (p->sock >= 0)
		close(p->sock);
	if (p->pidfd >= 0)
		close(p->pidfd);
	memset(p, 0, sizeof(*p));
	p->sock = p->pidfd = -1;
}

static void h_dead(struct mmf_world *w, int h, const char *why)
{
	struct kproc *p = &w->procs[h];

	kerr(w, "model process p%d (pid %d) %s", h, (int)p->pid, why);
	h_reap(p, true);
}

/* Receive a HELLO on a new process's socket; 0 or -1. */
static int h_hello(struct mmf_world *w, struct kproc *p)
{
	struct kmsg m;
	const char *why = "";
	int fd;

	if (h_recv(p->sock, &m, &fd, KTIMEOUT_MS, &why) < 0 || m.type != KMSG_HELLO) {
		kerr(w, "new model process %s before saying hello", why);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	p->pid = (pid_t)m.u.r.aux;
	p->pidfd = fd;
	p->live = true;
	return 0;
}

static bool window_free(char *msg, size_t msglen)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool ok = true;

	if (!f) {
		snprintf(msg, msglen, "cannot read /proc/self/maps");
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			continue;
		if (e > KWIN - KMARGIN && s < KWIN + MMF_TASK_SIZE + KMARGIN) {
			snprintf(msg, msglen,
				 "the model window 0x%llx-0x%llx collides with a mapping of this process: %s"
#ifdef KWIN_TSAN
				 " (under ThreadSanitizer the kernel backend may not be usable; use the asan or debug build)"
#endif
				 , (unsigned long long)KWIN, (unsigned long long)(KWIN + MMF_TASK_SIZE), line);
			ok = false;
			break;
		}
	}
	fclose(f);
	return ok;
}

static bool probe_names(void)
{
	void *p = mmap(NULL, MMF_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok;

	if (p == MAP_FAILED)
		return false;
	ok = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, MMF_PAGE_SIZE,
		   "mmfuzz-probe") == 0;
	munmap(p, MMF_PAGE_SIZE);
	return ok;
}

/* Does a read fault of private anonymous memory map the zero page here? */
static bool probe_zero_page(void)
{
	static struct kc_page_region vec[4];
	struct kc_pm_scan_arg arg;
	volatile char *p;
	bool zero = true;	/* mainline, if we cannot tell */
	int fd;

	p = mmap(NULL, MMF_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return true;
	(void)p[0];
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.start = (uint64_t)(uintptr_t)p;
		arg.end = arg.start + MMF_PAGE_SIZE;
		arg.vec = (uint64_t)(uintptr_t)vec;
		arg.vec_len = 4;
		arg.category_mask = KC_PAGE_IS_PRESENT;
		arg.return_mask = KC_PAGE_IS_PRESENT | KC_PAGE_IS_PFNZERO;
		if (ioctl(fd, KC_PAGEMAP_SCAN, &arg) == 1)
			zero = (vec[0].categories & KC_PAGE_IS_PFNZERO) != 0;
		close(fd);
	}
	munmap((void *)p, MMF_PAGE_SIZE);
	return zero;
}

/*
 * In a child: is a load from a PROT_EXEC-only mapping SEGV_PKUERR?  Exit
 * status 1 if so, 0 if it is readable (no protection keys), 3 for another
 * signal, 2 if the mapping failed.
 */
static NO_SAN __attribute__((noreturn)) void probe_pku_child(void)
{
	struct sigaction sa;
	long p;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kc_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	p = syscall(SYS_mmap, 0, MMF_PAGE_SIZE, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == -1)
		_exit(2);
	if (sigsetjmp(kc_jmp, 1) == 0) {
		kc_guard = 1;
		kc_load((uintptr_t)p);
		kc_guard = 0;
		_exit(0);
	}
	_exit(kc_sig == SIGSEGV && kc_code == SEGV_PKUERR ? 1 : 3);
}

static bool probe_pku_exec_only(void)
{
	int status, v = atomic_load(&pku_probed);
	pid_t pid;

	if (v)
		return v == 2;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		probe_pku_child();
	v = 1;
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 1)
		v = 2;
	atomic_store(&pku_probed, v);
	return v == 2;
}

struct mmf_config mmf_kernel_host_config(void)
{
	return (struct mmf_config){ .exec_only_pkey = probe_pku_exec_only() };
}

/*
 * Does this host have guard regions as the model does (Linux 6.15+: in
 * private anonymous and in file mappings)?
 */
static bool probe_guard_regions(void)
{
	void *anon, *file = MAP_FAILED;
	bool ok = false;
	int fd;

	anon = mmap(NULL, MMF_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		return false;
	fd = (int)syscall(SYS_memfd_create, "mmfuzz-probe", 0u);
	if (fd >= 0 && ftruncate(fd, MMF_PAGE_SIZE) == 0)
		file = mmap(NULL, MMF_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (file != MAP_FAILED) {
		ok = madvise(anon, MMF_PAGE_SIZE, MADV_GUARD_INSTALL) == 0 &&
		     madvise(file, MMF_PAGE_SIZE, MADV_GUARD_INSTALL) == 0;
		munmap(file, MMF_PAGE_SIZE);
	}
	if (fd >= 0)
		close(fd);
	munmap(anon, MMF_PAGE_SIZE);
	return ok;
}

unsigned mmf_kernel_probe(char *msg, size_t msglen)
{
	char dummy[8];
	unsigned r = 0;

	if (!msg) {
		msg = dummy;
		msglen = sizeof(dummy);
	}
	msg[0] = 0;
	if (window_free(msg, msglen))
		r |= MMF_KERNEL_OK;
	if (probe_names())
		r |= MMF_KERNEL_NAMES;
	if (probe_zero_page())
		r |= MMF_KERNEL_ZERO_PAGE;
	if (probe_pku_exec_only())
		r |= MMF_KERNEL_PKU_XONLY;
	if (probe_guard_regions())
		r |= MMF_KERNEL_GUARD;
	return r;
}

static void k_world_free(struct mmf_world *w);

/*
 * The keeper: a child subreaper, parent of p0, that reaps every model
 * process reparented to it.  Its socket (fd 3) gives EOF when the harness
 * frees the world (or dies); it then waits for its children and exits.
 */
static __attribute__((noreturn)) void keeper_main(int ksock, int p0sock)
{
	struct rlimit rl = { 0, 0 };
	pid_t pid;

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		close(ksock);
		kc_setup_p0(p0sock);
		kc_hello();
		kc_main();
	}
	close(p0sock);
	kc_adopt_ctl(ksock);
	if (pid < 0)
		_exit(1);
	for (;;) {
		struct pollfd pfd = { .fd = KCTL, .events = POLLIN };
		char c;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (poll(&pfd, 1, 50) > 0 && read(KCTL, &c, 1) <= 0)
			break;
	}
	for (;;) {
		pid_t r = waitpid(-1, NULL, 0);

		if (r < 0 && errno != EINTR)
			break;
	}
	_exit(0);
}

static struct mmf_world *k_world_new(const struct mmf_config *cfg)
{
	struct mmf_world *w;
	char msg[600];
	int sv[2], kv[2];
	pid_t pid;

	/* max_map_count: the host's sysctl applies */
	if (!window_free(msg, sizeof(msg))) {
		fprintf(stderr, "mmfuzz: kernel backend unavailable: %s\n", msg);
		return NULL;
	}
	/* the host is what it is: a model of the other kind cannot be compared */
	if (cfg && cfg->exec_only_pkey != probe_pku_exec_only()) {
		fprintf(stderr, "mmfuzz: kernel backend: the config asks for %s, but this host %s\n",
			cfg->exec_only_pkey ? "execute-only pkeys (exec_only_pkey)" :
					      "no execute-only pkeys",
			probe_pku_exec_only() ? "has them (cpu pku + ospke)" : "has no protection keys");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	for (int i = 0; i < MMF_MAX_PROCS; i++)
		w->procs[i].sock = w->procs[i].pidfd = -1;
	for (int i = 0; i < MMF_MAX_FILES; i++)
		w->files[i].fd = -1;
	w->keeper_sock = -1;
	w->names_ok = probe_names();
	if (!w->names_ok && !atomic_exchange(&names_note_printed, 1))
		fprintf(stderr, "mmfuzz: note: this kernel has no PR_SET_VMA_ANON_NAME "
			"(CONFIG_ANON_VMA_NAME); set_name ops are skipped by the kernel backend\n");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fprintf(stderr, "mmfuzz: kernel: socketpair: %s\n", strerror(errno));
		k_world_free(w);
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, kv) < 0) {
		fprintf(stderr, "mmfuzz: kernel: socketpair: %s\n", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		k_world_free(w);
		return NULL;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		close(kv[0]);
		keeper_main(kv[1], sv[1]);
	}
	close(sv[1]);
	close(kv[1]);
	w->procs[0].sock = sv[0];
	w->keeper_sock = kv[0];
	if (pid < 0) {
		fprintf(stderr, "mmfuzz: kernel: fork: %s\n", strerror(errno));
		k_world_free(w);
		return NULL;
	}
	w->keeper = pid;
	if (h_hello(w, &w->procs[0]) < 0) {
		k_world_free(w);
		return NULL;
	}
	return w;
}

static void k_world_free(struct mmf_world *w)
{
	if (!w)
		return;
	/* signal everybody first, then wait for each */
	for (int i = 0; i < MMF_MAX_PROCS; i++) {
		struct kproc *p = &w->procs[i];

		if (p->live && p->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
		else if (p->live && p->pid > 0)
			kill(p->pid, SIGKILL);
	}
	for (int i = 0; i < MMF_MAX_PROCS; i++) {
		if (w->procs[i].live || w->procs[i].sock >= 0)
			h_reap(&w->procs[i], true);
	}
	if (w->keeper_sock >= 0)
		close(w->keeper_sock);
	if (w->keeper > 0) {
		/* the keeper exits once its (killed) children are reaped */
		int i;

		for (i = 0; i < 300; i++) {
			pid_t r = waitpid(w->keeper, NULL, WNOHANG);

			if (r == w->keeper || (r < 0 && errno != EINTR))
				break;
			usleep(i < 20 ? 500 : 10000);
		}
		if (i == 300) {
			fprintf(stderr, "mmfuzz: kernel: keeper %d did not exit; killing it\n",
				(int)w->keeper);
			kill(w->keeper, SIGKILL);
			waitpid(w->keeper, NULL, 0);
		}
	}
	for (int i = 0; i < MMF_MAX_FILES; i++) {
		if (w->files[i].fd >= 0)
			close(w->files[i].fd);
	}
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static struct kproc *live_proc(struct mmf_world *w, int h)
{
	if (h < 0 || h >= MMF_MAX_PROCS || !w->procs[h].live)
		return NULL;
	return &w->procs[h];
}

static int live_file_fd(struct mmf_world *w, int f)
{
	if (f < 0 || f >= MMF_MAX_FILES || !w->files[f].live)
		return -1;
	return w->files[f].fd;
}

/* Send an op to process h (with fd) and wait for its result. */
static void h_call(struct mmf_world *w, int h, const struct kreq *rq, int fd,
		   struct mmf_res *res, int64_t *aux)
{
	struct kproc *p = &w->procs[h];
	const char *why = "died";
	struct kmsg m;

	if (h_send(p->sock, rq, fd) < 0 ||
	    h_recv(p->sock, &m, NULL, KTIMEOUT_MS, &why) < 0 || m.type != KMSG_RES) {
		char buf[300];

		snprintf(buf, sizeof(buf), "%s during %s", why, mmf_op_name(rq->op.kind));
		h_dead(w, h, buf);
		res->ret = MMF_RES_HARNESS;
		return;
	}
	*res = m.u.r.res;
	if (aux)
		*aux = m.u.r.aux;
}

static void h_fork(struct mmf_world *w, const struct kreq *rq, struct mmf_res *res)
{
	struct kproc *q;
	int64_t pid = 0;
	int slot = -1, sv[2];

	for (int i = 0; i < MMF_MAX_PROCS; i++) {
		if (!w->procs[i].live) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		res->ret = -EAGAIN;
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		kerr(w, "socketpair: %s", strerror(errno));
		res->ret = MMF_RES_HARNESS;
		return;
	}
	q = &w->procs[slot];
	memset(q, 0, sizeof(*q));
	q->sock = sv[0];
	q->pidfd = -1;
	h_call(w, rq->op.proc, rq, sv[1], res, &pid);
	close(sv[1]);
	if (res->ret < 0) {
		close(sv[0]);
		q->sock = -1;
		return;
	}
	if (h_hello(w, q) < 0) {
		close(sv[0]);
		q->sock = -1;
		res->ret = MMF_RES_HARNESS;
		return;
	}
	res->ret = slot;
}

static void h_exit(struct mmf_world *w, const struct kreq *rq, struct mmf_res *res)
{
	struct kproc *p = &w->procs[rq->op.proc];

	h_call(w, rq->op.proc, rq, -1, res, NULL);
	if (res->ret == MMF_RES_HARNESS)
		return;
	/* its mm is torn down before the pidfd becomes readable */
	h_reap(p, false);
}

static void h_file_op(struct mmf_world *w, const struct mmf_op *op, struct mmf_res *res)
{
	int fd;

	switch (op->kind) {
	case MMF_OP_FILE_CREATE: {
		char name[32];
		int slot = -1;

		if (op->len > MMF_MAX_FILE_SIZE) {
			res->ret = MMF_RES_SKIPPED;
			return;
		}
		for (int i = 0; i < MMF_MAX_FILES; i++) {
			if (!w->files[i].live) {
				slot = i;
				break;
			}
		}
		if (slot < 0) {
			res->ret = -EMFILE;
			return;
		}
		snprintf(name, sizeof(name), "mmfuzz-f%d", slot);
		fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
		if (fd < 0) {
			res->ret = -errno;
			return;
		}
		if (ftruncate(fd, (off_t)op->len) < 0) {
			res->ret = -errno;
			close(fd);
			return;
		}
		w->files[slot].live = true;
		w->files[slot].fd = fd;
		res->ret = slot;
		return;
	}
	case MMF_OP_TRUNCATE:
		/* an unknown handle is fd -1: the host answers -EBADF itself */
		fd = live_file_fd(w, op->file);
		if (op->len > MMF_MAX_FILE_SIZE) {
			res->ret = MMF_RES_SKIPPED;
			return;
		}
		res->ret = ftruncate(fd, (off_t)op->len) < 0 ? -errno : 0;
		return;
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE: {
		uint64_t v = op->value;
		ssize_t n;

		fd = live_file_fd(w, op->file);
		if (op->pgoff >= (MMF_MAX_FILE_SIZE >> MMF_PAGE_SHIFT)) {
			res->ret = MMF_RES_SKIPPED;
			return;
		}
		if (op->kind == MMF_OP_FILE_READ) {
			v = 0;
			n = pread(fd, &v, 8, (off_t)(op->pgoff << MMF_PAGE_SHIFT));
			res->value = v;
		} else {
			n = pwrite(fd, &v, 8, (off_t)(op->pgoff << MMF_PAGE_SHIFT));
		}
		res->ret = n < 0 ? -errno : n;
		return;
	}
	default:
		res->ret = MMF_RES_HARNESS;
	}
}

/* Model-level checks that decide whether the host can answer this op. */
static bool checkable(struct mmf_world *w, const struct mmf_op *op)
{
	bool fixed;

	switch (op->kind) {
	case MMF_OP_MMAP:
		if ((op->flags & (MAP_POPULATE | MAP_LOCKED)) && op->len > KPOPULATE_MAX)
			return false;	/* would allocate that much real memory */
		fixed = op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
		if (!fixed && op->addr == 0)
			return false;	/* top-down placement */
		if (!in_window(op->addr, op->len))
			return false;
		return op->addr >= MMF_MMAP_MIN_ADDR;
	case MMF_OP_MUNMAP:
		return in_window(op->addr, op->len);
	case MMF_OP_MPROTECT:
		return op->addr < MMF_TASK_SIZE;	/* clipped: see kc_ranged() */
	case MMF_OP_MADVISE:
		if (op->advice == 100 || op->advice == 101)	/* HWPOISON, SOFT_OFFLINE */
			return false;
		if ((op->advice == 22 || op->advice == 23) && op->len > KPOPULATE_MAX &&
		    MMF_TASK_SIZE - op->addr > KPOPULATE_MAX)
			return false;	/* MADV_POPULATE_READ/WRITE of that much real memory */
		return op->addr < MMF_TASK_SIZE;	/* clipped: see kc_ranged() */
	case MMF_OP_MREMAP:
		if (!in_window(op->addr, op->len) || !in_window(op->addr, op->new_len))
			return false;
		if (op->flags & MREMAP_FIXED)
			return in_window(op->new_addr, op->new_len) &&
			       op->new_addr >= MMF_MMAP_MIN_ADDR;
		return true;
	case MMF_OP_SET_NAME:
		return w->names_ok && op->addr < MMF_TASK_SIZE;	/* clipped */
	case MMF_OP_READ:
	case MMF_OP_WRITE:
		return op->addr >= MMF_MMAP_MIN_ADDR && op->addr < MMF_TASK_SIZE;
	default:
		return true;
	}
}

static void k_exec(struct mmf_world *w, const struct mmf_op *op, struct mmf_res *res)
{
	struct kreq rq;
	int fd = -1;

	memset(res, 0, sizeof(*res));
	if ((unsigned)op->kind >= MMF_OP__COUNT) {
		res->ret = -EINVAL;
		return;
	}
	pthread_mutex_lock(&w->lock);
	if (op->kind >= MMF_OP_FILE_CREATE) {
		h_file_op(w, op, res);
		goto out;
	}
	if (!live_proc(w, op->proc)) {
		res->ret = -ESRCH;	/* no such process (bookkeeping, as kill(2) says) */
		goto out;
	}
	if (!checkable(w, op)) {
		res->ret = MMF_RES_SKIPPED;
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.type = KREQ_OP;
	rq.names_ok = w->names_ok;
	rq.op = *op;
	rq.op.name[MMF_OP_NAME_MAX] = 0;
	switch (op->kind) {
	case MMF_OP_FORK:
		h_fork(w, &rq, res);
		goto out;
	case MMF_OP_EXIT:
		h_exit(w, &rq, res);
		goto out;
	case MMF_OP_MMAP:
		if (!(op->flags & MAP_ANONYMOUS))
			fd = live_file_fd(w, op->file);	/* -1: the host says EBADF */
		break;
	default:
		break;
	}
	h_call(w, op->proc, &rq, fd, res, NULL);
out:
	pthread_mutex_unlock(&w->lock);
}

static int h_snap_proc(struct mmf_world *w, int h, struct mmf_snap *snap)
{
	struct mmf_snap_proc *sp = mmf_snap_add_proc(snap, h);
	struct kproc *p = &w->procs[h];
	struct kreq rq;
	struct kmsg m;
	const char *why = "";

	memset(&rq, 0, sizeof(rq));
	rq.type = KREQ_SNAP;
	if (h_send(p->sock, &rq, -1) < 0) {
		h_dead(w, h, "died before a snapshot");
		return -1;
	}
	for (;;) {
		if (h_recv(p->sock, &m, NULL, KSNAP_TIMEOUT_MS, &why) < 0) {
			char buf[128];

			snprintf(buf, sizeof(buf), "%s during a snapshot", why);
			h_dead(w, h, buf);
			return -1;
		}
		switch (m.type) {
		case KMSG_VMA:
			*mmf_snap_add_vma(sp) = m.u.vma;
			break;
		case KMSG_PAGES:
			for (uint32_t i = 0; i < m.n && i < KPAGES_MAX; i++)
				mmf_snap_add_page(sp, m.u.pages[i].addr, m.u.pages[i].value);
			break;
		case KMSG_END:
			return 0;
		case KMSG_ERR:
			m.u.err[sizeof(m.u.err) - 1] = 0;
			kerr(w, "p%d: %s", h, m.u.err);
			return -1;
		default:
			kerr(w, "p%d: unexpected message %u in a snapshot", h, m.type);
			return -1;
		}
	}
}

static void h_snap_file(struct mmf_world *w, int f, struct mmf_snap *snap)
{
	int fd = w->files[f].fd;
	struct mmf_snap_file *sf;
	struct stat st;
	off_t pos = 0;

	if (fstat(fd, &st) < 0) {
		kerr(w, "fstat f%d: %s", f, strerror(errno));
		st.st_size = 0;
	}
	sf = mmf_snap_add_file(snap, f, (uint64_t)st.st_size);
	for (;;) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0)
			break;	/* ENXIO: no more data */
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		for (off_t o = data & ~(off_t)(MMF_PAGE_SIZE - 1); o < hole; o += MMF_PAGE_SIZE) {
			uint64_t v = 0;

			if (pread(fd, &v, 8, o) < 0)
				break;
			mmf_snap_add_fpage(sf, (uint64_t)o >> MMF_PAGE_SHIFT, v);
		}
		if (hole <= data)
			break;
		pos = hole;
	}
}

static void k_snapshot(struct mmf_world *w, struct mmf_snap *snap)
{
	pthread_mutex_lock(&w->lock);
	for (int h = 0; h < MMF_MAX_PROCS; h++) {
		if (w->procs[h].live)
			h_snap_proc(w, h, snap);
	}
	for (int f = 0; f < MMF_MAX_FILES; f++) {
		if (w->files[f].live)
			h_snap_file(w, f, snap);
	}
	pthread_mutex_unlock(&w->lock);
}

static void k_counters(struct mmf_world *w, struct mmf_counters *c)
{
	(void)w;
	memset(c, 0, sizeof(*c));	/* the host kernel's are not observable */
}

const struct mmf_impl mmf_kernel = {
	.name = "kernel",
	.world_new = k_world_new,
	.world_free = k_world_free,
	.exec = k_exec,
	.snapshot = k_snapshot,
	.counters = k_counters,
	.check = NULL,
	.clone = NULL,
	.may_skip = true,
};
