# SPDX-License-Identifier: ISC
"""The keeper itself dies, or runs as a container's PID 1 (issue 13).

kill -9 of corral-keeper on purpose: its apps pass to init and its engine
exits. The next command starts a new keeper, whose first engine stops the
processes left over (the pids and start times state.json has), declares
the apps again and starts them: no duplicate, nothing left on a port, and
the command says so and exits 3. With and without cgroups (without, the
left-over processes are found by pid and start time alone).

`corrald --foreground` as PID 1 of a new PID namespace, with the real
engine: a double-forked grandchild of an app is reaped (no zombie), and
SIGTERM stops every app gracefully and ends with status 0.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import CORRALD_BIN, pid_alive, proc_stat, wait_for
from observe_util import free_port

# Binds $PORT itself (no held socket): a left-over instance would keep it.
SERVER = """\
import os, signal, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(8)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    c, _ = s.accept()
    c.sendall(b"%d\\n" % os.getpid())
    c.close()
"""


def ask(port):
    """The pid of the process that answers on port."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        return int(c.makefile().readline())


def state_pids(corral):
    """The pids state.json says run."""
    try:
        with open(os.path.join(corral.home, "state.json")) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return []
    return [i["pid"] for a in st["apps"] for i in a["instances"]
            if i["running"]]


def answers(port):
    try:
        return ask(port)
    except OSError:
        return None


def all_threads_gone(pid):
    """pid is gone with every thread. Its main thread shows as a zombie
    while other threads still exit, and their descriptor table (the
    control socket with them) lives until the last one is gone: a client
    connecting then is reset."""
    try:
        return (not pid_alive(pid) and
                len(os.listdir(f"/proc/{pid}/task")) <= 1)
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_keeper_kill_then_start_says_what_it_did(corral, cgroups):
    corral.env["CORRAL_CGROUP"] = cgroups
    port = free_port()
    server = corral.script("server.py", SERVER)
    corral.ok("start", "python3", "--name", "web", "--port", str(port),
              "--", str(server))
    corral.ok("start", "/bin/sleep", "--name", "nap", "-i", "2", "--",
              "1000")
    web = corral.wait_state("web", "online")
    nap = corral.wait_state("nap", "online")
    old = [i["pid"] for i in web + nap]
    wait_for(lambda: answers(port) == web[0]["pid"], what="web serving")
    # the state on disk knows them all (it is written a moment later)
    wait_for(lambda: sorted(state_pids(corral)) == sorted(old),
             what="state.json with every running pid")
    keeper = int(open(os.path.join(corral.home, "keeper.pid")).read())
    engine = corral.daemon_pid()

    os.kill(keeper, signal.SIGKILL)
    wait_for(lambda: all_threads_gone(engine), what="the engine to go")
    assert all(pid_alive(p) for p in old), "the apps outlive the keeper"

    r = corral.run("ls")
    assert r.rc == 3, (r.rc, r.err, r.out)
    assert "the keeper was lost" in r.err
    assert "3 process(es) left running were stopped" in r.err, r.err
    web = corral.wait_state("web", "online")
    nap = corral.wait_state("nap", "online")
    assert len(web) == 1 and len(nap) == 2
    assert not [p for p in old if pid_alive(p)], "left-over processes"
    assert "keeper was lost" in web[0]["reason"]
    wait_for(lambda: answers(port) == web[0]["pid"],
             what="the new web instance on its port")
    assert corral.run("ls").rc == 0, "said once"


UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]

# A double fork, as a daemon does: the inner shell starts a grandchild and
# exits (reaped here); the grandchild, orphaned, ends 0.2 s later.
FORKER = """\
#!/bin/sh
sh -c 'sleep 0.2 &'
exec sleep 1000
"""


def ns_zombies(kpid):
    """Zombies in the PID namespace of kpid."""
    ns = os.readlink(f"/proc/{kpid}/ns/pid")
    found = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/ns/pid") != ns:
                    continue
            except OSError:
                continue
            st = proc_stat(int(p))
            if st is not None and st[0] == "Z":
                found.append(int(p))
    return found


def test_pid1_reaps_and_stops_gracefully(corral, tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is missing")
    if subprocess.run(UNSHARE + ["true"], capture_output=True).returncode:
        pytest.skip("no PID namespace here")
    forker = corral.script("forker.sh", FORKER)
    boot = tmp_path / "boot.ini"
    boot.write_text(f"[forker]\nscript = {forker}\n")
    err = open(tmp_path / "err", "w")
    seen = dict(corral.seen)
    d = subprocess.Popen(UNSHARE + [str(CORRALD_BIN), "--foreground",
                                    str(boot)], env=corral.env,
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        kids = f"/proc/{d.pid}/task/{d.pid}/children"
        kpid = int(wait_for(lambda: open(kids).read().split(),
                            what="unshare's child")[0])
        # the client must find this daemon, not start one of its own
        wait_for(lambda: "serving on" in (tmp_path / "err").read_text(),
                 what="the engine serving")
        inst = corral.wait_state("forker", "online")[0]
        # the grandchild ran 0.2 s and was reaped by PID 1 (the keeper)
        wait_for(lambda: not [p for p in os.listdir("/proc") if p.isdigit()
                              and os.path.exists(f"/proc/{p}/cmdline") and
                              b"sleep\x000.2" in
                              open(f"/proc/{p}/cmdline", "rb").read()],
                 what="the grandchild to end")
        wait_for(lambda: ns_zombies(kpid) == [], what="no zombie")
        assert inst["pid"] > 1     # as the namespace sees it
        os.kill(kpid, signal.SIGTERM)
        assert d.wait(timeout=60) == 0
        log = (tmp_path / "err").read_text()
        assert "forker[0] id 0: stopping -> stopped" in log, log
        assert "engine said BYE 0" in log, log
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        err.close()
        # corrald.pid held the namespace's pids: nothing on the host
        corral.seen = seen
