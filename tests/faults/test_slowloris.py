# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: slowloris. Hundreds of connections that send one byte and would
send the next only 10 s later are closed by idle_timeout, while
well-behaved clients keep full service (every round trip correct)."""

import re
import selectors
import threading
import time

from echodtest import (Echod, check, connect_from, echo_roundtrip, random_bytes,
                       scaled, wait_for)

IDLE = 3          # idle_timeout, seconds
INTERVAL = 10     # the slow clients' next byte would come after this
SOURCES = ["127.0.0.%d" % i for i in range(2, 7)]

TIMEOUTS = {"test_slowloris_closed_by_idle_timeout_others_served": 120}


def good_clients(port, stop, stats):
    i = 0
    while not stop.is_set():
        data = random_bytes(32 << 10, seed=i)
        i += 1
        try:
            got = echo_roundtrip(port, data, timeout=20)
        except OSError as e:
            stats["errors"].append(repr(e))
            continue
        if got == data:
            stats["ok"] += 1
        else:
            stats["errors"].append("round trip %d: %d bytes back of %d" % (i, len(got), len(data)))


def test_slowloris_closed_by_idle_timeout_others_served():
    n = scaled(500, 200)
    per_source = n // len(SOURCES) + 1
    with Echod(ini={"server": {"idle_timeout": IDLE, "max_per_source": per_source,
                               "max_connections": n + 64}}) as d:
        stop = threading.Event()
        stats = {"ok": 0, "errors": []}
        good = threading.Thread(target=good_clients, args=(d.port, stop, stats))
        good.start()
        try:
            sel = selectors.DefaultSelector()
            for i in range(n):
                s = connect_from(SOURCES[i % len(SOURCES)], d.port, timeout=20)
                s.sendall(b"s")  # one byte; the next would be due in 10 s
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ, [[time.monotonic()], bytearray()])
            closed, late = 0, []
            deadline = time.monotonic() + IDLE + INTERVAL + 30
            while closed < n and time.monotonic() < deadline:
                for key, _ in sel.select(1):
                    times, got = key.data
                    try:
                        chunk = key.fileobj.recv(100)
                    except ConnectionResetError:
                        chunk = b""
                    if chunk:
                        got.extend(chunk)
                        times.append(time.monotonic())  # its worker is serving it
                        continue
                    # Served (its byte echoed), then closed for idleness
                    # before its next byte was due. Timed from the echo:
                    # a connection may wait in the backlog for a worker.
                    check(bytes(got) == b"s", "slow client got %r" % bytes(got))
                    if time.monotonic() - times[-1] >= INTERVAL:
                        late.append(time.monotonic() - times[-1])
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    closed += 1
            check(closed == n, "only %d of %d slow connections closed" % (closed, n))
            check(not late, "%d slow connections outlived their %ds interval" % (len(late), INTERVAL))
        finally:
            stop.set()
            good.join(60)
        check(not stats["errors"], "well-behaved clients hurt: %s" % stats["errors"][:5])
        check(stats["ok"] > 0, "no well-behaved round trip completed")
        # The supervisor logs a close when it reaps the worker: wait for it.
        pat = r"close 127\.0\.0\.[2-6]:\d+ echo: 1 bytes in, 1 out, [0-9.]+ s, idle"
        try:
            wait_for(lambda: len(re.findall(pat, d.log())) == n, 10, what="close lines")
        except AssertionError:
            other = [ln for ln in d.log().splitlines()
                     if re.search(r"close 127\.0\.0\.[2-6]:", ln) and ", idle" not in ln]
            raise AssertionError("%d of %d slow connections logged as closed for idleness; "
                                 "others: %s" % (len(re.findall(pat, d.log())), n, other[:3]))
        wait_for(lambda: not d.workers(), 20, what="workers to exit")
        check(not d.zombies(), "zombies")
