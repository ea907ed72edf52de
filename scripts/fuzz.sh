#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs every libFuzzer harness built in DIR (make fuzz-build) for SECONDS
# each, one after the other, on a working copy of its seed corpus
# (tests/fuzz/corpus/NAME, never changed: new inputs go to
# DIR/corpus/NAME, kept between runs), and prints how many inputs each
# one ran.  A finding (crash, leak, sanitizer report, failed check) stops
# with the fuzzer's report; its input is saved as DIR/findings/NAME-*.
#
#   sh scripts/fuzz.sh build-fuzz 12           # what make test runs
#   FUZZ_SECONDS=3600 make fuzz                # an hour per target
#   sh scripts/fuzz.sh build-fuzz 600 proto    # one target
set -eu
DIR=${1:-build-fuzz}
SECS=${2:-12}
shift 2 2>/dev/null || true
TOP=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$DIR/findings" "$DIR/logs"
total=0
for bin in "$DIR"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	work=$DIR/corpus/$name
	mkdir -p "$work"
	log=$DIR/logs/$name.log
	if ! "$bin" -max_total_time="$SECS" -print_final_stats=1 \
	    -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	    -artifact_prefix="$DIR/findings/$name-" \
	    "$work" "$TOP/tests/fuzz/corpus/$name" >"$log" 2>&1; then
		tail -n 60 "$log"
		echo "fuzz $name: FINDING (input in $DIR/findings/)" >&2
		exit 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	printf 'fuzz %-8s %10s executions in %ss, %s, no finding\n' \
	    "$name" "$execs" "$SECS" "$cov"
	total=$((total + execs))
done
echo "fuzz: $total executions in all"
