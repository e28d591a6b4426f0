/* SPDX-License-Identifier: MIT */
/*
 * <mmfuzz/uapi.h> - <sys/mman.h>, plus the Linux uapi constants the model
 * uses that an older C library may not define yet (values from the kernel's
 * include/uapi/asm-generic/mman-common.h and linux/mman.h).  One place for
 * them instead of a fallback block in every file.
 */
#ifndef MMFUZZ_UAPI_H
#define MMFUZZ_UAPI_H

#include <signal.h>
#include <sys/mman.h>

#ifndef SEGV_PKUERR
#define SEGV_PKUERR		4	/* a protection key forbade the access (x86 PKU) */
#endif

#ifndef PROT_SEM
#define PROT_SEM		0x8
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE	0x03
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE		0x08
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MAP_SYNC
#define MAP_SYNC		0x80000
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED	0x4000000
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED		2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK		18
#endif
#ifndef MADV_KEEPONFORK
#define MADV_KEEPONFORK		19
#endif
#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED	24
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE	103
#endif

#endif /* MMFUZZ_UAPI_H */
