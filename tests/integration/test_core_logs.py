# SPDX-License-Identifier: ISC
"""Logs of the core: per-app out/error files, `corral logs` tail and
streaming, `corral flush`, lines of several instances never interleaved, long
lines and lines without a newline written whole."""

import re

from conftest import wait_for

NUMBERED = """\
#!/bin/sh
i=1
while [ $i -le 30 ]; do
  printf 'L%04d\\n' $i
  printf 'E%04d\\n' $i >&2
  i=$((i+1))
done
exec sleep 1000
"""

TICKER = """\
#!/bin/sh
i=0
while :; do
  echo "tick-$i"
  echo "etick-$i" >&2
  i=$((i+1))
  sleep 0.2
done
"""


def lines_of(path):
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


def ends(lines, suffix):
    """Lines that end with suffix (a log line may carry a prefix)."""
    return [ln for ln in lines if ln.endswith(suffix)]


def start_numbered(c, name):
    c.script(f"{name}.sh", NUMBERED)
    c.ok("start", f"{name}.sh", "--name", name)
    c.wait_state(name, "online")
    wait_for(lambda: ends(lines_of(c.logfile(name, "out")), "L0030")
             and ends(lines_of(c.logfile(name, "error")), "E0030"),
             what=f"{name}'s 30 lines in its log files")


def test_log_files_per_app_and_stream(corral):
    start_numbered(corral, "num")
    out = lines_of(corral.logfile("num", "out"))
    err = lines_of(corral.logfile("num", "error"))
    assert [ln[-5:] for ln in out] == [f"L{i:04d}" for i in range(1, 31)]
    assert [ln[-5:] for ln in err] == [f"E{i:04d}" for i in range(1, 31)]


def test_logs_lines_nostream(corral):
    start_numbered(corral, "num")
    start_numbered(corral, "two")
    r = corral.run("logs", "num", "--lines", "5", "--nostream", timeout=30)
    assert r.rc == 0, r.err
    for i in range(26, 31):
        assert f"L{i:04d}" in r.out and f"E{i:04d}" in r.out + r.err
    for i in (1, 25):
        assert f"L{i:04d}" not in r.out and f"E{i:04d}" not in r.out + r.err
    # Without a name: every app.
    r = corral.run("logs", "--lines", "2", "--nostream", timeout=30)
    assert r.rc == 0, r.err
    both = r.out + r.err
    assert both.count("L0030") == 2 and both.count("L0029") == 2
    assert "L0028" not in both
    r = corral.run("logs", "nope", "--nostream")
    assert r.rc == 1


def test_logs_follow_streams_new_lines(corral):
    corral.script("tick.sh", TICKER)
    corral.ok("start", "tick.sh", "--name", "tick")
    corral.wait_state("tick", "online")
    wait_for(lambda: ends(lines_of(corral.logfile("tick")), "tick-2"))
    s = corral.spawn("logs", "tick", "--lines", "1")
    # The tail first (one line of each file), then lines that did not exist
    # when the client started.
    first = s.wait_line(lambda ln: re.search(r"(?<!e)tick-(\d+)$", ln), what="tail line")
    n0 = int(re.search(r"(\d+)$", first).group(1))
    s.wait_line(lambda ln: re.search(rf"(?<!e)tick-{n0 + 3}$", ln),
                what=f"streamed tick-{n0 + 3}")
    s.wait_line(lambda ln: re.search(rf"etick-{n0 + 3}$", ln),
                what=f"streamed etick-{n0 + 3} (stderr)")
    assert s.running(), "logs without --nostream exited"
    s.stop()


def test_logs_follow_all_apps_sees_new_app(corral):
    # The daemon subscribes the client before it replies with the files to
    # tail: once the client shows early's line, it follows, and app late
    # does not exist yet.
    corral.script("early.sh", "#!/bin/sh\necho early-line\nexec sleep 1000\n")
    corral.ok("start", "early.sh", "--name", "early")
    wait_for(lambda: "early-line" in corral.logfile("early").read_text(),
             what="early's line in its file")
    s = corral.spawn("logs")
    s.wait_line(lambda ln: ln.endswith("early-line"), what="the tail")
    corral.script("tick.sh", TICKER)
    corral.ok("start", "tick.sh", "--name", "late")
    s.wait_line(lambda ln: ln.endswith("tick-5"), what="line of an app started later")
    assert s.running()


def test_flush(corral):
    start_numbered(corral, "fa")
    start_numbered(corral, "fb")
    # The writer thread applies a flush after the reply, in order with the
    # lines queued before it: wait for it rather than race it.
    def empty(*files):
        return all(corral.logfile(*f).stat().st_size == 0 for f in files)
    corral.ok("flush", "fa")
    wait_for(lambda: empty(("fa", "out"), ("fa", "error")), what="fa flushed")
    assert len(lines_of(corral.logfile("fb", "out"))) == 30
    corral.ok("flush")
    wait_for(lambda: empty(("fb", "out"), ("fb", "error")), what="fb flushed")
    # Lines written after a flush land at the start of the emptied file.
    corral.script("tick.sh", TICKER)
    corral.ok("start", "tick.sh", "--name", "ft")
    wait_for(lambda: ends(lines_of(corral.logfile("ft")), "tick-3"))
    corral.ok("flush", "ft")
    wait_for(lambda: ends(lines_of(corral.logfile("ft")), "tick-3") == []
             and len(lines_of(corral.logfile("ft"))) >= 2, what="new lines after flush")
    data = corral.logfile("ft").read_bytes()
    assert b"\0" not in data, "file written at its old offset after flush (no O_APPEND?)"
    assert corral.run("flush", "nope").rc == 1


WRITER = """\
#!/usr/bin/python3
# Writes N numbered lines in chunks that never align with line ends, so
# that the daemon sees partial lines from several instances at once.
import os, time
i = os.environ["CORRAL_INSTANCE"]
N = 2000
buf = b"".join(b"inst-%s-%05d-%s\\n" % (i.encode(), n, b"x" * 180) for n in range(N))
sizes = [37, 4093, 511, 1500, 7, 65537, 3]
pos = k = 0
while pos < len(buf):
    sz = sizes[k % len(sizes)]
    k += 1
    os.write(1, buf[pos:pos + sz])
    pos += sz
os.write(2, b"stderr-of-%s\\n" % i.encode())
time.sleep(1000)
"""


def test_instances_never_interleave_mid_line(corral):
    corral.script("writer.py", WRITER)
    corral.ok("start", "writer.py", "--name", "w", "-i", "4")
    corral.wait_state("w", "online", count=4)
    out = corral.logfile("w", "out")
    wait_for(lambda: len(lines_of(out)) >= 4 * 2000, timeout=60,
             what="8000 lines in w-out.log")
    seqs = {str(i): [] for i in range(4)}
    pat = re.compile(r"inst-(\d)-(\d{5})-(x*)$")
    lines = lines_of(out)
    assert len(lines) == 8000
    for ln in lines:
        m = pat.search(ln)
        assert m and ln.count("inst-") == 1 and len(m.group(3)) == 180, \
            f"mangled line: {ln[:120]!r}..."
        seqs[m.group(1)].append(int(m.group(2)))
    for i, seq in seqs.items():
        assert seq == list(range(2000)), f"instance {i}: lines lost or reordered"
    err = lines_of(corral.logfile("w", "error"))
    assert sorted(ln[-12:] for ln in err) == [f"stderr-of-{i}"[-12:] for i in range(4)]


LONG = """\
#!/usr/bin/python3
import os
i = int(os.environ["CORRAL_INSTANCE"])
letter = b"AB"[i:i + 1]
line = letter * 300000 + b"\\n"
for k in range(0, len(line), 1000):
    os.write(1, line[k:k + 1000])
os.write(1, b"no-newline-at-exit-%d" % i)
"""


def test_long_lines_and_unterminated_last_line(corral):
    corral.script("long.py", LONG)
    corral.ok("start", "long.py", "--name", "long", "-i", "2", "--autorestart", "never")
    corral.wait_state("long", "stopped", count=2)
    out = corral.logfile("long")
    lines = wait_for(lambda: (lambda ls: len(ends(ls, "no-newline-at-exit-0")) == 1
                              and len(ends(ls, "no-newline-at-exit-1")) == 1 and ls)
                     (lines_of(out)), what="unterminated last lines written")
    for letter in "AB":
        whole = [ln for ln in lines if ln.endswith(letter * 300000)]
        assert len(whole) == 1, f"the 300000-byte line of {letter} is not whole"
    assert len(lines) == 4, [ln[:40] for ln in lines]


FLOOD = """\
#!/usr/bin/python3
import os, time
here = os.path.dirname(os.path.abspath(__file__))
line = b"flood-" + b"y" * 200 + b"\\n"
for n in range(20000):
    os.write(1, line)
open(os.path.join(here, "flood.done"), "w").close()
time.sleep(1000)
"""


def daemon_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "asan" in f.read()


def test_stalled_log_reader_never_blocks_daemon_or_app(corral):
    import subprocess
    from conftest import CORRAL_BIN
    corral.ok("ping")
    dpid = corral.daemon_pid()
    rss0 = daemon_rss_kib(dpid)
    # A follower that never reads what it is sent.
    stalled = subprocess.Popen([str(CORRAL_BIN), "logs"], env=corral.env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        corral.script("flood.py", FLOOD)
        corral.ok("start", "flood.py", "--name", "flood")
        # The app is never blocked on its pipe, every line reaches the file,
        # and the daemon goes on answering.
        wait_for(lambda: (corral.appdir / "flood.done").exists(), timeout=60,
                 what="the app wrote all its lines")
        out = corral.logfile("flood")
        wait_for(lambda: len(lines_of(out)) == 20000, timeout=60,
                 what="20000 lines in flood-out.log")
        corral.ok("ping")
        assert corral.app("flood")[0]["state"] == "online"
        if not sanitized(dpid):
            grown = daemon_rss_kib(dpid) - rss0
            assert grown < 16 * 1024, f"daemon RSS grew by {grown} KiB"
    finally:
        stalled.kill()
        stalled.wait(10)
    corral.ok("ping")


def test_follow_survives_bytes_that_are_not_utf8(corral):
    corral.script("bytes.sh", """\
        #!/bin/sh
        echo waiting-for-go
        while [ ! -e "$(dirname "$0")/go" ]; do sleep 0.05; done
        printf 'bad \\377\\376 bytes\\n'
        printf 'after-bad\\n'
        exec sleep 1000
        """)
    corral.ok("start", "bytes.sh", "--name", "bytes")
    corral.wait_state("bytes", "online")
    wait_for(lambda: ends(lines_of(corral.logfile("bytes")), "waiting-for-go"))
    s = corral.spawn("logs", "bytes", "--lines", "1")
    # Once the tail is printed, the daemon streams to this client.
    s.wait_line(lambda ln: ln.endswith("waiting-for-go"), what="tail")
    (corral.appdir / "go").write_text("")
    s.wait_line(lambda ln: ln.endswith("after-bad"), what="line after bad bytes")
    bad = s.wait_line(lambda ln: "bad " in ln and ln.endswith(" bytes"),
                      what="the line with bad bytes, streamed")
    assert "\ufffd" in bad, bad
    # the file is written beside the stream, not before it: wait for it
    log = corral.logfile("bytes")
    wait_for(lambda: b"bad \xff\xfe bytes\n" in log.read_bytes(),
             what=lambda: f"the file must keep the bytes: {log.read_bytes()!r}")
