# SPDX-License-Identifier: ISC
"""The core, driven through the real `corral` binary: every command of
issue #2, fork-mode supervision, restarts, graceful stop, environment and
the daemon's life cycle.  Logs and the control socket have their own files
(test_core_logs.py, test_core_socket.py)."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CORRAL_BIN, DEADLINE, pid_alive, proc_cmdline, proc_stat, wait_for

SLEEPER = "#!/bin/sh\nexec sleep 1000\n"

# An app that records each signal it gets in sig.<pid> and keeps running;
# SIGTERM makes it write term.<pid> and exit 0.
SIGNAL_APP = """\
#!/usr/bin/python3
import os, signal, sys, time
here = os.path.dirname(os.path.abspath(__file__))
def note(sig, frame):
    with open(os.path.join(here, "sig.%d" % os.getpid()), "a") as f:
        f.write(signal.Signals(sig).name + "\\n")
def term(sig, frame):
    open(os.path.join(here, "term.%d" % os.getpid()), "w").close()
    sys.exit(0)
for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, note)
signal.signal(signal.SIGTERM, term)
open(os.path.join(here, "ready.%d" % os.getpid()), "w").close()
while True:
    time.sleep(1)
"""


def live(inst):
    """The pid of an instance if it has one."""
    pid = inst.get("pid")
    return pid if pid else None


def start_sleeper(c, name, *extra):
    c.script(f"{name}.sh", SLEEPER)
    c.ok("start", f"{name}.sh", "--name", name, *extra)
    return c.wait_state(name, "online")


def one_line_error(r):
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected a one-line message on stderr, got {r.err!r}"
    return lines[0]


# --- the daemon ----------------------------------------------------------

def test_ping_starts_private_daemon(corral):
    assert corral.daemon_pid() is None
    corral.ok("ping")
    pid = corral.daemon_pid()
    assert pid, "ping did not start a daemon (no live pid in corrald.pid)"
    # Detached: its own session, not our child, not our process group.
    st = proc_stat(pid)
    assert st[3] != os.getsid(0), "daemon still in the client's session"
    assert st[1] != os.getpid()
    home = os.stat(corral.home)
    assert home.st_mode & 0o777 == 0o700
    sock = os.stat(corral.sock)
    import stat as st_
    assert st_.S_ISSOCK(sock.st_mode)
    assert sock.st_mode & 0o777 == 0o600
    assert Path(corral.home, "corrald.log").exists()
    corral.ok("ping")
    assert corral.daemon_pid() == pid, "a second ping started another daemon"
    assert corral.daemons() == [pid]


def test_kill_stops_apps_then_daemon(corral):
    insts = start_sleeper(corral, "k1", "-i", "2")
    pids = [live(i) for i in insts]
    dpid = corral.daemon_pid()
    corral.ok("kill")
    wait_for(lambda: not pid_alive(dpid), what="daemon exit after kill")
    for p in pids:
        wait_for(lambda: not pid_alive(p), what=f"instance {p} gone after kill")
    # A later command starts a fresh, empty daemon.
    assert corral.jlist() == []
    assert corral.daemon_pid() not in (None, dpid)


def test_daemon_sigterm_stops_apps_gracefully(corral):
    corral.script("graceful.py", SIGNAL_APP)
    corral.ok("start", "graceful.py", "--name", "g", "-i", "2")
    insts = corral.wait_state("g", "online", count=2)
    pids = [live(i) for i in insts]
    for p in pids:
        wait_for(lambda: (corral.appdir / f"ready.{p}").exists())
    dpid = corral.daemon_pid()
    os.kill(dpid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(dpid), what="daemon exit on SIGTERM")
    for p in pids:
        assert not pid_alive(p), f"instance {p} outlived the daemon"
        assert (corral.appdir / f"term.{p}").exists(), \
            f"instance {p} was not stopped with its kill_signal"


def test_racing_clients_start_one_daemon(corral):
    for _ in range(3):
        procs = [subprocess.Popen([str(CORRAL_BIN), "ping"], env=corral.env,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
                 for _ in range(4)]
        errs = [p.communicate(timeout=60)[1] for p in procs]
        for p, e in zip(procs, errs):
            assert p.returncode == 0, e.decode()
        for pid in corral.daemons():
            corral.remember(pid)
        # A loser may need a moment to notice and exit; wait for one to stay.
        wait_for(lambda: len(corral.daemons()) == 1,
                 what=f"exactly one daemon, have {corral.daemons()}")
        dpid = corral.daemon_pid()
        assert corral.daemons() == [dpid]
        corral.ok("kill")
        wait_for(lambda: not pid_alive(dpid), what="daemon exit after kill")


def test_stale_socket_and_pidfile_are_recovered(corral):
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(corral.sock)
    s.close()                       # a socket file nobody listens on
    dead = subprocess.Popen(["true"])
    dead.wait()
    Path(corral.pidfile).write_text(f"{dead.pid}\n")
    corral.ok("ping")
    assert corral.daemon_pid() not in (None, dead.pid)


def test_unreachable_home_exits_111(corral, tmp_path):
    afile = tmp_path / "plain-file"
    afile.write_text("")
    env = dict(corral.env, CORRAL_HOME=str(afile / "home"))
    for args in (("ping",), ("ls",)):
        r = corral.run(*args, env=env)
        assert r.rc == 111, f"{args}: rc {r.rc}: {r.err}"
        one_line_error(r)


def test_daemon_that_cannot_start_exits_111(corral):
    # The daemon fails at start-up (its pid file is a folder): the client
    # says so and exits 111 instead of waiting forever.
    os.mkdir(corral.pidfile)
    r = corral.run("ping")
    assert r.rc == 111, f"rc {r.rc}: {r.err}"
    assert "daemon" in r.err.strip().splitlines()[-1]
    assert corral.daemons() == []


def test_socket_path_too_long_exits_111(corral):
    long_home = os.path.join(corral.home, "x" * 110)
    env = dict(corral.env, CORRAL_HOME=long_home)
    r = corral.run("ping", env=env)
    assert r.rc == 111, f"rc {r.rc}: {r.err}"
    one_line_error(r)


def test_socket_that_hangs_up_exits_111(corral):
    # Something listens on corral.sock but closes every connection unread.
    import socket
    import threading
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(corral.sock)
    srv.listen(8)
    stop = threading.Event()

    def serve():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.close()
            except socket.timeout:
                pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        for args in (("ping",), ("ls",), ("start", "x.sh")):
            r = corral.run(*args)
            assert r.rc == 111, f"{args}: rc {r.rc}: {r.err}"
            one_line_error(r)
    finally:
        stop.set()
        t.join(5)
        srv.close()
    assert corral.daemons() == []


# --- help and bad input --------------------------------------------------

COMMANDS = ["start", "stop", "restart", "delete", "signal", "ls", "jlist",
            "describe", "reset", "ping", "kill", "logs", "flush"]


def test_help_lists_commands(corral):
    out = corral.ok("--help")
    for cmd in COMMANDS:
        assert cmd in out, f"--help does not mention {cmd}"
    out = corral.ok("help", "start")
    assert "--name" in out and "--interpreter" in out and "-i" in out
    r = corral.run("help", "no-such-command")
    assert r.rc == 100
    one_line_error(r)


@pytest.mark.parametrize("args,rc", [
    (("no-such-command",), 100),
    (("start", "app.sh", "--no-such-flag"), 100),
    (("start", "app.sh", "-i", "abc"), 100),
    (("start", "app.sh", "-i"), 100),
    (("start",), 100),
    (("stop",), 100),
    (("start", "missing-script.sh"), 1),
    (("start", "app.sh", "--cwd", "/nonexistent/dir"), 1),
    (("stop", "nope"), 1),
    (("stop", "4242"), 1),
    (("restart", "nope"), 1),
    (("delete", "4242"), 1),
    (("describe", "nope"), 1),
    (("reset", "nope"), 1),
    (("signal", "SIGUSR1", "nope"), 1),
    (("signal", "SIGNOPE", "app"), 100),
])
def test_bad_input(corral, args, rc):
    corral.script("app.sh", SLEEPER)
    corral.ok("start", "app.sh", "--name", "app")
    corral.wait_state("app", "online")
    before = [(i["id"], i["name"], i["pid"], i["state"]) for i in corral.jlist()]
    r = corral.run(*args)
    assert r.rc == rc, f"corral {' '.join(args)}: rc {r.rc}, want {rc}: {r.err}"
    one_line_error(r)
    after = [(i["id"], i["name"], i["pid"], i["state"]) for i in corral.jlist()]
    assert after == before, "a refused command changed the daemon's state"


# --- start ---------------------------------------------------------------

def test_start_default_name_and_jlist_fields(corral):
    corral.script("sleeper.sh", SLEEPER)
    out = corral.ok("start", "sleeper.sh")
    assert "sleeper" in out
    [inst] = corral.wait_state("sleeper", "online")
    for key, typ in (("id", int), ("name", str), ("instance", int), ("pid", int),
                     ("state", str), ("restarts", int), ("unstable_restarts", int),
                     ("uptime_ms", int), ("started_at", int), ("cpu", (int, float)),
                     ("memory", int)):
        assert isinstance(inst.get(key), typ), f"jlist field {key}: {inst.get(key)!r}"
    for key in ("reason", "exit_code", "exit_signal"):
        assert key in inst, f"jlist lacks {key}"
    assert inst["instance"] == 0 and inst["restarts"] == 0
    assert pid_alive(inst["pid"])
    assert "sleep" in " ".join(proc_cmdline(inst["pid"]))
    # The instance leads its own session (so its whole tree can be killed).
    st = proc_stat(inst["pid"])
    assert st[3] == inst["pid"] and st[2] == inst["pid"]
    corral.wait_for(lambda: corral.app("sleeper")[0]["memory"] > 0,
                    what="memory of an online instance")
    t0 = corral.app("sleeper")[0]["uptime_ms"]
    corral.wait_for(lambda: corral.app("sleeper")[0]["uptime_ms"] > t0, what="uptime grows")


def test_ls_list_status_table(corral):
    [inst] = start_sleeper(corral, "tabled")
    outs = [corral.ok(cmd) for cmd in ("ls", "list", "status")]
    for out in outs:
        low = out.lower()
        for col in ("id", "name", "pid", "online"):
            assert col in low, f"ls table lacks {col}:\n{out}"
        assert "tabled" in out and str(inst["pid"]) in out
    js = corral.ok("ls", "--json")
    import json
    assert [i["pid"] for i in json.loads(js)] == [inst["pid"]]


def test_start_instances_count(corral):
    corral.script("multi.sh", SLEEPER)
    corral.ok("start", "multi.sh", "--name", "multi", "-i", "3")
    insts = corral.wait_state("multi", "online", count=3)
    assert [i["instance"] for i in insts] == [0, 1, 2]
    assert len({i["id"] for i in insts}) == 3
    assert len({i["pid"] for i in insts}) == 3
    corral.ok("start", "multi.sh", "--name", "multi2", "--instances", "2")
    corral.wait_state("multi2", "online", count=2)


@pytest.mark.parametrize("spec", ["max", "-1"])
def test_start_instances_cpu_relative(corral, ncpu, spec):
    corral.script("cpu.sh", SLEEPER)
    corral.ok("start", "cpu.sh", "--name", "cpu", "-i", spec)
    want = ncpu if spec == "max" else max(1, ncpu - 1)
    corral.wait_state("cpu", "online", count=want)


RECORDER = """\
#!/bin/sh
dir=$(dirname "$0")
{
  echo "cwd=$(pwd)"
  echo "inst=$CORRAL_INSTANCE node=$NODE_APP_INSTANCE"
  echo "foo=$FOO baz=$BAZ client=$CLIENT_VAR"
  for a in "$@"; do echo "arg=$a"; done
} > "$dir/rec.$CORRAL_INSTANCE.tmp"
mv "$dir/rec.$CORRAL_INSTANCE.tmp" "$dir/rec.$CORRAL_INSTANCE"
exec sleep 1000
"""


def read_rec(c, i):
    return wait_for(lambda: (c.appdir / f"rec.{i}").read_text(),
                    what=f"rec.{i} written by instance {i}").splitlines()


def test_start_env_cwd_and_args(corral, tmp_path):
    corral.script("rec.sh", RECORDER)
    wd = tmp_path / "workdir"
    wd.mkdir()
    corral.ok("start", str(corral.appdir / "rec.sh"), "--name", "rec", "-i", "2",
              "--cwd", str(wd), "--env", "FOO=bar", "--env", "BAZ=a b=c",
              "--", "one", "two words", "--three",
              extra_env={"CLIENT_VAR": "from-client"})
    corral.wait_state("rec", "online", count=2)
    for i in (0, 1):
        rec = read_rec(corral, i)
        assert rec[0] == f"cwd={wd}"
        assert rec[1] == f"inst={i} node={i}"
        assert rec[2] == "foo=bar baz=a b=c client=from-client"
        assert rec[3:] == ["arg=one", "arg=two words", "arg=--three"]


def test_start_name_equals_form(corral):
    corral.script("eq.sh", SLEEPER)
    corral.ok("start", "eq.sh", "--name=eqname", "-i", "1")
    corral.wait_state("eqname", "online", count=1)


ENV_APP = """\
#!/bin/sh
echo "$MARK" > "$(dirname "$0")/mark.$$"
exec sleep 1000
"""


def test_restart_update_env(corral):
    corral.script("envy.sh", ENV_APP)

    def mark():
        [inst] = corral.wait_state("envy", "online")
        f = corral.appdir / f"mark.{inst['pid']}"
        return wait_for(lambda: f.exists() and f.read_text().strip(),
                        what="mark file")

    corral.ok("start", "envy.sh", "--name", "envy", extra_env={"MARK": "one"})
    assert mark() == "one"
    corral.ok("restart", "envy", extra_env={"MARK": "two"})
    assert mark() == "one", "restart without --update-env changed the env"
    corral.ok("restart", "envy", "--update-env", extra_env={"MARK": "two"})
    assert mark() == "two", "restart --update-env did not take the client's env"
    corral.ok("restart", "envy", extra_env={"MARK": "three"})
    assert mark() == "two"


def test_interpreters_by_extension(corral):
    d = corral.appdir
    corral.script("app.js", """\
        const fs = require('fs'), path = require('path');
        fs.writeFileSync(path.join(__dirname, 'js.out'), 'node ' + process.version);
        setInterval(() => {}, 1e6);
        """, mode=0o644)
    corral.script("app.py", """\
        import os, sys, time
        here = os.path.dirname(os.path.abspath(__file__))
        open(os.path.join(here, 'py.out'), 'w').write('python %d' % sys.version_info[0])
        time.sleep(1000)
        """, mode=0o644)
    corral.script("app.sh", """\
        echo "bash $BASH_VERSION" > "$(dirname "$0")/sh.out"
        exec sleep 1000
        """, mode=0o644)
    corral.script("direct", """\
        #!/bin/sh
        echo "direct $0" > "$(dirname "$0")/direct.out"
        exec sleep 1000
        """)
    corral.script("tool.cfg", """\
        import os, time
        here = os.path.dirname(os.path.abspath(__file__))
        open(os.path.join(here, 'interp.out'), 'w').write('interp')
        time.sleep(1000)
        """, mode=0o644)
    for f in ("app.js", "app.py", "app.sh", "direct"):
        corral.ok("start", f, "--name", f.replace(".", "-"))
    corral.ok("start", "tool.cfg", "--name", "interp", "--interpreter", "/usr/bin/python3")
    for name in ("app-js", "app-py", "app-sh", "direct", "interp"):
        corral.wait_state(name, "online")

    def content(f):
        return wait_for(lambda: (d / f).read_text().strip(), what=f)
    assert content("js.out").startswith("node v")
    assert content("py.out") == "python 3"
    assert content("sh.out").startswith("bash ") and content("sh.out") != "bash"
    assert content("direct.out").startswith("direct ")
    assert content("interp.out") == "interp"


def test_start_command_from_path(corral):
    corral.ok("start", "sleep", "--name", "cmd", "--", "1000")
    [inst] = corral.wait_state("cmd", "online")
    assert proc_cmdline(inst["pid"])[-1] == "1000"


# --- stop, restart, delete, signal, reset --------------------------------

def test_stop_by_name_id_and_all(corral):
    a = start_sleeper(corral, "sa", "-i", "2")
    b = start_sleeper(corral, "sb")
    # By id: only that instance.
    corral.ok("stop", str(a[1]["id"]))
    wait_for(lambda: corral.app("sa")[1]["state"] == "stopped")
    assert corral.app("sa")[0]["state"] == "online"
    assert not pid_alive(a[1]["pid"])
    # By name.
    corral.ok("stop", "sa")
    corral.wait_state("sa", "stopped", count=2)
    assert not pid_alive(a[0]["pid"])
    assert corral.app("sb")[0]["state"] == "online"
    for inst in corral.app("sa"):
        assert not live(inst)
    # All.
    corral.ok("stop", "all")
    corral.wait_state("sb", "stopped")
    assert not pid_alive(b[0]["pid"])
    # A stopped instance does not come back by itself.
    time.sleep(0.5)
    assert all(i["state"] == "stopped" for i in corral.jlist())
    # Stopping a stopped app is not an error.
    corral.ok("stop", "sb")


def test_restart_by_name_id_and_all(corral):
    a = start_sleeper(corral, "ra", "-i", "2")
    b = start_sleeper(corral, "rb")
    old = {i["id"]: i["pid"] for i in a + b}

    def fresh(name, idx=None):
        def check():
            insts = corral.app(name)
            sel = insts if idx is None else [insts[idx]]
            return all(i["state"] == "online" and live(i) and live(i) != old[i["id"]]
                       for i in sel) and insts
        return wait_for(check, what=f"{name} restarted")

    corral.ok("restart", str(a[0]["id"]))
    fresh("ra", 0)
    assert corral.app("ra")[1]["pid"] == old[a[1]["id"]], "restart by id hit another"
    old.update({i["id"]: i["pid"] for i in corral.app("ra")})
    corral.ok("restart", "ra")
    fresh("ra")
    assert corral.app("rb")[0]["pid"] == old[b[0]["id"]]
    old.update({i["id"]: i["pid"] for i in corral.jlist()})
    corral.ok("restart", "all")
    fresh("ra")
    fresh("rb")
    for pid in old.values():
        wait_for(lambda: not pid_alive(pid), what=f"old pid {pid} gone")
    # Restart starts a stopped app.
    corral.ok("stop", "rb")
    corral.wait_state("rb", "stopped")
    corral.ok("restart", "rb")
    corral.wait_state("rb", "online")


def test_delete_del_by_name_id_and_all(corral):
    a = start_sleeper(corral, "da")
    b = start_sleeper(corral, "db", "-i", "2")
    c = start_sleeper(corral, "dc")
    corral.ok("delete", "da")
    assert corral.app("da") == []
    wait_for(lambda: not pid_alive(a[0]["pid"]))
    corral.ok("del", str(c[0]["id"]))
    assert corral.app("dc") == []
    wait_for(lambda: not pid_alive(c[0]["pid"]))
    assert len(corral.app("db")) == 2
    corral.ok("delete", "all")
    assert corral.jlist() == []
    for inst in b:
        wait_for(lambda: not pid_alive(inst["pid"]))
    # The name is free again.
    start_sleeper(corral, "da")


def signals_of(c, pid):
    f = c.appdir / f"sig.{pid}"
    return f.read_text().split() if f.exists() else []


def test_signal_by_name_id_and_all(corral):
    corral.script("sig.py", SIGNAL_APP)
    corral.ok("start", "sig.py", "--name", "sg", "-i", "2")
    corral.ok("start", "sig.py", "--name", "other")
    insts = corral.wait_state("sg", "online", count=2)
    [other] = corral.wait_state("other", "online")
    for p in [i["pid"] for i in insts] + [other["pid"]]:
        wait_for(lambda: (corral.appdir / f"ready.{p}").exists(), what="app ready")
    corral.ok("signal", "SIGUSR1", "sg")
    for i in insts:
        wait_for(lambda: signals_of(corral, i["pid"]) == ["SIGUSR1"],
                 what="SIGUSR1 by name")
    corral.ok("signal", "USR2", str(insts[1]["id"]))
    wait_for(lambda: signals_of(corral, insts[1]["pid"]) == ["SIGUSR1", "SIGUSR2"])
    corral.ok("signal", "1", "all")         # a number: SIGHUP
    for p in (insts[0]["pid"], other["pid"]):
        wait_for(lambda: "SIGHUP" in signals_of(corral, p), what="SIGHUP to all")
    assert signals_of(corral, insts[0]["pid"]) == ["SIGUSR1", "SIGHUP"]
    assert signals_of(corral, other["pid"]) == ["SIGHUP"]
    # A signal is not a restart.
    assert [i["pid"] for i in corral.app("sg")] == [i["pid"] for i in insts]


def test_reset_counters(corral):
    start_sleeper(corral, "rs")
    start_sleeper(corral, "rt")
    for name in ("rs", "rt"):
        pid = corral.app(name)[0]["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: corral.app(name)[0]["restarts"] == 1
                 and corral.app(name)[0]["state"] == "online", what="crash restart")
    corral.ok("reset", "rs")
    assert corral.app("rs")[0]["restarts"] == 0
    assert corral.app("rt")[0]["restarts"] == 1
    corral.ok("reset", "all")
    assert corral.app("rt")[0]["restarts"] == 0
    assert corral.app("rt")[0]["state"] == "online"


def test_describe_and_show(corral):
    corral.script("desc.sh", SLEEPER)
    corral.ok("start", "desc.sh", "--name", "desc", "--env", "DESCVAR=xyz", "--", "argz")
    [inst] = corral.wait_state("desc", "online")
    out = corral.ok("describe", "desc")
    for word in ("desc", str(corral.appdir), "argz", "DESCVAR", "kill_timeout"):
        assert word in out, f"describe lacks {word}:\n{out}"
    os.kill(inst["pid"], signal.SIGKILL)
    wait_for(lambda: corral.app("desc")[0]["restarts"] == 1)
    out = corral.ok("show", str(inst["id"]))
    assert "SIGKILL" in out or "signal 9" in out, f"describe lacks the last exit:\n{out}"


# --- supervision ---------------------------------------------------------

def test_crash_restart_keeps_reason(corral):
    [inst] = start_sleeper(corral, "crashy")
    os.kill(inst["pid"], signal.SIGKILL)
    new = wait_for(lambda: [i for i in corral.app("crashy")
                            if i["state"] == "online" and live(i)
                            and i["pid"] != inst["pid"]],
                   what="replacement of a killed instance")[0]
    assert new["restarts"] == 1 and new["id"] == inst["id"]
    assert new["exit_signal"] == signal.SIGKILL
    assert "SIGKILL" in new["reason"] or "signal 9" in new["reason"]

    corral.script("exit3.sh", """\
        #!/bin/sh
        f="$(dirname "$0")/once"
        if [ ! -e "$f" ]; then : > "$f"; exit 3; fi
        exec sleep 1000
        """)
    corral.ok("start", "exit3.sh", "--name", "exit3")
    inst = wait_for(lambda: [i for i in corral.app("exit3")
                             if i["restarts"] == 1 and i["state"] == "online"],
                    what="restart after exit 3")[0]
    assert inst["exit_code"] == 3 and "3" in inst["reason"]


def test_crash_loop_ends_errored(corral):
    corral.script("boom.sh", "#!/bin/sh\necho boom >&2\nexit 7\n")
    corral.ok("start", "boom.sh", "--name", "boom", "--max-restarts", "3",
              "--min-uptime", "5s")
    [inst] = corral.wait_state("boom", "errored", timeout=60)
    assert not live(inst)
    assert inst["exit_code"] == 7
    n = inst["restarts"]
    assert 1 <= n <= 4, f"restarts {n} with max_restarts 3"
    time.sleep(1)
    again = corral.app("boom")[0]
    assert again["state"] == "errored" and again["restarts"] == n, "errored app still spins"
    # restart brings an errored app back to trying.
    corral.script("boom.sh", SLEEPER)
    corral.ok("restart", "boom")
    corral.wait_state("boom", "online")


def test_autorestart_policies(corral):
    corral.script("exit0.sh", "#!/bin/sh\nsleep 0.2\nexit 0\n")
    corral.script("exit5.sh", """\
        #!/bin/sh
        echo x >> "$(dirname "$0")/runs.$NAME"
        exit 5
        """)
    corral.ok("start", "exit0.sh", "--name", "never", "--autorestart", "never")
    corral.ok("start", "exit0.sh", "--name", "onfail0", "--autorestart", "on-failure")
    corral.ok("start", "exit5.sh", "--name", "stopcode", "--stop-exit-codes", "5",
              "--env", "NAME=stopcode")
    for name in ("never", "onfail0", "stopcode"):
        [inst] = corral.wait_state(name, "stopped")
        assert inst["restarts"] == 0, f"{name} was restarted"
    assert corral.app("never")[0]["exit_code"] == 0
    assert corral.app("stopcode")[0]["exit_code"] == 5
    corral.ok("start", "exit5.sh", "--name", "onfail5", "--autorestart", "on-failure",
              "--max-restarts", "2", "--env", "NAME=onfail5")
    wait_for(lambda: corral.app("onfail5")[0]["restarts"] >= 1,
             what="on-failure restarts a failing app")


# --- graceful stop --------------------------------------------------------

GRANDPARENT = """\
#!/bin/sh
dir=$(dirname "$0")
# A grandchild in the background, and an orphan (its parent exits at once),
# both ignoring SIGTERM.
sh -c 'trap "" TERM; echo $$ > "$1"; exec sleep 1000' gc "$dir/gc.$CORRAL_INSTANCE" &
( sh -c 'trap "" TERM; echo $$ > "$1"; exec sleep 1000' orphan "$dir/orphan.$CORRAL_INSTANCE" & )
exec sleep 1000
"""


@pytest.mark.parametrize("how", ["stop", "delete", "restart"])
def test_grandchildren_never_outlive_instance(corral, how):
    corral.script("gp.sh", GRANDPARENT)
    corral.ok("start", "gp.sh", "--name", "gp", "--kill-timeout", "1s")
    [inst] = corral.wait_state("gp", "online")
    kids = []
    for f in ("gc.0", "orphan.0"):
        pid = int(wait_for(lambda: (corral.appdir / f).read_text().strip(),
                           what=f"{f} pid file"))
        assert pid_alive(pid)
        corral.remember(pid)
        kids.append(pid)
    for f in ("gc.0", "orphan.0"):
        (corral.appdir / f).unlink()
    corral.ok(how, "gp")
    for pid in kids + [inst["pid"]]:
        wait_for(lambda: not pid_alive(pid),
                 what=f"pid {pid} ({how}) of the instance's tree gone")
    if how == "restart":
        corral.wait_state("gp", "online")
        for f in ("gc.0", "orphan.0"):
            corral.remember(int(wait_for(
                lambda: (corral.appdir / f).read_text().strip())))


def test_sigterm_ignorer_killed_after_kill_timeout(corral):
    corral.script("stubborn.py", """\
        #!/usr/bin/python3
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        here = os.path.dirname(os.path.abspath(__file__))
        open(os.path.join(here, "ready.%d" % os.getpid()), "w").close()
        while True:
            time.sleep(1)
        """)
    corral.ok("start", "stubborn.py", "--name", "stubborn", "--kill-timeout", "1s")
    [inst] = corral.wait_state("stubborn", "online")
    wait_for(lambda: (corral.appdir / f"ready.{inst['pid']}").exists())
    corral.ok("stop", "stubborn")
    [after] = corral.wait_state("stubborn", "stopped")
    assert not pid_alive(inst["pid"])
    assert after["exit_signal"] == signal.SIGKILL, after


def test_stop_sends_kill_signal(corral):
    corral.script("polite.py", SIGNAL_APP)
    corral.ok("start", "polite.py", "--name", "polite")
    corral.ok("start", "polite.py", "--name", "intr", "--kill-signal", "SIGINT",
              "--kill-timeout", "1s")
    [p] = corral.wait_state("polite", "online")
    [q] = corral.wait_state("intr", "online")
    for i in (p, q):
        wait_for(lambda: (corral.appdir / f"ready.{i['pid']}").exists())
    corral.ok("stop", "polite")
    corral.ok("stop", "intr")
    [p2] = corral.wait_state("polite", "stopped")
    assert (corral.appdir / f"term.{p['pid']}").exists()
    assert p2["exit_code"] == 0
    corral.wait_state("intr", "stopped")
    assert signals_of(corral, q["pid"]) == ["SIGINT"]


def test_program_gone_before_restart_ends_errored(corral):
    # The program disappears while it runs; its restarts cannot even spawn.
    # Even with min_uptime 0 the daemon must not spin (or recurse) on it.
    corral.script("vanish", SLEEPER)
    corral.ok("start", "vanish", "--name", "vanish", "--min-uptime", "0",
              "--max-restarts", "3")
    [inst] = corral.wait_state("vanish", "online")
    (corral.appdir / "vanish").unlink()
    dpid = corral.daemon_pid()
    os.kill(inst["pid"], signal.SIGKILL)
    [after] = corral.wait_state("vanish", "errored")
    assert "cannot start" in after["reason"], after
    corral.ok("ping")
    assert corral.daemon_pid() == dpid


# --- operations cut short -------------------------------------------------

STUBBORN = """\
#!/usr/bin/python3
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
here = os.path.dirname(os.path.abspath(__file__))
open(os.path.join(here, "ready.%d" % os.getpid()), "w").close()
while True:
    time.sleep(1)
"""


def start_stubborn(c, name, timeout="2s"):
    c.script("stubborn.py", STUBBORN)
    c.ok("start", "stubborn.py", "--name", name, "--kill-timeout", timeout)
    [inst] = c.wait_state(name, "online")
    wait_for(lambda: (c.appdir / f"ready.{inst['pid']}").exists())
    return inst


def test_client_gone_while_its_stop_is_pending(corral):
    inst = start_stubborn(corral, "slow")
    dpid = corral.daemon_pid()
    p = subprocess.Popen([str(CORRAL_BIN), "stop", "slow"], env=corral.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: corral.app("slow")[0]["state"] == "stopping")
    p.kill()
    p.wait(10)
    [after] = corral.wait_state("slow", "stopped")
    assert not pid_alive(inst["pid"]) and after["exit_signal"] == signal.SIGKILL
    corral.ok("ping")
    assert corral.daemon_pid() == dpid


def test_delete_and_restart_while_stopping_or_waiting(corral):
    start_stubborn(corral, "st")
    p = subprocess.Popen([str(CORRAL_BIN), "stop", "st"], env=corral.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: corral.app("st")[0]["state"] == "stopping")
    corral.ok("restart", "st")          # waits for the stop, then starts
    corral.wait_state("st", "online")
    # The stop is over (superseded): its client is answered now, not after
    # its op's timeout (kill_timeout + 15 s).
    wait_for(lambda: p.poll() is not None, timeout=10,
             what="the superseded stop's client to get its reply")
    assert p.returncode == 0
    # A crashed app waiting out its restart_delay can be deleted.
    corral.script("crash.sh", "#!/bin/sh\nexit 1\n")
    corral.ok("start", "crash.sh", "--name", "wr", "--restart-delay", "1h")
    corral.wait_state("wr", "waiting-restart")
    corral.ok("delete", "wr")
    assert corral.app("wr") == []
    # Deleting one that is stopping: it is gone once killed.
    pid = corral.app("st")[0]["pid"]
    wait_for(lambda: (corral.appdir / f"ready.{pid}").exists(), what="ignores TERM")
    p = subprocess.Popen([str(CORRAL_BIN), "stop", "st"], env=corral.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: corral.app("st")[0]["state"] == "stopping")
    corral.ok("delete", "st")
    assert corral.app("st") == []
    assert p.wait(30) in (0, 1)
    corral.ok("ping")


def test_kill_while_a_stop_is_pending(corral):
    inst = start_stubborn(corral, "kk", timeout="2s")
    dpid = corral.daemon_pid()
    p = subprocess.Popen([str(CORRAL_BIN), "stop", "kk"], env=corral.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: corral.app("kk")[0]["state"] == "stopping")
    corral.ok("kill")
    wait_for(lambda: not pid_alive(dpid), what="daemon gone after kill")
    assert not pid_alive(inst["pid"])
    p.wait(30)


def test_daemon_survives_hup_and_usr1(corral):
    start_sleeper(corral, "hu")
    dpid = corral.daemon_pid()
    for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR1):
        os.kill(dpid, sig)
        corral.ok("ping")
    assert corral.daemon_pid() == dpid
    assert corral.app("hu")[0]["state"] == "online"


def test_exp_backoff_waits_between_restarts(corral):
    corral.script("flaky.sh", """\
        #!/bin/sh
        date +%s%N >> "$(dirname "$0")/starts"
        exit 1
        """)
    corral.ok("start", "flaky.sh", "--name", "flaky",
              "--exp-backoff-restart-delay", "300ms", "--max-restarts", "100")
    # It waits (waiting-restart) between crashes instead of spinning, and
    # keeps restarting.
    wait_for(lambda: corral.app("flaky")[0]["state"] == "waiting-restart",
             what="waiting-restart between crashes")
    wait_for(lambda: corral.app("flaky")[0]["restarts"] >= 3, what="3 restarts")
    starts = [int(x) for x in (corral.appdir / "starts").read_text().split()]
    gaps = [(b - a) / 1e6 for a, b in zip(starts, starts[1:])]
    # Delays are 300, 450, 675 ms: each gap is at least its delay (a lower
    # bound only; a busy machine makes gaps longer, never shorter).
    for gap, delay in zip(gaps, (300, 450, 675)):
        assert gap >= delay * 0.95, f"gaps {gaps}"
    corral.ok("stop", "flaky")
    corral.wait_state("flaky", "stopped")
