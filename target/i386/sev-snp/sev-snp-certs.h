/*
 * SEV-SNP certificate service: QEMU glue around libsevsnp
 *
 * One service per sev-snp-guest, held by its per-guest state
 * (sev-snp-vm.h) beside the guest's memory view; the vCPU loop's entry
 * points are declared in target/i386/sev-snp.h.
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

/* Add the certs-* properties to the sev-snp-guest class. */
void sev_snp_certs_class_init(ObjectClass *oc);

/*
 * The service of sev-snp-guest @obj, writing certificate tables into
 * guest memory through @mem_ops(@mem_opaque).
 */
SevSnpCerts *sev_snp_certs_new(Object *obj, const SevsnpGuestMemOps *mem_ops,
                               void *mem_opaque);
void sev_snp_certs_free(SevSnpCerts *certs);

/*
 * The object is created: check the blob (a missing or invalid one is an
 * error naming the file) and start the service.
 */
bool sev_snp_certs_realize(SevSnpCerts *certs, Error **errp);

/*
 * From the object's KVM initialisation, before any vCPU exists: detect
 * the kernel ABI and enable KVM_SEV_SNP_ENABLE_REQ_CERTS when serving the
 * mainline ABI.  @sev_fd is the /dev/sev descriptor.
 */
int sev_snp_certs_kvm_init(SevSnpCerts *certs, int sev_fd, Error **errp);

/*
 * The qtest entry points (sev_snp_vm_qtest_command()): a certificate
 * request of vCPU @cpu run as for a KVM exit, completed unless @hold;
 * its reply words ("RET NPAGES IN-FLIGHT GUEST-RESULT").  The completion
 * of a held request.
 */
char *sev_snp_certs_qtest_request(SevSnpCerts *c, int cpu, uint64_t gpa,
                                  uint64_t npages, bool hold, Error **errp);
bool sev_snp_certs_qtest_complete(SevSnpCerts *c, int cpu, Error **errp);

#endif
