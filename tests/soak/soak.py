#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""make soak: SOAK_SECONDS (default 600) of mixed echo and chat load on one
echod, with random worker kills (kill -9), hub kills and reloads (SIGHUP),
then a verdict:

- no zombie, no worker left once the load stops;
- no fd or memory growth in the control plane, the engine and the hub (fds exactly as at
  the start of the measured period, RSS within a small margin);
- counters consistent: STATUS (once the control socket exists) agrees with
  the processes really there and with what the clients counted;
- zero verification errors: every echo that was not cut by a kill came
  back byte for byte; every chat message reached every member of its room
  in order (chat parts run once the chat work answers greetings).

Prints a summary (copied into BENCHMARKS.md, section "Soak") and exits 1
on any failure. Not part of make check or CI."""

import os
import random
import signal
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "faults"))

from chatclient import Chat  # noqa: E402
from echodtest import (Echod, Skip, echo_halfclose, fd_count,  # noqa: E402
                       proc_status_kb, random_bytes, wait_for)

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
WARMUP = min(20, max(2, SECONDS // 10))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.errors = []

    def add(self, k, n=1):
        with self.lock:
            self.c[k] = self.c.get(k, 0) + n

    def error(self, msg):
        with self.lock:
            self.errors.append(msg)


def echo_load(port, stop, st, seed):
    r = random.Random(seed)
    while not stop.is_set():
        n = r.choice([1, 100, 4096, 65536, 1 << 20])
        data = random_bytes(n, seed=r.random())
        try:
            got = echo_halfclose(port, data, timeout=30)
        except OSError:
            st.add("echo_refused")
            continue
        if bytes(got) == data:
            st.add("echo_ok")
            st.add("echo_bytes", n)
        elif data.startswith(bytes(got)):
            st.add("echo_cut")  # its worker was killed
        else:
            st.error("echo of %d bytes came back wrong (%d bytes)" % (n, len(got)))


def chat_available(port):
    try:
        c = Chat(port, "soakprobe")
        ln = c.line(timeout=2)
        c.close()
        return bool(ln and ln.startswith(b"OK "))
    except (OSError, socket.timeout):
        return False


def chat_room(port, stop, st, k):
    """Three members; each says numbered lines; every member must see each
    sender's lines in order with no gap (a kill ends a member's round)."""
    room = "soak%d" % k
    attempt = 0
    while not stop.is_set():
        members = []
        attempt += 1  # fresh nicks: the hub may not have seen the last ones go
        try:
            members = [Chat(port, "m%d_%d_%d" % (k, i, attempt), room, timeout=10)
                       for i in range(3)]
            for m in members:
                m.expect("OK ")
            seen = {}
            for rnd in range(50):
                for i, m in enumerate(members):
                    m.send_line("MSG %d %d" % (i, rnd))
                for j, m in enumerate(members):
                    got = 0
                    while got < 3:
                        ln = m.line()
                        if ln is None:
                            raise ConnectionError("EOF")
                        if not ln.startswith(b"MSG "):
                            continue
                        i, n = map(int, ln.split(b" ")[3:5])
                        last = seen.get((j, i), -1)
                        if n != last + 1:
                            st.error("room %s member %d: from %d got %d after %d" % (room, j, i, n, last))
                        seen[(j, i)] = n
                        got += 1
                st.add("chat_rounds")
            for m in members:
                m.send_line("QUIT")
                m.close()
        except (OSError, ConnectionError, socket.timeout, AssertionError):
            # A kill (of a member's worker, or of the hub: BYE restart)
            # ended this round: start another with fresh connections.
            st.add("chat_cut")
            for m in members:
                m.close()


def faults(d, stop, st, seed):
    r = random.Random(seed)
    next_hup = time.monotonic() + 5
    next_hub = time.monotonic() + 60
    while not stop.wait(r.uniform(0.5, 2.0)):
        w = d.workers()
        if w:
            try:
                os.kill(r.choice(w), signal.SIGKILL)
                st.add("workers_killed")
            except ProcessLookupError:
                pass
        now = time.monotonic()
        if now >= next_hup:
            d.signal(signal.SIGHUP)
            st.add("reloads")
            next_hup = now + r.uniform(3, 8)
        if now >= next_hub:
            for h in d.children_by_comm("echod-hub"):
                os.kill(h, signal.SIGKILL)
                st.add("hubs_killed")
            next_hub = now + 60


def sample(d):
    hub = d.children_by_comm("echod-hub")
    eng = d.engine()
    return {"ctl_fds": fd_count(d.pid), "ctl_rss": proc_status_kb(d.pid),
            "sup_fds": fd_count(eng), "sup_rss": proc_status_kb(eng),
            "hub_fds": fd_count(hub[0]) if hub else None,
            "hub_rss": proc_status_kb(hub[0]) if hub else None}


def main():
    st = Stats()
    failures = []
    with Echod(ini={"server": {"max_per_source": "1000", "idle_timeout": "30"},
                    "log": {"connections": "no"}}) as d:
        chat = chat_available(d.port)
        # fds on a quiet moment, before any load: spares ready, count steady.
        fds0 = d.settled_fds(4)
        hub_fds0 = sample(d)["hub_fds"]
        stop = threading.Event()
        load = [threading.Thread(target=echo_load, args=(d.port, stop, st, i)) for i in range(6)]
        if chat:
            load += [threading.Thread(target=chat_room, args=(d.port, stop, st, k)) for k in range(3)]
        for t in load:
            t.start()
        time.sleep(WARMUP)
        # Memory after warm-up (allocators settled) and again at the end.
        before = sample(d)
        fstop = threading.Event()
        ft = threading.Thread(target=faults, args=(d, fstop, st, 1))
        ft.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            time.sleep(5)
            if not d.alive():
                failures.append("echod died")
                break
        fstop.set()
        ft.join()
        dead = [t.name for t in load if not t.is_alive()]
        if dead:
            failures.append("load threads died before the end: %s" % dead)
        stop.set()
        for t in load:
            t.join(120)
        try:
            wait_for(lambda: not d.workers(), 60, what="workers to finish")
        except AssertionError as e:
            failures.append(str(e))
        time.sleep(2)  # spares refill, a restarted hub settles
        fds1 = d.settled_fds(4)
        after = sample(d)
        hub_fds1 = after["hub_fds"]
        zombies = d.zombies()
        if zombies:
            failures.append("zombies: %s" % zombies)
        if fds1 != fds0:
            failures.append("engine fds %s -> %s (quiet, before and after)" % (fds0, fds1))
        if after["sup_rss"] - before["sup_rss"] > 1024:
            failures.append("engine RSS %s -> %s KiB" % (before["sup_rss"], after["sup_rss"]))
        if after["ctl_fds"] != before["ctl_fds"]:
            failures.append("control plane fds %s -> %s" % (before["ctl_fds"],
                                                             after["ctl_fds"]))
        if after["ctl_rss"] - before["ctl_rss"] > 1024:
            failures.append("control plane RSS %s -> %s KiB" % (before["ctl_rss"],
                                                                after["ctl_rss"]))
        # The hub (restarted after each kill) holds its door and one link
        # per member: with nobody connected, what a fresh one holds.
        if hub_fds1 != hub_fds0:
            failures.append("hub fds %s -> %s (quiet, before and after)" % (hub_fds0, hub_fds1))
        if chat and before["hub_rss"] and after["hub_rss"] and \
                after["hub_rss"] - before["hub_rss"] > 4096:
            failures.append("hub RSS %s -> %s KiB" % (before["hub_rss"], after["hub_rss"]))
        status = d.status()
        if status is not None:
            if status.get("workers") != 0:
                failures.append("STATUS workers %s with none running" % status.get("workers"))
            done = st.c.get("echo_ok", 0) + st.c.get("echo_cut", 0)
            handled = status.get("connections_total", 0) + status.get("rejected_total", 0)
            if status.get("connections_total", 0) < st.c.get("echo_ok", 0) or handled < done:
                failures.append("STATUS connections_total %s, rejected_total %s: fewer than "
                                "the %d connections clients saw"
                                % (status.get("connections_total"),
                                   status.get("rejected_total"), done))
            # Every chat round relays 3 messages; killed rounds some more.
            if status.get("messages_relayed", 0) < 3 * st.c.get("chat_rounds", 0):
                failures.append("STATUS messages_relayed %s < 3 x %d chat rounds"
                                % (status.get("messages_relayed"), st.c.get("chat_rounds", 0)))
            # A worker killed between its last send and its counter update
            # leaves at most one buffer (128 KiB) uncounted.
            slack = st.c.get("workers_killed", 0) * (128 << 10)
            if status.get("bytes_echoed", 0) + slack < st.c.get("echo_bytes", 0):
                failures.append("STATUS bytes_echoed %s, clients verified %d"
                                % (status.get("bytes_echoed"), st.c.get("echo_bytes", 0)))
        crashes = d.log().count("killed by signal KILL")
        if st.errors:
            failures.append("%d verification errors, first: %s" % (len(st.errors), st.errors[:3]))
        if crashes < st.c.get("workers_killed", 0) * 0.5:
            failures.append("kills not logged: %d lines for %d kills"
                            % (crashes, st.c.get("workers_killed", 0)))
    print("soak: %d s (+%d s warm-up), chat %s" % (SECONDS, WARMUP, "on" if chat else
                                                  "not available (echo only)"))
    for k in sorted(st.c):
        print("  %-16s %d" % (k, st.c[k]))
    print("  engine fds %s -> %s (quiet), RSS %s -> %s KiB (after warm-up -> end)"
          % (fds0, fds1, before["sup_rss"], after["sup_rss"]))
    print("  control plane fds %s -> %s, RSS %s -> %s KiB (after warm-up -> end)"
          % (before["ctl_fds"], after["ctl_fds"], before["ctl_rss"], after["ctl_rss"]))
    print("  hub fds %s -> %s (quiet), RSS %s -> %s KiB (after warm-up -> end; the hub is"
          " restarted after each kill)" % (hub_fds0, hub_fds1, before["hub_rss"], after["hub_rss"]))
    print("  STATUS: %s" % (status if status is not None else "no control socket yet"))
    print("  zombies %d, verification errors %d" % (len(zombies), len(st.errors)))
    if failures:
        print("SOAK FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("SOAK PASSED")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Skip as e:
        print("soak skipped: %s" % e)
        sys.exit(0)
