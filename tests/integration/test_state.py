# SPDX-License-Identifier: ISC
"""$CORRAL_HOME/state.json, the file a new engine rebuilds the apps from:
it follows every change of apps and instances (start, scale, restart,
stop, delete), is private (0600), is replaced atomically without ever
following a link or opening a FIFO planted at its name or its temporary
name, and a write that fails (a folder in the way, a file size limit)
is logged and tried again without harming the daemon."""

import json
import os
import resource
import stat

from conftest import proc_stat, wait_for

SLEEPER = """\
    #!/bin/sh
    exec sleep 1000
    """


def state_path(corral):
    return os.path.join(corral.home, "state.json")


def read_state(corral):
    """The parsed state file, or None while there is none."""
    try:
        with open(state_path(corral), "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return None


def app_state(corral, name):
    data = read_state(corral)
    for app in (data or {}).get("apps", []):
        if app["config"]["name"] == name:
            return app
    return None


def wait_instances(corral, name, pred, what):
    """Waits until the saved instances of name satisfy pred; returns them."""
    def check():
        app = app_state(corral, name)
        if app is not None and pred(app["instances"]):
            return app["instances"]
        return None
    return wait_for(check, what=what)


def start_sleeper(corral, name, n):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", name, "-i", str(n))
    return corral.wait_state(name, "online", count=n)


def all_online(n):
    return lambda insts: (len(insts) == n and
                          all(i["state"] == "online" and i["pid"] > 0
                              for i in insts))


def test_state_follows_the_apps(corral):
    live = start_sleeper(corral, "st", 2)
    insts = wait_instances(corral, "st", all_online(2), "2 online saved")
    st = os.stat(state_path(corral))
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_ISREG(st.st_mode)
    data = read_state(corral)
    assert data["version"] == 1
    assert data["next_id"] > max(i["id"] for i in insts)
    assert data["apps"][0]["config"]["state"] == "running"
    env = data["envs"][data["apps"][0]["env"]]
    assert env.get("CORRAL_HOME") == corral.home
    by_id = {i["id"]: i for i in insts}
    for inst in live:
        saved = by_id[inst["id"]]
        assert saved["pid"] == inst["pid"]
        assert saved["index"] == inst["instance"]
        assert saved["started_at"] == inst["started_at"]
        # the keeper-death check: field 22 of /proc/PID/stat
        assert saved["proc_start"] == proc_stat(inst["pid"])[4]
        assert saved["generation"] == 1
        assert saved["tag"] == f"st/{inst['id']}/1"
        assert saved["restarts"] == 0 and saved["deleting"] is False

    corral.ok("scale", "st", "3")
    corral.wait_state("st", "online", count=3)
    wait_instances(corral, "st", all_online(3), "3 online saved")

    first = live[0]
    corral.ok("restart", str(first["id"]))
    def restarted(insts):
        i = next((i for i in insts if i["id"] == first["id"]), None)
        return (i is not None and i["restarts"] == 1 and
                i["state"] == "online" and i["pid"] not in (0, first["pid"]))
    insts = wait_instances(corral, "st", restarted, "the restart saved")
    again = next(i for i in insts if i["id"] == first["id"])
    assert again["generation"] == 2
    assert again["tag"] == f"st/{first['id']}/2"
    assert again["last_pid"] == again["pid"]

    corral.ok("stop", "st")
    insts = wait_instances(
        corral, "st",
        lambda v: len(v) == 3 and all(i["state"] == "stopped" and
                                      i["pid"] == 0 and not i["running"]
                                      for i in v),
        "3 stopped saved")
    assert all(i["last_pid"] > 0 for i in insts)
    assert app_state(corral, "st")["config"]["state"] == "stopped"

    corral.ok("delete", "st")
    wait_for(lambda: read_state(corral) is not None and
             app_state(corral, "st") is None, what="the delete saved")
    assert read_state(corral)["apps"] == []


def request(corral, cmd, *argv):
    """cmd as the client sends it, on a socket of our own: the reply is
    read and this returns at once, no process exit in between."""
    req = {"v": 1, "cmd": cmd, "argv": [str(a) for a in argv],
           "cwd": str(corral.appdir), "env": dict(corral.env)}
    reply = json.loads(corral.raw_request(json.dumps(req).encode() + b"\n"))
    assert reply["ok"] is True, reply
    return reply


def test_a_reply_comes_after_the_state_file_shows_it(corral):
    """A client told "done" may kill the engine at once (test_engine.py
    does): the reply to a change leaves only once state.json shows it,
    so the file is read here right after the reply, with no wait."""
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("ping")               # the daemon runs
    request(corral, "start", "sleeper.sh", "--name", "rp", "-i", "2")
    insts = app_state(corral, "rp")["instances"]
    assert all_online(2)(insts), insts
    pids = sorted(i["pid"] for i in corral.app("rp"))
    assert sorted(i["pid"] for i in insts) == pids
    request(corral, "scale", "rp", "3")
    assert all_online(3)(app_state(corral, "rp")["instances"])
    request(corral, "set", "rp", "kill_timeout", "7s")
    assert app_state(corral, "rp")["config"]["kill_timeout"] == 7000
    request(corral, "stop", "rp")
    insts = app_state(corral, "rp")["instances"]
    assert all(i["state"] == "stopped" and i["pid"] == 0
               for i in insts), insts
    request(corral, "delete", "rp")
    assert app_state(corral, "rp") is None
    # a reply that changed nothing does not wait for a write
    request(corral, "ping")


def test_reset_and_delete_one_instance_are_saved(corral):
    start_sleeper(corral, "rs", 3)
    corral.ok("restart", "rs")
    wait_instances(corral, "rs", lambda v: len(v) == 3 and all(
        i["restarts"] == 1 and i["state"] == "online" for i in v),
        "restarts saved")
    corral.ok("reset", "rs")
    wait_instances(corral, "rs", lambda v: all(i["restarts"] == 0 for i in v),
                   "the reset saved")
    middle = corral.app("rs")[1]
    corral.ok("delete", str(middle["id"]))
    insts = wait_instances(corral, "rs", lambda v: len(v) == 2,
                           "one instance fewer")
    # indices stay sparse: the new engine must rebuild exactly these
    assert sorted(i["index"] for i in insts) == [0, 2]
    assert app_state(corral, "rs")["config"]["instances"] == 2


def test_an_idle_daemon_does_not_write(corral):
    start_sleeper(corral, "idle", 1)
    wait_instances(corral, "idle", all_online(1), "online saved")

    def stamp():
        st = os.stat(state_path(corral))
        return (st.st_mtime_ns, read_state(corral)["written_at"])
    before = stamp()
    for _ in range(5):
        corral.ok("ls")
        corral.jlist()
    corral.ok("describe", "idle")
    assert stamp() == before
    # ... while a change writes it again
    corral.ok("stop", "idle")
    wait_for(lambda: stamp() != before, what="a new state file after a change")


def test_a_link_at_the_state_file_is_replaced_not_followed(corral, tmp_path):
    start_sleeper(corral, "ln", 1)
    wait_instances(corral, "ln", all_online(1), "online saved")
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    os.unlink(state_path(corral))
    os.symlink(target, state_path(corral))
    corral.ok("stop", "ln")
    wait_for(lambda: not os.path.islink(state_path(corral)) and
             app_state(corral, "ln") is not None and
             app_state(corral, "ln")["instances"][0]["state"] == "stopped",
             what="state.json a file again")
    assert target.read_text() == "keep me\n"
    corral.ok("ping")


def test_a_link_at_the_temporary_name_is_not_followed(corral, tmp_path):
    start_sleeper(corral, "tl", 1)
    wait_instances(corral, "tl", all_online(1), "online saved")
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    os.symlink(target, state_path(corral) + ".tmp")
    corral.ok("stop", "tl")
    wait_instances(corral, "tl", lambda v: v[0]["state"] == "stopped",
                   "the stop saved")
    assert target.read_text() == "keep me\n"
    assert not os.path.lexists(state_path(corral) + ".tmp")
    corral.ok("ping")


def test_a_fifo_at_the_temporary_name_freezes_nothing(corral):
    start_sleeper(corral, "ff", 1)
    wait_instances(corral, "ff", all_online(1), "online saved")
    os.mkfifo(state_path(corral) + ".tmp")
    corral.ok("stop", "ff")
    wait_instances(corral, "ff", lambda v: v[0]["state"] == "stopped",
                   "the stop saved")
    corral.ok("ping")
    assert not os.path.lexists(state_path(corral) + ".tmp")


def test_a_write_that_fails_is_logged_and_tried_again(corral):
    start_sleeper(corral, "fl", 1)
    wait_instances(corral, "fl", all_online(1), "online saved")
    # a folder at the temporary name: neither removed nor written through
    blocker = state_path(corral) + ".tmp"
    os.mkdir(blocker)
    corral.ok("stop", "fl")
    wait_for(lambda: "state.json.tmp" in corral.daemon_log() and
             "failure" in corral.daemon_log(), what="the failure logged")
    assert app_state(corral, "fl")["instances"][0]["state"] == "online"
    corral.ok("ping")
    os.rmdir(blocker)
    corral.ok("start", "fl")
    corral.wait_state("fl", "online", count=1)
    wait_instances(corral, "fl", all_online(1), "written again")
    wait_for(lambda: "written again after" in corral.daemon_log(),
             what="the recovery logged")


def test_a_full_disk_harms_nothing(corral):
    """A file size limit on the daemon makes its writes fail with EFBIG,
    as a full disk fails them with ENOSPC."""
    start_sleeper(corral, "fz", 2)
    wait_instances(corral, "fz", all_online(2), "online saved")
    pid = corral.daemon_pid()
    old = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (512, old[1]))
    try:
        corral.ok("stop", "fz")
        corral.wait_state("fz", "stopped", count=2)
        corral.ok("ping")
        # nothing half-written replaced the last good file
        assert len(app_state(corral, "fz")["instances"]) == 2
        assert not os.path.lexists(state_path(corral) + ".tmp")
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, old)
    corral.ok("start", "fz")
    corral.wait_state("fz", "online", count=2)
    wait_instances(corral, "fz", all_online(2), "written again")
    assert corral.daemon_pid() == pid


def test_a_reload_keeps_the_tags_the_processes_run_under(corral):
    """A rolling reload hands each replacement the id of the instance it
    replaced; the keeper knows the process by the id it was spawned
    under, so the saved tag keeps that one."""
    live = start_sleeper(corral, "rl", 2)
    wait_instances(corral, "rl", all_online(2), "online saved")
    corral.ok("reload", "rl")
    ids = {i["id"] for i in live}
    pids = {i["pid"] for i in live}

    def replaced(insts):
        return (len(insts) == 2 and all(
            i["state"] == "online" and i["pid"] not in pids and
            i["id"] in ids for i in insts))
    insts = wait_instances(corral, "rl", replaced, "the reload saved")
    for inst in insts:
        name, spawned_id, gen = inst["tag"].split("/")
        assert name == "rl" and gen == "1"
        assert int(spawned_id) not in ids
        assert int(spawned_id) < read_state(corral)["next_id"]
        assert inst["restarts"] == 1
