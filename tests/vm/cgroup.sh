#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs the cgroup tests on cgroup v2 in throw-away guests of the VM harness
# (found by tests/vm/harness.sh; `make test-deps` readies it with
# tests/vm/prepare.sh): one boot per group.
#   plain:   the live unit test, tests/integration/test_cgroups.py,
#            test_cgroups_slots.py and test_cgroups_gone.py as root in the
#            guest's root cgroup;
#   systemd: the live unit test in a Delegate=yes service as root (the
#            module moves itself into a leaf); test_cgroups.py (less the
#            tests that only repeat the plain group's) as root
#            from the guest's shell service, which the daemons share with
#            other processes (each asks systemd for a transient scope),
#            corral-keeper as a Type=notify service's main process, and
#            the unit of `corral startup` with the real engine; the
#            unit and integration tests as an unprivileged user, where each
#            daemon must ask the user's systemd for a delegated scope.
# Usage: tests/vm/cgroup.sh [BUILD_DIR] [plain|systemd]...
# Prints "vm cgroup tests skipped: why" and exits 0 when no VM can run.
set -u
build=${1:-build}
[ $# -gt 0 ] && shift
case $build in
*san*)	groups=${*:-plain} ;;      # qemu: the systemd boot alone takes 20 s
*)	groups=${*:-plain systemd} ;;
esac
top=$(cd "$(dirname "$0")/../.." && pwd)
vm=$(sh "$top/tests/vm/harness.sh")
live=$top/$build/tests/test_cgroup_live
[ -x "$live" ] || live=$build/tests/test_cgroup_live

if [ ! -x "$vm" ]; then
	echo "vm cgroup tests skipped: no VM harness at $vm"
	exit 0
fi
if ! command -v qemu-system-x86_64 >/dev/null 2>&1 &&
    ! [ -d "${VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/corral-vm}/uml" ]; then
	echo "vm cgroup tests skipped: neither qemu nor user-mode-linux is installed (make test-deps installs them)"
	exit 0
fi
if [ ! -x "$live" ]; then
	echo "vm cgroup tests: $live is not built" >&2
	exit 1
fi
# UML is the fast guest, where it boots and for builds without the
# sanitizer; else qemu (all of SMP, slower): tests/vm/backend.sh.
VM_BACKEND=$(sh "$top/tests/vm/backend.sh" "$build" "$vm")
export VM_BACKEND VM_SHARE="$top"
fail=0
# A test's deadline is only the bound of a wait that should end anyway:
# in a guest a page fault can cost a millisecond and a systemctl seconds
# while the host is loaded, so the guests wait up to 60 s.
deadline="export CORRAL_TEST_DEADLINE=${CORRAL_TEST_DEADLINE:-60}"
# Under systemd the daemons differ from the plain group in where they live
# (a transient scope of the system's or the user's systemd): the tests that
# only repeat the plain group's v2 limits and accounting are left to it.
skip=
for t in test_without_cgroups_group_kill_proc_accounting \
    test_memory_counts_a_child_process \
    test_max_memory_restart_replaces_the_instance \
    test_max_memory_restart_with_sockets_starts_the_replacement_first; do
	skip="$skip --deselect tests/integration/test_cgroups.py::$t"
done

for group in $groups; do
	case $group in
	plain)
		echo "== vm ($VM_BACKEND, plain cgroup v2): $live"
		"$vm" "set -e
$deadline
$live
BUILD=$build /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    tests/integration/test_cgroups.py \
    tests/integration/test_cgroups_slots.py \
    tests/integration/test_cgroups_gone.py \
    tests/integration/test_keeper.py::test_spawn_into_cgroups" || fail=1
		;;
	systemd)
		echo "== vm ($VM_BACKEND, systemd): $live and test_cgroups.py in delegated units and scopes, as root and as a user"
		VM_SYSTEMD=1 "$vm" "
set -e
$deadline
systemd-run --quiet --wait --pipe --collect -p Delegate=yes \
    -p Type=exec $live
BUILD=$build /usr/bin/python3 -m pytest -q -p no:cacheprovider $skip \
    tests/integration/test_cgroups.py \
    tests/integration/test_cgroups_gone.py \
    tests/integration/test_keeper_systemd.py \
    tests/integration/test_startup_systemd.py
useradd -m cgtest
loginctl enable-linger cgtest
uid=\$(id -u cgtest)
i=0
while [ ! -S /run/user/\$uid/systemd/private ] && [ \$i -lt 300 ]; do
	sleep 0.1; i=\$((i + 1))
done
chmod 755 $(dirname "$live")
runuser -u cgtest -- env XDG_RUNTIME_DIR=/run/user/\$uid \
    CGTEST_SCOPE=1 $live
runuser -u cgtest -- env XDG_RUNTIME_DIR=/run/user/\$uid HOME=/home/cgtest \
    CORRAL_TEST_DEADLINE=\$CORRAL_TEST_DEADLINE \
    BUILD=$build /usr/bin/python3 -m pytest -q -p no:cacheprovider $skip \
    -o cache_dir=/tmp/pytest-cache tests/integration/test_cgroups.py
" || fail=1
		;;
	*)
		echo "unknown group $group" >&2
		exit 100
		;;
	esac
done
exit $fail
