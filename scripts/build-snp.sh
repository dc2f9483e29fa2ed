#!/bin/sh
# Build libsevsnp and its tests twice: plain, and under ASan+UBSan.
set -eu
BUILD=${BUILD:-build}
MESON="/usr/bin/python3 -m mesonbuild.mesonmain"
[ -f "$BUILD/snp/build.ninja" ] || $MESON setup "$BUILD/snp" . >/dev/null
[ -f "$BUILD/snp-asan/build.ninja" ] || $MESON setup "$BUILD/snp-asan" . \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C "$BUILD/snp"
ninja -C "$BUILD/snp-asan"
