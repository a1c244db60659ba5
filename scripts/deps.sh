#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# scripts/deps.sh build|check|deb
#
# Install, from Debian's archive, whatever the build (or the test suite)
# needs and this machine lacks. apt-get runs only when a pkg-config, header
# or command check fails, so on a prepared machine this is a no-op.
set -eu

mode=${1:-build}
missing=""

need() { missing="$missing $1"; }
have_pc() { pkg-config --exists "$1" 2>/dev/null; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_file() { [ -e "$1" ]; }

have_cmd pkg-config || need pkg-config
have_cmd cc || need build-essential
have_cmd make || need make
have_pc inih || need libinih-dev
have_pc readline || need libreadline-dev
# STATUS's JSON in echod and chatctl; it ships the libjansson.a echod links.
have_pc jansson || need libjansson-dev
# The control plane links libsystemd (sd_notify, sd_journal_sendv...).
have_pc libsystemd || need libsystemd-dev
# The hub's Redis client ([cluster]); its libhiredis.a goes into the engine.
have_pc hiredis || need libhiredis-dev
# The engine is linked statically: libc.a comes with libc6-dev.
libc_a=$(cc -print-file-name=libc.a 2>/dev/null || echo libc.a)
have_file "$libc_a" || need libc6-dev

# make deb: dpkg-buildpackage (debian/rules also runs the unit tests).
# make check's package suite builds the package too, lints it and
# installs it into a Debian 12 root it makes with debootstrap.
if [ "$mode" = deb ] || [ "$mode" = check ]; then
	have_pc cmocka || need libcmocka-dev
	have_cmd dpkg-buildpackage || need dpkg-dev
	have_cmd dh || need debhelper
	have_cmd fakeroot || need fakeroot
fi
if [ "$mode" = check ]; then
	have_cmd lintian || need lintian
	have_cmd debootstrap || need debootstrap
fi

if [ "$mode" = check ]; then
	have_pc cmocka || need libcmocka-dev
	have_file /usr/bin/python3 || need python3
	have_cmd tmux || need tmux
	# tests/cluster starts its own redis-server and haproxy processes.
	have_cmd redis-server || need redis-server
	have_cmd haproxy || need haproxy
	have_cmd mandoc || need mandoc
	have_cmd systemd-nspawn || need systemd-container
	# tests/systemd: nsenter into the container, pgrep inside it.
	have_cmd nsenter || need util-linux
	have_cmd pgrep || need procps
	have_cmd ip || need iproute2
	have_cmd ss || need iproute2
	have_cmd clang || need clang
	# libFuzzer and the sanitizer runtimes for clang.
	have_file /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ||
	    have_file "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ||
	    need libclang-rt-14-dev
fi

[ -z "$missing" ] && exit 0
# Several checks can name the same package.
missing=$(printf '%s\n' $missing | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
