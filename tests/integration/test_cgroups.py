# SPDX-License-Identifier: ISC
"""Limits and accounting through cgroups, with the real daemon and CLI.

Runs on whatever this machine has: cgroup v1 (hybrid) on the development
hosts, cgroup v2 when tests/vm/cgroup.sh runs this file in the VM harness.
Tests that need cgroups skip (saying why) without root or without cgroup
access; the fallback test forces "no access" with CORRAL_CGROUP=off.  Every
test checks at the end that the daemon's cgroups are gone.
"""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import daemon_fd_targets, pid_alive, wait_for

HOG = """\
    #!/usr/bin/python3
    import time
    chunks = []
    for i in range(400):
        chunks.append(bytearray(1 << 20))
        time.sleep(0.002)
    time.sleep(1000)
    """

HOG_LATER = """\
    #!/usr/bin/python3
    import os, sys, time
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.02)
    chunks = []
    for i in range(400):
        chunks.append(bytearray(1 << 20))
        time.sleep(0.002)
    time.sleep(1000)
    """

GROWER = """\
    #!/usr/bin/python3
    import time
    chunks = []
    while True:
        chunks.append(bytearray(4 << 20))
        time.sleep(0.05)
        if len(chunks) > 100:
            time.sleep(1000)
    """

# The child's 40 MiB are well above what the main process alone counts
# (about 10 MiB), and few enough pages for a UML guest, where a page fault
# can cost a millisecond.
CHILD_MIB = 40
CHILD_FLOOR = (CHILD_MIB - 4) << 20
CHILD_ALLOC = f"""\
    #!/usr/bin/python3
    import os, time
    if os.fork() == 0:
        b = bytearray({CHILD_MIB} << 20)
        open("child-ready", "w").close()
        time.sleep(1000)
        os._exit(0)
    time.sleep(1000)
    """

ESCAPE = """\
    #!/usr/bin/python3
    import os, sys, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open("escaped.pid.tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename("escaped.pid.tmp", "escaped.pid")
            time.sleep(1000)
        os._exit(0)
    time.sleep(1000)
    """

CHILD_HOG = """\
    #!/usr/bin/python3
    import os, time
    pid = os.fork()
    if pid == 0:
        chunks = []
        for i in range(400):
            chunks.append(bytearray(b"x" * (1 << 20)))
            time.sleep(0.002)
        time.sleep(1000)
        os._exit(0)
    os.waitpid(pid, 0)
    time.sleep(1000)
    """

# Runs out of memory in its first two runs only (it counts them in a file
# beside itself), then lives.
HOG_TWICE = """\
    #!/usr/bin/python3
    import os, time
    runs = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "hog-runs")
    with open(runs, "a") as f:
        f.write("x")
    if os.path.getsize(runs) <= 2:
        chunks = []
        for i in range(400):
            chunks.append(bytearray(1 << 20))
            time.sleep(0.002)
    time.sleep(1000)
    """

FORKER = """\
    #!/usr/bin/python3
    import os, sys, time
    ok = failed = 0
    for i in range(30):
        try:
            if os.fork() == 0:
                time.sleep(1000)
                os._exit(0)
            ok += 1
        except OSError as e:
            failed += 1
            err = e
    print(f"forked {ok} failed {failed}: {err if failed else ''}", flush=True)
    time.sleep(1000)
    """


def info_tops(text):
    """The top cgroup directories `corral doctor` lists."""
    return [line.split()[-1] for line in text.splitlines()
            if line.startswith("  /") or re.match(r"^  [a-z,]+ /", line)]


class CG:
    """The corral fixture plus what the daemon says about cgroups."""

    def __init__(self, corral):
        self.c = corral
        self.info = corral.ok("doctor")
        self.tops = info_tops(self.info)
        m = re.search(r"^cgroups: (\S+)", self.info, re.M)
        self.backend = m.group(1) if m else "none"

    def need_cgroups(self):
        if self.backend == "none":
            note = re.search(r"^note: (.*)$", self.info, re.M)
            pytest.skip("no cgroup access here: " +
                        (note.group(1) if note else self.info))

    def describe(self, name):
        out = self.c.ok("describe", name, "--json")
        return json.loads(out)[0]

    def cgroup(self, name, index=0):
        for inst in self.describe(name)["instances"]:
            if inst["instance"] == index:
                return inst["cgroup"]
        raise KeyError(index)

    def wait_online(self, name, count=1):
        return self.c.wait_state(name, "online", count)

    def grandchild(self, name, script, body, pidfile, *args):
        """Starts app name from script (body, args after the name), waits
        until it is online and its grandchild has written its pid to
        pidfile: that pid, remembered (teardown checks it is gone)."""
        c = self.c
        c.script(script, body)
        c.ok("start", script, "--name", name, *args)
        self.wait_online(name)
        path = c.appdir / pidfile
        wait_for(path.exists, what="the grandchild's pid")
        gc = int(path.read_text())
        c.remember(gc)
        return gc

    def finish(self):
        """Stops the daemon, then every cgroup it made must be gone."""
        if self.c.daemon_pid():
            try:
                self.c.jlist()
            except BaseException:
                pass
            self.c.run("kill")
        left = lambda: [t for t in self.tops if os.path.exists(t)]
        end = time.monotonic() + 20
        while left() and time.monotonic() < end:
            time.sleep(0.1)
        assert not left(), f"cgroups left behind: {left()}"


@pytest.fixture
def cg(corral):
    c = CG(corral)
    yield c
    c.finish()


@pytest.fixture
def cg_off(corral):
    corral.env["CORRAL_CGROUP"] = "off"
    c = CG(corral)
    yield c
    c.finish()


def test_info_names_the_backend(cg):
    assert re.search(r"^cgroups: (v1|v2|none)", cg.info, re.M), cg.info
    assert re.search(r"^stop: ", cg.info, re.M)
    if cg.backend != "none":
        assert cg.tops, cg.info
        missing = [t for t in cg.tops if not os.path.isdir(t)]
        assert not missing, (missing, cg.info, cg.c.daemon_log())
        # The keeper went wherever the engine went (a leaf, a scope of
        # systemd's): the engines it starts later find the same tops.
        keeper = cg.c.keeper_pid()
        engine = cg.c.daemon_pid()
        with open(f"/proc/{keeper}/cgroup") as a, \
                open(f"/proc/{engine}/cgroup") as b:
            assert a.read() == b.read(), cg.c.daemon_log()
    # the count of open descriptors moves (a state write, a connection)
    def steady(text):
        return re.sub(r"\d+ open,", "N open,", text)
    assert steady(cg.c.ok("doctor")) == steady(cg.info)


def test_oom_kill_is_reported_and_restarted(cg):
    cg.need_cgroups()
    c = cg.c
    c.script("hog.py", HOG)
    c.ok("start", "hog.py", "--name", "hog", "--max-memory", "50M",
         "--restart-delay", "4s")

    # Nobody looks (no jlist, monit or scrape) until the daemon logged the
    # kill: the kill is seen without anyone asking for a sample.
    wait_for(lambda: "was killed by the OOM killer" in c.daemon_log(),
             what="the OOM kill in the daemon's log")
    inst = c.app("hog")[0]
    assert "OOM" in inst["reason"], inst
    assert inst["exit_signal"] == 9
    assert inst["oom_kills"] >= 1
    wait_for(lambda: c.app("hog")[0]["restarts"] >= 1, what="a restart")
    d = cg.cgroup("hog")
    assert d["oom_kills"] >= 1
    assert d["limits"]["max_memory"] == 50 << 20
    assert "was killed by the OOM killer" in c.daemon_log()
    text = c.ok("describe", "hog")
    assert "oom_kills" in text and "max_memory" in text


def test_oom_kill_after_an_engine_kill_is_reported(cg):
    """An engine killed -9: the next one adopts the process with its
    cgroup's OOM count and its OOM watch, and reports a kill after it
    once, counted as its cgroup counts it, as the first engine would."""
    cg.need_cgroups()
    c = cg.c
    go = c.appdir / "go"
    c.script("hoglater.py", HOG_LATER)
    c.ok("start", "hoglater.py", "--name", "hogl", "--max-memory", "50M",
         "--restart-delay", "1h", "--", go)
    cg.wait_online("hogl")
    first = json.loads(c.ok("engine", "--json"))["pid"]
    os.kill(first, signal.SIGKILL)

    def next_engine():
        r = c.run("engine", "--json")
        return r.rc == 0 and json.loads(r.out)["pid"] != first
    wait_for(next_engine, what="the next engine")
    assert "hogl[0] id 0: online, taken over" in c.daemon_log()
    # the cgroup is kept for the slot's next process: read after the kill
    paths = cg.cgroup("hogl")["paths"]
    go.touch()
    wait_for(lambda: "was killed by the OOM killer" in c.daemon_log(),
             what="the OOM kill in the next engine's log")
    assert "OOM" in c.app("hogl")[0]["reason"]
    assert c.daemon_log().count("was killed by the OOM killer") == 1
    # the kernel's count: 1 on v1; 2 on v2, where memory.oom.group kills
    # (and counts) the chosen process a second time with its group
    kernel = kernel_oom_kills(paths)
    assert kernel is not None and kernel >= 1, paths
    wait_for(lambda: c.app("hogl")[0]["oom_kills"] ==
             kernel_oom_kills(paths),
             what="the instance's OOM kills equal to its cgroup's")


def test_oom_kill_of_a_child_is_counted_as_it_happens(cg):
    cg.need_cgroups()
    c = cg.c
    c.script("childhog.py", CHILD_HOG)
    c.ok("start", "childhog.py", "--name", "chog", "--max-memory", "50M")
    [inst] = cg.wait_online("chog")
    # jlist shows the count the kernel's event brought: nothing reads the
    # cgroup's count for a listing.
    wait_for(lambda: c.app("chog")[0]["oom_kills"] >= 1,
             what="the child's OOM kill in jlist")
    assert "the OOM killer killed" in c.daemon_log()
    now = c.app("chog")[0]
    if cg.backend == "v1":
        # The main process lives on: only the child was killed.
        assert now["pid"] == inst["pid"] and now["restarts"] == 0, now
        assert now["state"] == "online", now
        assert cg.cgroup("chog")["oom_kills"] == 1
        # The next process of the slot runs in the kept cgroup, watched
        # by the watch kept with it: its child's kill is seen at once too.
        c.ok("restart", "chog")
        wait_for(lambda: c.app("chog")[0]["oom_kills"] >= 2,
                 what="the second child's OOM kill in jlist")
        now = c.app("chog")[0]
        assert now["restarts"] == 1 and now["state"] == "online", now
        assert now["oom_kills"] == 2, now
    else:
        # v2 (memory.oom.group): the kill takes the whole instance.
        wait_for(lambda: c.app("chog")[0]["restarts"] >= 1,
                 what="a restart")


def kernel_oom_kills(paths):
    """The cgroup's own count of OOM kills (v1 memory.oom_control, v2
    memory.events), from whichever of its directories has it."""
    for d in paths:
        for name in ("memory.oom_control", "memory.events"):
            try:
                text = Path(d, name).read_text()
            except OSError:
                continue
            m = re.search(r"^oom_kill (\d+)$", text, re.M)
            if m:
                return int(m.group(1))
    return None


def test_oom_kills_in_a_kept_cgroup_are_counted_once_each(cg):
    cg.need_cgroups()
    c = cg.c
    c.script("hog2.py", HOG_TWICE)
    c.ok("start", "hog2.py", "--name", "hog2", "--max-memory", "50M")
    wait_for(lambda: c.app("hog2")[0]["restarts"] == 2 and
             c.app("hog2")[0]["state"] == "online",
             what="two OOM kills, then a run that lives")
    assert c.daemon_log().count("was killed by the OOM killer") == 2
    # Runs 2 and 3 use the cgroup the first left, whose kernel count
    # holds every kill of the three: each run counts from the count the
    # last exit read, so the instance's total is the kernel's (counting
    # from 0 again would count the first run's kills twice).
    paths = cg.cgroup("hog2")["paths"]
    kernel = kernel_oom_kills(paths)
    assert kernel is not None and kernel >= 2, paths
    wait_for(lambda: c.app("hog2")[0]["oom_kills"] ==
             kernel_oom_kills(paths),
             what="the instance's OOM kills equal to its cgroup's")


def daemon_fds(corral):
    """The daemon's descriptors but libuv's inotify descriptor, made at
    the first watch and kept for the loop's life."""
    return [f for f in daemon_fd_targets(corral) if "inotify" not in f]


def test_oom_watches_and_stat_files_leave_no_descriptor(cg):
    cg.need_cgroups()
    c = cg.c
    # The daemon-wide descriptors made with the first app (the log pipes'
    # epoll set, private pipe and /dev/null) stay: count after one.
    c.ok("start", "/bin/sleep", "--name", "warm", "--", "1000")
    cg.wait_online("warm", 1)
    c.ok("delete", "warm")
    # warm's OOM watch was closed before that answer, its descriptor at
    # the end of that loop turn: a later request sees it gone.
    c.ok("ping")
    before = daemon_fds(c)
    evfds = sum("eventfd" in f for f in before)

    def stats():
        return [f for f in daemon_fds(c) if "/fdw.app/" in f and
                re.search(r"/(memory\.(usage_in_bytes|current)|cpu\.stat|"
                          r"cpuacct\.usage)$", f)]
    # start answers once its instances run, with their list: one look,
    # and the only one (a second look more than LIMITS_FRESH_MS later
    # samples again, and rightly holds the files: a slow guest would).
    c.ok("start", "/bin/sleep", "--name", "fdw", "-i", "3",
         "--max-memory", "64M", "--", "1000")
    assert stats() == [], "one look holds no file"
    cg.wait_online("fdw", 3)
    # Instances sampled again (someone keeps looking) hold their files.
    wait_for(lambda: c.jlist() and len(stats()) >= 6,
             what="stat files held open")
    fds = daemon_fds(c)
    if cg.backend == "v1":
        assert sum("eventfd" in f for f in fds) >= evfds + 3, fds
    else:
        # One inotify descriptor for every watch of the daemon.
        inotify = [f for f in daemon_fd_targets(c) if "inotify" in f]
        assert len(inotify) == 1, inotify
    c.ok("delete", "fdw")
    wait_for(lambda: len(daemon_fds(c)) <= len(before),
             what=f"the daemon back to {len(before)} descriptors")
    left = daemon_fds(c)
    assert not [f for f in left if "fdw.app" in f], left
    assert sum("eventfd" in f for f in left) == evfds, left


def test_cpu_quota_holds_a_busy_loop(cg):
    cg.need_cgroups()
    c = cg.c
    c.ok("start", "/bin/sh", "--name", "spin", "--cpu", "20%", "--",
         "-c", "while :; do :; done")
    cg.wait_online("spin")
    time.sleep(0.5)
    u0, t0 = cg.cgroup("spin")["usage"]["cpu_usec"], time.monotonic()
    time.sleep(4)
    u1, t1 = cg.cgroup("spin")["usage"]["cpu_usec"], time.monotonic()
    share = (u1 - u0) / 1e6 / (t1 - t0)
    assert 0.01 < share <= 0.30, f"busy loop used {share:.0%} of a core"
    assert c.app("spin")[0]["cpu"] <= 30


def test_fork_bomb_stays_under_max_pids(cg):
    cg.need_cgroups()
    c = cg.c
    c.script("forker.py", FORKER)
    c.ok("start", "forker.py", "--name", "bomb", "--max-pids", "10")
    line = wait_for(lambda: re.search(r"forked (\d+) failed (\d+)",
                                      c.logfile("bomb").read_text()),
                    what="the forker's summary")
    ok, failed = int(line.group(1)), int(line.group(2))
    assert ok <= 9 and failed >= 21, line.group(0)
    d = cg.cgroup("bomb")
    assert d["limits"]["max_pids"] == 10
    assert 1 < d["usage"]["pids"] <= 10


def test_stop_kills_a_setsid_double_forked_grandchild(cg):
    cg.need_cgroups()
    c = cg.c
    gc = cg.grandchild("esc", "escape.py", ESCAPE, "escaped.pid")
    main = c.app("esc")[0]["pid"]
    assert os.getsid(gc) != os.getsid(main)
    assert os.getpgid(gc) != main
    c.ok("stop", "esc")
    wait_for(lambda: not pid_alive(gc), what=f"grandchild {gc} to die")


def test_memory_counts_a_child_process(cg):
    cg.need_cgroups()
    c = cg.c
    c.script("kids.py", CHILD_ALLOC)
    c.ok("start", "kids.py", "--name", "kids")
    wait_for((c.appdir / "child-ready").exists, what="the child's allocation")
    mem = wait_for(lambda: c.app("kids")[0]["memory"] >= CHILD_FLOOR and
                   c.app("kids")[0]["memory"],
                   what="memory with the child's allocation")
    assert mem >= CHILD_FLOOR


def test_max_memory_restart_replaces_the_instance(cg):
    c = cg.c
    c.script("grow.py", GROWER)
    c.ok("start", "grow.py", "--name", "grow", "--max-memory-restart", "60M")
    first = cg.wait_online("grow")[0]["pid"]
    # Nobody looks until the daemon acted: the rule samples by itself.
    wait_for(lambda: "passed max_memory_restart" in c.daemon_log(),
             what="the replacement in the daemon's log")
    wait_for(lambda: c.app("grow")[0]["pid"] not in (0, first) and
             c.app("grow")[0]["restarts"] >= 1, what="a replacement")


def test_set_changes_limits_of_a_running_instance(cg):
    cg.need_cgroups()
    c = cg.c
    c.ok("start", "/bin/sleep", "--name", "nap", "--max-memory", "100M",
         "--", "1000")
    pid = cg.wait_online("nap")[0]["pid"]
    assert cg.cgroup("nap")["limits"]["max_memory"] == 100 << 20
    out = c.ok("set", "nap", "max_memory", "64M")
    assert "applied" in out
    c.ok("set", "nap", "cpu", "1.5")
    d = cg.cgroup("nap")
    assert d["limits"]["max_memory"] == 64 << 20
    assert d["limits"]["cpu"] == 1.5
    path = Path(d["path"])
    f = path / ("memory.max" if cg.backend == "v2" else
                "memory.limit_in_bytes")
    assert int(f.read_text()) == 64 << 20
    assert c.app("nap")[0]["pid"] == pid
    assert c.app("nap")[0]["restarts"] == 0
    r = c.run("set", "nap", "max_memory", "lots")
    assert r.rc != 0 and "max_memory" in r.err
    assert cg.cgroup("nap")["limits"]["max_memory"] == 64 << 20
    cfg = cg.describe("nap")["app"]
    assert cfg["max_memory"] == 64 << 20


def test_without_cgroups_group_kill_proc_accounting(cg_off):
    c = cg_off.c
    assert cg_off.backend == "none"
    assert "CORRAL_CGROUP=off" in cg_off.info
    assert "not enforced" in cg_off.info
    c.script("kids.py", CHILD_ALLOC)
    c.ok("start", "kids.py", "--name", "kids", "--max-memory", "500M")
    wait_for((c.appdir / "child-ready").exists, what="the child's allocation")
    wait_for(lambda: c.app("kids")[0]["memory"] >= CHILD_FLOOR,
             what="memory of the process group from /proc")
    assert cg_off.cgroup("kids")["path"] is None
    assert "limits are not enforced" in c.daemon_log()
    c.ok("stop", "kids")
    c.script("grow.py", GROWER)
    c.ok("start", "grow.py", "--name", "grow", "--max-memory-restart", "60M")
    first = cg_off.wait_online("grow")[0]["pid"]
    wait_for(lambda: c.app("grow")[0]["pid"] not in (0, first) and
             c.app("grow")[0]["restarts"] >= 1, what="a replacement by polling")


def test_unprivileged_user_without_delegation_falls_back():
    """A real lack of access, not CORRAL_CGROUP=off: the daemon of a user
    who may write no cgroup (and gets no systemd scope) still runs apps,
    kills them by process group and accounts from /proc."""
    import pwd
    import subprocess
    import tempfile
    from conftest import CORRAL_BIN, procs_with_home
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody'")
    home = tempfile.mkdtemp(prefix="corral-nobody.")
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    appdir = Path(home) / "app"
    appdir.mkdir()
    (appdir / "kids.py").write_text(CHILD_ALLOC.replace("\n    ", "\n").lstrip())
    (appdir / "kids.py").chmod(0o755)
    os.chown(appdir, nobody.pw_uid, nobody.pw_gid)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "CORRAL_HOME": home}

    def as_nobody():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    def run(*args):
        p = subprocess.run([str(CORRAL_BIN), *args], env=env,
                           cwd=str(appdir), timeout=60, preexec_fn=as_nobody,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        assert p.returncode == 0, f"corral {args}: {p.returncode} {p.stderr}"
        return p.stdout
    try:
        info = run("doctor")
        assert re.search(r"^cgroups: none", info, re.M), info
        assert re.search(r"^note: .+", info, re.M), info
        run("start", "kids.py", "--name", "kids", "--max-memory", "500M")
        wait_for((appdir / "child-ready").exists, what="the child's allocation")
        inst = wait_for(lambda: [i for i in json.loads(run("jlist"))
                                 if i["memory"] >= CHILD_FLOOR],
                        what="memory of the process group from /proc")[0]
        assert inst["state"] == "online"
        run("stop", "kids")
        wait_for(lambda: not pid_alive(inst["pid"]), what="the app to stop")
    finally:
        subprocess.run([str(CORRAL_BIN), "kill"], env=env, timeout=60,
                       preexec_fn=as_nobody, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        end = time.monotonic() + 15
        while procs_with_home(home) and time.monotonic() < end:
            time.sleep(0.1)
        left = procs_with_home(home)
        for pid in left:
            os.kill(pid, 9)
        import shutil
        shutil.rmtree(home, ignore_errors=True)
        assert not left, f"processes left behind: {left}"


def test_app_run_as_another_user_is_moved_into_its_cgroup(cg):
    """The app's user cannot leave the daemon's cgroup by itself: the
    daemon moves corral-exec, which waits for that before the app runs."""
    cg.need_cgroups()
    if os.geteuid() != 0:
        pytest.skip("needs root to run an app as another user")
    c = cg.c
    c.ok("start", "/bin/sleep", "--name", "who", "--user", "nobody",
         "--max-memory", "64M", "--", "1000")
    inst = cg.wait_online("who")[0]
    path = cg.cgroup("who")["path"]
    assert path.endswith("/who.app/0"), path
    mine = Path(f"/proc/{inst['pid']}/cgroup").read_text()
    assert "/who.app/0\n" in mine, mine
    assert os.stat(f"/proc/{inst['pid']}").st_uid != 0
    assert Path(f"/proc/{inst['pid']}/comm").read_text().strip() == "sleep"
    c.ok("stop", "who")


GROWING_SERVER = """\
    #!/usr/bin/python3
    # Binds $PORT itself (the preload library hands it the daemon's socket),
    # answers with its pid; the first process only (the one that makes the
    # file "grown") grows by 4 MiB every 50 ms up to 120 MiB, so that its
    # replacement stays (on a slow machine a growing replacement passed the
    # limit before anyone saw it alone).
    import http.server, os, threading, time
    chunks = []
    def grow():
        try:
            os.close(os.open("grown", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        while len(chunks) < 30:
            chunks.append(bytearray(4 << 20))
            time.sleep(0.05)
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = str(os.getpid()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    srv = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H)
    threading.Thread(target=grow, daemon=True).start()
    srv.serve_forever()
    """


def test_max_memory_restart_with_sockets_starts_the_replacement_first(cg):
    import socket
    c = cg.c
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c.script("grow-srv.py", GROWING_SERVER)
    c.ok("start", "grow-srv.py", "--name", "gs", "--listen",
         f"127.0.0.1:{port}", "--max-memory-restart", "60M")
    first = cg.wait_online("gs")[0]
    log = wait_for(lambda: re.search(
        r"gs\[0\]: reload: id (\d+) ready, stopping id %d" % first["id"],
        c.daemon_log()), what="the replacement ready before the old stops")
    text = c.daemon_log()
    assert text.index("passed max_memory_restart") < \
        text.index("reload: replacing id %d" % first["id"]) < log.start()
    wait_for(lambda: c.app("gs") and c.app("gs")[0]["pid"] != first["pid"]
             and c.app("gs")[0]["state"] == "online" and
             len(c.app("gs")) == 1, what="one instance, a new process")
    assert not pid_alive(first["pid"])


def test_daemons_touch_only_their_own_cgroups(corral, tmp_path):
    """A starting daemon sweeps what dead daemons left, never a live one's
    cgroups: not even an empty instance cgroup made for a process that has
    not joined it yet.  (Private names: daemons of older versions on this
    host swept every empty corral.* top.)"""
    import shutil
    import tempfile
    from conftest import Corral
    tag = f"cgxtest.{os.getpid()}"
    corral.env["CORRAL_CGROUP_NAME"] = f"{tag}-a"
    a = CG(corral)
    b_home = tempfile.mkdtemp(prefix="corral-t.")
    (tmp_path / "b").mkdir()
    b = Corral(b_home, tmp_path / "b")
    b.env["CORRAL_CGROUP_NAME"] = f"{tag}-b"
    made, dead = [], []
    try:
        a.need_cgroups()
        corral.ok("start", "/bin/sleep", "--name", "nap", "--", "1000")
        a.wait_online("nap")
        for top in a.tops:
            made.append(os.path.join(top, "nap.app", "7"))
            os.mkdir(made[-1])
            dead.append(os.path.join(os.path.dirname(top), f"{tag}-dead"))
            os.makedirs(os.path.join(dead[-1], "app", "0"))
        info = b.ok("doctor")
        assert re.search(r"^cgroups: v", info, re.M), info
        assert all(os.path.isdir(d) for d in made), b.daemon_log()
        # Under systemd each daemon may get a scope of its own: then b's
        # cgroups have another parent than a's and neither sweeps nor
        # locks the other's; the sweep and the lock are checked where the
        # two daemons share a parent.
        shared = {os.path.dirname(t) for t in info_tops(info)} == \
            {os.path.dirname(t) for t in a.tops}
        if shared:
            assert not [d for d in dead if os.path.exists(d)], b.daemon_log()
            assert "left empty by a daemon that is gone" in b.daemon_log()
            # The same name for a third home: refused while a lives.
            b.run("kill")
            b.env["CORRAL_CGROUP_NAME"] = f"{tag}-a"
            info = b.ok("doctor")
            assert re.search(r"^cgroups: none", info, re.M), info
            assert "locked by another live daemon" in info, info
        # a still spawns into its own cgroups.
        corral.ok("restart", "nap")
        pid = a.wait_online("nap")[0]["pid"]
        assert "/nap.app/0\n" in Path(f"/proc/{pid}/cgroup").read_text()
    finally:
        problems = b.teardown()
        shutil.rmtree(b_home, ignore_errors=True)
        for d in made + [os.path.join(d, "app", "0") for d in dead] + \
                [os.path.join(d, "app") for d in dead] + dead:
            try:
                os.rmdir(d)
            except OSError:
                pass
        a.finish()
    assert not problems, problems


def _rmdir(d):
    try:
        os.rmdir(d)
        return True
    except OSError:
        return False


def test_an_instance_never_runs_outside_its_cgroup(cg):
    """A cgroup that cannot be made is a failed start with its reason, not
    an app running without limits."""
    cg.need_cgroups()
    c = cg.c
    sleepers = []
    try:
        # Every generation of the instance's cgroup is busy.
        for top in cg.tops:
            os.makedirs(os.path.join(top, "busy.app"), exist_ok=True)
        for gen in [""] + [f".{n}" for n in range(1, 8)]:
            p = subprocess.Popen(["/bin/sleep", "1000"])
            sleepers.append(p)
            for top in cg.tops:
                d = os.path.join(top, "busy.app", "0" + gen)
                os.makedirs(d, exist_ok=True)
                try:
                    Path(d, "cgroup.procs").write_text(str(p.pid))
                except PermissionError:
                    # An unprivileged user may not move a process of its
                    # own cgroup into the daemon's delegated scope.
                    pytest.skip("cannot move a process into the daemon's "
                                "cgroups as this user")
        c.run("start", "/bin/sleep", "--name", "busy",
                  "--max-restarts", "1", "--", "1000")
        inst = wait_for(lambda: c.app("busy") and
                        c.app("busy")[0]["state"] == "errored" and
                        c.app("busy")[0], what="busy errored")
        assert "no cgroup" in inst["reason"] and "busy" in inst["reason"], inst
        assert inst["pid"] == 0
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
        for top in cg.tops:
            for gen in [f".{n}" for n in range(1, 8)] + [""]:
                d = os.path.join(top, "busy.app", "0" + gen)
                wait_for(lambda: not os.path.exists(d) or _rmdir(d),
                         what=f"rmdir {d}")
            _rmdir(os.path.join(top, "busy.app"))
