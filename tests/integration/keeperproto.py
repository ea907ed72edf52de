# SPDX-License-Identifier: ISC
"""The keeper protocol (common/kproto.h) in Python, written again from
docs/keeper.md for the tests that play the engine against the real
corral-keeper, and the harness that runs a keeper with the fake engine
(tests/keeper/fake-engine.c), which hands its socket to the test."""

import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections import namedtuple
from pathlib import Path

import pytest

from conftest import BUILD, DEADLINE, wait_for

KEEPER_BIN = BUILD / "corral-keeper"
FAKE_ENGINE = BUILD / "tests" / "fake-engine"

# message types
HELLO, HELD, LIVE, EXITED, TABLE_END, UPDATE_FAILED, TERM = range(1, 8)
ERROR = 10
HOLD, RELEASE = 32, 33
HEARTBEAT, UPGRADE, REEXEC, READY, BYE, SD_STATUS, STOP_TIME = range(35, 42)
# not the keeper's: the fake engine's answers to Link.spawn()
SPAWNED, SPAWN_FAILED = 1001, 1002

# field keys
(TAG, PID, STATUS, ERRNO, STAGE, TEXT, KIND, HEARTBEAT_MS, STARTED_AT,
 VERSION) = range(1, 11)
TIMEOUT_MS = 35     # after the keeper's own records' keys
STR_KEYS = {TAG, STAGE, TEXT}
LIST_KEYS = set()

KINDS = {1: "first", 2: "restart", 3: "upgrade", 4: "rollback", 5: "reexec"}
SETSID, LISTEN_PID = 1, 2

Msg = namedtuple("Msg", "type fields fds")


def encode(mtype, fields=(), nfds=0):
    """One frame: header, then (key, value) fields in order."""
    body = b""
    for key, value in fields:
        if isinstance(value, str):
            v = value.encode() + b"\0"
        elif isinstance(value, bytes):
            v = value
        else:
            v = struct.pack("=q", value)
        body += struct.pack("=II", key, len(v)) + v
    return struct.pack("=III", mtype, nfds, len(body)) + body


def decode_fields(body):
    fields = {}
    off = 0
    while off < len(body):
        key, n = struct.unpack_from("=II", body, off)
        v = body[off + 8:off + 8 + n]
        off += 8 + n
        if key in STR_KEYS:
            v = v[:-1].decode()
        elif n == 8:
            v = struct.unpack("=q", v)[0]
        if key in LIST_KEYS:
            fields.setdefault(key, []).append(v)
        else:
            fields[key] = v
    return fields


class Link:
    """The engine's end of the keeper's socketpair; spawns go through the
    fake engine (ctl), which clones as the engine does."""

    def __init__(self, sock, ctl=None):
        self.sock = sock
        self.ctl = ctl
        self.fds = []
        self.adopt = -1         # the adopt socket, from HELLO
        self.pending = []       # the fake engine's answers, read first
        self.lock = threading.Lock()    # Heartbeat's thread sends too

    def send(self, mtype, fields=(), fds=()):
        data = encode(mtype, fields, len(fds))
        with self.lock:
            if fds:
                socket.send_fds(self.sock, [data], list(fds))
            else:
                self.sock.sendall(data)

    def _read(self, n, deadline):
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the keeper")
            self.sock.settimeout(left)
            data, fds, _, _ = socket.recv_fds(self.sock, n - len(buf), 16)
            self.fds += fds
            if not data:
                raise EOFError("keeper closed the socket")
            buf += data
        return buf

    def recv(self, timeout=DEADLINE):
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + timeout
        mtype, nfds, n = struct.unpack("=III", self._read(12, deadline))
        body = self._read(n, deadline) if n else b""
        fds, self.fds = self.fds[:nfds], self.fds[nfds:]
        if mtype == HELLO and fds:
            if self.adopt >= 0:
                os.close(self.adopt)
            self.adopt, fds = fds[0], []
        return Msg(mtype, decode_fields(body), fds)

    def expect(self, mtype, timeout=DEADLINE, skip=(HELLO,)):
        """The next message of mtype; types in skip are passed over."""
        while True:
            m = self.recv(timeout)
            if m.type == mtype:
                return m
            for fd in m.fds:
                os.close(fd)
            if m.type not in skip:
                raise AssertionError(f"expected {mtype}, got {m}")

    def table(self):
        """HELLO, then every message up to TABLE_END."""
        hello = self.recv()
        assert hello.type == HELLO, hello
        items = []
        while True:
            m = self.recv()
            if m.type == TABLE_END:
                return hello, items
            items.append(m)

    def spawn(self, tag, argv, env=None, cwd=None, flags=SETSID, fds=(),
              preload=None, cgroup_fd=None, procs=(),
              kill_signal=signal.SIGTERM, wait=True):
        """Has the fake engine spawn; its answer (SPAWNED: PID + out, err,
        pidfd; SPAWN_FAILED: ERRNO, STAGE) is the next message read."""
        env = dict(os.environ) if env is None else env
        envp = [f"{k}={v}" for k, v in env.items()]
        fields = ["spawn", tag, str(flags), str(int(kill_signal)), cwd or "",
                  preload or "", "1" if cgroup_fd is not None else "0",
                  str(len(fds)), str(len(procs)), *procs, str(len(argv)),
                  *argv, str(len(envp)), *envp]
        send = [self.adopt] + ([cgroup_fd] if cgroup_fd is not None else [])
        send += list(fds)
        socket.send_fds(self.ctl, [b"\0".join(f.encode() for f in fields)],
                        send)
        if wait:
            self.spawn_answer(tag)

    def spawn_answer(self, tag):
        """The fake engine's answer to the spawn of tag, queued."""
        self.ctl.settimeout(DEADLINE)
        data, got, _, _ = socket.recv_fds(self.ctl, 256, 3)
        self.ctl.settimeout(None)
        words = data.decode().split()
        if words[0] == "ok":
            self.pending.append(Msg(SPAWNED, {TAG: tag, PID: int(words[1])},
                                    got))
        else:
            self.pending.append(Msg(SPAWN_FAILED, {
                TAG: tag, ERRNO: int(words[1]), STAGE: words[2]}, got))

    def close(self):
        self.sock.close()
        for fd in self.fds + [self.adopt]:
            if fd >= 0:
                os.close(fd)
        for m in self.pending:
            for fd in m.fds:
                os.close(fd)
        self.fds, self.adopt, self.pending = [], -1, []


class Heartbeat:
    """HEARTBEAT on link every `every` s from a thread, as the engine beats
    from its loop, while the test waits on something slow (a systemctl on
    a loaded guest can take longer than the keeper's heartbeat period).
    Stops at the end of the with block, or when the keeper closes."""

    def __init__(self, link, every=0.25):
        self.link, self.every = link, every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.done.wait(self.every):
            try:
                self.link.send(HEARTBEAT)
            except OSError:
                return

    def __enter__(self):
        self.link.send(HEARTBEAT)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


class Engine:
    """A fake engine process the keeper started, and its socket."""

    def __init__(self, conn):
        self.ctl = conn
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                struct.calcsize("3i"))
        self.pid = struct.unpack("3i", creds)[0]
        data, fds, _, _ = socket.recv_fds(conn, 8192, 1)
        parts = data.split(b"\0")
        self.argv = [p.decode() for p in parts[1:]]
        self.link = Link(socket.socket(fileno=fds[0]), conn)

    def exit(self, status=0):
        self.ctl.send(f"exit {status}".encode())

    def close(self):
        self.link.close()
        self.ctl.close()


class Keeper:
    """corral-keeper in the foreground with the fake engine, in tmp."""

    def __init__(self, tmp, engine=FAKE_ENGINE, heartbeat=600000,
                 ready=60000, stop=10000, extra=(), env=None, wrap=(),
                 fail=False, pass_fds=()):
        self.tmp = Path(tmp)
        self.home = self.tmp / "home"
        self.sock_path = str(self.tmp / "engine.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(self.sock_path)
        self.listener.listen(16)
        self.fail_file = self.tmp / "engine.fail"
        self.starts_file = self.tmp / "engine.starts"
        self.env = dict(os.environ, CORRAL_HOME=str(self.home),
                        FAKE_ENGINE_SOCK=self.sock_path,
                        FAKE_ENGINE_FAIL=str(self.fail_file),
                        FAKE_ENGINE_STARTS=str(self.starts_file))
        self.env.update(env or {})
        if fail:
            self.fail_file.touch()
        self.log = open(self.tmp / "keeper.err", "wb")
        self.argv = list(wrap) + [str(KEEPER_BIN), "-f", "-v",
                                  "--engine-bin", str(engine),
                                  "--heartbeat-timeout", str(heartbeat),
                                  "--ready-timeout", str(ready),
                                  "--stop-timeout", str(stop), *extra,
                                  "--", "--passed-through"]
        self.proc = subprocess.Popen(self.argv, env=self.env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     pass_fds=pass_fds)
        self.engines = []
        self.pids = []

    def accept(self, timeout=DEADLINE):
        self.listener.settimeout(timeout)
        conn, _ = self.listener.accept()
        conn.settimeout(None)
        e = Engine(conn)
        self.engines.append(e)
        return e

    def starts(self):
        try:
            return [int(x.split()[1])
                    for x in self.starts_file.read_text().splitlines()]
        except FileNotFoundError:
            return []

    def text(self):
        return (self.tmp / "keeper.err").read_text(errors="replace")

    def wait(self, timeout=DEADLINE):
        return self.proc.wait(timeout)

    def cleanup(self):
        for pid in self.pids:
            for target in (-pid, pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for e in self.engines:
            try:
                os.kill(e.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            e.close()
        self.listener.close()
        self.log.close()


def wait_gone(pid, timeout=DEADLINE):
    """Waits until pid is neither running nor a zombie (reaped)."""
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout,
             what=f"pid {pid} reaped")


@pytest.fixture(name="keepers")
def keepers_fixture(tmp_path):
    """keepers(**kw): a Keeper in its own folder, cleaned up after."""
    made = []

    def make(**kw):
        sub = tmp_path / f"k{len(made)}"
        sub.mkdir()
        k = Keeper(sub, **kw)
        made.append(k)
        return k
    yield make
    for k in made:
        k.cleanup()
    for k in made:
        text = k.text()
        for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert mark not in text, text


def read_until(fd, want, timeout=DEADLINE):
    """Reads fd (blocking pipe) until want is in what was read."""
    buf = b""
    os.set_blocking(fd, False)
    end = time.monotonic() + timeout
    while want not in buf:
        if time.monotonic() > end:
            pytest.fail(f"{want!r} not read; got {buf[-200:]!r}")
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.02)
            continue
        if not data:
            break
        buf += data
    return buf


def spawned(k, link, tag, argv, **kw):
    """SPAWN, then its SPAWNED (the pid is killed at cleanup)."""
    link.spawn(tag, argv, **kw)
    m = link.expect(SPAWNED)
    assert m.fields[TAG] == tag
    k.pids.append(m.fields[PID])
    return m
