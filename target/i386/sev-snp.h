/*
 * QEMU SEV-SNP support of qemu-snp: what the KVM vCPU loop calls
 *
 * Certificate exits (KVM_EXIT_SNP_REQ_CERTS, the legacy KVM_EXIT_VMGEXIT),
 * their completion step, and KVM_HC_MAP_GPA_RANGE of an SNP guest.  As
 * sev.h does, builds without SEV get inline stubs.  KVM_EXIT_MEMORY_FAULT
 * reaches sev-snp-guest through its ConfidentialGuestSupportClass hook.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_SEV_SNP_H
#define I386_SEV_SNP_H

#ifndef CONFIG_USER_ONLY
#include CONFIG_DEVICES /* CONFIG_SEV */
#endif

struct kvm_run;

#if defined(CONFIG_SEV) && !defined(CONFIG_USER_ONLY)

/*
 * KVM_EXIT_SNP_REQ_CERTS: answer the request; 0 to re-enter the guest,
 * -1 when the machine serves no certificates on that ABI.
 */
int sev_snp_handle_req_certs(CPUState *cpu, struct kvm_run *run);

/*
 * Exit 40, mainline's KVM_EXIT_TDX and the legacy KVM_EXIT_VMGEXIT of
 * AMD's kernels: when the machine is an SNP guest, handle it as the
 * latter, set *@ret (0 to re-enter the guest, -1 when the guest does not
 * use that ABI) and return true; false leaves the exit to the caller.
 */
bool sev_snp_handle_vmgexit(CPUState *cpu, struct kvm_run *run, int *ret);

/* After every KVM_RUN of a vCPU thread: finish an armed completion. */
void sev_snp_post_run(CPUState *cpu);

/*
 * KVM_HC_MAP_GPA_RANGE of the vCPU thread's guest: when the machine is an
 * SNP guest, convert, answer in run->hypercall.ret and return true (the
 * VM keeps running whatever the outcome); false leaves the exit to QEMU.
 */
bool sev_snp_handle_map_gpa_range(struct kvm_run *run);

#else

static inline int sev_snp_handle_req_certs(CPUState *cpu,
                                           struct kvm_run *run)
{
    return -1;      /* never sent: only sev-snp-guest enables it */
}

static inline bool sev_snp_handle_vmgexit(CPUState *cpu, struct kvm_run *run,
                                          int *ret)
{
    return false;
}

static inline void sev_snp_post_run(CPUState *cpu)
{
}

static inline bool sev_snp_handle_map_gpa_range(struct kvm_run *run)
{
    return false;
}

#endif

#endif
