/*
 * snp-certs fetch: a chip's VCEK and its product's chain from AMD's Key
 * Distribution Service (or a mirror of it, or a local cache laid out as
 * KDS's own paths), verified, as a certificate blob.
 *
 * Chip ids identify machines: they appear in URLs and cache file names
 * but never in a message.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <glib/gstdio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "snp-certs.h"

#define DEFAULT_KDS_URL "https://kdsintf.amd.com"
#define MAX_BODY (1024 * 1024)

static const uint8_t zero_chip[SEVSNP_CHIP_ID_SIZE];

typedef struct Fetch {
    const char *base;           /* KDS URL, no trailing slash */
    const char *cache;          /* NULL: no cache */
    int max_tries;
    double max_wait_s;
    CURL *curl;
} Fetch;

static size_t on_body(char *ptr, size_t size, size_t n, void *opaque)
{
    GByteArray *a = opaque;

    if (a->len + size * n > MAX_BODY) {
        return 0;               /* curl fails with CURLE_WRITE_ERROR */
    }
    g_byte_array_append(a, (const guint8 *)ptr, size * n);
    return size * n;
}

/*
 * GET @base + @path.  @what names the object in messages (never the
 * chip id).  429 and 503 are retried, honouring Retry-After, at most
 * max_tries times in all.
 */
static GBytes *http_get(Fetch *f, const char *path, const char *what,
                        GError **err)
{
    g_autofree char *url = g_strconcat(f->base, path, NULL);
    char ebuf[CURL_ERROR_SIZE];

    for (int attempt = 1;; attempt++) {
        g_autoptr(GByteArray) body = g_byte_array_new();
        curl_off_t retry_after = -1;
        long code = 0;
        double wait_s;
        CURLcode rc;

        ebuf[0] = '\0';
        curl_easy_reset(f->curl);
        curl_easy_setopt(f->curl, CURLOPT_URL, url);
        curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, ebuf);
        curl_easy_setopt(f->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT, 20L);
        curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(f->curl, CURLOPT_USERAGENT,
                         "snp-certs/" SNP_CERTS_VERSION);
        rc = curl_easy_perform(f->curl);
        if (rc != CURLE_OK) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "%s: %s", what,
                        rc == CURLE_WRITE_ERROR ? "response too large" :
                        ebuf[0] ? ebuf : curl_easy_strerror(rc));
            return NULL;
        }
        curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) {
            return g_byte_array_free_to_bytes(g_steal_pointer(&body));
        }
        if (code != 429 && code != 503) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "%s: HTTP %ld from the KDS at %s", what, code,
                        f->base);
            return NULL;
        }
        if (attempt >= f->max_tries) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "%s: HTTP %ld (%s) after %d tries; try again later",
                        what, code,
                        code == 429 ? "too many requests" : "unavailable",
                        attempt);
            return NULL;
        }
        curl_easy_getinfo(f->curl, CURLINFO_RETRY_AFTER, &retry_after);
        wait_s = retry_after >= 0 ? (double)retry_after
                                  : (double)(1u << MIN(attempt - 1, 6));
        if (wait_s > f->max_wait_s) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "%s: HTTP %ld asks to retry after %.0f s, more than "
                        "--max-wait %.0f s", what, code, wait_s,
                        f->max_wait_s);
            return NULL;
        }
        fprintf(stderr, "snp-certs: %s: HTTP %ld, retrying in %.0f s "
                "(try %d of %d)\n", what, code, wait_s, attempt + 1,
                f->max_tries);
        g_usleep((gulong)(wait_s * G_USEC_PER_SEC));
    }
}

/* A cached file, or NULL when absent (a read error is an error). */
static GBytes *cache_get(Fetch *f, const char *path, GError **err)
{
    g_autofree char *file = NULL;
    g_autoptr(GError) lerr = NULL;
    GBytes *b;

    if (!f->cache) {
        return NULL;
    }
    file = g_build_filename(f->cache, path, NULL);
    if (!g_file_test(file, G_FILE_TEST_EXISTS)) {
        return NULL;
    }
    b = sevsnp_file_read(file, MAX_BODY, &lerr);
    if (!b) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "cache %s: a cached file cannot be read", f->cache);
    }
    return b;
}

static gboolean cache_put(Fetch *f, const char *path, GBytes *b,
                          GError **err)
{
    g_autofree char *file = NULL, *dir = NULL;
    g_autoptr(GError) lerr = NULL;

    if (!f->cache) {
        return TRUE;
    }
    file = g_build_filename(f->cache, path, NULL);
    dir = g_path_get_dirname(file);
    if (g_mkdir_with_parents(dir, 0755) < 0 ||
        !g_file_set_contents(file, g_bytes_get_data(b, NULL),
                             g_bytes_get_size(b), &lerr)) {
        /* The file name holds the chip id: name only the cache. */
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "cache %s: cannot write: %s", f->cache,
                    lerr ? "write failed" : g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* Get @path from the cache, else the KDS; *@from_cache says which. */
static GBytes *get(Fetch *f, const char *path, const char *what,
                   gboolean *from_cache, GError **err)
{
    GBytes *b = cache_get(f, path, err);

    if (err && *err) {
        return NULL;
    }
    *from_cache = b != NULL;
    return b ? b : http_get(f, path, what, err);
}

static char *cn_of(X509 *x)
{
    const X509_NAME *n = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    char *ret;
    int len;

    if (idx < 0) {
        return g_strdup("");
    }
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
                                  X509_NAME_get_entry(n, idx)));
    ret = len < 0 ? g_strdup("") : g_strndup((char *)utf8, len);
    OPENSSL_free(utf8);
    return ret;
}

static GBytes *x509_der(X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    GBytes *b = len > 0 ? g_bytes_new(der, len) : NULL;

    OPENSSL_free(der);
    return b;
}

/* KDS's cert_chain: the ASK, then the ARK, PEM; checks the names. */
static gboolean split_chain(GBytes *pem, SevsnpProduct p, GBytes **ask_der,
                            GBytes **ark_der, GError **err)
{
    BIO *bio = BIO_new_mem_buf(g_bytes_get_data(pem, NULL),
                               (int)g_bytes_get_size(pem));
    X509 *ask = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    X509 *ark = ask ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    g_autofree char *ask_cn = NULL, *ark_cn = NULL;
    g_autofree char *want_ask = NULL, *want_ark = NULL;
    gboolean ok = FALSE;

    BIO_free(bio);
    if (!ask || !ark) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                    "the %s cert_chain is not two PEM certificates (ASK, "
                    "ARK)", sevsnp_product_name(p));
        goto out;
    }
    ask_cn = cn_of(ask);
    ark_cn = cn_of(ark);
    want_ask = g_strdup_printf("SEV-%s", sevsnp_product_name(p));
    want_ark = g_strdup_printf("ARK-%s", sevsnp_product_name(p));
    /* The ASK of a VLEK chain is "SEV-VLEK-..."; here it must be ASK. */
    if (strcmp(ask_cn, want_ask) || strcmp(ark_cn, want_ark)) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                    "the %s cert_chain holds %s and %s, not %s and %s",
                    sevsnp_product_name(p), ask_cn, ark_cn, want_ask,
                    want_ark);
        goto out;
    }
    *ask_der = x509_der(ask);
    *ark_der = x509_der(ark);
    ok = *ask_der && *ark_der;
out:
    X509_free(ask);
    X509_free(ark);
    return ok;
}

/* The VCEK is the one asked for: product, TCB, hwID. */
static gboolean check_vcek(GBytes *der, SevsnpProduct p, const SevsnpTcb *tcb,
                           const uint8_t *chip, GError **err)
{
    SevsnpTcb got;
    uint8_t hwid[SEVSNP_CHIP_ID_SIZE];
    size_t hlen, want = sevsnp_product_hwid_len(p);
    SevsnpProduct vp = sevsnp_vek_product(der);
    g_autoptr(GError) lerr = NULL;

    if (vp != p) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                    "the VCEK is for %s, not %s", sevsnp_product_name(vp),
                    sevsnp_product_name(p));
        return FALSE;
    }
    if (!sevsnp_vcek_get_tcb(der, p, &got, hwid, &hlen, &lerr)) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER, "%s",
                    lerr->message);
        return FALSE;
    }
    if (!sevsnp_tcb_equal(&got, tcb)) {
        g_autofree char *a = sevsnp_tcb_to_string(&got, p);
        g_autofree char *b = sevsnp_tcb_to_string(tcb, p);

        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                    "the VCEK is for TCB %s, not the TCB asked for, %s", a,
                    b);
        return FALSE;
    }
    if (hlen != want || memcmp(hwid, chip, want)) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                    "the VCEK's hwID is not the chip id asked for");
        return FALSE;
    }
    return TRUE;
}

/* The CRL is signed by the ARK and does not revoke the ASK. */
static gboolean check_crl(GBytes *crl_der, GBytes *ark_der, GBytes *ask_der,
                          GError **err)
{
    const unsigned char *p = g_bytes_get_data(crl_der, NULL);
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, g_bytes_get_size(crl_der));
    const unsigned char *q = g_bytes_get_data(ark_der, NULL);
    X509 *ark = d2i_X509(NULL, &q, g_bytes_get_size(ark_der));
    const unsigned char *r = g_bytes_get_data(ask_der, NULL);
    X509 *ask = d2i_X509(NULL, &r, g_bytes_get_size(ask_der));
    X509_REVOKED *rev = NULL;
    gboolean ok = FALSE;

    if (!crl || !ark || !ask) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                    "the CRL does not parse");
    } else if (X509_CRL_verify(crl, X509_get0_pubkey(ark)) != 1) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                    "the CRL is not signed by the ARK");
    } else if (X509_CRL_get0_by_cert(crl, &rev, ask) == 1) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                    "the CRL revokes the ASK");
    } else {
        ok = TRUE;
    }
    X509_CRL_free(crl);
    X509_free(ark);
    X509_free(ask);
    return ok;
}

static gboolean parse_hex(const char *s, uint8_t *out, size_t max,
                          size_t *len)
{
    size_t n = strlen(s);

    if (n == 0 || n % 2 || n / 2 > max) {
        return FALSE;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = g_ascii_xdigit_value(s[2 * i]);
        int lo = g_ascii_xdigit_value(s[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return FALSE;
        }
        out[i] = hi << 4 | lo;
    }
    *len = n / 2;
    return TRUE;
}

static int fail(GError *e)
{
    die_msg("%s", e->message);
    if ((e->domain == SEVSNP_ERROR && e->code == SEVSNP_ERROR_BAD_DER) ||
        e->domain == SEVSNP_REPORT_ERROR) {
        return EXIT_CHECK;
    }
    return EXIT_USAGE;
}

int cmd_fetch(int argc, char **argv)
{
    g_autofree char *report_path = NULL, *chip_hex = NULL, *tcb_s = NULL;
    g_autofree char *product = NULL, *kds_url = NULL, *cache = NULL;
    g_autofree char *out = NULL, *device = NULL;
    gboolean host = FALSE, want_crl = FALSE;
    gint max_tries = 5;
    gdouble max_wait = 120;
    GOptionEntry opts[] = {
        { "report", 0, 0, G_OPTION_ARG_FILENAME, &report_path,
          "take chip id, TCB and product from this report", "REPORT" },
        { "host", 0, 0, G_OPTION_ARG_NONE, &host,
          "take chip id and reported TCB from this host's SEV device",
          NULL },
        { "device", 0, 0, G_OPTION_ARG_FILENAME, &device,
          "the SEV device for --host (default /dev/sev)", "PATH" },
        { "chip-id", 0, 0, G_OPTION_ARG_STRING, &chip_hex,
          "the chip id, hex (64 bytes; Turin: the first 8 suffice)", "HEX" },
        { "tcb", 0, 0, G_OPTION_ARG_STRING, &tcb_s,
          "the reported TCB", "bl=N,tee=N,snp=N,ucode=N[,fmc=N]" },
        { "product", 0, 0, G_OPTION_ARG_STRING, &product,
          "the product (default: from the report or the CPU)",
          "Milan|Genoa|Turin" },
        { "kds-url", 0, 0, G_OPTION_ARG_STRING, &kds_url,
          "the KDS or a mirror of it (default " DEFAULT_KDS_URL ")", "URL" },
        { "cache", 0, 0, G_OPTION_ARG_FILENAME, &cache,
          "serve from and keep in DIR, laid out as KDS's paths", "DIR" },
        { "crl", 0, 0, G_OPTION_ARG_NONE, &want_crl,
          "also fetch the product's CRL and put it in the blob", NULL },
        { "max-tries", 0, 0, G_OPTION_ARG_INT, &max_tries,
          "requests per object when throttled (HTTP 429/503; default 5)",
          "N" },
        { "max-wait", 0, 0, G_OPTION_ARG_DOUBLE, &max_wait,
          "longest Retry-After to honour, seconds (default 120)", "S" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
          "the blob to write (a new file; install it with install)",
          "BLOB" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("(--report REPORT | --host | --chip-id HEX "
                             "--tcb TCB) -o BLOB - fetch the VCEK and "
                             "chain from AMD KDS");
    g_autoptr(GError) err = NULL;
    g_autofree SevsnpReport *report = NULL;
    g_autofree char *base = NULL, *hwid = NULL, *vcek_path = NULL;
    g_autofree char *newest_path = NULL, *chain_path = NULL, *query = NULL;
    g_autofree char *crl_path = NULL, *tcb_str = NULL, *vcek_what = NULL;
    g_autoptr(GBytes) chain = NULL, vcek = NULL, crl = NULL, blob = NULL;
    g_autoptr(GBytes) ark = NULL, ask = NULL;
    uint8_t chip[SEVSNP_CHIP_ID_SIZE] = { 0 };
    SevsnpProduct p = SEVSNP_PRODUCT_UNKNOWN;
    SevsnpTcb tcb;
    SevsnpCertInput in[4];
    SevsnpCertTable *t = NULL;
    g_autofree char *why = NULL;
    gboolean chain_cached = FALSE, vcek_cached = FALSE, crl_cached = FALSE;
    Fetch f = { 0 };
    size_t hlen;
    int n_in = 3, status;

    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "Requests /vcek/v1/PRODUCT/HWID?blSPL=NN&teeSPL=NN&snpSPL=NN&"
        "ucodeSPL=NN (Turin: &fmcSPL=NN, an 8-byte HWID) and "
        "/vcek/v1/PRODUCT/cert_chain (and /crl), verifies everything, "
        "then writes BLOB (ARK, ASK, VCEK[, CRL]).  With --cache DIR, "
        "objects found in DIR are used without the network and new ones "
        "are kept there under the same paths, so a static web server "
        "serving DIR is a KDS mirror for --kds-url.");
    if (!parse_options(ctx, &argc, &argv)) {
        return EXIT_USAGE;
    }
    if (argc != 1) {
        die_msg("fetch: unexpected argument '%s'", argv[1]);
        return EXIT_USAGE;
    }
    if (!out) {
        die_msg("fetch: no output file (-o BLOB)");
        return EXIT_USAGE;
    }
    if ((report_path != NULL) + host + (chip_hex != NULL) != 1 ||
        (chip_hex != NULL) != (tcb_s != NULL)) {
        die_msg("fetch: give one of --report REPORT, --host, or --chip-id "
                "HEX with --tcb TCB");
        return EXIT_USAGE;
    }
    if (max_tries < 1 || max_wait < 0 || isnan(max_wait)) {
        die_msg("fetch: --max-tries must be at least 1 and --max-wait not "
                "negative");
        return EXIT_USAGE;
    }
    if (product && !sevsnp_product_from_name(product, &p)) {
        die_msg("--product '%s' is not Milan, Genoa or Turin", product);
        return EXIT_USAGE;
    }

    if (report_path) {
        g_autoptr(GBytes) rb = sevsnp_report_read_file(report_path, &err);

        if (!rb) {
            return fail(err);
        }
        report = sevsnp_report_parse(g_bytes_get_data(rb, NULL),
                                     g_bytes_get_size(rb), p, &err);
        if (!report) {
            die_msg("%s: %s", report_path, err->message);
            return EXIT_CHECK;
        }
        p = report->product;
        if (p == SEVSNP_PRODUCT_UNKNOWN) {
            die_msg("%s: a version %u report does not name its product: "
                    "give --product", report_path, report->version);
            return EXIT_USAGE;
        }
        memcpy(chip, report->chip_id, sizeof(chip));
        tcb = report->reported_tcb;
    } else if (host) {
        SnpHostInfo info;

        if (!snp_host_query(device ? device : "/dev/sev", &info, &err)) {
            return fail(err);
        }
        if (p == SEVSNP_PRODUCT_UNKNOWN) {
            p = info.product;
        }
        if (p == SEVSNP_PRODUCT_UNKNOWN) {
            die_msg("fetch --host: this CPU is not a known SNP product: give "
                    "--product");
            return EXIT_USAGE;
        }
        memcpy(chip, info.chip_id, MIN(info.chip_id_len, sizeof(chip)));
        tcb = sevsnp_tcb_decode(info.reported_tcb, p);
    } else {
        if (p == SEVSNP_PRODUCT_UNKNOWN) {
            die_msg("fetch --chip-id: give --product");
            return EXIT_USAGE;
        }
        if (!parse_hex(chip_hex, chip, sizeof(chip), &hlen) ||
            (hlen != SEVSNP_CHIP_ID_SIZE &&
             hlen != sevsnp_product_hwid_len(p))) {
            die_msg("--chip-id: not %zu (or 64) bytes of hex",
                    sevsnp_product_hwid_len(p));
            return EXIT_USAGE;
        }
        if (!sevsnp_tcb_parse(tcb_s, p, &tcb, &err)) {
            die_msg("--tcb: %s", err->message);
            return EXIT_USAGE;
        }
    }
    hlen = sevsnp_product_hwid_len(p);
    if (!memcmp(chip, zero_chip, hlen)) {
        die_msg("fetch: the chip id is masked (all zero; MASK_CHIP_ID): "
                "give --chip-id");
        return EXIT_USAGE;
    }

    base = g_strdup(kds_url ? kds_url : DEFAULT_KDS_URL);
    while (*base && base[strlen(base) - 1] == '/') {
        base[strlen(base) - 1] = '\0';
    }
    hwid = g_malloc0(2 * hlen + 1);
    for (size_t i = 0; i < hlen; i++) {
        g_snprintf(hwid + 2 * i, 3, "%02x", chip[i]);
    }
    query = g_strdup_printf("blSPL=%02u&teeSPL=%02u&snpSPL=%02u&"
                            "ucodeSPL=%02u", tcb.bootloader, tcb.tee, tcb.snp,
                            tcb.microcode);
    if (p == SEVSNP_PRODUCT_TURIN) {
        g_autofree char *q = query;

        query = g_strdup_printf("%s&fmcSPL=%02u", q, tcb.fmc);
    }
    newest_path = g_strdup_printf("/vcek/v1/%s/%s", sevsnp_product_name(p),
                                  hwid);
    vcek_path = g_strdup_printf("%s?%s", newest_path, query);
    chain_path = g_strdup_printf("/vcek/v1/%s/cert_chain",
                                 sevsnp_product_name(p));
    crl_path = g_strdup_printf("/vcek/v1/%s/crl", sevsnp_product_name(p));
    tcb_str = sevsnp_tcb_to_string(&tcb, p);
    vcek_what = g_strdup_printf("the %s VCEK for TCB %s",
                                sevsnp_product_name(p), tcb_str);

    f.base = base;
    f.cache = cache;
    f.max_tries = max_tries;
    f.max_wait_s = max_wait;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
        f.curl = curl_easy_init();
    }
    if (!f.curl) {
        die_msg("fetch: libcurl cannot be initialised");
        return EXIT_USAGE;
    }

    status = EXIT_OK;
    chain = get(&f, chain_path, "the cert_chain", &chain_cached, &err);
    if (!chain || !split_chain(chain, p, &ask, &ark, &err)) {
        status = fail(err);
        goto out;
    }
    vcek = get(&f, vcek_path, vcek_what, &vcek_cached, &err);
    if (vcek) {
        GBytes *der = sevsnp_der_from_pem_or_der(vcek, SEVSNP_CERT_VCEK,
                                                 NULL);
        if (!der) {
            g_set_error(&err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                        "%s is not an X.509 certificate", vcek_what);
        }
        g_bytes_unref(vcek);
        vcek = der;
    }
    if (!vcek || !check_vcek(vcek, p, &tcb, chip, &err)) {
        status = fail(err);
        goto out;
    }
    if (want_crl) {
        crl = get(&f, crl_path, "the CRL", &crl_cached, &err);
        if (crl) {
            GBytes *der = sevsnp_der_from_pem_or_der(crl, SEVSNP_CERT_CRL,
                                                     NULL);
            if (!der) {
                g_set_error(&err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_DER,
                            "the %s CRL is not an X.509 CRL",
                            sevsnp_product_name(p));
            }
            g_bytes_unref(crl);
            crl = der;
        }
        if (!crl || !check_crl(crl, ark, ask, &err)) {
            status = fail(err);
            goto out;
        }
    }

    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    memcpy(in[2].guid, sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), 16);
    in[0].der = ark;
    in[1].der = ask;
    in[2].der = vcek;
    if (crl) {
        memcpy(in[3].guid, sevsnp_cert_type_guid(SEVSNP_CERT_CRL), 16);
        in[3].der = crl;
        n_in = 4;
    }
    blob = sevsnp_cert_table_build(in, n_in, &err);
    t = blob ? sevsnp_cert_table_parse(blob, 0, &err) : NULL;
    if (!t) {
        status = fail(err);
        goto out;
    }
    if (sevsnp_cert_table_verify(t, 0, &why) != SEVSNP_CHAIN_VALID) {
        die_msg("fetch: the fetched chain does not verify: %s", why);
        status = EXIT_CHECK;
        goto out;
    }
    if (report && !sevsnp_report_verify(report, t, p, 0, &err)) {
        die_msg("%s: does not verify with the fetched chain: %s",
                report_path, err->message);
        status = EXIT_CHECK;
        goto out;
    }

    /* Everything verified: keep it, then write the blob. */
    if ((!chain_cached && !cache_put(&f, chain_path, chain, &err)) ||
        (!vcek_cached && (!cache_put(&f, vcek_path, vcek, &err) ||
                          !cache_put(&f, newest_path, vcek, &err))) ||
        (crl && !crl_cached && !cache_put(&f, crl_path, crl, &err))) {
        status = fail(err);
        goto out;
    }
    if (!g_file_set_contents(out, g_bytes_get_data(blob, NULL),
                             g_bytes_get_size(blob), &err)) {
        die_msg("%s: %s", out, err->message);
        status = EXIT_USAGE;
        goto out;
    }
    printf("%s: %s VCEK for TCB %s%s, chain verified%s\n", out,
           sevsnp_product_name(p), tcb_str,
           vcek_cached ? " (from the cache)" : "",
           report ? ", report verified" : "");
out:
    if (t) {
        sevsnp_cert_table_unref(t);
    }
    curl_easy_cleanup(f.curl);
    curl_global_cleanup();
    return status;
}
