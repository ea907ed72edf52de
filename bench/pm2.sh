#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# PM2 apps reloaded under load, corral against PM2, in one run: apps that
# do not drain by themselves (no SIGTERM handler: they die at once), -i 2
# with no --port (corral's bind on demand, PM2's cluster mode), RELOADS
# reloads while CLIENTS threads make requests on new connections
# ("Connection: close", each with a 10 s timeout); every failed request
# (refused, reset, timeout, non-200) is counted.
#
#   node    a Node http server, listen(process.env.PORT), no handler
#   http-server  npm's http-server (exits at SIGTERM)
#
# for corral (draining reload), corral with --drain-timeout 0 (no
# draining: what the reload did before), and PM2 cluster mode.
#
# Usage: bench/pm2.sh   (BUILD=build-san for the other build; knobs:
# RELOADS=3 CLIENTS=6; NPM_DIR=folder to reuse for pm2 and http-server,
# default build/npm, installed with npm when missing; PM2=0 skips PM2)
# Never run by `make test`. Prints figures only; it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
RELOADS=${RELOADS:-3}
CLIENTS=${CLIENTS:-6}
NPM_DIR=${NPM_DIR:-$PWD/build/npm}
RUN_PM2=${PM2:-1}
CORRAL=$PWD/$BUILD/corral
PY=/usr/bin/python3

command -v node >/dev/null || { echo "missing: node" >&2; exit 1; }
if [ ! -x "$NPM_DIR/node_modules/.bin/pm2" ] ||
    [ ! -x "$NPM_DIR/node_modules/.bin/http-server" ]; then
	mkdir -p "$NPM_DIR"
	npm install --no-audit --no-fund --prefix "$NPM_DIR" \
	    pm2@7.0.4 http-server@14.1.1 >/dev/null
fi
PM2_BIN=$NPM_DIR/node_modules/.bin/pm2
HTTP_SERVER=$NPM_DIR/node_modules/.bin/http-server

TMP=$(mktemp -d /tmp/corral-bench-pm2.XXXXXX)
export CORRAL_HOME=$TMP/corral PM2_HOME=$TMP/pm2
cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	[ "$RUN_PM2" = 0 ] || "$PM2_BIN" kill >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

cat > "$TMP/app.js" <<'JS'
const http = require('http');
http.createServer((req, res) => {
  res.setHeader('Connection', 'close');
  res.end(`hello pid ${process.pid}\n`);
}).listen(Number(process.env.PORT) || 3000);
JS
mkdir -p "$TMP/www" && echo hello > "$TMP/www/index.html"

# load PORT CMD...: requests during RELOADS runs of CMD; prints "ok failed"
load() {
	"$PY" - "$CLIENTS" "$RELOADS" "$@" <<'PY'
import http.client, subprocess, sys, threading, time
clients, reloads, port, cmd = int(sys.argv[1]), int(sys.argv[2]), \
    int(sys.argv[3]), sys.argv[4:]
stop, lock, res = threading.Event(), threading.Lock(), [0, 0]
def get():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/", headers={"Connection": "close"})
        r = c.getresponse(); r.read()
        return r.status == 200
    except Exception:
        return False
    finally:
        c.close()
end = time.time() + 30
while not get() and time.time() < end:
    time.sleep(0.1)
def client():
    while not stop.is_set():
        ok = get()
        with lock:
            res[0 if ok else 1] += 1
ts = [threading.Thread(target=client) for _ in range(clients)]
[t.start() for t in ts]
time.sleep(1)
for _ in range(reloads):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    time.sleep(1)
stop.set()
[t.join() for t in ts]
print(res[0], res[1])
PY
}

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

row() { printf '%-12s %-36s %9s %7s\n' "$@"; }

row app manager requests failed
for app in node http-server; do
	for mgr in corral corral-no-drain pm2; do
		[ "$mgr" = pm2 ] && [ "$RUN_PM2" = 0 ] && continue
		port=$(free_port)
		if [ "$app" = node ]; then
			script=$TMP/app.js; args=()
		else
			script=$HTTP_SERVER; args=(-- "$TMP/www" -p "$port" -s)
		fi
		case $mgr in
		corral|corral-no-drain)
			extra=()
			[ "$mgr" = corral ] || extra=(--drain-timeout 0)
			"$CORRAL" start "$script" --name b -i 2 \
			    --env "PORT=$port" "${extra[@]}" "${args[@]}" \
			    >/dev/null
			r=$(load "$port" "$CORRAL" reload b)
			"$CORRAL" delete b >/dev/null ;;
		pm2)
			PORT=$port "$PM2_BIN" start "$script" --name b -i 2 \
			    "${args[@]}" >/dev/null
			r=$(load "$port" "$PM2_BIN" reload b)
			"$PM2_BIN" delete b >/dev/null ;;
		esac
		row "$app" "$mgr (-i 2, $RELOADS reloads)" $r
	done
done
