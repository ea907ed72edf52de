#!/bin/sh
# SPDX-License-Identifier: ISC
# Figures of issue #13, keeper part: corral-keeper's RSS (VmRSS) with 0 and
# BENCH_INSTANCES (default 50) children, and the time from a kill -9 of the
# engine until the next engine has read the whole table (median of
# BENCH_KILLS, default 20; each engine serves 1.1 s first: a quicker death
# counts as a crash loop and is restarted after a delay). The engine is tests/keeper/fake-engine, driven
# by the test harness tests/integration/keeperproto.py (the engine side of
# corrald is not wired to the keeper yet).
# Usage: bench/keeper.sh [BUILD_DIR]   (make all and the fake engine first:
# make $BUILD/tests/fake-engine). Never run by `make test`.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=$build BENCH_INSTANCES=${BENCH_INSTANCES:-50} \
BENCH_KILLS=${BENCH_KILLS:-20} PYTHONPATH=$top/tests/integration \
    exec /usr/bin/python3 - <<'PY'
import os, signal, statistics, tempfile, time
from keeperproto import Keeper, READY, SPAWNED, PID, KEEPER_BIN

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

n = int(os.environ["BENCH_INSTANCES"])
kills = int(os.environ["BENCH_KILLS"])
with tempfile.TemporaryDirectory(prefix="corral-bench.") as tmp:
    k = Keeper(tmp)
    try:
        e = k.accept()
        e.link.table()
        e.link.send(READY)
        time.sleep(0.2)
        r0 = rss_kib(k.proc.pid)
        for i in range(n):
            e.link.spawn(f"app:{i}:1", ["sleep", "1000"])
            m = e.link.expect(SPAWNED)
            k.pids.append(m.fields[PID])
            for fd in m.fds:
                os.close(fd)
        time.sleep(0.2)
        r50 = rss_kib(k.proc.pid)
        times = []
        for _ in range(kills):
            time.sleep(1.1)
            t0 = time.monotonic()
            os.kill(e.pid, signal.SIGKILL)
            e = k.accept()
            hello, items = e.link.table()
            times.append((time.monotonic() - t0) * 1000)
            assert len(items) == n
            for it in items:
                for fd in it.fds:
                    os.close(fd)
            e.link.send(READY)
        print(f"corral-keeper {KEEPER_BIN} ({os.path.getsize(KEEPER_BIN)} bytes)")
        print(f"keeper RSS, 0 children:  {r0} KiB")
        print(f"keeper RSS, {n} children: {r50} KiB")
        print(f"engine kill -9 -> new engine has the table ({n} children): "
              f"median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms over {kills} kills")
    finally:
        k.cleanup()
PY
