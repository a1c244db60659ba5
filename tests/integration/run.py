#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run echod's integration tests.

Discovers tests/integration/test_*.py (and any directory given with --dir),
runs every function named test_* in each, one at a time, each under a
timeout, and prints one line per test:

    PASS test_echo.test_one_mib_random (0.41s)
    FAIL test_echo.test_x (2.00s): what went wrong
    SKIP test_x.test_y: why

and last a machine-readable line: RESULT passed=N failed=N skipped=N.
A test's own timeout: a module-level TIMEOUTS = {"test_name": seconds}.

With SANITIZE=1 in the environment (make check SANITIZE=1), every test
runs with ASAN_OPTIONS and UBSAN_OPTIONS sending reports to files in a
directory of its own; a test after which any report file exists fails,
whatever it asserted, and the report is printed (LeakSanitizer's lone note
that the process it was checking got killed mid-check, by a kill -9 test,
is not a report). Leaks count: echod's
children run a leak check before _exit in those builds.

usage: run.py [-k SUBSTRING] [--dir DIR ...] [-v]
"""

import argparse
import glob
import importlib.util
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import echodtest  # noqa: E402

DEFAULT_TIMEOUT = 60


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


SANITIZE = os.environ.get("SANITIZE") == "1"
BASE_ASAN = os.environ.get("ASAN_OPTIONS", "")
BASE_UBSAN = os.environ.get("UBSAN_OPTIONS", "")


def sanitizer_dir_for(full):
    """A fresh, world-writable report directory for one test (tests may
    run echod as nobody), named in ASAN_OPTIONS/UBSAN_OPTIONS of every
    process the test starts."""
    d = tempfile.mkdtemp(prefix="echod-san.%s." % full)
    os.chmod(d, 0o1777)
    common = "log_path=%s/report:print_summary=1" % d
    os.environ["ASAN_OPTIONS"] = ":".join(
        x for x in (BASE_ASAN, common, "detect_leaks=1") if x)
    os.environ["UBSAN_OPTIONS"] = ":".join(
        x for x in (BASE_UBSAN, common, "print_stacktrace=1", "halt_on_error=1") if x)
    return d


# What LeakSanitizer prints, and nothing else, when the process it checks
# is killed (kill -9 in a fault test) in the middle of its exit-time check:
# not a finding about echod.
BENIGN = re.compile(r"^==\d+==Unable to get registers from thread \d+\.$")


def is_report(path):
    with open(path, errors="replace") as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    return any(not BENIGN.match(ln) for ln in lines)


def sanitizer_reports(d, settle=0.1):
    """Report files left in d; waits briefly for late writers (children
    still finishing their exit-time leak check)."""
    deadline = time.monotonic() + settle
    while True:
        found = sorted(f for f in glob.glob(os.path.join(d, "report*")) if is_report(f))
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def describe_reports(files, limit=4000):
    out = []
    for f in files:
        with open(f, errors="replace") as fh:
            out.append("---- %s\n%s" % (os.path.basename(f), fh.read()))
    text = "\n".join(out)
    return text[:limit] + ("\n[...]" if len(text) > limit else "")


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return name, mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[],
                    help="run only tests whose name contains this")
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("-v", action="store_true", help="tracebacks on failure")
    args = ap.parse_args()

    dirs = args.dir or [HERE]
    files = sorted(f for d in dirs for f in glob.glob(os.path.join(d, "test_*.py")))
    passed = failed = skipped = 0
    signal.signal(signal.SIGALRM, on_alarm)
    for path in files:
        sys.path.insert(0, os.path.dirname(path))
        try:
            mname, mod = load(path)
        except Exception as e:  # a broken test file is a failure, not a crash
            print("FAIL %s: cannot load: %s" % (path, e), flush=True)
            failed += 1
            continue
        timeouts = getattr(mod, "TIMEOUTS", {})
        names = [n for n in dir(mod) if n.startswith("test_") and callable(getattr(mod, n))]
        names.sort(key=lambda n: getattr(mod, n).__code__.co_firstlineno)
        for n in names:
            full = "%s.%s" % (mname, n)
            if args.k and not any(k in full for k in args.k):
                continue
            t0 = time.monotonic()
            sandir = sanitizer_dir_for(full) if SANITIZE else None
            reported = False
            signal.alarm(timeouts.get(n, DEFAULT_TIMEOUT))
            try:
                getattr(mod, n)()
                signal.alarm(0)
                reports = sanitizer_reports(sandir) if sandir else []
                if reports:
                    reported = True
                    raise echodtest.TestFailure(
                        "%d sanitizer report(s):\n%s" % (len(reports), describe_reports(reports)))
                passed += 1
                print("PASS %s (%.2fs)" % (full, time.monotonic() - t0), flush=True)
            except echodtest.Skip as e:
                signal.alarm(0)
                skipped += 1
                print("SKIP %s: %s" % (full, e), flush=True)
            except Timeout:
                failed += 1
                print("FAIL %s (%.2fs): test timed out" % (full, time.monotonic() - t0),
                      flush=True)
            except BaseException as e:  # noqa: B902 - report everything
                signal.alarm(0)
                if isinstance(e, KeyboardInterrupt):
                    raise
                failed += 1
                msg = str(e) or e.__class__.__name__
                if not isinstance(e, AssertionError):
                    msg = "%s: %s" % (e.__class__.__name__, msg)
                print("FAIL %s (%.2fs): %s" % (full, time.monotonic() - t0, msg), flush=True)
                if args.v or not isinstance(e, AssertionError):
                    traceback.print_exc(limit=6, file=sys.stdout)
                if sandir and not reported:
                    reports = sanitizer_reports(sandir, settle=0)
                    if reports:
                        print(describe_reports(reports), flush=True)
            finally:
                signal.alarm(0)
                if sandir:
                    shutil.rmtree(sandir, ignore_errors=True)
    print("RESULT passed=%d failed=%d skipped=%d" % (passed, failed, skipped), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
