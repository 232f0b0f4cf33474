#!/usr/bin/env python3
"""`rewind replay -d lldb` end to end: rewind becomes LLDB with its plugin
loaded, and the plugin's `rewind replay` starts the server over a
socketpair. The session works (breakpoints, a reverse line step, -g EVENT),
the one rewind process (the server) holds no TCP socket and listens on
nothing, the directory that mirrors the trace's files for LLDB is private
(0700) and gone afterwards, and nothing is left running.

usage: lldb_launch_test.py REWIND PROGRAM LLDB
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "gdb"))
from server import find_in_order, report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def run_lldb(rewind, lldb, trace, env, flags, cmds):
    args = [rewind, "replay", "-d", lldb] + flags + [trace, "--", "-b", "--no-lldbinit"]
    for c in cmds:
        args += ["-o", c]
    out = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=240)
    print(out.stdout)
    return out.stdout


def main():
    rewind, program, lldb = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="rewind-lldb-launch-")
    try:
        env = dict(os.environ, TMPDIR=tmp)
        trace = os.path.join(tmp, "trace")
        subprocess.run([rewind, "record", "-o", trace, program], env=env, check=True,
                       capture_output=True, timeout=120)
        checker = os.path.join(HERE, "..", "gdb", "listening_sockets.py")
        output = run_lldb(rewind, lldb, trace, env, [], [
            "breakpoint set -n tick", "continue", "continue", "thread step-out",
            "platform shell python3 %s --trace %s" % (checker, trace),
            "platform shell -- stat -c 'private dir mode %a' $TMPDIR/rewind-lldb-*",
            "p counter", "breakpoint delete -f", "rn", "p counter", "rewind when", "kill"])
        output_g = run_lldb(rewind, lldb, trace, env, ["-g", "40"], ["rewind when", "kill"])
        left = [e for e in os.listdir(tmp) if e.startswith("rewind-")]
        running = subprocess.run(["pgrep", "-f", trace], capture_output=True, text=True).stdout
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    expected = [
        r"rewind: replaying with the trace's copies",
        r"stop reason = breakpoint 1\.1",
        r"tick\(i=0\)",
        r"tick\(i=1\)",
        r"rewind processes: 1\n",
        r"TCP sockets: 0\n",
        r"listening TCP sockets: 0\n",
        r"listening Unix sockets: 0\n",
        r"private dir mode 700\n",
        # After tick(1) returned; then back over its call, to the start of
        # its line: tick(1) has not run there, counter is tick(0)'s again.
        r"\(volatile long\) 12034",
        r"stop reason = trace",
        r"main at debug_target\.c:20",
        r"\(volatile long\) 4011",
        r"\(lldb\) rewind when\nCurrent event: \d+\n\(lldb\) kill",
    ]
    failures = []
    missing = find_in_order(output, expected)
    if missing:
        failures.append(missing)
    missing = find_in_order(output_g, [r"Current event: 40\n"])
    if missing:
        failures.append("-g 40: " + missing)
    if left:
        failures.append("left behind in TMPDIR: %s" % left)
    if running.strip():
        failures.append("still running: %s" % running)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
