"""A scripted DAP client: real Content-Length framing over a child's pipes,
every wait bounded by a deadline (a timeout fails the test, never hangs it)."""
import json
import os
import queue
import subprocess
import threading
import time


class DapError(Exception):
    pass


class DapClient:
    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.seq = 0
        self.inbox = queue.Queue()
        self.events = []       # events not yet consumed by wait_event
        self.all_events = []   # every event, in order
        self.responses = {}    # responses that came while waiting for another
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        out = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        self.inbox.put(None)
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length is None:
                    raise DapError("a header without Content-Length")
                body = out.read(length)
                if len(body) != length:
                    self.inbox.put(None)
                    return
                self.inbox.put(json.loads(body))
        except Exception as e:  # reported by whoever waits next
            self.inbox.put(e)

    def send(self, message):
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _next(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise DapError("timed out waiting for " + what)
        try:
            m = self.inbox.get(timeout=left)
        except queue.Empty:
            raise DapError("timed out waiting for " + what)
        if m is None:
            raise DapError("rewind-dap closed its output while waiting for " + what)
        if isinstance(m, Exception):
            raise DapError("reading rewind-dap's output: %s" % m)
        if m.get("type") == "event":
            self.events.append(m)
            self.all_events.append(m)
        return m

    def send_request(self, command, arguments=None):
        """Sends a request; its response is collected by wait_response."""
        self.seq += 1
        msg = {"seq": self.seq, "type": "request", "command": command}
        if arguments is not None:
            msg["arguments"] = arguments
        self.send(msg)
        return self.seq

    def wait_response(self, seq, command, timeout=60, check=True):
        deadline = time.monotonic() + timeout
        while True:
            if seq in self.responses:
                m = self.responses.pop(seq)
                break
            m = self._next(deadline, "the response to %s" % command)
            if m.get("type") == "response" and m.get("request_seq") != seq:
                self.responses[m.get("request_seq")] = m
                continue
            if m.get("type") == "response":
                break
        if m.get("command") != command:
            raise DapError("response to %s names %r" % (command, m.get("command")))
        if check and not m.get("success"):
            raise DapError("%s failed: %s" % (command, m.get("message")))
        return m

    def request(self, command, arguments=None, timeout=60, check=True):
        """Sends a request and returns its response; events on the way are kept."""
        return self.wait_response(self.send_request(command, arguments), command, timeout, check)

    def wait_event(self, name, timeout=60, pred=lambda e: True):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("event") == name and pred(e):
                    del self.events[i]
                    return e
            self._next(deadline, "a %s event" % name)

    def drop_events(self, name):
        """Forgets unconsumed events called `name`; returns how many there were."""
        n = len([e for e in self.events if e.get("event") == name])
        self.events = [e for e in self.events if e.get("event") != name]
        return n

    def output_text(self):
        return "".join(e["body"].get("output", "") for e in self.all_events
                       if e.get("event") == "output")

    def wait_exit(self, timeout=60):
        self.proc.stdin.close()
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
