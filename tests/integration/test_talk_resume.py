# SPDX-License-Identifier: GPL-3.0-or-later
"""chatctl talk rides through restarts (issue 12), against a real echod:
reconnecting after an echod restart and a kill -9 of the hub with the
draft, nick and room kept and each missed line shown once; the pending
own line; long messages split; paced pastes; who's probe; PART details.

Terminal sessions are driven through tmux, pipes through Piped. Nothing
asserts on speed: every wait is for something to appear.
"""

import os
import re
import signal
import socket
import threading
import time

from chatmock import ChatMock
from ctltest import Client, Piped, Tmux, run_chatctl
from echodtest import Echod, TestFailure, check, pids_children, wait_for

TIMEOUTS = {"test_silent_server_reported_after_the_timeout": 40,
            "test_pipe_paste_of_100_lines_in_order_without_err": 120,
            "test_pipe_lines_written_during_a_restart_arrive_once": 60,
            "test_rejoin_retries_bye_restart_and_a_long_held_nick_with_the_same_nick": 40,
            "test_rejoin_keeps_its_nick_while_the_old_stays_taken": 40}

# The pane's line for a message: "HH:MM <nick> text", maybe replayed.
MSG = r"^(\[history\] )?\d\d:\d\d <%s> %s$"
PROMPT = r"^%s@%s> ?%s$"


def addr(port):
    return "127.0.0.1:%d" % port


def count_lines(t, regex):
    rx = re.compile(regex)
    return sum(1 for line in t.lines() if rx.search(line))


def chatctl_pid(t):
    """The chatctl running in a Tmux window (the shell's child)."""
    shell = int(t.tmux("display-message", "-p", "#{pane_pid}").strip())
    return wait_for(lambda: (pids_children(shell) or [None])[0], 5,
                    what="chatctl in the pane")


def hub_pid(d):
    return wait_for(lambda: (d.children_by_comm("echod-hub") or [None])[0], 5,
                    what="the hub")


def replay_client(port, nick, room):
    """A raw client that asks for the room's history (CHAT/1 ids last=)."""
    c = Client(port, nick, greet=False)
    c.send("CHAT/1 %s %s ids last=1000" % (nick, room))
    c.expect(r"^OK ")
    return c


def texts_until(c, nick, last, timeout=30.0):
    """MSG texts from nick (live or replayed) until one equals last."""
    rx = re.compile(r"^(?:@\d+ (?:HIST )?)?MSG \d+ (\S+) (.*)$")
    out = []
    while True:
        line = c.line(timeout)
        check(not line.startswith("ERR"), "%s got %r" % (c.nick, line))
        m = rx.match(line)
        if m and m.group(1) == nick:
            out.append(m.group(2))
            if m.group(2) == last:
                return out


def ride_through(outage, room="den"):
    """alice (chatctl on a terminal, room den) with a draft on the input
    line; while she is stopped (SIGSTOP) the server goes through outage(d)
    and bob says a line; then she runs again and must reconnect, keep the
    draft, rejoin as alice in den and show bob's line once."""
    with Echod() as d, Tmux() as a:
        # No job control: a SIGSTOP from outside must leave chatctl in
        # the foreground, not hand the terminal back to the shell.
        a.run("set +m")
        a.talk(d.port, "-n", "alice", *(["-r", room] if room != "lobby" else []))
        a.wait(r"you are alice in %s \(1 member\)" % room)
        a.type("said before")
        a.keys("Enter")
        a.wait(MSG % ("alice", "said before"))
        a.type("half typed")
        a.wait(PROMPT % ("alice", room, "half typed"))
        pid = chatctl_pid(a)
        os.kill(pid, signal.SIGSTOP)
        try:
            outage(d)
            # bob stays: a room's history lives as long as the room.
            bob = Client(d.port, "bob", room=room)
            bob.send("MSG said while you were away")
            bob.expect(r"^MSG \d+ bob said while you were away$")
        finally:
            os.kill(pid, signal.SIGCONT)
        a.wait(r"reconnecting to 127\.0\.0\.1:%d \(attempt \d+\)\.\.\." % d.port)
        a.wait(MSG % ("bob", "said while you were away"), timeout=20)
        a.wait(PROMPT % ("alice", room, "half typed"))
        check(count_lines(a, r"you are alice in %s" % room) == 2, "no rejoin as alice in %s:\n%s"
              % (room, a.screen()))
        check(count_lines(a, r"<bob> said while you were away$") == 1,
              "bob's line not shown once:\n%s" % a.screen())
        check(count_lines(a, r"<alice> said before$") == 1,
              "alice's own line shown again:\n%s" % a.screen())
        # The new hub's history starts after the last line alice saw: the
        # since= replay says lines may be missing.
        check(count_lines(a, r"some lines may be missing") == 1,
              "the gap note:\n%s" % a.screen())
        # The draft was never sent: nobody saw it.
        bob.send("WHO")
        m = bob.expect(r"^(MSG \d+ alice .*|WHO .*)$")
        check(m.group(1) == "WHO alice bob", "bob got %r" % m.group(1))
        bob.close()
        a.keys("C-u")
        a.keys("C-d")
        check(a.wait_exit() == 0, "exit status")


def test_echod_restart_keeps_draft_nick_room_and_shows_missed_line_once():
    def restart(d):
        d.stop()
        d.restart()
    ride_through(restart)


def test_echod_restart_without_room_option_shows_missed_line_once():
    # Without -r the first greeting names the room "*" (the default
    # room) to carry its options: the rejoin asks since= as with -r.
    def restart(d):
        d.stop()
        d.restart()
    ride_through(restart, room="lobby")


def test_kill_9_of_the_hub_keeps_draft_and_shows_missed_line_once():
    def kill_hub(d):
        old = hub_pid(d)
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: hub_pid(d) != old, 10, what="a new hub")
        # The new hub takes members again (BYE restart until it does).
        while True:
            c = Client(d.port, "probe-%d" % os.getpid(), greet=False)
            c.send("CHAT/1 probe%d den" % os.getpid())
            line = c.line()
            c.close()
            if line.startswith("OK "):
                break
    ride_through(kill_hub)


def tcp_ports_by_inode():
    """socket inode -> (local port, remote port), from /proc/net/tcp{,6}."""
    out = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            w = row.split()
            out[w[9]] = (int(w[1].rsplit(":", 1)[1], 16), int(w[2].rsplit(":", 1)[1], 16))
    return out


def socket_ports(pid):
    """(local, remote) ports of pid's TCP sockets."""
    ports = tcp_ports_by_inode()
    found = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", target)
        if m and m.group(1) in ports:
            found.append(ports[m.group(1)])
    return found


def worker_of(d, client_pid, port):
    """The echod worker serving the client process's connection."""
    mine = [lp for lp, rp in socket_ports(client_pid) if rp == port]
    check(len(mine) == 1, "chatctl's connections: %r" % socket_ports(client_pid))
    for w in d.workers():
        if any(rp == mine[0] for lp, rp in socket_ports(w)):
            return w
    raise TestFailure("no worker holds port %d" % mine[0])


def lost_connection(room):
    """alice's connection dies (her worker is killed: EOF, no BYE) while
    the room lives on: she rejoins and shows only what she missed."""
    with Echod() as d, Tmux() as a, Client(d.port, "bob", room=room) as bob:
        a.run("set +m")
        a.talk(d.port, "-n", "alice", *(["-r", room] if room != "lobby" else []))
        a.wait(r"you are alice in %s \(2 members\)" % room)
        bob.send("MSG before")
        a.wait(MSG % ("bob", "before"))
        a.type("said before")
        a.keys("Enter")
        a.wait(MSG % ("alice", "said before"))
        pid = chatctl_pid(a)
        os.kill(pid, signal.SIGSTOP)
        try:
            os.kill(worker_of(d, pid, d.port), signal.SIGKILL)
            bob.expect(r"^PART \d+ alice closed$")
            bob.send("MSG while away")
            bob.expect(r"^MSG \d+ bob while away$")
        finally:
            os.kill(pid, signal.SIGCONT)
        a.wait(MSG % ("bob", "while away"), timeout=20)
        bob.expect(r"^JOIN \d+ alice$")
        for text in ("<bob> before", "<alice> said before", "<bob> while away"):
            check(count_lines(a, text + "$") == 1, "%r not shown once:\n%s" % (text, a.screen()))
        check(count_lines(a, "may be missing") == 0, "a gap?\n%s" % a.screen())


def test_lost_connection_replays_only_the_missed_lines():
    lost_connection("den")


def test_lost_connection_without_room_option_replays_only_the_missed_lines():
    lost_connection("lobby")


def rejoin_with_ghost(ghost_leaves):
    """alice rejoins after an echod restart while another holds her nick
    (as her old session would, not yet gone)."""
    with Echod() as d, Tmux() as a:
        a.run("set +m")
        a.talk(d.port, "-n", "alice", "-r", "den")
        a.wait(r"you are alice in den \(1 member\)")
        pid = chatctl_pid(a)
        os.kill(pid, signal.SIGSTOP)
        try:
            d.stop()
            d.restart()
            ghost = Client(d.port, "alice", room="den")
        finally:
            os.kill(pid, signal.SIGCONT)
        a.wait(r"reconnecting to 127\.0\.0\.1:%d \(attempt 2\)" % d.port)
        if ghost_leaves:
            ghost.close()
            wait_for(lambda: count_lines(a, r"you are alice in den \(1 member\)$") == 2, 20,
                     what="alice back as alice")
            check(count_lines(a, r"alice\d") == 0, a.screen())
        else:
            # Past the fifth refusal, where talk once took alice2: still
            # alice, on the backoff's schedule, said once.
            a.wait(r"reconnecting to 127\.0\.0\.1:%d \(attempt 6\)" % d.port, timeout=20)
            ghost.close()
            wait_for(lambda: count_lines(a, r"you are alice in den \(1 member\)$") == 2, 20,
                     what="alice back as alice")
            check(count_lines(a, r"alice\d") == 0, a.screen())
            check(count_lines(a, HELD) == 1, a.screen())


class HeldNickServer:
    """A CHAT/1 server that answers its plain greetings from a script, as a
    cluster does when talk's node died (kill -9): the next node finds the
    nick still held in Redis by the dead one for a few seconds, or has lost
    Redis itself. answers: one per plain greeting, in order: "OK" (serve:
    MSG echoed unless swallow is set, WHO, PING, QUIT), "TAKEN" (ERR
    nick-taken) or "BYE" (BYE restart, then close). A greeting with options
    gets bad-greeting (an older server), so talk greets plainly.
    """

    def __init__(self, answers):
        self.answers = list(answers)
        self.greetings = []  # the plain greetings, in order
        self.msgs = []  # (greeting index, text) of each MSG received
        self.swallow = False
        self.stopping = False
        self.log = []  # (index, answer, greeting line) of each plain greeting
        self.live = None  # the socket of the session served now
        self.lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # close() alone leaves the accept() blocked in the thread still
        # listening: a later test's chatctl, given the port again, could
        # reach this server. shutdown() ends that accept.
        self.stopping = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        if self.live is not None:
            self.live.close()
        return False

    def drop(self):
        """The node dies: its session ends without BYE."""
        with self.lock:
            s, self.live = self.live, None
        s.shutdown(socket.SHUT_RDWR)

    def _accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                # Ended by __exit__; any other error (a client that reset
                # before it was taken) must not leave the port unserved.
                if self.stopping:
                    return
                time.sleep(0.01)
                continue
            if self.stopping:
                s.close()
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        f = s.makefile("rb")
        n = None  # our greeting's index once it is answered OK
        try:
            for raw in f:
                words = raw.rstrip(b"\r\n").decode().split(" ")
                if n is None and len(words) > 3:
                    s.sendall(b"ERR bad-greeting no options here\n")
                elif n is None:
                    with self.lock:
                        self.greetings.append(words)
                        i = len(self.greetings) - 1
                    what = self.answers[i] if i < len(self.answers) else "OK"
                    self.log.append((i, what, raw))
                    if what == "TAKEN":
                        s.sendall(b"ERR nick-taken %s is taken in %s\n"
                                  % (words[1].encode(), words[2].encode()))
                    elif what == "BYE":
                        s.sendall(b"BYE restart\n")
                        return
                    else:
                        n = i
                        with self.lock:
                            self.live = s
                        s.sendall(b"OK %s %s 1\n" % (words[1].encode(), words[2].encode()))
                elif words[0] == "MSG":
                    text = " ".join(words[1:])
                    self.msgs.append((n, text))
                    if not self.swallow:
                        s.sendall(b"MSG 1 %s %s\n" % (self.greetings[n][1].encode(),
                                                       text.encode()))
                elif words[0] == "WHO":
                    s.sendall(b"WHO %s\n" % self.greetings[n][1].encode())
                elif words[0] == "PING":
                    s.sendall(b"PONG %s\n" % " ".join(words[1:]).encode())
                elif words[0] == "QUIT":
                    s.sendall(b"BYE quit\n")
                    return
        except OSError:
            pass
        finally:
            s.close()


HELD = r"nick alice is still held \(by a session that is going away\?\); retrying"


def rejoin_while_held(answers):
    """alice (a terminal, room den) with a line the server never confirmed
    and a draft; her node dies; the rejoins get answers[1:], then OK: she
    must be back as alice in den, say once that her nick was still held,
    keep the draft and send the pending line again, once."""
    with HeldNickServer(answers) as m, Tmux() as a:
        a.talk(m.port, "-n", "alice", "-r", "den")
        a.wait(r"you are alice in den \(1 member\)")
        a.type("said before")
        a.keys("Enter")
        a.wait(MSG % ("alice", "said before"))
        m.swallow = True
        a.type("never confirmed")
        a.keys("Enter")
        a.wait(r"<alice> never confirmed \(sending\)$")
        wait_for(lambda: (0, "never confirmed") in m.msgs, 10, what="the line at the server")
        m.swallow = False
        a.type("half typed")
        a.wait(PROMPT % ("alice", "den", "half typed"))
        m.drop()
        # BYE and five refusals take up to 13 s of backoff, more on a
        # loaded machine: bounded, but not tight.
        wait_for(lambda: count_lines(a, r"you are alice in den \(1 member\)$") == 2, 90,
                 what="alice back as alice in den:\n%s" % a.screen())
        a.wait(MSG % ("alice", "never confirmed"))
        a.wait(PROMPT % ("alice", "den", "half typed"))
        check([g[1:] for g in m.greetings] == [["alice", "den"]] * len(m.greetings),
              "greetings %r" % m.greetings)
        check(len(m.greetings) == len(answers) + 1, "%d greetings for %d answers: %r\n%s"
              % (len(m.greetings), len(answers), m.log, a.screen()))
        check(count_lines(a, HELD) == (1 if "TAKEN" in answers else 0),
              "the still-held note %d times:\n%s" % (count_lines(a, HELD), a.screen()))
        check(count_lines(a, r"never confirmed") == 1, a.screen())
        check(m.msgs.count((len(answers), "never confirmed")) == 1,
              "the pending line sent to the last session: %r" % m.msgs)
        check(count_lines(a, r"alice\d") == 0, a.screen())
        a.keys("C-u")
        a.keys("C-d")
        check(a.wait_exit() == 0, "exit status")


def test_rejoin_retries_while_its_nick_is_still_held():
    rejoin_while_held(["OK", "TAKEN", "TAKEN"])


def test_rejoin_retries_bye_restart_and_a_long_held_nick_with_the_same_nick():
    # BYE restart before any OK (a node whose Redis is down), then the
    # nick held for longer than talk once waited before taking another.
    rejoin_while_held(["OK", "BYE", "TAKEN", "TAKEN", "TAKEN", "TAKEN", "TAKEN"])


def test_rejoin_waits_for_its_old_nick_to_be_free():
    rejoin_with_ghost(True)


def test_rejoin_keeps_its_nick_while_the_old_stays_taken():
    rejoin_with_ghost(False)


def test_pending_own_line_while_the_hub_is_stopped():
    with Echod() as d, Tmux() as a, Client(d.port, "bob", room="den") as bob:
        a.talk(d.port, "-n", "alice", "-r", "den")
        a.wait(r"you are alice in den")
        hub = hub_pid(d)
        os.kill(hub, signal.SIGSTOP)
        try:
            a.type("are you there")
            a.keys("Enter")
            a.wait(r"<alice> are you there \(sending\)$")
        finally:
            os.kill(hub, signal.SIGCONT)
        a.wait(MSG % ("alice", "are you there"))
        bob.expect(r"MSG \d+ alice are you there$")
        wait_for(lambda: count_lines(a, r"\(sending\)") == 0, 10, what="pending line gone")
        check(count_lines(a, r"are you there") == 1, "shown %d times:\n%s"
              % (count_lines(a, "are you there"), a.screen()))


def test_pending_line_lost_with_the_hub_is_sent_again_once():
    # The hub stops, alice's line waits in front of it; then the hub is
    # killed, so the line is lost: after the rejoin (whose replay does
    # not have it) alice sends it again, and it is shown once.
    with Echod() as d, Tmux() as a, Client(d.port, "bob", room="den"):
        a.talk(d.port, "-n", "alice", "-r", "den")
        a.wait(r"you are alice in den \(2 members\)")
        hub = hub_pid(d)
        os.kill(hub, signal.SIGSTOP)
        a.type("lost with the hub")
        a.keys("Enter")
        a.wait(r"<alice> lost with the hub \(sending\)$")
        os.kill(hub, signal.SIGKILL)
        a.wait(r"reconnecting to 127\.0\.0\.1:%d" % d.port)
        a.wait(MSG % ("alice", "lost with the hub"), timeout=20)
        with replay_client(d.port, "carol", "den") as carol:
            got = texts_until(carol, "alice", "lost with the hub")
        check(got == ["lost with the hub"], "carol got %r" % got)
        wait_for(lambda: count_lines(a, r"\(sending\)") == 0, 10, what="pending line gone")
        check(count_lines(a, r"lost with the hub") == 1, "shown %d times:\n%s"
              % (count_lines(a, "lost with the hub"), a.screen()))


def test_old_server_gets_the_plain_greeting_and_a_reconnect():
    # chatmock is an older server: "CHAT/1 x dev ids" is bad-greeting.
    # talk falls back to the plain greeting, and keeps to it when the
    # connection is lost and it reconnects.
    with ChatMock() as m, Piped("talk", addr(m.port), "-n", "x", "-r", "dev") as p:
        p.send("before\n")
        p.expect(r"<x> before$")
        first = m.client("x")
        check(first.received[:2] == [b"CHAT/1 x dev ids", b"CHAT/1 x dev"],
              "greetings %r" % first.received[:2])
        first.sock.shutdown(socket.SHUT_RDWR)
        second = wait_for(lambda: next((c for c in list(m.clients)
                                        if c is not first and c.nick == "x"), None),
                          10, what="x back")
        check(second.received[0] == b"CHAT/1 x dev", "rejoin greeting %r" % second.received[:1])
        p.send("after\n")
        p.expect(r"<x> after$")
        p.close_stdin()
        rc, out, err = p.wait()
        check(rc == 0, "exit %d, %r" % (rc, err))


def test_long_cjk_message_arrives_split_in_valid_pieces():
    text = "中" * 1000  # 3000 bytes, no space
    with Echod() as d, Client(d.port, "bob", room="den") as bob, \
            Piped("talk", addr(d.port), "-n", "alice", "-r", "den") as p:
        bob.expect(r"^JOIN \d+ alice$")
        p.send(text + "\n")
        p.close_stdin()
        got = ""
        while len(got) < len(text):
            m = bob.expect(r"^MSG \d+ alice (.*)$")
            piece = m.group(1)
            check(len(("MSG " + piece).encode()) <= 1024, "piece of %d bytes"
                  % len(piece.encode()))
            check("\ufffd" not in piece, "a piece cut inside a character")
            got += piece
        check(got == text, "pieces do not make the text")
        rc, out, err = p.wait()
        check(rc == 0, "exit %d, %r" % (rc, err))
        check(b"!!!" not in out, "an ERR: %r" % out[-300:])


def test_who_room_lists_members_and_the_room_sees_nothing():
    with Echod() as d, Client(d.port, "zed", room="dev") as zed, \
            Client(d.port, "amy", room="dev"):
        zed.expect(r"^JOIN \d+ amy$")
        rc, out, err = run_chatctl("who", addr(d.port), "dev")
        check(rc == 0, "exit %d, %r" % (rc, err))
        check(out == "amy\nzed\n", "who dev: %r" % out)
        zed.send("PING after")
        line = zed.line()
        check(line == "PONG after", "the room saw the probe: %r" % line)


def test_who_unknown_room_exit_1():
    with Echod() as d, Client(d.port, "zed", room="dev"):
        rc, out, err = run_chatctl("who", addr(d.port), "nowhere")
        check(rc == 1, "exit %d" % rc)
        check(err == "chatctl: who: no room nowhere on %s\n" % addr(d.port), "stderr %r" % err)
        check(out == "", "stdout %r" % out)


def test_quit_reason_and_join_elsewhere_shown_to_others():
    with Echod() as d, Tmux() as a, Tmux() as b, Tmux() as c:
        b.talk(d.port, "-n", "bob", "-r", "den")
        b.wait(r"you are bob in den")
        a.talk(d.port, "-n", "alice", "-r", "den")
        a.wait(r"you are alice in den")
        c.talk(d.port, "-n", "carl", "-r", "den")
        c.wait(r"you are carl in den")
        b.wait(r"--> carl joined den")
        a.type("/quit gone fishing")
        a.keys("Enter")
        check(a.wait_exit() == 0, "alice's exit")
        b.wait(r"<-- alice left \(quit: gone fishing\)$")
        c.type("/join kitchen")
        c.keys("Enter")
        c.wait(r"you are carl in kitchen")
        b.wait(r"<-- carl left for kitchen$")


def test_pipe_lines_written_during_a_restart_arrive_once():
    with Echod() as d, Piped("talk", addr(d.port), "-n", "alice", "-r", "den") as p:
        p.send("one\n")
        p.expect(r"<alice> one$")
        d.stop()
        p.send("two\nthree\n")
        d.restart()
        # bob sees alice's lines live or, if she was back first, in the
        # replay of the new echod's history (the room lives while she is in).
        with replay_client(d.port, "bob", "den") as bob:
            p.send("four\n")
            got = texts_until(bob, "alice", "four")
            p.close_stdin()
            rc, out, err = p.wait(timeout=40)
        check(got == ["two", "three", "four"], "after the restart: %r" % got)
        check(rc == 0, "exit %d, %r" % (rc, err))
        check("reconnecting to %s" % addr(d.port) in err, "stderr %r" % err)
        text = out.decode()
        for w in ("one", "two", "three", "four"):
            n = len(re.findall(r"<alice> %s$" % w, text, re.M))
            check(n == 1, "%s shown %d times in %r" % (w, n, text))


def paste_100(ini):
    lines = ["line %03d of the paste" % i for i in range(100)]
    with Echod(ini=ini) as d, Client(d.port, "bob", room="den") as bob, \
            Piped("talk", addr(d.port), "-n", "alice", "-r", "den") as p:
        bob.expect(r"^JOIN \d+ alice$")
        p.send("".join(x + "\n" for x in lines))
        p.close_stdin()
        got = texts_until(bob, "alice", lines[-1], timeout=60)
        check(got == lines, "out of order or lost: %r" % got[:5])
        rc, out, err = p.wait(timeout=60)
        check(rc == 0, "exit %d, %r" % (rc, err))
        check(b"!!!" not in out, "an ERR: %r" % [l for l in out.split(b"\n") if b"!!!" in l])
        # Paced under the server's rate: its limiter never had to hold
        # alice back (echod logs it when it does).
        check("alice in den held back by the rate limit" not in d.log(),
              "the server's rate limit held the paste back")


def test_pipe_paste_of_100_lines_in_order_without_err():
    # The default limits, and a burst (20 lines) smaller than the paste.
    paste_100(None)
    paste_100({"chat": {"rate_burst_lines": "20"}})


def one_shot_server(reply):
    """Accepts one connection, reads the greeting, answers reply (bytes,
    or None: nothing), and keeps the connection open until closed."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    held = []

    def serve():
        s, _ = ls.accept()
        held.append(s)
        s.recv(4096)
        if reply is not None:
            s.sendall(reply)
    threading.Thread(target=serve, daemon=True).start()
    return ls, held


def test_server_not_speaking_chat_is_named():
    ls, held = one_shot_server(b"HTTP/1.1 400 Bad Request\r\n\x1b[2J\r\n")
    try:
        port = ls.getsockname()[1]
        rc, out, err = run_chatctl("talk", addr(port), "-n", "x", input_bytes=b"")
        check(rc == 1, "exit %d" % rc)
        check(err == "chatctl: talk: %s does not speak CHAT/1 (first line: "
              "HTTP/1.1 400 Bad Request)\n" % addr(port), "stderr %r" % err)
    finally:
        ls.close()
        for s in held:
            s.close()


def test_silent_server_reported_after_the_timeout():
    ls, held = one_shot_server(None)
    try:
        port = ls.getsockname()[1]
        rc, out, err = run_chatctl("talk", addr(port), "-n", "x", input_bytes=b"")
        check(rc == 1, "exit %d" % rc)
        check(err == "chatctl: talk: connecting to %s...\n"
              "chatctl: talk: %s: no answer to the greeting in 10 s (connected; "
              "waited for OK)\n" % (addr(port), addr(port)), "stderr %r" % err)
    finally:
        ls.close()
        for s in held:
            s.close()


def test_join_shows_the_new_rooms_history_older_than_lines_seen():
    # Ids are one sequence for all rooms: the kitchen's history is older
    # than the den's line alice saw, and is shown all the same.
    with Echod() as d, Tmux() as a, Client(d.port, "bob", room="kitchen") as bob, \
            Client(d.port, "carol", room="den") as carol:
        bob.send("MSG kitchen news")
        bob.expect(r"^MSG \d+ bob kitchen news$")
        a.talk(d.port, "-n", "alice", "-r", "den")
        a.wait(PROMPT % ("alice", "den", ""))
        carol.send("MSG den news")
        a.wait(MSG % ("carol", "den news"))
        a.run("/join kitchen")
        a.wait(PROMPT % ("alice", "kitchen", ""))
        a.wait(r"^\[history\] \d\d:\d\d <bob> kitchen news$")
