#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Copyright (c) 2026 The qemu-snp authors
#
# A nested KVM test bed for machines without /dev/kvm
# (docs/devel/snp-host-sim.rst, "Without /dev/kvm: the nested test bed").
#
# Usage: sh scripts/nested-kvm.sh [COMMAND...]
#
# Boots an L1 Linux (Debian's bookworm-backports kernel) under QEMU's TCG
# with -cpu max, which emulates AMD SVM with nested paging, loads kvm_amd
# there, and runs COMMAND (default: python3 tests/snp-host/run-scenarios.py
# on the default QEMU line) in this work tree inside L1, where /dev/kvm
# exists: the project's QEMU runs under -accel kvm as L1's KVM guest (L2).
# Prints L1's console, COMMAND's output among it (which is also kept in
# build/nested/output.log, the whole console in build/nested/console.log)
# and exits
# with its exit status; 125 when L1 did not report one (boot failure,
# timeout: see build/nested/console.log).
#
# L1's root file system is this machine's own /, shared read-only over
# 9p, with tmpfs on /tmp, /run, /var/tmp and /root; the work tree is
# shared read-write at the same path, so build/ paths are the same inside.
# Everything it fetches (Debian's qemu-system-x86 and the libraries it
# lacks here, linux-image, busybox-static: apt-get download, dpkg-deb -x)
# is kept under build/nested; nothing is installed.
#
# Environment:
#   NESTED_MEM      L1's memory (default 8G)
#   NESTED_SMP      L1's vCPUs (default: this machine's CPUs)
#   NESTED_TIMEOUT  seconds before L1 is killed (default 7200)
#   NESTED_KVM_AMD  kvm_amd's module parameters, comma-separated
#                   (e.g. npt=0)
#   NESTED_KERNEL   a linux-image-* package name (default: the one
#                   linux-image-amd64 of bookworm-backports depends on)
#   NESTED_DIR      the bed's own directory (default build/nested): two
#                   beds with different directories can run at once
#   NESTED_ROOT     ro (default): L1's / is this machine's, read-only;
#                   rw: an overlay on it whose changes stay in L1's memory
#                   and vanish with it (packages can be installed in L1),
#                   moved onto the initramfs's / before the chroot, so
#                   that setns() into a mount namespace lands in it
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
D=${NESTED_DIR:-$TOP/build/nested}
case $D in /*) ;; *) D=$TOP/$D ;; esac
case $D in
"$TOP"/*) ;;
*) echo "nested-kvm: NESTED_DIR must be inside the work tree (L1 writes there)" >&2; exit 125 ;;
esac
DEBS=$TOP/build/nested/debs
MEM=${NESTED_MEM:-8G}
SMP=${NESTED_SMP:-$(nproc)}
TIMEOUT=${NESTED_TIMEOUT:-7200}
KVM_AMD=${NESTED_KVM_AMD-}
ROOT=${NESTED_ROOT:-ro}
case $ROOT in ro|rw) ;; *) echo "nested-kvm: NESTED_ROOT is ro or rw" >&2; exit 125 ;; esac

say() { echo "nested-kvm: $*" >&2; }
die() { say "$*"; exit 125; }

case $TOP$D in
*[!A-Za-z0-9_./+-]*) die "work tree path '$TOP' or '$D' has characters L1's kernel command line cannot carry" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (QEMU's 9p server keeps L1's file owners)"

mkdir -p "$D" "$DEBS"

# The apt sources with bookworm-backports (scripts/setup-deps.sh adds it).
if ! apt-cache policy 2>/dev/null | grep -q 'bookworm-backports'; then
    sh "$TOP/scripts/setup-deps.sh" >&2
fi

# "pkg=version" for each package apt would install for $@ on this machine
# (what this machine lacks), without installing anything.
apt_missing() {
    apt-get install -s --no-install-recommends "$@" 2>/dev/null |
        awk '/^Inst /{ for (i = 3; i <= NF; i++) if ($i ~ /^\(/) {
                 print $2 "=" substr($i, 2); break } }'
}

fetch() { # fetch DIR PKG=VER... : download and unpack into DIR
    dir=$1; shift
    # apt-get download writes into the current directory; as root it
    # warns that _apt cannot write there, which is harmless.
    (cd "$DEBS" && apt-get download "$@" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
        true
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    for pv in "$@"; do
        p=${pv%%=*}
        f=$(ls "$DEBS/${p}_"*.deb 2>/dev/null | head -1)
        [ -n "$f" ] || die "apt-get download $pv failed"
        dpkg-deb -x "$f" "$dir.tmp"
    done
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
}

# L0: Debian's QEMU (bookworm-backports' 10.0 when there, else bookworm's)
# with the libraries it needs that this machine does not have.
if [ ! -x "$D/l0/usr/bin/qemu-system-x86_64" ]; then
    pkgs=$(apt_missing -t bookworm-backports qemu-system-x86)
    [ -n "$pkgs" ] || pkgs=$(apt_missing qemu-system-x86)
    echo "$pkgs" | grep -q '^qemu-system-x86=' ||
        die "apt offers no qemu-system-x86 (is it installed? then it is used as is)"
    say "fetching L0 QEMU: $(echo $pkgs | tr '\n' ' ')"
    # shellcheck disable=SC2086
    fetch "$D/l0" $pkgs
fi
L0=$D/l0/usr/bin/qemu-system-x86_64
LD_LIBRARY_PATH=$D/l0/usr/lib/x86_64-linux-gnu:$D/l0/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH

# L1's kernel and busybox.
if [ ! -f "$D/kernel/.done" ]; then
    kpkg=${NESTED_KERNEL:-$(apt-cache depends linux-image-amd64/bookworm-backports 2>/dev/null |
                            sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)}
    [ -n "$kpkg" ] || die "no linux-image-amd64 in bookworm-backports"
    say "fetching L1 kernel: $kpkg"
    fetch "$D/kernel" "$kpkg"
    touch "$D/kernel/.done"
fi
if [ ! -x "$D/busybox/bin/busybox" ]; then
    say "fetching busybox-static"
    fetch "$D/busybox" busybox-static
fi
KVER=$(ls "$D/kernel/lib/modules" | head -1)
VMLINUZ=$D/kernel/boot/vmlinuz-$KVER

# L1's init: load the modules, mount / (read-only) and the work tree
# (read-write) from 9p with tmpfs where a system writes, run
# build/nested/inside.sh chrooted, power off.  PID 1 stays busybox.
cat > "$D/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "nested-kvm: L1 up after $(cut -d' ' -f1 /proc/uptime) s"
kvm_amd=$(sed -n 's/.*nested\.kvm_amd=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
for m in $(cat /modules.list); do
    p=
    [ $m = kvm_amd ] && p=$kvm_amd
    insmod /lib/modules/$m.ko $p || echo "nested-kvm: insmod $m $p failed"
done
top=$(sed -n 's/.*nested\.top=\([^ ]*\).*/\1/p' /proc/cmdline)
R=/newroot
o=trans=virtio,version=9p2000.L,msize=512000
if grep -q 'nested\.root=rw' /proc/cmdline; then
    # A root L1 may write to (install packages in): the host's / as the
    # lower layer of an overlay whose upper layer is L1's own memory.
    mkdir -p /lower /upper
    mount -t 9p -o $o,ro,cache=loose l1root /lower &&
        mount -t tmpfs -o mode=0755 tmpfs /upper &&
        mkdir -p /upper/data /upper/work &&
        mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work \
            overlay $R || { echo "nested-kvm: cannot mount the overlay root"; poweroff -f; }
else
    mount -t 9p -o $o,ro,cache=loose l1root $R ||
        { echo "nested-kvm: cannot mount 9p"; poweroff -f; }
fi
for d in tmp var/tmp; do mount -t tmpfs -o mode=1777 tmpfs $R/$d; done
for d in run root; do mount -t tmpfs -o mode=0755 tmpfs $R/$d; done
# The work tree last: it may live under one of those (a clone under
# /tmp), which would hide it.
mkdir -p $R$top 2>/dev/null
mount -t 9p -o $o,cache=mmap l1top $R$top || {
    echo "nested-kvm: cannot mount 9p"; poweroff -f; }
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
hostname l1
ip link set lo up
[ -c /dev/kvm ] || echo "nested-kvm: no /dev/kvm in L1"
dir=$(sed -n 's/.*nested\.dir=\([^ ]*\).*/\1/p' /proc/cmdline)
if grep -q 'nested\.root=rw' /proc/cmdline; then
    # As switch_root does: the root moved on top of the initramfs's /
    # before the chroot, so that a process that enters a mount namespace
    # with setns() (libvirt does, to make a domain's /dev and label its
    # files) lands in it, not in the initramfs.  PID 1 keeps its own.
    cd $R
    mount -o move . / || echo "nested-kvm: cannot move the root onto /"
    chroot . /bin/sh $dir/inside.sh
else
    chroot $R /bin/sh $dir/inside.sh
fi
echo "nested-kvm: L1 done after $(cut -d' ' -f1 /proc/uptime) s"
sync
poweroff -f
EOF
# vhost_vsock: the vsock device of the libvirt test's domain
# (/dev/vhost-vsock, which libvirt opens for QEMU).
python3 "$TOP/scripts/nested-initramfs.py" "$D/kernel/lib/modules/$KVER" \
    "$D/busybox/bin/busybox" "$D/init" "$D/initramfs.cpio" \
    kvm-amd 9p 9pnet_virtio overlay vhost_vsock >&2

# What L1 runs, in the work tree, with a plain environment.
if [ $# = 0 ]; then
    set -- python3 tests/snp-host/run-scenarios.py \
        --qemu build/bin/qemu-system-x86_64 --workdir build/snp-host/nested
fi
{
    echo "# generated by scripts/nested-kvm.sh"
    printf 'cd %s || exit 125\n' "$TOP"
    printf 'exec'
    for a in "$@"; do
        printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
    done
    echo
} > "$D/cmd"
cat > "$D/inside.sh" <<EOF
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LC_ALL=C.UTF-8 TMPDIR=/tmp
rm -f $D/status
t0=\$(cut -d' ' -f1 /proc/uptime)
{ sh $D/cmd; echo \$? > $D/status; } 2>&1 | tee $D/output.log
echo "nested-kvm: command exit status \$(cat $D/status) after" \\
     "\$(awk -v t0=\$t0 '{printf "%d", \$1 - t0}' /proc/uptime) s"
EOF
rm -f "$D/status" "$D/output.log"

say "booting L1 ($KVER, -cpu max under TCG, $SMP vCPUs, $MEM) for: $*"
start=$(date +%s)
rc=0
timeout --foreground -k 10 "$TIMEOUT" "$L0" \
    -L "$D/l0/usr/share/qemu" -L "$D/l0/usr/share/seabios" \
    -accel tcg,thread=multi -cpu max -smp "$SMP" -m "$MEM" \
    -nodefaults -no-reboot -display none -monitor none \
    -chardev stdio,id=con,signal=off,logfile="$D/console.log" \
    -serial chardev:con \
    -kernel "$VMLINUZ" -initrd "$D/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 loglevel=4 nested.top=$TOP nested.dir=$D nested.root=$ROOT nested.kvm_amd=$KVM_AMD" \
    -virtfs local,path=/,mount_tag=l1root,security_model=passthrough,readonly=on,multidevs=remap \
    -virtfs local,path="$TOP",mount_tag=l1top,security_model=passthrough,multidevs=remap \
    </dev/null || rc=$?
[ $rc = 124 ] && say "L1 killed after ${TIMEOUT} s (NESTED_TIMEOUT)"
say "L1 ran $(( $(date +%s) - start )) s (L0 exit $rc); console: $D/console.log"
[ -f "$D/status" ] || die "L1 did not report an exit status"
status=$(cat "$D/status")
say "COMMAND exit status $status"
exit "$status"
