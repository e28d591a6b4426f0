#!/usr/bin/env bash
# scripts/test.sh - the test command (CI runs exactly this through .ci/run):
#   1. install what is missing (scripts/setup.sh);
#   2. build under ASan+UBSan and run every ctest suite (semantics on the
#      reference and the core, program language, core unit tests (native
#      and sched backends), linearizability checker, kernel agreement,
#      corpus and regression replay of diff_fuzzer and sched_fuzzer);
#   3. build under TSan and run the core's suites and the semantic suite on
#      the core there, race_replay on race_fuzzer's seeds and regressions,
#      sched_replay on sched_fuzzer's;
#   4. the fuzzing check: diff_fuzzer and sched_fuzzer for short fixed
#      budgets (scripts/ci_fuzz.sh; seed printed).
#
#   scripts/test.sh [--quick]     --quick: step 2 only
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

# each stage's heading says how long the run has taken so far (CI timing)
stage() { echo "== [${SECONDS}s] $*"; }

scripts/setup.sh
jobs=$(nproc)

stage "ASan+UBSan: build and ctest"
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan -j"$jobs"
((quick)) && { stage "done"; exit 0; }

stage "TSan: core suites"
cmake --preset tsan >/dev/null
cmake --build --preset tsan
ctest --preset tsan -j"$jobs" -R '^core\.|test_semantics\.core'
# race_fuzzer's seeds and race regressions on real threads (race_replay,
# 5 runs each; any TSan report, broken invariant or disjoint-mode
# difference fails): a few seconds
stage "TSan: race_fuzzer corpus (race_replay)"
ctest --preset tsan -R '^race\.'
# the deterministic target under TSan too: fibers switched with
# __tsan_switch_to_fiber(no_sync), so a race between fibers is reported
stage "TSan: sched_fuzzer corpus (sched_replay on fibers)"
ctest --preset tsan -R '^sched_replay\.'

stage "fuzzing check: diff_fuzzer, sched_fuzzer"
scripts/ci_fuzz.sh
stage "done"
