#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Copyright (c) 2026 The qemu-snp authors
#
# make check's smoke of the KVM parts where this machine's /dev/kvm
# cannot carry them: scripts/nested-smoke.sh inside the nested L1
# (scripts/nested-kvm.sh, its own bed in build/nested-smoke).  It is
# booted again only when L1's kernel itself crashed (a panic, an oops or
# a BUG in L1's console: the emulated SVM under TCG, not the code under
# test), at most NESTED_SMOKE_TRIES times in all (default 3); a check
# that fails is never retried.  The TAP of the run that counted is
# build/nested-smoke/check/all.tap.  Exit status: the smoke's.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
D=build/nested-smoke
TRIES=${NESTED_SMOKE_TRIES:-3}
n=0
while :; do
    n=$((n + 1))
    rm -f "$D/console.log" "$D/check/all.tap"
    start=$(date +%s)
    NESTED_DIR=$D NESTED_TIMEOUT=${NESTED_TIMEOUT:-2400} \
        sh scripts/nested-kvm.sh sh scripts/nested-smoke.sh
    st=$?
    echo "nested-smoke: run $n: exit status $st after $(( $(date +%s) - start )) s"
    if [ $st = 125 ] && [ $n -lt "$TRIES" ] &&
       grep -qE 'Kernel panic|BUG: |Oops|general protection fault|corrupted stack end' \
           "$D/console.log" 2>/dev/null; then
        echo "nested-kvm: retry: L1's kernel crashed:"
        grep -m 3 -E 'Kernel panic|BUG: |Oops|general protection fault|corrupted stack end' \
            "$D/console.log"
        continue
    fi
    exit $st
done
