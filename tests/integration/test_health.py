# SPDX-License-Identifier: ISC
"""Liveness checks of instances (--health): a hung instance of an app with
a held socket is replaced (new process first) while a bounded load gets
every answer; an app without sockets is restarted; exec checks, their
timeout, and where the reason shows (ls, describe, metrics)."""

import json
import os
import re
import signal

import pytest

from conftest import proc_stat, wait_for
from observe_util import (PYTHON, SERVER_APP, Load, endpoint, free_port,
                          free_port_pair, parse_metrics, scrape, value,
                          with_metrics)


def test_hung_instance_is_replaced_without_a_failed_request(corral):
    with_metrics(corral)
    corral.script("srv.py", SERVER_APP)
    port, hbase = free_port(), free_port_pair()
    corral.ok("start", "srv.py", "--interpreter", PYTHON, "-i", "2",
              "--listen", "127.0.0.1:%d" % port, "--ready", "notify",
              "--env", "HEALTH_PORT=%d" % hbase, "--increment-var",
              "HEALTH_PORT", "--health",
              "http://127.0.0.1:$HEALTH_PORT/health",
              "--health-interval", "300ms", "--health-timeout", "1s",
              "--health-threshold", "2", "--kill-timeout", "2s")
    insts = corral.wait_state("srv", "online", count=2, timeout=60)
    hung = insts[0]
    wait_for(lambda: all(i.get("health", {}).get("status") == "ok"
                         for i in corral.app("srv")),
             what="both instances to pass a check")
    with Load(port) as load:
        os.kill(hung["pid"], signal.SIGUSR1)

        def replaced():
            i = corral.app("srv")
            return len(i) == 2 and i[0]["pid"] != hung["pid"] and \
                all(x["state"] == "online" for x in i) and i
        now = wait_for(replaced, timeout=60, what="the hung one replaced")
        served = load.ok
        wait_for(lambda: load.ok > served + 20, what="more answers")
    assert load.errors == [], load.errors[:5]
    assert now[0]["id"] == hung["id"]          # the replacement took its id
    assert now[1]["pid"] == insts[1]["pid"]    # the other one was left alone
    assert re.match(r"health check failed 2 times in a row: no success "
                    r"within 1s \(http://127\.0\.0\.1:\$HEALTH_PORT/"
                    r"health: no answer\)", now[0]["reason"]), now[0]["reason"]
    log = corral.daemon_log()
    assert "srv[0]: replacing pid %d: health check failed" % hung["pid"] \
        in log
    # New process first: the replacement was ready before the old one went.
    new_ready = re.search(r"srv\[0\]: reload: id (\d+) ready, stopping id %d"
                          % hung["id"], log)
    assert new_ready, log[-3000:]
    m = parse_metrics(scrape(endpoint(corral)))
    assert value(m, "corral_app_replacements_total", app="srv",
                 reason="health_check") == 1
    assert value(m, "corral_app_health_checks_total", app="srv",
                 result="failed") >= 2
    assert value(m, "corral_instance_healthy", app="srv", index=1) == 1
    desc = corral.ok("describe", "srv")
    assert "last reason: health check failed 2 times" in desc, desc


def test_exec_check_restarts_an_app_without_sockets(corral, tmp_path):
    with_metrics(corral)
    corral.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    sick = tmp_path / "sick"
    corral.ok("start", "idle.sh", "-i", "2", "--health",
              "exec:echo checking $CORRAL_INSTANCE pid $CORRAL_PID; "
              "test ! -e %s-$CORRAL_INSTANCE" % sick,
              "--health-interval", "200ms", "--health-threshold", "3")
    before = corral.wait_state("idle", "online", count=2)
    (tmp_path / "sick-1").write_text("")

    def failing():
        h = corral.app("idle")[1].get("health", {})
        return h.get("failures", 0) >= 1 and h
    h = wait_for(failing, what="instance 1 to fail a check")
    assert h["last_error"] == "exited with code 1: checking 1 pid %d" % \
        before[1]["pid"], h

    def restarted():
        i = corral.app("idle")[1]
        return i["restarts"] >= 1 and i
    i = wait_for(restarted, what="instance 1 restarted")
    (tmp_path / "sick-1").unlink()
    assert i["reason"].startswith("health check failed 3 times in a row: "
                                  "exited with code 1"), i["reason"]
    i = corral.wait_state("idle", "online", count=2)
    assert i[0]["pid"] == before[0]["pid"] and i[0]["restarts"] == 0
    m = parse_metrics(scrape(endpoint(corral)))
    assert value(m, "corral_app_replacements_total", app="idle",
                 reason="health_check") == 1
    desc = json.loads(corral.ok("jlist"))
    assert [d["reason"] for d in desc if d["instance"] == 1][0] == \
        i[1]["reason"]


def test_exec_check_that_hangs_is_killed_at_its_timeout(corral, tmp_path):
    corral.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    corral.ok("start", "idle.sh", "--health", "exec:sleep 60",
              "--health-interval", "100ms", "--health-timeout", "300ms",
              "--health-threshold", "1000")
    corral.wait_state("idle", "online", count=1)

    def failed_twice():
        h = corral.app("idle")[0].get("health", {})
        return h.get("failures", 0) >= 2 and h
    h = wait_for(failed_twice, what="two checks to time out")
    assert h["last_error"] == "no answer within 300ms, killed", h
    assert h["status"] == "failing"
    assert re.search(r"id 0 \(idle 0\): health check failing \(\d+ in a "
                     r"row, replaced at 1000\): no answer within 300ms, "
                     r"killed", corral.ok("ls")), corral.ok("ls")
    # The fixture's teardown fails the test if a `sleep 60` is left.


def test_bad_health_settings_are_refused(corral):
    corral.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    for spec, why in [("ftp://x", "expected http://HOST[:PORT]/PATH"),
                      ("exec:", "no command after exec:"),
                      ("http://example.com/", "numeric HOST"),
                      ("tcp:99999", "tcp:[HOST:]PORT")]:
        r = corral.run("start", "idle.sh", "--health", spec)
        assert r.rc == 100 and why in r.err, (spec, r.err)
        assert "invalid health check '%s'" % spec in r.err, r.err
    r = corral.run("start", "idle.sh", "--health-threshold", "0")
    assert r.rc == 100 and "health_threshold" in r.err, r.err
    corral.ok("start", "idle.sh", "--health", "tcp:127.0.0.1:1")
    assert corral.app("idle")[0]["health"]["check"] == "tcp:127.0.0.1:1"
    corral.ok("set", "idle", "health", "none")
    corral.ok("restart", "idle")
    assert "health" not in corral.app("idle")[0]


# On SIGTERM it waits for the file `release` before it exits: its stop
# lasts as long as the test wants.
SLOW_STOP = """\
#!/bin/sh
trap 'while [ ! -e release ]; do sleep 0.05; done; exit 0' TERM
while :; do sleep 0.1; done
"""

# A check that says it runs (probe.pid: its pid), then fails once the
# file `go` appears.
SLOW_CHECK = ("exec:echo $$ > probe.pid; "
              "while [ ! -e go ]; do sleep 0.05; done; echo sick; exit 1")


@pytest.mark.parametrize("sockets", [False, True])
def test_check_ending_after_a_stop_began_is_ignored(corral, sockets):
    corral.script("slow.sh", SLOW_STOP)
    extra = ["--listen", "127.0.0.1:%d" % free_port(), "--ready", "none"] \
        if sockets else []
    corral.ok("start", "slow.sh", "--kill-timeout", "60s", "--health",
              SLOW_CHECK, "--health-interval", "100ms", "--health-timeout",
              "60s", "--health-threshold", "1", *extra)
    [inst] = corral.wait_state("slow", "online")
    pidfile = corral.appdir / "probe.pid"
    probe = int(wait_for(lambda: pidfile.exists() and
                         pidfile.read_text().strip(),
                         what="the check to run"))
    stop = corral.spawn("stop", "slow")
    corral.wait_state("slow", "stopping")
    (corral.appdir / "go").write_text("")
    # The daemon has the check's result once it has reaped its process
    # (the exit callback hands it over).
    wait_for(lambda: proc_stat(probe) is None, what="the check reaped")
    (corral.appdir / "release").write_text("")
    wait_for(lambda: not stop.running(), timeout=60, what="the stop's reply")
    assert stop.popen.returncode == 0, stop.snapshot()
    after = corral.app("slow")
    assert [i["state"] for i in after] == ["stopped"], after
    assert not after[0].get("pid"), after
    assert after[0]["restarts"] == inst["restarts"], after
    log = corral.daemon_log()
    assert "replacing pid" not in log, log[-3000:]
    assert "reload: replacing" not in log, log[-3000:]
