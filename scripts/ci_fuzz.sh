#!/usr/bin/env bash
# scripts/ci_fuzz.sh - the CI fuzzing check: fuzz each target (libFuzzer +
# ASan + UBSan) for a fixed, short budget and fail on any crash, printing the
# minimized text program.
#
#   diff_fuzzer   core vs reference, one program (default 180 s)
#   sched_fuzzer  the core on the deterministic scheduler, linearizability on
#                 the reference (default 90 s)
#   prog_fuzzer   the program language: every form round-trips (default 20 s)
#
#   scripts/ci_fuzz.sh [--budget SECONDS] [--seed N] [--target NAME]...
#
# --budget sets every target's budget (MMF_CI_FUZZ_BUDGET too); --target
# (repeatable) fuzzes only the targets named.  The seed is fixed per run and
# printed (default: derived from the commit, so a re-run of the same commit
# fuzzes the same way); reproduce a failure with
#   build/libfuzzer/fuzzers/diff_replay --binary <crash file>
#   build/libfuzzer/fuzzers/sched_replay --binary --history <crash file>
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

declare -A BUDGETS=([diff_fuzzer]=180 [sched_fuzzer]=90 [prog_fuzzer]=20)
TARGETS=()
SEED=""
[ -n "${MMF_CI_FUZZ_BUDGET:-}" ] && for t in "${!BUDGETS[@]}"; do BUDGETS[$t]=$MMF_CI_FUZZ_BUDGET; done
while (($#)); do
	case $1 in
	--budget) for t in "${!BUDGETS[@]}"; do BUDGETS[$t]=$2; done; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--target)
		[ -n "${BUDGETS[$2]:-}" ] || { echo "ci_fuzz: unknown target $2" >&2; exit 2; }
		TARGETS+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "ci_fuzz: unknown option $1" >&2; exit 2 ;;
	esac
done
((${#TARGETS[@]})) || TARGETS=(diff_fuzzer sched_fuzzer prog_fuzzer)
if [ -z "$SEED" ]; then
	rev=$(git rev-parse --short=8 HEAD 2>/dev/null || echo 0)
	SEED=$((16#${rev:0:7} % 2147483647 + 1))
fi

cmake --preset libfuzzer >/dev/null
cmake --build --preset libfuzzer --target diff_fuzzer diff_replay sched_fuzzer sched_replay \
	prog_fuzzer prog_replay

work=$(mktemp -d "${TMPDIR:-/tmp}/mmfuzz-ci.XXXXXX")
trap 'rm -rf "$work"' EXIT

# fuzz_one TARGET: 0 when it found nothing
fuzz_one() {
	local t=$1 budget=${BUDGETS[$1]} rc=0 dict=() replay
	mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
	case $t in
	prog_fuzzer)	# every program form; the names prefixed (sched/ and race/ share some)
		for f in corpus/{programs,sched,race,diff_fuzzer}/*; do
			cp "$f" "$work/$t/corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
		done ;;
	*) cp corpus/"$t"/* "$work/$t/corpus/" ;;
	esac
	[ -f fuzzers/"$t".dict ] && dict=(-dict=fuzzers/"$t".dict)
	echo "ci_fuzz: $t for ${budget}s, seed $SEED"
	build/libfuzzer/fuzzers/"$t" -seed="$SEED" -max_total_time="$budget" "${dict[@]}" \
		-max_len=4096 -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" \
		>"$work/$t/fuzz.log" 2>&1 || rc=$?
	grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec' \
		"$work/$t/fuzz.log" || true

	shopt -s nullglob
	local crashes=("$work/$t"/artifacts/*)
	if ((rc == 0)) && ((${#crashes[@]} == 0)); then
		echo "ci_fuzz: $t: no crash (seed $SEED, ${budget}s)"
		return 0
	fi
	echo "ci_fuzz: $t FAILED (exit $rc, seed $SEED); the fuzzer's report:"
	grep -E 'mmfuzz: |mmf_sync_bug: |ERROR: |SUMMARY: ' "$work/$t/fuzz.log" | head -20 ||
		tail -40 "$work/$t/fuzz.log"
	for c in "${crashes[@]}"; do
		echo "ci_fuzz: crash file $(basename "$c") (base64 below), minimized program:"
		if [ "$t" = sched_fuzzer ]; then
			build/libfuzzer/fuzzers/sched_replay --binary --minimize "$c" || true
		elif [ "$t" = prog_fuzzer ]; then
			build/libfuzzer/fuzzers/prog_replay "$c" || true
		else
			build/libfuzzer/fuzzers/diff_replay --binary --minimize "$c" || true
		fi
		base64 -w0 "$c"; echo
	done
	return 1
}

failed=0
for t in "${TARGETS[@]}"; do
	fuzz_one "$t" || failed=1
done
exit $failed
