/*
 * SEV-SNP guest page state where QEMU keeps none (QEMU 10.0): libsevsnp's
 * page-state tracker holds it, and a conversion sets the memory attributes
 * and releases the backing no longer used, as kvm_convert_memory() does.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/kvm.h"
#include "ksim.h"
#include "sev-snp-pages.h"
#include "trace.h"

/* Where region i of the tracker lives in host memory. */
typedef struct RegionBacking {
    RAMBlock *rb;
    uint64_t gpa;
    ram_addr_t offset;      /* of gpa within rb */
} RegionBacking;

struct SevSnpPages {
    SevsnpPageTracker *tracker;
    GArray *backing;        /* RegionBacking, index = tracker region */
    bool simulated;
};

SevSnpPages *sev_snp_pages_new(bool simulated)
{
    SevSnpPages *p = g_new0(SevSnpPages, 1);

    p->tracker = sevsnp_pages_new();
    p->backing = g_array_new(FALSE, TRUE, sizeof(RegionBacking));
    p->simulated = simulated;
    return p;
}

void sev_snp_pages_free(SevSnpPages *p)
{
    if (p) {
        sevsnp_pages_free(p->tracker);
        g_array_free(p->backing, TRUE);
        g_free(p);
    }
}

bool sev_snp_pages_add_region(SevSnpPages *p, const char *name, RAMBlock *rb,
                              uint64_t gpa, ram_addr_t offset, uint64_t size,
                              Error **errp)
{
    g_autoptr(GError) gerr = NULL;
    RegionBacking b = { .rb = rb, .gpa = gpa, .offset = offset };

    if (!sevsnp_pages_add_region(p->tracker, name, gpa, size, true, &gerr)) {
        error_setg(errp, "%s", gerr->message);
        return false;
    }
    g_array_append_val(p->backing, b);
    return true;
}

guint sev_snp_pages_n_regions(SevSnpPages *p)
{
    return sevsnp_pages_n_regions(p->tracker);
}

void sev_snp_pages_region(SevSnpPages *p, guint i, SevsnpPageRegion *r)
{
    sevsnp_pages_region(p->tracker, i, r);
}

static int pages_apply(void *opaque, guint region, uint64_t gpa,
                       uint64_t len, bool to_private, uint64_t changed,
                       uint64_t *released)
{
    SevSnpPages *p = opaque;
    RegionBacking *b = &g_array_index(p->backing, RegionBacking, region);
    ram_addr_t offset = b->offset + (gpa - b->gpa);
    int r;

    if (!p->simulated) {
        r = to_private ? kvm_set_memory_attributes_private(gpa, len)
                       : kvm_set_memory_attributes_shared(gpa, len);
        r = r ? -EIO : 0;
    } else {
        r = sevsnp_sim_set_memory_attributes(
            gpa, len, to_private ? SEVSNP_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
            0);
    }
    if (r) {
        return r;
    }

    /*
     * Release the backing that is no longer used, as upstream does: the
     * shared pages of a range gone private (not for preallocated huge
     * pages), the guest_memfd pages of a range gone shared.  A failure
     * here does not undo the conversion; it is traced and not counted.
     */
    if (to_private && qemu_ram_pagesize(b->rb) == qemu_real_host_page_size()) {
        r = ram_block_discard_range(b->rb, offset, len);
    } else if (!to_private && b->rb->guest_memfd >= 0) {
        r = ram_block_discard_guest_memfd_range(b->rb, offset, len);
    } else {
        return 0;
    }
    trace_sev_snp_memory_release(gpa, len, to_private, r);
    if (!r) {
        *released = changed * SEVSNP_PAGE_SIZE;
    }
    return 0;
}

bool sev_snp_pages_convert(SevSnpPages *p, uint64_t gpa, uint64_t npages,
                           bool to_private, SevsnpConvertOrigin origin,
                           Error **errp)
{
    g_autoptr(GError) gerr = NULL;

    if (!sevsnp_pages_convert(p->tracker, gpa, npages, to_private, origin,
                              pages_apply, p, &gerr)) {
        error_setg(errp, "%s", gerr->message);
        return false;
    }
    return true;
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
    return sevsnp_pages_with_shared(p->tracker, gpa, len, fn, opaque);
}

void sev_snp_pages_get_stats(SevSnpPages *p, SevsnpPageStats *s)
{
    sevsnp_pages_get_stats(p->tracker, s);
}

char *sev_snp_pages_last_error(SevSnpPages *p)
{
    return sevsnp_pages_last_error(p->tracker);
}
