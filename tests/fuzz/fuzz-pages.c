/*
 * libFuzzer target: the page-state tracker, fed arbitrary conversions and
 * queries, checked against a naive page-by-page reference model after
 * every step.
 *
 * Regions: [0, 37) and [40, 110) pages, and the last 5 pages of the
 * address space.  Each step takes 11 bytes: an op, a base selector, a
 * 64-bit offset or count, and a count.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdlib.h>
#include <string.h>

#include "libsevsnp.h"
#include "fuzz.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)
#define P SEVSNP_PAGE_SIZE
#define GFN_LIMIT (1ULL << 52)

static const struct {
    uint64_t gfn, n;
} regions[] = {
    { 0, 37 }, { 40, 70 }, { GFN_LIMIT - 5, 5 },
};
#define NREG 3
#define MAXPAGES 70

/* Reference: 1 = private, per region page. */
static uint8_t ref[NREG][MAXPAGES];

static int ref_region(uint64_t gfn, uint64_t *idx)
{
    for (int r = 0; r < NREG; r++) {
        if (gfn >= regions[r].gfn && gfn - regions[r].gfn < regions[r].n) {
            *idx = gfn - regions[r].gfn;
            return r;
        }
    }
    return -1;
}

static bool ref_convert(uint64_t gpa, uint64_t npages, bool priv)
{
    uint64_t gfn = gpa / P;

    if (!npages || gpa % P || npages > GFN_LIMIT - gfn) {
        return false;
    }
    if (priv) {
        /* Every page in range must be in a region: count them. */
        uint64_t in = 0;

        for (int r = 0; r < NREG; r++) {
            uint64_t s = MAX(gfn, regions[r].gfn);
            uint64_t e = MIN(gfn + npages, regions[r].gfn + regions[r].n);

            in += e > s ? e - s : 0;
        }
        if (in != npages) {
            return false;
        }
    }
    for (int r = 0; r < NREG; r++) {
        for (uint64_t k = 0; k < regions[r].n; k++) {
            uint64_t g = regions[r].gfn + k;

            if (g >= gfn && g - gfn < npages) {
                ref[r][k] = priv;
            }
        }
    }
    return true;
}

static bool ref_all(uint64_t gpa, uint64_t len, bool priv)
{
    uint64_t first, last, idx;

    if (!len || len - 1 > UINT64_MAX - gpa) {
        return false;
    }
    first = gpa / P;
    last = (gpa + len - 1) / P;
    if (last - first >= MAXPAGES) {
        return false;       /* longer than any region: crosses a hole */
    }
    for (uint64_t g = first; g <= last; g++) {
        int r = ref_region(g, &idx);

        if (r < 0 || ref[r][idx] != priv) {
            return false;
        }
    }
    return true;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SevsnpPageTracker *t = sevsnp_pages_new();
    uint64_t expect_rejected = 0;

    memset(ref, 1, sizeof(ref));
    for (int r = 0; r < NREG; r++) {
        CHECK(sevsnp_pages_add_region(t, "r", regions[r].gfn * P,
                                      regions[r].n * P, true, NULL));
    }
    for (size_t off = 0; off + 11 <= size; off += 11) {
        const uint8_t *s = data + off;
        uint8_t op = s[0] % 4;
        uint64_t bases[] = { 0, 40 * P, (GFN_LIMIT - 5) * P, 0 };
        uint64_t v = get64(s + 2);
        uint64_t gpa, n = s[10];
        SevsnpPageStats st;
        uint64_t ref_priv = 0;

        /* Mostly near the regions; sometimes anywhere. */
        gpa = (s[1] % 4 == 3) ? v : bases[s[1] % 4] + (int8_t)(v & 0xff) * P +
              ((v >> 8) & 1 ? (v >> 16) & 0xfff : 0);
        if ((v >> 9) & 1) {
            n = (v >> 10) & 1 ? UINT64_MAX >> (s[10] % 64) : n;
        }
        switch (op) {
        case 0:
        case 1: {
            bool want = ref_convert(gpa, n, op);
            bool got = sevsnp_pages_convert(t, gpa, n, op,
                                            SEVSNP_CONVERT_EXPLICIT, NULL,
                                            NULL, NULL);

            CHECK(want == got);
            expect_rejected += !got;
            break;
        }
        case 2:
            CHECK(sevsnp_pages_is_shared(t, gpa, n * 97 + (v & 0xfff)) ==
                  ref_all(gpa, n * 97 + (v & 0xfff), false));
            break;
        default:
            CHECK(sevsnp_pages_is_private(t, gpa, n * P) ==
                  ref_all(gpa, n * P, true));
            break;
        }
        sevsnp_pages_get_stats(t, &st);
        CHECK(st.rejected == expect_rejected);
        for (int r = 0; r < NREG; r++) {
            SevsnpPageRegion pr;
            uint64_t rp = 0;

            for (uint64_t k = 0; k < regions[r].n; k++) {
                rp += ref[r][k];
                CHECK(sevsnp_pages_is_private(t, (regions[r].gfn + k) * P,
                                              P) == ref[r][k]);
            }
            sevsnp_pages_region(t, r, &pr);
            CHECK(pr.private_bytes == rp * P);
            ref_priv += rp;
        }
        CHECK(st.private_bytes == ref_priv * P);
    }
    sevsnp_pages_free(t);
    return 0;
}
