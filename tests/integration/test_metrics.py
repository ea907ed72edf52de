# SPDX-License-Identifier: ISC
"""corrald's HTTP endpoint: /metrics scraped by a real Prometheus server and
checked by promtool, /healthz, /readyz through a failed reload, the rules of
the listen address. Each test runs its own daemon (private CORRAL_HOME)
serving on a port the kernel picks; nothing is timed."""

import os
import socket
import subprocess

import pytest

from conftest import CORRAL_BIN, CORRALD_BIN, TOP, wait_for
from observe_util import (PROMETHEUS, PROMTOOL, PYTHON, Prometheus,
                          SERVER_APP, endpoint, free_port, http_get,
                          parse_metrics, scrape, value, with_metrics)

EXAMPLE = str(TOP / "examples" / "python" / "app.py")


def online(corral, name, n):
    return corral.wait_state(name, "online", count=n, timeout=60)


def test_metrics_are_off_unless_asked(corral):
    corral.ok("ls")
    assert "metrics: off" in corral.ok("doctor")


@pytest.mark.parametrize("addr,why", [
    (":9100", "no host"),
    ("example.com:9100", "numeric address or localhost"),
    ("::1:9100", "IPv6 address goes in brackets"),
    ("[::1]9100", "expected [IPV6]:PORT"),
    ("127.0.0.1:70000", "bad port"),
    ("1.2.3.4", "expected PORT"),
])
def test_bad_metrics_address_is_refused(tmp_path, addr, why):
    env = dict(os.environ, CORRAL_HOME=str(tmp_path / "home"))
    p = subprocess.run([str(CORRALD_BIN), "--metrics", addr], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 100, p.stderr
    assert why in p.stderr, p.stderr
    env["CORRAL_METRICS"] = addr
    p = subprocess.run([str(CORRALD_BIN)], env=env, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 100 and why in p.stderr, p.stderr
    assert not (tmp_path / "home" / "corrald.pid").exists()


def test_bare_port_means_loopback(corral):
    port = free_port()
    with_metrics(corral, str(port))
    assert endpoint(corral) == "127.0.0.1:%d" % port
    assert http_get("127.0.0.1:%d" % port, "/healthz")[0] == 200


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed")
def test_prometheus_scrapes_a_running_app(corral, tmp_path):
    with_metrics(corral)
    port = free_port()
    corral.ok("start", EXAMPLE, "--name", "web", "-i", "2", "--interpreter",
              PYTHON, "--listen", "127.0.0.1:%d" % port)
    online(corral, "web", 2)
    prom = Prometheus(tmp_path, [endpoint(corral)])
    try:
        def series(expr, n):
            got = prom.query(expr)
            return got if len(got) == n else None
        mem = wait_for(lambda: series('corral_instance_memory_bytes'
                                      '{app="web"}', 2), timeout=60,
                       what="prometheus to have both instances' memory")
        assert sorted(r["metric"]["index"] for r in mem) == ["0", "1"]
        assert all(float(r["value"][1]) > 1e6 for r in mem)
        on = series('corral_instance_state{app="web",state="online"}', 2)
        assert on and all(r["value"][1] == "1" for r in on), on
        up = series('up{job="corral"}', 1)
        assert up and up[0]["value"][1] == "1", up
        q = series('corral_app_socket_backlog{app="web"}', 1)
        assert q and int(q[0]["value"][1]) > 0, q
    finally:
        prom.stop()


def test_scrape_passes_promtool_and_counts(corral, tmp_path):
    with_metrics(corral)
    port = free_port()
    corral.script("talk.sh", """
        #!/bin/sh
        i=0
        while [ $i -lt 5 ]; do echo "line $i"; i=$((i+1)); done
        echo oops >&2
        exec sleep 3600
    """)
    corral.script("crash.sh", "#!/bin/sh\nexit 3\n")
    corral.script("srv.py", SERVER_APP)
    corral.ok("start", "talk.sh", "--max-memory", "64M",
              "--health", "exec:true", "--health-interval", "200ms")
    corral.ok("start", "srv.py", "--name", "srv", "--interpreter", PYTHON,
              "--listen", "127.0.0.1:%d" % port, "--ready", "notify",
              "--scale", "1..2", "--scale-up-window", "1h")
    corral.run("start", "crash.sh", "--max-restarts", "1",
               "--min-uptime", "5s", "--restart-delay", "0")
    corral.wait_state("crash", "errored", count=1)
    online(corral, "srv", 1)
    addr = endpoint(corral)

    def counted():
        m = parse_metrics(scrape(addr))
        return m if value(m, "corral_app_log_lines_total", app="talk",
                          stream="out") == 5 and \
            value(m, "corral_app_health_checks_total", app="talk",
                  result="ok") >= 1 else None
    m = wait_for(counted, what="log lines and a health check counted")
    text = scrape(addr)
    assert PROMTOOL is not None, "promtool is missing (deps.sh test)"
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", \
        p.stdout + p.stderr
    assert value(m, "corral_app_log_lines_total", app="talk",
                 stream="err") == 1
    assert value(m, "corral_app_log_bytes_total", app="talk",
                 stream="out") == 5 * len("line 0\n")
    assert value(m, "corral_instance_memory_limit_bytes", app="talk",
                 index=0) == 64 << 20
    assert value(m, "corral_instance_healthy", app="talk", index=0) == 1
    assert value(m, "corral_instance_state", app="crash",
                 state="errored") == 1
    assert value(m, "corral_instance_state", app="crash",
                 state="online") == 0
    assert value(m, "corral_instance_restarts_total", app="crash") >= 1
    assert value(m, "corral_instance_ready", app="srv", index=0) == 1
    assert value(m, "corral_app_ready", app="crash") == 0
    assert value(m, "corral_app_ready", app="srv") == 1
    assert value(m, "corral_app_autoscale_min_instances", app="srv") == 1
    assert value(m, "corral_app_autoscale_max_instances", app="srv") >= 1
    sock = "127.0.0.1:%d" % port
    assert value(m, "corral_app_socket_accept_queue", app="srv",
                 socket=sock) == 0
    assert value(m, "corral_app_socket_backlog", app="srv", socket=sock) > 0
    assert value(m, "corral_apps") == 3
    assert value(m, "corral_build_info", version="0.1.0") == 1
    assert value(m, "process_open_fds") > 5
    assert value(m, "process_resident_memory_bytes") > 1e6
    cpu = value(m, "corral_instance_cpu_seconds_total", app="talk")
    assert 0 <= cpu < 60
    assert value(m, "corral_metrics_scrape_cpu_seconds") < 1


def test_endpoints_answer_and_refuse(corral):
    with_metrics(corral)
    corral.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    corral.ok("start", "idle.sh")
    online(corral, "idle", 1)
    addr = endpoint(corral)
    status, body = http_get(addr, "/healthz")
    assert status == 200 and body.startswith("ok: corrald"), body
    assert http_get(addr, "/readyz") == (200, "ready\nidle: 1 of 1 ready\n")
    assert http_get(addr, "/readyz?app=idle&min=1")[0] == 200
    assert http_get(addr, "/readyz?app=idle&min=2")[0] == 503
    assert http_get(addr, "/readyz?app=nope") == (503, "no app 'nope'\n")
    assert http_get(addr, "/readyz?min=1")[0] == 400
    assert http_get(addr, "/readyz?app=idle&min=x")[0] == 400
    assert http_get(addr, "/nothing")[0] == 404
    assert http_get(addr, "/metrics", method="POST")[0] == 405
    assert http_get(addr, "/metrics", method="HEAD")[0] == 200
    corral.ok("stop", "idle")
    # Stopped by somebody: not wanted, so not missing.
    assert http_get(addr, "/readyz")[0] == 200


def test_slow_scraper_does_not_stall_the_daemon(corral):
    """A client that never reads its answer, and one that sends half a
    request, hold connections; the daemon answers commands and others
    meanwhile."""
    with_metrics(corral)
    corral.script("idle.sh", "#!/bin/sh\nexec sleep 3600\n")
    corral.ok("start", "idle.sh", "-i", "40")
    online(corral, "idle", 40)
    host, port = endpoint(corral).rsplit(":", 1)
    stuck = []
    for i in range(8):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" if i % 2 == 0
                  else b"GET /metr")
        stuck.append(s)
    try:
        for _ in range(5):
            assert http_get(endpoint(corral), "/healthz")[0] == 200
            assert len(corral.app("idle")) == 40
    finally:
        for s in stuck:
            s.close()


BAD_APP = r"""
import os, socket, sys, time
flag = sys.argv[1]
if os.path.exists(flag):
    time.sleep(3600)
path = os.environ["NOTIFY_SOCKET"]
main = socket.socket(fileno=3)
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n.sendto(b"READY=1", path)
while True:
    c, _ = main.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    c.close()
"""


def test_readyz_false_during_a_failed_reload(corral, tmp_path):
    with_metrics(corral)
    corral.script("bad.py", BAD_APP)
    flag = tmp_path / "hang"
    port = free_port()
    corral.ok("start", "bad.py", "--interpreter", PYTHON, "-i", "2",
              "--listen", "127.0.0.1:%d" % port, "--ready", "notify",
              "--listen-timeout", "3s", "--", str(flag))
    online(corral, "bad", 2)
    addr = endpoint(corral)
    assert http_get(addr, "/readyz")[0] == 200
    flag.write_text("hang")
    reload = subprocess.Popen([str(CORRAL_BIN), "reload", "bad"],
                              env=corral.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        status, body = wait_for(lambda: (lambda r: r if r[0] == 503 else
                                         None)(http_get(addr, "/readyz")),
                                what="/readyz to turn false")
        assert "bad: 2 of 3 ready" in body, body
        # One app, at least two: the old instances serve.
        assert http_get(addr, "/readyz?app=bad&min=2")[0] == 200
        out, err = reload.communicate(timeout=60)
    finally:
        if reload.poll() is None:
            reload.kill()
            reload.wait()
    assert reload.returncode == 1 and "aborted" in err, err
    wait_for(lambda: http_get(addr, "/readyz")[0] == 200,
             what="/readyz to turn true again")
    m = parse_metrics(scrape(addr))
    assert value(m, "corral_app_reloads_failed_total", app="bad") == 1
    assert value(m, "corral_app_reloads_total", app="bad") == 0
    flag.unlink()
    corral.ok("reload", "bad")
    m = parse_metrics(scrape(addr))
    assert value(m, "corral_app_reloads_total", app="bad") == 1
