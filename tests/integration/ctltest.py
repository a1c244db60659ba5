# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for chatctl's integration tests: a tmux terminal to drive
`chatctl talk` as a person would, a raw CHAT/1 client to be the other
person, and chatctl run through pipes. Python 3 standard library only.
"""

import itertools
import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time

from echodtest import CHATCTL, Skip, TestFailure, wait_for

_serial = itertools.count()


class Tmux:
    """A private tmux server (-L) with one window running bash.

    Always use as a context manager: the tmux server is killed on exit,
    and with it whatever still runs in the window.
    """

    def __init__(self, width=100, height=30, env=None):
        if shutil.which("tmux") is None:
            raise Skip("tmux is not installed")
        self.sock = "chatctl-test-%d-%d" % (os.getpid(), next(_serial))
        self.path = ""
        self.width, self.height = width, height
        envs = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "INPUTRC": "/dev/null",
                "PS1": "$ ", "HISTFILE": "/dev/null"}
        envs.update(env or {})
        args = ["new-session", "-d", "-x", str(width), "-y", str(height)]
        for k, v in envs.items():
            args += ["-e", "%s=%s" % (k, v)]
        # NO_COLOR from the caller's environment must not leak in.
        try:
            self.tmux(*args, "env -u NO_COLOR bash --norc --noprofile"
                      if "NO_COLOR" not in envs else "bash --norc --noprofile")
            # kill-server leaves the socket file behind: remember it.
            self.path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        except BaseException:
            self.close()
            raise

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + list(args),
                              check=True, capture_output=True, text=True,
                              timeout=10).stdout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"],
                       capture_output=True, timeout=10)
        if self.path.startswith("/") and os.path.basename(self.path) == self.sock:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def keys(self, *keys):
        """tmux key names: "Enter", "C-c", "C-d"."""
        self.tmux("send-keys", "-t", "0", *keys)

    def type(self, text):
        """Literal text, as typed (no key names)."""
        self.tmux("send-keys", "-t", "0", "-l", text)

    def run(self, command):
        """Type a shell command and Enter."""
        self.type(command)
        self.keys("Enter")

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", "0"] + (["-e"] if escapes else [])
        return self.tmux(*args)

    def lines(self):
        return [line.rstrip() for line in self.screen().split("\n")]

    def wait(self, pattern, timeout=10.0, what=None):
        """Wait until the screen matches the regex; returns the match."""
        rx = re.compile(pattern, re.M)
        try:
            return wait_for(lambda: rx.search(self.screen()), timeout,
                            what=what or repr(pattern))
        except TestFailure as e:
            raise TestFailure("%s; screen:\n%s" % (e, self.screen()))

    def resize(self, width, height):
        self.tmux("resize-window", "-t", "0", "-x", str(width), "-y", str(height))

    def talk(self, port, *args, host="127.0.0.1", after=""):
        """Start chatctl talk in the window; when it ends the shell prints
        EXIT=<status> and the terminal's icanon/echo flags."""
        cmd = "clear; %s talk %s:%d %s; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' " \
              "| grep -x -- '-\\?icanon\\|-\\?echo' | tr '\\n' ' '; echo%s" % (
                  CHATCTL, host, port, " ".join(args), after)
        self.run(cmd)

    def wait_exit(self, timeout=10.0):
        m = self.wait(r"^EXIT=(\d+)", timeout, what="chatctl to exit")
        return int(m.group(1))


class Client:
    """A raw CHAT/1 client: the other person in the room."""

    def __init__(self, port, nick, room=None, host="127.0.0.1", greet=True):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""
        self.nick = nick
        if greet:
            self.send("CHAT/1 %s%s" % (nick, " " + room if room else ""))
            self.expect(r"^OK ")

    def send(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.sock.sendall(line + b"\n")

    def line(self, timeout=10.0):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise TestFailure("%s: connection closed" % self.nick)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def expect(self, pattern, timeout=10.0):
        """Read lines until one matches; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: no line matching %r; got %r" % (self.nick, pattern, seen))
            try:
                line = self.line(left)
            except socket.timeout:
                continue
            seen.append(line)
            m = rx.search(line)
            if m:
                return m

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Piped:
    """chatctl with stdin and stdout as pipes (non-terminal mode).

    stdout lines are collected by a thread; stdin stays open until
    close_stdin(). Always use as a context manager.
    """

    def __init__(self, *args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([CHATCTL] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=e)
        self.out = queue.Queue()
        self.raw = bytearray()
        self.seen = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.raw += line
            self.out.put(line)
        self.out.put(None)

    def send(self, text):
        self.proc.stdin.write(text.encode() if isinstance(text, str) else text)
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def expect(self, pattern, timeout=10.0):
        """Wait for a stdout line matching the regex; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.out.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = b""
                if left <= 0:
                    raise TestFailure("no output line matching %r; got %r" % (pattern, self.seen))
                continue
            if line is None:
                raise TestFailure("EOF before a line matching %r; got %r; stderr %r" % (
                    pattern, self.seen, self.proc.stderr.read()))
            text = line.decode("utf-8", "replace").rstrip("\n")
            self.seen.append(text)
            m = rx.search(text)
            if m:
                return m

    def wait(self, timeout=15.0):
        """Exit status, stdout (all of it, bytes) and stderr (text)."""
        rc = self.proc.wait(timeout)
        self.reader.join(5)
        err = self.proc.stderr.read().decode("utf-8", "replace")
        return rc, bytes(self.raw), err

    def pid(self):
        return self.proc.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        return False


def run_chatctl(*args, timeout=30, env=None, input_bytes=None):
    """Run chatctl to its end: (status, stdout, stderr) as text."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([CHATCTL] + list(args), capture_output=True, timeout=timeout,
                       env=e, input=input_bytes,
                       stdin=None if input_bytes is not None else subprocess.DEVNULL)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))
