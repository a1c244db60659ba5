# SPDX-License-Identifier: GPL-3.0-or-later
"""chatctl talk's keys and display on a terminal, as irssi users expect:
Ctrl-C clears the line, Tab completes nicks and commands, a long paste
asks first, wrapped rows are indented, our nick is highlighted (and rings
with --bell), members get distinct colours. Driven through tmux against a
real echod; every wait is for something to appear.
"""

import os
import re
import signal
import tempfile

from ctltest import Client, Piped, Tmux
from echodtest import Echod, check, wait_for

MSG = r"^\d\d:\d\d <%s> %s$"
PROMPT = r"^%s@%s> ?$"


def input_line(t):
    """The last non-empty row: the input line."""
    rows = [x for x in t.lines() if x]
    return rows[-1] if rows else ""


def paste(t, text):
    """A bracketed paste, as a terminal makes it of a selection."""
    t.tmux("set-buffer", "--", text)
    t.tmux("paste-buffer", "-p", "-t", "0")


def settle(t, other):
    """Have chatctl go round its loop: anything it had queued is sent
    before other's marker reaches the server. Returns what other got."""
    other.send("MSG settle-1")
    t.wait(MSG % (other.nick, "settle-1"))
    other.send("MSG settle-2")
    seen = []
    while True:
        line = other.line()
        seen.append(line)
        if re.search(r" %s settle-2$" % other.nick, line):
            return seen


# -- Ctrl-C ------------------------------------------------------------------

def test_keys_ctrl_c_clears_draft_into_history():
    with Echod() as d, Tmux() as t, Client(d.port, "gina") as gina:
        t.talk(d.port, "-n", "hal")
        t.wait(PROMPT % ("hal", "lobby"))
        t.type("a draft to keep")
        t.wait(r"^hal@lobby> a draft to keep$")
        t.keys("C-c")
        t.wait(PROMPT % ("hal", "lobby"))
        check("a draft to keep" not in t.screen(), "draft still shown:\n%s" % t.screen())
        # Still in the room, the draft never sent.
        seen = settle(t, gina)
        check(not any("draft" in x or "PART" in x for x in seen), "sent or left: %r" % seen)
        t.keys("Up")
        t.wait(r"^hal@lobby> a draft to keep$")
        t.keys("Enter")
        gina.expect(r"^MSG \d+ hal a draft to keep$")


def test_keys_ctrl_c_on_empty_line_hints_and_stays():
    with Echod() as d, Tmux() as t, Client(d.port, "gina") as gina:
        t.talk(d.port, "-n", "hal")
        t.wait(PROMPT % ("hal", "lobby"))
        t.keys("C-c")
        t.wait(r"^\d\d:\d\d --- to leave, type /quit or press Ctrl-D$")
        check(input_line(t).startswith("hal@lobby>"), "input line %r" % input_line(t))
        seen = settle(t, gina)
        check(not any("PART" in x for x in seen), "left on Ctrl-C: %r" % seen)
        t.keys("C-d")
        gina.expect(r"^PART \d+ hal quit$")
        check(t.wait_exit() == 0, "Ctrl-D: exit status not 0")


def test_keys_sigint_in_a_pipe_still_quits():
    with Echod() as d, Client(d.port, "obs") as obs, \
            Piped("talk", "127.0.0.1:%d" % d.port, "-n", "piper") as p:
        p.expect(r"you are piper in lobby")
        obs.expect(r"^JOIN \d+ piper$")
        os.kill(p.pid(), signal.SIGINT)
        obs.expect(r"^PART \d+ piper quit$")
        rc, out, err = p.wait()
        check(rc == 0, "exit %d, stderr %r" % (rc, err))


# -- Tab -----------------------------------------------------------------------

def test_keys_tab_completes_nicks_and_cycles():
    with Echod() as d, Tmux() as t, Client(d.port, "alice") as alice:
        t.talk(d.port, "-n", "bob")
        t.wait(PROMPT % ("bob", "lobby"))
        # alice came from the WHO chatctl asked; alma from a JOIN.
        with Client(d.port, "alma") as alma:
            t.wait(r"--> alma joined lobby$")
            check("--- in lobby" not in t.screen(), "chatctl's own WHO shown:\n%s" % t.screen())
            t.type("al")
            t.keys("Tab")
            t.wait(r"^bob@lobby> alice: ?$")
            t.keys("Tab")
            t.wait(r"^bob@lobby> alma: ?$")
            t.keys("Tab")
            t.wait(r"^bob@lobby> alice: ?$")
            t.type("hi")
            t.keys("Enter")
            alice.expect(r"^MSG \d+ bob alice: hi$")
            # Inside the line: the nick and a space; any case.
            t.type("thanks AL")
            t.keys("Tab")
            t.wait(r"^bob@lobby> thanks alice ?$")
            t.type("!")
            t.keys("Enter")
            alice.expect(r"^MSG \d+ bob thanks alice !$")
            alma.send("QUIT")
        t.wait(r"<-- alma left")
        # alma is gone: al<Tab><Tab> stays alice.
        t.type("al")
        t.keys("Tab", "Tab")
        t.type("x")
        t.wait(r"^bob@lobby> alice: x$")
        t.keys("Enter")
        alice.expect(r"^MSG \d+ bob alice: x$")


def test_keys_tab_completes_commands_never_a_tab():
    with Echod() as d, Tmux() as t, Client(d.port, "ivy") as ivy:
        t.talk(d.port, "-n", "jack")
        t.wait(PROMPT % ("jack", "lobby"))
        t.type("/jo")
        t.keys("Tab")
        t.wait(r"^jack@lobby> /join ?$")
        t.type("elsewhere")
        t.keys("Enter")
        t.wait(PROMPT % ("jack", "elsewhere"))
        ivy.expect(r"^PART \d+ jack moved$")
        # Nothing to complete: no tab inserted.
        t.type("zz")
        t.keys("Tab")
        t.type("y")
        t.wait(r"^jack@elsewhere> zzy$")
        t.keys("Enter")
        t.type("/join lobby")
        t.keys("Enter")
        t.wait(PROMPT % ("jack", "lobby"))
        t.type("zz")
        t.keys("Tab")
        t.type("w")
        t.keys("Enter")
        ivy.expect(r"^MSG \d+ jack zzw$")


# -- paste -----------------------------------------------------------------------

def test_keys_paste_of_five_lines_waits_for_enter():
    with Echod() as d, Tmux() as t, Client(d.port, "kim") as kim:
        t.talk(d.port, "-n", "lee")
        t.wait(PROMPT % ("lee", "lobby"))
        paste(t, "p1 one\np2 two\np3 three\np4 four\np5 five")
        t.wait(r"^paste of 5 lines: Enter sends them, Ctrl-C cancels ?$")
        seen = settle(t, kim)
        check(not any(re.search(r" lee p\d", x) for x in seen),
              "sent before Enter: %r" % seen)
        t.keys("Enter")
        for i, w in enumerate(["one", "two", "three", "four", "five"], 1):
            kim.expect(r"^MSG \d+ lee p%d %s$" % (i, w))
        t.wait(MSG % ("lee", "p5 five"))
        t.wait(PROMPT % ("lee", "lobby"))


def test_keys_paste_cancelled_by_ctrl_c_keeps_draft():
    with Echod() as d, Tmux() as t, Client(d.port, "kim") as kim:
        t.talk(d.port, "-n", "lee")
        t.wait(PROMPT % ("lee", "lobby"))
        t.type("draft ")
        t.wait(r"^lee@lobby> draft$")
        paste(t, "c1\nc2\nc3\nc4\n")
        t.wait(r"^paste of 4 lines: Enter sends them, Ctrl-C cancels ?$")
        t.keys("C-c")
        t.wait(r"^lee@lobby> draft$")
        check("paste of" not in t.screen(), "question left:\n%s" % t.screen())
        t.keys("Enter")
        seen = settle(t, kim)
        check(not any(re.search(r" lee c\d", x) for x in seen), "cancelled paste sent: %r" % seen)
        check(any(re.search(r"^MSG \d+ lee draft ?$", x) for x in seen), "draft not sent: %r" % seen)


def test_keys_paste_of_two_lines_sent_as_typed():
    with Echod() as d, Tmux() as t, Client(d.port, "kim") as kim:
        t.talk(d.port, "-n", "lee")
        t.wait(PROMPT % ("lee", "lobby"))
        paste(t, "q1 first\nq2 second\n")
        kim.expect(r"^MSG \d+ lee q1 first$")
        kim.expect(r"^MSG \d+ lee q2 second$")
        t.wait(MSG % ("lee", "q2 second"))
        check("paste of" not in t.screen(), "asked for 2 lines:\n%s" % t.screen())
        # A last line without LF stays to be edited, as typed.
        paste(t, "r1\nr2 half")
        kim.expect(r"^MSG \d+ lee r1$")
        t.wait(r"^lee@lobby> r2 half$")
        t.type(" done")
        t.keys("Enter")
        kim.expect(r"^MSG \d+ lee r2 half done$")


# -- display -------------------------------------------------------------------

def test_keys_wrapped_rows_indented_to_the_text():
    with Echod() as d, Tmux(width=60) as t, Client(d.port, "alice") as al, \
            Client(d.port, "a_very_long_nickname") as lng:
        t.talk(d.port, "-n", "bob")
        t.wait(PROMPT % ("bob", "lobby"))
        al.send("MSG " + " ".join("w%02d" % i for i in range(40)))
        t.wait(r"w39$")
        rows = t.lines()
        first = [i for i, x in enumerate(rows) if re.match(r"^\d\d:\d\d <alice> w00", x)]
        check(len(first) == 1, "no first row:\n%s" % t.screen())
        cont = rows[first[0] + 1]
        # "HH:MM <alice> " is 14 columns: the marker, then spaces to 14.
        check(cont.startswith("    \u21b3 " + " " * 8) and cont[14] != " ",
              "continuation row %r" % cont)
        # Capped at a third of the width: 20 columns, not 28.
        lng.send("MSG " + " ".join("v%02d" % i for i in range(40)))
        t.wait(r"v39$")
        rows = t.lines()
        first = [i for i, x in enumerate(rows) if "<a_very_long_nickname> v00" in x]
        cont = rows[first[0] + 1]
        check(cont.startswith("    \u21b3 " + " " * 14) and cont[20] != " ",
              "capped continuation row %r" % cont)


def test_keys_own_nick_highlighted():
    with Echod() as d, Client(d.port, "alice") as al:
        with Tmux() as t:
            t.talk(d.port, "-n", "bob")
            t.wait(PROMPT % ("bob", "lobby"))
            al.send("MSG hey Bob, look")
            al.send("MSG bobby is someone else")
            t.wait(MSG % ("alice", "bobby is someone else"))
            esc = t.screen(escapes=True)
            check(re.search(r"hey \x1b\[1;7mBob\x1b\[0m", esc), "not highlighted: %r" % esc)
            check(not re.search(r"\x1b\[1;7mbobby", esc), "bobby highlighted: %r" % esc)
            t.run("/quit")
            t.wait_exit()
        with Tmux(env={"NO_COLOR": "1"}) as t:
            t.talk(d.port, "-n", "bob")
            t.wait(PROMPT % ("bob", "lobby"))
            al.send("MSG hey bob, look")
            al.send("MSG bobby again")
            t.wait(MSG % ("alice", "bobby again"))
            check(re.search(r"^!\d\d:\d\d <alice> hey bob, look$", t.screen(), re.M),
                  "no mark without colour:\n%s" % t.screen())
            check(re.search(MSG % ("alice", "bobby again"), t.screen(), re.M),
                  "bobby marked:\n%s" % t.screen())


def test_keys_pipe_output_has_no_mark():
    # Scripts read "HH:MM <nick> text": a mention changes nothing there.
    with Echod() as d, Client(d.port, "sam") as sam, \
            Piped("talk", "127.0.0.1:%d" % d.port, "-n", "bot") as p:
        p.expect(r"you are bot in lobby")
        sam.expect(r"^JOIN \d+ bot$")
        sam.send("MSG bot: status?")
        p.expect(r"^\d\d:\d\d <sam> bot: status\?$")
        p.close_stdin()
        rc, out, err = p.wait()
        check(rc == 0 and b"!" not in out and b"\x07" not in out, "%d %r %r" % (rc, out, err))


BELL_ROUNDS = [0]


def bells(t, port, args, env, al):
    """How many BEL bytes chatctl wrote for: one mention, one not. The
    lines of earlier rounds come back as history (no bell for those): each
    round's lines are its own."""
    BELL_ROUNDS[0] += 1
    n = BELL_ROUNDS[0]
    with tempfile.NamedTemporaryFile(prefix="chatctl-bell-") as f:
        t.tmux("pipe-pane", "-t", "0", "-o", "cat >> %s" % f.name)
        t.talk(port, *args)
        t.wait(PROMPT % ("bob", "lobby"))
        al.send("MSG bob: ping %d" % n)
        al.send("MSG nobody here %d" % n)
        t.wait(MSG % ("alice", "nobody here %d" % n))
        wait_for(lambda: b"nobody here %d" % n in open(f.name, "rb").read(), 10,
                 what="the pane's output in the pipe")
        out = open(f.name, "rb").read()
        t.run("/quit")
        t.wait_exit()
        return out.count(b"\x07")


def test_keys_bell_on_mention_with_option_or_env():
    with Echod() as d, Client(d.port, "alice") as al:
        with Tmux(env={"CHATCTL_BELL": ""}) as t:
            check(bells(t, d.port, ["-n", "bob"], {}, al) == 0, "a bell without --bell")
        with Tmux() as t:
            check(bells(t, d.port, ["-n", "bob", "--bell"], {}, al) == 1, "no bell with --bell")
        with Tmux() as t:
            check(bells(t, d.port, ["-n", "bob", "-b"], {}, al) == 1, "no bell with -b")
        with Tmux(env={"CHATCTL_BELL": "1"}) as t:
            check(bells(t, d.port, ["-n", "bob"], {}, al) == 1, "no bell with CHATCTL_BELL=1")


def test_keys_six_members_six_colours():
    names = ["m1", "m2", "m3", "m4", "m5"]
    with Echod() as d, Tmux() as t:
        t.talk(d.port, "-n", "bob")
        t.wait(PROMPT % ("bob", "lobby"))
        clients = [Client(d.port, n) for n in names]
        try:
            for c in clients:
                c.send("MSG from %s" % c.nick)
            t.run("from me")
            t.wait(MSG % ("bob", "from me"))
            for n in names:
                t.wait(MSG % (n, "from " + n))
            esc = t.screen(escapes=True)
            got = {}
            for m in re.finditer(r"<(?:\x1b\[1m)?\x1b\[(\d+)m(\w+)\x1b\[", esc):
                got.setdefault(m.group(2), set()).add(m.group(1))
            check(set(got) == set(names) | {"bob"}, "nicks seen: %r in %r" % (got, esc))
            check(all(len(v) == 1 for v in got.values()), "a nick changed colour: %r" % got)
            check(len({next(iter(v)) for v in got.values()}) == 6, "not 6 colours: %r" % got)
        finally:
            for c in clients:
                c.close()
