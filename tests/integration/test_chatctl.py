# SPDX-License-Identifier: GPL-3.0-or-later
"""chatctl talk, who and ping against a real echod (and, for what echod
would never send, against chatmock's hostile server).

`chatctl talk` on a terminal is driven through tmux (send-keys,
capture-pane); without a terminal, through pipes. Nothing here asserts on
speed: every wait is for something to appear.
"""

import os
import re
import socket
import subprocess
import threading
import time

from chatmock import ChatMock
from ctltest import Client, Piped, Tmux, run_chatctl
from echodtest import CHATCTL, Echod, check, free_port, wait_for

TIMEOUTS = {"test_talk_pipe_endless_line_stays_bounded": 120}

# The pane's line for a message: "HH:MM <nick> text".
MSG = r"^\d\d:\d\d <%s> %s$"
# An empty input line (capture-pane drops the trailing space).
PROMPT = r"^%s@%s> ?$"


def addr(port):
    return "127.0.0.1:%d" % port


def count_lines(t, regex):
    rx = re.compile(regex)
    return sum(1 for line in t.lines() if rx.search(line))


# -- talk on a terminal ----------------------------------------------------

def test_talk_tty_two_users_both_ways():
    with Echod() as d, Tmux() as a, Tmux() as b:
        a.talk(d.port, "-n", "alice")
        a.wait(r"you are alice in lobby \(1 member\)")
        b.talk(d.port, "-n", "bob")
        b.wait(r"you are bob in lobby \(2 members\)")
        a.wait(r"--> bob joined lobby")
        a.type("hello bob, 你好 😀")
        a.keys("Enter")
        b.wait(MSG % ("alice", "hello bob, 你好 😀"))
        a.wait(MSG % ("alice", "hello bob, 你好 😀"))
        b.type("hi alice")
        b.keys("Enter")
        a.wait(MSG % ("bob", "hi alice"))
        b.wait(MSG % ("bob", "hi alice"))
        # Own messages appear once: when the server relays them, and the
        # typed line itself is gone from the screen.
        a.wait(PROMPT % ("alice", "lobby"))
        check(count_lines(a, r"hello bob") == 1,
              "alice's message shown %d times:\n%s" % (count_lines(a, "hello bob"), a.screen()))
        check(count_lines(b, r"hi alice") == 1, "bob's message not shown once")
        a.run("/quit")
        check(a.wait_exit() == 0, "alice: exit status not 0")
        b.wait(r"<-- alice left \(quit\)")


def test_talk_tty_incoming_keeps_half_typed_line():
    with Echod() as d, Tmux() as t, Client(d.port, "carol") as carol:
        t.talk(d.port, "-n", "dave")
        t.wait(PROMPT % ("dave", "lobby"))
        carol.expect(r"^JOIN \d+ dave$")
        t.type("half a li")
        t.wait(r"^dave@lobby> half a li$")
        for i in range(3):
            carol.send("MSG interrupting %d" % i)
        t.wait(MSG % ("carol", "interrupting 2"))
        # The typed text is intact, on the input line below the messages.
        t.wait(r"^dave@lobby> half a li$")
        lines = [x for x in t.lines() if x]
        check(lines[-1] == "dave@lobby> half a li",
              "input line is %r:\n%s" % (lines[-1], t.screen()))
        check(count_lines(t, r"half a li") == 1, "typed text shown twice")
        # Editing goes on where it was: the line sent is the whole line.
        t.type("ne")
        t.keys("Enter")
        carol.expect(r"^MSG \d+ dave half a line$")
        t.wait(MSG % ("dave", "half a line"))


def test_talk_tty_ctrl_d_leaves_other_sees_part():
    with Echod() as d, Tmux() as t, Client(d.port, "erin") as erin:
        t.talk(d.port, "-n", "frank")
        t.wait(PROMPT % ("frank", "lobby"))
        erin.expect(r"^JOIN \d+ frank$")
        t.keys("C-d")
        erin.expect(r"^PART \d+ frank quit$")
        check(t.wait_exit() == 0, "Ctrl-D: exit status not 0")
        t.wait(r"^icanon echo ?$")


def test_talk_tty_ctrl_c_leaves_terminal_sane():
    # Ctrl-C no longer leaves (as in irssi): it clears the line, and on an
    # empty line says how to leave. The terminal is sane after /quit.
    with Echod() as d, Tmux() as t, Client(d.port, "gina") as gina:
        t.talk(d.port, "-n", "hal")
        t.wait(PROMPT % ("hal", "lobby"))
        t.type("something half typ")
        t.wait(r"^hal@lobby> something half typ$")
        t.keys("C-c")
        t.wait(PROMPT % ("hal", "lobby"))
        t.keys("C-c")
        t.wait(r"--- to leave, type /quit or press Ctrl-D$")
        gina.send("MSG still here?")
        t.wait(MSG % ("gina", r"still here\?"))
        t.run("/quit")
        gina.expect(r"^PART \d+ hal quit$")
        check(t.wait_exit() == 0, "/quit: exit status not 0")
        # The terminal is as the shell left it: canonical mode, echo on.
        t.wait(r"^icanon echo ?$")
        check("-icanon" not in t.screen() and "-echo" not in t.screen(),
              "terminal left raw:\n%s" % t.screen())
        # And the shell works normally: typed text is echoed.
        t.run("echo still-$((20+22))")
        t.wait(r"^still-42$")


def test_talk_tty_ctrl_z_gives_the_terminal_back():
    with Echod() as d, Tmux() as t, Client(d.port, "sue") as sue:
        t.run("clear; %s talk %s -n tom" % (CHATCTL, addr(d.port)))
        t.wait(PROMPT % ("tom", "lobby"))
        t.type("kept")
        t.keys("C-z")
        t.wait(r"Stopped")
        t.run("stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'")
        t.wait(r"^icanon$")
        sue.send("MSG while you were away")
        t.run("fg")
        t.wait(MSG % ("sue", "while you were away"))
        t.wait(r"^tom@lobby> kept$")
        t.keys("Enter")
        sue.expect(r"^MSG \d+ tom kept$")


def test_talk_tty_slash_commands():
    with Echod() as d, Tmux() as t, Client(d.port, "ivy") as ivy:
        t.talk(d.port, "-n", "jack")
        t.wait(PROMPT % ("jack", "lobby"))
        t.run("/who")
        t.wait(r"--- in lobby: ivy, jack$")
        t.run("/me waves")
        ivy.expect(r"^ME \d+ jack waves$")
        t.wait(r"^\d\d:\d\d \* jack waves$")
        t.run("/nick jacques")
        ivy.expect(r"^NICK \d+ jack jacques$")
        t.wait(PROMPT % ("jacques", "lobby"))
        t.run("//slash at the start")
        ivy.expect(r"^MSG \d+ jacques /slash at the start$")
        t.run("/bogus")
        t.wait(r"--- unknown command /bogus \(/help lists them\)$")
        t.run("/nick no spaces")
        t.wait(r"--- nick \"no spaces\" is not valid")
        t.run("/help")
        t.wait(r"--- /join ROOM")
        t.run("/join back.room")
        ivy.expect(r"^PART \d+ jacques moved$")
        t.wait(PROMPT % ("jacques", "back.room"))
        t.run("/quit")
        check(t.wait_exit() == 0, "/quit: exit status not 0")


def test_talk_tty_history_up_arrow():
    with Echod() as d, Tmux() as t, Client(d.port, "kim") as kim:
        t.talk(d.port, "-n", "lee")
        t.wait(PROMPT % ("lee", "lobby"))
        t.run("first line")
        kim.expect(r"^MSG \d+ lee first line$")
        t.keys("Up")
        t.wait(r"^lee@lobby> first line$")
        t.type(" again")
        t.keys("Enter")
        kim.expect(r"^MSG \d+ lee first line again$")


def test_talk_tty_resize_keeps_display():
    with Echod() as d, Tmux(width=80, height=20) as t, Client(d.port, "max") as mx:
        t.talk(d.port, "-n", "ned")
        t.wait(PROMPT % ("ned", "lobby"))
        long = "x" * 90 + "中文" * 10 + "END"  # wraps at 80 and at 50
        t.type(long)
        mx.send("MSG before resize")
        t.wait(MSG % ("max", "before resize"))
        t.resize(50, 20)
        mx.send("MSG after resize")
        t.wait(MSG % ("max", "after resize"))

        # Once SIGWINCH is handled: the input drawn once, whole, below
        # the messages.
        def right():
            flat = t.screen().replace("\n", "")
            return (flat.count("ned@lobby>") == 1 and "ned@lobby> " + long in flat
                    and flat.find("after resize") < flat.find("ned@lobby>"))
        try:
            wait_for(right, 10, what="a clean display after the resize")
        except AssertionError as e:
            raise AssertionError("%s:\n%s" % (e, t.screen()))
        # Still right after another message.
        mx.send("MSG and one more")
        t.wait(MSG % ("max", "and one more"))
        wait_for(right, 10, what="a clean display after one more message")
        t.keys("Enter")
        mx.expect(r"^MSG \d+ ned x{90}(中文){10}END$")


def test_talk_tty_hostile_server_escaped():
    hostile = [
        b"MSG 1700000000000 eve \x1b[2J\x1b[Hcleared?\n",
        b"MSG 1700000000000 eve abc\xe2\x80\xaedcba\n",
        b"MSG 1700000000000 eve c1 \xc2\x9b31m and raw \x9b31m\n",
        b"MSG 1700000000000 eve \x1b]0;title\x07bell\n",
        b"MSG 1700000000000 e\x1b[31mve text\n",  # a nick with ESC: refused
        b"\x1b[?1049h\x1b[31mnot even a command\n",
        "MSG 1700000000000 eve 你好 😀 intact\n".encode(),
    ]

    def on_greet(c):
        for line in hostile:
            c.send(line)

    with ChatMock(on_greet=on_greet) as m, Tmux() as t:
        t.talk(m.port, "-n", "victim")
        t.wait(r"intact$")
        screen = t.screen()
        check("you are victim in lobby" in screen, "screen was cleared:\n%s" % screen)
        for want in ["<eve> ^[[2J^[[Hcleared?", "<eve> abc<U+202E>dcba",
                     # invalid UTF-8: refused by the parser, shown whole
                     "??? MSG 1700000000000 eve c1 <U+009B>31m and raw \\x9b31m",
                     "<eve> ^[]0;title^Gbell",
                     "??? MSG 1700000000000 e^[[31mve text",
                     "??? ^[[?1049h^[[31mnot even a command",
                     "<eve> 你好 😀 intact"]:
            check(want in screen, "missing %r in:\n%s" % (want, screen))
        # capture-pane -e shows the attributes in use: no red text.
        check("\x1b[31m" not in t.screen(escapes=True), "server text turned red")


def test_talk_tty_bidi_override_from_real_echod_escaped():
    # echod relays U+202E (not a control character): chatctl must not.
    with Echod() as d, Tmux() as t, Client(d.port, "mallory") as mal:
        t.talk(d.port, "-n", "olga")
        t.wait(PROMPT % ("olga", "lobby"))
        mal.send("MSG price: \u202e0001$ \u2066x\u2069".encode())
        t.wait(r"<mallory> price: <U\+202E>0001\$ <U\+2066>x<U\+2069>$")


def test_talk_tty_invisible_characters_from_real_echod_escaped():
    # echod relays format characters and U+2028/9 unchanged: chatctl
    # shows each escaped, as it does bidi controls.
    with Echod() as d, Tmux(width=200) as t, Client(d.port, "mallory") as mal:
        t.talk(d.port, "-n", "olga")
        t.wait(PROMPT % ("olga", "lobby"))
        mal.send("MSG ad\u200bmin \u200c\u200d\u2060\ufeff \u2028\u2029 "
                 "\U000e0001\U000e0041\U000e007f pass\u00adword end".encode())
        t.wait(r"<mallory> ad<U\+200B>min <U\+200C><U\+200D><U\+2060><U\+FEFF> "
               r"<U\+2028><U\+2029> <U\+E0001><U\+E0041><U\+E007F> "
               r"pass<U\+00AD>word end$")


def test_talk_tty_padded_message_cannot_pass_for_a_line():
    # alice pads her text so that, wrapped by a 100-column terminal, a row
    # would read "12:34 <alice> hi": chatctl wraps it itself and every
    # continuation row starts with its marker.
    with Echod() as d, Tmux(width=100, height=40) as t, Client(d.port, "alice") as al:
        t.talk(d.port, "-n", "bob")
        t.wait(PROMPT % ("bob", "lobby"))
        # "HH:MM <alice> x" is 15 columns: 85 spaces put the fake at 100.
        pads = [84, 85, 86, 185, 186]
        for pad in pads:
            al.send("MSG x" + " " * pad + "12:34 <alice> hi")
        al.send("MSG done")
        t.wait(MSG % ("alice", "done"))
        lines = t.lines()
        fakes = [x for x in lines if re.match(r"^\d\d:\d\d <alice> hi", x)]
        check(not fakes, "a row passes for alice's line:\n%s" % t.screen())
        starts = [x for x in lines if re.match(r"^\d\d:\d\d <alice> x", x)]
        check(len(starts) == len(pads), "%d messages start a row, not %d:\n%s" % (
            len(starts), len(pads), t.screen()))
        marked = [x for x in lines if x.startswith("    \u21b3 ")]
        check(len(marked) >= len(pads) and any("12:34 <alice> hi" in x for x in marked),
              "no continuation row marked:\n%s" % t.screen())
        # Every row a line of its own: nothing the terminal wrapped.
        check(all(len(x) <= 100 for x in lines), "a row wider than the pane")


def test_talk_tty_colours_unless_no_color():
    with Echod() as d, Client(d.port, "pat") as pat:
        with Tmux() as t:
            t.talk(d.port, "-n", "quinn")
            t.wait(PROMPT % ("quinn", "lobby"))
            pat.send("MSG colourful")
            t.wait(MSG % ("pat", "colourful"))
            check(re.search(r"<\x1b\[3[1-6]mpat\x1b\[", t.screen(escapes=True)),
                  "nick not coloured:\n%r" % t.screen(escapes=True))
        with Tmux(env={"NO_COLOR": "1"}) as t:
            t.talk(d.port, "-n", "rae")
            t.wait(PROMPT % ("rae", "lobby"))
            pat.send("MSG plain")
            t.wait(MSG % ("pat", "plain"))
            check(re.search(r"<pat> plain", t.screen(escapes=True)),
                  "NO_COLOR: nick coloured:\n%r" % t.screen(escapes=True))


# -- talk through pipes ----------------------------------------------------

def test_talk_pipe_lines_are_msgs_events_are_lines():
    with Echod() as d, Client(d.port, "sam") as sam, \
            Piped("talk", addr(d.port), "-n", "bot") as p:
        p.expect(r"^\d\d:\d\d --- you are bot in lobby \(2 members\)$")
        sam.expect(r"^JOIN \d+ bot$")
        p.send("first line\n")
        sam.expect(r"^MSG \d+ bot first line$")
        p.expect(MSG % ("bot", "first line"))
        sam.send("MSG from sam")
        p.expect(MSG % ("sam", "from sam"))
        sam.send("ME nods")
        p.expect(r"^\d\d:\d\d \* sam nods$")
        p.send("/who is not a command here\n\nlast, no LF")
        sam.expect(r"^MSG \d+ bot /who is not a command here$")
        p.close_stdin()
        sam.expect(r"^MSG \d+ bot last, no LF$")
        sam.expect(r"^PART \d+ bot quit$")
        rc, out, err = p.wait()
        check(rc == 0, "exit %d, stderr %r" % (rc, err))
        lines = out.decode().splitlines()
        check(lines[-1].endswith("--- bye"), "last line %r" % lines[-1])
        # Every line our own, once, and no escape sequences anywhere.
        check(sum("<bot> first line" in x for x in lines) == 1, "own message not once")
        check(b"\x1b" not in out, "escape sequence in pipe output")


def test_talk_pipe_eof_waits_for_own_messages():
    # All of stdin at once, then EOF: each message comes back before QUIT.
    with Echod() as d:
        rc, out, err = run_chatctl("talk", addr(d.port), "-n", "batch",
                                   input_bytes=b"".join(b"m%d\n" % i for i in range(50)))
        check(rc == 0, "exit %d, stderr %r" % (rc, err))
        for i in range(50):
            check(re.search(MSG % ("batch", "m%d" % i), out, re.M), "m%d not shown" % i)
        check(out.rstrip().endswith("--- bye"), "no bye at the end: %r" % out[-200:])


def test_talk_pipe_hostile_server_no_control_bytes():
    junk = bytes(range(1, 256)).replace(b"\n", b"")

    def on_greet(c):
        c.send(b"MSG 1700000000000 eve " + junk + b"\n")
        c.send(b"ERR bad-nick " + junk + b"\n")
        c.send(junk + b"\n")
        c.send(b"MSG 1700000000000 eve \xe2\x80\xae\xe2\x81\xa6 ok " + "你好\n".encode())

    with ChatMock(on_greet=on_greet) as m, Piped("talk", addr(m.port), "-n", "v") as p:
        p.expect(r"ok 你好$")
        p.close_stdin()
        rc, out, err = p.wait()
        check(rc == 0, "exit %d, stderr %r" % (rc, err))
        bad = sorted({b for b in out if b < 0x20 and b != 0x0A or b == 0x7F})
        check(not bad, "control bytes in output: %r" % bad)
        text = out.decode("utf-8")  # valid UTF-8 throughout
        check("\u202e" not in text and "\u2066" not in text, "bidi control printed")
        check("<U+202E><U+2066> ok 你好" in text, "bidi not shown escaped: %r" % text)
        for cp in range(0x80, 0xA0):
            check(chr(cp) not in text, "C1 U+%04X printed" % cp)


def test_talk_pipe_endless_line_stays_bounded():
    # A hostile server sends 64 MiB without LF, then a normal line.
    size = 64 << 20
    ready = threading.Event()

    def on_greet(c):
        def flood():
            ready.wait(10)
            chunk = b"A" * (1 << 20)
            for _ in range(size >> 20):
                c.send(chunk)
            c.send(b"\nMSG 1700000000000 eve after the flood\n")
        threading.Thread(target=flood, daemon=True).start()

    with ChatMock(on_greet=on_greet) as m, Piped("talk", addr(m.port), "-n", "v") as p:
        p.expect(r"you are v")
        ready.set()
        p.expect(r"^\d\d:\d\d \?\?\? the server sent a line of more than \d+ bytes: dropped$",
                 timeout=60)
        p.expect(MSG % ("eve", "after the flood"), timeout=60)
        with open("/proc/%d/status" % p.pid()) as f:
            hwm = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
        # A few MiB of fixed buffers (ASan adds its own); far below the
        # 64 MiB it would take to keep the line.
        check(hwm < 48 * 1024, "peak RSS %d KiB: the line was kept" % hwm)
        p.close_stdin()
        rc, out, err = p.wait()
        check(rc == 0, "exit %d, stderr %r" % (rc, err))


def test_talk_server_closes_without_bye_exit_1():
    # A connection lost without BYE is reconnected (test_talk_resume.py);
    # a server that drops every session at once is given up on after the
    # limit (CHATCTL_RECONNECT_LIMIT, seconds), with the last reason.
    def on_greet(c):
        c.sock.shutdown(socket.SHUT_RDWR)

    with ChatMock(on_greet=on_greet) as m, Piped("talk", addr(m.port), "-n", "w",
                                                  env={"CHATCTL_RECONNECT_LIMIT": "2"}) as p:
        rc, out, err = p.wait(timeout=30)
        check(rc == 1, "exit %d" % rc)
        check("chatctl: talk: 127.0.0.1:%d: gave up reconnecting after 2 s (last: "
              "127.0.0.1:%d: connection closed by the server)" % (m.port, m.port) in err,
              "stderr %r" % err)
        check("reconnecting to 127.0.0.1:%d (attempt 1)..." % m.port in err, "stderr %r" % err)


def test_talk_bye_slow_exit_1():
    def on_greet(c):
        c.send(b"BYE slow\n")

    with ChatMock(on_greet=on_greet) as m, Piped("talk", addr(m.port), "-n", "w") as p:
        rc, out, err = p.wait()
        check(rc == 1, "exit %d" % rc)
        check(b"the server closed the connection (slow)" in out, "stdout %r" % out)


def test_talk_nick_taken():
    with Echod() as d, Client(d.port, "taken"):
        rc, out, err = run_chatctl("talk", addr(d.port), "-n", "taken", input_bytes=b"")
        check(rc == 1, "exit %d" % rc)
        check('chatctl: talk: 127.0.0.1:%d: the nick "taken" is taken; choose another with -n'
              % d.port in err, "stderr %r" % err)


def test_talk_default_nick_is_login_name_or_next_free():
    import pwd
    login = pwd.getpwuid(os.getuid()).pw_name
    with Echod() as d, Client(d.port, login):
        rc, out, err = run_chatctl("talk", addr(d.port), input_bytes=b"hi\n",
                                   env={"LOGNAME": login})
        check(rc == 0, "exit %d, %r" % (rc, err))
        check(re.search(r"you are %s2 in lobby" % re.escape(login), out),
              "no %s2 in %r" % (login, out))


def test_talk_room_option_and_default_room():
    with Echod(ini={"chat": {"default_room": "hall"}}) as d:
        rc, out, err = run_chatctl("talk", addr(d.port), "-n", "u1", input_bytes=b"")
        check(rc == 0 and "you are u1 in hall" in out, "default room: %r %r" % (out, err))
        rc, out, err = run_chatctl("talk", addr(d.port), "-r", "dev", "-n", "u2",
                                   input_bytes=b"")
        check(rc == 0 and "you are u2 in dev" in out, "-r dev: %r %r" % (out, err))


def test_talk_greeting_refused_message_escaped():
    with ChatMock(greet_reply=b"ERR room-full \x1b[2Jno room \xe2\x80\xae\n") as m:
        rc, out, err = run_chatctl("talk", addr(m.port), "-n", "x", input_bytes=b"")
        check(rc == 1, "exit %d" % rc)
        check(err == "chatctl: talk: 127.0.0.1:%d: the server refused: room-full: "
              "^[[2Jno room <U+202E>\n" % m.port, "stderr %r" % err)
    with ChatMock(greet_reply=b"BYE shutdown\n") as m:
        rc, out, err = run_chatctl("who", addr(m.port))
        check(rc == 1, "exit %d" % rc)
        check(err == "chatctl: who: 127.0.0.1:%d: the server closed the connection "
              "(shutdown)\n" % m.port, "stderr %r" % err)


def test_talk_echo_server_recognised():
    with Echod(ini={"chat": {"enabled": "no"}}) as d:
        rc, out, err = run_chatctl("talk", addr(d.port), "-n", "x", input_bytes=b"")
        check(rc == 1, "exit %d" % rc)
        check("chatctl: talk: 127.0.0.1:%d: the server echoes instead of chatting" % d.port in err,
              "stderr %r" % err)


def test_closed_std_fds_never_become_the_socket():
    # Started with stdin (or stdout) closed, chatctl must not take the
    # server for its input nor print to it.
    with Echod() as d, Client(d.port, "obs") as obs:
        p = subprocess.run("%s talk %s -n nofd <&-" % (CHATCTL, addr(d.port)), shell=True,
                           capture_output=True, timeout=15)
        check(p.returncode == 0, "stdin closed: exit %d, %r" % (p.returncode, p.stderr))
        obs.expect(r"^JOIN \d+ nofd$")
        line = obs.line()  # next: PART, no MSG made of server lines
        check(re.match(r"^PART \d+ nofd quit$", line), "after JOIN: %r" % line)
        p = subprocess.run("%s ping %s -c 2 >&-" % (CHATCTL, addr(d.port)), shell=True,
                           capture_output=True, timeout=15)
        check(p.returncode == 0, "stdout closed: exit %d, %r" % (p.returncode, p.stderr))


def test_talk_ipv6_literal():
    try:
        m = ChatMock(host="::1")
    except OSError as e:
        from echodtest import Skip
        raise Skip("no IPv6 loopback: %s" % e)
    with m:
        rc, out, err = run_chatctl("talk", "[::1]:%d" % m.port, "-n", "six",
                                   input_bytes=b"over v6\n")
        check(rc == 0, "exit %d, %r" % (rc, err))
        check(re.search(MSG % ("six", "over v6"), out, re.M), "stdout %r" % out)


def test_talk_tries_every_address():
    # "localhost" may give ::1 first, where nothing listens: chatctl must
    # go on to 127.0.0.1.
    addrs = {ai[4][0] for ai in socket.getaddrinfo("localhost", 1, type=socket.SOCK_STREAM)}
    with Echod() as d:
        rc, out, err = run_chatctl("talk", "localhost:%d" % d.port, "-n", "lh",
                                   input_bytes=b"via localhost\n")
        check(rc == 0, "exit %d, %r (localhost is %s)" % (rc, err, addrs))
        check(re.search(MSG % ("lh", "via localhost"), out, re.M), "stdout %r" % out)


# -- who -------------------------------------------------------------------

def test_who_lists_members_not_itself():
    with Echod() as d, Client(d.port, "zed") as zed, Client(d.port, "amy"), \
            Client(d.port, "bo", room="dev"):
        rc, out, err = run_chatctl("who", addr(d.port))
        check(rc == 0, "exit %d, %r" % (rc, err))
        check(out == "amy\nzed\n", "who: %r" % out)
        rc, out, err = run_chatctl("who", addr(d.port), "-r", "dev")
        check(rc == 0 and out == "bo\n", "who -r dev: %r %r" % (out, err))
        # A room nobody is in does not exist (the probe's no-such-room).
        rc, out, err = run_chatctl("who", addr(d.port), "-r", "empty")
        check(rc == 1 and out == "", "who -r empty: %r %r" % (out, err))
        # The probe is no visit: the room sees nothing of it.
        zed.expect(r"^JOIN \d+ amy$")
        zed.send("PING after-who")
        line = zed.line()
        check(line == "PONG after-who", "the room saw who: %r" % line)


# -- ping ------------------------------------------------------------------

def test_ping_summary():
    with Echod() as d:
        rc, out, err = run_chatctl("ping", addr(d.port), "-c", "5", "-S", "100")
        check(rc == 0, "exit %d, %r" % (rc, err))
        lines = out.splitlines()
        replies = [x for x in lines if re.match(
            r"^100 bytes from 127\.0\.0\.1:%d: seq=\d time=\d+\.\d{3} ms$" % d.port, x)]
        check(len(replies) == 5, "%d reply lines in %r" % (len(replies), out))
        check("--- 127.0.0.1:%d chatctl ping statistics ---" % d.port in lines, out)
        check("5 round trips, 500 bytes echoed and verified" in lines, out)
        m = re.search(r"^rtt min/avg/max/p99 = ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms$",
                      out, re.M)
        check(m, "no rtt line in %r" % out)
        mn, avg, mx, p99 = (float(x) for x in m.groups())
        check(mn <= avg <= mx and mn <= p99 <= mx, "inconsistent rtt: %s" % m.group(0))
        # echod saw one echo connection, not a chat greeting.
        d.wait_log(r"close 127\.0\.0\.1:\d+ echo: 500 bytes in, 500 out")


def test_ping_large_payload_no_deadlock():
    with Echod() as d:
        rc, out, err = run_chatctl("ping", addr(d.port), "-c", "2", "--size", "1048576")
        check(rc == 0, "exit %d, %r" % (rc, err))
        check("2 round trips, 2097152 bytes echoed and verified" in out, out)


def test_ping_detects_corruption():
    # An "echo" server that flips one byte of what it returns.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = ls.getsockname()[1]

    def serve():
        c, _ = ls.accept()
        total = 0
        while True:
            data = c.recv(65536)
            if not data:
                break
            data = bytearray(data)
            if total <= 150 < total + len(data):
                data[150 - total] ^= 0x20
            total += len(data)
            c.sendall(bytes(data))
        c.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        rc, out, err = run_chatctl("ping", addr(port), "-c", "3", "-S", "100")
    finally:
        ls.close()
    check(rc == 1, "exit %d" % rc)
    check(re.search(r"chatctl: ping: 127\.0\.0\.1:\d+: seq=2: byte 50 came back as 0x[0-9a-f]{2}, "
                    r"sent 0x[0-9a-f]{2}", err), "stderr %r" % err)


# -- errors ------------------------------------------------------------------

def test_connection_refused_exit_3():
    # 3, as systemctl says of a unit that is not running: no echod there.
    port = free_port()
    for cmd in (["talk", addr(port), "-n", "x"], ["who", addr(port)], ["ping", addr(port)]):
        rc, out, err = run_chatctl(*cmd)
        check(rc == 3, "%s: exit %d" % (cmd[0], rc))
        check(err == "chatctl: %s: cannot connect to 127.0.0.1:%d: Connection refused\n"
              % (cmd[0], port), "%s: stderr %r" % (cmd[0], err))


def test_usage_errors_exit_2():
    cases = [
        (["talk"], "chatctl: talk: missing HOST"),
        (["talk", "h", "-x"], "chatctl: talk: unknown option -x"),
        (["talk", "h", "--nope"], "chatctl: talk: unknown option --nope"),
        (["talk", "h", "-n"], "chatctl: talk: option -n needs a value"),
        (["talk", "h", "--nick"], "chatctl: talk: option --nick needs a value"),
        (["talk", "h", "-n", "a b"], 'chatctl: talk: -n: "a b" is not a valid nick'),
        (["talk", "h", "--nick=a b"], 'chatctl: talk: -n: "a b" is not a valid nick'),
        (["talk", "h", "-r", "#x"], 'chatctl: talk: -r: "#x" is not a valid room'),
        (["talk", "h", "--color=pink"],
         'chatctl: talk: --color: "pink" is not auto, always or never'),
        (["talk", "h", "--help=x"], "chatctl: talk: option --help takes no value"),
        (["talk", "h", "extra"], 'chatctl: talk: unexpected argument "extra"'),
        (["talk", "h:0"], "chatctl: talk: h:0: port 0 is not between 1 and 65535"),
        (["talk", "[::1"], "chatctl: talk: [::1: missing ']'"),
        (["who"], "chatctl: who: missing HOST"),
        (["who", "h", "-n", "x"], "chatctl: who: -n (--nick) is not an option of who"),
        (["ping", "h", "-c", "0"], "chatctl: ping: -c: 0 is not between 1 and 1000000"),
        (["ping", "h", "-c", "many"], 'chatctl: ping: -c: "many" is not a number'),
        (["ping", "h", "-c", "-3"], "chatctl: ping: -c: -3 is not between 1 and 1000000"),
        (["ping", "h", "-S", "0"], "chatctl: ping: -S: 0 is not between 1 and 1048576"),
        # -s is --socket everywhere; ping's size is -S.
        (["ping", "h", "-s", "64"], "chatctl: ping: -s (--socket) is not an option of ping"),
        (["ping", "h:http"], 'chatctl: ping: h:http: port "http" is not a number'),
        (["status", "extra"], 'chatctl: status: unexpected argument "extra"'),
        (["status", "-s", ""], "chatctl: status: -s: empty socket path"),
        (["reload", "--json"], "chatctl: reload: unknown option --json"),
        (["help", "nope"], 'chatctl: help: unknown command "nope"; valid commands: '
         'talk who ping status reload help'),
    ]
    for args, want in cases:
        rc, out, err = run_chatctl(*args)
        check(rc == 2, "%s: exit %d" % (args, rc))
        check(err.startswith(want + "\n") or err.startswith(want + ":"),
              "%s: stderr %r, want %r" % (args, err, want))
        check("usage: chatctl %s" % args[0] in err, "%s: no usage line" % args)
        check(out == "", "%s: a usage error printed on stdout: %r" % (args, out))


def test_talk_keepalive_outlives_idle_timeout():
    # A member who only reads must not be dropped as idle: chatctl talk
    # sends PING when it has been quiet (CHATCTL_KEEPALIVE seconds).
    with Echod(ini={"server": {"idle_timeout": "2"}}) as d, \
            Piped("talk", addr(d.port), "-n", "reader",
                  env={"CHATCTL_KEEPALIVE": "1"}) as p, \
            Client(d.port, "writer") as w:
        for i in range(5):  # more than twice idle_timeout, reader silent
            time.sleep(1)
            w.send("PING %d" % i)  # the writer is not idle
        w.send("MSG still there?")
        p.expect(r"<writer> still there\?")
        check(not re.search(r"reader.*idle", d.log()) and
              not any("idle" in l for l in p.seen),
              "the silent reader was dropped as idle: %s" % p.seen)
