#!/bin/sh
# Maintainer helper for changing the hook patches.
#
#   scripts/regen-patches.sh [WORKDIR]
#
# WORKDIR (default build/qemu-work) is a git working copy of the QEMU
# source: its first commit is the pristine Debian tree (build/qemu-src),
# the next one our series.  When it does not exist it is created that
# way; edit QEMU's files there, commit, and run this again: each patch
# keeps its header (up to "---") and gets the diff of the files it
# already touches.  A new patch starts as a header plus one
# "diff --git a/FILE b/FILE" line per file.
set -eu
WORK=${1:-build/qemu-work}
DIR=subprojects/packagefiles/qemu
if [ ! -d "$WORK/.git" ]; then
    [ -d build/qemu-src ] || sh scripts/fetch-qemu.sh
    cp -a build/qemu-src "$WORK"
    git -C "$WORK" init -q
    git -C "$WORK" add -A
    git -C "$WORK" -c user.name=qemu-snp -c user.email=qemu-snp@invalid \
        commit -qm base
    sed -n 's/^\([^#][^ ]*\).*/\1/p' "$DIR/series" | while read -r p; do
        patch -s -d "$WORK" -p1 < "$DIR/$p"
    done
    git -C "$WORK" add -A
    git -C "$WORK" -c user.name=qemu-snp -c user.email=qemu-snp@invalid \
        commit -qm "qemu-snp series"
    exit 0
fi
base=$(git -C "$WORK" rev-list --max-parents=0 HEAD)
for p in "$DIR"/0*.patch; do
    files=$(grep '^diff --git' "$p" | sed 's|^diff --git a/\([^ ]*\) .*|\1|' |
            sort -u)
    sed '/^---$/q' "$p" > "$p.new"
    # shellcheck disable=SC2086
    git -C "$WORK" diff --abbrev=8 "$base" HEAD -- $files >> "$p.new"
    mv "$p.new" "$p"
done
