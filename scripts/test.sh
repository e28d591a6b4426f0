#!/usr/bin/env bash
# scripts/test.sh - the test command (CI runs exactly this through .ci/run):
#   1. install what is missing (scripts/setup.sh);
#   2. build under ASan+UBSan and run every ctest suite (semantics on the
#      reference and the core, program language, core unit tests, kernel
#      agreement, corpus and regression replay);
#   3. build under TSan and run the core's suites and the semantic suite on
#      the core there, and race_replay on race_fuzzer's seeds;
#   4. the differential check: fuzz diff_fuzzer for a short fixed budget
#      (scripts/ci_fuzz.sh; seed printed).
#
#   scripts/test.sh [--quick]     --quick: step 2 only
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/setup.sh
jobs=$(nproc)

echo "== ASan+UBSan: build and ctest"
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan -j"$jobs"
((quick)) && exit 0

echo "== TSan: core suites"
cmake --preset tsan >/dev/null
cmake --build --preset tsan
ctest --preset tsan -j"$jobs" -R '^core\.|test_semantics\.core'
# race_fuzzer's seeds and race regressions on real threads (race_replay,
# 5 runs each; any TSan report, broken invariant or disjoint-mode
# difference fails): a few seconds
echo "== TSan: race_fuzzer corpus (race_replay)"
ctest --preset tsan -R '^race\.'

echo "== differential check: diff_fuzzer"
scripts/ci_fuzz.sh
