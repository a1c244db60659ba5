# SPDX-License-Identifier: GPL-3.0-or-later
"""[server] proxy_protocol: PROXY v1/v2 headers from proxy_trusted
addresses (daemon/proxyhdr.h, SECURITY.md). The test client plays the
proxy from 127.0.0.1 and names made-up clients in its headers."""

import socket
import struct
import time

from echodtest import (Echod, check, connect, recv_exactly, recv_until_eof,
                       wait_for)

TRUSTED = {"server": {"proxy_protocol": "yes", "proxy_trusted": "127.0.0.1"}}
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def ini(**server):
    out = {"server": dict(TRUSTED["server"])}
    out["server"].update({k: str(v) for k, v in server.items()})
    return out


def v1(src, sport, dst="127.0.0.1", dport=5188):
    return b"PROXY TCP4 %s %s %d %d\r\n" % (src.encode(), dst.encode(),
                                           sport, dport)


def v2(src, sport, dst="127.0.0.1", dport=5188, tlvs=b""):
    body = (socket.inet_aton(src) + socket.inet_aton(dst) +
            struct.pack("!HH", sport, dport) + tlvs)
    return V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def v2_local():
    return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)


def closed_by_server(s, timeout=10.0):
    """True once the server closed (EOF or reset) without sending data."""
    s.settimeout(timeout)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True


def proxied_echo(port, header, data):
    """Through the 'proxy': header, then data; what came back."""
    with connect(port) as s:
        s.sendall(header + data)
        got = recv_exactly(s, len(data))
        s.shutdown(socket.SHUT_WR)
        rest = recv_until_eof(s)
    return got + rest


def test_v1_header_is_taken_off_and_logged_as_the_client():
    with Echod(ini=TRUSTED) as d:
        got = proxied_echo(d.port, v1("192.0.2.7", 40001), b"hello\n")
        check(got == b"hello\n", "echoed %r, not the data alone" % got)
        d.wait_log(r"accept 192\.0\.2\.7:40001 via 127\.0\.0\.1:\d+")
        d.wait_log(r"close 192\.0\.2\.7:40001 via 127\.0\.0\.1:\d+ echo: "
                   r"6 bytes in, 6 out")


def test_v2_header_then_data_later():
    with Echod(ini=TRUSTED) as d:
        with connect(d.port) as s:
            # TLVs (ALPN "h2", NOOP) are skipped.
            s.sendall(v2("198.51.100.9", 40002, tlvs=b"\x01\x00\x02h2\x04\x00\x00"))
            time.sleep(0.2)
            s.sendall(b"abc")
            check(recv_exactly(s, 3) == b"abc", "v2: data not echoed alone")
        d.wait_log(r"close 198\.51\.100\.9:40002 via 127\.0\.0\.1:\d+ echo: "
                   r"3 bytes in, 3 out")


def test_chat_member_is_the_real_client():
    with Echod(ini=TRUSTED) as d:
        with connect(d.port) as s:
            s.sendall(v1("192.0.2.77", 40077) + b"CHAT/1 alice\n")
            line = s.recv(200)
            check(line.startswith(b"OK"), "greeting through a proxy: %r" % line)
            d.wait_log(r"chat join 192\.0\.2\.77:40077: alice in")


def test_max_per_source_counts_the_real_client():
    with Echod(ini=ini(max_per_source=2)) as d:
        held = []
        try:
            for i in range(2):
                s = connect(d.port)
                s.sendall(v1("192.0.2.50", 41000 + i) + b"x")
                check(recv_exactly(s, 1) == b"x", "client %d not served" % i)
                held.append(s)
            with connect(d.port) as s:
                s.sendall(v1("192.0.2.50", 41009) + b"x")
                check(closed_by_server(s), "a third connection of 192.0.2.50 served")
            d.wait_log(r"refused 192\.0\.2\.50:41009 via 127\.0\.0\.1:\d+: "
                       r"more than 2 connections from this source")
            # Other clients through the same proxy: its address counts
            # for nothing, each client for itself.
            for i in range(3):
                s = connect(d.port)
                s.sendall(v2("192.0.2.%d" % (60 + i), 42000) + b"y")
                check(recv_exactly(s, 1) == b"y",
                      "client 192.0.2.%d refused behind the proxy" % (60 + i))
                held.append(s)
        finally:
            for s in held:
                s.close()


def test_health_checks_are_closed_quietly():
    with Echod(ini=TRUSTED) as d:
        for hdr in (v2_local(), b"PROXY UNKNOWN\r\n"):
            with connect(d.port) as s:
                s.sendall(hdr)
                check(closed_by_server(s), "health check %r not closed" % hdr)
        # A marker connection: its close line comes after the checks'.
        proxied_echo(d.port, v1("192.0.2.8", 40008), b"m")
        d.wait_log(r"close 192\.0\.2\.8:40008")
        log = d.log()
        check("warning" not in log and "close 127.0.0.1" not in log
              and "accept 127.0.0.1" not in log,
              "a health check was logged:\n%s" % log[-2000:])


def test_partial_header_then_silence_is_closed_after_the_timeout():
    with Echod(ini=TRUSTED) as d:
        with connect(d.port) as s:
            s.sendall(b"PROXY TCP4 192.0.2.1 ")
            t0 = time.monotonic()
            check(closed_by_server(s, timeout=15), "a partial header held on")
            check(time.monotonic() - t0 >= 2.0, "closed before the timeout")
        d.wait_log(r"warning.*PROXY header from 127\.0\.0\.1:\d+: PROXY header "
                   r"not complete in 3 s; closed")


def test_oversized_and_bad_headers_are_closed_and_named():
    with Echod(ini=TRUSTED) as d:
        with connect(d.port) as s:
            s.sendall(b"PROXY UNKNOWN " + b"1" * 120)
            check(closed_by_server(s), "a v1 line over 107 bytes kept open")
        d.wait_log(r"PROXY header from 127\.0\.0\.1:\d+: v1: no CRLF within "
                   r"107 bytes; closed")
        big = V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", 600)
        with connect(d.port) as s:
            s.sendall(big)
            check(closed_by_server(s), "an oversized v2 header kept open")
        d.wait_log(r"v2: header longer than 536 bytes; closed")
        with connect(d.port) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            check(closed_by_server(s), "a trusted non-PROXY client served")
        d.wait_log(r"PROXY header from 127\.0\.0\.1:\d+: not a PROXY header")


def test_untrusted_header_is_plain_data():
    with Echod(ini={"server": {"proxy_protocol": "yes",
                               "proxy_trusted": "10.0.0.0/8",
                               "max_per_source": "1"}}) as d:
        hdr = v1("1.2.3.4", 40004)
        with connect(d.port) as s:
            s.sendall(hdr + b"hi")
            check(recv_exactly(s, len(hdr) + 2) == hdr + b"hi",
                  "an untrusted header was not echoed as data")
            # Counted under 127.0.0.1, not 1.2.3.4: a second one is refused.
            with connect(d.port) as s2:
                s2.sendall(v1("1.2.3.5", 40005))
                check(closed_by_server(s2), "127.0.0.1 got a second connection")
        d.wait_log(r"close 127\.0\.0\.1:\d+ echo: %d bytes in" % (len(hdr) + 2))
        check("1.2.3.4" not in d.log().replace(hdr.decode(), ""),
              "the untrusted header's address was believed")


def test_reload_turns_proxy_protocol_on():
    with Echod() as d:
        hdr = v1("192.0.2.9", 40009)
        got = proxied_echo(d.port, hdr, b"z")
        check(got == hdr + b"z", "proxy_protocol off: header not echoed")
        d.sections["server"].update(TRUSTED["server"])
        d.write_ini(d.sections)
        d.reload()
        got = proxied_echo(d.port, hdr, b"z")
        check(got == b"z", "after reload: header not taken off (%r)" % got)
        d.wait_log(r"close 192\.0\.2\.9:40009 via 127\.0\.0\.1")


def test_forked_worker_and_tcp6_client():
    # No spares: the worker is forked with the connection (worker_child),
    # not handed one (worker_spare).
    with Echod(ini=ini(spares=0)) as d:
        hdr = b"PROXY TCP6 2001:db8::5 ::1 40010 5188\r\n"
        got = proxied_echo(d.port, hdr, b"six")
        check(got == b"six", "TCP6 through a forked worker: %r" % got)
        d.wait_log(r"close \[2001:db8::5\]:40010 via 127\.0\.0\.1:\d+ echo: "
                   r"3 bytes in, 3 out")
