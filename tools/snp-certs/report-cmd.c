/*
 * snp-certs report show | verify: attestation reports.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "snp-certs.h"

/* Read and parse REPORT (raw or hex); prints the error. */
static SevsnpReport *load_report(const char *path, SevsnpProduct hint,
                                 int *status)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) b = sevsnp_report_read_file(path, &err);
    SevsnpReport *r;

    if (!b) {
        die_msg("%s", err->message);
        *status = err->domain == SEVSNP_REPORT_ERROR ? EXIT_CHECK
                                                     : EXIT_USAGE;
        return NULL;
    }
    r = sevsnp_report_parse(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
                            hint, &err);
    if (!r) {
        die_msg("%s: %s", path, err->message);
        *status = EXIT_CHECK;
    }
    return r;
}

static gboolean parse_product(const char *name, SevsnpProduct *p)
{
    if (name && !sevsnp_product_from_name(name, p)) {
        die_msg("--product '%s' is not Milan, Genoa or Turin", name);
        return FALSE;
    }
    return TRUE;
}

static int report_show(int argc, char **argv)
{
    gboolean json = FALSE;
    g_autofree char *product = NULL;
    GOptionEntry opts[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print JSON for machines", NULL },
        { "product", 0, 0, G_OPTION_ARG_STRING, &product,
          "the product, for a version 2 report (Turin's TCB layout differs)",
          "Milan|Genoa|Turin" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("REPORT - print every field of an attestation "
                             "report");
    g_autofree SevsnpReport *r = NULL;
    SevsnpProduct p = SEVSNP_PRODUCT_UNKNOWN;
    int status = EXIT_OK;

    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "REPORT is the 1184-byte report, raw or as hex text.");
    if (!parse_options(ctx, &argc, &argv) || !parse_product(product, &p)) {
        return EXIT_USAGE;
    }
    if (argc != 2) {
        die_msg("report show: expected one REPORT (try --help)");
        return EXIT_USAGE;
    }
    r = load_report(argv[1], p, &status);
    if (!r) {
        return status;
    }
    if (json) {
        g_autoptr(GVariant) v =
            g_variant_ref_sink(sevsnp_report_to_variant(r));
        g_autoptr(JsonNode) node = json_gvariant_serialize(v);
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autofree char *text = NULL;

        json_generator_set_root(gen, node);
        json_generator_set_pretty(gen, TRUE);
        text = json_generator_to_data(gen, NULL);
        printf("%s\n", text);
    } else {
        g_autofree char *text = sevsnp_report_describe(r);

        printf("%s", text);
    }
    return EXIT_OK;
}

static SevsnpCertTable *chain_from_files(const char *ark, const char *ask,
                                         const char *vcek, const char *vlek,
                                         int *status)
{
    SevsnpCertFile files[3] = {
        { SEVSNP_CERT_ARK, NULL, ark },
        { SEVSNP_CERT_ASK, NULL, ask },
        { vcek ? SEVSNP_CERT_VCEK : SEVSNP_CERT_VLEK, NULL,
          vcek ? vcek : vlek },
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) blob = sevsnp_cert_table_build_files(files, 3, &err);
    SevsnpCertTable *t;

    if (!blob) {
        die_msg("%s", err->message);
        *status = EXIT_USAGE;
        return NULL;
    }
    t = sevsnp_cert_table_parse(blob, 0, &err);
    if (!t) {
        die_msg("%s", err->message);
        *status = EXIT_CHECK;
    }
    return t;
}

static int report_verify(int argc, char **argv)
{
    g_autofree char *blob = NULL, *ark = NULL, *ask = NULL, *vcek = NULL;
    g_autofree char *vlek = NULL, *product = NULL, *at_s = NULL;
    GOptionEntry opts[] = {
        { "blob", 0, 0, G_OPTION_ARG_FILENAME, &blob,
          "the certificate blob (as served to guests)", "BLOB" },
        { "ark", 0, 0, G_OPTION_ARG_FILENAME, &ark, "ARK (PEM or DER)",
          "FILE" },
        { "ask", 0, 0, G_OPTION_ARG_FILENAME, &ask,
          "ASK, or the ASVK for a VLEK", "FILE" },
        { "vcek", 0, 0, G_OPTION_ARG_FILENAME, &vcek, "VCEK", "FILE" },
        { "vlek", 0, 0, G_OPTION_ARG_FILENAME, &vlek, "VLEK", "FILE" },
        { "product", 0, 0, G_OPTION_ARG_STRING, &product,
          "require this product", "Milan|Genoa|Turin" },
        { "at", 0, 0, G_OPTION_ARG_STRING, &at_s,
          "check certificate validity at TIME (seconds since the epoch or "
          "ISO 8601) instead of now", "TIME" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("REPORT (--blob BLOB | --ark F --ask F "
                             "(--vcek F | --vlek F)) - verify a report "
                             "against a chain");
    g_autofree SevsnpReport *r = NULL;
    g_autoptr(GError) err = NULL;
    SevsnpProduct p = SEVSNP_PRODUCT_UNKNOWN;
    SevsnpCertTable *t;
    gint64 at = 0;
    int status = EXIT_OK;
    g_autofree char *tcb = NULL;

    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "Checks that the chain is valid, that the key the report names "
        "(VCEK or VLEK) verifies its ECDSA P-384 SHA-384 signature, that "
        "the products agree, and for a VCEK that its TCB extensions equal "
        "the reported TCB and its hwID the chip id.  Exit 0 verified, 1 "
        "not (with the reason), 2 usage or I/O error.");
    if (!parse_options(ctx, &argc, &argv) || !parse_product(product, &p)) {
        return EXIT_USAGE;
    }
    if (at_s && !parse_time(at_s, &at, &err)) {
        die_msg("--at: %s", err->message);
        return EXIT_USAGE;
    }
    if (argc != 2) {
        die_msg("report verify: expected one REPORT (try --help)");
        return EXIT_USAGE;
    }
    if (blob ? (ark || ask || vcek || vlek) :
        (!ark || !ask || !vcek == !vlek)) {
        die_msg("report verify: give --blob BLOB, or --ark, --ask and one "
                "of --vcek and --vlek");
        return EXIT_USAGE;
    }
    r = load_report(argv[1], p, &status);
    if (!r) {
        return status;
    }
    t = blob ? load_blob(blob, &status)
             : chain_from_files(ark, ask, vcek, vlek, &status);
    if (!t) {
        return status;
    }
    if (!sevsnp_report_verify(r, t, p, at, &err)) {
        die_msg("%s: does not verify: %s", argv[1], err->message);
        sevsnp_cert_table_unref(t);
        return EXIT_CHECK;
    }
    sevsnp_cert_table_unref(t);
    tcb = sevsnp_tcb_to_string(&r->reported_tcb, r->product);
    printf("%s: verified: version %u report signed by the %s, reported "
           "TCB %s\n", argv[1], r->version,
           r->signing_key == SEVSNP_SIGNING_KEY_VLEK ? "VLEK" : "VCEK", tcb);
    return EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
    g_autofree char *name = NULL;

    if (argc >= 2 && (!strcmp(argv[1], "show") ||
                      !strcmp(argv[1], "verify"))) {
        name = g_strdup_printf("%s %s", argv[0], argv[1]);
        argv[1] = name;
        return !strcmp(name + strlen(name) - 4, "show")
               ? report_show(argc - 1, argv + 1)
               : report_verify(argc - 1, argv + 1);
    }
    if (argc >= 2 && (!strcmp(argv[1], "--help") ||
                      !strcmp(argv[1], "-h"))) {
        printf("Usage: %s show [--json] REPORT\n"
               "       %s verify REPORT (--blob BLOB | --ark F --ask F "
               "(--vcek F | --vlek F)) [--product P] [--at TIME]\n",
               argv[0], argv[0]);
        return EXIT_OK;
    }
    die_msg("report: expected 'show' or 'verify' (try report --help)");
    return EXIT_USAGE;
}
