/*
 * The SNP host simulator: KVM's SEV-SNP support (arch/x86/kvm/svm/sev.c
 * and the generic guest_memfd / memory-attribute code), on top of a real
 * KVM that runs the guest as an ordinary VM.
 *
 * What is faked, and how (every number from the released uapi headers):
 *  - KVM_CAP_VM_TYPES advertises KVM_X86_SNP_VM; such a VM is created as
 *    a default VM underneath and tracked here;
 *  - KVM_CAP_MEMORY_ATTRIBUTES reports KVM_MEMORY_ATTRIBUTE_PRIVATE, and
 *    KVM_SET_MEMORY_ATTRIBUTES is implemented here with KVM's checks over
 *    a per-page store (an interval set);
 *  - KVM_MEM_GUEST_MEMFD is stripped from KVM_SET_USER_MEMORY_REGION2,
 *    so the guest runs from the shared mapping, after kvm_gmem_bind()'s
 *    checks; the slots are recorded to reach guest memory;
 *  - guest_memfd: where the kernel has none (KVM_CAP_GUEST_MEMFD of
 *    /dev/kvm is 0, as on Linux 6.18 with the PVM module), or always with
 *    SNP_HOST_SIM_EMULATE_GMEM=1, KVM_CREATE_GUEST_MEMFD of an SNP VM is a
 *    memfd with kvm_gmem_create()'s checks, whose file operations
 *    (fallocate, mmap, read, write, ftruncate) answer as kvm_gmem_fops
 *    does; else the kernel's own guest_memfd is used (and tracked);
 *  - KVM_MEMORY_ENCRYPT_OP is implemented whole: KVM_SEV_INIT2,
 *    KVM_SEV_SNP_LAUNCH_START/UPDATE/FINISH and (mainline)
 *    KVM_SEV_SNP_ENABLE_REQ_CERTS with the kernel's argument checks;
 *  - the KVM_X86_GRP_SEV device attributes of /dev/kvm;
 *  - KVM_RUN: the guest's doorbell (snp-host-abi.h) becomes the exit a
 *    real kernel produces, completed on the next KVM_RUN as the kernel
 *    completes it (complete_userspace_io, then immediate_exit).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/psp-sev.h>

#include "sim.h"
#include "libsevsnp.h"
#include "snp-host-abi.h"

#define PAGE_SIZE 4096ULL
#define PAGE_SHIFT 12
#define PAGE_ALIGNED(x) (((x) & (PAGE_SIZE - 1)) == 0)

/*
 * Values that are hardware or firmware facts, not kernel uapi: the SNP
 * guest policy bits (SEV-SNP firmware ABI, "Guest Policy"), the VMSA
 * SEV_FEATURES bit KVM offers (AMD APM vol. 2, DebugSwap).
 * "invalid input" error.
 */
#define SNP_POLICY_MASK_API_MINOR       0xffULL
#define SNP_POLICY_MASK_API_MAJOR       0xff00ULL
#define SNP_POLICY_MASK_SMT             (1ULL << 16)
#define SNP_POLICY_MASK_RSVD_MBO        (1ULL << 17)
#define SNP_POLICY_MASK_DEBUG           (1ULL << 19)
#define SNP_POLICY_MASK_SINGLE_SOCKET   (1ULL << 20)
#define SNP_POLICY_MASK_RAPL_DIS        (1ULL << 23)
/* What KVM accepts before the policy-bits attribute existed (legacy). */
#define SNP_POLICY_MASK_VALID_OLD                                       \
    (SNP_POLICY_MASK_API_MINOR | SNP_POLICY_MASK_API_MAJOR |            \
     SNP_POLICY_MASK_SMT | SNP_POLICY_MASK_RSVD_MBO |                   \
     SNP_POLICY_MASK_DEBUG | SNP_POLICY_MASK_SINGLE_SOCKET)
/*
 * A Genoa with firmware 1.55 under Linux >= 6.18: KVM's valid mask
 * intersected with what the firmware supports (RAPL_DIS, no ciphertext
 * hiding, no AES-256-XTS, no CXL).
 */
#define SIM_SNP_POLICY_BITS                                             \
    (SNP_POLICY_MASK_VALID_OLD | SNP_POLICY_MASK_RAPL_DIS)
#define SVM_SEV_FEAT_DEBUG_SWAP         (1ULL << 5)
#define SIM_VMSA_FEATURES               SVM_SEV_FEAT_DEBUG_SWAP
#define GHCB_VERSION_MAX                2

/* VMPCK0-3: the guest's four message keys (SEV-SNP firmware ABI). */
#define SIM_VMPCK_COUNT     4

/* ret values of exits QEMU must overwrite. */
#define SIM_RET_POISON      0xbad0bad0bad0bad0ULL
#define SIM_RET_POISON32    0xbad0bad0U

typedef struct Range {
    uint64_t start, end;        /* [start, end), in pages */
} Range;

typedef struct SimGmem SimGmem;

typedef struct SimSlot {
    uint32_t slot;              /* as_id << 16 | id */
    uint64_t gpa, size, hva;
    bool gmem;                  /* KVM_MEM_GUEST_MEMFD */
    SimGmem *gmem_file;         /* its binding; NULL once the file closed */
    uint64_t gmem_pgoff;        /* the slot's first page in the file */
} SimSlot;

/*
 * A guest_memfd of one of our VMs: the kernel's (kind SIM_FD_GMEM) or a
 * memfd of ours (SIM_FD_GMEM_EMU).  It holds its VM, as the kernel's
 * file holds its struct kvm.
 */
struct SimGmem {
    int fd;
    SimVm *vm;
    uint64_t size;
    uint64_t flags;
    bool emulated;
};

typedef enum {
    CUI_NONE,
    CUI_HYPERCALL,
    CUI_REQ_CERTS,
    CUI_VMGEXIT,
} SimCui;

struct SimVm {
    int refs;                   /* its descriptor and its vCPUs */
    int fd;
    int sys_fd;                 /* the /dev/kvm that created it */
    GMutex lock;                /* kvm->lock and kvm->slots_lock */
    GArray *slots;              /* SimSlot */
    GArray *private_pages;      /* Range: KVM_MEMORY_ATTRIBUTE_PRIVATE */
    GArray *populated;          /* Range: made private by LAUNCH_UPDATE */
    int created_vcpus;
    bool need_init;
    bool snp_active;            /* KVM_SEV_INIT2 done */
    bool snp_context;           /* KVM_SEV_SNP_LAUNCH_START done */
    bool finished;
    bool certs_enabled;
    int sev_fd;
    uint64_t hypercall_exit_mask;
    uint8_t digest[48];         /* the launch digest */
    SimGuestCtx ctx;
    /*
     * The firmware's guest message state, per VMPCK: the sequence number
     * the next message must carry, and the last message the guest put in
     * shared memory (its sequence number and a digest of it), to catch a
     * sequence number used again for a different message (IV reuse).
     */
    uint64_t msg_seqno[SIM_VMPCK_COUNT];
    uint64_t exposed_seqno[SIM_VMPCK_COUNT];
    uint8_t exposed_digest[SIM_VMPCK_COUNT][48];
};

struct SimVcpu {
    int fd;
    int id;
    SimVm *vm;
    struct kvm_run *run;        /* our own mapping of the run pages */
    size_t run_size;
    void *qemu_run;             /* QEMU's, for the log */
    GMutex lock;
    SimCui cui;
    uint64_t req_gpa, resp_gpa; /* the pending extended request */
    uint64_t certs_gpa, certs_npages;   /* and its certificate buffer */
    bool access_pending;
    uint64_t access_gpa, access_size, access_flags;
};

/* ---------------------------------------------------------------- */
/* Interval sets                                                     */
/* ---------------------------------------------------------------- */

static GArray *range_new(void)
{
    return g_array_new(FALSE, FALSE, sizeof(Range));
}

static gint range_cmp(gconstpointer a, gconstpointer b)
{
    const Range *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* Make [start, end) in or out of the set. */
static void range_set(GArray *set, uint64_t start, uint64_t end, bool in)
{
    g_autoptr(GArray) out = range_new();
    Range add = { start, end };

    for (guint i = 0; i < set->len; i++) {
        Range r = g_array_index(set, Range, i);

        if (r.end <= start || r.start >= end) {
            g_array_append_val(out, r);
            continue;
        }
        if (r.start < start) {
            Range left = { r.start, start };

            g_array_append_val(out, left);
        }
        if (r.end > end) {
            Range right = { end, r.end };

            g_array_append_val(out, right);
        }
    }
    if (in) {
        g_array_append_val(out, add);
    }
    g_array_sort(out, range_cmp);
    g_array_set_size(set, 0);
    for (guint i = 0; i < out->len; i++) {
        Range r = g_array_index(out, Range, i);
        Range *last = set->len ? &g_array_index(set, Range, set->len - 1)
                               : NULL;

        if (last && last->end == r.start) {
            last->end = r.end;
        } else {
            g_array_append_val(set, r);
        }
    }
}

/*
 * The first page of [start, end) whose membership differs from @in;
 * false when there is none.
 */
static bool range_first_mismatch(GArray *set, uint64_t start, uint64_t end,
                                 bool in, uint64_t *at)
{
    uint64_t cur = start;

    for (guint i = 0; i < set->len && cur < end; i++) {
        Range r = g_array_index(set, Range, i);

        if (r.end <= cur) {
            continue;
        }
        if (r.start >= end) {
            break;
        }
        if (in) {
            if (r.start > cur) {
                *at = cur;
                return true;
            }
            cur = r.end;
        } else {
            *at = MAX(r.start, cur);
            return true;
        }
    }
    if (in && cur < end) {
        *at = cur;
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------- */
/* Guest memory                                                      */
/* ---------------------------------------------------------------- */

/* The slot of address space 0 holding @gpa; vm->lock held. */
static SimSlot *find_slot(SimVm *vm, uint64_t gpa)
{
    for (guint i = 0; i < vm->slots->len; i++) {
        SimSlot *s = &g_array_index(vm->slots, SimSlot, i);

        if ((s->slot >> 16) == 0 && gpa >= s->gpa &&
            gpa - s->gpa < s->size) {
            return s;
        }
    }
    return NULL;
}

/* kvm_read_guest() / kvm_write_guest(): 0 or -EFAULT. */
static int guest_rw(SimVm *vm, uint64_t gpa, void *buf, size_t len,
                    bool write)
{
    uint8_t *p = buf;

    while (len) {
        SimSlot *s;
        uint64_t hva, n;
        int r;

        g_mutex_lock(&vm->lock);
        s = find_slot(vm, gpa);
        if (!s) {
            g_mutex_unlock(&vm->lock);
            return -EFAULT;
        }
        hva = s->hva + (gpa - s->gpa);
        n = MIN((uint64_t)len, s->size - (gpa - s->gpa));
        g_mutex_unlock(&vm->lock);
        r = write ? sim_copy_to_user(hva, p, n)
                  : sim_copy_from_user(p, hva, n);
        if (r) {
            return r;
        }
        gpa += n;
        p += n;
        len -= n;
    }
    return 0;
}

/* -1 with errno @err, as libc returns a failed system call. */
static int fail(int err)
{
    errno = err;
    return -1;
}

/* ---------------------------------------------------------------- */
/* guest_memfd: the kernel's, or emulated with a memfd               */
/* ---------------------------------------------------------------- */

/*
 * gmem_lock: the decision below, and the guest_memfds' lifetime (a bind
 * check or a file operation never sees one being freed).  Taken before
 * any vm->lock.
 */
static GMutex gmem_lock;

typedef enum {
    GMEM_UNDECIDED,
    GMEM_KERNEL,
    GMEM_EMULATED,
} SimGmemMode;

static gint gmem_mode = GMEM_UNDECIDED;
/* The size-0 file an emulated mmap()able guest_memfd maps (below). */
static int gmem_nopage_fd = -1;

/*
 * Emulate guest_memfd?  Decided once, from the real KVM_CHECK_EXTENSION
 * (KVM_CAP_GUEST_MEMFD) of /dev/kvm (@sys_fd), whose answer is the
 * kernel's whatever its VMs say (Linux 6.8 to 6.17 answer 0 on a default
 * VM, see check_extension()): 0 where the kernel has no guest_memfd at
 * all (Linux 6.18 with the PVM module: KVM_CREATE_GUEST_MEMFD is ENOTTY).
 * SNP_HOST_SIM_EMULATE_GMEM=1 emulates it anyway.
 */
static bool gmem_emulated(int sys_fd)
{
    int mode = g_atomic_int_get(&gmem_mode);
    int cap;

    if (mode != GMEM_UNDECIDED) {
        return mode == GMEM_EMULATED;
    }
    g_mutex_lock(&gmem_lock);
    mode = gmem_mode;
    if (mode == GMEM_UNDECIDED) {
        cap = sim_real_ioctl(sys_fd, KVM_CHECK_EXTENSION,
                             (void *)(long)KVM_CAP_GUEST_MEMFD);
        mode = sim_gmem_forced || cap <= 0 ? GMEM_EMULATED : GMEM_KERNEL;
        sim_log("gmem", "mode=%s%s kernel-cap=%d",
                mode == GMEM_KERNEL ? "kernel" : "emulated",
                mode == GMEM_KERNEL ? "" :
                sim_gmem_forced ? " why=forced" : " why=kernel-has-none",
                cap);
        g_atomic_int_set(&gmem_mode, mode);
    }
    g_mutex_unlock(&gmem_lock);
    return mode == GMEM_EMULATED;
}

static bool gmem_is_emulated(void)
{
    return g_atomic_int_get(&gmem_mode) == GMEM_EMULATED;
}

/*
 * kvm_gmem_get_supported_flags() of an SNP VM.  Linux >= 6.18 offers
 * GUEST_MEMFD_FLAG_MMAP to every VM and GUEST_MEMFD_FLAG_INIT_SHARED only
 * to VMs without private memory (x86's kvm_arch_supports_gmem_init_shared
 * () is !kvm_arch_has_private_mem()); older kernels take no flag.  The
 * kernel's guest_memfd is created on the default VM underneath, which
 * would take INIT_SHARED: it is refused here as the SNP VM refuses it.
 */
static uint64_t gmem_supported_flags(SimVm *vm)
{
    int r;

    if (gmem_is_emulated()) {
        return sim_kernel == SIM_KERNEL_MAINLINE ? GUEST_MEMFD_FLAG_MMAP : 0;
    }
    r = sim_real_ioctl(vm->fd, KVM_CHECK_EXTENSION,
                       (void *)(long)KVM_CAP_GUEST_MEMFD_FLAGS);
    return r > 0 ? (uint64_t)r & ~(uint64_t)GUEST_MEMFD_FLAG_INIT_SHARED : 0;
}

/*
 * kvm_gmem_create(): flags the VM supports, a size > 0 (as loff_t) and
 * page aligned, else EINVAL.  Emulated: a memfd of that size, sealed
 * against growing and shrinking, and like the kernel's descriptor
 * (get_unused_fd_flags(0)) not close-on-exec.  The kernel's: it checks
 * for itself, but for the flag its default VM would take and no SNP VM
 * does.
 */
static int create_guest_memfd(SimVm *vm, void *arg)
{
    struct kvm_create_guest_memfd a;
    const char *why = NULL;
    bool emulated = gmem_emulated(vm->sys_fd);
    SimGmem *g;
    int fd, e;

    if (sim_copy_from_user(&a, (uintptr_t)arg, sizeof(a))) {
        return fail(EFAULT);
    }
    if (!emulated) {
        if (a.flags & GUEST_MEMFD_FLAG_INIT_SHARED) {
            why = "flags";
        }
    } else if (a.flags & ~gmem_supported_flags(vm)) {
        why = "flags";
    } else if ((int64_t)a.size <= 0 || !PAGE_ALIGNED(a.size)) {
        why = "size";
    }
    if (why) {
        sim_log("refused", "ioctl=KVM_CREATE_GUEST_MEMFD errno=%d why=%s "
                "size=0x%llx flags=0x%llx emulated=%d", EINVAL, why,
                (unsigned long long)a.size, (unsigned long long)a.flags,
                emulated);
        return fail(EINVAL);
    }
    if (!emulated) {
        fd = sim_real_ioctl(vm->fd, KVM_CREATE_GUEST_MEMFD, arg);
    } else {
        fd = memfd_create("snp-host-sim-gmem", MFD_ALLOW_SEALING);
        if (fd >= 0 &&
            (sim_real_ftruncate(fd, a.size) < 0 ||
             fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
                   F_SEAL_SEAL) < 0)) {
            e = errno;
            sim_real_close(fd);
            errno = e;
            fd = -1;
        }
    }
    if (fd < 0) {
        e = errno;
        sim_log("gmem", "create failed errno=%d size=0x%llx emulated=%d", e,
                (unsigned long long)a.size, emulated);
        errno = e;
        return -1;
    }
    g = g_new0(SimGmem, 1);
    g->fd = fd;
    g->vm = vm;
    g->size = a.size;
    g->flags = a.flags;
    g->emulated = emulated;
    g_atomic_int_inc(&vm->refs);
    sim_fd_set(fd, emulated ? SIM_FD_GMEM_EMU : SIM_FD_GMEM, g);
    sim_log("gmem", "fd=%d create size=0x%llx flags=0x%llx emulated=%d", fd,
            (unsigned long long)a.size, (unsigned long long)a.flags,
            emulated);
    return fd;
}

/*
 * kvm_gmem_release(): the slots bound to it lose their file; the VM is
 * let go.  The descriptor is already out of the table.
 */
static void vm_unref(SimVm *vm);

static void gmem_release(SimGmem *g)
{
    SimVm *vm = g->vm;

    g_mutex_lock(&gmem_lock);
    g_mutex_lock(&vm->lock);
    for (guint i = 0; i < vm->slots->len; i++) {
        SimSlot *s = &g_array_index(vm->slots, SimSlot, i);

        if (s->gmem_file == g) {
            s->gmem_file = NULL;
        }
    }
    g_mutex_unlock(&vm->lock);
    g_mutex_unlock(&gmem_lock);
    sim_log("gmem", "fd=%d close emulated=%d", g->fd, g->emulated);
    vm_unref(vm);
    g_free(g);
}

/* An emulated guest_memfd's size and flags: false when @fd is none. */
static bool gmem_emu_get(int fd, uint64_t *size, uint64_t *flags)
{
    void *obj = NULL;
    bool found;

    g_mutex_lock(&gmem_lock);
    found = sim_fd_get(fd, &obj) == SIM_FD_GMEM_EMU;
    if (found) {
        SimGmem *g = obj;

        *size = g->size;
        *flags = g->flags;
    }
    g_mutex_unlock(&gmem_lock);
    return found;
}

static void gmem_refused(int fd, const char *call, int err, const char *why)
{
    sim_log("refused", "call=%s fd=%d errno=%d why=%s", call, fd, err, why);
    errno = err;
}

/*
 * fallocate(2): vfs_fallocate()'s first checks (offset < 0 or len <= 0:
 * EINVAL; offset + len past the largest file: EFBIG), then
 * kvm_gmem_fallocate(): KEEP_SIZE, alone or with PUNCH_HOLE, else
 * EOPNOTSUPP; offset and len page aligned, else EINVAL;
 * kvm_gmem_allocate(): within the file, else EINVAL.  Then the memfd
 * does it.  (vfs_fallocate() refuses the modes it knows nothing of with
 * EOPNOTSUPP before the EFBIG: such a mode with an overflowing range
 * gets EFBIG here.)
 */
bool sim_gmem_fallocate(int fd, int mode, off_t off, off_t len, int *ret)
{
    uint64_t size, flags;
    const char *why = NULL;
    int err = 0;

    if (!gmem_emu_get(fd, &size, &flags)) {
        return false;
    }
    if (off < 0 || len <= 0) {
        err = EINVAL;
        why = "offset-or-len";
    } else if (off > (off_t)(INT64_MAX - len)) {
        err = EFBIG;
        why = "offset+len";
    } else if (!(mode & FALLOC_FL_KEEP_SIZE) ||
               (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))) {
        err = EOPNOTSUPP;
        why = "mode";
    } else if (!PAGE_ALIGNED(off) || !PAGE_ALIGNED(len)) {
        err = EINVAL;
        why = "alignment";
    } else if (!(mode & FALLOC_FL_PUNCH_HOLE) &&
               (uint64_t)off + len > size) {
        err = EINVAL;
        why = "allocate-beyond-the-file";
    }
    if (err) {
        sim_log("refused", "call=fallocate fd=%d errno=%d why=%s mode=0x%x "
                "offset=0x%llx len=0x%llx", fd, err, why, mode,
                (unsigned long long)off, (unsigned long long)len);
        errno = err;
        *ret = -1;
        return true;
    }
    *ret = sim_real_fallocate(fd, mode, off, len);
    err = errno;
    sim_log("gmem", "fd=%d %s offset=0x%llx len=0x%llx ret=%d", fd,
            mode & FALLOC_FL_PUNCH_HOLE ? "punch-hole" : "allocate",
            (unsigned long long)off, (unsigned long long)len,
            *ret < 0 ? -err : 0);
    errno = err;
    return true;
}

/*
 * mmap(2): on mainline (Linux >= 6.18) guest_memfd has a mount of its own,
 * noexec: PROT_EXEC is EPERM (do_mmap(), path_noexec()).  Without
 * GUEST_MEMFD_FLAG_MMAP, ENODEV (kvm_gmem_mmap(); before Linux 6.18
 * kvm_gmem_fops has no mmap at all, and do_mmap() says the same).  With
 * it (mainline only): shared mappings only, else EINVAL; without
 * GUEST_MEMFD_FLAG_INIT_SHARED, which an SNP VM never has, every fault
 * of the mapping is VM_FAULT_SIGBUS (kvm_gmem_fault_user_mapping()): a
 * shared mapping of an empty file faults the same.  The mapping's own
 * checks (length, offset) are mmap's, made first.
 */
bool sim_gmem_mmap(int fd, void *addr, size_t len, int prot, int flags,
                   off_t off, void **ret)
{
    uint64_t size, gflags;
    int type = flags & MAP_TYPE;

    if (!gmem_emu_get(fd, &size, &gflags)) {
        return false;
    }
    *ret = MAP_FAILED;
    if (!len || !PAGE_ALIGNED(off) ||
        (type != MAP_SHARED && type != MAP_SHARED_VALIDATE &&
         type != MAP_PRIVATE)) {
        gmem_refused(fd, "mmap", EINVAL, "arguments");
        return true;
    }
    if ((prot & PROT_EXEC) && sim_kernel == SIM_KERNEL_MAINLINE) {
        gmem_refused(fd, "mmap", EPERM, "noexec");
        return true;
    }
    if (!(gflags & GUEST_MEMFD_FLAG_MMAP)) {
        gmem_refused(fd, "mmap", ENODEV, "no-GUEST_MEMFD_FLAG_MMAP");
        return true;
    }
    if (type == MAP_PRIVATE) {
        gmem_refused(fd, "mmap", EINVAL, "not-shared");
        return true;
    }
    g_mutex_lock(&gmem_lock);
    if (gmem_nopage_fd < 0) {
        gmem_nopage_fd = memfd_create("snp-host-sim-gmem-private",
                                      MFD_CLOEXEC);
    }
    g_mutex_unlock(&gmem_lock);
    if (gmem_nopage_fd < 0) {
        gmem_refused(fd, "mmap", errno, "no-memfd");
        return true;
    }
    *ret = sim_real_mmap(addr, len, prot, flags, gmem_nopage_fd, off);
    sim_log("gmem", "fd=%d mmap len=0x%zx offset=0x%llx ok=%d", fd, len,
            (unsigned long long)off, *ret != MAP_FAILED);
    return true;
}

/*
 * read(2)/write(2): kvm_gmem_fops has neither, so the file is neither
 * FMODE_CAN_READ nor FMODE_CAN_WRITE: EINVAL (vfs_read(), vfs_write()).
 * pread/pwrite: a pseudo file is not FMODE_PREAD/FMODE_PWRITE: ESPIPE,
 * after the negative position's EINVAL (ksys_pread64()).
 */
bool sim_gmem_io(int fd, bool positional, off_t pos, ssize_t *ret)
{
    uint64_t size, flags;

    if (!gmem_emu_get(fd, &size, &flags)) {
        return false;
    }
    *ret = -1;
    if (positional) {
        gmem_refused(fd, "pread/pwrite", pos < 0 ? EINVAL : ESPIPE,
                     pos < 0 ? "position" : "no-FMODE_PREAD");
    } else {
        gmem_refused(fd, "read/write", EINVAL, "no-read-write-fops");
    }
    return true;
}

/* ftruncate(2): kvm_gmem_setattr() refuses every change: EINVAL. */
bool sim_gmem_ftruncate(int fd, off_t len, int *ret)
{
    uint64_t size, flags;

    if (!gmem_emu_get(fd, &size, &flags)) {
        return false;
    }
    *ret = -1;
    gmem_refused(fd, "ftruncate", EINVAL, "kvm_gmem_setattr");
    return true;
}

/* ---------------------------------------------------------------- */
/* The system fd: capabilities, VM creation, device attributes       */
/* ---------------------------------------------------------------- */

/* sev_dev_get_attr() of the kernel being played. */
static int sev_dev_get_attr(uint64_t attr, uint64_t *val)
{
    switch (attr) {
    case KVM_X86_SEV_VMSA_FEATURES:
        *val = SIM_VMSA_FEATURES;
        return 0;
    case KVM_X86_SNP_POLICY_BITS:
        if (sim_kernel == SIM_KERNEL_LEGACY) {
            return -ENXIO;
        }
        *val = SIM_SNP_POLICY_BITS;
        return 0;
    case KVM_X86_SEV_SNP_REQ_CERTS:
        if (sim_kernel != SIM_KERNEL_MAINLINE) {
            return -ENXIO;
        }
        *val = 1;
        return 0;
    }
    return -ENXIO;
}

static bool dev_attr(unsigned long req, void *arg, int *ret)
{
    struct kvm_device_attr a;
    uint64_t val;
    int r;

    if (sim_copy_from_user(&a, (uintptr_t)arg, sizeof(a))) {
        return false;           /* the real kernel says EFAULT */
    }
    if (a.group != KVM_X86_GRP_SEV) {
        return false;
    }
    r = sev_dev_get_attr(a.attr, &val);
    if (!r && req == KVM_GET_DEVICE_ATTR &&
        sim_copy_to_user(a.addr, &val, sizeof(val))) {
        r = -EFAULT;
    }
    *ret = r ? fail(-r) : 0;
    return true;
}

static SimVm *vm_new(int sys_fd, int fd)
{
    SimVm *vm = g_new0(SimVm, 1);

    vm->refs = 1;
    vm->fd = fd;
    vm->sys_fd = sys_fd;
    g_mutex_init(&vm->lock);
    vm->slots = g_array_new(FALSE, FALSE, sizeof(SimSlot));
    vm->private_pages = range_new();
    vm->populated = range_new();
    vm->need_init = true;
    vm->sev_fd = -1;
    for (int i = 0; i < SIM_VMPCK_COUNT; i++) {
        vm->msg_seqno[i] = 1;
    }
    return vm;
}

static void vm_unref(SimVm *vm)
{
    if (!g_atomic_int_dec_and_test(&vm->refs)) {
        return;
    }
    if (vm->snp_context) {
        sim_sev_guest_count_add(-1);
    }
    g_array_free(vm->slots, TRUE);
    g_array_free(vm->private_pages, TRUE);
    g_array_free(vm->populated, TRUE);
    g_mutex_clear(&vm->lock);
    g_free(vm);
}

/*
 * KVM_CHECK_EXTENSION, on /dev/kvm or on a VM: an SNP host has the SNP VM
 * type, private memory attributes and guest_memfd.  False: the real
 * kernel answers.  @vm: the SNP VM asked, or NULL for /dev/kvm.
 */
static bool check_extension(int fd, SimVm *vm, long cap, int *ret)
{
    switch (cap) {
    case KVM_CAP_GUEST_MEMFD:
        /* Emulated: 1 on /dev/kvm (QEMU 10.0 asks it) and on the VM. */
        if (gmem_emulated(vm ? vm->sys_fd : fd)) {
            *ret = 1;
            return true;
        }
        if (!vm) {
            return false;
        }
        /*
         * An SNP VM has private memory: 1 where the kernel has guest_memfd
         * at all, which /dev/kvm tells.  The default VM underneath says 0
         * on Linux 6.8 to 6.17 (kvm_arch_has_private_mem()), yet creates
         * a guest_memfd: QEMU 10.2 asks the VM.
         */
        *ret = sim_real_ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, (void *)cap);
        return true;
    case KVM_CAP_GUEST_MEMFD_FLAGS:
        if (!vm) {
            return false;
        }
        *ret = gmem_supported_flags(vm);
        return true;
    case KVM_CAP_VM_TYPES:
        *ret = sim_real_ioctl(fd, KVM_CHECK_EXTENSION, (void *)cap);
        if (*ret >= 0) {
            *ret |= 1 << KVM_X86_SNP_VM;
        }
        return true;
    case KVM_CAP_MEMORY_ATTRIBUTES:
        *ret = KVM_MEMORY_ATTRIBUTE_PRIVATE;
        return true;
    }
    return false;
}

static bool sys_ioctl(int fd, unsigned long req, void *arg, int *ret)
{
    switch (req) {
    case KVM_CHECK_EXTENSION:
        return check_extension(fd, NULL, (long)arg, ret);
    case KVM_CREATE_VM:
        if ((unsigned long)arg == KVM_X86_SNP_VM) {
            int vmfd;

            /* Whose guest_memfd this VM will have: decided by now. */
            gmem_emulated(fd);
            vmfd = sim_real_ioctl(fd, req, (void *)KVM_X86_DEFAULT_VM);

            if (vmfd >= 0) {
                sim_fd_set(vmfd, SIM_FD_VM, vm_new(fd, vmfd));
                sim_log("vm", "fd=%d type=%d real-type=%d", vmfd,
                        KVM_X86_SNP_VM, KVM_X86_DEFAULT_VM);
            }
            *ret = vmfd;
            return true;
        }
        return false;
    case KVM_HAS_DEVICE_ATTR:
    case KVM_GET_DEVICE_ATTR:
        return dev_attr(req, arg, ret);
    }
    return false;
}

/* ---------------------------------------------------------------- */
/* Memory slots and attributes                                       */
/* ---------------------------------------------------------------- */

static void slot_record(SimVm *vm, uint32_t slot, uint64_t gpa,
                        uint64_t size, uint64_t hva, bool gmem,
                        SimGmem *file, uint64_t offset)
{
    SimSlot s = { slot, gpa, size, hva, gmem, file, offset >> PAGE_SHIFT };

    for (guint i = 0; i < vm->slots->len; i++) {
        if (g_array_index(vm->slots, SimSlot, i).slot == slot) {
            g_array_remove_index(vm->slots, i);
            break;
        }
    }
    if (size) {
        g_array_append_val(vm->slots, s);
    }
}

/* The recorded slot with this as_id << 16 | id; vm->lock held. */
static SimSlot *find_slot_id(SimVm *vm, uint32_t slot)
{
    for (guint i = 0; i < vm->slots->len; i++) {
        SimSlot *s = &g_array_index(vm->slots, SimSlot, i);

        if (s->slot == slot) {
            return s;
        }
    }
    return NULL;
}

/*
 * kvm_gmem_bind(): may this new slot take its pages from the guest_memfd
 * named?  0, or a negative errno; *file is the guest_memfd.  gmem_lock and
 * vm->lock held.
 */
static int gmem_bind_check(SimVm *vm,
                           const struct kvm_userspace_memory_region2 *m,
                           SimGmem **file, const char **why)
{
    uint64_t start = m->guest_memfd_offset >> PAGE_SHIFT;
    uint64_t end = start + (m->memory_size >> PAGE_SHIFT);
    void *obj = NULL;
    SimGmem *g;
    SimFdKind kind;

    /* fget(): a descriptor that is not open */
    if (m->guest_memfd > INT_MAX || fcntl(m->guest_memfd, F_GETFD) < 0) {
        *why = "fd-not-open";
        return -EBADF;
    }
    /* file->f_op != &kvm_gmem_fops, f->kvm != kvm */
    kind = sim_fd_get(m->guest_memfd, &obj);
    if (kind != SIM_FD_GMEM && kind != SIM_FD_GMEM_EMU) {
        *why = "not-a-guest_memfd";
        return -EINVAL;
    }
    g = obj;
    if (g->vm != vm) {
        *why = "guest_memfd-of-another-vm";
        return -EINVAL;
    }
    if ((int64_t)m->guest_memfd_offset < 0 ||
        !PAGE_ALIGNED(m->guest_memfd_offset) ||
        m->guest_memfd_offset + m->memory_size > g->size) {
        *why = "offset-size-beyond-the-file";
        return -EINVAL;
    }
    /* The file's pages are bound to one slot at a time. */
    for (guint i = 0; i < vm->slots->len; i++) {
        SimSlot *s = &g_array_index(vm->slots, SimSlot, i);

        if (s->gmem_file == g && s->gmem_pgoff < end &&
            start < s->gmem_pgoff + (s->size >> PAGE_SHIFT)) {
            *why = "range-already-bound";
            return -EINVAL;
        }
    }
    *file = g;
    return 0;
}

/*
 * kvm_set_memory_region() of a VM with private memory, down to the real
 * KVM without KVM_MEM_GUEST_MEMFD: the guest runs from the shared
 * mapping, whatever its pages' attributes.  The guest_memfd checks come
 * where the kernel makes them: the flags and the offset first, then the
 * slot the real KVM checks, then kvm_gmem_bind() (undone on failure: the
 * real slot is deleted again).
 */
static int set_region2(SimVm *vm, void *arg)
{
    struct kvm_userspace_memory_region2 m, down;
    SimGmem *file = NULL;
    const char *why = NULL;
    bool gmem;
    int err = 0, r, e;

    if (sim_copy_from_user(&m, (uintptr_t)arg, sizeof(m))) {
        return fail(EFAULT);
    }
    gmem = m.flags & KVM_MEM_GUEST_MEMFD;
    if (gmem && (m.flags & ~KVM_MEM_GUEST_MEMFD)) {
        /* check_memory_region_flags(): no dirty log, not read-only */
        err = EINVAL;
        why = "flags";
    } else if (gmem && (!PAGE_ALIGNED(m.guest_memfd_offset) ||
                        m.guest_memfd_offset + m.memory_size <
                        m.guest_memfd_offset)) {
        err = EINVAL;
        why = "guest_memfd_offset";
    }
    down = m;
    down.flags &= ~KVM_MEM_GUEST_MEMFD;
    down.guest_memfd = 0;
    down.guest_memfd_offset = 0;
    g_mutex_lock(&gmem_lock);
    g_mutex_lock(&vm->lock);
    if (!err && gmem && m.memory_size) {
        SimSlot *old = find_slot_id(vm, m.slot);

        if (old && old->size) {
            /* "Private memslots are immutable, they can only be deleted." */
            err = EINVAL;
            why = "guest_memfd-slot-modified";
        }
    }
    r = err ? -1 : sim_real_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, &down);
    e = errno;
    if (r == 0 && gmem && m.memory_size) {
        err = -gmem_bind_check(vm, &m, &file, &why);
        if (err) {
            down.memory_size = 0;
            sim_real_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, &down);
            r = -1;
        }
    }
    if (r == 0) {
        slot_record(vm, m.slot, m.guest_phys_addr, m.memory_size,
                    m.userspace_addr, gmem, file, m.guest_memfd_offset);
    }
    g_mutex_unlock(&vm->lock);
    g_mutex_unlock(&gmem_lock);
    if (err) {
        sim_log("refused", "ioctl=KVM_SET_USER_MEMORY_REGION2 errno=%d "
                "why=%s slot=0x%x flags=0x%x guest_memfd=%u offset=0x%llx "
                "size=0x%llx", err, why, m.slot, m.flags, m.guest_memfd,
                (unsigned long long)m.guest_memfd_offset,
                (unsigned long long)m.memory_size);
        return fail(err);
    }
    if (r == 0 && file) {
        sim_log("gmem", "fd=%d bind slot=0x%x gpa=0x%llx size=0x%llx "
                "offset=0x%llx", file->fd, m.slot,
                (unsigned long long)m.guest_phys_addr,
                (unsigned long long)m.memory_size,
                (unsigned long long)m.guest_memfd_offset);
    }
    errno = e;
    return r;
}

static int set_region(SimVm *vm, void *arg)
{
    struct kvm_userspace_memory_region m;
    int r;

    if (sim_copy_from_user(&m, (uintptr_t)arg, sizeof(m))) {
        return fail(EFAULT);
    }
    g_mutex_lock(&vm->lock);
    r = sim_real_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &m);
    if (r == 0) {
        slot_record(vm, m.slot, m.guest_phys_addr, m.memory_size,
                    m.userspace_addr, false, NULL, 0);
    }
    g_mutex_unlock(&vm->lock);
    return r;
}

/* kvm_vm_ioctl_set_mem_attributes() */
static int set_mem_attributes(SimVm *vm, void *arg)
{
    struct kvm_memory_attributes a;
    const char *why = NULL;

    if (sim_copy_from_user(&a, (uintptr_t)arg, sizeof(a))) {
        return fail(EFAULT);
    }
    if (a.flags) {
        why = "flags";
    } else if (a.attributes & ~KVM_MEMORY_ATTRIBUTE_PRIVATE) {
        why = "attributes";
    } else if (a.size == 0 || a.address + a.size < a.address) {
        why = "size";
    } else if (!PAGE_ALIGNED(a.address) || !PAGE_ALIGNED(a.size)) {
        why = "alignment";
    }
    if (why) {
        sim_log("refused", "ioctl=KVM_SET_MEMORY_ATTRIBUTES errno=%d "
                "why=%s gpa=0x%llx size=0x%llx attributes=0x%llx flags=0x%llx",
                EINVAL, why, (unsigned long long)a.address,
                (unsigned long long)a.size,
                (unsigned long long)a.attributes,
                (unsigned long long)a.flags);
        return fail(EINVAL);
    }
    g_mutex_lock(&vm->lock);
    range_set(vm->private_pages, a.address >> PAGE_SHIFT,
              (a.address + a.size) >> PAGE_SHIFT,
              a.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE);
    g_mutex_unlock(&vm->lock);
    sim_log("memattr", "gpa=0x%llx size=0x%llx private=%d",
            (unsigned long long)a.address, (unsigned long long)a.size,
            !!(a.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE));
    return 0;
}

/* ---------------------------------------------------------------- */
/* KVM_MEMORY_ENCRYPT_OP                                             */
/* ---------------------------------------------------------------- */

static int sev_init2(SimVm *vm, struct kvm_sev_cmd *cmd)
{
    struct kvm_sev_init d;

    if (!vm->need_init) {
        return -EINVAL;
    }
    if (sim_copy_from_user(&d, cmd->data, sizeof(d))) {
        return -EFAULT;
    }
    if (vm->created_vcpus || d.flags ||
        (d.vmsa_features & ~SIM_VMSA_FEATURES) ||
        d.ghcb_version > GHCB_VERSION_MAX || vm->snp_active) {
        return -EINVAL;
    }
    vm->snp_active = true;
    vm->need_init = false;
    return 0;
}

/* SMT is on in the simulated host: SNP_LAUNCH_START wants the SMT bit. */
static int snp_launch_start(SimVm *vm, struct kvm_sev_cmd *cmd)
{
    struct kvm_sev_snp_launch_start p;
    uint64_t valid = sim_kernel == SIM_KERNEL_LEGACY ?
                     SNP_POLICY_MASK_VALID_OLD : SIM_SNP_POLICY_BITS;
    SimFwInfo info;
    g_autoptr(GError) err = NULL;
    unsigned major, minor;

    if (!vm->snp_active) {
        return -ENOTTY;
    }
    if (sim_copy_from_user(&p, cmd->data, sizeof(p))) {
        return -EFAULT;
    }
    if (vm->snp_context || p.flags || (p.policy & ~valid) ||
        !(p.policy & SNP_POLICY_MASK_RSVD_MBO)) {
        return -EINVAL;
    }
    /* SNP_GCTX_CREATE on cmd->sev_fd: anything but /dev/sev fails. */
    if (sim_fd_get(cmd->sev_fd, NULL) != SIM_FD_SEV) {
        sim_log("refused", "ioctl=KVM_SEV_SNP_LAUNCH_START errno=%d "
                "why=sev_fd-%u-is-not-/dev/sev", ENOTTY, cmd->sev_fd);
        return -ENOTTY;
    }
    if (!sim_fw_info(&info, &err)) {
        sim_log("error", "firmware state: %s", err->message);
        cmd->error = (uint32_t)SEV_RET_NO_FW_CALL;
        return -EIO;
    }
    /* The firmware's own policy checks. */
    major = (p.policy & SNP_POLICY_MASK_API_MAJOR) >> 8;
    minor = p.policy & SNP_POLICY_MASK_API_MINOR;
    if (major > info.api_major ||
        (major == info.api_major && minor > info.api_minor) ||
        !(p.policy & SNP_POLICY_MASK_SMT)) {
        cmd->error = SEV_RET_POLICY_FAILURE;
        return -EIO;
    }
    vm->snp_context = true;
    vm->sev_fd = cmd->sev_fd;
    vm->ctx.policy = p.policy;
    memset(vm->digest, 0, sizeof(vm->digest));
    sim_sev_guest_count_add(1);
    sim_log("launch-start", "policy=0x%llx", (unsigned long long)p.policy);
    return 0;
}

/* PAGE_INFO of the SEV-SNP firmware ABI: how LAUNCH_UPDATE measures. */
static void measure_page(SimVm *vm, uint64_t gfn, uint8_t type,
                         const uint8_t *page)
{
    uint8_t info[0x70] = { 0 };
    uint64_t gpa = gfn << PAGE_SHIFT;

    memcpy(info, vm->digest, 48);
    if (type == KVM_SEV_SNP_PAGE_TYPE_NORMAL) {
        sim_sha384(page, PAGE_SIZE, info + 0x30);
    }
    info[0x60] = sizeof(info);
    info[0x62] = type;
    memcpy(info + 0x68, &gpa, sizeof(gpa));
    sim_sha384(info, sizeof(info), vm->digest);
}

/*
 * snp_launch_update() and kvm_gmem_populate(): the range is consumed page
 * by page up to the end of its memslot; the pages consumed advance
 * gfn_start (and uaddr, except for ZERO pages) and shrink len.
 */
static int snp_launch_update(SimVm *vm, struct kvm_sev_cmd *cmd)
{
    struct kvm_sev_snp_launch_update p;
    g_autofree uint8_t *page = g_malloc(PAGE_SIZE);
    SimSlot *slot;
    uint64_t npages, i, gfn = 0, at;
    long count;
    int ret = 0;

    if (!vm->snp_active || !vm->snp_context) {
        return -EINVAL;
    }
    if (sim_copy_from_user(&p, cmd->data, sizeof(p))) {
        return -EFAULT;
    }
    if (!PAGE_ALIGNED(p.len) || p.flags ||
        (p.type != KVM_SEV_SNP_PAGE_TYPE_NORMAL &&
         p.type != KVM_SEV_SNP_PAGE_TYPE_ZERO &&
         p.type != KVM_SEV_SNP_PAGE_TYPE_UNMEASURED &&
         p.type != KVM_SEV_SNP_PAGE_TYPE_SECRETS &&
         p.type != KVM_SEV_SNP_PAGE_TYPE_CPUID)) {
        return -EINVAL;
    }
    npages = p.len / PAGE_SIZE;
    slot = find_slot(vm, p.gfn_start << PAGE_SHIFT);
    if (!slot || !slot->gmem ||
        (p.gfn_start << PAGE_SHIFT) >> PAGE_SHIFT != p.gfn_start) {
        return -EINVAL;
    }
    npages = MIN(npages, (slot->size >> PAGE_SHIFT) -
                         (p.gfn_start - (slot->gpa >> PAGE_SHIFT)));
    /* kvm_gmem_populate(): the slot's guest_memfd was closed. */
    if (!slot->gmem_file) {
        npages = 0;
        ret = -EFAULT;
    }
    for (i = 0; i < npages; i++) {
        uint64_t hva;

        gfn = p.gfn_start + i;
        if (range_first_mismatch(vm->populated, gfn, gfn + 1, false, &at)) {
            ret = -EEXIST;          /* already prepared / assigned */
            break;
        }
        if (range_first_mismatch(vm->private_pages, gfn, gfn + 1, true,
                                 &at)) {
            ret = -EINVAL;          /* not private */
            break;
        }
        if (p.type == KVM_SEV_SNP_PAGE_TYPE_ZERO) {
            memset(page, 0, PAGE_SIZE);
        } else if (sim_copy_from_user(page, p.uaddr + i * PAGE_SIZE,
                                      PAGE_SIZE)) {
            ret = -EFAULT;
            break;
        }
        /* The page's contents, where the guest will run from. */
        hva = slot->hva + ((gfn << PAGE_SHIFT) - slot->gpa);
        if (sim_copy_to_user(hva, page, PAGE_SIZE)) {
            ret = -EFAULT;
            break;
        }
        measure_page(vm, gfn, p.type, page);
        range_set(vm->populated, gfn, gfn + 1, true);
    }
    count = ret && !i ? ret : (long)i;
    if (count < 0) {
        sim_log("refused", "ioctl=KVM_SEV_SNP_LAUNCH_UPDATE errno=%d "
                "why=populate-%d gfn=0x%llx", EIO, ret,
                (unsigned long long)gfn);
        return -EIO;
    }
    sim_log("launch-update", "gfn=0x%llx pages=%ld type=%u",
            (unsigned long long)p.gfn_start, count, p.type);
    p.gfn_start += count;
    p.len -= count * PAGE_SIZE;
    if (p.type != KVM_SEV_SNP_PAGE_TYPE_ZERO) {
        p.uaddr += count * PAGE_SIZE;
    }
    if (sim_copy_to_user(cmd->data, &p, sizeof(p))) {
        return -EFAULT;
    }
    return 0;
}

/* The ID block of SNP_LAUNCH_FINISH (SEV-SNP firmware ABI). */
struct snp_id_block {
    uint8_t ld[48];
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
} __attribute__((packed));

static int snp_launch_finish(SimVm *vm, struct kvm_sev_cmd *cmd)
{
    struct kvm_sev_snp_launch_finish p;
    struct snp_id_block id;
    g_autofree char *hex = NULL;

    if (!vm->snp_active) {
        return -ENOTTY;
    }
    if (!vm->snp_context) {
        return -EINVAL;
    }
    if (sim_copy_from_user(&p, cmd->data, sizeof(p))) {
        return -EFAULT;
    }
    if (p.flags) {
        return -EINVAL;
    }
    if (p.id_block_en) {
        uint8_t auth[KVM_SEV_SNP_ID_AUTH_SIZE];

        if (sim_copy_from_user(&id, p.id_block_uaddr, sizeof(id)) ||
            sim_copy_from_user(auth, p.id_auth_uaddr, sizeof(auth))) {
            return -EFAULT;
        }
        memcpy(vm->ctx.family_id, id.family_id, 16);
        memcpy(vm->ctx.image_id, id.image_id, 16);
        vm->ctx.guest_svn = id.guest_svn;
    }
    memcpy(vm->ctx.host_data, p.host_data, sizeof(vm->ctx.host_data));
    memcpy(vm->ctx.measurement, vm->digest, sizeof(vm->ctx.measurement));
    vm->finished = true;
    hex = g_strdup("");
    for (int i = 0; i < 48; i++) {
        char *n = g_strdup_printf("%s%02x", hex, vm->digest[i]);

        g_free(hex);
        hex = n;
    }
    sim_log("launch-finish", "measurement=%s id-block=%d", hex,
            p.id_block_en);
    return 0;
}

static int snp_enable_certs(SimVm *vm)
{
    if (vm->created_vcpus || !vm->snp_active) {
        sim_log("refused", "ioctl=KVM_SEV_SNP_ENABLE_REQ_CERTS errno=%d "
                "why=%s", EINVAL,
                vm->created_vcpus ? "vcpus-exist" : "not-snp");
        return -EINVAL;
    }
    vm->certs_enabled = true;
    sim_log("req-certs-on", "vm=%d", vm->fd);
    return 0;
}

/* sev_mem_enc_ioctl() */
static int mem_enc_op(SimVm *vm, void *arg)
{
    struct kvm_sev_cmd cmd;
    int r;

    if (!arg) {
        return 0;
    }
    if (sim_copy_from_user(&cmd, (uintptr_t)arg, sizeof(cmd))) {
        return fail(EFAULT);
    }
    g_mutex_lock(&vm->lock);
    if (vm->snp_active && cmd.id < KVM_SEV_SNP_LAUNCH_START) {
        r = -EPERM;
        goto out;
    }
    switch (cmd.id) {
    case KVM_SEV_INIT:
    case KVM_SEV_ES_INIT:
        r = -EINVAL;            /* only for KVM_X86_DEFAULT_VM */
        break;
    case KVM_SEV_INIT2:
        r = sev_init2(vm, &cmd);
        break;
    case KVM_SEV_SNP_LAUNCH_START:
        r = snp_launch_start(vm, &cmd);
        break;
    case KVM_SEV_SNP_LAUNCH_UPDATE:
        r = snp_launch_update(vm, &cmd);
        break;
    case KVM_SEV_SNP_LAUNCH_FINISH:
        r = snp_launch_finish(vm, &cmd);
        break;
    case KVM_SEV_SNP_ENABLE_REQ_CERTS:
        if (sim_kernel != SIM_KERNEL_MAINLINE) {
            r = -EINVAL;        /* an unknown command there */
            goto out;
        }
        r = snp_enable_certs(vm);
        break;
    default:
        if (cmd.id >= KVM_SEV_INIT2) {
            r = -EINVAL;        /* no such command */
            goto out;
        }
        /* The SEV and SEV-ES commands want a SEV guest: this is none. */
        r = -ENOTTY;
        break;
    }
    if (sim_copy_to_user((uintptr_t)arg, &cmd, sizeof(cmd))) {
        r = -EFAULT;
    }
out:
    g_mutex_unlock(&vm->lock);
    if (r < 0) {
        sim_log("encrypt-op", "id=%u errno=%d error=%u", cmd.id, -r,
                cmd.error);
        return fail(-r);
    }
    return r;
}

static bool vm_ioctl(SimVm *vm, unsigned long req, void *arg, int *ret)
{
    switch (req) {
    case KVM_CHECK_EXTENSION:
        return check_extension(vm->fd, vm, (long)arg, ret);
    case KVM_SET_USER_MEMORY_REGION2:
        *ret = set_region2(vm, arg);
        return true;
    case KVM_SET_USER_MEMORY_REGION:
        *ret = set_region(vm, arg);
        return true;
    case KVM_SET_MEMORY_ATTRIBUTES:
        *ret = set_mem_attributes(vm, arg);
        return true;
    case KVM_CREATE_GUEST_MEMFD:
        *ret = create_guest_memfd(vm, arg);
        return true;
    case KVM_MEMORY_ENCRYPT_OP:
        *ret = mem_enc_op(vm, arg);
        return true;
    case KVM_CREATE_VCPU: {
        int fd, r;

        g_mutex_lock(&vm->lock);
        vm->created_vcpus++;
        g_mutex_unlock(&vm->lock);
        fd = sim_real_ioctl(vm->fd, req, arg);
        if (fd < 0) {
            int e = errno;

            g_mutex_lock(&vm->lock);
            vm->created_vcpus--;
            g_mutex_unlock(&vm->lock);
            errno = e;
        } else {
            SimVcpu *v = g_new0(SimVcpu, 1);

            v->fd = fd;
            v->id = (int)(long)arg;
            v->vm = vm;
            g_atomic_int_inc(&vm->refs);
            g_mutex_init(&v->lock);
            /* The run structure and the PIO data page after it. */
            r = sim_real_ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
            v->run_size = r > 0 ? (size_t)r : 2 * PAGE_SIZE;
            v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE,
                          MAP_SHARED, fd, 0);
            if (v->run == MAP_FAILED) {
                sim_log("error", "vcpu=%d: cannot map kvm_run: %s", v->id,
                        g_strerror(errno));
                v->run = NULL;
            }
            sim_fd_set(fd, SIM_FD_VCPU, v);
        }
        *ret = fd;
        return true;
    }
    case KVM_ENABLE_CAP: {
        struct kvm_enable_cap cap;

        *ret = sim_real_ioctl(vm->fd, req, arg);
        if (*ret == 0 &&
            !sim_copy_from_user(&cap, (uintptr_t)arg, sizeof(cap)) &&
            cap.cap == KVM_CAP_EXIT_HYPERCALL) {
            g_mutex_lock(&vm->lock);
            vm->hypercall_exit_mask = cap.args[0];
            g_mutex_unlock(&vm->lock);
        }
        return true;
    }
    }
    return false;
}

/* ---------------------------------------------------------------- */
/* KVM_RUN                                                           */
/* ---------------------------------------------------------------- */

static const char *cui_name(SimCui c)
{
    switch (c) {
    case CUI_HYPERCALL:
        return "hypercall";
    case CUI_REQ_CERTS:
        return "req-certs";
    case CUI_VMGEXIT:
        return "vmgexit";
    case CUI_NONE:
        break;
    }
    return "none";
}

static int regs_update(SimVcpu *v, const uint64_t *rax, const uint64_t *rbx)
{
    struct kvm_regs regs;

    if (sim_real_ioctl(v->fd, KVM_GET_REGS, &regs) < 0) {
        return -errno;
    }
    if (rax) {
        regs.rax = *rax;
    }
    if (rbx) {
        regs.rbx = *rbx;
    }
    if (sim_real_ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
        return -errno;
    }
    return 0;
}

static uint64_t snp_guest_err(uint32_t vmm, uint32_t fw)
{
    return (uint64_t)vmm << SNP_SIM_VMM_ERR_SHIFT | fw;
}

/*
 * The lock check, after a certificate exit answered with success: only
 * when the guest was given a chain.  No buffer (npages 0) or an empty
 * table (the 24-byte terminator at its start) carries no chain, so no
 * chain can mismatch the report and no lock is needed.
 */
static void check_locks_if_chain(SimVcpu *v)
{
    static const uint8_t zero[24];
    /* As much as any blob QEMU serves (SEVSNP_DEFAULT_MAX_BLOB, 1 MiB). */
    size_t len = MIN(v->certs_npages, 256) * PAGE_SIZE;
    g_autofree uint8_t *table = NULL;

    if (!v->certs_npages) {
        sim_log("lock-skip", "vcpu=%d why=no-buffer", v->id);
        return;
    }
    table = g_malloc(len);
    if (guest_rw(v->vm, v->certs_gpa, table, len, false)) {
        sim_log("lock-skip", "vcpu=%d why=buffer-unreadable", v->id);
        return;
    }
    if (!memcmp(table, zero, sizeof(zero))) {
        sim_log("lock-skip", "vcpu=%d why=empty-table", v->id);
        return;
    }
    sim_fw_check_blob_locks(v->id, table, len);
}

/*
 * The guest put a message into shared memory (an extended or a plain
 * request, whatever the host answers): a sequence number seen before
 * with a different message, or one the firmware already consumed, is an
 * IV reused by the guest (AES-GCM with the sequence number as its IV).
 */
static void note_exposed(SimVcpu *v, uint64_t req_gpa)
{
    SimVm *vm = v->vm;
    struct snp_sim_report_msg m;
    uint8_t digest[48];
    unsigned k;

    if (guest_rw(vm, req_gpa, &m, sizeof(m), false) || !m.hdr.msg_seqno ||
        m.hdr.msg_vmpck >= SIM_VMPCK_COUNT) {
        return;
    }
    k = m.hdr.msg_vmpck;
    sim_sha384(&m, sizeof(m), digest);
    g_mutex_lock(&vm->lock);
    if (m.hdr.msg_seqno < vm->msg_seqno[k] ||
        (m.hdr.msg_seqno == vm->exposed_seqno[k] &&
         memcmp(digest, vm->exposed_digest[k], sizeof(digest)))) {
        sim_log("iv-reuse", "vcpu=%d vmpck=%u seqno=%llu next=%llu: a "
                "sequence number used again for %s message", v->id, k,
                (unsigned long long)m.hdr.msg_seqno,
                (unsigned long long)vm->msg_seqno[k],
                m.hdr.msg_seqno < vm->msg_seqno[k] ? "a further" :
                "a different");
    }
    vm->exposed_seqno[k] = m.hdr.msg_seqno;
    memcpy(vm->exposed_digest[k], digest, sizeof(digest));
    g_mutex_unlock(&vm->lock);
}

/*
 * snp_handle_guest_req(): the firmware's SNP_GUEST_REQUEST for the
 * request and response pages the guest named.  The firmware checks the
 * message header (type, version, VMPCK, sequence number: SEV-SNP
 * firmware ABI, SNP_GUEST_REQUEST) and fails the command, without
 * touching the response page, when it is wrong; KVM then puts the
 * firmware's error in the low half of SW_EXITINFO2.  Which error code
 * real firmware gives for each is not modelled: SEV_RET_INVALID_PARAM.
 * Returns 1 (resume the guest, *rax = SW_EXITINFO2) or a negative errno
 * for KVM_RUN.
 */
static int guest_request(SimVcpu *v, bool after_cert_exit, uint64_t *rax)
{
    SimVm *vm = v->vm;
    g_autofree struct snp_sim_report_msg *req =
        g_malloc0(sizeof(*req));
    g_autofree struct snp_sim_report_rsp_msg *resp =
        g_malloc0(sizeof(*resp));
    g_autoptr(GError) err = NULL;
    const char *bad = NULL;
    uint64_t seqno;
    unsigned k;
    SimGuestCtx ctx;
    int status;

    G_STATIC_ASSERT(sizeof(struct snp_sim_msg_hdr) == SNP_SIM_MSG_HDR_SIZE);
    if (guest_rw(vm, v->req_gpa, req, sizeof(*req), false)) {
        sim_log("error", "vcpu=%d request page 0x%llx unreadable: KVM_RUN "
                "fails with EIO", v->id, (unsigned long long)v->req_gpa);
        return -EIO;
    }
    seqno = req->hdr.msg_seqno;
    k = req->hdr.msg_vmpck;
    if (req->hdr.msg_type != SNP_SIM_MSG_REPORT_REQ ||
        req->hdr.msg_version != 1 ||
        req->hdr.hdr_version != SNP_SIM_MSG_HDR_VERSION ||
        req->hdr.hdr_sz != SNP_SIM_MSG_HDR_SIZE ||
        req->hdr.msg_sz != sizeof(req->req)) {
        bad = "header";
    } else if (k >= SIM_VMPCK_COUNT) {
        bad = "vmpck";
    }
    g_mutex_lock(&vm->lock);
    if (!bad && seqno && seqno != vm->msg_seqno[k]) {
        bad = "seqno";
    }
    g_mutex_unlock(&vm->lock);
    if (bad) {
        sim_log("refused", "vcpu=%d SNP_GUEST_REQUEST why=%s type=%u "
                "version=%u vmpck=%u seqno=%llu next=%llu: firmware error "
                "0x%x", v->id, bad, req->hdr.msg_type, req->hdr.msg_version,
                k, (unsigned long long)seqno,
                k < SIM_VMPCK_COUNT ?
                (unsigned long long)vm->msg_seqno[k] : 0ULL,
                SEV_RET_INVALID_PARAM);
        *rax = snp_guest_err(0, SEV_RET_INVALID_PARAM);
        return 1;
    }
    g_mutex_lock(&vm->lock);
    ctx = vm->ctx;
    g_mutex_unlock(&vm->lock);
    if (after_cert_exit) {
        check_locks_if_chain(v);
    }
    status = sim_fw_report(v->id, &ctx, req->req.user_data, req->req.vmpl,
                           req->req.key_sel, resp->resp.report, &err);
    if (status < 0) {
        sim_log("error", "vcpu=%d firmware: %s: KVM_RUN fails with EIO",
                v->id, err->message);
        return -EIO;
    }
    resp->resp.status = status;
    resp->resp.report_size = status ? 0 : SNP_SIM_REPORT_SIZE;
    if (status) {
        memset(resp->resp.report, 0, sizeof(resp->resp.report));
    }
    resp->hdr.msg_seqno = seqno + 1;
    resp->hdr.hdr_version = SNP_SIM_MSG_HDR_VERSION;
    resp->hdr.hdr_sz = SNP_SIM_MSG_HDR_SIZE;
    resp->hdr.msg_type = SNP_SIM_MSG_REPORT_RSP;
    resp->hdr.msg_version = req->hdr.msg_version;
    resp->hdr.msg_sz = sizeof(resp->resp);
    resp->hdr.msg_vmpck = k;
    if (guest_rw(vm, v->resp_gpa, resp, sizeof(*resp), true)) {
        sim_log("error", "vcpu=%d response page 0x%llx unwritable: KVM_RUN "
                "fails with EIO", v->id, (unsigned long long)v->resp_gpa);
        return -EIO;
    }
    if (seqno) {
        g_mutex_lock(&vm->lock);
        vm->msg_seqno[k] = seqno + 2;
        g_mutex_unlock(&vm->lock);
    }
    *rax = snp_guest_err(0, 0);
    return 1;
}

/* snp_complete_req_certs() of the mainline kernel. */
static int complete_req_certs(SimVcpu *v)
{
    struct kvm_run *run = v->run;
    uint64_t ret = __atomic_load_n(&run->snp_req_certs.ret,
                                   __ATOMIC_RELAXED);
    uint64_t npages = run->snp_req_certs.npages;
    uint64_t rax;
    int r = 1;

    switch (ret) {
    case 0:
        r = guest_request(v, true, &rax);
        break;
    case ENOSPC:
        rax = snp_guest_err(SNP_SIM_VMM_ERR_INVALID_LEN, 0);
        break;
    case EAGAIN:
        rax = snp_guest_err(SNP_SIM_VMM_ERR_BUSY, 0);
        break;
    case EIO:
        rax = snp_guest_err(SNP_SIM_VMM_ERR_GENERIC, 0);
        break;
    default:
        sim_log(ret == SIM_RET_POISON ? "ret-poisoned" : "ret-invalid",
                "vcpu=%d kind=req-certs ret=0x%llx: KVM_RUN fails with "
                "EINVAL", v->id, (unsigned long long)ret);
        return -EINVAL;
    }
    if (r < 0) {
        return r;
    }
    sim_log("ret-ok", "vcpu=%d kind=req-certs ret=%llu npages=%llu", v->id,
            (unsigned long long)ret, (unsigned long long)npages);
    r = regs_update(v, &rax, ret == ENOSPC ? &npages : NULL);
    if (r < 0) {
        return r;
    }
    sim_log("complete", "vcpu=%d kind=req-certs rax=0x%llx", v->id,
            (unsigned long long)rax);
    return 1;
}

/* snp_complete_ext_guest_req() of the legacy kernels (seed 001). */
static int complete_vmgexit(SimVcpu *v)
{
    struct sevsnp_kvm_user_vmgexit *ex = (void *)&v->run->hw;
    uint32_t vmm_ret = ex->req_certs.ret;
    uint64_t npages = ex->req_certs.data_npages;
    uint64_t rax = 0;
    bool set_rbx = false;
    int r;

    if (vmm_ret == SIM_RET_POISON32) {
        sim_log("ret-poisoned", "vcpu=%d kind=vmgexit ret=0x%x: the guest "
                "sees it", v->id, vmm_ret);
    } else {
        sim_log("ret-ok", "vcpu=%d kind=vmgexit ret=0x%x flags=0x%x", v->id,
                vmm_ret, ex->req_certs.flags);
    }
    if (vmm_ret) {
        if (vmm_ret == SEVSNP_VMGEXIT_RET_INVALID_LEN) {
            set_rbx = true;
        }
        rax = snp_guest_err(vmm_ret, 0);
    } else if (ex->req_certs.status == SEVSNP_VMGEXIT_STATUS_DONE) {
        return 1;
    } else {
        r = guest_request(v, true, &rax);
        if (r < 0) {
            return r;
        }
    }
    r = regs_update(v, &rax, set_rbx ? &npages : NULL);
    if (r < 0) {
        return r;
    }
    sim_log("complete", "vcpu=%d kind=vmgexit rax=0x%llx", v->id,
            (unsigned long long)rax);
    if (ex->req_certs.flags & SEVSNP_VMGEXIT_FLAGS_NOTIFY_DONE) {
        v->run->exit_reason = SEVSNP_KVM_EXIT_VMGEXIT;
        ex->type = SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS;
        ex->req_certs.status = SEVSNP_VMGEXIT_STATUS_DONE;
        ex->req_certs.flags = 0;
        sim_log("exit", "vcpu=%d kind=vmgexit-done", v->id);
        return 0;
    }
    return 1;
}

/* complete_hypercall_exit() */
static int complete_hypercall(SimVcpu *v)
{
    uint64_t ret = v->run->hypercall.ret;
    int r;

    if (ret == SIM_RET_POISON) {
        sim_log("ret-poisoned", "vcpu=%d kind=hypercall: the guest sees it",
                v->id);
    } else {
        sim_log("ret-ok", "vcpu=%d kind=hypercall ret=0x%llx", v->id,
                (unsigned long long)ret);
    }
    r = regs_update(v, &ret, NULL);
    if (r < 0) {
        return r;
    }
    sim_log("complete", "vcpu=%d kind=hypercall rax=0x%llx", v->id,
            (unsigned long long)ret);
    return 1;
}

/* SNP_SIM_OP_RECORD */
static int64_t record_pair(SimVcpu *v, uint64_t buf_gpa, uint64_t npages,
                           uint64_t resp_gpa)
{
    static gint counter;
    const char *dir = getenv("SNP_HOST_SIM_PAIRS");
    g_autofree uint8_t *certs = NULL;
    g_autofree struct snp_sim_report_resp *rs = g_malloc0(sizeof(*rs));
    g_autofree char *rpath = NULL, *cpath = NULL;
    g_autoptr(GError) err = NULL;
    int n;

    if (!dir || !*dir) {
        return -ENOENT;
    }
    if (npages > 256) {
        return -EINVAL;
    }
    certs = g_malloc(npages * PAGE_SIZE + 1);
    if (guest_rw(v->vm, buf_gpa, certs, npages * PAGE_SIZE, false) ||
        guest_rw(v->vm, resp_gpa, rs, sizeof(*rs), false)) {
        return -EFAULT;
    }
    n = g_atomic_int_add(&counter, 1);
    rpath = g_strdup_printf("%s/%d.report", dir, n);
    cpath = g_strdup_printf("%s/%d.certs", dir, n);
    if (!g_file_set_contents(rpath, (char *)rs->report, SNP_SIM_REPORT_SIZE,
                             &err) ||
        !g_file_set_contents(cpath, (char *)certs, npages * PAGE_SIZE,
                             &err)) {
        sim_log("error", "vcpu=%d record: %s", v->id, err->message);
        return -EIO;
    }
    return n;
}

/* The first page of the pending access whose attribute is wrong. */
static bool access_fault(SimVcpu *v, uint64_t *gfn)
{
    SimVm *vm = v->vm;
    bool priv = v->access_flags & KVM_MEMORY_EXIT_FLAG_PRIVATE;
    uint64_t first = v->access_gpa >> PAGE_SHIFT;
    uint64_t last = (v->access_gpa + v->access_size - 1) >> PAGE_SHIFT;
    bool bad;

    g_mutex_lock(&vm->lock);
    bad = range_first_mismatch(vm->private_pages, first, last + 1, priv,
                               gfn);
    g_mutex_unlock(&vm->lock);
    return bad;
}

/*
 * The doorbell: 1 = handled inside the kernel (resume the guest),
 * 0 = an exit for userspace is in *run, < 0 = KVM_RUN fails.
 */
static int doorbell(SimVcpu *v, uint32_t op)
{
    struct kvm_run *run = v->run;
    SimVm *vm = v->vm;
    struct kvm_regs regs;
    uint64_t rax;
    bool certs;

    if (sim_real_ioctl(v->fd, KVM_GET_REGS, &regs) < 0) {
        return -errno;
    }
    switch (op) {
    case SNP_SIM_OP_MAP_GPA_RANGE: {
        uint64_t gpa = regs.rbx, npages = regs.rcx, attrs = regs.rdi;
        uint64_t mask;

        g_mutex_lock(&vm->lock);
        mask = vm->hypercall_exit_mask;
        g_mutex_unlock(&vm->lock);
        if (!(mask & (1ULL << KVM_HC_MAP_GPA_RANGE))) {
            rax = -(uint64_t)KVM_ENOSYS;
            sim_log("refused", "vcpu=%d MAP_GPA_RANGE: KVM_CAP_EXIT_"
                    "HYPERCALL not enabled, rax=-KVM_ENOSYS", v->id);
            break;
        }
        if (!PAGE_ALIGNED(gpa) || !npages ||
            (gpa >> PAGE_SHIFT) + npages <= (gpa >> PAGE_SHIFT)) {
            rax = -(uint64_t)KVM_EINVAL;
            sim_log("refused", "vcpu=%d MAP_GPA_RANGE gpa=0x%llx npages=0x%llx"
                    ": rax=-KVM_EINVAL", v->id, (unsigned long long)gpa,
                    (unsigned long long)npages);
            break;
        }
        run->exit_reason = KVM_EXIT_HYPERCALL;
        run->hypercall.nr = KVM_HC_MAP_GPA_RANGE;
        run->hypercall.args[0] = gpa;
        run->hypercall.args[1] = npages;
        run->hypercall.args[2] = attrs;
        run->hypercall.args[3] = 0;
        run->hypercall.args[4] = 0;
        run->hypercall.args[5] = 0;
        run->hypercall.ret = SIM_RET_POISON;
        /* SEV-ES and SNP guests always count as 64-bit. */
        run->hypercall.flags = KVM_EXIT_HYPERCALL_LONG_MODE;
        v->cui = CUI_HYPERCALL;
        sim_log("exit", "vcpu=%d kind=hypercall gpa=0x%llx npages=0x%llx "
                "attrs=0x%llx", v->id, (unsigned long long)gpa,
                (unsigned long long)npages, (unsigned long long)attrs);
        return 0;
    }
    case SNP_SIM_OP_EXT_GUEST_REQ: {
        uint64_t gpa = regs.rbx, npages = regs.rcx;
        int r;

        v->req_gpa = regs.rdi;
        v->resp_gpa = regs.rsi;
        v->certs_gpa = gpa;
        v->certs_npages = npages;
        note_exposed(v, v->req_gpa);
        g_mutex_lock(&vm->lock);
        certs = vm->certs_enabled;
        g_mutex_unlock(&vm->lock);
        /* SW_EXITINFO1: 0 unless KVM refuses the request itself. */
        regs.rcx = 0;
        if (!PAGE_ALIGNED(gpa)) {
            /* request_invalid / abort_request */
            if (sim_kernel == SIM_KERNEL_LEGACY) {
                rax = snp_guest_err(SNP_SIM_VMM_ERR_GENERIC, 0);
            } else {
                regs.rcx = SNP_SIM_GHCB_EXITINFO1_ERR;
                rax = SNP_SIM_GHCB_ERR_INVALID_INPUT;
            }
            sim_log("refused", "vcpu=%d EXT_GUEST_REQ gpa=0x%llx unaligned",
                    v->id, (unsigned long long)gpa);
            break;
        }
        /* The exits below resume the guest with the registers as now. */
        if (sim_real_ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
            return -errno;
        }
        if (sim_kernel == SIM_KERNEL_LEGACY) {
            struct sevsnp_kvm_user_vmgexit *ex = (void *)&run->hw;

            run->exit_reason = SEVSNP_KVM_EXIT_VMGEXIT;
            ex->type = SEVSNP_KVM_USER_VMGEXIT_REQ_CERTS;
            ex->req_certs.data_gpa = gpa;
            ex->req_certs.data_npages = npages;
            ex->req_certs.ret = SIM_RET_POISON32;
            ex->req_certs.flags = 0;
            ex->req_certs.status = SEVSNP_VMGEXIT_STATUS_PENDING;
            v->cui = CUI_VMGEXIT;
            sim_log("exit", "vcpu=%d kind=vmgexit gpa=0x%llx npages=%llu",
                    v->id, (unsigned long long)gpa,
                    (unsigned long long)npages);
            return 0;
        }
        if (certs) {
            run->exit_reason = KVM_EXIT_SNP_REQ_CERTS;
            run->snp_req_certs.gpa = gpa;
            run->snp_req_certs.npages = npages;
            run->snp_req_certs.ret = SIM_RET_POISON;
            v->cui = CUI_REQ_CERTS;
            sim_log("exit", "vcpu=%d kind=req-certs gpa=0x%llx npages=%llu",
                    v->id, (unsigned long long)gpa,
                    (unsigned long long)npages);
            return 0;
        }
        /* KVM answers by itself: an empty table, then the firmware. */
        if (npages) {
            static const uint8_t zero[24];

            if (guest_rw(vm, gpa, (void *)zero, sizeof(zero), true)) {
                sim_log("error", "vcpu=%d empty table at 0x%llx: KVM_RUN "
                        "fails with EIO", v->id, (unsigned long long)gpa);
                return -EIO;
            }
        }
        r = guest_request(v, false, &rax);
        if (r < 0) {
            return r;
        }
        sim_log("kvm-answered", "vcpu=%d gpa=0x%llx npages=%llu", v->id,
                (unsigned long long)gpa, (unsigned long long)npages);
        break;
    }
    case SNP_SIM_OP_GUEST_REQ: {
        int r;

        /* snp_handle_guest_req(): the firmware, no exit on any kernel. */
        regs.rcx = 0;
        v->req_gpa = regs.rdi;
        v->resp_gpa = regs.rsi;
        note_exposed(v, v->req_gpa);
        r = guest_request(v, false, &rax);
        if (r < 0) {
            return r;
        }
        sim_log("kvm-answered", "vcpu=%d kind=guest-request", v->id);
        break;
    }
    case SNP_SIM_OP_HOST_STEP: {
        char name[SNP_SIM_STEP_NAME_MAX];

        if (!regs.rbx) {
            rax = (uint64_t)(int64_t)sim_host_step_poll(v->id);
        } else if (guest_rw(vm, regs.rbx, name, sizeof(name), false)) {
            rax = -(uint64_t)EFAULT;
        } else if (!memchr(name, 0, sizeof(name))) {
            rax = -(uint64_t)EINVAL;
        } else {
            rax = (uint64_t)(int64_t)sim_host_step_start(v->id, name);
        }
        break;
    }
    case SNP_SIM_OP_ACCESS:
        if (!regs.rcx) {
            rax = 0;
            break;
        }
        if (regs.rbx + regs.rcx < regs.rbx) {
            rax = -(uint64_t)EINVAL;
            break;
        }
        v->access_gpa = regs.rbx;
        v->access_size = regs.rcx;
        v->access_flags = regs.rdi & KVM_MEMORY_EXIT_FLAG_PRIVATE;
        v->access_pending = true;
        return 1;               /* checked before the guest runs again */
    case SNP_SIM_OP_RECORD:
        rax = record_pair(v, regs.rbx, regs.rcx, regs.rdi);
        break;
    case SNP_SIM_OP_HOLD_LOCK:
        rax = (int64_t)sim_fw_hold_lock(regs.rbx);
        break;
    case SNP_SIM_OP_TIME_MS: {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        rax = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        break;
    }
    default:
        rax = SNP_SIM_RET_BAD_OP;
        break;
    }
    if (op != SNP_SIM_OP_TIME_MS &&
        !(op == SNP_SIM_OP_HOST_STEP && rax == 1 && !regs.rbx)) {
        sim_log("op", "vcpu=%d op=%u rax=0x%llx", v->id, op,
                (unsigned long long)rax);
    }
    regs.rax = rax;
    if (sim_real_ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
        return -errno;
    }
    return 1;
}

static bool is_doorbell(SimVcpu *v, uint32_t *op)
{
    struct kvm_run *run = v->run;

    if (run->exit_reason != KVM_EXIT_IO ||
        run->io.direction != KVM_EXIT_IO_OUT ||
        run->io.port != SNP_SIM_DOORBELL_PORT || run->io.size != 4 ||
        run->io.count != 1 ||
        run->io.data_offset > v->run_size - sizeof(*op)) {
        return false;
    }
    memcpy(op, (uint8_t *)run + run->io.data_offset, sizeof(*op));
    return true;
}

static int vcpu_run(SimVcpu *v)
{
    struct kvm_run *run = v->run;
    SimCui cui;
    uint32_t op;
    uint64_t gfn;
    int r;

    g_mutex_lock(&v->lock);
    /* complete_userspace_io first ... */
    cui = v->cui;
    v->cui = CUI_NONE;
    switch (cui) {
    case CUI_HYPERCALL:
        r = complete_hypercall(v);
        break;
    case CUI_REQ_CERTS:
        r = complete_req_certs(v);
        break;
    case CUI_VMGEXIT:
        r = complete_vmgexit(v);
        break;
    default:
        r = 1;
        break;
    }
    if (r <= 0) {
        goto out;
    }
    /* ... then immediate_exit, before the guest runs. */
    if (run->immediate_exit) {
        if (cui != CUI_NONE) {
            sim_log("complete", "vcpu=%d kind=%s eintr=1", v->id,
                    cui_name(cui));
        }
        r = -EINTR;
        goto out;
    }
    for (;;) {
        if (v->access_pending) {
            if (access_fault(v, &gfn)) {
                run->exit_reason = KVM_EXIT_MEMORY_FAULT;
                run->memory_fault.flags = v->access_flags;
                run->memory_fault.gpa = gfn << PAGE_SHIFT;
                run->memory_fault.size = PAGE_SIZE;
                sim_log("exit", "vcpu=%d kind=memory-fault gpa=0x%llx "
                        "private=%d", v->id,
                        (unsigned long long)(gfn << PAGE_SHIFT),
                        !!v->access_flags);
                r = -EFAULT;
                goto out;
            }
            v->access_pending = false;
            r = regs_update(v, &(uint64_t){ 0 }, NULL);
            if (r < 0) {
                goto out;
            }
            sim_log("op", "vcpu=%d op=%u rax=0", v->id, SNP_SIM_OP_ACCESS);
        }
        r = sim_real_ioctl(v->fd, KVM_RUN, NULL);
        if (r < 0) {
            r = -errno;
            goto out;
        }
        if (!is_doorbell(v, &op)) {
            goto out;
        }
        r = doorbell(v, op);
        if (r != 1) {
            goto out;
        }
    }
out:
    g_mutex_unlock(&v->lock);
    return r < 0 ? fail(-r) : r;
}

static bool vcpu_ioctl(SimVcpu *v, unsigned long req, void *arg, int *ret)
{
    if (req == KVM_RUN && v->run) {
        *ret = vcpu_run(v);
        return true;
    }
    return false;
}

bool sim_kvm_ioctl(int fd, SimFdKind kind, void *obj, unsigned long req,
                   void *arg, int *ret)
{
    switch (kind) {
    case SIM_FD_KVM:
        return sys_ioctl(fd, req, arg, ret);
    case SIM_FD_VM:
        return vm_ioctl(obj, req, arg, ret);
    case SIM_FD_VCPU:
        return vcpu_ioctl(obj, req, arg, ret);
    default:
        return false;
    }
}

void sim_kvm_mmap(SimVcpu *vcpu, void *addr, size_t len, off_t off)
{
    if (off == 0) {
        vcpu->qemu_run = addr;
    }
}

void sim_kvm_close(int fd, SimFdKind kind, void *obj)
{
    /*
     * The kernel keeps a VM alive while one of its vCPUs is open; so does
     * this.  A vCPU is closed by the thread that runs it (QEMU does so).
     */
    if (kind == SIM_FD_VM) {
        vm_unref(obj);
    } else if (kind == SIM_FD_GMEM || kind == SIM_FD_GMEM_EMU) {
        gmem_release(obj);
    } else if (kind == SIM_FD_VCPU) {
        SimVcpu *v = obj;

        if (v->run) {
            munmap(v->run, v->run_size);
        }
        g_mutex_clear(&v->lock);
        vm_unref(v->vm);
        g_free(v);
    }
}
