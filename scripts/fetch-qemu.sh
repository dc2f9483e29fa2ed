#!/bin/sh
# Fetch Debian's qemu source package of one QEMU line, the newest LINE.x
# that apt offers (the system's sources, then the private ones of
# scripts/apt-extra.sh: sid, trixie-backports), let dpkg-source apply
# Debian's own patch series, and keep the pristine copy under
# build/qemu-LINE/src/.  Any other QEMU is refused.
#
#   scripts/fetch-qemu.sh LINE        e.g. 11.1 or 10.0
#
# Idempotent: does nothing when already done.
set -eu

LINE=${1:?usage: fetch-qemu.sh LINE}
case "$LINE" in
[0-9]*.[0-9]*) ;;
*) echo "fetch-qemu: bad QEMU line '$LINE' (want MAJOR.MINOR)" >&2; exit 2 ;;
esac
BUILD=${BUILD:-build}
SRC_ROOT=$BUILD/qemu-$LINE/src
STAMP=$SRC_ROOT/.fetched

if [ -f "$STAMP" ]; then
    echo "fetch-qemu: $(cat "$STAMP") already unpacked"
    exit 0
fi

# Both apt configurations: the system's, and the private one for what
# Debian 12 does not carry.
EXTRA=$(sh scripts/apt-extra.sh)
list_versions() {
    # shellcheck disable=SC2086
    apt-cache $1 showsrc qemu 2>/dev/null | awk '/^Version:/ {print $2}'
}
re=$(echo "$LINE" | sed 's/\./\\./g')
all=$( (list_versions ""; list_versions "$EXTRA") | sort -u)
cands=$(echo "$all" | grep -E "^([0-9]+:)?$re\.[0-9]+([+~-]|\$)" || true)
if [ -z "$cands" ]; then
    echo "fetch-qemu: no qemu $LINE.x source package in the apt sources" >&2
    echo "fetch-qemu: available:" $all >&2
    exit 1
fi
# Newest first, by Debian's own version order.
sorted=
for v in $cands; do
    rest="" placed=""
    for s in $sorted; do
        if [ -z "$placed" ] && dpkg --compare-versions "$v" gt "$s"; then
            rest="$rest $v"
            placed=1
        fi
        rest="$rest $s"
    done
    [ -n "$placed" ] || rest="$rest $v"
    sorted=$rest
done

ver=
tmp=$SRC_ROOT.tmp
for v in $sorted; do
    for opts in "" "$EXTRA"; do
        rm -rf "$tmp"
        mkdir -p "$tmp"
        # shellcheck disable=SC2086
        if ( cd "$tmp" && apt-get $opts source -q --only-source "qemu=$v" \
                 >apt-source.log 2>&1 ); then
            ver=$v
            break 2
        fi
    done
    echo "fetch-qemu: qemu $v is listed but its files cannot be fetched:" >&2
    grep -E '^E: ' "$tmp/apt-source.log" | head -n 3 >&2
done
if [ -z "$ver" ]; then
    rm -rf "$tmp"
    echo "fetch-qemu: no qemu $LINE.x source package could be fetched" >&2
    exit 1
fi
dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -n 1)
upstream=$(cat "$dir/VERSION")
case "$upstream" in
"$LINE".*) ;;
*)  echo "fetch-qemu: refusing QEMU $upstream: this is the QEMU $LINE.x line" >&2
    exit 1 ;;
esac
# dpkg-source -x applied debian/patches/series already; check it did.
if [ -f "$dir/debian/patches/series" ] && [ ! -d "$dir/.pc" ]; then
    ( cd "$dir" && QUILT_PATCHES=debian/patches quilt push -a -q )
fi
rm -rf "$SRC_ROOT"
mv "$dir" "$SRC_ROOT"
rm -rf "$tmp"
echo "qemu $ver (QEMU $upstream)" > "$STAMP"
echo "fetch-qemu: unpacked $(cat "$STAMP")"
