# SPDX-License-Identifier: ISC
"""Bytes that are not UTF-8, from every side: a typo in an option, a raw
request, a config file, a cut JSON error, a path, an argument, a client's
working folder.  The daemon answers each (invalid bytes escaped as U+FFFD
and two hex digits on the wire, back as they were in the client), never
dies, and paths that are not UTF-8 survive start, save and resurrect."""

import json
import os
import re

from conftest import pid_alive, wait_for

SLEEPER = """\
    #!/bin/sh
    exec sleep 1000
    """

# A script that writes its own argv, byte for byte, then sleeps.
ARGV_DUMPER = """\
    #!/usr/bin/python3
    import os, sys, time
    with open(os.environ["ARGV_OUT"] + ".tmp", "wb") as f:
        f.write(b"\\0".join(os.fsencode(a) for a in sys.argv))
    os.rename(os.environ["ARGV_OUT"] + ".tmp", os.environ["ARGV_OUT"])
    time.sleep(1000)
    """


def unescape(s):
    """What the client gives back: each U+FFFD and two hex digits 80..FF
    is that byte (as a surrogate escape, for os.fsencode)."""
    return re.sub("\ufffd([89A-F][0-9A-F])",
                  lambda m: chr(0xdc00 + int(m.group(1), 16)), s)


def test_bad_bytes_never_kill_the_daemon(corral):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "keep")
    keep = corral.wait_state("keep", "online")[0]["pid"]
    dpid = corral.daemon_pid()

    r = corral.run("ls", "-\udce9")                 # a typo in Latin-1
    assert r.rc == 100, r
    assert "unknown option" in r.err
    for line in (b'{"v":1,"cmd":"ping","argv":["\xc3\xa9"]}\n',
                 b'{"v":1,"cmd":"l\xc3\xa9","argv":[]}\n',
                 b'{"v":1,"cmd":"ls","argv":["-\xef\xbf\xbdE9"]}\n',
                 b'{"v":1,"cmd":"ping","argv":["\xe9"]}\n'):
        reply = corral.raw_request(line)
        assert reply.endswith(b"\n"), reply
        reply.decode("utf-8")                       # valid on the wire
        assert json.loads(reply)["ok"] is False, reply
    reply = json.loads(corral.raw_request(
        b'{"v":1,"cmd":"ls","argv":["-\xef\xbf\xbdE9"]}\n'))
    assert "\ufffdE9" in reply["error"], reply

    (corral.appdir / "bad.ini").write_bytes(b"[\xff]\nscript = /bin/true\n")
    r = corral.run("start", "bad.ini")
    assert r.rc != 0 and "bad.ini:1" in r.err, r
    # A parse error whose "near" text cuts a two-byte character.
    (corral.appdir / "cut.json").write_bytes(b'{"apps":[{"name":"\xc3\xa9\xc3')
    r = corral.run("start", "cut.json")
    assert r.rc != 0 and "cut.json" in r.err, r

    corral.ok("ping")
    assert corral.daemon_pid() == dpid and pid_alive(dpid)
    assert corral.app("keep")[0]["pid"] == keep
    log = (corral.logdir.parent / "corrald.log").read_bytes()
    log.decode("utf-8")                             # the log is valid text


def test_paths_that_are_not_utf8_survive_save_and_resurrect(corral, tmp_path):
    folder = corral.appdir / "caf\udce9"
    folder.mkdir()
    script = folder / "run\udcff.py"
    corral.script(script.relative_to(corral.appdir), ARGV_DUMPER)
    out = tmp_path / "argv.out"
    args = ["arg\udcfe", "\ufffd", "plain"]
    corral.ok("start", script.name, "--name", "nu", "--env",
              f"ARGV_OUT={out}", "--", *args, cwd=folder)
    corral.wait_state("nu", "online")
    want = [os.fsencode(a) for a in [str(script), *args]]
    wait_for(out.exists, what="the app's argv")
    assert out.read_bytes().split(b"\0")[1:] == want[1:]

    app = json.loads(corral.ok("describe", "nu", "--json"))[0]["app"]
    assert os.fsencode(unescape(app["script"])) == want[0]
    assert os.fsencode(unescape(app["cwd"])) == os.fsencode(str(folder))
    assert "\ufffdE9" in app["cwd"]                 # escaped, not dropped

    corral.ok("save")
    dump = (corral.logdir.parent / "dump.json").read_bytes()
    dump.decode("utf-8")
    corral.ok("kill")
    out.unlink()
    r = corral.run("resurrect")
    assert r.rc == 0 and "not restored" not in r.out + r.err, r
    corral.wait_state("nu", "online")
    wait_for(out.exists, what="the resurrected app's argv")
    assert out.read_bytes().split(b"\0")[1:] == want[1:]
    app = json.loads(corral.ok("describe", "nu", "--json"))[0]["app"]
    assert os.fsencode(unescape(app["script"])) == want[0]


def test_client_works_from_a_folder_that_is_not_utf8(corral):
    folder = corral.appdir / "d\udce9j\udce0"
    folder.mkdir()
    corral.script(f"{folder.name}/sleeper.sh", SLEEPER)
    corral.ok("ls", cwd=folder)
    corral.ok("start", "sleeper.sh", "--name", "here", cwd=folder)
    corral.wait_state("here", "online")
    app = json.loads(corral.ok("describe", "here", "--json"))[0]["app"]
    assert os.fsencode(unescape(app["cwd"])) == os.fsencode(str(folder))
