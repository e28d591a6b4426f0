// SPDX-License-Identifier: MIT
/* core/mremap.c - mremap(2) (being written). */
#include <errno.h>

#include "mm.h"

int64_t core_mremap(struct core_mm *mm, const struct mmf_op *op)
{
	return -ENOSYS;
}
