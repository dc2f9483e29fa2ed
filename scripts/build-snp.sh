#!/bin/sh
# Build libsevsnp, snp-certs and their tests twice: plain, and under
# ASan+UBSan; link build/bin/snp-certs.
set -eu
BUILD=${BUILD:-build}
MESON="/usr/bin/python3 -m mesonbuild.mesonmain"
sh scripts/fetch-uapi.sh
# libsevsnp with OpenSSL here (QEMU's copy: no crypto).  Set on build
# directories made before the option existed too: a subproject's
# default_options apply only when a build directory is set up.
for b in snp snp-asan; do
    if [ -f "$BUILD/$b/build.ninja" ]; then
        grep -q 'libsevsnp:crypto=openssl' "$BUILD/$b/.crypto-openssl" 2>/dev/null ||
            $MESON setup --reconfigure "$BUILD/$b" . -Dlibsevsnp:crypto=openssl >/dev/null
    elif [ $b = snp ]; then
        $MESON setup "$BUILD/snp" . -Dlibsevsnp:crypto=openssl >/dev/null
    else
        $MESON setup "$BUILD/snp-asan" . -Dlibsevsnp:crypto=openssl \
            -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
    fi
    echo libsevsnp:crypto=openssl > "$BUILD/$b/.crypto-openssl"
done
ninja -C "$BUILD/snp"
ninja -C "$BUILD/snp-asan"
mkdir -p "$BUILD/bin"
ln -sf ../snp/tools/snp-certs/snp-certs "$BUILD/bin/snp-certs"
# The SNP host simulator and its firmware tool, from the plain build (an
# ASan build of the preload library cannot be loaded into QEMU).
mkdir -p "$BUILD/snp-host"
ln -sf ../snp/tests/snp-host/libsnp-host-sim.so "$BUILD/snp-host/libsnp-host-sim.so"
ln -sf ../snp/tests/snp-host/fw/snp-sim-fw "$BUILD/snp-host/snp-sim-fw"
ln -sf ../snp/tests/snp-host/snp-host-probe "$BUILD/snp-host/snp-host-probe"
ln -sf ../snp/tests/snp-host/guest/snp-test-guest.bin \
    "$BUILD/snp-host/snp-test-guest.bin"
