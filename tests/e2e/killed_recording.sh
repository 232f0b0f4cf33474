#!/usr/bin/env bash
# A recorder killed with SIGKILL (what the OOM killer or a dying CI job does)
# leaves a trace that replays up to its last complete event (issue 10).
#
# usage: killed_recording.sh REWIND WORK_THEN_WAIT
# 1. A two-thread program prints lines, then blocks in read(0); the test
#    waits until the blocking read's entry is in the trace (the recorder
#    writes its streams out on time while its tracees sleep), kills the
#    recorder, and requires info/dump/ps to describe the incomplete trace
#    and replay -a to print every line the recording printed, exit 137
#    (the program was killed with its recorder) and warn where it ends.
# 2. seq (a program we did not write) and python3 (an interpreter) are
#    killed while they write at full speed: the trace then ends anywhere,
#    often inside a block, and replay must print a prefix of what the
#    recording printed.
set -euo pipefail
rewind=$1 program=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin e2e.killed_recording killed
export REWIND_TRACE_DIR=$tmp/traces

mkfifo "$tmp/stdin"

# --- 1: killed while the program sleeps in a syscall
exec 3<>"$tmp/stdin"  # keeps the program's stdin open and empty
"$rewind" record -o "$tmp/t1" "$program" 12 <"$tmp/stdin" >"$tmp/rec1.out" 2>"$tmp/rec1.err" &
rec=$!
wait_for '"ready" from the recorded program' 60 grep -q '^ready$' "$tmp/rec1.out"
has_read_entry() { "$rewind" dump "$tmp/t1" 2>/dev/null | grep -q 'SYSCALL_ENTRY read(0x0,'; }
wait_for "the blocking read to reach the trace" 30 has_read_entry
kill -9 "$rec"
wait "$rec" 2>/dev/null || true

"$rewind" info "$tmp/t1" >"$tmp/info" 2>"$tmp/info.err" || fail "info failed: $(cat "$tmp/info.err")"
grep -q '"complete": false' "$tmp/info" || fail "info does not say the trace is incomplete"
grep -q '"recording": "killed"' "$tmp/info" || fail "info does not say the recorder was killed"
grep -q '"last_event": [1-9]' "$tmp/info" || fail "info gives no last event"
grep -q 'warning: the trace is incomplete' "$tmp/info.err" || fail "info gave no warning"
"$rewind" ps "$tmp/t1" >/dev/null 2>&1 || fail "ps failed on the incomplete trace"

rc=0
timeout 120 "$rewind" replay -a "$tmp/t1" </dev/null >"$tmp/rep1.out" 2>"$tmp/rep1.err" || rc=$?
[[ $rc -eq 137 ]] || fail "replay -a of the killed recording exited $rc, want 137: $(tail -n 5 "$tmp/rep1.err")"
grep -q 'warning: the trace is incomplete (its recorder was killed' "$tmp/rep1.err" ||
  fail "replay did not warn that the trace is incomplete"
grep -q 'warning: replayed the incomplete trace to its end, event [0-9]' "$tmp/rep1.err" ||
  fail "replay did not say where the trace ends"
cmp "$tmp/rec1.out" "$tmp/rep1.out" || fail "replay printed other than the recording (diff above)"
[[ $(grep -c ' line ' "$tmp/rep1.out") -eq 24 ]] || fail "replay did not print all 24 lines"
# The latest-trace link names the killed recording too, so that a plain
# `rewind replay` finds it.
"$rewind" record "$program" 1 <"$tmp/stdin" >/dev/null 2>&1 &
rec=$!
# (Once an event is in: a kill before the first exec completes would leave
# the stopped child behind, PTRACE_O_EXITKILL not being set yet.)
has_event() { "$rewind" info 2>/dev/null | grep -q '"last_event": [1-9]'; }
wait_for "the second recording's first event" 30 has_event
kill -9 "$rec"
wait "$rec" 2>/dev/null || true
exec 3>&-
"$rewind" info 2>/dev/null | grep -q '"recording": "killed"' ||
  fail "info of the latest trace does not show the killed recording"

# --- 2: killed while the program writes as fast as it can
kill_after_output() {  # NAME BYTES -- COMMAND...
  local name=$1 bytes=$2
  shift 3
  "$rewind" record -o "$tmp/$name" "$@" </dev/null >"$tmp/$name.rec" 2>"$tmp/$name.err" &
  local pid=$!
  output_reached() { [[ $(stat -c %s "$tmp/$name.rec") -ge $bytes ]]; }
  wait_for "$bytes bytes of output from $name" 120 output_reached
  # What was printed by now must survive a kill 1.5 s later: the recorder
  # writes its streams out every 500 ms.
  local early t0
  early=$(stat -c %s "$tmp/$name.rec")
  t0=$(date +%s%N)
  later() { (($(date +%s%N) - t0 >= 1500000000)); }
  wait_for "1.5 s" 10 later
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  local rc=0
  timeout 300 "$rewind" replay -a "$tmp/$name" </dev/null >"$tmp/$name.rep" 2>"$tmp/$name.rep.err" || rc=$?
  [[ $rc -eq 137 ]] || fail "$name: replay -a exited $rc, want 137: $(tail -n 5 "$tmp/$name.rep.err")"
  local n
  n=$(stat -c %s "$tmp/$name.rep")
  [[ $n -ge $early ]] || fail "$name: replay printed $n bytes, but $early were out 1.5 s before the kill"
  cmp -s -n "$n" "$tmp/$name.rec" "$tmp/$name.rep" || fail "$name: replay's output is not a prefix of the recording's"
  echo "$name: recorded $(stat -c %s "$tmp/$name.rec") bytes before the kill, replayed $n"
}
kill_after_output seq 2000000 -- seq 1 100000000
kill_after_output python3 300000 -- /usr/bin/python3 -c '
import threading
def count(tag):
    for i in range(10**8):
        print(tag, i, flush=(i % 1000 == 0))
threads = [threading.Thread(target=count, args=(t,)) for t in "ab"]
for t in threads: t.start()
for t in threads: t.join()'
echo "PASS [e2e.killed_recording]"
