/*
 * fwsim: a simulated AMD Secure Processor firmware, for tests only.
 * See fwsim.h.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fwsim.h"

#define STATE_GROUP "firmware"
#define DAY_S 86400L

/* CamelCase names for OpenSSL types, in QEMU style. */
typedef X509 FwX509;
typedef X509_NAME FwX509Name;
typedef EVP_PKEY FwPkey;
typedef EVP_MD_CTX FwMdCtx;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FwX509, X509_free)

static void fw_set_error(GError **err, const char *what)
{
    g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                "fwsim: %s failed (OpenSSL)", what);
}

void fwsim_product_cpuid(SevsnpProduct p, uint8_t *fam, uint8_t *mod,
                         uint8_t *step)
{
    switch (p) {
    case SEVSNP_PRODUCT_GENOA:
        *fam = 0x19;
        *mod = 0x11;
        *step = 0x1;
        break;
    case SEVSNP_PRODUCT_TURIN:
        *fam = 0x1A;
        *mod = 0x02;
        *step = 0x0;
        break;
    default:
        *fam = 0x19;
        *mod = 0x01;
        *step = 0x1;
        break;
    }
}

static const char *product_stepping(SevsnpProduct p)
{
    switch (p) {
    case SEVSNP_PRODUCT_GENOA:
        return "Genoa-B1";
    case SEVSNP_PRODUCT_TURIN:
        return "Turin-C1";
    default:
        return "Milan-B0";
    }
}

/* AMD's subject: OU, C, L, ST, O, CN. */
static FwX509Name *amd_name(const char *cn)
{
    FwX509Name *n = X509_NAME_new();
    static const char *const f[][2] = {
        { "OU", "Engineering" }, { "C", "US" }, { "L", "Santa Clara" },
        { "ST", "CA" }, { "O", "Advanced Micro Devices" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(f); i++) {
        X509_NAME_add_entry_by_txt(n, f[i][0],
                                   i == 1 ? MBSTRING_ASC : MBSTRING_UTF8,
                                   (const unsigned char *)f[i][1], -1, -1,
                                   0);
    }
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                               (const unsigned char *)cn, -1, -1, 0);
    return n;
}

/* Sign @x with @key: RSA-PSS SHA-384 (salt 48, MGF1 SHA-384) like AMD. */
static gboolean sign_pss(FwX509 *x, FwPkey *key, GError **err)
{
    FwMdCtx *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    gboolean ok;

    ok = md && EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) > 0 &&
         EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) > 0 &&
         X509_sign_ctx(x, md) > 0;
    EVP_MD_CTX_free(md);
    if (!ok) {
        fw_set_error(err, "RSA-PSS signing");
    }
    return ok;
}

static void add_ext_nid(FwX509 *x, FwX509 *issuer, int nid, const char *v)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, v);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate skeleton: version 3, serial, AMD names, 25 years. */
static FwX509 *cert_skeleton(const char *cn, FwX509Name *issuer, FwPkey *key,
                             long serial)
{
    FwX509 *x = X509_new();
    FwX509Name *name = amd_name(cn);

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -DAY_S);
    X509_gmtime_adj(X509_getm_notAfter(x), 25 * 365 * DAY_S);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? issuer : name);
    X509_set_pubkey(x, key);
    X509_NAME_free(name);
    return x;
}

static GBytes *x509_der(FwX509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    GBytes *b;

    if (len <= 0) {
        return NULL;
    }
    b = g_bytes_new(der, len);
    OPENSSL_free(der);
    return b;
}

static FwX509 *der_x509(GBytes *der)
{
    const unsigned char *p = g_bytes_get_data(der, NULL);

    return d2i_X509(NULL, &p, g_bytes_get_size(der));
}

/* An AMD extension: OID 1.3.6.1.4.1.3704.1.@suffix, OCTET STRING @val. */
static gboolean add_amd_ext(FwX509 *x, const char *suffix,
                            const unsigned char *val, int len)
{
    g_autofree char *oid = g_strconcat("1.3.6.1.4.1.3704.1.", suffix, NULL);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    gboolean ok;

    ok = obj && os && ASN1_OCTET_STRING_set(os, val, len) &&
         (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) &&
         X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok;
}

/* The extension's value is the DER of an INTEGER, as in AMD's VCEKs. */
static gboolean add_amd_int(FwX509 *x, const char *suffix, long v)
{
    ASN1_INTEGER *i = ASN1_INTEGER_new();
    unsigned char *der = NULL;
    int len;
    gboolean ok;

    ASN1_INTEGER_set(i, v);
    len = i2d_ASN1_INTEGER(i, &der);
    ok = len > 0 && add_amd_ext(x, suffix, der, len);
    OPENSSL_free(der);
    ASN1_INTEGER_free(i);
    return ok;
}

static gboolean add_amd_ia5(FwX509 *x, const char *suffix, const char *s)
{
    ASN1_IA5STRING *str = ASN1_IA5STRING_new();
    unsigned char *der = NULL;
    int len;
    gboolean ok;

    ASN1_STRING_set(str, s, -1);
    len = i2d_ASN1_IA5STRING(str, &der);
    ok = len > 0 && add_amd_ext(x, suffix, der, len);
    OPENSSL_free(der);
    ASN1_IA5STRING_free(str);
    return ok;
}

GBytes *fwsim_make_vcek(SevsnpProduct product, const SevsnpTcb *tcb,
                        const uint8_t *hwid, size_t hwid_len, FwPkey *key,
                        GBytes *issuer_der, FwPkey *issuer_key, GError **err)
{
    g_autoptr(FwX509) issuer = der_x509(issuer_der);
    g_autoptr(FwX509) x = NULL;
    gboolean ok;

    if (!issuer) {
        fw_set_error(err, "reading the issuer");
        return NULL;
    }
    x = cert_skeleton("SEV-VCEK", X509_get_subject_name(issuer), key, 0);
    ok = add_amd_int(x, "1", 0) &&
         add_amd_ia5(x, "2", product_stepping(product)) &&
         add_amd_int(x, "3.1", tcb->bootloader) &&
         add_amd_int(x, "3.2", tcb->tee) &&
         add_amd_int(x, "3.4", 0) && add_amd_int(x, "3.5", 0) &&
         add_amd_int(x, "3.6", 0) && add_amd_int(x, "3.7", 0) &&
         add_amd_int(x, "3.3", tcb->snp) &&
         add_amd_int(x, "3.8", tcb->microcode) &&
         (product != SEVSNP_PRODUCT_TURIN ||
          add_amd_int(x, "3.9", tcb->fmc)) &&
         add_amd_ext(x, "4", hwid, (int)hwid_len);
    if (!ok) {
        fw_set_error(err, "adding the VCEK extensions");
        return NULL;
    }
    if (!sign_pss(x, issuer_key, err)) {
        return NULL;
    }
    return x509_der(x);
}

static char *pkey_pem(FwPkey *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem, *ret = NULL;
    long n;

    if (PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)) {
        n = BIO_get_mem_data(bio, &mem);
        ret = g_strndup(mem, n);
    }
    BIO_free(bio);
    return ret;
}

static FwPkey *pem_pkey(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    FwPkey *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

    BIO_free(bio);
    return k;
}

static char *der_pem(GBytes *der)
{
    g_autoptr(FwX509) x = der_x509(der);
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem, *ret = NULL;
    long n;

    if (x && PEM_write_bio_X509(bio, x)) {
        n = BIO_get_mem_data(bio, &mem);
        ret = g_strndup(mem, n);
    }
    BIO_free(bio);
    return ret;
}

static GBytes *pem_der(const char *pem)
{
    g_autoptr(GBytes) in = g_bytes_new(pem, strlen(pem));

    return sevsnp_der_from_pem_or_der(in, SEVSNP_CERT_ARK, NULL);
}

void fwsim_state_free(FwSimState *st)
{
    if (!st) {
        return;
    }
    g_clear_pointer(&st->ark_der, g_bytes_unref);
    g_clear_pointer(&st->ask_der, g_bytes_unref);
    g_clear_pointer(&st->vcek_der, g_bytes_unref);
    EVP_PKEY_free(st->ask_key);
    EVP_PKEY_free(st->vcek_key);
    g_free(st);
}

static void set_tcb(GKeyFile *kf, const char *key, const SevsnpTcb *t,
                    SevsnpProduct p)
{
    g_autofree char *s = sevsnp_tcb_to_string(t, p);

    g_key_file_set_string(kf, STATE_GROUP, key, s);
}

static gboolean write_file(const char *dir, const char *name, const void *d,
                           gsize len, GError **err)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    /* g_file_set_contents() writes a temporary file and renames it. */
    return g_file_set_contents(path, d, len, err);
}

/* Write the exported certificates, then the state by one rename. */
static gboolean save(const char *dir, const FwSimState *st, GError **err)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *chip = NULL, *ver = NULL, *text = NULL;
    g_autofree char *ark = der_pem(st->ark_der);
    g_autofree char *ask = der_pem(st->ask_der);
    g_autofree char *vcek = der_pem(st->vcek_der);
    g_autofree char *ask_key = pkey_pem(st->ask_key);
    g_autofree char *vcek_key = pkey_pem(st->vcek_key);
    gsize len;

    if (!ark || !ask || !vcek || !ask_key || !vcek_key) {
        fw_set_error(err, "PEM encoding");
        return FALSE;
    }
    chip = g_malloc(SEVSNP_CHIP_ID_SIZE * 2 + 1);
    for (guint i = 0; i < SEVSNP_CHIP_ID_SIZE; i++) {
        g_snprintf(chip + 2 * i, 3, "%02x", st->chip_id[i]);
    }
    ver = g_strdup_printf("%u.%u.%u", st->fw_major, st->fw_minor,
                          st->fw_build);
    g_key_file_set_string(kf, STATE_GROUP, "product",
                          sevsnp_product_name(st->product));
    g_key_file_set_string(kf, STATE_GROUP, "chip_id", chip);
    set_tcb(kf, "current_tcb", &st->current_tcb, st->product);
    set_tcb(kf, "reported_tcb", &st->reported_tcb, st->product);
    set_tcb(kf, "committed_tcb", &st->committed_tcb, st->product);
    set_tcb(kf, "launch_tcb", &st->launch_tcb, st->product);
    g_key_file_set_string(kf, STATE_GROUP, "firmware_version", ver);
    g_key_file_set_uint64(kf, STATE_GROUP, "generation", st->generation);
    g_key_file_set_string(kf, STATE_GROUP, "ark", ark);
    g_key_file_set_string(kf, STATE_GROUP, "ask", ask);
    g_key_file_set_string(kf, STATE_GROUP, "vcek", vcek);
    g_key_file_set_string(kf, STATE_GROUP, "ask_key", ask_key);
    g_key_file_set_string(kf, STATE_GROUP, "vcek_key", vcek_key);
    text = g_key_file_to_data(kf, &len, NULL);

    return write_file(dir, "ark.pem", ark, strlen(ark), err) &&
           write_file(dir, "ask.pem", ask, strlen(ask), err) &&
           write_file(dir, "vcek.der", g_bytes_get_data(st->vcek_der, NULL),
                      g_bytes_get_size(st->vcek_der), err) &&
           write_file(dir, FWSIM_STATE_FILE, text, len, err);
}

static FwPkey *new_rsa(void)
{
    return EVP_RSA_gen(2048);
}

gboolean fwsim_create_with_chip_id(const char *dir, SevsnpProduct product,
                                   const SevsnpTcb *tcb,
                                   const uint8_t *chip_id, GError **err)
{
    g_autoptr(FwSimState) st = g_new0(FwSimState, 1);
    g_autofree char *ark_cn = NULL, *ask_cn = NULL;
    g_autoptr(FwX509) ark = NULL, ask = NULL;
    FwPkey *ark_key = NULL;
    gboolean ok = FALSE;

    if (product == SEVSNP_PRODUCT_UNKNOWN) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                    "fwsim: a product is needed");
        return FALSE;
    }
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    st->product = product;
    memcpy(st->chip_id, chip_id, SEVSNP_CHIP_ID_SIZE);
    st->current_tcb = st->reported_tcb = *tcb;
    st->committed_tcb = st->launch_tcb = *tcb;
    if (product != SEVSNP_PRODUCT_TURIN) {
        st->current_tcb.fmc = st->reported_tcb.fmc = 0;
        st->committed_tcb.fmc = st->launch_tcb.fmc = 0;
    }
    st->fw_major = 1;
    st->fw_minor = 55;
    st->fw_build = 0;

    ark_cn = g_strdup_printf("ARK-%s", sevsnp_product_name(product));
    ask_cn = g_strdup_printf("SEV-%s", sevsnp_product_name(product));
    ark_key = new_rsa();
    st->ask_key = new_rsa();
    st->vcek_key = EVP_EC_gen("P-384");
    if (!ark_key || !st->ask_key || !st->vcek_key) {
        fw_set_error(err, "key generation");
        goto out;
    }
    ark = cert_skeleton(ark_cn, NULL, ark_key, 1);
    add_ext_nid(ark, NULL, NID_basic_constraints, "critical,CA:TRUE");
    add_ext_nid(ark, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (!sign_pss(ark, ark_key, err)) {
        goto out;
    }
    ask = cert_skeleton(ask_cn, X509_get_subject_name(ark), st->ask_key, 2);
    add_ext_nid(ask, ark, NID_basic_constraints, "critical,CA:TRUE");
    add_ext_nid(ask, ark, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (!sign_pss(ask, ark_key, err)) {
        goto out;
    }
    st->ark_der = x509_der(ark);
    st->ask_der = x509_der(ask);
    st->vcek_der = fwsim_make_vcek(product, &st->reported_tcb, st->chip_id,
                                   sevsnp_product_hwid_len(product),
                                   st->vcek_key, st->ask_der, st->ask_key,
                                   err);
    if (!st->ark_der || !st->ask_der || !st->vcek_der) {
        if (err && !*err) {
            fw_set_error(err, "DER encoding");
        }
        goto out;
    }
    ok = save(dir, st, err);
out:
    EVP_PKEY_free(ark_key);
    return ok;
}

gboolean fwsim_create(const char *dir, SevsnpProduct product,
                      const SevsnpTcb *tcb, GError **err)
{
    uint8_t chip[SEVSNP_CHIP_ID_SIZE] = { 0 };
    size_t n = sevsnp_product_hwid_len(product);

    for (size_t i = 0; i < n; i++) {
        chip[i] = g_random_int_range(0, 256);
    }
    return fwsim_create_with_chip_id(dir, product, tcb, chip, err);
}

static gboolean get_tcb(GKeyFile *kf, const char *key, SevsnpProduct p,
                        SevsnpTcb *t, GError **err)
{
    g_autofree char *s = g_key_file_get_string(kf, STATE_GROUP, key, err);

    return s && sevsnp_tcb_parse(s, p, t, err);
}

/* A string of the state, "" once an error is set (so checks stay safe). */
static char *get_str(GKeyFile *kf, const char *key, GError **err)
{
    char *s = NULL;

    if (!*err) {
        s = g_key_file_get_string(kf, STATE_GROUP, key, err);
    }
    return s ? s : g_strdup("");
}

FwSimState *fwsim_load(const char *dir, GError **err)
{
    g_autofree char *path = g_build_filename(dir, FWSIM_STATE_FILE, NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(FwSimState) st = g_new0(FwSimState, 1);
    g_autofree char *product = NULL, *chip = NULL, *ver = NULL;
    g_autofree char *ark = NULL, *ask = NULL, *vcek = NULL;
    g_autofree char *ask_key = NULL, *vcek_key = NULL;
    g_autoptr(GError) lerr = NULL;
    unsigned maj, min, build;

    if (g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &lerr)) {
        product = get_str(kf, "product", &lerr);
        chip = get_str(kf, "chip_id", &lerr);
        ver = get_str(kf, "firmware_version", &lerr);
        ark = get_str(kf, "ark", &lerr);
        ask = get_str(kf, "ask", &lerr);
        vcek = get_str(kf, "vcek", &lerr);
        ask_key = get_str(kf, "ask_key", &lerr);
        vcek_key = get_str(kf, "vcek_key", &lerr);
    }
    if (lerr || !sevsnp_product_from_name(product, &st->product) ||
        strlen(chip) != 2 * SEVSNP_CHIP_ID_SIZE ||
        !get_tcb(kf, "current_tcb", st->product, &st->current_tcb, &lerr) ||
        !get_tcb(kf, "reported_tcb", st->product, &st->reported_tcb,
                 &lerr) ||
        !get_tcb(kf, "committed_tcb", st->product, &st->committed_tcb,
                 &lerr) ||
        !get_tcb(kf, "launch_tcb", st->product, &st->launch_tcb, &lerr) ||
        sscanf(ver, "%u.%u.%u", &maj, &min, &build) != 3) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "%s: not a valid firmware state: %s", path,
                    lerr ? lerr->message : "bad product, chip id or version");
        return NULL;
    }
    for (guint i = 0; i < SEVSNP_CHIP_ID_SIZE; i++) {
        int hi = g_ascii_xdigit_value(chip[2 * i]);
        int lo = g_ascii_xdigit_value(chip[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "%s: chip_id is not hex", path);
            return NULL;
        }
        st->chip_id[i] = hi << 4 | lo;
    }
    st->fw_major = maj;
    st->fw_minor = min;
    st->fw_build = build;
    st->generation = g_key_file_get_uint64(kf, STATE_GROUP, "generation",
                                           NULL);
    st->ark_der = pem_der(ark);
    st->ask_der = pem_der(ask);
    st->vcek_der = pem_der(vcek);
    st->ask_key = pem_pkey(ask_key);
    st->vcek_key = pem_pkey(vcek_key);
    if (!st->ark_der || !st->ask_der || !st->vcek_der || !st->ask_key ||
        !st->vcek_key) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "%s: a certificate or key does not parse", path);
        return NULL;
    }
    return g_steal_pointer(&st);
}

gboolean fwsim_rotate(const char *dir, const SevsnpTcb *new_tcb,
                      GError **err)
{
    g_autoptr(FwSimState) st = fwsim_load(dir, err);
    GBytes *vcek;
    FwPkey *key;

    if (!st) {
        return FALSE;
    }
    if (new_tcb) {
        st->current_tcb = st->reported_tcb = st->committed_tcb = *new_tcb;
        if (st->product != SEVSNP_PRODUCT_TURIN) {
            st->current_tcb.fmc = 0;
            st->reported_tcb.fmc = st->committed_tcb.fmc = 0;
        }
    }
    key = EVP_EC_gen("P-384");
    if (!key) {
        fw_set_error(err, "key generation");
        return FALSE;
    }
    vcek = fwsim_make_vcek(st->product, &st->reported_tcb, st->chip_id,
                           sevsnp_product_hwid_len(st->product), key,
                           st->ask_der, st->ask_key, err);
    if (!vcek) {
        EVP_PKEY_free(key);
        return FALSE;
    }
    EVP_PKEY_free(st->vcek_key);
    st->vcek_key = key;
    g_bytes_unref(st->vcek_der);
    st->vcek_der = vcek;
    st->generation++;
    st->fw_build++;
    return save(dir, st, err);
}

static void put32(uint8_t *r, size_t off, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(r + off, &v, 4);
}

static void put64(uint8_t *r, size_t off, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(r + off, &v, 8);
}

GBytes *fwsim_sign_report(const FwSimState *st, const FwSimReportParams *p,
                          GError **err)
{
    static const FwSimReportParams defaults;
    g_autofree uint8_t *r = g_malloc0(SEVSNP_REPORT_SIZE);
    uint32_t version;
    FwMdCtx *md = NULL;
    ECDSA_SIG *sig = NULL;
    unsigned char *der = NULL;
    const unsigned char *q;
    size_t der_len = 0;
    const BIGNUM *br, *bs;
    SevsnpProduct prod = st->product;
    gboolean ok;

    if (!p) {
        p = &defaults;
    }
    version = p->version ? p->version : 3;
    if (version < SEVSNP_REPORT_MIN_VERSION ||
        version > SEVSNP_REPORT_MAX_VERSION) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                    "fwsim: cannot make a report of version %u", version);
        return NULL;
    }
    put32(r, SEVSNP_RPT_VERSION, version);
    put32(r, SEVSNP_RPT_GUEST_SVN, p->guest_svn);
    put64(r, SEVSNP_RPT_POLICY, p->policy ? p->policy : 0x30000);
    memcpy(r + SEVSNP_RPT_FAMILY_ID, p->family_id, 16);
    memcpy(r + SEVSNP_RPT_IMAGE_ID, p->image_id, 16);
    put32(r, SEVSNP_RPT_VMPL, p->vmpl);
    put32(r, SEVSNP_RPT_SIG_ALGO, SEVSNP_SIG_ALGO_ECDSA_P384_SHA384);
    put64(r, SEVSNP_RPT_CURRENT_TCB,
          sevsnp_tcb_encode(&st->current_tcb, prod));
    put64(r, SEVSNP_RPT_PLATFORM_INFO, 0x3);   /* SMT_EN, TSME_EN */
    /* SNP_CONFIG's MASK_CHIP_ID zeroes the chip id, not KEY_INFO. */
    put32(r, SEVSNP_RPT_KEY_INFO,
          SEVSNP_SIGNING_KEY_VCEK << SEVSNP_KEY_INFO_SIGNING_KEY_SHIFT);
    memcpy(r + SEVSNP_RPT_REPORT_DATA, p->report_data, 64);
    memcpy(r + SEVSNP_RPT_MEASUREMENT, p->measurement, 48);
    memcpy(r + SEVSNP_RPT_HOST_DATA, p->host_data, 32);
    /* REPORT_ID: a per-guest random value; no migration agent. */
    for (guint i = 0; i < 32; i++) {
        r[SEVSNP_RPT_REPORT_ID + i] = g_random_int_range(0, 256);
    }
    memset(r + SEVSNP_RPT_REPORT_ID_MA, 0xff, 32);
    put64(r, SEVSNP_RPT_REPORTED_TCB,
          sevsnp_tcb_encode(&st->reported_tcb, prod));
    if (version >= 3) {
        uint8_t fam, mod, step;

        fwsim_product_cpuid(prod, &fam, &mod, &step);
        r[SEVSNP_RPT_CPUID_FAM_ID] = p->cpuid_fam_id ? p->cpuid_fam_id : fam;
        r[SEVSNP_RPT_CPUID_MOD_ID] = p->cpuid_fam_id ? p->cpuid_mod_id : mod;
        r[SEVSNP_RPT_CPUID_STEP] = p->cpuid_fam_id ? p->cpuid_step : step;
    }
    if (!p->mask_chip_id) {
        memcpy(r + SEVSNP_RPT_CHIP_ID, st->chip_id, SEVSNP_CHIP_ID_SIZE);
    }
    put64(r, SEVSNP_RPT_COMMITTED_TCB,
          sevsnp_tcb_encode(&st->committed_tcb, prod));
    r[SEVSNP_RPT_CURRENT_BUILD] = st->fw_build;
    r[SEVSNP_RPT_CURRENT_BUILD + 1] = st->fw_minor;
    r[SEVSNP_RPT_CURRENT_BUILD + 2] = st->fw_major;
    r[SEVSNP_RPT_COMMITTED_BUILD] = st->fw_build;
    r[SEVSNP_RPT_COMMITTED_BUILD + 1] = st->fw_minor;
    r[SEVSNP_RPT_COMMITTED_BUILD + 2] = st->fw_major;
    put64(r, SEVSNP_RPT_LAUNCH_TCB, sevsnp_tcb_encode(&st->launch_tcb, prod));
    if (version >= 5) {
        put64(r, SEVSNP_RPT_LAUNCH_MIT_VECTOR, 0x1);
        put64(r, SEVSNP_RPT_CURRENT_MIT_VECTOR, 0x3);
    }

    md = EVP_MD_CTX_new();
    ok = md && EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL,
                                  st->vcek_key) > 0 &&
         EVP_DigestSign(md, NULL, &der_len, r,
                        SEVSNP_REPORT_SIGNED_SIZE) > 0;
    if (ok) {
        der = OPENSSL_malloc(der_len);
        ok = der && EVP_DigestSign(md, der, &der_len, r,
                                   SEVSNP_REPORT_SIGNED_SIZE) > 0;
    }
    EVP_MD_CTX_free(md);
    q = der;
    ok = ok && (sig = d2i_ECDSA_SIG(NULL, &q, der_len)) != NULL;
    if (ok) {
        ECDSA_SIG_get0(sig, &br, &bs);
        ok = BN_bn2lebinpad(br, r + SEVSNP_REPORT_SIG_OFFSET,
                            SEVSNP_REPORT_SIG_PART) > 0 &&
             BN_bn2lebinpad(bs, r + SEVSNP_REPORT_SIG_OFFSET +
                            SEVSNP_REPORT_SIG_PART,
                            SEVSNP_REPORT_SIG_PART) > 0;
    }
    ECDSA_SIG_free(sig);
    OPENSSL_free(der);
    if (!ok) {
        fw_set_error(err, "ECDSA signing of the report");
        return NULL;
    }
    return g_bytes_new_take(g_steal_pointer(&r), SEVSNP_REPORT_SIZE);
}

GBytes *fwsim_report(const char *dir, const FwSimReportParams *p,
                     GError **err)
{
    g_autoptr(FwSimState) st = fwsim_load(dir, err);

    return st ? fwsim_sign_report(st, p, err) : NULL;
}

GBytes *fwsim_blob(const char *dir, GError **err)
{
    g_autoptr(FwSimState) st = fwsim_load(dir, err);
    SevsnpCertInput in[3];

    if (!st) {
        return NULL;
    }
    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    memcpy(in[2].guid, sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), 16);
    in[0].der = st->ark_der;
    in[1].der = st->ask_der;
    in[2].der = st->vcek_der;
    return sevsnp_cert_table_build(in, 3, err);
}
