#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs every libFuzzer harness built in DIR (make fuzz-build) for SECONDS
# each, on a working copy of its seed corpus (tests/fuzz/corpus/NAME,
# never changed: new inputs go to DIR/corpus/NAME, kept between runs), and
# prints how many inputs each one ran.  Harnesses run FUZZ_JOBS at a time
# (default: one per CPU; each is one single-threaded process), so each
# still gets SECONDS of a CPU of its own while the whole run takes
# SECONDS x harnesses / FUZZ_JOBS.  A finding (crash, leak, sanitizer
# report, failed check) stops with the fuzzer's report once the running
# batch is over; its input is saved as DIR/findings/NAME-*.
#
#   sh scripts/fuzz.sh build-fuzz 12           # what make test runs
#   FUZZ_SECONDS=3600 make fuzz                # an hour per target
#   sh scripts/fuzz.sh build-fuzz 600 proto    # one target
set -eu
DIR=${1:-build-fuzz}
SECS=${2:-12}
shift 2 2>/dev/null || true
TOP=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
mkdir -p "$DIR/findings" "$DIR/logs"
total=0

# The harnesses to run, in order.
names=
for bin in "$DIR"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	names="$names $name"
done

# Starts harness $1 in the background; its pid goes to $DIR/logs/$1.pid.
start() {
	mkdir -p "$DIR/corpus/$1"
	"$DIR/fuzz_$1" -max_total_time="$SECS" -print_final_stats=1 \
	    -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	    -artifact_prefix="$DIR/findings/$1-" \
	    "$DIR/corpus/$1" "$TOP/tests/fuzz/corpus/$1" \
	    >"$DIR/logs/$1.log" 2>&1 &
	echo $! >"$DIR/logs/$1.pid"
}

# Waits for harness $1 and prints its line; returns 1 on a finding.
finish() {
	log=$DIR/logs/$1.log
	if ! wait "$(cat "$DIR/logs/$1.pid")"; then
		tail -n 60 "$log"
		echo "fuzz $1: FINDING (input in $DIR/findings/)" >&2
		return 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	printf 'fuzz %-8s %10s executions in %ss, %s, no finding\n' \
	    "$1" "$execs" "$SECS" "$cov"
	total=$((total + execs))
}

set -- $names
while [ $# -gt 0 ]; do
	batch=
	while [ $# -gt 0 ] && [ "$(echo $batch | wc -w)" -lt "$JOBS" ]; do
		start "$1"
		batch="$batch $1"
		shift
	done
	found=0
	for name in $batch; do
		finish "$name" || found=1
		rm -f "$DIR/logs/$name.pid"
	done
	[ "$found" -eq 0 ] || exit 1
done
echo "fuzz: $total executions in all"
