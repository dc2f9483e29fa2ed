/*
 * libsevsnp: the certificate service (request state machine, both ABIs)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "libsevsnp.h"
#include "sevsnp-internal.h"

typedef struct VcpuSlot {
    bool in_flight;
    SevSnpCertLease *lease;     /* NULL when serving an empty table */
} VcpuSlot;

struct SevSnpService {
    GMutex lock;                /* protects everything below */
    SevSnpCertStore *store;     /* NULL: serving is off */
    unsigned timeout_ms;
    size_t max_size;
    SevSnpRateLimit rl;
    GHashTable *slots;          /* vcpu index -> VcpuSlot */
    SevSnpStats stats;
    char *last_error;
    int64_t last_error_us;
    SevSnpErrorNotify notify;
    void *notify_opaque;
};

const char *sevsnp_abi_name(SevSnpAbi abi)
{
    return abi == SEVSNP_ABI_VMGEXIT ? "vmgexit" : "req-certs";
}

const char *sevsnp_req_outcome_name(SevSnpReqOutcome outcome)
{
    static const char *const names[] = {
        [SEVSNP_REQ_OK] = "ok",
        [SEVSNP_REQ_TOO_SMALL] = "too-small",
        [SEVSNP_REQ_BUSY] = "busy",
        [SEVSNP_REQ_RATE_LIMITED] = "rate-limited",
        [SEVSNP_REQ_ERROR] = "error",
    };

    return outcome <= SEVSNP_REQ_ERROR ? names[outcome] : "?";
}

/* ---- rate limit ---------------------------------------------------- */

void sevsnp_rate_limit_init(SevSnpRateLimit *rl, uint32_t rate,
                            uint32_t burst, int64_t now_us)
{
    rl->rate = rate;
    rl->burst = burst ? burst : MAX(rate, 1);
    rl->tokens = rl->burst;
    rl->last_us = now_us;
}

bool sevsnp_rate_limit_take(SevSnpRateLimit *rl, int64_t now_us)
{
    if (!rl->rate) {
        return true;
    }
    if (now_us > rl->last_us) {
        rl->tokens += (double)(now_us - rl->last_us) * rl->rate / 1e6;
        if (rl->tokens > rl->burst) {
            rl->tokens = rl->burst;
        }
        rl->last_us = now_us;
    }
    if (rl->tokens >= 1.0) {
        rl->tokens -= 1.0;
        return true;
    }
    return false;
}

/* ---- service -------------------------------------------------------- */

static void slot_free(gpointer p)
{
    VcpuSlot *slot = p;

    sevsnp_cert_lease_release(slot->lease);
    g_free(slot);
}

SevSnpService *sevsnp_service_new(const char *path, unsigned timeout_ms,
                                  uint32_t rate, uint32_t burst)
{
    SevSnpService *svc = g_new0(SevSnpService, 1);

    g_mutex_init(&svc->lock);
    svc->timeout_ms = timeout_ms;
    svc->max_size = SEVSNP_DEFAULT_MAX_BLOB;
    if (path && *path) {
        svc->store = sevsnp_cert_store_new(path, svc->max_size);
    }
    sevsnp_rate_limit_init(&svc->rl, rate, burst, g_get_monotonic_time());
    svc->slots = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                       slot_free);
    return svc;
}

void sevsnp_service_free(SevSnpService *svc)
{
    if (!svc) {
        return;
    }
    g_hash_table_destroy(svc->slots);
    sevsnp_cert_store_free(svc->store);
    g_free(svc->last_error);
    g_mutex_clear(&svc->lock);
    g_free(svc);
}

gboolean sevsnp_service_set_path(SevSnpService *svc, const char *path,
                                 GError **err)
{
    SevSnpCertStore *store = NULL, *old;
    unsigned timeout;
    size_t max_size;

    g_mutex_lock(&svc->lock);
    timeout = svc->timeout_ms;
    max_size = svc->max_size;
    g_mutex_unlock(&svc->lock);

    if (path && *path) {
        SevSnpCertTable *t;

        store = sevsnp_cert_store_new(path, max_size);
        t = sevsnp_cert_store_load(store, timeout, err);
        if (!t) {
            sevsnp_cert_store_free(store);
            return FALSE;
        }
        sevsnp_cert_table_unref(t);
    }

    g_mutex_lock(&svc->lock);
    old = svc->store;
    svc->store = store;
    g_mutex_unlock(&svc->lock);
    sevsnp_cert_store_free(old);
    return TRUE;
}

char *sevsnp_service_get_path(SevSnpService *svc)
{
    char *p = NULL;

    g_mutex_lock(&svc->lock);
    if (svc->store) {
        p = g_strdup(sevsnp_cert_store_get_path(svc->store));
    }
    g_mutex_unlock(&svc->lock);
    return p;
}

void sevsnp_service_set_timeout(SevSnpService *svc, unsigned timeout_ms)
{
    g_mutex_lock(&svc->lock);
    svc->timeout_ms = timeout_ms;
    g_mutex_unlock(&svc->lock);
}

unsigned sevsnp_service_get_timeout(SevSnpService *svc)
{
    unsigned t;

    g_mutex_lock(&svc->lock);
    t = svc->timeout_ms;
    g_mutex_unlock(&svc->lock);
    return t;
}

void sevsnp_service_set_rate_limit(SevSnpService *svc, uint32_t rate,
                                   uint32_t burst)
{
    g_mutex_lock(&svc->lock);
    sevsnp_rate_limit_init(&svc->rl, rate, burst, g_get_monotonic_time());
    g_mutex_unlock(&svc->lock);
}

void sevsnp_service_get_rate_limit(SevSnpService *svc, uint32_t *rate,
                                   uint32_t *burst)
{
    g_mutex_lock(&svc->lock);
    *rate = svc->rl.rate;
    *burst = svc->rl.rate ? svc->rl.burst : 0;
    g_mutex_unlock(&svc->lock);
}

void sevsnp_service_set_max_size(SevSnpService *svc, size_t max_size)
{
    g_mutex_lock(&svc->lock);
    svc->max_size = max_size ? max_size : SEVSNP_DEFAULT_MAX_BLOB;
    g_mutex_unlock(&svc->lock);
}

void sevsnp_service_get_stats(SevSnpService *svc, SevSnpStats *stats)
{
    g_mutex_lock(&svc->lock);
    *stats = svc->stats;
    g_mutex_unlock(&svc->lock);
}

char *sevsnp_service_last_error(SevSnpService *svc, int64_t *when_us)
{
    char *e;

    g_mutex_lock(&svc->lock);
    e = g_strdup(svc->last_error);
    if (when_us) {
        *when_us = svc->last_error_us;
    }
    g_mutex_unlock(&svc->lock);
    return e;
}

void sevsnp_service_set_error_notify(SevSnpService *svc,
                                     SevSnpErrorNotify fn, void *opaque)
{
    g_mutex_lock(&svc->lock);
    svc->notify = fn;
    svc->notify_opaque = opaque;
    g_mutex_unlock(&svc->lock);
}

SevSnpCertTable *sevsnp_service_peek_table(SevSnpService *svc, GError **err)
{
    SevSnpCertStore *store = NULL;
    SevSnpCertTable *t;
    unsigned timeout;

    g_mutex_lock(&svc->lock);
    if (svc->store) {
        store = sevsnp_cert_store_ref(svc->store);
    }
    timeout = svc->timeout_ms;
    g_mutex_unlock(&svc->lock);
    if (!store) {
        return NULL;
    }
    t = sevsnp_cert_store_load(store, timeout, err);
    sevsnp_cert_store_free(store);
    return t;
}

bool sevsnp_service_in_flight(SevSnpService *svc, uint32_t vcpu)
{
    VcpuSlot *slot;
    bool r;

    g_mutex_lock(&svc->lock);
    slot = g_hash_table_lookup(svc->slots, GUINT_TO_POINTER(vcpu));
    r = slot && slot->in_flight;
    g_mutex_unlock(&svc->lock);
    return r;
}

static VcpuSlot *slot_get(SevSnpService *svc, uint32_t vcpu)
{
    VcpuSlot *slot = g_hash_table_lookup(svc->slots, GUINT_TO_POINTER(vcpu));

    if (!slot) {
        slot = g_new0(VcpuSlot, 1);
        g_hash_table_insert(svc->slots, GUINT_TO_POINTER(vcpu), slot);
    }
    return slot;
}

/* Record a failed request's outcome; called with svc->lock held. */
static void count_failure(SevSnpService *svc, SevSnpReqOutcome outcome,
                          const char *msg)
{
    switch (outcome) {
    case SEVSNP_REQ_TOO_SMALL:
        svc->stats.too_small++;
        return;
    case SEVSNP_REQ_BUSY:
        svc->stats.busy++;
        break;
    case SEVSNP_REQ_RATE_LIMITED:
        svc->stats.rate_limited++;
        break;
    default:
        svc->stats.errors++;
        break;
    }
    g_free(svc->last_error);
    svc->last_error = g_strdup(msg);
    svc->last_error_us = g_get_real_time();
}

static SevSnpReqResult fail(SevSnpService *svc, uint32_t vcpu,
                            SevSnpReqOutcome outcome, GError *e,
                            GError **err)
{
    SevSnpReqResult r = { .outcome = outcome };
    SevSnpErrorNotify notify;
    void *opaque;

    g_mutex_lock(&svc->lock);
    count_failure(svc, outcome, e->message);
    notify = svc->notify;
    opaque = svc->notify_opaque;
    g_mutex_unlock(&svc->lock);
    if (notify && outcome != SEVSNP_REQ_TOO_SMALL) {
        notify(opaque, vcpu, outcome, e->message);
    }
    g_propagate_error(err, e);
    return r;
}

/* Reject what a guest must never get us to do; NULL when acceptable. */
static GError *check_range(uint64_t gpa, uint64_t npages,
                           const SevSnpGuestMemOps *mem, void *opaque)
{
    if (npages == 0) {
        return g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                           "guest buffer of 0 pages at gpa 0x%" PRIx64, gpa);
    }
    if (gpa & (SEVSNP_PAGE_SIZE - 1)) {
        return g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                           "guest buffer gpa 0x%" PRIx64
                           " is not 4 KiB aligned", gpa);
    }
    if (npages > (UINT64_MAX - gpa) >> SEVSNP_PAGE_SHIFT) {
        return g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                           "guest buffer gpa 0x%" PRIx64 " + %" PRIu64
                           " pages overflows", gpa, npages);
    }
    if (!mem->is_shared_ram(opaque, gpa, npages << SEVSNP_PAGE_SHIFT)) {
        return g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                           "guest buffer [0x%" PRIx64 ", +%" PRIu64
                           " pages) is not entirely shared guest RAM",
                           gpa, npages);
    }
    return NULL;
}

SevSnpReqResult sevsnp_service_request(SevSnpService *svc, uint32_t vcpu,
                                       uint64_t gpa, uint64_t npages,
                                       const SevSnpGuestMemOps *mem,
                                       void *opaque, GError **err)
{
    SevSnpReqResult r = { .outcome = SEVSNP_REQ_OK };
    SevSnpCertLease *stale = NULL, *lease = NULL;
    SevSnpCertStore *store = NULL;
    g_autoptr(GBytes) empty = NULL;
    GBytes *blob;
    GError *e = NULL;
    unsigned timeout;
    gsize len;
    const void *data;
    VcpuSlot *slot;
    bool limited;
    int wr;

    g_mutex_lock(&svc->lock);
    svc->stats.requests++;
    slot = slot_get(svc, vcpu);
    if (slot->in_flight) {
        /* KVM has one request per vCPU: the completion was lost. */
        svc->stats.overlapping_requests++;
        svc->stats.in_flight--;
        stale = slot->lease;
        slot->lease = NULL;
        slot->in_flight = false;
    }
    g_mutex_unlock(&svc->lock);
    sevsnp_cert_lease_release(stale);

    e = check_range(gpa, npages, mem, opaque);
    if (e) {
        return fail(svc, vcpu, SEVSNP_REQ_ERROR, e, err);
    }

    g_mutex_lock(&svc->lock);
    limited = !sevsnp_rate_limit_take(&svc->rl, g_get_monotonic_time());
    if (svc->store) {
        store = sevsnp_cert_store_ref(svc->store);
    }
    timeout = svc->timeout_ms;
    g_mutex_unlock(&svc->lock);

    if (limited) {
        sevsnp_cert_store_free(store);
        e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                        "vCPU %u: over the certificate request rate limit",
                        vcpu);
        return fail(svc, vcpu, SEVSNP_REQ_RATE_LIMITED, e, err);
    }

    if (store) {
        lease = sevsnp_cert_store_acquire(store, timeout, &e);
        sevsnp_cert_store_free(store);
        if (!lease) {
            return fail(svc, vcpu, e->code == SEVSNP_ERROR_BUSY ?
                        SEVSNP_REQ_BUSY : SEVSNP_REQ_ERROR, e, err);
        }
        blob = sevsnp_cert_table_get_blob(sevsnp_cert_lease_get_table(lease));
    } else {
        empty = sevsnp_cert_table_empty_blob();
        blob = empty;
    }

    data = g_bytes_get_data(blob, &len);
    if (len > npages << SEVSNP_PAGE_SHIFT) {
        sevsnp_cert_lease_release(lease);
        r = fail(svc, vcpu, SEVSNP_REQ_TOO_SMALL,
                 g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                             "guest buffer of %" PRIu64 " pages is too "
                             "small for %zu bytes", npages, (size_t)len),
                 err);
        r.required_npages = (len + SEVSNP_PAGE_SIZE - 1) >> SEVSNP_PAGE_SHIFT;
        return r;
    }

    wr = mem->write(opaque, gpa, data, len);
    if (wr < 0) {
        sevsnp_cert_lease_release(lease);
        e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "writing %zu bytes at gpa 0x%" PRIx64 " failed: %s",
                        (size_t)len, gpa, g_strerror(-wr));
        return fail(svc, vcpu, SEVSNP_REQ_ERROR, e, err);
    }

    g_mutex_lock(&svc->lock);
    slot = slot_get(svc, vcpu);
    if (slot->in_flight) {
        /* A racing request on the same vCPU: only a broken caller. */
        svc->stats.overlapping_requests++;
        svc->stats.in_flight--;
        stale = slot->lease;
    } else {
        stale = NULL;
    }
    slot->lease = lease;
    slot->in_flight = true;
    svc->stats.served++;
    svc->stats.in_flight++;
    g_mutex_unlock(&svc->lock);
    sevsnp_cert_lease_release(stale);

    r.completion_pending = true;
    return r;
}

bool sevsnp_service_complete(SevSnpService *svc, uint32_t vcpu)
{
    SevSnpCertLease *lease = NULL;
    VcpuSlot *slot;
    bool ok = false;

    g_mutex_lock(&svc->lock);
    slot = g_hash_table_lookup(svc->slots, GUINT_TO_POINTER(vcpu));
    if (slot && slot->in_flight) {
        lease = slot->lease;
        slot->lease = NULL;
        slot->in_flight = false;
        svc->stats.in_flight--;
        svc->stats.completions++;
        ok = true;
    } else {
        svc->stats.spurious_completions++;
    }
    g_mutex_unlock(&svc->lock);
    sevsnp_cert_lease_release(lease);
    return ok;
}

/* ---- ABI glue -------------------------------------------------------- */

bool sevsnp_handle_req_certs_exit(SevSnpService *svc, uint32_t vcpu,
                                  struct sevsnp_kvm_exit_snp_req_certs *ex,
                                  const SevSnpGuestMemOps *mem, void *opaque)
{
    SevSnpReqResult r = sevsnp_service_request(svc, vcpu, ex->gpa,
                                               ex->npages, mem, opaque, NULL);

    switch (r.outcome) {
    case SEVSNP_REQ_OK:
        ex->ret = 0;
        break;
    case SEVSNP_REQ_TOO_SMALL:
        ex->npages = r.required_npages;
        ex->ret = ENOSPC;
        break;
    case SEVSNP_REQ_BUSY:
    case SEVSNP_REQ_RATE_LIMITED:
        ex->ret = EAGAIN;
        break;
    default:
        ex->ret = EIO;
        break;
    }
    return r.completion_pending;
}

bool sevsnp_handle_vmgexit_exit(SevSnpService *svc, uint32_t vcpu,
                                struct sevsnp_kvm_user_vmgexit *ex,
                                const SevSnpGuestMemOps *mem, void *opaque)
{
    SevSnpReqResult r;

    if (ex->type != SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS) {
        GError *e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                                "vCPU %u: unknown KVM_EXIT_VMGEXIT type %u",
                                vcpu, ex->type);
        fail(svc, vcpu, SEVSNP_REQ_ERROR, e, NULL);
        ex->req_certs.ret = SEVSNP_VMGEXIT_RET_GENERIC;
        return false;
    }
    if (ex->req_certs.status == SEVSNP_VMGEXIT_STATUS_DONE) {
        sevsnp_service_complete(svc, vcpu);
        return false;
    }
    if (ex->req_certs.status != SEVSNP_VMGEXIT_STATUS_PENDING) {
        GError *e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                                "vCPU %u: unknown REQ_CERTS status %u",
                                vcpu, ex->req_certs.status);
        fail(svc, vcpu, SEVSNP_REQ_ERROR, e, NULL);
        ex->req_certs.ret = SEVSNP_VMGEXIT_RET_GENERIC;
        return false;
    }

    r = sevsnp_service_request(svc, vcpu, ex->req_certs.data_gpa,
                               ex->req_certs.data_npages, mem, opaque, NULL);
    switch (r.outcome) {
    case SEVSNP_REQ_OK:
        ex->req_certs.ret = SEVSNP_VMGEXIT_RET_OK;
        break;
    case SEVSNP_REQ_TOO_SMALL:
        ex->req_certs.data_npages = r.required_npages;
        ex->req_certs.ret = SEVSNP_VMGEXIT_RET_INVALID_LEN;
        break;
    case SEVSNP_REQ_BUSY:
    case SEVSNP_REQ_RATE_LIMITED:
        ex->req_certs.ret = SEVSNP_VMGEXIT_RET_BUSY;
        break;
    default:
        ex->req_certs.ret = SEVSNP_VMGEXIT_RET_GENERIC;
        break;
    }
    if (r.completion_pending) {
        ex->req_certs.flags |= SEVSNP_VMGEXIT_FLAGS_NOTIFY_DONE;
    }
    return r.completion_pending;
}

/* ---- kernel-side checks (simulation) ---------------------------------- */

const char *sevsnp_guest_result_name(SevSnpGuestResult r)
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
    SevSnpGuestResult *result, uint64_t *guest_npages)
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
                                  SevSnpGuestResult *result,
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
