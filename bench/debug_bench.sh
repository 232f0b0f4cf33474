#!/usr/bin/env bash
# Debugger latency on a recording of bench/debug_loop.c (1e6 iterations,
# 1e5 syscalls), measured inside a real gdb session with gdb's Python:
#   run_to_end        continue from the start to the end of the recording
#   reverse_continue  from the end back to the last hit of a breakpoint in the loop
#   reverse_stepi     one instruction back
#   reverse_next      one source line back
# and `rewind replay -a` of the same trace, for the run-to-end ratio.
# Goals (issue 3): reverse-continue < 0.5 s, reverse-stepi < 0.1 s,
# reverse-next < 0.5 s, run to end <= 1.5x replay -a.
#
# usage: bench/debug_bench.sh [REWIND]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rewind=$(realpath "${1:-build/cli/rewind}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O1 -g -o "$tmp/debug_loop" "$here/debug_loop.c"
"$rewind" record -o "$tmp/trace" "$tmp/debug_loop" >/dev/null

now() { date +%s.%N; }
t0=$(now)
"$rewind" replay -a "$tmp/trace" >/dev/null
t1=$(now)
replay_a=$(echo "$t1 - $t0" | bc)

cat >"$tmp/bench.gdb" <<'GDB'
python import time
python t = time.time()
continue
python print("BENCH run_to_end %.3f" % (time.time() - t))
break body
python t = time.time()
reverse-continue
python print("BENCH reverse_continue %.3f" % (time.time() - t))
print i
python t = time.time()
reverse-stepi
python print("BENCH reverse_stepi %.3f" % (time.time() - t))
python t = time.time()
reverse-next
python print("BENCH reverse_next %.3f" % (time.time() - t))
GDB
out=$("$rewind" replay "$tmp/trace" -- -batch -nx -x "$tmp/bench.gdb" 2>&1)
grep -q '^\$1 = 999999' <<<"$out" || { echo "$out" >&2; echo "bench: reverse-continue did not stop at the last hit" >&2; exit 1; }
get() { grep "^BENCH $1 " <<<"$out" | awk '{print $3}'; }
run_to_end=$(get run_to_end)
printf 'rewind debugger benchmark, %s CPUs, %s, %s\n' "$(nproc)" "$(uname -r)" "$(date -u +%FT%RZ)"
printf '%-18s %9s %s\n' operation seconds goal
printf '%-18s %9.3f %s\n' "replay -a" "$replay_a" ""
printf '%-18s %9.3f %s (%.2fx replay -a)\n' "run to end" "$run_to_end" "<= 1.5x" "$(echo "$run_to_end / $replay_a" | bc -l)"
printf '%-18s %9.3f %s\n' "reverse-continue" "$(get reverse_continue)" "< 0.5"
printf '%-18s %9.3f %s\n' "reverse-stepi" "$(get reverse_stepi)" "< 0.1"
printf '%-18s %9.3f %s\n' "reverse-next" "$(get reverse_next)" "< 0.5"
