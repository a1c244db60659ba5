# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: a connection flood from one source address. max_per_source
holds (no more than that many served at once from it, the rest accepted,
closed and counted, with rate-limited logging), and other sources are
served all the while."""

import socket
import threading
import time

from echodtest import (Echod, check, connect_from, echo_roundtrip, recv_exactly,
                       recv_until_eof, wait_for)

PER_SOURCE = 10
FLOOD = 300


def other_source(port, src, stop, stats):
    i = 0
    while not stop.is_set():
        msg = b"%s %d\n" % (src.encode(), i)
        i += 1
        try:
            with connect_from(src, port, timeout=10) as s:
                s.sendall(msg)
                if recv_exactly(s, len(msg)) == msg:
                    stats["ok"] += 1
                else:
                    stats["errors"].append("wrong echo")
        except Exception as e:  # noqa: B902 - every failure counts
            stats["errors"].append(repr(e))


def test_flood_from_one_source():
    with Echod(ini={"server": {"max_per_source": PER_SOURCE}}) as d:
        stop = threading.Event()
        stats = {"ok": 0, "errors": []}
        others = [threading.Thread(target=other_source, args=(d.port, src, stop, stats))
                  for src in ("127.0.0.2", "127.0.0.3")]
        for t in others:
            t.start()
        since = d.log_size()
        t0 = time.monotonic()
        flood = []
        try:
            for _ in range(FLOOD):
                s = connect_from("127.0.0.9", d.port, timeout=10)
                flood.append(s)
            served = 0
            for s in flood:
                try:
                    s.sendall(b"f")
                    s.settimeout(5)
                    got = s.recv(1)
                except (ConnectionResetError, BrokenPipeError):
                    got = b""
                served += got == b"f"
            elapsed = time.monotonic() - t0
            check(served == PER_SOURCE, "%d flood connections served, max_per_source %d"
                  % (served, PER_SOURCE))
        finally:
            stop.set()
            for t in others:
                t.join(30)
        check(not stats["errors"], "other sources hurt: %s" % stats["errors"][:5])
        check(stats["ok"] > 0, "other sources never served")
        log = d.log(since)
        lines = log.count("refused 127.0.0.9")
        check(lines >= 1, "refusals not logged")
        check(lines <= 10 * (elapsed + 2), "%d refusal lines in %.1fs: not rate-limited"
              % (lines, elapsed))
        st = d.status()
        if st is not None:
            check(st["rejected_total"] >= FLOOD - PER_SOURCE, "refusals not counted: %s" % st)
        for s in flood:
            s.close()
        wait_for(lambda: not d.workers(), 10, what="flood workers to exit")
        with connect_from("127.0.0.9", d.port) as s:  # its slots come back
            s.sendall(b"back\n")
            check(recv_exactly(s, 5) == b"back\n", "flooding source not served afterwards")
