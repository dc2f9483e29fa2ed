/*
 * The SNP host simulator: /dev/sev, the PSP driver's platform commands,
 * answered as drivers/crypto/ccp/sev-dev.c answers them, with the
 * firmware state of sim-fw.c (the same chip id and TCB that sign the
 * reports); and the one question KVM's SEV support answers on a VM the
 * simulator does not track, the KVM_MEMORY_ENCRYPT_OP(NULL) probe.
 *
 * Together they answer QEMU's query-sev-capabilities, which is how
 * libvirt decides that a host can run SEV and SEV-SNP guests:
 * KVM_MEMORY_ENCRYPT_OP(NULL) on a plain VM (0 on an SEV-capable
 * kernel), SEV_PDH_CERT_EXPORT (the driver's length probe, then the PDH
 * certificate and the PEK/OCA/CEK chain) and SEV_GET_ID2.
 *
 * The SEV platform identity: the PDH (ECDH) and the PEK, OCA and CEK
 * (ECDSA) are P-384 keys derived from the chip id, so they stay the same
 * for a simulated chip as the real ones stay in the firmware's
 * non-volatile storage.  The certificates have the SEV API's layout
 * (appendix C.1, 0x824 bytes): the PDH is signed by the PEK, the PEK by
 * the OCA and the CEK, the OCA by itself, all ECDSA P-384 with SHA-256
 * over bytes 0-0x413.  The CEK's own signature would be the AMD SEV
 * signing key's (ASK, RSA); the simulator has no such key, so the CEK
 * carries no signature (usage 0x1000, the API's "invalid").
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/ioctl.h>
#include <linux/kvm.h>
#include <linux/psp-sev.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

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

/* ---------------------------------------------------------------- */
/* The SEV platform identity: PDH_CERT_EXPORT                        */
/* ---------------------------------------------------------------- */

/*
 * SEV API (AMD 55766), appendix C.1: the certificate format.  Not uapi:
 * the driver passes the firmware's bytes through.
 */
#define SEV_CERT_SIZE           0x824
#define SEV_CERT_SIGNED_SIZE    0x414   /* what the signatures cover */
#define SEV_CERT_VERSION        0x000
#define SEV_CERT_API_MAJOR      0x004
#define SEV_CERT_API_MINOR      0x005
#define SEV_CERT_PUBKEY_USAGE   0x008
#define SEV_CERT_PUBKEY_ALGO    0x00c
#define SEV_CERT_PUBKEY         0x010   /* ECC: curve, qx, qy */
#define SEV_CERT_SIG1_USAGE     0x414
#define SEV_CERT_SIG1_ALGO      0x418
#define SEV_CERT_SIG1           0x41c   /* ECDSA: r, s */
#define SEV_CERT_SIG2_USAGE     0x61c
#define SEV_CERT_SIG2_ALGO      0x620
#define SEV_CERT_SIG2           0x624
#define SEV_ECC_PART            72      /* qx, qy, r, s: little-endian */

#define SEV_USAGE_INVALID       0x1000
#define SEV_USAGE_OCA           0x1001
#define SEV_USAGE_PEK           0x1002
#define SEV_USAGE_PDH           0x1003
#define SEV_USAGE_CEK           0x1004
#define SEV_ALGO_INVALID        0x0
#define SEV_ALGO_ECDSA_SHA256   0x2
#define SEV_ALGO_ECDH_SHA256    0x3
#define SEV_CURVE_P384          0x2

/* The PDH certificate, then the chain: PEK, OCA, CEK. */
#define SEV_PDH_LEN             SEV_CERT_SIZE
#define SEV_CHAIN_LEN           (3 * SEV_CERT_SIZE)

/* include/linux/psp-sev.h (kernel-internal): the driver's bound. */
#define SEV_FW_BLOB_MAX_SIZE    0x4000

typedef struct SevIdentity {
    uint8_t chip_id[64];
    uint8_t pdh[SEV_PDH_LEN];
    uint8_t chain[SEV_CHAIN_LEN];
} SevIdentity;

static GMutex identity_lock;
static SevIdentity *identity;       /* of the chip id it was made for */

static void put_le32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, 4);
}

/* A P-384 key whose scalar is derived from the chip id and @label. */
static EVP_PKEY *derive_key(const uint8_t chip_id[64], const char *label)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_secp384r1);
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *d = NULL, *n1 = BN_new();
    EC_POINT *q = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *key = NULL;
    uint8_t seed[48], pub[97];
    g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA384);
    gsize seed_len = sizeof(seed);
    bool ok;

    g_checksum_update(ck, (const guchar *)"snp-host-sim sev ", 17);
    g_checksum_update(ck, (const guchar *)label, strlen(label));
    g_checksum_update(ck, chip_id, 64);
    g_checksum_get_digest(ck, seed, &seed_len);
    /* d = seed mod (n - 1) + 1: never 0. */
    ok = g && bn && n1 && BN_copy(n1, EC_GROUP_get0_order(g)) &&
         BN_sub_word(n1, 1) && (d = BN_bin2bn(seed, sizeof(seed), NULL)) &&
         BN_mod(d, d, n1, bn) && BN_add_word(d, 1) &&
         (q = EC_POINT_new(g)) && EC_POINT_mul(g, q, d, NULL, NULL, bn) &&
         EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub,
                            sizeof(pub), bn) == sizeof(pub) &&
         (bld = OSSL_PARAM_BLD_new()) &&
         OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         "secp384r1", 0) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) &&
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                          sizeof(pub)) &&
         (params = OSSL_PARAM_BLD_to_param(bld)) &&
         (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) &&
         EVP_PKEY_fromdata_init(pctx) > 0 &&
         EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_KEYPAIR, params) > 0;
    if (!ok) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(q);
    BN_clear_free(d);
    BN_free(n1);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return key;
}

/* The certificate's body: version, API version, usage, algorithm, key. */
static bool cert_body(uint8_t *c, const SimFwInfo *info, uint32_t usage,
                      uint32_t algo, EVP_PKEY *key)
{
    BIGNUM *x = NULL, *y = NULL;
    bool ok;

    memset(c, 0, SEV_CERT_SIZE);
    put_le32(c + SEV_CERT_VERSION, 1);
    c[SEV_CERT_API_MAJOR] = info->api_major;
    c[SEV_CERT_API_MINOR] = info->api_minor;
    put_le32(c + SEV_CERT_PUBKEY_USAGE, usage);
    put_le32(c + SEV_CERT_PUBKEY_ALGO, algo);
    put_le32(c + SEV_CERT_PUBKEY, SEV_CURVE_P384);
    ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) > 0 &&
         EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) > 0 &&
         BN_bn2lebinpad(x, c + SEV_CERT_PUBKEY + 4, SEV_ECC_PART) > 0 &&
         BN_bn2lebinpad(y, c + SEV_CERT_PUBKEY + 4 + SEV_ECC_PART,
                        SEV_ECC_PART) > 0;
    BN_free(x);
    BN_free(y);
    /* No signature until one is added. */
    put_le32(c + SEV_CERT_SIG1_USAGE, SEV_USAGE_INVALID);
    put_le32(c + SEV_CERT_SIG2_USAGE, SEV_USAGE_INVALID);
    return ok;
}

/* Signature slot @slot (0 or 1) of @c, by @signer of usage @usage. */
static bool cert_sign(uint8_t *c, int slot, uint32_t usage, EVP_PKEY *signer)
{
    size_t usage_off = slot ? SEV_CERT_SIG2_USAGE : SEV_CERT_SIG1_USAGE;
    size_t sig_off = slot ? SEV_CERT_SIG2 : SEV_CERT_SIG1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    const unsigned char *q;
    ECDSA_SIG *sig = NULL;
    const BIGNUM *r, *s;
    size_t len = 0;
    bool ok;

    ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, signer) > 0 &&
         EVP_DigestSign(md, NULL, &len, c, SEV_CERT_SIGNED_SIZE) > 0 &&
         (der = OPENSSL_malloc(len)) &&
         EVP_DigestSign(md, der, &len, c, SEV_CERT_SIGNED_SIZE) > 0;
    q = der;
    ok = ok && (sig = d2i_ECDSA_SIG(NULL, &q, len)) != NULL;
    if (ok) {
        ECDSA_SIG_get0(sig, &r, &s);
        ok = BN_bn2lebinpad(r, c + sig_off, SEV_ECC_PART) > 0 &&
             BN_bn2lebinpad(s, c + sig_off + SEV_ECC_PART,
                            SEV_ECC_PART) > 0;
    }
    if (ok) {
        put_le32(c + usage_off, usage);
        put_le32(c + usage_off + 4, SEV_ALGO_ECDSA_SHA256);
    }
    ECDSA_SIG_free(sig);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return ok;
}

static SevIdentity *identity_new(const SimFwInfo *info)
{
    g_autofree SevIdentity *id = g_new0(SevIdentity, 1);
    EVP_PKEY *pdh = derive_key(info->chip_id, "pdh");
    EVP_PKEY *pek = derive_key(info->chip_id, "pek");
    EVP_PKEY *oca = derive_key(info->chip_id, "oca");
    EVP_PKEY *cek = derive_key(info->chip_id, "cek");
    uint8_t *pek_c = id->chain, *oca_c = id->chain + SEV_CERT_SIZE;
    uint8_t *cek_c = id->chain + 2 * SEV_CERT_SIZE;
    bool ok;

    memcpy(id->chip_id, info->chip_id, sizeof(id->chip_id));
    ok = pdh && pek && oca && cek &&
         cert_body(id->pdh, info, SEV_USAGE_PDH, SEV_ALGO_ECDH_SHA256, pdh) &&
         cert_sign(id->pdh, 0, SEV_USAGE_PEK, pek) &&
         cert_body(pek_c, info, SEV_USAGE_PEK, SEV_ALGO_ECDSA_SHA256, pek) &&
         cert_sign(pek_c, 0, SEV_USAGE_OCA, oca) &&
         cert_sign(pek_c, 1, SEV_USAGE_CEK, cek) &&
         cert_body(oca_c, info, SEV_USAGE_OCA, SEV_ALGO_ECDSA_SHA256, oca) &&
         cert_sign(oca_c, 0, SEV_USAGE_OCA, oca) &&
         cert_body(cek_c, info, SEV_USAGE_CEK, SEV_ALGO_ECDSA_SHA256, cek);
    EVP_PKEY_free(pdh);
    EVP_PKEY_free(pek);
    EVP_PKEY_free(oca);
    EVP_PKEY_free(cek);
    return ok ? g_steal_pointer(&id) : NULL;
}

/*
 * As sev_ioctl_do_pdh_export(): no PDH address, no PDH length or no chain
 * address is the length probe (the firmware is asked with zero lengths);
 * a length above SEV_FW_BLOB_MAX_SIZE is -EFAULT.  The firmware writes
 * back the lengths it needs, and a length that is too small is
 * SEV_RET_INVALID_LEN, which the driver turns into -EIO; the lengths are
 * copied back in every case, the certificates only on success.
 */
static int pdh_cert_export(struct sev_issue_cmd *in)
{
    struct sev_user_data_pdh_cert_export ex;
    uint32_t pdh_len = 0, chain_len = 0;
    SimFwInfo info;
    int r;

    if (sim_copy_from_user(&ex, in->data, sizeof(ex))) {
        return -EFAULT;
    }
    if (ex.pdh_cert_address && ex.pdh_cert_len && ex.cert_chain_address) {
        if (ex.pdh_cert_len > SEV_FW_BLOB_MAX_SIZE ||
            ex.cert_chain_len > SEV_FW_BLOB_MAX_SIZE) {
            return -EFAULT;
        }
        pdh_len = ex.pdh_cert_len;
        chain_len = ex.cert_chain_len;
    }
    r = fw_info(in, &info);
    if (r) {
        return r;
    }
    g_mutex_lock(&identity_lock);
    if (!identity || memcmp(identity->chip_id, info.chip_id, 64)) {
        g_free(identity);
        identity = identity_new(&info);
    }
    if (!identity) {
        g_mutex_unlock(&identity_lock);
        sim_log("error", "SEV_PDH_CERT_EXPORT: cannot make the certificates");
        in->error = (uint32_t)SEV_RET_NO_FW_CALL;
        return -EIO;
    }
    if (pdh_len < SEV_PDH_LEN || chain_len < SEV_CHAIN_LEN) {
        in->error = SEV_RET_INVALID_LEN;
        r = -EIO;
    } else {
        in->error = SEV_RET_SUCCESS;
        r = 0;
    }
    ex.pdh_cert_len = SEV_PDH_LEN;
    ex.cert_chain_len = SEV_CHAIN_LEN;
    if (sim_copy_to_user(in->data, &ex, sizeof(ex)) ||
        (!r && (sim_copy_to_user(ex.pdh_cert_address, identity->pdh,
                                 SEV_PDH_LEN) ||
                sim_copy_to_user(ex.cert_chain_address, identity->chain,
                                 SEV_CHAIN_LEN)))) {
        r = -EFAULT;
    }
    g_mutex_unlock(&identity_lock);
    return r;
}

/* ---------------------------------------------------------------- */
/* KVM_MEMORY_ENCRYPT_OP on a VM the simulator does not track        */
/* ---------------------------------------------------------------- */

static bool is_kvm_vm_fd(int fd)
{
    char link[64], target[32];
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1);
    if (n < 0) {
        return false;
    }
    target[n] = 0;
    return !strcmp(target, "anon_inode:kvm-vm");
}

/*
 * A default VM (KVM_X86_DEFAULT_VM, created without the simulator's
 * involvement, as QEMU's -machine none does for query-sev-capabilities):
 * on an SEV-capable kernel sev_mem_enc_ioctl() answers a NULL argument
 * with 0, the probe QEMU makes before it opens /dev/sev.  Any other
 * command goes to the real KVM: SEV and SEV-ES guests are not simulated.
 */
bool sim_sev_untracked_ioctl(int fd, unsigned long req, void *arg, int *ret)
{
    if (req != KVM_MEMORY_ENCRYPT_OP || arg || !is_kvm_vm_fd(fd)) {
        return false;
    }
    sim_log("encrypt-op", "vm-fd=%d probe=1 ret=0", fd);
    *ret = 0;
    return true;
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
    case SEV_PDH_CERT_EXPORT:
        r = pdh_cert_export(&in);
        break;
    case SEV_FACTORY_RESET:
    case SEV_PEK_GEN:
    case SEV_PEK_CSR:
    case SEV_PDH_GEN:
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
