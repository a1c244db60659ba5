# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: fork() fails. echod runs as nobody under RLIMIT_NPROC, so once
the hub and a few workers exist, forking a worker fails with EAGAIN. The
connection that could not get a worker is closed and counted, the
engine lives on, and clients are served again once a worker exits."""

import os
import pwd
import resource
import socket
import subprocess

from echodtest import (SANITIZE, Echod, Skip, check, connect, echo_roundtrip,
                       recv_exactly, recv_until_eof, wait_for)

WORKERS = 3


def nobody_processes():
    uid = pwd.getpwnam("nobody").pw_uid
    n = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.stat("/proc/" + p).st_uid == uid:
                    n += 1
            except FileNotFoundError:
                pass
    return n


def refused(s):
    try:
        s.sendall(b"x")
        return recv_until_eof(s, timeout=5) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_fork_failure_closes_and_counts_the_connection():
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    others = nobody_processes()
    # The control plane and its journal writer thread (RLIMIT_NPROC counts
    # threads), the engine, the hub and WORKERS workers; nothing more.
    limit = others + 4 + WORKERS
    env = None
    if SANITIZE:
        # LeakSanitizer's exit-time check forks a tracer task, which the
        # same limit would refuse: no leak checks in this one test.
        env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"}
    with Echod(ini={"server": {"spares": "0"}}, user="nobody", env=env,
               rlimits={resource.RLIMIT_NPROC: (limit, limit)}) as d:
        wait_for(lambda: d.children_by_comm("echod-hub"), 5, what="the hub")
        held = []
        for i in range(WORKERS):
            s = connect(d.port)
            s.sendall(b"held %d\n" % i)
            check(recv_exactly(s, 7) == b"held %d\n" % i, "held client %d not served" % i)
            held.append(s)
        since = d.log_size()
        extra = connect(d.port)
        check(refused(extra), "a connection beyond RLIMIT_NPROC was served")
        extra.close()
        d.wait_log(r"cannot fork a worker for 127\.0\.0\.1:\d+: Resource temporarily "
                   r"unavailable; closing it", since=since)
        check(d.alive(), "echod died when fork failed")
        st = d.status()
        if st is not None:
            check(st["rejected_total"] >= 1, "refusal not counted: %s" % st)
            check(st["workers"] == WORKERS, "STATUS workers %s, want %d" % (st["workers"], WORKERS))
        for s in held:  # the held clients are untouched
            s.sendall(b"still\n")
            check(recv_exactly(s, 6) == b"still\n", "a held client was hurt")
        # A worker exits: forking works again.
        held.pop().close()
        wait_for(lambda: len(d.workers()) == WORKERS - 1, 10, what="a worker to exit")
        got = None
        for _ in range(20):  # fork backoff: a retry or two may be refused
            try:
                got = echo_roundtrip(d.port, b"again\n", timeout=5)
                if got == b"again\n":
                    break
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                pass
        check(got == b"again\n", "not serving after a worker freed a process slot")
        for s in held:
            s.close()
        wait_for(lambda: not d.zombies(), 5, what="no zombie")
