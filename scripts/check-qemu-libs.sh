#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every QEMU binary we build links only what a distribution's QEMU may
# link: never OpenSSL's libcrypto or libssl (Apache-2.0, which QEMU's
# GPL-2.0-only parts cannot be combined with), directly (the binary's
# NEEDED entries) or through another library (ldd).  And of libsevsnp
# it holds QEMU's copy alone (crypto=none): no X.509 parsing
# (certinfo.c), no crypto library, nothing of the standalone build
# (reports, PEM helpers, the simulated firmware), and the library QEMU
# built calls no GnuTLS or OpenSSL function.  Whether QEMU links GnuTLS
# is QEMU's own configuration; libsevsnp needs it not.  Prints TAP, one
# test per QEMU line (build/bin/qemu-system-x86_64-LINE).
#   scripts/check-qemu-libs.sh
set -u
BUILD=${BUILD:-build}
# Symbols of libsevsnp that only its standalone build defines.
X509_ONLY='sevsnp_(report|der|x509|crl|name|integer|time|spki|crypto)_'
X509_ONLY="$X509_ONLY|sevsnp_cert_info_|sevsnp_cert_table_(verify|check_)"
X509_ONLY="$X509_ONLY|sevsnp_chain_status|sevsnp_entry_der_ok"
X509_ONLY="$X509_ONLY|sevsnp_cert_table_build_files|sevsnp_crypto"
X509_ONLY="$X509_ONLY|sevsnp_cert_store_set_check_signatures|fwsim_"
lines=$(sh scripts/qemu-lines.sh) || exit 1
echo "1..$(echo "$lines" | wc -w)"
n=0 rc=0
for line in $lines; do
    n=$((n + 1))
    bin=$BUILD/bin/qemu-system-x86_64-$line
    lib=$BUILD/qemu-$line/build/subprojects/libsevsnp/libsevsnp.a
    why=
    if [ ! -x "$bin" ]; then
        why="$bin is not built"
    elif [ ! -f "$lib" ]; then
        why="$lib is not built"
    else
        needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
        linked=$(ldd "$bin" | awk '{print $1}')
        bad=$(printf '%s\n%s\n' "$needed" "$linked" |
              grep -E '^lib(crypto|ssl)\.so' | sort -u | tr '\n' ' ')
        # What of libsevsnp only its standalone build has: none of it.
        extra=$(nm "$bin" 2>/dev/null | awk '{print $NF}' |
                grep -E "^($X509_ONLY)" | sort -u | tr '\n' ' ')
        # What QEMU's libsevsnp asks of a crypto library: nothing.
        calls=$(nm -u "$lib" 2>/dev/null | awk '{print $NF}' |
                grep -E '^(gnutls_|EVP_|X509|OPENSSL_|PEM_|BIO_|d2i_|i2d_)' |
                sort -u | tr '\n' ' ')
        if [ -n "$bad" ]; then
            why="links OpenSSL: $bad"
        elif [ -n "$extra" ]; then
            why="holds libsevsnp's X.509 code: $extra"
        elif [ -n "$calls" ]; then
            why="its libsevsnp calls a crypto library: $calls"
        fi
    fi
    if [ -z "$why" ]; then
        echo "ok $n - qemu-$line links neither libcrypto nor libssl, and" \
             "libsevsnp without X.509"
    else
        echo "not ok $n - qemu-$line: $why"
        rc=1
    fi
done
exit $rc
