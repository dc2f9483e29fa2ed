#!/bin/sh
# Fetch Debian's qemu 10.0.x source package, apply Debian's own patch
# series (dpkg-source does that on extraction), and keep a pristine copy
# under build/qemu-src/.  Idempotent: does nothing when already done.
set -eu

BUILD=${BUILD:-build}
SRC_ROOT=$BUILD/qemu-src
STAMP=$SRC_ROOT/.fetched

if [ -f "$STAMP" ]; then
    echo "fetch-qemu: $(cat "$STAMP") already unpacked"
    exit 0
fi

# qemu 10.0.x source versions the apt sources offer, newest first; take
# the first one whose files can all be downloaded.
versions=$(apt-cache showsrc qemu 2>/dev/null | awk '/^Version:/ {print $2}' |
           grep -E '^(1:)?10\.0\.' | sort -rV | uniq || true)
if [ -z "$versions" ]; then
    echo "fetch-qemu: no qemu 10.0.x source package in the apt sources" >&2
    echo "fetch-qemu: available:" $(apt-cache showsrc qemu 2>/dev/null |
         awk '/^Version:/ {print $2}') >&2
    exit 1
fi

ver=
for v in $versions; do
    rm -rf "$SRC_ROOT.tmp"
    mkdir -p "$SRC_ROOT.tmp"
    if ( cd "$SRC_ROOT.tmp" &&
         apt-get source -q --only-source "qemu=$v" >apt-source.log 2>&1 ); then
        ver=$v
        break
    fi
    echo "fetch-qemu: qemu $v could not be fetched, trying an older one" >&2
    tail -n 3 "$SRC_ROOT.tmp/apt-source.log" >&2
done
if [ -z "$ver" ]; then
    echo "fetch-qemu: no qemu 10.0.x source package could be fetched" >&2
    exit 1
fi
dir=$(find "$SRC_ROOT.tmp" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -n 1)
upstream=$(cat "$dir/VERSION")
case "$upstream" in
10.0.*) ;;
*)  echo "fetch-qemu: refusing QEMU $upstream: qemu-snp is an overlay on QEMU 10.0.x" >&2
    exit 1 ;;
esac
# dpkg-source -x applied debian/patches/series already; check it did.
if [ -f "$dir/debian/patches/series" ] && [ ! -d "$dir/.pc" ]; then
    ( cd "$dir" && QUILT_PATCHES=debian/patches quilt push -a -q )
fi
rm -rf "$SRC_ROOT"
mv "$dir" "$SRC_ROOT"
rm -rf "$SRC_ROOT.tmp"
echo "qemu $ver (QEMU $upstream)" > "$STAMP"
echo "fetch-qemu: unpacked $(cat "$STAMP")"
