#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""echod under a real systemd, booted in a container on this machine.

    systemd-nspawn --volatile=yes -D / --boot --register=no --keep-unit

The container runs the host's own /usr (its / is a tmpfs) and shares the
host's network namespace, so this script talks to echod on 127.0.0.1 from
outside and runs systemctl, journalctl and chatctl inside with
`nsenter -t <container init> -a`. echod is installed with
`make install DESTDIR=<stage>`; the stage is bound into the container and
its usr/local mounted over /usr/local there, /etc/echod.ini copied in.

Prints PASS/FAIL/SKIP lines and a last line
`RESULT passed=N failed=N skipped=N` (tests/run's suite format). Skips,
with the reason, only where systemd-nspawn cannot run at all (not root, no
nspawn, or even a trivial container fails), or under SANITIZE=1. The
container is powered off on every exit path.

usage: run.py [-k SUBSTRING] [-v]
"""

import argparse
import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from nspawn import (Booted, Fail, Results, Skip, bounded, check, in_container,  # noqa: E402
                    wait_for)

SCORE_TARGET = 1.5
SUITE_TIMEOUT = 900
CONTROL = "/run/echod/control.sock"

MSGID = {}  # EV_READY -> id, from daemon/journal.c
with open(os.path.join(ROOT, "daemon", "journal.c")) as _f:
    for _ev, _id in re.findall(r'\[(EV_[A-Z_]+)\] = "([0-9a-f]{32})"', _f.read()):
        MSGID[_ev] = _id


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_low_port():
    """A port below 1024 free on 127.0.0.1 (we are root here)."""
    for p in [7] + list(range(1023, 900, -1)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                continue
    raise Skip("no free port below 1024")


def echo(port, data, timeout=10):
    """One echo session: send data, half-close, return what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.settimeout(timeout)
        got = bytearray()
        done = threading.Event()

        def reader():
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    got.extend(b)
            except OSError:
                pass
            done.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        done.wait(timeout)
        return bytes(got)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def time_wait_on_port(port):
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            next(f)
            for line in f:
                p = line.split()
                if p[3] == "06" and int(p[1].rsplit(":", 1)[1], 16) == port:
                    n += 1
    return n


class Load:
    """Client load on a port: short echo sessions in a loop from several
    threads, plus long-lived connections that a stop must end cleanly."""

    def __init__(self, port, threads=6, longlived=4):
        self.port = port
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.ok = self.refused = self.cut = self.other = 0
        self.errors = []
        self.threads = [threading.Thread(target=self.loop, args=(i,), daemon=True)
                        for i in range(threads)]
        # Long-lived sessions, closed by the client as soon as echod ends
        # them (as nc would): what echod's FIN was followed by.
        self.long_ends = []
        for _ in range(longlived):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"long\n")
            check(s.recv(5) == b"long\n", "long-lived connection not echoed")
            t = threading.Thread(target=self.hold, args=(s,), daemon=True)
            self.threads.append(t)

    def hold(self, s):
        s.settimeout(60)
        try:
            end = s.recv(100)
        except OSError as e:
            end = e
        s.close()
        with self.lock:
            self.long_ends.append(end)

    def count(self, what, detail=None):
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)
            if detail and len(self.errors) < 5:
                self.errors.append(detail)

    def loop(self, i):
        rnd = random.Random(i)
        while not self.stop_flag.is_set():
            data = rnd.getrandbits(8 * 256).to_bytes(256, "little")
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            except ConnectionRefusedError:
                self.count("refused")
                time.sleep(0.005)
                continue
            except OSError as e:
                self.count("other", "connect: %s" % e)
                continue
            try:
                s.settimeout(10)
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                got = bytearray()
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    got.extend(b)
                if bytes(got) == data:
                    self.count("ok")
                elif data.startswith(bytes(got)):
                    self.count("cut")  # a stopping worker ended it early
                else:
                    self.count("other", "echo differs")
            except (ConnectionResetError, BrokenPipeError):
                self.count("cut")
            except OSError as e:
                # Reset before our shutdown(): ENOTCONN, the same cut.
                if e.errno == errno.ENOTCONN:
                    self.count("cut")
                else:
                    self.count("other", "session: %s" % e)
            finally:
                s.close()

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        """Stop the load; what each long-lived session ended with."""
        self.stop_flag.set()
        for t in self.threads:
            t.join(15)
        return self.long_ends

    def summary(self):
        return "%d served, %d refused, %d ended by the stop, %d other" % (
            self.ok, self.refused, self.cut, self.other)


class Container(Booted):
    """The host's own / on a tmpfs (--volatile=yes), its network shared."""

    def __init__(self, stage, workdir):
        super().__init__("echodtest", ["--volatile=yes", "-D", "/"], workdir)
        self.stage = stage

    def boot(self):
        return super().boot(["--bind-ro=%s:/stage" % self.stage],
                            ["systemd.firstboot=off", "systemd.unit=basic.target"])

    def kill_works(self):
        """Does this systemd see a unit's processes go when it kills them?
        Where nspawn itself runs inside a container without its own cgroup
        tree, the killed processes' cgroup never reports empty and a unit
        whose main process was killed never leaves "deactivating"; tests
        that kill echod cannot work there. None if it works, else why."""
        unit = "echodtest-killprobe"
        self.run("systemd-run", "--unit=" + unit, "-p", "KillMode=mixed",
                 "sh", "-c", "sleep 300 & wait", check=False)
        self.run("systemctl", "kill", "--kill-who=main", "--signal=KILL", unit,
                 check=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st = self.run("systemctl", "show", "-p", "ActiveState", "--value", unit,
                          check=False).stdout.strip()
            if st in ("inactive", "failed", ""):
                self.run("systemctl", "reset-failed", unit, check=False)
                return None
            time.sleep(0.2)
        self.run("systemctl", "kill", "--signal=KILL", unit, check=False)
        return ("in this container a unit whose main process is killed stays %r for "
                "10 s (its cgroup never reports empty: nspawn inside a container "
                "without a cgroup tree of its own)" % st)


# ----------------------------------------------------------------- tests

# Tests that kill, stop or restart echod's unit and need systemd to see its
# processes go at once.
NEEDS_KILL = {"test_watchdog_restarts_a_stuck_data_plane", "test_restart_on_failure",
              "test_stop_ends_every_worker", "test_restart_with_plain_bind_rebinds_at_once"}


class Suite:
    def __init__(self, c, ports):
        self.c = c
        self.p1, self.p2, self.p3 = ports
        with open(os.path.join(c.stage, "etc", "echod.ini")) as f:
            self.ini_template = f.read()

    def ini(self, port, extra=""):
        text = re.sub(r"(?m)^port = .*$", "port = %d" % port, self.ini_template)
        text = re.sub(r"(?m)^shutdown_timeout = .*$", "shutdown_timeout = 5", text)
        return text + extra

    def main_pid(self):
        return int(self.c.run("systemctl", "show", "-p", "MainPID", "--value",
                              "echod").stdout.strip())

    def journal(self):
        args = ["journalctl", "-u", "echod", "-o", "json", "--no-pager"]
        r = self.c.run(*args, timeout=30)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def entries(self, ev, **fields):
        return [e for e in self.journal() if e.get("MESSAGE_ID") == MSGID[ev] and
                all(e.get(k) == v for k, v in fields.items())]

    def engine_pid(self, other_than=None, timeout=10):
        """The data plane: the main process's child named echod-engine."""
        def find():
            # An engine leads its own process group: a worker forked just
            # before an engine died is named like it for a moment.
            main = self.main_pid()
            r = self.c.run("ps", "-o", "pid=,pgid=,comm=", "--ppid", str(main),
                           check=False)
            for line in r.stdout.splitlines():
                pid, pgid, name = line.split(None, 2)
                if name.strip() == "echod-engine" and pid == pgid and \
                        int(pid) != other_than:
                    return int(pid)
            return None
        return wait_for(find, timeout, "the engine")

    def below_main(self):
        """Every process below echod's main one, at any depth."""
        main = self.main_pid()
        r = self.c.run("ps", "-e", "-o", "pid=,ppid=", check=False)
        kids = {}
        for line in r.stdout.splitlines():
            pid, ppid = (int(x) for x in line.split())
            kids.setdefault(ppid, []).append(pid)
        out, todo = [], [main]
        while todo:
            for k in kids.get(todo.pop(), []):
                out.append(k)
                todo.append(k)
        return out

    def state(self):
        return self.c.run("systemctl", "show", "-p", "ActiveState", "--value",
                          "echod").stdout.strip()

    def pgrep_echod(self):
        r = self.c.run("pgrep", "-l", "echod", check=False)
        return [line for line in r.stdout.splitlines() if line.strip()]

    # -- the steps, in order ------------------------------------------------

    def test_install_into_the_container(self):
        c = self.c
        c.run("mount", "--bind", "/stage/usr/local", "/usr/local")
        c.write("/etc/echod.ini", self.ini(self.p1))
        c.run("systemctl", "daemon-reload")
        c.run("journalctl", "--update-catalog")
        r = c.run("systemctl", "cat", "echod.service")
        check("/usr/local/lib/systemd/system/echod.service" in r.stdout,
              "systemd does not see the installed unit:\n%s" % r.stdout[:300])
        r = c.run("journalctl", "--list-catalog", MSGID["EV_READY"])
        check("echod" in r.stdout, "catalog not found by journalctl: %r" % r.stdout)
        return "units in /usr/local/lib/systemd/system, catalog in /usr/local/lib/systemd/catalog"

    def test_start_reaches_active_and_echoes(self):
        c = self.c
        c.run("systemctl", "start", "echod")
        check(c.run("systemctl", "is-active", "echod", check=False).stdout.strip() ==
              "active", "echod is not active")
        pid = self.main_pid()
        uid = int(c.run("stat", "-c", "%u", "/proc/%d" % pid).stdout)
        check(uid != 0, "echod runs as root")
        data = random.Random(1).getrandbits(8 * 1048576).to_bytes(1048576, "little")
        check(echo(self.p1, data) == data, "1 MiB not echoed on port %d" % self.p1)
        caps = c.run("grep", "^CapEff", "/proc/%d/status" % pid).stdout.split()[1]
        check(int(caps, 16) == 1 << 10, "effective capabilities %s, want only "
              "CAP_NET_BIND_SERVICE" % caps)
        status = c.run("systemctl", "show", "-p", "StatusText", "--value", "echod").stdout
        check("served" in status, "no sd_notify STATUS: %r" % status)
        # The data plane is the installed engine.
        eng = self.engine_pid()
        exe = c.run("readlink", "/proc/%d/exe" % eng).stdout.strip()
        check(exe == "/usr/local/lib/echod/echod-engine", "the engine runs %r" % exe)
        return "pid %d, uid %d, 1 MiB echoed on 127.0.0.1:%d" % (pid, uid, self.p1)

    def test_data_plane_maps_no_libsystemd(self):
        """The control plane links libsystemd; nothing below it maps it or
        any library it brings (xz-utils reached sshd exactly that way)."""
        libs = ("libsystemd", "liblzma", "libzstd", "liblz4", "libgcrypt",
                "libgpg-error", "libcap", "libjansson", "libinih")
        s = socket.create_connection(("127.0.0.1", self.p1), timeout=5)
        try:
            s.sendall(b"x")
            check(s.recv(1) == b"x", "no echo")
            main = self.main_pid()
            check("libsystemd" in self.c.run("cat", "/proc/%d/maps" % main).stdout,
                  "the control plane does not map libsystemd?")
            procs = self.below_main()
            kinds = set()
            for pid in procs:
                r = self.c.run("cat", "/proc/%d/maps" % pid, check=False)
                if r.returncode != 0:
                    continue  # gone meanwhile
                kinds.add(self.c.run("cat", "/proc/%d/comm" % pid,
                                     check=False).stdout.strip())
                bad = sorted({lib for lib in libs if lib in r.stdout})
                check(not bad, "pid %d maps %s" % (pid, bad))
            check({"echod-engine", "echod-worker", "echod-hub"} <= kinds,
                  "not every kind of process was looked at: %s" % sorted(kinds))
        finally:
            s.close()
        return "%d processes below pid %d (%s): none maps %s" % (
            len(procs), main, ", ".join(sorted(kinds)), ", ".join(libs))

    def test_journal_has_structured_fields(self):
        sizes = list(range(4321, 4326))
        for n in sizes:
            check(echo(self.p1, b"j" * n) == b"j" * n, "%d bytes not echoed" % n)

        def closes(unit):
            args = ["journalctl", "-o", "json", "--no-pager",
                    "MESSAGE_ID=" + MSGID["EV_CLOSE"]] + (["-u", "echod"] if unit else
                                                         ["SYSLOG_IDENTIFIER=echod"])
            out = self.c.run(*args, timeout=30).stdout
            found = {}
            for line in out.splitlines():
                e = json.loads(line)
                if e.get("ECHOD_BYTES_IN") in map(str, sizes):
                    found[int(e["ECHOD_BYTES_IN"])] = e
            return found
        # Every close is in the journal under the unit: the engine logs it
        # from what each worker left in its slot, and the control plane, a
        # long-lived process journald can always tie to echod.service,
        # writes it.
        wait_for(lambda: len(closes(True)) == len(sizes), 15,
                 "5 close entries under journalctl -u echod")
        under_unit = closes(True)
        eng = str(self.engine_pid())
        for n, e in under_unit.items():
            for k, v in (("REMOTE_ADDR", "127.0.0.1"), ("ECHOD_PROTO", "echo"),
                         ("ECHOD_BYTES_OUT", str(n)), ("_SYSTEMD_UNIT", "echod.service"),
                         ("SYSLOG_IDENTIFIER", "echod"), ("ECHOD_ROLE", "engine"),
                         ("ECHOD_PID", eng), ("_PID", str(self.main_pid())),
                         ("CODE_FILE", "daemon/engine.c"), ("CODE_FUNC", "log_close")):
                check(e.get(k) == v, "close entry: %s=%r, want %r" % (k, e.get(k), v))
            for k in ("REMOTE_PORT", "ECHOD_DURATION_USEC", "ECHOD_REASON", "PRIORITY"):
                check(e.get(k), "close entry lacks %s: %r" % (k, e))
            check(e.get("CODE_LINE", "").isdigit(), "close entry: CODE_LINE %r"
                  % e.get("CODE_LINE"))
        check(self.entries("EV_ACCEPT", REMOTE_ADDR="127.0.0.1"), "no accept entry")
        check(self.entries("EV_READY"), "no ready entry")
        check(self.entries("EV_START"), "no start entry")
        r = self.c.run("journalctl", "-x", "-u", "echod", "--no-pager", timeout=30)
        check("Subject: echod is ready and accepting connections" in r.stdout,
              "journalctl -x shows no catalog text")
        return ("MESSAGE_ID, REMOTE_ADDR, ECHOD_BYTES_IN ...; %d of %d closes under -u echod;"
                " journalctl -x explains" % (len(under_unit), len(sizes)))

    def test_chatctl_status_shows_live_numbers(self):
        socks = []
        try:
            for _ in range(3):
                s = socket.create_connection(("127.0.0.1", self.p1), timeout=5)
                s.sendall(b"x")
                check(s.recv(1) == b"x", "no echo")
                socks.append(s)

            def three():
                r = self.c.run("chatctl", "status", "--json", check=False)
                st = json.loads(r.stdout) if r.returncode == 0 else {}
                return st if st.get("workers") == 3 else None
            st = wait_for(three, 10, "STATUS with 3 workers")
            check(st["echo_connections"] == 3 and st["pid"] == self.main_pid(),
                  "STATUS %r" % st)
            check(st["listen"] == ["127.0.0.1:%d" % self.p1], "listen %r" % st["listen"])
            check(st["config"] == "/etc/echod.ini", "config %r" % st["config"])
            r = self.c.run("chatctl", "status")
            check("3 live (3 echo" in r.stdout and "127.0.0.1:%d" % self.p1 in r.stdout,
                  "chatctl status:\n%s" % r.stdout)
        finally:
            for s in socks:
                s.close()
        return "3 live (3 echo, 0 chat), served %d" % st["connections_total"]

    def test_reload_moves_to_the_new_port(self):
        c = self.c
        pid = self.main_pid()
        c.write("/etc/echod.ini", self.ini(self.p2))
        c.run("systemctl", "reload", "echod")
        # Synchronous: no waiting before the first connection.
        check(echo(self.p2, b"after reload") == b"after reload", "new port does not echo")
        check(refused(self.p1), "old port %d still accepts" % self.p1)
        check(self.main_pid() == pid, "reload restarted echod")
        check(self.entries("EV_RELOAD_OK"), "no reload-ok entry in the journal")
        return "%d -> %d, same pid %d" % (self.p1, self.p2, pid)

    def test_broken_reload_fails_and_old_port_serves(self):
        c = self.c
        c.write("/etc/echod.ini", "[server]\nport = %d\nmax_connections = lots\n" % self.p2)
        r = c.run("systemctl", "reload", "echod", check=False)
        check(r.returncode != 0, "reload of a broken file succeeded")
        check(c.run("systemctl", "is-active", "echod", check=False).stdout.strip() ==
              "active", "echod not active after a failed reload")
        check(echo(self.p2, b"still") == b"still", "old port does not serve")
        fails = self.entries("EV_RELOAD_FAIL", CONFIG_FILE="/etc/echod.ini")
        check(any(e.get("CONFIG_LINE") == "3" for e in fails),
              "no reload-failed entry with CONFIG_LINE=3: %r" % fails[-2:])
        msgs = [e.get("MESSAGE", "") for e in self.journal()]
        want = "chatctl: reload: failed: /etc/echod.ini:3: max_connections"
        check(any(want in m for m in msgs),
              "chatctl's message is not in the journal")
        # A bind that cannot be made: the entry names the errno.
        c.write("/etc/echod.ini", self.ini(self.p2).replace(
            "bind = 127.0.0.1", "bind = 192.0.2.1"))
        r2 = c.run("systemctl", "reload", "echod", check=False)
        check(r2.returncode != 0, "reload to an address not on this host succeeded")
        fails = self.entries("EV_RELOAD_FAIL", ERRNO=str(errno.EADDRNOTAVAIL))
        check(fails, "no reload-failed entry with ERRNO=%d" % errno.EADDRNOTAVAIL)
        check(echo(self.p2, b"still") == b"still", "old port does not serve")
        c.write("/etc/echod.ini", self.ini(self.p2))
        return ("systemctl reload exit %d; /etc/echod.ini:3 in the journal; ERRNO=%d for "
                "an unusable bind" % (r.returncode, errno.EADDRNOTAVAIL))

    def test_reloading_and_stopping_are_told_to_systemd(self):
        """RELOADING=1 and STOPPING=1 reach systemd: with the engine held
        (SIGSTOP) a reload, and then a stop, wait for it, and systemd
        shows reloading, then deactivating, meanwhile."""
        c = self.c
        main, eng = self.main_pid(), self.engine_pid()
        c.run("kill", "-STOP", str(eng))
        try:
            c.run("kill", "-HUP", str(main))
            wait_for(lambda: self.state() == "reloading", 5, "ActiveState=reloading")
        finally:
            c.run("kill", "-CONT", str(eng))
        wait_for(lambda: self.state() == "active", 10, "active again after the reload")
        check(self.entries("EV_RELOAD_OK"), "no reload-ok entry")
        c.run("kill", "-STOP", str(eng))
        try:
            c.run("kill", "-TERM", str(main))
            wait_for(lambda: self.state() == "deactivating", 5, "ActiveState=deactivating")
        finally:
            c.run("kill", "-CONT", str(eng))
        wait_for(lambda: self.state() in ("inactive", "failed"), 20, "echod to stop")
        check(self.state() == "inactive", "echod ended %s after STOPPING=1" % self.state())
        c.run("systemctl", "start", "echod")
        check(echo(self.p2, b"again") == b"again", "no echo after the start")
        return "reloading while the engine was held, deactivating after STOPPING=1"

    def test_security_score(self):
        r = self.c.run("systemd-analyze", "security", "--no-pager", timeout=120)
        scores = {}
        for line in r.stdout.splitlines():
            p = line.split()
            if len(p) >= 2 and p[0].endswith(".service"):
                try:
                    scores[p[0]] = float(p[1])
                except ValueError:
                    pass
        check("echod.service" in scores, "echod.service not scored:\n%s" % r.stdout)
        mine = scores["echod.service"]
        r = self.c.run("systemd-analyze", "security", "echod.service", "--no-pager")
        m = re.search(r"Overall exposure level for echod.service: ([0-9.]+)", r.stdout)
        check(m and float(m.group(1)) == mine, "score mismatch: %r" % r.stdout[-200:])
        check(mine <= SCORE_TARGET, "echod.service scores %.1f > %.1f:\n%s" %
              (mine, SCORE_TARGET, r.stdout))
        stock = {u: s for u, s in scores.items() if u.startswith("systemd-")}
        worse = {u: s for u, s in stock.items() if s <= mine}
        check(not worse, "stock units scoring as well as echod (%.1f): %r" % (mine, worse))
        best = min(stock.items(), key=lambda kv: kv[1]) if stock else ("none", 0)
        return "echod.service %.1f; best stock daemon %s %.1f" % (mine, best[0], best[1])

    def test_port_below_1024_works(self):
        c = self.c
        low = free_low_port()
        c.write("/etc/echod.ini", self.ini(low))
        c.run("systemctl", "reload", "echod")
        check(echo(low, b"low port") == b"low port", "no echo on port %d" % low)
        c.write("/etc/echod.ini", self.ini(self.p2))
        c.run("systemctl", "reload", "echod")
        check(echo(self.p2, b"back") == b"back", "back on port %d" % self.p2)
        return "port %d via CAP_NET_BIND_SERVICE, set by reload" % low

    def test_watchdog_is_fed(self):
        """With WatchdogSec=1s (a drop-in) echod must ping every 0.5 s or be
        killed: it stays up, with the same pid, and systemd saw pings."""
        c = self.c
        d = "/run/systemd/system/echod.service.d"
        c.run("mkdir", "-p", d)
        c.write(d + "/watchdog.conf", "[Service]\nWatchdogSec=1s\n")
        try:
            c.run("systemctl", "daemon-reload")
            c.run("systemctl", "restart", "echod")
            pid = self.main_pid()
            time.sleep(3.5)
            check(self.main_pid() == pid, "echod was restarted (watchdog not fed?)")
            ts = c.run("systemctl", "show", "-p", "WatchdogTimestampMonotonic", "--value",
                       "echod").stdout.strip()
            check(ts.isdigit() and int(ts) > 0, "no watchdog ping seen: %r" % ts)
            check(not any("Watchdog timeout" in m for m in
                          (e.get("MESSAGE", "") for e in self.journal())),
                  "watchdog timeout in the journal")
        finally:
            c.run("rm", "-f", d + "/watchdog.conf")
            c.run("systemctl", "daemon-reload")
            c.run("systemctl", "restart", "echod")
        return "WatchdogSec=1s for 3.5 s, same pid %d" % pid

    def test_watchdog_restarts_a_stuck_data_plane(self):
        """WATCHDOG=1 means the data plane answers: kill -STOP of the
        engine stops the pings, and systemd restarts echod."""
        c = self.c
        d = "/run/systemd/system/echod.service.d"
        c.run("mkdir", "-p", d)
        c.write(d + "/watchdog.conf", "[Service]\nWatchdogSec=2s\n")
        try:
            c.run("systemctl", "daemon-reload")
            c.run("systemctl", "restart", "echod")
            pid, eng = self.main_pid(), self.engine_pid()
            before = int(c.run("systemctl", "show", "-p", "NRestarts", "--value",
                               "echod").stdout.strip())
            c.run("kill", "-STOP", str(eng))
            t0 = time.monotonic()
            wait_for(lambda: self.main_pid() not in (0, pid) and self.state() == "active",
                     20, "systemd to restart echod")
            took = time.monotonic() - t0
            after = int(c.run("systemctl", "show", "-p", "NRestarts", "--value",
                              "echod").stdout.strip())
            check(after == before + 1, "NRestarts %d -> %d" % (before, after))
            check(any("Watchdog timeout" in e.get("MESSAGE", "") for e in self.journal()),
                  "no watchdog timeout in the journal")
            check(any("has not answered" in e.get("MESSAGE", "") for e in self.journal()),
                  "echod did not say why it stopped feeding the watchdog")
            check(echo(self.p2, b"fresh") == b"fresh", "no echo after the restart")
        finally:
            c.run("rm", "-f", d + "/watchdog.conf")
            c.run("systemctl", "daemon-reload")
            c.run("systemctl", "restart", "echod")
        return "engine stopped: restarted by systemd after %.1f s" % took

    def test_restart_with_plain_bind_rebinds_at_once(self):
        c = self.c
        old = self.main_pid()
        load = Load(self.p2).start()
        time.sleep(0.5)
        t0 = time.monotonic()
        r = c.run("systemctl", "restart", "echod", check=False)
        took = time.monotonic() - t0
        # Right after restart returns the new echod accepts: it bound at once.
        ok_after = echo(self.p2, b"bound") == b"bound"
        time.sleep(0.5)
        ends = load.finish()
        check(r.returncode == 0, "systemctl restart: %s" % r.stderr)
        check(ok_after, "the new echod does not serve right after restart")
        new = self.main_pid()
        check(new != old, "MainPID did not change")
        # Those connections, closed by the old echod, now sit in TIME_WAIT
        # on the port: restart again right now.
        tw = time_wait_on_port(self.p2)
        check(tw > 0, "no TIME_WAIT on port %d: the rebind case was not exercised" % self.p2)
        r = c.run("systemctl", "restart", "echod", check=False)
        check(r.returncode == 0, "second systemctl restart: %s" % r.stderr)
        check(echo(self.p2, b"again") == b"again", "no echo after the second restart")
        msgs = [e.get("MESSAGE", "") for e in self.journal()]
        check(not any("Address already in use" in m for m in msgs), "EADDRINUSE logged")
        check(len(ends) == 4 and all(e == b"" for e in ends),
              "long-lived connections not ended cleanly by the stop: %r" % ends)
        check(load.other == 0, "load errors: %s %r" % (load.summary(), load.errors))
        check(load.ok > 0, "no load: %s" % load.summary())
        return "restart %.2fs, %d TIME_WAIT on the port; load: %s" % (took, tw, load.summary())

    def test_socket_activation_restart_refuses_nobody(self):
        c = self.c
        c.run("systemctl", "stop", "echod")
        c.run("mkdir", "-p", "/run/systemd/system/echod.socket.d")
        c.write("/run/systemd/system/echod.socket.d/test.conf",
                "[Socket]\nListenStream=\nListenStream=127.0.0.1:%d\n" % self.p3)
        c.run("systemctl", "daemon-reload")
        c.run("systemctl", "start", "echod.socket")
        # The first connection starts echod.
        check(echo(self.p3, b"activated") == b"activated", "no echo via echod.socket")
        check(c.run("systemctl", "is-active", "echod", check=False).stdout.strip() ==
              "active", "echod not started by its socket")
        msgs = [e.get("MESSAGE", "") for e in self.journal()]
        check(any("socket activation: using 1 socket from systemd" in m for m in msgs),
              "no socket activation notice")
        st = json.loads(c.run("chatctl", "status", "--json").stdout)
        check(st["listen"] == ["127.0.0.1:%d" % self.p3], "listen %r (INI says %d)" %
              (st["listen"], self.p2))
        check(refused(self.p2), "the INI's port is bound too")
        load = Load(self.p3).start()
        time.sleep(0.5)
        rcs = []
        for _ in range(3):
            rcs.append(c.run("systemctl", "restart", "echod", check=False).returncode)
            time.sleep(0.3)
        time.sleep(0.5)
        load.finish()
        check(rcs == [0, 0, 0], "systemctl restart exits %r" % rcs)
        check(load.refused == 0, "connections refused: %s" % load.summary())
        check(load.other == 0, "load errors: %s %r" % (load.summary(), load.errors))
        check(load.ok > 0, "no load: %s" % load.summary())
        # kill -9 of the data plane: the control plane holds the socket and
        # starts a new engine; nobody is refused meanwhile.
        main, eng = self.main_pid(), self.engine_pid()
        load = Load(self.p3).start()
        time.sleep(0.3)
        c.run("kill", "-KILL", str(eng))
        new = self.engine_pid(other_than=eng)
        time.sleep(0.5)
        load.finish()
        check(self.main_pid() == main, "echod itself was restarted")
        check(load.refused == 0, "connections refused around kill -9 of the engine: %s"
              % load.summary())
        # The one connection the engine may hold at the instant it dies
        # (accepted, not yet handed to a worker) goes with it; no other.
        check(load.other == 0 and load.cut <= 1, "connections lost around kill -9 of "
              "the engine: %s %r" % (load.summary(), load.errors))
        check(self.entries("EV_ENGINE_RESTART"), "no engine-restart entry")
        # Reload under activation: bind/port in the INI are ignored, with a notice.
        c.write("/etc/echod.ini", self.ini(self.p1))
        c.run("systemctl", "reload", "echod")
        check(echo(self.p3, b"same") == b"same" and refused(self.p1),
              "reload under socket activation changed the listener")
        return "3 restarts and kill -9 of the engine (%d -> %d); load: %s" % (
            eng, new, load.summary())

    def test_restart_on_failure(self):
        """kill -9 of the control plane: systemd cleans up the engine and its
        workers and starts a new echod (Restart=on-failure); no process of
        the old one is left."""
        c = self.c
        s = socket.create_connection(("127.0.0.1", self.p3), timeout=5)
        s.sendall(b"x")
        check(s.recv(1) == b"x", "no echo")
        old = self.main_pid()
        before = set(self.pgrep_echod())
        c.run("systemctl", "kill", "--kill-who=main", "--signal=KILL", "echod")
        wait_for(lambda: self.main_pid() not in (0, old) and c.run(
            "systemctl", "is-active", "echod", check=False).stdout.strip() == "active",
            20, "a new echod after kill -9")
        s.settimeout(5)
        try:
            end = s.recv(10)
        except OSError as e:
            end = e
        s.close()
        check(end == b"" or isinstance(end, ConnectionResetError),
              "the old worker still serves: %r" % end)
        left = [p for p in before if p in set(self.pgrep_echod())]
        check(not left, "processes of the killed echod left: %r" % left)
        procs = [int(line.split()[0]) for line in c.run(
            "ps", "-e", "-o", "pid=,cgroup=").stdout.splitlines()
            if line.rstrip().endswith("/echod.service")]
        mine = set(self.below_main()) | {self.main_pid()}
        check(procs and all(p in mine for p in procs),
              "processes in echod's cgroup that are not the new echod's: %s (of %s)" %
              (sorted(p for p in procs if p not in mine), procs))
        n = c.run("systemctl", "show", "-p", "NRestarts", "--value", "echod").stdout.strip()
        check(n == "1", "NRestarts %r" % n)
        check(echo(self.p3, b"reborn") == b"reborn", "no echo from the new echod")
        return "pid %d -> %d, NRestarts=1" % (old, self.main_pid())

    def test_stop_ends_every_worker(self):
        c = self.c
        socks = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", self.p3), timeout=5)
            s.sendall(b"x")
            check(s.recv(1) == b"x", "no echo")
            socks.append(s)
        check(len(self.pgrep_echod()) >= 6, "expected echod, engine, hub, workers: %r" %
              self.pgrep_echod())
        c.run("systemctl", "stop", "echod.socket", "echod")
        left = self.pgrep_echod()
        check(not left, "processes left after stop: %r" % left)
        for s in socks:
            s.settimeout(5)
            check(s.recv(10) == b"", "a client was not closed")
            s.close()
        check(c.run("systemctl", "is-active", "echod", check=False).stdout.strip() ==
              "inactive", "echod not inactive")
        check(self.entries("EV_STOP"), "no stop entry")
        check(not c.run("test", "-e", CONTROL, check=False).returncode == 0,
              "control socket left behind")
        return "no echod process left; clients got EOF"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    res = Results("systemd")
    why = None
    if os.environ.get("SANITIZE") == "1":
        why = "tests the installed static release build; not with SANITIZE=1"
    elif os.geteuid() != 0:
        why = "needs root to run systemd-nspawn"
    elif not shutil.which("systemd-nspawn") or not shutil.which("nsenter"):
        why = "systemd-nspawn or nsenter is not installed"
    if why:
        res.report("SKIP", "all", why)
        return res.finish()
    bounded(SUITE_TIMEOUT)
    work = tempfile.mkdtemp(prefix="echod-systemd.")
    stage = os.path.join(work, "stage")
    c = Container(stage, work)
    try:
        run_all(c, stage, args, res.report)
    except BaseException as e:  # noqa: B902 - a signal, the alarm, a bug
        res.report("FAIL", "interrupted", "%s: %s\n%s" % (e.__class__.__name__, e,
                                                          c.journal_tail(30)))
    finally:
        signal.alarm(0)
        c.poweroff()
        shutil.rmtree(work, ignore_errors=True)
    return res.finish()


def run_all(c, stage, args, report):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "install",
                        "DESTDIR=" + stage, "PREFIX=/usr/local"],
                       capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        report("FAIL", "make_install", r.stdout + r.stderr)
        return
    try:
        c.probe()
    except Skip as e:
        report("SKIP", "all", str(e))
        return
    t0 = time.monotonic()
    try:
        state = c.boot()
    except Fail as e:
        report("FAIL", "boot", str(e))
        return
    report("PASS", "boot", "%s in %.1fs (container %s)" % (state, time.monotonic() - t0,
                                                         c.name))
    ports = set()
    while len(ports) < 3:
        ports.add(free_port())
    suite = Suite(c, sorted(ports))
    no_kill = c.kill_works()
    where = in_container()
    if not no_kill and where == "systemd-nspawn":
        # nspawn in nspawn: the probe can pass and the tests still fail
        # (seen: a killed echod's unit noticed empty only at its stop
        # timeout, 17 s). In docker, as on a host, they work.
        no_kill = ("systemd-nspawn runs inside another systemd-nspawn container: its "
                   "systemd sees a killed or stopped unit's processes go late or never "
                   "(these tests run on a host, a VM or in docker)")
    if no_kill:
        print("note: %s" % no_kill, flush=True)
    for n in [n for n in Suite.__dict__ if n.startswith("test_")]:
        if args.k and not any(k in n for k in args.k) and n != "test_install_into_the_container":
            continue
        if no_kill and n in NEEDS_KILL:
            report("SKIP", n, no_kill)
            continue
        t0 = time.monotonic()
        try:
            info = getattr(suite, n)()
            report("PASS", n, "%s (%.1fs)" % (info, time.monotonic() - t0))
        except Skip as e:
            report("SKIP", n, str(e))
        except Exception as e:  # noqa: B902 - every failure is reported
            msg = str(e) if isinstance(e, AssertionError) else "%s: %s" % (
                e.__class__.__name__, e)
            report("FAIL", n, "%s (%.1fs)\n--- echod's journal:\n%s" % (
                msg, time.monotonic() - t0, c.journal_tail(40, "echod")))
            if args.v:
                traceback.print_exc()


if __name__ == "__main__":
    sys.exit(main())
