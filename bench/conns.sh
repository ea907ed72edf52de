#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# What idle and partial-request clients cost the daemon (issue #11); prints
# figures, asserts nothing.
#
#   bench/conns.sh                     # corral from ./build
#   CONNS=500 PARTIAL=1048575 bench/conns.sh
#
# What is measured, and how: a daemon in a private CORRAL_HOME; CONNS
# connections to its socket, each sending PARTIAL bytes of a request with
# no end of line and then holding still (the issue's case: 200 clients of
# a 1 MB partial line each).  The daemon's VmRSS (/proc/PID/status) and
# descriptor count (/proc/PID/fd) before, once every byte is sent, and
# after `corral ping` (which must answer meanwhile, timed); then how many
# of the connections the daemon closed (told "busy" or cut) within 15 s.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
CORRAL=$BUILD/corral
CONNS=${CONNS:-200}
PARTIAL=${PARTIAL:-1000000}

[ -x "$CORRAL" ] || { echo "bench: $CORRAL missing (make first)" >&2; exit 1; }
ulimit -n $((CONNS + 64)) 2>/dev/null || true
WORK=$(mktemp -d /tmp/corral-conns.XXXXXX)
export CORRAL_HOME=$WORK/home
cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

"$CORRAL" ping >/dev/null
DPID=$(cat "$CORRAL_HOME/corrald.pid")
echo "corral $("$CORRAL" --version | awk '{print $2}'): $CONNS clients" \
    "holding $PARTIAL bytes of a request each"
CORRAL="$CORRAL" DPID="$DPID" CONNS="$CONNS" PARTIAL="$PARTIAL" \
    python3 - <<'EOF'
import os, select, socket, subprocess, time

dpid, n, size = int(os.environ["DPID"]), int(os.environ["CONNS"]), \
    int(os.environ["PARTIAL"])
sock = os.path.join(os.environ["CORRAL_HOME"], "corral.sock")


def rss():
    for line in open(f"/proc/{dpid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def fds():
    return len(os.listdir(f"/proc/{dpid}/fd"))


print(f"before: RSS {rss() // 1024} MiB, {fds()} fds")
conns, cut_early = [], 0
chunk = b"x" * 65536
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.settimeout(10)
    left = size
    try:
        while left > 0:
            left -= s.send(chunk[:min(left, len(chunk))])
    except OSError:
        cut_early += 1
    conns.append(s)
time.sleep(1)
print(f"all sent: RSS {rss() // 1024} MiB, {fds()} fds "
      f"({cut_early} cut while sending)")
t = time.monotonic()
p = subprocess.run([os.environ["CORRAL"], "ping"], capture_output=True)
print(f"ping meanwhile: exit {p.returncode} in "
      f"{(time.monotonic() - t) * 1000:.0f} ms; RSS {rss() // 1024} MiB")
deadline, closed = time.monotonic() + 15, set()
while time.monotonic() < deadline and len(closed) < n:
    r, _, _ = select.select([s for s in conns if s not in closed], [], [],
                            0.5)
    for s in r:
        try:
            if not s.recv(65536):
                closed.add(s)
        except OSError:
            closed.add(s)
print(f"closed by the daemon within 15 s: {len(closed)} of {n}; "
      f"RSS {rss() // 1024} MiB, {fds()} fds")
for s in conns:
    s.close()
EOF
