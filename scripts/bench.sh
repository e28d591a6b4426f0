#!/bin/sh
# scripts/bench.sh [--quick] [--reps N] [--only SUBSTRING]
# Builds the release preset and prints the bench table (bench/bench.c):
# core vs reference, and each mechanism vs its pre-patch behaviour.
set -e
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target mmfuzz_bench >/dev/null
echo "# host: $(uname -sr), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
exec build/release/bench/mmfuzz_bench "$@"
