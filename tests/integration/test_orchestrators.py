# SPDX-License-Identifier: ISC
"""The files of examples/orchestrators: the Dockerfile's commands run here
as a script (Docker cannot run on the test machines): its RUN lines build
and install a copy of the tree into a temporary prefix, then its ENTRYPOINT
runs with a private CORRAL_HOME and its own ports, and the container's
probes, app and metrics answer. The Kubernetes manifest (python3-yaml) and
the Nomad job (parsed here: Debian packages no HCL tool) must name the
ports, paths and settings the image really has, and every query of the
Grafana dashboard must be valid PromQL (promtool) over series a real scrape
has."""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest
import yaml

from conftest import TOP, procs_with_home, wait_for
from observe_util import (PROMTOOL, PYTHON, SERVER_APP, endpoint, free_port,
                          get, http_get, parse_metrics, scrape, with_metrics)

EX = TOP / "examples" / "orchestrators"
IMAGE = "corral-example:latest"


# --- Dockerfile ------------------------------------------------------------

def dockerfile():
    """[(INSTRUCTION, argument text)] with continuations joined."""
    out, cur = [], ""
    for line in (EX / "Dockerfile").read_text().splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        cur += line.rstrip()
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def docker_env(instr):
    """ENV K=V K2=V2 (no quoting in our file) as a dict."""
    env = {}
    for arg in [a for i, a in instr if i == "ENV"]:
        for word in arg.split():
            k, _, v = word.partition("=")
            env[k] = v
    return env


# Programs put first on the RUN lines' PATH: packages are checked, not
# installed (tests never install); make installs into the test's prefix;
# rm touches nothing outside the test's folder.
WRAPPERS = {
    "apt-get": r"""#!/bin/sh
[ "$1" = install ] || exit 0
shift
for p in "$@"; do
    case "$p" in -*) continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || { echo "package $p is not installed" >&2; exit 1; }
done
""",
    "make": r"""#!/bin/sh
exec /usr/bin/make PREFIX="$T/prefix" "$@"
""",
    "rm": r"""#!/bin/sh
for a in "$@"; do
    case "$a" in
    -*) ;;
    "$T"/*|[!/]*) ;;
    *) echo "rm $* skipped (outside the test)" >&2; exit 0 ;;
    esac
done
exec /bin/rm "$@"
""",
}


def test_dockerfile_runs_as_a_script(tmp_path, ncpu):
    instr = dockerfile()
    assert instr[0][0] == "FROM" and instr[0][1].startswith("debian:bookworm")
    workdir = [a for i, a in instr if i == "WORKDIR"][-1]
    assert [a for i, a in instr if i == "COPY"] == [". %s" % workdir]
    if shutil.which("tini") is None:
        pytest.fail("tini is missing (scripts/deps.sh test installs it)")
    src = tmp_path / "src"
    shutil.copytree(TOP, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "build-san", "__pycache__"))
    # The test's own ports: the app's in corral.ini, the metrics' below.
    app_port, metrics_port = free_port(), free_port()
    ini = src / "examples" / "orchestrators" / "corral.ini"
    text = ini.read_text()
    assert "\nlisten = 8080\n" in text
    ini.write_text(text.replace("\nlisten = 8080\n",
                                "\nlisten = %d\n" % app_port))
    fake = tmp_path / "fakebin"
    fake.mkdir()
    for name, body in WRAPPERS.items():
        (fake / name).write_text(body)
        (fake / name).chmod(0o755)
    env = dict(os.environ, T=str(tmp_path),
               PATH="%s:%s" % (fake, os.environ["PATH"]))
    for run in [a for i, a in instr if i == "RUN"]:
        p = subprocess.run(["sh", "-c", run], cwd=src, env=env,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, \
            run + "\n" + p.stdout[-3000:] + p.stderr[-3000:]
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    prefix = tmp_path / "prefix"
    for f in ("bin/corrald", "bin/corral", "lib/corral/corral-exec",
              "lib/corral/libcorral-preload.so", "share/man/man8/corrald.8"):
        assert (prefix / f).exists(), f
    assert not (src / "build").exists()          # make clean ran
    entry = json.loads([a for i, a in instr if i == "ENTRYPOINT"][-1])
    assert entry[:3] == ["tini", "--", "corrald"] and "--foreground" in entry
    cenv = docker_env(instr)
    assert cenv["CORRAL_METRICS"] == "0.0.0.0:9100"
    home = tmp_path / "home"
    run_env = dict(os.environ, **cenv)
    run_env.update(PATH="%s:%s" % (prefix / "bin", os.environ["PATH"]),
                   CORRAL_HOME=str(home),
                   CORRAL_METRICS="0.0.0.0:%d" % metrics_port)
    log = open(tmp_path / "container.log", "wb")
    box = subprocess.Popen(entry, cwd=src, env=run_env, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    addr = "127.0.0.1:%d" % metrics_port
    try:
        wait_for(lambda: http_get(addr, "/readyz")[0] == 200, timeout=60,
                 what="the container's /readyz")
        assert http_get(addr, "/healthz")[0] == 200
        assert "web: %d of %d ready" % (ncpu, ncpu) in \
            http_get(addr, "/readyz")[1]
        assert get(app_port).startswith("hello from python pid")
        m = parse_metrics(scrape(addr))
        assert [v for l, v in m["corral_app_instances"]] == [ncpu]
        box.send_signal(signal.SIGTERM)
        assert box.wait(60) == 0
    finally:
        if box.poll() is None:
            box.kill()
            box.wait()
        log.close()
    out = (tmp_path / "container.log").read_text()
    assert "every app stopped, exiting" in out, out[-3000:]
    left = procs_with_home(str(home))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], left


# --- Kubernetes ------------------------------------------------------------

def cpu_cores(q):
    return float(q[:-1]) / 1000 if str(q).endswith("m") else float(q)


def ini_value(key):
    m = re.search(r"^%s = (.*)$" % key, (EX / "corral.ini").read_text(), re.M)
    return m.group(1)


def test_kubernetes_manifest_matches_the_image(corral):
    docs = list(yaml.safe_load_all((EX / "kubernetes.yaml").read_text()))
    dep = [d for d in docs if d["kind"] == "Deployment"][0]
    svc = [d for d in docs if d["kind"] == "Service"][0]
    assert dep["apiVersion"] == "apps/v1" and svc["apiVersion"] == "v1"
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    (c,) = pod["spec"]["containers"]
    assert c["image"] == IMAGE
    assert "-t %s" % IMAGE.split(":")[0] in (EX / "Dockerfile").read_text()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    env = {e["name"]: e["value"] for e in c["env"]}
    metrics_port = int(env["CORRAL_METRICS"].rsplit(":", 1)[1])
    assert ports["metrics"] == metrics_port
    assert ports["http"] == int(ini_value("listen"))
    assert docker_env(dockerfile())["CORRAL_METRICS"] == \
        env["CORRAL_METRICS"]
    exposed = [a for i, a in dockerfile() if i == "EXPOSE"][0].split()
    assert sorted(map(int, exposed)) == sorted(ports.values())
    ann = pod["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert int(ann["prometheus.io/port"]) == metrics_port
    assert svc["spec"]["ports"][0]["targetPort"] in ports
    live, ready = c["livenessProbe"]["httpGet"], c["readinessProbe"]["httpGet"]
    assert live["port"] == ready["port"] == "metrics"
    lim, req = c["resources"]["limits"], c["resources"]["requests"]
    assert cpu_cores(lim["cpu"]) >= cpu_cores(req["cpu"]) > 0
    assert ini_value("instances") == "max"      # follows limits.cpu
    kill = int(ini_value("kill_timeout").rstrip("s"))
    assert pod["spec"]["terminationGracePeriodSeconds"] > kill
    # The paths the probes and Prometheus use answer on a real daemon.
    with_metrics(corral)
    corral.ok("ls")
    addr = endpoint(corral)
    for path in (live["path"], ready["path"], ann["prometheus.io/path"]):
        assert http_get(addr, path)[0] == 200, path


# --- Nomad -----------------------------------------------------------------

_HCL_TOKEN = re.compile(r'''
    (?P<ws>\s+|\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.-]*)
  | (?P<punct>[={}\[\],])
''', re.S | re.X)


def hcl_tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = _HCL_TOKEN.match(text, pos)
        assert m, "HCL syntax error at %r" % text[pos:pos + 30]
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


def hcl_parse(text):
    """The HCL subset of job files: attributes (string, number, bool,
    list) and blocks with labels, as {name: value or [block bodies]};
    a block body gets its labels under "_labels"."""
    toks = hcl_tokens(text)
    i = 0

    def value():
        nonlocal i
        kind, t = toks[i]
        i += 1
        if kind == "str":
            return json.loads(t)
        if kind == "num":
            return float(t) if "." in t else int(t)
        if kind == "ident" and t in ("true", "false"):
            return t == "true"
        assert t == "[", "bad value %r" % t
        items = []
        while toks[i][1] != "]":
            items.append(value())
            if toks[i][1] == ",":
                i += 1
        i += 1
        return items

    def body(end):
        nonlocal i
        out = {}
        while i < len(toks) and toks[i][1] != end:
            kind, name = toks[i]
            assert kind == "ident", "expected a name, got %r" % name
            i += 1
            if toks[i][1] == "=":
                i += 1
                assert name not in out, "%s set twice" % name
                out[name] = value()
                continue
            labels = []
            while toks[i][0] == "str":
                labels.append(json.loads(toks[i][1]))
                i += 1
            assert toks[i][1] == "{", "expected {, got %r" % toks[i][1]
            i += 1
            b = body("}")
            i += 1
            b["_labels"] = labels
            out.setdefault(name, []).append(b)
        return out

    tree = body(None)
    assert i == len(toks)
    return tree


def test_nomad_job_matches_the_image():
    tree = hcl_parse((EX / "nomad.hcl").read_text())
    (job,) = tree["job"]
    assert job["type"] == "service" and job["datacenters"]
    (group,) = job["group"]
    ports = {p["_labels"][0]: p["to"] for p in group["network"][0]["port"]}
    assert ports == {"http": int(ini_value("listen")), "metrics": 9100}
    checks = {c["path"]: c for s in group["service"] for c in s["check"]}
    assert set(checks) == {"/readyz", "/healthz"}
    assert all(c["type"] == "http" and c["port"] == "metrics"
               for c in checks.values())
    assert checks["/healthz"]["check_restart"][0]["limit"] >= 1
    (task,) = group["task"]
    assert task["driver"] == "docker"
    cfg = task["config"][0]
    assert cfg["image"] == IMAGE and sorted(cfg["ports"]) == sorted(ports)
    assert cfg["cpu_hard_limit"] is True
    assert task["env"][0]["CORRAL_METRICS"] == \
        docker_env(dockerfile())["CORRAL_METRICS"]
    assert task["resources"][0]["cpu"] > 0
    kill = int(ini_value("kill_timeout").rstrip("s"))
    assert int(task["kill_timeout"].rstrip("s")) > kill


def test_hcl_parser_refuses_broken_files():
    for bad in ['job "x" {', 'job "x" { a = }', 'a = 1 a = 2', 'job "x" }']:
        with pytest.raises((AssertionError, IndexError)):
            hcl_parse(bad)


# --- Grafana ---------------------------------------------------------------

def test_grafana_dashboard_queries_real_series(corral, tmp_path):
    dash = json.loads((EX / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dash["templating"]["list"]
              if v["type"] == "query"]
    assert len(exprs) >= 15
    # A daemon whose scrape has every family.
    with_metrics(corral)
    corral.script("srv.py", SERVER_APP)
    corral.ok("start", "srv.py", "--interpreter", PYTHON, "--listen",
              "127.0.0.1:%d" % free_port(), "--ready", "notify",
              "--scale", "1..2", "--scale-up-window", "1h",
              "--health", "exec:true", "--max-memory", "128M")
    corral.wait_state("srv", "online", count=1)
    text = scrape(endpoint(corral))
    families = set(re.findall(r"^# TYPE (\S+)", text, re.M))
    labels = {"job", "instance"}
    for name, samples in parse_metrics(text).items():
        for l, _ in samples:
            labels |= set(l)
    rules = {"groups": [{"name": "dashboard", "rules": []}]}
    for n, e in enumerate(exprs):
        e = e.replace("$app", ".*").replace("$job", ".*")
        if e.startswith("label_values("):
            metric, label = re.match(r"label_values\((\w+), (\w+)\)",
                                     e).groups()
            assert metric in families and label in labels, e
            continue
        for metric in re.findall(r"\b((?:corral|process)_[a-z_]+)\b", e):
            assert metric in families, (metric, e)
        for group in re.findall(r"by \(([^)]*)\)", e):
            for label in group.split(","):
                assert label.strip() in labels, (label, e)
        rules["groups"][0]["rules"].append({"record": "dashboard:q%d" % n,
                                            "expr": e})
    for p in dash["panels"]:
        for t in p["targets"]:
            for label in re.findall(r"\{\{(\w+)\}\}", t["legendFormat"]):
                assert label in labels, (label, t)
    assert PROMTOOL is not None, "promtool is missing (deps.sh test)"
    f = tmp_path / "rules.yml"
    f.write_text(yaml.safe_dump(rules))
    p = subprocess.run([PROMTOOL, "check", "rules", str(f)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
