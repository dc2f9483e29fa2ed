/*
 * libsevsnp: page-state tracking of guest RAM (shared or private)
 *
 * One bit per 4 KiB page (set: private) in a bitmap per RAM region.
 * Conversions and queries work a 64-bit word at a time, so their cost is
 * proportional to the range, never to the size of guest RAM.
 *
 * Two locks: @convert serialises conversions, region changes and the
 * writes that need their pages to stay shared, and is held across the
 * caller's callbacks (memory attributes, release of backing); @lock
 * guards the regions, their bits and the counters, and is only ever held
 * for a bounded, short time (bit updates, copies), so that a query never
 * waits for a conversion to finish.  The bits and regions change only
 * with both held; the holder of @convert reads them without @lock.
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
    uint64_t changed;           /* pages whose state the conversion changes */
} Piece;

typedef struct Region {
    const char *name;
    uint64_t gfn;               /* first page */
    uint64_t npages;
    uint64_t backing;           /* where its first page lives (caller's) */
    uint64_t nprivate;
    uint64_t *bits;
} Region;

/* Every region, sorted by gfn, with its bits and name: one allocation. */
typedef struct Regions {
    guint len;
    Region r[];
} Regions;

struct SevsnpPageTracker {
    GMutex convert;
    GRWLock lock;
    Regions *regions;
    SevsnpPageStats stats;      /* totals are computed on demand */
    char last_error[512];       /* a refusal allocates nothing */
    GArray *scratch;            /* Piece; conversions only (@convert) */
};

SevsnpPageTracker *sevsnp_pages_new(void)
{
    SevsnpPageTracker *t = g_new0(SevsnpPageTracker, 1);

    g_mutex_init(&t->convert);
    g_rw_lock_init(&t->lock);
    t->regions = g_new0(Regions, 1);
    t->scratch = g_array_new(FALSE, FALSE, sizeof(Piece));
    return t;
}

void sevsnp_pages_free(SevsnpPageTracker *t)
{
    if (!t) {
        return;
    }
    g_free(t->regions);
    g_array_free(t->scratch, TRUE);
    g_rw_lock_clear(&t->lock);
    g_mutex_clear(&t->convert);
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
 * Visit the words covering bits [start, start + n): @body sees each word
 * (@w) and the mask of the bits of the range in it (@m); @pos is the
 * first bit of the range in that word.
 */
#define FOR_EACH_WORD(bits, start, n, w, m, pos, body)                  \
    do {                                                                \
        uint64_t pos = (start), left_ = (n);                            \
        while (left_) {                                                 \
            uint64_t off_ = pos % BITS_PER_WORD;                        \
            uint64_t take_ = MIN(left_, BITS_PER_WORD - off_);          \
            uint64_t *w = &(bits)[pos / BITS_PER_WORD];                 \
            uint64_t m = word_mask(off_, take_);                        \
            body                                                        \
            pos += take_;                                               \
            left_ -= take_;                                             \
        }                                                               \
    } while (0)

static bool bits_all(const uint64_t *cbits, uint64_t start, uint64_t n,
                     bool value)
{
    uint64_t *bits = (uint64_t *)cbits;

    FOR_EACH_WORD(bits, start, n, w, m, pos, {
        if ((*w & m) != (value ? m : 0)) {
            return false;
        }
    });
    return true;
}

static uint64_t bits_count(const uint64_t *cbits, uint64_t start, uint64_t n)
{
    uint64_t *bits = (uint64_t *)cbits;
    uint64_t c = 0;

    FOR_EACH_WORD(bits, start, n, w, m, pos, {
        c += __builtin_popcountll(*w & m);
    });
    return c;
}

/* Set bits [start, start + n) to @value; returns how many changed. */
static uint64_t bits_set(uint64_t *bits, uint64_t start, uint64_t n,
                         bool value)
{
    uint64_t changed = 0;

    FOR_EACH_WORD(bits, start, n, w, m, pos, {
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

/* The first bit in [start, end) whose value is @value, or @end. */
static uint64_t bits_find(const uint64_t *cbits, uint64_t start,
                          uint64_t end, bool value)
{
    uint64_t *bits = (uint64_t *)cbits;

    if (start >= end) {
        return end;
    }
    FOR_EACH_WORD(bits, start, end - start, w, m, pos, {
        uint64_t hit = (value ? *w : ~*w) & m;

        if (hit) {
            return pos - pos % BITS_PER_WORD + __builtin_ctzll(hit);
        }
    });
    return end;
}

/* Bits [pos, pos + n) of @src, n <= 64, as the low bits of a word. */
static uint64_t bits_get(const uint64_t *src, uint64_t pos, uint64_t n)
{
    uint64_t off = pos % BITS_PER_WORD, i = pos / BITS_PER_WORD;
    uint64_t v = src[i] >> off;

    if (off && off + n > BITS_PER_WORD) {
        v |= src[i + 1] << (BITS_PER_WORD - off);
    }
    return n >= BITS_PER_WORD ? v : v & ((1ULL << n) - 1);
}

/* Copy bits [from, from + n) of @src to [to, to + n) of @dst. */
static void bits_copy(uint64_t *dst, uint64_t to, const uint64_t *src,
                      uint64_t from, uint64_t n)
{
    FOR_EACH_WORD(dst, to, n, w, m, pos, {
        uint64_t off = pos % BITS_PER_WORD;
        uint64_t v = bits_get(src, from + (pos - to),
                              __builtin_popcountll(m)) << off;

        *w = (*w & ~m) | (v & m);
    });
}

/* ---- regions ---- */

static bool region_args_ok(const char *name, uint64_t gpa, uint64_t size,
                           GError **err)
{
    if (!size || (gpa | size) & (SEVSNP_PAGE_SIZE - 1) ||
        size - 1 > UINT64_MAX - gpa) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                    "region %s [0x%" G_GINT64_MODIFIER "x, +0x%"
                    G_GINT64_MODIFIER "x) is empty, not 4 KiB aligned or "
                    "wraps around", name, gpa, size);
        return false;
    }
    return true;
}

static gint region_cmp(gconstpointer a, gconstpointer b)
{
    const Region *x = a, *y = b;

    return x->gfn < y->gfn ? -1 : x->gfn > y->gfn;
}

/*
 * The regions of @specs (and @extra, when not NULL), sorted, checked not
 * to overlap, all their pages private.  NULL with @err set on bad input.
 */
static Regions *regions_build(const SevsnpRegionSpec *specs, guint n,
                              const SevsnpRegionSpec *extra, GError **err)
{
    guint total = n + !!extra;
    size_t size = sizeof(Regions) + total * sizeof(Region), words = 0;
    Regions *rs;
    uint64_t *bits;
    char *names;

    for (guint i = 0; i < total; i++) {
        const SevsnpRegionSpec *sp = i < n ? &specs[i] : extra;

        if (!region_args_ok(sp->name, sp->gpa, sp->size, err)) {
            return NULL;
        }
        words += ((sp->size >> SEVSNP_PAGE_SHIFT) + BITS_PER_WORD - 1) /
                 BITS_PER_WORD;
        size += strlen(sp->name) + 1;
    }
    rs = g_malloc(size + words * sizeof(uint64_t));
    rs->len = total;
    bits = (uint64_t *)&rs->r[total];
    names = (char *)(bits + words);
    for (guint i = 0; i < total; i++) {
        const SevsnpRegionSpec *sp = i < n ? &specs[i] : extra;
        Region *r = &rs->r[i];
        size_t len = strlen(sp->name) + 1;

        r->gfn = sp->gpa >> SEVSNP_PAGE_SHIFT;
        r->npages = sp->size >> SEVSNP_PAGE_SHIFT;
        r->backing = sp->backing;
        r->nprivate = r->npages;
        r->bits = bits;
        bits += (r->npages + BITS_PER_WORD - 1) / BITS_PER_WORD;
        r->name = memcpy(names, sp->name, len);
        names += len;
        memset(r->bits, 0, (bits - r->bits) * sizeof(uint64_t));
        bits_set(r->bits, 0, r->npages, true);
    }
    qsort(rs->r, total, sizeof(Region), region_cmp);
    for (guint i = 1; i < total; i++) {
        Region *a = &rs->r[i - 1], *b = &rs->r[i];

        if (region_end(a) > b->gfn) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "region %s [0x%" G_GINT64_MODIFIER "x, +0x%"
                        G_GINT64_MODIFIER "x) overlaps region %s",
                        b->name, b->gfn << SEVSNP_PAGE_SHIFT,
                        b->npages << SEVSNP_PAGE_SHIFT, a->name);
            g_free(rs);
            return NULL;
        }
    }
    return rs;
}

/*
 * Make @rs the regions, with @convert held: a page that was RAM before
 * with the same backing keeps its state, a new one stays private, as
 * KVM's memory attributes of a new guest_memfd memory slot.
 */
static void regions_replace(SevsnpPageTracker *t, Regions *rs)
{
    Regions *old = t->regions;

    for (guint i = 0; i < rs->len; i++) {
        Region *r = &rs->r[i];

        for (guint k = 0; k < old->len; k++) {
            Region *o = &old->r[k];
            uint64_t s = MAX(o->gfn, r->gfn);
            uint64_t e = MIN(region_end(o), region_end(r));

            if (s < e && o->backing - (o->gfn << SEVSNP_PAGE_SHIFT) ==
                         r->backing - (r->gfn << SEVSNP_PAGE_SHIFT)) {
                bits_copy(r->bits, s - r->gfn, o->bits, s - o->gfn, e - s);
            }
        }
        r->nprivate = bits_count(r->bits, 0, r->npages);
    }
    g_rw_lock_writer_lock(&t->lock);
    t->regions = rs;
    g_rw_lock_writer_unlock(&t->lock);
    g_free(old);
}

gboolean sevsnp_pages_add_region(SevsnpPageTracker *t, const char *name,
                                 uint64_t gpa, uint64_t size, bool private,
                                 GError **err)
{
    SevsnpRegionSpec *specs, extra = { name, gpa, size, gpa };
    Regions *rs;
    Region *r = NULL;

    g_mutex_lock(&t->convert);
    specs = g_new(SevsnpRegionSpec, t->regions->len);
    for (guint i = 0; i < t->regions->len; i++) {
        Region *o = &t->regions->r[i];

        specs[i].name = o->name;
        specs[i].gpa = o->gfn << SEVSNP_PAGE_SHIFT;
        specs[i].size = o->npages << SEVSNP_PAGE_SHIFT;
        specs[i].backing = o->backing;
    }
    rs = regions_build(specs, t->regions->len, &extra, err);
    g_free(specs);
    if (!rs) {
        g_mutex_unlock(&t->convert);
        return FALSE;
    }
    for (guint i = 0; !private && i < rs->len; i++) {
        if (rs->r[i].gfn == gpa >> SEVSNP_PAGE_SHIFT) {
            r = &rs->r[i];
        }
    }
    if (r) {
        /* A new region, so its state is not carried over: all shared. */
        bits_set(r->bits, 0, r->npages, false);
    }
    regions_replace(t, rs);
    g_mutex_unlock(&t->convert);
    return TRUE;
}

gboolean sevsnp_pages_set_regions(SevsnpPageTracker *t,
                                  const SevsnpRegionSpec *specs, guint n,
                                  GError **err)
{
    Regions *rs = regions_build(specs, n, NULL, err);

    if (!rs) {
        return FALSE;
    }
    g_mutex_lock(&t->convert);
    regions_replace(t, rs);
    g_mutex_unlock(&t->convert);
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

static void region_describe(const Region *r, SevsnpPageRegion *out)
{
    out->name = r->name;
    out->gpa = r->gfn << SEVSNP_PAGE_SHIFT;
    out->size = r->npages << SEVSNP_PAGE_SHIFT;
    out->private_bytes = r->nprivate << SEVSNP_PAGE_SHIFT;
    out->shared_bytes = (r->npages - r->nprivate) << SEVSNP_PAGE_SHIFT;
}

void sevsnp_pages_region(SevsnpPageTracker *t, guint i, SevsnpPageRegion *out)
{
    g_rw_lock_reader_lock(&t->lock);
    g_assert(i < t->regions->len);
    region_describe(&t->regions->r[i], out);
    g_rw_lock_reader_unlock(&t->lock);
}

static void page_region_clear(gpointer p)
{
    g_free((char *)((SevsnpPageRegion *)p)->name);
}

GArray *sevsnp_pages_get_regions(SevsnpPageTracker *t)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(SevsnpPageRegion));

    g_array_set_clear_func(a, page_region_clear);
    g_rw_lock_reader_lock(&t->lock);
    for (guint i = 0; i < t->regions->len; i++) {
        SevsnpPageRegion d;

        region_describe(&t->regions->r[i], &d);
        d.name = g_strdup(d.name);
        g_array_append_val(a, d);
    }
    g_rw_lock_reader_unlock(&t->lock);
    return a;
}

/* The first region that ends after page @gfn (binary search), or len. */
static guint first_region_after(SevsnpPageTracker *t, uint64_t gfn)
{
    guint lo = 0, hi = t->regions->len;

    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (region_end(&t->regions->r[mid]) <= gfn) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/*
 * Split pages [gfn, end) into pieces, one per region, in address order,
 * each with the number of its pages that are not yet @to_private.
 * Returns whether they cover the range without a gap; *@gap gets the
 * first page of the first gap.
 */
static bool split(SevsnpPageTracker *t, uint64_t gfn, uint64_t end,
                  bool to_private, GArray *pieces, uint64_t *gap)
{
    uint64_t pos = gfn;
    bool covered = true;

    for (guint i = first_region_after(t, gfn); i < t->regions->len; i++) {
        Region *r = &t->regions->r[i];
        uint64_t s, e, have;
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
        have = bits_count(r->bits, p.first, p.n);
        p.changed = to_private ? p.n - have : have;
        g_array_append_val(pieces, p);
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
        r = &t->regions->r[i];
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

    /* No conversion can start until @fn returns. */
    g_mutex_lock(&t->convert);
    if (range_all(t, gpa, len, false)) {
        r = fn(opaque);
    }
    g_mutex_unlock(&t->convert);
    return r;
}

/* ---- conversions ---- */

/* Count a request of @origin. */
static void count_request(SevsnpPageTracker *t, SevsnpConvertOrigin origin)
{
    if (origin == SEVSNP_CONVERT_EXPLICIT) {
        t->stats.explicit_requests++;
    } else {
        t->stats.implicit_requests++;
    }
}

/*
 * Count a request of @origin refused and keep the message (in the
 * tracker's own buffer: a guest sending bad requests flat out costs no
 * allocation); @err, when not NULL, gets it too.
 */
static void G_GNUC_PRINTF(5, 6) refuse(SevsnpPageTracker *t,
                                       SevsnpConvertOrigin origin,
                                       GError **err, int code,
                                       const char *fmt, ...)
{
    va_list ap;

    g_rw_lock_writer_lock(&t->lock);
    va_start(ap, fmt);
    g_vsnprintf(t->last_error, sizeof(t->last_error), fmt, ap);
    va_end(ap);
    count_request(t, origin);
    t->stats.rejected++;
    if (err) {
        g_set_error_literal(err, SEVSNP_ERROR, code, t->last_error);
    }
    g_rw_lock_writer_unlock(&t->lock);
}

/*
 * Undo pieces [0, upto] of a conversion to @to_private whose memory
 * attributes were (or, for piece @upto, may have been) set: the pages
 * whose state it was changing get their old attributes back, run by run,
 * last piece first.  The bits still hold the old state.  Returns 0, or
 * the first failure (*@fail_gpa, *@fail_len: where).
 */
static int undo(SevsnpPageTracker *t, GArray *pieces, guint upto,
                bool to_private, const SevsnpConvertOps *ops, void *opaque,
                uint64_t *fail_gpa, uint64_t *fail_len)
{
    int first = 0;

    for (guint k = upto + 1; k-- > 0;) {
        Piece *p = &g_array_index(pieces, Piece, k);
        Region *r = &t->regions->r[p->idx];
        uint64_t end = p->first + p->n;
        uint64_t s = bits_find(r->bits, p->first, end, !to_private);

        while (s < end) {
            uint64_t e = bits_find(r->bits, s, end, to_private);
            uint64_t gpa = (r->gfn + s) << SEVSNP_PAGE_SHIFT;
            int ret = ops->set_attributes(opaque, gpa,
                                          (e - s) << SEVSNP_PAGE_SHIFT,
                                          !to_private);

            if (ret && !first) {
                first = ret;
                *fail_gpa = gpa;
                *fail_len = (e - s) << SEVSNP_PAGE_SHIFT;
            }
            s = bits_find(r->bits, e, end, !to_private);
        }
    }
    return first;
}

gboolean sevsnp_pages_convert(SevsnpPageTracker *t, uint64_t gpa,
                              uint64_t npages, bool to_private,
                              SevsnpConvertOrigin origin,
                              const SevsnpConvertOps *ops, void *opaque,
                              GError **err)
{
    const char *dir = to_private ? "private" : "shared";
    GArray *pieces = t->scratch;
    uint64_t gfn = gpa >> SEVSNP_PAGE_SHIFT, gap, released = 0;
    gboolean ok = FALSE;

    g_mutex_lock(&t->convert);
    if (npages == 0) {
        refuse(t, origin, err, SEVSNP_ERROR_INVALID, "to %s at 0x%"
               G_GINT64_MODIFIER "x: 0 pages", dir, gpa);
        goto out;
    }
    if (gpa & (SEVSNP_PAGE_SIZE - 1)) {
        refuse(t, origin, err, SEVSNP_ERROR_INVALID, "to %s at 0x%"
               G_GINT64_MODIFIER "x: address not 4 KiB aligned", dir, gpa);
        goto out;
    }
    if (npages > GFN_LIMIT - gfn) {
        refuse(t, origin, err, SEVSNP_ERROR_INVALID, "to %s at 0x%"
               G_GINT64_MODIFIER "x: %" G_GUINT64_FORMAT " pages go past "
               "the end of the address space", dir, gpa, npages);
        goto out;
    }
    g_array_set_size(pieces, 0);
    if (!split(t, gfn, gfn + npages, to_private, pieces, &gap) &&
        to_private) {
        refuse(t, origin, err, SEVSNP_ERROR_INVALID, "to private: page 0x%"
               G_GINT64_MODIFIER "x of [0x%" G_GINT64_MODIFIER "x, +%"
               G_GUINT64_FORMAT " pages) is not RAM", gap << SEVSNP_PAGE_SHIFT,
               gpa, npages);
        goto out;
    }

    /* The memory attributes of every piece, or of none. */
    for (guint k = 0; ops && ops->set_attributes && k < pieces->len; k++) {
        Piece *p = &g_array_index(pieces, Piece, k);
        Region *r = &t->regions->r[p->idx];
        uint64_t pgpa = (r->gfn + p->first) << SEVSNP_PAGE_SHIFT;
        uint64_t ugpa = 0, ulen = 0;
        int ret, uret;

        ret = ops->set_attributes(opaque, pgpa, p->n << SEVSNP_PAGE_SHIFT,
                                  to_private);
        if (!ret) {
            continue;
        }
        uret = undo(t, pieces, k, to_private, ops, opaque, &ugpa, &ulen);
        if (!uret) {
            refuse(t, origin, err, SEVSNP_ERROR_IO, "to %s: [0x%"
                   G_GINT64_MODIFIER "x, +%" G_GUINT64_FORMAT " pages) of %s "
                   "failed: %s; nothing was converted", dir, pgpa, p->n,
                   r->name, g_strerror(-ret));
        } else {
            refuse(t, origin, err, SEVSNP_ERROR_IO, "to %s: [0x%"
                   G_GINT64_MODIFIER "x, +%" G_GUINT64_FORMAT " pages) of %s "
                   "failed: %s; undoing [0x%" G_GINT64_MODIFIER "x, +%"
                   G_GUINT64_FORMAT " pages) failed too (%s): its memory "
                   "attributes disagree with the page state", dir, pgpa, p->n,
                   r->name, g_strerror(-ret), ugpa, ulen >> SEVSNP_PAGE_SHIFT,
                   g_strerror(-uret));
        }
        goto out;
    }

    /* The new state. */
    g_rw_lock_writer_lock(&t->lock);
    count_request(t, origin);
    for (guint k = 0; k < pieces->len; k++) {
        Piece *p = &g_array_index(pieces, Piece, k);
        Region *r = &t->regions->r[p->idx];

        bits_set(r->bits, p->first, p->n, to_private);
        if (to_private) {
            r->nprivate += p->changed;
            t->stats.pages_to_private += p->changed;
        } else {
            r->nprivate -= p->changed;
            t->stats.pages_to_shared += p->changed;
        }
    }
    if (to_private) {
        t->stats.to_private++;
    } else {
        t->stats.to_shared++;
    }
    g_rw_lock_writer_unlock(&t->lock);
    ok = TRUE;

    /* The backing no longer used; the conversion stands whatever happens. */
    for (guint k = 0; ops && ops->release && k < pieces->len; k++) {
        Piece *p = &g_array_index(pieces, Piece, k);
        Region *r = &t->regions->r[p->idx];

        released += ops->release(opaque, (r->gfn + p->first) <<
                                 SEVSNP_PAGE_SHIFT, p->n << SEVSNP_PAGE_SHIFT,
                                 to_private, p->changed);
    }
    if (released) {
        g_rw_lock_writer_lock(&t->lock);
        t->stats.released_bytes += released;
        g_rw_lock_writer_unlock(&t->lock);
    }
out:
    g_mutex_unlock(&t->convert);
    return ok;
}

void sevsnp_pages_reject(SevsnpPageTracker *t, SevsnpConvertOrigin origin,
                         const char *msg)
{
    refuse(t, origin, NULL, SEVSNP_ERROR_INVALID, "%s", msg);
}

void sevsnp_pages_get_stats(SevsnpPageTracker *t, SevsnpPageStats *s)
{
    g_rw_lock_reader_lock(&t->lock);
    *s = t->stats;
    s->private_bytes = 0;
    s->shared_bytes = 0;
    for (guint i = 0; i < t->regions->len; i++) {
        Region *r = &t->regions->r[i];

        s->private_bytes += r->nprivate << SEVSNP_PAGE_SHIFT;
        s->shared_bytes += (r->npages - r->nprivate) << SEVSNP_PAGE_SHIFT;
    }
    g_rw_lock_reader_unlock(&t->lock);
}

char *sevsnp_pages_last_error(SevsnpPageTracker *t)
{
    char *e;

    g_rw_lock_reader_lock(&t->lock);
    e = t->last_error[0] ? g_strdup(t->last_error) : NULL;
    g_rw_lock_reader_unlock(&t->lock);
    return e;
}
