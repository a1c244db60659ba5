# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for echod's integration tests: real processes on 127.0.0.1.

Each test starts its own echod (daemon/echod -d) with a temporary INI on a
free port, talks to it over real sockets and looks at what it logged and at
/proc. Python 3 standard library only.
"""

import contextlib
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ECHOD = os.environ.get("ECHOD", os.path.join(ROOT, "daemon", "echod"))
CHATCTL = os.environ.get("CHATCTL", os.path.join(ROOT, "ctl", "chatctl"))
# make check SANITIZE=1: binaries built with ASan+UBSan. Every process is
# several times slower and each child runs a leak check as it exits (tens
# of ms), so tests that loop thousands of times loop fewer times there.
SANITIZE = os.environ.get("SANITIZE") == "1"


def scaled(normal, sanitize):
    """A loop count: normal, or sanitize in SANITIZE builds."""
    return sanitize if SANITIZE else normal


class Skip(Exception):
    """Raise to skip a test, with the reason as the message."""


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def wait_for(pred, timeout=5.0, interval=0.02, what="condition"):
    """Poll pred() until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def free_port():
    """A TCP port free on 127.0.0.1 right now (bind to 0, then release)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port, host="127.0.0.1", timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_exactly(s, n, timeout=10.0):
    s.settimeout(timeout)
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            raise TestFailure("EOF after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_until_eof(s, timeout=10.0, limit=64 << 20):
    s.settimeout(timeout)
    buf = bytearray()
    while len(buf) < limit:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(buf)
        buf += chunk
    raise TestFailure("more than %d bytes before EOF" % limit)



def echo_halfclose(port, data, timeout=10.0):
    """Connect, send data and half-close while a thread reads to EOF: the
    bytes that came back (a prefix if the worker died). OSError if the
    connection could not be made."""
    with connect(port, timeout=timeout) as s:
        got = bytearray()

        def reader():
            try:
                got.extend(recv_until_eof(s, timeout=timeout))
            except OSError:
                pass

        t = threading.Thread(target=reader)
        t.start()
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        t.join(timeout + 5)
    return bytes(got)


def time_wait_on_port(port):
    """Sockets in TIME_WAIT whose local port is `port` (/proc/net/tcp*)."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "06" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        n += 1
        except FileNotFoundError:
            pass
    return n

def echo_roundtrip(port, data, timeout=10.0):
    """Send data on a new connection, half-close, return all that comes back."""
    with connect(port, timeout=timeout) as s:
        got = []

        def reader():
            got.append(recv_until_eof(s, timeout))

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        t.join(timeout + 1)
        check(got, "no reply within %.0fs" % timeout)
        return got[0]


def jam(s, settle=0.2, limit=64 << 20):
    """Send without reading until echod stops taking bytes: afterwards the
    worker is blocked writing to us (both directions full). Returns the
    number of bytes sent."""
    s.setblocking(False)
    sent, stalls = 0, 0
    chunk = b"j" * 65536
    while stalls < 2 and sent < limit:
        try:
            sent += s.send(chunk)
            stalls = 0
        except BlockingIOError:
            stalls += 1
            time.sleep(settle)
    s.setblocking(True)
    return sent


_REACHABLE = {}


def reachable_copy(path):
    """A copy of the program at path that any user can run: the checkout
    may sit where another user cannot reach (a clone in /root, mode 0700).
    echod comes with its engine, which it finds next to itself."""
    if path not in _REACHABLE:
        d = tempfile.mkdtemp(prefix="echodtest-bin.")
        os.chmod(d, 0o755)
        for name in [os.path.basename(path)] + (
                ["echod-engine"] if os.path.basename(path) == "echod" else []):
            dst = os.path.join(d, name)
            shutil.copy2(os.path.join(os.path.dirname(path), name), dst)
            os.chmod(dst, 0o755)
        _REACHABLE[path] = os.path.join(d, os.path.basename(path))
    return _REACHABLE[path]


def pids_children(pid):
    """Direct children of pid, from /proc."""
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass  # the process is gone: /proc answers ENOENT or ESRCH
    return kids


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def lowest_free_fd(pid):
    """The fd number pid's next open() or accept() would get."""
    used = {int(x) for x in os.listdir("/proc/%d/fd" % pid)}
    n = 0
    while n in used:
        n += 1
    return n


def cpu_seconds(pid):
    """User + system CPU time pid has used so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kb(pid, field="VmRSS"):
    """A memory figure of pid in KiB (VmRSS, VmHWM...), None if gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def connect_from(src, port, timeout=5.0):
    """Connect to 127.0.0.1:port from source address src (127.0.0.x)."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def random_bytes(n, seed=None):
    r = random.Random(seed)
    return r.getrandbits(8 * n).to_bytes(n, "little") if n else b""


DEFAULT_INI = {
    "server": {"bind": "127.0.0.1", "idle_timeout": "60", "shutdown_timeout": "5"},
    "control": {},
}


def render_ini(sections):
    out = []
    for sec, kv in sections.items():
        out.append("[%s]" % sec)
        for k, v in kv.items():
            out.append("%s = %s" % (k, v))
        out.append("")
    return "\n".join(out)


class Echod:
    """One echod under test. Use as a context manager; always cleaned up.

    ini: dict of section -> {key: value} merged over DEFAULT_INI;
    port: fixed port or None for a free one.
    """

    def __init__(self, ini=None, port=None, args=(), env=None, wait_ready=True,
                 preexec_fn=None, user=None, rlimits=None, stderr=None):
        """user: run echod as this user (a name, e.g. "nobody"): its temp
        directory is made its own and the INI readable. rlimits: {resource:
        (soft, hard)} set in the child before it runs echod. stderr: where
        echod's log lines go instead of the log file (e.g. a pipe's write
        end); then wait_ready does not apply."""
        self.stderr = stderr
        self.tmp = tempfile.mkdtemp(prefix="echodtest.")
        self.port = port or free_port()
        sections = {s: dict(kv) for s, kv in DEFAULT_INI.items()}
        sections["server"]["port"] = str(self.port)
        sections["control"]["socket"] = os.path.join(self.tmp, "control.sock")
        for sec, kv in (ini or {}).items():
            sections.setdefault(sec, {}).update({k: str(v) for k, v in kv.items()})
        self.sections = sections
        self.ini = os.path.join(self.tmp, "echod.ini")
        self.control = sections["control"]["socket"]
        self.write_ini(sections)
        self.logpath = os.path.join(self.tmp, "stderr.log")
        self.args = list(args)
        self.env = env
        self.preexec_fn = preexec_fn
        self.run_as = pwd.getpwnam(user) if user else None
        self.rlimits = dict(rlimits or {})
        self.binary = ECHOD
        if self.run_as:
            os.chmod(self.tmp, 0o755)
            os.chown(self.tmp, self.run_as.pw_uid, self.run_as.pw_gid)
            os.chmod(self.ini, 0o644)
            # The checkout may sit where that user cannot reach (CI clones
            # anywhere): run a copy from the temp directory.
            self.binary = os.path.join(self.tmp, "echod")
            shutil.copy2(ECHOD, self.binary)
            os.chmod(self.binary, 0o755)
            # The engine is found next to echod.
            engine = os.path.join(os.path.dirname(ECHOD), "echod-engine")
            shutil.copy2(engine, os.path.join(self.tmp, "echod-engine"))
            os.chmod(os.path.join(self.tmp, "echod-engine"), 0o755)
        self.proc = None
        self._start(wait_ready)

    def _preexec(self):
        import resource
        for res, lim in self.rlimits.items():
            resource.setrlimit(res, lim)
        if self.run_as:
            os.setgroups([])
            os.setgid(self.run_as.pw_gid)
            os.setuid(self.run_as.pw_uid)
        if self.preexec_fn:
            self.preexec_fn()

    # -- lifecycle ---------------------------------------------------------
    def write_ini(self, sections=None, raw=None):
        with open(self.ini, "w") as f:
            f.write(raw if raw is not None else render_ini(sections))

    def _start(self, wait_ready):
        self.logf = open(self.logpath, "ab")
        self.log_offset_at_start = self.logf.tell()
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("JOURNAL_STREAM", None)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(
            [self.binary, "-d", "-c", self.ini] + self.args,
            stdin=subprocess.DEVNULL, stdout=self.logf,
            stderr=self.logf if self.stderr is None else self.stderr,
            env=env, preexec_fn=self._preexec)
        self.pid = self.proc.pid
        if wait_ready and self.stderr is None:
            self.wait_log(r"ready: listening on", what="echod to be ready",
                          since=self.log_offset_at_start)

    def restart(self, wait_ready=True):
        self._start(wait_ready)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill_all()
        return False

    def kill_all(self):
        """Stop echod and every process it left (test cleanup)."""
        if self.proc and self.proc.poll() is None:
            kids = self.descendants()
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for k in kids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(k, signal.SIGKILL)
        self.logf.close()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def signal(self, sig):
        os.kill(self.pid, sig)

    def alive(self):
        return self.proc.poll() is None

    # -- introspection -----------------------------------------------------
    def log(self, since=0):
        with open(self.logpath, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def log_size(self):
        return os.path.getsize(self.logpath)

    def wait_log(self, pattern, timeout=5.0, since=0, what=None):
        rx = re.compile(pattern)

        def found():
            return rx.search(self.log(since))

        try:
            return wait_for(found, timeout, what=what or repr(pattern))
        except TestFailure:
            raise TestFailure("%s; echod log:\n%s" % (
                "timed out waiting for " + (what or repr(pattern)),
                self.log(since)[-3000:]))

    def is_engine(self, p):
        """An engine leads its own process group; a worker it forked just
        before it died is named like it until it names itself, but is in
        that engine's group."""
        try:
            return (proc_comm(p) == "echod-engine" and proc_state(p) != "Z"
                    and os.getpgid(p) == p)
        except ProcessLookupError:
            return False

    def engine(self, timeout=5.0, other_than=None):
        """The data plane: echod's live child echod-engine (or one other
        than a given pid, after a restart)."""
        def find():
            for p in pids_children(self.pid):
                if p != other_than and self.is_engine(p):
                    return p
            return None
        return wait_for(find, timeout, what="the engine (echod-engine)")

    def engine_now(self):
        """The engine's pid, or None (no waiting)."""
        for p in pids_children(self.pid):
            if self.is_engine(p):
                return p
        return None

    def children(self):
        """The data plane's processes: the engine's children, and any a
        dead engine left to echod (they are reparented to it)."""
        kids = []
        for p in pids_children(self.pid):
            if self.is_engine(p):
                kids += pids_children(p)
            else:
                kids.append(p)
        return kids

    def descendants(self):
        out, todo = [], [self.pid]
        while todo:
            for k in pids_children(todo.pop()):
                out.append(k)
                todo.append(k)
        return out

    def children_by_comm(self, comm):
        return [p for p in self.children() if proc_comm(p) == comm]

    def workers(self):
        return self.children_by_comm("echod-worker")

    def zombies(self):
        return [p for p in self.children() + pids_children(self.pid)
                if proc_state(p) == "Z"]

    def fds(self):
        """The engine's fd count: the process that accepts and forks."""
        return fd_count(self.engine())

    def settled_fds(self, spares, timeout=10.0):
        """The engine's fd count once `spares` spares are ready and the
        count holds still (a spare being forked briefly holds both ends of
        its channel, so a single reading can be one too high)."""
        readings = []

        def steady():
            if len(self.children_by_comm("echod-spare")) != spares:
                readings.clear()
                return None
            readings.append(self.fds())
            del readings[:-3]
            return len(readings) == 3 and len(set(readings)) == 1 and readings[0]

        return wait_for(steady, timeout, interval=0.1, what="%d spares and a steady fd count"
                        % spares)

    def reload(self, expect_ok=True, timeout=5.0):
        """SIGHUP and wait for the outcome line; returns the log tail."""
        since = self.log_size()
        self.signal(signal.SIGHUP)
        pat = r"reloaded " if expect_ok else r"reload failed"
        self.wait_log(pat, timeout, since=since)
        return self.log(since)

    def status(self):
        """STATUS from the control socket as a dict, or None while echod
        has no control socket (before the operations work lands)."""
        for attempt in range(3):
            try:
                return json.loads(self.control_request("STATUS"))
            except (FileNotFoundError, ConnectionRefusedError, ValueError):
                return None
            except (ConnectionResetError, socket.timeout):
                # Not read within the control socket's 2 s: a supervisor
                # starved on an overloaded machine (sanitizer builds). The
                # question is harmless to ask again.
                if attempt == 2:
                    raise
        return None

    def control_request(self, line, timeout=5.0):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.control)
            s.sendall(line.encode() + b"\n")
            return recv_until_eof(s, timeout).decode()
