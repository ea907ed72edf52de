# SPDX-License-Identifier: ISC
"""corrald --engine against a test that plays the keeper: a keeper of
another protocol. The engine refuses a HELLO of another protocol before
the table (it exits, and a real keeper rolls back to the engine it had:
test_engine.py's update tests); a HELLO of another protocol after the
table (a keeper that re-executed into a binary of another protocol) is a
keeper lost: the engine leaves, the apps keep running."""
import os
import socket
import subprocess

import pytest

from conftest import CORRALD_BIN, DEADLINE
from keeperproto import (HEARTBEAT_MS, HELLO, KIND, PID, READY, STAGE,
                         TABLE_END, TEXT, VERSION, Link, encode)

PROTOCOL = 2            # common/kproto.h KPROTO_VERSION


@pytest.fixture
def engine(tmp_path):
    """corrald --engine on one end of a socketpair; the test holds the
    other (the keeper's end) and the adopt socket's ends."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    adopt = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    env = dict(os.environ, CORRAL_HOME=str(home))
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen(
        [str(CORRALD_BIN), "--engine", "--keeper-fd", str(theirs.fileno())],
        env=env, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    theirs.close()
    yield proc, Link(mine), adopt, home
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    proc.stdout.close()
    mine.close()
    for s in adopt:
        s.close()


def hello(link, adopt, version):
    fields = [(VERSION, version), (KIND, 1), (HEARTBEAT_MS, 600000),
              (PID, os.getpid()), (STAGE, "test"), (TEXT, "a test")]
    socket.send_fds(link.sock, [encode(HELLO, fields, 1)],
                    [adopt[1].fileno()])


def output(proc, home):
    out = proc.stdout.read().decode(errors="replace")
    log = home / "corrald.log"
    return out + (log.read_text(errors="replace") if log.exists() else "")


def test_an_engine_refuses_a_keeper_of_another_protocol(engine):
    proc, link, adopt, home = engine
    hello(link, adopt, 1)
    try:
        link.send(TABLE_END)
    except (BrokenPipeError, ConnectionResetError):
        pass            # refused at the HELLO already (CI at 6250151)
    rc = proc.wait(DEADLINE)
    text = output(proc, home)
    assert rc == 1, (rc, text)
    assert (f"the keeper speaks protocol 1, this engine {PROTOCOL}"
            in text), text
    assert not (home / "corral.sock").exists()


def test_a_keeper_of_another_protocol_after_the_table_is_lost(engine):
    proc, link, adopt, home = engine
    hello(link, adopt, PROTOCOL)
    link.send(TABLE_END)
    link.expect(READY, skip=tuple(range(32, 64)))   # HOLDs first
    hello(link, adopt, 1)
    rc = proc.wait(DEADLINE)
    text = output(proc, home)
    assert rc >= 0, (rc, text)      # it left by itself, not killed
    assert "exited without the keeper" in text, text
    assert "the keeper is gone (the keeper's HELLO is of another " \
           "protocol)" in text, text
