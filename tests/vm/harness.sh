#!/bin/sh
# SPDX-License-Identifier: ISC
# Prints the path of the VM harness's runner (run-in-vm.sh, beside its
# build.sh) that the cgroup-v2 and boot tests use: $CORRAL_VM if set, else
# ../shared/vm beside the project, else /work/shared/vm. Exits 1, printing
# the first place looked at, when there is none: the callers then skip with
# a message saying where it was expected.
top=$(cd "$(dirname "$0")/../.." && pwd)
for vm in ${CORRAL_VM:-"$top/../shared/vm/run-in-vm.sh" /work/shared/vm/run-in-vm.sh}; do
	if [ -x "$vm" ]; then
		echo "$vm"
		exit 0
	fi
done
echo "${CORRAL_VM:-$top/../shared/vm/run-in-vm.sh}"
exit 1
