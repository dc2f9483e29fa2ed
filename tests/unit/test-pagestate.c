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

/* The apply callback: records pieces, fails on request, releases bytes. */
typedef struct Applied {
    GArray *pieces;         /* pairs of (gpa, len) */
    uint64_t fail_gpa;
} Applied;

static int apply_cb(void *opaque, guint region, uint64_t gpa, uint64_t len,
                    bool to_private, uint64_t changed, uint64_t *released)
{
    Applied *a = opaque;

    if (gpa == a->fail_gpa) {
        return -ENOMEM;
    }
    g_array_append_val(a->pieces, gpa);
    g_array_append_val(a->pieces, len);
    *released = changed * P;
    return 0;
}

static void test_apply_pieces(void)
{
    SevsnpPageTracker *t = two_regions(true);
    Applied a = { g_array_new(FALSE, FALSE, 8), 1 };
    g_autoptr(GError) err = NULL;
    uint64_t *v;

    /* One piece per region, in address order; the hole is not applied. */
    g_assert_true(sevsnp_pages_convert(t, 120 * P,
                                       (0x100000000ULL >> 12) - 120 + 4,
                                       false, SEVSNP_CONVERT_EXPLICIT,
                                       apply_cb, &a, NULL));
    g_assert_cmpuint(a.pieces->len, ==, 4);
    v = (uint64_t *)a.pieces->data;
    g_assert_cmpuint(v[0], ==, 120 * P);
    g_assert_cmpuint(v[1], ==, 10 * P);
    g_assert_cmpuint(v[2], ==, 0x100000000ULL);
    g_assert_cmpuint(v[3], ==, 4 * P);
    g_assert_cmpuint(stats(t).released_bytes, ==, 14 * P);

    /* A failing second piece: the first stays converted, error kept. */
    g_assert_true(sevsnp_pages_add_region(t, "low2", 130 * P, 10 * P, false,
                                          NULL));
    g_array_set_size(a.pieces, 0);
    a.fail_gpa = 130 * P;
    g_assert_false(sevsnp_pages_convert(t, 120 * P, 15, true,
                                        SEVSNP_CONVERT_EXPLICIT, apply_cb,
                                        &a, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO);
    g_assert_nonnull(strstr(err->message, "of low2 failed"));
    g_assert_true(sevsnp_pages_is_private(t, 120 * P, 10 * P));
    g_assert_true(sevsnp_pages_is_shared(t, 130 * P, 10 * P));
    g_assert_cmpuint(stats(t).rejected, ==, 1);
    g_assert_cmpuint(stats(t).to_private, ==, 0);
    g_array_free(a.pieces, TRUE);
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
    g_test_add_func("/pagestate/with-shared", test_with_shared);
    g_test_add_func("/pagestate/reference-model", test_against_reference);
    return g_test_run();
}
