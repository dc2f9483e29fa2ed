/*
 * libsevsnp unit tests: the certificate store (locks, cache, files)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static SevsnpCertTable *load(SevsnpCertStore *s, GError **err)
{
    return sevsnp_cert_store_load(s, 100, err);
}

/* Set mtime and ctime far in the past so the cache is not "racy". */
static void age_file(const char *path)
{
    struct timespec ts[2] = { { .tv_sec = 1000000000 },
                              { .tv_sec = 1000000000 } };

    g_assert_cmpint(utimensat(AT_FDCWD, path, ts, 0), ==, 0);
}

static void test_cache_hit(void)
{
    g_autoptr(GBytes) blob = test_milan_blob();
    g_autofree char *path = test_write_tmp(blob, "c.bin");
    SevsnpCertStore *s = sevsnp_cert_store_new(path, 0);
    SevsnpCertTable *t1, *t2;

    t1 = load(s, NULL);
    g_assert_nonnull(t1);
    /*
     * Right after the write the file is racy: the bytes are compared,
     * and equal bytes reuse the parse.
     */
    t2 = load(s, NULL);
    g_assert_true(t1 == t2);
    g_assert_cmpuint(sevsnp_cert_store_parse_count(s), ==, 1);
    sevsnp_cert_table_unref(t2);
    sevsnp_cert_table_unref(t1);
    sevsnp_cert_store_free(s);
    unlink(path);
}

static void test_cache_in_place_rewrite(void)
{
    g_autoptr(TestChain) a = test_chain_new("A", -1, 30);
    g_autoptr(GBytes) ba = test_chain_blob(a);
    g_autoptr(GBytes) bb = NULL;
    g_autofree char *path = test_write_tmp(ba, "c.bin");
    SevsnpCertStore *s = sevsnp_cert_store_new(path, 0);
    SevsnpCertTable *t;
    struct stat st1, st2;

    /*
     * ECDSA signatures vary in DER length: draw chains until one has
     * the same size, so that only content and times differ.
     */
    for (int i = 0; i < 200 && !bb; i++) {
        g_autoptr(TestChain) b = test_chain_new("B", -1, 30);
        g_autoptr(GBytes) cand = test_chain_blob(b);

        if (g_bytes_get_size(cand) == g_bytes_get_size(ba)) {
            bb = g_steal_pointer(&cand);
        }
    }
    g_assert_nonnull(bb);

    g_assert_cmpuint(g_bytes_get_size(ba), ==, g_bytes_get_size(bb));
    g_assert_cmpint(stat(path, &st1), ==, 0);
    t = load(s, NULL);
    g_assert_true(g_bytes_equal(sevsnp_cert_table_get_blob(t), ba));
    sevsnp_cert_table_unref(t);

    /*
     * Rewrite within the same clock tick: metadata may not change, the
     * byte comparison catches it.
     */
    test_rewrite_in_place(path, bb);
    g_assert_cmpint(stat(path, &st2), ==, 0);
    g_assert_cmpuint(st1.st_ino, ==, st2.st_ino);
    t = load(s, NULL);
    g_assert_true(g_bytes_equal(sevsnp_cert_table_get_blob(t), bb));
    sevsnp_cert_table_unref(t);
    g_assert_cmpuint(sevsnp_cert_store_parse_count(s), ==, 2);

    /* An old, stable file is recognised by metadata alone... */
    age_file(path);
    t = load(s, NULL);
    sevsnp_cert_table_unref(t);
    g_assert_cmpuint(sevsnp_cert_store_parse_count(s), ==, 3);
    t = load(s, NULL);
    sevsnp_cert_table_unref(t);
    g_assert_cmpuint(sevsnp_cert_store_parse_count(s), ==, 3);
    g_assert_cmpuint(sevsnp_cert_store_cache_hits(s), >=, 1);

    /* ...and a rewrite after that changes ctime and is seen. */
    test_rewrite_in_place(path, ba);
    t = load(s, NULL);
    g_assert_true(g_bytes_equal(sevsnp_cert_table_get_blob(t), ba));
    sevsnp_cert_table_unref(t);
    sevsnp_cert_store_free(s);
    unlink(path);
}

static void test_cache_rename(void)
{
    g_autoptr(TestChain) a = test_chain_new("A", -1, 30);
    g_autoptr(TestChain) b = test_chain_new("B", -1, 30);
    g_autoptr(GBytes) ba = test_chain_blob(a);
    g_autoptr(GBytes) bb = test_chain_blob(b);
    g_autofree char *path = test_write_tmp(ba, "c.bin");
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *other = g_build_filename(dir, "new.bin", NULL);
    SevsnpCertStore *s = sevsnp_cert_store_new(path, 0);
    SevsnpCertTable *t;
    SevsnpCertLease *lease;

    age_file(path);
    t = load(s, NULL);
    sevsnp_cert_table_unref(t);

    /*
     * A lease taken before the rename keeps the old inode locked and the
     * old table.
     */
    lease = sevsnp_cert_store_acquire(s, 0, NULL);
    g_assert_nonnull(lease);
    g_file_set_contents(other, g_bytes_get_data(bb, NULL),
                        g_bytes_get_size(bb), NULL);
    age_file(other);
    g_assert_cmpint(rename(other, path), ==, 0);
    g_assert_true(g_bytes_equal(
        sevsnp_cert_table_get_blob(sevsnp_cert_lease_get_table(lease)), ba));

    /* A new request sees the new inode, even with old timestamps. */
    t = load(s, NULL);
    g_assert_true(g_bytes_equal(sevsnp_cert_table_get_blob(t), bb));
    sevsnp_cert_table_unref(t);
    sevsnp_cert_lease_release(lease);
    sevsnp_cert_store_free(s);
    unlink(path);
}

static void test_missing_oversized_malformed(void)
{
    g_autoptr(GBytes) blob = test_milan_blob();
    g_autofree char *path = test_write_tmp(blob, "c.bin");
    SevsnpCertStore *small = sevsnp_cert_store_new(path, 1000);
    SevsnpCertStore *s = sevsnp_cert_store_new(path, 0);
    SevsnpCertStore *dir = NULL;
    g_autofree char *d = g_path_get_dirname(path);
    GError *err = NULL;
    SevsnpCertTable *t;

    t = load(small, &err);
    g_assert_null(t);
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_TOO_LARGE);
    g_assert_nonnull(strstr(err->message, path));
    g_clear_error(&err);

    /* Truncated in place: the parse fails, and names the file. */
    g_assert_cmpint(truncate(path, 100), ==, 0);
    t = load(s, &err);
    g_assert_null(t);
    g_assert_nonnull(strstr(err->message, path));
    g_clear_error(&err);

    unlink(path);
    t = load(s, &err);
    g_assert_null(t);
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO);
    g_clear_error(&err);

    /* A directory is not a blob. */
    dir = sevsnp_cert_store_new(d, 0);
    t = load(dir, &err);
    g_assert_null(t);
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO);
    g_clear_error(&err);

    sevsnp_cert_store_free(dir);
    sevsnp_cert_store_free(small);
    sevsnp_cert_store_free(s);
}

/* @blob with the data of its entry of @type changed by @change. */
static GBytes *changed_entry(GBytes *blob, SevsnpCertType type,
                             void (*change)(uint8_t *p, size_t len))
{
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, 0, NULL);
    const SevsnpCertEntry *e = sevsnp_cert_table_find(t, type);
    gsize len;
    const uint8_t *data = g_bytes_get_data(blob, &len);
    uint8_t *b = g_memdup2(data, len);

    change(b + e->offset, e->length);
    sevsnp_cert_table_unref(t);
    return g_bytes_new_take(b, len);
}

static void junk(uint8_t *p, size_t len)
{
    memset(p, 0x5a, len);
}

static void flip_last(uint8_t *p, size_t len)
{
    p[len - 1] ^= 1;
}

/*
 * A table whose structure is right and whose entries are not what their
 * GUIDs say: the VCEK's bytes all 0x5a (no DER at all), or the VCEK's
 * signature changed (its last byte).  QEMU's copy of the library checks
 * the structure alone and serves both as they are (the operator's tool
 * judges chains); the standalone library refuses the first in the parse
 * and, unless told otherwise, the second in the store.
 */
static void test_what_entries_hold(void)
{
    g_autoptr(GBytes) milan = test_milan_blob();
    g_autoptr(GBytes) nonder = changed_entry(milan, SEVSNP_CERT_VCEK, junk);
    g_autoptr(GBytes) flipped = changed_entry(milan, SEVSNP_CERT_VCEK,
                                              flip_last);
    GBytes *blobs[] = { nonder, flipped };
#ifdef SEVSNP_HAVE_X509
    static const int codes[] = {
        SEVSNP_ERROR_BAD_DER, SEVSNP_ERROR_BAD_SIGNATURE,
    };
#endif

    for (int i = 0; i < 2; i++) {
        g_autofree char *path = test_write_tmp(blobs[i], "w.bin");
        SevsnpCertStore *s = sevsnp_cert_store_new(path, 0);
        GError *err = NULL;
        SevsnpCertTable *t = load(s, &err);

#ifdef SEVSNP_HAVE_X509
        g_assert_null(t);
        g_assert_error(err, SEVSNP_ERROR, codes[i]);
        g_assert_nonnull(strstr(err->message, path));
        g_clear_error(&err);
        sevsnp_cert_store_free(s);
        /* Not even a tool that reads bad chains reads what is no DER. */
        s = sevsnp_cert_store_new(path, 0);
        sevsnp_cert_store_set_check_signatures(s, FALSE);
        t = load(s, &err);
        if (i == 0) {
            g_assert_null(t);
            g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER);
            g_clear_error(&err);
            sevsnp_cert_store_free(s);
            unlink(path);
            continue;
        }
#endif
        g_assert_no_error(err);
        g_assert_nonnull(t);
        g_assert_true(g_bytes_equal(sevsnp_cert_table_get_blob(t),
                                    blobs[i]));
        g_assert_cmpuint(sevsnp_cert_table_n_entries(t), ==, 3);
        sevsnp_cert_table_unref(t);
        sevsnp_cert_store_free(s);
        unlink(path);
    }
}

static void test_leases_independent(void)
{
    g_autoptr(GBytes) blob = test_milan_blob();
    g_autofree char *path = test_write_tmp(blob, "c.bin");
    SevsnpCertStore *s = sevsnp_cert_store_new(path, 0);
    SevsnpCertLease *l1 = sevsnp_cert_store_acquire(s, 0, NULL);
    SevsnpCertLease *l2 = sevsnp_cert_store_acquire(s, 0, NULL);
    int fd = open(path, O_RDWR);
    GError *err = NULL;

    g_assert_nonnull(l1);
    g_assert_nonnull(l2);
    /* Releasing one request's lease leaves the other's locks held. */
    sevsnp_cert_lease_release(l1);
    g_assert_false(sevsnp_lock_exclusive(fd, 0, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BUSY);
    g_clear_error(&err);
    sevsnp_cert_lease_release(l2);
    g_assert_true(sevsnp_lock_exclusive(fd, 0, &err));
    g_assert_no_error(err);
    /* While an updater holds them, readers are refused. */
    g_assert_null(sevsnp_cert_store_acquire(s, 20, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BUSY);
    g_clear_error(&err);
    close(fd);
    sevsnp_cert_store_free(s);
    unlink(path);
}

/* sevsnp_file_read(): what input files of the tool and builders get. */
static void test_file_read(void)
{
    g_autoptr(GBytes) blob = test_milan_blob();
    g_autofree char *path = test_write_tmp(blob, "f.bin");
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
    g_autoptr(GBytes) got = NULL;
    GError *err = NULL;

    got = sevsnp_file_read(path, 0, &err);
    g_assert_no_error(err);
    g_assert_true(g_bytes_equal(got, blob));

    /* Larger than the cap: refused before reading. */
    g_assert_null(sevsnp_file_read(path, 100, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_TOO_LARGE);
    g_assert_nonnull(strstr(err->message, path));
    g_clear_error(&err);

    /* A FIFO would block for ever: refused, at once. */
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    g_assert_null(sevsnp_file_read(fifo, 0, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO);
    g_assert_nonnull(strstr(err->message, "not a regular file"));
    g_clear_error(&err);
    unlink(fifo);

    g_assert_null(sevsnp_file_read("/nonexistent/x", 0, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO);
    g_clear_error(&err);
    unlink(path);
}

/*
 * tests/data has the Milan ARK and ASK as PEM (as AMD publishes them)
 * and as DER (for the qtests, which link no PEM reader): the same
 * certificates.
 */
static void test_data_der_matches_pem(void)
{
    static const struct {
        SevsnpCertType type;
        const char *der;
    } certs[] = {
        { SEVSNP_CERT_ARK, "milan-ark.der" },
        { SEVSNP_CERT_ASK, "milan-ask.der" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(certs); i++) {
        g_autoptr(GBytes) from_pem = test_milan(certs[i].type);
        g_autoptr(GBytes) der = test_data(certs[i].der);

        g_assert_true(g_bytes_equal(from_pem, der));
    }
}

/* QEMU's copy of libsevsnp: the same tests, named apart. */
#ifdef SEVSNP_HAVE_X509
#define PREFIX "/store/"
#else
#define PREFIX "/store-qemu/"
#endif

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func(PREFIX "cache-hit", test_cache_hit);
    g_test_add_func(PREFIX "cache-in-place-rewrite",
                    test_cache_in_place_rewrite);
    g_test_add_func(PREFIX "cache-rename", test_cache_rename);
    g_test_add_func(PREFIX "missing-oversized-malformed",
                    test_missing_oversized_malformed);
    g_test_add_func(PREFIX "what-entries-hold", test_what_entries_hold);
    g_test_add_func(PREFIX "leases-independent", test_leases_independent);
    g_test_add_func(PREFIX "file-read", test_file_read);
    g_test_add_func(PREFIX "test-data-der", test_data_der_matches_pem);
    return g_test_run();
}
