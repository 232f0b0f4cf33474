#!/usr/bin/env bash
# Checks where traces go without -o: $REWIND_TRACE_DIR/<prog>-<n>, n counting
# up from 0, with $REWIND_TRACE_DIR/latest-trace pointing at the newest; and
# that "replay -a" with no trace argument replays that newest trace.
# usage: default_trace_dir.sh REWIND PROGRAM_DIR
set -euo pipefail
rewind=$1 bin=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin e2e.default_trace_dir default-dir
export REWIND_TRACE_DIR=$tmp/traces TMPDIR=$tmp

# Resolves latest-trace to an absolute path, whether the link is relative or not.
latest() { readlink -f "$REWIND_TRACE_DIR/latest-trace"; }

record() {
  rc=0
  timeout 120 "$rewind" record "$bin/exit_code" "$1" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  [[ $rc -eq $1 ]] || { cat "$tmp/err" >&2; fail "record exited $rc, expected $1"; }
}

record 3
[[ -d $REWIND_TRACE_DIR/exit_code-0 ]] || { ls -la "$REWIND_TRACE_DIR" >&2 || true; fail "first recording is not at \$REWIND_TRACE_DIR/exit_code-0"; }
[[ -L $REWIND_TRACE_DIR/latest-trace ]] || fail "\$REWIND_TRACE_DIR/latest-trace is not a symlink"
[[ $(latest) == $(readlink -f "$REWIND_TRACE_DIR/exit_code-0") ]] || fail "latest-trace points to $(latest), not exit_code-0"

record 5
[[ -d $REWIND_TRACE_DIR/exit_code-1 ]] || { ls -la "$REWIND_TRACE_DIR" >&2; fail "second recording is not at exit_code-1"; }
[[ $(latest) == $(readlink -f "$REWIND_TRACE_DIR/exit_code-1") ]] || fail "latest-trace points to $(latest), not exit_code-1"

# Without a trace argument, replay uses latest-trace: the second recording,
# which printed "exiting with 5" and exited 5.
rc=0
timeout 120 "$rewind" replay -a >"$tmp/rep.out" 2>"$tmp/rep.err" </dev/null || rc=$?
if [[ $rc -ne 5 ]] || ! grep -q "exiting with 5" "$tmp/rep.out"; then
  cat "$tmp/rep.out" "$tmp/rep.err" >&2
  fail "replay -a without a trace exited $rc; expected the latest recording's 5 and its output"
fi
if grep -v '^rewind: warning:' "$tmp/rep.err" | grep -q '^rewind:'; then
  cat "$tmp/rep.err" >&2
  fail "replay printed rewind errors"
fi
echo "PASS [e2e.default_trace_dir]"
