# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: a flash crowd of chat members (issue 14, admission). Hundreds of
members from many 127.0.0.X addresses connect and greet at once; every one
gets its OK, and none gets BYE restart while the hub is alive: the door to
the hub holds a member back while the hub is busy, never refuses it. The
hub is made busy for longer than a worker once waited (10 s) by stopping
it (SIGSTOP) while the crowd greets, then letting it go on. Hostile
greeters mixed in (bad nicks, QUIT at once, never reading, reset at once)
do not keep honest members out, and a reset one leaves while queued.

Run as a script for a measurement (not a test): python3 test_chat_crowd.py
[members [addresses]] prints how long the crowd took to get its OKs."""

import errno
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))

from chatclient import require_chat  # noqa: E402
from echodtest import Echod, Skip, check, fd_count, scaled  # noqa: E402

TIMEOUTS = {"test_crowd_all_get_ok": 180, "test_crowd_with_hostile_greeters": 180,
            "test_crowd_behind_a_busy_hub": 180}

ROOM = "crowd"
# How long the hub is stopped: longer than a worker waited for the door
# before it said BYE restart (10 s), shorter than a door standing still
# takes to mean the hub is gone (30 s).
FREEZE_S = 12
HOSTILE = ("badnick", "quit", "mute", "reset")


def raise_nofile(need):
    """Raise our RLIMIT_NOFILE to need (the daemon inherits it); skip if
    the hard limit does not allow it and we may not raise that."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(need, soft), max(need, hard)))
    except (ValueError, OSError):
        if hard < need:
            raise Skip("RLIMIT_NOFILE hard limit %d < %d needed for the crowd" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def sources(naddr):
    """naddr loopback addresses to connect from, or skip."""
    out = ["127.0.0.%d" % (2 + i) for i in range(naddr)]
    try:
        s = socket.socket()
        s.bind((out[-1], 0))
        s.close()
    except OSError as e:
        raise Skip("cannot bind to %s: %s" % (out[-1], e))
    return out


def crowd_ini(n):
    limit = max(2 * n + 64, 1024)
    return {"server": {"max_connections": limit, "max_per_source": limit,
                       "backlog": 4096, "idle_timeout": 120},
            "chat": {"max_members_per_room": limit}}


class Member:
    __slots__ = ("i", "kind", "sock", "out", "buf", "ok_at", "bye", "eof",
                 "err", "first")

    def __init__(self, i, kind):
        self.i, self.kind = i, kind
        self.sock = None
        self.out = b""
        self.buf = b""  # the first bytes, until the first line is whole
        self.first = None  # the first line
        self.ok_at = None
        self.bye = None  # the first BYE line seen
        self.eof = False
        self.err = None


def greeting(m):
    if m.kind == "badnick":
        return b"CHAT/1 bad!nick%d %s\n" % (m.i, ROOM.encode())
    if m.kind == "quit":
        return b"CHAT/1 q%d %s\nQUIT\n" % (m.i, ROOM.encode())
    if m.kind == "mute":
        return b"CHAT/1 mute%d %s\n" % (m.i, ROOM.encode())
    if m.kind == "reset":
        return b"CHAT/1 rst%d %s\n" % (m.i, ROOM.encode())
    return b"CHAT/1 m%d %s\n" % (m.i, ROOM.encode())


def done(m):
    """Has m had what the crowd waits for?"""
    if m.kind == "honest":
        return m.ok_at is not None
    if m.kind == "quit":
        return m.bye is not None or m.eof
    return m.first is not None


def run_crowd(port, kinds, addrs, timeout, at=None):
    """Connect every member at once (non-blocking), greet, and read until
    every honest member has its OK or timeout; at: [(seconds, function)],
    in order, to call that long after the start. Returns (members, selector, seconds
    from the first connect to the last honest OK or None)."""
    sel = selectors.DefaultSelector()
    members = [Member(i, k) for i, k in enumerate(kinds)]
    t0 = time.monotonic()
    for m in members:
        s = socket.socket()
        s.setblocking(False)
        s.bind((addrs[m.i % len(addrs)], 0))
        m.sock = s
        m.out = greeting(m)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            m.err = os.strerror(err)
            s.close()
            continue
        sel.register(s, selectors.EVENT_WRITE, m)
    honest = [m for m in members if m.kind == "honest"]
    # Everyone who reads: honest members until their OK, the others until
    # their first line and, for quitters, the BYE.
    pending = set(m.i for m in members if m.kind != "mute" and m.err is None)
    deadline = t0 + timeout
    while pending and time.monotonic() < deadline:
        while at and time.monotonic() >= t0 + at[0][0]:
            at.pop(0)[1]()
        for key, ev in sel.select(0.2):
            m = key.data
            if ev & selectors.EVENT_WRITE:
                try:
                    k = m.sock.send(m.out)
                except OSError as e:
                    m.err = str(e)
                    sel.unregister(m.sock)
                    pending.discard(m.i)
                    continue
                m.out = m.out[k:]
                if not m.out:
                    # A mute member never reads: not registered at all.
                    if m.kind == "mute":
                        sel.unregister(m.sock)
                    elif m.kind == "reset":
                        sel.unregister(m.sock)
                        m.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0))
                        m.sock.close()  # an RST
                        m.sock = None
                        pending.discard(m.i)
                    else:
                        sel.modify(m.sock, selectors.EVENT_READ, m)
                continue
            try:
                data = m.sock.recv(65536)
            except OSError as e:
                data = b""
                m.err = str(e)
            if not data:
                m.eof = True
                sel.unregister(m.sock)
                pending.discard(m.i)
                continue
            if m.first is None:
                m.buf += data
                if b"\n" not in m.buf:
                    continue
                m.first = m.buf.split(b"\n", 1)[0]
                if m.first.startswith(b"OK "):
                    m.ok_at = time.monotonic() - t0
                data, m.buf = m.buf, b""
            if m.bye is None and b"BYE" in data:
                i = data.index(b"BYE")
                m.bye = data[i:data.find(b"\n", i)]
            if done(m):
                pending.discard(m.i)
    times = [m.ok_at for m in honest if m.ok_at is not None]
    return members, sel, (max(times) if len(times) == len(honest) else None)


def close_all(members, sel):
    sel.close()
    for m in members:
        if m.sock is not None:
            m.sock.close()


def summary(members):
    honest = [m for m in members if m.kind == "honest"]
    missing = [m for m in honest if m.ok_at is None]
    byes = [m for m in honest if m.bye is not None]
    out = "%d honest, %d without OK, %d with BYE" % (len(honest), len(missing), len(byes))
    for m in (missing + byes)[:5]:
        out += "; m%d: first %r bye %r eof %s err %s" % (m.i, m.first, m.bye, m.eof, m.err)
    return out


def crowd_test(n, naddr, hostile, freeze=False):
    kinds = []
    for i in range(n):
        kinds.append("honest")
        if hostile:
            kinds.append(HOSTILE[i % len(HOSTILE)])
    raise_nofile(4 * len(kinds) + 256)
    addrs = sources(naddr)
    with Echod(ini=crowd_ini(len(kinds))) as d:
        require_chat(d.port)
        at = []
        left = []  # processes besides the hub, halfway through the stop
        if freeze:
            hub = d.children_by_comm("echod-hub")[0]
            os.kill(hub, signal.SIGSTOP)
            # Halfway: before a worker gave up waiting for the door (10 s).
            at = [(FREEZE_S / 2, lambda: left.append(len(d.children()) - 1)),
                  (FREEZE_S, lambda: os.kill(hub, signal.SIGCONT))]
        try:
            members, sel, took = run_crowd(d.port, kinds, addrs,
                                           scaled(60, 120) + (FREEZE_S if freeze else 0), at)
        finally:
            if freeze:
                os.kill(hub, signal.SIGCONT)
        try:
            check(took is not None, "the crowd did not all get OK: " + summary(members))
            check(not any(m.bye for m in members if m.kind == "honest"),
                  "an honest member got BYE: " + summary(members))
            check("cannot reach the hub" not in d.log(), "a worker could not reach the hub")
            # Workers whose clients reset while queued for the stopped hub
            # are gone before it goes on; every other member's stays (a bad
            # nick's waits for its next line), and some spares.
            if freeze and "reset" in kinds:
                stay = sum(1 for m in members if m.kind != "reset")
                check(left[0] <= stay + 16,
                      "%d processes for %d members that did not reset" % (left[0], stay))
            # The hub holds two descriptors per member it was given (link
            # and client) and nothing for greetings its workers refused.
            hub = d.children_by_comm("echod-hub")[0]
            given = sum(1 for m in members if m.kind != "badnick")
            check(fd_count(hub) <= 2 * given + 64,
                  "the hub holds %d descriptors for %d members" % (fd_count(hub), given))
            for m in members:
                if m.kind == "badnick":
                    check(m.first is not None and m.first.startswith(b"ERR "),
                          "bad nick m%d got %r, not ERR" % (m.i, m.first))
                if m.kind == "quit":
                    # Its BYE quit may be lost: a worker waits only a second
                    # for the hub to let go after QUIT, and the hub is busy
                    # with the crowd then; never BYE restart, though.
                    check(m.first is not None and m.first.startswith(b"OK ")
                          and m.bye in (b"BYE quit", None),
                          "quitter q%d got %r then %r, not OK then BYE quit"
                          % (m.i, m.first, m.bye))
        finally:
            close_all(members, sel)


def test_crowd_all_get_ok():
    """600 members from 12 addresses greet at once: all get OK, no BYE."""
    crowd_test(600, 12, hostile=False)


def test_crowd_behind_a_busy_hub():
    """600 members greet while the hub is stopped for longer than a worker
    used to wait for the door: once it goes on, all get OK, none BYE."""
    crowd_test(600, 12, hostile=False, freeze=True)


def test_crowd_with_hostile_greeters():
    """400 honest members and 400 hostile greeters (bad nicks, QUIT at once,
    never reading), interleaved, greet while the hub is stopped: every
    honest one gets OK, every bad nick its ERR."""
    crowd_test(400, 16, hostile=True, freeze=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    naddr = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    hostile = len(sys.argv) > 3 and sys.argv[3] == "hostile"
    kinds = []
    for i in range(n):
        kinds.append("honest")
        if hostile:
            kinds.append(HOSTILE[i % len(HOSTILE)])
    raise_nofile(4 * len(kinds) + 256)
    addrs = sources(naddr)
    ini = {"server": {"max_connections": 6000, "max_per_source": 6000,
                      "backlog": 4096, "idle_timeout": 300},
           "chat": {"max_members_per_room": 6000}}
    with Echod(ini=ini) as d:
        require_chat(d.port)
        members, sel, took = run_crowd(d.port, kinds, addrs, 60)
        honest = [m for m in members if m.kind == "honest"]
        ok = sorted(m.ok_at for m in honest if m.ok_at is not None)
        print("members %d (hostile %s) from %d addresses" % (n, hostile, naddr))
        print("OK: %d of %d; last OK at %s s" % (len(ok), n, "%.2f" % ok[-1] if ok else "-"))
        for q in (0.5, 0.9, 0.99):
            if ok:
                print("  p%d: %.2f s" % (q * 100, ok[min(len(ok) - 1, int(q * len(ok)))]))
        # Order: how far each OK came from its place in the connect order.
        by_ok = sorted((m for m in honest if m.ok_at is not None), key=lambda m: m.ok_at)
        place = {m.i: k for k, m in enumerate(honest)}
        disp = [abs(k - place[m.i]) for k, m in enumerate(by_ok)]
        if disp:
            print("OK order: mean displacement %.0f, max %d (of %d)" % (
                sum(disp) / len(disp), max(disp), len(disp)))
        print("BYE: %d; unreachable hub in log: %d" % (
            sum(1 for m in honest if m.bye), d.log().count("cannot reach the hub")))
        print(summary(members))
        close_all(members, sel)


if __name__ == "__main__":
    main()
