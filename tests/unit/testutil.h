/*
 * Helpers shared by the libsevsnp unit tests
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_TESTUTIL_H
#define SEVSNP_TESTUTIL_H

#include <openssl/x509.h>

#include "libsevsnp.h"

/* A generated chain: ARK (self-signed) -> ASK -> VCEK, DER each. */
typedef struct TestChain {
    GBytes *ark, *ask, *vcek, *crl;
} TestChain;

/*
 * Generate a chain whose certificates carry the CN prefix @tag and are
 * valid from @not_before_days to @not_after_days relative to now.
 */
TestChain *test_chain_new(const char *tag, long not_before_days,
                          long not_after_days);
void test_chain_free(TestChain *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestChain, test_chain_free)

/* @x's DER encoding (OpenSSL's i2d_X509(); struct x509_st is X509). */
GBytes *test_x509_der(struct x509_st *x);

/* A blob of the chain's ARK, ASK and VCEK. */
GBytes *test_chain_blob(const TestChain *c);

/* The real AMD Milan certificates of tests/data, as DER. */
GBytes *test_milan(SevsnpCertType type);
GBytes *test_genoa(SevsnpCertType type);
GBytes *test_milan_blob(void);

/* Read a file of tests/data. */
GBytes *test_data(const char *name);

/* Write @blob to a new file in a fresh temporary directory. */
char *test_write_tmp(GBytes *blob, const char *name);

/* Rewrite @path in place (same inode) with @blob. */
void test_rewrite_in_place(const char *path, GBytes *blob);

#endif
