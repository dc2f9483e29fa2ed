/*
 * SEV-SNP guest memory view: the guest RAM regions and their page state,
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
    MemoryListener listener;
    bool listening;
    bool changed;           /* sections came or went in this transaction */
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
    if (m->listening) {
        memory_listener_unregister(&m->listener);
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

/* ---- the guest RAM regions, as the memory map changes ---- */

typedef struct Collect {
    SevSnpMemory *m;
    GArray *map;            /* SevSnpRamRegion, merged */
} Collect;

static bool collect_ram(Int128 start, Int128 len, const MemoryRegion *cmr,
                        hwaddr offset_in_region, void *opaque)
{
    Collect *c = opaque;
    MemoryRegion *mr = (MemoryRegion *)cmr;
    uint64_t gpa = int128_get64(start), size = int128_get64(len);
    SevSnpRamRegion r;

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
    if (c->map->len) {
        SevSnpRamRegion *p = &g_array_index(c->map, SevSnpRamRegion,
                                            c->map->len - 1);

        if (p->rb == mr->ram_block && p->gpa + p->size == gpa &&
            p->offset + p->size == offset_in_region) {
            p->size += size;
            return false;
        }
    }
    r.name = g_strdup(memory_region_name(mr));
    r.rb = mr->ram_block;
    r.gpa = gpa;
    r.offset = offset_in_region;
    r.size = size;
    memory_region_ref(mr);
    g_array_append_val(c->map, r);
    return false;
}

/* The guest RAM regions of the current memory map, to the page state. */
static void memory_update(SevSnpMemory *m)
{
    Collect c = {
        .m = m,
        .map = g_array_new(FALSE, FALSE, sizeof(SevSnpRamRegion)),
    };

    WITH_RCU_READ_LOCK_GUARD() {
        flatview_for_each_range(address_space_to_flatview(
                                    &address_space_memory),
                                collect_ram, &c);
    }
    /* In address order, as the page state wants them. */
    sev_snp_pages_set_map(m->pages, c.map);
}

static void memory_section_changed(MemoryListener *l,
                                   MemoryRegionSection *section)
{
    SevSnpMemory *m = container_of(l, SevSnpMemory, listener);

    if (memory_region_is_ram(section->mr)) {
        m->changed = true;
    }
}

/* Once per memory transaction that added or removed RAM sections. */
static void memory_commit(MemoryListener *l)
{
    SevSnpMemory *m = container_of(l, SevSnpMemory, listener);

    if (m->changed) {
        m->changed = false;
        memory_update(m);
    }
}

static void memory_build(Notifier *n, void *data)
{
    SevSnpMemory *m = container_of(n, SevSnpMemory, machine_done);
    MachineState *ms = MACHINE(qdev_get_machine());

    /*
     * An SNP guest under KVM: its guest_memfd RAM.  Under qtest there is
     * no KVM, and all writable RAM is taken as guest_memfd-backed.
     * Otherwise there is nothing to track.
     */
    if (kvm_enabled() && ms->cgs && OBJECT(ms->cgs) == m->obj) {
        m->real_kvm = true;
    } else if (!qtest_enabled()) {
        return;
    }
    m->pages = sev_snp_pages_new(!m->real_kvm);
    /*
     * Follow the memory map from now on (RAM mapped later, such as PAM's
     * RAM below 1 MiB, or hot-plugged): registering replays the current
     * sections and commits them.
     */
    m->listener = (MemoryListener) {
        .name = "sev-snp-memory",
        .region_add = memory_section_changed,
        .region_del = memory_section_changed,
        .commit = memory_commit,
    };
    memory_listener_register(&m->listener, &address_space_memory);
    m->listening = true;
    qatomic_store_release(&m->built, true);
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

/*
 * Answered from what is known now: the page state's counters and region
 * totals are behind a lock no conversion holds for long, so the monitor
 * never waits for one to finish.
 */
SevSnpMemoryInfo *qmp_query_sev_snp_memory(const char *id, Error **errp)
{
    SevSnpVm *vm = sev_snp_vm_find(id, errp);
    g_autoptr(GArray) regions = NULL;
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
        regions = sev_snp_pages_regions(pages);
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
    for (guint i = 0; regions && i < regions->len; i++) {
        SevsnpPageRegion *pr = &g_array_index(regions, SevsnpPageRegion, i);
        SevSnpMemoryRegion *r = g_new0(SevSnpMemoryRegion, 1);

        r->name = g_strdup(pr->name);
        r->gpa = pr->gpa;
        r->size = pr->size;
        r->private_bytes = pr->private_bytes;
        r->shared_bytes = pr->shared_bytes;
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
