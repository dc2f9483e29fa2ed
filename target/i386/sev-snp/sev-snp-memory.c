/*
 * SEV-SNP shared/private conversions that never kill the VM on bad input
 *
 * Upstream turns every failed conversion into an internal error that
 * stops the VM.  Here a request is validated as a whole, split per memory
 * section, applied (memory attributes, the page state, release of the
 * backing no longer used: sev-snp-pages.h, QEMU's own RamBlockAttributes
 * where QEMU has them), counted, traced, and a refusal is answered to the
 * guest (KVM_HC_MAP_GPA_RANGE) or stops the VM as a guest error
 * (KVM_EXIT_MEMORY_FAULT) with the reason in QMP.  The certificate writer
 * asks the same page state before writing.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <linux/kvm.h>

#include "qapi/error.h"
#include "qapi/qapi-commands-sev-snp.h"
#include "qapi/qapi-events-sev-snp.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "system/kvm.h"
#include "system/qtest.h"
#include "system/runstate.h"
#include "system/system.h"
#include "monitor/monitor.h"
#include "monitor/hmp-target.h"
#include "libsevsnp.h"
#include "compat.h"
#include "sev-snp-certs.h"
#include "sev-snp-memory.h"
#include "sev-snp-pages.h"
#include "trace.h"

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

static const char *memory_id(SevSnpMemory *m)
{
    const char *id = object_get_canonical_path_component(m->obj);

    return id ? id : "";
}

/* ---- the RAM regions ---- */

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
        return;
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
    g_array_free(c.ranges, TRUE);
    g_array_free(c.sizes, TRUE);
    g_ptr_array_free(c.names, TRUE);
    m->pages = pages;
    qatomic_store_release(&m->built, true);
}

void sev_snp_memory_realize(SevSnpMemory *m)
{
    m->machine_done.notify = memory_build;
    qemu_add_machine_init_done_notifier(&m->machine_done);
}

/* ---- conversions ---- */

/* Count a request refused before it reached the page state. */
static void memory_reject(SevSnpMemory *m, SevsnpConvertOrigin origin,
                          const char *msg)
{
    SevSnpPages *pages = sev_snp_memory_pages(m);

    if (pages) {
        sev_snp_pages_reject(pages, origin, msg);
        return;
    }
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

static void memory_report(SevSnpMemory *m, int cpu, SevsnpConvertOrigin origin,
                          uint64_t gpa, uint64_t npages, bool to_private,
                          const char *msg, bool stopped)
{
    uint64_t size = npages <= (UINT64_MAX >> SEVSNP_PAGE_SHIFT) ?
                    npages << SEVSNP_PAGE_SHIFT : 0;

    SevSnpMemoryErrorSource source = origin == SEVSNP_CONVERT_EXPLICIT ?
        SEV_SNP_MEMORY_ERROR_SOURCE_MAP_GPA_RANGE :
        SEV_SNP_MEMORY_ERROR_SOURCE_MEMORY_FAULT;

    trace_sev_snp_memory_refused(cpu, gpa, npages, to_private, msg);
    BQL_LOCK_GUARD();
    qapi_event_send_sev_snp_memory_error(memory_id(m), source, gpa, size,
                                         to_private, cpu >= 0, cpu, msg,
                                         stopped);
}

/* Convert; on refusal report it.  Returns whether it was done. */
static bool memory_convert(SevSnpMemory *m, int cpu, uint64_t gpa,
                           uint64_t npages, bool to_private,
                           SevsnpConvertOrigin origin, bool stop_on_error)
{
    SevSnpPages *pages = sev_snp_memory_pages(m);
    Error *err = NULL;

    trace_sev_snp_memory_convert(cpu, origin == SEVSNP_CONVERT_EXPLICIT ?
                                 "map-gpa-range" : "memory-fault",
                                 gpa, npages, to_private);
    if (!pages) {
        error_setg(&err, "guest memory is not tracked yet");
        memory_reject(m, origin, error_get_pretty(err));
    } else if (sev_snp_pages_convert(pages, gpa, npages, to_private, origin,
                                     &err)) {
        return true;
    }
    if (stop_on_error) {
        /*
         * The guest cannot go on: it would fault again at once.  Stop it
         * as a guest error, the way a guest panic does, without running
         * the panic action: QEMU stays up and QMP shows why.
         */
        qemu_system_vmstop_request_prepare();
        qemu_system_vmstop_request(RUN_STATE_GUEST_PANICKED);
    }
    memory_report(m, cpu, origin, gpa, npages, to_private,
                  error_get_pretty(err), stop_on_error);
    error_free(err);
    return false;
}

static uint64_t map_gpa_range(SevSnpMemory *m, int cpu, uint64_t gpa,
                              uint64_t npages, bool to_private)
{
    return memory_convert(m, cpu, gpa, npages, to_private,
                          SEVSNP_CONVERT_EXPLICIT, false) ?
           0 : SEVSNP_HC_RET_EINVAL;
}

/* Returns whether the range was converted; else the VM is stopping. */
static bool memory_fault(SevSnpMemory *m, int cpu, uint64_t gpa,
                         uint64_t size, uint64_t flags)
{
    bool to_private = flags & SEVSNP_KVM_MEMORY_EXIT_FLAG_PRIVATE;
    uint64_t npages = size >> SEVSNP_PAGE_SHIFT;

    /* What the range check cannot see: a partial page, unknown flags. */
    if ((size & (SEVSNP_PAGE_SIZE - 1)) ||
        (flags & ~SEVSNP_KVM_MEMORY_EXIT_FLAG_PRIVATE)) {
        g_autofree char *msg = g_strdup_printf(
            "memory fault at 0x%" PRIx64 " size 0x%" PRIx64 " flags 0x%"
            PRIx64 ": %s", gpa, size, flags,
            (size & (SEVSNP_PAGE_SIZE - 1)) ? "size is not whole pages"
                                            : "unknown flags");

        memory_reject(m, SEVSNP_CONVERT_IMPLICIT, msg);
        qemu_system_vmstop_request_prepare();
        qemu_system_vmstop_request(RUN_STATE_GUEST_PANICKED);
        memory_report(m, cpu, SEVSNP_CONVERT_IMPLICIT, gpa, npages,
                      to_private, msg, true);
        return false;
    }
    return memory_convert(m, cpu, gpa, npages, to_private,
                          SEVSNP_CONVERT_IMPLICIT, true);
}

static SevSnpMemory *machine_memory(void)
{
    SevSnpCerts *c = sev_snp_certs_machine();

    return c ? sev_snp_certs_get_memory(c) : NULL;
}

bool sev_snp_memory_handle_map_gpa_range(struct kvm_run *run)
{
    SevSnpMemory *m = machine_memory();

    if (!m || !m->real_kvm) {
        return false;
    }
    run->hypercall.ret = map_gpa_range(m, current_cpu ?
                                       current_cpu->cpu_index : -1,
                                       run->hypercall.args[0],
                                       run->hypercall.args[1],
                                       run->hypercall.args[2] &
                                       SEVSNP_KVM_MAP_GPA_RANGE_ENCRYPTED);
    return true;
}

static int memory_fault_hook(CPUState *cpu, hwaddr gpa, hwaddr size,
                             uint64_t flags)
{
    SevSnpMemory *m = machine_memory();

    if (!m) {
        return kvm_convert_memory(gpa, size,
                                  flags & KVM_MEMORY_EXIT_FLAG_PRIVATE);
    }
    /* Leave the vCPU loop without an internal error when stopping. */
    return memory_fault(m, cpu->cpu_index, gpa, size, flags) ?
           0 : EXCP_INTERRUPT;
}

void sev_snp_memory_kvm_init(SevSnpMemory *m)
{
    kvm_memory_fault_hook = memory_fault_hook;
}

/* ---- QMP and HMP ---- */

static SevSnpMemory *memory_find(const char *id, Error **errp)
{
    SevSnpCerts *c = sev_snp_certs_find(id, errp);

    return c ? sev_snp_certs_get_memory(c) : NULL;
}

SevSnpMemoryInfo *qmp_query_sev_snp_memory(const char *id, Error **errp)
{
    SevSnpMemory *m = memory_find(id, errp);
    SevSnpMemoryRegionList **tail;
    SevSnpMemoryInfo *info;
    SevSnpPages *pages;
    SevsnpPageStats s;

    if (!m) {
        return NULL;
    }
    pages = sev_snp_memory_pages(m);
    if (pages) {
        sev_snp_pages_get_stats(pages, &s);
    } else {
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

static SevSnpMemory *memory_test_only(const char *cmd, const char *id,
                                      bool has_cpu_index, int64_t *cpu_index,
                                      Error **errp)
{
    if (!has_cpu_index) {
        *cpu_index = 0;
    }
    if (!sev_snp_certs_test_only(cmd, *cpu_index, errp)) {
        return NULL;
    }
    return memory_find(id, errp);
}

SevSnpMapGpaRangeResult *qmp_x_sev_snp_inject_map_gpa_range(
    const char *id, bool has_cpu_index, int64_t cpu_index, uint64_t gpa,
    uint64_t npages, bool private, Error **errp)
{
    SevSnpMemory *m = memory_test_only("x-sev-snp-inject-map-gpa-range", id,
                                       has_cpu_index, &cpu_index, errp);
    SevSnpMapGpaRangeResult *r;

    if (!m) {
        return NULL;
    }
    r = g_new0(SevSnpMapGpaRangeResult, 1);
    r->ret = map_gpa_range(m, cpu_index, gpa, npages, private);
    return r;
}

SevSnpMemoryFaultResult *qmp_x_sev_snp_inject_memory_fault(
    const char *id, bool has_cpu_index, int64_t cpu_index, uint64_t gpa,
    uint64_t size, bool private, Error **errp)
{
    SevSnpMemory *m = memory_test_only("x-sev-snp-inject-memory-fault", id,
                                       has_cpu_index, &cpu_index, errp);
    SevSnpMemoryFaultResult *r;

    if (!m) {
        return NULL;
    }
    r = g_new0(SevSnpMemoryFaultResult, 1);
    r->converted = memory_fault(m, cpu_index, gpa, size,
                                private ? SEVSNP_KVM_MEMORY_EXIT_FLAG_PRIVATE
                                        : 0);
    r->vm_stopped = !r->converted;
    return r;
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
