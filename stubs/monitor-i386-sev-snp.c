/*
 * QMP commands of SEV-SNP (qapi/sev-snp.json) for every QEMU without it:
 * other targets, and x86 built without SEV.  As stubs/monitor-i386-sev.c
 * does for SEV, the schema is the same for every target and these answer
 * that SEV-SNP is not available.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-sev-snp.h"

SevSnpCertsInfo *qmp_query_sev_snp_certs(const char *id, Error **errp)
{
    error_setg(errp, "SEV-SNP is not available in this QEMU");
    return NULL;
}

void qmp_sev_snp_set_certs(const char *id, const char *certs_path,
                           bool has_timeout, uint32_t timeout,
                           bool has_rate_limit, uint32_t rate_limit,
                           bool has_rate_burst, uint32_t rate_burst,
                           bool has_busy_limit, uint32_t busy_limit,
                           Error **errp)
{
    error_setg(errp, "SEV-SNP is not available in this QEMU");
}

SevSnpInjectResult *qmp_x_sev_snp_inject_req_certs(const char *id,
                                                   int64_t cpu_index,
                                                   uint64_t gpa,
                                                   uint64_t npages,
                                                   bool has_hold, bool hold,
                                                   Error **errp)
{
    error_setg(errp, "SEV-SNP is not available in this QEMU");
    return NULL;
}

void qmp_x_sev_snp_complete_req_certs(const char *id, int64_t cpu_index,
                                      Error **errp)
{
    error_setg(errp, "SEV-SNP is not available in this QEMU");
}

SevSnpMemoryInfo *qmp_query_sev_snp_memory(const char *id, Error **errp)
{
    error_setg(errp, "SEV-SNP is not available in this QEMU");
    return NULL;
}

SevSnpMapGpaRangeResult *qmp_x_sev_snp_inject_map_gpa_range(
    const char *id, bool has_cpu_index, int64_t cpu_index, uint64_t gpa,
    uint64_t npages, bool private, bool has_fail_at, uint64_t fail_at,
    Error **errp)
{
    error_setg(errp, "SEV-SNP is not available in this QEMU");
    return NULL;
}

SevSnpMemoryFaultResult *qmp_x_sev_snp_inject_memory_fault(
    const char *id, bool has_cpu_index, int64_t cpu_index, uint64_t gpa,
    uint64_t size, bool private, Error **errp)
{
    error_setg(errp, "SEV-SNP is not available in this QEMU");
    return NULL;
}
