/*
 * libsevsnp unit tests: certificates, CRLs and chains on OpenSSL
 *
 * The standalone libsevsnp (snp-certs, which builds, verifies and
 * installs the blobs QEMU serves) decodes and verifies certificates with
 * OpenSSL, and requires them to be DER.  (QEMU's copy of libsevsnp
 * decodes no certificate.)  Every blob here is parsed, each entry
 * described and the chain verified; each case checks the parse outcome
 * and error or the chain status and reason, over real AMD certificates
 * (Milan, Genoa), chains of the simulated firmware, generated chains,
 * and malformed variants of each, and every certificate's description
 * is checked against what OpenSSL's own accessors and printers give,
 * computed here independently of the library.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fwsim.h"
#include "testutil.h"

#define DAY 86400
#define AT_2026 1767225600          /* 2026-01-01T00:00:00Z */

static guint n_blobs;

/* ------------------------------------------------------------------ */
/* What OpenSSL says of a certificate (the reference descriptions)     */
/* ------------------------------------------------------------------ */

static char *ossl_name(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *buf, *ret;
    long len;

    g_assert_cmpint(X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253), >=,
                    0);
    len = BIO_get_mem_data(bio, &buf);
    ret = len > 0 ? g_strndup(buf, len) : g_strdup("");
    BIO_free(bio);
    return ret;
}

static char *ossl_cn(const X509_NAME *name)
{
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    char *ret;
    int len;

    if (idx < 0) {
        return NULL;
    }
    len = ASN1_STRING_to_UTF8(&utf8,
                              X509_NAME_ENTRY_get_data(
                                  X509_NAME_get_entry(name, idx)));
    if (len < 0) {
        return NULL;
    }
    ret = g_strndup((char *)utf8, len);
    OPENSSL_free(utf8);
    return ret;
}

static char *ossl_time(const ASN1_TIME *t)
{
    struct tm tm;
    g_autoptr(GDateTime) dt = NULL;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        return NULL;
    }
    dt = g_date_time_new_utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                             tm.tm_hour, tm.tm_min, tm.tm_sec);
    return dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

static char *ossl_key_type(X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    char group[80];
    size_t glen = 0;

    switch (pk ? EVP_PKEY_get_base_id(pk) : NID_undef) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        return g_strdup_printf("RSA-%d", EVP_PKEY_get_bits(pk));
    case EVP_PKEY_EC:
        g_assert_cmpint(EVP_PKEY_get_group_name(pk, group, sizeof(group),
                                                &glen), ==, 1);
        return g_strdup_printf("EC-%s", strcmp(group, "secp384r1") == 0 ?
                               "P-384" : strcmp(group, "prime256v1") == 0 ?
                               "P-256" : group);
    default:
        return g_strdup("unknown");
    }
}

static char *ossl_serial(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = BN_bn2hex(bn);
    char *ret = g_ascii_strdown(hex, -1);

    OPENSSL_free(hex);
    BN_free(bn);
    return ret;
}

/* What the library makes of one blob. */
typedef struct Result {
    SevsnpCertTable *table;     /* NULL: parsing failed */
    int code;                   /* the SEVSNP_ERROR code of the failure */
    char *message;
    GPtrArray *infos;           /* SevsnpCertInfo *, one per entry */
    SevsnpChainStatus status;
    char *why;
} Result;

/* Entry @i of @r describes its certificate as OpenSSL does. */
static void check_like_openssl(const Result *r, guint i)
{
    const SevsnpCertInfo *info = g_ptr_array_index(r->infos, i);
    g_autoptr(GBytes) der = sevsnp_cert_table_entry_data(r->table, i);
    const unsigned char *p = g_bytes_get_data(der, NULL);
    X509 *x = d2i_X509(NULL, &p, g_bytes_get_size(der));
    g_autofree char *subject = NULL, *issuer = NULL, *cn = NULL;
    g_autofree char *nb = NULL, *na = NULL, *key = NULL, *serial = NULL;

    g_assert_nonnull(x);
    g_assert_true(info->is_certificate);
    subject = ossl_name(X509_get_subject_name(x));
    issuer = ossl_name(X509_get_issuer_name(x));
    cn = ossl_cn(X509_get_subject_name(x));
    nb = ossl_time(X509_get0_notBefore(x));
    na = ossl_time(X509_get0_notAfter(x));
    key = ossl_key_type(x);
    serial = ossl_serial(x);
    g_assert_cmpstr(info->subject, ==, subject);
    g_assert_cmpstr(info->issuer, ==, issuer);
    g_assert_cmpstr(info->common_name, ==, cn);
    g_assert_cmpstr(info->not_before, ==, nb);
    g_assert_cmpstr(info->not_after, ==, na);
    g_assert_cmpstr(info->key_type, ==, key);
    g_assert_cmpstr(info->serial, ==, serial);
    X509_free(x);
}

/* ------------------------------------------------------------------ */
/* Blobs through the library                                           */
/* ------------------------------------------------------------------ */


static void result_free(Result *r)
{
    if (r->table) {
        sevsnp_cert_table_unref(r->table);
    }
    g_free(r->message);
    g_ptr_array_unref(r->infos);
    g_free(r->why);
    g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Result, result_free)

/*
 * Parse, describe and verify @blob at @at; every certificate's
 * description must be OpenSSL's.
 */
static Result *one(GBytes *blob, int64_t at)
{
    Result *r = g_new0(Result, 1);
    GError *err = NULL;

    r->infos = g_ptr_array_new_with_free_func(
                   (GDestroyNotify)sevsnp_cert_info_free);
    r->table = sevsnp_cert_table_parse(blob, 0, &err);
    if (!r->table) {
        r->code = err->code;
        r->message = g_strdup(err->message);
        g_error_free(err);
    } else {
        for (guint i = 0; i < sevsnp_cert_table_n_entries(r->table); i++) {
            const SevsnpCertInfo *info = sevsnp_cert_info_new(r->table, i);

            g_ptr_array_add(r->infos, (gpointer)info);
            if (info->is_certificate) {
                check_like_openssl(r, i);
            }
        }
        r->status = sevsnp_cert_table_verify(r->table, at, &r->why);
    }
    n_blobs++;
    return r;
}

/*
 * The library accepts @blob and finds the chain @status, the reason
 * holding @why.
 */
static void expect_chain(GBytes *blob, int64_t at, SevsnpChainStatus status,
                         const char *why)
{
    g_autoptr(Result) r = one(blob, at);

    if (!r->table) {
        g_error("blob refused: %s", r->message);
    }
    if (r->status != status || !strstr(r->why, why)) {
        g_error("chain %s '%s', expected %s '...%s...'",
                sevsnp_chain_status_name(r->status), r->why,
                sevsnp_chain_status_name(status), why);
    }
}

/* The library refuses @blob with @code, the message holding @needle. */
static void expect_refused(GBytes *blob, int code, const char *needle)
{
    g_autoptr(Result) r = one(blob, AT_2026);

    if (r->table) {
        g_error("blob accepted, expected error %d '%s'", code, needle);
    }
    g_assert_cmpint(r->code, ==, code);
    if (!strstr(r->message, needle)) {
        g_error("message '%s' lacks '%s'", r->message, needle);
    }
}

/* A blob of @n entries, table then data in entry order, not validated. */
static GBytes *raw_blob(const SevsnpCertType *types, GBytes *const *ders,
                        guint n)
{
    GByteArray *a = g_byte_array_new();
    size_t off = (n + 1) * SEVSNP_CERT_ENTRY_SIZE;

    g_byte_array_set_size(a, off);
    memset(a->data, 0, off);
    for (guint i = 0; i < n; i++) {
        uint8_t *e = a->data + i * SEVSNP_CERT_ENTRY_SIZE;
        uint32_t o = GUINT32_TO_LE((uint32_t)a->len);
        uint32_t l = GUINT32_TO_LE((uint32_t)g_bytes_get_size(ders[i]));

        if (types[i] == SEVSNP_CERT_OTHER) {
            g_assert_true(sevsnp_guid_parse(
                              "01234567-89ab-cdef-0123-456789abcdef", e));
        } else {
            memcpy(e, sevsnp_cert_type_guid(types[i]), SEVSNP_GUID_SIZE);
        }
        memcpy(e + 16, &o, 4);
        memcpy(e + 20, &l, 4);
        g_byte_array_append(a, g_bytes_get_data(ders[i], NULL),
                            g_bytes_get_size(ders[i]));
    }
    return g_byte_array_free_to_bytes(a);
}

static const SevsnpCertType chain3[] = {
    SEVSNP_CERT_ARK, SEVSNP_CERT_ASK, SEVSNP_CERT_VCEK,
};

static GBytes *blob3(GBytes *ark, GBytes *ask, GBytes *leaf)
{
    GBytes *d[] = { ark, ask, leaf };

    return raw_blob(chain3, d, 3);
}

/* @der with its bytes edited: [off, off + cut) replaced by @ins. */
static GBytes *edit(GBytes *der, size_t off, size_t cut, const void *ins,
                    size_t ins_len)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(der, &len);
    GByteArray *a = g_byte_array_new();

    g_assert_cmpuint(off + cut, <=, len);
    g_byte_array_append(a, p, off);
    g_byte_array_append(a, ins, ins_len);
    g_byte_array_append(a, p + off + cut, len - off - cut);
    return g_byte_array_free_to_bytes(a);
}

static GBytes *flip(GBytes *der, size_t off, uint8_t mask)
{
    uint8_t b = ((const uint8_t *)g_bytes_get_data(der, NULL))[off] ^ mask;

    return edit(der, off, 1, &b, 1);
}

/* The offset of the first occurrence of @needle in @der from @from. */
static size_t find(GBytes *der, size_t from, const void *needle, size_t n)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(der, &len);
    const uint8_t *hit;

    g_assert_cmpuint(from, <=, len);
    hit = memmem(p + from, len - from, needle, n);
    g_assert_nonnull(hit);
    return hit - p;
}

/* ------------------------------------------------------------------ */
/* Generated certificates                                              */
/* ------------------------------------------------------------------ */

typedef enum { KEY_EC, KEY_RSA } KeyKind;
typedef enum { SIG_DEFAULT, SIG_PSS } SigKind;

typedef struct Spec {
    X509_NAME *subject;         /* taken; NULL: CN=@cn */
    const char *cn;
    long version;               /* 1, 2, 3; 0: 3 */
    bool ca;
    bool no_ext;
    bool dup_ext;
    bool crit_unknown;
    const char *ext_name;       /* one more extension, X509V3_EXT_nconf() */
    const char *ext_value;
    const char *serial_hex;     /* NULL: 1 */
    bool negative_serial;
    const char *not_before;     /* "U..." UTCTime, "G..." GeneralizedTime */
    const char *not_after;      /* NULL: -1 day, +365 days from now */
    SigKind sig;
    int pss_salt;
} Spec;

static EVP_PKEY *key_new(KeyKind k)
{
    EVP_PKEY *key = k == KEY_EC ? EVP_EC_gen("P-384")
                                : EVP_RSA_gen(2048);

    g_assert_nonnull(key);
    return key;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    g_assert_nonnull(ext);
    g_assert_cmpint(X509_add_ext(x, ext, -1), ==, 1);
    X509_EXTENSION_free(ext);
}

static void set_time(ASN1_TIME *t, const char *s, long adj_days)
{
    if (s) {
        /* Any string, valid or not (ASN1_TIME_set_string() checks). */
        g_assert_cmpint(ASN1_STRING_set(t, s + 1, strlen(s + 1)), ==, 1);
        t->type = s[0] == 'U' ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME;
    } else {
        g_assert_nonnull(X509_gmtime_adj(t, adj_days * DAY));
    }
}

static void sign(X509 *x, EVP_PKEY *key, SigKind sig, int salt)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *h = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC ?
                      EVP_sha384() : EVP_sha256();

    g_assert_cmpint(EVP_DigestSignInit(md, &pctx, h, NULL, key), >, 0);
    if (sig == SIG_PSS) {
        g_assert_cmpint(EVP_PKEY_CTX_set_rsa_padding(pctx,
                                                     RSA_PKCS1_PSS_PADDING),
                        >, 0);
        g_assert_cmpint(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt), >, 0);
        g_assert_cmpint(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, h), >, 0);
    }
    g_assert_cmpint(X509_sign_ctx(x, md), >, 0);
    EVP_MD_CTX_free(md);
}

/* A certificate of @key per @s, signed by @issuer_key as @issuer. */
static X509 *cert_new(const Spec *s, EVP_PKEY *key, X509 *issuer,
                      EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial;

    g_assert_cmpint(X509_set_version(x, (s->version ? s->version : 3) - 1),
                    ==, 1);
    g_assert_cmpint(BN_hex2bn(&bn, s->serial_hex ? s->serial_hex : "1"), >,
                    0);
    BN_set_negative(bn, s->negative_serial);
    serial = BN_to_ASN1_INTEGER(bn, NULL);
    X509_set_serialNumber(x, serial);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    set_time(X509_getm_notBefore(x), s->not_before, -1);
    set_time(X509_getm_notAfter(x), s->not_after, 365);
    X509_set_pubkey(x, key);
    if (s->subject) {
        X509_set_subject_name(x, s->subject);
        X509_NAME_free(s->subject);
    } else {
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O",
                                   MBSTRING_ASC,
                                   (const unsigned char *)"qemu-snp test",
                                   -1, -1, 0);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
                                   MBSTRING_ASC,
                                   (const unsigned char *)s->cn, -1, -1, 0);
    }
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    if (!s->no_ext) {
        add_ext(x, issuer, NID_basic_constraints,
                s->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
        if (s->ca) {
            add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
        }
        add_ext(x, issuer, NID_subject_key_identifier, "hash");
        if (s->dup_ext) {
            add_ext(x, issuer, NID_subject_key_identifier, "hash");
        }
        if (s->ext_name) {
            X509V3_CTX ctx;
            X509_EXTENSION *ext;

            X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
            ext = X509V3_EXT_nconf(NULL, &ctx, s->ext_name, s->ext_value);
            g_assert_nonnull(ext);
            g_assert_cmpint(X509_add_ext(x, ext, -1), ==, 1);
            X509_EXTENSION_free(ext);
        }
        if (s->crit_unknown) {
            X509V3_CTX ctx;
            X509_EXTENSION *ext;

            X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
            ext = X509V3_EXT_nconf(NULL, &ctx, "1.3.6.1.4.1.3704.99.1",
                                   "critical,ASN1:NULL");
            g_assert_nonnull(ext);
            g_assert_cmpint(X509_add_ext(x, ext, -1), ==, 1);
            X509_EXTENSION_free(ext);
        }
    }
    sign(x, issuer_key, s->sig, s->pss_salt);
    return x;
}

/* A generated chain: ARK, ASK (CA), leaf. */
typedef struct Chain {
    EVP_PKEY *kark, *kask, *kleaf;
    X509 *ark, *ask, *leaf;
    GBytes *dark, *dask, *dleaf;
} Chain;

static void chain_free(Chain *c)
{
    EVP_PKEY_free(c->kark);
    EVP_PKEY_free(c->kask);
    EVP_PKEY_free(c->kleaf);
    X509_free(c->ark);
    X509_free(c->ask);
    X509_free(c->leaf);
    g_bytes_unref(c->dark);
    g_bytes_unref(c->dask);
    g_bytes_unref(c->dleaf);
    g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Chain, chain_free)

/* A chain of @ca_key keys signing with @sig; the leaf's key EC P-384. */
static Chain *chain_new(KeyKind ca_key, SigKind sig)
{
    Chain *c = g_new0(Chain, 1);
    Spec ark = { .cn = "ARK-Test", .ca = true, .sig = sig, .pss_salt = 32 };
    Spec ask = { .cn = "SEV-Test", .ca = true, .sig = sig, .pss_salt = 32,
                 .serial_hex = "2" };
    Spec leaf = { .cn = "SEV-VCEK", .sig = sig, .pss_salt = 32,
                  .serial_hex = "3" };

    c->kark = key_new(ca_key);
    c->kask = key_new(ca_key);
    c->kleaf = key_new(KEY_EC);
    c->ark = cert_new(&ark, c->kark, NULL, c->kark);
    c->ask = cert_new(&ask, c->kask, c->ark, c->kark);
    c->leaf = cert_new(&leaf, c->kleaf, c->ask, c->kask);
    c->dark = test_x509_der(c->ark);
    c->dask = test_x509_der(c->ask);
    c->dleaf = test_x509_der(c->leaf);
    return c;
}

/* A leaf of @c's ASK per @s. */
static GBytes *leaf_of(const Chain *c, const Spec *s)
{
    X509 *x = cert_new(s, c->kleaf, c->ask, c->kask);
    GBytes *b = test_x509_der(x);

    X509_free(x);
    return b;
}

/* ------------------------------------------------------------------ */
/* Real AMD certificates                                               */
/* ------------------------------------------------------------------ */

static void test_amd(void)
{
    g_autoptr(GBytes) m_ark = test_milan(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) m_ask = test_milan(SEVSNP_CERT_ASK);
    g_autoptr(GBytes) m_vcek = test_milan(SEVSNP_CERT_VCEK);
    g_autoptr(GBytes) g_ark = test_genoa(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) g_ask = test_genoa(SEVSNP_CERT_ASK);
    g_autoptr(GBytes) milan = blob3(m_ark, m_ask, m_vcek);
    g_autoptr(GBytes) genoa_milan = blob3(g_ark, g_ask, m_vcek);
    g_autoptr(GBytes) mixed = blob3(m_ark, g_ask, m_vcek);
    g_autoptr(GBytes) swapped = blob3(m_ask, m_ark, m_vcek);
    GBytes *d2[] = { g_ark, g_ask };
    GBytes *d1[] = { m_ark };
    static const SevsnpCertType vlek[] = {
        SEVSNP_CERT_ARK, SEVSNP_CERT_ASK, SEVSNP_CERT_VLEK,
    };
    static const SevsnpCertType both_leaves[] = {
        SEVSNP_CERT_ARK, SEVSNP_CERT_ASK, SEVSNP_CERT_VCEK, SEVSNP_CERT_VLEK,
    };
    GBytes *d3[] = { m_ark, m_ask, m_vcek };
    GBytes *d4[] = { m_ark, m_ask, m_vcek, m_vcek };
    g_autoptr(GBytes) genoa_only = raw_blob(chain3, d2, 2);
    g_autoptr(GBytes) ark_only = raw_blob(chain3, d1, 1);
    g_autoptr(GBytes) as_vlek = raw_blob(vlek, d3, 3);
    g_autoptr(GBytes) two_leaves = raw_blob(both_leaves, d4, 4);

    expect_chain(milan, AT_2026, SEVSNP_CHAIN_VALID,
                 "ARK (ARK-Milan) -> ASK (SEV-Milan) -> VCEK (SEV-VCEK) "
                 "verified");
    expect_chain(milan, 0, SEVSNP_CHAIN_VALID, "verified");
    /* Milan's ARK is valid from 2020-10-22T17:23:05Z, its VCEK to 2030. */
    expect_chain(milan, 1603387385 - 1, SEVSNP_CHAIN_INVALID,
                 "ARK (ARK-Milan) is not yet valid");
    expect_chain(milan, 1603387385, SEVSNP_CHAIN_INVALID,
                 "ASK (SEV-Milan) is not yet valid");
    expect_chain(milan, 1901474623, SEVSNP_CHAIN_INVALID,
                 "VCEK (SEV-VCEK) has expired");
    expect_chain(milan, 1901474623 - 1, SEVSNP_CHAIN_VALID, "verified");
    expect_chain(genoa_milan, AT_2026, SEVSNP_CHAIN_INVALID,
                 "VCEK (SEV-VCEK) is not signed by ASK (SEV-Genoa)");
    expect_chain(mixed, AT_2026, SEVSNP_CHAIN_INVALID,
                 "ASK (SEV-Genoa) is not signed by ARK (ARK-Milan)");
    expect_chain(swapped, AT_2026, SEVSNP_CHAIN_INVALID,
                 "ARK (SEV-Milan) is not self-signed");
    expect_chain(genoa_only, AT_2026, SEVSNP_CHAIN_INCOMPLETE,
                 "missing VCEK or VLEK");
    expect_chain(ark_only, AT_2026, SEVSNP_CHAIN_INCOMPLETE,
                 "missing ASK, VCEK or VLEK");
    expect_chain(as_vlek, AT_2026, SEVSNP_CHAIN_VALID,
                 "ARK (ARK-Milan) -> ASVK (SEV-Milan) -> VLEK (SEV-VCEK)");
    expect_chain(two_leaves, AT_2026, SEVSNP_CHAIN_INVALID,
                 "both a VCEK and a VLEK");
}

/* Malformed variants of the real certificates. */
static void test_amd_malformed(void)
{
    g_autoptr(GBytes) ark = test_milan(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) ask = test_milan(SEVSNP_CERT_ASK);
    g_autoptr(GBytes) vcek = test_milan(SEVSNP_CERT_VCEK);
    gsize n = g_bytes_get_size(ask);
    g_autoptr(GBytes) cut1 = g_bytes_new_from_bytes(ask, 0, n - 1);
    g_autoptr(GBytes) cut_half = g_bytes_new_from_bytes(ask, 0, n / 2);
    g_autoptr(GBytes) trail0 = edit(ask, n, 0, "\x00", 1);
    g_autoptr(GBytes) trail2 = edit(ask, n, 0, "\x01\x02", 2);
    /* 30 82 LL LL -> 30 83 00 LL LL: a length that is not minimal. */
    g_autoptr(GBytes) long_len = edit(ask, 1, 1, "\x83\x00", 2);
    /* 30 82 LL LL ... -> 30 80 ... 00 00: indefinite length (BER). */
    g_autoptr(GBytes) indef0 = edit(ask, 1, 3, "\x80", 1);
    g_autoptr(GBytes) indef = edit(indef0, g_bytes_get_size(indef0), 0,
                                   "\x00\x00", 2);
    g_autoptr(GBytes) bad_vcek_sig = flip(vcek, g_bytes_get_size(vcek) - 1,
                                          0x01);
    g_autoptr(GBytes) bad_ark_sig = flip(ark, g_bytes_get_size(ark) - 1, 0x80);
    /* The ASK's outer signature algorithm says SHA-256 (the TBS SHA-384). */
    static const uint8_t pss_sha384[] = { 0x60, 0x86, 0x48, 0x01, 0x65,
                                          0x03, 0x04, 0x02, 0x02 };
    size_t tbs_alg = find(ask, 0, pss_sha384, sizeof(pss_sha384));
    size_t outer_alg = find(ask, tbs_alg + 1, pss_sha384, sizeof(pss_sha384));
    g_autoptr(GBytes) alg_mismatch = flip(ask, outer_alg + 8, 0x03);
    /* A character of the ASK's notBefore that is not a digit. */
    static const uint8_t nb[] = { 0x17, 0x0d, '2', '0', '1', '0' };
    g_autoptr(GBytes) bad_time = flip(ask, find(ask, 0, nb, sizeof(nb)) + 4,
                                      0x40);
    /* ... and one that is a digit but makes month 50. */
    g_autoptr(GBytes) bad_month = flip(ask, find(ask, 0, nb, sizeof(nb)) + 4,
                                       0x04);
    struct {
        GBytes *ask;
        const char *why;
    } refused[] = {
        { cut1, "not a DER X.509 certificate" },
        { cut_half, "not a DER X.509 certificate" },
        { trail0, "not a DER X.509 certificate" },
        { trail2, "not a DER X.509 certificate" },
        { long_len, "not a DER X.509 certificate" },
        { indef, "not a DER X.509 certificate" },
        { alg_mismatch, "not a DER X.509 certificate" },
        { bad_time, "not a DER X.509 certificate" },
        { bad_month, "not a DER X.509 certificate" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_autoptr(GBytes) b = blob3(ark, refused[i].ask, vcek);

        expect_refused(b, SEVSNP_ERROR_BAD_DER, refused[i].why);
    }
    {
        g_autoptr(GBytes) b1 = blob3(ark, ask, bad_vcek_sig);
        g_autoptr(GBytes) b2 = blob3(bad_ark_sig, ask, vcek);

        expect_chain(b1, AT_2026, SEVSNP_CHAIN_INVALID,
                     "VCEK (SEV-VCEK) is not signed by ASK (SEV-Milan)");
        expect_chain(b2, AT_2026, SEVSNP_CHAIN_INVALID,
                     "ARK (ARK-Milan) is not self-signed");
    }
}

/* ------------------------------------------------------------------ */
/* The simulated firmware's chains                                     */
/* ------------------------------------------------------------------ */

static char *fw_dir(SevsnpProduct p)
{
    static const SevsnpTcb tcb = { .bootloader = 3, .snp = 8,
                                   .microcode = 115, .fmc = 1 };
    g_autoptr(GBytes) none = g_bytes_new_static("", 0);
    g_autofree char *f = test_write_tmp(none, "unused");
    g_autofree char *parent = g_path_get_dirname(f);
    char *dir = g_build_filename(parent, "fw", NULL);
    GError *err = NULL;

    g_assert_true(fwsim_create(dir, p, &tcb, &err));
    g_assert_no_error(err);
    return dir;
}

static void test_fwsim(void)
{
    static const SevsnpProduct products[] = {
        SEVSNP_PRODUCT_MILAN, SEVSNP_PRODUCT_GENOA, SEVSNP_PRODUCT_TURIN,
    };
    g_autoptr(GBytes) first_vcek = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(products); i++) {
        g_autofree char *dir = fw_dir(products[i]);
        GError *err = NULL;
        g_autoptr(GBytes) blob = fwsim_blob(dir, &err);
        g_autoptr(GBytes) rotated = NULL;
        g_autoptr(FwSimState) st = NULL;

        g_assert_no_error(err);
        expect_chain(blob, 0, SEVSNP_CHAIN_VALID, "verified");
        g_assert_true(fwsim_rotate(dir, NULL, &err));
        rotated = fwsim_blob(dir, &err);
        g_assert_no_error(err);
        expect_chain(rotated, 0, SEVSNP_CHAIN_VALID, "verified");
        st = fwsim_load(dir, &err);
        g_assert_no_error(err);
        if (!first_vcek) {
            first_vcek = g_bytes_ref(st->vcek_der);
        } else {
            /* Another firmware's VCEK under this one's ASK. */
            g_autoptr(GBytes) b = blob3(st->ark_der, st->ask_der,
                                        first_vcek);

            expect_chain(b, 0, SEVSNP_CHAIN_INVALID, "is not signed by ASK");
        }
    }
}

/* ------------------------------------------------------------------ */
/* Generated chains                                                    */
/* ------------------------------------------------------------------ */

static void test_generated(void)
{
    static const struct {
        KeyKind key;
        SigKind sig;
    } kinds[] = {
        { KEY_EC, SIG_DEFAULT },        /* ECDSA P-384, SHA-384 */
        { KEY_RSA, SIG_DEFAULT },       /* RSA PKCS#1 v1.5, SHA-256 */
        { KEY_RSA, SIG_PSS },           /* RSA-PSS SHA-256, salt 32 */
    };

    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autoptr(Chain) c = chain_new(kinds[i].key, kinds[i].sig);
        g_autoptr(GBytes) ok = blob3(c->dark, c->dask, c->dleaf);
        g_autoptr(GBytes) bad = flip(c->dleaf, g_bytes_get_size(c->dleaf) - 2,
                                     0x10);
        g_autoptr(GBytes) b_bad = blob3(c->dark, c->dask, bad);

        expect_chain(ok, 0, SEVSNP_CHAIN_VALID,
                     "ARK (ARK-Test) -> ASK (SEV-Test) -> VCEK (SEV-VCEK)");
        expect_chain(b_bad, 0, SEVSNP_CHAIN_INVALID,
                     "VCEK (SEV-VCEK) is not signed by ASK (SEV-Test)");
    }
}

/* The testutil chain: ECDSA, with a CRL and an entry of another type. */
static void test_crl_and_other(void)
{
    g_autoptr(TestChain) c = test_chain_new("Unit", -1, 30);
    g_autoptr(TestChain) old = test_chain_new("Old", -30, -1);
    g_autoptr(TestChain) future = test_chain_new("Future", 10, 30);
    static const uint8_t other[] = { 0x04, 0x03, 'a', 'b', 'c' };
    static const uint8_t ber_other[] = { 0x24, 0x80, 0x04, 0x01, 'a',
                                         0x00, 0x00 };
    g_autoptr(GBytes) other_b = g_bytes_new_static(other, sizeof(other));
    g_autoptr(GBytes) ber_b = g_bytes_new_static(ber_other,
                                                 sizeof(ber_other));
    g_autoptr(GBytes) crl_cut = g_bytes_new_from_bytes(
        c->crl, 0, g_bytes_get_size(c->crl) - 3);
    static const SevsnpCertType five[] = {
        SEVSNP_CERT_ARK, SEVSNP_CERT_ASK, SEVSNP_CERT_VCEK, SEVSNP_CERT_CRL,
        SEVSNP_CERT_OTHER,
    };
    GBytes *good[] = { c->ark, c->ask, c->vcek, c->crl, other_b };
    GBytes *ber[] = { c->ark, c->ask, c->vcek, c->crl, ber_b };
    GBytes *cut[] = { c->ark, c->ask, c->vcek, crl_cut, other_b };
    GBytes *cert_as_crl[] = { c->ark, c->ask, c->vcek, c->vcek, other_b };
    GBytes *cert_as_other[] = { c->ark, c->ask, c->vcek, c->crl, c->ark };
    GBytes *crl_as_ark[] = { c->crl, c->ask, c->vcek, c->crl, other_b };
    g_autoptr(GBytes) b_good = raw_blob(five, good, 5);
    g_autoptr(GBytes) b_ber = raw_blob(five, ber, 5);
    g_autoptr(GBytes) b_cut = raw_blob(five, cut, 5);
    g_autoptr(GBytes) b_cert_as_crl = raw_blob(five, cert_as_crl, 5);
    g_autoptr(GBytes) b_cert_as_other = raw_blob(five, cert_as_other, 5);
    g_autoptr(GBytes) b_crl_as_ark = raw_blob(five, crl_as_ark, 5);
    g_autoptr(GBytes) b_old = test_chain_blob(old);
    g_autoptr(GBytes) b_future = test_chain_blob(future);

    expect_chain(b_good, 0, SEVSNP_CHAIN_VALID, "verified");
    {
        g_autoptr(Result) r = one(b_good, 0);
        const SevsnpCertInfo *crl = g_ptr_array_index(r->infos, 3);
        const SevsnpCertInfo *oth = g_ptr_array_index(r->infos, 4);
        const SevsnpCertInfo *ark = g_ptr_array_index(r->infos, 0);

        g_assert_true(crl->is_crl && !crl->is_certificate);
        g_assert_cmpstr(crl->issuer, ==, ark->subject);
        g_assert_nonnull(crl->not_before);
        g_assert_cmpint(crl->not_after_unix - crl->not_before_unix, ==, DAY);
        g_assert_false(oth->is_certificate || oth->is_crl);
        g_assert_null(oth->subject);
    }
    {
        /* An entry of another type that is a certificate is described. */
        g_autoptr(Result) r = one(b_cert_as_other, 0);
        const SevsnpCertInfo *oth = g_ptr_array_index(r->infos, 4);

        g_assert_true(oth->is_certificate);
        g_assert_cmpstr(oth->common_name, ==, "ARK-Unit");
    }
    expect_refused(b_ber, SEVSNP_ERROR_BAD_DER, "not one DER object");
    {
        /* Entries of another type: DER, each rule both ways. */
        static const struct {
            const char *hex;
            bool der;
        } others[] = {
            { "0101ff", true },             /* BOOLEAN TRUE */
            { "010101", false },            /* ... not as DER has it */
            { "020100", true },             /* INTEGER 0 */
            { "02020001", false },          /* ... not minimal */
            { "0500", true },
            { "050100", false },            /* NULL with contents */
            { "03020102", true },           /* BIT STRING, 1 bit unused */
            { "03020101", false },          /* ... not zero */
            /* OID 1.2.(2^64 - 1), 1.2.(2^64), an arc not minimal */
            { "060b2a81ffffffffffffffff7f", true },
            { "060b2a82808080808080808000", false },
            { "06032a8001", false },
            { "0d028101", true },           /* RELATIVE-OID */
            { "0d028001", false },
            { "170d3235303130313132303030305a", true },   /* UTCTime */
            { "170d32353031303131323030303058", false },
            { "3003020101", true },
            { "3083000003020101", false },  /* a length not minimal */
            { "2003020101", false },        /* SEQUENCE, primitive */
            { "a003020101", true },         /* [0] */
            { "a080020101 0000", false },   /* ... indefinite length */
            { "0401610000", false },        /* trailing bytes */
        };

        for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
            g_autofree char *hex = g_strdup(others[i].hex);
            GByteArray *a = g_byte_array_new();
            g_autoptr(GBytes) der = NULL;
            GBytes *with[] = { c->ark, c->ask, c->vcek, c->crl, NULL };
            g_autoptr(GBytes) b = NULL;

            for (const char *h = hex; h[0] && h[1]; h += 2) {
                uint8_t v;

                while (*h == ' ') {
                    h++;
                }
                v = g_ascii_xdigit_value(h[0]) << 4 |
                    g_ascii_xdigit_value(h[1]);
                g_byte_array_append(a, &v, 1);
            }
            der = g_byte_array_free_to_bytes(a);
            with[4] = der;
            b = raw_blob(five, with, 5);
            g_test_message("other entry %s", others[i].hex);
            if (others[i].der) {
                expect_chain(b, 0, SEVSNP_CHAIN_VALID, "verified");
            } else {
                expect_refused(b, SEVSNP_ERROR_BAD_DER,
                               "are not one DER object");
            }
        }
    }
    expect_refused(b_cut, SEVSNP_ERROR_BAD_DER, "not a DER X.509 CRL");
    expect_refused(b_cert_as_crl, SEVSNP_ERROR_BAD_DER,
                   "not a DER X.509 CRL");
    expect_refused(b_crl_as_ark, SEVSNP_ERROR_BAD_DER,
                   "not a DER X.509 certificate");
    expect_chain(b_old, 0, SEVSNP_CHAIN_INVALID,
                 "ARK (ARK-Old) has expired");
    expect_chain(b_old, time(NULL) - 10 * DAY, SEVSNP_CHAIN_VALID,
                 "verified");
    expect_chain(b_future, 0, SEVSNP_CHAIN_INVALID,
                 "ARK (ARK-Future) is not yet valid");
}

/* What the libraries decode differently, and the library refuses. */
static void test_decode_rules(void)
{
    g_autoptr(Chain) c = chain_new(KEY_EC, SIG_DEFAULT);
    Spec v1_ext = { .cn = "SEV-VCEK", .version = 1 };
    Spec v1 = { .cn = "SEV-VCEK", .version = 1, .no_ext = true };
    Spec dup = { .cn = "SEV-VCEK", .dup_ext = true };
    Spec no_secs = { .cn = "SEV-VCEK", .not_before = "U2501011200Z" };
    Spec month13 = { .cn = "SEV-VCEK", .not_before = "U251301120000Z" };
    Spec offset = { .cn = "SEV-VCEK", .not_before = "U250101120000+0100" };
    Spec fraction = { .cn = "SEV-VCEK", .not_after = "G20500101120000.5Z" };
    Spec feb30 = { .cn = "SEV-VCEK", .not_before = "U250230120000Z" };
    /* GnuTLS reads alternative names when it decodes a certificate. */
    Spec san_dns = { .cn = "SEV-VCEK", .ext_name = "subjectAltName",
                     .ext_value = "DNS:vcek.example,IP:192.0.2.1" };
    Spec san_bad = { .cn = "SEV-VCEK", .ext_name = "subjectAltName",
                     .ext_value = "DER:30030101FF" };
    Spec san_x400 = { .cn = "SEV-VCEK", .ext_name = "issuerAltName",
                      .ext_value = "DER:3004A3023000" };
    Spec san_empty = { .cn = "SEV-VCEK", .ext_name = "subjectAltName",
                       .ext_value = "DER:30028200" };
    /* An extension OpenSSL does not know, twice. */
    Spec dup_unknown = { .cn = "SEV-VCEK",
                         .ext_name = "1.3.6.1.4.1.3704.99.1",
                         .ext_value = "ASN1:NULL", .crit_unknown = true };
    struct {
        const Spec *spec;
        bool accepted;
    } cases[] = {
        { &v1_ext, false },             /* extensions need version 3 */
        { &v1, true },
        { &dup, false },                /* an extension twice */
        { &no_secs, false },            /* RFC 5280 times only */
        { &month13, false },
        { &offset, false },
        { &fraction, false },
        { &feb30, false },
        { &san_dns, true },
        { &san_bad, false },
        { &san_x400, false },
        { &san_empty, false },
        { &dup_unknown, false },
    };

    /*
     * Names one library refuses to decode and the other takes: a
     * UTF8String that is not UTF-8, a VisibleString value (not among
     * OpenSSL's ASN1_PRINTABLE types), a universal tag 14.  Made by
     * editing a signed leaf: its signature no longer matters, the
     * decoding fails first.
     */
    Spec named = { .cn = "utf8-X" };
    g_autoptr(GBytes) leaf_named = leaf_of(c, &named);
    static const uint8_t cn_value[] = { 0x0c, 0x06, 'u', 't', 'f', '8', '-' };
    size_t cn_at = find(leaf_named, 0, cn_value, sizeof(cn_value));
    g_autoptr(GBytes) bad_utf8 = edit(leaf_named, cn_at + 7, 1, "\xff", 1);
    g_autoptr(GBytes) visible = edit(leaf_named, cn_at, 1, "\x1a", 1);
    /* ... and one GnuTLS refuses: a universal tag neither knows. */
    g_autoptr(GBytes) tag14 = edit(leaf_named, cn_at, 1, "\x0e", 1);
    GBytes *bad_names[] = { bad_utf8, visible, tag14 };

    for (size_t i = 0; i < G_N_ELEMENTS(bad_names); i++) {
        g_autoptr(GBytes) b = blob3(c->dark, c->dask, bad_names[i]);

        expect_refused(b, SEVSNP_ERROR_BAD_DER,
                       "are not a DER X.509 certificate");
    }
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GBytes) leaf = leaf_of(c, cases[i].spec);
        g_autoptr(GBytes) b = blob3(c->dark, c->dask, leaf);

        g_test_message("decode rule case %zu", i);
        if (cases[i].accepted) {
            g_autoptr(Result) r = one(b, 0);

            g_assert_nonnull(r->table);
        } else {
            expect_refused(b, SEVSNP_ERROR_BAD_DER,
                           "entry 2 (vcek 63da758d-e664-4564-adc5-"
                           "f4b93be8accd): the ");
        }
    }
}

/* What the whole-path check of each library finds. */
static void test_path_rules(void)
{
    g_autoptr(Chain) c = chain_new(KEY_EC, SIG_DEFAULT);
    EVP_PKEY *k = key_new(KEY_EC);
    Spec not_ca = { .cn = "SEV-Test", .serial_hex = "2" };
    X509 *ask = cert_new(&not_ca, k, c->ark, c->kark);
    Spec leaf = { .cn = "SEV-VCEK", .serial_hex = "3" };
    X509 *vcek = cert_new(&leaf, c->kleaf, ask, k);
    g_autoptr(GBytes) dask = test_x509_der(ask);
    g_autoptr(GBytes) dvcek = test_x509_der(vcek);
    g_autoptr(GBytes) b = blob3(c->dark, dask, dvcek);
    Spec crit = { .cn = "SEV-VCEK", .serial_hex = "4", .crit_unknown = true };
    g_autoptr(GBytes) dcrit = leaf_of(c, &crit);
    g_autoptr(GBytes) b2 = blob3(c->dark, c->dask, dcrit);

    /* An ASK that is no CA signs a VCEK: every signature verifies. */
    expect_chain(b, 0, SEVSNP_CHAIN_INVALID,
                 "VCEK (SEV-VCEK) does not verify to ARK (ARK-Test): ");
    /* A critical extension neither library knows. */
    expect_chain(b2, 0, SEVSNP_CHAIN_INVALID,
                 "VCEK (SEV-VCEK) does not verify to ARK (ARK-Test): ");
    X509_free(ask);
    X509_free(vcek);
    EVP_PKEY_free(k);
}

/* Names, serials and times described alike, and as OpenSSL does. */
static void test_descriptions(void)
{
    g_autoptr(Chain) c = chain_new(KEY_EC, SIG_DEFAULT);
    static const struct {
        int type;
        const char *field, *value;
        int set;                    /* 0: a new RDN, -1: add to the last */
    } names[][4] = {
        { { V_ASN1_UTF8STRING, "CN", "a,b+c\"d\\e<f>g;h", 0 },
          { V_ASN1_PRINTABLESTRING, "O", " lead and trail ", 0 } },
        { { V_ASN1_UTF8STRING, "CN", "#hash", 0 },
          { V_ASN1_UTF8STRING, "OU", "multi", 0 },
          { V_ASN1_UTF8STRING, "L", "valued", -1 } },
        { { V_ASN1_T61STRING, "CN", "caf\xe9", 0 },
          { V_ASN1_UTF8STRING, "O", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac", 0 },
          { V_ASN1_IA5STRING, "emailAddress", "a@b", 0 } },
        { { V_ASN1_UTF8STRING, "1.3.6.1.4.1.3704.99.2", "unknown", 0 },
          { V_ASN1_UTF8STRING, "CN", "ctrl\x01\x7f", 0 },
          { V_ASN1_UTF8STRING, "DC", " ", 0 },
          { V_ASN1_UTF8STRING, "serialNumber", "#", 0 } },
        { { V_ASN1_BMPSTRING, "CN", "\x00" "B\x00" "M\x20\xac", 0 },
          { V_ASN1_UNIVERSALSTRING, "O", "\x00\x00\x00U\x00\x01\xf6\x00",
            0 } },
        { { 0 } },                      /* an empty subject */
    };
    static const struct {
        const char *hex;
        bool neg;
    } serials[] = {
        { "0", false }, { "7f", false }, { "80", false },
        { "0102030405060708090a0b0c0d0e0f1011121314", false },
        { "1", true }, { "80", true }, { "ff00", true },
    };
    Spec gen = { .cn = "SEV-VCEK", .not_before = "G19500101000000Z",
                 .not_after = "G20991231235959Z" };
    Spec utc = { .cn = "SEV-VCEK", .not_before = "U500101000000Z",
                 .not_after = "U491231235959Z" };
    Spec leap = { .cn = "SEV-VCEK", .not_before = "U240229000000Z",
                  .not_after = "G21000228235959Z" };
    const Spec *times[] = { &gen, &utc, &leap };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        X509_NAME *n = X509_NAME_new();
        Spec s = { .subject = n };
        g_autoptr(GBytes) leaf = NULL;
        g_autoptr(GBytes) b = NULL;
        g_autoptr(Result) r = NULL;

        for (size_t k = 0; k < 4 && names[i][k].field; k++) {
            const char *v = names[i][k].value;
            size_t len = names[i][k].type == V_ASN1_BMPSTRING ? 6 :
                         names[i][k].type == V_ASN1_UNIVERSALSTRING ? 8 :
                         strlen(v);

            g_assert_cmpint(X509_NAME_add_entry_by_txt(
                                n, names[i][k].field, names[i][k].type,
                                (const unsigned char *)v, len, -1,
                                names[i][k].set), ==, 1);
        }
        leaf = leaf_of(c, &s);
        b = blob3(c->dark, c->dask, leaf);
        r = one(b, 0);
        g_assert_nonnull(r->table);
        if (!names[i][0].field) {
            const SevsnpCertInfo *v = g_ptr_array_index(r->infos, 2);

            g_assert_cmpstr(v->subject, ==, "");
            g_assert_null(v->common_name);
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(serials); i++) {
        Spec s = { .cn = "SEV-VCEK", .serial_hex = serials[i].hex,
                   .negative_serial = serials[i].neg };
        g_autoptr(GBytes) leaf = leaf_of(c, &s);
        g_autoptr(GBytes) b = blob3(c->dark, c->dask, leaf);
        g_autoptr(Result) r = one(b, 0);

        g_assert_nonnull(r->table);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(times); i++) {
        g_autoptr(GBytes) leaf = leaf_of(c, times[i]);
        g_autoptr(GBytes) b = blob3(c->dark, c->dask, leaf);
        g_autoptr(Result) r = one(b, 0);
        const SevsnpCertInfo *v = g_ptr_array_index(r->infos, 2);

        g_assert_nonnull(r->table);
        g_assert_nonnull(v->not_before);
    }
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x509/amd", test_amd);
    g_test_add_func("/x509/amd-malformed", test_amd_malformed);
    g_test_add_func("/x509/fwsim", test_fwsim);
    g_test_add_func("/x509/generated", test_generated);
    g_test_add_func("/x509/crl-and-other", test_crl_and_other);
    g_test_add_func("/x509/decode-rules", test_decode_rules);
    g_test_add_func("/x509/path-rules", test_path_rules);
    g_test_add_func("/x509/descriptions", test_descriptions);
    rc = g_test_run();
    g_test_message("%u blobs checked", n_blobs);
    return rc;
}
