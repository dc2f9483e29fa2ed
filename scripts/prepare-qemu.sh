#!/bin/sh
# Make build/qemu-LINE/tree: Debian's patched QEMU source of that line,
# our hook patches (subprojects/packagefiles/qemu-LINE/series) applied,
# our overlay files (subprojects/packagefiles/overlay, the same for every
# line) linked in.  Incremental: the tree is re-made only when the series
# or a patch changed, and then only the files the patches touch get new
# times.
#
#   scripts/prepare-qemu.sh LINE
set -eu

LINE=${1:?usage: prepare-qemu.sh LINE}
BUILD=${BUILD:-build}
TOP=$(pwd)
PKG=subprojects/packagefiles/qemu-$LINE
OVERLAY=subprojects/packagefiles/overlay
SRC=$BUILD/qemu-$LINE/src
TREE=$BUILD/qemu-$LINE/tree

if [ ! -f "$PKG/series" ]; then
    echo "prepare-qemu: no patch series for QEMU $LINE ($PKG/series)" >&2
    exit 1
fi
sh scripts/fetch-qemu.sh "$LINE"

patches() {
    sed -e 's/#.*//' "$PKG/series" | while read -r p; do
        [ -n "$p" ] && echo "$p"
    done
    return 0
}

sum=$( (cat "$PKG/series" "$SRC/.fetched"; for p in $(patches); do
        cat "$PKG/$p"; done) | sha256sum | cut -d" " -f1)
if [ ! -f "$TREE/.qemu-snp-series" ] ||
   [ "$(cat "$TREE/.qemu-snp-series")" != "$sum" ]; then
    old_files=
    [ -f "$TREE/.qemu-snp-patched" ] && old_files=$(cat "$TREE/.qemu-snp-patched")
    rm -rf "$TREE.new"
    cp -a "$SRC" "$TREE.new"
    : > "$TREE.new/.qemu-snp-patched"
    for p in $(patches); do
        if ! patch -s -p1 -d "$TREE.new" --no-backup-if-mismatch \
                < "$PKG/$p"; then
            echo "prepare-qemu: $p does not apply to $(cat "$SRC/.fetched")" >&2
            exit 1
        fi
        sed -n 's|^+++ b/||p' "$PKG/$p" >> "$TREE.new/.qemu-snp-patched"
    done
    # Files patched now or before must look newer than any old build,
    # unless their text is what the old tree had (a reworded commit
    # message rebuilds nothing).
    for f in $old_files $(cat "$TREE.new/.qemu-snp-patched"); do
        [ -f "$TREE.new/$f" ] || continue
        if [ -f "$TREE/$f" ] && cmp -s "$TREE/$f" "$TREE.new/$f"; then
            touch -r "$TREE/$f" "$TREE.new/$f"
        else
            touch "$TREE.new/$f"
        fi
    done
    echo "$sum" > "$TREE.new/.qemu-snp-series"
    rm -rf "$TREE"
    mv "$TREE.new" "$TREE"
    echo "prepare-qemu: QEMU $LINE: applied $(patches | grep -c .) hook patches"
fi

# Overlay: link our files in (links keep edits visible to ninja).
sed -e 's/#.*//' "$OVERLAY" | while read -r src dst; do
    [ -n "$src" ] || continue
    [ -e "$src" ] || { echo "prepare-qemu: overlay source $src missing" >&2; exit 1; }
    if [ "$(readlink "$TREE/$dst" 2>/dev/null)" != "$TOP/$src" ]; then
        rm -rf "${TREE:?}/$dst"
        mkdir -p "$(dirname "$TREE/$dst")"
        ln -s "$TOP/$src" "$TREE/$dst"
    fi
done
