# SPDX-License-Identifier: ISC
"""The daemon never writes through a path another user controls: log files
are never opened through a link (a planted one is refused, its target is
neither appended to nor emptied by `flush`), folders other users can write
are refused at start with a clear error (unless sticky and owned by the
app's user), and the same holds for $CORRAL_HOME."""

import os
import pwd
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import CORRAL_BIN, daemon_fd_targets, wait_for

TALKER = """\
    #!/bin/sh
    while :; do echo tick; sleep 0.2; done
    """


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")


def test_a_link_planted_in_logs_is_refused(corral, tmp_path):
    corral.ok("ping")
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    os.symlink(target, corral.logdir / "talk-out.log")
    corral.script("talk.sh", TALKER)
    r = corral.run("start", "talk.sh", "--name", "talk")
    assert r.rc == 1 and "is a symbolic link" in r.err, r
    assert target.read_text() == "keep me\n"
    corral.ok("flush")
    assert target.read_text() == "keep me\n"


def test_flush_never_truncates_through_a_link(corral, tmp_path):
    corral.script("talk.sh", TALKER)
    corral.ok("start", "talk.sh", "--name", "talk")
    log = corral.logfile("talk")
    wait_for(lambda: log.exists() and "tick" in log.read_text(),
             what="a line in the log")
    # Swapped for a link while the app runs: the daemon writes and empties
    # the file it opened, never the link's target.
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    os.rename(log, corral.logdir / "moved.log")
    os.symlink(target, log)
    corral.ok("flush")
    wait_for(lambda: (corral.logdir / "moved.log").stat().st_size < 200,
             what="the open file emptied")
    assert target.read_text() == "keep me\n"
    corral.ok("reloadLogs")         # reopen by name: the link is refused
    corral.ok("ping")
    wait_for(lambda: "talk-out.log" in corral.daemon_log() and
             "Too many levels of symbolic links" in corral.daemon_log(),
             what="the refused reopen logged")
    assert target.read_text() == "keep me\n"


def test_a_fifo_as_log_file_is_refused(corral):
    os.mkfifo(corral.appdir / "f.log")
    corral.script("talk.sh", TALKER)
    r = corral.run("start", "talk.sh", "--name", "talk", "-o", "f.log")
    assert r.rc == 1 and "not a regular file" in r.err, r
    corral.ok("ping")


def test_log_folder_others_can_write_is_refused(corral, tmp_path):
    need_root()
    corral.script("talk.sh", TALKER)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    r = corral.run("start", "talk.sh", "--name", "talk", "-o",
                   str(shared / "talk.log"))
    assert r.rc == 1 and "can be written by other users" in r.err, r
    assert "shared" in r.err
    # Sticky and owned by the app's user (root here): allowed.
    os.chmod(shared, 0o1777)
    corral.ok("start", "talk.sh", "--name", "talk", "-o",
              str(shared / "talk.log"))
    wait_for(lambda: (shared / "talk.log").exists(), what="the log file")
    corral.ok("delete", "talk")
    # Sticky but owned by someone else, for an app of root: refused.
    nobody = pwd.getpwnam("nobody")
    other = tmp_path / "other"
    other.mkdir()
    os.chown(other, nobody.pw_uid, nobody.pw_gid)
    os.chmod(other, 0o1777)
    r = corral.run("start", "talk.sh", "--name", "talk2", "-o",
                   str(other / "talk.log"))
    assert r.rc == 1 and "belongs to another user" in r.err, r


def test_a_folder_found_safe_is_checked_again_at_the_next_start(corral,
                                                                tmp_path):
    """A log folder found safe is taken as safe for the rest of that turn
    of the daemon's loop only (issue 16: the apps of one request share
    it): made writable by others, or a link planted in it, after one
    start, the next start is refused."""
    need_root()
    corral.script("talk.sh", TALKER)
    logs = tmp_path / "logs"
    logs.mkdir()
    apps = tmp_path / "apps.json"
    apps.write_text('{"apps": [%s]}' % ", ".join(
        '{"name": "t%d", "script": "%s", "out_file": "%s/t%d.log"}' % (
            i, corral.appdir / "talk.sh", logs, i) for i in range(3)))
    corral.ok("start", str(apps))
    # A log file is made at its app's first line.
    wait_for(lambda: all((logs / f"t{i}.log").exists() for i in range(3)),
             what="the three log files")
    corral.ok("delete", "all")
    os.chmod(logs, 0o777)
    r = corral.run("start", str(apps))
    assert r.rc == 1 and "can be written by other users" in r.err, r
    os.chmod(logs, 0o755)
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    os.unlink(logs / "t1.log")
    os.symlink(target, logs / "t1.log")
    r = corral.run("start", str(apps))
    assert r.rc == 1 and "is a symbolic link" in r.err, r
    assert target.read_text() == "keep me\n"


def test_a_folder_above_a_log_folder_matters_too(corral, tmp_path):
    need_root()
    nobody = pwd.getpwnam("nobody")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
    mine = theirs / "mine"
    mine.mkdir()            # root's, 0755, but inside a folder of nobody
    corral.script("talk.sh", TALKER)
    r = corral.run("start", "talk.sh", "--name", "talk", "-o",
                   str(mine / "talk.log"))
    assert r.rc == 1 and "belongs to another user" in r.err, r


def test_corral_home_inside_a_folder_of_another_user_is_refused(tmp_path):
    need_root()
    nobody = pwd.getpwnam("nobody")
    theirs = tempfile.mkdtemp(prefix="corral-theirs.")
    try:
        os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
        env = dict(os.environ, CORRAL_HOME=os.path.join(theirs, "home"))
        p = subprocess.run([str(CORRAL_BIN), "ping"], env=env, timeout=30,
                           capture_output=True, text=True)
        assert p.returncode == 111, p
        assert "belongs to another user" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(theirs, "home",
                                               "corral.sock"))
    finally:
        shutil.rmtree(theirs, ignore_errors=True)


def test_fifos_and_huge_files_never_freeze_the_daemon(corral):
    corral.script("talk.sh", TALKER)
    corral.ok("start", "talk.sh", "--name", "talk")
    for name in ("f.ini", "f.json"):
        os.mkfifo(corral.appdir / name)
        r = corral.run("start", name, timeout=20)
        assert r.rc == 1 and "not a regular file" in r.err, r
    os.mkfifo(os.path.join(corral.home, "dump.json"))
    r = corral.run("resurrect", timeout=20)
    assert r.rc == 1 and "not a regular file" in r.err, r
    with open(corral.appdir / "big.ini", "w") as f:
        f.write("[big]\nscript = talk.sh\n")
        f.write(("; " + "x" * 1000 + "\n") * 5000)
    r = corral.run("start", "big.ini", timeout=20)
    assert r.rc == 1 and "too large" in r.err, r
    corral.ok("ping")
    assert corral.app("talk")[0]["state"] == "online"


def test_a_fifo_at_the_dump_s_temporary_name_freezes_nothing(corral):
    """`save` writes dump.json through dump.json.tmp, in a thread of the
    pool: a FIFO planted at that name is removed, never opened (an open
    for writing waits for a reader), and the daemon answers meanwhile.
    Before, the engine's loop waited in open(2) for good."""
    corral.script("talk.sh", TALKER)
    corral.ok("start", "talk.sh", "--name", "talk")
    tmp = os.path.join(corral.home, "dump.json.tmp")
    os.mkfifo(tmp)
    out = corral.ok("save", timeout=20)
    assert "saved 1 app" in out, out
    dump = os.path.join(corral.home, "dump.json")
    assert stat.S_ISREG(os.stat(dump).st_mode)
    assert not os.path.exists(tmp)
    corral.ok("ping", timeout=5)


def test_a_stopped_app_holds_no_descriptor(corral):
    corral.script("talk.sh", TALKER)
    corral.ok("start", "talk.sh", "--name", "talk")
    log = corral.logfile("talk")
    wait_for(lambda: log.exists() and "tick" in log.read_text(),
             what="a line in the log")
    assert str(log) in daemon_fd_targets(corral)
    corral.ok("stop", "talk")
    wait_for(lambda: str(log) not in daemon_fd_targets(corral),
             what="the log file closed once the app stopped")
    # Its logs are still listed and shown, and flush still empties them.
    out = corral.ok("logs", "talk", "--nostream", "--lines", "5")
    assert "tick" in out, out
    corral.ok("flush", "talk")
    wait_for(lambda: log.stat().st_size == 0, what="the stopped app's log "
             "emptied")
    assert str(log) not in daemon_fd_targets(corral)
