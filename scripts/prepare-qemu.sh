#!/bin/sh
# Make build/qemu-tree: Debian's patched QEMU source, our hook patches
# (subprojects/packagefiles/qemu/series) applied, our overlay files linked
# in.  Incremental: the tree is re-made only when the series or a patch
# changed, and then only the files the patches touch get new times.
set -eu

BUILD=${BUILD:-build}
TOP=$(pwd)
PKG=subprojects/packagefiles/qemu
TREE=$BUILD/qemu-tree

sh scripts/fetch-qemu.sh

sum=$( (cat "$PKG/series"; sed -e "s/#.*//" "$PKG/series" | while read -r p; do [ -n "$p" ] && cat "$PKG/$p"; done) | sha256sum | cut -d" " -f1)
if [ ! -f "$TREE/.qemu-snp-series" ] || [ "$(cat "$TREE/.qemu-snp-series")" != "$sum" ]; then
    old_files=
    [ -f "$TREE/.qemu-snp-patched" ] && old_files=$(cat "$TREE/.qemu-snp-patched")
    rm -rf "$TREE.new"
    cp -a "$BUILD/qemu-src" "$TREE.new"
    : > "$TREE.new/.qemu-snp-patched"
    sed -e 's/#.*//' "$PKG/series" | while read -r p; do
        [ -n "$p" ] || continue
        if ! patch -s -p1 -d "$TREE.new" --no-backup-if-mismatch < "$PKG/$p"; then
            echo "prepare-qemu: $p does not apply to $(cat "$BUILD/qemu-src/.fetched")" >&2
            exit 1
        fi
        sed -n 's|^+++ b/||p' "$PKG/$p" >> "$TREE.new/.qemu-snp-patched"
    done
    # Files patched now or before must look newer than any old build.
    for f in $old_files $(cat "$TREE.new/.qemu-snp-patched"); do
        [ -f "$TREE.new/$f" ] && touch "$TREE.new/$f"
    done
    echo "$sum" > "$TREE.new/.qemu-snp-series"
    rm -rf "$TREE"
    mv "$TREE.new" "$TREE"
    echo "prepare-qemu: applied $(sed -e 's/#.*//' "$PKG/series" | grep -c .) hook patches"
fi

# Overlay: link our files in (links keep edits visible to ninja).
sed -e 's/#.*//' "$PKG/overlay" | while read -r src dst; do
    [ -n "$src" ] || continue
    [ -e "$src" ] || { echo "prepare-qemu: overlay source $src missing" >&2; exit 1; }
    if [ "$(readlink "$TREE/$dst" 2>/dev/null)" != "$TOP/$src" ]; then
        rm -rf "${TREE:?}/$dst"
        mkdir -p "$(dirname "$TREE/$dst")"
        ln -s "$TOP/$src" "$TREE/$dst"
    fi
done
