# SPDX-License-Identifier: GPL-3.0-or-later
"""sd_notify: READY, STATUS, RELOADING, STOPPING, WATCHDOG, as systemd sees them.

A datagram socket stands in for systemd's $NOTIFY_SOCKET; the real thing is
exercised by tests/systemd.
"""

import os
import signal
import socket
import tempfile
import time

from echodtest import Echod, check, echo_roundtrip, wait_for


class Notify:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="notify.")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.msgs = []

    def poll(self):
        while True:
            try:
                self.msgs.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.msgs

    def has(self, text):
        return any(text in m for m in self.poll())


def test_ready_status_reload_stop():
    n = Notify()
    with Echod(env={"NOTIFY_SOCKET": n.path}) as d:
        wait_for(lambda: n.has("READY=1"), 5, what="READY=1")
        wait_for(lambda: n.has("STATUS=0 connections"), 5, what="STATUS=")
        echo_roundtrip(d.port, b"x")
        wait_for(lambda: n.has("1 served"), 5, what="STATUS with 1 served")
        before = len(n.poll())
        d.reload()
        after = n.poll()[before:]
        # RELOADING=1 with the time systemd 253 and later want, then READY=1.
        rel = [i for i, m in enumerate(after) if m.startswith("RELOADING=1\n")
               and "MONOTONIC_USEC=" in m]
        check(rel and rel[0] < max(i for i, m in enumerate(after) if m == "READY=1"),
              "reload notifications out of order: %s" % after)
        d.stop()
        check(n.has("STOPPING=1"), "no STOPPING=1: %s" % n.poll())


def test_watchdog_pings():
    n = Notify()
    with Echod(env={"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "200000"}):
        wait_for(lambda: sum(m == "WATCHDOG=1" for m in n.poll()) >= 3, 5,
                 what="3 WATCHDOG=1 pings")


def test_watchdog_for_another_pid_is_ignored():
    n = Notify()
    with Echod(env={"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "100000",
                    "WATCHDOG_PID": "1"}):
        wait_for(lambda: n.has("READY=1"), 5, what="READY=1")
        time.sleep(0.5)
        check(not n.has("WATCHDOG=1"), "pinged a watchdog meant for pid 1")
