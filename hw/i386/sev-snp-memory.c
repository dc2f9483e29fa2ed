/*
 * SEV-SNP guest memory view: the RAM-region snapshot and its page state,
 * query-sev-snp-memory and "info sev-snp-memory"
 *
 * Machine-level, as QEMU keeps hw/i386/sgx.c: which guest RAM regions an
 * SNP guest has, how much of each is private or shared, and what the
 * conversions did.  The conversions themselves are exit handling, in
 * target/i386/sev-snp/sev-snp-convert.c.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-sev-snp.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "hw/boards.h"
#include "hw/i386/sev-snp-memory.h"
#include "system/kvm.h"
#include "system/qtest.h"
#include "system/system.h"
#include "monitor/monitor.h"
#include "monitor/hmp-target.h"
#include "target/i386/sev-snp/sev-snp-vm.h"
#include "target/i386/sev-snp/trace.h"

struct SevSnpMemory {
    Object *obj;
    SevSnpPages *pages;     /* set once, before built */
    bool built;
    bool real_kvm;          /* KVM_SET_MEMORY_ATTRIBUTES, guest_memfd */
    /* Refusals before the machine is built */
    SevsnpPageStats early;
    char *early_error;
    Notifier machine_done;
};

SevSnpMemory *sev_snp_memory_new(Object *obj)
{
    SevSnpMemory *m = g_new0(SevSnpMemory, 1);

    m->obj = obj;
    return m;
}

void sev_snp_memory_free(SevSnpMemory *m)
{
    if (!m) {
        return;
    }
    if (m->machine_done.notify) {
        qemu_remove_machine_init_done_notifier(&m->machine_done);
    }
    sev_snp_pages_free(m->pages);
    g_free(m->early_error);
    g_free(m);
}

SevSnpPages *sev_snp_memory_pages(SevSnpMemory *m)
{
    return m && qatomic_load_acquire(&m->built) ? m->pages : NULL;
}

bool sev_snp_memory_is_kvm(SevSnpMemory *m)
{
    return sev_snp_memory_pages(m) && m->real_kvm;
}

static const char *memory_id(SevSnpMemory *m)
{
    const char *id = object_get_canonical_path_component(m->obj);

    return id ? id : "";
}

/* ---- the RAM-region snapshot ---- */

/* Where a region lives in host memory. */
typedef struct RegionBacking {
    RAMBlock *rb;
    uint64_t gpa;
    ram_addr_t offset;      /* of gpa within rb */
} RegionBacking;

typedef struct Collect {
    SevSnpMemory *m;
    GArray *ranges;         /* RegionBacking + size, merged */
    GArray *sizes;
    GPtrArray *names;
} Collect;

static bool collect_ram(Int128 start, Int128 len, const MemoryRegion *cmr,
                        hwaddr offset_in_region, void *opaque)
{
    Collect *c = opaque;
    MemoryRegion *mr = (MemoryRegion *)cmr;
    uint64_t gpa = int128_get64(start), size = int128_get64(len);
    RegionBacking b;

    if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) ||
        memory_region_is_rom(mr) || memory_region_is_romd(mr) ||
        mr->readonly || !mr->ram_block) {
        return false;
    }
    if (c->m->real_kvm && !memory_region_has_guest_memfd(mr)) {
        return false;
    }
    if ((gpa | size) & (SEVSNP_PAGE_SIZE - 1)) {
        return false;
    }
    if (c->ranges->len) {
        guint last = c->ranges->len - 1;
        RegionBacking *p = &g_array_index(c->ranges, RegionBacking, last);
        uint64_t *psize = &g_array_index(c->sizes, uint64_t, last);

        if (p->rb == mr->ram_block && p->gpa + *psize == gpa &&
            p->offset + *psize == offset_in_region) {
            *psize += size;
            return false;
        }
    }
    b.rb = mr->ram_block;
    b.gpa = gpa;
    b.offset = offset_in_region;
    g_array_append_val(c->ranges, b);
    g_array_append_val(c->sizes, size);
    g_ptr_array_add(c->names, (gpointer)memory_region_name(mr));
    return false;
}

static void memory_build(Notifier *n, void *data)
{
    SevSnpMemory *m = container_of(n, SevSnpMemory, machine_done);
    Collect c = {
        .m = m,
        .ranges = g_array_new(FALSE, FALSE, sizeof(RegionBacking)),
        .sizes = g_array_new(FALSE, FALSE, sizeof(uint64_t)),
        .names = g_ptr_array_new(),
    };
    MachineState *ms = MACHINE(qdev_get_machine());
    SevSnpPages *pages;

    /*
     * An SNP guest under KVM: its guest_memfd RAM.  Under qtest the
     * simulator stands in for KVM and all writable RAM is taken as
     * guest_memfd-backed.  Otherwise there is nothing to track.
     */
    if (kvm_enabled() && ms->cgs && OBJECT(ms->cgs) == m->obj) {
        m->real_kvm = true;
    } else if (!qtest_enabled()) {
        goto out;
    }
    pages = sev_snp_pages_new(!m->real_kvm);
    WITH_RCU_READ_LOCK_GUARD() {
        flatview_for_each_range(address_space_to_flatview(
                                    &address_space_memory),
                                collect_ram, &c);
    }
    for (guint i = 0; i < c.ranges->len; i++) {
        RegionBacking *b = &g_array_index(c.ranges, RegionBacking, i);
        uint64_t size = g_array_index(c.sizes, uint64_t, i);
        const char *name = g_ptr_array_index(c.names, i);
        Error *err = NULL;

        /* Collected in address order, as the page state wants them. */
        if (!sev_snp_pages_add_region(pages, name, b->rb, b->gpa, b->offset,
                                      size, &err)) {
            warn_reportf_err(err, "sev-snp-guest '%s': ", memory_id(m));
            continue;
        }
        trace_sev_snp_memory_region(name, b->gpa, size);
    }
    m->pages = pages;
    qatomic_store_release(&m->built, true);
out:
    g_array_free(c.ranges, TRUE);
    g_array_free(c.sizes, TRUE);
    g_ptr_array_free(c.names, TRUE);
}

void sev_snp_memory_realize(SevSnpMemory *m)
{
    m->machine_done.notify = memory_build;
    qemu_add_machine_init_done_notifier(&m->machine_done);
}

void sev_snp_memory_reject_early(SevSnpMemory *m, SevsnpConvertOrigin origin,
                                 const char *msg)
{
    BQL_LOCK_GUARD();
    if (origin == SEVSNP_CONVERT_EXPLICIT) {
        m->early.explicit_requests++;
    } else {
        m->early.implicit_requests++;
    }
    m->early.rejected++;
    g_free(m->early_error);
    m->early_error = g_strdup(msg);
}

/* ---- QMP and HMP ---- */

SevSnpMemoryInfo *qmp_query_sev_snp_memory(const char *id, Error **errp)
{
    SevSnpVm *vm = sev_snp_vm_find(id, errp);
    SevSnpMemoryRegionList **tail;
    SevSnpMemoryInfo *info;
    SevSnpMemory *m;
    SevSnpPages *pages;
    SevsnpPageStats s;

    if (!vm) {
        return NULL;
    }
    m = sev_snp_vm_memory(vm);
    pages = sev_snp_memory_pages(m);
    if (pages) {
        sev_snp_pages_get_stats(pages, &s);
    } else {
        BQL_LOCK_GUARD();
        s = m->early;
    }
    info = g_new0(SevSnpMemoryInfo, 1);
    info->id = g_strdup(memory_id(m));
    info->private_bytes = s.private_bytes;
    info->shared_bytes = s.shared_bytes;
    info->conversions_to_private = s.to_private;
    info->conversions_to_shared = s.to_shared;
    info->pages_to_private = s.pages_to_private;
    info->pages_to_shared = s.pages_to_shared;
    info->explicit_requests = s.explicit_requests;
    info->implicit_requests = s.implicit_requests;
    info->rejected = s.rejected;
    info->released_bytes = s.released_bytes;
    info->last_error = pages ? sev_snp_pages_last_error(pages)
                             : g_strdup(m->early_error);
    tail = &info->regions;
    for (guint i = 0; pages && i < sev_snp_pages_n_regions(pages); i++) {
        SevSnpMemoryRegion *r = g_new0(SevSnpMemoryRegion, 1);
        SevsnpPageRegion pr;

        sev_snp_pages_region(pages, i, &pr);
        r->name = g_strdup(pr.name);
        r->gpa = pr.gpa;
        r->size = pr.size;
        r->private_bytes = pr.private_bytes;
        r->shared_bytes = pr.shared_bytes;
        QAPI_LIST_APPEND(tail, r);
    }
    return info;
}

void hmp_info_sev_snp_memory(Monitor *mon, const QDict *qdict)
{
    Error *err = NULL;
    g_autoptr(SevSnpMemoryInfo) info = qmp_query_sev_snp_memory(NULL, &err);

    if (!info) {
        monitor_printf(mon, "%s\n", error_get_pretty(err));
        error_free(err);
        return;
    }
    monitor_printf(mon, "sev-snp-guest %s: private %" PRIu64 " MiB, shared %"
                   PRIu64 " KiB\n", info->id, info->private_bytes / MiB,
                   info->shared_bytes / KiB);
    for (SevSnpMemoryRegionList *l = info->regions; l; l = l->next) {
        monitor_printf(mon, "  %-12s 0x%016" PRIx64 " +0x%" PRIx64
                       ": private %" PRIu64 " KiB, shared %" PRIu64 " KiB\n",
                       l->value->name, l->value->gpa, l->value->size,
                       l->value->private_bytes / KiB,
                       l->value->shared_bytes / KiB);
    }
    monitor_printf(mon, "  conversions: to private %" PRIu64 " (%" PRIu64
                   " pages), to shared %" PRIu64 " (%" PRIu64 " pages)\n",
                   info->conversions_to_private, info->pages_to_private,
                   info->conversions_to_shared, info->pages_to_shared);
    monitor_printf(mon, "  requests: explicit %" PRIu64 ", implicit %" PRIu64
                   ", rejected %" PRIu64 "; released %" PRIu64 " KiB\n",
                   info->explicit_requests, info->implicit_requests,
                   info->rejected, info->released_bytes / KiB);
    if (info->last_error) {
        monitor_printf(mon, "  last error: %s\n", info->last_error);
    }
}
