# SPDX-License-Identifier: ISC
"""What `start` promises: one rule for names wherever they come from (and
every accepted name gets its cgroup), a clear refusal of what cannot run,
and with a readiness source an answer as soon as the first start is known
to have worked or failed (exit 1), an app that is never ready ending
errored after max_restarts."""

import json
import os
import re
import time

import pytest

from conftest import wait_for

SLEEPER = """\
    #!/bin/sh
    exec sleep 1000
    """


def test_one_rule_for_names(corral):
    corral.script("s.sh", SLEEPER)
    for name in ("a+b", "my.app", "u@h", "cgroup.x", "tasks", "memory.max"):
        corral.ok("start", "s.sh", "--name", name)
        corral.wait_state(name, "online")
    for name in (".hid2", "12", "all", "a b", "a/b", "-x"):
        r = corral.run("start", "s.sh", "--name", name)
        assert r.rc == 100 and "invalid name" in r.err, (name, r)
    (corral.appdir / "names.ini").write_text(
        "[c+d]\nscript = s.sh\n[.hid]\nscript = s.sh\n")
    r = corral.run("start", "names.ini")
    assert r.rc != 0 and "names.ini:3: invalid name '.hid'" in r.err, r
    (corral.appdir / "ok.ini").write_text("[c+d]\nscript = s.sh\n")
    corral.ok("start", "ok.ini")
    corral.wait_state("c+d", "online")
    (corral.appdir / "eco.json").write_text(json.dumps(
        {"apps": [{"name": ".bad", "script": "s.sh"}]}))
    r = corral.run("start", "eco.json")
    assert r.rc != 0 and "invalid name '.bad'" in r.err, r
    # A saved list edited by hand: the bad entry is not restored.
    corral.ok("save")
    dump = json.loads((corral.logdir.parent / "dump.json").read_text())
    dump["apps"][0]["name"] = ".edited"
    (corral.logdir.parent / "dump.json").write_text(json.dumps(dump))
    corral.ok("delete", "all")
    r = corral.run("resurrect")
    assert "invalid name '.edited'" in r.out + r.err, r


def test_every_accepted_name_gets_its_cgroup(corral):
    info = corral.ok("doctor")
    if re.search(r"^cgroups: none", info, re.M):
        pytest.skip("no cgroup access here")
    corral.script("s.sh", SLEEPER)
    for name in ("cgroup.x", "tasks", "memory.max", "x.app"):
        corral.ok("start", "s.sh", "--name", name, "--max-memory", "64M")
        pid = corral.wait_state(name, "online")[0]["pid"]
        d = json.loads(corral.ok("describe", name, "--json"))[0]
        path = d["instances"][0]["cgroup"]["path"]
        assert path and path.endswith(f"/{name}.app/0"), (name, path)
        assert f"/{name}.app/0\n" in open(f"/proc/{pid}/cgroup").read()


def test_start_refuses_what_cannot_run(corral, tmp_path):
    (corral.appdir / "adir").mkdir()
    corral.script("noexec", SLEEPER, mode=0o644)
    for args, why in ((["adir"], "is a directory"),
                      ([str(corral.appdir / "adir")], "is a directory"),
                      (["noexec"], "is not executable"),
                      (["noexec", "--interpreter", "no-such-interp"],
                       "'no-such-interp' not found")):
        r = corral.run("start", *args)
        assert r.rc == 1 and why in r.err, (args, r)
    assert corral.jlist() == []
    # With an interpreter the script need not be executable.
    corral.ok("start", "noexec", "--interpreter", "sh", "--name", "viash")
    corral.wait_state("viash", "online")


def test_never_ready_app_fails_start_at_once_then_errors(corral):
    t0 = time.monotonic()
    r = corral.run("start", "/bin/sleep", "--name", "nr", "--ready", "notify",
                   "--listen-timeout", "1s", "--max-restarts", "2",
                   "--", "1000")
    took = time.monotonic() - t0
    assert r.rc == 1, r
    assert "nr[0] failed to start: not ready" in r.err, r
    assert took < 15, took          # not the old 20 s
    inst = wait_for(lambda: corral.app("nr")[0]["state"] == "errored" and
                    corral.app("nr")[0], timeout=60,
                    what="the never-ready app errored")
    assert inst["restarts"] == 2, inst
    assert "not ready" in inst["reason"], inst


def test_ready_app_start_exits_zero(corral):
    corral.script("ready.py", """\
        #!/usr/bin/python3
        import os, socket, time
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
        time.sleep(1000)
        """)
    out = corral.ok("start", "ready.py", "--name", "rd", "--ready", "notify",
                    "--listen-timeout", "20s")
    assert "online" in out
    r = corral.run("restart", "rd")
    assert r.rc == 0 and "online" in r.out, r


def test_app_that_exits_before_ready_fails_start(corral):
    corral.script("die.sh", "#!/bin/sh\necho dying >&2\nexit 3\n")
    r = corral.run("start", "die.sh", "--name", "die", "--ready", "notify",
                   "--listen-timeout", "20s", "--restart-delay", "5s")
    assert r.rc == 1 and "die[0] failed to start: exited with code 3" in \
        r.err, r
