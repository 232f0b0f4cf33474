#!/usr/bin/env bash
# Buffered syscall records (preload/abi.h) that a hostile or broken trace
# could hold, behind sound blocks and checksums: a record for another
# syscall, a record whose size is not a multiple of 8, an event whose
# records are gone, one output too many, an output to address 8 or onto
# the buffer's own header (the library writes outputs where the record
# says: the replayed program's memory, whatever it is). Replay must fail
# with an error that names the problem, never hang, crash or replay on; the
# original trace must still replay.
#
# usage: corrupt_syscallbuf.sh REWIND CORRUPT_TRACE_TOOL PROG
set -euo pipefail
rewind=$1 tool=$2 prog=$3
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin corrupt_syscallbuf

timeout 120 "$rewind" record -o "$tmp/trace" "$prog" >"$tmp/rec.out" || fail "recording failed"

# WHAT, then what the error must say.
cases=(
  "buffer-nr|where the recording's next buffered syscall was another"
  "buffer-size|the trace's buffered syscalls are corrupt"
  "buffer-drop|from its syscall buffer, which holds no record of it"
  "buffer-nouts|the trace's buffered syscalls are corrupt"
  "buffer-addr|the task got an unrecorded SIGSEGV"
  "buffer-header|replay diverged at event"
)
for c in "${cases[@]}"; do
  what=${c%%|*} want=${c#*|}
  "$tool" "$tmp/trace" "$tmp/$what" "$what" || fail "could not make the $what copy"
  rc=0
  timeout 120 "$rewind" replay -a "$tmp/$what" >"$tmp/$what.out" 2>"$tmp/$what.err" || rc=$?
  echo "$what: exit $rc: $(tail -n 1 "$tmp/$what.err")"
  [[ $rc -ne 124 ]] || fail "$what: replay hung"
  [[ $rc -ne 0 && $rc -lt 128 ]] || fail "$what: replay should fail with a plain error, got exit $rc"
  grep -qF "$want" "$tmp/$what.err" || fail "$what: the error does not say '$want'"
done

rc=0
timeout 120 "$rewind" replay -a "$tmp/trace" >"$tmp/good.out" 2>/dev/null || rc=$?
[[ $rc -eq 0 ]] && cmp -s "$tmp/rec.out" "$tmp/good.out" || fail "the original trace no longer replays"
echo "PASS [corrupt_syscallbuf]"
