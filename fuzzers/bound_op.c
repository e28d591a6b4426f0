// SPDX-License-Identifier: MIT
/*
 * fuzzers/bound_op.c - the one limit every fuzz target puts on an op:
 * population of more than MMF_FUZZ_POPULATE_MAX bytes is left out.  A
 * million page faults say nothing more than a few, but they make every later
 * op's checks (snapshots, invariants, clones) walk a million pages: one
 * 1.6 GiB MAP_POPULATE made diff_fuzzer report hang:mmap on a later op.
 * MAP_POPULATE and MAP_LOCKED (which populates) are dropped from such an
 * mmap; MADV_POPULATE_* covers the first MMF_FUZZ_POPULATE_MAX bytes, and
 * so does MADV_GUARD_INSTALL (a marker per page costs what a page does).
 */
#include "fuzz.h"
#include "mmfuzz/uapi.h"

void mmf_fuzz_bound_populate(struct mmf_op *o)
{
	if (o->kind == MMF_OP_MMAP && o->len > MMF_FUZZ_POPULATE_MAX)
		o->flags &= ~(uint32_t)(MAP_POPULATE | MAP_LOCKED);
	if (o->kind == MMF_OP_MADVISE && o->len > MMF_FUZZ_POPULATE_MAX &&
	    (o->advice == MADV_POPULATE_READ || o->advice == MADV_POPULATE_WRITE ||
	     o->advice == MADV_GUARD_INSTALL))
		o->len = MMF_FUZZ_POPULATE_MAX;
}
