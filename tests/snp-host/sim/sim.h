/*
 * The SNP host simulator: declarations shared by its parts.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SNP_HOST_SIM_H
#define SNP_HOST_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

/* The host kernel being played (SNP_HOST_SIM_KERNEL). */
typedef enum {
    SIM_KERNEL_MAINLINE,            /* Linux >= 7.0 */
    SIM_KERNEL_MAINLINE_NO_CERTS,   /* Linux 6.x: no certificate exits */
    SIM_KERNEL_LEGACY,              /* AMD's kernels (seed 001) */
} SimKernel;

extern SimKernel sim_kernel;
const char *sim_kernel_name(SimKernel k);

/*
 * SNP_HOST_SIM_EMULATE_GMEM=1: guest_memfd is emulated even where the
 * kernel has its own (sim-kvm.c).
 */
extern bool sim_gmem_forced;

/*
 * libc's _FORTIFY_SOURCE reads, which sim-core.c interposes: declared by
 * no header there (it is built without _FORTIFY_SOURCE).
 */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
                      size_t buflen);

/* The real libc entry points (dlsym(RTLD_NEXT)). */
int sim_real_ioctl(int fd, unsigned long req, void *arg);
int sim_real_open(const char *path, int flags, mode_t mode);
int sim_real_close(int fd);
void *sim_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
                    off_t off);
int sim_real_ftruncate(int fd, off_t len);
int sim_real_fallocate(int fd, int mode, off_t off, off_t len);

/*
 * One line in $SNP_HOST_SIM_LOG: "<ms> <pid>:<tid> <event> <details>";
 * see the format at the top of sim-core.c.
 */
void sim_log(const char *event, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * SNP_SIM_OP_HOST_STEP (sim-core.c): ask the scenario runner to do a
 * host-side step, then poll for its answer (snp-host-abi.h).
 */
int sim_host_step_start(int vcpu_id, const char *name);
int sim_host_step_poll(int vcpu_id);

/* Copy from/to this process's memory without faulting: 0 or -EFAULT. */
int sim_copy_from_user(void *dst, uint64_t uaddr, size_t len);
int sim_copy_to_user(uint64_t uaddr, const void *src, size_t len);

/* What kind of descriptor the simulator tracks. */
typedef enum {
    SIM_FD_NONE,
    SIM_FD_KVM,         /* /dev/kvm */
    SIM_FD_VM,          /* a VM fd of ours */
    SIM_FD_VCPU,        /* a vCPU fd of one of our VMs */
    SIM_FD_SEV,         /* our /dev/sev */
    SIM_FD_GMEM,        /* a guest_memfd of one of our VMs, the kernel's */
    SIM_FD_GMEM_EMU,    /* a guest_memfd of one of our VMs, emulated */
} SimFdKind;

typedef struct SimVm SimVm;
typedef struct SimVcpu SimVcpu;

/* The descriptor table (sim-core.c). */
void sim_fd_set(int fd, SimFdKind kind, void *obj);
SimFdKind sim_fd_get(int fd, void **obj);

/*
 * The file operations of an emulated guest_memfd (sim-kvm.c), as
 * kvm_gmem_fops answers them: each returns false when @fd is no emulated
 * guest_memfd (the call then goes to libc), else true with the result in
 * *ret (-1 or MAP_FAILED with errno set on failure).
 */
bool sim_gmem_fallocate(int fd, int mode, off_t off, off_t len, int *ret);
bool sim_gmem_mmap(int fd, void *addr, size_t len, int prot, int flags,
                   off_t off, void **ret);
/* read/write (@positional false) and pread/pwrite at @pos (true). */
bool sim_gmem_io(int fd, bool positional, off_t pos, ssize_t *ret);
bool sim_gmem_ftruncate(int fd, off_t len, int *ret);

/* KVM (sim-kvm.c): return true when handled, with *ret set. */
bool sim_kvm_ioctl(int fd, SimFdKind kind, void *obj, unsigned long req,
                   void *arg, int *ret);
void sim_kvm_mmap(SimVcpu *vcpu, void *addr, size_t len, off_t off);
void sim_kvm_close(int fd, SimFdKind kind, void *obj);

/* /dev/sev (sim-sev.c): the ioctl, as the PSP driver answers it. */
int sim_sev_ioctl(int fd, unsigned long req, void *arg);
/* Number of SNP guests the firmware knows (SNP_PLATFORM_STATUS). */
void sim_sev_guest_count_add(int delta);
/*
 * An ioctl on a descriptor the simulator does not track: true when it
 * answered (KVM_MEMORY_ENCRYPT_OP(NULL) on a plain VM), with *ret set.
 */
bool sim_sev_untracked_ioctl(int fd, unsigned long req, void *arg, int *ret);

/*
 * The firmware (sim-fw.c).  Its state (chip id, TCB, endorsement keys) is
 * read again at every use, so a rotation takes effect at once.
 */
typedef struct SimFwInfo {
    uint8_t chip_id[64];
    uint64_t current_tcb;
    uint64_t reported_tcb;
    uint64_t committed_tcb;
    uint8_t api_major, api_minor, build;
    bool vlek_loaded;
} SimFwInfo;

bool sim_fw_info(SimFwInfo *info, GError **err);

/* What the guest context contributes to a report. */
typedef struct SimGuestCtx {
    uint64_t policy;
    uint32_t guest_svn;             /* from the ID block */
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint8_t measurement[48];
    uint8_t host_data[32];
} SimGuestCtx;

#define SIM_REPORT_SIZE 1184

/*
 * MSG_REPORT_REQ: build and sign a version-3 report into @report.
 * Returns the firmware status of MSG_REPORT_RSP (0 = success, else
 * SEV_RET_INVALID_PARAM / SEV_RET_INVALID_KEY), or -1 with @err set when
 * the firmware state cannot be used (the request then fails as a
 * firmware error).
 */
int sim_fw_report(int vcpu_id, const SimGuestCtx *ctx,
                  const uint8_t user_data[64], uint32_t vmpl,
                  uint32_t key_sel, uint8_t report[SIM_REPORT_SIZE],
                  GError **err);

/*
 * The lock check of the locking protocol, done when the firmware signs
 * after a certificate exit that gave a chain (@table, @len bytes of the
 * guest's buffer): the blob it came from (the file of
 * $SNP_HOST_SIM_CERTS, PATH[:PATH...], whose bytes the table starts
 * with) must be held under a shared OFD lock and a shared flock by
 * somebody (the VMM).  Records violations in the log; returns the number
 * found.
 */
int sim_fw_check_blob_locks(int vcpu_id, const uint8_t *table, size_t len);

/* SNP_SIM_OP_HOLD_LOCK: 0 once held, or a negative errno. */
int sim_fw_hold_lock(uint64_t ms);

/* SHA-384 of @len bytes. */
void sim_sha384(const void *data, size_t len, uint8_t out[48]);

#endif /* SNP_HOST_SIM_H */
