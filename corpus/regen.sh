#!/usr/bin/env bash
# Regenerate the binary seeds from their readable sources:
#   corpus/programs/NAME.mmf  -> corpus/diff_fuzzer/NAME   (and the op entries
#                                of fuzzers/diff_fuzzer.dict)
#   corpus/sched/NAME.mmf     -> corpus/sched_fuzzer/NAME  (concurrent programs)
#   corpus/race/NAME.mmf      -> corpus/race_fuzzer/NAME
# Uses diff_replay and mmfuzz from a build (default build/asan;
# BUILD=build/debug to choose).  ctest corpus_in_sync checks it.
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
for pair in sched:sched_fuzzer race:race_fuzzer; do
	src=corpus/${pair%%:*} dst=corpus/${pair#*:}
	[ -d "$src" ] || continue
	mkdir -p "$dst"
	rm -f "$dst"/*
	for f in "$src"/*.mmf; do
		"$BUILD/tools/mmfuzz" asm --concurrent "$f" -o "$dst/$(basename "$f" .mmf)"
	done
	echo "regen: $(ls "$dst" | wc -l) seeds in $dst"
done
echo "regen: $(ls corpus/diff_fuzzer | wc -l) seeds, $(grep -c '^"' "$dict") dictionary entries"
