/*
 * ksim: a faithful simulation of the kernel side of SNP certificate
 * requests (contract sections 1 and 6), with a fake guest memory whose
 * pages can be shared RAM, private RAM, MMIO or holes.
 *
 * The simulator produces the exits, checks what userspace left in the run
 * structure exactly as KVM does (a reserved mainline ret makes KVM_RUN
 * fail with -EINVAL), performs the firmware request and the completion
 * step (-EINTR after immediate_exit; the legacy DONE exit), and records
 * what the guest saw.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_KSIM_H
#define SEVSNP_KSIM_H

#include "libsevsnp.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* What KVM checks (contract section 6); also used by QEMU's qtest     */
/* commands                                                             */
/* ------------------------------------------------------------------ */

/**
 * SevsnpGuestResult:
 *
 * What the guest sees, as reported by the (simulated) kernel.
 */
typedef enum {
    SEVSNP_GUEST_OK,            /* firmware report + certificates */
    SEVSNP_GUEST_INVALID_LEN,   /* SNP_GUEST_VMM_ERR_INVALID_LEN */
    SEVSNP_GUEST_BUSY,          /* SNP_GUEST_VMM_ERR_BUSY */
    SEVSNP_GUEST_GENERIC,       /* SNP_GUEST_VMM_ERR_GENERIC */
} SevsnpGuestResult;

/**
 * sevsnp_sim_check_req_certs_ret:
 * @ex: the run union member as userspace left it
 * @result: what the guest sees
 * @guest_npages: the page count the guest sees in RBX for INVALID_LEN
 *
 * Check what userspace left in ret as KVM does when it next runs the
 * vCPU (mainline ABI), and translate it to what the guest sees.
 *
 * Returns: false for a reserved ret value (KVM_RUN fails with -EINVAL).
 */
bool sevsnp_sim_check_req_certs_ret(
    const struct sevsnp_kvm_exit_snp_req_certs *ex,
    SevsnpGuestResult *result, uint64_t *guest_npages);

/**
 * sevsnp_sim_check_vmgexit_ret:
 * @ex: the run union member as userspace left it
 * @result: what the guest sees
 * @guest_npages: the page count the guest sees in RBX for INVALID_LEN
 *
 * The same for the legacy ABI: any non-zero value other than 1 and 2 is
 * a generic error, as in the kernel.
 *
 * Returns: true (the legacy kernel accepts every value).
 */
bool sevsnp_sim_check_vmgexit_ret(const struct sevsnp_kvm_user_vmgexit *ex,
                                  SevsnpGuestResult *result,
                                  uint64_t *guest_npages);

/**
 * sevsnp_guest_result_name:
 * @r: a guest result
 *
 * Returns: "ok", "invalid-len", "busy" or "generic".
 */
const char *sevsnp_guest_result_name(SevsnpGuestResult r);

/**
 * sevsnp_sim_set_memory_attributes:
 * @address: guest physical address
 * @size: bytes
 * @attributes: KVM memory attributes (only PRIVATE is supported)
 * @flags: must be 0
 *
 * KVM_SET_MEMORY_ATTRIBUTES as the kernel checks it, used in place of
 * the ioctl where there is no SNP-capable KVM (qtest).
 *
 * Returns: 0, or -EINVAL for flags, unsupported attributes, a size of 0,
 * an unaligned address or size, or a range that wraps.
 */
int sevsnp_sim_set_memory_attributes(uint64_t address, uint64_t size,
                                     uint64_t attributes, uint64_t flags);

typedef enum {
    KSIM_PAGE_SHARED,
    KSIM_PAGE_PRIVATE,
    KSIM_PAGE_MMIO,
} KSimPageKind;

/* Fake guest memory: @npages pages from gpa @base. */
typedef struct KSimMem {
    uint64_t base;
    uint64_t npages;
    uint8_t *bytes;
    uint8_t *kind;                  /* KSimPageKind per page */
    GMutex lock;
    uint64_t violations;            /* writes outside shared RAM */
    uint64_t writes;
    /* The extent of the writes since ksim_mem_forget_writes(). */
    uint64_t written_lo, written_end;   /* written_end 0: none */
} KSimMem;

/* Create memory of @npages shared pages at @base, filled with @fill. */
KSimMem *ksim_mem_new(uint64_t base, uint64_t npages, uint8_t fill);
void ksim_mem_free(KSimMem *mem);

/* Mark [gpa, gpa + npages pages) as @kind (clipped to the memory). */
void ksim_mem_set_kind(KSimMem *mem, uint64_t gpa, uint64_t npages,
                       KSimPageKind kind);

/* The guest memory interface of the service, over a KSimMem. */
extern const SevsnpGuestMemOps ksim_mem_ops;

/* Forget the extent of the writes made so far. */
void ksim_mem_forget_writes(KSimMem *mem);

/*
 * Did every write since ksim_mem_forget_writes() fall inside
 * [gpa, gpa+len)?  (True when there was none.)  The cheap form of
 * ksim_mem_untouched_outside(), which compares every byte.
 */
bool ksim_mem_written_within(KSimMem *mem, uint64_t gpa, uint64_t len);

/* Does any byte outside [gpa, gpa+len) differ from @fill? */
bool ksim_mem_untouched_outside(KSimMem *mem, uint64_t gpa, uint64_t len,
                                uint8_t fill);

/* Pointer to guest bytes at @gpa (must be inside the memory). */
uint8_t *ksim_mem_ptr(KSimMem *mem, uint64_t gpa);

/* The exit reason used when the guest ran and came back for nothing. */
#define KSIM_EXIT_GUEST_RAN 5   /* KVM_EXIT_HLT */

/* The state of the kernel's side of one vCPU. */
typedef enum {
    KSIM_IDLE,
    KSIM_REQ_QUEUED,            /* the guest issued it; next KVM_RUN exits */
    KSIM_REQ_PENDING,           /* request exit delivered to userspace */
    KSIM_DONE_PENDING,          /* legacy DONE exit delivered */
} KSimState;

typedef struct KSimVcpu KSimVcpu;

/* Called at the moment the firmware signs a report (ret was 0). */
typedef void (*KSimFwHook)(KSimVcpu *v, void *opaque);

struct KSimVcpu {
    uint32_t index;
    SevsnpAbi abi;
    KSimMem *mem;

    /* The parts of struct kvm_run userspace sees. */
    uint32_t exit_reason;
    uint8_t immediate_exit;
    union {
        struct sevsnp_kvm_exit_snp_req_certs snp_req_certs;
        struct sevsnp_kvm_user_vmgexit vmgexit;
    } u;

    /* Kernel-private state. */
    KSimState state;
    uint64_t req_gpa, req_npages;
    KSimFwHook fw_hook;
    void *fw_hook_opaque;

    /* What the guest saw for its last request. */
    bool done;
    SevsnpGuestResult guest_result;
    uint64_t guest_npages;      /* RBX on INVALID_LEN */
    uint64_t fw_signed;         /* reports signed so far */
    uint64_t einval;            /* KVM_RUN refusals */
};

void ksim_vcpu_init(KSimVcpu *v, uint32_t index, SevsnpAbi abi,
                    KSimMem *mem);

/* The guest issues an extended request: the next KVM_RUN exits with it. */
void ksim_guest_request(KSimVcpu *v, uint64_t gpa, uint64_t npages);

/* KVM_RUN: 0 with an exit in the run structure, or -EINTR, -EINVAL. */
int ksim_run(KSimVcpu *v);

/*
 * The VMM's side, as QEMU's vCPU loop does it: handle the exit in the run
 * structure with the service and perform the completion step.  Returns
 * 0, or the failing KVM_RUN's negative errno.
 */
int ksim_vmm_handle(KSimVcpu *v, SevsnpService *svc);

/* A whole guest request: request, exit, VMM handling, completion. */
int ksim_guest_roundtrip(KSimVcpu *v, SevsnpService *svc, uint64_t gpa,
                         uint64_t npages);

/*
 * Would a lock of this kind on @path be refused right now?  @ofd selects
 * the OFD lock family, else flock(); @exclusive the write lock.  The probe
 * takes and drops the lock on a file description of its own.
 */
bool ksim_lock_blocked(const char *path, bool exclusive, bool ofd);

G_END_DECLS

#endif
