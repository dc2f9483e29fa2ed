#!/bin/sh
# The patch series a QEMU maintainer reads, for one QEMU line, made from
# what we build: build/patches/qemu-LINE/NNNN-*.patch (git format-patch,
# with a cover letter) against that line's Debian source as fetched.
# Its commits and what goes into each: subprojects/packagefiles/upstream/
# (docs/devel/upstreaming.rst).
#
#   scripts/make-patches.sh LINE          write the series
#   scripts/make-patches.sh --check LINE  TAP: checkpatch.pl, git am onto
#                                         a fresh copy of the source, the
#                                         result equal to the prepared
#                                         tree (minus test-only code)
set -eu
mode=make
if [ "${1:-}" = --check ]; then
    mode=check
    shift
fi
LINE=${1:?usage: make-patches.sh [--check] LINE}
if [ "$mode" = make ]; then
    sh scripts/fetch-qemu.sh "$LINE" >/dev/null
fi
exec /usr/bin/python3 scripts/make-patches.py "$mode" "$LINE"
