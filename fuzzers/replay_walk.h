/* SPDX-License-Identifier: MIT */
/*
 * fuzzers/replay_walk.h - how every replay driver (diff_replay, sched_replay,
 * race_replay) visits the files it is given.
 */
#ifndef MMFUZZ_FUZZERS_REPLAY_WALK_H
#define MMFUZZ_FUZZERS_REPLAY_WALK_H

/*
 * Call fn(file, ctx) for path, or for every regular file of the directory
 * path (not recursively, sorted by name, skipping hidden files and README*).
 * Returns 0, or -1 after printing "path: why" to stderr when path (or the
 * directory) cannot be read.
 */
int mmf_replay_walk(const char *path, void (*fn)(const char *file, void *ctx), void *ctx);

#endif /* MMFUZZ_FUZZERS_REPLAY_WALK_H */
