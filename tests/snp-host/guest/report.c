/*
 * The test guest's attestation messages, shared by the scenarios and the
 * Linux-guest model: fresh report data, the MSG_REPORT_REQ message, the
 * checks of a MSG_REPORT_RSP and of a GHCB certificate table.  Also
 * built into the hosted test of the model (test-linux-model.c).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "scen.h"

/* The attestation report (SEV-SNP ABI, ATTESTATION_REPORT). */
#define RPT_VERSION         0x000
#define RPT_VMPL            0x030
#define RPT_SIG_ALGO        0x034
#define RPT_REPORT_DATA     0x050
#define RPT_SIG             SNP_SIM_REPORT_SIG_OFFSET
#define RPT_SIG_LEN         144             /* r and s, 72 bytes each */
#define SIG_ALGO_ECDSA_P384 1

/* The GUIDs of the GHCB certificate table, as bytes on the wire. */
static const uint8_t guid_vcek[16] = {
    0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
    0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
};
static const uint8_t guid_vlek[16] = {
    0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
    0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1,
};

static uint64_t req_seq;

void fresh_user_data(uint32_t cpu, uint8_t user_data[64])
{
    uint64_t seq = __atomic_fetch_add(&req_seq, 1, __ATOMIC_RELAXED);
    uint64_t t = rdtsc();

    for (int i = 0; i < 64; i++) {
        user_data[i] = (uint8_t)(seq >> (8 * (i & 7))) ^
                       (uint8_t)(t >> (8 * ((i >> 3) & 7))) ^
                       (uint8_t)(cpu * 0x3b + i);
    }
}

void report_msg_init(struct snp_sim_report_msg *m, uint64_t seqno,
                     const uint8_t user_data[64])
{
    memset(m, 0, sizeof(*m));
    m->hdr.msg_seqno = seqno;
    m->hdr.hdr_version = SNP_SIM_MSG_HDR_VERSION;
    m->hdr.hdr_sz = sizeof(m->hdr);
    m->hdr.msg_type = SNP_SIM_MSG_REPORT_REQ;
    m->hdr.msg_version = 1;
    m->hdr.msg_sz = sizeof(m->req);
    memcpy(m->req.user_data, user_data, 64);
}

/*
 * A GHCB certificate table in @buf (@size bytes): 24-byte entries up to
 * an all-zero one, each entry's data inside the buffer after the table,
 * DER.  Returns the number of entries, or -1 with @why set.
 */
int table_parse(const uint8_t *buf, uint64_t size, bool *has_ek,
                char *why, size_t whylen)
{
    uint64_t n = 0, end;

    *has_ek = false;
    for (;; n++) {
        if ((n + 1) * 24 > size) {
            snprintf(why, whylen, "no terminator in %lu bytes", size);
            return -1;
        }
        if (mem_is(buf + n * 24, 0, 24)) {
            break;
        }
    }
    end = (n + 1) * 24;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = buf + i * 24;
        uint32_t off = e[16] | e[17] << 8 | e[18] << 16 | (uint32_t)e[19] << 24;
        uint32_t len = e[20] | e[21] << 8 | e[22] << 16 | (uint32_t)e[23] << 24;

        if (off < end || len == 0 || (uint64_t)off + len > size) {
            snprintf(why, whylen, "entry %lu: data [%u, +%u) outside the "
                     "buffer after the table (%lu..%lu)", i, off, len, end,
                     size);
            return -1;
        }
        if (buf[off] != 0x30) {
            snprintf(why, whylen, "entry %lu: data at %u is not DER "
                     "(0x%02x)", i, off, buf[off]);
            return -1;
        }
        if (!memcmp(e, guid_vcek, 16) || !memcmp(e, guid_vlek, 16)) {
            *has_ek = true;
        }
    }
    return n;
}

/* The response to a MSG_REPORT_REQ: true, or the failed check in @why. */
bool report_resp_ok(const struct snp_sim_report_resp *resp,
                    const uint8_t user_data[64], char *why, size_t whylen)
{
    const uint8_t *rpt = resp->report;
    uint32_t version = *(const uint32_t *)(rpt + RPT_VERSION);
    uint32_t vmpl = *(const uint32_t *)(rpt + RPT_VMPL);
    uint32_t algo = *(const uint32_t *)(rpt + RPT_SIG_ALGO);

    if (resp->status != 0) {
        snprintf(why, whylen, "MSG_REPORT_RSP status %u", resp->status);
    } else if (resp->report_size != SNP_SIM_REPORT_SIZE) {
        snprintf(why, whylen, "report_size %u, not %u", resp->report_size,
                 SNP_SIM_REPORT_SIZE);
    } else if (version < 2) {
        snprintf(why, whylen, "report version %u < 2", version);
    } else if (memcmp(rpt + RPT_REPORT_DATA, user_data, 64)) {
        snprintf(why, whylen, "report_data does not echo the request's "
                 "user_data");
    } else if (vmpl != 0) {
        snprintf(why, whylen, "vmpl %u, asked 0", vmpl);
    } else if (algo != SIG_ALGO_ECDSA_P384) {
        snprintf(why, whylen, "signature_algo %u, not ECDSA P-384", algo);
    } else if (mem_is(rpt + RPT_SIG, 0, RPT_SIG_LEN)) {
        snprintf(why, whylen, "no signature");
    } else {
        return true;
    }
    return false;
}
