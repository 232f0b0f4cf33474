#!/usr/bin/env bash
# Checks that syscall buffering happens: a program making thousands of
# cheap syscalls records most of them in its buffer (`rewind dump` shows them
# as BUFFERED lines, not as syscall events), and none with record -n, and
# both traces replay with the recorded output.
#
# usage: syscallbuf.sh REWIND PROG
set -euo pipefail
rewind=$1 prog=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin syscallbuf

record_both "$rewind" "$prog"
# The header tells replay to run the buffered trace under its seccomp filter.
filter() { "$rewind" info "$tmp/$1" | sed -n 's/^ *"syscall_filter": \([a-z]*\),\?$/\1/p'; }
[[ $(filter buffered) == true && $(filter nobuf) == false ]] ||
  fail "syscall_filter in the headers: buffered $(filter buffered), -n $(filter nobuf)"
buffered=$(grep -c ' BUFFERED ' "$tmp/buffered.dump" || true)
traced=$(grep -c 'SYSCALL_ENTRY getpid' "$tmp/buffered.dump" || true)
nobuf_buffered=$(grep -c ' BUFFERED ' "$tmp/nobuf.dump" || true)
nobuf_traced=$(grep -c 'SYSCALL_ENTRY getpid' "$tmp/nobuf.dump" || true)
echo "buffered: $buffered buffered, $traced getpid events; -n: $nobuf_buffered, $nobuf_traced"
# 2000 iterations of 6 bufferable syscalls, and 2000 reads.
[[ $buffered -ge 12000 ]] || fail "only $buffered syscalls were buffered"
[[ $traced -le 10 ]] || fail "$traced getpid calls were traced despite buffering"
[[ $nobuf_buffered -eq 0 ]] || fail "record -n buffered $nobuf_buffered syscalls"
[[ $nobuf_traced -ge 2000 ]] || fail "record -n traced only $nobuf_traced getpid calls"
grep -q ' BUFFERED getdents64 = ' "$tmp/buffered.dump" || fail "getdents64 was not buffered"
for nr in rt_sigprocmask prlimit64 sysinfo getrusage; do
  grep -q " BUFFERED $nr = 0" "$tmp/buffered.dump" || fail "$nr was not buffered"
done
# Questions about handlers are buffered (50 x 31 of the program's, and the
# spawned child's), and so are changes: replay's library makes the real
# ones again (the program's first SIGUSR1 handler; the spawned child's reset
# of it and its two internal signals), not those that change nothing (20 +
# 20, and most of the child's). The replay above checks that the real ones
# took effect: the program raises SIGUSR1 and counts its handler's calls.
questions=$(grep -c ' BUFFERED rt_sigaction = 0' "$tmp/buffered.dump" || true)
[[ $questions -ge 1630 ]] || fail "only $questions rt_sigaction calls were buffered"
changes=$(grep -c ' BUFFERED rt_sigaction = 0 (a change, made again in replay)' "$tmp/buffered.dump" || true)
[[ $changes -ge 2 && $changes -le 6 ]] ||
  fail "$changes buffered rt_sigaction calls marked as changes, want the 2 to 6 real ones"
sets() { grep -c "SYSCALL_ENTRY rt_sigaction($1, 0x[0-9a-f]*[1-9a-f][0-9a-f]*, " "$tmp/buffered.dump" || true; }
usr1=$(sets 0xa) usr2=$(sets 0xc)
[[ $usr1 -eq 0 && $usr2 -eq 0 ]] || fail "$usr1 SIGUSR1 and $usr2 SIGUSR2 handler settings were traced"
echo "PASS [syscallbuf]"
