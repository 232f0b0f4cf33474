#!/usr/bin/env bash
# Checks that rewind fails cleanly on bad input: a non-zero exit, a
# "rewind: ..." message naming what is wrong, no crash (no death by a signal,
# so no 134/136/139) and no hang.
#
# usage: bad_input.sh REWIND CASE PROGRAM
#   PROGRAM is a small test program to record for the damaged-trace cases.
# Cases:
#   missing_program, not_executable, directory_as_program   (rewind record)
#   corrupt_events, corrupt_header, truncated_events, missing_version,
#   incomplete_trace_bad_version, deleted_captured_file, nonexistent_trace,
#   empty_trace_dir                                          (rewind replay -a)
#   fifo_as_events, fifo_as_version, fifo_as_header, fifo_as_captured_file,
#   symlink_as_events                       (info, dump, ps and replay -a)
#   record_into_open_dir, record_into_others_dir            (rewind record -o)
# Exits 77 (skipped) when a case does not apply to this trace.
set -euo pipefail
rewind=$1 case=$2 program=$3
# The scratch dir name must not contain the case name: the checks grep the
# message for words like "events", and the trace path is in it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin "bad.$case" bad
export TMPDIR=$tmp
ulimit -c 0
trace=$tmp/trace

# expect_clean_failure PATTERN... -- REWIND-ARGS...
# Runs rewind and requires a clean failure whose stderr has a "rewind:" line
# matching every PATTERN (extended regexes, case-insensitive).
expect_clean_failure() {
  local patterns=()
  while [[ $1 != -- ]]; do patterns+=("$1"); shift; done
  shift
  local rc=0
  timeout 60 "$rewind" "$@" </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
  echo "rewind $* -> exit $rc; stderr:"
  head -n 20 "$tmp/err"
  [[ $rc -ne 124 ]] || fail "rewind hung (killed after 60 s)"
  [[ $rc -ne 0 ]] || fail "rewind exited 0 on bad input"
  # Above 128 means rewind itself died of a signal (134 abort, 136 SIGFPE,
  # 139 SIGSEGV): a crash, not an error report.
  [[ $rc -le 128 ]] || fail "rewind crashed: exit $rc (signal $((rc - 128)))"
  grep -q '^rewind: ' "$tmp/err" || fail "no 'rewind: ' message on stderr"
  local p
  for p in "${patterns[@]}"; do
    grep '^rewind: ' "$tmp/err" | grep -Eiq -- "$p" ||
      fail "the 'rewind: ' message does not mention /$p/"
  done
  echo "PASS [bad.$case]"
}

# Records PROGRAM into $trace and checks that the intact trace replays
# cleanly, so that a later failure is due to the damage done to it.
record_good_trace() {
  local rc=0 rep=0
  timeout 120 "$rewind" record -o "$trace" "$program" </dev/null >"$tmp/rec.out" 2>"$tmp/rec.err" || rc=$?
  [[ $rc -eq 0 ]] || { tail -n 20 "$tmp/rec.err" >&2; fail "recording $program exited $rc"; }
  timeout 120 "$rewind" replay -a "$trace" </dev/null >"$tmp/rep.out" 2>"$tmp/rep.err" || rep=$?
  if [[ $rep -ne 0 ]] || grep -v '^rewind: warning:' "$tmp/rep.err" | grep -q '^rewind:'; then
    tail -n 20 "$tmp/rep.err" >&2
    fail "the undamaged trace does not replay cleanly (exit $rep), so this case proves nothing"
  fi
}

# Overwrites 16 bytes in the middle of FILE with their complement.
flip_bytes() {
  /usr/bin/python3 - "$1" <<'PY'
import os, sys
path = sys.argv[1]
size = os.path.getsize(path)
if size == 0:
    sys.exit(f"{path} is empty; nothing to corrupt")
start = size // 2
with open(path, "r+b") as f:
    f.seek(start)
    chunk = f.read(16)
    f.seek(start)
    f.write(bytes(b ^ 0xFF for b in chunk))
print(f"flipped {len(chunk)} bytes at offset {start} of {size} in {path}")
PY
}

case $case in
  missing_program)
    expect_clean_failure '/nonexistent/rewind-test-program' 'no such file|not found|does not exist' \
      -- record -o "$trace" /nonexistent/rewind-test-program arg ;;
  not_executable)
    printf '#!/bin/sh\necho hi\n' >"$tmp/not-executable"
    chmod 0644 "$tmp/not-executable"
    expect_clean_failure 'not-executable' 'permission|executable' \
      -- record -o "$trace" "$tmp/not-executable" ;;
  directory_as_program)
    mkdir "$tmp/a-directory"
    expect_clean_failure 'a-directory' 'directory|permission|executable' \
      -- record -o "$trace" "$tmp/a-directory" ;;
  corrupt_events)
    record_good_trace
    flip_bytes "$trace/events"
    expect_clean_failure 'events' -- replay -a "$trace" ;;
  corrupt_header)
    record_good_trace
    flip_bytes "$trace/header"
    expect_clean_failure 'header' -- replay -a "$trace" ;;
  truncated_events)
    record_good_trace
    size=$(stat -c %s "$trace/events")
    truncate -s $((size / 2)) "$trace/events"
    echo "truncated events from $size to $((size / 2)) bytes"
    expect_clean_failure 'events' -- replay -a "$trace" ;;
  missing_version)
    record_good_trace
    rm "$trace/version"
    expect_clean_failure 'version' -- replay -a "$trace" ;;
  incomplete_trace_bad_version)
    # A killed recorder's trace is readable (e2e.killed_recording), but its
    # `incomplete` file must still name a format this rewind reads.
    record_good_trace
    mv "$trace/version" "$trace/incomplete"
    echo "rewind-trace 999" >"$trace/incomplete"
    expect_clean_failure 'format version 999' -- replay -a "$trace" ;;
  fifo_as_events | fifo_as_version | fifo_as_header | fifo_as_captured_file | symlink_as_events)
    # A special file in a trace's place must be refused at once: opening a
    # FIFO for reading blocks until a writer comes, which never does.
    record_good_trace
    case $case in
      fifo_as_events) victim=$trace/events ;;
      fifo_as_version) victim=$trace/version ;;
      fifo_as_header) victim=$trace/header ;;
      fifo_as_captured_file)
        victim=$(find "$trace/files" -type f -name "$(basename "$program")*" | head -n 1)
        [[ -n $victim ]] || fail "the trace captured no copy of $program" ;;
      symlink_as_events) victim=$trace/events ;;
    esac
    rm "$victim"
    if [[ $case == symlink_* ]]; then
      ln -s /etc/passwd "$victim"
      want='symbolic link'
    else
      mkfifo "$victim"
      want='FIFO'
    fi
    for cmd in info dump ps "replay -a"; do
      # shellcheck disable=SC2086  # "replay -a" is two words
      expect_clean_failure "$want" 'not a regular file' -- $cmd "$trace"
    done ;;
  record_into_open_dir)
    # An existing empty directory that everyone may write: the trace must
    # still be private (0700), or another user could swap its files.
    mkdir "$tmp/open"
    chmod 0777 "$tmp/open"
    timeout 120 "$rewind" record -o "$tmp/open" "$program" </dev/null >/dev/null 2>"$tmp/err" ||
      fail "recording into an existing empty directory failed: $(cat "$tmp/err")"
    mode=$(stat -c %a "$tmp/open")
    [[ $mode == 700 ]] || fail "the trace directory kept mode $mode, want 700"
    echo "PASS [bad.$case]" ;;
  record_into_others_dir)
    [[ $(id -u) == 0 ]] || { echo "SKIP [bad.$case]: needs root to chown"; exit 77; }
    mkdir "$tmp/theirs"
    chown nobody "$tmp/theirs"
    expect_clean_failure 'belongs to uid' -- record -o "$tmp/theirs" "$program"
    [[ -z $(ls -A "$tmp/theirs") ]] || fail "rewind wrote into another user's directory" ;;
  deleted_captured_file)
    record_good_trace
    # Prefer the program's own executable: a copy (it is not under /usr) that
    # replay certainly needs.
    victim=$(find "$trace/files" -type f -name "$(basename "$program")*" 2>/dev/null | head -n 1)
    [[ -n $victim ]] || victim=$(find "$trace/files" -type f 2>/dev/null | sort | head -n 1)
    if [[ -z $victim ]]; then
      echo "SKIP [bad.$case]: the trace captured no files"
      exit 77
    fi
    rm "$victim"
    echo "deleted $victim"
    # The message must name the missing file (regex metacharacters escaped).
    expect_clean_failure "$(basename "$victim" | sed 's/[][\\.^$*+?(){}|]/\\&/g')" -- replay -a "$trace" ;;
  nonexistent_trace)
    expect_clean_failure 'no-such-trace' -- replay -a "$tmp/no-such-trace" ;;
  empty_trace_dir)
    mkdir "$tmp/empty"
    expect_clean_failure 'version|empty|not a.*trace|no trace' -- replay -a "$tmp/empty" ;;
  *)
    echo "unknown case '$case'" >&2
    exit 2 ;;
esac
