#!/bin/sh
# make demo: the real QEMU binary serves certificates to an SEV-SNP test
# guest through its real vCPU loop under -accel kvm: snp-certs builds and
# installs the blob, the guest asks with too small a buffer, the right
# one and a private one, gets its report and the chain that verifies it,
# meets BUSY under an updater's lock, on the mainline and the legacy ABI.
# No SNP hardware here: the SNP parts of the host kernel and the AMD-SP
# firmware are simulated (tests/snp-host/sim).  Where /dev/kvm is
# unusable it falls back, saying why, to the qtest demo: a guest's
# extended-request sequence injected under -accel qtest (the same
# handler code runs for real KVM exits): snpguest's size probe, the
# blob, an updater holding the lock past certs-busy-limit (an empty
# table, never a lost key), the blob moved away and back, and the one
# answer that costs a Linux guest its key: its own bad buffer.
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
rc=0
/usr/bin/python3 scripts/demo-kvm.py "$TOP/$BUILD" "$WORK/kvm" || rc=$?
case $rc in
0) exit 0 ;;
3) echo "== The qtest demo instead (no KVM run possible here)" ;;
*) exit "$rc" ;;
esac
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
    "$FIRMWARE" "$TOP/$BUILD/qemu-$(sh scripts/qemu-lines.sh default)/tree/python" \
    "$WORK"
