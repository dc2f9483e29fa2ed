#!/bin/sh
# The configure options of every QEMU build of qemu-snp (ours, the
# unpatched reference, the series for QEMU's maintainers, the test-suite
# builds), one a line, for one QEMU line.  Printed, never run:
#
#   scripts/qemu-config.sh LINE        e.g. 10.2
#
# What Debian's debian/rules gives its qemu-system-x86 build (the "main
# system and tools build", b/qemu: common_configure_opts, the options
# debian/extract-config-opts takes from the comments of debian/control
# for linux-amd64, --enable-tools, --disable-xen, QEMU's default features
# and default devices), for x86_64-softmmu only, with these differences
# (docs/devel/packaging.rst, "How QEMU is configured"):
#
#  - no modules (Debian: --enable-modules --enable-module-upgrades): one
#    binary that never loads another QEMU's modules;
#  - never OpenSSL, directly or through a library (scripts/check-qemu-libs.sh):
#    no spice (libspice-server links libssl), libpmem (libkmod links
#    libcrypto), rbd (librbd), glusterfs (libglusterfs), curl (Debian's
#    libcurl-gnutls links libssh2, which links libcrypto); libssh is
#    libssh-gcrypt-dev's;
#  - no blkio: bookworm has no libblkio-dev;
#  - ours: the package version, firmware also from ipxe-qemu's directory,
#    GnuTLS required (QEMU's own crypto, as Debian's), no guest agent,
#    -Wl,--as-needed as Debian's LDFLAGS have it (QEMU's own flags already
#    give what dpkg-buildflags' hardening adds: -fstack-protector-strong,
#    _FORTIFY_SOURCE=2, PIE, -z relro -z now).
# No option may contain a space (build-patches.sh splits them on blanks).
set -eu
# 10.0 and 10.2 take the same options (their debian/control comments
# are the same, and every option exists in both): a line that must
# differ gets its case here.
LINE=${1:?usage: qemu-config.sh LINE}
case $LINE in
[0-9]*.[0-9]*) ;;
*) echo "qemu-config: bad QEMU line '$LINE' (want MAJOR.MINOR)" >&2; exit 2 ;;
esac

cat <<OPTS
--python=/usr/bin/python3
--target-list=x86_64-softmmu
--prefix=/usr
--sysconfdir=/etc
--libdir=/usr/lib/x86_64-linux-gnu
--libexecdir=/usr/lib/qemu
--localstatedir=/var
--mandir=/usr/share/man
--firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
--disable-install-blobs
--disable-download
--disable-containers
--disable-relocatable
--disable-docs
--disable-xkbcommon
--disable-werror
--disable-user
--disable-linux-user
--enable-system
--enable-tools
--disable-guest-agent
--disable-xen
--disable-modules
--enable-trace-backends=log
--extra-ldflags=-Wl,--as-needed
--enable-capstone
--enable-linux-aio
--disable-sndio
--audio-drv-list=pipewire,pa,alsa,jack,oss,sdl
--enable-attr
--enable-bpf
--enable-brlapi
--enable-virtfs
--enable-cap-ng
--enable-fdt=system
--enable-fuse
--enable-gnutls
--enable-gtk
--enable-vte
--enable-libiscsi
--enable-curses
--enable-virglrenderer
--enable-opengl
--enable-libnfs
--enable-numa
--enable-smartcard
--enable-pixman
--enable-vnc-sasl
--enable-sdl
--enable-seccomp
--enable-slirp
--enable-rdma
--enable-linux-io-uring
--enable-libusb
--enable-usb-redir
--enable-libssh
--enable-zstd
--enable-vde
--enable-nettle
--enable-libudev
--enable-vnc
--enable-vnc-jpeg
--enable-png
--enable-kvm
--enable-vhost-net
--enable-vhost-user
--enable-vhost-kernel
--enable-vhost-vdpa
--enable-tpm
--disable-spice
--disable-libpmem
--disable-rbd
--disable-glusterfs
--disable-curl
--disable-blkio
OPTS
