#!/bin/sh
# SPDX-License-Identifier: ISC
#
# What `corral ls` costs against its floor: for each count of ROWS (default
# "50 2000") idle instances in a private CORRAL_HOME, times RUNS runs
# (default 50, rounded up to tens, interleaved) of each of: `corral ls` (output to /dev/null); the floor, a
# trivial C client that connects to the socket, sends the same request,
# reads the reply and prints it (what any client pays for its own start,
# the round trip and the daemon's work), linked statically (the least a
# client can cost) and against the shared libc as corral is; and /bin/true
# (a process's start alone).  Each run is a posix_spawn + waitpid timed
# with CLOCK_MONOTONIC by a small C runner, so no shell or interpreter
# start is counted.  Back to back, the engine answers from its CPU and
# memory samples (fresh for 0.9 s); COLD_RUNS (default 5) more runs of the
# floor and of corral, 1.1 s apart, show ls as a person runs it, the
# samples read again.  OTHER=path/to/corral times a second client (an
# older build) against the same daemon in the same run.  APPS=1 makes
# the rows as many apps of one instance each (started from one PM2 JSON
# file) instead of one app's instances.  Prints
# min/median/max in ms and corral's median over each floor's; asserts
# nothing.  PM2's `pm2 ls` is in bench/core.sh.  Run from the top of the
# tree after `make`:
#   bench/ls.sh    or    ROWS=2000 RUNS=20 OTHER=/tmp/old/corral bench/ls.sh
set -eu

BUILD=${BUILD:-build}
ROWS=${ROWS:-50 2000}
RUNS=${RUNS:-50}
COLD_RUNS=${COLD_RUNS:-5}
OTHER=${OTHER:-}
APPS=${APPS:-0}
CC=${CC:-cc}
CORRAL=$(cd "$BUILD" && pwd)/corral
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"

WORK=$(mktemp -d /tmp/corral-bench-ls.XXXXXX)
CORRAL_HOME=$WORK/home
export CORRAL_HOME
cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# The floor: one request on the socket, the reply line to stdout.
cat >"$WORK/floor.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

/* Appends s as a JSON string (the environment is plain text here). */
static size_t
put(char *buf, size_t off, size_t cap, const char *s, size_t n)
{
	size_t i;

	buf[off++] = '"';
	for (i = 0; i < n && off + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf[off++] = '\\';
		if (c < 0x20)
			off += (size_t)snprintf(buf + off, cap - off, "\\u%04x", c);
		else
			buf[off++] = (char)c;
	}
	buf[off++] = '"';
	return off;
}

int
main(int argc, char **argv)
{
	static char req[1 << 20], buf[1 << 16];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t off = 0, cap = sizeof req - 64;
	char **e, *eq;
	ssize_t n;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof sun.sun_path)
		return 2;
	strcpy(sun.sun_path, argv[1]);
	off += (size_t)snprintf(req, cap, "{\"v\":1,\"cmd\":\"ls\",\"argv\":[],"
	    "\"cwd\":\"/\",\"env\":{");
	for (e = environ; *e != NULL && off + 1024 < cap; e++) {
		if ((eq = strchr(*e, '=')) == NULL)
			continue;
		if (e != environ)
			req[off++] = ',';
		off = put(req, off, cap, *e, (size_t)(eq - *e));
		req[off++] = ':';
		off = put(req, off, cap, eq + 1, strlen(eq + 1));
	}
	off += (size_t)snprintf(req + off, sizeof req - off, "}}\n");
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    write(fd, req, off) != (ssize_t)off)
		return 1;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (write(1, buf, (size_t)n) != n)
			return 1;
		if (buf[n - 1] == '\n')
			return 0;
	}
	return 1;
}
EOF

# The runner: RUNS spawns of a command, stdout to /dev/null, one time per
# line; GAP_MS between two runs (not timed).
cat >"$WORK/runner.c" <<'EOF'
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec a, b;
	int i, runs, status;
	pid_t pid;

	const char *gap = getenv("GAP_MS");
	struct timespec pause = { 0, 0 };

	if (argc < 3)
		return 2;
	if (gap != NULL) {
		pause.tv_sec = atoi(gap) / 1000;
		pause.tv_nsec = atoi(gap) % 1000 * 1000000L;
	}
	runs = atoi(argv[1]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (i = 0; i < runs; i++) {
		nanosleep(&pause, NULL);
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, environ) != 0)
			return 1;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "%s failed\n", argv[2]);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%.3f\n", (double)(b.tv_sec - a.tv_sec) * 1e3 +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	}
	return 0;
}
EOF
$CC -O2 -o "$WORK/floor" "$WORK/floor.c"
$CC -O2 -static -o "$WORK/floor-static" "$WORK/floor.c" 2>/dev/null ||
	{ echo "no static libc: the static floor is the shared one" >&2
	  cp "$WORK/floor" "$WORK/floor-static"; }
$CC -O2 -o "$WORK/runner" "$WORK/runner.c"

SOCK=$CORRAL_HOME/corral.sock

# online N: whether N instances of idle are online.
online() {
	[ "$("$CORRAL" jlist | $PY -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x["state"] == "online"))')" -ge "$1" ]
}

stats() {
	$PY -c '
import statistics, sys
v = sorted(float(x) for x in sys.stdin)
print("%-34s min %7.2f  median %7.2f  max %7.2f ms (%d runs)" %
      (sys.argv[1], v[0], statistics.median(v), v[-1], len(v)))
print(statistics.median(v), file=open(sys.argv[2], "w"))' "$1" "$2"
}

# measure N: the figures with N rows.
measure() {
	i=0
	while ! online "$1"; do
		i=$((i + 1))
		[ $i -lt 1500 ] || { echo "instances did not come online" >&2; exit 1; }
		sleep 0.2
	done
	# The floor's reply must be the list ls prints.
	"$WORK/floor" "$SOCK" | $PY -c 'import json,sys; r=json.loads(sys.stdin.readline()); assert r["ok"] and len(r["data"]) == '"$1"', r' ||
		{ echo "the floor client got no list of $1 rows" >&2; exit 1; }
	echo
	echo "corral ls, $1 rows, $RUNS runs each ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
	# Interleaved in rounds of 10, so that the load of a shared machine
	# weighs on every figure alike.
	rm -f "$WORK"/t.*
	r=0
	while [ $r -lt "$RUNS" ]; do
		"$WORK/runner" 10 /bin/true >>"$WORK/t.true"
		"$WORK/runner" 10 "$WORK/floor-static" "$SOCK" >>"$WORK/t.floors"
		"$WORK/runner" 10 "$WORK/floor" "$SOCK" >>"$WORK/t.floor"
		"$WORK/runner" 10 "$CORRAL" ls >>"$WORK/t.corral"
		[ -z "$OTHER" ] || "$WORK/runner" 10 "$OTHER" ls >>"$WORK/t.other"
		r=$((r + 10))
	done
	stats "/bin/true (process start)" "$WORK/m.true" <"$WORK/t.true"
	stats "floor (trivial C client, static)" "$WORK/m.floors" <"$WORK/t.floors"
	stats "floor (trivial C client, libc.so)" "$WORK/m.floor" <"$WORK/t.floor"
	stats "corral ls ($BUILD)" "$WORK/m.corral" <"$WORK/t.corral"
	[ -z "$OTHER" ] || stats "corral ls (OTHER)" "$WORK/m.other" <"$WORK/t.other"
	$PY - "$WORK" "$OTHER" <<'PYEOF'
import sys
w, other = sys.argv[1], sys.argv[2]
m = lambda n: float(open("%s/m.%s" % (w, n)).read())
for name in ["corral"] + (["other"] if other else []):
    print("%s ls / floor (median): %.2fx static, %.2fx libc.so" %
          ("corral" if name == "corral" else "OTHER", m(name) / m("floors"),
           m(name) / m("floor")))
PYEOF
	[ "$COLD_RUNS" -gt 0 ] || return 0
	GAP_MS=1100 "$WORK/runner" "$COLD_RUNS" "$WORK/floor-static" "$SOCK" | stats "cold: floor (static), 1.1 s apart" "$WORK/m.cfloor"
	GAP_MS=1100 "$WORK/runner" "$COLD_RUNS" "$CORRAL" ls | stats "cold: corral ls, 1.1 s apart" "$WORK/m.ccorral"
}

FIRST=
for n in $ROWS; do
	if [ "$APPS" = 1 ]; then
		"$CORRAL" delete all >/dev/null 2>&1 || true
		bench_sleep_apps "$n" idle sleep > "$WORK/apps.json"
		"$CORRAL" start "$WORK/apps.json" >/dev/null
	elif [ -z "$FIRST" ]; then
		"$CORRAL" start sleep --name idle -i "$n" -- 100000 >/dev/null
		FIRST=1
	else
		"$CORRAL" scale idle "$n" >/dev/null
	fi
	measure "$n"
done
