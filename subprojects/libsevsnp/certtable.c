/*
 * libsevsnp: GHCB certificate table
 *
 * The table's structure: its entries, their GUIDs, their data's offsets
 * and lengths inside the blob, the all-zero terminator, the size.  What
 * the entries hold is not looked at here.
 * not in QEMU's copy: begin
 * (certinfo.c, in the standalone library only, checks it.)
 * not in QEMU's copy: end
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "sevsnp-internal.h"

struct SevsnpCertTable {
    gint refcount;
    GBytes *blob;
    guint n_entries;
    SevsnpCertEntry *entries;
};

G_DEFINE_QUARK(sevsnp_error_quark, sevsnp_error)

static const struct {
    const char *name;
    uint8_t guid[SEVSNP_GUID_SIZE];
} known_types[] = {
    [SEVSNP_CERT_ARK] = { "ark", { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49,
        0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae } },
    [SEVSNP_CERT_ASK] = { "ask", { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f,
        0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 } },
    [SEVSNP_CERT_VCEK] = { "vcek", { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45,
        0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd } },
    [SEVSNP_CERT_VLEK] = { "vlek", { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48,
        0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 } },
    [SEVSNP_CERT_CRL] = { "crl", { 0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d,
        0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea } },
};

const char *sevsnp_cert_type_name(SevsnpCertType type)
{
    if (type < SEVSNP_CERT_OTHER) {
        return known_types[type].name;
    }
    return "other";
}

const uint8_t *sevsnp_cert_type_guid(SevsnpCertType type)
{
    g_return_val_if_fail(type < SEVSNP_CERT_OTHER, NULL);
    return known_types[type].guid;
}

SevsnpCertType sevsnp_cert_type_from_guid(const uint8_t *guid)
{
    for (int i = 0; i < SEVSNP_CERT_OTHER; i++) {
        if (memcmp(guid, known_types[i].guid, SEVSNP_GUID_SIZE) == 0) {
            return i;
        }
    }
    return SEVSNP_CERT_OTHER;
}

void sevsnp_guid_unparse(const uint8_t *g, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    char *q = out;

    for (int i = 0; i < SEVSNP_GUID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *q++ = '-';
        }
        *q++ = hex[g[i] >> 4];
        *q++ = hex[g[i] & 0xf];
    }
    *q = 0;
}

gboolean sevsnp_guid_parse(const char *str, uint8_t *guid)
{
    int n = 0;

    if (!g_uuid_string_is_valid(str)) {
        return FALSE;
    }
    for (const char *p = str; *p; p++) {
        if (*p == '-') {
            continue;
        }
        guid[n / 2] = (n % 2) ? (guid[n / 2] | g_ascii_xdigit_value(*p))
                              : (g_ascii_xdigit_value(*p) << 4);
        n++;
    }
    return n == 32;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static uint32_t load_le32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_LE(v);
}

static const char *entry_label(const SevsnpCertEntry *e, char buf[64])
{
    char guid[37];

    sevsnp_guid_unparse(e->guid, guid);
    g_snprintf(buf, 64, "%s %s", sevsnp_cert_type_name(e->type), guid);
    return buf;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const SevsnpCertEntry *const *x = a, *const *y = b;

    if ((*x)->offset != (*y)->offset) {
        return (*x)->offset < (*y)->offset ? -1 : 1;
    }
    return 0;
}

SevsnpCertTable *sevsnp_cert_table_parse(GBytes *blob, size_t max_size,
                                         GError **err)
{
    gsize size;
    const uint8_t *data = g_bytes_get_data(blob, &size);
    g_autofree SevsnpCertEntry *entries = NULL;
    g_autofree const SevsnpCertEntry **sorted = NULL;
    guint n = 0;
    size_t table_end;
    char label[64], label2[64];
    SevsnpCertTable *t;

    if (!max_size) {
        max_size = SEVSNP_DEFAULT_MAX_BLOB;
    }
    if (size > max_size) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_TOO_LARGE,
                    "blob of %zu bytes exceeds the size cap of %zu bytes",
                    (size_t)size, max_size);
        return NULL;
    }

    /* Find the terminator; every entry before it must be a full entry. */
    for (;;) {
        size_t off = (size_t)n * SEVSNP_CERT_ENTRY_SIZE;

        if (off + SEVSNP_CERT_ENTRY_SIZE > size) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_NO_TERMINATOR,
                        "no terminating all-zero entry within the %zu-byte "
                        "blob (table would be entry %u at offset %zu)",
                        (size_t)size, n, off);
            return NULL;
        }
        if (all_zero(data + off, SEVSNP_CERT_ENTRY_SIZE)) {
            break;
        }
        n++;
    }
    table_end = ((size_t)n + 1) * SEVSNP_CERT_ENTRY_SIZE;

    entries = g_new0(SevsnpCertEntry, MAX(n, 1));
    sorted = g_new0(const SevsnpCertEntry *, MAX(n, 1));
    for (guint i = 0; i < n; i++) {
        const uint8_t *p = data + (size_t)i * SEVSNP_CERT_ENTRY_SIZE;
        SevsnpCertEntry *e = &entries[i];

        memcpy(e->guid, p, SEVSNP_GUID_SIZE);
        e->offset = load_le32(p + 16);
        e->length = load_le32(p + 20);
        e->type = sevsnp_cert_type_from_guid(e->guid);
        sorted[i] = e;

        if (all_zero(e->guid, SEVSNP_GUID_SIZE)) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_ZERO_GUID,
                        "entry %u has an all-zero GUID but offset %u "
                        "length %u", i, e->offset, e->length);
            return NULL;
        }
        if (e->length == 0) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_EMPTY_ENTRY,
                        "entry %u (%s) has length 0", i,
                        entry_label(e, label));
            return NULL;
        }
        if (e->offset < table_end ||
            (uint64_t)e->offset + e->length > size) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_OUT_OF_BOUNDS,
                        "entry %u (%s): data [%u, %" G_GUINT64_FORMAT ") is "
                        "not inside [%zu, %zu), after the table and within "
                        "the blob", i, entry_label(e, label), e->offset,
                        (uint64_t)e->offset + e->length, table_end,
                        (size_t)size);
            return NULL;
        }
        for (guint j = 0; j < i; j++) {
            if (memcmp(entries[j].guid, e->guid, SEVSNP_GUID_SIZE) == 0) {
                g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_DUPLICATE,
                            "entry %u (%s) repeats the GUID of entry %u", i,
                            entry_label(e, label), j);
                return NULL;
            }
        }
    }

    /* Overlaps, and bytes that no entry owns. */
    qsort(sorted, n, sizeof(*sorted), cmp_by_offset);
    {
        size_t pos = table_end;

        for (guint k = 0; k < n; k++) {
            const SevsnpCertEntry *e = sorted[k];

            if (e->offset < pos && k > 0) {
                const SevsnpCertEntry *prev = sorted[k - 1];
                g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_OVERLAP,
                            "entry %u (%s) at [%u, %" G_GUINT64_FORMAT
                            ") overlaps entry %u (%s) at [%u, %"
                            G_GUINT64_FORMAT ")",
                            (guint)(e - entries), entry_label(e, label),
                            e->offset, (uint64_t)e->offset + e->length,
                            (guint)(prev - entries), entry_label(prev, label2),
                            prev->offset,
                            (uint64_t)prev->offset + prev->length);
                return NULL;
            }
            if (!all_zero(data + pos, e->offset - pos)) {
                g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_STRAY_DATA,
                            "non-zero bytes in [%zu, %u) belong to no entry",
                            pos, e->offset);
                return NULL;
            }
            pos = (size_t)e->offset + e->length;
        }
        if (!all_zero(data + pos, size - pos)) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_STRAY_DATA,
                        "non-zero bytes in [%zu, %zu) belong to no entry",
                        pos, (size_t)size);
            return NULL;
        }
    }

    t = g_new0(SevsnpCertTable, 1);
    t->refcount = 1;
    t->blob = g_bytes_ref(blob);
    t->n_entries = n;
    t->entries = g_steal_pointer(&entries);

    /* not in QEMU's copy: begin */
#ifdef SEVSNP_HAVE_X509
    /*
     * The standalone library also requires each entry to hold what its
     * GUID says: a certificate, a CRL, one DER object.
     */
    if (!sevsnp_cert_table_check_entries(t, err)) {
        sevsnp_cert_table_unref(t);
        return NULL;
    }
#endif
    /* not in QEMU's copy: end */
    return t;
}

SevsnpCertTable *sevsnp_cert_table_ref(SevsnpCertTable *table)
{
    g_atomic_int_inc(&table->refcount);
    return table;
}

void sevsnp_cert_table_unref(SevsnpCertTable *table)
{
    if (table && g_atomic_int_dec_and_test(&table->refcount)) {
        g_bytes_unref(table->blob);
        g_free(table->entries);
        g_free(table);
    }
}

GBytes *sevsnp_cert_table_get_blob(const SevsnpCertTable *table)
{
    return table->blob;
}

guint sevsnp_cert_table_n_entries(const SevsnpCertTable *table)
{
    return table->n_entries;
}

const SevsnpCertEntry *sevsnp_cert_table_entry(const SevsnpCertTable *table,
                                               guint i)
{
    g_return_val_if_fail(i < table->n_entries, NULL);
    return &table->entries[i];
}

GBytes *sevsnp_cert_table_entry_data(const SevsnpCertTable *table, guint i)
{
    const SevsnpCertEntry *e = sevsnp_cert_table_entry(table, i);

    g_return_val_if_fail(e, NULL);
    return g_bytes_new_from_bytes(table->blob, e->offset, e->length);
}

const SevsnpCertEntry *sevsnp_cert_table_find(const SevsnpCertTable *table,
                                              SevsnpCertType type)
{
    for (guint i = 0; i < table->n_entries; i++) {
        if (table->entries[i].type == type) {
            return &table->entries[i];
        }
    }
    return NULL;
}

GBytes *sevsnp_cert_table_empty_blob(void)
{
    static const uint8_t zero[SEVSNP_CERT_ENTRY_SIZE];

    return g_bytes_new_static(zero, sizeof(zero));
}

GBytes *sevsnp_cert_table_build(const SevsnpCertInput *inputs, guint n,
                                GError **err)
{
    size_t table_end = ((size_t)n + 1) * SEVSNP_CERT_ENTRY_SIZE;
    size_t total = table_end;
    g_autoptr(GByteArray) out = NULL;
    g_autoptr(GBytes) blob = NULL;
    SevsnpCertTable *check;

    for (guint i = 0; i < n; i++) {
        for (guint j = 0; j < i; j++) {
            if (memcmp(inputs[i].guid, inputs[j].guid,
                       SEVSNP_GUID_SIZE) == 0) {
                char guid[37];
                sevsnp_guid_unparse(inputs[i].guid, guid);
                g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_DUPLICATE,
                            "input %u repeats the GUID %s (%s) of input %u",
                            i, guid, sevsnp_cert_type_name(
                                sevsnp_cert_type_from_guid(inputs[i].guid)),
                            j);
                return NULL;
            }
        }
        total += g_bytes_get_size(inputs[i].der);
        if (total > UINT32_MAX) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_TOO_LARGE,
                        "inputs exceed 4 GiB");
            return NULL;
        }
    }

    out = g_byte_array_sized_new(total);
    g_byte_array_set_size(out, table_end);
    memset(out->data, 0, table_end);
    for (guint i = 0; i < n; i++) {
        uint8_t *e = out->data + (size_t)i * SEVSNP_CERT_ENTRY_SIZE;
        gsize len;
        const uint8_t *d = g_bytes_get_data(inputs[i].der, &len);
        uint32_t off_le = GUINT32_TO_LE((uint32_t)out->len);
        uint32_t len_le = GUINT32_TO_LE((uint32_t)len);

        memcpy(e, inputs[i].guid, SEVSNP_GUID_SIZE);
        memcpy(e + 16, &off_le, 4);
        memcpy(e + 20, &len_le, 4);
        g_byte_array_append(out, d, len);
    }
    blob = g_byte_array_free_to_bytes(g_steal_pointer(&out));

    check = sevsnp_cert_table_parse(blob, total, err);
    if (!check) {
        return NULL;
    }
    sevsnp_cert_table_unref(check);
    return g_steal_pointer(&blob);
}
