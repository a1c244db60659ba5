# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault: abusive configuration files on reload. (At start-up and with -t
the same files are covered by tests/integration/test_cli.py and
test_supervisor.py; the unbindable address on reload by
test_supervisor.test_sighup_to_unbindable_address_keeps_old_listener.)

Each bad file must be refused with a clear, line-numbered error, and the
running configuration must stay whole: same port, same limits, live
connections untouched, nothing from the bad file half-applied."""

import os
import re
import time

from echodtest import Echod, check, connect, echo_roundtrip, recv_exactly

CASES = {
    "binary garbage": (b"\x00\x01\x02\xff\xfe binary\n\x7f[[[\n", r":1: line contains a NUL"),
    "1 MB line": (b"[server]\nbind = " + b"a" * (1 << 20) + b"\n", r":2: line is too long"),
    "duplicate keys": (b"[server]\nport = 1\nport = 2\n", r":3: port: duplicate key"),
    "port = -1": (b"[server]\nport = -1\n", r":2: port: "),
    "port = 99999999999": (b"[server]\nport = 99999999999\n", r":2: port: "),
    "too large": (b"; padding\n" * (500 << 10), r"file is too large"),
    # Valid lines before the bad one must not be applied.
    "half good": (b"[server]\nidle_timeout = 1\nmax_per_source = 1\nport = 0\n", r":4: port: "),
}


def test_bad_files_on_reload_keep_the_running_config():
    with Echod() as d, connect(d.port) as live:
        for name, (text, want) in CASES.items():
            with open(d.ini, "wb") as f:
                f.write(text)
            out = d.reload(expect_ok=False)
            check(d.alive(), "%s: echod died on reload" % name)
            check(re.search(want, out), "%s: no clear error (%r) in: %s" % (name, want, out[-400:]))
            check(len(out) < 20000, "%s: error output is a flood (%d bytes)" % (name, len(out)))
            live.sendall(b"%s\n" % name.encode())
            check(recv_exactly(live, len(name) + 1) == b"%s\n" % name.encode(),
                  "%s: live connection broken" % name)
        # "half good" set idle_timeout = 1 and max_per_source = 1 before
        # its bad line: neither may be in force.
        others = [connect(d.port) for _ in range(2)]
        time.sleep(1.5)
        for i, s in enumerate(others):
            s.sendall(b"still %d\n" % i)
            check(recv_exactly(s, 8) == b"still %d\n" % i,
                  "a setting from a refused file was applied")
            s.close()


def test_missing_or_directory_file_on_reload():
    with Echod() as d:
        os.unlink(d.ini)
        out = d.reload(expect_ok=False)
        check("No such file or directory" in out, "missing file: %s" % out[-300:])
        os.mkdir(d.ini)
        out = d.reload(expect_ok=False)
        check("not a regular file" in out, "directory: %s" % out[-300:])
        os.rmdir(d.ini)
        d.write_ini(d.sections)
        d.reload()
        check(echo_roundtrip(d.port, b"fine") == b"fine", "not serving after the file is back")
