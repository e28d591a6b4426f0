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

# CMAKE_BUILD_TYPE empty: $CFLAGS alone decides optimisation and sanitizers
cmake -S "$repo" -B "$build" -G Ninja \
	-DCMAKE_C_COMPILER="$CC" \
	-DCMAKE_C_FLAGS="$CFLAGS" \
	-DCMAKE_BUILD_TYPE= \
	-DMMF_FUZZ_ENGINE=external \
	-DMMF_URCU_MEMB_LIB="$(static_lib urcu-memb)" \
	-DMMF_URCU_COMMON_LIB="$(static_lib urcu-common)"
cmake --build "$build" --target diff_fuzzer -j"$(nproc)"

for t in diff_fuzzer; do
	cp "$build/fuzzers/$t" "$OUT/"
	cp "$repo/fuzzers/$t.dict" "$repo/fuzzers/$t.options" "$OUT/"
	rm -f "$OUT/${t}_seed_corpus.zip"
	# zip -j: the seeds at the top level of the archive, as OSS-Fuzz unpacks them
	if command -v zip >/dev/null; then
		zip -q -j "$OUT/${t}_seed_corpus.zip" "$repo/corpus/$t"/*
	else
		python3 - "$OUT/${t}_seed_corpus.zip" "$repo/corpus/$t" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for n in sorted(os.listdir(sys.argv[2])):
        p = os.path.join(sys.argv[2], n)
        if os.path.isfile(p) and not n.startswith("."):
            z.write(p, n)
PY
	fi
done
