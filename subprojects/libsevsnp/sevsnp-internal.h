/*
 * libsevsnp: declarations shared between the library's files
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_INTERNAL_H
#define SEVSNP_INTERNAL_H

#include "libsevsnp.h"

/* Stores are reference-counted; sevsnp_cert_store_free() drops one. */
SevSnpCertStore *sevsnp_cert_store_ref(SevSnpCertStore *store);

#endif
