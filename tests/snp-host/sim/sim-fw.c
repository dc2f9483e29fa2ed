/*
 * The SNP host simulator: the AMD-SP firmware.
 *
 * The firmware state is libsevsnp's fwsim (subprojects/libsevsnp/sim/
 * fwsim.h): a directory ($SNP_HOST_SIM_FW) holding a test AMD chain and
 * the private key of the VCEK in service.  It is loaded afresh for every
 * command, so a rotation (fwsim_rotate(), an atomic rename) takes effect
 * at the next report.  Without $SNP_HOST_SIM_FW a throw-away Milan
 * firmware is created in $TMPDIR at first use (and named in the log).
 *
 * Also here: the lock check of the locking protocol at signing time, and
 * the updater of SNP_SIM_OP_HOLD_LOCK.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <linux/ioctl.h>
#include <linux/psp-sev.h>

#include <glib/gstdio.h>

#include "sim.h"
#include "fwsim.h"
#include "snp-host-abi.h"

static GMutex fw_lock;      /* the PSP runs one command at a time */
static char *fw_dir;

/* The throw-away firmware goes when the process does. */
__attribute__((destructor))
static void remove_throwaway_firmware(void)
{
    g_autoptr(GDir) d = NULL;
    const char *name;

    if (!fw_dir) {
        return;
    }
    d = g_dir_open(fw_dir, 0, NULL);
    while (d && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(fw_dir, name, NULL);

        g_unlink(path);
    }
    g_rmdir(fw_dir);
}

static const char *firmware_dir(GError **err)
{
    const char *env = getenv("SNP_HOST_SIM_FW");
    g_autofree char *tmp = NULL;
    /* A Milan at bl=3,tee=0,snp=8,ucode=115, like tests/data's VCEK. */
    static const SevsnpTcb tcb = { .bootloader = 3, .tee = 0, .snp = 8,
                                   .microcode = 115 };

    if (env && *env) {
        return env;
    }
    if (fw_dir) {
        return fw_dir;
    }
    tmp = g_dir_make_tmp("snp-host-sim-fw-XXXXXX", err);
    if (!tmp || !fwsim_create(tmp, SEVSNP_PRODUCT_MILAN, &tcb, err)) {
        return NULL;
    }
    sim_log("fw-created", "dir=%s product=Milan", tmp);
    fw_dir = g_steal_pointer(&tmp);
    return fw_dir;
}

/* Load the state as it is now; fw_lock held. */
static FwSimState *load_state(GError **err)
{
    const char *dir = firmware_dir(err);

    return dir ? fwsim_load(dir, err) : NULL;
}

bool sim_fw_info(SimFwInfo *info, GError **err)
{
    g_autoptr(FwSimState) st = NULL;

    g_mutex_lock(&fw_lock);
    st = load_state(err);
    g_mutex_unlock(&fw_lock);
    if (!st) {
        return false;
    }
    memset(info, 0, sizeof(*info));
    memcpy(info->chip_id, st->chip_id, sizeof(info->chip_id));
    info->current_tcb = sevsnp_tcb_encode(&st->current_tcb, st->product);
    info->reported_tcb = sevsnp_tcb_encode(&st->reported_tcb, st->product);
    info->committed_tcb = sevsnp_tcb_encode(&st->committed_tcb,
                                            st->product);
    info->api_major = st->fw_major;
    info->api_minor = st->fw_minor;
    info->build = st->fw_build;
    info->vlek_loaded = false;
    return true;
}

/* SHA-256 of the DER SubjectPublicKeyInfo, in hex. */
static char *key_fingerprint(EVP_PKEY *key)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(key, &der);
    g_autofree char *hex = NULL;

    if (len <= 0) {
        return g_strdup("?");
    }
    hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, der, len);
    OPENSSL_free(der);
    return g_steal_pointer(&hex);
}

void sim_sha384(const void *data, size_t len, uint8_t out[48])
{
    unsigned int n = 48;

    EVP_Digest(data, len, out, &n, EVP_sha384(), NULL);
}

int sim_fw_report(int vcpu_id, const SimGuestCtx *ctx,
                  const uint8_t user_data[64], uint32_t vmpl,
                  uint32_t key_sel, uint8_t report[SIM_REPORT_SIZE],
                  GError **err)
{
    g_autoptr(FwSimState) st = NULL;
    g_autoptr(GBytes) rep = NULL;
    g_autofree char *fpr = NULL;
    FwSimReportParams p = { 0 };
    int status = SEV_RET_SUCCESS;

    /* MSG_REPORT_REQ: VMPL 0-3; KEY_SEL 0 (VLEK if loaded), 1 VCEK, 2 VLEK */
    if (vmpl > 3 || key_sel > 2) {
        status = SEV_RET_INVALID_PARAM;
    } else if (key_sel == 2) {
        status = SEV_RET_INVALID_KEY;       /* no VLEK is ever loaded */
    }
    if (status != SEV_RET_SUCCESS) {
        sim_log("fw-report", "vcpu=%d status=0x%x vmpl=%u key_sel=%u",
                vcpu_id, status, vmpl, key_sel);
        return status;
    }

    p.version = 3;
    p.guest_svn = ctx->guest_svn;
    p.policy = ctx->policy;
    p.vmpl = vmpl;
    memcpy(p.family_id, ctx->family_id, sizeof(p.family_id));
    memcpy(p.image_id, ctx->image_id, sizeof(p.image_id));
    memcpy(p.report_data, user_data, sizeof(p.report_data));
    memcpy(p.measurement, ctx->measurement, sizeof(p.measurement));
    memcpy(p.host_data, ctx->host_data, sizeof(p.host_data));

    g_mutex_lock(&fw_lock);
    st = load_state(err);
    if (st) {
        rep = fwsim_sign_report(st, &p, err);
    }
    g_mutex_unlock(&fw_lock);
    if (!rep) {
        return -1;
    }
    memcpy(report, g_bytes_get_data(rep, NULL), SIM_REPORT_SIZE);
    fpr = key_fingerprint(st->vcek_key);
    sim_log("fw-report", "vcpu=%d status=0 vcek=%s generation=%"
            G_GUINT64_FORMAT " reported-tcb=0x%" G_GINT64_MODIFIER "x",
            vcpu_id, fpr, st->generation,
            sevsnp_tcb_encode(&st->reported_tcb, st->product));
    return SEV_RET_SUCCESS;
}

/*
 * The blob as it was when the process started, opened before QEMU drops
 * its privileges (-run-with user=, chroot=): the lock check falls back to
 * it when the path can no longer be opened but still names that file.
 */
static int start_blob_fd = -1;

/* The blob files that may be in service ($SNP_HOST_SIM_CERTS). */
static char **blob_paths(void)
{
    const char *env = getenv("SNP_HOST_SIM_CERTS");

    return env && *env ? g_strsplit(env, ":", -1) : NULL;
}

__attribute__((constructor))
static void open_start_blob(void)
{
    g_auto(GStrv) paths = blob_paths();

    if (paths && *paths[0]) {
        start_blob_fd = sim_real_open(paths[0], O_RDONLY | O_NONBLOCK |
                                      O_NOCTTY | O_CLOEXEC, 0);
    }
}

/*
 * A descriptor of the file at @path for the check (-errno if none); *own
 * tells whether the caller closes it.  Never blocks (a FIFO in place of
 * the blob).  @first: the path the descriptor of the start belongs to.
 */
static int blob_fd_for_check(const char *path, bool first, bool *own,
                             const char **via)
{
    struct stat a, b;
    int fd = sim_real_open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
                           O_CLOEXEC, 0);

    if (fd >= 0) {
        *own = true;
        *via = "path";
        return fd;
    }
    fd = -errno;
    /* Unreadable after a privilege drop, and still the same file. */
    if (fd == -EACCES && first && start_blob_fd >= 0 &&
        fstat(start_blob_fd, &a) == 0 && stat(path, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
        *own = false;
        *via = "start-fd";
        return start_blob_fd;
    }
    return fd;
}

/* Is the regular file @fd (@size bytes) what the table starts with? */
static bool holds_table(int fd, off_t size, const uint8_t *table,
                        size_t len)
{
    g_autofree uint8_t *buf = NULL;

    if (size <= 0 || (size_t)size > len) {
        return false;
    }
    buf = g_malloc(size);
    return pread(fd, buf, size, 0) == size && !memcmp(buf, table, size);
}

/*
 * The file the chain came from: the one of $SNP_HOST_SIM_CERTS whose
 * bytes the table is (a VMM may switch files: sev-snp-set-certs).  -1,
 * and the reason logged, when there is none.
 */
static int served_file(int vcpu_id, const uint8_t *table, size_t len,
                       bool *own, const char **via, char **name)
{
    g_auto(GStrv) paths = blob_paths();
    g_autoptr(GString) why = g_string_new(NULL);

    for (int i = 0; paths && paths[i]; i++) {
        struct stat st;
        int fd = blob_fd_for_check(paths[i], i == 0, own, via);

        if (fd < 0) {
            g_string_append_printf(why, " %s:%s", paths[i],
                                   g_strerror(-fd));
            continue;
        }
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            holds_table(fd, st.st_size, table, len)) {
            *name = g_strdup(paths[i]);
            return fd;
        }
        g_string_append_printf(why, " %s:%s", paths[i],
                               S_ISREG(st.st_mode) ? "other-bytes" :
                               "not-a-regular-file");
        if (*own) {
            sim_real_close(fd);
        }
    }
    sim_log("lock-violation", "vcpu=%d lock=none detail=the chain given is "
            "in no blob file:%s", vcpu_id, why->str);
    return -1;
}

int sim_fw_check_blob_locks(int vcpu_id, const uint8_t *table, size_t len)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    g_auto(GStrv) paths = blob_paths();
    g_autofree char *name = NULL;
    const char *via = "path";
    bool own = true;
    int fd, bad = 0;

    if (!paths) {
        sim_log("lock-skip", "vcpu=%d why=SNP_HOST_SIM_CERTS-unset",
                vcpu_id);
        return 0;
    }
    fd = served_file(vcpu_id, table, len, &own, &via, &name);
    if (fd < 0) {
        return 1;
    }
    /* Somebody must hold a shared OFD lock: a write lock would conflict. */
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        sim_log("lock-violation", "vcpu=%d lock=ofd detail=getlk-%s",
                vcpu_id, g_strerror(errno));
        bad++;
    } else if (fl.l_type == F_UNLCK) {
        sim_log("lock-violation", "vcpu=%d lock=ofd detail=not-held",
                vcpu_id);
        bad++;
    } else if (fl.l_type == F_WRLCK) {
        sim_log("lock-violation", "vcpu=%d lock=ofd detail=exclusive-held",
                vcpu_id);
        bad++;
    }
    /* And a shared flock: LOCK_EX must not be obtainable. */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
        sim_log("lock-violation", "vcpu=%d lock=flock detail=not-held",
                vcpu_id);
        bad++;
    } else if (errno != EWOULDBLOCK) {
        sim_log("lock-violation", "vcpu=%d lock=flock detail=%s", vcpu_id,
                g_strerror(errno));
        bad++;
    }
    if (own) {
        sim_real_close(fd);
    }
    if (!bad) {
        sim_log("lock-ok", "vcpu=%d file=%s via=%s", vcpu_id, name, via);
    }
    return bad;
}

/* SNP_SIM_OP_HOLD_LOCK: an updater thread. */
typedef struct HoldLock {
    GMutex lock;
    GCond cond;
    int result;             /* 1 = pending, else 0 or -errno */
    bool abandoned;         /* the vCPU stopped waiting */
    uint64_t ms;
    char *path;
} HoldLock;

static void hold_lock_done(HoldLock *h, int result)
{
    g_mutex_lock(&h->lock);
    h->result = result;
    g_cond_signal(&h->cond);
    g_mutex_unlock(&h->lock);
}

static gpointer hold_lock_thread(gpointer opaque)
{
    HoldLock *h = opaque;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int fd = sim_real_open(h->path, O_RDWR | O_CLOEXEC, 0);
    int r;
    bool abandoned;

    if (fd < 0) {
        hold_lock_done(h, -errno);
        goto out;
    }
    /* As snp-certs does: the OFD write lock, then flock(LOCK_EX). */
    while ((r = fcntl(fd, F_OFD_SETLKW, &fl)) < 0 && errno == EINTR) {
        continue;
    }
    if (r < 0) {
        hold_lock_done(h, -errno);
        sim_real_close(fd);
        goto out;
    }
    while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR) {
        continue;
    }
    if (r < 0) {
        hold_lock_done(h, -errno);
        sim_real_close(fd);
        goto out;
    }
    sim_log("updater", "locked path=%s ms=%" G_GUINT64_FORMAT, h->path,
            h->ms);
    hold_lock_done(h, 0);
    g_usleep(h->ms * 1000);
    sim_real_close(fd);        /* drops both locks */
    sim_log("updater", "unlocked path=%s", h->path);
out:
    g_mutex_lock(&h->lock);
    abandoned = h->abandoned;
    h->abandoned = true;
    g_mutex_unlock(&h->lock);
    if (abandoned) {
        g_free(h->path);
        g_mutex_clear(&h->lock);
        g_cond_clear(&h->cond);
        g_free(h);
    }
    return NULL;
}

int sim_fw_hold_lock(uint64_t ms)
{
    g_auto(GStrv) paths = blob_paths();
    const char *path = paths ? paths[0] : NULL;
    HoldLock *h;
    GThread *t;
    gint64 deadline;
    int result;
    bool free_it;

    if (!path || !*path) {
        return -ENOENT;
    }
    if (ms > SNP_SIM_HOLD_MAX_MS) {
        return -EINVAL;
    }
    h = g_new0(HoldLock, 1);
    g_mutex_init(&h->lock);
    g_cond_init(&h->cond);
    h->result = 1;
    h->ms = ms;
    h->path = g_strdup(path);
    t = g_thread_try_new("snp-sim-updater", hold_lock_thread, h, NULL);
    if (!t) {
        g_free(h->path);
        g_free(h);
        return -EAGAIN;
    }
    g_thread_unref(t);
    deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    g_mutex_lock(&h->lock);
    while (h->result == 1) {
        if (!g_cond_wait_until(&h->cond, &h->lock, deadline)) {
            break;
        }
    }
    result = h->result == 1 ? -ETIMEDOUT : h->result;
    /* Whoever of the two comes last frees it. */
    free_it = h->abandoned;
    h->abandoned = true;
    g_mutex_unlock(&h->lock);
    if (free_it) {
        g_free(h->path);
        g_mutex_clear(&h->lock);
        g_cond_clear(&h->cond);
        g_free(h);
    }
    return result;
}
