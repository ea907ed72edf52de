# SPDX-License-Identifier: ISC
"""The daemon as a process among others: it keeps none of the descriptors
of the client that started it, raises its own file limit (apps keep the
one it was given), keeps its foreground log on stderr, tells a client of
another user why it is refused, and bounds what idle and partial-request
connections may cost."""

import collections
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time

import pytest

from conftest import (CORRAL_BIN, CORRALD_BIN, daemon_fd_targets, pid_alive,
                      wait_for)


def proc_fds(pid):
    return {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}")
            for fd in os.listdir(f"/proc/{pid}/fd")}


def test_daemon_keeps_no_descriptor_of_the_client_that_started_it(corral):
    # A pipe held by the client on fd 200: once the client is done, the
    # reader must see EOF although the daemon it started lives on.
    p = subprocess.run(["bash", "-c", f"exec 200>&1; {CORRAL_BIN} ping"],
                       env=corral.env, stdout=subprocess.PIPE, timeout=30)
    assert p.returncode == 0 and b"pong" in p.stdout
    dpid = corral.daemon_pid()
    assert dpid
    fds = proc_fds(dpid)
    assert 200 not in fds, fds


def test_daemon_raises_its_file_limit_apps_keep_the_old_one(corral):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= 256:
        pytest.skip(f"hard file limit {hard} leaves nothing to raise")

    def low():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    # This first command starts the daemon with a soft limit of 256.
    subprocess.run([str(CORRAL_BIN), "ping"], env=corral.env, check=True,
                   preexec_fn=low, stdout=subprocess.DEVNULL, timeout=30)
    dpid = corral.daemon_pid()
    limits = open(f"/proc/{dpid}/limits").read()
    assert f"Max open files            {hard}" in limits, limits
    info = corral.ok("doctor")
    assert f"limit {hard} (apps get 256)" in info, info
    corral.ok("start", "/bin/sleep", "--name", "nap", "--", "1000")
    pid = corral.wait_state("nap", "online")[0]["pid"]
    wait_for(lambda: "sleep" in open(f"/proc/{pid}/comm").read(),
             what="the app to run")
    limits = open(f"/proc/{pid}/limits").read()
    assert "Max open files            256" in limits, limits


def test_foreground_daemon_logs_to_stderr_after_reloadlogs(corral, tmp_path):
    err = open(tmp_path / "err", "w")
    d = subprocess.Popen([str(CORRALD_BIN), "--foreground"], env=corral.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=err)
    try:
        wait_for(lambda: "serving on" in (tmp_path / "err").read_text(),
                 what="the daemon serving")
        corral.ok("reloadLogs")
        corral.ok("start", "/bin/sleep", "--name", "after", "--", "1000")
        wait_for(lambda: "after: declared" in
                 (tmp_path / "err").read_text(),
                 what="a line after reloadLogs on stderr")
        assert "after: declared" not in corral.daemon_log()
        d.terminate()
        assert d.wait(timeout=30) == 0
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        err.close()


def test_a_client_of_another_user_is_told_why(corral):
    if os.getuid() != 0:
        pytest.skip("needs root to act as another user")
    corral.ok("ping")
    os.chmod(corral.home, 0o755)
    os.chmod(corral.sock, 0o777)

    def as_nobody():
        os.setgid(65534)
        os.setuid(65534)
    try:
        p = subprocess.run([str(CORRAL_BIN), "ls"], env=corral.env,
                           preexec_fn=as_nobody, capture_output=True,
                           timeout=30, cwd="/")
    finally:
        os.chmod(corral.home, 0o700)
    assert p.returncode == 1, p
    assert b"permission denied" in p.stderr, p.stderr
    assert b"uid 0" in p.stderr, p.stderr
    corral.ok("ping")


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_partial_requests_are_bounded(corral):
    corral.ok("ping")
    dpid = corral.daemon_pid()
    before = rss_kib(dpid)
    conns = []
    try:
        # 24 connections, each 1 MiB less a byte of a request: the daemon
        # holds at most 8 MiB of them; the oldest are told and closed.
        for _ in range(24):
            s = corral.raw_connect(timeout=30)
            s.sendall(b"x" * ((1 << 20) - 1))
            conns.append(s)
        corral.ok("ping")
        refused = 0
        for s in conns[:8]:
            s.settimeout(20)
            data = s.recv(65536)
            if data:
                reply = json.loads(data.split(b"\n")[0])
                assert reply["ok"] is False and "busy" in reply["error"]
                refused += 1
        assert refused >= 8
        # (ASan keeps freed memory in quarantine: RSS says nothing there.)
        if "san" not in os.environ.get("BUILD", ""):
            assert rss_kib(dpid) - before < 16 * 1024
    finally:
        for s in conns:
            s.close()
    corral.ok("ping")


def test_connections_waiting_for_their_request_are_bounded(corral):
    corral.ok("ping")
    conns = []

    def connect():
        try:
            conns.append(corral.raw_connect(timeout=30))
            return True
        except BlockingIOError:     # the listen queue is full for a moment
            return False
    for _ in range(300):
        wait_for(connect, what="a connection")
    try:
        corral.ok("ping")
        data = conns[0].recv(65536)
        reply = json.loads(data.split(b"\n")[0])
        assert reply["ok"] is False and "busy" in reply["error"], reply
    finally:
        for s in conns:
            s.close()
    corral.ok("ping")


def test_idle_and_slow_clients_are_let_go(corral):
    corral.ok("ping")
    idle = corral.raw_connect(timeout=30)
    slow = corral.raw_connect(timeout=30)
    slow.sendall(b'{"v": 1, "cmd": "pi')
    t0 = time.monotonic()
    for s in (idle, slow):
        data = s.recv(65536)
        reply = json.loads(data.split(b"\n")[0])
        assert reply["ok"] is False and "in time" in reply["error"], reply
        assert s.recv(65536) == b""         # and closed
        s.close()
    assert time.monotonic() - t0 < 25
    corral.ok("ping")


def test_out_of_descriptors_is_the_daemons_problem(corral):
    # A daemon with 64 descriptors: 40 instances need 80 pipe ends.
    def low():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    subprocess.run([str(CORRAL_BIN), "ping"], env=corral.env, check=True,
                   preexec_fn=low, stdout=subprocess.DEVNULL, timeout=30)
    corral.run("start", "/bin/sleep", "--name", "many", "-i", "40",
               "--max-restarts", "1", "--", "1000")
    # Each one short of descriptors waits to retry (one whose retry found
    # a descriptor freed meanwhile runs, its reason still the old one).
    waiting = wait_for(lambda: [i for i in corral.app("many")
                                if "lacks a resource" in i["reason"]],
                       what="instances waiting for descriptors")
    assert all(i["state"] in ("waiting-restart", "starting", "online")
               for i in waiting), waiting
    assert any(i["state"] == "waiting-restart" for i in waiting), waiting
    time.sleep(1)                   # several retries: still not errored
    insts = corral.app("many")
    assert not [i for i in insts if i["state"] == "errored"], insts
    assert all(i["unstable_restarts"] == 0 for i in insts), insts
    assert "the daemon lacks a resource" in corral.daemon_log()
    corral.ok("ping")
    # Listings in a row (the wait above made many) keep stat files open
    # only while 8 descriptors stay free: the next client can connect.
    # A retry under way holds a spawn's descriptors for a moment (its
    # pipes, a cgroup.procs): the count is taken between retries, and a
    # client that lands in a burst of retries (34 spawns at once, at the
    # limit) may find no descriptor for its accept and be let go (libuv
    # closes it at once: "Connection reset by peer", CI at 0d647b6, the
    # sanitizer build); the next one is served.
    for _ in range(5):
        wait_for(lambda: corral.run("jlist").rc == 0,
                 what="a listing between retries")
    seen = []

    def free_between_retries():
        seen[:] = daemon_fd_targets(corral)
        return len(seen) <= 64 - 8
    wait_for(free_between_retries,
             what=lambda: "8 descriptors free: %s" % collections.Counter(
                 re.sub(r"[0-9]+", "N", f) for f in seen))
    # Room again: every instance left starts (each holds its two pipes,
    # its pidfd and, on cgroup v1, its OOM eventfd).
    corral.ok("scale", "many", "6")
    wait_for(lambda: [i["state"] for i in corral.app("many")] ==
             ["online"] * 6, what="6 online once there is room")


def test_malformed_awaits_are_refused(corral):
    """An await (a client's pending line sent back to the next engine,
    ctl/resume.c) that is not one: a usage error, the daemon serves on.
    One of ids no instance has answers at once with an empty list."""
    c = corral
    c.ok("ping")
    bad = [{}, {"ids": 1, "want": 0}, {"ids": [1], "want": 2},
           {"ids": [-1], "want": 0}, {"ids": [2 ** 40], "want": 0},
           {"ids": ["0"], "want": 0}, {"ids": [0], "want": "0"},
           {"ids": [0, 1], "base": [0], "want": 0},
           {"ids": [0], "base": [-5], "want": 1},
           {"ids": [0], "base": {}, "want": 1},
           {"ids": [0], "want": 0, "message": 7}]
    for extra in bad:
        req = dict({"v": 1, "cmd": "await", "resume": True}, **extra)
        reply = json.loads(c.raw_request(json.dumps(req).encode() + b"\n"))
        assert reply["ok"] is False and reply["exit"] == 100, (extra, reply)
        assert reply["error"] == "malformed await request", reply
    many = {"v": 1, "cmd": "await", "ids": list(range(100000)),
            "base": None, "want": 0, "message": "gone"}
    reply = json.loads(c.raw_request(json.dumps(many).encode() + b"\n"))
    assert reply["ok"] is True and reply["data"] == [], reply
    assert reply["message"] == "gone", reply
    # a reload sent again says since when the first ran (ctl/resume.c)
    for since in (-1, "1", 1.5, None, []):
        req = {"v": 1, "cmd": "reload", "argv": ["all"], "since": since}
        reply = json.loads(c.raw_request(json.dumps(req).encode() + b"\n"))
        assert reply["ok"] is False and reply["exit"] == 100, (since, reply)
        assert "since must be a time" in reply["error"], reply
    c.ok("ping")


def listening(corral):
    try:
        corral.raw_connect(timeout=5).close()
        return True
    except OSError:
        return False


def test_a_full_stderr_never_stalls_a_foreground_daemon(corral):
    """corrald --foreground writes its log (the keeper's and the
    engine's) to a pipe nobody reads, as a stalled log collector leaves
    it: once the pipe is full the lines are dropped, not waited on, and
    counted; the daemon goes on serving, supervising and stopping. Before,
    the engine blocked in write(2) at the first line past 64 KiB: every
    command then hung."""
    r, w = os.pipe()
    d = subprocess.Popen([str(CORRALD_BIN), "--foreground"], env=corral.env,
                         stdin=subprocess.DEVNULL, stdout=w, stderr=w)
    os.close(w)
    try:
        os.set_blocking(r, False)
        # a connect, not a ping: a ping autostarts a daemon of its own
        # when it comes before this one listens
        wait_for(lambda: listening(corral), what="the daemon serving")
        corral.ok("start", "/bin/sleep", "--name", "s", "-i", "20", "--",
                  "1000", timeout=30)
        for _ in range(30):     # 40 lines a round: past 64 KiB
            corral.ok("stop", "s", timeout=30)
            corral.ok("start", "s", timeout=30)
        got = b""
        while True:
            try:
                chunk = os.read(r, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            got += chunk
        assert len(got) >= 60000, len(got)
        corral.ok("stop", "s", timeout=30)

        def dropped():
            nonlocal got
            try:
                got += os.read(r, 1 << 16)
            except BlockingIOError:
                pass
            return re.search(rb"\d+ log lines dropped", got)
        wait_for(dropped, what="the count of dropped lines")
        corral.ok("start", "s", timeout=30)
        for _ in range(30):     # full again: the stop's lines have no room
            corral.ok("stop", "s", timeout=30)
            corral.ok("start", "s", timeout=30)
        d.terminate()           # the keeper's and the engine's stop
        assert d.wait(timeout=30) == 0
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        os.close(r)
