/*
 * libsevsnp: page-state tracking of guest RAM (shared or private)
 *
 * One bit per 4 KiB page (set: private) in a bitmap per RAM region.
 * Conversions and queries work a 64-bit word at a time, so their cost is
 * proportional to the range, never to the size of guest RAM.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>

#include "libsevsnp.h"

#define BITS_PER_WORD 64

/* Addresses are handled as page numbers: no sum can overflow. */
#define GFN_LIMIT (1ULL << (64 - SEVSNP_PAGE_SHIFT))

/* One piece of a range inside a region: pages [first, first + n). */
typedef struct Piece {
    guint idx;
    uint64_t first;
    uint64_t n;
} Piece;

typedef struct Region {
    char *name;
    uint64_t gfn;               /* first page */
    uint64_t npages;
    uint64_t nprivate;
    uint64_t *bits;
} Region;

struct SevsnpPageTracker {
    GRWLock lock;
    GArray *regions;            /* Region, sorted by gfn */
    SevsnpPageStats stats;      /* totals are computed on demand */
    char *last_error;
    GArray *scratch;            /* Piece; conversions only (writer lock) */
};

SevsnpPageTracker *sevsnp_pages_new(void)
{
    SevsnpPageTracker *t = g_new0(SevsnpPageTracker, 1);

    g_rw_lock_init(&t->lock);
    t->regions = g_array_new(FALSE, TRUE, sizeof(Region));
    t->scratch = g_array_new(FALSE, FALSE, sizeof(Piece));
    return t;
}

void sevsnp_pages_free(SevsnpPageTracker *t)
{
    if (!t) {
        return;
    }
    for (guint i = 0; i < t->regions->len; i++) {
        Region *r = &g_array_index(t->regions, Region, i);

        g_free(r->name);
        g_free(r->bits);
    }
    g_array_free(t->regions, TRUE);
    g_array_free(t->scratch, TRUE);
    g_free(t->last_error);
    g_rw_lock_clear(&t->lock);
    g_free(t);
}

static uint64_t region_end(const Region *r)
{
    return r->gfn + r->npages;
}

/* ---- bitmap words ---- */

static inline uint64_t word_mask(uint64_t first, uint64_t n)
{
    uint64_t m = n >= BITS_PER_WORD ? ~0ULL : (1ULL << n) - 1;

    return m << first;
}

/*
 * Visit the words covering bits [start, start + n): @fn gets each word
 * and the mask of the bits of the range in it.  Returns FALSE as soon as
 * @fn does.
 */
#define FOR_EACH_WORD(bits, start, n, w, m, body)                       \
    do {                                                                \
        uint64_t pos_ = (start), left_ = (n);                           \
        while (left_) {                                                 \
            uint64_t off_ = pos_ % BITS_PER_WORD;                       \
            uint64_t take_ = MIN(left_, BITS_PER_WORD - off_);          \
            uint64_t *w = &(bits)[pos_ / BITS_PER_WORD];                \
            uint64_t m = word_mask(off_, take_);                        \
            body                                                        \
            pos_ += take_;                                              \
            left_ -= take_;                                             \
        }                                                               \
    } while (0)

static bool bits_all(uint64_t *bits, uint64_t start, uint64_t n, bool value)
{
    FOR_EACH_WORD(bits, start, n, w, m, {
        if ((*w & m) != (value ? m : 0)) {
            return false;
        }
    });
    return true;
}

static uint64_t bits_count(uint64_t *bits, uint64_t start, uint64_t n)
{
    uint64_t c = 0;

    FOR_EACH_WORD(bits, start, n, w, m, {
        c += __builtin_popcountll(*w & m);
    });
    return c;
}

/* Set bits [start, start + n) to @value; returns how many changed. */
static uint64_t bits_set(uint64_t *bits, uint64_t start, uint64_t n,
                         bool value)
{
    uint64_t changed = 0;

    FOR_EACH_WORD(bits, start, n, w, m, {
        if (value) {
            changed += __builtin_popcountll(m & ~*w);
            *w |= m;
        } else {
            changed += __builtin_popcountll(m & *w);
            *w &= ~m;
        }
    });
    return changed;
}

/* ---- regions ---- */

gboolean sevsnp_pages_add_region(SevsnpPageTracker *t, const char *name,
                                 uint64_t gpa, uint64_t size, bool private,
                                 GError **err)
{
    Region r = { 0 };
    guint at;

    if (!size || (gpa | size) & (SEVSNP_PAGE_SIZE - 1) ||
        size - 1 > UINT64_MAX - gpa) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                    "region %s [0x%" G_GINT64_MODIFIER "x, +0x%"
                    G_GINT64_MODIFIER "x) is empty, not 4 KiB aligned or "
                    "wraps around", name, gpa, size);
        return FALSE;
    }
    r.gfn = gpa >> SEVSNP_PAGE_SHIFT;
    r.npages = size >> SEVSNP_PAGE_SHIFT;

    g_rw_lock_writer_lock(&t->lock);
    for (at = 0; at < t->regions->len; at++) {
        Region *o = &g_array_index(t->regions, Region, at);

        if (r.gfn < region_end(o) && o->gfn < region_end(&r)) {
            g_rw_lock_writer_unlock(&t->lock);
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "region %s [0x%" G_GINT64_MODIFIER "x, +0x%"
                        G_GINT64_MODIFIER "x) overlaps region %s", name, gpa,
                        size, o->name);
            return FALSE;
        }
        if (o->gfn > r.gfn) {
            break;
        }
    }
    r.name = g_strdup(name);
    r.bits = g_new0(uint64_t, (r.npages + BITS_PER_WORD - 1) / BITS_PER_WORD);
    if (private) {
        bits_set(r.bits, 0, r.npages, true);
        r.nprivate = r.npages;
    }
    g_array_insert_val(t->regions, at, r);
    g_rw_lock_writer_unlock(&t->lock);
    return TRUE;
}

guint sevsnp_pages_n_regions(SevsnpPageTracker *t)
{
    guint n;

    g_rw_lock_reader_lock(&t->lock);
    n = t->regions->len;
    g_rw_lock_reader_unlock(&t->lock);
    return n;
}

void sevsnp_pages_region(SevsnpPageTracker *t, guint i, SevsnpPageRegion *out)
{
    Region *r;

    g_rw_lock_reader_lock(&t->lock);
    g_assert(i < t->regions->len);
    r = &g_array_index(t->regions, Region, i);
    out->name = r->name;
    out->gpa = r->gfn << SEVSNP_PAGE_SHIFT;
    out->size = r->npages << SEVSNP_PAGE_SHIFT;
    out->private_bytes = r->nprivate << SEVSNP_PAGE_SHIFT;
    out->shared_bytes = (r->npages - r->nprivate) << SEVSNP_PAGE_SHIFT;
    g_rw_lock_reader_unlock(&t->lock);
}

/* The first region that ends after page @gfn (binary search), or len. */
static guint first_region_after(SevsnpPageTracker *t, uint64_t gfn)
{
    guint lo = 0, hi = t->regions->len;

    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (region_end(&g_array_index(t->regions, Region, mid)) <= gfn) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/*
 * Split pages [gfn, end) into pieces, one per region, in address order.
 * Returns whether they cover the range without a gap; *@gap gets the
 * first page of the first gap.
 */
static bool split(SevsnpPageTracker *t, uint64_t gfn, uint64_t end,
                  GArray *pieces, uint64_t *gap)
{
    uint64_t pos = gfn;
    bool covered = true;

    for (guint i = first_region_after(t, gfn); i < t->regions->len; i++) {
        Region *r = &g_array_index(t->regions, Region, i);
        uint64_t s, e;
        Piece p;

        if (r->gfn >= end) {
            break;
        }
        s = MAX(r->gfn, gfn);
        e = MIN(region_end(r), end);
        if (s > pos && covered) {
            covered = false;
            *gap = pos;
        }
        p.idx = i;
        p.first = s - r->gfn;
        p.n = e - s;
        if (pieces) {
            g_array_append_val(pieces, p);
        }
        pos = e;
    }
    if (pos < end && covered) {
        covered = false;
        *gap = pos;
    }
    return covered;
}

/*
 * Bytes [gpa, gpa + len) are all RAM of the regions and all in @priv.
 * Walks the regions directly: queries run concurrently, without scratch.
 */
static bool range_all(SevsnpPageTracker *t, uint64_t gpa, uint64_t len,
                      bool priv)
{
    uint64_t gfn, end;

    if (!len || len - 1 > UINT64_MAX - gpa) {
        return false;
    }
    gfn = gpa >> SEVSNP_PAGE_SHIFT;
    end = ((gpa + len - 1) >> SEVSNP_PAGE_SHIFT) + 1;
    for (guint i = first_region_after(t, gfn); gfn < end; i++) {
        Region *r;
        uint64_t e;

        if (i >= t->regions->len) {
            return false;
        }
        r = &g_array_index(t->regions, Region, i);
        if (r->gfn > gfn) {
            return false;           /* a hole */
        }
        e = MIN(region_end(r), end);
        if (!bits_all(r->bits, gfn - r->gfn, e - gfn, priv)) {
            return false;
        }
        gfn = e;
    }
    return true;
}

bool sevsnp_pages_is_shared(SevsnpPageTracker *t, uint64_t gpa, uint64_t len)
{
    bool ok;

    g_rw_lock_reader_lock(&t->lock);
    ok = range_all(t, gpa, len, false);
    g_rw_lock_reader_unlock(&t->lock);
    return ok;
}

bool sevsnp_pages_is_private(SevsnpPageTracker *t, uint64_t gpa,
                             uint64_t len)
{
    bool ok;

    g_rw_lock_reader_lock(&t->lock);
    ok = range_all(t, gpa, len, true);
    g_rw_lock_reader_unlock(&t->lock);
    return ok;
}

int sevsnp_pages_with_shared(SevsnpPageTracker *t, uint64_t gpa,
                             uint64_t len, int (*fn)(void *opaque),
                             void *opaque)
{
    int r = -EFAULT;

    g_rw_lock_reader_lock(&t->lock);
    if (range_all(t, gpa, len, false)) {
        r = fn(opaque);
    }
    g_rw_lock_reader_unlock(&t->lock);
    return r;
}

/* ---- conversions ---- */

/* Count a refusal and keep its message; called with the lock held. */
static void G_GNUC_PRINTF(4, 5) refuse(SevsnpPageTracker *t, GError **err,
                                       int code, const char *fmt, ...)
{
    va_list ap;

    g_free(t->last_error);
    va_start(ap, fmt);
    t->last_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    t->stats.rejected++;
    g_set_error_literal(err, SEVSNP_ERROR, code, t->last_error);
}

gboolean sevsnp_pages_convert(SevsnpPageTracker *t, uint64_t gpa,
                              uint64_t npages, bool to_private,
                              SevsnpConvertOrigin origin,
                              SevsnpConvertFn apply, void *opaque,
                              GError **err)
{
    const char *dir = to_private ? "private" : "shared";
    GArray *pieces = t->scratch;
    uint64_t gfn = gpa >> SEVSNP_PAGE_SHIFT, gap;
    gboolean ok = FALSE;

    g_rw_lock_writer_lock(&t->lock);
    if (origin == SEVSNP_CONVERT_EXPLICIT) {
        t->stats.explicit_requests++;
    } else {
        t->stats.implicit_requests++;
    }
    if (npages == 0) {
        refuse(t, err, SEVSNP_ERROR_INVALID, "to %s at 0x%"
               G_GINT64_MODIFIER "x: 0 pages", dir, gpa);
        goto out;
    }
    if (gpa & (SEVSNP_PAGE_SIZE - 1)) {
        refuse(t, err, SEVSNP_ERROR_INVALID, "to %s at 0x%"
               G_GINT64_MODIFIER "x: address not 4 KiB aligned", dir, gpa);
        goto out;
    }
    if (npages > GFN_LIMIT - gfn) {
        refuse(t, err, SEVSNP_ERROR_INVALID, "to %s at 0x%"
               G_GINT64_MODIFIER "x: %" G_GUINT64_FORMAT " pages go past "
               "the end of the address space", dir, gpa, npages);
        goto out;
    }
    g_array_set_size(pieces, 0);
    if (!split(t, gfn, gfn + npages, pieces, &gap) && to_private) {
        refuse(t, err, SEVSNP_ERROR_INVALID, "to private: page 0x%"
               G_GINT64_MODIFIER "x of [0x%" G_GINT64_MODIFIER "x, +%"
               G_GUINT64_FORMAT " pages) is not RAM", gap << SEVSNP_PAGE_SHIFT,
               gpa, npages);
        goto out;
    }

    ok = TRUE;
    for (guint k = 0; k < pieces->len; k++) {
        Piece *p = &g_array_index(pieces, Piece, k);
        Region *r = &g_array_index(t->regions, Region, p->idx);
        uint64_t have = bits_count(r->bits, p->first, p->n);
        uint64_t changed = to_private ? p->n - have : have;
        uint64_t pgpa = (r->gfn + p->first) << SEVSNP_PAGE_SHIFT;
        uint64_t released = 0;
        int ret = 0;

        if (apply) {
            ret = apply(opaque, p->idx, pgpa, p->n << SEVSNP_PAGE_SHIFT,
                        to_private, changed, &released);
        }
        if (ret) {
            refuse(t, err, SEVSNP_ERROR_IO, "to %s: [0x%" G_GINT64_MODIFIER
                   "x, +%" G_GUINT64_FORMAT " pages) of %s failed: %s", dir,
                   pgpa, p->n, r->name, g_strerror(-ret));
            ok = FALSE;
            break;
        }
        bits_set(r->bits, p->first, p->n, to_private);
        if (to_private) {
            r->nprivate += changed;
            t->stats.pages_to_private += changed;
        } else {
            r->nprivate -= changed;
            t->stats.pages_to_shared += changed;
        }
        t->stats.released_bytes += released;
    }
    if (ok && to_private) {
        t->stats.to_private++;
    } else if (ok) {
        t->stats.to_shared++;
    }
out:
    g_rw_lock_writer_unlock(&t->lock);
    return ok;
}

void sevsnp_pages_reject(SevsnpPageTracker *t, SevsnpConvertOrigin origin,
                         const char *msg)
{
    g_rw_lock_writer_lock(&t->lock);
    if (origin == SEVSNP_CONVERT_EXPLICIT) {
        t->stats.explicit_requests++;
    } else {
        t->stats.implicit_requests++;
    }
    refuse(t, NULL, SEVSNP_ERROR_INVALID, "%s", msg);
    g_rw_lock_writer_unlock(&t->lock);
}

void sevsnp_pages_get_stats(SevsnpPageTracker *t, SevsnpPageStats *s)
{
    g_rw_lock_reader_lock(&t->lock);
    *s = t->stats;
    s->private_bytes = 0;
    s->shared_bytes = 0;
    for (guint i = 0; i < t->regions->len; i++) {
        Region *r = &g_array_index(t->regions, Region, i);

        s->private_bytes += r->nprivate << SEVSNP_PAGE_SHIFT;
        s->shared_bytes += (r->npages - r->nprivate) << SEVSNP_PAGE_SHIFT;
    }
    g_rw_lock_reader_unlock(&t->lock);
}

char *sevsnp_pages_last_error(SevsnpPageTracker *t)
{
    char *e;

    g_rw_lock_reader_lock(&t->lock);
    e = g_strdup(t->last_error);
    g_rw_lock_reader_unlock(&t->lock);
    return e;
}
