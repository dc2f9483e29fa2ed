/*
 * libsevsnp: the OpenSSL crypto backend
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <limits.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "sevsnp-crypto.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_STORE, X509_STORE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_STORE_CTX, X509_STORE_CTX_free)

/* CamelCase names for OpenSSL types, in QEMU style. */
typedef STACK_OF(X509) X509Stack;

/* Exactly one certificate in [der, der + len), or NULL. */
static X509 *x509_from(const uint8_t *der, size_t len)
{
    const unsigned char *q = der;
    X509 *x;

    if (len > LONG_MAX) {
        return NULL;
    }
    x = d2i_X509(NULL, &q, (long)len);
    if (x && q != der + len) {
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    return x;
}

static bool ossl_cert_ok(const uint8_t *der, size_t len)
{
    g_autoptr(X509) x = x509_from(der, len);

    return x != NULL;
}

static bool ossl_crl_ok(const uint8_t *der, size_t len)
{
    const unsigned char *q = der;
    X509_CRL *crl;
    bool ok;

    if (len > LONG_MAX) {
        return false;
    }
    crl = d2i_X509_CRL(NULL, &q, (long)len);
    ok = crl && q == der + len;
    X509_CRL_free(crl);
    ERR_clear_error();
    return ok;
}

static bool ossl_signs(const uint8_t *parent, size_t parent_len,
                       const uint8_t *child, size_t child_len)
{
    g_autoptr(X509) p = x509_from(parent, parent_len);
    g_autoptr(X509) c = x509_from(child, child_len);
    EVP_PKEY *pk = p ? X509_get0_pubkey(p) : NULL;
    bool ok = pk && c && X509_verify(c, pk) == 1;

    ERR_clear_error();
    return ok;
}

static char *ossl_path_error(const uint8_t *ark_der, size_t ark_len,
                             const uint8_t *mid_der, size_t mid_len,
                             const uint8_t *leaf_der, size_t leaf_len)
{
    g_autoptr(X509) ark = x509_from(ark_der, ark_len);
    g_autoptr(X509) mid = x509_from(mid_der, mid_len);
    g_autoptr(X509) leaf = x509_from(leaf_der, leaf_len);
    g_autoptr(X509_STORE) store = X509_STORE_new();
    g_autoptr(X509_STORE_CTX) ctx = X509_STORE_CTX_new();
    X509Stack *untrusted = sk_X509_new_null();
    char *why = NULL;
    int rc;

    if (!ark || !mid || !leaf) {
        why = g_strdup("certificate not decoded");
    } else if (!store || !ctx || !untrusted ||
               !X509_STORE_add_cert(store, ark) ||
               !sk_X509_push(untrusted, mid) ||
               !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        why = g_strdup("out of memory setting up the verifier");
    } else {
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
        rc = X509_verify_cert(ctx);
        if (rc != 1) {
            why = g_strdup(X509_verify_cert_error_string(
                               X509_STORE_CTX_get_error(ctx)));
        }
    }
    sk_X509_free(untrusted);
    ERR_clear_error();
    return why;
}

const SevsnpCrypto sevsnp_crypto_openssl = {
    .name = "openssl",
    .cert_ok = ossl_cert_ok,
    .crl_ok = ossl_crl_ok,
    .signs = ossl_signs,
    .path_error = ossl_path_error,
};
