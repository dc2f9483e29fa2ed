#!/bin/sh
# Configure (once) and build the minimal x86_64-softmmu of each QEMU line
# with our overlay, and our qtests; results linked into build/bin/:
# qemu-system-x86_64-LINE for every line, qemu-system-x86_64 for the
# default one (subprojects/packagefiles/qemu-lines).
#
#   scripts/build-qemu.sh [LINE...]     default: every line
#
# Every line is configured the same way: Debian's /usr/bin/python3, no
# default features or devices but ours (configs/devices/.../qemu-snp.mak),
# GnuTLS (QEMU's own crypto; libsevsnp's copy in QEMU links no crypto
# library, and QEMU never links OpenSSL), no docs or tools, firmware from
# Debian's seabios and ipxe-qemu.
# NINJA_JOBS (default 2) bounds the parallel jobs.
set -eu

BUILD=${BUILD:-build}
TOP=$(pwd)
VERSION=$(cat VERSION)
JOBS=${NINJA_JOBS:-2}
DEFAULT=$(sh scripts/qemu-lines.sh default)
if [ $# = 0 ]; then
    # shellcheck disable=SC2046
    set -- $(sh scripts/qemu-lines.sh)
fi

CONFIG="--python=/usr/bin/python3 \
    --target-list=x86_64-softmmu \
    --without-default-features --without-default-devices \
    --with-devices-x86_64=qemu-snp \
    --enable-kvm --enable-fdt=system --enable-gnutls \
    --disable-docs --disable-tools --disable-werror \
    --disable-install-blobs --disable-download \
    --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
    --enable-trace-backends=log"

for line in "$@"; do
    if ! sh scripts/qemu-lines.sh | grep -qx "$line"; then
        echo "build-qemu: QEMU $line is not a line of" \
             "subprojects/packagefiles/qemu-lines" >&2
        exit 1
    fi
    sh scripts/prepare-qemu.sh "$line"
    TREE=$TOP/$BUILD/qemu-$line/tree
    OUT=$BUILD/qemu-$line/build
    stamp="$VERSION $CONFIG"
    if [ ! -f "$OUT/build.ninja" ] ||
       [ "$(cat "$OUT/.qemu-snp-config" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$OUT"
        mkdir -p "$OUT"
        # shellcheck disable=SC2086
        ( cd "$OUT" && "$TREE/configure" $CONFIG \
            --with-pkgversion="qemu-snp $VERSION" > configure.log 2>&1 ) || {
            tail -30 "$OUT/configure.log" >&2
            exit 1
        }
        echo "$stamp" > "$OUT/.qemu-snp-config"
    fi
    ninja -j "$JOBS" -C "$OUT" qemu-system-x86_64 \
        tests/qtest/sev-snp-certs-test tests/qtest/sev-snp-memory-test
    mkdir -p "$BUILD/bin"
    ln -sfn "$TOP/$OUT/qemu-system-x86_64" \
        "$BUILD/bin/qemu-system-x86_64-$line"
    if [ "$line" = "$DEFAULT" ] && [ -z "${QEMU_SNP_KEEP_DEFAULT_LINK:-}" ]; then
        ln -sfn "qemu-system-x86_64-$line" "$BUILD/bin/qemu-system-x86_64"
    fi
    "$BUILD/bin/qemu-system-x86_64-$line" --version | head -n 1
done
