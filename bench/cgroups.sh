#!/bin/sh
# SPDX-License-Identifier: ISC
# Figures of issue #4 (limits and accounting with cgroups):
#  1. CPU the daemon spends sampling N instances (default 200) once a
#     second, over BENCH_SECONDS (default 60): with cgroups, and with
#     CORRAL_CGROUP=off (one /proc pass per second for the process groups).
#  2. Time from an OOM kill under --max-memory to the replacement's exec,
#     over BENCH_OOM runs (default 10): the hog stamps the clock after every
#     MiB it touches (the last stamp is within a MiB of the kill), the
#     replacement's shell stamps it right after exec (one date(1) fork).
# Usage: bench/cgroups.sh [BUILD_DIR]   (needs root for the cgroup figures)
# Never run by `make test`.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
corral=$top/$build/corral
n=${BENCH_INSTANCES:-200}
secs=${BENCH_SECONDS:-60}
runs=${BENCH_OOM:-10}
py=/usr/bin/python3
work=$(mktemp -d /tmp/corral-bench.XXXXXX)
homes=""

cleanup() {
	for h in $homes; do
		CORRAL_HOME=$h "$corral" kill >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

ticks() {       # utime + stime of pid, in clock ticks
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

sampling() {    # $1: label, $2: value of CORRAL_CGROUP or ""
	home=$work/home-$1
	mkdir -p "$home"
	homes="$homes $home"
	export CORRAL_HOME=$home
	if [ -n "$2" ]; then export CORRAL_CGROUP=$2; else unset CORRAL_CGROUP || true; fi
	"$corral" start /bin/sleep --name idle -i "$n" -- 100000 >/dev/null
	i=0
	while [ "$("$corral" jlist | $py -c 'import json,sys; print(sum(1 for i in json.load(sys.stdin) if i["state"] == "online"))')" -lt "$n" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || { echo "instances not online" >&2; exit 1; }
		sleep 0.1
	done
	pid=$(cat "$home/corrald.pid")
	backend=$("$corral" info | sed -n 's/^cgroups: \([a-z0-9]*\).*/\1/p')
	sleep 2
	t0=$(ticks "$pid"); w0=$(date +%s.%N)
	sleep "$secs"
	t1=$(ticks "$pid"); w1=$(date +%s.%N)
	hz=$(getconf CLK_TCK)
	$py - "$1" "$backend" "$n" "$t0" "$t1" "$w0" "$w1" "$hz" <<'PY'
import sys
label, backend, n, t0, t1, w0, w1, hz = sys.argv[1:]
cpu = (int(t1) - int(t0)) / int(hz)
wall = float(w1) - float(w0)
print(f"sampling {n} instances ({label}, backend {backend}): "
      f"{cpu * 60 / wall:.2f} s of CPU per minute = "
      f"{100 * cpu / wall:.2f}% of one core (over {wall:.0f} s)")
PY
	"$corral" kill >/dev/null
	unset CORRAL_CGROUP || true
}

oom() {
	home=$work/home-oom
	mkdir -p "$home"
	homes="$homes $home"
	export CORRAL_HOME=$home
	unset CORRAL_CGROUP || true
	cat > "$work/hog.py" <<'PY'
import os, sys, time
stamps = os.open(sys.argv[1] + "/stamps", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
chunks = []
while True:
    chunks.append(bytearray(1 << 20))
    os.write(stamps, b"alloc %d\n" % time.clock_gettime_ns(time.CLOCK_REALTIME))
PY
	: > "$work/stamps"
	# The shell stamps the time right after exec, before python starts.
	"$corral" start /bin/sh --name hog --max-memory 64M --max-restarts 100000 \
	    --min-uptime 0 -- -c 'echo "start $(date +%s%N)" >> "$1/stamps"; exec '"$py"' "$1/hog.py" "$1"' \
	    sh "$work" >/dev/null
	i=0
	while [ "$(grep -c '^start' "$work/stamps")" -le "$runs" ]; do
		i=$((i + 1)); [ $i -lt 1200 ] || { echo "too few restarts" >&2; exit 1; }
		sleep 0.1
	done
	"$corral" stop hog >/dev/null
	backend=$("$corral" info | sed -n 's/^cgroups: \([a-z0-9]*\).*/\1/p')
	ooms=$("$corral" jlist | $py -c 'import json,sys; print(json.load(sys.stdin)[0]["oom_kills"])')
	$py - "$work/stamps" "$runs" "$backend" "$ooms" <<'PY'
import statistics, sys
path, runs, backend, ooms = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
gaps, last = [], None
for line in open(path):
    kind, ns = line.split()
    if kind == "start" and last is not None:
        gaps.append((int(ns) - last) / 1e6)
    last = int(ns) if kind == "alloc" else None
gaps = gaps[:runs]
print(f"OOM kill -> replacement exec (backend {backend}, {len(gaps)} runs, "
      f"{ooms} OOM kills counted): median {statistics.median(gaps):.1f} ms, "
      f"min {min(gaps):.1f} ms, max {max(gaps):.1f} ms")
PY
	"$corral" kill >/dev/null
}

[ -x "$corral" ] || { echo "build first: $corral is missing" >&2; exit 1; }
echo "host: $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
sampling cgroups ""
sampling proc off
oom
