# SPDX-License-Identifier: GPL-3.0-or-later
"""echod's command line: -t, -V, -h, bad options, config errors at start."""

import os
import shutil
import subprocess
import tempfile

from echodtest import ECHOD, ROOT, Skip, check, free_port


def run(*args, input_text=None):
    p = subprocess.run([ECHOD] + list(args), capture_output=True, text=True, timeout=10)
    return p.returncode, p.stdout, p.stderr


def ini(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False)
    f.write(text)
    f.close()
    return f.name


def test_check_shipped_config():
    rc, out, err = run("-t", "-c", os.path.join(ROOT, "conf", "echod.ini"))
    check(rc == 0, "conf/echod.ini rejected: %s" % err)
    check(out.strip().endswith(": ok"), "no ok line: %r" % out)


def test_check_lists_every_problem():
    path = ini("[server]\nport = 70000\nbacklog = x\n[chat]\nmax_line = 1\n[nope]\n")
    rc, out, err = run("-t", "-c", path)
    check(rc == 1, "exit status %d" % rc)
    want = ["%s:2: port: 70000 is not between 1 and 65535" % path,
            "%s:3: backlog: \"x\" is not a number" % path,
            "%s:5: max_line: 1 is not between 64 and 65536" % path,
            "%s:6: [nope]: unknown section" % path,
            "%s: 4 problems" % path]
    for w in want:
        check(w in err, "missing %r in:\n%s" % (w, err))


def test_check_config_abuse():
    cases = {
        "empty": ("", 0),
        "garbage": ("\x00\x01\x02\xff\xfe binary\n\x7f[[[\n", 1),
        "long line": ("[server]\nbind = " + "a" * 1000000 + "\n", 1),
        "duplicate": ("[server]\nport = 1\nport = 2\n", 1),
        "negative port": ("[server]\nport = -1\n", 1),
        "huge port": ("[server]\nport = 99999999999\n", 1),
    }
    for name, (text, want) in cases.items():
        rc, out, err = run("-t", "-c", ini(text))
        check(rc == want, "%s: exit %d, want %d (%s)" % (name, rc, want, err[:200]))
        if want:
            check(err.count("\n") < 50, "%s: error output is a flood" % name)


def test_check_unresolvable_bind():
    rc, out, err = run("-t", "-c", ini("[server]\nbind = no-such-host.invalid\n"))
    check(rc == 1 and "no-such-host.invalid" in err, "unresolvable bind passed: %r" % err)


def test_missing_explicit_file_is_an_error():
    rc, out, err = run("-t", "-c", "/nonexistent/echod.ini")
    check(rc == 1, "exit %d" % rc)
    check("/nonexistent/echod.ini: cannot open: No such file or directory" in err, err)
    # The daemon refuses to start too.
    rc, out, err = run("-d", "-c", "/nonexistent/echod.ini")
    check(rc == 1 and "cannot open" in err, "started without its -c file: %s" % err)


def test_bad_config_refuses_to_start():
    path = ini("[server]\nport = 0\n")
    rc, out, err = run("-d", "-c", path)
    check(rc == 1, "exit status %d" % rc)
    check("%s:2: port: 0 is not between 1 and 65535" % path in err, err)
    check("not starting" in err, err)


def test_version_help_and_usage():
    rc, out, _ = run("-V")
    check(rc == 0 and out.startswith("echod "), "-V: %r" % out)
    rc, out, _ = run("-h")
    check(rc == 0 and "usage: echod" in out, "-h: %r" % out)
    rc, _, err = run("-x")
    check(rc == 2 and "usage: echod" in err, "-x: %d %r" % (rc, err))
    rc, _, err = run("extra")
    check(rc == 2 and "unexpected argument" in err, "extra arg: %r" % err)
    # Long options too.
    rc, out, _ = run("--version")
    check(rc == 0 and out.startswith("echod "), "--version: %r" % out)
    rc, out, _ = run("--help")
    check(rc == 0 and "--config FILE" in out and "echod(8)" in out, "--help: %r" % out)


def test_missing_engine_is_a_clear_error():
    """echod without its data plane (echod-engine next to it, or where make
    install put it): it says which program it could not run, and exits."""
    if os.path.exists("/usr/local/lib/echod/echod-engine"):
        raise Skip("an installed engine in /usr/local/lib/echod would be found")
    tmp = tempfile.mkdtemp(prefix="noengine.")
    lone = os.path.join(tmp, "echod")
    shutil.copy2(ECHOD, lone)
    conf = ini("[server]\nbind = 127.0.0.1\nport = %d\n[control]\nsocket = %s\n"
               % (free_port(), os.path.join(tmp, "ctl.sock")))
    r = subprocess.run([lone, "-d", "-c", conf], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    check(r.returncode == 1, "exit %d without an engine: %s" % (r.returncode, r.stderr))
    check("cannot run the data plane /usr/local/lib/echod/echod-engine: "
          "No such file or directory" in r.stderr, r.stderr)
    check("ready" not in r.stderr, "said ready without an engine: %s" % r.stderr)
