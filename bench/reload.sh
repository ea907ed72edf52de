#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# A rolling reload of many instances under load, against PM2, in one run:
# the Node example as corral -i INSTANCES (default surge, then --surge 1,
# the old default) and as PM2 cluster -i INSTANCES, each reloaded REPEAT
# times while wrk runs with "Connection: close" (every request on a new
# connection, the hardest case for a hand-over). Prints each reload
# command's wall time (min/median/max; the command returns when the reload
# is done) and the requests that failed during the whole load.
#
# Usage: bench/reload.sh   (BUILD=build-san to use another build; knobs:
# INSTANCES=8 REPEAT=5 THREADS=2 CONNS=32 WARM=2)
# Needs wrk and node; PM2 as bench/lib.sh says. Never run by `make test`.
# Prints figures only; it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TOP=$PWD
. bench/lib.sh

BUILD=${BUILD:-build}
INSTANCES=${INSTANCES:-8}
REPEAT=${REPEAT:-5}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
WARM=${WARM:-2}
PY=/usr/bin/python3
APP=$PWD/examples/node/app.js
CORRAL=$PWD/$BUILD/corral

bench_need wrk node curl "$CORRAL"

WORK=$(mktemp -d /tmp/corral-bench.XXXXXX)
export CORRAL_HOME=$WORK/corral
mkdir -p "$CORRAL_HOME"
PM2=${PM2:-}

cleanup() {
	set +e
	"$CORRAL" kill >/dev/null 2>&1
	bench_pm2_kill
	rm -rf "$WORK"
}
trap cleanup EXIT
bench_pm2 "$WORK"

# reloads LABEL PORT CMD...: wrk with "Connection: close" on PORT; after
# WARM s, CMD REPEAT times, one after the other (1 s apart); then wrk stops.
reloads() {
	local label=$1 port=$2 t0 rps err non2xx
	shift 2
	wrk -t"$THREADS" -c"$CONNS" -d600s -H "Connection: close" \
	    "http://127.0.0.1:$port/" >"$WORK/wrk.txt" 2>&1 &
	local wrk_pid=$!
	: >"$WORK/took"
	sleep "$WARM"
	for _ in $(seq 1 "$REPEAT"); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1 || echo "  (reload command failed)"
		awk -v a="$t0" -v b="$EPOCHREALTIME" \
		    'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$WORK/took"
		sleep 1
	done
	kill -INT "$wrk_pid"
	wait "$wrk_pid" || true
	read -r rps err non2xx < <(awk '
	/Requests\/sec/ { rps = $2 }
	/Socket errors/ { gsub(",", ""); e = $4 + $6 + $8 + $10 }
	/Non-2xx/ { n = $5 }
	END { printf "%.0f %d %d\n", rps, e + 0, n + 0 }' "$WORK/wrk.txt")
	printf "  %-28s %s; failed %d (socket errors %d, non-2xx %d; %s req/s)\n" \
	    "$label" "$(bench_stats <"$WORK/took")" $((err + non2xx)) "$err" \
	    "$non2xx" "$rps"
}

echo "corral reload bench: $(nproc) CPUs, -i $INSTANCES, wrk -t$THREADS" \
    "-c$CONNS Connection: close, $(node --version)," \
    "PM2 ${PM2:+$("$PM2" --version 2>/dev/null | tail -1)}"
CPORT=$(bench_free_port)
"$CORRAL" start "$APP" --name web -i "$INSTANCES" \
    --listen "127.0.0.1:$CPORT" >/dev/null
bench_wait_http "$CPORT"
bench_wait_until 120 bench_corral_online "$INSTANCES"
echo "one reload of $INSTANCES instances, $REPEAT times each (wall time of the command)"
reloads "corral, default surge" "$CPORT" "$CORRAL" reload web
grep -o "web: reload of [0-9]* instance(s), surge [0-9]*" \
    "$CORRAL_HOME/corrald.log" | tail -1 | sed 's/^/    (/; s/$/)/'
reloads "corral, --surge 1" "$CPORT" "$CORRAL" reload web --surge 1
"$CORRAL" delete web >/dev/null

if [ -n "$PM2" ]; then
	PPORT=$(bench_free_port)
	PORT=$PPORT "$PM2" start "$APP" --name pc -i "$INSTANCES" >/dev/null 2>&1
	bench_wait_http "$PPORT"
	bench_wait_until 120 bench_pm2_online "$INSTANCES"
	reloads "PM2 cluster" "$PPORT" "$PM2" reload pc
fi
