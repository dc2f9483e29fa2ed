#!/bin/sh
# Install what the qemu-snp build needs from Debian's archive, through
# the mirror the machine's own apt sources already use.
# Idempotent: a second run does nothing when everything is present.
set -eu

SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi

APT_SRC=/etc/apt/sources.list.d/qemu-snp-backports.sources
STAMP_DIR=${STAMP_DIR:-build/stamps}
mkdir -p "$STAMP_DIR"

# Packages from bookworm itself.  The second group is what Debian's
# debian/rules configures its qemu-system-x86 build with
# (scripts/qemu-config.sh); qemu-system-data gives the firmware and
# keymaps that build expects under /usr/share/qemu; Sphinx and its theme
# build QEMU's documentation with the series (scripts/build-patches.sh);
# rsync is what the kernel's headers_install needs when a maintainer
# remakes linux-headers/ (scripts/update-linux-headers.sh).
PKGS="build-essential ninja-build pkg-config flex bison git rsync \
      libglib2.0-dev libssl-dev libgnutls28-dev libfdt-dev libpixman-1-dev \
      libjson-glib-dev zlib1g-dev libslirp-dev python3-venv python3-setuptools \
      dpkg-dev devscripts quilt openssl seabios ipxe-qemu clang llvm \
      libclang-rt-14-dev util-linux libcurl4-openssl-dev python3-docutils \
      debhelper lintian \
      libcapstone-dev libaio-dev libjack-jackd2-dev libpulse-dev libasound2-dev \
      libpipewire-0.3-dev libbpf-dev libbrlapi-dev libcap-ng-dev libfuse3-dev \
      libgtk-3-dev libvte-2.91-dev libiscsi-dev libncurses-dev \
      libvirglrenderer-dev libepoxy-dev libdrm-dev libgbm-dev libnfs-dev \
      libnuma-dev libcacard-dev libsasl2-dev libsdl2-dev libseccomp-dev \
      librdmacm-dev libibverbs-dev libibumad-dev liburing-dev \
      libusb-1.0-0-dev libusbredirparser-dev libssh-gcrypt-dev libzstd-dev \
      libvdeplug-dev nettle-dev libudev-dev libjpeg-dev libpng-dev \
      qemu-system-data python3-sphinx python3-sphinx-rtd-theme"
# Packages that must come from bookworm-backports
BPO_PKGS="meson python3-pycotap"

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

# The Debian mirror this machine is configured with (deb822 or one-line
# sources), and its security archive.
debian_uri() {
    suffix=$1
    for f in /etc/apt/sources.list.d/debian.sources \
             /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        u=$(sed -n "s|^URIs: *\([^ ]*/debian$suffix\)/*\$|\1|p" "$f" |
            head -1)
        [ -n "$u" ] && { echo "$u"; return; }
    done
    sed -n "s|^deb \(\[[^]]*\] \)*\([^ ]*/debian$suffix\)/* .*|\2|p" \
        /etc/apt/sources.list 2>/dev/null | head -1
}
MIRROR=$(debian_uri "")
SECURITY=$(debian_uri "-security")
if [ "$codename" = bookworm ] && [ -z "$MIRROR" ]; then
    echo "setup: no Debian apt source configured on this machine" >&2
    exit 1
fi
SECURITY=${SECURITY:-$MIRROR-security}

if [ "$codename" = bookworm ] && [ ! -f "$APT_SRC" ] &&
   ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "setup: adding bookworm-backports (binary and source) apt source"
    $SUDO tee "$APT_SRC" >/dev/null <<SRC
Types: deb deb-src
URIs: $MIRROR
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    rm -f "$STAMP_DIR/apt-update"
fi

# QEMU 10.0.x source: bookworm-backports lists it but may miss its files;
# trixie's source lists carry the newest 10.0.x.
TRIXIE_SRC=/etc/apt/sources.list.d/qemu-snp-trixie-src.sources
if [ "$codename" = bookworm ] && [ ! -f "$TRIXIE_SRC" ]; then
    echo "setup: adding trixie source-only apt sources for QEMU 10.0.x"
    $SUDO tee "$TRIXIE_SRC" >/dev/null <<SRC
Types: deb-src
URIs: $MIRROR
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $SECURITY
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    rm -f "$STAMP_DIR/apt-update"
fi
if [ ! -f "$STAMP_DIR/apt-update" ]; then
    $SUDO apt-get update -q
    touch "$STAMP_DIR/apt-update"
fi

need=
for p in $PKGS $BPO_PKGS; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        need="$need $p"
    fi
done
meson_ok=no
if command -v meson >/dev/null 2>&1 &&
   /usr/bin/python3 -c 'import sys; from mesonbuild import coredata as c; v=tuple(int(x) for x in c.version.split(".")[:2]); sys.exit(0 if v >= (1,5) else 1)' 2>/dev/null; then
    meson_ok=yes
fi
[ "$meson_ok" = yes ] || need="$need meson"

if [ -n "$need" ]; then
    if [ ! -f "$STAMP_DIR/apt-update" ]; then
        $SUDO apt-get update -q
        touch "$STAMP_DIR/apt-update"
    fi
    export DEBIAN_FRONTEND=noninteractive
    BPO=
    [ "$codename" = bookworm ] && BPO="-t bookworm-backports"
    $SUDO apt-get install -y -q --no-install-recommends $PKGS
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $BPO $BPO_PKGS
fi
echo "setup: build dependencies present"
