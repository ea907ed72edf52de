#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# Scale benchmark (issue #11): N apps of one instance each, a sleeping
# program, declared in one PM2 JSON file.  Prints figures, asserts nothing.
#
#   bench/scale.sh                 # N=10000, corral from ./build
#   N=2000 SAMPLES=5 bench/scale.sh
#   N=500 STOPS=7 PM2=0 bench/scale.sh
#   BUILD=build-san bench/scale.sh
#
# What is measured, and how:
# - start: wall time of `corral start apps.json` (it returns once every
#   instance is online), then until `jlist` shows N online instances; and
#   of each `corral start all` that brings the stopped apps back in the
#   stop runs below (STOPS runs: the apps and their cgroups exist). The
#   floor beside it, from the same run: a C program forks N `/bin/sleep
#   100000` and times until each has exec'd (/proc/PID/exe), STOPS runs.
# - RSS and fds of the daemon (VmRSS of /proc/PID/status, entries of
#   /proc/PID/fd) once all are online and two stats periods have passed;
#   fds are also given per running instance, less the daemon's idle count
#   (measured before the start, with no app).
# - ls / jlist: wall time of the whole command (fork, exec, connect,
#   reply, print to /dev/null), taken with bash's $EPOCHREALTIME; median
#   (and min/max) of SAMPLES runs; the reply size is the bytes jlist
#   printed.
# - stop all: wall time of `corral stop all` (it returns once every
#   instance is stopped), STOPS times (each after `start all` brought
#   them back online); beside it the floor, kill + reap of the same
#   processes: a C program forks N `/bin/sleep 100000`, waits until each
#   has exec'd, then times SIGTERM to all and waitpid() of all; and PM2's
#   `pm2 stop all` of N fork-mode apps of the same sleep (one run: it is
#   slow; PM2=0 skips it, see bench/lib.sh).
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
STOPS=${STOPS:-5}
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
BENCH_TOP=$TOP
. "$TOP/bench/lib.sh"
bench_pm2 "$WORK"
cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	bench_pm2_kill
	rm -rf "$WORK"
}
trap cleanup EXIT

now() { echo "$EPOCHREALTIME"; }

# stop_floor_build WORK: WORK/stopfloor N CMD...: forks N CMDs and prints
# the ms until each has exec'd (what any supervisor must pay to start
# them), then the ms from the first SIGTERM to the last child reaped (to
# stop them).
stop_floor_build() {
	cat > "$1/stopfloor.c" <<'EOF'
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
int main(int argc, char **argv)
{
	int i, n = argc > 2 ? atoi(argv[1]) : 0, status;
	pid_t *pid = calloc(n > 0 ? n : 1, sizeof *pid);
	char real[PATH_MAX];
	double t0;

	if (pid == NULL || realpath(argv[2], real) == NULL)
		return 1;
	t0 = now();
	for (i = 0; i < n; i++) {
		if ((pid[i] = fork()) == -1)
			return 1;
		if (pid[i] == 0) {
			execv(argv[2], argv + 2);
			_exit(127);
		}
	}
	for (i = 0; i < n; i++)
		wait_exec(pid[i], real);
	printf("%.0f ", now() - t0);
	t0 = now();
	for (i = 0; i < n; i++)
		kill(pid[i], SIGTERM);
	for (i = 0; i < n; i++)
		if (waitpid(pid[i], &status, 0) == -1)
			return 1;
	printf("%.0f\n", now() - t0);
	return 0;
}
EOF
	bench_c_header "$1"
	cc -O2 -I"$1" -o "$1/stopfloor" "$1/stopfloor.c"
}
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
# --- stop all, its floor, PM2 -------------------------------------------
for i in $(seq "$STOPS"); do
	t=$(now)
	"$CORRAL" stop all >/dev/null
	ms_since "$t"
	echo
	t=$(now)
	"$CORRAL" start all >/dev/null || true
	ms_since "$t" >> "$WORK/start.ms"
	echo >> "$WORK/start.ms"
	for j in $(seq 120); do
		[ "$(online)" -ge "$ONLINE" ] && break
		sleep 0.5
	done
done > "$WORK/stop.ms"
stop_floor_build "$WORK"
for i in $(seq "$STOPS"); do
	"$WORK/stopfloor" "$ONLINE" /bin/sleep 100000
done > "$WORK/floors.ms"
awk '{ print $1 }' "$WORK/floors.ms" > "$WORK/startfloor.ms"
awk '{ print $2 }' "$WORK/floors.ms" > "$WORK/floor.ms"
echo "start all ($ONLINE stopped apps): $(stats < "$WORK/start.ms")"
echo "  floor, $ONLINE fork+execs of sleep: $(stats < "$WORK/startfloor.ms")"
awk -v a="$(stats < "$WORK/start.ms" | awk '{ print $2 }')" \
    -v b="$(stats < "$WORK/startfloor.ms" | awk '{ print $2 }')" \
    'BEGIN { if (b > 0) printf "  corral / floor (medians): %.2fx\n", a / b }'
echo "stop all:  $(stats < "$WORK/stop.ms")"
echo "  floor, kill + reap of $ONLINE sleeps: $(stats < "$WORK/floor.ms")"
awk -v a="$(stats < "$WORK/stop.ms" | awk '{ print $2 }')" \
    -v b="$(stats < "$WORK/floor.ms" | awk '{ print $2 }')" \
    'BEGIN { if (b > 0) printf "  corral / floor (medians): %.2fx\n", a / b }'
if [ -n "$PM2" ]; then
	mkdir -p "$WORK/pm2app"
	printf '#!/bin/sh\nexec /bin/sleep 100000\n' > "$WORK/pm2app/sleeper.sh"
	chmod +x "$WORK/pm2app/sleeper.sh"
	t=$(now)
	if bench_pm2_sleepers "$ONLINE" "$WORK/pm2app/sleeper.sh"; then
		echo "  PM2 $("$PM2" --version 2>/dev/null) start of $ONLINE" \
		    "apps until online: $(ms_since "$t") ms (one run, from a file)"
		t=$(now)
		"$PM2" stop all >/dev/null 2>&1
		echo "  PM2 $("$PM2" --version 2>/dev/null) stop all:" \
		    "$(ms_since "$t") ms (one run)"
	fi
	bench_pm2_kill
fi

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
