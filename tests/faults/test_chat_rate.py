# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: one chat member floods (SECURITY.md, "chat members, toward each
other"). Its worker holds it to [chat] rate_lines / rate_bytes by not
reading it (TCP backpressure): a reader at 40 KB/s in the same room is not
dropped as slow, the flooder is slowed but not dropped and none of its
lines is lost; a typist and a paste never meet the limit; a JOIN storm is
not a storm of log lines."""

import socket
import threading
import time

from chatclient import Chat, require_chat
from echodtest import Echod, check, wait_for

TIMEOUTS = {"test_flooder_is_slowed_reader_survives": 150}

FLOOD_RATE = 150          # lines per second the flooder tries
LINE = 1024               # bytes per flooder line, LF included
FLOOD_SECS = 10           # the old release dropped the reader within 5.3 s
READER_BPS = 40 * 1024    # the slow reader's pace
HELD = "held back by the rate limit"


def chat_socket(port, nick, room, rcvbuf=None, sndbuf=None, timeout=30.0):
    """A Chat whose socket buffers are set before connect (so the kernel
    does not grow them): the test's pace is then the one it says."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    c = Chat.__new__(Chat)
    c.s, c.buf, c.timeout = s, bytearray(), timeout
    c.send_line("CHAT/1 %s %s" % (nick, room))
    check(c.expect("OK ").startswith(b"OK %s " % nick.encode()), "%s greeting" % nick)
    return c


class PacedReader(threading.Thread):
    """Reads a member's socket at most bps bytes a second and keeps the
    numbers of the flooder's lines, and how the connection ended."""

    def __init__(self, c, bps, sender):
        super().__init__(daemon=True)
        # A socket object of its own: its timeout is not the sender's.
        self.s = c.s.dup()
        self.c, self.bps, self.sender = c, bps, sender.encode()
        self.seqs, self.ended, self.stop = [], None, threading.Event()
        self.pongs = []

    def run(self):
        tick = 0.05
        self.s.settimeout(0.5)
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                chunk = self.s.recv(max(1, int(self.bps * tick)))
            except socket.timeout:
                continue
            except OSError as e:
                self.ended = "error %r" % e
                return
            if not chunk:
                self.ended = "EOF"
                return
            self.c.buf += chunk
            while b"\n" in self.c.buf:
                i = self.c.buf.index(b"\n")
                ln = bytes(self.c.buf[:i])
                del self.c.buf[:i + 1]
                parts = ln.split(b" ", 4)
                if ln.startswith(b"MSG ") and len(parts) >= 4 and parts[2] == self.sender:
                    self.seqs.append(int(parts[3]))
                elif ln.startswith(b"PONG"):
                    self.pongs.append(ln)
                elif ln.startswith(b"BYE"):
                    self.ended = ln.decode()
            left = tick - (time.monotonic() - t0)
            if left > 0:
                time.sleep(left)


def flood(c, stop_at):
    """FLOOD_RATE lines a second of LINE bytes until stop_at; a blocked
    send is the worker holding us back. Returns how many were sent."""
    n, t0 = 0, time.monotonic()
    pad = b"x" * LINE
    while time.monotonic() < stop_at:
        head = b"MSG %d " % n
        c.send(head + pad[:LINE - len(head) - 1] + b"\n")
        n += 1
        nxt = t0 + n / FLOOD_RATE
        if nxt > time.monotonic():
            time.sleep(nxt - time.monotonic())
    return n


def test_flooder_is_slowed_reader_survives():
    with Echod() as d:
        require_chat(d.port)
        since = d.log_size()
        rd = chat_socket(d.port, "reader", "flood", rcvbuf=16384)
        fl = chat_socket(d.port, "flooder", "flood", sndbuf=16384)
        rd.expect("JOIN ")
        reader = PacedReader(rd, READER_BPS, "flooder")
        own = PacedReader(fl, 64 << 20, "flooder")  # the flooder reads its echo
        reader.start()
        own.start()
        try:
            sent = flood(fl, time.monotonic() + FLOOD_SECS)
            # The log says at once; the reader would see its BYE only
            # after what is queued for it.
            dropped = "slow member dropped" in d.log(since)
            check(not dropped and reader.ended is None, "the reader at 40 KB/s was "
                  "dropped (%s) by one flooder after %d of its lines"
                  % (reader.ended or "log: slow member dropped", len(reader.seqs)))
            check(own.ended is None, "the flooder was dropped (%s): it should only be slowed"
                  % own.ended)
            check(sent < FLOOD_RATE * FLOOD_SECS * 0.8,
                  "the flooder sent %d lines in %ds unhindered: no rate limit"
                  % (sent, FLOOD_SECS))
            fl.send_line("PING end")
            # Everything it sent arrives, in order, however slowly.
            wait_for(lambda: own.pongs or own.ended, 120, interval=0.2,
                     what="the flooder's PONG after its %d lines" % sent)
            check(own.pongs == [b"PONG end"], "flooder: %s, %r" % (own.ended, own.pongs))
            wait_for(lambda: len(reader.seqs) >= sent or reader.ended, 60, interval=0.2,
                     what="the reader to get all %d lines" % sent)
            check(reader.ended is None, "reader dropped: %s" % reader.ended)
            check(reader.seqs == list(range(sent)),
                  "lines lost or reordered: got %d of %d, first gap at %s" % (
                      len(reader.seqs), sent,
                      next((i for i, v in enumerate(reader.seqs) if v != i), None)))
            check(own.seqs == list(range(sent)), "the flooder's own receipts: %d of %d"
                  % (len(own.seqs), sent))
        finally:
            reader.stop.set()
            own.stop.set()
            reader.join(5)
            own.join(5)
        log = d.log(since)
        check("slow member dropped" not in log, "someone dropped as slow:\n%s" % log[-2000:])
        check(log.count(HELD) == 1, "the limiter's note not logged once")


def test_typist_and_paste_are_never_held():
    with Echod() as d:
        require_chat(d.port)
        since = d.log_size()
        rd = Chat(d.port, "reader", "typing")
        rd.expect("OK ")
        ty = Chat(d.port, "typist", "typing")
        ty.expect("OK ")
        rd.expect("JOIN ")
        text = "a pasted line of about sixty bytes, as a terminal holds %03d"
        ty.send(b"".join(b"MSG " + (text % i).encode() + b"\n" for i in range(100)))
        for i in range(100):
            ln = rd.expect("MSG ", timeout=10)
            check(ln.endswith((text % i).encode()), "paste line %d: %r" % (i, ln))
        for i in range(20):  # then a fast typist: a line every 0.2 s
            ty.send_line("MSG typed %d" % i)
            ln = rd.expect("MSG ", timeout=10)
            check(ln.endswith(b"typed %d" % i), "typed line %d: %r" % (i, ln))
            time.sleep(0.2)
        check(HELD not in d.log(since), "a typist was held back by the rate limit")


def storm(d, secs):
    """One client sends JOINs and NICKs as fast as it can for secs; its
    answers are read (and thrown away) meanwhile."""
    c = Chat(d.port, "stormer", "home")
    c.expect("OK ")
    stop = threading.Event()

    def drain():
        c.s.settimeout(0.5)
        while not stop.is_set():
            try:
                if not c.s.recv(1 << 16):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    end, i = time.monotonic() + secs, 0
    c.s.settimeout(1.0)
    while time.monotonic() < end:
        batch = b"".join(b"JOIN r%d\nNICK n%d\n" % (i + k, i + k) for k in range(50))
        try:
            c.send(batch)
        except socket.timeout:
            pass  # held back: the storm goes on from here
        i += 50
    stop.set()
    t.join(5)
    c.close()


def join_storm_log(ini):
    with Echod(ini=ini) as d:
        require_chat(d.port)
        Chat(d.port, "bystander", "home").expect("OK ")
        since = d.log_size()
        storm(d, 3)
        time.sleep(1.2)  # a window closes: the last count is due
        Chat(d.port, "late", "home").send_line("JOIN elsewhere")
        time.sleep(0.5)
        log = d.log(since)
        lines = log.count("\n")
        check(lines < 200, "a 3 s JOIN/NICK storm wrote %d log lines" % lines)
        check("room moves and nick changes not logged" in log,
              "no count of the suppressed lines:\n%s" % log[-2000:])
        check("chat join" in log, "no room move logged at all")
        check("chat nick" in log, "no nick change logged at all")


def test_join_storm_is_not_a_log_storm():
    join_storm_log(None)


def test_join_storm_log_limited_with_rate_limit_off():
    # The log's own limit, without the worker's to help it.
    join_storm_log({"chat": {"rate_lines": 0, "rate_bytes": 0}})
