#!/usr/bin/env bash
# Runs each workload natively, under `rewind record` and under
# `rewind replay -a`, three times each, and prints the medians side by side.
#
# usage: bench/run_bench.sh [REWIND]      (default: build/cli/rewind)
# See bench/README.md for what each workload measures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/lib.sh"
find_rewind run_bench.sh "${1:-}"
python=/usr/bin/python3
runs=3
# No single command may take longer than this; a hung one is reported.
limit_s=120

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/compute" "$here/compute.c"
cc -O2 -o "$work/syscall_loop" "$here/syscall_loop.c"
head -c 200M /dev/urandom >"$work/big.bin"
cp -r "$repo/tests/data/make3" "$work/make3"

# Workloads: name, then the command (absolute paths: rewind need not search
# PATH). Iteration counts give ~1.5 s of compute
# and ~0.5 s of Python natively on a 2024 cloud vCPU.
names=(compute syscalls-100k cp-200MB sha256sum-200MB make-j1 python3)
declare -A cmds=(
  [compute]="$work/compute 700000000"
  [syscalls-100k]="$work/syscall_loop 100000"
  [cp-200MB]="$(command -v cp) $work/big.bin $work/copy.bin"
  # cp copies with copy_file_range, so no data passes through its memory;
  # sha256sum read()s all 200 MB, which the recording must keep.
  [sha256sum-200MB]="$(command -v sha256sum) $work/big.bin"
  [make-j1]="$(command -v make) -j1 -s -C $work/make3"
  [python3]="$python $here/json_hash.py 700"
)
# Undoes a workload's effects before each run, untimed.
prepare() {
  case $1 in
    cp-200MB) rm -f "$work/copy.bin" ;;
    make-j1) make -s -C "$work/make3" clean >/dev/null ;;
  esac
}

rows=()
for name in "${names[@]}"; do
  read -r -a cmd <<<"${cmds[$name]}"
  run_three_ways "$name" "${cmd[@]}"
  trace_mb=$(du -sm "$work/trace" 2>/dev/null | cut -f1 || echo -)
  rm -rf "$work/trace"
  n=$(median "${native[@]}") r=$(median "${record[@]}") p=$(median "${replay[@]}")
  rows+=("$name|$n|$r|$p|$(ratio "$r" "$n")|$(ratio "$p" "$n")|${trace_mb:--}")
  echo "done: $name (native ${native[*]}; record ${record[*]}; replay ${replay[*]})" >&2
done
rm -f "$work/big.bin" "$work/copy.bin"

echo
echo "rewind benchmark, median of $runs runs, $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-16s %9s %9s %9s %14s %14s %9s\n' workload "native s" "record s" "replay s" record/native replay/native "trace MB"
for row in "${rows[@]}"; do
  IFS='|' read -r name n r p rr pr mb <<<"$row"
  printf '%-16s %9s %9s %9s %14s %14s %9s\n' "$name" "$n" "$r" "$p" "$rr" "$pr" "$mb"
done
print_failures
