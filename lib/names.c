// SPDX-License-Identifier: MIT
/*
 * lib/names.c - the spelling of ops, prots, errnos, results and counters
 * shared by every printer (CLI, diff reports, tests).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "mmfuzz/mm.h"
#include "mmfuzz/uapi.h"

static const char *const op_names[MMF_OP__COUNT] = {
	[MMF_OP_FORK] = "fork",
	[MMF_OP_EXIT] = "exit",
	[MMF_OP_MMAP] = "mmap",
	[MMF_OP_MUNMAP] = "munmap",
	[MMF_OP_MPROTECT] = "mprotect",
	[MMF_OP_MREMAP] = "mremap",
	[MMF_OP_MADVISE] = "madvise",
	[MMF_OP_SET_NAME] = "set_name",
	[MMF_OP_READ] = "read",
	[MMF_OP_WRITE] = "write",
	[MMF_OP_FILE_CREATE] = "file_create",
	[MMF_OP_TRUNCATE] = "truncate",
	[MMF_OP_FILE_READ] = "file_read",
	[MMF_OP_FILE_WRITE] = "file_write",
};

const char *mmf_op_name(enum mmf_op_kind kind)
{
	if ((unsigned)kind >= MMF_OP__COUNT)
		return "?";
	return op_names[kind];
}

const char *mmf_prot_str(uint32_t prot, char buf[4])
{
	buf[0] = (prot & PROT_READ) ? 'r' : '-';
	buf[1] = (prot & PROT_WRITE) ? 'w' : '-';
	buf[2] = (prot & PROT_EXEC) ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

#define E(name) [name] = #name
static const char *const errno_names[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
	E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT),
	E(EBUSY), E(EEXIST), E(ENODEV), E(EINVAL), E(ENFILE), E(EMFILE),
	E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(ERANGE),
	E(ENOSYS), E(EOVERFLOW), E(EOPNOTSUPP), E(ETIMEDOUT), E(ECANCELED),
};
#undef E

const char *mmf_errno_name(int err)
{
	if (err <= 0 || (size_t)err >= sizeof(errno_names) / sizeof(errno_names[0]))
		return NULL;
	return errno_names[err];
}

static const char *si_code_name(int sig, int code)
{
	if (sig == SIGSEGV && code == SEGV_MAPERR)
		return "MAPERR";
	if (sig == SIGSEGV && code == SEGV_ACCERR)
		return "ACCERR";
	if (sig == SIGSEGV && code == SEGV_PKUERR)
		return "PKUERR";
	if (sig == SIGBUS && code == BUS_ADRERR)
		return "ADRERR";
	return NULL;
}

const char *mmf_res_str(enum mmf_op_kind kind, const struct mmf_res *r, char *buf, size_t len)
{
	const char *name;

	if (r->sig) {
		const char *code = si_code_name(r->sig, r->si_code);

		if (code)
			snprintf(buf, len, "%s/%s", r->sig == SIGBUS ? "SIGBUS" : "SIGSEGV", code);
		else
			snprintf(buf, len, "signal %d/%d", r->sig, r->si_code);
		return buf;
	}
	if (r->ret < 0 && r->ret >= -4095) {
		/* -errno: the range Linux reserves for error returns */
		name = mmf_errno_name((int)-r->ret);
		if (name)
			snprintf(buf, len, "-%s", name);
		else
			snprintf(buf, len, "-%" PRId64, -r->ret);
		return buf;
	}
	switch (kind) {
	case MMF_OP_FORK:
		snprintf(buf, len, "p%" PRId64, r->ret);
		break;
	case MMF_OP_FILE_CREATE:
		snprintf(buf, len, "f%" PRId64, r->ret);
		break;
	case MMF_OP_MMAP:
	case MMF_OP_MREMAP:
		/* an address (a wrong one may have the top bit set) */
		snprintf(buf, len, "0x%" PRIx64, (uint64_t)r->ret);
		break;
	case MMF_OP_READ:
		snprintf(buf, len, "0x%" PRIx64, r->value);
		break;
	case MMF_OP_FILE_READ:
		if (r->ret == 0)
			snprintf(buf, len, "eof");
		else
			snprintf(buf, len, "0x%" PRIx64, r->value);
		break;
	default:
		snprintf(buf, len, "%" PRId64, r->ret);
		break;
	}
	return buf;
}

void mmf_counters_print(FILE *out, const struct mmf_counters *c)
{
#define PRINT_COUNTER(name) fprintf(out, "  %-18s %" PRIu64 "\n", #name, c->name);
	MMF_COUNTERS(PRINT_COUNTER)
#undef PRINT_COUNTER
}
