# SPDX-License-Identifier: GPL-3.0-or-later
"""A small CHAT/1 server in Python, for chatctl tests that need a server
echod would never be: one that sends hostile bytes (escape sequences, bidi
overrides, invalid UTF-8, endless lines) or misbehaves on purpose.

It speaks enough of PROTOCOL.md section 3 for chatctl (greeting, MSG, ME,
NICK, JOIN, WHO, PING, QUIT) in one room per name, and lets a test inject
raw bytes to any client. Python 3 standard library only.
"""

import socket
import threading
import time


class Client:
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.nick = None
        self.room = None
        self.lock = threading.Lock()
        self.received = []  # lines from the client, as bytes

    def send(self, data):
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass


class ChatMock:
    """Use as a context manager. port: where it listens on 127.0.0.1.

    on_greet(client): called after a client's OK, e.g. to send it hostile
    lines; greet_reply: raw bytes to answer every greeting with instead of
    OK (e.g. b"ERR nick-taken x\\n").
    """

    def __init__(self, on_greet=None, greet_reply=None, host="127.0.0.1"):
        self.on_greet = on_greet
        self.greet_reply = greet_reply
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.lsock = socket.socket(family, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.clients = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            for c in self.clients:
                try:
                    c.sock.close()
                except OSError:
                    pass

    def members(self, room):
        with self.lock:
            return sorted(c.nick for c in self.clients if c.room == room and c.nick)

    def client(self, nick, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for c in self.clients:
                    if c.nick == nick:
                        return c
            time.sleep(0.02)
        raise AssertionError("no client %r connected" % nick)

    def room_send(self, room, data):
        with self.lock:
            targets = [c for c in self.clients if c.room == room]
        for c in targets:
            c.send(data)

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            c = Client(self, s)
            with self.lock:
                self.clients.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _now(self):
        return int(time.time() * 1000)

    def _serve(self, c):
        buf = b""
        try:
            while True:
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    c.received.append(line)
                    if not self._line(c, line.rstrip(b"\r")):
                        return
        except OSError:
            pass
        finally:
            self._leave(c, "closed")
            try:
                c.sock.close()
            except OSError:
                pass

    def _leave(self, c, reason):
        with self.lock:
            if c in self.clients:
                self.clients.remove(c)
            room, nick = c.room, c.nick
            c.room = None
        if room and nick:
            self.room_send(room, b"PART %d %s %s\n" % (self._now(), nick.encode(), reason.encode()))

    def _line(self, c, line):
        words = line.split(b" ")
        cmd = words[0]
        now = self._now()
        if c.nick is None:
            if cmd != b"CHAT/1" or len(words) not in (2, 3):
                c.send(b"ERR bad-greeting expected CHAT/1 <nick> [<room>]\n")
                return True
            if self.greet_reply is not None:
                c.send(self.greet_reply)
                return True
            nick = words[1].decode()
            room = words[2].decode() if len(words) == 3 else "lobby"
            if nick in self.members(room) or any(x.nick == nick for x in self.clients):
                c.send(b"ERR nick-taken %s is taken\n" % words[1])
                return True
            self.room_send(room, b"JOIN %d %s\n" % (now, nick.encode()))
            c.nick, c.room = nick, room
            c.send(b"OK %s %s %d\n" % (nick.encode(), room.encode(), len(self.members(room))))
            if self.on_greet:
                self.on_greet(c)
            return True
        rest = line[len(cmd) + 1:]
        if cmd in (b"MSG", b"ME"):
            self.room_send(c.room, b"%s %d %s %s\n" % (cmd, now, c.nick.encode(), rest))
        elif cmd == b"NICK":
            old = c.nick
            c.nick = rest.decode()
            self.room_send(c.room, b"NICK %d %s %s\n" % (now, old.encode(), rest))
            c.send(b"OK %s %s %d\n" % (rest, c.room.encode(), len(self.members(c.room))))
        elif cmd == b"JOIN":
            old = c.room
            c.room = None
            self.room_send(old, b"PART %d %s moved\n" % (now, c.nick.encode()))
            self.room_send(rest.decode(), b"JOIN %d %s\n" % (now, c.nick.encode()))
            c.room = rest.decode()
            c.send(b"OK %s %s %d\n" % (c.nick.encode(), rest, len(self.members(c.room))))
        elif cmd == b"WHO":
            c.send(b"WHO " + " ".join(self.members(c.room)).encode() + b"\n")
        elif cmd == b"PING":
            c.send(b"PONG " + rest + b"\n")
        elif cmd == b"QUIT":
            self._leave(c, "quit")
            c.send(b"BYE quit\n")
            return False
        else:
            c.send(b"ERR unknown-command what is %s\n" % cmd[:20])
        return True
