#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs the Debian packages corral needs, only those that are missing.
# Usage: deps.sh build|test
set -e
pkgs="build-essential pkg-config libuv1-dev libjansson-dev libinih-dev libncurses-dev libsystemd-dev zlib1g-dev libmicrohttpd-dev"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v curl >/dev/null 2>&1 || pkgs="$pkgs curl"
if [ "$1" = test ]; then
	pkgs="$pkgs libcmocka-dev python3-pytest python3-pyte python3-yaml mandoc procps nodejs prometheus tini"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
	# clang and its runtime libraries: the libFuzzer harnesses (make fuzz)
	pkgs="$pkgs clang libclang-rt-14-dev"
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
