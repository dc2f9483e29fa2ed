/*
 * libsevsnp unit tests: page-state tracker
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>

#include "testutil.h"

#define P SEVSNP_PAGE_SIZE
#define TOP_GPA (UINT64_MAX - 2 * P + 1)     /* the last two pages */

static SevsnpPageTracker *two_regions(bool private)
{
    SevsnpPageTracker *t = sevsnp_pages_new();

    /* Like q35: low RAM, a hole, high RAM. */
    g_assert_true(sevsnp_pages_add_region(t, "high", 0x100000000ULL, 64 * P,
                                          private, NULL));
    g_assert_true(sevsnp_pages_add_region(t, "low", 0, 130, private, NULL) ==
                  FALSE);
    g_assert_true(sevsnp_pages_add_region(t, "low", 0, 130 * P, private,
                                          NULL));
    return t;
}

static SevsnpPageStats stats(SevsnpPageTracker *t)
{
    SevsnpPageStats s;

    sevsnp_pages_get_stats(t, &s);
    return s;
}

static void test_regions(void)
{
    g_autoptr(GError) err = NULL;
    SevsnpPageTracker *t = two_regions(true);
    SevsnpPageRegion r;

    g_assert_cmpuint(sevsnp_pages_n_regions(t), ==, 2);
    sevsnp_pages_region(t, 0, &r);
    g_assert_cmpstr(r.name, ==, "low");
    g_assert_cmpuint(r.size, ==, 130 * P);
    g_assert_cmpuint(r.private_bytes, ==, 130 * P);
    g_assert_cmpuint(r.shared_bytes, ==, 0);
    sevsnp_pages_region(t, 1, &r);
    g_assert_cmpstr(r.name, ==, "high");
    g_assert_cmpuint(r.gpa, ==, 0x100000000ULL);

    g_assert_false(sevsnp_pages_add_region(t, "x", 129 * P, 2 * P, true,
                                           &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "overlaps region low"));
    g_clear_error(&err);
    g_assert_false(sevsnp_pages_add_region(t, "x", 0x100000000ULL - P, 2 * P,
                                           true, NULL));
    g_assert_false(sevsnp_pages_add_region(t, "x", 200 * P, 0, true, NULL));
    g_assert_false(sevsnp_pages_add_region(t, "x", 200 * P + 1, P, true,
                                           NULL));
    g_assert_false(sevsnp_pages_add_region(t, "x", UINT64_MAX - P + 1, 2 * P,
                                           true, NULL));
    /* Exactly fitting between the others, and at the very top. */
    g_assert_true(sevsnp_pages_add_region(t, "mid", 130 * P, P, false, NULL));
    g_assert_true(sevsnp_pages_add_region(t, "top", TOP_GPA, 2 * P, false,
                                          NULL));
    g_assert_cmpuint(sevsnp_pages_n_regions(t), ==, 4);
    g_assert_cmpuint(stats(t).private_bytes, ==, 194 * P);
    g_assert_cmpuint(stats(t).shared_bytes, ==, 3 * P);
    sevsnp_pages_free(t);
}

static void expect_refused(SevsnpPageTracker *t, uint64_t gpa, uint64_t n,
                           bool priv, const char *needle)
{
    g_autoptr(GError) err = NULL;
    SevsnpPageStats before = stats(t), after;
    g_autofree char *last = NULL;

    g_assert_false(sevsnp_pages_convert(t, gpa, n, priv,
                                        SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                        &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID);
    if (!strstr(err->message, needle)) {
        g_error("'%s' lacks '%s'", err->message, needle);
    }
    after = stats(t);
    g_assert_cmpuint(after.rejected, ==, before.rejected + 1);
    g_assert_cmpuint(after.private_bytes, ==, before.private_bytes);
    g_assert_cmpuint(after.to_private + after.to_shared, ==,
                     before.to_private + before.to_shared);
    last = sevsnp_pages_last_error(t);
    g_assert_cmpstr(last, ==, err->message);
}

static void test_validation(void)
{
    SevsnpPageTracker *t = two_regions(true);

    expect_refused(t, 0, 0, false, "0 pages");
    expect_refused(t, 0x1001, 1, false, "not 4 KiB aligned");
    expect_refused(t, UINT64_MAX - P + 1, 2, false, "past the end");
    expect_refused(t, 0, UINT64_MAX, true, "past the end");
    expect_refused(t, 2 * P, UINT64_MAX >> 12, false, "past the end");
    /* To private, any page outside RAM is refused, nothing changes. */
    expect_refused(t, 129 * P, 2, true, "page 0x82000 of [0x81000");
    expect_refused(t, 0xfee00000ULL, 1, true, "is not RAM");
    g_assert_cmpuint(stats(t).shared_bytes, ==, 0);
    sevsnp_pages_free(t);
}

static void test_convert_and_query(void)
{
    SevsnpPageTracker *t = two_regions(true);
    SevsnpPageStats s;

    g_assert_false(sevsnp_pages_is_shared(t, 0, P));
    g_assert_true(sevsnp_pages_is_private(t, 0, 130 * P));
    g_assert_true(sevsnp_pages_convert(t, 2 * P, 3, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    g_assert_true(sevsnp_pages_is_shared(t, 2 * P, 3 * P));
    g_assert_true(sevsnp_pages_is_shared(t, 2 * P + 100, 3 * P - 200));
    g_assert_false(sevsnp_pages_is_shared(t, 2 * P, 3 * P + 1));
    g_assert_false(sevsnp_pages_is_shared(t, 2 * P - 1, 2));
    g_assert_false(sevsnp_pages_is_shared(t, 2 * P, 0));
    g_assert_false(sevsnp_pages_is_shared(t, UINT64_MAX, 2));
    g_assert_false(sevsnp_pages_is_private(t, P, 2 * P));

    /* To shared across the hole: the hole is skipped, both sides done. */
    g_assert_true(sevsnp_pages_convert(t, 128 * P,
                                       (0x100000000ULL >> 12) - 128 + 2,
                                       false, SEVSNP_CONVERT_IMPLICIT, NULL,
                                       NULL, NULL));
    g_assert_true(sevsnp_pages_is_shared(t, 128 * P, 2 * P));
    g_assert_true(sevsnp_pages_is_shared(t, 0x100000000ULL, 2 * P));
    g_assert_false(sevsnp_pages_is_shared(t, 128 * P, 3 * P));   /* hole */
    g_assert_true(sevsnp_pages_is_private(t, 0x100000000ULL + 2 * P, P));
    /* Entirely outside RAM, to shared: success, nothing to do. */
    g_assert_true(sevsnp_pages_convert(t, 0xfec00000ULL, 1, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));

    s = stats(t);
    g_assert_cmpuint(s.shared_bytes, ==, 7 * P);
    g_assert_cmpuint(s.private_bytes, ==, (130 + 64 - 7) * P);
    g_assert_cmpuint(s.to_shared, ==, 3);
    g_assert_cmpuint(s.pages_to_shared, ==, 7);
    g_assert_cmpuint(s.explicit_requests, ==, 2);
    g_assert_cmpuint(s.implicit_requests, ==, 1);

    /* Converting again changes nothing but counts a conversion. */
    g_assert_true(sevsnp_pages_convert(t, 2 * P, 3, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    g_assert_cmpuint(stats(t).pages_to_shared, ==, 7);
    g_assert_true(sevsnp_pages_convert(t, 0, 130, true,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    g_assert_cmpuint(stats(t).pages_to_private, ==, 5);
    g_assert_cmpuint(stats(t).shared_bytes, ==, 2 * P);
    sevsnp_pages_free(t);
}

static void test_top_of_address_space(void)
{
    SevsnpPageTracker *t = sevsnp_pages_new();

    g_assert_true(sevsnp_pages_add_region(t, "top", TOP_GPA, 2 * P, true,
                                          NULL));
    g_assert_true(sevsnp_pages_convert(t, TOP_GPA + P, 1, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    g_assert_true(sevsnp_pages_is_shared(t, UINT64_MAX - P + 1, P));
    g_assert_true(sevsnp_pages_is_shared(t, UINT64_MAX, 1));
    g_assert_false(sevsnp_pages_is_shared(t, UINT64_MAX, 2));
    g_assert_false(sevsnp_pages_is_shared(t, TOP_GPA, 2 * P));
    g_assert_true(sevsnp_pages_convert(t, TOP_GPA, 2, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    g_assert_true(sevsnp_pages_is_shared(t, TOP_GPA, 2 * P));
    g_assert_false(sevsnp_pages_convert(t, TOP_GPA, 3, true,
                                        SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                        NULL));
    sevsnp_pages_free(t);
}

/*
 * The callbacks: a model of KVM's memory attributes (1 = private) for
 * pages [0, 160) and the first pages of high RAM; every call recorded;
 * a failure on request.
 */
#define MODEL_PAGES 160
#define HIGH_GFN (0x100000000ULL >> 12)

typedef struct Applied {
    GArray *calls;          /* triples (gpa, len, private) */
    GArray *released;       /* pairs (gpa, changed pages) */
    uint64_t fail_gpa;      /* set_attributes of a range holding it fails */
    bool fail_undo;         /* ... and so does putting it back */
    bool fail_half;         /* the failing call applies its first half */
    uint8_t attr[MODEL_PAGES + 64];
} Applied;

static uint8_t *model_page(Applied *a, uint64_t gfn)
{
    if (gfn < MODEL_PAGES) {
        return &a->attr[gfn];
    }
    g_assert_cmpuint(gfn, >=, HIGH_GFN);
    g_assert_cmpuint(gfn, <, HIGH_GFN + 64);
    return &a->attr[MODEL_PAGES + gfn - HIGH_GFN];
}

/*
 * Calls going shared (the conversions of these tests) fail on a range
 * holding fail_gpa, after doing half their work with fail_half; calls
 * going private (the undo) fail there only with fail_undo.
 */
static int set_cb(void *opaque, uint64_t gpa, uint64_t len, bool priv)
{
    Applied *a = opaque;
    uint64_t v = priv, n = len / P;
    bool fail = a->fail_gpa >= gpa && a->fail_gpa - gpa < len &&
                (!priv || a->fail_undo);

    g_array_append_val(a->calls, gpa);
    g_array_append_val(a->calls, len);
    g_array_append_val(a->calls, v);
    if (fail) {
        n = a->fail_half ? n / 2 : 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        *model_page(a, gpa / P + i) = priv;
    }
    return fail ? -ENOMEM : 0;
}

static uint64_t release_cb(void *opaque, uint64_t gpa, uint64_t len,
                           bool priv, uint64_t changed)
{
    Applied *a = opaque;

    g_array_append_val(a->released, gpa);
    g_array_append_val(a->released, changed);
    return changed * P;
}

static const SevsnpConvertOps ops = {
    .set_attributes = set_cb,
    .release = release_cb,
};

static Applied *applied_new(SevsnpPageTracker *t)
{
    Applied *a = g_new0(Applied, 1);

    a->calls = g_array_new(FALSE, FALSE, 8);
    a->released = g_array_new(FALSE, FALSE, 8);
    a->fail_gpa = 1;
    for (uint64_t g = 0; g < MODEL_PAGES + 64; g++) {
        uint64_t gfn = g < MODEL_PAGES ? g : HIGH_GFN + g - MODEL_PAGES;

        a->attr[g] = sevsnp_pages_is_private(t, gfn * P, P);
    }
    return a;
}

static void applied_free(Applied *a)
{
    g_array_free(a->calls, TRUE);
    g_array_free(a->released, TRUE);
    g_free(a);
}

/* The model of KVM's attributes agrees with the tracker, page by page. */
static void assert_model_agrees(SevsnpPageTracker *t, Applied *a)
{
    for (uint64_t g = 0; g < MODEL_PAGES + 64; g++) {
        uint64_t gfn = g < MODEL_PAGES ? g : HIGH_GFN + g - MODEL_PAGES;

        if (!sevsnp_pages_is_private(t, gfn * P, P) &&
            !sevsnp_pages_is_shared(t, gfn * P, P)) {
            continue;               /* not RAM */
        }
        if (sevsnp_pages_is_private(t, gfn * P, P) != a->attr[g]) {
            g_error("page 0x%" G_GINT64_MODIFIER "x: attributes %s, page "
                    "state not", (uint64_t)(gfn * P),
                    a->attr[g] ? "private" : "shared");
        }
    }
}

static void test_apply_pieces(void)
{
    SevsnpPageTracker *t = two_regions(true);
    Applied *a = applied_new(t);
    uint64_t *v;

    /* One piece per region, in address order; the hole is not applied. */
    g_assert_true(sevsnp_pages_convert(t, 120 * P,
                                       (0x100000000ULL >> 12) - 120 + 4,
                                       false, SEVSNP_CONVERT_EXPLICIT,
                                       &ops, a, NULL));
    g_assert_cmpuint(a->calls->len, ==, 6);
    v = (uint64_t *)a->calls->data;
    g_assert_cmpuint(v[0], ==, 120 * P);
    g_assert_cmpuint(v[1], ==, 10 * P);
    g_assert_cmpuint(v[2], ==, 0);
    g_assert_cmpuint(v[3], ==, 0x100000000ULL);
    g_assert_cmpuint(v[4], ==, 4 * P);
    /* Released after, per piece, with the pages that changed. */
    v = (uint64_t *)a->released->data;
    g_assert_cmpuint(a->released->len, ==, 4);
    g_assert_cmpuint(v[0], ==, 120 * P);
    g_assert_cmpuint(v[1], ==, 10);
    g_assert_cmpuint(v[3], ==, 4);
    g_assert_cmpuint(stats(t).released_bytes, ==, 14 * P);
    assert_model_agrees(t, a);

    /* Again: nothing changes state, nothing is released. */
    g_array_set_size(a->released, 0);
    g_assert_true(sevsnp_pages_convert(t, 120 * P, 10, false,
                                       SEVSNP_CONVERT_EXPLICIT, &ops, a,
                                       NULL));
    g_assert_cmpuint(((uint64_t *)a->released->data)[1], ==, 0);
    g_assert_cmpuint(stats(t).released_bytes, ==, 14 * P);
    applied_free(a);
    sevsnp_pages_free(t);
}

/*
 * All or nothing: the second piece's memory attributes fail (a NUMA
 * guest's second node); the first piece is put back, only on the pages
 * that were changing state, and nothing is converted or released.
 */
static void test_rollback(void)
{
    SevsnpPageTracker *t = two_regions(true);
    g_autoptr(GError) err = NULL;
    g_autofree char *last = NULL;
    SevsnpPageStats before;
    Applied *a;
    uint64_t *v;

    g_assert_true(sevsnp_pages_add_region(t, "node1", 130 * P, 30 * P, true,
                                          NULL));
    /* A mixed first piece: pages 124 and 125 shared already. */
    g_assert_true(sevsnp_pages_convert(t, 124 * P, 2, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    a = applied_new(t);
    before = stats(t);
    a->fail_gpa = 134 * P;
    g_assert_false(sevsnp_pages_convert(t, 120 * P, 20, false,
                                        SEVSNP_CONVERT_EXPLICIT, &ops, a,
                                        &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO);
    g_assert_nonnull(strstr(err->message, "of node1 failed"));
    g_assert_nonnull(strstr(err->message, "nothing was converted"));
    last = sevsnp_pages_last_error(t);
    g_assert_cmpstr(last, ==, err->message);

    /* Forward both, then back: node1 whole, low in two runs around 124. */
    v = (uint64_t *)a->calls->data;
    g_assert_cmpuint(a->calls->len, ==, 5 * 3);
    g_assert_cmpuint(v[0], ==, 120 * P);
    g_assert_cmpuint(v[1], ==, 10 * P);
    g_assert_cmpuint(v[3], ==, 130 * P);
    g_assert_cmpuint(v[4], ==, 10 * P);
    g_assert_cmpuint(v[6], ==, 130 * P);
    g_assert_cmpuint(v[7], ==, 10 * P);
    g_assert_cmpuint(v[8], ==, 1);
    g_assert_cmpuint(v[9], ==, 120 * P);
    g_assert_cmpuint(v[10], ==, 4 * P);
    g_assert_cmpuint(v[11], ==, 1);
    g_assert_cmpuint(v[12], ==, 126 * P);
    g_assert_cmpuint(v[13], ==, 4 * P);
    g_assert_cmpuint(v[14], ==, 1);
    g_assert_cmpuint(a->released->len, ==, 0);
    assert_model_agrees(t, a);

    g_assert_true(sevsnp_pages_is_private(t, 120 * P, 4 * P));
    g_assert_true(sevsnp_pages_is_shared(t, 124 * P, 2 * P));
    g_assert_true(sevsnp_pages_is_private(t, 126 * P, 14 * P));
    g_assert_cmpuint(stats(t).rejected, ==, before.rejected + 1);
    g_assert_cmpuint(stats(t).to_shared, ==, before.to_shared);
    g_assert_cmpuint(stats(t).pages_to_shared, ==, before.pages_to_shared);
    g_assert_cmpuint(stats(t).shared_bytes, ==, 2 * P);

    /* A failing call that did half its work: undone as well. */
    g_array_set_size(a->calls, 0);
    a->fail_half = true;
    g_clear_error(&err);
    g_assert_false(sevsnp_pages_convert(t, 120 * P, 20, false,
                                        SEVSNP_CONVERT_EXPLICIT, &ops, a,
                                        &err));
    assert_model_agrees(t, a);

    /* Undo failing too: said, and the state is the old one. */
    a->fail_half = false;
    a->fail_undo = true;
    g_clear_error(&err);
    g_assert_false(sevsnp_pages_convert(t, 120 * P, 20, false,
                                        SEVSNP_CONVERT_EXPLICIT, &ops, a,
                                        &err));
    g_assert_nonnull(strstr(err->message, "undoing [0x82000, +10 pages) "
                            "failed too"));
    g_assert_true(sevsnp_pages_is_private(t, 130 * P, 10 * P));

    /* Without the failure: done. */
    a->fail_gpa = 1;
    g_assert_true(sevsnp_pages_convert(t, 120 * P, 20, false,
                                       SEVSNP_CONVERT_EXPLICIT, &ops, a,
                                       NULL));
    g_assert_true(sevsnp_pages_is_shared(t, 120 * P, 20 * P));
    g_assert_cmpuint(stats(t).pages_to_shared, ==,
                     before.pages_to_shared + 18);
    applied_free(a);
    sevsnp_pages_free(t);
}

/* The memory map changes: state follows the backing, new pages private. */
static void test_set_regions(void)
{
    SevsnpPageTracker *t = sevsnp_pages_new();
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) regs = NULL;
    SevsnpRegionSpec low[] = {
        { "ram", 0, 0xa0 * P, 0 },
        { "ram", 0x100 * P, 0x700 * P, 0x100 * P },
    };
    /* PAM: 0xc0000-0xfffff becomes RAM, merged with what follows. */
    SevsnpRegionSpec pam[] = {
        { "ram", 0, 0xa0 * P, 0 },
        { "ram", 0xc0 * P, 0x740 * P, 0xc0 * P },
    };
    /* The same gpa, another backing (a remapped block). */
    SevsnpRegionSpec moved[] = {
        { "other", 0, 0xa0 * P, 0x100000 * P },
    };
    SevsnpRegionSpec overlap[] = {
        { "a", 0, 0x10 * P, 0 }, { "b", 0xf * P, 0x10 * P, 0 },
    };

    g_assert_true(sevsnp_pages_set_regions(t, low, 2, NULL));
    g_assert_cmpuint(stats(t).private_bytes, ==, 0x7a0 * P);
    g_assert_true(sevsnp_pages_convert(t, 0x10 * P, 4, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    g_assert_true(sevsnp_pages_convert(t, 0x200 * P, 8, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    g_assert_true(sevsnp_pages_set_regions(t, pam, 2, NULL));
    g_assert_true(sevsnp_pages_is_shared(t, 0x10 * P, 4 * P));
    g_assert_true(sevsnp_pages_is_shared(t, 0x200 * P, 8 * P));
    g_assert_true(sevsnp_pages_is_private(t, 0xc0 * P, 0x140 * P));
    g_assert_true(sevsnp_pages_is_private(t, 0x208 * P, 0x5f8 * P));
    g_assert_cmpuint(stats(t).shared_bytes, ==, 12 * P);
    regs = sevsnp_pages_get_regions(t);
    g_assert_cmpuint(regs->len, ==, 2);
    g_assert_cmpuint(g_array_index(regs, SevsnpPageRegion, 1).gpa, ==,
                     0xc0 * P);
    g_assert_cmpuint(g_array_index(regs, SevsnpPageRegion, 1).shared_bytes,
                     ==, 8 * P);
    /* Back: the part that stays keeps its state. */
    g_assert_true(sevsnp_pages_set_regions(t, low, 2, NULL));
    g_assert_true(sevsnp_pages_is_shared(t, 0x200 * P, 8 * P));
    g_assert_cmpuint(sevsnp_pages_n_regions(t), ==, 2);
    /* Another backing: private again. */
    g_assert_true(sevsnp_pages_set_regions(t, moved, 1, NULL));
    g_assert_true(sevsnp_pages_is_private(t, 0, 0xa0 * P));
    g_assert_false(sevsnp_pages_is_private(t, 0x200 * P, P));
    /* Refused: overlapping, unaligned; nothing changes. */
    g_assert_false(sevsnp_pages_set_regions(t, overlap, 2, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "overlaps region a"));
    moved[0].size = 100;
    g_assert_false(sevsnp_pages_set_regions(t, moved, 1, NULL));
    g_assert_cmpuint(stats(t).private_bytes, ==, 0xa0 * P);
    /* None at all. */
    g_assert_true(sevsnp_pages_set_regions(t, NULL, 0, NULL));
    g_assert_cmpuint(sevsnp_pages_n_regions(t), ==, 0);
    sevsnp_pages_free(t);
}

/* Bit copies at every alignment against a bit-by-bit copy. */
static void test_set_regions_bits(void)
{
    for (int i = 0; i < 200; i++) {
        SevsnpPageTracker *t = sevsnp_pages_new();
        uint64_t n = g_test_rand_int_range(1, 300);
        uint64_t shift = g_test_rand_int_range(0, 130);
        SevsnpRegionSpec a = { "a", 0x1000 * P, n * P, 0 };
        SevsnpRegionSpec b = { "b", (0x1000 + shift) * P, n * P, shift * P };
        g_autofree uint8_t *ref = g_malloc(n);

        g_assert_true(sevsnp_pages_set_regions(t, &a, 1, NULL));
        for (uint64_t k = 0; k < n; k++) {
            ref[k] = g_test_rand_bit();
            if (!ref[k]) {
                g_assert_true(sevsnp_pages_convert(t, (0x1000 + k) * P, 1,
                                                   false,
                                                   SEVSNP_CONVERT_EXPLICIT,
                                                   NULL, NULL, NULL));
            }
        }
        g_assert_true(sevsnp_pages_set_regions(t, &b, 1, NULL));
        for (uint64_t k = 0; k < n; k++) {
            bool want = k + shift < n ? ref[k + shift] : true;

            g_assert_cmpint(sevsnp_pages_is_private(t,
                                                    (0x1000 + shift + k) * P,
                                                    P), ==, want);
        }
        sevsnp_pages_free(t);
    }
}

/*
 * Queries never wait for a conversion: while a conversion's callback is
 * stuck (a slow KVM_SET_MEMORY_ATTRIBUTES, a long discard), another
 * thread reads the counters, the regions and the page state.
 */
typedef struct Stuck {
    GMutex lock;
    GCond cond;
    bool in_callback;
    bool queried;
    bool timed_out;         /* the queries waited for the callback */
} Stuck;

static int stuck_set(void *opaque, uint64_t gpa, uint64_t len, bool priv)
{
    Stuck *st = opaque;
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

    g_mutex_lock(&st->lock);
    st->in_callback = true;
    g_cond_broadcast(&st->cond);
    while (!st->queried) {
        if (!g_cond_wait_until(&st->cond, &st->lock, deadline)) {
            st->timed_out = true;
            break;
        }
    }
    g_mutex_unlock(&st->lock);
    return 0;
}

typedef struct StuckRun {
    SevsnpPageTracker *t;
    Stuck *st;
} StuckRun;

static gpointer stuck_thread(gpointer opaque)
{
    static const SevsnpConvertOps stuck_ops = { .set_attributes = stuck_set };
    StuckRun *run = opaque;

    return GINT_TO_POINTER(sevsnp_pages_convert(run->t, 0, 4, false,
                                                SEVSNP_CONVERT_EXPLICIT,
                                                &stuck_ops, run->st, NULL));
}

static void test_queries_never_wait(void)
{
    SevsnpPageTracker *t = two_regions(true);
    Stuck st = { 0 };
    StuckRun run = { t, &st };
    g_autoptr(GArray) regs = NULL;
    SevsnpPageStats s;
    GThread *th;

    g_mutex_init(&st.lock);
    g_cond_init(&st.cond);
    th = g_thread_new("convert", stuck_thread, &run);
    g_mutex_lock(&st.lock);
    while (!st.in_callback) {
        g_cond_wait(&st.cond, &st.lock);
    }
    g_mutex_unlock(&st.lock);

    /* The conversion is stuck in its callback, holding the tracker. */
    sevsnp_pages_get_stats(t, &s);
    g_assert_cmpuint(s.shared_bytes, ==, 0);
    regs = sevsnp_pages_get_regions(t);
    g_assert_cmpuint(regs->len, ==, 2);
    g_assert_true(sevsnp_pages_is_private(t, 0, 4 * P));
    g_assert_false(sevsnp_pages_is_shared(t, 0, P));
    g_assert_cmpuint(sevsnp_pages_n_regions(t), ==, 2);
    g_free(sevsnp_pages_last_error(t));

    g_mutex_lock(&st.lock);
    st.queried = true;
    g_cond_broadcast(&st.cond);
    g_mutex_unlock(&st.lock);
    g_assert_true(GPOINTER_TO_INT(g_thread_join(th)));
    g_assert_false(st.timed_out);
    g_assert_true(sevsnp_pages_is_shared(t, 0, 4 * P));
    g_assert_cmpuint(stats(t).explicit_requests, ==, 1);
    g_mutex_clear(&st.lock);
    g_cond_clear(&st.cond);
    sevsnp_pages_free(t);
}

static int mark(void *opaque)
{
    *(int *)opaque = 1;
    return 7;
}

static void test_with_shared(void)
{
    SevsnpPageTracker *t = two_regions(true);
    int called = 0;

    g_assert_cmpint(sevsnp_pages_with_shared(t, 0, P, mark, &called), ==,
                    -EFAULT);
    g_assert_cmpint(called, ==, 0);
    g_assert_true(sevsnp_pages_convert(t, 0, 1, false,
                                       SEVSNP_CONVERT_EXPLICIT, NULL, NULL,
                                       NULL));
    g_assert_cmpint(sevsnp_pages_with_shared(t, 0, P, mark, &called), ==, 7);
    g_assert_cmpint(called, ==, 1);
    sevsnp_pages_free(t);
}

/* Random conversions against a page-by-page reference model. */
static void test_against_reference(void)
{
    enum { LOW = 300, HIGH = 200 };
    const uint64_t hb = 0x100000000ULL >> 12;
    SevsnpPageTracker *t = sevsnp_pages_new();
    g_autofree uint8_t *low = g_malloc(LOW), *high = g_malloc(HIGH);

    memset(low, 1, LOW);
    memset(high, 1, HIGH);
    sevsnp_pages_add_region(t, "low", 0, LOW * P, true, NULL);
    sevsnp_pages_add_region(t, "high", hb * P, HIGH * P, true, NULL);
    for (int i = 0; i < 5000; i++) {
        bool hi = g_test_rand_bit(), priv = g_test_rand_bit();
        uint64_t first = g_test_rand_int_range(0, hi ? HIGH + 8 : LOW + 8);
        uint64_t n = g_test_rand_int_range(0, 70);
        uint64_t gfn = (hi ? hb : 0) + first;
        bool in_ram = first + n <= (hi ? HIGH : LOW);
        bool expect = n > 0 && (in_ram || !priv);
        uint64_t ref_priv = 0;

        g_assert_cmpint(sevsnp_pages_convert(t, gfn * P, n, priv,
                                             SEVSNP_CONVERT_EXPLICIT, NULL,
                                             NULL, NULL), ==, expect);
        if (expect) {
            for (uint64_t k = first; k < first + n; k++) {
                if (k < (hi ? HIGH : LOW)) {
                    (hi ? high : low)[k] = priv;
                }
            }
        }
        for (uint64_t k = 0; k < LOW; k++) {
            ref_priv += low[k];
        }
        for (uint64_t k = 0; k < HIGH; k++) {
            ref_priv += high[k];
        }
        g_assert_cmpuint(stats(t).private_bytes, ==, ref_priv * P);
        /* A random query agrees with the model. */
        first = g_test_rand_int_range(0, LOW);
        n = g_test_rand_int_range(1, LOW - first + 1);
        {
            bool all_shared = true, all_priv = true;

            for (uint64_t k = first; k < first + n; k++) {
                all_shared &= !low[k];
                all_priv &= low[k];
            }
            g_assert_cmpint(sevsnp_pages_is_shared(t, first * P, n * P), ==,
                            all_shared);
            g_assert_cmpint(sevsnp_pages_is_private(t, first * P, n * P), ==,
                            all_priv);
        }
    }
    sevsnp_pages_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pagestate/regions", test_regions);
    g_test_add_func("/pagestate/validation", test_validation);
    g_test_add_func("/pagestate/convert-and-query", test_convert_and_query);
    g_test_add_func("/pagestate/top-of-address-space",
                    test_top_of_address_space);
    g_test_add_func("/pagestate/apply-pieces", test_apply_pieces);
    g_test_add_func("/pagestate/rollback", test_rollback);
    g_test_add_func("/pagestate/set-regions", test_set_regions);
    g_test_add_func("/pagestate/set-regions-bits", test_set_regions_bits);
    g_test_add_func("/pagestate/with-shared", test_with_shared);
    g_test_add_func("/pagestate/queries-never-wait",
                    test_queries_never_wait);
    g_test_add_func("/pagestate/reference-model", test_against_reference);
    return g_test_run();
}
