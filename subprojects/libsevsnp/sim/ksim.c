/*
 * ksim: simulation of the kernel side of SNP certificate requests
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "ksim.h"

#define POISON_RET 0x5a5a5a5au

/* ---- what KVM checks (contract section 6) ---------------------------- */

const char *sevsnp_guest_result_name(SevsnpGuestResult r)
{
    static const char *const names[] = {
        [SEVSNP_GUEST_OK] = "ok",
        [SEVSNP_GUEST_INVALID_LEN] = "invalid-len",
        [SEVSNP_GUEST_BUSY] = "busy",
        [SEVSNP_GUEST_GENERIC] = "generic",
    };

    return r <= SEVSNP_GUEST_GENERIC ? names[r] : "?";
}

bool sevsnp_sim_check_req_certs_ret(
    const struct sevsnp_kvm_exit_snp_req_certs *ex,
    SevsnpGuestResult *result, uint64_t *guest_npages)
{
    *guest_npages = 0;
    switch (ex->ret) {
    case 0:
        *result = SEVSNP_GUEST_OK;
        return true;
    case ENOSPC:
        *result = SEVSNP_GUEST_INVALID_LEN;
        *guest_npages = ex->npages;
        return true;
    case EAGAIN:
        *result = SEVSNP_GUEST_BUSY;
        return true;
    case EIO:
        *result = SEVSNP_GUEST_GENERIC;
        return true;
    default:
        /* The kernel refuses to resume: KVM_RUN returns -EINVAL. */
        return false;
    }
}

bool sevsnp_sim_check_vmgexit_ret(const struct sevsnp_kvm_user_vmgexit *ex,
                                  SevsnpGuestResult *result,
                                  uint64_t *guest_npages)
{
    *guest_npages = 0;
    switch (ex->req_certs.ret) {
    case SEVSNP_VMGEXIT_RET_OK:
        *result = SEVSNP_GUEST_OK;
        break;
    case SEVSNP_VMGEXIT_RET_INVALID_LEN:
        *result = SEVSNP_GUEST_INVALID_LEN;
        *guest_npages = ex->req_certs.data_npages;
        break;
    case SEVSNP_VMGEXIT_RET_BUSY:
        *result = SEVSNP_GUEST_BUSY;
        break;
    default:
        *result = SEVSNP_GUEST_GENERIC;
        break;
    }
    return true;
}

int sevsnp_sim_set_memory_attributes(uint64_t address, uint64_t size,
                                     uint64_t attributes, uint64_t flags)
{
    if (flags || attributes & ~SEVSNP_KVM_MEMORY_ATTRIBUTE_PRIVATE) {
        return -EINVAL;
    }
    if (!size || address + size < address) {
        return -EINVAL;
    }
    if ((address | size) & (SEVSNP_PAGE_SIZE - 1)) {
        return -EINVAL;
    }
    return 0;
}

/* ---- fake guest memory ----------------------------------------------- */

KSimMem *ksim_mem_new(uint64_t base, uint64_t npages, uint8_t fill)
{
    KSimMem *m = g_new0(KSimMem, 1);

    m->base = base;
    m->npages = npages;
    m->bytes = g_malloc(npages << SEVSNP_PAGE_SHIFT);
    memset(m->bytes, fill, npages << SEVSNP_PAGE_SHIFT);
    m->kind = g_malloc0(npages);
    g_mutex_init(&m->lock);
    return m;
}

void ksim_mem_free(KSimMem *m)
{
    if (!m) {
        return;
    }
    g_mutex_clear(&m->lock);
    g_free(m->bytes);
    g_free(m->kind);
    g_free(m);
}

void ksim_mem_set_kind(KSimMem *m, uint64_t gpa, uint64_t npages,
                       KSimPageKind kind)
{
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t a = gpa + (i << SEVSNP_PAGE_SHIFT);

        if (a >= m->base && a - m->base < (m->npages << SEVSNP_PAGE_SHIFT)) {
            m->kind[(a - m->base) >> SEVSNP_PAGE_SHIFT] = kind;
        }
    }
}

uint8_t *ksim_mem_ptr(KSimMem *m, uint64_t gpa)
{
    g_assert(gpa >= m->base &&
             gpa - m->base < (m->npages << SEVSNP_PAGE_SHIFT));
    return m->bytes + (gpa - m->base);
}

/* Is [gpa, gpa+len) inside the memory and all of @kind? */
static bool range_is(KSimMem *m, uint64_t gpa, uint64_t len, uint8_t kind)
{
    uint64_t size = m->npages << SEVSNP_PAGE_SHIFT;

    if (len == 0 || gpa < m->base || gpa - m->base > size ||
        len > size - (gpa - m->base)) {
        return false;
    }
    for (uint64_t p = (gpa - m->base) >> SEVSNP_PAGE_SHIFT;
         p <= (gpa - m->base + len - 1) >> SEVSNP_PAGE_SHIFT; p++) {
        if (m->kind[p] != kind) {
            return false;
        }
    }
    return true;
}

static bool mem_is_shared_ram(void *opaque, uint64_t gpa, uint64_t len)
{
    return range_is(opaque, gpa, len, KSIM_PAGE_SHARED);
}

static int mem_write(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    KSimMem *m = opaque;
    bool ok = range_is(m, gpa, len, KSIM_PAGE_SHARED);

    g_mutex_lock(&m->lock);
    m->writes++;
    if (len && (!m->written_end || gpa < m->written_lo)) {
        m->written_lo = gpa;
    }
    if (len && gpa + len > m->written_end) {
        m->written_end = gpa + len;
    }
    if (!ok) {
        /* A write a real VMM must never make: record it, do not do it. */
        m->violations++;
        g_mutex_unlock(&m->lock);
        return -EFAULT;
    }
    g_mutex_unlock(&m->lock);
    memcpy(m->bytes + (gpa - m->base), buf, len);
    return 0;
}

const SevsnpGuestMemOps ksim_mem_ops = {
    .is_shared_ram = mem_is_shared_ram,
    .write = mem_write,
};

void ksim_mem_forget_writes(KSimMem *m)
{
    g_mutex_lock(&m->lock);
    m->written_lo = m->written_end = 0;
    g_mutex_unlock(&m->lock);
}

bool ksim_mem_written_within(KSimMem *m, uint64_t gpa, uint64_t len)
{
    bool ok;

    g_mutex_lock(&m->lock);
    ok = !m->written_end ||
         (m->written_lo >= gpa && m->written_end - gpa <= len);
    g_mutex_unlock(&m->lock);
    return ok;
}

bool ksim_mem_untouched_outside(KSimMem *m, uint64_t gpa, uint64_t len,
                                uint8_t fill)
{
    uint64_t size = m->npages << SEVSNP_PAGE_SHIFT;

    for (uint64_t off = 0; off < size; off++) {
        uint64_t a = m->base + off;

        if (a >= gpa && a - gpa < len) {
            continue;
        }
        if (m->bytes[off] != fill) {
            return false;
        }
    }
    return true;
}

void ksim_vcpu_init(KSimVcpu *v, uint32_t index, SevsnpAbi abi,
                    KSimMem *mem)
{
    memset(v, 0, sizeof(*v));
    v->index = index;
    v->abi = abi;
    v->mem = mem;
}

void ksim_guest_request(KSimVcpu *v, uint64_t gpa, uint64_t npages)
{
    g_assert(v->state == KSIM_IDLE);
    v->req_gpa = gpa;
    v->req_npages = npages;
    v->done = false;
    v->state = KSIM_REQ_QUEUED;
}

/* Deliver the queued request as an exit, ret poisoned. */
static int deliver_request(KSimVcpu *v)
{
    memset(&v->u, 0xa5, sizeof(v->u));
    if (v->abi == SEVSNP_ABI_REQ_CERTS) {
        v->exit_reason = SEVSNP_KVM_EXIT_SNP_REQ_CERTS;
        v->u.snp_req_certs.gpa = v->req_gpa;
        v->u.snp_req_certs.npages = v->req_npages;
        v->u.snp_req_certs.ret = POISON_RET;
    } else {
        v->exit_reason = SEVSNP_KVM_EXIT_VMGEXIT;
        v->u.vmgexit.type = SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS;
        v->u.vmgexit.req_certs.data_gpa = v->req_gpa;
        v->u.vmgexit.req_certs.data_npages = v->req_npages;
        v->u.vmgexit.req_certs.ret = POISON_RET;
        v->u.vmgexit.req_certs.flags = 0;
        v->u.vmgexit.req_certs.status = SEVSNP_VMGEXIT_STATUS_PENDING;
    }
    v->state = KSIM_REQ_PENDING;
    return 0;
}

static void firmware_request(KSimVcpu *v, SevsnpGuestResult result)
{
    if (result == SEVSNP_GUEST_OK) {
        if (v->fw_hook) {
            v->fw_hook(v, v->fw_hook_opaque);
        }
        v->fw_signed++;
    }
}

static int enter_guest(KSimVcpu *v)
{
    if (v->immediate_exit) {
        return -EINTR;
    }
    v->exit_reason = KSIM_EXIT_GUEST_RAN;
    return 0;
}

int ksim_run(KSimVcpu *v)
{
    SevsnpGuestResult result;
    uint64_t npages;

    switch (v->state) {
    case KSIM_IDLE:
        return enter_guest(v);
    case KSIM_REQ_QUEUED:
        /* The guest must run to issue it. */
        if (v->immediate_exit) {
            return -EINTR;
        }
        return deliver_request(v);
    case KSIM_DONE_PENDING:
        v->state = KSIM_IDLE;
        return enter_guest(v);
    case KSIM_REQ_PENDING:
        break;
    }

    if (v->abi == SEVSNP_ABI_REQ_CERTS) {
        if (!sevsnp_sim_check_req_certs_ret(&v->u.snp_req_certs, &result,
                                            &npages)) {
            v->einval++;
            return -EINVAL;
        }
        v->guest_result = result;
        v->guest_npages = npages;
        v->done = true;
        v->state = KSIM_IDLE;
        /*
         * The firmware request completes inside this KVM_RUN, before the
         * immediate_exit check.
         */
        firmware_request(v, result);
        return enter_guest(v);
    }

    sevsnp_sim_check_vmgexit_ret(&v->u.vmgexit, &result, &npages);
    v->guest_result = result;
    v->guest_npages = npages;
    v->done = true;
    firmware_request(v, result);
    if (v->u.vmgexit.req_certs.flags & SEVSNP_VMGEXIT_FLAGS_NOTIFY_DONE) {
        v->exit_reason = SEVSNP_KVM_EXIT_VMGEXIT;
        v->u.vmgexit.type = SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS;
        v->u.vmgexit.req_certs.flags = 0;
        v->u.vmgexit.req_certs.status = SEVSNP_VMGEXIT_STATUS_DONE;
        v->state = KSIM_DONE_PENDING;
        return 0;
    }
    v->state = KSIM_IDLE;
    return enter_guest(v);
}

int ksim_vmm_handle(KSimVcpu *v, SevsnpService *svc)
{
    int r;

    switch (v->exit_reason) {
    case SEVSNP_KVM_EXIT_SNP_REQ_CERTS:
        if (sevsnp_handle_req_certs_exit(svc, v->index, &v->u.snp_req_certs,
                                         &ksim_mem_ops, v->mem)) {
            /*
             * The completion step: KVM finishes the firmware request and
             * comes back with -EINTR before entering the guest.
             */
            v->immediate_exit = 1;
            r = ksim_run(v);
            v->immediate_exit = 0;
            sevsnp_service_complete(svc, v->index);
            return r == -EINTR ? 0 : r;
        }
        return 0;
    case SEVSNP_KVM_EXIT_VMGEXIT:
        sevsnp_handle_vmgexit_exit(svc, v->index, &v->u.vmgexit,
                                   &ksim_mem_ops, v->mem);
        return 0;
    default:
        return 0;
    }
}

int ksim_guest_roundtrip(KSimVcpu *v, SevsnpService *svc, uint64_t gpa,
                         uint64_t npages)
{
    int r;

    ksim_guest_request(v, gpa, npages);
    for (;;) {
        r = ksim_run(v);
        if (r < 0) {
            return r;
        }
        if (v->exit_reason == KSIM_EXIT_GUEST_RAN) {
            if (v->done) {
                return 0;
            }
            continue;
        }
        r = ksim_vmm_handle(v, svc);
        if (r < 0) {
            return r;
        }
        if (v->done && v->state == KSIM_IDLE) {
            return 0;
        }
    }
}

bool ksim_lock_blocked(const char *path, bool exclusive, bool ofd)
{
    int fd = open(path, exclusive ? O_RDWR : O_RDONLY);
    bool blocked;

    if (fd < 0) {
        g_error("%s: %s", path, g_strerror(errno));
    }
    if (ofd) {
        struct flock fl = {
            .l_type = exclusive ? F_WRLCK : F_RDLCK,
            .l_whence = SEEK_SET,
        };
        blocked = fcntl(fd, F_OFD_SETLK, &fl) < 0;
    } else {
        blocked = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0;
    }
    close(fd);
    return blocked;
}
