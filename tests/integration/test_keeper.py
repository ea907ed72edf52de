# SPDX-License-Identifier: ISC
"""corral-keeper against a test that plays the engine (keeperproto.py): the
real keeper binary, real children, pipes, pidfds and signals. The keeper
starts tests/keeper/fake-engine, which hands its socket to the test."""

import errno
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import DEADLINE, pid_alive, wait_for
from keeperproto import (BYE, ERROR, ERRNO, EXITED, FAKE_ENGINE,
                         HEARTBEAT, HELD, HELLO, HOLD, KEEPER_BIN, KIND, KINDS,
                         LISTEN_PID, LIVE, PID, READY, REEXEC, RELEASE,
                         SETSID, SPAWN_FAILED, SPAWNED, STAGE, STATUS,
                         STOP_TIME, TABLE_END, TAG, TERM, TEXT, TIMEOUT_MS,
                         UPDATE_FAILED, UPGRADE,
                         encode, keepers_fixture, read_until, spawned,
                         wait_gone)

assert keepers_fixture  # the fixture "keepers", used by name

TICKER = ["/bin/sh", "-c",
          "i=0; while :; do i=$((i+1)); echo $i; sleep 0.005; done"]


def test_spawn_pipes_pidfd_and_fds(keepers, tmp_path):
    k = keepers()
    e = k.accept()
    assert e.argv[1:4] == ["--engine", "--keeper-fd", e.argv[3]]
    assert e.argv[4:] == ["--passed-through"]
    hello, items = e.link.table()
    assert KINDS[hello.fields[KIND]] == "first" and items == []
    e.link.send(READY)

    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()
    script = ("echo pid=$$ listen=$LISTEN_PID preload=$LD_PRELOAD; "
              "readlink /proc/self/fd/3; pwd; echo oops >&2; "
              "exec sleep 1000")
    m = spawned(k, e.link, "app:0:1", ["sh", "-c", script],
                env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": ""},
                cwd=str(tmp_path), flags=SETSID | LISTEN_PID,
                fds=[lsock.fileno()], preload="/nonexistent/lib.so")
    pid = m.fields[PID]
    out, err, pidfd = m.fds
    text = read_until(out, str(tmp_path).encode() + b"\n").decode()
    assert f"pid={pid} listen={pid} preload=/nonexistent/lib.so" in text
    inode = os.fstat(lsock.fileno()).st_ino
    assert f"socket:[{inode}]" in text
    assert b"oops" in read_until(err, b"oops")
    assert os.getsid(pid) == pid
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    assert "SigBlk:\t0000000000000000" in status
    # the engine cloned it with CLONE_PARENT: the keeper is its parent
    assert f"\nPPid:\t{k.proc.pid}\n" in status
    # only 0, 1, 2 and 3 are open in the app
    assert sorted(os.listdir(f"/proc/{pid}/fd")) == ["0", "1", "2", "3"]

    signal.pidfd_send_signal(pidfd, signal.SIGTERM)
    x = e.link.expect(EXITED)
    assert x.fields[TAG] == "app:0:1" and x.fields[PID] == pid
    assert os.WIFSIGNALED(x.fields[STATUS])
    assert os.WTERMSIG(x.fields[STATUS]) == signal.SIGTERM
    wait_gone(pid)
    e.link.send(RELEASE, [(TAG, "app:0:1")])
    e.link.send(RELEASE, [(TAG, "app:0:1")])
    r = e.link.expect(ERROR)
    assert r.fields[ERRNO] == errno.ENOENT and r.fields[TAG] == "app:0:1"
    for fd in m.fds:
        os.close(fd)


def test_spawn_failures(keepers, tmp_path):
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    cases = [
        (dict(argv=["/nonexistent/prog"]), errno.ENOENT, "exec"),
        (dict(argv=["no-such-program-here"]), errno.ENOENT, "exec"),
        (dict(argv=["true"], cwd=str(tmp_path / "missing")), errno.ENOENT,
         "chdir"),
    ]
    for i, (kw, err, stage) in enumerate(cases):
        e.link.spawn(f"bad{i}", env={"PATH": "/usr/bin:/bin"}, **kw)
        m = e.link.expect(SPAWN_FAILED)
        assert (m.fields[TAG], m.fields[ERRNO], m.fields[STAGE]) == \
            (f"bad{i}", err, stage)
        # adopted before it failed: its exit (127) comes, and a RELEASE
        # leaves nothing of it in the table
        x = e.link.expect(EXITED)
        assert x.fields[TAG] == f"bad{i}"
        assert os.WEXITSTATUS(x.fields[STATUS]) == 127
        e.link.send(RELEASE, [(TAG, f"bad{i}")])
    # a tag in use: the keeper kills the second process, which it could
    # not record; its exit comes by pid, without a tag
    spawned(k, e.link, "dup", ["sleep", "1000"])
    second = spawned(k, e.link, "dup", ["sleep", "1000"])
    x = e.link.expect(EXITED)
    assert TAG not in x.fields and x.fields[PID] == second.fields[PID]
    assert os.WTERMSIG(x.fields[STATUS]) == signal.SIGKILL
    assert "cannot adopt dup" in k.text()
    # the table: only the first "dup"
    os.kill(e.pid, signal.SIGKILL)
    _, items = k.accept().link.table()
    assert [(m.type, m.fields[TAG]) for m in items] == [(LIVE, "dup")]


def test_engine_kill9_keeps_apps_pipes_and_fds(keepers):
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()
    e.link.send(HOLD, [(TAG, "listen:web")], [lsock.fileno()])
    inode = os.fstat(lsock.fileno()).st_ino
    lsock.close()
    m = spawned(k, e.link, "ticker:0:1", TICKER)
    tpid = m.fields[PID]
    m2 = spawned(k, e.link, "sleeper:0:1", ["sleep", "1000"])
    spid = m2.fields[PID]
    got = read_until(m.fds[0], b"\n20\n")
    for fd in m.fds + m2.fds:
        os.close(fd)

    # The engine dies; no one reads the ticker's pipe for a while.
    k.fail_file.touch()
    os.kill(e.pid, signal.SIGKILL)
    wait_for(lambda: len(k.starts()) >= 2, what="a failed engine restart")
    # a child dies while no engine runs
    os.kill(spid, signal.SIGKILL)
    wait_gone(spid)
    k.fail_file.unlink()
    e2 = k.accept()
    hello, items = e2.link.table()
    assert KINDS[hello.fields[KIND]] == "restart"
    by_type = {(i.type, i.fields[TAG]): i for i in items}
    held = by_type[(HELD, "listen:web")]
    assert os.fstat(held.fds[0]).st_ino == inode
    live = by_type[(LIVE, "ticker:0:1")]
    assert live.fields[PID] == tpid and len(live.fds) == 3
    dead = by_type[(EXITED, "sleeper:0:1")]
    assert dead.fields[PID] == spid and len(dead.fds) == 2
    assert os.WTERMSIG(dead.fields[STATUS]) == signal.SIGKILL
    # The ticker lived through it, and its numbers have no gap.
    more = read_until(live.fds[0], b"\n")
    nums = [int(x) for x in (got + more).split()[:-1]]
    assert nums == list(range(1, len(nums) + 1))
    assert len(nums) > 20
    signal.pidfd_send_signal(live.fds[2], 0)
    for i in items:
        for fd in i.fds:
            os.close(fd)


def keeper_fds(k):
    return len(os.listdir(f"/proc/{k.proc.pid}/fd"))


def big_table(keepers, n):
    """A keeper holding n pipes whose engine was killed: (keeper, the
    next engine, which has read its HELLO and nothing more, the keeper's
    descriptor count then)."""
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    r, w = os.pipe()
    for i in range(n):
        e.link.send(HOLD, [(TAG, "h/%d" % i)], [r])
    os.close(r)
    os.close(w)
    wait_for(lambda: keeper_fds(k) > n, what=f"the keeper holding {n} pipes")
    held = keeper_fds(k)
    os.kill(e.pid, signal.SIGKILL)
    e2 = k.accept()
    hello = e2.link.recv()
    assert hello.type == HELLO, hello
    return k, e2, held


def rest_of_table(link):
    """The messages up to TABLE_END, their descriptors closed."""
    got = []
    while True:
        m = link.recv()
        for fd in m.fds:
            os.close(fd)
        if m.type == TABLE_END:
            return got
        got.append(m)


def test_a_big_table_waits_for_the_engine_not_in_descriptors(keepers):
    """A table bigger than the socket takes goes on as the next engine
    reads it: the keeper keeps no copy of a descriptor the socket has not
    taken. Before, every frame it could not send at once was queued with
    copies of its descriptors (three for a live app): the table of 4,200
    apps passed the descriptor limit, and no engine could start."""
    n = 2000
    k, e2, held = big_table(keepers, n)
    # the keeper sent what the socket took, and waits for the reader
    assert keeper_fds(k) <= held + 16, (held, keeper_fds(k))
    items = rest_of_table(e2.link)
    assert all(m.type == HELD and len(m.fds) == 1 for m in items), items
    assert {m.fields[TAG] for m in items} == {"h/%d" % i for i in range(n)}
    assert keeper_fds(k) <= held + 16, (held, keeper_fds(k))


def test_an_app_adopted_while_the_table_waits_is_in_it(keepers):
    """An app the new engine spawns while its table is still being sent
    (the socket full, the engine not reading yet) goes in that table.
    Before, one adopted after the table's cursor had passed the last
    child was never sent: the engine never heard of it, nor of its
    exit."""
    k, e2, _ = big_table(keepers, 2000)
    before = keeper_fds(k)
    e2.link.spawn("newborn", ["sleep", "1000"])
    pid = e2.link.pending[0].fields[PID]
    k.pids.append(pid)
    wait_for(lambda: keeper_fds(k) >= before + 2, what="the app adopted")
    live = [(m.fields[TAG], m.fields[PID]) for m in rest_of_table(e2.link)
            if m.type == LIVE]
    assert live == [("newborn", pid)]


def test_engine_backoff(keepers):
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    k.fail_file.touch()
    os.kill(e.pid, signal.SIGKILL)
    wait_for(lambda: len(k.starts()) >= 6, what="6 engine starts")
    t = k.starts()[1:]
    gaps = [b - a for a, b in zip(t, t[1:])]
    # delays 100, 200, 400, 800 ms: a busy machine only lengthens them
    for i, gap in enumerate(gaps[:4]):
        assert gap >= (100 << (i + 1)) * 0.9, gaps
    assert "restart in" in k.text()
    k.fail_file.unlink()
    e2 = k.accept()
    hello, _ = e2.link.table()
    assert KINDS[hello.fields[KIND]] == "restart"
    assert "exited with status 3" in hello.fields[TEXT]


def test_first_engine_failure_ends_the_keeper(keepers):
    k = keepers(fail=True)
    assert k.wait() == 1
    assert "first engine failed" in k.text()
    assert not (k.home / "keeper.pid").exists()


def test_second_keeper_sees_the_lock(keepers):
    k = keepers()
    k.accept()
    r = subprocess.run([str(KEEPER_BIN), "-f"], env=k.env,
                       capture_output=True, timeout=DEADLINE)
    assert r.returncode == 0 and b"already running" in r.stderr
    assert (k.home / "keeper.pid").read_text().strip() == str(k.proc.pid)


def test_heartbeat_timeout_replaces_a_hung_engine(keepers):
    k = keepers(heartbeat=1500)
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    # heartbeats keep it alive past the timeout
    end = time.monotonic() + 2.5
    while time.monotonic() < end:
        e.link.send(HEARTBEAT)
        time.sleep(0.2)
    assert len(k.starts()) == 1
    e2 = k.accept()
    hello, _ = e2.link.table()
    assert "no heartbeat" in hello.fields[TEXT]
    wait_gone(e.pid)


def test_bad_frame_replaces_the_engine(keepers):
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    e.link.sock.sendall(b"\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\x7f")
    e2 = k.accept()
    hello, _ = e2.link.table()
    assert "bad frame" in hello.fields[TEXT]
    e2.link.send(HOLD, [(TAG, "x")], [])   # HOLD without its descriptor
    e3 = k.accept()
    hello, _ = e3.link.table()
    assert "bad frame" in hello.fields[TEXT]
    assert k.proc.poll() is None


def test_upgrade_and_rollback(keepers, tmp_path):
    old = tmp_path / "engine-old"
    new = tmp_path / "engine-new"
    shutil.copy(FAKE_ENGINE, old)
    shutil.copy(FAKE_ENGINE, new)
    k = keepers(engine=old, ready=2000)
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    m = spawned(k, e.link, "app:0:1", ["sleep", "1000"])
    pid = m.fields[PID]

    # an upgrade to a binary that exits at once: back to the old one,
    # although its file is gone from the disk
    old.unlink()
    e.link.send(UPGRADE, [(TEXT, "/bin/false")])
    e.exit(0)
    e2 = k.accept()
    hello, items = e2.link.table()
    assert KINDS[hello.fields[KIND]] == "rollback"
    assert e2.argv[0] == str(old)
    assert [(i.type, i.fields[PID]) for i in items] == [(LIVE, pid)]
    uf = e2.link.recv()
    assert uf.type == UPDATE_FAILED and "status 1" in uf.fields[TEXT]
    e2.link.send(READY)

    # a new engine that never says READY: rolled back too
    e2.link.send(UPGRADE, [(TEXT, str(new))])
    e2.exit(0)
    e3 = k.accept()
    hello, _ = e3.link.table()
    assert KINDS[hello.fields[KIND]] == "upgrade" and e3.argv[0] == str(new)
    e4 = k.accept()
    hello, _ = e4.link.table()
    assert KINDS[hello.fields[KIND]] == "rollback"
    assert "READY" in e4.link.expect(UPDATE_FAILED).fields[TEXT]

    # and one that does: it becomes the engine a crash restarts
    e4.link.send(UPGRADE, [(TEXT, str(new))])
    e4.exit(0)
    e5 = k.accept()
    hello, _ = e5.link.table()
    e5.link.send(READY)
    e5.link.send(HEARTBEAT)
    time.sleep(0.1)
    os.kill(e5.pid, signal.SIGKILL)
    e6 = k.accept()
    hello, items = e6.link.table()
    assert KINDS[hello.fields[KIND]] == "restart" and e6.argv[0] == str(new)
    assert [(i.type, i.fields[PID]) for i in items] == [(LIVE, pid)]
    assert os.path.exists(f"/proc/{pid}")


def test_reexec_keeps_children_and_fds(keepers):
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    r, w = os.pipe()
    e.link.send(HOLD, [(TAG, "pipe")], [w])
    os.close(w)
    m = spawned(k, e.link, "ticker:0:1", TICKER)
    tpid = m.fields[PID]
    read_until(m.fds[0], b"\n5\n")

    # a binary that is not a keeper is refused before anything is lost
    e.link.send(REEXEC, [(TEXT, "/bin/true")])
    assert "protocol" in e.link.expect(UPDATE_FAILED).fields[TEXT]

    e.link.send(REEXEC, [(TEXT, str(KEEPER_BIN))])
    hello = e.link.recv()
    assert KINDS[hello.fields[KIND]] == "reexec"
    assert hello.fields[PID] == k.proc.pid
    # the same link still works
    spawned(k, e.link, "after", ["sleep", "1000"])
    os.kill(e.pid, signal.SIGKILL)
    e2 = k.accept()
    _, items = e2.link.table()
    tags = {(i.type, i.fields[TAG]) for i in items}
    assert tags == {(HELD, "pipe"), (LIVE, "ticker:0:1"), (LIVE, "after")}
    held = [i for i in items if i.type == HELD][0]
    os.write(held.fds[0], b"through")
    assert os.read(r, 100) == b"through"
    live = [i for i in items if i.fields[TAG] == "ticker:0:1"][0]
    assert live.fields[PID] == tpid
    read_until(live.fds[0], b"\n")


def fd_kinds(pid, argv=None):
    """What pid's descriptors are, sorted, without inode numbers; with a
    fake engine's argv, less its --keeper-fd (it closes that one once the
    test has it, which may be after the test looks)."""
    d = f"/proc/{pid}/fd"
    skip = int(argv[argv.index("--keeper-fd") + 1]) if argv else -1
    return sorted(re.sub(r"\[\d+\]", "", os.readlink(f"{d}/{n}"))
                  for n in os.listdir(d) if int(n) != skip)


def test_a_reexec_leaves_no_descriptor_behind(keepers):
    """The table's descriptors lose close-on-exec for the re-exec only:
    the engines started after it get the descriptors a restart's engine
    got before it, and the keeper holds what it held. Before, the adopt
    socket's two ends stayed inheritable after a re-exec: every later
    engine and child got both."""
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    os.kill(e.pid, signal.SIGKILL)
    e1 = k.accept()
    e1.link.table()
    e1.link.send(READY)
    engine_fds = fd_kinds(e1.pid, e1.argv)
    keeper_fds = fd_kinds(k.proc.pid)
    e1.link.send(REEXEC, [(TEXT, str(KEEPER_BIN))])
    assert KINDS[e1.link.expect(HELLO, skip=()).fields[KIND]] == "reexec"
    assert fd_kinds(k.proc.pid) == keeper_fds
    os.kill(e1.pid, signal.SIGKILL)
    e2 = k.accept()
    e2.link.table()
    assert fd_kinds(e2.pid, e2.argv) == engine_fds


def hanging_keeper(tmp_path, real=False):
    """A "keeper binary" whose --protocol answer is the line written to
    the FIFO it returns (with real, the real keeper's answer once a line
    came); it writes its pid to the file it returns. With real, it runs
    as the real keeper otherwise."""
    fifo = tmp_path / "answer"
    os.mkfifo(fifo)
    started = tmp_path / "started"
    hang = tmp_path / "corral-keeper"
    answer = (f'exec {KEEPER_BIN} --protocol' if real else
              'echo "$line"')
    hang.write_text(f"#!/bin/sh\n[ \"$1\" = --protocol ] || "
                    f"exec {KEEPER_BIN} \"$@\"\n"
                    f"echo $$ > {started}.tmp\n"
                    f"mv {started}.tmp {started}\n"
                    f"read line < {fifo}\n{answer}\n")
    hang.chmod(0o755)
    return hang, fifo, started


def answer(fifo, line="go"):
    with open(fifo, "w") as f:
        f.write(line + "\n")


def check_running(k, started):
    wait_for(started.exists, what="the check running")
    pid = int(started.read_text())
    k.pids.append(pid)      # killed at cleanup
    return pid


def checking(keepers, tmp_path, real=False):
    """A keeper whose engine said READY, then asked for a REEXEC to
    hanging_keeper()'s binary: (keeper, engine, the check's FIFO, the
    check's pid) once the check runs."""
    hang, fifo, started = hanging_keeper(tmp_path, real)
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    e.link.send(REEXEC, [(TEXT, str(hang))])
    return k, e, fifo, check_running(k, started)


def test_a_reexec_check_that_hangs_stops_nothing(keepers, tmp_path):
    """The new keeper binary answers --protocol before the keeper
    re-executes; one that hangs must not hang the keeper with it. Before,
    the keeper waited for the answer in its loop for up to 5 s: no exit
    reaped, no request served. Now an app dies and a spawn is answered
    while the check waits; the answer ends it."""
    k, e, fifo, _ = checking(keepers, tmp_path)
    m = spawned(k, e.link, "victim", ["sleep", "1000"])
    signal.pidfd_send_signal(m.fds[2], signal.SIGKILL)
    ex = e.link.expect(EXITED)      # not UPDATE_FAILED first
    assert ex.fields[TAG] == "victim"
    spawned(k, e.link, "during", ["sleep", "1000"])
    e.link.send(REEXEC, [(TEXT, str(KEEPER_BIN))])
    assert "busy" in e.link.expect(UPDATE_FAILED).fields[TEXT]
    answer(fifo, "corral-keeper 0 protocol 0")
    uf = e.link.expect(UPDATE_FAILED)
    assert "did not answer" in uf.fields[TEXT], uf.fields[TEXT]
    # the keeper is whole: a re-exec now goes through
    e.link.send(REEXEC, [(TEXT, str(KEEPER_BIN))])
    hello = e.link.recv()
    assert KINDS[hello.fields[KIND]] == "reexec"


def test_a_stop_during_a_reexec_check_leaves_no_process(keepers, tmp_path):
    """A stop while the check hangs: the keeper stops as always, and the
    check's process goes with it (the sweep of the keeper's children)."""
    k, e, _, pid = checking(keepers, tmp_path)
    k.proc.send_signal(signal.SIGTERM)
    e.link.expect(TERM)
    e.link.send(BYE, [(STATUS, 0)])
    e.exit(0)
    assert k.wait() == 0
    wait_gone(pid)


def test_a_reexec_waits_for_a_frame_half_sent(keepers, tmp_path):
    """The check ends while the engine's next frame is half sent: the
    exec waits for the rest, which then reaches the next keeper whole
    (its descriptor with it). Before the check ran beside the loop, the
    exec always came between two frames."""
    k, e, fifo, check = checking(keepers, tmp_path, real=True)
    r, w = os.pipe()
    frame = encode(HOLD, [(TAG, "late")], 1)
    socket.send_fds(e.link.sock, [frame[:5]], [w])
    os.close(w)
    answer(fifo)
    wait_gone(check)        # the check is over: the exec is due
    e.link.sock.sendall(frame[5:])
    assert KINDS[e.link.expect(HELLO, skip=()).fields[KIND]] == "reexec"
    os.kill(e.pid, signal.SIGKILL)
    e2 = k.accept()
    _, items = e2.link.table()
    held = [i for i in items if i.type == HELD]
    assert [i.fields[TAG] for i in held] == ["late"]
    os.write(held[0].fds[0], b"whole")
    assert os.read(r, 100) == b"whole"


def test_a_bye_during_a_reexec_check_is_kept(keepers, tmp_path):
    """BYE while the check runs: the engine is leaving, so the re-exec is
    refused and the keeper exits with the BYE's status once the engine
    is gone. Before, the re-exec went on and the next keeper, which knew
    of no BYE, took the engine's exit for a crash and started another."""
    k, e, fifo, check = checking(keepers, tmp_path, real=True)
    e.link.send(BYE, [(STATUS, 0)])
    answer(fifo)
    wait_gone(check)
    assert "busy" in e.link.expect(UPDATE_FAILED).fields[TEXT]
    e.exit(0)
    assert k.wait() == 0
    assert "re-executing" not in k.text(), k.text()


def test_term_and_bye(keepers):
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    m = spawned(k, e.link, "app:0:1", ["sleep", "1000"])
    k.proc.send_signal(signal.SIGTERM)
    e.link.expect(TERM)
    signal.pidfd_send_signal(m.fds[2], signal.SIGTERM)
    e.link.expect(EXITED)
    e.link.send(BYE, [(STATUS, 0)])
    e.exit(0)
    assert k.wait() == 0


def test_an_engine_leaving_after_bye_may_leave_frames_unread(keepers):
    """An engine that said BYE closes its end without reading the last
    frames (an app's exit): the keeper reads ECONNRESET. That is the
    engine leaving, not a broken one: it is not killed (corrald's reply
    to `corral kill` may still be on its way), and its exit status is
    the keeper's."""
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    m = spawned(k, e.link, "app:0:1", ["sleep", "1000"])
    e.link.send(BYE, [(STATUS, 0)])
    signal.pidfd_send_signal(m.fds[2], signal.SIGKILL)
    wait_for(lambda: select.select([e.link.sock], [], [], 0)[0],
             what="the EXITED the engine leaves unread")
    e.link.close()
    wait_for(lambda: "engine closed its socket as it leaves" in k.text(),
             what="the close seen")
    assert pid_alive(e.pid)
    e.exit(0)
    assert k.wait() == 0
    assert "killing the engine" not in k.text(), k.text()
    assert "engine exited with status 0" in k.text(), k.text()
    for fd in m.fds:
        os.close(fd)


def test_stop_without_engine(keepers):
    k = keepers(stop=500)
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    polite = spawned(k, e.link, "polite", ["sleep", "1000"]).fields[PID]
    stubborn = spawned(k, e.link, "stubborn", [
        "sh", "-c", "trap '' TERM; echo ok; while :; do sleep 0.1; done"])
    read_until(stubborn.fds[0], b"ok")
    k.fail_file.touch()
    os.kill(e.pid, signal.SIGKILL)
    wait_for(lambda: len(k.starts()) >= 2, what="a failed restart")
    k.proc.send_signal(signal.SIGTERM)
    assert k.wait() == 2            # SIGKILL was needed
    wait_gone(polite)
    wait_gone(stubborn.fields[PID])
    assert "SIGKILL" in k.text()


def test_stop_time_lengthens_the_keepers_bounds(keepers, tmp_path):
    """STOP_TIME: the engine's apps stop within 4 s (a kill_timeout), more
    than the keeper's own bounds (--term-timeout 1 s, --stop-timeout
    0.5 s). An engine that never says BYE is killed only 4 s + 0.5 s
    after TERM, and the keeper's own SIGTERM to the apps waits 4 s before
    SIGKILL: an app that takes 1 s to stop is not killed."""
    k = keepers(stop=500, extra=["--term-timeout", "1000"])
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    e.link.send(STOP_TIME, [(TIMEOUT_MS, 4000)])
    mark = tmp_path / "stopped"
    slow = spawned(k, e.link, "slow", [
        "sh", "-c", f"trap 'sleep 1; echo bye > {mark}; exit 0' TERM; "
        "echo ok; while :; do sleep 0.1; done"])
    read_until(slow.fds[0], b"ok")
    k.proc.send_signal(signal.SIGTERM)
    e.link.expect(TERM)
    assert k.wait() == 1        # stopped by the keeper, on SIGTERM alone
    assert mark.read_text() == "bye\n"
    text = k.text()
    assert "the apps stop within 4000 ms: TERM to BYE within 4500 ms, " \
        "SIGKILL 4000 ms after the keeper's own SIGTERM" in text
    assert "no BYE and exit within 4500 ms of TERM" in text
    assert "SIGKILL" not in text.split("no BYE and exit")[1]


def own_cgroup_dirs():
    """(v2 dir, v1 memory dir) this test runs in, each None if absent."""
    mounts = {}
    with open("/proc/mounts") as f:
        for line in f:
            dev, path, fstype, opts = line.split()[:4]
            if fstype == "cgroup2":
                mounts.setdefault("", path)
            elif fstype == "cgroup" and "memory" in opts.split(","):
                mounts["memory"] = path
    dirs = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            key = "" if ctrls == "" else "memory" \
                if "memory" in ctrls.split(",") else None
            if key is not None and key in mounts:
                dirs[key] = mounts[key] + path
    return dirs.get(""), dirs.get("memory")


def test_spawn_into_cgroups(keepers):
    """clone3(CLONE_INTO_CGROUP) with a v2 directory; a write of "0" to
    a cgroup.procs file (v1, or v2 when clone3 cannot) or a v1 tasks
    file (the engine's choice on v1: the child is one thread)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make cgroups")
    v2, v1 = own_cgroup_dirs()
    made = []
    for base in (v2, v1):
        if base is None:
            made.append(None)
            continue
        d = os.path.join(base, f"corral-keeper-test-{os.getpid()}")
        try:
            os.mkdir(d)
        except OSError as e:
            pytest.skip(f"cannot make a cgroup under {base}: {e}")
        made.append(d)
    if made == [None, None]:
        pytest.skip("no cgroup hierarchy")
    k = keepers()
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    try:
        if made[0] is not None:
            dfd = os.open(made[0], os.O_RDONLY | os.O_DIRECTORY)
            e.link.spawn("v2", ["sleep", "1000"], cgroup_fd=dfd)
            os.close(dfd)
            m = e.link.expect(SPAWNED)
            k.pids.append(m.fields[PID])
            with open(f"/proc/{m.fields[PID]}/cgroup") as f:
                line = [x for x in f if x.startswith("0::")][0]
            assert line.strip().endswith(os.path.basename(made[0]))
        for tag, file in (("v1", "cgroup.procs"), ("v1t", "tasks")):
            if made[1] is None:
                break
            e.link.spawn(tag, ["sleep", "1000"],
                         procs=[os.path.join(made[1], file)])
            m = e.link.expect(SPAWNED)
            k.pids.append(m.fields[PID])
            with open(os.path.join(made[1], "cgroup.procs")) as f:
                assert str(m.fields[PID]) in f.read().split()
        e.link.spawn("bad", ["sleep", "1000"],
                     procs=["/nonexistent/cgroup.procs"])
        m = e.link.expect(SPAWN_FAILED)
        assert (m.fields[ERRNO], m.fields[STAGE]) == (errno.ENOENT, "cgroup")
    finally:
        for pid in k.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in k.pids:
            wait_gone(pid)
        for d in made:
            if d is not None:
                wait_for(lambda: not open(os.path.join(d, "cgroup.procs"))
                         .read().strip(), what=f"{d} empty")
                os.rmdir(d)
