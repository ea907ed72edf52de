#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs inside a VM_SYSTEMD=1 guest (../shared/vm/run-in-vm.sh), as root,
# with systemd as PID 1: `corral startup` installs and enables the boot
# service, the saved apps come back when multi-user.target (what the unit
# is wanted by) starts as at boot, and stopping the service stops them.
# Prints "boot test: ok" and exits 0 on success.
set -eu
B=${BUILD:-build}
B=$(cd "$B" && pwd)
export HOME=/root CORRAL_HOME=/root/.corral
work=$(mktemp -d /var/tmp/corral-vm.XXXXXX)
fail() { echo "boot test: FAILED: $*"; journalctl -u corral-root --no-pager | tail -30; exit 1; }
wait_for() { # seconds, command...
	n=$(( $1 * 10 )); shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.1
	done
}

cat > "$work/app.sh" <<'APP'
#!/bin/sh
echo "up as $(id -un) notify=${NOTIFY_SOCKET:-none}"
exec sleep 1000
APP
chmod 755 "$work/app.sh"

"$B/corral" start "$work/app.sh" --name web -i 2
"$B/corral" start "$work/app.sh" --name idle
"$B/corral" stop idle
"$B/corral" save
"$B/corral" kill

"$B/corral" startup
unit=/etc/systemd/system/corral-root.service
[ -f "$unit" ] || fail "no unit written"
systemctl is-enabled corral-root.service | grep -qx enabled || fail "not enabled"
systemd-analyze verify --man=no "$unit" || fail "systemd-analyze verify"

# boot: the target the unit is wanted by
# Not the gettys multi-user.target also wants: a getty on tty1 would hang
# up the guest console that carries this script's output (UML's tty1).
systemctl mask --runtime --quiet getty.target
systemctl start multi-user.target || fail "multi-user.target"
systemctl is-active corral-root.service | grep -qx active || fail "not active"
online() { [ "$("$B/corral" jlist | grep -o '"name": *"web"[^}]*"state": *"online"' | wc -l)" -eq 2 ]; }
wait_for 60 online || fail "web not back online: $("$B/corral" ls)"
"$B/corral" jlist | grep -q '"name": *"idle"[^}]*"state": *"stopped"' ||
	fail "idle not stopped: $("$B/corral" ls)"
status() { systemctl show -p StatusText --value corral-root | grep -q "2/3 instances online"; }
wait_for 30 status || fail "StatusText: $(systemctl show -p StatusText --value corral-root)"
systemctl show -p WatchdogUSec --value corral-root | grep -qx 30s || fail "watchdog"
# An app may get corral's own notify socket (readiness), never systemd's.
grep -q "notify=" "$CORRAL_HOME/logs/web-out.log" || fail "app output missing"
! grep -q "notify=/run/systemd/notify" "$CORRAL_HOME/logs/web-out.log" ||
	fail "systemd's NOTIFY_SOCKET leaked to an app"
pids=$("$B/corral" jlist | grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$' | grep -v '^0$')
[ -n "$pids" ] || fail "no pids"

systemctl stop corral-root.service
for p in $pids; do
	if kill -0 "$p" 2>/dev/null; then fail "pid $p outlived the service"; fi
done
systemctl show -p Result --value corral-root | grep -qx success || fail "stop result"
"$B/corral" unstartup >/dev/null
[ ! -e "$unit" ] || fail "unit left after unstartup"
rm -rf "$work"
echo "boot test: ok"
