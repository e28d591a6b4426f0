#!/usr/bin/env bash
# Regenerate the binary seeds (corpus/diff_fuzzer/NAME) from their readable
# sources (corpus/programs/NAME.mmf), and the op entries of
# fuzzers/diff_fuzzer.dict.  Uses diff_replay from a build (default
# build/asan; BUILD=build/debug to choose).  ctest corpus_in_sync checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/asan}
replay=$BUILD/fuzzers/diff_replay
[ -x "$replay" ] || { echo "regen: build $BUILD first (cmake --preset asan && cmake --build --preset asan)" >&2; exit 1; }
rm -f corpus/diff_fuzzer/*
"$replay" --asm corpus/diff_fuzzer corpus/programs
dict=fuzzers/diff_fuzzer.dict
sed -i '/^# ops from corpus\/programs/,$d' "$dict"
echo "# ops from corpus/programs/*.mmf" >>"$dict"
"$replay" --dict corpus/programs | awk '/^#/ { c = $0; next } !seen[$0]++ { print c; print }' >>"$dict"
echo "regen: $(ls corpus/diff_fuzzer | wc -l) seeds, $(grep -c '^"' "$dict") dictionary entries"
