#!/usr/bin/env bash
# Scale, with nothing lost (issue 10): large workloads natively (pinned to
# one CPU), under `rewind record` and under `rewind replay -a`. For each it
# checks that the replay printed exactly what the recording printed and
# exited the same way, and reports wall times, the peak RSS of the rewind
# process itself while recording and while replaying, and the trace size.
# The syscall loop runs at three lengths (100k, 1M, 10M) to show whether
# rewind's memory grows with the trace.
#
# usage: bench/scale_bench.sh [REWIND]      (default: build/cli/rewind)
# Environment: SCALE_RUNS (runs of the small workloads, default 3),
# SCALE_ONLY (a regex: run only the workloads whose names match),
# SCALE_BIG_MB (size of the cat input, default 2048).
# See bench/README.md. The full run takes ~40 minutes on 2 shared CPUs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/lib.sh"
find_rewind scale_bench.sh "${1:-}"
runs=${SCALE_RUNS:-3}
only=${SCALE_ONLY:-.}
big_mb=${SCALE_BIG_MB:-2048}  # a multiple of 64

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-scale-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Space: the 2 GB input, plus one trace at a time (the cat trace holds the
# 2 GB three times over, LZ4-compressed), plus slack.
need_mb=$((big_mb * 5))
free_mb=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
if ((free_mb < need_mb)); then
  echo "scale_bench.sh: $free_mb MB free under $work, need $need_mb MB" >&2
  exit 2
fi

for prog in peakrss futex64 forks syscall_loop; do
  cc -O2 -pthread -o "$work/$prog" "$here/$prog.c"
done

# Peak RSS. `/usr/bin/time -f %M`, getrusage(RUSAGE_CHILDREN) and wait4()
# all report the largest peak in the whole process tree that rewind reaped,
# recorded programs included, not rewind's own. peakrss.c therefore polls
# rewind's VmHWM (its own high-water mark) in /proc every 10 ms and reports
# that, with wait4's tree-wide figure as a cross-check (see peakrss.c).

# Runs one command under peakrss with the time limit. Sets t (seconds, or
# FAIL/HANG), rc, own_kb, tree_kb; the command's stdout and stderr go to
# $work/$2.out and $work/$2.err.
measure() {  # LIMIT TAG CMD...
  local lim=$1 tag=$2 t0 t1
  shift 2
  rc=0
  t0=$EPOCHREALTIME
  timeout "$lim" "$work/peakrss" "$work/$tag.rss" "$@" >"$work/$tag.out" 2>"$work/$tag.err" </dev/null || rc=$?
  t1=$EPOCHREALTIME
  if [[ $rc -eq 124 ]]; then t=HANG
  elif [[ $rc -ne 0 ]]; then t=FAIL
  else t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  fi
  read -r own_kb tree_kb 2>/dev/null <"$work/$tag.rss" || { own_kb=0; tree_kb=0; }
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
maxof() { printf '%s\n' "$@" | sort -n | tail -n 1; }

# Problems found ("nothing lost" checks and failed commands); any makes the
# script exit 1 after the table.
problems=()
problem() {
  problems+=("$1")
  echo "PROBLEM: $1" >&2
}

# Each workload: name, runs, time limit (s), the regex of stdout lines that
# must also match the native run's ("" when the output depends on pids),
# then the command.
workloads=()
add() { workloads+=("$1|$2|$3|$4|$5"); }
add futex-64x10k "$runs" 900 '^threads ' "$work/futex64 5000"
add forks-1000-serial "$runs" 600 . "$work/forks 1000 1"
add forks-1000-by-20 "$runs" 600 . "$work/forks 1000 20"
add "cat-${big_mb}MB-pipe" 1 1800 . "/bin/sh -c 'cat $work/big | cat | sha256sum'"
# getppid's result is rewind's pid under record and replay: the sum differs
# from the native run's.
add syscalls-100k 1 600 '' "$work/syscall_loop 100000"
add syscalls-1M 1 1200 '' "$work/syscall_loop 1000000"
add syscalls-10M 1 4800 '' "$work/syscall_loop 10000000"

make_big() {
  # 2 GB of text: a 64 MiB block of lines with a pseudo-random hex field
  # (LZ4 shrinks it only ~1.2x: the trace holds about the bytes read, as with
  # real data, but the input is not random and the script needs no RNG),
  # repeated; LZ4's 64 KiB window never sees the repetition.
  seq 1 5000000 | awk '{ printf "%08x %d\n", ($1 * 2654435761) % 4294967296, $1 }' >"$work/block"
  truncate -s $((64 << 20)) "$work/block"
  for ((i = 0; i < big_mb / 64; i++)); do cat "$work/block"; done >"$work/big"
  rm -f "$work/block"
  echo "made $work/big: $(du -m "$work/big" | cut -f1) MB, sha256 $(sha256sum <"$work/big" | cut -d' ' -f1)" >&2
}

rows=()
for w in "${workloads[@]}"; do
  IFS='|' read -r name n lim must cmdline <<<"$w"
  [[ $name =~ $only ]] || continue
  [[ $name != cat-* || -e $work/big ]] || make_big
  eval "cmd=($cmdline)"
  native=() record=() replay=() rec_own=() rep_own=() rec_tree=() rep_tree=()
  native_out=
  for ((i = 0; i < n; i++)); do
    measure "$lim" native taskset -c 0 "${cmd[@]}"
    native+=("$t")
    [[ $t =~ ^[0-9] ]] || problem "$name native: $t (rc $rc): $(tail -n 3 "$work/native.err")"
    native_out=$(cat "$work/native.out")
  done
  for ((i = 0; i < n; i++)); do
    rm -rf "$work/trace"
    measure "$lim" record "$rewind" record -o "$work/trace" "${cmd[@]}"
    record+=("$t") rec_own+=("$own_kb") rec_tree+=("$tree_kb")
    rec_rc=$rc
    [[ $t =~ ^[0-9] ]] || problem "$name record: $t (rc $rc): $(tail -n 3 "$work/record.err")"
  done
  trace_mb=$(du -sm "$work/trace" 2>/dev/null | cut -f1 || echo -)
  for ((i = 0; i < n; i++)); do
    measure "$lim" replay "$rewind" replay -a "$work/trace"
    replay+=("$t") rep_own+=("$own_kb") rep_tree+=("$tree_kb")
    [[ $t =~ ^[0-9] ]] || problem "$name replay: $t (rc $rc): $(tail -n 3 "$work/replay.err")"
    # Nothing lost: the replay prints what the (last) recording printed,
    # byte for byte, and exits with the same status.
    cmp -s "$work/record.out" "$work/replay.out" ||
      problem "$name: replay stdout differs from the recording's: $(diff "$work/record.out" "$work/replay.out" | head -n 4 | tr '\n' ' ')"
    [[ $rc -eq $rec_rc ]] || problem "$name: replay exited $rc, the recording $rec_rc"
  done
  if [[ -n $must ]] && ! diff <(grep -E "$must" <<<"$native_out") <(grep -E "$must" "$work/record.out") >/dev/null; then
    problem "$name: recorded output differs from native: '$(grep -E "$must" "$work/record.out" | head -n 1)' vs '$(grep -E "$must" <<<"$native_out" | head -n 1)'"
  fi
  rm -rf "$work/trace"
  nt=$(median "${native[@]}") rt=$(median "${record[@]}") pt=$(median "${replay[@]}")
  rows+=("$name|$n|$nt|$rt|$(ratio "$rt" "$nt")|$pt|$(ratio "$pt" "$nt")|$(mb "$(maxof "${rec_own[@]}")")|$(mb "$(maxof "${rep_own[@]}")")|$trace_mb")
  echo "done: $name: native ${native[*]}; record ${record[*]}; replay ${replay[*]};" \
    "rewind's own peak KB record ${rec_own[*]}, replay ${rep_own[*]};" \
    "tree-wide (wait4) KB record ${rec_tree[*]}, replay ${rep_tree[*]}; trace $trace_mb MB;" \
    "output: $(head -c 200 "$work/record.out" | tr '\n' ' ')" >&2
done

echo
echo "rewind scale benchmark, $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-18s %4s %9s %9s %8s %9s %8s %9s %9s %9s\n' workload runs "native s" "record s" rec/nat "replay s" rep/nat "rec RSS" "rep RSS" "trace"
for row in "${rows[@]}"; do
  IFS='|' read -r name n nt rt rr pt pr ro po tm <<<"$row"
  printf '%-18s %4s %9s %9s %8s %9s %8s %7sMB %7sMB %7sMB\n' "$name" "$n" "$nt" "$rt" "$rr" "$pt" "$pr" "$ro" "$po" "$tm"
done
echo "(times: medians of 'runs' runs; RSS: rewind's own peak (VmHWM), the largest over the runs;"
echo " trace: du -sm of the recording, including hard links to system files)"

# Bounded memory: the recorder's and the replayer's peaks for the shortest
# and the longest syscall loop (100x the events) should be about the same.
first= last=
for row in "${rows[@]}"; do
  [[ $row == syscalls-* ]] || continue
  [[ -n $first ]] || first=$row
  last=$row
done
if [[ -n $first && $first != "$last" ]]; then
  IFS='|' read -r n1 _ _ _ _ _ _ r1 p1 t1 <<<"$first"
  IFS='|' read -r n2 _ _ _ _ _ _ r2 p2 t2 <<<"$last"
  verdict=$(awk -v a="$r1" -v b="$r2" -v c="$p1" -v d="$p2" \
    'BEGIN { print (b > 1.5 * a + 8 || d > 1.5 * c + 8) ? "GROWS" : "bounded" }')
  echo "memory: $n1 -> $n2 (trace $t1 -> $t2 MB): record RSS $r1 -> $r2 MB, replay RSS $p1 -> $p2 MB: $verdict"
  [[ $verdict == bounded ]] || problem "rewind's memory grows with the trace length ($n1 -> $n2)"
fi

if ((${#problems[@]})); then
  echo
  printf 'PROBLEM: %s\n' "${problems[@]}"
  exit 1
fi
