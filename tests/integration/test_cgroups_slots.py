# SPDX-License-Identifier: ISC
"""An instance slot's cgroup outlives its process, not its instance.

A restart puts the new process in the very directory the old one had (the
same kernfs node: rmdir + mkdir would give a new inode), with its limits;
a stopped instance keeps it, empty; a delete, of a running or a stopped
app, removes it and the app's directory; `corral kill` leaves none (the
cg fixture's check).  Runs on v1 here and on v2 in tests/vm/cgroup.sh.
"""

import os
from pathlib import Path

from conftest import wait_for
from test_cgroups import cg  # noqa: F401 (the fixture)


def limit_file(cg, path):
    return path / ("memory.max" if cg.backend == "v2" else
                   "memory.limit_in_bytes")


def procs(path):
    return (path / "cgroup.procs").read_text().split()


def gone(dirs):
    return not any(os.path.exists(d) for d in dirs)


def test_restart_reuses_the_slot_cgroup_and_delete_removes_it(cg):
    cg.need_cgroups()
    c = cg.c
    c.ok("start", "/bin/sleep", "--name", "slot", "--max-memory", "64M",
         "--", "1000")
    pid = cg.wait_online("slot")[0]["pid"]
    d = cg.cgroup("slot")
    path, paths = Path(d["path"]), d["paths"]
    ino = os.stat(path).st_ino
    assert str(pid) in procs(path)

    c.ok("restart", "slot")
    new = wait_for(lambda: c.app("slot")[0]["state"] == "online" and
                   c.app("slot")[0]["pid"] not in (0, pid) and
                   c.app("slot")[0]["pid"], what="the restarted process")
    assert cg.cgroup("slot")["paths"] == paths
    assert os.stat(path).st_ino == ino, "the cgroup was made again"
    assert int(limit_file(cg, path).read_text()) == 64 << 20
    assert procs(path) == [str(new)]

    c.ok("stop", "slot")
    assert all(os.path.isdir(p) for p in paths)
    assert procs(path) == []
    # A limit changed while stopped reaches the kept cgroup at the start.
    c.ok("set", "slot", "max_memory", "32M")
    c.ok("start", "slot")
    new = cg.wait_online("slot")[0]["pid"]
    assert os.stat(path).st_ino == ino
    assert int(limit_file(cg, path).read_text()) == 32 << 20
    assert procs(path) == [str(new)]

    c.ok("delete", "slot")
    appdirs = [os.path.dirname(p) for p in paths]
    wait_for(lambda: gone(paths + appdirs), what="the slot's cgroups gone")


def test_delete_of_a_stopped_app_removes_its_kept_cgroups(cg):
    cg.need_cgroups()
    c = cg.c
    c.ok("start", "/bin/sleep", "--name", "pair", "-i", "2", "--", "1000")
    cg.wait_online("pair", 2)
    paths = cg.cgroup("pair", 0)["paths"] + cg.cgroup("pair", 1)["paths"]
    c.ok("stop", "pair")
    assert all(os.path.isdir(p) for p in paths)
    c.ok("delete", "pair")
    appdirs = [os.path.dirname(p) for p in paths]
    wait_for(lambda: gone(paths + appdirs), what="the kept cgroups gone")
    # The next app of that name starts in fresh ones.
    c.ok("start", "/bin/sleep", "--name", "pair", "--", "1000")
    pid = cg.wait_online("pair")[0]["pid"]
    assert procs(Path(cg.cgroup("pair")["path"])) == [str(pid)]
