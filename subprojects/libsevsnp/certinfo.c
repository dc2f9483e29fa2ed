/*
 * libsevsnp: the certificates of a table: their DER, descriptions, chain
 *
 * The standalone library's side of a table (snp-certs, the simulator,
 * the tests); QEMU's copy has none of it.  Everything read from an
 * entry is read by OpenSSL: its decoders say whether the bytes are a
 * certificate or a CRL, its accessors give every field that is shown or
 * checked, its verifiers check the signatures and the path.  What
 * OpenSSL's decoders let through and DER forbids (BER lengths, values
 * that are not minimal, trailing bytes) is found by having OpenSSL
 * encode what it decoded and comparing with the input.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "sevsnp-internal.h"

/* CamelCase names for OpenSSL types, in QEMU style. */
typedef STACK_OF(X509) X509Stack;
typedef STACK_OF(X509_EXTENSION) X509ExtensionStack;
typedef STACK_OF(X509_REVOKED) X509RevokedStack;
typedef STACK_OF(ASN1_TYPE) Asn1TypeStack;
typedef ASN1_TYPE Asn1Type;
typedef ASN1_OBJECT Asn1Object;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_CRL, X509_CRL_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_STORE, X509_STORE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_STORE_CTX, X509_STORE_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Asn1Type, ASN1_TYPE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIGNUM, BN_free)

/* ------------------------------------------------------------------ */
/* DER: what OpenSSL decodes, encoded back the same                    */
/* ------------------------------------------------------------------ */

#define DER_MAX_DEPTH 20

/* Is every arc of @o, as OpenSSL writes it out, below 2^64? */
static bool oid_arcs_ok(const Asn1Object *o)
{
    char buf[128];
    g_autofree char *big = NULL;
    char *txt = buf, *arc, *end;
    int n = OBJ_obj2txt(buf, sizeof(buf), o, 1);

    if (n <= 0) {
        return false;
    }
    if (n >= (int)sizeof(buf)) {
        txt = big = g_malloc(n + 1);
        if (OBJ_obj2txt(big, n + 1, o, 1) != n) {
            return false;
        }
    }
    for (arc = txt;; arc = end + 1) {
        errno = 0;
        g_ascii_strtoull(arc, &end, 10);
        if (errno || end == arc || (*end && *end != '.')) {
            return false;
        }
        if (!*end) {
            break;
        }
    }
    return true;
}

/*
 * Does OpenSSL encode what it decodes of the value [p, p + len) as it?
 * It decodes into *@scratch, an ASN1_TYPE kept from the previous value
 * (OpenSSL reuses it and its string), or NULL.
 */
static bool reencodes(const uint8_t *p, long len, Asn1Type **scratch)
{
    const unsigned char *q = p;
    Asn1Type *t = d2i_ASN1_TYPE(scratch, &q, len);
    unsigned char buf[1024], *out;
    int n;
    bool same;

    if (!t) {
        /* OpenSSL freed *@scratch and set it to NULL. */
        ERR_clear_error();
        return false;
    }
    if (q != p + len) {
        return false;
    }
    if (ASN1_TYPE_get(t) == V_ASN1_BOOLEAN) {
        /* OpenSSL keeps the octet it read. */
        return t->value.boolean == 0 || t->value.boolean == 0xff;
    }
    /* An OID in OpenSSL's table has arcs it can write. */
    if (ASN1_TYPE_get(t) == V_ASN1_OBJECT &&
        OBJ_obj2nid(t->value.object) == NID_undef &&
        !oid_arcs_ok(t->value.object)) {
        return false;
    }
    /* Its length first, then its bytes (on the stack when they fit). */
    if (i2d_ASN1_TYPE(t, NULL) != len) {
        return false;
    }
    if (len <= (long)sizeof(buf)) {
        out = buf;
        n = i2d_ASN1_TYPE(t, &out);
        return n == len && memcmp(buf, p, len) == 0;
    }
    out = NULL;
    n = i2d_ASN1_TYPE(t, &out);
    same = n == len && memcmp(out, p, len) == 0;
    OPENSSL_free(out);
    return same;
}

/*
 * A RELATIVE-OID's arcs are encoded as an OBJECT IDENTIFIER's: the same
 * TLV tagged as one must decode and encode back the same.
 */
static bool rel_oid_ok(const uint8_t *p, long size, Asn1Type **scratch)
{
    g_autofree uint8_t *oid = g_memdup2(p, size);

    oid[0] = V_ASN1_OBJECT;
    return reencodes(oid, size, scratch);
}

/* A time's characters: digits, one '.' in a GeneralizedTime, then 'Z'. */
static bool time_chars_ok(const uint8_t *v, long len, int tag)
{
    bool dot = false;

    if (len < 8 || v[len - 1] != 'Z') {
        return false;
    }
    for (long i = 0; i + 1 < len; i++) {
        if (v[i] == '.' && tag == V_ASN1_GENERALIZEDTIME && !dot) {
            dot = true;
        } else if (v[i] < '0' || v[i] > '9') {
            return false;
        }
    }
    return true;
}

/* The universal types' DER rules for the TLV [p, p + size). */
static bool universal_ok(const uint8_t *p, long size, const uint8_t *val,
                         long len, int tag, bool cons, Asn1Type **scratch)
{
    switch (tag) {
    case 0:                             /* end-of-contents: BER only */
        return false;
    case V_ASN1_SEQUENCE:
    case V_ASN1_SET:
        return cons;
    case V_ASN1_BOOLEAN:
    case V_ASN1_INTEGER:
    case V_ASN1_ENUMERATED:
    case V_ASN1_BIT_STRING:
    case V_ASN1_NULL:
    case V_ASN1_OBJECT:
        return !cons && reencodes(p, size, scratch);
    case V_ASN1_UTCTIME:
    case V_ASN1_GENERALIZEDTIME:
        return !cons && time_chars_ok(val, len, tag);
    case 13:                            /* RELATIVE-OID */
        return !cons && rel_oid_ok(p, size, scratch);
    case V_ASN1_OCTET_STRING:
    case V_ASN1_UTF8STRING:
    case 18 ... 22:
    case 25 ... 30:                     /* strings */
        return !cons;
    default:
        return true;
    }
}

/*
 * Is [p, p + len) a series of DER encodings: each header the one OpenSSL
 * writes for what it reads of it (definite, minimal), the universal
 * types' rules, constructed contents the same, at most 20 deep?
 */
static bool der_series_ok(const uint8_t *p, long len, int depth,
                          Asn1Type **scratch)
{
    while (len > 0) {
        const unsigned char *q = p;
        unsigned char head[16], *h = head;
        long clen;
        int tag, cls, ret, hlen;
        bool cons;

        ret = ASN1_get_object(&q, &clen, &tag, &cls, len);
        if (ret & 0x80) {
            ERR_clear_error();
            return false;
        }
        if (ret & 0x01) {                   /* indefinite length */
            return false;
        }
        cons = ret & V_ASN1_CONSTRUCTED;
        hlen = q - p;
        if (ASN1_object_size(0, clen, tag) - clen != hlen) {
            return false;
        }
        ASN1_put_object(&h, cons, clen, tag, cls);
        if (h - head != hlen || memcmp(head, p, hlen) != 0) {
            return false;
        }
        if (cls == V_ASN1_UNIVERSAL &&
            !universal_ok(p, hlen + clen, q, clen, tag, cons, scratch)) {
            return false;
        }
        if (cons && (depth >= DER_MAX_DEPTH ||
                     !der_series_ok(q, clen, depth + 1, scratch))) {
            return false;
        }
        p = q + clen;
        len -= hlen + clen;
    }
    return true;
}

/* Is [p, p + len) exactly one DER encoding? */
static bool der_ok(const uint8_t *p, size_t len)
{
    const unsigned char *q = p;
    g_autoptr(Asn1Type) scratch = NULL;
    long clen;
    int tag, cls, ret;

    if (len == 0 || len > LONG_MAX) {
        return false;
    }
    ret = ASN1_get_object(&q, &clen, &tag, &cls, (long)len);
    if (ret & 0x80) {
        ERR_clear_error();
        return false;
    }
    return (size_t)(q - p) + clen == len &&
           der_series_ok(p, (long)len, 0, &scratch);
}

/* Are @n bytes of OpenSSL's encoding at @out the input [p, p + len)? */
static bool same_bytes(unsigned char *out, int n, const uint8_t *p,
                       size_t len)
{
    bool same = n > 0 && (size_t)n == len && memcmp(out, p, len) == 0;

    OPENSSL_free(out);
    return same;
}

/*
 * A time as RFC 5280 has them (UTCTime YYMMDDHHMMSSZ, GeneralizedTime
 * YYYYMMDDHHMMSSZ, a date that exists): its fields, or false.
 */
static bool time_tm(const ASN1_TIME *t, struct tm *tm)
{
    int type = t ? ASN1_STRING_type(t) : 0;
    int len = t ? ASN1_STRING_length(t) : 0;
    bool ok;

    if (!((type == V_ASN1_UTCTIME && len == 13) ||
          (type == V_ASN1_GENERALIZEDTIME && len == 15)) ||
        ASN1_STRING_get0_data(t)[len - 1] != 'Z') {
        return false;
    }
    ok = ASN1_TIME_to_tm(t, tm) == 1;
    if (!ok) {
        ERR_clear_error();
    }
    return ok && tm->tm_year != -1900;
}

static bool time_unix(const ASN1_TIME *t, int64_t *unix_time)
{
    struct tm tm;

    *unix_time = 0;
    if (!time_tm(t, &tm)) {
        return false;
    }
    *unix_time = timegm(&tm);
    return true;
}

/* The same algorithm: OID and parameters, an absent one as NULL. */
static bool alg_same(const X509_ALGOR *a, const X509_ALGOR *b)
{
    const ASN1_OBJECT *oa, *ob;
    const void *va, *vb;
    int ta, tb;

    X509_ALGOR_get0(&oa, &ta, &va, a);
    X509_ALGOR_get0(&ob, &tb, &vb, b);
    if (OBJ_cmp(oa, ob) != 0) {
        return false;
    }
    ta = ta == V_ASN1_NULL ? V_ASN1_UNDEF : ta;
    tb = tb == V_ASN1_NULL ? V_ASN1_UNDEF : tb;
    if (ta != tb) {
        return false;
    }
    if (ta == V_ASN1_UNDEF) {
        return true;
    }
    return ASN1_TYPE_cmp(a->parameter, b->parameter) == 0;
}

/*
 * The attribute values of a Name: the string types OpenSSL converts to
 * UTF-8 when it decodes a Name, BIT STRING and SEQUENCE.
 */
static bool name_values_ok(const X509_NAME *name)
{
    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const ASN1_STRING *v =
            X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));

        switch (ASN1_STRING_type(v)) {
        case V_ASN1_BIT_STRING:
        case V_ASN1_UTF8STRING:
        case V_ASN1_NUMERICSTRING:
        case V_ASN1_PRINTABLESTRING:
        case V_ASN1_T61STRING:
        case V_ASN1_IA5STRING:
        case V_ASN1_UNIVERSALSTRING:
        case V_ASN1_BMPSTRING:
        case V_ASN1_SEQUENCE:
            break;
        default:
            return false;
        }
    }
    return true;
}

/* No extension twice. */
static bool extensions_unique(const X509ExtensionStack *exts)
{
    int n = X509v3_get_ext_count(exts);

    for (int i = 1; i < n; i++) {
        const ASN1_OBJECT *oi =
            X509_EXTENSION_get_object(X509v3_get_ext(exts, i));

        for (int j = 0; j < i; j++) {
            if (OBJ_cmp(oi, X509_EXTENSION_get_object(
                                X509v3_get_ext(exts, j))) == 0) {
                return false;
            }
        }
    }
    return true;
}

/*
 * The alternative names @nid (subject's or issuer's) of @x, if any: none
 * empty, of the kinds a GeneralName is read as (not x400Address, not
 * ediPartyName), as the library has always required.
 */
static bool alt_names_ok(X509 *x, int nid)
{
    int crit = -1;
    GENERAL_NAMES *names = X509_get_ext_d2i(x, nid, &crit, NULL);
    bool ok = names || crit == -1;

    for (int i = 0; ok && i < sk_GENERAL_NAME_num(names); i++) {
        int type;
        void *v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i),
                                          &type);

        switch (type) {
        case GEN_EMAIL:
        case GEN_DNS:
        case GEN_URI:
        case GEN_IPADD:
            ok = ASN1_STRING_length(v) > 0;
            break;
        case GEN_DIRNAME:
            ok = X509_NAME_entry_count(v) > 0 && name_values_ok(v);
            break;
        case GEN_OTHERNAME:
        case GEN_RID:
            break;
        default:
            ok = false;
            break;
        }
    }
    GENERAL_NAMES_free(names);
    if (!ok) {
        ERR_clear_error();
    }
    return ok;
}

/*
 * What the library requires of a certificate beyond OpenSSL's decoding:
 * version 1 to 3, extensions only in version 3 (none twice; their values
 * are OpenSSL's verifier's to judge), unique identifiers from version 2,
 * both signature algorithm fields alike, RFC 5280 times, the string types
 * of a Name, alternative names of the kinds a GeneralName is read as.
 */
static bool cert_rules_ok(X509 *x)
{
    const X509_ALGOR *outer;
    const ASN1_BIT_STRING *sig, *iuid, *suid;
    long version = X509_get_version(x);
    int64_t t;

    X509_get0_signature(&sig, &outer, x);
    X509_get0_uids(x, &iuid, &suid);
    return version >= X509_VERSION_1 && version <= X509_VERSION_3 &&
           (version == X509_VERSION_3 || X509_get_ext_count(x) == 0) &&
           (version != X509_VERSION_1 || (!iuid && !suid)) &&
           alg_same(outer, X509_get0_tbs_sigalg(x)) &&
           time_unix(X509_get0_notBefore(x), &t) &&
           time_unix(X509_get0_notAfter(x), &t) &&
           name_values_ok(X509_get_subject_name(x)) &&
           name_values_ok(X509_get_issuer_name(x)) &&
           extensions_unique(X509_get0_extensions(x)) &&
           alt_names_ok(x, NID_subject_alt_name) &&
           alt_names_ok(x, NID_issuer_alt_name);
}

/* Exactly one certificate, DER, in [p, p + len), or NULL. */
static X509 *cert_decode(const uint8_t *p, size_t len)
{
    const unsigned char *q = p;
    g_autoptr(X509) x = NULL;
    unsigned char *out = NULL;
    int n;

    if (!der_ok(p, len)) {
        return NULL;
    }
    x = d2i_X509(NULL, &q, (long)len);
    if (!x || q != p + len) {
        ERR_clear_error();
        return NULL;
    }
    /* OpenSSL's encoding of it, the TBS encoded anew (not its copy). */
    i2d_re_X509_tbs(x, NULL);
    n = i2d_X509(x, &out);
    if (!same_bytes(out, n, p, len) || !cert_rules_ok(x)) {
        ERR_clear_error();
        return NULL;
    }
    return g_steal_pointer(&x);
}

/*
 * The signature algorithm inside a CRL's TBS (OpenSSL 3.0 has no accessor
 * for it): the TBS as OpenSSL encodes it, decoded as a SEQUENCE of ANY
 * by OpenSSL; the algorithm is its first SEQUENCE (after an optional
 * version).  NULL if none.
 */
static X509_ALGOR *crl_tbs_sigalg(X509_CRL *crl)
{
    unsigned char *tbs = NULL;
    const unsigned char *q;
    int n = i2d_re_X509_CRL_tbs(crl, &tbs);
    Asn1TypeStack *items;
    X509_ALGOR *alg = NULL;

    q = tbs;
    items = n > 0 ? d2i_ASN1_SEQUENCE_ANY(NULL, &q, n) : NULL;
    for (int i = 0; items && i < sk_ASN1_TYPE_num(items) && i < 2; i++) {
        const ASN1_TYPE *t = sk_ASN1_TYPE_value(items, i);

        if (ASN1_TYPE_get(t) == V_ASN1_SEQUENCE) {
            q = ASN1_STRING_get0_data(t->value.sequence);
            alg = d2i_X509_ALGOR(NULL, &q,
                                 ASN1_STRING_length(t->value.sequence));
            break;
        }
    }
    sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
    OPENSSL_free(tbs);
    ERR_clear_error();
    return alg;
}

/* Exactly one CRL, DER, in [p, p + len), or NULL. */
static X509_CRL *crl_decode(const uint8_t *p, size_t len)
{
    const unsigned char *q = p;
    g_autoptr(X509_CRL) crl = NULL;
    const X509_ALGOR *outer;
    X509_ALGOR *inner;
    X509RevokedStack *revoked;
    const ASN1_BIT_STRING *sig;
    unsigned char *out = NULL;
    int n;
    long version;
    bool ok;

    if (!der_ok(p, len)) {
        return NULL;
    }
    crl = d2i_X509_CRL(NULL, &q, (long)len);
    if (!crl || q != p + len) {
        ERR_clear_error();
        return NULL;
    }
    inner = crl_tbs_sigalg(crl);
    n = i2d_X509_CRL(crl, &out);
    X509_CRL_get0_signature(crl, &sig, &outer);
    version = X509_CRL_get_version(crl);
    ok = same_bytes(out, n, p, len) && version >= 0 && version <= 1 &&
         inner && alg_same(outer, inner) &&
         name_values_ok(X509_CRL_get_issuer(crl)) &&
         extensions_unique(X509_CRL_get0_extensions(crl));
    revoked = X509_CRL_get_REVOKED(crl);
    for (int i = 0; ok && i < sk_X509_REVOKED_num(revoked); i++) {
        ok = extensions_unique(X509_REVOKED_get0_extensions(
                                   sk_X509_REVOKED_value(revoked, i)));
    }
    X509_ALGOR_free(inner);
    ERR_clear_error();
    return ok ? g_steal_pointer(&crl) : NULL;
}

bool sevsnp_entry_der_ok(SevsnpCertType type, const uint8_t *p, size_t len,
                         const char **what)
{
    switch (type) {
    case SEVSNP_CERT_CRL: {
        g_autoptr(X509_CRL) crl = crl_decode(p, len);

        *what = "a DER X.509 CRL";
        return crl != NULL;
    }
    case SEVSNP_CERT_OTHER:
        *what = "one DER object";
        return der_ok(p, len);
    default: {
        g_autoptr(X509) x = cert_decode(p, len);

        *what = "a DER X.509 certificate";
        return x != NULL;
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
                                 &what)) {
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

/* The bytes of entry @e of @table. */
static const uint8_t *entry_bytes(const SevsnpCertTable *table,
                                  const SevsnpCertEntry *e)
{
    return (const uint8_t *)g_bytes_get_data(
               sevsnp_cert_table_get_blob(table), NULL) + e->offset;
}

/*
 * Certificate entry @e of @table, decoded: parsing the table checked that
 * it is one (sevsnp_cert_table_check_entries()), so OpenSSL's decoder
 * alone is run again.
 */
static X509 *entry_x509(const SevsnpCertTable *table, const SevsnpCertEntry *e)
{
    const unsigned char *q = entry_bytes(table, e);
    X509 *x = d2i_X509(NULL, &q, e->length);

    g_assert(x);
    return x;
}

/* ------------------------------------------------------------------ */
/* Descriptions                                                        */
/* ------------------------------------------------------------------ */

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

/* A Name as one line, as OpenSSL prints it in RFC 2253 form. */
static char *name_oneline(const X509_NAME *name)
{
    g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
    char *buf = NULL;
    long len;

    if (!bio || X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        ERR_clear_error();
        return g_strdup("");
    }
    len = BIO_get_mem_data(bio, &buf);
    return len > 0 ? g_strndup(buf, len) : g_strdup("");
}

/* The first commonName of @name as UTF-8 (up to a NUL), or NULL. */
static char *name_cn(const X509_NAME *name)
{
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    char *ret;
    int len;

    if (idx < 0) {
        return NULL;
    }
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
                                         X509_NAME_get_entry(name, idx)));
    if (len < 0) {
        ERR_clear_error();
        return NULL;
    }
    ret = g_strndup((const char *)utf8, len);
    OPENSSL_free(utf8);
    return ret;
}

/* A serial number as lower-case hex ("-" for a negative one). */
static char *serial_hex(const ASN1_INTEGER *i)
{
    g_autoptr(BIGNUM) bn = ASN1_INTEGER_to_BN(i, NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    char *ret = g_ascii_strdown(hex ? hex : "0", -1);

    OPENSSL_free(hex);
    ERR_clear_error();
    return ret;
}

/* An RFC 5280 time as ISO 8601 UTC and seconds; NULL and 0 if not one. */
static char *time_iso(const ASN1_TIME *t, int64_t *unix_time)
{
    struct tm tm;

    *unix_time = 0;
    if (!time_tm(t, &tm)) {
        return NULL;
    }
    *unix_time = timegm(&tm);
    return g_strdup_printf("%d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                           tm.tm_sec);
}

/* The names this library has always given curves. */
static const char *curve_name(int nid)
{
    switch (nid) {
    case NID_secp384r1:
        return "P-384";
    case NID_X9_62_prime256v1:
        return "P-256";
    case NID_secp521r1:
    case NID_secp224r1:
    case NID_secp256k1:
        return OBJ_nid2sn(nid);
    default:
        return NULL;
    }
}

/*
 * Is the RSA key of @x (decoded: @pk) DER, non-negative numbers: does
 * OpenSSL encode the key it decoded as the certificate has it?
 */
static bool rsa_key_der(X509 *x, EVP_PKEY *pk)
{
    const unsigned char *key;
    unsigned char *out = NULL;
    int klen, n;

    if (!X509_PUBKEY_get0_param(NULL, &key, &klen, NULL,
                                X509_get_X509_PUBKEY(x))) {
        return false;
    }
    n = i2d_PublicKey(pk, &out);
    ERR_clear_error();
    return same_bytes(out, n, key, klen);
}

/* The subject public key: "RSA-4096", "EC-P-384", ..., or "unknown". */
static char *key_type(X509 *x)
{
    const ASN1_OBJECT *alg;
    X509_ALGOR *pa;
    const void *pval;
    int ptype;
    EVP_PKEY *pk;
    const char *curve;

    if (!X509_PUBKEY_get0_param(NULL, NULL, NULL, &pa,
                                X509_get_X509_PUBKEY(x))) {
        return g_strdup("unknown");
    }
    X509_ALGOR_get0(&alg, &ptype, &pval, pa);
    switch (OBJ_obj2nid(alg)) {
    case NID_rsaEncryption:
    case NID_rsassaPss:
        pk = X509_get0_pubkey(x);
        ERR_clear_error();
        if (!pk || EVP_PKEY_get_bits(pk) <= 0 || !rsa_key_der(x, pk)) {
            return g_strdup("unknown");
        }
        return g_strdup_printf("RSA-%d", EVP_PKEY_get_bits(pk));
    case NID_X9_62_id_ecPublicKey:
        if (ptype == V_ASN1_SEQUENCE) {
            return g_strdup("EC");
        }
        curve = ptype == V_ASN1_OBJECT ? curve_name(OBJ_obj2nid(pval)) : NULL;
        return curve ? g_strdup_printf("EC-%s", curve) : g_strdup("unknown");
    case NID_X25519:
        return g_strdup("X25519");
    case NID_X448:
        return g_strdup("X448");
    case NID_ED25519:
        return g_strdup("ED25519");
    case NID_ED448:
        return g_strdup("ED448");
    case NID_dsa:
        return g_strdup("DSA");
    default:
        return g_strdup("unknown");
    }
}

static void describe_cert(SevsnpCertInfo *info, X509 *x)
{
    info->is_certificate = true;
    info->subject = name_oneline(X509_get_subject_name(x));
    info->issuer = name_oneline(X509_get_issuer_name(x));
    info->common_name = name_cn(X509_get_subject_name(x));
    info->serial = serial_hex(X509_get0_serialNumber(x));
    info->not_before = time_iso(X509_get0_notBefore(x),
                                &info->not_before_unix);
    info->not_after = time_iso(X509_get0_notAfter(x), &info->not_after_unix);
    info->key_type = key_type(x);
}

SevsnpCertInfo *sevsnp_cert_info_new(const SevsnpCertTable *table, guint i)
{
    const SevsnpCertEntry *e = sevsnp_cert_table_entry(table, i);
    const uint8_t *p;
    SevsnpCertInfo *info;

    g_return_val_if_fail(e, NULL);
    p = entry_bytes(table, e);
    info = g_new0(SevsnpCertInfo, 1);
    info->type = e->type;
    sevsnp_guid_unparse(e->guid, info->guid);
    info->offset = e->offset;
    info->length = e->length;
    info->fingerprint = fingerprint(p, e->length);

    switch (e->type) {
    case SEVSNP_CERT_CRL: {
        /* Parsing the table checked it. */
        const unsigned char *q = p;
        g_autoptr(X509_CRL) crl = d2i_X509_CRL(NULL, &q, e->length);
        const ASN1_TIME *next;

        if (crl) {
            info->is_crl = true;
            info->issuer = name_oneline(X509_CRL_get_issuer(crl));
            info->not_before = time_iso(X509_CRL_get0_lastUpdate(crl),
                                        &info->not_before_unix);
            next = X509_CRL_get0_nextUpdate(crl);
            if (next) {
                info->not_after = time_iso(next, &info->not_after_unix);
            }
        }
        break;
    }
    case SEVSNP_CERT_OTHER: {
        /* Any DER: described when it is a certificate. */
        g_autoptr(X509) x = cert_decode(p, e->length);

        if (x) {
            describe_cert(info, x);
        }
        break;
    }
    default: {
        g_autoptr(X509) x = entry_x509(table, e);

        describe_cert(info, x);
        break;
    }
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

/* ------------------------------------------------------------------ */
/* The chain                                                           */
/* ------------------------------------------------------------------ */

/* One certificate of the chain: decoded, and its label. */
typedef struct ChainCert {
    X509 *x;
    char *label;
} ChainCert;

static void chain_cert(const SevsnpCertTable *t, const SevsnpCertEntry *e,
                       const char *role, ChainCert *c)
{
    g_autofree char *cn = NULL;

    c->x = entry_x509(t, e);
    cn = name_cn(X509_get_subject_name(c->x));
    c->label = g_strdup_printf("%s (%s)", role, cn ? cn : "no CN");
}

static void chain_cert_clear(ChainCert *c)
{
    X509_free(c->x);
    g_free(c->label);
}

/* Do two Names have the same encoding? */
static bool name_equal(const X509_NAME *a, const X509_NAME *b)
{
    const unsigned char *da, *db;
    size_t la, lb;

    return X509_NAME_get0_der(a, &da, &la) == 1 &&
           X509_NAME_get0_der(b, &db, &lb) == 1 && la == lb &&
           memcmp(da, db, la) == 0;
}

/*
 * Do the names chain, and does @parent's key verify @child's signature
 * (the signature alone: validity and extensions are checked elsewhere)?
 */
static bool signs(const ChainCert *parent, const ChainCert *child)
{
    EVP_PKEY *pk;
    bool ok;

    if (!name_equal(X509_get_issuer_name(child->x),
                    X509_get_subject_name(parent->x))) {
        return false;
    }
    pk = X509_get0_pubkey(parent->x);
    ok = pk && X509_verify(child->x, pk) == 1;
    ERR_clear_error();
    return ok;
}

/*
 * Valid at @at: not before notBefore, before notAfter (as OpenSSL's
 * X509_cmp_time() decides); a time that is not an RFC 5280 one is never.
 */
static bool valid_at(const ChainCert *c, int64_t at, char **why)
{
    int64_t nb, na;
    bool ok_nb = time_unix(X509_get0_notBefore(c->x), &nb);
    bool ok_na = time_unix(X509_get0_notAfter(c->x), &na);

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

/*
 * OpenSSL's path validation of @leaf through @mid to the trust anchor
 * @ark, times not checked: NULL when it verifies, else its reason.
 */
static char *path_error(X509 *ark, X509 *mid, X509 *leaf)
{
    g_autoptr(X509_STORE) store = X509_STORE_new();
    g_autoptr(X509_STORE_CTX) ctx = X509_STORE_CTX_new();
    X509Stack *untrusted = sk_X509_new_null();
    char *why = NULL;

    if (!store || !ctx || !untrusted || !X509_STORE_add_cert(store, ark) ||
        !sk_X509_push(untrusted, mid) ||
        !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        why = g_strdup("out of memory setting up the verifier");
    } else {
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
        if (X509_verify_cert(ctx) != 1) {
            why = g_strdup(X509_verify_cert_error_string(
                               X509_STORE_CTX_get_error(ctx)));
        }
    }
    sk_X509_free(untrusted);
    ERR_clear_error();
    return why;
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

    /* Then the whole path through OpenSSL's verifier. */
    path = path_error(ark->x, mid->x, leaf->x);
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
    chain_cert_clear(&ark);
    chain_cert_clear(&mid);
    chain_cert_clear(&leaf);
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
    chain_cert_clear(&ark);
    chain_cert_clear(&mid);
    chain_cert_clear(&leaf);
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
