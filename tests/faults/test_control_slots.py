# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: local users holding the control socket's slots.

With the socket's mode loosened to 0666 any local user can connect and say
nothing, holding a slot for up to 2 s each time. Two of the 8 slots are
kept for root and echod's user and group: `nobody` holding every slot it
can get is turned away from the rest at once (ERR busy), and root's
`chatctl status` is answered while nobody's connections are still held."""

import os
import pwd
import socket
import subprocess
import time

from echodtest import CHATCTL, Echod, Skip, check

SLOTS, RESERVED = 8, 2


def nobody():
    if os.geteuid() != 0:
        raise Skip("needs root: the holder runs as nobody, the asker as root")
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")


def probe(socks):
    """Each socket's state right now: held (open, nothing said), the line it
    was sent, or closed."""
    out = []
    for s in socks:
        try:
            data = s.recv(200, socket.MSG_DONTWAIT)
            out.append(data.decode(errors="replace").strip() if data else "closed")
        except BlockingIOError:
            out.append("held")
        except OSError as e:
            out.append("closed (%s)" % e.__class__.__name__)
    return out


def hold_as(user, path, n):
    """A child as user: open n silent connections to path, report their
    states after a moment, then again when told; returns (pid, reports
    reader, go writer)."""
    rep_r, rep_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(rep_r)
            os.close(go_w)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            socks = []
            for _ in range(n):
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(2)
                s.connect(path)
                s.setblocking(False)  # probe() must not wait
                socks.append(s)
            time.sleep(0.3)  # echod has accepted or turned away each by now
            os.write(rep_w, ("|".join(probe(socks)) + "\n").encode())
            os.read(go_r, 1)
            os.write(rep_w, ("|".join(probe(socks)) + "\n").encode())
        except Exception as e:  # noqa: B902 - reported to the parent
            os.write(rep_w, ("EXC %s: %s\n" % (e.__class__.__name__, e)).encode())
        os._exit(0)
    os.close(rep_w)
    os.close(go_r)
    return pid, os.fdopen(rep_r), go_w


def test_nobody_cannot_starve_roots_status():
    who = nobody()
    with Echod(ini={"control": {"mode": "0666"}}) as d:
        os.chmod(d.tmp, 0o755)
        pid, reports, go = hold_as(who, d.control, SLOTS)
        try:
            first = reports.readline().strip().split("|")
            check(not first[0].startswith("EXC"), "holder: %s" % first[0])
            held = [i for i, st in enumerate(first) if st == "held"]
            busy = [st for st in first if st.startswith("ERR busy")]
            # Root asks while nobody holds every slot open to it.
            t0 = time.monotonic()
            r = subprocess.run([CHATCTL, "status", "-s", d.control], capture_output=True,
                               text=True, timeout=15, env=dict(os.environ, NO_COLOR="1"))
            took = time.monotonic() - t0
            check(r.returncode == 0 and "127.0.0.1:%d" % d.port in r.stdout,
                  "root's chatctl status: %d %r %r" % (r.returncode, r.stdout, r.stderr))
            os.write(go, b"g")
            second = reports.readline().strip().split("|")
            still = [i for i in held if second[i] == "held"]
            check(still == held, "root was answered only after nobody's slots were "
                  "freed (%.1f s; then: %s)" % (took, second))
            check(took < 1.5, "root's chatctl status took %.1f s" % took)
            # nobody got every slot but the reserved ones, and was told at
            # once about those.
            check(len(held) == SLOTS - RESERVED and len(busy) == RESERVED,
                  "nobody's %d connections: %s (want %d held, %d ERR busy)"
                  % (SLOTS, first, SLOTS - RESERVED, RESERVED))
        finally:
            os.close(go)
            reports.close()
            os.waitpid(pid, 0)
        d.wait_log(r"control: uid %d \(pid \d+\) turned away: 6 of 8 slots in use, the "
                   r"last 2 are kept for root" % who.pw_uid, what="the turned-away line")
