#!/usr/bin/env python3
"""vFile serves the recording's files and nothing else of the server's
machine: the server may run as root for a user who cannot read /etc/shadow.
Straight to the real server's socket: paths outside the trace get an error
reply (EACCES or ENOENT), while the recorded program and its libraries, and
installed separate debug info by build-id, still open and read.

usage: vfile_confinement.py REWIND PROGRAM
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from server import Client, Server, report, packet  # noqa: E402

FIO_ENOENT, FIO_EACCES = 2, 13
BUILD_ID_DIR = "/usr/lib/debug/.build-id"


def vfile_open(c, path):
    return c.ask(packet("vFile:open:%s,0,0" % path.encode().hex()))


def libc_path():
    """This python's libc: the recorded C program maps the same file."""
    with open("/proc/self/maps") as f:
        for line in f:
            if "/libc.so.6" in line:
                return line[line.index("/"):].strip()
    raise RuntimeError("no libc in /proc/self/maps")


def installed_debug_file():
    for root, _, files in os.walk(BUILD_ID_DIR):
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.isfile(path) and not os.path.islink(path):
                return path
    return None


def main():
    rewind, program = sys.argv[1], sys.argv[2]
    srv = Server(rewind, program)
    failures = []
    try:
        # Files this machine has and the recording never saw, readable by
        # whoever runs the server.
        secret = os.path.join(srv.tmp, "secret")
        with open(secret, "w") as f:
            f.write("not for the debugger\n")
        link = os.path.join(srv.tmp, "link")
        os.symlink(secret, link)
        shadow_link = os.path.join(srv.tmp, "shadow-link")
        os.symlink("/etc/shadow", shadow_link)
        refused = [
            "/etc/shadow", "/etc/passwd", secret, link, shadow_link,
            "/proc/self/environ", "/proc/self/maps", "/proc/self/mem",
            "../../../../../../../../etc/shadow",
            BUILD_ID_DIR + "/../../../../etc/shadow",
            BUILD_ID_DIR + "/../../../.." + secret,
            BUILD_ID_DIR,
        ]

        c = Client(srv.port)
        c.ask(packet("qSupported:multiprocess+"))
        for path in refused:
            reply = vfile_open(c, path)
            m = re.fullmatch(r"F-1,([0-9a-f]+)", reply)
            if not m or int(m.group(1), 16) not in (FIO_ENOENT, FIO_EACCES):
                failures.append("vFile:open of %s: expected ENOENT or EACCES, got %r"
                                % (path, reply))

        served = [program, libc_path()]
        debug = installed_debug_file()
        if debug:
            served.append(debug)
        else:
            print("note: no separate debug info installed under %s" % BUILD_ID_DIR)
        for path in served:
            reply = vfile_open(c, path)
            if not re.fullmatch(r"F[0-9a-f]+", reply) or reply.startswith("F-"):
                failures.append("vFile:open of %s: expected a file number, got %r"
                                % (path, reply))
                continue
            fd = reply[1:]
            head = c.ask(packet("vFile:pread:%s,4,0" % fd))
            if head != "F4;\x7fELF":
                failures.append("vFile:pread of %s: expected an ELF header, got %r"
                                % (path, head))
            c.ask(packet("vFile:close:%s" % fd))

        if c.ask(packet("D")) != "OK":
            failures.append("detach was not acknowledged")
        code, output = srv.wait()
        print(output)
    finally:
        srv.close()
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
