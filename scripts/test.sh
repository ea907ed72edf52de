#!/bin/sh
# SPDX-License-Identifier: ISC
# The steps of `make test` once test-deps is done: man page lint, unit,
# integration and, unless SANITIZE is 1, the fuzzers, one after another;
# the cgroup-v2 VM group (`make vm-test`) runs beside them from the
# start (after them where the normal build's guest is qemu, see below),
# its output kept and printed after theirs. The guests are most of
# the run's time and mostly keep one CPU busy, while the integration tests
# mostly wait on processes: side by side the run takes about as long as
# the guests alone. The fuzzers then run one at a time (FUZZ_JOBS=1), so
# that they and the guest each keep a CPU.
# Every step runs even when one before it failed; the exit status is 1 when
# any failed.
# Usage: scripts/test.sh BUILD_DIR SANITIZE (what make test passes)
set -u
build=${1:-build}
san=${2:-}
MAKE=${MAKE:-make}
vmlog=$(mktemp /tmp/corral-vm-test.XXXXXX)
vmpid=

stop_vm() {
	[ -n "$vmpid" ] && kill -TERM -- "-$vmpid" 2>/dev/null
	rm -f "$vmlog"
	exit 130
}
trap stop_vm INT TERM HUP

# The guest (tests/vm/backend.sh): where the normal build's groups fall
# back to qemu (UML does not boot here), two emulated guests would share
# two CPUs with the integration tests (the boot test boots one too), and
# timing-bound tests failed: the groups then run after the other steps.
after=0
if vm=$(sh tests/vm/harness.sh); then
	VM_BACKEND=$(sh tests/vm/backend.sh "$build" "$vm")
	export VM_BACKEND
	case $build in
	*san*)	;;
	*)	[ "$VM_BACKEND" = qemu ] && after=1 ;;
	esac
fi

# its own process group (set -m), so that an interrupt takes the guest too
start_vm() {
	set -m
	$MAKE --no-print-directory vm-test >"$vmlog" 2>&1 &
	vmpid=$!
	set +m
}
if [ "$after" = 0 ]; then
	start_vm
	echo "== vm-test: running beside the other steps (pid $vmpid), output after them"
fi

fail=0
step() {
	echo "== make $*"
	$MAKE --no-print-directory "$@" || { echo "== make $*: FAILED"; fail=1; }
}
step lint-man
step unit
step integration
[ "$san" = 1 ] || step fuzz FUZZ_JOBS=1
if [ "$after" = 1 ]; then
	echo "== vm-test: qemu for the normal build, after the other steps"
	start_vm
fi

t0=$(date +%s)
if wait "$vmpid"; then vmrc=0; else vmrc=$?; fi
trap - INT TERM HUP
echo "== vm-test (waited $(($(date +%s) - t0)) s for it):"
cat "$vmlog"
rm -f "$vmlog"
if [ "$vmrc" -ne 0 ]; then
	echo "== make vm-test: FAILED"
	fail=1
fi
exit $fail
