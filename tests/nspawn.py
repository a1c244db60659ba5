# SPDX-License-Identifier: GPL-3.0-or-later
"""A system booted with systemd-nspawn, for the suites that test echod
under a real systemd (tests/systemd: the host's own /usr; tests/package: a
debootstrapped Debian 12), and the PASS/FAIL/SKIP lines those suites print
(tests/run's format: a last line `RESULT passed=N failed=N skipped=N`).

Commands run inside with `nsenter -t <the container's systemd> -a`. Every
wait is bounded; poweroff() ends the container on every exit path, and the
nspawn process gets SIGTERM if the script dies without a finally."""

import ctypes
import os
import random
import shutil
import signal
import subprocess
import time

BOOT_TIMEOUT = 120


class Fail(AssertionError):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Fail("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def oneline(text, n=3):
    """The last n lines of text on one line, for a SKIP reason."""
    return " | ".join(ln.strip() for ln in text.strip().splitlines()[-n:])


def in_container():
    """The kind of container this script runs in (systemd-detect-virt's
    word), or None."""
    if os.path.exists("/run/systemd/container"):
        with open("/run/systemd/container") as f:
            return f.read().strip() or "yes"
    if shutil.which("systemd-detect-virt"):
        r = subprocess.run(["systemd-detect-virt", "--container"], capture_output=True,
                           text=True, timeout=10, stdin=subprocess.DEVNULL)
        if r.returncode == 0:
            return r.stdout.strip()
    return None


def die_with_parent():
    """In the nspawn child: if the script is killed outright (no finally),
    nspawn gets SIGTERM and shuts the container down."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def children(pid):
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


class Booted:
    """nspawn_args: how to make the container (everything but -M, --boot
    and what follows it). A boot that does not come up raises boot_error
    (Fail where booting is what is tested, Skip where it is only the
    means)."""

    def __init__(self, prefix, nspawn_args, workdir, boot_error=Fail):
        self.name = "%s-%d-%04x" % (prefix, os.getpid(), random.getrandbits(16))
        self.nspawn_args = nspawn_args
        self.console = os.path.join(workdir, "console.log")
        self.boot_error = boot_error
        self.proc = None
        self.pid = None
        self.logf = None

    def nspawn(self, name, extra):
        return (["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "-M", name] +
                self.nspawn_args + extra)

    def probe(self, why=""):
        """Can nspawn run a trivial container here at all? Skip if not."""
        try:
            r = subprocess.run(self.nspawn(self.name + "p", ["--pipe", "/bin/true"]),
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=60)
            said = oneline(r.stdout + r.stderr) if r.returncode != 0 else None
        except subprocess.TimeoutExpired:
            said = "timed out"
        if said:
            raise Skip("systemd-nspawn cannot run here%s: %s" % (why, said))

    def boot(self, extra, kernel_args=("systemd.firstboot=off",)):
        """Boots and waits for is-system-running; returns its state."""
        def err(what, detail):
            # A SKIP's reason is one line; a FAIL shows the whole tail.
            if self.boot_error is Skip:
                return Skip("%s: %s" % (what, oneline(detail)))
            return self.boot_error("%s:\n%s" % (what, detail))
        self.logf = open(self.console, "wb")
        self.proc = subprocess.Popen(
            self.nspawn(self.name, ["--boot", "--console=read-only"] + list(extra) +
                        ["--"] + list(kernel_args)),
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 60
        while self.pid is None:
            if self.proc.poll() is not None:
                raise err("systemd-nspawn exited (%d) before the container booted"
                          % self.proc.returncode, self.console_tail())
            if time.monotonic() > deadline:
                raise err("no container init after 60 s", self.console_tail())
            for kid in children(self.proc.pid):
                if comm(kid) == "systemd":
                    self.pid = kid
            time.sleep(0.1)
        # The manager's own socket appears early in boot; before it,
        # systemctl cannot even ask.
        wait_for(lambda: self.proc.poll() is not None or self.run(
            "test", "-S", "/run/systemd/private", check=False).returncode == 0,
            BOOT_TIMEOUT, "the container's systemd to listen", interval=0.2)
        if self.proc.poll() is not None:
            raise err("the container stopped while booting", self.console_tail())
        r = self.run("systemctl", "is-system-running", "--wait", check=False,
                     timeout=BOOT_TIMEOUT)
        state = r.stdout.strip()
        if state not in ("running", "degraded"):
            raise err("the container did not come up (%r)" % state, self.journal_tail())
        return state

    def run(self, *args, check=True, timeout=60, input=None):
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-a"] + list(args),
                           input=input, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise Fail("in the container: %s: exit %d\n%s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def sh(self, script, **kw):
        return self.run("sh", "-c", script, **kw)

    def write(self, path, text):
        self.run("sh", "-c", 'cat > "$1"', "sh", path, input=text)

    def journal_tail(self, n=60, unit=None):
        if self.pid is None:
            return self.console_tail()
        args = ["journalctl", "--no-pager", "-n", str(n)] + (["-u", unit] if unit else [])
        try:
            r = self.run(*args, check=False, timeout=30)
            return r.stdout + r.stderr
        except Exception as e:  # noqa: B902 - best effort on the way out
            return "(no journal: %s)\n%s" % (e, self.console_tail())

    def console_tail(self, n=30):
        try:
            with open(self.console, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def poweroff(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.pid is not None:
            try:
                self.run("systemctl", "poweroff", "--no-block", check=False, timeout=20)
            except Exception:  # noqa: B902 - fall through to signals
                pass
        for sig, wait in ((None, 45), (signal.SIGTERM, 15), (signal.SIGKILL, 10)):
            if sig is not None:
                try:
                    self.proc.send_signal(sig)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if self.logf:
            self.logf.close()


class Results:
    """PASS/FAIL/SKIP lines named suite.test, and the RESULT line."""

    def __init__(self, suite):
        self.suite = suite
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def report(self, kind, name, msg=""):
        self.counts[kind] += 1
        print("%s %s.%s%s" % (kind, self.suite, name, (": " + msg) if msg else ""),
              flush=True)

    def finish(self):
        print("RESULT passed=%d failed=%d skipped=%d" % (
            self.counts["PASS"], self.counts["FAIL"], self.counts["SKIP"]), flush=True)
        return 1 if self.counts["FAIL"] else 0


def bounded(seconds):
    """A signal or the suite's own alarm ends the run through the caller's
    finally (which powers the container off)."""
    def on_signal(signum, frame):
        raise SystemExit("signal %d" % signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, on_signal)
    signal.alarm(seconds)
