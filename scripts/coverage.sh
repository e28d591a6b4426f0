#!/usr/bin/env bash
# scripts/coverage.sh - source-based coverage of the core and the reference
# reached by the corpora.
#
#   1. builds the `coverage` preset (clang -fprofile-instr-generate
#      -fcoverage-mapping) into build/coverage;
#   2. replays, one profile per process: through diff_replay (--every-op)
#        corpus/diff_fuzzer, corpus/programs, corpus/regressions and the
#        campaign corpus work/campaign/diff_fuzzer/corpus when present (or
#        --campaign-corpus DIR); through sched_replay (the concurrent
#        programs, on the deterministic scheduler) corpus/sched,
#        corpus/sched_fuzzer, corpus/race, corpus/race_fuzzer,
#        corpus/regressions-sched and the campaign's sched_fuzzer and
#        race_fuzzer corpora beside the diff_fuzzer one;
#   3. merges the profiles (llvm-profdata-14) into build/coverage/mmfuzz.profdata;
#   4. writes the HTML report (llvm-cov-14 show -format=html) of core/ and
#      reference/ to build/coverage/html/index.html;
#   5. prints per-directory text reports and a one-line summary:
#        coverage: core/ lines L% (hit/total) branches B% ... | reference/ ...
#
#   scripts/coverage.sh [--campaign-corpus DIR | --no-campaign] [--no-build] [EXTRA_DIR...]
#
# EXTRA_DIRs (files or directories of sequential programs) are replayed too.  Exit
# status: 0 (a diverging corpus file is reported by diff_replay but does not
# fail the script), 1 if the build or the tools fail.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

campaign=work/campaign/diff_fuzzer/corpus
build=1
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--campaign-corpus) campaign=${2:?--campaign-corpus needs a directory}; shift 2 ;;
	--campaign-corpus=*) campaign=${1#*=}; shift ;;
	--no-campaign) campaign=; shift ;;
	--no-build) build=0; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "coverage.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
	*) extra+=("$1"); shift ;;
	esac
done

profdata=llvm-profdata-14
cov=llvm-cov-14
for t in "$profdata" "$cov" clang-14; do
	command -v "$t" >/dev/null || { echo "coverage.sh: $t missing (scripts/setup.sh installs llvm-14)" >&2; exit 1; }
done

out=build/coverage
if ((build)); then
	echo "== build: coverage preset"
	cmake --preset coverage >/dev/null
	cmake --build --preset coverage --target diff_replay sched_replay
fi
replay=$out/fuzzers/diff_replay
sched=$out/fuzzers/sched_replay
for b in "$replay" "$sched"; do
	[ -x "$b" ] || { echo "coverage.sh: $b not built" >&2; exit 1; }
done

raw=$out/profraw
rm -rf "$raw" "$out/html"
mkdir -p "$raw"

inputs=(corpus/diff_fuzzer corpus/programs corpus/regressions)
concurrent=(corpus/sched corpus/sched_fuzzer corpus/race corpus/race_fuzzer corpus/regressions-sched)
if [ -n "$campaign" ]; then
	if [ -d "$campaign" ]; then
		inputs+=("$campaign")
	else
		echo "coverage.sh: no campaign corpus at $campaign (skipped)"
	fi
	# the other targets' corpora of the same campaign
	for t in sched_fuzzer race_fuzzer; do
		d=${campaign/diff_fuzzer/$t}
		[ "$d" != "$campaign" ] && [ -d "$d" ] && concurrent+=("$d")
	done
fi
inputs+=("${extra[@]}")

replay_dir() {	# DRIVER DIR ARGS...: one raw profile per process
	local drv=$1 d=$2 n log
	shift 2
	n=$( [ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '.*' ! -name 'README*' | wc -l || echo 1)
	log="$raw/replay-$(echo "$d" | tr / _).log"
	echo "== $(basename "$drv") $d ($n files)"
	# a diverging file is not a coverage failure
	LLVM_PROFILE_FILE="$root/$raw/%p-%m.profraw" MMF_FUZZ_HANG_SECS=30 \
		"$drv" "$@" "$d" >"$log" 2>&1 || true
	tail -n 1 "$log"
}
for d in "${inputs[@]}"; do
	replay_dir "$replay" "$d" --every-op
done
for d in "${concurrent[@]}"; do
	[ -e "$d" ] && replay_dir "$sched" "$d"
done

"$profdata" merge -sparse "$raw"/*.profraw -o "$out/mmfuzz.profdata"

# everything but core/ and reference/ (and the core's unit tests)
others=()
for d in */; do
	d=${d%/}
	case "$d" in core|reference) ;; *) others+=("$d") ;; esac
done
ignore_all="^/usr/|^$root/($(IFS='|'; echo "${others[*]}"))/|^$root/core/tests/"

echo "== HTML report"
"$cov" show "$replay" -object "$sched" -instr-profile="$out/mmfuzz.profdata" -format=html \
	-show-branches=count -show-line-counts-or-regions \
	-ignore-filename-regex="$ignore_all" -output-dir="$out/html"

# "lines hit total pct branches hit total pct" from llvm-cov's TOTAL row
# (columns: regions missed cover functions missed executed lines missed cover
#  branches missed cover)
summary() {
	local keep=$1 drop=core
	[ "$keep" = core ] && drop=reference
	"$cov" report "$replay" -object "$sched" -instr-profile="$out/mmfuzz.profdata" \
		-ignore-filename-regex="$ignore_all|^$root/$drop/" >"$out/report-$keep.txt"
	awk -v dir="$keep/" '$1 == "TOTAL" {
		lt = $8; lm = $9; bt = $11; bm = $12
		printf "%s lines %.1f%% (%d/%d) branches %.1f%% (%d/%d)", dir,
		       lt ? 100 * (lt - lm) / lt : 0, lt - lm, lt,
		       bt ? 100 * (bt - bm) / bt : 0, bt - bm, bt
	}' "$out/report-$keep.txt"
}
c=$(summary core)
r=$(summary reference)
echo "== per-file reports: $out/report-core.txt $out/report-reference.txt"
echo "== HTML: $out/html/index.html"
echo "coverage: $c | $r"
