/*
 * libsevsnp: the crypto backends
 *
 * What needs a cryptographic library, and only that: whether the
 * library decodes a certificate or a CRL, whether a key verifies a
 * signature, and a whole-path check.  The library uses OpenSSL's;
 * GnuTLS's is built beside it, where GnuTLS is installed, for the tests
 * that show both libraries judge every blob alike.  Only the standalone
 * library has any of this: QEMU's copy (crypto=none) parses no
 * certificate.
 *
 * Every function is pure: its result depends on its arguments' bytes
 * alone (no clock: times are checked by certinfo.c).  Callers have
 * already checked the bytes with sevsnp_der_valid() and read them with
 * sevsnp_x509_read() or sevsnp_crl_read() (sevsnp-der.h).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_CRYPTO_H
#define SEVSNP_CRYPTO_H

#include "libsevsnp.h"

typedef struct SevsnpCrypto {
    const char *name;           /* "openssl", "gnutls" */

    /* Does the library decode [der, der + len) as a certificate? */
    bool (*cert_ok)(const uint8_t *der, size_t len);

    /* ... as a CRL? */
    bool (*crl_ok)(const uint8_t *der, size_t len);

    /*
     * Does the key of certificate @parent verify the signature of
     * certificate @child (the signature alone: names, validity and
     * extensions are checked elsewhere)?
     */
    bool (*signs)(const uint8_t *parent, size_t parent_len,
                  const uint8_t *child, size_t child_len);

    /*
     * The library's own path validation of @leaf through @mid to the
     * trust anchor @ark, times not checked: NULL when it verifies, else
     * the library's reason (a new string).
     */
    char *(*path_error)(const uint8_t *ark, size_t ark_len,
                        const uint8_t *mid, size_t mid_len,
                        const uint8_t *leaf, size_t leaf_len);
} SevsnpCrypto;

extern const SevsnpCrypto sevsnp_crypto_openssl;
#ifdef SEVSNP_HAVE_GNUTLS
extern const SevsnpCrypto sevsnp_crypto_gnutls;
#endif

/* The backend the library uses. */
const SevsnpCrypto *sevsnp_crypto(void);

/*
 * Use @crypto from now on (NULL: OpenSSL's).  For the tests that compare
 * backends (beside the library they link the GnuTLS backend); call it
 * before any other thread uses the library.
 */
void sevsnp_crypto_set(const SevsnpCrypto *crypto);

#endif
