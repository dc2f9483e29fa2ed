/*
 * snp-certs tests: the tool as users run it (a separate process), on the
 * real AMD Milan and Genoa certificates and on generated chains.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "ksim.h"
#include "testutil.h"
#include "tooltest.h"

/* The error is one line naming the file. */
static void assert_one_line_error(const Run *r, const char *file)
{
    size_t len = strlen(r->err);

    g_assert_cmpuint(len, >, 1);
    g_assert_true(strchr(r->err, '\n') == r->err + len - 1);
    if (file) {
        assert_contains(r->err, file);
    }
}

/* The Milan inputs as files: PEM ARK/ASK of tests/data, DER VCEK. */
static char *milan_blob_file(const char *name)
{
    g_auto(Run) r = { 0 };
    char *out = tmp_path(name);

    run_tool(&r, "build", "--ark", TESTDATA_DIR "/milan-ark.pem",
             "--ask", TESTDATA_DIR "/milan-ask.pem",
             "--vcek", TESTDATA_DIR "/milan-vcek.der", "-o", out, NULL);
    g_assert_cmpint(r.status, ==, 0);
    return out;
}

static void test_help(void)
{
    const char *cmds[] = { "build", "show", "verify", "extract", "install",
                           "lock", "report", "fetch", "host" };
    g_auto(Run) r = { 0 };
    g_auto(Run) u = { 0 };

    run_tool(&r, "--help", NULL);
    g_assert_cmpint(r.status, ==, 0);
    for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
        g_auto(Run) c = { 0 };

        assert_contains(r.out, cmds[i]);
        run_tool(&c, cmds[i], "--help", NULL);
        g_assert_cmpint(c.status, ==, 0);
        assert_contains(c.out, cmds[i]);
    }
    run_tool(&u, "frobnicate", NULL);
    g_assert_cmpint(u.status, ==, 2);
    assert_contains(u.err, "unknown command 'frobnicate'");
}

static void test_build_pem_der_same(void)
{
    g_autofree char *from_pem = milan_blob_file("pem.blob");
    g_autofree char *from_der = tmp_path("der.blob");
    g_autofree char *ark = NULL, *ask = NULL, *vcek_pem = NULL;
    g_autoptr(GBytes) ark_der = test_milan(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) ask_der = test_milan(SEVSNP_CERT_ASK);
    g_autoptr(GBytes) a = NULL, b = NULL, expect = test_milan_blob();
    g_auto(Run) r = { 0 };
    g_auto(Run) e = { 0 };
    g_autofree char *dir = tmp_path("pemdir");

    ark = write_tmp("ark.der", ark_der);
    ask = write_tmp("ask.der", ask_der);
    run_tool(&r, "build", "--ark", ark, "--ask", ask,
             "--vcek", TESTDATA_DIR "/milan-vcek.der", "-o", from_der, NULL);
    g_assert_cmpint(r.status, ==, 0);
    a = read_file(from_pem);
    b = read_file(from_der);
    g_assert_true(g_bytes_equal(a, b));
    /* The same bytes as the library builds (inputs stored as DER). */
    g_assert_true(g_bytes_equal(a, expect));

    /* A PEM VCEK (from extract --pem) gives the same blob again. */
    run_tool(&e, "extract", "--pem", from_pem, dir, NULL);
    g_assert_cmpint(e.status, ==, 0);
    vcek_pem = g_build_filename(dir, "vcek.pem", NULL);
    {
        g_auto(Run) r2 = { 0 };
        g_autofree char *out = tmp_path("pem2.blob");
        g_autofree char *ark_pem = g_build_filename(dir, "ark.pem", NULL);
        g_autofree char *ask_pem = g_build_filename(dir, "ask.pem", NULL);
        g_autoptr(GBytes) c = NULL;

        run_tool(&r2, "build", "--ark", ark_pem, "--ask", ask_pem,
                 "--vcek", vcek_pem, "-o", out, NULL);
        g_assert_cmpint(r2.status, ==, 0);
        c = read_file(out);
        g_assert_true(g_bytes_equal(a, c));
    }
}

static void test_show_milan(void)
{
    g_autofree char *blob = milan_blob_file("show.blob");
    g_auto(Run) r = { 0 };
    g_auto(Run) j = { 0 };
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) err = NULL;
    const char *cns[] = { "ARK-Milan", "SEV-Milan", "SEV-VCEK" };
    const char *types[] = { "ark", "ask", "vcek" };
    JsonObject *root;
    JsonArray *entries;

    run_tool(&r, "show", blob, NULL);
    g_assert_cmpint(r.status, ==, 0);
    for (guint i = 0; i < 3; i++) {
        assert_contains(r.out, cns[i]);
    }
    assert_contains(r.out, "c0b406a4-a803-4952-9743-3fb6014cd0ae");
    assert_contains(r.out, "EC-P-384");
    assert_contains(r.out, "chain: valid");

    run_tool(&j, "show", "--json", blob, NULL);
    g_assert_cmpint(j.status, ==, 0);
    g_assert_true(json_parser_load_from_data(p, j.out, -1, &err));
    g_assert_no_error(err);
    root = json_node_get_object(json_parser_get_root(p));
    entries = json_object_get_array_member(root, "entries");
    g_assert_cmpuint(json_array_get_length(entries), ==, 3);
    for (guint i = 0; i < 3; i++) {
        JsonObject *e = json_array_get_object_element(entries, i);

        g_assert_cmpstr(json_object_get_string_member(e, "type"), ==,
                        types[i]);
        g_assert_cmpstr(json_object_get_string_member(e, "common-name"), ==,
                        cns[i]);
        g_assert_cmpint(json_object_get_int_member(e, "length"), >, 0);
        g_assert_nonnull(json_object_get_string_member(e,
                                                       "fingerprint-sha384"));
    }
    g_assert_cmpstr(json_object_get_string_member(
                        json_object_get_object_member(root, "chain"),
                        "status"), ==, "valid");
    g_assert_cmpint(strlen(json_object_get_string_member(root, "sha256")),
                    ==, 64);
}

static void test_verify_milan(void)
{
    g_autofree char *blob = milan_blob_file("verify.blob");
    g_autoptr(GBytes) b = read_file(blob);
    g_autoptr(GByteArray) a = g_byte_array_new();
    g_autofree char *bad = NULL;
    g_auto(Run) r = { 0 };
    g_auto(Run) f = { 0 };

    run_tool(&r, "verify", blob, NULL);
    g_assert_cmpint(r.status, ==, 0);
    assert_contains(r.out, "valid");

    /* One flipped byte in the VCEK's signature (the blob's last byte). */
    g_byte_array_append(a, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
    a->data[a->len - 1] ^= 0x01;
    {
        g_autoptr(GBytes) fb = g_bytes_new(a->data, a->len);
        bad = write_tmp("flipped.blob", fb);
    }
    run_tool(&f, "verify", bad, NULL);
    g_assert_cmpint(f.status, ==, 1);
    assert_one_line_error(&f, bad);
    assert_contains(f.err, "VCEK (SEV-VCEK) is not signed by ASK");
}

static void test_verify_genoa_milan(void)
{
    g_autofree char *out = tmp_path("genoa-milan.blob");
    g_auto(Run) b = { 0 };
    g_auto(Run) r = { 0 };

    run_tool(&b, "build", "--ark", TESTDATA_DIR "/genoa-ark.pem",
             "--ask", TESTDATA_DIR "/genoa-ask.pem",
             "--vcek", TESTDATA_DIR "/milan-vcek.der", "-o", out, NULL);
    g_assert_cmpint(b.status, ==, 0);
    run_tool(&r, "verify", out, NULL);
    g_assert_cmpint(r.status, ==, 1);
    assert_one_line_error(&r, out);
    assert_contains(r.err, "not signed by ASK (SEV-Genoa)");
}

static void put32(GByteArray *a, size_t off, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(a->data + off, &v, 4);
}

/* Every parser rejection reaches the user as status 1 with its reason. */
static void test_bad_blobs(void)
{
    static const struct {
        const char *name;
        const char *needle;
    } cases[] = {
        { "truncated", "no terminating all-zero entry" },
        { "zero-guid", "all-zero GUID" },
        { "empty-entry", "has length 0" },
        { "out-of-bounds", "is not inside" },
        { "overlap", "overlaps entry" },
        { "duplicate", "repeats the GUID" },
        { "bad-der", "are not" },
        { "stray", "belong to no entry" },
    };
    g_autoptr(GBytes) milan = test_milan_blob();
    gsize len;
    const uint8_t *m = g_bytes_get_data(milan, &len);

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GByteArray) a = g_byte_array_new();
        g_autoptr(GBytes) b = NULL;
        g_autofree char *path = NULL;
        g_autofree char *name = g_strconcat(cases[i].name, ".blob", NULL);

        g_byte_array_append(a, m, len);
        switch (i) {
        case 0:
            g_byte_array_set_size(a, 60);
            break;
        case 1:
            memset(a->data + 24, 0, 16);
            break;
        case 2:
            put32(a, 24 + 20, 0);
            break;
        case 3:
            put32(a, 20, len);
            break;
        case 4:
            put32(a, 24 + 16, 100);    /* ASK starts inside the ARK */
            break;
        case 5:
            memcpy(a->data + 24, a->data, 16);
            break;
        case 6:
            a->data[a->data[16] | (a->data[17] << 8)] ^= 0xff;
            break;
        case 7:
            g_byte_array_append(a, (const guint8 *)"x", 1);
            break;
        }
        b = g_bytes_new(a->data, a->len);
        path = write_tmp(name, b);
        for (guint c = 0; c < 2; c++) {
            g_auto(Run) r = { 0 };

            run_tool(&r, c ? "verify" : "show", path, NULL);
            g_test_message("%s: %s", cases[i].name, r.err);
            g_assert_cmpint(r.status, ==, 1);
            assert_one_line_error(&r, path);
            assert_contains(r.err, cases[i].needle);
        }
    }
}

static void test_bad_usage(void)
{
    g_autofree char *missing = tmp_path("no-such-file");
    g_autofree char *text = tmp_path("text.pem");
    g_autofree char *out = tmp_path("never.blob");
    g_auto(Run) r1 = { 0 };
    g_auto(Run) r2 = { 0 };
    g_auto(Run) r3 = { 0 };
    g_auto(Run) r4 = { 0 };
    g_auto(Run) r5 = { 0 };
    g_auto(Run) r6 = { 0 };
    g_auto(Run) r7 = { 0 };
    g_auto(Run) r8 = { 0 };
    g_auto(Run) r9 = { 0 };
    g_auto(Run) r10 = { 0 };
    g_autofree char *fifo = tmp_path("fifo");

    run_tool(&r1, "show", missing, NULL);
    g_assert_cmpint(r1.status, ==, 2);
    assert_one_line_error(&r1, missing);
    assert_contains(r1.err, "No such file");

    g_assert_true(g_file_set_contents(text, "hello\n", -1, NULL));
    run_tool(&r2, "build", "--ark", text, "-o", out, NULL);
    g_assert_cmpint(r2.status, ==, 2);
    assert_one_line_error(&r2, text);

    run_tool(&r3, "build", "--ark", missing, "-o", out, NULL);
    g_assert_cmpint(r3.status, ==, 2);
    assert_one_line_error(&r3, missing);

    run_tool(&r4, "build", "--ask", TESTDATA_DIR "/milan-ask.pem",
             "--entry", "4ab7b379-bbac-4fe4-a02f-05aef327c782="
             TESTDATA_DIR "/milan-ask.pem", "-o", out, NULL);
    g_assert_cmpint(r4.status, ==, 2);
    assert_contains(r4.err, "both give an entry of GUID");

    run_tool(&r5, "build", "--entry", "not-a-guid=x", "-o", out, NULL);
    g_assert_cmpint(r5.status, ==, 2);
    assert_contains(r5.err, "is not a GUID");

    run_tool(&r6, "build", "--ark", TESTDATA_DIR "/milan-ark.pem", NULL);
    g_assert_cmpint(r6.status, ==, 2);
    assert_contains(r6.err, "no output file");

    run_tool(&r7, "show", "--bogus", out, NULL);
    g_assert_cmpint(r7.status, ==, 2);
    g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));

    /* A timeout that is not a number of seconds. */
    run_tool(&r8, "show", "--timeout", "nan", TESTDATA_DIR "/milan-ark.pem",
             NULL);
    g_assert_cmpint(r8.status, ==, 2);
    assert_contains(r8.err, "is not a number of seconds");

    /* A FIFO as input would block for ever: refused at once. */
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    run_tool(&r9, "build", "--ark", fifo, "-o", out, NULL);
    g_assert_cmpint(r9.status, ==, 2);
    assert_contains(r9.err, "not a regular file");
    run_tool(&r10, "install", fifo, out, NULL);
    g_assert_cmpint(r10.status, ==, 2);
    g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
    unlink(fifo);
}

static void test_extract(void)
{
    g_autoptr(TestChain) c = test_chain_new("X", -1, 30);
    g_autofree char *crl = write_tmp("x.crl", c->crl);
    g_autofree char *ark = write_tmp("x-ark.der", c->ark);
    g_autofree char *other = write_tmp("x-other.der", c->ask);
    g_autofree char *blob = tmp_path("x.blob");
    g_autofree char *dir = tmp_path("extract");
    g_autofree char *entry =
        g_strconcat("01020304-0506-0708-090a-0b0c0d0e0f10=", other, NULL);
    g_autofree char *p = NULL;
    g_autoptr(GBytes) got = NULL;
    g_auto(Run) b = { 0 };
    g_auto(Run) e = { 0 };

    run_tool(&b, "build", "--ark", ark, "--crl", crl, "--entry", entry,
             "-o", blob, NULL);
    g_assert_cmpint(b.status, ==, 0);
    run_tool(&e, "extract", blob, dir, NULL);
    g_assert_cmpint(e.status, ==, 0);
    p = g_build_filename(dir, "ark.der", NULL);
    got = read_file(p);
    g_assert_true(g_bytes_equal(got, c->ark));
    g_clear_pointer(&p, g_free);
    g_clear_pointer(&got, g_bytes_unref);
    p = g_build_filename(dir, "crl.der", NULL);
    got = read_file(p);
    g_assert_true(g_bytes_equal(got, c->crl));
    g_clear_pointer(&p, g_free);
    g_clear_pointer(&got, g_bytes_unref);
    /* Unknown GUIDs are carried through and named by GUID. */
    p = g_build_filename(dir, "01020304-0506-0708-090a-0b0c0d0e0f10.bin",
                         NULL);
    got = read_file(p);
    g_assert_true(g_bytes_equal(got, c->ask));
}

/* ---- install and lock -------------------------------------------------- */

/* Hold the exclusive locks on @path from this process; returns the fd. */
static int hold_exclusive(const char *path)
{
    int fd = sevsnp_open_locked(path, false, true, 0, NULL);

    g_assert_cmpint(fd, >=, 0);
    return fd;
}

/*
 * install is where a chain is judged before QEMU serves it (QEMU checks
 * the table's structure alone): a well-formed blob whose chain does not
 * verify (the VCEK's signature changed; a Genoa ASK over a Milan VCEK)
 * is refused with 1 and the target stays as it was, unless the operator
 * says --allow-invalid-chain; entries that are no certificates at all
 * are refused even then.
 */
static void test_install_refuses_bad_chain(void)
{
    g_autofree char *milan = milan_blob_file("chain-good.blob");
    g_autofree char *genoa = tmp_path("chain-genoa-milan.blob");
    g_autofree char *target = tmp_path("chain-target.blob");
    g_autoptr(GBytes) want = read_file(milan);
    g_autoptr(GBytes) got = NULL;
    g_autoptr(GByteArray) a = g_byte_array_new();
    g_autoptr(GBytes) flipped = NULL;
    g_autoptr(GBytes) nonder = NULL;
    g_autofree char *flipped_path = NULL;
    g_autofree char *nonder_path = NULL;
    g_auto(Run) b = { 0 };
    g_auto(Run) r0 = { 0 };
    g_auto(Run) r1 = { 0 };
    g_auto(Run) r2 = { 0 };
    g_auto(Run) r3 = { 0 };
    g_auto(Run) r4 = { 0 };
    uint32_t off, len;

    run_tool(&r0, "install", milan, target, NULL);
    g_assert_cmpint(r0.status, ==, 0);

    /* The VCEK's signature: the blob's last byte (its last entry). */
    g_byte_array_append(a, g_bytes_get_data(want, NULL),
                        g_bytes_get_size(want));
    a->data[a->len - 1] ^= 0x01;
    flipped = g_bytes_new(a->data, a->len);
    flipped_path = write_tmp("chain-flipped.blob", flipped);
    run_tool(&r1, "install", flipped_path, target, NULL);
    g_assert_cmpint(r1.status, ==, 1);
    assert_one_line_error(&r1, flipped_path);
    assert_contains(r1.err, "chain invalid: VCEK (SEV-VCEK) is not signed "
                    "by ASK");
    assert_contains(r1.err, "not installed");
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, want));
    g_clear_pointer(&got, g_bytes_unref);

    run_tool(&b, "build", "--ark", TESTDATA_DIR "/genoa-ark.pem",
             "--ask", TESTDATA_DIR "/genoa-ask.pem",
             "--vcek", TESTDATA_DIR "/milan-vcek.der", "-o", genoa, NULL);
    g_assert_cmpint(b.status, ==, 0);
    run_tool(&r2, "install", genoa, target, NULL);
    g_assert_cmpint(r2.status, ==, 1);
    assert_contains(r2.err, "not signed by ASK (SEV-Genoa)");
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, want));
    g_clear_pointer(&got, g_bytes_unref);

    /* The VCEK's bytes all 0x5a: no certificate, refused even so. */
    memcpy(&off, a->data + 2 * 24 + 16, 4);
    memcpy(&len, a->data + 2 * 24 + 20, 4);
    memset(a->data + GUINT32_FROM_LE(off), 0x5a, GUINT32_FROM_LE(len));
    nonder = g_bytes_new(a->data, a->len);
    nonder_path = write_tmp("chain-nonder.blob", nonder);
    run_tool(&r3, "install", "--allow-invalid-chain", nonder_path, target,
             NULL);
    g_assert_cmpint(r3.status, ==, 1);
    assert_contains(r3.err, "are not a DER X.509 certificate");
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, want));
    g_clear_pointer(&got, g_bytes_unref);

    /* The operator's word: installed as it is. */
    run_tool(&r4, "install", "--allow-invalid-chain", flipped_path, target,
             NULL);
    g_assert_cmpint(r4.status, ==, 0);
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, flipped));
}

static void test_install_basic(void)
{
    g_autofree char *milan = milan_blob_file("install-new.blob");
    g_autofree char *target = tmp_path("install-target.blob");
    g_autoptr(TestChain) c = test_chain_new("Old", -1, 30);
    g_autoptr(GBytes) old = test_chain_blob(c);
    g_autoptr(GBytes) want = read_file(milan);
    g_autoptr(GBytes) got = NULL;
    g_autofree char *bad = NULL;
    g_auto(Run) r = { 0 };
    g_auto(Run) b = { 0 };
    g_auto(Run) busy = { 0 };
    GStatBuf st1, st2;
    int fd;

    /* Absent target: created. */
    run_tool(&r, "install", milan, target, NULL);
    g_assert_cmpint(r.status, ==, 0);
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, want));
    g_clear_pointer(&got, g_bytes_unref);

    /* Invalid NEW: refused with 1, target untouched (same bytes). */
    {
        g_autoptr(GByteArray) a = g_byte_array_new();
        g_autoptr(GBytes) ab = NULL;

        g_byte_array_append(a, g_bytes_get_data(want, NULL), 40);
        ab = g_bytes_new(a->data, a->len);
        bad = write_tmp("install-bad.blob", ab);
    }
    run_tool(&b, "install", bad, target, NULL);
    g_assert_cmpint(b.status, ==, 1);
    assert_one_line_error(&b, bad);
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, want));
    g_clear_pointer(&got, g_bytes_unref);

    /* Locks held by another updater: 3, untouched. */
    g_assert_cmpint(g_stat(target, &st1), ==, 0);
    fd = hold_exclusive(target);
    {
        g_autofree char *oldp = write_tmp("install-old.blob", old);

        run_tool(&busy, "install", "--timeout", "0.2", oldp, target, NULL);
    }
    close(fd);
    g_assert_cmpint(busy.status, ==, 3);
    assert_one_line_error(&busy, target);
    assert_contains(busy.err, "not obtained within");
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, want));
    g_clear_pointer(&got, g_bytes_unref);

    /* A shorter blob: rewritten in place (same inode), cut to size. */
    {
        g_autofree char *oldp = write_tmp("install-old.blob", old);
        g_auto(Run) r2 = { 0 };

        g_assert_cmpuint(g_bytes_get_size(old), <, g_bytes_get_size(want));
        run_tool(&r2, "install", oldp, target, NULL);
        g_assert_cmpint(r2.status, ==, 0);
    }
    g_assert_cmpint(g_stat(target, &st2), ==, 0);
    g_assert_cmpuint(st1.st_ino, ==, st2.st_ino);
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, old));
}

/* An install killed while waiting for the locks leaves the old blob. */
static void test_install_killed(void)
{
    g_autofree char *milan = milan_blob_file("killed-new.blob");
    g_autofree char *target = tmp_path("killed-target.blob");
    g_autoptr(TestChain) c = test_chain_new("Old", -1, 30);
    g_autoptr(GBytes) old = test_chain_blob(c);
    g_autoptr(GBytes) got = NULL;
    const char *argv[] = { tool, "install", "--timeout", "-1", milan, target,
                           NULL };
    g_autoptr(GError) err = NULL;
    GPid pid;
    int fd, ws;

    test_rewrite_in_place(target, old);
    fd = hold_exclusive(target);
    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                &err));
    g_usleep(200 * 1000);
    kill(pid, SIGKILL);
    g_assert_cmpint(waitpid(pid, &ws, 0), ==, pid);
    g_assert_true(WIFSIGNALED(ws));
    close(fd);
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, old));
}

static void test_lock_cmd(void)
{
    g_autofree char *target = milan_blob_file("lock.blob");
    g_autofree char *absent = tmp_path("lock-absent.blob");
    g_auto(Run) r = { 0 };
    g_auto(Run) s = { 0 };
    g_auto(Run) busy = { 0 };
    g_auto(Run) missing = { 0 };
    g_auto(Run) usage = { 0 };
    int fd;

    /* Readers are blocked while CMD runs: a reader run as CMD gets BUSY. */
    run_tool(&r, "lock", target, "--", tool, "verify", "--timeout", "0",
             target, NULL);
    g_assert_cmpint(r.status, ==, 3);
    assert_contains(r.err, "shared locks were not obtained");
    /* ... and free as soon as lock returns. */
    g_assert_false(ksim_lock_blocked(target, false, true));
    g_assert_false(ksim_lock_blocked(target, false, false));
    g_assert_false(ksim_lock_blocked(target, true, true));
    g_assert_false(ksim_lock_blocked(target, true, false));

    /* CMD's exit status, and its arguments untouched by option parsing. */
    run_tool(&s, "lock", "--timeout", "1", target, "--", "sh", "-c",
             "exit 7", NULL);
    g_assert_cmpint(s.status, ==, 7);

    fd = hold_exclusive(target);
    run_tool(&busy, "lock", "--timeout", "0.1", target, "--", "true", NULL);
    close(fd);
    g_assert_cmpint(busy.status, ==, 3);
    assert_one_line_error(&busy, target);

    run_tool(&missing, "lock", absent, "--", "true", NULL);
    g_assert_cmpint(missing.status, ==, 2);
    assert_one_line_error(&missing, absent);

    run_tool(&usage, "lock", target, "true", NULL);
    g_assert_cmpint(usage.status, ==, 2);
}

/*
 * A reader process takes the shared locks in a loop, as a VMM does, while
 * install alternates two blobs of different sizes: every read must be one
 * of the two blobs, byte for byte.
 */
static void test_install_never_torn(void)
{
    g_autoptr(TestChain) c = test_chain_new("Other", -1, 30);
    g_autoptr(GBytes) a = test_milan_blob();
    g_autoptr(GBytes) b = test_chain_blob(c);
    g_autofree char *pa = write_tmp("torn-a.blob", a);
    g_autofree char *pb = write_tmp("torn-b.blob", b);
    g_autofree char *target = tmp_path("torn-target.blob");
    int pipefd[2];
    guint64 counts[4] = { 0 };   /* reads, saw a, saw b, torn */
    pid_t pid;
    int ws;

    test_rewrite_in_place(target, a);
    g_assert_cmpint(pipe(pipefd), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        guint64 n[4] = { 0 };

        close(pipefd[0]);
        while (n[0] < 1000000) {
            int fd = open(target, O_RDONLY);
            char buf[16384];
            ssize_t len;

            if (fd < 0) {
                break;      /* the parent removed the file: done */
            }
            if (!sevsnp_lock_shared(fd, G_MAXUINT, NULL)) {
                _exit(1);
            }
            len = pread(fd, buf, sizeof(buf), 0);
            close(fd);
            n[0]++;
            if (len == (ssize_t)g_bytes_get_size(a) &&
                !memcmp(buf, g_bytes_get_data(a, NULL), len)) {
                n[1]++;
            } else if (len == (ssize_t)g_bytes_get_size(b) &&
                       !memcmp(buf, g_bytes_get_data(b, NULL), len)) {
                n[2]++;
            } else {
                n[3]++;
            }
        }
        if (write(pipefd[1], n, sizeof(n)) != sizeof(n)) {
            _exit(1);
        }
        _exit(0);
    }
    close(pipefd[1]);
    for (guint i = 0; i < 40; i++) {
        g_auto(Run) r = { 0 };

        run_tool(&r, "install", (i & 1) ? pa : pb, target, NULL);
        g_assert_cmpint(r.status, ==, 0);
    }
    g_assert_cmpint(g_unlink(target), ==, 0);
    g_assert_cmpint(read(pipefd[0], counts, sizeof(counts)), ==,
                    sizeof(counts));
    close(pipefd[0]);
    g_assert_cmpint(waitpid(pid, &ws, 0), ==, pid);
    g_assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    g_test_message("reads %" G_GUINT64_FORMAT ", old %" G_GUINT64_FORMAT
                   ", new %" G_GUINT64_FORMAT ", torn %" G_GUINT64_FORMAT,
                   counts[0], counts[1], counts[2], counts[3]);
    g_assert_cmpuint(counts[3], ==, 0);
    g_assert_cmpuint(counts[1], >, 0);
    g_assert_cmpuint(counts[2], >, 0);
}

/*
 * A blob above the 16 KiB a Linux guest accepts: build, verify and
 * install accept it (status 0) and warn; a normal blob gets no warning.
 */
static void test_guest_size_warning(void)
{
    g_autofree char *small = milan_blob_file("small.blob");
    g_autofree char *big = tmp_path("big.blob");
    g_autofree char *target = tmp_path("big-installed.blob");
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_auto(Run) b = { 0 };
    g_auto(Run) v = { 0 };
    g_auto(Run) i = { 0 };
    g_auto(Run) s = { 0 };

    g_ptr_array_add(argv, g_strdup(tool));
    g_ptr_array_add(argv, g_strdup("build"));
    g_ptr_array_add(argv, g_strdup("--ark=" TESTDATA_DIR "/milan-ark.pem"));
    g_ptr_array_add(argv, g_strdup("--ask=" TESTDATA_DIR "/milan-ask.pem"));
    g_ptr_array_add(argv, g_strdup("--vcek=" TESTDATA_DIR "/milan-vcek.der"));
    /* The ARK again under 9 GUIDs nobody knows: about 17 KiB. */
    for (int n = 1; n <= 9; n++) {
        g_ptr_array_add(argv, g_strdup_printf(
            "--entry=4d696c61-6e41-524b-8000-0000000000%02d=%s", n,
            TESTDATA_DIR "/milan-ark.pem"));
    }
    g_ptr_array_add(argv, g_strdup("-o"));
    g_ptr_array_add(argv, g_strdup(big));
    run_argv(&b, argv);
    g_assert_cmpint(b.status, ==, 0);
    assert_contains(b.err, "warning");
    assert_contains(b.err, "more than the 16384 a Linux guest can receive");

    run_tool(&v, "verify", big, NULL);
    g_assert_cmpint(v.status, ==, 0);
    assert_contains(v.err, "Linux guests get no certificates from it");
    run_tool(&i, "install", big, target, NULL);
    g_assert_cmpint(i.status, ==, 0);
    assert_contains(i.err, "16384");

    run_tool(&s, "verify", small, NULL);
    g_assert_cmpint(s.status, ==, 0);
    g_assert_null(strstr(s.err, "warning"));
}

int main(int argc, char **argv)
{
    tooltest_init(&argc, &argv, "snp-certs-test-XXXXXX");

    g_test_add_func("/snp-certs/help", test_help);
    g_test_add_func("/snp-certs/build/pem-der-same", test_build_pem_der_same);
    g_test_add_func("/snp-certs/show/milan", test_show_milan);
    g_test_add_func("/snp-certs/verify/milan", test_verify_milan);
    g_test_add_func("/snp-certs/verify/genoa-milan", test_verify_genoa_milan);
    g_test_add_func("/snp-certs/guest-size-warning", test_guest_size_warning);
    g_test_add_func("/snp-certs/bad-blobs", test_bad_blobs);
    g_test_add_func("/snp-certs/bad-usage", test_bad_usage);
    g_test_add_func("/snp-certs/extract", test_extract);
    g_test_add_func("/snp-certs/install/basic", test_install_basic);
    g_test_add_func("/snp-certs/install/refuses-bad-chain",
                    test_install_refuses_bad_chain);
    g_test_add_func("/snp-certs/install/killed", test_install_killed);
    g_test_add_func("/snp-certs/install/never-torn", test_install_never_torn);
    g_test_add_func("/snp-certs/lock", test_lock_cmd);
    return tooltest_run();
}
