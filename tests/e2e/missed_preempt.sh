#!/usr/bin/env bash
# A preemption point replay can never find (its state hash is corrupted by a
# test-only tool, in a copy of the trace) in a thread that then spins on
# another thread's progress, which replay holds back: replay must give up
# with a divergence error naming the point, not hang.
#
# usage: missed_preempt.sh REWIND CORRUPT_TRACE_TOOL PROG
set -euo pipefail
rewind=$1 tool=$2 prog=$3
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin missed_preempt missed

timeout 120 "$rewind" record -o "$tmp/trace" "$prog" >"$tmp/rec.out" || fail "recording failed"
"$tool" "$tmp/trace" "$tmp/copy" preempt || fail "could not make the corrupted copy"

rc=0
timeout 120 "$rewind" replay -a "$tmp/copy" >"$tmp/bad.out" 2>"$tmp/bad.err" || rc=$?
cat "$tmp/bad.err"
[[ $rc -ne 124 ]] || fail "replay hung on the missed preemption point"
[[ $rc -ne 0 && $rc -lt 128 ]] || fail "replay should fail with a plain error, got exit $rc"
grep -q "replay diverged at event [0-9]* (tid [0-9]*, preemption)" "$tmp/bad.err" ||
  fail "the error does not name the preemption event"
grep -q "without reaching the preemption point at pc 0x" "$tmp/bad.err" ||
  fail "the error does not say the point was never reached"

rc=0
timeout 120 "$rewind" replay -a "$tmp/trace" >"$tmp/good.out" 2>/dev/null || rc=$?
[[ $rc -eq 0 ]] && cmp -s "$tmp/rec.out" "$tmp/good.out" || fail "the original trace no longer replays"
echo "PASS [missed_preempt]"
