#!/bin/sh
# Run every test: libsevsnp unit tests and snp-certs tests (plain and
# ASan+UBSan, including the short lock-race stress), the qtests against
# the built QEMU, a smoke run of each fuzzer, and checkpatch on our C
# files, the series for QEMU's maintainers (checked, then built on the
# pristine release with its docs and qtests).  Ends with "N passed, N
# failed".
set -u
BUILD=${BUILD:-build}
TOP=$(pwd)
MESON="/usr/bin/python3 -m mesonbuild.mesonmain"
LOG=$BUILD/check
mkdir -p "$LOG"
rc=0

$MESON test -C "$BUILD/snp" --print-errorlogs || rc=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    $MESON test -C "$BUILD/snp-asan" --print-errorlogs || rc=1

: > "$LOG/qtest.tap"
: > "$LOG/qtest.err"
# Every QEMU line: its binary (build/bin/qemu-system-x86_64-LINE, by the
# name that tells libqtest the target) and its qtests, each TAP line named
# after the line ("ok 3 qemu-10.0 /x86_64/sev-snp-memory/...").
for line in $(sh scripts/qemu-lines.sh); do
    for t in sev-snp-certs-test sev-snp-memory-test; do
        QTEST_QEMU_BINARY=$TOP/$BUILD/qemu-$line/build/qemu-system-x86_64 \
            timeout 600 "$BUILD/qemu-$line/build/tests/qtest/$t" --tap \
            > "$LOG/qtest-$line-$t.tap" 2>> "$LOG/qtest.err" || rc=1
        sed -E "s/^((not )?ok [0-9]+) /\1 qemu-$line /" \
            "$LOG/qtest-$line-$t.tap" >> "$LOG/qtest.tap"
    done
done
grep -v '^# starting' "$LOG/qtest.tap"

# Licence: no QEMU binary links OpenSSL's libcrypto or libssl.
sh scripts/check-qemu-libs.sh > "$LOG/qemu-libs.tap" || rc=1
cat "$LOG/qemu-libs.tap"

# The operators' QEMU offers what Debian's of the same line offers:
# devices, netdevs, accelerators, machines, seccomp (10.0: Debian's
# binary from bookworm-backports, fetched once, never installed; 10.2:
# the unpatched build of make qemu-testsuite where it exists).
sh scripts/check-qemu-features.sh > "$LOG/qemu-features.tap" || rc=1
cat "$LOG/qemu-features.tap"

# Fuzzers: a short smoke of each target so their build never rots.
sh scripts/fuzz.sh "${FUZZ_SMOKE_SECONDS:-30}" > "$LOG/fuzz.tap" || rc=1
cat "$LOG/fuzz.tap"

# The real binary's real vCPU loop under -accel kvm: the test guest's
# scenarios on each simulated SNP host kernel.  snp-host-probe asks this
# machine's /dev/kvm, through the simulator, for all that the bed needs,
# once; where something is missing that the simulator cannot provide (or
# there is no /dev/kvm), it is said once here, and the smoke of the KVM
# parts runs inside the nested L1 instead (scripts/nested-smoke.sh).
: > "$LOG/snp-host.tap"
: > "$LOG/attest-race.tap"
: > "$LOG/nested-smoke.tap"
kvm=$("$BUILD/snp-host/snp-host-probe")
kvm_rc=$?
if [ $kvm_rc -gt 1 ]; then
    echo "not ok 1 snp-host-probe: exit status $kvm_rc: $kvm" | tee "$LOG/snp-host.tap"
    rc=1
elif [ $kvm_rc = 0 ]; then
    echo "snp-host: /dev/kvm $kvm"
    for line in $(sh scripts/qemu-lines.sh); do
        python3 tests/snp-host/run-scenarios.py \
            --qemu "$BUILD/bin/qemu-system-x86_64-$line" \
            --workdir "$BUILD/snp-host/scenarios-$line" \
            > "$LOG/snp-host-$line.tap" 2>&1 || rc=1
        sed -E "s/^((not )?ok [0-9]+) - /\1 - qemu-$line /" \
            "$LOG/snp-host-$line.tap" >> "$LOG/snp-host.tap"
        grep -E '^(not ok|# SKIP|SKIP)' "$LOG/snp-host-$line.tap" || true
        echo "snp-host: QEMU $line: $(grep -c '^ok' "$LOG/snp-host-$line.tap") scenario checks passed"
    done
    # The path of a host whose kernel has no guest_memfd, on every KVM
    # host: the default line's whole scenario set on the mainline kernel
    # with the simulator's guest_memfd forced.
    case $kvm in
    *"the kernel has none"*)
        echo "snp-host: guest_memfd emulated in every run above" ;;
    *)
        SNP_HOST_SIM_EMULATE_GMEM=1 python3 tests/snp-host/run-scenarios.py \
            --qemu "$BUILD/bin/qemu-system-x86_64" --kernel mainline \
            --no-boot --workdir "$BUILD/snp-host/scenarios-gmem" \
            > "$LOG/snp-host-gmem.tap" 2>&1 || rc=1
        sed -E "s/^((not )?ok [0-9]+) - /\1 - gmem=emulated /" \
            "$LOG/snp-host-gmem.tap" >> "$LOG/snp-host.tap"
        grep -E '^(not ok|# SKIP|SKIP)' "$LOG/snp-host-gmem.tap" || true
        echo "snp-host: guest_memfd emulated (forced): $(grep -c '^ok' "$LOG/snp-host-gmem.tap") scenario checks passed" ;;
    esac

    # The promise end to end, short form (make attest-race is the long
    # one): key rotations under load on both ABIs, no mismatched pair;
    # and the naive updater without the lock, which must produce
    # mismatches.
    python3 tests/snp-host/attest-race.py --tap --seconds 4 --min-rotations 3 \
        > "$LOG/attest-race.tap" 2>&1 || rc=1
    python3 tests/snp-host/attest-race.py --tap --seconds 3 --min-rotations 2 \
        --naive --kernel mainline --workdir "$BUILD/attest-race-naive" \
        >> "$LOG/attest-race.tap" 2>&1 || rc=1
    grep -E '^(not ok|attest-race:|SKIP)' "$LOG/attest-race.tap" || true
else
    echo "SKIP on this machine's /dev/kvm: the test guest's scenarios, the attestation race and libvirt's SNP domain: $kvm"
    echo "snp-host: their smoke runs inside a nested L1 instead (scripts/nested-smoke.sh)"
    sh scripts/nested-smoke-run.sh > "$LOG/nested-smoke.log" 2>&1 || rc=1
    grep -E '^(not ok|nested-smoke|nested-kvm: (L1 ran|retry|COMMAND))' \
        "$LOG/nested-smoke.log" || true
    cp "$BUILD/nested-smoke/check/all.tap" "$LOG/nested-smoke.tap" 2>/dev/null ||
        echo "not ok 1 nested-smoke: no result (log: $LOG/nested-smoke.log)" \
            > "$LOG/nested-smoke.tap"
fi

# The operators' stack: the Debian package (make deb) next to Debian's
# QEMU under Debian's libvirt, an SNP domain on the simulated host; the
# machine is left as it was (a loud SKIP where libvirt cannot be
# installed or started, or /dev/kvm is unusable).
sh scripts/libvirt-check.sh > "$LOG/libvirt.tap" 2>&1 || rc=1
if [ $kvm_rc = 0 ]; then
    grep -E '^(not ok|SKIP|libvirt-check:)' "$LOG/libvirt.tap" || true
else
    # Its SNP half's SKIP is the one said above.
    grep -E '^(not ok|libvirt-check:)' "$LOG/libvirt.tap" | grep -v 'SKIP' || true
fi

# Style: QEMU's checkpatch.pl on every C file of ours.
sh scripts/checkpatch.sh > "$LOG/checkpatch.tap" || rc=1
grep -v '^ok' "$LOG/checkpatch.tap" || true

# The patch series for QEMU's maintainers (make patches), every line's
# made again: checkpatch.pl clean, git am onto a fresh copy of the
# source, and the same files as the prepared tree (minus test-only code).
# Signed by git's identity; where git has none (a CI machine), by one
# that says it is make check's, and the cover letter says not to mail it.
export QEMU_SNP_CHECK_IDENTITY="qemu-snp make check <make-check@invalid>"
: > "$LOG/patches.tap"
for line in $(sh scripts/qemu-lines.sh); do
    if sh scripts/make-patches.sh "$line" > "$LOG/patches-$line.log" 2>&1; then
        sh scripts/make-patches.sh --check "$line" >> "$LOG/patches.tap" || rc=1
    else
        rc=1
        echo "not ok 1 qemu-$line patches: $(tail -n 1 "$LOG/patches-$line.log")" \
            >> "$LOG/patches.tap"
    fi
done
grep -vE '^ok|^1\.\.' "$LOG/patches.tap" || true

# The default line's series as a maintainer builds it: git am onto the
# pristine release, QEMU's ordinary configure (default devices and
# features, the documentation on; a git tree, so warnings are errors,
# Sphinx's too), built, QEMU's documentation built, its qtests run.
sh scripts/build-patches.sh > "$LOG/series-build.tap" 2>&1 || rc=1
grep -E '^(not ok|#)' "$LOG/series-build.tap" || true
echo "series: $(grep -c '^ok' "$LOG/series-build.tap") of $(grep -cE '^(not )?ok' "$LOG/series-build.tap") steps passed (make patches-build)"

# Count subtests from the TAP streams of every run.
pass=0 fail=0
for f in "$BUILD/snp/meson-logs/testlog.txt" \
         "$BUILD/snp-asan/meson-logs/testlog.txt" "$LOG/qtest.tap" \
         "$LOG/fuzz.tap" "$LOG/checkpatch.tap" "$LOG/snp-host.tap" \
         "$LOG/qemu-libs.tap" "$LOG/qemu-features.tap" "$LOG/attest-race.tap" "$LOG/libvirt.tap" \
         "$LOG/nested-smoke.tap" "$LOG/patches.tap" "$LOG/series-build.tap"; do
    p=$(grep -cE '^ok [0-9]' "$f" || true)
    n=$(grep -cE '^not ok [0-9]|^Bail out!' "$f" || true)
    pass=$((pass + p))
    fail=$((fail + n))
done
if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
    fail=1
    tail -20 "$LOG/qtest.err"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
