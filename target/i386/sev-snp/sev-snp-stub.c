/*
 * SEV-SNP certificate service: HMP stub for x86 builds without SEV (the
 * QMP commands' stubs are stubs/monitor-i386-sev-snp.c)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "monitor/monitor.h"
#include "monitor/hmp-target.h"

void hmp_info_sev_snp_certs(Monitor *mon, const QDict *qdict)
{
    monitor_printf(mon, "SEV-SNP is not available in this QEMU\n");
}
