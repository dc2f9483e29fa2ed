/*
 * SEV-SNP per-guest state: the certificate service and the memory view
 * of one sev-snp-guest, as peers
 *
 * sev-snp-guest (target/i386/sev.c) owns one SevSnpVm.  This file creates
 * both halves, completes them when the object is created, and gives the
 * certificate writer its way into guest memory: the buffer must be
 * writable guest RAM that the memory view's page state says is shared,
 * and it is written with its pages held shared.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/object_interfaces.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "hw/i386/sev-snp-memory.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "system/confidential-guest-support.h"
#include "system/qtest.h"
#include "qemu/cutils.h"
#include "compat.h"
#include "libsevsnp.h"
#include "sev-snp-certs.h"
#include "sev-snp-convert.h"
#include "sev-snp-vm.h"

#define TYPE_SEV_SNP_GUEST_NAME "sev-snp-guest"

struct SevSnpVm {
    Object *obj;
    SevSnpCerts *certs;
    SevSnpMemory *mem;
    bool created;           /* UserCreatable completion succeeded */
};

/* ---- guest memory for the certificate writer ---- */

/*
 * Is [gpa, gpa + len) entirely writable guest RAM?  Every section must be
 * RAM (not ROM, not a RAM device, not MMIO) and the sections must follow
 * each other without a hole.
 */
static bool guest_is_ram(uint64_t gpa, uint64_t len)
{
    uint64_t addr = gpa, end = gpa + len;

    if (!len || end < gpa) {
        return false;
    }

    while (addr < end) {
        MemoryRegionSection s = memory_region_find(get_system_memory(), addr,
                                                   end - addr);
        uint64_t size = 0;
        bool ok = false;

        if (s.mr) {
            size = int128_get64(s.size);
            ok = s.offset_within_address_space == addr &&
                 memory_region_is_ram(s.mr) &&
                 !memory_region_is_ram_device(s.mr) &&
                 !memory_region_is_rom(s.mr) && !s.readonly;
            memory_region_unref(s.mr);
        }
        if (!ok || !size) {
            return false;
        }
        addr += size;
    }
    return true;
}

/*
 * ... and shared with the host?  Once guest RAM is tracked, its page
 * state (QEMU's own where it has one) must say every page is shared: a
 * certificate written into a private page would land in the wrong
 * backing (seed 003).
 */
static bool guest_is_shared_ram(void *opaque, uint64_t gpa, uint64_t len)
{
    SevSnpVm *vm = opaque;
    SevSnpPages *p = sev_snp_memory_pages(vm->mem);

    if (p && !sev_snp_pages_is_shared(p, gpa, len)) {
        return false;
    }
    return guest_is_ram(gpa, len);
}

typedef struct GuestWrite {
    uint64_t gpa;
    const void *buf;
    size_t len;
} GuestWrite;

static int guest_write_now(void *opaque)
{
    GuestWrite *w = opaque;
    MemTxResult r = address_space_write(&address_space_memory, w->gpa,
                                        MEMTXATTRS_UNSPECIFIED, w->buf,
                                        w->len);

    return r == MEMTX_OK ? 0 : -EIO;
}

/* The write runs with the pages held shared: no conversion can race it. */
static int guest_write(void *opaque, uint64_t gpa, const void *buf,
                       size_t len)
{
    SevSnpVm *vm = opaque;
    SevSnpPages *p = sev_snp_memory_pages(vm->mem);
    GuestWrite w = { gpa, buf, len };

    return p ? sev_snp_pages_with_shared(p, gpa, len, guest_write_now, &w)
             : guest_write_now(&w);
}

static const SevsnpGuestMemOps guest_mem_ops = {
    .is_shared_ram = guest_is_shared_ram,
    .write = guest_write,
};

/* ---- life cycle ---- */

SevSnpVm *sev_snp_vm_new(Object *obj)
{
    SevSnpVm *vm = g_new0(SevSnpVm, 1);

    vm->obj = obj;
    vm->certs = sev_snp_certs_new(obj, &guest_mem_ops, vm);
    vm->mem = sev_snp_memory_new(obj);
    return vm;
}

void sev_snp_vm_apply_globals(Object *obj)
{
    /*
     * -global sev-snp-guest.certs-path=... gives every instance its
     * defaults, the one libvirt generates included; explicit properties
     * are set after this and win.  A bad value stops QEMU at start-up,
     * as for devices, and is a warning for an instance created later.
     */
    object_apply_user_globals(obj, phase_check(PHASE_MACHINE_READY) ?
                                   NULL : &error_fatal);
}

void sev_snp_vm_free(SevSnpVm *vm)
{
    if (!vm) {
        return;
    }
    sev_snp_certs_free(vm->certs);
    sev_snp_memory_free(vm->mem);
    g_free(vm);
}

SevSnpCerts *sev_snp_vm_certs(SevSnpVm *vm)
{
    return vm->certs;
}

SevSnpMemory *sev_snp_vm_memory(SevSnpVm *vm)
{
    return vm->mem;
}

Object *sev_snp_vm_object(SevSnpVm *vm)
{
    return vm->obj;
}

/*
 * UserCreatable completion of sev-snp-guest (the object is created); the
 * class's own complete, if any, runs first.
 */
static void (*parent_complete)(UserCreatable *uc, Error **errp);

static void sev_snp_vm_uc_complete(UserCreatable *uc, Error **errp)
{
    ERRP_GUARD();
    SevSnpVm *vm = sev_snp_guest_get_vm(OBJECT(uc));

    if (parent_complete) {
        parent_complete(uc, errp);
        if (*errp) {
            return;
        }
    }
    if (!sev_snp_certs_realize(vm->certs, errp)) {
        return;
    }
    sev_snp_memory_realize(vm->mem);
    vm->created = true;
}

/* ConfidentialGuestSupportClass::handle_memory_fault of sev-snp-guest. */
static int sev_snp_vm_memory_fault(ConfidentialGuestSupport *cgs,
                                   CPUState *cpu, uint64_t gpa,
                                   uint64_t size, uint64_t flags)
{
    return sev_snp_convert_memory_fault(sev_snp_guest_get_vm(OBJECT(cgs)),
                                        cpu->cpu_index, gpa, size, flags);
}

/* ---- qtest ---- */

/* Word @i of a qtest command as a number, else why not in @errp. */
static bool qtest_arg(gchar **words, int i, const char *what, uint64_t *v,
                      Error **errp)
{
    for (int j = 0; j <= i; j++) {
        if (!words[j]) {
            error_setg(errp, "%s missing", what);
            return false;
        }
    }
    if (qemu_strtou64(words[i], NULL, 0, v) < 0) {
        error_setg(errp, "%s '%s' is not a number", what, words[i]);
        return false;
    }
    return true;
}

/* "private" or "shared", word @i. */
static bool qtest_private(gchar **words, int i, bool *private, Error **errp)
{
    if (!words[i - 1] || !words[i] ||
        (strcmp(words[i], "private") && strcmp(words[i], "shared"))) {
        error_setg(errp, "'private' or 'shared' expected");
        return false;
    }
    *private = !strcmp(words[i], "private");
    return true;
}

/*
 * One "sev-snp" command of the qtest protocol (@words after "sev-snp"):
 * its reply words after "OK", else NULL with the reason in @errp.
 */
static char *qtest_run(gchar **words, Error **errp)
{
    /* The machine's only sev-snp-guest (under qtest, not its CGS). */
    SevSnpVm *vm = sev_snp_vm_find(NULL, errp);
    uint64_t cpu, gpa, n, fail_at;
    bool private;

    if (!vm) {
        return NULL;
    }
    if (!words[0]) {
        error_setg(errp, "command missing");
        return NULL;
    }
    if (!qtest_arg(words, 1, "vCPU index", &cpu, errp)) {
        return NULL;
    }
    if (cpu > INT_MAX || !qemu_get_cpu(cpu)) {
        error_setg(errp, "no vCPU with index %" PRIu64, cpu);
        return NULL;
    }
    if (!strcmp(words[0], "complete-req-certs")) {
        return sev_snp_certs_qtest_complete(vm->certs, cpu, errp) ?
               g_strdup("") : NULL;
    }
    if (!qtest_arg(words, 2, "address", &gpa, errp) ||
        !qtest_arg(words, 3, "size", &n, errp)) {
        return NULL;
    }
    if (!strcmp(words[0], "req-certs")) {
        bool hold = words[4] && !strcmp(words[4], "hold");

        return sev_snp_certs_qtest_request(vm->certs, cpu, gpa, n, hold,
                                           errp);
    }
    if (!qtest_private(words, 4, &private, errp)) {
        return NULL;
    }
    if (!strcmp(words[0], "map-gpa-range")) {
        bool has_fail_at = words[5] != NULL;

        if (has_fail_at &&
            !qtest_arg(words, 5, "failing address", &fail_at, errp)) {
            return NULL;
        }
        return sev_snp_convert_qtest_map_gpa_range(vm, cpu, gpa, n, private,
                                                   has_fail_at, fail_at,
                                                   errp);
    }
    if (!strcmp(words[0], "memory-fault")) {
        return sev_snp_convert_qtest_memory_fault(vm, cpu, gpa, n, private);
    }
    error_setg(errp, "unknown command '%s'", words[0]);
    return NULL;
}

/*
 * The SEV-SNP guest's test entry points, on the qtest protocol: "sev-snp
 * COMMAND CPU ARGS..." runs the handler a KVM exit runs, against the
 * machine's guest RAM, and replies "OK RESULTS..." or "FAIL REASON"
 * (docs/devel/sev-snp-internals.rst).
 */
static bool qtest_command(CharFrontend *chr, gchar **words)
{
    Error *err = NULL;
    g_autofree char *reply = NULL;

    if (strcmp(words[0], "sev-snp")) {
        return false;
    }
    reply = qtest_run(words + 1, &err);
    if (!reply) {
        qtest_sendf(chr, "FAIL %s\n", error_get_pretty(err));
        error_free(err);
    } else {
        qtest_sendf(chr, "OK%s%s\n", *reply ? " " : "", reply);
    }
    return true;
}

void sev_snp_vm_class_init(ObjectClass *oc)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);
    ConfidentialGuestSupportClass *cgsc = CONFIDENTIAL_GUEST_SUPPORT_CLASS(oc);

    parent_complete = ucc->complete;
    ucc->complete = sev_snp_vm_uc_complete;
    cgsc->handle_memory_fault = sev_snp_vm_memory_fault;
    sev_snp_certs_class_init(oc);
    /* Runs only under the qtest accelerator; once: one class. */
    qtest_set_command_cb(qtest_command);
}

int sev_snp_vm_kvm_init(SevSnpVm *vm, int sev_fd, Error **errp)
{
    return sev_snp_certs_kvm_init(vm->certs, sev_fd, errp);
}

/* ---- lookup ---- */

SevSnpVm *sev_snp_vm_machine(void)
{
    MachineState *ms = MACHINE(qdev_get_machine());

    return ms->cgs ? sev_snp_guest_get_vm(OBJECT(ms->cgs)) : NULL;
}

static int collect_snp(Object *child, void *opaque)
{
    GSList **list = opaque;

    if (object_dynamic_cast(child, TYPE_SEV_SNP_GUEST_NAME)) {
        *list = g_slist_prepend(*list, child);
    }
    return 0;
}

SevSnpVm *sev_snp_vm_find(const char *id, Error **errp)
{
    Object *root = object_get_objects_root();
    Object *obj;
    SevSnpVm *vm;

    if (id) {
        obj = object_resolve_path_component(root, id);
        if (!obj || !object_dynamic_cast(obj, TYPE_SEV_SNP_GUEST_NAME)) {
            error_setg(errp, "'%s' is not a sev-snp-guest object", id);
            return NULL;
        }
    } else {
        GSList *list = NULL;
        guint n;

        object_child_foreach(root, collect_snp, &list);
        n = g_slist_length(list);
        obj = n == 1 ? list->data : NULL;
        g_slist_free(list);
        if (n != 1) {
            error_setg(errp, n ? "several sev-snp-guest objects exist: "
                       "give 'id'" : "no sev-snp-guest object exists");
            return NULL;
        }
    }
    vm = sev_snp_guest_get_vm(obj);
    if (!vm || !vm->created) {
        error_setg(errp, "sev-snp-guest '%s' is not ready", id ? id : "");
        return NULL;
    }
    return vm;
}
