# SPDX-License-Identifier: GPL-3.0-or-later
"""Echo sessions (PROTOCOL.md sections 1 and 2) against a real echod."""

import os
import selectors
import socket
import threading
import time

from echodtest import (Echod, check, connect, echo_roundtrip, random_bytes,
                       recv_exactly, recv_until_eof, scaled, wait_for)

TIMEOUTS = {"test_two_hundred_clients_at_once": 120}


def test_one_mib_random_echoed_exactly():
    data = random_bytes(1 << 20, seed=1)
    with Echod() as d:
        got = echo_roundtrip(d.port, data)
        check(got == data, "1 MiB: got %d bytes back, equal=%s" % (len(got), got == data))
        d.wait_log(r"close 127\.0\.0\.1:\d+ echo: 1048576 bytes in, 1048576 out, [0-9.]+ s, eof")


def test_every_byte_value_binary_safe():
    data = bytes(range(256)) * 64 + b"\0\0\r\n\xff"
    with Echod() as d:
        check(echo_roundtrip(d.port, data) == data, "binary data changed")


def test_many_small_round_trips():
    with Echod() as d, connect(d.port) as s:
        for i in range(50):
            msg = b"ping %d\n" % i
            s.sendall(msg)
            check(recv_exactly(s, len(msg)) == msg, "round trip %d differs" % i)


def test_half_close_gets_everything_back():
    data = random_bytes(300000, seed=2)
    with Echod() as d, connect(d.port) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # we are done sending
        got = recv_until_eof(s)
        check(got == data, "after SHUT_WR got %d of %d bytes" % (len(got), len(data)))


def test_greeting_prefix_then_echo():
    with Echod() as d, connect(d.port) as s:
        # "CHA" could become a chat greeting: echod waits greeting_wait,
        # then echoes it and everything after it.
        s.sendall(b"CHA")
        check(recv_exactly(s, 3, timeout=3) == b"CHA", "prefix not echoed")
        s.sendall(b"T/1 is now just data\n")
        check(recv_exactly(s, 21) == b"T/1 is now just data\n", "rest not echoed")


def test_chat_disabled_everything_is_echo():
    with Echod(ini={"chat": {"enabled": "no"}}) as d:
        data = b"CHAT/1 alice lobby\nMSG hi\n"
        check(echo_roundtrip(d.port, data) == data, "greeting not echoed with chat off")
        check(not d.children_by_comm("echod-hub"), "a hub runs with chat disabled")


def test_two_hundred_clients_at_once():
    n = 200
    with Echod(ini={"server": {"max_per_source": "1000"}}) as d:
        sel = selectors.DefaultSelector()
        socks = []
        for i in range(n):
            s = connect(d.port, timeout=20)
            s.setblocking(False)
            payload = random_bytes(2048, seed=100 + i)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, [payload, bytearray()])
        for s in socks:
            s.setblocking(True)
            s.sendall(sel.get_key(s).data[0])
            s.setblocking(False)
        done = 0
        deadline = time.monotonic() + 60
        while done < n and time.monotonic() < deadline:
            for key, _ in sel.select(1):
                want, got = key.data
                chunk = key.fileobj.recv(65536)
                got += chunk
                if len(got) >= len(want):
                    check(bytes(got) == want, "a client got someone else's bytes")
                    sel.unregister(key.fileobj)
                    done += 1
        check(done == n, "only %d of %d clients got their echo" % (done, n))
        wait_for(lambda: len(d.workers()) == n, 10, what="%d live workers" % n)
        for s in socks:
            s.close()
        wait_for(lambda: not d.workers(), 20, what="all workers to exit")
        check(not d.zombies(), "zombies left: %s" % d.zombies())


def test_idle_timeout_closes_silent_client():
    with Echod(ini={"server": {"idle_timeout": "1"}}) as d, connect(d.port) as s:
        t0 = time.monotonic()
        got = recv_until_eof(s, timeout=10)
        waited = time.monotonic() - t0
        check(got == b"", "idle connection got data: %r" % got[:40])
        check(waited >= 0.9, "closed after %.2fs, before idle_timeout" % waited)
        d.wait_log(r"close .* echo: 0 bytes in, 0 out, .*, idle")


def test_idle_timeout_counts_from_last_byte():
    with Echod(ini={"server": {"idle_timeout": "2"}}) as d, connect(d.port) as s:
        # Talk every 0.5 s for 4 s: longer than idle_timeout in total, but
        # never idle that long, so the connection must stay.
        for i in range(8):
            s.sendall(b"x")
            check(recv_exactly(s, 1) == b"x", "echo %d missing" % i)
            time.sleep(0.5)
        t0 = time.monotonic()
        check(recv_until_eof(s, timeout=10) == b"", "unexpected data")
        check(time.monotonic() - t0 >= 1.5, "closed before the idle time passed")


def test_client_that_never_reads_is_held_by_flow_control():
    with Echod() as d, connect(d.port) as s:
        s.setblocking(False)
        sent = 0
        chunk = b"z" * 65536
        deadline = time.monotonic() + 5
        # Send without reading until TCP pushes back.
        while time.monotonic() < deadline:
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                time.sleep(0.05)
                try:
                    sent += s.send(chunk)
                except BlockingIOError:
                    break
        check(sent < 64 << 20, "echod absorbed %d bytes without us reading" % sent)
        workers = d.workers()
        check(len(workers) == 1, "expected one worker, have %s" % workers)
        with open("/proc/%d/status" % workers[0]) as f:
            rss = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]
        # ASan processes start bigger (shadow, runtime globals).
        check(rss < scaled(8, 48) * 1024, "worker RSS %d KiB while held by flow control" % rss)
        # Now read it all back: nothing was lost.
        s.setblocking(True)
        s.shutdown(socket.SHUT_WR)
        got = recv_until_eof(s, timeout=30)
        check(len(got) == sent and set(got) <= {ord("z")},
              "sent %d, got back %d" % (sent, len(got)))


def test_ipv6_any_serves_ipv4_too():
    if not socket.has_ipv6 or not os.path.exists("/proc/net/if_inet6"):
        from echodtest import Skip
        raise Skip("no IPv6 on this machine")
    with Echod(ini={"server": {"bind": "::"}}) as d:
        check(echo_roundtrip(d.port, b"v4\n") == b"v4\n", "IPv4 client not served on ::")
        with socket.create_connection(("::1", d.port), timeout=5) as s:
            s.sendall(b"v6\n")
            check(recv_exactly(s, 3) == b"v6\n", "IPv6 client not served")


def test_peer_addresses_off_hides_addresses():
    with Echod(ini={"log": {"peer_addresses": "no"}}) as d:
        echo_roundtrip(d.port, b"x")
        d.wait_log(r"close a client echo")
        lines = [l for l in d.log().splitlines() if "accept" in l or "close" in l]
        check(lines and not any("127.0.0.1" in l for l in lines),
              "a client address was logged: %s" % lines)


def test_connection_logging_off():
    with Echod(ini={"log": {"connections": "no"}}) as d:
        echo_roundtrip(d.port, b"x")
        time.sleep(0.3)
        check("accept" not in d.log() and "close" not in d.log(),
              "connection lines logged with connections = no")


def test_connection_logging_close_only():
    # connections = close: the close line alone, naming the client.
    with Echod(ini={"log": {"connections": "close"}}) as d:
        echo_roundtrip(d.port, b"xyz")
        d.wait_log(r"close 127\.0\.0\.1:\d+ echo: 3 bytes in, 3 out")
        check("accept" not in d.log(),
              "an accept line logged with connections = close: %s" % d.log())
