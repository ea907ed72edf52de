# SPDX-License-Identifier: ISC
"""The unit `corral startup systemd` writes, run by a real systemd with the
real corrald and corral-keeper: an engine kill -9 and a `corral update`
are not the service's death (the unit stays active, the keeper stays its
main process, systemd restarts nothing, the apps keep their pids and lose
no log line), and `systemctl stop` still stops every app gracefully and
leaves nothing in the unit's cgroup. The binaries run from a copy, so that
the update can replace corrald at the unit's path. Needs systemd as PID 1
and root (the VM_SYSTEMD guest of tests/vm/cgroup.sh): skipped elsewhere."""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import BUILD, pid_alive, wait_for

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/run/systemd/system") or os.geteuid() != 0,
    reason="needs systemd as PID 1 and root (VM_SYSTEMD guest)")

UNIT = "corral-root.service"
BINARIES = ("corral", "corrald", "corral-keeper", "corral-exec",
            "libcorral-preload.so")

TICK = """#!/bin/sh
trap 'echo term > "$0.term"; exit 0' TERM
i=0
while :; do i=$((i + 1)); echo "tick $i"; sleep 0.005; done
"""


def show():
    out = subprocess.run(
        ["systemctl", "show", UNIT, "-p", "ActiveState,Result,MainPID,"
         "StatusText,NRestarts,ControlGroup"],
        capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if line)


def cgroup_procs(cg):
    """Every pid left in the cgroup tree cg (none once it is removed)."""
    pids = []
    for d, _, files in os.walk(f"/sys/fs/cgroup{cg}"):
        if "cgroup.procs" in files:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids += [int(p) for p in f.read().split()]
    return pids


class Corral:
    """The copied client, talking to the unit's daemon in home."""

    def __init__(self, bindir, home):
        self.bin = str(bindir / "corral")
        self.env = dict(os.environ, CORRAL_HOME=str(home))

    def run(self, *args):
        return subprocess.run([self.bin, *args], env=self.env, timeout=120,
                              capture_output=True, text=True)

    def ok(self, *args):
        r = self.run(*args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout

    def engine(self):
        return json.loads(self.ok("engine", "--json"))

    def pids(self):
        return {a["name"]: a["pid"] for a in json.loads(self.ok("jlist"))
                if a["state"] == "online"}


def ticks(path):
    """The numbers the ticker logged, in order."""
    with open(path) as f:
        return [int(m.group(1)) for m in re.finditer(r"tick (\d+)$",
                                                       f.read(), re.M)]


def assert_no_tick_lost(n):
    """No number skipped: a killed engine may leave the last chunk it had
    written but not yet taken from the pipe, and its successor writes it
    again (docs/keeper.md): lines may repeat after a step back, never
    go missing."""
    assert n and n[0] == 1, n[:10]
    holes = [(a, b) for a, b in zip(n, n[1:]) if b > a + 1]
    assert holes == [], "a tick line was lost: %s" % holes[:10]
    assert set(n) == set(range(1, max(n) + 1)), "a tick line was lost"


def copied(tmp_path, script, text):
    """The binaries copied to tmp_path/bin, a client for tmp_path/home,
    and an app script written to tmp_path/script."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in BINARIES:
        shutil.copy2(BUILD / name, bindir / name)
    home = tmp_path / "home"
    app = tmp_path / script
    app.write_text(text)
    app.chmod(0o755)
    return bindir, home, Corral(bindir, home), app


def test_startup_unit_outlives_its_engine(tmp_path):
    bindir, home, c, tick = copied(tmp_path, "tick.sh", TICK)

    c.ok("startup", "systemd")
    try:
        subprocess.run(["systemctl", "start", UNIT], check=True,
                       timeout=120)
        s = show()
        keeper, cg = int(s["MainPID"]), s["ControlGroup"]
        assert s["ActiveState"] == "active"
        assert keeper == int((home / "keeper.pid").read_text())
        c.ok("start", str(tick), "--name", "tick")
        c.ok("start", "sleep", "--name", "sleeper", "--", "1000")
        wait_for(lambda: len(c.pids()) == 2, what="both apps online")
        pids = c.pids()
        wait_for(lambda: "2/2 instances online" in show()["StatusText"],
                 what="the engine's status in StatusText")

        # the engine dies: a new one serves, nothing else changes
        old = int((home / "corrald.pid").read_text())
        os.kill(old, signal.SIGKILL)
        e = wait_for(lambda: (lambda r: r if r["pid"] != old else None)(
            c.engine()), what="a new engine")
        assert e["kind"] == "restart"
        assert c.pids() == pids
        s = show()
        assert (s["ActiveState"], int(s["MainPID"]), s["NRestarts"]) == \
            ("active", keeper, "0")
        wait_for(lambda: "2/2 instances online" in show()["StatusText"],
                 what="the new engine's status in StatusText")

        # corral update to the binary now at the unit's path
        data = (bindir / "corrald").read_bytes()
        assert data.count(b"0.1.0\0") >= 1
        (bindir / "corrald.new").write_bytes(
            data.replace(b"0.1.0\0", b"0.1.9\0"))
        (bindir / "corrald.new").chmod(0o755)
        os.rename(bindir / "corrald.new", bindir / "corrald")
        r = c.run("update")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert "0.1.0 -> 0.1.9" in r.stdout
        e = c.engine()
        assert (e["version"], e["kind"]) == ("0.1.9", "upgrade")
        assert c.pids() == pids
        s = show()
        assert (s["ActiveState"], int(s["MainPID"]), s["NRestarts"]) == \
            ("active", keeper, "0")
        log = home / "logs" / "tick-out.log"
        wait_for(lambda: len(ticks(log)) > 0, what="logged ticks")
        assert_no_tick_lost(ticks(log))

        # systemctl stop: every app gets its kill signal, nothing is left
        procs = set(cgroup_procs(cg))
        assert set(pids.values()) | {keeper, e["pid"]} <= procs
        subprocess.run(["systemctl", "stop", UNIT], check=True, timeout=120)
        s = show()
        assert (s["ActiveState"], s["Result"]) == ("inactive", "success")
        assert (tmp_path / "tick.sh.term").exists(), \
            "the ticker got no SIGTERM"
        assert not [p for p in procs if pid_alive(p)]
        assert cgroup_procs(cg) == []
        assert_no_tick_lost(ticks(log))
    finally:
        subprocess.run(["systemctl", "kill", "-s", "KILL", UNIT],
                       capture_output=True)
        subprocess.run(["systemctl", "stop", UNIT], capture_output=True)
        subprocess.run(["systemctl", "reset-failed", UNIT],
                       capture_output=True)
        c.run("unstartup", "systemd")


SLOW = """#!/bin/sh
trap 'sleep 4; echo done > "$0.done"; exit 0' TERM
while :; do sleep 0.1; done
"""


def test_stop_outlasts_timeoutstopsec_for_a_later_app(tmp_path):
    """An app started after the unit was written, whose graceful stop
    takes longer than the unit's TimeoutStopSec, still stops gracefully:
    the keeper extends systemd's stop deadline (EXTEND_TIMEOUT_USEC=) to
    the bound its apps' STOP_TIME gives. The unit is written for no app,
    then its TimeoutStopSec cut to 2 s, so the test needs no 90 s app."""
    _, _, c, slow = copied(tmp_path, "slow.sh", SLOW)

    c.ok("startup", "systemd")
    unit = f"/etc/systemd/system/{UNIT}"
    try:
        with open(unit) as f:
            text = f.read()
        text, n = re.subn(r"^TimeoutStopSec=.*$", "TimeoutStopSec=2s", text,
                          flags=re.M)
        assert n == 1, text
        with open(unit, "w") as f:
            f.write(text)
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        subprocess.run(["systemctl", "start", UNIT], check=True,
                       timeout=120)
        c.ok("start", str(slow), "--name", "slow", "--kill-timeout", "30s")
        wait_for(lambda: len(c.pids()) == 1, what="the app online")
        subprocess.run(["systemctl", "stop", UNIT], check=True, timeout=120)
        s = show()
        assert (s["ActiveState"], s["Result"]) == ("inactive", "success")
        assert (tmp_path / "slow.sh.done").exists(), \
            "systemd cut the app's graceful stop short"
    finally:
        subprocess.run(["systemctl", "kill", "-s", "KILL", UNIT],
                       capture_output=True)
        subprocess.run(["systemctl", "stop", UNIT], capture_output=True)
        subprocess.run(["systemctl", "reset-failed", UNIT],
                       capture_output=True)
        c.run("unstartup", "systemd")
