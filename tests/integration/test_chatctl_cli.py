# SPDX-License-Identifier: GPL-3.0-or-later
"""chatctl's command-line conventions: --help on stdout for every command,
usage errors "chatctl: CMD: ..." with exit 2, exit 3 when echod is not
running, the permission hint, --color, a long option for every short one
with one meaning per letter, and the bash completion."""

import grp
import os
import pty
import pwd
import re
import select
import shutil
import socket
import subprocess
import tempfile

from ctltest import run_chatctl
from echodtest import CHATCTL, ROOT, Echod, Skip, check, reachable_copy

COMPLETION = os.path.join(ROOT, "completion", "chatctl.bash")
OPTION = re.compile(r"^  (?:-(\w), |    )--([a-z-]+)(?:=([A-Z]+))?\s")


def commands():
    """The commands chatctl --help lists."""
    rc, out, err = run_chatctl("--help")
    check(rc == 0, "--help: exit %d" % rc)
    section = out.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in section.splitlines()]


def options(cmd):
    """{long name: letter or None} from `chatctl CMD --help`."""
    rc, out, err = run_chatctl(cmd, "--help")
    check(rc == 0, "%s --help: exit %d" % (cmd, rc))
    found = {}
    for line in out.splitlines():
        if line.startswith(("  -", "      --")):
            m = OPTION.match(line)
            check(m, "%s --help: an option without a long form: %r" % (cmd, line))
            found[m.group(2)] = m.group(1)
    return found


def test_every_help_goes_to_stdout_exit_0_in_80_columns():
    cmds = commands()
    check(set(cmds) == {"talk", "who", "ping", "status", "reload", "help"},
          "commands %s" % cmds)
    forms = [["--help"], ["-h"], ["help"]]
    for c in cmds:
        forms += [[c, "--help"], [c, "-h"], ["help", c]]
    for args in forms:
        rc, out, err = run_chatctl(*args)
        check(rc == 0, "%s: exit %d, stderr %r" % (args, rc, err))
        check(err == "", "%s: stderr %r" % (args, err))
        check(out.startswith("usage: chatctl "), "%s: stdout %r" % (args, out[:200]))
        check("exit status:" in out, "%s: no exit status in the help" % args)
        long = [ln for ln in out.splitlines() if len(ln) > 80]
        check(not long, "%s: lines over 80 columns: %r" % (args, long))
    # A command's --help is its help, not the list of every command.
    rc, out, _ = run_chatctl("ping", "--help")
    check(out.startswith("usage: chatctl ping ") and "chatctl talk" not in out, out)


def test_usage_errors_go_to_stderr_exit_2():
    for c in commands():
        for bad in (["--no-such-option"], ["-x"]):
            rc, out, err = run_chatctl(c, *bad)
            check(rc == 2, "%s %s: exit %d" % (c, bad, rc))
            check(err.startswith("chatctl: %s: " % c), "%s %s: stderr %r" % (c, bad, err))
            check(out == "", "%s %s: stdout %r" % (c, bad, out))
    rc, out, err = run_chatctl()
    check(rc == 2 and out == "" and err.startswith("chatctl: missing command\n"),
          "no command: %d %r" % (rc, err))
    rc, out, err = run_chatctl("frobnicate")
    check(rc == 2 and err.startswith('chatctl: unknown command "frobnicate"'), err)


def test_a_long_option_for_every_short_one_one_meaning_per_letter():
    meaning = {}
    for c in commands():
        for name, letter in options(c).items():
            if letter is None:
                continue
            check(meaning.setdefault(letter, name) == name,
                  "-%s is --%s and --%s" % (letter, meaning[letter], name))
    check(meaning.get("s") == "socket", "-s is --%s" % meaning.get("s"))
    check(meaning.get("S") == "size", "-S is --%s" % meaning.get("S"))
    check(options("ping").keys() >= {"count", "size"}, "ping: %s" % options("ping"))
    check(options("talk").keys() >= {"nick", "room", "color"}, "talk: %s" % options("talk"))
    check(options("status").keys() >= {"json", "socket"}, "status")
    # The long forms do what the short ones do.
    with Echod() as d:
        rc, out, err = run_chatctl("ping", "127.0.0.1:%d" % d.port, "--count=2", "--size", "10")
        check(rc == 0 and "2 round trips, 20 bytes" in out, "ping long: %d %r %r" % (rc, out, err))
        rc, out, err = run_chatctl("status", "--socket", d.control, "--json")
        check(rc == 0 and out.startswith("{"), "status --socket: %d %r" % (rc, err))
        rc, out, err = run_chatctl("talk", "127.0.0.1:%d" % d.port, "--nick=lo", "--room", "r1",
                                   input_bytes=b"")
        check(rc == 0 and "you are lo in r1" in out, "talk long: %d %r %r" % (rc, out, err))


def test_no_echod_at_the_control_socket_exit_3():
    tmp = tempfile.mkdtemp(prefix="chatctl-cli.")
    missing = os.path.join(tmp, "missing.sock")
    dead = os.path.join(tmp, "dead.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(dead)  # bound, never listening: ECONNREFUSED
    try:
        for path, why in ((missing, "No such file or directory"), (dead, "Connection refused")):
            for c in ("status", "reload"):
                rc, out, err = run_chatctl(c, "-s", path)
                check(rc == 3, "%s on %s: exit %d" % (c, path, rc))
                check(err == "chatctl: %s: %s: %s (is echod running?)\n" % (c, path, why),
                      "%s: stderr %r" % (c, err))
    finally:
        s.close()
        shutil.rmtree(tmp, ignore_errors=True)


def as_nobody(*args):
    user = pwd.getpwnam("nobody")

    def drop():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return subprocess.run([reachable_copy(CHATCTL)] + list(args), capture_output=True,
                          text=True, timeout=15, preexec_fn=drop)


def test_permission_denied_gives_a_hint():
    if os.geteuid() != 0:
        raise Skip("needs root, to run chatctl as nobody")
    try:
        pwd.getpwnam("nobody")
        group = grp.getgrnam("daemon")
    except KeyError:
        raise Skip("no user nobody or group daemon")
    tmp = tempfile.mkdtemp(prefix="chatctl-cli.")
    os.chmod(tmp, 0o755)
    path = os.path.join(tmp, "control.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(1)
    try:
        os.chmod(path, 0o600)
        for c in ("status", "reload"):
            r = as_nobody(c, "-s", path)
            lines = r.stderr.splitlines()
            check(r.returncode == 1, "%s as nobody: exit %d %r" % (c, r.returncode, r.stderr))
            check(len(lines) == 2 and lines[0] == "chatctl: %s: %s: Permission denied" % (c, path),
                  "%s: stderr %r" % (c, r.stderr))
            check(lines[1] == "chatctl: hint: join group echod (usermod -aG echod $USER), "
                  "then log in again", "hint: %r" % lines[1])
        # A group-writable socket: the hint names its group.
        os.chown(path, 0, group.gr_gid)
        os.chmod(path, 0o660)
        r = as_nobody("status", "-s", path)
        check(r.returncode == 1 and "usermod -aG %s $USER" % group.gr_name in r.stderr,
              "group %s: %r" % (group.gr_name, r.stderr))
    finally:
        s.close()
        shutil.rmtree(tmp, ignore_errors=True)


def talk_output(port, nick, args=(), env=None, tty=False):
    """What chatctl talk prints with stdin a pipe (one message, then EOF)
    and stdout a pipe, or a pseudo-terminal if tty."""
    e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    e.update(env or {})
    cmd = [CHATCTL, "talk", "127.0.0.1:%d" % port, "-n", nick] + list(args)
    if not tty:
        p = subprocess.run(cmd, input=b"hello\n", capture_output=True, timeout=20, env=e)
        check(p.returncode == 0, "%s: exit %d %r" % (args, p.returncode, p.stderr))
        return p.stdout
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=slave, stderr=subprocess.PIPE,
                         env=e)
    os.close(slave)
    p.stdin.write(b"hello\n")
    p.stdin.close()
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 20)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the pty's other side is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    rc = p.wait(10)
    check(rc == 0, "%s on a tty: exit %d %r" % (args, rc, p.stderr.read()))
    return out


def test_color_always_never_auto_term_dumb_no_color():
    with Echod() as d:
        out = talk_output(d.port, "c1", ["--color=always"])
        check(b"\x1b[" in out and b"hello" in out, "--color=always, a pipe: %r" % out)
        out = talk_output(d.port, "c2", ["--colour", "always"], env={"NO_COLOR": "1"})
        check(b"\x1b[" in out, "--colour always beats NO_COLOR: %r" % out)
        out = talk_output(d.port, "c3", ["--color=never"], env={"TERM": "xterm"}, tty=True)
        check(b"hello" in out and b"\x1b" not in out, "--color=never on a tty: %r" % out)
        out = talk_output(d.port, "c4", env={"TERM": "xterm"}, tty=True)
        check(b"\x1b[" in out, "auto on a tty with TERM=xterm: %r" % out)
        out = talk_output(d.port, "c5", env={"TERM": "dumb"}, tty=True)
        check(b"hello" in out and b"\x1b" not in out, "auto, TERM=dumb: %r" % out)
        out = talk_output(d.port, "c6", ["--color=auto"], env={"TERM": "xterm", "NO_COLOR": "1"},
                          tty=True)
        check(b"hello" in out and b"\x1b" not in out, "auto, NO_COLOR=1: %r" % out)
        out = talk_output(d.port, "c7", env={"TERM": "xterm"})
        check(b"hello" in out and b"\x1b" not in out, "auto into a pipe: %r" % out)


def complete(*words):
    """COMPREPLY of the completion function for the words typed so far
    (the last one is the word being completed)."""
    if shutil.which("bash") is None:
        raise Skip("no bash")
    script = ". %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_chatctl\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n" % (
        COMPLETION, " ".join("'%s'" % w for w in words), len(words) - 1)
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 0 and r.stderr == "", "bash: %d %r" % (r.returncode, r.stderr))
    return set(r.stdout.split())


def test_bash_completion_commands_and_options():
    check(complete("chatctl", "") == set(commands()) | {"--help", "--version"},
          "chatctl <TAB>: %s" % complete("chatctl", ""))
    check(complete("chatctl", "st") == {"status"}, "chatctl st<TAB>")
    for c in commands():
        want = set()
        for name, letter in options(c).items():
            want |= {"--" + name} | ({"-" + letter} if letter else set())
        got = complete("chatctl", c, "-")
        # Aliases (--colour) may be offered too, nothing else.
        check(want <= got and got - want <= {"--colour"},
              "chatctl %s -<TAB>: %s, --help says %s" % (c, sorted(got), sorted(want)))
    check(complete("chatctl", "ping", "-") == {"-c", "--count", "-S", "--size", "-h", "--help"},
          "chatctl ping -<TAB>")
    check(complete("chatctl", "talk", "h", "--color", "=", "") == {"auto", "always", "never"},
          "--color=<TAB>")
    check(complete("chatctl", "talk", "h", "--color", "=", "n") == {"never"}, "--color=n<TAB>")
    check(complete("chatctl", "help", "re") == {"reload"}, "help re<TAB>")
