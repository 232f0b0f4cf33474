#!/usr/bin/env bash
# ptrace_bench.sh [REWIND] [RUNS]: programs that trace others, natively,
# under `rewind record` and under `rewind replay -a` (docs/ptrace.md: rewind
# answers their ptrace calls itself). Medians of RUNS (default 5) runs each,
# in one invocation, with the ratios to the native run.
#
#   step-20k      a tracer single-steps its child through 20,000 instructions
#                 of a loop that makes no syscall (bench/ptrace_stepper.c)
#   syscall-2k    PTRACE_SYSCALL over a child's 2,000 getppid() calls, as
#                 strace does (the same program)
#   strace-make   strace -f of make -j1 of tests/data/make3 (a real build,
#                 a tracer rewind's authors did not write)
#   gdb-batch     gdb -batch: a breakpoint, run, next, stepi, kill
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
source "$here/lib.sh"
find_rewind ptrace_bench.sh "${1:-}"
runs=${2:-5}
limit_s=300
work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-ptrace-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
command -v strace >/dev/null || { echo "ptrace_bench.sh: strace is needed (scripts/setup.sh)" >&2; exit 2; }
command -v gdb >/dev/null || { echo "ptrace_bench.sh: gdb is needed (scripts/setup.sh)" >&2; exit 2; }
cc -O2 -o "$work/stepper" "$here/ptrace_stepper.c"
cc -O1 -g -o "$work/target" "$repo/tests/programs/compute_loop.c"

prepare() {
  [[ $1 == strace-make ]] || return 0
  rm -rf "$work/make3"
  cp -r "$repo/tests/data/make3" "$work/make3"
}

echo "# ptrace_bench.sh: $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d), $runs runs each"
printf '%-12s %9s %9s %9s %8s %8s\n' workload native record replay rec/nat rep/nat
report() {
  local name=$1 n r p
  n=$(median "${native[@]}") r=$(median "${record[@]}") p=$(median "${replay[@]}")
  printf '%-12s %9s %9s %9s %8s %8s\n' "$name" "$n" "$r" "$p" "$(ratio "$r" "$n")" "$(ratio "$p" "$n")"
}
run_three_ways step-20k "$work/stepper" step 20000
report step-20k
run_three_ways syscall-2k "$work/stepper" syscall 2000
report syscall-2k
run_three_ways strace-make strace -f -o /dev/null make -j1 -C "$work/make3"
report strace-make
run_three_ways gdb-batch gdb -nx -batch -ex "break main" -ex run -ex next -ex stepi -ex kill "$work/target"
report gdb-batch
print_failures
