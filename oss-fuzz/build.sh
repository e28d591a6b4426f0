#!/bin/bash -eu
# oss-fuzz/build.sh - build mmfuzz's fuzz targets the OSS-Fuzz way.
#
# Honours what OSS-Fuzz (and ClusterFuzzLite) set: $CC, $CFLAGS (sanitizer and
# coverage flags), $LIB_FUZZING_ENGINE (-fsanitize=fuzzer, or an engine
# archive such as AFL++'s libAFLDriver), $OUT (where binaries and their
# .dict/.options/_seed_corpus.zip go) and $SRC (where the sources are).
#
# The source tree is the repository this script lives in (oss-fuzz/..) when
# run from a checkout, else $SRC/mmfuzz (the Dockerfile's COPY target, when
# OSS-Fuzz has copied this script to $SRC/build.sh).
#
# liburcu is linked statically: the runner images do not have liburcu-dev.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -f "$here/../fuzzers/diff_fuzzer.c" ]; then
	repo=$(cd "$here/.." && pwd)
else
	repo=$SRC/mmfuzz
fi
: "${CC:?}" "${CFLAGS:?}" "${LIB_FUZZING_ENGINE:?}" "${OUT:?}"
export CC CFLAGS LIB_FUZZING_ENGINE

build=${WORK:-/tmp}/mmfuzz-oss-fuzz-build
rm -rf "$build"
mkdir -p "$build" "$OUT"

static_lib() {
	local f
	for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/local/lib /usr/lib; do
		f=$d/lib$1.a
		[ -f "$f" ] && { echo "$f"; return; }
	done
	echo "build.sh: lib$1.a not found (apt-get install liburcu-dev)" >&2
	exit 1
}

# the targets: diff_fuzzer, sched_fuzzer and prog_fuzzer with any engine and sanitizer;
# race_fuzzer needs ThreadSanitizer and libFuzzer ($SANITIZER=thread,
# FUZZING_ENGINE=libfuzzer: not among OSS-Fuzz's own sanitizers, but a
# ClusterFuzzLite or local build can ask for it)
targets=(diff_fuzzer sched_fuzzer prog_fuzzer)
sanitize=()
if [ "${SANITIZER:-}" = thread ]; then
	if [ "${FUZZING_ENGINE:-libfuzzer}" = libfuzzer ]; then
		targets=(race_fuzzer)
		sanitize=(-DMMF_SANITIZE=thread)
	else
		echo "build.sh: race_fuzzer needs libFuzzer (FUZZING_ENGINE=${FUZZING_ENGINE}); nothing to build" >&2
		exit 1
	fi
fi

# CMAKE_BUILD_TYPE empty: $CFLAGS alone decides optimisation and sanitizers
cmake -S "$repo" -B "$build" -G Ninja \
	-DCMAKE_C_COMPILER="$CC" \
	-DCMAKE_C_FLAGS="$CFLAGS" \
	-DCMAKE_BUILD_TYPE= \
	-DMMF_FUZZ_ENGINE=external "${sanitize[@]}" \
	-DMMF_URCU_MEMB_LIB="$(static_lib urcu-memb)" \
	-DMMF_URCU_COMMON_LIB="$(static_lib urcu-common)"
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"

# seed_dirs TARGET: the target's seed corpora (binary, and text programs:
# every target reads both)
seed_dirs() {
	case $1 in
	diff_fuzzer) echo corpus/diff_fuzzer ;;
	sched_fuzzer) echo corpus/sched_fuzzer corpus/sched ;;
	race_fuzzer) echo corpus/race_fuzzer corpus/race ;;
	prog_fuzzer) echo corpus/programs corpus/sched corpus/race corpus/diff_fuzzer corpus/sched_fuzzer ;;
	esac
}

for t in "${targets[@]}"; do
	cp "$build/fuzzers/$t" "$OUT/"
	cp "$repo/fuzzers/$t.dict" "$repo/fuzzers/$t.options" "$OUT/"
	rm -f "$OUT/${t}_seed_corpus.zip"
	dirs=()
	for d in $(seed_dirs "$t"); do
		[ -d "$repo/$d" ] && dirs+=("$repo/$d")
	done
	# the seeds at the top level of the archive, as OSS-Fuzz unpacks them
	# (names prefixed by their directory: corpus/sched and corpus/race hold
	# text programs named like nothing in the binary directories, but be sure)
	python3 - "$OUT/${t}_seed_corpus.zip" "${dirs[@]}" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for d in sys.argv[2:]:
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            if os.path.isfile(p) and not n.startswith(".") and not n.startswith("README"):
                z.write(p, os.path.basename(d) + "-" + n)
PY
done
