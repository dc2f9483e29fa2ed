/*
 * libsevsnp: strict DER, and what the library reads from certificates
 *
 * Nothing here decides whether a certificate is one: a backend's library
 * does (sevsnp-crypto.h).  This file holds what must not differ between
 * backends: the structure check run before a backend sees the bytes,
 * and the description of what a backend accepted.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "sevsnp-der.h"

#define DER_MAX_DEPTH 20

/* ------------------------------------------------------------------ */
/* TLVs                                                                */
/* ------------------------------------------------------------------ */

/* The strict DER header of the TLV at [p, p + avail), contents inside. */
static bool der_head(const uint8_t *p, size_t avail, SevsnpDer *d)
{
    size_t i = 1, len;
    uint32_t tag;

    if (avail < 2) {
        return false;
    }
    d->start = p;
    d->cls = p[0] & 0xc0;
    d->cons = p[0] & 0x20;
    tag = p[0] & 0x1f;
    if (tag == 0x1f) {
        /* High tag number form: minimal, at most 4 octets, >= 31. */
        if (p[i] == 0x80) {
            return false;
        }
        tag = 0;
        for (int n = 0;; n++) {
            if (i >= avail || n == 4) {
                return false;
            }
            tag = (tag << 7) | (p[i] & 0x7f);
            if (!(p[i++] & 0x80)) {
                break;
            }
        }
        if (tag < 31) {
            return false;
        }
    }
    if (i >= avail) {
        return false;
    }
    if (p[i] < 0x80) {
        len = p[i++];
    } else {
        size_t n = p[i++] & 0x7f;

        /* Indefinite (n == 0), too long, or not minimal: not DER. */
        if (n == 0 || n > 4 || avail - i < n || p[i] == 0) {
            return false;
        }
        len = 0;
        while (n--) {
            len = (len << 8) | p[i++];
        }
        if (len < 0x80) {
            return false;
        }
    }
    if (len > avail - i) {
        return false;
    }
    d->tag = tag;
    d->val = p + i;
    d->len = len;
    d->size = i + len;
    return true;
}

/* Iterating over the elements of a constructed TLV. */
typedef struct DerIter {
    const uint8_t *p;
    size_t left;
} DerIter;

static void der_iter(const SevsnpDer *d, DerIter *it)
{
    it->p = d->val;
    it->left = d->len;
}

static bool der_next(DerIter *it, SevsnpDer *d)
{
    if (!it->left || !der_head(it->p, it->left, d)) {
        return false;
    }
    it->p += d->size;
    it->left -= d->size;
    return true;
}

/* Peek at the next element without taking it. */
static bool der_peek(const DerIter *it, SevsnpDer *d)
{
    return it->left && der_head(it->p, it->left, d);
}

static bool der_is(const SevsnpDer *d, uint8_t cls, bool cons, uint32_t tag)
{
    return d->cls == cls && d->cons == cons && d->tag == tag;
}

#define TAG_BOOLEAN     1
#define TAG_INTEGER     2
#define TAG_BIT_STRING  3
#define TAG_OCTET       4
#define TAG_NULL        5
#define TAG_OID         6
#define TAG_ENUMERATED  10
#define TAG_UTF8        12
#define TAG_REL_OID     13
#define TAG_SEQUENCE    16
#define TAG_SET         17
#define TAG_PRINTABLE   19
#define TAG_UTCTIME     23
#define TAG_GENTIME     24
#define TAG_UNIVERSAL   28
#define TAG_BMP         30

static bool is_seq(const SevsnpDer *d)
{
    return der_is(d, SEVSNP_DER_UNIVERSAL, true, TAG_SEQUENCE);
}

/* The arcs of an OBJECT IDENTIFIER: minimal, each below 2^64. */
static bool oid_ok(const uint8_t *v, size_t len)
{
    uint64_t arc = 0;
    bool start = true;

    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (start && v[i] == 0x80) {
            return false;
        }
        if (arc >> 57) {
            return false;
        }
        arc = (arc << 7) | (v[i] & 0x7f);
        start = !(v[i] & 0x80);
        if (start) {
            arc = 0;
        }
    }
    return start;
}

static bool integer_ok(const uint8_t *v, size_t len)
{
    if (len == 0) {
        return false;
    }
    if (len > 1 && ((v[0] == 0x00 && !(v[1] & 0x80)) ||
                    (v[0] == 0xff && (v[1] & 0x80)))) {
        return false;
    }
    return true;
}

static bool bit_string_ok(const uint8_t *v, size_t len)
{
    if (len == 0 || v[0] > 7 || (len == 1 && v[0] != 0)) {
        return false;
    }
    return (v[len - 1] & ((1u << v[0]) - 1)) == 0;
}

/*
 * A time's characters: digits, one '.' in a GeneralizedTime, then 'Z'
 * (what GnuTLS's libtasn1 requires of DER times).
 */
static bool time_chars_ok(const SevsnpDer *d)
{
    bool dot = false;

    if (d->len < 8 || d->val[d->len - 1] != 'Z') {
        return false;
    }
    for (size_t i = 0; i + 1 < d->len; i++) {
        if (d->val[i] == '.' && d->tag == TAG_GENTIME && !dot) {
            dot = true;
        } else if (d->val[i] < '0' || d->val[i] > '9') {
            return false;
        }
    }
    return true;
}

static bool der_tree(const uint8_t *p, size_t len, int depth);

/* The universal types' DER rules, then the contents of a constructed. */
static bool der_value_ok(const SevsnpDer *d, int depth)
{
    if (d->cls == SEVSNP_DER_UNIVERSAL) {
        switch (d->tag) {
        case 0:                         /* end-of-contents: BER only */
            return false;
        case TAG_BOOLEAN:
            return !d->cons && d->len == 1 &&
                   (d->val[0] == 0x00 || d->val[0] == 0xff);
        case TAG_INTEGER:
        case TAG_ENUMERATED:
            return !d->cons && integer_ok(d->val, d->len);
        case TAG_BIT_STRING:
            return !d->cons && bit_string_ok(d->val, d->len);
        case TAG_NULL:
            return !d->cons && d->len == 0;
        case TAG_OID:
        case TAG_REL_OID:
            return !d->cons && oid_ok(d->val, d->len);
        case TAG_SEQUENCE:
        case TAG_SET:
            if (!d->cons) {
                return false;
            }
            break;
        case TAG_UTCTIME:
        case TAG_GENTIME:
            return !d->cons && time_chars_ok(d);
        case TAG_OCTET:
        case TAG_UTF8:
        case 18 ... 22:
        case 25 ... 30:                 /* strings */
            return !d->cons;
        default:
            break;
        }
    }
    if (d->cons) {
        return depth < DER_MAX_DEPTH && der_tree(d->val, d->len, depth + 1);
    }
    return true;
}

static bool der_tree(const uint8_t *p, size_t len, int depth)
{
    while (len) {
        SevsnpDer d;

        if (!der_head(p, len, &d) || !der_value_ok(&d, depth)) {
            return false;
        }
        p += d.size;
        len -= d.size;
    }
    return true;
}

bool sevsnp_der_valid(const uint8_t *p, size_t len)
{
    SevsnpDer d;

    return der_head(p, len, &d) && d.size == len && der_value_ok(&d, 0);
}

/* ------------------------------------------------------------------ */
/* Strings                                                             */
/* ------------------------------------------------------------------ */

/*
 * The characters of a string type, as code points, for the types that
 * have them: 0 for UTF-8, else bytes per character; -1 for the others
 * (OpenSSL's tag2nbyte).
 */
static int string_width(const SevsnpDer *v)
{
    if (v->cls != SEVSNP_DER_UNIVERSAL || v->cons) {
        return -1;
    }
    switch (v->tag) {
    case TAG_UTF8:
        return 0;
    case 18: case 19: case 20: case 22: case 23: case 24: case 26:
        return 1;
    case TAG_UNIVERSAL:
        return 4;
    case TAG_BMP:
        return 2;
    default:
        return -1;
    }
}

/* One UTF-8 character at [p, end): its length, or -1 if invalid. */
static int utf8_char(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    int n;
    uint32_t c;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        c = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        c = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        c = p[0] & 0x07;
    } else {
        return -1;
    }
    if (end - p < n) {
        return -1;
    }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return -1;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) {
        return -1;
    }
    *cp = c;
    return n;
}

static bool unicode_ok(uint32_t c)
{
    return c < 0x110000 && !(c >= 0xd800 && c < 0xe000);
}

/*
 * Can the string be converted to UTF-8 (what OpenSSL does to every
 * string of a Name when it decodes one)?
 */
static bool string_convertible(const SevsnpDer *v, int width)
{
    switch (width) {
    case 0:
        for (const uint8_t *p = v->val, *e = p + v->len; p < e;) {
            uint32_t c;
            int n = utf8_char(p, e, &c);

            if (n < 0) {
                return false;
            }
            p += n;
        }
        return true;
    case 2:
    case 4:
        if (v->len % width) {
            return false;
        }
        for (size_t i = 0; i < v->len; i += width) {
            uint32_t c = 0;

            for (int k = 0; k < width; k++) {
                c = (c << 8) | v->val[i + k];
            }
            if (!unicode_ok(c)) {
                return false;
            }
        }
        return true;
    default:
        return true;
    }
}

static void utf8_append(GString *s, uint32_t c)
{
    char buf[6];

    g_string_append_len(s, buf, g_unichar_to_utf8(c, buf));
}

/*
 * The string as bytes: UTF-8 for every width, except that a UTF8String's
 * bytes are taken as they are (as OpenSSL prints them).
 */
static GString *string_bytes(const SevsnpDer *v, int width)
{
    GString *s = g_string_sized_new(v->len + 1);

    if (width == 0) {
        g_string_append_len(s, (const char *)v->val, v->len);
        return s;
    }
    for (size_t i = 0; i + width <= v->len; i += width) {
        uint32_t c = 0;

        for (int k = 0; k < width; k++) {
            c = (c << 8) | v->val[i + k];
        }
        if (unicode_ok(c)) {
            utf8_append(s, c);
        }
    }
    return s;
}

/* ------------------------------------------------------------------ */
/* OIDs                                                                */
/* ------------------------------------------------------------------ */

/* An OID in dotted form (valid per oid_ok()). */
static void oid_dotted(const SevsnpDer *o, GString *out)
{
    uint64_t arc = 0;
    bool first = true;

    for (size_t i = 0; i < o->len; i++) {
        arc = (arc << 7) | (o->val[i] & 0x7f);
        if (o->val[i] & 0x80) {
            continue;
        }
        if (first) {
            uint64_t top = arc < 40 ? 0 : arc < 80 ? 1 : 2;

            g_string_append_printf(out, "%" G_GUINT64_FORMAT ".%"
                                   G_GUINT64_FORMAT, top, arc - top * 40);
            first = false;
        } else {
            g_string_append_printf(out, ".%" G_GUINT64_FORMAT, arc);
        }
        arc = 0;
    }
}

#define OID_MAX 32

/* The contents octets of the OID @dotted (a constant of this file). */
static size_t oid_encode(const char *dotted, uint8_t out[OID_MAX])
{
    uint64_t arcs[16];
    int n = 0;
    size_t len = 0;
    const char *p = dotted;

    while (*p && n < 16) {
        char *end;

        arcs[n++] = g_ascii_strtoull(p, &end, 10);
        p = *end == '.' ? end + 1 : end;
    }
    g_assert(n >= 2);
    arcs[1] += arcs[0] * 40;
    for (int i = 1; i < n; i++) {
        uint8_t tmp[10];
        int k = 0;

        do {
            tmp[k++] = arcs[i] & 0x7f;
            arcs[i] >>= 7;
        } while (arcs[i]);
        while (k--) {
            g_assert(len < OID_MAX);
            out[len++] = tmp[k] | (k ? 0x80 : 0);
        }
    }
    return len;
}

/* An OID the library looks for, encoded once. */
typedef struct KnownOid {
    const char *dotted;
    const char *name;
    uint8_t der[OID_MAX];
    size_t len;
} KnownOid;

static bool oid_matches(const SevsnpDer *o, const KnownOid *k)
{
    return der_is(o, SEVSNP_DER_UNIVERSAL, false, TAG_OID) &&
           o->len == k->len && memcmp(o->val, k->der, k->len) == 0;
}

/* The attribute types of Names, by their short names (as OpenSSL's). */
static KnownOid name_attrs[] = {
    { "2.5.4.3", "CN" },
    { "2.5.4.4", "SN" },
    { "2.5.4.5", "serialNumber" },
    { "2.5.4.6", "C" },
    { "2.5.4.7", "L" },
    { "2.5.4.8", "ST" },
    { "2.5.4.9", "street" },
    { "2.5.4.10", "O" },
    { "2.5.4.11", "OU" },
    { "2.5.4.12", "title" },
    { "2.5.4.13", "description" },
    { "2.5.4.15", "businessCategory" },
    { "2.5.4.17", "postalCode" },
    { "2.5.4.41", "name" },
    { "2.5.4.42", "GN" },
    { "2.5.4.43", "initials" },
    { "2.5.4.44", "generationQualifier" },
    { "2.5.4.46", "dnQualifier" },
    { "2.5.4.65", "pseudonym" },
    { "2.5.4.97", "organizationIdentifier" },
    { "1.2.840.113549.1.9.1", "emailAddress" },
    { "1.2.840.113549.1.9.2", "unstructuredName" },
    { "0.9.2342.19200300.100.1.1", "UID" },
    { "0.9.2342.19200300.100.1.25", "DC" },
};
#define OID_CN (&name_attrs[0])

/* Keys: the algorithm, the name key_type gives it. */
static KnownOid key_algs[] = {
    { "1.2.840.113549.1.1.1", "RSA" },
    { "1.2.840.113549.1.1.10", "RSA" },
    { "1.2.840.10045.2.1", "EC" },
    { "1.3.101.110", "X25519" },
    { "1.3.101.111", "X448" },
    { "1.3.101.112", "ED25519" },
    { "1.3.101.113", "ED448" },
    { "1.2.840.10040.4.1", "DSA" },
};

static KnownOid ec_curves[] = {
    { "1.3.132.0.34", "P-384" },
    { "1.2.840.10045.3.1.7", "P-256" },
    { "1.3.132.0.35", "secp521r1" },
    { "1.3.132.0.33", "secp224r1" },
    { "1.3.132.0.10", "secp256k1" },
};

/* Extensions GnuTLS reads when it decodes a certificate. */
static KnownOid alt_names[] = {
    { "2.5.29.17", "subjectAltName" },
    { "2.5.29.18", "issuerAltName" },
};

static void encode_table(KnownOid *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        t[i].len = oid_encode(t[i].dotted, t[i].der);
    }
}

static void known_oids_init(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        encode_table(name_attrs, G_N_ELEMENTS(name_attrs));
        encode_table(key_algs, G_N_ELEMENTS(key_algs));
        encode_table(ec_curves, G_N_ELEMENTS(ec_curves));
        encode_table(alt_names, G_N_ELEMENTS(alt_names));
        g_once_init_leave(&done, 1);
    }
}

static const KnownOid *oid_find(const SevsnpDer *o, const KnownOid *t,
                                size_t n)
{
    known_oids_init();
    for (size_t i = 0; i < n; i++) {
        if (oid_matches(o, &t[i])) {
            return &t[i];
        }
    }
    return NULL;
}

#define OID_FIND(o, table) oid_find((o), (table), G_N_ELEMENTS(table))

static void append_hex(GString *out, const uint8_t *p, size_t n,
                       const char *digits)
{
    for (size_t i = 0; i < n; i++) {
        g_string_append_c(out, digits[p[i] >> 4]);
        g_string_append_c(out, digits[p[i] & 0xf]);
    }
}

#define HEX_UPPER "0123456789ABCDEF"
#define HEX_LOWER "0123456789abcdef"

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

/*
 * The attribute values of a Name: the string types and BIT STRING,
 * primitive, and SEQUENCE (what OpenSSL's ASN1_PRINTABLE accepts, less
 * the tags it does not know, which GnuTLS refuses), each string one that
 * converts to UTF-8 (OpenSSL converts them when it decodes a Name).
 */
static bool name_value_ok(const SevsnpDer *v)
{
    int width;

    if (v->cls != SEVSNP_DER_UNIVERSAL) {
        return false;
    }
    if (v->cons) {
        return v->tag == TAG_SEQUENCE;
    }
    switch (v->tag) {
    case TAG_BIT_STRING:
    case TAG_UTF8:
    case 18: case 19: case 20: case 22:
    case TAG_UNIVERSAL:
    case TAG_BMP:
        break;
    default:
        return false;
    }
    width = string_width(v);
    return width < 0 || string_convertible(v, width);
}

/* Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY } */
static bool name_ok(const SevsnpDer *name)
{
    DerIter rdns, avas, parts;
    SevsnpDer rdn, ava, type, value, extra;

    if (!is_seq(name)) {
        return false;
    }
    der_iter(name, &rdns);
    while (der_next(&rdns, &rdn)) {
        if (!der_is(&rdn, SEVSNP_DER_UNIVERSAL, true, TAG_SET)) {
            return false;
        }
        der_iter(&rdn, &avas);
        while (der_next(&avas, &ava)) {
            if (!is_seq(&ava)) {
                return false;
            }
            der_iter(&ava, &parts);
            if (!der_next(&parts, &type) || !der_next(&parts, &value) ||
                der_next(&parts, &extra) ||
                !der_is(&type, SEVSNP_DER_UNIVERSAL, false, TAG_OID) ||
                !name_value_ok(&value)) {
                return false;
            }
        }
    }
    return true;
}

/* One attribute of a Name, with the index of its RDN. */
typedef struct NameAva {
    guint set;
    SevsnpDer type, value;
} NameAva;

static GArray *name_avas(const SevsnpDer *name)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(NameAva));
    DerIter rdns, avas, parts;
    SevsnpDer rdn, ava;
    guint set = 0;

    der_iter(name, &rdns);
    while (der_next(&rdns, &rdn)) {
        der_iter(&rdn, &avas);
        while (der_next(&avas, &ava)) {
            NameAva na = { .set = set };

            der_iter(&ava, &parts);
            if (der_next(&parts, &na.type) && der_next(&parts, &na.value)) {
                g_array_append_val(a, na);
            }
        }
        set++;
    }
    return a;
}

/* Append one byte of a value, escaped as RFC 2253 and OpenSSL do. */
static void escape_byte(GString *out, uint8_t c, bool first, bool last)
{
    if (c > 0x7f || c < 0x20 || c == 0x7f) {
        g_string_append_c(out, '\\');
        append_hex(out, &c, 1, HEX_UPPER);
        return;
    }
    if (strchr(",+\"\\<>;", c) || (first && c == '#') ||
        ((first || last) && c == ' ')) {
        g_string_append_c(out, '\\');
    }
    g_string_append_c(out, c);
}

static void append_value(GString *out, const SevsnpDer *v, bool dump)
{
    int width = dump ? -1 : string_width(v);
    g_autoptr(GString) s = NULL;

    if (width < 0) {
        g_string_append_c(out, '#');
        append_hex(out, v->start, v->size, HEX_UPPER);
        return;
    }
    /*
     * OpenSSL decides "first" and "last" per character of the string
     * (a lone character counts as the last one); bytes above 0x7f are
     * escaped anyway, so per byte of a one-byte character is the same.
     */
    s = string_bytes(v, width);
    for (size_t i = 0; i < s->len; i++) {
        bool last = i + 1 == s->len;

        escape_byte(out, s->str[i], i == 0 && !last, last);
    }
}

char *sevsnp_name_oneline(const SevsnpDer *name)
{
    g_autoptr(GArray) avas = name_avas(name);
    GString *out = g_string_new(NULL);

    for (guint k = avas->len; k-- > 0;) {
        const NameAva *a = &g_array_index(avas, NameAva, k);
        const KnownOid *attr = OID_FIND(&a->type, name_attrs);

        if (k + 1 < avas->len) {
            const NameAva *prev = &g_array_index(avas, NameAva, k + 1);

            g_string_append_c(out, prev->set == a->set ? '+' : ',');
        }
        if (attr) {
            g_string_append(out, attr->name);
        } else {
            /* OpenSSL prints the dotted form into 80 bytes. */
            g_autoptr(GString) oid = g_string_new(NULL);

            oid_dotted(&a->type, oid);
            g_string_append_len(out, oid->str, MIN(oid->len, 79));
        }
        g_string_append_c(out, '=');
        append_value(out, &a->value, attr == NULL);
    }
    return g_string_free(out, FALSE);
}

char *sevsnp_name_cn(const SevsnpDer *name)
{
    g_autoptr(GArray) avas = name_avas(name);

    known_oids_init();
    for (guint k = 0; k < avas->len; k++) {
        const NameAva *a = &g_array_index(avas, NameAva, k);
        g_autoptr(GString) s = NULL;
        int width;

        if (!oid_matches(&a->type, OID_CN)) {
            continue;
        }
        width = string_width(&a->value);
        if (width < 0 || !string_convertible(&a->value, width)) {
            return NULL;
        }
        if (width == 0) {
            return g_strndup((const char *)a->value.val, a->value.len);
        }
        s = string_bytes(&a->value, width);
        return g_strndup(s->str, s->len);
    }
    return NULL;
}

bool sevsnp_name_equal(const SevsnpDer *a, const SevsnpDer *b)
{
    return a->size == b->size && memcmp(a->start, b->start, a->size) == 0;
}

/* ------------------------------------------------------------------ */
/* Numbers and times                                                   */
/* ------------------------------------------------------------------ */

char *sevsnp_integer_hex(const SevsnpDer *i)
{
    GString *s = g_string_new(NULL);
    bool neg = i->len && (i->val[0] & 0x80);
    g_autofree uint8_t *mag = g_malloc(i->len);
    size_t k = 0;

    memcpy(mag, i->val, i->len);

    if (neg) {
        /* The magnitude of a two's complement number. */
        unsigned carry = 1;

        for (size_t j = i->len; j-- > 0;) {
            unsigned v = (uint8_t)~mag[j] + carry;

            mag[j] = v & 0xff;
            carry = v >> 8;
        }
        g_string_append_c(s, '-');
    }
    while (k < i->len && mag[k] == 0) {
        k++;
    }
    if (k == i->len) {
        g_string_assign(s, "0");
    }
    append_hex(s, mag + k, i->len - k, HEX_LOWER);
    return g_string_free(s, FALSE);
}

static int digits(const uint8_t *p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The fields of an RFC 5280 Time; false if it is not one. */
static bool time_fields(const SevsnpDer *t, int f[6])
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                 30, 31 };
    const uint8_t *p = t->val;
    int ylen;

    if (der_is(t, SEVSNP_DER_UNIVERSAL, false, TAG_UTCTIME) && t->len == 13) {
        ylen = 2;
    } else if (der_is(t, SEVSNP_DER_UNIVERSAL, false, TAG_GENTIME) &&
               t->len == 15) {
        ylen = 4;
    } else {
        return false;
    }
    f[0] = digits(p, ylen);
    for (int i = 1; i < 6; i++) {
        f[i] = digits(p + ylen + 2 * (i - 1), 2);
    }
    if (f[0] < 0 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[3] < 0 ||
        f[3] > 23 || f[4] < 0 || f[4] > 59 || f[5] < 0 || f[5] > 59 ||
        p[t->len - 1] != 'Z') {
        return false;
    }
    if (ylen == 2) {
        f[0] += f[0] < 50 ? 2000 : 1900;
    } else if (f[0] == 0) {
        return false;
    }
    return f[2] <= mdays[f[1] - 1] + (f[1] == 2 && leap(f[0]));
}

bool sevsnp_time_unix(const SevsnpDer *t, int64_t *unix_time)
{
    int f[6];

    if (!time_fields(t, f)) {
        *unix_time = 0;
        return false;
    }
    *unix_time = days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 +
                 f[4] * 60 + f[5];
    return true;
}

char *sevsnp_time_iso(const SevsnpDer *t, int64_t *unix_time)
{
    int f[6];

    if (!sevsnp_time_unix(t, unix_time) || !time_fields(t, f)) {
        return NULL;
    }
    return g_strdup_printf("%d-%02d-%02dT%02d:%02d:%02dZ", f[0], f[1], f[2],
                           f[3], f[4], f[5]);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

/* The bits of an RSAPublicKey's modulus; 0 if it is not one. */
static unsigned rsa_bits(const SevsnpDer *bits)
{
    SevsnpDer key, n, e, extra;
    DerIter it;
    size_t k = 0;
    unsigned top;

    if (bits->len < 2 || bits->val[0] != 0 ||
        !sevsnp_der_valid(bits->val + 1, bits->len - 1) ||
        !der_head(bits->val + 1, bits->len - 1, &key) || !is_seq(&key)) {
        return 0;
    }
    der_iter(&key, &it);
    if (!der_next(&it, &n) || !der_next(&it, &e) || der_next(&it, &extra) ||
        !der_is(&n, SEVSNP_DER_UNIVERSAL, false, TAG_INTEGER) ||
        !der_is(&e, SEVSNP_DER_UNIVERSAL, false, TAG_INTEGER) ||
        (n.val[0] & 0x80) || (e.val[0] & 0x80)) {
        return 0;
    }
    while (k < n.len && n.val[k] == 0) {
        k++;
    }
    if (k == n.len) {
        return 0;
    }
    top = n.val[k];
    return (n.len - k - 1) * 8 + g_bit_storage(top);
}

char *sevsnp_spki_key_type(const SevsnpDer *spki)
{
    SevsnpDer alg, bits, oid, params;
    DerIter it, ai;
    const KnownOid *k, *curve;

    der_iter(spki, &it);
    if (!der_next(&it, &alg) || !der_next(&it, &bits)) {
        return g_strdup("unknown");
    }
    der_iter(&alg, &ai);
    k = der_next(&ai, &oid) ? OID_FIND(&oid, key_algs) : NULL;
    if (!k) {
        return g_strdup("unknown");
    }
    if (strcmp(k->name, "RSA") == 0) {
        unsigned n = rsa_bits(&bits);

        return n ? g_strdup_printf("RSA-%u", n) : g_strdup("unknown");
    }
    if (strcmp(k->name, "EC") == 0) {
        if (!der_next(&ai, &params)) {
            return g_strdup("unknown");
        }
        if (is_seq(&params)) {
            return g_strdup("EC");
        }
        curve = OID_FIND(&params, ec_curves);
        return curve ? g_strdup_printf("EC-%s", curve->name)
                     : g_strdup("unknown");
    }
    return g_strdup(k->name);
}

/* ------------------------------------------------------------------ */
/* Certificates and CRLs                                               */
/* ------------------------------------------------------------------ */

/* AlgorithmIdentifier ::= SEQUENCE { OID, parameters ANY OPTIONAL } */
static bool alg_ok(const SevsnpDer *a)
{
    DerIter it;
    SevsnpDer oid, params;

    if (!is_seq(a)) {
        return false;
    }
    der_iter(a, &it);
    if (!der_next(&it, &oid) ||
        !der_is(&oid, SEVSNP_DER_UNIVERSAL, false, TAG_OID)) {
        return false;
    }
    der_next(&it, &params);
    return it.left == 0;
}

/*
 * The same algorithm: the same OID, and the same parameters, an absent
 * one the same as NULL (GnuTLS's rule when it decodes a certificate).
 */
static bool alg_same(const SevsnpDer *a, const SevsnpDer *b)
{
    DerIter ia, ib;
    SevsnpDer oa, ob, pa = { 0 }, pb = { 0 };
    bool ha, hb;

    der_iter(a, &ia);
    der_iter(b, &ib);
    der_next(&ia, &oa);
    der_next(&ib, &ob);
    ha = der_next(&ia, &pa) &&
         !der_is(&pa, SEVSNP_DER_UNIVERSAL, false, TAG_NULL);
    hb = der_next(&ib, &pb) &&
         !der_is(&pb, SEVSNP_DER_UNIVERSAL, false, TAG_NULL);
    return sevsnp_name_equal(&oa, &ob) && ha == hb &&
           (!ha || sevsnp_name_equal(&pa, &pb));
}

static bool rfc5280_time(const SevsnpDer *t)
{
    int64_t u;

    return sevsnp_time_unix(t, &u);
}

static bool time_ok(const SevsnpDer *t)
{
    return der_is(t, SEVSNP_DER_UNIVERSAL, false, TAG_UTCTIME) ||
           der_is(t, SEVSNP_DER_UNIVERSAL, false, TAG_GENTIME);
}

/*
 * GeneralNames, as GnuTLS reads a subject or issuer alternative name
 * when it decodes a certificate: strict DER, each name one of the kinds
 * it knows (not x400Address, not ediPartyName), none empty.
 */
static bool general_names_ok(const SevsnpDer *value)
{
    SevsnpDer names, gn, a, b;
    DerIter it, on;

    if (!sevsnp_der_valid(value->val, value->len) ||
        !der_head(value->val, value->len, &names) || !is_seq(&names)) {
        return false;
    }
    der_iter(&names, &it);
    while (der_next(&it, &gn)) {
        if (gn.cls != SEVSNP_DER_CONTEXT) {
            return false;
        }
        switch (gn.tag) {
        case 0:                         /* otherName: type-id, [0] value */
            der_iter(&gn, &on);
            if (!gn.cons || !der_next(&on, &a) || !der_next(&on, &b) ||
                on.left || !der_is(&a, SEVSNP_DER_UNIVERSAL, false, TAG_OID) ||
                !der_is(&b, SEVSNP_DER_CONTEXT, true, 0)) {
                return false;
            }
            der_iter(&b, &on);
            if (!der_next(&on, &a) || on.left) {
                return false;
            }
            break;
        case 1:                         /* rfc822Name */
        case 2:                         /* dNSName */
        case 6:                         /* uniformResourceIdentifier */
        case 7:                         /* iPAddress */
            if (gn.cons || gn.len == 0) {
                return false;
            }
            break;
        case 4:                         /* directoryName */
            der_iter(&gn, &on);
            if (!gn.cons || !der_next(&on, &a) || on.left || !name_ok(&a) ||
                a.len == 0) {
                return false;
            }
            break;
        case 8:                         /* registeredID */
            if (gn.cons || !oid_ok(gn.val, gn.len)) {
                return false;
            }
            break;
        default:
            return false;
        }
    }
    return true;
}

/*
 * Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN
 * DEFAULT FALSE, extnValue OCTET STRING }, no extnID twice, alternative
 * names that GnuTLS reads.
 */
static bool extensions_ok(const SevsnpDer *exts)
{
    DerIter it, parts, prev;
    SevsnpDer ext, oid, x, y;

    if (!is_seq(exts)) {
        return false;
    }
    der_iter(exts, &it);
    while (der_next(&it, &ext)) {
        if (!is_seq(&ext)) {
            return false;
        }
        der_iter(&ext, &parts);
        if (!der_next(&parts, &oid) ||
            !der_is(&oid, SEVSNP_DER_UNIVERSAL, false, TAG_OID) ||
            !der_next(&parts, &x)) {
            return false;
        }
        if (der_is(&x, SEVSNP_DER_UNIVERSAL, false, TAG_BOOLEAN)) {
            if (!der_next(&parts, &x)) {
                return false;
            }
        }
        if (!der_is(&x, SEVSNP_DER_UNIVERSAL, false, TAG_OCTET) ||
            parts.left) {
            return false;
        }
        if (OID_FIND(&oid, alt_names) && !general_names_ok(&x)) {
            return false;
        }
        /* No extension twice (the earlier ones are known good). */
        der_iter(exts, &prev);
        while (der_next(&prev, &y) && y.start < ext.start) {
            SevsnpDer poid;
            DerIter pp;

            der_iter(&y, &pp);
            der_next(&pp, &poid);
            if (sevsnp_name_equal(&poid, &oid)) {
                return false;
            }
        }
    }
    return true;
}

/* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature } */
static bool signed_ok(const uint8_t *der, size_t len, SevsnpDer *tbs,
                      SevsnpDer *alg, SevsnpDer *sig)
{
    SevsnpDer top;
    DerIter it;

    if (!der_head(der, len, &top) || top.size != len || !is_seq(&top)) {
        return false;
    }
    der_iter(&top, &it);
    return der_next(&it, tbs) && is_seq(tbs) && der_next(&it, alg) &&
           alg_ok(alg) && der_next(&it, sig) &&
           der_is(sig, SEVSNP_DER_UNIVERSAL, false, TAG_BIT_STRING) &&
           it.left == 0;
}

bool sevsnp_x509_read(const uint8_t *der, size_t len, SevsnpX509 *x)
{
    DerIter it, vi;
    SevsnpDer d, ver;

    memset(x, 0, sizeof(*x));
    if (!signed_ok(der, len, &x->tbs, &x->sig_alg, &x->sig)) {
        return false;
    }
    der_iter(&x->tbs, &it);
    if (!der_next(&it, &d)) {
        return false;
    }
    x->version = 1;
    if (der_is(&d, SEVSNP_DER_CONTEXT, true, 0)) {
        der_iter(&d, &vi);
        if (!der_next(&vi, &ver) || vi.left ||
            !der_is(&ver, SEVSNP_DER_UNIVERSAL, false, TAG_INTEGER)) {
            return false;
        }
        x->version = ver.len == 1 && ver.val[0] <= 2 ? ver.val[0] + 1 : 0;
        if (!der_next(&it, &d)) {
            return false;
        }
    }
    x->serial = d;
    if (!der_is(&x->serial, SEVSNP_DER_UNIVERSAL, false, TAG_INTEGER) ||
        !der_next(&it, &x->tbs_sig_alg) || !alg_ok(&x->tbs_sig_alg) ||
        !der_next(&it, &x->issuer) || !name_ok(&x->issuer) ||
        !der_next(&it, &d) || !is_seq(&d)) {
        return false;
    }
    der_iter(&d, &vi);
    if (!der_next(&vi, &x->not_before) || !time_ok(&x->not_before) ||
        !der_next(&vi, &x->not_after) || !time_ok(&x->not_after) ||
        vi.left) {
        return false;
    }
    if (!der_next(&it, &x->subject) || !name_ok(&x->subject) ||
        !der_next(&it, &x->spki) || !is_seq(&x->spki)) {
        return false;
    }
    der_iter(&x->spki, &vi);
    if (!der_next(&vi, &d) || !alg_ok(&d) || !der_next(&vi, &d) ||
        !der_is(&d, SEVSNP_DER_UNIVERSAL, false, TAG_BIT_STRING) ||
        vi.left) {
        return false;
    }
    if (der_peek(&it, &d) && der_is(&d, SEVSNP_DER_CONTEXT, false, 1)) {
        if (!bit_string_ok(d.val, d.len)) {
            return false;
        }
        x->has_issuer_uid = true;
        der_next(&it, &d);
    }
    if (der_peek(&it, &d) && der_is(&d, SEVSNP_DER_CONTEXT, false, 2)) {
        if (!bit_string_ok(d.val, d.len)) {
            return false;
        }
        x->has_subject_uid = true;
        der_next(&it, &d);
    }
    if (der_peek(&it, &d) && der_is(&d, SEVSNP_DER_CONTEXT, true, 3)) {
        der_iter(&d, &vi);
        if (!der_next(&vi, &x->extensions) || vi.left ||
            !extensions_ok(&x->extensions)) {
            return false;
        }
        x->has_extensions = true;
        der_next(&it, &d);
    }
    if (it.left) {
        return false;
    }

    /*
     * What GnuTLS checks when it decodes a certificate, and OpenSSL only
     * when it verifies one: both algorithm fields agree; only version 3
     * has extensions, only versions 2 and 3 unique identifiers; the
     * validity is made of times (here: RFC 5280 times, which GnuTLS's
     * looser rule accepts).
     */
    if (!rfc5280_time(&x->not_before) || !rfc5280_time(&x->not_after) ||
        !alg_same(&x->sig_alg, &x->tbs_sig_alg) || x->version == 0 ||
        (x->version < 3 && x->has_extensions) ||
        (x->version < 2 && (x->has_issuer_uid || x->has_subject_uid))) {
        return false;
    }
    return true;
}

bool sevsnp_crl_read(const uint8_t *der, size_t len, SevsnpCrl *c)
{
    DerIter it, vi;
    SevsnpDer d, e, f;

    memset(c, 0, sizeof(*c));
    if (!signed_ok(der, len, &c->tbs, &c->sig_alg, &c->sig)) {
        return false;
    }
    der_iter(&c->tbs, &it);
    if (!der_next(&it, &d)) {
        return false;
    }
    if (der_is(&d, SEVSNP_DER_UNIVERSAL, false, TAG_INTEGER)) {
        if (d.len != 1 || d.val[0] > 1 || !der_next(&it, &d)) {
            return false;
        }
    }
    c->tbs_sig_alg = d;
    if (!alg_ok(&c->tbs_sig_alg) || !der_next(&it, &c->issuer) ||
        !name_ok(&c->issuer) || !der_next(&it, &c->this_update) ||
        !time_ok(&c->this_update)) {
        return false;
    }
    if (der_peek(&it, &d) && time_ok(&d)) {
        c->next_update = d;
        c->has_next_update = true;
        der_next(&it, &d);
    }
    if (der_peek(&it, &d) && is_seq(&d)) {
        /* revokedCertificates: SEQUENCE { serial, date, exts OPTIONAL } */
        der_iter(&d, &vi);
        while (der_next(&vi, &e)) {
            DerIter ri;

            if (!is_seq(&e)) {
                return false;
            }
            der_iter(&e, &ri);
            if (!der_next(&ri, &f) ||
                !der_is(&f, SEVSNP_DER_UNIVERSAL, false, TAG_INTEGER) ||
                !der_next(&ri, &f) || !time_ok(&f)) {
                return false;
            }
            if (der_next(&ri, &f) && (!extensions_ok(&f) || ri.left)) {
                return false;
            }
        }
        der_next(&it, &d);
    }
    if (der_peek(&it, &d) && der_is(&d, SEVSNP_DER_CONTEXT, true, 0)) {
        der_iter(&d, &vi);
        if (!der_next(&vi, &e) || vi.left || !extensions_ok(&e)) {
            return false;
        }
        der_next(&it, &d);
    }
    return it.left == 0 && alg_same(&c->sig_alg, &c->tbs_sig_alg);
}
