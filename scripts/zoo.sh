#!/usr/bin/env bash
# The bug zoo (zoo/README.md): build the core with each injected bug and run
# the schedule search of sched_fuzzer's target (sched_replay --explore) over
# the sched seeds and regressions for a budget; print one line per bug:
#   bug  time-to-find  target  signature  replays (N/M)
# A find is replayed M times from the file the search saved (its schedule
# bytes; an aborting run's bytes are in *.abort).
# With --campaign, the whole campaign instead (scripts/campaign.sh --zoo BUG
# --stop-on-crash: the four fuzz targets and the schedule search, 2 jobs),
# until its first crash or the budget; the crash is replayed M times through
# `mmfuzz repro` of the campaign's build (a race_fuzzer find: 10 TSan
# replays, with the repeat count and delay injection the campaign filed, and
# the deterministic schedule the campaign filed beside it).
#   scripts/zoo.sh [--campaign] [--budget SECONDS] [--replays M] [BUG...]
#   (default: every bug, 300 s)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=300 replays=3 bugs=() campaign=0
while [ $# -gt 0 ]; do
	case $1 in
	--budget) budget=$2; shift 2 ;;
	--replays) replays=$2; shift 2 ;;
	--campaign) campaign=1; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "zoo: unknown option $1" >&2; exit 2 ;;
	*) bugs+=("$1"); shift ;;
	esac
done
all=$(grep -rhoE 'MMF_ZOO_[A-Z_]+' core | sed 's/MMF_ZOO_//' | sort -u)
[ ${#bugs[@]} -gt 0 ] || mapfile -t bugs <<<"$all"
for b in "${bugs[@]}"; do
	grep -qx "$b" <<<"$all" || { echo "zoo: no bug $b (known: $(echo $all))" >&2; exit 2; }
done

# crash:KIND:FN from a sanitizer report, else the mmfuzz: line
signature() {
	local s
	s=$(grep -m1 -oE 'SUMMARY: [A-Za-z]+Sanitizer: [a-z-]+ [^ ]+ in [A-Za-z0-9_]+' "$1" |
		awk '{ print "crash:" $3 ":" $NF }') || true
	[ -n "$s" ] || s=$(grep -m1 -oE 'mmfuzz: [^ ]+' "$1" | sed 's/mmfuzz: //') || true
	[ -n "$s" ] || s=$(grep -m1 -oE 'mmf_sync_bug: [a-z]+' "$1" |
		sed -E 's/mmf_sync_bug: (deadlock|livelock)$/sched:\1/; s/mmf_sync_bug: /sync:/') || true
	echo "${s:-unknown}"
}

seeds=$(for f in corpus/sched/*.mmf corpus/regressions-sched/*.mmf; do
	echo "$(grep -cv '^[[:space:]]*\(#\|$\)' "$f") $f"
done | sort -n -k1,1 -s | cut -d' ' -f2)

# repro_count MMFUZZ TARGET INPUT SIG: how many of $replays runs of
# `mmfuzz repro` reproduce SIG ("N/M")
repro_count() {
	local mmfuzz=$1 t=$2 input=$3 sig=$4 n=0 i log
	log=$(mktemp)
	for i in $(seq "$replays"); do
		"$mmfuzz" repro --quiet --target "$t" "$input" </dev/null >"$log" 2>&1 || true
		[ "$(signature "$log")" = "$sig" ] && n=$((n + 1))
	done
	rm -f "$log"
	echo "$n/$replays"
}

# zoo_campaign BUG: one row, from a campaign on the core with BUG
zoo_campaign() {
	local bug=$1 work=build/zoo-campaign/work/$1 mmfuzz=build/zoo-campaign/libfuzzer/tools/mmfuzz
	local secs t sig dir rest rep sched
	rm -rf "$work" && mkdir -p "$(dirname "$work")"
	if ! scripts/campaign.sh --no-setup --zoo "$bug" --duration "$budget" --stop-on-crash \
		--interval 1 --minimize 0 --workdir "$work" </dev/null >"$work.log" 2>&1 ||
		[ ! -f "$work/.settings" ]; then
		printf '%-24s %s\n' "$bug" "CAMPAIGN FAILED (see $work.log)"
		return
	fi
	if [ ! -f "$work/first-crash" ]; then
		printf '%-24s %-8s %-16s %-44s %s\n' "$bug" "no(${budget}s)" - - -
		return
	fi
	read -r secs t sig dir <"$work/first-crash"
	if [ "$t" = race_fuzzer ]; then
		# TSan on real threads: mmfuzz repro says "reproduced N/M" itself;
		# 10 runs (issue 13: 9 of 10), each with the campaign's repeat
		# count and delay injection (CRASHDIR/repeat, CRASHDIR/jitter)
		rest=$("$mmfuzz" repro --target race_fuzzer --repeat 10 "$dir/input" </dev/null 2>&1 |
			grep -o 'reproduced [0-9]*/[0-9]*' | sed 's/reproduced //') || true
		rep="${rest:-0/10} tsan"
		[ ! -f "$dir/jitter" ] || rep="$rep (x$(cat "$dir/repeat"), jitter $(cat "$dir/jitter"))"
		sched=$dir/sched/explore-input.mmf
		if [ -f "$sched" ]; then
			rep="$rep, schedule $(repro_count "$mmfuzz" sched_fuzzer "$sched" "$(cat "$dir/sched/signature")") $(cat "$dir/sched/signature")"
		else
			rep="$rep, no schedule"
		fi
	else
		rep=$(repro_count "$mmfuzz" "$t" "$dir/input" "$sig")
	fi
	printf '%-24s %-8s %-16s %-44s %s\n' "$bug" "${secs}s" "$t" "$sig" "$rep"
}

printf '%-24s %-8s %-16s %-44s %s\n' bug found target signature replays
for bug in "${bugs[@]}"; do
	if [ "$campaign" = 1 ]; then
		zoo_campaign "$bug"
		continue
	fi
	dir=build/zoo/$bug out=build/zoo/$bug/finds
	if ! { cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=Debug \
		-DMMF_SANITIZE='address;undefined' -DMMF_ZOO="$bug" >/dev/null &&
	       nice -n 10 cmake --build "$dir" --target sched_replay >/dev/null; }; then
		printf '%-24s %s\n' "$bug" "BUILD FAILED"
		continue
	fi
	rm -rf "$out"; mkdir -p "$out"
	start=$(date +%s.%N)
	# one file at a time, so that the first find stops the search; rounds
	# of growing run budgets, so that every seed gets its small schedules
	# first, and in each round the programs of fewest ops first (cheapest
	# runs, and the ones whose systematic search ends soonest)
	found=""
	for runs in 300 3000 30000 300000; do
		for f in $seeds; do
			left=$(awk -v s="$start" -v b="$budget" -v n="$(date +%s.%N)" \
				'BEGIN { l = b - (n - s); print (l > 0 ? int(l) + 1 : 0) }')
			[ "$left" -gt 0 ] || break 2
			timeout "$left" nice -n 10 "$dir/fuzzers/sched_replay" --explore --budget "$runs" \
				--out "$out" "$f" >"$out/log" 2>&1 || true
			found=$(ls "$out"/explore-* 2>/dev/null | head -1) || true
			[ -z "$found" ] || break 2
		done
	done
	if [ -z "$found" ]; then
		printf '%-24s %-8s %-16s %-44s %s\n' "$bug" "no(${budget}s)" sched_explore - -
		continue
	fi
	t=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.0fs", n - s }')
	fmt=--text; case $found in *.abort) fmt=--binary ;; esac
	sig="" ok=0
	for i in $(seq "$replays"); do
		"$dir/fuzzers/sched_replay" "$fmt" "$found" >"$out/replay.$i" 2>&1 || true
		s=$(signature "$out/replay.$i")
		[ -n "$sig" ] || sig=$s
		grep -q ' 1 failed\|Sanitizer\|mmf_sync_bug' "$out/replay.$i" && [ "$s" = "$sig" ] && ok=$((ok + 1))
	done
	printf '%-24s %-8s %-16s %-44s %s\n' "$bug" "$t" sched_explore "$sig" "$ok/$replays ($(basename "$found"))"
done
