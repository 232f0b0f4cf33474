#!/usr/bin/env bash
# Reverse commands in LLDB (rewind's plugin) against gdb, on the traces of
# debug_bench.sh: a syscall-free loop of 10^7 calls, 4 threads, python3.
# Each command's latency in both debuggers from the same position, and
# whether they stop at the same place (lldb_bench.py).
#
# usage: bench/lldb_bench.sh [REWIND]
#   LLDB_BENCH_RUNS   sessions per debugger, for the medians (default 5)
#   LLDB_BENCH_CASES  comma-separated case-name prefixes (default all)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
source "$here/lib.sh"
find_rewind lldb_bench.sh "${1:-}"
plugin=$(dirname "$rewind")/../lldb-plugin/librewind-lldb.so
[[ -f $plugin ]] || { echo "lldb_bench.sh: no $plugin" >&2; exit 2; }
command -v gdb >/dev/null && command -v lldb-22 >/dev/null ||
  { echo "lldb_bench.sh: gdb and lldb-22 are needed (scripts/setup.sh)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A rebuild meanwhile must not swap the binary under the run; the plugin
# starts the same copy (REWIND_EXE).
cp "$rewind" "$work/rewind" && rewind=$work/rewind || exit 2
export REWIND_EXE=$rewind
gcc -O1 -g -o "$work/hot_loop" "$here/hot_loop.c" || exit 2
gcc -O1 -g -pthread -o "$work/bump4" "$here/bump4.c" || exit 2
python_code=$'import os\nfor _ in range(300):\n    os.getpid()'
record() {  # KEY CMD...
  local key=$1
  shift
  "$rewind" record -o "$work/$key.trace" "$@" >/dev/null 2>"$work/$key.rec.err" </dev/null ||
    { echo "lldb_bench.sh: recording $key failed" >&2; tail -n 5 "$work/$key.rec.err" >&2; exit 1; }
}
record loop7 "$work/hot_loop" 10000000
record threads "$work/bump4"
record python /usr/bin/python3 -c "$python_code"
echo "lldb_bench.sh: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
python3 "$here/lldb_bench.py" "$rewind" "$plugin" gdb lldb-22 "$work" "${LLDB_BENCH_RUNS:-5}"
