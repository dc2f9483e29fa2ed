/*
 * SEV-SNP per-guest state: the certificate service and the memory view
 * of one sev-snp-guest, side by side
 *
 * sev-snp-guest owns one SevSnpVm.  It holds the certificate service
 * (sev-snp-certs.c) and the guest's memory view (hw/i386/sev-snp-memory.c)
 * as peers: neither creates nor reaches into the other.  What the
 * certificate writer needs of guest memory (is the buffer shared RAM,
 * write it with the pages held shared) is given to it here, as
 * libsevsnp's SevsnpGuestMemOps.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_SEV_SNP_VM_H
#define I386_SEV_SNP_VM_H

#include "qom/object.h"

typedef struct SevSnpVm SevSnpVm;
typedef struct SevSnpCerts SevSnpCerts;
typedef struct SevSnpMemory SevSnpMemory;

/*
 * From sev-snp-guest's class_init: the certs-* properties, the
 * UserCreatable completion, the memory-fault class hook.
 */
void sev_snp_vm_class_init(ObjectClass *oc);

/* From sev-snp-guest's instance_init and instance_finalize. */
SevSnpVm *sev_snp_vm_new(Object *obj);

/*
 * Apply -global sev-snp-guest.* to @obj; instance_init calls it once the
 * object's SevSnpVm is in place.
 */
void sev_snp_vm_apply_globals(Object *obj);

void sev_snp_vm_free(SevSnpVm *vm);

/* From sev-snp-guest's KVM initialisation, before any vCPU exists. */
int sev_snp_vm_kvm_init(SevSnpVm *vm, int sev_fd, Error **errp);

SevSnpCerts *sev_snp_vm_certs(SevSnpVm *vm);
SevSnpMemory *sev_snp_vm_memory(SevSnpVm *vm);
Object *sev_snp_vm_object(SevSnpVm *vm);

/* The machine's sev-snp-guest when it is its confidential guest support. */
SevSnpVm *sev_snp_vm_machine(void);

/*
 * The sev-snp-guest @id (optional when exactly one exists), once created,
 * for QMP; else NULL with the reason in @errp.
 */
SevSnpVm *sev_snp_vm_find(const char *id, Error **errp);


/* Provided by sev.c: the SevSnpVm of a sev-snp-guest object, else NULL. */
SevSnpVm *sev_snp_guest_get_vm(Object *obj);

#endif
