/*
 * Benchmarks: figures and ratios against floors measured in the same run,
 * never pass/fail.
 *
 *  1. Certificate service time per request (median, p99) for blobs of 4,
 *     16 and 64 KiB and 1, 2 and 8 threads, next to
 *       floor: take and release the shared locks, copy the blob;
 *       naive: what AMD's posted series does per request: open, fstat
 *              and stat inode check, shared lock, read, copy, close
 *              (no validation).
 *  2. Fairness: the worst and mean lock wait of an updater process
 *     while 8 requester threads request flat out (rate limit off), for
 *     this library's updater (sevsnp_cert_file_install(), what snp-certs
 *     install runs) and for a third-party updater that only takes the
 *     documented locks with blocking calls (F_OFD_SETLKW, then flock()),
 *     next to the scheduler's floor: how late a process sleeping 200 us
 *     wakes up under the same load.
 *  3. The page-state tracker: a million single-page conversions and
 *     whole-GiB conversions, in ns per page, next to a plain bit-set loop.
 *
 * Usage: bench-snp [--seconds S]   (S per certificate configuration)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ksim.h"
#include "testutil.h"

#define BASE 0x100000ULL

static double seconds_per_config = 0.5;

/* Requests may be answered BUSY while an updater works. */
static bool allow_busy;

static inline uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- blobs of a given size ---- */

/* A valid blob of about @size bytes: a generated chain plus padding. */
static GBytes *blob_of_size(const TestChain *c, size_t size)
{
    SevsnpCertInput in[4];
    size_t base = 5 * SEVSNP_CERT_ENTRY_SIZE + g_bytes_get_size(c->ark) +
                  g_bytes_get_size(c->ask) + g_bytes_get_size(c->vcek);
    size_t content = size - base - 4;
    g_autofree uint8_t *pad = g_malloc0(content + 4);
    g_autoptr(GBytes) padb = NULL;
    GBytes *blob;

    g_assert(size > base + 300 && content < 65536);
    pad[0] = 0x04;                  /* DER OCTET STRING, 2-byte length */
    pad[1] = 0x82;
    pad[2] = content >> 8;
    pad[3] = content & 0xff;
    padb = g_bytes_new_take(g_steal_pointer(&pad), content + 4);
    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    memcpy(in[2].guid, sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), 16);
    g_assert(sevsnp_guid_parse("0badc0de-0000-4000-8000-000000000001",
                               in[3].guid));
    in[0].der = c->ark;
    in[1].der = c->ask;
    in[2].der = c->vcek;
    in[3].der = padb;
    blob = sevsnp_cert_table_build(in, 4, NULL);
    g_assert(blob && g_bytes_get_size(blob) == size);
    return blob;
}

/* ---- the three designs ---- */

typedef enum { D_SERVICE, D_FLOOR, D_NAIVE } Design;

typedef struct Worker {
    Design design;
    uint32_t index;
    const char *path;
    SevsnpService *svc;
    GBytes *blob;
    uint64_t npages;
    uint64_t deadline;
    GArray *ns;             /* per-request times */
    bool failed;
} Worker;

static void floor_request(int fd, const uint8_t *blob, size_t len,
                          uint8_t *guest)
{
    struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };

    if (fcntl(fd, F_OFD_SETLK, &fl) < 0 || flock(fd, LOCK_SH | LOCK_NB)) {
        abort();
    }
    memcpy(guest, blob, len);
    flock(fd, LOCK_UN);
    fl.l_type = F_UNLCK;
    fcntl(fd, F_OFD_SETLK, &fl);
}

/*
 * What a VMM without this library does per request: the method of AMD's
 * posted QEMU series ("i386/sev: SNP certificate fetching"): open the
 * file, fstat() it and stat() the path to check it is still the same
 * inode, take the shared OFD lock, read the whole file, copy it into
 * the guest's buffer, close.  No validation: that series checks nothing
 * of the blob's contents.
 */
static bool naive_request(const char *path, uint8_t *guest, size_t cap)
{
    struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st, pst;
    uint8_t *buf;
    bool ok;

    if (fd < 0 || fstat(fd, &st) < 0 || stat(path, &pst) < 0 ||
        st.st_ino != pst.st_ino || st.st_dev != pst.st_dev ||
        fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        abort();
    }
    buf = g_malloc(st.st_size);
    ok = pread(fd, buf, st.st_size, 0) == st.st_size &&
         (size_t)st.st_size <= cap;
    if (ok) {
        memcpy(guest, buf, st.st_size);
    }
    g_free(buf);
    close(fd);
    return ok;
}

static gpointer worker(gpointer opaque)
{
    Worker *w = opaque;
    KSimMem *mem = ksim_mem_new(BASE, w->npages, 0);
    gsize len;
    const uint8_t *blob = g_bytes_get_data(w->blob, &len);
    uint8_t *guest = ksim_mem_ptr(mem, BASE);
    int fd = open(w->path, O_RDONLY | O_CLOEXEC);
    KSimVcpu v;

    ksim_vcpu_init(&v, w->index, SEVSNP_ABI_REQ_CERTS, mem);
    while (now_ns() < w->deadline) {
        uint64_t t0 = now_ns(), dt;

        switch (w->design) {
        case D_SERVICE:
            if (ksim_guest_roundtrip(&v, w->svc, BASE, w->npages) < 0 ||
                (v.guest_result != SEVSNP_GUEST_OK &&
                 !(allow_busy && v.guest_result == SEVSNP_GUEST_BUSY))) {
                g_autofree char *e = sevsnp_service_last_error(w->svc);

                if (!w->failed) {
                    fprintf(stderr, "bench: request failed: %s\n", e);
                }
                w->failed = true;
            }
            break;
        case D_FLOOR:
            floor_request(fd, blob, len, guest);
            break;
        case D_NAIVE:
            if (!naive_request(w->path, guest,
                               w->npages * SEVSNP_PAGE_SIZE)) {
                w->failed = true;
            }
            break;
        }
        dt = now_ns() - t0;
        g_array_append_val(w->ns, dt);
    }
    close(fd);
    ksim_mem_free(mem);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

typedef struct Result {
    double median_us, p99_us, rate;
} Result;

static Result measure(Design d, const char *path, GBytes *blob, int threads)
{
    g_autofree Worker *w = g_new0(Worker, threads);
    g_autofree GThread **th = g_new0(GThread *, threads);
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    SevsnpService *svc = sevsnp_service_new(path, 100, 0, 0);
    uint64_t npages = (g_bytes_get_size(blob) + SEVSNP_PAGE_SIZE - 1) /
                      SEVSNP_PAGE_SIZE;
    uint64_t deadline = now_ns() + seconds_per_config * 1e9;
    Result r;

    for (int i = 0; i < threads; i++) {
        w[i] = (Worker) {
            .design = d, .index = i, .path = path, .svc = svc,
            .blob = blob, .npages = npages, .deadline = deadline,
            .ns = g_array_new(FALSE, FALSE, sizeof(uint64_t)),
        };
        th[i] = g_thread_new("bench", worker, &w[i]);
    }
    for (int i = 0; i < threads; i++) {
        g_thread_join(th[i]);
        g_assert(!w[i].failed);
        g_array_append_vals(all, w[i].ns->data, w[i].ns->len);
        g_array_free(w[i].ns, TRUE);
    }
    sevsnp_service_free(svc);
    qsort(all->data, all->len, sizeof(uint64_t), cmp_u64);
    r.median_us = g_array_index(all, uint64_t, all->len / 2) / 1000.0;
    r.p99_us = g_array_index(all, uint64_t, all->len * 99 / 100) / 1000.0;
    r.rate = all->len / seconds_per_config;
    return r;
}

static void bench_certs(void)
{
    static const size_t sizes[] = { 4096, 16384, 65536 };
    static const int threads[] = { 1, 2, 8 };
    g_autoptr(TestChain) c = test_chain_new("Bench", -1, 30);

    g_autoptr(GPtrArray) blobs = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_bytes_unref);
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);

    /*
     * Steady state: a blob installed more than 2 s ago, outside the
     * store's "racy" window (where each request compares the bytes).
     */
    for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
        GBytes *blob = blob_of_size(c, sizes[s]);

        g_ptr_array_add(blobs, blob);
        g_ptr_array_add(paths, test_write_tmp(blob, "bench.blob"));
    }
    g_usleep(2100 * 1000);

    printf("== Certificate service: time per request (us), median / p99\n");
    printf("%-6s %-3s | %-17s | %-17s | %-17s | %-11s | %s\n", "blob",
           "thr", "service", "floor", "naive", "svc/floor", "svc/naive");
    for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
        GBytes *blob = g_ptr_array_index(blobs, s);
        const char *path = g_ptr_array_index(paths, s);

        for (guint t = 0; t < G_N_ELEMENTS(threads); t++) {
            Result sv = measure(D_SERVICE, path, blob, threads[t]);
            Result fl = measure(D_FLOOR, path, blob, threads[t]);
            Result nv = measure(D_NAIVE, path, blob, threads[t]);

            printf("%3zu KiB %3d | %7.2f / %7.2f | %7.2f / %7.2f | "
                   "%7.2f / %7.2f | %5.2fx      | %5.3fx\n",
                   sizes[s] / 1024, threads[t], sv.median_us, sv.p99_us,
                   fl.median_us, fl.p99_us, nv.median_us, nv.p99_us,
                   sv.median_us / fl.median_us, sv.median_us / nv.median_us);
        }
        unlink(path);
    }
}

/* ---- fairness: updaters under 8 requesters ---- */

typedef enum { U_LIBRARY, U_THIRD_PARTY, U_SLEEP } Updater;

typedef struct UpdBoard {
    int stop;
    uint64_t rounds;
    int64_t worst_ns, total_ns;
    int failed;
} UpdBoard;

/* A third-party updater: the documented locks, blocking calls. */
static bool third_party_lock(int fd)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

    return fcntl(fd, F_OFD_SETLKW, &fl) == 0 && flock(fd, LOCK_EX) == 0;
}

static void updater_process(Updater u, const char *path, GBytes *blob,
                            UpdBoard *b)
{
    while (!__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST)) {
        uint64_t t0, dt;
        bool ok = true;
        int fd = -1;

        g_usleep(g_random_int_range(1000, 5000));
        t0 = now_ns();
        switch (u) {
        case U_LIBRARY:
            ok = sevsnp_cert_file_install(path, blob, G_MAXUINT, NULL, NULL);
            break;
        case U_THIRD_PARTY:
            fd = open(path, O_RDWR | O_CLOEXEC);
            ok = fd >= 0 && third_party_lock(fd);
            break;
        case U_SLEEP:
            g_usleep(200);
            t0 += 200000;
            break;
        }
        dt = now_ns() - t0;
        if (fd >= 0) {
            /* In place, the same bytes: the requesters re-check them. */
            gsize len;
            const void *d = g_bytes_get_data(blob, &len);

            ok = ok && pwrite(fd, d, len, 0) == (ssize_t)len;
            close(fd);
        }
        if (!ok) {
            b->failed = 1;
            break;
        }
        b->rounds++;
        b->total_ns += dt;
        b->worst_ns = MAX(b->worst_ns, (int64_t)dt);
    }
    _exit(0);
}

static void fairness_one(Updater u, const char *label, const char *path,
                         GBytes *blob, int threads)
{
    UpdBoard *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pid;
    int ws;

    g_assert(b != MAP_FAILED);
    memset(b, 0, sizeof(*b));
    pid = fork();
    g_assert(pid >= 0);
    if (pid == 0) {
        updater_process(u, path, blob, b);
    }
    allow_busy = true;
    measure(D_SERVICE, path, blob, threads);
    allow_busy = false;
    __atomic_store_n(&b->stop, 1, __ATOMIC_SEQ_CST);
    g_assert(waitpid(pid, &ws, 0) == pid);
    g_assert(!b->failed);
    printf("%s: worst wait %.1f ms, mean %.2f ms, %" G_GUINT64_FORMAT
           " rounds (%d requesters, rate limit off)\n", label,
           b->worst_ns / 1e6, b->rounds ? b->total_ns / 1e6 / b->rounds : 0,
           b->rounds, threads);
    munmap(b, sizeof(*b));
}

static void bench_fairness(void)
{
    g_autoptr(TestChain) c = test_chain_new("Bench", -1, 30);
    g_autoptr(GBytes) blob = blob_of_size(c, 4096);
    g_autofree char *path = test_write_tmp(blob, "fair.blob");

    printf("\n== Fairness: updater lock wait under flat-out requests\n");
    fairness_one(U_LIBRARY, "updater", path, blob, 8);
    fairness_one(U_THIRD_PARTY, "third-party updater (blocking OFD + flock)",
                 path, blob, 8);
    fairness_one(U_SLEEP, "floor: a 200 us sleep oversleeps by", path, blob,
                 8);
    unlink(path);
}

/* ---- the page-state tracker ---- */

static void bench_pages(void)
{
    const uint64_t region_pages = 4ULL << 18;      /* 4 GiB */
    const uint64_t gib_pages = 1ULL << 18;
    const int n = 1000000, reps = 20;
    SevsnpPageTracker *t = sevsnp_pages_new();
    g_autofree uint32_t *idx = g_new(uint32_t, n);
    g_autofree uint64_t *bits = g_new0(uint64_t, region_pages / 64);
    uint64_t t0, tracker_ns, floor_ns, sink = 0;

    sevsnp_pages_add_region(t, "ram", 0, region_pages * SEVSNP_PAGE_SIZE,
                            true, NULL);
    for (int i = 0; i < n; i++) {
        idx[i] = g_random_int_range(0, region_pages);
    }

    printf("\n== Page-state tracker (4 GiB region), ns per page\n");
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        sevsnp_pages_convert(t, (uint64_t)idx[i] * SEVSNP_PAGE_SIZE, 1,
                             i & 1, SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                             NULL);
    }
    tracker_ns = now_ns() - t0;
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        uint64_t m = 1ULL << (idx[i] % 64);

        if (i & 1) {
            bits[idx[i] / 64] |= m;
        } else {
            bits[idx[i] / 64] &= ~m;
        }
        __asm__ volatile("" : : "r"(bits) : "memory");
    }
    floor_ns = now_ns() - t0;
    printf("1,000,000 single-page conversions: tracker %.1f ns/page, "
           "plain bit-set %.1f ns/page, ratio %.1fx\n",
           (double)tracker_ns / n, (double)floor_ns / n,
           (double)tracker_ns / floor_ns);

    t0 = now_ns();
    for (int r = 0; r < reps; r++) {
        sevsnp_pages_convert(t, 1ULL << 30, gib_pages, r & 1,
                             SEVSNP_CONVERT_EXPLICIT, NULL, NULL, NULL);
    }
    tracker_ns = now_ns() - t0;
    t0 = now_ns();
    for (int r = 0; r < reps; r++) {
        for (uint64_t p = gib_pages; p < 2 * gib_pages; p++) {
            uint64_t m = 1ULL << (p % 64);

            if (r & 1) {
                bits[p / 64] |= m;
            } else {
                bits[p / 64] &= ~m;
            }
        }
        __asm__ volatile("" : : "r"(bits) : "memory");
    }
    floor_ns = now_ns() - t0;
    for (uint64_t i = 0; i < region_pages / 64; i++) {
        sink += bits[i];
    }
    printf("1 GiB conversions (x%d):           tracker %.3f ns/page, "
           "plain bit-set %.3f ns/page, ratio %.2fx\n", reps,
           (double)tracker_ns / (reps * gib_pages),
           (double)floor_ns / (reps * gib_pages),
           (double)tracker_ns / floor_ns);
    printf("(checksum %" G_GUINT64_FORMAT ")\n", sink & 0xff);
    sevsnp_pages_free(t);
}

int main(int argc, char **argv)
{
    GOptionEntry opts[] = {
        { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds_per_config,
          "seconds per certificate configuration (default 0.5)", "S" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- benchmarks");
    g_autoptr(GError) err = NULL;

    g_option_context_add_main_entries(ctx, opts, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "bench-snp: %s\n", err->message);
        return 2;
    }
    bench_certs();
    bench_fairness();
    bench_pages();
    return 0;
}
