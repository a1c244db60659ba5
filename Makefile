# SPDX-License-Identifier: GPL-3.0-or-later
# echod and chatctl.
#
#   make          build daemon/echod and ctl/chatctl
#   make run      install missing build dependencies, build, run echod in the
#                 foreground on 127.0.0.1:5188 with conf/echod.ini
#   make check    install missing dependencies, build, run every test
#   make check SANITIZE=1   the same, built with ASan+UBSan (also: check-asan)
#   make bench    side-by-side benchmarks (bench/compare)
#   make bench-cluster   chat on one echod and on two nodes with Redis (bench/cluster)
#   make fuzz     run every libFuzzer target for FUZZ_SECONDS (default 60)
#   make soak     10 minutes of mixed load with faults (SOAK_SECONDS)
#   make install / uninstall   honour DESTDIR and PREFIX (default /usr/local)
#   make deb      the Debian package, in build/deb/ (scripts/deb.sh)

VERSION   = 0.1.0
PREFIX   ?= /usr/local
# Install paths. Units go where systemd looks under PREFIX (it searches
# /usr/local/lib/systemd/system and /usr/lib/systemd/system), the catalog
# where `journalctl --update-catalog` looks (/usr/local/lib/systemd/catalog
# and /usr/lib/systemd/catalog). The configuration is /etc/echod.ini
# whatever PREFIX: that is echod's compiled-in default.
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
# The engine, echod's data plane: a program only echod runs.
LIBEXECDIR ?= $(PREFIX)/lib/echod
MANDIR     ?= $(PREFIX)/share/man
# Where bash-completion loads a command's completion from, on demand.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDDIR ?= $(PREFIX)/lib/systemd
UNITDIR    ?= $(SYSTEMDDIR)/system
CATALOGDIR ?= $(SYSTEMDDIR)/catalog
# The user and group echod (group members may use chatctl status and
# reload). systemd-sysusers reads only /usr/lib, /run and /etc at boot, so
# install runs it on this file at once: the user then exists for good.
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR  = /etc
CC       ?= gcc
PKG_CONFIG ?= pkg-config

# Warnings are errors here and in CI; a distribution's build with a newer
# compiler turns that off with WERROR=0 (debian/rules does).
WERROR   ?= 1
WARNFLAGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wcast-qual -Wformat=2 $(if $(filter 1,$(WERROR)),-Werror)
OPTFLAGS ?= -O2 -g
HARDEN    = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CPPFLAGS += -D_GNU_SOURCE -DECHOD_VERSION=\"$(VERSION)\" -Icommon -Idaemon -Ictl
CFLAGS   += -std=c11 $(OPTFLAGS) $(WARNFLAGS) $(HARDEN) -MMD -MP

# Two programs: echod, the control plane, linked dynamically with
# libsystemd, inih and jansson; and echod-engine, the data plane that
# forks once per connection, linked statically against libc alone: a small
# static process forks much faster than one that maps libsystemd and its
# six libraries (BENCHMARKS.md), and a process that parses client bytes
# should map no compression or crypto code. SANITIZE=1: ASan+UBSan, both
# dynamically linked (the sanitizers need it).
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
  FLAVOR    = asan
  SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
  CFLAGS   += $(SANFLAGS)
  CPPFLAGS += -DECHOD_SANITIZE
  LDFLAGS  += $(SANFLAGS)
  STATIC    = 0
  # Children end with _exit, which skips LeakSanitizer: daemon/sanitize.c
  # wraps it with a leak check.
  ECHOD_WRAP = -Wl,--wrap=_exit
else
  FLAVOR    = release
  STATIC   ?= 1
endif
ifeq ($(STATIC),1)
  ENGINE_LDFLAGS = -static-pie
else
  ENGINE_LDFLAGS = -pie
endif
ECHOD_LDFLAGS = -pie
LDFLAGS += -Wl,-z,now -Wl,-z,relro

B = build/$(FLAVOR)
# Switching flavour relinks the programs (objects live per flavour).
FLAVOR_STAMP = build/.flavor-$(FLAVOR)

INIH_LIBS     = $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)
JANSSON_LIBS  = $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
CMOCKA_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
READLINE_LIBS = $(shell $(PKG_CONFIG) --libs readline 2>/dev/null || echo -lreadline)
SYSTEMD_LIBS  = $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null || echo -lsystemd)
# The hub's Redis client ([cluster], daemon/cluster.c): linked into the
# static engine, so a host without Redis needs nothing more at run time.
HIREDIS_LIBS  = $(shell $(PKG_CONFIG) --libs hiredis 2>/dev/null || echo -lhiredis)

COMMON_SRCS = common/util.c common/addr.c common/utf8.c common/uniformat.c \
              common/linebuf.c common/ipc.c common/chatproto.c common/nickfold.c \
              common/proxyproto.c
# The data plane's objects (echod-engine links nothing else), then the
# control plane's.
ENGINE_SRCS = daemon/engine.c daemon/worker.c daemon/echo.c daemon/chat.c \
              daemon/hub.c daemon/pace.c daemon/rooms.c daemon/history.c \
              daemon/crowd.c daemon/cluster.c \
              daemon/remain.c \
              daemon/classify.c daemon/proxyhdr.c \
              daemon/conntable.c daemon/counters.c daemon/ratelimit.c \
              daemon/lograte.c \
              daemon/log.c daemon/logrec.c daemon/sanitize.c
CTLPLANE_SRCS = daemon/ctlplane.c daemon/control.c daemon/config.c \
              daemon/listener.c daemon/journal.c
DAEMON_SRCS = $(ENGINE_SRCS) $(CTLPLANE_SRCS)

CTL_SRCS    = ctl/chatctl.c ctl/errmsg.c ctl/grammar.c ctl/help.c ctl/args.c \
              ctl/colormode.c ctl/net.c ctl/target.c ctl/conn.c \
              ctl/display.c ctl/wrap.c ctl/slash.c ctl/complete.c ctl/tui.c ctl/talk.c ctl/who.c \
              ctl/pingstat.c ctl/ping.c ctl/status.c ctl/statusreply.c \
              ctl/backoff.c ctl/split.c ctl/outbox.c
CTL_OBJS    = $(CTL_SRCS:%.c=$(B)/%.o)
# Everything but main(), for unit tests.
LIBCTL_OBJS = $(filter-out $(B)/ctl/chatctl.o,$(CTL_OBJS))

COMMON_OBJS = $(COMMON_SRCS:%.c=$(B)/%.o)
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(B)/%.o)
LIBCOMMON   = $(B)/libcommon.a
LIBDAEMON   = $(B)/libdaemon.a
LIBCTL      = $(B)/libctl.a

UNIT_SRCS   = $(wildcard tests/unit/test_*.c)
UNIT_BINS   = $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
FUZZ_TARGETS = config classify chatproto termesc rooms logrec history cluster \
               proxyproto
REPLAY_BINS  = $(FUZZ_TARGETS:%=$(B)/fuzz/replay_%)

PROGRAMS = daemon/echod daemon/echod-engine ctl/chatctl

.PHONY: all run check check-asan tests deps deps-check clean distclean \
        install uninstall systemd-refresh bench fuzz fuzz-build soak
all: $(PROGRAMS)

$(FLAVOR_STAMP):
	@mkdir -p build && rm -f build/.flavor-* && touch $@

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Remade when the Makefile changes too: a source taken off a list must
# leave its library (a stale common/json.o would shadow jansson's names).
$(LIBCOMMON): $(COMMON_OBJS) Makefile
	rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
$(LIBDAEMON): $(DAEMON_OBJS) Makefile
	rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
$(LIBCTL): $(LIBCTL_OBJS) Makefile
	rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)

daemon/echod: $(B)/daemon/echod.o $(LIBDAEMON) $(LIBCOMMON) $(FLAVOR_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) $(ECHOD_LDFLAGS) $(ECHOD_WRAP) -pthread \
	    -o $@ $(B)/daemon/echod.o \
	    $(LIBDAEMON) $(LIBCOMMON) $(INIH_LIBS) $(JANSSON_LIBS) \
	    $(SYSTEMD_LIBS)

# Only libc: anything here that reached for libsystemd would not link.
daemon/echod-engine: $(B)/daemon/engine_main.o $(LIBDAEMON) $(LIBCOMMON) \
    $(FLAVOR_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) $(ENGINE_LDFLAGS) $(ECHOD_WRAP) -o $@ \
	    $(B)/daemon/engine_main.o $(LIBDAEMON) $(LIBCOMMON) $(HIREDIS_LIBS)

# Where echod looks for the engine when none sits next to it; rebuilt
# when LIBEXECDIR changes.
ENGINE_PATH_STAMP = $(B)/.engine-path
$(ENGINE_PATH_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIBEXECDIR)/echod-engine' | cmp -s - $@ || \
	    echo '$(LIBEXECDIR)/echod-engine' > $@
$(B)/daemon/ctlplane.o: $(ENGINE_PATH_STAMP)
$(B)/daemon/ctlplane.o: CPPFLAGS += \
    -DECHOD_ENGINE_PATH=\"$(LIBEXECDIR)/echod-engine\"
.PHONY: FORCE
FORCE:

# chatctl is linked dynamically: it forks nothing per connection.
ctl/chatctl: $(CTL_OBJS) $(LIBCOMMON) $(FLAVOR_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -pie -o $@ $(CTL_OBJS) $(LIBCOMMON) \
	    $(READLINE_LIBS) $(JANSSON_LIBS)

# Unit tests link the daemon, chatctl and common libraries; a test may wrap
# system calls with -Wl,--wrap (list them in a "// WRAP: sym sym" comment).
$(B)/tests/%: tests/unit/%.c $(LIBDAEMON) $(LIBCTL) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DECHOD_SRCDIR=\"$(CURDIR)\" $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(foreach s,$(shell sed -n 's|^// WRAP: ||p' $<),-Wl,--wrap=$(s)) \
	    $(LIBDAEMON) $(LIBCTL) $(LIBCOMMON) $(INIH_LIBS) $(READLINE_LIBS) \
	    $(JANSSON_LIBS) $(SYSTEMD_LIBS) $(HIREDIS_LIBS) $(CMOCKA_LIBS) -pthread

tests: $(UNIT_BINS) $(REPLAY_BINS)

deps:
	@scripts/deps.sh build
deps-check:
	@scripts/deps.sh check

run: deps
	@$(MAKE) --no-print-directory all
	@echo "echod: listening on 127.0.0.1:5188 (conf/echod.ini). Connect with" \
	      "'nc 127.0.0.1 5188' (echo) or 'ctl/chatctl talk localhost' (chat);" \
	      "Ctrl-C stops it."
	daemon/echod -d -c conf/echod.ini

check: deps-check
	@$(MAKE) --no-print-directory all tests
	@BUILD=$(B) SANITIZE=$(SANITIZE) tests/run

check-asan:
	@$(MAKE) --no-print-directory SANITIZE=1 check

# Soak test (not in CI): SOAK_SECONDS of mixed load with faults; the
# result goes to BENCHMARKS.md by hand.
SOAK_SECONDS ?= 600
soak: deps-check
	@$(MAKE) --no-print-directory all
	SOAK_SECONDS=$(SOAK_SECONDS) /usr/bin/python3 tests/soak/soak.py

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets (fuzz/fuzz_*.c), built with clang. `make fuzz` runs
# each for FUZZ_SECONDS on a scratch copy of its corpus (build/fuzz/) and
# stops at the first crash, whose input is left in build/fuzz/artifacts/.
# The same targets are built with $(CC) against fuzz/replay.c for
# `make check`, which replays fuzz/seeds/ and fuzz/regress/ (every crash
# found, kept as a regression input).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FZ            = build/fuzz
FUZZ_CFLAGS   = -std=c11 -g -O1 $(WARNFLAGS) -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz_srcs_config    = daemon/config.c common/util.c common/addr.c \
                      common/chatproto.c common/utf8.c common/uniformat.c
fuzz_srcs_classify  = daemon/classify.c
fuzz_srcs_chatproto = common/chatproto.c common/utf8.c common/uniformat.c \
                      common/linebuf.c daemon/crowd.c
fuzz_srcs_termesc   = common/chatproto.c common/utf8.c common/uniformat.c
fuzz_srcs_rooms     = daemon/rooms.c common/nickfold.c common/chatproto.c \
                      common/utf8.c common/uniformat.c
fuzz_srcs_logrec    = daemon/logrec.c
fuzz_srcs_history   = daemon/history.c
fuzz_srcs_cluster   = daemon/cluster.c daemon/log.c daemon/logrec.c \
                      daemon/lograte.c common/util.c common/addr.c common/ipc.c \
                      common/chatproto.c common/utf8.c common/uniformat.c
# log.c builds a format from parts (clang warns where gcc does not).
fuzz_libs_cluster   = -Wno-format-nonliteral $(HIREDIS_LIBS)
fuzz_srcs_proxyproto = common/proxyproto.c
fuzz_libs_config    = $(INIH_LIBS)

.SECONDEXPANSION:
$(FZ)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $$(fuzz_srcs_$$*)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -Ifuzz $(FUZZ_CFLAGS) -o $@ $< \
	    $(fuzz_srcs_$*) $(fuzz_libs_$*)

$(B)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay.c fuzz/fuzz.h $(LIBDAEMON) \
    $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ifuzz $(CFLAGS) $(LDFLAGS) -o $@ $< fuzz/replay.c \
	    $(LIBDAEMON) $(LIBCOMMON) $(INIH_LIBS) $(SYSTEMD_LIBS) \
	    $(HIREDIS_LIBS) -pthread

fuzz-build: $(FUZZ_TARGETS:%=$(FZ)/fuzz_%)

fuzz: deps-check
	@$(MAKE) --no-print-directory fuzz-build
	@FZ=$(FZ) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run $(FUZZ_TARGETS)

# ------------------------------------------------------------- install
# Binaries, units (generated from their templates with the installed
# paths), the journal catalog, man pages, chatctl's bash completion, and
# /etc/echod.ini only if there is none: a user's file is never overwritten
# (nor removed by uninstall).
# Without DESTDIR, and where they exist, the catalog database is updated
# and a running systemd is told to re-read its units.
MANPAGES = man/echod.8 man/echod.ini.5 man/chatctl.1
UNIT_SED = -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g'

install: all
	@if [ "$(SANITIZE)" = 1 ]; then \
	    echo "install: build without SANITIZE=1 (the installed engine is static)" >&2; \
	    exit 1; fi
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSCONFDIR)
	install -m 0755 daemon/echod $(DESTDIR)$(SBINDIR)/echod
	install -m 0755 daemon/echod-engine $(DESTDIR)$(LIBEXECDIR)/echod-engine
	install -m 0755 ctl/chatctl $(DESTDIR)$(BINDIR)/chatctl
	sed $(UNIT_SED) systemd/echod.service.in > $(DESTDIR)$(UNITDIR)/echod.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/echod.service.tmp
	mv -f $(DESTDIR)$(UNITDIR)/echod.service.tmp $(DESTDIR)$(UNITDIR)/echod.service
	install -m 0644 systemd/echod.socket $(DESTDIR)$(UNITDIR)/echod.socket
	install -m 0644 systemd/echod.catalog $(DESTDIR)$(CATALOGDIR)/echod.catalog
	install -m 0644 systemd/echod.sysusers $(DESTDIR)$(SYSUSERSDIR)/echod.conf
	install -m 0644 man/chatctl.1 $(DESTDIR)$(MANDIR)/man1/chatctl.1
	install -m 0644 man/echod.ini.5 $(DESTDIR)$(MANDIR)/man5/echod.ini.5
	install -m 0644 man/echod.8 $(DESTDIR)$(MANDIR)/man8/echod.8
	install -m 0644 completion/chatctl.bash $(DESTDIR)$(BASHCOMPDIR)/chatctl
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/echod.ini ]; then \
	    echo "install: keeping the existing $(DESTDIR)$(SYSCONFDIR)/echod.ini"; \
	else \
	    echo "install -m 0644 conf/echod.ini $(DESTDIR)$(SYSCONFDIR)/echod.ini"; \
	    install -m 0644 conf/echod.ini $(DESTDIR)$(SYSCONFDIR)/echod.ini; \
	fi
	@$(MAKE) --no-print-directory systemd-refresh

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/echod $(DESTDIR)$(BINDIR)/chatctl \
	    $(DESTDIR)$(LIBEXECDIR)/echod-engine \
	    $(DESTDIR)$(UNITDIR)/echod.service $(DESTDIR)$(UNITDIR)/echod.socket \
	    $(DESTDIR)$(CATALOGDIR)/echod.catalog $(DESTDIR)$(SYSUSERSDIR)/echod.conf \
	    $(DESTDIR)$(MANDIR)/man1/chatctl.1 $(DESTDIR)$(MANDIR)/man5/echod.ini.5 \
	    $(DESTDIR)$(MANDIR)/man8/echod.8 $(DESTDIR)$(BASHCOMPDIR)/chatctl
	@echo "uninstall: $(DESTDIR)$(SYSCONFDIR)/echod.ini is yours: left in place"
	@echo "uninstall: the user echod is left in place (files it owned may remain)"
	@$(MAKE) --no-print-directory systemd-refresh

# Only on the real system (no DESTDIR), and only what is there: the
# catalog database, and a running systemd (/run/systemd/system exists).
systemd-refresh:
	@if [ -z "$(DESTDIR)" ]; then \
	    if [ -e $(SYSUSERSDIR)/echod.conf ] && command -v systemd-sysusers >/dev/null 2>&1; then \
	        echo "systemd-sysusers $(SYSUSERSDIR)/echod.conf"; \
	        systemd-sysusers $(SYSUSERSDIR)/echod.conf || true; fi; \
	    if command -v journalctl >/dev/null 2>&1; then \
	        echo "journalctl --update-catalog"; journalctl --update-catalog || true; fi; \
	    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then \
	        echo "systemctl daemon-reload"; systemctl daemon-reload || true; fi; \
	fi

# The Debian package (debian/), built from a copy of this tree.
.PHONY: deb
deb:
	@scripts/deps.sh deb
	@scripts/deb.sh

clean: bench-clean
	rm -rf build $(PROGRAMS)

distclean: clean

BENCH_DEPS = deps-check
include bench/bench.mk

-include $(wildcard $(B)/*/*.d $(B)/tests/*.d $(B)/fuzz/*.d)
