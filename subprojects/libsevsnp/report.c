/*
 * libsevsnp: SEV-SNP attestation reports (parse, describe, verify)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "libsevsnp.h"
#include "sevsnp-report.h"

/* CamelCase names for OpenSSL types, in QEMU style. */
typedef X509 RptX509;
typedef X509_NAME RptX509Name;
typedef EVP_MD_CTX RptMdCtx;
typedef ECDSA_SIG RptEcdsaSig;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RptX509, X509_free)

G_DEFINE_QUARK(sevsnp_report_error_quark, sevsnp_report_error)

/* ------------------------------------------------------------------ */
/* Products and TCBs                                                   */
/* ------------------------------------------------------------------ */

const char *sevsnp_product_name(SevsnpProduct p)
{
    switch (p) {
    case SEVSNP_PRODUCT_MILAN:
        return "Milan";
    case SEVSNP_PRODUCT_GENOA:
        return "Genoa";
    case SEVSNP_PRODUCT_TURIN:
        return "Turin";
    default:
        return "unknown";
    }
}

gboolean sevsnp_product_from_name(const char *name, SevsnpProduct *p)
{
    for (SevsnpProduct i = SEVSNP_PRODUCT_MILAN; i <= SEVSNP_PRODUCT_TURIN;
         i++) {
        if (name && !g_ascii_strcasecmp(name, sevsnp_product_name(i))) {
            *p = i;
            return TRUE;
        }
    }
    return FALSE;
}

SevsnpProduct sevsnp_product_from_cpuid(uint8_t family, uint8_t model)
{
    if (family == 0x19) {
        if (model <= 0x0F) {
            return SEVSNP_PRODUCT_MILAN;
        }
        if ((model >= 0x10 && model <= 0x1F) ||
            (model >= 0xA0 && model <= 0xAF)) {
            return SEVSNP_PRODUCT_GENOA;
        }
    } else if (family == 0x1A && model <= 0x1F) {
        return SEVSNP_PRODUCT_TURIN;
    }
    return SEVSNP_PRODUCT_UNKNOWN;
}

size_t sevsnp_product_hwid_len(SevsnpProduct p)
{
    return p == SEVSNP_PRODUCT_TURIN ? 8 : SEVSNP_CHIP_ID_SIZE;
}

SevsnpTcb sevsnp_tcb_decode(uint64_t raw, SevsnpProduct p)
{
    SevsnpTcb t = { 0 };

    if (p == SEVSNP_PRODUCT_TURIN) {
        t.fmc = raw & 0xff;
        t.bootloader = (raw >> 8) & 0xff;
        t.tee = (raw >> 16) & 0xff;
        t.snp = (raw >> 24) & 0xff;
    } else {
        t.bootloader = raw & 0xff;
        t.tee = (raw >> 8) & 0xff;
        t.snp = (raw >> 48) & 0xff;
    }
    t.microcode = raw >> 56;
    return t;
}

uint64_t sevsnp_tcb_encode(const SevsnpTcb *t, SevsnpProduct p)
{
    uint64_t ucode = (uint64_t)t->microcode << 56;

    if (p == SEVSNP_PRODUCT_TURIN) {
        return t->fmc | (uint64_t)t->bootloader << 8 |
               (uint64_t)t->tee << 16 | (uint64_t)t->snp << 24 | ucode;
    }
    return t->bootloader | (uint64_t)t->tee << 8 | (uint64_t)t->snp << 48 |
           ucode;
}

char *sevsnp_tcb_to_string(const SevsnpTcb *t, SevsnpProduct p)
{
    if (p == SEVSNP_PRODUCT_TURIN) {
        return g_strdup_printf("bl=%u,tee=%u,snp=%u,ucode=%u,fmc=%u",
                               t->bootloader, t->tee, t->snp, t->microcode,
                               t->fmc);
    }
    return g_strdup_printf("bl=%u,tee=%u,snp=%u,ucode=%u", t->bootloader,
                           t->tee, t->snp, t->microcode);
}

gboolean sevsnp_tcb_parse(const char *str, SevsnpProduct p, SevsnpTcb *tcb,
                          GError **err)
{
    static const char *const names[] = { "bl", "tee", "snp", "ucode",
                                         "fmc" };
    g_auto(GStrv) parts = g_strsplit(str ? str : "", ",", -1);
    bool seen[G_N_ELEMENTS(names)] = { false };
    guint need = p == SEVSNP_PRODUCT_TURIN ? 5 : 4;
    SevsnpTcb t = { 0 };
    uint8_t *slot[] = { &t.bootloader, &t.tee, &t.snp, &t.microcode,
                        &t.fmc };

    for (guint i = 0; parts[i]; i++) {
        const char *eq = strchr(parts[i], '=');
        guint64 v;
        guint k;

        for (k = 0; k < G_N_ELEMENTS(names); k++) {
            if (eq && strlen(names[k]) == (size_t)(eq - parts[i]) &&
                !strncmp(parts[i], names[k], eq - parts[i])) {
                break;
            }
        }
        if (k == G_N_ELEMENTS(names)) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "TCB '%s': '%s' is not bl=N, tee=N, snp=N, ucode=N "
                        "or fmc=N", str, parts[i]);
            return FALSE;
        }
        if (k == 4 && p != SEVSNP_PRODUCT_TURIN) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "TCB '%s': fmc is only part of a Turin TCB", str);
            return FALSE;
        }
        if (seen[k]) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "TCB '%s': %s given twice", str, names[k]);
            return FALSE;
        }
        if (!g_ascii_string_to_unsigned(eq + 1, 10, 0, 255, &v, NULL)) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "TCB '%s': %s must be a decimal number 0-255", str,
                        names[k]);
            return FALSE;
        }
        seen[k] = true;
        *slot[k] = v;
    }
    for (guint k = 0; k < need; k++) {
        if (!seen[k]) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "TCB '%s': %s=N is missing", str, names[k]);
            return FALSE;
        }
    }
    *tcb = t;
    return TRUE;
}

gboolean sevsnp_tcb_equal(const SevsnpTcb *a, const SevsnpTcb *b)
{
    return a->bootloader == b->bootloader && a->tee == b->tee &&
           a->snp == b->snp && a->microcode == b->microcode &&
           a->fmc == b->fmc;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static uint32_t get32(const uint8_t *r, size_t off)
{
    uint32_t v;

    memcpy(&v, r + off, 4);
    return GUINT32_FROM_LE(v);
}

static uint64_t get64(const uint8_t *r, size_t off)
{
    uint64_t v;

    memcpy(&v, r + off, 8);
    return GUINT64_FROM_LE(v);
}

static void decode_tcbs(SevsnpReport *r)
{
    SevsnpProduct p = r->product;

    r->current_tcb = sevsnp_tcb_decode(r->current_tcb_raw, p);
    r->reported_tcb = sevsnp_tcb_decode(r->reported_tcb_raw, p);
    r->committed_tcb = sevsnp_tcb_decode(r->committed_tcb_raw, p);
    r->launch_tcb = sevsnp_tcb_decode(r->launch_tcb_raw, p);
}

SevsnpReport *sevsnp_report_parse(const void *data, size_t len,
                                  SevsnpProduct hint, GError **err)
{
    g_autofree SevsnpReport *r = NULL;
    const uint8_t *b = data;
    uint32_t version;

    if (len != SEVSNP_REPORT_SIZE) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_MALFORMED,
                    "a report is %u bytes, not %zu", SEVSNP_REPORT_SIZE,
                    len);
        return NULL;
    }
    version = get32(b, SEVSNP_RPT_VERSION);
    if (version < SEVSNP_REPORT_MIN_VERSION ||
        version > SEVSNP_REPORT_MAX_VERSION) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_VERSION,
                    "report version %u is not one of %u to %u", version,
                    SEVSNP_REPORT_MIN_VERSION, SEVSNP_REPORT_MAX_VERSION);
        return NULL;
    }
    r = g_new0(SevsnpReport, 1);
    memcpy(r->raw, b, SEVSNP_REPORT_SIZE);
    r->version = version;
    r->guest_svn = get32(b, SEVSNP_RPT_GUEST_SVN);
    r->policy = get64(b, SEVSNP_RPT_POLICY);
    memcpy(r->family_id, b + SEVSNP_RPT_FAMILY_ID, 16);
    memcpy(r->image_id, b + SEVSNP_RPT_IMAGE_ID, 16);
    r->vmpl = get32(b, SEVSNP_RPT_VMPL);
    r->signature_algo = get32(b, SEVSNP_RPT_SIG_ALGO);
    r->current_tcb_raw = get64(b, SEVSNP_RPT_CURRENT_TCB);
    r->platform_info = get64(b, SEVSNP_RPT_PLATFORM_INFO);
    r->key_info = get32(b, SEVSNP_RPT_KEY_INFO);
    r->author_key_en = r->key_info & SEVSNP_KEY_INFO_AUTHOR_KEY_EN;
    r->mask_chip_key = r->key_info & SEVSNP_KEY_INFO_MASK_CHIP_KEY;
    r->signing_key = (r->key_info & SEVSNP_KEY_INFO_SIGNING_KEY_MASK) >>
                     SEVSNP_KEY_INFO_SIGNING_KEY_SHIFT;
    memcpy(r->report_data, b + SEVSNP_RPT_REPORT_DATA, 64);
    memcpy(r->measurement, b + SEVSNP_RPT_MEASUREMENT, 48);
    memcpy(r->host_data, b + SEVSNP_RPT_HOST_DATA, 32);
    memcpy(r->id_key_digest, b + SEVSNP_RPT_ID_KEY_DIGEST, 48);
    memcpy(r->author_key_digest, b + SEVSNP_RPT_AUTHOR_KEY_DIGEST, 48);
    memcpy(r->report_id, b + SEVSNP_RPT_REPORT_ID, 32);
    memcpy(r->report_id_ma, b + SEVSNP_RPT_REPORT_ID_MA, 32);
    r->reported_tcb_raw = get64(b, SEVSNP_RPT_REPORTED_TCB);
    r->has_cpuid = version >= 3;
    if (r->has_cpuid) {
        r->cpuid_fam_id = b[SEVSNP_RPT_CPUID_FAM_ID];
        r->cpuid_mod_id = b[SEVSNP_RPT_CPUID_MOD_ID];
        r->cpuid_step = b[SEVSNP_RPT_CPUID_STEP];
    }
    memcpy(r->chip_id, b + SEVSNP_RPT_CHIP_ID, SEVSNP_CHIP_ID_SIZE);
    r->committed_tcb_raw = get64(b, SEVSNP_RPT_COMMITTED_TCB);
    r->current_build = b[SEVSNP_RPT_CURRENT_BUILD];
    r->current_minor = b[SEVSNP_RPT_CURRENT_BUILD + 1];
    r->current_major = b[SEVSNP_RPT_CURRENT_BUILD + 2];
    r->committed_build = b[SEVSNP_RPT_COMMITTED_BUILD];
    r->committed_minor = b[SEVSNP_RPT_COMMITTED_BUILD + 1];
    r->committed_major = b[SEVSNP_RPT_COMMITTED_BUILD + 2];
    r->launch_tcb_raw = get64(b, SEVSNP_RPT_LAUNCH_TCB);
    r->has_mit_vectors = version >= 5;
    if (r->has_mit_vectors) {
        r->launch_mit_vector = get64(b, SEVSNP_RPT_LAUNCH_MIT_VECTOR);
        r->current_mit_vector = get64(b, SEVSNP_RPT_CURRENT_MIT_VECTOR);
    }
    memcpy(r->sig_r, b + SEVSNP_REPORT_SIG_OFFSET, SEVSNP_REPORT_SIG_PART);
    memcpy(r->sig_s, b + SEVSNP_REPORT_SIG_OFFSET + SEVSNP_REPORT_SIG_PART,
           SEVSNP_REPORT_SIG_PART);

    r->product = hint;
    if (r->has_cpuid) {
        SevsnpProduct own = sevsnp_product_from_cpuid(r->cpuid_fam_id,
                                                      r->cpuid_mod_id);

        if (own != SEVSNP_PRODUCT_UNKNOWN) {
            if (hint != SEVSNP_PRODUCT_UNKNOWN && hint != own) {
                g_set_error(err, SEVSNP_REPORT_ERROR,
                            SEVSNP_REPORT_ERROR_PRODUCT,
                            "the report's CPUID (family 0x%02x model 0x%02x) "
                            "is %s, not %s", r->cpuid_fam_id,
                            r->cpuid_mod_id, sevsnp_product_name(own),
                            sevsnp_product_name(hint));
                return NULL;
            }
            r->product = own;
        }
    }
    decode_tcbs(r);
    return g_steal_pointer(&r);
}

GBytes *sevsnp_report_read_file(const char *path, GError **err)
{
    g_autoptr(GBytes) raw = NULL;
    g_autoptr(GByteArray) out = NULL;
    const uint8_t *p;
    gsize len;
    int hi = -1;
    bool text = true;

    raw = sevsnp_file_read(path, 64 * 1024, err);
    if (!raw) {
        return NULL;
    }
    p = g_bytes_get_data(raw, &len);
    for (gsize i = 0; i < len && text; i++) {
        text = g_ascii_isxdigit(p[i]) || g_ascii_isspace(p[i]);
    }
    if (!text || len == 0) {
        return g_steal_pointer(&raw);
    }
    out = g_byte_array_sized_new(len / 2);
    for (gsize i = 0; i < len; i++) {
        guint8 v;

        if (g_ascii_isspace(p[i])) {
            continue;
        }
        if (hi < 0) {
            hi = g_ascii_xdigit_value(p[i]);
            continue;
        }
        v = hi << 4 | g_ascii_xdigit_value(p[i]);
        g_byte_array_append(out, &v, 1);
        hi = -1;
    }
    if (hi >= 0) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_MALFORMED,
                    "%s: hex text with an odd number of digits", path);
        return NULL;
    }
    return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

/* ------------------------------------------------------------------ */
/* Description                                                         */
/* ------------------------------------------------------------------ */

static char *hex(const uint8_t *b, size_t n)
{
    char *s = g_malloc(2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        g_snprintf(s + 2 * i, 3, "%02x", b[i]);
    }
    s[2 * n] = '\0';
    return s;
}

static void add_hex(GVariantBuilder *b, const char *name, const uint8_t *d,
                    size_t n)
{
    g_autofree char *s = hex(d, n);

    g_variant_builder_add(b, "{sv}", name, g_variant_new_string(s));
}

static void add_bool(GVariantBuilder *b, const char *name, uint64_t v,
                     int bit)
{
    g_variant_builder_add(b, "{sv}", name,
                          g_variant_new_boolean((v >> bit) & 1));
}

static GVariant *tcb_variant(uint64_t raw, SevsnpProduct p)
{
    SevsnpTcb t = sevsnp_tcb_decode(raw, p);
    GVariantBuilder b;
    g_autofree char *s = g_strdup_printf("0x%016" G_GINT64_MODIFIER "x", raw);

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&b, "{sv}", "raw", g_variant_new_string(s));
    g_variant_builder_add(&b, "{sv}", "bootloader",
                          g_variant_new_byte(t.bootloader));
    g_variant_builder_add(&b, "{sv}", "tee", g_variant_new_byte(t.tee));
    g_variant_builder_add(&b, "{sv}", "snp", g_variant_new_byte(t.snp));
    g_variant_builder_add(&b, "{sv}", "microcode",
                          g_variant_new_byte(t.microcode));
    if (p == SEVSNP_PRODUCT_TURIN) {
        g_variant_builder_add(&b, "{sv}", "fmc", g_variant_new_byte(t.fmc));
    }
    return g_variant_builder_end(&b);
}

static GVariant *policy_variant(uint64_t v)
{
    GVariantBuilder b;
    g_autofree char *s = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", v);

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&b, "{sv}", "raw", g_variant_new_string(s));
    g_variant_builder_add(&b, "{sv}", "abi-minor",
                          g_variant_new_byte(v & 0xff));
    g_variant_builder_add(&b, "{sv}", "abi-major",
                          g_variant_new_byte((v >> 8) & 0xff));
    add_bool(&b, "smt", v, 16);
    add_bool(&b, "reserved-must-be-one", v, 17);
    add_bool(&b, "migrate-ma", v, 18);
    add_bool(&b, "debug", v, 19);
    add_bool(&b, "single-socket", v, 20);
    add_bool(&b, "cxl-allow", v, 21);
    add_bool(&b, "mem-aes-256-xts", v, 22);
    add_bool(&b, "rapl-dis", v, 23);
    add_bool(&b, "ciphertext-hiding", v, 24);
    add_bool(&b, "page-swap-disable", v, 25);
    return g_variant_builder_end(&b);
}

static GVariant *platform_variant(uint64_t v)
{
    GVariantBuilder b;
    g_autofree char *s = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", v);

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&b, "{sv}", "raw", g_variant_new_string(s));
    add_bool(&b, "smt-enabled", v, 0);
    add_bool(&b, "tsme-enabled", v, 1);
    add_bool(&b, "ecc-enabled", v, 2);
    add_bool(&b, "rapl-disabled", v, 3);
    add_bool(&b, "ciphertext-hiding-enabled", v, 4);
    add_bool(&b, "alias-check-complete", v, 5);
    add_bool(&b, "tio-enabled", v, 7);
    return g_variant_builder_end(&b);
}

static const char *signing_key_name(SevsnpSigningKey k)
{
    switch (k) {
    case SEVSNP_SIGNING_KEY_VCEK:
        return "vcek";
    case SEVSNP_SIGNING_KEY_VLEK:
        return "vlek";
    case SEVSNP_SIGNING_KEY_NONE:
        return "none";
    default:
        return "reserved";
    }
}

static GVariant *version_variant(uint8_t major, uint8_t minor, uint8_t build)
{
    g_autofree char *s = g_strdup_printf("%u.%u.%u", major, minor, build);

    return g_variant_new_string(s);
}

GVariant *sevsnp_report_to_variant(const SevsnpReport *r)
{
    GVariantBuilder b, k;
    SevsnpProduct p = r->product;

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&b, "{sv}", "version",
                          g_variant_new_uint32(r->version));
    g_variant_builder_add(&b, "{sv}", "product",
                          g_variant_new_string(sevsnp_product_name(p)));
    g_variant_builder_add(&b, "{sv}", "guest-svn",
                          g_variant_new_uint32(r->guest_svn));
    g_variant_builder_add(&b, "{sv}", "policy", policy_variant(r->policy));
    add_hex(&b, "family-id", r->family_id, 16);
    add_hex(&b, "image-id", r->image_id, 16);
    g_variant_builder_add(&b, "{sv}", "vmpl", g_variant_new_uint32(r->vmpl));
    g_variant_builder_add(&b, "{sv}", "signature-algo",
                          g_variant_new_uint32(r->signature_algo));
    g_variant_builder_add(&b, "{sv}", "current-tcb",
                          tcb_variant(r->current_tcb_raw, p));
    g_variant_builder_add(&b, "{sv}", "platform-info",
                          platform_variant(r->platform_info));

    g_variant_builder_init(&k, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&k, "{sv}", "author-key-en",
                          g_variant_new_boolean(r->author_key_en));
    g_variant_builder_add(&k, "{sv}", "mask-chip-key",
                          g_variant_new_boolean(r->mask_chip_key));
    g_variant_builder_add(&k, "{sv}", "signing-key",
                          g_variant_new_string(
                              signing_key_name(r->signing_key)));
    g_variant_builder_add(&b, "{sv}", "key-info",
                          g_variant_builder_end(&k));

    add_hex(&b, "report-data", r->report_data, 64);
    add_hex(&b, "measurement", r->measurement, 48);
    add_hex(&b, "host-data", r->host_data, 32);
    add_hex(&b, "id-key-digest", r->id_key_digest, 48);
    add_hex(&b, "author-key-digest", r->author_key_digest, 48);
    add_hex(&b, "report-id", r->report_id, 32);
    add_hex(&b, "report-id-ma", r->report_id_ma, 32);
    g_variant_builder_add(&b, "{sv}", "reported-tcb",
                          tcb_variant(r->reported_tcb_raw, p));
    if (r->has_cpuid) {
        g_variant_builder_add(&b, "{sv}", "cpuid-family",
                              g_variant_new_byte(r->cpuid_fam_id));
        g_variant_builder_add(&b, "{sv}", "cpuid-model",
                              g_variant_new_byte(r->cpuid_mod_id));
        g_variant_builder_add(&b, "{sv}", "cpuid-stepping",
                              g_variant_new_byte(r->cpuid_step));
    }
    add_hex(&b, "chip-id", r->chip_id, SEVSNP_CHIP_ID_SIZE);
    g_variant_builder_add(&b, "{sv}", "committed-tcb",
                          tcb_variant(r->committed_tcb_raw, p));
    g_variant_builder_add(&b, "{sv}", "current-version",
                          version_variant(r->current_major, r->current_minor,
                                          r->current_build));
    g_variant_builder_add(&b, "{sv}", "committed-version",
                          version_variant(r->committed_major,
                                          r->committed_minor,
                                          r->committed_build));
    g_variant_builder_add(&b, "{sv}", "launch-tcb",
                          tcb_variant(r->launch_tcb_raw, p));
    if (r->has_mit_vectors) {
        g_variant_builder_add(&b, "{sv}", "launch-mit-vector",
                              g_variant_new_uint64(r->launch_mit_vector));
        g_variant_builder_add(&b, "{sv}", "current-mit-vector",
                              g_variant_new_uint64(r->current_mit_vector));
    }
    add_hex(&b, "signature-r", r->sig_r, SEVSNP_REPORT_SIG_PART);
    add_hex(&b, "signature-s", r->sig_s, SEVSNP_REPORT_SIG_PART);
    return g_variant_builder_end(&b);
}

static void describe_dict(GString *s, GVariant *dict, int indent)
{
    GVariantIter it;
    const char *key;
    GVariant *val;

    g_variant_iter_init(&it, dict);
    while (g_variant_iter_next(&it, "{&sv}", &key, &val)) {
        g_string_append_printf(s, "%*s%s:", indent, "", key);
        if (g_variant_is_of_type(val, G_VARIANT_TYPE_VARDICT)) {
            g_string_append_c(s, '\n');
            describe_dict(s, val, indent + 2);
        } else if (g_variant_is_of_type(val, G_VARIANT_TYPE_STRING)) {
            g_string_append_printf(s, " %s\n",
                                   g_variant_get_string(val, NULL));
        } else if (g_variant_is_of_type(val, G_VARIANT_TYPE_BOOLEAN)) {
            g_string_append(s, g_variant_get_boolean(val) ? " yes\n" :
                            " no\n");
        } else if (g_variant_is_of_type(val, G_VARIANT_TYPE_BYTE)) {
            g_string_append_printf(s, " %u\n", g_variant_get_byte(val));
        } else if (g_variant_is_of_type(val, G_VARIANT_TYPE_UINT32)) {
            g_string_append_printf(s, " %u\n", g_variant_get_uint32(val));
        } else if (g_variant_is_of_type(val, G_VARIANT_TYPE_UINT64)) {
            g_string_append_printf(s, " 0x%" G_GINT64_MODIFIER "x\n",
                                   g_variant_get_uint64(val));
        } else {
            g_autofree char *t = g_variant_print(val, FALSE);

            g_string_append_printf(s, " %s\n", t);
        }
        g_variant_unref(val);
    }
}

char *sevsnp_report_describe(const SevsnpReport *r)
{
    g_autoptr(GVariant) v = g_variant_ref_sink(sevsnp_report_to_variant(r));
    GString *s = g_string_new(NULL);

    describe_dict(s, v, 0);
    return g_string_free(s, FALSE);
}

/* ------------------------------------------------------------------ */
/* VCEK extensions                                                     */
/* ------------------------------------------------------------------ */

#define AMD_OID "1.3.6.1.4.1.3704.1."

static RptX509 *der_x509(GBytes *der)
{
    const unsigned char *p = g_bytes_get_data(der, NULL);

    return d2i_X509(NULL, &p, g_bytes_get_size(der));
}

/* The OCTET STRING of AMD extension @suffix, or NULL. */
static const ASN1_OCTET_STRING *amd_ext(RptX509 *x, const char *suffix)
{
    g_autofree char *want = g_strconcat(AMD_OID, suffix, NULL);

    for (int i = 0; i < X509_get_ext_count(x); i++) {
        X509_EXTENSION *e = X509_get_ext(x, i);
        char oid[80];

        if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1) >
            0 && !strcmp(oid, want)) {
            return X509_EXTENSION_get_data(e);
        }
    }
    return NULL;
}

/* An SPL extension: the DER of an INTEGER 0-255 in the OCTET STRING. */
static gboolean amd_spl(RptX509 *x, const char *suffix, const char *name,
                        uint8_t *out, GError **err)
{
    const ASN1_OCTET_STRING *os = amd_ext(x, suffix);
    const unsigned char *p;
    ASN1_INTEGER *i;
    long v = -1;

    if (!os) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_TCB,
                    "the VCEK has no %s extension (" AMD_OID "%s)", name,
                    suffix);
        return FALSE;
    }
    p = ASN1_STRING_get0_data(os);
    i = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(os));
    if (i && p == ASN1_STRING_get0_data(os) + ASN1_STRING_length(os)) {
        v = ASN1_INTEGER_get(i);
    }
    ASN1_INTEGER_free(i);
    if (v < 0 || v > 255) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_TCB,
                    "the VCEK's %s extension is not an INTEGER 0-255",
                    name);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

static gboolean x509_get_tcb(RptX509 *x, SevsnpProduct p, SevsnpTcb *tcb,
                             GError **err)
{
    SevsnpTcb t = { 0 };

    if (!amd_spl(x, "3.1", "blSPL", &t.bootloader, err) ||
        !amd_spl(x, "3.2", "teeSPL", &t.tee, err) ||
        !amd_spl(x, "3.3", "snpSPL", &t.snp, err) ||
        !amd_spl(x, "3.8", "ucodeSPL", &t.microcode, err) ||
        (p == SEVSNP_PRODUCT_TURIN &&
         !amd_spl(x, "3.9", "fmcSPL", &t.fmc, err))) {
        return FALSE;
    }
    *tcb = t;
    return TRUE;
}

gboolean sevsnp_vcek_get_tcb(GBytes *der, SevsnpProduct p, SevsnpTcb *tcb,
                             uint8_t hwid[SEVSNP_CHIP_ID_SIZE],
                             size_t *hwid_len, GError **err)
{
    g_autoptr(RptX509) x = der_x509(der);
    const ASN1_OCTET_STRING *os;

    if (!x) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_KEY,
                    "the VCEK is not an X.509 certificate");
        return FALSE;
    }
    if (!x509_get_tcb(x, p, tcb, err)) {
        return FALSE;
    }
    os = amd_ext(x, "4");
    if (!os || ASN1_STRING_length(os) <= 0 ||
        ASN1_STRING_length(os) > SEVSNP_CHIP_ID_SIZE) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_CHIP_ID,
                    "the VCEK has no valid hwID extension (" AMD_OID "4)");
        return FALSE;
    }
    *hwid_len = ASN1_STRING_length(os);
    memcpy(hwid, ASN1_STRING_get0_data(os), *hwid_len);
    return TRUE;
}

static SevsnpProduct product_prefix(const char *s)
{
    g_autofree char *head = NULL;
    SevsnpProduct p;

    if (!s) {
        return SEVSNP_PRODUCT_UNKNOWN;
    }
    head = g_strndup(s, strcspn(s, "-"));
    return sevsnp_product_from_name(head, &p) ? p : SEVSNP_PRODUCT_UNKNOWN;
}

SevsnpProduct sevsnp_vek_product(GBytes *der)
{
    g_autoptr(RptX509) x = der_x509(der);
    const ASN1_OCTET_STRING *os = x ? amd_ext(x, "2") : NULL;
    const unsigned char *p;
    ASN1_IA5STRING *s;
    SevsnpProduct ret = SEVSNP_PRODUCT_UNKNOWN;

    if (!os) {
        return ret;
    }
    p = ASN1_STRING_get0_data(os);
    s = d2i_ASN1_IA5STRING(NULL, &p, ASN1_STRING_length(os));
    if (s) {
        g_autofree char *str = g_strndup((const char *)
                                         ASN1_STRING_get0_data(s),
                                         ASN1_STRING_length(s));
        ret = product_prefix(str);
    }
    ASN1_IA5STRING_free(s);
    return ret;
}

/* "ARK-Milan" -> Milan. */
static SevsnpProduct ark_product(RptX509 *ark)
{
    const RptX509Name *n = X509_get_subject_name(ark);
    int idx = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    SevsnpProduct ret = SEVSNP_PRODUCT_UNKNOWN;
    int len;

    if (idx < 0) {
        return ret;
    }
    len = ASN1_STRING_to_UTF8(&utf8,
                              X509_NAME_ENTRY_get_data(
                                  X509_NAME_get_entry(n, idx)));
    if (len > 4 && !strncmp((char *)utf8, "ARK-", 4)) {
        g_autofree char *s = g_strndup((char *)utf8 + 4, len - 4);
        ret = product_prefix(s);
    }
    OPENSSL_free(utf8);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */
/* ------------------------------------------------------------------ */

static GBytes *table_cert(const SevsnpCertTable *t, SevsnpCertType type)
{
    for (guint i = 0; i < sevsnp_cert_table_n_entries(t); i++) {
        if (sevsnp_cert_table_entry(t, i)->type == type) {
            return sevsnp_cert_table_entry_data(t, i);
        }
    }
    return NULL;
}

static gboolean all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i]) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean verify_signature(const SevsnpReport *r, RptX509 *vek,
                                 const char *key_name, GError **err)
{
    EVP_PKEY *pk = X509_get0_pubkey(vek);
    RptEcdsaSig *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_lebin2bn(r->sig_r, SEVSNP_REPORT_SIG_PART, NULL);
    BIGNUM *bs = BN_lebin2bn(r->sig_s, SEVSNP_REPORT_SIG_PART, NULL);
    RptMdCtx *md = NULL;
    unsigned char *der = NULL;
    char group[64] = "";
    size_t glen = 0;
    int der_len, rc = 0;

    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group),
                                        &glen) ||
        strcmp(group, "secp384r1") != 0) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_KEY,
                    "the %s's key is not an EC P-384 key", key_name);
        ECDSA_SIG_free(sig);
        BN_free(br);
        BN_free(bs);
        return FALSE;
    }
    if (!sig || !br || !bs || !ECDSA_SIG_set0(sig, br, bs)) {
        BN_free(br);
        BN_free(bs);
        ECDSA_SIG_free(sig);
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_SIGNATURE,
                    "out of memory decoding the signature");
        return FALSE;
    }
    der_len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    md = EVP_MD_CTX_new();
    if (der_len > 0 && md &&
        EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, pk) > 0) {
        rc = EVP_DigestVerify(md, der, der_len, r->raw,
                              SEVSNP_REPORT_SIGNED_SIZE);
    }
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    if (rc != 1) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_SIGNATURE,
                    "the signature at 0x%x does not verify with the %s's "
                    "key (ECDSA P-384 SHA-384 over bytes 0x0-0x%x)",
                    SEVSNP_REPORT_SIG_OFFSET, key_name,
                    SEVSNP_REPORT_SIGNED_SIZE - 1);
        return FALSE;
    }
    return TRUE;
}

/* Pick the product: every source that names one must agree. */
static gboolean agree_product(const SevsnpReport *r, RptX509 *ark,
                              GBytes *vek_der, const char *key_name,
                              SevsnpProduct want, SevsnpProduct *out,
                              GError **err)
{
    struct {
        const char *what;
        SevsnpProduct p;
    } src[4] = {
        { "--product", want },
        { "the chain (ARK)", ark ? ark_product(ark) : SEVSNP_PRODUCT_UNKNOWN },
        { NULL, sevsnp_vek_product(vek_der) },
        { "the report's CPUID",
          r->has_cpuid ? sevsnp_product_from_cpuid(r->cpuid_fam_id,
                                                   r->cpuid_mod_id)
                       : SEVSNP_PRODUCT_UNKNOWN },
    };
    g_autofree char *vek_what = g_strdup_printf("the %s's productName",
                                                key_name);
    int first = -1;

    src[2].what = vek_what;
    for (int i = 0; i < 4; i++) {
        if (src[i].p == SEVSNP_PRODUCT_UNKNOWN) {
            continue;
        }
        if (first < 0) {
            first = i;
        } else if (src[i].p != src[first].p) {
            g_set_error(err, SEVSNP_REPORT_ERROR,
                        SEVSNP_REPORT_ERROR_PRODUCT,
                        "product mismatch: %s is %s but %s is %s",
                        src[first].what, sevsnp_product_name(src[first].p),
                        src[i].what, sevsnp_product_name(src[i].p));
            return FALSE;
        }
    }
    *out = first < 0 ? SEVSNP_PRODUCT_UNKNOWN : src[first].p;
    return TRUE;
}

gboolean sevsnp_report_verify(const SevsnpReport *r,
                              const SevsnpCertTable *table,
                              SevsnpProduct product, int64_t at,
                              GError **err)
{
    g_autoptr(GBytes) ark_der = table_cert(table, SEVSNP_CERT_ARK);
    g_autoptr(GBytes) vek_der = NULL;
    g_autoptr(RptX509) ark = NULL, vek = NULL;
    g_autofree char *why = NULL;
    SevsnpChainStatus st;
    SevsnpCertType vek_type;
    const char *key_name;
    SevsnpProduct p;
    SevsnpTcb reported, cert_tcb;
    uint8_t hwid[SEVSNP_CHIP_ID_SIZE];
    size_t hwid_len;

    if (r->signature_algo != SEVSNP_SIG_ALGO_ECDSA_P384_SHA384) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_SIGNATURE,
                    "signature algorithm %u is not ECDSA P-384 with SHA-384 "
                    "(1)", r->signature_algo);
        return FALSE;
    }
    switch (r->signing_key) {
    case SEVSNP_SIGNING_KEY_VCEK:
        vek_type = SEVSNP_CERT_VCEK;
        key_name = "VCEK";
        break;
    case SEVSNP_SIGNING_KEY_VLEK:
        vek_type = SEVSNP_CERT_VLEK;
        key_name = "VLEK";
        break;
    case SEVSNP_SIGNING_KEY_NONE:
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_KEY,
                    "the report is not signed (KEY_INFO.SIGNING_KEY is 7, "
                    "none)");
        return FALSE;
    default:
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_KEY,
                    "KEY_INFO.SIGNING_KEY %u is reserved", r->signing_key);
        return FALSE;
    }
    if (r->mask_chip_key) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_SIGNATURE,
                    "the report's signature is masked (KEY_INFO."
                    "MASK_CHIP_KEY is set): nothing to verify");
        return FALSE;
    }
    vek_der = table_cert(table, vek_type);
    if (!vek_der) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_KEY,
                    "the report is signed by the %s but the chain has no "
                    "%s", key_name, key_name);
        return FALSE;
    }
    st = sevsnp_cert_table_verify(table, at, &why);
    if (st != SEVSNP_CHAIN_VALID) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_CHAIN,
                    "chain %s: %s", sevsnp_chain_status_name(st), why);
        return FALSE;
    }
    ark = ark_der ? der_x509(ark_der) : NULL;
    vek = der_x509(vek_der);
    if (!vek) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_KEY,
                    "the %s does not parse", key_name);
        return FALSE;
    }
    if (!agree_product(r, ark, vek_der, key_name, product, &p, err)) {
        return FALSE;
    }
    if (!verify_signature(r, vek, key_name, err)) {
        return FALSE;
    }

    reported = sevsnp_tcb_decode(r->reported_tcb_raw, p);
    if (vek_type == SEVSNP_CERT_VLEK) {
        /* A VLEK carries the TCB it was issued for, and no hwID. */
        if (amd_ext(vek, "3.1") && x509_get_tcb(vek, p, &cert_tcb, NULL) &&
            !sevsnp_tcb_equal(&cert_tcb, &reported)) {
            g_autofree char *a = sevsnp_tcb_to_string(&cert_tcb, p);
            g_autofree char *b = sevsnp_tcb_to_string(&reported, p);

            g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_TCB,
                        "the VLEK is for TCB %s but the report's reported "
                        "TCB is %s", a, b);
            return FALSE;
        }
        return TRUE;
    }
    if (!sevsnp_vcek_get_tcb(vek_der, p, &cert_tcb, hwid, &hwid_len, err)) {
        return FALSE;
    }
    if (!sevsnp_tcb_equal(&cert_tcb, &reported)) {
        g_autofree char *a = sevsnp_tcb_to_string(&cert_tcb, p);
        g_autofree char *b = sevsnp_tcb_to_string(&reported, p);

        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_TCB,
                    "the VCEK is for TCB %s but the report's reported TCB "
                    "is %s", a, b);
        return FALSE;
    }
    if (all_zero(r->chip_id, SEVSNP_CHIP_ID_SIZE)) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_CHIP_ID,
                    "the report's chip id is masked (all zero): it cannot "
                    "be matched to the VCEK's hwID");
        return FALSE;
    }
    if (p != SEVSNP_PRODUCT_UNKNOWN &&
        hwid_len != sevsnp_product_hwid_len(p)) {
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_CHIP_ID,
                    "the VCEK's hwID is %zu bytes, a %s hwID is %zu",
                    hwid_len, sevsnp_product_name(p),
                    sevsnp_product_hwid_len(p));
        return FALSE;
    }
    if (memcmp(hwid, r->chip_id, hwid_len) != 0) {
        /* Never print chip ids: they identify a machine. */
        g_set_error(err, SEVSNP_REPORT_ERROR, SEVSNP_REPORT_ERROR_CHIP_ID,
                    "the VCEK's hwID does not match the report's chip id "
                    "(%zu bytes compared)", hwid_len);
        return FALSE;
    }
    return TRUE;
}
