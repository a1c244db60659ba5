#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Debian package: built, linted, looked into, then installed, used and
purged in a Debian 12 system booted in a container.

    make deb                       (build/deb/echod_VERSION-REV_ARCH.deb)
    lintian --fail-on error,warning --show-overrides
    debootstrap --variant=minbase --include=systemd,... bookworm ROOT
    systemd-nspawn --volatile=overlay -D ROOT --private-network --boot

The root is made once and kept in /var/cache/echod-test/bookworm-root
(ECHOD_TEST_ROOT to change it); --volatile=overlay leaves it as it was, so
every run starts from the same fresh system. The container has a network
namespace of its own (no port of this machine is used, so the package's
default port 5188 needs nothing here): this script talks TCP to it from
inside that namespace (nsenter -n) and runs dpkg, systemctl and chatctl in
it (nsenter -a), as tests/systemd/run.py does.

Prints PASS/FAIL/SKIP lines and a last line `RESULT passed=N failed=N
skipped=N` (tests/run's suite format). Whatever the environment lacks is a
SKIP with the reason, never a FAIL: not root, no debootstrap and none to
install, no network for debootstrap, systemd-nspawn unable to run or to boot
(as in many containers). Every wait is bounded; the container is powered
off on every exit path.

usage: run.py [-k SUBSTRING] [-v]   (a test that needs an earlier one it
                                     did not run skips)
"""

import argparse
import fcntl
import glob
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from nspawn import (Booted, Fail, Results, Skip, bounded, check, in_container,  # noqa: E402
                    oneline, wait_for)

DEBDIR = os.path.join(ROOT, "build", "deb")
CACHE = "/var/cache/echod-test"
DEBROOT = os.environ.get("ECHOD_TEST_ROOT", os.path.join(CACHE, "bookworm-root"))
SUITE = "bookworm"
# The container's system, and what the package links (its Depends, checked
# against this list below): dpkg -i installs nothing else. adduser for the
# README's `adduser alice echod`, procps for pgrep.
INCLUDE = ["systemd", "systemd-sysv", "dbus", "libinih1", "libsystemd0", "libjansson4",
           "libreadline8", "adduser", "procps"]
SUITE_TIMEOUT = 1800
BUILD_TIMEOUT = 900
DEBOOTSTRAP_TIMEOUT = 900
PORT = 5188  # the package's default, in the container's own namespace
CONTROL = "/run/echod/control.sock"
COMPLETION = "usr/share/bash-completion/completions/chatctl"


def run(args, timeout=120, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def tail(text, n=15):
    return "\n".join(text.strip().splitlines()[-n:])


def makefile_version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        return re.search(r"(?m)^VERSION\s*=\s*(\S+)", f.read()).group(1)


def unit_dir():
    """Where debian/rules puts the units: the same question, same answer."""
    r = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"])
    d = r.stdout.strip() if r.returncode == 0 else ""
    return (d or "/lib/systemd/system").lstrip("/")


def elf_has_interp(path):
    """Whether an ELF64 executable names a dynamic loader (PT_INTERP)."""
    with open(path, "rb") as f:
        h = f.read(64)
        check(h[:4] == b"\x7fELF" and h[4] == 2, "%s is not ELF64" % path)
        phoff, = struct.unpack_from("<Q", h, 32)
        phentsize, phnum = struct.unpack_from("<HH", h, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if struct.unpack("<I", f.read(4))[0] == 3:  # PT_INTERP
                return True
    return False


# ------------------------------------------------------- the Debian root

def apt_mirror():
    """The Debian mirror this machine's apt uses for bookworm itself (not
    -security, -updates), or None: debootstrap's own default."""
    if os.environ.get("DEBOOTSTRAP_MIRROR"):
        return os.environ["DEBOOTSTRAP_MIRROR"]
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            for stanza in re.split(r"\n\s*\n", f.read()):
                fields = dict(re.findall(r"(?m)^([A-Za-z-]+):\s*(.*)$", stanza))
                if ("deb" in fields.get("Types", "").split() and
                        SUITE in fields.get("Suites", "").split() and
                        fields.get("Enabled", "yes") != "no"):
                    return fields.get("URIs", "").split()[0]
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path) as f:
                for line in f:
                    m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                    if m and m.group(2) == SUITE:
                        return m.group(1)
        except OSError:
            pass
    return None


def stamp_text():
    return "suite=%s variant=minbase include=%s\n" % (SUITE, ",".join(INCLUDE))


def debian_root():
    """The cached root: made on first use (into a scratch directory renamed
    into place once debootstrap succeeded), reused afterwards. Returns
    (path, what happened)."""
    stamp = DEBROOT + ".stamp"
    os.makedirs(os.path.dirname(DEBROOT), exist_ok=True)
    with open(os.path.join(os.path.dirname(DEBROOT), ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(stamp) as f:
                if f.read() == stamp_text() and os.path.isfile(
                        os.path.join(DEBROOT, "usr/lib/systemd/systemd")):
                    made = time.strftime("%Y-%m-%d %H:%M",
                                         time.localtime(os.stat(stamp).st_mtime))
                    return DEBROOT, "cached %s (made %s)" % (DEBROOT, made)
        except OSError:
            pass
        if not shutil.which("debootstrap"):
            # make check's scripts/deps.sh installs it; run alone, try too.
            try:
                r = run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                         "debootstrap"], timeout=300,
                        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
                said = oneline(r.stdout + r.stderr)
            except (OSError, subprocess.TimeoutExpired) as e:
                said = str(e)
            if not shutil.which("debootstrap"):
                raise Skip("no debootstrap, and apt-get cannot install it: %s" % said)
        # Stale or partial: start over.
        for d in (DEBROOT, DEBROOT + ".new"):
            if os.path.lexists(d):
                shutil.rmtree(d)
        if os.path.exists(stamp):
            os.unlink(stamp)
        args = ["debootstrap", "--variant=minbase", "--include=" + ",".join(INCLUDE),
                SUITE, DEBROOT + ".new"]
        mirror = apt_mirror()
        if mirror:
            args.append(mirror)
        t0 = time.monotonic()
        try:
            r = run(args, timeout=DEBOOTSTRAP_TIMEOUT)
        except subprocess.TimeoutExpired:
            shutil.rmtree(DEBROOT + ".new", ignore_errors=True)
            raise Skip("debootstrap took more than %d s (a slow or no network?)" %
                       DEBOOTSTRAP_TIMEOUT)
        took = time.monotonic() - t0
        if r.returncode != 0:
            log = r.stdout + r.stderr
            try:
                with open(DEBROOT + ".new/debootstrap/debootstrap.log",
                          errors="replace") as f:
                    log += f.read()
            except OSError:
                pass
            shutil.rmtree(DEBROOT + ".new", ignore_errors=True)
            # A package name of ours that does not exist is our bug.
            if "Couldn't find these debs" in log:
                raise Fail("debootstrap: %s" % tail(log, 5))
            raise Skip("debootstrap %s failed (no network to the archive?): %s" %
                       (SUITE, oneline(log)))
        os.rename(DEBROOT + ".new", DEBROOT)
        with open(stamp, "w") as f:
            f.write(stamp_text())
        return DEBROOT, "debootstrap %s into %s in %.0fs (first use; cached from now on)" % (
            SUITE, DEBROOT, took)


# ------------------------------------------------------------ container

class Container(Booted):
    """The debootstrapped root, left as it was (--volatile=overlay), with
    a network namespace of its own."""

    def __init__(self, root, workdir):
        super().__init__("echodpkg", ["--volatile=overlay", "-D", root, "--private-network"],
                         workdir, boot_error=Skip)
        self.lo_down = None

    def probe(self):
        where = in_container()
        super().probe(" (inside a container: %s)" % where if where else "")

    def boot(self):
        return super().boot(["--bind-ro=%s:/deb" % DEBDIR])

    def as_user(self, user, *args, **kw):
        """A command as user, with that user's groups (no PAM, no shell)."""
        return self.run("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
                        "--", *args, **kw)

    def loopback(self):
        """None if the container's loopback is up, else why not. nspawn
        brings it up; inside a container without CAP_NET_ADMIN it cannot
        (the journal says "Failed to configure loopback network device").
        Asked in the container's network namespace itself (its /sys may
        show another's)."""
        script = ("import fcntl,socket,struct,sys\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                  "f=struct.unpack('16sH22x',fcntl.ioctl(s,0x8913,"  # SIOCGIFFLAGS
                  "struct.pack('16sH22x',b'lo',0)))[1]\n"
                  "if not f&1 and sys.argv[1]=='up':\n"
                  "    try: fcntl.ioctl(s,0x8914,struct.pack('16sH22x',b'lo',f|1))\n"
                  "    except OSError as e: print(e); sys.exit(1)\n"
                  "    f|=1\n"
                  "sys.exit(0 if f&1 else 1)\n")
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-n", "--", sys.executable,
                            "-c", script, "up"], capture_output=True, text=True, timeout=10)
        if r.returncode == 0:
            return None
        return ("the container's loopback is down and cannot be brought up here (%s: "
                "nspawn runs without CAP_NET_ADMIN, inside a container?)" %
                (oneline(r.stdout + r.stderr) or "down"))

    def listening(self, port):
        """Whether a TCP socket listens on 127.0.0.1:port in the container."""
        for line in self.run("cat", "/proc/net/tcp").stdout.splitlines()[1:]:
            f = line.split()
            if f[1] == "0100007F:%04X" % port and f[3] == "0A":
                return True
        return False

    def serves(self, port, data):
        """data echoed on 127.0.0.1:port; where the loopback is down, a
        listener there is all that can be seen."""
        if self.lo_down:
            return self.listening(port)
        return self.echo(port, data) == data

    def echo(self, port, data, timeout=10):
        """One echo session to 127.0.0.1:port inside the container's network
        namespace, by this machine's python3 (the container has none)."""
        script = ("import socket,sys\n"
                  "s=socket.create_connection(('127.0.0.1',%d),timeout=%d)\n"
                  "s.sendall(sys.stdin.buffer.read())\n"
                  "s.shutdown(socket.SHUT_WR)\n"
                  "b=bytearray()\n"
                  "while True:\n"
                  "    d=s.recv(65536)\n"
                  "    if not d: break\n"
                  "    b+=d\n"
                  "sys.stdout.buffer.write(b)\n" % (port, timeout))
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-n", "--", sys.executable,
                            "-c", script], input=data, capture_output=True,
                           timeout=timeout + 5)
        check(r.returncode == 0, "echo to 127.0.0.1:%d in the container: %s" % (
            port, r.stderr.decode(errors="replace").strip()))
        return r.stdout


# ----------------------------------------------------------------- tests

class Suite:
    def __init__(self, work):
        self.work = work
        self.deb = None
        self.c = None
        self.version = makefile_version()

    def need_deb(self):
        if self.deb:
            return
        # -k without make_deb: the package a previous make deb left.
        debs = glob.glob(os.path.join(DEBDIR, "echod_%s-*.deb" % self.version))
        if len(debs) != 1:
            raise Skip("no package: make deb failed or did not run")
        self.deb = debs[0]

    def need_container(self):
        if not self.c or self.c.pid is None:
            raise Skip("no container")

    # -- the package, on this machine -------------------------------------

    def test_make_deb(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        r = run(["make", "-s", "--no-print-directory", "-C", ROOT, "deb"],
                timeout=BUILD_TIMEOUT, env=env)
        check(r.returncode == 0, "make deb failed:\n%s" % tail(r.stdout + r.stderr, 40))
        debs = sorted(glob.glob(os.path.join(DEBDIR, "echod_*.deb")))
        check(len(debs) == 1, "build/deb has %r" % debs)
        name = os.path.basename(debs[0])
        check(name.startswith("echod_%s-" % self.version),
              "%s is not version %s (the Makefile's)" % (name, self.version))
        self.deb = debs[0]
        return os.path.relpath(self.deb, ROOT)

    def test_lintian(self):
        self.need_deb()
        if not shutil.which("lintian"):
            raise Skip("lintian is not installed")
        r = run(["lintian", "--fail-on", "error,warning", "--display-info", self.deb],
                timeout=600)
        bad = [ln for ln in r.stdout.splitlines() if re.match(r"^[EW]: ", ln)]
        check(r.returncode == 0 and not bad, "lintian (exit %d):\n%s" % (
            r.returncode, "\n".join(bad) or tail(r.stdout + r.stderr)))
        # Once more to see the overrides (shown, they would count for
        # --fail-on).
        r = run(["lintian", "--fail-on", "none", "--display-info", "--pedantic", "-E",
                 "--show-overrides", self.deb], timeout=600)
        check(r.returncode == 0, "lintian --show-overrides: exit %d\n%s" % (
            r.returncode, tail(r.stdout + r.stderr)))
        lines = r.stdout.splitlines()
        tags = [ln for ln in lines if re.match(r"^[EWIPXO]: ", ln)]
        # Every override says why: lintian prints an override's comment as
        # N: lines just before its O: line.
        unexplained = [ln for i, ln in enumerate(lines)
                       if ln.startswith("O: ") and (i == 0 or not lines[i - 1].startswith("N: "))]
        check(not unexplained, "overrides without a reason: %s" % unexplained)
        stale = [ln for ln in tags if re.search(r"\b(unused|mismatched)-override\b", ln)]
        check(not stale, "stale lintian overrides: %s" % stale)
        over = [ln.split()[2] for ln in tags if ln.startswith("O: ")]
        info = sorted({ln.split()[2] for ln in tags if ln[0] in "IPX"})
        return "0 errors, 0 warnings; overridden with a reason: %s; info: %s" % (
            ", ".join(over) or "none", ", ".join(info) or "none")

    def test_contents(self):
        self.need_deb()
        ud = unit_dir()
        progs = {"usr/sbin/echod", "usr/bin/chatctl", "usr/lib/echod/echod-engine"}
        want = progs | {
            ud + "/echod.service", ud + "/echod.socket", "etc/echod.ini",
            "usr/lib/systemd/catalog/echod.catalog", "usr/lib/sysusers.d/echod.conf",
            "usr/share/man/man1/chatctl.1.gz", "usr/share/man/man5/echod.ini.5.gz",
            "usr/share/man/man8/echod.8.gz", "usr/share/doc/echod/copyright",
            "usr/share/doc/echod/changelog.Debian.gz", "usr/share/doc/echod/README.md.gz",
            "usr/share/doc/echod/PROTOCOL.md.gz", "usr/share/doc/echod/SECURITY.md.gz",
            "usr/share/lintian/overrides/echod", COMPLETION}
        r = run(["dpkg-deb", "-c", self.deb])
        check(r.returncode == 0, "dpkg-deb -c: %s" % r.stderr)
        files = {}
        for line in r.stdout.splitlines():
            perm, owner, _size, _d, _t, path = line.split(None, 5)
            path = path.split(" -> ")[0]
            if perm.startswith("-") or perm.startswith("l"):
                files[path[2:]] = (perm, owner)
            check(owner == "root/root", "%s owned by %s" % (path, owner))
        got = set(files)
        check(want == got,
              "package contents differ: missing %s, extra %s" %
              (sorted(want - got), sorted(got - want)))
        for f, (perm, _) in files.items():
            wanted = "-rwxr-xr-x" if f in progs else "-rw-r--r--"
            check(perm == wanted, "%s: %s, want %s" % (f, perm, wanted))
        x = os.path.join(self.work, "x")
        r = run(["dpkg-deb", "-R", self.deb, x])
        check(r.returncode == 0, "dpkg-deb -R: %s" % r.stderr)
        check(not elf_has_interp(os.path.join(x, "usr/lib/echod/echod-engine")),
              "the engine is not statically linked")
        for p in ("usr/sbin/echod", "usr/bin/chatctl"):
            check(elf_has_interp(os.path.join(x, p)), "%s is not dynamically linked" % p)
        with open(os.path.join(x, "usr/sbin/echod"), "rb") as f:
            check(b"/usr/lib/echod/echod-engine\0" in f.read(),
                  "echod does not look for its engine in /usr/lib/echod")
        with open(os.path.join(x, ud, "echod.service")) as f:
            unit = f.read()
        for line in ("ExecStart=/usr/sbin/echod\n", "ExecStartPre=/usr/sbin/echod -t\n",
                     "ExecReload=/usr/bin/chatctl reload", "User=echod\n",
                     "WantedBy=multi-user.target\n"):
            check(line in unit, "echod.service lacks %r" % line)
        check("/usr/local" not in unit and not re.search(r"@[A-Z]+@", unit),
              "echod.service names /usr/local or keeps a placeholder")
        with open(os.path.join(x, "usr/lib/sysusers.d/echod.conf")) as f:
            check(re.search(r"(?m)^u echod\b", f.read()), "sysusers.d/echod.conf: no user echod")
        with open(os.path.join(x, "etc/echod.ini")) as f, \
                open(os.path.join(ROOT, "conf/echod.ini")) as g:
            ini = f.read()
            check(ini == g.read(), "/etc/echod.ini is not conf/echod.ini")
        check(re.search(r"(?m)^port = %d$" % PORT, ini), "echod.ini's port is not %d" % PORT)
        with open(os.path.join(x, "DEBIAN/conffiles")) as f:
            conff = f.read().split()
        check(conff == ["/etc/echod.ini"], "conffiles %r" % conff)
        with open(os.path.join(x, "DEBIAN/control")) as f:
            control = f.read()
        deps = re.search(r"(?m)^Depends: (.*)$", control).group(1)
        names = {re.split(r"[ (]", d.strip())[0] for d in re.split(r"[,|]", deps)}
        libs = {n for n in names if n.startswith("lib")}
        check({"libc6", "libsystemd0", "libinih1", "libjansson4", "libreadline8"} <= libs,
              "Depends: %s" % deps)
        check(libs - {"libc6"} <= set(INCLUDE),
              "the container root lacks %s" % sorted(libs - {"libc6"} - set(INCLUDE)))
        with open(os.path.join(x, "DEBIAN/postinst")) as f:
            post = f.read()
        # The user exists before the service starts; the service is
        # enabled and started, the socket only kept as the admin set it.
        i_users = post.find("systemd-sysusers")
        i_start = post.find("deb-systemd-invoke $_dh_action 'echod.service'")
        check(0 <= i_users < i_start, "postinst does not make the user before starting echod")
        check("deb-systemd-helper enable 'echod.service'" in post, "echod.service not enabled")
        m = re.search(r"(?s)if deb-systemd-helper debian-installed 'echod.socket'.*?"
                      r"deb-systemd-helper enable 'echod.socket'", post)
        check(m, "echod.socket enabled on a first install?")
        with open(os.path.join(x, COMPLETION)) as f:
            comp = f.read()
        check("complete -F _chatctl chatctl" in comp,
              "%s does not complete chatctl" % COMPLETION)
        if shutil.which("bash"):
            r = run(["bash", "-n", os.path.join(x, COMPLETION)])
            check(r.returncode == 0, "bash -n %s: %s" % (COMPLETION, r.stderr))
        extra = ", bash completion"
        return ("%d files, modes; the engine static; units in /%s; conffiles %s; "
                "sysusers.d/echod.conf%s" % (len(files), ud, " ".join(conff), extra))

    # -- the package, installed in a booted Debian 12 -----------------------

    def test_boot_debian_12(self):
        self.need_deb()
        if not shutil.which("systemd-nspawn") or not shutil.which("nsenter"):
            raise Skip("systemd-nspawn or nsenter is not installed")
        t0 = time.monotonic()
        root, how = debian_root()
        t_root = time.monotonic() - t0
        self.c = Container(root, self.work)
        self.c.probe()
        t0 = time.monotonic()
        state = self.c.boot()
        took = time.monotonic() - t0
        self.c.lo_down = self.c.loopback()
        return "%s (%.1fs); booted %s in %.1fs%s" % (
            how, t_root, state, took, "; " + self.c.lo_down if self.c.lo_down else "")

    def snapshot(self):
        """Every path on the container's root file system."""
        r = self.c.sh("find / -xdev -path /proc -prune -o -print", timeout=60)
        return set(r.stdout.splitlines())

    def state(self, unit):
        return self.c.run("systemctl", "is-active", unit, check=False).stdout.strip()

    def test_install(self):
        self.need_container()
        c = self.c
        self.before = self.snapshot()
        check(c.run("getent", "passwd", "echod", check=False).returncode != 0,
              "user echod exists before the install")
        deb = "/deb/" + os.path.basename(self.deb)
        r = c.run("dpkg", "-i", deb, timeout=120)
        out = r.stdout + r.stderr
        pw = c.run("getent", "passwd", "echod").stdout.strip().split(":")
        uid = int(pw[2])
        check(uid < 1000 and pw[6] in ("/usr/sbin/nologin", "/sbin/nologin"),
              "echod is not a system user: %r" % pw)
        check(c.run("getent", "group", "echod", check=False).returncode == 0, "no group echod")
        en = {u: c.run("systemctl", "is-enabled", u, check=False).stdout.strip()
              for u in ("echod.service", "echod.socket")}
        check(en == {"echod.service": "enabled", "echod.socket": "disabled"},
              "enabled states %r" % en)
        wait_for(lambda: self.state("echod") == "active", 20, "echod to be active")
        # What an admin types: off, then on again.
        c.run("systemctl", "disable", "--now", "echod", timeout=60)
        wait_for(lambda: self.state("echod") == "inactive", 20, "echod to stop")
        c.run("systemctl", "enable", "--now", "echod", timeout=60)
        wait_for(lambda: self.state("echod") == "active", 20,
                 "echod to be active after systemctl enable --now")
        check(self.state("echod.socket") == "inactive", "echod.socket is %s" %
              self.state("echod.socket"))
        main = int(c.run("systemctl", "show", "-p", "MainPID", "--value",
                         "echod").stdout.strip())
        puid = int(c.run("stat", "-c", "%u", "/proc/%d" % main).stdout)
        check(puid == uid, "echod runs as uid %d, not echod's %d" % (puid, uid))
        st = c.run("stat", "-c", "%U:%G %a", CONTROL).stdout.strip()
        check(st == "echod:echod 660", "%s is %s" % (CONTROL, st))
        r = c.run("journalctl", "--list-catalog", check=False)
        check("echod is ready" in r.stdout, "the journal catalog was not updated")
        check("Setting up echod" in out, "dpkg -i said:\n%s" % out)
        return "user echod (uid %d, nologin); echod.service enabled, active as echod " \
               "(and again after disable --now, enable --now); " \
               "echod.socket disabled; %s echod:echod 0660" % (uid, CONTROL)

    def test_echo_over_tcp(self):
        self.need_container()
        data = b"hello from the package\n" + bytes(range(256)) * 64
        if self.c.lo_down:
            check(self.c.listening(PORT), "nothing listens on 127.0.0.1:%d" % PORT)
            raise Skip("%s; echod listens on 127.0.0.1:%d" % (self.c.lo_down, PORT))
        got = self.c.echo(PORT, data)
        check(got == data, "echo on 127.0.0.1:%d: %d of %d bytes back" % (
            PORT, len(got), len(data)))
        return "%d bytes echoed on 127.0.0.1:%d" % (len(data), PORT)

    def test_group_echod_may_use_chatctl(self):
        self.need_container()
        c = self.c
        for u in ("alice", "bob"):
            c.run("adduser", "--quiet", "--disabled-password", "--gecos", "", u)
        # The README's words.
        c.run("adduser", "--quiet", "alice", "echod")
        r = c.as_user("alice", "chatctl", "status", check=False)
        check(r.returncode == 0 and "echod %s" % self.version in r.stdout,
              "chatctl status as alice (group echod): exit %d\n%s%s" % (
                  r.returncode, r.stdout, r.stderr))
        r2 = c.as_user("alice", "chatctl", "reload", check=False)
        check(r2.returncode == 0, "chatctl reload as alice: exit %d %s" % (
            r2.returncode, r2.stderr))
        r3 = c.as_user("bob", "chatctl", "status", check=False)
        err = r3.stderr.strip()
        check(r3.returncode != 0 and not r3.stdout.strip(),
              "chatctl status as bob (not in group echod) was answered:\n%s" % r3.stdout)
        check(CONTROL in err and "permission denied" in err.lower(),
              "bob's error does not say why: %r" % err)
        return "alice (group echod): status and reload; bob refused: %r" % err

    def test_systemctl_reload(self):
        self.need_container()
        c = self.c
        main = c.run("systemctl", "show", "-p", "MainPID", "--value", "echod").stdout.strip()
        # An edited conffile, and a reload that applies it.
        c.run("sed", "-i", "s/^port = %d$/port = %d/" % (PORT, PORT + 1), "/etc/echod.ini")
        c.run("systemctl", "reload", "echod", timeout=60)
        wait_for(lambda: c.serves(PORT + 1, b"moved\n"), 10, "echod on the new port")
        check(c.run("systemctl", "show", "-p", "MainPID", "--value",
                    "echod").stdout.strip() == main, "reload restarted echod")
        r = c.run("journalctl", "-u", "echod", "--no-pager", "-o", "cat", timeout=30)
        check("listening on 127.0.0.1:%d" % (PORT + 1) in r.stdout,
              "no reload line in the journal:\n%s" % tail(r.stdout))
        return "port %d -> %d in /etc/echod.ini, same pid %s%s" % (
            PORT, PORT + 1, main, " (seen listening: loopback down)" if c.lo_down else "")

    def test_remove_keeps_the_conffile_and_reinstall(self):
        self.need_container()
        c = self.c
        mark = "# edited by tests/package"
        c.sh("echo '%s' >> /etc/echod.ini" % mark)
        ini = c.run("cat", "/etc/echod.ini").stdout
        port = int(re.search(r"(?m)^port = (\d+)$", ini).group(1))
        c.run("dpkg", "-r", "echod", timeout=120)
        check(not self.echod_processes(), "echod processes after dpkg -r: %s" %
              self.echod_processes())
        check(c.run("test", "-e", "/usr/sbin/echod", check=False).returncode != 0,
              "/usr/sbin/echod left after dpkg -r")
        check(c.run("cat", "/etc/echod.ini", check=False).stdout == ini,
              "dpkg -r did not keep the edited /etc/echod.ini")
        c.run("dpkg", "-i", "/deb/" + os.path.basename(self.deb), timeout=120)
        check(c.run("cat", "/etc/echod.ini").stdout == ini,
              "dpkg -i after dpkg -r replaced the edited /etc/echod.ini")
        wait_for(lambda: self.state("echod") == "active", 20, "echod to be active again")
        wait_for(lambda: c.serves(port, b"kept\n"), 10,
                 "the reinstalled echod to serve the kept configuration (port %d)" % port)
        return "dpkg -r: stopped, files gone, edited /etc/echod.ini kept; " \
               "dpkg -i again: keeps it, active on port %d%s" % (
                   port, " (seen listening: loopback down)" if c.lo_down else "")

    def echod_processes(self):
        """Processes named echod* or run by the user echod."""
        r = self.c.run("ps", "-e", "-o", "pid=,user=,comm=", check=False)
        out = []
        for ln in r.stdout.splitlines():
            f = ln.split(None, 2)
            if len(f) == 3 and ("echod" in f[1] or "echod" in f[2]):
                out.append(ln.strip())
        return out

    def test_purge_leaves_nothing(self):
        self.need_container()
        c = self.c
        owned = c.run("dpkg", "-L", "echod").stdout.split()
        c.run("dpkg", "--purge", "echod", timeout=120)
        r = c.run("dpkg-query", "-W", "-f", "${db:Status-Status}", "echod", check=False)
        check(r.returncode != 0 or r.stdout.strip() in ("", "not-installed"),
              "dpkg still knows echod: %r" % r.stdout)
        left = [p for p in owned if c.run("test", "-e", p, check=False).returncode == 0 and
                c.run("test", "-d", p, check=False).returncode != 0]
        check(not left, "files of the package left: %s" % left)
        for d in ("/usr/lib/echod", "/usr/share/doc/echod", "/run/echod", "/etc/echod.ini"):
            check(c.run("test", "-e", d, check=False).returncode != 0, "%s left" % d)
        named = c.sh("find / -xdev -path /proc -prune -o -name '*echod*' -print; "
                     "find /run /tmp /var/tmp -name '*echod*' 2>/dev/null; true").stdout.split()
        check(not named, "paths named echod left: %s" % named)
        r = c.run("systemctl", "list-unit-files", "--no-legend", "echod*", check=False)
        check(not r.stdout.strip(), "systemd still has units: %s" % r.stdout)
        check(c.run("systemctl", "show", "-p", "LoadState", "--value",
                    "echod.service").stdout.strip() == "not-found", "echod.service still loaded")
        procs = self.echod_processes()
        check(not procs, "processes left: %s" % procs)
        # What is new on the root since before the install: only what
        # adding alice and bob wrote, the journal, the package manager's
        # and the catalog's state. The user and group echod stay (Debian:
        # a package leaves its system user in place on purge).
        new = sorted(self.snapshot() - self.before)
        allowed = re.compile(r"^/(home(/|$)|var/log/|var/cache/|var/lib/dpkg/|"
                             r"var/lib/systemd/(catalog/database|deb-systemd-helper-enabled)|"
                             r"var/mail(/|$)|etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$)")
        stray = [p for p in new if not allowed.match(p)]
        check(not stray, "left on the root after purge: %s" % stray[:20])
        user = c.run("getent", "passwd", "echod", check=False).stdout.strip()
        where = sorted({"/".join(p.split("/")[:3]) for p in new})
        return "no file, conffile, unit, enabled symlink or process left; %d new paths, " \
               "all allowed (%s); user echod stays: %s" % (
                   len(new), " ".join(where), user or "(none)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    res = Results("package")
    report = res.report
    why = None
    if os.environ.get("SANITIZE") == "1":
        why = "the package is the release build; tested without SANITIZE=1"
    elif os.geteuid() != 0:
        why = "needs root (dpkg-buildpackage's dependencies, debootstrap, systemd-nspawn)"
    if why:
        report("SKIP", "all", why)
        return res.finish()
    bounded(SUITE_TIMEOUT)

    work = tempfile.mkdtemp(prefix="echod-package.")
    suite = Suite(work)
    try:
        for n in [n for n in Suite.__dict__ if n.startswith("test_")]:
            name = n[len("test_"):]
            if args.k and not any(k in n for k in args.k):
                continue
            t0 = time.monotonic()
            try:
                info = getattr(suite, n)()
                report("PASS", name, "%s (%.1fs)" % (info, time.monotonic() - t0))
            except Skip as e:
                report("SKIP", name, str(e))
            except Exception as e:  # noqa: B902 - every failure is reported
                msg = str(e) if isinstance(e, AssertionError) else "%s: %s" % (
                    e.__class__.__name__, e)
                extra = ""
                if suite.c is not None and suite.c.pid is not None:
                    extra = "\n--- the container's journal:\n" + suite.c.journal_tail(30)
                report("FAIL", name, "%s (%.1fs)%s" % (msg, time.monotonic() - t0, extra))
                if args.v:
                    traceback.print_exc()
    except BaseException as e:  # noqa: B902 - a signal, the alarm
        report("FAIL", "interrupted", "%s: %s" % (e.__class__.__name__, e))
    finally:
        signal.alarm(0)
        if suite.c is not None:
            suite.c.poweroff()
        shutil.rmtree(work, ignore_errors=True)
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
