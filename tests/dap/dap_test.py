#!/usr/bin/env python3
"""rewind-dap end to end: a scripted DAP client records debug_target, launches
the trace through rewind-dap (lldb-dap-22 + the rewind LLDB plugin), stops at
a breakpoint in the loop, steps back three times, reverse-continues to the
breakpoint's earlier hit, steps forwards, disconnects, and checks that
nothing is left running.

The expected lines are gdb's for the same moves on the same trace
(`reverse-next` steps back over calls, not into them):
    break 21, continue, continue  -> 21, i = 1
    reverse-next x3               -> 20, 19, 22 (the previous iteration, i = 0)
    reverse-continue              -> 21, i = 0
    next                          -> 22

usage: dap_test.py REWIND REWIND_DAP PROGRAM PLUGIN
"""
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dap_client import DapClient, DapError  # noqa: E402

SOURCE = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                       "..", "programs", "debug_target.c"))
BREAK_LINE = 21                  # local_total += square(i);
STEP_BACK_LINES = [20, 19, 22]   # gdb's reverse-next from line 21 with i = 1
# A replay is slow to start on a loaded machine; still bounded.
LAUNCH_TIMEOUT = 120
STEP_TIMEOUT = 60


class Check:
    def __init__(self):
        self.failures = []

    def equal(self, what, got, want):
        ok = got == want
        print("%s: %s%s" % (what, got, "" if ok else "  (FAIL: expected %s)" % (want,)))
        if not ok:
            self.failures.append("%s: got %r, expected %r" % (what, got, want))
        return ok


def initialize(client):
    return client.request("initialize", {
        "clientID": "rewind-dap-test", "adapterID": "lldb-dap", "linesStartAt1": True,
        "columnsStartAt1": True, "pathFormat": "path", "supportsRunInTerminalRequest": False})


def top_frame(client, tid):
    frames = client.request("stackTrace", {"threadId": tid, "startFrame": 0, "levels": 1})
    frame = frames["body"]["stackFrames"][0]
    return frame


def value_of_i(client, frame_id):
    """`i` through evaluate, and again through scopes/variables; both must agree."""
    ev = client.request("evaluate", {"expression": "i", "frameId": frame_id, "context": "watch"})
    m = re.search(r"(-?\d+)\s*$", ev["body"]["result"])
    by_eval = int(m.group(1)) if m else ev["body"]["result"]
    scopes = client.request("scopes", {"frameId": frame_id})["body"]["scopes"]
    by_vars = None
    for scope in scopes:
        if scope["name"].lower().startswith("local"):
            variables = client.request("variables",
                                       {"variablesReference": scope["variablesReference"]})
            for v in variables["body"]["variables"]:
                if v["name"] == "i":
                    by_vars = int(v["value"])
    if by_eval != by_vars:
        raise DapError("i is %r by evaluate but %r by variables" % (by_eval, by_vars))
    return by_eval


def move(client, check, label, command, tid, want_reason, want_line, want_i=None):
    """One execution request: exactly one stopped event, with the reason, the
    thread and the line expected."""
    client.drop_events("stopped")  # stale ones, from before this move
    first = len(client.all_events)
    client.request(command, {"threadId": tid}, timeout=STEP_TIMEOUT)
    stop = client.wait_event("stopped", STEP_TIMEOUT)["body"]
    frame = top_frame(client, stop.get("threadId", tid))
    check.equal(label + ": reason", stop.get("reason"), want_reason)
    check.equal(label + ": thread", stop.get("threadId"), tid)
    check.equal(label + ": allThreadsStopped", stop.get("allThreadsStopped"), True)
    check.equal(label + ": line", frame["line"], want_line)
    if want_i is not None:
        check.equal(label + ": i", value_of_i(client, frame["id"]), want_i)
    # Everything the adapter sends for this stop has come by now: the
    # requests above were answered after it.
    events = [e["event"] for e in client.all_events[first:]
              if e["event"] in ("stopped", "continued")]
    check.equal(label + ": stopped events", events.count("stopped"), 1)
    if "continued" in events[events.index("stopped"):]:
        check.failures.append(label + ": a continued event after the stop")
    return frame


def bad_trace_session(rewind_dap, check, env, plugin):
    """A launch of a trace that does not exist: a failed response and a
    message on stderr, then a clean exit."""
    client = DapClient([rewind_dap], env=env)
    try:
        initialize(client)
        r = client.request("launch", {"trace": "/nonexistent/trace", "rewindPlugin": plugin}, check=False)
        check.equal("missing trace: launch fails", r["success"], False)
        err = client.wait_event("output", 10, lambda e: e["body"].get("category") == "stderr")
        check.equal("missing trace: says so", "does not exist" in err["body"]["output"], True)
        client.request("disconnect", {})
        check.equal("missing trace: rewind-dap exit status", client.wait_exit(30), 0)
    finally:
        client.kill()


def session(rewind_dap, check, env, trace, plugin):
    client = DapClient([rewind_dap], env=env)
    try:
        caps = initialize(client)["body"]
        check.equal("initialize: supportsStepBack", caps.get("supportsStepBack"), True)
        # lldb-dap answers launch (our attach) only after configurationDone.
        launch = client.send_request("launch", {"trace": trace, "rewindPlugin": plugin})
        client.wait_event("initialized", LAUNCH_TIMEOUT)
        bps = client.request("setBreakpoints", {"source": {"path": SOURCE},
                                                "breakpoints": [{"line": BREAK_LINE}]})
        check.equal("breakpoint line", bps["body"]["breakpoints"][0].get("line"), BREAK_LINE)
        client.request("configurationDone")
        client.wait_response(launch, "launch", LAUNCH_TIMEOUT)
        # No stopOnEntry: lldb-dap continues after configurationDone. It may
        # first report the stop the attach left (SIGTRAP at ld.so's entry);
        # the next one must be the breakpoint.
        stop = client.wait_event("stopped", LAUNCH_TIMEOUT, lambda e: not (
            e["body"].get("reason") == "exception" and
            "SIGTRAP" in e["body"].get("description", "")))["body"]
        check.equal("first stop: reason", stop.get("reason"), "breakpoint")
        tid = stop["threadId"]
        frame = top_frame(client, tid)
        check.equal("first hit: line", frame["line"], BREAK_LINE)
        check.equal("first hit: function", frame["name"].split("(")[0].strip(), "main")
        check.equal("first hit: i", value_of_i(client, frame["id"]), 0)

        move(client, check, "continue", "continue", tid, "breakpoint", BREAK_LINE, want_i=1)
        for n, line in enumerate(STEP_BACK_LINES, 1):
            move(client, check, "stepBack %d" % n, "stepBack", tid, "step", line,
                 want_i=0 if n == len(STEP_BACK_LINES) else None)
        move(client, check, "reverseContinue", "reverseContinue", tid, "breakpoint",
             BREAK_LINE, want_i=0)
        move(client, check, "next", "next", tid, "step", BREAK_LINE + 1, want_i=0)

        client.request("disconnect", {}, timeout=STEP_TIMEOUT)
        check.equal("rewind-dap exit status", client.wait_exit(60), 0)
    except Exception:
        tail = client.all_events[-15:]
        print("last events:")
        for e in tail:
            print("  ", e.get("event"), str(e.get("body"))[:300])
        raise
    finally:
        client.kill()


def leftovers(marker, trace):
    """Live processes started by this test's rewind-dap (they inherit the
    marker in their environment) or running a program from the trace."""
    found = []
    files = os.path.join(trace, "files")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    continue  # dead, waiting for a parent to reap it
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read()
            exe = ""
            try:
                exe = os.readlink("/proc/%s/exe" % pid)
            except OSError:
                pass
        except (OSError, IndexError):
            continue
        if marker.encode() in env or exe.startswith(files):
            found.append(int(pid))
    return found


def wait_gone(pids, timeout):
    """Waits (on pidfds, no polling) for `pids` to exit; returns those left."""
    deadline = time.monotonic() + timeout
    left = []
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            continue  # already gone
        try:
            r, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
            if not r:
                left.append(pid)
        finally:
            os.close(fd)
    return left


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    rewind, rewind_dap, program, plugin = sys.argv[1:5]
    lldb_dap = os.environ.get("REWIND_LLDB_DAP") or shutil.which("lldb-dap-22")
    if not lldb_dap:
        print("FAIL: lldb-dap-22 is not installed: run scripts/setup.sh (it installs lldb-22)")
        return 1
    if not os.path.isfile(plugin):
        print("FAIL: the rewind LLDB plugin %s is not built" % plugin)
        return 1
    check = Check()
    tmp = tempfile.mkdtemp(prefix="rewind-dap-")
    trace = os.path.join(tmp, "trace")
    marker = "rewind-dap-test-%d" % os.getpid()
    env = dict(os.environ, TMPDIR=tmp, REWIND_DAP_TEST_MARK=marker)
    try:
        rec = subprocess.run([rewind, "record", "-o", trace, program], env=env,
                             capture_output=True, text=True, timeout=120)
        if rec.returncode != 0:
            print("FAIL: recording failed:", rec.stderr)
            return 1
        bad_trace_session(rewind_dap, check, env, plugin)
        session(rewind_dap, check, env, trace, plugin)
    except (DapError, OSError, subprocess.TimeoutExpired, KeyError, IndexError) as e:
        check.failures.append("%s: %s" % (type(e).__name__, e))
    finally:
        left = wait_gone(leftovers(marker, trace), 30)
        for pid in left:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                cmd = "?"
            check.failures.append("process %d left running: %s" % (pid, cmd))
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    for f in check.failures:
        print("FAIL:", f)
    print("PASS" if not check.failures else "%d failures" % len(check.failures))
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
