#!/bin/sh
# Maintainer helper for changing the hook patches of one QEMU line.
#
#   scripts/regen-patches.sh LINE [WORKDIR]
#
# WORKDIR (default build/qemu-LINE/work) is a git working copy of that
# line's QEMU source: its first commit is the pristine Debian tree
# (build/qemu-LINE/src), then one commit per patch of
# subprojects/packagefiles/qemu-LINE/series, in order.  When it does not
# exist it is created that way.  Edit a patch's commit there (git rebase
# -i, git commit --fixup, ...) and run this again: each patch keeps its
# header (up to "---") and gets the diff of its commit.  For a new patch,
# add it to the series with a header only, commit its change on top, and
# run this again.
set -eu
LINE=${1:?usage: regen-patches.sh LINE [WORKDIR]}
BUILD=${BUILD:-build}
WORK=${2:-$BUILD/qemu-$LINE/work}
DIR=subprojects/packagefiles/qemu-$LINE
GIT="git -C $WORK -c user.name=qemu-snp -c user.email=qemu-snp@invalid"

patches() {
    sed -e 's/#.*//' "$DIR/series" | while read -r p; do
        [ -n "$p" ] && echo "$p"
    done
    return 0
}

if [ ! -d "$WORK/.git" ]; then
    [ -f "$BUILD/qemu-$LINE/src/.fetched" ] || sh scripts/fetch-qemu.sh "$LINE"
    cp -a "$BUILD/qemu-$LINE/src" "$WORK"
    git -C "$WORK" init -q
    git -C "$WORK" add -A
    $GIT commit -qm "$(cat "$BUILD/qemu-$LINE/src/.fetched")"
    for p in $(patches); do
        if grep -q '^diff --git' "$DIR/$p"; then
            patch -s -d "$WORK" -p1 < "$DIR/$p"
        fi
        git -C "$WORK" add -A
        $GIT commit -q --allow-empty -m "$p"
    done
    exit 0
fi
base=$(git -C "$WORK" rev-list --max-parents=0 HEAD)
commits=$(git -C "$WORK" rev-list --reverse "$base..HEAD")
if [ "$(echo "$commits" | grep -c .)" != "$(patches | grep -c .)" ]; then
    echo "regen-patches: $WORK has $(echo "$commits" | grep -c .) commits" \
         "after the base, the series $(patches | grep -c .) patches" >&2
    exit 1
fi
set -- $commits
for p in $(patches); do
    sed '/^---$/q' "$DIR/$p" > "$DIR/$p.new"
    git -C "$WORK" diff --abbrev=8 "$1^" "$1" >> "$DIR/$p.new"
    mv "$DIR/$p.new" "$DIR/$p"
    shift
done
