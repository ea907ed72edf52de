# SPDX-License-Identifier: ISC
"""A newcomer's first screens: `corral --help`, `corral help CMD`, `corral
CMD --help`, `corral version --client`, `corral version` and a command
with a bad option answer without a daemon and leave none behind (no socket, no pid file, no process), in a private CORRAL_HOME
and in the default ~/.corral alike. Their text is the daemon's: the same
with and without a running daemon."""

import os
import signal

from conftest import all_pids, proc_environ, proc_exe, proc_stat

# words -> text the output must hold
NO_DAEMON = [
    ((), "commands:"),
    (("--help",), "commands:"),
    (("-h",), "commands:"),
    (("help",), "commands:"),
    (("help", "start"), "usage: corral start"),
    (("start", "--help"), "usage: corral start"),
    (("stop", "all", "-h"), "usage: corral stop"),
    (("help", "logs"), "--nostream"),
    (("help", "version"), "--client"),
    (("version", "--client"), "corral "),
    (("--version",), "corral "),
    (("version",), "corrald: not running"),
]


def corralds_with(var, value):
    """Live corrald processes whose environment has var=value."""
    found = []
    for pid in all_pids():
        st = proc_stat(pid)
        if st is None or st[0] in ("Z", "X"):
            continue
        exe = (proc_exe(pid) or "").replace(" (deleted)", "")
        if os.path.basename(exe) == "corrald" and \
                proc_environ(pid).get(var) == value:
            found.append(pid)
    return found


def check_words(run):
    for words, want in NO_DAEMON:
        r = run(*words)
        assert r.rc == 0, f"corral {' '.join(words)}: rc {r.rc}: {r.err}"
        assert want in r.out, f"corral {' '.join(words)}: {r.out!r}"
        assert r.err == "", f"corral {' '.join(words)}: {r.err!r}"
    r = run("help", "no-such-command")
    assert r.rc == 100 and r.out == ""
    assert r.err == "corral: unknown command 'no-such-command'\n", r.err
    r = run("help", "start", "stop")
    assert r.rc == 100 and "usage: corral help" in r.err, r.err
    # Words a daemon would refuse start none: the same message, told by
    # corrald --check-command.
    r = run("start", "--bogus", "x")
    assert r.rc == 100 and r.out == ""
    assert r.err == "corral: start: unknown option '--bogus'\n", r.err
    r = run("stop")
    assert r.rc == 100 and "usage: corral stop" in r.err, r.err


def test_help_and_version_leave_no_daemon(corral):
    check_words(corral.run)
    assert not os.path.exists(corral.sock), "a control socket appeared"
    assert not os.path.exists(corral.pidfile), "a pid file appeared"
    assert corral.daemons() == []


def test_no_daemon_in_default_home(corral, tmp_path):
    """Without CORRAL_HOME the state folder would be $HOME/.corral: a fake
    HOME shows that none of these commands makes it or starts a daemon."""
    home = tmp_path / "user"
    home.mkdir()
    env = {k: v for k, v in corral.env.items() if k != "CORRAL_HOME"}
    env["HOME"] = str(home)

    def run(*words):
        return corral.run(*words, env=env)
    try:
        check_words(run)
    finally:
        left = corralds_with("HOME", str(home))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"daemons started in {home}/.corral: {left}"
    assert not (home / ".corral").exists()


def test_help_is_the_daemons_with_or_without_one(corral):
    words = [w for w, _ in NO_DAEMON if w and w[0] in ("help", "--help")]
    before = {w: corral.ok(*w) for w in words}
    assert corral.daemons() == []
    corral.ok("ping")
    assert corral.daemon_pid()
    for w in words:
        assert corral.ok(*w) == before[w], f"corral {' '.join(w)} differs"
    out = corral.ok("version")
    assert out.splitlines() == ["corral " + out.split()[1],
                                "corrald " + out.split()[1]], out
    assert corral.ok("version", "--client").count("\n") == 1


def test_help_without_corrald(corral, tmp_path):
    """A client that cannot run corrald says so and fails: no daemon to
    ask, none to start."""
    missing = tmp_path / "no-such-corrald"
    r = corral.run("--help", extra_env={"CORRAL_DAEMON": str(missing)})
    assert r.rc == 1, r
    assert r.err == f"corral: cannot run {missing}: No such file or directory\n"
    assert not os.path.exists(corral.sock)
