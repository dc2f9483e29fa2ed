/*
 * SEV-SNP guest page state in QEMU's own RamBlockAttributes (QEMU 10.1 and
 * later): conversions go through kvm_convert_memory_range(), which keeps
 * the per-RAMBlock shared/private bitmap and notifies its
 * RamDiscardListeners (VFIO).  Here only the counters are kept: the
 * shared pages of each region, counted from the bitmaps by whoever holds
 * @convert, and the conversion counters.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/atomic.h"
#include "qemu/bitmap.h"
#include "qemu/error-report.h"
#include "qemu/lockable.h"
#include "qemu/thread.h"
#include "system/kvm.h"
#include "sev-snp-pages.h"
#include "trace.h"

typedef struct Region {
    char *name;
    RAMBlock *rb;           /* its memory region is referenced */
    uint64_t gpa;
    uint64_t size;
    ram_addr_t offset;      /* of gpa within rb */
    uint64_t shared;        /* shared pages */
} Region;

/* Test only: a RamDiscardListener that refuses to populate, once. */
typedef struct Injected {
    RamDiscardListener rdl;
    MemoryRegionSection section;
    bool armed;
} Injected;

struct SevSnpPages {
    bool simulated;
    /*
     * Held across a conversion, and by the writes that need their pages
     * to stay shared; the bitmaps are read, and the regions changed, only
     * with it held.
     */
    QemuMutex convert;
    /* Held briefly: the regions array, counters, last error, pending map. */
    QemuMutex lock;
    GArray *regions;        /* Region, in address order */
    GArray *pending;        /* SevSnpRamRegion: the map to apply, or NULL */
    bool has_pending;
    SevsnpPageStats stats;  /* the byte totals are summed from the regions */
    char *last_error;
    GArray *before;         /* uint64_t per region; @convert */
    GArray *after;
    GPtrArray *injected;    /* Injected */
};

static void map_free(GArray *map)
{
    for (guint i = 0; map && i < map->len; i++) {
        SevSnpRamRegion *m = &g_array_index(map, SevSnpRamRegion, i);

        g_free(m->name);
        memory_region_unref(m->rb->mr);
    }
    if (map) {
        g_array_free(map, TRUE);
    }
}

static void regions_free(GArray *regions)
{
    for (guint i = 0; i < regions->len; i++) {
        Region *r = &g_array_index(regions, Region, i);

        g_free(r->name);
        memory_region_unref(r->rb->mr);
    }
    g_array_free(regions, TRUE);
}

SevSnpPages *sev_snp_pages_new(bool simulated)
{
    SevSnpPages *p = g_new0(SevSnpPages, 1);

    p->regions = g_array_new(FALSE, TRUE, sizeof(Region));
    p->before = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    p->after = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    p->simulated = simulated;
    qemu_mutex_init(&p->convert);
    qemu_mutex_init(&p->lock);
    return p;
}

void sev_snp_pages_free(SevSnpPages *p)
{
    if (!p) {
        return;
    }
    regions_free(p->regions);
    map_free(p->pending);
    g_array_free(p->before, TRUE);
    g_array_free(p->after, TRUE);
    if (p->injected) {
        for (guint i = 0; i < p->injected->len; i++) {
            Injected *in = g_ptr_array_index(p->injected, i);
            RAMBlock *rb = in->section.mr->ram_block;

            ram_discard_manager_unregister_listener(
                RAM_DISCARD_MANAGER(rb->attributes), &in->rdl);
            memory_region_unref(in->section.mr);
            g_free(in);
        }
        g_ptr_array_free(p->injected, TRUE);
    }
    qemu_mutex_destroy(&p->convert);
    qemu_mutex_destroy(&p->lock);
    g_free(p->last_error);
    g_free(p);
}

/* Shared pages of [offset, offset + len) of @rb; with @convert held. */
static uint64_t shared_pages(RAMBlock *rb, uint64_t offset, uint64_t len)
{
    long first = offset / qemu_real_host_page_size();
    long n = len / qemu_real_host_page_size();

    return bitmap_count_one_with_offset(rb->attributes->bitmap, first, n);
}

static bool same_regions(GArray *a, GArray *b)
{
    if (a->len != b->len) {
        return false;
    }
    for (guint i = 0; i < a->len; i++) {
        Region *x = &g_array_index(a, Region, i);
        Region *y = &g_array_index(b, Region, i);

        if (x->rb != y->rb || x->gpa != y->gpa || x->size != y->size ||
            x->offset != y->offset) {
            return false;
        }
    }
    return true;
}

/* The pending map, if any, becomes the regions; with @convert held. */
static void apply_pending(SevSnpPages *p)
{
    GArray *map, *regions, *old;

    WITH_QEMU_LOCK_GUARD(&p->lock) {
        map = p->pending;
        p->pending = NULL;
        qatomic_set(&p->has_pending, false);
    }
    if (!map) {
        return;
    }
    regions = g_array_sized_new(FALSE, TRUE, sizeof(Region), map->len);
    for (guint i = 0; i < map->len; i++) {
        SevSnpRamRegion *m = &g_array_index(map, SevSnpRamRegion, i);
        Region r = {
            .rb = m->rb, .gpa = m->gpa, .size = m->size, .offset = m->offset,
        };

        if (!m->rb->attributes ||
            m->offset + m->size > (uint64_t)m->rb->attributes->bitmap_size *
                                  qemu_real_host_page_size()) {
            warn_report("sev-snp-guest: %s 0x%" PRIx64 "+0x%" PRIx64 " has "
                        "no shared/private state: not tracked", m->name,
                        m->gpa, m->size);
            continue;
        }
        r.name = g_strdup(m->name);
        r.shared = shared_pages(r.rb, r.offset, r.size);
        memory_region_ref(r.rb->mr);
        g_array_append_val(regions, r);
    }
    map_free(map);
    WITH_QEMU_LOCK_GUARD(&p->lock) {
        old = p->regions;
        p->regions = regions;
    }
    if (!same_regions(old, regions)) {
        for (guint i = 0; i < regions->len; i++) {
            Region *r = &g_array_index(regions, Region, i);

            trace_sev_snp_memory_region(r->name, r->gpa, r->size);
        }
    }
    regions_free(old);
}

/* Apply a pending map for as long as @convert is free. */
static void try_apply(SevSnpPages *p)
{
    /*
     * Unlocked @convert (or set has_pending) before reading has_pending:
     * of two threads doing each, one sees the other.
     */
    smp_mb();
    while (qatomic_read(&p->has_pending) &&
           qemu_mutex_trylock(&p->convert) == 0) {
        apply_pending(p);
        qemu_mutex_unlock(&p->convert);
        smp_mb();       /* unlock, then read has_pending, as above */
    }
}

static void convert_lock(SevSnpPages *p)
{
    qemu_mutex_lock(&p->convert);
    apply_pending(p);
}

/* A map set while @convert was held is applied now. */
static void convert_unlock(SevSnpPages *p)
{
    qemu_mutex_unlock(&p->convert);
    try_apply(p);
}

void sev_snp_pages_set_map(SevSnpPages *p, GArray *map)
{
    GArray *old;

    for (guint i = 0; p->simulated && i < map->len; i++) {
        RAMBlock *rb = g_array_index(map, SevSnpRamRegion, i).rb;

        if (!rb->attributes) {
            /*
             * No guest_memfd without KVM: give the block the state KVM's
             * guest_memfd RAM gets (all private), so that the same code
             * runs.  It lives as long as the block.
             */
            rb->attributes = ram_block_attributes_create(rb);
        }
    }
    WITH_QEMU_LOCK_GUARD(&p->lock) {
        old = p->pending;
        p->pending = map;
        qatomic_set(&p->has_pending, true);
    }
    map_free(old);
    /*
     * If a conversion holds @convert, it applies the map as it lets go:
     * either it sees has_pending, or our trylock sees it free.
     */
    try_apply(p);
}

static void page_region_clear(gpointer p)
{
    g_free((char *)((SevsnpPageRegion *)p)->name);
}

GArray *sev_snp_pages_regions(SevSnpPages *p)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(SevsnpPageRegion));
    const uint64_t psize = qemu_real_host_page_size();

    g_array_set_clear_func(a, page_region_clear);
    QEMU_LOCK_GUARD(&p->lock);
    for (guint i = 0; i < p->regions->len; i++) {
        const Region *r = &g_array_index(p->regions, Region, i);
        SevsnpPageRegion d = {
            .name = g_strdup(r->name),
            .gpa = r->gpa,
            .size = r->size,
            .shared_bytes = r->shared * psize,
            .private_bytes = r->size - r->shared * psize,
        };

        g_array_append_val(a, d);
    }
    return a;
}

/* Count a refusal and keep its message; with @lock held. */
static void refuse(SevSnpPages *p, const char *msg)
{
    g_free(p->last_error);
    p->last_error = g_strdup(msg);
    p->stats.rejected++;
}

/* Shared pages of the regions' RAM in [gpa, end), per region into @out. */
static void count_range(SevSnpPages *p, uint64_t gpa, uint64_t end,
                        GArray *out)
{
    g_array_set_size(out, 0);
    for (guint i = 0; i < p->regions->len; i++) {
        const Region *r = &g_array_index(p->regions, Region, i);
        uint64_t s = MAX(gpa, r->gpa), e = MIN(end, r->gpa + r->size);
        uint64_t n = s < e ? shared_pages(r->rb, r->offset + (s - r->gpa),
                                          e - s) : 0;

        g_array_append_val(out, n);
    }
}

bool sev_snp_pages_convert(SevSnpPages *p, uint64_t gpa, uint64_t npages,
                           bool to_private, SevsnpConvertOrigin origin,
                           Error **errp)
{
    const char *dir = to_private ? "private" : "shared";
    uint64_t released = 0, end, changed = 0;
    Error *err = NULL;
    int release_ret;

    WITH_QEMU_LOCK_GUARD(&p->lock) {
        if (origin == SEVSNP_CONVERT_EXPLICIT) {
            p->stats.explicit_requests++;
        } else {
            p->stats.implicit_requests++;
        }
    }
    /* The guest's arguments (the same words on every line we build). */
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

    convert_lock(p);
    count_range(p, gpa, end, p->before);
    if (kvm_convert_memory_range(gpa, end - gpa, to_private, &released,
                                 &release_ret, &err)) {
        convert_unlock(p);
        error_prepend(&err, "to %s: ", dir);
        goto refused;
    }
    count_range(p, gpa, end, p->after);
    WITH_QEMU_LOCK_GUARD(&p->lock) {
        for (guint i = 0; i < p->regions->len; i++) {
            Region *r = &g_array_index(p->regions, Region, i);
            uint64_t was = g_array_index(p->before, uint64_t, i);
            uint64_t now = g_array_index(p->after, uint64_t, i);

            changed += to_private ? was - now : now - was;
            r->shared += now - was;
        }
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
    }
    convert_unlock(p);
    if (release_ret) {
        trace_sev_snp_memory_release(gpa, end - gpa, to_private,
                                     release_ret);
    }
    trace_sev_snp_memory_released(gpa, end - gpa, to_private, released);
    return true;

refused:
    WITH_QEMU_LOCK_GUARD(&p->lock) {
        refuse(p, error_get_pretty(err));
    }
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

/* With @convert held. */
static bool is_shared(SevSnpPages *p, uint64_t gpa, uint64_t len)
{
    uint64_t start, end, ram = 0;

    if (!len || gpa + len < gpa) {
        return false;
    }
    start = QEMU_ALIGN_DOWN(gpa, SEVSNP_PAGE_SIZE);
    end = QEMU_ALIGN_UP(gpa + len, SEVSNP_PAGE_SIZE);
    for (guint i = 0; i < p->regions->len; i++) {
        const Region *r = &g_array_index(p->regions, Region, i);
        uint64_t s = MAX(start, r->gpa), e = MIN(end, r->gpa + r->size);

        if (s >= e) {
            continue;
        }
        if (shared_pages(r->rb, r->offset + (s - r->gpa), e - s) *
            qemu_real_host_page_size() != e - s) {
            return false;
        }
        ram += e - s;
    }
    return ram == end - start;
}

bool sev_snp_pages_is_shared(SevSnpPages *p, uint64_t gpa, uint64_t len)
{
    bool ok;

    convert_lock(p);
    ok = is_shared(p, gpa, len);
    convert_unlock(p);
    return ok;
}

int sev_snp_pages_with_shared(SevSnpPages *p, uint64_t gpa, uint64_t len,
                              int (*fn)(void *opaque), void *opaque)
{
    int ret;

    convert_lock(p);
    ret = is_shared(p, gpa, len) ? fn(opaque) : -EFAULT;
    convert_unlock(p);
    return ret;
}

void sev_snp_pages_get_stats(SevSnpPages *p, SevsnpPageStats *s)
{
    const uint64_t psize = qemu_real_host_page_size();

    QEMU_LOCK_GUARD(&p->lock);
    *s = p->stats;
    s->private_bytes = 0;
    s->shared_bytes = 0;
    for (guint i = 0; i < p->regions->len; i++) {
        const Region *r = &g_array_index(p->regions, Region, i);

        s->shared_bytes += r->shared * psize;
        s->private_bytes += r->size - r->shared * psize;
    }
}

char *sev_snp_pages_last_error(SevSnpPages *p)
{
    QEMU_LOCK_GUARD(&p->lock);
    return g_strdup(p->last_error);
}

/* ---- test only ---- */

static int injected_populate(RamDiscardListener *rdl,
                             MemoryRegionSection *section)
{
    Injected *in = container_of(rdl, Injected, rdl);

    if (in->armed) {
        in->armed = false;
        return -EBUSY;
    }
    return 0;
}

static void injected_discard(RamDiscardListener *rdl,
                             MemoryRegionSection *section)
{
}

bool sev_snp_pages_inject_failure(SevSnpPages *p, uint64_t gpa,
                                  Error **errp)
{
    const Region *found = NULL;
    Injected *in;

    if (!p->simulated) {
        error_setg(errp, "conversion failures are injected under qtest only");
        return false;
    }
    convert_lock(p);
    for (guint i = 0; i < p->regions->len; i++) {
        const Region *r = &g_array_index(p->regions, Region, i);

        if (gpa >= r->gpa && gpa - r->gpa < r->size) {
            found = r;
        }
    }
    if (!found) {
        convert_unlock(p);
        error_setg(errp, "0x%" PRIx64 " is not guest RAM", gpa);
        return false;
    }
    in = g_new0(Injected, 1);
    in->section = (MemoryRegionSection) {
        .mr = found->rb->mr,
        .offset_within_region = QEMU_ALIGN_DOWN(found->offset +
                                                (gpa - found->gpa),
                                                qemu_real_host_page_size()),
        .size = int128_make64(qemu_real_host_page_size()),
    };
    memory_region_ref(in->section.mr);
    ram_discard_listener_init(&in->rdl, injected_populate, injected_discard,
                              true);
    ram_discard_manager_register_listener(
        RAM_DISCARD_MANAGER(found->rb->attributes), &in->rdl, &in->section);
    in->armed = true;
    if (!p->injected) {
        p->injected = g_ptr_array_new();
    }
    g_ptr_array_add(p->injected, in);
    convert_unlock(p);
    return true;
}

void sev_snp_pages_inject_disarm(SevSnpPages *p)
{
    convert_lock(p);
    for (guint i = 0; p->injected && i < p->injected->len; i++) {
        ((Injected *)g_ptr_array_index(p->injected, i))->armed = false;
    }
    convert_unlock(p);
}
