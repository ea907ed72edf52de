#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# Scale benchmark (issue #11): N apps of one instance each, a sleeping
# program, declared in one PM2 JSON file.  Prints figures, asserts nothing.
#
#   bench/scale.sh                 # N=10000, corral from ./build
#   N=2000 SAMPLES=5 bench/scale.sh
#   BUILD=build-san bench/scale.sh
#
# What is measured, and how:
# - start: wall time of `corral start apps.json` (it returns once every
#   instance is online), then until `jlist` shows N online instances.
# - RSS and fds of the daemon (VmRSS of /proc/PID/status, entries of
#   /proc/PID/fd) once all are online and two stats periods have passed;
#   fds are also given per running instance, less the daemon's idle count
#   (measured before the start, with no app).
# - ls / jlist: wall time of the whole command (fork, exec, connect,
#   reply, print to /dev/null), taken with bash's $EPOCHREALTIME; median
#   (and min/max) of SAMPLES runs; the reply size is the bytes jlist
#   printed.
# - delete all: wall time until the command returns (every instance
#   stopped, every app gone).
# Targets of the issue: RSS <= 64 MiB, fds <= 2 per running instance plus
# a constant, jlist <= 200 ms.
#
# The daemon starts with RLIMIT_NOFILE raised to FDS (default 65536) when
# this shell may, since N instances need 2N pipe ends; where the hard limit
# is lower (20,000 on the development hosts, without CAP_SYS_RESOURCE),
# the instances past it wait (the daemon's lack, retried, never counted
# against the apps) and the figures are for those online.  pid_max must
# leave room for N more processes.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
CORRAL=$BUILD/corral
N=${N:-10000}
SAMPLES=${SAMPLES:-11}
FDS=${FDS:-65536}

[ -x "$CORRAL" ] || { echo "bench: $CORRAL missing (make first)" >&2; exit 1; }
ulimit -n "$FDS" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
free=$(( $(cat /proc/sys/kernel/pid_max) - $(ls /proc | grep -c '^[0-9]') ))
if [ "$free" -lt $((N + 1000)) ]; then
	echo "bench: only $free pids free for $N apps" >&2
	exit 1
fi

WORK=$(mktemp -d /tmp/corral-scale.XXXXXX)
export CORRAL_HOME=$WORK/home
cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

now() { echo "$EPOCHREALTIME"; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
online() { "$CORRAL" jlist | grep -o '"state":"online"' | wc -l; }

# median, min and max of the numbers on stdin
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
	    printf "median %d ms (min %d, max %d, %d runs)", v[int((NR + 1) / 2)],
	    v[1], v[NR], NR }'
}

timed() {
	local i t
	for i in $(seq "$SAMPLES"); do
		t=$(now)
		"$CORRAL" "$@" >/dev/null
		ms_since "$t"
		echo
	done | stats
}

# --- the apps file ----------------------------------------------------------
{
	echo '{"apps": ['
	for i in $(seq "$N"); do
		printf '{"name": "s%05d", "script": "/bin/sleep", "args": "100000"}' "$i"
		[ "$i" -lt "$N" ] && echo ,
	done
	echo ']}'
} > "$WORK/apps.json"

"$CORRAL" ping >/dev/null
DPID=$(cat "$CORRAL_HOME/corrald.pid")
IDLE_FDS=$(nfds "$DPID")
IDLE_RSS=$(rss_kib "$DPID")
echo "corral $("$CORRAL" --version | awk '{print $2}'), $N apps of one instance (/bin/sleep)"
echo "daemon idle: RSS $((IDLE_RSS / 1024)) MiB, $IDLE_FDS fds; $("$CORRAL" doctor | grep '^file descriptors')"

t=$(now)
"$CORRAL" start "$WORK/apps.json" >/dev/null || true
START_MS=$(ms_since "$t")
# All online, or no progress for 15 s (out of descriptors: see above).
last=-1 still=0
while :; do
	on=$(online)
	[ "$on" -ge "$N" ] && break
	if [ "$on" -eq "$last" ]; then
		still=$((still + 1))
		[ "$still" -ge 30 ] && break
	else
		still=0
	fi
	last=$on
	sleep 0.5
done
ALL_MS=$(ms_since "$t")
ONLINE=$(online)
sleep 2.5
RSS=$(rss_kib "$DPID")
FDS_NOW=$(nfds "$DPID")
echo "start from one file: ${START_MS} ms ($ONLINE of $N online after ${ALL_MS} ms)"
[ "$ONLINE" -lt "$N" ] && echo "  the others wait: $("$CORRAL" jlist | \
    grep -o '"reason":"waiting: the daemon lacks a resource ([^)]*)' | \
    sort | uniq -c | head -3)"
echo "daemon: RSS $((RSS / 1024)) MiB ($RSS KiB), $FDS_NOW fds" \
    "($(awk -v f="$FDS_NOW" -v i="$IDLE_FDS" -v n="$ONLINE" \
    'BEGIN { printf "%.2f", (f - i) / n }') per running instance beyond idle)"
echo "ls:    $(timed ls)"
echo "jlist: $(timed jlist), reply $("$CORRAL" jlist | wc -c) bytes"
RSS2=$(rss_kib "$DPID")
echo "daemon after the ls/jlist runs: RSS $((RSS2 / 1024)) MiB"
t=$(now)
"$CORRAL" delete all >/dev/null
echo "delete all: $(ms_since "$t") ms"
# The pipes close as their last bytes are read, just after the reply.
for i in $(seq 60); do
	[ "$(nfds "$DPID")" -le "$IDLE_FDS" ] && break
	sleep 0.5
done
echo "daemon after delete: RSS $(( $(rss_kib "$DPID") / 1024 )) MiB," \
    "$(nfds "$DPID") fds after $(ms_since "$t") ms"
