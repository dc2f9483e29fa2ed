/*
 * The SNP host simulator: an LD_PRELOAD library that plays the SNP parts
 * of the host kernel (KVM's SEV-SNP support, the PSP driver's /dev/sev)
 * and of the AMD-SP firmware on a machine that has /dev/kvm but no SNP
 * hardware, passing everything else to the real /dev/kvm.  The design and
 * its limits are in docs/devel/snp-host-sim.rst; the guest's side of the
 * protocol in tests/snp-host/snp-host-abi.h.
 *
 * This file: the interposed libc entry points (open, open64, openat,
 * openat64 and their _FORTIFY_SOURCE variants, ioctl, mmap, mmap64,
 * close; and, for an emulated guest_memfd, fallocate, fallocate64, read,
 * write, pread, pread64, pwrite, pwrite64, ftruncate, ftruncate64 and the
 * _FORTIFY_SOURCE reads), the table of descriptors the simulator owns,
 * the configuration and the log.
 *
 * Environment:
 *   SNP_HOST_SIM_KERNEL  mainline (default) | mainline-no-certs | legacy
 *   SNP_HOST_SIM_LOG     file to append the event log to (none: no log)
 *   SNP_HOST_SIM_FW      firmware state directory (sim-fw.c)
 *   SNP_HOST_SIM_CERTS   the certificate blob whose locks are checked
 *   SNP_HOST_SIM_PAIRS   directory for SNP_SIM_OP_RECORD
 *   SNP_HOST_SIM_STEP_FDS  IN,OUT: the pipes to the scenario runner for
 *                        SNP_SIM_OP_HOST_STEP (answers in, requests out)
 *   SNP_HOST_SIM_EMULATE_GMEM  1: emulate guest_memfd even where the
 *                        kernel has it (sim-kvm.c); unset, empty or 0: only
 *                        where it has none
 *
 * Log format: one line per event, written with a single write(2):
 *
 *   <ms> <tid> <event> [key=value ...]
 *
 * <ms> counts milliseconds of CLOCK_MONOTONIC since the library was
 * loaded, <tid> is the calling thread.  Events:
 *   start          kernel=<name> pid=<pid> emulate-gmem=0|1
 *   refused        what the simulated kernel refused: ioctl=<name>
 *                  errno=<n> why=<text>
 *   vm             a VM was created (type=<n> real-type=<n>)
 *   gmem           guest_memfd: whose (mode=kernel, or mode=emulated
 *                  why=kernel-has-none|forced, once, with kernel-cap=<the
 *                  real KVM_CAP_GUEST_MEMFD of /dev/kvm>), then each
 *                  create, bind, fallocate and close (fd= ...)
 *   memattr        KVM_SET_MEMORY_ATTRIBUTES gpa= size= private=0|1
 *   launch-start   policy=
 *   launch-update  gfn= pages= type=
 *   launch-finish  measurement=<hex>
 *   req-certs-on   KVM_SEV_SNP_ENABLE_REQ_CERTS accepted
 *   exit           an exit produced for QEMU: vcpu= kind=req-certs|
 *                  vmgexit|vmgexit-done|hypercall|memory-fault ...
 *   ret-ok         vcpu= kind= ret=<what QEMU answered> (validated)
 *   ret-invalid    vcpu= ret=<n>: KVM_RUN failed with EINVAL
 *   ret-poisoned   vcpu= kind=: QEMU left the poisoned ret in place
 *   complete       vcpu= kind= rax= rbx= eintr=0|1
 *   fw-report      vcpu= status= vcek=<sha256 of the public key> tcb=
 *   lock-ok        vcpu= (both shared locks were held while signing)
 *   lock-violation vcpu= lock=ofd|flock detail=
 *   kvm-answered   vcpu=: KVM itself served an extended request (or,
 *                  kind=guest-request, a plain one)
 *   lock-skip      vcpu= why=: no lock check, the answer had no chain
 *                  (no-buffer, empty-table) or no blob is named
 *   iv-reuse       vcpu= vmpck= seqno=: the guest put a message with a
 *                  sequence number already used into shared memory
 *   step           name= result=: a host-side step of the runner
 *   op             vcpu= op=<n> rax=<result> (internal doorbell ops)
 *   error          what went wrong inside the simulator
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* Define the plain and the 64-bit entry points, not the redirections. */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "sim.h"
#include "snp-host-abi.h"

#define SIM_EXPORT __attribute__((visibility("default")))

SimKernel sim_kernel = SIM_KERNEL_MAINLINE;
bool sim_gmem_forced;

typedef int (*OpenFn)(const char *, int, ...);
typedef int (*OpenatFn)(int, const char *, int, ...);
typedef int (*IoctlFn)(int, unsigned long, ...);
typedef void *(*MmapFn)(void *, size_t, int, int, int, off_t);
typedef int (*CloseFn)(int);
typedef int (*FallocateFn)(int, int, off_t, off_t);
typedef ssize_t (*ReadFn)(int, void *, size_t);
typedef ssize_t (*WriteFn)(int, const void *, size_t);
typedef ssize_t (*PreadFn)(int, void *, size_t, off_t);
typedef ssize_t (*PwriteFn)(int, const void *, size_t, off_t);
typedef int (*FtruncateFn)(int, off_t);
typedef ssize_t (*ReadChkFn)(int, void *, size_t, size_t);
typedef ssize_t (*PreadChkFn)(int, void *, size_t, off_t, size_t);

static struct {
    OpenFn open, open64;
    OpenatFn openat, openat64;
    IoctlFn ioctl;
    MmapFn mmap, mmap64;
    CloseFn close;
    FallocateFn fallocate, fallocate64;
    ReadFn read;
    WriteFn write;
    PreadFn pread, pread64;
    PwriteFn pwrite, pwrite64;
    FtruncateFn ftruncate, ftruncate64;
    ReadChkFn read_chk;
    PreadChkFn pread_chk, pread64_chk;
} real;

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static GMutex fd_lock;
static GHashTable *fd_table;        /* fd -> SimFdEntry */
/* Emulated guest_memfds open: the fast path of read/write & co. */
static gint gmem_emu_fds;
static int log_fd = -1;
static struct timespec t0;

/* SNP_SIM_OP_HOST_STEP: the pipes to the runner, one step at a time. */
typedef struct SimStepPipe {
    GMutex lock;
    int fd_in, fd_out;          /* answers in, requests out */
    bool pending;               /* a step was asked for */
    char name[SNP_SIM_STEP_NAME_MAX];
    GString *line;              /* the answer, as far as it came */
} SimStepPipe;

static SimStepPipe steps = { .fd_in = -1, .fd_out = -1 };

typedef struct SimFdEntry {
    SimFdKind kind;
    void *obj;
} SimFdEntry;

static void *must_resolve(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);

    if (!p) {
        static const char msg[] = "snp-host-sim: cannot resolve libc ";

        /* Not write(): that is ours, and waits for this resolution. */
        syscall(SYS_write, 2, msg, sizeof(msg) - 1);
        syscall(SYS_write, 2, name, strlen(name));
        syscall(SYS_write, 2, "\n", 1);
        abort();
    }
    return p;
}

static void resolve(void)
{
    real.open = must_resolve("open");
    real.open64 = must_resolve("open64");
    real.openat = must_resolve("openat");
    real.openat64 = must_resolve("openat64");
    real.ioctl = must_resolve("ioctl");
    real.mmap = must_resolve("mmap");
    real.mmap64 = must_resolve("mmap64");
    real.close = must_resolve("close");
    real.fallocate = must_resolve("fallocate");
    real.fallocate64 = must_resolve("fallocate64");
    real.read = must_resolve("read");
    real.write = must_resolve("write");
    real.pread = must_resolve("pread");
    real.pread64 = must_resolve("pread64");
    real.pwrite = must_resolve("pwrite");
    real.pwrite64 = must_resolve("pwrite64");
    real.ftruncate = must_resolve("ftruncate");
    real.ftruncate64 = must_resolve("ftruncate64");
    real.read_chk = must_resolve("__read_chk");
    real.pread_chk = must_resolve("__pread_chk");
    real.pread64_chk = must_resolve("__pread64_chk");
}

static inline void ensure_resolved(void)
{
    pthread_once(&resolve_once, resolve);
}

const char *sim_kernel_name(SimKernel k)
{
    switch (k) {
    case SIM_KERNEL_MAINLINE:
        return "mainline";
    case SIM_KERNEL_MAINLINE_NO_CERTS:
        return "mainline-no-certs";
    case SIM_KERNEL_LEGACY:
        return "legacy";
    }
    return "?";
}

static void step_init(void)
{
    const char *fds = getenv("SNP_HOST_SIM_STEP_FDS");
    int in, out;

    if (!fds || !*fds) {
        return;
    }
    if (sscanf(fds, "%d,%d", &in, &out) != 2 || in < 0 || out < 0 ||
        fcntl(in, F_GETFD) < 0 || fcntl(out, F_GETFD) < 0) {
        fprintf(stderr, "snp-host-sim: SNP_HOST_SIM_STEP_FDS=%s: want two "
                "open descriptors, IN,OUT\n", fds);
        _exit(2);
    }
    /* Not for QEMU's children. */
    fcntl(in, F_SETFD, FD_CLOEXEC);
    fcntl(out, F_SETFD, FD_CLOEXEC);
    steps.fd_in = in;
    steps.fd_out = out;
    steps.line = g_string_new(NULL);
}

static bool step_name_ok(const char *name)
{
    if (!*name) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '=' &&
            *p != ',' && *p != '.' && *p != ':') {
            return false;
        }
    }
    return true;
}

int sim_host_step_start(int vcpu_id, const char *name)
{
    g_autofree char *msg = NULL;
    int r = 1;

    g_mutex_lock(&steps.lock);
    if (!step_name_ok(name)) {
        r = -EINVAL;
    } else if (steps.fd_in < 0) {
        r = -ENOENT;
    } else if (steps.pending) {
        r = -EBUSY;
    } else {
        msg = g_strdup_printf("step %s\n", name);
        if (write(steps.fd_out, msg, strlen(msg)) != (ssize_t)strlen(msg)) {
            r = -EPIPE;
        } else {
            steps.pending = true;
            g_strlcpy(steps.name, name, sizeof(steps.name));
            g_string_truncate(steps.line, 0);
        }
    }
    g_mutex_unlock(&steps.lock);
    sim_log("step", "vcpu=%d name=%s result=%s", vcpu_id, name,
            r == 1 ? "started" : g_strerror(-r));
    return r;
}

int sim_host_step_poll(int vcpu_id)
{
    struct pollfd p = { .events = POLLIN };
    char buf[256];
    char *nl;
    ssize_t n;
    int r = 1;

    g_mutex_lock(&steps.lock);
    p.fd = steps.fd_in;
    /* EINTR (QEMU kicks the vCPU) is just another "still pending". */
    if (!steps.pending || poll(&p, 1, 20) <= 0) {
        r = steps.pending ? 1 : -EINVAL;
        g_mutex_unlock(&steps.lock);
        return r;
    }
    n = read(steps.fd_in, buf, sizeof(buf));
    if (n <= 0) {
        r = n < 0 && errno == EINTR ? 1 : -EPIPE;
    } else {
        g_string_append_len(steps.line, buf, n);
    }
    nl = strchr(steps.line->str, '\n');
    if (r == 1 && nl) {
        *nl = 0;
        r = !strcmp(steps.line->str, "ok") ? 0 : -EIO;
    }
    if (r != 1) {
        sim_log("step", "vcpu=%d name=%s result=%s%s%s", vcpu_id, steps.name,
                r == 0 ? "done" : r == -EIO ? "failed" : g_strerror(-r),
                r == -EIO ? " why=" : "", r == -EIO ? steps.line->str : "");
        steps.pending = false;
    }
    g_mutex_unlock(&steps.lock);
    return r;
}

__attribute__((constructor))
static void sim_init(void)
{
    const char *k = getenv("SNP_HOST_SIM_KERNEL");
    const char *log = getenv("SNP_HOST_SIM_LOG");
    const char *gmem = getenv("SNP_HOST_SIM_EMULATE_GMEM");

    ensure_resolved();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    g_mutex_lock(&fd_lock);
    if (!fd_table) {
        fd_table = g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                         NULL, g_free);
    }
    g_mutex_unlock(&fd_lock);
    if (!k || !*k || !strcmp(k, "mainline")) {
        sim_kernel = SIM_KERNEL_MAINLINE;
    } else if (!strcmp(k, "mainline-no-certs")) {
        sim_kernel = SIM_KERNEL_MAINLINE_NO_CERTS;
    } else if (!strcmp(k, "legacy")) {
        sim_kernel = SIM_KERNEL_LEGACY;
    } else {
        fprintf(stderr, "snp-host-sim: SNP_HOST_SIM_KERNEL=%s: must be "
                "mainline, mainline-no-certs or legacy\n", k);
        _exit(2);
    }
    if (gmem && *gmem && strcmp(gmem, "0") && strcmp(gmem, "1")) {
        fprintf(stderr, "snp-host-sim: SNP_HOST_SIM_EMULATE_GMEM=%s: must "
                "be 1 (emulate guest_memfd) or 0 (only where the kernel "
                "has none)\n", gmem);
        _exit(2);
    }
    sim_gmem_forced = gmem && !strcmp(gmem, "1");
    if (log && *log) {
        log_fd = real.open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                           0644);
        if (log_fd < 0) {
            fprintf(stderr, "snp-host-sim: SNP_HOST_SIM_LOG=%s: %s\n", log,
                    strerror(errno));
            _exit(2);
        }
    }
    sim_log("start", "kernel=%s pid=%d emulate-gmem=%d",
            sim_kernel_name(sim_kernel), (int)getpid(), sim_gmem_forced);
    step_init();
}

void sim_log(const char *event, const char *fmt, ...)
{
    struct timespec now;
    g_autofree char *body = NULL;
    g_autofree char *line = NULL;
    uint64_t ms;
    va_list ap;
    size_t len, off = 0;

    if (log_fd < 0) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (uint64_t)(now.tv_sec - t0.tv_sec) * 1000 +
         (now.tv_nsec - t0.tv_nsec) / 1000000;
    va_start(ap, fmt);
    body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    line = g_strdup_printf("%" G_GUINT64_FORMAT " %ld %s %s\n", ms,
                           (long)syscall(SYS_gettid), event, body);
    len = strlen(line);
    ensure_resolved();
    while (off < len) {
        /* libc's own: never back through the guest_memfd emulation. */
        ssize_t n = real.write(log_fd, line + off, len - off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        off += n;
    }
}

int sim_copy_from_user(void *dst, uint64_t uaddr, size_t len)
{
    ssize_t n;
    struct iovec local = { .iov_base = dst, .iov_len = len };
    struct iovec remote = { .iov_base = (void *)(uintptr_t)uaddr,
                            .iov_len = len };

    if (!len) {
        return 0;
    }
    n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

int sim_copy_to_user(uint64_t uaddr, const void *src, size_t len)
{
    ssize_t n;
    struct iovec local = { .iov_base = (void *)src, .iov_len = len };
    struct iovec remote = { .iov_base = (void *)(uintptr_t)uaddr,
                            .iov_len = len };

    if (!len) {
        return 0;
    }
    n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

void sim_fd_set(int fd, SimFdKind kind, void *obj)
{
    SimFdEntry *old;

    g_mutex_lock(&fd_lock);
    if (!fd_table) {
        fd_table = g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                         NULL, g_free);
    }
    old = g_hash_table_lookup(fd_table, GINT_TO_POINTER(fd));
    if (old && old->kind == SIM_FD_GMEM_EMU) {
        g_atomic_int_add(&gmem_emu_fds, -1);
    }
    if (kind == SIM_FD_NONE) {
        g_hash_table_remove(fd_table, GINT_TO_POINTER(fd));
    } else {
        SimFdEntry *e = g_new0(SimFdEntry, 1);

        e->kind = kind;
        e->obj = obj;
        g_hash_table_replace(fd_table, GINT_TO_POINTER(fd), e);
        if (kind == SIM_FD_GMEM_EMU) {
            g_atomic_int_inc(&gmem_emu_fds);
        }
    }
    g_mutex_unlock(&fd_lock);
}

SimFdKind sim_fd_get(int fd, void **obj)
{
    SimFdEntry *e;
    SimFdKind kind = SIM_FD_NONE;

    if (fd < 0) {
        return SIM_FD_NONE;
    }
    g_mutex_lock(&fd_lock);
    e = fd_table ? g_hash_table_lookup(fd_table, GINT_TO_POINTER(fd)) : NULL;
    if (e) {
        kind = e->kind;
        if (obj) {
            *obj = e->obj;
        }
    }
    g_mutex_unlock(&fd_lock);
    return kind;
}

int sim_real_ioctl(int fd, unsigned long req, void *arg)
{
    ensure_resolved();
    return real.ioctl(fd, req, arg);
}

int sim_real_open(const char *path, int flags, mode_t mode)
{
    ensure_resolved();
    return real.open(path, flags, mode);
}

int sim_real_close(int fd)
{
    ensure_resolved();
    return real.close(fd);
}

void *sim_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
                    off_t off)
{
    ensure_resolved();
    return real.mmap(addr, len, prot, flags, fd, off);
}

int sim_real_ftruncate(int fd, off_t len)
{
    ensure_resolved();
    return real.ftruncate(fd, len);
}

int sim_real_fallocate(int fd, int mode, off_t off, off_t len)
{
    ensure_resolved();
    return real.fallocate(fd, mode, off, len);
}

/*
 * Could @fd be an emulated guest_memfd?  The calls below are on every
 * program's hot paths: the table is only searched while there is one.
 */
static inline bool maybe_gmem(int fd)
{
    ensure_resolved();
    return fd >= 0 && g_atomic_int_get(&gmem_emu_fds) > 0;
}

/* The paths the simulator owns. */
static bool is_sev_path(const char *path)
{
    return path && !strcmp(path, "/dev/sev");
}

static bool is_kvm_path(const char *path)
{
    return path && !strcmp(path, "/dev/kvm");
}

/* /dev/sev: a descriptor of our own that ioctl() recognises. */
static int open_sev(int flags)
{
    int fd = memfd_create("snp-host-sim-sev",
                          (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);

    if (fd >= 0) {
        sim_fd_set(fd, SIM_FD_SEV, NULL);
    }
    return fd;
}

static int after_open(const char *path, int fd)
{
    if (fd >= 0 && is_kvm_path(path)) {
        sim_fd_set(fd, SIM_FD_KVM, NULL);
    }
    return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
    if (flags & (O_CREAT | __O_TMPFILE)) {
        return va_arg(ap, mode_t);
    }
    return 0;
}

SIM_EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    ensure_resolved();
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    if (is_sev_path(path)) {
        return open_sev(flags);
    }
    return after_open(path, real.open(path, flags, mode));
}

SIM_EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    ensure_resolved();
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    if (is_sev_path(path)) {
        return open_sev(flags);
    }
    return after_open(path, real.open64(path, flags, mode));
}

SIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    ensure_resolved();
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    if (is_sev_path(path)) {
        return open_sev(flags);
    }
    return after_open(path, real.openat(dirfd, path, flags, mode));
}

SIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    ensure_resolved();
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    if (is_sev_path(path)) {
        return open_sev(flags);
    }
    return after_open(path, real.openat64(dirfd, path, flags, mode));
}

/* The _FORTIFY_SOURCE entry points (flags without O_CREAT). */
SIM_EXPORT int __open_2(const char *path, int flags)
{
    return open(path, flags);
}

SIM_EXPORT int __open64_2(const char *path, int flags)
{
    return open64(path, flags);
}

SIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    return openat(dirfd, path, flags);
}

SIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    return openat64(dirfd, path, flags);
}

SIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *arg;
    void *obj = NULL;
    SimFdKind kind;
    int ret;

    ensure_resolved();
    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);

    kind = sim_fd_get(fd, &obj);
    switch (kind) {
    case SIM_FD_NONE:
        if (sim_sev_untracked_ioctl(fd, req, arg, &ret)) {
            return ret;
        }
        break;
    case SIM_FD_SEV:
        return sim_sev_ioctl(fd, req, arg);
    default:
        if (sim_kvm_ioctl(fd, kind, obj, req, arg, &ret)) {
            return ret;
        }
        break;
    }
    return real.ioctl(fd, req, arg);
}

static void *after_mmap(void *p, size_t len, int fd, off_t off)
{
    void *obj = NULL;

    if (p != MAP_FAILED && sim_fd_get(fd, &obj) == SIM_FD_VCPU) {
        sim_kvm_mmap(obj, p, len, off);
    }
    return p;
}

SIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
                      off_t off)
{
    void *p;

    if (maybe_gmem(fd) && sim_gmem_mmap(fd, addr, len, prot, flags, off,
                                        &p)) {
        return p;
    }
    ensure_resolved();
    return after_mmap(real.mmap(addr, len, prot, flags, fd, off), len, fd,
                      off);
}

SIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
                        off_t off)
{
    void *p;

    if (maybe_gmem(fd) && sim_gmem_mmap(fd, addr, len, prot, flags, off,
                                        &p)) {
        return p;
    }
    ensure_resolved();
    return after_mmap(real.mmap64(addr, len, prot, flags, fd, off), len, fd,
                      off);
}

/* An emulated guest_memfd's file operations (sim-kvm.c); libc's else. */
SIM_EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
    int r;

    if (maybe_gmem(fd) && sim_gmem_fallocate(fd, mode, off, len, &r)) {
        return r;
    }
    return real.fallocate(fd, mode, off, len);
}

SIM_EXPORT int fallocate64(int fd, int mode, off_t off, off_t len)
{
    int r;

    if (maybe_gmem(fd) && sim_gmem_fallocate(fd, mode, off, len, &r)) {
        return r;
    }
    return real.fallocate64(fd, mode, off, len);
}

SIM_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    ssize_t r;

    if (maybe_gmem(fd) && sim_gmem_io(fd, false, 0, &r)) {
        return r;
    }
    return real.read(fd, buf, n);
}

SIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t r;

    if (maybe_gmem(fd) && sim_gmem_io(fd, false, 0, &r)) {
        return r;
    }
    return real.write(fd, buf, n);
}

SIM_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    ssize_t r;

    if (maybe_gmem(fd) && sim_gmem_io(fd, true, off, &r)) {
        return r;
    }
    return real.pread(fd, buf, n, off);
}

SIM_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    ssize_t r;

    if (maybe_gmem(fd) && sim_gmem_io(fd, true, off, &r)) {
        return r;
    }
    return real.pread64(fd, buf, n, off);
}

SIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t r;

    if (maybe_gmem(fd) && sim_gmem_io(fd, true, off, &r)) {
        return r;
    }
    return real.pwrite(fd, buf, n, off);
}

SIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t r;

    if (maybe_gmem(fd) && sim_gmem_io(fd, true, off, &r)) {
        return r;
    }
    return real.pwrite64(fd, buf, n, off);
}

SIM_EXPORT int ftruncate(int fd, off_t len)
{
    int r;

    if (maybe_gmem(fd) && sim_gmem_ftruncate(fd, len, &r)) {
        return r;
    }
    return real.ftruncate(fd, len);
}

SIM_EXPORT int ftruncate64(int fd, off_t len)
{
    int r;

    if (maybe_gmem(fd) && sim_gmem_ftruncate(fd, len, &r)) {
        return r;
    }
    return real.ftruncate64(fd, len);
}

/* The buffer check first: an overflow is fatal whatever the descriptor. */
SIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    ssize_t r;

    if (n <= buflen && maybe_gmem(fd) && sim_gmem_io(fd, false, 0, &r)) {
        return r;
    }
    ensure_resolved();
    return real.read_chk(fd, buf, n, buflen);
}

SIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off,
                               size_t buflen)
{
    ssize_t r;

    if (n <= buflen && maybe_gmem(fd) && sim_gmem_io(fd, true, off, &r)) {
        return r;
    }
    ensure_resolved();
    return real.pread_chk(fd, buf, n, off, buflen);
}

SIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
                                 size_t buflen)
{
    ssize_t r;

    if (n <= buflen && maybe_gmem(fd) && sim_gmem_io(fd, true, off, &r)) {
        return r;
    }
    ensure_resolved();
    return real.pread64_chk(fd, buf, n, off, buflen);
}

SIM_EXPORT int close(int fd)
{
    void *obj = NULL;
    SimFdKind kind;

    ensure_resolved();
    kind = sim_fd_get(fd, &obj);
    if (kind != SIM_FD_NONE) {
        sim_fd_set(fd, SIM_FD_NONE, NULL);
        sim_kvm_close(fd, kind, obj);
    }
    return real.close(fd);
}
