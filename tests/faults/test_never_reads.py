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
        sup_rss = proc_status_kb(d.pid)
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
        grown = proc_status_kb(d.pid) - sup_rss
        check(grown < 1024, "supervisor RSS grew %d KiB" % grown)
        s.close()  # unread data: RST; the blocked worker must notice
        wait_for(lambda: w not in d.workers(), 10, what="the worker to exit")
        check(not d.zombies(), "zombie")
