#!/usr/bin/env bash
# Replay must refuse a trace recorded on a CPU that had a feature this CPU
# lacks, naming the feature, and must replay it anyway, with a warning, under
# --force. The mismatch is made by a test-only tool that edits the CPUID
# leaves in a copy of the trace's header.
#
# usage: cpuid_mismatch.sh REWIND CPUID_MISMATCH_TOOL PROG
set -euo pipefail
rewind=$1 tool=$2 prog=$3
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin cpuid_mismatch cpuid

timeout 120 "$rewind" record -o "$tmp/trace" "$prog" >"$tmp/rec.out" || fail "recording failed"
cp -a "$tmp/trace" "$tmp/copy"
features=$("$tool" "$tmp/copy") || fail "could not edit the header"
first=$(head -n 1 <<<"$features")
echo "recorded CPU now claims: $first"

rc=0
timeout 60 "$rewind" replay -a "$tmp/copy" >"$tmp/refused.out" 2>"$tmp/refused.err" || rc=$?
cat "$tmp/refused.err"
[[ $rc -ne 0 && $rc -ne 124 && $rc -lt 128 ]] || fail "replay should refuse with a plain error, got exit $rc"
grep -q "lacks features" "$tmp/refused.err" || fail "the refusal does not say the CPU lacks features"
grep -qF -- "$first" "$tmp/refused.err" || fail "the refusal does not name $first"
[[ ! -s $tmp/refused.out ]] || fail "a refused replay must not run the program"

rc=0
timeout 60 "$rewind" replay -a --force "$tmp/copy" >"$tmp/forced.out" 2>"$tmp/forced.err" || rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/forced.err" >&2; fail "--force replay exited $rc"; }
grep -q "warning:.*lacks features" "$tmp/forced.err" || fail "--force gives no warning"
cmp -s "$tmp/rec.out" "$tmp/forced.out" || fail "--force replay output differs from the recording"

rc=0
timeout 60 "$rewind" replay -a "$tmp/trace" >"$tmp/orig.out" 2>/dev/null || rc=$?
[[ $rc -eq 0 ]] && cmp -s "$tmp/rec.out" "$tmp/orig.out" || fail "the unedited trace no longer replays"
echo "PASS [cpuid_mismatch]"
