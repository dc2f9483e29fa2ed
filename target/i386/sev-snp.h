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
 * Before the vCPU loop's own dispatch: when the exit is a certificate
 * request of ours, handle it, set *@ret (0 to re-enter the guest, -1 for
 * an exit the configured ABI does not know) and return true.
 */
bool sev_snp_handle_exit(CPUState *cpu, struct kvm_run *run, int *ret);

/* After every KVM_RUN of a vCPU thread: finish an armed completion. */
void sev_snp_post_run(CPUState *cpu);

/*
 * KVM_HC_MAP_GPA_RANGE of the vCPU thread's guest: when the machine is an
 * SNP guest, convert, answer in run->hypercall.ret and return true (the
 * VM keeps running whatever the outcome); false leaves the exit to QEMU.
 */
bool sev_snp_handle_map_gpa_range(struct kvm_run *run);

#else

static inline bool sev_snp_handle_exit(CPUState *cpu, struct kvm_run *run,
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
