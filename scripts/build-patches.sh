#!/bin/sh
# Build the series as a maintainer would: the patch series of a QEMU line
# (make patches: build/patches/qemu-LINE/) applied with git am to the
# pristine QEMU release (Debian's source with Debian's own patches
# taken off again: the release as QEMU publishes it, less what Debian's
# +ds repack leaves out), configured with QEMU's ordinary configure
# (default devices and features, x86_64-softmmu, the documentation
# on), built, QEMU's documentation built, and the series' qtests run
# from the build directory as QEMU's harness runs them.
#
#   scripts/build-patches.sh [LINE...]      default: the default line
#
# The tree is a git repository, so configure does what it does for
# every developer's checkout: warnings are errors, in the compiler and
# in Sphinx (-W).  Beyond the target list and --enable-docs, three
# options only: --disable-download, as no test may use the network
# (everything configure needs is installed by setup-deps);
# --disable-install-blobs, as Debian's +ds repack has no firmware blobs
# (the qtests use Debian's SeaBIOS); and Debian's /usr/bin/python3 (the
# one with Debian's Sphinx), as our build uses.  And --disable-curl: the
# libcurl this machine builds against is the OpenSSL flavour (snp-certs
# needs a libcurl; Debian's two -dev flavours conflict), and QEMU must
# not link OpenSSL (a distribution's QEMU links libcurl's GnuTLS
# flavour); the curl block driver is nothing the series touches.  The
# binary is then checked with ldd: no libssl, no libcrypto.
#
# Prints TAP.  BISECT=1 also builds every step of the series in order
# (every step must build).  Under build/patches/qemu-LINE.tree and
# .build; the TAP also in build/patches/qemu-LINE.build/result.tap.
set -u
BUILD=${BUILD:-build}
TOP=$(pwd)
JOBS=${NINJA_JOBS:-2}
if [ $# = 0 ]; then
    set -- "$(sh scripts/qemu-lines.sh default)"
fi
QTESTS="sev-snp-certs-test sev-snp-memory-test"

n=0
rc=0
tap() {
    n=$((n + 1))
    echo "$1 $n - $2" | tee -a "$OUT/result.tap"
    [ "$1" = ok ] || rc=1
}
skip_rest() {
    for what in "$@"; do
        tap "not ok" "qemu-$line series: $what: not reached"
    done
}

# The series' qtests, from its build directory.
run_qtests() {
    for t in $QTESTS; do
        if ( cd "$OUT" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
                timeout 600 "tests/qtest/$t" --tap > "$t.tap" 2>&1 ); then
            tap ok "qemu-$line series: qtest $t ($(grep -c '^ok' "$OUT/$t.tap") subtests)"
        else
            tap "not ok" "qemu-$line series: qtest $t ($(grep -c '^not ok' "$OUT/$t.tap") of its subtests failed)"
            grep '^not ok' "$OUT/$t.tap" | head -10 | sed 's/^/# /'
        fi
    done
}

for line in "$@"; do
    SRC=$BUILD/qemu-$line/src
    SERIES=$TOP/$BUILD/patches/qemu-$line
    TREE=$TOP/$BUILD/patches/qemu-$line.tree
    OUT=$TOP/$BUILD/patches/qemu-$line.build
    patches=
    for p in "$SERIES"/[0-9][0-9][0-9][0-9]-*.patch; do
        case $p in
        */0000-*) ;;
        *) [ -f "$p" ] && patches="$patches
$p" ;;
        esac
    done
    patches=${patches#?}
    # The same series on the same source, built by this script before
    # with every step passing: its build stands; only the qtests run
    # again (make check on an unchanged series costs seconds, not ten
    # minutes).
    # shellcheck disable=SC2086
    key=$( (cat "$SRC/.fetched" "$0" $patches 2>/dev/null) | sha256sum | cut -d" " -f1)
    if [ -z "${BISECT:-}" ] && [ -x "$OUT/qemu-system-x86_64" ] &&
       [ "$(cat "$OUT/.key" 2>/dev/null)" = "$key" ] &&
       ! grep -q '^not ok' "$OUT/result.tap" 2>/dev/null; then
        grep -E '^ok [0-9]+ - ' "$OUT/result.tap" | grep -v ': qtest ' |
            sed -E 's/^ok [0-9]+ - (.*)$/\1/' > "$OUT/built.txt"
        : > "$OUT/result.tap"
        while IFS= read -r l; do
            tap ok "$l [series unchanged: built before]"
        done < "$OUT/built.txt"
        run_qtests
        continue
    fi
    rm -rf "$TREE" "$OUT"
    mkdir -p "$OUT"
    : > "$OUT/result.tap"
    if [ ! -f "$SRC/.fetched" ] || [ -z "$patches" ]; then
        tap "not ok" "qemu-$line series: no source or no series (make patches)"
        continue
    fi

    # The pristine release: Debian's patches off, in reverse order, but
    # for those that only let the +ds repack build without the firmware
    # blobs it strips ("Debian strips the blobs"): the release itself
    # has the blobs, this tree does not.
    cp -a "$SRC" "$TREE"
    rm -f "$TREE/.fetched"
    pristine=ok
    kept=
    if [ -f "$TREE/debian/patches/series" ]; then
        for p in $(sed 's/#.*//' "$TREE/debian/patches/series" | tac); do
            if grep -q "strips the blobs" "$TREE/debian/patches/$p"; then
                kept="$kept $p"
                continue
            fi
            patch -s -R -p1 -d "$TREE" --no-backup-if-mismatch \
                < "$TREE/debian/patches/$p" >> "$OUT/pristine.log" 2>&1 ||
                pristine="Debian's $p does not come off"
        done
    fi
    rm -rf "$TREE/debian" "$TREE/.pc"
    version=$(cat "$TREE/VERSION")
    if [ "$pristine" != ok ]; then
        tap "not ok" "qemu-$line series: pristine QEMU $version: $pristine"
        skip_rest "applies" "configures" "builds" "docs" $QTESTS
        continue
    fi
    count=$(echo "$patches" | wc -l)
    # shellcheck disable=SC2086
    if ( cd "$TREE" && git init -q && git add -A &&
         git -c user.name=qemu-snp -c user.email=qemu-snp@invalid \
             commit -q -m "QEMU $version" &&
         git -c user.name=qemu-snp -c user.email=qemu-snp@invalid \
             am -q $patches ) > "$OUT/am.log" 2>&1; then
        tap ok "qemu-$line series: $count patches apply to pristine QEMU $version with git am (Debian's kept for the repack:${kept:- none})"
    else
        tap "not ok" "qemu-$line series: git am onto pristine QEMU $version (log: $OUT/am.log)"
        sed 's/^/# /' "$OUT/am.log" | tail -20
        skip_rest "configures" "builds" "links" "docs" $QTESTS
        continue
    fi

    config="--python=/usr/bin/python3 --target-list=x86_64-softmmu --enable-docs --disable-download --disable-install-blobs --disable-curl"
    # shellcheck disable=SC2086
    if ( cd "$OUT" && "$TREE/configure" $config ) > "$OUT/configure.log" 2>&1; then
        werror=no
        grep -q -e '-Werror' "$OUT/build.ninja" && werror=yes
        tap ok "qemu-$line series: configure $config (warnings as errors: $werror)"
    else
        tap "not ok" "qemu-$line series: configure $config (log: $OUT/configure.log)"
        tail -20 "$OUT/configure.log" | sed 's/^/# /'
        skip_rest "builds" "links" "docs" $QTESTS
        continue
    fi

    if [ -n "${BISECT:-}" ]; then
        i=0
        for c in $(git -C "$TREE" rev-list --reverse "HEAD~$count..HEAD"); do
            i=$((i + 1))
            git -C "$TREE" checkout -q "$c"
            subj=$(git -C "$TREE" log -1 --format=%s "$c")
            if ninja -j "$JOBS" -C "$OUT" qemu-system-x86_64 > "$OUT/step.log" 2>&1; then
                tap ok "qemu-$line series: step $i/$count builds: $subj"
            else
                tap "not ok" "qemu-$line series: step $i/$count does not build: $subj"
                tail -20 "$OUT/step.log" | sed 's/^/# /'
            fi
        done
        git -C "$TREE" checkout -q -
    fi

    targets=qemu-system-x86_64
    for t in $QTESTS; do
        targets="$targets tests/qtest/$t"
    done
    start=$(date +%s)
    # shellcheck disable=SC2086
    if ninja -j "$JOBS" -C "$OUT" $targets > "$OUT/ninja.log" 2>&1; then
        tap ok "qemu-$line series: builds qemu-system-x86_64 and its qtests ($(( $(date +%s) - start )) s)"
    else
        tap "not ok" "qemu-$line series: does not build (log: $OUT/ninja.log)"
        grep -vE '^(FAILED|\[)' "$OUT/ninja.log" | grep -E 'error|Error' |
            head -20 | cut -c1-300 | sed 's/^/# /'
        skip_rest "links" "docs" $QTESTS
        continue
    fi

    # Licence: QEMU links no OpenSSL (GPL-2.0-only parts).
    ssl=$(ldd "$OUT/qemu-system-x86_64" | grep -oE 'lib(ssl|crypto)\.so[^ ]*' |
          sort -u | tr '\n' ' ')
    if [ -z "$ssl" ]; then
        tap ok "qemu-$line series: qemu-system-x86_64 links no libssl or libcrypto (ldd)"
    else
        tap "not ok" "qemu-$line series: qemu-system-x86_64 links OpenSSL: $ssl"
    fi

    # QEMU's documentation, as its build makes it (the HTML manual with
    # the QMP reference generated from the schema, and the man pages).
    start=$(date +%s)
    if ninja -j "$JOBS" -C "$OUT" sphinxdocs > "$OUT/docs.log" 2>&1; then
        tap ok "qemu-$line series: QEMU's documentation builds, Sphinx warnings as errors ($(( $(date +%s) - start )) s)"
    else
        tap "not ok" "qemu-$line series: QEMU's documentation (log: $OUT/docs.log)"
        grep -iE 'warning|error' "$OUT/docs.log" | head -20 | sed 's/^/# /'
    fi

    run_qtests
    echo "$key" > "$OUT/.key"
done
echo "1..$n"
exit $rc
