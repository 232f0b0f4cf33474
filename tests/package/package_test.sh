#!/bin/bash
# package.install: builds the Debian package from this checkout
# (packaging/build-deb.sh, lintian included) and runs the install test on
# it (install_test.sh), with BUILD_DIR hidden too.
#
#   tests/package/package_test.sh BUILD_DIR
set -euo pipefail
here=$(dirname "$(realpath "$0")")
out=$(mktemp -d /tmp/rewind-package-test.XXXXXX)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
deb=$("$here/../../packaging/build-deb.sh" -o "$out" | tail -n 1)
echo "package_test.sh: built $deb in $(($(date +%s) - start)) s"
start=$(date +%s)
"$here/install_test.sh" "$deb" "$@"
echo "package_test.sh: install test took $(($(date +%s) - start)) s"
