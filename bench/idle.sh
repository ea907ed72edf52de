#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# Idle CPU of the daemon with nobody watching (issue #16); prints figures,
# asserts nothing.
#
#   bench/idle.sh                       # corral from ./build, PM2 per lib.sh
#   BUILDS="/tmp/main/build build" bench/idle.sh   # before and after
#   COUNTS="10 100 500 2000" IDLE_SECS=30 PM2=0 bench/idle.sh
#   WATCH=1 PM2=0 bench/idle.sh         # with a monit subscriber
#   MMR=200M PM2=0 bench/idle.sh        # instances with max_memory_restart
#
# For each build and each N of COUNTS: a fresh daemon in a private
# CORRAL_HOME starts N instances of a sleeping shell script (`-i N`), waits
# until all are online and 3 s more (start-up work is over), then nobody
# looks at it (no monit, no logs --follow, no metrics scrape, no `ls`) for
# IDLE_SECS.  The figure is the CPU time the daemon's threads spent on a
# CPU over that window (sum of the first field of
# /proc/PID/task/*/schedstat, in ns: clock ticks would round 10 ms away),
# scaled to ms per minute.  PM2 (up to PM2_MAX_N apps, default 500): the
# same for its God daemon with N fork-mode apps of the same script.
# The floor is 0: a daemon with nothing to do sleeps in epoll_wait.
# MMR=SIZE: the instances have max_memory_restart SIZE, a rule the daemon
# checks by itself (PM2 is skipped).  WATCH=1: someone watches instead: a
# subscriber reads the stats stream `corral monit` reads (every instance
# sampled once a second) over the whole window; corral's figures then are
# the cost of watching N instances (PM2 is skipped: its monit has no such
# stream).  STRACE=1 also prints the daemon's file system calls per
# second (strace -c -f over the window; it slows the daemon, so the CPU
# figure of that run is not comparable).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILDS=${BUILDS:-${BUILD:-build}}
COUNTS=${COUNTS:-10 100 500 2000}
IDLE_SECS=${IDLE_SECS:-30}
PM2_MAX_N=${PM2_MAX_N:-500}
BENCH_TOP=$TOP
. "$TOP/bench/lib.sh"

WORK=$(mktemp -d /tmp/corral-bench.XXXXXX)
CORRAL=
cleanup() {
	[ -z "$CORRAL" ] || "$CORRAL" kill >/dev/null 2>&1 || true
	bench_pm2_kill
	rm -rf "$WORK"
}
trap cleanup EXIT
bench_pm2 "$WORK"

# CPU ns of every thread of PID so far
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null |
	    awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# watcher SOCK SECS: reads the monit stream of the daemon at SOCK for SECS
watcher() {
	/usr/bin/python3 - "$1" "$2" <<'PY' &
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"v": 1, "cmd": "monit", "argv": []}).encode() + b"\n")
end = time.monotonic() + float(sys.argv[2])
s.settimeout(0.5)
while time.monotonic() < end:
    try:
        if not s.recv(1 << 20):
            break
    except socket.timeout:
        pass
PY
}

# syscalls PID: the daemon's file system calls per second over IDLE_SECS
syscalls() {
	strace -c -f -q -e trace=openat,read,pread64,close -p "$1" \
	    -o "$WORK/strace" &
	local st=$!
	sleep "$IDLE_SECS"
	kill -INT "$st"
	wait "$st" || true
	awk -v s="$IDLE_SECS" '$NF ~ /^(openat|read|pread64|close)$/ {
	    printf " %s %.0f/s", $NF, $4 / s }' "$WORK/strace"
}

# idle_ms PID: the daemon's CPU over IDLE_SECS, in ms per minute
idle_ms() {
	local a b w=
	if [ -n "${WATCH:-}" ]; then
		watcher "$CORRAL_HOME/corral.sock" "$((IDLE_SECS + 2))"
		w=$!
		sleep 1.5
	fi
	a=$(cpu_ns "$1")
	sleep "$IDLE_SECS"
	b=$(cpu_ns "$1")
	[ -z "$w" ] || wait "$w"
	awk -v a="$a" -v b="$b" -v s="$IDLE_SECS" \
	    'BEGIN { printf "%.1f", (b - a) / 1e6 * 60 / s }'
}

mkdir -p "$WORK/app"
printf '#!/bin/sh\nexec sleep 100000\n' > "$WORK/app/sleeper.sh"
chmod 755 "$WORK/app/sleeper.sh"
cd "$WORK/app"

if [ -n "${WATCH:-}" ]; then
	echo "daemon CPU with a monit subscriber (1 s interval), ms per minute" \
	    "(over ${IDLE_SECS} s)"
else
	rule=${MMR:+ (max_memory_restart $MMR)}
	echo "daemon CPU with nobody watching$rule, ms per minute (over" \
	    "${IDLE_SECS} s; floor 0)"
fi
for b in $BUILDS; do
	case $b in /*) ;; *) b=$TOP/$b ;; esac
	CORRAL=$b/corral
	[ -x "$CORRAL" ] || { echo "bench: $CORRAL missing" >&2; exit 1; }
	for n in $COUNTS; do
		export CORRAL_HOME=$WORK/home-$n
		mkdir -p "$CORRAL_HOME"
		"$CORRAL" start sleeper.sh --name sleeper -i "$n" \
		    ${MMR:+--max-memory-restart "$MMR"} >/dev/null
		bench_wait_until 300 bench_corral_online "$n"
		sleep 3
		pid=$(cat "$CORRAL_HOME/corrald.pid")
		printf '%-40s N=%-5s %8s ms/min\n' "corral ($b)" "$n" \
		    "$(idle_ms "$pid")"
		if [ -n "${STRACE:-}" ]; then
			if [ -n "${WATCH:-}" ]; then
				watcher "$CORRAL_HOME/corral.sock" \
				    "$((IDLE_SECS + 2))"
				sleep 1.5
			fi
			printf '%-40s N=%-5s%s\n' "  syscalls ($b)" "$n" \
			    "$(syscalls "$pid")"
			wait
		fi
		"$CORRAL" kill >/dev/null 2>&1 || true
		rm -rf "$CORRAL_HOME"
	done
done
CORRAL=
[ -n "$PM2" ] && [ -z "${WATCH:-}${MMR:-}" ] || exit 0
for n in $COUNTS; do
	[ "$n" -le "$PM2_MAX_N" ] || continue
	bench_pm2_sleepers "$n" "$WORK/app/sleeper.sh"
	sleep 3
	pid=$(cat "$PM2_HOME/pm2.pid")
	printf '%-40s N=%-5s %8s ms/min\n' "PM2 $("$PM2" --version)" "$n" \
	    "$(idle_ms "$pid")"
	"$PM2" kill >/dev/null 2>&1 || true
done
