#!/bin/sh
# Build the libFuzzer targets (clang, ASan+UBSan, coverage) in
# build/snp-fuzz and run each for S seconds (default 300; make check runs
# a 30-second smoke so their build never rots).  Seeds come from
# tests/fuzz/corpus/<target>; what the fuzzer learns goes to
# build/fuzz-corpus/<target>, crashes to build/fuzz-artifacts/.
# Prints TAP.
#   scripts/fuzz.sh [S]
set -u
BUILD=${BUILD:-build}
S=${1:-300}
MESON="/usr/bin/python3 -m mesonbuild.mesonmain"
OUT=$BUILD/snp-fuzz
if [ ! -f "$OUT/build.ninja" ]; then
    CC=clang $MESON setup "$OUT" . -Dfuzzing=true -Dlibsevsnp:crypto=openssl \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
elif [ ! -f "$OUT/.crypto-openssl" ]; then
    # Made before libsevsnp had the option (build-snp.sh says why).
    $MESON setup --reconfigure "$OUT" . -Dlibsevsnp:crypto=openssl >/dev/null || exit 1
fi
echo libsevsnp:crypto=openssl > "$OUT/.crypto-openssl"
ninja -C "$OUT" tests/fuzz/fuzz-certtable tests/fuzz/fuzz-certinfo \
    tests/fuzz/fuzz-pages tests/fuzz/fuzz-service >/dev/null || exit 1
mkdir -p "$BUILD/fuzz-artifacts"
echo "1..4"
n=0 rc=0
for t in certtable certinfo pages service; do
    n=$((n + 1))
    corpus=$BUILD/fuzz-corpus/$t
    log=$BUILD/fuzz-$t.log
    # fuzz-service reads 4 bytes a step: 64 steps of guest requests and
    # host events reach every state of its few files and vCPUs, and
    # libFuzzer's length control would otherwise grow inputs to hundreds
    # of steps, each execution that much slower.
    extra=
    [ "$t" = service ] && extra=-max_len=256
    mkdir -p "$corpus"
    # shellcheck disable=SC2086
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
       "$OUT/tests/fuzz/fuzz-$t" -max_total_time="$S" -timeout=10 \
           -rss_limit_mb=2048 -print_final_stats=1 $extra \
           -artifact_prefix="$BUILD/fuzz-artifacts/$t-" \
           "$corpus" "tests/fuzz/corpus/$t" > "$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        echo "ok $n - fuzz-$t: $runs runs in ${S}s ($((runs / S))/s), $cov"
    else
        echo "not ok $n - fuzz-$t (log: $log)"
        tail -40 "$log" | sed 's/^/# /'
        rc=1
    fi
done
exit $rc
