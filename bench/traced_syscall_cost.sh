#!/usr/bin/env bash
# What one recorded syscall costs, against the floor ptrace sets: a getpid
# loop natively, under bare_ptrace.c (the smallest PTRACE_SYSCALL tracer,
# with and without a PTRACE_GETREGS per stop) and under `rewind record -n`
# (no syscall buffer: every syscall is an entry and an exit stop).
#
# usage: bench/traced_syscall_cost.sh [REWIND]    (default: build/cli/rewind)
#   TRACED_N=100000   getpid calls per run
#   TRACED_RUNS=3     runs per mode (the medians are shown)
#   TRACED_TRACE_DIR  where the traces go (default: /dev/shm if it is a
#                     tmpfs, else $TMPDIR): closing a trace fsyncs it, which
#                     on a busy disk adds more noise than 100,000 syscalls
#
# Each time is the median of TRACED_RUNS runs with N calls minus the median
# of as many with none (start-up, exec, trace creation, exit), divided by
# N: microseconds per syscall. "cpu" is user+sys of the whole process tree
# (bash's `time`), less disturbed by other load than the wall time. The
# call counts come from `strace -c` of the tracer alone (not -f: that would
# attach to the tracee, which rewind or bare_ptrace must trace), and from
# perf's syscall tracepoints where perf can count them (strace slows the
# tracer, which changes how often it waits), the same difference over N.
# See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/lib.sh"
find_rewind traced_syscall_cost.sh "${1:-}"
command -v strace >/dev/null || { echo "traced_syscall_cost.sh: strace is needed" >&2; exit 2; }
n=${TRACED_N:-100000}
runs=${TRACED_RUNS:-3}
limit_s=300

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-traced.XXXXXX")
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/getpid_loop" "$here/getpid_loop.c"
cc -O2 -o "$work/bare_ptrace" "$here/bare_ptrace.c"
loop=$work/getpid_loop
trace_root=${TRACED_TRACE_DIR:-}
if [[ -z $trace_root ]]; then
  trace_root=$work
  [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs && -w /dev/shm ]] && trace_root=/dev/shm
fi
trace=$(mktemp -d "$trace_root/rewind-traced-trace.XXXXXX")
trap 'rm -rf "$work" "$trace"' EXIT

# The command line of a mode, for COUNT getpid calls.
mode_cmd() {  # MODE COUNT
  case $1 in
    native) echo "taskset -c 0 $loop $2" ;;
    bare) echo "taskset -c 0 $work/bare_ptrace $loop $2" ;;
    bare-regs) echo "taskset -c 0 $work/bare_ptrace -r $loop $2" ;;
    record) echo "$rewind record -n -o $trace/t $loop $2" ;;
  esac
}

# Runs a mode once; prints "WALL CPU" in seconds, or FAIL/HANG. bash's
# `time` (ms resolution): CPU is user+sys of every process it waited for,
# the tracee included (its tracer reaps it).
run_once() {  # MODE COUNT
  local -a cmd
  read -r -a cmd <<<"$(mode_cmd "$1" "$2")"
  rm -rf "$trace/t"
  local rc=0 TIMEFORMAT='%3R %3U %3S'
  { time timeout "$limit_s" "${cmd[@]}" >"$work/last.out" 2>"$work/last.err" </dev/null \
      || rc=$?; } 2>"$work/time"
  if [[ $rc -eq 124 ]]; then echo HANG; return; fi
  if [[ $rc -ne 0 ]]; then echo FAIL; return; fi
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$work/time"
}

# us per syscall from the medians of the N runs and the empty runs.
per_call() {  # MEDIAN-N MEDIAN-0
  [[ $1 =~ ^[0-9.]+$ ]] || { echo "$1"; return; }
  [[ $2 =~ ^[0-9.]+$ ]] || { echo "$2"; return; }
  awk -v a="$1" -v b="$2" -v n="$n" 'BEGIN { printf "%.2f", (a - b) * 1e6 / n }'
}

# strace -c of the tracer: prints "PTRACE WAITS ALL" call counts.
strace_calls() {  # MODE COUNT
  local -a cmd
  read -r -a cmd <<<"$(mode_cmd "$1" "$2")"
  rm -rf "$trace/t"
  timeout "$limit_s" strace -c -o "$work/strace" "${cmd[@]}" >/dev/null 2>&1 </dev/null || true
  # Rows: % time, seconds, usecs/call, calls, [errors], syscall.
  awk '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ {
         if ($NF == "total") all = $4
         else if ($NF == "ptrace") p += $4
         else if ($NF == "wait4" || $NF == "waitid") w += $4
       }
       END { printf "%d %d %d\n", p, w, all }' "$work/strace"
}

# The same counts from perf's syscall tracepoints, of the tracer process
# only (--no-inherit): unlike strace, they do not slow the tracer down, and
# a slowed tracer finds its tracee stopped already more often (fewer
# waits, no poll). Prints "- - -" if perf cannot count them here.
perf_calls() {  # MODE COUNT
  local -a cmd
  read -r -a cmd <<<"$(mode_cmd "$1" "$2")"
  rm -rf "$trace/t"
  command -v perf >/dev/null &&
    timeout "$limit_s" perf stat --no-inherit -x, -o "$work/perf" \
      -e syscalls:sys_enter_ptrace,syscalls:sys_enter_wait4,syscalls:sys_enter_waitid \
      -e raw_syscalls:sys_enter "${cmd[@]}" >/dev/null 2>&1 </dev/null || { echo "- - -"; return; }
  awk -F, '$1 ~ /^[0-9]+$/ {
             if ($3 ~ /sys_enter_ptrace/) p = $1
             else if ($3 ~ /sys_enter_wait/) w += $1
             else if ($3 ~ /raw_syscalls:sys_enter/) all = $1
           }
           END { printf "%d %d %d\n", p, w, all }' "$work/perf"
}

# Per-syscall difference of two "P W A" count lines.
per_call_counts() {  # COUNTS-N COUNTS-0
  local p1 w1 a1 p0 w0 a0
  read -r p1 w1 a1 <<<"$1"
  read -r p0 w0 a0 <<<"$2"
  [[ $p1 =~ ^[0-9]+$ && $p0 =~ ^[0-9]+$ ]] || { echo "- - -"; return; }
  awk -v p="$((p1 - p0))" -v w="$((w1 - w0))" -v a="$((a1 - a0))" -v n="$n" \
    'BEGIN { printf "%.2f %.2f %.2f\n", p / n, w / n, a / n }'
}

modes=(native bare bare-regs record)
declare -A label=([native]="native" [bare]="bare ptrace" [bare-regs]="bare ptrace + GETREGS"
                  [record]="rewind record -n")
rows=()
for mode in "${modes[@]}"; do
  walls=() cpus=() walls0=() cpus0=()
  for ((i = 0; i < runs; i++)); do
    read -r w c _ <<<"$(run_once "$mode" "$n")"
    [[ $w =~ ^[0-9.]+$ ]] || { note_failure "$mode" "$w"; c=$w; }
    walls+=("$w") cpus+=("$c")
    read -r w c _ <<<"$(run_once "$mode" 0)"
    [[ $w =~ ^[0-9.]+$ ]] || { note_failure "$mode (0 calls)" "$w"; c=$w; }
    walls0+=("$w") cpus0+=("$c")
  done
  wall=$(per_call "$(median "${walls[@]}")" "$(median "${walls0[@]}")")
  cpu=$(per_call "$(median "${cpus[@]}")" "$(median "${cpus0[@]}")")
  counts="- - -" pcounts="- - -"
  if [[ $mode != native ]]; then
    counts=$(per_call_counts "$(strace_calls "$mode" "$n")" "$(strace_calls "$mode" 0)")
    pcounts=$(per_call_counts "$(perf_calls "$mode" "$n")" "$(perf_calls "$mode" 0)")
  fi
  rows+=("${label[$mode]}|$wall|$cpu|$counts|$pcounts")
  echo "done: $mode (wall ${walls[*]} / ${walls0[*]}; cpu ${cpus[*]} / ${cpus0[*]})" >&2
done

echo
echo "traced syscall cost: $n getpid calls, median of $runs runs minus $runs with none;" \
  "$(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "rewind: $rewind"
printf '%-22s %8s %8s | %7s %7s %7s | %7s %7s %7s\n' "" "us per" "syscall" "strace:" "" "" \
  "perf:" "" ""
printf '%-22s %8s %8s | %7s %7s %7s | %7s %7s %7s\n' mode wall cpu ptrace waits all \
  ptrace waits all
for row in "${rows[@]}"; do
  IFS='|' read -r name wall cpu counts pcounts <<<"$row"
  read -r p w a <<<"$counts"
  read -r pp pw pa <<<"$pcounts"
  printf '%-22s %8s %8s | %7s %7s %7s | %7s %7s %7s\n' "$name" "$wall" "$cpu" "$p" "$w" "$a" \
    "$pp" "$pw" "$pa"
done
echo "(calls per getpid call, of the tracer alone; waits: wait4 + waitid; all: every syscall)"
print_failures
