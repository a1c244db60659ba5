# SPDX-License-Identifier: GPL-3.0-or-later
"""Harness for the cluster suite (issue 13): a redis-server and an haproxy
from Debian, run as plain processes with config files of their own in a
temporary directory, and two echod nodes on 127.0.0.1 sharing the rooms
through that Redis.

Addresses (Linux routes all of 127/8 on lo):
- 127.0.0.1: direct test clients, never trusted by the nodes;
- 127.0.0.2: haproxy's source towards the nodes (`source` on its server
  lines), the only proxy_trusted address;
- 127.0.0.3 and up: test clients that go through haproxy, so the real
  address the nodes must log differs from both of the above.

Every wait is bounded and waits for something to appear. A missing
redis-server or haproxy is a Skip (scripts/deps.sh check installs them).
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))

from echodtest import (Echod, Skip, TestFailure, check, connect, free_port,  # noqa: E402,F401
                       pids_children, wait_for)
import ctltest  # noqa: E402

PROXY_SRC = "127.0.0.2"
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")


def need(path, what):
    """Skip unless the program at path (or on PATH) can be run."""
    found = path if os.access(path, os.X_OK) else shutil.which(os.path.basename(path))
    if not found:
        raise Skip("%s is not installed (%s; scripts/deps.sh check installs it)" % (what, path))
    return found


def can_bind(addr):
    try:
        with socket.socket() as s:
            s.bind((addr, 0))
        return True
    except OSError:
        return False


def need_loopback_aliases():
    for a in (PROXY_SRC, "127.0.0.3", "127.0.0.4"):
        if not can_bind(a):
            raise Skip("cannot bind %s (127/8 not routed on lo here)" % a)


def kill_tree(pid, sig=signal.SIGKILL):
    """Signal pid and every descendant (found before the first signal)."""
    todo, found = [pid], []
    while todo:
        p = todo.pop()
        found.append(p)
        todo += pids_children(p)
    # All stopped first: a crashed host's processes go at one instant, and
    # a hub that outlived its workers by a moment would PART them itself
    # ("closed") before a node's death could be seen ("lost").
    if sig == signal.SIGKILL:
        for p in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGSTOP)
    for p in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, sig)


def stop_proc(proc, timeout=5):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------ Redis

def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def redis_command(port, *args, timeout=2.0):
    """One command on a fresh connection; the raw first reply line (b"+PONG")
    or None when Redis does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(resp(*args))
            buf = b""
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                buf += chunk
            return buf.split(b"\r\n", 1)[0]
    except OSError:
        return None


def read_reply(f):
    """One RESP reply from a binary file object, flattened to the bytes of
    its strings (enough to look for a text in an XRANGE)."""
    line = f.readline(1 << 20)
    if not line.endswith(b"\r\n"):
        raise TestFailure("Redis reply cut short: %r" % line[:100])
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-", b":"):
        return rest
    if kind == b"$":
        n = int(rest)
        return b"" if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return b" ".join(read_reply(f) for _ in range(max(n, 0)))
    raise TestFailure("not a RESP reply: %r" % line[:100])


class Redis:
    """redis-server on 127.0.0.1:port with its own config and dir; survives
    kill -9 and restart on the same port and dir (appendonly, fsync always)."""

    def __init__(self, tmp=None, port=None):
        self.binary = need(REDIS_SERVER, "redis-server")
        self.own_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="echod-redis.")
        self.dir = os.path.join(self.tmp, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.conf = os.path.join(self.dir, "redis.conf")
        self.logpath = os.path.join(self.dir, "redis.log")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "bind 127.0.0.1",
                "port %d" % self.port,
                "protected-mode yes",
                "dir %s" % self.dir,
                "daemonize no",
                "appendonly yes",
                "appendfsync always",
                'save ""',
                "maxmemory-policy noeviction",
                "logfile %s" % self.logpath,
                "unixsocket %s" % os.path.join(self.dir, "redis.sock"),
                "unixsocketperm 700",
                ""]))
        self.proc = None
        self.start()

    def start(self, timeout=10.0):
        self.proc = subprocess.Popen([self.binary, self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: self.proc.poll() is not None or self.ping(), timeout,
                     interval=0.05, what="redis-server to answer PING")
        except TestFailure:
            raise TestFailure("redis-server did not answer PING; its log:\n%s" % self.log())
        if self.proc.poll() is not None:
            raise TestFailure("redis-server exited %d; its log:\n%s"
                              % (self.proc.returncode, self.log()))

    def ping(self):
        return redis_command(self.port, "PING", timeout=0.5) == b"+PONG"

    def command(self, *args):
        return redis_command(self.port, *args)

    def reply(self, *args, timeout=5.0):
        """The whole reply to one command (read_reply), on a new connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(resp(*args))
            with s.makefile("rb") as f:
                return read_reply(f)

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        """After kill9: the same port, dir and append-only file."""
        if self.proc.poll() is None:
            self.kill9()
        # The port is free once the process is gone (no TIME_WAIT on a
        # listener); bind may still race a late close: retry.
        wait_for(lambda: self._port_free(), 5, what="redis port free")
        self.start()

    def _port_free(self):
        try:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", self.port))
            return True
        except OSError:
            return False

    def stop_signal(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def cont_signal(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def close(self):
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
        stop_proc(self.proc)
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ---------------------------------------------------------------- haproxy

def haproxy_cfg(front_port, servers, stats_sock, source=PROXY_SRC, balance="roundrobin"):
    """The haproxy.cfg the suite runs (README "Beyond one host" shows the
    same shape). servers: [(name, port)] on 127.0.0.1. No daemon, chroot
    or user in global: it runs as is, in the foreground (-db)."""
    lines = [
        "global",
        "    maxconn 4096",
        "    stats socket %s mode 600 level admin" % stats_sock,
        "",
        "defaults",
        "    mode tcp",
        "    option redispatch",
        "    retries 3",
        "    timeout connect 1s",
        "    timeout client 1h",
        "    timeout server 1h",
        "",
        "frontend chat",
        "    bind 127.0.0.1:%d" % front_port,
        "    default_backend echod",
        "",
        "backend echod",
        "    balance %s" % balance,
    ]
    for name, port in servers:
        lines.append("    server %s 127.0.0.1:%d send-proxy-v2 check check-send-proxy "
                     "inter 500 fall 1 rise 1 source %s" % (name, port, source))
    return "\n".join(lines) + "\n"


class HAProxy:
    """haproxy -f cfg -db in front of the given servers [(name, port)]."""

    def __init__(self, tmp, servers, balance="roundrobin", wait_up=True):
        self.binary = need(HAPROXY, "haproxy")
        self.tmp = tmp
        self.port = free_port()
        self.servers = list(servers)
        self.stats = os.path.join(tmp, "haproxy.sock")
        self.cfg = os.path.join(tmp, "haproxy.cfg")
        self.logpath = os.path.join(tmp, "haproxy.log")
        with open(self.cfg, "w") as f:
            f.write(haproxy_cfg(self.port, self.servers, self.stats, balance=balance))
        chk = subprocess.run([self.binary, "-c", "-f", self.cfg], capture_output=True,
                             text=True, timeout=20)
        if chk.returncode != 0:
            raise TestFailure("haproxy -c rejects %s:\n%s%s" % (self.cfg, chk.stdout, chk.stderr))
        self.logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen([self.binary, "-f", self.cfg, "-db"],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf)
        wait_for(lambda: self.proc.poll() is not None or os.path.exists(self.stats), 10,
                 what="haproxy's stats socket")
        check(self.proc.poll() is None, "haproxy exited: %s" % self.log())
        if wait_up:
            self.wait_states({n: "UP" for n, _ in self.servers})

    def admin(self, line, timeout=5.0):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.stats)
            s.sendall(line.encode() + b"\n")
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return buf.decode(errors="replace")
                buf += chunk

    def states(self):
        """{server name: "UP"|"DOWN"|...} from `show stat`."""
        out = {}
        text = self.admin("show stat")
        rows = [r.split(",") for r in text.splitlines() if r and not r.startswith("#")]
        head = text.splitlines()[0].lstrip("# ").split(",") if text else []
        if "status" not in head:
            return out
        si, pi, ni = head.index("status"), head.index("pxname"), head.index("svname")
        for r in rows:
            if len(r) > si and r[pi] == "echod" and r[ni] not in ("BACKEND", "FRONTEND"):
                out[r[ni]] = r[si].split()[0]
        return out

    def wait_states(self, want, timeout=15.0):
        try:
            wait_for(lambda: all(self.states().get(n) == s for n, s in want.items()),
                     timeout, interval=0.1, what="haproxy servers %r" % want)
        except TestFailure as e:
            raise TestFailure("%s; now %r; haproxy log:\n%s" % (e, self.states(), self.log()))

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()[-3000:]

    def close(self):
        stop_proc(self.proc)
        self.logf.close()


# ------------------------------------------------------------------ nodes

def node_ini(redis_port, name, extra=None, proxy=True):
    """A node's INI sections; proxy: the PROXY protocol from haproxy's
    address (without it every client is direct, from any 127/8 address)."""
    ini = {"cluster": {"redis": "127.0.0.1:%d" % redis_port, "node": name}}
    if proxy:
        ini["server"] = {"proxy_protocol": "yes", "proxy_trusted": PROXY_SRC}
    for sec, kv in (extra or {}).items():
        ini.setdefault(sec, {}).update(kv)
    return ini


class Cluster:
    """Redis, two echod nodes (n1, n2) and, with haproxy=True, haproxy in
    front of them (or of the nodes named in `behind`). proxy=False: the
    nodes take no PROXY header (bench/cluster's direct cells).

    c.redis, c.nodes["n1"], c.n1, c.n2, c.haproxy (or None). Use as a
    context manager: everything it started is stopped on exit.
    """

    def __init__(self, haproxy=False, behind=("n1", "n2"), ini=None, names=("n1", "n2"),
                 proxy=True):
        need(REDIS_SERVER, "redis-server")
        if haproxy:
            need(HAPROXY, "haproxy")
        need_loopback_aliases()
        self.tmp = tempfile.mkdtemp(prefix="echod-cluster.")
        self.redis = None
        self.nodes = {}
        self.haproxy = None
        try:
            self.redis = Redis(self.tmp)
            for n in names:
                self.nodes[n] = Echod(ini=node_ini(self.redis.port, n, ini, proxy))
            # Chat answers BYE restart until a node's Redis link is up.
            for d in self.nodes.values():
                d.wait_log(r"cluster: Redis .* up, node", timeout=20,
                           what="the node's Redis link up")
            if haproxy:
                self.haproxy = HAProxy(self.tmp, [(n, self.nodes[n].port) for n in behind])
        except BaseException:
            self.close()
            raise

    @property
    def n1(self):
        return self.nodes["n1"]

    @property
    def n2(self):
        return self.nodes["n2"]

    def kill9_node(self, name):
        """kill -9 of a whole node: supervisor, engine, hub and workers at
        once, as a crashed host would be."""
        d = self.nodes[name]
        kill_tree(d.pid)
        d.proc.wait()

    def node_of(self, pattern, since=None):
        """The name of the one node whose log matches pattern (re.M)."""
        rx = re.compile(pattern, re.M)
        hits = [n for n, d in self.nodes.items() if rx.search(d.log((since or {}).get(n, 0)))]
        return hits[0] if len(hits) == 1 else None

    def close(self):
        if self.haproxy:
            self.haproxy.close()
        for d in self.nodes.values():
            with contextlib.suppress(Exception):
                if d.proc.poll() is None:
                    d.kill_all()
                else:
                    kill_tree(d.pid)
                    d.logf.close()
        if self.redis:
            self.redis.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ---------------------------------------------------------------- clients

class Member(ctltest.Client):
    """A raw CHAT/1 client (ctltest.Client) that may connect from a given
    source address (src), to a node or to haproxy."""

    def __init__(self, port, nick, room=None, src=None, greet=True, options=""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                             source_address=(src, 0) if src else None)
        self.buf = b""
        self.nick = nick
        self.greeting = None
        if greet:
            self.send("CHAT/1 %s%s%s" % (nick, " " + room if room else "",
                                         " " + options if options else ""))
            self.greeting = self.expect(r"^(OK|ERR|BYE) ").string

    def lines_until(self, pred, timeout=10.0):
        """Read lines until pred(line); all of them, that one last."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: timed out; got %r" % (self.nick, out[-10:]))
            try:
                ln = self.line(left)
            except socket.timeout:
                continue
            out.append(ln)
            if pred(ln):
                return out

    def eof_or(self, pattern, timeout=10.0):
        """Read until EOF (None) or a line matching pattern (the match)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: neither EOF nor %r; got %r" % (self.nick, pattern, seen))
            try:
                ln = self.line(left)
            except socket.timeout:
                continue
            except (TestFailure, ConnectionResetError):
                return None
            seen.append(ln)
            m = rx.search(ln)
            if m:
                return m


def greet_once(port, nick, room, timeout=5.0):
    """The first answer line to one greeting on a new connection (or
    "EOF"), the connection then closed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(("CHAT/1 %s %s\n" % (nick, room)).encode())
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    return "EOF"
                buf += chunk
            return buf.split(b"\n", 1)[0].decode(errors="replace")
    except socket.timeout:
        return "TIMEOUT"
    except OSError as e:
        return "ERROR %s" % e


def wait_chat_ok(port, room="probe", timeout=20.0):
    """Wait until a greeting on port is answered OK (chat is up there)."""
    n = [0]

    def ok():
        n[0] += 1
        return greet_once(port, "probe%d" % n[0], room).startswith("OK ")
    wait_for(ok, timeout, interval=0.2, what="a greeting on %d answered OK" % port)
