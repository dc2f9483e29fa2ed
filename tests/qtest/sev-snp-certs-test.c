/*
 * qtest for the SEV-SNP certificate service of sev-snp-guest
 *
 * Runs the handler a KVM exit runs through x-sev-snp-inject-req-certs
 * against the machine's guest RAM, and checks what the kernel would read,
 * the bytes in guest memory, the locks, QMP and events.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include <sys/file.h>
#include <sys/wait.h>

#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "libsevsnp.h"
#include "ksim.h"

#define BUF_GPA ((uint64_t)0x200000)
#define FILL    0xcc

static char *tmpdir;

/* The real AMD Milan chain as a blob. */
static GBytes *milan_blob(void)
{
    const char *dir = g_getenv("QEMU_SNP_TESTDATA");
    g_autofree char *ark = g_build_filename(dir, "milan-ark.pem", NULL);
    g_autofree char *ask = g_build_filename(dir, "milan-ask.pem", NULL);
    g_autofree char *vcek = g_build_filename(dir, "milan-vcek.der", NULL);
    const SevsnpCertFile files[] = {
        { SEVSNP_CERT_ARK, NULL, ark },
        { SEVSNP_CERT_ASK, NULL, ask },
        { SEVSNP_CERT_VCEK, NULL, vcek },
    };
    GError *err = NULL;
    GBytes *b;

    g_assert_nonnull(dir);
    b = sevsnp_cert_table_build_files(files, 3, &err);
    g_assert_no_error(err);
    return b;
}

static char *write_file(const char *name, const void *data, size_t len)
{
    char *path = g_build_filename(tmpdir, name, NULL);

    g_assert_true(g_file_set_contents(path, data, len, NULL));
    return path;
}

/* Debian's SeaBIOS: the +ds QEMU source ships no firmware. */
static char *write_blob(const char *name, GBytes *blob)
{
    return write_file(name, g_bytes_get_data(blob, NULL),
                      g_bytes_get_size(blob));
}

static const char *firmware_dir(void)
{
    const char *d = g_getenv("QEMU_SNP_FIRMWARE_DIR");

    return d ? d : "/usr/share/seabios";
}

/*
 * Guest RAM starts private, as KVM sets guest_memfd memory at launch; the
 * guest makes its certificate buffer shared (a page state change, that
 * is KVM_HC_MAP_GPA_RANGE) before asking, as a Linux guest does.
 */
static void make_shared(QTestState *qts, uint64_t gpa, uint64_t npages)
{
    g_autoptr(QDict) r = qtest_qmp_assert_success_ref(qts,
        "{'execute': 'x-sev-snp-inject-map-gpa-range', 'arguments': {"
        "'gpa': %" PRIu64 ", 'npages': %" PRIu64 ", 'private': false}}",
        gpa, npages);

    g_assert_cmpuint(qdict_get_int(r, "ret"), ==, 0);
}

static QTestState *start_timeout(const char *path, const char *abi,
                                 unsigned timeout_ms)
{
    QTestState *qts =
        qtest_initf("-machine q35 -accel qtest -m 256M -smp 2 -nodefaults "
                    "-L %s -object sev-snp-guest,id=sev0,cbitpos=51,"
                    "reduced-phys-bits=1,certs-path=%s,certs-abi=%s,"
                    "certs-timeout=%u", firmware_dir(), path, abi,
                    timeout_ms);

    make_shared(qts, BUF_GPA, 8);
    return qts;
}

static QTestState *start(const char *path, const char *abi)
{
    return start_timeout(path, abi, 100);
}

static QDict *inject(QTestState *qts, int cpu, uint64_t gpa, uint64_t npages,
                     bool hold)
{
    return qtest_qmp_assert_success_ref(qts,
        "{'execute': 'x-sev-snp-inject-req-certs', 'arguments': {"
        "'cpu-index': %d, 'gpa': %" PRIu64 ", 'npages': %" PRIu64
        ", 'hold': %i}}", cpu, gpa, npages, hold);
}

/* A mainline request on vCPU 0, completed; its ret must be @ret. */
static void expect_ret(QTestState *qts, uint64_t gpa, uint64_t npages,
                       int64_t ret)
{
    QDict *r = inject(qts, 0, gpa, npages, false);

    g_assert_cmpint(qdict_get_int(r, "ret"), ==, ret);
    qobject_unref(r);
}

static QDict *query(QTestState *qts)
{
    return qtest_qmp_assert_success_ref(qts,
        "{'execute': 'query-sev-snp-certs'}");
}

static uint64_t stat_of(QTestState *qts, const char *name)
{
    g_autoptr(QDict) q = query(qts);

    return qdict_get_int(qdict_get_qdict(q, "stats"), name);
}

/* Both lock families are held (or free) on @path right now. */
static void assert_locks(const char *path, bool held)
{
    g_assert_cmpint(ksim_lock_blocked(path, true, true), ==, held);
    g_assert_cmpint(ksim_lock_blocked(path, true, false), ==, held);
}

/* The held request of @cpu holds the locks until its completion. */
static void complete_held(QTestState *qts, int cpu, const char *path)
{
    assert_locks(path, true);
    qtest_qmp_assert_success(qts, "{'execute': 'x-sev-snp-complete-req-certs',"
                             " 'arguments': {'cpu-index': %d}}", cpu);
    assert_locks(path, false);
}

static void check_guest_bytes(QTestState *qts, GBytes *blob, uint64_t gpa,
                              uint64_t npages)
{
    gsize len;
    const uint8_t *want = g_bytes_get_data(blob, &len);
    g_autofree uint8_t *got = g_malloc(npages * 4096 + 8192);

    /* One page before and after, to see nothing was written outside. */
    qtest_memread(qts, gpa - 4096, got, npages * 4096 + 8192);
    for (size_t i = 0; i < 4096; i++) {
        g_assert_cmphex(got[i], ==, FILL);
    }
    g_assert_cmpmem(got + 4096, len, want, len);
    for (size_t i = 4096 + len; i < npages * 4096 + 8192; i++) {
        g_assert_cmphex(got[i], ==, FILL);
    }
}

static void test_req_certs_rows(void)
{
    g_autoptr(GBytes) blob = milan_blob();
    g_autofree char *path = write_blob("rows.bin", blob);
    QTestState *qts = start(path, "req-certs");
    QDict *r;

    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);

    /* Too small: ENOSPC and the required page count. */
    r = inject(qts, 0, BUF_GPA, 1, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, ENOSPC);
    g_assert_cmpint(qdict_get_int(r, "npages"), ==, 2);
    g_assert_cmpstr(qdict_get_str(r, "guest-result"), ==, "invalid-len");
    qobject_unref(r);
    check_guest_bytes(qts, g_bytes_new_static("", 0), BUF_GPA, 1);

    /* The right size: 0, the table in guest RAM, completed. */
    r = inject(qts, 0, BUF_GPA, 2, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    g_assert_false(qdict_get_bool(r, "in-flight"));
    g_assert_cmpstr(qdict_get_str(r, "guest-result"), ==, "ok");
    qobject_unref(r);
    check_guest_bytes(qts, blob, BUF_GPA, 2);
    g_assert_false(ksim_lock_blocked(path, true, true));

    /* Hostile input: generic error (EIO), nothing written. */
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    expect_ret(qts, BUF_GPA + 16, 4, EIO);
    expect_ret(qts, BUF_GPA, 0, EIO);
    expect_ret(qts, 0xfffffffffffff000ULL, 2, EIO);
    /* Not RAM: the 4 GiB - 1 MiB BIOS ROM and the IOAPIC page. */
    expect_ret(qts, 0xfff00000ULL, 2, EIO);
    expect_ret(qts, 0xfec00000ULL, 1, EIO);
    /* Beyond the end of RAM (256 MiB); its last page made shared. */
    make_shared(qts, 256 * MiB - 4096, 1);
    expect_ret(qts, 256 * MiB - 4096, 2, EIO);
    check_guest_bytes(qts, g_bytes_new_static("", 0), BUF_GPA, 4);

    g_assert_cmpuint(stat_of(qts, "errors"), ==, 6);
    g_assert_cmpuint(stat_of(qts, "served"), ==, 1);
    g_assert_cmpuint(stat_of(qts, "too-small"), ==, 1);
    qtest_quit(qts);
    unlink(path);
}

static void test_vmgexit_rows(void)
{
    g_autoptr(GBytes) blob = milan_blob();
    g_autofree char *path = write_blob("legacy.bin", blob);
    QTestState *qts = start(path, "vmgexit");
    g_autoptr(QDict) q = NULL;
    QDict *r;

    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    r = inject(qts, 0, BUF_GPA, 1, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 1);
    g_assert_cmpint(qdict_get_int(r, "npages"), ==, 2);
    qobject_unref(r);
    r = inject(qts, 0, BUF_GPA + 1, 4, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 1u << 31);
    qobject_unref(r);

    /* Held: locks stay until the DONE exit. */
    r = inject(qts, 0, BUF_GPA, 4, true);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    g_assert_true(qdict_get_bool(r, "in-flight"));
    qobject_unref(r);
    check_guest_bytes(qts, blob, BUF_GPA, 4);
    complete_held(qts, 0, path);

    q = query(qts);
    g_assert_cmpstr(qdict_get_str(q, "abi"), ==, "vmgexit");
    g_assert_cmpstr(qdict_get_str(q, "abi-source"), ==, "configured");
    qtest_quit(qts);
    unlink(path);
}

static void test_hold_and_busy(void)
{
    g_autoptr(GBytes) blob = milan_blob();
    g_autofree char *path = write_blob("busy.bin", blob);
    QTestState *qts = start(path, "req-certs");
    QDict *r, *ev;
    int fd, status;
    int pipefd[2], relfd[2];
    pid_t pid;
    char c;

    /* hold: the shared locks are held until the completion. */
    r = inject(qts, 1, BUF_GPA, 4, true);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    g_assert_true(qdict_get_bool(r, "in-flight"));
    qobject_unref(r);
    g_assert_cmpuint(stat_of(qts, "in-flight"), ==, 1);
    complete_held(qts, 1, path);
    /* A second completion has nothing to release. */
    r = qtest_qmp(qts, "{'execute': 'x-sev-snp-complete-req-certs',"
                  " 'arguments': {'cpu-index': 1}}");
    g_assert_true(qdict_haskey(r, "error"));
    qobject_unref(r);
    g_assert_cmpuint(stat_of(qts, "spurious-completions"), ==, 1);

    /* Another process holds the exclusive locks: BUSY, and an event. */
    g_assert_cmpint(pipe(pipefd), ==, 0);
    g_assert_cmpint(pipe(relfd), ==, 0);
    pid = fork();
    if (pid == 0) {
        fd = open(path, O_RDWR);
        c = sevsnp_lock_exclusive(fd, 1000, NULL) ? 'y' : 'n';
        if (write(pipefd[1], &c, 1) != 1 || read(relfd[0], &c, 1) < 0) {
            _exit(2);
        }
        _exit(0);
    }
    g_assert_cmpint(read(pipefd[0], &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'y');
    r = inject(qts, 0, BUF_GPA, 4, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, EAGAIN);
    g_assert_cmpstr(qdict_get_str(r, "guest-result"), ==, "busy");
    qobject_unref(r);
    ev = qtest_qmp_eventwait_ref(qts, "SEV_SNP_CERTS_ERROR");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "reason"), ==,
                    "busy");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "id"), ==,
                    "sev0");
    qobject_unref(ev);
    g_assert_cmpint(write(relfd[1], "x", 1), ==, 1);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);

    /* After the updater let go, the request succeeds. */
    r = inject(qts, 0, BUF_GPA, 4, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    qobject_unref(r);
    g_assert_cmpuint(stat_of(qts, "busy"), ==, 1);
    qtest_quit(qts);
    unlink(path);
}

static void test_query_milan(void)
{
    g_autoptr(GBytes) blob = milan_blob();
    g_autofree char *path = write_blob("q.bin", blob);
    QTestState *qts = start(path, "auto");
    g_autoptr(QDict) q = query(qts);
    QDict *b = qdict_get_qdict(q, "blob");
    QList *entries = qdict_get_qlist(b, "entries");
    g_autofree char *sha = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256,
                                                        blob);
    const char *cns[] = { "CN=ARK-Milan", "CN=SEV-Milan", "CN=SEV-VCEK" };
    const char *types[] = { "ark", "ask", "vcek" };
    QListEntry *e;
    int i = 0;

    g_assert_true(qdict_get_bool(q, "enabled"));
    g_assert_cmpstr(qdict_get_str(q, "certs-path"), ==, path);
    g_assert_cmpstr(qdict_get_str(q, "abi"), ==, "req-certs");
    /* No kernel to ask under qtest: auto means mainline, and says so. */
    g_assert_cmpstr(qdict_get_str(q, "abi-source"), ==, "no-kvm");
    g_assert_nonnull(strstr(qdict_get_str(q, "abi-detail"), "no KVM"));
    g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 100);
    g_assert_cmpint(qdict_get_int(b, "size"), ==, g_bytes_get_size(blob));
    g_assert_cmpstr(qdict_get_str(b, "sha256"), ==, sha);
    g_assert_cmpstr(qdict_get_str(b, "chain"), ==, "valid");
    QLIST_FOREACH_ENTRY(entries, e) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(e));

        g_assert_cmpstr(qdict_get_str(d, "type"), ==, types[i]);
        g_assert_nonnull(strstr(qdict_get_str(d, "subject"), cns[i]));
        g_assert_nonnull(qdict_get_str(d, "fingerprint"));
        i++;
    }
    g_assert_cmpint(i, ==, 3);
    qtest_quit(qts);
    unlink(path);
}

static void test_startup_refuses_bad_blob(void)
{
    g_autofree char *bad = write_file("bad.bin", "junk", 4);
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *cmd = NULL;
    int status;
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");

    cmd = g_strdup_printf("%s -machine q35 -accel qtest -display none "
                          "-nodefaults -L %s -qtest null -object "
                          "sev-snp-guest,id=sev0,cbitpos=51,"
                          "reduced-phys-bits=1,certs-path=%s",
                          qemu, firmware_dir(), bad);
    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, bad));
    g_assert_nonnull(strstr(err, "no terminating all-zero entry"));
    g_free(cmd);
    g_free(err);
    err = NULL;
    cmd = g_strdup_printf("%s -machine q35 -accel qtest -display none "
                          "-nodefaults -L %s -qtest null -object "
                          "sev-snp-guest,id=sev0,cbitpos=51,"
                          "reduced-phys-bits=1,certs-path=%s/missing.bin",
                          qemu, firmware_dir(), tmpdir);
    g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, "missing.bin: No such file"));
    unlink(bad);
}

static void test_set_certs(void)
{
    g_autoptr(GBytes) blob = milan_blob();
    g_autofree char *path = write_blob("s.bin", blob);
    g_autofree char *bad = write_file("s-bad.bin", "junk", 4);
    QTestState *qts = start(path, "req-certs");
    static const uint8_t zero[24];
    uint8_t got[32];
    QDict *r, *q;

    /* A bad file is refused and nothing changes. */
    r = qtest_qmp(qts, "{'execute': 'sev-snp-set-certs', 'arguments': "
                  "{'certs-path': %s, 'timeout': 7}}", bad);
    g_assert_true(qdict_haskey(r, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(r, "error"),
                                          "desc"), "s-bad.bin"));
    qobject_unref(r);
    q = query(qts);
    g_assert_cmpstr(qdict_get_str(q, "certs-path"), ==, path);
    g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 100);
    qobject_unref(q);

    /* Rate limit at run time: a burst of 1, then busy. */
    qtest_qmp_assert_success(qts, "{'execute': 'sev-snp-set-certs', "
                             "'arguments': {'rate-limit': 1, "
                             "'rate-burst': 1}}");
    r = inject(qts, 0, BUF_GPA, 4, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    qobject_unref(r);
    r = inject(qts, 0, BUF_GPA, 4, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, EAGAIN);
    qobject_unref(r);
    g_assert_cmpuint(stat_of(qts, "rate-limited"), ==, 1);
    qtest_qmp_assert_success(qts, "{'execute': 'sev-snp-set-certs', "
                             "'arguments': {'rate-limit': 0}}");

    /* Off: the guest gets an empty table. */
    qtest_qmp_assert_success(qts, "{'execute': 'sev-snp-set-certs', "
                             "'arguments': {'certs-path': ''}}");
    qtest_memset(qts, BUF_GPA, FILL, 4096);
    r = inject(qts, 0, BUF_GPA, 1, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    qobject_unref(r);
    qtest_memread(qts, BUF_GPA, got, sizeof(got));
    g_assert_cmpmem(got, 24, zero, 24);
    g_assert_cmphex(got[24], ==, FILL);
    q = query(qts);
    g_assert_false(qdict_get_bool(q, "enabled"));
    qobject_unref(q);

    /* And back on with the good file. */
    qtest_qmp_assert_success(qts, "{'execute': 'sev-snp-set-certs', "
                             "'arguments': {'certs-path': %s}}", path);
    r = inject(qts, 0, BUF_GPA, 1, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, ENOSPC);
    qobject_unref(r);
    qtest_quit(qts);
    unlink(path);
    unlink(bad);
}

/*
 * A child process holds the blob's exclusive lock (as snp-certs lock
 * does) until told to let go through *@release.
 */
static pid_t hold_exclusive(const char *path, int *release)
{
    int ready[2], relfd[2];
    pid_t pid;
    char c;

    g_assert_cmpint(pipe(ready), ==, 0);
    g_assert_cmpint(pipe(relfd), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        int fd = sevsnp_open_locked(path, false, true, 1000, NULL);

        c = fd >= 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(relfd[0], &c, 1) < 0) {
            _exit(2);
        }
        _exit(0);
    }
    close(ready[1]);
    close(relfd[0]);
    g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'y');
    close(ready[0]);
    *release = relfd[1];
    return pid;
}

static void release_exclusive(pid_t pid, int release)
{
    int status;

    g_assert_cmpint(write(release, "x", 1), ==, 1);
    close(release);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * certs-timeout at its bound (10 s) and an updater holding the file: the
 * monitor answers at once (one try of the locks), never after the wait.
 */
static void test_monitor_never_waits(void)
{
    g_autoptr(GBytes) blob = milan_blob();
    g_autofree char *path = write_blob("mon.bin", blob);
    g_autofree char *sha = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256,
                                                        blob);
    QTestState *qts = start_timeout(path, "req-certs", 10000);
    g_autofree char *hmp = NULL;
    QDict *q, *r;
    gint64 t0, us;
    int release;
    pid_t pid;

    q = query(qts);
    g_assert_false(qdict_get_bool(q, "blob-busy"));
    g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 10000);
    qobject_unref(q);

    pid = hold_exclusive(path, &release);

    /* query: busy, and the last validated blob. */
    t0 = g_get_monotonic_time();
    q = query(qts);
    us = g_get_monotonic_time() - t0;
    g_test_message("query-sev-snp-certs under the updater: %" PRId64 " us",
                   us);
    g_assert_cmpint(us, <, 1000 * 1000);
    g_assert_true(qdict_get_bool(q, "blob-busy"));
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(q, "blob"), "sha256"), ==,
                    sha);
    g_assert_false(qdict_haskey(q, "blob-error"));
    qobject_unref(q);

    /* HMP: the same, and says so. */
    t0 = g_get_monotonic_time();
    hmp = qtest_hmp(qts, "info sev-snp-certs");
    us = g_get_monotonic_time() - t0;
    g_assert_cmpint(us, <, 1000 * 1000);
    g_assert_nonnull(strstr(hmp, "blob: busy: an updater holds the lock"));
    g_assert_nonnull(strstr(hmp, sha));

    /* sev-snp-set-certs on the locked file: refused at once. */
    t0 = g_get_monotonic_time();
    r = qtest_qmp(qts, "{'execute': 'sev-snp-set-certs', 'arguments': "
                  "{'certs-path': %s, 'timeout': 50}}", path);
    us = g_get_monotonic_time() - t0;
    g_test_message("sev-snp-set-certs under the updater: %" PRId64 " us",
                   us);
    g_assert_cmpint(us, <, 1000 * 1000);
    g_assert_true(qdict_haskey(r, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(r, "error"),
                                          "desc"),
                            "an updater holds the file's exclusive lock"));
    qobject_unref(r);
    q = query(qts);
    g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 10000);
    qobject_unref(q);

    release_exclusive(pid, release);
    q = query(qts);
    g_assert_false(qdict_get_bool(q, "blob-busy"));
    qobject_unref(q);
    qtest_quit(qts);
    unlink(path);
}

/* certs-timeout is at most 10000 ms, at start-up and at run time. */
static void test_timeout_bound(void)
{
    g_autoptr(GBytes) blob = milan_blob();
    g_autofree char *path = write_blob("bound.bin", blob);
    g_autofree char *cmd = NULL;
    g_autofree char *err = NULL;
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    QTestState *qts;
    QDict *r, *q;
    int status;

    cmd = g_strdup_printf("%s -machine q35 -accel qtest -display none "
                          "-nodefaults -L %s -qtest null -object "
                          "sev-snp-guest,id=sev0,cbitpos=51,"
                          "reduced-phys-bits=1,certs-path=%s,"
                          "certs-timeout=10001", qemu, firmware_dir(), path);
    g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, "certs-timeout"));
    g_assert_nonnull(strstr(err, "exceeds the maximum of 10000 ms"));

    qts = start_timeout(path, "req-certs", 10000);
    r = qtest_qmp(qts, "{'execute': 'sev-snp-set-certs', 'arguments': "
                  "{'timeout': 10001}}");
    g_assert_true(qdict_haskey(r, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(r, "error"),
                                          "desc"),
                            "exceeds the maximum of 10000 ms"));
    qobject_unref(r);
    r = qtest_qmp(qts, "{'execute': 'sev-snp-set-certs', 'arguments': "
                  "{'timeout': 4294967295}}");
    g_assert_true(qdict_haskey(r, "error"));
    qobject_unref(r);
    q = query(qts);
    g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 10000);
    qobject_unref(q);
    qtest_qmp_assert_success(qts, "{'execute': 'sev-snp-set-certs', "
                             "'arguments': {'timeout': 0}}");
    q = query(qts);
    g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 0);
    qobject_unref(q);
    qtest_quit(qts);
    unlink(path);
}

/*
 * -global sev-snp-guest.certs-*: the default of every instance, the one a
 * management layer generates (libvirt: id lsec0, no certs-* property)
 * included; an explicit property wins; no "global ... not used" or
 * "invalid class name" warning.
 */
static void test_global_defaults(void)
{
    g_autoptr(GBytes) blob = milan_blob();
    g_autofree char *path = write_blob("global.bin", blob);
    g_autofree char *other = write_blob("explicit.bin", blob);
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_auto(GStrv) lines = NULL;
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", NULL, NULL };
    int status, answers = 0;

    cmd = g_strdup_printf(
        "printf '%%s\\n' '{\"execute\": \"qmp_capabilities\"}' "
        "'{\"execute\": \"query-sev-snp-certs\", \"arguments\": "
        "{\"id\": \"lsec0\"}}' "
        "'{\"execute\": \"query-sev-snp-certs\", \"arguments\": "
        "{\"id\": \"sev1\"}}' '{\"execute\": \"quit\"}' | "
        "%s -machine q35 -accel qtest -display none -nodefaults -L %s "
        "-qtest null -qmp stdio "
        "-global sev-snp-guest.certs-path=%s "
        "-global sev-snp-guest.certs-timeout=250 "
        "-object sev-snp-guest,id=lsec0,cbitpos=51,reduced-phys-bits=1 "
        "-object sev-snp-guest,id=sev1,cbitpos=51,reduced-phys-bits=1,"
        "certs-path=%s", qemu, firmware_dir(), path, other);
    argv[2] = cmd;
    g_assert_true(g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL, &out, &err,
                               &status, NULL));
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_null(strstr(err, "global"));
    lines = g_strsplit(out, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        g_autoptr(QDict) d = NULL;
        QDict *ret;

        if (lines[i][0]) {
            d = qobject_to(QDict, qobject_from_json(lines[i], NULL));
        }
        if (!d || !qdict_haskey(d, "return") ||
            !qdict_get_qdict(d, "return") ||
            !qdict_haskey(qdict_get_qdict(d, "return"), "id")) {
            continue;
        }
        ret = qdict_get_qdict(d, "return");
        if (!strcmp(qdict_get_str(ret, "id"), "lsec0")) {
            g_assert_cmpstr(qdict_get_str(ret, "certs-path"), ==, path);
        } else {
            g_assert_cmpstr(qdict_get_str(ret, "id"), ==, "sev1");
            g_assert_cmpstr(qdict_get_str(ret, "certs-path"), ==, other);
        }
        g_assert_true(qdict_get_bool(ret, "enabled"));
        g_assert_cmpint(qdict_get_int(ret, "timeout"), ==, 250);
        answers++;
    }
    g_assert_cmpint(answers, ==, 2);
    unlink(path);
    unlink(other);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("sev-snp-qtest-XXXXXX", NULL);
    qtest_add_func("/sev-snp-certs/req-certs-rows", test_req_certs_rows);
    qtest_add_func("/sev-snp-certs/vmgexit-rows", test_vmgexit_rows);
    qtest_add_func("/sev-snp-certs/hold-and-busy", test_hold_and_busy);
    qtest_add_func("/sev-snp-certs/query-milan", test_query_milan);
    qtest_add_func("/sev-snp-certs/startup-refuses-bad-blob",
                   test_startup_refuses_bad_blob);
    qtest_add_func("/sev-snp-certs/set-certs", test_set_certs);
    qtest_add_func("/sev-snp-certs/monitor-never-waits",
                   test_monitor_never_waits);
    qtest_add_func("/sev-snp-certs/timeout-bound", test_timeout_bound);
    qtest_add_func("/sev-snp-certs/global-defaults", test_global_defaults);
    ret = g_test_run();
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
