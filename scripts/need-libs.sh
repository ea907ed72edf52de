#!/bin/sh
# SPDX-License-Identifier: ISC
# Checks that pkg-config finds every library the build needs, before the
# first object is compiled (the Makefile's flags stamps run it). On a miss
# it names the missing libraries and their Debian packages, says which make
# target installs them, and exits 1.
# Usage: need-libs.sh deps|test-deps PKG...
target=$1
shift
if ! command -v pkg-config >/dev/null 2>&1; then
	echo "corral: pkg-config is missing: run \`make $target\` (it installs what the build needs with apt-get)" >&2
	exit 1
fi
missing=""
debs=""
for p in "$@"; do
	pkg-config --exists "$p" && continue
	case $p in
	libuv)		deb=libuv1-dev ;;
	ncursesw)	deb=libncurses-dev ;;
	zlib)		deb=zlib1g-dev ;;
	lib*)		deb=$p-dev ;;
	*)		deb=lib$p-dev ;;
	esac
	missing="$missing $p"
	debs="$debs $deb"
done
[ -z "$missing" ] && exit 0
echo "corral: missing libraries:$missing (Debian packages:$debs)." >&2
echo "corral: run \`make $target\` to install them with apt-get, then build again." >&2
exit 1
