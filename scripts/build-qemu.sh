#!/bin/sh
# Configure (once) and build the x86_64-softmmu of each QEMU line with
# our overlay, and our qtests; results linked into build/bin/:
# qemu-system-x86_64-LINE for every line, qemu-system-x86_64 for the
# default one (subprojects/packagefiles/qemu-lines).
#
#   scripts/build-qemu.sh [LINE...]     default: every line
#
# Every line is configured as Debian's debian/rules configures the
# qemu-system-x86 build of that line, for x86_64-softmmu alone, with the
# differences scripts/qemu-config.sh gives and docs/devel/packaging.rst
# explains (no modules, never OpenSSL, firmware from Debian's seabios and
# ipxe-qemu, GnuTLS as Debian has it).  Only the binary and our qtests are
# built (ninja targets), not QEMU's tools or its test suite
# (scripts/qemu-testsuite.sh builds those).
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

for line in "$@"; do
    if ! sh scripts/qemu-lines.sh | grep -qx "$line"; then
        echo "build-qemu: QEMU $line is not a line of" \
             "subprojects/packagefiles/qemu-lines" >&2
        exit 1
    fi
    sh scripts/prepare-qemu.sh "$line"
    TREE=$TOP/$BUILD/qemu-$line/tree
    CONFIG=$(sh scripts/qemu-config.sh "$line" | tr '\n' ' ')
    CONFIG=${CONFIG% }
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
    # A staged installation in qemu-bundle/ (left by a build of all
    # targets, scripts/qemu-testsuite.sh) would make this binary look for
    # its firmware there instead of in Debian's packages.
    rm -rf "$OUT/qemu-bundle"
    mkdir -p "$BUILD/bin"
    ln -sfn "$TOP/$OUT/qemu-system-x86_64" \
        "$BUILD/bin/qemu-system-x86_64-$line"
    if [ "$line" = "$DEFAULT" ] && [ -z "${QEMU_SNP_KEEP_DEFAULT_LINK:-}" ]; then
        ln -sfn "qemu-system-x86_64-$line" "$BUILD/bin/qemu-system-x86_64"
    fi
    "$BUILD/bin/qemu-system-x86_64-$line" --version | head -n 1
done
