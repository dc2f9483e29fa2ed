#!/bin/sh
# make demo: the patched QEMU, its SNP certificate properties, and the
# certificate service answering a guest's request sequence.  No SNP
# hardware here: the kernel side is simulated under -accel qtest (the
# same handler code runs for real KVM exits).
set -eu
BUILD=${BUILD:-build}
TOP=$(pwd)
QEMU=$BUILD/bin/qemu-system-x86_64

echo "== The build"
$QEMU --version | head -1
echo
echo "== sev-snp-guest certificate properties"
$QEMU -object sev-snp-guest,help | grep -E 'certs-'
echo
echo "== A guest's certificate requests against the real AMD Milan chain"
echo "   (kernel side SIMULATED under -accel qtest; see README)"
QTEST_QEMU_BINARY=$TOP/$QEMU QEMU_SNP_TESTDATA=$TOP/tests/data \
    "$BUILD/qemu/tests/qtest/sev-snp-certs-test" --tap 2>/dev/null |
    grep -E '^(ok|not ok)'
