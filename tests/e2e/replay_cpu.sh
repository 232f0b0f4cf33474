#!/usr/bin/env bash
# cpuid answers come from the trace. The program executes cpuid itself in
# three threads and prints the APIC ids and the rdrand and rdseed bits; each
# of several replays, pinned in turn to every CPU of this machine (--cpu),
# must print what the recording printed, and the recording must have seen
# rdrand and rdseed hidden. Before cpuid was trapped, a replay on another
# CPU printed that CPU's APIC id, and on these VMs even the same vCPU's id
# changed between runs.
#
# usage: replay_cpu.sh REWIND PROG
set -euo pipefail
rewind=$1 prog=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin replay_cpu cpu

"$prog" >"$tmp/native.out" || fail "the program failed natively"
echo "natively:"
cat "$tmp/native.out"
timeout 60 "$rewind" record -o "$tmp/trace" "$prog" >"$tmp/rec.out" || fail "recording failed"
echo "recorded:"
cat "$tmp/rec.out"
[[ $(wc -l <"$tmp/rec.out") == 3 ]] || fail "the recording printed $(wc -l <"$tmp/rec.out") lines, not 3"
! grep -qE 'rdrand 1|rdseed 1' "$tmp/rec.out" || fail "CPUID told the recorded program about rdrand or rdseed"
# The program's own cpuid sites were trapped: one event per report, at least.
n=$("$rewind" dump "$tmp/trace" | grep -c ' CPUID 0x1/') || true
[[ $n -ge 3 ]] || fail "the trace holds $n cpuid events of leaf 1, expected 3 or more"
ncpu=$(nproc)
for i in 1 2 3 4 5 6; do
  cpu=$(((i - 1) % ncpu))
  timeout 60 "$rewind" replay -a --cpu "$cpu" "$tmp/trace" >"$tmp/rep.out" 2>"$tmp/rep.err" ||
    { cat "$tmp/rep.err" >&2; fail "replay $i (on CPU $cpu) failed"; }
  cmp -s "$tmp/rec.out" "$tmp/rep.out" ||
    { diff "$tmp/rec.out" "$tmp/rep.out" >&2 || true; fail "replay $i on CPU $cpu printed other CPUID answers"; }
done
echo "PASS [replay_cpu]"
