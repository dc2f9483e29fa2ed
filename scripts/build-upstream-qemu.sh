#!/bin/sh
# Build the reference QEMU without qemu-snp: a QEMU line (default: the
# default line) from the same Debian source as ours, configured the same
# way (scripts/qemu-config.sh), without qemu-snp's hook patches or
# overlay.  The one patch it gets is the hw-cxl-stub link fix (where the
# line has it), which only builds without CXL need and no conversion path
# touches.  make bench compares conversions against it; make
# qemu-testsuite runs QEMU's test suite on it; check-qemu-features.sh
# compares our binary's devices with it where apt has no Debian binary of
# the line.  Built under build/qemu-LINE-upstream; make check never
# builds it, but configures it (NINJA-TARGET "none": configure only) so
# that check-qemu-features.sh can compare the two configurations.
#
#   scripts/build-upstream-qemu.sh [LINE [NINJA-TARGET...|none]]
#
# Default target: qemu-system-x86_64.  Prints the binary's path (the
# build directory's with "none") on its last line.
set -eu

BUILD=${BUILD:-build}
TOP=$(pwd)
LINE=${1:-$(sh scripts/qemu-lines.sh default)}
[ $# = 0 ] || shift
[ $# != 0 ] || set -- qemu-system-x86_64
JOBS=${NINJA_JOBS:-2}
SRC=$BUILD/qemu-$LINE/src
DIR=$BUILD/qemu-$LINE-upstream
TREE=$DIR/tree
OUT=$DIR/build
CONFIG=$(sh scripts/qemu-config.sh "$LINE" | tr '\n' ' ')
CONFIG=${CONFIG% }

sh scripts/fetch-qemu.sh "$LINE" >&2
fixes=$(ls subprojects/packagefiles/qemu-"$LINE"/*-hw-cxl-stub-*.patch \
        2>/dev/null || true)
# shellcheck disable=SC2086
sum=$( (cat "$SRC/.fetched" $fixes) | sha256sum | cut -d" " -f1)
if [ "$(cat "$TREE/.qemu-snp-upstream" 2>/dev/null)" != "$sum" ]; then
    rm -rf "$DIR"
    mkdir -p "$DIR"
    cp -a "$SRC" "$TREE.new"
    for p in $fixes; do
        patch -s -p1 -d "$TREE.new" --no-backup-if-mismatch < "$p"
    done
    echo "$sum" > "$TREE.new/.qemu-snp-upstream"
    mv "$TREE.new" "$TREE"
fi
if [ ! -f "$OUT/build.ninja" ] ||
   [ "$(cat "$OUT/.qemu-snp-config" 2>/dev/null)" != "$CONFIG" ]; then
    rm -rf "$OUT"
    mkdir -p "$OUT"
    # shellcheck disable=SC2086
    ( cd "$OUT" && "$TOP/$TREE/configure" $CONFIG \
        --with-pkgversion="upstream, no qemu-snp patches" \
        > configure.log 2>&1 ) || {
        tail -30 "$OUT/configure.log" >&2
        rm -rf "$OUT"
        exit 1
    }
    echo "$CONFIG" > "$OUT/.qemu-snp-config"
fi
if [ "$*" = none ]; then
    echo "$OUT"
    exit 0
fi
ninja -j "$JOBS" -C "$OUT" "$@" >&2
"$OUT/qemu-system-x86_64" --version | head -n 1 >&2
echo "$OUT/qemu-system-x86_64"
