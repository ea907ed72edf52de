#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs the npm packages that integration tests run as a PM2 user would
# (pinned versions) into build/npm, only when missing. Without npm it says
# so, and the tests that need them are skipped.
# Usage: npm-deps.sh [folder]
set -e
dir=${1:-build/npm}
[ -x "$dir/node_modules/.bin/http-server" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
	echo "npm not found: the tests with npm packages will be skipped"
	exit 0
fi
mkdir -p "$dir"
npm install --no-audit --no-fund --prefix "$dir" http-server@14.1.1 >/dev/null
