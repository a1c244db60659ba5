# echod and chatctl.
#
#   make          build daemon/echod and ctl/chatctl
#   make run      install missing build dependencies, build, run echod in the
#                 foreground on 127.0.0.1:5188 with conf/echod.ini
#   make check    install missing dependencies, build, run every test
#   make check SANITIZE=1   the same, built with ASan+UBSan (also: check-asan)
#   make bench    side-by-side benchmarks (bench/compare)
#   make fuzz     run every libFuzzer target for FUZZ_SECONDS (default 60)
#   make install / uninstall   honour DESTDIR and PREFIX (default /usr/local)

VERSION   = 0.1.0
PREFIX   ?= /usr/local
CC       ?= gcc
PKG_CONFIG ?= pkg-config

WARNFLAGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wcast-qual -Wformat=2 -Werror
OPTFLAGS ?= -O2 -g
HARDEN    = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CPPFLAGS += -D_GNU_SOURCE -DECHOD_VERSION=\"$(VERSION)\" -Icommon -Idaemon -Ictl
CFLAGS   += -std=c11 $(OPTFLAGS) $(WARNFLAGS) $(HARDEN) -MMD -MP

# SANITIZE=1: ASan+UBSan, dynamically linked (the sanitizers need it).
# Otherwise echod is linked statically: a small static process forks about
# 1.4x faster than a dynamically linked one on this kind of VM, and fork is
# echod's one real cost per connection (see BENCHMARKS.md).
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
  FLAVOR    = asan
  SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
  CFLAGS   += $(SANFLAGS)
  LDFLAGS  += $(SANFLAGS)
  STATIC    = 0
else
  FLAVOR    = release
  STATIC   ?= 1
endif
ifeq ($(STATIC),1)
  ECHOD_LDFLAGS = -static-pie
else
  ECHOD_LDFLAGS = -pie -Wl,-z,now -Wl,-z,relro
endif
LDFLAGS += -Wl,-z,now -Wl,-z,relro

B = build/$(FLAVOR)
# Switching flavour relinks the programs (objects live per flavour).
FLAVOR_STAMP = build/.flavor-$(FLAVOR)

INIH_LIBS     = $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)
CMOCKA_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
READLINE_LIBS = $(shell $(PKG_CONFIG) --libs readline 2>/dev/null || echo -lreadline)

COMMON_SRCS = common/util.c common/addr.c common/utf8.c common/linebuf.c \
              common/chatproto.c
DAEMON_SRCS = daemon/config.c daemon/log.c daemon/journal.c daemon/notify.c \
              daemon/counters.c daemon/conntable.c daemon/classify.c \
              daemon/listener.c daemon/supervisor.c daemon/control.c \
              daemon/worker.c daemon/echo.c daemon/chat.c daemon/hub.c

CTL_SRCS    = ctl/chatctl.c ctl/net.c ctl/args.c ctl/target.c ctl/conn.c \
              ctl/display.c ctl/slash.c ctl/tui.c ctl/talk.c ctl/who.c \
              ctl/pingstat.c ctl/ping.c ctl/status.c
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

PROGRAMS = daemon/echod ctl/chatctl

.PHONY: all run check check-asan tests deps deps-check clean distclean \
        install uninstall bench fuzz
all: $(PROGRAMS)

$(FLAVOR_STAMP):
	@mkdir -p build && rm -f build/.flavor-* && touch $@

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJS)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBDAEMON): $(DAEMON_OBJS)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBCTL): $(LIBCTL_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

daemon/echod: $(B)/daemon/echod.o $(LIBDAEMON) $(LIBCOMMON) $(FLAVOR_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) $(ECHOD_LDFLAGS) -o $@ $(B)/daemon/echod.o \
	    $(LIBDAEMON) $(LIBCOMMON) $(INIH_LIBS)

# chatctl is linked dynamically: it forks nothing per connection.
ctl/chatctl: $(CTL_OBJS) $(LIBCOMMON) $(FLAVOR_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -pie -o $@ $(CTL_OBJS) $(LIBCOMMON) \
	    $(READLINE_LIBS)

# Unit tests link the daemon, chatctl and common libraries; a test may wrap
# system calls with -Wl,--wrap (list them in a "// WRAP: sym sym" comment).
$(B)/tests/%: tests/unit/%.c $(LIBDAEMON) $(LIBCTL) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DECHOD_SRCDIR=\"$(CURDIR)\" $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(foreach s,$(shell sed -n 's|^// WRAP: ||p' $<),-Wl,--wrap=$(s)) \
	    $(LIBDAEMON) $(LIBCTL) $(LIBCOMMON) $(INIH_LIBS) $(READLINE_LIBS) \
	    $(CMOCKA_LIBS)

tests: $(UNIT_BINS)

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

clean:
	rm -rf build $(PROGRAMS)

distclean: clean

-include $(wildcard $(B)/*/*.d $(B)/tests/*.d)
