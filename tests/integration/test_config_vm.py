# SPDX-License-Identifier: ISC
"""The boot test in a guest with systemd as PID 1 (../shared/vm): `corral
startup`, then the saved apps come back when multi-user.target starts and
go away with the service. It runs only with CORRAL_VM_TESTS=1 (about a
minute), in the user-mode-linux guest like the systemd group of
tests/vm/cgroup.sh: nothing it checks depends on the guest's kernel, and
qemu's emulation made it five times slower (four minutes). A sanitizer
build, which cannot run in UML, boots qemu, and so does a host where UML
does not boot; VM_BACKEND chooses too (tests/vm/backend.sh)."""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, TOP

# The harness's runner, found as tests/vm/cgroup.sh finds it ($CORRAL_VM...).
RUNNER = Path(subprocess.run(["sh", str(TOP / "tests/vm/harness.sh")],
                             stdout=subprocess.PIPE, text=True).stdout.strip())


@pytest.mark.skipif(os.environ.get("CORRAL_VM_TESTS") != "1",
                    reason="VM tests run with CORRAL_VM_TESTS=1")
@pytest.mark.skipif(not RUNNER.exists(), reason=f"no {RUNNER}")
def test_boot_with_systemd():
    env = dict(os.environ, VM_SYSTEMD="1", BUILD=str(BUILD))
    env["VM_BACKEND"] = subprocess.run(
        ["sh", str(TOP / "tests/vm/backend.sh"), str(BUILD), str(RUNNER)],
        stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    r = subprocess.run([str(RUNNER), "sh tests/vm/boot-systemd.sh"], cwd=TOP,
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=1500)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0 and "boot test: ok" in out, out[-4000:]
