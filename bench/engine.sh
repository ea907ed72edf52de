#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# Figures of issue #13 for the real engine (corrald under corral-keeper):
#
#  1. the time from a kill -9 of the engine until the control socket
#     answers again, KILLS times (median, min, max): a Python loop that
#     lives through the whole run kills the engine, connects at once (the
#     keeper holds the socket: the connection waits in its backlog), sends
#     `ping` and takes the time when the reply of the new engine (another
#     pid) has come: no client start-up is in the figure. The start-up of
#     `corral ping` against a live engine is printed beside it (what a
#     user's first command after a kill pays on top);
#  2. failed requests (socket errors and non-2xx, wrk's counts) under a
#     bounded wrk load on a cluster app (-i 2 of the C example on a held
#     port, else the Python one) during WRK_KILLS engine kills, then during
#     UPDATES `corral update`s (to the same corrald: the figure is the
#     replacement's, not a new version's);
#  3. the keeper's and the engine's RSS (VmRSS) with 0 and INSTANCES
#     instances (fork mode, `sleep`);
#  4. (1.) again with SCALE instances of the C example (notify readiness:
#     a new engine adopts each one's pipes, cgroup, pidfd, OOM watch and
#     ready mark), SCALE_KILLS times; SCALE=0 leaves it out;
#  5. (1.) again with APPS apps of one `sleep` each, from one PM2 JSON
#     file (past the keeper's old cap of 4,096 processes), APPS_KILLS
#     times; left out when APPS=0 or the descriptor limit is too low
#     (about 4 per app in the engine, 2 in the keeper).
#
# Each kill waits until the engine has served 1.1 s: the keeper restarts
# an engine that died within 1 s of READY after a crash-loop delay.
#
# Usage: bench/engine.sh   (BUILD=build-san for another build; knobs:
# KILLS=20 WRK_KILLS=10 UPDATES=5 INSTANCES=50 THREADS=2 CONNS=16
# SCALE=500 SCALE_KILLS=5 APPS=4200 APPS_KILLS=3)
# Needs wrk and python3. Never run by `make test`. Prints figures only.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TOP=$PWD
. bench/lib.sh

BUILD=${BUILD:-build}
KILLS=${KILLS:-20}
WRK_KILLS=${WRK_KILLS:-10}
UPDATES=${UPDATES:-5}
INSTANCES=${INSTANCES:-50}
SCALE=${SCALE:-500}
SCALE_KILLS=${SCALE_KILLS:-5}
APPS=${APPS:-4200}
APPS_KILLS=${APPS_KILLS:-3}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
PY=/usr/bin/python3
CORRAL=$PWD/$BUILD/corral
HELLO_C=$PWD/$BUILD/examples/corral-hello-c

bench_need wrk "$PY" "$CORRAL"

WORK=$(mktemp -d /tmp/corral-bench.XXXXXX)
export CORRAL_HOME=$WORK/corral
mkdir -p "$CORRAL_HOME"
WRK_PID=

cleanup() {
	set +e
	[ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null && wait "$WRK_PID"
	"$CORRAL" kill >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# anon PID: RssAnon (the process's own memory; VmRSS adds the pages of
# its binary and shared libraries it touched)
anon() {
	awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"
}

engine_pid() {
	cat "$CORRAL_HOME/corrald.pid"
}

# served: waits until an engine other than $1 answers, then 1.1 s more
# (the keeper's crash-loop rule); prints its pid.
served() {
	local pid
	for _ in $(seq 1 600); do
		pid=$("$CORRAL" ping --json 2>/dev/null >/dev/null && engine_pid) ||
		    pid=
		[ -n "$pid" ] && [ "$pid" != "$1" ] && break
		sleep 0.05
	done
	sleep 1.1
	echo "$pid"
}

# wrk_sum FILE: "errors non2xx requests" from wrk's output.
wrk_sum() {
	awk '
	/requests in/ { r = $1 }
	/Socket errors/ { gsub(",", ""); e = $4 + $6 + $8 + $10 }
	/Non-2xx/ { n = $5 }
	END { printf "%d %d %d\n", e + 0, n + 0, r + 0 }' "$1"
}

# under_load LABEL N CMD...: wrk runs while CMD runs N times (each after
# the engine has served 1.1 s), then 1 s more; prints the failures.
under_load() {
	local label=$1 n=$2 t0 took
	shift 2
	wrk -t"$THREADS" -c"$CONNS" -d600s "http://127.0.0.1:$PORT/" \
	    >"$WORK/wrk.txt" 2>&1 &
	WRK_PID=$!
	t0=$EPOCHREALTIME
	sleep 1
	for _ in $(seq 1 "$n"); do
		"$@"
	done
	sleep 1
	kill -INT "$WRK_PID"
	wait "$WRK_PID" || true
	WRK_PID=
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	read -r err non2xx reqs < <(wrk_sum "$WORK/wrk.txt")
	printf "  %-26s failed %d of %d requests (socket errors %d, non-2xx %d; %s s)\n" \
	    "$label" $((err + non2xx)) "$reqs" "$err" "$non2xx" "$took"
}

kill_one() {
	local pid
	pid=$(engine_pid)
	kill -9 "$pid"
	served "$pid" >/dev/null
}

update_one() {
	local pid t0
	pid=$(engine_pid)
	t0=$EPOCHREALTIME
	"$CORRAL" update >/dev/null || echo "  (corral update failed)"
	awk -v a="$t0" -v b="$EPOCHREALTIME" \
	    'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$WORK/update.ms"
	served "$pid" >/dev/null
}

# kill_answer N: N engine kills -9, each timed (ms, one per line) until
# the control socket answers a ping from another engine; a Python loop
# that lives through them all, so no client start-up is in the figures.
kill_answer() {
	KILLS=$1 SOCK=$CORRAL_HOME/corral.sock PIDFILE=$CORRAL_HOME/corrald.pid \
	    $PY - <<'PY'
import json, os, signal, socket, time

sock, pidfile = os.environ["SOCK"], os.environ["PIDFILE"]
req = json.dumps({"cmd": "ping", "argv": [], "cwd": "/", "env": {},
                  "v": 1}).encode() + b"\n"

def ping():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sock)
    s.sendall(req)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed")
        buf += chunk
    s.close()
    return json.loads(buf)["pid"]

for _ in range(int(os.environ["KILLS"])):
    old = ping()
    assert int(open(pidfile).read().split()[0]) == old
    t0 = time.monotonic()
    os.kill(old, signal.SIGKILL)
    while True:
        try:
            if ping() != old:
                break
        except OSError:          # the old engine's connection, cut
            pass
    print("%.3f" % ((time.monotonic() - t0) * 1000), flush=True)
    time.sleep(1.1)              # the keeper's crash-loop rule
PY
}

"$CORRAL" ping >/dev/null
echo "corral engine bench: $(nproc) CPUs, $BUILD, $("$CORRAL" engine)"

# 3a. RSS with no instance (measured first: nothing ran yet)
sleep 0.5
KEEPER=$(cat "$CORRAL_HOME/keeper.pid")
rss_k0=$(rss "$KEEPER")
rss_e0=$(rss "$(engine_pid)")
anon_k0=$(anon "$KEEPER")
anon_e0=$(anon "$(engine_pid)")

# 1. kill -9 until the control socket answers
echo "1. engine kill -9 until the control socket answers ($KILLS kills)"
for _ in $(seq 1 10); do
	t0=$EPOCHREALTIME
	"$CORRAL" ping >/dev/null
	awk -v a="$t0" -v b="$EPOCHREALTIME" \
	    'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$WORK/ping.ms"
done
served 0 >/dev/null
kill_answer "$KILLS" >"$WORK/answer.ms"
echo "  answered again:    $(bench_stats <"$WORK/answer.ms")"
echo "  corral ping alone: $(bench_stats <"$WORK/ping.ms") (client" \
    "start-up and one answer, live engine)"

# 2. failed requests under wrk
PORT=$(free_port)
if [ -x "$HELLO_C" ]; then
	"$CORRAL" start "$HELLO_C" --name web -i 2 --ready notify \
	    --listen "127.0.0.1:$PORT" >/dev/null
	app="corral-hello-c -i 2"
else
	"$CORRAL" start examples/python/app.py --name web -i 2 \
	    --interpreter "$PY" --listen "127.0.0.1:$PORT" >/dev/null
	app="examples/python/app.py -i 2"
fi
bench_wait_until 60 bench_corral_online 2
served 0 >/dev/null
echo "2. failed requests, wrk -t$THREADS -c$CONNS on $app"
pids_before=$("$CORRAL" jlist | grep -o '"pid": *[0-9]*' | sort | tr '\n' ' ')
under_load "$WRK_KILLS engine kills" "$WRK_KILLS" kill_one
under_load "$UPDATES corral updates" "$UPDATES" update_one
pids_after=$("$CORRAL" jlist | grep -o '"pid": *[0-9]*' | sort | tr '\n' ' ')
[ "$pids_before" = "$pids_after" ] && same=yes || same=NO
echo "  instances kept their pids through it all: $same"
echo "  one corral update took: $(bench_stats <"$WORK/update.ms")"
"$CORRAL" delete web >/dev/null

# 3b. RSS with INSTANCES instances
printf '#!/bin/sh\nexec sleep 100000\n' >"$WORK/sleeper.sh"
chmod +x "$WORK/sleeper.sh"
"$CORRAL" start "$WORK/sleeper.sh" --name s -i "$INSTANCES" >/dev/null
bench_wait_until 120 bench_corral_online "$INSTANCES"
sleep 1
rss_k50=$(rss "$KEEPER")
rss_e50=$(rss "$(engine_pid)")
anon_k50=$(anon "$KEEPER")
anon_e50=$(anon "$(engine_pid)")
echo "3. RSS, KiB: VmRSS (RssAnon)     keeper          engine        together"
printf "  %-3d instances           %6d (%5d)  %6d (%5d)  %6d\n" 0 "$rss_k0" \
    "$anon_k0" "$rss_e0" "$anon_e0" $((rss_k0 + rss_e0))
printf "  %-3d instances           %6d (%5d)  %6d (%5d)  %6d\n" "$INSTANCES" \
    "$rss_k50" "$anon_k50" "$rss_e50" "$anon_e50" $((rss_k50 + rss_e50))
"$CORRAL" delete s >/dev/null

# 4. kill -9 until the control socket answers, with SCALE instances
[ "$SCALE" -gt 0 ] && [ -x "$HELLO_C" ] || exit 0
PORT=$(free_port)
"$CORRAL" start "$HELLO_C" --name many -i "$SCALE" --ready notify \
    --listen "127.0.0.1:$PORT" >/dev/null
bench_wait_until 300 bench_corral_online "$SCALE"
served 0 >/dev/null
kill_answer "$SCALE_KILLS" >"$WORK/scale.ms"
echo "4. engine kill -9 until the control socket answers, $SCALE instances" \
    "of corral-hello-c --ready notify ($SCALE_KILLS kills)"
echo "  answered again:    $(bench_stats <"$WORK/scale.ms")"
"$CORRAL" delete many >/dev/null

# 5. the same with APPS apps of one sleep each
[ "$APPS" -gt 0 ] || exit 0
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt $((APPS * 4 + 1000)) ]; then
	echo "5. left out: $APPS apps need about $((APPS * 4 + 1000))" \
	    "descriptors, the hard limit is $HARD"
	exit 0
fi
bench_sleep_apps "$APPS" a /bin/sleep >"$WORK/apps.json"
t0=$EPOCHREALTIME
"$CORRAL" start "$WORK/apps.json" >/dev/null
bench_wait_until 600 bench_corral_online "$APPS"
took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" \
    'BEGIN { printf "%.0f", (b - a) * 1000 }')
kill_answer "$APPS_KILLS" >"$WORK/apps.ms"
bench_wait_until 600 bench_corral_online "$APPS"
echo "5. engine kill -9 until the control socket answers, $APPS apps of" \
    "one sleep ($APPS_KILLS kills; all $APPS online after them)"
echo "  first start:       $took ms, until all online"
echo "  answered again:    $(bench_stats <"$WORK/apps.ms")"
"$CORRAL" delete all >/dev/null
