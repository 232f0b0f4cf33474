#!/usr/bin/env python3
"""`rewind replay --debugger LLDB` launches LLDB connected over a Unix
socket in a private directory: the session works, no rewind process holds a
TCP socket or still listens once LLDB is in, the directory is mode 0700 and
already empty then, and it is gone afterwards.

usage: lldb_launch_test.py REWIND PROGRAM LLDB
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "gdb"))
from server import find_in_order  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rewind, program, lldb = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="rewind-lldb-")
    try:
        env = dict(os.environ, TMPDIR=tmp)
        trace = os.path.join(tmp, "trace")
        subprocess.run([rewind, "record", "-o", trace, program], env=env, check=True,
                       capture_output=True, timeout=120)
        checker = os.path.join(HERE, "..", "gdb", "listening_sockets.py")
        cmds = ["breakpoint set -n tick", "continue",
                "platform shell python3 " + checker,
                # The directory that held the socket: private, and empty
                # once LLDB is connected.
                "platform shell -- stat -c 'private dir mode %a' $TMPDIR/rewind-*",
                "platform shell -- ls -A $TMPDIR/rewind-*",
                "p counter", "kill"]
        args = [rewind, "replay", "--debugger", lldb, trace, "--", program, "-b",
                "--no-lldbinit"]
        for c in cmds:
            args += ["-o", c]
        out = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=240)
        output = out.stdout
        print(output)
        left = [e for e in os.listdir(tmp) if e.startswith("rewind-")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    expected = [
        r"stop reason = breakpoint 1\.1",
        r"tick\(i=0\)",
        r"rewind processes: 1\n",
        r"TCP sockets: 0\n",
        r"listening TCP sockets: 0\n",
        r"listening Unix sockets: 0\n",
        r"private dir mode 700\n",
        # `ls` of the empty directory prints nothing before the next command.
        r"platform shell -- ls -A \$TMPDIR/rewind-\*\n\(lldb\) p counter",
        r"\(volatile long\) 1337",
    ]
    missing = find_in_order(output, expected)
    if missing:
        print("FAIL:", missing)
        return 1
    if left:
        print("FAIL: left behind in TMPDIR: %s" % left)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
