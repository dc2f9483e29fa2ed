#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Copyright (c) 2026 The qemu-snp authors
#
# make check's smoke of the KVM parts on a machine without a usable
# /dev/kvm, run inside the nested L1 (scripts/nested-kvm.sh): the real
# QEMU binary of the default line, its real vCPU loop, the simulated
# mainline kernel.  The simulator's own checks, the `certs` and
# `linux-faults` scenarios with the kernel's guest_memfd, `certs` again
# with the simulator's guest_memfd forced (SNP_HOST_SIM_EMULATE_GMEM=1,
# the path of a host whose kernel has none), and a short attestation
# race.  make nested-check is the whole set.  Prints TAP; its TAP files
# are in $LOG.  Ends with "N passed, N failed".
set -u
BUILD=${BUILD:-build}
LOG=${NESTED_SMOKE_LOG:-$BUILD/nested-smoke/check}
TIMEOUT=${NESTED_SCENARIO_TIMEOUT:-900}
# Work directories on L1's tmpfs (nested-check.sh says why).
W=/tmp/nested-smoke
QEMU=$BUILD/bin/qemu-system-x86_64
rm -rf "$LOG" "$W"
mkdir -p "$LOG" "$W"
rc=0
[ -c /dev/kvm ] || { echo "nested-smoke: no /dev/kvm: run it through scripts/nested-kvm.sh"; exit 1; }

secs() { awk '{printf "%d", $1}' /proc/uptime; }

t0=$(secs)
for gmem in kernel emulated; do
    e=0
    [ $gmem = emulated ] && e=1
    SNP_HOST_SIM_EMULATE_GMEM=$e SNP_HOST_SIM_KERNEL=mainline \
    SNP_HOST_SIM_LOG=$LOG/test-sim-$gmem.log \
        "$BUILD/snp/tests/snp-host/test-snp-host-sim" --tap \
        > "$LOG/test-sim-$gmem.tap" 2>&1 || rc=1
    sed -E "s/^((not )?ok [0-9]+) /\1 test-sim gmem=$gmem /" \
        "$LOG/test-sim-$gmem.tap" | tee -a "$LOG/all.tap.in"
done
echo "nested-smoke: test-snp-host-sim: $(( $(secs) - t0 )) s"

t0=$(secs)
python3 tests/snp-host/run-scenarios.py --timeout "$TIMEOUT" --no-boot \
    --smp 2 --kernel mainline --scenario certs --scenario linux-faults \
    --qemu "$QEMU" --workdir "$W/scenarios" \
    > "$LOG/scenarios.tap" 2>&1 || rc=1
SNP_HOST_SIM_EMULATE_GMEM=1 \
python3 tests/snp-host/run-scenarios.py --timeout "$TIMEOUT" --no-boot \
    --smp 2 --kernel mainline --scenario certs \
    --qemu "$QEMU" --workdir "$W/scenarios-gmem" \
    > "$LOG/scenarios-gmem.tap" 2>&1 || rc=1
sed -E "s/^((not )?ok [0-9]+) - /\1 - gmem=kernel /" "$LOG/scenarios.tap" |
    tee -a "$LOG/all.tap.in"
sed -E "s/^((not )?ok [0-9]+) - /\1 - gmem=emulated /" "$LOG/scenarios-gmem.tap" |
    tee -a "$LOG/all.tap.in"
echo "nested-smoke: run-scenarios.py: $(( $(secs) - t0 )) s"

t0=$(secs)
# Under TCG one rotation (snp-certs lock, the firmware's new key, build,
# install) takes about 4 s of L1's time: 12 s of requests for at least 2.
python3 tests/snp-host/attest-race.py --tap --seconds 12 --min-rotations 2 \
    --kernel mainline --timeout "$TIMEOUT" --workdir "$W/attest-race" \
    > "$LOG/attest-race.tap" 2>&1 || rc=1
tee -a "$LOG/all.tap.in" < "$LOG/attest-race.tap"
echo "nested-smoke: attest-race.py: $(( $(secs) - t0 )) s"

pass=0 fail=0
for f in "$LOG"/*.tap; do
    p=$(grep -cE '^ok [0-9]' "$f" || true)
    n=$(grep -cE '^not ok [0-9]|^Bail out!' "$f" || true)
    pass=$((pass + p))
    fail=$((fail + n))
done
if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
    fail=1
fi
# A part that skipped inside L1 ran nothing: that is a failure here.
if grep -lE '^1\.\.0|^SKIP' "$LOG"/*.tap; then
    echo "not ok 1 nested-smoke: a part skipped inside L1 (above)" |
        tee -a "$LOG/all.tap.in"
    fail=$((fail + 1))
fi
mv "$LOG/all.tap.in" "$LOG/all.tap"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
