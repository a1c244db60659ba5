# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: a client sends 100 MB and never reads. TCP flow control stops it
(the worker blocks writing the echo, so it stops reading); the worker's
memory stays bounded, the supervisor's does not move, other clients are
served, and when the client goes the worker exits."""

import socket
import time

from echodtest import (Echod, check, echo_roundtrip, proc_status_kb, scaled,
                       wait_for)

TOTAL = 100 << 20


def test_sender_that_never_reads_is_bounded():
    with Echod() as d:
        sup_rss = proc_status_kb(d.engine())
        s = socket.create_connection(("127.0.0.1", d.port))
        s.setblocking(False)
        chunk = b"\xa5" * (256 << 10)
        sent, stalled_since = 0, None
        deadline = time.monotonic() + 20
        while sent < TOTAL and time.monotonic() < deadline:
            try:
                sent += s.send(chunk)
                stalled_since = None
            except BlockingIOError:
                now = time.monotonic()
                stalled_since = stalled_since or now
                if now - stalled_since > 1.0:
                    break  # pushed back for a second: flow control holds
                time.sleep(0.05)
        check(sent < TOTAL, "echod took all %d bytes without us reading" % sent)
        workers = d.workers()
        check(len(workers) == 1, "workers: %s" % workers)
        w = workers[0]
        hwm = proc_status_kb(w, "VmHWM")
        # The worker's own buffer is 128 KiB; kernel socket buffers are not
        # its memory. ASan processes start larger.
        check(hwm < scaled(8, 48) * 1024, "worker peak RSS %d KiB after %d bytes" % (hwm, sent))
        check(echo_roundtrip(d.port, b"others\n") == b"others\n", "another client not served")
        grown = proc_status_kb(d.engine()) - sup_rss
        check(grown < 1024, "supervisor RSS grew %d KiB" % grown)
        s.close()  # unread data: RST; the blocked worker must notice
        wait_for(lambda: w not in d.workers(), 10, what="the worker to exit")
        check(not d.zombies(), "zombie")


def test_chat_member_that_never_reads_is_bounded():
    """The same in chat: a member floods MSG lines and reads nothing. Its
    own lines come back to it (delivery receipts) and pile up in its
    socket: it is held back by flow control, or dropped as slow once its
    backlog passes max_backlog. Either way the hub and its worker stay
    bounded, and a bystander that reads gets every relayed line intact,
    is answered meanwhile, and sees the flooder PART at the end."""
    import threading
    from chatclient import Chat, require_chat
    with Echod() as d:
        require_chat(d.port)
        # The bystander reads in a Python thread: a big receive buffer
        # keeps its backlog in echod small while it catches up.
        by = Chat(d.port, None)
        by.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        by.send_line("CHAT/1 bystander flood")
        by.expect("OK ")
        fl = Chat(d.port, "flooder", "flood")
        fl.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        fl.expect("OK ")
        by.expect("JOIN ")
        hub = d.children_by_comm("echod-hub")[0]
        worker = max(d.workers())  # the flooder's, forked last
        seen = {"msgs": 0, "pong": False, "end": None, "bad": None}
        stop = threading.Event()

        def bystander():
            while not stop.is_set():
                try:
                    ln = by.line(timeout=0.5)
                except OSError:
                    continue
                if ln is None or ln.startswith(b"BYE"):
                    seen["bad"] = ln  # the bystander must not be dropped
                    return
                if ln.startswith(b"PART "):
                    seen["end"] = ln
                elif ln == b"PONG during":
                    seen["pong"] = True
                elif ln.startswith(b"MSG ") and ln.endswith(b" flooder " + b"f" * 1000):
                    seen["msgs"] += 1
                else:
                    seen["bad"] = ln[:100]

        t = threading.Thread(target=bystander)
        t.start()
        line = b"MSG " + b"f" * 1000 + b"\n"
        fl.s.setblocking(False)
        sent, stalled_since, whwm, dropped = 0, None, 0, False
        deadline = time.monotonic() + 20
        while sent < TOTAL and time.monotonic() < deadline:
            # Its worker may exit on a drop: watch it while it runs.
            whwm = max(whwm, proc_status_kb(worker, "VmHWM") or 0)
            try:
                sent += fl.s.send(line * 64)
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 2.0:
                    break  # held back by flow control
                time.sleep(0.05)
            except (ConnectionResetError, BrokenPipeError):
                dropped = True
                break
        by.send_line("PING during")
        wait_for(lambda: seen["pong"] or seen["bad"], 10, what="the bystander's PONG")
        fl.close()
        wait_for(lambda: seen["end"] or seen["bad"], 10, what="the flooder's PART")
        stop.set()
        t.join(20)
        check(seen["bad"] is None, "bystander got %r" % seen["bad"])
        check(seen["end"] is not None and (seen["end"].endswith(b" flooder slow") or
                                           seen["end"].endswith(b" flooder closed")),
              "after %d messages (flooder sent %d bytes%s) the bystander got %r, not the "
              "flooder's PART" % (seen["msgs"], sent, ", dropped" if dropped else "", seen["end"]))
        hwm = proc_status_kb(hub, "VmHWM")
        check(hwm < scaled(16, 64) * 1024, "hub peak RSS %d KiB" % hwm)
        check(whwm < scaled(8, 48) * 1024, "flooder's worker peak RSS %d KiB" % whwm)
