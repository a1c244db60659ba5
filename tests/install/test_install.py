# SPDX-License-Identifier: GPL-3.0-or-later
"""What `make install` puts where, and the files it installs: man pages
(lint), the journal catalog (every MESSAGE_ID), the units (paths, offline
security score). The units under a real systemd: tests/systemd/."""

import os
import re
import shutil
import struct
import subprocess
import tempfile

from echodtest import ROOT, Skip, check

SCORE_TARGET = 1.5
MANPAGES = ["man/echod.8", "man/echod.ini.5", "man/chatctl.1"]


def make(*args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT] + list(args),
                       capture_output=True, text=True, env=env, timeout=300)
    check(r.returncode == 0, "make %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout


def release_only():
    if os.environ.get("SANITIZE") == "1":
        raise Skip("make install installs the static release build; not with SANITIZE=1")


class staged:
    """make install into a fresh staging directory, removed afterwards."""

    def __init__(self, prefix="/usr/local", preset=None):
        self.prefix, self.preset = prefix, preset or {}

    def __enter__(self):
        self.dest = tempfile.mkdtemp(prefix="echod-stage.")
        for rel, text in self.preset.items():
            os.makedirs(os.path.dirname(os.path.join(self.dest, rel)), exist_ok=True)
            with open(os.path.join(self.dest, rel), "w") as f:
                f.write(text)
        self.out = make("install", "DESTDIR=" + self.dest, "PREFIX=" + self.prefix)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dest, ignore_errors=True)
        return False


def files_under(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


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


# ------------------------------------------------------------ the files

def test_man_pages_lint_clean():
    if shutil.which("mandoc"):
        for page in MANPAGES:
            r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                                os.path.join(ROOT, page)], capture_output=True, text=True)
            msgs = [m for m in (r.stdout + r.stderr).splitlines() if "mandoc.db" not in m]
            check(r.returncode == 0 and not msgs, "%s:\n%s" % (page, "\n".join(msgs)))
    elif shutil.which("groff"):
        for page in MANPAGES:
            r = subprocess.run(["groff", "-ww", "-mandoc", "-z", os.path.join(ROOT, page)],
                               capture_output=True, text=True)
            check(r.returncode == 0 and not r.stderr, "%s:\n%s" % (page, r.stderr))
    else:
        raise Skip("neither mandoc nor groff is installed")


def test_every_ini_key_is_in_echod_ini_5():
    with open(os.path.join(ROOT, "conf/echod.ini")) as f:
        ini = f.read()
    with open(os.path.join(ROOT, "man/echod.ini.5")) as f:
        page = f.read()
    keys = re.findall(r"^([a-z_]+) *=", ini, re.M)
    check(len(keys) >= 20, "found only %d keys in conf/echod.ini" % len(keys))
    for sec in re.findall(r"^\[([a-z]+)\]", ini, re.M):
        check(".Ss [%s]" % sec in page, "section [%s] not in echod.ini(5)" % sec)
    for k in keys:
        check(".It Cm %s " % k in page, "key %s not in echod.ini(5)" % k)


def test_catalog_explains_every_message_id():
    with open(os.path.join(ROOT, "daemon/journal.c")) as f:
        ids = set(re.findall(r'\[EV_[A-Z_]+\] = "([0-9a-f]{32})"', f.read()))
    check(len(ids) >= 16, "found only %d MESSAGE_IDs in daemon/journal.c" % len(ids))
    with open(os.path.join(ROOT, "systemd/echod.catalog")) as f:
        text = f.read()
    entries = re.split(r"^-- ", text, flags=re.M)[1:]
    seen = set()
    for e in entries:
        head, _, body = e.partition("\n\n")
        lines = head.splitlines()
        mid = lines[0].strip()
        check(re.fullmatch(r"[0-9a-f]{32}", mid), "bad catalog id line %r" % lines[0])
        check(mid not in seen, "%s twice in the catalog" % mid)
        seen.add(mid)
        check(any(x.startswith("Subject: ") for x in lines[1:]), "%s has no Subject" % mid)
        check(any(x.startswith("Defined-By: echod") for x in lines[1:]),
              "%s has no Defined-By" % mid)
        check(len(body.strip()) > 40, "%s has no explanation" % mid)
    check(seen == ids, "catalog and journal.c differ: missing %s, extra %s" %
          (sorted(ids - seen), sorted(seen - ids)))


# ----------------------------------------------------------- make install

def test_install_usr_local_layout():
    release_only()
    want = {"usr/local/sbin/echod", "usr/local/bin/chatctl",
            "usr/local/lib/echod/echod-engine",
            "usr/local/lib/systemd/system/echod.service",
            "usr/local/lib/systemd/system/echod.socket",
            "usr/local/lib/systemd/catalog/echod.catalog",
            "usr/local/lib/sysusers.d/echod.conf",
            "usr/local/share/man/man8/echod.8", "usr/local/share/man/man5/echod.ini.5",
            "usr/local/share/man/man1/chatctl.1", "etc/echod.ini",
            "usr/local/share/bash-completion/completions/chatctl"}
    progs = {"usr/local/sbin/echod", "usr/local/bin/chatctl",
             "usr/local/lib/echod/echod-engine"}
    with staged() as st:
        dest = st.dest
        got = files_under(dest)
        check(got == want, "installed files differ: missing %s, extra %s" %
              (sorted(want - got), sorted(got - want)))
        for f in want:
            mode = os.stat(os.path.join(dest, f)).st_mode & 0o777
            check(mode == (0o755 if f in progs else 0o644), "%s: mode %o" % (f, mode))
        # The data plane forks per connection: small and static. The
        # control plane links libsystemd.
        check(not elf_has_interp(os.path.join(dest, "usr/local/lib/echod/echod-engine")),
              "the installed engine is not statically linked")
        check(elf_has_interp(os.path.join(dest, "usr/local/sbin/echod")),
              "the installed echod is not dynamically linked (libsystemd)")
        with open(os.path.join(dest, "usr/local/lib/systemd/system/echod.service")) as f:
            unit = f.read()
        check(not re.search(r"@[A-Z]+@", unit), "placeholder left in the unit")
        for line in ("ExecStart=/usr/local/sbin/echod\n",
                     "ExecStartPre=/usr/local/sbin/echod -t\n",
                     "ExecReload=/usr/local/bin/chatctl reload"):
            check(line in unit, "unit lacks %r" % line)
        with open(os.path.join(dest, "etc/echod.ini")) as f, \
                open(os.path.join(ROOT, "conf/echod.ini")) as g:
            check(f.read() == g.read(), "installed echod.ini differs from conf/echod.ini")
        # The user and group echod, for DynamicUser=yes with User=echod:
        # the control socket's group is then one an admin can join.
        with open(os.path.join(dest, "usr/local/lib/sysusers.d/echod.conf")) as f:
            users = [l.split() for l in f if l.strip() and not l.startswith("#")]
        check(any(u[:2] == ["u", "echod"] for u in users),
              "the sysusers file creates no user echod: %r" % users)
        check("User=echod\n" in unit and "DynamicUser=yes\n" in unit,
              "the unit does not run as the user the sysusers file creates")


def test_install_prefix_usr():
    release_only()
    with staged("/usr") as st:
        got = files_under(st.dest)
        for f in ("usr/sbin/echod", "usr/bin/chatctl", "usr/lib/echod/echod-engine",
                  "usr/lib/systemd/system/echod.service",
                  "usr/lib/systemd/catalog/echod.catalog", "usr/lib/sysusers.d/echod.conf",
                  "usr/share/man/man8/echod.8",
                  "usr/share/bash-completion/completions/chatctl"):
            check(f in got, "%s not installed with PREFIX=/usr" % f)
        # The installed echod looks for its engine where it was installed.
        with open(os.path.join(st.dest, "usr/sbin/echod"), "rb") as f:
            check(b"/usr/lib/echod/echod-engine\0" in f.read(),
                  "echod built for PREFIX=/usr does not name /usr/lib/echod/echod-engine")
        with open(os.path.join(st.dest, "usr/lib/systemd/system/echod.service")) as f:
            unit = f.read()
        check("ExecStart=/usr/sbin/echod\n" in unit and "/usr/local" not in unit,
              "unit paths for PREFIX=/usr")


def test_install_never_overwrites_echod_ini_and_uninstall_keeps_it():
    release_only()
    mine = "[server]\nport = 7\n"
    with staged(preset={"etc/echod.ini": mine}) as st:
        check("keeping the existing" in st.out,
              "install did not say it kept the file: %r" % st.out)
        with open(os.path.join(st.dest, "etc/echod.ini")) as f:
            check(f.read() == mine, "install overwrote the user's echod.ini")
        comp = "usr/local/share/bash-completion/completions/chatctl"
        check(comp in files_under(st.dest), "%s not installed" % comp)
        make("uninstall", "DESTDIR=" + st.dest)
        check(not os.path.exists(os.path.join(st.dest, comp)), "uninstall left %s" % comp)
        check(files_under(st.dest) == {"etc/echod.ini"},
              "uninstall left %s" % sorted(files_under(st.dest)))


def test_unit_security_score_offline():
    """The same score tests/systemd asserts under a real systemd; this one
    also runs where nspawn cannot."""
    release_only()
    if not shutil.which("systemd-analyze"):
        raise Skip("no systemd-analyze")
    with staged() as st:
        r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                            "--root=" + st.dest, "echod.service"],
                           capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for echod.service: ([0-9.]+)", r.stdout)
    if not m and "offline" in r.stderr:
        raise Skip("this systemd-analyze has no --offline")
    check(m, "no score:\n%s%s" % (r.stdout, r.stderr))
    check(float(m.group(1)) <= SCORE_TARGET,
          "exposure %s > %s:\n%s" % (m.group(1), SCORE_TARGET, r.stdout))
    print("  systemd-analyze security (offline): %s" % m.group(1))


def test_license_and_spdx_in_every_source_file():
    """GPL-3.0-or-later (LICENSE), and every tracked source file says so."""
    with open(os.path.join(ROOT, "LICENSE")) as f:
        check("GNU GENERAL PUBLIC LICENSE" in f.read(2000), "LICENSE is not the GPL")
    files = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True,
                           text=True).stdout.split()
    if not files:
        raise Skip("not a git checkout")
    missing = []
    for f in files:
        if (f.startswith(("fuzz/seeds/", "fuzz/regress/")) or f.endswith(".md") or
                f in ("LICENSE", ".gitignore", ".clang-format") or
                # debian/changelog's format has no comment syntax.
                f == "debian/changelog" or
                f.startswith("debian/") and f.endswith(("/compat", "format"))):
            continue
        try:
            with open(os.path.join(ROOT, f), errors="replace") as fh:
                head = fh.read(400)
        except OSError:
            continue
        if "SPDX-License-Identifier: GPL-3.0-or-later" not in head:
            missing.append(f)
    check(not missing, "no SPDX line in: %s" % missing[:20])
