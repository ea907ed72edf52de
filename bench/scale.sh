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
#   A second floor does the same with each child in cgroups of its own,
#   one per hierarchy corral uses (v1: memory, cpu, cpuacct, pids,
#   freezer), which it joins before its exec as corral's apps do: made
#   below this shell's cgroup, removed after (none where this shell may
#   not make cgroups).
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
#   has exec'd, then times SIGTERM to all and waitpid() of all (and the
#   same with the cgroups of the start's second floor); and PM2's
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
CG_NAME=corral-scale.$$
# own_cgroups_remove: the floor's cgroups (below), children first.
own_cgroups_remove() {
	local d
	for d in $(find /sys/fs/cgroup -maxdepth 5 -type d -name "$CG_NAME" \
	    2>/dev/null); do
		find "$d" -mindepth 1 -maxdepth 1 -type d -exec rmdir {} + \
		    2>/dev/null || true
		rmdir "$d" 2>/dev/null || true
	done
}
cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	bench_pm2_kill
	own_cgroups_remove
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
/* FLOOR_CG=DIR[:DIR...]: child i writes "0" to DIR/i/FLOOR_CG_FILE. */
static void join_own(int i)
{
	const char *list = getenv("FLOOR_CG"), *file = getenv("FLOOR_CG_FILE");
	char *v, *d, *save = NULL, path[PATH_MAX];
	FILE *f;

	if (list == NULL || file == NULL || (v = strdup(list)) == NULL)
		return;
	for (d = strtok_r(v, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof path, "%s/%d/%s", d, i, file);
		if ((f = fopen(path, "w")) == NULL || fputs("0\n", f) < 0 ||
		    fclose(f) != 0)
			_exit(126);
	}
}
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
			join_own(i);
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
# descriptors numbered 64 and up: after the first spawn the daemon keeps
# /dev/null placeholders on the free numbers below 64 (spawn-low.c), so
# only these say whether what the apps used is closed again
nfds_high() { ls "/proc/$1/fd" | awk '$1 >= 64' | wc -l; }
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
bench_sleep_apps "$N" s /bin/sleep > "$WORK/apps.json"

"$CORRAL" ping >/dev/null
DPID=$(cat "$CORRAL_HOME/corrald.pid")
# one app that comes and goes first: what the first spawn opens for good
# (the placeholders below 64, see nfds_high) counts in the idle figures
"$CORRAL" start /bin/sleep --name warm-up -- 100000 >/dev/null
"$CORRAL" delete warm-up >/dev/null
sleep 1
IDLE_FDS=$(nfds "$DPID")
IDLE_HIGH=$(nfds_high "$DPID")
IDLE_RSS=$(rss_kib "$DPID")
echo "corral $("$CORRAL" --version | awk '{print $2}'), $N apps of one instance (/bin/sleep)"
echo "daemon idle (after one app came and went): RSS $((IDLE_RSS / 1024))" \
    "MiB, $IDLE_FDS fds; $("$CORRAL" doctor | grep '^file descriptors')"

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
# The same floors with each sleep in a cgroup of its own in every
# hierarchy corral uses (what corral's apps are in: one per instance),
# joined by the child before its exec as corral's do; nothing when this
# shell may not make cgroups.
CG=$(bench_cgroups_make "$CG_NAME")
case $CG in
v1\ *) CG_DIRS=$(echo "${CG#v1 }" | sed 's,/tasks,,g') CG_FILE=tasks ;;
v2\ *) CG_DIRS=${CG#v2 } CG_FILE=cgroup.procs
	echo "+memory +pids +cpu" 2>/dev/null \
	    > "$CG_DIRS/cgroup.subtree_control" || true ;;
*) CG_DIRS= ;;
esac
if [ -n "$CG_DIRS" ]; then
	for d in $(echo "$CG_DIRS" | tr : ' '); do
		seq 0 $((ONLINE - 1)) | sed "s,^,$d/," | xargs mkdir
	done
	for i in $(seq "$STOPS"); do
		FLOOR_CG=$CG_DIRS FLOOR_CG_FILE=$CG_FILE \
		    "$WORK/stopfloor" "$ONLINE" /bin/sleep 100000
	done > "$WORK/floorscg.ms"
	own_cgroups_remove
	awk '{ print $1 }' "$WORK/floorscg.ms" > "$WORK/startfloorcg.ms"
	awk '{ print $2 }' "$WORK/floorscg.ms" > "$WORK/floorcg.ms"
fi
# ratio LABEL CORRAL FLOOR: the ratio of the medians of two files
ratio() {
	[ -s "$3" ] || return 0
	awk -v l="$1" -v a="$(stats < "$2" | awk '{ print $2 }')" \
	    -v b="$(stats < "$3" | awk '{ print $2 }')" \
	    'BEGIN { if (b > 0) printf "  corral / %s (medians): %.2fx\n", l, a / b }'
}
echo "start all ($ONLINE stopped apps): $(stats < "$WORK/start.ms")"
echo "  floor, $ONLINE fork+execs of sleep: $(stats < "$WORK/startfloor.ms")"
[ -s "$WORK/startfloorcg.ms" ] && echo "  floor, the same, each joining" \
    "cgroups of its own: $(stats < "$WORK/startfloorcg.ms")"
ratio floor "$WORK/start.ms" "$WORK/startfloor.ms"
ratio "floor with cgroups" "$WORK/start.ms" "$WORK/startfloorcg.ms"
echo "stop all:  $(stats < "$WORK/stop.ms")"
echo "  floor, kill + reap of $ONLINE sleeps: $(stats < "$WORK/floor.ms")"
[ -s "$WORK/floorcg.ms" ] && echo "  floor, the same, each in cgroups of" \
    "its own: $(stats < "$WORK/floorcg.ms")"
ratio floor "$WORK/stop.ms" "$WORK/floor.ms"
ratio "floor with cgroups" "$WORK/stop.ms" "$WORK/floorcg.ms"
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
	[ "$(nfds_high "$DPID")" -le "$IDLE_HIGH" ] && break
	sleep 0.5
done
echo "daemon after delete: RSS $(( $(rss_kib "$DPID") / 1024 )) MiB," \
    "$(nfds "$DPID") fds ($(nfds_high "$DPID") numbered 64 and up) after" \
    "$(ms_since "$t") ms"
