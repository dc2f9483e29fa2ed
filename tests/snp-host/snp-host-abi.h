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
 *        RDI = gpa of the request page (struct snp_sim_report_msg),
 *        RSI = gpa of the response page (struct snp_sim_report_rsp_msg).
 *   out: RAX = SW_EXITINFO2 as the guest sees it:
 *        (VMM error << 32) | firmware error, VMM errors
 *        SNP_SIM_VMM_ERR_*; RBX = page count (the required one after
 *        INVALID_LEN); RCX = SW_EXITINFO1: 0.
 * A request KVM refuses outright (a certificate buffer gpa that is not
 * page aligned) gets, on mainline kernels, the GHCB error
 *        RCX = SW_EXITINFO1 = SNP_SIM_GHCB_EXITINFO1_ERR (2),
 *        RAX = SW_EXITINFO2 = SNP_SIM_GHCB_ERR_INVALID_INPUT;
 * on legacy kernels the VMM error SNP_SIM_VMM_ERR_GENERIC.
 * On a mainline host with KVM_SEV_SNP_ENABLE_REQ_CERTS this is
 * KVM_EXIT_SNP_REQ_CERTS, on the legacy host KVM_EXIT_VMGEXIT
 * (REQ_CERTS), on a host without either KVM itself writes an empty
 * table (zeroes the 24-byte terminator at the buffer's start, when RCX
 * is not 0) and asks the firmware.
 */
#define SNP_SIM_OP_EXT_GUEST_REQ    2
#define SNP_SIM_GHCB_EXITINFO1_ERR  2
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
 * certificate table, the whole buffer; empty when RCX is 0: the guest got
 * no certificates) into $SNP_HOST_SIM_PAIRS.
 *   in:  RBX = gpa of the certificate buffer, RCX = its size in pages,
 *        RDI = gpa of the MSG_REPORT_RSP payload (struct
 *        snp_sim_report_resp: the response page + SNP_SIM_MSG_HDR_SIZE).
 *   out: RAX = N (>= 0), or a negative errno.
 */
#define SNP_SIM_OP_RECORD           4

/*
 * An updater takes the blob's exclusive locks (OFD write lock and
 * flock(LOCK_EX), on a file description of its own, as snp-certs does)
 * and holds them for RBX milliseconds (at most SNP_SIM_HOLD_MAX_MS) from
 * a thread of the simulator.
 *   out: RAX = 0 once the locks are held, or a negative errno.
 */
#define SNP_SIM_OP_HOLD_LOCK        5
#define SNP_SIM_HOLD_MAX_MS         120000

/* out: RAX = the host's CLOCK_MONOTONIC in milliseconds. */
#define SNP_SIM_OP_TIME_MS          6

/*
 * SNP Guest Request (SVM_VMGEXIT_GUEST_REQUEST): the plain request,
 * without a certificate buffer.  KVM sends it straight to the firmware on
 * every kernel, without asking the VMM (snp_handle_guest_req()).  Linux
 * re-issues an extended request that got INVALID_LEN this way, so that the
 * message sequence number stays in step (__handle_guest_request()).
 *   in:  RDI = gpa of the request page, RSI = gpa of the response page.
 *   out: RAX = SW_EXITINFO2, RCX = SW_EXITINFO1 (0), as for
 *        SNP_SIM_OP_EXT_GUEST_REQ.
 */
#define SNP_SIM_OP_GUEST_REQ        7

/*
 * A host-side step the scenario runner performs while the guest waits
 * (delete the blob, replace it, change QEMU's settings over QMP, ...).
 * The simulator passes "step NAME" to the runner on a pipe
 * ($SNP_HOST_SIM_STEP_FDS = "IN,OUT": the descriptor it reads the
 * runner's answers from, the one it writes requests to) and never blocks
 * a vCPU waiting for the answer, so QEMU can stop or kick the vCPU
 * meanwhile.
 *   start: RBX = gpa of the step's name (NUL-terminated, at most
 *          SNP_SIM_STEP_NAME_MAX bytes with the NUL); RAX = 1 (pending),
 *          or a negative errno (-ENOENT: no runner; -EBUSY: a step is
 *          already pending).
 *   poll:  RBX = 0; waits up to 20 ms for the answer: RAX = 1 (pending),
 *          0 (done), -EIO (the runner could not do it: the reason is in
 *          the simulator's log), or another negative errno.
 */
#define SNP_SIM_OP_HOST_STEP        8
#define SNP_SIM_STEP_NAME_MAX       64

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

/*
 * The guest message header (SEV-SNP firmware ABI, "Message Header
 * Format"; Linux's struct snp_guest_msg_hdr): the request and response
 * pages start with it, the message follows.  Nothing is encrypted here
 * (authtag unused, algo 0 accepted), but the sequence number is what the
 * firmware checks: a message must carry the VMPCK's next sequence
 * number, the response carries it plus one, and a successful exchange
 * advances it by two.  msg_seqno 0 (which real firmware refuses) marks
 * an unsequenced request of the test scenarios that model no particular
 * guest: the simulated firmware serves it without the check.
 */
struct snp_sim_msg_hdr {
    uint8_t authtag[32];
    uint64_t msg_seqno;
    uint8_t rsvd1[8];
    uint8_t algo;
    uint8_t hdr_version;        /* 1 */
    uint16_t hdr_sz;            /* sizeof(struct snp_sim_msg_hdr) */
    uint8_t msg_type;           /* SNP_SIM_MSG_REPORT_REQ / _RSP */
    uint8_t msg_version;        /* 1 */
    uint16_t msg_sz;            /* of the message after the header */
    uint32_t rsvd2;
    uint8_t msg_vmpck;          /* 0-3 */
    uint8_t rsvd3[35];
} __attribute__((packed));

#define SNP_SIM_MSG_HDR_SIZE        0x60
#define SNP_SIM_MSG_HDR_VERSION     1
/* Message types (SEV-SNP firmware ABI, "Message Type Encodings"). */
#define SNP_SIM_MSG_REPORT_REQ      5
#define SNP_SIM_MSG_REPORT_RSP      6

/* MSG_REPORT_REQ (Linux's struct snp_report_req), after the header. */
struct snp_sim_report_req {
    uint8_t user_data[64];
    uint32_t vmpl;
    uint32_t key_sel;
    uint8_t rsvd[24];
};

/* MSG_REPORT_RSP (SEV-SNP ABI, table 25), after the header. */
struct snp_sim_report_resp {
    uint32_t status;            /* 0 = success */
    uint32_t report_size;       /* 1184 */
    uint8_t rsvd[24];
    uint8_t report[SNP_SIM_REPORT_SIZE];
};

/* The request page and the response page. */
struct snp_sim_report_msg {
    struct snp_sim_msg_hdr hdr;
    struct snp_sim_report_req req;
};

struct snp_sim_report_rsp_msg {
    struct snp_sim_msg_hdr hdr;
    struct snp_sim_report_resp resp;
};

#endif /* SNP_HOST_ABI_H */
