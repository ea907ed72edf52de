# SPDX-License-Identifier: ISC
"""Autoscaling on one machine (--scale MIN..MAX): an app whose held socket's
accept queue stays long under a bounded load grows, and shrinks back once
the load is over; the range, its cap at the CPU count, and manual scaling
inside it. Windows are short (set for the test); nothing is timed."""

import re

from conftest import wait_for
from observe_util import (PYTHON, SERVER_APP, Load, endpoint, free_port,
                          parse_metrics, scrape, value, with_metrics)


def count(corral, name):
    return len(corral.app(name))


def test_grows_under_load_and_shrinks_after(corral):
    with_metrics(corral)
    corral.script("slow.py", SERVER_APP)
    port = free_port()
    # Each request takes 20 ms, one at a time: 12 clients keep the queue
    # of the held socket long.
    corral.ok("start", "slow.py", "--interpreter", PYTHON, "--listen",
              "127.0.0.1:%d" % port, "--ready", "notify", "--env",
              "SLEEP=0.02", "--scale", "1..2", "--scale-above-cpus",
              "--scale-queue", "3", "--scale-up-window", "1s",
              "--scale-down-window", "2s")
    corral.wait_state("slow", "online", count=1)
    with Load(port, clients=12) as load:
        wait_for(lambda: [i for i in corral.app("slow")
                          if i["state"] == "online"][1:], timeout=60,
                 what="a second instance online")
        served = load.ok
        wait_for(lambda: load.ok > served + 20, what="more answers")
    assert load.errors == [], load.errors[:5]
    wait_for(lambda: count(corral, "slow") == 1, timeout=60,
             what="back to one instance")
    log = corral.daemon_log()
    assert re.search(r"slow: autoscale 1 -> 2: accept queue above 3 for 1s "
                     r"\(peak \d+\)", log), log[-3000:]
    assert re.search(r"slow: autoscale 2 -> 1: calm for 2s", log), log[-3000:]
    m = parse_metrics(scrape(endpoint(corral)))
    assert value(m, "corral_app_autoscale_decisions_total", app="slow",
                 direction="up", reason="queue") == 1
    assert value(m, "corral_app_autoscale_decisions_total", app="slow",
                 direction="down", reason="calm") == 1
    assert value(m, "corral_app_instances", app="slow") == 1


def test_range_and_cpu_cap(corral, ncpu):
    corral.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    corral.ok("start", "idle.sh", "--scale", "2..64",
              "--scale-down-window", "1h")
    corral.wait_state("idle", "online", count=2)
    desc = corral.ok("describe", "idle")
    assert '"max":%d' % max(ncpu, 2) in desc.replace(" ", ""), desc
    r = corral.run("scale", "idle", "1")
    assert r.rc == 1 and "scales itself between 2 and" in r.err, r.err
    # Up to the CPU count by hand is fine; the calm window is an hour.
    if ncpu >= 3:
        corral.ok("scale", "idle", "3")
        assert count(corral, "idle") == 3
    # A range that starts above the count brings the count up.
    corral.ok("set", "idle", "scale", "3..4")
    corral.ok("set", "idle", "scale_above_cpus", "true")
    wait_for(lambda: count(corral, "idle") == 3, what="the minimum of 3")
    assert "autoscale 2 -> 3: below the minimum 3" in corral.daemon_log()
    # Turned off, the count stays where it is.
    corral.ok("set", "idle", "scale", "none")
    corral.ok("scale", "idle", "1")
    assert count(corral, "idle") == 1
    for bad in ("0..2", "3..2", "x..4", "2-4"):
        r = corral.run("set", "idle", "scale", bad)
        assert r.rc == 1 and "scale" in r.err, (bad, r.err)


def test_instances_range_in_a_file(corral):
    corral.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    ini = corral.appdir / "corral.ini"
    ini.write_text("[idle]\nscript = idle.sh\ninstances = 2..3\n"
                   "scale_above_cpus = true\nscale_down_window = 1h\n")
    corral.ok("start", "corral.ini")
    corral.wait_state("idle", "online", count=2)
    corral.ok("scale", "idle", "3")
    corral.wait_state("idle", "online", count=3)
    # Reloading the file (every app of it reloads, as PM2 does) keeps the
    # count it scaled to.
    out = corral.ok("reload", "corral.ini")
    assert "idle: reloading" in out, out
    assert count(corral, "idle") == 3
