#!/usr/bin/env bash
# Persistent checkpoints (issue 13), measured on one recording of a mixed
# workload (bench/ckpt_workload.c: a compute thread rewriting a 4 MiB
# buffer beside a thread making syscalls, tick() once a second), in one
# run:
#   replay -a -g LAST        with checkpoints every second vs without
#   gdb                      seek to the last event, reverse-continue to
#                            the tick() of about 1 s before
#   checkpoint store size    per checkpoint, against the trace
#   checkpoint create        against replay -a
#   replay -a --jobs 2       against replay -a
#   record --checkpoint-interval 1 against plain record, on programs of
#                            fixed work: python3, a make of gcc compiles,
#                            and tests' checkpoint_mix (threads, forks, a
#                            syscall-free hot loop)
# Times are medians of CKPT_BENCH_RUNS runs (default 3) where a run is
# cheap to repeat; record and checkpoint create run once.
#
# usage: bench/checkpoint_bench.sh [REWIND]
#   CKPT_BENCH_SECONDS  length of the recorded workload (default 60)
#   CKPT_BENCH_RUNS     runs per median (default 3)
#   CKPT_BENCH_KEEP=1   keep the scratch directory
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
source "$here/lib.sh"
find_rewind checkpoint_bench.sh "${1:-}"
command -v gdb >/dev/null || { echo "checkpoint_bench.sh: gdb is needed" >&2; exit 2; }
seconds=${CKPT_BENCH_SECONDS:-60}
runs=${CKPT_BENCH_RUNS:-3}
limit_s=$((seconds * 10 + 120))
work=$(mktemp -d)
if [[ ${CKPT_BENCH_KEEP:-} == 1 ]]; then echo "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
# The copy finds no preload library beside it: name the build's, so that
# recordings buffer syscalls as users' do.
export REWIND_PRELOAD=${REWIND_PRELOAD:-$(dirname "$(dirname "$rewind")")/preload/librewind-preload.so}
[[ -r $REWIND_PRELOAD ]] || { echo "checkpoint_bench.sh: no $REWIND_PRELOAD" >&2; exit 2; }
cp "$rewind" "$work/rewind" && rewind=$work/rewind || exit 2
gcc -O1 -g -pthread -o "$work/workload" "$here/ckpt_workload.c" || exit 2

med() {  # LABEL CMD...: median of $runs runs
  local label=$1 i t times=()
  shift
  for ((i = 0; i < runs; i++)); do
    t=$(time_one "$@")
    note_failure "$label" "$t"
    times+=("$t")
  done
  median "${times[@]}"
}

echo "checkpoint_bench: a ${seconds} s recording of bench/ckpt_workload.c ($(nproc) CPUs)"
native=$(time_one "$work/workload" "$seconds")
record=$(time_one "$rewind" record -o "$work/trace" "$work/workload" "$seconds")
note_failure record "$record"
events=$("$rewind" dump "$work/trace" | grep -c '^#')
trace_kb=$(du -sk "$work/trace" | cut -f1)
replay_a=$(med "replay -a" "$rewind" replay -a "$work/trace")
g_without=$(med "replay -a -g (none)" "$rewind" replay -a -g "$events" "$work/trace")
create=$(time_one "$rewind" checkpoint create --interval 1 "$work/trace")
note_failure "checkpoint create" "$create"
ncp=$("$rewind" checkpoint list "$work/trace" | awk '$2 == "checkpoints," {print $1}')
store_kb=$(du -sk "$work/trace/checkpoints" | cut -f1)
last_cp=$("$rewind" checkpoint list "$work/trace" | awk '$1 ~ /^[0-9]+$/ && $2 != "checkpoints," {e = $1} END {print e}')
g_with=$(med "replay -a -g" "$rewind" replay -a -g "$events" "$work/trace")
jobs2=$(med "replay -a --jobs 2" "$rewind" replay -a --jobs 2 "$work/trace")

# gdb: seek to the last event the replay can stop at, then back to tick().
cat >"$work/gdb.cmd" <<GDB
python import time; t0 = time.time()
monitor seek $((events - 2))
python t1 = time.time()
maintenance flush register-cache
break tick
reverse-continue
python t2 = time.time(); print("TIMES seek %.3f reverse-continue %.3f" % (t1 - t0, t2 - t1))
print n
print ticks
GDB
gdb_times=()
for ((i = 0; i < runs; i++)); do
  timeout "$limit_s" "$rewind" replay "$work/trace" -- -batch -nx -x "$work/gdb.cmd" \
    >"$work/gdb.$i.out" 2>&1 </dev/null
  gdb_times+=("$(awk '/^TIMES/ {print $3 + $5}' "$work/gdb.$i.out")")
  grep -q 'Breakpoint 1, tick' "$work/gdb.$i.out" || gdb_times[-1]=FAIL
done
gdb_total=$(median "${gdb_times[@]}")
hit=$(grep -m1 '^\$1 = ' "$work/gdb.0.out")

# record --checkpoint-interval 1 against plain record, alternating, on
# fixed work: until `record` returns (when the program ends; the replay
# saving checkpoints goes on in the background), and until the last
# checkpoint is saved (the replay lets go of the trace's lock: flock waits).
cat >"$work/work.py" <<'PY'
import hashlib, json
h = hashlib.sha256()
for i in range(1200000):
    h.update(json.dumps({"i": i, "sq": i * i}).encode())
print(h.hexdigest()[:16])
PY
mkdir -p "$work/build"
for i in $(seq 1 24); do cp "$here/ckpt_workload.c" "$work/build/w$i.c"; done
cat >"$work/build/Makefile" <<'MK'
objs := $(patsubst %.c,%.o,$(wildcard w*.c))
all: $(objs)
%.o: %.c
	gcc -O2 -g -c -o $@ $<
MK
mix=$repo/build/tests/programs/checkpoint_mix
overhead_rows=()
overhead() {  # LABEL CMD...
  local label=$1 i t w plain=() returned=() saved=()
  shift
  for ((i = 0; i < runs; i++)); do
    rm -f "$work"/build/*.o
    rm -rf "$work/ov"
    t=$(time_one "$rewind" record -o "$work/ov" "$@")
    note_failure "record $label" "$t"
    plain+=("$t")
    rm -f "$work"/build/*.o
    rm -rf "$work/ov"
    t=$(time_one "$rewind" record -o "$work/ov" --checkpoint-interval 1 "$@")
    note_failure "record --checkpoint-interval 1 $label" "$t"
    w=$(time_one flock "$work/ov" true)
    grep -Eq '^[0-9]+ checkpoints?, ' "$work/ov/checkpoints/follow.log" ||
      { w=FAIL; failures["checkpoints $label"]=$(tail -n 5 "$work/ov/checkpoints/follow.log"); }
    returned+=("$t")
    saved+=("$(awk -v t="$t" -v w="$w" 'BEGIN { if (t ~ /^[0-9.]+$/ && w ~ /^[0-9.]+$/) printf "%.3f", t + w; else print "FAIL" }')")
  done
  local p r a n
  p=$(median "${plain[@]}") r=$(median "${returned[@]}") a=$(median "${saved[@]}")
  n=$("$rewind" checkpoint list "$work/ov" | awk '$2 == "checkpoints," {print $1}')
  n=${n:-0}
  overhead_rows+=("| record --checkpoint-interval 1, $label ($n checkpoints) | record returns after ${r} s vs ${p} s ($(ratio "$r" "$p")); the last checkpoint saved after ${a} s ($(ratio "$a" "$p")) | <= 5% |")
}
overhead "python3" python3 "$work/work.py"
overhead "make (24 gcc -O2 compiles)" make -s -C "$work/build"
# (checkpoint_mix exits 3 on purpose; bash turns that into success.)
[[ -x $mix ]] && overhead "checkpoint_mix 40 (threads, forks, hot loop)" \
  bash -c '"$0" 40 >/dev/null; test $? -eq 3' "$mix"

per_cp_kb=$(awk -v s="$store_kb" -v n="$ncp" 'BEGIN { if (n > 0) printf "%.0f", s / n; else print "-" }')
pct=$(awk -v s="$store_kb" -v n="$ncp" -v t="$trace_kb" \
  'BEGIN { if (n > 0 && t > 0) printf "%.1f%%", 100 * s / n / t; else print "-" }')
echo
echo "| measurement | result | goal |"
echo "| --- | --- | --- |"
echo "| native run / record | ${native} s / ${record} s ($(ratio "$record" "$native")) | - |"
echo "| events, trace size | ${events}, ${trace_kb} KiB | - |"
echo "| replay -a | ${replay_a} s | - |"
echo "| replay -a -g ${events}: without checkpoints | ${g_without} s | - |"
echo "| replay -a -g ${events}: with checkpoints (last at ${last_cp}) | ${g_with} s, $(ratio "$g_without" "$g_with") faster | < 2 s, >= 20x |"
echo "| gdb: seek to the end, reverse-continue to tick() (${hit:-no hit}) | ${gdb_total} s | < 2 s |"
echo "| checkpoints: ${ncp}, store ${store_kb} KiB | ${per_cp_kb} KiB each, ${pct} of the trace | < 10% each |"
echo "| checkpoint create --interval 1 | ${create} s, $(ratio "$create" "$replay_a") of replay -a | <= 1.5x |"
echo "| replay -a --jobs 2 (verifies each stretch) | ${jobs2} s, $(ratio "$replay_a" "$jobs2") speed-up | report |"
for row in "${overhead_rows[@]}"; do echo "$row"; done
for k in "${!failures[@]}"; do
  echo "FAILED $k:"
  echo "${failures[$k]}"
done
