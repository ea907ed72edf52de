# SPDX-License-Identifier: ISC
"""A PM2 user's ecosystem files, commands and apps, unchanged: JavaScript
and lenient JSON ecosystem files read by node, PM2's keys and commands,
bind on demand for apps in cluster mode, the Node IPC channel
(wait_ready, shutdown_with_message) and draining reloads under load.

Each test runs a real daemon in a private CORRAL_HOME (the `corral`
fixture) with real node and python apps on 127.0.0.1; nothing is timed,
load is bounded and stops by itself.
"""
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from conftest import TOP, all_pids, proc_cmdline, proc_environ, wait_for
from test_cluster import Load, answering_pids, free_port, get, pid_of

NODE = shutil.which("node") or shutil.which("nodejs")
HTTP_SERVER = TOP / "build" / "npm" / "node_modules" / ".bin" / "http-server"
PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

# A node HTTP app as PM2's docs show it: listen(process.env.PORT || 3000),
# no SIGTERM handler (it dies at once), every answer closes its connection.
NODE_APP = """\
const http = require('http');
const port = Number(process.env.PORT) || 3000;
http.createServer((req, res) => {
  res.setHeader('Connection', 'close');
  res.end(`hello pid ${process.pid} inst ${process.env.INST}\\n`);
}).listen(port, () => console.log(`pid ${process.pid} listening ${port}`));
"""

# The same app written for wait_ready: ready once a flag file exists.
READY_APP = """\
const fs = require('fs');
const http = require('http');
const flag = process.argv[2];
http.createServer((q, r) => r.end(`pid ${process.pid}\\n`))
  .listen(Number(process.env.PORT), () => {
    const t = setInterval(() => {
      if (!flag || fs.existsSync(flag)) { clearInterval(t); process.send('ready'); }
    }, 20);
  });
process.on('message', (m) => {
  if (m === 'shutdown') { console.log('got shutdown'); process.exit(0); }
});
"""

PY_APP = """\
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["APP_PORT"])))
s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\\r\\nConnection: close\\r\\n\\r\\n"
              + ("pid %d\\n" % os.getpid()).encode())
    c.close()
"""


def write(path, text):
    Path(path).write_text(text)
    return Path(path)


def served_by(port):
    """The pid that answers on port, once something listens there (a fork
    mode app is online at its spawn, before it listens)."""
    return wait_for(lambda: pid_of(get(port)), what="an answer on %d" % port)


def all_serve(port, pids):
    """Every pid of pids answers on port (they listen a moment after they
    are online, as under PM2)."""
    served_by(port)
    wait_for(lambda: answering_pids(port, pids, tries=100) == pids,
             what="answers from %s" % sorted(pids))


def reloads_under_load(corral, name, port, pids=True):
    """Three reloads of name (2 instances) while Load runs; returns it."""
    with Load(port, pids=pids) as load:
        for _ in range(3):
            before = {i["pid"] for i in corral.app(name)}
            corral.ok("reload", name)
            after = {i["pid"] for i in corral.wait_state(name, "online",
                                                         count=2)}
            assert not before & after
            served = load.ok
            wait_for(lambda: load.ok > served + 10, what="requests after")
    return load


def describe(corral, name):
    return json.loads(corral.ok("describe", name, "--json"))[0]["app"]


# --- ecosystem files ---------------------------------------------------------

def test_config_js_with_require_comments_and_env(corral):
    write(corral.appdir / "app.js", NODE_APP)
    port = free_port()
    write(corral.appdir / "ecosystem.config.js", """\
// PM2's usual file: CommonJS, require, comments, the shell's environment
const path = require('path');
/* two apps */
module.exports = {
  apps: [{
    name: 'api',
    script: path.join(__dirname, 'app.js'),
    env: { PORT: %d, FROM_SHELL: process.env.SHELL_VALUE || 'unset' },
    env_production: { STAGE: 'production' },
  }, {
    name: 'worker',
    script: './app.js',
    env: { PORT: %d },
  }],
  deploy: { production: { user: 'node' } },
};
""" % (port, free_port()))
    out = corral.ok("start", "ecosystem.config.js", "--env", "production",
                    extra_env={"SHELL_VALUE": "from the shell"})
    assert "api: started (new)" in out and "worker: started (new)" in out
    api = corral.wait_state("api", "online", count=1)
    env = proc_environ(api[0]["pid"])
    assert env["FROM_SHELL"] == "from the shell" and env["STAGE"] == "production"
    assert served_by(port) == api[0]["pid"]
    assert describe(corral, "api")["source"] == str(
        corral.appdir / "ecosystem.config.js")


def test_config_errors_name_file_and_line(corral):
    write(corral.appdir / "bad.config.js",
          "module.exports = {\n  apps: [{ name: 'x' script: 'a.js' }]\n};\n")
    r = corral.run("start", "bad.config.js")
    assert r.rc == 1
    assert "bad.config.js:2: SyntaxError" in r.err, r.err
    write(corral.appdir / "throws.config.js",
          "const a = 1;\nmodule.exports = { apps: [nope.x] };\n")
    r = corral.run("start", "throws.config.js")
    assert r.rc == 1 and "throws.config.js:2: ReferenceError: nope is not " \
        "defined" in r.err, r.err
    write(corral.appdir / "bad.json", "{ apps: [ { name: 'x' ] }\n")
    r = corral.run("start", "bad.json")
    assert r.rc == 1 and "bad.json:1: SyntaxError" in r.err, r.err
    r = corral.run("start", "none.config.js")
    assert r.rc == 1 and "none.config.js: no such file" in r.err
    assert corral.jlist() == []


def test_config_evaluation_is_bounded(corral):
    """node runs beside the daemon, which keeps answering; a file that never
    finishes is stopped after 10 s, one that prints too much at 4 MiB."""
    write(corral.appdir / "loop.config.js", "while (true) {}\n")
    p = corral.spawn("start", "loop.config.js")
    loop = str(corral.appdir / "loop.config.js")

    def node_runs():
        return [pid for pid in all_pids() if loop in proc_cmdline(pid)]
    wait_for(node_runs, what="node reading loop.config.js")
    t = time.monotonic()
    assert corral.ok("ping")
    assert corral.jlist() == []
    assert time.monotonic() - t < 5
    line = p.wait_line(lambda l: "loop.config.js" in l, timeout=60)
    assert "node did not finish within 10s" in line
    write(corral.appdir / "big.config.js",
          "module.exports = { apps: [{ script: 'x', env: { BIG: "
          "'x'.repeat(5 * 1024 * 1024) } }] };\n")
    r = corral.run("start", "big.config.js")
    assert r.rc == 1 and "node printed more than 4194304 bytes" in r.err


def test_config_without_node(corral):
    """No node (CORRAL_NODE names none): a JavaScript file is refused with
    the reason; a strict JSON file is still read, a lenient one says why
    it is not."""
    write(corral.appdir / "app.js", NODE_APP)
    write(corral.appdir / "e.config.js", "module.exports = {apps: []};\n")
    env = {"CORRAL_NODE": ""}
    r = corral.run("start", "e.config.js", extra_env=env)
    assert r.rc == 1 and "needs node, which is not on PATH" in r.err, r.err
    write(corral.appdir / "strict.json", json.dumps({"apps": [{
        "name": "strict", "script": "app.js", "interpreter": NODE,
        "env": {"PORT": free_port()}}]}))
    corral.ok("start", "strict.json", extra_env=env)
    corral.wait_state("strict", "online", count=1)
    write(corral.appdir / "lenient.json", "{apps: [{script: 'app.js'}]}")
    r = corral.run("start", "lenient.json", extra_env=env)
    assert r.rc == 1 and "needs node" in r.err, r.err


def test_esm_mjs_default_export(corral):
    write(corral.appdir / "app.js", NODE_APP)
    port = free_port()
    write(corral.appdir / "ecosystem.config.mjs", """\
import { join } from 'node:path';
const port = %d;
export default { apps: [{ name: 'esm', script: join('.', 'app.js'),
                          env: { PORT: port } }] };
""" % port)
    corral.ok("start", "ecosystem.config.mjs")
    inst = corral.wait_state("esm", "online", count=1)
    assert served_by(port) == inst[0]["pid"]
    # ESM syntax in a .config.js of a "type": "module" package
    pkg = corral.appdir / "mod"
    pkg.mkdir()
    write(pkg / "package.json", '{"type": "module"}')
    write(pkg / "app.cjs", NODE_APP)
    write(pkg / "ecosystem.config.js", """\
export default { apps: [{ name: 'modjs', script: 'app.cjs',
                          env: { PORT: %d } }] };
""" % free_port())
    corral.ok("start", pkg / "ecosystem.config.js")
    corral.wait_state("modjs", "online", count=1)


def test_json_with_comments_and_an_apps_object(corral):
    write(corral.appdir / "app.js", NODE_APP)
    port = free_port()
    write(corral.appdir / "process.json", """\
{
  // PM2 evaluates .json as JavaScript: comments, unquoted keys,
  // trailing commas, and "apps" may be one object
  apps: {
    name: "obj",
    script: "app.js",
    env: { PORT: %d, },
  },
}
""" % port)
    corral.ok("start", "process.json")
    inst = corral.wait_state("obj", "online", count=1)
    assert served_by(port) == inst[0]["pid"]
    corral.ok("delete", "process.json")
    wait_for(lambda: corral.jlist() == [], what="deleted")


def test_only_checks_nothing_else(corral):
    write(corral.appdir / "app.js", NODE_APP)
    write(corral.appdir / "ecosystem.config.js", """\
module.exports = { apps: [
  { name: 'prod', script: 'app.js', env: { PORT: %d } },
  { name: 'dev', script: 'src/index.ts', interpreter: 'ts-node',
    instances: 'lots' },
] };
""" % free_port())
    r = corral.run("start", "ecosystem.config.js")
    assert r.rc == 1 and "dev" in r.err
    assert corral.jlist() == []
    corral.ok("start", "ecosystem.config.js", "--only", "prod")
    corral.wait_state("prod", "online", count=1)
    assert corral.app("dev") == []
    r = corral.run("start", "ecosystem.config.js", "--only", "nope")
    assert r.rc == 1 and "--only: no app 'nope' in the file" in r.err


def test_instance_var_and_node_args(corral):
    write(corral.appdir / "show.js", """\
console.log(JSON.stringify({ inst: process.env.INSTANCE_ID,
  nai: process.env.NODE_APP_INSTANCE || null, exec: process.execArgv,
  send: typeof process.send }));
setInterval(() => {}, 1000);
""")
    write(corral.appdir / "ecosystem.config.js", """\
module.exports = { apps: [{ name: 'iv', script: 'show.js', instances: 2,
  exec_mode: 'fork', instance_var: 'INSTANCE_ID',
  node_args: '--max-old-space-size=64 --no-deprecation' }] };
""")
    corral.ok("start", "ecosystem.config.js")
    corral.wait_state("iv", "online", count=2)
    log = corral.logfile("iv")
    lines = wait_for(lambda: [json.loads(l) for l in log.read_text()
                              .splitlines() if l.startswith("{")]
                     if log.exists() and log.read_text().count("\n") >= 2
                     else None, what="both instances' lines")
    assert sorted(l["inst"] for l in lines) == ["0", "1"]
    for l in lines:
        assert l["nai"] is None         # instance_var replaces it, as in PM2
        assert l["exec"] == ["--max-old-space-size=64", "--no-deprecation"]
        assert l["send"] == "function"  # a node app has PM2's IPC channel


def test_log_folders_are_made_and_reopened(corral):
    write(corral.appdir / "tick.js", """\
let n = 0;
setInterval(() => { console.log('tick ' + n++); console.error('err'); }, 50);
""")
    blocker = corral.appdir / "later"
    blocker.write_text("a file where a folder will be")
    write(corral.appdir / "ecosystem.config.js", """\
module.exports = { apps: [
  { name: 'made', script: 'tick.js', output: 'logs/deep/out.log',
    error: 'logs/err/error.log', log_date_format: 'YYYY-MM-DD HH:mm:ss' },
  { name: 'late', script: 'tick.js', out_file: 'later/out.log' },
] };
""")
    corral.ok("start", "ecosystem.config.js")
    out = corral.appdir / "logs" / "deep" / "out.log"
    # A whole line: the test may read the file between two writes.
    wait_for(lambda: out.exists() and "tick" in out.read_text().split(
        "\n")[0] and "\n" in out.read_text(),
             what="a line in the made folder")
    # error.log is made at the first line of stderr, which may come later
    err = corral.appdir / "logs" / "err" / "error.log"
    wait_for(lambda: err.exists() and "err" in err.read_text(),
             what="a line in the error folder")
    line = out.read_text().splitlines()[0]
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d tick \d+$", line), line
    # 'later' cannot be made a folder yet: the lines of 'late' are lost
    # until it can, then its file opens without a restart.
    corral.wait_state("late", "online", count=1)
    pid = corral.app("late")[0]["pid"]
    blocker.unlink()
    (corral.appdir / "later").mkdir()
    late = corral.appdir / "later" / "out.log"
    wait_for(lambda: late.exists() and "tick" in late.read_text(),
             what="the late file opened")
    assert corral.app("late")[0]["pid"] == pid


# --- cluster mode: bind on demand and draining reloads ------------------------

def test_cluster_app_binds_on_demand_and_reloads_under_load(corral):
    write(corral.appdir / "app.js", NODE_APP)
    port = free_port()
    write(corral.appdir / "ecosystem.config.js", """\
module.exports = { apps: [{ name: 'web', script: 'app.js', instances: 2,
  exec_mode: 'cluster', instance_var: 'INST', env: { PORT: %d } }] };
""" % port)
    corral.ok("start", "ecosystem.config.js")
    pids = {i["pid"] for i in corral.wait_state("web", "online", count=2)}
    all_serve(port, pids)
    cfg = describe(corral, "web")
    assert cfg["exec_mode"] == "cluster" and cfg["listen"] == []
    assert cfg["listen_bound"] == [str(port)]
    load = reloads_under_load(corral, "web", port)
    assert load.errors == [], load.errors[:5]
    assert "drained" in corral.daemon_log()
    # reload FILE keeps the socket and what was bound
    corral.ok("reload", "ecosystem.config.js")
    assert describe(corral, "web")["listen_bound"] == [str(port)]
    get(port)


def test_node_app_exiting_at_sigterm_loses_nothing(corral):
    """`-i 2` with no --port, the usual PM2 command line; the app dies at
    SIGTERM at once: reloads drain it first."""
    write(corral.appdir / "app.js", NODE_APP)
    port = free_port()
    corral.ok("start", "app.js", "-i", "2", "--name", "bare",
              "--env", "PORT=%d" % port)
    all_serve(port, {i["pid"] for i in corral.wait_state("bare", "online",
                                                         count=2)})
    load = reloads_under_load(corral, "bare", port)
    assert load.errors == [], load.errors[:5]
    assert len(load.pids) >= 6


def test_python_app_binds_on_demand(corral):
    write(corral.appdir / "app.py", PY_APP)
    port = free_port()
    corral.ok("start", "app.py", "-i", "2", "--interpreter", PYTHON,
              "--name", "py", "--env", "APP_PORT=%d" % port)
    pids = {i["pid"] for i in corral.wait_state("py", "online", count=2)}
    all_serve(port, pids)
    # fork mode: each instance binds for itself (the second one fails)
    corral.ok("start", "app.py", "-i", "2", "--interpreter", PYTHON,
              "--name", "forked", "--exec-mode", "fork",
              "--env", "APP_PORT=%d" % free_port(), "--max-restarts", "1",
              "--min-uptime", "10s")
    wait_for(lambda: sorted(i["state"] for i in corral.app("forked")) ==
             ["errored", "online"], what="one fork instance errored")


def test_wait_ready_and_shutdown_with_message(corral, tmp_path):
    write(corral.appdir / "ready.js", READY_APP)
    flag = tmp_path / "go"
    port = free_port()
    write(corral.appdir / "ecosystem.config.js", """\
module.exports = { apps: [{ name: 'wr', script: 'ready.js', args: [%s],
  wait_ready: true, listen_timeout: 30000, shutdown_with_message: true,
  env: { PORT: %d } }] };
""" % (json.dumps(str(flag)), port))
    p = corral.spawn("start", "ecosystem.config.js")
    wait_for(lambda: [i["state"] for i in corral.app("wr")] == ["starting"],
             what="starting")
    served_by(port)                     # it listens, yet is not ready
    assert [i["state"] for i in corral.app("wr")] == ["starting"]
    flag.write_text("")
    corral.wait_state("wr", "online", count=1)
    p.stop()
    corral.ok("stop", "wr")
    wait_for(lambda: "got shutdown" in corral.logfile("wr").read_text(),
             what="'shutdown' received")
    assert corral.app("wr")[0]["reason"] == "exited with code 0"

    # Never ready: a failed start, with the reason
    write(corral.appdir / "mute.js", "setInterval(() => {}, 1000);\n")
    r = corral.run("start", "mute.js", "--wait-ready", "--listen-timeout",
                   "500ms", "--autorestart", "never")
    assert r.rc == 1 and "mute[0] failed to start" in r.err, r
    inst = wait_for(lambda: [i for i in corral.app("mute")
                             if i["state"] in ("stopped", "errored")],
                    what="a failed start")
    assert "no process.send('ready')" in inst[0]["reason"]


# --- PM2 command lines ---------------------------------------------------------

def test_pm2_command_lines(corral):
    write(corral.appdir / "app.js", NODE_APP)
    port = free_port()
    eco = write(corral.appdir / "ecosystem.json", json.dumps({"apps": [{
        "name": "api", "script": "app.js", "instances": 2,
        "env": {"PORT": port, "STAGE": "dev"},
        "env_production": {"STAGE": "production"}}]}))
    out = corral.ok("startOrReload", "ecosystem.json")
    assert "api: started (new)" in out
    first = {i["pid"] for i in corral.wait_state("api", "online", count=2)}
    # reload FILE --env production: new env, rolling, every app
    out = corral.ok("reload", "ecosystem.json", "--env", "production")
    assert "api: reloading" in out
    insts = corral.wait_state("api", "online", count=2)
    assert not first & {i["pid"] for i in insts}
    wait_for(lambda: all(proc_environ(i["pid"]).get("STAGE") == "production"
                         for i in insts), what="the production environment")
    second = {i["pid"] for i in insts}
    corral.ok("startOrGracefulReload", "ecosystem.json")
    third = {i["pid"] for i in corral.wait_state("api", "online", count=2)}
    assert not second & third
    out = corral.ok("startOrRestart", "ecosystem.json")
    assert "api: restarted" in out
    corral.wait_state("api", "online", count=2)
    # the small ones
    ids = [i["id"] for i in corral.app("api")]
    assert corral.ok("id", "api").strip() == "[ %d, %d ]" % tuple(ids)
    assert corral.ok("id", "nope").strip() == "[]"
    pids = [str(i["pid"]) for i in corral.app("api")]
    assert corral.ok("pid", "api").split() == pids
    env = corral.ok("env", str(ids[0]))
    assert "STAGE: dev" in env.splitlines() and "NODE_APP_INSTANCE: 0" in env
    pretty = corral.ok("prettylist")
    assert pretty.startswith("[\n  {") and json.loads(pretty)[0]["name"] == "api"
    assert "script" in corral.ok("info", "api")
    assert "cgroups:" in corral.ok("doctor")
    r = corral.run("startOrReload", "api")
    assert r.rc == 100 and "takes a config file" in r.err
    # start app.js --watch (no value), --cron, --log (no value), -o/-e
    write(corral.appdir / "w.js", "setInterval(() => console.log('w'), 100);\n")
    corral.ok("start", "w.js", "--watch", "--ignore-watch", "*.log",
              "--cron", "0 3 * * *", "--log", "-o", "w-out.log",
              "--error", "w-err.log")
    cfg = describe(corral, "w")
    assert cfg["watch"] == "." and cfg["cron_restart"] == "0 3 * * *"
    assert cfg["log_file"] == "true"
    pid = corral.wait_state("w", "online", count=1)[0]["pid"]
    wait_for(lambda: (corral.logdir / "w.log").exists() and
             "w" in (corral.logdir / "w.log").read_text(), what="--log file")
    assert (corral.appdir / "w-out.log").exists()
    write(corral.appdir / "touched.txt", "x")        # --watch restarts
    wait_for(lambda: corral.app("w")[0]["pid"] not in (0, pid) and
             corral.app("w")[0]["state"] == "online", what="watch restart")
    corral.ok("delete", "ecosystem.json")
    wait_for(lambda: corral.app("api") == [], what="api deleted")


@pytest.mark.skipif(not HTTP_SERVER.exists(),
                    reason="npm's http-server is not installed (make test-deps)")
def test_http_server_reloads_lose_nothing(corral, tmp_path):
    """npm's http-server exits at SIGTERM at once: -i 2 with no --port,
    three reloads under load, no failed request."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello\n")
    port = free_port()
    corral.ok("start", str(HTTP_SERVER), "--name", "hs", "-i", "2", "--",
              str(www), "-p", str(port), "-s")
    corral.wait_state("hs", "online", count=2)
    wait_for(lambda: get(port) == "hello\n", what="http-server answers")
    load = reloads_under_load(corral, "hs", port, pids=False)
    assert load.errors == [], load.errors[:5]


@pytest.mark.skipif(os.geteuid() != 0, reason="the daemon must run as root")
def test_log_folder_owned_by_the_apps_user(corral, request):
    import pwd
    import tempfile
    nobody = pwd.getpwnam("nobody")
    pub = Path(tempfile.mkdtemp(prefix="corral-nobody."))
    request.addfinalizer(lambda: shutil.rmtree(pub, ignore_errors=True))
    pub.chmod(0o755)
    write(pub / "tick.js", "setInterval(() => console.log('tick'), 50);\n")
    write(pub / "ecosystem.config.js", """\
module.exports = { apps: [{ name: 'low', script: 'tick.js', uid: 'nobody',
  out_file: 'var/log/low/out.log' }] };
""")
    corral.ok("start", pub / "ecosystem.config.js")
    out = pub / "var" / "log" / "low" / "out.log"
    wait_for(lambda: out.exists() and "tick" in out.read_text(),
             what="lines in the made folder")
    for d in (pub / "var", pub / "var" / "log", pub / "var" / "log" / "low"):
        assert d.stat().st_uid == nobody.pw_uid, d


@pytest.mark.skipif(os.geteuid() != 0, reason="the daemon must run as root")
def test_bind_on_demand_for_another_user(corral, request):
    """The control channel is an inherited socket: an app run as nobody
    gets bind on demand too, but no privileged port from a root daemon."""
    import socket
    import tempfile
    pub = Path(tempfile.mkdtemp(prefix="corral-nobody."))
    request.addfinalizer(lambda: shutil.rmtree(pub, ignore_errors=True))
    pub.chmod(0o755)
    write(pub / "app.py", PY_APP)
    port = free_port()
    corral.ok("start", pub / "app.py", "-i", "2", "--interpreter", PYTHON,
              "--name", "low", "--user", "nobody", "--cwd", pub,
              "--env", "APP_PORT=%d" % port)
    pids = {i["pid"] for i in corral.wait_state("low", "online", count=2)}
    all_serve(port, pids)
    low = None
    for p in range(1000, 900, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                low = p
                break
            except OSError:
                continue
    if low is None:
        pytest.skip("no free port below 1024")
    corral.ok("start", pub / "app.py", "-i", "2", "--interpreter", PYTHON,
              "--name", "priv", "--user", "nobody", "--cwd", pub,
              "--env", "APP_PORT=%d" % low, "--autorestart", "never")
    wait_for(lambda: "Permission denied" in
             corral.logfile("priv", "error").read_text(),
             what="the app's own bind() refused")
    assert describe(corral, "priv")["listen_bound"] == []
