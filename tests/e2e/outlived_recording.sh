#!/usr/bin/env bash
# The initial process dies (abort) and leaves a child blocked for ever.
# rewind record keeps recording, as rr does, because replay needs every
# process to its end; it names the process it waits for, within a few
# seconds; a SIGINT to rewind (what Ctrl-C sends it) then kills the child
# and ends the recording with a complete trace, which replays with the
# recorded output and the initial process's exit status (134, SIGABRT).
# Before the initial process ends, a SIGINT to rewind must not end it.
#
# usage: outlived_recording.sh REWIND ORPHAN_READER
set -euo pipefail
rewind=$1 program=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin e2e.outlived_recording outlived

"$rewind" record -w -o "$tmp/trace" "$program" >"$tmp/rec.out" 2>"$tmp/rec.err" </dev/null &
rec=$!
child=
cleanup_child() { [[ -z $child ]] || kill -9 "$child" 2>/dev/null || true; }
trap 'cleanup_child; kill -9 "$rec" 2>/dev/null || true; rm -rf "$tmp"' EXIT
wait_for "the child to start" 60 grep -q '^child [0-9]* reads' "$tmp/rec.out"
child=$(sed -n 's/^child \([0-9]*\) reads.*/\1/p' "$tmp/rec.out")
wait_for "rewind to name the process left behind" 30 grep -q 'still recording 1 process it left' "$tmp/rec.err"
grep -q "$child (orphan_reader)" "$tmp/rec.err" || fail "rewind did not name the child: $(cat "$tmp/rec.err")"
grep -q 'was killed by signal 6' "$tmp/rec.err" || fail "rewind did not say how the program ended"
kill -0 "$rec" || fail "rewind ended before it was asked to"
kill -INT "$rec"
rc=0
wait "$rec" || rc=$?
[[ $rc -eq 134 ]] || fail "rewind record exited $rc, want 134 (the program's SIGABRT): $(cat "$tmp/rec.err")"
# Dead, if perhaps not reaped yet by its new parent (a zombie).
alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
! alive "$child" || fail "the child $child is still alive"
child=

rc=0
timeout 120 "$rewind" replay -a "$tmp/trace" >"$tmp/rep.out" 2>"$tmp/rep.err" </dev/null || rc=$?
[[ $rc -eq 134 ]] || fail "replay exited $rc, want 134: $(tail -n 5 "$tmp/rep.err")"
cmp "$tmp/rec.out" "$tmp/rep.out" || fail "replay printed other than the recording"
! grep -q 'incomplete' "$tmp/rep.err" || fail "the trace is incomplete: $(cat "$tmp/rep.err")"
echo "PASS [outlived_recording]"
