#!/usr/bin/env python3
"""Records a program with rewind, debugs the replay with a real gdb in batch
mode, and checks gdb's output.

The expectation file holds one Python regular expression per line (blank
lines and lines starting with '#' are skipped). Each must match a line of
the output, in order: a pattern is searched for after the line the previous
one matched. `!REGEX` means no line of the whole output may match, `~REGEX`
that some line of it must, wherever it is (the server's stderr, which
interleaves with gdb's output in no fixed order).

In the command file and in --replay-args, @TMP@ is the test's scratch
directory, @CHILD@ the pid of the first child process `rewind ps` lists and
@GDBTESTS@ the directory of this script (for helpers run with `shell`).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile


def run_group(cmd, timeout, **kw):
    """subprocess.run in a process group of its own, all of which is killed
    on a timeout: gdb and the replay server it starts hold the output pipe,
    so killing only the direct child would leave the read waiting for them
    (a hung session then took the whole ctest timeout, and left them running)."""
    with subprocess.Popen(cmd, start_new_session=True, **kw) as p:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as e:
            os.killpg(p.pid, signal.SIGKILL)
            e.output, _ = p.communicate()
            raise
        return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rewind", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--commands", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--replay-args", default="")
    ap.add_argument("--record-args", default="")
    ap.add_argument("--copy-program", action="store_true",
                    help="record a copy of the program and delete it before replay")
    ap.add_argument("--debugger", default="gdb")
    ap.add_argument("--prepare", default="",
                    help="a rewind command run on the trace before the replay "
                         "(e.g. 'checkpoint create --every 20')")
    ap.add_argument("--env", action="append", default=[],
                    help="NAME=VALUE for the replay's environment")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="rewind-gdb-")
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp):
    env = dict(os.environ, TMPDIR=tmp)
    program = args.program
    if args.copy_program:
        program = os.path.join(tmp, os.path.basename(args.program))
        shutil.copy2(args.program, program)
    trace = os.path.join(tmp, "trace")
    rec = run_group([args.rewind, "record"] + args.record_args.split() + ["-o", trace, program],
                    120, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if rec.returncode != 0:
        print(rec.stdout, rec.stderr)
        print("FAIL: recording exited %d" % rec.returncode)
        return 1
    if args.copy_program:
        os.unlink(program)  # replay must not need it: the trace has a copy

    if args.prepare:
        prep = run_group([args.rewind] + args.prepare.split() + [trace], 300, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if prep.returncode != 0:
            print(prep.stdout, prep.stderr)
            print("FAIL: rewind %s exited %d" % (args.prepare, prep.returncode))
            return 1

    child = ""
    ps = subprocess.run([args.rewind, "ps", trace], capture_output=True, text=True)
    rows = [l.split() for l in ps.stdout.splitlines()[1:] if l.strip()]
    if len(rows) > 1:
        child = rows[1][0]

    # @END-N@: the event N before the trace's last. How many events ld.so's
    # start-up makes depends on the CPU (its cpuid enumeration), so a test
    # that names an event in the program's own part counts from the end.
    info = subprocess.run([args.rewind, "info", trace], capture_output=True, text=True)
    total = json.loads(info.stdout)["events"] if info.returncode == 0 else None

    def fill(s):
        here = os.path.dirname(os.path.abspath(__file__))
        s = s.replace("@TMP@", tmp).replace("@CHILD@", child).replace("@GDBTESTS@", here)
        if total is None and "@END-" in s:
            raise RuntimeError("rewind info failed: " + info.stderr)
        return re.sub(r"@END-(\d+)@", lambda m: str(total - int(m.group(1))), s)

    with open(args.commands) as f:
        commands = fill(f.read())
    cmd_file = os.path.join(tmp, "commands.gdb")
    with open(cmd_file, "w") as f:
        f.write(commands)
    replay = [args.rewind, "replay", "--debugger", args.debugger]
    replay += fill(args.replay_args).split()
    replay += [trace, "--", "-batch", "-nx", "-x", cmd_file]
    try:
        replay_env = dict(env)
        for kv in args.env:
            name, _, value = kv.partition("=")
            replay_env[name] = value
        out = run_group(replay, 240, env=replay_env, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True)
    except subprocess.TimeoutExpired as e:
        print(e.output or "")
        print("FAIL: the debugging session timed out")
        return 1
    output = out.stdout
    print(output)

    lines = output.splitlines()
    pos = 0
    with open(args.expect) as f:
        expectations = [fill(l.rstrip("\n")) for l in f if l.strip() and not l.startswith("#")]
    for pattern in expectations:
        if pattern.startswith("!"):
            bad = re.compile(pattern[1:])
            hit = [l for l in lines if bad.search(l)]
            if hit:
                print("FAIL: output must not match %r, but has: %s" % (pattern[1:], hit[0]))
                return 1
            continue
        if pattern.startswith("~"):
            anywhere = re.compile(pattern[1:])
            if not any(anywhere.search(l) for l in lines):
                print("FAIL: no line of the output matches %r" % pattern[1:])
                return 1
            continue
        rx = re.compile(pattern)
        for i in range(pos, len(lines)):
            if rx.search(lines[i]):
                pos = i + 1
                break
        else:
            print("FAIL: no line matches %r after line %d" % (pattern, pos))
            return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
