#!/bin/sh
# Maintainer helper: the linux-headers/ of one QEMU line's work tree made
# as QEMU makes its header updates, with that QEMU's own
# scripts/update-linux-headers.sh run on a Linux source tree (Debian's
# orig tarball of linux, found through scripts/apt-extra.sh and checked
# against the archive's SHA-256).  Not run by make check: its output is
# committed as the line's "linux-headers: Update to Linux X" hook patch.
#
#   scripts/update-linux-headers.sh LINE [DEBIAN-VERSION]   (7.1.8-2)
#
# It writes into build/qemu-LINE/work (scripts/regen-patches.sh), whose
# HEAD must be that patch's commit; then amend it there and run
# scripts/regen-patches.sh LINE.  Needs rsync (the kernel's
# headers_install).
set -eu
LINE=${1:?usage: update-linux-headers.sh LINE [DEBIAN-VERSION]}
VER=${2:-7.1.8-2}
BUILD=${BUILD:-build}
WORK=$BUILD/qemu-$LINE/work
SRC=$BUILD/linux-src
[ -d "$WORK/.git" ] || { echo "update-linux-headers: no $WORK" \
    "(scripts/regen-patches.sh $LINE makes it)" >&2; exit 1; }
command -v rsync >/dev/null || { echo "update-linux-headers: the" \
    "kernel's headers_install needs rsync" >&2; exit 1; }
OPTS=$(sh scripts/apt-extra.sh)
# shellcheck disable=SC2086
orig=$(apt-get $OPTS source --print-uris -q "linux=$VER" | grep 'orig\.tar')
url=$(echo "$orig" | cut -d"'" -f2)
file=$(echo "$orig" | awk '{print $2}')
sha=$(echo "$orig" | sed -n 's/.*SHA256:\([0-9a-f]*\).*/\1/p')
upstream=${VER%-*}
mkdir -p "$SRC"
if [ ! -d "$SRC/linux-$upstream" ]; then
    curl -fsS -o "$SRC/$file" "$url"
    echo "$sha  $SRC/$file" | sha256sum -c --quiet
    tar -C "$SRC" -xJf "$SRC/$file"
fi
linux=$(cd "$SRC/linux-$upstream" && pwd)
# Executed, not run with sh: the script's "#!/bin/sh -e" stops it at the
# first failed copy.
(cd "$WORK" && ./scripts/update-linux-headers.sh "$linux" .)
git -C "$WORK" add -A
git -C "$WORK" status --short | sed 's/^/update-linux-headers: /'
