/*
 * libsevsnp: the userspace half of AMD SEV-SNP certificate requests
 *
 * A QEMU-independent library (GLib) that answers an SEV-SNP guest's
 * extended guest request for the certificate chain:
 *
 *  - the GHCB certificate table: its structure (entries, GUIDs, offsets
 *    and lengths, the all-zero terminator, the size), parse and build;
 *  - a certificate store: one blob file, read under the shared locks of the
 *    locking protocol and held until the firmware has signed;
 *  - the request state machine for both KVM ABIs (KVM_EXIT_SNP_REQ_CERTS
 *    and the legacy KVM_EXIT_VMGEXIT), with rate limit and counters;
 *  - the ABI detection and shared/private page-state tracking.
 *
 * It parses no certificate and links no crypto library: the blob is
 * served as the operator installed it, and the operator's host tool
 * judges the certificates and their chain before installing it.
 * not in QEMU's copy: begin
 *
 * That is QEMU's copy (the subproject's crypto=none).  The standalone
 * library (crypto=openssl, for snp-certs, the simulator and the tests;
 * SEVSNP_HAVE_X509 is defined) also checks what the entries hold (each
 * certificate and CRL strict DER and decoded), describes them, verifies
 * the chain, builds blobs from PEM files and, in sevsnp-report.h,
 * handles attestation reports.
 * not in QEMU's copy: end
 *
 * Test-only code (the kernel-side checks, a simulated AMD-SP firmware)
 * lives in sim/, a separate library.
 *
 * Names: types Sevsnp*, functions sevsnp_*, macros SEVSNP_* (GLib's
 * namespace rule); QEMU's own types, the QAPI ones included, are SevSnp*.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBSEVSNP_H
#define LIBSEVSNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* Kernel ABI numbers                                                  */
/* ------------------------------------------------------------------ */

#define SEVSNP_PAGE_SIZE                    4096ULL
#define SEVSNP_PAGE_SHIFT                   12

/* not in QEMU's copy: begin */
/*
 * The released kernel's numbers, restated for the simulator, snp-certs
 * and the tests, which build against any distribution's headers.  QEMU
 * takes them from its linux-headers/ (Linux >= 7.0).
 */
/* Mainline: KVM_EXIT_SNP_REQ_CERTS (posted revisions used 40 and 42). */
#define SEVSNP_KVM_EXIT_SNP_REQ_CERTS       43
#define SEVSNP_KVM_EXIT_HYPERCALL           3
#define SEVSNP_KVM_EXIT_MEMORY_FAULT        39

/* Conversions (contract section 4). */
#define SEVSNP_KVM_HC_MAP_GPA_RANGE         12
#define SEVSNP_KVM_MAP_GPA_RANGE_ENCRYPTED  (1ULL << 4)
#define SEVSNP_KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#define SEVSNP_KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
/* hypercall.ret for a refused conversion: -KVM_EINVAL, as KVM's own. */
#define SEVSNP_HC_RET_EINVAL                ((uint64_t)-22)

/*
 * Detection and enabling of the mainline ABI (Linux >= 7.0).  In the
 * released arch/x86/include/uapi/asm/kvm.h the attributes of group
 * KVM_X86_GRP_SEV are KVM_X86_SEV_VMSA_FEATURES 0, KVM_X86_SNP_POLICY_BITS
 * 1 and KVM_X86_SEV_SNP_REQ_CERTS 2 (the v7 posting, older than the
 * policy-bits attribute, used 1).  tests/unit/test-uapi.c checks every
 * number of this block against the released headers.
 */
#define SEVSNP_KVM_X86_GRP_SEV              1
#define SEVSNP_KVM_X86_SNP_POLICY_BITS      1
#define SEVSNP_KVM_X86_SEV_SNP_REQ_CERTS    2
#define SEVSNP_KVM_SEV_SNP_ENABLE_REQ_CERTS 103

/**
 * struct sevsnp_kvm_exit_snp_req_certs:
 *
 * The run union member of KVM_EXIT_SNP_REQ_CERTS (run->snp_req_certs).
 */
struct sevsnp_kvm_exit_snp_req_certs {
    uint64_t gpa;
    uint64_t npages;
    uint64_t ret;
};
/* not in QEMU's copy: end */

/*
 * AMD's kernels (seed 001): the legacy KVM_EXIT_VMGEXIT, in no released
 * header.  Its number is the one mainline gave to KVM_EXIT_TDX.
 */
#define SEVSNP_KVM_EXIT_VMGEXIT             40
#define SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS   1
#define SEVSNP_VMGEXIT_RET_OK               0u
#define SEVSNP_VMGEXIT_RET_INVALID_LEN      1u
#define SEVSNP_VMGEXIT_RET_BUSY             2u
#define SEVSNP_VMGEXIT_RET_GENERIC          (1u << 31)
#define SEVSNP_VMGEXIT_FLAGS_NOTIFY_DONE    (1u << 0)
#define SEVSNP_VMGEXIT_STATUS_PENDING       0
#define SEVSNP_VMGEXIT_STATUS_DONE          1

/**
 * struct sevsnp_kvm_user_vmgexit:
 *
 * The run union member of the legacy KVM_EXIT_VMGEXIT (run->vmgexit).
 */
struct sevsnp_kvm_user_vmgexit {
    uint32_t type;
    union {
        struct {
            uint64_t data_gpa;
            uint64_t data_npages;
            uint32_t ret;
            uint8_t flags;
            uint8_t status;
        } req_certs;
    };
};

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

#define SEVSNP_ERROR (sevsnp_error_quark())

/**
 * SevsnpError:
 *
 * Error codes of SEVSNP_ERROR; each message names the reason and, for
 * table errors, the offending entry.
 */
typedef enum {
    SEVSNP_ERROR_IO,              /* missing or unreadable file, I/O error */
    SEVSNP_ERROR_TOO_LARGE,       /* blob larger than the size cap */
    SEVSNP_ERROR_NO_TERMINATOR,   /* no all-zero entry inside the blob */
    SEVSNP_ERROR_ZERO_GUID,       /* entry with a zero GUID but data */
    SEVSNP_ERROR_EMPTY_ENTRY,     /* entry of length zero */
    SEVSNP_ERROR_OUT_OF_BOUNDS,   /* data inside the table or past the end */
    SEVSNP_ERROR_OVERLAP,         /* two entries' data overlap */
    SEVSNP_ERROR_DUPLICATE,       /* the same GUID twice */
    SEVSNP_ERROR_STRAY_DATA,      /* non-zero bytes not owned by any entry */
    SEVSNP_ERROR_INVALID,         /* bad argument or input */
    SEVSNP_ERROR_BUSY,            /* lock not obtained in time */
    /* not in QEMU's copy: begin */
    /* The standalone library's checks of what the entries hold: */
    SEVSNP_ERROR_BAD_DER,         /* entry data is not the DER it must be */
    SEVSNP_ERROR_BAD_SIGNATURE,   /* a chain signature does not verify */
    /* not in QEMU's copy: end */
} SevsnpError;

/**
 * sevsnp_error_quark:
 *
 * Returns: the GQuark of libsevsnp's GError domain.
 */
GQuark sevsnp_error_quark(void);

/* ------------------------------------------------------------------ */
/* Certificate table (GHCB 2.0 "SNP Extended Guest Request")           */
/* ------------------------------------------------------------------ */

#define SEVSNP_CERT_ENTRY_SIZE      24
#define SEVSNP_GUID_SIZE            16
#define SEVSNP_DEFAULT_MAX_BLOB     (1024 * 1024)

/*
 * The largest certificate blob a Linux guest can receive: its
 * SNP_GET_EXT_REPORT refuses a certs_len above SEV_FW_BLOB_MAX_SIZE, and
 * configfs-tsm asks with a buffer of that size.  The number is not in
 * the uapi headers: it is the kernel's own (include/linux/psp-sev.h,
 * 0x4000 in mainline; some of AMD's development trees raised it to
 * 0x5000).  Bigger blobs are accepted and served, with a warning.
 */
#define SEVSNP_GUEST_BLOB_MAX       16384

/**
 * sevsnp_blob_guest_warning:
 * @size: a blob's size in bytes
 *
 * Returns: NULL when a Linux guest can receive a blob of @size bytes,
 * else a newly allocated sentence saying why it cannot.
 */
char *sevsnp_blob_guest_warning(size_t size);

/**
 * SevsnpCertType:
 *
 * The kinds of certificate table entry: ARK, ASK, VCEK, VLEK, CRL, and
 * any other data.
 */
typedef enum {
    SEVSNP_CERT_ARK,
    SEVSNP_CERT_ASK,
    SEVSNP_CERT_VCEK,
    SEVSNP_CERT_VLEK,
    SEVSNP_CERT_CRL,
    SEVSNP_CERT_OTHER,
} SevsnpCertType;

/**
 * SevsnpCertEntry:
 *
 * One entry of a parsed table.
 */
typedef struct SevsnpCertEntry {
    uint8_t guid[SEVSNP_GUID_SIZE];
    uint32_t offset;
    uint32_t length;
    SevsnpCertType type;
} SevsnpCertEntry;

/**
 * SevsnpCertTable:
 *
 * A parsed, validated certificate table and the blob it came from.
 */
typedef struct SevsnpCertTable SevsnpCertTable;

/**
 * sevsnp_cert_type_name:
 * @type: a certificate type
 *
 * Returns: the short name of @type: "ark", "ask", "vcek", "vlek", "crl",
 * "other".
 */
const char *sevsnp_cert_type_name(SevsnpCertType type);

/**
 * sevsnp_cert_type_guid:
 * @type: a certificate type (not SEVSNP_CERT_OTHER)
 *
 * Returns: the well-known GUID of @type.
 */
const uint8_t *sevsnp_cert_type_guid(SevsnpCertType type);

/**
 * sevsnp_cert_type_from_guid:
 * @guid: SEVSNP_GUID_SIZE bytes in wire order
 *
 * Returns: the type @guid stands for; SEVSNP_CERT_OTHER when unknown.
 */
SevsnpCertType sevsnp_cert_type_from_guid(const uint8_t *guid);

/**
 * sevsnp_guid_unparse:
 * @guid: SEVSNP_GUID_SIZE bytes in wire order
 * @out: the buffer to fill
 *
 * Format @guid as 36 characters plus NUL into @out (wire byte order).
 */
void sevsnp_guid_unparse(const uint8_t *guid, char out[37]);

/**
 * sevsnp_guid_parse:
 * @str: a textual GUID
 * @guid: receives SEVSNP_GUID_SIZE bytes
 *
 * Parse a textual GUID into wire order.
 *
 * Returns: FALSE when malformed.
 */
gboolean sevsnp_guid_parse(const char *str, uint8_t *guid);

/**
 * sevsnp_cert_table_parse:
 * @blob: the blob to parse
 * @max_size: the size cap (0 means SEVSNP_DEFAULT_MAX_BLOB)
 * @err: return location for a GError
 *
 * Parse and validate @blob as a certificate table.  @max_size caps the
 * blob's size.  Every rule of the table's structure is checked: full
 * entries up to an all-zero terminator inside the blob, no all-zero GUID
 * with data, no GUID twice, no empty entry, each entry's data after the
 * table and inside the blob, no two entries' data overlapping, no
 * non-zero byte that no entry owns.  What the entries hold is not looked
 * at.
 * not in QEMU's copy: begin
 * Except in the standalone library (SEVSNP_HAVE_X509), where each
 * certificate and CRL must also be strict DER of its shape, decoded by
 * the crypto library, and an entry of another type one strict DER object
 * (SEVSNP_ERROR_BAD_DER).
 * not in QEMU's copy: end
 * The table keeps a reference to @blob.
 *
 * Returns: the table; on failure NULL with @err set to a message naming
 * the rule and the entry.
 */
SevsnpCertTable *sevsnp_cert_table_parse(GBytes *blob, size_t max_size,
                                         GError **err);

/**
 * sevsnp_cert_table_ref:
 * @table: a table
 *
 * Take a reference; tables are immutable and thread-safe.
 *
 * Returns: @table.
 */
SevsnpCertTable *sevsnp_cert_table_ref(SevsnpCertTable *table);

/**
 * sevsnp_cert_table_unref:
 * @table: a table, or NULL
 *
 * Drop a reference taken with sevsnp_cert_table_ref() or given by the
 * function that returned @table.
 */
void sevsnp_cert_table_unref(SevsnpCertTable *table);

/**
 * sevsnp_cert_table_get_blob:
 * @table: a table
 *
 * Returns: the blob the table was parsed from (borrowed).
 */
GBytes *sevsnp_cert_table_get_blob(const SevsnpCertTable *table);

/**
 * sevsnp_cert_table_n_entries:
 * @table: a table
 *
 * Returns: the number of entries, not counting the terminator.
 */
guint sevsnp_cert_table_n_entries(const SevsnpCertTable *table);

/**
 * sevsnp_cert_table_entry:
 * @table: a table
 * @i: the index, 0 <= @i < n_entries
 *
 * Returns: entry @i (borrowed).
 */
const SevsnpCertEntry *sevsnp_cert_table_entry(const SevsnpCertTable *table,
                                               guint i);

/**
 * sevsnp_cert_table_entry_data:
 * @table: a table
 * @i: the index of the entry
 *
 * Returns: the data of entry @i as a new GBytes (a slice of the blob).
 */
GBytes *sevsnp_cert_table_entry_data(const SevsnpCertTable *table, guint i);

/**
 * sevsnp_cert_table_find:
 * @table: a table
 * @type: the type to look for
 *
 * Returns: the first entry of type @type, or NULL.
 */
const SevsnpCertEntry *sevsnp_cert_table_find(const SevsnpCertTable *table,
                                              SevsnpCertType type);

/**
 * sevsnp_cert_table_empty_blob:
 *
 * Returns: the 24-byte blob of an empty table (just the terminator).
 */
GBytes *sevsnp_cert_table_empty_blob(void);

/**
 * SevsnpCertInput:
 *
 * One (GUID, DER) input of sevsnp_cert_table_build().
 */
typedef struct SevsnpCertInput {
    uint8_t guid[SEVSNP_GUID_SIZE];
    GBytes *der;
} SevsnpCertInput;

/**
 * sevsnp_cert_table_build:
 * @inputs: the entries, in entry order
 * @n: the number of @inputs
 * @err: return location for a GError
 *
 * Build a canonical blob (the table followed by the data in entry order)
 * from @n inputs, then validate it with sevsnp_cert_table_parse() so that
 * only blobs this library would serve are ever built.
 *
 * Returns: the blob; NULL with @err set on a duplicate GUID or invalid
 * data.
 */
GBytes *sevsnp_cert_table_build(const SevsnpCertInput *inputs, guint n,
                                GError **err);

/**
 * sevsnp_file_read:
 * @path: the file to read
 * @max_size: the size cap (0: SEVSNP_DEFAULT_MAX_BLOB)
 * @err: return location for a GError
 *
 * Read the regular file @path whole, refusing anything larger than
 * @max_size bytes and anything that is not a regular file (a FIFO or a
 * device would block or never end).
 *
 * Returns: the contents; NULL with @err set, naming the file:
 * SEVSNP_ERROR_IO or SEVSNP_ERROR_TOO_LARGE.
 */
GBytes *sevsnp_file_read(const char *path, size_t max_size, GError **err);
/* not in QEMU's copy: begin */

#ifdef SEVSNP_HAVE_X509
/* ------------------------------------------------------------------ */
/* The entries' contents: the standalone library only                  */
/* ------------------------------------------------------------------ */

/*
 * What only the standalone library has (SEVSNP_HAVE_X509): blobs from
 * PEM or DER files, the entries' descriptions, the chain's checks.
 */

/**
 * SevsnpCertFile:
 *
 * One file input of sevsnp_cert_table_build_files().
 */
typedef struct SevsnpCertFile {
    SevsnpCertType type;    /* what the file holds (see below) */
    const uint8_t *guid;    /* the entry's GUID; NULL: the type's GUID */
    const char *path;       /* PEM or DER */
} SevsnpCertFile;

/**
 * sevsnp_cert_table_build_files:
 * @files: the files, in entry order
 * @n: the number of @files
 * @err: return location for a GError
 *
 * Read @n files, PEM or DER, convert each to DER (@type selects what is
 * accepted, as for sevsnp_der_from_pem_or_der()) and build a blob from
 * them with sevsnp_cert_table_build().
 *
 * Returns: the blob; NULL with @err set, its message naming the file.
 */
GBytes *sevsnp_cert_table_build_files(const SevsnpCertFile *files, guint n,
                                      GError **err);

/**
 * SevsnpCertInfo:
 *
 * Human- and QMP-oriented description of one entry.
 */
typedef struct SevsnpCertInfo {
    SevsnpCertType type;
    char guid[37];
    uint32_t offset;
    uint32_t length;
    bool is_certificate;   /* X.509 certificate (else CRL or other data) */
    bool is_crl;
    char *subject;         /* one-line RFC 2253 form; NULL if not a cert */
    char *issuer;          /* certificate or CRL issuer */
    char *serial;          /* hex */
    char *not_before;      /* ISO 8601 UTC; for a CRL: last update */
    char *not_after;       /* ISO 8601 UTC; for a CRL: next update */
    int64_t not_before_unix;
    int64_t not_after_unix;
    char *key_type;        /* e.g. "RSA-4096", "EC-P-384" */
    char *fingerprint;     /* SHA-384 of the DER, colon-separated hex */
    char *common_name;     /* subject CN, e.g. "ARK-Milan" */
} SevsnpCertInfo;

/**
 * sevsnp_cert_info_new:
 * @table: a table
 * @i: the index of the entry
 *
 * Describe entry @i of @table.
 *
 * Returns: the description, freed with sevsnp_cert_info_free().
 */
SevsnpCertInfo *sevsnp_cert_info_new(const SevsnpCertTable *table, guint i);

/**
 * sevsnp_cert_info_free:
 * @info: a description, or NULL
 *
 * Free what sevsnp_cert_info_new() returned.
 */
void sevsnp_cert_info_free(SevsnpCertInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SevsnpCertInfo, sevsnp_cert_info_free)

/**
 * SevsnpChainStatus:
 *
 * The outcome of sevsnp_cert_table_verify(): the chain is valid, invalid,
 * or incomplete.
 */
typedef enum {
    SEVSNP_CHAIN_VALID,
    SEVSNP_CHAIN_INVALID,
    SEVSNP_CHAIN_INCOMPLETE,
} SevsnpChainStatus;

/**
 * sevsnp_chain_status_name:
 * @status: a chain status
 *
 * Returns: the lower-case name of @status: "valid", "invalid",
 * "incomplete".
 */
const char *sevsnp_chain_status_name(SevsnpChainStatus status);

/**
 * sevsnp_cert_table_verify:
 * @table: a table
 * @at: the time, in seconds since the epoch; 0 means now
 * @why: (optional) receives the reason
 *
 * Verify the chain in @table: the ARK is self-signed, the ARK signs the
 * intermediate (ASK; for a VLEK the ASVK, stored in the ASK slot), the
 * intermediate signs the VCEK or VLEK, and every certificate is valid at
 * @at.  *@why (if not NULL) gets a newly allocated sentence saying what
 * is wrong and where, or what is missing.
 *
 * Returns: the status.
 */
SevsnpChainStatus sevsnp_cert_table_verify(const SevsnpCertTable *table,
                                           int64_t at, char **why);

/**
 * sevsnp_cert_table_check_signatures:
 * @table: a table
 * @why: (optional) receives the reason when a signature fails
 *
 * Check the signatures of the chain links whose two ends @table holds:
 * the ARK's own, the ARK's on the intermediate (ASK, or ASVK with a
 * VLEK), the intermediate's on the VCEK or VLEK.  Unlike
 * sevsnp_cert_table_verify(), a missing certificate and validity times
 * are not failures: this tells whether the bytes are the ones their
 * signers signed (a blob corrupted in place, a VCEK whose key is not
 * the one its ASK certified), which the certificate store requires of
 * every blob it serves.
 *
 * Returns: TRUE when every such signature verifies; else FALSE and
 * *@why (if not NULL) a newly allocated sentence naming the link.
 */
gboolean sevsnp_cert_table_check_signatures(const SevsnpCertTable *table,
                                            char **why);

/**
 * sevsnp_der_from_pem_or_der:
 * @data: certificate data, PEM or DER
 * @kind: what is accepted
 * @err: return location for a GError
 *
 * Read certificate data from @data, PEM or DER.  @kind selects what is
 * accepted: SEVSNP_CERT_CRL accepts a CRL, SEVSNP_CERT_OTHER any DER,
 * every other type an X.509 certificate.
 *
 * Returns: its DER encoding, or NULL with @err set.
 */
GBytes *sevsnp_der_from_pem_or_der(GBytes *data, SevsnpCertType kind,
                                   GError **err);
#endif
/* not in QEMU's copy: end */

/* ------------------------------------------------------------------ */
/* Certificate store: one blob file, locked per request                */
/* ------------------------------------------------------------------ */

/**
 * SevsnpCertStore:
 *
 * One blob file, read lazily under the shared locks of the locking
 * protocol; see sevsnp_cert_store_new().
 */
typedef struct SevsnpCertStore SevsnpCertStore;

/*
 * The intent byte of the locking protocol: readers lock the bytes
 * [0, SEVSNP_LOCK_INTENT_OFFSET) and take no new locks while anyone holds
 * an OFD write lock on the byte at SEVSNP_LOCK_INTENT_OFFSET, which
 * updaters take before the exclusive locks so that they never wait for a
 * gap between readers (docs/system/i386/sev-snp-certs.rst).
 */
#define SEVSNP_LOCK_INTENT_OFFSET   (1LL << 62)

/**
 * SevsnpCertLease:
 *
 * A held shared lock on the blob file plus the table read under it.
 */
typedef struct SevsnpCertLease SevsnpCertLease;

/**
 * sevsnp_cert_store_new:
 * @path: the blob file
 * @max_size: the size cap (0: SEVSNP_DEFAULT_MAX_BLOB)
 *
 * Create a store for the blob file @path (read lazily, per request).
 * @max_size caps the blob.  A store is safe to use from any number of
 * threads.
 *
 * Returns: the new store.
 */
SevsnpCertStore *sevsnp_cert_store_new(const char *path, size_t max_size);
/* not in QEMU's copy: begin */

#ifdef SEVSNP_HAVE_X509
/**
 * sevsnp_cert_store_set_check_signatures:
 * @store: a store
 * @check: whether to require them (the default: TRUE)
 *
 * The standalone library only.  By default its store reads a blob only if
 * every signature of its chain that it can check verifies
 * (sevsnp_cert_table_check_signatures()), so that what it serves is what
 * the signers signed; a failure is an error of code
 * SEVSNP_ERROR_BAD_SIGNATURE.  A tool that describes or verifies blobs,
 * bad ones included, turns it off.  Call before any other use.  QEMU's
 * copy checks no signature: the operator's tool judges the chain.
 */
void sevsnp_cert_store_set_check_signatures(SevsnpCertStore *store,
                                            gboolean check);
#endif
/* not in QEMU's copy: end */

/**
 * sevsnp_cert_store_free:
 * @store: a store, or NULL
 *
 * Release @store.
 */
void sevsnp_cert_store_free(SevsnpCertStore *store);

/**
 * sevsnp_cert_store_get_path:
 * @store: a store
 *
 * Returns: the file the store reads (borrowed).
 */
const char *sevsnp_cert_store_get_path(const SevsnpCertStore *store);

/**
 * sevsnp_cert_store_acquire:
 * @store: a store
 * @timeout_ms: how long to retry (0: one try)
 * @err: return location for a GError
 *
 * Take the shared locks on the blob file (an OFD read lock and
 * flock(LOCK_SH), on a file description of this request's own), retrying
 * for at most @timeout_ms milliseconds, then read and validate the file
 * or reuse the cached table when the file provably did not change.
 *
 * Returns: on success a lease that holds the locks until
 * sevsnp_cert_lease_release().  On failure NULL with @err set:
 * SEVSNP_ERROR_BUSY when the locks were not obtained in time, any other
 * code when the file is missing, unreadable, too large or not a valid
 * table (sevsnp_cert_table_parse()).
 */
SevsnpCertLease *sevsnp_cert_store_acquire(SevsnpCertStore *store,
                                           unsigned timeout_ms, GError **err);

/**
 * sevsnp_cert_lease_get_table:
 * @lease: a lease
 *
 * Returns: the table read under the lease's locks (borrowed).
 */
SevsnpCertTable *sevsnp_cert_lease_get_table(const SevsnpCertLease *lease);

/**
 * sevsnp_cert_lease_release:
 * @lease: a lease
 *
 * Drop the locks (by closing the lease's file description) and free.
 */
void sevsnp_cert_lease_release(SevsnpCertLease *lease);

/**
 * sevsnp_cert_store_load:
 * @store: a store
 * @timeout_ms: how long to retry the locks (0: one try)
 * @err: return location for a GError
 *
 * Read and validate the file once, without keeping any lock beyond the
 * read.  Used to check a file before it is put in service.
 *
 * Returns: a new reference to the table, or NULL with @err set.
 */
SevsnpCertTable *sevsnp_cert_store_load(SevsnpCertStore *store,
                                        unsigned timeout_ms, GError **err);

/**
 * sevsnp_cert_store_parse_count:
 * @store: a store
 *
 * Returns: how many times the store validated new bytes of the file:
 * parsed them, or found them among the last blobs the process validated
 * (compared byte for byte).
 */
uint64_t sevsnp_cert_store_parse_count(const SevsnpCertStore *store);

/**
 * sevsnp_cert_store_cache_hits:
 * @store: a store
 *
 * Returns: how many times the store reused its cache.
 */
uint64_t sevsnp_cert_store_cache_hits(const SevsnpCertStore *store);

/**
 * sevsnp_lock_exclusive:
 * @fd: an open descriptor of the blob file, opened for writing
 * @timeout_ms: how long to retry (0: one try; G_MAXUINT: for ever)
 * @err: return location for a GError
 *
 * Take the intent byte (an OFD write lock at SEVSNP_LOCK_INTENT_OFFSET,
 * so that readers stop taking new locks) and then both exclusive locks
 * (a whole-file OFD write lock and flock(LOCK_EX)).  Used by updaters.
 * The locks go away when @fd is closed.
 *
 * Returns: TRUE with the locks held; FALSE with SEVSNP_ERROR_BUSY on
 * time-out (the intent byte is released again) or SEVSNP_ERROR_IO.
 */
gboolean sevsnp_lock_exclusive(int fd, unsigned timeout_ms, GError **err);

/**
 * sevsnp_lock_shared:
 * @fd: an open descriptor of the blob file
 * @timeout_ms: how long to retry (0: one try; G_MAXUINT: for ever)
 * @err: return location for a GError
 *
 * The same as sevsnp_lock_exclusive() with the shared locks (OFD read
 * lock and flock(LOCK_SH)).
 *
 * Returns: TRUE with the locks held, or FALSE with @err set.
 */
gboolean sevsnp_lock_shared(int fd, unsigned timeout_ms, GError **err);

/**
 * sevsnp_open_locked:
 * @path: the file
 * @create: create the file, mode 0644, when it does not exist
 * @exclusive: take the exclusive locks, else the shared ones
 * @timeout_ms: how long to wait (0: one try; G_MAXUINT: for ever)
 * @err: return location for a GError
 *
 * Open the regular file @path (creating it, mode 0644, when @create) on a
 * file description of its own and take both locks, exclusive or shared,
 * waiting at most @timeout_ms.
 *
 * Returns: the descriptor (closing it drops the locks) or -1 with @err
 * naming the file: SEVSNP_ERROR_IO (missing, unreadable, not a regular
 * file) or SEVSNP_ERROR_BUSY.
 */
int sevsnp_open_locked(const char *path, bool create, bool exclusive,
                       unsigned timeout_ms, GError **err);

/**
 * sevsnp_cert_file_install:
 * @path: the blob file
 * @blob: the new blob
 * @timeout_ms: how long to wait for the locks (G_MAXUINT: for ever)
 * @waited_us: (optional) receives how long the locks took
 * @err: return location for a GError
 *
 * Put @blob in service at @path the way an updater must: check that it
 * is a valid table, open @path (creating it, mode 0644), take the
 * exclusive locks waiting at most @timeout_ms, reserve the space,
 * overwrite the file in place (same inode, so the VMMs' locks stay
 * meaningful), cut it to size, fsync, and drop the locks.  A reader
 * holding the shared locks sees the old or the new blob, never a mix;
 * nothing is written before the locks are held.  *@waited_us, when not
 * NULL, gets how long the locks took.
 *
 * Returns: TRUE on success; FALSE with @err set: SEVSNP_ERROR_BUSY on
 * time-out, SEVSNP_ERROR_IO, or the parse error.
 */
gboolean sevsnp_cert_file_install(const char *path, GBytes *blob,
                                  unsigned timeout_ms, int64_t *waited_us,
                                  GError **err);

/* ------------------------------------------------------------------ */
/* Rate limit (token bucket)                                           */
/* ------------------------------------------------------------------ */

/**
 * SevsnpRateLimit:
 *
 * A token bucket.
 */
typedef struct SevsnpRateLimit {
    uint32_t rate;       /* tokens per second; 0 = off */
    uint32_t burst;      /* bucket size; 0 means max(rate, 1) */
    double tokens;
    int64_t last_us;     /* monotonic time of the last refill */
} SevsnpRateLimit;

/**
 * sevsnp_rate_limit_init:
 * @rl: the bucket
 * @rate: tokens per second; 0 = off
 * @burst: the bucket size; 0 means max(@rate, 1)
 * @now_us: the monotonic time now
 *
 * (Re)configure @rl; the bucket starts full.
 */
void sevsnp_rate_limit_init(SevsnpRateLimit *rl, uint32_t rate,
                            uint32_t burst, int64_t now_us);

/**
 * sevsnp_rate_limit_take:
 * @rl: the bucket
 * @now_us: the monotonic time now
 *
 * Take one token at monotonic time @now_us.
 *
 * Returns: FALSE when over the limit.
 */
bool sevsnp_rate_limit_take(SevsnpRateLimit *rl, int64_t now_us);

/* ------------------------------------------------------------------ */
/* The certificate service: request state machine for both ABIs        */
/* ------------------------------------------------------------------ */

/*
 * The longest lock wait a service accepts, in milliseconds: a vCPU never
 * waits longer for the blob's locks.
 */
#define SEVSNP_TIMEOUT_MAX_MS       10000u

/*
 * The busy limit: once a VM, or one of its vCPUs, has answered nothing
 * but BUSY for this long, the next request that would be answered BUSY
 * gets an empty certificate table instead.  A Linux guest retries BUSY
 * every 2 s for 60 s from its request's start and then wipes its VMPCK;
 * its last BUSY arrives at most busy limit + lock wait after that start,
 * so the maximum (40 s, plus at most 10 s of lock wait) keeps 10 s of
 * its budget in reserve.
 */
#define SEVSNP_BUSY_LIMIT_DEFAULT_MS 20000u
#define SEVSNP_BUSY_LIMIT_MAX_MS    40000u

/**
 * sevsnp_check_timeout:
 * @timeout_ms: a lock wait in milliseconds
 * @err: return location for a GError
 *
 * Returns: TRUE when @timeout_ms is at most SEVSNP_TIMEOUT_MAX_MS, else
 * FALSE with SEVSNP_ERROR_INVALID saying the bound.
 */
gboolean sevsnp_check_timeout(unsigned timeout_ms, GError **err);

/**
 * sevsnp_check_busy_limit:
 * @limit_ms: a busy limit in milliseconds
 * @err: return location for a GError
 *
 * Returns: TRUE when @limit_ms is at most SEVSNP_BUSY_LIMIT_MAX_MS, else
 * FALSE with SEVSNP_ERROR_INVALID saying the bound.
 */
gboolean sevsnp_check_busy_limit(unsigned limit_ms, GError **err);

/**
 * SevsnpAbi:
 *
 * The KVM ABI a service answers requests on.
 */
typedef enum {
    SEVSNP_ABI_REQ_CERTS,   /* mainline KVM_EXIT_SNP_REQ_CERTS */
    SEVSNP_ABI_VMGEXIT,     /* legacy KVM_EXIT_VMGEXIT REQ_CERTS */
} SevsnpAbi;

/**
 * sevsnp_abi_name:
 * @abi: an ABI
 *
 * Returns: "req-certs" or "vmgexit".
 */
const char *sevsnp_abi_name(SevsnpAbi abi);

/**
 * SevsnpAbiChoice:
 *
 * What the user asked for (the certs-abi property).
 */
typedef enum {
    SEVSNP_ABI_CHOICE_AUTO,
    SEVSNP_ABI_CHOICE_REQ_CERTS,
    SEVSNP_ABI_CHOICE_VMGEXIT,
} SevsnpAbiChoice;

/**
 * SevsnpAbiSource:
 *
 * How the ABI in use was decided.
 */
typedef enum {
    SEVSNP_ABI_FROM_CONFIG,         /* certs-abi named it */
    SEVSNP_ABI_FROM_ATTRIBUTE,      /* auto: the kernel advertises it */
    SEVSNP_ABI_FROM_NO_ATTRIBUTE,   /* auto: no attribute, legacy assumed */
    SEVSNP_ABI_FROM_UNSUPPORTED,    /* auto: attribute says unsupported */
    SEVSNP_ABI_FROM_NO_KERNEL,      /* no KVM to ask (qtest) */
} SevsnpAbiSource;

/**
 * SevsnpKvmAttrFn:
 * @opaque: the pointer given with the function
 * @val: receives the value
 *
 * Ask the kernel for KVM_X86_SEV_SNP_REQ_CERTS of KVM_X86_GRP_SEV on
 * /dev/kvm, as KVM_HAS_DEVICE_ATTR and KVM_GET_DEVICE_ATTR do (the
 * caller has the kernel's numbers).
 *
 * Returns: 0 with the value stored in *@val, or a negative errno
 * (-ENXIO: no such attribute).
 */
typedef int (*SevsnpKvmAttrFn)(void *opaque, uint64_t *val);

/**
 * sevsnp_abi_detect: decide which certificate ABI to serve
 * @choice: what the user asked for
 * @get_attr: reads the /dev/kvm attribute (NULL: there is no KVM)
 * @opaque: passed to @get_attr
 * @abi: the ABI to serve
 * @source: how it was decided
 * @detail: (optional) a newly allocated sentence saying how, for the
 *     monitor and for the start-up warning
 * @err: set when @choice cannot be honoured by this kernel
 *
 * Mainline support is KVM_X86_SEV_SNP_REQ_CERTS of KVM_X86_GRP_SEV with
 * the value 1, exactly as the kernel documents it; a missing attribute,
 * an error or any other value is "not supported".  @choice AUTO then
 * falls back to the legacy ABI (AMD's kernels always exit; a mainline
 * kernel older than 7.0 serves no certificates at all), REQ_CERTS is
 * refused.  Without a kernel (@get_attr NULL) AUTO means mainline.
 *
 * Returns: FALSE with @err set when @choice is REQ_CERTS and the kernel
 * does not support it.
 */
gboolean sevsnp_abi_detect(SevsnpAbiChoice choice, SevsnpKvmAttrFn get_attr,
                           void *opaque, SevsnpAbi *abi,
                           SevsnpAbiSource *source, char **detail,
                           GError **err);

/**
 * sevsnp_abi_source_warns: whether a decision deserves a start-up warning
 * @source: how the ABI was decided
 *
 * Returns: TRUE for the AUTO fallbacks, where the legacy ABI is only an
 * assumption.
 */
gboolean sevsnp_abi_source_warns(SevsnpAbiSource source);

/**
 * SevsnpGuestMemOps:
 *
 * Guest memory as the service sees it.  @is_shared_ram answers whether
 * [gpa, gpa + len) is entirely guest RAM that is shared with the host
 * (not private, not MMIO, not a hole); @write copies @len bytes to @gpa
 * and returns 0 or a negative errno.  Both may be called from any vCPU
 * thread.
 */
typedef struct SevsnpGuestMemOps {
    bool (*is_shared_ram)(void *opaque, uint64_t gpa, uint64_t len);
    int (*write)(void *opaque, uint64_t gpa, const void *buf, size_t len);
} SevsnpGuestMemOps;

/**
 * SevsnpReqOutcome:
 *
 * The outcome of one request, in ABI-neutral terms, and what a Linux
 * guest makes of it (docs/system/i386/sev-snp-certs.rst):
 *
 * - OK: the blob's table written (or nothing, for a request of 0 pages
 *   when serving is off); success;
 * - TOO_SMALL: the pages needed are reported (INVALID_LEN); the guest
 *   re-issues a plain request and asks again with a bigger buffer;
 * - BUSY, RATE_LIMITED: the guest retries every 2 s, for at most 60 s;
 * - HOST_FAULT: the blob cannot be served (missing, unreadable, not a
 *   regular file, a malformed table, a lock call failing): an empty
 *   table (or nothing, for 0 pages) and success; the report comes
 *   without a chain, which therefore cannot mismatch.  A well-formed
 *   table is served whatever its entries hold;
 *   not in QEMU's copy: begin
 *   the standalone library's store also refuses what
 *   sevsnp_cert_table_parse() and its signature check refuse there;
 *   not in QEMU's copy: end
 * - BUSY_LIMIT: BUSY went on for the busy limit: an empty table, as for
 *   HOST_FAULT;
 * - ERROR: the guest's own bad buffer (not entirely shared RAM, an
 *   overflowing range): the generic error, which costs a Linux guest its
 *   VMPCK.  Nothing a host does leads to it.
 */
typedef enum {
    SEVSNP_REQ_OK,          /* table written; completion pending */
    SEVSNP_REQ_TOO_SMALL,   /* required page count reported */
    SEVSNP_REQ_BUSY,        /* lock not obtained in time */
    SEVSNP_REQ_RATE_LIMITED,/* over the per-VM rate limit (BUSY) */
    SEVSNP_REQ_ERROR,       /* the guest's own bad buffer (generic) */
    SEVSNP_REQ_HOST_FAULT,  /* blob not servable: empty table, success */
    SEVSNP_REQ_BUSY_LIMIT,  /* BUSY for too long: empty table, success */
} SevsnpReqOutcome;

#define SEVSNP_REQ_OUTCOME_LAST SEVSNP_REQ_BUSY_LIMIT

/**
 * sevsnp_req_outcome_name:
 * @outcome: an outcome
 *
 * Returns: "ok", "too-small", "busy", "rate-limited", "error",
 * "host-fault", "busy-limit".
 */
const char *sevsnp_req_outcome_name(SevsnpReqOutcome outcome);

/**
 * sevsnp_req_certs_ret:
 * @outcome: an outcome
 *
 * The ret of KVM_EXIT_SNP_REQ_CERTS for @outcome, as the kernel accepts
 * it: 0 (OK, and the empty tables of HOST_FAULT and BUSY_LIMIT), ENOSPC
 * (TOO_SMALL: npages says how many), EAGAIN (BUSY, RATE_LIMITED), EIO.
 */
unsigned sevsnp_req_certs_ret(SevsnpReqOutcome outcome);

/**
 * SevsnpStats:
 *
 * Counters; a snapshot is taken with sevsnp_service_get_stats().
 */
typedef struct SevsnpStats {
    uint64_t requests;          /* request exits seen */
    uint64_t served;            /* tables written (ret 0) */
    uint64_t too_small;         /* answered too-small */
    uint64_t busy;              /* lock not obtained in time */
    uint64_t rate_limited;      /* over the rate limit */
    uint64_t errors;            /* generic errors */
    uint64_t completions;       /* completions that released a request */
    uint64_t spurious_completions; /* completion with nothing in flight */
    uint64_t overlapping_requests; /* request while one was in flight */
    uint64_t in_flight;         /* requests holding locks right now */
    uint64_t interrupted;       /* waits ended by the interrupt check */
    uint64_t chainless;         /* empty tables for a fault or the limit */
    uint64_t host_faults;       /* of which: the blob could not be served */
    uint64_t busy_limit;        /* of which: BUSY lasted the busy limit */
} SevsnpStats;

/**
 * SevsnpService:
 *
 * The certificate service of one VM: the request state machine for both
 * ABIs over one blob file, with rate limit and counters.
 */
typedef struct SevsnpService SevsnpService;

/**
 * SevsnpReqResult:
 *
 * The result of handling one request.
 */
typedef struct SevsnpReqResult {
    SevsnpReqOutcome outcome;
    uint64_t required_npages;   /* with SEVSNP_REQ_TOO_SMALL */
    bool completion_pending;    /* ret 0: completion step to perform */
} SevsnpReqResult;

/**
 * sevsnp_service_new:
 * @path: the blob file; NULL or "" to serve empty tables
 * @timeout_ms: the lock wait; values above SEVSNP_TIMEOUT_MAX_MS are
 *   clamped to it (check them first with sevsnp_check_timeout())
 * @rate: requests per second per VM, 0 = no rate limit
 * @burst: the bucket size (0: @rate)
 *
 * Create a service.  It does not check the file; the caller validates it
 * with sevsnp_service_set_path() or sevsnp_cert_store_load() first.
 * Each vCPU gets a file description of the blob of its own at its first
 * request, kept open across requests and re-checked with one fstat()
 * per request.
 *
 * Returns: the new service.
 */
SevsnpService *sevsnp_service_new(const char *path, unsigned timeout_ms,
                                  uint32_t rate, uint32_t burst);

/**
 * sevsnp_service_preopen:
 * @svc: the service
 * @nvcpus: how many vCPUs the VM can have
 * @err: return location for a GError
 *
 * Open now what the service will need to read the blob file in service:
 * its directory, and a file description for each of @nvcpus vCPUs and
 * one for monitors.  A VMM calls it before it drops privileges
 * (QEMU's -run-with user=, chroot=): a blob only root can read is then
 * still served, in-place updates included, and the path is looked up
 * relative to the directory opened now.  A blob replaced later (by
 * rename) by one the VMM can no longer open is a host-side fault
 * (SEVSNP_REQ_HOST_FAULT).  No-op when serving is off.
 *
 * Returns: TRUE, or FALSE with @err naming the file.
 */
gboolean sevsnp_service_preopen(SevsnpService *svc, guint nvcpus,
                                GError **err);

/**
 * sevsnp_service_free:
 * @svc: the service, or NULL
 *
 * Release every lease still held and free the service.
 */
void sevsnp_service_free(SevsnpService *svc);

/**
 * sevsnp_service_set_path:
 * @svc: the service
 * @path: the new blob file; NULL or "" turns serving off (guests get an
 *   empty table)
 * @err: return location for a GError
 *
 * Replace the blob file at run time.  The new file is read and validated
 * first, with a single try of the shared locks, so that a caller on a
 * main loop never waits: a file an updater holds fails at once with
 * SEVSNP_ERROR_BUSY.  When it returns TRUE no request serves the old
 * file any more: a request waiting for the old file's locks, or that
 * read it but has not been answered yet, starts again on the new one.
 * Requests already answered keep the old file's locks until their
 * completion, so an updater of the old file still waits for them.
 *
 * Returns: TRUE when the new file is in service; FALSE with @err set and
 * the old file still in service.
 */
gboolean sevsnp_service_set_path(SevsnpService *svc, const char *path,
                                 GError **err);

/**
 * sevsnp_service_get_path:
 * @svc: the service
 *
 * Returns: a copy of the path in service, or NULL when serving is off.
 */
char *sevsnp_service_get_path(SevsnpService *svc);

/**
 * sevsnp_service_set_timeout:
 * @svc: the service
 * @timeout_ms: the new lock wait, at most SEVSNP_TIMEOUT_MAX_MS
 * @err: return location for a GError
 *
 * Change the lock wait at run time.
 *
 * Returns: TRUE; FALSE with SEVSNP_ERROR_INVALID (and nothing changed)
 * for a value above SEVSNP_TIMEOUT_MAX_MS.
 */
gboolean sevsnp_service_set_timeout(SevsnpService *svc, unsigned timeout_ms,
                                    GError **err);

/**
 * sevsnp_service_get_timeout:
 * @svc: the service
 *
 * Returns: the lock wait in milliseconds.
 */
unsigned sevsnp_service_get_timeout(SevsnpService *svc);

/**
 * sevsnp_service_set_busy_limit:
 * @svc: the service
 * @limit_ms: the new busy limit, at most SEVSNP_BUSY_LIMIT_MAX_MS; 0
 *   means that BUSY is never answered (a lock wait that times out, or
 *   a request over the rate limit, gets an empty table)
 * @err: return location for a GError
 *
 * Change the busy limit (see SEVSNP_BUSY_LIMIT_DEFAULT_MS) at run time.
 *
 * Returns: TRUE; FALSE with SEVSNP_ERROR_INVALID (and nothing changed)
 * for a value above SEVSNP_BUSY_LIMIT_MAX_MS.
 */
gboolean sevsnp_service_set_busy_limit(SevsnpService *svc, unsigned limit_ms,
                                       GError **err);

/**
 * sevsnp_service_get_busy_limit:
 * @svc: the service
 *
 * Returns: the busy limit in milliseconds.
 */
unsigned sevsnp_service_get_busy_limit(SevsnpService *svc);

/**
 * sevsnp_service_set_rate_limit:
 * @svc: the service
 * @rate: requests per second per VM, 0 = off
 * @burst: the bucket size (0: @rate)
 *
 * Change the rate limit at run time; the bucket refills.
 */
void sevsnp_service_set_rate_limit(SevsnpService *svc, uint32_t rate,
                                   uint32_t burst);

/**
 * sevsnp_service_get_rate_limit:
 * @svc: the service
 * @rate: receives the requests per second (0: off)
 * @burst: receives the bucket size (0 when the limit is off)
 *
 * Read the rate limit in force.
 */
void sevsnp_service_get_rate_limit(SevsnpService *svc, uint32_t *rate,
                                   uint32_t *burst);

/**
 * SevsnpInterruptFn:
 * @opaque: the pointer given to sevsnp_service_set_interrupt()
 * @vcpu: the vCPU whose request waits
 *
 * Asked by a request waiting for the blob's locks, between tries and at
 * least every millisecond; may be called from any vCPU thread.
 *
 * Returns: true when the wait must end now (the VMM asks the vCPU to
 * stop: pause, stop, quit); the request is then answered BUSY.
 */
typedef bool (*SevsnpInterruptFn)(void *opaque, uint32_t vcpu);

/**
 * sevsnp_service_set_interrupt:
 * @svc: the service
 * @fn: the check, or NULL for none
 * @opaque: passed to @fn
 *
 * Install the check that lets a vCPU leave a lock wait early.  An
 * interrupted request is answered BUSY (the guest retries) and counted
 * in both busy and interrupted.
 */
void sevsnp_service_set_interrupt(SevsnpService *svc, SevsnpInterruptFn fn,
                                  void *opaque);

/**
 * sevsnp_service_get_stats:
 * @svc: the service
 * @stats: receives the counters
 *
 * Take a snapshot of the counters, from any thread.
 */
void sevsnp_service_get_stats(SevsnpService *svc, SevsnpStats *stats);

/**
 * sevsnp_service_last_error:
 * @svc: the service
 *
 * Returns: a copy of the last error message, or NULL if none.
 */
char *sevsnp_service_last_error(SevsnpService *svc);

/**
 * sevsnp_service_try_peek:
 * @svc: the service
 * @busy: set to true when the file's locks were not had at once
 * @err: return location for a GError
 *
 * The table the service would serve now, for monitors: one try of the
 * shared locks, never a wait, not counted as a request.  When an updater
 * holds or announced the lock, *@busy is set and the answer is what is
 * known: the last table this service validated (it may be about to be
 * replaced), or NULL if none.
 *
 * Returns: a new reference to the table; NULL without error when serving
 * is off or (with *@busy) nothing is known yet; NULL with @err when the
 * file is missing, unreadable or invalid.
 */
SevsnpCertTable *sevsnp_service_try_peek(SevsnpService *svc, bool *busy,
                                         GError **err);

/**
 * sevsnp_service_peek_table:
 * @svc: the service
 * @err: return location for a GError
 *
 * sevsnp_service_try_peek() for callers that want no stale answer: one
 * try of the locks, never a wait.
 *
 * Returns: a new reference to the table; NULL with SEVSNP_ERROR_BUSY when
 * an updater holds the lock, NULL with another error when the file is
 * bad, NULL without error when serving is off.
 */
SevsnpCertTable *sevsnp_service_peek_table(SevsnpService *svc, GError **err);

/**
 * sevsnp_service_in_flight:
 * @svc: the service
 * @vcpu: the vCPU index
 *
 * Returns: whether vCPU @vcpu has a request in flight (locks held).
 */
bool sevsnp_service_in_flight(SevsnpService *svc, uint32_t vcpu);

/**
 * sevsnp_service_request:
 * @svc: the service
 * @vcpu: the vCPU index
 * @gpa: the guest buffer's guest physical address
 * @npages: the guest buffer's size in 4 KiB pages
 * @mem: the guest memory the table is written to
 * @opaque: passed to @mem's functions
 * @err: (optional) return location for a GError
 *
 * Handle one certificate request of vCPU @vcpu for the guest buffer
 * [@gpa, @gpa + @npages * 4096), with the answer policy of
 * SevsnpReqOutcome: only the guest's own bad buffer (a range that
 * overflows or is not entirely shared guest RAM) is SEVSNP_REQ_ERROR,
 * and nothing is written then; nothing is ever written outside the
 * buffer.  @npages 0 is a size probe: nothing is written and @gpa is not
 * looked at; the pages the blob needs are reported (SEVSNP_REQ_TOO_SMALL),
 * or success when there is no blob to give.  On SEVSNP_REQ_OK the locks
 * stay held until sevsnp_service_complete() for this vCPU.  A request
 * while one is in flight on the same vCPU releases the stale one first
 * and is counted.  @err, if not NULL, gets the reason of anything but
 * SEVSNP_REQ_OK.
 *
 * Returns: the outcome.
 */
SevsnpReqResult sevsnp_service_request(SevsnpService *svc, uint32_t vcpu,
                                       uint64_t gpa, uint64_t npages,
                                       const SevsnpGuestMemOps *mem,
                                       void *opaque, GError **err);

/**
 * sevsnp_service_complete:
 * @svc: the service
 * @vcpu: the vCPU index
 *
 * The firmware request of vCPU @vcpu has completed: release its locks.
 *
 * Returns: FALSE (and counts it) when no request was in flight.
 */
bool sevsnp_service_complete(SevsnpService *svc, uint32_t vcpu);

/* not in QEMU's copy: begin */
/**
 * sevsnp_handle_req_certs_exit: the ABI glue, mainline
 * @svc: the service
 * @vcpu: the vCPU index
 * @ex: the kernel's union member (run->snp_req_certs)
 * @mem: the guest memory the table is written to
 * @opaque: passed to @mem's functions
 *
 * Run exactly what a KVM_EXIT_SNP_REQ_CERTS exit needs: read the
 * kernel's union member, call sevsnp_service_request(), and leave in the
 * union member what the kernel expects.  Sets ret to 0 / ENOSPC (with
 * npages = required) / EAGAIN / EIO.
 *
 * Returns: true when the caller must perform the completion step: set
 * run->immediate_exit = 1, call KVM_RUN, and after it returns call
 * sevsnp_service_complete().
 */
bool sevsnp_handle_req_certs_exit(SevsnpService *svc, uint32_t vcpu,
                                  struct sevsnp_kvm_exit_snp_req_certs *ex,
                                  const SevsnpGuestMemOps *mem, void *opaque);
/* not in QEMU's copy: end */

/**
 * sevsnp_handle_vmgexit_exit: the ABI glue, legacy
 * @svc: the service
 * @vcpu: the vCPU index
 * @ex: the kernel's union member (run->vmgexit)
 * @mem: the guest memory the table is written to
 * @opaque: passed to @mem's functions
 *
 * Run exactly what a legacy KVM_EXIT_VMGEXIT exit needs: read the
 * kernel's union member, call sevsnp_service_request() or
 * sevsnp_service_complete(), and leave in the union member what the
 * kernel expects.  With status PENDING sets ret to 0 / 1 (with
 * data_npages) / 2 / 1<<31 and, when locks are held, the NOTIFY_DONE
 * flag; with status DONE completes the request.  A type other than
 * REQ_CERTS gets ret = GENERIC and is counted as an error.
 *
 * Returns: true when a DONE exit is to be expected.
 */
bool sevsnp_handle_vmgexit_exit(SevsnpService *svc, uint32_t vcpu,
                                struct sevsnp_kvm_user_vmgexit *ex,
                                const SevsnpGuestMemOps *mem, void *opaque);

/**
 * SevsnpErrorNotify:
 * @opaque: the pointer given to sevsnp_service_set_error_notify()
 * @vcpu: the vCPU whose request failed
 * @outcome: the request's outcome
 * @message: what went wrong
 *
 * Called for every failed request, for events and traces.
 */
typedef void (*SevsnpErrorNotify)(void *opaque, uint32_t vcpu,
                                  SevsnpReqOutcome outcome,
                                  const char *message);

/**
 * sevsnp_service_set_error_notify:
 * @svc: the service
 * @fn: the callback
 * @opaque: passed to @fn
 *
 * Install a callback run (outside the service's locks) for every failed
 * request, with the outcome and message, for events and traces.
 */
void sevsnp_service_set_error_notify(SevsnpService *svc,
                                     SevsnpErrorNotify fn, void *opaque);

/* ------------------------------------------------------------------ */
/* Page-state tracking: which guest RAM pages are shared or private    */
/* ------------------------------------------------------------------ */

/**
 * SevsnpPageRegion:
 *
 * The description of one region, filled by sevsnp_pages_region().
 */
typedef struct SevsnpPageRegion {
    const char *name;               /* sevsnp_pages_region(): borrowed */
    uint64_t gpa;
    uint64_t size;
    uint64_t private_bytes;
    uint64_t shared_bytes;
} SevsnpPageRegion;

/**
 * SevsnpConvertOrigin:
 *
 * Where a conversion came from.
 */
typedef enum {
    SEVSNP_CONVERT_EXPLICIT,    /* KVM_HC_MAP_GPA_RANGE (page state change) */
    SEVSNP_CONVERT_IMPLICIT,    /* KVM_EXIT_MEMORY_FAULT */
} SevsnpConvertOrigin;

/**
 * SevsnpPageStats:
 *
 * Counters and totals; a snapshot from any thread with
 * sevsnp_pages_get_stats().
 */
typedef struct SevsnpPageStats {
    uint64_t private_bytes;
    uint64_t shared_bytes;
    uint64_t to_private;            /* conversions done, each way */
    uint64_t to_shared;
    uint64_t pages_to_private;      /* pages that changed state, each way */
    uint64_t pages_to_shared;
    uint64_t explicit_requests;     /* KVM_HC_MAP_GPA_RANGE seen */
    uint64_t implicit_requests;     /* KVM_EXIT_MEMORY_FAULT seen */
    uint64_t rejected;              /* refused or failed conversions */
    uint64_t released_bytes;        /* backing given back to the host */
} SevsnpPageStats;

/* before QEMU 10.1: begin */
/* The tracker (QEMU keeps the page state itself from 10.1 on). */
/**
 * SevsnpPageTracker:
 *
 * A record of the shared/private state of every 4 KiB page of the guest
 * RAM regions it is told about: one bit per page, so that a conversion
 * or a query costs time proportional to the range's bitmap words, never
 * to the size of guest RAM.  All functions are thread-safe.  Conversions,
 * region changes and sevsnp_pages_with_shared() are serialised with each
 * other; queries (sevsnp_pages_is_shared(), sevsnp_pages_get_stats() ...)
 * never wait for a conversion's callbacks, only, briefly, for its bit
 * updates.
 */
typedef struct SevsnpPageTracker SevsnpPageTracker;

/**
 * sevsnp_pages_new:
 *
 * Returns: a new tracker without regions.
 */
SevsnpPageTracker *sevsnp_pages_new(void);

/**
 * sevsnp_pages_free:
 * @t: a tracker, or NULL
 *
 * Free @t and its regions.
 */
void sevsnp_pages_free(SevsnpPageTracker *t);

/**
 * sevsnp_pages_add_region:
 * @t: the tracker
 * @name: the region's name, copied
 * @gpa: the region's guest physical address
 * @size: the region's size in bytes
 * @private: all pages start private, else all shared
 * @err: return location for a GError
 *
 * Add the RAM region [@gpa, @gpa + @size), 4 KiB aligned and not
 * overlapping any other region, with all pages private (as KVM sets
 * guest_memfd memory at launch) or all shared.  @name is copied.  Its
 * backing (see #SevsnpRegionSpec) is @gpa.
 *
 * Returns: TRUE, or FALSE with @err set.
 */
gboolean sevsnp_pages_add_region(SevsnpPageTracker *t, const char *name,
                                 uint64_t gpa, uint64_t size, bool private,
                                 GError **err);

/**
 * SevsnpRegionSpec:
 * @name: the region's name
 * @gpa: its guest physical address, 4 KiB aligned
 * @size: its size in bytes, 4 KiB aligned, not 0
 * @backing: where its first page lives, in an address space of the
 *   caller's choosing (QEMU: the RAM address of its RAM block's bytes)
 *
 * One RAM region of sevsnp_pages_set_regions().
 */
typedef struct SevsnpRegionSpec {
    const char *name;
    uint64_t gpa;
    uint64_t size;
    uint64_t backing;
} SevsnpRegionSpec;

/**
 * sevsnp_pages_set_regions:
 * @t: the tracker
 * @specs: the regions, in any order, not overlapping
 * @n: how many
 * @err: return location for a GError
 *
 * Make @specs the tracker's regions, as the guest's memory map changes
 * (a RAM alias mapped or unmapped, regions merged or split).  A page
 * that was RAM of a region before and still is, with the same backing,
 * keeps its state; every other page starts private, as KVM's memory
 * attributes of a new guest_memfd memory slot.  Waits for a conversion
 * in progress.
 *
 * Returns: TRUE, or FALSE with @err set and nothing changed.
 */
gboolean sevsnp_pages_set_regions(SevsnpPageTracker *t,
                                  const SevsnpRegionSpec *specs, guint n,
                                  GError **err);

/**
 * sevsnp_pages_n_regions:
 * @t: the tracker
 *
 * Returns: the number of regions.
 */
guint sevsnp_pages_n_regions(SevsnpPageTracker *t);

/**
 * sevsnp_pages_region:
 * @t: the tracker
 * @i: the region's index, below sevsnp_pages_n_regions()
 * @r: receives region @i's description
 *
 * Describe region @i; the name is valid until the regions change
 * (sevsnp_pages_set_regions()).
 */
void sevsnp_pages_region(SevsnpPageTracker *t, guint i, SevsnpPageRegion *r);

/**
 * sevsnp_pages_get_regions:
 * @t: the tracker
 *
 * Describe every region at once, consistently.
 *
 * Returns: (transfer full): a #GArray of #SevsnpPageRegion, each with a
 * name of its own, freed with the array.
 */
GArray *sevsnp_pages_get_regions(SevsnpPageTracker *t);

/**
 * sevsnp_pages_is_shared:
 * @t: the tracker
 * @gpa: the range's guest physical address
 * @len: the range's length in bytes
 *
 * Returns: whether [@gpa, @gpa + @len) is entirely RAM of the regions,
 * and all shared.
 */
bool sevsnp_pages_is_shared(SevsnpPageTracker *t, uint64_t gpa, uint64_t len);

/**
 * sevsnp_pages_is_private:
 * @t: the tracker
 * @gpa: the range's guest physical address
 * @len: the range's length in bytes
 *
 * Returns: whether [@gpa, @gpa + @len) is entirely RAM of the regions,
 * and all private.
 */
bool sevsnp_pages_is_private(SevsnpPageTracker *t, uint64_t gpa,
                             uint64_t len);

/**
 * sevsnp_pages_with_shared:
 * @t: the tracker
 * @gpa: the range's guest physical address
 * @len: the range's length in bytes
 * @fn: the function to run
 * @opaque: passed to @fn
 *
 * Run @fn(@opaque) with the pages held in their state, only if
 * [@gpa, @gpa + @len) is entirely shared RAM: no conversion can change it
 * while @fn runs (a certificate write cannot land in a page that turns
 * private under it).
 *
 * Returns: @fn's value, or -EFAULT without calling it.
 */
int sevsnp_pages_with_shared(SevsnpPageTracker *t, uint64_t gpa,
                             uint64_t len, int (*fn)(void *opaque),
                             void *opaque);

/**
 * SevsnpConvertOps:
 * @set_attributes: (optional) set the memory attributes of
 *   [@gpa, @gpa + @len), part of one region, to private or shared;
 *   returns 0 or a negative errno.  A failure undoes the conversion: the
 *   same callback puts the old attributes back on the pages that were
 *   changing state (the failing piece's included, in case it was
 *   partly applied), and nothing is converted.
 * @release: (optional) release the backing that [@gpa, @gpa + @len),
 *   part of one region, no longer uses now that the conversion is done
 *   (@changed_pages of its pages changed state); returns the bytes
 *   released.  A failure does not undo the conversion.
 *
 * What sevsnp_pages_convert() has done to each RAM piece of a range: the
 * memory attributes of every piece first (all or nothing), then the new
 * page state, then the release of every piece.
 */
typedef struct SevsnpConvertOps {
    int (*set_attributes)(void *opaque, uint64_t gpa, uint64_t len,
                          bool to_private);
    uint64_t (*release)(void *opaque, uint64_t gpa, uint64_t len,
                        bool to_private, uint64_t changed_pages);
} SevsnpConvertOps;

/**
 * sevsnp_pages_convert:
 * @t: the tracker
 * @gpa: the range's guest physical address
 * @npages: the range's size in 4 KiB pages
 * @to_private: which way the conversion goes
 * @origin: where the conversion came from
 * @ops: (optional) what to do to each RAM piece
 * @opaque: passed to @ops
 * @err: return location for a GError
 *
 * Convert [@gpa, @gpa + @npages * 4 KiB) to private or shared, all or
 * nothing.  Validated first: @npages 0, an unaligned @gpa, a range that
 * wraps around, and, to private, any byte that is not RAM of the regions
 * are refused (SEVSNP_ERROR_INVALID).  To shared, the parts that are not
 * RAM are skipped, as upstream QEMU does for MMIO.  Then the range is
 * cut into pieces, one per region it crosses, in address order, and
 * @ops applied (#SevsnpConvertOps); a failing @ops->set_attributes is
 * undone on every piece and refused (SEVSNP_ERROR_IO), and the pages
 * keep their state.  Every refusal is counted and kept as the last
 * error.
 *
 * Returns: TRUE, or FALSE with @err set.
 */
gboolean sevsnp_pages_convert(SevsnpPageTracker *t, uint64_t gpa,
                              uint64_t npages, bool to_private,
                              SevsnpConvertOrigin origin,
                              const SevsnpConvertOps *ops, void *opaque,
                              GError **err);

/**
 * sevsnp_pages_reject:
 * @t: the tracker
 * @origin: where the request came from
 * @msg: the reason
 *
 * Count a request of @origin refused before it reached the tracker (for
 * instance a memory fault whose size is not whole pages), keeping @msg as
 * the last error.
 */
void sevsnp_pages_reject(SevsnpPageTracker *t, SevsnpConvertOrigin origin,
                         const char *msg);

/**
 * sevsnp_pages_get_stats:
 * @t: the tracker
 * @stats: receives the counters and totals
 *
 * Take a snapshot of the counters and totals, from any thread.
 */
void sevsnp_pages_get_stats(SevsnpPageTracker *t, SevsnpPageStats *stats);

/**
 * sevsnp_pages_last_error:
 * @t: the tracker
 *
 * Returns: a copy of the last refusal's message (its first 511 bytes),
 * or NULL.
 */
char *sevsnp_pages_last_error(SevsnpPageTracker *t);
/* before QEMU 10.1: end */

G_END_DECLS
/* not in QEMU's copy: begin */

#ifdef SEVSNP_HAVE_X509
#include "sevsnp-report.h"
#endif
/* not in QEMU's copy: end */

#endif /* LIBSEVSNP_H */
