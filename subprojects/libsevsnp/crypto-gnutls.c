/*
 * libsevsnp: the GnuTLS crypto backend (the differential tests: the
 * library uses OpenSSL's, and both must judge every blob alike)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <limits.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "sevsnp-crypto.h"

/* CamelCase names for GnuTLS types, in QEMU style. */
typedef gnutls_x509_crt_t GnutlsCrt;
typedef gnutls_x509_crl_t GnutlsCrl;

static void crt_free(GnutlsCrt c)
{
    if (c) {
        gnutls_x509_crt_deinit(c);
    }
}
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(GnutlsCrt, crt_free, NULL)

/* Exactly one certificate in [der, der + len), or NULL. */
static GnutlsCrt crt_from(const uint8_t *der, size_t len)
{
    gnutls_datum_t d = { (unsigned char *)der, (unsigned int)len };
    GnutlsCrt c = NULL;

    if (len > UINT_MAX || gnutls_x509_crt_init(&c) < 0) {
        return NULL;
    }
    if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(c);
        return NULL;
    }
    return c;
}

static bool gtls_cert_ok(const uint8_t *der, size_t len)
{
    g_auto(GnutlsCrt) c = crt_from(der, len);

    return c != NULL;
}

static bool gtls_crl_ok(const uint8_t *der, size_t len)
{
    gnutls_datum_t d = { (unsigned char *)der, (unsigned int)len };
    GnutlsCrl crl = NULL;
    bool ok;

    if (len > UINT_MAX || gnutls_x509_crl_init(&crl) < 0) {
        return false;
    }
    ok = gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_DER) == 0;
    gnutls_x509_crl_deinit(crl);
    return ok;
}

static bool gtls_signs(const uint8_t *parent, size_t parent_len,
                       const uint8_t *child, size_t child_len)
{
    g_auto(GnutlsCrt) p = crt_from(parent, parent_len);
    g_auto(GnutlsCrt) c = crt_from(child, child_len);
    /*
     * The signature alone, as OpenSSL's X509_verify(): not the issuer's
     * CA status, the times, unknown critical extensions or how strong
     * the algorithm is (path_error() and certinfo.c check what matters
     * of those); a certificate that is its own issuer is verified too.
     */
    unsigned flags = GNUTLS_VERIFY_DO_NOT_ALLOW_SAME |
                     GNUTLS_VERIFY_DISABLE_CA_SIGN |
                     GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                     GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
                     GNUTLS_VERIFY_IGNORE_UNKNOWN_CRIT_EXTENSIONS |
                     GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 |
                     GNUTLS_VERIFY_ALLOW_BROKEN;
    unsigned status = 0;

    return p && c && gnutls_x509_crt_verify(c, &p, 1, flags, &status) == 0 &&
           status == 0;
}

static char *gtls_path_error(const uint8_t *ark_der, size_t ark_len,
                             const uint8_t *mid_der, size_t mid_len,
                             const uint8_t *leaf_der, size_t leaf_len)
{
    g_auto(GnutlsCrt) ark = crt_from(ark_der, ark_len);
    g_auto(GnutlsCrt) mid = crt_from(mid_der, mid_len);
    g_auto(GnutlsCrt) leaf = crt_from(leaf_der, leaf_len);
    GnutlsCrt chain[2] = { leaf, mid };
    unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                     GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
    unsigned status = 0;
    gnutls_datum_t out = { NULL, 0 };
    char *why;

    if (!ark || !mid || !leaf) {
        return g_strdup("certificate not decoded");
    }
    if (gnutls_x509_crt_list_verify(chain, 2, &ark, 1, NULL, 0, flags,
                                    &status) < 0) {
        return g_strdup("the verifier failed");
    }
    if (status == 0) {
        return NULL;
    }
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
                                                     &out, 0) < 0) {
        return g_strdup_printf("status 0x%x", status);
    }
    why = g_strndup((const char *)out.data, out.size);
    gnutls_free(out.data);
    return why;
}

const SevsnpCrypto sevsnp_crypto_gnutls = {
    .name = "gnutls",
    .cert_ok = gtls_cert_ok,
    .crl_ok = gtls_crl_ok,
    .signs = gtls_signs,
    .path_error = gtls_path_error,
};
