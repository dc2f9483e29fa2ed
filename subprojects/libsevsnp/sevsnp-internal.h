/*
 * libsevsnp: declarations shared between the library's files
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_INTERNAL_H
#define SEVSNP_INTERNAL_H

#include "libsevsnp.h"
/* not in QEMU's copy: begin */

/*
 * The standalone library (SEVSNP_HAVE_X509): does every entry of @table
 * hold what its GUID says (certinfo.c)?  Else FALSE with @err
 * (SEVSNP_ERROR_BAD_DER) naming the entry.
 */
gboolean sevsnp_cert_table_check_entries(const SevsnpCertTable *table,
                                         GError **err);

/*
 * Is [p, p + len) what an entry of type @type must hold: a certificate, a
 * CRL (each one DER encoding that OpenSSL decodes and encodes back the
 * same), one DER object for other types?  *@what names what it must be.
 * (certinfo.c)
 */
bool sevsnp_entry_der_ok(SevsnpCertType type, const uint8_t *p, size_t len,
                         const char **what);
/* not in QEMU's copy: end */

/* Stores are reference-counted; sevsnp_cert_store_free() drops one. */
SevsnpCertStore *sevsnp_cert_store_ref(SevsnpCertStore *store);

/* The last table the store validated (a new reference), or NULL. */
SevsnpCertTable *sevsnp_cert_store_last_table(SevsnpCertStore *store);

/* How many fairness gaps the store's readers made. */
uint64_t sevsnp_cert_store_fair_drains(const SevsnpCertStore *store);

/* How many reads the store compared with its cached blob. */
uint64_t sevsnp_cert_store_byte_compares(const SevsnpCertStore *store);

/*
 * Take the store out of service: its readers stop waiting for the locks
 * (SEVSNP_ERROR_BUSY) and the service restarts their requests.
 */
void sevsnp_cert_store_retire(SevsnpCertStore *store);
bool sevsnp_cert_store_is_retired(SevsnpCertStore *store);

/*
 * Open @n descriptions of the file now (see sevsnp_service_preopen());
 * readers take them before opening the path themselves.
 */
gboolean sevsnp_cert_store_preopen(SevsnpCertStore *store, guint n,
                                   GError **err);
guint sevsnp_cert_store_preopened(SevsnpCertStore *store);

/*
 * Whether the racy-window rule may trust the file's ctime (the file
 * system stamps it with this machine's clock): -1 decide from the file
 * system type (the default), 0 never (compare the bytes on every
 * request, as on NFS or FUSE), 1 always.  For tests.
 */
void sevsnp_cert_store_trust_ctime(SevsnpCertStore *store, int trust);

/* What a waiting request checks to know it must give up. */
typedef struct SevsnpWaitCtl {
    SevsnpInterruptFn interrupted;  /* NULL: never */
    void *opaque;
    uint32_t vcpu;
} SevsnpWaitCtl;

bool sevsnp_wait_interrupted(const SevsnpWaitCtl *ctl);

/*
 * A reader: one file description of the store's blob, opened on first
 * use and kept across requests (one per vCPU).  Not thread-safe: one
 * request at a time.
 */
typedef struct SevsnpCertReader SevsnpCertReader;

SevsnpCertReader *sevsnp_cert_reader_new(SevsnpCertStore *store);
void sevsnp_cert_reader_free(SevsnpCertReader *r);
SevsnpCertStore *sevsnp_cert_reader_get_store(const SevsnpCertReader *r);

/*
 * Take the shared locks (waiting at most @timeout_ms; @ctl may end the
 * wait early) and return the table of the file under them (borrowed,
 * valid until sevsnp_cert_reader_unlock()).  @fair: pass the store's
 * fairness gate (requests of the service).  NULL with @err on failure:
 * SEVSNP_ERROR_BUSY for a time-out or an interruption.
 */
SevsnpCertTable *sevsnp_cert_reader_lock(SevsnpCertReader *r,
                                         unsigned timeout_ms, bool fair,
                                         const SevsnpWaitCtl *ctl,
                                         GError **err);

/* Drop the locks, keeping the description open; no-op when unlocked. */
void sevsnp_cert_reader_unlock(SevsnpCertReader *r);

#endif
