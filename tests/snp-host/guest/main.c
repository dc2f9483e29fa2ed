/*
 * The SNP test guest: reads its scenario from fw_cfg
 * (opt/qemu-snp/scenario = NAME[:ARGS]) and runs it against the SNP host
 * simulator through the doorbell of snp-host-abi.h, reporting on the
 * debug console:
 *
 *   PASS name | FAIL name: why     one line per check
 *   TABLE <hex>                    the whole certificate buffer, after
 *                                  each successful certificate request
 *   REPORT <hex>                   the report of that request
 *   INFO ...                       figures, for people
 *   EXPECT <status>: why           the next step is meant to stop the VM
 *   DONE pass=N fail=M             last line; then isa-debug-exit
 *
 * Scenarios: certs, certs-smp, convert, fault, attest[:SECONDS], boot
 * (the guest alone: fw_cfg, e820, SMP; no simulator needed), and the
 * Linux-guest model's linux-faults, linux-busy, linux-setcerts,
 * linux-flood and linux-privdrop (linux.c).
 * ARGS (comma-separated): expect=certs|empty (does the host serve
 * certificates), need=N (the pages the blob needs, when the runner knows),
 * loops=N (certs-smp), hold=MS (certs-smp, linux-busy), busy=MS (QEMU's
 * certs-busy-limit), a bare number (attest: the seconds to run).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <linux/kvm.h>
#include <linux/sev-guest.h>
#include <asm/kvm_para.h>

#include "scen.h"

#define CERT_PAGES_MAX      32

scen_opts opt;
uint32_t ncpus;

/* -------------------------------------------------------------------- */
/* The doorbell ops. */

uint64_t map_gpa_range(uint64_t start, uint64_t npages, bool private)
{
    sim_regs r = {
        .rbx = start, .rcx = npages,
        .rdi = (private ? KVM_MAP_GPA_RANGE_ENCRYPTED :
                KVM_MAP_GPA_RANGE_DECRYPTED) | KVM_MAP_GPA_RANGE_PAGE_SZ_4K,
    };

    sim_call(SNP_SIM_OP_MAP_GPA_RANGE, &r);
    return r.rax;
}

static uint64_t access_gpa(uint64_t start, uint64_t size, bool private)
{
    sim_regs r = {
        .rbx = start, .rcx = size,
        .rdi = private ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0,
    };

    sim_call(SNP_SIM_OP_ACCESS, &r);
    return r.rax;
}

/* One extended guest request; the answer in *rax / *rbx. */
typedef struct {
    uint64_t rax, rbx;
    uint8_t user_data[64];
} req_result;

/* The MSG_REPORT_RSP of @cpu's last request. */
static inline struct snp_sim_report_resp *resp_of(uint32_t cpu)
{
    return &((struct snp_sim_report_rsp_msg *)(work(cpu) + WORK_RESP))->resp;
}

/*
 * An unsequenced request (message sequence number 0): these scenarios
 * model no particular guest, and their vCPUs ask concurrently.
 */
static void ext_req(uint32_t cpu, uint8_t *certs, uint64_t npages,
                    req_result *res)
{
    struct snp_sim_report_msg *req = (void *)(work(cpu) + WORK_REQ);
    struct snp_sim_report_rsp_msg *resp = (void *)(work(cpu) + WORK_RESP);
    sim_regs r = {
        .rbx = gpa(certs), .rcx = npages,
        .rdi = gpa(req), .rsi = gpa(resp),
    };

    fresh_user_data(cpu, res->user_data);
    report_msg_init(req, 0, res->user_data);
    memset(resp, 0, sizeof(*resp));
    sim_call(SNP_SIM_OP_EXT_GUEST_REQ, &r);
    res->rax = r.rax;
    res->rbx = r.rbx;
}

static inline uint32_t vmm_err(uint64_t rax)
{
    return rax >> SNP_GUEST_VMM_ERR_SHIFT;
}

static inline uint32_t fw_err(uint64_t rax)
{
    return (uint32_t)rax;
}

/* The guest's own view of an answer, for people (make demo). */
static void say_answer(const char *what, uint64_t npages,
                       const req_result *res)
{
    uint32_t vmm = vmm_err(res->rax);

    if (!res->rax) {
        say("INFO answer %s (%lu page(s)): report and certificate table",
            what, npages);
    } else if (vmm == SNP_GUEST_VMM_ERR_INVALID_LEN) {
        say("INFO answer %s (%lu page(s)): INVALID_LEN, %lu page(s) needed",
            what, npages, res->rbx);
    } else if (vmm == SNP_GUEST_VMM_ERR_BUSY) {
        say("INFO answer %s (%lu page(s)): BUSY, retry later", what, npages);
    } else {
        say("INFO answer %s (%lu page(s)): VMM error 0x%x, firmware error "
            "0x%x", what, npages, vmm, fw_err(res->rax));
    }
}

/* -------------------------------------------------------------------- */
/* What a successful answer must look like. */

static bool report_ok(uint32_t cpu, const req_result *res, char *why,
                      size_t whylen)
{
    return report_resp_ok(resp_of(cpu), res->user_data, why, whylen);
}

/*
 * Check a successful request's buffer and report; print TABLE and
 * REPORT when @print.  Returns false after a FAIL line.
 */
static bool answer_ok(const char *name, uint32_t cpu, uint8_t *certs,
                      uint64_t npages, const req_result *res, bool print)
{
    char why[200];
    bool has_ek;
    int n;

    if (print) {
        say_hex("TABLE", certs, npages * PAGE_SIZE);
        say_hex("REPORT", resp_of(cpu)->report, SNP_SIM_REPORT_SIZE);
    }
    n = table_parse(certs, npages * PAGE_SIZE, &has_ek, why, sizeof(why));
    if (n < 0) {
        fail(name, "certificate table: %s", why);
        return false;
    }
    if (opt.expect_empty && n != 0) {
        fail(name, "%d certificates from a host that serves none", n);
        return false;
    }
    if (!opt.expect_empty && (n == 0 || !has_ek)) {
        fail(name, "%d certificates and %s endorsement key certificate", n,
             has_ek ? "an" : "no");
        return false;
    }
    if (!report_ok(cpu, res, why, sizeof(why))) {
        fail(name, "report: %s", why);
        return false;
    }
    return true;
}

/* -------------------------------------------------------------------- */
/* SMP helpers. */

static uint32_t bar_count, bar_gen;

void barrier(void)
{
    uint32_t gen = __atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE);

    if (__atomic_add_fetch(&bar_count, 1, __ATOMIC_SEQ_CST) == ncpus) {
        __atomic_store_n(&bar_count, 0, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&bar_gen, 1, __ATOMIC_SEQ_CST);
    } else {
        while (__atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE) == gen) {
            cpu_relax();
        }
    }
}

static uint32_t cpus_done;

bool start_aps(void (*fn)(uint32_t cpu))
{
    uint32_t up;

    if (ncpus > MAX_CPUS) {
        fail("smp", "%u vCPUs, the guest supports %u", ncpus, MAX_CPUS);
        return false;
    }
    if (ncpus < 2) {
        fail("smp", "this scenario needs -smp 2 or more");
        return false;
    }
    up = smp_start(fn, ncpus);
    return check(up == ncpus, "smp-up", "%u of %u vCPUs came up", up, ncpus);
}

void wait_all_done(void)
{
    __atomic_add_fetch(&cpus_done, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&cpus_done, __ATOMIC_ACQUIRE) < ncpus) {
        cpu_relax();
    }
}

/* -------------------------------------------------------------------- */
/* Scenario certs. */

static void scenario_certs(void)
{
    uint8_t *certs = work(0) + WORK_CERTS;
    uint8_t *msg = work(0) + WORK_REQ;
    req_result res;
    uint64_t need, rax;
    sim_regs r = { 0 };

    sim_call(0x7fff, &r);
    check(r.rax == SNP_SIM_RET_BAD_OP, "doorbell-unknown-op",
          "RAX 0x%lx, not all ones", r.rax);

    rax = map_gpa_range(gpa(msg), 2, false);
    check(rax == 0, "map-shared-message-pages", "RAX 0x%lx", rax);
    rax = map_gpa_range(gpa(certs), CERT_PAGES_MAX, false);
    if (!check(rax == 0, "map-shared-buffer", "RAX 0x%lx", rax)) {
        return;
    }

    /* Too small. */
    memset(certs, 0xa5, 4 * PAGE_SIZE);
    ext_req(0, certs, 1, &res);
    say_answer("to one page", 1, &res);
    if (opt.expect_empty) {
        if (check(res.rax == 0, "one-page-served",
                  "RAX 0x%lx (a host without certificates fits in a page)",
                  res.rax) &&
            answer_ok("one-page-empty-table", 0, certs, 1, &res, true)) {
            pass("one-page-empty-table");
        }
        need = 1;
    } else {
        need = res.rbx;
        if (!check(res.rax == (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN <<
                   SNP_GUEST_VMM_ERR_SHIFT, "too-small-invalid-len",
                   "RAX 0x%lx RBX %lu, want INVALID_LEN", res.rax, res.rbx)) {
            return;
        }
        check(need > 1 && need <= CERT_PAGES_MAX &&
              (!opt.need || need == opt.need), "too-small-required-pages",
              "RBX %lu (runner says %u, buffer %u pages)", need, opt.need,
              CERT_PAGES_MAX);
        check(mem_is(certs, 0xa5, 4 * PAGE_SIZE),
              "too-small-buffer-untouched", "the host wrote into the buffer");
        if (need < 1 || need >= CERT_PAGES_MAX) {
            return;
        }
    }

    /* The count it was told. */
    memset(certs, 0xa5, (need + 1) * PAGE_SIZE);
    ext_req(0, certs, need, &res);
    say_answer("to the count it was told", need, &res);
    if (check(res.rax == 0, "request-served", "RAX 0x%lx RBX %lu with %lu "
              "pages", res.rax, res.rbx, need) &&
        answer_ok("table-and-report", 0, certs, need, &res, true)) {
        pass("table-and-report");
    }

    /* A bigger buffer than needed. */
    memset(certs, 0xa5, (need + 1) * PAGE_SIZE);
    ext_req(0, certs, need + 1, &res);
    if (check(res.rax == 0, "large-buffer-served", "RAX 0x%lx with %lu pages",
              res.rax, need + 1) &&
        answer_ok("large-buffer-table", 0, certs, need + 1, &res, true)) {
        pass("large-buffer-table");
    }

    if (opt.expect_empty) {
        say("INFO private-buffer check skipped: this host's KVM answers "
            "without asking QEMU");
        return;
    }

    /* The buffer taken back private: generic error, nothing written. */
    rax = map_gpa_range(gpa(certs), need, true);
    if (!check(rax == 0, "map-private-buffer", "RAX 0x%lx", rax)) {
        return;
    }
    memset(certs, 0x5a, need * PAGE_SIZE);
    ext_req(0, certs, need, &res);
    say_answer("with the buffer private", need, &res);
    /*
     * Mainline kernels turn QEMU's EIO into SNP_GUEST_VMM_ERR_GENERIC;
     * legacy ones pass the VMM's own code through (its GENERIC, 1 << 31).
     */
    say("INFO private buffer: RAX 0x%lx", res.rax);
    check(vmm_err(res.rax) && vmm_err(res.rax) != SNP_GUEST_VMM_ERR_BUSY &&
          vmm_err(res.rax) != SNP_GUEST_VMM_ERR_INVALID_LEN &&
          !fw_err(res.rax), "private-buffer-generic-error",
          "RAX 0x%lx, want a VMM error other than INVALID_LEN and BUSY",
          res.rax);
    check(mem_is(certs, 0x5a, need * PAGE_SIZE),
          "private-buffer-untouched", "the host wrote into a private page");
    rax = map_gpa_range(gpa(certs), need, false);
    check(rax == 0, "map-shared-again", "RAX 0x%lx", rax);

    /* And served again once shared. */
    memset(certs, 0xa5, (need + 1) * PAGE_SIZE);
    ext_req(0, certs, need, &res);
    if (check(res.rax == 0, "shared-again-served", "RAX 0x%lx", res.rax) &&
        answer_ok("shared-again-table", 0, certs, need, &res, true)) {
        pass("shared-again-table");
    }
}

/* -------------------------------------------------------------------- */
/* Scenario certs-smp. */

static struct {
    uint32_t ok, busy, errors;
} smp_stats[MAX_CPUS], hold_stats[MAX_CPUS];
static uint64_t smp_need;         /* set before the APs start */

/*
 * Request until served (BUSY: retry); false after a FAIL line.  The first
 * answer a CPU gets is printed (TABLE, REPORT) and kept; every later table
 * must be byte-identical to it (printing them all would take minutes here).
 */
#define WORK_REF            0x22000
#define REF_PAGES_MAX       16

static bool request_served(uint32_t cpu, const char *name, uint64_t npages,
                           uint32_t *busy)
{
    uint8_t *certs = work(cpu) + WORK_CERTS;
    uint8_t *ref = work(cpu) + WORK_REF;
    static bool have_ref[MAX_CPUS];
    req_result res;

    for (int tries = 0; tries < 100000; tries++) {
        memset(certs, 0xa5, npages * PAGE_SIZE);
        ext_req(cpu, certs, npages, &res);
        if (res.rax == 0) {
            if (!answer_ok(name, cpu, certs, npages, &res, !have_ref[cpu])) {
                return false;
            }
            if (!have_ref[cpu]) {
                memcpy(ref, certs, npages * PAGE_SIZE);
                have_ref[cpu] = true;
            } else if (memcmp(ref, certs, npages * PAGE_SIZE)) {
                fail(name, "cpu %u: the table differs from the first one",
                     cpu);
                return false;
            }
            return true;
        }
        if (res.rax != (uint64_t)SNP_GUEST_VMM_ERR_BUSY <<
            SNP_GUEST_VMM_ERR_SHIFT) {
            fail(name, "cpu %u: RAX 0x%lx RBX %lu with %lu pages", cpu,
                 res.rax, res.rbx, npages);
            return false;
        }
        (*busy)++;
    }
    fail(name, "cpu %u: still BUSY after 100000 tries", cpu);
    return false;
}

static void smp_worker(uint32_t cpu)
{
    uint8_t *certs = work(cpu) + WORK_CERTS;
    uint64_t rax;
    char name[48];

    rax = map_gpa_range(gpa(work(cpu) + WORK_REQ), 2, false);
    if (!rax) {
        rax = map_gpa_range(gpa(certs), CERT_PAGES_MAX, false);
    }
    snprintf(name, sizeof(name), "cpu%u-map-shared", cpu);
    check(rax == 0, name, "RAX 0x%lx", rax);

    barrier();
    snprintf(name, sizeof(name), "cpu%u-concurrent", cpu);
    for (uint32_t i = 0; i < opt.loops; i++) {
        if (!request_served(cpu, name, smp_need, &smp_stats[cpu].busy)) {
            smp_stats[cpu].errors++;
            break;
        }
        smp_stats[cpu].ok++;
    }
    if (smp_stats[cpu].ok == opt.loops) {
        pass(name);
    }

    /* Phase 2: the BSP has an updater take the locks. */
    barrier();
    if (cpu == 0) {
        sim_regs r = { .rbx = opt.hold_ms };

        sim_call(SNP_SIM_OP_HOLD_LOCK, &r);
        check(r.rax == 0, "updater-holds-locks", "RAX 0x%lx", r.rax);
    }
    barrier();
    snprintf(name, sizeof(name), "cpu%u-under-updater", cpu);
    if (request_served(cpu, name, smp_need, &hold_stats[cpu].busy)) {
        hold_stats[cpu].ok++;
        pass(name);
    } else {
        hold_stats[cpu].errors++;
    }
    barrier();
}

static void ap_smp_worker(uint32_t cpu)
{
    smp_worker(cpu);
    wait_all_done();
}

static void scenario_certs_smp(void)
{
    uint8_t *certs = work(0) + WORK_CERTS;
    req_result res;
    uint32_t busy = 0;

    /* The page count, asked once by the BSP. */
    if (map_gpa_range(gpa(certs), CERT_PAGES_MAX, false) ||
        map_gpa_range(gpa(work(0) + WORK_REQ), 2, false)) {
        fail("smp-setup", "cannot make the BSP's buffer shared");
        return;
    }
    ext_req(0, certs, 1, &res);
    smp_need = res.rax == 0 ? 1 : res.rbx;
    if (!check((res.rax == 0 && opt.expect_empty) ||
               (res.rax == (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN <<
                SNP_GUEST_VMM_ERR_SHIFT && smp_need <= REF_PAGES_MAX),
               "smp-page-count", "RAX 0x%lx RBX %lu", res.rax, res.rbx)) {
        return;
    }
    if (!start_aps(ap_smp_worker)) {
        return;
    }
    smp_worker(0);
    wait_all_done();

    for (uint32_t c = 0; c < ncpus; c++) {
        say("INFO cpu %u: concurrent ok=%u busy=%u errors=%u; under the "
            "updater ok=%u busy=%u", c, smp_stats[c].ok, smp_stats[c].busy,
            smp_stats[c].errors, hold_stats[c].ok, hold_stats[c].busy);
        busy += hold_stats[c].busy;
    }
    if (opt.expect_empty) {
        check(busy == 0, "no-busy-without-certs",
              "%u BUSY answers from a host that never locks", busy);
    } else {
        check(busy > 0, "busy-under-updater",
              "no request saw BUSY while the updater held the locks");
    }
}

/* -------------------------------------------------------------------- */
/* Scenario stop-wait. */

/*
 * An updater holds the blob's exclusive lock for hold= ms (8000 from the
 * runner) while the guest asks for certificates, so the vCPU waits in
 * QEMU for the lock (certs-timeout=10000).  The runner stops the VM a
 * second into the wait (QMP stop must not wait for the lock), then
 * resumes it: the interrupted request answers BUSY (or, if the updater
 * let go first, success), and the retries are served once it lets go.
 */
static void scenario_stop_wait(void)
{
    uint8_t *certs = work(0) + WORK_CERTS;
    sim_regs r = { .rbx = opt.hold_ms };
    req_result res;
    uint64_t need, t0, t1;
    uint32_t busy = 0;

    if (map_gpa_range(gpa(certs), CERT_PAGES_MAX, false) ||
        map_gpa_range(gpa(work(0) + WORK_REQ), 2, false)) {
        fail("stop-wait-setup", "cannot make the buffers shared");
        return;
    }
    ext_req(0, certs, 1, &res);
    need = res.rax == 0 ? 1 : res.rbx;
    if (!check(res.rax == (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN <<
               SNP_GUEST_VMM_ERR_SHIFT && need > 1 && need < CERT_PAGES_MAX,
               "stop-wait-page-count", "RAX 0x%lx RBX %lu", res.rax,
               res.rbx)) {
        return;
    }
    sim_call(SNP_SIM_OP_HOLD_LOCK, &r);
    if (!check(r.rax == 0, "stop-wait-updater-holds-locks", "RAX 0x%lx",
               r.rax)) {
        return;
    }
    say("INFO stop-wait: requesting under the updater's lock (%u ms)",
        opt.hold_ms);
    t0 = sim_time_ms();
    memset(certs, 0xa5, need * PAGE_SIZE);
    ext_req(0, certs, need, &res);
    t1 = sim_time_ms();
    say_answer("under the updater", need, &res);
    say("INFO stop-wait: first answer after %lu ms", t1 - t0);
    if (res.rax == 0) {
        if (answer_ok("stop-wait-first-answer", 0, certs, need, &res,
                      true)) {
            pass("stop-wait-first-answer");
        }
        return;
    }
    if (!check(res.rax == (uint64_t)SNP_GUEST_VMM_ERR_BUSY <<
               SNP_GUEST_VMM_ERR_SHIFT, "stop-wait-first-answer",
               "RAX 0x%lx RBX %lu, want BUSY or success", res.rax,
               res.rbx)) {
        return;
    }
    if (request_served(0, "stop-wait-served", need, &busy)) {
        say("INFO stop-wait: served after %lu ms, %u more BUSY",
            sim_time_ms() - t0, busy);
        pass("stop-wait-served");
    }
}

/* -------------------------------------------------------------------- */
/* Scenario attest. */

static struct {
    uint64_t ok, busy, recorded, errors;
} att[MAX_CPUS];
static uint64_t att_end;          /* set before the APs start */

static void attest_worker(uint32_t cpu)
{
    uint8_t *certs = work(cpu) + WORK_CERTS;
    uint64_t npages = smp_need;
    req_result res;
    char why[200];

    if (map_gpa_range(gpa(work(cpu) + WORK_REQ), 2, false) ||
        map_gpa_range(gpa(certs), CERT_PAGES_MAX, false)) {
        att[cpu].errors++;
    }
    barrier();
    while (!att[cpu].errors && sim_time_ms() < att_end) {
        ext_req(cpu, certs, npages, &res);
        if (res.rax == (uint64_t)SNP_GUEST_VMM_ERR_BUSY <<
            SNP_GUEST_VMM_ERR_SHIFT) {
            att[cpu].busy++;
            continue;
        }
        if (res.rax == (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN <<
            SNP_GUEST_VMM_ERR_SHIFT && res.rbx <= CERT_PAGES_MAX) {
            npages = res.rbx;   /* the blob grew: as a Linux guest does */
            continue;
        }
        if (res.rax != 0) {
            say("INFO cpu %u: RAX 0x%lx RBX %lu", cpu, res.rax, res.rbx);
            att[cpu].errors++;
            break;
        }
        if (!report_ok(cpu, &res, why, sizeof(why))) {
            say("INFO cpu %u: report: %s", cpu, why);
            att[cpu].errors++;
            break;
        }
        att[cpu].ok++;
        sim_regs r = {
            .rbx = gpa(certs), .rcx = npages,
            .rdi = gpa(resp_of(cpu)),
        };
        sim_call(SNP_SIM_OP_RECORD, &r);
        if ((int64_t)r.rax < 0) {
            say("INFO cpu %u: RECORD answered %ld", cpu, (int64_t)r.rax);
            att[cpu].errors++;
            break;
        }
        att[cpu].recorded++;
    }
    barrier();
}

static void ap_attest_worker(uint32_t cpu)
{
    attest_worker(cpu);
    wait_all_done();
}

static void scenario_attest(void)
{
    uint8_t *certs = work(0) + WORK_CERTS;
    uint64_t busy_until;
    req_result res;
    char name[48];

    if (map_gpa_range(gpa(certs), CERT_PAGES_MAX, false) ||
        map_gpa_range(gpa(work(0) + WORK_REQ), 2, false)) {
        fail("attest-setup", "cannot make the BSP's buffer shared");
        return;
    }
    /*
     * The updater may hold the blob's lock already: BUSY is retried, as a
     * Linux guest retries it, for up to its 60 s.
     */
    busy_until = sim_time_ms() + 60000;
    do {
        ext_req(0, certs, 1, &res);
    } while (res.rax == (uint64_t)SNP_GUEST_VMM_ERR_BUSY <<
             SNP_GUEST_VMM_ERR_SHIFT && sim_time_ms() < busy_until);
    smp_need = res.rax == 0 ? 1 : res.rbx;
    if (res.rax != 0 && (res.rax != (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN <<
                         SNP_GUEST_VMM_ERR_SHIFT ||
                         smp_need > CERT_PAGES_MAX)) {
        fail("attest-page-count", "RAX 0x%lx RBX %lu", res.rax, res.rbx);
        return;
    }
    att_end = sim_time_ms() + opt.seconds * 1000UL;
    if (ncpus > 1 && !start_aps(ap_attest_worker)) {
        return;
    }
    attest_worker(0);
    wait_all_done();
    for (uint32_t c = 0; c < ncpus; c++) {
        say("INFO attest cpu %u: ok=%lu busy=%lu recorded=%lu errors=%lu",
            c, att[c].ok, att[c].busy, att[c].recorded, att[c].errors);
        snprintf(name, sizeof(name), "attest-cpu%u", c);
        check(att[c].errors == 0 && att[c].recorded > 0, name,
              "%lu recorded, %lu errors", att[c].recorded, att[c].errors);
    }
}

/* -------------------------------------------------------------------- */
/* Scenario convert. */

struct e820_entry {
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

/* RAM below 4 GiB ends at *low_end; RAM from 4 GiB ends at *high_end. */
static bool ram_layout(uint64_t *low_end, uint64_t *high_end)
{
    struct e820_entry e[32];
    uint16_t sel;
    uint32_t size;

    *low_end = *high_end = 0;
    if (!fwcfg_find("etc/e820", &sel, &size) || size > sizeof(e) ||
        size % sizeof(e[0])) {
        return false;
    }
    fwcfg_read(sel, e, size);
    for (uint32_t i = 0; i < size / sizeof(e[0]); i++) {
        uint64_t end = e[i].addr + e[i].len;

        if (e[i].type != 1) {
            continue;
        }
        if (end <= 0x100000000UL && end > *low_end) {
            *low_end = end;
        } else if (e[i].addr >= 0x100000000UL && end > *high_end) {
            *high_end = end;
        }
    }
    return *low_end != 0;
}

static void expect_map(const char *name, uint64_t start, uint64_t npages,
                       bool private, bool want_ok)
{
    uint64_t rax = map_gpa_range(start, npages, private);

    say("INFO %s: gpa 0x%lx npages 0x%lx to %s: RAX 0x%lx", name, start, npages,
        private ? "private" : "shared", rax);
    check(want_ok ? rax == 0 : rax != 0, name, "RAX 0x%lx, want %s", rax,
          want_ok ? "0" : "an error");
}

static void scenario_convert(void)
{
    uint64_t s = SCRATCH_BASE, low_end, high_end, top, hole_pages;

    if (!check(ram_layout(&low_end, &high_end), "e820",
               "no usable etc/e820 in fw_cfg")) {
        return;
    }
    top = high_end ? high_end : low_end;
    say("INFO RAM below 4 GiB ends at 0x%lx, above at 0x%lx", low_end,
        high_end);

    /* Good ones and round trips. */
    expect_map("to-shared", s, 16, false, true);
    expect_map("to-private", s, 16, true, true);
    expect_map("round-trip-shared", s, 16, false, true);
    expect_map("round-trip-private", s, 16, true, true);
    expect_map("partial-shared", s + 4 * PAGE_SIZE, 4, false, true);
    expect_map("overlapping-private", s, 8, true, true);
    expect_map("already-private", s, 8, true, true);

    /* Hostile ones: refused, nothing changes, the guest runs on. */
    expect_map("unaligned-gpa", s + 0x800, 1, false, false);
    expect_map("unaligned-gpa-private", s + 8, 4, true, false);
    expect_map("zero-pages", s, 0, false, false);
    expect_map("zero-pages-private", s, 0, true, false);
    expect_map("overflowing-gpa", 0xfffffffffffff000UL, 2, false, false);
    expect_map("overflowing-npages", s, 1UL << 52, true, false);
    expect_map("overflowing-npages-shared", s, ~0UL, false, false);

    /* Beyond RAM: to private refused; to shared the non-RAM is skipped. */
    expect_map("beyond-ram-private", top + 0x40000000UL, 16, true, false);
    expect_map("beyond-ram-shared", top + 0x40000000UL, 16, false, true);
    expect_map("straddling-ram-end-private", top - 2 * PAGE_SIZE, 4, true,
               false);

    /* Across the PCI hole below 4 GiB (into high RAM when there is some). */
    hole_pages = (0x100000000UL - low_end) / PAGE_SIZE;
    if (high_end) {
        expect_map("across-pci-hole-private", low_end - 4 * PAGE_SIZE,
                   hole_pages + 8, true, false);
        expect_map("across-pci-hole-shared", low_end - 4 * PAGE_SIZE,
                   hole_pages + 8, false, true);
        expect_map("across-pci-hole-back-private", low_end - 4 * PAGE_SIZE,
                   4, true, true);
        expect_map("high-ram-back-private", 0x100000000UL, 4, true, true);
    } else {
        expect_map("into-pci-hole-private", low_end - 2 * PAGE_SIZE, 4, true,
                   false);
        expect_map("into-pci-hole-shared", low_end - 2 * PAGE_SIZE, 4, false,
                   true);
        expect_map("into-pci-hole-back-private", low_end - 2 * PAGE_SIZE, 2,
                   true, true);
    }

    /* Still answering. */
    expect_map("alive-shared", s, 16, false, true);
    expect_map("alive-private", s, 16, true, true);
}

/* -------------------------------------------------------------------- */
/* Scenario fault. */

static void scenario_fault(void)
{
    uint64_t p = SCRATCH_BASE, low_end, high_end, top, rax;

    if (!check(ram_layout(&low_end, &high_end), "e820",
               "no usable etc/e820 in fw_cfg")) {
        return;
    }
    top = high_end ? high_end : low_end;

    rax = map_gpa_range(p, 4, true);
    check(rax == 0, "fault-setup-private", "RAX 0x%lx", rax);
    rax = access_gpa(p, PAGE_SIZE, true);
    check(rax == 0, "access-private-page-as-private", "RAX 0x%lx", rax);
    rax = access_gpa(p, PAGE_SIZE, false);
    check(rax == 0, "fault-satisfied-to-shared", "RAX 0x%lx", rax);
    rax = access_gpa(p + PAGE_SIZE, 2 * PAGE_SIZE, false);
    check(rax == 0, "fault-satisfied-two-pages", "RAX 0x%lx", rax);
    rax = access_gpa(p, PAGE_SIZE, true);
    check(rax == 0, "fault-satisfied-to-private", "RAX 0x%lx", rax);
    /* The state the implicit conversions left is what MAP_GPA_RANGE sees. */
    rax = map_gpa_range(p, 4, true);
    check(rax == 0, "fault-then-explicit", "RAX 0x%lx", rax);

    say("EXPECT guest-panicked: a private access at 0x%lx, beyond RAM "
        "(ends at 0x%lx), which QEMU cannot convert", top + 0x40000000UL,
        top);
    rax = access_gpa(top + 0x40000000UL, PAGE_SIZE, true);
    fail("fault-unsatisfiable-stops-vm", "the access returned RAX 0x%lx and "
         "the guest runs on", rax);
}

/* -------------------------------------------------------------------- */
/* Host-side steps of the runner. */

bool host_step(const char *name)
{
    static char buf[SNP_SIM_STEP_NAME_MAX];
    size_t len = strlen(name);
    uint64_t t0 = sim_time_ms();
    sim_regs r = { 0 };

    if (len >= sizeof(buf)) {
        fail("host-step", "step name '%s' too long", name);
        return false;
    }
    memcpy(buf, name, len + 1);
    say("INFO host step %s", name);
    r.rbx = gpa(buf);
    sim_call(SNP_SIM_OP_HOST_STEP, &r);
    while (r.rax == 1 && sim_time_ms() - t0 < 120000) {
        r = (sim_regs) { 0 };
        sim_call(SNP_SIM_OP_HOST_STEP, &r);
    }
    if (r.rax) {
        fail("host-step", "%s: RAX %ld (1: no answer in 2 minutes; -2: no "
             "runner; -5: the runner could not do it)", name,
             (int64_t)r.rax);
        return false;
    }
    return true;
}

/* -------------------------------------------------------------------- */
/* Scenario boot: the guest itself, no simulator needed. */

static uint32_t boot_seen;

static void ap_boot(uint32_t cpu)
{
    __atomic_fetch_or(&boot_seen, 1U << cpu, __ATOMIC_SEQ_CST);
    say("INFO cpu %u in long mode", cpu);
    wait_all_done();
}

static void scenario_boot(void)
{
    uint64_t low_end, high_end;

    check(ram_layout(&low_end, &high_end), "e820",
          "no usable etc/e820 in fw_cfg");
    say("INFO RAM below 4 GiB ends at 0x%lx, above at 0x%lx", low_end,
        high_end);
    say("INFO simulator %s", sim_present() ? "present" : "absent");
    if (ncpus > 1 && start_aps(ap_boot)) {
        __atomic_fetch_or(&boot_seen, 1, __ATOMIC_SEQ_CST);
        wait_all_done();
        check(boot_seen == (1U << ncpus) - 1, "smp-all-ran",
              "vCPU mask 0x%x", boot_seen);
    }
}

/* -------------------------------------------------------------------- */
/*
 * Scenario convert-bench[:SECONDS] (make bench, tests/bench/convert-bench.py):
 * 4 KiB and 2 MiB page state changes at 1 GiB, to shared and back, as
 * fast as they go for SECONDS each, and the doorbell alone, which costs
 * what any exit costs without QEMU.  Figures only: "BENCH name n=N ms=T
 * nonzero=K" (K answers other than 0: a QEMU that leaves RAX as KVM gave
 * it, as upstream does, shows the simulator's poison there).  A QEMU that
 * refuses a conversion stops the VM, and no BENCH line follows.
 */

#define BENCH_GPA 0x40000000UL

static void bench_convert(const char *name, uint64_t npages, uint64_t ms)
{
    uint64_t t0 = sim_time_ms(), t, n = 0, nonzero = 0;

    do {
        for (int i = 0; i < 8; i++) {
            nonzero += map_gpa_range(BENCH_GPA, npages, false) != 0;
            nonzero += map_gpa_range(BENCH_GPA, npages, true) != 0;
            n += 2;
        }
        t = sim_time_ms();
    } while (t - t0 < ms);
    say("BENCH %s n=%lu ms=%lu nonzero=%lu", name, n, t - t0, nonzero);
}

static void scenario_convert_bench(void)
{
    uint64_t low_end, high_end, ms = (uint64_t)opt.seconds * 1000;
    uint64_t t0, t, n = 0;

    if (!check(ram_layout(&low_end, &high_end) &&
               low_end >= BENCH_GPA + 0x200000UL, "bench-ram",
               "needs RAM up to 0x%lx", BENCH_GPA + 0x200000UL)) {
        return;
    }
    t0 = sim_time_ms();
    do {
        for (int i = 0; i < 64; i++) {
            sim_time_ms();
        }
        n += 64;
        t = sim_time_ms();
    } while (t - t0 < ms);
    say("BENCH exit n=%lu ms=%lu nonzero=0", n, t - t0);
    bench_convert("convert-4k", 1, ms);
    bench_convert("convert-2m", 512, ms);
}

/* -------------------------------------------------------------------- */

static uint32_t parse_u32(const char *s, const char *end, bool *ok)
{
    uint32_t v = 0;

    *ok = s < end;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > 100000000) {
            *ok = false;
            return 0;
        }
        v = v * 10 + (*s - '0');
    }
    return v;
}

static bool parse_scenario(char *buf, uint32_t len)
{
    char *colon = NULL, *p, *end = buf + len;
    bool ok;

    for (p = buf; p < end; p++) {
        if (*p == ':') {
            colon = p;
            break;
        }
    }
    if ((colon ? colon : end) - buf >= (long)sizeof(opt.name)) {
        return false;
    }
    memcpy(opt.name, buf, (colon ? colon : end) - buf);
    opt.loops = 50;
    opt.hold_ms = 500;
    opt.seconds = 10;
    for (p = colon ? colon + 1 : end; p < end;) {
        char *tok = p, *tend;

        ok = true;
        while (p < end && *p != ',') {
            p++;
        }
        tend = p;
        if (p < end) {
            p++;
        }
        if (tend - tok == 12 && !strncmp(tok, "expect=empty", 12)) {
            opt.expect_empty = true;
        } else if (tend - tok == 12 && !strncmp(tok, "expect=certs", 12)) {
            opt.expect_empty = false;
        } else if (tend - tok > 5 && !strncmp(tok, "need=", 5)) {
            opt.need = parse_u32(tok + 5, tend, &ok);
        } else if (tend - tok > 6 && !strncmp(tok, "loops=", 6)) {
            opt.loops = parse_u32(tok + 6, tend, &ok);
        } else if (tend - tok > 5 && !strncmp(tok, "hold=", 5)) {
            opt.hold_ms = parse_u32(tok + 5, tend, &ok);
        } else if (tend - tok > 5 && !strncmp(tok, "busy=", 5)) {
            opt.busy_ms = parse_u32(tok + 5, tend, &ok);
        } else {
            opt.seconds = parse_u32(tok, tend, &ok);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

void guest_main(void)
{
    char buf[128];
    uint16_t sel;
    uint32_t size;

    memset(bss_start, 0, bss_end - bss_start);
    idt_load();
    if (!check(fwcfg_present(), "fw_cfg", "no QEMU fw_cfg signature")) {
        finish();
    }
    ncpus = fwcfg_cpu_count();
    if (!fwcfg_find(SNP_SIM_FW_CFG_SCENARIO, &sel, &size)) {
        fail("scenario", "no %s in fw_cfg (-fw_cfg name=%s,string=NAME)",
             SNP_SIM_FW_CFG_SCENARIO, SNP_SIM_FW_CFG_SCENARIO);
        finish();
    }
    if (size >= sizeof(buf)) {
        fail("scenario", "%u bytes, at most %lu", size, sizeof(buf) - 1);
        finish();
    }
    fwcfg_read(sel, buf, size);
    buf[size] = 0;
    if (size && !buf[size - 1]) {
        size--;
    }
    if (!parse_scenario(buf, size)) {
        fail("scenario", "cannot parse '%s'", buf);
        finish();
    }
    say("INFO snp-test-guest: scenario '%s' (%s), %u vCPU(s)", opt.name, buf,
        ncpus);
    if (!strncmp(opt.name, "boot", sizeof(opt.name))) {
        scenario_boot();
        finish();
    }
    if (!check(sim_present(), "simulator", "no SNP host simulator answered "
               "the doorbell (SNP_SIM_OP_TIME_MS left RAX unchanged): "
               "run QEMU with LD_PRELOAD=libsnp-host-sim.so")) {
        finish();
    }

    if (!strncmp(opt.name, "certs", sizeof(opt.name))) {
        scenario_certs();
    } else if (!strncmp(opt.name, "certs-smp", sizeof(opt.name))) {
        scenario_certs_smp();
    } else if (!strncmp(opt.name, "convert", sizeof(opt.name))) {
        scenario_convert();
    } else if (!strncmp(opt.name, "fault", sizeof(opt.name))) {
        scenario_fault();
    } else if (!strncmp(opt.name, "stop-wait", sizeof(opt.name))) {
        scenario_stop_wait();
    } else if (!strncmp(opt.name, "attest", sizeof(opt.name))) {
        scenario_attest();
    } else if (!strncmp(opt.name, "convert-bench", sizeof(opt.name))) {
        scenario_convert_bench();
    } else if (scenario_linux(opt.name)) {
        /* done */
    } else {
        fail("scenario", "unknown scenario '%s'", opt.name);
    }
    finish();
}
