#!/usr/bin/env python3
"""Run from inside a debugger that `rewind replay` launched (gdb's `shell`,
LLDB's `platform shell`): finds the rewind processes of this session (the
launcher, the debugger's parent, and any rewind the debugger started, such
as gdb's `rewind replay --stdio`) and prints how many sockets they listen
on, and how many TCP sockets they hold at all (a debugger connected over
TCP shows as one), from /proc/PID/fd against /proc/PID/net/{tcp,tcp6,unix}.
With --trace TRACE: the rewind processes replaying TRACE instead (the
server LLDB's plugin starts).
"""
import os


def stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    rest = text[text.rindex(")") + 2:].split()
    return comm, int(rest[1])  # comm, ppid


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if stat_fields(int(entry))[1] == pid:
                    out.append(int(entry))
            except (OSError, ValueError):
                pass
    return out


def socket_inodes(pid):
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def sockets(pid, inodes):
    """(TCP sockets, listening TCP sockets, listening Unix sockets)"""
    tcp = tcp_listen = unix = 0
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[9] in inodes:
                        tcp += 1
                        tcp_listen += cols[3] == "0A"  # TCP_LISTEN
        except OSError:
            pass
    with open("/proc/%d/net/unix" % pid) as f:
        next(f)
        for line in f:
            cols = line.split()
            if int(cols[3], 16) & 0x10000 and cols[6] in inodes:  # __SO_ACCEPTCON
                unix += 1
    return tcp, tcp_listen, unix


def by_trace(trace):
    """The rewind processes whose command line names `trace`: LLDB's plugin
    starts its server twice forked, so it is nobody's child."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if stat_fields(int(entry))[0] != "rewind":
                continue
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if trace.encode() in f.read().split(b"\0"):
                    out.append(int(entry))
        except (OSError, ValueError):
            pass
    return out


def main():
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--trace":
        pids = by_trace(sys.argv[2])
    else:
        pids = launched()
        if pids is None:
            print("rewind processes: 0 (no rewind above this shell)")
            return 1
    totals = [0, 0, 0]
    for p in pids:
        for i, n in enumerate(sockets(p, socket_inodes(p))):
            totals[i] += n
    print("rewind processes: %d" % len(pids))
    print("TCP sockets: %d" % totals[0])
    print("listening TCP sockets: %d" % totals[1])
    print("listening Unix sockets: %d" % totals[2])
    return 0


def launched():
    """The launcher above this shell's debugger, and the rewinds the
    debugger started; None if there is no rewind above."""
    # Up from this shell to the debugger, whose parent is rewind.
    pid = os.getppid()
    while pid > 1:
        comm, parent = stat_fields(pid)
        if stat_fields(parent)[0] == "rewind":
            debugger, launcher = pid, parent
            break
        pid = parent
    else:
        return None
    return [launcher] + [c for c in children(debugger) if stat_fields(c)[0] == "rewind"]


if __name__ == "__main__":
    raise SystemExit(main())
