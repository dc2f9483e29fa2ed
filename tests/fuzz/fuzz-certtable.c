/*
 * libFuzzer target: the certificate-table parser of the standalone
 * library, and what it reads from the entries with OpenSSL.
 *
 * Invariants, not only "no crash": a rejection has a message and one of
 * the documented codes; an accepted table has every entry's data after
 * the table and inside the blob, no two entries overlapping, no repeated
 * GUID; rebuilding it from its entries gives a blob that parses to the
 * same entries and data; describing every entry works, a certificate
 * entry described with every field; verifying the chain gives a status
 * and, unless valid, a reason; the signature check agrees with it (a
 * chain whose signatures fail is not valid).
 *
 * Speed: OpenSSL's signature checks are pure functions of the bytes, so
 * the library's calls of X509_verify() and X509_verify_cert() are
 * wrapped at link time (-Wl,--wrap) and go through a memo keyed by the
 * DER of every certificate they are given: a chain the fuzzer did not
 * change is verified once per run instead of every execution, and a
 * changed one still goes to OpenSSL.  The memo lives in memory taken at
 * start-up, so an execution allocates no more than it frees (which would
 * make libFuzzer run its leak check on it).  ASan's quarantine is
 * smaller (see __asan_default_options()).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "libsevsnp.h"
#include "fuzz.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)

/* A fixed time, so that a finding reproduces. */
#define VERIFY_AT 1811808000        /* 2027-06-01: every seed valid */

/* ------------------------------------------------------------------ */
/* A memo of pure functions of byte strings                           */
/* ------------------------------------------------------------------ */

#define MEMO_MSG_MAX 512

typedef struct Memo {
    size_t slots;
    size_t key_max;
    uint8_t *keys;              /* slots * key_max */
    size_t *lens;               /* 0: empty */
    uint64_t *hashes;
    bool *oks;
    char *msgs;                 /* slots * MEMO_MSG_MAX, for path_error */
    uint64_t hits, misses;
} Memo;

/* The key being looked up: its parts, length-prefixed, one after another. */
static uint8_t *scratch;
static size_t scratch_max;

static size_t make_key(const uint8_t *const *parts, const size_t *lens,
                       int n)
{
    size_t k = 0;

    for (int i = 0; i < n; i++) {
        if (k + sizeof(size_t) + lens[i] > scratch_max) {
            return 0;
        }
        memcpy(scratch + k, &lens[i], sizeof(size_t));
        k += sizeof(size_t);
        memcpy(scratch + k, parts[i], lens[i]);
        k += lens[i];
    }
    return k;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ n;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;

        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

/* The slot holding the scratch key of length @len, or -1 (*slot: where). */
static int memo_find(Memo *m, size_t len, uint64_t h, size_t *slot)
{
    *slot = h % m->slots;
    if (m->lens[*slot] == len && m->hashes[*slot] == h &&
        memcmp(m->keys + *slot * m->key_max, scratch, len) == 0) {
        m->hits++;
        return (int)*slot;
    }
    m->misses++;
    return -1;
}

static void memo_store(Memo *m, size_t slot, size_t len, uint64_t h,
                       bool ok, const char *msg)
{
    if (len > m->key_max || (msg && (!m->msgs ||
                                     strlen(msg) >= MEMO_MSG_MAX))) {
        return;
    }
    memcpy(m->keys + slot * m->key_max, scratch, len);
    m->lens[slot] = len;
    m->hashes[slot] = h;
    m->oks[slot] = ok;
    if (msg) {
        strcpy(m->msgs + slot * MEMO_MSG_MAX, msg);
    }
}

/* ------------------------------------------------------------------ */
/* OpenSSL's verifiers, through the memo                               */
/* ------------------------------------------------------------------ */

int __real_X509_verify(X509 *x, EVP_PKEY *key);
int __wrap_X509_verify(X509 *x, EVP_PKEY *key);
int __real_X509_verify_cert(X509_STORE_CTX *ctx);
int __wrap_X509_verify_cert(X509_STORE_CTX *ctx);

static Memo m_verify, m_path;

/* The DER of @x appended to the key in @parts (up to 3); false if not. */
static bool add_part(const uint8_t **parts, size_t *lens, int *n,
                     unsigned char **bufs, int der_len, unsigned char *der)
{
    if (der_len <= 0 || *n >= 3) {
        OPENSSL_free(der);
        return false;
    }
    bufs[*n] = der;
    parts[*n] = der;
    lens[(*n)++] = der_len;
    return true;
}

static void free_parts(unsigned char **bufs, int n)
{
    for (int i = 0; i < n; i++) {
        OPENSSL_free(bufs[i]);
    }
}

int __wrap_X509_verify(X509 *x, EVP_PKEY *key)
{
    const uint8_t *parts[3];
    size_t lens[3], len, slot;
    unsigned char *bufs[3], *der = NULL;
    int n = 0, s, rc;
    uint64_t h;

    if (!add_part(parts, lens, &n, bufs, i2d_X509(x, &der), der) ||
        (der = NULL, !add_part(parts, lens, &n, bufs,
                               i2d_PUBKEY(key, &der), der)) ||
        !(len = make_key(parts, lens, n))) {
        free_parts(bufs, n);
        return __real_X509_verify(x, key);
    }
    free_parts(bufs, n);
    h = hash_bytes(scratch, len);
    s = memo_find(&m_verify, len, h, &slot);
    if (s >= 0) {
        return m_verify.oks[s] ? 1 : 0;
    }
    rc = __real_X509_verify(x, key);
    memo_store(&m_verify, slot, len, h, rc == 1, NULL);
    return rc == 1 ? 1 : 0;
}

int __wrap_X509_verify_cert(X509_STORE_CTX *ctx)
{
    STACK_OF(X509) *untrusted = X509_STORE_CTX_get0_untrusted(ctx);
    STACK_OF(X509_OBJECT) *objs =
        X509_STORE_get0_objects(X509_STORE_CTX_get0_store(ctx));
    X509 *chain[3] = {
        objs && sk_X509_OBJECT_num(objs) == 1 ?
            X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, 0)) : NULL,
        untrusted && sk_X509_num(untrusted) == 1 ?
            sk_X509_value(untrusted, 0) : NULL,
        X509_STORE_CTX_get0_cert(ctx),
    };
    const uint8_t *parts[3];
    size_t lens[3], len = 0, slot;
    unsigned char *bufs[3];
    int n = 0, s, rc, e;
    uint64_t h;
    char msg[16];

    for (int i = 0; i < 3; i++) {
        unsigned char *der = NULL;

        if (!chain[i] ||
            !add_part(parts, lens, &n, bufs, i2d_X509(chain[i], &der), der)) {
            free_parts(bufs, n);
            return __real_X509_verify_cert(ctx);
        }
    }
    len = make_key(parts, lens, n);
    free_parts(bufs, n);
    if (!len) {
        return __real_X509_verify_cert(ctx);
    }
    h = hash_bytes(scratch, len);
    s = memo_find(&m_path, len, h, &slot);
    if (s >= 0) {
        e = atoi(m_path.msgs + s * MEMO_MSG_MAX);
        X509_STORE_CTX_set_error(ctx, e);
        return m_path.oks[s] ? 1 : 0;
    }
    rc = __real_X509_verify_cert(ctx);
    e = X509_STORE_CTX_get_error(ctx);
    snprintf(msg, sizeof(msg), "%d", e);
    memo_store(&m_path, slot, len, h, rc == 1, msg);
    return rc == 1 ? 1 : 0;
}

/* @slots entries of keys up to @certs certificates of 4 KiB. */
static void memo_init(Memo *m, size_t slots, int certs, bool msgs)
{
    m->slots = slots;
    m->key_max = certs * (4096 + sizeof(size_t));
    m->keys = calloc(slots, m->key_max);
    m->lens = calloc(slots, sizeof(*m->lens));
    m->hashes = calloc(slots, sizeof(*m->hashes));
    m->oks = calloc(slots, sizeof(*m->oks));
    m->msgs = msgs ? calloc(slots, MEMO_MSG_MAX) : NULL;
    CHECK(m->keys && m->lens && m->hashes && m->oks && (!msgs || m->msgs));
}

static void memo_report(void)
{
    fprintf(stderr, "memo verify: %" PRIu64 " hits, %" PRIu64 " misses\n",
            m_verify.hits, m_verify.misses);
    fprintf(stderr, "memo path: %" PRIu64 " hits, %" PRIu64 " misses\n",
            m_path.hits, m_path.misses);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_default_artifact_prefix(argc, argv, "certtable");
    if (getenv("FUZZ_MEMO_STATS")) {
        atexit(memo_report);
    }
    /*
     * Keys of certificates up to 4 KiB (AMD's are 1.3 to 1.7 KiB); a
     * longer one goes to the library every time.
     */
    scratch_max = 3 * (4096 + sizeof(size_t));
    scratch = malloc(scratch_max);
    CHECK(scratch);
    memo_init(&m_verify, 1024, 2, false);
    memo_init(&m_path, 64, 3, true);
    return 0;
}

/*
 * ASan's quarantine (freed memory kept unusable, so that a use after
 * free is caught): 32 MiB instead of 256.  An execution allocates at
 * most about 1.1 MiB (12 KiB on average, measured over the seed corpus)
 * and frees all of it before it returns, the library keeping nothing
 * across calls: any use after free within an execution, the only kind
 * there can be, is caught as before.  Cycling 256 MiB through the cache
 * and the page tables costs a quarter of the fuzzer's CPU time.
 * ASAN_OPTIONS still overrides it.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=32";
}

/* ------------------------------------------------------------------ */
/* The invariants                                                      */
/* ------------------------------------------------------------------ */

static void check_table(SevsnpCertTable *t, size_t size)
{
    guint n = sevsnp_cert_table_n_entries(t);
    g_autofree SevsnpCertInput *in = g_new0(SevsnpCertInput, MAX(n, 1));
    g_autoptr(GBytes) rebuilt = NULL;
    g_autofree char *why = NULL;
    g_autofree char *sig_why = NULL;
    SevsnpCertTable *t2;
    SevsnpChainStatus status;
    gboolean sigs_ok;

    for (guint i = 0; i < n; i++) {
        const SevsnpCertEntry *e = sevsnp_cert_table_entry(t, i);
        g_autoptr(SevsnpCertInfo) info = sevsnp_cert_info_new(t, i);

        CHECK(e->length > 0);
        CHECK(e->offset >= (n + 1) * SEVSNP_CERT_ENTRY_SIZE);
        CHECK((uint64_t)e->offset + e->length <= size);
        CHECK(e->type == sevsnp_cert_type_from_guid(e->guid));
        for (guint j = 0; j < i; j++) {
            const SevsnpCertEntry *o = sevsnp_cert_table_entry(t, j);

            CHECK(memcmp(o->guid, e->guid, SEVSNP_GUID_SIZE));
            CHECK(o->offset + o->length <= e->offset ||
                  e->offset + e->length <= o->offset);
        }
        CHECK(info && info->fingerprint);
        /* A certificate entry is described as one, with its fields. */
        if (e->type < SEVSNP_CERT_CRL) {
            CHECK(info->is_certificate && info->subject && info->issuer &&
                  info->serial && info->key_type && info->not_before &&
                  info->not_after);
        }
        if (e->type == SEVSNP_CERT_CRL) {
            CHECK(info->is_crl && info->issuer);
        }
        memcpy(in[i].guid, e->guid, SEVSNP_GUID_SIZE);
        in[i].der = sevsnp_cert_table_entry_data(t, i);
    }
    rebuilt = sevsnp_cert_table_build(in, n, NULL);
    CHECK(rebuilt);
    t2 = sevsnp_cert_table_parse(rebuilt, 0, NULL);
    CHECK(t2 && sevsnp_cert_table_n_entries(t2) == n);
    for (guint i = 0; i < n; i++) {
        g_autoptr(GBytes) d2 = sevsnp_cert_table_entry_data(t2, i);

        CHECK(g_bytes_equal(d2, in[i].der));
        g_bytes_unref(in[i].der);
    }
    sevsnp_cert_table_unref(t2);
    status = sevsnp_cert_table_verify(t, VERIFY_AT, &why);
    CHECK(status <= SEVSNP_CHAIN_INCOMPLETE);
    CHECK(status == SEVSNP_CHAIN_VALID || (why && why[0]));
    sigs_ok = sevsnp_cert_table_check_signatures(t, &sig_why);
    CHECK(sigs_ok ? !sig_why : sig_why && sig_why[0]);
    /* A chain whose signatures fail is not valid. */
    CHECK(sigs_ok || status != SEVSNP_CHAIN_VALID);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) b = g_bytes_new_static(data, size);
    g_autoptr(GError) err = NULL;
    SevsnpCertTable *t = sevsnp_cert_table_parse(b, 64 * 1024, &err);

    if (!t) {
        CHECK(err && err->message[0]);
        /* A parse's codes: every one but the signature check's. */
        CHECK(err->code <= SEVSNP_ERROR_BAD_DER);
        return 0;
    }
    check_table(t, size);
    sevsnp_cert_table_unref(t);
    return 0;
}
