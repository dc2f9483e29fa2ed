#!/bin/sh
# make libvirt-check, and make check's step of it: the Debian packages
# (scripts/build-deb.sh, as make deb), then the operators' stack for real
# (tests/libvirt/libvirt-test.py: TAP, and a last line
# "libvirt-check: ..." saying what it showed).  Needs root; where libvirt
# cannot be installed or started, or /dev/kvm is unusable, it says SKIP
# and why.  The domain XML it used stays in build/libvirt/domain.xml.
set -u
BUILD=${BUILD:-build}
mkdir -p "$BUILD"
if ! sh scripts/build-deb.sh > "$BUILD/deb.log" 2>&1; then
    cat "$BUILD/deb.log"
    echo "not ok 1 - make deb"
    echo "1..1"
    echo "libvirt-check: make deb failed ($BUILD/deb.log)"
    exit 1
fi
grep -E '^make deb: |^ *[0-9]+ [EWIPX]: ' "$BUILD/deb.log"
python3 tests/libvirt/libvirt-test.py --workdir "$BUILD/libvirt" "$@"
