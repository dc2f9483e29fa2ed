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
#   /dev                  a tmpfs with the host's device nodes bound in,
#                         and /dev/sev: an empty placeholder file.  This
#                         host has no SEV firmware; libvirt only stats
#                         /dev/sev (device cgroup, the domain's /dev
#                         namespace, its DAC label), and QEMU's own open
#                         of /dev/sev is answered by the SNP host
#                         simulator, never by this file.
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

hostdev=$ROOT/hostdev
mkdir -p "$hostdev"
mount --rbind /dev "$hostdev"
mount -t tmpfs -o mode=0755,nosuid qemu-snp-dev /dev
for n in null zero full random urandom tty ptmx kvm userfaultfd fuse \
         net/tun vhost-net vhost-vsock; do
    [ -e "$hostdev/$n" ] || continue
    mkdir -p "/dev/$(dirname "$n")"
    : > "/dev/$n"
    mount --bind "$hostdev/$n" "/dev/$n"
done
for d in pts shm mqueue hugepages; do
    [ -d "$hostdev/$d" ] || continue
    mkdir -p "/dev/$d"
    mount --rbind "$hostdev/$d" "/dev/$d"
done
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
: > /dev/sev
umount -l "$hostdev"

exec "$@"
