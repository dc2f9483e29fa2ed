#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Copyright (c) 2026 The qemu-snp authors
#
# make nested-libvirt-check, the part that runs inside the nested L1
# (scripts/nested-kvm.sh with NESTED_ROOT=rw, started by
# scripts/nested-libvirt.sh, which fetched the packages beforehand):
# the whole libvirt test (tests/libvirt/libvirt-test.py), its SNP half
# included, on L1's /dev/kvm.  L1's root is an overlay whose changes stay
# in L1's memory, so the packages the test installs (and removes) never
# reach the host.  Prints the test's TAP and ends with
# "N passed, N failed"; a SKIP inside L1 is a failure here.
#
# What L1's minimal init lacks and a Debian host has, provided here
# (never on the host: all of it is L1's own):
#   /run/lock        the test's lock of one run a machine (L1's /run is
#                    an empty tmpfs);
#   /sys/fs/cgroup   a cgroup2 mount, as systemd leaves a Debian 12 host:
#                    libvirt puts each domain in a cgroup of its own
#                    (machine/...) and controls its devices there;
#   /dev/kvm 0666    udev's rule on Debian (systemd's dev-kvm-mode):
#                    QEMU runs as libvirt-qemu, and libvirt gives a
#                    domain's /dev the node's own owner and mode.
# And one thing a host has that L1 does without: man-db's trigger
# (/var/lib/man-db/auto-update, debconf's man-db/auto-update), whose mandb
# over this machine's man pages took 12 of a run's 19 minutes under TCG.
#
# Environment (scripts/nested-libvirt.sh sets them):
#   NESTED_LIBVIRT_DIR       the bed's directory in the work tree
#                            (default build/nested-libvirt): archives/
#                            (the packages), debs/ (ours), check/ (TAP),
#                            libvirt/ (the test's work directory, copied
#                            from L1's tmpfs at the end)
#   NESTED_LIBVIRT_TIMEOUT   the test's --timeout (default 900)
#   NESTED_LIBVIRT_SLOW      the test's --slow (default 10)
#   NESTED_LIBVIRT_ARGS      more arguments for the test (--broken, ...)
set -u
say() { echo "nested-libvirt: $*"; }
secs() { awk '{printf "%d", $1}' /proc/uptime; }

# Only in the bed's L1 with its throw-away root: what follows changes
# the system it runs on.
if ! grep -q 'nested\.root=rw' /proc/cmdline ||
   [ "$(awk '$2 == "/" {print $3}' /proc/mounts | tail -1)" != overlay ]; then
    say "not in the nested L1 with NESTED_ROOT=rw: run scripts/nested-libvirt.sh"
    exit 1
fi
[ -c /dev/kvm ] || { say "no /dev/kvm in L1"; exit 1; }

D=${NESTED_LIBVIRT_DIR:-build/nested-libvirt}
LOG=$D/check
# The test's work directory on L1's tmpfs: libvirt's sockets (the
# daemon's, QEMU's monitor) and state would be on 9p in the work tree.
W=/tmp/nested-libvirt
rm -rf "$LOG" "$W" "$D/libvirt"
mkdir -p "$LOG" "$W"

mkdir -p /run/lock
chmod 1777 /run/lock
if ! mountpoint -q /sys/fs/cgroup; then
    mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup ||
        say "cannot mount cgroup2 on /sys/fs/cgroup"
fi
chmod 0666 /dev/kvm
rm -f /var/lib/man-db/auto-update

t0=$(secs)
# One rotation of the attestation race takes about 4 s of L1's time
# (docs/devel/snp-host-sim.rst): 12 s for at least 2.
# shellcheck disable=SC2086
{
    python3 tests/libvirt/libvirt-test.py \
        --workdir "$W/libvirt" --debs "$D/debs" \
        --apt-archives "$D/archives" --offline \
        --slow "${NESTED_LIBVIRT_SLOW:-10}" \
        --timeout "${NESTED_LIBVIRT_TIMEOUT:-900}" \
        --seconds 12 --min-rotations 2 \
        ${NESTED_LIBVIRT_ARGS:-} 2>&1
    echo $? > "$W/status"
} | tee "$LOG/libvirt.tap"
st=$(cat "$W/status" 2>/dev/null || echo 1)
say "libvirt-test.py: exit status $st after $(( $(secs) - t0 )) s"

# What the run left in its work directory (the domains' XML, the host
# directory's copy, libvirt's logs), kept in the work tree; tar leaves
# out the sockets.
mkdir -p "$D/libvirt"
tar -C "$W/libvirt" -cf - . 2>/dev/null | tar -C "$D/libvirt" -xf -

pass=$(grep -cE '^ok [0-9]' "$LOG/libvirt.tap" || true)
fail=$(grep -cE '^not ok [0-9]|^Bail out!' "$LOG/libvirt.tap" || true)
if grep -q '^libvirt-check: SKIP' "$LOG/libvirt.tap"; then
    # The SNP half is what this bed is for: skipped is failed.
    echo "not ok $((pass + fail + 1)) - nested-libvirt/the-test-did-not-skip" |
        tee -a "$LOG/libvirt.tap"
    fail=$((fail + 1))
fi
if [ "$st" != 0 ] && [ "$fail" = 0 ]; then
    fail=1
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
