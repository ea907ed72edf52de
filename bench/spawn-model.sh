#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# A model of `start all` without corral (issue #16): N spawns of
# `/bin/sleep 100000`, timed from the first spawn until every child has
# exec'd (/proc/PID/exe), in five ways, RUNS runs of each interleaved.
# Prints figures, asserts nothing.
#
#   bench/spawn-model.sh            # N=500 RUNS=5
#   N=200 RUNS=9 bench/spawn-model.sh
#
# - floor: fork all, then wait for the execs (bench/scale.sh's floor);
# - serial: vfork each (the caller waits for each exec, as corrald's
#   CLONE_VM|CLONE_VFORK spawn does), no cgroup;
# - serial, joins: the same, each child first writing "0" to the `tasks`
#   file of a cgroup in each v1 hierarchy corral uses (what corrald's
#   child does; on v2, nothing: there the kernel places the child);
# - 1 thread / 2 threads, joins: as "serial, joins" from 1 or 2 threads
#   of their own, taking the next spawn from a shared counter (what
#   spawning from threads of the engine's own would give at best).
# The children are SIGKILLed and reaped after each run.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-500}
RUNS=${RUNS:-5}
WORK=$(mktemp -d /tmp/corral-spawnmodel.XXXXXX)
BENCH_TOP=$TOP
. "$TOP/bench/lib.sh"
CG=corral-spawnmodel.$$
cleanup() {
	bench_cgroups_remove "$CG"
	rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/model.c" <<'EOF'
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *files[8];
static int nfiles, n;
static pid_t *pids;
static char **args;
static atomic_int next;

#include "bench.h"
/* In the child: open, write and close are async-signal-safe. */
static void child(void)
{
	int i, fd;

	for (i = 0; i < nfiles; i++) {
		if ((fd = open(files[i], O_WRONLY | O_CLOEXEC)) == -1 ||
		    write(fd, "0", 1) != 1)
			_exit(126);
		close(fd);
	}
	execv(args[0], args);
	_exit(127);
}
static void *worker(void *arg)
{
	int i;

	(void)arg;
	while ((i = atomic_fetch_add(&next, 1)) < n)
		if ((pids[i] = vfork()) == 0)
			child();
	return NULL;
}
/* model MODE THREADS N CMD...: MODE fork or vfork; JOIN=FILE:FILE... */
int main(int argc, char **argv)
{
	char real[PATH_MAX], *join = getenv("JOIN"), *f;
	int i, threads = atoi(argv[2]), st;
	pthread_t th[8];
	double t0;

	n = atoi(argv[3]);
	args = argv + 4;
	pids = calloc(n, sizeof *pids);
	if (argc < 5 || pids == NULL || realpath(args[0], real) == NULL)
		return 1;
	for (f = join ? strtok(join, ":") : NULL; f && nfiles < 8;
	    f = strtok(NULL, ":"))
		files[nfiles++] = f;
	t0 = now();
	if (threads > 0) {
		for (i = 0; i < threads && i < 8; i++)
			pthread_create(&th[i], NULL, worker, NULL);
		for (i = 0; i < threads && i < 8; i++)
			pthread_join(th[i], NULL);
	} else
		for (i = 0; i < n; i++)
			if ((pids[i] = strcmp(argv[1], "vfork") == 0 ?
			    vfork() : fork()) == 0)
				child();
	for (i = 0; i < n; i++)
		wait_exec(pids[i], real);
	printf("%.0f\n", now() - t0);
	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(pids[i], &st, 0);
	return 0;
}
EOF
bench_c_header "$WORK"
cc -O2 -pthread -I"$WORK" -o "$WORK/model" "$WORK/model.c"

CGS=$(bench_cgroups_make "$CG")
JOINS=
case $CGS in "v1 "*) JOINS=${CGS#v1 } ;; esac
[ -n "$JOINS" ] || echo "no writable v1 cgroups: the joins are skipped"

stats() {
	sort -n | awk '{ v[NR] = $1 } END {
	    printf "median %d ms (min %d, max %d, %d runs)", v[int((NR + 1) / 2)],
	    v[1], v[NR], NR }'
}
for r in $(seq "$RUNS"); do
	"$WORK/model" fork 0 "$N" /bin/sleep 100000 >> "$WORK/floor"
	"$WORK/model" vfork 0 "$N" /bin/sleep 100000 >> "$WORK/serial"
	[ -n "$JOINS" ] || continue
	JOIN=$JOINS "$WORK/model" vfork 0 "$N" /bin/sleep 100000 >> "$WORK/sj"
	JOIN=$JOINS "$WORK/model" vfork 1 "$N" /bin/sleep 100000 >> "$WORK/t1"
	JOIN=$JOINS "$WORK/model" vfork 2 "$N" /bin/sleep 100000 >> "$WORK/t2"
done
echo "spawn model, $N spawns of /bin/sleep until all exec'd, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "floor (fork all, then wait):  $(stats < "$WORK/floor")"
echo "serial (vfork, no cgroup):    $(stats < "$WORK/serial")"
[ -n "$JOINS" ] || exit 0
echo "serial, joins:                $(stats < "$WORK/sj")"
echo "1 thread, joins:              $(stats < "$WORK/t1")"
echo "2 threads, joins:             $(stats < "$WORK/t2")"
