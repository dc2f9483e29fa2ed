#!/bin/sh
# Start libvirt's daemon (virtqemud, or libvirtd) with the libvirt test's
# own directories, in a mount namespace of its own.  Run as
#
#   unshare --mount --propagation private sh libvirt-ns.sh ROOT DAEMON
#
# so that nothing mounted here is seen by the rest of the machine and all
# of it goes when the daemon exits:
#
#   /run                  an empty tmpfs (no D-Bus: libvirt registers no
#                         machine with systemd-machined), with
#   /run/libvirt          ROOT/run  (sockets, pid files, domain state)
#   /etc/libvirt          ROOT/etc  (DAEMON.conf, qemu.conf, domains)
#   /var/lib/libvirt      ROOT/lib
#   /var/cache/libvirt    ROOT/cache (the capabilities cache)
#   /var/log/libvirt      ROOT/log  (DAEMON.log, qemu/DOMAIN.log)
#   /dev                  a tmpfs holding a copy of the host's /dev: the
#                         same device nodes (numbers, owner, mode, ACLs:
#                         /dev/kvm is the host's KVM), its symbolic links
#                         and directories, the host's pts, shm, mqueue
#                         and hugepages mounts, and one node more,
#                         /dev/sev (see below).  The host's /dev is
#                         unmounted in this namespace, not covered.
#
# /dev is laid out as on a host, device nodes and not mounts, because
# libvirt builds each domain's own /dev (qemu_namespace.c) from the
# daemon's: a character or block device is mknod()ed there, anything else
# under /dev is bind-mounted in the daemon's namespace and moved into the
# domain's, and every mount under /dev is moved over as a whole, by path.
# So every path is mounted once: libvirt 11.3 prunes the sorted list of
# mount points under /dev of repeated paths, but skips the entry that
# follows a second "/dev" (the host's /dev under another), and moving a
# path that is left twice fails the second time (EINVAL: "Unable to move
# /dev/pts mount to /run/libvirt/qemu/1-NAME.pts").  Hence the host's
# /dev unmounted rather than covered, and each of its mounts bound alone
# (the one on top, as processes see it; not the mounts stacked under it).
#
# /dev/sev is a character device with /dev/null's numbers (1:3), mode
# 0600, root's, whatever the host has: this host has no SEV firmware to
# give.  libvirt wants a character device there for an SEV domain (its
# device cgroup rule, the node it mknods into the domain's /dev, the DAC
# label it gives that node); QEMU's open("/dev/sev") is answered by the
# SNP host simulator and never reaches the node.
#
# Last, every mount is made shared (a peer group of this namespace's own:
# the host's mounts were made private first, so nothing propagates to
# the host), as systemd leaves a host's mounts: libvirt bind-mounts a
# file it puts into a domain's /dev at /run/libvirt/qemu/NAME.FILE in the
# daemon's namespace and moves it from there in the domain's, which
# receives it only by propagation.
#
# Mount points that do not exist yet (ROOT's are the test's; /var/...
# may be missing before libvirt is installed) are created; the test
# removes what it created when it restores the machine.
#
# Copyright (c) 2026 The qemu-snp authors
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
ROOT=$1
shift

mount -t tmpfs -o mode=0755,nosuid,nodev qemu-snp-run /run
for pair in run:/run/libvirt etc:/etc/libvirt lib:/var/lib/libvirt \
            cache:/var/cache/libvirt log:/var/log/libvirt; do
    src=$ROOT/${pair%%:*}
    dst=${pair#*:}
    mkdir -p "$src" "$dst"
    mount --bind "$src" "$dst"
done

# The new /dev is put together at ROOT/dev, then moved over the host's,
# which is unmounted here first.
newdev=$ROOT/dev
mkdir -p "$newdev"
mount -t tmpfs -o mode=0755,nosuid qemu-snp-dev "$newdev"
# Nodes, symbolic links and directories of the host's /dev itself; the
# mounts under it (empty directories in the copy) are bound next.
cp -a -x /dev/. "$newdev/" ||
    echo "libvirt-ns.sh: some of /dev was not copied (above)" >&2
for d in pts shm mqueue hugepages; do
    mountpoint -q "/dev/$d" || continue
    mkdir -p "$newdev/$d"
    mount --bind "/dev/$d" "$newdev/$d"
done
for l in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 \
         stderr:/proc/self/fd/2; do
    [ -e "$newdev/${l%%:*}" ] || [ -L "$newdev/${l%%:*}" ] ||
        ln -s "${l#*:}" "$newdev/${l%%:*}"
done
rm -rf "$newdev/sev"
mknod -m 0600 "$newdev/sev" c 1 3
# Every mount at /dev (one may cover another), so that none stays in the
# mount table under the new one.
while mountpoint -q /dev; do
    umount -l /dev
done
mount --move "$newdev" /dev
mount --make-rshared /

exec "$@"
