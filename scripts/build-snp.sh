#!/bin/sh
# Build libsevsnp, snp-certs and their tests twice: plain, and under
# ASan+UBSan; link build/bin/snp-certs.
set -eu
BUILD=${BUILD:-build}
MESON="/usr/bin/python3 -m mesonbuild.mesonmain"
sh scripts/fetch-uapi.sh
[ -f "$BUILD/snp/build.ninja" ] || $MESON setup "$BUILD/snp" . >/dev/null
[ -f "$BUILD/snp-asan/build.ninja" ] || $MESON setup "$BUILD/snp-asan" . \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C "$BUILD/snp"
ninja -C "$BUILD/snp-asan"
mkdir -p "$BUILD/bin"
ln -sf ../snp/tools/snp-certs/snp-certs "$BUILD/bin/snp-certs"
# The SNP host simulator and its firmware tool, from the plain build (an
# ASan build of the preload library cannot be loaded into QEMU).
mkdir -p "$BUILD/snp-host"
ln -sf ../snp/tests/snp-host/libsnp-host-sim.so "$BUILD/snp-host/libsnp-host-sim.so"
ln -sf ../snp/tests/snp-host/fw/snp-sim-fw "$BUILD/snp-host/snp-sim-fw"
ln -sf ../snp/tests/snp-host/guest/snp-test-guest.bin \
    "$BUILD/snp-host/snp-test-guest.bin"
