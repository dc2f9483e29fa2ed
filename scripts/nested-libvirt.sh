#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Copyright (c) 2026 The qemu-snp authors
#
# make nested-libvirt-check: the libvirt test (tests/libvirt/libvirt-test.py,
# make libvirt-check) with its SNP half, on a machine without /dev/kvm:
# inside the nested L1 (scripts/nested-kvm.sh), whose /dev/kvm carries the
# SNP host simulator, and whose root is an overlay that vanishes with it
# (NESTED_ROOT=rw), so that the packages the test installs never touch
# this machine.  Its own bed directory, build/nested-libvirt.
#
# On this machine, as root:
#  1. the packages of make deb (built when build/deb lacks them; a note
#     when they are older than the build), copied to
#     build/nested-libvirt/debs;
#  2. every package the test's apt-get install would install, fetched
#     into build/nested-libvirt/archives by the test itself
#     (libvirt-test.py --download-only: the same request, the same target
#     release): L1 has no network.  Nothing is installed here: the
#     packages, apt's marks, users and groups are compared before and
#     after, and any difference fails the run;
#  3. L1 runs tests/libvirt/nested-l1.sh (the test with --offline: apt
#     installs from that directory alone).
#
# Prints L1's console with the test's TAP (the check names of make
# libvirt-check) and ends with "nested-libvirt: N passed, N failed"; the
# TAP is in build/nested-libvirt/check/libvirt.tap, the test's work
# directory in build/nested-libvirt/libvirt.  L1 is booted again only
# when its own kernel crashed (emulated SVM under TCG), at most
# NESTED_LIBVIRT_TRIES times (default 2); a failed check is never retried.
#
# Environment: NESTED_TIMEOUT (default 5400), NESTED_MEM, NESTED_SMP
# (scripts/nested-kvm.sh), NESTED_LIBVIRT_TIMEOUT, NESTED_LIBVIRT_SLOW,
# NESTED_LIBVIRT_ARGS (tests/libvirt/nested-l1.sh).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
D=build/nested-libvirt
TRIES=${NESTED_LIBVIRT_TRIES:-2}

say() { echo "nested-libvirt: $*"; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, and scripts/nested-kvm.sh)"
mkdir -p "$D"

# 1. Our packages, as make deb makes them (built only where build/deb has
#    none: make deb empties build/deb first, which another check may be
#    using), in the bed's own copy.
for p in qemu-system-x86-snp snp-certs; do
    deb=$(find build/deb -maxdepth 1 -name "${p}_*.deb" 2>/dev/null | head -1)
    if [ -z "$deb" ]; then
        say "make deb (build/deb has no $p)"
        sh scripts/build-deb.sh > build/deb.log 2>&1 ||
            { tail -20 build/deb.log; die "make deb failed (build/deb.log)"; }
        break
    fi
    for f in build/bin/qemu-system-x86_64 build/bin/snp-certs; do
        if [ -n "$(find -L "$f" -newer "$deb" 2>/dev/null)" ]; then
            say "note: $deb is older than $f: the test runs the package (make deb builds it again)"
            break
        fi
    done
done
rm -rf "$D/debs"
mkdir -p "$D/debs"
cp build/deb/qemu-system-x86-snp_*.deb build/deb/snp-certs_*.deb "$D/debs/" ||
    die "no packages in build/deb"

# 2. libvirt's packages, fetched by the test itself; nothing installed.
state() {
    dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n'
    apt-mark showauto | sed 's/^/auto /'
    getent passwd | cut -d: -f1 | sed 's/^/user /'
    getent group | cut -d: -f1 | sed 's/^/group /'
}
state > "$D/host-before.txt"
python3 tests/libvirt/libvirt-test.py --download-only \
    --apt-archives "$D/archives" || die "cannot fetch libvirt's packages"
state > "$D/host-after.txt"
if ! cmp -s "$D/host-before.txt" "$D/host-after.txt"; then
    diff "$D/host-before.txt" "$D/host-after.txt"
    die "fetching the packages changed this machine (above)"
fi
say "this machine is unchanged ($(grep -c ' ii ' "$D/host-after.txt") packages installed, as before)"

# What a killed L1 left in the work tree describes a machine that is gone.
rm -rf "$D/check" "$D/libvirt"

# 3. The test in L1.
n=0
while :; do
    n=$((n + 1))
    rm -f "$D/console.log"
    start=$(date +%s)
    NESTED_DIR=$D NESTED_ROOT=rw NESTED_TIMEOUT=${NESTED_TIMEOUT:-5400} \
        sh scripts/nested-kvm.sh env NESTED_LIBVIRT_DIR=$D \
        NESTED_LIBVIRT_TIMEOUT="${NESTED_LIBVIRT_TIMEOUT:-900}" \
        NESTED_LIBVIRT_SLOW="${NESTED_LIBVIRT_SLOW:-10}" \
        NESTED_LIBVIRT_ARGS="${NESTED_LIBVIRT_ARGS:-}" \
        sh tests/libvirt/nested-l1.sh
    st=$?
    say "run $n: exit status $st after $(( $(date +%s) - start )) s"
    if [ $st = 125 ] && [ $n -lt "$TRIES" ] &&
       grep -qE 'Kernel panic|BUG: |Oops|general protection fault|corrupted stack end' \
           "$D/console.log" 2>/dev/null; then
        say "retry: L1's kernel crashed:"
        grep -m 3 -E 'Kernel panic|BUG: |Oops|general protection fault|corrupted stack end' \
            "$D/console.log"
        continue
    fi
    break
done
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$D/output.log" 2>/dev/null | tail -1)
[ -n "$summary" ] || summary="0 passed, 1 failed (L1 did not finish: $D/console.log)"
say "$summary"
exit "$st"
