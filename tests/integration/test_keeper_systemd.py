# SPDX-License-Identifier: ISC
"""corral-keeper as the main process of a real systemd service
(Type=notify, NotifyAccess=main, WatchdogSec, KillMode=mixed, as the unit
of `corral startup`), with the test playing the engine (keeperproto.py):
READY reaches systemd, the watchdog holds while the engine heartbeats, an
engine kill -9 leaves the unit active and its apps running, `systemctl
stop` becomes TERM, then BYE, and the unit ends clean with its apps gone.
Needs systemd as PID 1 (the VM_SYSTEMD guest of tests/vm/cgroup.sh):
skipped elsewhere."""

import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import DEADLINE, wait_for
from keeperproto import (BYE, EXITED, FAKE_ENGINE, HEARTBEAT_MS, KEEPER_BIN,
                         KIND, KINDS, PID, READY, SPAWNED, TERM, STATUS,
                         Engine, Heartbeat)

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/run/systemd/system") or os.geteuid() != 0,
    reason="needs systemd as PID 1 and root (VM_SYSTEMD guest)")


def show(unit):
    out = subprocess.run(
        ["systemctl", "show", unit, "-p",
         "ActiveState,Result,MainPID,StatusText,NRestarts"],
        capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if line)


def test_keeper_under_systemd(tmp_path):
    unit = f"corral-keeper-test-{os.getpid()}"
    sock_path = str(tmp_path / "engine.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(sock_path)
    listener.listen(4)
    listener.settimeout(DEADLINE)
    subprocess.run([
        "systemd-run", "--no-block", "--quiet", "--unit", unit,
        "-p", "Type=notify", "-p", "NotifyAccess=main",
        "-p", "WatchdogSec=4", "-p", "KillMode=mixed",
        "-p", "TimeoutStopSec=30", "-p", "Delegate=yes",
        "-E", f"CORRAL_HOME={tmp_path / 'home'}",
        "-E", f"FAKE_ENGINE_SOCK={sock_path}",
        str(KEEPER_BIN), "-f", "-v", "--engine-bin", str(FAKE_ENGINE),
        "--stop-timeout", "2000", "--", "--passed-through"], check=True)
    engines = []
    try:
        e = Engine(listener.accept()[0])
        engines.append(e)
        hello, _ = e.link.table()
        assert hello.fields[HEARTBEAT_MS] == 2000   # WatchdogSec / 2
        with Heartbeat(e.link):
            main = int(show(unit)["MainPID"])
            assert show(unit)["ActiveState"] == "activating"
            e.link.spawn("app", ["sleep", "1000"])
            app = e.link.expect(SPAWNED)
            e.link.send(READY)
            wait_for(lambda: show(unit)["ActiveState"] == "active",
                     what="the unit active")
            assert "serving" in show(unit)["StatusText"]
            # past two watchdog periods, kept alive through the keeper
            end = time.monotonic() + 9
            wait_for(lambda: time.monotonic() > end, what="9 s")
            assert show(unit)["ActiveState"] == "active"

        # the engine dies: the unit does not, nor its app
        os.kill(e.pid, signal.SIGKILL)
        e2 = Engine(listener.accept()[0])
        engines.append(e2)
        hello, items = e2.link.table()
        with Heartbeat(e2.link):
            assert KINDS[hello.fields[KIND]] == "restart"
            assert [i.fields[PID] for i in items] == [app.fields[PID]]
            e2.link.send(READY)
            wait_for(lambda: f"engine pid {e2.pid}" in
                     show(unit)["StatusText"], what="the new engine's status")
            s = show(unit)
            assert (s["ActiveState"], int(s["MainPID"]), s["NRestarts"]) == \
                ("active", main, "0")
            os.kill(app.fields[PID], 0)

            # systemctl stop: TERM to the engine, which stops the app, BYE
            subprocess.run(["systemctl", "stop", "--no-block", unit],
                           check=True)
            e2.link.expect(TERM)
            pidfd = items[0].fds[2]
            signal.pidfd_send_signal(pidfd, signal.SIGTERM)
            e2.link.expect(EXITED)
        e2.link.send(BYE, [(STATUS, 0)])
        e2.exit(0)
        wait_for(lambda: show(unit)["ActiveState"] in ("inactive", "failed"),
                 what="the unit stopped")
        assert show(unit)["Result"] == "success"
        assert not os.path.exists(f"/proc/{app.fields[PID]}")
    except BaseException:
        print(subprocess.run(["journalctl", "--no-pager", "-o", "short-precise",
                              "-u", unit], capture_output=True,
                             text=True).stdout[-6000:])
        raise
    finally:
        subprocess.run(["systemctl", "kill", "-s", "KILL", unit],
                       capture_output=True)
        subprocess.run(["systemctl", "reset-failed", unit],
                       capture_output=True)
        for e in engines:
            e.close()
        listener.close()
