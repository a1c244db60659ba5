# SPDX-License-Identifier: GPL-3.0-or-later
"""Crowds ([chat] crowd, PROTOCOL.md section 6): in a room of more than
crowd members JOIN and PART are gathered and sent as JOINS and PARTS lines
to members with ids, and not at all to old members; below it nothing
changes.

Most tests use crowd_interval = 60000 and let a notice that is sent one by
one (a NICK, or the room falling back to crowd members) send what was
gathered: so what is gathered is known exactly, without waiting on a
clock. One test waits for the timer itself, asserting only what arrives.
"""

import re

from echodtest import Echod, check, wait_for
from ctltest import Tmux
from test_chat import Chat
from test_history import ID_RX, ini, opted

CROWD_RX = re.compile(rb"^@[1-9][0-9]* (JOINS|PARTS) [0-9]+ ([1-9][0-9]*)((?: \S+)*)$")


def crowd_line(line):
    """(kind, count, names) of a JOINS or PARTS line, else None."""
    m = CROWD_RX.match(line)
    if not m:
        return None
    return m.group(1).decode(), int(m.group(2)), m.group(3).decode().split()


def until_rx(c, rx):
    """c's lines up to and with the first that matches rx (bytes)."""
    seen = []
    while not seen or not re.match(rx, seen[-1]):
        seen.append(c.line())
    return seen


def members(port, names, room="lobby"):
    """Old clients, each in before the next greets."""
    return [Chat(port, n, room) for n in names]


def quit_all(clients):
    for c in clients:
        c.send("QUIT")
        c.until("BYE quit")


def test_crowd_joins_gathered_in_one_line():
    with Echod(ini=ini(crowd=5, crowd_interval=60000)) as d:
        w, _ = opted(d.port, "w")
        o = Chat(d.port, "o")
        names = ["m%02d" % i for i in range(20)]
        crowd = members(d.port, names)
        # The room had 3, 4, 5 with m00..m02: those came one by one.
        ghost = Chat(d.port, "ghost")
        ghost.send("QUIT")
        ghost.until("BYE quit")
        before = w.sync()
        check(not any(crowd_line(x) for x in before), "JOINS before its time: %r" % before)
        ones = [ln.split(b" ")[3].decode() for ln in before
                if ID_RX.match(ln) and ID_RX.match(ln).group(3) == b"JOIN"]
        check(ones == ["o", "m00", "m01", "m02"], "one-by-one JOINs: %r" % before)
        # A NICK sends what was gathered first.
        crowd[0].send("NICK m00x")
        got = until_rx(w, rb"^@\d+ NICK \d+ m00 m00x$")
        check(len(got) == 2, "one JOINS line, then the NICK: %r" % got)
        kind, count, listed = crowd_line(got[0])
        check(kind == "JOINS" and count == 17 and listed == names[3:],
              "JOINS of m03..m19 (ghost came and went: in neither): %r" % got)
        # MSG flows as ever, to both.
        crowd[7].send("MSG hello crowd")
        until_rx(w, rb"^@\d+ MSG \d+ m07 hello crowd$")
        seen = until_rx(o, rb"^MSG \d+ m07 hello crowd$")
        seen += o.sync()
        joins = [x for x in seen if x.startswith(b"JOIN ")]
        check([x.split(b" ")[2] for x in joins] == [b"m00", b"m01", b"m02"],
              "an old member got JOINs of the crowd: %r" % seen)
        check(not any(b"JOINS" in x or b"PARTS" in x or b"PART " in x for x in seen),
              "an old member got new lines: %r" % seen)
        quit_all(crowd)


def test_crowd_parts_gathered_then_one_by_one():
    with Echod(ini=ini(crowd=5, crowd_interval=60000)) as d:
        w, _ = opted(d.port, "w")
        o = Chat(d.port, "o")
        names = ["p%02d" % i for i in range(20)]
        crowd = members(d.port, names)
        # A NICK sends the gathered joins: the parts below are of members
        # the others know (a member that comes and goes within one
        # interval is in neither line).
        crowd[0].send("NICK p00x")
        until_rx(w, rb"^@\d+ NICK ")
        o.until("NICK ")
        # 22 in the room: the first 17 to leave leave a crowd.
        quit_all(crowd[3:][::-1])
        seen_w = w.sync()
        check(not any(crowd_line(x) for x in seen_w), "PARTS before its time: %r" % seen_w)
        # p02 leaves a room of 5: gathered lines go first, then its PART.
        crowd[2].send("QUIT bye now")
        crowd[2].until("BYE quit")
        got = until_rx(w, rb"^@\d+ PART \d+ p02 ")
        lines = [crowd_line(x) for x in got if crowd_line(x)]
        total = sum(c for k, c, _ in lines if k == "PARTS")
        listed = [n for k, _, ns in lines if k == "PARTS" for n in ns]
        check(total == 17 and sorted(listed) == sorted(names[3:]),
              "PARTS naming p03..p19: %r" % got)
        check(not any(k == "JOINS" for k, _, _ in lines), "a JOINS: %r" % got)
        check(re.match(rb"^@\d+ PART \d+ p02 quit bye now$", got[-1]), "p02's PART: %r" % got)
        # An old member: p02's PART, the first it gets.
        seen = o.until("PART ")
        check(re.match(rb"^PART \d+ p02 quit$", seen[-1]) and
              not any(crowd_line(x) for x in seen),
              "an old member got the crowd's PARTs: %r" % seen)
        quit_all(crowd[:2])


def test_crowd_timer_sends_joins_whose_counts_add_up():
    with Echod(ini=ini(crowd=2, crowd_interval=100)) as d:
        w, _ = opted(d.port, "w")
        names = ["t%02d" % i for i in range(20)]
        crowd = members(d.port, names)
        # t00 made 2 (one by one); t01..t19 are gathered, the timer sends them.
        seen, count = set(), 0

        def all_named():
            nonlocal count
            while w.lines or not seen >= set(names[1:]):
                try:
                    line = w.line(timeout=0.2)
                except AssertionError:
                    return False
                c = crowd_line(line)
                if c and c[0] == "JOINS":
                    count += c[1]
                    seen.update(c[2])
            return True

        wait_for(all_named, timeout=15, what="JOINS naming t01..t19")
        check(count == 19, "JOINS counts add up to %d, not 19" % count)
        # And the parts, by the timer too.
        quit_all(crowd[1:])
        gone, pcount = set(), 0

        def all_gone():
            nonlocal pcount
            while not gone >= set(names[1:]):
                try:
                    line = w.line(timeout=0.2)
                except AssertionError:
                    return False
                c = crowd_line(line)
                if c and c[0] == "PARTS":
                    pcount += c[1]
                    gone.update(c[2])
                elif re.match(rb"^@\d+ PART \d+ (\S+) ", line):
                    gone.add(line.split(b" ")[3].decode())
                    pcount += 1
            return True

        wait_for(all_gone, timeout=15, what="PARTS naming t01..t19")
        check(pcount == 19, "parts add up to %d, not 19" % pcount)


def test_below_crowd_old_lines_unchanged():
    with Echod(ini=ini(crowd=5, crowd_interval=60000)) as d:
        w, _ = opted(d.port, "w")
        o = Chat(d.port, "o")
        a = Chat(d.port, "a")
        w.expect("@")
        check(re.match(rb"^@\d+ JOIN \d+ a$", w.line()), "w: JOIN a")
        check(re.match(rb"^JOIN \d+ a$", o.line()), "o: JOIN a")
        a.send("QUIT")
        check(re.match(rb"^PART \d+ a quit$", o.line()), "o: PART a quit")
        check(re.match(rb"^@\d+ PART \d+ a quit$", w.line()), "w: PART a quit")
        # crowd = 0: never gathered, however big.
    with Echod(ini=ini(crowd=0)) as d:
        w, _ = opted(d.port, "w")
        crowd = members(d.port, ["z%02d" % i for i in range(55)])
        got = w.sync()
        check(len([x for x in got if re.match(rb"^@\d+ JOIN ", x)]) == 55 and
              not any(crowd_line(x) for x in got), "crowd = 0 gathered: %r" % got[:5])
        quit_all(crowd)


def test_talk_shows_a_crowd_on_one_line():
    with Echod(ini=ini(crowd=2, crowd_interval=60000)) as d, Tmux() as t:
        t.talk(d.port, "-n", "tina")
        t.wait(r"you are tina in lobby \(1 member\)")
        first = Chat(d.port, "a")
        t.wait(r"--> a joined lobby")
        names = ["m%02d" % i for i in range(12)]
        crowd = members(d.port, names)
        first.send("NICK a2")
        t.wait(r"--> 12 joined lobby: m00, m01, m02, m03, m04, m05, m06, m07, "
               r"m08, m09, \.\.\. and 2 more")
        t.wait(r"--- a is now a2")
        # Tab knows the members the JOINS named, unlisted on screen too.
        t.type("m11")
        t.keys("Tab")
        t.wait(r"^tina@lobby> m11: ?$")
        quit_all(crowd)
