/*
 * qtest for the SEV-SNP certificate service of sev-snp-guest
 *
 * Runs the handler a KVM exit runs through the test entry point
 * "sev-snp req-certs" of the qtest protocol against the machine's guest
 * RAM, and checks what the kernel would read, the bytes in guest memory,
 * the locks, QMP and events.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "qemu/uuid.h"
#include <sys/file.h>
#include <sys/wait.h>

#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"

#define BUF_GPA ((uint64_t)0x200000)
#define FILL    0xcc
#define ENTRY   24

static char *tmpdir;

/* The GHCB specification's certificate GUIDs, in their text form. */
static const char *const kind_guid[] = {
    "c0b406a4-a803-4952-9743-3fb6014cd0ae",     /* ark */
    "4ab7b379-bbac-4fe4-a02f-05aef327c782",     /* ask */
    "63da758d-e664-4564-adc5-f4b93be8accd",     /* vcek */
};
static const char *const kind_name[] = { "ark", "ask", "vcek" };

/*
 * A certificate table as the GHCB specification lays it out, made here:
 * @n entries of GUID (the bytes of its text form), offset and length
 * (32-bit little-endian), the all-zero terminator, then the data.
 */
static GBytes *make_table(const char *const *guids, GBytes *const *data,
                          int n)
{
    size_t off = (n + 1) * ENTRY, total = off;
    uint8_t *b;

    for (int i = 0; i < n; i++) {
        total += g_bytes_get_size(data[i]);
    }
    b = g_malloc0(total);
    for (int i = 0; i < n; i++) {
        QemuUUID uuid;
        size_t len = g_bytes_get_size(data[i]);

        g_assert_cmpint(qemu_uuid_parse(guids[i], &uuid), ==, 0);
        memcpy(b + i * ENTRY, uuid.data, 16);
        stl_le_p(b + i * ENTRY + 16, off);
        stl_le_p(b + i * ENTRY + 20, len);
        memcpy(b + off, g_bytes_get_data(data[i], NULL), len);
        off += len;
    }
    return g_bytes_new_take(b, total);
}

/*
 * Data of @len bytes for an entry: QEMU serves the table whatever its
 * entries hold, so they are bytes of the test's own, which start like a
 * DER SEQUENCE and differ per @seed.
 */
static GBytes *entry_data(size_t len, uint8_t seed)
{
    uint8_t *d = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        d[i] = seed + i * 7 + (i >> 8);
    }
    d[0] = 0x30;
    d[1] = 0x82;
    return g_bytes_new_take(d, len);
}

/* A blob of an ARK, an ASK and a VCEK the size of AMD Milan's. */
static GBytes *test_blob(void)
{
    GBytes *data[] = {
        entry_data(1639, 1), entry_data(1677, 2), entry_data(1360, 3),
    };
    GBytes *b = make_table(kind_guid, data, 3);

    for (int i = 0; i < 3; i++) {
        g_bytes_unref(data[i]);
    }
    return b;
}

/* Offset and length of entry @i of @blob, read from its table. */
static void entry_at(GBytes *blob, int i, uint32_t *off, uint32_t *len)
{
    const uint8_t *b = g_bytes_get_data(blob, NULL);

    *off = ldl_le_p(b + i * ENTRY + 16);
    *len = ldl_le_p(b + i * ENTRY + 20);
}

/*
 * @blob with the data of its entry @i changed: its last byte flipped
 * (@junk false: for a certificate, its signature), or every byte 0x5a
 * (@junk: no DER at all).  The table stays well-formed.
 */
static GBytes *changed_entry(GBytes *blob, int i, bool junk)
{
    gsize len;
    const uint8_t *data = g_bytes_get_data(blob, &len);
    uint8_t *b = g_memdup2(data, len);
    uint32_t off, elen;

    entry_at(blob, i, &off, &elen);
    if (junk) {
        memset(b + off, 0x5a, elen);
    } else {
        b[off + elen - 1] ^= 1;
    }
    return g_bytes_new_take(b, len);
}

/*
 * An updater's exclusive locks, as QEMU's documentation describes them:
 * the intent byte at 2^62, then a whole-file OFD write lock and
 * flock(LOCK_EX).  Blocking: no request holds the file when a test
 * calls this.
 */
static void lock_exclusive(int fd)
{
    struct flock intent = {
        .l_type = F_WRLCK, .l_whence = SEEK_SET,
        .l_start = 1LL << 62, .l_len = 1,
    };
    struct flock whole = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

    g_assert_cmpint(fcntl(fd, F_OFD_SETLKW, &intent), ==, 0);
    g_assert_cmpint(fcntl(fd, F_OFD_SETLKW, &whole), ==, 0);
    g_assert_cmpint(flock(fd, LOCK_EX), ==, 0);
}

/* Rewrite @path in place (the same inode, as snp-certs install does). */
static void rewrite_in_place(const char *path, GBytes *blob)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    gsize len;
    const void *data = g_bytes_get_data(blob, &len);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, data, len), ==, len);
    close(fd);
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
    g_auto(GStrv) w = qtest_sev_snp(qts, "map-gpa-range 0 0x%" PRIx64
                                    " %" PRIu64 " shared", gpa, npages);

    g_assert_cmpstr(w[0], ==, "OK");
    g_assert_cmpstr(w[1], ==, "0x0");
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

/*
 * A certificate request of vCPU @cpu run as for a KVM exit (the test
 * entry point "sev-snp req-certs"), completed unless @hold: what the
 * kernel would read (ret, npages), whether the request holds the locks
 * (in-flight) and what the guest sees (guest-result).
 */
static QDict *inject(QTestState *qts, int cpu, uint64_t gpa, uint64_t npages,
                     bool hold)
{
    g_auto(GStrv) w = qtest_sev_snp(qts, "req-certs %d 0x%" PRIx64
                                    " %" PRIu64 "%s", cpu, gpa, npages,
                                    hold ? " hold" : "");
    g_autofree char *reply = g_strjoinv(" ", w);
    QDict *r = qdict_new();

    g_assert_cmpstr(w[0], ==, "OK");
    g_assert_cmpint(g_strv_length(w), ==, 5);
    g_test_message("req-certs: %s", reply);
    qdict_put_int(r, "ret", g_ascii_strtoull(w[1], NULL, 0));
    qdict_put_int(r, "npages", g_ascii_strtoull(w[2], NULL, 0));
    qdict_put_bool(r, "in-flight", !strcmp(w[3], "1"));
    qdict_put_str(r, "guest-result", w[4]);
    return r;
}

/* The completion of @cpu's held request ("sev-snp complete-req-certs"). */
static gchar **complete(QTestState *qts, int cpu)
{
    return qtest_sev_snp(qts, "complete-req-certs %d", cpu);
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

/*
 * Would an updater's exclusive lock of this family be refused on @path
 * right now?  Tried on a file description of the test's own.
 */
static bool lock_blocked(const char *path, bool ofd)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int fd = open(path, O_RDWR);
    bool blocked;

    g_assert_cmpint(fd, >=, 0);
    blocked = ofd ? fcntl(fd, F_OFD_SETLK, &fl) < 0
                  : flock(fd, LOCK_EX | LOCK_NB) < 0;
    close(fd);
    return blocked;
}

/* Both lock families are held (or free) on @path right now. */
static void assert_locks(const char *path, bool held)
{
    g_assert_cmpint(lock_blocked(path, true), ==, held);
    g_assert_cmpint(lock_blocked(path, false), ==, held);
}

/* The held request of @cpu holds the locks until its completion. */
static void complete_held(QTestState *qts, int cpu, const char *path)
{
    g_auto(GStrv) w = NULL;

    assert_locks(path, true);
    w = complete(qts, cpu);
    g_assert_cmpstr(w[0], ==, "OK");
    assert_locks(path, false);
}

/* An empty table at @gpa, and nothing else written around it. */
static void check_empty_table(QTestState *qts, uint64_t gpa)
{
    uint8_t got[4096 + 64];

    qtest_memread(qts, gpa - 4096, got, sizeof(got));
    for (size_t i = 0; i < sizeof(got); i++) {
        g_assert_cmphex(got[i], ==, i >= 4096 && i < 4096 + 24 ? 0 : FILL);
    }
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
    g_autoptr(GBytes) blob = test_blob();
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
    g_assert_false(lock_blocked(path, true));

    /*
     * 0 pages, the sev crate's size probe: ENOSPC and the pages needed,
     * wherever the buffer is, and nothing written.
     */
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    r = inject(qts, 0, 0xfffffffffffff000ULL, 0, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, ENOSPC);
    g_assert_cmpint(qdict_get_int(r, "npages"), ==, 2);
    qobject_unref(r);

    /* The guest's own bad buffer: generic error (EIO), nothing written. */
    expect_ret(qts, BUF_GPA + 16, 4, EIO);
    expect_ret(qts, 0xfffffffffffff000ULL, 2, EIO);
    /* Not RAM: the 4 GiB - 1 MiB BIOS ROM and the IOAPIC page. */
    expect_ret(qts, 0xfff00000ULL, 2, EIO);
    expect_ret(qts, 0xfec00000ULL, 1, EIO);
    /* Beyond the end of RAM (256 MiB); its last page made shared. */
    make_shared(qts, 256 * MiB - 4096, 1);
    expect_ret(qts, 256 * MiB - 4096, 2, EIO);
    check_guest_bytes(qts, g_bytes_new_static("", 0), BUF_GPA, 4);

    g_assert_cmpuint(stat_of(qts, "errors"), ==, 5);
    g_assert_cmpuint(stat_of(qts, "served"), ==, 1);
    g_assert_cmpuint(stat_of(qts, "too-small"), ==, 2);
    qtest_quit(qts);
    unlink(path);
}

static void test_vmgexit_rows(void)
{
    g_autoptr(GBytes) blob = test_blob();
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
    g_autoptr(GBytes) blob = test_blob();
    g_autofree char *path = write_blob("busy.bin", blob);
    QTestState *qts = start(path, "req-certs");
    QDict *r, *ev;
    gchar **w;
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
    w = complete(qts, 1);
    g_assert_cmpstr(w[0], ==, "FAIL");
    g_strfreev(w);
    g_assert_cmpuint(stat_of(qts, "spurious-completions"), ==, 1);

    /* Another process holds the exclusive locks: BUSY, and an event. */
    g_assert_cmpint(pipe(pipefd), ==, 0);
    g_assert_cmpint(pipe(relfd), ==, 0);
    pid = fork();
    if (pid == 0) {
        fd = open(path, O_RDWR);
        c = 'n';
        if (fd >= 0) {
            lock_exclusive(fd);
            c = 'y';
        }
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
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "qom-path"),
                    ==, "/objects/sev0");
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

/*
 * The query's entries of @blob: each entry's kind, GUID, offset, length
 * and the SHA-384 of its data (computed here with GLib, QEMU's with its
 * own hash API), and nothing about what the data says.
 */
static void check_entries(QDict *b, GBytes *blob)
{
    QList *entries = qdict_get_qlist(b, "entries");
    const uint8_t *data = g_bytes_get_data(blob, NULL);
    g_autofree char *sha = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256,
                                                        blob);
    QListEntry *l;
    int i = 0;

    g_assert_cmpint(qdict_get_int(b, "size"), ==, g_bytes_get_size(blob));
    g_assert_cmpstr(qdict_get_str(b, "sha256"), ==, sha);
    g_assert_false(qdict_haskey(b, "chain"));
    g_assert_false(qdict_haskey(b, "chain-detail"));
    QLIST_FOREACH_ENTRY(entries, l) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(l));
        g_autofree char *fp = NULL;
        uint32_t off, len;

        g_assert_cmpint(i, <, 3);
        entry_at(blob, i, &off, &len);
        fp = g_compute_checksum_for_data(G_CHECKSUM_SHA384, data + off, len);
        g_assert_cmpstr(qdict_get_str(d, "kind"), ==, kind_name[i]);
        g_assert_cmpstr(qdict_get_str(d, "guid"), ==, kind_guid[i]);
        g_assert_cmpint(qdict_get_int(d, "offset"), ==, off);
        g_assert_cmpint(qdict_get_int(d, "length"), ==, len);
        g_assert_cmpstr(qdict_get_str(d, "fingerprint"), ==, fp);
        g_assert_cmpint(qdict_size(d), ==, 5);
        i++;
    }
    g_assert_cmpint(i, ==, 3);
}

static void test_query_entries(void)
{
    g_autoptr(GBytes) blob = test_blob();
    g_autofree char *path = write_blob("q.bin", blob);
    QTestState *qts = start(path, "auto");
    g_autoptr(QDict) q = query(qts);
    QDict *b = qdict_get_qdict(q, "blob");

    g_assert_true(qdict_get_bool(q, "enabled"));
    g_assert_cmpstr(qdict_get_str(q, "certs-path"), ==, path);
    g_assert_cmpstr(qdict_get_str(q, "abi"), ==, "req-certs");
    /* No kernel to ask under qtest: auto means mainline, and says so. */
    g_assert_cmpstr(qdict_get_str(q, "abi-source"), ==, "no-kvm");
    g_assert_nonnull(strstr(qdict_get_str(q, "abi-detail"), "no KVM"));
    g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 100);
    check_entries(b, blob);
    qtest_quit(qts);
    unlink(path);
}

/* QEMU started with certs-path @path must refuse, saying @says. */
static void assert_startup_refused(const char *path, const char *says)
{
    g_autofree char *err = NULL;
    g_autofree char *cmd = NULL;
    int status;

    cmd = g_strdup_printf("%s -machine q35 -accel qtest -display none "
                          "-nodefaults -L %s -qtest null -object "
                          "sev-snp-guest,id=sev0,cbitpos=51,"
                          "reduced-phys-bits=1,certs-path=%s",
                          g_getenv("QTEST_QEMU_BINARY"), firmware_dir(),
                          path);
    g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, path));
    g_assert_nonnull(strstr(err, says));
}

/* @blob with the length of its entry @i made to reach past its end. */
static GBytes *entry_past_end(GBytes *blob, guint i)
{
    gsize len;
    const uint8_t *data = g_bytes_get_data(blob, &len);
    uint8_t *b = g_memdup2(data, len);
    uint32_t le = GUINT32_TO_LE(len);

    memcpy(b + i * 24 + 20, &le, 4);
    return g_bytes_new_take(b, len);
}

/*
 * What QEMU refuses at start-up: a file that is missing or whose table
 * is malformed, with one error naming the file and the reason.
 */
static void test_startup_refuses_bad_blob(void)
{
    g_autofree char *bad = write_file("bad.bin", "junk", 4);
    g_autofree char *missing = g_build_filename(tmpdir, "missing.bin", NULL);
    g_autoptr(GBytes) blob = test_blob();
    g_autoptr(GBytes) past = entry_past_end(blob, 2);
    g_autofree char *past_path = write_blob("past.bin", past);

    assert_startup_refused(bad, "no terminating all-zero entry");
    assert_startup_refused(missing, "No such file");
    assert_startup_refused(past_path, "entry 2 (vcek");
    assert_startup_refused(past_path, "is not inside");
    unlink(bad);
    unlink(past_path);
}

/*
 * QEMU checks the table's structure and serves what the operator
 * installed: a well-formed table whose certificates are not what their
 * signers signed (the VCEK's signature changed) or are no certificates
 * at all (the ASK's bytes replaced) is served as it is, at start-up, after
 * an in-place change and through sev-snp-set-certs, and the query shows
 * the entries' digests of what is served.  Judging the chain is the
 * host tool's (snp-certs verify and install refuse these blobs).  A
 * table gone bad in structure is still a host-side fault.
 */
static void test_serves_as_installed(void)
{
    g_autoptr(GBytes) milan = test_blob();
    g_autoptr(GBytes) resigned = changed_entry(milan, 2, false);
    g_autoptr(GBytes) nonder = changed_entry(milan, 1, true);
    g_autoptr(GBytes) past = entry_past_end(milan, 2);
    g_autofree char *path = write_blob("installed.bin", resigned);
    g_autofree char *other = write_blob("installed2.bin", nonder);
    QTestState *qts = start(path, "req-certs");
    QDict *q;

    /* Started with it, and serves it. */
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    expect_ret(qts, BUF_GPA, 4, 0);
    check_guest_bytes(qts, resigned, BUF_GPA, 4);
    q = query(qts);
    check_entries(qdict_get_qdict(q, "blob"), resigned);
    g_assert_false(qdict_haskey(q, "blob-error"));
    qobject_unref(q);

    /* Rewritten in place with no DER in the ASK's entry: served. */
    rewrite_in_place(path, nonder);
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    expect_ret(qts, BUF_GPA, 4, 0);
    check_guest_bytes(qts, nonder, BUF_GPA, 4);

    /* Given with sev-snp-set-certs: taken, and served. */
    qtest_qmp_assert_success(qts, "{'execute': 'sev-snp-set-certs', "
                             "'arguments': {'certs-path': %s}}", other);
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    expect_ret(qts, BUF_GPA, 4, 0);
    check_guest_bytes(qts, nonder, BUF_GPA, 4);
    g_assert_cmpuint(stat_of(qts, "host-faults"), ==, 0);
    g_assert_cmpuint(stat_of(qts, "served"), ==, 3);

    /* The table itself damaged in place: a host-side fault. */
    rewrite_in_place(other, past);
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    expect_ret(qts, BUF_GPA, 4, 0);
    check_empty_table(qts, BUF_GPA);
    g_assert_cmpuint(stat_of(qts, "host-faults"), ==, 1);
    q = query(qts);
    g_assert_nonnull(strstr(qdict_get_str(q, "blob-error"), "is not inside"));
    qobject_unref(q);
    qtest_quit(qts);
    unlink(path);
    unlink(other);
}

static void test_set_certs(void)
{
    g_autoptr(GBytes) blob = test_blob();
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
        int fd = open(path, O_RDWR);

        c = 'n';
        if (fd >= 0) {
            lock_exclusive(fd);
            c = 'y';
        }
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
 * monitor answers with one try of the locks.  The updater lets go only
 * after every answer, so a monitor that waited for the lock would never
 * answer (the harness's timeout fails it); one that waited for
 * certs-timeout is what the times printed show (the host scenarios of
 * qemu-snp bound them under the real vCPU loop).
 */
static void test_monitor_never_waits(void)
{
    g_autoptr(GBytes) blob = test_blob();
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
    g_assert_true(qdict_get_bool(q, "blob-busy"));
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(q, "blob"), "sha256"), ==,
                    sha);
    g_assert_false(qdict_haskey(q, "blob-error"));
    qobject_unref(q);

    /* HMP: the same, and says so. */
    t0 = g_get_monotonic_time();
    hmp = qtest_hmp(qts, "info sev-snp-certs");
    us = g_get_monotonic_time() - t0;
    g_test_message("info sev-snp-certs under the updater: %" PRId64 " us",
                   us);
    g_assert_nonnull(strstr(hmp, "blob: busy: an updater holds the lock"));
    g_assert_nonnull(strstr(hmp, sha));

    /* sev-snp-set-certs on the locked file: refused at once. */
    t0 = g_get_monotonic_time();
    r = qtest_qmp(qts, "{'execute': 'sev-snp-set-certs', 'arguments': "
                  "{'certs-path': %s, 'timeout': 50}}", path);
    us = g_get_monotonic_time() - t0;
    g_test_message("sev-snp-set-certs under the updater: %" PRId64 " us",
                   us);
    g_assert_true(qdict_haskey(r, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(r, "error"),
                                          "desc"),
                            "an updater holds the file's exclusive lock"));
    qobject_unref(r);
    q = query(qts);
    g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 10000);
    qobject_unref(q);

    /*
     * A sev-snp-guest created at run time with a 10 s certs-timeout:
     * the check of its file under the BQL is one try, refused at once.
     */
    t0 = g_get_monotonic_time();
    r = qtest_qmp(qts, "{'execute': 'object-add', 'arguments': "
                  "{'qom-type': 'sev-snp-guest', 'id': 'late', "
                  "'cbitpos': 51, 'reduced-phys-bits': 1, "
                  "'certs-path': %s, 'certs-timeout': 10000}}", path);
    us = g_get_monotonic_time() - t0;
    g_test_message("object-add under the updater: %" PRId64 " us", us);
    g_assert_true(qdict_haskey(r, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(r, "error"),
                                          "desc"), "not obtained"));
    qobject_unref(r);

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
    g_autoptr(GBytes) blob = test_blob();
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
    g_autoptr(GBytes) blob = NULL;
    g_autofree char *path = NULL;
    g_autofree char *other = NULL;
    QTestState *qts;
    QDict *q;

    if (!g_test_subprocess()) {
        /* QEMU's stderr is the subprocess's, which GLib keeps. */
        g_test_trap_subprocess(NULL, 0, 0);
        g_test_trap_assert_passed();
        g_test_trap_assert_stderr_unmatched("*arning: global*");
        return;
    }
    blob = test_blob();
    path = write_blob("global.bin", blob);
    other = write_blob("explicit.bin", blob);
    qts = qtest_initf("-machine q35 -accel qtest -nodefaults -L %s "
        "-global sev-snp-guest.certs-path=%s "
        "-global sev-snp-guest.certs-timeout=250 "
        "-object sev-snp-guest,id=lsec0,cbitpos=51,reduced-phys-bits=1 "
        "-object sev-snp-guest,id=sev1,cbitpos=51,reduced-phys-bits=1,"
        "certs-path=%s", firmware_dir(), path, other);
    /* lsec0 has the defaults; sev1's own certs-path wins. */
    for (int i = 0; i < 2; i++) {
        q = qtest_qmp_assert_success_ref(qts,
            "{'execute': 'query-sev-snp-certs', 'arguments': {'id': %s}}",
            i ? "sev1" : "lsec0");
        g_assert_cmpstr(qdict_get_str(q, "certs-path"), ==, i ? other : path);
        g_assert_true(qdict_get_bool(q, "enabled"));
        g_assert_cmpint(qdict_get_int(q, "timeout"), ==, 250);
        qobject_unref(q);
    }
    qtest_quit(qts);
    unlink(path);
    unlink(other);
}

/*
 * A blob that goes missing: the guest gets its report with an empty
 * table (ret 0), the operator sees the fault in the counters, the last
 * error and the event; the blob back, the chain again.
 */
static void test_host_fault(void)
{
    g_autoptr(GBytes) blob = test_blob();
    g_autofree char *path = write_blob("fault.bin", blob);
    g_autofree char *aside = g_strdup_printf("%s.aside", path);
    QTestState *qts = start(path, "req-certs");
    g_autoptr(QDict) q = NULL;
    QDict *r, *ev;

    g_assert_cmpint(rename(path, aside), ==, 0);
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    r = inject(qts, 0, BUF_GPA, 4, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    g_assert_cmpstr(qdict_get_str(r, "guest-result"), ==, "ok");
    qobject_unref(r);
    check_empty_table(qts, BUF_GPA);
    ev = qtest_qmp_eventwait_ref(qts, "SEV_SNP_CERTS_ERROR");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "reason"), ==,
                    "host-fault");
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(ev, "data"),
                                          "message"), "No such file"));
    qobject_unref(ev);
    /* The size probe: nothing to give, success. */
    r = inject(qts, 0, BUF_GPA, 0, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    qobject_unref(r);
    q = query(qts);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(q, "stats"),
                                  "host-faults"), ==, 2);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(q, "stats"), "chainless"),
                    ==, 2);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(q, "stats"), "errors"),
                    ==, 0);
    g_assert_nonnull(strstr(qdict_get_str(q, "last-error"), path));
    g_assert_nonnull(strstr(qdict_get_str(q, "blob-error"),
                            "No such file"));

    g_assert_cmpint(rename(aside, path), ==, 0);
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    r = inject(qts, 0, BUF_GPA, 4, false);
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    qobject_unref(r);
    check_guest_bytes(qts, blob, BUF_GPA, 4);
    qtest_quit(qts);
    unlink(path);
}

/*
 * SEV_SNP_CERTS_ERROR is throttled per object and per reason: an error,
 * a host fault, an error again within the second.  The second error is
 * held to the end of the period (the throttle's clock is the virtual
 * clock under qtest: stepped here), the host fault is not lost behind it
 * (with one throttle for all reasons, it would be replaced).
 */
static void test_events_per_reason(void)
{
    g_autoptr(GBytes) blob = test_blob();
    g_autofree char *path = write_blob("reasons.bin", blob);
    g_autofree char *aside = g_strdup_printf("%s.aside", path);
    QTestState *qts = start(path, "req-certs");
    int errors = 0, faults = 0;

    expect_ret(qts, 0xfec00000ULL, 1, EIO);
    g_assert_cmpint(rename(path, aside), ==, 0);
    expect_ret(qts, BUF_GPA, 4, 0);
    g_assert_cmpint(rename(aside, path), ==, 0);
    expect_ret(qts, 0xfec00000ULL, 1, EIO);
    qtest_clock_step(qts, 1000000000LL);
    while (errors < 2) {
        QDict *ev = qtest_qmp_eventwait_ref(qts, "SEV_SNP_CERTS_ERROR");
        QDict *data = qdict_get_qdict(ev, "data");
        const char *reason = qdict_get_str(data, "reason");

        g_assert_cmpstr(qdict_get_str(data, "qom-path"), ==, "/objects/sev0");
        if (!strcmp(reason, "error")) {
            errors++;
        } else {
            g_assert_cmpstr(reason, ==, "host-fault");
            faults++;
        }
        qobject_unref(ev);
    }
    g_assert_cmpint(faults, ==, 1);
    qtest_quit(qts);
    unlink(path);
}

/*
 * certs-busy-limit: an updater holding the lock for longer gets the guest
 * an empty table once the limit is reached; the bound is enforced at
 * start-up and at run time.
 */
static void test_busy_limit(void)
{
    g_autoptr(GBytes) blob = test_blob();
    g_autofree char *path = write_blob("limit.bin", blob);
    g_autofree char *cmd = NULL;
    g_autofree char *err = NULL;
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autoptr(QDict) q = NULL;
    QTestState *qts;
    int64_t t0;
    int rel, status, busy = 0;
    pid_t pid;
    QDict *r;

    cmd = g_strdup_printf("%s -machine q35 -accel qtest -display none "
                          "-nodefaults -L %s -qtest null -object "
                          "sev-snp-guest,id=sev0,cbitpos=51,"
                          "reduced-phys-bits=1,certs-path=%s,"
                          "certs-busy-limit=40001", qemu, firmware_dir(),
                          path);
    g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, "certs-busy-limit"));
    g_assert_nonnull(strstr(err, "exceeds the maximum of 40000 ms"));

    qts = qtest_initf("-machine q35 -accel qtest -m 256M -smp 2 -nodefaults "
                      "-L %s -object sev-snp-guest,id=sev0,cbitpos=51,"
                      "reduced-phys-bits=1,certs-path=%s,certs-abi=req-certs,"
                      "certs-timeout=50,certs-busy-limit=300",
                      firmware_dir(), path);
    make_shared(qts, BUF_GPA, 8);
    q = query(qts);
    g_assert_cmpint(qdict_get_int(q, "busy-limit"), ==, 300);
    r = qtest_qmp(qts, "{'execute': 'sev-snp-set-certs', 'arguments': "
                  "{'busy-limit': 40001}}");
    g_assert_true(qdict_haskey(r, "error"));
    qobject_unref(r);

    pid = hold_exclusive(path, &rel);
    t0 = g_get_monotonic_time();
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    for (;;) {
        r = inject(qts, 0, BUF_GPA, 4, false);
        if (qdict_get_int(r, "ret") != EAGAIN) {
            break;
        }
        qobject_unref(r);
        busy++;
        g_assert_cmpint(busy, <, 10000);
    }
    g_assert_cmpint(qdict_get_int(r, "ret"), ==, 0);
    qobject_unref(r);
    g_test_message("%d BUSY answers, then an empty table after %" PRId64
                   " ms", busy, (g_get_monotonic_time() - t0) / 1000);
    g_assert_cmpint(busy, >=, 1);
    check_empty_table(qts, BUF_GPA);
    g_assert_cmpuint(stat_of(qts, "busy-limit"), ==, 1);
    g_assert_cmpuint(stat_of(qts, "chainless"), ==, 1);

    /* 0 at run time: never BUSY. */
    qtest_qmp_assert_success(qts, "{'execute': 'sev-snp-set-certs', "
                             "'arguments': {'busy-limit': 0}}");
    expect_ret(qts, BUF_GPA, 4, 0);
    g_assert_cmpuint(stat_of(qts, "busy-limit"), ==, 2);
    release_exclusive(pid, rel);
    qtest_memset(qts, BUF_GPA - 4096, FILL, 16 * 4096);
    expect_ret(qts, BUF_GPA, 4, 0);
    check_guest_bytes(qts, blob, BUF_GPA, 4);
    qtest_quit(qts);
    unlink(path);
}

/*
 * A blob larger than the 16 KiB a Linux guest accepts: served, with a
 * warning at start-up and in the query.
 */
static void test_oversize_warning(void)
{
    GBytes *data[12];
    const char *guids[12];
    char *unknown[9];
    g_autoptr(GBytes) big = NULL;
    g_autofree char *path = NULL;
    g_autoptr(QDict) q = NULL;
    QTestState *qts;

    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 0, 0);
        g_test_trap_assert_passed();
        g_test_trap_assert_stderr("*warning*Linux guests get no "
                                  "certificates*");
        return;
    }

    /* An ARK, an ASK and a VCEK, and 9 more under GUIDs nobody knows. */
    for (int i = 0; i < 12; i++) {
        data[i] = entry_data(1639, i);
        if (i < 3) {
            guids[i] = kind_guid[i];
        } else {
            unknown[i - 3] = g_strdup_printf(
                "4d696c61-6e41-524b-8000-0000000000%02x", i);
            guids[i] = unknown[i - 3];
        }
    }
    big = make_table(guids, data, 12);
    for (int i = 0; i < 12; i++) {
        g_bytes_unref(data[i]);
    }
    for (int i = 0; i < 9; i++) {
        g_free(unknown[i]);
    }
    g_assert_cmpuint(g_bytes_get_size(big), >, 16384);
    path = write_blob("big.bin", big);

    qts = qtest_initf("-machine q35 -accel qtest -m 256M -nodefaults -L %s "
        "-object sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,"
        "certs-path=%s", firmware_dir(), path);
    q = query(qts);
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(q, "blob"),
                                          "guest-warning"), "16384"));
    qtest_quit(qts);
    unlink(path);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("sev-snp-qtest-XXXXXX", NULL);
    qtest_add_func("/sev-snp-certs/req-certs-rows", test_req_certs_rows);
    qtest_add_func("/sev-snp-certs/vmgexit-rows", test_vmgexit_rows);
    qtest_add_func("/sev-snp-certs/hold-and-busy", test_hold_and_busy);
    qtest_add_func("/sev-snp-certs/query-entries", test_query_entries);
    qtest_add_func("/sev-snp-certs/startup-refuses-bad-blob",
                   test_startup_refuses_bad_blob);
    qtest_add_func("/sev-snp-certs/serves-as-installed",
                   test_serves_as_installed);
    qtest_add_func("/sev-snp-certs/set-certs", test_set_certs);
    qtest_add_func("/sev-snp-certs/monitor-never-waits",
                   test_monitor_never_waits);
    qtest_add_func("/sev-snp-certs/timeout-bound", test_timeout_bound);
    qtest_add_func("/sev-snp-certs/global-defaults", test_global_defaults);
    qtest_add_func("/sev-snp-certs/host-fault", test_host_fault);
    qtest_add_func("/sev-snp-certs/events-per-reason",
                   test_events_per_reason);
    qtest_add_func("/sev-snp-certs/busy-limit", test_busy_limit);
    qtest_add_func("/sev-snp-certs/oversize-warning", test_oversize_warning);
    ret = g_test_run();
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
