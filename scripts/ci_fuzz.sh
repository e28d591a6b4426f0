#!/usr/bin/env bash
# scripts/ci_fuzz.sh - the CI differential check: fuzz diff_fuzzer (libFuzzer
# + ASan + UBSan, core vs reference) for a fixed, short budget and fail on any
# crash, printing the minimized text program.
#
#   scripts/ci_fuzz.sh [--budget SECONDS] [--seed N]
#
# The seed is fixed per run and printed (default: derived from the commit, so
# a re-run of the same commit fuzzes the same way); reproduce a failure with
#   build/libfuzzer/fuzzers/diff_replay --binary <crash file>
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUDGET=${MMF_CI_FUZZ_BUDGET:-180}
SEED=""
while (($#)); do
	case $1 in
	--budget) BUDGET=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "ci_fuzz: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ -z "$SEED" ]; then
	rev=$(git rev-parse --short=8 HEAD 2>/dev/null || echo 0)
	SEED=$((16#${rev:0:7} % 2147483647 + 1))
fi

cmake --preset libfuzzer >/dev/null
cmake --build --preset libfuzzer --target diff_fuzzer diff_replay

work=$(mktemp -d "${TMPDIR:-/tmp}/mmfuzz-ci.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp corpus/diff_fuzzer/* "$work/corpus/"

echo "ci_fuzz: diff_fuzzer for ${BUDGET}s, seed $SEED"
rc=0
build/libfuzzer/fuzzers/diff_fuzzer -seed="$SEED" -max_total_time="$BUDGET" \
	-dict=fuzzers/diff_fuzzer.dict -max_len=4096 -timeout=30 -rss_limit_mb=4096 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
	>"$work/fuzz.log" 2>&1 || rc=$?
grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec' "$work/fuzz.log" || true

shopt -s nullglob
crashes=("$work"/artifacts/*)
if ((rc == 0)) && ((${#crashes[@]} == 0)); then
	echo "ci_fuzz: no crash (seed $SEED, ${BUDGET}s)"
	exit 0
fi
echo "ci_fuzz: FAILED (exit $rc, seed $SEED); the fuzzer's report:"
grep -E 'mmfuzz: |ERROR: |SUMMARY: ' "$work/fuzz.log" | head -20 || tail -40 "$work/fuzz.log"
for c in "${crashes[@]}"; do
	echo "ci_fuzz: crash file $(basename "$c") (base64 below), minimized program:"
	build/libfuzzer/fuzzers/diff_replay --binary --minimize "$c" || true
	base64 -w0 "$c"; echo
done
exit 1
