/*
 * snp-certs: what the command files share.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SNP_CERTS_H
#define SNP_CERTS_H

#include <glib.h>

#include "libsevsnp.h"
#include "sevsnp-report.h"

enum {
    EXIT_OK = 0,
    EXIT_CHECK = 1,
    EXIT_USAGE = 2,
    EXIT_BUSY = 3,
};

/*
 * The environment `snp-certs lock` gives CMD: the descriptor that holds
 * the exclusive locks (inherited, open for reading and writing) and the
 * locked file's path.
 */
#define SNP_CERTS_LOCK_FD_ENV   "SNP_CERTS_LOCK_FD"
#define SNP_CERTS_LOCK_PATH_ENV "SNP_CERTS_LOCK_PATH"

/* One line to stderr: "snp-certs: <message>". */
void G_GNUC_PRINTF(1, 2) die_msg(const char *fmt, ...);

/* Parse the command's options; prints the error and returns FALSE. */
gboolean parse_options(GOptionContext *ctx, int *argc, char ***argv);

/* The exit status a library error stands for. */
int status_of(const GError *err);

/* Read a blob file under the shared locks and validate it. */
SevsnpCertTable *load_blob(const char *path, int *status);

/* Parse --at: seconds since the epoch or an ISO 8601 date and time. */
gboolean parse_time(const char *s, gint64 *out, GError **err);

int cmd_report(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_host(int argc, char **argv);

/*
 * The host's SNP platform status and chip id through @device (/dev/sev),
 * as host status and fetch --host use them.
 */
typedef struct SnpHostInfo {
    uint8_t api_major, api_minor, state;
    bool rmp_initialized;
    uint32_t build_id;
    bool mask_chip_id, mask_chip_key, vlek_en;
    uint32_t guest_count;
    uint64_t current_tcb, reported_tcb;
    uint8_t chip_id[SEVSNP_CHIP_ID_SIZE];
    uint32_t chip_id_len;
    SevsnpProduct product;      /* from the CPU's CPUID; may be UNKNOWN */
} SnpHostInfo;

gboolean snp_host_query(const char *device, SnpHostInfo *info, GError **err);

#endif
