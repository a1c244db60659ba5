# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: a compromised worker writes garbage on every internal channel it
holds: the hub's door, the log channel to the control plane, and its own
link to the hub. Each receiver drops what it cannot check (and, on a link,
that member), logs it without flooding, and goes on serving everyone else.

The test takes the worker's descriptors with pidfd_getfd(2), as code
running in that worker could use them."""

import ctypes
import re
import os
import socket
import struct
import time

from chatclient import Chat
from echodtest import (Echod, Skip, check, connect, echo_roundtrip, proc_comm,
                       wait_for)

SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438
ENGINE_FD_LOG = 4          # daemon/planes.h
DOOR_MEMBER = 1            # daemon/chatlink.h
LOGREC_ENTRY, LOGREC_FLUSH = 1, 2   # daemon/logrec.h
LINK_MSG = 2               # daemon/chatlink.h

_libc = ctypes.CDLL(None, use_errno=True)


def steal(pid, fd):
    """A copy of pid's descriptor fd, as a socket object."""
    pidfd = _libc.syscall(SYS_PIDFD_OPEN, pid, 0)
    if pidfd < 0:
        raise Skip("pidfd_open: %s" % os.strerror(ctypes.get_errno()))
    try:
        n = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if n < 0:
            raise Skip("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
    finally:
        os.close(pidfd)
    return socket.socket(fileno=n)


def seqpacket_fds(pid):
    """The AF_UNIX SOCK_SEQPACKET descriptors pid holds."""
    out = []
    for name in os.listdir("/proc/%d/fd" % pid):
        fd = int(name)
        try:
            if not os.readlink("/proc/%d/fd/%d" % (pid, fd)).startswith("socket:"):
                continue
            s = steal(pid, fd)
        except OSError:
            continue
        if s.family == socket.AF_UNIX and s.type == socket.SOCK_SEQPACKET:
            out.append((fd, s))
        else:
            s.close()
    return out


def msg(type_, payload=b"", flags=0, length=None):
    """An ipc.h message: type, flags, payload length, payload."""
    return struct.pack("<HHI", type_, flags,
                       len(payload) if length is None else length) + payload


def logrec(fields, role=b"worker", msgtext=b"hello"):
    """A logrec.h record with the given raw "NAME=value" fields."""
    b = struct.pack("<BBBBiII", 6, 0, len(fields), 0, 0, 1, 0)
    for s in [b"x.c", b"f", role, msgtext] + fields:
        b += struct.pack("<H", len(s)) + s
    return msg(LOGREC_ENTRY, b)


def send_quiet(s, data, fds=()):
    try:
        if fds:
            socket.send_fds(s, [data], list(fds))
        else:
            s.send(data)
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass


def newest_worker(d, before):
    return wait_for(lambda: ([p for p in d.workers() if p not in before] or [None])[-1],
                    5, what="the new worker")


def hub_alice_and_an_echo_worker(d):
    """The hub, alice greeted in room r, and an echo client with the worker
    serving it (whose descriptors a test takes: the door, the log)."""
    hub = wait_for(lambda: (d.children_by_comm("echod-hub") or [None])[0], 5,
                   what="the hub")
    alice = Chat(d.port, "alice", "r")
    check(alice.expect("OK"), "alice not greeted")
    before = set(d.workers())
    victim = connect(d.port)
    victim.sendall(b"x")
    check(victim.recv(1) == b"x", "no echo")
    return hub, alice, victim, newest_worker(d, before)


def test_garbage_on_the_door_and_the_log_channel():
    with Echod(ini={"server": {"spares": "0"}}) as d:
        engine = d.engine()
        hub, alice, victim, w = hub_alice_and_an_echo_worker(d)
        chans = dict(seqpacket_fds(w))
        check(ENGINE_FD_LOG in chans, "worker %d has no log channel at fd 4: %s"
              % (w, sorted(chans)))
        log = chans.pop(ENGINE_FD_LOG)
        check(len(chans) == 1, "worker %d: want one door, have %s" % (w, sorted(chans)))
        door = list(chans.values())[0]
        for s in (log, door):
            s.setblocking(False)
        since = d.log_size()
        spare = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

        # The door: empty packets, short and lying headers, a member message
        # with no, one or three descriptors, a wrong magic.
        good = struct.pack("<IIII", 0x4543484d, 0, 0, 0) + b"\0" * 128
        for _ in range(300):
            send_quiet(door, b"")
        for data, fds in ((b"abc", ()), (msg(DOOR_MEMBER, good, length=9), ()),
                          (msg(DOOR_MEMBER, good, flags=1), ()),
                          (msg(DOOR_MEMBER, good), ()),
                          (msg(DOOR_MEMBER, good), (spare[0].fileno(),)),
                          (msg(DOOR_MEMBER, good), (spare[0].fileno(),) * 3),
                          (msg(DOOR_MEMBER, b"\0" * len(good)),
                           (spare[0].fileno(), victim.fileno())),
                          (msg(99, b"zz"), ())):
            send_quiet(door, data, fds)

        # The log channel: the same, and records that lie about themselves.
        for _ in range(300):
            send_quiet(log, b"")
        for data in (b"ab", msg(LOGREC_ENTRY, b"\0" * 5),
                     logrec([b"MESSAGE_ID=a11b254009af4d37a128cdeb7161be1d"]),
                     logrec([b"_PID=1"]), logrec([b"ECHOD_PID=1"]), logrec([b"no equals"]),
                     logrec([], role=b"Control\n"), msg(LOGREC_FLUSH), msg(77, b"q"),
                     logrec([b"X=" + b"v" * 60000])):
            send_quiet(log, data)

        # Everyone else is served: echo, chat in the same room, the hub and
        # the engine are the same processes, and the log keeps flowing.
        check(echo_roundtrip(d.port, b"still here") == b"still here", "echo broken")
        bob = Chat(d.port, "bob", "r")
        check(bob.expect("OK"), "bob not greeted after the garbage")
        bob.send_line("MSG hi")
        check(b"hi" in alice.expect("MSG"), "alice did not get bob's line")
        check(hub in d.children_by_comm("echod-hub"), "the hub was restarted")
        check(d.engine() == engine and d.alive(), "the engine or echod died")
        d.wait_log(r"close 127\.0\.0\.1:\d+ echo", since=since, what="log lines after it")
        text = d.log(since)
        check("a bad record from pid %d" % w in text or "bad record" in text,
              "the log channel's garbage went unmentioned:\n%s" % text[-2000:])
        bad = text.count("bad record") + text.count("on the door, dropped")
        check(bad <= 20, "%d lines about garbage: a log flood" % bad)
        check("a11b254009af4d37a128cdeb7161be1d" not in text, "a forged field got through")
        for c in (alice, bob):
            c.close()
        victim.close()


def test_garbage_on_its_own_link_drops_only_that_member():
    with Echod(ini={"server": {"spares": "0"}}) as d:
        hub = wait_for(lambda: (d.children_by_comm("echod-hub") or [None])[0], 5,
                       what="the hub")
        alice = Chat(d.port, "alice", "r")
        check(alice.expect("OK"), "alice not greeted")
        before = set(d.workers())
        mallory = Chat(d.port, "mallory", "r")
        check(mallory.expect("OK"), "mallory not greeted")
        w = newest_worker(d, before)
        chans = dict(seqpacket_fds(w))
        chans.pop(ENGINE_FD_LOG, None)
        # The worker holds the door and its link; the link is the one whose
        # peer is the hub (the door's other end is held by the engine too).
        links = [s for s in chans.values()]
        check(len(links) == 2, "worker %d: want door and link, have %s" % (w, sorted(chans)))
        for s in links:
            s.setblocking(False)
            # Garbage a link must refuse: empty, short, fds on a link, a
            # MSG whose text is not valid, a type nobody knows.
            send_quiet(s, b"")
        while True:  # PART <time> mallory closed; JOIN and the like first
            ln = alice.expect("PART")
            if ln.split()[2:3] == [b"mallory"]:
                break
        check(proc_comm(hub) == "echod-hub", "the hub died")
        bob = Chat(d.port, "bob", "r")
        check(bob.expect("OK"), "bob not greeted after the garbage")
        bob.send_line("MSG hi")
        check(b"hi" in alice.expect("MSG"), "alice did not get bob's line")
        for c in (alice, bob, mallory):
            c.close()
        time.sleep(0.1)


TIMEOUTS = {"test_each_bad_door_record_drops_only_itself": 90,
            "test_each_bad_link_packet_drops_only_its_member": 90}
LINK_NICK, LINK_WHO = 4, 6  # daemon/chatlink.h
DOOR_LEN = 16 + 128         # struct link_door
QUIET_S = 1.1               # the hub logs garbage once a second per channel


def socket_inode(pid, fd):
    try:
        return os.readlink("/proc/%d/fd/%d" % (pid, fd))
    except OSError:
        return None


def door_and_link(d, w, want_link=True):
    """Worker w's door and link (None for an echo worker): the door is the
    one the engine holds too."""
    engine = d.engine()
    held = {socket_inode(engine, int(n)) for n in os.listdir("/proc/%d/fd" % engine)}
    door = link = None
    for fd, s in seqpacket_fds(w):
        if fd == ENGINE_FD_LOG:
            s.close()
        elif socket_inode(w, fd) in held:
            door = s
        else:
            link = s
    check(door is not None and (link is not None or not want_link),
          "worker %d: no door and link among its descriptors" % w)
    for s in (door, link):
        if s is not None:
            s.setblocking(False)
    return door, link


def still_serving(d, hub, alice, nick):
    """A new member greets and talks, alice hears it, the hub is the same."""
    c = Chat(d.port, nick, "r")
    check(c.expect("OK"), "%s not greeted" % nick)
    c.send_line("MSG after garbage")
    while True:  # JOIN <time> nick first
        ln = alice.expect("MSG")
        if ln.split()[2:3] == [nick.encode()]:
            break
    check(hub in d.children_by_comm("echod-hub"), "the hub was restarted")
    c.close()


def test_each_bad_door_record_drops_only_itself():
    """Every kind of bad record on the door, one at a time: the hub logs what
    was wrong and takes the next member. An empty record is not the end."""
    with Echod(ini={"server": {"spares": "0"}}) as d:
        hub, alice, victim, w = hub_alice_and_an_echo_worker(d)
        door, _ = door_and_link(d, w, want_link=False)
        door.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        spare = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        other = socket.socket()  # a stream socket of our own, not a client's
        good = struct.pack("<IIII", 0x4543484d, 0, 0, 0) + b"\0" * 128
        check(len(good) == DOOR_LEN, "struct link_door changed size")
        two = (spare[0].fileno(), other.fileno())
        cases = [
            (b"", (), "an empty packet on the door"),
            (b"abc", (), "a packet shorter than a header on the door"),
            (msg(DOOR_MEMBER, good, length=9), two,
             "a packet whose length is not the one it states on the door"),
            (msg(DOOR_MEMBER, good + b"\0" * 4096), two,
             "a packet longer than its receiver takes on the door"),
            (msg(DOOR_MEMBER, good, flags=1), two,
             "a packet with reserved flags set on the door"),
            (msg(99, good), two, "a message of type 99, not a member on the door"),
            (msg(DOOR_MEMBER, good[:8]), two,
             "a member message of 8 bytes, not %d on the door" % DOOR_LEN),
            (msg(DOOR_MEMBER, good), (), "a member message with 0 descriptors, not 2"),
            (msg(DOOR_MEMBER, good), (spare[0].fileno(),) * 3,
             "a packet with too many descriptors on the door"),
            (msg(DOOR_MEMBER, b"\0" * DOOR_LEN), two,
             "a member message with a wrong magic 0x00000000 on the door"),
            (msg(DOOR_MEMBER, good), (spare[0].fileno(), spare[1].fileno()),
             "a member message whose client is no stream socket on the door"),
        ]
        for i, (data, fds, said) in enumerate(cases):
            since = d.log_size()
            send_quiet(door, data, fds)
            d.wait_log(re.escape("hub: " + said) + r"[^\n]*, dropped", since=since,
                       what="the hub's line about %r" % said)
            still_serving(d, hub, alice, "n%d" % i)
            time.sleep(QUIET_S)
        check(d.engine() and d.alive(), "echod died")
        check(echo_roundtrip(d.port, b"still here") == b"still here", "echo broken")
        for s in (alice, victim, other, spare[0], spare[1]):
            s.close()


def test_each_bad_link_packet_drops_only_its_member():
    """Every kind of bad packet on a member's own link: that member gets
    PART closed, the hub logs what was wrong and where, and goes on."""
    with Echod(ini={"server": {"spares": "0"}}) as d:
        hub = wait_for(lambda: (d.children_by_comm("echod-hub") or [None])[0], 5,
                       what="the hub")
        alice = Chat(d.port, "alice", "r")
        check(alice.expect("OK"), "alice not greeted")
        spare = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cases = [
            (b"", (), "an empty packet"),
            (b"ab", (), "a packet shorter than a header"),
            (msg(LINK_MSG, b"hi", length=50), (),
             "a packet whose length is not the one it states"),
            (msg(LINK_MSG, b"x" * 200000), (), "a packet longer than its receiver takes"),
            (msg(99), (), "a packet of a type no worker sends (type 99, 0 bytes)"),
            (msg(LINK_WHO), (spare[0].fileno(),), "a packet with 1 descriptor"),
            (msg(LINK_MSG), (), "an empty MSG or ME (type 2, 0 bytes)"),
            (msg(LINK_NICK, b"bad nick"), (), "a NICK with a bad nick"),
        ]
        for i, (data, fds, said) in enumerate(cases):
            nick = "m%d" % i
            before = set(d.workers())
            m = Chat(d.port, nick, "r")
            check(m.expect("OK"), "%s not greeted" % nick)
            while True:
                ln = alice.expect("JOIN")
                if ln.split()[2:3] == [nick.encode()]:
                    break
            _, link = door_and_link(d, newest_worker(d, before))
            link.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            since = d.log_size()
            send_quiet(link, data, fds)
            while True:  # PART <time> nick closed
                ln = alice.expect("PART")
                if ln.split()[2:3] == [nick.encode()]:
                    check(ln.split()[3:] == [b"closed"], "PART line: %r" % ln)
                    break
            d.wait_log(re.escape("hub: %s on the link of %s in r, dropped" % (said, nick)),
                       since=since, what="the hub's line about %r" % said)
            still_serving(d, hub, alice, "n%d" % i)
            link.close()
            m.close()
            time.sleep(QUIET_S)
        check(d.alive(), "echod died")
        for s in (alice, spare[0], spare[1]):
            s.close()


def test_a_door_shut_down_by_a_worker_gets_a_new_door_and_hub():
    """shutdown() on the door every worker shares is an end of file for the
    hub, not a bad record: the hub stops, the engine makes a new door and a
    new hub, and chat works again (it stayed down for good before)."""
    with Echod(ini={"server": {"spares": "1"}}) as d:
        engine = d.engine()
        hub, alice, victim, w = hub_alice_and_an_echo_worker(d)
        door, _ = door_and_link(d, w, want_link=False)
        since = d.log_size()
        door.shutdown(socket.SHUT_RDWR)
        d.wait_log(r"hub: the door was shut down while the engine lives", since=since,
                   what="the hub's line about the door")
        d.wait_log(r"a new door for the new hub", since=since, what="the engine's new door")
        check(b"BYE" in alice.expect("BYE", timeout=10), "alice was not told BYE")
        new = wait_for(lambda: ([h for h in d.children_by_comm("echod-hub") if h != hub]
                                or [None])[0], 10, what="a new hub")

        def greets():
            try:
                c = Chat(d.port, "bob", "r")
            except OSError:
                return False
            try:
                return c.expect("OK", timeout=3)
            except (AssertionError, OSError):  # turned away while no hub
                return False
            finally:
                c.close()
        wait_for(greets, 10, what="a new member greeted after the new door")
        carol, dave = Chat(d.port, "carol", "s"), Chat(d.port, "dave", "s")
        check(carol.expect("OK") and dave.expect("OK"), "carol and dave not greeted")
        carol.send_line("MSG through the new door")
        check(b"through the new door" in dave.expect("MSG"), "dave did not hear carol")
        check(d.engine() == engine and d.alive(), "the engine or echod died")
        check(new in d.children_by_comm("echod-hub"), "the new hub did not stay")
        check(echo_roundtrip(d.port, b"still here") == b"still here", "echo broken")
        for s in (alice, carol, dave, victim, door):
            s.close()
