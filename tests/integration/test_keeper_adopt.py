# SPDX-License-Identifier: ISC
"""The engine spawns, the keeper adopts (docs/keeper.md "Spawning"): an
app is the keeper's child from its first instruction, an engine killed
between its clone and the app's exec loses no app, and the keeper's own
stop sends each app's kill signal. The fake engine spawns as the real one
does (the same spawn-*.c files)."""

import array
import os
import signal
import socket
import struct
import subprocess

from conftest import wait_for
from keeperproto import (LIVE, PID, READY, TAG, keepers_fixture, spawned)

assert keepers_fixture  # the fixture "keepers", used by name


def ppid(pid):
    with open(f"/proc/{pid}/status") as f:
        return int([x for x in f if x.startswith("PPid:")][0].split()[1])


def test_engine_killed_before_exec_loses_no_app(keepers, tmp_path):
    """The child pauses after its adopt datagram (a test-only delay of the
    fake engine); the engine dies then: the app still runs its program,
    the keeper's child, in the next engine's table."""
    marker = tmp_path / "ran"
    k = keepers(env={"FAKE_ENGINE_SPAWN_DELAY_MS": "4000"})
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    e.link.spawn("late", ["sh", "-c", f"echo ran > {marker}; exec sleep 1000"],
                 wait=False)
    wait_for(lambda: "adopted late pid" in k.text(), what="the adoption")
    os.kill(e.pid, signal.SIGKILL)
    assert not marker.exists(), "the machine was too slow for the delay"
    e2 = k.accept()
    _, items = e2.link.table()
    assert [(m.type, m.fields[TAG]) for m in items] == [(LIVE, "late")]
    pid = items[0].fields[PID]
    k.pids.append(pid)
    for fd in items[0].fds:
        os.close(fd)
    wait_for(marker.exists, what="the app's exec after the engine died")
    assert ppid(pid) == k.proc.pid


def test_keeper_alone_sends_the_kill_signal(keepers, tmp_path):
    """No engine can run; SIGTERM to the keeper: each app gets its own kill
    signal (here SIGINT, which alone stops it), not SIGTERM then SIGKILL."""
    marker = tmp_path / "got"
    script = (f"trap 'echo INT > {marker}; exit 0' INT; "
              f"trap 'echo TERM > {marker}' TERM; "
              "while :; do sleep 0.05; done")
    k = keepers(stop=60000)
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    m = spawned(k, e.link, "intonly", ["sh", "-c", script],
                kill_signal=signal.SIGINT)
    pid = m.fields[PID]
    assert ppid(pid) == k.proc.pid
    for fd in m.fds:
        os.close(fd)
    k.fail_file.touch()
    os.kill(e.pid, signal.SIGKILL)
    wait_for(lambda: len(k.starts()) >= 2, what="a failed engine restart")
    k.proc.send_signal(signal.SIGTERM)
    assert k.wait() == 1        # every app stopped on the first signal
    assert marker.read_text() == "INT\n"


def forge(adopt, pid, tag):
    """A datagram on the adopt socket as an app sends it (struct
    kproto_adopt: version, pid, started_at, kill_signal, tag), with the
    read ends of two pipes."""
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    data = struct.pack("@Iiqi256s4x", 2, pid, 0, signal.SIGTERM,
                       tag.encode())
    s = socket.socket(fileno=os.dup(adopt))
    try:
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                            array.array("i", [r1, r2]))])
    finally:
        s.close()
        for fd in (r1, w1, r2, w2):
            os.close(fd)


def test_a_datagram_for_another_process_kills_nothing(keepers):
    """The adopt socket names a pid: one that is not the keeper's child
    (someone else's process), or the engine, or a tag the protocol cannot
    carry, is never taken into the table, so neither the next engine's
    table nor the keeper's own stop ever reaches that process."""
    others = [subprocess.Popen(["sleep", "1000"], start_new_session=True)
              for _ in range(2)]
    try:
        k = keepers(stop=60000)
        e = k.accept()
        e.link.table()
        e.link.send(READY)
        forge(e.link.adopt, others[0].pid, "forged")
        forge(e.link.adopt, others[1].pid, "bad\ntag")
        forge(e.link.adopt, e.pid, "engine")
        wait_for(lambda: k.text().count("adopt socket: a malformed") +
                 k.text().count("adopted ") >= 3,
                 what="the three datagrams read")
        assert k.text().count("adopt socket: a malformed") == 3
        os.kill(e.pid, signal.SIGKILL)
        e2 = k.accept()
        _, items = e2.link.table()
        assert items == []
        k.fail_file.touch()
        os.kill(e2.pid, signal.SIGKILL)
        wait_for(lambda: len(k.starts()) >= 3, what="a failed engine restart")
        k.proc.send_signal(signal.SIGTERM)
        k.wait()
        assert [p.poll() for p in others] == [None, None]
    finally:
        for p in others:
            p.kill()
            p.wait()
