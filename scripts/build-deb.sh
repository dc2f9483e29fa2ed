#!/bin/sh
# make deb: the Debian binary packages of a built tree, with Debian's own
# tools (dpkg-buildpackage, debhelper), then lintian on them.
#
#   build/deb/qemu-system-x86-snp_VERSION_amd64.deb   the QEMU binaries
#   build/deb/snp-certs_VERSION_amd64.deb             the host tool
#   build/deb/lintian.txt                             what lintian said
#
# The packaging is packaging/debian/ (docs/devel/packaging.rst says why
# it is not a debian/ at the top).  It is copied, with the documents the
# packages ship, into build/deb/qemu-snp-VERSION/, whose debian/rules
# installs the tree's build products (make install-files) instead of
# compiling again.  Fails on a lintian error; warnings are printed.
set -eu

BUILD=${BUILD:-build}
TOP=$(pwd)
OUT=$BUILD/deb
VERSION=$(cat VERSION)
STAGE=$OUT/qemu-snp-$VERSION

for p in dpkg-buildpackage dh lintian /usr/bin/rst2man; do
    command -v "$p" >/dev/null 2>&1 || {
        echo "make deb: $p is missing (run make setup)" >&2
        exit 2
    }
done
for f in "$BUILD/bin/snp-certs" "$BUILD/bin/qemu-system-x86_64"; do
    [ -x "$f" ] || { echo "make deb: $f is not built (run make)" >&2; exit 2; }
done

rm -rf "$OUT"
mkdir -p "$STAGE/docs/system/i386" "$STAGE/docs/tools"
cp -r packaging/debian "$STAGE/debian"
cp README.md "$STAGE/"
cp docs/system/i386/*.rst "$STAGE/docs/system/i386/"
cp docs/tools/*.rst "$STAGE/docs/tools/"

# The changelog: this version, the commit and the QEMU versions built.
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
fi
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
# Every line built (make builds them all; make qemu QEMU_LINES=... some).
qemus=
for line in $(sh scripts/qemu-lines.sh); do
    [ -x "$BUILD/bin/qemu-system-x86_64-$line" ] || continue
    v=$("$BUILD/bin/qemu-system-x86_64-$line" --version |
        sed -n '1s/^QEMU emulator version \([^ ]*\).*/\1/p')
    qemus="$qemus${qemus:+, }$v"
done
cat > "$STAGE/debian/changelog" <<CHANGES
qemu-snp ($VERSION) unstable; urgency=medium

  * qemu-snp $VERSION, commit $commit.
  * QEMU $qemus, built from Debian's qemu source packages.

 -- The qemu-snp authors <qemu-snp@lists.invalid>  $(date -R -u -d "@$epoch")
CHANGES

echo "make deb: dpkg-buildpackage -b in $STAGE (log: $OUT/build.log)"
if ! ( cd "$STAGE" && QEMU_SNP_TOP=$TOP SOURCE_DATE_EPOCH=$epoch \
         dpkg-buildpackage -b -us -uc ) > "$OUT/build.log" 2>&1; then
    tail -30 "$OUT/build.log" >&2
    echo "make deb: dpkg-buildpackage failed" >&2
    exit 1
fi
ls -l "$OUT"/*.deb

# The QEMU binary must not link OpenSSL (GPL-2.0-only QEMU, Apache-2.0
# OpenSSL): said loudly here, checked by make libvirt-check.
deps=$(dpkg-deb -f "$OUT/qemu-system-x86-snp_${VERSION}_amd64.deb" Depends)
case $deps in
*libssl*|*libcrypto*)
    echo "make deb: WARNING: qemu-system-x86-snp depends on OpenSSL" \
         "(Depends: $deps): the QEMU binary links it" >&2 ;;
esac

changes=$OUT/qemu-snp_${VERSION}_amd64.changes
lintian --info --display-info --pedantic "$changes" > "$OUT/lintian.txt" 2>&1 ||
    true
if [ -s "$OUT/lintian.txt" ]; then
    echo "make deb: lintian says ($OUT/lintian.txt):"
    grep -E '^[EWIPX]: ' "$OUT/lintian.txt" | sort | uniq -c | sort -rn
else
    echo "make deb: lintian says nothing"
fi
if grep -q '^E: ' "$OUT/lintian.txt"; then
    echo "make deb: lintian found errors" >&2
    exit 1
fi
