#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every QEMU binary we build links only what a distribution's QEMU may
# link: never OpenSSL's libcrypto or libssl (Apache-2.0, which QEMU's
# GPL-2.0-only parts cannot be combined with), directly (the binary's
# NEEDED entries) or through another library (ldd); libsevsnp's
# certificate checks are there, on GnuTLS, and nothing of its OpenSSL
# build (reports, PEM helpers, the simulated firmware).  Prints TAP, one
# test per QEMU line (build/bin/qemu-system-x86_64-LINE).
#   scripts/check-qemu-libs.sh
set -u
BUILD=${BUILD:-build}
OPENSSL_ONLY='sevsnp_report_|sevsnp_der_from_pem|sevsnp_cert_table_build_files'
OPENSSL_ONLY="$OPENSSL_ONLY|fwsim_|sevsnp_crypto_openssl"
lines=$(sh scripts/qemu-lines.sh) || exit 1
echo "1..$(echo "$lines" | wc -w)"
n=0 rc=0
for line in $lines; do
    n=$((n + 1))
    bin=$BUILD/bin/qemu-system-x86_64-$line
    why=
    if [ ! -x "$bin" ]; then
        why="$bin is not built"
    else
        needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
        linked=$(ldd "$bin" | awk '{print $1}')
        bad=$(printf '%s\n%s\n' "$needed" "$linked" |
              grep -E '^lib(crypto|ssl)\.so' | sort -u | tr '\n' ' ')
        # What of libsevsnp only its OpenSSL build has: none of it.
        extra=$(nm "$bin" 2>/dev/null | awk '{print $NF}' |
                grep -E "^($OPENSSL_ONLY)" | sort -u | tr '\n' ' ')
        if [ -n "$bad" ]; then
            why="links OpenSSL: $bad"
        elif ! echo "$needed" | grep -q '^libgnutls\.so'; then
            why="does not link GnuTLS"
        elif [ -n "$extra" ]; then
            why="holds libsevsnp's OpenSSL-only code: $extra"
        fi
    fi
    if [ -z "$why" ]; then
        echo "ok $n - qemu-$line links neither libcrypto nor libssl"
    else
        echo "not ok $n - qemu-$line: $why"
        rc=1
    fi
done
exit $rc
