/*
 * SEV-SNP certificate service: QEMU glue around libsevsnp
 *
 * The certs-* properties of sev-snp-guest, the KVM exit dispatch for both
 * kernel ABIs with their completion steps, and the QMP/HMP interface.
 * The request logic itself lives in libsevsnp; the same handler runs for
 * real KVM exits and for the qtest-only injection commands.
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
#include "qapi/qapi-visit-sev-snp.h"
#include "qapi/visitor.h"
#include "crypto/hash.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qom/object_interfaces.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "hw/qdev-core.h"
#include "compat.h"
#include "system/kvm.h"
#include "system/qtest.h"
#include "system/runstate.h"
#include "monitor/monitor.h"
#include "monitor/hmp-target.h"
#include "libsevsnp.h"
#include "sev-snp-certs.h"
#include "sev-snp-vm.h"
#include "target/i386/sev-snp.h"
#include "trace.h"

#define DEFAULT_CERTS_TIMEOUT_MS 100
#define POISON_RET 0x5a5a5a5aULL

struct SevSnpCerts {
    Object *obj;

    /* Configuration as set through properties before completion. */
    char *path;
    uint32_t timeout_ms;
    uint32_t rate;
    uint32_t burst;
    uint32_t busy_limit_ms;
    SevSnpCertsAbi abi_prop;

    /* Resolved at completion and KVM initialisation. */
    SevsnpAbi abi;
    SevsnpAbiSource abi_source;
    char *abi_detail;       /* how the ABI was decided */
    bool kernel_exits;      /* KVM delivers certificate exits to us */
    SevsnpService *svc;

    /* Guest memory, as the per-guest state (sev-snp-vm.c) gives it. */
    const SevsnpGuestMemOps *mem_ops;
    void *mem_opaque;
};

/* The request armed for completion by this vCPU thread (mainline ABI). */
static __thread SevSnpCerts *completion_armed;

static const char *certs_id(SevSnpCerts *c)
{
    const char *id = object_get_canonical_path_component(c->obj);

    return id ? id : "";
}

/* ---- events ---- */

static SevSnpCertsErrorReason error_reason(SevsnpReqOutcome outcome)
{
    switch (outcome) {
    case SEVSNP_REQ_BUSY:
        return SEV_SNP_CERTS_ERROR_REASON_BUSY;
    case SEVSNP_REQ_RATE_LIMITED:
        return SEV_SNP_CERTS_ERROR_REASON_RATE_LIMITED;
    case SEVSNP_REQ_HOST_FAULT:
        return SEV_SNP_CERTS_ERROR_REASON_HOST_FAULT;
    case SEVSNP_REQ_BUSY_LIMIT:
        return SEV_SNP_CERTS_ERROR_REASON_BUSY_LIMIT;
    default:
        return SEV_SNP_CERTS_ERROR_REASON_ERROR;
    }
}

static void certs_notify(void *opaque, uint32_t vcpu,
                         SevsnpReqOutcome outcome, const char *msg)
{
    SevSnpCerts *c = opaque;
    g_autofree char *path = NULL;

    trace_sev_snp_certs_failure(vcpu, sevsnp_req_outcome_name(outcome), msg);
    BQL_LOCK_GUARD();
    path = object_get_canonical_path(c->obj);
    qapi_event_send_sev_snp_certs_error(path, error_reason(outcome),
                                        true, vcpu, msg);
}

/* ---- request handling (real exits and qtest injection) ---- */

/*
 * Asked by a vCPU waiting for the blob's locks, without the BQL: QEMU
 * wants the vCPU to stop (pause_all_vcpus() sets cpu->stop for stop,
 * pause and quit and waits for it), or the VM no longer runs.  The
 * request is then answered BUSY and the guest retries once resumed.
 */
static bool certs_wait_interrupted(void *opaque, uint32_t vcpu)
{
    CPUState *cpu = qemu_get_cpu(vcpu);

    if (!runstate_is_running()) {
        return true;
    }
    return cpu && (qatomic_read(&cpu->stop) ||
                   qatomic_read(&cpu->exit_request));
}

/* KVM_EXIT_SNP_REQ_CERTS: ret and, for ENOSPC, the pages needed. */
static bool certs_req_certs(SevSnpCerts *c, int cpu,
                            struct kvm_exit_snp_req_certs *ex)
{
    SevsnpReqResult r;

    trace_sev_snp_certs_request(cpu, "req-certs", ex->gpa, ex->npages);
    r = sevsnp_service_request(c->svc, cpu, ex->gpa, ex->npages, c->mem_ops,
                               c->mem_opaque, NULL);
    if (r.outcome == SEVSNP_REQ_TOO_SMALL) {
        ex->npages = r.required_npages;
    }
    ex->ret = sevsnp_req_certs_ret(r.outcome);
    trace_sev_snp_certs_answer(cpu, ex->ret, ex->npages,
                               r.completion_pending);
    return r.completion_pending;
}

static bool certs_vmgexit(SevSnpCerts *c, int cpu,
                          struct sevsnp_kvm_user_vmgexit *ex)
{
    bool pending;

    if (ex->type == SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS &&
        ex->req_certs.status == SEVSNP_VMGEXIT_STATUS_DONE) {
        bool released = sevsnp_service_in_flight(c->svc, cpu);

        sevsnp_handle_vmgexit_exit(c->svc, cpu, ex, c->mem_ops,
                                   c->mem_opaque);
        trace_sev_snp_certs_complete(cpu, released);
        return false;
    }
    trace_sev_snp_certs_request(cpu, "vmgexit", ex->req_certs.data_gpa,
                                ex->req_certs.data_npages);
    pending = sevsnp_handle_vmgexit_exit(c->svc, cpu, ex, c->mem_ops,
                                         c->mem_opaque);
    trace_sev_snp_certs_answer(cpu, ex->req_certs.ret,
                               ex->req_certs.data_npages, pending);
    return pending;
}

/*
 * The firmware completed a request (mainline: the KVM_RUN after the exit;
 * legacy: the DONE exit): its locks go.  Not to be confused with
 * sev_snp_vm_uc_complete(), the object's UserCreatable completion.
 */
static void certs_fw_complete(SevSnpCerts *c, int cpu)
{
    bool released = sevsnp_service_complete(c->svc, cpu);

    trace_sev_snp_certs_complete(cpu, released);
}

static SevSnpCerts *machine_certs(void)
{
    SevSnpVm *vm = sev_snp_vm_machine();

    return vm ? sev_snp_vm_certs(vm) : NULL;
}

/*
 * KVM_EXIT_SNP_REQ_CERTS: KVM sends it only to a VM that enabled it
 * (KVM_SEV_SNP_ENABLE_REQ_CERTS, sev_snp_certs_kvm_init()).
 */
int sev_snp_handle_req_certs(CPUState *cpu, struct kvm_run *run)
{
    SevSnpCerts *c = machine_certs();

    if (!c || !c->svc || !c->kernel_exits ||
        c->abi != SEVSNP_ABI_REQ_CERTS) {
        error_report("KVM_EXIT_SNP_REQ_CERTS without an SEV-SNP "
                     "certificate service on that ABI");
        return -1;
    }
    if (certs_req_certs(c, cpu->cpu_index, &run->snp_req_certs)) {
        /*
         * KVM completes the firmware request on the next KVM_RUN and
         * returns -EINTR before entering the guest; the locks go in
         * sev_snp_post_run() after that.
         */
        completion_armed = c;
        qatomic_set(&run->immediate_exit, 1);
    }
    return 0;
}

bool sev_snp_handle_vmgexit(CPUState *cpu, struct kvm_run *run, int *ret)
{
    SevSnpCerts *c = machine_certs();

    /* AMD's kernels number KVM_EXIT_VMGEXIT as upstream's TDX exit. */
    QEMU_BUILD_BUG_ON(SEVSNP_KVM_EXIT_VMGEXIT != KVM_EXIT_TDX);
    if (!c) {
        return false;       /* not an SNP guest: the exit is not ours */
    }
    /* The dispatch follows the detected ABI, never the number alone. */
    if (!c->svc || !c->kernel_exits || c->abi != SEVSNP_ABI_VMGEXIT) {
        error_report("KVM exit %u does not belong to the certificate "
                     "ABI '%s'", run->exit_reason, sevsnp_abi_name(c->abi));
        *ret = -1;
        return true;
    }
    /* The legacy member starts kvm_run's exit union. */
    certs_vmgexit(c, cpu->cpu_index, (void *)&run->hw);
    *ret = 0;
    return true;
}

void sev_snp_post_run(CPUState *cpu)
{
    SevSnpCerts *c = completion_armed;

    /*
     * Keyed on our own flag, not on immediate_exit, which QEMU's kicks
     * share: whatever ended this KVM_RUN, KVM completed the request in
     * it.
     */
    if (likely(!c)) {
        return;
    }
    completion_armed = NULL;
    certs_fw_complete(c, cpu->cpu_index);
}

/* ---- KVM initialisation ---- */

/*
 * KVM_X86_SEV_SNP_REQ_CERTS: KVM_HAS_DEVICE_ATTR, then
 * KVM_GET_DEVICE_ATTR, on /dev/kvm.
 */
static int kvm_get_req_certs_attr(void *opaque, uint64_t *val)
{
    struct kvm_device_attr a = {
        .group = KVM_X86_GRP_SEV,
        .attr = KVM_X86_SEV_SNP_REQ_CERTS,
        .addr = (uintptr_t)val,
    };
    int r = kvm_ioctl(kvm_state, KVM_HAS_DEVICE_ATTR, &a);

    return r ? r : kvm_ioctl(kvm_state, KVM_GET_DEVICE_ATTR, &a);
}

static SevsnpAbiChoice abi_choice(SevSnpCertsAbi prop)
{
    switch (prop) {
    case SEV_SNP_CERTS_ABI_REQ_CERTS:
        return SEVSNP_ABI_CHOICE_REQ_CERTS;
    case SEV_SNP_CERTS_ABI_VMGEXIT:
        return SEVSNP_ABI_CHOICE_VMGEXIT;
    default:
        return SEVSNP_ABI_CHOICE_AUTO;
    }
}

/* Decide the ABI; @kvm false: there is no kernel to ask (qtest). */
static bool certs_detect_abi(SevSnpCerts *c, bool kvm, Error **errp)
{
    g_autoptr(GError) gerr = NULL;

    g_free(c->abi_detail);
    c->abi_detail = NULL;
    if (!sevsnp_abi_detect(abi_choice(c->abi_prop),
                           kvm ? kvm_get_req_certs_attr : NULL, NULL, &c->abi,
                           &c->abi_source, &c->abi_detail, &gerr)) {
        error_setg(errp, "sev-snp-guest '%s': %s", certs_id(c),
                   gerr->message);
        return false;
    }
    trace_sev_snp_certs_abi(SevSnpCertsAbi_str(c->abi_prop),
                            sevsnp_abi_name(c->abi), c->abi_detail);
    if (sevsnp_abi_source_warns(c->abi_source)) {
        warn_report("sev-snp-guest '%s': certs-abi=auto: %s", certs_id(c),
                    c->abi_detail);
    }
    return true;
}

int sev_snp_certs_kvm_init(SevSnpCerts *c, int sev_fd, Error **errp)
{
    bool serving = c->path && *c->path;
    g_autoptr(GError) gerr = NULL;

    if (!certs_detect_abi(c, true, errp)) {
        return -1;
    }
    /*
     * Before -run-with user=/chroot= drops privileges (os_setup_post()):
     * the blob's directory and a file description per possible vCPU, so
     * that a blob only root can read is still served afterwards.
     */
    if (serving &&
        !sevsnp_service_preopen(c->svc,
                                MACHINE(qdev_get_machine())->smp.max_cpus,
                                &gerr)) {
        error_setg(errp, "sev-snp-guest '%s': certs-path: %s", certs_id(c),
                   gerr->message);
        return -1;
    }

    if (c->abi == SEVSNP_ABI_VMGEXIT) {
        /* Such kernels always exit. */
        c->kernel_exits = true;
        return 0;
    }
    if (serving) {
        struct kvm_sev_cmd cmd = {
            .id = KVM_SEV_SNP_ENABLE_REQ_CERTS,
            .sev_fd = sev_fd,
        };
        int r = kvm_vm_ioctl(kvm_state, KVM_MEMORY_ENCRYPT_OP, &cmd);

        if (r < 0) {
            error_setg(errp, "KVM_SEV_SNP_ENABLE_REQ_CERTS failed: %s "
                       "(fw error %u)", strerror(-r), cmd.error);
            return -1;
        }
        c->kernel_exits = true;
    }
    return 0;
}

/* ---- properties ---- */

static SevSnpCerts *obj_certs(Object *obj)
{
    return sev_snp_vm_certs(sev_snp_guest_get_vm(obj));
}

/* Apply a new blob file to a running service; NULL/"" turns it off. */
static bool certs_set_path(SevSnpCerts *c, const char *path, Error **errp)
{
    GError *gerr = NULL;

    if (c->svc) {
        if (path && *path && !c->kernel_exits && kvm_enabled()) {
            error_setg(errp, "certificate exits were not enabled at "
                       "start-up: start with certs-path set");
            return false;
        }
        if (!sevsnp_service_set_path(c->svc, path, &gerr)) {
            bool busy = g_error_matches(gerr, SEVSNP_ERROR,
                                        SEVSNP_ERROR_BUSY);

            error_setg(errp, "certs-path: %s%s", gerr->message,
                       busy ? " (an updater holds the file's exclusive "
                       "lock: nothing changed, try again later)" : "");
            g_error_free(gerr);
            return false;
        }
    }
    g_free(c->path);
    c->path = g_strdup(path);
    return true;
}

static char *get_certs_path(Object *obj, Error **errp)
{
    return g_strdup(obj_certs(obj)->path);
}

static void set_certs_path(Object *obj, const char *value, Error **errp)
{
    certs_set_path(obj_certs(obj), value, errp);
}

static void get_u32(Object *obj, Visitor *v, const char *name, void *opaque,
                    Error **errp)
{
    SevSnpCerts *c = obj_certs(obj);
    uint32_t val = 0;

    if (!strcmp(name, "certs-timeout")) {
        val = c->timeout_ms;
    } else if (!strcmp(name, "certs-busy-limit")) {
        val = c->busy_limit_ms;
    } else if (!strcmp(name, "certs-rate-limit")) {
        val = c->rate;
    } else {
        val = c->burst;
    }
    visit_type_uint32(v, name, &val, errp);
}

/* The lock wait, checked against the library's bound. */
static bool certs_set_timeout(SevSnpCerts *c, uint32_t ms, Error **errp)
{
    g_autoptr(GError) gerr = NULL;

    if (c->svc ? !sevsnp_service_set_timeout(c->svc, ms, &gerr)
               : !sevsnp_check_timeout(ms, &gerr)) {
        error_setg(errp, "certs-timeout: %s", gerr->message);
        return false;
    }
    c->timeout_ms = ms;
    return true;
}

/* The busy limit, checked against the library's bound. */
static bool certs_set_busy_limit(SevSnpCerts *c, uint32_t ms, Error **errp)
{
    g_autoptr(GError) gerr = NULL;

    if (c->svc ? !sevsnp_service_set_busy_limit(c->svc, ms, &gerr)
               : !sevsnp_check_busy_limit(ms, &gerr)) {
        error_setg(errp, "certs-busy-limit: %s", gerr->message);
        return false;
    }
    c->busy_limit_ms = ms;
    return true;
}

static void set_u32(Object *obj, Visitor *v, const char *name, void *opaque,
                    Error **errp)
{
    SevSnpCerts *c = obj_certs(obj);
    uint32_t val;

    if (!visit_type_uint32(v, name, &val, errp)) {
        return;
    }
    if (!strcmp(name, "certs-timeout")) {
        certs_set_timeout(c, val, errp);
        return;
    }
    if (!strcmp(name, "certs-busy-limit")) {
        certs_set_busy_limit(c, val, errp);
        return;
    }
    if (!strcmp(name, "certs-rate-limit")) {
        c->rate = val;
    } else {
        c->burst = val;
    }
    if (c->svc) {
        sevsnp_service_set_rate_limit(c->svc, c->rate, c->burst);
    }
}

static int get_abi(Object *obj, Error **errp)
{
    return obj_certs(obj)->abi_prop;
}

static void set_abi(Object *obj, int value, Error **errp)
{
    SevSnpCerts *c = obj_certs(obj);

    if (c->svc) {
        error_setg(errp, "certs-abi cannot be changed at run time");
        return;
    }
    c->abi_prop = value;
}

bool sev_snp_certs_realize(SevSnpCerts *c, Error **errp)
{
    if (c->path && *c->path) {
        g_autoptr(GError) gerr = NULL;
        g_autofree char *warning = NULL;
        SevsnpCertStore *store = sevsnp_cert_store_new(c->path, 0);
        /*
         * At start-up an updater may hold the lock for certs-timeout; an
         * object created at run time (object-add) holds the BQL: one try.
         */
        SevsnpCertTable *t = sevsnp_cert_store_load(
            store, phase_check(PHASE_MACHINE_READY) ? 0 : c->timeout_ms,
            &gerr);

        sevsnp_cert_store_free(store);
        if (!t) {
            error_setg(errp, "sev-snp-guest '%s': certs-path: %s",
                       certs_id(c), gerr->message);
            return false;
        }
        warning = sevsnp_blob_guest_warning(
            g_bytes_get_size(sevsnp_cert_table_get_blob(t)));
        if (warning) {
            warn_report("sev-snp-guest '%s': certs-path %s: %s",
                        certs_id(c), c->path, warning);
        }
        sevsnp_cert_table_unref(t);
    }
    c->svc = sevsnp_service_new(c->path, c->timeout_ms, c->rate, c->burst);
    /* Checked by the property's setter. */
    sevsnp_service_set_busy_limit(c->svc, c->busy_limit_ms, NULL);
    sevsnp_service_set_error_notify(c->svc, certs_notify, c);
    sevsnp_service_set_interrupt(c->svc, certs_wait_interrupted, c);
    /*
     * Without KVM (qtest) there is no kernel to ask: auto means mainline.
     * Under KVM, sev_snp_certs_kvm_init() decides again from the kernel.
     */
    certs_detect_abi(c, false, &error_abort);
    return true;
}

void sev_snp_certs_class_init(ObjectClass *oc)
{
    object_class_property_add_str(oc, "certs-path", get_certs_path,
                                  set_certs_path);
    object_class_property_set_description(oc, "certs-path",
            "file with the certificate blob served to the guest");
    object_class_property_add_str(oc, "certs-filename", get_certs_path,
                                  set_certs_path);
    object_class_property_set_description(oc, "certs-filename",
            "alias of certs-path");
    object_class_property_add(oc, "certs-timeout", "uint32", get_u32,
                              set_u32, NULL, NULL);
    object_class_property_set_description(oc, "certs-timeout",
            "milliseconds a request may wait for the shared lock before "
            "answering busy (default 100, 0 = one try, at most 10000)");
    object_class_property_add_enum(oc, "certs-abi", "SevSnpCertsAbi",
                                   &SevSnpCertsAbi_lookup, get_abi, set_abi);
    object_class_property_set_description(oc, "certs-abi",
            "kernel interface: auto, req-certs or vmgexit");
    object_class_property_add(oc, "certs-rate-limit", "uint32", get_u32,
                              set_u32, NULL, NULL);
    object_class_property_set_description(oc, "certs-rate-limit",
            "certificate requests per second per VM (0 = off)");
    object_class_property_add(oc, "certs-rate-burst", "uint32", get_u32,
                              set_u32, NULL, NULL);
    object_class_property_set_description(oc, "certs-rate-burst",
            "burst size of the rate limit (0 = the rate)");
    object_class_property_add(oc, "certs-busy-limit", "uint32", get_u32,
                              set_u32, NULL, NULL);
    object_class_property_set_description(oc, "certs-busy-limit",
            "milliseconds a guest may be told busy before it gets an "
            "empty certificate table instead (default 20000, at most "
            "40000, 0 = never busy)");
}

SevSnpCerts *sev_snp_certs_new(Object *obj, const SevsnpGuestMemOps *mem_ops,
                               void *mem_opaque)
{
    SevSnpCerts *c = g_new0(SevSnpCerts, 1);

    c->obj = obj;
    c->timeout_ms = DEFAULT_CERTS_TIMEOUT_MS;
    c->busy_limit_ms = SEVSNP_BUSY_LIMIT_DEFAULT_MS;
    c->abi_prop = SEV_SNP_CERTS_ABI_AUTO;
    c->mem_ops = mem_ops;
    c->mem_opaque = mem_opaque;
    return c;
}

void sev_snp_certs_free(SevSnpCerts *c)
{
    if (!c) {
        return;
    }
    sevsnp_service_free(c->svc);
    g_free(c->abi_detail);
    g_free(c->path);
    g_free(c);
}

/* ---- QMP ---- */

/* The service of sev-snp-guest @id (see sev_snp_vm_find()). */
static SevSnpCerts *certs_find(const char *id, Error **errp)
{
    SevSnpVm *vm = sev_snp_vm_find(id, errp);

    return vm ? sev_snp_vm_certs(vm) : NULL;
}

static SevSnpCertEntryKind entry_kind(SevsnpCertType t)
{
    switch (t) {
    case SEVSNP_CERT_ARK:
        return SEV_SNP_CERT_ENTRY_KIND_ARK;
    case SEVSNP_CERT_ASK:
        return SEV_SNP_CERT_ENTRY_KIND_ASK;
    case SEVSNP_CERT_VCEK:
        return SEV_SNP_CERT_ENTRY_KIND_VCEK;
    case SEVSNP_CERT_VLEK:
        return SEV_SNP_CERT_ENTRY_KIND_VLEK;
    case SEVSNP_CERT_CRL:
        return SEV_SNP_CERT_ENTRY_KIND_CRL;
    default:
        return SEV_SNP_CERT_ENTRY_KIND_OTHER;
    }
}

/*
 * What the guest sees of what a mainline kernel reads in ret; NULL for
 * a value KVM_RUN would refuse with -EINVAL (a bug of ours).
 */
static const char *req_certs_guest_result(uint64_t ret)
{
    switch (ret) {
    case 0:
        return "ok";
    case ENOSPC:
        return "invalid-len";
    case EAGAIN:
        return "busy";
    case EIO:
        return "generic";
    default:
        return NULL;
    }
}

/* The legacy kernel passes any value on: 1 and 2 mean something. */
static const char *vmgexit_guest_result(uint32_t ret)
{
    switch (ret) {
    case SEVSNP_VMGEXIT_RET_OK:
        return "ok";
    case SEVSNP_VMGEXIT_RET_INVALID_LEN:
        return "invalid-len";
    case SEVSNP_VMGEXIT_RET_BUSY:
        return "busy";
    default:
        return "generic";
    }
}

/* The hex digest of @len bytes at @data, with QEMU's hash API. */
static char *hex_digest(QCryptoHashAlgo alg, const uint8_t *data, size_t len)
{
    char *hex = NULL;

    /* Every hash backend has SHA-256 and SHA-384, GLib's included. */
    qcrypto_hash_digest(alg, (const char *)data, len, &hex, &error_abort);
    return hex;
}

/*
 * The blob as served: its table's entries, by GUID, offset and length,
 * each with the digest of its data.  What the certificates say (names,
 * validity, the chain) is for snp-certs show and verify: QEMU checks
 * the table's structure and serves what the operator installed.
 */
static SevSnpCertsBlobInfo *blob_info(SevsnpCertTable *t)
{
    SevSnpCertsBlobInfo *b = g_new0(SevSnpCertsBlobInfo, 1);
    gsize size;
    const uint8_t *data = g_bytes_get_data(sevsnp_cert_table_get_blob(t),
                                           &size);
    SevSnpCertEntryInfoList **tail = &b->entries;

    b->size = size;
    b->sha256 = hex_digest(QCRYPTO_HASH_ALGO_SHA256, data, size);
    for (guint i = 0; i < sevsnp_cert_table_n_entries(t); i++) {
        const SevsnpCertEntry *ce = sevsnp_cert_table_entry(t, i);
        SevSnpCertEntryInfo *e = g_new0(SevSnpCertEntryInfo, 1);

        e->kind = entry_kind(ce->type);
        e->guid = g_malloc(37);
        sevsnp_guid_unparse(ce->guid, e->guid);
        e->offset = ce->offset;
        e->length = ce->length;
        e->fingerprint = hex_digest(QCRYPTO_HASH_ALGO_SHA384,
                                    data + ce->offset, ce->length);
        QAPI_LIST_APPEND(tail, e);
    }
    b->guest_warning = sevsnp_blob_guest_warning(b->size);
    return b;
}

static SevSnpCertsAbiSource abi_source(SevsnpAbiSource s)
{
    switch (s) {
    case SEVSNP_ABI_FROM_CONFIG:
        return SEV_SNP_CERTS_ABI_SOURCE_CONFIGURED;
    case SEVSNP_ABI_FROM_ATTRIBUTE:
        return SEV_SNP_CERTS_ABI_SOURCE_KERNEL_ATTRIBUTE;
    case SEVSNP_ABI_FROM_NO_ATTRIBUTE:
        return SEV_SNP_CERTS_ABI_SOURCE_NO_ATTRIBUTE;
    case SEVSNP_ABI_FROM_UNSUPPORTED:
        return SEV_SNP_CERTS_ABI_SOURCE_ATTRIBUTE_UNSUPPORTED;
    default:
        return SEV_SNP_CERTS_ABI_SOURCE_NO_KVM;
    }
}

SevSnpCertsInfo *qmp_query_sev_snp_certs(const char *id, Error **errp)
{
    SevSnpCerts *c = certs_find(id, errp);
    SevSnpCertsInfo *info;
    SevsnpStats s;
    GError *gerr = NULL;
    SevsnpCertTable *t;
    uint32_t rate, burst;

    if (!c) {
        return NULL;
    }
    info = g_new0(SevSnpCertsInfo, 1);
    info->id = g_strdup(certs_id(c));
    info->certs_path = sevsnp_service_get_path(c->svc);
    info->enabled = info->certs_path != NULL;
    info->abi = c->abi == SEVSNP_ABI_VMGEXIT ? SEV_SNP_CERTS_ABI_VMGEXIT
                                             : SEV_SNP_CERTS_ABI_REQ_CERTS;
    info->abi_source = abi_source(c->abi_source);
    info->abi_detail = g_strdup(c->abi_detail);
    info->timeout = sevsnp_service_get_timeout(c->svc);
    sevsnp_service_get_rate_limit(c->svc, &rate, &burst);
    info->rate_limit = rate;
    info->rate_burst = burst;
    info->busy_limit = sevsnp_service_get_busy_limit(c->svc);

    /* One try of the locks: the monitor never waits for an updater. */
    t = sevsnp_service_try_peek(c->svc, &info->blob_busy, &gerr);
    if (t) {
        info->blob = blob_info(t);
        sevsnp_cert_table_unref(t);
    } else if (gerr) {
        info->blob_error = g_strdup(gerr->message);
        g_error_free(gerr);
    }

    sevsnp_service_get_stats(c->svc, &s);
    info->stats = g_new0(SevSnpCertsStats, 1);
    info->stats->requests = s.requests;
    info->stats->served = s.served;
    info->stats->too_small = s.too_small;
    info->stats->busy = s.busy;
    info->stats->rate_limited = s.rate_limited;
    info->stats->errors = s.errors;
    info->stats->completions = s.completions;
    info->stats->spurious_completions = s.spurious_completions;
    info->stats->overlapping_requests = s.overlapping_requests;
    info->stats->in_flight = s.in_flight;
    info->stats->interrupted = s.interrupted;
    info->stats->chainless = s.chainless;
    info->stats->host_faults = s.host_faults;
    info->stats->busy_limit = s.busy_limit;
    info->last_error = sevsnp_service_last_error(c->svc);
    return info;
}

void qmp_sev_snp_set_certs(const char *id, const char *certs_path,
                           bool has_timeout, uint32_t timeout,
                           bool has_rate_limit, uint32_t rate_limit,
                           bool has_rate_burst, uint32_t rate_burst,
                           bool has_busy_limit, uint32_t busy_limit,
                           Error **errp)
{
    SevSnpCerts *c = certs_find(id, errp);

    if (!c) {
        return;
    }
    /* The bounds first, then the file: on failure nothing changes. */
    if (has_timeout && !sevsnp_check_timeout(timeout, NULL)) {
        certs_set_timeout(c, timeout, errp);
        return;
    }
    if (has_busy_limit && !sevsnp_check_busy_limit(busy_limit, NULL)) {
        certs_set_busy_limit(c, busy_limit, errp);
        return;
    }
    if (certs_path && !certs_set_path(c, certs_path, errp)) {
        return;
    }
    if (has_timeout) {
        certs_set_timeout(c, timeout, &error_abort);
    }
    if (has_busy_limit) {
        certs_set_busy_limit(c, busy_limit, &error_abort);
    }
    if (has_rate_limit || has_rate_burst) {
        if (has_rate_limit) {
            c->rate = rate_limit;
        }
        if (has_rate_burst) {
            c->burst = rate_burst;
        }
        sevsnp_service_set_rate_limit(c->svc, c->rate, c->burst);
    }
}

/* ---- qtest (sev_snp_vm_qtest_command()) ---- */

char *sev_snp_certs_qtest_request(SevSnpCerts *c, int cpu, uint64_t gpa,
                                  uint64_t npages, bool hold, Error **errp)
{
    const char *gr;
    uint64_t ret, out_npages;
    bool pending;

    if (c->abi == SEVSNP_ABI_REQ_CERTS) {
        struct kvm_exit_snp_req_certs ex = {
            .gpa = gpa, .npages = npages, .ret = POISON_RET,
        };

        pending = certs_req_certs(c, cpu, &ex);
        gr = req_certs_guest_result(ex.ret);
        ret = ex.ret;
        out_npages = ex.npages;
        if (pending && !hold) {
            /* The completion step, as after KVM_RUN returns -EINTR. */
            certs_fw_complete(c, cpu);
        }
    } else {
        struct sevsnp_kvm_user_vmgexit ex = {
            .type = SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS,
        };

        ex.req_certs.data_gpa = gpa;
        ex.req_certs.data_npages = npages;
        ex.req_certs.ret = (uint32_t)POISON_RET;
        ex.req_certs.status = SEVSNP_VMGEXIT_STATUS_PENDING;
        pending = certs_vmgexit(c, cpu, &ex);
        gr = vmgexit_guest_result(ex.req_certs.ret);
        ret = ex.req_certs.ret;
        out_npages = ex.req_certs.data_npages;
        if (pending && !hold) {
            /* The DONE exit KVM sends after the firmware request. */
            ex.req_certs.flags = 0;
            ex.req_certs.status = SEVSNP_VMGEXIT_STATUS_DONE;
            certs_vmgexit(c, cpu, &ex);
        }
    }
    if (!gr) {
        /* KVM_RUN would fail with -EINVAL: a bug of ours, never hidden. */
        error_setg(errp, "the kernel would refuse ret 0x%" PRIx64, ret);
        return NULL;
    }
    return g_strdup_printf("0x%" PRIx64 " %" PRIu64 " %d %s", ret,
                           out_npages,
                           sevsnp_service_in_flight(c->svc, cpu), gr);
}

bool sev_snp_certs_qtest_complete(SevSnpCerts *c, int cpu, Error **errp)
{
    bool had = sevsnp_service_in_flight(c->svc, cpu);

    if (c->abi == SEVSNP_ABI_VMGEXIT) {
        struct sevsnp_kvm_user_vmgexit ex = {
            .type = SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS,
        };

        ex.req_certs.status = SEVSNP_VMGEXIT_STATUS_DONE;
        certs_vmgexit(c, cpu, &ex);
    } else {
        certs_fw_complete(c, cpu);
    }
    if (!had) {
        error_setg(errp, "vCPU %d has no certificate request in flight",
                   cpu);
        return false;
    }
    return true;
}

/* ---- HMP ---- */

void hmp_info_sev_snp_certs(Monitor *mon, const QDict *qdict)
{
    Error *err = NULL;
    SevSnpCertsInfo *info = qmp_query_sev_snp_certs(NULL, &err);
    SevSnpCertsStats *s;

    if (!info) {
        monitor_printf(mon, "%s\n", error_get_pretty(err));
        error_free(err);
        return;
    }
    s = info->stats;
    monitor_printf(mon, "sev-snp-guest %s: certificates %s\n", info->id,
                   info->enabled ? "served" : "off (empty table)");
    if (info->certs_path) {
        monitor_printf(mon, "  certs-path: %s\n", info->certs_path);
    }
    monitor_printf(mon, "  abi: %s (%s: %s)\n", SevSnpCertsAbi_str(info->abi),
                   SevSnpCertsAbiSource_str(info->abi_source),
                   info->abi_detail);
    monitor_printf(mon, "  timeout: %u ms, busy limit: %u ms, rate limit: "
                   "%u/s (burst %u)\n", info->timeout, info->busy_limit,
                   info->rate_limit, info->rate_burst);
    if (info->blob) {
        monitor_printf(mon, "  blob: %" PRIu64 " bytes, sha256 %s\n",
                       info->blob->size, info->blob->sha256);
        for (SevSnpCertEntryInfoList *l = info->blob->entries; l;
             l = l->next) {
            SevSnpCertEntryInfo *e = l->value;

            monitor_printf(mon, "    %-5s %s off %u len %u sha384 %s\n",
                           SevSnpCertEntryKind_str(e->kind),
                           e->guid, e->offset, e->length, e->fingerprint);
        }
        if (info->blob->guest_warning) {
            monitor_printf(mon, "  warning: %s\n",
                           info->blob->guest_warning);
        }
    } else if (info->blob_error) {
        monitor_printf(mon, "  blob: unreadable: %s\n", info->blob_error);
    }
    if (info->blob_busy) {
        monitor_printf(mon, "  blob: busy: an updater holds the lock; %s\n",
                       info->blob ? "shown as last validated, it may be "
                       "about to change" : "nothing validated yet");
    }
    monitor_printf(mon, "  requests %" PRIu64 ", served %" PRIu64
                   ", too-small %" PRIu64 ", busy %" PRIu64
                   ", rate-limited %" PRIu64 ", errors %" PRIu64
                   ", in flight %" PRIu64 ", interrupted %" PRIu64 "\n",
                   s->requests, s->served, s->too_small, s->busy,
                   s->rate_limited, s->errors, s->in_flight, s->interrupted);
    monitor_printf(mon, "  without a chain %" PRIu64 " (host faults %" PRIu64
                   ", busy limit %" PRIu64 ")\n", s->chainless,
                   s->host_faults, s->busy_limit);
    if (info->last_error) {
        monitor_printf(mon, "  last error: %s\n", info->last_error);
    }
    qapi_free_SevSnpCertsInfo(info);
}
