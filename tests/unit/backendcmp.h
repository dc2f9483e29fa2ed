/*
 * Comparing libsevsnp's crypto backends on one blob: the unit test
 * test-crypto-backends and the fuzzer fuzz-certtable share this.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_BACKENDCMP_H
#define SEVSNP_BACKENDCMP_H

#include "libsevsnp.h"
#include "sevsnp-crypto.h"

/* What one backend makes of one blob. */
typedef struct BackendResult {
    const char *backend;
    SevsnpCertTable *table;     /* NULL: parsing failed */
    int code;                   /* the SEVSNP_ERROR code of the failure */
    char *message;
    GPtrArray *infos;           /* SevsnpCertInfo *, one per entry */
    SevsnpChainStatus status;
    char *why;
} BackendResult;

/*
 * Parse @blob (size cap @max_size) with @crypto, describe every entry
 * and verify the chain at @at; the library's backend is the build's
 * default again afterwards.
 */
BackendResult *backend_result_new(const SevsnpCrypto *crypto, GBytes *blob,
                                  size_t max_size, int64_t at);
void backend_result_free(BackendResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BackendResult, backend_result_free)

/*
 * The reason's class: the reason itself, except that the library's own
 * words after "... does not verify to ARK (...): " are left out (each
 * library has its own).
 */
char *backend_reason_class(const char *why);

/*
 * NULL when @a and @b agree on everything: the parse outcome, its error
 * code and message, every entry and every field of its description, the
 * chain status and the reason's class.  Else what differs first.
 */
char *backend_result_diff(const BackendResult *a, const BackendResult *b);

#endif
