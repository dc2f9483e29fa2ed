/*
 * SEV-SNP guest page state where QEMU keeps none (QEMU 10.0): libsevsnp's
 * page-state tracker holds it, and a conversion sets the memory attributes
 * of every piece (or, undone, of none) and then releases the backing no
 * longer used, as kvm_convert_memory() does.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/atomic.h"
#include "qemu/error-report.h"
#include "qemu/lockable.h"
#include "qemu/thread.h"
#include "system/kvm.h"
#include "sev-snp-pages.h"
#include "trace.h"

struct SevSnpPages {
    SevsnpPageTracker *tracker;
    bool simulated;
    /*
     * Held across a conversion, and by the writes that need their pages
     * to stay shared; the tracker's regions change, and @backing is read
     * or changed, only with it held.  The tracker's queries never wait
     * for it.
     */
    QemuMutex convert;
    QemuMutex lock;         /* held briefly: @pending */
    GArray *backing;        /* SevSnpRamRegion of the tracker's regions */
    GArray *pending;        /* SevSnpRamRegion: the map to apply, or NULL */
    bool has_pending;
    uint64_t inject_gpa;    /* test only: fail there, once */
    bool inject_armed;
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

SevSnpPages *sev_snp_pages_new(bool simulated)
{
    SevSnpPages *p = g_new0(SevSnpPages, 1);

    p->tracker = sevsnp_pages_new();
    p->backing = g_array_new(FALSE, TRUE, sizeof(SevSnpRamRegion));
    p->simulated = simulated;
    qemu_mutex_init(&p->convert);
    qemu_mutex_init(&p->lock);
    return p;
}

void sev_snp_pages_free(SevSnpPages *p)
{
    if (p) {
        sevsnp_pages_free(p->tracker);
        map_free(p->backing);
        map_free(p->pending);
        qemu_mutex_destroy(&p->convert);
        qemu_mutex_destroy(&p->lock);
        g_free(p);
    }
}

/* The pending map, if any, becomes the regions; with @convert held. */
static void apply_pending(SevSnpPages *p)
{
    g_autofree SevsnpRegionSpec *specs = NULL;
    g_autoptr(GError) gerr = NULL;
    GArray *map;

    WITH_QEMU_LOCK_GUARD(&p->lock) {
        map = p->pending;
        p->pending = NULL;
        qatomic_set(&p->has_pending, false);
    }
    if (!map) {
        return;
    }
    specs = g_new0(SevsnpRegionSpec, map->len);
    for (guint i = 0; i < map->len; i++) {
        SevSnpRamRegion *m = &g_array_index(map, SevSnpRamRegion, i);

        specs[i].name = m->name;
        specs[i].gpa = m->gpa;
        specs[i].size = m->size;
        /* Where its bytes live: a page of the same block keeps its state. */
        specs[i].backing = m->rb->offset + m->offset;
    }
    if (!sevsnp_pages_set_regions(p->tracker, specs, map->len, &gerr)) {
        warn_report("sev-snp-guest: the guest RAM is not tracked as it is "
                    "now mapped: %s", gerr->message);
        map_free(map);
        return;
    }
    for (guint i = 0; i < map->len; i++) {
        SevSnpRamRegion *m = &g_array_index(map, SevSnpRamRegion, i);

        trace_sev_snp_memory_region(m->name, m->gpa, m->size);
    }
    map_free(p->backing);
    p->backing = map;
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

GArray *sev_snp_pages_regions(SevSnpPages *p)
{
    return sevsnp_pages_get_regions(p->tracker);
}

/* The region holding [gpa, gpa + len); with @convert held. */
static const SevSnpRamRegion *backing_of(SevSnpPages *p, uint64_t gpa,
                                        uint64_t len)
{
    for (guint i = 0; i < p->backing->len; i++) {
        const SevSnpRamRegion *m = &g_array_index(p->backing,
                                                  SevSnpRamRegion, i);

        if (gpa >= m->gpa && len <= m->size &&
            gpa - m->gpa <= m->size - len) {
            return m;
        }
    }
    g_assert_not_reached();
}

static int pages_set_attributes(void *opaque, uint64_t gpa, uint64_t len,
                                bool to_private)
{
    SevSnpPages *p = opaque;
    int r;

    if (p->simulated) {
        /* No KVM: no memory attributes, but a failure may be injected. */
        if (p->inject_armed && p->inject_gpa >= gpa &&
            p->inject_gpa - gpa < len) {
            p->inject_armed = false;
            return -EIO;
        }
        return 0;
    }
    r = to_private ? kvm_set_memory_attributes_private(gpa, len)
                   : kvm_set_memory_attributes_shared(gpa, len);
    return r < 0 ? r : r ? -EIO : 0;
}

/*
 * Release the backing that is no longer used, as upstream does: the
 * shared pages of a range gone private (not for preallocated huge pages),
 * the guest_memfd pages of a range gone shared.  A failure here does not
 * undo the conversion; it is traced and not counted.
 */
static uint64_t pages_release(void *opaque, uint64_t gpa, uint64_t len,
                              bool to_private, uint64_t changed)
{
    SevSnpPages *p = opaque;
    const SevSnpRamRegion *m = backing_of(p, gpa, len);
    ram_addr_t offset = m->offset + (gpa - m->gpa);
    int r;

    if (to_private && qemu_ram_pagesize(m->rb) == qemu_real_host_page_size()) {
        r = ram_block_discard_range(m->rb, offset, len);
    } else if (!to_private && m->rb->guest_memfd >= 0) {
        r = ram_block_discard_guest_memfd_range(m->rb, offset, len);
    } else {
        return 0;
    }
    trace_sev_snp_memory_release(gpa, len, to_private, r);
    return r ? 0 : changed * SEVSNP_PAGE_SIZE;
}

static const SevsnpConvertOps pages_ops = {
    .set_attributes = pages_set_attributes,
    .release = pages_release,
};

bool sev_snp_pages_convert(SevSnpPages *p, uint64_t gpa, uint64_t npages,
                           bool to_private, SevsnpConvertOrigin origin,
                           Error **errp)
{
    g_autoptr(GError) gerr = NULL;
    gboolean ok;

    convert_lock(p);
    ok = sevsnp_pages_convert(p->tracker, gpa, npages, to_private, origin,
                              &pages_ops, p, &gerr);
    convert_unlock(p);
    if (!ok) {
        error_setg(errp, "%s", gerr->message);
    }
    return ok;
}

void sev_snp_pages_reject(SevSnpPages *p, SevsnpConvertOrigin origin,
                          const char *msg)
{
    sevsnp_pages_reject(p->tracker, origin, msg);
}

bool sev_snp_pages_is_shared(SevSnpPages *p, uint64_t gpa, uint64_t len)
{
    return sevsnp_pages_is_shared(p->tracker, gpa, len);
}

int sev_snp_pages_with_shared(SevSnpPages *p, uint64_t gpa, uint64_t len,
                              int (*fn)(void *opaque), void *opaque)
{
    int ret;

    convert_lock(p);
    ret = sevsnp_pages_with_shared(p->tracker, gpa, len, fn, opaque);
    convert_unlock(p);
    return ret;
}

void sev_snp_pages_get_stats(SevSnpPages *p, SevsnpPageStats *s)
{
    sevsnp_pages_get_stats(p->tracker, s);
}

char *sev_snp_pages_last_error(SevSnpPages *p)
{
    return sevsnp_pages_last_error(p->tracker);
}

bool sev_snp_pages_inject_failure(SevSnpPages *p, uint64_t gpa,
                                  Error **errp)
{
    if (!p->simulated) {
        error_setg(errp, "conversion failures are injected under qtest only");
        return false;
    }
    convert_lock(p);
    p->inject_gpa = gpa;
    p->inject_armed = true;
    convert_unlock(p);
    return true;
}

void sev_snp_pages_inject_disarm(SevSnpPages *p)
{
    convert_lock(p);
    p->inject_armed = false;
    convert_unlock(p);
}
