/*
 * libsevsnp: certificates from PEM or DER files
 *
 * What snp-certs and the tests use to build a blob from files, with
 * OpenSSL's PEM decoder.  Not in QEMU's copy of the library: QEMU never
 * builds blobs, and its qtests build theirs from DER files.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sevsnp-internal.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_CRL, X509_CRL_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)

/* The DER of the first PEM block of @kind in @p, or NULL. */
static GBytes *pem_decode(const uint8_t *p, size_t len, SevsnpCertType kind)
{
    g_autoptr(BIO) bio = BIO_new_mem_buf(p, (int)len);
    unsigned char *der = NULL;
    int der_len = -1;
    GBytes *ret;

    if (kind == SEVSNP_CERT_CRL) {
        g_autoptr(X509_CRL) crl = PEM_read_bio_X509_CRL(bio, NULL, NULL,
                                                       NULL);
        der_len = crl ? i2d_X509_CRL(crl, &der) : -1;
    } else if (kind == SEVSNP_CERT_OTHER) {
        char *name = NULL, *header = NULL;
        unsigned char *body = NULL;
        long blen = 0;

        if (PEM_read_bio(bio, &name, &header, &body, &blen) == 1) {
            der = OPENSSL_memdup(body, blen);
            der_len = der ? (int)blen : -1;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(body);
    } else {
        g_autoptr(X509) x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        der_len = x ? i2d_X509(x, &der) : -1;
    }
    if (der_len <= 0) {
        OPENSSL_free(der);
        return NULL;
    }
    ret = g_bytes_new(der, der_len);
    OPENSSL_free(der);
    return ret;
}

GBytes *sevsnp_der_from_pem_or_der(GBytes *data, SevsnpCertType kind,
                                   GError **err)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(data, &len);
    const char *what = kind == SEVSNP_CERT_CRL ? "an X.509 CRL" :
                       kind == SEVSNP_CERT_OTHER ? "DER data" :
                       "an X.509 certificate";

    if (len == 0 || len > SEVSNP_DEFAULT_MAX_BLOB) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                    "%zu bytes cannot be %s", (size_t)len, what);
        return NULL;
    }

    if (len > 10 && memmem(p, len, "-----BEGIN", 10)) {
        GBytes *der = pem_decode(p, len, kind);

        if (!der) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                        "PEM input does not hold %s", what);
        }
        return der;
    }

    {
        const char *what2;

        if (!sevsnp_entry_der_ok(kind, p, len, &what2)) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                        "input is neither PEM nor exact DER of %s", what);
            return NULL;
        }
    }
    return g_bytes_ref(data);
}

GBytes *sevsnp_cert_table_build_files(const SevsnpCertFile *files, guint n,
                                      GError **err)
{
    g_autoptr(GPtrArray) ders =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    g_autofree SevsnpCertInput *in = g_new0(SevsnpCertInput, MAX(n, 1));

    for (guint i = 0; i < n; i++) {
        const SevsnpCertFile *f = &files[i];
        g_autoptr(GBytes) raw = NULL;
        GError *lerr = NULL;

        if (!f->guid && f->type == SEVSNP_CERT_OTHER) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "%s: an entry of another type needs a GUID", f->path);
            return NULL;
        }
        raw = sevsnp_file_read(f->path, 0, err);
        if (!raw) {
            return NULL;
        }
        in[i].der = sevsnp_der_from_pem_or_der(raw, f->type, &lerr);
        if (!in[i].der) {
            g_set_error(err, SEVSNP_ERROR, lerr->code, "%s: %s", f->path,
                        lerr->message);
            g_error_free(lerr);
            return NULL;
        }
        g_ptr_array_add(ders, in[i].der);
        memcpy(in[i].guid, f->guid ? f->guid : sevsnp_cert_type_guid(f->type),
               SEVSNP_GUID_SIZE);
    }
    return sevsnp_cert_table_build(in, n, err);
}
