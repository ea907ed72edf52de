#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Log throughput: an app writes 100-byte lines to stdout as fast as it can
# for SECS seconds (default 10); prints the lines/s and MB/s that land in
# the log files (counted once the daemon has written everything), the
# daemon's CPU time during the run and its peak RSS (VmHWM), without and
# with a timestamp per line, for corral and then for PM2 (from npm, run with
# a private PM2_HOME and killed afterwards), and first the machine's floor:
# the same writer piped into cat(1) writing the file.
# Asserts nothing. Run from the top of the tree after `make`:
#     bench/logs.sh        or   SECS=5 PM2=/path/to/pm2 bench/logs.sh
# PM2=0 skips PM2 (bench/lib.sh says how PM2 is found).
set -eu
BENCH_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$BENCH_TOP/bench/lib.sh"

BUILD=${BUILD:-build}
SECS=${SECS:-10}
CORRAL=$(cd "$BUILD" && pwd)/corral
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/corral-bench-logs.XXXXXX)
CORRAL_HOME=$WORK/corral
export CORRAL_HOME

cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	bench_pm2_kill
	[ -s "$WORK/writer.pid" ] && kill "$(cat "$WORK/writer.pid")" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
bench_pm2 "$WORK"

# The writer: 100-byte lines, flat out, for SECS seconds, then it idles.
cat > "$WORK/writer.py" <<EOF
import os, sys, time
open("$WORK/writer.pid", "w").write(str(os.getpid()))
line = b"x" * 90
block = b"".join(b"%08d %s\n" % (i, line) for i in range(640))
end = time.monotonic() + $SECS
n = 0
while time.monotonic() < end:
	os.write(1, block)
	n += 640
open("$WORK/written", "w").write(str(n))
time.sleep(3600)
EOF

# cpu_ticks PID: utime + stime in seconds
cpu() {
	$PY -c 'import os,sys; f=open("/proc/%s/stat" % sys.argv[1]).read().rsplit(")",1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK"))' "$1"
}
hwm() {
	awk '/VmHWM/ { print $2 }' "/proc/$1/status"
}
# size of the files whose names start with $1 (rotated ones too), in bytes
bytes() {
	$PY -c 'import glob,os,sys; print(sum(os.path.getsize(f) for f in glob.glob(sys.argv[1] + "*")))' "$1"
}

# measure NAME DPID CPU0 FILE: waits for the writer to finish and the files
# to stop growing, then prints the figures.
measure() {
	name=$1 dpid=$2 c0=$3 file=$4
	while [ ! -e "$WORK/written" ]; do sleep 0.2; done
	last=-1
	stable=0
	while [ $stable -lt 5 ]; do
		now=$(bytes "$file")
		if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
		last=$now
		sleep 0.2
	done
	t1=$($PY -c 'import time; print(time.monotonic())')
	c1=$(cpu "$dpid")
	lines=$(cat "$file"* | wc -l)
	written=$(cat "$WORK/written")
	$PY - "$name" "$lines" "$last" "$t0" "$t1" "$c0" "$c1" "$(hwm "$dpid")" "$written" <<'EOF'
import sys
name, lines, size, t0, t1, c0, c1, hwm, written = sys.argv[1:]
el = float(t1) - 1.0 - float(t0)     # minus the second spent seeing it stable
lines, size, written = int(lines), int(size), int(written)
print("%-24s %10.0f lines/s %7.1f MB/s  cpu %5.2f s  peak RSS %6.1f MiB  "
      "(%d of %d lines in %.1f s)" % (name, lines / el, size / el / 1e6,
      float(c1) - float(c0), int(hwm) / 1024, lines, written, el))
EOF
}

run_corral() {
	label=$1
	shift
	"$CORRAL" kill >/dev/null 2>&1 || true
	rm -rf "$CORRAL_HOME" "$WORK/written"
	"$CORRAL" ping >/dev/null
	dpid=$(cat "$CORRAL_HOME/corrald.pid")
	c0=$(cpu "$dpid")
	t0=$($PY -c 'import time; print(time.monotonic())')
	"$CORRAL" start "$WORK/writer.py" --interpreter "$PY" --name w \
	    --max-log-size 1G --retain-logs 100 "$@" >/dev/null
	measure "corral $label" "$dpid" "$c0" "$CORRAL_HOME/logs/w-out.log"
	"$CORRAL" kill >/dev/null
}

# The floor: the writer's pipe read by cat(1), which writes the file.
run_floor() {
	rm -rf "$WORK/floor" "$WORK/written" "$WORK/writer.pid"
	mkdir "$WORK/floor"
	t0=$($PY -c 'import time; print(time.monotonic())')
	$PY "$WORK/writer.py" | cat > "$WORK/floor/w-out.log" &
	cpid=$!
	measure "floor: pipe | cat > file" "$cpid" "$(cpu "$cpid")" \
	    "$WORK/floor/w-out.log"
	{ kill "$(cat "$WORK/writer.pid")"; wait "$cpid" || true; } 2>/dev/null
	rm -f "$WORK/writer.pid"
}

run_pm2() {
	label=$1
	shift
	"$PM2" kill >/dev/null 2>&1 || true
	rm -rf "$PM2_HOME" "$WORK/written"
	"$PM2" ping >/dev/null
	dpid=$(cat "$PM2_HOME/pm2.pid")
	c0=$(cpu "$dpid")
	t0=$($PY -c 'import time; print(time.monotonic())')
	"$PM2" start "$WORK/writer.py" --interpreter "$PY" --name w \
	    --no-autorestart "$@" >/dev/null
	measure "pm2 $label" "$dpid" "$c0" "$PM2_HOME/logs/w-out.log"
	"$PM2" kill >/dev/null
}

echo "100-byte lines flat out for $SECS s ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
run_floor
run_corral "plain"
run_corral "--time" --time
if [ -n "$PM2" ]; then
	echo "PM2 $("$PM2" --version 2>/dev/null | tail -1)"
	run_pm2 "plain"
	run_pm2 "--time" --time
else
	echo "PM2 skipped"
fi
