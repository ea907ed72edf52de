#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# Cluster mode against PM2, with wrk on 127.0.0.1, all in one run:
#
#  1. requests/s of the Node example: one node process on its own, under
#     corral -i 2 (daemon-held socket, nothing in the data path), under PM2
#     cluster mode -i 2; ROUNDS interleaved rounds, the median is shown (the
#     machine may be shared: one round says little);
#  2. RELOADS reloads under wrk load, with "Connection: close" and with
#     keep-alive, counting every non-2xx answer and socket error, for
#     corral -i 2, PM2 cluster -i 2 and PM2 fork mode: wrk runs until every
#     reload has finished (each reload command returns when it is done),
#     with DURATION / (RELOADS + 1) seconds of load before each reload and
#     after the last;
#  3. a SIGKILLed instance (alone, so nobody else serves): the time from
#     the replacement's spawn (corrald.log) to its first answer, for the C
#     example (socket activation + sd_notify) and the Node example; also
#     the requests that failed meanwhile (none should: they queue).
#
# Usage: bench/cluster.sh   (BUILD=build-san to use another build; knobs:
# DURATION=20 RELOADS=5 THREADS=2 CONNS=32 TPUT=5 ROUNDS=3 KILLS=5)
# Needs wrk and node; PM2 as bench/lib.sh says (PM2 is needed here). Never
# run by `make test`. Prints figures only; it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TOP=$PWD
. bench/lib.sh

BUILD=${BUILD:-build}
DURATION=${DURATION:-20}
RELOADS=${RELOADS:-5}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
TPUT=${TPUT:-5}
ROUNDS=${ROUNDS:-3}
KILLS=${KILLS:-5}
PY=/usr/bin/python3
APP=$PWD/examples/node/app.js
HELLO_C=$PWD/$BUILD/examples/corral-hello-c
CORRAL=$PWD/$BUILD/corral

bench_need wrk node "$CORRAL" "$HELLO_C"

WORK=$(mktemp -d /tmp/corral-bench.XXXXXX)
export CORRAL_HOME=$WORK/corral
mkdir -p "$CORRAL_HOME"
DIRECT_PID=
PM2=

cleanup() {
	set +e
	[ -n "$DIRECT_PID" ] && kill "$DIRECT_PID" 2>/dev/null
	"$CORRAL" kill >/dev/null 2>&1
	bench_pm2_kill
	rm -rf "$WORK"
}
trap cleanup EXIT
bench_pm2 "$WORK"
[ -n "$PM2" ] || { echo "bench: this comparison needs PM2" >&2; exit 1; }

# wrk's figures: "req/s errors non2xx" from its output.
wrk_sum() {
	awk '
	/Requests\/sec/ { rps = $2 }
	/Socket errors/ { gsub(",", ""); e = $4 + $6 + $8 + $10 }
	/Non-2xx/ { n = $5 }
	END { printf "%.0f %d %d\n", rps, e + 0, n + 0 }' "$1"
}

# throughput KEY PORT: one wrk round, its req/s appended to $WORK/KEY.rps
throughput() {
	wrk -t"$THREADS" -c"$CONNS" -d"$TPUT"s "http://127.0.0.1:$2/" \
	    >"$WORK/tput.txt" 2>&1
	read -r rps err non2xx < <(wrk_sum "$WORK/tput.txt")
	echo "$rps $((err + non2xx))" >>"$WORK/$1.rps"
}

# report KEY LABEL: median req/s of the rounds, every round, failures
report() {
	sort -n "$WORK/$1.rps" | awk -v label="$2" '
	{ r[NR] = $1; all = all " " $1; f += $2 }
	END { printf "  %-20s median %6d req/s  (rounds:%s; failed %d)\n",
	    label, r[int((NR + 1) / 2)], all, f }'
}

# reloads NAME PORT HEADER CMD...: CMD run RELOADS times under wrk, each
# one after DURATION / (RELOADS + 1) s of load and once the previous one has
# returned (done); wrk stops that long after the last (SIGINT: it prints
# its figures).
reloads() {
	local name=$1 port=$2 header=$3
	shift 3
	local hdr=()
	[ -n "$header" ] && hdr=(-H "$header")
	wrk -t"$THREADS" -c"$CONNS" -d600s "${hdr[@]}" \
	    "http://127.0.0.1:$port/" >"$WORK/reload.txt" 2>&1 &
	local wrk_pid=$! gap t0=$EPOCHREALTIME took
	gap=$(( DURATION * 1000 / (RELOADS + 1) ))
	gap=$(printf '%d.%03d' $((gap / 1000)) $((gap % 1000)))
	for _ in $(seq 1 "$RELOADS"); do
		sleep "$gap"
		"$@" >/dev/null 2>&1 || echo "  (reload command failed)"
	done
	sleep "$gap"
	kill -INT "$wrk_pid"
	wait "$wrk_pid" || true
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	read -r rps err non2xx < <(wrk_sum "$WORK/reload.txt")
	printf "  %-34s failed %5d  (socket errors %d, non-2xx %d; %s req/s; %s s)\n" \
	    "$name" $((err + non2xx)) "$err" "$non2xx" "$rps" "$took"
}

echo "corral cluster bench: $(nproc) CPUs, wrk -t$THREADS -c$CONNS," \
    "$(node --version), PM2 $("$PM2" --version 2>/dev/null | tail -1)"
echo
echo "1. throughput of the Node example ($ROUNDS rounds of ${TPUT}s, keep-alive)"
DIRECT_PORT=$(bench_free_port)
PORT=$DIRECT_PORT node "$APP" >/dev/null &
DIRECT_PID=$!
bench_wait_http "$DIRECT_PORT"

CORRAL_PORT=$(bench_free_port)
"$CORRAL" start "$APP" --name web -i 2 --listen "127.0.0.1:$CORRAL_PORT" \
    >/dev/null
bench_wait_http "$CORRAL_PORT"

PM2C_PORT=$(bench_free_port)
PORT=$PM2C_PORT "$PM2" start "$APP" --name pc -i 2 >/dev/null 2>&1
bench_wait_http "$PM2C_PORT"

for _ in $(seq 1 "$ROUNDS"); do
	throughput direct "$DIRECT_PORT"
	throughput corral "$CORRAL_PORT"
	throughput pm2c "$PM2C_PORT"
done
report direct "node, one process"
report corral "corral -i 2"
report pm2c "PM2 cluster -i 2"
kill "$DIRECT_PID"; wait "$DIRECT_PID" 2>/dev/null || true; DIRECT_PID=

P=$(bench_free_port)
PORT=$P "$PM2" start "$APP" --name pf >/dev/null 2>&1
bench_wait_http "$P"
PM2F_PORT=$P

echo
echo "2. $RELOADS reloads under load (wrk runs until the last is done): failed requests"
for mode in "Connection: close" ""; do
	label=${mode:-keep-alive}
	reloads "corral -i 2, $label" "$CORRAL_PORT" "$mode" \
	    "$CORRAL" reload web
	reloads "PM2 cluster -i 2, $label" "$PM2C_PORT" "$mode" \
	    "$PM2" reload pc
	reloads "PM2 fork mode, $label" "$PM2F_PORT" "$mode" \
	    "$PM2" reload pf
done
"$PM2" kill >/dev/null 2>&1 || true

echo
echo "3. a SIGKILLed lone instance: spawn to first answer ($KILLS kills)"
P=$(bench_free_port)
"$CORRAL" start "$HELLO_C" --name c -i 1 --ready notify \
    --listen "127.0.0.1:$P" >/dev/null
P2=$(bench_free_port)
"$CORRAL" start "$APP" --name n -i 1 --listen "127.0.0.1:$P2" >/dev/null
bench_wait_http "$P"
bench_wait_http "$P2"
$PY - "$CORRAL" "$CORRAL_HOME/corrald.log" "$KILLS" "$P" "$P2" <<'EOF'
import datetime, http.client, json, os, signal, statistics, subprocess
import sys, threading, time

corral, logpath, kills, ports = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    {"c": int(sys.argv[4]), "n": int(sys.argv[5])}

def pid(name):
    for i in json.loads(subprocess.run([corral, "jlist"], check=True,
                        capture_output=True, text=True).stdout):
        if i["name"] == name and i["state"] == "online":
            return i["pid"]

def spawn_time(newpid):
    for line in open(logpath):
        if line.rstrip().endswith("started pid %d" % newpid):
            stamp = datetime.datetime.strptime(line.split()[0],
                                               "%Y-%m-%dT%H:%M:%S.%f")
            return stamp.timestamp()

def get(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/", headers={"Connection": "close"})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, int(body.split("pid ")[1].split()[0])

for name, label in (("c", "C example (LISTEN_FDS + sd_notify)"),
                    ("n", "Node example (preload)")):
    port, gaps, failed = ports[name], [], 0
    for _ in range(kills):
        old = None
        while old is None:
            old = pid(name)
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(old, signal.SIGKILL)
        # A client keeps asking on new connections; each one queues in the
        # held socket until the replacement accepts it.
        while True:
            try:
                status, who = get(port)
            except Exception:
                failed += 1
                continue
            if status != 200:
                failed += 1
            if who != old:
                served = time.time()
                break
        started = None
        while started is None:
            started = spawn_time(who)
            time.sleep(0.02)
        gaps.append((served - started) * 1000)
    print("  %-38s spawn to first answer: median %.0f ms (min %.0f, "
          "max %.0f); failed requests %d" % (label, statistics.median(gaps),
          min(gaps), max(gaps), failed))
EOF
echo "  (corrald.log stamps spawns to the millisecond; PM2 reference from the"
echo "   issue: fork mode 164 ms and 78 failed requests, cluster 309 ms and 1)"
