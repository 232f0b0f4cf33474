#!/usr/bin/env python3
"""Captures what real gdb and LLDB clients send to rewind's server, as the
packet lists of rsp_sessions.txt (make_seeds.cc turns those into fuzz_rsp
seeds).

usage: capture_rsp_sessions.py REWIND PROGRAM > captured.txt

PROGRAM is tests/programs/debug_target. Each session records it, starts
`rewind replay -s 0`, and drives a debugger through breakpoints, watchpoints,
steps, reverse execution, memory and register writes, inferior calls,
monitor commands and file reads (gdb's vFile). The server's own packet log
(REWIND_LOG=packets) gives the packets as they arrived, already in
rsp_sessions.txt's escaping; packets it cuts short (over 400 bytes) are left
out. A packet repeated verbatim is kept once, which keeps the seeds small
without losing a kind.
The result depends on the debugger versions (here gdb 13.1, LLDB 22), which
is why it is checked in rather than made at build time.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

GDB_FORWARD = [
    "break tick", "continue", "continue", "info registers rip", "x/8xb $pc", "p/x $rsp",
    "set var counter = 7", "p counter", "next", "step", "finish", "info threads",
    "hbreak square", "continue", "delete", "watch counter", "continue", "delete",
    "rwatch counter", "awatch counter", "continue", "delete",
    "monitor when", "monitor checkpoint", "monitor info checkpoints", "monitor help",
    "kill",
]
GDB_REVERSE = [
    "break tick", "continue", "continue", "continue", "reverse-continue", "reverse-step",
    "reverse-next", "reverse-finish", "monitor seek 3", "maintenance flush register-cache",
    "p square(3)", "p $rip", "set var $rax = 5", "info sharedlibrary", "run", "continue",
    "detach",
]
LLDB_SESSION = [
    "breakpoint set -n tick", "continue", "register read rip rsp", "memory read -c 16 $pc",
    "expression counter = 5", "thread step-over", "thread step-in", "thread list",
    "watchpoint set variable counter", "continue", "watchpoint delete",
    "process plugin packet monitor when", "image list", "process kill",
]


def serve(rewind, program, tmp):
    """Records PROGRAM and starts a server on the trace that logs packets."""
    trace = os.path.join(tmp, "trace")
    subprocess.run([rewind, "record", "-o", trace, program], check=True,
                   capture_output=True, timeout=120)
    log = open(os.path.join(tmp, "server.log"), "w")
    proc = subprocess.Popen([rewind, "replay", "-s", "0", trace], stdout=subprocess.PIPE,
                            stderr=log, text=True, env=dict(os.environ, REWIND_LOG="packets"))
    for _ in range(5):
        m = re.search(r"waiting for a debugger on 127\.0\.0\.1:(\d+)", proc.stdout.readline())
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise RuntimeError("the server printed no port")


def received_packets(log):
    """The packets the server's log shows arriving, in rsp_sessions.txt form."""
    packets = []
    for line in open(log, encoding="latin-1"):
        m = re.match(r"\[packets\] <- (.*)$", line.rstrip("\n"))
        if not m:
            continue
        body = m.group(1)
        if body.startswith("^C"):
            packets.append("^C")
        elif body.startswith("- (resending)"):
            packets.append("!-")
        elif not re.search(r"\.\.\. \(\d+ bytes\)$|^packet with a bad checksum|^unusable packet", body):
            packets.append(body)  # the log cuts long packets: those are left out
    return packets


def session(rewind, program, client_args):
    tmp = tempfile.mkdtemp(prefix="rewind-capture-")
    try:
        proc, port = serve(rewind, program, tmp)
        subprocess.run([a.replace("@PORT@", str(port)) for a in client_args],
                       capture_output=True, timeout=300)
        proc.kill()
        proc.wait()
        return received_packets(os.path.join(tmp, "server.log"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def gdb_args(program, commands):
    args = ["gdb", "-batch", "-nx", "-ex", "target extended-remote 127.0.0.1:@PORT@"]
    for c in commands:
        args += ["-ex", c]
    return args + [program]


def lldb_args(lldb, program):
    args = [lldb, "-b", "--no-lldbinit", "-o", "gdb-remote 127.0.0.1:@PORT@"]
    for c in LLDB_SESSION:
        args += ["-o", c]
    return args + [program]


def as_fake_pid(packets):
    """Writes the recorded process id as FakeTarget's (0x100), so that the
    thread ids in the seeds name threads fuzz_rsp's target has."""
    pid = next((m.group(1) for p in packets for m in [re.match(r"qAttached:([0-9a-f]+)$", p)]
                if m), None) or next((m.group(1) for p in packets
                                      for m in [re.match(r"Hg([0-9a-f]+)$", p)] if m), None)
    if not pid:
        return packets
    token = re.compile(r"(?<=[p.:;gc])%s(?=[.;,:]|$)" % pid)
    return [token.sub("100", p) for p in packets]


def once(packets):
    seen, out = set(), []
    for p in packets:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def main():
    rewind, program = sys.argv[1], sys.argv[2]
    lldb = shutil.which("lldb-22") or shutil.which("lldb")
    sessions = [("gdb-forward", session(rewind, program, gdb_args(program, GDB_FORWARD))),
                ("gdb-reverse", session(rewind, program, gdb_args(program, GDB_REVERSE)))]
    if lldb:
        sessions.append(("lldb", session(rewind, program, lldb_args(lldb, program))))
    for name, packets in sessions:
        print("== %s 0" % name)
        for p in once(as_fake_pid(packets)):
            print(p)
        print()


if __name__ == "__main__":
    main()
