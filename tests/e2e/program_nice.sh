#!/usr/bin/env bash
# The recorder lowers its own priority below its tracees'
# (RecordSession::yield_to_tracees), but the program, and the processes it
# starts, keep the nice value they would have natively.
#
# usage: program_nice.sh REWIND
set -euo pipefail
rewind=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin program_nice

want=$(nice)
timeout 60 "$rewind" record -o "$tmp/trace" /bin/sh -c 'nice; /bin/sh -c nice' >"$tmp/rec.out" ||
  fail "recording failed"
printf '%s\n%s\n' "$want" "$want" >"$tmp/want"
cmp -s "$tmp/want" "$tmp/rec.out" ||
  fail "the recorded program saw nice $(tr '\n' ' ' <"$tmp/rec.out")where natively it is $want"
timeout 60 "$rewind" replay -a "$tmp/trace" >"$tmp/rep.out" || fail "replay failed"
cmp -s "$tmp/rec.out" "$tmp/rep.out" || fail "replay printed other nice values"
echo "PASS [program_nice]"
