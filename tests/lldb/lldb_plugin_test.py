#!/usr/bin/env python3
"""rewind's LLDB plugin beyond line steps: a watchpoint going backwards
(LLDB's old and new values), the history boundary at both ends (at the end
LLDB keeps the process, stopped just before its exit, and can go back from
there), seek, checkpoint and restart, the errors a user meets, and symbols from
the trace's copies when the program on disk was replaced.

usage: lldb_plugin_test.py REWIND PLUGIN LLDB PROGRAM(debug_target)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "gdb"))
from server import find_in_order, report  # noqa: E402


def lldb_run(lldb, plugin, trace, env, cmds, after_stop=()):
    """`cmds` in batch mode; `after_stop`: the commands LLDB's batch mode
    runs once a stop it counts as a crash ended it (a history boundary
    reached by `continue`; one reached by a rewind command is not seen as
    one: the plugin resumes synchronously)."""
    args = [lldb, "-b", "--no-lldbinit", "-o", "plugin load " + plugin]
    for c in cmds:
        args += ["-o", c]
    for c in after_stop:
        args += ["-k", c]
    out = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=300)
    print(out.stdout)
    return out.stdout


def main():
    rewind, plugin, lldb, program = sys.argv[1:5]
    tmp = tempfile.mkdtemp(prefix="rewind-lldb-plugin-")
    failures = []
    try:
        env = dict(os.environ, TMPDIR=tmp)
        trace = os.path.join(tmp, "trace")
        subprocess.run([rewind, "record", "-o", trace, program], env=env, check=True,
                       capture_output=True, timeout=120)

        # A watchpoint backwards, then the start of the history.
        out = lldb_run(lldb, plugin, trace, env, [
            "rewind replay " + trace, "breakpoint set -n square", "continue", "continue",
            "watchpoint set variable counter", "breakpoint delete -f",
            "rc", "p counter", "rc", "p counter", "rc", "rewind when", "rn", "kill"])
        missing = find_in_order(out, [
            r"square\(x=1\)",
            r"old value: 12034\s+new value: 4011", r"stop reason = watchpoint 1",
            r"tick\(i=1\)", r"\(volatile long\) 4011",
            r"old value: 4011\s+new value: 1337", r"tick\(i=0\)", r"\(volatile long\) 1337",
            r"stop reason = history boundary", r"Current event: 1\n",
            # Nothing before the start (no line information there either).
            r"\(lldb\) rn\n(.*\n)*?.*stop reason = history boundary",
        ])
        if missing:
            failures.append("watch/start: " + missing)

        # The end: LLDB keeps the process there and goes back from it.
        out = lldb_run(lldb, plugin, trace, env, [
            "rewind replay " + trace, "breakpoint set -n square", "breakpoint disable",
            "continue"],
            after_stop=["rewind when", "breakpoint enable", "rc", "p x",
                        "rewind checkpoint", "rewind seek 40", "rewind when",
                        "rewind restart 1", "p x", "rewind checkpoints", "kill"])
        missing = find_in_order(out, [
            r"stop reason = history boundary", r"Current event: (\d+)\n",
            # Back from the end: the last call of square.
            r"square\(x=5\)", r"\(long\) 5\n",
            r"Checkpoint 1 at", r"\(lldb\) rewind seek 40\n(.*\n)*?.*stop reason = trace",
            r"Current event: 40\n", r"square\(x=5\)", r"\(long\) 5\n",
            r"1\s.*event",
        ])
        if missing:
            failures.append("end/seek/restart: " + missing)

        # Errors: each ends LLDB's batch, so one session each.
        errors = [
            (["rewind reverse-next"], r"no replay: start one with 'rewind replay TRACE'"),
            (["rewind replay " + os.path.join(tmp, "nonexistent")],
             r"trace \S*nonexistent: No such file or directory\n.*replay server ended"),
            (["rewind replay --bogus " + trace], r"unknown option --bogus"),
            (["rewind replay " + trace, "rewind seek x"], r"usage: rewind seek EVENT"),
            (["rewind replay " + trace, "rewind reverse-next -t 12345"], r"no thread 12345"),
            (["rewind replay " + trace, "rewind replay " + trace],
             r"a process is already being debugged"),
            (["rewind replay " + trace, "rewind reverse-finish"],
             r"meaningless in the outermost frame"),
        ]
        for cmds, want in errors:
            out = lldb_run(lldb, plugin, trace, env, cmds)
            missing = find_in_order(out, [want])
            if missing:
                failures.append("error for %s: %s" % (cmds[-1], missing))
        # The trace's copies, not the files on disk: the program recorded,
        # then replaced by another; every module LLDB loads is the mirror's.
        prog = os.path.join(tmp, "debug_target")
        shutil.copy(program, prog)
        trace2 = os.path.join(tmp, "trace2")
        subprocess.run([rewind, "record", "-o", trace2, prog], env=env, check=True,
                       capture_output=True, timeout=120)
        shutil.copy("/bin/true", prog)
        out = lldb_run(lldb, plugin, trace2, env, [
            "rewind replay " + trace2, "breakpoint set -n square", "continue", "image list",
            "kill"])
        missing = find_in_order(out, [r"square\(x=0\) at debug_target\.c:14"])
        if missing:
            failures.append("replaced binary: " + missing)
        modules = re.findall(r"^\[\s*\d+\] \S+ 0x[0-9a-f]+ (\S+)", out, re.M)
        outside = [m for m in modules if "/rewind-lldb-" not in m]
        if len(modules) < 3 or outside:
            failures.append("modules not from the trace: %s (of %s)" % (outside, modules))
        left = [e for e in os.listdir(tmp) if e.startswith("rewind-lldb-")]
        if left:
            failures.append("left behind in TMPDIR: %s" % left)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
