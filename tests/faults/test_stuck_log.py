# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: the log's reader is stuck. Only echod's main process writes the
log (to journald, or here to stderr), from a thread of its own; when that
write blocks, every process that logs waits a bounded time, then drops its
lines and counts them. Service goes on, STATUS answers, and once the reader
is back, echod says how many lines were lost.

Here stderr is a pipe nobody reads: it fills in a moment, and the journal
writer blocks in write(2) exactly as it would on a stuck journald."""

import os
import threading
import time

from echodtest import (Echod, check, echo_roundtrip, recv_until_eof, wait_for)

CLIENTS = 6000


def test_stuck_log_costs_lines_not_service():
    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        with Echod(ini={"log": {"connections": "yes"}}, stderr=w) as d:
            os.close(w)
            w = -1
            # Ready: the control socket answers.
            wait_for(lambda: d.status() is not None, 10, what="echod to answer STATUS")
            t0 = time.monotonic()
            for i in range(CLIENTS):
                data = b"stuck %d\n" % i
                check(echo_roundtrip(d.port, data) == data, "client %d not served" % i)
            took = time.monotonic() - t0
            st = d.status()
            check(st is not None and st["connections_total"] >= CLIENTS,
                  "STATUS while the log is stuck: %s" % st)
            check(d.engine() and st["engine_state"] == "running",
                  "the engine is not serving: %s" % st)
            # Not a speed test: a generous bound that one 100 ms wait per
            # line (the writer never catching up) would blow through.
            check(took < CLIENTS * 0.1 / 2, "%d clients took %.1f s: lines waited"
                  % (CLIENTS, took))
            # The reader comes back: drain the pipe until the loss is told.
            got = bytearray()

            def drained():
                while True:
                    try:
                        chunk = os.read(r, 65536)
                    except BlockingIOError:
                        break
                    if not chunk:
                        break
                    got.extend(chunk)
                return b"log lines of pid" in got or b"log line of pid" in got
            echo_roundtrip(d.port, b"nudge\n")
            wait_for(lambda: drained() or echo_roundtrip(d.port, b"n\n") and False, 20,
                     what="the loss to be logged")
            check(b"journald fell behind" in got, "no line says lines were lost")
            lost = wait_for(lambda: d.status()["log_lines_lost"], 5,
                            what="STATUS log_lines_lost")
            check(lost > 0, "STATUS counts no lost line")
            threading.Thread(target=drained, daemon=True).start()
    finally:
        os.close(r)
        if w != -1:
            os.close(w)
