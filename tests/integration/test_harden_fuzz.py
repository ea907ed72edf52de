# SPDX-License-Identifier: ISC
"""A socket-level fuzzer against a real daemon (the build under test: the
sanitizer daemon in the SANITIZE=1 run), for a bounded time
(CORRAL_SOCKET_FUZZ_SECS, default 20 s): valid requests of the commands
that change no app, mutated at the JSON level (wrong types, odd words,
bytes that are not UTF-8, huge numbers, deep nesting) and at the byte
level (flips, cuts, splices, garbage), sent whole, in pieces, several on
one connection, or cut short.  Afterwards the daemon must be the same
process, answer ping, and every app must still run with the same pid;
the fixture's teardown fails the test on any sanitizer report.  The seed
is printed so that a failing run can be replayed (CORRAL_SOCKET_FUZZ_SEED).
"""

import json
import os
import random
import re
import socket
import time

from conftest import pid_alive

SECS = float(os.environ.get("CORRAL_SOCKET_FUZZ_SECS", "20"))

# Commands that change no app (names and aliases); anything that looks
# like another command name is never sent.
SAFE = {"ping", "ls", "list", "status", "l", "ps", "jlist", "describe",
        "show", "info", "doctor", "logs", "log", "monit", "help", "version",
        "flush", "reloadLogs", "reloadlogs", "reload-logs", "save", "dump",
        "reset", "await"}
NAME_LIKE = re.compile(r"^[A-Za-z][A-Za-z_-]*$")

WORDS = ["a", "b", "all", "0", "1", "-1", "99999999999999999999", "--json",
         "--raw", "--lines", "--since", "1h", "--nostream", "--out", "--err",
         "--interval", "100ms", "-n", "--", "", "-", "--x=y", "-é",
         "caf\udce9", "\ufffdE9", "\ufffd", "%s%n", "../../etc/passwd",
         "a" * 300, "\n", "\x00", "{}", "[", "--lines=-5", "--since=soon"]


def cmd_ok(text):
    return isinstance(text, str) and (text in SAFE or
                                      not NAME_LIKE.match(text))


def safe(req):
    """Whether a request would not change any app, read as JSON."""
    if not isinstance(req, dict):
        return True
    cmd = req.get("cmd")
    return not isinstance(cmd, str) or cmd_ok(cmd)


def word(rng):
    w = rng.choice(WORDS)
    if rng.random() < 0.2:
        w = "".join(chr(rng.randrange(0x20, 0x3000)) for _ in
                    range(rng.randrange(1, 12)))
    return w


def odd_value(rng, depth=0):
    r = rng.random()
    if r < 0.2:
        return word(rng)
    if r < 0.3:
        return rng.choice([0, -1, 2 ** 63 - 1, -2 ** 63, 10 ** 30, 1.5e308])
    if r < 0.4:
        return rng.choice([None, True, False])
    if r < 0.6 and depth < 4:
        return [odd_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if r < 0.7 and depth < 4:
        return {word(rng): odd_value(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    if r < 0.75:
        return "[" * 5000
    return word(rng)


def request(rng, apps):
    req = {"v": 1, "cmd": rng.choice(sorted(SAFE)),
           "argv": [rng.choice(apps + ["all"])] +
           [word(rng) for _ in range(rng.randrange(4))]}
    if rng.random() < 0.3:
        req[rng.choice(["v", "cmd", "argv", "cwd", "env", "ids", "base",
                        "want", "message", "resume", "since",
                        word(rng)])] = \
            odd_value(rng)
    if rng.random() < 0.2:
        req["env"] = {word(rng): word(rng) for _ in range(3)}
    return req


def encode(rng, req):
    text = json.dumps(req, ensure_ascii=rng.random() < 0.5)
    data = text.encode("utf-8", "surrogateescape")
    r = rng.random()
    if r < 0.15:                     # flip bytes
        b = bytearray(data)
        for _ in range(rng.randrange(1, 5)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        data = bytes(b)
    elif r < 0.25:                   # cut
        data = data[:rng.randrange(len(data))]
    elif r < 0.3:                    # garbage
        data = os.urandom(rng.randrange(1, 2000))
    elif r < 0.35:                   # splice two
        data = data[:rng.randrange(len(data))] + data
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return data if safe(parsed) else None


def send(path, rng, chunks):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        for data in chunks:
            if rng.random() < 0.3 and len(data) > 1:
                cut = rng.randrange(1, len(data))
                s.sendall(data[:cut])
                s.sendall(data[cut:])
            else:
                s.sendall(data)
        if rng.random() < 0.7:
            s.settimeout(0.1)       # a cut request gets no answer
            s.recv(65536)
    except OSError:
        pass                         # refused, reset or timed out: fine
    finally:
        s.close()


def test_socket_fuzzer_leaves_daemon_and_apps_running(corral):
    seed = int(os.environ.get("CORRAL_SOCKET_FUZZ_SEED", time.time_ns()))
    print(f"socket fuzzer seed {seed}, {SECS} s")
    rng = random.Random(seed)
    corral.script("s.sh", "#!/bin/sh\necho started\nexec sleep 1000\n")
    corral.ok("start", "s.sh", "--name", "one")
    corral.ok("start", "s.sh", "--name", "two", "-i", "2")
    before = {(i["name"], i["instance"]): i["pid"] for i in corral.jlist()}
    dpid = corral.daemon_pid()
    apps = ["one", "two", "0", "1", "2"]
    end = time.monotonic() + SECS
    sent = 0
    while time.monotonic() < end:
        chunks = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            data = encode(rng, request(rng, apps))
            if data is not None:
                newline = rng.random() < 0.9
                chunks.append(data + (b"\n" if newline else b""))
        if chunks:
            send(corral.sock, rng, chunks)
            sent += 1
    print(f"socket fuzzer: {sent} connections")
    assert pid_alive(dpid), f"the daemon died (seed {seed})"
    corral.ok("ping")
    assert corral.daemon_pid() == dpid
    after = {(i["name"], i["instance"]): (i["pid"], i["state"])
             for i in corral.jlist()}
    for key, pid in before.items():
        assert after.get(key) == (pid, "online"), (key, after, seed)
