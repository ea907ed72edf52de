#!/bin/sh
# SPDX-License-Identifier: ISC
# Prints the guest the VM tests of BUILD_DIR boot (tests/vm/cgroup.sh and
# tests/integration/test_config_vm.py): $VM_BACKEND when set; qemu for a
# sanitizer build (AddressSanitizer cannot map its shadow memory in UML);
# else uml, the fast one, if it boots here, and qemu when it does not.
# UML 6.1 (Debian 12's) dies at its first process on a host CPU with AMX
# ("ptrace set fp regs failed"): a `true` in it tells, in about 2 s.
# Usage: tests/vm/backend.sh BUILD_DIR RUNNER; why goes to stderr.
build=${1:-build}
vm=${2:-$(sh "$(dirname "$0")/harness.sh")}
if [ -n "${VM_BACKEND:-}" ]; then
	echo "$VM_BACKEND"
	exit 0
fi
case $build in
*san*)	echo qemu; exit 0 ;;
esac
if VM_BACKEND=uml VM_SYSTEMD= VM_TIMEOUT=120 "$vm" true >/dev/null 2>&1; then
	echo uml
else
	echo "vm: user-mode-linux does not boot on this host: the tests boot qemu" >&2
	echo qemu
fi
