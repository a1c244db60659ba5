# SPDX-License-Identifier: GPL-3.0-or-later
# bench/bench.mk: the benchmark tools. The top-level Makefile includes this
# file; it also works alone, from the top of the tree:
#	make -f bench/bench.mk bench/echobench
# Variables used (set them on the command line or before the include):
#	CC, WARNFLAGS, OPTFLAGS

# make predefines CC as cc, so a plain "CC ?= gcc" would never apply.
ifeq ($(origin CC),default)
CC = gcc
endif
WARNFLAGS ?= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wcast-qual -Wformat=2 -Werror
OPTFLAGS ?= -O2 -g

bench/echobench: bench/echobench.c
	$(CC) -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNFLAGS) -o $@ bench/echobench.c

bench/epoll_echo: bench/epoll_echo.c
	$(CC) -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNFLAGS) -o $@ bench/epoll_echo.c

# Dynamically linked on purpose: the floor is an ordinary forking program.
bench/forkloop_echo: bench/forkloop_echo.c
	$(CC) -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNFLAGS) -o $@ bench/forkloop_echo.c

# The same loop linked statically: what any server paying one fork per
# connection can reach on this machine, the practical ceiling for echod.
bench/forkloop_echo_static: bench/forkloop_echo.c
	$(CC) -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNFLAGS) -static -o $@ bench/forkloop_echo.c

# What fork + _exit + waitpid costs from a static process, a dynamic one,
# and one that maps libsystemd (make bench prints all three).
bench/forkcost_static: bench/forkcost.c
	$(CC) -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNFLAGS) -static -o $@ bench/forkcost.c
bench/forkcost_dynamic: bench/forkcost.c
	$(CC) -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNFLAGS) -o $@ bench/forkcost.c
bench/forkcost_systemd: bench/forkcost.c
	$(CC) -std=c11 -D_GNU_SOURCE -DFORKCOST_SYSTEMD $(OPTFLAGS) $(WARNFLAGS) -o $@ \
	    bench/forkcost.c $$(pkg-config --libs libsystemd)
FORKCOST = bench/forkcost_static bench/forkcost_dynamic bench/forkcost_systemd

# Side-by-side comparison, about 10 minutes; the table goes to stdout and to
# bench/results/latest.md. Needs root (installs peers, boots a container).
# BENCH_DEPS: what must come first (the top-level Makefile: deps-check, so
# that a fresh machine installs inih and friends before echod is built).
# RELEASE=REF: the commit built and run as peer release (default: 48ed535,
# or $ECHOD_RELEASE); VARIANTS="NAME=PATH ...": other echod builds run
# beside echod in crr and rr (A/B).
bench: $(BENCH_DEPS) bench/echobench bench/epoll_echo bench/forkloop_echo \
    bench/forkloop_echo_static $(FORKCOST) daemon/echod daemon/echod-engine
	bench/compare --echod daemon/echod $(if $(RELEASE),--release $(RELEASE)) \
	    $(foreach v,$(VARIANTS),--variant $(v))

# Chat at scale (issue 14), 2 to 5 minutes, opt-in: flash crowds of 3000
# and 5000, fan-out to 1000 x 1/s and 2000 x 0.5/s with the hub's CPU per
# delivered line, PSS per member with 10,000 in 10 rooms; echod and the
# release. Its table goes to bench/results/scale.md (and scale.json).
bench-scale: $(BENCH_DEPS) bench/echobench daemon/echod daemon/echod-engine
	bench/compare --modes scale --peers echod,release --no-limits \
	    --echod daemon/echod $(if $(RELEASE),--release $(RELEASE)) \
	    -o bench/results/scale.md

# Beyond one host (issue 13), about a minute: the chat cell (100 members x
# 5 lines/s) on one echod and on two nodes sharing the room through a
# redis-server, direct and behind haproxy (send-proxy-v2), in one run, and
# the XADD round trip alone with appendfsync always and everysec. Needs
# redis-server and haproxy (deps-check installs them). Its table goes to
# bench/results/cluster.md (and cluster.json).
bench-cluster: $(BENCH_DEPS) bench/echobench daemon/echod daemon/echod-engine
	bench/cluster -o bench/results/cluster.md

bench-clean:
	rm -f bench/echobench bench/epoll_echo bench/forkloop_echo bench/forkloop_echo_static \
	    $(FORKCOST)
	rm -rf bench/results

.PHONY: bench bench-scale bench-cluster bench-clean
