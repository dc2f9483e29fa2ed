/*
 * SEV-SNP shared/private conversion exits: KVM_HC_MAP_GPA_RANGE and
 * KVM_EXIT_MEMORY_FAULT of an SNP guest
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_SEV_SNP_CONVERT_H
#define I386_SEV_SNP_CONVERT_H

#include "sev-snp-vm.h"

/*
 * KVM_EXIT_MEMORY_FAULT of guest @vm on vCPU @cpu_index: returns 0 to
 * re-enter the guest, EXCP_INTERRUPT when the VM is stopping (as a guest
 * error) because the fault cannot be satisfied.
 */
int sev_snp_convert_memory_fault(SevSnpVm *vm, int cpu_index, uint64_t gpa,
                                 uint64_t size, uint64_t flags);

/*
 * The qtest entry points (sev_snp_vm_qtest_command()): a
 * KVM_HC_MAP_GPA_RANGE exit of vCPU @cpu (its reply: the hypercall's
 * ret), the conversion made to fail on the piece holding @fail_at if
 * @has_fail_at; a KVM_EXIT_MEMORY_FAULT exit (its reply: "converted" or
 * "panicked").
 */
char *sev_snp_convert_qtest_map_gpa_range(SevSnpVm *vm, int cpu,
                                          uint64_t gpa, uint64_t npages,
                                          bool private, bool has_fail_at,
                                          uint64_t fail_at, Error **errp);
char *sev_snp_convert_qtest_memory_fault(SevSnpVm *vm, int cpu, uint64_t gpa,
                                         uint64_t size, bool private);

#endif
