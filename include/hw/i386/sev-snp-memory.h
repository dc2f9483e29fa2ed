/*
 * SEV-SNP guest memory view: the guest RAM regions, their shared/private
 * bytes and the conversion counters, for QMP and HMP
 *
 * The view starts once the machine is built (all guest RAM private, as
 * KVM sets guest_memfd memory at launch), follows the memory map from
 * then on with a MemoryListener (RAM mapped or unmapped later: PAM,
 * hot-plug), and owns the guest's page state (sev-snp-pages.h).  The
 * conversion exits (target/i386/sev-snp/sev-snp-convert.c) change that
 * state; the certificate writer asks it before writing.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_SEV_SNP_MEMORY_H
#define HW_I386_SEV_SNP_MEMORY_H

#include "qom/object.h"
#include "target/i386/sev-snp/sev-snp-pages.h"

typedef struct SevSnpMemory SevSnpMemory;

/* The memory view of sev-snp-guest @obj. */
SevSnpMemory *sev_snp_memory_new(Object *obj);
void sev_snp_memory_free(SevSnpMemory *m);

/* The object is created: start once the machine is built. */
void sev_snp_memory_realize(SevSnpMemory *m);

/* The guest's page state, or NULL before the machine is built. */
SevSnpPages *sev_snp_memory_pages(SevSnpMemory *m);

/* Is the machine a KVM SNP guest (not qtest's simulated kernel)? */
bool sev_snp_memory_is_kvm(SevSnpMemory *m);

/* Count a conversion of @origin refused before the page state exists. */
void sev_snp_memory_reject_early(SevSnpMemory *m, SevsnpConvertOrigin origin,
                                 const char *msg);

#endif
