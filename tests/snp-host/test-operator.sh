#!/bin/sh
# The operator's workflow against the simulated SNP host: snp-certs host
# status reads the (simulated) /dev/sev, fetch --host gets the VCEK for
# this chip and its reported TCB from a local KDS stand-in (127.0.0.1
# only), a firmware TCB update makes the old VCEK wrong (refused, nothing
# written), and the new one is fetched and installed.  TAP.
#
# Usage: test-operator.sh SIM_SO SNP_CERTS SNP_SIM_FW KDS_SERVER_PY
#
# Copyright (c) 2026 The qemu-snp authors
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
SIM=$1 TOOL=$2 FW=$3 KDS=$4
T=$(mktemp -d)
KPID=
trap '[ -n "$KPID" ] && kill "$KPID" 2>/dev/null; rm -rf "$T"' EXIT
n=0 rc=0
check() {
    n=$((n + 1))
    if eval "$2"; then echo "ok $n $1"; else echo "not ok $n $1"; rc=1; fi
}
sim() {
    LD_PRELOAD=$SIM SNP_HOST_SIM_FW=$T/fw SNP_HOST_SIM_LOG=$T/sim.log "$@"
}
field() {   # the value of key $1 in firmware.ini
    sed -n "s/^$1=//p" "$T/fw/firmware.ini"
}
echo 1..9

"$FW" create "$T/fw"
chip=$(field chip_id)
# The simulated firmware is a Milan's; CPUID, which no preload library
# can change, names this machine's own product (a Turin here and there),
# so the TCB is decoded as the firmware's product, as fetch does below.
sim "$TOOL" host status --product Milan --json > "$T/status.json" \
    2> "$T/status.err"
check "host status reads the simulated /dev/sev" '[ $? = 0 ]'
check "host status: chip id and reported TCB of the firmware" \
    'grep -q "\"chip-id\" : \"$chip\"" "$T/status.json" &&
     grep -A5 "\"reported-tcb\"" "$T/status.json" | grep -q "\"snp\" : 8"'

# The KDS stand-in serves this chip's VCEK and the chain, as KDS lays
# them out.
K=$T/kds/vcek/v1/Milan
mkdir -p "$K"
cat "$T/fw/ask.pem" "$T/fw/ark.pem" > "$K/cert_chain"
cp "$T/fw/vcek.der" "$K/$chip"
python3 "$KDS" --root "$T/kds" --log "$T/kds.log" > "$T/kds.out" &
KPID=$!
for _ in $(seq 50); do [ -s "$T/kds.out" ] && break; sleep 0.1; done
port=$(head -1 "$T/kds.out")
url=http://127.0.0.1:$port

sim "$TOOL" fetch --host --product Milan --kds-url "$url" \
    -o "$T/certs.blob" > "$T/fetch.out" 2>&1
check "fetch --host: this chip's VCEK at its reported TCB" \
    '[ $? = 0 ] && "$TOOL" verify "$T/certs.blob" > /dev/null'
"$TOOL" extract "$T/certs.blob" "$T/got" > /dev/null 2>&1
check "the blob holds the firmware's VCEK" \
    'cmp -s "$T/got/vcek.der" "$T/fw/vcek.der"'
grep -q "blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115" "$T/kds.log"
check "the request names the reported TCB as KDS wants it" '[ $? = 0 ]'

# A firmware update raises the TCB: the VCEK KDS still serves for the old
# TCB (a static mirror ignores the query) no longer matches.
"$FW" rotate --bump "$T/fw"
cp "$T/certs.blob" "$T/before.blob"
sim "$TOOL" fetch --host --product Milan --kds-url "$url" \
    -o "$T/certs.blob" > "$T/fetch2.out" 2>&1
st=$?
check "after a TCB update the stale VCEK is refused (exit 1)" '[ $st = 1 ]'
check "... nothing written, no chip id in the message" \
    'cmp -s "$T/certs.blob" "$T/before.blob" && ! grep -qi "$chip" "$T/fetch2.out"'

cp "$T/fw/vcek.der" "$K/$chip"
sim "$TOOL" fetch --host --product Milan --kds-url "$url" \
    -o "$T/new.blob" > "$T/fetch3.out" 2>&1
check "the new VCEK is fetched once KDS has it" '[ $? = 0 ]'
"$TOOL" install "$T/new.blob" "$T/certs.blob" > /dev/null 2>&1
check "and installed in place" 'cmp -s "$T/new.blob" "$T/certs.blob"'
exit $rc
