#!/usr/bin/env python3
"""LLDB 22 against the replay server: stopped at a breakpoint on the line
that writes the global g, `watchpoint set variable g`, then continue. LLDB
steps over the breakpoint first; the write of 42 made during that step is
the watchpoint's first hit (old 1, new 42), the write of 1337 its second.

usage: lldb_watch_step_test.py REWIND PROGRAM(debug_stepwatch) LLDB
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "gdb"))
from server import Server, find_in_order, lldb_batch  # noqa: E402


def main():
    rewind, program, lldb = sys.argv[1:4]
    srv = Server(rewind, program)
    try:
        cmds = ["breakpoint set -f debug_stepwatch.c -l 11",  # g = 42;
                "continue",
                "watchpoint set variable g",
                "continue", "p g",
                "continue", "p g",
                "kill"]
        output = lldb_batch(lldb, program, srv.port, cmds)
        _, server_output = srv.wait()
        print(server_output)
    finally:
        srv.close()
    expected = [
        r"stop reason = breakpoint 1\.1",
        r"debug_stepwatch\.c:11",
        r"Watchpoint created",
        r"Watchpoint 1 hit:\s*old value: 1\s*new value: 42",
        r"stop reason = watchpoint 1",
        r"\(volatile long\) 42",
        r"Watchpoint 1 hit:\s*old value: 42\s*new value: 1337",
        r"stop reason = watchpoint 1",
        r"\(volatile long\) 1337",
    ]
    missing = find_in_order(output, expected)
    if missing:
        print("FAIL:", missing)
        return 1
    if "failed:" in server_output:
        print("FAIL: the server reported a failure")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
