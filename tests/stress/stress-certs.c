/*
 * Lock-race stress: vCPU threads (real threads, libsevsnp and the kernel
 * simulator) request certificates continuously while another process
 * rewrites the blob in place under the exclusive locks, alternating
 * between two valid blobs with different VCEKs.
 *
 * Checked on every request: the guest receives one of the two blobs byte
 * for byte (and nothing past it); BUSY only while the updater holds or
 * waits for the locks (or from the rate limit); no request ends with its
 * locks still held.  Prints the counts and the updater's worst wait.
 *
 * Usage: stress-certs [--seconds S] [--threads N]   (TAP output)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ksim.h"
#include "testutil.h"

#define BASE 0x100000ULL
#define NPAGES 8
#define FILL 0xcc

/* Shared with the updater process. */
typedef struct Board {
    uint64_t seq;               /* odd while the updater waits or holds */
    int stop;
    uint64_t updates;
    int64_t worst_wait_us;
    int64_t total_wait_us;
    int failed;
} Board;

typedef struct Run {
    SevsnpService *svc;
    GBytes *a, *b;
    Board *board;
    gint64 deadline;
    /* results */
    uint64_t got_a, got_b, busy_ok, rate_limited, violations, requests;
    GMutex lock;
    char *first_violation;
} Run;

static __thread SevsnpReqOutcome last_outcome;

static void notify(void *opaque, uint32_t vcpu, SevsnpReqOutcome outcome,
                   const char *message)
{
    last_outcome = outcome;
}

static void violation(Run *r, const char *fmt, ...)
{
    va_list ap;

    g_mutex_lock(&r->lock);
    r->violations++;
    if (!r->first_violation) {
        va_start(ap, fmt);
        r->first_violation = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    g_mutex_unlock(&r->lock);
}

static bool holds(KSimMem *mem, GBytes *blob)
{
    gsize len;
    const uint8_t *want = g_bytes_get_data(blob, &len);
    const uint8_t *got = ksim_mem_ptr(mem, BASE);

    if (memcmp(got, want, len)) {
        return false;
    }
    for (size_t i = len; i < NPAGES * SEVSNP_PAGE_SIZE; i++) {
        if (got[i] != FILL) {
            return false;
        }
    }
    return true;
}

typedef struct Vcpu {
    Run *run;
    uint32_t index;
} Vcpu;

static gpointer vcpu_thread(gpointer opaque)
{
    Vcpu *vc = opaque;
    Run *r = vc->run;
    KSimMem *mem = ksim_mem_new(BASE, NPAGES + 2, FILL);
    uint64_t a = 0, b = 0, busy = 0, rl = 0, n = 0;
    KSimVcpu v;

    ksim_vcpu_init(&v, vc->index, SEVSNP_ABI_REQ_CERTS, mem);
    while (g_get_monotonic_time() < r->deadline) {
        uint64_t s0, s1;
        int ret;

        memset(ksim_mem_ptr(mem, BASE), FILL, NPAGES * SEVSNP_PAGE_SIZE);
        last_outcome = SEVSNP_REQ_OK;
        s0 = __atomic_load_n(&r->board->seq, __ATOMIC_SEQ_CST);
        ret = ksim_guest_roundtrip(&v, r->svc, BASE, NPAGES);
        s1 = __atomic_load_n(&r->board->seq, __ATOMIC_SEQ_CST);
        n++;
        if (ret < 0) {
            violation(r, "vcpu %u: KVM_RUN failed: %d", vc->index, ret);
            continue;
        }
        if (sevsnp_service_in_flight(r->svc, vc->index)) {
            violation(r, "vcpu %u: request finished with its locks held",
                      vc->index);
        }
        switch (v.guest_result) {
        case SEVSNP_GUEST_OK:
            if (holds(mem, r->a)) {
                a++;
            } else if (holds(mem, r->b)) {
                b++;
            } else {
                violation(r, "vcpu %u: the guest got neither blob",
                          vc->index);
            }
            break;
        case SEVSNP_GUEST_BUSY:
            if (last_outcome == SEVSNP_REQ_RATE_LIMITED) {
                rl++;
            } else if ((s0 & 1) || s1 != s0) {
                busy++;
            } else {
                violation(r, "vcpu %u: BUSY with no updater at work",
                          vc->index);
            }
            break;
        default:
            violation(r, "vcpu %u: the guest saw '%s'", vc->index,
                      sevsnp_guest_result_name(v.guest_result));
        }
        if (mem->violations) {
            violation(r, "vcpu %u: a write outside shared RAM", vc->index);
            mem->violations = 0;
        }
    }
    g_mutex_lock(&r->lock);
    r->got_a += a;
    r->got_b += b;
    r->busy_ok += busy;
    r->rate_limited += rl;
    r->requests += n;
    g_mutex_unlock(&r->lock);
    ksim_mem_free(mem);
    return NULL;
}

/* The updater process: snp-certs install's sequence, in a loop. */
static void updater(Board *board, const char *path, GBytes *a, GBytes *b)
{
    for (uint64_t i = 0; !__atomic_load_n(&board->stop, __ATOMIC_SEQ_CST);
         i++) {
        int64_t waited = 0;
        GError *err = NULL;
        bool ok;

        __atomic_add_fetch(&board->seq, 1, __ATOMIC_SEQ_CST);
        ok = sevsnp_cert_file_install(path, (i & 1) ? a : b, G_MAXUINT,
                                      &waited, &err);
        __atomic_add_fetch(&board->seq, 1, __ATOMIC_SEQ_CST);
        if (!ok) {
            board->failed = 1;
            g_error_free(err);
            break;
        }
        board->updates++;
        board->total_wait_us += waited;
        board->worst_wait_us = MAX(board->worst_wait_us, waited);
        g_usleep(g_random_int_range(200, 2000));
    }
    _exit(0);
}

static int stress(int test_no, const char *label, int seconds, int threads,
                  uint32_t rate, uint32_t burst)
{
    g_autoptr(GBytes) a = test_milan_blob();
    g_autoptr(TestChain) c = test_chain_new("Stress", -1, 30);
    g_autoptr(GBytes) b = test_chain_blob(c);
    g_autofree char *path = test_write_tmp(a, "certs.blob");
    Board *board = mmap(NULL, sizeof(Board), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    g_autofree GThread **th = g_new0(GThread *, threads);
    g_autofree Vcpu *vc = g_new0(Vcpu, threads);
    Run r = { .a = a, .b = b, .board = board };
    SevsnpStats st;
    pid_t pid;
    int ws;
    bool ok;

    g_assert(board != MAP_FAILED);
    memset(board, 0, sizeof(*board));
    /* Fork before any thread exists. */
    pid = fork();
    g_assert(pid >= 0);
    if (pid == 0) {
        updater(board, path, a, b);
    }
    g_mutex_init(&r.lock);
    r.svc = sevsnp_service_new(path, 100, rate, burst);
    sevsnp_service_set_error_notify(r.svc, notify, &r);
    r.deadline = g_get_monotonic_time() + seconds * G_USEC_PER_SEC;
    for (int i = 0; i < threads; i++) {
        vc[i].run = &r;
        vc[i].index = i;
        th[i] = g_thread_new("vcpu", vcpu_thread, &vc[i]);
    }
    for (int i = 0; i < threads; i++) {
        g_thread_join(th[i]);
    }
    __atomic_store_n(&board->stop, 1, __ATOMIC_SEQ_CST);
    g_assert(waitpid(pid, &ws, 0) == pid);
    sevsnp_service_get_stats(r.svc, &st);

    if (st.in_flight || ksim_lock_blocked(path, true, true) ||
        ksim_lock_blocked(path, true, false)) {
        violation(&r, "locks still held after every request completed");
    }
    ok = !r.violations && !board->failed && r.got_a && r.got_b;
    printf("# %s: %d threads, %d s: %" G_GUINT64_FORMAT " requests "
           "(%.0f/s): blob A %" G_GUINT64_FORMAT ", blob B %"
           G_GUINT64_FORMAT ", busy during updates %" G_GUINT64_FORMAT
           ", rate-limited %" G_GUINT64_FORMAT ", violations %"
           G_GUINT64_FORMAT "\n", label, threads, seconds, r.requests,
           (double)r.requests / seconds, r.got_a, r.got_b, r.busy_ok,
           r.rate_limited, r.violations);
    printf("# %s: updater: %" G_GUINT64_FORMAT " in-place rewrites, lock "
           "wait worst %" G_GINT64_FORMAT " us, mean %.0f us\n", label,
           board->updates, board->worst_wait_us,
           board->updates ? (double)board->total_wait_us / board->updates
                          : 0.0);
    if (r.first_violation) {
        printf("# first violation: %s\n", r.first_violation);
    }
    printf("%s %d - %s\n", ok ? "ok" : "not ok", test_no, label);
    sevsnp_service_free(r.svc);
    munmap(board, sizeof(*board));
    unlink(path);
    g_free(r.first_violation);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    int seconds = 3, threads = 4, fail = 0;
    GOptionEntry opts[] = {
        { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds,
          "seconds per configuration (default 3)", "S" },
        { "threads", 0, 0, G_OPTION_ARG_INT, &threads,
          "vCPU threads (default 4)", "N" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- lock-race stress");
    g_autoptr(GError) err = NULL;

    g_option_context_add_main_entries(ctx, opts, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || seconds < 1 ||
        threads < 1) {
        fprintf(stderr, "stress-certs: %s\n",
                err ? err->message : "bad --seconds or --threads");
        return 2;
    }
    printf("1..2\n");
    fail |= stress(1, "rate limit off", seconds, threads, 0, 0);
    fail |= stress(2, "rate limit 100/s burst 20", seconds, threads, 100,
                   20);
    return fail;
}
