/*
 * libFuzzer target: what the standalone library reads from one entry's
 * bytes.  The input is one DER blob; it is put in a table as a
 * certificate (the VCEK's GUID), as a CRL and as data of another type,
 * and each table goes through the entry check (sevsnp_cert_table_parse())
 * and, when accepted, the description (sevsnp_cert_info_new()); an
 * accepted certificate also goes through the VCEK's extensions
 * (sevsnp_vek_product(), sevsnp_vcek_get_tcb()).
 *
 * Invariants, not only "no crash": a refused entry is refused with
 * SEVSNP_ERROR_BAD_DER and a message; sevsnp_der_from_pem_or_der()
 * accepts exactly what the table parser accepts, and returns the same
 * bytes; an accepted certificate is described as one, with every field;
 * an accepted CRL as one, with its issuer; a time is
 * given both ways or neither, and they agree; a description does not
 * depend on the entry's type once the bytes are a certificate.
 *
 * OpenSSL's certificate decoding goes through a memo keyed by the bytes
 * (x509memo.c): the library decodes the same bytes for each question.
 *
 * With CERTINFO_DUMP=FILE set, each execution appends one line of what
 * it found to FILE (the same inputs run through two builds of the
 * library must give the same lines).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libsevsnp.h"
#include "fuzz.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)

static FILE *dump;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *d = getenv("CERTINFO_DUMP");

    fuzz_default_artifact_prefix(argc, argv, "certinfo");
    x509_memo_init();
    if (d) {
        dump = fopen(d, "a");
        CHECK(dump);
    }
    return 0;
}

/* One entry of @type holding [data, data + size), as a blob. */
static GBytes *one_entry(SevsnpCertType type, const uint8_t *data,
                         size_t size)
{
    size_t head = 2 * SEVSNP_CERT_ENTRY_SIZE;
    uint8_t *b = g_malloc0(head + size);
    uint32_t off = head, len = size;

    static const uint8_t other_guid[SEVSNP_GUID_SIZE] = {
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
    };

    memcpy(b, type == SEVSNP_CERT_OTHER ? other_guid
                                        : sevsnp_cert_type_guid(type),
           SEVSNP_GUID_SIZE);
    for (int i = 0; i < 4; i++) {
        b[16 + i] = off >> (8 * i);
        b[20 + i] = len >> (8 * i);
    }
    memcpy(b + head, data, size);
    return g_bytes_new_take(b, head + size);
}

/* An ISO 8601 UTC time and its seconds agree. */
static void check_time(const char *iso, int64_t unix_time)
{
    struct tm tm = { 0 };
    int y, mo, d, h, mi, s;
    char z;

    if (!iso) {
        CHECK(unix_time == 0);
        return;
    }
    CHECK(sscanf(iso, "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &s,
                 &z) == 7 && z == 'Z');
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    CHECK(timegm(&tm) == unix_time);
}

static void dump_info(const char *what, const SevsnpCertInfo *i)
{
    fprintf(dump, " %s{%d%d|%s|%s|%s|%s|%s|%s|%lld|%lld|%s}", what,
            i->is_certificate, i->is_crl, i->subject, i->issuer,
            i->common_name, i->serial, i->not_before, i->not_after,
            (long long)i->not_before_unix, (long long)i->not_after_unix,
            i->key_type);
}

/* The entry check and the description of the blob as @type. */
static SevsnpCertInfo *as_type(SevsnpCertType type, const uint8_t *data,
                               size_t size)
{
    g_autoptr(GBytes) blob = one_entry(type, data, size);
    g_autoptr(GBytes) in = g_bytes_new_static(data, size);
    g_autoptr(GBytes) der = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, 0, &err);
    SevsnpCertInfo *info;
    bool pem = size > 10 && memmem(data, size, "-----BEGIN", 10);

    if (!pem) {
        der = sevsnp_der_from_pem_or_der(in, type, &err2);
        CHECK(!der == !t);
        CHECK(!der || g_bytes_equal(der, in));
        CHECK(der || (err2 && err2->code == SEVSNP_ERROR_BAD_DER));
    }
    if (!t) {
        CHECK(err && err->domain == SEVSNP_ERROR &&
              err->code == SEVSNP_ERROR_BAD_DER && err->message[0]);
        return NULL;
    }
    info = sevsnp_cert_info_new(t, 0);
    sevsnp_cert_table_unref(t);
    CHECK(info && info->fingerprint && info->type == type &&
          info->length == size);
    check_time(info->not_before, info->not_before_unix);
    check_time(info->not_after, info->not_after_unix);
    if (info->is_certificate) {
        CHECK(!info->is_crl && info->subject && info->issuer &&
              info->serial && info->serial[0] && info->key_type &&
              info->not_before && info->not_after);
    } else if (info->is_crl) {
        /* Its dates are given when they are RFC 5280 times. */
        CHECK(type == SEVSNP_CERT_CRL && info->issuer && !info->subject &&
              !info->serial && !info->key_type);
    } else {
        CHECK(type == SEVSNP_CERT_OTHER && !info->subject && !info->issuer);
    }
    return info;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(SevsnpCertInfo) cert = NULL;
    g_autoptr(SevsnpCertInfo) crl = NULL;
    g_autoptr(SevsnpCertInfo) other = NULL;

    if (size == 0 || size > 64 * 1024) {
        return 0;
    }
    cert = as_type(SEVSNP_CERT_VCEK, data, size);
    crl = as_type(SEVSNP_CERT_CRL, data, size);
    other = as_type(SEVSNP_CERT_OTHER, data, size);

    /* A certificate is one DER object, described alike as another type. */
    if (cert) {
        CHECK(cert->is_certificate && other && other->is_certificate);
        CHECK(same_str(cert->subject, other->subject) &&
              same_str(cert->issuer, other->issuer) &&
              same_str(cert->common_name, other->common_name) &&
              same_str(cert->serial, other->serial) &&
              same_str(cert->not_before, other->not_before) &&
              same_str(cert->not_after, other->not_after) &&
              same_str(cert->key_type, other->key_type));
    }
    CHECK(!crl || other);
    if (cert) {
        g_autoptr(GBytes) der = g_bytes_new_static(data, size);
        SevsnpProduct p = sevsnp_vek_product(der);
        SevsnpTcb tcb;
        uint8_t hwid[SEVSNP_CHIP_ID_SIZE];
        size_t hwid_len = 0;
        g_autoptr(GError) err = NULL;
        gboolean ok = sevsnp_vcek_get_tcb(der, p, &tcb, hwid, &hwid_len,
                                          &err);

        CHECK(ok ? hwid_len > 0 && hwid_len <= SEVSNP_CHIP_ID_SIZE
                 : err && err->message[0]);
        if (dump) {
            g_autofree char *tcbs = ok ? sevsnp_tcb_to_string(&tcb, p)
                                       : NULL;

            fprintf(dump, "product=%s tcb=%s hwid=%zu",
                    sevsnp_product_name(p), tcbs ? tcbs : "-",
                    ok ? hwid_len : 0);
        }
    }
    if (dump) {
        fprintf(dump, " c=%d r=%d o=%d", !!cert, !!crl, !!other);
        if (other) {
            dump_info("o", other);
        }
        if (crl) {
            dump_info("r", crl);
        }
        fputc('\n', dump);
        fflush(dump);
    }
    return 0;
}
