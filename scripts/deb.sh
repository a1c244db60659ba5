#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# scripts/deb.sh: `make deb`. Builds the binary Debian package of this
# tree into build/deb/ (echod_VERSION-REV_ARCH.deb, its -dbgsym package,
# .buildinfo and .changes), with dpkg-buildpackage -b in a copy of the
# sources, build/deb/src/echod-VERSION/, so that this tree's own build/
# and debian/ stay as they are (dh_auto_clean would remove build/). The
# copy is what git tracks, as it is in the work tree (uncommitted edits
# included), and new files git does not ignore; outside git, every file
# but build outputs. The copy is removed after a successful build.
set -eu
cd "$(dirname "$0")/.."

version=$(sed -n 's/^VERSION *= *//p' Makefile)
debver=$(dpkg-parsechangelog -SVersion)
case $debver in
"$version"-*) ;;
*)
	echo "deb: debian/changelog is at $debver, the Makefile's VERSION is $version:" \
	    "add a changelog entry (dch -v $version-1)" >&2
	exit 1 ;;
esac

out=build/deb
src=$out/src/echod-$version
rm -rf "$out"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	gone=$(mktemp)
	trap 'rm -f "$gone"' EXIT
	git ls-files --deleted >"$gone"
	git ls-files --cached --others --exclude-standard | grep -vxF -f "$gone" |
	    tar --verbatim-files-from -T - -cf - | tar -C "$src" -xf -
else
	tar --exclude=./build --exclude=./debian/echod --exclude=./debian/.debhelper \
	    --exclude='./daemon/echod' --exclude='./daemon/echod-engine' \
	    --exclude='./ctl/chatctl' -cf - . | tar -C "$src" -xf -
fi

# A build of its own: nothing of the make that called us (its jobserver).
unset MAKEFLAGS MFLAGS MAKELEVEL
echo "deb: dpkg-buildpackage -us -uc -b in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b -jauto) >"$out/build.log" 2>&1 || {
	tail -40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed; the whole log: $out/build.log" >&2
	exit 1
}
mv "$out"/src/*.deb "$out"/src/*.buildinfo "$out"/src/*.changes "$out"/
for f in "$out"/src/*.ddeb; do [ -e "$f" ] && mv "$f" "$out"/; done
rm -rf "$out/src"
ls -l "$out"/*.deb
