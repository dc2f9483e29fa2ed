/*
 * fwsim: a simulated AMD Secure Processor firmware, for tests only.
 *
 * It owns a test AMD key hierarchy and the firmware's state, kept in a
 * directory so that several processes (a QEMU under test, the host
 * simulator, an updater, the test itself) share one firmware:
 *
 *   DIR/firmware.ini   the state, a GKeyFile, always replaced by an
 *                      atomic rename (never seen half written): product,
 *                      chip id, the current / reported / committed /
 *                      launch TCB, the firmware version, a generation
 *                      counter, the certificates (PEM) and the private
 *                      keys of the ASK and of the current VCEK (PEM).
 *   DIR/ark.pem        ARK: self-signed RSA (2048 bits), RSA-PSS SHA-384
 *   DIR/ask.pem        ASK: RSA, signed by the ARK with RSA-PSS SHA-384
 *   DIR/vcek.der       VCEK: EC P-384, signed by the ASK with RSA-PSS,
 *                      carrying AMD's VCEK extensions (OIDs
 *                      1.3.6.1.4.1.3704.1.*: structVersion, productName,
 *                      blSPL, teeSPL, snpSPL, spl_4..7, ucodeSPL, fmcSPL
 *                      (Turin), hwID), encoded exactly as AMD's.
 *
 * The names are AMD's (CN ARK-Milan, SEV-Milan, SEV-VCEK, ...), so the
 * chain verifies with sevsnp_cert_table_verify() and reports signed here
 * verify with sevsnp_report_verify(), exactly as real ones do.
 *
 * Typical use:
 *
 *   fwsim_create(dir, SEVSNP_PRODUCT_MILAN, &tcb, &err);   once
 *   report = fwsim_report(dir, &params, &err);             per request:
 *                          loads the state afresh and signs with the VCEK
 *                          in service at that moment
 *   fwsim_rotate(dir, &new_tcb or NULL, &err);             "firmware
 *                          update": new VCEK key and certificate (and TCB),
 *                          same ARK and ASK; vcek.der is rewritten first,
 *                          then the state is replaced by one rename, so a
 *                          signer uses either the old key or the new one
 *
 * Nothing here locks: a caller that needs the certificate blob and the
 * signing key to change together holds the blob's exclusive lock around
 * fwsim_rotate() (that is what snp-certs lock is for).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_FWSIM_H
#define SEVSNP_FWSIM_H

#include <openssl/evp.h>

#include "libsevsnp.h"
#include "sevsnp-report.h"

G_BEGIN_DECLS

#define FWSIM_STATE_FILE "firmware.ini"

/* The loaded firmware state (see fwsim_load()). */
typedef struct FwSimState {
    SevsnpProduct product;
    uint8_t chip_id[SEVSNP_CHIP_ID_SIZE];   /* Turin: 8 bytes, then 0s */
    SevsnpTcb current_tcb;
    SevsnpTcb reported_tcb;
    SevsnpTcb committed_tcb;
    SevsnpTcb launch_tcb;
    uint8_t fw_major, fw_minor, fw_build;
    uint64_t generation;            /* 0 at creation, +1 per rotation */
    GBytes *ark_der, *ask_der, *vcek_der;
    EVP_PKEY *ask_key;              /* signs new VCEKs */
    EVP_PKEY *vcek_key;             /* signs reports */
} FwSimState;

void fwsim_state_free(FwSimState *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FwSimState, fwsim_state_free)

/*
 * Create DIR (if needed) and a new firmware in it: ARK, ASK, a random
 * chip id and a VCEK for @tcb, which becomes the current, reported,
 * committed and launch TCB.  Firmware version 1.55.0.  Overwrites any
 * firmware that was there.
 */
gboolean fwsim_create(const char *dir, SevsnpProduct product,
                      const SevsnpTcb *tcb, GError **err);

/* The same with a given chip id (SEVSNP_CHIP_ID_SIZE bytes). */
gboolean fwsim_create_with_chip_id(const char *dir, SevsnpProduct product,
                                   const SevsnpTcb *tcb,
                                   const uint8_t *chip_id, GError **err);

/* Load DIR/firmware.ini; every signer calls this per signing. */
FwSimState *fwsim_load(const char *dir, GError **err);

/*
 * Firmware update: a new VCEK key pair and certificate signed by the same
 * ASK.  With @new_tcb, the current, reported and committed TCB become
 * @new_tcb (the launch TCB stays: it belongs to guests already running);
 * with NULL they stay.  Writes DIR/vcek.der, then replaces the state by
 * rename.  The generation goes up by one.
 */
gboolean fwsim_rotate(const char *dir, const SevsnpTcb *new_tcb,
                      GError **err);

/* What the guest (and the VMM) put into a report; zero is fine. */
typedef struct FwSimReportParams {
    uint32_t version;               /* 2..5; 0 means 3 */
    uint32_t guest_svn;
    uint64_t policy;                /* 0 means 0x30000 (SMT, reserved 1) */
    uint32_t vmpl;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    bool mask_chip_id;              /* chip id reported as zeros */
    uint8_t cpuid_fam_id;           /* 0: the product's (v3+) */
    uint8_t cpuid_mod_id;
    uint8_t cpuid_step;
} FwSimReportParams;

/*
 * Build a report (SEVSNP_REPORT_SIZE bytes) from @st and @p and sign
 * bytes [0, 0x2A0) with the state's VCEK: ECDSA P-384 SHA-384, r and s
 * little-endian, 72 bytes each, at 0x2A0.
 */
GBytes *fwsim_sign_report(const FwSimState *st, const FwSimReportParams *p,
                          GError **err);

/* fwsim_load() + fwsim_sign_report(): the firmware's SNP_GUEST_REQUEST. */
GBytes *fwsim_report(const char *dir, const FwSimReportParams *p,
                     GError **err);

/*
 * A certificate blob (ARK, ASK, VCEK) of the state in DIR, as
 * sevsnp_cert_table_build() makes it: what the updater installs.
 */
GBytes *fwsim_blob(const char *dir, GError **err);

/* The product's CPUID family, model and stepping used in reports. */
void fwsim_product_cpuid(SevsnpProduct p, uint8_t *fam, uint8_t *mod,
                         uint8_t *step);

/*
 * Lower-level helpers, also used to make deliberately wrong certificates
 * in tests: a VCEK for @product, @tcb and @hwid (@hwid_len bytes), with
 * @key's public key, signed by @issuer_key under @issuer_der's subject.
 */
GBytes *fwsim_make_vcek(SevsnpProduct product, const SevsnpTcb *tcb,
                        const uint8_t *hwid, size_t hwid_len, EVP_PKEY *key,
                        GBytes *issuer_der, EVP_PKEY *issuer_key,
                        GError **err);

G_END_DECLS

#endif /* SEVSNP_FWSIM_H */
