# SPDX-License-Identifier: ISC
"""The control socket under bad input: garbage, truncated messages, a line
far over the limit, a wrong protocol version, a client that stalls.  Each
gets an error reply or a closed connection, and the daemon keeps serving."""

import json
import socket

import pytest

from conftest import pid_alive, wait_for


def read_reply(s, limit=1 << 20):
    """The first line the daemon sends, parsed, or None if it closed the
    connection without one."""
    buf = b""
    while b"\n" not in buf and len(buf) < limit:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        buf += chunk
    if not buf:
        return None
    line = buf.split(b"\n", 1)[0]
    return json.loads(line)


def send_all(s, data):
    """Send as much as the daemon takes; it may close early."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def assert_refused(reply):
    if reply is None:
        return
    assert reply.get("ok") is False, reply
    assert isinstance(reply.get("error"), str) and reply["error"], reply
    assert reply.get("v") == 1


def still_serving(c, dpid):
    assert pid_alive(dpid), "the daemon died"
    c.ok("ping")
    assert c.daemon_pid() == dpid


@pytest.fixture
def daemon(corral):
    corral.ok("ping")
    return corral.daemon_pid()


def test_raw_ping_is_understood(corral, daemon):
    # The framing the other tests break: one JSON object per line.
    with corral.raw_connect() as s:
        s.sendall(b'{"v": 1, "cmd": "ping", "argv": []}\n')
        reply = read_reply(s)
    assert reply and reply["ok"] is True and reply["v"] == 1, reply
    with corral.raw_connect() as s:
        s.sendall(b'{"v": 1, "cmd": "jlist", "argv": []}\n')
        reply = read_reply(s)
    assert reply["ok"] is True and reply["data"] == []


@pytest.mark.parametrize("payload", [
    b"hello daemon\n",
    b"\x00\xff\xfe garbage \x80\n",
    b"[1, 2, 3]\n",
    b'"just a string"\n',
    b"{}\n",
    b'{"v": 1}\n',
    b'{"cmd": "ping"}\n',
    b'{"v": 2, "cmd": "ping", "argv": []}\n',
    b'{"v": "1", "cmd": "ping", "argv": []}\n',
    b'{"v": 1, "cmd": 42, "argv": []}\n',
    b'{"v": 1, "cmd": "ping", "argv": "notalist"}\n',
    b'{"v": 1, "cmd": "start", "argv": [1, {}, null]}\n',
    b'{"v": 1, "cmd": "start", "argv": ["x.sh"], "env": "nope", "cwd": 3}\n',
    b'{"v": 1, "cmd": "no-such-command", "argv": []}\n',
])
def test_bad_message_refused(corral, daemon, payload):
    with corral.raw_connect() as s:
        send_all(s, payload)
        reply = read_reply(s)
    assert_refused(reply)
    still_serving(corral, daemon)
    assert corral.jlist() == []


def test_wrong_version_gets_error_reply(corral, daemon):
    with corral.raw_connect() as s:
        s.sendall(b'{"v": 99, "cmd": "ping", "argv": []}\n')
        reply = read_reply(s)
    assert reply is not None and reply["ok"] is False, reply
    still_serving(corral, daemon)


def test_truncated_message(corral, daemon):
    with corral.raw_connect() as s:
        s.sendall(b'{"v": 1, "cmd": "pi')
        s.shutdown(socket.SHUT_WR)
        assert_refused(read_reply(s))
    still_serving(corral, daemon)


def test_stalled_client_does_not_stall_daemon(corral, daemon):
    stalled = [corral.raw_connect() for _ in range(3)]
    try:
        stalled[0].sendall(b'{"v": 1, "cmd": "pi')
        stalled[1].sendall(b"x" * 100000)
        # stalled[2] sends nothing at all
        still_serving(corral, daemon)
        corral.script("s.sh", "#!/bin/sh\nexec sleep 1000\n")
        corral.ok("start", "s.sh", "--name", "s")
        corral.wait_state("s", "online")
    finally:
        for s in stalled:
            s.close()
    still_serving(corral, daemon)


def test_ten_mib_line(corral, daemon):
    before = rss_kib(daemon)
    with corral.raw_connect(timeout=30) as s:
        chunk = b"A" * (1 << 20)
        for _ in range(10):
            if not send_all(s, chunk):
                break
        send_all(s, b"\n")
        assert_refused(read_reply(s))
    still_serving(corral, daemon)
    # The daemon did not keep the line: its memory did not grow by 10 MiB.
    after = wait_for(lambda: rss_kib(daemon))
    assert after - before < 8 * 1024, f"RSS grew from {before} to {after} KiB"


def test_many_requests_on_one_connection_or_close(corral, daemon):
    # Two requests in one write: the daemon answers the first; whatever it
    # does with the second, it must not crash.
    with corral.raw_connect() as s:
        s.sendall(b'{"v": 1, "cmd": "ping", "argv": []}\n'
                  b'{"v": 1, "cmd": "ping", "argv": []}\n')
        reply = read_reply(s)
        assert reply and reply["ok"] is True
    still_serving(corral, daemon)


def test_client_closing_early(corral, daemon):
    corral.script("s.sh", "#!/bin/sh\nexec sleep 1000\n")
    corral.ok("start", "s.sh", "--name", "s", "-i", "2")
    for _ in range(20):
        s = corral.raw_connect()
        s.sendall(b'{"v": 1, "cmd": "jlist", "argv": []}\n')
        s.close()
    s = corral.raw_connect()
    s.sendall(b'{"v": 1, "cmd": "logs", "argv": []}\n')
    s.close()
    still_serving(corral, daemon)
    corral.wait_state("s", "online", count=2)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


PEER = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
    s.sendall(b'{"v": 1, "cmd": "jlist", "argv": []}\n')
    buf = b""
    while b"\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
except OSError as e:
    print("oserror", e)
    sys.exit(0)
print(buf.split(b"\n")[0].decode() if buf else "closed")
"""


def test_other_users_are_refused(corral, daemon):
    import os
    import subprocess
    import sys
    if os.getuid() != 0:
        pytest.skip("needs root to act as another user")
    corral.script("s.sh", "#!/bin/sh\nexec sleep 1000\n")
    corral.ok("start", "s.sh", "--name", "secret")
    # Open the way on purpose: only SO_PEERCRED stands between them now.
    os.chmod(corral.home, 0o755)
    os.chmod(corral.sock, 0o777)

    # The probe works: as ourselves it reads the list.
    r = subprocess.run([sys.executable, "-c", PEER, corral.sock],
                       capture_output=True, timeout=30)
    assert "secret" in r.stdout.decode(), r.stdout

    def as_nobody():
        os.setgid(65534)
        os.setuid(65534)
    r = subprocess.run([sys.executable, "-c", PEER, corral.sock],
                       preexec_fn=as_nobody, capture_output=True, timeout=30)
    out = r.stdout.decode().strip()
    assert r.returncode == 0, r.stderr
    assert "secret" not in out, f"another user read the list: {out}"
    if out.startswith("{"):
        assert json.loads(out)["ok"] is False
    os.chmod(corral.home, 0o700)
    still_serving(corral, daemon)
