# SPDX-License-Identifier: ISC
"""What an app's tree leaves in its cgroups when nobody saw its end: a
main process that died while no engine ran (the next engine collects its
exit from the keeper, though no cgroup lists its pid any more), a tree in
a cgroup no instance had when the daemon stops, and leftovers killed at
an exit that take a while to die (the reply waits for them).  Runs on v1 here
and on v2 in tests/vm/cgroup.sh; each test checks at the end that the
daemon's cgroups are gone (the cg fixture).
"""

import json
import os
import signal
import subprocess

import pytest

from conftest import pid_alive, wait_for
from test_cgroups import ESCAPE, cg  # noqa: F401 (cg: the fixture)


def die_while_no_engine(c, pids):
    """SIGKILLs pids while the engine is stopped, once the keeper has
    reaped each; then kills that engine and waits for the next one, which
    collects their exits from the keeper's table."""
    first = json.loads(c.ok("engine", "--json"))["pid"]
    os.kill(first, signal.SIGSTOP)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"),
                 what=f"the keeper's reap of {pid}")
    os.kill(first, signal.SIGKILL)

    def next_engine():
        r = c.run("engine", "--json")
        return r.rc == 0 and json.loads(r.out)["pid"] != first
    wait_for(next_engine, what="the next engine")


def test_an_exit_while_no_engine_runs_kills_what_is_left(cg):
    """An app's main process dies while no engine runs (the engine is
    stopped, then killed): the next engine finds the cgroup of that exit
    though no cgroup lists its pid any more, and the exit kills what is
    left of the tree (a setsid grandchild), as one seen live does.
    Before, the engine warned "is in none of its cgroups" and the
    grandchild ran on."""
    cg.need_cgroups()
    c = cg.c
    gc = cg.grandchild("esc", "escape.py", ESCAPE, "escaped.pid",
                       "--restart-delay", "1h")
    die_while_no_engine(c, [c.app("esc")[0]["pid"]])
    wait_for(lambda: not pid_alive(gc), what=f"grandchild {gc} to die")
    assert "is in none of its cgroups" not in c.daemon_log()
    inst = c.app("esc")[0]
    assert inst["state"] == "waiting-restart", inst
    assert "SIGKILL" in inst["reason"], inst


# Leaves a setsid grandchild that writes its pid to gc.MAIN, MAIN the
# main process's pid; says READY=1 at once unless "reloading" is there,
# then only once "gate" is.
ESCAPE_READY = """\
    #!/usr/bin/python3
    import os, socket, time
    main = os.getpid()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open("gc.%d.tmp" % main, "w") as f:
                f.write(str(os.getpid()))
            os.rename("gc.%d.tmp" % main, "gc.%d" % main)
            time.sleep(1000)
        os._exit(0)
    while os.path.exists("reloading") and not os.path.exists("gate"):
        time.sleep(0.02)
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = os.environ["NOTIFY_SOCKET"]
    n.sendto(b"READY=1", "\\0" + path[1:] if path[0] == "@" else path)
    time.sleep(1000)
    """


@pytest.mark.parametrize("dead", ["old", "both"])
def test_exits_while_no_engine_runs_mid_reload_kill_their_trees(cg, dead):
    """The old process of an instance dies while no engine runs, in the
    middle of a reload whose replacement (a cgroup of the next
    generation) waits to be ready; or both die. The next engine kills
    what is left of each dead tree and nothing of a live one: the
    replacement, when it lives, is kept by the cut reload (the old
    instance waits to restart, so the replacement is the newer of the
    two: engine_adopt_better()). Before, two generations of the
    instance's cgroup left each exit with none, and the grandchildren
    ran on."""
    cg.need_cgroups()
    c = cg.c
    c.script("esc.py", ESCAPE_READY)
    c.ok("start", "esc.py", "--name", "esc", "--ready", "notify",
         "--listen-timeout", "1h", "--restart-delay", "1h")
    old = cg.wait_online("esc")[0]["pid"]
    gc_of = {}

    def grandchild(main):
        f = c.appdir / ("gc.%d" % main)
        if main not in gc_of and f.exists():
            gc_of[main] = int(f.read_text())
            c.remember(gc_of[main])
        return gc_of.get(main)
    wait_for(lambda: grandchild(old), what="the old grandchild")
    (c.appdir / "reloading").touch()
    reload = c.spawn("reload", "esc")

    def replacement():
        new = [i["pid"] for i in c.app("esc") if i["state"] == "starting"
               and i["pid"] not in (0, old)]
        return new and grandchild(new[0]) and new[0]
    new = wait_for(replacement, what="a replacement waiting to be ready")
    gone = [old, new] if dead == "both" else [old]
    die_while_no_engine(c, gone)
    for pid in gone:
        wait_for(lambda: not pid_alive(gc_of[pid]), what=f"grandchild "
                 f"{gc_of[pid]} of the dead {pid} to die")
    if dead == "old":
        assert pid_alive(gc_of[new]) and pid_alive(new), gc_of
    assert "is in none of its cgroups" not in c.daemon_log()
    (c.appdir / "gate").touch()
    wait_for(lambda: not reload.running(), what="the reload's end")
    cg.wait_online("esc")


def test_kill_ends_a_tree_in_a_cgroup_no_instance_had(cg):
    """`corral kill`, every app stopped: a process in a cgroup below the
    daemon's tops that no instance had (where a tree no exit found would
    be) is killed and the cgroups removed. Before, the tops stayed, the
    process in them."""
    cg.need_cgroups()
    if os.geteuid() != 0:
        pytest.skip("moving a process into the daemon's cgroups takes root")
    c = cg.c
    c.ok("start", "sleep", "--name", "s", "--", "1000")
    cg.wait_online("s")
    stray = subprocess.Popen(["sleep", "1000"])
    c.remember(stray.pid)
    for top in cg.tops:
        d = os.path.join(top, "stray.app", "0.0")
        os.makedirs(d)
        tasks = os.path.join(d, "tasks")
        if not os.path.exists(tasks):
            tasks = os.path.join(d, "cgroup.procs")
        with open(tasks, "w") as f:
            f.write(str(stray.pid))
    c.ok("kill")
    wait_for(lambda: stray.poll() is not None, what="the stray's death")
    assert stray.returncode == -signal.SIGKILL, stray.returncode
    assert "left in no instance's cgroup" in c.daemon_log()


HOG_LEFTOVER = """\
    #!/usr/bin/python3
    import os, signal, time
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        b = bytearray(512 << 20)
        for i in range(0, len(b), 4096):
            b[i] = 1
        with open("hog.pid.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("hog.pid.tmp", "hog.pid")
        time.sleep(1000)
    time.sleep(1000)
    """


@pytest.mark.parametrize("cmd", ["stop", "delete"])
def test_the_reply_waits_for_killed_leftovers(cg, cmd):
    """The main process exits on the stop's SIGTERM and leaves a setsid
    grandchild in its cgroup that ignores SIGTERM and holds 512 MiB: the
    exit SIGKILLs it, and a process frees its memory before its files (a
    port it holds), which takes a while. `corral stop` (and `delete`)
    answers once the cgroup lists no process, as systemd waits for a
    unit's cgroup: the grandchild no longer runs when the command
    returns. Before, it was still running (state R, exiting)."""
    cg.need_cgroups()
    c = cg.c
    gc = cg.grandchild("hog", "hog.py", HOG_LEFTOVER, "hog.pid")
    c.ok(cmd, "hog")
    assert not pid_alive(gc), f"grandchild {gc} runs after {cmd}"
    assert "killed 1 process(es) left in its cgroup" in c.daemon_log()
