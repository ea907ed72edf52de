# SPDX-License-Identifier: ISC
"""The engine spawns an app itself, the keeper its parent (docs/keeper.md
"Spawning"): the app's parent is the keeper from the start, and a spawn
that fails in the child (the CLI checks the file and the folder first:
they change after the start here) says why in the same words as before."""

import os
import resource

import pytest

from conftest import CORRALD_BIN, fd_table, wait_for


def ppid(pid):
    with open(f"/proc/{pid}/status") as f:
        return int([x for x in f if x.startswith("PPid:")][0].split()[1])


def test_app_is_the_keepers_child(corral):
    corral.ok("start", "sleep", "--name", "kid", "-i", "2", "--", "1000")
    insts = corral.wait_state("kid", "online")
    keeper = corral.keeper_pid()
    assert {ppid(i["pid"]) for i in insts} == {keeper}
    assert corral.daemon_pid() != keeper


def test_spawn_failures_say_why(corral, tmp_path):
    corral.script("noexec", "#!/bin/sh\nexec sleep 1000\n")
    corral.ok("start", "noexec", "--name", "noexec")
    corral.wait_state("noexec", "online")
    os.chmod(corral.appdir / "noexec", 0o644)
    r = corral.run("restart", "noexec")
    assert r.rc != 0
    assert "exec: permission denied" in r.err + r.out
    gone = tmp_path / "gone"
    gone.mkdir()
    corral.ok("start", "sleep", "--name", "nocwd", "--cwd", str(gone), "--",
              "1000")
    corral.wait_state("nocwd", "online")
    gone.rmdir()
    r = corral.run("restart", "nocwd")
    assert r.rc != 0
    assert "chdir: no such file or directory" in r.err + r.out
    # the failed processes' exits reached the engine and were released:
    # the keeper refuses no RELEASE of theirs
    corral.ok("delete", "noexec")
    corral.ok("delete", "nocwd")
    refused = [x for x in corral.daemon_log().splitlines()
               if "cannot release" in x and
               ("keeper: noexec/" in x or "keeper: nocwd/" in x)]
    assert refused == []
    wait_for(lambda: corral.ok("jlist").strip() == "[]", what="no app")


def sigmasks(pid):
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v, 16) for k, v in
                (x.rstrip("\n").split(":\t") for x in f)
                if k in ("SigBlk", "SigIgn", "SigCgt")}


def test_app_signals_are_the_defaults(corral):
    # The child resets only what the engine catches or ignores (SIGPIPE
    # ignored, libuv's handlers of SIGTERM...): none of it reaches the app.
    corral.ok("start", "sleep", "--name", "plain", "-i", "2", "--", "1000")
    engine = sigmasks(corral.daemon_pid())
    assert engine["SigIgn"] & (1 << (13 - 1))      # SIGPIPE
    assert engine["SigCgt"] & (1 << (15 - 1))      # SIGTERM
    # Signals 32 and 33 are glibc's own (sigaction() refuses them): an
    # app gets them as corral was given them (ignored under some CI
    # runners), as every program started from glibc does.
    glibc = (1 << (32 - 1)) | (1 << (33 - 1))
    for i in corral.wait_state("plain", "online", count=2):
        got = sigmasks(i["pid"])
        got["SigIgn"] &= ~glibc
        assert got == {"SigBlk": 0, "SigIgn": 0, "SigCgt": 0}, got


def test_children_copy_a_small_table(corral):
    # The engine keeps its numbers below 64 for spawns (supervisor/
    # spawn-low.c): /dev/null placeholders fill the free ones at the first
    # spawn, so that what it opens later lands above and a child copies
    # only the few below.
    # Not in the sanitizer build (no vfork clone there) nor under a hard
    # limit below 4096.
    with open(CORRALD_BIN, "rb") as f:
        if b"__asan_init" in f.read():
            pytest.skip("the sanitizer build copies the whole table")
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 4096:
        pytest.skip("a descriptor limit below 4096")
    corral.ok("start", "sleep", "--name", "many", "-i", "40", "--", "1000")
    insts = corral.wait_state("many", "online", 40)
    engine = fd_table(corral.daemon_pid())
    assert len(engine) > 64 + 40, engine        # pipes etc. above 64
    low = [engine.get(fd) for fd in range(3, 64)]
    assert low.count("/dev/null") >= 20, engine
    # Each child has just what it is given: /dev/null, its two log pipes
    # and its control channel (once its dynamic loader, which opens each
    # library while `sleep` starts, is done: online means exec'd).
    for i in insts:
        wait_for(lambda: sorted(fd_table(i["pid"])) == [0, 1, 2, 3],
                 what=lambda: f"{i['pid']}'s table: {fd_table(i['pid'])}")
        table = fd_table(i["pid"])
        assert table[0] == "/dev/null" and table[3].startswith("socket:")
        assert table[1].startswith("pipe:") and table[2].startswith("pipe:")
