#!/bin/sh
# SPDX-License-Identifier: ISC
# The VM part of `make test-deps`: readies the harness that runs the
# cgroup-v2 and boot tests (see tests/vm/harness.sh for where it is looked
# for). When qemu or the harness's kernel cache is missing, runs the
# harness's build.sh, which apt-installs qemu and unpacks Debian's kernel
# and user-mode-linux into its cache; otherwise does nothing. Without a
# harness, or when build.sh fails, says that the VM tests will be skipped
# and exits 0: the rest of the suite still runs.
set -u
vm=$(sh "$(dirname "$0")/harness.sh") || {
	echo "vm tests will be skipped: no VM harness at $vm"
	exit 0
}
cache=${VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/corral-vm}
if command -v qemu-system-x86_64 >/dev/null 2>&1 &&
    [ -f "$cache/initramfs.cpio" ] && [ -f "$cache/kernel/version" ] &&
    [ -f "$cache/uml/initramfs.cpio" ] && [ -x "$cache/uml/linux" ]; then
	exit 0
fi
echo "preparing the VM harness: $(dirname "$vm")/build.sh"
if ! "$(dirname "$vm")/build.sh"; then
	echo "vm tests will be skipped: $(dirname "$vm")/build.sh failed"
fi
exit 0
