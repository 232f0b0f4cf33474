#!/usr/bin/env bash
# Threads, signals and forced preemption (issue 4): each workload natively
# (pinned to one CPU), under `rewind record` and under `rewind replay -a`,
# three times each; prints the medians, the ratios, and for the workloads
# whose recording needs forced preemption points, what each point costs.
#
# usage: bench/threads_bench.sh [REWIND]      (default: build/cli/rewind)
# See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/lib.sh"
find_rewind threads_bench.sh "${1:-}"
command -v xz >/dev/null || { echo "threads_bench.sh: xz is needed" >&2; exit 2; }
runs=3
limit_s=300

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-threads-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

for prog in mutex4 pingpong spin_handoff timer_compute; do
  cc -O2 -pthread -o "$work/$prog" "$here/$prog.c"
done
# ~30 MB of compressible text: enough blocks for both xz worker threads.
seq 1 2000000 | awk '{ printf "%08x %d\n", ($1 * 2654435761) % 4294967296, $1 }' >"$work/input.txt"

names=(mutex-4-threads condvar-pingpong-20k xz-T2 spin-handoffs-200 sigalrm-compute)
declare -A cmds=(
  [mutex-4-threads]="$work/mutex4 10000000"
  [condvar-pingpong-20k]="$work/pingpong 20000"
  [xz-T2]="$(command -v xz) -T2 --block-size=1MiB -c $work/input.txt"
  [spin-handoffs-200]="$work/spin_handoff 100"
  [sigalrm-compute]="$work/timer_compute 500000000"
)

# "points/run" below: the forced preemptions (PREEMPT events) of the last
# recording; each also delivers any signal held back for the task.
per_point_ms() {  # TOTAL NATIVE POINTS
  [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ && $3 -gt 0 ]] || { echo -; return; }
  # Below native (noise, or replay skipping real I/O): nothing to attribute.
  awk -v t="$1" -v n="$2" -v p="$3" 'BEGIN { if (t < n) print "-"; else printf "%.3f", (t - n) * 1000 / p }'
}

rows=()
for name in "${names[@]}"; do
  read -r -a cmd <<<"${cmds[$name]}"
  run_three_ways "$name" "${cmd[@]}"
  points=$("$rewind" dump "$work/trace" 2>/dev/null | grep -c ' PREEMPT ' || true)
  rm -rf "$work/trace"
  n=$(median "${native[@]}") r=$(median "${record[@]}") p=$(median "${replay[@]}")
  rows+=("$name|$n|$r|$p|$(ratio "$r" "$n")|$(ratio "$p" "$n")|$points|$(per_point_ms "$r" "$n" "$points")|$(per_point_ms "$p" "$n" "$points")")
  echo "done: $name (native ${native[*]}; record ${record[*]}; replay ${replay[*]}; $points points)" >&2
done

echo
echo "rewind threads benchmark, median of $runs runs, $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-22s %9s %9s %9s %9s %9s %7s %13s %13s\n' workload "native s" "record s" "replay s" rec/nat rep/nat points "rec ms/point" "rep ms/point"
for row in "${rows[@]}"; do
  IFS='|' read -r name n r p rr pr pts rpp ppp <<<"$row"
  printf '%-22s %9s %9s %9s %9s %9s %7s %13s %13s\n' "$name" "$n" "$r" "$p" "$rr" "$pr" "$pts" "$rpp" "$ppp"
done
echo "(ms/point: (mode - native) / points, an upper bound that includes all other overhead)"
print_failures
