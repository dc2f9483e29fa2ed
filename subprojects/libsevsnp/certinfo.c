/*
 * libsevsnp: the certificates of a table: their DER, descriptions, chain
 *
 * The standalone library's side of a table (snp-certs, the simulator,
 * the tests); QEMU's copy has none of it.  The same for every crypto
 * backend: what is read from the DER is read by sevsnp-der.h, only
 * signatures and the whole-path check go to the backend
 * (sevsnp-crypto.h).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <time.h>

#include "sevsnp-crypto.h"
#include "sevsnp-der.h"
#include "sevsnp-internal.h"

bool sevsnp_entry_der_ok(SevsnpCertType type, const uint8_t *p, size_t len,
                         const char **what, SevsnpX509 *x509)
{
    const SevsnpCrypto *crypto = sevsnp_crypto();

    switch (type) {
    case SEVSNP_CERT_CRL: {
        SevsnpCrl crl;

        *what = "a DER X.509 CRL";
        return sevsnp_der_valid(p, len) && sevsnp_crl_read(p, len, &crl) &&
               crypto->crl_ok(p, len);
    }
    case SEVSNP_CERT_OTHER:
        *what = "one DER object";
        return sevsnp_der_valid(p, len);
    default: {
        SevsnpX509 x;

        *what = "a DER X.509 certificate";
        return sevsnp_der_valid(p, len) &&
               sevsnp_x509_read(p, len, x509 ? x509 : &x) &&
               crypto->cert_ok(p, len);
    }
    }
}

gboolean sevsnp_cert_table_check_entries(const SevsnpCertTable *table,
                                         GError **err)
{
    const uint8_t *data = g_bytes_get_data(sevsnp_cert_table_get_blob(table),
                                           NULL);

    for (guint i = 0; i < sevsnp_cert_table_n_entries(table); i++) {
        const SevsnpCertEntry *e = sevsnp_cert_table_entry(table, i);
        const char *what = NULL;
        char guid[37];

        if (!sevsnp_entry_der_ok(e->type, data + e->offset, e->length,
                                 &what, NULL)) {
            sevsnp_guid_unparse(e->guid, guid);
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                        "entry %u (%s %s): the %u bytes at offset %u are "
                        "not %s", i, sevsnp_cert_type_name(e->type), guid,
                        e->length, e->offset, what);
            return FALSE;
        }
    }
    return TRUE;
}

/*
 * The parts of certificate entry @e of @table: parsing the table checked
 * that it is one (sevsnp_cert_table_check_entries()).
 */
static void entry_x509(const SevsnpCertTable *table, const SevsnpCertEntry *e,
                       SevsnpX509 *x)
{
    const uint8_t *p = (const uint8_t *)g_bytes_get_data(
                           sevsnp_cert_table_get_blob(table), NULL) +
                       e->offset;
    bool ok = sevsnp_x509_read(p, e->length, x);

    g_assert(ok);
}

/* SHA-384 of the DER, colon-separated upper-case hex. */
static char *fingerprint(const uint8_t *p, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA384);
    uint8_t md[48];
    gsize mdlen = sizeof(md);
    char *s = g_malloc(48 * 3), *q = s;

    g_checksum_update(ck, p, len);
    g_checksum_get_digest(ck, md, &mdlen);
    for (gsize i = 0; i < mdlen; i++) {
        if (i) {
            *q++ = ':';
        }
        *q++ = hex[md[i] >> 4];
        *q++ = hex[md[i] & 0xf];
    }
    *q = 0;
    return s;
}

static void describe_cert(SevsnpCertInfo *info, const SevsnpX509 *x)
{
    info->is_certificate = true;
    info->subject = sevsnp_name_oneline(&x->subject);
    info->issuer = sevsnp_name_oneline(&x->issuer);
    info->common_name = sevsnp_name_cn(&x->subject);
    info->serial = sevsnp_integer_hex(&x->serial);
    info->not_before = sevsnp_time_iso(&x->not_before,
                                       &info->not_before_unix);
    info->not_after = sevsnp_time_iso(&x->not_after, &info->not_after_unix);
    info->key_type = sevsnp_spki_key_type(&x->spki);
}

SevsnpCertInfo *sevsnp_cert_info_new(const SevsnpCertTable *table, guint i)
{
    const SevsnpCertEntry *e = sevsnp_cert_table_entry(table, i);
    const uint8_t *p;
    SevsnpCertInfo *info;
    SevsnpX509 x;
    SevsnpCrl crl;

    g_return_val_if_fail(e, NULL);
    p = (const uint8_t *)g_bytes_get_data(sevsnp_cert_table_get_blob(table),
                                          NULL) + e->offset;
    info = g_new0(SevsnpCertInfo, 1);
    info->type = e->type;
    sevsnp_guid_unparse(e->guid, info->guid);
    info->offset = e->offset;
    info->length = e->length;
    info->fingerprint = fingerprint(p, e->length);

    switch (e->type) {
    case SEVSNP_CERT_CRL:
        /* Parsing the table checked it. */
        if (sevsnp_crl_read(p, e->length, &crl)) {
            info->is_crl = true;
            info->issuer = sevsnp_name_oneline(&crl.issuer);
            info->not_before = sevsnp_time_iso(&crl.this_update,
                                               &info->not_before_unix);
            if (crl.has_next_update) {
                info->not_after = sevsnp_time_iso(&crl.next_update,
                                                  &info->not_after_unix);
            }
        }
        break;
    case SEVSNP_CERT_OTHER:
        /* Any DER: described when it is a certificate. */
        if (sevsnp_x509_read(p, e->length, &x) &&
            sevsnp_crypto()->cert_ok(p, e->length)) {
            describe_cert(info, &x);
        }
        break;
    default:
        entry_x509(table, e, &x);
        describe_cert(info, &x);
        break;
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

/* One certificate of the chain: its bytes, its fields, its label. */
typedef struct ChainCert {
    const uint8_t *der;
    size_t len;
    SevsnpX509 x;
    char *label;
} ChainCert;

static void chain_cert(const SevsnpCertTable *t, const SevsnpCertEntry *e,
                       const char *role, ChainCert *c)
{
    g_autofree char *cn = NULL;

    c->der = (const uint8_t *)g_bytes_get_data(
                 sevsnp_cert_table_get_blob(t), NULL) + e->offset;
    c->len = e->length;
    entry_x509(t, e, &c->x);
    cn = sevsnp_name_cn(&c->x.subject);
    c->label = g_strdup_printf("%s (%s)", role, cn ? cn : "no CN");
}

/* Does @parent's key verify @child's signature, and do the names chain? */
static bool signs(const ChainCert *parent, const ChainCert *child)
{
    return sevsnp_name_equal(&child->x.issuer, &parent->x.subject) &&
           sevsnp_crypto()->signs(parent->der, parent->len, child->der,
                                  child->len);
}

/*
 * Valid at @at: not before notBefore, before notAfter (as OpenSSL's
 * X509_cmp_time() decides); a time that is not an RFC 5280 one is never.
 */
static bool valid_at(const ChainCert *c, int64_t at, char **why)
{
    int64_t nb, na;
    bool ok_nb = sevsnp_time_unix(&c->x.not_before, &nb);
    bool ok_na = sevsnp_time_unix(&c->x.not_after, &na);

    if (!ok_nb || nb > at) {
        *why = g_strdup_printf("%s is not yet valid", c->label);
        return false;
    }
    if (!ok_na || na <= at) {
        *why = g_strdup_printf("%s has expired", c->label);
        return false;
    }
    return true;
}

static SevsnpChainStatus verify_chain(const ChainCert *ark,
                                      const ChainCert *mid,
                                      const ChainCert *leaf, int64_t at,
                                      char **why)
{
    g_autofree char *path = NULL;

    /* Each link on its own, so that the message names the broken one. */
    if (!signs(ark, ark)) {
        *why = g_strdup_printf("%s is not self-signed", ark->label);
        return SEVSNP_CHAIN_INVALID;
    }
    if (!signs(ark, mid)) {
        *why = g_strdup_printf("%s is not signed by %s", mid->label,
                               ark->label);
        return SEVSNP_CHAIN_INVALID;
    }
    if (!signs(mid, leaf)) {
        *why = g_strdup_printf("%s is not signed by %s", leaf->label,
                               mid->label);
        return SEVSNP_CHAIN_INVALID;
    }
    if (!valid_at(ark, at, why) || !valid_at(mid, at, why) ||
        !valid_at(leaf, at, why)) {
        return SEVSNP_CHAIN_INVALID;
    }

    /* Then the whole path through the library's verifier. */
    path = sevsnp_crypto()->path_error(ark->der, ark->len, mid->der,
                                       mid->len, leaf->der, leaf->len);
    if (path) {
        *why = g_strdup_printf("%s does not verify to %s: %s", leaf->label,
                               ark->label, path);
        return SEVSNP_CHAIN_INVALID;
    }
    *why = g_strdup_printf("%s -> %s -> %s verified", ark->label, mid->label,
                           leaf->label);
    return SEVSNP_CHAIN_VALID;
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
    const SevsnpCertEntry *e_leaf = e_vcek ? e_vcek : e_vlek;
    const char *leaf_role = e_vcek ? "VCEK" : "VLEK";
    const char *mid_role = e_vlek ? "ASVK" : "ASK";
    ChainCert ark = { 0 }, mid = { 0 }, leaf = { 0 };
    int64_t at = at_s ? at_s : (int64_t)time(NULL);
    GString *missing;
    SevsnpChainStatus st;

    if (e_vcek && e_vlek) {
        *why = g_strdup("both a VCEK and a VLEK are present; a report is "
                        "signed by one endorsement key");
        return SEVSNP_CHAIN_INVALID;
    }
    missing = g_string_new(NULL);
    if (!e_ark) {
        g_string_append(missing, ", ARK");
    }
    if (!e_ask) {
        g_string_append_printf(missing, ", %s", mid_role);
    }
    if (!e_leaf) {
        g_string_append(missing, ", VCEK or VLEK");
    }
    if (missing->len) {
        *why = g_strdup_printf("missing %s", missing->str + 2);
        g_string_free(missing, TRUE);
        return SEVSNP_CHAIN_INCOMPLETE;
    }
    g_string_free(missing, TRUE);

    chain_cert(t, e_ark, "ARK", &ark);
    chain_cert(t, e_ask, mid_role, &mid);
    chain_cert(t, e_leaf, leaf_role, &leaf);
    st = verify_chain(&ark, &mid, &leaf, at, why);
    g_free(ark.label);
    g_free(mid.label);
    g_free(leaf.label);
    return st;
}

gboolean sevsnp_cert_table_check_signatures(const SevsnpCertTable *table,
                                            char **why)
{
    const SevsnpCertEntry *e_ark =
        sevsnp_cert_table_find(table, SEVSNP_CERT_ARK);
    const SevsnpCertEntry *e_ask =
        sevsnp_cert_table_find(table, SEVSNP_CERT_ASK);
    const SevsnpCertEntry *e_leaf =
        sevsnp_cert_table_find(table, SEVSNP_CERT_VCEK);
    const char *leaf_role = "VCEK", *mid_role = "ASK";
    ChainCert ark = { 0 }, mid = { 0 }, leaf = { 0 };
    char *msg = NULL;

    if (!e_leaf) {
        e_leaf = sevsnp_cert_table_find(table, SEVSNP_CERT_VLEK);
        leaf_role = "VLEK";
        mid_role = "ASVK";
    }
    if (e_ark) {
        chain_cert(table, e_ark, "ARK", &ark);
    }
    if (e_ask) {
        chain_cert(table, e_ask, mid_role, &mid);
    }
    if (e_leaf) {
        chain_cert(table, e_leaf, leaf_role, &leaf);
    }
    /* Each link whose two ends are present; names, then the signature. */
    if (e_ark && !signs(&ark, &ark)) {
        msg = g_strdup_printf("%s is not self-signed", ark.label);
    } else if (e_ark && e_ask && !signs(&ark, &mid)) {
        msg = g_strdup_printf("%s is not signed by %s", mid.label, ark.label);
    } else if (e_ask && e_leaf && !signs(&mid, &leaf)) {
        msg = g_strdup_printf("%s is not signed by %s", leaf.label,
                              mid.label);
    }
    g_free(ark.label);
    g_free(mid.label);
    g_free(leaf.label);
    if (why) {
        *why = msg;
    } else {
        g_free(msg);
    }
    return !msg;
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
