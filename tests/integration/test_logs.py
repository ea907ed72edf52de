# SPDX-License-Identifier: ISC
"""Logs: timestamps per line, JSON lines, rotation without loss, reopen on
SIGUSR1 and reloadLogs, gzip, per-instance and combined files, flush, the
daemon's own log rotating, `logs` merging by time with --since/--raw/--json,
a paused follower that misses lines instead of growing the daemon, a
flat-out writer that loses nothing, a file-size limit (as a full disk)
reported once and recovered from, and the journald sink against a socket
that stands in for journald."""

import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORRAL_BIN, CORRALD_BIN, DEADLINE, wait_for

PY = sys.executable if os.path.exists(sys.executable) else "/usr/bin/python3"
TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) (.*)$")
SANITIZED = "san" in os.environ.get("BUILD", "")


def numbered_writer(corral, name, count, size=60, chunk=1, gate=False,
                    ragged=0, fd=1, done="done"):
    """An app that writes `count` numbered lines of about `size` bytes to
    fd, `chunk` lines per write (with ragged, in writes of that many bytes
    that cut lines anywhere; once a file "go" exists, with gate), then
    sleeps."""
    return corral.script(name, f"""
        #!{PY}
        import os, time
        while {gate} and not os.path.exists("go"):
            os.write({fd}, b"waiting\\n")
            time.sleep(0.1)
        pad = "x" * {size}
        buf = []
        def out(data):
            step = {ragged} or len(data)
            for k in range(0, len(data), step):
                os.write({fd}, data[k:k + step])
        for i in range({count}):
            buf.append("line %08d %s\\n" % (i, pad))
            if len(buf) == {chunk}:
                out("".join(buf).encode())
                buf = []
        if buf:
            out("".join(buf).encode())
        open("{done}", "w").close()
        time.sleep(3600)
        """)


def rotated_files(path):
    """The rotated files of path, oldest first, then path itself."""
    out = []
    k = 1
    while True:
        plain = Path(f"{path}.{k}")
        gz = Path(f"{path}.{k}.gz")
        if plain.exists():
            out.append(plain)
        elif gz.exists():
            out.append(gz)
        else:
            break
        k += 1
    out.reverse()
    if Path(path).exists():
        out.append(Path(path))
    return out


def read_any(p):
    if str(p).endswith(".gz"):
        return gzip.decompress(p.read_bytes()).decode()
    return p.read_text()


def lines_in_order(files):
    """Every line of the files in turn; fail on a torn line."""
    out = []
    for f in files:
        text = read_any(f)
        assert text == "" or text.endswith("\n"), f"{f} ends mid-line"
        out.extend(text.splitlines())
    return out


def expect_numbered(lines, count):
    want = [l for l in lines if l != "waiting"]
    assert len(want) == count, f"{len(want)} lines, not {count}"
    for i, l in enumerate(want):
        assert l.startswith("line %08d " % i), f"line {i} is {l[:30]!r}"


def test_timestamp_per_line_with_partial_writes(corral):
    corral.script("partial.py", f"""
        #!{PY}
        import os, time
        os.write(1, b"first ha")
        time.sleep(0.3)
        os.write(1, b"lf\\nsecond\\nthird\\nfour")
        time.sleep(0.3)
        os.write(1, b"th\\n")
        os.write(2, b"oops\\n")
        time.sleep(3600)
        """)
    corral.ok("start", "partial.py", "--name", "p", "--time")
    out = corral.logfile("p")
    wait_for(lambda: out.exists() and "fourth" in out.read_text(),
             what="four lines")
    lines = out.read_text().splitlines()
    assert len(lines) == 4, lines
    msgs = []
    for l in lines:
        m = TIME_RE.match(l)
        assert m, f"no timestamp with ms: {l!r}"
        msgs.append(m.group(2))
    assert msgs == ["first half", "second", "third", "fourth"]
    err = corral.logfile("p", "error")
    wait_for(lambda: "oops" in err.read_text())
    assert TIME_RE.match(err.read_text().splitlines()[0])


def test_custom_date_format_and_prefix(corral):
    corral.script("two.sh", """
        #!/bin/sh
        echo "hello from $CORRAL_INSTANCE"
        exec sleep 3600
        """)
    corral.ok("start", "two.sh", "--name", "d", "-i", "2", "--log-prefix",
              "--log-date-format", "[%H:%M:%S,%L]")
    out = corral.logfile("d")
    wait_for(lambda: out.exists() and len(out.read_text().splitlines()) == 2)
    for l in out.read_text().splitlines():
        assert re.match(r"^\[\d\d:\d\d:\d\d,\d{3}\] \[(\d)\] hello from \1$", l), l


def test_json_lines_parse(corral):
    corral.script("j.py", f"""
        #!{PY}
        import os, sys, time
        os.write(1, 'say "hi"\\\\ \\t caf\\u00e9\\n'.encode())
        os.write(1, b"bad \\xff byte\\n")
        os.write(2, b"an error\\n")
        time.sleep(3600)
        """)
    corral.ok("start", "j.py", "--name", "j", "--log-type", "json")
    out = corral.logfile("j")
    wait_for(lambda: out.exists() and len(out.read_text().splitlines()) == 2)
    objs = [json.loads(l) for l in out.read_text().splitlines()]
    assert objs[0]["message"] == 'say "hi"\\ \t caf\u00e9'
    assert objs[1]["message"] == "bad \ufffdFF byte"     # escaped, not dropped
    for o in objs:
        assert o["app"] == "j" and o["instance"] == 0 and o["stream"] == "out"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$", o["time"])
        assert abs(o["timestamp"] / 1000 - time.time()) < 3600
    err = corral.logfile("j", "error")
    wait_for(lambda: err.exists() and err.read_text())
    e = json.loads(err.read_text().splitlines()[0])
    assert e["stream"] == "err" and e["message"] == "an error"
    r = corral.run("start", "j.py", "--name", "bad", "--log-type", "xml")
    assert r.rc != 0 and "log_type" in r.err


@pytest.mark.parametrize("compress", [False, True])
def test_rotation_under_continuous_writer(corral, compress):
    count = 60000          # about 4.3 MB in 72-byte lines
    numbered_writer(corral, "w.py", count, chunk=7)
    args = ["start", "w.py", "--name", "w", "--max-log-size", "100k",
            "--retain-logs", "1000"]
    if compress:
        args.append("--compress-logs")
    corral.ok(*args)
    wait_for(lambda: (corral.appdir / "done").exists(), timeout=120,
             what="the writer to finish")
    out = corral.logfile("w")

    def complete():
        lines = lines_in_order(rotated_files(out))
        return lines and lines[-1].startswith("line %08d" % (count - 1))
    wait_for(complete, timeout=60, what="the last line in the file")
    if compress:
        wait_for(lambda: Path(f"{out}.1.gz").exists() and
                 not any(Path(f"{out}.{k}").exists() for k in range(1, 45)),
                 timeout=60, what="rotated files gzipped")
    files = rotated_files(out)
    assert len(files) >= 40
    for f in files:
        if not str(f).endswith(".gz"):
            assert f.stat().st_size <= 100 * 1024
    expect_numbered(lines_in_order(files), count)


def test_retain_count(corral):
    numbered_writer(corral, "w.py", 20000, chunk=50)
    corral.ok("start", "w.py", "--name", "r", "--max-log-size", "20k",
              "--retain-logs", "3")
    wait_for(lambda: (corral.appdir / "done").exists(), timeout=60)
    out = corral.logfile("r")
    wait_for(lambda: out.exists() and "line 00019999" in out.read_text(),
             timeout=60)
    assert Path(f"{out}.3").exists()
    assert not Path(f"{out}.4").exists()


def test_reopen_after_external_rename(corral):
    corral.script("tick.py", f"""
        #!{PY}
        import os, sys, time
        i = 0
        while True:
            if os.path.exists("go%d" % i):
                os.write(1, b"tick %d\\n" % i)
                i += 1
            time.sleep(0.02)
        """)
    corral.ok("start", "tick.py", "--name", "t")
    out = corral.logfile("t")
    (corral.appdir / "go0").touch()
    wait_for(lambda: out.exists() and "tick 0" in out.read_text())
    os.rename(out, f"{out}.moved")
    (corral.appdir / "go1").touch()
    wait_for(lambda: "tick 1" in Path(f"{out}.moved").read_text())
    os.kill(corral.daemon_pid(), signal.SIGUSR1)
    wait_for(lambda: out.exists(), what="the file reopened on SIGUSR1")
    (corral.appdir / "go2").touch()
    wait_for(lambda: "tick 2" in out.read_text())
    assert Path(f"{out}.moved").read_text() == "tick 0\ntick 1\n"
    # the same through the CLI
    os.rename(out, f"{out}.again")
    corral.ok("reloadLogs")
    wait_for(lambda: out.exists(), what="the file reopened by reloadLogs")
    (corral.appdir / "go3").touch()
    wait_for(lambda: "tick 3" in out.read_text())
    assert out.read_text() == "tick 3\n"
    assert Path(f"{out}.again").read_text() == "tick 2\n"


def test_per_instance_combined_disabled_and_flush(corral):
    corral.script("hi.sh", """
        #!/bin/sh
        echo "out $CORRAL_INSTANCE"
        echo "err $CORRAL_INSTANCE" >&2
        exec sleep 3600
        """)
    corral.ok("start", "hi.sh", "--name", "s", "-i", "2", "--no-merge-logs",
              "--log-file", "all.log")
    for i in range(2):
        f = corral.logdir / f"s-out-{i}.log"
        wait_for(lambda: f.exists() and f.read_text() == f"out {i}\n")
        e = corral.logdir / f"s-error-{i}.log"
        wait_for(lambda: e.exists() and e.read_text() == f"err {i}\n")
    comb = corral.appdir / "all.log"
    wait_for(lambda: comb.exists() and len(comb.read_text().splitlines()) == 4)
    assert sorted(comb.read_text().splitlines()) == ["err 0", "err 1",
                                                    "out 0", "out 1"]
    assert not corral.logfile("s").exists()
    out = corral.ok("logs", "s", "--nostream", "--raw")
    assert sorted(out.splitlines()) == ["err 0", "err 1", "out 0", "out 1"]
    corral.ok("flush", "s")
    wait_for(lambda: (corral.logdir / "s-out-0.log").read_text() == "")

    # q says a line every 0.1 s: the follower sees one whenever it has
    # subscribed (a single line at the restart could come before that).
    corral.script("tick.sh", """
        #!/bin/sh
        while :; do echo "out $CORRAL_INSTANCE"; sleep 0.1; done
        """)
    corral.ok("start", "tick.sh", "--name", "q", "--disable-logs")
    s = corral.spawn("logs", "q", "--lines", "0")
    corral.ok("restart", "q")
    s.wait_line(lambda l: "out 0" in l)
    assert not corral.logfile("q").exists()


def test_logs_merge_by_time_since_raw_json(corral):
    # Apps a and b take turns: line i is written once the test has made
    # file go<i>, which it does once line i-1 is in its log file, so each
    # line is read (and stamped) after the one before it.
    corral.script("a.py", f"""
        #!{PY}
        import os, sys, time
        me = sys.argv[1]
        for i in range(6):
            if (i % 2 == 0) == (me == "a"):
                while not os.path.exists("go%d" % i):
                    time.sleep(0.01)
                os.write(1, b"%s %d\\n" % (me.encode(), i))
        time.sleep(3600)
        """)
    corral.ok("start", "a.py", "--name", "a", "--time", "--", "a")
    corral.ok("start", "a.py", "--name", "b", "--log-type", "json", "--", "b")
    for i in range(6):
        me = "a" if i % 2 == 0 else "b"
        (corral.appdir / f"go{i}").touch()
        wait_for(lambda: f"{me} {i}" in corral.logfile(me).read_text(),
                 what=f"line '{me} {i}' in its log file")
        # the clock moves past line i's stamp (ms) before line i+1 may be
        # written
        time.sleep(0.002)
    raw = corral.ok("logs", "--nostream", "--raw", "--out").splitlines()
    assert [l for l in raw if l[:2] in ("a ", "b ")] == \
        ["a 0", "b 1", "a 2", "b 3", "a 4", "b 5"]
    people = corral.ok("logs", "--nostream", "--out", "--lines", "2")
    assert re.search(r"^a out \| \d{4}-.* a 4$", people, re.M), people
    js = [json.loads(l) for l in
          corral.ok("logs", "--json", "--nostream", "--out").splitlines()]
    assert [j["line"] for j in js] == ["a 0", "b 1", "a 2", "b 3", "a 4", "b 5"]
    assert all(j["app"] in ("a", "b") and j["time"] > 0 for j in js)
    time.sleep(1.2)
    assert corral.ok("logs", "--nostream", "--since", "1s", "--raw") == ""
    assert len(corral.ok("logs", "--nostream", "--since", "1h",
                         "--raw").splitlines()) == 6
    r = corral.run("logs", "--nostream", "--since", "soon")
    assert r.rc == 100


def test_paused_follower_misses_lines_daemon_stays_bounded(corral):
    count = 300000
    numbered_writer(corral, "flood.py", count, size=90, chunk=100, gate=True)
    corral.ok("start", "flood.py", "--name", "flood2")
    # a follower that never reads: its socket and pipe fill up
    p = subprocess.Popen([str(CORRAL_BIN), "logs", "flood2", "--lines", "0"],
                         env=corral.env, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, cwd=str(corral.appdir))
    try:
        # subscribed once it shows a line; then it stops reading
        os.set_blocking(p.stdout.fileno(), False)
        seen = b""

        def subscribed():
            nonlocal seen
            try:
                seen += p.stdout.read(4096) or b""
            except BlockingIOError:
                pass
            return b"waiting" in seen
        wait_for(subscribed, what="the follower to subscribe")
        (corral.appdir / "go").touch()
        wait_for(lambda: (corral.appdir / "done").exists(), timeout=180,
                 what="the writer to finish despite the paused reader")
        out = corral.logfile("flood2")
        wait_for(lambda: "line %08d" % (count - 1) in out.read_text()
                 .splitlines()[-1], timeout=60)
        expect_numbered(lines_in_order(rotated_files(out)), count)
        dpid = corral.daemon_pid()
        hwm = int(re.search(r"VmHWM:\s+(\d+)", Path(
            f"/proc/{dpid}/status").read_text()).group(1))
        if not SANITIZED:
            assert hwm < 64 * 1024, f"daemon peak RSS {hwm} kB"
        # now read: the stream says how many lines were missed
        got = b""
        deadline = time.monotonic() + DEADLINE
        while b"lines missed" not in got and time.monotonic() < deadline:
            try:
                chunk = p.stdout.read(1 << 20)
            except BlockingIOError:
                chunk = None
            if chunk:
                got += chunk
            else:
                time.sleep(0.05)
        m = re.search(rb"\[corral\] (\d+) lines missed", got)
        assert m and int(m.group(1)) > 0, got[-300:]
    finally:
        p.kill()
        p.wait()


def test_flat_out_writer_does_not_delay_other_apps(corral):
    """Two floods, one in writes that cut lines anywhere (each partial line
    waits in the pipe until it is whole and written), land complete and in
    order; an app that beats meanwhile is not held up."""
    count = 200000
    numbered_writer(corral, "flood.py", count, size=90, chunk=500)
    numbered_writer(corral, "ragged.py", count // 4, size=90, chunk=500,
                    ragged=4093, fd=2, done="ragged.done")
    corral.script("beat.py", f"""
        #!{PY}
        import os, time
        i = 0
        while True:
            os.write(1, b"beat %d\\n" % i)
            i += 1
            time.sleep(0.05)
        """)
    corral.ok("start", "beat.py", "--name", "beat")
    corral.ok("start", "flood.py", "--name", "flood")
    corral.ok("start", "ragged.py", "--name", "ragged")
    wait_for(lambda: (corral.appdir / "done").exists(), timeout=180)
    out = corral.logfile("flood")
    wait_for(lambda: "line %08d" % (count - 1) in out.read_text(), timeout=60)
    expect_numbered(lines_in_order(rotated_files(out)), count)
    wait_for(lambda: (corral.appdir / "ragged.done").exists(), timeout=180)
    err = corral.logfile("ragged", "error")
    last = "line %08d" % (count // 4 - 1)
    wait_for(lambda: last in err.read_text(), timeout=60)
    expect_numbered(lines_in_order(rotated_files(err)), count // 4)
    # its first line may still be on its way on a loaded machine (CI: the
    # file was not there yet, 1.3 s after the start)
    beat = corral.logfile("beat")
    wait_for(lambda: beat.exists() and "beat 0" in beat.read_text(),
             what="the beating app's first line")
    beats = beat.read_text().splitlines()
    assert beats == ["beat %d" % i for i in range(len(beats))]


STEADY = f"""
    #!{PY}
    import os, time
    i = 0
    while True:
        os.write(1, b"line %08d %s\\n" % (i, b"y" * 80))
        i += 1
        if i % 100 == 0:
            with open("count.tmp", "w") as f:
                f.write(str(i))
            os.rename("count.tmp", "count")
            time.sleep(0.01)
    """


def _write_failure_then_recovery(corral, out, error_text, recover):
    """With app "full" (STEADY) running and its file `out` unable to grow:
    the error is reported once, the app keeps running; after recover() the
    file resumes with one notice of the lines lost, no line torn."""
    def count():
        try:
            return int((corral.appdir / "count").read_text())
        except (OSError, ValueError):
            return 0
    wait_for(lambda: error_text in corral.daemon_log(), timeout=60,
             what="the write error in the daemon's log")
    c0 = count()
    wait_for(lambda: count() > c0 + 5000, timeout=60,
             what="the app to keep running while its log cannot grow")
    assert corral.daemon_log().count("lines are dropped") == 1
    desc = json.loads(corral.ok("describe", "full", "--json"))
    probs = desc[0]["app"]["log_problems"]
    assert probs and error_text in probs[0]["error"], probs
    recover()
    wait_for(lambda: "writing works again" in corral.daemon_log(), timeout=60)
    wait_for(lambda: "[corral] " in out.read_text(), timeout=30)
    c1 = count()
    wait_for(lambda: count() > c1 + 1000, timeout=60)
    last = None
    notices = 0
    for l in out.read_text().splitlines():
        if l.startswith("[corral] "):
            assert "lines lost" in l and error_text in l
            notices += 1
            continue
        m = re.match(r"^line (\d{8}) y{80}$", l)
        assert m, f"torn line {l[:40]!r}"
        n = int(m.group(1))
        assert last is None or n > last
        if notices == 0 and last is not None:
            assert n == last + 1
        last = n
    assert notices == 1
    assert corral.app("full")[0]["state"] == "online"


def test_file_size_limit_reported_once_and_recovered(corral):
    if not shutil.which("prlimit"):
        pytest.skip("prlimit(1) is missing")
    corral.script("steady.py", STEADY)
    # the daemon inherits the client's limit: as if the disk held 300 kB
    r = subprocess.run(["prlimit", "--fsize=300000:unlimited", str(CORRAL_BIN),
                        "start", "steady.py", "--name", "full"], env=corral.env,
                       cwd=str(corral.appdir), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    dpid = corral.daemon_pid()
    assert dpid
    _write_failure_then_recovery(
        corral, corral.logfile("full"), "File too large",
        lambda: subprocess.run(["prlimit", "--pid", str(dpid),
                                "--fsize=unlimited"], check=True))


def test_full_disk_reported_once_and_recovered(corral):
    """A real ENOSPC: the daemon runs in a mount namespace of its own where
    its logs folder is a 2 MiB tmpfs, filled by the test, then freed."""
    if not shutil.which("unshare"):
        pytest.skip("unshare(1) is missing")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private",
                            "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot mount a tmpfs in a private mount namespace: " +
                    probe.stderr.decode().strip())
    logs = Path(corral.home) / "logs"
    logs.mkdir(mode=0o700)
    script = (f"mount -t tmpfs -o size=2m,mode=0700 tmpfs {logs} && "
              f"exec {CORRALD_BIN}")
    subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                    script], env=corral.env, check=True, timeout=60)
    dpid = wait_for(lambda: corral.daemon_pid())
    # the daemon's view of its logs folder
    seen = Path(f"/proc/{dpid}/root") / str(logs).lstrip("/")
    filler = seen / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    os.truncate(filler, os.path.getsize(filler) - 200 * 1024)
    corral.script("steady.py", STEADY)
    corral.ok("start", "steady.py", "--name", "full")
    _write_failure_then_recovery(corral, seen / "full-out.log",
                                 "No space left on device",
                                 lambda: os.unlink(filler))


def test_daemon_log_rotates(corral):
    corral.script("q.sh", "#!/bin/sh\nexec sleep 3600\n")
    corral.ok("start", "q.sh", "--name", "q",
              extra_env={"CORRAL_DAEMON_LOG_SIZE": "1k",
                         "CORRAL_DAEMON_LOG_KEEP": "2"})
    for _ in range(12):
        corral.ok("restart", "q")
    home = Path(corral.home)
    assert (home / "corrald.log.1").exists()
    assert (home / "corrald.log.2").exists()
    assert not (home / "corrald.log.3").exists()
    assert (home / "corrald.log").stat().st_size < 2048


def _journal_fields(dgram):
    fields = {}
    for line in dgram.split(b"\n"):
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields[k.decode()] = v.decode()
    return fields


def test_journal_sink_native_protocol(corral, tmp_path):
    if not shutil.which("unshare"):
        pytest.skip("unshare(1) is missing")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private",
                            "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("no private mount namespace here to stand in for "
                    "journald: " + probe.stderr.decode().strip())
    jdir = tmp_path / "journal"
    jdir.mkdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(jdir / "socket"))
    sock.settimeout(DEADLINE)
    # the daemon sees our socket as /run/systemd/journal/socket
    script = ("mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && "
              f"mount --bind {jdir} /run/systemd/journal && exec {CORRALD_BIN}")
    subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                    script], env=corral.env, check=True, timeout=60)
    wait_for(lambda: corral.daemon_pid())
    corral.script("say.sh", """
        #!/bin/sh
        echo "to stdout"
        echo "to stderr" >&2
        exec sleep 3600
        """)
    corral.ok("start", "say.sh", "--name", "jr", "--log-sink", "journal")
    got = {}
    while len(got) < 2:
        f = _journal_fields(sock.recv(65536))
        got[f["MESSAGE"]] = f
    sock.close()
    out, err = got["to stdout"], got["to stderr"]
    assert out["PRIORITY"] == "6" and err["PRIORITY"] == "3"
    for f in (out, err):
        assert f["SYSLOG_IDENTIFIER"] == "jr"
        assert f["CORRAL_APP"] == "jr"
        assert f["CORRAL_INSTANCE"] == "0"
    assert not corral.logfile("jr").exists()
