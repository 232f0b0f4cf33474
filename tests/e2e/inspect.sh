#!/usr/bin/env bash
# Checks the trace inspection commands on a small recording:
#   rewind info   prints JSON with at least "argv" and "cpuid"
#   rewind dump   lists the events, including the program's write
#   rewind ps     lists the recorded process by its program name
# and that replay finds the trace by a relative path too.
# usage: inspect.sh REWIND PROGRAM_DIR
set -euo pipefail
rewind=$1 bin=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin e2e.inspect inspect
export TMPDIR=$tmp

rc=0
timeout 120 "$rewind" record -o "$tmp/trace" "$bin/exit_code" 7 >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
[[ $rc -eq 7 ]] || { cat "$tmp/err" >&2; fail "record exited $rc, expected the program's 7"; }

# Runs one inspection command; it must succeed within the time limit.
inspect() {
  local what=$1
  rc=0
  timeout 60 "$rewind" "$what" "$tmp/trace" >"$tmp/$what.out" 2>"$tmp/$what.err" || rc=$?
  if [[ $rc -ne 0 ]]; then
    cat "$tmp/$what.err" >&2
    fail "'rewind $what' exited $rc"
  fi
}

inspect info
/usr/bin/python3 - "$tmp/info.out" <<'PY' || { head -c 2000 "$tmp/info.out" >&2; fail "'rewind info' output is not JSON with argv and cpuid"; }
import json, sys
info = json.load(open(sys.argv[1]))
missing = [k for k in ("argv", "cpuid") if k not in info]
if missing:
    sys.exit(f"missing keys: {missing}; have {sorted(info)}")
if not any("exit_code" in str(a) for a in info["argv"]):
    sys.exit(f"argv does not name the program: {info['argv']!r}")
PY

inspect dump
grep -q write "$tmp/dump.out" || { tail -n 30 "$tmp/dump.out" >&2; fail "'rewind dump' does not mention the program's write"; }

inspect ps
grep -q exit_code "$tmp/ps.out" || { cat "$tmp/ps.out" >&2; fail "'rewind ps' does not list exit_code"; }
# A relative trace path: replay compares the files it execs and maps with
# what /proc shows, which is always absolute.
rc=0
(cd "$tmp" && timeout 120 "$rewind" replay -a trace >"$tmp/rel.out" 2>"$tmp/rel.err") || rc=$?
[[ $rc -eq 7 ]] || { cat "$tmp/rel.err" >&2; fail "replay of a relative trace path exited $rc, expected 7"; }
cmp -s "$tmp/out" "$tmp/rel.out" || fail "replay of a relative trace path printed something else"
echo "PASS [e2e.inspect]"
