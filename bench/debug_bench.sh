#!/usr/bin/env bash
# Debugger latency of reverse execution, inside a real gdb session: each
# operation is timed by gdb's Python (time.time() around the command, in
# debug_bench_gdb.py) and shown in seconds and as a multiple of
# `rewind replay -a` of the same trace, measured in the same run. Every
# stop is checked (the last hit, the watched value, the thread), and a
# wrong stop prints FAIL, not a time. A command that runs past the limit is
# cut off and shown as HANG; the rest of that session is then not measured.
#
# usage: bench/debug_bench.sh [REWIND]
#   DEBUG_BENCH_LIMIT  seconds allowed per gdb command (default 120)
#   DEBUG_BENCH_RUNS   replay -a runs per trace, for the median (default 3)
#   DEBUG_BENCH_KEEP=1 keep the scratch directory (traces, gdb logs)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
source "$here/lib.sh"
find_rewind debug_bench.sh "${1:-}"
command -v gdb >/dev/null || { echo "debug_bench.sh: gdb is needed" >&2; exit 2; }
limit_s=${DEBUG_BENCH_LIMIT:-120}
runs=${DEBUG_BENCH_RUNS:-3}
work=$(mktemp -d)
if [[ ${DEBUG_BENCH_KEEP:-} == 1 ]]; then
  echo "debug_bench.sh: keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
# The run takes minutes: a rebuild of the tree meanwhile must not swap the
# binary under it (rewind finds itself again through /proc/self/exe).
cp "$rewind" "$work/rewind" && rewind=$work/rewind || exit 2

# --- programs and traces ---------------------------------------------------
gcc -O1 -g -o "$work/hot_loop" "$here/hot_loop.c" || exit 2
gcc -O1 -g -pthread -o "$work/bump4" "$here/bump4.c" || exit 2
python_code=$'import os\nfor _ in range(300):\n    os.getpid()'

declare -A trace_of=() replay_a=()
record() {  # KEY CMD...
  local key=$1
  shift
  if ! timeout "$limit_s" "$rewind" record -o "$work/$key.trace" "$@" >"$work/$key.rec.out" \
      2>"$work/$key.rec.err" </dev/null; then
    echo "debug_bench.sh: recording $key failed:" >&2
    tail -n 5 "$work/$key.rec.err" >&2
    exit 1
  fi
  trace_of[$key]=$work/$key.trace
  local i t times=()
  for ((i = 0; i < runs; i++)); do
    t=$(time_one "$rewind" replay -a "$work/$key.trace")
    note_failure "$key replay -a" "$t"
    times+=("$t")
  done
  replay_a[$key]=$(median "${times[@]}")
}
record loop6 "$work/hot_loop" 1000000
record loop7 "$work/hot_loop" 10000000
record threads "$work/bump4"
record python /usr/bin/python3 -c "$python_code"
# Which worker made the last bump() call, as the recording printed it.
last_who=$(sed -n 's/^counter 80000 last \([0-9]\)$/\1/p' "$work/threads.rec.out")
[[ -n $last_who ]] || { echo "debug_bench.sh: bump4 printed no 'counter 80000 last N'" >&2; exit 1; }
line_of() { grep -n "bench: $1" "$here/${2:-bump4.c}" | cut -d: -f1; }

# --- gdb sessions ------------------------------------------------------------
# Every process under PID, children first found first.
descendants() {  # PID
  local p
  for p in $(ps -o pid= --ppid "$1"); do
    echo "$p"
    descendants "$p"
  done
}

# Runs one case of debug_bench_gdb.py against TRACE, with a watchdog: a
# command (START without TIME in the log) open for more than $limit_s, or
# the session's start-up taking that long, kills the whole session: rewind,
# gdb, and the server gdb started, which runs in a session of its own (so
# a process-group kill misses it, and it would search on for minutes),
# with the replay's tracees.
session() {  # NAME TRACE-KEY CASE [VAR=VALUE...]
  local name=$1 key=$2 case=$3
  shift 3
  local log=$work/$name.log
  : >"$log"
  env BENCH_LOG="$log" BENCH_CASE="$case" "$@" "$rewind" replay "${trace_of[$key]}" -- \
    -batch -nx -x "$here/debug_bench_gdb.py" >"$work/$name.out" 2>&1 </dev/null &
  local pid=$! began=$EPOCHREALTIME open
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.3
    open=$(awk -v began="$began" '$1 == "START" { op = $2; t = $3; o = 1 } $1 == "TIME" { o = 0 }
                                  END { if (o) print op, t; else if (NR == 0) print "start-up", began }' "$log")
    [[ -n $open ]] || continue
    if awk -v now="$EPOCHREALTIME" -v t="${open#* }" -v l="$limit_s" 'BEGIN { exit !(now - t > l) }'; then
      echo "HUNG ${open%% *}" >>"$log"
      local tree
      tree=$(descendants "$pid")
      kill -TERM "$pid" $tree 2>/dev/null
      sleep 2
      kill -KILL "$pid" $tree 2>/dev/null
      break
    fi
  done
  wait "$pid" 2>/dev/null
  # Ended by itself in the middle of a command (a crash, gdb gave up).
  if ! grep -q '^DONE$\|^HUNG ' "$log"; then
    open=$(awk '$1 == "START" { op = $2; o = 1 } $1 == "TIME" { o = 0 } END { print (o ? op : "-") }' "$log")
    echo "BAD $open the gdb session ended before finishing" >>"$log"
  fi
}

session loop6 loop6 loop BENCH_N=1000000
session loop7 loop7 loop BENCH_N=10000000
session watch6 loop6 watch BENCH_N=1000000
session threads threads threads BENCH_N=80000 BENCH_LAST="$last_who" \
  BENCH_JOIN_LINE="$(line_of 'join line')" BENCH_AFTER_LINE="$(line_of 'after join')"
session python python python
session loop6-after loop6 after-loop BENCH_N=1000000 BENCH_AFTER_LINE="$(line_of 'after loop' hot_loop.c)"
session loop7-after loop7 after-loop BENCH_N=10000000 BENCH_AFTER_LINE="$(line_of 'after loop' hot_loop.c)"
# reverse-stepi is measured at the reverse-continue's stop, and at the end
# of the trace, reached by a forward run alone (no mark left near it by a
# reverse search). Three in a row, going further back each time: the
# table shows the slowest of them.
for key in loop6 loop7 threads python; do
  session "$key-end" "$key" end-rsi
done

# --- the table -----------------------------------------------------------------
# Result of OP in session NAME: a median time, or HANG / FAIL / - (not
# reached: an earlier command of the session failed or hung).
result() {  # NAME OP
  local log=$work/$1.log
  if grep -q "^HUNG $2\$" "$log"; then echo HANG; return; fi
  if grep -q "^BAD $2 " "$log"; then echo FAIL; return; fi
  mapfile -t times < <(awk -v op="$2" '$1 == "TIME" && $2 == op { print $3 }' "$log")
  if ((${#times[@]} == 0)); then echo -; return; fi
  median "${times[@]}"
}
# The slowest of the three reverse-stepi of session NAME (rsi-first, rsi):
# "anywhere" means each one.
result_rsi() {  # NAME
  local log=$work/$1.log r
  r=$(result "$1" rsi-first)
  [[ $r =~ ^[0-9.]+$ ]] || { echo "$r"; return; }
  awk -v r="$r" '$1 == "TIME" && $2 == "rsi" && $3 > r { r = $3 } END { print r }' "$log"
}
verdict() {  # RESULT GOAL
  if [[ $1 =~ ^[0-9.]+$ ]]; then
    awk -v t="$1" -v g="$2" 'BEGIN { print (t < g ? "ok" : "SLOW") }'
  elif [[ $1 == - ]]; then echo "not run"
  else echo "$1"
  fi
}

printf '\nrewind debugger benchmark, %s CPUs, %s, %s, %s\n' "$(nproc)" \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(uname -r)" \
  "$(date -u +%FT%RZ)"
printf 'replay -a (median of %d): loop 1e6 %ss, loop 1e7 %ss, 4 threads %ss, python3 %ss\n\n' \
  "$runs" "${replay_a[loop6]}" "${replay_a[loop7]}" "${replay_a[threads]}" "${replay_a[python]}"
printf '%-52s %8s %12s %7s  %s\n' operation seconds "x replay -a" goal result
row() {  # LABEL SESSION OP TRACE-KEY GOAL
  local r
  if [[ $3 == rsi ]]; then r=$(result_rsi "$2"); else r=$(result "$2" "$3"); fi
  printf '%-52s %8s %12s %7s  %s\n' "$1" "$r" "$(ratio "$r" "${replay_a[$4]}")" "< $5" "$(verdict "$r" "$5")"
}
row "reverse-continue to the last of 1e6 hits" loop6 rc loop6 0.5
row "reverse-continue to the last of 1e7 hits" loop7 rc loop7 2
row "reverse watchpoint, 1e6 writes" watch6 watch loop6 1
row "4 threads, 80,000 hits: reverse-continue" threads rc threads 1
row "reverse-next across a thread switch" threads rnext threads 0.5
row "python3: reverse-continue, last of 300 getpid" python rc python 1
row "reverse-next over the 1e6 loop, from after it" loop6-after rnext loop6 0.5
row "reverse-next over the 1e7 loop, from after it" loop7-after rnext loop7 0.5
for key in loop6 loop7 threads python; do
  row "reverse-stepi ($key, at the hit, worst of 3)" "$key" rsi "$key" 0.1
  row "reverse-stepi ($key, at the end, worst of 3)" "$key-end" rsi "$key" 0.1
done
row "reverse-stepi (loop6, after the loop, worst of 3)" loop6-after rsi loop6 0.1
row "reverse-stepi (loop7, after the loop, worst of 3)" loop7-after rsi loop7 0.1

# Why each FAIL, HANG or not-run happened, and the server's complaints.
echo
for log in "$work"/*.log; do
  name=$(basename "$log" .log)
  sed -n "s/^BAD \([^ ]*\) /$name \1: /p; s/^HUNG \(.*\)/$name \1: no answer within ${limit_s} s/p" "$log"
  if grep -q '^BAD .* the gdb session ended before finishing' "$log"; then
    grep -v '^Reading ' "$work/$name.out" | tail -n 3 | sed "s/^/$name (last output): /"
  fi
  grep -h 'rewind:.*\(error\|fail\|cannot\)\|^E[0-9]\|Remote failure' "$work/$name.out" | grep -v '^rewind: replaying' |
    sort -u | head -n 3 | sed "s/^/$name (gdb\/rewind output): /"
done
print_failures
