#!/usr/bin/env bash
# Replay's scratch directory (/tmp/rewind-replay-PID-XXXXXX: writable
# copies of the program's shared file mappings) must not outlive a replay
# stopped by SIGTERM, SIGINT or SIGHUP, and one left by a replay killed
# with SIGKILL is removed by the next replay (issue 10).
#
# usage: scratch_cleanup.sh REWIND MMAP_SHARED_SEES_WRITE
set -euo pipefail
rewind=$1 program=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin e2e.scratch_cleanup scratch
mkfifo "$tmp/tick"

wait_for() {  # WHAT SECONDS COMMAND...
  local what=$1 secs=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for $what"
    read -r -t 0.05 <>"$tmp/tick" || true
  done
}

"$rewind" record -o "$tmp/trace" "$program" </dev/null >/dev/null 2>&1 || fail "recording failed"
events=$("$rewind" info "$tmp/trace" | sed -n 's/.*"events": \([0-9]*\).*/\1/p')
[[ -n $events && $events -gt 10 ]] || fail "no event count from info"

# Starts a debug server at an event past the shared mapping (so replay has
# made its copy) and waits until it listens; its pid is $pid.
start_server() {
  # The last server's lines must go first: the job's own redirection
  # truncates the file only once it runs, after wait_for may have looked.
  : >"$tmp/server.out"
  # (A background job of a script starts with SIGINT ignored, which rewind
  # respects; the test wants the default a terminal's Ctrl-C meets.)
  env --default-signal=INT "$rewind" replay -s 0 -g $((events - 3)) "$tmp/trace" \
    </dev/null >"$tmp/server.out" 2>&1 &
  pid=$!
  listening() { grep -q 'waiting for a debugger' "$tmp/server.out"; }
  wait_for "the replay server" 60 listening
}
scratch_of() { compgen -G "/tmp/rewind-replay-$1-*" || true; }

for sig in TERM INT HUP KILL; do
  start_server
  dir=$(scratch_of "$pid")
  [[ -n $dir && -d $dir ]] || fail "SIG$sig: the replay made no scratch directory; the test proves nothing"
  kill -s "$sig" "$pid"
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  [[ $rc -eq $((128 + $(kill -l "$sig"))) ]] || fail "SIG$sig: the replay exited $rc, not of the signal"
  if [[ $sig == KILL ]]; then
    [[ -d $dir ]] || fail "SIGKILL: the directory vanished, so the stale-removal check proves nothing"
    # The next replay that needs a scratch directory removes the dead one.
    start_server
    kill -s TERM "$pid"
    wait "$pid" 2>/dev/null || true
    [[ ! -e $dir ]] || fail "a later replay left $dir, whose owner is gone"
  else
    [[ ! -e $dir ]] || fail "SIG$sig: $dir outlived the replay"
  fi
  echo "SIG$sig: scratch directory removed"
done
echo "PASS [e2e.scratch_cleanup]"
