#!/bin/sh
# make demo: build a certificate blob from the project's AMD Milan
# certificates with snp-certs, start the patched QEMU with it, and play a
# guest's extended-request sequence: too small, right size, BUSY while an
# updater holds the lock, success.  No SNP hardware here: the kernel side
# is simulated under -accel qtest (the same handler code runs for real
# KVM exits).
set -eu
BUILD=${BUILD:-build}
TOP=$(pwd)
QEMU=$TOP/$BUILD/bin/qemu-system-x86_64
SNP_CERTS=$TOP/$BUILD/bin/snp-certs
WORK=$TOP/$BUILD/demo
FIRMWARE=${QEMU_SNP_FIRMWARE_DIR:-/usr/share/seabios}
rm -rf "$WORK"
mkdir -p "$WORK"

echo "== The build"
"$QEMU" --version | head -1
"$SNP_CERTS" --version
echo
echo "== sev-snp-guest certificate properties"
"$QEMU" -object sev-snp-guest,help | grep -E 'certs-'
echo
echo "== snp-certs builds the blob from AMD's Milan ARK, ASK and a real VCEK"
"$SNP_CERTS" build --ark tests/data/milan-ark.pem \
    --ask tests/data/milan-ask.pem --vcek tests/data/milan-vcek.der \
    -o "$WORK/certs.blob"
"$SNP_CERTS" verify "$WORK/certs.blob"
echo
echo "== QEMU starts with -object sev-snp-guest,...,certs-path=certs.blob"
echo "   (kernel side SIMULATED under -accel qtest: no SNP host here)"
/usr/bin/python3 scripts/demo.py "$QEMU" "$SNP_CERTS" "$WORK/certs.blob" \
    "$FIRMWARE" "$TOP/$BUILD/qemu-tree/python" "$WORK"
