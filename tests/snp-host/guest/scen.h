/*
 * What the test guest's scenarios share: the options the runner passed,
 * the per-CPU work areas, page state changes, the report and table checks,
 * SMP helpers (main.c), and the Linux-guest model's scenarios (linux.c).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SCEN_H
#define SCEN_H

#include "guest.h"
#include "snp-host-abi.h"

/* The scenario's options: NAME[:ARGS] from fw_cfg. */
typedef struct {
    char name[64];
    bool expect_empty;          /* expect=empty: the host serves no chain */
    uint32_t need;              /* need=N: pages the blob needs (0: untold) */
    uint32_t loops;             /* loops=N */
    uint32_t hold_ms;           /* hold=MS: an updater's lock hold */
    uint32_t busy_ms;           /* busy=MS: QEMU's certs-busy-limit */
    uint32_t seconds;           /* a bare number */
} scen_opts;

extern scen_opts opt;
extern uint32_t ncpus;

/* The fill of a buffer the host is not meant to write (the runner's). */
#define FILL_BYTE           0xa5

/* Each CPU's work area: certificate buffer, request page, response page. */
#define WORK_CERTS          0x00000
#define WORK_REQ            0x20000
#define WORK_RESP           0x21000

static inline uint8_t *work(uint32_t cpu)
{
    return (uint8_t *)(uintptr_t)(WORK_BASE + (uint64_t)cpu * WORK_SIZE);
}

static inline uint64_t gpa(const void *p)
{
    return (uintptr_t)p;        /* identity-mapped */
}

/* KVM_HC_MAP_GPA_RANGE through the doorbell: RAX (0 = done). */
uint64_t map_gpa_range(uint64_t start, uint64_t npages, bool private);

/* 64 bytes of report data no other request of this run carries. */
void fresh_user_data(uint32_t cpu, uint8_t user_data[64]);
/* A MSG_REPORT_REQ for VMPL 0 with message sequence number @seqno. */
void report_msg_init(struct snp_sim_report_msg *m, uint64_t seqno,
                     const uint8_t user_data[64]);
/* A MSG_REPORT_RSP carrying a signed report of @user_data. */
bool report_resp_ok(const struct snp_sim_report_resp *resp,
                    const uint8_t user_data[64], char *why, size_t whylen);
/*
 * A GHCB certificate table in @buf (@size bytes): the number of entries
 * (0: an empty table), or -1 with @why set.  *has_ek: a VCEK or VLEK.
 */
int table_parse(const uint8_t *buf, uint64_t size, bool *has_ek,
                char *why, size_t whylen);

/* SMP: every vCPU meets here. */
void barrier(void);
/* Start the APs at @fn (false after a FAIL line). */
bool start_aps(void (*fn)(uint32_t cpu));
/* This CPU is done; wait for all. */
void wait_all_done(void);

/*
 * A host-side step the runner performs (snp-host-abi.h,
 * SNP_SIM_OP_HOST_STEP), waited for up to two minutes: false after a
 * FAIL line.
 */
bool host_step(const char *name);

/* The Linux-guest model's scenarios (linux.c); false: not one of them. */
bool scenario_linux(const char *name);

#endif /* SCEN_H */
