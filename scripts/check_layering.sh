#!/usr/bin/env bash
# Fails when a layer includes a header of a layer above it (see
# tests/CMakeLists.txt): linking catches most calls upwards, but not a
# header-only dependency.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
bad=0
check() {  # check DIR PATTERN WHY
  local hits
  hits=$(grep -rnE "#include \"($2)" "$1" --include='*.h' --include='*.cc' || true)
  if [[ -n $hits ]]; then
    echo "layering: $1 must not include $2 ($3):" >&2
    echo "$hits" >&2
    bad=1
  fi
}
for d in core/base core/trace core/syscalls core/cpu core/task core/record core/replay; do
  check "$d" "core/timeline/" "the timeline sits above replay"
done
check core/base "core/(trace|syscalls|cpu|task|record|replay|timeline)/" "base is the bottom layer"
# The front ends (cli/, gdbstub/, lldb-plugin/, dap/) are checked on every
# build by cmake/CheckFrontEndIncludes.cmake.
exit $bad
