#!/usr/bin/env bash
# Runs every test: unit tests (Boost.Test), record/replay of the test
# programs and of real programs, and bad-input tests. Builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir build --output-on-failure -j2 --timeout 600 "$@"
