/*
 * libFuzzer target: the certificate-table parser.
 *
 * Invariants, not only "no crash": a rejection has a message and one of
 * the documented codes; an accepted table has every entry's data after
 * the table and inside the blob, no two entries overlapping, no repeated
 * GUID; rebuilding it from its entries gives a blob that parses to the
 * same entries and data; describing and verifying every entry works.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdlib.h>
#include <string.h>

#include "libsevsnp.h"
#include "fuzz.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)

static void check_table(SevsnpCertTable *t, size_t size)
{
    guint n = sevsnp_cert_table_n_entries(t);
    g_autofree SevsnpCertInput *in = g_new0(SevsnpCertInput, MAX(n, 1));
    g_autoptr(GBytes) rebuilt = NULL;
    SevsnpCertTable *t2;
    g_autofree char *why = NULL;
    SevsnpChainStatus st;

    for (guint i = 0; i < n; i++) {
        const SevsnpCertEntry *e = sevsnp_cert_table_entry(t, i);
        SevsnpCertInfo *info;

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
        info = sevsnp_cert_info_new(t, i);
        CHECK(info && info->fingerprint);
        sevsnp_cert_info_free(info);
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
    st = sevsnp_cert_table_verify(t, 0, &why);
    CHECK(st <= SEVSNP_CHAIN_INCOMPLETE);
    CHECK(st == SEVSNP_CHAIN_VALID || why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) b = g_bytes_new(data, size);
    GError *err = NULL;
    SevsnpCertTable *t = sevsnp_cert_table_parse(b, 64 * 1024, &err);

    if (!t) {
        CHECK(err && err->domain == SEVSNP_ERROR && err->message[0]);
        CHECK(err->code <= SEVSNP_ERROR_BUSY);
        g_error_free(err);
        return 0;
    }
    CHECK(!err);
    check_table(t, size);
    sevsnp_cert_table_unref(t);
    return 0;
}
