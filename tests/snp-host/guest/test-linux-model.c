/*
 * The Linux-guest model (linux.c), run as an ordinary program, no KVM
 * needed.
 *
 * /linux-model/...: against a scripted host, does the model do, with
 * every answer a host can give, what Linux's SEV-SNP guest driver does?
 * Time is virtual, so the driver's 2-second retries and 60-second budget
 * take no time.  The scripted host plays KVM, the VMM and the firmware at
 * the doorbell: each extended request gets the answer the test scripted,
 * a plain one goes to the firmware, which checks the message sequence
 * number as the SNP host simulator does.
 *
 * /linux-model/service/...: the model against libsevsnp's request
 * service, the code QEMU answers with (through ksim, the kernel side of
 * libsevsnp's own tests), with a real blob file that the test deletes,
 * damages, replaces and restores, or locks as an updater: does a Linux
 * guest keep its key?  Time is real here (the service's clock is).
 *
 * What the model says (PASS/FAIL/INFO lines) is captured; a wiped VMPCK
 * ends the "scenario" (finish()) with a jump back to the test.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "libsevsnp.h"
#include "fwsim.h"
#include "ksim.h"

/* The model itself, statics and all. */
#include "linux.c"

/* ------------------------------------------------------------------ */
/* The guest library, hosted.                                          */
/* ------------------------------------------------------------------ */

scen_opts opt;
uint32_t ncpus = 1;

static GString *console;
static jmp_buf finished;
static uint64_t now_ms = 1000000;
static unsigned n_fail;

bool mem_is(const void *p, uint8_t c, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != c) {
            return false;
        }
    }
    return true;
}

void spin_lock(spinlock_t *l)
{
    g_assert_cmpuint(l->v, ==, 0);      /* one CPU: never contended */
    l->v = 1;
}

void spin_unlock(spinlock_t *l)
{
    l->v = 0;
}

static GMutex console_lock;

static void vline(const char *fmt, va_list ap)
{
    g_mutex_lock(&console_lock);
    g_string_append_vprintf(console, fmt, ap);
    g_string_append_c(console, '\n');
    g_mutex_unlock(&console_lock);
}

void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vline(fmt, ap);
    va_end(ap);
}

void pass(const char *name)
{
    say("PASS %s", name);
}

void fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *why = NULL;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    __atomic_fetch_add(&n_fail, 1, __ATOMIC_SEQ_CST);
    say("FAIL %s: %s", name, why);
}

bool check(bool ok, const char *name, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *why = NULL;

    if (ok) {
        pass(name);
        return true;
    }
    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fail(name, "%s", why);
    return false;
}

void finish(void)
{
    say("DONE");
    longjmp(finished, 1);
}

static bool real_time;

uint64_t sim_time_ms(void)
{
    return real_time ? (uint64_t)g_get_monotonic_time() / 1000 : now_ms;
}

void delay_ms(uint64_t ms)
{
    if (real_time) {
        g_usleep(ms * 1000);
    } else {
        now_ms += ms;
    }
}

uint64_t map_gpa_range(uint64_t start, uint64_t npages, bool private)
{
    return 0;
}

static bool service_step(const char *name);

/* The runner's steps: done by the test when the service answers. */
bool host_step(const char *name)
{
    say("INFO host step %s", name);
    return service_step(name);
}

/* The APs are threads; barrier() and wait_all_done() as main.c's. */
static GMutex smp_lock;
static GCond smp_cond;
static uint32_t bar_count, bar_gen, cpus_done;
static GThread *aps[MAX_CPUS];
static void (*ap_fn)(uint32_t cpu);
static __thread bool is_ap;

void barrier(void)
{
    uint32_t gen;

    g_mutex_lock(&smp_lock);
    gen = bar_gen;
    if (++bar_count == ncpus) {
        bar_count = 0;
        bar_gen++;
        g_cond_broadcast(&smp_cond);
    }
    while (bar_gen == gen) {
        g_cond_wait(&smp_cond, &smp_lock);
    }
    g_mutex_unlock(&smp_lock);
}

static gpointer ap_thread(gpointer data)
{
    is_ap = true;
    ap_fn(GPOINTER_TO_UINT(data));
    return NULL;
}

bool start_aps(void (*fn)(uint32_t cpu))
{
    if (ncpus < 2) {
        return false;
    }
    bar_count = cpus_done = 0;
    ap_fn = fn;
    for (uint32_t c = 1; c < ncpus; c++) {
        aps[c] = g_thread_new("ap", ap_thread, GUINT_TO_POINTER(c));
    }
    return true;
}

/* The APs end here; the BSP waits for them and joins them. */
void wait_all_done(void)
{
    g_mutex_lock(&smp_lock);
    cpus_done++;
    g_cond_broadcast(&smp_cond);
    if (!is_ap) {
        while (cpus_done < ncpus) {
            g_cond_wait(&smp_cond, &smp_lock);
        }
    }
    g_mutex_unlock(&smp_lock);
}

/* ------------------------------------------------------------------ */
/* The scripted host.                                                  */
/* ------------------------------------------------------------------ */

/* The files of the service tests (below). */
static struct {
    char *dir, *path, *other_path;
    GBytes *blob, *other;
} svc_fix;

typedef enum {
    A_CHAIN,            /* success, the table written */
    A_EMPTY,            /* success, the 24-byte empty table */
    A_NOTHING,          /* success, nothing written (npages 0) */
    A_INVALID_LEN,      /* INVALID_LEN, RBX = host.need */
    A_BUSY,
    A_BUSY_FW_ERROR,    /* BUSY with a firmware error: not BUSY */
    A_GENERIC,          /* the generic VMM error */
    A_FW_ERROR,         /* a firmware error in the low half */
    A_GHCB_ERROR,       /* SW_EXITINFO1 set */
    A_BAD_SEQNO,        /* success, but a response with a wrong number */
    A_SCRIBBLE,         /* success, the host wrote into the buffer */
} Answer;

/* A certificate table of one VCEK entry, then DER-looking data. */
#define TABLE_LEN       (2 * 24 + 64)

static struct {
    Answer script[128];         /* answers to extended requests, in turn */
    unsigned n_script, next;
    Answer then;                /* after the script */
    uint32_t need;              /* pages INVALID_LEN asks for */
    uint64_t fw_seqno;          /* the firmware's next sequence number */
    /* what the host saw */
    unsigned ext, plain, records, fw_refused;
    uint64_t ext_npages[128];
    uint64_t ext_at[128];       /* virtual time of each extended request */
    uint8_t last_msg[sizeof(struct snp_sim_report_msg)];
    bool reissue_same;          /* every plain request repeated the last */
    /* Or libsevsnp's service answers (ksim's kernel side). */
    SevsnpService *svc;
    KSimMem *mem;
    KSimVcpu vcpu;
    /* The scripted host as issue 19's policy: an updater's lock held. */
    bool hold, last_busy;
    int hold_fd;                /* the service's: the updater's descriptor */
} host;

static void host_reset(Answer then)
{
    g_assert_null(host.svc);
    memset(&host, 0, sizeof(host));
    host.then = then;
    host.need = 2;
    host.fw_seqno = 1;
    host.reissue_same = true;
}

static void script(Answer a)
{
    g_assert_cmpuint(host.n_script, <, G_N_ELEMENTS(host.script));
    host.script[host.n_script++] = a;
}

static Answer next_answer(void)
{
    return host.next < host.n_script ? host.script[host.next++] : host.then;
}

static void write_table(uint8_t *buf)
{
    static const uint8_t vcek[16] = {
        0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
        0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
    };
    uint32_t off = 48, len = 64;

    memset(buf, 0, 48);
    memcpy(buf, vcek, 16);
    memcpy(buf + 16, &off, 4);
    memcpy(buf + 20, &len, 4);
    memset(buf + 48, 0x30, 64);
}

/*
 * The firmware for the request and response pages given: the sequence
 * number (0: unsequenced, the flooding APs'), then a report of the user
 * data.
 */
static uint64_t firmware_at(uint64_t req, uint64_t resp, bool bad_seqno)
{
    struct snp_sim_report_msg *m = (void *)ptr(req);
    struct snp_sim_report_rsp_msg *r = (void *)ptr(resp);

    if (!m->hdr.msg_seqno) {
        memset(r, 0, sizeof(*r));
        r->resp.report_size = SNP_SIM_REPORT_SIZE;
        r->resp.report[0] = 3;
        r->resp.report[0x34] = 1;
        memcpy(r->resp.report + 0x50, m->req.user_data, 64);
        memset(r->resp.report + SNP_SIM_REPORT_SIG_OFFSET, 0x5c, 144);
        return 0;
    }
    if (m->hdr.msg_seqno != host.fw_seqno) {
        host.fw_refused++;
        return SEV_RET_INVALID_PARAM;
    }
    memset(r, 0, sizeof(*r));
    r->hdr.msg_seqno = m->hdr.msg_seqno + 1 + bad_seqno;
    r->hdr.msg_type = SNP_SIM_MSG_REPORT_RSP;
    r->hdr.msg_version = 1;
    r->hdr.msg_sz = sizeof(r->resp);
    r->resp.report_size = SNP_SIM_REPORT_SIZE;
    r->resp.report[0] = 3;                      /* version */
    r->resp.report[0x34] = 1;                   /* ECDSA P-384 */
    memcpy(r->resp.report + 0x50, m->req.user_data, 64);
    memset(r->resp.report + SNP_SIM_REPORT_SIG_OFFSET, 0x5c, 144);
    host.fw_seqno += 2;
    return 0;
}

static uint64_t firmware(bool bad_seqno)
{
    return firmware_at(DRV_REQ, DRV_RESP, bad_seqno);
}

/*
 * The service's answer, through ksim's kernel side (mainline ABI): the
 * driver's buffer is ksim's guest memory for the request.
 */
static void service_request(sim_regs *r, uint64_t npages)
{
    uint8_t *buf = ksim_mem_ptr(host.mem, DRV_CERTS);

    memcpy(buf, ptr(DRV_CERTS), SEV_FW_BLOB_MAX_SIZE);
    g_assert_cmpint(ksim_guest_roundtrip(&host.vcpu, host.svc, DRV_CERTS,
                                         npages), ==, 0);
    memcpy(ptr(DRV_CERTS), buf, SEV_FW_BLOB_MAX_SIZE);
    g_assert_cmpuint(host.mem->violations, ==, 0);
    r->rbx = npages;
    switch (host.vcpu.guest_result) {
    case SEVSNP_GUEST_OK:
        r->rax = firmware(false);
        return;
    case SEVSNP_GUEST_INVALID_LEN:
        r->rax = VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN);
        r->rbx = host.vcpu.guest_npages;
        return;
    case SEVSNP_GUEST_BUSY:
        r->rax = VMM_ERR(SNP_GUEST_VMM_ERR_BUSY);
        return;
    case SEVSNP_GUEST_GENERIC:
        r->rax = VMM_ERR(SNP_SIM_VMM_ERR_GENERIC);
        return;
    }
    g_assert_not_reached();
}

/*
 * A flooding AP's raw request (its own work area), answered by the
 * service on a ksim vCPU of its own.  A request costs the host some
 * time, as an exit does.
 */
static struct {
    KSimMem *mem;
    KSimVcpu vcpu;
} flood_host[MAX_CPUS];

static void flood_request(sim_regs *r)
{
    uint32_t cpu = (r->rbx - WORK_BASE) / WORK_SIZE;
    uint64_t npages = r->rcx;

    g_assert_cmpuint(cpu, >, 0);
    g_assert_cmpuint(cpu, <, ncpus);
    g_assert_cmpuint(npages, <=, 8);
    if (!flood_host[cpu].mem) {
        flood_host[cpu].mem = ksim_mem_new(r->rbx, 8, FILL_BYTE);
        ksim_vcpu_init(&flood_host[cpu].vcpu, cpu, SEVSNP_ABI_REQ_CERTS,
                       flood_host[cpu].mem);
    }
    g_usleep(200);
    memcpy(ksim_mem_ptr(flood_host[cpu].mem, r->rbx), ptr(r->rbx),
           npages * 4096);
    g_assert_cmpint(ksim_guest_roundtrip(&flood_host[cpu].vcpu, host.svc,
                                         r->rbx, npages), ==, 0);
    memcpy(ptr(r->rbx), ksim_mem_ptr(flood_host[cpu].mem, r->rbx),
           npages * 4096);
    r->rcx = 0;
    r->rbx = npages;
    switch (flood_host[cpu].vcpu.guest_result) {
    case SEVSNP_GUEST_OK:
        r->rax = firmware_at(r->rdi, r->rsi, false);
        return;
    case SEVSNP_GUEST_INVALID_LEN:
        r->rax = VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN);
        r->rbx = flood_host[cpu].vcpu.guest_npages;
        return;
    case SEVSNP_GUEST_BUSY:
        r->rax = VMM_ERR(SNP_GUEST_VMM_ERR_BUSY);
        return;
    case SEVSNP_GUEST_GENERIC:
        r->rax = VMM_ERR(SNP_SIM_VMM_ERR_GENERIC);
        return;
    }
}

static void ext_request(sim_regs *r)
{
    if (host.svc && r->rbx != DRV_CERTS) {
        flood_request(r);
        return;
    }

    uint8_t *buf = ptr(r->rbx);
    uint64_t npages = r->rcx;
    Answer a = host.svc ? A_CHAIN : next_answer();

    if (!host.svc && host.hold) {
        /* BUSY, then (past the bound) an empty table, and again. */
        host.last_busy = !host.last_busy;
        a = host.last_busy ? A_BUSY : A_EMPTY;
    }

    g_assert_cmpuint(r->rbx, ==, DRV_CERTS);
    g_assert_cmpuint(r->rdi, ==, DRV_REQ);
    g_assert_cmpuint(r->rsi, ==, DRV_RESP);
    host.ext_npages[host.ext % 128] = npages;
    host.ext_at[host.ext % 128] = now_ms;
    host.ext++;
    memcpy(host.last_msg, ptr(DRV_REQ), sizeof(host.last_msg));
    r->rbx = npages;
    r->rcx = 0;                 /* SW_EXITINFO1 */
    if (host.svc) {
        service_request(r, npages);
        return;
    }
    switch (a) {
    case A_CHAIN:
        if (npages * PAGE_SIZE < TABLE_LEN) {
            r->rax = VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN);
            r->rbx = host.need;
            return;
        }
        write_table(buf);
        r->rax = firmware(false);
        return;
    case A_EMPTY:
        if (npages) {
            memset(buf, 0, 24);
        }
        r->rax = firmware(false);
        return;
    case A_NOTHING:
        r->rax = firmware(false);
        return;
    case A_SCRIBBLE:
        memset(buf, 0, 24 + 8);
        r->rax = firmware(false);
        return;
    case A_INVALID_LEN:
        r->rax = VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN);
        r->rbx = host.need;
        return;
    case A_BUSY:
        r->rax = VMM_ERR(SNP_GUEST_VMM_ERR_BUSY);
        return;
    case A_BUSY_FW_ERROR:
        r->rax = VMM_ERR(SNP_GUEST_VMM_ERR_BUSY) | SEV_RET_INVALID_PARAM;
        return;
    case A_GENERIC:
        r->rax = VMM_ERR(SNP_SIM_VMM_ERR_GENERIC);
        return;
    case A_FW_ERROR:
        r->rax = SEV_RET_INVALID_PARAM;
        return;
    case A_GHCB_ERROR:
        r->rcx = SNP_SIM_GHCB_EXITINFO1_ERR;
        r->rax = SNP_SIM_GHCB_ERR_INVALID_INPUT;
        return;
    case A_BAD_SEQNO:
        r->rax = firmware(true);
        return;
    }
    g_assert_not_reached();
}

void sim_call(uint32_t op, sim_regs *r)
{
    switch (op) {
    case SNP_SIM_OP_EXT_GUEST_REQ:
        ext_request(r);
        return;
    case SNP_SIM_OP_GUEST_REQ:
        r->rcx = 0;
        host.plain++;
        if (memcmp(host.last_msg, ptr(DRV_REQ), sizeof(host.last_msg))) {
            host.reissue_same = false;
        }
        r->rax = firmware(false);
        return;
    case SNP_SIM_OP_RECORD:
        r->rax = __atomic_fetch_add(&host.records, 1, __ATOMIC_SEQ_CST);
        return;
    case SNP_SIM_OP_MAP_GPA_RANGE:
        r->rax = 0;
        return;
    case SNP_SIM_OP_HOLD_LOCK:
        if (host.svc) {
            GError *err = NULL;

            /* An updater: both exclusive locks, until the test ends. */
            host.hold_fd = open(svc_fix.path, O_RDWR);
            g_assert_cmpint(host.hold_fd, >=, 0);
            g_assert(sevsnp_lock_exclusive(host.hold_fd, 0, &err));
        }
        host.hold = true;
        r->rax = 0;
        return;
    }
    g_assert_not_reached();
}

/* ------------------------------------------------------------------ */
/* The tests.                                                          */
/* ------------------------------------------------------------------ */

static void model_reset(void)
{
    memset(&drv, 0, sizeof(drv));
    memset(lx_acct, 0, sizeof(lx_acct));
    memset(&opt, 0, sizeof(opt));
    g_string_truncate(console, 0);
    n_fail = 0;
    g_assert(lx_init());
}

/* Run @fn as a scenario; true if it ended by a wiped VMPCK. */
static bool run(void (*fn)(void))
{
    if (setjmp(finished)) {
        return true;
    }
    fn();
    return false;
}

static bool said(const char *needle)
{
    return strstr(console->str, needle) != NULL;
}

static lx_result res;

static void ask_snpguest(void)
{
    lx_snpguest(0, "t", &res);
}

static void ask_configfs(void)
{
    lx_configfs(0, "t", &res);
}

static void test_served(void)
{
    model_reset();
    host_reset(A_CHAIN);
    g_assert_false(run(ask_configfs));
    g_assert_cmpint(res.outcome, ==, LX_CHAIN);
    g_assert_cmpuint(host.ext, ==, 1);
    g_assert_cmpuint(host.ext_npages[0], ==, SEV_FW_BLOB_MAX_SIZE / 4096);
    g_assert_cmpuint(host.records, ==, 1);
    g_assert_cmpuint(drv.msg_seqno, ==, 2);

    /*
     * snpguest: the size probe (npages 0) gets INVALID_LEN; the driver
     * re-issues the very same message as a plain request, then the crate
     * asks with the length it was told.
     */
    g_assert_false(run(ask_snpguest));
    g_assert_cmpint(res.outcome, ==, LX_CHAIN);
    g_assert_cmpuint(host.ext, ==, 3);
    g_assert_cmpuint(host.ext_npages[1], ==, 0);
    g_assert_cmpuint(host.ext_npages[2], ==, host.need);
    g_assert_cmpuint(host.plain, ==, 1);
    g_assert_true(host.reissue_same);
    g_assert_cmpuint(res.certs_len, ==, host.need * 4096);
    g_assert_cmpuint(drv.msg_seqno, ==, 6);
    g_assert_cmpuint(host.fw_refused, ==, 0);
    g_assert_cmpuint(host.records, ==, 2);
    g_assert_cmpuint(n_fail, ==, 0);
    g_assert_false(drv.vmpck_wiped);
}

static void test_chainless(void)
{
    /* Success to the probe: the report, no certificates. */
    model_reset();
    host_reset(A_NOTHING);
    g_assert_false(run(ask_snpguest));
    g_assert_cmpint(res.outcome, ==, LX_CHAINLESS);
    g_assert_cmpuint(host.ext, ==, 1);
    g_assert_cmpuint(host.records, ==, 1);
    /* An empty table to a buffer. */
    host_reset(A_EMPTY);
    host.fw_seqno = drv.msg_seqno + 1;
    g_assert_false(run(ask_configfs));
    g_assert_cmpint(res.outcome, ==, LX_CHAINLESS);
    g_assert_cmpuint(n_fail, ==, 0);
    /* A host that writes more than the terminator is caught. */
    host_reset(A_SCRIBBLE);
    host.fw_seqno = drv.msg_seqno + 1;
    g_assert_false(run(ask_configfs));
    g_assert_true(res.bad);
    g_assert_true(said("past its 24-byte terminator"));
    /* And one that writes into the buffer of a probe. */
    g_string_truncate(console, 0);
    host_reset(A_SCRIBBLE);
    host.fw_seqno = drv.msg_seqno + 1;
    g_assert_false(run(ask_snpguest));
    g_assert_true(said("request with npages 0"));
    g_assert_false(drv.vmpck_wiped);
}

static void test_busy(void)
{
    uint64_t t0;

    /* BUSY, retried every 2 s, then served: the key stays. */
    model_reset();
    host_reset(A_CHAIN);
    for (int i = 0; i < 5; i++) {
        script(A_BUSY);
    }
    t0 = now_ms;
    g_assert_false(run(ask_configfs));
    g_assert_cmpint(res.outcome, ==, LX_CHAIN);
    g_assert_cmpuint(res.t.busy, ==, 5);
    g_assert_cmpuint(now_ms - t0, ==, 5 * SNP_REQ_RETRY_DELAY_MS);
    g_assert_cmpuint(host.ext_at[5] - host.ext_at[4], ==,
                     SNP_REQ_RETRY_DELAY_MS);
    g_assert_cmpuint(drv.msg_seqno, ==, 2);

    /*
     * BUSY for ever: the driver gives up once more than 60 s have passed
     * since the request began (-ETIMEDOUT), and wipes the key.
     */
    host_reset(A_BUSY);
    host.fw_seqno = drv.msg_seqno + 1;
    t0 = now_ms;
    g_assert_true(run(ask_configfs));
    drv.mutex.v = 0;
    g_assert_true(drv.vmpck_wiped);
    g_assert_true(said("FAIL vmpck-lost"));
    g_assert_true(said("BUSY for 62000 ms"));
    g_assert_cmpuint(host.ext, ==, 32);     /* t = 0, 2, ..., 62 s */
    g_assert_cmpuint(host.ext_at[31] - t0, ==, 62000);
}

static void test_busy_bound(void)
{
    /*
     * What a host with a 20 s BUSY bound gives: BUSY until the bound,
     * then an empty table: the key stays, the answer has no chain.
     */
    model_reset();
    host_reset(A_CHAIN);
    for (int i = 0; i < 11; i++) {
        script(A_BUSY);
    }
    script(A_EMPTY);
    g_assert_false(run(ask_configfs));
    g_assert_cmpint(res.outcome, ==, LX_CHAINLESS);
    g_assert_cmpuint(res.t.ms, ==, 22000);
    g_assert_false(drv.vmpck_wiped);
}

/* Every answer a Linux guest does not survive, and what it says. */
static void wiped_by(Answer a, void (*ask)(void), const char *needle)
{
    model_reset();
    host_reset(A_CHAIN);
    script(a);
    g_assert_true(run(ask));
    g_assert_true(drv.vmpck_wiped);
    drv.mutex.v = 0;            /* finish() ended the guest holding it */
    if (!said(needle)) {
        g_test_message("console: %s", console->str);
    }
    g_assert_true(said(needle));
    g_assert_cmpuint(n_fail, ==, 1);
    /* A wiped key: the driver refuses what follows, sends nothing. */
    host.ext = 0;
    g_assert_false(run(ask_configfs));
    g_assert_cmpint(res.rc, ==, -ENOTTY);
    g_assert_cmpuint(host.ext, ==, 0);
}

static void test_wiped(void)
{
    wiped_by(A_GENERIC, ask_configfs, "VMM error GENERIC 0xffffffff");
    /* The generic error to snpguest's size probe (the old answer). */
    wiped_by(A_GENERIC, ask_snpguest,
             "an extended request (npages 0)");
    wiped_by(A_FW_ERROR, ask_configfs, "firmware error 0x16");
    /* Only exactly BUSY << 32 is retried. */
    wiped_by(A_BUSY_FW_ERROR, ask_configfs,
             "VMM error BUSY 0x2, firmware error 0x16");
    wiped_by(A_GHCB_ERROR, ask_configfs, "a GHCB error");
    wiped_by(A_BAD_SEQNO, ask_configfs, "sequence number is not");
}

static void test_reissue_refused(void)
{
    /*
     * INVALID_LEN whose plain re-issue fails: the driver returns -EIO
     * with INVALID_LEN and keeps the key (sev-guest.c), but its sequence
     * number has moved on without the firmware: the next message is
     * refused and that costs the key.
     */
    model_reset();
    host_reset(A_CHAIN);
    script(A_INVALID_LEN);
    host.fw_seqno = 99;             /* the firmware refuses message 1 */
    g_assert_false(run(ask_configfs));
    g_assert_cmpint(res.rc, ==, -EIO);
    g_assert_cmpuint(res.exitinfo2, ==,
                     VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN));
    g_assert_false(drv.vmpck_wiped);
    g_assert_cmpuint(drv.msg_seqno, ==, 2);
    host.fw_seqno = 1;
    g_assert_true(run(ask_configfs));
    drv.mutex.v = 0;
    g_assert_true(said("firmware error 0x16"));
}

static void test_too_large(void)
{
    /*
     * A blob of more than 16 KiB: snpguest is told the length, and the
     * driver refuses it (-EINVAL) without sending anything.
     */
    model_reset();
    host_reset(A_CHAIN);
    host.need = SEV_FW_BLOB_MAX_SIZE / 4096 + 1;
    script(A_INVALID_LEN);
    g_assert_false(run(ask_snpguest));
    g_assert_cmpint(res.outcome, ==, LX_FAILED);
    g_assert_cmpint(res.rc, ==, -EINVAL);
    g_assert_cmpuint(host.ext, ==, 1);
    g_assert_cmpuint(host.plain, ==, 1);
    g_assert_false(drv.vmpck_wiped);
    /* configfs-tsm gets -EIO (INVALID_LEN) for its 16 KiB buffer. */
    script(A_INVALID_LEN);
    g_assert_false(run(ask_configfs));
    g_assert_cmpint(res.rc, ==, -EIO);
    g_assert_false(drv.vmpck_wiped);
}

/* ------------------------------------------------------------------ */
/* Against libsevsnp's service.                                        */
/* ------------------------------------------------------------------ */

/* A firmware's blob, and another valid one (another chip's). */
static void service_files(void)
{
    static const SevsnpTcb tcb = { .bootloader = 3, .snp = 8,
                                   .microcode = 115 };
    g_autofree char *fw1 = NULL, *fw2 = NULL;
    GError *err = NULL;

    if (svc_fix.dir) {
        return;
    }
    svc_fix.dir = g_dir_make_tmp("test-linux-model-XXXXXX", &err);
    g_assert_no_error(err);
    fw1 = g_build_filename(svc_fix.dir, "fw1", NULL);
    fw2 = g_build_filename(svc_fix.dir, "fw2", NULL);
    g_assert(fwsim_create(fw1, SEVSNP_PRODUCT_MILAN, &tcb, &err));
    g_assert(fwsim_create(fw2, SEVSNP_PRODUCT_MILAN, &tcb, &err));
    svc_fix.blob = fwsim_blob(fw1, &err);
    svc_fix.other = fwsim_blob(fw2, &err);
    g_assert_no_error(err);
    svc_fix.path = g_build_filename(svc_fix.dir, "certs.blob", NULL);
    svc_fix.other_path = g_build_filename(svc_fix.dir, "other.blob", NULL);
    g_assert(g_file_set_contents(svc_fix.other_path,
                                 g_bytes_get_data(svc_fix.other, NULL),
                                 g_bytes_get_size(svc_fix.other), NULL));
}

/* Whatever is at @path goes; the blob is put back (a new file). */
static void blob_restore(void)
{
    struct stat st;

    if (lstat(svc_fix.path, &st) == 0) {
        g_assert_cmpint(S_ISDIR(st.st_mode) ? rmdir(svc_fix.path) :
                        unlink(svc_fix.path), ==, 0);
    }
    g_assert(g_file_set_contents(svc_fix.path,
                                 g_bytes_get_data(svc_fix.blob, NULL),
                                 g_bytes_get_size(svc_fix.blob), NULL));
}

static void service_start(void)
{
    GError *err = NULL;

    service_files();
    blob_restore();
    model_reset();
    host_reset(A_CHAIN);
    real_time = true;
    host.mem = ksim_mem_new(DRV_CERTS, SEV_FW_BLOB_MAX_SIZE / 4096, FILL_BYTE);
    ksim_vcpu_init(&host.vcpu, 0, SEVSNP_ABI_REQ_CERTS, host.mem);
    host.svc = sevsnp_service_new(svc_fix.path, 100, 0, 0);
    host.hold_fd = -1;
    g_assert(sevsnp_service_set_path(host.svc, svc_fix.path, &err));
    /* QEMU's certs-busy-limit as run-scenarios.py sets it. */
    g_assert(sevsnp_service_set_busy_limit(host.svc, 1000, &err));
    opt.busy_ms = 1000;
    opt.hold_ms = 70000;
}

static void service_stop(void)
{
    for (uint32_t c = 1; c < ncpus; c++) {
        if (aps[c]) {
            g_thread_join(aps[c]);
            aps[c] = NULL;
        }
        if (flood_host[c].mem) {
            ksim_mem_free(flood_host[c].mem);
            flood_host[c].mem = NULL;
        }
    }
    ncpus = 1;
    if (host.hold_fd >= 0) {
        close(host.hold_fd);
    }
    sevsnp_service_free(host.svc);
    ksim_mem_free(host.mem);
    host.svc = NULL;
    host.mem = NULL;
    real_time = false;
    drv.mutex.v = 0;
    blob_restore();
}

/* Ask in @shape: the key must stay, the answer be @want. */
static void service_ask(lx_shape shape, lx_outcome want, const char *what)
{
    if (run(shape == SHAPE_SNPGUEST ? ask_snpguest : ask_configfs)) {
        g_autofree char *line = g_strdup(strstr(console->str,
                                                "FAIL vmpck-lost"));

        *strchrnul(line, '\n') = 0;
        service_stop();
        g_test_fail_printf("%s: the guest lost its VMPCK: %s", what, line);
        return;
    }
    if (res.outcome != want) {
        g_test_message("%s: %s", what, console->str);
    }
    g_assert_cmpint(res.outcome, ==, want);
    g_assert_false(res.bad);
}

static bool ask_ok(lx_shape shape, lx_outcome want, const char *what)
{
    service_ask(shape, want, what);
    return host.svc != NULL;
}

static void test_service_served(void)
{
    service_start();
    if (ask_ok(SHAPE_CONFIGFS, LX_CHAIN, "configfs-tsm") &&
        ask_ok(SHAPE_SNPGUEST, LX_CHAIN, "snpguest (the npages-0 probe)")) {
        g_assert_cmpuint(host.plain, ==, 1);
        service_stop();
    }
}

typedef enum {
    F_DELETE, F_CORRUPT, F_TRUNCATE, F_FIFO, F_DIRECTORY,
} Fault;

static void blob_fault(Fault f)
{
    gsize len = g_bytes_get_size(svc_fix.blob);
    g_autofree char *tmp = g_strconcat(svc_fix.path, ".tmp", NULL);
    int fd;

    switch (f) {
    case F_DELETE:
        g_assert_cmpint(unlink(svc_fix.path), ==, 0);
        break;
    case F_CORRUPT: {
        /*
         * In place, same size, the table itself: the first entry's
         * length made to reach past the blob's end.  (Bytes changed
         * inside a certificate are no fault of the table: QEMU serves
         * them as installed.)
         */
        uint32_t b = GUINT32_TO_LE((uint32_t)len);

        fd = open(svc_fix.path, O_RDWR);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(pwrite(fd, &b, sizeof(b), 20), ==, sizeof(b));
        close(fd);
        break;
    }
    case F_TRUNCATE:
        g_assert_cmpint(truncate(svc_fix.path, len / 2), ==, 0);
        break;
    case F_FIFO:
        g_assert_cmpint(mkfifo(tmp, 0644), ==, 0);
        g_assert_cmpint(rename(tmp, svc_fix.path), ==, 0);
        break;
    case F_DIRECTORY:
        g_assert_cmpint(unlink(svc_fix.path), ==, 0);
        g_assert_cmpint(mkdir(svc_fix.path, 0755), ==, 0);
        break;
    }
}

/*
 * A host-side fault between two requests: each shape gets an answer
 * without a chain (and keeps its key), then the chain again once the
 * blob is back.
 */
static void test_service_fault(gconstpointer data)
{
    Fault f = GPOINTER_TO_INT(data);

    service_start();
    if (!ask_ok(SHAPE_CONFIGFS, LX_CHAIN, "before the fault")) {
        return;
    }
    blob_fault(f);
    if (!ask_ok(SHAPE_CONFIGFS, LX_CHAINLESS, "configfs-tsm after it") ||
        !ask_ok(SHAPE_SNPGUEST, LX_CHAINLESS, "snpguest after it")) {
        return;
    }
    blob_restore();
    if (ask_ok(SHAPE_SNPGUEST, LX_CHAIN, "snpguest, the blob restored")) {
        service_stop();
    }
}

/* What run-scenarios.py does for the guest's steps, on the service. */
static bool service_step(const char *name)
{
    static const struct {
        const char *name;
        Fault f;
    } faults[] = {
        { "blob:delete", F_DELETE }, { "blob:corrupt", F_CORRUPT },
        { "blob:truncate", F_TRUNCATE }, { "blob:fifo", F_FIFO },
        { "blob:directory", F_DIRECTORY },
    };
    g_autofree char *bad = g_build_filename(svc_fix.dir, "bad.blob", NULL);
    GError *err = NULL;
    bool ok;

    if (!host.svc) {
        /* The scripted host answers as issue 19's policy says. */
        if (g_str_has_prefix(name, "blob:")) {
            host.then = !strcmp(name, "blob:restore") ||
                        !strcmp(name, "blob:replace-readable") ?
                        A_CHAIN : A_EMPTY;
        }
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(faults); i++) {
        if (!strcmp(name, faults[i].name)) {
            blob_fault(faults[i].f);
            return true;
        }
    }
    if (!strcmp(name, "blob:restore")) {
        blob_restore();
        return true;
    }
    if (!strcmp(name, "qmp:set-certs-bad")) {
        g_assert(g_file_set_contents(bad, "no blob", -1, NULL));
        ok = !sevsnp_service_set_path(host.svc, bad, &err);
        g_clear_error(&err);
        return ok;
    }
    if (!strcmp(name, "qmp:set-certs-other") ||
        !strcmp(name, "qmp:set-certs-back")) {
        ok = sevsnp_service_set_path(host.svc, name[13] == 'o' ?
                                     svc_fix.other_path : svc_fix.path,
                                     &err);
        g_clear_error(&err);
        return ok;
    }
    return !strcmp(name, "qmp:stats") || !strcmp(name, "qmp:done");
}

/*
 * A whole scenario of the guest (linux.c), its steps done on the
 * service: every check passes and the key stays.
 */
static void test_service_scenario(gconstpointer data)
{
    void (*fn)(void) = data;

    service_start();
    if (run(fn)) {
        g_autofree char *line = g_strdup(strstr(console->str,
                                                "FAIL vmpck-lost"));

        *strchrnul(line, '\n') = 0;
        service_stop();
        g_test_fail_printf("the guest lost its VMPCK: %s", line);
        return;
    }
    if (n_fail) {
        g_test_message("%s", console->str);
    }
    g_assert_cmpuint(n_fail, ==, 0);
    g_assert_true(said("PASS "));
    service_stop();
}

/*
 * The guest's scenarios against the scripted host answering as the
 * policy of issue 19 says (npages 0: INVALID_LEN with the count; a
 * host-side fault: an empty table, or nothing for npages 0; an updater:
 * BUSY, then an empty table): their checks must all pass.  A check of the
 * scenarios themselves, not of QEMU.
 */
static void test_policy_scenario(gconstpointer data)
{
    void (*fn)(void) = data;

    model_reset();
    host_reset(A_CHAIN);
    opt.busy_ms = 1000;
    opt.hold_ms = 70000;
    g_assert_false(run(fn));
    if (n_fail || g_test_verbose()) {
        g_test_message("%s", console->str);
    }
    g_assert_cmpuint(n_fail, ==, 0);
    g_assert_true(said("PASS "));
    g_assert_false(drv.vmpck_wiped);
    g_assert_cmpuint(host.fw_refused, ==, 0);
}

/*
 * linux-flood: three APs flood raw requests over a rate limit of 2/s
 * while the modelled Linux guest asks: it must be answered within its
 * budget (the busy limit), the flood must meet the limit.
 */
static void test_service_flood(void)
{
    service_start();
    sevsnp_service_set_rate_limit(host.svc, 2, 2);
    ncpus = 4;
    opt.need = (g_bytes_get_size(svc_fix.blob) + 4095) / 4096;
    if (run(scenario_flood)) {
        g_autofree char *line = g_strdup(strstr(console->str,
                                                "FAIL vmpck-lost"));

        *strchrnul(line, '\n') = 0;
        __atomic_store_n(&flood_stop, 1, __ATOMIC_RELEASE);
        service_stop();
        g_test_fail_printf("the guest lost its VMPCK: %s", line);
        return;
    }
    if (n_fail || g_test_verbose()) {
        g_test_message("%s", console->str);
    }
    g_assert_cmpuint(n_fail, ==, 0);
    g_assert_true(said("PASS flood-over-rate-limit"));
    service_stop();
}

/* sev-snp-set-certs: a bad file refused, another blob, and back. */
static void test_service_set_path(void)
{
    g_autofree char *bad = NULL;
    GError *err = NULL;

    service_start();
    bad = g_build_filename(svc_fix.dir, "bad.blob", NULL);
    g_assert(g_file_set_contents(bad, "no blob", -1, NULL));
    g_assert_false(sevsnp_service_set_path(host.svc, bad, &err));
    g_clear_error(&err);
    if (!ask_ok(SHAPE_CONFIGFS, LX_CHAIN, "after the refused file")) {
        return;
    }
    g_assert_cmpmem(caller(0, CALLER_CERTS), g_bytes_get_size(svc_fix.blob),
                    g_bytes_get_data(svc_fix.blob, NULL),
                    g_bytes_get_size(svc_fix.blob));
    g_assert(sevsnp_service_set_path(host.svc, svc_fix.other_path, &err));
    if (!ask_ok(SHAPE_CONFIGFS, LX_CHAIN, "another blob")) {
        return;
    }
    g_assert_cmpmem(caller(0, CALLER_CERTS),
                    g_bytes_get_size(svc_fix.other),
                    g_bytes_get_data(svc_fix.other, NULL),
                    g_bytes_get_size(svc_fix.other));
    g_assert(sevsnp_service_set_path(host.svc, svc_fix.path, &err));
    if (ask_ok(SHAPE_SNPGUEST, LX_CHAIN, "back")) {
        service_stop();
    }
}

int main(int argc, char **argv)
{
    void *mem;
    int ret;

    g_test_init(&argc, &argv, NULL);
    console = g_string_new(NULL);
    /* The model's memory at the guest physical addresses it uses. */
    /* The APs' work areas (linux-flood) and the model's memory. */
    mem = mmap((void *)WORK_BASE, LINUX_BASE + LINUX_SIZE - WORK_BASE,
               PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (mem != (void *)WORK_BASE) {
        printf("1..0 # SKIP cannot map 0x%x here\n", WORK_BASE);
        return 0;
    }
    g_test_add_func("/linux-model/served", test_served);
    g_test_add_func("/linux-model/chainless", test_chainless);
    g_test_add_func("/linux-model/busy", test_busy);
    g_test_add_func("/linux-model/busy-bound", test_busy_bound);
    g_test_add_func("/linux-model/wiped", test_wiped);
    g_test_add_func("/linux-model/reissue-refused", test_reissue_refused);
    g_test_add_func("/linux-model/too-large", test_too_large);
    g_test_add_data_func("/linux-model/policy/linux-faults",
                         scenario_faults, test_policy_scenario);
    g_test_add_data_func("/linux-model/policy/linux-busy",
                         scenario_busy, test_policy_scenario);
    g_test_add_data_func("/linux-model/policy/linux-setcerts",
                         scenario_setcerts, test_policy_scenario);
    g_test_add_data_func("/linux-model/policy/linux-privdrop",
                         scenario_privdrop, test_policy_scenario);
    g_test_add_func("/linux-model/service/served", test_service_served);
    g_test_add_data_func("/linux-model/service/fault/delete",
                         GINT_TO_POINTER(F_DELETE), test_service_fault);
    g_test_add_data_func("/linux-model/service/fault/corrupt",
                         GINT_TO_POINTER(F_CORRUPT), test_service_fault);
    g_test_add_data_func("/linux-model/service/fault/truncate",
                         GINT_TO_POINTER(F_TRUNCATE), test_service_fault);
    g_test_add_data_func("/linux-model/service/fault/fifo",
                         GINT_TO_POINTER(F_FIFO), test_service_fault);
    g_test_add_data_func("/linux-model/service/fault/directory",
                         GINT_TO_POINTER(F_DIRECTORY), test_service_fault);
    g_test_add_func("/linux-model/service/set-path", test_service_set_path);
    g_test_add_data_func("/linux-model/service/scenario/linux-faults",
                         scenario_faults, test_service_scenario);
    g_test_add_data_func("/linux-model/service/scenario/linux-setcerts",
                         scenario_setcerts, test_service_scenario);
    g_test_add_data_func("/linux-model/service/scenario/linux-busy",
                         scenario_busy, test_service_scenario);
    g_test_add_func("/linux-model/service/scenario/linux-flood",
                    test_service_flood);
    ret = g_test_run();
    if (svc_fix.dir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", svc_fix.dir);

        if (system(cmd) != 0) {
            fprintf(stderr, "# could not remove %s\n", svc_fix.dir);
        }
    }
    return ret;
}
