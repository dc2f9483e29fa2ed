/*
 * The certificate fuzzers' memo of OpenSSL's certificate decoding and
 * signature checks
 *
 * OpenSSL 3's d2i_X509() costs 100 to 200 us (most of it decoding the
 * public key through its provider decoders), an RSA-4096 or P-384
 * signature check as much, and the library decodes a certificate again
 * for every question it answers (the table's check, each description,
 * the chain): without a memo an execution that parses a valid chain
 * takes milliseconds.  These are pure functions of the bytes, so the
 * library's calls of d2i_X509(), X509_verify() and X509_verify_cert()
 * are wrapped at link time (-Wl,--wrap, see meson.build):
 *
 *  - d2i_X509() of bytes decoded before returns the same X509 again (a
 *    new reference); other bytes still go to OpenSSL.  The library only
 *    reads what it decodes (re-encoding the TBS, which it does to check
 *    DER, gives the bytes it was decoded from);
 *  - a certificate the memo returned is known by its slot and the
 *    slot's generation, kept in the X509's and its key's ex_data, so a
 *    signature check of a certificate by a key, and a path check of
 *    three certificates, are looked up by those numbers; any other
 *    object goes to OpenSSL.
 *
 * Everything is allocated at start-up except the X509 objects the memo
 * keeps: an execution that decodes new bytes ends with more allocated
 * than freed, and libFuzzer runs it again to see whether it leaks; the
 * second run finds every certificate in the memo and allocates no more
 * than it frees, so no leak check runs.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "fuzz.h"
#include "x509memo.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)

#define D2I_SLOTS 1024
#define D2I_KEY_MAX 8192            /* AMD's certificates: 1.3 to 1.7 KiB */
#define VERIFY_SLOTS 4096
#define PATH_SLOTS 1024


/* One decoded certificate: its bytes, what d2i_X509() made of them. */
typedef struct D2iSlot {
    uint8_t *key;               /* D2I_KEY_MAX bytes */
    long len;                   /* 0: empty */
    uint64_t hash;
    long consumed;
    X509 *x;                    /* NULL: not a certificate */
    uint32_t gen;
} D2iSlot;

/* A memoized result, keyed by slots and generations. */
typedef struct Result {
    uint32_t ids[6];            /* (slot + 1, generation) per object */
    bool used;
    int rc;
    int error;
} Result;

static D2iSlot *d2i_slots;
static uint8_t *d2i_keys;
static Result *verify_memo;
static Result *path_memo;
static int x509_idx = -1, pkey_idx = -1;
static uint64_t hits[3], misses[3];

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

static uint64_t hash_ids(const uint32_t *ids, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;

    for (int i = 0; i < n; i++) {
        h = (h ^ ids[i]) * 0x100000001b3ULL;
        h ^= h >> 31;
    }
    return h;
}

static void memo_report(void)
{
    fprintf(stderr, "memo d2i_X509: %" PRIu64 " hits, %" PRIu64 " misses\n"
            "memo X509_verify: %" PRIu64 " hits, %" PRIu64 " misses\n"
            "memo X509_verify_cert: %" PRIu64 " hits, %" PRIu64 " misses\n",
            hits[0], misses[0], hits[1], misses[1], hits[2], misses[2]);
}

void x509_memo_init(void)
{
    d2i_slots = calloc(D2I_SLOTS, sizeof(*d2i_slots));
    d2i_keys = calloc(D2I_SLOTS, D2I_KEY_MAX);
    verify_memo = calloc(VERIFY_SLOTS, sizeof(*verify_memo));
    path_memo = calloc(PATH_SLOTS, sizeof(*path_memo));
    CHECK(d2i_slots && d2i_keys && verify_memo && path_memo);
    for (int i = 0; i < D2I_SLOTS; i++) {
        d2i_slots[i].key = d2i_keys + (size_t)i * D2I_KEY_MAX;
    }
    x509_idx = X509_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    pkey_idx = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    CHECK(x509_idx >= 0 && pkey_idx >= 0);
    if (getenv("FUZZ_MEMO_STATS")) {
        atexit(memo_report);
    }
}

/* The id (slot + 1, generation) of an X509 the memo returned, or false. */
static bool x509_id(X509 *x, uint32_t *id)
{
    uintptr_t s = x ? (uintptr_t)X509_get_ex_data(x, x509_idx) : 0;

    if (!s || d2i_slots[s - 1].x != x) {
        return false;
    }
    id[0] = s;
    id[1] = d2i_slots[s - 1].gen;
    return true;
}

/* The same for the key of a certificate the memo returned. */
static bool pkey_id(EVP_PKEY *k, uint32_t *id)
{
    uintptr_t s = k ? (uintptr_t)EVP_PKEY_get_ex_data(k, pkey_idx) : 0;
    EVP_PKEY *owner;

    if (!s || !d2i_slots[s - 1].x) {
        return false;
    }
    ERR_set_mark();
    owner = X509_get0_pubkey(d2i_slots[s - 1].x);
    ERR_pop_to_mark();
    if (owner != k) {
        return false;
    }
    id[0] = s;
    id[1] = d2i_slots[s - 1].gen;
    return true;
}

X509 *__wrap_d2i_X509(X509 **a, const unsigned char **pp, long len)
{
    const unsigned char *p = *pp;
    D2iSlot *s;
    uint64_t h;
    X509 *x;
    EVP_PKEY *k;

    if (a || !d2i_slots || len <= 0 || len > D2I_KEY_MAX) {
        return __real_d2i_X509(a, pp, len);
    }
    h = hash_bytes(p, len);
    s = &d2i_slots[h % D2I_SLOTS];
    if (s->len == len && s->hash == h && memcmp(s->key, p, len) == 0) {
        hits[0]++;
        if (!s->x) {
            return NULL;
        }
        *pp = p + s->consumed;
        X509_up_ref(s->x);
        return s->x;
    }
    misses[0]++;
    x = __real_d2i_X509(NULL, pp, len);
    X509_free(s->x);
    memcpy(s->key, p, len);
    s->len = len;
    s->hash = h;
    s->consumed = *pp - p;
    s->x = x;
    s->gen++;
    if (x) {
        uintptr_t id = s - d2i_slots + 1;

        X509_up_ref(x);
        CHECK(X509_set_ex_data(x, x509_idx, (void *)id));
        ERR_set_mark();
        k = X509_get0_pubkey(x);
        ERR_pop_to_mark();
        if (k) {
            CHECK(EVP_PKEY_set_ex_data(k, pkey_idx, (void *)id));
        }
    }
    return x;
}

/* The memo entry of @ids in @memo (of @slots). */
static Result *memo_entry(Result *memo, size_t slots, const uint32_t *ids,
                          int n, bool *hit)
{
    Result *r = &memo[hash_ids(ids, n) % slots];

    *hit = r->used && memcmp(r->ids, ids, n * sizeof(*ids)) == 0;
    if (!*hit) {
        memset(r, 0, sizeof(*r));
        memcpy(r->ids, ids, n * sizeof(*ids));
    }
    return r;
}

int __wrap_X509_verify(X509 *x, EVP_PKEY *key)
{
    uint32_t ids[4];
    Result *r;
    bool hit;

    if (!d2i_slots || !x509_id(x, ids) || !pkey_id(key, ids + 2)) {
        return __real_X509_verify(x, key);
    }
    r = memo_entry(verify_memo, VERIFY_SLOTS, ids, 4, &hit);
    if (hit) {
        hits[1]++;
        return r->rc;
    }
    misses[1]++;
    r->rc = __real_X509_verify(x, key);
    r->used = true;
    return r->rc;
}

int __wrap_X509_verify_cert(X509_STORE_CTX *ctx)
{
    X509Stack *untrusted = X509_STORE_CTX_get0_untrusted(ctx);
    X509ObjectStack *objs =
        X509_STORE_get0_objects(X509_STORE_CTX_get0_store(ctx));
    uint32_t ids[6];
    Result *r;
    bool hit;

    /* The library's one shape: a trust anchor, one untrusted, a leaf. */
    if (!d2i_slots || !objs || sk_X509_OBJECT_num(objs) != 1 ||
        !untrusted || sk_X509_num(untrusted) != 1 ||
        !x509_id(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, 0)), ids) ||
        !x509_id(sk_X509_value(untrusted, 0), ids + 2) ||
        !x509_id(X509_STORE_CTX_get0_cert(ctx), ids + 4)) {
        return __real_X509_verify_cert(ctx);
    }
    r = memo_entry(path_memo, PATH_SLOTS, ids, 6, &hit);
    if (hit) {
        hits[2]++;
        X509_STORE_CTX_set_error(ctx, r->error);
        return r->rc;
    }
    misses[2]++;
    r->rc = __real_X509_verify_cert(ctx);
    r->error = X509_STORE_CTX_get_error(ctx);
    r->used = true;
    return r->rc;
}
