#!/usr/bin/env python3
"""Source-level reverse execution in LLDB through rewind's plugin, checked
against gdb on the same trace: after every reverse-next, reverse-step,
reverse-finish and reverse-stepi, LLDB must stand where gdb stands (same
function, pc and event). gdb builds these from many packets and its own
line tables; the plugin hands the line table to the engine, which does each
in one resume, so the two are independent implementations of the same rules.

usage: lldb_linestep_test.py REWIND PLUGIN GDB LLDB SCENARIO PROGRAM
  SCENARIO: loop (debug_target: calls in a loop), threads (debug_threads),
            join (debug_join), nolines (debug_nolines)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "gdb"))
from server import report  # noqa: E402

# Each step: (gdb command, lldb command). None: the same probe-free setup
# command in both. Probes ("AT") follow every movement.
SCENARIOS = {
    "loop": {
        # In square(1), then back in main just after its call returned.
        "setup": [("break square", "breakpoint set -n square"),
                  ("continue", "continue"), ("continue", "continue"),
                  ("finish", "thread step-out")],
        "moves": [("reverse-next", "rn"), ("reverse-next", "rn"), ("reverse-next", "rn"),
                  ("reverse-next", "rewind reverse-next"), ("reverse-next", "rn"),
                  ("continue", "continue"),
                  ("reverse-step", "rs"), ("reverse-step", "rs"),
                  ("reverse-step", "rewind reverse-step"), ("reverse-finish", "rf"),
                  ("reverse-step", "rs"), ("reverse-step", "rs"), ("reverse-step", "rs"),
                  ("reverse-stepi", "rsi"), ("reverse-stepi", "rewind reverse-stepi"),
                  ("reverse-finish", "rewind reverse-finish"),
                  # Without the breakpoint in square, reverse-next steps over
                  # its calls; with one in tick, it stops there.
                  ("delete", "breakpoint delete -f"),
                  ("break tick", "breakpoint set -n tick"),
                  ("continue", "continue"), ("finish", "thread step-out"),
                  ("reverse-next", "rn"), ("reverse-next", "rn"), ("reverse-next", "rn"),
                  ("reverse-next", "rn")],
    },
    "threads": {
        # Four threads taking turns on a mutex and condvar (debug_threads.c):
        # back over pthread_cond_wait and the lock, in a thread that slept.
        "setup": [("break bump", "breakpoint set -n bump"),
                  ("continue", "continue"), ("continue", "continue"), ("continue", "continue"),
                  ("finish", "thread step-out"), ("delete", "breakpoint delete -f")],
        # (Further back, in the prologue, gdb and LLDB disagree about which
        # rows of -O1 code start statements.)
        "moves": [("reverse-next", "rn"), ("reverse-next", "rn"), ("reverse-next", "rn"),
                  ("reverse-next", "rn"),
                  ("break bump", "breakpoint set -n bump"),
                  ("reverse-continue", "rc"), ("reverse-continue", "rewind reverse-continue"),
                  ("reverse-next", "rn"), ("reverse-finish", "rf")],
    },
    "join": {
        # From the line after join_all() (debug_join.c), whose line spans
        # the workers' whole run: back over it, into the loop that made the
        # threads, then to the last add_to_counter() and out of it.
        "setup": [("break debug_join.c:40", "breakpoint set -f debug_join.c -l 40"),
                  ("continue", "continue"), ("delete", "breakpoint delete -f")],
        "moves": [("reverse-next", "rn"), ("reverse-stepi", "rsi"), ("reverse-stepi", "rsi"),
                  ("break debug_join.c:40", "breakpoint set -f debug_join.c -l 40"),
                  ("continue", "continue"),
                  ("break add_to_counter", "breakpoint set -n add_to_counter"),
                  ("reverse-continue", "rc"), ("reverse-finish", "rf"), ("reverse-next", "rn")],
    },
    "nolines": {
        # From the printf after the loop (debug_nolines.c): back over
        # scaled(), assembly without line information (stepped over, as
        # gdb does), into plus_one(), which has lines, and on back round
        # the loop.
        "setup": [("break debug_nolines.c:29", "breakpoint set -f debug_nolines.c -l 29"),
                  ("continue", "continue"), ("delete", "breakpoint delete -f")],
        "moves": [("reverse-step", "rs"), ("reverse-step", "rs"), ("reverse-step", "rs"),
                  ("reverse-step", "rs"), ("reverse-step", "rs"), ("reverse-next", "rn"),
                  ("reverse-step", "rs"), ("reverse-finish", "rf"), ("reverse-step", "rs")],
    },
}
# A move the engine failed is a failure even where both debuggers then
# agree on standing still.
ENGINE_FAILURE = re.compile(r"did not come back|diverged|bs failed|reverse line step: ")

GDB_PROBE = ("python f = gdb.selected_frame(); "
             "print('AT %s %d 0x%x' % (f.name(), f.find_sal().line, f.pc()))")
LLDB_PROBE = ("script f = lldb.debugger.GetSelectedTarget().GetProcess()"
              ".GetSelectedThread().GetFrameAtIndex(0); "
              "print('AT %s %d 0x%x' % (f.GetFunctionName(), f.GetLineEntry().GetLine(), f.GetPC()))")


def probes(output):
    """(function, line, pc, event) after each move, in order: the event
    number tells apart two visits of one pc (a loop's iterations) and
    catches a move that went the wrong way."""
    out = []
    for m in re.finditer(r"^AT (\S+) (\d+) (0x[0-9a-f]+)$|Current event: (\d+)", output, re.M):
        if m.group(1):
            out.append([m.group(1), m.group(2), m.group(3)])
        elif out and len(out[-1]) == 3:
            out[-1].append(m.group(4))
    return [tuple(p) for p in out]


def main():
    rewind, plugin, gdb, lldb, scenario, program = sys.argv[1:7]
    sc = SCENARIOS[scenario]
    tmp = tempfile.mkdtemp(prefix="rewind-linestep-")
    try:
        env = dict(os.environ, TMPDIR=tmp)
        trace = os.path.join(tmp, "trace")
        rec = subprocess.run([rewind, "record", "-o", trace, program], env=env,
                             capture_output=True, text=True, timeout=120)
        if rec.returncode != 0:
            print(rec.stdout, rec.stderr)
            print("FAIL: recording")
            return 1
        gargs = [gdb, "-nx", "-batch", "-ex", "set remotetimeout unlimited",
                 "-ex", "target extended-remote | %s replay --stdio %s" % (rewind, trace)]
        largs = [lldb, "-b", "--no-lldbinit", "-o", "plugin load " + plugin,
                 "-o", "rewind replay " + trace]
        for g, l in sc["setup"]:
            gargs += ["-ex", g]
            largs += ["-o", l]
        for g, l in sc["moves"]:
            gargs += ["-ex", g, "-ex", GDB_PROBE, "-ex", "monitor when"]
            largs += ["-o", l, "-o", LLDB_PROBE, "-o", "rewind when"]
        gargs += ["-ex", "kill"]
        largs += ["-o", "kill"]
        g = subprocess.run(gargs, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=600)
        print("----- gdb\n" + g.stdout)
        l = subprocess.run(largs, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=600)
        print("----- lldb\n" + l.stdout)
        left = [e for e in os.listdir(tmp) if e.startswith("rewind-lldb-")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    want, got = probes(g.stdout), probes(l.stdout)
    failures = []
    if len(want) != len(sc["moves"]):
        failures.append("gdb gave %d positions for %d moves" % (len(want), len(sc["moves"])))
    # The pc and the event decide; the line is shown, not compared: gdb and
    # LLDB read some line tables differently (is_stmt rows of optimised
    # libc code), so one pc can be line 36 in gdb and 37 in LLDB.
    for i, (w, h) in enumerate(zip(want, got)):
        if (w[0], w[2:]) != (h[0], h[2:]):
            failures.append("after move %d (%s): gdb at %s, lldb at %s" %
                            (i + 1, sc["moves"][i][1], " ".join(w), " ".join(h)))
    if len(got) != len(want):
        failures.append("lldb gave %d positions, gdb %d" % (len(got), len(want)))
    for name, out in (("gdb", g.stdout), ("lldb", l.stdout)):
        bad = [x for x in out.splitlines() if ENGINE_FAILURE.search(x)]
        if bad:
            failures.append("%s: %s" % (name, bad[0]))
    if len(set(want)) < len(want) // 2:
        failures.append("the moves went nowhere: %s" % (want,))
    if left:
        failures.append("left behind in TMPDIR: %s" % left)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
