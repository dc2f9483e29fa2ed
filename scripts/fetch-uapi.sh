#!/bin/sh
# Unpack the released kernel uapi headers (Debian's linux-libc-dev >= 7.0,
# the first release with KVM_EXIT_SNP_REQ_CERTS) under build/uapi, without
# installing them: the kernel ABI numbers of libsevsnp, the SNP host
# simulator and snp-certs are checked against these headers.
# Idempotent: does nothing when already unpacked.
set -eu

BUILD=${BUILD:-build}
OUT=$BUILD/uapi
STAMP=$OUT/.fetched

if [ -f "$STAMP" ]; then
    exit 0
fi
OPTS=$(sh scripts/apt-extra.sh)
# Newest first; anything older than 7.0 lacks the mainline exit.
# shellcheck disable=SC2086
versions=$(apt-cache $OPTS madison linux-libc-dev | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
           sort -rV | uniq)
ver=
for v in $versions; do
    case "$v" in
    [7-9].*|[1-9][0-9].*) ;;
    *) continue ;;
    esac
    rm -rf "$OUT.tmp"
    mkdir -p "$OUT.tmp"
    # shellcheck disable=SC2086
    if ( cd "$OUT.tmp" && apt-get $OPTS download -q "linux-libc-dev=$v" \
             >download.log 2>&1 ); then
        ver=$v
        break
    fi
    echo "fetch-uapi: linux-libc-dev $v could not be fetched" >&2
done
if [ -z "$ver" ]; then
    echo "fetch-uapi: no linux-libc-dev >= 7.0 could be fetched" >&2
    exit 1
fi
dpkg-deb -x "$OUT.tmp"/linux-libc-dev_*.deb "$OUT.tmp/root"
grep -q KVM_EXIT_SNP_REQ_CERTS "$OUT.tmp/root/usr/include/linux/kvm.h" || {
    echo "fetch-uapi: linux-libc-dev $ver has no KVM_EXIT_SNP_REQ_CERTS" >&2
    exit 1
}
# The per-architecture asm/ directories are links into usr/lib/linux/uapi:
# keep the tree whole.  Include paths: usr/include and
# usr/include/x86_64-linux-gnu.
rm -rf "$OUT"
mkdir -p "$OUT"
mv "$OUT.tmp/root/usr" "$OUT/usr"
rm -rf "$OUT.tmp"
echo "linux-libc-dev $ver" > "$STAMP"
echo "fetch-uapi: unpacked linux-libc-dev $ver"
