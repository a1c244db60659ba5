# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: stop and start echod 20 times in a row, each time with the last
connections in TIME_WAIT on the listening port (echod closes first: on
SIGTERM the workers send FIN). Every start binds at once: SO_REUSEADDR;
no start fails with "Address already in use"."""

import signal

from echodtest import (Echod, check, connect, echo_roundtrip, recv_exactly,
                       recv_until_eof, time_wait_on_port)

TIMEOUTS = {"test_stop_start_twenty_times_with_time_wait": 120}


def test_stop_start_twenty_times_with_time_wait():
    d = Echod()
    try:
        port = d.port
        for i in range(20):
            socks = [connect(port) for _ in range(3)]
            for s in socks:
                s.sendall(b"x")
                check(recv_exactly(s, 1) == b"x", "round %d: no echo" % i)
            d.signal(signal.SIGTERM)
            for s in socks:  # the worker's FIN comes first
                check(recv_until_eof(s) == b"", "round %d: data after stop" % i)
                s.close()
            check(d.proc.wait(10) == 0, "stop %d: bad exit status" % i)
            check(time_wait_on_port(port) > 0, "round %d: no TIME_WAIT on the port" % i)
            since = d.log_size()
            d.restart()
            check("Address already in use" not in d.log(since), "start %d could not bind" % i)
            check(echo_roundtrip(port, b"y") == b"y", "start %d: not serving" % i)
    finally:
        d.kill_all()
