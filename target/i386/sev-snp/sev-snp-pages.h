/*
 * SEV-SNP guest page state: which guest RAM pages are shared or private
 *
 * It lives in QEMU's own RamBlockAttributes, kept by
 * kvm_convert_memory_range() (sev-snp-pages-qemu.c).
 * before QEMU 10.1: begin
 * One interface, two homes: QEMU 10.0 keeps no page state, and there
 * libsevsnp's page-state tracker holds it (sev-snp-pages-tracker.c).
 * Either way there is one source of truth, and the glue has one code
 * path.
 * before QEMU 10.1: end
 *
 * Locking: conversions (and the certificate writes that
 * need their pages to stay shared) are serialised by a lock they hold
 * across their work; the counters, the region list and its totals have a
 * lock of their own that is only ever held briefly.  The monitor
 * (sev_snp_pages_get_stats(), sev_snp_pages_regions()) and the memory
 * listener (sev_snp_pages_set_map()) take the brief one only: they never
 * wait for a conversion.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_SEV_SNP_PAGES_H
#define I386_SEV_SNP_PAGES_H

#include "compat.h"
#include "libsevsnp.h"

typedef struct SevSnpPages SevSnpPages;

/* One guest RAM region of the memory map. */
typedef struct SevSnpRamRegion {
    char *name;
    RAMBlock *rb;
    uint64_t gpa;
    ram_addr_t offset;      /* of gpa within rb */
    uint64_t size;
} SevSnpRamRegion;

/*
 * @simulated: no KVM (qtest): no memory attributes to set, and every
 * region is taken as guest_memfd-backed.
 */
SevSnpPages *sev_snp_pages_new(bool simulated);
void sev_snp_pages_free(SevSnpPages *p);

/*
 * The guest RAM regions as the memory map has them now (a GArray of
 * SevSnpRamRegion in address order, taken), with the BQL held.  A page
 * that stays RAM of the same RAM block keeps its state; new RAM is
 * private, as KVM sets a new guest_memfd memory slot.  Applied at once
 * when no conversion runs, else by the conversion as it finishes: never
 * waits.
 */
void sev_snp_pages_set_map(SevSnpPages *p, GArray *map);

/* The regions and their bytes (a GArray of SevsnpPageRegion, names owned). */
GArray *sev_snp_pages_regions(SevSnpPages *p);

/*
 * Convert [@gpa, @gpa + @npages * 4 KiB): validated whole, split per
 * memory section, memory attributes set on every piece or none, backing
 * no longer used released, counted.  On refusal (counted too) false with
 * the reason in @errp, and nothing converted.
 */
bool sev_snp_pages_convert(SevSnpPages *p, uint64_t gpa, uint64_t npages,
                           bool to_private, SevsnpConvertOrigin origin,
                           Error **errp);

/* Count a request of @origin refused before it got to the page state. */
void sev_snp_pages_reject(SevSnpPages *p, SevsnpConvertOrigin origin,
                          const char *msg);

/* Is [@gpa, @gpa + @len) guest RAM of the regions, all of it shared? */
bool sev_snp_pages_is_shared(SevSnpPages *p, uint64_t gpa, uint64_t len);

/*
 * Run @fn(@opaque) only if [@gpa, @gpa + @len) is all shared, with no
 * conversion possible until it returns; else -EFAULT.
 */
int sev_snp_pages_with_shared(SevSnpPages *p, uint64_t gpa, uint64_t len,
                              int (*fn)(void *opaque), void *opaque);

void sev_snp_pages_get_stats(SevSnpPages *p, SevsnpPageStats *s);
char *sev_snp_pages_last_error(SevSnpPages *p);

/*
 * Test only (qtest): the next conversion whose piece holds @gpa fails
 * there as when KVM refuses its memory attributes (QEMU 10.0) or a
 * RamDiscardListener refuses to populate it (QEMU 10.1 and later, to
 * shared only).
 */
bool sev_snp_pages_inject_failure(SevSnpPages *p, uint64_t gpa,
                                  Error **errp);

/* Test only: an injected failure that did not happen will not. */
void sev_snp_pages_inject_disarm(SevSnpPages *p);

#endif
