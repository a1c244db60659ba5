# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: the supervisor runs out of file descriptors.

echod's supervisor holds no fd per connection (workers do), so the limit is
lowered on the running supervisor to exactly the fds it has open
(prlimit): every accept() and socketpair() then fails with EMFILE. More
clients than it has fds queue up. echod must pause accepting, not spin
(its CPU time over the pause, from /proc, stays low), keep every queued
client, and serve them all once an fd is free again.
"""

import os
import resource
import signal
import socket
import time

from echodtest import (Echod, check, connect, cpu_seconds, echo_roundtrip,
                       lowest_free_fd, recv_exactly, wait_for)

PAUSE = 2.0  # seconds the supervisor sits out of fds while we watch


def queue_clients(port, n):
    socks = []
    for i in range(n):
        s = connect(port)
        s.sendall(b"client %d\n" % i)
        socks.append(s)
    return socks


def nothing_arrives(socks, wait=0.2):
    for s in socks:
        s.settimeout(wait)
        try:
            got = s.recv(100)
            return "a client got %r while echod had no fds" % got
        except socket.timeout:
            pass
    return None


def test_out_of_fds_pauses_accept_then_serves_everyone():
    with Echod(ini={"server": {"spares": "2"}, "log": {"connections": "no"}}) as d:
        wait_for(lambda: len(d.children_by_comm("echod-spare")) == 2, 5, what="2 spares")
        check(echo_roundtrip(d.port, b"before") == b"before", "no echo before")
        d.settled_fds(2)
        eng = d.engine()  # the process that accepts
        soft, hard = resource.prlimit(eng, resource.RLIMIT_NOFILE)
        limit = lowest_free_fd(eng)
        resource.prlimit(eng, resource.RLIMIT_NOFILE, (limit, hard))
        since = d.log_size()

        # More clients than the engine has fds.
        clients = queue_clients(d.port, 3 * limit)
        d.wait_log(r"Too many open files; pausing accepts", since=since)
        cpu0 = cpu_seconds(eng)
        time.sleep(PAUSE)
        used = cpu_seconds(eng) - cpu0
        # A busy loop would use about PAUSE seconds; pausing uses almost
        # nothing (a wakeup per pause). Not a speed assertion: CPU time.
        check(used < 0.25 * PAUSE, "the engine used %.2fs CPU in %.1fs out of fds" % (used, PAUSE))
        why = nothing_arrives(clients)
        check(why is None, why)
        check(d.alive(), "echod died out of fds")
        # Retrying every 100 ms must not log every retry.
        paused = d.log(since).count("pausing accepts")
        check(paused == 1, "%d 'pausing accepts' lines in one episode: a log flood" % paused)

        # One fd comes free: a spare dies, its channel is closed. Accepting
        # needs only one fd at a time, so everyone is served.
        spare = d.children_by_comm("echod-spare")[0]
        os.kill(spare, signal.SIGKILL)
        for i, s in enumerate(clients):
            want = b"client %d\n" % i
            check(recv_exactly(s, len(want), timeout=20) == want,
                  "queued client %d lost or garbled" % i)
            s.close()
        d.wait_log(r"accepting again on \S+ after \d+ failed attempts", since=since)
        # The limit back: spares and the fd count recover.
        resource.prlimit(eng, resource.RLIMIT_NOFILE, (soft, hard))
        check(echo_roundtrip(d.port, b"after") == b"after", "no echo after")
        wait_for(lambda: not d.workers(), 20, what="workers to finish")
        d.settled_fds(2)
        check(lowest_free_fd(eng) == limit, "engine fds leaked: lowest free %d, was %d"
              % (lowest_free_fd(eng), limit))
        check(not d.zombies(), "zombies: %s" % d.zombies())


def test_reload_while_out_of_fds_keeps_config():
    """SIGHUP must read the INI: with no fd for it the reload fails and the
    running config stays; once fds are back a reload works."""
    with Echod(ini={"server": {"spares": "1"}}) as d:
        d.settled_fds(1)
        soft, hard = resource.prlimit(d.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (lowest_free_fd(d.pid), hard))
        out = d.reload(expect_ok=False)
        check("Too many open files" in out, "reload error does not say why: %s" % out)
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (soft, hard))
        d.reload()
        check(echo_roundtrip(d.port, b"ok") == b"ok", "not serving after reload")
