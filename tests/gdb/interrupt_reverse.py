#!/usr/bin/env python3
"""Ctrl-C during a long reverse operation.

Records debug_hot (a million loop iterations with no syscall), runs to the
end of the loop in gdb/MI, sets a read watchpoint on a variable the loop
reads every iteration (a read leaves no trace in memory, so the search
single-steps, which takes minutes) and reverse-continues; as soon as gdb
reports the target running, it interrupts. The server must stop the search,
report SIGINT at the position it started from, and go on working:
reverse-continue to a breakpoint afterwards lands on the last hit.

usage: interrupt_reverse.py REWIND PROGRAM GDB
"""
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import report  # noqa: E402


class Mi:
    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env)
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.append(line)
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def wait_for(self, pattern, timeout):
        """The first line matching `pattern` within `timeout` seconds."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no line matching %r within %d s" % (pattern, timeout))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise EOFError("gdb exited while waiting for %r" % pattern)
            if rx.search(line):
                return line


def main():
    rewind, program, gdb = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="rewind-interrupt-")
    env = dict(os.environ, TMPDIR=tmp)
    failures = []
    mi = None
    try:
        trace = os.path.join(tmp, "trace")
        rec = subprocess.run([rewind, "record", "-o", trace, program], env=env,
                             capture_output=True, text=True, timeout=120)
        if rec.returncode != 0:
            return report(["recording failed: " + rec.stderr])
        mi = Mi([rewind, "replay", "--debugger", gdb, trace, "--", "-nx",
                 "--interpreter=mi3", "-iex", "set mi-async on"], env)
        mi.send("-break-insert debug_hot.c:19")
        mi.wait_for(r"^\^done,bkpt=", 120)
        mi.send("-exec-continue")
        mi.wait_for(r'^\*stopped,reason="breakpoint-hit"', 120)
        mi.send("-break-delete")
        mi.wait_for(r"^\^done", 60)
        mi.send("-break-watch -r total")
        mi.wait_for(r"^\^done,hw-rwpt=", 60)
        mi.send("-exec-continue --reverse")
        mi.wait_for(r"^\*running", 60)
        sent = time.monotonic()
        mi.send("-exec-interrupt")
        stopped = mi.wait_for(r"^\*stopped", 60)
        took = time.monotonic() - sent
        print("the interrupt stopped the reverse search after %.2f s" % took)
        if 'signal-name="SIGINT"' not in stopped:
            failures.append("the stop after the interrupt is not SIGINT: " + stopped)
        if 'line="19"' not in stopped:
            failures.append("the interrupt moved the debugger: " + stopped)
        # The replay is still usable, at the position it reported.
        mi.send("-break-delete")
        mi.wait_for(r"^\^done", 60)
        mi.send("-break-insert step")
        mi.wait_for(r"^\^done,bkpt=", 60)
        mi.send("-exec-continue --reverse")
        hit = mi.wait_for(r"^\*stopped", 120)
        if not re.search(r'reason="breakpoint-hit".*func="step".*value="999999"', hit):
            failures.append("reverse-continue after the interrupt: " + hit)
        mi.send("-gdb-exit")
    except (TimeoutError, EOFError) as e:
        failures.append(str(e))
    finally:
        if mi:
            if mi.proc.poll() is None:
                mi.proc.kill()
            mi.proc.wait()
            print("".join(mi.log[-60:]))
        shutil.rmtree(tmp, ignore_errors=True)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
