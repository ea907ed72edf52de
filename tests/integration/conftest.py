# SPDX-License-Identifier: ISC
"""Fixtures shared by every integration test.

Each test that asks for the `corral` fixture gets a private CORRAL_HOME and
drives the real binaries from $BUILD (default `build`, relative to the top of
the tree).  At teardown the fixture runs `corral kill`, then makes sure that
no process of that CORRAL_HOME is left (the daemon, every instance pid it ever
saw, their grandchildren: anything whose environment carries this
CORRAL_HOME).  A survivor is SIGKILLed by pid and the test fails: a leaked
process is a defect.  Sanitizer reports written by the daemon or the client
fail the test too.
"""

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import textwrap
import threading
import time
from collections import namedtuple
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BUILD", "build"))
if not BUILD.is_absolute():
    BUILD = TOP / BUILD
CORRAL_BIN = BUILD / "corral"
CORRALD_BIN = BUILD / "corrald"

# Deadlines are generous: a busy 2-core machine running sanitizer builds
# must not make a correct program fail.
DEADLINE = float(os.environ.get("CORRAL_TEST_DEADLINE", "20"))
CMD_TIMEOUT = 60

Result = namedtuple("Result", "rc out err")


def wait_for(predicate, timeout=DEADLINE, interval=0.05, what=None):
    """Poll predicate() until it returns something true; return that value.
    Fail the test with `what` (or the predicate's name; a callable `what`
    is called for it) after timeout s."""
    end = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
            last_exc = e
        if time.monotonic() > end:
            desc = (what() if callable(what) else what) or \
                getattr(predicate, "__name__", "condition")
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            pytest.fail(f"timed out after {timeout}s waiting for {desc}{extra}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


# --- /proc helpers ---------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, pgrp, session, starttime) of pid, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); starttime is field 22.
    return (rest[0], int(rest[1]), int(rest[2]), int(rest[3]), int(rest[19]))


def fd_table(pid):
    """{number: what it points to} of pid's descriptors (/proc/PID/fd)."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def daemon_fd_targets(corral):
    """What the daemon's descriptors point to (readlink of /proc/PID/fd)."""
    return list(fd_table(corral.daemon_pid()).values())


def pid_alive(pid, starttime=None):
    """True if pid exists, is not a zombie and (if given) started at
    starttime, so that a recycled pid is never mistaken for ours."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[4] == starttime


def proc_environ(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            env[k.decode("utf-8", "replace")] = v.decode("utf-8", "replace")
    return env


def all_pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def procs_with_home(home):
    """Live processes (not us) whose environment has CORRAL_HOME=home."""
    me = os.getpid()
    found = []
    for pid in all_pids():
        if pid == me:
            continue
        st = proc_stat(pid)
        if st is None or st[0] in ("Z", "X"):
            continue
        if proc_environ(pid).get("CORRAL_HOME") == home:
            found.append(pid)
    return found


def proc_exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


# --- follower of a streaming client ------------------------------------------

class Stream:
    """A running `corral` client whose stdout is read line by line in a
    thread (for `corral logs` without --nostream)."""

    def __init__(self, popen):
        self.popen = popen
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        for raw in self.popen.stdout:
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def wait_line(self, predicate, timeout=DEADLINE, what="a line"):
        def found():
            for line in self.snapshot():
                if predicate(line):
                    return line
            return None
        return wait_for(found, timeout, what=what)

    def running(self):
        return self.popen.poll() is None

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.thread.join(5)
        return self.popen.returncode


# --- the fixture -------------------------------------------------------------

class Corral:
    def __init__(self, home, appdir):
        self.home = home
        self.appdir = Path(appdir)
        self.env = dict(os.environ)
        self.env["CORRAL_HOME"] = home
        # Sanitizer reports of the daemon (detached, no stderr) and of the
        # client go to files that teardown checks.
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            prefix = self.env.get(var, "")
            sep = ":" if prefix else ""
            self.env[var] = f"{prefix}{sep}log_path={home}/sanitizer"
        for var in [k for k in self.env if k.startswith("PM2_")]:
            del self.env[var]
        self.seen = {}          # pid -> starttime: daemons and instances
        self.streams = []

    # paths
    @property
    def sock(self):
        return os.path.join(self.home, "corral.sock")

    @property
    def pidfile(self):
        return os.path.join(self.home, "corrald.pid")

    @property
    def logdir(self):
        return Path(self.home) / "logs"

    def logfile(self, name, kind="out"):
        return self.logdir / f"{name}-{kind}.log"

    def daemon_log(self):
        try:
            return Path(self.home, "corrald.log").read_text(errors="replace")
        except OSError:
            return ""

    # processes
    def remember(self, pid):
        if not pid or pid <= 0:
            return
        st = proc_stat(pid)
        if st is not None and st[0] not in ("Z", "X"):
            self.seen.setdefault(pid, st[4])

    def keeper_pid(self):
        """The pid in keeper.pid (the keeper writes it at its start)."""
        with open(os.path.join(self.home, "keeper.pid")) as f:
            return int(f.read().split()[0])

    def daemon_pid(self):
        """The pid in corrald.pid if that process is alive, else None."""
        try:
            pid = int(Path(self.pidfile).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if pid_alive(pid):
            self.remember(pid)
            return pid
        return None

    def daemons(self):
        """Every live corrald process that serves this CORRAL_HOME."""
        found = []
        for pid in procs_with_home(self.home):
            exe = proc_exe(pid) or ""
            if os.path.basename(exe.replace(" (deleted)", "")) == "corrald":
                found.append(pid)
        return found

    # running the client
    def run(self, *args, env=None, extra_env=None, cwd=None, timeout=CMD_TIMEOUT,
            input=None):
        """Run the real client; return Result(rc, out, err)."""
        e = dict(self.env if env is None else env)
        if extra_env:
            e.update(extra_env)
        try:
            p = subprocess.run([str(CORRAL_BIN), *map(str, args)], env=e,
                               cwd=str(cwd or self.appdir), input=input,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"corral {' '.join(map(str, args))}: no exit after {timeout}s")
        self.daemon_pid()
        return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"))

    def ok(self, *args, **kw):
        """Run the client, fail the test unless it exits 0; return stdout."""
        r = self.run(*args, **kw)
        assert r.rc == 0, f"corral {' '.join(map(str, args))} -> {r.rc}\n{r.err}{r.out}"
        return r.out

    def spawn(self, *args, cwd=None):
        """Start a client that keeps running (logs --follow); its output is
        collected by a Stream.  Teardown stops it."""
        p = subprocess.Popen([str(CORRAL_BIN), *map(str, args)], env=self.env,
                             cwd=str(cwd or self.appdir), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        s = Stream(p)
        self.streams.append(s)
        return s

    def jlist(self):
        out = self.ok("jlist")
        data = json.loads(out)
        assert isinstance(data, list), out
        for inst in data:
            if inst.get("pid"):
                self.remember(inst["pid"])
        return data

    def app(self, name):
        """Instances of app `name`, sorted by instance index."""
        return sorted((i for i in self.jlist() if i["name"] == name),
                      key=lambda i: i["instance"])

    def by_id(self, ident):
        for inst in self.jlist():
            if inst["id"] == ident:
                return inst
        return None

    def wait_for(self, predicate, timeout=DEADLINE, what=None):
        return wait_for(predicate, timeout, what=what)

    def wait_state(self, name, state, count=None, timeout=DEADLINE):
        """Wait until app `name` has `count` instances (default: any number
        >= 1), all in `state` (and online ones with a pid); return them."""
        def check():
            insts = self.app(name)
            if not insts or (count is not None and len(insts) != count):
                return None
            if all(i["state"] == state and (state != "online" or i.get("pid"))
                   for i in insts):
                return insts
            return None
        return wait_for(check, timeout, what=f"{name} {state} x{count or 'N'}: "
                        f"{[(i['instance'], i['state']) for i in self.app(name)]}")

    # test apps
    def script(self, name, body, mode=0o755):
        """Write an app file (shebang included in body) into the app dir."""
        path = self.appdir / name
        path.write_text(textwrap.dedent(body).lstrip())
        path.chmod(mode)
        return path

    def raw_connect(self, timeout=10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        return s

    def raw_request(self, line, timeout=20):
        """line (bytes) on a socket of our own; the reply's bytes up to
        its newline, or all until the daemon closed."""
        with self.raw_connect(timeout) as s:
            s.sendall(line)
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return buf

    # teardown
    def _sanitizer_reports(self):
        out = []
        for p in Path(self.home).glob("sanitizer*"):
            try:
                out.append(f"== {p.name}\n{p.read_text(errors='replace')}")
            except OSError:
                pass
        return out

    def teardown(self):
        problems = []
        for s in self.streams:
            s.stop()
        dpid = self.daemon_pid()
        if dpid:
            # Learn every instance pid before the kill.
            try:
                self.jlist()
            except BaseException:
                pass
            try:
                r = self.run("kill", timeout=CMD_TIMEOUT)
                if r.rc != 0:
                    problems.append(f"corral kill exited {r.rc}: {r.err.strip()}")
            except BaseException as e:     # a hung daemon: still clean up
                problems.append(f"corral kill: {e}")
        for pid in procs_with_home(self.home):
            self.remember(pid)

        def leftovers():
            left = {pid for pid, start in self.seen.items() if pid_alive(pid, start)}
            left.update(procs_with_home(self.home))
            return left

        end = time.monotonic() + 15
        left = leftovers()
        while left and time.monotonic() < end:
            time.sleep(0.1)
            left = leftovers()
        if left:
            desc = [f"{pid} {' '.join(proc_cmdline(pid))}" for pid in sorted(left)]
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            problems.append("processes left behind (SIGKILLed): " + "; ".join(desc))
        problems.extend(self._sanitizer_reports())
        return problems


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# --- the user's own ~/.corral -------------------------------------------------
#
# No test may start a daemon in the real ~/.corral (every one has a private
# CORRAL_HOME). The session compares that folder's daemon at its start and
# at its end, without starting, stopping or asking it anything: a new one
# run from this tree's binaries fails the session; one run from another
# binary (another checkout, the user's own) is only reported.

USER_HOME = Path(os.path.expanduser("~")) / ".corral"


def user_home_daemon():
    """(pid, starttime, exe) of the corrald serving ~/.corral, or None.
    The pid file names it; a stale pid (gone, or another program now) is
    none. A socket that accepts connections with no live daemon in the pid
    file is reported as pid 0."""
    try:
        pid = int((USER_HOME / "corrald.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    if pid:
        st = proc_stat(pid)
        exe = (proc_exe(pid) or "").replace(" (deleted)", "")
        if st and st[0] not in ("Z", "X") and os.path.basename(exe) == "corrald":
            return (pid, st[4], exe)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(2)
        s.connect(str(USER_HOME / "corral.sock"))
        return (0, 0, "?")
    except OSError:
        return None
    finally:
        s.close()


def pytest_sessionstart(session):
    for b in (CORRAL_BIN, CORRALD_BIN):
        if not os.access(b, os.X_OK):
            raise pytest.UsageError(f"{b} is missing: build first (make, or BUILD=...)")
    session.config._corral_user_daemon = user_home_daemon()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_corral_user_daemon", None)
    after = user_home_daemon()
    if after is None or after == before:
        return
    ours = after[2].startswith(str(TOP) + os.sep)
    msg = (f"a daemon appeared in {USER_HOME} during this session: pid "
           f"{after[0]}, {after[2]}" + ("" if ours else
           " (not this tree's binary: reported, not failed)"))
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.ensure_newline()
        tr.write_line(msg, red=True, bold=True)
    else:
        print(msg)
    if ours or after[0] == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def corral(request, tmp_path):
    home = tempfile.mkdtemp(prefix="corral-t.")
    appdir = tmp_path / "app"
    appdir.mkdir()
    c = Corral(home, appdir)
    yield c
    problems = c.teardown()
    rep = getattr(request.node, "rep_call", None)
    failed = rep is not None and rep.failed
    if failed or problems:
        log = c.daemon_log()
        if log:
            print(f"---- corrald.log ({home})\n{log[-6000:]}")
    # Restore permissions a test may have removed, then clean up.
    for root, dirs, _ in os.walk(home):
        for d in dirs:
            try:
                os.chmod(os.path.join(root, d), 0o700)
            except OSError:
                pass
    shutil.rmtree(home, ignore_errors=True)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def ncpu():
    """The CPU count `-i max` must give: the affinity mask, capped by a CFS
    quota on our cgroup when one is set (v1 or v2)."""
    n = len(os.sched_getaffinity(0))
    quota = None
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            hid, ctrls, path = line.split(":", 2)
            if hid == "0":
                q, period = Path(f"/sys/fs/cgroup{path}/cpu.max").read_text().split()
                if q != "max":
                    quota = int(q) / int(period)
            elif "cpu" in ctrls.split(","):
                base = Path("/sys/fs/cgroup/cpu,cpuacct")
                if not base.exists():
                    base = Path("/sys/fs/cgroup/cpu")
                q = int((base / path.lstrip("/") / "cpu.cfs_quota_us").read_text())
                period = int((base / path.lstrip("/") / "cpu.cfs_period_us").read_text())
                if q > 0:
                    quota = q / period
    except (OSError, ValueError):
        pass
    if quota is not None:
        import math
        n = max(1, min(n, math.ceil(quota)))
    return n
