# SPDX-License-Identifier: ISC
"""Cluster mode: sockets held by the daemon, readiness, rolling reload and
scale, driven through the real CLI against real servers on 127.0.0.1.

Every test runs its own daemon in a private CORRAL_HOME and leaves no
process behind. Nothing is timed: tests wait for conditions with generous
deadlines, and load is a bounded number of client threads.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BUILD, CORRAL_BIN, TOP
from conftest import wait_for as conftest_wait_for

ROOT = str(TOP)
PYTHON = "/usr/bin/python3"
NODE = shutil.which("node") or shutil.which("nodejs")
HELLO_C = str(BUILD / "examples" / "corral-hello-c")
DEADLINE = 60.0


def wait_for(what, cond, deadline=DEADLINE):
    return conftest_wait_for(cond, deadline, what=what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] not in "ZX"
    except OSError:
        return False


class Cl:
    """The shared `corral` fixture (private CORRAL_HOME, leak and sanitizer
    checks at teardown) with the few calls these tests make."""

    def __init__(self, corral):
        self.c = corral
        self.home = corral.home
        self.env = corral.env

    def run(self, *args, check=True, timeout=120, prefix=(),
            preexec_fn=None):
        if not prefix and preexec_fn is None:
            r = self.c.run(*args, timeout=timeout)
            rc, out, err = r.rc, r.out, r.err
        else:
            p = subprocess.run(list(prefix) + [str(CORRAL_BIN)] + list(args),
                               env=self.env, capture_output=True, text=True,
                               timeout=timeout, preexec_fn=preexec_fn)
            self.c.daemon_pid()
            rc, out, err = p.returncode, p.stdout, p.stderr
        if check and rc != 0:
            raise AssertionError("corral %s: rc %d\n%s%s" % (
                " ".join(args), rc, out, err))
        return subprocess.CompletedProcess(args, rc, out, err)

    def popen(self, *args):
        return subprocess.Popen([str(CORRAL_BIN)] + list(args), env=self.env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def jlist(self):
        return self.c.jlist()

    def online_pids(self, name):
        return sorted(i["pid"] for i in self.jlist()
                      if i["name"] == name and i["state"] == "online")

    def shutdown(self):
        """Stops the daemon now (the fixture's teardown then has nothing
        left to do but its checks)."""
        dpid = self.c.daemon_pid()
        if dpid is None:
            return
        self.jlist()
        self.run("kill")
        wait_for("the daemon to exit", lambda: not pid_alive(dpid))


@pytest.fixture
def cl(corral):
    return Cl(corral)


def get(port, timeout=15):
    """One request on a new connection; returns the body."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", "/", headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read().decode()
        if r.status != 200:
            raise AssertionError("status %d" % r.status)
        return body
    finally:
        c.close()


def pid_of(body):
    return int(body.split("pid ")[1].split()[0])


class Load:
    """Clients making requests on new connections until stopped; every
    answer that is not 200 and every socket error counts. With pids, the
    answers are "... pid N ..." and the pids are collected."""

    def __init__(self, port, clients=6, pids=True):
        self.port = port
        self.parse = pid_of if pids else (lambda body: None)
        self.stop = threading.Event()
        self.ok = 0
        self.errors = []
        self.pids = set()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client)
                        for _ in range(clients)]

    def client(self):
        while not self.stop.is_set():
            try:
                pid = self.parse(get(self.port))
                with self.lock:
                    self.ok += 1
                    self.pids.add(pid)
            except Exception as e:  # every failure counts
                with self.lock:
                    self.errors.append(repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        wait_for("the load to get answers", lambda: self.ok >= 20)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


APPS = {
    "node": lambda port: ([os.path.join(ROOT, "examples/node/app.js")], []),
    "python": lambda port: ([os.path.join(ROOT, "examples/python/app.py"),
                             "--interpreter", PYTHON], []),
    "c": lambda port: ([HELLO_C, "--ready", "notify"], []),
}


def need(app):
    if app == "node" and NODE is None:
        pytest.skip("node is not installed")
    if app == "c" and not os.path.exists(HELLO_C):
        pytest.skip("the C example was not built (no libsystemd)")


def start_example(cl, app, port, n=2, extra=()):
    need(app)
    args, _ = APPS[app](port)
    cl.run("start", args[0], "--name", app, "-i", str(n),
           "--listen", "127.0.0.1:%d" % port, *args[1:], *extra)
    wait_for("%d %s instances online" % (n, app),
             lambda: len(cl.online_pids(app)) == n)


def answering_pids(port, want, tries=None, timeout=DEADLINE):
    """Requests until every pid of want answered, or tries ran out (when
    given), or timeout s passed. One request at a time: on a loaded
    machine the kernel may hand hundreds in a row to the instance that
    accepted last (CI: 400 of 400 to one of two), so a count of tries
    alone proves nothing."""
    seen = set()
    end = time.monotonic() + timeout
    n = 0
    while not want <= seen and time.monotonic() < end and \
            (tries is None or n < tries):
        seen.add(pid_of(get(port)))
        n += 1
    return seen


@pytest.mark.parametrize("app", ["node", "python", "c"])
def test_example_shares_one_port(cl, app):
    port = free_port()
    start_example(cl, app, port)
    pids = set(cl.online_pids(app))
    assert len(pids) == 2
    assert answering_pids(port, pids) == pids


@pytest.mark.parametrize("app", ["node", "python", "c"])
def test_reload_under_load_fails_no_request(cl, app):
    port = free_port()
    start_example(cl, app, port)
    with Load(port) as load:
        for _ in range(5):
            before = set(cl.online_pids(app))
            cl.run("reload", app)
            after = set(cl.online_pids(app))
            assert len(after) == 2 and not (before & after)
            served = load.ok
            wait_for("requests after the reload",
                     lambda: load.ok > served + 10)
    assert load.errors == [], load.errors[:5]
    assert len(load.pids) >= 6     # old and new instances all answered
    ids = sorted(i["id"] for i in cl.jlist())
    assert ids == [0, 1]           # replacements took the old ids


BAD_APP = r"""
import os, socket, sys, time
flag = sys.argv[1]
mode = open(flag).read().strip() if os.path.exists(flag) else "good"
if mode == "exit":
    sys.exit(3)
if mode == "hang":
    time.sleep(3600)
while mode == "wait":               # not ready until the flag says otherwise
    time.sleep(0.05)
    mode = open(flag).read().strip()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\n"
              + ("pid %-15d\n" % os.getpid()).encode())
    c.close()
"""


@pytest.mark.parametrize("mode,why", [
    ("exit", "exited with code 3"),
    ("hang", "not ready after 1s (no listen() seen)"),
])
def test_bad_new_version_aborts_reload(cl, tmp_path, mode, why):
    app = tmp_path / "app.py"
    app.write_text(BAD_APP)
    flag = tmp_path / "flag"
    port = free_port()
    cl.run("start", str(app), "--name", "bad", "-i", "2",
           "--interpreter", PYTHON, "--listen", "127.0.0.1:%d" % port,
           "--listen-timeout", "1s", "--", str(flag))
    wait_for("2 online", lambda: len(cl.online_pids("bad")) == 2)
    old = set(cl.online_pids("bad"))
    flag.write_text(mode)
    with Load(port, clients=3) as load:
        p = cl.run("reload", "bad", check=False)
        assert p.returncode == 1
        assert "reload of 'bad' aborted" in p.stderr
        assert "new instance 0" in p.stderr and why in p.stderr, p.stderr
        assert "2 old instance(s) not replaced keep serving" in p.stderr
        served = load.ok
        wait_for("requests after the failed reload",
                 lambda: load.ok > served + 10)
    assert load.errors == [], load.errors[:5]
    assert load.pids <= old
    # The failed replacement is gone; the old instances are untouched.
    wait_for("only the old instances",
             lambda: sorted(i["pid"] for i in cl.jlist()) == sorted(old))
    assert [i["state"] for i in cl.jlist()] == ["online", "online"]
    assert answering_pids(port, old) == old
    # A good version reloads fine afterwards.
    flag.write_text("good")
    cl.run("reload", "bad")
    assert not set(cl.online_pids("bad")) & old


def test_second_reload_of_one_app_is_refused(cl, tmp_path):
    app = tmp_path / "app.py"
    app.write_text(BAD_APP)
    port = free_port()
    flag = tmp_path / "flag"
    cl.run("start", str(app), "--name", "slow", "-i", "1",
           "--interpreter", PYTHON, "--listen", "127.0.0.1:%d" % port,
           "--listen-timeout", "60s", "--", str(flag))
    wait_for("online", lambda: len(cl.online_pids("slow")) == 1)
    # The reload's new instance is not ready until the flag says so.
    flag.write_text("wait")
    first = cl.popen("reload", "slow")
    try:
        wait_for("the reload to start", lambda: len(cl.jlist()) == 2)
        p = cl.run("reload", "slow", check=False)
        assert p.returncode == 1
        assert "a reload of 'slow' is running already" in p.stderr
        assert first.poll() is None
    finally:
        flag.write_text("good")
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert len(cl.online_pids("slow")) == 1


def test_delete_during_reload(cl, tmp_path):
    app = tmp_path / "app.py"
    app.write_text(BAD_APP)
    port = free_port()
    flag = tmp_path / "flag"
    cl.run("start", str(app), "--name", "gone", "-i", "2",
           "--interpreter", PYTHON, "--listen", "127.0.0.1:%d" % port,
           "--listen-timeout", "60s", "--", str(flag))
    wait_for("online", lambda: len(cl.online_pids("gone")) == 2)
    # The reload's first new instance is never ready: deleted while it waits.
    flag.write_text("wait")
    first = cl.popen("reload", "gone")
    try:
        wait_for("the reload to start", lambda: len(cl.jlist()) == 3)
        cl.run("delete", "gone")
    finally:
        out, err = first.communicate(timeout=120)
    assert first.returncode == 1
    assert "reload of 'gone' aborted: the app was deleted" in err
    wait_for("nothing left", lambda: cl.jlist() == [])
    # The socket went with the app.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_reload_all_and_several_apps(cl):
    need("c")
    p1, p2 = free_port(), free_port()
    for name, port in (("a", p1), ("b", p2)):
        cl.run("start", HELLO_C, "--name", name, "-i", "2", "--ready",
               "notify", "--listen", "127.0.0.1:%d" % port)
    wait_for("4 online", lambda: len(cl.online_pids("a") +
                                      cl.online_pids("b")) == 4)
    before = set(cl.online_pids("a") + cl.online_pids("b"))
    cl.run("reload", "all")
    mid = set(cl.online_pids("a") + cl.online_pids("b"))
    assert len(mid) == 4 and not (before & mid)
    cl.run("reload", "a", "b", "--surge", "2")
    after = set(cl.online_pids("a") + cl.online_pids("b"))
    assert len(after) == 4 and not (mid & after)


def test_default_surge_scales_with_instances_and_cpus(cl, tmp_path, ncpu):
    # No reload_surge: a quarter of the instances, at least 1, at most the
    # CPUs. Readiness is a delay, so every replacement the surge allows is
    # started in the same turn, before the first one can be ready.
    app = tmp_path / "s.py"
    app.write_text("import time\ntime.sleep(3600)\n")
    for name, n in (("big", 8), ("small", 2)):
        cl.run("start", str(app), "--name", name, "--interpreter", PYTHON,
               "-i", str(n), "--ready", "delay:200ms")
    wait_for("10 online", lambda: len(cl.online_pids("big") +
                                       cl.online_pids("small")) == 10)
    cl.run("reload", "big")
    cl.run("reload", "small")
    surge = max(1, min(ncpu, 2))
    log = cl.c.daemon_log()
    assert "big: reload of 8 instance(s), surge %d" % surge in log
    assert "small: reload of 2 instance(s), surge 1" in log
    big = log[log.index("big: reload of 8"):log.index("small: reload of 2")]
    first_ready = big.index("ready, stopping id")
    assert big[:first_ready].count("reload: replacing id") == surge
    assert len(cl.online_pids("big")) == 8


def test_notify_readiness_with_sd_notify(cl, tmp_path):
    need("c")
    port = free_port()
    # A wrapper that waits before exec: READY=1 comes from the C server's
    # own sd_notify(), so the instance is starting until then. `start`
    # answers once the instance is ready, so it runs in the background
    # while the test lets the wrapper go on (run in the foreground, it
    # would only return at its reply's 20 s deadline, still starting).
    wrapper = tmp_path / "slow.sh"
    wrapper.write_text("#!/bin/sh\n: > %s\n"
                       "while [ ! -e %s ]; do sleep 0.05; done\n"
                       "exec %s\n" % (tmp_path / "waiting", tmp_path / "go",
                                       HELLO_C))
    wrapper.chmod(0o755)
    start = cl.popen("start", str(wrapper), "--name", "n", "--ready",
                     "notify", "--listen", "127.0.0.1:%d" % port,
                     "--listen-timeout", "0")
    try:
        wait_for("the wrapper to run",
                 lambda: (tmp_path / "waiting").exists())
        time.sleep(0.3)
        assert [i["state"] for i in cl.jlist()] == ["starting"]
        assert start.poll() is None, "start answered before READY=1"
    finally:
        (tmp_path / "go").write_text("")
        out, err = start.communicate(timeout=120)
    assert start.returncode == 0, err
    assert [r.split()[4] for r in out.splitlines()
            if r.split()[1:2] == ["n"]] == ["online"], out
    assert len(cl.online_pids("n")) == 1
    inst = cl.jlist()[0]
    assert inst.get("status") == "serving"
    get(port)


def test_notify_timeout_is_a_failed_start(cl, tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import time\ntime.sleep(3600)\n")
    cl.run("start", str(app), "--name", "mute", "--interpreter", PYTHON,
           "--ready", "notify", "--listen-timeout", "500ms",
           "--autorestart", "never", check=False)
    inst = wait_for("a failed start", lambda: [
        i for i in cl.jlist() if i["state"] in ("stopped", "errored")])
    assert "not ready after 500ms (no READY=1 on NOTIFY_SOCKET)" in \
        inst[0]["reason"]


ENV_APP = r"""
import json, os, socket
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.recv(4096)
    body = json.dumps({k: os.environ.get(k) for k in (
        "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "PORT",
        "CORRAL_INSTANCE", "NODE_APP_INSTANCE", "NOTIFY_SOCKET")}
        | {"pid": os.getpid(), "fd3": s.getsockname()[1]}).encode()
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
              + body)
    c.close()
"""


def test_socket_activation_variables(cl, tmp_path):
    app = tmp_path / "env.py"
    app.write_text(ENV_APP)
    port = free_port()
    cl.run("start", str(app), "--name", "env", "--interpreter", PYTHON,
           "--listen", "web=127.0.0.1:%d" % port, "--preload", "false",
           "--ready", "tcp:127.0.0.1:$PORT")
    wait_for("online", lambda: len(cl.online_pids("env")) == 1)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    c.request("GET", "/")
    got = json.loads(c.getresponse().read())
    c.close()
    pid = cl.online_pids("env")[0]
    # LISTEN_PID is the app's own pid: set after fork by corral-exec.
    assert got["pid"] == pid and got["LISTEN_PID"] == str(pid)
    assert got["LISTEN_FDS"] == "1" and got["LISTEN_FDNAMES"] == "web"
    assert got["PORT"] == str(port) and got["fd3"] == port
    assert got["CORRAL_INSTANCE"] == "0" == got["NODE_APP_INSTANCE"]
    assert got["NOTIFY_SOCKET"] == os.path.join(cl.home, "notify.sock")


def test_port_in_use_is_an_error_at_start(cl, tmp_path):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        app = tmp_path / "app.py"
        app.write_text("import time\ntime.sleep(3600)\n")
        p = cl.run("start", str(app), "--name", "busy", "--interpreter",
                   PYTHON, "--listen", "127.0.0.1:%d" % port, check=False)
        assert p.returncode == 1
        assert "cannot listen on 127.0.0.1:%d: address already in use" % \
            port in p.stderr
        assert cl.jlist() == []
        p = cl.run("start", str(app), "--listen", "nonsense", check=False)
        assert p.returncode == 100 and "invalid listen address" in p.stderr


def test_scale_under_load_fails_no_request(cl):
    port = free_port()
    start_example(cl, "python", port)
    with Load(port) as load:
        for n in ("4", "-3", "+1", "3", "1"):
            cl.run("scale", "python", n)
            want = {"4": 4, "-3": 1, "+1": 2, "3": 3, "1": 1}[n]
            assert len(cl.online_pids("python")) == want
            assert len(cl.jlist()) == want
            served = load.ok
            wait_for("requests after scaling", lambda: load.ok > served + 10)
    assert load.errors == [], load.errors[:5]
    assert [i["instance"] for i in cl.jlist()] == [0]


def test_socket_survives_every_instance_crashing(cl):
    need("c")
    port = free_port()
    cl.run("start", HELLO_C, "--name", "crash", "-i", "2", "--ready",
           "notify", "--listen", "127.0.0.1:%d" % port,
           "--restart-delay", "1s")
    wait_for("2 online", lambda: len(cl.online_pids("crash")) == 2)
    old = cl.online_pids("crash")
    for p in old:
        os.kill(p, signal.SIGKILL)
    wait_for("both gone", lambda: not any(pid_alive(p) for p in old))
    # Nobody accepts now: connections queue in the held socket and are
    # served once the replacements are back.
    results, errors = [], []

    def one():
        try:
            results.append(pid_of(get(port, timeout=30)))
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 8
    assert not set(results) & set(old)


def test_instances_max_follows_affinity(cl, tmp_path):
    taskset = shutil.which("taskset")
    if taskset is None:
        pytest.skip("no taskset")
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("one CPU: max and 1 cannot be told apart")
    cpu = cpus[0]
    app = tmp_path / "app.py"
    app.write_text("import time\ntime.sleep(3600)\n")
    # The daemon started under taskset may run on one CPU only.
    cl.run("start", str(app), "--name", "m", "--interpreter", PYTHON,
           "-i", "max", prefix=(taskset, "-c", str(cpu)))
    assert len(cl.jlist()) == 1
    cl.run("start", str(app), "--name", "m2", "--interpreter", PYTHON,
           "-i", "-1")
    assert len([i for i in cl.jlist() if i["name"] == "m2"]) == 1


def test_per_instance_ports_with_http_probe(cl):
    base = free_port()
    while True:     # two free ports in a row
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", base + 1))
            break
        except OSError:
            base = free_port()
    cl.run("start", os.path.join(ROOT, "examples/python/app.py"),
           "--interpreter", PYTHON, "--name", "pp", "-i", "2",
           "--env", "PORT=%d" % base, "--increment-var", "PORT",
           "--ready", "http://127.0.0.1:$PORT/")
    wait_for("2 online", lambda: len(cl.online_pids("pp")) == 2)
    by_index = {i["instance"]: i["pid"] for i in cl.jlist()}
    assert pid_of(get(base)) == by_index[0]
    assert pid_of(get(base + 1)) == by_index[1]


def test_instances_max_capped_by_cpu_quota(cl, tmp_path):
    """Needs a writable cgroup v2 tree with the cpu controller (the test VM:
    ../shared/vm/run-in-vm.sh); skipped elsewhere."""
    root = "/sys/fs/cgroup"
    try:
        with open("/proc/self/cgroup") as f:
            own = [l.split("::", 1)[1].strip() for l in f
                   if l.startswith("0::")][0]
        with open(root + own + "/cgroup.subtree_control") as f:
            controllers = f.read().split()
    except (OSError, IndexError):
        pytest.skip("no cgroup v2")
    if "cpu" not in controllers or not os.access(root + own, os.W_OK):
        pytest.skip("no writable cgroup v2 with the cpu controller")
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: the quota changes nothing")
    cg = os.path.join(root + own, "corral-test-%d" % os.getpid())
    os.mkdir(cg)
    try:
        with open(cg + "/cpu.max", "w") as f:
            f.write("50000 100000\n")          # half a CPU

        def enter():
            with open(cg + "/cgroup.procs", "w") as f:
                f.write("0\n")

        app = tmp_path / "app.py"
        app.write_text("import time\ntime.sleep(3600)\n")
        # The daemon started by this client runs under the quota.
        cl.run("start", str(app), "--name", "q", "--interpreter", PYTHON,
               "-i", "max", preexec_fn=enter)
        assert len(cl.jlist()) == 1
        with open(cg + "/cpu.max", "w") as f:
            f.write("max 100000\n")
        cl.run("scale", "q", "max")
        assert len(cl.jlist()) == len(os.sched_getaffinity(0))
    finally:
        cl.shutdown()
        os.rmdir(cg)



def test_describe_shows_cluster_settings(cl, tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import time\ntime.sleep(3600)\n")
    port = free_port()
    cl.run("start", str(app), "--name", "d", "--interpreter", PYTHON,
           "--port", str(port), "--listen", "unix:%s/d.sock" % tmp_path,
           "--ready", "delay:10ms", "--listen-timeout", "3s",
           "--reload-surge", "2", "--preload", "no")
    cfg = json.loads(cl.run("describe", "d", "--json").stdout)[0]["app"]
    assert cfg["listen"] == [str(port), "unix:%s/d.sock" % tmp_path]
    assert cfg["ready"] == "delay:10ms" and cfg["listen_timeout"] == 3000
    assert cfg["reload_surge"] == 2 and cfg["preload"] is False
    p = cl.run("start", str(app), "--name", "e", "--ready", "sometimes",
               check=False)
    assert p.returncode == 100 and "invalid readiness" in p.stderr


# Ignores SIGTERM, then says so (a file PID.term); exits once the file
# named after its pid exists.
STUBBORN = r"""
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
go = os.path.join(sys.argv[1], str(os.getpid()))
open(go + ".term", "w").close()
while not os.path.exists(go):
    time.sleep(0.02)
"""


def test_a_stop_waits_for_a_replacement_that_took_the_old_id(cl, tmp_path):
    """`stop` of an app during its reload, when the replacement is online
    and the instance it replaces still stopping: the replacement stops
    too, and takes the old one's id once that one is gone. The stop's
    reply comes once the replacement has stopped, and lists it. Before,
    the reply came when the id moved (the replacement's own id led to no
    instance any more, counted as settled), the replacement still
    stopping and missing from the list."""
    app = tmp_path / "stubborn.py"
    app.write_text(STUBBORN)
    gate = tmp_path / "gate"
    gate.mkdir()
    cl.run("start", str(app), "--name", "hand", "--interpreter", PYTHON,
           "--listen", "127.0.0.1:%d" % free_port(), "--ready", "none",
           "--kill-timeout", "60s", "--", str(gate))
    old = wait_for("online", lambda: cl.online_pids("hand"))[0]
    wait_for("SIGTERM ignored", (gate / f"{old}.term").exists)
    reload = cl.popen("reload", "hand")
    rows = wait_for("the replacement online, the old one stopping",
                    lambda: (lambda j: j if len(j) == 2 and
                             {i["state"] for i in j} ==
                             {"online", "stopping"} else None)(
                                 cl.jlist()))
    new = [i for i in rows if i["state"] == "online"][0]
    old_id = [i for i in rows if i["pid"] == old][0]["id"]
    wait_for("SIGTERM ignored", (gate / f"{new['pid']}.term").exists)
    stop = cl.popen("stop", "hand")
    wait_for("the replacement stopping", lambda: all(
        i["state"] == "stopping" for i in cl.jlist()))
    (gate / str(old)).touch()
    wait_for("the id handed over", lambda: [
        (i["id"], i["pid"]) for i in cl.jlist()] == [(old_id, new["pid"])])
    (gate / str(new["pid"])).touch()
    out, err = stop.communicate(timeout=60)
    assert stop.returncode == 0, err
    assert "stopped" in out and str(old_id) in out, out
    reload.communicate(timeout=60)
    assert [(i["id"], i["state"]) for i in cl.jlist()] == [
        (old_id, "stopped")]
