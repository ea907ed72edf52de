# SPDX-License-Identifier: ISC
"""The keeper opens no file that can freeze it (docs/keeper.md, "The
keeper's files"): a FIFO planted as keeper.log, keeper.pid or the binary
of an update would make open(2) wait for its other end, the keeper's
loop with it, and the apps would run unsupervised. Each is refused as not
a regular file, with the engine's own files' rule."""

import os

from conftest import wait_for
from keeperproto import (KIND, KINDS, LIVE, PID, READY, TEXT,
                         UPDATE_FAILED, UPGRADE, keepers_fixture, spawned)

assert keepers_fixture  # the fixture "keepers", used by name

TICKER = """\
    #!/bin/sh
    while :; do echo tick; sleep 0.2; done
    """


def test_a_fifo_as_keeper_log_or_pid_file_freezes_nothing(corral):
    os.mkfifo(os.path.join(corral.home, "keeper.log"))
    corral.script("tick.sh", TICKER)
    corral.ok("start", "tick.sh", "--name", "tick", timeout=20)
    wait_for(lambda: corral.app("tick")[0]["state"] == "online",
             what="the app online, the log refused")
    corral.ok("kill", timeout=20)
    os.unlink(os.path.join(corral.home, "keeper.log"))
    os.mkfifo(os.path.join(corral.home, "keeper.pid"))
    r = corral.run("ping", timeout=20)
    assert r.rc != 0 and "keeper.pid: not a regular file" in r.err, r


def test_an_update_to_a_fifo_rolls_back(keepers, tmp_path):
    fifo = tmp_path / "corrald"
    os.mkfifo(fifo)
    k = keepers(ready=20000)
    e = k.accept()
    e.link.table()
    e.link.send(READY)
    pid = spawned(k, e.link, "app:0:1", ["sleep", "1000"]).fields[PID]
    e.link.send(UPGRADE, [(TEXT, str(fifo))])
    e.exit(0)
    e2 = k.accept()
    hello, items = e2.link.table()
    assert KINDS[hello.fields[KIND]] == "rollback"
    assert [(i.type, i.fields[PID]) for i in items] == [(LIVE, pid)]
    text = e2.link.expect(UPDATE_FAILED).fields[TEXT]
    assert "not a regular file" in text, text
