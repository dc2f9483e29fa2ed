/*
 * snp-sim-fw: the operator's side of the simulated AMD-SP firmware
 *
 *   snp-sim-fw create DIR [--product P] [--tcb bl=N,tee=N,snp=N,ucode=N]
 *   snp-sim-fw rotate DIR [--bump]     a firmware/TCB update: new VCEK
 *   snp-sim-fw blob DIR -o FILE        the blob that matches the firmware
 *   snp-sim-fw show DIR                generation, TCB, VCEK fingerprint
 *   snp-sim-fw report DIR -o FILE      a report signed now (random report
 *                                      data), as SNP_GUEST_REQUEST gives
 *   snp-sim-fw verify-pairs DIR [--product P]
 *                                      verify every N.report against the
 *                                      N.certs a guest received with it;
 *                                      a pair without a chain (N.certs
 *                                      empty, or an empty table) cannot
 *                                      mismatch and is counted apart
 *
 * Test-only (it drives libsevsnp's sim/fwsim.c); the SNP host simulator
 * signs with whatever DIR holds at the moment of signing.  Exit status 0
 * ok, 1 a check failed (verify-pairs: a mismatched pair), 2 usage or I/O.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsevsnp.h"
#include "fwsim.h"

static char *opt_product;
static char *opt_tcb;
static char *opt_out;
static gboolean opt_bump;
static gboolean opt_quiet;

static const GOptionEntry entries[] = {
    { "product", 0, 0, G_OPTION_ARG_STRING, &opt_product,
      "Milan, Genoa or Turin (default Milan)", "P" },
    { "tcb", 0, 0, G_OPTION_ARG_STRING, &opt_tcb,
      "the TCB, bl=N,tee=N,snp=N,ucode=N[,fmc=N]", "TCB" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out,
      "where blob and report write", "FILE" },
    { "bump", 0, 0, G_OPTION_ARG_NONE, &opt_bump,
      "rotate: raise the SNP SPL by one (a TCB update)", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
      "verify-pairs: only the summary line", NULL },
    { NULL }
};

static int fail(GError *err)
{
    fprintf(stderr, "snp-sim-fw: %s\n", err->message);
    g_error_free(err);
    return 2;
}

static SevsnpProduct product(void)
{
    SevsnpProduct p = SEVSNP_PRODUCT_MILAN;

    if (opt_product && !sevsnp_product_from_name(opt_product, &p)) {
        fprintf(stderr, "snp-sim-fw: unknown product '%s'\n", opt_product);
        exit(2);
    }
    return p;
}

static int cmd_create(const char *dir)
{
    SevsnpProduct p = product();
    SevsnpTcb tcb = { .bootloader = 3, .tee = 0, .snp = 8,
                      .microcode = 115 };
    GError *err = NULL;

    if (p == SEVSNP_PRODUCT_TURIN) {
        tcb.fmc = 1;
    }
    if (opt_tcb && !sevsnp_tcb_parse(opt_tcb, p, &tcb, &err)) {
        return fail(err);
    }
    if (!fwsim_create(dir, p, &tcb, &err)) {
        return fail(err);
    }
    return 0;
}

static int cmd_rotate(const char *dir)
{
    GError *err = NULL;
    g_autoptr(FwSimState) st = fwsim_load(dir, &err);
    SevsnpTcb tcb;

    if (!st) {
        return fail(err);
    }
    tcb = st->reported_tcb;
    tcb.snp++;
    if (!fwsim_rotate(dir, opt_bump ? &tcb : NULL, &err)) {
        return fail(err);
    }
    return 0;
}

static int cmd_blob(const char *dir)
{
    GError *err = NULL;
    g_autoptr(GBytes) blob = NULL;
    gsize len;
    const char *data;

    if (!opt_out) {
        fprintf(stderr, "snp-sim-fw: blob needs -o FILE\n");
        return 2;
    }
    blob = fwsim_blob(dir, &err);
    if (!blob) {
        return fail(err);
    }
    data = g_bytes_get_data(blob, &len);
    if (!g_file_set_contents(opt_out, data, len, &err)) {
        return fail(err);
    }
    return 0;
}

static int cmd_show(const char *dir)
{
    GError *err = NULL;
    g_autoptr(FwSimState) st = fwsim_load(dir, &err);
    g_autofree char *tcb = NULL;
    g_autofree char *fp = NULL;

    if (!st) {
        return fail(err);
    }
    tcb = sevsnp_tcb_to_string(&st->reported_tcb, st->product);
    fp = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, st->vcek_der);
    printf("product %s generation %" G_GUINT64_FORMAT " reported-tcb %s "
           "vcek-sha256 %s\n", sevsnp_product_name(st->product),
           st->generation, tcb, fp);
    return 0;
}

static int cmd_report(const char *dir)
{
    GError *err = NULL;
    g_autoptr(GBytes) rep = NULL;
    FwSimReportParams p = { .version = 3 };
    gsize len;
    const char *data;

    if (!opt_out) {
        fprintf(stderr, "snp-sim-fw: report needs -o FILE\n");
        return 2;
    }
    for (gsize i = 0; i < sizeof(p.report_data); i++) {
        p.report_data[i] = g_random_int_range(0, 256);
    }
    rep = fwsim_report(dir, &p, &err);
    if (!rep) {
        return fail(err);
    }
    data = g_bytes_get_data(rep, &len);
    if (!g_file_set_contents(opt_out, data, len, &err)) {
        return fail(err);
    }
    return 0;
}

/*
 * The extent of a certificate table inside a guest buffer: the guest
 * received the whole buffer, the table is at its start.  Bytes after the
 * last entry's data are the rest of the guest's buffer, not the blob.
 */
static GBytes *table_extent(GBytes *buf)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(buf, &len);
    gsize end = 0;

    for (gsize off = 0; off + SEVSNP_CERT_ENTRY_SIZE <= len;
         off += SEVSNP_CERT_ENTRY_SIZE) {
        static const uint8_t zero[SEVSNP_CERT_ENTRY_SIZE];
        uint32_t o, l;

        if (!memcmp(p + off, zero, sizeof(zero))) {
            end = MAX(end, off + SEVSNP_CERT_ENTRY_SIZE);
            return g_bytes_new_from_bytes(buf, 0, end);
        }
        memcpy(&o, p + off + 16, 4);
        memcpy(&l, p + off + 20, 4);
        o = GUINT32_FROM_LE(o);
        l = GUINT32_FROM_LE(l);
        if ((gsize)o + l > len) {
            return NULL;
        }
        end = MAX(end, (gsize)o + l);
    }
    return NULL;
}

typedef enum {
    PAIR_MATCHING,
    PAIR_CHAINLESS,
    PAIR_MISMATCHED,
} PairVerdict;

/* No chain: no buffer at all, or a table that ends at its first entry. */
static gboolean chainless(GBytes *buf)
{
    static const uint8_t zero[SEVSNP_CERT_ENTRY_SIZE];
    gsize len;
    const uint8_t *p = g_bytes_get_data(buf, &len);

    return len == 0 ||
           (len >= sizeof(zero) && !memcmp(p, zero, sizeof(zero)));
}

static PairVerdict verify_pair(const char *dir, const char *name,
                               SevsnpProduct p, char **why)
{
    g_autofree char *rpath = g_strdup_printf("%s/%s.report", dir, name);
    g_autofree char *cpath = g_strdup_printf("%s/%s.certs", dir, name);
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) rbytes = sevsnp_report_read_file(rpath, &err);
    g_autoptr(GBytes) buf = NULL, blob = NULL;
    g_autofree SevsnpReport *r = NULL;
    SevsnpCertTable *t = NULL;
    gboolean ok;
    gsize rlen;
    const void *rdata;

    if (!rbytes) {
        *why = g_strdup(err->message);
        return PAIR_MISMATCHED;
    }
    rdata = g_bytes_get_data(rbytes, &rlen);
    r = sevsnp_report_parse(rdata, rlen, p, &err);
    if (!r) {
        *why = g_strdup_printf("%s: %s", rpath, err->message);
        return PAIR_MISMATCHED;
    }
    buf = sevsnp_file_read(cpath, 0, &err);
    if (!buf) {
        *why = g_strdup(err->message);
        return PAIR_MISMATCHED;
    }
    if (chainless(buf)) {
        return PAIR_CHAINLESS;
    }
    blob = table_extent(buf);
    if (!blob) {
        *why = g_strdup_printf("%s: no certificate table", cpath);
        return PAIR_MISMATCHED;
    }
    t = sevsnp_cert_table_parse(blob, 0, &err);
    if (!t) {
        *why = g_strdup_printf("%s: %s", cpath, err->message);
        return PAIR_MISMATCHED;
    }
    ok = sevsnp_report_verify(r, t, p, 0, &err);
    sevsnp_cert_table_unref(t);
    if (!ok) {
        *why = g_strdup(err->message);
        return PAIR_MISMATCHED;
    }
    return PAIR_MATCHING;
}

static int cmd_verify_pairs(const char *dir)
{
    SevsnpProduct p = opt_product ? product() : SEVSNP_PRODUCT_UNKNOWN;
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &err);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    guint bad = 0, none = 0;
    const char *e;

    if (!d) {
        fprintf(stderr, "snp-sim-fw: %s\n", err->message);
        return 2;
    }
    while ((e = g_dir_read_name(d))) {
        if (g_str_has_suffix(e, ".report")) {
            g_ptr_array_add(names, g_strndup(e, strlen(e) - 7));
        }
    }
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *why = NULL;

        switch (verify_pair(dir, names->pdata[i], p, &why)) {
        case PAIR_MISMATCHED:
            bad++;
            if (!opt_quiet || bad <= 5) {
                printf("mismatch %s: %s\n", (char *)names->pdata[i], why);
            }
            break;
        case PAIR_CHAINLESS:
            none++;
            break;
        case PAIR_MATCHING:
            break;
        }
    }
    printf("pairs %u matching %u chainless %u mismatched %u\n", names->len,
           names->len - none - bad, none, bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "create|rotate|blob|show|report|verify-pairs DIR - the simulated SNP "
        "firmware (tests only)");
    g_autoptr(GError) err = NULL;
    const char *cmd, *dir;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "snp-sim-fw: %s\n", err->message);
        return 2;
    }
    if (argc != 3) {
        fprintf(stderr, "snp-sim-fw: usage: snp-sim-fw COMMAND DIR "
                "(see --help)\n");
        return 2;
    }
    cmd = argv[1];
    dir = argv[2];
    if (!strcmp(cmd, "create")) {
        return cmd_create(dir);
    } else if (!strcmp(cmd, "rotate")) {
        return cmd_rotate(dir);
    } else if (!strcmp(cmd, "blob")) {
        return cmd_blob(dir);
    } else if (!strcmp(cmd, "show")) {
        return cmd_show(dir);
    } else if (!strcmp(cmd, "report")) {
        return cmd_report(dir);
    } else if (!strcmp(cmd, "verify-pairs")) {
        return cmd_verify_pairs(dir);
    }
    fprintf(stderr, "snp-sim-fw: unknown command '%s'\n", cmd);
    return 2;
}
