/*
 * libsevsnp: SEV-SNP attestation reports (parse, describe, verify)
 *
 * The layout is the ATTESTATION_REPORT structure of AMD's SEV Secure
 * Nested Paging Firmware ABI specification, report versions 2 to 5:
 * 0x4A0 bytes, the signature at 0x2A0 over bytes [0, 0x2A0), ECDSA P-384
 * with SHA-384, r and s as 72-byte little-endian numbers.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_REPORT_H
#define SEVSNP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "libsevsnp.h"

G_BEGIN_DECLS

#define SEVSNP_REPORT_SIZE          0x4A0
#define SEVSNP_REPORT_SIGNED_SIZE   0x2A0   /* bytes the signature covers */
#define SEVSNP_REPORT_SIG_OFFSET    0x2A0
#define SEVSNP_REPORT_SIG_PART      72      /* r, then s, little-endian */
#define SEVSNP_REPORT_MIN_VERSION   2
#define SEVSNP_REPORT_MAX_VERSION   5
#define SEVSNP_CHIP_ID_SIZE         64
#define SEVSNP_SIG_ALGO_ECDSA_P384_SHA384 1

/* Field offsets of the report (AMD SEV-SNP ABI, ATTESTATION_REPORT). */
#define SEVSNP_RPT_VERSION          0x000
#define SEVSNP_RPT_GUEST_SVN        0x004
#define SEVSNP_RPT_POLICY           0x008
#define SEVSNP_RPT_FAMILY_ID        0x010
#define SEVSNP_RPT_IMAGE_ID         0x020
#define SEVSNP_RPT_VMPL             0x030
#define SEVSNP_RPT_SIG_ALGO         0x034
#define SEVSNP_RPT_CURRENT_TCB      0x038
#define SEVSNP_RPT_PLATFORM_INFO    0x040
#define SEVSNP_RPT_KEY_INFO         0x048
#define SEVSNP_RPT_REPORT_DATA      0x050
#define SEVSNP_RPT_MEASUREMENT      0x090
#define SEVSNP_RPT_HOST_DATA        0x0C0
#define SEVSNP_RPT_ID_KEY_DIGEST    0x0E0
#define SEVSNP_RPT_AUTHOR_KEY_DIGEST 0x110
#define SEVSNP_RPT_REPORT_ID        0x140
#define SEVSNP_RPT_REPORT_ID_MA     0x160
#define SEVSNP_RPT_REPORTED_TCB     0x180
#define SEVSNP_RPT_CPUID_FAM_ID     0x188   /* version 3 and later */
#define SEVSNP_RPT_CPUID_MOD_ID     0x189
#define SEVSNP_RPT_CPUID_STEP       0x18A
#define SEVSNP_RPT_CHIP_ID          0x1A0
#define SEVSNP_RPT_COMMITTED_TCB    0x1E0
#define SEVSNP_RPT_CURRENT_BUILD    0x1E8   /* build, minor, major */
#define SEVSNP_RPT_COMMITTED_BUILD  0x1EC
#define SEVSNP_RPT_LAUNCH_TCB       0x1F0
#define SEVSNP_RPT_LAUNCH_MIT_VECTOR  0x1F8 /* version 5 and later */
#define SEVSNP_RPT_CURRENT_MIT_VECTOR 0x200

/* KEY_INFO (0x48) bits. */
#define SEVSNP_KEY_INFO_AUTHOR_KEY_EN   (1u << 0)
#define SEVSNP_KEY_INFO_MASK_CHIP_KEY   (1u << 1)
#define SEVSNP_KEY_INFO_SIGNING_KEY_SHIFT 2
#define SEVSNP_KEY_INFO_SIGNING_KEY_MASK  (7u << 2)

/**
 * SevsnpSigningKey:
 *
 * The key that signed a report (KEY_INFO.SIGNING_KEY).
 */
typedef enum {
    SEVSNP_SIGNING_KEY_VCEK = 0,
    SEVSNP_SIGNING_KEY_VLEK = 1,
    SEVSNP_SIGNING_KEY_NONE = 7,
} SevsnpSigningKey;

/**
 * SevsnpProduct:
 *
 * The AMD product line: picks the TCB layout and the KDS path.
 */
typedef enum {
    SEVSNP_PRODUCT_UNKNOWN,
    SEVSNP_PRODUCT_MILAN,
    SEVSNP_PRODUCT_GENOA,
    SEVSNP_PRODUCT_TURIN,
} SevsnpProduct;

/**
 * sevsnp_product_name:
 * @p: a product
 *
 * Returns: "Milan", "Genoa", "Turin" (KDS spelling), "unknown".
 */
const char *sevsnp_product_name(SevsnpProduct p);

/**
 * sevsnp_product_from_name:
 * @name: a product name
 * @p: receives the product
 *
 * Parse a product name, case-insensitively.
 *
 * Returns: FALSE when unknown.
 */
gboolean sevsnp_product_from_name(const char *name, SevsnpProduct *p);

/**
 * sevsnp_product_from_cpuid:
 * @family: the CPUID family
 * @model: the CPUID model
 *
 * The product of a CPUID family and model (report version 3 and later):
 * family 0x19 models 0x00-0x0F Milan, 0x10-0x1F and 0xA0-0xAF Genoa;
 * family 0x1A models 0x00-0x1F Turin.
 *
 * Returns: the product; UNKNOWN otherwise.
 */
SevsnpProduct sevsnp_product_from_cpuid(uint8_t family, uint8_t model);

/**
 * sevsnp_product_hwid_len:
 * @p: a product
 *
 * Returns: how many bytes of the chip id identify the chip in KDS URLs
 * and in a VCEK's hwID extension: 64, or 8 for Turin.
 */
size_t sevsnp_product_hwid_len(SevsnpProduct p);

/**
 * SevsnpTcb:
 *
 * A TCB_VERSION, decoded.  Milan and Genoa: byte 0 boot loader, 1 TEE,
 * 6 SNP, 7 microcode.  Turin: byte 0 FMC, 1 boot loader, 2 TEE, 3 SNP,
 * 7 microcode.  @fmc is 0 for products without one.
 */
typedef struct SevsnpTcb {
    uint8_t bootloader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
    uint8_t fmc;
} SevsnpTcb;

/**
 * sevsnp_tcb_decode:
 * @raw: a 64-bit TCB_VERSION
 * @p: the product whose layout applies
 *
 * Decode the 64-bit TCB_VERSION of product @p.
 *
 * Returns: the decoded TCB.
 */
SevsnpTcb sevsnp_tcb_decode(uint64_t raw, SevsnpProduct p);

/**
 * sevsnp_tcb_encode:
 * @tcb: a decoded TCB
 * @p: the product whose layout applies
 *
 * Encode @tcb as the 64-bit TCB_VERSION of product @p.
 *
 * Returns: the 64-bit TCB_VERSION.
 */
uint64_t sevsnp_tcb_encode(const SevsnpTcb *tcb, SevsnpProduct p);

/**
 * sevsnp_tcb_to_string:
 * @tcb: a decoded TCB
 * @p: the product
 *
 * Returns: a new string "bl=3,tee=0,snp=8,ucode=115", plus ",fmc=N" for
 * Turin.
 */
char *sevsnp_tcb_to_string(const SevsnpTcb *tcb, SevsnpProduct p);

/**
 * sevsnp_tcb_parse:
 * @str: the text
 * @p: the product
 * @tcb: receives the TCB
 * @err: return location for a GError
 *
 * Parse "bl=N,tee=N,snp=N,ucode=N[,fmc=N]" (decimal, 0-255, any order,
 * each once; fmc only, and required, for Turin).
 *
 * Returns: TRUE, or FALSE with @err set.
 */
gboolean sevsnp_tcb_parse(const char *str, SevsnpProduct p, SevsnpTcb *tcb,
                          GError **err);

/**
 * sevsnp_tcb_equal:
 * @a: a decoded TCB
 * @b: another
 *
 * Returns: whether every field of @a and @b is equal.
 */
gboolean sevsnp_tcb_equal(const SevsnpTcb *a, const SevsnpTcb *b);

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

#define SEVSNP_REPORT_ERROR (sevsnp_report_error_quark())

/**
 * sevsnp_report_error_quark:
 *
 * Returns: the GQuark of the SEVSNP_REPORT_ERROR GError domain.
 */
GQuark sevsnp_report_error_quark(void);

/**
 * SevsnpReportError:
 *
 * Why a report does not verify (SEVSNP_REPORT_ERROR codes).
 */
typedef enum {
    SEVSNP_REPORT_ERROR_IO,         /* file missing or unreadable */
    SEVSNP_REPORT_ERROR_MALFORMED,  /* wrong size, bad hex, reserved bits */
    SEVSNP_REPORT_ERROR_VERSION,    /* a version outside 2..5 */
    SEVSNP_REPORT_ERROR_CHAIN,      /* the chain does not verify */
    SEVSNP_REPORT_ERROR_PRODUCT,    /* chain, report and --product differ */
    SEVSNP_REPORT_ERROR_KEY,        /* the signing key is absent or wrong */
    SEVSNP_REPORT_ERROR_SIGNATURE,  /* the signature does not verify */
    SEVSNP_REPORT_ERROR_TCB,        /* VCEK TCB != reported TCB */
    SEVSNP_REPORT_ERROR_CHIP_ID,    /* VCEK hwID != chip id */
} SevsnpReportError;

/**
 * SevsnpReport:
 *
 * A parsed report: every field of versions 2 to 5.
 */
typedef struct SevsnpReport {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo;
    uint64_t current_tcb_raw;
    uint64_t platform_info;
    uint32_t key_info;
    bool author_key_en;
    bool mask_chip_key;
    SevsnpSigningKey signing_key;
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb_raw;
    bool has_cpuid;                 /* version >= 3 */
    uint8_t cpuid_fam_id;
    uint8_t cpuid_mod_id;
    uint8_t cpuid_step;
    uint8_t chip_id[SEVSNP_CHIP_ID_SIZE];
    uint64_t committed_tcb_raw;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb_raw;
    bool has_mit_vectors;           /* version >= 5 */
    uint64_t launch_mit_vector;
    uint64_t current_mit_vector;
    uint8_t sig_r[SEVSNP_REPORT_SIG_PART];  /* little-endian */
    uint8_t sig_s[SEVSNP_REPORT_SIG_PART];

    /* From the CPUID fields (v3+) or the caller's hint; may be UNKNOWN. */
    SevsnpProduct product;
    /* The TCBs decoded with @product's layout (Milan's when UNKNOWN). */
    SevsnpTcb current_tcb, reported_tcb, committed_tcb, launch_tcb;

    uint8_t raw[SEVSNP_REPORT_SIZE];
} SevsnpReport;

/**
 * sevsnp_report_parse:
 * @data: the report's bytes
 * @len: the number of bytes
 * @hint: the product, or UNKNOWN
 * @err: return location for a GError
 *
 * Parse @len bytes of a report.  The size must be exactly
 * SEVSNP_REPORT_SIZE and the version within 2..5.  @hint names the
 * product when the report does not (version 2), or UNKNOWN; a hint that
 * contradicts the report's CPUID is an error (SEVSNP_REPORT_ERROR_PRODUCT).
 *
 * Returns: the report, freed with g_free(); NULL with @err set.
 */
SevsnpReport *sevsnp_report_parse(const void *data, size_t len,
                                  SevsnpProduct hint, GError **err);

/**
 * sevsnp_report_read_file:
 * @path: the file
 * @err: return location for a GError
 *
 * Read a report file: SEVSNP_REPORT_SIZE raw bytes, or the same as hex
 * text (white space ignored).
 *
 * Returns: the report's bytes; NULL with @err set, naming the file.
 */
GBytes *sevsnp_report_read_file(const char *path, GError **err);

/**
 * sevsnp_report_to_variant:
 * @r: a parsed report
 *
 * Returns: the report as a GVariant dictionary (a{sv}) holding every
 * field, with the policy, platform info, key info and TCBs decoded into
 * dictionaries of their own; byte arrays are lower-case hex strings.
 * Floating ref.
 */
GVariant *sevsnp_report_to_variant(const SevsnpReport *r);

/**
 * sevsnp_report_describe:
 * @r: a parsed report
 *
 * Returns: a new string describing @r: human-readable, one field a line,
 * indented dictionaries.
 */
char *sevsnp_report_describe(const SevsnpReport *r);

/* ------------------------------------------------------------------ */
/* Verification                                                        */
/* ------------------------------------------------------------------ */

/**
 * sevsnp_report_verify:
 * @r: a parsed report
 * @table: the certificate table
 * @product: the expected product, or UNKNOWN
 * @at: the time, in seconds since the epoch; 0 = now
 * @err: return location for a GError
 *
 * Verify @r against the chain in @table: the chain verifies at @at
 * (sevsnp_cert_table_verify()); the report's signing key (VCEK or VLEK,
 * as KEY_INFO says) is in the table; the product of the chain (the
 * ARK's common name), of the report (CPUID, v3+) and @product (when not
 * UNKNOWN) agree; the signature algorithm is ECDSA P-384 SHA-384 and the
 * key verifies the signature; for a VCEK, its TCB extensions equal the
 * reported TCB and its hwID equals the chip id (Turin: the first 8
 * bytes).  Chip ids never appear in messages.
 *
 * Returns: TRUE when the report verifies; FALSE with a
 * SEVSNP_REPORT_ERROR saying exactly what failed.
 */
gboolean sevsnp_report_verify(const SevsnpReport *r,
                              const SevsnpCertTable *table,
                              SevsnpProduct product, int64_t at,
                              GError **err);

/**
 * sevsnp_vek_product:
 * @der: a VCEK or VLEK certificate (DER)
 *
 * Returns: the product the certificate names (its productName
 * extension, e.g. "Milan-B0"), or UNKNOWN.
 */
SevsnpProduct sevsnp_vek_product(GBytes *der);

/**
 * sevsnp_vcek_get_tcb:
 * @der: a VCEK (DER)
 * @p: the product whose layout applies
 * @tcb: receives the TCB
 * @hwid: receives the hwID
 * @hwid_len: receives the hwID's length
 * @err: return location for a GError
 *
 * Read the TCB extensions of a VCEK (DER) for product @p into @tcb, and
 * its hwID into @hwid (@hwid_len set).
 *
 * Returns: TRUE; FALSE with @err when missing.
 */
gboolean sevsnp_vcek_get_tcb(GBytes *der, SevsnpProduct p, SevsnpTcb *tcb,
                             uint8_t hwid[SEVSNP_CHIP_ID_SIZE],
                             size_t *hwid_len, GError **err);

G_END_DECLS

#endif /* SEVSNP_REPORT_H */
