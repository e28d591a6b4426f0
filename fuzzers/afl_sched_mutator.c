// SPDX-License-Identifier: MIT
/*
 * fuzzers/afl_sched_mutator.c - what sched_fuzzer_mutator.so (afl_mutator.c
 * over cprog_mutator.c, fuzzers/afl_mutator.cmake) takes from sched_fuzzer.c:
 * the concurrent mutator edits the schedule bytes too.
 */
#include "fuzz.h"

const bool mmf_cprog_mutates_schedule = true;
