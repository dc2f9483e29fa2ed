/*
 * snp-certs tests for the operator workflow: report show / verify, fetch
 * from a local stand-in for AMD KDS (127.0.0.1 only), host status, and
 * install inside lock.  The tool runs as a separate process.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "fwsim.h"
#include "testutil.h"
#include "tooltest.h"

#define REPORT TESTDATA_DIR "/milan-report.hex"
#define AT "2024-06-01T00:00:00Z"

static char *milan_blob(const char *name)
{
    g_autoptr(GBytes) b = test_milan_blob();

    return write_tmp(name, b);
}

/* ---- report show ------------------------------------------------------ */

static void test_report_show(void)
{
    g_auto(Run) t = { 0 };
    g_auto(Run) j = { 0 };
    g_auto(Run) bad = { 0 };
    g_auto(Run) missing = { 0 };
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GBytes) hexb = test_data("milan-report.hex");
    g_autoptr(GError) err = NULL;
    JsonObject *root, *tcb;

    run_tool(&t, "report", "show", REPORT, NULL);
    g_assert_cmpint(t.status, ==, 0);
    assert_contains(t.out, "version: 2\n");
    assert_contains(t.out, "reported-tcb:\n  raw: 0x7308000000000003\n"
                    "  bootloader: 3\n  tee: 0\n  snp: 8\n"
                    "  microcode: 115\n");
    assert_contains(t.out, "signing-key: vcek\n");
    assert_contains(t.out, "chip-id: d49554ec717f4e5b");

    run_tool(&j, "report", "show", "--json", REPORT, NULL);
    g_assert_cmpint(j.status, ==, 0);
    g_assert_true(json_parser_load_from_data(p, j.out, -1, &err));
    root = json_node_get_object(json_parser_get_root(p));
    g_assert_cmpint(json_object_get_int_member(root, "version"), ==, 2);
    tcb = json_object_get_object_member(root, "launch-tcb");
    g_assert_cmpint(json_object_get_int_member(tcb, "microcode"), ==, 115);
    g_assert_true(json_object_get_boolean_member(
                      json_object_get_object_member(root, "policy"), "smt"));
    g_assert_cmpstr(json_object_get_string_member(
                        json_object_get_object_member(root, "key-info"),
                        "signing-key"), ==, "vcek");

    /* Truncated (hex of 1183 bytes): a check failure, named. */
    {
        g_autofree char *cut = g_strndup(g_bytes_get_data(hexb, NULL),
                                         2 * (SEVSNP_REPORT_SIZE - 1));
        g_autoptr(GBytes) cb = g_bytes_new(cut, strlen(cut));
        g_autofree char *path = write_tmp("cut.hex", cb);

        run_tool(&bad, "report", "show", path, NULL);
        g_assert_cmpint(bad.status, ==, 1);
        assert_contains(bad.err, "cut.hex: a report is 1184 bytes, not 1183");
    }
    run_tool(&missing, "report", "show", "/nonexistent/report", NULL);
    g_assert_cmpint(missing.status, ==, 2);
}

/* ---- report verify ---------------------------------------------------- */

static void test_report_verify_milan(void)
{
    g_autofree char *blob = milan_blob("rv-milan.blob");
    g_autoptr(GBytes) raw = sevsnp_report_read_file(REPORT, NULL);
    g_auto(Run) a = { 0 };
    g_auto(Run) b = { 0 };
    g_auto(Run) c = { 0 };
    g_auto(Run) d = { 0 };
    g_auto(Run) e = { 0 };
    g_auto(Run) u = { 0 };
    g_auto(Run) v = { 0 };

    run_tool(&a, "report", "verify", REPORT, "--ark",
             TESTDATA_DIR "/milan-ark.pem", "--ask",
             TESTDATA_DIR "/milan-ask.pem", "--vcek",
             TESTDATA_DIR "/milan-vcek.der", "--at", AT, NULL);
    g_assert_cmpint(a.status, ==, 0);
    assert_contains(a.out, "verified");

    /* The same from a blob, and from the raw binary report. */
    {
        g_autofree char *bin = write_tmp("milan-report.bin", raw);

        run_tool(&b, "report", "verify", bin, "--blob", blob, "--product",
                 "Milan", "--at", "1717200000", NULL);
        g_assert_cmpint(b.status, ==, 0);
    }

    /* The Genoa chain with Milan's VCEK. */
    run_tool(&c, "report", "verify", REPORT, "--ark",
             TESTDATA_DIR "/genoa-ark.pem", "--ask",
             TESTDATA_DIR "/genoa-ask.pem", "--vcek",
             TESTDATA_DIR "/milan-vcek.der", "--at", AT, NULL);
    g_assert_cmpint(c.status, ==, 1);
    assert_contains(c.err, "chain invalid");

    run_tool(&d, "report", "verify", REPORT, "--blob", blob, "--product",
             "Turin", "--at", AT, NULL);
    g_assert_cmpint(d.status, ==, 1);
    assert_contains(d.err, "--product is Turin but the chain (ARK) is Milan");

    /* A flipped bit of s. */
    {
        g_autofree uint8_t *m = g_memdup2(g_bytes_get_data(raw, NULL),
                                          SEVSNP_REPORT_SIZE);
        g_autoptr(GBytes) mb = NULL;
        g_autofree char *path = NULL;

        m[SEVSNP_REPORT_SIG_OFFSET + 72] ^= 0x10;
        mb = g_bytes_new(m, SEVSNP_REPORT_SIZE);
        path = write_tmp("flipped.bin", mb);
        run_tool(&e, "report", "verify", path, "--blob", blob, "--at", AT,
                 NULL);
        g_assert_cmpint(e.status, ==, 1);
        assert_contains(e.err, "signature at 0x2a0 does not verify with the "
                        "VCEK");
    }

    /* Usage: both --blob and files; neither; a bad --at. */
    run_tool(&u, "report", "verify", REPORT, "--blob", blob, "--vcek",
             TESTDATA_DIR "/milan-vcek.der", NULL);
    g_assert_cmpint(u.status, ==, 2);
    run_tool(&v, "report", "verify", REPORT, "--blob", blob, "--at",
             "yesterday", NULL);
    g_assert_cmpint(v.status, ==, 2);
    assert_contains(v.err, "ISO 8601");
}

/* A fresh firmware in a new directory under tmpdir. */
static char *new_fw(const char *name, SevsnpProduct p, const SevsnpTcb *tcb)
{
    char *dir = tmp_path(name);
    g_autoptr(GError) err = NULL;

    g_assert_true(fwsim_create(dir, p, tcb, &err));
    g_assert_no_error(err);
    return dir;
}

static const SevsnpTcb tcb_a = { .bootloader = 3, .tee = 0, .snp = 8,
                                 .microcode = 115, .fmc = 2 };
static const SevsnpTcb tcb_b = { .bootloader = 4, .tee = 0, .snp = 22,
                                 .microcode = 213, .fmc = 3 };

static char *chip_hex(const FwSimState *st, size_t n)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(s, "%02x", st->chip_id[i]);
    }
    return g_string_free(s, FALSE);
}

static void test_report_verify_fwsim(void)
{
    g_autofree char *dir = new_fw("rv-fw", SEVSNP_PRODUCT_GENOA, &tcb_a);
    g_autoptr(GError) err = NULL;
    g_autoptr(FwSimState) st = fwsim_load(dir, &err);
    g_autoptr(GBytes) rep = fwsim_report(dir, NULL, &err);
    g_autofree char *rpath = write_tmp("fw-report.bin", rep);
    g_autofree char *ark = g_build_filename(dir, "ark.pem", NULL);
    g_autofree char *ask = g_build_filename(dir, "ask.pem", NULL);
    g_autofree char *vcek = g_build_filename(dir, "vcek.der", NULL);
    g_autofree char *chip = chip_hex(st, 8);
    g_auto(Run) ok = { 0 };

    g_assert_no_error(err);
    run_tool(&ok, "report", "verify", rpath, "--ark", ark, "--ask", ask,
             "--vcek", vcek, "--product", "genoa", NULL);
    g_assert_cmpint(ok.status, ==, 0);

    for (guint i = 0; i < 2; i++) {
        uint8_t other[SEVSNP_CHIP_ID_SIZE];
        g_autoptr(GBytes) bad = NULL;
        g_autofree char *bp = NULL;
        g_auto(Run) r = { 0 };

        memcpy(other, st->chip_id, sizeof(other));
        other[63] ^= 1;
        bad = fwsim_make_vcek(st->product, i ? &st->reported_tcb : &tcb_b,
                              i ? other : st->chip_id, 64, st->vcek_key,
                              st->ask_der, st->ask_key, &err);
        g_assert_no_error(err);
        bp = write_tmp(i ? "vcek-chip.der" : "vcek-tcb.der", bad);
        run_tool(&r, "report", "verify", rpath, "--ark", ark, "--ask", ask,
                 "--vcek", bp, NULL);
        g_assert_cmpint(r.status, ==, 1);
        assert_contains(r.err, i ? "hwID does not match the report's chip id"
                        : "the VCEK is for TCB bl=4,tee=0,snp=22,ucode=213 "
                          "but the report's reported TCB is "
                          "bl=3,tee=0,snp=8,ucode=115");
        g_assert_null(strstr(r.err, chip));
    }
}

/* ---- lock + install ---------------------------------------------------- */

static void test_install_inside_lock(void)
{
    g_autofree char *target = milan_blob("locked.blob");
    g_autoptr(TestChain) c = test_chain_new("New", -1, 30);
    g_autoptr(GBytes) newb = test_chain_blob(c);
    g_autofree char *newp = write_tmp("new.blob", newb);
    g_autofree char *script = NULL;
    g_autoptr(GBytes) got = NULL;
    g_auto(Run) r = { 0 };
    g_auto(Run) s = { 0 };
    GStatBuf st1, st2;

    g_assert_cmpint(g_stat(target, &st1), ==, 0);
    /*
     * The updater's CMD installs the new blob into the very file lock
     * holds, then shows that readers are still shut out (status 3 from a
     * reader that does not wait) until lock returns.
     */
    script = g_strdup_printf("'%s' install --timeout 2 '%s' '%s' && "
                             "'%s' verify --timeout 0 '%s'; "
                             "echo \"reader=$?\"; "
                             "test -n \"$SNP_CERTS_LOCK_FD\"",
                             tool, newp, target, tool, target);
    run_tool(&r, "lock", "--timeout", "2", target, "--", "sh", "-c", script,
             NULL);
    g_assert_cmpint(r.status, ==, 0);
    assert_contains(r.out, "reader=3");
    got = read_file(target);
    g_assert_true(g_bytes_equal(got, newb));
    g_assert_cmpint(g_stat(target, &st2), ==, 0);
    g_assert_cmpuint(st1.st_ino, ==, st2.st_ino);

    /* After lock: free again. */
    run_tool(&s, "verify", "--timeout", "0", target, NULL);
    g_assert_cmpint(s.status, ==, 0);

    /* Another file inside lock: the ordinary locked install. */
    {
        g_autofree char *other = milan_blob("other.blob");
        g_autofree char *sc = g_strdup_printf("'%s' install '%s' '%s'", tool,
                                              newp, other);
        g_auto(Run) o = { 0 };
        g_autoptr(GBytes) og = NULL;

        run_tool(&o, "lock", target, "--", "sh", "-c", sc, NULL);
        g_assert_cmpint(o.status, ==, 0);
        og = read_file(other);
        g_assert_true(g_bytes_equal(og, newb));
    }
}

/* ---- host status ------------------------------------------------------- */

static void test_host_missing(void)
{
    g_auto(Run) r = { 0 };
    g_auto(Run) f = { 0 };
    g_autofree char *out = tmp_path("host.blob");

    run_tool(&r, "host", "status", "--device", "/nonexistent/sev", NULL);
    g_assert_cmpint(r.status, ==, 2);
    assert_contains(r.err, "/nonexistent/sev: No such file or directory");
    run_tool(&f, "fetch", "--host", "--device", "/nonexistent/sev",
             "--product", "Milan", "-o", out, NULL);
    g_assert_cmpint(f.status, ==, 2);
    assert_contains(f.err, "/nonexistent/sev");
    g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
}

/* ---- fetch -------------------------------------------------------------- */

typedef struct Kds {
    GPid pid;
    char *url;
    char *log;
} Kds;

static void kds_start(Kds *k, const char *root, int throttle,
                      const char *retry_after)
{
    g_autofree char *th = g_strdup_printf("%d", throttle);
    static int n;
    g_autofree char *logname = g_strdup_printf("kds-%d.log", n++);
    const char *argv[] = { g_getenv("PYTHON"), g_getenv("KDS_SERVER"),
                           "--root", root, "--throttle", th,
                           "--retry-after", retry_after, "--log", NULL,
                           NULL };
    g_autoptr(GError) err = NULL;
    char buf[32] = "";
    ssize_t len;
    int out;

    k->log = tmp_path(logname);
    argv[9] = k->log;
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                           NULL, &k->pid, NULL, &out, NULL,
                                           &err));
    g_assert_no_error(err);
    /* The port, one line; read up to its newline. */
    for (size_t got = 0; !strchr(buf, '\n');) {
        len = read(out, buf + got, sizeof(buf) - 1 - got);
        g_assert_cmpint(len, >, 0);
        got += len;
        buf[got] = '\0';
    }
    close(out);
    g_strchomp(buf);
    k->url = g_strdup_printf("http://127.0.0.1:%s", buf);
}

static void kds_stop(Kds *k)
{
    kill(k->pid, SIGTERM);
    waitpid(k->pid, NULL, 0);
    g_spawn_close_pid(k->pid);
    g_free(k->url);
    g_free(k->log);
}

static guint kds_requests(Kds *k)
{
    g_autofree char *text = NULL;
    guint n = 0;

    if (!g_file_get_contents(k->log, &text, NULL, NULL)) {
        return 0;
    }
    for (const char *p = text; *p; p++) {
        n += *p == '\n';
    }
    return n;
}

/* Lay out @dir's firmware as KDS serves it under @root. */
static void kds_publish(const char *root, const FwSimState *st,
                        GBytes *vcek_override)
{
    g_autofree char *pdir = g_build_filename(root, "vcek", "v1",
                                             sevsnp_product_name(st->product),
                                             NULL);
    g_autofree char *hw = chip_hex(st, sevsnp_product_hwid_len(st->product));
    g_autofree char *tcb = NULL, *vname = NULL, *vpath = NULL;
    g_autofree char *chain = NULL, *cpath = NULL;
    g_autoptr(GBytes) ark_in = NULL, ask_in = NULL;
    g_autoptr(GString) pem = g_string_new(NULL);
    GBytes *v = vcek_override ? vcek_override : st->vcek_der;
    const SevsnpTcb *t = &st->reported_tcb;

    g_assert_cmpint(g_mkdir_with_parents(pdir, 0755), ==, 0);
    if (st->product == SEVSNP_PRODUCT_TURIN) {
        tcb = g_strdup_printf("blSPL=%02u&teeSPL=%02u&snpSPL=%02u&"
                              "ucodeSPL=%02u&fmcSPL=%02u", t->bootloader,
                              t->tee, t->snp, t->microcode, t->fmc);
    } else {
        tcb = g_strdup_printf("blSPL=%02u&teeSPL=%02u&snpSPL=%02u&"
                              "ucodeSPL=%02u", t->bootloader, t->tee, t->snp,
                              t->microcode);
    }
    vname = g_strdup_printf("%s?%s", hw, tcb);
    vpath = g_build_filename(pdir, vname, NULL);
    g_assert_true(g_file_set_contents(vpath, g_bytes_get_data(v, NULL),
                                      g_bytes_get_size(v), NULL));
    /* cert_chain: the ASK then the ARK, PEM, as KDS serves it. */
    for (guint i = 0; i < 2; i++) {
        g_autofree char *b64 = g_base64_encode(
            g_bytes_get_data(i ? st->ark_der : st->ask_der, NULL),
            g_bytes_get_size(i ? st->ark_der : st->ask_der));
        g_string_append(pem, "-----BEGIN CERTIFICATE-----\n");
        for (size_t o = 0; o < strlen(b64); o += 64) {
            g_string_append_len(pem, b64 + o, MIN(64, strlen(b64) - o));
            g_string_append_c(pem, '\n');
        }
        g_string_append(pem, "-----END CERTIFICATE-----\n");
    }
    cpath = g_build_filename(pdir, "cert_chain", NULL);
    g_assert_true(g_file_set_contents(cpath, pem->str, pem->len, NULL));
}

static void test_fetch(void)
{
    g_autofree char *dir = new_fw("fetch-fw", SEVSNP_PRODUCT_MILAN, &tcb_a);
    g_autofree char *root = tmp_path("kds-root");
    g_autofree char *cache = tmp_path("kds-cache");
    g_autofree char *out = tmp_path("fetched.blob");
    g_autofree char *out2 = tmp_path("fetched2.blob");
    g_autofree char *out3 = tmp_path("fetched3.blob");
    g_autofree char *never = tmp_path("never.blob");
    g_autoptr(GError) err = NULL;
    g_autoptr(FwSimState) st = fwsim_load(dir, &err);
    g_autoptr(GBytes) rep = fwsim_report(dir, NULL, &err);
    g_autofree char *rpath = write_tmp("fetch-report.bin", rep);
    g_autofree char *chip = chip_hex(st, 64);
    g_auto(Run) a = { 0 };
    g_auto(Run) b = { 0 };
    g_auto(Run) c = { 0 };
    g_auto(Run) v = { 0 };
    g_auto(Run) m = { 0 };
    Kds k;

    g_assert_no_error(err);
    kds_publish(root, st, NULL);
    kds_start(&k, root, 0, "1");

    /* --chip-id and --tcb, into a cache. */
    run_tool(&a, "fetch", "--chip-id", chip, "--tcb",
             "bl=3,tee=0,snp=8,ucode=115", "--product", "Milan",
             "--kds-url", k.url, "--cache", cache, "-o", out, NULL);
    g_assert_cmpint(a.status, ==, 0);
    g_assert_cmpuint(kds_requests(&k), ==, 2);
    run_tool(&v, "report", "verify", rpath, "--blob", out, NULL);
    g_assert_cmpint(v.status, ==, 0);

    /* The cache holds KDS's paths; a repeat needs no network. */
    {
        g_autofree char *cc = g_build_filename(cache, "vcek", "v1", "Milan",
                                               "cert_chain", NULL);
        g_autofree char *newest = g_build_filename(cache, "vcek", "v1",
                                                   "Milan", chip, NULL);

        g_assert_true(g_file_test(cc, G_FILE_TEST_IS_REGULAR));
        g_assert_true(g_file_test(newest, G_FILE_TEST_IS_REGULAR));
    }
    kds_stop(&k);
    run_tool(&b, "fetch", "--report", rpath, "--kds-url",
             "http://127.0.0.1:1", "--cache", cache, "-o", out2, NULL);
    g_assert_cmpint(b.status, ==, 0);
    assert_contains(b.out, "from the cache");
    {
        g_autoptr(GBytes) b1 = read_file(out);
        g_autoptr(GBytes) b2 = read_file(out2);

        g_assert_true(g_bytes_equal(b1, b2));
    }

    /* The cache served by a plain static server is a mirror. */
    kds_start(&k, cache, 0, "1");
    run_tool(&c, "fetch", "--report", rpath, "--kds-url", k.url, "-o", out3,
             NULL);
    g_assert_cmpint(c.status, ==, 0);
    kds_stop(&k);

    /* No server at all and no cache: an I/O error without the chip id. */
    run_tool(&m, "fetch", "--report", rpath, "--kds-url",
             "http://127.0.0.1:1", "-o", never, NULL);
    g_assert_cmpint(m.status, ==, 2);
    g_assert_null(strstr(m.err, chip));
}

static void test_fetch_errors(void)
{
    g_autofree char *dir = new_fw("fetch-err-fw", SEVSNP_PRODUCT_MILAN,
                                  &tcb_a);
    g_autofree char *other = new_fw("fetch-other-fw", SEVSNP_PRODUCT_MILAN,
                                    &tcb_a);
    g_autoptr(GError) err = NULL;
    g_autoptr(FwSimState) st = fwsim_load(dir, &err);
    g_autoptr(FwSimState) ost = fwsim_load(other, &err);
    g_autofree char *chip = chip_hex(st, 64);
    g_autofree char *short_chip = chip_hex(st, 8);
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes(st->vcek_der, 0, 200);
    g_autoptr(GBytes) wrong_tcb = fwsim_make_vcek(
        st->product, &tcb_b, st->chip_id, 64, st->vcek_key, st->ask_der,
        st->ask_key, &err);
    static const struct {
        const char *name;
        int status;
        const char *needle;
    } cases[] = {
        { "404", 2, "HTTP 404" },
        { "truncated", 1, "is not an X.509 certificate" },
        { "wrong-tcb", 1, "not the TCB asked for" },
        { "wrong-chain", 1, "does not verify" },
        { "throttled", 0, "retrying in 1 s" },
        { "throttled-out", 2, "HTTP 429 (too many requests) after 2 tries" },
        { "retry-too-long", 2, "more than --max-wait" },
    };

    g_assert_no_error(err);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *rname = g_strdup_printf("kds-%s", cases[i].name);
        g_autofree char *root = tmp_path(rname);
        g_autofree char *out = tmp_path("err.blob");
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_auto(Run) r = { 0 };
        Kds k;

        g_unlink(out);
        switch (i) {
        case 0:
            kds_publish(root, ost, NULL);   /* another chip only */
            break;
        case 1:
            kds_publish(root, st, cut);
            break;
        case 2:
            kds_publish(root, st, wrong_tcb);
            break;
        case 3: {
            /* The VCEK of this chip, the chain of another firmware. */
            g_autoptr(FwSimState) mix = fwsim_load(other, NULL);

            g_bytes_unref(mix->vcek_der);
            mix->vcek_der = g_bytes_ref(st->vcek_der);
            memcpy(mix->chip_id, st->chip_id, 64);
            kds_publish(root, mix, NULL);
            break;
        }
        default:
            kds_publish(root, st, NULL);
            break;
        }
        kds_start(&k, root, i >= 4 ? 2 : 0, i == 6 ? "3600" : "1");
        g_ptr_array_add(argv, (char *)tool);
        g_ptr_array_add(argv, "fetch");
        g_ptr_array_add(argv, "--chip-id");
        g_ptr_array_add(argv, chip);
        g_ptr_array_add(argv, "--tcb");
        g_ptr_array_add(argv, "bl=3,tee=0,snp=8,ucode=115");
        g_ptr_array_add(argv, "--product");
        g_ptr_array_add(argv, "Milan");
        g_ptr_array_add(argv, "--kds-url");
        g_ptr_array_add(argv, k.url);
        g_ptr_array_add(argv, "-o");
        g_ptr_array_add(argv, out);
        if (i == 5) {
            g_ptr_array_add(argv, "--max-tries");
            g_ptr_array_add(argv, "2");
        }
        run_argv(&r, argv);
        g_test_message("%s: %s", cases[i].name, r.err);
        g_assert_cmpint(r.status, ==, cases[i].status);
        assert_contains(r.err, cases[i].needle);
        g_assert_null(strstr(r.err, short_chip));
        g_assert_true(g_file_test(out, G_FILE_TEST_EXISTS) ==
                      (cases[i].status == 0));
        if (i == 4) {
            g_assert_cmpuint(kds_requests(&k), ==, 4);
        }
        kds_stop(&k);
    }
}

static void test_fetch_turin(void)
{
    g_autofree char *dir = new_fw("turin-fw", SEVSNP_PRODUCT_TURIN, &tcb_b);
    g_autofree char *root = tmp_path("kds-turin");
    g_autofree char *out = tmp_path("turin.blob");
    g_autoptr(GError) err = NULL;
    g_autoptr(FwSimState) st = fwsim_load(dir, &err);
    g_autoptr(GBytes) rep = fwsim_report(dir, NULL, &err);
    g_autofree char *rpath = write_tmp("turin-report.bin", rep);
    g_autofree char *hw = chip_hex(st, 8);
    g_autofree char *log = NULL, *want = NULL;
    g_auto(Run) r = { 0 };
    g_auto(Run) v = { 0 };
    Kds k;

    g_assert_no_error(err);
    kds_publish(root, st, NULL);
    kds_start(&k, root, 0, "1");
    run_tool(&r, "fetch", "--report", rpath, "--kds-url", k.url, "-o", out,
             NULL);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_true(g_file_get_contents(k.log, &log, NULL, NULL));
    want = g_strdup_printf("/vcek/v1/Turin/%s?blSPL=04&teeSPL=00&"
                           "snpSPL=22&ucodeSPL=213&fmcSPL=03\n", hw);
    assert_contains(log, want);
    kds_stop(&k);
    run_tool(&v, "report", "verify", rpath, "--blob", out, "--product",
             "Turin", NULL);
    g_assert_cmpint(v.status, ==, 0);
}

int main(int argc, char **argv)
{
    tooltest_init(&argc, &argv, "snp-certs-ops-XXXXXX");
    g_assert_nonnull(g_getenv("KDS_SERVER"));
    g_assert_nonnull(g_getenv("PYTHON"));

    g_test_add_func("/snp-certs/report/show", test_report_show);
    g_test_add_func("/snp-certs/report/verify/milan",
                    test_report_verify_milan);
    g_test_add_func("/snp-certs/report/verify/fwsim",
                    test_report_verify_fwsim);
    g_test_add_func("/snp-certs/lock/install-inside", test_install_inside_lock);
    g_test_add_func("/snp-certs/host/missing", test_host_missing);
    g_test_add_func("/snp-certs/fetch/basic", test_fetch);
    g_test_add_func("/snp-certs/fetch/errors", test_fetch_errors);
    g_test_add_func("/snp-certs/fetch/turin", test_fetch_turin);
    return tooltest_run();
}
