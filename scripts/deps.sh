#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs the Debian packages corral needs, only those that are missing.
#   build: compiler, pkg-config and the libraries (libsystemd included),
#          node and curl for the example;
#   test:  the above and what the tests use (cmocka, pytest, mandoc...);
#   ci:    what .ci/run adds: mmdebstrap for the fresh-root step;
#   bench: the build's and what the benchmarks run (wrk; bench/lib.sh).
# Usage: deps.sh build|test|ci|bench
set -e
case $1 in
build|test|ci|bench) ;;
*)	echo "usage: deps.sh build|test|ci|bench" >&2; exit 100 ;;
esac
pkgs="build-essential pkg-config libuv1-dev libjansson-dev libinih-dev libncurses-dev libsystemd-dev zlib1g-dev libmicrohttpd-dev"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v curl >/dev/null 2>&1 || pkgs="$pkgs curl"
if [ "$1" = test ]; then
	pkgs="$pkgs libcmocka-dev python3-pytest python3-pytest-xdist python3-pyte python3-yaml mandoc procps nodejs prometheus tini"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
	# clang and its runtime libraries: the libFuzzer harnesses (make fuzz)
	pkgs="$pkgs clang libclang-rt-14-dev"
elif [ "$1" = ci ]; then
	pkgs="mmdebstrap"
elif [ "$1" = bench ]; then
	pkgs="$pkgs wrk"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# no Recommends: prometheus would pull in node-exporter and its service
$SUDO apt-get install -y -qq --no-install-recommends $missing
