/*
 * The SNP host simulator, driven directly through /dev/kvm: every ioctl
 * it plays is checked against the kernel's behaviour, with the numbers of
 * the released uapi headers (never the simulator's own), and its exits
 * are produced by a tiny real-mode guest that rings the doorbell of
 * snp-host-abi.h on the real KVM.
 *
 * The executable is linked against libsnp-host-sim.so, which therefore
 * interposes libc's open/ioctl/mmap/close for it exactly as LD_PRELOAD
 * does for QEMU.  SNP_HOST_SIM_KERNEL (set by meson) picks the kernel;
 * the expectations follow it.  Without a usable /dev/kvm every case is
 * skipped, loudly.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/psp-sev.h>
#include <linux/sev-guest.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fwsim.h"
#include "snp-host-abi.h"

#define PAGE 4096ULL
#define RAM_SIZE (2ULL << 20)           /* slot 0: gpa 0, guest_memfd */
#define PLAIN_GPA 0x200000ULL           /* slot 1: no guest_memfd */
#define PLAIN_SIZE 0x10000ULL
#define CODE_GPA 0x1000ULL
#define BUF_GPA 0x20000ULL              /* certificate buffer, 4 pages */
#define REQ_GPA 0x30000ULL
#define RESP_GPA 0x31000ULL
#define FAULT_GPA 0x40000ULL

/*
 * The legacy KVM_EXIT_VMGEXIT ABI exists in no released header: its
 * layout is restated here from seed 001 (struct kvm_user_vmgexit), so the
 * simulator's definition is checked, not reused.
 */
#define LEGACY_EXIT_VMGEXIT 40
#define LEGACY_TYPE_REQ_CERTS 1
#define LEGACY_OFF_TYPE 0
#define LEGACY_OFF_GPA 8
#define LEGACY_OFF_NPAGES 16
#define LEGACY_OFF_RET 24
#define LEGACY_OFF_FLAGS 28
#define LEGACY_OFF_STATUS 29
#define LEGACY_FLAGS_NOTIFY_DONE 1
#define LEGACY_STATUS_DONE 1
#define LEGACY_RET_INVALID_LEN 1

/*
 * The guest message header of the request and response pages (SEV-SNP
 * firmware ABI, "Message Header Format"), restated here so that the
 * simulator's struct is checked, not reused.
 */
#define MSG_HDR_SIZE 0x60
#define MSG_OFF_SEQNO 0x20
#define MSG_OFF_HDR_VERSION 0x31
#define MSG_OFF_HDR_SZ 0x32
#define MSG_OFF_TYPE 0x34
#define MSG_OFF_VERSION 0x35
#define MSG_OFF_SZ 0x36
#define MSG_OFF_VMPCK 0x3c
#define MSG_REPORT_REQ 5
#define MSG_REPORT_RSP 6
#define REPORT_REQ_SIZE 96              /* MSG_REPORT_REQ */
#define REPORT_RSP_SIZE (32 + 1184)     /* MSG_REPORT_RSP */

typedef enum { K_MAINLINE, K_NO_CERTS, K_LEGACY } Kernel;

static Kernel kernel;
static char *tmpdir;
static char *fwdir;
static char *blob;
static char *logpath;
static char *pairs;
static const char *skip_why;
/* SNP_HOST_SIM_EMULATE_GMEM=1 in this process. */
static bool gmem_forced;
/* The kernel's own KVM_CAP_GUEST_MEMFD of /dev/kvm, around the simulator. */
static long kernel_gmem_cap;

typedef struct Vm {
    int kvm, vm, sev, gmem, vcpu;
    uint8_t *ram, *plain;
    struct kvm_run *run;
} Vm;

/* ---------------------------------------------------------------- */

static int xioctl(int fd, unsigned long req, void *arg)
{
    return ioctl(fd, req, arg);
}

/* ioctl that must fail with @err. */
static void fails_with(int fd, unsigned long req, void *arg, int err)
{
    int r = ioctl(fd, req, arg);

    g_assert_cmpint(r, ==, -1);
    g_assert_cmpint(errno, ==, err);
}

static int enc_op(Vm *v, uint32_t id, void *data, uint32_t *error)
{
    struct kvm_sev_cmd cmd = {
        .id = id, .data = (uintptr_t)data, .sev_fd = v->sev,
    };
    int r = ioctl(v->vm, KVM_MEMORY_ENCRYPT_OP, &cmd);
    int e = errno;

    if (error) {
        *error = cmd.error;
    }
    errno = e;
    return r;
}

static void set_attr(Vm *v, uint64_t gpa, uint64_t size, bool priv)
{
    struct kvm_memory_attributes a = {
        .address = gpa, .size = size,
        .attributes = priv ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
    };

    g_assert_cmpint(xioctl(v->vm, KVM_SET_MEMORY_ATTRIBUTES, &a), ==, 0);
}

static bool skip_if_no_kvm(void)
{
    if (skip_why) {
        g_test_skip(skip_why);
        return true;
    }
    return false;
}

/* A VM with its memory; INIT2 done when @init. */
static void vm_open(Vm *v, bool init)
{
    struct kvm_create_guest_memfd gm = { .size = RAM_SIZE };
    struct kvm_userspace_memory_region2 r0 = { 0 };
    struct kvm_userspace_memory_region r1 = { 0 };

    memset(v, 0, sizeof(*v));
    v->vcpu = -1;
    v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    g_assert_cmpint(v->kvm, >=, 0);
    v->vm = xioctl(v->kvm, KVM_CREATE_VM, (void *)(long)KVM_X86_SNP_VM);
    g_assert_cmpint(v->vm, >=, 0);
    v->sev = open("/dev/sev", O_RDWR | O_CLOEXEC);
    g_assert_cmpint(v->sev, >=, 0);
    v->gmem = xioctl(v->vm, KVM_CREATE_GUEST_MEMFD, &gm);
    g_assert_cmpint(v->gmem, >=, 0);
    v->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(v->ram != MAP_FAILED);
    v->plain = mmap(NULL, PLAIN_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(v->plain != MAP_FAILED);
    r0.slot = 0;
    r0.flags = KVM_MEM_GUEST_MEMFD;
    r0.guest_phys_addr = 0;
    r0.memory_size = RAM_SIZE;
    r0.userspace_addr = (uintptr_t)v->ram;
    r0.guest_memfd = v->gmem;
    g_assert_cmpint(xioctl(v->vm, KVM_SET_USER_MEMORY_REGION2, &r0), ==, 0);
    r1.slot = 1;
    r1.guest_phys_addr = PLAIN_GPA;
    r1.memory_size = PLAIN_SIZE;
    r1.userspace_addr = (uintptr_t)v->plain;
    g_assert_cmpint(xioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &r1), ==, 0);
    if (init) {
        struct kvm_sev_init in = { 0 };

        g_assert_cmpint(enc_op(v, KVM_SEV_INIT2, &in, NULL), ==, 0);
    }
}

static void vm_close(Vm *v)
{
    if (v->run) {
        munmap(v->run, PAGE);
    }
    if (v->vcpu >= 0) {
        close(v->vcpu);
    }
    munmap(v->ram, RAM_SIZE);
    munmap(v->plain, PLAIN_SIZE);
    close(v->gmem);
    close(v->sev);
    close(v->vm);
    close(v->kvm);
}

/*
 * Launch, create the vCPU (real mode, at CODE_GPA: "out dx, eax; hlt")
 * and enable what the kernel offers.
 */
static void vm_launch(Vm *v, bool want_certs)
{
    static const uint8_t code[] = {
        0xba, 0xf0, 0x0f,       /* mov dx, SNP_SIM_DOORBELL_PORT */
        0x66, 0xef,             /* out dx, eax */
        0xf4,                   /* hlt */
    };
    struct kvm_sev_snp_launch_start st = { .policy = 0x30000 };
    struct kvm_sev_snp_launch_update up = { 0 };
    struct kvm_sev_snp_launch_finish fin = { 0 };
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_EXIT_HYPERCALL,
        .args[0] = 1ULL << KVM_HC_MAP_GPA_RANGE,
    };
    struct kvm_sregs sregs;
    g_autofree uint8_t *page = g_malloc0(PAGE);
    int mmap_size;

    G_STATIC_ASSERT(SNP_SIM_DOORBELL_PORT == 0x0ff0);
    set_attr(v, 0, RAM_SIZE, true);
    g_assert_cmpint(enc_op(v, KVM_SEV_SNP_LAUNCH_START, &st, NULL), ==, 0);
    memcpy(page, code, sizeof(code));
    up.gfn_start = CODE_GPA / PAGE;
    up.uaddr = (uintptr_t)page;
    up.len = PAGE;
    up.type = KVM_SEV_SNP_PAGE_TYPE_NORMAL;
    g_assert_cmpint(enc_op(v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==, 0);
    g_assert_cmpint(up.len, ==, 0);
    if (want_certs) {
        g_assert_cmpint(enc_op(v, KVM_SEV_SNP_ENABLE_REQ_CERTS, NULL, NULL),
                        ==, 0);
    }
    /* Everything the guest touches is shared, as a guest makes it. */
    set_attr(v, 0, RAM_SIZE, false);
    v->vcpu = xioctl(v->vm, KVM_CREATE_VCPU, (void *)0L);
    g_assert_cmpint(v->vcpu, >=, 0);
    mmap_size = xioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, NULL);
    g_assert_cmpint(mmap_size, >=, (int)sizeof(struct kvm_run));
    v->run = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu,
                  0);
    g_assert(v->run != MAP_FAILED);
    g_assert_cmpint(enc_op(v, KVM_SEV_SNP_LAUNCH_FINISH, &fin, NULL), ==, 0);
    g_assert_cmpint(xioctl(v->vm, KVM_ENABLE_CAP, &cap), ==, 0);
    g_assert_cmpint(xioctl(v->vcpu, KVM_GET_SREGS, &sregs), ==, 0);
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    g_assert_cmpint(xioctl(v->vcpu, KVM_SET_SREGS, &sregs), ==, 0);
}

/* Ring the doorbell with @op and the arguments. */
static void ring(Vm *v, uint64_t op, uint64_t rbx, uint64_t rcx,
                 uint64_t rdi, uint64_t rsi)
{
    struct kvm_regs regs = { 0 };

    regs.rip = CODE_GPA;
    regs.rflags = 2;
    regs.rax = op;
    regs.rbx = rbx;
    regs.rcx = rcx;
    regs.rdi = rdi;
    regs.rsi = rsi;
    g_assert_cmpint(xioctl(v->vcpu, KVM_SET_REGS, &regs), ==, 0);
    v->run->immediate_exit = 0;
}

static int run(Vm *v)
{
    return ioctl(v->vcpu, KVM_RUN, NULL);
}

/* Run to the hlt; returns the guest's RAX (RBX in *rbx). */
static uint64_t run_to_hlt(Vm *v, uint64_t *rbx)
{
    struct kvm_regs regs;

    v->run->immediate_exit = 0;
    g_assert_cmpint(run(v), ==, 0);
    g_assert_cmpint(v->run->exit_reason, ==, KVM_EXIT_HLT);
    g_assert_cmpint(xioctl(v->vcpu, KVM_GET_REGS, &regs), ==, 0);
    if (rbx) {
        *rbx = regs.rbx;
    }
    return regs.rax;
}

static uint64_t guest_rax(Vm *v, uint64_t *rbx)
{
    struct kvm_regs regs;

    g_assert_cmpint(xioctl(v->vcpu, KVM_GET_REGS, &regs), ==, 0);
    if (rbx) {
        *rbx = regs.rbx;
    }
    return regs.rax;
}

static uint64_t guest_rcx(Vm *v)
{
    struct kvm_regs regs;

    g_assert_cmpint(xioctl(v->vcpu, KVM_GET_REGS, &regs), ==, 0);
    return regs.rcx;
}

static char *read_log(void)
{
    char *s = NULL;

    g_assert(g_file_get_contents(logpath, &s, NULL, NULL));
    return s;
}

static guint count_in_log(const char *needle)
{
    char *s = read_log();
    const char *p = s;
    guint n = 0;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p++;
    }
    g_free(s);
    return n;
}

/* ---------------------------------------------------------------- */

static void test_dev_attrs(void)
{
    int kvm;
    uint64_t val = 0;
    struct kvm_device_attr a = { .group = KVM_X86_GRP_SEV,
                                 .addr = (uintptr_t)&val };

    if (skip_if_no_kvm()) {
        return;
    }
    kvm = open("/dev/kvm", O_RDWR);
    g_assert_cmpint(kvm, >=, 0);
    g_assert_cmpint(xioctl(kvm, KVM_CHECK_EXTENSION,
                           (void *)(long)KVM_CAP_VM_TYPES) &
                    (1 << KVM_X86_SNP_VM), !=, 0);

    a.attr = KVM_X86_SEV_VMSA_FEATURES;
    g_assert_cmpint(xioctl(kvm, KVM_HAS_DEVICE_ATTR, &a), ==, 0);
    g_assert_cmpint(xioctl(kvm, KVM_GET_DEVICE_ATTR, &a), ==, 0);

    a.attr = KVM_X86_SNP_POLICY_BITS;
    if (kernel == K_LEGACY) {
        fails_with(kvm, KVM_HAS_DEVICE_ATTR, &a, ENXIO);
    } else {
        val = 0;
        g_assert_cmpint(xioctl(kvm, KVM_GET_DEVICE_ATTR, &a), ==, 0);
        /* A realistic mask: API version, SMT, the must-be-one bit 17. */
        g_assert_cmphex(val & 0x3ffff, ==, 0x3ffff);
        g_assert_cmphex(val, !=, 1);
    }

    a.attr = KVM_X86_SEV_SNP_REQ_CERTS;
    if (kernel == K_MAINLINE) {
        val = 0;
        g_assert_cmpint(xioctl(kvm, KVM_HAS_DEVICE_ATTR, &a), ==, 0);
        g_assert_cmpint(xioctl(kvm, KVM_GET_DEVICE_ATTR, &a), ==, 0);
        g_assert_cmpuint(val, ==, 1);
        a.addr = 8;             /* unwritable */
        fails_with(kvm, KVM_GET_DEVICE_ATTR, &a, EFAULT);
        a.addr = (uintptr_t)&val;
    } else {
        fails_with(kvm, KVM_HAS_DEVICE_ATTR, &a, ENXIO);
        fails_with(kvm, KVM_GET_DEVICE_ATTR, &a, ENXIO);
    }
    a.attr = KVM_X86_SEV_SNP_REQ_CERTS + 1;
    fails_with(kvm, KVM_HAS_DEVICE_ATTR, &a, ENXIO);
    close(kvm);
}

static void test_sev_device(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(FwSimState) st = fwsim_load(fwdir, &err);
    struct sev_user_data_status status = { 0 };
    struct sev_user_data_snp_status snp = { 0 };
    struct sev_user_data_get_id2 id = { 0 };
    uint8_t chip[64] = { 0 };
    struct sev_issue_cmd cmd = { 0 };
    int fd;

    g_assert_no_error(err);
    fd = open("/dev/sev", O_RDWR);
    g_assert_cmpint(fd, >=, 0);

    cmd.cmd = SEV_PLATFORM_STATUS;
    cmd.data = (uintptr_t)&status;
    g_assert_cmpint(xioctl(fd, SEV_ISSUE_CMD, &cmd), ==, 0);
    g_assert_cmpuint(cmd.error, ==, SEV_RET_SUCCESS);
    g_assert_cmphex(status.flags & SEV_STATUS_FLAGS_CONFIG_ES, !=, 0);

    cmd.cmd = SNP_PLATFORM_STATUS;
    cmd.data = (uintptr_t)&snp;
    g_assert_cmpint(xioctl(fd, SEV_ISSUE_CMD, &cmd), ==, 0);
    g_assert_cmpuint(snp.state, !=, 0);
    g_assert_cmphex(snp.current_tcb_version, ==,
                    sevsnp_tcb_encode(&st->current_tcb, st->product));
    g_assert_cmphex(snp.reported_tcb_version, ==,
                    sevsnp_tcb_encode(&st->reported_tcb, st->product));
    cmd.data = 0;
    fails_with(fd, SEV_ISSUE_CMD, &cmd, EINVAL);

    /* The length probe: too small is SEV_RET_INVALID_LEN and -EIO. */
    cmd.cmd = SEV_GET_ID2;
    cmd.data = (uintptr_t)&id;
    fails_with(fd, SEV_ISSUE_CMD, &cmd, EIO);
    g_assert_cmpuint(cmd.error, ==, SEV_RET_INVALID_LEN);
    g_assert_cmpuint(id.length, ==, 64);
    id.address = (uintptr_t)chip;
    id.length = 63;
    fails_with(fd, SEV_ISSUE_CMD, &cmd, EIO);
    id.length = 64;
    g_assert_cmpint(xioctl(fd, SEV_ISSUE_CMD, &cmd), ==, 0);
    g_assert_cmpmem(chip, 64, st->chip_id, 64);

    cmd.cmd = SEV_MAX + 1;
    fails_with(fd, SEV_ISSUE_CMD, &cmd, EINVAL);
    fails_with(fd, _IO('S', 1), &cmd, EINVAL);
    close(fd);
}

/*
 * SEV_PDH_CERT_EXPORT and the plain-VM KVM_MEMORY_ENCRYPT_OP(NULL), the
 * answers QEMU's query-sev-capabilities (libvirt's SEV probe) needs.
 * The certificate layout is restated from the SEV API (AMD 55766,
 * appendix C.1), not taken from the simulator.
 */
#define CERT_SIZE 0x824
#define CERT_SIGNED 0x414

static uint32_t cert_u32(const uint8_t *c, size_t off)
{
    uint32_t v;

    memcpy(&v, c + off, 4);
    return GUINT32_FROM_LE(v);
}

/* The P-384 public key of an SEV certificate (qx, qy little-endian). */
static EVP_PKEY *cert_key(const uint8_t *c)
{
    static const uint8_t zero[24];
    uint8_t pt[97];
    const uint8_t *q;
    g_autofree uint8_t *der = NULL;
    /* SubjectPublicKeyInfo prefix of an uncompressed P-384 point. */
    static const uint8_t spki[] = {
        0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62,
        0x00,
    };

    g_assert_cmpuint(cert_u32(c, 0x10), ==, 2);         /* P-384 */
    pt[0] = 4;
    for (int i = 0; i < 48; i++) {
        pt[1 + i] = c[0x14 + 47 - i];
        pt[49 + i] = c[0x14 + 72 + 47 - i];
    }
    g_assert(!memcmp(c + 0x14 + 48, zero, sizeof(zero)));
    der = g_malloc(sizeof(spki) + sizeof(pt));
    memcpy(der, spki, sizeof(spki));
    memcpy(der + sizeof(spki), pt, sizeof(pt));
    q = der;
    return d2i_PUBKEY(NULL, &q, sizeof(spki) + sizeof(pt));
}

/* Does signature @slot of @c verify (ECDSA SHA-256) with @key? */
static bool cert_sig_ok(const uint8_t *c, int slot, EVP_PKEY *key)
{
    size_t off = slot ? 0x624 : 0x41c;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_lebin2bn(c + off, 72, NULL);
    BIGNUM *s = BN_lebin2bn(c + off + 72, 72, NULL);
    unsigned char *der = NULL;
    int len;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok;

    g_assert(sig && r && s && ECDSA_SIG_set0(sig, r, s));
    len = i2d_ECDSA_SIG(sig, &der);
    ok = len > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
                                         key) == 1 &&
         EVP_DigestVerify(md, der, len, c, CERT_SIGNED) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ok;
}

static void check_cert(const uint8_t *c, uint32_t usage, uint32_t algo)
{
    g_assert_cmpuint(cert_u32(c, 0x0), ==, 1);          /* version */
    g_assert_cmphex(cert_u32(c, 0x8), ==, usage);
    g_assert_cmphex(cert_u32(c, 0xc), ==, algo);
}

static void test_sev_pdh_export(void)
{
    struct sev_user_data_pdh_cert_export ex = { 0 };
    struct sev_issue_cmd cmd = { .cmd = SEV_PDH_CERT_EXPORT };
    g_autofree uint8_t *pdh = g_malloc(2 * CERT_SIZE);
    g_autofree uint8_t *chain = g_malloc(4 * CERT_SIZE);
    g_autofree uint8_t *pdh2 = g_malloc(CERT_SIZE);
    const uint8_t *pek_c = chain, *oca_c = chain + CERT_SIZE;
    const uint8_t *cek_c = chain + 2 * CERT_SIZE;
    EVP_PKEY *pek, *oca, *cek;
    int fd = open("/dev/sev", O_RDWR);

    g_assert_cmpint(fd, >=, 0);
    cmd.data = (uintptr_t)&ex;

    /* QEMU's length probe: all zero. */
    cmd.error = 0xdead;
    fails_with(fd, SEV_ISSUE_CMD, &cmd, EIO);
    g_assert_cmpuint(cmd.error, ==, SEV_RET_INVALID_LEN);
    g_assert_cmpuint(ex.pdh_cert_len, ==, CERT_SIZE);
    g_assert_cmpuint(ex.cert_chain_len, ==, 3 * CERT_SIZE);

    /* Buffers one byte short: the same, nothing written. */
    memset(pdh, 0xa5, 2 * CERT_SIZE);
    memset(chain, 0xa5, 4 * CERT_SIZE);
    ex.pdh_cert_address = (uintptr_t)pdh;
    ex.cert_chain_address = (uintptr_t)chain;
    ex.pdh_cert_len = CERT_SIZE;
    ex.cert_chain_len = 3 * CERT_SIZE - 1;
    fails_with(fd, SEV_ISSUE_CMD, &cmd, EIO);
    g_assert_cmpuint(cmd.error, ==, SEV_RET_INVALID_LEN);
    g_assert_cmpuint(ex.cert_chain_len, ==, 3 * CERT_SIZE);
    g_assert_cmpuint(pdh[0], ==, 0xa5);
    g_assert_cmpuint(chain[0], ==, 0xa5);

    /* Above the driver's SEV_FW_BLOB_MAX_SIZE (16 KiB): -EFAULT. */
    ex.pdh_cert_len = 0x4001;
    fails_with(fd, SEV_ISSUE_CMD, &cmd, EFAULT);

    /* Larger than needed: served, the lengths written back. */
    ex.pdh_cert_len = 2 * CERT_SIZE;
    ex.cert_chain_len = 4 * CERT_SIZE;
    g_assert_cmpint(xioctl(fd, SEV_ISSUE_CMD, &cmd), ==, 0);
    g_assert_cmpuint(cmd.error, ==, SEV_RET_SUCCESS);
    g_assert_cmpuint(ex.pdh_cert_len, ==, CERT_SIZE);
    g_assert_cmpuint(ex.cert_chain_len, ==, 3 * CERT_SIZE);
    g_assert_cmpuint(pdh[CERT_SIZE], ==, 0xa5);
    g_assert_cmpuint(chain[3 * CERT_SIZE], ==, 0xa5);

    check_cert(pdh, 0x1003, 0x3);                       /* PDH, ECDH */
    check_cert(pek_c, 0x1002, 0x2);                     /* PEK, ECDSA */
    check_cert(oca_c, 0x1001, 0x2);                     /* OCA */
    check_cert(cek_c, 0x1004, 0x2);                     /* CEK */
    pek = cert_key(pek_c);
    oca = cert_key(oca_c);
    cek = cert_key(cek_c);
    g_assert(pek && oca && cek);
    /* The PDH signed by the PEK; the PEK by the OCA and the CEK. */
    g_assert_cmphex(cert_u32(pdh, 0x414), ==, 0x1002);
    g_assert(cert_sig_ok(pdh, 0, pek));
    g_assert_cmphex(cert_u32(pdh, 0x61c), ==, 0x1000);  /* no 2nd */
    g_assert_cmphex(cert_u32(pek_c, 0x414), ==, 0x1001);
    g_assert(cert_sig_ok(pek_c, 0, oca));
    g_assert_cmphex(cert_u32(pek_c, 0x61c), ==, 0x1004);
    g_assert(cert_sig_ok(pek_c, 1, cek));
    g_assert(cert_sig_ok(oca_c, 0, oca));
    g_assert(!cert_sig_ok(pdh, 0, oca));                /* a wrong key */
    /* No AMD SEV signing key (ASK) in the simulator: the CEK unsigned. */
    g_assert_cmphex(cert_u32(cek_c, 0x414), ==, 0x1000);
    /* A changed certificate does not verify. */
    pdh[0x20] ^= 1;
    g_assert(!cert_sig_ok(pdh, 0, pek));
    pdh[0x20] ^= 1;

    /* The platform identity stays: the same PDH key again. */
    ex.pdh_cert_address = (uintptr_t)pdh2;
    ex.pdh_cert_len = CERT_SIZE;
    g_assert_cmpint(xioctl(fd, SEV_ISSUE_CMD, &cmd), ==, 0);
    g_assert(!memcmp(pdh2, pdh, 0x414));
    EVP_PKEY_free(pek);
    EVP_PKEY_free(oca);
    EVP_PKEY_free(cek);
    close(fd);
}

/* KVM_MEMORY_ENCRYPT_OP(NULL): 0 on a plain VM, nothing else answered. */
static void test_plain_vm_encrypt_probe(void)
{
    struct kvm_sev_cmd cmd = { .id = KVM_SEV_INIT2 };
    int null = open("/dev/null", O_RDWR), kvm, vm;

    g_assert_cmpint(null, >=, 0);
    fails_with(null, KVM_MEMORY_ENCRYPT_OP, NULL, ENOTTY);
    close(null);
    if (skip_if_no_kvm()) {
        return;
    }
    kvm = open("/dev/kvm", O_RDWR);
    g_assert_cmpint(kvm, >=, 0);
    vm = ioctl(kvm, KVM_CREATE_VM, (void *)(long)KVM_X86_DEFAULT_VM);
    g_assert_cmpint(vm, >=, 0);
    g_assert_cmpint(xioctl(vm, KVM_MEMORY_ENCRYPT_OP, NULL), ==, 0);
    /* Commands go to the real KVM, which has no SEV. */
    g_assert_cmpint(xioctl(vm, KVM_MEMORY_ENCRYPT_OP, &cmd), <, 0);
    close(vm);
    close(kvm);
}

static void test_memory_attributes(void)
{
    Vm v;
    struct kvm_memory_attributes a;
    int caps;

    if (skip_if_no_kvm()) {
        return;
    }
    vm_open(&v, false);
    caps = xioctl(v.vm, KVM_CHECK_EXTENSION,
                  (void *)(long)KVM_CAP_MEMORY_ATTRIBUTES);
    g_assert_cmpint(caps, ==, KVM_MEMORY_ATTRIBUTE_PRIVATE);
    /*
     * An SNP VM has guest_memfd (QEMU 10.2 asks the VM, whose default VM
     * underneath says 0 on Linux 6.8 to 6.17).
     */
    g_assert_cmpint(xioctl(v.vm, KVM_CHECK_EXTENSION,
                           (void *)(long)KVM_CAP_GUEST_MEMFD), ==, 1);

    a = (struct kvm_memory_attributes){ 0, PAGE,
                                        KVM_MEMORY_ATTRIBUTE_PRIVATE, 1 };
    fails_with(v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a, EINVAL);   /* flags */
    a = (struct kvm_memory_attributes){ 0, PAGE, 1, 0 };
    fails_with(v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a, EINVAL);   /* attr */
    a = (struct kvm_memory_attributes){ 0, 0, 0, 0 };
    fails_with(v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a, EINVAL);   /* size 0 */
    a = (struct kvm_memory_attributes){ 0x800, PAGE, 0, 0 };
    fails_with(v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a, EINVAL);   /* align */
    a = (struct kvm_memory_attributes){ 0, 0x800, 0, 0 };
    fails_with(v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a, EINVAL);
    a = (struct kvm_memory_attributes){ -PAGE, 2 * PAGE, 0, 0 };
    fails_with(v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a, EINVAL);   /* wraps */
    fails_with(v.vm, KVM_SET_MEMORY_ATTRIBUTES, (void *)8, EFAULT);
    /* Attributes need no memslot: a terabyte far away is fine, cheaply. */
    a = (struct kvm_memory_attributes){ 1ULL << 40, 1ULL << 40,
                                        KVM_MEMORY_ATTRIBUTE_PRIVATE, 0 };
    g_assert_cmpint(xioctl(v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), ==, 0);
    a.attributes = 0;
    g_assert_cmpint(xioctl(v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), ==, 0);
    vm_close(&v);
}

static void test_launch(void)
{
    Vm v;
    struct kvm_sev_init in = { 0 };
    struct kvm_sev_snp_launch_start st = { .policy = 0x30000 };
    struct kvm_sev_snp_launch_update up = { 0 };
    struct kvm_sev_snp_launch_finish fin = { 0 };
    g_autofree uint8_t *src = g_malloc(2 * PAGE);
    uint32_t error;
    int save;

    if (skip_if_no_kvm()) {
        return;
    }
    vm_open(&v, false);
    /* Before KVM_SEV_INIT2 this is no SNP guest. */
    fails_with(v.vm, KVM_MEMORY_ENCRYPT_OP, &(struct kvm_sev_cmd){
        .id = KVM_SEV_SNP_LAUNCH_START, .data = (uintptr_t)&st,
        .sev_fd = v.sev }, ENOTTY);
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_ENABLE_REQ_CERTS, NULL, NULL),
                    ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);

    /* KVM_SEV_INIT2's checks. */
    in.flags = 1;
    g_assert_cmpint(enc_op(&v, KVM_SEV_INIT2, &in, NULL), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    in.flags = 0;
    in.vmsa_features = 1ULL << 63;
    g_assert_cmpint(enc_op(&v, KVM_SEV_INIT2, &in, NULL), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    in.vmsa_features = 0;
    in.ghcb_version = 3;
    g_assert_cmpint(enc_op(&v, KVM_SEV_INIT2, &in, NULL), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    in.ghcb_version = 2;
    g_assert_cmpint(enc_op(&v, KVM_SEV_INIT2, &in, NULL), ==, 0);
    /* Only SNP commands from now on, KVM_SEV_INIT2 included. */
    g_assert_cmpint(enc_op(&v, KVM_SEV_INIT2, &in, NULL), ==, -1);
    g_assert_cmpint(errno, ==, EPERM);
    g_assert_cmpint(enc_op(&v, KVM_SEV_LAUNCH_START, &in, NULL), ==, -1);
    g_assert_cmpint(errno, ==, EPERM);

    /* SNP_LAUNCH_START: KVM's checks, then the firmware's. */
    st.policy = 0x10000;                    /* bit 17 must be one */
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_START, &st, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    st.policy = 0x30000 | (1ULL << 40);     /* not a policy bit */
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_START, &st, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    st.policy = 0x30000;
    st.flags = 1;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_START, &st, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    st.flags = 0;
    save = v.sev;
    v.sev = v.kvm;                          /* not /dev/sev */
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_START, &st, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, ENOTTY);
    v.sev = save;
    st.policy = 0x20000;                    /* no SMT on an SMT host */
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_START, &st, &error), ==,
                    -1);
    g_assert_cmpint(errno, ==, EIO);
    g_assert_cmpuint(error, ==, SEV_RET_POLICY_FAILURE);
    st.policy = 0x30000 | (0xffULL << 8);   /* ABI 255.0 */
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_START, &st, &error), ==,
                    -1);
    g_assert_cmpuint(error, ==, SEV_RET_POLICY_FAILURE);
    st.policy = 0x30000;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_START, &st, NULL), ==, 0);
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_START, &st, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);

    /* SNP_LAUNCH_UPDATE's checks. */
    up.gfn_start = 1;
    up.uaddr = (uintptr_t)src;
    up.type = KVM_SEV_SNP_PAGE_TYPE_NORMAL;
    up.len = PAGE / 2;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    up.len = PAGE;
    up.type = 2;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    up.type = KVM_SEV_SNP_PAGE_TYPE_NORMAL;
    up.flags = 1;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    up.flags = 0;
    up.gfn_start = PLAIN_GPA / PAGE;        /* no guest_memfd */
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    up.gfn_start = 1;                       /* not private yet */
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EIO);

    /* Consumed as KVM does: gfn_start and uaddr advance, len goes to 0. */
    set_attr(&v, 0, RAM_SIZE, true);
    memset(src, 0x5a, 2 * PAGE);
    up.len = 2 * PAGE;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==, 0);
    g_assert_cmpuint(up.gfn_start, ==, 3);
    g_assert_cmpuint(up.len, ==, 0);
    g_assert_cmphex(up.uaddr, ==, (uintptr_t)src + 2 * PAGE);
    g_assert_cmpuint(v.ram[PAGE], ==, 0x5a);
    g_assert_cmpuint(v.ram[3 * PAGE - 1], ==, 0x5a);
    /* ... and never twice. */
    up.gfn_start = 2;
    up.uaddr = (uintptr_t)src;
    up.len = PAGE;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EIO);
    /* A ZERO page is zeroed; uaddr does not move. */
    memset(v.ram + 0x50 * PAGE, 0xcc, PAGE);
    up.gfn_start = 0x50;
    up.uaddr = 0x1234000;
    up.len = PAGE;
    up.type = KVM_SEV_SNP_PAGE_TYPE_ZERO;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==, 0);
    g_assert_cmpuint(up.gfn_start, ==, 0x51);
    g_assert_cmpuint(up.len, ==, 0);
    g_assert_cmphex(up.uaddr, ==, 0x1234000);
    g_assert_cmpuint(v.ram[0x50 * PAGE], ==, 0);
    g_assert_cmpuint(v.ram[0x51 * PAGE - 1], ==, 0);
    /* A range past the end of its memslot stops there. */
    up.gfn_start = RAM_SIZE / PAGE - 1;
    up.uaddr = (uintptr_t)src;
    up.len = 3 * PAGE;
    up.type = KVM_SEV_SNP_PAGE_TYPE_NORMAL;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==, 0);
    g_assert_cmpuint(up.gfn_start, ==, RAM_SIZE / PAGE);
    g_assert_cmpuint(up.len, ==, 2 * PAGE);
    g_assert_cmphex(up.uaddr, ==, (uintptr_t)src + PAGE);
    /* An unreadable source is EFAULT from the first page: EIO. */
    up.gfn_start = 0x60;
    up.uaddr = 8;
    up.len = PAGE;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_UPDATE, &up, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EIO);

    /* ENABLE_REQ_CERTS: mainline, before any vCPU exists. */
    if (kernel == K_MAINLINE) {
        g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_ENABLE_REQ_CERTS, NULL,
                               NULL), ==, 0);
    }
    v.vcpu = xioctl(v.vm, KVM_CREATE_VCPU, (void *)0L);
    g_assert_cmpint(v.vcpu, >=, 0);
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_ENABLE_REQ_CERTS, NULL, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);

    fin.flags = 1;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_FINISH, &fin, NULL), ==,
                    -1);
    g_assert_cmpint(errno, ==, EINVAL);
    fin.flags = 0;
    g_assert_cmpint(enc_op(&v, KVM_SEV_SNP_LAUNCH_FINISH, &fin, NULL), ==,
                    0);
    g_assert_cmpint(enc_op(&v, 0xffff, NULL, NULL), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpint(count_in_log("launch-finish measurement="), >=, 1);
    vm_close(&v);
}

static void test_hypercall(void)
{
    Vm v;
    struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL };

    if (skip_if_no_kvm()) {
        return;
    }
    vm_open(&v, true);
    vm_launch(&v, false);

    g_assert_cmpint(xioctl(v.vm, KVM_ENABLE_CAP, &cap), ==, 0);
    ring(&v, SNP_SIM_OP_MAP_GPA_RANGE, 0x10000, 2, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, -(uint64_t)KVM_ENOSYS);

    cap.args[0] = 1ULL << KVM_HC_MAP_GPA_RANGE;
    g_assert_cmpint(xioctl(v.vm, KVM_ENABLE_CAP, &cap), ==, 0);
    ring(&v, SNP_SIM_OP_MAP_GPA_RANGE, 0x10000, 2,
         KVM_MAP_GPA_RANGE_ENCRYPTED, 0);
    g_assert_cmpint(run(&v), ==, 0);
    g_assert_cmpint(v.run->exit_reason, ==, KVM_EXIT_HYPERCALL);
    g_assert_cmpuint(v.run->hypercall.nr, ==, KVM_HC_MAP_GPA_RANGE);
    g_assert_cmphex(v.run->hypercall.args[0], ==, 0x10000);
    g_assert_cmpuint(v.run->hypercall.args[1], ==, 2);
    g_assert_cmphex(v.run->hypercall.args[2], ==,
                    KVM_MAP_GPA_RANGE_ENCRYPTED);
    g_assert_cmphex(v.run->hypercall.flags, ==,
                    KVM_EXIT_HYPERCALL_LONG_MODE);
    g_assert_cmphex(v.run->hypercall.ret, !=, 0);   /* poisoned */
    v.run->hypercall.ret = 0x55;
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0x55);

    /* immediate_exit after the completion: -EINTR, RAX already set. */
    ring(&v, SNP_SIM_OP_MAP_GPA_RANGE, 0x10000, 1, 0, 0);
    g_assert_cmpint(run(&v), ==, 0);
    v.run->hypercall.ret = 0;
    v.run->immediate_exit = 1;
    g_assert_cmpint(run(&v), ==, -1);
    g_assert_cmpint(errno, ==, EINTR);
    g_assert_cmphex(guest_rax(&v, NULL), ==, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);

    /* What KVM refuses itself, without an exit. */
    ring(&v, SNP_SIM_OP_MAP_GPA_RANGE, 0x10800, 1, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, -(uint64_t)KVM_EINVAL);
    ring(&v, SNP_SIM_OP_MAP_GPA_RANGE, 0x10000, 0, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, -(uint64_t)KVM_EINVAL);
    ring(&v, SNP_SIM_OP_MAP_GPA_RANGE, 0x10000, UINT64_MAX, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, -(uint64_t)KVM_EINVAL);
    vm_close(&v);
}

static void verify_report(const uint8_t *resp, const uint8_t *user_data)
{
    const struct snp_sim_report_resp *rs = (const void *)resp;
    g_autofree char *vpath = g_build_filename(fwdir, "vcek.der", NULL);
    g_autofree uint8_t *der = NULL;
    gsize len;
    const unsigned char *p;
    X509 *x;
    EVP_PKEY *key;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    unsigned char *sder = NULL;
    int slen;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint32_t version;

    g_assert_cmpuint(rs->status, ==, 0);
    g_assert_cmpuint(rs->report_size, ==, SNP_SIM_REPORT_SIZE);
    memcpy(&version, rs->report, 4);
    g_assert_cmpuint(version, ==, 3);
    g_assert_cmpmem(rs->report + 0x50, 64, user_data, 64);
    g_assert(g_file_get_contents(vpath, (char **)&der, &len, NULL));
    p = der;
    x = d2i_X509(NULL, &p, len);
    g_assert(x);
    key = X509_get0_pubkey(x);
    g_assert(key);
    /* r and s: 72 bytes each, little-endian, at 0x2A0. */
    g_assert(ECDSA_SIG_set0(sig,
        BN_lebin2bn(rs->report + SNP_SIM_REPORT_SIG_OFFSET, 72, NULL),
        BN_lebin2bn(rs->report + SNP_SIM_REPORT_SIG_OFFSET + 72, 72, NULL)));
    slen = i2d_ECDSA_SIG(sig, &sder);
    g_assert_cmpint(slen, >, 0);
    g_assert_cmpint(EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key),
                    ==, 1);
    g_assert_cmpint(EVP_DigestVerify(md, sder, slen, rs->report,
                                     SNP_SIM_REPORT_SIG_OFFSET), ==, 1);
    EVP_MD_CTX_free(md);
    OPENSSL_free(sder);
    ECDSA_SIG_free(sig);
    X509_free(x);
}

/* Hold the blob's shared locks, as the VMM must during a request. */
static int hold_shared(void)
{
    struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
    int fd = open(blob, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fcntl(fd, F_OFD_SETLK, &fl), ==, 0);
    g_assert_cmpint(flock(fd, LOCK_SH | LOCK_NB), ==, 0);
    return fd;
}

/* A MSG_REPORT_REQ with sequence number @seqno into the request page. */
static void put_msg(Vm *v, uint64_t seqno, uint8_t type, uint8_t *user_data)
{
    uint8_t *m = v->ram + REQ_GPA;
    uint16_t u16;

    for (int i = 0; i < 64; i++) {
        user_data[i] = g_random_int_range(0, 256);
    }
    memset(m, 0, PAGE);
    memcpy(m + MSG_OFF_SEQNO, &seqno, 8);
    m[MSG_OFF_HDR_VERSION] = 1;
    u16 = MSG_HDR_SIZE;
    memcpy(m + MSG_OFF_HDR_SZ, &u16, 2);
    m[MSG_OFF_TYPE] = type;
    m[MSG_OFF_VERSION] = 1;
    u16 = REPORT_REQ_SIZE;
    memcpy(m + MSG_OFF_SZ, &u16, 2);
    m[MSG_OFF_VMPCK] = 0;
    memcpy(m + MSG_HDR_SIZE, user_data, 64);
    memset(v->ram + RESP_GPA, 0xee, PAGE);
}

/* An unsequenced extended request (message sequence number 0). */
static void request(Vm *v, uint64_t npages, uint8_t *user_data)
{
    put_msg(v, 0, MSG_REPORT_REQ, user_data);
    ring(v, SNP_SIM_OP_EXT_GUEST_REQ, BUF_GPA, npages, REQ_GPA, RESP_GPA);
}

/* The MSG_REPORT_RSP after the response page's header. */
static uint8_t *resp_msg(Vm *v)
{
    return v->ram + RESP_GPA + MSG_HDR_SIZE;
}

static void test_req_mainline(Vm *v)
{
    uint8_t ud[64];
    uint64_t rbx;
    guint ok0 = count_in_log("lock-ok"), bad0;
    int lfd;

    request(v, 1, ud);
    g_assert_cmpint(run(v), ==, 0);
    g_assert_cmpint(v->run->exit_reason, ==, KVM_EXIT_SNP_REQ_CERTS);
    g_assert_cmphex(v->run->snp_req_certs.gpa, ==, BUF_GPA);
    g_assert_cmpuint(v->run->snp_req_certs.npages, ==, 1);
    g_assert_true(v->run->snp_req_certs.ret != 0 &&
                  v->run->snp_req_certs.ret != ENOSPC &&
                  v->run->snp_req_certs.ret != EAGAIN &&
                  v->run->snp_req_certs.ret != EIO);    /* poisoned */
    /* Too small: the required count comes back in RBX. */
    v->run->snp_req_certs.ret = ENOSPC;
    v->run->snp_req_certs.npages = 4;
    v->run->immediate_exit = 1;
    g_assert_cmpint(run(v), ==, -1);
    g_assert_cmpint(errno, ==, EINTR);
    g_assert_cmphex(guest_rax(v, &rbx), ==,
                    (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN << 32);
    g_assert_cmpuint(rbx, ==, 4);
    run_to_hlt(v, NULL);

    /* Served under the shared locks: a report, and the lock check ok. */
    request(v, 4, ud);
    g_assert_cmpint(run(v), ==, 0);
    g_assert_cmpint(v->run->exit_reason, ==, KVM_EXIT_SNP_REQ_CERTS);
    memcpy(v->ram + BUF_GPA, "blob", 4);    /* the blob, as served */
    lfd = hold_shared();
    v->run->snp_req_certs.ret = 0;
    v->run->immediate_exit = 1;
    g_assert_cmpint(run(v), ==, -1);
    g_assert_cmpint(errno, ==, EINTR);
    close(lfd);
    g_assert_cmphex(guest_rax(v, NULL), ==, 0);
    verify_report(resp_msg(v), ud);
    g_assert_cmpuint(count_in_log("lock-ok"), ==, ok0 + 1);
    run_to_hlt(v, NULL);

    /* Without the locks the simulated firmware records the violation. */
    bad0 = count_in_log("lock-violation");
    request(v, 4, ud);
    g_assert_cmpint(run(v), ==, 0);
    memcpy(v->ram + BUF_GPA, "blob", 4);
    v->run->snp_req_certs.ret = 0;
    g_assert_cmphex(run_to_hlt(v, NULL), ==, 0);
    g_assert_cmpuint(count_in_log("lock-violation"), ==, bad0 + 2);

    /* BUSY and the generic error. */
    request(v, 4, ud);
    g_assert_cmpint(run(v), ==, 0);
    v->run->snp_req_certs.ret = EAGAIN;
    g_assert_cmphex(run_to_hlt(v, NULL), ==,
                    (uint64_t)SNP_GUEST_VMM_ERR_BUSY << 32);
    request(v, 4, ud);
    g_assert_cmpint(run(v), ==, 0);
    v->run->snp_req_certs.ret = EIO;
    g_assert_cmphex(run_to_hlt(v, NULL), ==, 0xffffffffULL << 32);

    /* Anything else: KVM_RUN fails with EINVAL. */
    request(v, 4, ud);
    g_assert_cmpint(run(v), ==, 0);
    v->run->snp_req_certs.ret = ENOMEM;
    g_assert_cmpint(run(v), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpuint(count_in_log("ret-invalid"), >=, 1);
    request(v, 4, ud);
    g_assert_cmpint(run(v), ==, 0);     /* left poisoned */
    g_assert_cmpint(run(v), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpuint(count_in_log("ret-poisoned"), >=, 1);
}

static void test_req_no_certs(Vm *v)
{
    uint8_t ud[64];

    memset(v->ram + BUF_GPA, 0xaa, PAGE);
    request(v, 1, ud);
    g_assert_cmphex(run_to_hlt(v, NULL), ==, 0);
    /* KVM's empty table: the 24-byte terminator, nothing else. */
    for (int i = 0; i < 24; i++) {
        g_assert_cmpuint(v->ram[BUF_GPA + i], ==, 0);
    }
    g_assert_cmpuint(v->ram[BUF_GPA + 24], ==, 0xaa);
    verify_report(resp_msg(v), ud);
}

static void test_req_legacy(Vm *v)
{
    uint8_t *hw = (uint8_t *)&v->run->hw;
    uint8_t ud[64];
    uint64_t u64, rbx;
    uint32_t u32;

    request(v, 1, ud);
    g_assert_cmpint(run(v), ==, 0);
    g_assert_cmpint(v->run->exit_reason, ==, LEGACY_EXIT_VMGEXIT);
    memcpy(&u32, hw + LEGACY_OFF_TYPE, 4);
    g_assert_cmpuint(u32, ==, LEGACY_TYPE_REQ_CERTS);
    memcpy(&u64, hw + LEGACY_OFF_GPA, 8);
    g_assert_cmphex(u64, ==, BUF_GPA);
    memcpy(&u64, hw + LEGACY_OFF_NPAGES, 8);
    g_assert_cmpuint(u64, ==, 1);
    g_assert_cmpuint(hw[LEGACY_OFF_STATUS], ==, 0);
    /* Too small, with NOTIFY_DONE: the DONE exit, without the guest. */
    u32 = LEGACY_RET_INVALID_LEN;
    memcpy(hw + LEGACY_OFF_RET, &u32, 4);
    u64 = 3;
    memcpy(hw + LEGACY_OFF_NPAGES, &u64, 8);
    hw[LEGACY_OFF_FLAGS] = LEGACY_FLAGS_NOTIFY_DONE;
    g_assert_cmpint(run(v), ==, 0);
    g_assert_cmpint(v->run->exit_reason, ==, LEGACY_EXIT_VMGEXIT);
    g_assert_cmpuint(hw[LEGACY_OFF_STATUS], ==, LEGACY_STATUS_DONE);
    g_assert_cmpuint(hw[LEGACY_OFF_FLAGS], ==, 0);
    g_assert_cmphex(guest_rax(v, &rbx), ==, 1ULL << 32);
    g_assert_cmpuint(rbx, ==, 3);
    run_to_hlt(v, NULL);

    /* Served, with NOTIFY_DONE: report first, then DONE. */
    request(v, 4, ud);
    g_assert_cmpint(run(v), ==, 0);
    memset(hw + LEGACY_OFF_RET, 0, 4);
    hw[LEGACY_OFF_FLAGS] = LEGACY_FLAGS_NOTIFY_DONE;
    g_assert_cmpint(run(v), ==, 0);
    g_assert_cmpuint(hw[LEGACY_OFF_STATUS], ==, LEGACY_STATUS_DONE);
    verify_report(resp_msg(v), ud);
    g_assert_cmphex(run_to_hlt(v, NULL), ==, 0);

    /* Without the flag: straight back to the guest. */
    request(v, 4, ud);
    g_assert_cmpint(run(v), ==, 0);
    memset(hw + LEGACY_OFF_RET, 0, 4);
    hw[LEGACY_OFF_FLAGS] = 0;
    g_assert_cmphex(run_to_hlt(v, NULL), ==, 0);
    verify_report(resp_msg(v), ud);
}

static void test_ext_req(void)
{
    Vm v;
    uint8_t ud[64];

    if (skip_if_no_kvm()) {
        return;
    }
    vm_open(&v, true);
    vm_launch(&v, kernel == K_MAINLINE);
    switch (kernel) {
    case K_MAINLINE:
        test_req_mainline(&v);
        break;
    case K_NO_CERTS:
        test_req_no_certs(&v);
        break;
    case K_LEGACY:
        test_req_legacy(&v);
        break;
    }
    /* A buffer that is not page aligned: refused by KVM itself. */
    request(&v, 1, ud);
    ring(&v, SNP_SIM_OP_EXT_GUEST_REQ, BUF_GPA + 8, 1, REQ_GPA, RESP_GPA);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, kernel == K_LEGACY ?
                    0xffffffffULL << 32 : 5 /* GHCB_ERR_INVALID_INPUT */);
    g_assert_cmphex(guest_rcx(&v), ==, kernel == K_LEGACY ? 0 : 2);
    /* A report the firmware refuses: VMPL 4. */
    request(&v, 4, ud);
    v.ram[REQ_GPA + MSG_HDR_SIZE + 64] = 4;
    if (kernel == K_MAINLINE) {
        g_assert_cmpint(run(&v), ==, 0);
        v.run->snp_req_certs.ret = 0;
    } else if (kernel == K_LEGACY) {
        g_assert_cmpint(run(&v), ==, 0);
        memset((uint8_t *)&v.run->hw + LEGACY_OFF_RET, 0, 5);
    }
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
    g_assert_cmpuint(((struct snp_sim_report_resp *)resp_msg(&v))
                     ->status, ==, SEV_RET_INVALID_PARAM);
    vm_close(&v);
}

/*
 * The plain guest request (KVM straight to the firmware, no exit, on
 * every kernel) and the firmware's message sequence numbers.
 */
static void test_guest_req(void)
{
    Vm v;
    uint8_t ud[64];
    uint64_t seqno, rbx, next;
    uint8_t *rsp;
    guint reuse0, exits0;

    if (skip_if_no_kvm()) {
        return;
    }
    vm_open(&v, true);
    vm_launch(&v, kernel == K_MAINLINE);
    rsp = v.ram + RESP_GPA;
    exits0 = count_in_log(" exit ");

    /* Unsequenced: served, no check. */
    put_msg(&v, 0, MSG_REPORT_REQ, ud);
    ring(&v, SNP_SIM_OP_GUEST_REQ, 0, 0, REQ_GPA, RESP_GPA);
    v.run->immediate_exit = 0;
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
    g_assert_cmphex(guest_rcx(&v), ==, 0);
    verify_report(resp_msg(&v), ud);

    /* The first sequence number is 1; the response carries 2. */
    put_msg(&v, 1, MSG_REPORT_REQ, ud);
    ring(&v, SNP_SIM_OP_GUEST_REQ, 0, 0, REQ_GPA, RESP_GPA);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
    verify_report(resp_msg(&v), ud);
    memcpy(&seqno, rsp + MSG_OFF_SEQNO, 8);
    g_assert_cmpuint(seqno, ==, 2);
    g_assert_cmpuint(rsp[MSG_OFF_TYPE], ==, MSG_REPORT_RSP);
    g_assert_cmpuint(rsp[MSG_OFF_VERSION], ==, 1);
    g_assert_cmpuint(rsp[MSG_OFF_SZ] | rsp[MSG_OFF_SZ + 1] << 8, ==,
                     REPORT_RSP_SIZE);
    g_assert_cmpuint(count_in_log(" exit "), ==, exits0);

    /*
     * 1 again, for another message: the firmware refuses (an error in
     * SW_EXITINFO2's low half, the response page untouched), and the
     * reused IV is logged.
     */
    reuse0 = count_in_log(" iv-reuse ");
    put_msg(&v, 1, MSG_REPORT_REQ, ud);
    ring(&v, SNP_SIM_OP_GUEST_REQ, 0, 0, REQ_GPA, RESP_GPA);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, SEV_RET_INVALID_PARAM);
    g_assert_cmpuint(rsp[0], ==, 0xee);
    g_assert_cmpuint(rsp[PAGE - 1], ==, 0xee);
    g_assert_cmpuint(count_in_log(" iv-reuse "), ==, reuse0 + 1);
    next = 3;

    if (kernel == K_MAINLINE) {
        /*
         * INVALID_LEN from the VMM: the firmware never saw message 3, so
         * the same message re-issued as a plain request is served (and
         * is no IV reuse).
         */
        put_msg(&v, 3, MSG_REPORT_REQ, ud);
        ring(&v, SNP_SIM_OP_EXT_GUEST_REQ, BUF_GPA, 0, REQ_GPA, RESP_GPA);
        g_assert_cmpint(run(&v), ==, 0);
        g_assert_cmpint(v.run->exit_reason, ==, KVM_EXIT_SNP_REQ_CERTS);
        g_assert_cmpuint(v.run->snp_req_certs.npages, ==, 0);
        v.run->snp_req_certs.ret = ENOSPC;
        v.run->snp_req_certs.npages = 2;
        g_assert_cmphex(run_to_hlt(&v, &rbx), ==,
                        (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN << 32);
        g_assert_cmpuint(rbx, ==, 2);
        ring(&v, SNP_SIM_OP_GUEST_REQ, 0, 0, REQ_GPA, RESP_GPA);
        g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
        verify_report(resp_msg(&v), ud);
        g_assert_cmpuint(count_in_log(" iv-reuse "), ==, reuse0 + 1);

        /*
         * A chain-less success (an empty table, or no buffer) needs no
         * lock: the firmware does not check one.
         */
        put_msg(&v, 5, MSG_REPORT_REQ, ud);
        ring(&v, SNP_SIM_OP_EXT_GUEST_REQ, BUF_GPA, 4, REQ_GPA, RESP_GPA);
        g_assert_cmpint(run(&v), ==, 0);
        memset(v.ram + BUF_GPA, 0, 24);
        v.run->snp_req_certs.ret = 0;
        reuse0 = count_in_log(" lock-violation ");
        g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
        g_assert_cmpuint(count_in_log(" lock-violation "), ==, reuse0);
        g_assert_cmpuint(count_in_log("why=empty-table"), >=, 1);
        put_msg(&v, 7, MSG_REPORT_REQ, ud);
        ring(&v, SNP_SIM_OP_EXT_GUEST_REQ, BUF_GPA, 0, REQ_GPA, RESP_GPA);
        g_assert_cmpint(run(&v), ==, 0);
        v.run->snp_req_certs.ret = 0;
        g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
        g_assert_cmpuint(count_in_log(" lock-violation "), ==, reuse0);
        g_assert_cmpuint(count_in_log("why=no-buffer"), >=, 1);
        verify_report(resp_msg(&v), ud);
        next = 9;
    }

    /*
     * A header the firmware does not take, with the sequence number it
     * expects: refused.  Last, because the guest put a message with that
     * number into shared memory: any other message with it would be an
     * IV reuse.
     */
    reuse0 = count_in_log(" iv-reuse ");
    put_msg(&v, next, MSG_REPORT_REQ + 2, ud);
    ring(&v, SNP_SIM_OP_GUEST_REQ, 0, 0, REQ_GPA, RESP_GPA);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, SEV_RET_INVALID_PARAM);
    g_assert_cmpuint(count_in_log(" iv-reuse "), ==, reuse0);
    vm_close(&v);
}

static void test_memory_fault(void)
{
    Vm v;

    if (skip_if_no_kvm()) {
        return;
    }
    vm_open(&v, true);
    vm_launch(&v, false);
    set_attr(&v, FAULT_GPA + PAGE, PAGE, true);
    /* A shared access to a private page. */
    ring(&v, SNP_SIM_OP_ACCESS, FAULT_GPA, 2 * PAGE, 0, 0);
    g_assert_cmpint(run(&v), ==, -1);
    g_assert_cmpint(errno, ==, EFAULT);
    g_assert_cmpint(v.run->exit_reason, ==, KVM_EXIT_MEMORY_FAULT);
    g_assert_cmphex(v.run->memory_fault.gpa, ==, FAULT_GPA + PAGE);
    g_assert_cmpuint(v.run->memory_fault.size, ==, PAGE);
    g_assert_cmphex(v.run->memory_fault.flags, ==, 0);
    /* Retried at every entry until the attributes agree. */
    g_assert_cmpint(run(&v), ==, -1);
    g_assert_cmpint(errno, ==, EFAULT);
    v.run->immediate_exit = 1;
    g_assert_cmpint(run(&v), ==, -1);
    g_assert_cmpint(errno, ==, EINTR);
    set_attr(&v, FAULT_GPA + PAGE, PAGE, false);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
    /* A private access to shared pages wants private. */
    ring(&v, SNP_SIM_OP_ACCESS, FAULT_GPA, PAGE,
         KVM_MEMORY_EXIT_FLAG_PRIVATE, 0);
    g_assert_cmpint(run(&v), ==, -1);
    g_assert_cmpint(errno, ==, EFAULT);
    g_assert_cmphex(v.run->memory_fault.flags, ==,
                    KVM_MEMORY_EXIT_FLAG_PRIVATE);
    g_assert_cmphex(v.run->memory_fault.gpa, ==, FAULT_GPA);
    set_attr(&v, FAULT_GPA, PAGE, true);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
    vm_close(&v);
}

static void test_ops(void)
{
    Vm v;
    uint64_t t, now;
    int fd;
    g_autofree char *r0 = NULL, *c0 = NULL;
    g_autofree char *rep = NULL, *certs = NULL;
    gsize rlen, clen;

    if (skip_if_no_kvm()) {
        return;
    }
    vm_open(&v, true);
    vm_launch(&v, false);
    ring(&v, SNP_SIM_OP_TIME_MS, 0, 0, 0, 0);
    t = run_to_hlt(&v, NULL);
    now = g_get_monotonic_time() / 1000;
    g_assert_cmpuint(t, <=, now);
    g_assert_cmpuint(t + 5000, >, now);
    ring(&v, 99, 0, 0, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, SNP_SIM_RET_BAD_OP);

    /* RECORD: the pair as the guest holds it. */
    memset(v.ram + BUF_GPA, 0x11, 2 * PAGE);
    memset(v.ram + RESP_GPA, 0x22, PAGE);
    ring(&v, SNP_SIM_OP_RECORD, BUF_GPA, 2, RESP_GPA, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
    r0 = g_build_filename(pairs, "0.report", NULL);
    c0 = g_build_filename(pairs, "0.certs", NULL);
    g_assert(g_file_get_contents(r0, &rep, &rlen, NULL));
    g_assert(g_file_get_contents(c0, &certs, &clen, NULL));
    g_assert_cmpuint(rlen, ==, SNP_SIM_REPORT_SIZE);
    g_assert_cmpuint(clen, ==, 2 * PAGE);
    g_assert_cmpuint((uint8_t)rep[0], ==, 0x22);
    g_assert_cmpuint((uint8_t)certs[clen - 1], ==, 0x11);
    ring(&v, SNP_SIM_OP_RECORD, 0x7fff0000000ULL, 1, RESP_GPA, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, -(uint64_t)EFAULT);
    /* No certificates: an empty N.certs. */
    ring(&v, SNP_SIM_OP_RECORD, BUF_GPA, 0, RESP_GPA, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 1);
    {
        g_autofree char *c1 = g_build_filename(pairs, "1.certs", NULL);
        g_autofree char *e = NULL;

        g_assert(g_file_get_contents(c1, &e, &clen, NULL));
        g_assert_cmpuint(clen, ==, 0);
    }

    /* HOST_STEP without a runner, or with a name it cannot pass on. */
    memcpy(v.ram + BUF_GPA, "blob:delete", 12);
    ring(&v, SNP_SIM_OP_HOST_STEP, BUF_GPA, 0, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, -(uint64_t)ENOENT);
    memcpy(v.ram + BUF_GPA, "two words", 10);
    ring(&v, SNP_SIM_OP_HOST_STEP, BUF_GPA, 0, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, -(uint64_t)EINVAL);
    ring(&v, SNP_SIM_OP_HOST_STEP, 0, 0, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, -(uint64_t)EINVAL);

    /* HOLD_LOCK: an updater holds both exclusive locks for a while. */
    ring(&v, SNP_SIM_OP_HOLD_LOCK, 300, 0, 0, 0);
    g_assert_cmphex(run_to_hlt(&v, NULL), ==, 0);
    fd = open(blob, O_RDONLY);
    g_assert_cmpint(flock(fd, LOCK_SH | LOCK_NB), ==, -1);
    g_assert_cmpint(errno, ==, EWOULDBLOCK);
    g_assert_cmpint(fcntl(fd, F_OFD_SETLK, &(struct flock){
        .l_type = F_RDLCK, .l_whence = SEEK_SET }), ==, -1);
    g_usleep(600 * 1000);
    g_assert_cmpint(flock(fd, LOCK_SH | LOCK_NB), ==, 0);
    close(fd);
    vm_close(&v);
}

/* ---------------------------------------------------------------- */
/* guest_memfd: the kernel's, or the simulator's where it has none   */
/* ---------------------------------------------------------------- */

#define GMEM_PAGES 16
#define GMEM_GPA 0x400000ULL            /* slots 2 to 4 */
#define GMEM_PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)

/* Whose guest_memfd this process gets. */
static bool gmem_is_emulated(void)
{
    return gmem_forced || kernel_gmem_cap <= 0;
}

static int gmem_create(Vm *v, uint64_t size, uint64_t flags)
{
    struct kvm_create_guest_memfd gm = { .size = size, .flags = flags };

    return ioctl(v->vm, KVM_CREATE_GUEST_MEMFD, &gm);
}

static void gmem_create_fails(Vm *v, uint64_t size, uint64_t flags)
{
    struct kvm_create_guest_memfd gm = { .size = size, .flags = flags };

    fails_with(v->vm, KVM_CREATE_GUEST_MEMFD, &gm, EINVAL);
}

static void falloc_fails(int fd, int mode, off_t off, off_t len, int err)
{
    g_assert_cmpint(fallocate(fd, mode, off, len), ==, -1);
    g_assert_cmpint(errno, ==, err);
}

/* A slot of @npages pages at @gpa, its private pages at @off in @fd. */
static int gmem_slot(Vm *v, uint32_t slot, uint64_t gpa, uint64_t npages,
                     uint8_t *hva, uint32_t flags, int fd, uint64_t off)
{
    struct kvm_userspace_memory_region2 r = {
        .slot = slot, .flags = flags, .guest_phys_addr = gpa,
        .memory_size = npages * PAGE, .userspace_addr = (uintptr_t)hva,
        .guest_memfd = fd, .guest_memfd_offset = off,
    };

    return ioctl(v->vm, KVM_SET_USER_MEMORY_REGION2, &r);
}

static void gmem_slot_fails(Vm *v, uint32_t slot, uint64_t gpa,
                            uint64_t npages, uint8_t *hva, uint32_t flags,
                            int fd, uint64_t off, int err)
{
    g_assert_cmpint(gmem_slot(v, slot, gpa, npages, hva, flags, fd, off),
                    ==, -1);
    g_assert_cmpint(errno, ==, err);
}

/* A descriptor number nothing holds. */
static int closed_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    return fd;
}

/*
 * The rules of virt/kvm/guest_memfd.c, whoever plays them: on the
 * kernel's guest_memfd these expectations are checked against the real
 * kernel (all but the binding, which the simulator makes itself on
 * either), on the simulator's against the simulator.
 */
static void test_gmem_rules(void)
{
    Vm v, w;
    g_autofree char *proc = NULL, *link = NULL;
    struct iovec local, remote;
    struct stat st;
    char buf[64];
    uint8_t *hva, *p;
    long flags_cap;
    int fd, num, plain, null, mfd;
    bool emu = gmem_is_emulated();

    if (skip_if_no_kvm()) {
        return;
    }
    g_test_message("guest_memfd: %s", !emu ? "the kernel's" :
                   gmem_forced ? "emulated (forced)" :
                   "emulated (the kernel has none)");
    vm_open(&v, false);
    /* QEMU 10.0 asks /dev/kvm, 10.2 the VM. */
    g_assert_cmpint(xioctl(v.kvm, KVM_CHECK_EXTENSION,
                           (void *)(long)KVM_CAP_GUEST_MEMFD), ==, 1);
    g_assert_cmpint(xioctl(v.vm, KVM_CHECK_EXTENSION,
                           (void *)(long)KVM_CAP_GUEST_MEMFD), ==, 1);
    /* Decided once, and said; the descriptor shows whose it is. */
    g_assert_cmpuint(count_in_log(" gmem mode="), ==, 1);
    g_assert_cmpuint(count_in_log(!emu ? " gmem mode=kernel " :
                                  gmem_forced ?
                                  " gmem mode=emulated why=forced " :
                                  " gmem mode=emulated why=kernel-has-none "),
                     ==, 1);
    proc = g_strdup_printf("/proc/self/fd/%d", v.gmem);
    link = g_file_read_link(proc, NULL);
    g_assert_nonnull(link);
    g_assert_cmpint(g_str_has_prefix(link, "/memfd:"), ==, emu);

    /*
     * kvm_gmem_create(): flags the VM supports (INIT_SHARED never, on a
     * VM with private memory), size > 0 and page aligned: else EINVAL.
     */
    flags_cap = xioctl(v.vm, KVM_CHECK_EXTENSION,
                       (void *)(long)KVM_CAP_GUEST_MEMFD_FLAGS);
    g_assert_cmpint(flags_cap, >=, 0);
    g_assert_cmphex(flags_cap & GUEST_MEMFD_FLAG_INIT_SHARED, ==, 0);
    if (emu) {
        /* Linux >= 6.18 lets every VM mmap() it; 6.x before, no flag. */
        g_assert_cmphex(flags_cap, ==, kernel == K_MAINLINE ?
                        GUEST_MEMFD_FLAG_MMAP : 0);
    }
    gmem_create_fails(&v, 0, 0);
    gmem_create_fails(&v, PAGE / 2, 0);
    gmem_create_fails(&v, PAGE + PAGE / 2, 0);
    gmem_create_fails(&v, -PAGE, 0);                /* < 0 as a loff_t */
    gmem_create_fails(&v, PAGE, GUEST_MEMFD_FLAG_INIT_SHARED);
    gmem_create_fails(&v, PAGE, 1ULL << 63);
    if (!(flags_cap & GUEST_MEMFD_FLAG_MMAP)) {
        gmem_create_fails(&v, PAGE, GUEST_MEMFD_FLAG_MMAP);
    }
    fails_with(v.vm, KVM_CREATE_GUEST_MEMFD, (void *)8, EFAULT);

    /* A good one: its size; not close-on-exec (get_unused_fd_flags(0)). */
    fd = gmem_create(&v, GMEM_PAGES * PAGE, 0);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    g_assert_true(S_ISREG(st.st_mode));
    g_assert_cmpint(st.st_size, ==, GMEM_PAGES * PAGE);
    g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, ==, 0);

    /*
     * vfs_fallocate() (offset >= 0, len > 0), kvm_gmem_fallocate()
     * (KEEP_SIZE, alone or with PUNCH_HOLE: else EOPNOTSUPP; aligned:
     * else EINVAL), kvm_gmem_allocate() (within the file).  QEMU punches
     * holes (ram_block_discard_guest_memfd_range()).
     */
    g_assert_cmpint(fallocate(fd, GMEM_PUNCH, 0, PAGE), ==, 0);
    g_assert_cmpint(fallocate(fd, GMEM_PUNCH, 4 * PAGE, 4 * PAGE), ==, 0);
    g_assert_cmpint(fallocate(fd, GMEM_PUNCH, 2 * GMEM_PAGES * PAGE, PAGE),
                    ==, 0);                         /* past the end */
    g_assert_cmpint(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 2 * PAGE), ==, 0);
    falloc_fails(fd, FALLOC_FL_KEEP_SIZE, (GMEM_PAGES - 1) * PAGE, 2 * PAGE,
                 EINVAL);
    falloc_fails(fd, GMEM_PUNCH, PAGE / 2, PAGE, EINVAL);
    falloc_fails(fd, GMEM_PUNCH, PAGE, PAGE / 2, EINVAL);
    falloc_fails(fd, GMEM_PUNCH, PAGE, 0, EINVAL);
    falloc_fails(fd, GMEM_PUNCH, -PAGE, PAGE, EINVAL);
    falloc_fails(fd, 0, 0, PAGE, EOPNOTSUPP);
    falloc_fails(fd, FALLOC_FL_PUNCH_HOLE, 0, PAGE, EOPNOTSUPP);
    falloc_fails(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, PAGE,
                 EOPNOTSUPP);
    falloc_fails(fd, FALLOC_FL_COLLAPSE_RANGE, 0, PAGE, EOPNOTSUPP);

    /*
     * Without GUEST_MEMFD_FLAG_MMAP no mmap() (ENODEV); never read() or
     * write() (no such file operations: EINVAL), pread()/pwrite() (not
     * FMODE_PREAD: ESPIPE) or a new size (kvm_gmem_setattr(): EINVAL).
     */
    g_assert_true(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       0) == MAP_FAILED);
    g_assert_cmpint(errno, ==, ENODEV);
    g_assert_true(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0) ==
                  MAP_FAILED);
    g_assert_cmpint(errno, ==, ENODEV);
    g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpint(write(fd, buf, sizeof(buf)), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpint(pread(fd, buf, sizeof(buf), 0), ==, -1);
    g_assert_cmpint(errno, ==, ESPIPE);
    g_assert_cmpint(pwrite(fd, buf, sizeof(buf), 0), ==, -1);
    g_assert_cmpint(errno, ==, ESPIPE);
    g_assert_cmpint(ftruncate(fd, 2 * GMEM_PAGES * PAGE), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, GMEM_PAGES * PAGE);

    /*
     * kvm_set_memory_region() and kvm_gmem_bind(): a guest_memfd slot has
     * no other flag, its offset is page aligned and its pages within the
     * file, bound to no other slot; the descriptor is open (else EBADF)
     * and a guest_memfd of this VM (else EINVAL).
     */
    hva = mmap(NULL, GMEM_PAGES * PAGE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert_true(hva != MAP_FAILED);
    vm_open(&w, false);
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    g_assert_cmpint(null, >=, 0);
    plain = memfd_create("test-sim-plain", MFD_CLOEXEC);
    g_assert_cmpint(plain, >=, 0);
    g_assert_cmpint(ftruncate(plain, GMEM_PAGES * PAGE), ==, 0);
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD, fd,
                    (GMEM_PAGES - 3) * PAGE, EINVAL);
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD, fd,
                    PAGE / 2, EINVAL);
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD, fd,
                    -PAGE, EINVAL);
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva,
                    KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, fd, 0,
                    EINVAL);
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD, null, 0,
                    EINVAL);
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD, plain, 0,
                    EINVAL);
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD, w.gmem, 0,
                    EINVAL);
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD,
                    closed_fd(), 0, EBADF);
    g_assert_cmpint(gmem_slot(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD,
                              fd, (GMEM_PAGES - 4) * PAGE), ==, 0);
    gmem_slot_fails(&v, 3, GMEM_GPA + 4 * PAGE, 4, hva + 4 * PAGE,
                    KVM_MEM_GUEST_MEMFD, fd, (GMEM_PAGES - 7) * PAGE,
                    EINVAL);                        /* one page bound */
    g_assert_cmpint(gmem_slot(&v, 3, GMEM_GPA + 4 * PAGE, 4, hva + 4 * PAGE,
                              KVM_MEM_GUEST_MEMFD, fd,
                              (GMEM_PAGES - 8) * PAGE), ==, 0);
    /* The real KVM's checks come before the binding's: an overlap. */
    gmem_slot_fails(&v, 4, GMEM_GPA + 7 * PAGE, 1, hva, KVM_MEM_GUEST_MEMFD,
                    closed_fd(), 0, EEXIST);
    /* Private memslots are immutable: deleted, then bound again. */
    gmem_slot_fails(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD, fd,
                    (GMEM_PAGES - 4) * PAGE, EINVAL);
    g_assert_cmpint(gmem_slot(&v, 2, GMEM_GPA, 0, hva, KVM_MEM_GUEST_MEMFD,
                              fd, 0), ==, 0);
    g_assert_cmpint(gmem_slot(&v, 2, GMEM_GPA, 4, hva, KVM_MEM_GUEST_MEMFD,
                              fd, (GMEM_PAGES - 4) * PAGE), ==, 0);

    /* GUEST_MEMFD_FLAG_MMAP, where the VM offers it (mainline). */
    if (flags_cap & GUEST_MEMFD_FLAG_MMAP) {
        uint8_t byte;

        mfd = gmem_create(&v, 4 * PAGE, GUEST_MEMFD_FLAG_MMAP);
        g_assert_cmpint(mfd, >=, 0);
        g_assert_true(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, mfd, 0) ==
                      MAP_FAILED);
        g_assert_cmpint(errno, ==, EINVAL);         /* shared only */
        p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
        g_assert_true(p != MAP_FAILED);
        /*
         * Without INIT_SHARED (no SNP VM has it) every fault is SIGBUS
         * (kvm_gmem_fault_user_mapping()); the kernel's own copy from
         * the mapping says EFAULT.
         */
        local = (struct iovec){ .iov_base = &byte, .iov_len = 1 };
        remote = (struct iovec){ .iov_base = p + PAGE, .iov_len = 1 };
        g_assert_cmpint(process_vm_readv(getpid(), &local, 1, &remote, 1, 0),
                        ==, -1);
        g_assert_cmpint(errno, ==, EFAULT);
        g_assert_cmpint(read(mfd, buf, sizeof(buf)), ==, -1);
        g_assert_cmpint(errno, ==, EINVAL);
        munmap(p, 4 * PAGE);
        close(mfd);
    }

    /*
     * close(): the number, used again, is an ordinary file again (the
     * binding went with the guest_memfd).
     */
    num = fd;
    close(fd);
    gmem_slot_fails(&v, 5, GMEM_GPA + 8 * PAGE, 1, hva, KVM_MEM_GUEST_MEMFD,
                    num, 0, EBADF);
    fd = memfd_create("test-sim-reused", MFD_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    if (fd != num) {
        g_assert_cmpint(dup2(fd, num), ==, num);
        close(fd);
    }
    g_assert_cmpint(fallocate(num, 0, 0, PAGE), ==, 0);
    g_assert_cmpint(pwrite(num, "x", 1, 0), ==, 1);
    g_assert_cmpint(pread(num, buf, 1, 0), ==, 1);
    g_assert_cmpint(fstat(num, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, PAGE);
    gmem_slot_fails(&v, 5, GMEM_GPA + 8 * PAGE, 1, hva, KVM_MEM_GUEST_MEMFD,
                    num, 0, EINVAL);
    close(num);
    close(plain);
    close(null);
    vm_close(&w);
    munmap(hva, GMEM_PAGES * PAGE);
    vm_close(&v);
}

/*
 * The simulator's guest_memfd where the kernel has one of its own: the
 * rules above, a launch and a run over it, again in a child with
 * SNP_HOST_SIM_EMULATE_GMEM=1 (read when the simulator starts) and a log
 * of its own.
 */
static void test_gmem_forced(void)
{
    g_autofree char *self = NULL, *log = NULL, *out = NULL, *err = NULL;
    g_autofree char *child_log = NULL;
    g_auto(GStrv) env = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) error = NULL;
    const char *argv[] = {
        NULL, "--tap", "-p", "/snp-host-sim/gmem/rules",
        "-p", "/snp-host-sim/launch",
        "-p", "/snp-host-sim/run/ext-guest-request", NULL
    };
    guint oks = 0;
    int status;

    if (gmem_forced) {
        g_test_skip("SNP_HOST_SIM_EMULATE_GMEM=1 here: /snp-host-sim/gmem/"
                    "rules ran on the simulator's guest_memfd");
        return;
    }
    if (skip_if_no_kvm()) {
        return;
    }
    self = g_file_read_link("/proc/self/exe", &error);
    g_assert_no_error(error);
    argv[0] = self;
    log = g_strconcat(logpath, ".gmem-forced", NULL);
    env = g_get_environ();
    env = g_environ_setenv(env, "SNP_HOST_SIM_EMULATE_GMEM", "1", TRUE);
    env = g_environ_setenv(env, "SNP_HOST_SIM_LOG", log, TRUE);
    g_assert_true(g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT,
                               NULL, NULL, &out, &err, &status, &error));
    g_assert_no_error(error);
    lines = g_strsplit(out, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        if (*lines[i]) {
            g_test_message("child: %s", lines[i]);
        }
        oks += g_str_has_prefix(lines[i], "ok ") &&
               !strstr(lines[i], "# SKIP");
    }
    if (*err) {
        g_test_message("child's stderr: %s", err);
    }
    g_assert_true(g_spawn_check_wait_status(status, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(oks, ==, 3);
    g_assert_true(g_file_get_contents(log, &child_log, NULL, NULL));
    g_assert_nonnull(strstr(child_log, " gmem mode=emulated why=forced "));
    g_assert_nonnull(strstr(child_log, " emulated=1"));
}

int main(int argc, char **argv)
{
    const char *k = getenv("SNP_HOST_SIM_KERNEL");
    static const SevsnpTcb tcb = { .bootloader = 3, .snp = 8,
                                   .microcode = 115 };
    g_autoptr(GError) err = NULL;
    int ret, kvm;

    g_test_init(&argc, &argv, NULL);
    if (!k || !strcmp(k, "mainline")) {
        kernel = K_MAINLINE;
    } else if (!strcmp(k, "mainline-no-certs")) {
        kernel = K_NO_CERTS;
    } else {
        g_assert_cmpstr(k, ==, "legacy");
        kernel = K_LEGACY;
    }
    /* The log must be named before the simulator starts: meson does. */
    logpath = g_strdup(getenv("SNP_HOST_SIM_LOG"));
    g_assert(logpath);
    /* Opened by the simulator with O_APPEND: this run's lines only. */
    g_assert_cmpint(truncate(logpath, 0), ==, 0);

    tmpdir = g_dir_make_tmp("test-snp-sim-XXXXXX", &err);
    g_assert_no_error(err);
    fwdir = g_build_filename(tmpdir, "fw", NULL);
    g_assert(fwsim_create(fwdir, SEVSNP_PRODUCT_MILAN, &tcb, &err));
    blob = g_build_filename(tmpdir, "certs.blob", NULL);
    g_assert(g_file_set_contents(blob, "blob", 4, NULL));
    pairs = g_build_filename(tmpdir, "pairs", NULL);
    g_assert_cmpint(g_mkdir(pairs, 0700), ==, 0);
    g_setenv("SNP_HOST_SIM_FW", fwdir, TRUE);
    g_setenv("SNP_HOST_SIM_CERTS", blob, TRUE);
    g_setenv("SNP_HOST_SIM_PAIRS", pairs, TRUE);

    gmem_forced = !g_strcmp0(getenv("SNP_HOST_SIM_EMULATE_GMEM"), "1");
    kvm = open("/dev/kvm", O_RDWR);
    if (kvm < 0) {
        skip_why = "SKIP: /dev/kvm cannot be opened: the simulator needs it";
    } else {
        int vm;

        /* syscall(): the real kernel's answer, not the simulator's. */
        kernel_gmem_cap = syscall(SYS_ioctl, kvm, KVM_CHECK_EXTENSION,
                                  (long)KVM_CAP_GUEST_MEMFD);
        vm = ioctl(kvm, KVM_CREATE_VM, (void *)(long)KVM_X86_SNP_VM);

        if (vm < 0) {
            skip_why = "SKIP: this /dev/kvm creates no VM";
        } else {
            close(vm);
        }
        close(kvm);
    }
    if (skip_why) {
        fprintf(stderr, "# %s\n", skip_why);
    }

    g_test_add_func("/snp-host-sim/sev-device", test_sev_device);
    g_test_add_func("/snp-host-sim/sev-pdh-export", test_sev_pdh_export);
    g_test_add_func("/snp-host-sim/plain-vm-encrypt-probe",
                    test_plain_vm_encrypt_probe);
    g_test_add_func("/snp-host-sim/dev-attrs", test_dev_attrs);
    g_test_add_func("/snp-host-sim/memory-attributes",
                    test_memory_attributes);
    g_test_add_func("/snp-host-sim/launch", test_launch);
    g_test_add_func("/snp-host-sim/run/hypercall", test_hypercall);
    g_test_add_func("/snp-host-sim/run/ext-guest-request", test_ext_req);
    g_test_add_func("/snp-host-sim/run/guest-request", test_guest_req);
    g_test_add_func("/snp-host-sim/run/memory-fault", test_memory_fault);
    g_test_add_func("/snp-host-sim/run/ops", test_ops);
    g_test_add_func("/snp-host-sim/gmem/rules", test_gmem_rules);
    g_test_add_func("/snp-host-sim/gmem/forced", test_gmem_forced);
    ret = g_test_run();

    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);

        if (system(cmd) != 0) {
            fprintf(stderr, "# could not remove %s\n", tmpdir);
        }
    }
    return ret;
}
