/*
 * libFuzzer target: the certificate-table parser of the standalone
 * library, and what it reads from the entries with OpenSSL.
 *
 * Invariants, not only "no crash": a rejection has a message and one of
 * the documented codes; an accepted table has every entry's data after
 * the table and inside the blob, no two entries overlapping, no repeated
 * GUID; rebuilding it from its entries gives a blob that parses to the
 * same entries and data; describing every entry works, a certificate
 * entry described with every field; verifying the chain gives a status
 * and, unless valid, a reason; the signature check agrees with it (a
 * chain whose signatures fail is not valid).
 *
 * Speed: OpenSSL's certificate decoding and signature checks go through
 * a memo keyed by the certificates' bytes (x509memo.c): a certificate
 * the fuzzer did not change is decoded, and a chain verified, once per
 * run instead of every execution, and a changed one still goes to
 * OpenSSL.  ASan's quarantine is smaller (see __asan_default_options()).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsevsnp.h"
#include "fuzz.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)

/* A fixed time, so that a finding reproduces. */
#define VERIFY_AT 1811808000        /* 2027-06-01: every seed valid */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_default_artifact_prefix(argc, argv, "certtable");
    x509_memo_init();
    return 0;
}

/*
 * ASan's quarantine (freed memory kept unusable, so that a use after
 * free is caught): 32 MiB instead of 256.  An execution allocates at
 * most about 1.1 MiB (12 KiB on average, measured over the seed corpus)
 * and frees all of it before it returns, the library keeping nothing
 * across calls: any use after free within an execution, the only kind
 * there can be, is caught as before.  Cycling 256 MiB through the cache
 * and the page tables costs a quarter of the fuzzer's CPU time.
 * ASAN_OPTIONS still overrides it.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=32";
}

/* ------------------------------------------------------------------ */
/* The invariants                                                      */
/* ------------------------------------------------------------------ */

static void check_table(SevsnpCertTable *t, size_t size)
{
    guint n = sevsnp_cert_table_n_entries(t);
    g_autofree SevsnpCertInput *in = g_new0(SevsnpCertInput, MAX(n, 1));
    g_autoptr(GBytes) rebuilt = NULL;
    g_autofree char *why = NULL;
    g_autofree char *sig_why = NULL;
    SevsnpCertTable *t2;
    SevsnpChainStatus status;
    gboolean sigs_ok;

    for (guint i = 0; i < n; i++) {
        const SevsnpCertEntry *e = sevsnp_cert_table_entry(t, i);
        g_autoptr(SevsnpCertInfo) info = sevsnp_cert_info_new(t, i);

        CHECK(e->length > 0);
        CHECK(e->offset >= (n + 1) * SEVSNP_CERT_ENTRY_SIZE);
        CHECK((uint64_t)e->offset + e->length <= size);
        CHECK(e->type == sevsnp_cert_type_from_guid(e->guid));
        for (guint j = 0; j < i; j++) {
            const SevsnpCertEntry *o = sevsnp_cert_table_entry(t, j);

            CHECK(memcmp(o->guid, e->guid, SEVSNP_GUID_SIZE));
            CHECK(o->offset + o->length <= e->offset ||
                  e->offset + e->length <= o->offset);
        }
        CHECK(info && info->fingerprint);
        /* A certificate entry is described as one, with its fields. */
        if (e->type < SEVSNP_CERT_CRL) {
            CHECK(info->is_certificate && info->subject && info->issuer &&
                  info->serial && info->key_type && info->not_before &&
                  info->not_after);
        }
        if (e->type == SEVSNP_CERT_CRL) {
            CHECK(info->is_crl && info->issuer);
        }
        memcpy(in[i].guid, e->guid, SEVSNP_GUID_SIZE);
        in[i].der = sevsnp_cert_table_entry_data(t, i);
    }
    rebuilt = sevsnp_cert_table_build(in, n, NULL);
    CHECK(rebuilt);
    t2 = sevsnp_cert_table_parse(rebuilt, 0, NULL);
    CHECK(t2 && sevsnp_cert_table_n_entries(t2) == n);
    for (guint i = 0; i < n; i++) {
        g_autoptr(GBytes) d2 = sevsnp_cert_table_entry_data(t2, i);

        CHECK(g_bytes_equal(d2, in[i].der));
        g_bytes_unref(in[i].der);
    }
    sevsnp_cert_table_unref(t2);
    status = sevsnp_cert_table_verify(t, VERIFY_AT, &why);
    CHECK(status <= SEVSNP_CHAIN_INCOMPLETE);
    CHECK(status == SEVSNP_CHAIN_VALID || (why && why[0]));
    sigs_ok = sevsnp_cert_table_check_signatures(t, &sig_why);
    CHECK(sigs_ok ? !sig_why : sig_why && sig_why[0]);
    /* A chain whose signatures fail is not valid. */
    CHECK(sigs_ok || status != SEVSNP_CHAIN_VALID);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) b = g_bytes_new_static(data, size);
    g_autoptr(GError) err = NULL;
    SevsnpCertTable *t = sevsnp_cert_table_parse(b, 64 * 1024, &err);

    if (!t) {
        CHECK(err && err->message[0]);
        /* A parse's codes: every one but the signature check's. */
        CHECK(err->code <= SEVSNP_ERROR_BAD_DER);
        return 0;
    }
    check_table(t, size);
    sevsnp_cert_table_unref(t);
    return 0;
}
