#!/bin/sh
# make install into a DESTDIR: snp-certs, its man page and the QEMU
# binaries under -snp names (never qemu-system-x86_64 itself).  TAP.
#
# Copyright (c) 2026 The qemu-snp authors
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
SRC=$1
TOOL=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 rc=0
check() {
    n=$((n + 1))
    if eval "$2"; then echo "ok $n $1"; else echo "not ok $n $1"; rc=1; fi
}
echo 1..9
# Two stand-ins for the patched QEMU builds (the real ones are large).
mkdir "$T/bin"
printf '#!/bin/sh\necho main\n' > "$T/bin/qemu-system-x86_64"
printf '#!/bin/sh\necho other\n' > "$T/bin/qemu-system-x86_64-10.1"
chmod +x "$T/bin/"*
D=$T/dest
make -s -C "$SRC" install-files DESTDIR="$D" PREFIX=/opt/snp \
    SNP_CERTS_BIN="$TOOL" \
    QEMU_BINS="$T/bin/qemu-system-x86_64 $T/bin/qemu-system-x86_64-10.1" \
    > "$T/log" 2>&1
check "make install-files succeeds" '[ $? = 0 ] || { sed "s/^/# /" "$T/log"; false; }'
check "snp-certs installed under PREFIX and runs" \
    '"$D/opt/snp/bin/snp-certs" --version | grep -q "^snp-certs "'
check "QEMU installed as qemu-system-x86_64-snp" \
    '[ "$("$D/opt/snp/bin/qemu-system-x86_64-snp")" = main ]'
check "a second line as qemu-system-x86_64-snp-10.1" \
    '[ "$("$D/opt/snp/bin/qemu-system-x86_64-snp-10.1")" = other ]'
check "no qemu-system-x86_64 that a distribution QEMU would own" \
    '[ ! -e "$D/opt/snp/bin/qemu-system-x86_64" ]'
check "man page rendered and compressed" \
    'zcat "$D/opt/snp/share/man/man1/snp-certs.1.gz" | grep -q "^\.TH \"*SNP-CERTS\"* \"*1\"*"'
check "man page documents report, fetch and host" \
    '( for c in report fetch host; do zcat "$D/opt/snp/share/man/man1/snp-certs.1.gz" | grep -q "snp\\\\-certs $c" || exit 1; done )'
check "nothing outside DESTDIR" '[ -z "$(find "$D" -mindepth 1 -maxdepth 1 ! -name opt)" ]'
# Without a built tool: a clear refusal.
make -s -C "$SRC" install-files DESTDIR="$T/d2" SNP_CERTS_BIN="$T/none" \
    QEMU_BINS="$T/bin/qemu-system-x86_64" > "$T/log2" 2>&1
s=$?
check "refuses when snp-certs is not built" \
    '[ $s != 0 ] && grep -q "is not built" "$T/log2" && [ ! -e "$T/d2" ]'
exit $rc
