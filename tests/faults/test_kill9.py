# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: workers, the hub, the engine and echod itself die by kill -9
while clients keep coming.

Nothing here depends on a worker finishing: the engine derives every
live count from reaping. Afterwards: no zombie, per-source slots
(max_per_source) all given back, the counts (STATUS when the control
socket exists, else /proc) match the processes really there, every
round trip that was not cut by a kill came back intact, and the hub is
restarted."""

import os
import random
import signal
import threading
import time

import contextlib

from chatclient import Chat
from echodtest import (Echod, check, connect, echo_halfclose, proc_state, random_bytes,
                       recv_exactly, recv_until_eof, scaled, wait_for)


def chat_answers(port):
    c = Chat(port, "probe9")
    try:
        return (c.line(timeout=2) or b"").startswith(b"OK ")
    except OSError:
        return False
    finally:
        c.close()

PER_SOURCE = 12


def load(port, stop, stats, seed):
    r = random.Random(seed)
    while not stop.is_set():
        data = random_bytes(r.randint(1, 64 << 10), seed=r.random())
        try:
            got = echo_halfclose(port, data, timeout=10)
        except ConnectionRefusedError:
            stats["refused"] += 1
            continue
        except OSError:
            stats["reset"] = stats.get("reset", 0) + 1
            continue
        if bytes(got) == data:
            stats["ok"] += 1
        elif data.startswith(bytes(got)):
            stats["cut"] += 1  # its worker was killed: a prefix, then EOF
        else:
            stats["corrupt"] += 1


def test_kill_9_workers_and_hub_under_load():
    with Echod(ini={"server": {"max_per_source": PER_SOURCE, "spares": "2"},
                    "log": {"connections": "no"}}) as d:
        hub = wait_for(lambda: d.children_by_comm("echod-hub"), 5, what="the hub")[0]
        stop = threading.Event()
        stats = {"ok": 0, "cut": 0, "corrupt": 0, "refused": 0}
        threads = [threading.Thread(target=load, args=(d.port, stop, stats, i))
                   for i in range(6)]
        for t in threads:
            t.start()
        # Chat members too (once chat is there): some of the workers killed
        # are theirs, and the hub dies under them.
        members = []
        if chat_answers(d.port):
            members = [Chat(d.port, "k%d" % i, "killroom") for i in range(4)]
        r = random.Random(7)
        kills = 0
        hub_killed = False
        deadline = time.monotonic() + scaled(4, 6)
        try:
            while time.monotonic() < deadline:
                w = d.workers()
                if w:
                    try:
                        os.kill(r.choice(w), signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass
                if kills >= 10 and not hub_killed:
                    hub_killed = True
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(hub, signal.SIGKILL)
                time.sleep(0.03)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        check(kills >= 10, "only %d workers killed" % kills)
        for c in members:
            c.close()
        check(stats["corrupt"] == 0, "corrupted echoes: %s" % stats)
        check(stats["ok"] > 0, "no round trip completed: %s" % stats)
        d.wait_log(r"chat hub killed by signal KILL; restarting")
        wait_for(lambda: [h for h in d.children_by_comm("echod-hub") if h != hub], 10,
                 what="a new hub")
        check(d.log().count("killed by signal KILL") >= 2, "kills not logged")

        wait_for(lambda: not d.workers(), 20, what="workers to finish")
        wait_for(lambda: not d.zombies(), 5, what="no zombie")
        st = d.status()
        if st is not None:
            check(st["workers"] == 0, "STATUS says %s workers, none run" % st["workers"])
            wait_for(lambda: d.status()["chat_members"] == 0 and d.status()["rooms"] == 0, 5,
                     what="STATUS chat_members and rooms back to 0: %s" % d.status())
            # A cut connection was served and killed, or refused by
            # max_per_source (while killed workers were being reaped).
            check(st["connections_total"] >= stats["ok"] and
                  st["connections_total"] + st["rejected_total"] >= stats["ok"] + stats["cut"],
                  "STATUS %s does not add up with what clients saw %s" % (st, stats))

        # Every per-source slot came back: exactly PER_SOURCE at once are
        # served again, one more is refused.
        held = []
        for i in range(PER_SOURCE):
            s = connect(d.port)
            s.sendall(b"%02d" % i)
            check(recv_exactly(s, 2) == b"%02d" % i, "slot %d of %d not given back"
                  % (i + 1, PER_SOURCE))
            held.append(s)
        extra = connect(d.port)
        try:
            extra.sendall(b"x")
            got = recv_until_eof(extra, timeout=5)
        except ConnectionResetError:
            got = b""
        check(got == b"", "max_per_source + 1 served after the kills: counts drifted")
        for s in held + [extra]:
            s.close()


def test_kill_9_engine_keeps_listeners_and_live_connections():
    """kill -9 of the data plane: echod keeps the listening socket, so
    nobody is refused; a new engine serves within the backoff; the old
    engine's workers serve their clients to the end (echod reaps them);
    its chat members are told BYE restart."""
    with Echod(ini={"server": {"spares": "2"}, "log": {"connections": "no"}}) as d:
        eng = d.engine()
        held = connect(d.port)
        held.sendall(b"a")
        check(recv_exactly(held, 1) == b"a", "no echo before")
        alice = Chat(d.port, "alice", "r")
        check(alice.expect("OK"), "alice not greeted")
        stop = threading.Event()
        stats = {"ok": 0, "cut": 0, "corrupt": 0, "refused": 0}
        threads = [threading.Thread(target=load, args=(d.port, stop, stats, i))
                   for i in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.3)
            os.kill(eng, signal.SIGKILL)
            new = d.engine(other_than=eng, timeout=10)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        check(stats["refused"] == 0, "connections refused while the engine was down: %s"
              % stats)
        # At most the connection the engine held when it died (accepted,
        # not yet handed to a worker) goes with it.
        check(stats.get("reset", 0) <= 1, "connections lost: %s" % stats)
        check(stats["corrupt"] == 0 and stats["ok"] > 0, "load: %s" % stats)
        held.sendall(b"still")
        check(recv_exactly(held, 5) == b"still", "a live connection died with its engine")
        check(alice.expect("BYE") == b"BYE restart", "chat member not told BYE restart")
        d.wait_log(r"the data plane \(engine pid %d\) was killed by signal KILL; "
                   r"restarting it" % eng)
        st = d.status()
        check(st["engine_restarts"] == 1 and st["engine_pid"] == new and
              st["engine_state"] == "running", "STATUS after the restart: %s" % st)
        check(Chat(d.port, "bob", "r").expect("OK"), "no chat after the restart")
        held.close()
        alice.close()
        wait_for(lambda: not d.zombies(), 10, what="the old engine's workers reaped")
        check(echo_halfclose(d.port, b"after") == b"after", "no echo after")


def test_kill_9_of_echod_leaves_no_process():
    """kill -9 of the control plane: the engine (parent-death signal) stops
    and ends its workers; nothing of that echod is left."""
    with Echod(ini={"server": {"spares": "2", "shutdown_timeout": "2"}}) as d:
        d.engine()
        held = connect(d.port)
        held.sendall(b"a")
        check(recv_exactly(held, 1) == b"a", "no echo before")
        procs = d.descendants()
        check(len(procs) >= 4, "engine, hub, spares, a worker: %s" % procs)
        os.kill(d.pid, signal.SIGKILL)
        d.proc.wait(5)
        wait_for(lambda: all(proc_state(p) in (None, "Z") for p in procs), 10,
                 what="every process of the killed echod to end")
        check(recv_until_eof(held, timeout=5) == b"", "the held client was not closed")
        held.close()
