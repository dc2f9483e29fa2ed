#!/bin/sh
# Configure (once) and build the minimal x86_64-softmmu with our overlay,
# and the qtests of ours; results linked into build/bin/.
set -eu

BUILD=${BUILD:-build}
OUT=$BUILD/qemu
TOP=$(pwd)
VERSION=$(cat VERSION)

sh scripts/prepare-qemu.sh

if [ ! -f "$OUT/build.ninja" ] || [ "$(cat "$OUT/.qemu-snp-config" 2>/dev/null)" != "$VERSION" ]; then
    rm -rf "$OUT"
    mkdir -p "$OUT"
    ( cd "$OUT" && "$TOP/$BUILD/qemu-tree/configure" \
        --python=/usr/bin/python3 \
        --target-list=x86_64-softmmu \
        --without-default-features --without-default-devices \
        --with-devices-x86_64=qemu-snp \
        --enable-kvm --enable-fdt=system \
        --disable-docs --disable-tools --disable-werror \
        --disable-install-blobs --disable-download \
        --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
        --enable-trace-backends=log \
        --with-pkgversion="qemu-snp $VERSION" > configure.log 2>&1 ) || {
        tail -30 "$OUT/configure.log" >&2
        exit 1
    }
    echo "$VERSION" > "$OUT/.qemu-snp-config"
fi

ninja -C "$OUT" qemu-system-x86_64 tests/qtest/sev-snp-certs-test \
    tests/qtest/sev-snp-memory-test
mkdir -p "$BUILD/bin"
ln -sf "$TOP/$OUT/qemu-system-x86_64" "$BUILD/bin/qemu-system-x86_64"
