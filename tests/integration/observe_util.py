# SPDX-License-Identifier: ISC
"""Helpers of the metrics, health and autoscaling tests: the daemon's HTTP
endpoint (found with `corral doctor`), a parser of Prometheus' text format,
a bounded HTTP load, test apps that speak socket activation and sd_notify,
and a Prometheus server of the test's own."""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

from conftest import wait_for

PYTHON = "/usr/bin/python3"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair():
    """Two consecutive free ports (base, base + 1) on 127.0.0.1."""
    for _ in range(200):
        base = free_port()
        if base >= 65535:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", base + 1))
            return base
        except OSError:
            continue
    raise AssertionError("no two consecutive free ports")


def with_metrics(corral, addr="127.0.0.1:0"):
    """The daemon the fixture starts next serves metrics at addr."""
    corral.env["CORRAL_METRICS"] = addr
    return corral


def endpoint(corral):
    """host:port the daemon serves /metrics on (from `corral doctor`)."""
    out = corral.ok("doctor")
    m = re.search(r"^metrics: http://(\S+)/metrics", out, re.M)
    assert m, out
    return m.group(1)


def http_get(addr, path, method="GET", timeout=15):
    """(status, body) of one request to addr (host:port)."""
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host.strip("[]"), int(port),
                                   timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def scrape(addr):
    status, body = http_get(addr, "/metrics")
    assert status == 200, body
    return body


_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{name: [(labels dict, value)]} of a scrape; HELP/TYPE checked to
    come once per family, before its samples."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in typed, "two TYPE lines for " + name
            typed.add(name)
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        assert m, "bad sample line: " + line
        labels = dict(_LABEL.findall(m.group(3) or ""))
        out.setdefault(m.group(1), []).append((labels, float(m.group(4))))
    return out


def value(metrics, name, **labels):
    """The value of the one sample of name whose labels include labels."""
    hits = [v for l, v in metrics.get(name, [])
            if all(l.get(k) == str(x) for k, x in labels.items())]
    assert len(hits) == 1, (name, labels, metrics.get(name))
    return hits[0]


def get(port, timeout=15):
    """One request on a new connection to 127.0.0.1:port; its body."""
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


class Load:
    """Clients making requests on new connections until stopped; every
    failure is kept."""

    def __init__(self, port, clients=4):
        self.port = port
        self.stop = threading.Event()
        self.ok = 0
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, daemon=True)
                        for _ in range(clients)]

    def client(self):
        while not self.stop.is_set():
            try:
                get(self.port)
                with self.lock:
                    self.ok += 1
            except Exception as e:  # every failure counts
                with self.lock:
                    self.errors.append(repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        wait_for(lambda: self.ok >= 10, what="the load to get answers")
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


# A server on the held socket (LISTEN_FDS, fd 3) that says READY=1 on
# NOTIFY_SOCKET. SLEEP: seconds each request takes (one at a time).
# HEALTH_PORT: it also answers GET on 127.0.0.1:$HEALTH_PORT (SO_REUSEPORT,
# so that its replacement can bind it beside it). SIGUSR1 makes it hang:
# it stops accepting anything, as a deadlocked process would.
SERVER_APP = r"""
import os, select, signal, socket, sys, time

SLEEP = float(os.environ.get("SLEEP", "0"))
main = socket.socket(fileno=3)
main.setblocking(False)
socks = [main]
if os.environ.get("HEALTH_PORT"):
    h = socket.socket()
    h.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    h.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    h.bind(("127.0.0.1", int(os.environ["HEALTH_PORT"])))
    h.listen(16)
    h.setblocking(False)
    socks.append(h)
state = {"hang": False, "stop": False}
signal.signal(signal.SIGUSR1, lambda *a: state.update(hang=True))
signal.signal(signal.SIGTERM, lambda *a: state.update(stop=True))
path = os.environ["NOTIFY_SOCKET"]
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n.sendto(b"READY=1", "\0" + path[1:] if path.startswith("@") else path)
while not state["stop"]:
    if state["hang"]:
        while True:
            time.sleep(3600)
    r, _, _ = select.select(socks, [], [], 0.2)
    for s in r:
        if state["hang"] or state["stop"]:
            break
        try:
            c, _ = s.accept()
        except BlockingIOError:
            continue
        c.setblocking(True)
        c.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            more = c.recv(4096)
            if not more:
                break
            data += more
        if s is main and SLEEP:
            time.sleep(SLEEP)
        body = ("pid %d\n" % os.getpid()).encode()
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body)
        c.close()
"""


class Prometheus:
    """A Prometheus server of the test's own on 127.0.0.1, scraping the
    targets every second, with its storage in a temporary folder."""

    def __init__(self, tmp, targets):
        self.port = free_port()
        self.dir = tmp / "prometheus"
        self.dir.mkdir()
        cfg = self.dir / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: corral\n"
            "    static_configs:\n      - targets: [%s]\n"
            % ", ".join("'%s'" % t for t in targets))
        self.log = open(self.dir / "log", "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=%s" % cfg,
             "--storage.tsdb.path=%s" % (self.dir / "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--log.level=warn"], stdout=self.log, stderr=self.log,
            stdin=subprocess.DEVNULL)
        wait_for(self.ready, timeout=60, what="prometheus to serve")

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited: " +
                                 (self.dir / "log").read_text())
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready"
                                        % self.port, timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.port, urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=10) as r:
            data = json.load(r)
        assert data["status"] == "success", data
        return data["data"]["result"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
