#!/bin/sh
# snp-sim-fw verify-pairs, the host-side judge of what guests received:
# a pair whose chain verifies its report is matching, a pair without a
# chain (no buffer, or an empty table) is counted apart as chain-less, and
# one mismatched pair (a report signed by a key the chain does not hold,
# or a report that does not parse) still fails it.  TAP.
#
# Usage: test-verify-pairs.sh SNP_SIM_FW
#
# Copyright (c) 2026 The qemu-snp authors
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
FW=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 rc=0
check() {
    n=$((n + 1))
    if eval "$2"; then echo "ok $n $1"; else echo "not ok $n $1"; rc=1; fi
}
# A guest's buffer: the blob (or nothing), then the guest's fill.
buffer() {   # buffer SRC PAGES OUT
    { cat "$1"; head -c $(($2 * 4096)) /dev/zero | tr '\0' '\245'; } |
        head -c $(($2 * 4096)) > "$3"
}
echo 1..6

"$FW" create "$T/fw" && "$FW" blob "$T/fw" -o "$T/blob" || exit 1
mkdir "$T/p"
"$FW" report "$T/fw" -o "$T/p/0.report"
buffer "$T/blob" 2 "$T/p/0.certs"
"$FW" report "$T/fw" -o "$T/p/1.report"
: > "$T/p/1.certs"
"$FW" report "$T/fw" -o "$T/p/2.report"
head -c 24 /dev/zero > "$T/empty"
buffer "$T/empty" 4 "$T/p/2.certs"
out=$("$FW" verify-pairs "$T/p" 2>&1); st=$?
check "a matching pair and two chain-less ones pass" '[ $st = 0 ]'
check "chain-less pairs are counted apart" \
    '[ "$out" = "pairs 3 matching 1 chainless 2 mismatched 0" ]'

# A firmware update without the blob: the new report, the old chain.
"$FW" rotate --bump "$T/fw"
"$FW" report "$T/fw" -o "$T/p/3.report"
buffer "$T/blob" 2 "$T/p/3.certs"
out=$("$FW" verify-pairs --quiet "$T/p" 2>&1); st=$?
check "a mismatched pair fails" '[ $st = 1 ]'
check "and is named and counted" \
    'echo "$out" | grep -q "^mismatch 3: " &&
     echo "$out" | grep -q "^pairs 4 matching 1 chainless 2 mismatched 1$"'

# A chain-less pair whose report does not parse is no pass either.
rm "$T/p/3.report" "$T/p/3.certs"
head -c 100 "$T/p/1.report" > "$T/p/4.report"
: > "$T/p/4.certs"
out=$("$FW" verify-pairs --quiet "$T/p" 2>&1); st=$?
check "a chain-less pair with a broken report fails" '[ $st = 1 ]'
check "as mismatched" \
    'echo "$out" | grep -q "^pairs 4 matching 1 chainless 2 mismatched 1$"'
exit $rc
