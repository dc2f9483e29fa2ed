/*
 * SEV-SNP guest page state in QEMU's own RamBlockAttributes (QEMU 10.1 and
 * later): conversions go through kvm_convert_memory_range(), which keeps
 * the per-RAMBlock shared/private bitmap and notifies its
 * RamDiscardListeners (VFIO); queries read that same bitmap.  Here only
 * the counters are kept, and a lock that holds pages shared while the
 * certificate writer writes into them.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/lockable.h"
#include "qemu/thread.h"
#include "system/kvm.h"
#include "ksim.h"
#include "sev-snp-pages.h"
#include "trace.h"

typedef struct Region {
    char *name;
    RAMBlock *rb;
    uint64_t gpa;
    uint64_t size;
    ram_addr_t offset;      /* of gpa within rb */
} Region;

struct SevSnpPages {
    GArray *regions;        /* Region, in address order */
    bool simulated;
    /* Conversions, counters, and writes that need their pages shared. */
    QemuMutex lock;
    SevsnpPageStats stats;  /* the byte totals are read from the bitmaps */
    char *last_error;
};

static int sim_set_attributes(hwaddr start, uint64_t size, bool to_private)
{
    return sevsnp_sim_set_memory_attributes(
        start, size, to_private ? SEVSNP_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0, 0);
}

SevSnpPages *sev_snp_pages_new(bool simulated)
{
    SevSnpPages *p = g_new0(SevSnpPages, 1);

    p->regions = g_array_new(FALSE, TRUE, sizeof(Region));
    p->simulated = simulated;
    qemu_mutex_init(&p->lock);
    return p;
}

void sev_snp_pages_free(SevSnpPages *p)
{
    if (!p) {
        return;
    }
    for (guint i = 0; i < p->regions->len; i++) {
        g_free(g_array_index(p->regions, Region, i).name);
    }
    g_array_free(p->regions, TRUE);
    qemu_mutex_destroy(&p->lock);
    g_free(p->last_error);
    g_free(p);
}

bool sev_snp_pages_add_region(SevSnpPages *p, const char *name, RAMBlock *rb,
                              uint64_t gpa, ram_addr_t offset, uint64_t size,
                              Error **errp)
{
    Region r = {
        .rb = rb, .gpa = gpa, .size = size, .offset = offset,
    };

    if (!rb->attributes && p->simulated) {
        /*
         * No guest_memfd without KVM: give the block the state KVM's
         * guest_memfd RAM gets (all private), so that the same code runs.
         * It lives as long as the block.
         */
        rb->attributes = ram_block_attributes_create(rb);
        kvm_memory_attributes_hook = sim_set_attributes;
    }
    if (!rb->attributes) {
        error_setg(errp, "%s: 0x%" PRIx64 "+0x%" PRIx64 " has no "
                   "shared/private state", name, gpa, size);
        return false;
    }
    if (offset + size > (uint64_t)rb->attributes->bitmap_size *
                        qemu_real_host_page_size()) {
        error_setg(errp, "%s: 0x%" PRIx64 "+0x%" PRIx64 " is past the end "
                   "of its RAM block", name, gpa, size);
        return false;
    }
    r.name = g_strdup(name);
    g_array_append_val(p->regions, r);
    return true;
}

guint sev_snp_pages_n_regions(SevSnpPages *p)
{
    return p->regions->len;
}

/* Shared pages of [first, first + n) host pages of @r's block. */
static uint64_t shared_pages(const Region *r, uint64_t offset, uint64_t len)
{
    long first = offset / qemu_real_host_page_size();
    long n = len / qemu_real_host_page_size();

    return bitmap_count_one_with_offset(r->rb->attributes->bitmap, first, n);
}

void sev_snp_pages_region(SevSnpPages *p, guint i, SevsnpPageRegion *out)
{
    const Region *r = &g_array_index(p->regions, Region, i);
    uint64_t shared;

    QEMU_LOCK_GUARD(&p->lock);
    shared = shared_pages(r, r->offset, r->size) * qemu_real_host_page_size();
    out->name = r->name;
    out->gpa = r->gpa;
    out->size = r->size;
    out->shared_bytes = shared;
    out->private_bytes = r->size - shared;
}

/*
 * Shared pages of the regions' RAM in [gpa, end); *ram gets the bytes of
 * it that are RAM of the regions.  With the lock held.
 */
static uint64_t range_shared(SevSnpPages *p, uint64_t gpa, uint64_t end,
                             uint64_t *ram)
{
    uint64_t n = 0;

    *ram = 0;
    for (guint i = 0; i < p->regions->len; i++) {
        const Region *r = &g_array_index(p->regions, Region, i);
        uint64_t s = MAX(gpa, r->gpa), e = MIN(end, r->gpa + r->size);

        if (s < e) {
            n += shared_pages(r, r->offset + (s - r->gpa), e - s);
            *ram += e - s;
        }
    }
    return n;
}

/* Count a refusal and keep its message; with the lock held. */
static void refuse(SevSnpPages *p, const char *msg)
{
    g_free(p->last_error);
    p->last_error = g_strdup(msg);
    p->stats.rejected++;
}

bool sev_snp_pages_convert(SevSnpPages *p, uint64_t gpa, uint64_t npages,
                           bool to_private, SevsnpConvertOrigin origin,
                           Error **errp)
{
    const char *dir = to_private ? "private" : "shared";
    uint64_t before, after, ram, released = 0, end, changed;
    Error *err = NULL;

    QEMU_LOCK_GUARD(&p->lock);
    if (origin == SEVSNP_CONVERT_EXPLICIT) {
        p->stats.explicit_requests++;
    } else {
        p->stats.implicit_requests++;
    }
    /* The guest's arguments, in the words of the tracker of QEMU 10.0. */
    if (npages == 0) {
        error_setg(&err, "to %s at 0x%" PRIx64 ": 0 pages", dir, gpa);
    } else if (gpa & (SEVSNP_PAGE_SIZE - 1)) {
        error_setg(&err, "to %s at 0x%" PRIx64 ": address not 4 KiB "
                   "aligned", dir, gpa);
    } else if (npages > (UINT64_MAX >> SEVSNP_PAGE_SHIFT) -
                        (gpa >> SEVSNP_PAGE_SHIFT)) {
        error_setg(&err, "to %s at 0x%" PRIx64 ": %" PRIu64 " pages go past "
                   "the end of the address space", dir, gpa, npages);
    }
    if (err) {
        goto refused;
    }
    end = gpa + (npages << SEVSNP_PAGE_SHIFT);
    before = range_shared(p, gpa, end, &ram);
    if (kvm_convert_memory_range(gpa, end - gpa, to_private, &released,
                                 &err)) {
        error_prepend(&err, "to %s: ", dir);
        goto refused;
    }
    after = range_shared(p, gpa, end, &ram);
    changed = to_private ? before - after : after - before;
    if (to_private) {
        p->stats.to_private++;
        p->stats.pages_to_private += changed;
    } else {
        p->stats.to_shared++;
        p->stats.pages_to_shared += changed;
    }
    /* Backing is released for the pages that changed state. */
    released = MIN(released, changed * qemu_real_host_page_size());
    p->stats.released_bytes += released;
    trace_sev_snp_memory_released(gpa, end - gpa, to_private, released);
    return true;

refused:
    refuse(p, error_get_pretty(err));
    error_propagate(errp, err);
    return false;
}

void sev_snp_pages_reject(SevSnpPages *p, SevsnpConvertOrigin origin,
                          const char *msg)
{
    QEMU_LOCK_GUARD(&p->lock);
    if (origin == SEVSNP_CONVERT_EXPLICIT) {
        p->stats.explicit_requests++;
    } else {
        p->stats.implicit_requests++;
    }
    refuse(p, msg);
}

/* With the lock held. */
static bool is_shared(SevSnpPages *p, uint64_t gpa, uint64_t len)
{
    uint64_t ram, shared;

    if (!len || gpa + len < gpa) {
        return false;
    }
    shared = range_shared(p, QEMU_ALIGN_DOWN(gpa, SEVSNP_PAGE_SIZE),
                          QEMU_ALIGN_UP(gpa + len, SEVSNP_PAGE_SIZE), &ram);
    return ram == QEMU_ALIGN_UP(gpa + len, SEVSNP_PAGE_SIZE) -
                  QEMU_ALIGN_DOWN(gpa, SEVSNP_PAGE_SIZE) &&
           shared * qemu_real_host_page_size() == ram;
}

bool sev_snp_pages_is_shared(SevSnpPages *p, uint64_t gpa, uint64_t len)
{
    QEMU_LOCK_GUARD(&p->lock);
    return is_shared(p, gpa, len);
}

int sev_snp_pages_with_shared(SevSnpPages *p, uint64_t gpa, uint64_t len,
                              int (*fn)(void *opaque), void *opaque)
{
    QEMU_LOCK_GUARD(&p->lock);
    return is_shared(p, gpa, len) ? fn(opaque) : -EFAULT;
}

void sev_snp_pages_get_stats(SevSnpPages *p, SevsnpPageStats *s)
{
    QEMU_LOCK_GUARD(&p->lock);
    *s = p->stats;
    s->private_bytes = 0;
    s->shared_bytes = 0;
    for (guint i = 0; i < p->regions->len; i++) {
        const Region *r = &g_array_index(p->regions, Region, i);
        uint64_t shared = shared_pages(r, r->offset, r->size) *
                          qemu_real_host_page_size();

        s->shared_bytes += shared;
        s->private_bytes += r->size - shared;
    }
}

char *sev_snp_pages_last_error(SevSnpPages *p)
{
    QEMU_LOCK_GUARD(&p->lock);
    return g_strdup(p->last_error);
}
