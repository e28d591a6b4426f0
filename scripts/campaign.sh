#!/usr/bin/env bash
# scripts/campaign.sh - the main job: a fuzzing campaign on the shipped corpus.
#
#   scripts/campaign.sh [--duration 10m] [--jobs N] [--engine libfuzzer|afl]
#                       [--workdir DIR] [--targets a,b] [--interval S] [--no-setup]
#                       [--zoo BUG] [--stop-on-crash]
#
# Installs what is missing (scripts/setup.sh), builds the libfuzzer preset
# (and the afl preset, plus a CmpLog build, for --engine afl; libfuzzer-tsan
# for race_fuzzer), then fuzzes every target (fuzzers/*_fuzzer.c) in
# parallel, printing progress every few seconds:
#   diff_fuzzer   core vs reference (libFuzzer+ASan+UBSan, or AFL++)
#   sched_fuzzer  the core on the deterministic scheduler, linearizability
#   race_fuzzer   real threads under TSan (libFuzzer only; skipped with afl)
#   prog_fuzzer   the program language's parsers: every form round-trips
#
# Everything lives under the work dir (default ./work/campaign):
#
#   <target>/corpus/            the growing corpus (a restarted campaign resumes it)
#   <target>/crashes/<sig>/     one directory per unique crash signature:
#                               input, log, program.mmf (minimized, text), count
#   <target>/ignore             signatures already filed: workers step over them
#                               (MMF_FUZZ_IGNORE) and keep looking for new bugs
#   <target>/fixed/             crashes that no longer reproduce when a campaign
#                               restarts on the work dir
#   <target>/logs/  <target>/raw/  <target>/afl/   engine logs, raw artifacts, AFL++ dirs
#   summary.txt                 the final summary
#
# A crash signature is the target's own last `mmfuzz: <kind>:...` line
# (diff:, invariant:, hang:, error:, linearizability:, nondeterminism:,
# race:, tsan:), the scheduler's `mmf_sync_bug: deadlock|livelock` (as
# sched:deadlock, sched:livelock; any other mmf_sync_bug as sync:<primitive>,
# sync:rwsem), else the sanitizer report kind plus the
# top 3 frames.  Reproduce one with
#   build/libfuzzer/tools/mmfuzz repro <target>/crashes/<sig>/input
# Ctrl-C (or SIGTERM) stops cleanly and prints the summary.  Works without a
# terminal and without stdin.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/scripts/campaign.sh"

DURATION=600 JOBS=$(nproc 2>/dev/null || echo 1) ENGINE=libfuzzer
WORKDIR="$ROOT/work/campaign" TARGETS="" INTERVAL=5 SETUP=1 MINIMIZE_TIME=60 MERGE_ABOVE=2000 DRY_RUN=0
ZOO="" STOP_ON_CRASH=0

usage() {
	sed -n '2,/^set -uo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//'
	cat <<EOF
Options:
  --duration T   how long to fuzz: 600, 90s, 10m, 2h, 1h30m; 0 = until stopped (default 10m)
  --jobs N       fuzzing processes in all (default nproc = $(nproc 2>/dev/null || echo 1))
  --engine E     libfuzzer (default) or afl (AFL++: one -M, the rest -S, one with CmpLog;
                 a target's <target>_mutator.so, if built, as AFL_CUSTOM_MUTATOR_LIBRARY)
  --workdir DIR  where corpus, crashes and logs go (default ./work/campaign)
  --targets L    comma-separated fuzz targets (default: all)
  --interval S   seconds between progress lines (default 5)
  --minimize S   at the end, minimize each new sanitizer/timeout crash for up
                 to S seconds (default 60; 0 = no)
  --merge-above N  reduce a resumed corpus of more than N inputs first
                 (libFuzzer -merge=1; default 2000)
  --no-setup     do not run scripts/setup.sh
  --zoo BUG      fuzz a core with the injected bug BUG (zoo/README.md), built in
                 build/zoo-campaign/ (scripts/zoo.sh --campaign runs every bug)
  --stop-on-crash  stop at the first new crash; WORKDIR/first-crash then holds
                 "SECONDS TARGET SIGNATURE DIR" (seconds since the fuzzing started)
  --dry-run      check the options, print the settings and exit (no setup, no build)
EOF
}

die_usage() { echo "campaign: $*" >&2; exit 2; }
wanted() { [ -z "$TARGETS" ] || [[ ",$TARGETS," == *",$1,"* ]]; }

# parse_duration OPT VALUE: VALUE in seconds; forms 600, 90s, 10m, 2h, 1h30m
parse_duration() {
	local t=$2 n=0 part
	[[ $t =~ ^[0-9]+$ || $t =~ ^([0-9]+[hms])+$ ]] ||
		die_usage "$1 '$t': a duration is a whole number of seconds, or with h, m, s (600, 90s, 10m, 2h, 1h30m)"
	while [[ $t =~ ^([0-9]+)([hms]?)(.*)$ ]]; do
		part=$((10#${BASH_REMATCH[1]}))
		case ${BASH_REMATCH[2]} in h) part=$((part * 3600)) ;; m) part=$((part * 60)) ;; esac
		n=$((n + part))
		t=${BASH_REMATCH[3]}
	done
	echo "$n"
}

# whole_number OPT VALUE MIN: VALUE if it is a whole number >= MIN
whole_number() {
	[[ $2 =~ ^[0-9]+$ ]] && (($((10#$2)) >= $3)) ||
		die_usage "$1 '$2': a whole number >= $3 is needed"
	echo $((10#$2))
}

# ---- crash signatures -------------------------------------------------------

# signature LOG: print the stable one-line signature of the crash in LOG.
signature() {
	awk '
	function skip(f) {
		return f ~ /^(__sanitizer|__asan|__ubsan|__lsan|__interceptor|__libc|__GI_|_start$|main$|fuzzer::|abort$|raise$|gsignal$|__pthread_kill|pthread_kill|malloc$|calloc$|realloc$|free$|strdup$|LLVMFuzzerTestOneInput$|mmf_fuzz_check$|afl_|__afl)/
	}
	/^mmfuzz: [a-z]+:/ { sig = $2 }	# the last one is the target'\''s verdict
	/^mmf_sync_bug: (deadlock|livelock):/ { s = $2; sub(/:$/, "", s); sig = "sched:" s }
	# any other abort of the sched backend (a rwsem destroyed while held, ...):
	# sync:<primitive>, as diff/isolate.c names it
	sig == "" && /^mmf_sync_bug: [a-z]+ / { sig = "sync:" $2 }
	# ASan: crash:KIND:FN from the SUMMARY line, as diff/isolate.c names it
	# for mmfuzz minimize and sched_replay --minimize (one name in every tool)
	asan == "" && /^SUMMARY: AddressSanitizer: / {
		asan = "crash:" $3; if ($(NF - 1) == "in") asan = asan ":" $NF }
	kind == "" && /ERROR: AddressSanitizer: / {
		kind = $0; sub(/.*AddressSanitizer: /, "", kind); sub(/ .*/, "", kind); kind = "asan:" kind }
	kind == "" && /ERROR: LeakSanitizer:/ { kind = "leak" }
	kind == "" && /runtime error: / {
		kind = $0; sub(/.*runtime error: /, "", kind); sub(/[:(].*/, "", kind)
		gsub(/[0-9]+/, "N", kind); gsub(/'\''[^'\'']*'\''/, "T", kind); kind = "ubsan:" kind }
	kind == "" && /ERROR: libFuzzer: / {
		kind = $0; sub(/.*libFuzzer: /, "", kind); sub(/ after.*/, "", kind); kind = "libfuzzer:" kind }
	kind == "" && /^ALARM: working on the last Unit/ { kind = "libfuzzer:timeout" }
	kind != "" && nf < 3 && /^ *#[0-9]+ 0x[0-9a-f]+ in / {
		f = $4; if (!skip(f)) { frames = frames (nf ? "," : "") f; nf++ } }
	END {
		if (sig != "") { print sig; exit }
		if (asan != "") { print asan; exit }
		if (kind == "") kind = "unknown"
		gsub(/ /, "-", kind)
		print kind (frames != "" ? ":" frames : "")
	}' "$1"
}

slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9_.,:-' '_' | tr ':,' '+-' | cut -c1-120; }

# triage TARGET INPUT LOG: file a crash under its signature (first one kept).
triage() {
	local t=$1 input=$2 log=$3 sig dir
	sig=$(signature "$log")
	dir="$WORKDIR/$t/crashes/$(slug "$sig")"
	if mkdir "$dir" 2>/dev/null; then
		cp "$input" "$dir/input"
		cp "$log" "$dir/log"
		echo "$sig" >"$dir/signature"
		echo 1 >"$dir/count"
		echo "$(date -u +%H:%M:%S) NEW CRASH [$t] $sig" >>"$WORKDIR/events"
		# restarted workers step over it (MMF_FUZZ_IGNORE) and look for others
		case $sig in diff:* | invariant:* | error:*) echo "$sig" >>"$WORKDIR/$t/ignore" ;; esac
		minimize "$t" "$dir" "$sig"
		if [ "$t" = race_fuzzer ]; then
			race_replay_count "$dir"
			race_to_schedule "$dir"
		fi
		touch "$dir/triaged"	# filed: what --stop-on-crash waits for
	else
		echo $(($(cat "$dir/count" 2>/dev/null || echo 0) + 1)) >"$dir/count"
	fi
	rm -f "$input"
}

# sig_class SIG: what a replay of a race must give again.  A TSan report
# names the access it caught first, and which of the racing accesses that
# is varies from run to run (tsan:data-race:core_unlink_anon_vmas, then
# tsan:data-race:core_vma_set_range for the same race): the kind only
# (tsan:data-race); every other signature whole.
sig_class() {
	case $1 in tsan:*) echo "$1" | cut -d: -f1-2 ;; *) echo "$1" ;; esac
}

# race_replay_count DIR: DIR/replays = "N/10 (CLASS)", the runs (processes)
# of race_replay that reproduce the crash's signature class, each running
# the input DIR/repeat times: 1, else 10, else 100, the first count that
# makes 9 of 10 runs reproduce it; if none does, the same again with delay
# injection (race_replay --jitter 64, DIR/jitter: a window a few
# instructions wide on real threads is hit far more often).  mmfuzz repro
# replays with DIR/repeat and DIR/jitter too.
race_replay_count() {
	local dir=$1 n i rep jit drv class best=-1 brep bjit
	drv=$(target_build race_fuzzer)/fuzzers/race_replay
	[ -x "$drv" ] || return 0
	class=$(sig_class "$(cat "$dir/signature")")
	for jit in 0 64; do
		for rep in 1 10 100; do
			n=0
			for i in $(seq 10); do
				MMF_FUZZ_IGNORE= timeout 300 "$drv" --repeat "$rep" \
					$([ "$jit" = 0 ] || echo --jitter "$jit") --binary "$dir/input" \
					</dev/null >"$dir/replay.log" 2>&1 ||
					[ "$(sig_class "$(signature "$dir/replay.log")")" != "$class" ] || n=$((n + 1))
			done
			[ "$n" -le "$best" ] || { best=$n brep=$rep bjit=$jit; }
			[ "$n" -lt 9 ] || break 2
		done
	done
	rm -f "$dir/jitter"
	[ "$bjit" = 0 ] || echo "$bjit" >"$dir/jitter"
	echo "$best/10 ($class$([ "$bjit" = 0 ] || echo ", --jitter $bjit"))" >"$dir/replays"
	echo "$brep" >"$dir/repeat"
}

# race_to_schedule DIR: a race_fuzzer crash (TSan, real threads) has no exact
# replay; search the deterministic backend for a schedule of the same program
# that fails (sched_replay --explore: bounded preemptions, then PCT) and file
# it as DIR/sched/explore-input.mmf with its signature in DIR/sched/signature
# (replay: mmfuzz repro DIR/sched/explore-input.mmf).
race_to_schedule() {
	local dir=$1 drv=$LF_BUILD/fuzzers/sched_replay
	[ -x "$drv" ] || return 0
	mkdir -p "$dir/sched"
	timeout 300 nice -n 5 "$drv" --binary --explore --budget 20000 --out "$dir/sched" "$dir/input" \
		</dev/null >"$dir/sched/log" 2>&1 || true
	if [ -f "$dir/sched/explore-input.mmf" ]; then
		grep -m1 -o 'mmfuzz: [^ ]*' "$dir/sched/log" | sed 's/mmfuzz: //' >"$dir/sched/signature"
		echo "$(date -u +%H:%M:%S) RACE SCHEDULED [race_fuzzer] $(cat "$dir/signature") -> $(cat "$dir/sched/signature")" >>"$WORKDIR/events"
	elif [ -f "$dir/sched/explore-input.abort" ]; then
		echo "crash (see log)" >"$dir/sched/signature"
	fi
}

# minimize TARGET DIR SIG: write DIR/program.mmf, the smallest program we can find.
# diff/invariant failures are minimized at once (in-process delta debugging
# over ops, keeping the signature: fast); crashes that end the process
# (sanitizers, timeouts) at the end of the campaign, by libFuzzer, because it
# takes a while (minimize_late).
minimize() {
	local t=$1 dir=$2 sig=$3 build
	build=$(target_build "$t")
	case $t:$sig in
	diff_fuzzer:diff:* | diff_fuzzer:invariant:* | diff_fuzzer:error:*)
		timeout 120 "$build/fuzzers/diff_replay" --binary --minimize "$dir/input" </dev/null 2>/dev/null |
			sed -n '/^# caught:/,$p' | grep -v '^[0-9]* passed, ' >"$dir/program.mmf"
		;;
	sched_fuzzer:linearizability:* | sched_fuzzer:invariant:* | sched_fuzzer:nondeterminism:*)
		timeout 120 "$build/fuzzers/sched_replay" --binary --minimize "$dir/input" </dev/null 2>/dev/null |
			sed -n '/^# minimized:/,$p' | grep -v '^[0-9]* passed, ' >"$dir/program.mmf"
		;;
	*)
		program_text "$t" "$dir/input" "$sig" >"$dir/program.mmf"
		touch "$dir/minimize-pending"
		;;
	esac
	[ -s "$dir/program.mmf" ] || rm -f "$dir/program.mmf"
}

program_text() {	# TARGET INPUT SIG
	echo "# caught: mmfuzz: $3"
	if [ "$1" = diff_fuzzer ]; then
		"$LF_BUILD/fuzzers/diff_replay" --binary --fmt "$2" </dev/null 2>/dev/null | grep -v '^# /'
	else
		"$LF_BUILD/tools/mmfuzz" fmt --concurrent "$2" </dev/null 2>/dev/null
	fi
}

# target_build TARGET: the build directory of the target's libFuzzer binary
target_build() {
	case $1 in
	race_fuzzer) echo "$TSAN_BUILD" ;;
	*) echo "$LF_BUILD" ;;
	esac
}

minimize_late() {	# TARGET DIR: byte-level minimization of a process-ending crash
	local t=$1 dir=$2 sig opts=() bin
	sig=$(cat "$dir/signature")
	bin=$(target_build "$t")/fuzzers/$t
	mapfile -t opts < <(libfuzzer_options "$bin" | grep -e '^-timeout=' -e '^-rss_limit_mb=')
	echo "campaign: minimizing $sig (at most ${MINIMIZE_TIME}s)"
	timeout $((MINIMIZE_TIME + 30)) "$bin" "${opts[@]}" -minimize_crash=1 \
		-max_total_time="$MINIMIZE_TIME" -exact_artifact_path="$dir/input.min" "$dir/input" \
		</dev/null >"$dir/minimize.log" 2>&1
	# libFuzzer's -minimize_crash keeps any crash: keep its result only if it
	# is still this one
	if [ -s "$dir/input.min" ]; then
		MMF_FUZZ_IGNORE= timeout 120 "$bin" "${opts[@]}" "$dir/input.min" </dev/null \
			>"$dir/minimize.check" 2>&1 || true
		if [ "$(signature "$dir/minimize.check")" = "$sig" ]; then
			program_text "$t" "$dir/input.min" "$sig" >"$dir/program.mmf"
		else
			echo "campaign: minimized input of $sig is another crash ($(signature "$dir/minimize.check")): dropped"
			mv "$dir/input.min" "$dir/input.min.other"
		fi
	fi
	rm -f "$dir/minimize-pending"
}

# regression_seeds TARGET DIR: the fixed bugs' programs (corpus/regressions
# for diff_fuzzer, corpus/regressions-sched for the concurrent targets, and
# corpus/regressions-race for race_fuzzer) as
# the target's binary inputs: seeds beside corpus/<target>.
regression_seeds() {
	local t=$1 out=$2 f
	rm -rf "$out" && mkdir -p "$out"
	case $t in
	diff_fuzzer)
		"$LF_BUILD/fuzzers/diff_replay" --asm "$out" "$ROOT/corpus/regressions" >/dev/null 2>&1 || true ;;
	sched_fuzzer | race_fuzzer)
		for f in "$ROOT"/corpus/regressions-sched/*.mmf \
			$([ "$t" = race_fuzzer ] && ls "$ROOT"/corpus/regressions-race/*.mmf 2>/dev/null); do
			[ -f "$f" ] || continue
			"$LF_BUILD/tools/mmfuzz" asm --concurrent "$f" -o "$out/$(basename "$f" .mmf)" \
				>/dev/null 2>&1 || true
		done ;;
	esac
	[ "$ENGINE" != afl ] || cp -n "$out"/* "$tw/afl-in/" 2>/dev/null || true
}

# replays_clean TARGET INPUT: every one of the target's replays passes.  A
# deterministic target (diff_fuzzer, sched_fuzzer) replays the same run each
# time (2 runs); race_fuzzer's races depend on the OS scheduler: 20 runs, so
# that a race that shows in half of the runs stays with probability 1 - 2^-20.
replays_clean() {
	local t=$1 input=$2 n=2 i
	[ "$t" = race_fuzzer ] && n=20
	for i in $(seq $n); do
		MMF_FUZZ_IGNORE= timeout 120 "$(target_build "$t")/fuzzers/$t" -timeout=60 "$input" \
			</dev/null >/dev/null 2>&1 || return 1
	done
}

# ---- workers (each runs as its own process group: `campaign.sh --_worker`) --

seed_dirs() {	# TARGET: its seed corpora (prog_fuzzer reads every program form)
	local d
	case $1 in
	prog_fuzzer) set -- programs sched race diff_fuzzer sched_fuzzer ;;
	*) set -- "$1" ;;
	esac
	for d in "$@"; do [ -d "$ROOT/corpus/$d" ] && echo "$ROOT/corpus/$d"; done
}

libfuzzer_options() {	# the [libfuzzer] section of BIN.options as -key=value
	local opts="$1.options" dir
	dir=$(dirname "$1")
	[ -f "$opts" ] || return 0
	awk -v dir="$dir" '
		/^[ \t]*[#;]/ { next }	# a comment (the INI form OSS-Fuzz reads)
		/^\[/ { sec = ($0 == "[libfuzzer]"); next }
		sec && /=/ { k = $1; v = $0; sub(/^[^=]*= */, "", v); sub(/ *$/, "", v)
			if (k == "dict" && v !~ /^\//) v = dir "/" v
			if (k == "dict" && system("test -s \"" v "\"") != 0) next
			printf "-%s=%s\n", k, v }' "$opts"
}

asan_options() {	# the [asan] section of BIN.options as k=v:k=v (ASAN_OPTIONS)
	[ -f "$1.options" ] || return 0
	awk '/^\[/ { sec = ($0 == "[asan]"); next }
	     sec && /=/ && !/^#/ { gsub(/[ \t]/, ""); printf "%s%s", n++ ? ":" : "", $0 }' "$1.options"
}

worker_libfuzzer() {	# TARGET ID END
	local t=$1 id=$2 end=$3 bin run=0 rc now left
	bin=$(target_build "$t")/fuzzers/$t
	local tw="$WORKDIR/$t" opts=() seeds=()
	mapfile -t opts < <(libfuzzer_options "$bin")
	mapfile -t seeds < <(seed_dirs "$t")
	[ -n "$(ls -A "$tw/seeds-regressions" 2>/dev/null)" ] && seeds+=("$tw/seeds-regressions")
	while :; do
		now=$(date +%s)
		left=0
		if [ "$end" != 0 ]; then
			left=$((end - now))
			[ "$left" -gt 0 ] || break
		fi
		run=$((run + 1))
		local log="$tw/logs/w$id.run$run.log"
		ASAN_OPTIONS=${ASAN_OPTIONS-$(asan_options "$bin")} \
		MMF_FUZZ_STATS="$tw/stats/w$id.r$run" MMF_FUZZ_IGNORE="$tw/ignore" \
			"$bin" "${opts[@]}" -max_total_time="$left" -print_final_stats=1 \
			-artifact_prefix="$tw/raw/w$id-" "$tw/corpus" "${seeds[@]}" \
			</dev/null >"$log" 2>&1
		rc=$?
		[ -f "$WORKDIR/stop" ] && break
		if [ $rc -ne 0 ]; then
			local a found=0
			for a in "$tw"/raw/w$id-*; do
				[ -f "$a" ] && { found=1; triage "$t" "$a" "$log"; }
			done
			if [ $found = 0 ]; then
				echo "$(date -u +%H:%M:%S) worker $id: $t exited with status $rc and no crash input (log: $log)" >>"$WORKDIR/events"
				sleep 5
				continue
			fi
			sleep 1
		fi
		rm -f "$tw/logs/w$id.run$((run - 1)).log"
	done
}

worker_afl() {	# TARGET ID END ROLE
	local t=$1 id=$2 end=$3 role=$4 bin="$AFL_BUILD/fuzzers/$1" tw="$WORKDIR/$1"
	local args=(-i "$tw/afl-in" -o "$tw/afl" -t 30000) dict="$AFL_BUILD/fuzzers/$1.dict" left=""
	[ -f "$dict" ] && args+=(-x "$dict")
	if [ "$end" != 0 ]; then
		left=$((end - $(date +%s)))
		[ "$left" -gt 0 ] || return 0
		args+=(-V "$left")
	fi
	case $role in
	main) args+=(-M main) ;;
	main-cmplog) args+=(-M main -c "$AFL_CMPLOG_BUILD/fuzzers/$t") ;;
	cmplog) args+=(-S "cmplog$id" -c "$AFL_CMPLOG_BUILD/fuzzers/$t") ;;
	*) args+=(-S "s$id") ;;
	esac
	# the target's structure-aware mutator (fuzzers/afl_mutator.c), when it
	# has one, runs before AFL++'s own havoc stage (AFL_CUSTOM_MUTATOR_ONLY unset)
	unset AFL_CUSTOM_MUTATOR_ONLY
	[ -f "$AFL_BUILD/fuzzers/${t}_mutator.so" ] &&
		export AFL_CUSTOM_MUTATOR_LIBRARY="$AFL_BUILD/fuzzers/${t}_mutator.so"
	AFL_NO_UI=1 AFL_AUTORESUME=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
		AFL_NO_AFFINITY=1 AFL_IMPORT_FIRST=1 MMF_FUZZ_IGNORE="$tw/ignore" \
		afl-fuzz "${args[@]}" -- "$bin" </dev/null >"$tw/logs/afl$id.log" 2>&1
}

worker_minimize() { minimize_late "$@"; }	# TARGET DIR

# worker_explore TARGET ID END: the schedule search (sched_replay --explore,
# fuzzers/sched_explore.c) over the sched seeds and regressions, then over
# the smallest inputs of the fuzzer's own growing corpus (the program shapes
# it found; their schedule bytes are ignored), in rounds of growing run
# budgets; each find is filed as a crash of TARGET (sched_fuzzer), whose
# input's schedule bytes replay it.
worker_explore() {
	local t=$1 end=$3 tw="$WORKDIR/$1" drv=$LF_BUILD/fuzzers/sched_replay runs f a left out fmt
	[ -x "$drv" ] || return 0
	out="$tw/explore"
	mkdir -p "$out"
	for runs in 300 3000 30000 300000; do
		for f in "$ROOT"/corpus/sched/*.mmf "$ROOT"/corpus/regressions-sched/*.mmf \
			$(ls -Sr "$tw/corpus" 2>/dev/null | head -$((60000 / runs + 10)) | sed "s|^|$tw/corpus/|"); do
			[ -f "$WORKDIR/stop" ] && return 0
			[ -f "$f" ] || continue
			left=86400
			[ "$end" = 0 ] || left=$((end - $(date +%s)))
			[ "$left" -gt 0 ] || return 0
			rm -f "$out"/explore-*
			fmt=--text; case $f in *.mmf) ;; *) fmt=--binary ;; esac
			timeout "$left" nice -n 5 "$drv" --explore --budget "$runs" --out "$out" "$fmt" "$f" \
				</dev/null >"$out/log" 2>&1
			for a in "$out"/explore-*; do
				[ -f "$a" ] || continue
				case $a in
				*.abort) cp "$a" "$tw/raw/explore-input" ;;
				*) "$LF_BUILD/tools/mmfuzz" asm --concurrent "$a" -o "$tw/raw/explore-input" \
					>/dev/null 2>&1 || continue
				   grep -m1 -o 'mmfuzz: [^ ]*' "$out/log" >>"$out/log" ;;
				esac
				triage "$t" "$tw/raw/explore-input" "$out/log"
			done
		done
	done
}

if [ "${1:-}" = "--_worker" ]; then
	shift
	eval "$(cat "$1")"	# the campaign's settings
	shift
	trap 'exit 0' TERM
	"worker_$1" "${@:2}"
	exit 0
fi

# ---- arguments ----------------------------------------------------------------

# every option takes its value as --opt V or --opt=V; a missing value (the
# end of the line, or the next option) is an error, not the next option
while [ $# -gt 0 ]; do
	opt=$1 val=""
	case $opt in
	--no-setup) SETUP=0; shift; continue ;;
	--stop-on-crash) STOP_ON_CRASH=1; shift; continue ;;
	--dry-run) DRY_RUN=1; shift; continue ;;
	-h | --help) usage; exit 0 ;;
	--*=*) val=${opt#*=} opt=${opt%%=*}; shift ;;
	--duration | --jobs | --engine | --workdir | --targets | --interval | --minimize | --merge-above | --zoo)
		[ $# -ge 2 ] && [[ $2 != --* ]] || die_usage "$opt needs a value (--help)"
		val=$2; shift 2 ;;
	*) die_usage "unknown option '$opt' (--help)" ;;
	esac
	case $opt in
	--duration) DURATION=$(parse_duration "$opt" "$val") || exit 2 ;;
	--jobs) JOBS=$(whole_number "$opt" "$val" 1) || exit 2 ;;
	--engine) ENGINE=$val ;;
	--workdir) [ -n "$val" ] || die_usage "--workdir needs a directory"; WORKDIR=$val ;;
	--targets) TARGETS=$val ;;
	--interval) INTERVAL=$(whole_number "$opt" "$val" 1) || exit 2 ;;
	--minimize) MINIMIZE_TIME=$(parse_duration "$opt" "$val") || exit 2 ;;
	--merge-above) MERGE_ABOVE=$(whole_number "$opt" "$val" 0) || exit 2 ;;
	--zoo) ZOO=$val ;;
	*) die_usage "unknown option '$opt' (--help)" ;;
	esac
done
case $ENGINE in libfuzzer | afl) ;; *) die_usage "--engine '$ENGINE': libfuzzer or afl" ;; esac
if [ -n "$ZOO" ]; then
	[ "$ENGINE" = libfuzzer ] || die_usage "--zoo runs under libFuzzer only"
	grep -rqE "MMF_ZOO_$ZOO\b" "$ROOT/core" ||
		die_usage "--zoo '$ZOO': no such bug (one of: $(grep -rhoE 'MMF_ZOO_[A-Z_]+' "$ROOT/core" | sed 's/MMF_ZOO_//' | sort -u | paste -sd' '))"
fi
for t in ${TARGETS//,/ }; do
	[ -f "$ROOT/fuzzers/$t.c" ] ||
		die_usage "--targets: no fuzz target '$t' (one of: $(cd "$ROOT/fuzzers" && ls *_fuzzer.c | sed 's/\.c$//' | paste -sd' '))"
done
if [ "$DRY_RUN" = 1 ]; then
	echo "campaign: engine $ENGINE, jobs $JOBS, duration ${DURATION}s, interval ${INTERVAL}s, minimize ${MINIMIZE_TIME}s, merge above $MERGE_ABOVE, targets ${TARGETS:-all}, workdir $WORKDIR${ZOO:+, zoo bug $ZOO}"
	for f in "$ROOT"/fuzzers/*_fuzzer.c; do
		t=$(basename "$f" .c)
		wanted "$t" && echo "campaign: $t libFuzzer flags (fuzzers/$t.options):" $(libfuzzer_options "$ROOT/fuzzers/$t")
	done
	exit 0
fi
mkdir -p "$WORKDIR" && WORKDIR=$(cd "$WORKDIR" && pwd)

# ---- setup and build ------------------------------------------------------------

cd "$ROOT"
if [ "$SETUP" = 1 ]; then
	scripts/setup.sh </dev/null || { echo "campaign: setup failed" >&2; exit 1; }
fi
# a zoo campaign builds beside the normal trees, in one pair of trees that
# is reconfigured per bug (the bug's define reaches core/ only, so a change
# of bug recompiles core/ and relinks); tools/mmfuzz finds race_replay in
# ../libfuzzer-tsan, the tree of the same bug
BUILDS="$ROOT/build"
[ -z "$ZOO" ] || BUILDS="$ROOT/build/zoo-campaign"
LF_BUILD="$BUILDS/libfuzzer"
TSAN_BUILD="$BUILDS/libfuzzer-tsan"
AFL_BUILD="$ROOT/build/afl"
AFL_CMPLOG_BUILD="$ROOT/build/afl-cmplog"

# Long steps run in their own process group (run_group), so that a signal
# stops them at once: bash runs a trap only when its foreground child ends.
GROUP=""
run_group() {	# LOG WHAT CMD...: CMD >>LOG, "WHAT: [n/m]" (ninja's count) every 30 s
	local log=$1 what=$2 n=0 rc
	shift 2
	setsid "$@" </dev/null >>"$log" 2>&1 &
	GROUP=$!
	while kill -0 "$GROUP" 2>/dev/null; do
		sleep 1
		n=$((n + 1))
		# ninja's count from a log file; never from /dev/stdout (the late
		# minimization's log): grep would open its own stdout, the pipe to
		# tail, and wait on it forever (a campaign hung after a minute of it)
		((n % 30)) || echo "campaign: $what: ${n}s $([ "$log" = /dev/stdout ] ||
			grep -o '^\[[0-9]*/[0-9]*\]' "$log" 2>/dev/null | tail -1)"
	done
	wait "$GROUP"
	rc=$?
	GROUP=""
	return $rc
}
stop_group() {	# a signal before the fuzzing starts
	[ -n "$GROUP" ] && kill -TERM -- "-$GROUP" 2>/dev/null
	echo "campaign: stopped before fuzzing started" >&2
	exit 130
}
trap stop_group INT TERM HUP

build() {	# PRESET WHAT ENV...: the preset's build, said before it starts
	local p=$1 log="$WORKDIR/build-$1.log" dir=$BUILDS/$1
	shift
	[ -f "$dir/build.ninja" ] || echo "campaign: first build of ${dir#"$ROOT"/}: a few minutes"
	echo "campaign: building ${dir#"$ROOT"/} ($1${ZOO:+, zoo bug $ZOO}; log: $log)"
	: >"$log"
	if [ -n "$ZOO" ]; then
		run_group "$log" "building $dir" cmake --preset "$p" -B "$dir" -DMMF_ZOO="$ZOO" &&
			run_group "$log" "building $dir" cmake --build "$dir"
	elif [ "$p" = afl-cmplog ]; then
		run_group "$log" "building $dir" env AFL_LLVM_CMPLOG=1 cmake -S "$ROOT" -B "$AFL_CMPLOG_BUILD" -G Ninja \
			-DCMAKE_C_COMPILER=afl-clang-fast -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMF_FUZZ_ENGINE=afl &&
			run_group "$log" "building $dir" env AFL_LLVM_CMPLOG=1 cmake --build "$AFL_CMPLOG_BUILD"
	else
		run_group "$log" "building $dir" cmake --preset "$p" &&
			run_group "$log" "building $dir" cmake --build --preset "$p"
	fi || { tail -30 "$log" >&2; echo "campaign: build of $dir failed (see $log)" >&2; exit 1; }
}
build libfuzzer "libFuzzer + ASan + UBSan: the fuzz targets, their replay drivers, tools/mmfuzz"
if [ "$ENGINE" = libfuzzer ] && wanted race_fuzzer && [ -f "$ROOT/fuzzers/race_fuzzer.c" ]; then
	build libfuzzer-tsan "libFuzzer + TSan: race_fuzzer, race_replay"
fi
if [ "$ENGINE" = afl ]; then
	build afl "AFL++ persistent mode: the fuzz targets and their custom mutators"
	build afl-cmplog "AFL++ CmpLog variant, for the instance run with -c"
fi

all_targets=()
for f in "$ROOT"/fuzzers/*_fuzzer.c; do
	[ -f "$f" ] && all_targets+=("$(basename "$f" .c)")
done
targets=()
for t in "${all_targets[@]}"; do
	if wanted "$t"; then
		if [ "$ENGINE" = afl ] && [ "$t" = race_fuzzer ]; then
			echo "campaign: race_fuzzer runs under libFuzzer+TSan only; skipped with --engine afl" >&2
		elif [ -x "$(target_build "$t")/fuzzers/$t" ]; then
			targets+=("$t")
		else
			echo "campaign: $t was not built (prog/ or reference/ missing?); skipped" >&2
		fi
	fi
done
[ ${#targets[@]} -gt 0 ] || { echo "campaign: no fuzz target to run" >&2; exit 1; }
if [ "$JOBS" -lt ${#targets[@]} ]; then
	echo "campaign: $JOBS jobs for ${#targets[@]} targets: running ${#targets[@]}, one each" >&2
	JOBS=${#targets[@]}
fi

# ---- statistics ------------------------------------------------------------------

declare -A last_execs last_time execs0 corpus0
fmt_num() { awk -v n="$1" 'BEGIN { if (n >= 1e9) printf "%.2fG", n/1e9; else if (n >= 1e6) printf "%.2fM", n/1e6; else if (n >= 1e4) printf "%.1fk", n/1e3; else printf "%d", n }'; }

# stats TARGET: "execs cov ft corpus crashes_unique crashes_total rate";
# cov ft: libFuzzer's edges and features, or AFL++'s map % and edges; rate:
# AFL++'s exec/s over its last minute ("-" before its first plot_data line,
# which it writes a minute in and every minute), "" under libFuzzer
stats() {
	local t=$1 tw="$WORKDIR/$1" execs cov ft corpus uniq total rate=""
	if [ "$ENGINE" = libfuzzer ]; then
		execs=$(cat "$tw"/stats/* 2>/dev/null | awk '{ s += $2 } END { print s + 0 }')
		read -r cov ft < <(cat "$tw"/logs/*.log 2>/dev/null |
			awk '/ cov: / { for (i = 1; i <= NF; i++) { if ($i == "cov:" && $(i+1) > c) c = $(i+1); if ($i == "ft:" && $(i+1) > f) f = $(i+1) } }
			     END { print c + 0, f + 0 }')
		corpus=$(find "$tw/corpus" -type f | wc -l)
	else
		# plot_data is rewritten every few seconds (fuzzer_stats only every minute)
		# relative_time (1), ..., map_size (7), ..., total_execs (12), edges_found (13);
		# AFL++ appends a line a minute: the rate is each instance's over its last minute
		read -r execs cov ft rate < <(for f in "$tw"/afl/*/plot_data; do [ -f "$f" ] && tail -n 2 "$f" && echo "#end"; done |
			awk -F', *' '
			/^#end/ { if (have) { n++; e += l12; r += (l1 > p1 ? (l12 - p12) / (l1 - p1) : 0) }
				  have = 0; p1 = p12 = 0; next }
			$1 !~ /^#/ { if (have) { p1 = l1; p12 = l12 } l1 = $1; l12 = $12; have = 1
				     if ($7 + 0 > c + 0) c = $7; if ($13 > f) f = $13 }
			END { print e + 0, (c == "" ? "0%" : c), f + 0, (n ? int(r) : "-") }')
		corpus=$(find "$tw"/afl/*/queue -maxdepth 1 -type f -name 'id:*' 2>/dev/null | wc -l)
	fi
	uniq=$(find "$tw/crashes" -mindepth 1 -maxdepth 1 -type d | wc -l)
	total=$(cat "$tw"/crashes/*/count 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
	echo "$execs $cov $ft $corpus $uniq $total $rate"
}

# ---- start ----------------------------------------------------------------------

rm -f "$WORKDIR/stop" "$WORKDIR/events"
touch "$WORKDIR/events"
SETTINGS="$WORKDIR/.settings"
declare -p WORKDIR ROOT LF_BUILD TSAN_BUILD AFL_BUILD AFL_CMPLOG_BUILD MINIMIZE_TIME >"$SETTINGS"

for t in "${targets[@]}"; do
	tw="$WORKDIR/$t"
	mkdir -p "$tw/corpus" "$tw/crashes" "$tw/logs" "$tw/raw" "$tw/stats"
	rm -f "$tw"/stats/* "$tw"/logs/*.log
	# a big resumed corpus is first reduced to the inputs that add coverage
	n=$(find "$tw/corpus" -type f | wc -l)
	if [ "$ENGINE" = libfuzzer ] && [ "$n" -gt "$MERGE_ABOVE" ]; then
		echo "campaign: [$t] reducing the corpus ($n inputs; libFuzzer -merge=1)"
		rm -rf "$tw/corpus.merge" && mkdir "$tw/corpus.merge"
		: >"$tw/logs/merge.log"
		if run_group "$tw/logs/merge.log" "[$t] reducing the corpus" env MMF_FUZZ_IGNORE="$tw/ignore" \
			timeout 1200 "$(target_build "$t")/fuzzers/$t" -merge=1 -timeout=60 \
			"$tw/corpus.merge" "$tw/corpus" &&
			[ -n "$(ls -A "$tw/corpus.merge")" ]; then
			rm -rf "$tw/corpus" && mv "$tw/corpus.merge" "$tw/corpus"
			echo "campaign: [$t] corpus: $n -> $(find "$tw/corpus" -type f | wc -l) inputs"
		else
			rm -rf "$tw/corpus.merge"
			echo "campaign: [$t] corpus reduction failed (see $tw/logs/merge.log); keeping all $n"
		fi
	fi
	if [ "$ENGINE" = afl ]; then
		mkdir -p "$tw/afl-in"
		for d in $(seed_dirs "$t") "$tw/corpus"; do cp -n "$d"/* "$tw/afl-in/" 2>/dev/null; done
		[ -n "$(ls -A "$tw/afl-in")" ] || printf '\0' >"$tw/afl-in/empty"
	fi
	regression_seeds "$t" "$tw/seeds-regressions"
	# crashes filed by an earlier campaign: still there?  (then they stay
	# ignored by the workers; if not, they move to fixed/)
	: >"$tw/ignore"
	for d in "$tw"/crashes/*/; do
		[ -f "$d/input" ] || continue
		d=${d%/}
		if replays_clean "$t" "$d/input"; then
			mkdir -p "$tw/fixed"
			mv "$d" "$tw/fixed/$(basename "$d").$(date -u +%Y%m%d-%H%M)"
			echo "campaign: [$t] no longer reproduces (fixed?): $(cat "$tw/fixed/$(basename "$d")".*/signature | tail -1)"
		else
			case $(cat "$d/signature") in diff:* | invariant:* | error:*) cat "$d/signature" >>"$tw/ignore" ;; esac
		fi
	done
	read -r execs0[$t] _ _ corpus0[$t] _ _ <<<"$(stats "$t")"
	[ "$ENGINE" = afl ] || execs0[$t]=0
done

pgids=()
descendants() {	# PID...: every process below them
	local p c
	for p in "$@"; do
		for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
			echo "$c"
			descendants "$c"
		done
	done
}

stop_workers() {
	touch "$WORKDIR/stop"
	local p stray
	# AFL++ forkservers call setsid(): not in our process groups, so note them now
	stray=$(descendants "${pgids[@]}")
	for p in "${pgids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
	# 10 s for all of them to exit (libFuzzer and afl-fuzz exit on TERM at
	# once), then KILL what is left
	local alive
	for _ in $(seq 20); do
		alive=0
		for p in "${pgids[@]}"; do kill -0 -- "-$p" 2>/dev/null && alive=1; done
		[ $alive = 1 ] || break
		sleep 0.5
	done
	for p in "${pgids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
	for p in $stray; do kill -KILL "$p" 2>/dev/null; done
}

# from here on a signal stops the fuzzing: the workers are stopped, the
# summary written
STOPPING=0
trap 'STOPPING=1' INT TERM HUP

# crash_dirs: every crash directory, oldest first
crash_dirs() {
	find "$WORKDIR" -mindepth 3 -maxdepth 3 -path '*/crashes/*' -type d -printf '%T@ %p\n' 2>/dev/null |
		sort -n | cut -d' ' -f2-
}
crash_dirs >"$WORKDIR/.crashes0"
rm -f "$WORKDIR/first-crash"
FIRST="" FIRST_AT=0

# first_crash_filed: --stop-on-crash's test, true once the campaign's first
# new crash is filed (its triage done: minimized, and a race replayed and
# scheduled); writes WORKDIR/first-crash
first_crash_filed() {
	if [ -z "$FIRST" ]; then
		FIRST=$(crash_dirs | grep -vxF -f "$WORKDIR/.crashes0" | head -1)
		[ -n "$FIRST" ] || return 1
		FIRST_AT=$(($(date +%s) - START))
	fi
	[ -f "$FIRST/triaged" ] || return 1
	echo "$FIRST_AT $(basename "$(dirname "$(dirname "$FIRST")")") $(cat "$FIRST/signature") $FIRST" \
		>"$WORKDIR/first-crash"
}

# the clock starts now, after the set-up above (corpus reduction, re-checks)
START=$(date +%s)
END=0
[ "$DURATION" -gt 0 ] && END=$((START + DURATION))
echo "campaign: engine $ENGINE, $JOBS jobs, targets: ${targets[*]}, duration $([ "$DURATION" = 0 ] && echo "until stopped" || echo "${DURATION}s"), workdir $WORKDIR"
for ((j = 0; j < JOBS; j++)); do
	t=${targets[$((j % ${#targets[@]}))]}
	if [ "$ENGINE" = libfuzzer ]; then
		setsid "$SELF" --_worker "$SETTINGS" libfuzzer "$t" "$j" "$END" </dev/null &
	else
		# per target: instance 0 is -M, 1 runs the CmpLog build (-c), the
		# rest are -S; a target's only instance is -M with -c
		k=$((j / ${#targets[@]})) n=$(((JOBS - j % ${#targets[@]} + ${#targets[@]} - 1) / ${#targets[@]}))
		case $k in
		0) role=main; [ "$n" = 1 ] && role=main-cmplog ;;
		1) role=cmplog ;;
		*) role=secondary ;;
		esac
		setsid "$SELF" --_worker "$SETTINGS" afl "$t" "$j" "$END" "$role" </dev/null &
	fi
	pgids+=($!)
done
# the schedule search beside sched_fuzzer's workers (one more process)
if [ "$ENGINE" = libfuzzer ] && printf '%s\n' "${targets[@]}" | grep -qx sched_fuzzer; then
	setsid "$SELF" --_worker "$SETTINGS" explore sched_fuzzer "$JOBS" "$END" </dev/null &
	pgids+=($!)
fi

# ---- progress -------------------------------------------------------------------

# AFL++ saves crashes in its own dirs: triage new ones with the libFuzzer (ASan) build
afl_triage() {
	local t=$1 tw="$WORKDIR/$1" c seen="$WORKDIR/$1/afl-triaged"
	touch "$seen"
	for c in "$tw"/afl/*/crashes/id:* "$tw"/afl/*/hangs/id:*; do
		[ -f "$c" ] || continue
		grep -qxF "$c" "$seen" && continue
		echo "$c" >>"$seen"
		cp "$c" "$tw/raw/afl-input"
		# a wall-clock limit far above the target's own CPU-time hang watchdog
		timeout 300 "$LF_BUILD/fuzzers/$t" -timeout=240 "$tw/raw/afl-input" </dev/null >"$tw/raw/afl-log" 2>&1
		case $c in */hangs/*) grep -q 'ERROR: libFuzzer' "$tw/raw/afl-log" || echo "ALARM: working on the last Unit (afl hang)" >>"$tw/raw/afl-log" ;; esac
		triage "$t" "$tw/raw/afl-input" "$tw/raw/afl-log"
	done
}

# coverage COV FT: what the engine's two figures are
coverage() {
	if [ "$ENGINE" = afl ]; then echo "map $1 edges $2"; else echo "cov $1 edges ft $2"; fi
}

progress() {
	local now el t s execs cov ft corpus uniq total rate
	now=$(date +%s)
	el=$((now - START))
	for t in "${targets[@]}"; do
		s=$(stats "$t")
		read -r execs cov ft corpus uniq total rate <<<"$s"
		execs=$((execs - ${execs0[$t]:-0}))
		if [ "$rate" = - ]; then
			# AFL++ (4.04c) writes plot_data and fuzzer_stats once a minute
			printf '[%02d:%02d:%02d] %s: no exec count before AFL++ writes its first stats (a minute in), corpus %s (+%s), crashes %s unique / %s\n' \
				$((el / 3600)) $((el / 60 % 60)) $((el % 60)) "$t" \
				"$corpus" $((corpus - ${corpus0[$t]})) "$uniq" "$total"
			continue
		fi
		if [ -z "$rate" ]; then
			rate=$(fmt_num $(((execs - ${last_execs[$t]:-0}) / (now - ${last_time[$t]:-$START} > 0 ? now - ${last_time[$t]:-$START} : 1))))
		else
			rate=$(fmt_num "$rate")
		fi
		last_execs[$t]=$execs last_time[$t]=$now
		printf '[%02d:%02d:%02d] %s: %s exec/s (avg %s), %s execs, %s, corpus %s (+%s), crashes %s unique / %s\n' \
			$((el / 3600)) $((el / 60 % 60)) $((el % 60)) "$t" "$rate" \
			"$(fmt_num $((execs / (el > 0 ? el : 1))))" "$(fmt_num "$execs")" "$(coverage "$cov" "$ft")" \
			"$corpus" $((corpus - ${corpus0[$t]})) "$uniq" "$total"
	done
	# new crash events since the last line
	if [ -s "$WORKDIR/events" ]; then
		sed 's/^/    /' "$WORKDIR/events"
		: >"$WORKDIR/events"
	fi
}

while [ $STOPPING = 0 ]; do
	for ((i = 0; i < INTERVAL && STOPPING == 0; i++)); do sleep 1; done
	[ "$ENGINE" = afl ] && for t in "${targets[@]}"; do afl_triage "$t"; done
	progress
	[ "$END" != 0 ] && [ "$(date +%s)" -ge "$END" ] && break
	[ "$STOP_ON_CRASH" = 1 ] && first_crash_filed && break
	alive=0
	for p in "${pgids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 1 ] || break
done
trap '' INT TERM HUP
echo "campaign: stopping"
stop_workers
wait 2>/dev/null
[ "$ENGINE" = afl ] && for t in "${targets[@]}"; do afl_triage "$t"; done
# the late minimization takes up to --minimize seconds a crash: not after a
# signal, and a signal during it stops it at once (the crash stays
# minimize-pending, its input kept)
if [ "$STOPPING" = 1 ]; then
	ls "$WORKDIR"/*/crashes/*/minimize-pending >/dev/null 2>&1 &&
		echo "campaign: stopped by a signal: minimization skipped (crash inputs kept)"
elif [ "$MINIMIZE_TIME" -gt 0 ]; then
	trap 'STOPPING=1; [ -n "$GROUP" ] && kill -TERM -- "-$GROUP" 2>/dev/null' INT TERM HUP
	for t in "${targets[@]}"; do
		for d in "$WORKDIR/$t"/crashes/*/; do
			[ "$STOPPING" = 0 ] && [ -f "$d/minimize-pending" ] &&
				run_group /dev/stdout "minimizing" "$SELF" --_worker "$SETTINGS" minimize "$t" "${d%/}"
		done
	done
	[ "$STOPPING" = 1 ] && echo "campaign: minimization stopped by a signal"
	trap '' INT TERM HUP
fi

# ---- summary --------------------------------------------------------------------

{
	el=$(($(date +%s) - START))
	echo "==== mmfuzz campaign summary ($(date -u '+%Y-%m-%d %H:%M UTC'), engine $ENGINE, $JOBS jobs, ${el}s) ===="
	for t in "${targets[@]}"; do
		read -r execs cov ft corpus uniq total _ <<<"$(stats "$t")"
		execs=$((execs - ${execs0[$t]:-0}))
		echo "$t: $(fmt_num "$execs") execs, $(fmt_num $((execs / (el > 0 ? el : 1)))) exec/s, $(coverage "$cov" "$ft"), corpus $corpus (+$((corpus - ${corpus0[$t]})) this run), $uniq unique crashes ($total in all)"
		for d in "$WORKDIR/$t"/crashes/*/; do
			[ -d "$d" ] || continue
			echo "  crash: mmfuzz: $(cat "$d/signature")  x$(cat "$d/count")  ${d%/}"
			[ -f "$d/replays" ] &&
				echo "    replays: $(cat "$d/replays") runs of race_replay --repeat $(cat "$d/repeat" 2>/dev/null || echo 1)"
			[ -f "$d/sched/explore-input.mmf" ] &&
				echo "    deterministic schedule: ${d}sched/explore-input.mmf (mmfuzz: $(cat "$d/sched/signature"))"
			if [ -f "$d/program.mmf" ]; then
				sed -n '1,25s/^/      /p' "$d/program.mmf"
			fi
		done
	done
	echo "corpus and crashes: $WORKDIR (a new campaign on it resumes)"
} | tee "$WORKDIR/summary.txt"
exit 0
