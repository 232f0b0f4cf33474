"""Helpers for tests that talk to `rewind replay -s 0` directly."""
import os
import re
import shutil
import socket
import subprocess
import tempfile


class Server:
    """Records PROGRAM, starts `rewind replay -s 0 [EXTRA_ARGS]` on it, and
    knows its port."""

    def __init__(self, rewind, program, extra_args=()):
        self.tmp = tempfile.mkdtemp(prefix="rewind-server-")
        self.trace = os.path.join(self.tmp, "trace")
        env = dict(os.environ, TMPDIR=self.tmp)
        rec = subprocess.run([rewind, "record", "-o", self.trace, program], env=env,
                             capture_output=True, text=True, timeout=120)
        if rec.returncode != 0:
            raise RuntimeError("recording failed: " + rec.stderr)
        self.proc = subprocess.Popen([rewind, "replay", "-s", "0"] + list(extra_args) + [self.trace],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # The server prints where it listens before it accepts: a blocking
        # readline is the synchronisation.
        self.banner = ""
        self.port = None
        for _ in range(5):
            line = self.proc.stdout.readline()
            self.banner += line
            m = re.search(r"waiting for a debugger on \S+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("no port in the server's output: " + self.banner)

    def close(self):
        """Kills the server if it still runs and removes its scratch dir."""
        if self.proc.poll() is None:
            self.proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def wait(self, timeout=60):
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, self.banner + (out or "")

    def tracees_left(self):
        """Processes still running a program from this trace's files/."""
        files = os.path.join(self.trace, "files")
        left = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                exe = os.readlink("/proc/%s/exe" % pid)
            except OSError:
                continue
            if exe.startswith(files):
                left.append(pid)
        return left


def find_in_order(output, patterns):
    """None if the regexes match `output` one after the other, else why not."""
    pos = 0
    for pattern in patterns:
        m = re.compile(pattern).search(output, pos)
        if not m:
            return "%r not found after offset %d" % (pattern, pos)
        pos = m.end()
    return None


def report(failures):
    """Prints each failure, then PASS or how many failed; the exit code."""
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else "%d failures" % len(failures))
    return 1 if failures else 0


def checksum(body):
    return "%02x" % (sum(body.encode("latin-1")) % 256)


def packet(body):
    return ("$%s#%s" % (body, checksum(body))).encode("latin-1")


class Client:
    """A bare RSP client on the server's TCP port, in ack mode."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=60)
        self.buf = b""

    def read_reply(self):
        """Returns the body of the next $...#xx packet, skipping acks."""
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                body = self.buf[start + 1:end].decode("latin-1")
                self.buf = self.buf[end + 3:]
                self.sock.sendall(b"+")
                return body
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data

    def ask(self, raw):
        self.sock.sendall(raw)
        return self.read_reply()


def lldb_batch(lldb, program, port, commands, timeout=240):
    """Runs lldb in batch mode: `target create PROGRAM`, `gdb-remote` to the
    server's port, then `commands`. Returns stdout and stderr together,
    printed too for the test's log."""
    args = [lldb, "-b", "--no-lldbinit", "-o", "target create " + program,
            "-o", "gdb-remote 127.0.0.1:%d" % port]
    for c in commands:
        args += ["-o", c]
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    output = out.stdout + out.stderr
    print(output)
    return output
