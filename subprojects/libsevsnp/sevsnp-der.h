/*
 * libsevsnp: strict DER, and what the library reads from certificates
 *
 * Both crypto backends (sevsnp-crypto.h) accept exactly the same
 * certificates, and describe them in exactly the same words, because
 * what does not need cryptography is done here, once, over the DER
 * bytes: the structure check that runs before a backend sees the bytes
 * (strict DER, the X.509 shape, the rules on which OpenSSL and GnuTLS
 * disagree), and the fields of sevsnp_cert_info_new() (names, serial,
 * validity, key type), read from data a backend has accepted.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_DER_H
#define SEVSNP_DER_H

#include "libsevsnp.h"

/* One TLV. */
typedef struct SevsnpDer {
    const uint8_t *start;       /* the identifier octet */
    const uint8_t *val;         /* the contents */
    size_t len;                 /* length of the contents */
    size_t size;                /* length of the whole TLV */
    uint8_t cls;                /* SEVSNP_DER_UNIVERSAL ... */
    bool cons;                  /* constructed */
    uint32_t tag;
} SevsnpDer;

#define SEVSNP_DER_UNIVERSAL    0x00
#define SEVSNP_DER_APPLICATION  0x40
#define SEVSNP_DER_CONTEXT      0x80
#define SEVSNP_DER_PRIVATE      0xc0

/*
 * Is [p, p + len) exactly one DER encoding: definite, minimal lengths
 * and tags; constructed contents made of such encodings, at most 20
 * deep; the universal types' DER rules (BOOLEAN 00/FF, minimal INTEGER,
 * NULL empty, OBJECT IDENTIFIER arcs minimal and below 2^64, BIT STRING
 * unused bits zero, strings and times primitive, times digits and 'Z',
 * SEQUENCE and SET constructed)?
 */
bool sevsnp_der_valid(const uint8_t *p, size_t len);

/* The certificate's parts, each a TLV inside the DER it was read from. */
typedef struct SevsnpX509 {
    SevsnpDer tbs, sig_alg, sig;
    int version;                /* 1, 2, 3 (0: another value) */
    SevsnpDer serial, tbs_sig_alg, issuer, not_before, not_after,
              subject, spki;
    bool has_issuer_uid, has_subject_uid, has_extensions;
    SevsnpDer extensions;       /* the SEQUENCE OF Extension */
} SevsnpX509;

/* The CRL's parts. */
typedef struct SevsnpCrl {
    SevsnpDer tbs, sig_alg, sig;
    SevsnpDer tbs_sig_alg, issuer, this_update, next_update;
    bool has_next_update;
} SevsnpCrl;

/*
 * Read @der, already sevsnp_der_valid(), as a certificate: the X.509
 * shape (RFC 5280 4.1) and the rules both backends' libraries apply when
 * they decode one (see der.c).  False if it is not one.
 */
bool sevsnp_x509_read(const uint8_t *der, size_t len, SevsnpX509 *x);

/* The same for a CRL (RFC 5280 5.1). */
bool sevsnp_crl_read(const uint8_t *der, size_t len, SevsnpCrl *c);

/*
 * A Name as one line: RFC 2253 order and escaping, with OpenSSL's
 * XN_FLAG_RFC2253 conventions (short names of the usual attributes,
 * other types dotted with the value dumped as #hex, bytes above 0x7f of
 * the value's UTF-8 escaped as \XX).
 */
char *sevsnp_name_oneline(const SevsnpDer *name);

/* The first commonName of @name as UTF-8 (up to a NUL), or NULL. */
char *sevsnp_name_cn(const SevsnpDer *name);

/* Do two Names have the same encoding? */
bool sevsnp_name_equal(const SevsnpDer *a, const SevsnpDer *b);

/* A serial number as lower-case hex ("-" for a negative one). */
char *sevsnp_integer_hex(const SevsnpDer *i);

/*
 * An RFC 5280 Time (UTCTime YYMMDDHHMMSSZ, GeneralizedTime
 * YYYYMMDDHHMMSSZ) as ISO 8601 UTC and seconds since the epoch; NULL
 * and 0 if it is not one.
 */
char *sevsnp_time_iso(const SevsnpDer *t, int64_t *unix_time);

/* The same, seconds only: false and 0 if @t is not an RFC 5280 time. */
bool sevsnp_time_unix(const SevsnpDer *t, int64_t *unix_time);

/* The subject public key: "RSA-4096", "EC-P-384", ..., or "unknown". */
char *sevsnp_spki_key_type(const SevsnpDer *spki);

/*
 * Is [p, p + len) the DER an entry of type @type must hold (a
 * certificate, a CRL, one DER object for other types), and decoded by the
 * crypto backend's library?  *@what names what it must be; a
 * certificate's parts go to *@x509 (may be NULL).  (certinfo.c)
 */
bool sevsnp_entry_der_ok(SevsnpCertType type, const uint8_t *p, size_t len,
                         const char **what, SevsnpX509 *x509);

#endif
