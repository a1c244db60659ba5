# SPDX-License-Identifier: GPL-3.0-or-later
"""CHAT/1 extensions (PROTOCOL.md section 6): greeting options, ids, room
history and its replay, the probe, PART details; and old clients, who must
see not one byte of it.

Raw sockets against a real echod, as test_chat.py; every wait is for a line
to arrive, within a bounded time.
"""

import os
import re
import signal
import time

from echodtest import Echod, check, wait_for
from test_chat import Chat, hub_pid

# The rate limit is not what these tests are about.
NO_RATES = {"rate_lines": "0", "rate_bytes": "0"}

ID_RX = re.compile(rb"^@([1-9][0-9]{0,18}) (HIST )?(\S+) ")
# Every line an old client may get (PROTOCOL.md section 3), nothing else.
OLD_LINE = re.compile(rb"^(OK \S+ \S+ \d+|(MSG|ME) \d+ \S+ .+|JOIN \d+ \S+|"
                      rb"PART \d+ \S+ \S+|NICK \d+ \S+ \S+|WHO( \S+)*|PONG( \S+)?|"
                      rb"ERR \S+( .*)?|BYE \S+)$")


def ini(**chat):
    kv = dict(NO_RATES)
    kv.update({k: str(v) for k, v in chat.items()})
    return {"chat": kv}


def opted(port, nick, room="lobby", opts="ids"):
    """A member greeting with options: OK and INFO taken, INFO returned."""
    c = Chat(port)
    c.nick = nick
    c.send("CHAT/1 %s %s %s" % (nick, room, opts))
    c.expect("OK %s %s " % (nick, room))
    return c, c.expect("INFO ")


def id_of(line):
    m = ID_RX.match(line)
    check(m, "no id prefix: %r" % line)
    return int(m.group(1))


def replay(c):
    """The HIST lines up to HIST END: (lines, count, complete|gap)."""
    lines = []
    while True:
        line = c.line()
        if line.startswith(b"HIST END "):
            _, _, count, how = line.split(b" ")
            check(int(count) == len(lines), "HIST END %s after %d lines" % (count, len(lines)))
            return lines, int(count), how.decode()
        check(ID_RX.match(line) and b" HIST " in line[:30], "not a replayed line: %r" % line)
        lines.append(line)


def texts(lines):
    return [ln.rsplit(b" ", 1)[1].decode() for ln in lines]


def say(c, *words):
    """MSG each word; the lines c got meanwhile."""
    for w in words:
        c.send("MSG " + w)
    return c.sync()


def until_kind(c, kind):
    """Lines (ids expected) up to the first of this kind ("PART")."""
    seen = []
    while True:
        seen.append(c.line())
        m = ID_RX.match(seen[-1])
        check(m, "no id prefix: %r" % seen[-1])
        if m.group(3) == kind.encode():
            return seen


def test_old_client_bytes_unchanged_beside_an_opted_in_member():
    with Echod(ini=ini()) as d:
        a = Chat(d.port, "a")
        b, info = opted(d.port, "b")
        a.expect("JOIN ")
        a.send("MSG hello")
        a.send("ME waves")
        seen = a.sync()
        b.send("NICK bee")
        b.send("MSG back")
        b.sync()
        a.send("WHO")
        seen += a.until("WHO")
        b.send("QUIT off to lunch")
        seen += a.until("PART ")
        seen += a.sync()
        for line in seen:
            check(OLD_LINE.match(line), "an old client got %r" % line)
        parts = [x for x in seen if x.startswith(b"PART ")]
        check(len(parts) == 1 and re.match(rb"^PART \d+ bee quit$", parts[0]),
              "old PART: %r" % seen)
        check(any(re.match(rb"^MSG \d+ a hello$", x) for x in seen), "own MSG: %r" % seen)
        check(any(re.match(rb"^NICK \d+ b bee$", x) for x in seen), "NICK: %r" % seen)
        check(b"WHO a bee" in seen, "WHO: %r" % seen)
        check(re.match(rb"^INFO max_line=1024 history=100 rate_lines=0 rate_bytes=0 "
                       rb"rate_burst_lines=\d+ rate_burst_bytes=\d+ id=\d+$", info), "INFO: %r" % info)


def test_ids_increase_on_every_room_line():
    with Echod(ini=ini()) as d:
        b, _ = opted(d.port, "b")
        a = Chat(d.port, "a")
        a.send("MSG one")
        a.send("ME two")
        a.send("NICK aa")
        a.send("JOIN elsewhere")
        got = until_kind(b, "PART")
        ids = [id_of(x) for x in got]
        kinds = [ID_RX.match(x).group(3) for x in got]
        check(kinds == [b"JOIN", b"MSG", b"ME", b"NICK", b"PART"], "lines: %r" % got)
        check(all(x < y for x, y in zip(ids, ids[1:])), "ids not increasing: %r" % ids)
        now = int(time.time() * 1e6)
        check(abs(ids[0] - now) < 3600 * 10**6, "id %d is not about now (%d)" % (ids[0], now))
        # Answers carry none.
        b.send("WHO")
        check(b.line() == b"WHO b", "WHO")
        b.send("PING x")
        check(b.line() == b"PONG x", "PONG")


def test_last_n_replays_the_room_s_last_lines():
    with Echod(ini=ini()) as d:
        a = Chat(d.port, "a")
        say(a, "m1", "m2", "m3")
        a.send("ME m4")
        say(a, "m5")
        b, _ = opted(d.port, "b", opts="last=3")
        lines, n, how = replay(b)
        check(texts(lines) == ["m3", "m4", "m5"] and how == "complete", "replay: %r %s" % (lines, how))
        check(re.match(rb"^@\d+ HIST ME \d+ a m4$", lines[1]), "ME kept: %r" % lines[1])
        # Then the room goes on, live and with ids.
        a.send("MSG live")
        live = b.line()
        check(re.match(rb"^@\d+ MSG \d+ a live$", live), "live: %r" % live)
        c, _ = opted(d.port, "c", opts="last=0")
        check(replay(c) == ([], 0, "complete"), "last=0")


def test_since_gives_exactly_the_lines_after_it_once():
    with Echod(ini=ini()) as d:
        a = Chat(d.port, "a")
        b, _ = opted(d.port, "b")
        say(a, "m1", "m2")
        line = b.line()
        while not line.endswith(b" m2"):
            line = b.line()
        mark = id_of(line)
        b.close()
        say(a, "m3", "m4")
        b2, _ = opted(d.port, "b", opts="since=%d" % mark)
        lines, n, how = replay(b2)
        check(texts(lines) == ["m3", "m4"] and how == "complete", "since: %r %s" % (lines, how))
        check(all(id_of(x) > mark for x in lines), "ids after the mark")
        a.send("MSG m5")
        live = b2.until("@")
        rest = b2.sync()
        allx = live + rest
        check(sum(1 for x in allx if x.endswith(b" m3") or x.endswith(b" m4")) == 0,
              "a line given twice: %r" % allx)
        check(any(re.match(rb"^@\d+ MSG \d+ a m5$", x) for x in allx), "live m5: %r" % allx)


def test_since_from_the_future_is_nothing_complete():
    with Echod(ini=ini()) as d:
        a = Chat(d.port, "a")
        say(a, "m1")
        b, _ = opted(d.port, "b", opts="since=9223372036854775807")
        check(replay(b) == ([], 0, "complete"), "future since")
        # Both options: the last n of those after since.
        say(a, "m2", "m3", "m4")
        c, _ = opted(d.port, "c", opts="ids since=1 last=2")
        lines, n, how = replay(c)
        check(texts(lines) == ["m3", "m4"], "since+last: %r" % lines)


def test_since_from_before_a_hub_restart_gets_gap():
    with Echod(ini=ini()) as d:
        a, _ = opted(d.port, "a")
        mark = id_of([x for x in say(a, "m1") if x.endswith(b" m1")][-1])
        os.kill(hub_pid(d), signal.SIGKILL)
        a.rest_until_eof(timeout=5)

        def back():
            c = Chat(d.port, "c", expect_ok=False)
            line = c.line(timeout=5)
            if line.startswith(b"OK c "):
                return c
            c.close()
            return None
        c = wait_for(back, 10, what="chat back after the hub's death")
        say(c, "m2")
        b, _ = opted(d.port, "b", opts="since=%d" % mark)
        lines, n, how = replay(b)
        check(how == "gap", "since from before the restart: %s" % how)
        check(texts(lines) == ["m2"], "what the new hub has: %r" % lines)
        check(all(id_of(x) > mark for x in lines), "ids go on after the restart")


def test_malformed_options_then_a_good_greeting():
    with Echod(ini=ini()) as d:
        c = Chat(d.port)
        c.nick = "b"
        for bad in ("since=007", "since=0", "since=9223372036854775808", "last=1000001",
                    "last=-1", "ids ids", "last=1 last=2", "Ids", "ids "):
            c.send("CHAT/1 b lobby " + bad)
            line = c.line()
            check(line.startswith(b"ERR bad-greeting"), "%r answered %r" % (bad, line))
        c.send("CHAT/1 b lobby ids some-future-option=1")
        c.expect("OK b lobby 1")
        c.expect("INFO ")
        # The old greeting forms are as ever: no INFO, no ids.
        o = Chat(d.port, "o")
        check(o.sync() == [], "old client got %r" % o.lines)
        check(c.line().startswith(b"@"), "opted-in JOIN has an id")


def test_history_bounds_hold():
    with Echod(ini=ini(history=3)) as d:
        a = Chat(d.port, "a")
        say(a, *["m%d" % i for i in range(1, 7)])
        b, info = opted(d.port, "b", opts="last=100")
        check(b" history=3 " in info, "INFO: %r" % info)
        lines, n, how = replay(b)
        check(texts(lines) == ["m4", "m5", "m6"], "history=3: %r" % lines)
    with Echod(ini=ini(history_bytes="1K")) as d:
        a = Chat(d.port, "a")
        words = ["%d%s" % (i, "x" * 300) for i in range(1, 6)]
        say(a, *words)
        b, _ = opted(d.port, "b", opts="last=100")
        lines, n, how = replay(b)
        check(texts(lines) == words[-3:], "history_bytes=1K kept %d lines" % n)
        stored = sum(len(x.split(b" ", 2)[2]) + 1 for x in lines)  # without "@id HIST "
        check(stored <= 1024, "%d bytes kept" % stored)
    with Echod(ini=ini(history=0)) as d:
        a = Chat(d.port, "a")
        say(a, "m1")
        b, info = opted(d.port, "b", opts="last=10")
        check(b" history=0 " in info and replay(b) == ([], 0, "complete"), "history off")


def test_probe_lists_the_room_and_the_room_sees_nothing():
    with Echod(ini=ini()) as d:
        a = Chat(d.port, "a", "dev")
        b = Chat(d.port, "b", "dev")
        a.expect("JOIN ")
        # The members' own lines are logged first (the log is not in step).
        d.wait_log(r"chat join [^\n]*: a in dev")
        d.wait_log(r"chat join [^\n]*: b in dev")
        since = d.log_size()
        p = Chat(d.port)
        p.send("CHAT/1 * dev")
        check(p.rest_until_eof() == [b"WHO a b", b"BYE quit", b""], "probe answer")
        p = Chat(d.port)
        p.send("CHAT/1 * nowhere")
        check(p.rest_until_eof() == [b"ERR no-such-room nowhere has nobody in it",
                                     b"BYE quit", b""], "probe of nobody's room")
        p = Chat(d.port)
        p.send("CHAT/1 *")
        check(p.rest_until_eof() == [b"ERR no-such-room lobby has nobody in it",
                                     b"BYE quit", b""], "probe of the default room")
        check(a.sync() == [] and b.sync() == [], "the room saw something")
        # Each probe's close is logged after anything about it as a member.
        wait_for(lambda: len(re.findall(r"close [^\n]* chat: [^\n]*quit", d.log(since))) == 3,
                 what="the probes' close lines")
        log = d.log(since)
        check("chat join" not in log and "chat part" not in log, "a probe logged as a member: %s" % log)
        # The room stays as it was.
        a.send("WHO")
        check(a.line() == b"WHO a b", "WHO after probes")


def test_quit_reason_and_moved_room_reach_opted_in_members():
    with Echod(ini=ini()) as d:
        old = Chat(d.port, "old")
        new, _ = opted(d.port, "new")
        old.expect("JOIN ")
        q = Chat(d.port, "q")
        m = Chat(d.port, "m")
        new.until("@")
        new.until("@")  # the JOINs of q and m
        q.send("QUIT gone \x1b[31mfishing")
        parts_new = [until_kind(new, "PART")[-1]]
        m.send("JOIN dev")
        parts_new.append(until_kind(new, "PART")[-1])
        check(re.match(rb"^@\d+ PART \d+ q quit gone \xef\xbf\xbd\[31mfishing$", parts_new[0]),
              "quit detail: %r" % parts_new[0])
        check(re.match(rb"^@\d+ PART \d+ m moved dev$", parts_new[1]), "moved detail: %r" % parts_new[1])
        got_old = old.until("PART ")
        got_old.append(old.until("PART ")[-1])
        parts_old = [x for x in got_old if x.startswith(b"PART ")]
        check(re.match(rb"^PART \d+ q quit$", parts_old[0]) and
              re.match(rb"^PART \d+ m moved$", parts_old[1]), "old PARTs: %r" % parts_old)
        # A long reason is cut to 200 bytes.
        r = Chat(d.port, "r")
        r.send("QUIT " + "y" * 500)
        line = until_kind(new, "PART")[-1]
        check(re.match(rb"^@\d+ PART \d+ r quit y{200}$", line), "cut reason: %r" % line[:80])


def test_join_with_last_replays_the_new_room():
    with Echod(ini=ini()) as d:
        a = Chat(d.port, "a", "dev")
        say(a, "d1", "d2", "d3")
        b, _ = opted(d.port, "b", opts="last=2")
        check(replay(b) == ([], 0, "complete"), "empty lobby")
        b.send("JOIN dev")
        b.expect("OK b dev 2")
        b.expect("INFO ")
        lines, n, how = replay(b)
        check(texts(lines) == ["d2", "d3"], "JOIN replay: %r" % lines)
        # A member with only ids: INFO after the JOIN's OK, no replay.
        c, _ = opted(d.port, "c")
        c.send("JOIN dev")
        c.expect("OK c dev 3")
        c.expect("INFO ")
        check(c.sync() == [], "ids alone replays nothing")


def test_a_replay_is_held_to_max_backlog():
    # A replay goes through the member's own queue: one that cannot take
    # it is dropped as slow, in whole lines, and the room goes on.
    with Echod(ini=ini(max_backlog="64K", history=1000, history_bytes="1M")) as d:
        a = Chat(d.port, "a")
        words = ["%03d%s" % (i, "z" * 900) for i in range(1000)]
        for i in range(0, len(words), 10):
            say(a, *words[i:i + 10])
        b = Chat(d.port, rcvbuf=4096)
        b.nick = "b"
        # The hub writes the whole replay in the turn that takes the
        # greeting: 900K for a socket that holds far less, read or not.
        b.send("CHAT/1 b lobby last=1000")
        rest = b.rest_until_eof(timeout=10)
        check(rest[-2:] == [b"BYE slow", b""], "end of a replay too big: %r" % rest[-3:])
        hist = [x for x in rest if b" HIST " in x]
        check(hist and len(hist) < len(words), "%d of %d lines replayed" % (len(hist), len(words)))
        check(all(re.match(rb"^@\d+ HIST MSG \d+ a \d{3}z{900}$", x) for x in hist),
              "a replayed line cut or mixed")
        check(b"HIST END" not in b"".join(rest), "HIST END after the drop")
        a.send("MSG still here")
        check(any(x.endswith(b" a still here") for x in a.sync()), "the room goes on")


def test_star_is_the_default_room_and_info_id_marks_the_join():
    """CHAT/1 nick * opts: options before the client knows the room's name;
    INFO's id: a rejoin since= it gets exactly what was said after."""
    with Echod(ini=ini()) as d:
        a = Chat(d.port, "a")
        a.send("MSG before")
        a.until_msg(b"before")
        b = Chat(d.port)
        b.nick = "b"
        b.send("CHAT/1 b * ids last=5")
        b.expect("OK b lobby 2")
        info = b.expect("INFO ")
        m = re.search(rb" id=(\d+)$", info)
        check(m, "INFO without id: %r" % info)
        join_id = int(m.group(1))
        lines, count, how = replay(b)
        check(count == 1 and lines[0].endswith(b" a before"), "replay: %r" % lines)
        check(id_of(lines[0]) <= join_id, "INFO id %d before the replayed line %r" % (join_id, lines[0]))
        b.close()
        a.send("MSG while b was away")
        a.until_msg(b"while b was away")
        c = Chat(d.port)
        c.nick = "c"
        c.send("CHAT/1 c * since=%d" % join_id)
        c.expect("OK c lobby ")
        c.expect("INFO ")
        lines, count, how = replay(c)
        check(count == 1 and lines[0].endswith(b" a while b was away") and how == "complete",
              "since the join: %r %s" % (lines, how))
