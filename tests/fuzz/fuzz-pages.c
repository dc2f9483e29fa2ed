/*
 * libFuzzer target: the page-state tracker, fed arbitrary conversions
 * (some with the memory attributes failing part-way, which must leave
 * nothing converted), memory-map changes and queries, checked against a
 * naive page-by-page reference model after every step: the page state,
 * the memory attributes the callbacks were told to set, the pieces
 * released, the counters.
 *
 * Memory maps (in pages): L0 [0, 37) [40, 110) and the last 5 pages of
 * the address space; L1 the hole filled, [0, 110) as one region; L2
 * [0, 20) [40, 70) [80, 110); L3 as L0 with [0, 37) on another backing.
 * Each step takes 11 bytes: an op (and its failure injection), a base
 * selector (or the map), a 64-bit offset or count, and a count.
 *
 * An input is at most 64 steps (libFuzzer's -max_len defaults to that,
 * and a longer input's tail is ignored): every state of the model is a
 * few steps away from any other, and an execution's time is in its steps
 * (each one checked whole against the model), so longer inputs would
 * only make each execution slower.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsevsnp.h"
#include "fuzz.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)

/*
 * The reference model and the checks are not what is fuzzed: no coverage
 * feedback from them (it would only steer libFuzzer by the oracle's own
 * loops, and cost a callback per comparison), sanitizers still on.
 */
#define MODEL __attribute__((no_sanitize("coverage"), noinline))
#define P SEVSNP_PAGE_SIZE
#define GFN_LIMIT (1ULL << 52)
#define TOP (GFN_LIMIT - 5)
#define LOWU 128                    /* the model covers pages [0, 128) */
#define U (LOWU + 5)                /* ... and the top 5 */
#define OTHER (1ULL << 40)          /* another backing */
#define STEP 11                     /* bytes per step */
#define MAX_STEPS 64

typedef struct Layout {
    int n;
    struct {
        uint64_t gfn, npages, delta;    /* backing = gpa + delta */
    } r[4];
} Layout;

static const Layout layouts[] = {
    { 3, { { 0, 37, 0 }, { 40, 70, 0 }, { TOP, 5, 0 } } },
    { 2, { { 0, 110, 0 }, { TOP, 5, 0 } } },
    { 4, { { 0, 20, 0 }, { 40, 30, 0 }, { 80, 30, 0 }, { TOP, 5, 0 } } },
    { 3, { { 0, 37, OTHER }, { 40, 70, 0 }, { TOP, 5, 0 } } },
};

/* The model, per page of the universe. */
static const Layout *lay;
static bool ram[U];
static uint64_t delta[U];
static uint8_t state[U];            /* 1 = private */
static uint8_t attr[U];             /* the memory attributes set */

/* The conversion in progress: what the callbacks expect and do. */
static struct {
    int calls, fail_at;
    bool fail_half, undo_fail, undo_failed;
    int npieces, released;
    uint64_t piece_gpa[4], piece_len[4], piece_changed[4];
    bool to_private, done;
} cv;

static inline int uidx(uint64_t gfn)
{
    if (gfn < LOWU) {
        return gfn;
    }
    if (gfn >= TOP && gfn < GFN_LIMIT) {
        return LOWU + gfn - TOP;
    }
    return -1;
}

static MODEL void layout_model(const Layout *l)
{
    bool was[U];
    uint64_t old_delta[U];

    memcpy(was, ram, sizeof(ram));
    memcpy(old_delta, delta, sizeof(delta));
    memset(ram, 0, sizeof(ram));
    for (int k = 0; k < l->n; k++) {
        for (uint64_t g = l->r[k].gfn; g < l->r[k].gfn + l->r[k].npages;
             g++) {
            int i = uidx(g);

            ram[i] = true;
            delta[i] = l->r[k].delta;
        }
    }
    for (int i = 0; i < U; i++) {
        if (ram[i] && !(was[i] && old_delta[i] == delta[i])) {
            state[i] = 1;
            attr[i] = 1;
        }
    }
    lay = l;
}

static MODEL int set_cb(void *opaque, uint64_t gpa, uint64_t len, bool priv)
{
    int call = cv.calls++;
    uint64_t n = len / P, first = gpa / P;
    bool fail = call == cv.fail_at ||
                (cv.undo_fail && call == cv.fail_at + 1);

    int i0 = uidx(first);

    CHECK(!cv.done && n && gpa % P == 0 && len % P == 0 && i0 >= 0);
    /* Within one region of the map. */
    for (uint64_t k = 0; k < n; k++) {
        int i = uidx(first + k);

        CHECK(i == i0 + (int)k && ram[i] && delta[i] == delta[i0]);
    }
    if (call > cv.fail_at) {
        CHECK(priv != cv.to_private);   /* undo */
    } else {
        CHECK(priv == cv.to_private);
    }
    if (fail) {
        n = call == cv.fail_at && cv.fail_half ? n / 2 : 0;
        cv.undo_failed |= call > cv.fail_at;
    }
    for (uint64_t k = 0; k < n; k++) {
        attr[uidx(first + k)] = priv;
    }
    return fail ? -5 : 0;
}

static MODEL uint64_t release_cb(void *opaque, uint64_t gpa, uint64_t len,
                           bool priv, uint64_t changed)
{
    int k = cv.released++;

    CHECK(k < cv.npieces && priv == cv.to_private);
    CHECK(gpa == cv.piece_gpa[k] && len == cv.piece_len[k]);
    CHECK(changed == cv.piece_changed[k]);
    return changed * P;
}

static const SevsnpConvertOps ops = {
    .set_attributes = set_cb,
    .release = release_cb,
};

/* The pieces of [gfn, gfn + npages) in the map, and their changes. */
static MODEL void ref_pieces(uint64_t gfn, uint64_t npages, bool priv)
{
    cv.npieces = 0;
    for (int k = 0; k < lay->n; k++) {
        uint64_t s = MAX(gfn, lay->r[k].gfn);
        uint64_t e = MIN(gfn + npages, lay->r[k].gfn + lay->r[k].npages);
        uint64_t changed = 0;

        if (s >= e) {
            continue;
        }
        for (uint64_t g = s; g < e; g++) {
            changed += state[uidx(g)] != priv;
        }
        cv.piece_gpa[cv.npieces] = s * P;
        cv.piece_len[cv.npieces] = (e - s) * P;
        cv.piece_changed[cv.npieces++] = changed;
    }
}

/* Would the tracker accept the request (before any callback)? */
static MODEL bool ref_valid(uint64_t gpa, uint64_t npages, bool priv)
{
    uint64_t gfn = gpa / P, in = 0;

    if (!npages || gpa % P || npages > GFN_LIMIT - gfn) {
        return false;
    }
    ref_pieces(gfn, npages, priv);
    for (int k = 0; k < cv.npieces; k++) {
        in += cv.piece_len[k] / P;
    }
    return !priv || in == npages;
}

static MODEL bool ref_all(uint64_t gpa, uint64_t len, bool priv)
{
    uint64_t first, last;

    if (!len || len - 1 > UINT64_MAX - gpa) {
        return false;
    }
    first = gpa / P;
    last = (gpa + len - 1) / P;
    if (last - first >= LOWU) {
        return false;       /* longer than any region: crosses a hole */
    }
    for (uint64_t g = first; g <= last; g++) {
        int i = uidx(g);

        if (i < 0 || !ram[i] || state[i] != priv) {
            return false;
        }
    }
    return true;
}

static MODEL uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

static MODEL int mark(void *opaque)
{
    *(int *)opaque = 1;
    return 0;
}

/*
 * The tracker agrees with the model: each run of pages in one state is
 * all in that state for the tracker (so every page is checked), the
 * regions and totals match, and the memory attributes are the state.
 */
static MODEL void check_all(SevsnpPageTracker *t, uint64_t expect_rejected)
{
    SevsnpPageStats st;
    uint64_t total = 0;

    CHECK(sevsnp_pages_n_regions(t) == (guint)lay->n);
    for (int k = 0; k < lay->n; k++) {
        SevsnpPageRegion reg, *pr = &reg;
        uint64_t g = lay->r[k].gfn, end = g + lay->r[k].npages, priv = 0;

        sevsnp_pages_region(t, k, pr);
        CHECK(pr->gpa == g * P && pr->size == lay->r[k].npages * P);
        while (g < end) {
            uint64_t s = g;
            uint8_t v = state[uidx(g)];

            while (g < end && state[uidx(g)] == v) {
                CHECK(attr[uidx(g)] == v);
                g++;
            }
            CHECK(v ? sevsnp_pages_is_private(t, s * P, (g - s) * P)
                    : sevsnp_pages_is_shared(t, s * P, (g - s) * P));
            priv += v ? g - s : 0;
        }
        CHECK(pr->private_bytes == priv * P);
        total += priv;
    }
    sevsnp_pages_get_stats(t, &st);
    CHECK(st.rejected == expect_rejected);
    CHECK(st.private_bytes == total * P);
}

/* -max_len of 64 steps, unless the command line says otherwise. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char max_len[32];
    char **args;

    fuzz_default_artifact_prefix(argc, argv, "pages");
    for (int i = 1; i < *argc; i++) {
        if (!strncmp((*argv)[i], "-max_len=", 9)) {
            return 0;
        }
    }
    snprintf(max_len, sizeof(max_len), "-max_len=%d", MAX_STEPS * STEP);
    args = g_new0(char *, *argc + 2);       /* kept for the process */
    memcpy(args, *argv, *argc * sizeof(char *));
    args[(*argc)++] = max_len;
    *argv = args;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SevsnpPageTracker *t = sevsnp_pages_new();
    uint64_t expect_rejected = 0, expect_released = 0;
    bool mutated;

    memset(ram, 0, sizeof(ram));
    memset(state, 1, sizeof(state));
    memset(attr, 1, sizeof(attr));
    layout_model(&layouts[0]);
    for (int k = 0; k < lay->n; k++) {
        CHECK(sevsnp_pages_add_region(t, "r", lay->r[k].gfn * P,
                                      lay->r[k].npages * P, true, NULL));
    }
    for (size_t off = 0; off + STEP <= size && off < MAX_STEPS * STEP;
         off += STEP) {
        const uint8_t *s = data + off;
        uint8_t op = s[0] & 7;
        uint64_t bases[] = { 0, 40 * P, TOP * P, 0 };
        uint64_t v = get64(s + 2);
        uint64_t gpa, n = s[10];

        /* Mostly near the regions; sometimes anywhere. */
        gpa = (s[1] % 4 == 3) ? v : bases[s[1] % 4] + (int8_t)(v & 0xff) * P +
              ((v >> 8) & 1 ? (v >> 16) & 0xfff : 0);
        if ((v >> 9) & 1) {
            n = (v >> 10) & 1 ? UINT64_MAX >> (s[10] % 64) : n;
        }
        /* The model is checked whole after every step that changes it. */
        mutated = op <= 1 || op == 4 || op == 5 || op == 6;
        switch (op) {
        case 0:
        case 1:
        case 4:
        case 5: {
            bool priv = op & 1, want, got;
            g_autoptr(GError) err = NULL;

            memset(&cv, 0, sizeof(cv));
            want = ref_valid(gpa, n, priv);
            cv.to_private = priv;
            cv.fail_at = op >= 4 ? (s[0] >> 3) & 3 : 99;
            cv.fail_half = (s[0] >> 5) & 1;
            cv.undo_fail = (s[0] >> 6) & 1;
            if (want && cv.fail_at < cv.npieces) {
                want = false;           /* refused, nothing converted */
            } else if (want) {
                for (int k = 0; k < cv.npieces; k++) {
                    uint64_t g0 = cv.piece_gpa[k] / P;

                    for (uint64_t g = g0; g < g0 + cv.piece_len[k] / P; g++) {
                        state[uidx(g)] = priv;
                    }
                    expect_released += cv.piece_changed[k] * P;
                }
            }
            got = sevsnp_pages_convert(t, gpa, n, priv,
                                       SEVSNP_CONVERT_EXPLICIT, &ops, NULL,
                                       op >= 4 ? &err : NULL);
            cv.done = true;
            CHECK(want == got);
            CHECK(got ? cv.released == cv.npieces : cv.released == 0);
            if (cv.undo_failed) {
                /* Said, and the attributes are no longer the state. */
                CHECK(strstr(err->message, "failed too"));
                for (int i = 0; i < U; i++) {
                    attr[i] = state[i];
                }
            }
            expect_rejected += !got;
            break;
        }
        case 2:
            CHECK(sevsnp_pages_is_shared(t, gpa, n * 97 + (v & 0xfff)) ==
                  ref_all(gpa, n * 97 + (v & 0xfff), false));
            break;
        case 3:
            CHECK(sevsnp_pages_is_private(t, gpa, n * P) ==
                  ref_all(gpa, n * P, true));
            break;
        case 6: {
            const Layout *l = &layouts[s[1] % 4];
            SevsnpRegionSpec spec[4];

            for (int k = 0; k < l->n; k++) {
                spec[k].name = "r";
                spec[k].gpa = l->r[k].gfn * P;
                spec[k].size = l->r[k].npages * P;
                spec[k].backing = spec[k].gpa + l->r[k].delta;
            }
            CHECK(sevsnp_pages_set_regions(t, spec, l->n, NULL));
            layout_model(l);
            break;
        }
        default: {
            int called = 0;
            uint64_t len = n * 97 + (v & 0xfff);
            bool want = ref_all(gpa, len, false);

            CHECK(sevsnp_pages_with_shared(t, gpa, len, mark, &called) ==
                  (want ? 0 : -EFAULT));
            CHECK(called == want);
            break;
        }
        }
        if (mutated) {
            check_all(t, expect_rejected);
        }
    }
    check_all(t, expect_rejected);
    {
        SevsnpPageStats st;
        GArray *regs = sevsnp_pages_get_regions(t);

        sevsnp_pages_get_stats(t, &st);
        CHECK(st.released_bytes == expect_released);
        /* The snapshot says what the regions said one by one. */
        CHECK(regs->len == (guint)lay->n);
        for (int k = 0; k < lay->n; k++) {
            SevsnpPageRegion r, *s = &g_array_index(regs, SevsnpPageRegion,
                                                    k);

            sevsnp_pages_region(t, k, &r);
            CHECK(!strcmp(r.name, s->name) && r.gpa == s->gpa &&
                  r.size == s->size && r.private_bytes == s->private_bytes &&
                  r.shared_bytes == s->shared_bytes);
        }
        g_array_free(regs, TRUE);
    }
    sevsnp_pages_free(t);
    return 0;
}
