#!/usr/bin/env python3
"""Malformed packets go straight to the replay server's socket: each gets an
error (or, for an unknown packet, an empty) reply, the server keeps serving,
and a client that disconnects leaves no tracee behind.

usage: malformed_packets.py REWIND PROGRAM
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from server import Client, Server, report, packet  # noqa: E402


def main():
    rewind, program = sys.argv[1], sys.argv[2]
    srv = Server(rewind, program)
    failures = []
    try:
        c = Client(srv.port)
        if not c.ask(packet("qSupported:multiprocess+")).startswith("PacketSize="):
            failures.append("qSupported did not answer")
        cases = {
            "m with non-hex address": packet("mzzzz,4"),
            "m without a length": packet("m1000"),
            "m of an unmapped address": packet("m8,4"),
            "M whose data is short": packet("M1000,8:00"),
            "Z without fields": packet("Z0"),
            "p of register 9999": packet("p270f"),
            "vCont with a bad action": packet("vCont;q"),
            "H with garbage": packet("Hgzz"),
            "qXfer of an unknown annex": packet("qXfer:features:read:nope.xml:0,100"),
            "qRcmd with odd hex": packet("qRcmd,abc"),
            "vFile:pread on a bad fd": packet("vFile:pread:99,10,0"),
            # One piece per 8 bytes would be 2^61 pieces: must be refused,
            # not allocated.
            "Z2 over the whole address space": packet("Z2,0,ffffffffffffffff"),
            "Z2 of 2^63 bytes": packet("Z2,1000,8000000000000000"),
        }
        for name, raw in cases.items():
            reply = c.ask(raw)
            # A refused resume may first tell why as console output.
            while reply.startswith("O") and reply != "OK":
                reply = c.read_reply()
            if not (reply.startswith("E") or reply.startswith("F-1")):
                failures.append("%s: expected an error reply, got %r" % (name, reply))
        if c.ask(packet("qNoSuchPacket")) != "":
            failures.append("an unknown packet must get an empty reply")
        # The RSP answers an unsupported breakpoint type with an empty reply.
        if c.ask(packet("Z9,1000,1")) != "":
            failures.append("an unsupported Z type must get an empty reply")
        # A packet with a wrong checksum is refused with '-' in ack mode.
        c.sock.sendall(b"$g#00")
        nack = c.sock.recv(1)
        if nack != b"-":
            failures.append("a bad checksum got %r, not '-'" % nack)
        # Still serving: the registers can be read.
        regs = c.ask(packet("g"))
        if len(regs) < 16 or regs.startswith("E"):
            failures.append("the server stopped serving after bad packets: %r" % regs)
        # Vanish mid-session, as a crashing debugger would.
        c.sock.close()
        code, output = srv.wait()
        print(output)
        if srv.tracees_left():
            failures.append("tracees left after the client vanished: %s" % srv.tracees_left())
    finally:
        srv.close()
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
