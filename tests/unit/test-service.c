/*
 * libsevsnp unit tests: the request state machine, both ABIs, against the
 * kernel simulator
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ksim.h"
#include "sevsnp-internal.h"
#include "testutil.h"

#define BASE    0x100000ULL
#define NPAGES  64
#define FILL    0xcc

typedef struct Fixture {
    char *path;
    GBytes *blob;
    KSimMem *mem;
    SevsnpService *svc;
    uint64_t need;          /* pages the blob needs */
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->blob = test_milan_blob();
    f->path = test_write_tmp(f->blob, "certs.bin");
    f->mem = ksim_mem_new(BASE, NPAGES, FILL);
    f->svc = sevsnp_service_new(f->path, 100, 0, 0);
    f->need = (g_bytes_get_size(f->blob) + 4095) / 4096;
    g_assert_cmpuint(f->need, ==, 2);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_autofree char *dir = g_path_get_dirname(f->path);

    sevsnp_service_free(f->svc);
    ksim_mem_free(f->mem);
    unlink(f->path);
    rmdir(dir);
    g_free(f->path);
    g_bytes_unref(f->blob);
}

static SevsnpStats stats(Fixture *f)
{
    SevsnpStats s;

    sevsnp_service_get_stats(f->svc, &s);
    return s;
}

/* ---- mainline ABI rows ---- */

static void test_mainline_ok(Fixture *f, gconstpointer data)
{
    KSimVcpu v;
    gsize len;
    const uint8_t *b = g_bytes_get_data(f->blob, &len);

    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    ksim_guest_request(&v, BASE + 4096, 4);
    g_assert_cmpint(ksim_run(&v), ==, 0);
    g_assert_cmpuint(v.exit_reason, ==, SEVSNP_KVM_EXIT_SNP_REQ_CERTS);

    g_assert_true(sevsnp_handle_req_certs_exit(f->svc, 0, &v.u.snp_req_certs,
                                               &ksim_mem_ops, f->mem));
    g_assert_cmpuint(v.u.snp_req_certs.ret, ==, 0);
    /* The table is in the guest's buffer, nothing outside it changed. */
    g_assert_cmpmem(ksim_mem_ptr(f->mem, BASE + 4096), len, b, len);
    g_assert_true(ksim_mem_untouched_outside(f->mem, BASE + 4096, len, FILL));
    /* Locks held between the exit and the completion. */
    g_assert_true(sevsnp_service_in_flight(f->svc, 0));
    g_assert_true(ksim_lock_blocked(f->path, true, true));
    g_assert_true(ksim_lock_blocked(f->path, true, false));

    /* The completion step: immediate_exit, KVM_RUN returns -EINTR. */
    v.immediate_exit = 1;
    g_assert_cmpint(ksim_run(&v), ==, -EINTR);
    g_assert_cmpuint(v.fw_signed, ==, 1);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_true(sevsnp_service_complete(f->svc, 0));
    g_assert_false(sevsnp_service_in_flight(f->svc, 0));
    g_assert_false(ksim_lock_blocked(f->path, true, true));
    g_assert_false(ksim_lock_blocked(f->path, true, false));
    g_assert_cmpuint(stats(f).served, ==, 1);
    g_assert_cmpuint(stats(f).completions, ==, 1);
    g_assert_cmpuint(stats(f).in_flight, ==, 0);
    g_assert_cmpuint(f->mem->violations, ==, 0);
}

static void test_mainline_too_small(Fixture *f, gconstpointer data)
{
    KSimVcpu v;

    ksim_vcpu_init(&v, 1, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 1), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_INVALID_LEN);
    g_assert_cmpuint(v.guest_npages, ==, f->need);
    g_assert_cmpuint(v.u.snp_req_certs.ret, ==, ENOSPC);
    g_assert_cmpuint(v.fw_signed, ==, 0);
    g_assert_true(ksim_mem_untouched_outside(f->mem, 0, 0, FILL));
    g_assert_cmpuint(stats(f).too_small, ==, 1);
    g_assert_false(sevsnp_service_in_flight(f->svc, 1));
    /* Then the guest retries with the size it was told. */
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, v.guest_npages),
                    ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_cmpuint(v.fw_signed, ==, 1);
}

/*
 * What the guest got is a chain-less success: the firmware signed its
 * report, its buffer holds an empty table (the 24-byte terminator) or,
 * for a size probe, nothing at all, and nothing else was written.
 */
static void assert_chainless(Fixture *f, KSimVcpu *v, uint64_t gpa,
                             uint64_t npages)
{
    static const uint8_t zero[SEVSNP_CERT_ENTRY_SIZE];

    g_assert_cmpint(v->guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_cmpuint(v->fw_signed, >=, 1);
    if (npages) {
        g_assert_cmpmem(ksim_mem_ptr(f->mem, gpa), sizeof(zero), zero,
                        sizeof(zero));
        g_assert_true(ksim_mem_untouched_outside(f->mem, gpa, sizeof(zero),
                                                 FILL));
    } else {
        g_assert_true(ksim_mem_untouched_outside(f->mem, 0, 0, FILL));
    }
    g_assert_cmpuint(f->mem->violations, ==, 0);
    g_assert_false(sevsnp_service_in_flight(f->svc, v->index));
}

/* A blob that disappears is a host-side fault: an empty table. */
static void test_mainline_host_fault(Fixture *f, gconstpointer data)
{
    KSimVcpu v;

    unlink(f->path);
    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpuint(v.u.snp_req_certs.ret, ==, 0);
    assert_chainless(f, &v, BASE, 4);
    g_assert_cmpuint(stats(f).errors, ==, 0);
    g_assert_cmpuint(stats(f).host_faults, ==, 1);
    g_assert_cmpuint(stats(f).chainless, ==, 1);
    g_assert_cmpuint(stats(f).served, ==, 0);
    {
        g_autofree char *e = sevsnp_service_last_error(f->svc);
        g_assert_nonnull(strstr(e, "No such file"));
    }
    /* A fixed file heals without a restart. */
    test_rewrite_in_place(f->path, f->blob);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_true(!memcmp(ksim_mem_ptr(f->mem, BASE),
                          g_bytes_get_data(f->blob, NULL),
                          g_bytes_get_size(f->blob)));
}

/*
 * A child process that holds the exclusive lock of the wanted kind until
 * told to let go; returns its pid, and the pipe to tell it.
 */
static pid_t hold_lock(const char *path, bool ofd, int *release_fd)
{
    int ready[2], rel[2];
    pid_t pid;
    char c;

    g_assert_cmpint(pipe(ready), ==, 0);
    g_assert_cmpint(pipe(rel), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        int fd, r;

        /* Our parent's end: an aborting test then lets this child go. */
        close(rel[1]);
        close(ready[0]);
        fd = open(path, O_RDWR);
        r = ofd ? fcntl(fd, F_OFD_SETLKW, &fl) : flock(fd, LOCK_EX);

        c = r == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(rel[0], &c, 1) < 0) {
            _exit(2);
        }
        _exit(0);
    }
    close(ready[1]);
    close(rel[0]);
    g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'y');
    close(ready[0]);
    *release_fd = rel[1];
    return pid;
}

static void release_lock(pid_t pid, int release_fd)
{
    int status;

    g_assert_cmpint(write(release_fd, "x", 1), ==, 1);
    close(release_fd);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void busy_then_ok(Fixture *f, SevsnpAbi abi, bool ofd)
{
    KSimVcpu v;
    int rel;
    pid_t pid = hold_lock(f->path, ofd, &rel);
    int64_t t0 = g_get_monotonic_time(), waited;

    ksim_vcpu_init(&v, 0, abi, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    waited = g_get_monotonic_time() - t0;
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_BUSY);
    if (abi == SEVSNP_ABI_REQ_CERTS) {
        g_assert_cmpuint(v.u.snp_req_certs.ret, ==, EAGAIN);
    } else {
        g_assert_cmpuint(v.u.vmgexit.req_certs.ret, ==,
                         SEVSNP_VMGEXIT_RET_BUSY);
    }
    /* It waited for the configured 100 ms, not for ever. */
    g_assert_cmpint(waited, >=, 100 * 1000);
    g_assert_cmpint(waited, <, 5 * 1000 * 1000);
    g_assert_true(ksim_mem_untouched_outside(f->mem, 0, 0, FILL));
    g_assert_cmpuint(stats(f).busy, ==, 1);
    release_lock(pid, rel);

    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_cmpuint(stats(f).served, ==, 1);
}

static void test_mainline_busy_ofd(Fixture *f, gconstpointer data)
{
    busy_then_ok(f, SEVSNP_ABI_REQ_CERTS, true);
}

static void test_mainline_busy_flock(Fixture *f, gconstpointer data)
{
    busy_then_ok(f, SEVSNP_ABI_REQ_CERTS, false);
}

static void test_legacy_busy_ofd(Fixture *f, gconstpointer data)
{
    busy_then_ok(f, SEVSNP_ABI_VMGEXIT, true);
}

static void test_legacy_busy_flock(Fixture *f, gconstpointer data)
{
    busy_then_ok(f, SEVSNP_ABI_VMGEXIT, false);
}

static void test_zero_timeout_single_try(Fixture *f, gconstpointer data)
{
    KSimVcpu v;
    int rel;
    pid_t pid = hold_lock(f->path, true, &rel);
    int64_t t0 = g_get_monotonic_time();

    g_assert_true(sevsnp_service_set_timeout(f->svc, 0, NULL));
    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_BUSY);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 50 * 1000);
    release_lock(pid, rel);
}

static void test_mainline_reserved_ret_rejected(Fixture *f, gconstpointer d)
{
    KSimVcpu v;

    /* The simulator refuses what KVM refuses. */
    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    ksim_guest_request(&v, BASE, 4);
    g_assert_cmpint(ksim_run(&v), ==, 0);
    v.u.snp_req_certs.ret = 1;
    g_assert_cmpint(ksim_run(&v), ==, -EINVAL);
    v.u.snp_req_certs.ret = (uint64_t)-EIO;
    g_assert_cmpint(ksim_run(&v), ==, -EINVAL);
    /* Untouched, the poison value is refused too. */
    g_assert_cmpuint(v.einval, ==, 2);
}

/* ---- legacy ABI rows ---- */

static void test_legacy_ok(Fixture *f, gconstpointer data)
{
    KSimVcpu v;
    gsize len;
    const uint8_t *b = g_bytes_get_data(f->blob, &len);

    ksim_vcpu_init(&v, 3, SEVSNP_ABI_VMGEXIT, f->mem);
    ksim_guest_request(&v, BASE, 8);
    g_assert_cmpint(ksim_run(&v), ==, 0);
    g_assert_cmpuint(v.exit_reason, ==, SEVSNP_KVM_EXIT_VMGEXIT);
    g_assert_cmpuint(v.u.vmgexit.req_certs.status, ==,
                     SEVSNP_VMGEXIT_STATUS_PENDING);
    g_assert_true(sevsnp_handle_vmgexit_exit(f->svc, 3, &v.u.vmgexit,
                                             &ksim_mem_ops, f->mem));
    g_assert_cmpuint(v.u.vmgexit.req_certs.ret, ==, 0);
    g_assert_cmpuint(v.u.vmgexit.req_certs.flags, ==,
                     SEVSNP_VMGEXIT_FLAGS_NOTIFY_DONE);
    g_assert_cmpmem(ksim_mem_ptr(f->mem, BASE), len, b, len);
    g_assert_true(ksim_lock_blocked(f->path, true, true));

    /* The firmware signs, then KVM exits again with DONE. */
    g_assert_cmpint(ksim_run(&v), ==, 0);
    g_assert_cmpuint(v.fw_signed, ==, 1);
    g_assert_cmpuint(v.exit_reason, ==, SEVSNP_KVM_EXIT_VMGEXIT);
    g_assert_cmpuint(v.u.vmgexit.req_certs.status, ==,
                     SEVSNP_VMGEXIT_STATUS_DONE);
    g_assert_cmpuint(v.u.vmgexit.req_certs.flags, ==, 0);
    /* Locks still held until userspace sees DONE. */
    g_assert_true(ksim_lock_blocked(f->path, true, false));
    g_assert_false(sevsnp_handle_vmgexit_exit(f->svc, 3, &v.u.vmgexit,
                                              &ksim_mem_ops, f->mem));
    g_assert_false(ksim_lock_blocked(f->path, true, true));
    g_assert_false(ksim_lock_blocked(f->path, true, false));
    g_assert_cmpuint(stats(f).completions, ==, 1);
    g_assert_cmpint(ksim_run(&v), ==, 0);
    g_assert_cmpuint(v.exit_reason, ==, KSIM_EXIT_GUEST_RAN);
}

static void test_legacy_too_small(Fixture *f, gconstpointer data)
{
    KSimVcpu v;

    ksim_vcpu_init(&v, 0, SEVSNP_ABI_VMGEXIT, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 1), ==, 0);
    g_assert_cmpuint(v.u.vmgexit.req_certs.ret, ==,
                     SEVSNP_VMGEXIT_RET_INVALID_LEN);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_INVALID_LEN);
    g_assert_cmpuint(v.guest_npages, ==, f->need);
    /* No NOTIFY_DONE: no locks to release, no DONE exit. */
    g_assert_cmpuint(v.u.vmgexit.req_certs.flags, ==, 0);
    g_assert_true(ksim_mem_untouched_outside(f->mem, 0, 0, FILL));
}

static void test_legacy_generic(Fixture *f, gconstpointer data)
{
    KSimVcpu v;

    ksim_vcpu_init(&v, 0, SEVSNP_ABI_VMGEXIT, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE + 1, 4), ==, 0);
    g_assert_cmpuint(v.u.vmgexit.req_certs.ret, ==,
                     SEVSNP_VMGEXIT_RET_GENERIC);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_GENERIC);

    /* An unknown exit type. */
    v.u.vmgexit.type = 7;
    g_assert_false(sevsnp_handle_vmgexit_exit(f->svc, 0, &v.u.vmgexit,
                                              &ksim_mem_ops, f->mem));
    g_assert_cmpuint(v.u.vmgexit.req_certs.ret, ==,
                     SEVSNP_VMGEXIT_RET_GENERIC);
    g_assert_cmpuint(stats(f).errors, ==, 2);
}

/* ---- hostile input ---- */

static void expect_hostile(Fixture *f, SevsnpAbi abi, uint64_t gpa,
                           uint64_t npages, const char *needle)
{
    KSimVcpu v;
    g_autofree char *e = NULL;

    ksim_vcpu_init(&v, 0, abi, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, gpa, npages), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_GENERIC);
    g_assert_true(ksim_mem_untouched_outside(f->mem, 0, 0, FILL));
    g_assert_cmpuint(f->mem->violations, ==, 0);
    g_assert_cmpuint(f->mem->writes, ==, 0);
    g_assert_false(sevsnp_service_in_flight(f->svc, 0));
    e = sevsnp_service_last_error(f->svc);
    if (!strstr(e, needle)) {
        g_error("'%s' lacks '%s'", e, needle);
    }
}

static void test_hostile(Fixture *f, gconstpointer data)
{
    for (int abi = 0; abi < 2; abi++) {
        expect_hostile(f, abi, BASE + 8, 4, "not 4 KiB aligned");
        expect_hostile(f, abi, BASE, UINT64_MAX >> 12, "overflows");
        expect_hostile(f, abi, UINT64_MAX & ~0xfffULL, 2, "overflows");
        expect_hostile(f, abi, BASE, NPAGES + 1, "not entirely shared");
        expect_hostile(f, abi, 0, 4, "not entirely shared");
        expect_hostile(f, abi, BASE + (NPAGES - 1) * 4096ULL, 2,
                       "not entirely shared");
    }
    /* A private page and an MMIO page inside the buffer. */
    ksim_mem_set_kind(f->mem, BASE + 2 * 4096, 1, KSIM_PAGE_PRIVATE);
    expect_hostile(f, SEVSNP_ABI_REQ_CERTS, BASE, 4, "not entirely shared");
    ksim_mem_set_kind(f->mem, BASE + 2 * 4096, 1, KSIM_PAGE_SHARED);
    ksim_mem_set_kind(f->mem, BASE + 3 * 4096, 1, KSIM_PAGE_MMIO);
    expect_hostile(f, SEVSNP_ABI_VMGEXIT, BASE, 4, "not entirely shared");
    /* Even a too-small buffer in private memory is an error, not ENOSPC. */
    ksim_mem_set_kind(f->mem, BASE, 1, KSIM_PAGE_PRIVATE);
    expect_hostile(f, SEVSNP_ABI_REQ_CERTS, BASE, 1, "not entirely shared");
    g_assert_cmpuint(stats(f).errors, ==, 15);
    g_assert_cmpuint(stats(f).served, ==, 0);
}

/* ---- completions ---- */

static void test_spurious_and_overlapping(Fixture *f, gconstpointer data)
{
    GError *err = NULL;
    SevsnpReqResult r;

    g_assert_false(sevsnp_service_complete(f->svc, 5));
    g_assert_cmpuint(stats(f).spurious_completions, ==, 1);

    r = sevsnp_service_request(f->svc, 5, BASE, 4, &ksim_mem_ops, f->mem,
                               &err);
    g_assert_no_error(err);
    g_assert_cmpint(r.outcome, ==, SEVSNP_REQ_OK);
    g_assert_true(ksim_lock_blocked(f->path, true, true));
    /* A second request without completion: the stale one is released. */
    r = sevsnp_service_request(f->svc, 5, BASE, 4, &ksim_mem_ops, f->mem,
                               &err);
    g_assert_no_error(err);
    g_assert_cmpuint(stats(f).overlapping_requests, ==, 1);
    g_assert_cmpuint(stats(f).in_flight, ==, 1);
    g_assert_true(sevsnp_service_complete(f->svc, 5));
    g_assert_false(ksim_lock_blocked(f->path, true, true));
    g_assert_cmpuint(stats(f).in_flight, ==, 0);
}

static void test_free_with_in_flight(Fixture *f, gconstpointer data)
{
    SevsnpReqResult r = sevsnp_service_request(f->svc, 2, BASE, 4,
                                               &ksim_mem_ops, f->mem, NULL);

    g_assert_cmpint(r.outcome, ==, SEVSNP_REQ_OK);
    g_assert_true(ksim_lock_blocked(f->path, true, true));
    sevsnp_service_free(f->svc);
    f->svc = sevsnp_service_new(NULL, 0, 0, 0);
    g_assert_false(ksim_lock_blocked(f->path, true, true));
}

/* ---- configuration ---- */

static void test_disabled_serves_empty(Fixture *f, gconstpointer data)
{
    KSimVcpu v;
    static const uint8_t zero[24];

    g_assert_true(sevsnp_service_set_path(f->svc, "", NULL));
    g_assert_null(sevsnp_service_get_path(f->svc));
    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 1), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_cmpmem(ksim_mem_ptr(f->mem, BASE), 24, zero, 24);
    g_assert_true(ksim_mem_untouched_outside(f->mem, BASE, 24, FILL));
}

static void test_set_path_validates(Fixture *f, gconstpointer data)
{
    g_autoptr(GBytes) junk = g_bytes_new_static("not a table", 11);
    g_autofree char *bad = test_write_tmp(junk, "bad.bin");
    g_autofree char *cur = NULL;
    GError *err = NULL;

    g_assert_false(sevsnp_service_set_path(f->svc, bad, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_NO_TERMINATOR);
    g_clear_error(&err);
    g_assert_false(sevsnp_service_set_path(f->svc, "/nonexistent/x", &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO);
    g_clear_error(&err);
    /* The old file stays in service. */
    cur = sevsnp_service_get_path(f->svc);
    g_assert_cmpstr(cur, ==, f->path);
    unlink(bad);
}

static void test_rate_limit(Fixture *f, gconstpointer data)
{
    SevsnpRateLimit rl;
    KSimVcpu v;
    int ok = 0, limited = 0;

    /* The bucket on its own, with a fake clock. */
    sevsnp_rate_limit_init(&rl, 10, 3, 0);
    for (int i = 0; i < 3; i++) {
        g_assert_true(sevsnp_rate_limit_take(&rl, 0));
    }
    g_assert_false(sevsnp_rate_limit_take(&rl, 0));
    g_assert_false(sevsnp_rate_limit_take(&rl, 50000));   /* 0.5 token */
    g_assert_true(sevsnp_rate_limit_take(&rl, 100000));   /* 1 token */
    g_assert_false(sevsnp_rate_limit_take(&rl, 100000));
    /* Refill is capped at the burst. */
    for (int i = 0; i < 3; i++) {
        g_assert_true(sevsnp_rate_limit_take(&rl, 100000000));
    }
    g_assert_false(sevsnp_rate_limit_take(&rl, 100000000));
    sevsnp_rate_limit_init(&rl, 0, 0, 0);
    for (int i = 0; i < 1000; i++) {
        g_assert_true(sevsnp_rate_limit_take(&rl, 0));
    }

    /* Through the service: a burst of 2 at 1/s. */
    sevsnp_service_set_rate_limit(f->svc, 1, 2);
    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    for (int i = 0; i < 5; i++) {
        g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
        if (v.guest_result == SEVSNP_GUEST_OK) {
            ok++;
        } else {
            g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_BUSY);
            limited++;
        }
    }
    g_assert_cmpint(ok, ==, 2);
    g_assert_cmpint(limited, ==, 3);
    g_assert_cmpuint(stats(f).rate_limited, ==, 3);
    /* Off again at run time. */
    sevsnp_service_set_rate_limit(f->svc, 0, 0);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
}

/* ---- many vCPUs ---- */

typedef struct ThreadArg {
    Fixture *f;
    uint32_t index;
    int ok;
} ThreadArg;

static void check_fw_sees_blob(KSimVcpu *v, void *opaque)
{
    ThreadArg *a = opaque;
    gsize len;
    const uint8_t *b = g_bytes_get_data(a->f->blob, &len);
    uint64_t gpa = BASE + (uint64_t)a->index * 4 * 4096;

    /*
     * At signing time the guest buffer has the blob, and the lock is
     * still held.
     */
    g_assert_cmpmem(ksim_mem_ptr(v->mem, gpa), len, b, len);
    g_assert_true(sevsnp_service_in_flight(a->f->svc, a->index));
}

static gpointer vcpu_thread(gpointer p)
{
    ThreadArg *a = p;
    KSimVcpu v;

    ksim_vcpu_init(&v, a->index, a->index % 2 ? SEVSNP_ABI_VMGEXIT :
                   SEVSNP_ABI_REQ_CERTS, a->f->mem);
    v.fw_hook = check_fw_sees_blob;
    v.fw_hook_opaque = a;
    for (int i = 0; i < 200; i++) {
        g_assert_cmpint(ksim_guest_roundtrip(&v, a->f->svc,
                                             BASE + a->index * 4 * 4096ULL,
                                             4), ==, 0);
        a->ok += v.guest_result == SEVSNP_GUEST_OK;
    }
    return NULL;
}

static void test_many_vcpus(Fixture *f, gconstpointer data)
{
    enum { N = 8 };
    GThread *th[N];
    ThreadArg args[N];
    SevsnpStats s;

    for (int i = 0; i < N; i++) {
        args[i] = (ThreadArg){ .f = f, .index = i };
        th[i] = g_thread_new("vcpu", vcpu_thread, &args[i]);
    }
    for (int i = 0; i < N; i++) {
        g_thread_join(th[i]);
        g_assert_cmpint(args[i].ok, ==, 200);
    }
    s = stats(f);
    g_assert_cmpuint(s.requests, ==, N * 200);
    g_assert_cmpuint(s.served, ==, N * 200);
    g_assert_cmpuint(s.completions, ==, N * 200);
    g_assert_cmpuint(s.in_flight, ==, 0);
    g_assert_false(ksim_lock_blocked(f->path, true, true));
    g_assert_cmpuint(f->mem->violations, ==, 0);
}


/* ---- one descriptor per vCPU: changes are noticed ---- */

/* Set mtime far in the past (ctime becomes now). */
static void set_old_mtime(const char *path)
{
    struct timespec ts[2] = { { .tv_sec = 1000000000 },
                              { .tv_sec = 1000000000 } };

    g_assert_cmpint(utimensat(AT_FDCWD, path, ts, 0), ==, 0);
}

static bool guest_has(Fixture *f, GBytes *blob)
{
    gsize len;
    const uint8_t *b = g_bytes_get_data(blob, &len);

    return !memcmp(ksim_mem_ptr(f->mem, BASE), b, len);
}

static void test_rename_over_noticed(Fixture *f, gconstpointer data)
{
    g_autoptr(TestChain) c = test_chain_new("Renamed", -1, 30);
    g_autoptr(GBytes) other = test_chain_blob(c);
    g_autofree char *dir = g_path_get_dirname(f->path);
    g_autofree char *tmp = g_build_filename(dir, "new.bin", NULL);
    KSimVcpu v;

    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_true(guest_has(f, f->blob));

    /* A new file renamed over the path; the vCPU's descriptor is old. */
    g_assert_true(g_file_set_contents(tmp, g_bytes_get_data(other, NULL),
                                      g_bytes_get_size(other), NULL));
    set_old_mtime(tmp);
    g_assert_cmpint(rename(tmp, f->path), ==, 0);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_true(guest_has(f, other));
    /* The locks are on the new file now. */
    g_assert_false(ksim_lock_blocked(f->path, true, true));
}

static void test_changed_file_revalidated(Fixture *f, gconstpointer data)
{
    gsize len;
    const uint8_t *b = g_bytes_get_data(f->blob, &len);
    g_autoptr(GBytes) torn = g_bytes_new(b, len - 100);
    g_autofree char *e = NULL;
    KSimVcpu v;

    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);

    /*
     * Torn in place (same inode): never served, the old table neither;
     * the guest gets an empty table.
     */
    test_rewrite_in_place(f->path, torn);
    memset(ksim_mem_ptr(f->mem, BASE), FILL, 4 * 4096);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    assert_chainless(f, &v, BASE, 4);
    e = sevsnp_service_last_error(f->svc);
    g_assert_nonnull(strstr(e, f->path));

    /* Fixed in place: served again. */
    test_rewrite_in_place(f->path, f->blob);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
    g_assert_true(guest_has(f, f->blob));
}

/* ---- never blocking a main loop ---- */

static int stop_flag;

static bool interrupt_check(void *opaque, uint32_t vcpu)
{
    return g_atomic_int_get((int *)opaque) != 0;
}

static gpointer set_stop_later(gpointer p)
{
    g_usleep(50 * 1000);
    g_atomic_int_set((int *)p, 1);
    return NULL;
}

static void test_interrupted_wait(Fixture *f, gconstpointer data)
{
    KSimVcpu v;
    int rel;
    pid_t pid = hold_lock(f->path, true, &rel);
    GThread *th;
    int64_t t0, waited;

    g_assert_true(sevsnp_service_set_timeout(f->svc, 5000, NULL));
    stop_flag = 0;
    sevsnp_service_set_interrupt(f->svc, interrupt_check, &stop_flag);
    th = g_thread_new("stop", set_stop_later, &stop_flag);
    t0 = g_get_monotonic_time();
    ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    waited = g_get_monotonic_time() - t0;
    g_thread_join(th);
    /* BUSY as soon as asked (50 ms), not after the 5 s time-out. */
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_BUSY);
    g_assert_cmpint(waited, >=, 45 * 1000);
    g_assert_cmpint(waited, <, 1000 * 1000);
    g_assert_cmpuint(stats(f).interrupted, ==, 1);
    g_assert_cmpuint(stats(f).busy, ==, 1);
    /* While the flag is up a request does not wait at all. */
    t0 = g_get_monotonic_time();
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_BUSY);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 50 * 1000);
    release_lock(pid, rel);
    g_atomic_int_set(&stop_flag, 0);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
    g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
}

static void test_timeout_bound(Fixture *f, gconstpointer data)
{
    GError *err = NULL;
    SevsnpService *svc;

    g_assert_true(sevsnp_check_timeout(SEVSNP_TIMEOUT_MAX_MS, NULL));
    g_assert_false(sevsnp_check_timeout(SEVSNP_TIMEOUT_MAX_MS + 1, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "10000 ms"));
    g_clear_error(&err);
    g_assert_false(sevsnp_service_set_timeout(f->svc, G_MAXUINT, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_cmpuint(sevsnp_service_get_timeout(f->svc), ==, 100);
    g_assert_true(sevsnp_service_set_timeout(f->svc, 10000, &err));
    g_assert_cmpuint(sevsnp_service_get_timeout(f->svc), ==, 10000);
    svc = sevsnp_service_new(NULL, 4294967295u, 0, 0);
    g_assert_cmpuint(sevsnp_service_get_timeout(svc), ==,
                     SEVSNP_TIMEOUT_MAX_MS);
    sevsnp_service_free(svc);
}

static void test_peek_never_waits(Fixture *f, gconstpointer data)
{
    GError *err = NULL;
    SevsnpCertTable *t;
    bool busy;
    int rel;
    pid_t pid;
    int64_t t0;

    g_assert_true(sevsnp_service_set_timeout(f->svc, 5000, NULL));
    t = sevsnp_service_try_peek(f->svc, &busy, &err);
    g_assert_no_error(err);
    g_assert_false(busy);
    g_assert_true(g_bytes_equal(sevsnp_cert_table_get_blob(t), f->blob));
    sevsnp_cert_table_unref(t);

    pid = hold_lock(f->path, false, &rel);
    t0 = g_get_monotonic_time();
    /* What is known, and "busy", at once. */
    t = sevsnp_service_try_peek(f->svc, &busy, &err);
    g_assert_no_error(err);
    g_assert_true(busy);
    g_assert_nonnull(t);
    g_assert_true(g_bytes_equal(sevsnp_cert_table_get_blob(t), f->blob));
    sevsnp_cert_table_unref(t);
    g_assert_null(sevsnp_service_peek_table(f->svc, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BUSY);
    g_clear_error(&err);
    /* A new file under an updater's lock fails at once, clearly. */
    g_assert_false(sevsnp_service_set_path(f->svc, f->path, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BUSY);
    g_assert_nonnull(strstr(err->message, f->path));
    g_clear_error(&err);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 200 * 1000);
    release_lock(pid, rel);
}

/* ---- fairness ---- */

typedef struct Flood {
    Fixture *f;
    uint32_t index;
    int *stop;
} Flood;

static gpointer flood_thread(gpointer p)
{
    Flood *fl = p;
    KSimMem *mem = ksim_mem_new(BASE, 4, FILL);
    KSimVcpu v;

    ksim_vcpu_init(&v, fl->index, SEVSNP_ABI_REQ_CERTS, mem);
    while (!g_atomic_int_get(fl->stop)) {
        g_assert_cmpint(ksim_guest_roundtrip(&v, fl->f->svc, BASE, 4), ==, 0);
    }
    ksim_mem_free(mem);
    return NULL;
}

/*
 * An updater gets the exclusive locks while requesters run flat out:
 * within a bounded number of requests served meanwhile (the intent byte
 * stops them), each time.
 */
static void test_updater_not_starved(Fixture *f, gconstpointer data)
{
    enum { N = 4, ROUNDS = 20 };
    GThread *th[N];
    Flood fl[N];
    int stop = 0;
    uint64_t worst = 0;

    for (int i = 0; i < N; i++) {
        fl[i] = (Flood){ .f = f, .index = i, .stop = &stop };
        th[i] = g_thread_new("flood", flood_thread, &fl[i]);
    }
    g_usleep(20 * 1000);
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t before = stats(f).served;
        int fd = sevsnp_open_locked(f->path, false, true, 2000, NULL);

        g_assert_cmpint(fd, >=, 0);
        worst = MAX(worst, stats(f).served - before);
        close(fd);
        g_usleep(2000);
    }
    g_atomic_int_set(&stop, 1);
    for (int i = 0; i < N; i++) {
        g_thread_join(th[i]);
    }
    g_test_message("most requests served during one updater wait: %"
                   G_GUINT64_FORMAT, worst);
    g_assert_cmpuint(worst, <, 20000);
}

/* ---- the answer policy: what a Linux guest survives ---- */

/*
 * A request of 0 pages is a size probe (the sev crate starts every
 * extended report so): INVALID_LEN with the pages the blob needs, and
 * nothing is written, wherever the buffer is; with nothing to give,
 * success and nothing written.
 */
static void test_size_probe(Fixture *f, gconstpointer data)
{
    static const uint64_t anywhere[] = {
        BASE, BASE + 8, 0, UINT64_MAX & ~0xfffULL, BASE + NPAGES * 4096ULL,
    };
    KSimVcpu v;

    for (int abi = 0; abi < 2; abi++) {
        for (size_t i = 0; i < G_N_ELEMENTS(anywhere); i++) {
            if (abi == SEVSNP_ABI_REQ_CERTS && (anywhere[i] & 0xfff)) {
                continue;       /* mainline KVM refuses it itself */
            }
            ksim_vcpu_init(&v, 0, abi, f->mem);
            g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, anywhere[i],
                                                 0), ==, 0);
            g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_INVALID_LEN);
            g_assert_cmpuint(v.guest_npages, ==, f->need);
            g_assert_cmpuint(f->mem->writes, ==, 0);
            g_assert_false(sevsnp_service_in_flight(f->svc, 0));
            g_assert_false(ksim_lock_blocked(f->path, true, true));
        }
    }
    g_assert_cmpuint(stats(f).too_small, ==, 9);
    g_assert_cmpuint(stats(f).errors, ==, 0);

    /* The blob gone: nothing to give, success, nothing written. */
    unlink(f->path);
    for (int abi = 0; abi < 2; abi++) {
        ksim_vcpu_init(&v, 1, abi, f->mem);
        g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, 0, 0), ==, 0);
        assert_chainless(f, &v, 0, 0);
        g_assert_cmpuint(f->mem->writes, ==, 0);
    }
    g_assert_cmpuint(stats(f).host_faults, ==, 2);

    /* Serving off: the same. */
    g_assert_true(sevsnp_service_set_path(f->svc, NULL, NULL));
    ksim_vcpu_init(&v, 2, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 0), ==, 0);
    assert_chainless(f, &v, 0, 0);
    g_assert_cmpuint(f->mem->writes, ==, 0);
    g_assert_cmpuint(stats(f).errors, ==, 0);
}

/* Put a FIFO, a directory, ... where the blob was. */
static void replace_with(Fixture *f, const char *what)
{
    g_autofree char *dir = g_path_get_dirname(f->path);
    g_autofree char *tmp = g_build_filename(dir, "replacement", NULL);

    if (!strcmp(what, "fifo")) {
        g_assert_cmpint(mkfifo(tmp, 0644), ==, 0);
        g_assert_cmpint(rename(tmp, f->path), ==, 0);
    } else if (!strcmp(what, "directory")) {
        g_assert_cmpint(unlink(f->path), ==, 0);
        g_assert_cmpint(mkdir(f->path, 0755), ==, 0);
    } else if (!strcmp(what, "deleted")) {
        g_assert_cmpint(unlink(f->path), ==, 0);
    } else {
        gsize len;
        const uint8_t *b = g_bytes_get_data(f->blob, &len);
        g_autofree uint8_t *bad = NULL;
        g_autoptr(GBytes) nb = NULL;

        if (!strcmp(what, "truncated")) {
            nb = g_bytes_new(b, len / 2);
        } else if (!strcmp(what, "corrupted")) {
            /* Same size, in place: a DER header of the ASK destroyed. */
            SevsnpCertTable *t = sevsnp_cert_table_parse(f->blob, 0, NULL);
            const SevsnpCertEntry *e = sevsnp_cert_table_find(
                t, SEVSNP_CERT_ASK);

            bad = g_memdup2(b, len);
            memset(bad + e->offset, 0x5a, 16);
            nb = g_bytes_new(bad, len);
            sevsnp_cert_table_unref(t);
        } else if (!strcmp(what, "resigned")) {
            /*
             * Same size, in place, still well-formed: 16 bytes of the
             * VCEK's signature value (its DER's last bytes) changed.
             */
            SevsnpCertTable *t = sevsnp_cert_table_parse(f->blob, 0, NULL);
            const SevsnpCertEntry *e = sevsnp_cert_table_find(
                t, SEVSNP_CERT_VCEK);
            SevsnpCertTable *again;

            bad = g_memdup2(b, len);
            for (int k = 1; k <= 16; k++) {
                bad[e->offset + e->length - k] ^= 0x5a;
            }
            nb = g_bytes_new(bad, len);
            sevsnp_cert_table_unref(t);
            again = sevsnp_cert_table_parse(nb, 0, NULL);
            g_assert_nonnull(again);
            sevsnp_cert_table_unref(again);
        } else {
            g_assert_cmpstr(what, ==, "oversize");
            bad = g_malloc0(SEVSNP_DEFAULT_MAX_BLOB + 1);
            memcpy(bad, b, len);
            nb = g_bytes_new_take(g_steal_pointer(&bad),
                                  SEVSNP_DEFAULT_MAX_BLOB + 1);
        }
        test_rewrite_in_place(f->path, nb);
    }
}

static void restore(Fixture *f)
{
    struct stat st;

    if (lstat(f->path, &st) == 0 && S_ISDIR(st.st_mode)) {
        g_assert_cmpint(rmdir(f->path), ==, 0);
    } else if (lstat(f->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        g_assert_cmpint(unlink(f->path), ==, 0);
    }
    test_rewrite_in_place(f->path, f->blob);
}

/*
 * Every host-side fault: an empty table and success on both ABIs, named
 * in the counters and the last error; served again once the file is
 * right, without a restart.
 */
static void test_host_faults(Fixture *f, gconstpointer data)
{
    static const struct {
        const char *what, *says;
    } faults[] = {
        { "deleted", "No such file" },
        { "truncated", "" },
        { "fifo", "not a regular file" },
        { "directory", "not a regular file" },
        { "oversize", "exceeds the size cap" },
    };
    uint64_t n = 0;
    KSimVcpu v;

    for (size_t i = 0; i < G_N_ELEMENTS(faults); i++) {
        replace_with(f, faults[i].what);
        for (int abi = 0; abi < 2; abi++) {
            g_autofree char *e = NULL;
            int64_t t0 = g_get_monotonic_time();

            memset(ksim_mem_ptr(f->mem, BASE), FILL, NPAGES * 4096);
            f->mem->writes = 0;
            ksim_vcpu_init(&v, abi, abi, f->mem);
            g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==,
                            0);
            /* Never a wait (a FIFO opened for reading would block). */
            g_assert_cmpint(g_get_monotonic_time() - t0, <, 1000 * 1000);
            assert_chainless(f, &v, BASE, 4);
            e = sevsnp_service_last_error(f->svc);
            if (!strstr(e, f->path) || !strstr(e, faults[i].says)) {
                g_error("%s: last error '%s'", faults[i].what, e);
            }
            n++;
        }
        restore(f);
        memset(ksim_mem_ptr(f->mem, BASE), FILL, NPAGES * 4096);
        ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
        g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
        g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
        g_assert_true(guest_has(f, f->blob));
    }
    g_assert_cmpuint(stats(f).host_faults, ==, n);
    g_assert_cmpuint(stats(f).chainless, ==, n);
    g_assert_cmpuint(stats(f).errors, ==, 0);
}

/*
 * A well-formed table whose entries are not what their signers signed,
 * changed in place: the ASK's DER header destroyed ("corrupted"), 16
 * bytes of the VCEK's signature value changed ("resigned").  QEMU's copy
 * of the library serves the table as the operator installed it, byte for
 * byte: it judges no chain (snp-certs verify and install refuse these,
 * tests/tools).  The standalone library's store refuses them, as a
 * host-side fault: an empty table.
 */
static void test_content_as_installed(Fixture *f, gconstpointer data)
{
    static const struct {
        const char *what, *says;
    } cases[] = {
        { "corrupted", "are not a DER X.509 certificate" },
        { "resigned", "VCEK (SEV-VCEK) is not signed by ASK (SEV-Milan)" },
    };
    uint64_t n = 0;
    KSimVcpu v;

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GBytes) installed = NULL;
        g_autofree char *buf = NULL;
        gsize len;

        replace_with(f, cases[i].what);
        g_assert_true(g_file_get_contents(f->path, &buf, &len, NULL));
        installed = g_bytes_new_take(g_steal_pointer(&buf), len);
        g_assert_false(g_bytes_equal(installed, f->blob));
        for (int abi = 0; abi < 2; abi++) {
            memset(ksim_mem_ptr(f->mem, BASE), FILL, NPAGES * 4096);
            f->mem->writes = 0;
            ksim_vcpu_init(&v, abi, abi, f->mem);
            g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==,
                            0);
#ifdef SEVSNP_HAVE_X509
            {
                g_autofree char *e = sevsnp_service_last_error(f->svc);

                assert_chainless(f, &v, BASE, 4);
                if (!strstr(e, f->path) || !strstr(e, cases[i].says)) {
                    g_error("%s: last error '%s'", cases[i].what, e);
                }
            }
#else
            g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
            g_assert_cmpuint(v.fw_signed, ==, 1);
            g_assert_true(guest_has(f, installed));
            g_assert_true(ksim_mem_untouched_outside(f->mem, BASE, len,
                                                     FILL));
#endif
            n++;
        }
        restore(f);
        memset(ksim_mem_ptr(f->mem, BASE), FILL, NPAGES * 4096);
        ksim_vcpu_init(&v, 0, SEVSNP_ABI_REQ_CERTS, f->mem);
        g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, BASE, 4), ==, 0);
        g_assert_cmpint(v.guest_result, ==, SEVSNP_GUEST_OK);
        g_assert_true(guest_has(f, f->blob));
    }
#ifdef SEVSNP_HAVE_X509
    g_assert_cmpuint(stats(f).host_faults, ==, n);
    g_assert_cmpuint(stats(f).chainless, ==, n);
#else
    g_assert_cmpuint(stats(f).host_faults, ==, 0);
    g_assert_cmpuint(stats(f).chainless, ==, 0);
    g_assert_cmpuint(stats(f).served, ==, n + G_N_ELEMENTS(cases));
#endif
    g_assert_cmpuint(stats(f).errors, ==, 0);
}

/* One request on @vcpu: what the guest got. */
static SevsnpGuestResult ask(Fixture *f, uint32_t vcpu, uint64_t gpa,
                             uint64_t npages)
{
    KSimVcpu v;

    ksim_vcpu_init(&v, vcpu, SEVSNP_ABI_REQ_CERTS, f->mem);
    g_assert_cmpint(ksim_guest_roundtrip(&v, f->svc, gpa, npages), ==, 0);
    if (v.guest_result == SEVSNP_GUEST_OK) {
        g_assert_cmpuint(v.fw_signed, ==, 1);
    }
    return v.guest_result;
}

static bool guest_has_empty_table(Fixture *f)
{
    static const uint8_t zero[SEVSNP_CERT_ENTRY_SIZE];

    return !memcmp(ksim_mem_ptr(f->mem, BASE), zero, sizeof(zero));
}

/*
 * An updater that holds the lock for longer than the busy limit: BUSY
 * until the limit, counted from the first BUSY of the streak, then an
 * empty table; the streak starts again after it.
 */
static void test_busy_limit(Fixture *f, gconstpointer data)
{
    int rel;
    pid_t pid = hold_lock(f->path, true, &rel);
    int64_t t0 = g_get_monotonic_time(), t;
    SevsnpGuestResult r;
    GError *err = NULL;
    int busy = 0;

    g_assert_true(sevsnp_service_set_timeout(f->svc, 50, NULL));
    g_assert_cmpuint(sevsnp_service_get_busy_limit(f->svc), ==,
                     SEVSNP_BUSY_LIMIT_DEFAULT_MS);
    g_assert_false(sevsnp_service_set_busy_limit(
        f->svc, SEVSNP_BUSY_LIMIT_MAX_MS + 1, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_true(sevsnp_service_set_busy_limit(f->svc, 400, NULL));
    while ((r = ask(f, 0, BASE, 4)) == SEVSNP_GUEST_BUSY) {
        busy++;
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * 1000 * 1000);
    }
    t = g_get_monotonic_time() - t0;
    g_assert_cmpint(r, ==, SEVSNP_GUEST_OK);
    g_assert_true(guest_has_empty_table(f));
    g_assert_cmpint(busy, >=, 2);
    /* The limit, not before: waits are cut where it falls. */
    g_assert_cmpint(t, >=, 400 * 1000);
    g_assert_cmpint(t, <, 400 * 1000 + 500 * 1000);
    g_assert_cmpuint(stats(f).busy_limit, ==, 1);
    g_assert_cmpuint(stats(f).busy, ==, busy);
    /* A new streak begins: BUSY again. */
    g_assert_cmpint(ask(f, 0, BASE, 4), ==, SEVSNP_GUEST_BUSY);

    /*
     * The VM's streak: a request that moves to another vCPU is bounded
     * from its first BUSY, not from the new vCPU's.
     */
    g_assert_cmpint(ask(f, 3, BASE, 4), ==, SEVSNP_GUEST_BUSY);
    g_usleep(250 * 1000);
    t0 = g_get_monotonic_time();
    while ((r = ask(f, 4, BASE, 4)) == SEVSNP_GUEST_BUSY) {
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * 1000 * 1000);
    }
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 300 * 1000);
    g_assert_cmpuint(stats(f).busy_limit, ==, 2);

    /*
     * The vCPU's streak: another vCPU's answer ends the VM's streak, not
     * this vCPU's.
     */
    g_assert_cmpint(ask(f, 5, BASE, 4), ==, SEVSNP_GUEST_BUSY);
    g_usleep(250 * 1000);
    g_assert_cmpint(ask(f, 6, 0, 4), ==, SEVSNP_GUEST_GENERIC);
    t0 = g_get_monotonic_time();
    while ((r = ask(f, 5, BASE, 4)) == SEVSNP_GUEST_BUSY) {
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * 1000 * 1000);
    }
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 300 * 1000);
    g_assert_cmpuint(stats(f).busy_limit, ==, 3);

    /* 0: never BUSY, an empty table once the lock wait is over. */
    g_assert_true(sevsnp_service_set_busy_limit(f->svc, 0, NULL));
    t0 = g_get_monotonic_time();
    g_assert_cmpint(ask(f, 7, BASE, 4), ==, SEVSNP_GUEST_OK);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 50 * 1000);
    g_assert_true(guest_has_empty_table(f));
    release_lock(pid, rel);

    /* The lock gone, the chain again. */
    g_assert_cmpint(ask(f, 0, BASE, 4), ==, SEVSNP_GUEST_OK);
    g_assert_true(guest_has(f, f->blob));
    g_assert_cmpuint(stats(f).chainless, ==, 4);
    g_assert_cmpuint(stats(f).errors, ==, 1);
}

/* A flood over the rate limit: BUSY, bounded the same way. */
static void test_rate_limit_bounded(Fixture *f, gconstpointer data)
{
    int64_t t0 = g_get_monotonic_time();
    int busy = 0, empty = 0;

    g_assert_true(sevsnp_service_set_busy_limit(f->svc, 200, NULL));
    sevsnp_service_set_rate_limit(f->svc, 1, 1);
    g_assert_cmpint(ask(f, 0, BASE, 4), ==, SEVSNP_GUEST_OK);
    while (g_get_monotonic_time() - t0 < 700 * 1000) {
        SevsnpGuestResult r = ask(f, 0, BASE, 4);

        if (r == SEVSNP_GUEST_BUSY) {
            busy++;
            continue;
        }
        g_assert_cmpint(r, ==, SEVSNP_GUEST_OK);
        if (guest_has_empty_table(f)) {
            empty++;
        }
        g_usleep(1000);
    }
    /*
     * At most one empty table per limit, the rest BUSY: the flood stays
     * off the file and the firmware.
     */
    g_assert_cmpint(empty, >=, 2);
    g_assert_cmpint(empty, <=, 4);
    g_assert_cmpint(busy, >, 10 * empty);
    g_assert_cmpuint(stats(f).busy_limit, ==, empty);
    g_assert_cmpuint(stats(f).errors, ==, 0);
}

typedef struct Waiter {
    Fixture *f;
    SevsnpGuestResult result;
    int64_t waited;
} Waiter;

static gpointer waiting_request(gpointer p)
{
    Waiter *w = p;
    int64_t t0 = g_get_monotonic_time();

    w->result = ask(w->f, 1, BASE, 4);
    w->waited = g_get_monotonic_time() - t0;
    return NULL;
}

/*
 * sevsnp_service_set_path() is a barrier: a request waiting for the old
 * file's lock when it returns is answered from the new file, never the
 * old one, even once the old lock is free.
 */
static void test_set_path_barrier(Fixture *f, gconstpointer data)
{
    g_autoptr(TestChain) c = test_chain_new("Barrier", -1, 30);
    g_autoptr(GBytes) other = test_chain_blob(c);
    g_autofree char *path2 = test_write_tmp(other, "other.bin");
    g_autofree char *dir2 = g_path_get_dirname(path2);
    Waiter w = { .f = f };
    GThread *th;
    int rel;
    pid_t pid = hold_lock(f->path, true, &rel);

    g_assert_true(sevsnp_service_set_timeout(f->svc, 5000, NULL));
    th = g_thread_new("waiter", waiting_request, &w);
    g_usleep(100 * 1000);
    g_assert_true(sevsnp_service_set_path(f->svc, path2, NULL));
    /* The old file's lock goes away right after: too late for it. */
    release_lock(pid, rel);
    g_thread_join(th);
    g_assert_cmpint(w.result, ==, SEVSNP_GUEST_OK);
    g_assert_true(guest_has(f, other));
    g_assert_cmpint(w.waited, <, 2 * 1000 * 1000);
    unlink(path2);
    rmdir(dir2);
}

/*
 * Opened before a privilege drop: a blob only root can read is served to
 * the dropped process, monitors included; a replacement it cannot open
 * is a host-side fault, with the reason.
 */
static void test_preopen_privilege_drop(Fixture *f, gconstpointer data)
{
    g_autoptr(TestChain) c = test_chain_new("Dropped", -1, 30);
    g_autoptr(GBytes) other = test_chain_blob(c);
    g_autofree char *dir = g_path_get_dirname(f->path);
    g_autofree char *tmp = g_build_filename(dir, "new.bin", NULL);
    GError *err = NULL;
    SevsnpCertTable *t;
    bool busy;
    pid_t pid;
    int status;

    if (geteuid() != 0) {
        g_test_skip("needs root to drop privileges");
        return;
    }
    g_assert_cmpint(chmod(dir, 0755), ==, 0);
    g_assert_cmpint(chmod(f->path, 0600), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        g_assert_true(sevsnp_service_preopen(f->svc, 4, &err));
        g_assert_no_error(err);
        /* As QEMU's -run-with user=nobody, the saved uid kept to test. */
        g_assert_cmpint(setresgid(65534, 65534, 0), ==, 0);
        g_assert_cmpint(setresuid(65534, 65534, 0), ==, 0);
        g_assert_cmpint(open(f->path, O_RDONLY), <, 0);
        for (uint32_t i = 0; i < 4; i++) {
            g_assert_cmpint(ask(f, i, BASE, 4), ==, SEVSNP_GUEST_OK);
            g_assert_true(guest_has(f, f->blob));
        }
        t = sevsnp_service_try_peek(f->svc, &busy, &err);
        g_assert_no_error(err);
        g_assert_true(g_bytes_equal(sevsnp_cert_table_get_blob(t),
                                    f->blob));
        sevsnp_cert_table_unref(t);

        /* An in-place update (as snp-certs install does) is served. */
        g_assert_cmpint(seteuid(0), ==, 0);
        test_rewrite_in_place(f->path, other);
        g_assert_cmpint(seteuid(65534), ==, 0);
        g_assert_cmpint(ask(f, 0, BASE, 4), ==, SEVSNP_GUEST_OK);
        g_assert_true(guest_has(f, other));

        /* Replaced by rename with a file nobody cannot open. */
        g_assert_cmpint(seteuid(0), ==, 0);
        g_assert_true(g_file_set_contents(tmp,
                                          g_bytes_get_data(f->blob, NULL),
                                          g_bytes_get_size(f->blob), NULL));
        g_assert_cmpint(chmod(tmp, 0600), ==, 0);
        g_assert_cmpint(rename(tmp, f->path), ==, 0);
        g_assert_cmpint(seteuid(65534), ==, 0);
        g_assert_cmpint(ask(f, 1, BASE, 4), ==, SEVSNP_GUEST_OK);
        g_assert_true(guest_has_empty_table(f));
        {
            g_autofree char *e = sevsnp_service_last_error(f->svc);

            g_assert_nonnull(strstr(e, "Permission denied"));
        }
        g_assert_cmpuint(stats(f).host_faults, ==, 1);
        _exit(0);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    chmod(dir, 0700);
}

/*
 * Change detection: where the file system stamps times with a clock of
 * its own (NFS, FUSE), the bytes are compared on every request; where
 * this kernel stamps them, a file unchanged for 2 s is trusted on its
 * metadata.
 */
static void test_foreign_clock(Fixture *f, gconstpointer data)
{
    for (int trust = 0; trust < 2; trust++) {
        SevsnpCertStore *s = sevsnp_cert_store_new(f->path, 0);

        sevsnp_cert_store_trust_ctime(s, trust);
        if (trust) {
            /* The racy window: the file must be older than 2 s. */
            g_usleep(2100 * 1000);
        }
        for (int i = 0; i < 5; i++) {
            SevsnpCertLease *l = sevsnp_cert_store_acquire(s, 0, NULL);

            g_assert_nonnull(l);
            g_assert_true(g_bytes_equal(
                sevsnp_cert_table_get_blob(sevsnp_cert_lease_get_table(l)),
                f->blob));
            sevsnp_cert_lease_release(l);
        }
        g_assert_cmpuint(sevsnp_cert_store_parse_count(s), ==, 1);
        g_assert_cmpuint(sevsnp_cert_store_byte_compares(s), ==,
                         trust ? 1 : 5);
        sevsnp_cert_store_free(s);
    }
}

/*
 * The fairness gap (a pause the store makes under load, so that a
 * third-party updater blocked in F_OFD_SETLKW gets in) is waited out
 * whatever the lock timeout: with nobody holding the lock, a flood with
 * certs-timeout 0 and the busy limit 0 gets the chain every time, even
 * while a request in flight keeps the gap from draining.  fuzz-service
 * found the empty tables this used to give.
 */
static void test_fairness_gap_not_busy(Fixture *f, gconstpointer data)
{
    SevsnpReqResult r;

    g_assert_true(sevsnp_service_set_timeout(f->svc, 0, NULL));
    g_assert_true(sevsnp_service_set_busy_limit(f->svc, 0, NULL));
    r = sevsnp_service_request(f->svc, 9, BASE, 4, &ksim_mem_ops, f->mem,
                               NULL);
    g_assert_cmpint(r.outcome, ==, SEVSNP_REQ_OK);
    for (int i = 0; i < 200; i++) {
        g_assert_cmpint(ask(f, 0, BASE, 4), ==, SEVSNP_GUEST_OK);
        g_assert_true(guest_has(f, f->blob));
    }
    g_assert_cmpuint(stats(f).busy, ==, 0);
    g_assert_cmpuint(stats(f).chainless, ==, 0);
    g_assert_true(sevsnp_service_complete(f->svc, 9));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
/* QEMU's copy of libsevsnp: the same tests, named apart. */
#ifdef SEVSNP_HAVE_X509
#define PREFIX "/service/"
#else
#define PREFIX "/service-qemu/"
#endif
#define ADD(name, fn) \
    g_test_add(PREFIX name, Fixture, NULL, fixture_setup, fn, \
               fixture_teardown)
    ADD("mainline/ok", test_mainline_ok);
    ADD("mainline/too-small", test_mainline_too_small);
    ADD("mainline/host-fault", test_mainline_host_fault);
    ADD("mainline/busy-ofd", test_mainline_busy_ofd);
    ADD("mainline/busy-flock", test_mainline_busy_flock);
    ADD("mainline/reserved-ret", test_mainline_reserved_ret_rejected);
    ADD("mainline/zero-timeout", test_zero_timeout_single_try);
    ADD("legacy/ok", test_legacy_ok);
    ADD("legacy/too-small", test_legacy_too_small);
    ADD("legacy/generic", test_legacy_generic);
    ADD("legacy/busy-ofd", test_legacy_busy_ofd);
    ADD("legacy/busy-flock", test_legacy_busy_flock);
    ADD("hostile", test_hostile);
    ADD("spurious-and-overlapping", test_spurious_and_overlapping);
    ADD("free-with-in-flight", test_free_with_in_flight);
    ADD("disabled-serves-empty", test_disabled_serves_empty);
    ADD("set-path-validates", test_set_path_validates);
    ADD("rate-limit", test_rate_limit);
    ADD("many-vcpus", test_many_vcpus);
    ADD("rename-over-noticed", test_rename_over_noticed);
    ADD("changed-file-revalidated", test_changed_file_revalidated);
    ADD("interrupted-wait", test_interrupted_wait);
    ADD("timeout-bound", test_timeout_bound);
    ADD("peek-never-waits", test_peek_never_waits);
    ADD("updater-not-starved", test_updater_not_starved);
    ADD("policy/size-probe", test_size_probe);
    ADD("policy/host-faults", test_host_faults);
    ADD("policy/content-as-installed", test_content_as_installed);
    ADD("policy/busy-limit", test_busy_limit);
    ADD("policy/rate-limit-bounded", test_rate_limit_bounded);
    ADD("policy/set-path-barrier", test_set_path_barrier);
    ADD("policy/preopen-privilege-drop", test_preopen_privilege_drop);
    ADD("policy/foreign-clock", test_foreign_clock);
    ADD("policy/fairness-gap-not-busy", test_fairness_gap_not_busy);
    return g_test_run();
}
