# SPDX-License-Identifier: GPL-3.0-or-later
"""The control socket (PROTOCOL.md section 4) and chatctl status/reload.

Real echod processes; requests over the real AF_UNIX socket, by root and,
for the permission policy, by `nobody` (a child that drops to uid 65534).
"""

import json
import os
import pwd
import socket
import stat
import subprocess
import tempfile
import threading
import time

from echodtest import (CHATCTL, Echod, Skip, check, connect, echo_roundtrip, reachable_copy,
                       free_port, recv_exactly, recv_until_eof, wait_for)

STATUS_FIELDS = ["version", "pid", "uptime_s", "config", "listen", "workers",
                 "echo_connections", "chat_members", "rooms", "connections_total",
                 "rejected_total", "bytes_echoed", "messages_relayed", "spares",
                 "engine_pid", "engine_state", "engine_restarts", "log_lines_lost",
                 "cluster", "limits"]

TIMEOUTS = {"test_silent_clients_never_stall_accepting": 30}


def status(d):
    reply = d.control_request("STATUS")
    check(reply.endswith("\n") and reply.count("\n") == 1,
          "STATUS is not one line: %r" % reply)
    return json.loads(reply)


def chatctl(*args, user=None, timeout=15):
    def drop():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return subprocess.run([reachable_copy(CHATCTL) if user else CHATCTL] + list(args),
                          capture_output=True, text=True,
                          timeout=timeout, preexec_fn=drop if user else None,
                          env=dict(os.environ, NO_COLOR="1"))


def nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")


def as_user(user, fn):
    """Run fn() in a child process with user's uid and gid; its result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            out = fn()
        except Exception as e:  # noqa: B902 - reported to the parent
            out = "EXC %s: %s" % (e.__class__.__name__, e)
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode()


def request_fn(path, line):
    def fn():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(line.encode() + b"\n")
            return recv_until_eof(s, 5).decode()
    return fn


def make_stale_socket(path):
    """A socket file nobody listens on: what a killed echod leaves."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    check(stat.S_ISSOCK(os.lstat(path).st_mode), "no stale socket made")


# ---------------------------------------------------------------- STATUS

def test_status_has_exactly_the_protocol_fields():
    with Echod() as d:
        st = status(d)
        check(list(st) == STATUS_FIELDS, "fields: %s" % list(st))
        check(st["pid"] == d.pid, "pid %s, echod is %d" % (st["pid"], d.pid))
        check(st["config"] == d.ini, "config %r" % st["config"])
        check(st["listen"] == ["127.0.0.1:%d" % d.port], "listen %r" % st["listen"])
        check(isinstance(st["version"], str) and st["version"], "version")
        check(st["uptime_s"] >= 0 and st["workers"] == 0, "uptime/workers %r" % st)
        lim = st["limits"]
        for k in ("max_connections", "max_per_source", "backlog", "idle_timeout",
                  "shutdown_timeout", "spares", "max_line", "max_backlog"):
            check(isinstance(lim.get(k), int), "limits lack %s: %r" % (k, lim))
        check(lim["idle_timeout"] == 60 and lim["shutdown_timeout"] == 5,
              "limits do not follow the INI: %r" % lim)
        # The data plane: echod's child, the engine.
        check(st["engine_pid"] == d.engine() and st["engine_state"] == "running" and
              st["engine_restarts"] == 0 and st["log_lines_lost"] == 0,
              "engine fields %r" % st)
        # No [cluster] redis: one host, and nothing else said of it.
        check(st["cluster"] == {"state": "off"}, "cluster %r" % st["cluster"])
        wait_for(lambda: status(d)["spares"] == lim["spares"], 5,
                 what="spares %d" % lim["spares"])


def test_status_counts_live_connections_and_totals():
    with Echod() as d:
        echo_roundtrip(d.port, b"x" * 1000)
        socks = []
        try:
            for _ in range(3):
                s = connect(d.port)
                s.sendall(b"hello\n")
                recv_exactly(s, 6)
                socks.append(s)
            st = wait_for(lambda: (lambda st: st if st["workers"] == 3 and
                                   st["echo_connections"] == 3 else None)(status(d)),
                          5, what="3 live echo connections in STATUS")
            check(st["connections_total"] >= 4, "connections_total %r" % st)
        finally:
            for s in socks:
                s.close()
        wait_for(lambda: status(d)["workers"] == 0, 5, what="workers back to 0")
        st = wait_for(lambda: (lambda st: st if st["bytes_echoed"] >= 1018 else None)(
            status(d)), 5, what="bytes_echoed counted")
        check(st["connections_total"] == 4, "connections_total %r" % st)


def test_status_refused_counts():
    with Echod(ini={"server": {"max_per_source": 1}}) as d:
        with connect(d.port) as s:
            s.sendall(b"a")
            recv_exactly(s, 1)
            with connect(d.port) as s2:
                check(recv_until_eof(s2, 5) == b"", "second connection was served")
            wait_for(lambda: status(d)["rejected_total"] == 1, 5, what="rejected_total 1")


# ---------------------------------------------------------------- RELOAD

def test_reload_is_synchronous_and_moves_the_port():
    with Echod() as d:
        old, new = d.port, free_port()
        d.sections["server"]["port"] = str(new)
        d.write_ini(d.sections)
        check(d.control_request("RELOAD") == "OK\n", "RELOAD did not answer OK")
        # No waiting: when OK arrives the new listener is there.
        check(echo_roundtrip(new, b"new port") == b"new port", "new port")
        try:
            connect(old, timeout=1).close()
            raise AssertionError("old port still accepts")
        except ConnectionRefusedError:
            pass
        check(status(d)["listen"] == ["127.0.0.1:%d" % new], "STATUS listen")


def test_reload_with_broken_file_answers_err_and_keeps_serving():
    with Echod() as d:
        d.write_ini(raw="[server]\nport = %d\nmax_connections = lots\n" % d.port)
        reply = d.control_request("RELOAD")
        check(reply.startswith("ERR ") and reply.endswith("\n") and reply.count("\n") == 1,
              "reply %r" % reply)
        check("%s:3:" % d.ini in reply and "max_connections" in reply,
              "ERR does not say where: %r" % reply)
        check(echo_roundtrip(d.port, b"still here") == b"still here", "old config")
        d.wait_log(r"reload failed", what="reload failed in the log")


def test_unknown_and_oversized_requests():
    with Echod() as d:
        check(d.control_request("FOO") == "ERR unknown-request\n", "FOO")
        check(d.control_request("") == "ERR unknown-request\n", "empty line")
        check(d.control_request("status") == "ERR unknown-request\n", "lower case")
        check(d.control_request("STATUS\r").startswith("{"), "CRLF line")
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(d.control)
            s.sendall(b"S" * 4000)
            reply = recv_until_eof(s, 5)
        check(reply == b"ERR request-too-long\n", "long request: %r" % reply)
        # A request without LF, ended by half-close, still counts.
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(d.control)
            s.sendall(b"STATUS")
            s.shutdown(socket.SHUT_WR)
            check(recv_until_eof(s, 5).startswith(b"{"), "STATUS without LF")


# ------------------------------------------------------------ permissions

def test_socket_mode_and_removed_on_exit():
    with Echod() as d:
        st = os.lstat(d.control)
        check(stat.S_ISSOCK(st.st_mode), "not a socket")
        check(stat.S_IMODE(st.st_mode) == 0o660, "mode %o" % stat.S_IMODE(st.st_mode))
        d.stop()
        check(not os.path.exists(d.control), "socket file left after exit")
    with Echod(ini={"control": {"mode": "0600"}}) as d:
        check(stat.S_IMODE(os.lstat(d.control).st_mode) == 0o600, "mode 0600")


def test_nobody_may_ask_status_but_not_reload():
    who = nobody()
    with Echod(ini={"control": {"mode": "0666"}}) as d:
        os.chmod(d.tmp, 0o755)
        reply = as_user(who, request_fn(d.control, "STATUS"))
        check(reply.startswith("{") and json.loads(reply)["pid"] == d.pid,
              "nobody's STATUS: %r" % reply)
        since = d.log_size()
        reply = as_user(who, request_fn(d.control, "RELOAD"))
        check(reply.startswith("ERR permission denied"), "nobody's RELOAD: %r" % reply)
        check("reloaded" not in d.log(since), "nobody reloaded echod")
        d.wait_log(r"RELOAD from uid %d .*refused" % who.pw_uid, since=since)
        # chatctl says so and exits 1; status works for nobody too.
        r = chatctl("reload", "-s", d.control, user=who)
        check(r.returncode == 1 and "permission denied" in r.stderr,
              "chatctl reload as nobody: %d %r" % (r.returncode, r.stderr))
        r = chatctl("status", "-s", d.control, user=who)
        check(r.returncode == 0 and "127.0.0.1:%d" % d.port in r.stdout,
              "chatctl status as nobody: %d %r %r" % (r.returncode, r.stdout, r.stderr))
        # Root may.
        check(d.control_request("RELOAD") == "OK\n", "root's RELOAD")


def test_mode_0660_keeps_others_out():
    who = nobody()
    with Echod() as d:
        os.chmod(d.tmp, 0o755)
        reply = as_user(who, request_fn(d.control, "STATUS"))
        check(reply.startswith("EXC PermissionError"), "nobody connected: %r" % reply)


class EchodAs(Echod):
    """An echod that drops to user's uid and gid before exec."""

    def __init__(self, user, **kw):
        self.user = user
        super().__init__(preexec_fn=self._drop, **kw)

    def _drop(self):
        os.setgroups([])
        os.setgid(self.user.pw_gid)
        os.setuid(self.user.pw_uid)

    def _start(self, wait_ready):
        # Its INI must be readable and its socket makeable by user, its
        # programs reachable.
        os.chmod(self.tmp, 0o777 | stat.S_ISVTX)
        os.chmod(self.ini, 0o644)
        self.binary = reachable_copy(self.binary)
        super()._start(wait_ready)


def test_group_member_may_reload():
    """echod running as nobody:nogroup: a process whose primary group is
    echod's may reload, another user may not."""
    who = nobody()
    try:
        daemon = pwd.getpwnam("daemon")
    except KeyError:
        raise Skip("no user daemon")
    with EchodAs(who, ini={"control": {"mode": "0666"}}) as d:
        check(os.lstat(d.control).st_uid == who.pw_uid, "socket not owned by nobody")
        groupmate = pwd.struct_passwd((daemon.pw_name, "x", daemon.pw_uid, who.pw_gid,
                                       "", "/", "/bin/sh"))
        reply = as_user(groupmate, request_fn(d.control, "RELOAD"))
        check(reply == "OK\n", "group member's RELOAD: %r" % reply)
        d.wait_log(r"RELOAD from uid %d" % daemon.pw_uid)
        reply = as_user(daemon, request_fn(d.control, "RELOAD"))
        check(reply.startswith("ERR permission denied"), "daemon's RELOAD: %r" % reply)
        # echod's own user may, of course.
        reply = as_user(who, request_fn(d.control, "RELOAD"))
        check(reply == "OK\n", "echod's own user's RELOAD: %r" % reply)


# ------------------------------------------------------- bounded clients

def test_silent_clients_never_stall_accepting():
    with Echod() as d:
        silent = []
        try:
            t0 = time.monotonic()
            for _ in range(20):  # more than CONTROL_MAX_CLIENTS (8)
                s = socket.socket(socket.AF_UNIX)
                s.setblocking(False)
                try:
                    s.connect(d.control)
                except BlockingIOError:
                    pass  # the backlog is full: fine
                silent.append(s)
            # TCP accepting goes on at once.
            for i in range(5):
                check(echo_roundtrip(d.port, b"ping %d" % i) == b"ping %d" % i,
                      "echo while control clients are silent")
            check(time.monotonic() - t0 < 1.5, "echo was held up by silent clients")
            # The silent ones are dropped after their deadline (2 s) ...
            first = silent[0]
            first.setblocking(True)
            first.settimeout(5)
            check(first.recv(10) == b"", "a silent client got a reply")
            check(time.monotonic() - t0 < 4, "silent client kept too long")
            # ... so a real request is answered once their turn is over.
            st = status(d)
            check(st["pid"] == d.pid, "STATUS after silent clients")
            check(time.monotonic() - t0 < 12, "STATUS waited %.1fs" % (time.monotonic() - t0))
        finally:
            for s in silent:
                s.close()
        # Nothing leaked: fds back to a handful.
        wait_for(lambda: d.fds() < 30, 10, what="control fds closed")


def test_client_that_never_reads_is_dropped():
    with Echod() as d:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(d.control)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            s.sendall(b"STATUS\n")
            time.sleep(0.2)
        check(status(d)["pid"] == d.pid, "STATUS after a non-reading client")


# ---------------------------------------------------------- socket file

def test_stale_socket_is_replaced():
    path = os.path.join(tempfile.mkdtemp(prefix="echodtest."), "stale.sock")
    make_stale_socket(path)
    with Echod(ini={"control": {"socket": path}}) as d:
        d.wait_log(r"removed stale socket")
        check(status(d)["pid"] == d.pid, "STATUS on the replaced socket")


def test_live_socket_is_not_stolen():
    with Echod() as a:
        with Echod(ini={"control": {"socket": a.control}}) as b:
            b.wait_log(r"in use by process %d" % a.pid)
            check(echo_roundtrip(b.port, b"b serves") == b"b serves", "b serves anyway")
            check(status(a)["pid"] == a.pid, "a lost its socket")
            b.stop()
        check(os.path.exists(a.control), "b removed a's socket on exit")
        check(status(a)["pid"] == a.pid, "a's socket after b left")


def test_something_else_at_the_path_is_left_alone():
    path = os.path.join(tempfile.mkdtemp(prefix="echodtest."), "notasocket")
    with open(path, "w") as f:
        f.write("precious\n")
    with Echod(ini={"control": {"socket": path}}) as d:
        d.wait_log(r"not a socket; leaving it alone")
        check(echo_roundtrip(d.port, b"x") == b"x", "echod serves without control")
    with open(path) as f:
        check(f.read() == "precious\n", "the file was touched")


def test_missing_directory_is_created_one_level_only():
    tmp = tempfile.mkdtemp(prefix="echodtest.")
    one = os.path.join(tmp, "run", "control.sock")
    with Echod(ini={"control": {"socket": one}}) as d:
        st = os.stat(os.path.dirname(one))
        check(stat.S_IMODE(st.st_mode) == 0o755, "dir mode %o" % stat.S_IMODE(st.st_mode))
        check(status(d)["pid"] == d.pid, "STATUS in the created directory")
    two = os.path.join(tmp, "a", "b", "control.sock")
    with Echod(ini={"control": {"socket": two}}) as d:
        d.wait_log(r"going on without a control socket")
        check(not os.path.exists(os.path.dirname(two)), "made two levels")


def test_unsafe_directory_is_refused():
    unsafe = os.path.join(tempfile.mkdtemp(prefix="echodtest."), "open")
    os.mkdir(unsafe)
    os.chmod(unsafe, 0o777)
    path = os.path.join(unsafe, "control.sock")
    with Echod(ini={"control": {"socket": path}}) as d:
        d.wait_log(r"writable by others")
        check(not os.path.exists(path), "socket made in a world-writable directory")
    # Sticky, like /tmp: allowed.
    os.chmod(unsafe, 0o777 | stat.S_ISVTX)
    with Echod(ini={"control": {"socket": path}}) as d:
        check(status(d)["pid"] == d.pid, "STATUS in a sticky directory")


def test_reload_moves_the_socket_and_changes_its_mode():
    with Echod() as d:
        old = d.control
        new = os.path.join(d.tmp, "moved.sock")
        d.sections["control"]["socket"] = new
        d.sections["control"]["mode"] = "0600"
        d.write_ini(d.sections)
        check(d.control_request("RELOAD") == "OK\n", "RELOAD")
        wait_for(lambda: os.path.exists(new), 5, what="the new socket")
        check(not os.path.exists(old), "old socket left behind")
        check(stat.S_IMODE(os.lstat(new).st_mode) == 0o600, "mode of the moved socket")
        d.control = new
        check(status(d)["pid"] == d.pid, "STATUS on the moved socket")
        d.sections["control"]["mode"] = "0640"
        d.write_ini(d.sections)
        d.reload()  # SIGHUP follows [control] too
        wait_for(lambda: stat.S_IMODE(os.lstat(new).st_mode) == 0o640, 5,
                 what="mode 0640 after SIGHUP")


# -------------------------------------------------------------- chatctl

def test_chatctl_status_human_and_json():
    with Echod() as d:
        echo_roundtrip(d.port, b"abc")
        r = chatctl("status", "-s", d.control)
        check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        out = r.stdout
        for want in ("echod ", "pid %d" % d.pid, "up ", "127.0.0.1:%d" % d.port,
                     "live", "echo", "chat", "served", "refused", "max_connections 1024",
                     "data plane:   engine pid %d, running, 0 restarts" % d.engine(), d.ini,
                     "\n  cluster:      off (one host)\n"):
            check(want in out, "status output lacks %r:\n%s" % (want, out))
        check("\x1b" not in out, "escape sequences in the output")
        r = chatctl("status", "--json", "-s", d.control)
        check(r.returncode == 0 and r.stdout.count("\n") == 1, "--json: %r" % r.stdout)
        st = json.loads(r.stdout)
        check(list(st) == STATUS_FIELDS and st["pid"] == d.pid, "--json fields")
        r = chatctl("status", "--socket=%s" % d.control, "--json")
        check(r.returncode == 0 and json.loads(r.stdout)["pid"] == d.pid, "--socket=")


def serve_once(path, reply):
    """A control socket at path that answers one request with reply."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10)

    def run():
        try:
            c, _ = srv.accept()
            with c:
                c.settimeout(5)
                c.recv(256)
                c.sendall(reply)
        except OSError:
            pass
        finally:
            srv.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_chatctl_status_without_cluster_and_with_one():
    # An echod from before the cluster sends no "cluster": chatctl still
    # shows the rest, and no cluster line; a cluster that is up is shown.
    with Echod() as d:
        st = status(d)
    tmp = tempfile.mkdtemp(prefix="echodtest.")
    cases = [(None, None),
             ({"state": "up", "node": "n1", "nodes": 2, "members": 7, "rooms": 3},
              "\n  cluster:      node n1, redis up; 2 nodes, 7 members in 3 rooms "
              "across nodes\n"),
             ({"state": "down", "node": "n1", "nodes": 1, "members": 0, "rooms": 0},
              "\n  cluster:      node n1, redis down (chat refused until it is back)\n")]
    for i, (cluster, want) in enumerate(cases):
        st.pop("cluster", None)
        if cluster is not None:
            keys = list(st)
            st = {k: st[k] for k in keys[:-1]} | {"cluster": cluster, "limits": st["limits"]}
        path = os.path.join(tmp, "c%d.sock" % i)
        t = serve_once(path, (json.dumps(st) + "\n").encode())
        r = chatctl("status", "-s", path)
        t.join(10)
        check(r.returncode == 0, "cluster %r: exit %d: %s" % (cluster, r.returncode, r.stderr))
        check("max_connections" in r.stdout, "no limits shown:\n%s" % r.stdout)
        if want is None:
            check("cluster" not in r.stdout, "a cluster line from an older echod:\n%s" % r.stdout)
        else:
            check(want in r.stdout, "status output lacks %r:\n%s" % (want, r.stdout))


def test_chatctl_reload_ok_and_failure():
    with Echod() as d:
        r = chatctl("reload", "-s", d.control)
        check(r.returncode == 0 and "reloaded" in r.stdout, "reload: %r" % (r,))
        d.write_ini(raw="[server]\nport = 70000\n")
        r = chatctl("reload", "-s", d.control)
        check(r.returncode == 1, "broken file: exit %d" % r.returncode)
        check(r.stderr.startswith("chatctl: reload: failed: ") and "70000" in r.stderr and ":2:" in r.stderr,
              "stderr %r" % r.stderr)
        check(echo_roundtrip(d.port, b"ok") == b"ok", "old config serves")


def test_chatctl_errors_and_usage():
    tmp = tempfile.mkdtemp(prefix="echodtest.")
    missing = os.path.join(tmp, "missing.sock")
    r = chatctl("status", "-s", missing)
    check(r.returncode == 3 and r.stderr == "chatctl: status: %s: No such file or directory "
          "(is echod running?)\n" % missing, "missing socket: %d %r" % (r.returncode, r.stderr))
    r = chatctl("reload", "-s", missing)
    check(r.returncode == 3, "reload on a missing socket: %d" % r.returncode)
    r = chatctl("status", "--bogus")
    check(r.returncode == 2 and "usage:" in r.stderr, "bad option: %d %r" % (r.returncode, r.stderr))
    r = chatctl("reload", "--json")
    check(r.returncode == 2, "reload --json: %d" % r.returncode)
    r = chatctl("status", "-s")
    check(r.returncode == 2, "-s without a path: %d" % r.returncode)
    r = chatctl("status", "--help")
    check(r.returncode == 0 and "usage: chatctl status" in r.stdout, "--help")
    # A server that is not echod: a reply that is not JSON, one that lacks
    # members; neither reaches the terminal raw.
    path = os.path.join(tmp, "fake.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(2)
    replies = [b"\x1b[2Jhello\n", b'{"pid":1,"version":"\\u001b[2J"}\n']

    def fake():
        for reply in replies:
            c, _ = srv.accept()
            c.recv(100)
            c.sendall(reply)
            c.close()
    t = threading.Thread(target=fake)
    t.start()
    r = chatctl("status", "-s", path)
    r2 = chatctl("status", "--json", "-s", path)
    t.join(5)
    srv.close()
    check(r.returncode == 1 and "not a STATUS reply" in r.stderr and "\x1b" not in r.stderr,
          "fake server: %r" % (r,))
    check(r2.returncode == 1 and r2.stdout == "" and
          "the reply lacks uptime_s, config, listen" in r2.stderr, "fake server: %r" % (r2,))
