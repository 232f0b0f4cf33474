#!/usr/bin/env bash
# Checks that threads hand the CPU to each other without the recorder
# (preload/abi.h, Baton): a condvar ping-pong of 20000 round trips records
# its futex waits as buffered hand-offs, with a few dozen events in all
# rather than tens of thousands of traced waits; record -n traces them all;
# both replay with the recorded output. And a python3 program whose threads
# pass work through a queue (the interpreter's GIL hands off the same way).
#
# usage: baton_handoffs.sh REWIND PINGPONG
set -euo pipefail
rewind=$1 prog=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin baton_handoffs

record_both "$rewind" "$prog" 20000
events=$(grep -c '^#' "$tmp/buffered.dump" || true)
waits=$(grep -c ' BUFFERED futex = ' "$tmp/buffered.dump" || true)
gives=$(grep -c 'BATON GIVE' "$tmp/buffered.dump" || true)
nobuf_waits=$(grep -c 'SYSCALL_ENTRY futex(' "$tmp/nobuf.dump" || true)
echo "buffered: $events events, $waits buffered futex calls, $gives gives; -n: $nobuf_waits traced futex calls"
# Each round trip is a wait and a wake at least, in each thread.
[[ $waits -ge 40000 ]] || fail "only $waits futex calls were buffered"
[[ $events -le 400 ]] || fail "$events events: the hand-offs went through the recorder"
[[ $gives -ge 1 ]] || fail "no BatonGive event: the process never got its baton"
[[ $nobuf_waits -ge 20000 ]] || fail "record -n traced only $nobuf_waits futex calls"

cat >"$tmp/handoff_queue.py" <<'PY'
import threading, queue
q, out = queue.Queue(), queue.Queue()
def worker():
    while (x := q.get()) is not None:
        out.put(x * x)
ts = [threading.Thread(target=worker) for _ in range(4)]
for t in ts: t.start()
for i in range(5000): q.put(i)
for t in ts: q.put(None)
for t in ts: t.join()
print(sum(out.get() for _ in range(out.qsize())))
PY
python3 -c 'pass' || fail "python3 is not installed: run scripts/setup.sh"
timeout 120 "$rewind" record -o "$tmp/py" python3 "$tmp/handoff_queue.py" >"$tmp/py.out" || fail "python3 recording failed"
grep -qx 41654167500 "$tmp/py.out" || fail "python3 printed $(cat "$tmp/py.out") under record"
timeout 120 "$rewind" replay -a "$tmp/py" >"$tmp/py.replay" || fail "python3 replay failed"
cmp -s "$tmp/py.out" "$tmp/py.replay" || fail "python3 replay printed other output"
echo "PASS [baton_handoffs]"
