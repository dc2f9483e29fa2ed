/*
 * The SNP host simulator's guest interface: how the test guest reaches
 * the simulated kernel and firmware.
 *
 * This host's KVM never delivers a guest's VMGEXIT (there is no SEV-SNP
 * hardware) and does not even deliver a vmcall of KVM_HC_MAP_GPA_RANGE to
 * userspace.  The test guest therefore rings a doorbell, an OUT to an I/O
 * port nothing claims, and the simulator (interposed at the KVM_RUN ioctl)
 * turns it into exactly the exit a real SNP host kernel produces for the
 * corresponding GHCB request, and completes it on the next KVM_RUN as that
 * kernel does.  Only the transport is invented; every exit QEMU sees, and
 * every check of what QEMU answers, is the kernel's.
 *
 * Shared by the simulator and the test guest (both C): #defines and
 * plain structs.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SNP_HOST_ABI_H
#define SNP_HOST_ABI_H

/*
 * The doorbell: "outl %eax, %dx" with DX = SNP_SIM_DOORBELL_PORT and
 * EAX = one of SNP_SIM_OP_*; the arguments are in the 64-bit registers
 * named below (the guest runs in long mode), the results come back in RAX
 * (and RBX where said) when the vCPU next runs guest code.  An unknown op
 * gets RAX = SNP_SIM_RET_BAD_OP.  RDX holds the port, so the arguments
 * are RBX, RCX, RDI, RSI (in that order).
 */
#define SNP_SIM_DOORBELL_PORT       0x0ff0

/*
 * Page state change (GHCB PSC / MSR protocol), delivered to QEMU as
 * KVM_EXIT_HYPERCALL, nr KVM_HC_MAP_GPA_RANGE, as KVM does.
 *   in:  RBX = gpa, RCX = number of 4 KiB pages, RDI = attributes
 *        (bit 4 KVM_MAP_GPA_RANGE_ENCRYPTED: to private; bits 0-1 the
 *        page-size hint)
 *   out: RAX = run->hypercall.ret as QEMU left it (0 = done).
 * KVM itself refuses, without an exit, what kvm_emulate_hypercall()
 * refuses: RAX = -KVM_EINVAL (-22) for an unaligned gpa, zero pages or a
 * range that wraps; RAX = -KVM_ENOSYS (-1000) when QEMU did not enable
 * KVM_CAP_EXIT_HYPERCALL for it.
 */
#define SNP_SIM_OP_MAP_GPA_RANGE    1

/*
 * SNP Extended Guest Request (SVM_VMGEXIT_EXT_GUEST_REQUEST) for an
 * attestation report (MSG_REPORT_REQ) with its certificates.
 *   in:  RBX = gpa of the certificate buffer, RCX = its size in pages,
 *        RDI = gpa of the request page (struct snp_sim_report_req),
 *        RSI = gpa of the response page (struct snp_sim_report_resp).
 *   out: RAX = SW_EXITINFO2 as the guest sees it:
 *        (VMM error << 32) | firmware error, VMM errors
 *        SNP_SIM_VMM_ERR_*; RBX = page count (the required one after
 *        INVALID_LEN).
 * A request KVM refuses outright (a certificate buffer gpa that is not
 * page aligned) gets, on mainline kernels, the GHCB's SW_EXITINFO1 = 2:
 *        RAX = SNP_SIM_GHCB_ERR | SNP_SIM_GHCB_ERR_INVALID_INPUT;
 * on legacy kernels the VMM error SNP_SIM_VMM_ERR_GENERIC.
 * On a mainline host with KVM_SEV_SNP_ENABLE_REQ_CERTS this is
 * KVM_EXIT_SNP_REQ_CERTS, on the legacy host KVM_EXIT_VMGEXIT
 * (REQ_CERTS), on a host without either KVM itself writes an empty
 * table (zeroes the 24-byte terminator at the buffer's start, when RCX
 * is not 0) and asks the firmware.
 */
#define SNP_SIM_OP_EXT_GUEST_REQ    2
#define SNP_SIM_GHCB_ERR            (1ULL << 63)
#define SNP_SIM_GHCB_ERR_INVALID_INPUT 5

/*
 * A guest access to [RBX, RBX + RCX) as private (RDI bit 3, the
 * KVM_MEMORY_EXIT_FLAG_PRIVATE value) or shared (RDI = 0).  When the
 * simulator's page attributes disagree, KVM_RUN fails with EFAULT and
 * KVM_EXIT_MEMORY_FAULT {flags, gpa, size} of the first page in the wrong
 * state, as KVM does; the access is retried on every KVM_RUN until the
 * attributes agree (or QEMU stops the VM).
 *   out: RAX = 0 once the access went through.
 */
#define SNP_SIM_OP_ACCESS           3

/*
 * Hand one (report, certificates) pair, as the guest holds it in its
 * memory after a successful request, to the host-side recorder: the
 * simulator writes N.report (the report, 1184 bytes) and N.certs (the
 * certificate table, the whole buffer) into $SNP_HOST_SIM_PAIRS.
 *   in:  RBX = gpa of the certificate buffer, RCX = its size in pages,
 *        RDI = gpa of the response page.
 *   out: RAX = N (>= 0), or a negative errno.
 */
#define SNP_SIM_OP_RECORD           4

/*
 * An updater takes the blob's exclusive locks (OFD write lock and
 * flock(LOCK_EX), on a file description of its own, as snp-certs does)
 * and holds them for RBX milliseconds from a thread of the simulator.
 *   out: RAX = 0 once the locks are held, or a negative errno.
 */
#define SNP_SIM_OP_HOLD_LOCK        5

/* out: RAX = the host's CLOCK_MONOTONIC in milliseconds. */
#define SNP_SIM_OP_TIME_MS          6

#define SNP_SIM_RET_BAD_OP          0xffffffffffffffffULL

/* The VMM half of SW_EXITINFO2 (GHCB 2.0; Linux's SNP_GUEST_VMM_ERR_*). */
#define SNP_SIM_VMM_ERR_SHIFT       32
#define SNP_SIM_VMM_ERR_INVALID_LEN 1
#define SNP_SIM_VMM_ERR_BUSY        2
#define SNP_SIM_VMM_ERR_GENERIC     0xffffffffU

/* The scenario: -fw_cfg name=SNP_SIM_FW_CFG_SCENARIO,string=NAME[:ARGS] */
#define SNP_SIM_FW_CFG_SCENARIO     "opt/qemu-snp/scenario"

#define SNP_SIM_REPORT_SIZE         1184
#define SNP_SIM_REPORT_SIG_OFFSET   0x2a0

#include <stdint.h>

/* MSG_REPORT_REQ (Linux's struct snp_report_req), in the request page. */
struct snp_sim_report_req {
    uint8_t user_data[64];
    uint32_t vmpl;
    uint32_t key_sel;
    uint8_t rsvd[24];
};

/* MSG_REPORT_RSP, in the response page (SEV-SNP ABI, table 25). */
struct snp_sim_report_resp {
    uint32_t status;            /* 0 = success */
    uint32_t report_size;       /* 1184 */
    uint8_t rsvd[24];
    uint8_t report[SNP_SIM_REPORT_SIZE];
};

#endif /* SNP_HOST_ABI_H */
