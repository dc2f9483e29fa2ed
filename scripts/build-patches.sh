#!/bin/sh
# Build what a maintainer would build: each QEMU line's patch series
# (make patches: build/patches/qemu-LINE/) applied with git am to a fresh
# copy of that line's Debian source, configured as scripts/build-qemu.sh
# configures our build (its options are read from that build), then the
# series' qtests run from the build directory, as QEMU's harness runs
# them (their data from tests/data/sev-snp of the series).
#
#   scripts/build-patches.sh [LINE...]      default: every line
#
# BISECT=1 also builds every step of the series in order (the series
# says which steps add code that a later one builds: every step must
# build).  Under build/patches/qemu-LINE.tree and .build; a summary in
# build/patches/qemu-LINE.build/result.txt.  Not part of make check.
set -eu
BUILD=${BUILD:-build}
TOP=$(pwd)
JOBS=${NINJA_JOBS:-2}
if [ $# = 0 ]; then
    # shellcheck disable=SC2046
    set -- $(sh scripts/qemu-lines.sh)
fi

for line in "$@"; do
    SRC=$BUILD/qemu-$line/src
    SERIES=$BUILD/patches/qemu-$line
    TREE=$TOP/$BUILD/patches/qemu-$line.tree
    OUT=$TOP/$BUILD/patches/qemu-$line.build
    STAMP=$BUILD/qemu-$line/build/.qemu-snp-config
    if [ ! -f "$STAMP" ]; then
        echo "build-patches: QEMU $line is not built (make qemu)" >&2
        exit 1
    fi
    # Our build's configure options, without the package version.
    config=$(cut -d" " -f2- "$STAMP")
    rm -rf "$TREE" "$OUT"
    cp -a "$SRC" "$TREE"
    rm -f "$TREE/.fetched"
    patches=$(ls "$SERIES"/[0-9][0-9][0-9][0-9]-*.patch | grep -v /0000-)
    paths=$(sed -n 's|^diff --git a/[^ ]* b/||p' $patches | sort -u)
    (
        cd "$TREE"
        git init -q
        for p in $paths; do
            [ -e "$p" ] && git add -f -- "$p"
        done
        git -c user.name=qemu-snp -c user.email=qemu-snp@invalid \
            commit -q -m "$(cat "$TOP/$SRC/.fetched")"
        git -c user.name=qemu-snp -c user.email=qemu-snp@invalid \
            am -q $patches
    )
    mkdir -p "$OUT"
    # shellcheck disable=SC2086
    ( cd "$OUT" && "$TREE/configure" $config \
        --with-pkgversion="qemu-snp series" > configure.log 2>&1 ) || {
        tail -30 "$OUT/configure.log" >&2
        exit 1
    }
    targets="qemu-system-x86_64 tests/qtest/sev-snp-certs-test
             tests/qtest/sev-snp-memory-test"
    : > "$OUT/result.txt"
    if [ -n "${BISECT:-}" ]; then
        n=$(echo "$patches" | wc -l)
        i=0
        for c in $(git -C "$TREE" rev-list --reverse "HEAD~$n..HEAD"); do
            i=$((i + 1))
            git -C "$TREE" checkout -q "$c"
            subj=$(git -C "$TREE" log -1 --format=%s "$c")
            start=$(date +%s)
            if ninja -j "$JOBS" -C "$OUT" qemu-system-x86_64 > "$OUT/step.log" 2>&1; then
                r=builds
            else
                r="DOES NOT BUILD"
                tail -20 "$OUT/step.log" >&2
            fi
            echo "qemu-$line step $i/$n: $r ($(( $(date +%s) - start )) s): $subj" |
                tee -a "$OUT/result.txt"
        done
        git -C "$TREE" checkout -q -
    fi
    start=$(date +%s)
    # shellcheck disable=SC2086
    ninja -j "$JOBS" -C "$OUT" $targets > "$OUT/ninja.log" 2>&1 || {
        tail -30 "$OUT/ninja.log" >&2
        echo "qemu-$line series: DOES NOT BUILD" | tee -a "$OUT/result.txt"
        exit 1
    }
    echo "qemu-$line series: builds ($(( $(date +%s) - start )) s)" |
        tee -a "$OUT/result.txt"
    # The series' qtests, from its build directory (tests/data is linked
    # there by configure), with no QEMU_SNP_TESTDATA.
    for t in sev-snp-certs-test sev-snp-memory-test; do
        if ( cd "$OUT" && env -u QEMU_SNP_TESTDATA \
                QTEST_QEMU_BINARY=./qemu-system-x86_64 \
                timeout 600 "tests/qtest/$t" --tap > "$t.tap" 2>&1 ); then
            r=pass
        else
            r=FAIL
        fi
        echo "qemu-$line series qtest $t: $r" \
             "($(grep -c '^ok' "$OUT/$t.tap") ok," \
             "$(grep -c '^not ok' "$OUT/$t.tap") not ok)" |
            tee -a "$OUT/result.txt"
    done
done
