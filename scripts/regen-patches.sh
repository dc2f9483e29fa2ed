#!/bin/sh
# Maintainer helper: regenerate the hook patches from a git working copy
# of the prepared QEMU tree (build/qemu-work, whose first commit "base" is
# the pristine Debian tree).  Each patch keeps its header (up to "---")
# and gets the diff of the files it already touches.
#   scripts/regen-patches.sh [WORKDIR]
set -eu
WORK=${1:-build/qemu-work}
DIR=subprojects/packagefiles/qemu
base=$(git -C "$WORK" rev-list --max-parents=0 HEAD)
for p in "$DIR"/0*.patch; do
    files=$(grep '^diff --git' "$p" | sed 's|^diff --git a/\([^ ]*\) .*|\1|' |
            sort -u)
    sed '/^---$/q' "$p" > "$p.new"
    # shellcheck disable=SC2086
    git -C "$WORK" diff "$base" HEAD -- $files >> "$p.new"
    mv "$p.new" "$p"
done
