#!/usr/bin/env bash
# job_control.sh REWIND PROG: a recorded program that stops itself with
# SIGSTOP stays stopped (rewind holds it in its group-stop) until a SIGCONT
# reaches it. Here the SIGCONT goes to the whole process group, as a
# shell's `fg` sends it: rewind, which cannot see a SIGCONT sent to its
# tracees, takes its own as the sign. Then the trace must replay alike.
set -euo pipefail
rewind=$1 prog=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rewind-job.XXXXXX")
pid=
cleanup() {
  [[ -n $pid ]] && kill -KILL -- "-$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
# Its own process group (setsid execs in place: the pid is the group's).
setsid env REWIND_LOG=record "$rewind" record -o "$tmp/trace" "$prog" >"$tmp/out" 2>"$tmp/err" &
pid=$!
# Until rewind says it holds the stopped program (no sleep: the log line
# is written after the decision).
if ! timeout 60 grep -q -m1 "held until a SIGCONT" <(tail -F "$tmp/err" 2>/dev/null); then
  echo "FAIL: rewind never held the stopped program" >&2
  cat "$tmp/err" >&2
  exit 1
fi
grep -qx "stopping" "$tmp/out" || { echo "FAIL: no output before the stop" >&2; exit 1; }
if grep -q "continued" "$tmp/out"; then
  echo "FAIL: the program ran on while stopped" >&2
  exit 1
fi
kill -CONT -- "-$pid"
status=0
wait "$pid" || status=$?
pid=
[[ $status -eq 0 ]] || { echo "FAIL: the recording exited $status" >&2; cat "$tmp/err" >&2; exit 1; }
grep -q "^continued, SIGCONT handled 1 time" "$tmp/out" || {
  echo "FAIL: unexpected output:" >&2
  cat "$tmp/out" >&2
  exit 1
}
"$rewind" replay -a "$tmp/trace" >"$tmp/replay.out" 2>"$tmp/replay.err" || {
  echo "FAIL: replay failed" >&2
  cat "$tmp/replay.err" >&2
  exit 1
}
diff "$tmp/out" "$tmp/replay.out" >&2 || { echo "FAIL: replay output differs" >&2; exit 1; }
echo "ok: held until SIGCONT; $(tail -n1 "$tmp/out")"
