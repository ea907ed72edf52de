# SPDX-License-Identifier: ISC
"""The engine dies or is replaced; the apps do not notice (issue 13).

corrald runs as corral-keeper (keeper.pid) and the engine it starts
(corrald.pid). These tests kill -9 the engine, or replace it with
`corral update`, while apps of every kind run, and check that every app
is afterwards in the state it was in: the same pids, restart counts and
start times, no gap in the numbered lines of a ticker, no failed request
of a bounded load on a cluster app.

The keeper restarts an engine that died before READY or within 1 s of it
after a growing delay (100 ms, doubling) against a crash loop; one that
served longer at once. A test that kills again therefore first lets the
new engine serve for more than 1 s (served_long_enough): that wait is the
keeper's rule, not a guess at an order.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import observe_util
from conftest import BUILD, CORRAL_BIN, TOP, pid_alive, wait_for
from observe_util import free_port, get
# test_cluster's server on the held port ("good" mode: no flag file)
from test_cluster import BAD_APP as SLOW_APP

PYTHON = "/usr/bin/python3"
WEB_APP = str(TOP / "examples" / "python" / "app.py")
DEADLINE = 60.0
BACKOFF_GRACE = 1.1     # the keeper restarts at once after 1 s served

# binds its port itself (bind on demand in cluster mode), answers a
# request for /slow only once the file argv[1] exists; dies at SIGTERM
SLOW_REQUEST_APP = """\
import os, socket, sys, time
while len(sys.argv) > 2 and not os.path.exists(sys.argv[2]):
    time.sleep(0.02)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["APP_PORT"])))
s.listen(16)
while True:
    c, _ = s.accept()
    if b"slow" in c.recv(4096):
        print("slow request", flush=True)
        while not os.path.exists(sys.argv[1]):
            time.sleep(0.02)
    c.sendall(b"HTTP/1.0 200 OK\\r\\nConnection: close\\r\\n\\r\\nok\\n")
    c.close()
"""

TICKER = """\
#!/usr/bin/python3
import time
i = 0
while True:
    print(i, flush=True)
    i += 1
    time.sleep(0.003)
"""


class Load(observe_util.Load):
    """observe_util's clients (one request per new connection, every
    failure kept), 3 of them (the machine is shared)."""

    def __init__(self, port):
        super().__init__(port, clients=3)

    def more(self, n=20):
        """Waits for n more answers than now."""
        served = self.ok
        wait_for(lambda: self.ok >= served + n, DEADLINE,
                 what="%d more answers (errors: %s)" % (n, self.errors[:3]))


# --- the engine ---------------------------------------------------------------

def engine(c, bin_dir=None):
    """`corral engine --json` of the engine that serves now."""
    r = run(c, bin_dir, "engine", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def run(c, bin_dir, *args, timeout=120):
    """The client from bin_dir (default: the build's)."""
    client = str(CORRAL_BIN) if bin_dir is None else str(bin_dir / "corral")
    p = subprocess.run([client, *map(str, args)], env=c.env,
                       cwd=str(c.appdir), capture_output=True, text=True,
                       timeout=timeout)
    c.daemon_pid()
    return p


def kill_engine(c, bin_dir=None):
    """kill -9 of the engine that serves; returns the next one's answer
    once it serves, and its pid differs."""
    e = engine(c, bin_dir)
    with open(c.pidfile) as f:
        assert int(f.read().split()[0]) == e["pid"]
    os.kill(e["pid"], signal.SIGKILL)
    new = wait_for(lambda: next_engine(c, bin_dir, e["pid"]), DEADLINE,
                   what="a new engine after %d" % e["pid"])
    assert new["kind"] == "restart", new
    assert new["generation"] == e["generation"] + 1, (e, new)
    # "killed by signal 9", after "closed its socket, " when the keeper
    # read the socket's end before it reaped the engine
    assert new["reason"].endswith("killed by signal 9"), new
    return new


def next_engine(c, bin_dir, old_pid):
    e = engine(c, bin_dir)
    if e["pid"] != old_pid:
        e["answered"] = time.monotonic()
        return e
    return None


def served_long_enough(e):
    """The keeper restarts at once an engine that served > 1 s (else after
    a crash-loop delay): waits that long after it first answered."""
    left = e["answered"] + BACKOFF_GRACE - time.monotonic()
    if left > 0:
        time.sleep(left)


def snapshot(c, names):
    """(name, id) -> (state, pid, restarts, started_at) of names' instances."""
    return {(i["name"], i["id"]): (i["state"], i["pid"], i["restarts"],
                                   i["started_at"])
            for i in c.jlist() if i["name"] in names}


def assert_same(before, after):
    """The same instances in the same states, pids and restart counts, and
    the same start times: the engine takes the time once at the spawn and
    the child hands the same to the keeper, whose record a later engine
    reads."""
    strip = lambda s: {k: v[:3] for k, v in s.items()}
    assert strip(after) == strip(before), "\n%s\n%s" % (before, after)
    moved = {k: after[k][3] - v[3] for k, v in before.items()
             if after[k][3] != v[3]}
    assert moved == {}, "start times moved (ms): %s" % moved


# --- the ticker's numbered lines ------------------------------------------------

def numbers(c, name):
    """The numbers of the whole lines of name's out log, in order."""
    try:
        text = c.logfile(name).read_text(errors="replace")
    except OSError:
        return []
    return [int(line) for line in text.split("\n")[:-1] if line.isdigit()]


def assert_no_gap(c, name, past):
    """Waits until name's log passes number `past`; no number is missing
    on the way. A killed engine may leave the last chunk it wrote but had
    not yet taken from the pipe: its successor writes it again (docs/
    keeper.md): lines may repeat, in order, after a step back, never skip.
    """
    wait_for(lambda: (numbers(c, name) or [-1])[-1] > past, DEADLINE,
             what="%s's log past line %d" % (name, past))
    got = numbers(c, name)
    holes = [(a, b) for a, b in zip(got, got[1:]) if b > a + 1]
    assert got[0] == 0 and holes == [], (
        "%s: lines 0..%d, %d gap(s) (before -> after): %s"
        % (name, got[-1], len(holes), holes[:10]))
    assert set(got) == set(range(got[-1] + 1)), "%s: a number is missing" \
        % name


def start_ticker(c):
    c.script("tick.py", TICKER)
    c.ok("start", c.appdir / "tick.py", "--name", "tick")
    c.wait_state("tick", "online", 1)
    wait_for(lambda: len(numbers(c, "tick")) > 50, DEADLINE,
             what="the ticker's first lines")


def start_web(c, port):
    c.ok("start", WEB_APP, "--name", "web", "-i", "2", "--interpreter",
         PYTHON, "--listen", "127.0.0.1:%d" % port)
    c.wait_state("web", "online", 2, timeout=DEADLINE)


# --- kill -9 of the engine --------------------------------------------------------

def test_engine_kill_leaves_every_kind_of_app_as_it_was(corral, tmp_path):
    c = corral
    port, slow_port, ready_port = free_port(), free_port(), free_port()
    start_ticker(c)
    start_web(c, port)
    # waiting for readiness: nothing listens on ready_port yet (its
    # client waits for it: it goes with the engine)
    c.script("waits.sh", "#!/bin/sh\nexec sleep 3600\n")
    c.spawn("start", c.appdir / "waits.sh", "--name", "waits", "--ready",
            "tcp:127.0.0.1:%d" % ready_port, "--listen-timeout", "300s")
    c.wait_state("waits", "starting", 1)
    # in restart backoff: exits at once, restarted only after 60 s
    c.script("dies.sh", "#!/bin/sh\nexit 3\n")
    c.ok("start", c.appdir / "dies.sh", "--name", "dies",
         "--restart-delay", "60s")
    # stopped
    c.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    c.ok("start", c.appdir / "idle.sh", "--name", "idle")
    c.wait_state("idle", "online", 1)
    c.ok("stop", "idle")
    # in a rolling reload: 3 s to be ready, long enough to kill the engine
    # in the middle of a reload
    c.script("slow.py", SLOW_APP)
    c.ok("start", c.appdir / "slow.py", "--name", "slow", "-i", "2",
         "--interpreter", PYTHON, "--listen", "127.0.0.1:%d" % slow_port,
         "--ready", "delay:3s", "--", c.appdir / "no-flag")
    c.wait_state("slow", "online", 2, timeout=DEADLINE)
    c.wait_state("waits", "starting", 1)
    c.wait_state("dies", "waiting-restart", 1)
    c.wait_state("idle", "stopped", 1)
    slow_old = {i["pid"] for i in c.app("slow")}
    keeper = c.keeper_pid()

    kept = ("tick", "web", "waits", "dies", "idle")
    with Load(port) as load:
        reload = subprocess.Popen([str(CORRAL_BIN), "reload", "slow"],
                                  env=c.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: len(c.app("slow")) == 3, DEADLINE,
                     what="a replacement of slow starting")
            before = snapshot(c, kept)
            slow_new = {i["pid"] for i in c.app("slow")} - slow_old
            ticked = numbers(c, "tick")[-1]
            new = kill_engine(c)
            after = snapshot(c, kept)
        finally:
            _, err = reload.communicate(timeout=120)
        load.more()
        assert_same(before, after)
        assert c.keeper_pid() == keeper

        # the readiness wait goes on in the new engine
        with socket.socket() as s:
            s.bind(("127.0.0.1", ready_port))
            s.listen(4)
            online = c.wait_state("waits", "online", 1, timeout=DEADLINE)
        assert [online[0]["pid"]] == [v[1] for k, v in before.items()
                                      if k[0] == "waits"]
        load.more()
    assert load.errors == [], load.errors[:5]
    assert_no_gap(c, "tick", ticked + 200)
    # still in backoff, not restarted meanwhile; still stopped
    assert_same({k: v for k, v in before.items() if k[0] in ("dies", "idle")},
                snapshot(c, ("dies", "idle")))
    assert new["generation"] == 2
    # The reload's client lost its engine (it cannot tell the outcome);
    # the reload ends anyway, finished or given up: two instances serve,
    # old or new, and no other process of slow runs. A replacement waits
    # 3 s to be ready: 30 s cover the two of a finished reload.
    print("reload client:", reload.returncode, err.strip())
    insts = c.wait_state("slow", "online", 2, timeout=30)
    pids = {i["pid"] for i in insts}
    ran = slow_old | slow_new
    assert len(pids) == 2
    wait_for(lambda: not [p for p in ran - pids if pid_alive(p)], DEADLINE,
             what="the instances of slow that were not kept to exit")
    assert {int(get(slow_port).split()[1]) for _ in range(20)} <= pids


def test_ten_engine_kills_in_a_row(corral):
    c = corral
    port = free_port()
    start_ticker(c)
    start_web(c, port)
    keeper = c.keeper_pid()
    before = snapshot(c, ("tick", "web"))
    engines = {engine(c)["pid"]}
    with Load(port) as load:
        e = None
        for _ in range(10):
            if e is not None:
                served_long_enough(e)
            e = kill_engine(c)
            engines.add(e["pid"])
            assert_same(before, snapshot(c, ("tick", "web")))
            load.more(5)
        ticked = numbers(c, "tick")[-1]
        load.more()
    assert load.errors == [], load.errors[:5]
    assert len(engines) == 11 and e["generation"] == 11
    assert c.keeper_pid() == keeper
    assert all(pid_alive(p) for _, p, _, _ in before.values())
    assert_no_gap(c, "tick", ticked + 200)


def test_an_engine_killed_right_after_a_reply_knows_the_change(corral):
    """A client told "done" kills the engine at once, each time after
    another kind of change: the next engine knows every change (the
    reply waits for state.json), so it neither kills the processes of an
    app it never heard of nor starts again one that was stopped."""
    from test_state import request
    c = corral
    c.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    e = engine(c)
    request(c, "start", "idle.sh", "--name", "a", "-i", "2")
    os.kill(e["pid"], signal.SIGKILL)
    e = wait_for(lambda: next_engine(c, None, e["pid"]), DEADLINE,
                 what="an engine after the start")
    live = {i["id"]: i["pid"] for i in c.app("a")}
    assert len(live) == 2 and all(live.values()), c.app("a")
    assert all(pid_alive(p) for p in live.values())
    for cmd, args in (("scale", ("a", "3")), ("stop", ("a",)),
                      ("delete", ("a",))):
        served_long_enough(e)
        request(c, cmd, *args)
        os.kill(e["pid"], signal.SIGKILL)
        e = wait_for(lambda: next_engine(c, None, e["pid"]), DEADLINE,
                     what="an engine after %s" % cmd)
        if cmd == "scale":
            insts = c.app("a")
            assert len(insts) == 3, insts
            assert all(live[i["id"]] == i["pid"] for i in insts
                       if i["id"] in live), (live, insts)
            c.wait_state("a", "online", count=3)
        elif cmd == "stop":
            assert all(i["state"] == "stopped" for i in c.app("a")), c.app("a")
        else:
            assert c.jlist() == []


def test_config_changes_survive_an_engine_kill(corral):
    """state.json keeps each app's configuration as text from one write to
    the next (issue 16): `set`, `scale` and `restart --update-env` must
    each make it again, also when the writes after them are instance
    changes only (the restart of one instance here). The next engine,
    after a kill -9, has the new configuration."""
    c = corral
    c.script("sleeper.sh", "#!/bin/sh\nexec sleep 1000\n")
    c.ok("start", "sleeper.sh", "--name", "cfg", "-i", "1")
    c.ok("start", "sleeper.sh", "--name", "other", "-i", "1")
    c.wait_state("cfg", "online", count=1)
    c.wait_state("other", "online", count=1)
    c.ok("set", "cfg", "kill_timeout", "4321")
    c.ok("scale", "cfg", "2")
    c.wait_state("cfg", "online", count=2)
    c.ok("restart", "cfg", "--update-env", extra_env={"CFG_MARK": "new"})
    c.wait_state("cfg", "online", count=2)
    c.ok("restart", "other")            # instance changes only from here
    c.wait_state("other", "online", count=1)

    def saved():
        with open(os.path.join(c.home, "state.json")) as f:
            st = json.load(f)
        for app in st["apps"]:
            if app["config"]["name"] == "cfg":
                env = st["envs"][app["env"]]
                ok = (app["config"]["kill_timeout"] == 4321 and
                      app["config"]["instances"] == 2 and
                      env.get("CFG_MARK") == "new" and
                      st["apps"][-1]["instances"][0]["restarts"] >= 1)
                return ok or None
        return None
    wait_for(saved, DEADLINE, what="state.json with cfg's new configuration")
    kill_engine(c)
    desc = json.loads(c.ok("describe", "cfg", "--json"))
    assert desc[0]["app"]["kill_timeout"] == 4321, desc[0]["app"]
    assert desc[0]["app"]["instances"] == 2, desc[0]["app"]
    assert len(c.app("cfg")) == 2
    old = {i["pid"] for i in c.app("cfg")}
    c.ok("restart", "cfg")              # spawned by the next engine
    c.wait_state("cfg", "online", count=2)
    for i in c.app("cfg"):
        assert i["pid"] not in old

        def environ(pid=i["pid"]):
            with open("/proc/%d/environ" % pid, "rb") as f:
                data = f.read()
            return data.split(b"\0") if data else None
        # empty while an exec (the engine's, then sh's of sleep) sets up
        # the new image: waited for, then it must hold the new variable
        env = wait_for(lambda: environ(), DEADLINE, what="an environment")
        assert b"CFG_MARK=new" in env, env


def test_backoff_keeps_its_due_time_across_an_engine_kill(corral):
    """An instance in restart backoff when the engine dies starts again at
    the backoff's due time (saved in state.json), not a whole delay after
    the next engine came. The kill comes a third of the delay in: a next
    engine that waited the whole delay again would spawn only after
    kill + delay, the due time is that third earlier (room for a loaded
    machine's slowness); never before the due time either. Each run of
    the app notes when it started (ms since the epoch)."""
    c = corral
    delay = 9000
    runs = c.appdir / "runs"
    c.script("dies.sh", "#!/bin/sh\ndate +%%s%%3N >> %s\nexit 3\n" % runs)
    c.ok("start", c.appdir / "dies.sh", "--name", "dies",
         "--restart-delay", "%dms" % delay)
    c.wait_state("dies", "waiting-restart", 1)
    time.sleep(delay / 3000)            # the scenario: kill in the middle
    killed_at = time.time() * 1000
    kill_engine(c)
    started = wait_for(lambda: [int(t) for t in runs.read_text().split()]
                       if len(runs.read_text().split()) >= 2 else None,
                       DEADLINE, what="dies started again")
    assert c.app("dies")[0]["restarts"] >= 1
    # the exit came after the first run started: the due time too
    assert started[1] >= started[0] + delay - 50, started
    assert started[1] < killed_at + delay, \
        "a whole delay again after the kill: %d ms after it" % (
            started[1] - killed_at)


def test_engine_tells_the_keeper_the_longest_stop(corral):
    """The keeper hears the longest drain_timeout + kill_timeout of the
    apps (STOP_TIME) as it changes: its own bounds then never cut an
    app's graceful stop short (tests/integration/test_keeper.py checks
    the bounds); an engine killed meanwhile changes nothing."""
    c = corral
    log = os.path.join(c.home, "keeper.log")

    def said(ms):
        wait_for(lambda: "the apps stop within %d ms:" % ms in
                 open(log).read(), DEADLINE, what="STOP_TIME %d" % ms)

    c.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    c.ok("start", c.appdir / "idle.sh", "--name", "idle",
         "--kill-timeout", "90s", "--drain-timeout", "1s")
    said(91000)
    kill_engine(c)
    c.ok("set", "idle", "kill_timeout", "120s")
    said(121000)
    c.ok("delete", "idle")
    said(0)


def start_slow(c, port, flag, fault=None, wait=None):
    """SLOW_REQUEST_APP as "dr", one cluster instance answering on port
    (its slow request waits for flag). With fault (CORRAL_FAULT's point,
    set before the daemon started), it binds only after the start's
    answer, then wait(c, fault) (default fault_engine()) waits for the
    engine's death there and the next one."""
    gate = [] if fault is None else [c.appdir / "bind"]
    c.script("slow.py", SLOW_REQUEST_APP)
    c.ok("start", c.appdir / "slow.py", "--name", "dr", "-i", "1",
         "--exec-mode", "cluster", "--interpreter", PYTHON,
         "--drain-timeout", "60s", "--env", "APP_PORT=%d" % port, "--",
         flag, *gate)
    if fault is not None:
        gate[0].touch()
        (wait or fault_engine)(c, fault)
    c.wait_state("dr", "online", 1)
    wait_for(lambda: get(port), DEADLINE, what="an answer on %d" % port)


def stop_drains_first(c, port, flag):
    """A stop of "dr" with a slow request open: the instance stops taking
    connections and waits for the request before it is signalled."""
    answer = []

    def slow_request():
        with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
            s.sendall(b"GET /slow HTTP/1.0\r\n\r\n")
            answer.append(b"".join(iter(lambda: s.recv(4096), b"")))
    t = threading.Thread(target=slow_request)
    t.start()
    try:
        wait_for(lambda: "slow request" in c.logfile("dr").read_text(),
                 DEADLINE, what="the slow request accepted")
        stop = c.spawn("stop", "dr")
        # draining: it stays stopping while the request is open
        wait_for(lambda: c.app("dr")[0]["state"] != "online", DEADLINE,
                 what="the stop begun")
        assert c.app("dr")[0]["state"] == "stopping"
        assert "drained" not in c.daemon_log()
    finally:
        flag.touch()
        t.join(120)
    assert answer and answer[0].endswith(b"ok\n"), answer
    c.wait_state("dr", "stopped", 1)
    wait_for(lambda: not stop.running(), DEADLINE, what="stop's end")
    assert stop.popen.returncode == 0, stop.snapshot()
    assert "dr[0] id 0: drained" in c.daemon_log()


def test_stop_after_an_engine_kill_drains_first(corral):
    """The drain channels an app's processes opened outlive the engine
    (the keeper holds them): a stop after an engine kill first stops the
    instance taking connections and waits for the open one, then signals
    it, as the first engine would. The app dies at once at SIGTERM: a
    stop that signalled first would cut the slow request."""
    c = corral
    port, flag = free_port(), c.appdir / "go"
    start_slow(c, port, flag)
    kill_engine(c)
    stop_drains_first(c, port, flag)


def fault_engine(c, point):
    """Waits for the first engine's death at the fault point (see
    docs/HACKING.md, "Faults") and for the next engine. No command may
    be under way then: the dying engine would cut it."""
    wait_for(lambda: 'fault "%s"' % point in c.daemon_log(), DEADLINE,
             what="the fault at %s" % point)
    new = wait_for(lambda: (lambda e: e if e["generation"] == 2 else None)(
        engine(c)), DEADLINE, what="the next engine")
    assert new["kind"] == "restart", new
    assert new["reason"].endswith("killed by signal 9"), new


@pytest.mark.parametrize("point", ["ctlchan read HELLO",
                                   "ctlchan served HELLO"])
def test_drain_hello_outlives_an_engine_dying_with_it(corral, point):
    """A process's drain HELLO that the engine read but had not passed to
    the keeper, or passed but not taken off the channel, when it died:
    the next engine serves it once, and a stop drains that process
    first."""
    c = corral
    c.env["CORRAL_FAULT"] = point
    port, flag = free_port(), c.appdir / "go"
    start_slow(c, port, flag, point)
    twice = "a channel held already, kept once" in c.daemon_log()
    assert twice == (point == "ctlchan served HELLO"), c.daemon_log()
    assert c.app("dr")[0]["restarts"] == 0
    stop_drains_first(c, port, flag)


def test_a_packet_that_ends_the_engine_is_served_once(corral):
    """A HELLO whose serving crashes every engine (CORRAL_FAULT
    "...:abort", as a bug there would): the first engine, which peeks,
    aborts with the packet still on the channel; the next, started after
    a crash, takes each packet off before it serves it, and aborts too;
    the one after it serves on. Served again and again, the packet would
    end every engine."""
    c = corral
    point = "ctlchan read HELLO"
    line = 'fault "%s": the engine aborts' % point
    c.env["CORRAL_FAULT"] = point + ":abort"

    def third_engine(c, point):
        wait_for(lambda: c.daemon_log().count(line) == 2, DEADLINE,
                 what="two engines ended at %s" % point)
        e = wait_for(lambda: (lambda e: e if e["generation"] == 3 else
                                None)(engine(c)), DEADLINE,
                     what="the third engine")
        assert e["reason"].endswith("killed by signal 6"), e
    port, flag = free_port(), c.appdir / "go"
    flag.touch()
    start_slow(c, port, flag, point, third_engine)
    assert c.app("dr")[0]["restarts"] == 0
    assert engine(c)["generation"] == 3
    assert c.daemon_log().count(line) == 2


def paused_engine(c, old_pid):
    """The pid of the engine after old_pid once it has stopped itself
    (CORRAL_FAULT "...:pause"), or None."""
    try:
        with open(c.pidfile) as f:
            pid = int(f.read().split()[0])
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid != old_pid and state == "T" else None


def test_an_exit_read_with_the_table_is_not_lost(corral):
    """An app exits after the keeper sent the next engine its table and
    before that engine read it: its EXITED comes right after TABLE_END,
    in the same read. The engine takes it as the exit of the table's row
    (the app is restarted). Before, it was an exit of no app, dropped:
    the instance stayed online for good with a dead pid, and a stop of it
    never ended."""
    c = corral
    c.env["CORRAL_FAULT"] = "engine hello:pause"
    c.ok("start", "/bin/sleep", "--name", "nap", "--", "1000")
    old = c.wait_state("nap", "online")[0]["pid"]
    e = engine(c)
    os.kill(e["pid"], signal.SIGKILL)
    paused = wait_for(lambda: paused_engine(c, e["pid"]), DEADLINE,
                      what="the next engine stopped at HELLO")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{old}"), DEADLINE,
             what="the app reaped by the keeper")
    os.kill(paused, signal.SIGCONT)
    inst = wait_for(lambda: (lambda i: i if i["state"] == "online" and
                             i["pid"] != old else None)(c.app("nap")[0]),
                    DEADLINE, what="the app restarted")
    assert inst["restarts"] == 1, inst
    c.ok("stop", "nap", timeout=30)


def test_a_stop_the_next_engine_finds_done_stays_done(corral):
    """The state file says an instance stopped, and the keeper still holds
    the exit of its process (not released: a setsid grandchild keeps its
    stdout open, so its pipe never ends). The next engine, after a kill
    or an update, keeps it stopped and still reads that pipe. Before, it
    took the saved state for one older than its process and applied the
    exit again: the autorestart policy started the app the user had
    stopped."""
    c = corral
    c.env["CORRAL_CGROUP"] = "off"
    c.script("holder.sh", """\
        #!/bin/sh
        setsid sh -c 'echo $$ > holder.pid; exec sleep 1000' &
        echo started
        exec sleep 1000
        """)
    c.ok("start", "holder.sh", "--name", "hold")
    c.wait_state("hold", "online")
    pidfile = c.appdir / "holder.pid"
    wait_for(pidfile.exists, DEADLINE, what="the grandchild's pid")
    gc = int(pidfile.read_text())
    c.remember(gc)
    c.ok("stop", "hold", timeout=30)
    kill_engine(c)
    inst = c.app("hold")[0]
    assert inst["state"] == "stopped" and not inst["pid"], inst
    assert inst["restarts"] == 0, inst
    os.kill(gc, signal.SIGKILL)
    wait_for(lambda: "belongs to no app" not in c.daemon_log() and
             c.app("hold")[0]["state"] == "stopped", DEADLINE,
             what="the app still stopped")


# The end of an app that says READY=1 (once), then sleeps.
SAY_READY = """\
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
path = os.environ["NOTIFY_SOCKET"]
n.sendto(b"READY=1", "\\0" + path[1:] if path.startswith("@") else path)
while True:
    time.sleep(3600)
"""


READY_ONCE = """\
import os, socket, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
""" + SAY_READY


@pytest.mark.parametrize("point", ["notify read READY=1",
                                   "notify handled READY=1",
                                   "notify consumed READY=1"])
def test_ready_outlives_an_engine_dying_with_it(corral, point):
    """A READY=1 (said once) that the engine read and died before it
    handled it, after, or after it took it off the socket but before
    state.json said the instance was online: the next engine has the
    instance online, without a restart (it waited for a READY=1 that
    never came again, then restarted the instance)."""
    c = corral
    c.env["CORRAL_FAULT"] = point
    c.script("once.py", READY_ONCE)
    gate, state = c.appdir / "ready", os.path.join(c.home, "state.json")
    start = c.spawn("start", c.appdir / "once.py", "--name", "rd",
                    "--interpreter", PYTHON, "--ready", "notify",
                    "--listen-timeout", "1h", "--", gate)
    # READY=1 only once state.json has the app (written beside the wait):
    # an engine that died before would leave a next one that never heard
    # of the app, a start that failed (exit 111) with its process killed
    wait_for(lambda: '"rd"' in open(state).read(), DEADLINE,
             what="the app in state.json")
    gate.touch()
    fault_engine(c, point)
    # the start waited for READY=1: its engine died under it, and the
    # client waited on with the next one
    assert_start_answered(start, "rd")
    c.wait_state("rd", "online", 1)
    app = c.app("rd")[0]
    assert app["restarts"] == 0, app
    marked = "rd[0] id 0: its process had said it is ready" in c.daemon_log()
    assert marked == (point != "notify read READY=1"), c.daemon_log()


def answered(client, what):
    """The output of a client (c.spawn) once it ended with exit 0."""
    wait_for(lambda: not client.running(), DEADLINE,
             what=f"the {what}'s end")
    client.thread.join(DEADLINE)        # its output read to the end
    out = client.snapshot()
    assert client.popen.returncode == 0, out
    return out


def assert_start_answered(start, name):
    """The client of a start (c.spawn) ended with exit 0 and the list
    showing name online."""
    out = answered(start, "start")
    assert any(name in line and "online" in line for line in out), out


def start_waiting(c, gate):
    """A `corral start` of READY_ONCE as "rd" (READY=1 once gate is
    there), under way: waiting for READY=1, its change in state.json."""
    c.script("once.py", READY_ONCE)
    start = c.spawn("start", c.appdir / "once.py", "--name", "rd",
                    "--interpreter", PYTHON, "--ready", "notify",
                    "--listen-timeout", "1h", "--", gate)
    state = os.path.join(c.home, "state.json")
    wait_for(lambda: '"rd"' in open(state).read(), DEADLINE,
             what="the app in state.json")
    return start


def test_a_start_waiting_for_ready_outlives_an_engine_kill(corral):
    """An engine killed while a start waits for readiness, right after
    it told the client what the reply waits for: the client asks the next
    engine, which answers once the instance is ready (exit 0), as the
    first would have; before, the start failed (exit 111) while its app
    came up."""
    c = corral
    c.env["CORRAL_FAULT"] = "op pending"
    gate = c.appdir / "ready"
    start = start_waiting(c, gate)
    fault_engine(c, "op pending")
    assert start.running(), start.snapshot()
    gate.touch()
    assert_start_answered(start, "rd")
    app = c.app("rd")[0]
    assert app["restarts"] == 0 and app["state"] == "online", app


def test_a_start_waiting_for_ready_outlives_an_update(corral):
    """`corral update` while a start waits for readiness: the start
    answers once the instance is ready, from the new engine."""
    c = corral
    gate = c.appdir / "ready"
    start = start_waiting(c, gate)
    pid = c.app("rd")[0]["pid"]
    old = engine(c)
    c.ok("update")
    assert engine(c)["pid"] != old["pid"]
    gate.touch()
    assert_start_answered(start, "rd")
    app = c.app("rd")[0]
    assert (app["pid"], app["restarts"]) == (pid, 0), app


def test_a_reload_under_way_is_sent_again_after_an_engine_kill(corral):
    """An engine killed while a reload waits for its replacements: the
    next engine does not go on with a reload cut short, so the client
    sends it again, and answers once that one is done: every instance
    replaced, exit 0 (before: exit 111, the reload half done)."""
    c = corral
    c.env["CORRAL_FAULT"] = "reload pending"
    gate = c.appdir / "ready"
    gate.touch()
    c.script("once.py", READY_ONCE)
    c.ok("start", c.appdir / "once.py", "--name", "rl", "-i", "2",
         "--interpreter", PYTHON, "--ready", "notify",
         "--listen-timeout", "1h", "--", gate)
    old = {i["pid"] for i in c.wait_state("rl", "online", 2)}
    gate.unlink()                   # the replacements wait for it
    reload = c.spawn("reload", "rl")
    fault_engine(c, "reload pending")
    assert reload.running(), reload.snapshot()
    gate.touch()
    answered(reload, "reload")
    now = c.wait_state("rl", "online", 2)
    assert not old & {i["pid"] for i in now}, (old, now)


# Ready (NOTIFY READY=1) at once, but once argv[1] exists only the first
# process to make argv[2] is: the others wait for argv[3] first.
READY_FIRST = """\
import os, socket, sys, time
reloading, claim, gate = sys.argv[1:4]
if os.path.exists(reloading):
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        while not os.path.exists(gate):
            time.sleep(0.02)
""" + SAY_READY


def test_a_reload_sent_again_keeps_what_the_first_replaced(corral):
    """An engine killed halfway through a reload (one instance replaced,
    the next replacement waiting to be ready): the reload the client
    sends again keeps the replaced instance (its process started since
    the first reload began) and replaces only the other. Before, it
    replaced both again."""
    c = corral
    c.script("first.py", READY_FIRST)
    reloading, claim, gate = (c.appdir / n for n in ("reloading", "claim",
                                                     "gate"))
    c.ok("start", c.appdir / "first.py", "--name", "rl", "-i", "2",
         "--interpreter", PYTHON, "--ready", "notify",
         "--listen-timeout", "1h", "--", reloading, claim, gate)
    old = {i["pid"] for i in c.wait_state("rl", "online", 2)}
    reloading.touch()
    reload = c.spawn("reload", "rl", "--surge", "1")

    def half():
        insts = c.app("rl")
        new = [i for i in insts if i["state"] == "online" and
               i["pid"] not in old]
        waiting = [i for i in insts if i["state"] == "starting"]
        return new[0] if len(new) == 1 and waiting else None
    first = wait_for(half, DEADLINE, what="one instance replaced, the "
                     "next replacement waiting")

    def waiting_saved():
        with open(os.path.join(c.home, "state.json")) as f:
            insts = json.load(f)["apps"][0]["instances"]
        return any(i["state"] == "starting" for i in insts)
    # The client is told it may send the reload again (its pending line)
    # once state.json shows the reload; one that shows the replacement
    # waiting shows it. An engine killed before would leave the client
    # nothing to send again (CI at 6250151, a loaded machine: exit 111).
    wait_for(waiting_saved, DEADLINE, what="the reload in state.json")
    kill_engine(c)
    gate.touch()
    answered(reload, "reload")
    now = c.wait_state("rl", "online", 2)
    kept = [i for i in now if i["instance"] == first["instance"]]
    assert kept[0]["pid"] == first["pid"], (first, now)
    other = [i for i in now if i["instance"] != first["instance"]]
    assert other[0]["pid"] not in old | {first["pid"]}, (old, now)
    assert "was started by the reload an engine before began: kept" in \
        c.daemon_log()


def test_kill_stops_a_daemon_whose_engine_keeps_failing(corral):
    """Every engine aborts as soon as it serves (CORRAL_FAULT=engine
    ready:abort): the keeper restarts each after a longer delay, and no
    request is ever answered. No command waits for ever: `ls` and `stop`
    give up after 5 s without an engine (exit 111, saying why), and
    `corral kill` then has the keeper stop the apps itself (SIGTERM),
    waits for the keeper's exit and says so."""
    c = corral
    env = dict(c.env, CORRAL_FAULT="engine ready:abort")
    subprocess.run([str(BUILD / "corrald")], env=env, check=True,
                   timeout=60, stdout=subprocess.DEVNULL)
    keeper = c.keeper_pid()
    c.remember(keeper)
    wait_for(lambda: 'fault "engine ready": the engine aborts' in
             c.daemon_log(), DEADLINE, what="the first engine's abort")
    for words in (["ls"], ["stop", "all"]):
        r = c.run(*words, timeout=120)
        assert r.rc == 111, (words, r.out, r.err)
        assert "no engine has answered for 5 s" in r.err, r.err
        assert "keeps failing" in r.err, r.err
    assert pid_alive(keeper)
    r = c.run("kill", timeout=120)
    assert r.rc == 0, (r.out, r.err)
    assert "no engine has answered" in r.err, r.err
    assert "daemon stopped" in r.out, r.out
    assert not pid_alive(keeper)


SLOW_STOP = """\
import os, signal, sys, time
def term(*_):
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.02)
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
open(sys.argv[2], "w").close()
while True:
    time.sleep(3600)
"""


def test_a_stop_under_way_outlives_an_engine_kill(corral):
    """An engine killed while a stop waits for its instance to exit
    (the app takes its time after SIGTERM): the client waits on with the
    next engine and answers once the instance stopped."""
    c = corral
    c.env["CORRAL_FAULT"] = "op pending"
    gate = c.appdir / "gone"
    c.script("slowstop.py", SLOW_STOP)
    c.ok("start", c.appdir / "slowstop.py", "--name", "ss",
         "--interpreter", PYTHON, "--kill-timeout", "1h", "--", gate,
         c.appdir / "trapped")
    wait_for(lambda: (c.appdir / "trapped").exists(), DEADLINE,
             what="the app's SIGTERM handler")
    stop = c.spawn("stop", "ss")
    fault_engine(c, "op pending")
    assert stop.running(), stop.snapshot()
    gate.touch()
    out = answered(stop, "stop")
    assert any("ss" in line and "stopped" in line for line in out), out
    assert c.app("ss")[0]["state"] == "stopped"


def test_a_restart_under_way_outlives_an_engine_kill(corral):
    """An engine killed while a restart waits for its instance to exit
    (the app takes its time after SIGTERM): the next engine still
    restarts the instance once it exits, as the first would have, and
    the client, waiting on with the next engine, answers with it online
    in a new process. Before, state.json did not say that a restart was
    pending: the next engine took a plain stop, the instance ended
    stopped for good and the restart answered exit 0."""
    c = corral
    c.env["CORRAL_FAULT"] = "op pending"
    gate, trapped = c.appdir / "gone", c.appdir / "trapped"
    c.script("slowstop.py", SLOW_STOP)
    c.ok("start", c.appdir / "slowstop.py", "--name", "rs",
         "--interpreter", PYTHON, "--kill-timeout", "30s", "--", gate,
         trapped)
    wait_for(trapped.exists, DEADLINE, what="the app's SIGTERM handler")
    old = c.app("rs")[0]
    restart = c.spawn("restart", "rs")
    fault_engine(c, "op pending")
    # the next engine has it stopping still, its restart pending, and the
    # client waits on
    assert c.app("rs")[0]["state"] == "stopping", c.app("rs")
    assert restart.running(), restart.snapshot()
    trapped.unlink()
    gate.touch()
    out = answered(restart, "restart")
    assert any("rs" in line and "online" in line for line in out), out
    now = c.wait_state("rs", "online", 1)[0]
    assert now["pid"] != old["pid"], (old, now)
    assert now["restarts"] == old["restarts"] + 1, (old, now)
    wait_for(trapped.exists, DEADLINE, what="the new process's handler")


def test_a_failed_start_being_stopped_outlives_an_engine_kill(corral):
    """An engine killed while it stops an instance that was not ready in
    time (the app takes its time after SIGTERM): once the process exits,
    the next engine applies the restart policy to a failed start (the
    instance starts again), as the first would have. Before, it took a
    plain stop: the instance ended stopped for good."""
    c = corral
    gate, trapped = c.appdir / "gone", c.appdir / "trapped"
    c.script("slowstop.py", SLOW_STOP)
    r = c.run("start", c.appdir / "slowstop.py", "--name", "nr",
              "--interpreter", PYTHON, "--ready", "notify",
              "--listen-timeout", "1s", "--kill-timeout", "30s", "--",
              gate, trapped)
    assert r.rc == 1 and "failed to start" in r.err, r
    old = c.wait_state("nr", "stopping", 1)[0]
    kill_engine(c)
    assert c.app("nr")[0]["state"] == "stopping", c.app("nr")
    gate.touch()

    wait_for(lambda: c.app("nr")[0]["restarts"] >= 1, DEADLINE,
             what="nr started again")
    spawned = re.findall(r"nr\[0\] id 0: started pid (\d+)",
                         c.daemon_log())
    assert len(spawned) >= 2 and int(spawned[1]) != old["pid"], spawned


SLEEPER = """\
#!/bin/sh
exec sleep 3600
"""


@pytest.mark.parametrize("change", ["watch", "log folder"])
def test_an_app_failing_a_check_since_its_start_is_restored(corral, change):
    """After the app started, a path its checks look at changed: its
    watched folder went, or its log folder became writable by others.
    A new start would be refused, but an engine kill keeps the app as it
    was: restored with its process adopted, the problem logged and shown
    by describe. Before, the next engine did not restore the app, killed
    its process as belonging to no app and left it out of state.json."""
    c = corral
    c.script("sleeper.sh", SLEEPER)
    watched, logs = c.appdir / "src", c.appdir / "applogs"
    watched.mkdir()
    logs.mkdir(mode=0o755)
    c.ok("start", "sleeper.sh", "--name", "ck", "--watch", watched,
         "--output", logs / "ck.log")
    old = c.wait_state("ck", "online", 1)[0]
    if change == "watch":
        watched.rmdir()
        why = "watch: %s: No such file or directory" % watched
    else:
        logs.chmod(0o777)
        why = "can be written by other users"
    kill_engine(c)
    now = c.wait_state("ck", "online", 1)[0]
    assert (now["pid"], now["restarts"]) == (old["pid"], 0), (old, now)
    assert pid_alive(old["pid"])
    assert "ck: restored, but a new start would fail: " in c.daemon_log()
    assert "belongs to no app" not in c.daemon_log()
    cfg = json.loads(c.ok("describe", "ck", "--json"))[0]["app"]
    assert why in cfg["problem"], cfg
    with open(os.path.join(c.home, "state.json")) as f:
        assert [a["config"]["name"] for a in json.load(f)["apps"]] == \
            ["ck"]
    # a start now is refused for the same reason
    r = c.run("start", "sleeper.sh", "--name", "ck2", "--watch", watched,
              "--output", logs / "ck2.log")
    assert r.rc == 1 and why in r.err, r


def listen_inode(port):
    """The inode of the socket listening on 127.0.0.1:port."""
    local = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            col = line.split()
            if col[1] == local and col[3] == "0A":
                return int(col[9])
    return None


def holds(pid, inode):
    """Whether pid has a descriptor of the socket inode."""
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == \
                    "socket:[%d]" % inode:
                return True
        except OSError:
            pass
    return False


def test_bind_outlives_an_engine_dying_with_it(corral):
    """A cluster process's bind() that the engine read and died before
    answering: the next engine answers it with the socket it holds (the
    preload library would bind the app's own after 10 s), and the process
    serves without a restart."""
    c = corral
    c.env["CORRAL_FAULT"] = "ctlchan read BIND"
    port, flag = free_port(), c.appdir / "go"
    flag.touch()
    start_slow(c, port, flag, "ctlchan read BIND")
    app = c.app("dr")[0]
    assert app["restarts"] == 0 and app["state"] == "online", app
    assert get(port)
    assert holds(engine(c)["pid"], listen_inode(port)), \
        "the engine holds no socket on %d" % port


# --- corral update --------------------------------------------------------------

INSTALLED = ("corral", "corrald", "corral-keeper", "corral-exec",
             "corral-monit", "libcorral-preload.so", "corral-ecosystem.js")


def install(tmp_path):
    """The build's binaries in a folder of their own (the client starts
    the corrald beside it, corrald the keeper beside it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in INSTALLED:
        if (BUILD / name).exists():
            shutil.copy2(BUILD / name, bin_dir / name)
    return bin_dir


def replace(bin_dir, name, data):
    """Installs data as bin_dir/name as an installer does: a new file
    renamed over the old one."""
    tmp = bin_dir / (name + ".new")
    tmp.write_bytes(data)
    tmp.chmod(0o755)
    os.replace(tmp, bin_dir / name)


def patched_version(data, old):
    """corrald's bytes with its version string `old` changed (same
    length): the rebuilt binary of a new release."""
    new = old[:-1] + ("9" if old[-1] != "9" else "8")
    was = old.encode() + b"\0"
    assert data.count(was) >= 1
    return data.replace(was, new.encode() + b"\0"), new


def start_installed(c, tmp_path):
    """The web and tick apps, from a daemon started by the client of a
    copy of the build (install()); returns (its folder, web's port, the
    engine's `corral engine`)."""
    bin_dir = install(tmp_path)
    port = free_port()
    r = run(c, bin_dir, "start", WEB_APP, "--name", "web", "-i", "2",
            "--interpreter", PYTHON, "--listen", "127.0.0.1:%d" % port)
    assert r.returncode == 0, r.stderr
    c.script("tick.py", TICKER)
    r = run(c, bin_dir, "start", c.appdir / "tick.py", "--name", "tick")
    assert r.returncode == 0, r.stderr
    c.wait_state("web", "online", 2, timeout=DEADLINE)
    c.wait_state("tick", "online", 1)
    wait_for(lambda: len(numbers(c, "tick")) > 50, DEADLINE,
             what="the ticker's first lines")
    e = engine(c, bin_dir)
    exe = os.readlink("/proc/%d/exe" % e["pid"])
    assert exe == str(bin_dir / "corrald"), exe
    return bin_dir, port, e


def update_under_load(c, bin_dir, port, data):
    """Installs data as bin_dir/corrald and runs `corral update` under
    load; the apps must come through untouched (same pids, restarts and
    start times, no failed request, no log gap). Returns the client's
    result."""
    replace(bin_dir, "corrald", data)
    before = snapshot(c, ("tick", "web"))
    with Load(port) as load:
        r = run(c, bin_dir, "update")
        ticked = numbers(c, "tick")[-1]
        load.more()
    assert_same(before, snapshot(c, ("tick", "web")))
    assert load.errors == [], load.errors[:5]
    assert_no_gap(c, "tick", ticked + 200)
    return r


def test_update_to_a_new_version_under_load(corral, tmp_path):
    c = corral
    bin_dir, port, old = start_installed(c, tmp_path)
    keeper = c.keeper_pid()
    data, version = patched_version((bin_dir / "corrald").read_bytes(),
                                    old["version"])
    r = update_under_load(c, bin_dir, port, data)
    assert r.returncode == 0, r.stderr
    assert "updated corrald %s -> %s" % (old["version"], version) in r.stdout
    new = engine(c, bin_dir)
    assert (new["version"], new["kind"]) == (version, "upgrade"), new
    assert new["generation"] == old["generation"] + 1
    assert new["pid"] != old["pid"] and c.keeper_pid() == keeper


def test_update_to_a_binary_that_exits_rolls_back(corral, tmp_path):
    c = corral
    bin_dir, port, old = start_installed(c, tmp_path)
    r = update_under_load(c, bin_dir, port,
                          open("/bin/false", "rb").read())
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "update failed: " in r.stderr and "exited with status 1" in \
        r.stderr, r.stderr
    back = engine(c, bin_dir)
    assert back["version"] == old["version"] and back["kind"] == "rollback"
    assert "exited with status 1" in back["update_failed"], back
    # the old engine serves on: a new app starts through it
    c.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    r = run(c, bin_dir, "start", c.appdir / "idle.sh", "--name", "idle")
    assert r.returncode == 0, r.stderr
    c.wait_state("idle", "online", 1)


def test_update_reexecutes_a_new_keeper(corral, tmp_path):
    # another corral-keeper installed: update re-executes the keeper (same
    # pid, its table carried through a descriptor), then the engine
    c = corral
    bin_dir, port, old = start_installed(c, tmp_path)
    keeper = c.keeper_pid()
    replace(bin_dir, "corral-keeper", (bin_dir / "corral-keeper").read_bytes())
    new_keeper = os.stat(bin_dir / "corral-keeper").st_ino
    r = update_under_load(c, bin_dir, port, (bin_dir / "corrald").read_bytes())
    assert r.returncode == 0, r.stderr
    assert "re-executed the keeper" in r.stdout, r.stdout
    assert c.keeper_pid() == keeper
    assert os.stat("/proc/%d/exe" % keeper).st_ino == new_keeper
    new = engine(c, bin_dir)
    assert new["kind"] == "upgrade" and new["pid"] != old["pid"], new


# --- what a node app says over its IPC channel ------------------------------------

NODE = shutil.which("node") or shutil.which("nodejs")

# Ready (process.send('ready')) once a flag file exists; says so and exits
# 0 on the message 'shutdown'.
READY_JS = """\
const fs = require('fs');
const flag = process.argv[2];
const t = setInterval(() => {
  if (fs.existsSync(flag)) { clearInterval(t); process.send('ready'); }
}, 20);
process.on('message', (m) => {
  if (m === 'shutdown') { console.log('got shutdown'); process.exit(0); }
});
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("point", ["nodeipc read ready",
                                   "nodeipc handled ready",
                                   "nodeipc consumed ready"])
def test_node_ready_outlives_an_engine_dying_with_it(corral, point):
    """A process.send('ready') (said once) that the engine read from the
    Node IPC channel and died before it handled it, after, or after it
    took it off the channel: the next engine has the instance online,
    without a restart, and the start waiting for it exits 0. Before, a
    message read was gone with the engine that read it."""
    c = corral
    c.env["CORRAL_FAULT"] = point
    gate, state = c.appdir / "go", os.path.join(c.home, "state.json")
    (c.appdir / "ready.js").write_text(READY_JS)
    start = c.spawn("start", c.appdir / "ready.js", "--name", "nd",
                    "--wait-ready", "--listen-timeout", "1h", "--", gate)
    wait_for(lambda: '"nd"' in open(state).read(), DEADLINE,
             what="the app in state.json")
    gate.touch()
    fault_engine(c, point)
    assert_start_answered(start, "nd")
    app = c.wait_state("nd", "online", 1)[0]
    assert app["restarts"] == 0, app
    marked = "nd[0] id 0: its process had said it is ready" in c.daemon_log()
    assert marked == (point != "nodeipc read ready"), c.daemon_log()


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_ipc_channel_outlives_the_engine(corral, tmp_path):
    c = corral
    flag = tmp_path / "go"
    (c.appdir / "ready.js").write_text(READY_JS)
    c.spawn("start", c.appdir / "ready.js", "--name", "nd", "--wait-ready",
            "--shutdown-with-message", "--listen-timeout", "120s", "--",
            flag)
    inst = c.wait_state("nd", "starting", 1)[0]
    # the start is kept once state.json has it (the client's pending
    # line): an engine killed before that had not kept it (exit 111)
    state = os.path.join(c.home, "state.json")
    wait_for(lambda: '"nd"' in open(state).read(), DEADLINE,
             what="the app in state.json")
    kill_engine(c)
    # 'ready' reaches the next engine through the channel the keeper held
    flag.write_text("")
    online = c.wait_state("nd", "online", 1, timeout=DEADLINE)[0]
    assert (online["pid"], online["restarts"]) == (inst["pid"], 0)
    # and its 'shutdown' reaches the app
    c.ok("stop", "nd")
    wait_for(lambda: "got shutdown" in c.logfile("nd").read_text(), DEADLINE,
             what="'shutdown' received")
    assert c.app("nd")[0]["reason"] == "exited with code 0"
