#!/bin/sh
# Build the reference `make bench` compares conversions against: a QEMU
# line (default: the default line) from the same Debian source as ours,
# configured the same way, without qemu-snp's hook patches or overlay.
# The one patch it gets is the link fix our minimal device set needs
# (hw-cxl-stub, where the line has it), which no conversion path
# touches.  Built once, under build/qemu-LINE-upstream; make check never
# builds it.
#
#   scripts/build-upstream-qemu.sh [LINE]
#
# Prints the binary's path on its last line.
set -eu

BUILD=${BUILD:-build}
TOP=$(pwd)
LINE=${1:-$(sh scripts/qemu-lines.sh default)}
JOBS=${NINJA_JOBS:-2}
SRC=$BUILD/qemu-$LINE/src
DIR=$BUILD/qemu-$LINE-upstream
TREE=$DIR/tree
OUT=$DIR/build

sh scripts/fetch-qemu.sh "$LINE" >&2
fixes=$(ls subprojects/packagefiles/qemu-"$LINE"/*-hw-cxl-stub-*.patch \
        2>/dev/null || true)
sum=$( (cat "$SRC/.fetched" configs/devices/x86_64-softmmu/qemu-snp.mak \
        $fixes) | sha256sum | cut -d" " -f1)
if [ "$(cat "$TREE/.qemu-snp-upstream" 2>/dev/null)" != "$sum" ]; then
    rm -rf "$DIR"
    mkdir -p "$DIR"
    cp -a "$SRC" "$TREE.new"
    for p in $fixes; do
        patch -s -p1 -d "$TREE.new" --no-backup-if-mismatch < "$p"
    done
    cp configs/devices/x86_64-softmmu/qemu-snp.mak \
        "$TREE.new/configs/devices/x86_64-softmmu/qemu-snp.mak"
    echo "$sum" > "$TREE.new/.qemu-snp-upstream"
    mv "$TREE.new" "$TREE"
fi
if [ ! -f "$OUT/build.ninja" ]; then
    mkdir -p "$OUT"
    ( cd "$OUT" && "$TOP/$TREE/configure" --python=/usr/bin/python3 \
        --target-list=x86_64-softmmu \
        --without-default-features --without-default-devices \
        --with-devices-x86_64=qemu-snp \
        --enable-kvm --enable-fdt=system \
        --disable-docs --disable-tools --disable-werror \
        --disable-install-blobs --disable-download \
        --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
        --with-pkgversion="upstream, no qemu-snp patches" \
        > configure.log 2>&1 ) || {
        tail -30 "$OUT/configure.log" >&2
        rm -rf "$OUT"
        exit 1
    }
fi
ninja -j "$JOBS" -C "$OUT" qemu-system-x86_64 >&2
"$OUT/qemu-system-x86_64" --version | head -n 1 >&2
echo "$OUT/qemu-system-x86_64"
