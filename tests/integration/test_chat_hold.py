# SPDX-License-Identifier: GPL-3.0-or-later
"""Chat: a member held back by its rate limit ([chat] rate_*) is let go
again when its buckets refill, however short the hold (daemon/chat.c).

While a member is held, its worker does not poll the client (its lines are
already buffered) and sleeps until the hold ends. A hold of a few
microseconds may end before the worker computes its poll timeout; it must
still end then, not at the idle timeout (never, with idle_timeout 0), which
would be the worker's next wakeup. Here every line is held:
[chat] rate_bytes at its largest and a burst of one byte make each line's
wait 1 us, so over hundreds of lines the old worker stalls every time.
Nothing here depends on the machine's speed: each line is waited for, with
a bound far below the idle timeout.
"""

import threading

from echodtest import Echod, TestFailure, check
from test_chat import Chat, msg_fields

# Each line's debt is its length in bytes at 64 MiB/s: under 1 us, rounded
# up to 1 us. The lines bucket is off so that the bytes bucket holds.
ONE_US_HOLDS = {"server": {"idle_timeout": "0"},
                "chat": {"rate_lines": "0", "rate_burst_lines": "1",
                         "rate_bytes": "64M", "rate_burst_bytes": "1"}}
LINE_WAIT = 10.0  # seconds for any one line: the idle timeout is off


def read_msgs(c, n, label):
    """The texts of the next n MSG lines c gets, each waited for at most
    LINE_WAIT; TestFailure naming how many came if one does not."""
    texts = []
    while len(texts) < n:
        try:
            line = c.line(timeout=LINE_WAIT)
        except TestFailure as e:
            raise TestFailure("%s: %d of %d lines, then nothing: %s"
                              % (label, len(texts), n, e))
        if line.startswith(b"MSG "):
            texts.append((msg_fields(line)[2], msg_fields(line)[3]))
    return texts


def test_a_hold_of_one_microsecond_ends():
    # 1000 lines in one write: all are in the worker's buffer before the
    # first hold, so no new byte from the client wakes it.
    n = 1000
    with Echod(ini=ONE_US_HOLDS) as d:
        a = Chat(d.port, "a")
        a.sync()
        a.send("\n".join("MSG %d" % k for k in range(n)))
        got = read_msgs(a, n, "a, held 1 us a line")
        check(got == [("a", b"%d" % k) for k in range(n)],
              "a's lines came changed or out of order")
        d.wait_log(r"chat: a in lobby held back by the rate limit",
                   what="the hold's log line")


def test_held_members_in_pieces_and_a_small_reader_get_every_line():
    # Three members held 1 us a line, each writing its lines in pieces cut
    # inside lines, and a reader with a 4K receive buffer: every line
    # arrives, each member's in its order, one order for the room.
    n, piece = 300, 700
    with Echod(ini=ONE_US_HOLDS) as d:
        reader = Chat(d.port, "r", rcvbuf=4096)
        senders = [Chat(d.port, "s%d" % i) for i in range(3)]
        for c in [reader] + senders:
            c.sync()
        errors = []

        def send(c):
            data = "".join("MSG %s %d %s\n" % (c.nick, k, "x" * (k % 50))
                           for k in range(n)).encode()
            try:
                for off in range(0, len(data), piece):
                    c.s.sendall(data[off:off + piece])
            except OSError as e:
                errors.append("%s: %s" % (c.nick, e))

        ws = [threading.Thread(target=send, args=(c,)) for c in senders]
        for th in ws:
            th.start()
        views = {}
        try:
            for c in [reader] + senders:
                views[c.nick] = read_msgs(c, 3 * n, c.nick)
        finally:
            for th in ws:
                th.join(LINE_WAIT)
        check(not errors, "senders failed: %s" % errors)
        for c in senders:
            mine = [t for who, t in views["r"] if who == c.nick]
            check(mine == [b"%s %d %s" % (c.nick.encode(), k, b"x" * (k % 50))
                           for k in range(n)],
                  "r: %s's lines came changed or out of order" % c.nick)
        for nick, v in views.items():
            check(v == views["r"], "%s saw another order than r" % nick)
