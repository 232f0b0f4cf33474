#!/usr/bin/env python3
"""`rewind replay -s PORT --host HOST` with a HOST other machines can reach
warns that anyone who reaches the port can read the recorded process's
memory; on loopback it does not. --host needs -s, and -s, --stdio and -a
exclude each other.

usage: host_warning.py REWIND PROGRAM
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from server import Client, Server, report, packet  # noqa: E402

WARNING = "anyone who can reach this port can read the recorded program's memory"


def session(rewind, program, extra_args, connect_to="127.0.0.1"):
    """The server's output up to and including its banner, after a client
    connected (to 127.0.0.1 for 0.0.0.0, which includes it) and detached."""
    srv = Server(rewind, program, extra_args)
    try:
        c = Client(srv.port, connect_to)
        ok = c.ask(packet("D")) == "OK"
        code, output = srv.wait()
        return ok and code == 0, srv.banner, srv.trace
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()


def main():
    rewind, program = sys.argv[1], sys.argv[2]
    failures = []
    tmps = []
    try:
        ok, banner, trace = session(rewind, program, ["--host", "0.0.0.0"])
        tmps.append(os.path.dirname(trace))
        print(banner)
        if not ok:
            failures.append("the server on 0.0.0.0 did not serve a client")
        if "rewind: warning: listening on 0.0.0.0: " + WARNING not in banner:
            failures.append("no warning for --host 0.0.0.0")
        for host in ("127.0.0.1", "::1"):
            ok, banner, trace = session(rewind, program, ["--host", host], host)
            tmps.append(os.path.dirname(trace))
            if not ok or WARNING in banner:
                failures.append("--host %s: served=%s, banner %r" % (host, ok, banner))
        for args in (["--host", "0.0.0.0"], ["--stdio", "-s", "0"], ["-a", "--stdio"]):
            r = subprocess.run([rewind, "replay"] + args + [trace], capture_output=True,
                               text=True, timeout=60)
            if r.returncode != 2:
                failures.append("replay %s: exit %d, not a usage error: %s"
                                % (" ".join(args), r.returncode, r.stderr))
    finally:
        for t in tmps:
            shutil.rmtree(t, ignore_errors=True)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
