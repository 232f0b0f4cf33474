#!/usr/bin/env python3
"""SIGINT from the terminal: records tests/programs/sigint_terminal on a
pseudo-terminal and types Ctrl-C twice (the terminal sends SIGINT to the
whole foreground process group, rewind included). The first reaches the
program's handler, the second kills it; rewind must keep recording through
both and exit as the program did (128 + SIGINT). Replay must print the same
and end the same way.

usage: terminal_sigint.py REWIND PROGRAM
"""
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile


def read_until(fd, text, timeout=60):
    got = b""
    while text.encode() not in got:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise SystemExit(f"FAIL: no {text!r} on the terminal; got {got!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            chunk = b""
        if not chunk:
            raise SystemExit(f"FAIL: terminal closed before {text!r}; got {got!r}")
        got += chunk
    return got


def main():
    rewind, program = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="rewind-sigint-")
    trace = os.path.join(tmp, "trace")
    try:
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(rewind, [rewind, "record", "-o", trace, program])
        out = read_until(fd, "ready 1")
        os.write(fd, b"\x03")
        out += read_until(fd, "ready 2")
        os.write(fd, b"\x03")
        while True:  # the rest, until the terminal closes
            ready, _, _ = select.select([fd], [], [], 60)
            if not ready:
                raise SystemExit("FAIL: the recording did not end after the second Ctrl-C")
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        rec_rc = os.waitstatus_to_exitcode(status)
        text = out.decode(errors="replace")
        print(f"recorded on a terminal: exit {rec_rc}\n{text}")
        if "got SIGINT in the handler" not in text or rec_rc != 130:
            raise SystemExit("FAIL: the recording did not see Ctrl-C as expected")
        rep = subprocess.run([rewind, "replay", "-a", trace], capture_output=True, timeout=120)
        rep_out = rep.stdout.decode(errors="replace")
        print(f"replayed: exit {rep.returncode}\n{rep_out}{rep.stderr.decode(errors='replace')}")
        want = ["ready 1", "got SIGINT in the handler", "ready 2"]
        if rep_out.split() != " ".join(want).split() or rep.returncode != 130:
            raise SystemExit("FAIL: the replay differs from the recording")
        print("PASS")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
