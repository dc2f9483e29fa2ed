/*
 * libsevsnp: describing and verifying the certificates of a table
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "libsevsnp.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_CRL, X509_CRL_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_STORE, X509_STORE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_STORE_CTX, X509_STORE_CTX_free)

/* CamelCase names for OpenSSL types, in QEMU style. */
typedef X509_NAME X509Name;
typedef STACK_OF(X509) X509Stack;

static char *name_oneline(const X509Name *name)
{
    g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
    char *buf;
    long len;

    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        return g_strdup("?");
    }
    len = BIO_get_mem_data(bio, &buf);
    return g_strndup(buf, len);
}

static char *name_cn(const X509Name *name)
{
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    const ASN1_STRING *s;
    unsigned char *utf8 = NULL;
    char *ret;
    int len;

    if (idx < 0) {
        return NULL;
    }
    s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    len = ASN1_STRING_to_UTF8(&utf8, s);
    if (len < 0) {
        return NULL;
    }
    ret = g_strndup((char *)utf8, len);
    OPENSSL_free(utf8);
    return ret;
}

static char *asn1_time_iso(const ASN1_TIME *t, int64_t *unix_time)
{
    struct tm tm;
    g_autoptr(GDateTime) dt = NULL;

    *unix_time = 0;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        return NULL;
    }
    dt = g_date_time_new_utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                             tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (!dt) {
        return NULL;
    }
    *unix_time = g_date_time_to_unix(dt);
    return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

static char *key_type_of(X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    char group[80];
    size_t glen = 0;

    if (!pk) {
        return g_strdup("unknown");
    }
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        return g_strdup_printf("RSA-%d", EVP_PKEY_get_bits(pk));
    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) == 1) {
            if (strcmp(group, "secp384r1") == 0) {
                return g_strdup("EC-P-384");
            }
            if (strcmp(group, "prime256v1") == 0) {
                return g_strdup("EC-P-256");
            }
            return g_strdup_printf("EC-%s", group);
        }
        return g_strdup("EC");
    default:
        return g_strdup(OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
    }
}

static char *fingerprint(const uint8_t *p, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    GString *s = g_string_new(NULL);

    if (EVP_Digest(p, len, md, &mdlen, EVP_sha384(), NULL) != 1) {
        return g_string_free(s, FALSE);
    }
    for (unsigned i = 0; i < mdlen; i++) {
        g_string_append_printf(s, "%s%02X", i ? ":" : "", md[i]);
    }
    return g_string_free(s, FALSE);
}

SevsnpCertInfo *sevsnp_cert_info_new(const SevsnpCertTable *table, guint i)
{
    const SevsnpCertEntry *e = sevsnp_cert_table_entry(table, i);
    gsize size;
    const uint8_t *blob = g_bytes_get_data(sevsnp_cert_table_get_blob(table),
                                           &size);
    const unsigned char *p;
    SevsnpCertInfo *info;

    g_return_val_if_fail(e, NULL);
    info = g_new0(SevsnpCertInfo, 1);
    info->type = e->type;
    sevsnp_guid_unparse(e->guid, info->guid);
    info->offset = e->offset;
    info->length = e->length;
    info->fingerprint = fingerprint(blob + e->offset, e->length);

    p = blob + e->offset;
    if (e->type == SEVSNP_CERT_CRL) {
        g_autoptr(X509_CRL) crl = d2i_X509_CRL(NULL, &p, e->length);
        if (crl) {
            info->is_crl = true;
            info->issuer = name_oneline(X509_CRL_get_issuer(crl));
            info->not_before = asn1_time_iso(X509_CRL_get0_lastUpdate(crl),
                                             &info->not_before_unix);
            info->not_after = asn1_time_iso(X509_CRL_get0_nextUpdate(crl),
                                            &info->not_after_unix);
        }
        return info;
    }

    {
        g_autoptr(X509) x = d2i_X509(NULL, &p, e->length);
        const ASN1_INTEGER *sn;
        BIGNUM *bn;

        if (!x) {
            return info;
        }
        info->is_certificate = true;
        info->subject = name_oneline(X509_get_subject_name(x));
        info->issuer = name_oneline(X509_get_issuer_name(x));
        info->common_name = name_cn(X509_get_subject_name(x));
        sn = X509_get0_serialNumber(x);
        bn = ASN1_INTEGER_to_BN(sn, NULL);
        if (bn) {
            char *hex = BN_bn2hex(bn);
            info->serial = g_ascii_strdown(hex, -1);
            OPENSSL_free(hex);
            BN_free(bn);
        }
        info->not_before = asn1_time_iso(X509_get0_notBefore(x),
                                         &info->not_before_unix);
        info->not_after = asn1_time_iso(X509_get0_notAfter(x),
                                        &info->not_after_unix);
        info->key_type = key_type_of(x);
    }
    return info;
}

void sevsnp_cert_info_free(SevsnpCertInfo *info)
{
    if (!info) {
        return;
    }
    g_free(info->subject);
    g_free(info->issuer);
    g_free(info->serial);
    g_free(info->not_before);
    g_free(info->not_after);
    g_free(info->key_type);
    g_free(info->fingerprint);
    g_free(info->common_name);
    g_free(info);
}

const char *sevsnp_chain_status_name(SevsnpChainStatus status)
{
    switch (status) {
    case SEVSNP_CHAIN_VALID:
        return "valid";
    case SEVSNP_CHAIN_INVALID:
        return "invalid";
    default:
        return "incomplete";
    }
}

static X509 *entry_x509(const SevsnpCertTable *t, const SevsnpCertEntry *e)
{
    const unsigned char *p;

    if (!e) {
        return NULL;
    }
    p = (const unsigned char *)g_bytes_get_data(
            sevsnp_cert_table_get_blob(t), NULL) + e->offset;
    return d2i_X509(NULL, &p, e->length);
}

static char *cert_label(const char *role, X509 *x)
{
    g_autofree char *cn = name_cn(X509_get_subject_name(x));

    return g_strdup_printf("%s (%s)", role, cn ? cn : "no CN");
}

/* Does @parent's key verify @child's signature, and do the names chain? */
static bool signs(X509 *parent, X509 *child)
{
    EVP_PKEY *pk = X509_get0_pubkey(parent);

    return pk && X509_verify(child, pk) == 1 &&
           X509_NAME_cmp(X509_get_issuer_name(child),
                         X509_get_subject_name(parent)) == 0;
}

static bool valid_at(X509 *x, time_t at, const char *label, char **why)
{
    if (X509_cmp_time(X509_get0_notBefore(x), &at) >= 0) {
        *why = g_strdup_printf("%s is not yet valid", label);
        return false;
    }
    if (X509_cmp_time(X509_get0_notAfter(x), &at) <= 0) {
        *why = g_strdup_printf("%s has expired", label);
        return false;
    }
    return true;
}

static SevsnpChainStatus verify(const SevsnpCertTable *t, int64_t at_s,
                                char **why)
{
    const SevsnpCertEntry *e_ark = sevsnp_cert_table_find(t, SEVSNP_CERT_ARK);
    const SevsnpCertEntry *e_ask = sevsnp_cert_table_find(t, SEVSNP_CERT_ASK);
    const SevsnpCertEntry *e_vcek =
        sevsnp_cert_table_find(t, SEVSNP_CERT_VCEK);
    const SevsnpCertEntry *e_vlek =
        sevsnp_cert_table_find(t, SEVSNP_CERT_VLEK);
    g_autoptr(X509) ark = entry_x509(t, e_ark);
    g_autoptr(X509) ask = entry_x509(t, e_ask);
    g_autoptr(X509) vcek = entry_x509(t, e_vcek);
    g_autoptr(X509) vlek = entry_x509(t, e_vlek);
    g_autoptr(X509_STORE) store = NULL;
    g_autoptr(X509_STORE_CTX) ctx = NULL;
    X509Stack *untrusted = NULL;
    X509 *leaf;
    const char *leaf_role, *mid_role;
    g_autofree char *l_ark = NULL, *l_mid = NULL, *l_leaf = NULL;
    time_t at = at_s ? (time_t)at_s : time(NULL);
    GString *missing = g_string_new(NULL);
    int rc;

    if (vcek && vlek) {
        g_string_free(missing, TRUE);
        *why = g_strdup("both a VCEK and a VLEK are present; a report is "
                        "signed by one endorsement key");
        return SEVSNP_CHAIN_INVALID;
    }
    leaf = vcek ? vcek : vlek;
    leaf_role = vcek ? "VCEK" : "VLEK";
    mid_role = vlek ? "ASVK" : "ASK";
    if (!ark) {
        g_string_append(missing, ", ARK");
    }
    if (!ask) {
        g_string_append_printf(missing, ", %s", mid_role);
    }
    if (!leaf) {
        g_string_append(missing, ", VCEK or VLEK");
    }
    if (missing->len) {
        *why = g_strdup_printf("missing %s", missing->str + 2);
        g_string_free(missing, TRUE);
        return SEVSNP_CHAIN_INCOMPLETE;
    }
    g_string_free(missing, TRUE);

    l_ark = cert_label("ARK", ark);
    l_mid = cert_label(mid_role, ask);
    l_leaf = cert_label(leaf_role, leaf);

    /* Each link on its own, so that the message names the broken one. */
    if (!signs(ark, ark)) {
        *why = g_strdup_printf("%s is not self-signed", l_ark);
        return SEVSNP_CHAIN_INVALID;
    }
    if (!signs(ark, ask)) {
        *why = g_strdup_printf("%s is not signed by %s", l_mid, l_ark);
        return SEVSNP_CHAIN_INVALID;
    }
    if (!signs(ask, leaf)) {
        *why = g_strdup_printf("%s is not signed by %s", l_leaf, l_mid);
        return SEVSNP_CHAIN_INVALID;
    }
    if (!valid_at(ark, at, l_ark, why) || !valid_at(ask, at, l_mid, why) ||
        !valid_at(leaf, at, l_leaf, why)) {
        return SEVSNP_CHAIN_INVALID;
    }

    /* Then the whole path through OpenSSL's verifier. */
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    untrusted = sk_X509_new_null();
    if (!store || !ctx || !untrusted || !X509_STORE_add_cert(store, ark) ||
        !sk_X509_push(untrusted, ask) ||
        !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        sk_X509_free(untrusted);
        *why = g_strdup("out of memory setting up the verifier");
        return SEVSNP_CHAIN_INVALID;
    }
    X509_STORE_CTX_set_time(ctx, 0, at);
    rc = X509_verify_cert(ctx);
    sk_X509_free(untrusted);
    if (rc != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        *why = g_strdup_printf("%s does not verify to %s: %s", l_leaf, l_ark,
                               X509_verify_cert_error_string(e));
        return SEVSNP_CHAIN_INVALID;
    }
    *why = g_strdup_printf("%s -> %s -> %s verified", l_ark, l_mid, l_leaf);
    return SEVSNP_CHAIN_VALID;
}

SevsnpChainStatus sevsnp_cert_table_verify(const SevsnpCertTable *table,
                                           int64_t at, char **why)
{
    char *msg = NULL;
    SevsnpChainStatus st = verify(table, at, &msg);

    if (why) {
        *why = msg;
    } else {
        g_free(msg);
    }
    return st;
}

GBytes *sevsnp_der_from_pem_or_der(GBytes *data, SevsnpCertType kind,
                                   GError **err)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(data, &len);
    const char *what = kind == SEVSNP_CERT_CRL ? "an X.509 CRL" :
                       kind == SEVSNP_CERT_OTHER ? "DER data" :
                       "an X.509 certificate";
    unsigned char *der = NULL;
    int der_len = -1;

    if (len == 0 || len > SEVSNP_DEFAULT_MAX_BLOB) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                    "%zu bytes cannot be %s", (size_t)len, what);
        return NULL;
    }

    if (len > 10 && memmem(p, len, "-----BEGIN", 10)) {
        g_autoptr(BIO) bio = BIO_new_mem_buf(p, (int)len);

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
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                        "PEM input does not hold %s", what);
            return NULL;
        }
        {
            GBytes *ret = g_bytes_new(der, der_len);
            OPENSSL_free(der);
            return ret;
        }
    }

    {
        const unsigned char *q = p;
        bool ok;

        if (kind == SEVSNP_CERT_CRL) {
            g_autoptr(X509_CRL) crl = d2i_X509_CRL(NULL, &q, (long)len);
            ok = crl != NULL;
        } else if (kind == SEVSNP_CERT_OTHER) {
            ASN1_TYPE *t = d2i_ASN1_TYPE(NULL, &q, (long)len);
            ok = t != NULL;
            ASN1_TYPE_free(t);
        } else {
            g_autoptr(X509) x = d2i_X509(NULL, &q, (long)len);
            ok = x != NULL;
        }
        if (!ok || q != p + len) {
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
