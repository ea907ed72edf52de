# SPDX-License-Identifier: ISC
#
# Sourced by the benchmarks (POSIX sh): how they find PM2 without ever
# touching the user's ~/.pm2, and the machine's floors they print beside
# corral's figures.  The sourcing script sets BENCH_TOP (the tree's top)
# before sourcing.
#
# PM2: `PM2=0` skips the PM2 figures; `PM2=/path/to/pm2` uses that one;
# otherwise pm2@7.0.4 from NPM_DIR (default build/npm), installed there with
# npm when missing (no npm: PM2 is skipped, with a message).

# bench_pm2 WORK: exports PM2_HOME=WORK/pm2 (every pm2 call of the script
# runs there, `pm2 --version` included), then sets PM2 to the pm2 command,
# or to "" when PM2 is skipped.
bench_pm2() {
	PM2_HOME=$1/pm2
	export PM2_HOME
	mkdir -p "$PM2_HOME"
	[ "${NO_PM2:-}" = 1 ] && PM2=0
	case ${PM2:-} in
	0)
		PM2=
		return 0 ;;
	?*)
		[ -x "$PM2" ] && return 0
		echo "bench: PM2=$PM2 is not an executable" >&2
		exit 1 ;;
	esac
	bench_npm_dir=${NPM_DIR:-$BENCH_TOP/build/npm}
	PM2=$bench_npm_dir/node_modules/.bin/pm2
	[ -x "$PM2" ] && return 0
	if ! command -v npm >/dev/null 2>&1; then
		echo "bench: no npm to install PM2: PM2 figures skipped" >&2
		PM2=
		return 0
	fi
	mkdir -p "$bench_npm_dir"
	npm install --no-audit --no-fund --prefix "$bench_npm_dir" \
	    pm2@7.0.4 >/dev/null
}

# bench_need TOOL...: the programs the benchmark runs. A missing one is
# installed (Debian's wrk, curl, node: scripts/deps.sh bench) or, if it
# still is missing, the benchmark ends saying which.
bench_need() {
	for bench_t in "$@"; do
		command -v "$bench_t" >/dev/null 2>&1 && continue
		sh "$BENCH_TOP/scripts/deps.sh" bench >&2 || true
		command -v "$bench_t" >/dev/null 2>&1 && continue
		echo "missing: $bench_t" >&2
		exit 1
	done
}

# bench_pm2_kill: ends the private PM2 daemon, if any.
bench_pm2_kill() {
	[ -n "${PM2:-}" ] || return 0
	"$PM2" kill >/dev/null 2>&1 || true
}

# bench_c_header DIR: DIR/bench.h, the C helpers the floors' programs
# share: now() (monotonic ms) and wait_exec(pid, path) (polls
# /proc/PID/exe until the child runs path).
bench_c_header() {
	cat > "$1/bench.h" <<'EOF'
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static void wait_exec(pid_t pid, const char *path)
{
	char link[64], exe[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	while ((len = readlink(link, exe, sizeof exe - 1)) < 0 ||
	    (exe[len] = '\0', strcmp(exe, path) != 0))
		usleep(1000);
}
EOF
}

# bench_floor_build WORK: compiles WORK/floor, a program that runs a
# command SAMPLES times in a row, each one forked and exec'd as soon as
# the previous one has been reaped (what a supervisor does at the least),
# and prints each run's wall time in ms (fork to reaped), one per line.
# With FLOOR_JOIN=FILE[:FILE...] each child first writes "0" to every FILE
# (a cgroup's tasks or cgroup.procs: the join corral's keeper does); with
# FLOOR_CLONE_INTO=DIR it is created in that v2 cgroup by
# clone3(CLONE_INTO_CGROUP) instead of fork.
bench_floor_build() {
	cat > "$1/floor.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
static pid_t spawn(int cgfd)
{
	/* struct clone_args: flags CLONE_INTO_CGROUP, exit_signal, cgroup */
	uint64_t a[11] = { 0x200000000ULL, 0, 0, 0, SIGCHLD };

	if (cgfd < 0)
		return fork();
	a[10] = (uint64_t)cgfd;
	return (pid_t)syscall(SYS_clone3, a, sizeof a);
}
static void join(const char *list)
{
	char *v, *f, *save = NULL;
	int fd;

	if (list == NULL || (v = strdup(list)) == NULL)
		return;
	for (f = strtok_r(v, ":", &save); f; f = strtok_r(NULL, ":", &save)) {
		if ((fd = open(f, O_WRONLY | O_CLOEXEC)) == -1 ||
		    write(fd, "0\n", 2) != 2)
			_exit(126);
		close(fd);
	}
}
int main(int argc, char **argv)
{
	int i, n = argc > 2 ? atoi(argv[1]) : 0, status, cgfd = -1;
	const char *into = getenv("FLOOR_CLONE_INTO");
	double t0;
	pid_t pid;

	if (into != NULL && (cgfd = open(into, O_RDONLY | O_DIRECTORY)) == -1)
		return 1;
	for (i = 0; i < n; i++) {
		t0 = now();
		if ((pid = spawn(cgfd)) == -1)
			return 1;
		if (pid == 0) {
			join(getenv("FLOOR_JOIN"));
			execv(argv[2], argv + 2);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) == -1 || (WIFEXITED(status) &&
		    WEXITSTATUS(status) >= 126))   /* no join, no exec */
			return 1;
		printf("%.3f\n", now() - t0);
	}
	return 0;
}
EOF
	bench_c_header "$1"
	cc -O2 -I"$1" -o "$1/floor" "$1/floor.c"
	printf 'int main(void) { return 0; }\n' > "$1/nothing.c"
	cc -O2 -static -o "$1/nothing" "$1/nothing.c" 2>/dev/null ||
	    cc -O2 -o "$1/nothing" "$1/nothing.c"
}

# bench_cgroups_make NAME: makes a cgroup NAME below this shell's own in
# each hierarchy corral uses and prints what the floor needs: "v1
# FILE:FILE..." (their tasks files), "v2 DIR", or nothing when there is no
# writable cgroup. bench_cgroups_remove NAME removes them (empty).
bench_cgroups_make() {
	local c base d files=
	if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		base=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
		d=/sys/fs/cgroup${base%/}/$1
		mkdir -p "$d" 2>/dev/null && echo "v2 $d"
		return 0
	fi
	for c in memory cpu cpuacct pids freezer; do
		[ -d "/sys/fs/cgroup/$c" ] || continue
		base=$(awk -F: -v c="$c" '$2 ~ "(^|,)" c "(,|$)" { print $3 }' \
		    /proc/self/cgroup)
		d=/sys/fs/cgroup/$c${base%/}/$1
		mkdir -p "$d" 2>/dev/null || continue
		files=$files${files:+:}$d/tasks
	done
	[ -z "$files" ] || echo "v1 $files"
}
bench_cgroups_remove() {
	local d
	for d in $(find /sys/fs/cgroup -maxdepth 5 -type d -name "$1" \
	    2>/dev/null); do
		rmdir "$d" 2>/dev/null || true
	done
}

# bench_stats: median/min/max of numbers (one per line), in ms.
bench_stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "no samples"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "median %.2f ms (min %.2f, max %.2f, n=%d)", m, v[1], v[NR], NR }'
}

# bench_wait_until SECONDS CMD...: runs CMD every 0.2 s until it succeeds;
# returns 1 with a message after SECONDS.
bench_wait_until() {
	bench_end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$bench_end" ] ||
		    { echo "bench: timed out: $*" >&2; return 1; }
		sleep 0.2
	done
}

# bench_sleep_apps N PREFIX SCRIPT: a PM2 JSON file (on stdout) of N apps
# PREFIX00001.. of one SCRIPT (a sleep) 100000 each.
bench_sleep_apps() {
	bench_i=1
	echo '{"apps": ['
	while [ "$bench_i" -le "$1" ]; do
		printf '{"name": "%s%05d", "script": "%s", "args": "100000"}' \
		    "$2" "$bench_i" "$3"
		[ "$bench_i" -lt "$1" ] && echo ,
		bench_i=$((bench_i + 1))
	done
	echo ']}'
}

# bench_corral_online N: whether $CORRAL's jlist has N online instances.
bench_corral_online() {
	[ "$("$CORRAL" jlist | grep -o '"state": *"online"' | wc -l)" -ge "$1" ]
}

# bench_pm2_sleepers N SCRIPT: starts N fork-mode PM2 apps s0.. of SCRIPT
# (from an ecosystem file beside it) and waits until all are online.
bench_pm2_sleepers() {
	bench_eco=$(dirname "$2")/ecosystem.config.js
	{
		echo "module.exports = { apps: ["
		bench_i=0
		while [ "$bench_i" -lt "$1" ]; do
			echo "{ name: 's$bench_i', script: '$2', interpreter: 'none', autorestart: true },"
			bench_i=$((bench_i + 1))
		done
		echo "] };"
	} > "$bench_eco"
	"$PM2" start "$bench_eco" >/dev/null 2>&1
	bench_wait_until 300 bench_pm2_online "$1"
}

# bench_pm2_online N: whether $PM2's jlist has N online processes.
bench_pm2_online() {
	[ "$("$PM2" jlist 2>/dev/null | grep -o '"status":"online"' | wc -l)" -ge "$1" ]
}

# bench_free_port: a free TCP port on 127.0.0.1.
bench_free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_wait_http PORT: waits (up to 20 s) until http://127.0.0.1:PORT/
# answers; 1 with a message if it never does.
bench_wait_http() {
	for _ in $(seq 1 400); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.05
	done
	echo "nothing answers on $1" >&2
	return 1
}
