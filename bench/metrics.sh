#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# The metrics endpoint and autoscaling, measured on 127.0.0.1:
#
#  1. scrapes of /metrics with 10, 100 and 1,000 instances (COUNTS): the
#     latency of a scrape (median and 95th percentile over SCRAPES
#     back-to-back scrapes), the size of the answer, and the daemon's CPU
#     per scrape two ways: its own figure (corral_metrics_scrape_cpu_seconds,
#     the loop thread's CPU to build the answer) and from /proc (the
#     daemon's CPU while scraping less its CPU when idle, measured over
#     at least 5 s, whose once-a-second sampling of every instance is
#     printed apart);
#  2. autoscaling of an app whose requests take SLEEP s each, one at a
#     time, under wrk with CONNS connections: the time from the start of
#     the load to the first instance added, and from the end of the load to
#     the first one removed (corrald.log's clock), with the product's
#     default windows (10s up, 60s down) unless UP and DOWN say otherwise.
#
# Usage: bench/metrics.sh   (BUILD=build-san for another build; knobs:
# COUNTS="10 100 1000" SCRAPES=200 CONNS=32 SLEEP=0.02 UP=10s DOWN=60s)
# Needs curl, wrk and python3. Never run by `make test`. Prints figures
# only; it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
COUNTS=${COUNTS:-"10 100 1000"}
SCRAPES=${SCRAPES:-200}
CONNS=${CONNS:-32}
SLEEP=${SLEEP:-0.02}
UP=${UP:-10s}
DOWN=${DOWN:-60s}
PY=/usr/bin/python3
CORRAL=$PWD/$BUILD/corral
BENCH_TOP=$PWD
. bench/lib.sh

bench_need wrk curl "$PY" "$CORRAL"

WORK=$(mktemp -d /tmp/corral-bench.XXXXXX)
export CORRAL_HOME=$WORK/home CORRAL_METRICS=127.0.0.1:0
cleanup() {
	set +e
	"$CORRAL" kill >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

endpoint() {
	"$CORRAL" info | sed -n 's|^metrics: http://\([^/]*\)/metrics.*|\1|p'
}

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# scrape_figures ADDR PID N: one line of figures for N instances.
scrape_figures() {
	$PY - "$1" "$2" "$3" "$SCRAPES" <<'EOF'
import os, re, sys, time, urllib.request
addr, pid, n, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
def get():
    with urllib.request.urlopen("http://%s/metrics" % addr, timeout=30) as r:
        return r.read()
get()
lat, own = [], []
c0, t0 = cpu(), time.monotonic()
for _ in range(count):
    s = time.monotonic()
    body = get()
    lat.append(time.monotonic() - s)
    m = re.search(rb"^corral_metrics_scrape_cpu_seconds (\S+)$", body, re.M)
    own.append(float(m.group(1)))
busy_cpu, busy_t = cpu() - c0, time.monotonic() - t0
c1, idle_t = cpu(), max(busy_t, 5)
time.sleep(idle_t)
idle_rate = (cpu() - c1) / idle_t
lat.sort(); own.sort()
per = max(busy_cpu - idle_rate * busy_t, 0) / count
print("%6s instances: scrape %6.2f ms median, %6.2f ms p95, %8d bytes; "
      "daemon CPU per scrape %5.2f ms (own figure, median) %5.2f ms "
      "(/proc); idle sampling %4.1f%% of a core"
      % (n, 1000 * lat[len(lat) // 2], 1000 * lat[int(len(lat) * .95)],
         len(body), 1000 * own[len(own) // 2], 1000 * per, 100 * idle_rate))
EOF
}

echo "== scrapes of /metrics ($SCRAPES each)"
printf '#!/bin/sh\nexec sleep 3600\n' > "$WORK/idle.sh"
chmod +x "$WORK/idle.sh"
for n in $COUNTS; do
	# a daemon of its own each time
	export CORRAL_HOME=$WORK/home-$n
	"$CORRAL" start "$WORK/idle.sh" --name idle -i "$n" >/dev/null
	addr=$(endpoint)
	pid=$(cat "$CORRAL_HOME/corrald.pid")
	scrape_figures "$addr" "$pid" "$n"
	"$CORRAL" kill >/dev/null
done
export CORRAL_HOME=$WORK/home

echo "== autoscaling (windows: up $UP, down $DOWN; $CONNS connections)"
cat > "$WORK/slow.py" <<'EOF'
import os, signal, socket, time
sleep = float(os.environ["SLEEP"])
main = socket.socket(fileno=3)
main.settimeout(0.2)
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
while not stop:
    try:
        c, _ = main.accept()
    except (socket.timeout, BlockingIOError, InterruptedError):
        continue
    c.settimeout(10)
    try:
        c.recv(4096)
        time.sleep(sleep)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                  b"Connection: close\r\n\r\nok\n")
    except OSError:
        pass
    c.close()
EOF
port=$(free_port)
"$CORRAL" start "$WORK/slow.py" --name slow --interpreter "$PY" \
	--listen "127.0.0.1:$port" --ready notify --env "SLEEP=$SLEEP" \
	--scale 1..2 --scale-above-cpus --scale-up-window "$UP" \
	--scale-down-window "$DOWN" >/dev/null
log=$CORRAL_HOME/corrald.log
ms() { $PY -c 'import time; print(int(time.time() * 1000))'; }
# log_ms PATTERN: the wall clock ms of the first log line matching it
log_ms() {
	$PY - "$log" "$1" <<'EOF'
import datetime, re, sys
for line in open(sys.argv[1]):
    if re.search(sys.argv[2], line):
        t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
        print(int(t.timestamp() * 1000))
        break
EOF
}
start=$(ms)
wrk -t 2 -c "$CONNS" -d 600s "http://127.0.0.1:$port/" > "$WORK/wrk.out" 2>&1 &
wrk_pid=$!
for _ in $(seq 1 1200); do
	[ -n "$(log_ms 'slow: autoscale 1 -> 2')" ] && break
	sleep 0.1
done
up_at=$(log_ms 'slow: autoscale 1 -> 2')
sleep 2
kill -INT "$wrk_pid"
wait "$wrk_pid" || true
end=$(ms)
for _ in $(seq 1 3000); do
	[ -n "$(log_ms 'slow: autoscale 2 -> 1')" ] && break
	sleep 0.1
done
down_at=$(log_ms 'slow: autoscale 2 -> 1')
echo "load to first instance added:   $(( up_at - start )) ms ($(grep -m1 'autoscale 1 -> 2' "$log" | cut -d' ' -f3-))"
echo "end of load to first removed:   $(( down_at - end )) ms ($(grep -m1 'autoscale 2 -> 1' "$log" | cut -d' ' -f3-))"
