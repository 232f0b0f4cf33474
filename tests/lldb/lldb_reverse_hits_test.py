#!/usr/bin/env python3
"""LLDB 22 against the replay server: from a breakpoint after a loop that
calls step(i) for i in 0..999, `breakpoint set -n step` and
`process continue --reverse` must stop at the last hit, step(i=999), and a
second one at step(i=998) (as gdb's reverse-continue does).

rdi is checked as well as LLDB's `i`: LLDB puts `-n step` on the function's
first instruction when the whole function is on one line, and at -O0 `i`
lives in a stack slot that the prologue has not yet written there, so LLDB
shows the previous call's value (998 at the hit for 999) although the
replay stands at the right hit. The test programs build with -O1, where `i`
is rdi and both agree.

usage: lldb_reverse_hits_test.py REWIND PROGRAM(debug_hits) LLDB
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "gdb"))
from server import Server, find_in_order, lldb_batch  # noqa: E402


def main():
    rewind, program, lldb = sys.argv[1:4]
    srv = Server(rewind, program)
    try:
        cmds = ["breakpoint set -f debug_hits.c -l 12",  # the printf after the loop
                "continue",
                # Only the program's step: glibc has a function of that name too.
                "breakpoint set -s debug_hits -n step",
                "process continue --reverse", "frame variable i", "register read rdi",
                "process continue --reverse", "frame variable i", "register read rdi",
                "kill"]
        output = lldb_batch(lldb, program, srv.port, cmds)
        _, server_output = srv.wait()
        print(server_output)
    finally:
        srv.close()
    expected = [
        r"stop reason = breakpoint 1\.1",
        r"debug_hits\.c:12",
        r"stop reason = breakpoint 2\.1",
        r"step\(i=999\)",
        r"\(long\) i = 999",
        r"rdi = 0x0*3e7\b",  # the argument itself, whatever LLDB's view of i
        r"stop reason = breakpoint 2\.1",
        r"step\(i=998\)",
        r"\(long\) i = 998",
        r"rdi = 0x0*3e6\b",
    ]
    missing = find_in_order(output, expected)
    if missing:
        print("FAIL:", missing)
        return 1
    if re.search(r"step\(i=99[0-7]\)", output):
        print("FAIL: a stop at an earlier hit")
        return 1
    if "failed:" in server_output:
        print("FAIL: the server reported a failure")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
