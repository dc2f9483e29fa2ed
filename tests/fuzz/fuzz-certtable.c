/*
 * libFuzzer target: the certificate-table parser, on both crypto backends.
 *
 * Invariants, not only "no crash": a rejection has a message and one of
 * the documented codes; an accepted table has every entry's data after
 * the table and inside the blob, no two entries overlapping, no repeated
 * GUID; rebuilding it from its entries gives a blob that parses to the
 * same entries and data; describing and verifying every entry works.
 * And the OpenSSL backend (snp-certs) and the GnuTLS one (a cross-check)
 * agree on everything (tests/unit/backendcmp.h): the parse outcome and
 * its error, every field of every entry, the chain status and its reason.
 *
 * Speed: the backends' functions are pure (sevsnp-crypto.h), so each is
 * called through a memo keyed by the whole of its input bytes: a
 * certificate the fuzzer did not change is decoded, and a signature
 * verified, once per run instead of a dozen times per execution, and a
 * changed one still goes to the library.  The memo lives in memory taken
 * at start-up, so an execution allocates no more than it frees (which
 * would make libFuzzer run its leak check on it).  ASan's quarantine is
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

#include "libsevsnp.h"
#include "backendcmp.h"
#include "fuzz.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)

/* A fixed time, so that a finding reproduces. */
#define VERIFY_AT 1811808000        /* 2027-06-01: every seed valid */

/* ------------------------------------------------------------------ */
/* Memo of the backends' pure functions                                */
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

/* A boolean function of @n byte strings, through @m. */
static bool memo_bool(Memo *m, const uint8_t *const *parts,
                      const size_t *lens, int n,
                      bool (*fn)(const uint8_t *const *, const size_t *,
                                 const SevsnpCrypto *),
                      const SevsnpCrypto *real)
{
    size_t len = make_key(parts, lens, n), slot;
    uint64_t h;
    int s;
    bool ok;

    if (!len) {
        return fn(parts, lens, real);
    }
    h = hash_bytes(scratch, len);
    s = memo_find(m, len, h, &slot);
    if (s >= 0) {
        return m->oks[s];
    }
    ok = fn(parts, lens, real);
    memo_store(m, slot, len, h, ok, NULL);
    return ok;
}

static bool call_cert_ok(const uint8_t *const *p, const size_t *l,
                         const SevsnpCrypto *c)
{
    return c->cert_ok(p[0], l[0]);
}

static bool call_crl_ok(const uint8_t *const *p, const size_t *l,
                        const SevsnpCrypto *c)
{
    return c->crl_ok(p[0], l[0]);
}

static bool call_signs(const uint8_t *const *p, const size_t *l,
                       const SevsnpCrypto *c)
{
    return c->signs(p[0], l[0], p[1], l[1]);
}

static char *memo_path(Memo *m, const uint8_t *const *parts,
                       const size_t *lens, const SevsnpCrypto *real)
{
    size_t len = make_key(parts, lens, 3), slot;
    uint64_t h;
    int s;
    char *why;

    if (!len) {
        return real->path_error(parts[0], lens[0], parts[1], lens[1],
                                parts[2], lens[2]);
    }
    h = hash_bytes(scratch, len);
    s = memo_find(m, len, h, &slot);
    if (s >= 0) {
        return m->oks[s] ? NULL : g_strdup(m->msgs + s * MEMO_MSG_MAX);
    }
    why = real->path_error(parts[0], lens[0], parts[1], lens[1], parts[2],
                           lens[2]);
    memo_store(m, slot, len, h, why == NULL, why ? why : "");
    return why;
}

/* One memoizing backend per real one. */
#define MEMO_BACKEND(lib, real)                                             \
    static Memo lib##_m_cert, lib##_m_crl, lib##_m_signs, lib##_m_path;     \
    static bool lib##_cert_ok(const uint8_t *der, size_t len)               \
    {                                                                       \
        const uint8_t *p[] = { der };                                       \
        size_t l[] = { len };                                               \
        return memo_bool(&lib##_m_cert, p, l, 1, call_cert_ok, real);       \
    }                                                                       \
    static bool lib##_crl_ok(const uint8_t *der, size_t len)                \
    {                                                                       \
        const uint8_t *p[] = { der };                                       \
        size_t l[] = { len };                                               \
        return memo_bool(&lib##_m_crl, p, l, 1, call_crl_ok, real);         \
    }                                                                       \
    static bool lib##_signs(const uint8_t *a, size_t al, const uint8_t *b,  \
                            size_t bl)                                      \
    {                                                                       \
        const uint8_t *p[] = { a, b };                                      \
        size_t l[] = { al, bl };                                            \
        return memo_bool(&lib##_m_signs, p, l, 2, call_signs, real);        \
    }                                                                       \
    static char *lib##_path_error(const uint8_t *a, size_t al,              \
                                  const uint8_t *b, size_t bl,              \
                                  const uint8_t *c, size_t cl)              \
    {                                                                       \
        const uint8_t *p[] = { a, b, c };                                   \
        size_t l[] = { al, bl, cl };                                        \
        return memo_path(&lib##_m_path, p, l, real);                        \
    }                                                                       \
    static const SevsnpCrypto lib##_memo = {                                \
        .name = #lib,                                                       \
        .cert_ok = lib##_cert_ok,                                           \
        .crl_ok = lib##_crl_ok,                                             \
        .signs = lib##_signs,                                               \
        .path_error = lib##_path_error,                                     \
    };

MEMO_BACKEND(openssl, &sevsnp_crypto_openssl)
MEMO_BACKEND(gnutls, &sevsnp_crypto_gnutls)

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
    const Memo *m[] = { &openssl_m_cert, &openssl_m_crl, &openssl_m_signs,
                        &openssl_m_path, &gnutls_m_cert, &gnutls_m_crl,
                        &gnutls_m_signs, &gnutls_m_path };
    const char *names[] = { "openssl cert", "openssl crl", "openssl signs",
                            "openssl path", "gnutls cert", "gnutls crl",
                            "gnutls signs", "gnutls path" };

    for (size_t i = 0; i < G_N_ELEMENTS(m); i++) {
        fprintf(stderr, "memo %s: %" PRIu64 " hits, %" PRIu64 " misses\n",
                names[i], m[i]->hits, m[i]->misses);
    }
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
    memo_init(&openssl_m_cert, 4096, 1, false);
    memo_init(&gnutls_m_cert, 4096, 1, false);
    memo_init(&openssl_m_crl, 256, 1, false);
    memo_init(&gnutls_m_crl, 256, 1, false);
    memo_init(&openssl_m_signs, 1024, 2, false);
    memo_init(&gnutls_m_signs, 1024, 2, false);
    memo_init(&openssl_m_path, 64, 3, true);
    memo_init(&gnutls_m_path, 64, 3, true);
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

static void check_table(const BackendResult *r, size_t size)
{
    SevsnpCertTable *t = r->table;
    guint n = sevsnp_cert_table_n_entries(t);
    g_autofree SevsnpCertInput *in = g_new0(SevsnpCertInput, MAX(n, 1));
    g_autoptr(GBytes) rebuilt = NULL;
    SevsnpCertTable *t2;

    for (guint i = 0; i < n; i++) {
        const SevsnpCertEntry *e = sevsnp_cert_table_entry(t, i);
        const SevsnpCertInfo *info = g_ptr_array_index(r->infos, i);

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
                  info->serial && info->key_type);
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
    CHECK(r->status <= SEVSNP_CHAIN_INCOMPLETE);
    CHECK(r->status == SEVSNP_CHAIN_VALID || r->why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) b = g_bytes_new_static(data, size);
    g_autoptr(BackendResult) ro = backend_result_new(&openssl_memo, b,
                                                     64 * 1024, VERIFY_AT);
    g_autoptr(BackendResult) rg = backend_result_new(&gnutls_memo, b,
                                                     64 * 1024, VERIFY_AT);
    g_autofree char *diff = backend_result_diff(ro, rg);

    if (diff) {
        fprintf(stderr, "the crypto backends differ: %s\n", diff);
        abort();
    }
    if (!ro->table) {
        CHECK(ro->message && ro->message[0]);
        /* A parse's codes: every one but the signature check's. */
        CHECK(ro->code <= SEVSNP_ERROR_BAD_DER);
        return 0;
    }
    sevsnp_crypto_set(&openssl_memo);
    check_table(ro, size);
    sevsnp_crypto_set(NULL);
    return 0;
}
