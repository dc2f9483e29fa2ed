/*
 * The Linux-guest model: the test guest asks for attestation reports the
 * way Linux's SEV-SNP guest driver does, and does with each answer what
 * that driver does with it, so that a scenario fails exactly when a real
 * Linux guest would be harmed.
 *
 * The driver (facts from Linux's drivers/virt/coco/sev-guest/sev-guest.c
 * and, since 6.13, arch/x86/coco/sev/core.c):
 *
 *  - get_ext_report(): a certs_len of 0 (or no buffer) still sends the
 *    extended request, with npages 0; a certs_len above
 *    SEV_FW_BLOB_MAX_SIZE or not page aligned is -EINVAL, nothing sent.
 *    The certificate buffer the host sees is the driver's own shared
 *    SEV_FW_BLOB_MAX_SIZE buffer (mdesc->certs_data), copied to the
 *    caller on success.  After INVALID_LEN the caller is told the length
 *    needed (certs_len = data_npages << PAGE_SHIFT).
 *  - snp_send_guest_request(): one request at a time (snp_cmd_mutex);
 *    a wiped VMPCK is -ENOTTY; the message carries the next sequence
 *    number (secrets page msg_seqno + 1).  An error other than -EIO with
 *    SW_EXITINFO2 = INVALID_LEN is "Detected error from ASP request" and
 *    snp_disable_vmpck(): the VMPCK is wiped for good.  A response that
 *    does not verify (sequence number + 1, type + 1, version, size) is
 *    "Detected unexpected decode failure" and the same.
 *  - __handle_guest_request(): -ENOSPC (INVALID_LEN to the extended
 *    request) re-issues the same message as a plain guest request
 *    (SVM_VMGEXIT_GUEST_REQUEST) so the sequence number stays in step,
 *    then returns -EIO with SW_EXITINFO2 = INVALID_LEN; -EAGAIN (BUSY)
 *    sleeps SNP_REQ_RETRY_DELAY and retries until
 *    SNP_REQ_MAX_RETRY_DURATION has passed since the request began, then
 *    -ETIMEDOUT.  Whatever the outcome the sequence number advances by 2.
 *  - snp_issue_guest_request(): SW_EXITINFO2 0 is success, exactly
 *    BUSY << 32 is -EAGAIN, exactly INVALID_LEN << 32 to the extended
 *    request is -ENOSPC (RBX = pages needed), anything else -EIO; a GHCB
 *    error (SW_EXITINFO1) fails before SW_EXITINFO2 is looked at.
 *
 * Its callers, the two shapes of request:
 *
 *  - snpguest (the virtee sev crate's get_ext_report()): a size probe with
 *    certs_len 0; INVALID_LEN: ask again with the length it was told;
 *    success: the report and no certificates; anything else: fail.
 *  - configfs-tsm (sev_report_new()): a fixed SEV_FW_BLOB_MAX_SIZE buffer;
 *    the certificates are the table's entries (none: no auxblob).
 *
 * Differences, none visible to the host: the driver zeroes its buffer
 * before a request, the model fills it with FILL_BYTE so that what the
 * host wrote shows; messages are not encrypted (the simulated firmware
 * checks the sequence numbers, snp-host-abi.h); the driver's state (the
 * VMPCK, msg_seqno_0) is kept here, not in the secrets page.
 *
 * Each answer a caller gets is checked (a signed report of its user data;
 * a valid table, an empty one being exactly the 24-byte terminator) and
 * handed to the host-side recorder (SNP_SIM_OP_RECORD), which verifies it
 * matches (snp-sim-fw verify-pairs) or carries no chain.  A wiped VMPCK
 * ends the scenario with a FAIL line naming the answer that cost it.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <linux/errno.h>
#include <linux/psp-sev.h>
#include <linux/sev-guest.h>

#include "scen.h"

/*
 * The driver's retry clock: kernel-internal, not uapi
 * (sev-guest.c: SNP_REQ_RETRY_DELAY (2*HZ), SNP_REQ_MAX_RETRY_DURATION
 * (60*HZ)).  The model never shortens it.
 */
#define SNP_REQ_RETRY_DELAY_MS          2000
#define SNP_REQ_MAX_RETRY_DURATION_MS   60000
/*
 * The largest certificate buffer the driver takes, and the size of its
 * own (include/linux/psp-sev.h: SEV_FW_BLOB_MAX_SIZE 0x4000, 16 KiB;
 * kernel-internal, in no released uapi header).
 */
#define SEV_FW_BLOB_MAX_SIZE            0x4000
/* AES-GCM tag of the driver's messages (AUTHTAG_LEN). */
#define AUTHTAG_LEN                     16
/* struct snp_report_resp's data (uapi), the response the driver takes. */
#define REPORT_RESP_DATA_SIZE \
    sizeof(((struct snp_report_resp *)0)->data)
/* What snp_issue_guest_request() returns when the GHCB call failed. */
#define LX_GHCB_FAILED                  1

#define VMM_ERR(e)      ((uint64_t)(e) << SNP_GUEST_VMM_ERR_SHIFT)

/* The driver's pages (shared) and each caller's buffers (private). */
#define DRV_REQ         (LINUX_BASE)
#define DRV_RESP        (LINUX_BASE + 0x1000)
#define DRV_CERTS       (LINUX_BASE + 0x2000)
#define CALLER_BASE     (LINUX_BASE + 0x10000)
#define CALLER_SIZE     0x8000
#define CALLER_RESP     0x0000      /* the MSG_REPORT_RSP payload copy */
#define CALLER_CERTS    0x1000      /* up to SEV_FW_BLOB_MAX_SIZE */

_Static_assert(CALLER_CERTS + SEV_FW_BLOB_MAX_SIZE <= CALLER_SIZE,
               "caller buffers");
_Static_assert(CALLER_BASE + MAX_CPUS * CALLER_SIZE <=
               LINUX_BASE + LINUX_SIZE, "the model's memory");

static inline uint8_t *ptr(uint64_t gpa)
{
    return (uint8_t *)(uintptr_t)gpa;
}

static inline uint8_t *caller(uint32_t cpu, uint64_t off)
{
    return ptr(CALLER_BASE + (uint64_t)cpu * CALLER_SIZE + off);
}

/* -------------------------------------------------------------------- */
/* The driver. */

typedef struct {
    uint64_t ext, plain, busy, invalid_len, ok;
} lx_sent;

static struct {
    spinlock_t mutex;           /* snp_cmd_mutex */
    bool ready;
    bool vmpck_wiped;
    uint32_t msg_seqno;         /* the secrets page's msg_seqno_0 */
    uint32_t data_npages;       /* mdesc->input.data_npages */
    uint64_t req_start;         /* of the request in progress */
    lx_sent sent;
} drv;

/* What one request to the driver went through, for the caller. */
typedef struct {
    uint32_t busy;              /* BUSY answers */
    uint32_t reissued;          /* plain re-issues after INVALID_LEN */
    uint64_t ms;                /* from the first message to the answer */
} lx_trace;

static const char *vmm_err_name(uint32_t vmm)
{
    switch (vmm) {
    case 0:
        return "none";
    case SNP_GUEST_VMM_ERR_INVALID_LEN:
        return "INVALID_LEN";
    case SNP_GUEST_VMM_ERR_BUSY:
        return "BUSY";
    case SNP_SIM_VMM_ERR_GENERIC:
        return "GENERIC";
    }
    return "unknown";
}

static void lx_summary(void);

/*
 * snp_disable_vmpck(): the key is gone until the guest reboots.  What a
 * Linux guest then has is a VM that can never attest again: the scenario
 * ends here.
 */
static void __attribute__((noreturn))
lx_wipe(const char *msg, int rc, uint64_t exitinfo2, bool ext,
        uint32_t npages, uint64_t seqno, const lx_trace *t,
        const char *detail)
{
    char answer[160];
    uint32_t vmm = exitinfo2 >> SNP_GUEST_VMM_ERR_SHIFT;

    drv.vmpck_wiped = true;
    if (rc == -ETIMEDOUT) {
        snprintf(answer, sizeof(answer), "BUSY for %lu ms (%u answers): "
                 "past the driver's %u ms, -ETIMEDOUT", t->ms, t->busy,
                 SNP_REQ_MAX_RETRY_DURATION_MS);
    } else if (rc == LX_GHCB_FAILED) {
        snprintf(answer, sizeof(answer), "a GHCB error (%s)", detail);
    } else if (detail) {
        snprintf(answer, sizeof(answer), "a response that does not "
                 "verify: %s", detail);
    } else {
        snprintf(answer, sizeof(answer), "SW_EXITINFO2 0x%lx (VMM error "
                 "%s 0x%x, firmware error 0x%x)", exitinfo2,
                 vmm_err_name(vmm), vmm, (uint32_t)exitinfo2);
    }
    fail("vmpck-lost", "VMPCK0 wiped (\"%s\", rc %d): the answer was %s, "
         "to %s request%s (npages %u), message %lu", msg, rc, answer,
         ext ? "an extended" : "a plain",
         t->reissued ? " re-issued after INVALID_LEN" : "", npages,
         seqno);
    say("INFO linux-model: the guest can no longer attest; ending the "
        "scenario");
    lx_summary();
    finish();
}

/* snp_issue_guest_request(): 0 or -errno (LX_GHCB_FAILED), *exitinfo2. */
static int lx_issue(bool ext, uint64_t *exitinfo2, char *detail,
                    size_t dlen)
{
    sim_regs r = { .rdi = DRV_REQ, .rsi = DRV_RESP };

    *exitinfo2 = (uint64_t)(int64_t)SEV_RET_NO_FW_CALL;
    if (ext) {
        r.rbx = DRV_CERTS;
        r.rcx = drv.data_npages;
        drv.sent.ext++;
        sim_call(SNP_SIM_OP_EXT_GUEST_REQ, &r);
    } else {
        drv.sent.plain++;
        sim_call(SNP_SIM_OP_GUEST_REQ, &r);
    }
    if (r.rcx) {
        /* sev_es_ghcb_hv_call() failed: SW_EXITINFO1 was set. */
        snprintf(detail, dlen, "SW_EXITINFO1 %lu, SW_EXITINFO2 0x%lx",
                 r.rcx, r.rax);
        return LX_GHCB_FAILED;
    }
    *exitinfo2 = r.rax;
    if (r.rax == 0) {
        return 0;
    }
    if (r.rax == VMM_ERR(SNP_GUEST_VMM_ERR_BUSY)) {
        drv.sent.busy++;
        return -EAGAIN;
    }
    if (r.rax == VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN) && ext) {
        drv.sent.invalid_len++;
        drv.data_npages = r.rbx;
        return -ENOSPC;
    }
    return -EIO;
}

/* __handle_guest_request() */
static int lx_handle(bool *ext, uint64_t *exitinfo2, lx_trace *t,
                     char *detail, size_t dlen)
{
    uint32_t override_npages = 0;
    uint64_t override_err = 0;
    int rc;

    drv.req_start = sim_time_ms();
    for (;;) {
        rc = lx_issue(*ext, exitinfo2, detail, dlen);
        t->ms = sim_time_ms() - drv.req_start;
        if (rc == -ENOSPC) {
            override_npages = drv.data_npages;
            *ext = false;
            override_err = VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN);
            t->reissued++;
            continue;
        }
        if (rc == -EAGAIN) {
            t->busy++;
            if (sim_time_ms() - drv.req_start >
                SNP_REQ_MAX_RETRY_DURATION_MS) {
                rc = -ETIMEDOUT;
                break;
            }
            delay_ms(SNP_REQ_RETRY_DELAY_MS);
            continue;
        }
        break;
    }
    drv.msg_seqno += 2;
    if (override_err) {
        *exitinfo2 = override_err;
        if (!rc) {
            rc = -EIO;
        }
    }
    if (override_npages) {
        drv.data_npages = override_npages;
    }
    return rc;
}

/* verify_and_dec_payload(): NULL, or what is wrong. */
static const char *lx_verify(uint64_t seqno)
{
    const struct snp_sim_report_rsp_msg *m = (const void *)ptr(DRV_RESP);

    if (m->hdr.msg_seqno != seqno + 1) {
        return "the response's sequence number is not the request's + 1";
    }
    if (m->hdr.msg_type != SNP_SIM_MSG_REPORT_REQ + 1 ||
        m->hdr.msg_version != 1) {
        return "the response's type or version";
    }
    if ((size_t)m->hdr.msg_sz + AUTHTAG_LEN >
        REPORT_RESP_DATA_SIZE + AUTHTAG_LEN) {
        return "the response is larger than the driver's buffer";
    }
    return NULL;
}

/* snp_send_guest_request() for a MSG_REPORT_REQ; drv.mutex held. */
static int lx_send(bool ext, const uint8_t user_data[64],
                   uint64_t *exitinfo2, lx_trace *t)
{
    char detail[96] = "";
    uint32_t npages = drv.data_npages;
    uint64_t seqno;
    const char *bad;
    int rc;

    if (drv.vmpck_wiped) {
        return -ENOTTY;
    }
    seqno = (uint64_t)drv.msg_seqno + 1;
    memset(ptr(DRV_RESP), 0, PAGE_SIZE);
    report_msg_init((struct snp_sim_report_msg *)ptr(DRV_REQ), seqno,
                    user_data);
    rc = lx_handle(&ext, exitinfo2, t, detail, sizeof(detail));
    if (rc) {
        if (rc == -EIO &&
            *exitinfo2 == VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN)) {
            return rc;
        }
        lx_wipe("Detected error from ASP request", rc, *exitinfo2, ext,
                npages, seqno, t, rc == LX_GHCB_FAILED ? detail : NULL);
    }
    bad = lx_verify(seqno);
    if (bad) {
        lx_wipe("Detected unexpected decode failure from ASP", -EBADMSG,
                *exitinfo2, ext, npages, seqno, t, bad);
    }
    drv.sent.ok++;
    return 0;
}

/*
 * get_ext_report() for @cpu's caller: the report into the caller's
 * response buffer, the table into @certs.  *certs_len: in, the caller's
 * buffer; out after INVALID_LEN, what is needed.  *probe_wrote: the host
 * wrote into the driver's buffer although npages was 0.
 */
static int lx_get_ext_report(uint32_t cpu, const uint8_t user_data[64],
                             uint8_t *certs, uint32_t *certs_len,
                             uint64_t *exitinfo2, lx_trace *t,
                             bool *probe_wrote)
{
    uint32_t npages = 0;
    int rc;

    *exitinfo2 = 0;
    *probe_wrote = false;
    if (*certs_len && certs) {
        if (*certs_len > SEV_FW_BLOB_MAX_SIZE || *certs_len % PAGE_SIZE) {
            return -EINVAL;
        }
        npages = *certs_len / PAGE_SIZE;
    }
    spin_lock(&drv.mutex);
    memset(ptr(DRV_CERTS), FILL_BYTE, SEV_FW_BLOB_MAX_SIZE);
    drv.data_npages = npages;
    rc = lx_send(true, user_data, exitinfo2, t);
    if ((*exitinfo2 >> SNP_GUEST_VMM_ERR_SHIFT) ==
        SNP_GUEST_VMM_ERR_INVALID_LEN) {
        *certs_len = drv.data_npages * PAGE_SIZE;
    }
    if (!npages && !mem_is(ptr(DRV_CERTS), FILL_BYTE,
                           SEV_FW_BLOB_MAX_SIZE)) {
        *probe_wrote = true;
    }
    if (!rc) {
        if (npages) {
            memcpy(certs, ptr(DRV_CERTS), *certs_len);
        }
        memcpy(caller(cpu, CALLER_RESP),
               &((struct snp_sim_report_rsp_msg *)ptr(DRV_RESP))->resp,
               sizeof(struct snp_sim_report_resp));
    }
    spin_unlock(&drv.mutex);
    return rc;
}

/* The driver's probe: its shared pages (alloc_shared_pages()). */
static bool lx_init(void)
{
    uint64_t rax;

    if (drv.ready) {
        return true;
    }
    rax = map_gpa_range(DRV_REQ, 2 + SEV_FW_BLOB_MAX_SIZE / PAGE_SIZE,
                        false);
    if (!check(rax == 0, "linux-driver-shared-pages", "RAX 0x%lx", rax)) {
        return false;
    }
    drv.ready = true;
    return true;
}

/* -------------------------------------------------------------------- */
/* The callers, and what they got. */

typedef enum {
    LX_CHAIN,                   /* a table with an endorsement key */
    LX_CHAINLESS,               /* no certificates: none asked, or empty */
    LX_FAILED,                  /* the caller got an error */
} lx_outcome;

typedef struct {
    lx_outcome outcome;
    int rc;                     /* of the failing ioctl */
    uint64_t exitinfo2;
    uint32_t certs_len;         /* what the caller holds */
    lx_trace t;                 /* summed over the caller's ioctls */
    bool probe_wrote;
    bool bad;                   /* a FAIL line was printed */
} lx_result;

static struct {
    uint64_t chain, chainless, failed, recorded;
} lx_acct[MAX_CPUS];

static const char *outcome_name(lx_outcome o)
{
    return o == LX_CHAIN ? "chain" : o == LX_CHAINLESS ? "chainless" :
           "failed";
}

static void trace_add(lx_trace *sum, const lx_trace *t)
{
    sum->busy += t->busy;
    sum->reissued += t->reissued;
    sum->ms += t->ms;
}

/*
 * What the caller holds after a successful ioctl: checked, classified and
 * recorded.  False after a FAIL line.
 */
static bool lx_take(uint32_t cpu, const char *name, const uint8_t ud[64],
                    uint8_t *certs, uint32_t certs_len, lx_result *res)
{
    const struct snp_sim_report_resp *resp = (const void *)caller(cpu,
                                                              CALLER_RESP);
    char why[200];
    bool has_ek = false;
    int n = 0;
    sim_regs r;

    if (!report_resp_ok(resp, ud, why, sizeof(why))) {
        fail(name, "report: %s", why);
        return false;
    }
    if (certs_len) {
        n = table_parse(certs, certs_len, &has_ek, why, sizeof(why));
        if (n < 0) {
            fail(name, "certificate table: %s", why);
            return false;
        }
        if (n == 0 && !mem_is(certs + 24, FILL_BYTE, certs_len - 24)) {
            fail(name, "an empty table, but the host wrote past its "
                 "24-byte terminator");
            return false;
        }
        if (n > 0 && !has_ek) {
            fail(name, "%d certificates and no VCEK or VLEK", n);
            return false;
        }
    }
    res->outcome = n > 0 ? LX_CHAIN : LX_CHAINLESS;
    res->certs_len = certs_len;
    r = (sim_regs) {
        .rbx = gpa(certs), .rcx = certs_len / PAGE_SIZE, .rdi = gpa(resp),
    };
    sim_call(SNP_SIM_OP_RECORD, &r);
    if ((int64_t)r.rax < 0) {
        fail(name, "RECORD answered %ld", (int64_t)r.rax);
        return false;
    }
    lx_acct[cpu].recorded++;
    if (res->outcome == LX_CHAIN) {
        lx_acct[cpu].chain++;
    } else {
        lx_acct[cpu].chainless++;
    }
    return true;
}

/* snpguest: the size probe, then the length it was told. */
static void lx_snpguest(uint32_t cpu, const char *name, lx_result *res)
{
    uint8_t ud[64];
    uint8_t *certs = caller(cpu, CALLER_CERTS);
    uint32_t len = 0;
    lx_trace t = { 0 };

    *res = (lx_result) { .outcome = LX_FAILED };
    fresh_user_data(cpu, ud);
    res->rc = lx_get_ext_report(cpu, ud, NULL, &len, &res->exitinfo2, &t,
                                &res->probe_wrote);
    trace_add(&res->t, &t);
    if (res->probe_wrote) {
        fail(name, "the host wrote into the certificate buffer of a "
             "request with npages 0");
        res->bad = true;
    }
    if (res->rc == 0) {
        res->bad |= !lx_take(cpu, name, ud, NULL, 0, res);
        return;
    }
    if (res->rc != -EIO || (res->exitinfo2 >> SNP_GUEST_VMM_ERR_SHIFT) !=
        SNP_GUEST_VMM_ERR_INVALID_LEN) {
        lx_acct[cpu].failed++;
        return;
    }
    /* The sev crate allocates what it was told and asks again. */
    memset(certs, FILL_BYTE, SEV_FW_BLOB_MAX_SIZE);
    t = (lx_trace) { 0 };
    res->rc = lx_get_ext_report(cpu, ud, certs, &len, &res->exitinfo2, &t,
                                &res->probe_wrote);
    trace_add(&res->t, &t);
    if (res->rc) {
        res->certs_len = len;
        lx_acct[cpu].failed++;
        return;
    }
    res->bad |= !lx_take(cpu, name, ud, certs, len, res);
}

/* configfs-tsm: one request with a fixed SEV_FW_BLOB_MAX_SIZE buffer. */
static void lx_configfs(uint32_t cpu, const char *name, lx_result *res)
{
    uint8_t ud[64];
    uint8_t *certs = caller(cpu, CALLER_CERTS);
    uint32_t len = SEV_FW_BLOB_MAX_SIZE;
    bool wrote;

    *res = (lx_result) { .outcome = LX_FAILED };
    fresh_user_data(cpu, ud);
    memset(certs, FILL_BYTE, SEV_FW_BLOB_MAX_SIZE);
    res->rc = lx_get_ext_report(cpu, ud, certs, &len, &res->exitinfo2,
                                &res->t, &wrote);
    if (res->rc) {
        res->certs_len = len;
        lx_acct[cpu].failed++;
        return;
    }
    res->bad |= !lx_take(cpu, name, ud, certs, len, res);
}

typedef enum { SHAPE_SNPGUEST, SHAPE_CONFIGFS } lx_shape;

/*
 * Ask in @shape; PASS/FAIL "LABEL-SHAPE": the caller got an answer, the
 * one @want says (LX_FAILED: either), in at most @max_ms when not 0.
 */
static lx_outcome lx_ask(uint32_t cpu, const char *label, lx_shape shape,
                         lx_outcome want, uint64_t max_ms, lx_result *out)
{
    char name[80];
    lx_result res;

    snprintf(name, sizeof(name), "%s-%s", label,
             shape == SHAPE_SNPGUEST ? "snpguest" : "configfs");
    if (shape == SHAPE_SNPGUEST) {
        lx_snpguest(cpu, name, &res);
    } else {
        lx_configfs(cpu, name, &res);
    }
    if (out) {
        *out = res;
    }
    say("INFO %s: %s after %lu ms, %u BUSY, %u re-issued%s", name,
        outcome_name(res.outcome), res.t.ms, res.t.busy, res.t.reissued,
        res.outcome == LX_FAILED ? " (the caller's error)" : "");
    if (res.bad) {
        return res.outcome;
    }
    if (res.outcome == LX_FAILED) {
        fail(name, "the caller got rc %d, SW_EXITINFO2 0x%lx, certs_len %u "
             "(the driver kept its key)", res.rc, res.exitinfo2,
             res.certs_len);
    } else if (want != LX_FAILED && res.outcome != want) {
        fail(name, "got %s, want %s", outcome_name(res.outcome),
             outcome_name(want));
    } else if (max_ms && res.t.ms > max_ms) {
        fail(name, "answered after %lu ms, want at most %lu (%u BUSY)",
             res.t.ms, max_ms, res.t.busy);
    } else {
        pass(name);
    }
    return res.outcome;
}

/* The account the runner checks, and the recorded pairs it counts. */
static void lx_summary(void)
{
    uint64_t chain = 0, chainless = 0, failed = 0, recorded = 0;

    for (uint32_t c = 0; c < ncpus && c < MAX_CPUS; c++) {
        chain += lx_acct[c].chain;
        chainless += lx_acct[c].chainless;
        failed += lx_acct[c].failed;
        recorded += lx_acct[c].recorded;
    }
    say("INFO linux-model: key %s; answers chain=%lu chainless=%lu "
        "failed=%lu; messages ext=%lu plain=%lu busy=%lu invalid-len=%lu "
        "ok=%lu; recorded=%lu", drv.vmpck_wiped ? "WIPED" : "kept", chain,
        chainless, failed, drv.sent.ext, drv.sent.plain, drv.sent.busy,
        drv.sent.invalid_len, drv.sent.ok, recorded);
}

static inline lx_outcome served(void)
{
    return opt.expect_empty ? LX_CHAINLESS : LX_CHAIN;
}

/* -------------------------------------------------------------------- */
/* Scenario linux-faults: the blob deleted, damaged, replaced, restored. */

static void scenario_faults(void)
{
    static const struct {
        const char *step, *label;
        bool fault;
    } steps[] = {
        { NULL, "baseline", false },
        { "blob:delete", "deleted", true },
        { "blob:restore", "restored-after-delete", false },
        { "blob:corrupt", "corrupted", true },
        { "blob:restore", "restored-after-corrupt", false },
        { "blob:truncate", "truncated", true },
        { "blob:restore", "restored-after-truncate", false },
        { "blob:fifo", "fifo", true },
        { "blob:restore", "restored-after-fifo", false },
        { "blob:directory", "directory", true },
        { "blob:restore", "restored-after-directory", false },
    };

    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        lx_outcome want = steps[i].fault ? LX_CHAINLESS : served();

        if (steps[i].step && !host_step(steps[i].step)) {
            return;
        }
        lx_ask(0, steps[i].label, SHAPE_SNPGUEST, want, 0, NULL);
        lx_ask(0, steps[i].label, SHAPE_CONFIGFS, want, 0, NULL);
    }
    host_step("qmp:stats");
}

/* -------------------------------------------------------------------- */
/* Scenario linux-busy: an updater holds the lock past the BUSY bound. */

static void scenario_busy(void)
{
    /*
     * The bound, then the driver's next retry, QEMU's lock wait
     * (certs-timeout, 100 ms) and slack for this slow host.
     */
    uint64_t max_ms = opt.busy_ms ? opt.busy_ms + SNP_REQ_RETRY_DELAY_MS +
                      1500 : 0;
    sim_regs r = { .rbx = opt.hold_ms };
    lx_result res;
    uint32_t busy = 0;

    lx_ask(0, "before-updater", SHAPE_SNPGUEST, served(), 0, NULL);
    say("INFO linux-busy: an updater holds the blob's lock for %u ms; "
        "certs-busy-limit %u ms", opt.hold_ms, opt.busy_ms);
    sim_call(SNP_SIM_OP_HOLD_LOCK, &r);
    if (!check(r.rax == 0, "updater-holds-locks", "RAX 0x%lx", r.rax)) {
        return;
    }
    lx_ask(0, "under-updater", SHAPE_CONFIGFS, LX_CHAINLESS, max_ms, &res);
    busy += res.t.busy;
    lx_ask(0, "still-under-updater", SHAPE_SNPGUEST, LX_CHAINLESS, max_ms,
           &res);
    busy += res.t.busy;
    if (opt.expect_empty) {
        check(busy == 0, "no-busy-without-certs",
              "%u BUSY answers from a host that never asks QEMU", busy);
    } else {
        check(busy > 0, "busy-before-the-bound",
              "no BUSY while the updater held the lock: the bound was "
              "never reached");
    }
    host_step("qmp:stats");
}

/* -------------------------------------------------------------------- */
/* Scenario linux-setcerts: QEMU's sev-snp-set-certs, driven by the runner. */

static void scenario_setcerts(void)
{
    lx_ask(0, "baseline", SHAPE_SNPGUEST, served(), 0, NULL);
    if (!host_step("qmp:set-certs-bad")) {
        return;
    }
    lx_ask(0, "after-refused-set", SHAPE_SNPGUEST, served(), 0, NULL);
    lx_ask(0, "after-refused-set", SHAPE_CONFIGFS, served(), 0, NULL);
    if (!host_step("qmp:set-certs-other")) {
        return;
    }
    lx_ask(0, "other-blob", SHAPE_SNPGUEST, served(), 0, NULL);
    lx_ask(0, "other-blob", SHAPE_CONFIGFS, served(), 0, NULL);
    if (!host_step("qmp:set-certs-back")) {
        return;
    }
    lx_ask(0, "back", SHAPE_SNPGUEST, served(), 0, NULL);
    lx_ask(0, "back", SHAPE_CONFIGFS, served(), 0, NULL);
    host_step("qmp:done");
}

/* -------------------------------------------------------------------- */
/*
 * Scenario linux-flood: every AP floods raw extended requests (no driver,
 * no retry delay: a guest that ignores BUSY) over QEMU's rate limit,
 * while the BSP, the modelled Linux guest, asks.  The rate limit must not
 * keep the Linux requester BUSY past its budget.
 */

static struct {
    uint64_t ok, busy, other, recorded;
} flood[MAX_CPUS];
static uint32_t flood_stop;

static void flood_worker(uint32_t cpu)
{
    uint8_t *certs = work(cpu) + WORK_CERTS;
    struct snp_sim_report_msg *req = (void *)(work(cpu) + WORK_REQ);
    struct snp_sim_report_rsp_msg *resp = (void *)(work(cpu) + WORK_RESP);
    uint64_t npages = opt.need ? opt.need : 1;
    uint8_t ud[64];
    char why[160];

    if (map_gpa_range(gpa(req), 2, false) ||
        map_gpa_range(gpa(certs), 8, false)) {
        flood[cpu].other++;
    }
    barrier();
    while (!__atomic_load_n(&flood_stop, __ATOMIC_ACQUIRE) &&
           !flood[cpu].other) {
        sim_regs r = {
            .rbx = gpa(certs), .rcx = npages,
            .rdi = gpa(req), .rsi = gpa(resp),
        };

        /* What the host did not write reads as FILL_BYTE (the runner). */
        memset(certs, FILL_BYTE, npages * PAGE_SIZE);
        fresh_user_data(cpu, ud);
        report_msg_init(req, 0, ud);
        sim_call(SNP_SIM_OP_EXT_GUEST_REQ, &r);
        if (r.rax == VMM_ERR(SNP_GUEST_VMM_ERR_BUSY)) {
            flood[cpu].busy++;
            continue;
        }
        if (r.rax == VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN) && r.rbx <= 8) {
            npages = r.rbx;
            continue;
        }
        if (r.rax || !report_resp_ok(&resp->resp, ud, why, sizeof(why))) {
            say("INFO flood cpu %u: RAX 0x%lx", cpu, r.rax);
            flood[cpu].other++;
            break;
        }
        flood[cpu].ok++;
        r = (sim_regs) {
            .rbx = gpa(certs), .rcx = npages, .rdi = gpa(&resp->resp),
        };
        sim_call(SNP_SIM_OP_RECORD, &r);
        if ((int64_t)r.rax >= 0) {
            flood[cpu].recorded++;
        }
    }
    barrier();
}

static void ap_flood_worker(uint32_t cpu)
{
    flood_worker(cpu);
    wait_all_done();
}

static void scenario_flood(void)
{
    uint64_t max_ms = opt.busy_ms ? opt.busy_ms + SNP_REQ_RETRY_DELAY_MS +
                      1500 : 0;
    uint64_t busy = 0, other = 0, recorded = 0;
    char name[32];

    if (!start_aps(ap_flood_worker)) {
        return;
    }
    barrier();
    /* Let the flood use up the rate limit's burst first. */
    delay_ms(500);
    lx_ask(0, "flooded", SHAPE_CONFIGFS, LX_FAILED, max_ms, NULL);
    lx_ask(0, "flooded", SHAPE_SNPGUEST, LX_FAILED, max_ms, NULL);
    __atomic_store_n(&flood_stop, 1, __ATOMIC_RELEASE);
    barrier();
    wait_all_done();
    for (uint32_t c = 1; c < ncpus; c++) {
        say("INFO flood cpu %u: ok=%lu busy=%lu other=%lu recorded=%lu", c,
            flood[c].ok, flood[c].busy, flood[c].other, flood[c].recorded);
        busy += flood[c].busy;
        other += flood[c].other;
        recorded += flood[c].recorded;
        snprintf(name, sizeof(name), "flood-cpu%u-answers", c);
        check(!flood[c].other && flood[c].recorded == flood[c].ok, name,
              "%lu answers other than success, BUSY and INVALID_LEN",
              flood[c].other);
    }
    if (opt.expect_empty) {
        check(busy == 0, "flood-no-busy-without-certs",
              "%lu BUSY answers from a host that never asks QEMU", busy);
    } else {
        check(busy > 0, "flood-over-rate-limit",
              "the flood never got BUSY: the rate limit was not reached");
    }
    host_step("qmp:stats");
}

/* -------------------------------------------------------------------- */
/*
 * Scenario linux-privdrop: QEMU runs as another user (-run-with user=)
 * and the blob is readable by root only; then the runner replaces it by
 * one that user cannot open, then by one it can.
 */

static void scenario_privdrop(void)
{
    lx_ask(0, "root-only-blob", SHAPE_SNPGUEST, served(), 0, NULL);
    lx_ask(0, "root-only-blob", SHAPE_CONFIGFS, served(), 0, NULL);
    if (!host_step("blob:replace-unreadable")) {
        return;
    }
    lx_ask(0, "replaced-unreadable", SHAPE_SNPGUEST, LX_CHAINLESS, 0, NULL);
    lx_ask(0, "replaced-unreadable", SHAPE_CONFIGFS, LX_CHAINLESS, 0, NULL);
    if (!host_step("blob:replace-readable")) {
        return;
    }
    lx_ask(0, "replaced-readable", SHAPE_SNPGUEST, served(), 0, NULL);
    lx_ask(0, "replaced-readable", SHAPE_CONFIGFS, served(), 0, NULL);
}

bool scenario_linux(const char *name)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } scen[] = {
        { "linux-faults", scenario_faults },
        { "linux-busy", scenario_busy },
        { "linux-setcerts", scenario_setcerts },
        { "linux-flood", scenario_flood },
        { "linux-privdrop", scenario_privdrop },
    };

    for (size_t i = 0; i < ARRAY_SIZE(scen); i++) {
        if (!strncmp(name, scen[i].name, sizeof(opt.name))) {
            if (lx_init()) {
                scen[i].fn();
                lx_summary();
            }
            return true;
        }
    }
    return false;
}
