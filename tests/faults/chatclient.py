# SPDX-License-Identifier: GPL-3.0-or-later
"""A small CHAT/1 client for the fault tests and the soak (PROTOCOL.md
section 3): line I/O over a socket, with timeouts."""

import socket
import time

from echodtest import Skip, connect


class Chat:
    def __init__(self, port, nick, room=None, src=None, timeout=5.0):
        if src:
            self.s = socket.socket()
            self.s.bind((src, 0))
            self.s.settimeout(timeout)
            self.s.connect(("127.0.0.1", port))
        else:
            self.s = connect(port, timeout=timeout)
        self.buf = bytearray()
        self.timeout = timeout
        if nick is not None:
            self.greeting = self.send_line(
                "CHAT/1 %s%s" % (nick, " " + room if room else ""))

    def send(self, data):
        self.s.sendall(data)

    def send_line(self, line):
        self.s.sendall(line.encode() + b"\n" if isinstance(line, str) else line + b"\n")

    def line(self, timeout=None):
        """The next line without its LF, as bytes; None at EOF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no line within %.1fs (have %r)"
                                     % (timeout or self.timeout, bytes(self.buf[:200])))
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        i = self.buf.index(b"\n")
        out = bytes(self.buf[:i])
        del self.buf[:i + 1]
        return out

    def expect(self, prefix, timeout=None):
        """Skip PART/JOIN/NICK noise until a line starting with prefix."""
        while True:
            ln = self.line(timeout)
            if ln is None:
                raise AssertionError("EOF while waiting for %r" % prefix)
            if ln.startswith(prefix.encode() if isinstance(prefix, str) else prefix):
                return ln

    def close(self):
        self.s.close()


def require_chat(port):
    """Skip unless echod answers a greeting with OK (the chat work has
    landed); until then a greeting is served as echo."""
    c = Chat(port, None)
    c.send_line("CHAT/1 probe")
    try:
        ln = c.line(timeout=2)
    except socket.timeout:
        ln = None
    c.close()
    if not ln or not ln.startswith(b"OK "):
        raise Skip("chat not available yet (greeting answered with %r)" % ln)
