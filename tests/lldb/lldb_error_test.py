#!/usr/bin/env python3
"""LLDB 22 against the replay server: a reverse-continue that fails (back
to a breakpoint never hit, with the trace's copy of libc, which replaying
from the start maps again, removed) must tell LLDB why, leave the program where it was, and keep the
session: forward debugging goes on. The server's stderr names the failure.

usage: lldb_error_test.py REWIND PROGRAM(debug_target) LLDB
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "gdb"))
from server import Server, find_in_order  # noqa: E402


def main():
    rewind, program, lldb = sys.argv[1:4]
    srv = Server(rewind, program)
    try:
        cmds = ["target create " + program,
                "gdb-remote 127.0.0.1:%d" % srv.port,
                "breakpoint set -n tick",
                "continue", "continue", "p counter",
                # Back to a breakpoint never hit (exit): every stretch back
                # to the start is replayed, and the first maps libc. (Not
                # back to tick: a mark that a slow replay left after libc
                # was mapped would serve that one without libc.)
                "breakpoint disable 1", "breakpoint set -n exit",
                # LLDB's own breakpoint on _dl_debug_state (internal -3,
                # its second shared-library-event one) is hit after libc is
                # mapped: where a slow replay left a mark between the two,
                # the search found that hit without libc, LLDB went on
                # back from there, and the failure came at ld.so's start,
                # not where the test stood (a CI run under load).
                "breakpoint disable -- -3",
                "platform shell rm %s/files/libc.so.6-*" % srv.trace,
                "process continue --reverse"]
        # The failed operation is an abnormal stop (its reason an
        # "exception"), after which batch mode runs the -k commands. LLDB
        # keeps the last direction: -F goes forward again.
        after = ["p counter", "breakpoint enable 1", "process continue -F", "p counter", "kill"]
        args = [lldb, "-b", "--no-lldbinit"]
        for c in cmds:
            args += ["-o", c]
        for c in after:
            args += ["-k", c]
        out = subprocess.run(args, capture_output=True, text=True, timeout=240,
                             stdin=subprocess.DEVNULL)
        output = out.stdout + out.stderr
        print(output)
        _, server_output = srv.wait()
        print(server_output)
    finally:
        srv.close()
    expected = [
        r"tick\(i=1\)",
        r"\(volatile long\) 4011",
        r"stop reason = rewind: reverse-continue: .*libc\.so\.6.*No such file or directory",
        r"tick\(i=1\)",                 # where it was
        r"\(volatile long\) 4011",
        r"tick\(i=2\)",                 # and forward from there
        r"\(volatile long\) 12034",
    ]
    failures = []
    missing = find_in_order(output, expected)
    if missing:
        failures.append(missing)
    if "lost connection" in output:
        failures.append("LLDB lost the process")
    if "not a currently valid breakpoint ID" in output:
        failures.append("LLDB numbers its internal breakpoints otherwise now: find "
                        "_dl_debug_state's in 'breakpoint list -i'")
    reason = "bc failed: reverse-continue: "
    if server_output.count(reason) != 1:
        failures.append("the server's stderr has %r %d times, not once" %
                        (reason, server_output.count(reason)))
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
