# SPDX-License-Identifier: ISC
"""Config files (corral.ini, PM2 ecosystem JSON), cron_restart, watch,
save/resurrect, startup units and user switching, driven through the real
`corral` client against a real daemon in a private CORRAL_HOME."""

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (CORRAL_BIN, TOP, pid_alive, proc_environ, proc_stat,
                      wait_for)

SLEEPER = """\
#!/bin/sh
# prints its environment's PORT, then sleeps
echo "port=$PORT args=[$1][$2][$3]"
exec sleep 300
"""


def sleeper(corral, name="sleeper.sh"):
    return corral.script(name, SLEEPER)


def write(path, text):
    Path(path).write_text(text)
    return Path(path)


# --- corral.ini ------------------------------------------------------------

def test_ini_start_only_and_env(corral):
    sleeper(corral)
    write(corral.appdir / "corral.ini", """\
        ; two apps
        [web]
        script = sleeper.sh
        instances = 2
        env.PORT = 3000
        env_production.PORT = 80
        kill_timeout = 2s

        [worker]
        script = sleeper.sh
        args = --queue "high priority"
        """.replace("        ", ""))
    corral.ok("start", "corral.ini", "--only", "web", "--env", "production")
    web = corral.wait_state("web", "online", count=2)
    assert corral.app("worker") == []
    for inst in web:       # online at its spawn: maybe not exec'd yet
        wait_for(lambda: proc_environ(inst["pid"]).get("PORT") == "80",
                 what="PORT=80 in the instance's environment")
    desc = json.loads(corral.ok("describe", "web", "--json"))
    assert desc[0]["app"]["kill_timeout"] == 2000
    assert desc[0]["app"]["source"] == str(corral.appdir / "corral.ini")
    assert desc[0]["app"]["cwd"] == str(corral.appdir)

    corral.ok("start", "corral.ini")        # web is kept, worker starts
    worker = corral.wait_state("worker", "online", count=1)
    wait_for(lambda: "args=[--queue][high priority][]" in
             corral.logfile("worker").read_text(), what="worker's args")
    assert proc_environ(worker[0]["pid"]).get("PORT") is None
    assert [i["pid"] for i in corral.app("web")] == [i["pid"] for i in web]


def test_ini_from_another_folder(corral, tmp_path):
    """Paths in a file are relative to the file, not to the caller."""
    sub = corral.appdir / "srv"
    sub.mkdir()
    corral.script("srv/run.sh", SLEEPER)
    write(sub / "corral.ini", "[api]\nscript = run.sh\n")
    corral.ok("start", str(sub / "corral.ini"), cwd=tmp_path)
    api = corral.wait_state("api", "online", count=1)
    assert os.readlink(f"/proc/{api[0]['pid']}/cwd") == str(sub)


def test_ini_errors_change_nothing(corral):
    sleeper(corral)
    corral.ok("start", "sleeper.sh", "--name", "keep")
    corral.wait_state("keep", "online")
    write(corral.appdir / "bad.ini", """\
[ok]
script = sleeper.sh
[broken]
script = sleeper.sh
instances = lots
nosuchkey = 1
cron_restart = 1 2 3
script = again.sh
[ok]
script = sleeper.sh
[missing]
script = nowhere.sh
""")
    r = corral.run("start", "bad.ini")
    assert r.rc == 1
    lines = r.err.replace("corral: ", "", 1).strip().splitlines()
    assert lines == [
        "bad.ini:5: instances: invalid instance count 'lots' (a number, "
        "max or -N)",
        "bad.ini:6: unknown setting 'nosuchkey'",
        "bad.ini:7: cron_restart: cron expression '1 2 3' needs 5 fields "
        "(minute hour day month weekday) or 6 (seconds first)",
        "bad.ini:8: key 'script' already set at line 4",
        "bad.ini:9: app [ok] already declared at line 1",
        "bad.ini:11: app 'missing': script 'nowhere.sh' not found",
    ], r.err
    assert [i["name"] for i in corral.jlist()] == ["keep"]

    r = corral.run("start", "nofile.ini")
    assert r.rc == 1 and "nofile.ini" in r.err
    r = corral.run("start", "ecosystem.config.js")
    assert r.rc == 1 and "ecosystem.config.js: no such file" in r.err


def test_reload_file(corral):
    sleeper(corral)
    ini = corral.appdir / "corral.ini"
    write(ini, "[a]\nscript = sleeper.sh\n[b]\nscript = sleeper.sh\n"
          "[c]\nscript = sleeper.sh\n")
    corral.ok("start", "corral.ini")
    a0 = corral.wait_state("a", "online", count=1)
    b0 = corral.wait_state("b", "online", count=1)
    corral.wait_state("c", "online", count=1)

    # a changes, b is unchanged, c is removed, d is new: as PM2 does, every
    # app of the file is reloaded (new code on disk is the usual reason)
    write(ini, "[a]\nscript = sleeper.sh\ninstances = 2\nenv.PORT = 9\n"
          "[b]\nscript = sleeper.sh\n[d]\nscript = sleeper.sh\n")
    out = corral.ok("reload", "corral.ini")
    assert "a: reloading" in out and "b: reloading" in out
    assert "d: started (new)" in out
    a1 = corral.wait_state("a", "online", count=2)
    assert a0[0]["pid"] not in [i["pid"] for i in a1]
    wait_for(lambda: all(proc_environ(i["pid"]).get("PORT") == "9"
                         for i in a1), what="PORT=9 in the environments")
    b1 = corral.wait_state("b", "online", count=1)
    assert b1[0]["pid"] != b0[0]["pid"]
    corral.wait_state("d", "online", count=1)
    corral.wait_state("c", "online", count=1)      # left alone

    out = corral.ok("reload", "corral.ini", "--prune")
    assert "c: deleted" in out
    wait_for(lambda: corral.app("c") == [], what="c deleted")

    # a broken file changes nothing, even with --prune
    write(ini, "[a]\nscript = sleeper.sh\ninstances = two\n")
    assert corral.run("reload", "corral.ini", "--prune").rc == 1
    assert sorted({i["name"] for i in corral.jlist()}) == ["a", "b", "d"]


def test_reload_file_rolls_apps_with_sockets(corral):
    """A changed app that holds sockets is replaced one instance at a time:
    new pids with the new settings, and the port never refuses a request."""
    import http.client
    import socket
    import threading

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = TOP / "examples" / "python" / "app.py"
    ini = corral.appdir / "corral.ini"
    text = ("[web]\nscript = %s\ninterpreter = /usr/bin/python3\n"
            "instances = 2\nlisten = 127.0.0.1:%d\nenv.VERSION = %%s\n"
            % (app, port))
    write(ini, text % "1")
    corral.ok("start", "corral.ini")
    old = {i["pid"] for i in corral.wait_state("web", "online", count=2)}

    failures, done = [], threading.Event()

    def load():
        while not done.is_set():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                c.request("GET", "/")
                if c.getresponse().status != 200:
                    failures.append("status")
            except OSError as e:
                failures.append(repr(e))
            finally:
                c.close()

    t = threading.Thread(target=load)
    t.start()
    try:
        write(ini, text % "2")
        out = corral.ok("reload", "corral.ini")
        assert "web: reloading" in out

        def replaced():
            insts = corral.app("web")
            pids = {i["pid"] for i in insts if i["state"] == "online"}
            return len(insts) == 2 and len(pids) == 2 and not pids & old
        wait_for(replaced, what="both instances replaced")
    finally:
        done.set()
        t.join()
    assert failures == []
    for i in corral.app("web"):
        assert proc_environ(i["pid"]).get("VERSION") == "2"


def test_stop_restart_delete_file(corral):
    sleeper(corral)
    write(corral.appdir / "corral.ini",
          "[a]\nscript = sleeper.sh\n[b]\nscript = sleeper.sh\n")
    corral.ok("start", "sleeper.sh", "--name", "other")
    corral.ok("start", "corral.ini")
    a0 = corral.wait_state("a", "online")[0]["pid"]
    other = corral.wait_state("other", "online")[0]["pid"]
    corral.ok("stop", "corral.ini", "--only", "b")
    corral.wait_state("b", "stopped")
    corral.ok("restart", "corral.ini")
    corral.wait_state("b", "online")
    assert corral.wait_state("a", "online")[0]["pid"] != a0
    corral.ok("delete", "corral.ini")
    wait_for(lambda: {i["name"] for i in corral.jlist()} == {"other"},
             what="a and b deleted")
    assert corral.app("other")[0]["pid"] == other
    r = corral.run("stop", "corral.ini")
    assert r.rc == 1 and "none of its apps is declared" in r.err


# --- PM2 ecosystem JSON ----------------------------------------------------

def test_pm2_ecosystem_json(corral):
    sleeper(corral)
    # The shape of `pm2 ecosystem` output and of PM2's documentation.
    write(corral.appdir / "ecosystem.config.json", json.dumps({
        "apps": [{
            "name": "api",
            "script": "./sleeper.sh",
            "instances": 2,
            "exec_mode": "cluster",
            "watch": False,
            "autorestart": True,
            "max_restarts": 10,
            "restart_delay": 250,
            "kill_timeout": 3000,
            "stop_exit_codes": [0],
            "interpreter": "none",
            "env": {"NODE_ENV": "development", "PORT": 3000},
            "env_production": {"NODE_ENV": "production"},
            "vizion": False,
        }, {
            "script": "sleeper.sh",
            "cron_restart": "0 3 * * *",
        }],
        "deploy": {"production": {"user": "node"}},
    }, indent=2))
    out = corral.ok("start", "ecosystem.config.json", "--env", "production")
    assert "ignored PM2 options:" in out
    assert "vizion (api)" in out
    assert "exec_mode" not in out and "wait_ready" not in out
    api = corral.wait_state("api", "online", count=2)
    env = wait_for(lambda: (lambda e: e if "NODE_ENV" in e else None)(
        proc_environ(api[0]["pid"])), what="the instance's environment")
    assert env["NODE_ENV"] == "production" and env["PORT"] == "3000"
    cfg = json.loads(corral.ok("describe", "api", "--json"))[0]["app"]
    assert cfg["restart_delay"] == 250 and cfg["kill_timeout"] == 3000
    assert cfg["max_restarts"] == 10 and cfg["stop_exit_codes"] == [0]
    corral.wait_state("sleeper", "online", count=1)


# --- cron_restart and watch --------------------------------------------------

def test_cron_restart(corral):
    sleeper(corral)
    corral.ok("start", "sleeper.sh", "--name", "cr",
              "--cron-restart", "*/2 * * * * *")
    first = corral.wait_state("cr", "online")[0]["pid"]
    cfg = json.loads(corral.ok("describe", "cr", "--json"))[0]["app"]
    assert cfg["next_cron_restart"] % 2000 == 0
    wait_for(lambda: corral.app("cr")[0]["restarts"] >= 2 and
             corral.app("cr")[0]["state"] == "online",
             what="two cron restarts")
    assert corral.app("cr")[0]["pid"] != first
    assert "cron_restart" in corral.daemon_log()


def test_watch_restart(corral):
    sleeper(corral)
    (corral.appdir / "src").mkdir()
    (corral.appdir / "src" / "tmp").mkdir()
    corral.ok("start", "sleeper.sh", "--name", "w", "--watch", "src",
              "--ignore-watch", "tmp,*.log", "--watch-delay", "200ms")
    first = corral.wait_state("w", "online")[0]["pid"]
    (corral.appdir / "src" / "tmp" / "x").write_text("ignored")
    (corral.appdir / "src" / "a.log").write_text("ignored")
    (corral.appdir / "outside.txt").write_text("not watched")
    (corral.appdir / "src" / "app.conf").write_text("changed")
    wait_for(lambda: corral.app("w")[0]["restarts"] == 1 and
             corral.app("w")[0]["state"] == "online", what="watch restart")
    assert corral.app("w")[0]["pid"] != first
    assert "src/app.conf changed" in corral.daemon_log()
    assert "tmp/x" not in corral.daemon_log()
    r = corral.run("start", "sleeper.sh", "--name", "w2", "--watch", "nope")
    assert r.rc == 1 and "watch: nope: No such file or directory" in r.err


# --- save and resurrect ----------------------------------------------------

def test_save_kill_resurrect(corral):
    sleeper(corral)
    corral.ok("start", "sleeper.sh", "--name", "up", "-i", "2",
              "--env", "ONLY_DECLARED=1", extra_env={"CALLER_SECRET": "x"})
    corral.ok("start", "sleeper.sh", "--name", "down")
    corral.wait_state("up", "online", count=2)
    corral.wait_state("down", "online", count=1)
    corral.ok("stop", "down")
    corral.wait_state("down", "stopped")
    out = corral.ok("save")
    assert "saved 2 apps" in out
    dump = Path(corral.home) / "dump.json"
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    text = dump.read_text()
    assert "CALLER_SECRET" not in text and "ONLY_DECLARED" in text
    corral.ok("save")
    assert (Path(corral.home) / "dump.json.bak").read_text() == text

    old = {i["name"] for i in corral.jlist()}
    corral.ok("kill")
    wait_for(lambda: corral.daemons() == [], what="daemon gone")
    corral.ok("resurrect")
    assert {i["name"] for i in corral.jlist()} == old
    up = corral.wait_state("up", "online", count=2)
    # online at its spawn: the process may still be between two execs
    # (corral-exec, sh), when its environ reads empty
    wait_for(lambda: proc_environ(up[0]["pid"]).get("ONLY_DECLARED") == "1",
             what="the declared variable in the instance's environment")
    assert corral.wait_state("down", "stopped", count=1)


def test_corrupt_dump_uses_bak(corral):
    sleeper(corral)
    corral.ok("start", "sleeper.sh", "--name", "one")
    corral.wait_state("one", "online")
    corral.ok("save")
    corral.ok("save")                       # dump.json.bak = same apps
    dump = Path(corral.home) / "dump.json"
    bak = Path(corral.home) / "dump.json.bak"
    dump.write_text('{"apps": [ {"name": ')
    bak_text = bak.read_text()
    corral.ok("kill")
    wait_for(lambda: corral.daemons() == [], what="daemon gone")
    out = corral.ok("resurrect")
    assert "dump.json.bak" in out
    corral.wait_state("one", "online")
    assert dump.read_text() == '{"apps": [ {"name": '
    assert bak.read_text() == bak_text
    # the next save keeps the corrupt file aside and the good .bak
    corral.ok("save")
    kept = list(Path(corral.home).glob("dump.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"apps": [ {"name": '
    assert bak.read_text() == bak_text
    json.loads(dump.read_text())


def test_resurrect_without_dump(corral):
    r = corral.run("resurrect")
    assert r.rc == 1 and "no saved apps" in r.err


# --- startup ------------------------------------------------------------------

def test_startup_systemd_unit(corral, tmp_path):
    root = tmp_path / "root"
    out = corral.ok("startup", "systemd", "--root", root)
    unit = root / "etc/systemd/system" / f"corral-{pwd.getpwuid(os.getuid()).pw_name}.service"
    assert str(unit) in out
    text = unit.read_text()
    for line in ("Type=notify", "Delegate=yes", "KillMode=mixed",
                 "WatchdogSec=30s", "TimeoutStopSec=90s",
                 f"ExecStart={CORRAL_BIN.parent}/corrald --foreground --resurrect",
                 f"Environment=CORRAL_HOME={corral.home}"):
        assert f"\n{line}\n" in text, line
    wants = root / "etc/systemd/system/multi-user.target.wants" / unit.name
    assert os.readlink(wants) == f"/etc/systemd/system/{unit.name}"
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
        assert r.returncode == 0, r.stdout.decode()
    out = corral.ok("unstartup", "systemd", "--root", root)
    assert "removed (2 files)" in out
    assert not unit.exists() and not os.path.lexists(wants)


def test_startup_kill_timeouts_and_kinds(corral, tmp_path):
    sleeper(corral)
    corral.ok("start", "sleeper.sh", "--kill-timeout", "2m")
    corral.ok("save")
    root = tmp_path / "r"
    corral.ok("startup", "systemd", "--root", root)
    unit = next((root / "etc/systemd/system").glob("corral-*.service"))
    assert "\nTimeoutStopSec=150s\n" in unit.read_text()
    corral.ok("startup", "openrc", "--root", root)
    script = next((root / "etc/init.d").glob("corral-*"))
    assert script.read_text().startswith("#!/sbin/openrc-run\n")
    assert os.access(script, os.X_OK)
    corral.ok("unstartup", "openrc", "--root", root)
    corral.ok("startup", "sysv", "--root", root)
    assert list((root / "etc/rc2.d").glob("S20corral-*"))
    r = subprocess.run(["sh", "-n", str(next((root / "etc/init.d").glob("corral-*")))])
    assert r.returncode == 0
    assert corral.run("startup", "upstart", "--root", root).rc == 100


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_startup_as_other_user_prints_sudo(corral):
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", str(CORRAL_BIN), "startup"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(corral.env, HOME="/nonexistent"))
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert out.startswith("To start nobody's apps at boot, run as root:\nsudo env PATH=")
    assert "startup" in out and "-u nobody" in out


# --- user switching ----------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_user_nobody(corral, request):
    nobody = pwd.getpwnam("nobody")
    # a folder nobody may enter (pytest's are private to root)
    pub = Path(tempfile.mkdtemp(prefix="corral-nobody."))
    request.addfinalizer(lambda: shutil.rmtree(pub, ignore_errors=True))
    pub.chmod(0o755)
    script = write(pub / "id.sh", "#!/bin/sh\nid -u; id -G\nexec sleep 300\n")
    script.chmod(0o755)
    corral.ok("start", script, "--name", "low", "--user", "nobody",
              "--cwd", pub)
    inst = corral.wait_state("low", "online")[0]
    status = Path(f"/proc/{inst['pid']}/status").read_text()
    uids = next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1:]
    gids = next(l for l in status.splitlines() if l.startswith("Gid:")).split()[1:]
    assert uids == [str(nobody.pw_uid)] * 4
    assert gids == [str(nobody.pw_gid)] * 4
    groups = next(l for l in status.splitlines() if l.startswith("Groups:")).split()[1:]
    assert "0" not in groups
    # /proc/PID/environ reads empty while the process execs (sh execs sleep)
    wait_for(lambda: Path(f"/proc/{inst['pid']}/comm").read_text().strip()
             == "sleep", what="the script's exec of sleep")
    env = proc_environ(inst["pid"])
    assert env["USER"] == "nobody" and env["HOME"] == nobody.pw_dir
    wait_for(lambda: corral.logfile("low").read_text().startswith(
        f"{nobody.pw_uid}\n"), what="id output")
    assert corral.logfile("low").stat().st_uid == os.getuid()
    r = corral.run("start", script, "--name", "x", "--user", "no-such-user")
    assert r.rc == 1 and "unknown user 'no-such-user'" in r.err


def _proc_groups(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(l for l in status.splitlines() if l.startswith("Groups:"))
    return sorted(int(g) for g in line.split()[1:])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_user_gets_supplementary_groups(corral):
    """An app run as another user has that user's supplementary groups,
    as a login gives them (by name, or as --uid/--gid numbers), not an
    empty list; its exec health check runs with the same groups."""
    user = next((pw for pw in pwd.getpwall() if pw.pw_uid != 0 and any(
        pw.pw_name in g.gr_mem and g.gr_gid != pw.pw_gid
        for g in grp.getgrall())), None)
    if user is None:
        pytest.skip("no user with a supplementary group")
    want = sorted(set(os.getgrouplist(user.pw_name, user.pw_gid)))
    assert len(want) >= 2
    corral.ok("start", "/bin/sleep", "--name", "byname", "--user",
              user.pw_name, "--cwd", "/", "--", "300")
    corral.ok("start", "/bin/sleep", "--name", "bynum", "--uid",
              str(user.pw_uid), "--gid", str(user.pw_gid), "--cwd", "/",
              "--", "300")
    for name in ("byname", "bynum"):
        pid = corral.wait_state(name, "online")[0]["pid"]
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "sleep"
        status = Path(f"/proc/{pid}/status").read_text()
        uids = next(l for l in status.splitlines()
                    if l.startswith("Uid:")).split()[1:]
        assert uids == [str(user.pw_uid)] * 4
        assert _proc_groups(pid) == want, name
    corral.ok("delete", "all")


# --- corrald under systemd: sd_notify and socket activation ------------------

def _daemon(corral, args, env, **kw):
    e = dict(corral.env)
    e.update(env)
    return subprocess.Popen([str(CORRAL_BIN.parent / "corrald"), *args],
                            env=e, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)


def test_engine_loads_libsystemd_and_microhttpd_only_when_asked(corral):
    """corrald links neither library (with what they pull in they cost an
    engine about 3.8 MiB): an engine with no --metrics, no journal sink
    and no systemd around maps neither; the features that need them load
    them (their own tests)."""
    out = subprocess.run(["ldd", str(CORRAL_BIN.parent / "corrald")],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    assert "libuv.so" in out, out
    assert "libsystemd.so" not in out and "libmicrohttpd.so" not in out, out
    corral.ok("ping")
    maps = Path("/proc/%d/maps" % corral.daemon_pid()).read_text()
    assert "libuv.so" in maps
    assert "libsystemd.so" not in maps and "libmicrohttpd.so" not in maps


def test_sd_notify(corral, tmp_path):
    import socket
    sleeper(corral)
    corral.ok("start", "sleeper.sh", "--name", "boot")
    corral.wait_state("boot", "online")
    corral.ok("save")
    corral.ok("kill")
    wait_for(lambda: corral.daemons() == [], what="daemon gone")

    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    msgs = []

    def until(pred, what):
        # the watchdog's pings never let recv() time out: a deadline
        deadline = time.monotonic() + 20
        while not any(pred(m) for m in msgs):
            if time.monotonic() > deadline:
                pytest.fail(f"no {what}; got {msgs[-20:]}")
            try:
                msgs.append(sock.recv(4096).decode())
            except socket.timeout:
                pytest.fail(f"no {what}; got {msgs[-20:]}")

    d = _daemon(corral, ["--foreground", "--resurrect"],
                {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    try:
        # one datagram may carry several lines (READY=1 and a STATUS=)
        until(lambda m: "READY=1" in m.split("\n"), "READY=1")
        assert corral.app("boot"), "READY=1 before the saved apps exist"
        until(lambda m: "WATCHDOG=1" in m.split("\n"), "WATCHDOG=1")
        until(lambda m: any(x.startswith("STATUS=1 app, 1/1 instance online")
                            for x in m.split("\n")),
              "STATUS with the app online")
        inst = corral.wait_state("boot", "online")[0]
        env = proc_environ(inst["pid"])
        # systemd's variables stay with the daemon; NOTIFY_SOCKET, if
        # any, is corral's own socket for the app's readiness.
        for var in ("WATCHDOG_USEC", "WATCHDOG_PID"):
            assert var not in env, var
        assert env.get("NOTIFY_SOCKET") != path
        msgs.clear()
        until(lambda m: "WATCHDOG=1" in m.split("\n"),
              "a second WATCHDOG=1")
        d.terminate()
        until(lambda m: "STOPPING=1" in m.split("\n"), "STOPPING=1")
        assert d.wait(timeout=30) == 0
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        sock.close()


def test_socket_activation(corral, tmp_path):
    import socket
    os.chmod(corral.home, 0o700)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(corral.sock)
    lsock.listen(16)
    ino = os.stat(corral.sock).st_ino
    fd = lsock.fileno()

    def child():
        os.dup2(fd, 3)

    e = dict(corral.env, LISTEN_FDS="1")
    d = subprocess.Popen(["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" --foreground',
                          str(CORRAL_BIN.parent / "corrald")],
                         env=e, preexec_fn=child, pass_fds=(3,),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(tmp_path / "err", "w"))
    try:
        lsock.close()
        wait_for(lambda: "passed by systemd (fd 3)" in
                 (tmp_path / "err").read_text(),
                 what="the daemon taking the passed socket")
        corral.ok("ping")
        # the keeper (d) runs the engine that serves the passed socket
        engines = corral.daemons()
        assert len(engines) == 1 and proc_stat(engines[0])[1] == d.pid
        assert os.stat(corral.sock).st_ino == ino
        d.terminate()
        assert d.wait(timeout=30) == 0
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
