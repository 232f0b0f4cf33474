#!/usr/bin/env python3
"""LLDB 22 against the replay server: forward debugging, then
`process continue --reverse` back to an earlier breakpoint hit and to the
start of history (LLDB's "history boundary").

usage: lldb_test.py REWIND PROGRAM LLDB
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "gdb"))
from server import Server, find_in_order, lldb_batch  # noqa: E402


def main():
    rewind, program, lldb = sys.argv[1:4]
    srv = Server(rewind, program)
    try:
        cmds = ["breakpoint set -n tick",
                "continue", "continue", "p counter",
                "process continue --reverse", "p counter",
                "breakpoint delete 1",
                "process continue --reverse",
                "kill"]
        output = lldb_batch(lldb, program, srv.port, cmds)
        srv.wait()
    finally:
        srv.close()
    expected = [
        r"stop reason = breakpoint 1\.1",
        r"tick\(i=0\)",
        r"tick\(i=1\)",
        r"\(volatile long\) 4011",
        r"tick\(i=0\)",              # reverse-continue: the previous hit
        r"\(volatile long\) 1337",
        r"stop reason = history boundary",
    ]
    missing = find_in_order(output, expected)
    if missing:
        print("FAIL:", missing)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
