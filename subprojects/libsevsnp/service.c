/*
 * libsevsnp: the certificate service (request state machine, both ABIs)
 *
 * The answer policy (docs/system/i386/sev-snp-certs.rst, "What the guest
 * gets"): a Linux guest wipes its VMPCK for any answer but success,
 * INVALID_LEN, or BUSY for less than 60 s, so
 *  - the generic error is given only for the guest's own bad buffer;
 *  - whatever goes wrong on the host's side (the blob missing, unreadable,
 *    malformed, a lock call failing) gives an empty certificate table:
 *    the firmware signs the report, no chain comes with it, and so none
 *    can mismatch it;
 *  - BUSY lasts at most the busy limit, per VM and per vCPU; then an
 *    empty table;
 *  - a request of 0 pages is a size probe (snpguest starts every
 *    extended report so): INVALID_LEN with the pages the blob needs, or
 *    success when there is nothing to give; nothing is written.
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

/*
 * How often one request starts again because sevsnp_service_set_path()
 * put another file in service under it, before it answers BUSY.
 */
#define MAX_RESTARTS 8

/*
 * A vCPU's state: its reader (one file description of the blob, kept
 * open across requests), idle or holding the locks of the request in
 * flight, and since when it has answered nothing but BUSY.
 */
typedef struct VcpuSlot {
    bool in_flight;
    SevsnpCertReader *held;     /* locked; NULL when serving empty tables */
    SevsnpCertReader *idle;     /* unlocked, for the next request */
    int64_t busy_since;         /* monotonic us; 0: not answering BUSY */
} VcpuSlot;

struct SevsnpService {
    GMutex lock;                /* protects everything below */
    SevsnpCertStore *store;     /* NULL: serving is off */
    unsigned timeout_ms;
    unsigned busy_limit_ms;
    int64_t busy_since;         /* the VM's BUSY streak; 0: none */
    SevsnpRateLimit rl;
    GHashTable *slots;          /* vcpu index -> VcpuSlot */
    SevsnpStats stats;
    char *last_error;
    SevsnpErrorNotify notify;
    void *notify_opaque;
    SevsnpInterruptFn interrupted;
    void *interrupt_opaque;
    /* Monitors' reads of the blob: one description, kept. */
    GMutex peek_lock;
    SevsnpCertReader *peek;
};

const char *sevsnp_abi_name(SevsnpAbi abi)
{
    return abi == SEVSNP_ABI_VMGEXIT ? "vmgexit" : "req-certs";
}

const char *sevsnp_req_outcome_name(SevsnpReqOutcome outcome)
{
    static const char *const names[] = {
        [SEVSNP_REQ_OK] = "ok",
        [SEVSNP_REQ_TOO_SMALL] = "too-small",
        [SEVSNP_REQ_BUSY] = "busy",
        [SEVSNP_REQ_RATE_LIMITED] = "rate-limited",
        [SEVSNP_REQ_ERROR] = "error",
        [SEVSNP_REQ_HOST_FAULT] = "host-fault",
        [SEVSNP_REQ_BUSY_LIMIT] = "busy-limit",
    };

    return outcome <= SEVSNP_REQ_OUTCOME_LAST ? names[outcome] : "?";
}

unsigned sevsnp_req_certs_ret(SevsnpReqOutcome outcome)
{
    /* Positive errno values: the kernel's ABI has them so. */
    static const unsigned rets[] = {
        [SEVSNP_REQ_OK] = 0,
        [SEVSNP_REQ_TOO_SMALL] = ENOSPC,
        [SEVSNP_REQ_BUSY] = EAGAIN,
        [SEVSNP_REQ_RATE_LIMITED] = EAGAIN,
        [SEVSNP_REQ_ERROR] = EIO,
        [SEVSNP_REQ_HOST_FAULT] = 0,    /* with an empty table */
        [SEVSNP_REQ_BUSY_LIMIT] = 0,    /* likewise */
    };

    return outcome <= SEVSNP_REQ_OUTCOME_LAST ? rets[outcome] : EIO;
}

char *sevsnp_blob_guest_warning(size_t size)
{
    if (size <= SEVSNP_GUEST_BLOB_MAX) {
        return NULL;
    }
    return g_strdup_printf("the blob has %zu bytes, more than the %u a "
                           "Linux guest can receive (SNP_GET_EXT_REPORT "
                           "refuses a buffer above SEV_FW_BLOB_MAX_SIZE): "
                           "Linux guests get no certificates from it",
                           size, SEVSNP_GUEST_BLOB_MAX);
}

/* ---- rate limit ---------------------------------------------------- */

void sevsnp_rate_limit_init(SevsnpRateLimit *rl, uint32_t rate,
                            uint32_t burst, int64_t now_us)
{
    rl->rate = rate;
    rl->burst = burst ? burst : MAX(rate, 1);
    rl->tokens = rl->burst;
    rl->last_us = now_us;
}

bool sevsnp_rate_limit_take(SevsnpRateLimit *rl, int64_t now_us)
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

gboolean sevsnp_check_timeout(unsigned timeout_ms, GError **err)
{
    if (timeout_ms > SEVSNP_TIMEOUT_MAX_MS) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                    "a lock timeout of %u ms exceeds the maximum of %u ms",
                    timeout_ms, SEVSNP_TIMEOUT_MAX_MS);
        return FALSE;
    }
    return TRUE;
}

gboolean sevsnp_check_busy_limit(unsigned limit_ms, GError **err)
{
    if (limit_ms > SEVSNP_BUSY_LIMIT_MAX_MS) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                    "a busy limit of %u ms exceeds the maximum of %u ms "
                    "(a Linux guest gives up after 60 s of BUSY)",
                    limit_ms, SEVSNP_BUSY_LIMIT_MAX_MS);
        return FALSE;
    }
    return TRUE;
}

static void slot_free(gpointer p)
{
    VcpuSlot *slot = p;

    sevsnp_cert_reader_free(slot->held);
    sevsnp_cert_reader_free(slot->idle);
    g_free(slot);
}

SevsnpService *sevsnp_service_new(const char *path, unsigned timeout_ms,
                                  uint32_t rate, uint32_t burst)
{
    SevsnpService *svc = g_new0(SevsnpService, 1);

    g_mutex_init(&svc->lock);
    g_mutex_init(&svc->peek_lock);
    svc->timeout_ms = MIN(timeout_ms, SEVSNP_TIMEOUT_MAX_MS);
    svc->busy_limit_ms = SEVSNP_BUSY_LIMIT_DEFAULT_MS;
    if (path && *path) {
        svc->store = sevsnp_cert_store_new(path, 0);
    }
    sevsnp_rate_limit_init(&svc->rl, rate, burst, g_get_monotonic_time());
    svc->slots = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                       slot_free);
    return svc;
}

void sevsnp_service_free(SevsnpService *svc)
{
    if (!svc) {
        return;
    }
    g_hash_table_destroy(svc->slots);
    sevsnp_cert_reader_free(svc->peek);
    sevsnp_cert_store_free(svc->store);
    g_free(svc->last_error);
    g_mutex_clear(&svc->peek_lock);
    g_mutex_clear(&svc->lock);
    g_free(svc);
}

gboolean sevsnp_service_preopen(SevsnpService *svc, guint nvcpus,
                                GError **err)
{
    SevsnpCertStore *store = NULL;
    gboolean ok = TRUE;

    g_mutex_lock(&svc->lock);
    if (svc->store) {
        store = sevsnp_cert_store_ref(svc->store);
    }
    g_mutex_unlock(&svc->lock);
    if (store) {
        /* One more for the monitors' reader. */
        ok = sevsnp_cert_store_preopen(store, nvcpus + 1, err);
        sevsnp_cert_store_free(store);
    }
    return ok;
}

gboolean sevsnp_service_set_path(SevsnpService *svc, const char *path,
                                 GError **err)
{
    SevsnpCertStore *store = NULL, *old;

    if (path && *path) {
        SevsnpCertTable *t;

        /* One try: a caller on the main loop never waits for an updater. */
        store = sevsnp_cert_store_new(path, 0);
        t = sevsnp_cert_store_load(store, 0, err);
        if (!t) {
            sevsnp_cert_store_free(store);
            return FALSE;
        }
        sevsnp_cert_table_unref(t);
    }

    /*
     * The barrier: a request marks itself answered under svc->lock, and
     * only if its store is still the one in service; the old store is
     * retired before the lock is dropped, so its waiting readers give up
     * and start again on the new one.
     */
    g_mutex_lock(&svc->lock);
    old = svc->store;
    svc->store = store;
    if (old) {
        sevsnp_cert_store_retire(old);
    }
    g_mutex_unlock(&svc->lock);
    /* The vCPUs' readers of the old store go at their next request. */
    sevsnp_cert_store_free(old);
    return TRUE;
}

char *sevsnp_service_get_path(SevsnpService *svc)
{
    char *p = NULL;

    g_mutex_lock(&svc->lock);
    if (svc->store) {
        p = g_strdup(sevsnp_cert_store_get_path(svc->store));
    }
    g_mutex_unlock(&svc->lock);
    return p;
}

gboolean sevsnp_service_set_timeout(SevsnpService *svc, unsigned timeout_ms,
                                    GError **err)
{
    if (!sevsnp_check_timeout(timeout_ms, err)) {
        return FALSE;
    }
    g_mutex_lock(&svc->lock);
    svc->timeout_ms = timeout_ms;
    g_mutex_unlock(&svc->lock);
    return TRUE;
}

unsigned sevsnp_service_get_timeout(SevsnpService *svc)
{
    unsigned t;

    g_mutex_lock(&svc->lock);
    t = svc->timeout_ms;
    g_mutex_unlock(&svc->lock);
    return t;
}

gboolean sevsnp_service_set_busy_limit(SevsnpService *svc, unsigned limit_ms,
                                       GError **err)
{
    if (!sevsnp_check_busy_limit(limit_ms, err)) {
        return FALSE;
    }
    g_mutex_lock(&svc->lock);
    svc->busy_limit_ms = limit_ms;
    g_mutex_unlock(&svc->lock);
    return TRUE;
}

unsigned sevsnp_service_get_busy_limit(SevsnpService *svc)
{
    unsigned t;

    g_mutex_lock(&svc->lock);
    t = svc->busy_limit_ms;
    g_mutex_unlock(&svc->lock);
    return t;
}

void sevsnp_service_set_rate_limit(SevsnpService *svc, uint32_t rate,
                                   uint32_t burst)
{
    g_mutex_lock(&svc->lock);
    sevsnp_rate_limit_init(&svc->rl, rate, burst, g_get_monotonic_time());
    g_mutex_unlock(&svc->lock);
}

void sevsnp_service_get_rate_limit(SevsnpService *svc, uint32_t *rate,
                                   uint32_t *burst)
{
    g_mutex_lock(&svc->lock);
    *rate = svc->rl.rate;
    *burst = svc->rl.rate ? svc->rl.burst : 0;
    g_mutex_unlock(&svc->lock);
}

void sevsnp_service_set_interrupt(SevsnpService *svc, SevsnpInterruptFn fn,
                                  void *opaque)
{
    g_mutex_lock(&svc->lock);
    svc->interrupted = fn;
    svc->interrupt_opaque = opaque;
    g_mutex_unlock(&svc->lock);
}

void sevsnp_service_get_stats(SevsnpService *svc, SevsnpStats *stats)
{
    g_mutex_lock(&svc->lock);
    *stats = svc->stats;
    g_mutex_unlock(&svc->lock);
}

char *sevsnp_service_last_error(SevsnpService *svc)
{
    char *e;

    g_mutex_lock(&svc->lock);
    e = g_strdup(svc->last_error);
    g_mutex_unlock(&svc->lock);
    return e;
}

void sevsnp_service_set_error_notify(SevsnpService *svc,
                                     SevsnpErrorNotify fn, void *opaque)
{
    g_mutex_lock(&svc->lock);
    svc->notify = fn;
    svc->notify_opaque = opaque;
    g_mutex_unlock(&svc->lock);
}

SevsnpCertTable *sevsnp_service_try_peek(SevsnpService *svc, bool *busy,
                                         GError **err)
{
    SevsnpCertStore *store = NULL;
    SevsnpCertTable *t;
    GError *e = NULL;

    *busy = false;
    g_mutex_lock(&svc->lock);
    if (svc->store) {
        store = sevsnp_cert_store_ref(svc->store);
    }
    g_mutex_unlock(&svc->lock);
    if (!store) {
        return NULL;
    }
    /*
     * One try of the locks, on the monitors' own description (opened in
     * advance, so that it still reads a file only root can open after
     * the VMM dropped privileges).
     */
    g_mutex_lock(&svc->peek_lock);
    if (svc->peek && sevsnp_cert_reader_get_store(svc->peek) != store) {
        sevsnp_cert_reader_free(svc->peek);
        svc->peek = NULL;
    }
    if (!svc->peek) {
        svc->peek = sevsnp_cert_reader_new(store);
    }
    t = sevsnp_cert_reader_lock(svc->peek, 0, false, NULL, &e);
    if (t) {
        sevsnp_cert_table_ref(t);
        sevsnp_cert_reader_unlock(svc->peek);
    }
    g_mutex_unlock(&svc->peek_lock);
    if (!t && e->code == SEVSNP_ERROR_BUSY) {
        /* Answer from what is known: the last table validated. */
        *busy = true;
        t = sevsnp_cert_store_last_table(store);
        g_clear_error(&e);
    }
    if (e) {
        g_propagate_error(err, e);
    }
    sevsnp_cert_store_free(store);
    return t;
}

SevsnpCertTable *sevsnp_service_peek_table(SevsnpService *svc, GError **err)
{
    SevsnpCertTable *t;
    g_autofree char *path = NULL;
    bool busy;

    t = sevsnp_service_try_peek(svc, &busy, err);
    if (busy) {
        sevsnp_cert_table_unref(t);
        path = sevsnp_service_get_path(svc);
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                    "%s: busy: an updater holds or awaits the lock", path);
        return NULL;
    }
    return t;
}

bool sevsnp_service_in_flight(SevsnpService *svc, uint32_t vcpu)
{
    VcpuSlot *slot;
    bool r;

    g_mutex_lock(&svc->lock);
    slot = g_hash_table_lookup(svc->slots, GUINT_TO_POINTER(vcpu));
    r = slot && slot->in_flight;
    g_mutex_unlock(&svc->lock);
    return r;
}

static VcpuSlot *slot_get(SevsnpService *svc, uint32_t vcpu)
{
    VcpuSlot *slot = g_hash_table_lookup(svc->slots, GUINT_TO_POINTER(vcpu));

    if (!slot) {
        slot = g_new0(VcpuSlot, 1);
        g_hash_table_insert(svc->slots, GUINT_TO_POINTER(vcpu), slot);
    }
    return slot;
}

/*
 * Give an unlocked reader back to its vCPU for the next request, or free
 * it when it belongs to a store no longer in service or the slot has one.
 */
static void reader_put_back(SevsnpService *svc, uint32_t vcpu,
                            SevsnpCertReader *r)
{
    VcpuSlot *slot;

    if (!r) {
        return;
    }
    sevsnp_cert_reader_unlock(r);
    g_mutex_lock(&svc->lock);
    slot = slot_get(svc, vcpu);
    if (!slot->idle && sevsnp_cert_reader_get_store(r) == svc->store) {
        slot->idle = r;
        r = NULL;
    }
    g_mutex_unlock(&svc->lock);
    sevsnp_cert_reader_free(r);
}

/* The vCPU, and so the VM, answered something else than BUSY. */
static void streak_end(SevsnpService *svc, VcpuSlot *slot)
{
    svc->busy_since = 0;
    slot->busy_since = 0;
}

/*
 * Count an answer other than OK, keep its message, and tell the VMM
 * (events, traces) about anything but TOO_SMALL.
 */
static SevsnpReqResult answer(SevsnpService *svc, uint32_t vcpu,
                              SevsnpReqOutcome outcome, GError *e,
                              GError **err)
{
    SevsnpReqResult r = { .outcome = outcome };
    SevsnpErrorNotify notify;
    void *opaque;
    VcpuSlot *slot;

    g_mutex_lock(&svc->lock);
    slot = slot_get(svc, vcpu);
    switch (outcome) {
    case SEVSNP_REQ_TOO_SMALL:
        svc->stats.too_small++;
        break;
    case SEVSNP_REQ_BUSY:
        svc->stats.busy++;
        break;
    case SEVSNP_REQ_RATE_LIMITED:
        svc->stats.rate_limited++;
        break;
    case SEVSNP_REQ_HOST_FAULT:
        svc->stats.chainless++;
        svc->stats.host_faults++;
        break;
    case SEVSNP_REQ_BUSY_LIMIT:
        svc->stats.chainless++;
        svc->stats.busy_limit++;
        break;
    default:
        svc->stats.errors++;
        break;
    }
    if (outcome != SEVSNP_REQ_BUSY && outcome != SEVSNP_REQ_RATE_LIMITED) {
        streak_end(svc, slot);
    }
    if (outcome != SEVSNP_REQ_TOO_SMALL) {
        g_free(svc->last_error);
        svc->last_error = g_strdup(e->message);
    }
    notify = svc->notify;
    opaque = svc->notify_opaque;
    g_mutex_unlock(&svc->lock);
    if (notify && outcome != SEVSNP_REQ_TOO_SMALL) {
        notify(opaque, vcpu, outcome, e->message);
    }
    g_propagate_error(err, e);
    return r;
}

/*
 * The guest's own buffer: what only the guest can get wrong.  NULL when
 * acceptable.  A request of 0 pages writes nothing and is not checked.
 */
static GError *check_range(uint64_t gpa, uint64_t npages,
                           const SevsnpGuestMemOps *mem, void *opaque)
{
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

/*
 * Since when the VM or the vCPU (the older of the two) has answered
 * nothing but BUSY; @start when neither is answering BUSY.  Called with
 * svc->lock held.
 */
static int64_t streak_start(SevsnpService *svc, VcpuSlot *slot,
                            int64_t start)
{
    int64_t since = start;

    if (svc->busy_since && svc->busy_since < since) {
        since = svc->busy_since;
    }
    if (slot->busy_since && slot->busy_since < since) {
        since = slot->busy_since;
    }
    return since;
}

/* Mark the request in flight: its locks stay until the completion. */
static void mark_answered(SevsnpService *svc, VcpuSlot *slot,
                          SevsnpCertReader *reader, SevsnpCertReader **stale)
{
    if (slot->in_flight) {
        /* A racing request on the same vCPU: only a broken caller. */
        svc->stats.overlapping_requests++;
        svc->stats.in_flight--;
        *stale = slot->held;
    }
    slot->held = reader;
    slot->in_flight = true;
    svc->stats.in_flight++;
}

/*
 * An empty certificate table for a request whose blob cannot be served
 * (@outcome HOST_FAULT or BUSY_LIMIT, @e the reason): written (nothing,
 * for a size probe), answered as success, the completion pending as
 * after any success.
 */
static SevsnpReqResult chainless(SevsnpService *svc, uint32_t vcpu,
                                 uint64_t gpa, uint64_t npages,
                                 const SevsnpGuestMemOps *mem, void *opaque,
                                 SevsnpReqOutcome outcome, GError *e,
                                 GError **err)
{
    static const uint8_t empty[SEVSNP_CERT_ENTRY_SIZE];
    SevsnpCertReader *stale = NULL;
    SevsnpReqResult r;
    VcpuSlot *slot;
    int wr;

    if (npages) {
        wr = mem->write(opaque, gpa, empty, sizeof(empty));
        if (wr < 0) {
            g_error_free(e);
            e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_IO,
                            "writing an empty table at gpa 0x%" PRIx64
                            " failed: %s", gpa, g_strerror(-wr));
            return answer(svc, vcpu, SEVSNP_REQ_ERROR, e, err);
        }
    }
    r = answer(svc, vcpu, outcome, e, err);
    g_mutex_lock(&svc->lock);
    slot = slot_get(svc, vcpu);
    mark_answered(svc, slot, NULL, &stale);
    g_mutex_unlock(&svc->lock);
    reader_put_back(svc, vcpu, stale);
    r.completion_pending = true;
    return r;
}

/*
 * A request that would be answered BUSY (@outcome BUSY or RATE_LIMITED,
 * @e why): an empty table instead once the VM or the vCPU has answered
 * nothing but BUSY for the busy limit, from the start of the request
 * that began the streak.
 */
static SevsnpReqResult busy_or_limit(SevsnpService *svc, uint32_t vcpu,
                                     int64_t start, uint64_t gpa,
                                     uint64_t npages,
                                     const SevsnpGuestMemOps *mem,
                                     void *opaque, SevsnpReqOutcome outcome,
                                     GError *e, GError **err)
{
    int64_t now = g_get_monotonic_time(), since;
    unsigned limit;
    VcpuSlot *slot;
    GError *why;

    g_mutex_lock(&svc->lock);
    slot = slot_get(svc, vcpu);
    since = streak_start(svc, slot, start);
    limit = svc->busy_limit_ms;
    if (now - since >= (int64_t)limit * 1000) {
        g_mutex_unlock(&svc->lock);
        why = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                          "vCPU %u: BUSY for %" PRId64 " ms, the busy "
                          "limit is %u ms: an empty table instead (%s)",
                          vcpu, (now - since) / 1000, limit, e->message);
        g_error_free(e);
        return chainless(svc, vcpu, gpa, npages, mem, opaque,
                         SEVSNP_REQ_BUSY_LIMIT, why, err);
    }
    if (!svc->busy_since) {
        svc->busy_since = start;
    }
    if (!slot->busy_since) {
        slot->busy_since = start;
    }
    g_mutex_unlock(&svc->lock);
    return answer(svc, vcpu, outcome, e, err);
}

/*
 * How long this request may wait for the locks: the lock timeout, cut
 * where the streak would reach the busy limit.
 */
static unsigned wait_ms(SevsnpService *svc, VcpuSlot *slot, int64_t start)
{
    int64_t bound = streak_start(svc, slot, start) +
                    (int64_t)svc->busy_limit_ms * 1000;
    int64_t wait = (int64_t)svc->timeout_ms * 1000;

    if (bound > start && bound - start < wait) {
        wait = bound - start;
    }
    return (wait + 999) / 1000;
}

SevsnpReqResult sevsnp_service_request(SevsnpService *svc, uint32_t vcpu,
                                       uint64_t gpa, uint64_t npages,
                                       const SevsnpGuestMemOps *mem,
                                       void *opaque, GError **err)
{
    SevsnpReqResult r = { .outcome = SEVSNP_REQ_OK };
    SevsnpCertReader *stale = NULL;
    SevsnpWaitCtl ctl = { .vcpu = vcpu };
    int64_t start = g_get_monotonic_time();
    bool probe = npages == 0;
    GError *e = NULL;
    VcpuSlot *slot;
    bool limited;

    g_mutex_lock(&svc->lock);
    svc->stats.requests++;
    slot = slot_get(svc, vcpu);
    if (slot->in_flight) {
        /* KVM has one request per vCPU: the completion was lost. */
        svc->stats.overlapping_requests++;
        svc->stats.in_flight--;
        stale = slot->held;
        slot->held = NULL;
        slot->in_flight = false;
    }
    limited = svc->rl.rate &&
              !sevsnp_rate_limit_take(&svc->rl, start);
    ctl.interrupted = svc->interrupted;
    ctl.opaque = svc->interrupt_opaque;
    g_mutex_unlock(&svc->lock);
    /* A stale request's reader, unlocked, serves the vCPU from now on. */
    reader_put_back(svc, vcpu, stale);
    stale = NULL;

    if (!probe) {
        e = check_range(gpa, npages, mem, opaque);
        if (e) {
            return answer(svc, vcpu, SEVSNP_REQ_ERROR, e, err);
        }
    }
    if (limited) {
        e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                        "vCPU %u: over the certificate request rate limit",
                        vcpu);
        return busy_or_limit(svc, vcpu, start, gpa, npages, mem, opaque,
                             SEVSNP_REQ_RATE_LIMITED, e, err);
    }

    for (int restarts = 0;; restarts++) {
        g_autoptr(GBytes) empty = NULL;
        SevsnpCertReader *reader = NULL, *extra = NULL;
        SevsnpCertStore *store = NULL;
        SevsnpCertTable *t;
        unsigned wait;
        GBytes *blob;
        const void *data;
        gsize len;
        int wr;

        g_mutex_lock(&svc->lock);
        slot = slot_get(svc, vcpu);
        if (svc->store) {
            store = sevsnp_cert_store_ref(svc->store);
            /* This vCPU's descriptor, kept from its last request. */
            reader = slot->idle;
            slot->idle = NULL;
            if (reader && sevsnp_cert_reader_get_store(reader) != store) {
                extra = reader;
                reader = NULL;
            }
        }
        wait = wait_ms(svc, slot, start);
        g_mutex_unlock(&svc->lock);
        sevsnp_cert_reader_free(extra);

        if (store) {
            if (!reader) {
                reader = sevsnp_cert_reader_new(store);
            }
            t = sevsnp_cert_reader_lock(reader, wait, true, &ctl, &e);
            if (!t) {
                bool busy = e->code == SEVSNP_ERROR_BUSY;
                bool retired = sevsnp_cert_store_is_retired(store);

                sevsnp_cert_store_free(store);
                reader_put_back(svc, vcpu, reader);
                if (retired && restarts < MAX_RESTARTS) {
                    /* Another file went into service: ask it. */
                    g_clear_error(&e);
                    continue;
                }
                if (!busy) {
                    return chainless(svc, vcpu, gpa, npages, mem, opaque,
                                     SEVSNP_REQ_HOST_FAULT, e, err);
                }
                if (sevsnp_wait_interrupted(&ctl)) {
                    g_mutex_lock(&svc->lock);
                    svc->stats.interrupted++;
                    g_mutex_unlock(&svc->lock);
                }
                return busy_or_limit(svc, vcpu, start, gpa, npages, mem,
                                     opaque, SEVSNP_REQ_BUSY, e, err);
            }
            sevsnp_cert_store_free(store);
            blob = sevsnp_cert_table_get_blob(t);
        } else {
            empty = sevsnp_cert_table_empty_blob();
            blob = empty;
        }

        data = g_bytes_get_data(blob, &len);
        if (probe && !reader) {
            /* A size probe with nothing to give: success, nothing written. */
        } else if (len > npages << SEVSNP_PAGE_SHIFT) {
            reader_put_back(svc, vcpu, reader);
            r = answer(svc, vcpu, SEVSNP_REQ_TOO_SMALL,
                       g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                                   "guest buffer of %" PRIu64 " pages is "
                                   "too small for %zu bytes", npages,
                                   (size_t)len), err);
            r.required_npages = (len + SEVSNP_PAGE_SIZE - 1) >>
                                SEVSNP_PAGE_SHIFT;
            return r;
        } else {
            wr = mem->write(opaque, gpa, data, len);
            if (wr < 0) {
                reader_put_back(svc, vcpu, reader);
                e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_IO,
                                "writing %zu bytes at gpa 0x%" PRIx64
                                " failed: %s", (size_t)len, gpa,
                                g_strerror(-wr));
                return answer(svc, vcpu, SEVSNP_REQ_ERROR, e, err);
            }
        }

        g_mutex_lock(&svc->lock);
        slot = slot_get(svc, vcpu);
        if (reader && sevsnp_cert_reader_get_store(reader) != svc->store) {
            /*
             * sevsnp_service_set_path() put another file in service
             * after this one was read: never answer with the old one.
             */
            g_mutex_unlock(&svc->lock);
            reader_put_back(svc, vcpu, reader);
            if (restarts < MAX_RESTARTS) {
                continue;
            }
            e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                            "vCPU %u: the certificate file changed %d "
                            "times during the request", vcpu, restarts + 1);
            return busy_or_limit(svc, vcpu, start, gpa, npages, mem, opaque,
                                 SEVSNP_REQ_BUSY, e, err);
        }
        mark_answered(svc, slot, reader, &stale);
        svc->stats.served++;
        streak_end(svc, slot);
        g_mutex_unlock(&svc->lock);
        reader_put_back(svc, vcpu, stale);
        r.completion_pending = true;
        return r;
    }
}

bool sevsnp_service_complete(SevsnpService *svc, uint32_t vcpu)
{
    SevsnpCertReader *reader = NULL;
    VcpuSlot *slot;
    bool ok = false;

    g_mutex_lock(&svc->lock);
    slot = g_hash_table_lookup(svc->slots, GUINT_TO_POINTER(vcpu));
    if (slot && slot->in_flight) {
        reader = slot->held;
        slot->held = NULL;
        slot->in_flight = false;
        svc->stats.in_flight--;
        svc->stats.completions++;
        ok = true;
    } else {
        svc->stats.spurious_completions++;
    }
    g_mutex_unlock(&svc->lock);
    /* The locks go; the descriptor stays for the vCPU's next request. */
    reader_put_back(svc, vcpu, reader);
    return ok;
}

/* ---- ABI glue -------------------------------------------------------- */

/* not in QEMU's copy: begin */
/*
 * QEMU's own sev-snp-certs.c answers KVM_EXIT_SNP_REQ_CERTS with its
 * linux-headers/ struct.
 */
bool sevsnp_handle_req_certs_exit(SevsnpService *svc, uint32_t vcpu,
                                  struct sevsnp_kvm_exit_snp_req_certs *ex,
                                  const SevsnpGuestMemOps *mem, void *opaque)
{
    SevsnpReqResult r = sevsnp_service_request(svc, vcpu, ex->gpa,
                                               ex->npages, mem, opaque, NULL);

    if (r.outcome == SEVSNP_REQ_TOO_SMALL) {
        ex->npages = r.required_npages;
    }
    ex->ret = sevsnp_req_certs_ret(r.outcome);
    return r.completion_pending;
}
/* not in QEMU's copy: end */

bool sevsnp_handle_vmgexit_exit(SevsnpService *svc, uint32_t vcpu,
                                struct sevsnp_kvm_user_vmgexit *ex,
                                const SevsnpGuestMemOps *mem, void *opaque)
{
    SevsnpReqResult r;

    if (ex->type != SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS) {
        GError *e = g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                                "vCPU %u: unknown KVM_EXIT_VMGEXIT type %u",
                                vcpu, ex->type);
        answer(svc, vcpu, SEVSNP_REQ_ERROR, e, NULL);
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
        answer(svc, vcpu, SEVSNP_REQ_ERROR, e, NULL);
        ex->req_certs.ret = SEVSNP_VMGEXIT_RET_GENERIC;
        return false;
    }

    r = sevsnp_service_request(svc, vcpu, ex->req_certs.data_gpa,
                               ex->req_certs.data_npages, mem, opaque, NULL);
    switch (r.outcome) {
    case SEVSNP_REQ_OK:
    case SEVSNP_REQ_HOST_FAULT:
    case SEVSNP_REQ_BUSY_LIMIT:
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
