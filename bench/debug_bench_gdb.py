# One case of bench/debug_bench.sh, run inside gdb:
#   rewind replay TRACE -- -batch -nx -x bench/debug_bench_gdb.py
# The case and its expectations come in the environment (BENCH_CASE,
# BENCH_N, ...; see debug_bench.sh). Results go to $BENCH_LOG, a line each:
#   START op epoch    just before a command; the shell script's watchdog
#                     kills the session when one stays open too long
#   TIME op seconds   when it returned (gdb's own clock, around the command)
#   BAD op reason     it failed, or stopped at the wrong place
# Stops are judged by gdb's stop events and by reading the program's
# variables, never by the command's printed output (gdb prints stops
# directly, not into to_string).
import os
import time

import gdb

log = open(os.environ["BENCH_LOG"], "a", buffering=1)
case = os.environ["BENCH_CASE"]
n = int(os.environ.get("BENCH_N", "0"))
# Repeat a reverse-continue (to 3, for a median) only while it is this fast.
cheap_s = float(os.environ.get("BENCH_CHEAP_S", "5"))

last_stop = [None]
gdb.events.stop.connect(lambda ev: last_stop.__setitem__(0, ev))


def bad(op, why):
    log.write("BAD %s %s\n" % (op, why.replace("\n", " | ")))


def command(op, cmd, timed=False):
    """Runs one gdb command under the watchdog. Returns (ok, stop event)."""
    last_stop[0] = None
    log.write("START %s %.3f\n" % (op if timed else "setup", time.time()))
    t = time.time()
    try:
        out = gdb.execute(cmd, to_string=True)
        err = None
    except gdb.error as e:
        out, err = "", str(e)
    dt = time.time() - t
    if timed:
        log.write("TIME %s %.3f\n" % (op, dt))
    else:
        log.write("TIME setup %.3f\n" % dt)
    if err is None and "Remote failure" in out:
        err = out.strip()
    if err is not None:
        bad(op, "%s: %s (after %.3f s)" % (cmd, err, dt))
    return err is None, last_stop[0], dt


def value(expr):
    try:
        return int(gdb.parse_and_eval(expr))
    except gdb.error:
        return None


def hit(ev, bp):
    return isinstance(ev, gdb.BreakpointEvent) and any(b.number == bp.number for b in ev.breakpoints)


def describe(ev):
    if ev is None:
        return "no stop"
    try:
        f = gdb.selected_frame()
        where = "%s in %s" % (hex(int(f.pc())), f.name())
    except gdb.error:
        where = "no frame"
    return "%s at %s" % (type(ev).__name__, where)


def to_end(op):
    """Runs forward to the end of the trace; False if anything stopped it first."""
    ok, ev, _ = command(op, "continue")
    if ok and isinstance(ev, gdb.BreakpointEvent):
        bad(op, "a later breakpoint hit exists, so the stop was not the last one (%s)" % describe(ev))
        return False
    return ok


def reverse_stepi(op):
    """Three reverse-stepi, timed; then three stepi must retrace them. The
    first, the hardest (no mark near yet), is also timed as OP-first."""
    thread = gdb.selected_thread().ptid
    pcs = [value("$pc")]
    for k in range(3):
        ok, _, _ = command(op + "-first" if k == 0 else op, "reverse-stepi", timed=True)
        if not ok:
            return
        pcs.append(value("$pc"))
        if pcs[-1] == pcs[-2]:
            bad(op, "the pc stayed at %s" % hex(pcs[-1]))
            return
        if gdb.selected_thread().ptid != thread:
            bad(op, "the thread changed from %s to %s" % (thread, gdb.selected_thread().ptid))
            return
    for k in range(3):
        ok, _, _ = command(op, "stepi")
        want = pcs[2 - k]
        if ok and value("$pc") != want:
            bad(op, "stepi after reverse-stepi went to %s, not back to %s" % (hex(value("$pc")), hex(want)))
            return


def reverse_continues(op, bp, check, back_to_end):
    """reverse-continue from the end to the last hit of bp, checked; up to
    three times while it is cheap. reverse-stepi is measured at the first
    stop. back_to_end returns to the end, checking that no hit follows."""
    for k in range(3):
        ok, ev, dt = command(op, "reverse-continue", timed=True)
        if not ok:
            return
        if not hit(ev, bp):
            bad(op, "did not stop at a hit (%s), after %.3f s" % (describe(ev), dt))
            return
        why = check()
        if why:
            bad(op, "%s, after %.3f s" % (why, dt))
            return
        if k == 0:
            reverse_stepi("rsi")
        if not back_to_end(op) or dt > cheap_s:
            return


def loop_case():
    command("setup", "continue")
    bp = gdb.Breakpoint("body")

    def check():
        i = value("i")
        return None if i == n - 1 else "stopped at i = %s, not at the last hit (i = %d)" % (i, n - 1)

    reverse_continues("rc", bp, check, to_end)


def watch_case():
    command("setup", "continue")
    wp = gdb.Breakpoint("watched", gdb.BP_WATCHPOINT, gdb.WP_WRITE)

    def check():
        # Backwards, gdb stops before the write: watched still holds the
        # value of the write before the last, 2(n-2)+1.
        f = gdb.selected_frame().name()
        w, i = value("watched"), value("i") if f == "body" else None
        if f != "body" or w != 2 * n - 3 or i != n - 1:
            return "stopped in %s with watched = %s, i = %s; want body, %d, %d" % (f, w, i, 2 * n - 3, n - 1)
        return None

    def back_to_end(op):
        # Forward, the last write is the next change; then nothing.
        ok, ev, _ = command(op, "continue")
        if not ok:
            return False
        if not hit(ev, wp) or value("watched") != 2 * n - 1:
            bad(op, "forward after the stop: %s, watched = %s; want the last write (%d)" % (describe(ev), value("watched"), 2 * n - 1))
            return False
        return to_end(op)

    reverse_continues("watch", wp, check, back_to_end)


def threads_case():
    after = gdb.Breakpoint("bump4.c:%s" % os.environ["BENCH_AFTER_LINE"])
    ok, ev, _ = command("rnext", "continue")
    if ok and not hit(ev, after):
        bad("rnext", "the run to the line after join_all() did not stop there (%s)" % describe(ev))
    after.delete()
    ok, ev, _ = command("rnext", "reverse-next", timed=True)
    if ok:
        th = gdb.selected_thread().ptid
        f = gdb.selected_frame()
        line = f.find_sal().line
        want = int(os.environ["BENCH_JOIN_LINE"])
        if th[1] != th[0] or f.name() != "main" or line != want:
            bad("rnext", "stopped in thread %s, %s line %s; want the main thread, main line %d" % (th, f.name(), line, want))
    command("setup", "continue")
    bp = gdb.Breakpoint("bump")
    last = int(os.environ["BENCH_LAST"])

    def check():
        c, who = value("counter"), value("who")
        th = gdb.selected_thread().ptid
        if c != n - 1 or who != last or th[1] == th[0]:
            return "stopped in thread %s with counter = %s, who = %s; want a worker, %d, %d" % (th, c, who, n - 1, last)
        return None

    reverse_continues("rc", bp, check, to_end)


def python_case():
    command("setup", "continue")
    bp = gdb.Breakpoint("getpid")
    if bp.pending:
        bad("rc", "break getpid: no such function in the loaded libraries")
        return

    def check():
        f = gdb.selected_frame().name() or ""
        return None if "getpid" in f else "stopped in %s, not in getpid" % f

    reverse_continues("rc", bp, check, to_end)


def after_loop_case():
    bp = gdb.Breakpoint("hot_loop.c:%s" % os.environ["BENCH_AFTER_LINE"])
    ok, ev, _ = command("setup", "continue")
    if ok and not hit(ev, bp):
        bad("rsi", "the run to the line after the loop did not stop there (%s)" % describe(ev))
        return
    bp.delete()
    reverse_stepi("rsi")
    command("setup", "continue")
    bp = gdb.Breakpoint("hot_loop.c:%s" % os.environ["BENCH_AFTER_LINE"])
    command("setup", "reverse-continue")
    bp.delete()
    ok, ev, _ = command("rnext", "reverse-next", timed=True)
    if ok:
        f = gdb.selected_frame()
        line = f.find_sal().line
        if f.name() != "main" or line != int(os.environ["BENCH_AFTER_LINE"]) - 1:
            bad("rnext", "stopped in %s line %s; want main, the loop's line" % (f.name(), line))
        elif value("i") != n - 1:
            bad("rnext", "stopped with i = %s; want the last iteration (i = %d)" % (value("i"), n - 1))


def end_rsi_case():
    command("setup", "continue")
    reverse_stepi("rsi")


{"loop": loop_case, "watch": watch_case, "threads": threads_case, "python": python_case,
 "after-loop": after_loop_case, "end-rsi": end_rsi_case}[case]()
log.write("DONE\n")
