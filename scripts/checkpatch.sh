#!/bin/sh
# QEMU's scripts/checkpatch.pl over every C file of ours.  Prints one TAP
# line per file; exits non-zero when any file has an error or warning.
set -u
BUILD=${BUILD:-build}
# QEMU's checkpatch.pl from the default line's tree.
CP=$BUILD/qemu-$(sh scripts/qemu-lines.sh default)/tree/scripts/checkpatch.pl
rc=0 n=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path "./$BUILD/*")
echo "1..$(echo "$files" | wc -l)"
for f in $files; do
    n=$((n + 1))
    out=$("$CP" --no-tree --terse -f "$f" 2>&1)
    if echo "$out" | grep -qE '(ERROR|WARNING):'; then
        echo "not ok $n checkpatch $f"
        echo "$out" | sed 's/^/# /'
        rc=1
    else
        echo "ok $n checkpatch $f"
    fi
done
exit $rc
