/*
 * libsevsnp unit tests: certificate table parse, build, describe, verify
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "testutil.h"

/* Parse @blob expecting error @code whose message contains @needle. */
static void expect_reject(GBytes *blob, size_t cap, int code,
                          const char *needle)
{
    GError *err = NULL;
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, cap, &err);

    g_assert_null(t);
    g_assert_error(err, SEVSNP_ERROR, code);
    if (needle && !strstr(err->message, needle)) {
        g_error("message '%s' lacks '%s'", err->message, needle);
    }
    g_error_free(err);
}

/* A mutable copy of the Milan blob. */
static GByteArray *milan_copy(void)
{
    g_autoptr(GBytes) b = test_milan_blob();
    GByteArray *a = g_byte_array_new();

    g_byte_array_append(a, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
    return a;
}

static void put32(GByteArray *a, size_t off, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(a->data + off, &v, 4);
}

static uint32_t get32(GByteArray *a, size_t off)
{
    uint32_t v;

    memcpy(&v, a->data + off, 4);
    return GUINT32_FROM_LE(v);
}

static GBytes *as_bytes(GByteArray *a)
{
    return g_bytes_new(a->data, a->len);
}

static void test_guids(void)
{
    char s[37];
    uint8_t g[16];

    sevsnp_guid_unparse(sevsnp_cert_type_guid(SEVSNP_CERT_ARK), s);
    g_assert_cmpstr(s, ==, "c0b406a4-a803-4952-9743-3fb6014cd0ae");
    sevsnp_guid_unparse(sevsnp_cert_type_guid(SEVSNP_CERT_ASK), s);
    g_assert_cmpstr(s, ==, "4ab7b379-bbac-4fe4-a02f-05aef327c782");
    sevsnp_guid_unparse(sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), s);
    g_assert_cmpstr(s, ==, "63da758d-e664-4564-adc5-f4b93be8accd");
    sevsnp_guid_unparse(sevsnp_cert_type_guid(SEVSNP_CERT_VLEK), s);
    g_assert_cmpstr(s, ==, "a8074bc2-a25a-483e-aae6-39c045a0b8a1");
    sevsnp_guid_unparse(sevsnp_cert_type_guid(SEVSNP_CERT_CRL), s);
    g_assert_cmpstr(s, ==, "92f81bc3-5811-4d3d-97ff-d19f88dc67ea");

    g_assert_true(sevsnp_guid_parse("63da758d-e664-4564-adc5-f4b93be8accd",
                                    g));
    g_assert_cmpint(sevsnp_cert_type_from_guid(g), ==, SEVSNP_CERT_VCEK);
    g_assert_cmpint(g[0], ==, 0x63);
    g_assert_false(sevsnp_guid_parse("63da758d-e664-4564-adc5", g));
    g_assert_false(sevsnp_guid_parse("zzda758d-e664-4564-adc5-f4b93be8accd",
                                     g));
}

static void test_build_parse_milan(void)
{
    g_autoptr(GBytes) blob = test_milan_blob();
    g_autoptr(GBytes) vcek = test_milan(SEVSNP_CERT_VCEK);
    g_autoptr(GBytes) data = NULL;
    GError *err = NULL;
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, 0, &err);
    const SevsnpCertEntry *e;

    g_assert_no_error(err);
    g_assert_cmpuint(sevsnp_cert_table_n_entries(t), ==, 3);
    e = sevsnp_cert_table_entry(t, 0);
    g_assert_cmpint(e->type, ==, SEVSNP_CERT_ARK);
    /* Canonical layout: data right after the 4-entry table. */
    g_assert_cmpuint(e->offset, ==, 4 * 24);
    e = sevsnp_cert_table_entry(t, 2);
    g_assert_cmpint(e->type, ==, SEVSNP_CERT_VCEK);
    g_assert_cmpuint(e->length, ==, g_bytes_get_size(vcek));
    g_assert_cmpuint(e->offset + e->length, ==, g_bytes_get_size(blob));
    data = sevsnp_cert_table_entry_data(t, 2);
    g_assert_true(g_bytes_equal(data, vcek));
    g_assert_true(sevsnp_cert_table_find(t, SEVSNP_CERT_ASK) ==
                  sevsnp_cert_table_entry(t, 1));
    g_assert_null(sevsnp_cert_table_find(t, SEVSNP_CERT_VLEK));
    sevsnp_cert_table_unref(t);
}

static void test_empty_table(void)
{
    g_autoptr(GBytes) blob = sevsnp_cert_table_empty_blob();
    GError *err = NULL;
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, 0, &err);
    char *why = NULL;

    g_assert_no_error(err);
    g_assert_cmpuint(sevsnp_cert_table_n_entries(t), ==, 0);
    g_assert_cmpint(sevsnp_cert_table_verify(t, 0, &why), ==,
                    SEVSNP_CHAIN_INCOMPLETE);
    g_assert_nonnull(strstr(why, "missing ARK"));
    g_free(why);
    sevsnp_cert_table_unref(t);
}

static void test_reject_no_terminator(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GBytes) b1 = NULL, b2 = NULL, b3 = NULL;

    /* Empty input, and a short one. */
    b1 = g_bytes_new("", 0);
    expect_reject(b1, 0, SEVSNP_ERROR_NO_TERMINATOR, "terminating");
    b2 = g_bytes_new(a->data, 23);
    expect_reject(b2, 0, SEVSNP_ERROR_NO_TERMINATOR, "23-byte");
    /*
     * Overwrite the terminator with a fourth entry: the table then runs
     * into certificate data and never finds 24 zero bytes.
     */
    memset(a->data + 3 * 24, 0x11, 24);
    b3 = as_bytes(a);
    expect_reject(b3, 0, SEVSNP_ERROR_NO_TERMINATOR, NULL);
}

static void test_reject_zero_guid(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GBytes) b = NULL;

    memset(a->data + 24, 0, 16);
    b = as_bytes(a);
    expect_reject(b, 0, SEVSNP_ERROR_ZERO_GUID, "entry 1");
}

static void test_reject_empty_entry(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GBytes) b = NULL;

    put32(a, 2 * 24 + 20, 0);
    b = as_bytes(a);
    expect_reject(b, 0, SEVSNP_ERROR_EMPTY_ENTRY, "entry 2 (vcek");
}

static void test_reject_out_of_bounds(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GByteArray) c = milan_copy();
    g_autoptr(GByteArray) d = milan_copy();
    g_autoptr(GBytes) b1 = NULL, b2 = NULL, b3 = NULL;

    /* Data past the end. */
    put32(a, 2 * 24 + 20, get32(a, 2 * 24 + 20) + 1);
    b1 = as_bytes(a);
    expect_reject(b1, 0, SEVSNP_ERROR_OUT_OF_BOUNDS, "entry 2 (vcek");
    /* Data inside the table. */
    put32(c, 0 * 24 + 16, 24);
    b2 = as_bytes(c);
    expect_reject(b2, 0, SEVSNP_ERROR_OUT_OF_BOUNDS, "entry 0 (ark");
    /* offset + length overflows 32 bits. */
    put32(d, 1 * 24 + 16, 0xffffff00u);
    put32(d, 1 * 24 + 20, 0x200u);
    b3 = as_bytes(d);
    expect_reject(b3, 0, SEVSNP_ERROR_OUT_OF_BOUNDS, "entry 1 (ask");
}

static void test_reject_overlap(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GBytes) b = NULL;

    /* ASK starts one byte before the ARK ends. */
    put32(a, 1 * 24 + 16, get32(a, 1 * 24 + 16) - 1);
    b = as_bytes(a);
    expect_reject(b, 0, SEVSNP_ERROR_OVERLAP, "overlaps entry 0 (ark");
}

static void test_reject_duplicate(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GBytes) b = NULL;

    memcpy(a->data + 1 * 24, a->data, 16);
    b = as_bytes(a);
    expect_reject(b, 0, SEVSNP_ERROR_DUPLICATE, "entry 1 (ark");
}

static void test_reject_bad_der(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GByteArray) c = milan_copy();
    g_autoptr(GBytes) b1 = NULL, b2 = NULL;

    /* Corrupt the outer DER tag of the VCEK. */
    a->data[get32(a, 2 * 24 + 16)] = 0x04;
    b1 = as_bytes(a);
    expect_reject(b1, 0, SEVSNP_ERROR_BAD_DER, "entry 2 (vcek");
    /* A certificate whose entry claims to be a CRL. */
    memcpy(c->data + 2 * 24, sevsnp_cert_type_guid(SEVSNP_CERT_CRL), 16);
    b2 = as_bytes(c);
    expect_reject(b2, 0, SEVSNP_ERROR_BAD_DER, "CRL");
}

static void test_reject_stray(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GBytes) b = NULL;
    static const uint8_t junk[] = { 1, 2, 3 };

    g_byte_array_append(a, junk, sizeof(junk));
    b = as_bytes(a);
    expect_reject(b, 0, SEVSNP_ERROR_STRAY_DATA, "belong to no entry");
}

static void test_zero_padding_ok(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GBytes) b = NULL;
    static const uint8_t pad[100];
    GError *err = NULL;
    SevsnpCertTable *t;

    g_byte_array_append(a, pad, sizeof(pad));
    b = as_bytes(a);
    t = sevsnp_cert_table_parse(b, 0, &err);
    g_assert_no_error(err);
    sevsnp_cert_table_unref(t);
}

static void test_size_cap(void)
{
    g_autoptr(GBytes) blob = test_milan_blob();
    GError *err = NULL;
    SevsnpCertTable *t;

    expect_reject(blob, 1024, SEVSNP_ERROR_TOO_LARGE, "size cap of 1024");
    t = sevsnp_cert_table_parse(blob, g_bytes_get_size(blob), &err);
    g_assert_no_error(err);
    sevsnp_cert_table_unref(t);
}

static void test_unknown_guid_and_crl(void)
{
    g_autoptr(TestChain) c = test_chain_new("Unit", -1, 30);
    /* An OCTET STRING: well-formed DER of an unknown kind. */
    static const uint8_t other[] = { 0x04, 0x03, 'a', 'b', 'c' };
    g_autoptr(GBytes) other_b = g_bytes_new_static(other, sizeof(other));
    SevsnpCertInput in[5];
    GError *err = NULL;
    g_autoptr(GBytes) blob = NULL;
    SevsnpCertTable *t;
    const SevsnpCertEntry *e;
    g_autoptr(GBytes) got = NULL;
    g_autoptr(SevsnpCertInfo) info = NULL;

    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    in[0].der = c->ark;
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    in[1].der = c->ask;
    memcpy(in[2].guid, sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), 16);
    in[2].der = c->vcek;
    memcpy(in[3].guid, sevsnp_cert_type_guid(SEVSNP_CERT_CRL), 16);
    in[3].der = c->crl;
    g_assert_true(sevsnp_guid_parse("01234567-89ab-cdef-0123-456789abcdef",
                                    in[4].guid));
    in[4].der = other_b;

    blob = sevsnp_cert_table_build(in, 5, &err);
    g_assert_no_error(err);
    t = sevsnp_cert_table_parse(blob, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(sevsnp_cert_table_n_entries(t), ==, 5);
    e = sevsnp_cert_table_entry(t, 4);
    g_assert_cmpint(e->type, ==, SEVSNP_CERT_OTHER);
    got = sevsnp_cert_table_entry_data(t, 4);
    g_assert_true(g_bytes_equal(got, other_b));
    info = sevsnp_cert_info_new(t, 3);
    g_assert_true(info->is_crl);
    g_assert_nonnull(strstr(info->issuer, "CN=ARK-Unit"));
    g_assert_cmpint(sevsnp_cert_table_verify(t, 0, NULL), ==,
                    SEVSNP_CHAIN_VALID);
    sevsnp_cert_table_unref(t);

    /* Unknown data that is not DER is refused. */
    {
        static const uint8_t bad[] = { 0x30, 0x80, 0x01 };
        g_autoptr(GBytes) bad_b = g_bytes_new_static(bad, sizeof(bad));
        g_autoptr(GBytes) b2 = NULL;

        in[4].der = bad_b;
        b2 = sevsnp_cert_table_build(in, 5, &err);
        g_assert_null(b2);
        g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER);
        g_clear_error(&err);
    }
}

static void test_build_rejects_duplicates(void)
{
    g_autoptr(GBytes) ark = test_milan(SEVSNP_CERT_ARK);
    SevsnpCertInput in[2];
    GError *err = NULL;
    GBytes *b;

    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    in[0].der = in[1].der = ark;
    b = sevsnp_cert_table_build(in, 2, &err);
    g_assert_null(b);
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_DUPLICATE);
    g_error_free(err);
}

static void test_describe_milan(void)
{
    g_autoptr(GBytes) blob = test_milan_blob();
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, 0, NULL);
    g_autoptr(SevsnpCertInfo) ark = sevsnp_cert_info_new(t, 0);
    g_autoptr(SevsnpCertInfo) ask = sevsnp_cert_info_new(t, 1);
    g_autoptr(SevsnpCertInfo) vcek = sevsnp_cert_info_new(t, 2);

    g_assert_cmpstr(ark->common_name, ==, "ARK-Milan");
    g_assert_cmpstr(ask->common_name, ==, "SEV-Milan");
    g_assert_cmpstr(vcek->common_name, ==, "SEV-VCEK");
    g_assert_cmpstr(ark->key_type, ==, "RSA-4096");
    g_assert_cmpstr(vcek->key_type, ==, "EC-P-384");
    g_assert_nonnull(strstr(ask->issuer, "CN=ARK-Milan"));
    g_assert_cmpstr(ark->not_before, ==, "2020-10-22T17:23:05Z");
    g_assert_cmpstr(ark->not_after, ==, "2045-10-22T17:23:05Z");
    /* SHA-384: 48 bytes as colon-separated hex. */
    g_assert_cmpuint(strlen(vcek->fingerprint), ==, 48 * 3 - 1);
    g_assert_cmpstr(vcek->guid, ==, "63da758d-e664-4564-adc5-f4b93be8accd");
    sevsnp_cert_table_unref(t);
}

static void test_verify_milan(void)
{
    g_autoptr(GBytes) blob = test_milan_blob();
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, 0, NULL);
    g_autofree char *why = NULL;

    g_assert_cmpint(sevsnp_cert_table_verify(t, 0, &why), ==,
                    SEVSNP_CHAIN_VALID);
    g_assert_nonnull(strstr(why, "ARK-Milan"));
    sevsnp_cert_table_unref(t);
}

static void test_verify_flipped_signature(void)
{
    g_autoptr(GByteArray) a = milan_copy();
    g_autoptr(GBytes) b = NULL;
    SevsnpCertTable *t;
    g_autofree char *why = NULL;
    GError *err = NULL;

    /* The last byte of the VCEK is inside its signature. */
    a->data[a->len - 1] ^= 0x01;
    b = as_bytes(a);
    t = sevsnp_cert_table_parse(b, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(sevsnp_cert_table_verify(t, 0, &why), ==,
                    SEVSNP_CHAIN_INVALID);
    g_assert_nonnull(strstr(why, "VCEK (SEV-VCEK) is not signed by ASK"));
    sevsnp_cert_table_unref(t);
}

static void test_verify_genoa_with_milan_vcek(void)
{
    g_autoptr(GBytes) ark = test_genoa(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) ask = test_genoa(SEVSNP_CERT_ASK);
    g_autoptr(GBytes) vcek = test_milan(SEVSNP_CERT_VCEK);
    SevsnpCertInput in[3];
    g_autoptr(GBytes) blob = NULL;
    SevsnpCertTable *t;
    g_autofree char *why = NULL;

    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    memcpy(in[2].guid, sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), 16);
    in[0].der = ark;
    in[1].der = ask;
    in[2].der = vcek;
    blob = sevsnp_cert_table_build(in, 3, NULL);
    t = sevsnp_cert_table_parse(blob, 0, NULL);
    g_assert_cmpint(sevsnp_cert_table_verify(t, 0, &why), ==,
                    SEVSNP_CHAIN_INVALID);
    g_assert_nonnull(strstr(why, "not signed by ASK (SEV-Genoa)"));
    sevsnp_cert_table_unref(t);
}

static void test_verify_mixed_and_missing(void)
{
    g_autoptr(GBytes) ark = test_milan(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) ask = test_genoa(SEVSNP_CERT_ASK);
    g_autoptr(GBytes) vcek = test_milan(SEVSNP_CERT_VCEK);
    SevsnpCertInput in[3];
    g_autoptr(GBytes) blob = NULL, blob2 = NULL;
    SevsnpCertTable *t;
    g_autofree char *why = NULL, *why2 = NULL;

    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    memcpy(in[2].guid, sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), 16);
    in[0].der = ark;
    in[1].der = ask;
    in[2].der = vcek;
    blob = sevsnp_cert_table_build(in, 3, NULL);
    t = sevsnp_cert_table_parse(blob, 0, NULL);
    g_assert_cmpint(sevsnp_cert_table_verify(t, 0, &why), ==,
                    SEVSNP_CHAIN_INVALID);
    g_assert_nonnull(strstr(why, "ASK (SEV-Genoa) is not signed by ARK "
                                 "(ARK-Milan)"));
    sevsnp_cert_table_unref(t);

    /* ARK and VCEK only. */
    in[1] = in[2];
    blob2 = sevsnp_cert_table_build(in, 2, NULL);
    t = sevsnp_cert_table_parse(blob2, 0, NULL);
    g_assert_cmpint(sevsnp_cert_table_verify(t, 0, &why2), ==,
                    SEVSNP_CHAIN_INCOMPLETE);
    g_assert_cmpstr(why2, ==, "missing ASK");
    sevsnp_cert_table_unref(t);
}

static void test_verify_dates(void)
{
    g_autoptr(TestChain) old = test_chain_new("Old", -30, -1);
    g_autoptr(TestChain) future = test_chain_new("Future", 10, 30);
    g_autoptr(GBytes) b1 = test_chain_blob(old);
    g_autoptr(GBytes) b2 = test_chain_blob(future);
    SevsnpCertTable *t1 = sevsnp_cert_table_parse(b1, 0, NULL);
    SevsnpCertTable *t2 = sevsnp_cert_table_parse(b2, 0, NULL);
    g_autofree char *w1 = NULL, *w2 = NULL, *w3 = NULL;

    g_assert_cmpint(sevsnp_cert_table_verify(t1, 0, &w1), ==,
                    SEVSNP_CHAIN_INVALID);
    g_assert_nonnull(strstr(w1, "has expired"));
    g_assert_cmpint(sevsnp_cert_table_verify(t2, 0, &w2), ==,
                    SEVSNP_CHAIN_INVALID);
    g_assert_nonnull(strstr(w2, "not yet valid"));
    /* At a time inside the old chain's validity it verifies. */
    g_assert_cmpint(sevsnp_cert_table_verify(t1, time(NULL) - 10 * 86400,
                                             &w3), ==, SEVSNP_CHAIN_VALID);
    sevsnp_cert_table_unref(t1);
    sevsnp_cert_table_unref(t2);
}

static void test_pem_der_input(void)
{
    g_autoptr(GBytes) pem = test_data("milan-ark.pem");
    g_autoptr(GBytes) der = test_milan(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) der2 = NULL;
    g_autoptr(GBytes) junk = g_bytes_new_static("hello world", 11);
    GError *err = NULL;
    GBytes *r;

    der2 = sevsnp_der_from_pem_or_der(der, SEVSNP_CERT_ARK, &err);
    g_assert_no_error(err);
    g_assert_true(g_bytes_equal(der, der2));
    g_assert_false(g_bytes_equal(pem, der));
    r = sevsnp_der_from_pem_or_der(junk, SEVSNP_CERT_ASK, &err);
    g_assert_null(r);
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER);
    g_clear_error(&err);
    /* A certificate is not a CRL. */
    r = sevsnp_der_from_pem_or_der(pem, SEVSNP_CERT_CRL, &err);
    g_assert_null(r);
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER);
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/certtable/guids", test_guids);
    g_test_add_func("/certtable/build-parse-milan", test_build_parse_milan);
    g_test_add_func("/certtable/empty", test_empty_table);
    g_test_add_func("/certtable/reject/no-terminator",
                    test_reject_no_terminator);
    g_test_add_func("/certtable/reject/zero-guid", test_reject_zero_guid);
    g_test_add_func("/certtable/reject/empty-entry", test_reject_empty_entry);
    g_test_add_func("/certtable/reject/out-of-bounds",
                    test_reject_out_of_bounds);
    g_test_add_func("/certtable/reject/overlap", test_reject_overlap);
    g_test_add_func("/certtable/reject/duplicate", test_reject_duplicate);
    g_test_add_func("/certtable/reject/bad-der", test_reject_bad_der);
    g_test_add_func("/certtable/reject/stray-data", test_reject_stray);
    g_test_add_func("/certtable/zero-padding", test_zero_padding_ok);
    g_test_add_func("/certtable/size-cap", test_size_cap);
    g_test_add_func("/certtable/unknown-guid-and-crl",
                    test_unknown_guid_and_crl);
    g_test_add_func("/certtable/build-duplicates",
                    test_build_rejects_duplicates);
    g_test_add_func("/certtable/describe-milan", test_describe_milan);
    g_test_add_func("/certtable/verify/milan", test_verify_milan);
    g_test_add_func("/certtable/verify/flipped-signature",
                    test_verify_flipped_signature);
    g_test_add_func("/certtable/verify/genoa-milan",
                    test_verify_genoa_with_milan_vcek);
    g_test_add_func("/certtable/verify/mixed-and-missing",
                    test_verify_mixed_and_missing);
    g_test_add_func("/certtable/verify/dates", test_verify_dates);
    g_test_add_func("/certtable/pem-der", test_pem_der_input);
    return g_test_run();
}
