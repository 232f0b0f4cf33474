#!/usr/bin/env python3
"""The latency of each reverse command in LLDB (rewind's plugin) next to
gdb's for the same operation, on the same trace, from the same position.
Each debugger times its own commands with its embedded Python; the
positions reached are compared (function, pc, event), so a fast wrong
answer shows as FAIL. Medians of RUNS sessions per debugger.

usage: lldb_bench.py REWIND PLUGIN GDB LLDB WORKDIR RUNS
  LLDB_BENCH_CASES  comma-separated case-name prefixes to run (default all)
  WORKDIR holds hot_loop, bump4 (bench/*.c, -O1 -g) and their traces.
"""
import os
import re
import statistics
import subprocess
import sys

# case: (trace, setup [(gdb, lldb)], timed ops [(label, gdb, lldb)])
CASES = {
    # A syscall-free loop of 10^7 calls: the line after the loop is where
    # stepping back is hardest (the instruction before ran 10^7 iterations
    # after the last event).
    "hot_loop 1e7": ("loop7.trace",
                     [("break hot_loop.c:21", "breakpoint set -f hot_loop.c -l 21"),
                      ("continue", "continue"), ("delete", "breakpoint delete -f")],
                     [("reverse-next", "reverse-next", "rn"),
                      ("reverse-stepi", "reverse-stepi", "rsi"),
                      ("reverse-continue", "break body\nreverse-continue",
                       "breakpoint set -n body\nrc"),
                      ("reverse-finish", "reverse-finish", "rf"),
                      ("reverse-step", "reverse-step", "rs"),
                      # From the line's start: back round the loop into the
                      # previous iteration's body(), to its last line.
                      ("reverse-step", "reverse-step", "rs"),
                      ("reverse-next", "reverse-next", "rn")]),
    # 4 threads, 80,000 calls under a mutex, from the line after main's
    # join_all(): back to the last bump() (another thread), out of it, and
    # a line back in that worker.
    "threads": ("threads.trace",
                [("break bump4.c:42", "breakpoint set -f bump4.c -l 42"),
                 ("continue", "continue"), ("delete", "breakpoint delete -f")],
                [("reverse-continue", "break bump\nreverse-continue", "breakpoint set -n bump\nrc"),
                 ("reverse-finish", "reverse-finish", "rf"),
                 ("reverse-next", "delete\nreverse-next", "breakpoint delete -f\nrn")]),
    # The same, back over the join_all() line, which spans the workers'
    # whole run.
    "threads join": ("threads.trace",
                     [("break bump4.c:42", "breakpoint set -f bump4.c -l 42"),
                      ("continue", "continue"), ("delete", "breakpoint delete -f")],
                     [("reverse-next", "reverse-next", "rn"),
                      ("reverse-stepi", "reverse-stepi", "rsi")]),
    # python3 (stripped: .dynsym names only). From the third getpid():
    # a step back into the PLT, back to the previous getpid(), and a step
    # back from there. (Not reverse-finish: gdb leaves getpid through the
    # PLT and then misreads the stripped caller's frame, stopping at an
    # earlier call than the one that made this getpid, where LLDB stops
    # at the right one: not the same operation.)
    "python3": ("python.trace",
                [("break getpid", "breakpoint set -K false -n getpid"), ("continue", "continue"),
                 ("continue", "continue"), ("continue", "continue"),
                 ("delete", "breakpoint delete -f")],
                [("reverse-stepi", "reverse-stepi", "rsi"),
                 ("reverse-continue", "break getpid\nreverse-continue",
                  "breakpoint set -K false -n getpid\nrc"),
                 ("reverse-stepi", "delete\nreverse-stepi", "breakpoint delete -f\nrsi")]),
}

ENGINE_FAILURE = re.compile(r"did not come back|diverged|bs failed|reverse line step: ")

# A session that runs longer is cut off; its untimed commands show as HANG.
LIMIT_S = 300

GDB_AT = ("python f = gdb.selected_frame(); print('AT %s 0x%x' % (f.name(), f.pc()))")
LLDB_AT = ("script f = lldb.debugger.GetSelectedTarget().GetProcess().GetSelectedThread()"
           ".GetFrameAtIndex(0); print('AT %s 0x%x' % (f.GetFunctionName(), f.GetPC()))")


def session(kind, rewind, plugin, dbg, trace, setup, ops):
    if kind == "gdb":
        args = [dbg, "-nx", "-batch", "-ex", "set remotetimeout unlimited",
                "-ex", "target extended-remote | %s replay --stdio %s" % (rewind, trace),
                "-ex", "python import time"]
        flag = "-ex"
    else:
        args = [dbg, "-b", "--no-lldbinit", "-o", "plugin load " + plugin,
                "-o", "rewind replay " + trace, "-o", "script import time"]
        flag = "-o"
    for g, l in setup:
        args += [flag, g if kind == "gdb" else l]
    for label, g, l in ops:
        cmds = (g if kind == "gdb" else l).split("\n")
        for c in cmds[:-1]:
            args += [flag, c]
        start = "python t0 = time.time()" if kind == "gdb" else "script t0 = time.time()"
        stop = ("python print('TIME %.4f' % (time.time() - t0))" if kind == "gdb"
                else "script print('TIME %.4f' % (time.time() - t0))")
        args += [flag, start, flag, cmds[-1], flag, stop, flag, GDB_AT if kind == "gdb" else LLDB_AT,
                 flag, "monitor when" if kind == "gdb" else "rewind when"]
    args += [flag, "kill"]
    try:
        out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=LIMIT_S, start_new_session=True).stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        out += "\nHANG: the session ran past %d s\n" % LIMIT_S
        subprocess.run(["pkill", "-f", trace])
    times = [float(t) for t in re.findall(r"^TIME (\S+)$", out, re.M)]
    ats = re.findall(r"^AT (\S+) (0x[0-9a-f]+)$", out, re.M)
    events = re.findall(r"Current event: (\d+)", out)
    return times, list(zip(ats, events)), out


def main():
    rewind, plugin, gdb, lldb, work, runs = sys.argv[1:7]
    runs = int(runs)
    print("| case | command | gdb (s): median (min-max) | LLDB (s) | LLDB / gdb, medians |")
    print("| --- | --- | --- | --- | --- |")
    failed = False
    only = [c for c in os.environ.get("LLDB_BENCH_CASES", "").split(",") if c]
    for name, (trace, setup, ops) in CASES.items():
        if only and not any(name.startswith(c) for c in only):
            continue
        trace = work + "/" + trace
        results = {"gdb": ([], None, []), "lldb": ([], None, [])}
        hung = set()
        # The two debuggers' sessions alternate, so that a machine that
        # slows down or speeds up during the case weighs on both alike.
        for _ in range(runs):
            for kind, dbg in (("gdb", gdb), ("lldb", lldb)):
                if kind in hung:
                    continue
                all_times, positions, errors = results[kind]
                times, pos, out = session(kind, rewind, plugin, dbg, trace, setup, ops)
                # Two debuggers standing still at the same place after a
                # failed move agree; the engine's error says what happened.
                errors += [l for l in out.splitlines() if ENGINE_FAILURE.search(l)]
                if len(times) != len(ops):
                    print("FAIL %s %s: %d of %d commands timed" % (name, kind, len(times), len(ops)))
                    print(out[-3000:])
                    failed = True
                all_times.append(times)
                results[kind] = (all_times, positions or pos, errors)
                if "HANG:" in out:
                    hung.add(kind)  # another run would hang the same way
        gpos, lpos = results["gdb"][1], results["lldb"][1]
        for kind in ("gdb", "lldb"):
            for bad in results[kind][2][:1]:
                print("FAIL %s %s: %s" % (name, kind, bad))
                failed = True
        totals = [0.0, 0.0]
        for i, (label, _, _) in enumerate(ops):
            med, spread = [], []
            for kind in ("gdb", "lldb"):
                ts = [t[i] for t in results[kind][0] if len(t) > i]
                med.append(statistics.median(ts) if ts else float("nan"))  # nan: HANG/FAIL
                spread.append(" (%.3f-%.3f)" % (min(ts), max(ts)) if len(ts) > 1 else "")
            # The pc and the event decide (the names differ: gdb's
            # getpid@plt is LLDB's getpid stub).
            same = (i < len(gpos) and i < len(lpos) and gpos[i][0][1] == lpos[i][0][1] and
                    gpos[i][1] == lpos[i][1])
            note = "" if same else " FAIL: gdb at %s, LLDB at %s" % (
                gpos[i] if i < len(gpos) else None, lpos[i] if i < len(lpos) else None)
            failed |= not same
            fmt = lambda t: "HANG" if t != t else "%.3f" % t  # nan: no time (cut off or failed)
            ratio = "%.2fx" % (med[1] / med[0]) if med[0] == med[0] and med[1] == med[1] else "-"
            print("| %s | %s | %s%s | %s%s | %s%s |" % (name, label, fmt(med[0]), spread[0],
                                                        fmt(med[1]), spread[1], ratio, note))
            totals = [a + b for a, b in zip(totals, med)]
        # Each move leaves marks that the next one starts from, and the two
        # debuggers' moves leave different ones (gdb's reverse-next is a
        # string of reverse-stepis): time moves from one to the next, so
        # the sequence's total is the comparison that does not depend on it.
        if totals[0] == totals[0] and totals[1] == totals[1] and totals[0] > 0:
            print("| %s | **all %d moves** | %.3f | %.3f | %.2fx |" % (
                name, len(ops), totals[0], totals[1], totals[1] / totals[0]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
