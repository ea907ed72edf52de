# SPDX-License-Identifier: ISC
"""`corral monit`: the real client on a pseudo-terminal, read through a
terminal emulator (pyte), against a real daemon with real apps; and the
daemon's stats subscription spoken to directly on the control socket."""

import json
import os
import re
import signal
import termios
import time

import pytest

from conftest import CORRAL_BIN, DEADLINE, wait_for
from monit_term import Term

SLEEPER = """\
#!/bin/sh
exec sleep 1000
"""

TALKER = """\
#!/bin/sh
echo "hello-out"
echo "hello-err" >&2
i=0
while :; do
  echo "beat-$i"
  i=$((i+1))
  sleep 0.5
done
"""

# a talker that also burns a little CPU, unevenly, for the sparklines
BUSY_TALKER = TALKER.replace('  echo "beat-$i"', """\
  n=0
  while [ $n -lt $(( (i % 4) * 3000 )) ]; do n=$((n+1)); done
  echo "beat-$i\"""")

CRASHER = """\
#!/bin/sh
exit 3
"""


@pytest.fixture
def monit(corral):
    """Opens `corral monit` on a pty of the given size; closed at teardown
    (before the daemon is killed)."""
    terms = []

    def open_(cols=80, rows=24, args=(), env=None):
        e = dict(corral.env)
        e.update({"TERM": "xterm-color", "LANG": "C.UTF-8",
                  "LC_ALL": "C.UTF-8"})
        e.pop("NO_COLOR", None)
        if env:
            e.update(env)
        t = Term([str(CORRAL_BIN), "monit", *args], e, cols, rows)
        terms.append(t)
        return t

    yield open_
    for t in terms:
        t.close()


def row_for(t, name):
    """The table row of instance `name` (as shown in the name column)."""
    for line in t.lines()[2:]:
        cells = line[2:].split()
        if len(cells) > 1 and cells[1] == name:
            return cells
    return None


def wait_row(t, name, pred, what):
    def ok(_):
        cells = row_for(t, name)
        return cells is not None and pred(cells)
    t.wait(ok, DEADLINE, what)
    return row_for(t, name)


def test_table_shows_apps_with_their_states(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.script("crasher.sh", CRASHER)
    corral.ok("start", "sleeper.sh", "--name", "web", "-i", "2")
    corral.ok("start", "crasher.sh", "--name", "bad", "--max-restarts", "1",
              "--min-uptime", "10s")
    web = corral.wait_state("web", "online", 2)
    corral.wait_state("bad", "errored", 1)
    t = monit()
    for inst in web:
        cells = wait_row(t, f"web:{inst['instance']}",
                         lambda c, p=inst["pid"]: c[2] == str(p),
                         f"web:{inst['instance']} with pid {inst['pid']}")
        assert cells[0] == str(inst["id"])
        assert cells[3] == "online"
    cells = wait_row(t, "bad", lambda c: c[3] == "errored", "bad errored")
    assert cells[2] == "-"          # no pid
    header = t.lines()[0]
    assert "2 online" in header and "1 errored" in header
    assert t.lines()[1].split()[:4] == ["id", "name", "pid", "state"]
    # the first row is selected; its exit reason is in the detail title
    t.send("G")
    t.wait(lambda s: re.search(r"bad \(id \d+\).*exited with code 3", s),
           DEADLINE, "bad's exit reason")


def test_crash_shows_up(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "api")
    (inst,) = corral.wait_state("api", "online", 1)
    t = monit()
    wait_row(t, "api", lambda c: c[2] == str(inst["pid"]), "api's pid")
    os.kill(inst["pid"], signal.SIGKILL)
    crashed = time.monotonic()
    # restarted: a new pid and one restart, on screen as in jlist
    cells = wait_row(t, "api", lambda c: c[2] != str(inst["pid"]) and
                     c[2] != "-" and c[4] == "1", "api restarted once")
    seen = time.monotonic() - crashed
    (now,) = corral.wait_state("api", "online", 1)
    assert cells[2] == str(now["pid"])
    print(f"crash shown after {seen:.2f}s")
    t.wait(lambda s: re.search(r"api \(id \d+\).*killed by SIGKILL", s),
           DEADLINE, "the last exit in the detail title")


def test_restart_key_restarts_the_selected_instance(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "one")
    corral.ok("start", "sleeper.sh", "--name", "two")
    one = corral.wait_state("one", "online", 1)[0]
    two = corral.wait_state("two", "online", 1)[0]
    t = monit()
    wait_row(t, "two", lambda c: c[2] == str(two["pid"]), "two's row")
    t.send("j")                      # select "two", the second row
    t.wait(lambda s: s.splitlines()[3].startswith(">"), DEADLINE,
           "two selected")
    assert "two" in t.lines()[3]
    t.send("r")
    cells = wait_row(t, "two", lambda c: c[2] not in (str(two["pid"]), "-"),
                     "two's new pid")
    t.wait(lambda s: "restart two" in s.splitlines()[-1], DEADLINE,
           "restart's result in the status line")
    new = corral.app("two")[0]
    assert new["pid"] != two["pid"] and cells[2] == str(new["pid"])
    assert corral.app("one")[0]["pid"] == one["pid"]    # not touched


def test_stop_start_and_delete_with_confirmation(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "svc")
    corral.wait_state("svc", "online", 1)
    t = monit()
    wait_row(t, "svc", lambda c: c[3] == "online", "svc online")
    t.send("s")
    wait_row(t, "svc", lambda c: c[3] == "stopped", "svc stopped")
    corral.wait_state("svc", "stopped", 1)
    t.send("S")
    wait_row(t, "svc", lambda c: c[3] == "online", "svc online again")
    t.send("d")
    t.wait(lambda s: "delete app 'svc'" in s.splitlines()[-1], DEADLINE,
           "the delete question")
    t.send("n")                      # anything but y cancels
    t.wait(lambda s: "delete app" not in s, DEADLINE, "question gone")
    assert len(corral.app("svc")) == 1
    t.send("d")
    t.wait(lambda s: "delete app 'svc'" in s, DEADLINE, "the question again")
    t.send("y")
    t.wait(lambda s: row_for(t, "svc") is None and "no instances" in s,
           DEADLINE, "svc gone from the table")
    assert corral.app("svc") == []


def test_actions_report_errors_in_the_status_line(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "app")
    corral.wait_state("app", "online", 1)
    t = monit()
    wait_row(t, "app", lambda c: c[3] == "online", "app online")
    t.send("R")                      # reload: its result, or its error
    t.wait(lambda s: s.splitlines()[-1].startswith("reload app:"),
           DEADLINE, "reload's result in the status line")


def test_log_pane_tells_stdout_and_stderr_apart(corral, monit):
    corral.script("talker.sh", TALKER)
    corral.ok("start", "talker.sh", "--name", "talk")
    corral.wait_state("talk", "online", 1)
    t = monit()
    wait_row(t, "talk", lambda c: c[3] == "online", "talk online")
    # new lines stream in as they are written
    t.wait(lambda s: re.search(r"^  beat-\d+$", s, re.M), DEADLINE,
           "a stdout line in the log pane")
    corral.ok("restart", "talk")
    t.wait(lambda s: "! hello-err" in s.splitlines(), DEADLINE,
           "the stderr line, marked")
    assert "  hello-out" in t.lines()


def test_log_pane_scrolls_and_is_safe_from_escapes(corral, monit):
    corral.script("noisy.sh", r"""
        #!/bin/sh
        while [ ! -e go ]; do sleep 0.05; done
        printf 'evil \033[2J\033[1;1Hgotcha\n'
        i=0
        while [ $i -lt 60 ]; do echo "line-$i"; i=$((i+1)); done
        exec sleep 1000
        """)
    corral.ok("ping")
    t = monit()
    corral.ok("start", "noisy.sh", "--name", "noisy")
    # monit streams the log lines on the connection its table comes by
    wait_row(t, "noisy", lambda c: True, "noisy in the table")
    (corral.appdir / "go").touch()
    t.wait_text("line-59")
    # the escape sequences are shown, not obeyed: the screen is intact
    assert t.lines()[-1].startswith("q:quit")
    assert t.lines()[1].split()[:2] == ["id", "name"]
    assert "line-1\n" not in t.text() and "line-10" not in t.text()
    t.send("\t")                     # focus the log pane, scroll back
    t.wait_text("Up/Down scroll, Esc back")
    for _ in range(60):
        t.send("k")
    t.wait(lambda s: "  line-0" in s.splitlines(), DEADLINE,
           "the oldest lines")
    t.wait(lambda s: re.search(r"^  evil \?\[2J\?\[1;1Hgotcha$", s, re.M),
           DEADLINE, "the escapes as text")
    assert re.search(r"log \(\d+ lines back", t.text())
    t.send("G")                      # follow again
    t.wait(lambda s: "  line-59" in s.splitlines() and
           "lines back" not in s, DEADLINE, "following again")


def test_filter_and_help(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    for name in ("alpha", "beta", "alpine"):
        corral.ok("start", "sleeper.sh", "--name", name)
        corral.wait_state(name, "online", 1)
    t = monit()
    wait_row(t, "alpine", lambda c: True, "alpine's row")
    t.send("/alp")
    t.wait(lambda s: row_for(t, "beta") is None, DEADLINE, "beta filtered")
    assert row_for(t, "alpha") and row_for(t, "alpine")
    assert "filter: alp" in t.text()
    t.send("\r")
    t.send("\x1b")                   # Esc at the table: nothing happens
    t.send("/")
    t.send("\x1b")                   # Esc at the prompt: filter cleared
    t.wait(lambda s: row_for(t, "beta") is not None, DEADLINE, "beta back")
    t.send("?")
    t.wait_text("corral monit keys")
    assert "restart the selected instance" in t.text()
    t.send("x")
    t.wait(lambda s: "corral monit keys" not in s, DEADLINE, "help closed")


def check_frame(t, cols, rows):
    lines = t.lines()
    assert len(lines) == rows
    assert re.match(r"^ \S+  up \d+[smhd]  \d+ online  \d+ errored", lines[0])
    assert lines[1].split()[:4] == ["id", "name", "pid", "state"]
    assert lines[-1].startswith("q:quit")
    rules = [i for i, ln in enumerate(lines) if ln.startswith("\u2500\u2500")]
    assert len(rules) == 2, t.text()
    detail, log = rules
    assert lines[detail + 1].startswith(" cpu")
    assert lines[detail + 2].startswith(" mem")
    assert log == detail + 3
    assert all(len(ln) <= cols for ln in lines)
    return rules


def test_resize_redraws_at_80x24_and_200x60(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "rs", "-i", "3")
    corral.wait_state("rs", "online", 3)
    t = monit(100, 30)
    wait_row(t, "rs:2", lambda c: c[3] == "online", "rs:2")
    t.resize(80, 24)
    t.wait(lambda s: s.splitlines()[-1].startswith("q:quit") and
           len(s.splitlines()) == 24, DEADLINE, "a frame at 80x24")
    t.pump(0.5)
    check_frame(t, 80, 24)
    assert row_for(t, "rs:0") and row_for(t, "rs:2")
    t.resize(200, 60)
    t.wait(lambda s: len(s.splitlines()) == 60 and
           s.splitlines()[59].startswith("q:quit"), DEADLINE,
           "a frame at 200x60")
    t.pump(0.5)
    check_frame(t, 200, 60)
    assert "load" in t.lines()[0] and "mem" in t.lines()[0]
    # the rule lines span the new width
    assert t.lines()[check_frame(t, 200, 60)[1]].endswith("\u2500" * 50)
    # too small: says so instead of drawing garbage, and comes back
    t.resize(30, 8)
    t.wait_text("terminal too small")
    t.resize(80, 24)
    t.wait(lambda s: s.splitlines()[-1].startswith("q:quit"), DEADLINE,
           "back to 80x24")


def test_screen_as_documented(corral, monit):
    """The screen of docs/monit.md; CORRAL_MONIT_CAPTURE=FILE saves it."""
    corral.script("talker.sh", BUSY_TALKER)
    corral.script("sleeper.sh", SLEEPER)
    corral.script("crasher.sh", CRASHER)
    t = monit()                      # starts the daemon; lines come live
    t.wait_text("no instances")
    corral.ok("start", "talker.sh", "--name", "api", "-i", "2")
    corral.ok("start", "sleeper.sh", "--name", "worker")
    corral.ok("start", "crasher.sh", "--name", "cron", "--max-restarts", "1",
              "--min-uptime", "10s")
    corral.wait_state("api", "online", 2)
    corral.wait_state("cron", "errored", 1)
    t.wait(lambda s: re.search(r"^  beat-10$", s, re.M), DEADLINE,
           "some history")
    check_frame(t, 80, 24)
    for name, state in (("api:0", "online"), ("api:1", "online"),
                        ("worker", "online"), ("cron", "errored")):
        assert row_for(t, name)[3] == state
    path = os.environ.get("CORRAL_MONIT_CAPTURE")
    if path:
        with open(path, "w") as f:
            f.write(t.text() + "\n")


def lflags(t):
    return t.termios()[3]


@pytest.mark.parametrize("how", ["q", "ctrl-c", "sigterm", "sighup"])
def test_quitting_restores_the_terminal(corral, monit, how):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "q")
    corral.wait_state("q", "online", 1)
    t = monit()                      # on a pty in the usual cooked mode
    wait_row(t, "q", lambda c: c[3] == "online", "q online")
    during = lflags(t)
    assert not during & termios.ICANON and not during & termios.ECHO
    if how == "q":
        t.send("q")
    elif how == "ctrl-c":
        t.send("\x03")
    elif how == "sigterm":
        os.kill(t.pid, signal.SIGTERM)
    else:
        os.kill(t.pid, signal.SIGHUP)
    rc = t.exited()
    assert rc == {"q": 0, "ctrl-c": 0, "sigterm": 128 + signal.SIGTERM,
                  "sighup": 128 + signal.SIGHUP}[how]
    after = lflags(t)
    assert after & termios.ICANON and after & termios.ECHO
    assert not t.screen.cursor.hidden


def test_usage_errors_before_taking_the_screen(corral, monit):
    t = monit(args=("--interval", "5ms"))
    assert t.exited() == 100
    assert "--interval: 5ms is not between 100ms and 60s" in t.text()
    assert lflags(t) & termios.ICANON
    r = corral.run("monit")          # stdin and stdout are pipes here
    assert r.rc == 1 and "needs a terminal" in r.err


def test_daemon_going_away_is_survived(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "dg")
    corral.wait_state("dg", "online", 1)
    t = monit()
    wait_row(t, "dg", lambda c: c[3] == "online", "dg online")
    corral.ok("kill")
    t.wait(lambda s: "[disconnected]" in s.splitlines()[0] and
           "retrying" in s.splitlines()[-1], DEADLINE, "disconnected")
    assert t.status is None and os.waitpid(t.pid, os.WNOHANG) == (0, 0)
    # the last figures stay on screen
    assert row_for(t, "dg") is not None
    corral.ok("start", "sleeper.sh", "--name", "back")
    corral.wait_state("back", "online", 1)
    t.wait(lambda s: "[disconnected]" not in s and
           row_for(t, "back") is not None, DEADLINE, "reconnected")
    assert row_for(t, "dg") is None  # the new daemon does not know it
    t.send("q")
    assert t.exited() == 0
    assert lflags(t) & termios.ICANON


def test_without_utf8_or_colours_it_draws_ascii(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "plain")
    corral.wait_state("plain", "online", 1)
    t = monit(env={"LANG": "C", "LC_ALL": "C", "NO_COLOR": "1"})
    wait_row(t, "plain", lambda c: c[3] == "online", "plain online")
    t.pump(1.5)
    text = t.text()
    assert text.isascii(), text
    assert re.search(r"^-- plain \(id \d+\)", text, re.M)
    assert re.search(r"^ cpu +[_.,:=+*#-]+ ", text, re.M)
    colours = {ch.fg for line in t.screen.buffer.values()
               for ch in line.values()}
    assert colours <= {"default"}, colours


def test_redraws_send_only_what_changed(corral, monit):
    corral.script("sleeper.sh", SLEEPER)
    corral.ok("start", "sleeper.sh", "--name", "calm", "-i", "4")
    corral.wait_state("calm", "online", 4)
    t = monit(args=("--interval", "200ms"))
    wait_row(t, "calm:3", lambda c: c[3] == "online", "calm:3")
    t.pump(1.0)
    full = t.received        # at least one whole frame
    # a whole frame is ~2 KB; 5 updates a second redrawn in full would send
    # ~10 KB a second
    start = t.received
    began = time.monotonic()
    t.pump(3.0)
    per_second = (t.received - start) / (time.monotonic() - began)
    print(f"first frames {full} bytes, then {per_second:.0f} bytes/s "
          f"at 5 updates/s")
    assert per_second < full, (full, per_second)


# --- the daemon's side, spoken to directly --------------------------------

def read_events(sock, pred, what, timeout=DEADLINE):
    """Reads lines until pred(list of decoded lines) is true."""
    buf = b""
    events = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if not data:
            break
        buf += data
        *lines, buf = buf.split(b"\n")
        events += [json.loads(ln) for ln in lines if ln]
        if pred(events):
            return events
    pytest.fail(f"timed out waiting for {what}; got {events[-3:]}")


def subscribe(corral, argv=()):
    corral.ok("ping")                # starts the daemon if need be
    s = corral.raw_connect()
    s.settimeout(1)
    s.sendall(json.dumps({"v": 1, "cmd": "monit",
                          "argv": list(argv)}).encode() + b"\n")
    return s


def test_stream_sends_stats_and_logs(corral):
    corral.script("talker.sh", TALKER)
    corral.ok("start", "talker.sh", "--name", "st", "-i", "2")
    insts = corral.wait_state("st", "online", 2)
    s = subscribe(corral, ["--interval", "150ms"])
    ev = read_events(s, lambda e: sum(x.get("event") == "stats"
                                      for x in e) >= 3 and
                     any(x.get("event") == "log" for x in e),
                     "three stats events and a log line")
    s.close()
    assert ev[0]["ok"] is True and ev[0]["kind"] == "stream"
    stats = [e for e in ev if e.get("event") == "stats"]
    last = stats[-1]
    assert last["interval_ms"] == 150
    assert last["daemon"]["pid"] == corral.daemon_pid()
    assert len(last["host"]["load"]) == 3 and last["host"]["ncpu"] >= 1
    assert last["host"]["mem_total"] > last["host"]["mem_available"] > 0
    got = sorted((i["id"], i["pid"], i["state"]) for i in last["instances"])
    assert got == sorted((i["id"], i["pid"], "online") for i in insts)
    for key in ("name", "instance", "restarts", "uptime_ms", "cpu", "memory"):
        assert key in last["instances"][0]
    log = next(e for e in ev if e.get("event") == "log")
    assert log["app"] == "st" and log["stream"] in ("out", "err")
    assert corral.run("ping").rc == 0


@pytest.mark.parametrize("bad", ["5ms", "2m", "soon"])
def test_stream_refuses_bad_intervals(corral, bad):
    s = subscribe(corral, ["--interval", bad])
    ev = read_events(s, lambda e: len(e) >= 1, "the reply")
    s.close()
    assert ev[0]["ok"] is False and ev[0]["exit"] == 100
    assert "--interval" in ev[0]["error"]


def test_slow_subscriber_loses_events_not_the_daemon(corral):
    corral.script("flood.sh", """\
        #!/bin/sh
        seq 1 300000
        exec sleep 1000
        """)
    s = subscribe(corral)
    read_events(s, lambda e: any(x.get("event") == "stats" for x in e),
                "the first stats event")
    # do not read while the app floods the stream
    corral.ok("start", "flood.sh", "--name", "flood")
    wait_for(lambda: "300000" in corral.logfile("flood").read_text(),
             what="the flood written to the log file")
    assert corral.run("ping").rc == 0       # the daemon did not stall
    ev = read_events(s, lambda e: any(x.get("event") == "missed" for x in e),
                     "a missed event")
    s.close()
    missed = next(e for e in ev if e.get("event") == "missed")
    assert missed["count"] > 0
    # and closed subscriptions leave the daemon well
    for _ in range(5):
        subscribe(corral).close()
    assert corral.run("ping").rc == 0
