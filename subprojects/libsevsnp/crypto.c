/*
 * libsevsnp: which crypto backend the library uses
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "sevsnp-crypto.h"

#define DEFAULT_CRYPTO (&sevsnp_crypto_openssl)

static const SevsnpCrypto *current;

const SevsnpCrypto *sevsnp_crypto(void)
{
    const SevsnpCrypto *c = g_atomic_pointer_get(&current);

    return c ? c : DEFAULT_CRYPTO;
}

void sevsnp_crypto_set(const SevsnpCrypto *crypto)
{
    g_atomic_pointer_set(&current, crypto);
}
