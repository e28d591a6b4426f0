#!/bin/bash
# scripts/fuzz_bench.sh - fuzz-target throughput, old vs new, in one run.
#
#   scripts/fuzz_bench.sh [--base REV] [--replay R] [--fuzz SECS] [--targets "T..."]
#                         [BUILD_DIR...]
#
# Each BUILD_DIR is a libFuzzer build tree (default build/libfuzzer, and
# build/libfuzzer-tsan for race_fuzzer when it exists); --base REV also
# builds REV (git archive, preset libfuzzer) in $TMPDIR/mmfuzz-bench-REV and
# measures it first.  For every target found (default diff_fuzzer
# sched_fuzzer race_fuzzer) and every build:
#
#  replay  the shipped corpus (corpus/<target>) through LLVMFuzzerTestOneInput
#          in-process (libFuzzer's file mode, -runs=N: the engine's hooks run
#          as while fuzzing, its corpus bookkeeping does not).  Per-input
#          cost = CPU(-runs=R+1) - CPU(-runs=1), over R x inputs, so start-up
#          and LLVMFuzzerInitialize cancel out; the best of 3 such pairs.
#  fuzz    (--fuzz SECS > 0) a libFuzzer run of SECS seconds from a copy of
#          the corpus with the target's .options: execs per CPU-second
#          (stat::number_of_executed_units / user+sys) and the edges covered
#          in core/ and reference/ (-print_coverage; core/check.c left out:
#          it is not feedback).  The builds of one target fuzz side by side,
#          at the same time, so they share the machine's load alike.
#
# Each build runs with its own .options (the [libfuzzer] section as flags,
# [asan] as ASAN_OPTIONS, as scripts/campaign.sh does) unless ASAN_OPTIONS
# is set.  CPU time is user+sys of the target process (getrusage): on a shared
# machine compare rates per CPU-second, not per wall second.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

base= replay=30 fuzz=0 targets="diff_fuzzer sched_fuzzer race_fuzzer"
builds=()
while [ $# -gt 0 ]; do
	case $1 in
	--base) base=$2; shift 2 ;;
	--replay) replay=$2; shift 2 ;;
	--fuzz) fuzz=$2; shift 2 ;;
	--targets) targets=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz_bench: unknown option $1" >&2; exit 2 ;;
	*) builds+=("$1"); shift ;;
	esac
done
case $replay in ''|*[!0-9]*) echo "fuzz_bench: --replay N, N >= 1" >&2; exit 2 ;; esac
case $fuzz in ''|*[!0-9]*) echo "fuzz_bench: --fuzz SECS, SECS >= 0" >&2; exit 2 ;; esac
[ "$replay" -ge 1 ] || { echo "fuzz_bench: --replay N, N >= 1" >&2; exit 2; }
if [ ${#builds[@]} -eq 0 ]; then
	builds=(build/libfuzzer)
	[ -d build/libfuzzer-tsan ] && builds+=(build/libfuzzer-tsan)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

labels=()
dirs=()
if [ -n "$base" ]; then
	rev=$(git rev-parse --short "$base")
	src=${TMPDIR:-/tmp}/mmfuzz-bench-$rev
	if [ ! -d "$src" ]; then
		mkdir -p "$src"
		git archive "$rev" | tar -x -C "$src"
	fi
	echo "fuzz_bench: building $rev in $src/build/libfuzzer" >&2
	(cd "$src" && cmake --preset libfuzzer >/dev/null &&
	 nice -n 10 cmake --build --preset libfuzzer -j2 --target diff_fuzzer sched_fuzzer >/dev/null)
	labels+=("base:$rev")
	dirs+=("$src/build/libfuzzer")
fi
for b in "${builds[@]}"; do
	labels+=("$(basename "$b"):$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo +)")
	dirs+=("$(cd "$b" && pwd)")
done

# cputime OUT CMD...: run CMD niced (output to OUT), print its user+sys
# seconds (getrusage: microseconds; /usr/bin/time rounds to 10 ms); CMD's
# exit status is returned
cputime() {
	python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
	rc = subprocess.call(["nice", "-n", "10"] + sys.argv[2:], stdout=out, stderr=out)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.6f" % (r.ru_utime + r.ru_stime))
sys.exit(rc)' "$@"
}

cpu() {
	cputime "$tmp/out" "$@" || {
		echo "fuzz_bench: failed: $*" >&2; tail -20 "$tmp/out" >&2; return 1; }
}

# options_args FILE: the [libfuzzer] section of a .options file as -k=v
options_args() {
	[ -f "$1" ] || return 0
	awk '/^\[/ { s = ($0 == "[libfuzzer]") ; next }
	     s && /=/ && !/^#/ { gsub(/[ \t]/, ""); print "-" $0 }' "$1"
}

# asan_options BIN: its .options [asan] section as ASAN_OPTIONS (what
# campaigns run with: scripts/campaign.sh); an ASAN_OPTIONS set by the
# caller wins
asan_options() {
	if [ -n "${ASAN_OPTIONS+set}" ]; then
		echo "$ASAN_OPTIONS"
		return
	fi
	[ -f "$1.options" ] || return 0
	awk '/^\[/ { sec = ($0 == "[asan]"); next }
	     sec && /=/ && !/^#/ { gsub(/[ \t]/, ""); printf "%s%s", n++ ? ":" : "", $0 }' "$1.options"
}

printf '%-14s %-26s %7s %12s %14s\n' target build inputs "us/input" "execs/CPU-s"
for t in $targets; do
	corpus=$here/corpus/$t
	[ -d "$corpus" ] || continue
	n=$(find "$corpus" -maxdepth 1 -type f | wc -l)
	for i in "${!dirs[@]}"; do
		bin=${dirs[$i]}/fuzzers/$t
		[ -x "$bin" ] || continue
		# the best of 3: other load only ever adds time
		best=
		ao=$(asan_options "$bin")
		for _ in 1 2 3; do
			c1=$(ASAN_OPTIONS=$ao cpu "$bin" -runs=1 "$corpus"/*)
			c2=$(ASAN_OPTIONS=$ao cpu "$bin" -runs=$((replay + 1)) "$corpus"/*)
			best=$(awk -v n="$n" -v r="$replay" -v a="$c1" -v b="$c2" -v m="$best" 'BEGIN {
				per = (b - a) / (r * n); if (per <= 0) per = 1e-9
				if (m != "" && m + 0 < per) per = m; printf "%.9f\n", per }')
		done
		awk -v t="$t" -v l="${labels[$i]}" -v n="$n" -v per="$best" 'BEGIN {
			printf "%-14s %-26s %7d %12.0f %14.0f\n", t, l, n, per * 1e6, 1 / per }'
	done
done

[ "$fuzz" -gt 0 ] || exit 0
echo
echo "libFuzzer runs of $fuzz s from the shipped corpus (side by side; .options flags)"
printf '%-14s %-26s %9s %8s %12s %8s %8s %8s\n' target build execs CPU-s execs/CPU-s "cov:" core-edg ref-edg
for t in $targets; do
	[ -d "$here/corpus/$t" ] || continue
	pids=()
	for i in "${!dirs[@]}"; do
		bin=${dirs[$i]}/fuzzers/$t
		[ -x "$bin" ] || continue
		w=$tmp/$t.$i
		mkdir -p "$w/corpus"
		cp "$here/corpus/$t"/* "$w/corpus/"
		# shellcheck disable=SC2046
		(cd "$(dirname "$bin")" &&
		 ASAN_OPTIONS=$(asan_options "$bin") cputime "$w/log" "$bin" \
			$(options_args "$bin.options") -max_total_time="$fuzz" \
			-print_final_stats=1 -print_coverage=1 -artifact_prefix="$w/" \
			"$w/corpus" >"$w/time" || true) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	for i in "${!dirs[@]}"; do
		w=$tmp/$t.$i
		[ -f "$w/log" ] || continue
		# a crash found while measuring is kept (the scratch dir is not): its
		# file and the log, also when only the log reports one.  (Any one
		# of the four kinds of file: an `ls` of all four patterns fails
		# when one of them matches nothing, and so kept none of them.)
		keep= found= crash=0
		grep -a -q -E '==ERROR|^mmfuzz: [a-z]+:' "$w/log" && crash=1
		for f in "$w"/crash-* "$w"/timeout-* "$w"/oom-* "$w"/leak-*; do
			[ -e "$f" ] && found=1
		done
		if [ -n "$found" ] || [ "$crash" = 1 ]; then
			keep=$here/build/fuzz_bench-crashes/$t.${labels[$i]//[:\/]/_}.$(date +%s)
			mkdir -p "$keep"
			cp "$w"/crash-* "$w"/timeout-* "$w"/oom-* "$w"/leak-* "$keep"/ 2>/dev/null || true
			cp "$w/log" "$keep/log"
		fi
		awk -v t="$t" -v l="${labels[$i]}" -v tf="$w/time" -v keep="$keep" -v crash="$crash" '
			/^stat::number_of_executed_units:/ { execs = $2 }
			/^#[0-9]+/ { for (k = 1; k <= NF; k++) if ($k == "cov:") cov = $(k + 1) }
			/^COVERED_FUNC:/ {
				split($5, e, "/"); f = $7
				if (f ~ /\/core\/check\.c:/) next
				if (f ~ /\/core\//) core += e[1]
				else if (f ~ /\/reference\//) ref += e[1]
			}
			END {
				getline c < tf
				printf "%-14s %-26s %9d %8.1f %12.0f %8d %8d %8d%s\n", t, l, execs, c,
					(c > 0 ? execs / c : 0), cov, core, ref, (crash ? "  (stopped: a crash" (keep != "" ? ", kept in " keep : "") ")" : "")
			}' "$w/log"
	done
done
