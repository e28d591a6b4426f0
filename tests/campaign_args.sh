#!/usr/bin/env bash
# tests/campaign_args.sh - scripts/campaign.sh refuses every bad option value
# with a clear message and exit status 2, and reads the duration forms it
# documents; nothing is set up or built (bad options stop it first, and
# --dry-run stops after the options).  Prints "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAMPAIGN="$ROOT/scripts/campaign.sh"
pass=0 fail=0

# refuses MESSAGE ARGS...: exit status 2 and MESSAGE (a grep -E pattern) on stderr
refuses() {
	local want=$1 out rc
	shift
	out=$(timeout 20 bash "$CAMPAIGN" "$@" 2>&1 >/dev/null </dev/null)
	rc=$?
	if [ $rc = 2 ] && grep -qE -- "$want" <<<"$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: campaign.sh $* -> exit $rc, '$out' (wanted exit 2 and /$want/)"
	fi
}

# reads SETTING ARGS...: --dry-run prints SETTING (a fixed string), exit 0
reads() {
	local want=$1 out rc
	shift
	out=$(timeout 20 bash "$CAMPAIGN" --dry-run "$@" 2>&1 </dev/null)
	rc=$?
	if [ $rc = 0 ] && grep -qF -- "$want" <<<"$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: campaign.sh --dry-run $* -> exit $rc, '$out' (wanted '$want')"
	fi
}

refuses "--duration 'banana': a duration is" --duration banana
refuses "--duration '1.5h': a duration is" --duration 1.5h
refuses "--duration '-5': a duration is" --duration -5
refuses "--duration '10x'" --duration=10x
refuses "--duration '': a duration is" --duration=
refuses "--duration needs a value" --duration
refuses "--duration needs a value" --duration --jobs 2
refuses "--interval '0': a whole number >= 1" --interval 0
refuses "--interval 'x': a whole number >= 1" --interval=x
refuses "--minimize 'banana': a duration is" --minimize banana
refuses "--jobs '0': a whole number >= 1" --jobs 0
refuses "--jobs 'two'" --jobs two
refuses "--merge-above '-1'" --merge-above -1
refuses "--engine 'honggfuzz': libfuzzer or afl" --engine honggfuzz
refuses "--targets: no fuzz target 'nope_fuzzer'" --targets diff_fuzzer,nope_fuzzer
refuses "--workdir needs a directory" --workdir=
refuses "unknown option '--bogus'" --bogus
refuses "unknown option 'stray'" stray

reads "duration 600s" --duration 600
reads "duration 90s" --duration 90s
reads "duration 600s" --duration 10m
reads "duration 7200s" --duration=2h
reads "duration 5400s" --duration 1h30m
reads "duration 0s" --duration 0
reads "interval 2s" --interval 2
reads "minimize 0s" --minimize 0
reads "minimize 120s" --minimize 2m
reads "jobs 3" --jobs 3
reads "engine afl" --engine afl
reads "targets sched_fuzzer" --targets sched_fuzzer

# every fuzzers/*.options gives libFuzzer only -key=value flags (a comment
# line is no flag: race_fuzzer.options has one with '=' in it)
for f in "$ROOT"/fuzzers/*_fuzzer.options; do
	t=$(basename "$f" .options)
	flags=$(bash "$CAMPAIGN" --dry-run --targets "$t" 2>&1 | sed -n "s/^campaign: $t libFuzzer flags ([^)]*)://p")
	bad=$(tr ' ' '\n' <<<"$flags" | grep -v '^$' | grep -vE '^-(max_len|dict|timeout|rss_limit_mb|use_value_profile|use_counters)=[^#= ]+$')
	if [ -n "$flags" ] && [ -z "$bad" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $t.options gives libFuzzer '$flags' (bad: '$bad')"
	fi
done

echo "$pass passed, $fail failed"
[ $fail = 0 ]
