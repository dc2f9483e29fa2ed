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

SevSnpMemoryInfo *qmp_query_sev_snp_memory(const char *id, Error **errp)
{
    error_setg(errp, "SEV-SNP is not available in this QEMU");
    return NULL;
}
