/*
 * Comparing libsevsnp's crypto backends on one blob
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "backendcmp.h"

BackendResult *backend_result_new(const SevsnpCrypto *crypto, GBytes *blob,
                                  size_t max_size, int64_t at)
{
    BackendResult *r = g_new0(BackendResult, 1);
    GError *err = NULL;

    sevsnp_crypto_set(crypto);
    r->backend = crypto->name;
    r->infos = g_ptr_array_new_with_free_func(
                   (GDestroyNotify)sevsnp_cert_info_free);
    r->table = sevsnp_cert_table_parse(blob, max_size, &err);
    if (!r->table) {
        r->code = err->code;
        r->message = g_strdup(err->message);
        g_error_free(err);
    } else {
        for (guint i = 0; i < sevsnp_cert_table_n_entries(r->table); i++) {
            g_ptr_array_add(r->infos, sevsnp_cert_info_new(r->table, i));
        }
        r->status = sevsnp_cert_table_verify(r->table, at, &r->why);
    }
    sevsnp_crypto_set(NULL);
    return r;
}

void backend_result_free(BackendResult *r)
{
    if (r) {
        if (r->table) {
            sevsnp_cert_table_unref(r->table);
        }
        g_free(r->message);
        g_ptr_array_unref(r->infos);
        g_free(r->why);
        g_free(r);
    }
}

char *backend_reason_class(const char *why)
{
    const char *p = why ? strstr(why, " does not verify to ") : NULL;
    const char *colon = p ? strstr(p, "): ") : NULL;

    if (!why) {
        return NULL;
    }
    return colon ? g_strndup(why, colon + 1 - why) : g_strdup(why);
}

static bool str_eq(const char *a, const char *b)
{
    return g_strcmp0(a, b) == 0;
}

#define DIFF_STR(field)                                                     \
    if (!str_eq(x->field, y->field)) {                                      \
        return g_strdup_printf("entry %u " #field ": %s '%s', %s '%s'", i,  \
                               a->backend, x->field, b->backend, y->field); \
    }
#define DIFF_INT(field)                                                     \
    if (x->field != y->field) {                                             \
        return g_strdup_printf("entry %u " #field ": %s %lld, %s %lld", i,  \
                               a->backend, (long long)x->field, b->backend, \
                               (long long)y->field);                        \
    }

static char *info_diff(const BackendResult *a, const BackendResult *b,
                       guint i)
{
    const SevsnpCertInfo *x = g_ptr_array_index(a->infos, i);
    const SevsnpCertInfo *y = g_ptr_array_index(b->infos, i);

    DIFF_INT(type);
    DIFF_STR(guid);
    DIFF_INT(offset);
    DIFF_INT(length);
    DIFF_INT(is_certificate);
    DIFF_INT(is_crl);
    DIFF_STR(subject);
    DIFF_STR(issuer);
    DIFF_STR(serial);
    DIFF_STR(not_before);
    DIFF_STR(not_after);
    DIFF_INT(not_before_unix);
    DIFF_INT(not_after_unix);
    DIFF_STR(key_type);
    DIFF_STR(fingerprint);
    DIFF_STR(common_name);
    return NULL;
}

char *backend_result_diff(const BackendResult *a, const BackendResult *b)
{
    g_autofree char *ca = NULL, *cb = NULL;

    if (!a->table != !b->table) {
        return g_strdup_printf("parse: %s %s, %s %s", a->backend,
                               a->table ? "accepts" : a->message, b->backend,
                               b->table ? "accepts" : b->message);
    }
    if (!a->table) {
        if (a->code != b->code || !str_eq(a->message, b->message)) {
            return g_strdup_printf("parse error: %s %d '%s', %s %d '%s'",
                                   a->backend, a->code, a->message,
                                   b->backend, b->code, b->message);
        }
        return NULL;
    }
    if (a->infos->len != b->infos->len) {
        return g_strdup_printf("entries: %s %u, %s %u", a->backend,
                               a->infos->len, b->backend, b->infos->len);
    }
    for (guint i = 0; i < a->infos->len; i++) {
        char *d = info_diff(a, b, i);

        if (d) {
            return d;
        }
    }
    ca = backend_reason_class(a->why);
    cb = backend_reason_class(b->why);
    if (a->status != b->status || !str_eq(ca, cb)) {
        return g_strdup_printf("chain: %s %s '%s', %s %s '%s'", a->backend,
                               sevsnp_chain_status_name(a->status), a->why,
                               b->backend,
                               sevsnp_chain_status_name(b->status), b->why);
    }
    return NULL;
}
