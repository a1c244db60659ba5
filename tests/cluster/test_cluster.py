# SPDX-License-Identifier: GPL-3.0-or-later
"""echod beyond one host (issue 13): two nodes sharing rooms through a
real redis-server, haproxy in front with the PROXY protocol (v2).

The harness (clusterharness.py) starts redis-server, haproxy and two echod
nodes as processes with config files of their own in a temp directory.
Direct clients connect from 127.0.0.1 (untrusted), haproxy from 127.0.0.2
(the nodes' proxy_trusted), clients through haproxy from 127.0.0.3 and
127.0.0.4 so their real address is told apart from haproxy's.

Nothing asserts on speed: every wait is for something to appear, bounded.
"""

import os
import re
import signal
import socket
import threading

from clusterharness import Cluster, Member, PROXY_SRC, greet_once, wait_chat_ok
from ctltest import Piped, Tmux
from echodtest import (check, connect, connect_from, echo_roundtrip, pids_children,
                       recv_exactly, recv_until_eof, wait_for)

TIMEOUTS = {"test_two_members_on_two_nodes_get_200_lines_in_one_order": 90,
            "test_chatctl_through_haproxy_survives_kill_9_of_its_node": 120,
            "test_redis_kill_9_and_restart_chat_resumes_echo_goes_on": 120,
            "test_chatctl_reconnects_after_redis_restart": 120,
            "test_stalled_redis_gives_bye_restart_and_echo_goes_on": 90,
            "test_dead_node_members_are_parted_on_the_other_node": 90}

MSG_RX = re.compile(r"^(?:@\d+ )?MSG \d+ (\S+) (.*)$")
# chatctl's pane line for a message (tests/integration/test_talk_resume.py).
PANE_MSG = r"^(\[history\] )?\d\d:\d\d <%s> %s$"


def who(ip, port=None):
    """A regex for a client as the log names it: ip:port, and for a
    proxied one its proxy after it ("127.0.0.3:4242 via 127.0.0.2:5151")."""
    return r"%s:%s(?: via \S+)?" % (re.escape(ip), port if port is not None else r"\d+")


def count_lines(t, regex):
    rx = re.compile(regex)
    return sum(1 for line in t.lines() if rx.search(line))


def msgs_until(m, count, timeout=30.0):
    """(nick, text) of the next `count` MSG lines m gets, in order."""
    out = []

    def more(line):
        check(not line.startswith(("ERR", "BYE")), "%s got %r" % (m.nick, line))
        g = MSG_RX.match(line)
        if g:
            out.append((g.group(1), g.group(2)))
        return len(out) >= count
    m.lines_until(more, timeout)
    return out


# ------------------------------------------------------------ rooms, order

def test_two_members_on_two_nodes_get_200_lines_in_one_order():
    with Cluster() as c, Member(c.n1.port, "alice", "den") as a:
        check(a.greeting.startswith("OK alice den 1"), "alice: %r" % a.greeting)
        with Member(c.n2.port, "bob", "den") as b:
            a.expect(r"^JOIN \d+ bob$")
            go = threading.Barrier(2)

            def say(m):
                go.wait(10)
                m.sock.sendall(b"".join(b"MSG %s %03d\n" % (m.nick.encode(), i)
                                        for i in range(100)))
            ts = [threading.Thread(target=say, args=(m,)) for m in (a, b)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(20)
            got_a = msgs_until(a, 200, timeout=60)
            got_b = msgs_until(b, 200, timeout=60)
        for who, got in (("alice", got_a), ("bob", got_b)):
            for nick in ("alice", "bob"):
                mine = [t for n, t in got if n == nick]
                check(mine == ["%s %03d" % (nick, i) for i in range(100)],
                      "%s's lines as %s got them: %r" % (nick, who, mine[:5]))
        diff = [i for i, (x, y) in enumerate(zip(got_a, got_b)) if x != y][:1]
        check(got_a == got_b, "the two nodes gave two orders: first difference at %r: %r"
              % (diff, [(got_a[i], got_b[i]) for i in diff]))


def test_nick_unique_across_nodes_per_room():
    with Cluster() as c, Member(c.n1.port, "alice", "den") as a:
        check(a.greeting.startswith("OK alice den 1"), "alice: %r" % a.greeting)
        with Member(c.n2.port, "alice", "den") as x:
            check(x.greeting.startswith("ERR nick-taken"),
                  "alice on n2 in den (alice is in den on n1): %r" % x.greeting)
            # Another greeting on the same connection, another room: free.
            x.send("CHAT/1 alice kitchen")
            m = x.expect(r"^(OK|ERR|BYE) ")
            check(m.string.startswith("OK alice kitchen 1"), "alice in kitchen: %r" % m.string)
        # Once alice left den on n1, the nick is free on n2 too.
        a.send("QUIT")
        a.expect(r"^BYE quit")
        wait_for(lambda: greet_once(c.n2.port, "alice", "den").startswith("OK "), 10,
                 interval=0.2, what="alice free in den on n2 after she quit n1")


def test_who_join_part_nick_cross_nodes():
    with Cluster() as c, Member(c.n1.port, "alice", "den") as a, \
            Member(c.n2.port, "bob", "den") as b:
        check(b.greeting.startswith("OK bob den 2"), "bob: %r" % b.greeting)
        a.expect(r"^JOIN \d+ bob$")
        a.send("WHO")
        check(a.expect(r"^WHO ").string == "WHO alice bob", "WHO on n1 lists n2's member")
        b.send("WHO")
        check(b.expect(r"^WHO ").string == "WHO alice bob", "WHO on n2 lists n1's member")
        b.send("NICK robert")
        b.expect(r"^OK robert den 2")
        a.expect(r"^NICK \d+ bob robert$")
        a.send("MSG hello robert")
        b.expect(r"^MSG \d+ alice hello robert$")
        b.send("QUIT")
        b.expect(r"^BYE quit")
        a.expect(r"^PART \d+ robert quit$")
        a.send("WHO")
        check(a.expect(r"^WHO ").string == "WHO alice", "robert still listed after he quit")


def flat(obj, path=""):
    """(dotted key path, value) of every leaf of a JSON object."""
    if isinstance(obj, dict):
        return [kv for k, v in obj.items() for kv in flat(v, path + "." + k if path else k)]
    if isinstance(obj, list):
        return [kv for v in obj for kv in flat(v, path)]
    return [(path, obj)]


def test_status_names_the_node_and_counts_across_nodes():
    # STATUS's field names for the cluster are the integrator's: this
    # looks for the values (the node's name, the members of both nodes),
    # at any depth, not for names.
    with Cluster() as c, Member(c.n1.port, "alice", "den"), Member(c.n2.port, "bob", "den"), \
            Member(c.n2.port, "carol", "den"):
        for name, d in c.nodes.items():
            st = d.status()
            check(st is not None, "no STATUS from %s" % name)
            check(any(v == name for _, v in flat(st)),
                  "STATUS of %s does not name the node: %r" % (name, st))
            check(any(v == "up" for _, v in flat(st)),
                  "STATUS of %s does not say the Redis link is up: %r" % (name, st))
        # 3 members across the nodes: some field of each node says 3, while
        # its local chat_members says 1 (n1) or 2 (n2).
        for name, local in (("n1", 1), ("n2", 2)):
            st = wait_for(lambda: (lambda st: st if st["chat_members"] == local else None)(
                c.nodes[name].status()), 5, what="%s's chat_members %d" % (name, local))
            wait_for(lambda: any(k != "chat_members" and v == 3 and "member" in k
                                 for k, v in flat(c.nodes[name].status())), 5,
                     what="a members field of %s's STATUS counting 3 across nodes" % name)


# ---------------------------------------------------------- PROXY protocol

def test_haproxy_send_proxy_v2_real_address_logged():
    with Cluster(haproxy=True) as c:
        with connect_from("127.0.0.3", c.haproxy.port) as s:
            port = s.getsockname()[1]
            s.sendall(b"hello through haproxy\n")
            got = recv_exactly(s, 22)
            check(got == b"hello through haproxy\n",
                  "echo through haproxy: %r (the PROXY header echoed back?)" % got)
            # The node logs the client's own address and port (haproxy's
            # connection comes from 127.0.0.2, another port).
            rx = r"accept %s$" % who("127.0.0.3", port)
            name = wait_for(lambda: c.node_of(rx), 5, what="a node logging %s" % rx)
        c.nodes[name].wait_log(r"close %s echo: " % who("127.0.0.3", port))
        # haproxy's health checks (check-send-proxy: a LOCAL header, every
        # 500 ms, the first before the servers were UP) are closed quietly.
        for n, d in c.nodes.items():
            check(not re.search(r"(accept|close|refused) %s:" % re.escape(PROXY_SRC), d.log()),
                  "%s logged haproxy's health checks as clients:\n%s" % (n, d.log()[-1500:]))
        # A chat member through haproxy: its join is logged with its address.
        with Member(c.haproxy.port, "carol", "den", src="127.0.0.3") as m:
            check(m.greeting.startswith("OK carol den"), "carol: %r" % m.greeting)
            wait_for(lambda: c.node_of(r"chat join %s: carol in den" % who("127.0.0.3")), 5,
                     what="carol's join logged with 127.0.0.3")


def test_max_per_source_counts_the_real_address_behind_haproxy():
    # Only n1 behind haproxy, so every connection lands on it.
    with Cluster(haproxy=True, behind=("n1",),
                 ini={"server": {"max_per_source": "2"}}) as c:
        held = []
        try:
            for i in range(2):
                s = connect_from("127.0.0.3", c.haproxy.port)
                s.sendall(b"%d\n" % i)
                check(recv_exactly(s, 2) == b"%d\n" % i, "connection %d through haproxy" % i)
                held.append(s)
            third = connect_from("127.0.0.3", c.haproxy.port)
            try:
                third.sendall(b"3\n")
                got = recv_until_eof(third, timeout=10)
            except ConnectionResetError:
                got = b""
            third.close()
            check(got == b"", "a 3rd connection from 127.0.0.3 was served: %r" % got)
            c.n1.wait_log(r"refused %s: more than 2 connections from this source"
                          % who("127.0.0.3"))
            # Another real address, same haproxy (same TCP source): served.
            with connect_from("127.0.0.4", c.haproxy.port) as o:
                o.sendall(b"other\n")
                check(recv_exactly(o, 6) == b"other\n", "127.0.0.4 refused through haproxy")
            # And haproxy's own address is not what was counted.
            check(not re.search(r"refused %s" % re.escape(PROXY_SRC), c.n1.log()),
                  "haproxy's address refused:\n%s" % c.n1.log()[-1500:])
        finally:
            for s in held:
                s.close()


def test_forged_proxy_header_from_untrusted_address_is_data():
    v1 = b"PROXY TCP4 10.9.9.9 127.0.0.1 5555 80\r\n"
    v2 = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + bytes([10, 9, 9, 9, 127, 0, 0, 1])
          + (5555).to_bytes(2, "big") + (80).to_bytes(2, "big"))
    with Cluster() as c:
        for header in (v1, v2):
            with connect(c.n1.port) as s:
                port = s.getsockname()[1]
                data = header + b"hello\n"
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                got = recv_until_eof(s)
            check(got == data, "forged header from 127.0.0.1 not echoed as data: %r" % got)
            c.n1.wait_log(r"close 127\.0\.0\.1:%d echo: %d bytes in" % (port, len(data)))
        check("10.9.9.9" not in c.n1.log(), "the forged address was believed:\n%s"
              % c.n1.log()[-1500:])


def test_trusted_address_without_proxy_header_is_closed():
    with Cluster() as c:
        with connect_from(PROXY_SRC, c.n1.port, timeout=15) as s:
            s.sendall(b"no header at all\n")
            try:
                got = s.recv(100)
            except ConnectionResetError:
                got = b""
            except socket.timeout:
                got = None
        check(got is not None, "a connection from the proxy without a PROXY header was "
              "still open after 15 s")
        check(got == b"", "a connection from the proxy without a PROXY header was served: %r"
              % got)
        # A LOCAL health check (haproxy's check-send-proxy) is closed quietly,
        # and direct clients are still served.
        check(echo_roundtrip(c.n1.port, b"direct") == b"direct", "direct echo")


# ---------------------------------------------------------- node failures

# alice's join through haproxy, with her real address (chatctl on 127.0.0.1).
ALICE_JOIN = r"chat join %s: alice in den" % who("127.0.0.1")


def chatctl_pid(t):
    shell = int(t.tmux("display-message", "-p", "#{pane_pid}").strip())
    return wait_for(lambda: (pids_children(shell) or [None])[0], 5, what="chatctl in the pane")


def test_chatctl_through_haproxy_survives_kill_9_of_its_node():
    with Cluster(haproxy=True) as c, Tmux() as t:
        t.run("set +m")
        t.talk(c.haproxy.port, "-n", "alice", "-r", "den")
        t.wait(r"you are alice in den \(1 member\)", timeout=15)
        # Which node alice landed on: the one that logged her join (from
        # 127.0.0.1, her real address, not haproxy's).
        here = wait_for(lambda: c.node_of(ALICE_JOIN), 5,
                        what="the node alice is on")
        other = "n2" if here == "n1" else "n1"
        with Member(c.nodes[other].port, "bob", "den") as bob:
            t.wait(r"bob joined den")
            t.type("said before")
            t.keys("Enter")
            bob.expect(r"^MSG \d+ alice said before$")
            pid = chatctl_pid(t)
            os.kill(pid, signal.SIGSTOP)
            try:
                c.kill9_node(here)
                c.haproxy.wait_states({here: "DOWN"})
                for i in range(3):
                    bob.send("MSG while you were away %d" % i)
                    bob.expect(r"^MSG \d+ bob while you were away %d$" % i)
            finally:
                os.kill(pid, signal.SIGCONT)
            t.wait(r"reconnecting to 127\.0\.0\.1:%d" % c.haproxy.port, timeout=15)
            t.wait(PANE_MSG % ("bob", "while you were away 2"), timeout=30)
            bob.expect(r"^JOIN \d+ alice$", timeout=20)
            c.nodes[other].wait_log(ALICE_JOIN,
                                    what="alice's rejoin on %s" % other)
        screen = t.screen()
        check(count_lines(t, r"you are alice in den") == 2, "no rejoin as alice:\n%s" % screen)
        for text in ["<alice> said before"] + ["<bob> while you were away %d" % i
                                               for i in range(3)]:
            check(count_lines(t, re.escape(text) + "$") == 1,
                  "%r not shown exactly once:\n%s" % (text, screen))
        check(count_lines(t, r"may be missing") == 0, "a gap after the move:\n%s" % screen)


def test_dead_node_members_are_parted_on_the_other_node():
    with Cluster() as c, Member(c.n2.port, "bob", "den") as bob:
        with Member(c.n1.port, "alice", "den") as a:
            check(a.greeting.startswith("OK alice den 2"), "alice: %r" % a.greeting)
            bob.expect(r"^JOIN \d+ alice$")
            c.kill9_node("n1")
            # The heartbeat's TTL is 3 s, checked every second.
            bob.expect(r"^PART \d+ alice lost$", timeout=10)
        bob.send("WHO")
        check(bob.expect(r"^WHO ").string == "WHO bob", "alice still listed")
        # Her nick is free again on the live node.
        check(greet_once(c.n2.port, "alice", "den").startswith("OK "), "alice not free")


# ---------------------------------------------------------- Redis failures

def test_redis_kill_9_and_restart_chat_resumes_echo_goes_on():
    with Cluster() as c:
        a = Member(c.n1.port, "alice", "den")
        b = Member(c.n2.port, "bob", "den")
        e = connect(c.n1.port)
        try:
            a.expect(r"^JOIN \d+ bob$")
            a.send("MSG before the kill")
            b.expect(r"^MSG \d+ alice before the kill$")
            e.sendall(b"echo before\n")
            check(recv_exactly(e, 12) == b"echo before\n", "echo before the kill")
            c.redis.kill9()
            for m in (a, b):
                got = m.eof_or(r"^BYE restart$", timeout=15)
                # BYE restart, or dropped: either way not left hanging.
                check(got is None or got.string == "BYE restart", "%s: %r" % (m.nick, got))
            # An echo session open since before the outage goes on.
            e.sendall(b"echo during\n")
            check(recv_exactly(e, 12) == b"echo during\n", "echo session during the outage")
        finally:
            a.close()
            b.close()
            e.close()
        # Echo goes on while Redis is down, on both nodes.
        for d in c.nodes.values():
            check(echo_roundtrip(d.port, b"echo in the outage") == b"echo in the outage",
                  "echo during the Redis outage")
        ans = greet_once(c.n1.port, "carol", "den")
        check(not ans.startswith("OK "), "a greeting was let in with Redis down: %r" % ans)
        c.redis.restart()
        for d in c.nodes.values():
            wait_chat_ok(d.port, timeout=30)
        # appendonly: the room's stream kept the line said before the kill.
        check(b"before the kill" in c.redis.reply("XRANGE", "echod:room:den", "-", "+"),
              "the stream echod:room:den lost the line said before the kill")
        with Member(c.n1.port, "carol", "den") as carol, \
                Member(c.n2.port, "dave", "den") as dave:
            check(carol.greeting.startswith("OK carol den"), "carol: %r" % carol.greeting)
            carol.expect(r"^JOIN \d+ dave$")
            dave.send("MSG after the restart")
            carol.expect(r"^MSG \d+ dave after the restart$")
            carol.send("MSG back across")
            dave.expect(r"^MSG \d+ carol back across$")


def test_chatctl_reconnects_after_redis_restart():
    with Cluster() as c, Piped("talk", "127.0.0.1:%d" % c.n1.port, "-n", "alice",
                               "-r", "den") as p:
        p.send("one\n")
        p.expect(r"<alice> one$", timeout=15)
        c.redis.kill9()
        c.redis.restart()
        wait_chat_ok(c.n2.port, timeout=30)
        with Member(c.n2.port, "bob", "den") as bob:
            # alice may be back before or after bob came: ask WHO.
            def alice_back():
                bob.send("WHO")
                return "alice" in bob.expect(r"^WHO ").string.split()[1:]
            wait_for(alice_back, 30, interval=0.5, what="chatctl's alice back in den")
            bob.send("MSG from n2 after the restart")
            p.expect(r"<bob> from n2 after the restart$", timeout=15)
            p.send("two\n")
            bob.expect(r"^MSG \d+ alice two$")
        p.close_stdin()
        rc, out, err = p.wait(timeout=30)
        check("reconnecting to 127.0.0.1:%d" % c.n1.port in err, "stderr %r" % err)
        check(len(re.findall(rb"<alice> one$", out, re.M)) == 1, "one shown again: %r" % out)


def test_stalled_redis_gives_bye_restart_and_echo_goes_on():
    with Cluster() as c:
        a = Member(c.n1.port, "alice", "den")
        try:
            check(a.greeting.startswith("OK alice den"), "alice: %r" % a.greeting)
            c.redis.stop_signal()
            try:
                # Echo is never held by a stalled Redis, on either node.
                for d in c.nodes.values():
                    check(echo_roundtrip(d.port, b"echo while stalled", timeout=5)
                          == b"echo while stalled", "echo while Redis is stopped")
                a.send("MSG into the stall")
                # No false acknowledgement: the line Redis never took is
                # not echoed; BYE restart once the stall passed 3 s.
                got = a.lines_until(lambda ln: ln.startswith("BYE"), timeout=20)
                check(got[-1] == "BYE restart", "alice got %r" % got)
                check(not any("into the stall" in ln for ln in got),
                      "a line echoed though Redis never took it: %r" % got)
            finally:
                c.redis.cont_signal()
        finally:
            a.close()
        for d in c.nodes.values():
            wait_chat_ok(d.port, timeout=30)
        with Member(c.n1.port, "carol", "den") as carol, Member(c.n2.port, "dave", "den") as dave:
            carol.expect(r"^JOIN \d+ dave$")
            dave.send("MSG after the stall")
            carol.expect(r"^MSG \d+ dave after the stall$")

