# SPDX-License-Identifier: ISC
"""The daemon's shutdown (`corral kill`, SIGTERM) while an app is slow to
stop: the requests that could start a process are refused with exit 1, the
others are served, and the shutdown ends with the daemon gone and no app
process left."""

import os
import signal
import subprocess

import pytest

from conftest import CORRAL_BIN, pid_alive, wait_for

# SIGTERM makes it write term.<pid>, then wait for the file its argument
# names (default `release`) before it exits: the test decides how long its
# stop lasts.
SLOW_STOP = """\
#!/usr/bin/python3
import os, signal, sys, time
here = os.path.dirname(os.path.abspath(__file__))
release = os.path.join(here, sys.argv[1] if len(sys.argv) > 1 else "release")
def term(sig, frame):
    open(os.path.join(here, "term.%d" % os.getpid()), "w").close()
    while not os.path.exists(release):
        time.sleep(0.05)
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
open(os.path.join(here, "ready.%d" % os.getpid()), "w").close()
while True:
    time.sleep(1)
"""

REFUSED = "the daemon is stopping every app to exit"

# Every way a request could start a process, each refused while the
# daemon stops: `idle` is a declared app, stopped.
STARTERS = [
    ("start", "late.sh", "--name", "late"),
    ("start", "idle"),
    ("restart", "idle"),
    ("restart", "slow"),
    ("reload", "idle"),
    ("scale", "idle", "2"),
    ("set", "idle", "instances", "2"),
    ("start", "apps.ini"),
    ("startOrRestart", "apps.ini"),
    ("resurrect",),
]


def begin_shutdown(c, how):
    """Starts the shutdown; returns the `corral kill` client, or None."""
    kill = None
    if how == "kill":
        kill = subprocess.Popen([str(CORRAL_BIN), "kill"], env=c.env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    else:
        os.kill(c.daemon_pid(), signal.SIGTERM)
    wait_for(lambda: "shutting down: stopping every app" in c.daemon_log(),
             what="the daemon to begin its shutdown")
    return kill


@pytest.mark.parametrize("how", ["kill", "sigterm"])
def test_nothing_starts_while_the_daemon_stops(corral, how):
    corral.script("slow.py", SLOW_STOP)
    corral.script("late.sh", "#!/bin/sh\nexec sleep 1000\n")
    (corral.appdir / "apps.ini").write_text("[fromini]\nscript = late.sh\n")
    corral.ok("start", "late.sh", "--name", "idle")
    corral.ok("stop", "idle")
    corral.ok("start", "slow.py", "--name", "slow", "--kill-timeout", "60s")
    [slow] = corral.wait_state("slow", "online")
    wait_for(lambda: (corral.appdir / f"ready.{slow['pid']}").exists())
    dpid = corral.daemon_pid()
    kill = begin_shutdown(corral, how)
    try:
        wait_for(lambda: (corral.appdir / f"term.{slow['pid']}").exists(),
                 what="slow to get its SIGTERM")
        for args in STARTERS:
            r = corral.run(*args)
            assert r.rc == 1 and REFUSED in r.err, (args, r)
            assert r.err.startswith(f"corral: {args[0]}: refused"), r.err
        # What only reads or stops is served as always.
        corral.ok("ping")
        corral.ok("ls")
        corral.ok("describe", "idle")
        states = {i["name"]: i["state"] for i in corral.jlist()}
        assert states == {"idle": "stopped", "slow": "stopping"}, states
        corral.ok("stop", "idle")
        corral.ok("delete", "idle")
        assert {i["name"] for i in corral.jlist()} == {"slow"}
    finally:
        (corral.appdir / "release").write_text("")
    if kill is not None:
        out, err = kill.communicate(timeout=60)
        assert kill.returncode == 0, err
        assert b"daemon stopped" in out, out
    wait_for(lambda: not pid_alive(dpid), what="the daemon to exit")
    assert not pid_alive(slow["pid"])
    wait_for(lambda: corral.daemons() == [], what="the keeper to exit")
    # The fixture fails the test if a process of this home is left.


def test_a_restart_due_during_the_shutdown_starts_nothing(corral):
    # nr is killed for not being ready and ends its stop only once the
    # shutdown began: its restart_delay then ends while slow still stops.
    corral.script("slow.py", SLOW_STOP)
    corral.ok("start", "slow.py", "--name", "slow", "--kill-timeout", "60s")
    [slow] = corral.wait_state("slow", "online")
    wait_for(lambda: (corral.appdir / f"ready.{slow['pid']}").exists())
    r = corral.run("start", "slow.py", "--name", "nr", "--ready", "notify",
                   "--listen-timeout", "300ms", "--restart-delay", "300ms",
                   "--kill-timeout", "60s", "--", "release-nr")
    assert r.rc == 1 and "not ready" in r.err, r
    [nr] = corral.wait_state("nr", "stopping")
    wait_for(lambda: (corral.appdir / f"term.{nr['pid']}").exists(),
             what="nr to get its SIGTERM")
    dpid = corral.daemon_pid()
    kill = begin_shutdown(corral, "kill")
    try:
        (corral.appdir / "release-nr").write_text("")
        wait_for(lambda: "nr[0] id %d: not started: the daemon is shutting "
                 "down" % nr["id"] in corral.daemon_log(),
                 what="nr's restart to be refused")
        [after] = [i for i in corral.jlist() if i["name"] == "nr"]
        assert after["state"] == "stopped" and not after.get("pid"), after
        assert "the daemon is shutting down" in after["reason"], after
    finally:
        (corral.appdir / "release").write_text("")
    out, err = kill.communicate(timeout=60)
    assert kill.returncode == 0 and b"daemon stopped" in out, (out, err)
    wait_for(lambda: not pid_alive(dpid), what="the daemon to exit")
    wait_for(lambda: corral.daemons() == [], what="the keeper to exit")


def test_every_kill_sent_during_the_shutdown_is_answered(corral):
    """Two `corral kill`s while an app is slow to stop: both are answered
    once every app has stopped, exit 0. Before, only the first was; the
    second was cut off as the daemon exited ("the daemon closed the
    connection", exit 111)."""
    corral.script("slow.py", SLOW_STOP)
    corral.ok("start", "slow.py", "--name", "slow", "--kill-timeout", "60s")
    [slow] = corral.wait_state("slow", "online")
    wait_for(lambda: (corral.appdir / f"ready.{slow['pid']}").exists())
    dpid = corral.daemon_pid()
    first = begin_shutdown(corral, "kill")
    wait_for(lambda: (corral.appdir / f"term.{slow['pid']}").exists(),
             what="slow to get its SIGTERM")
    second = subprocess.Popen([str(CORRAL_BIN), "kill"], env=corral.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: "kill: stopping every app already" in
             corral.daemon_log(), what="the second kill received")
    (corral.appdir / "release").touch()
    for k in (first, second):
        out, err = k.communicate(timeout=60)
        assert k.returncode == 0, (out, err)
        assert b"daemon stopped" in out + err, (out, err)
    wait_for(lambda: not pid_alive(dpid), what="the daemon gone")
