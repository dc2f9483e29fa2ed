/*
 * The SNP host simulator: /dev/sev, the PSP driver's platform commands,
 * answered as drivers/crypto/ccp/sev-dev.c answers them, with the
 * firmware state of sim-fw.c (the same chip id and TCB that sign the
 * reports).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include <linux/ioctl.h>
#include <linux/psp-sev.h>

#include "sim.h"

static gint guest_count;

void sim_sev_guest_count_add(int delta)
{
    g_atomic_int_add(&guest_count, delta);
}

static const char *sev_cmd_name(uint32_t cmd)
{
    switch (cmd) {
    case SEV_FACTORY_RESET:
        return "SEV_FACTORY_RESET";
    case SEV_PLATFORM_STATUS:
        return "SEV_PLATFORM_STATUS";
    case SEV_PEK_GEN:
        return "SEV_PEK_GEN";
    case SEV_PEK_CSR:
        return "SEV_PEK_CSR";
    case SEV_PDH_GEN:
        return "SEV_PDH_GEN";
    case SEV_PDH_CERT_EXPORT:
        return "SEV_PDH_CERT_EXPORT";
    case SEV_PEK_CERT_IMPORT:
        return "SEV_PEK_CERT_IMPORT";
    case SEV_GET_ID:
        return "SEV_GET_ID";
    case SEV_GET_ID2:
        return "SEV_GET_ID2";
    case SNP_PLATFORM_STATUS:
        return "SNP_PLATFORM_STATUS";
    case SNP_COMMIT:
        return "SNP_COMMIT";
    case SNP_SET_CONFIG:
        return "SNP_SET_CONFIG";
    case SNP_VLEK_LOAD:
        return "SNP_VLEK_LOAD";
    }
    return "?";
}

/* The firmware state, or a firmware failure (-EIO, SEV_RET_NO_FW_CALL). */
static int fw_info(struct sev_issue_cmd *in, SimFwInfo *info)
{
    g_autoptr(GError) err = NULL;

    if (!sim_fw_info(info, &err)) {
        sim_log("error", "firmware state: %s", err->message);
        in->error = (uint32_t)SEV_RET_NO_FW_CALL;
        return -EIO;
    }
    return 0;
}

static int platform_status(struct sev_issue_cmd *in)
{
    struct sev_user_data_status st;
    SimFwInfo info;
    int r = fw_info(in, &info);

    if (r) {
        return r;
    }
    memset(&st, 0, sizeof(st));
    st.api_major = info.api_major;
    st.api_minor = info.api_minor;
    st.state = 1;                       /* INIT */
    st.flags = SEV_STATUS_FLAGS_CONFIG_ES;
    st.build = info.build;
    st.guest_count = g_atomic_int_get(&guest_count);
    in->error = SEV_RET_SUCCESS;
    return sim_copy_to_user(in->data, &st, sizeof(st));
}

static int snp_platform_status(struct sev_issue_cmd *in)
{
    struct sev_user_data_snp_status st;
    SimFwInfo info;
    int r;

    if (!in->data) {
        return -EINVAL;
    }
    r = fw_info(in, &info);
    if (r) {
        return r;
    }
    memset(&st, 0, sizeof(st));
    st.api_major = info.api_major;
    st.api_minor = info.api_minor;
    st.state = 1;                       /* INIT */
    st.is_rmp_initialized = 1;
    st.build_id = info.build;
    st.vlek_en = info.vlek_loaded;
    st.feature_info = 1;
    st.guest_count = g_atomic_int_get(&guest_count);
    st.current_tcb_version = info.current_tcb;
    st.reported_tcb_version = info.reported_tcb;
    in->error = SEV_RET_SUCCESS;
    return sim_copy_to_user(in->data, &st, sizeof(st));
}

/*
 * As sev_ioctl_do_get_id2(): the firmware writes the 64-byte ID when the
 * buffer is large enough, and in every case returns the length it needs;
 * a buffer that is too small (or none: the length probe) is
 * SEV_RET_INVALID_LEN, which the driver turns into -EIO.
 */
static int get_id2(struct sev_issue_cmd *in)
{
    struct sev_user_data_get_id2 id;
    SimFwInfo info;
    uint64_t addr;
    int r;

    if (sim_copy_from_user(&id, in->data, sizeof(id))) {
        return -EFAULT;
    }
    r = fw_info(in, &info);
    if (r) {
        return r;
    }
    addr = id.address;
    if (!addr || id.length < sizeof(info.chip_id)) {
        in->error = SEV_RET_INVALID_LEN;
        r = -EIO;
    } else {
        in->error = SEV_RET_SUCCESS;
        r = 0;
    }
    id.length = sizeof(info.chip_id);
    if (sim_copy_to_user(in->data, &id, sizeof(id))) {
        return -EFAULT;
    }
    if (!r && sim_copy_to_user(addr, info.chip_id, sizeof(info.chip_id))) {
        return -EFAULT;
    }
    return r;
}

int sim_sev_ioctl(int fd, unsigned long req, void *arg)
{
    struct sev_issue_cmd in;
    int r;

    if (req != SEV_ISSUE_CMD) {
        sim_log("refused", "ioctl=sev-0x%lx errno=%d why=not-SEV_ISSUE_CMD",
                req, EINVAL);
        errno = EINVAL;
        return -1;
    }
    if (sim_copy_from_user(&in, (uintptr_t)arg, sizeof(in))) {
        errno = EFAULT;
        return -1;
    }
    if (in.cmd > SEV_MAX) {
        errno = EINVAL;
        return -1;
    }
    switch (in.cmd) {
    case SEV_PLATFORM_STATUS:
        r = platform_status(&in);
        break;
    case SNP_PLATFORM_STATUS:
        r = snp_platform_status(&in);
        break;
    case SEV_GET_ID2:
        r = get_id2(&in);
        break;
    case SEV_FACTORY_RESET:
    case SEV_PEK_GEN:
    case SEV_PEK_CSR:
    case SEV_PDH_GEN:
    case SEV_PDH_CERT_EXPORT:
    case SEV_PEK_CERT_IMPORT:
    case SEV_GET_ID:
    case SNP_COMMIT:
    case SNP_SET_CONFIG:
    case SNP_VLEK_LOAD:
        /* The simulated firmware does not implement these. */
        sim_log("refused", "ioctl=%s errno=%d why=not-simulated",
                sev_cmd_name(in.cmd), EIO);
        in.error = SEV_RET_INVALID_COMMAND;
        r = -EIO;
        break;
    default:
        errno = EINVAL;
        return -1;
    }
    if (sim_copy_to_user((uintptr_t)arg, &in, sizeof(in))) {
        r = -EFAULT;
    }
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}
