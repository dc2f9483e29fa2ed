/*
 * SEV-SNP guest page state: which guest RAM pages are shared or private
 *
 * One interface, two homes: QEMU's own RamBlockAttributes, kept by
 * kvm_convert_memory_range() (QEMU 10.1 and later, sev-snp-pages-qemu.c),
 * or libsevsnp's page-state tracker where QEMU keeps none (QEMU 10.0,
 * sev-snp-pages-tracker.c).  Either way there is one source of truth, and
 * the glue has one code path.
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

/*
 * @simulated: no KVM, the simulator sets the memory attributes and every
 * region is taken as guest_memfd-backed (qtest).
 */
SevSnpPages *sev_snp_pages_new(bool simulated);
void sev_snp_pages_free(SevSnpPages *p);

/*
 * Add [@gpa, @gpa + @size), at @offset of @rb, all pages private (as KVM
 * sets guest_memfd memory at launch).  In address order.
 */
bool sev_snp_pages_add_region(SevSnpPages *p, const char *name, RAMBlock *rb,
                              uint64_t gpa, ram_addr_t offset, uint64_t size,
                              Error **errp);
guint sev_snp_pages_n_regions(SevSnpPages *p);
void sev_snp_pages_region(SevSnpPages *p, guint i, SevsnpPageRegion *r);

/*
 * Convert [@gpa, @gpa + @npages * 4 KiB): validated whole, split per
 * memory section, memory attributes set, backing no longer used released,
 * counted.  On refusal (counted too) false with the reason in @errp.
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

#endif
