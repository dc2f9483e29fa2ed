/*
 * Attestation reports: parsing, description and verification against
 * the real AMD Milan report and chain, and against the firmware
 * simulator's chains and reports (fwsim).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "fwsim.h"
#include "testutil.h"

/* 2024-06-01: inside the validity of every real certificate here. */
#define AT_2024 1717200000

static GBytes *milan_report(void)
{
    g_autofree char *path = g_build_filename(TESTDATA_DIR,
                                             "milan-report.hex", NULL);
    GError *err = NULL;
    GBytes *b = sevsnp_report_read_file(path, &err);

    g_assert_no_error(err);
    return b;
}

static SevsnpReport *parse(GBytes *b, SevsnpProduct hint)
{
    GError *err = NULL;
    SevsnpReport *r = sevsnp_report_parse(g_bytes_get_data(b, NULL),
                                          g_bytes_get_size(b), hint, &err);

    g_assert_no_error(err);
    return r;
}

static SevsnpCertTable *table_of(GBytes *blob)
{
    GError *err = NULL;
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, 0, &err);

    g_assert_no_error(err);
    return t;
}

/* Verify and expect failure @code with @needle in the message. */
static void expect_fail(const SevsnpReport *r, const SevsnpCertTable *t,
                        SevsnpProduct p, int64_t at, int code,
                        const char *needle)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(sevsnp_report_verify(r, t, p, at, &err));
    g_assert_nonnull(err);
    g_test_message("%s", err->message);
    g_assert_error(err, SEVSNP_REPORT_ERROR, code);
    if (!strstr(err->message, needle)) {
        g_error("'%s' does not contain '%s'", err->message, needle);
    }
}

static void test_milan_parse(void)
{
    g_autoptr(GBytes) b = milan_report();
    g_autofree SevsnpReport *r = NULL;
    g_autoptr(GBytes) vcek = test_milan(SEVSNP_CERT_VCEK);
    g_autofree char *text = NULL, *tcb = NULL;
    SevsnpTcb vt;
    uint8_t hwid[SEVSNP_CHIP_ID_SIZE];
    size_t hwid_len;

    g_assert_cmpuint(g_bytes_get_size(b), ==, SEVSNP_REPORT_SIZE);
    r = parse(b, SEVSNP_PRODUCT_UNKNOWN);
    g_assert_cmpuint(r->version, ==, 2);
    g_assert_false(r->has_cpuid);
    g_assert_cmpuint(r->policy, ==, 0x30000);
    g_assert_cmpuint(r->signature_algo, ==, 1);
    g_assert_cmpint(r->signing_key, ==, SEVSNP_SIGNING_KEY_VCEK);
    tcb = sevsnp_tcb_to_string(&r->reported_tcb, SEVSNP_PRODUCT_MILAN);
    g_assert_cmpstr(tcb, ==, "bl=3,tee=0,snp=8,ucode=115");
    g_assert_cmpuint(r->reported_tcb_raw, ==, 0x7308000000000003ULL);
    /* The VCEK's extensions, read independently of the report. */
    g_assert_true(sevsnp_vcek_get_tcb(vcek, SEVSNP_PRODUCT_MILAN, &vt, hwid,
                                      &hwid_len, NULL));
    g_assert_true(sevsnp_tcb_equal(&vt, &r->reported_tcb));
    g_assert_cmpuint(hwid_len, ==, 64);
    g_assert_cmpmem(hwid, 64, r->chip_id, 64);
    g_assert_cmpint(sevsnp_vek_product(vcek), ==, SEVSNP_PRODUCT_MILAN);

    text = sevsnp_report_describe(r);
    g_assert_nonnull(strstr(text, "version: 2\n"));
    g_assert_nonnull(strstr(text, "reported-tcb:\n"));
    g_assert_nonnull(strstr(text, "  microcode: 115\n"));
    g_assert_nonnull(strstr(text, "  smt: yes\n"));
    g_assert_nonnull(strstr(text, "  debug: no\n"));
    g_assert_nonnull(strstr(text, "signing-key: vcek\n"));
    g_assert_nonnull(strstr(text, "report-data: d447b55d"));
    g_assert_nonnull(strstr(text, "measurement: 7a1e5c266c0108db"));
}

static void test_milan_verify(void)
{
    g_autoptr(GBytes) b = milan_report();
    g_autoptr(GBytes) blob = test_milan_blob();
    g_autofree SevsnpReport *r = parse(b, SEVSNP_PRODUCT_UNKNOWN);
    SevsnpCertTable *t = table_of(blob);
    g_autoptr(GError) err = NULL;

    g_assert_true(sevsnp_report_verify(r, t, SEVSNP_PRODUCT_UNKNOWN,
                                       AT_2024, &err));
    g_assert_no_error(err);
    g_assert_true(sevsnp_report_verify(r, t, SEVSNP_PRODUCT_MILAN, AT_2024,
                                       &err));
    g_assert_no_error(err);

    /* --product Genoa against a Milan chain and VCEK. */
    expect_fail(r, t, SEVSNP_PRODUCT_GENOA, AT_2024,
                SEVSNP_REPORT_ERROR_PRODUCT,
                "--product is Genoa but the chain (ARK) is Milan");
    /* The VCEK expired in 2030: a time after that fails the chain. */
    expect_fail(r, t, SEVSNP_PRODUCT_UNKNOWN, 2000000000,
                SEVSNP_REPORT_ERROR_CHAIN, "has expired");
    sevsnp_cert_table_unref(t);
}

static void test_milan_negative(void)
{
    g_autoptr(GBytes) b = milan_report();
    g_autoptr(GBytes) blob = test_milan_blob();
    SevsnpCertTable *t = table_of(blob);
    const uint8_t *d = g_bytes_get_data(b, NULL);
    static const struct {
        size_t off;
        int code;
        const char *needle;
    } flips[] = {
        /* r, s, then signed fields: measurement, report data, TCB. */
        { SEVSNP_REPORT_SIG_OFFSET, SEVSNP_REPORT_ERROR_SIGNATURE,
          "does not verify with the VCEK" },
        { SEVSNP_REPORT_SIG_OFFSET + 72 + 5, SEVSNP_REPORT_ERROR_SIGNATURE,
          "does not verify" },
        { SEVSNP_RPT_MEASUREMENT, SEVSNP_REPORT_ERROR_SIGNATURE,
          "does not verify" },
        { SEVSNP_RPT_REPORT_DATA + 63, SEVSNP_REPORT_ERROR_SIGNATURE,
          "does not verify" },
        { SEVSNP_RPT_REPORTED_TCB + 7, SEVSNP_REPORT_ERROR_SIGNATURE,
          "does not verify" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(flips); i++) {
        g_autofree uint8_t *c = g_memdup2(d, SEVSNP_REPORT_SIZE);
        g_autofree SevsnpReport *r = NULL;
        g_autoptr(GBytes) cb = NULL;

        c[flips[i].off] ^= 0x01;
        cb = g_bytes_new(c, SEVSNP_REPORT_SIZE);
        r = parse(cb, SEVSNP_PRODUCT_UNKNOWN);
        expect_fail(r, t, SEVSNP_PRODUCT_UNKNOWN, AT_2024, flips[i].code,
                    flips[i].needle);
    }

    /* A Genoa chain with the Milan VCEK: the chain itself fails. */
    {
        const SevsnpCertFile files[] = {
            { SEVSNP_CERT_ARK, NULL, TESTDATA_DIR "/genoa-ark.pem" },
            { SEVSNP_CERT_ASK, NULL, TESTDATA_DIR "/genoa-ask.pem" },
            { SEVSNP_CERT_VCEK, NULL, TESTDATA_DIR "/milan-vcek.der" },
        };
        g_autoptr(GBytes) gb = sevsnp_cert_table_build_files(files, 3, NULL);
        SevsnpCertTable *gt = table_of(gb);
        g_autofree SevsnpReport *r = parse(b, SEVSNP_PRODUCT_UNKNOWN);

        expect_fail(r, gt, SEVSNP_PRODUCT_UNKNOWN, AT_2024,
                    SEVSNP_REPORT_ERROR_CHAIN, "is not signed by ASK");
        sevsnp_cert_table_unref(gt);
    }
    sevsnp_cert_table_unref(t);
}

static void test_malformed(void)
{
    g_autoptr(GBytes) b = milan_report();
    const uint8_t *d = g_bytes_get_data(b, NULL);
    g_autofree uint8_t *c = g_memdup2(d, SEVSNP_REPORT_SIZE);
    g_autoptr(GError) err = NULL;
    static const uint32_t bad_versions[] = { 0, 1, 6, 0xffffffff };

    g_assert_null(sevsnp_report_parse(d, SEVSNP_REPORT_SIZE - 1,
                                      SEVSNP_PRODUCT_UNKNOWN, &err));
    g_assert_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_MALFORMED);
    g_assert_nonnull(strstr(err->message, "1184 bytes, not 1183"));
    g_clear_error(&err);
    g_assert_null(sevsnp_report_parse(d, 0, SEVSNP_PRODUCT_UNKNOWN, &err));
    g_assert_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_MALFORMED);
    g_clear_error(&err);
    for (guint i = 0; i < G_N_ELEMENTS(bad_versions); i++) {
        uint32_t v = GUINT32_TO_LE(bad_versions[i]);

        memcpy(c, &v, 4);
        g_assert_null(sevsnp_report_parse(c, SEVSNP_REPORT_SIZE,
                                          SEVSNP_PRODUCT_UNKNOWN, &err));
        g_assert_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_VERSION);
        g_assert_nonnull(strstr(err->message, "is not one of 2 to 5"));
        g_clear_error(&err);
    }
}

static void test_read_file(void)
{
    g_autoptr(GBytes) hexb = milan_report();
    g_autofree char *raw = test_write_tmp(hexb, "report.bin");
    g_autofree char *odd = NULL;
    g_autoptr(GBytes) back = NULL;
    g_autoptr(GBytes) oddb = g_bytes_new_static("0a1\n", 4);
    g_autoptr(GError) err = NULL;

    back = sevsnp_report_read_file(raw, &err);
    g_assert_no_error(err);
    g_assert_true(g_bytes_equal(back, hexb));
    odd = test_write_tmp(oddb, "odd.hex");
    g_assert_null(sevsnp_report_read_file(odd, &err));
    g_assert_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_MALFORMED);
    g_clear_error(&err);
    g_assert_null(sevsnp_report_read_file("/nonexistent/report", &err));
    g_assert_nonnull(err);
}

static void test_tcb(void)
{
    SevsnpTcb t = { .bootloader = 9, .tee = 1, .snp = 23, .microcode = 213,
                    .fmc = 4 };
    SevsnpTcb u;
    g_autoptr(GError) err = NULL;
    g_autofree char *s = NULL;
    static const char *const bad[] = {
        "", "bl=1,tee=2,snp=3", "bl=1,tee=2,snp=3,ucode=256",
        "bl=1,tee=2,snp=3,ucode=4,fmc=5", "bl=1,bl=1,tee=2,snp=3,ucode=4",
        "bl=x,tee=2,snp=3,ucode=4", "foo=1", "bl=-1,tee=2,snp=3,ucode=4",
    };

    /* Turin: byte 0 FMC, 1 BL, 2 TEE, 3 SNP, 7 microcode. */
    g_assert_cmpuint(sevsnp_tcb_encode(&t, SEVSNP_PRODUCT_TURIN), ==,
                     0xD500000017010904ULL);
    u = sevsnp_tcb_decode(0xD500000017010904ULL, SEVSNP_PRODUCT_TURIN);
    g_assert_true(sevsnp_tcb_equal(&t, &u));
    /* Milan and Genoa: 0 BL, 1 TEE, 6 SNP, 7 microcode; no FMC. */
    t.fmc = 0;
    g_assert_cmpuint(sevsnp_tcb_encode(&t, SEVSNP_PRODUCT_GENOA), ==,
                     0xD517000000000109ULL);
    s = sevsnp_tcb_to_string(&t, SEVSNP_PRODUCT_GENOA);
    g_assert_cmpstr(s, ==, "bl=9,tee=1,snp=23,ucode=213");
    g_assert_true(sevsnp_tcb_parse("ucode=213,snp=23,tee=1,bl=9",
                                   SEVSNP_PRODUCT_MILAN, &u, &err));
    g_assert_no_error(err);
    g_assert_true(sevsnp_tcb_equal(&t, &u));
    g_assert_false(sevsnp_tcb_parse("bl=9,tee=1,snp=23,ucode=213",
                                    SEVSNP_PRODUCT_TURIN, &u, &err));
    g_assert_nonnull(strstr(err->message, "fmc=N is missing"));
    g_clear_error(&err);
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(sevsnp_tcb_parse(bad[i], SEVSNP_PRODUCT_MILAN, &u,
                                        &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    g_assert_cmpint(sevsnp_product_from_cpuid(0x19, 0x01), ==,
                    SEVSNP_PRODUCT_MILAN);
    g_assert_cmpint(sevsnp_product_from_cpuid(0x19, 0x11), ==,
                    SEVSNP_PRODUCT_GENOA);
    g_assert_cmpint(sevsnp_product_from_cpuid(0x1A, 0x02), ==,
                    SEVSNP_PRODUCT_TURIN);
    g_assert_cmpint(sevsnp_product_from_cpuid(0x17, 0x31), ==,
                    SEVSNP_PRODUCT_UNKNOWN);
}

/* ---- fwsim ------------------------------------------------------------ */

static const SevsnpTcb tcb_a = { .bootloader = 3, .tee = 0, .snp = 8,
                                 .microcode = 115, .fmc = 1 };
static const SevsnpTcb tcb_b = { .bootloader = 4, .tee = 0, .snp = 22,
                                 .microcode = 213, .fmc = 2 };

static char *new_fw(SevsnpProduct p, const SevsnpTcb *tcb)
{
    g_autoptr(GBytes) none = g_bytes_new_static("", 0);
    g_autofree char *f = test_write_tmp(none, "unused");
    g_autofree char *parent = g_path_get_dirname(f);
    char *dir = g_build_filename(parent, "fw", NULL);
    GError *err = NULL;

    g_assert_true(fwsim_create(dir, p, tcb, &err));
    g_assert_no_error(err);
    return dir;
}

static void fw_roundtrip(gconstpointer data)
{
    SevsnpProduct p = GPOINTER_TO_INT(data);
    g_autofree char *dir = new_fw(p, &tcb_a);
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) blob = fwsim_blob(dir, &err);
    g_autoptr(FwSimState) st = fwsim_load(dir, &err);
    SevsnpCertTable *t;
    g_autofree char *why = NULL;

    g_assert_no_error(err);
    t = table_of(blob);
    g_assert_cmpint(sevsnp_cert_table_verify(t, 0, &why), ==,
                    SEVSNP_CHAIN_VALID);
    g_assert_cmpint(st->product, ==, p);
    g_assert_cmpint(sevsnp_vek_product(st->vcek_der), ==, p);
    for (uint32_t v = 2; v <= 5; v++) {
        FwSimReportParams prm = { .version = v, .guest_svn = 7 };
        g_autoptr(GBytes) rb = NULL;
        g_autofree SevsnpReport *r = NULL;

        memset(prm.report_data, 0xab, 64);
        rb = fwsim_report(dir, &prm, &err);
        g_assert_no_error(err);
        r = parse(rb, v == 2 ? p : SEVSNP_PRODUCT_UNKNOWN);
        g_assert_cmpuint(r->version, ==, v);
        g_assert_cmpint(r->product, ==, p);
        g_assert_cmpuint(r->guest_svn, ==, 7);
        g_assert_cmpuint(r->report_data[63], ==, 0xab);
        g_assert_true(r->has_cpuid == (v >= 3));
        g_assert_true(r->has_mit_vectors == (v >= 5));
        g_assert_true(sevsnp_tcb_equal(&r->reported_tcb, &st->reported_tcb));
        g_assert_true(sevsnp_report_verify(r, t, p, 0, &err));
        g_assert_no_error(err);
    }
    sevsnp_cert_table_unref(t);
}

static void test_fw_rotate(void)
{
    g_autofree char *dir = new_fw(SEVSNP_PRODUCT_MILAN, &tcb_a);
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) old_blob = fwsim_blob(dir, &err);
    g_autoptr(GBytes) old_report = fwsim_report(dir, NULL, &err);
    g_autoptr(GBytes) new_blob = NULL, new_report = NULL;
    g_autoptr(FwSimState) st = NULL;
    g_autofree SevsnpReport *ro = NULL, *rn = NULL;
    SevsnpCertTable *to, *tn;

    g_assert_no_error(err);
    g_assert_true(fwsim_rotate(dir, &tcb_b, &err));
    g_assert_no_error(err);
    st = fwsim_load(dir, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(st->generation, ==, 1);
    g_assert_cmpuint(st->reported_tcb.snp, ==, 22);
    g_assert_cmpuint(st->launch_tcb.snp, ==, 8);
    g_assert_cmpuint(st->reported_tcb.fmc, ==, 0);
    new_blob = fwsim_blob(dir, &err);
    new_report = fwsim_report(dir, NULL, &err);
    g_assert_no_error(err);
    to = table_of(old_blob);
    tn = table_of(new_blob);
    ro = parse(old_report, SEVSNP_PRODUCT_UNKNOWN);
    rn = parse(new_report, SEVSNP_PRODUCT_UNKNOWN);

    g_assert_true(sevsnp_report_verify(ro, to, 0, 0, NULL));
    g_assert_true(sevsnp_report_verify(rn, tn, 0, 0, NULL));
    /* The race the locking protocol exists for: report and chain differ. */
    expect_fail(ro, tn, 0, 0, SEVSNP_REPORT_ERROR_SIGNATURE,
                "does not verify with the VCEK");
    expect_fail(rn, to, 0, 0, SEVSNP_REPORT_ERROR_SIGNATURE,
                "does not verify with the VCEK");

    /* Rotation without a TCB change keeps the TCB, changes the key. */
    g_assert_true(fwsim_rotate(dir, NULL, &err));
    {
        g_autoptr(FwSimState) s2 = fwsim_load(dir, &err);

        g_assert_no_error(err);
        g_assert_cmpuint(s2->generation, ==, 2);
        g_assert_true(sevsnp_tcb_equal(&s2->reported_tcb,
                                       &st->reported_tcb));
        g_assert_false(g_bytes_equal(s2->vcek_der, st->vcek_der));
        g_assert_true(g_bytes_equal(s2->ask_der, st->ask_der));
    }
    sevsnp_cert_table_unref(to);
    sevsnp_cert_table_unref(tn);
}

/* The same key in a VCEK with the wrong TCB or hwID. */
static void fw_wrong_vcek(gconstpointer data)
{
    SevsnpProduct p = GPOINTER_TO_INT(data);
    g_autofree char *dir = new_fw(p, &tcb_a);
    g_autoptr(GError) err = NULL;
    g_autoptr(FwSimState) st = fwsim_load(dir, &err);
    g_autoptr(GBytes) rb = fwsim_sign_report(st, NULL, &err);
    g_autofree SevsnpReport *r = parse(rb, SEVSNP_PRODUCT_UNKNOWN);
    size_t hlen = sevsnp_product_hwid_len(p);
    uint8_t other[SEVSNP_CHIP_ID_SIZE];
    SevsnpTcb fmc_only = st->reported_tcb;

    g_assert_no_error(err);
    memcpy(other, st->chip_id, sizeof(other));
    other[hlen - 1] ^= 0x80;
    fmc_only.fmc ^= 1;
    for (guint i = 0; i < 3; i++) {
        g_autoptr(GBytes) vcek = NULL;
        g_autoptr(GBytes) blob = NULL;
        SevsnpCertInput in[3];
        SevsnpCertTable *t;

        if (i == 2 && p != SEVSNP_PRODUCT_TURIN) {
            break;
        }
        vcek = fwsim_make_vcek(p, i == 0 ? &tcb_b :
                               i == 1 ? &st->reported_tcb : &fmc_only,
                               i == 1 ? other : st->chip_id, hlen,
                               st->vcek_key, st->ask_der, st->ask_key, &err);
        g_assert_no_error(err);
        memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
        memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
        memcpy(in[2].guid, sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), 16);
        in[0].der = st->ark_der;
        in[1].der = st->ask_der;
        in[2].der = vcek;
        blob = sevsnp_cert_table_build(in, 3, &err);
        g_assert_no_error(err);
        t = table_of(blob);
        if (i == 1) {
            g_autoptr(GError) e2 = NULL;
            g_autofree char *chip = NULL;

            expect_fail(r, t, 0, 0, SEVSNP_REPORT_ERROR_CHIP_ID,
                        "hwID does not match the report's chip id");
            /* The message never shows the chip id. */
            g_assert_false(sevsnp_report_verify(r, t, 0, 0, &e2));
            chip = g_strdup_printf("%02x%02x%02x", st->chip_id[0],
                                   st->chip_id[1], st->chip_id[2]);
            g_assert_null(strstr(e2->message, chip));
        } else {
            expect_fail(r, t, 0, 0, SEVSNP_REPORT_ERROR_TCB,
                        "but the report's reported TCB is");
        }
        sevsnp_cert_table_unref(t);
    }
}

static void test_fw_masked_and_product(void)
{
    g_autofree char *dir = new_fw(SEVSNP_PRODUCT_GENOA, &tcb_a);
    g_autoptr(GError) err = NULL;
    FwSimReportParams masked = { .mask_chip_id = true };
    FwSimReportParams turin_cpu = { .cpuid_fam_id = 0x1A,
                                    .cpuid_mod_id = 0x02 };
    g_autoptr(GBytes) blob = fwsim_blob(dir, &err);
    g_autoptr(GBytes) mb = fwsim_report(dir, &masked, &err);
    g_autoptr(GBytes) tb = fwsim_report(dir, &turin_cpu, &err);
    g_autofree SevsnpReport *mr = NULL, *tr = NULL;
    SevsnpCertTable *t;

    g_assert_no_error(err);
    t = table_of(blob);
    mr = parse(mb, SEVSNP_PRODUCT_UNKNOWN);
    expect_fail(mr, t, 0, 0, SEVSNP_REPORT_ERROR_CHIP_ID, "is masked");
    tr = parse(tb, SEVSNP_PRODUCT_UNKNOWN);
    g_assert_cmpint(tr->product, ==, SEVSNP_PRODUCT_TURIN);
    expect_fail(tr, t, 0, 0, SEVSNP_REPORT_ERROR_PRODUCT,
                "product mismatch: the chain (ARK) is Genoa but the "
                "report's CPUID is Turin");
    /* A hint that contradicts the CPUID fields. */
    g_assert_null(sevsnp_report_parse(g_bytes_get_data(tb, NULL),
                                      SEVSNP_REPORT_SIZE,
                                      SEVSNP_PRODUCT_MILAN, &err));
    g_assert_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_PRODUCT);
    sevsnp_cert_table_unref(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/report/milan/parse", test_milan_parse);
    g_test_add_func("/report/milan/verify", test_milan_verify);
    g_test_add_func("/report/milan/negative", test_milan_negative);
    g_test_add_func("/report/malformed", test_malformed);
    g_test_add_func("/report/read-file", test_read_file);
    g_test_add_func("/report/tcb", test_tcb);
    g_test_add_data_func("/report/fwsim/milan",
                         GINT_TO_POINTER(SEVSNP_PRODUCT_MILAN), fw_roundtrip);
    g_test_add_data_func("/report/fwsim/genoa",
                         GINT_TO_POINTER(SEVSNP_PRODUCT_GENOA), fw_roundtrip);
    g_test_add_data_func("/report/fwsim/turin",
                         GINT_TO_POINTER(SEVSNP_PRODUCT_TURIN), fw_roundtrip);
    g_test_add_func("/report/fwsim/rotate", test_fw_rotate);
    g_test_add_data_func("/report/fwsim/wrong-vcek/milan",
                         GINT_TO_POINTER(SEVSNP_PRODUCT_MILAN),
                         fw_wrong_vcek);
    g_test_add_data_func("/report/fwsim/wrong-vcek/turin",
                         GINT_TO_POINTER(SEVSNP_PRODUCT_TURIN),
                         fw_wrong_vcek);
    g_test_add_func("/report/fwsim/masked-and-product",
                    test_fw_masked_and_product);
    return g_test_run();
}
