#!/bin/sh
# SPDX-License-Identifier: ISC
#
# What `corral monit` costs: starts N idle instances (default 100) in a
# private CORRAL_HOME, measures the daemon's CPU for SECS seconds without a
# subscriber, then runs the real `corral monit` on a pseudo-terminal (80x24)
# for SECS seconds and measures the monitor's CPU and the daemon's again.
# Then measures how long a crash takes to show on the monitor's screen
# (read through the tests' terminal emulator): KILLS instances are killed
# one after the other (default 5).
# Prints the figures; asserts nothing. Run from the top of the tree after
# `make`:   bench/monit.sh   or   N=200 SECS=60 LOGS=1 bench/monit.sh
# LOGS=1 makes every instance print a line per second as well.
set -eu

BUILD=${BUILD:-build}
N=${N:-100}
SECS=${SECS:-30}
LOGS=${LOGS:-0}
KILLS=${KILLS:-5}
TOP=$(pwd)
CORRAL=$(cd "$BUILD" && pwd)/corral
PY=/usr/bin/python3

CORRAL_HOME=$(mktemp -d /tmp/corral-bench-monit.XXXXXX)
export CORRAL_HOME
cleanup() {
	"$CORRAL" kill >/dev/null 2>&1 || true
	rm -rf "$CORRAL_HOME"
}
trap cleanup EXIT INT TERM

if [ "$LOGS" = 1 ]; then
	"$CORRAL" start sh --name chatty -i "$N" -- -c \
	    'while :; do echo "tick $(date +%s)"; sleep 1; done' >/dev/null
else
	"$CORRAL" start sleep --name idle -i "$N" -- 100000 >/dev/null
fi

# wait until all N are online
i=0
while [ "$("$CORRAL" jlist | $PY -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x["state"] == "online"))')" -lt "$N" ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "instances did not come online" >&2; exit 1; }
	sleep 0.2
done
DPID=$(cat "$CORRAL_HOME/corrald.pid")

$PY - "$CORRAL" "$DPID" "$SECS" "$N" "$KILLS" "$TOP" <<'EOF'
import os, pty, select, sys, time, signal, struct, fcntl, termios
corral, dpid, secs, n = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
kills, top = int(sys.argv[5]), sys.argv[6]
tck = os.sysconf("SC_CLK_TCK")

def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tck

def measure(pids, secs, fd=None):
    c0 = [cpu(p) for p in pids]
    t0 = time.monotonic()
    out = 0
    while time.monotonic() - t0 < secs:
        if fd is None:
            time.sleep(0.5)
            continue
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            out += len(os.read(fd, 65536))
    dt = time.monotonic() - t0
    return [100 * (cpu(p) - c) / dt for p, c in zip(pids, c0)], out / dt

(d0,), _ = measure([dpid], secs)
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm-256color"
    os.execv(corral, [corral, "monit"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
time.sleep(2)   # let it connect and draw the first frame
(m, d1), bps = measure([pid, dpid], secs, fd)
os.write(fd, b"q")
os.waitpid(pid, 0)
print("instances:                      %s" % n)
print("seconds measured:               %.0f (each)" % secs)
print("corral monit CPU:               %.2f%% of a core" % m)
print("corral monit output:            %.0f bytes/s to the terminal" % bps)
print("corrald CPU without subscriber: %.2f%% of a core" % d0)
print("corrald CPU with monit:         %.2f%% of a core" % d1)
print("extra daemon cost per monit:    %.2f%% of a core" % (d1 - d0))

# crash -> screen: kill the first instance's pid, wait for its new pid
import json, subprocess
sys.path.insert(0, top + "/tests/integration")
from monit_term import Term
env = dict(os.environ, TERM="xterm-color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
t = Term([corral, "monit"], env, 80, 24)
def row0():
    for line in t.lines()[2:]:
        c = line[2:].split()
        if len(c) > 3 and c[0] == "0":
            return c
    return None
t.wait(lambda s: row0() is not None and row0()[2] != "-", 30, "row of id 0")
lat = []
for k in range(kills):
    pid = int(row0()[2])
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    t.wait(lambda s: row0() is not None and row0()[2] not in (str(pid), "-"),
           30, "the restart")
    lat.append(time.monotonic() - t0)
    time.sleep(1.5)     # past min_uptime, so the restarts stay stable
t.send("q")
t.exited()
t.close()
lat.sort()
print("crash to screen (%d kills):      median %.2fs, max %.2fs"
      % (kills, lat[len(lat) // 2], lat[-1]))
EOF
