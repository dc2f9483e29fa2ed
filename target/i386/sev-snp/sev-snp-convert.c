/*
 * SEV-SNP shared/private conversions that never kill the VM on bad input
 *
 * Upstream turns every failed conversion into an internal error that
 * stops the VM.  Here a request is validated as a whole, split per memory
 * section, applied (memory attributes, the page state, release of the
 * backing no longer used: sev-snp-pages.h, QEMU's own RamBlockAttributes
 * where QEMU has them), counted, traced, and a refusal is answered to the
 * guest (KVM_HC_MAP_GPA_RANGE) or stops the VM as a guest error
 * (KVM_EXIT_MEMORY_FAULT) with the reason in QMP.  The page state belongs
 * to the guest's memory view (hw/i386/sev-snp-memory.c).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "qapi/error.h"
#include "qapi/qapi-commands-sev-snp.h"
#include "qapi/qapi-events-sev-snp.h"
#include "qemu/main-loop.h"
#include "hw/core/cpu.h"
#include "hw/i386/sev-snp-memory.h"
#include "system/runstate.h"
#include "libsevsnp.h"
#include "sev-snp-convert.h"
#include "target/i386/sev-snp.h"
#include "trace.h"

/* Count a request refused before it reached the page state. */
static void convert_reject(SevSnpMemory *m, SevsnpConvertOrigin origin,
                           const char *msg)
{
    SevSnpPages *pages = sev_snp_memory_pages(m);

    if (pages) {
        sev_snp_pages_reject(pages, origin, msg);
    } else {
        sev_snp_memory_reject_early(m, origin, msg);
    }
}

static void convert_report(SevSnpVm *vm, int cpu, SevsnpConvertOrigin origin,
                           uint64_t gpa, uint64_t npages, bool to_private,
                           const char *msg, bool stopped)
{
    uint64_t size = npages <= (UINT64_MAX >> SEVSNP_PAGE_SHIFT) ?
                    npages << SEVSNP_PAGE_SHIFT : 0;

    SevSnpMemoryErrorSource source = origin == SEVSNP_CONVERT_EXPLICIT ?
        SEV_SNP_MEMORY_ERROR_SOURCE_MAP_GPA_RANGE :
        SEV_SNP_MEMORY_ERROR_SOURCE_MEMORY_FAULT;

    g_autofree char *path = NULL;

    trace_sev_snp_memory_refused(cpu, gpa, npages, to_private, msg);
    BQL_LOCK_GUARD();
    path = object_get_canonical_path(sev_snp_vm_object(vm));
    qapi_event_send_sev_snp_memory_error(path, source, gpa,
                                         size, to_private, cpu >= 0, cpu,
                                         msg, stopped);
}

/*
 * A memory fault that cannot be satisfied: the guest cannot go on (it
 * would fault again at once).  It goes through QEMU's guest-panic path,
 * as a crash a guest reports does: the GUEST_PANICKED event, then the
 * panic action (-action panic=..., libvirt's <on_crash>).  Called from a
 * vCPU thread (the KVM exit, without the BQL) or from the main loop.
 */
static void memory_fault_panicked(void)
{
    bool locked = bql_locked();

    if (!locked) {
        bql_lock();
    }
    qemu_system_guest_panicked(NULL);
    if (!locked) {
        bql_unlock();
    }
}

/* Convert; on refusal report it.  Returns whether it was done. */
static bool convert(SevSnpVm *vm, int cpu, uint64_t gpa, uint64_t npages,
                    bool to_private, SevsnpConvertOrigin origin,
                    bool stop_on_error)
{
    SevSnpMemory *m = sev_snp_vm_memory(vm);
    SevSnpPages *pages = sev_snp_memory_pages(m);
    Error *err = NULL;

    trace_sev_snp_memory_convert(cpu, origin == SEVSNP_CONVERT_EXPLICIT ?
                                 "map-gpa-range" : "memory-fault",
                                 gpa, npages, to_private);
    if (!pages) {
        error_setg(&err, "guest memory is not tracked yet");
        convert_reject(m, origin, error_get_pretty(err));
    } else if (sev_snp_pages_convert(pages, gpa, npages, to_private, origin,
                                     &err)) {
        return true;
    }
    if (stop_on_error) {
        memory_fault_panicked();
    }
    convert_report(vm, cpu, origin, gpa, npages, to_private,
                   error_get_pretty(err), stop_on_error);
    error_free(err);
    return false;
}

static uint64_t map_gpa_range(SevSnpVm *vm, int cpu, uint64_t gpa,
                              uint64_t npages, bool to_private)
{
    return convert(vm, cpu, gpa, npages, to_private, SEVSNP_CONVERT_EXPLICIT,
                   false) ? 0 : -KVM_EINVAL;
}

/* Returns whether the range was converted; else the VM is stopping. */
static bool memory_fault(SevSnpVm *vm, int cpu, uint64_t gpa, uint64_t size,
                         uint64_t flags)
{
    bool to_private = flags & KVM_MEMORY_EXIT_FLAG_PRIVATE;
    uint64_t npages = size >> SEVSNP_PAGE_SHIFT;

    /* What the range check cannot see: a partial page, unknown flags. */
    if ((size & (SEVSNP_PAGE_SIZE - 1)) ||
        (flags & ~KVM_MEMORY_EXIT_FLAG_PRIVATE)) {
        g_autofree char *msg = g_strdup_printf(
            "memory fault at 0x%" PRIx64 " size 0x%" PRIx64 " flags 0x%"
            PRIx64 ": %s", gpa, size, flags,
            (size & (SEVSNP_PAGE_SIZE - 1)) ? "size is not whole pages"
                                            : "unknown flags");

        convert_reject(sev_snp_vm_memory(vm), SEVSNP_CONVERT_IMPLICIT, msg);
        memory_fault_panicked();
        convert_report(vm, cpu, SEVSNP_CONVERT_IMPLICIT, gpa, npages,
                       to_private, msg, true);
        return false;
    }
    return convert(vm, cpu, gpa, npages, to_private, SEVSNP_CONVERT_IMPLICIT,
                   true);
}

bool sev_snp_handle_map_gpa_range(struct kvm_run *run)
{
    SevSnpVm *vm = sev_snp_vm_machine();

    if (!vm || !sev_snp_memory_is_kvm(sev_snp_vm_memory(vm))) {
        return false;
    }
    run->hypercall.ret = map_gpa_range(vm, current_cpu ?
                                       current_cpu->cpu_index : -1,
                                       run->hypercall.args[0],
                                       run->hypercall.args[1],
                                       run->hypercall.args[2] &
                                       KVM_MAP_GPA_RANGE_ENCRYPTED);
    return true;
}

int sev_snp_convert_memory_fault(SevSnpVm *vm, int cpu_index, uint64_t gpa,
                                 uint64_t size, uint64_t flags)
{
    /* Leave the vCPU loop without an internal error when stopping. */
    return memory_fault(vm, cpu_index, gpa, size, flags) ?
           0 : EXCP_INTERRUPT;
}

/* ---- qtest (sev_snp_vm_qtest_command()) ---- */

char *sev_snp_convert_qtest_map_gpa_range(SevSnpVm *vm, int cpu,
                                          uint64_t gpa, uint64_t npages,
                                          bool private, bool has_fail_at,
                                          uint64_t fail_at, Error **errp)
{
    SevSnpPages *pages = sev_snp_memory_pages(sev_snp_vm_memory(vm));
    uint64_t ret;

    if (has_fail_at) {
        if (!pages) {
            error_setg(errp, "guest memory is not tracked yet");
            return NULL;
        }
        if (!sev_snp_pages_inject_failure(pages, fail_at, errp)) {
            return NULL;
        }
    }
    ret = map_gpa_range(vm, cpu, gpa, npages, private);
    if (has_fail_at) {
        sev_snp_pages_inject_disarm(pages);
    }
    return g_strdup_printf("0x%" PRIx64, ret);
}

char *sev_snp_convert_qtest_memory_fault(SevSnpVm *vm, int cpu, uint64_t gpa,
                                         uint64_t size, bool private)
{
    bool converted = memory_fault(vm, cpu, gpa, size,
                                  private ? KVM_MEMORY_EXIT_FLAG_PRIVATE
                                          : 0);

    return g_strdup(converted ? "converted" : "panicked");
}
