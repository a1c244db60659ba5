# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: connections that hold worker slots without using them.

A connection that never sends a byte is closed after [server]
first_byte_timeout and logged as silent, while a client that sends within
that time, and a chat member that greeted and then sits idle, are served on.
Many IPv6 addresses of one /64 count as one source for max_per_source
([server] ipv6_prefix); that part runs in a network namespace of its own
where a whole /64 is local, and skips where one cannot be made."""

import ctypes
import os
import re
import shutil
import socket
import subprocess
import time

from chatclient import Chat
from echodtest import Echod, Skip, TestFailure, check, connect, recv_exactly, wait_for

TIMEOUTS = {"test_ipv6_prefix_is_one_source": 60}


def wait_eof(s, timeout):
    """Seconds until s's peer closed it (EOF or reset); fails after timeout."""
    t0 = time.monotonic()
    s.settimeout(timeout)
    try:
        got = s.recv(100)
    except ConnectionResetError:
        got = b""
    except socket.timeout:
        raise TestFailure("still open after %.0f s" % timeout)
    check(got == b"", "a silent client was sent %r" % got)
    return time.monotonic() - t0


def check_silent_closed_others_served(chat_enabled):
    ini = {"server": {"first_byte_timeout": 1, "idle_timeout": 60},
           "chat": {"enabled": "yes" if chat_enabled else "no"}}
    with Echod(ini=ini) as d:
        t0 = time.monotonic()
        silent = connect(d.port)
        prompt = connect(d.port)
        member = Chat(d.port, "idler") if chat_enabled else None
        if member:
            check(member.line().startswith(b"OK idler "), "greeting not accepted")
        time.sleep(0.5)  # well within the second
        prompt.sendall(b"late but in time")
        check(recv_exactly(prompt, 16) == b"late but in time", "prompt client not echoed")
        elapsed = time.monotonic() - t0 + wait_eof(silent, 10)
        # Generous bounds: closed for its silence, not sooner, not at idle_timeout.
        check(0.9 <= elapsed < 8, "silent client closed after %.1f s" % elapsed)
        port = silent.getsockname()[1]
        silent.close()
        d.wait_log(r"close 127\.0\.0\.1:%d echo: 0 bytes in, 0 out, [0-9.]+ s, "
                   r"silent: no byte in 1 s" % port, what="the silent close line")
        # Past the first-byte time, the others are served on.
        time.sleep(1.2)
        prompt.sendall(b"still here")
        check(recv_exactly(prompt, 10) == b"still here", "prompt client cut after its first byte")
        if member:
            member.send_line("PING idle")
            check(member.line() == b"PONG idle", "idle chat member was closed")
            member.s.close()
        prompt.close()
        wait_for(lambda: len(re.findall(r"close \S+ (echo|chat): ", d.log())) ==
                 (3 if member else 2), 10, what="every close line")
        closes = re.findall(r"close .*", d.log())
        check(sum("silent" in c for c in closes) == 1,
              "not exactly one silent close: %s" % closes)


def test_silent_connection_closed_others_served():
    check_silent_closed_others_served(chat_enabled=True)


def test_silent_connection_closed_without_chat():
    # With chat off no greeting is read: the echo session must wait too.
    check_silent_closed_others_served(chat_enabled=False)


# ------------------------------------------------------------ IPv6 /64

NET = "2001:db8:0:7::"    # every address of this /64 is local in the namespace
OTHER = "2001:db8:0:8::"  # the next /64


def in_netns(fn):
    """Run fn() in a forked child inside a new network namespace where lo is
    up and NET/64 and OTHER/64 are local (any address in them can be bound);
    fn returns "" on success or the problem. Skip where that cannot be made."""
    if os.geteuid() != 0:
        raise Skip("needs root for a network namespace (unshare CLONE_NEWNET)")
    if shutil.which("ip") is None:
        raise Skip("no ip(8) to set up the namespace's loopback")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        out = "EXC"
        try:
            os.close(r)
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
                out = "SKIP unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno())
            else:
                for cmd in (["ip", "link", "set", "lo", "up"],
                            ["ip", "-6", "route", "add", "local", NET + "/64", "dev", "lo"],
                            ["ip", "-6", "route", "add", "local", OTHER + "/64", "dev", "lo"]):
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    if p.returncode != 0:
                        out = "SKIP %s: %s" % (" ".join(cmd), p.stderr.strip())
                        break
                else:
                    out = fn() or "OK"
        except Exception as e:  # noqa: B902 - reported to the parent
            out = "EXC %s: %s" % (e.__class__.__name__, e)
        finally:
            os.write(w, out.encode()[:60000])
            os._exit(0)
    os.close(w)
    data = b""
    try:
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    out = data.decode()
    if out.startswith("SKIP "):
        raise Skip(out[5:])
    check(out == "OK", out)


def from_addr(src, port, timeout=5.0):
    s = socket.socket(socket.AF_INET6)
    s.settimeout(timeout)
    # The address is local by route only, not assigned: bind needs
    # IP_FREEBIND (which covers IPv6 sockets too).
    s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
    s.bind((src, 0))
    s.connect(("::1", port))
    return s


def served(s):
    """Whether echod echoes on s (a refused connection is closed at once)."""
    try:
        s.sendall(b"?")
        return s.recv(1) == b"?"
    except OSError:
        return False


def prefix_case():
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError as e:
        return "SKIP no IPv6 on the namespace's loopback: %s" % e
    ini = {"server": {"bind": "::1", "max_per_source": 4, "ipv6_prefix": 64}}
    with Echod(ini=ini) as d:
        held = [from_addr(NET + "%x" % (0x1000 + i), d.port) for i in range(4)]
        for i, s in enumerate(held):
            if not served(s):
                return "connection %d of 4 from the /64 was not served" % (i + 1)
        fifth = from_addr(NET + "beef", d.port)
        if served(fifth):
            return "a 5th address of the same /64 was served (max_per_source = 4)"
        fifth.close()
        other = from_addr(OTHER + "1", d.port)
        if not served(other):
            return "an address of the next /64 was refused"
        other.close()
        d.wait_log(r"refused \[%sbeef\]:\d+: more than 4 connections from this source "
                   r"\(its /64\)" % NET, what="the refusal naming the /64")
        # Reloaded to count each address: a new address is served.
        d.sections["server"]["ipv6_prefix"] = "128"
        d.write_ini(d.sections)
        d.reload()
        again = from_addr(NET + "beef", d.port)
        if not served(again):
            return "with ipv6_prefix = 128 a 5th address was still refused"
        again.close()
        for s in held:
            s.close()
    return ""


def test_ipv6_prefix_is_one_source():
    in_netns(prefix_case)
