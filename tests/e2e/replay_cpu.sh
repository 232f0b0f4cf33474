#!/usr/bin/env bash
# Replay runs the program on the CPU the recording ran on. The program prints
# the APIC id CPUID reports (read live in replay, as CPUID is not trapped);
# each of several replays, each pinned anew, must print the recorded one.
# Before replay followed the recorded CPU, each replay had a 1 in (number of
# CPUs) chance of landing on the same one.
#
# usage: replay_cpu.sh REWIND PROG
set -euo pipefail
rewind=$1 prog=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin replay_cpu cpu

timeout 60 "$rewind" record -o "$tmp/trace" "$prog" >"$tmp/rec.out" || fail "recording failed"
cat "$tmp/rec.out"
cpu=$("$rewind" info "$tmp/trace" | sed -n 's/^ *"record_cpu": \(-\?[0-9]*\),\?$/\1/p')
[[ $cpu =~ ^[0-9]+$ ]] || fail "the header does not name the recording's CPU (got '$cpu')"
echo "recorded on CPU $cpu"
for i in 1 2 3 4 5 6; do
  timeout 60 "$rewind" replay -a "$tmp/trace" >"$tmp/rep.out" 2>"$tmp/rep.err" ||
    { cat "$tmp/rep.err" >&2; fail "replay $i failed"; }
  cmp -s "$tmp/rec.out" "$tmp/rep.out" ||
    fail "replay $i ran on another CPU: $(cat "$tmp/rep.out") (recorded: $(cat "$tmp/rec.out"))"
done
echo "PASS [replay_cpu]"
