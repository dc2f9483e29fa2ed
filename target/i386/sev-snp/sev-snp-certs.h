/*
 * SEV-SNP certificate service: QEMU glue around libsevsnp
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_SEV_SNP_CERTS_H
#define I386_SEV_SNP_CERTS_H

#include "qom/object.h"
#include "libsevsnp.h"

typedef struct SevSnpCerts SevSnpCerts;
struct kvm_run;

/* Add the certs-* properties to the sev-snp-guest class. */
void sev_snp_certs_class_init(ObjectClass *oc);

/* Per-object state, created by the object's instance_init. */
SevSnpCerts *sev_snp_certs_new(Object *obj);
void sev_snp_certs_free(SevSnpCerts *certs);

/*
 * From the object's KVM initialisation, before any vCPU exists: detect
 * the kernel ABI and enable KVM_SEV_SNP_ENABLE_REQ_CERTS when serving the
 * mainline ABI.  @sev_fd is the /dev/sev descriptor.
 */
int sev_snp_certs_kvm_init(SevSnpCerts *certs, int sev_fd, Error **errp);

/*
 * The vCPU loop's handler for KVM_EXIT_SNP_REQ_CERTS and the legacy
 * KVM_EXIT_VMGEXIT: returns 0 to re-enter the guest, or -1 for an exit the
 * configured ABI does not know.
 */
int sev_snp_certs_handle_exit(CPUState *cpu, struct kvm_run *run);

/* After every KVM_RUN of a vCPU thread: finish an armed completion. */
void sev_snp_certs_post_run(CPUState *cpu);

/* The object's conversion state (sev-snp-memory.c). */
typedef struct SevSnpMemory SevSnpMemory;
SevSnpMemory *sev_snp_certs_get_memory(SevSnpCerts *certs);

/* The sev-snp-guest @id (optional when exactly one exists), for QMP. */
SevSnpCerts *sev_snp_certs_find(const char *id, Error **errp);

/* The machine's sev-snp-guest when it is its confidential guest support. */
SevSnpCerts *sev_snp_certs_machine(void);

/* Refuse test command @cmd unless under qtest with vCPU @cpu_index. */
bool sev_snp_certs_test_only(const char *cmd, int64_t cpu_index,
                             Error **errp);

/* Provided by sev.c: the certificate state of a sev-snp-guest object. */
SevSnpCerts *sev_snp_guest_get_certs(Object *obj);

#endif
