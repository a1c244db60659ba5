# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: 100 reloads (SIGHUP) in about a second while clients connect.
Every reload retires the spares and forks new ones. No connection is lost
(every round trip comes back whole), no fd leaks in the supervisor, no
zombie, and the spares settle back to the configured number."""

import signal
import threading
import time

from echodtest import (SANITIZE, Echod, check, echo_roundtrip, proc_comm, random_bytes,
                       wait_for)

SPARES = 2
# Sanitizer builds: every reload forks spares and retires others, each
# running a leak check as it exits; the storm takes a while to settle.
TIMEOUTS = {"test_hundred_reloads_in_a_second_lose_nothing": 180}


def clients(port, stop, stats, seed):
    i = 0
    while not stop.is_set():
        data = random_bytes(4096 + i % 3000, seed=seed * 100000 + i)
        i += 1
        try:
            got = echo_roundtrip(port, data, timeout=20)
        except OSError as e:
            stats["errors"].append(repr(e))
            continue
        if got == data:
            stats["ok"] += 1
        else:
            stats["errors"].append("got %d of %d bytes" % (len(got), len(data)))


def test_hundred_reloads_in_a_second_lose_nothing():
    with Echod(ini={"server": {"spares": SPARES}, "log": {"connections": "no"}}) as d:
        fds = d.settled_fds(SPARES)
        since = d.log_size()
        stop = threading.Event()
        stats = {"ok": 0, "errors": []}
        ts = [threading.Thread(target=clients, args=(d.port, stop, stats, k)) for k in range(4)]
        for t in ts:
            t.start()
        rel = []
        try:
            for _ in range(100):
                d.signal(signal.SIGHUP)
                time.sleep(0.01)
            time.sleep(0.5)
            # With the control socket, also 100 RELOAD requests back to
            # back: each one a real reload. Not in sanitizer builds: there
            # the spares each reload retires run a leak check as they exit,
            # and on a loaded machine the supervisor may not read a request
            # within the control socket's 2 s (CONTROL_CLIENT_USEC).
            if not SANITIZE and d.status() is not None:
                rel = [d.control_request("RELOAD").strip() for _ in range(100)]
        finally:
            stop.set()
            for t in ts:
                t.join(60)
        check(not stats["errors"], "connections lost during the storm: %s" % stats["errors"][:5])
        check(stats["ok"] > 0, "no round trip during the storm")
        # Pending signals of one kind coalesce: a busy supervisor sees
        # fewer than 100 (fewer still in sanitizer builds).
        reloads = d.log(since).count("reloaded ")
        check(reloads >= 1, "no SIGHUP reloaded")
        check("reload failed" not in d.log(since), "a reload failed")
        check(all(r.startswith("OK") for r in rel), "RELOAD answers: %s" % sorted(set(rel)))
        wait_for(lambda: not d.workers(), 20, what="workers to finish")
        after = d.settled_fds(SPARES)
        check(after == fds, "supervisor fds %d before the storm, %d after: children %s"
              % (fds, after, [(p, proc_comm(p)) for p in d.children()]))
        wait_for(lambda: not d.zombies(), 5, what="no zombie")
        check(echo_roundtrip(d.port, b"after") == b"after", "not serving after the storm")
