# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: abusive chat clients (PROTOCOL.md section 3). Each abuse gets the
answer the protocol names, the abuser's connection stays usable where the
protocol says so, and a bystander in the same room sees exactly what it
should: relayed lines sanitized, nothing from refused lines, no delay."""

import time

from chatclient import Chat, require_chat
from echodtest import Echod, check, proc_status_kb, scaled, wait_for

TIMEOUTS = {"test_ten_thousand_joins": 180}
FFFD = "\ufffd".encode()


def room_pair(d, room="abuse"):
    require_chat(d.port)
    by = Chat(d.port, "bystander", room)
    check(by.expect("OK ").startswith(b"OK bystander %s" % room.encode()), "bystander greeting")
    ab = Chat(d.port, "abuser", room)
    check(ab.expect("OK ").startswith(b"OK abuser %s 2" % room.encode()), "abuser greeting")
    by.expect("JOIN ")
    return by, ab


def bystander_fine(by, ab, tag):
    """The bystander still gets the abuser's next good line, and nothing
    else came before it."""
    ab.send_line("MSG still-here %s" % tag)
    ln = by.line()
    check(ln is not None and ln.startswith(b"MSG ") and ln.endswith(b" abuser still-here " + tag.encode()),
          "bystander got %r before the abuser's next message (%s)" % (ln, tag))


def test_megabyte_line_without_lf():
    with Echod() as d:
        by, ab = room_pair(d)
        ab.send(b"MSG " + b"x" * (1 << 20))
        check(ab.expect("ERR ").startswith(b"ERR line-too-long"), "no ERR line-too-long")
        ab.send(b"\n")  # the end of the long line: dropped whole
        ab.send_line("PING after")
        check(ab.expect("PONG") == b"PONG after", "abuser's connection unusable afterwards")
        bystander_fine(by, ab, "long")


def test_nul_invalid_utf8_and_terminal_escapes():
    with Echod() as d:
        by, ab = room_pair(d)
        ab.send_line(b"MSG a\x00b")
        ln = by.expect("MSG ")
        check(ln.endswith(b" abuser a" + FFFD + b"b"), "NUL not replaced: %r" % ln)
        ab.send_line(b"MSG bad \xff\xfe utf8")
        check(ab.expect("ERR ").startswith(b"ERR bad-utf8"), "invalid UTF-8 not refused")
        ab.send_line(b"MSG \x1b[2J\x1b]0;pwned\x07\xc2\x9b31m")
        ln = by.expect("MSG ")
        text = ln.split(b" ", 3)[3]
        check(not any(b < 0x20 and b != 9 for b in text) and b"\x7f" not in text
              and b"\xc2\x9b" not in text, "control characters relayed: %r" % ln)
        check(text == FFFD + b"[2J" + FFFD + b"]0;pwned" + FFFD + FFFD + b"31m",
              "escapes not replaced one for one: %r" % text)
        bystander_fine(by, ab, "escapes")


def test_nick_squatting():
    with Echod() as d:
        by, ab = room_pair(d)
        sq = Chat(d.port, "bystander", "abuse")
        check(sq.expect("ERR ").startswith(b"ERR nick-taken"), "a taken nick was granted")
        sq.send_line("CHAT/1 squatter abuse")  # another greeting is allowed
        check(sq.expect("OK ").startswith(b"OK squatter abuse 3"), "retry greeting refused")
        sq.send_line("NICK abuser")
        check(sq.expect("ERR ").startswith(b"ERR nick-taken"), "NICK to a taken nick granted")
        ab.close()
        by.expect("PART ")
        time.sleep(0.2)
        sq.send_line("NICK abuser")  # free again once its owner left
        check(sq.expect("OK ").startswith(b"OK abuser abuse"), "a freed nick not available")
        sq.close()


def test_ten_errors_in_a_row_end_the_connection():
    with Echod() as d:
        by, ab = room_pair(d)
        for _ in range(10):
            ab.send_line("BOGUS")
        for _ in range(10):
            check(ab.expect("ERR ").startswith(b"ERR unknown-command"), "no ERR")
        check(ab.expect("BYE") == b"BYE too-many-errors", "no BYE too-many-errors")
        check(ab.line() is None, "connection not closed after BYE")
        ln = by.expect("PART ")
        check(b" abuser " in ln, "bystander not told: %r" % ln)


def test_ten_thousand_joins():
    n = scaled(10000, 2000)
    # The rooms' bookkeeping under 10,000 moves, not the rate limit
    # (test_chat_rate.py): at 20 JOINs a second it would take minutes.
    with Echod(ini={"chat": {"rate_lines": 0, "rate_bytes": 0}}) as d:
        by, ab = room_pair(d, "home")
        hub = d.children_by_comm("echod-hub")[0]
        rss0 = proc_status_kb(hub)
        batch = 500
        for b in range(0, n, batch):
            ab.send(b"".join(b"JOIN r%d\n" % i for i in range(b, min(n, b + batch))))
            for i in range(b, min(n, b + batch)):
                ln = ab.expect("OK ")
                check(ln == b"OK abuser r%d 1" % i, "JOIN %d answered %r" % (i, ln))
        ln = by.expect("PART ")
        check(ln.endswith(b" abuser moved"), "bystander saw %r" % ln)
        grown = proc_status_kb(hub) - rss0
        check(grown < 16 * 1024, "hub grew %d KiB over %d JOINs: rooms not freed" % (grown, n))
        st = d.status()
        if st is not None:
            check(st["rooms"] == 2, "STATUS rooms %s, want 2 (home, last)" % st["rooms"])
        ab.send_line("JOIN home")
        ab.expect("OK abuser home 2")
        check(by.expect("JOIN ").endswith(b" abuser"), "bystander not told of the return")
        bystander_fine(by, ab, "joins")
