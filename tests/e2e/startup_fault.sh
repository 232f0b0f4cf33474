#!/usr/bin/env bash
# A program the kernel kills while it loads it (issue 10): a truncated
# executable, a truncated ELF interpreter run directly, and a program whose
# interpreter is truncated. Natively each dies of SIGSEGV (exit 139); under
# rewind, record must end the same way (it used to spin forever), replay -a
# must report the same status, and the debugger must be told that there is
# nothing to debug.
#
# usage: startup_fault.sh REWIND A_PROGRAM
set -euo pipefail
rewind=$1 program=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin e2e.startup_fault startup
command -v gcc >/dev/null || fail "gcc is missing (scripts/setup.sh installs build-essential)"

interp=$(readelf -l "$program" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[[ -n $interp ]] || fail "cannot find $program's ELF interpreter"
cp "$interp" "$tmp/ld.so"
truncate -s 100000 "$tmp/ld.so"
cp "$program" "$tmp/prog"
truncate -s $(($(stat -c %s "$tmp/prog") / 2)) "$tmp/prog"
echo 'int main(void) { return 0; }' | gcc -x c - -o "$tmp/uses_bad_ld" -Wl,--dynamic-linker="$tmp/ld.so"

for exe in "$tmp/prog" "$tmp/ld.so" "$tmp/uses_bad_ld"; do
  name=$(basename "$exe")
  native=0
  "$exe" </dev/null >/dev/null 2>&1 || native=$?
  [[ $native -eq 139 ]] || fail "$name: natively it exited $native, not 139; the test's premise is wrong"
  rc=0
  timeout 60 "$rewind" record -o "$tmp/t-$name" "$exe" </dev/null >/dev/null 2>"$tmp/rec.err" || rc=$?
  [[ $rc -ne 124 ]] || fail "$name: rewind record hung"
  [[ $rc -eq 139 ]] || fail "$name: rewind record exited $rc, want 139: $(cat "$tmp/rec.err")"
  grep -q "killed by Segmentation fault while the kernel loaded it" "$tmp/rec.err" ||
    fail "$name: record did not say what happened"
  rc=0
  timeout 60 "$rewind" replay -a "$tmp/t-$name" </dev/null >/dev/null 2>"$tmp/rep.err" || rc=$?
  [[ $rc -eq 139 ]] || fail "$name: replay -a exited $rc, want 139: $(cat "$tmp/rep.err")"
  rc=0
  timeout 60 "$rewind" replay -s 0 "$tmp/t-$name" </dev/null >/dev/null 2>"$tmp/dbg.err" || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "$name: the debug server did not refuse (exit $rc)"
  grep -q "never started" "$tmp/dbg.err" || fail "$name: the debug server's refusal is unclear: $(cat "$tmp/dbg.err")"
  echo "$name: record 139, replay 139, debugger refused"
done
echo "PASS [e2e.startup_fault]"
