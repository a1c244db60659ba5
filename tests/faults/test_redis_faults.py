# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: a Redis that is not a good one ([cluster], daemon/cluster.c). A
fake server on a free port answers every command with garbage, with a
plain +OK where an array is due, with half a reply and a close, with a
reply far too long, or not at all. Each time echod must say what was
wrong in its log, refuse chat with BYE restart (never OK, never a hang),
keep echoing, stay up, and keep its memory bounded."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))

from echodtest import Echod, check, echo_roundtrip, free_port, proc_status_kb, scaled, wait_for  # noqa: E402
from chatclient import Chat  # noqa: E402

TIMEOUTS = {"test_stalled_redis_refuses_chat_keeps_echo": 60}


class FakeRedis:
    """Accepts connections; answer(conn, data) decides what each read gets."""

    def __init__(self, answer):
        self.answer = answer
        self.port = free_port()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", self.port))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.stop = False
        self.conns = []
        self.accepted = 0
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.settimeout(0.2)
        while not self.stop:
            try:
                d = c.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not d:
                return
            try:
                if self.answer(c, d) is False:
                    c.close()
                    return
            except OSError:
                return

    def close(self):
        self.stop = True
        self.ls.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def node(redis_port):
    return Echod(ini={"cluster": {"redis": "127.0.0.1:%d" % redis_port,
                                  "node": "faulty"}})


def refuses_chat_keeps_echo(d, pattern):
    d.wait_log(pattern, timeout=15, what="the Redis fault in the log")
    c = Chat(d.port, "alice", "lobby", timeout=10)
    first = c.line(timeout=10)
    check(first == b"BYE restart", "a greeting got %r, not BYE restart" % first)
    check(echo_roundtrip(d.port, b"still echoing\n") == b"still echoing\n",
          "echo failed while Redis is bad")
    check(d.alive(), "echod died")


def test_garbage_answers():
    f = FakeRedis(lambda c, d: c.sendall(b"@@@ not RESP at all\r\n"))
    try:
        with node(f.port) as d:
            refuses_chat_keeps_echo(d, r"cluster: Redis .*(rotocol|garbage)")
            # It keeps trying, with backoff, not in a tight loop.
            n = f.accepted
            time.sleep(1.0)
            check(f.accepted - n < 40, "reconnected %d times in 1 s" % (f.accepted - n))
    finally:
        f.close()


def test_ok_where_an_array_is_due():
    f = FakeRedis(lambda c, d: c.sendall(b"+OK\r\n" * d.count(b"\r\n*")
                                         if d.count(b"\r\n*") else b"+OK\r\n"))
    try:
        with node(f.port) as d:
            refuses_chat_keeps_echo(d, r"cluster: Redis .*garbage")
    finally:
        f.close()


def test_half_a_reply_then_close():
    f = FakeRedis(lambda c, d: (c.sendall(b"*3\r\n:1\r\n"), False)[1])
    try:
        with node(f.port) as d:
            refuses_chat_keeps_echo(d, r"cluster: Redis .*(lost|closed|reset)")
    finally:
        f.close()


def test_reply_too_long_is_garbage_and_memory_stays_bounded():
    chunk = b"x" * (1 << 20)

    def answer(c, d):
        c.sendall(b"$200000000\r\n")
        for _ in range(48):  # 48 MiB of a bulk of 200 MB
            c.sendall(chunk)
        return False

    f = FakeRedis(answer)
    try:
        with node(f.port) as d:
            refuses_chat_keeps_echo(d, r"cluster: Redis .*(too long|lost|closed)")
            # 48 MiB sent against a 16 MiB bound: the hub stays well
            # below what it was sent (the sanitizers' own memory aside).
            limit = scaled(120 * 1024, 600 * 1024)
            for pid in d.descendants():
                rss = proc_status_kb(pid, "VmHWM")
                check(rss is None or rss < limit,
                      "process %d reached %s KiB" % (pid, rss))
    finally:
        f.close()


def test_stalled_redis_refuses_chat_keeps_echo():
    f = FakeRedis(lambda c, d: None)  # reads, never answers
    try:
        with node(f.port) as d:
            t0 = time.monotonic()
            d.wait_log(r"cluster: Redis .*no answer", timeout=20,
                       what="the stall seen")
            check(time.monotonic() - t0 < 20, "stall not seen")
            refuses_chat_keeps_echo(d, r"cluster: Redis .*no answer")
            # The engine accepts and echoes all along: many at once.
            for i in range(20):
                msg = b"echo %d\n" % i
                check(echo_roundtrip(d.port, msg) == msg, "echo %d failed" % i)
    finally:
        f.close()


def test_no_redis_at_all():
    port = free_port()  # nobody listens
    with node(port) as d:
        refuses_chat_keeps_echo(d, r"cluster: Redis .*(refused|connect)")
        wait_for(lambda: d.alive(), 1.0)
