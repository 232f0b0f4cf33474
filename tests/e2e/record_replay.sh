#!/usr/bin/env bash
# Records a program with rewind, replays the trace, and checks that the replay
# reproduced what the recording saw: the same stdout, the same stderr (minus
# "rewind: warning:" lines) and the same exit status, with no other "rewind:"
# message from the replay.
#
# usage: record_replay.sh REWIND NAME [options] -- PROG [ARGS...]
#   --stdin FILE      feed FILE to the recording; the replay gets /dev/null, so
#                     it must return the recorded bytes, not read its own stdin
#   --before CMD      shell command run before recording
#   --between CMD     shell command run after recording, before replaying
#                     (e.g. modify or delete a file the program mapped)
#   --expect-exit N   the recording must exit with N (default 0: the test
#                     programs exit 99 when one of their CHECKs fails, and a
#                     recording that broke the program must not pass)
#   --record-flag F   pass F to 'rewind record' (repeatable, one word each),
#                     e.g. --record-flag -n to record without syscall buffering
#
# With REWIND_KEEP_TMP set, the scratch directory (trace, outputs) is kept
# for a look after a failure.
#
# CMD runs with TRACE (the trace directory) and TMPDIR (this test's scratch
# directory) exported. The literal word @TMPDIR@ in PROG or ARGS is replaced by
# that directory. The program runs with TMPDIR set too, so the test programs'
# scratch files land there and are removed with it.
set -euo pipefail

usage() {
  echo "usage: $0 REWIND NAME [--stdin FILE] [--before CMD] [--between CMD] [--expect-exit N] [--record-flag F]... -- PROG [ARGS...]" >&2
  exit 2
}

[[ $# -ge 2 ]] || usage
rewind=$1 name=$2
shift 2
stdin_file=/dev/null before='' between='' expect_exit=0 record_flags=()
while [[ $# -gt 0 && $1 != -- ]]; do
  case $1 in
    --stdin) stdin_file=$2; shift 2 ;;
    --before) before=$2; shift 2 ;;
    --between) between=$2; shift 2 ;;
    --expect-exit) expect_exit=$2; shift 2 ;;
    --record-flag) record_flags+=("$2"); shift 2 ;;
    *) usage ;;
  esac
done
[[ ${1:-} == -- ]] || usage
shift
[[ $# -ge 1 ]] || usage

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rewind-e2e-$name.XXXXXX")
[[ -n ${REWIND_KEEP_TMP:-} ]] || trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp TRACE=$tmp/trace
prog=("${@//@TMPDIR@/$tmp}")

# Crashing test programs must not leave core files behind.
ulimit -c 0
# Run from the scratch dir, so that programs listing "." see a known place.
cd "$tmp"

fail() {
  echo "FAIL [$name]: $*" >&2
  if [[ -d $TRACE ]]; then
    echo "--- last 30 lines of 'rewind dump' of the trace:" >&2
    timeout 60 "$rewind" dump "$TRACE" 2>&1 | tail -n 30 >&2 || true
  fi
  exit 1
}

# Runs rewind with a time limit; sets $rc. 124 means it hung.
run_rewind() {
  local out=$1 err=$2 in=$3
  shift 3
  rc=0
  timeout 120 "$rewind" "$@" <"$in" >"$out" 2>"$err" || rc=$?
  if [[ $rc -eq 124 ]]; then
    echo "--- stderr of the hung command:" >&2
    tail -n 20 "$err" >&2
    fail "'rewind $1' timed out after 120 s"
  fi
}

[[ -z $before ]] || (eval "$before") || fail "--before command failed: $before"

run_rewind "$tmp/rec.out" "$tmp/rec.err" "$stdin_file" record "${record_flags[@]}" -o "$TRACE" "${prog[@]}"
rec_rc=$rc
echo "recorded: exit $rec_rc, $(wc -c <"$tmp/rec.out") bytes stdout, $(wc -c <"$tmp/rec.err") bytes stderr"
if [[ ! -d $TRACE ]]; then
  cat "$tmp/rec.err" >&2
  fail "recording made no trace directory"
fi
mode=$(stat -c %a "$TRACE")
[[ $mode == 700 ]] || fail "trace directory has mode $mode, want 700 (traces hold program data)"
if [[ -n $expect_exit && $rec_rc -ne $expect_exit ]]; then
  tail -n 20 "$tmp/rec.err" >&2
  fail "recording exited $rec_rc, expected $expect_exit"
fi

[[ -z $between ]] || (eval "$between") || fail "--between command failed: $between"

run_rewind "$tmp/rep.out" "$tmp/rep.err" /dev/null replay -a "$TRACE"
rep_rc=$rc
echo "replayed: exit $rep_rc, $(wc -c <"$tmp/rep.out") bytes stdout, $(wc -c <"$tmp/rep.err") bytes stderr"

# Warnings may differ between record and replay; anything else must match.
strip_warnings() { grep -av '^rewind: warning:' "$1" || true; }
strip_warnings "$tmp/rec.err" >"$tmp/rec.err.cmp"
strip_warnings "$tmp/rep.err" >"$tmp/rep.err.cmp"

# Shows the first differing lines of two captures (binary-safe).
show_diff() {
  echo "--- first differences in $1 (recording vs replay):" >&2
  diff -a -u --label "record $1" --label "replay $1" "$2" "$3" | head -n 40 >&2 || true
}

problems=()
if grep -aq '^rewind:' "$tmp/rec.err.cmp"; then
  echo "--- rewind messages in the recording's stderr:" >&2
  grep -a '^rewind:' "$tmp/rec.err.cmp" | head -n 10 >&2
  problems+=("recording printed rewind errors")
fi
if grep -aq '^rewind:' "$tmp/rep.err.cmp"; then
  echo "--- rewind messages in the replay's stderr:" >&2
  grep -a '^rewind:' "$tmp/rep.err.cmp" | head -n 10 >&2
  problems+=("replay printed rewind errors (divergence?)")
fi
if ! cmp -s "$tmp/rec.out" "$tmp/rep.out"; then
  show_diff stdout "$tmp/rec.out" "$tmp/rep.out"
  problems+=("stdout differs")
fi
if ! cmp -s "$tmp/rec.err.cmp" "$tmp/rep.err.cmp"; then
  show_diff stderr "$tmp/rec.err.cmp" "$tmp/rep.err.cmp"
  problems+=("stderr differs")
fi
[[ $rec_rc -eq $rep_rc ]] || problems+=("exit status differs: recorded $rec_rc, replayed $rep_rc")

if [[ ${#problems[@]} -gt 0 ]]; then
  fail "$(IFS=';'; echo "${problems[*]}")"
fi
echo "PASS [$name]: replay matched the recording (exit $rec_rc)"
