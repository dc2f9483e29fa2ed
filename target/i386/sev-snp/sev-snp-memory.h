/*
 * SEV-SNP shared/private conversions: QEMU glue around the guest's
 * page state (sev-snp-pages.h)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_SEV_SNP_MEMORY_H
#define I386_SEV_SNP_MEMORY_H

#include "qom/object.h"
#include "sev-snp-pages.h"

typedef struct SevSnpMemory SevSnpMemory;
struct kvm_run;

/* Per-object state of a sev-snp-guest. */
SevSnpMemory *sev_snp_memory_new(Object *obj);
void sev_snp_memory_free(SevSnpMemory *m);

/*
 * The object is complete: record guest RAM once the machine is built
 * (all pages private, as KVM sets guest_memfd memory at launch).
 */
void sev_snp_memory_realize(SevSnpMemory *m);

/* From the object's KVM initialisation: take KVM_EXIT_MEMORY_FAULT. */
void sev_snp_memory_kvm_init(SevSnpMemory *m);

/* The guest's page state, or NULL before the machine is built. */
SevSnpPages *sev_snp_memory_pages(SevSnpMemory *m);

/*
 * KVM_HC_MAP_GPA_RANGE of the vCPU thread's guest: when the machine is an
 * SNP guest, convert, answer in run->hypercall.ret and return true (the
 * VM keeps running whatever the outcome); false leaves the exit to QEMU.
 */
bool sev_snp_memory_handle_map_gpa_range(struct kvm_run *run);

#endif
