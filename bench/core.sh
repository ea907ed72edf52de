#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# Benchmark of the core (issue #2); prints figures, asserts nothing.
#
#   bench/core.sh              # corral from ./build, PM2 as bench/lib.sh says
#   BUILD=build-san bench/core.sh
#   IDLE_SECS=60 SAMPLES=20 N=50 PM2=/path/to/pm2 bench/core.sh
#   PM2=0 bench/core.sh        # skip the PM2 reference figures
#
# PM2 runs with a private PM2_HOME (every pm2 call, `--version` included)
# and is killed at the end.
#
# What is measured, and how:
# - Daemon RSS: VmRSS of the daemon's pid (/proc/PID/status), idle with no
#   app, then with N instances of a sleeping program once all are online
#   and two stats periods have passed.  PM2: the same for its God daemon
#   with N fork-mode apps of the same program.
# - Idle CPU: utime+stime of the daemon (/proc/PID/stat) over IDLE_SECS
#   with N instances online, scaled to ms per minute.  Both daemons are
#   measured over the same window.
# - `corral ls` / `pm2 ls`: wall time of the whole command (fork, exec,
#   connect, reply, print the N-row table to /dev/null), taken with bash's
#   $EPOCHREALTIME (no extra process); median (and min/max) of SAMPLES runs.
# - Crash to exec: a static C program records CLOCK_MONOTONIC as its very
#   last act before _exit(1) (after living 300 ms, above min_uptime), and
#   again as the first act of main() in the replacement; the figure is the
#   difference: kernel exit, SIGCHLD, the daemon's reaping, policy and
#   spawn, execve and the program's start (static: no dynamic loader).  An
#   upper bound of crash-to-exec, from SAMPLES consecutive crashes with
#   restart_delay 0.
# - Floors, from the same run: a trivial static program forked, exec'd and
#   reaped (what any `ls` client costs at the least), and the crash-to-exec
#   program run in a loop by a minimal parent that forks and execs the next
#   one as soon as it has reaped the last (what any supervisor costs at the
#   least); and the same loop with the cgroup join corral's keeper does
#   (cgroups this script makes below its own and removes): on v1 each
#   child writes "0" to the tasks file of every hierarchy (and, to show
#   the kernel's share, to cgroup.procs, which takes a global lock with
#   an RCU grace period), on v2 clone3(CLONE_INTO_CGROUP).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
CORRAL=$BUILD/corral
N=${N:-50}
IDLE_SECS=${IDLE_SECS:-60}
SAMPLES=${SAMPLES:-20}
BENCH_TOP=$TOP
. "$TOP/bench/lib.sh"

[ -x "$CORRAL" ] || { echo "bench: $CORRAL missing (make first)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/corral-bench.XXXXXX)
export CORRAL_HOME=$WORK/home
cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	bench_pm2_kill
	bench_cgroups_remove "corral-bench.$$"
	rm -rf "$WORK"
}
trap cleanup EXIT
bench_pm2 "$WORK"
NO_PM2=
[ -n "$PM2" ] || NO_PM2=1

# --- helpers -------------------------------------------------------------

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

stats() { bench_stats; }

# wall time of a command in ms, SAMPLES times, one per line
time_cmd() {
	local i t0 t1
	for ((i = 0; i < SAMPLES; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1
		t1=$EPOCHREALTIME
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
	done
}

# --- the programs --------------------------------------------------------

mkdir -p "$WORK/app" "$CORRAL_HOME"
printf '#!/bin/sh\nexec sleep 100000\n' > "$WORK/app/sleeper.sh"
chmod 755 "$WORK/app/sleeper.sh"
cat > "$WORK/app/crasher.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static void stamp(int fd, const char *what)
{
	struct timespec ts;
	char buf[64];
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof buf, "%s %lld\n", what,
	    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (write(fd, buf, (size_t)n) != n)
		_exit(2);
}
int main(void)
{
	int fd = open(getenv("CRASH_LOG"), O_WRONLY | O_APPEND | O_CREAT, 0600);
	struct timespec life = { 0, 300 * 1000000L };

	if (fd < 0)
		return 2;
	stamp(fd, "start");
	nanosleep(&life, NULL);
	stamp(fd, "exit");
	_exit(1);
}
EOF
cc -O2 -static -o "$WORK/app/crasher" "$WORK/app/crasher.c" 2>/dev/null ||
	cc -O2 -o "$WORK/app/crasher" "$WORK/app/crasher.c"

# crash-to-start deltas in ms from a CRASH_LOG, one per line
crash_deltas() {
	awk '$1 == "exit" { e = $2 } $1 == "start" && e { printf "%.3f\n", ($2 - e) / 1e6; e = 0 }' "$1"
}

echo "corral core benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binaries: $BUILD"
echo

# --- corral --------------------------------------------------------------

cd "$WORK/app"
"$CORRAL" ping >/dev/null
DPID=$(cat "$CORRAL_HOME/corrald.pid")
sleep 1
C_RSS0=$(rss_kib "$DPID")
"$CORRAL" start sleeper.sh --name sleeper -i "$N" >/dev/null
bench_wait_until 60 bench_corral_online "$N"

if [ -z "${NO_PM2:-}" ]; then
	"$PM2" ping >/dev/null 2>&1
	PPID_=$(cat "$PM2_HOME/pm2.pid")
	sleep 1
	P_RSS0=$(rss_kib "$PPID_")
	bench_pm2_sleepers "$N" "$WORK/app/sleeper.sh"
fi

sleep 11        # two stats periods of either daemon
C_RSS50=$(rss_kib "$DPID")
[ -z "${NO_PM2:-}" ] && P_RSS50=$(rss_kib "$PPID_")

echo "idle CPU: measuring for ${IDLE_SECS}s..."
C_T0=$(cpu_ticks "$DPID")
[ -z "${NO_PM2:-}" ] && P_T0=$(cpu_ticks "$PPID_")
sleep "$IDLE_SECS"
C_T1=$(cpu_ticks "$DPID")
[ -z "${NO_PM2:-}" ] && P_T1=$(cpu_ticks "$PPID_")
per_min() { awk -v t="$1" -v hz="$HZ" -v s="$IDLE_SECS" 'BEGIN { printf "%.0f ms/min (tick %.0f ms)", t * 1000 / hz * 60 / s, 1000 / hz }'; }

C_LS=$(time_cmd "$CORRAL" ls | stats)
[ -z "${NO_PM2:-}" ] && P_LS=$(time_cmd "$PM2" ls | stats)

"$CORRAL" delete all >/dev/null
CRASH_LOG=$WORK/crash.log "$CORRAL" start "$WORK/app/crasher" --name crasher \
	--restart-delay 0 --min-uptime 100ms --max-restarts 1000 >/dev/null
bench_wait_until 60 sh -c "[ \$(cat '$WORK/crash.log' 2>/dev/null | grep -c '^start') -gt $SAMPLES ]"
"$CORRAL" delete crasher >/dev/null
C_CRASH=$(crash_deltas "$WORK/crash.log" | head -n "$SAMPLES" | stats)

if [ -z "${NO_PM2:-}" ]; then
	"$PM2" delete all >/dev/null 2>&1
	cat > "$WORK/app/crasher.config.js" <<EOF
module.exports = { apps: [{ name: 'crasher', script: '$WORK/app/crasher',
  interpreter: 'none', restart_delay: 0, min_uptime: 100, max_restarts: 1000,
  env: { CRASH_LOG: '$WORK/pm2crash.log' } }] };
EOF
	"$PM2" start "$WORK/app/crasher.config.js" >/dev/null 2>&1
	bench_wait_until 60 sh -c "[ \$(cat '$WORK/pm2crash.log' 2>/dev/null | grep -c '^start') -gt $SAMPLES ]"
	"$PM2" delete crasher >/dev/null 2>&1
	P_CRASH=$(crash_deltas "$WORK/pm2crash.log" | head -n "$SAMPLES" | stats)
fi

bench_floor_build "$WORK"
F_START=$("$WORK/floor" "$SAMPLES" "$WORK/nothing" | stats)
CRASH_LOG=$WORK/floorcrash.log "$WORK/floor" $((SAMPLES + 1)) "$WORK/app/crasher" >/dev/null
F_CRASH=$(crash_deltas "$WORK/floorcrash.log" | head -n "$SAMPLES" | stats)
# crash_floor LOG [VAR=VALUE...]: the loop above with the cgroup join
crash_floor() {
	local log=$WORK/$1
	shift
	env CRASH_LOG="$log" "$@" "$WORK/floor" $((SAMPLES + 1)) \
	    "$WORK/app/crasher" >/dev/null || return 0
	crash_deltas "$log" | head -n "$SAMPLES" | stats
}
CG=$(bench_cgroups_make "corral-bench.$$")
case $CG in
v1\ *)
	F_CG_LABEL="  floor: the same, joining v1 cgroups"
	F_CG=$(crash_floor floorcg.log FLOOR_JOIN="${CG#v1 }")
	F_CGP=$(crash_floor floorcgp.log \
	    FLOOR_JOIN="$(echo "${CG#v1 }" | sed 's,/tasks,/cgroup.procs,g')") ;;
v2\ *)
	F_CG_LABEL="  floor: the same, clone3 into a cgroup"
	F_CG=$(crash_floor floorcg.log FLOOR_CLONE_INTO="${CG#v2 }") ;;
esac

echo
printf '%-40s %-46s %s\n' "figure" "corral" "PM2 $( [ -z "${NO_PM2:-}" ] && "$PM2" --version 2>/dev/null | tail -1)"
printf '%-40s %-46s %s\n' "daemon RSS, no app" "$(mib "$C_RSS0")" "${P_RSS0:+$(mib "$P_RSS0")}"
printf '%-40s %-46s %s\n' "daemon RSS, $N sleeping instances" "$(mib "$C_RSS50")  (target <= 4 MiB)" "${P_RSS50:+$(mib "$P_RSS50")}"
printf '%-40s %-46s %s\n' "daemon CPU idle, $N instances, ${IDLE_SECS}s" "$(per_min $((C_T1 - C_T0)))  (target <= 100)" "${P_T0:+$(per_min $((P_T1 - P_T0)))}"
printf '%-40s %-46s %s\n' "ls wall time ($N rows)" "$C_LS" "${P_LS:-}"
printf '%-40s %-46s %s\n' "" "(target median <= 5 ms)" ""
printf '%-40s %-46s %s\n' "  floor: fork+exec+reap, static no-op" "$F_START" ""
printf '%-40s %-46s %s\n' "crash to replacement's start, delay 0" "$C_CRASH" "${P_CRASH:-}"
printf '%-40s %-46s %s\n' "" "(target <= 5 ms)" ""
printf '%-40s %-46s %s\n' "  floor: reap, fork, exec in a loop" "$F_CRASH" ""
[ -n "${F_CG:-}" ] && printf '%-40s %-46s %s\n' "$F_CG_LABEL" "$F_CG" ""
[ -n "${F_CGP:-}" ] && printf '%-40s %-46s %s\n' \
    "  floor: ... by cgroup.procs (kernel lock)" "$F_CGP" ""
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b }'; }
med() { echo "$1" | awk '{ print $2 }'; }
printf '%-40s %-46s %s\n' "  corral / floor (medians)" \
    "$(ratio "$(med "$C_CRASH")" "$(med "$F_CRASH")")${F_CG:+, / floor with cgroups $(ratio "$(med "$C_CRASH")" "$(med "$F_CG")")}" \
    "${P_CRASH:+$(ratio "$(med "$P_CRASH")" "$(med "$F_CRASH")")}"
