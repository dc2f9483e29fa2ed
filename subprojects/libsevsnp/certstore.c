/*
 * libsevsnp: the certificate store (one blob file, shared locks)
 *
 * Each reader (one per vCPU in the service) owns a file description of
 * the blob, opened once and kept: its OFD lock and its flock belong to
 * that description alone, so requests of different vCPUs never release
 * each other's locks.  A request takes the shared locks, checks the file
 * with one fstat() (size, times, link count: an in-place rewrite changes
 * the times, a rename over the path or an unlink drops the link count
 * and changes ctime), serves the cached table when the file provably did
 * not change, and re-reads, re-validates or re-opens when it did.  The
 * locks are dropped at completion and the description stays open.
 *
 * Fairness towards updaters (docs/system/i386/sev-snp-certs.rst):
 *  - readers lock [0, SEVSNP_LOCK_INTENT_OFFSET) and do not take new
 *    locks while anyone holds a write lock on the intent byte at
 *    SEVSNP_LOCK_INTENT_OFFSET, which this library's updaters take first;
 *  - under continuous load the readers of a store stop admitting new
 *    requests for a short gap once per FAIR_PERIOD_US of CLOCK_MONOTONIC,
 *    so that a third-party updater blocked in F_OFD_SETLKW or flock()
 *    gets in.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "libsevsnp.h"
#include "sevsnp-internal.h"

/*
 * A cached parse is reused on metadata alone only when the file's change
 * time is older than its last verification by more than this: file
 * systems stamp times from a coarse clock, so a rewrite within the same
 * tick can keep size, mtime and ctime (git's "racy" entries).  Inside the
 * window the bytes are compared instead, and a successful comparison
 * counts as a new verification.  The rule compares the file's ctime with
 * this machine's clock, so it holds only where this kernel stamps the
 * times (local_clock_fs()); on NFS, FUSE, CIFS and the like the server
 * stamps them with a clock of its own, and the bytes are compared on
 * every request.  (statx() has no change cookie for userspace: the
 * kernel keeps STATX_CHANGE_COOKIE internal.)
 */
#define RACY_WINDOW_NS (2 * G_GINT64_CONSTANT(1000000000))

/* How often a store re-checks the path and the intent byte (us). */
#define CHECK_PERIOD_US 1000

/* Longest sleep between two tries of a lock (us). */
#define READER_MAX_SLEEP_US 1000
#define WRITER_MAX_SLEEP_US 500

/*
 * The fairness gap: once per period of CLOCK_MONOTONIC in which the
 * store's readers entered at least FAIR_MIN_ENTRIES times (so never under
 * a real guest's load), new requests wait until the ones holding the
 * locks are done and then for FAIR_GRACE_US more.  A drain that does not
 * complete in FAIR_DRAIN_MAX_US (a request held for long) is given up,
 * and no gap is tried for FAIR_BACKOFF_PERIODS.
 */
#define FAIR_PERIOD_US 4000
#define FAIR_MIN_ENTRIES 32
#define FAIR_GRACE_US 300
#define FAIR_DRAIN_MAX_US 2000
#define FAIR_BACKOFF_PERIODS 16

struct SevsnpCertStore {
    gint refcount;
    char *path;
    size_t max_size;
    /*
     * The directory of @path, opened when the store is created (before a
     * VMM drops privileges or changes root), and the file's name in it:
     * every later look-up is relative to it.  -1: look @path up.
     */
    int dirfd;
    char *base;
    gint retired;               /* atomic: no longer in service */
    gint trust_ctime;           /* atomic: -1 auto, 0 never, 1 always */
    bool check_signatures;      /* the signature check: not in QEMU's copy */
    GMutex lock;                /* protects everything below */
    GArray *pool;               /* int: descriptions opened in advance */
    GCond cond;                 /* gate changes */
    SevsnpCertTable *cached;
    struct stat cached_st;
    int64_t cached_at_ns;       /* CLOCK_REALTIME of the last verification */
    uint64_t parse_count;
    uint64_t cache_hits;
    uint64_t byte_compares;     /* reads compared with the cached blob */
    /* The periodic check of path and intent byte. */
    gint64 next_check_us;       /* atomic */
    /* The fairness gate. */
    gint holders;               /* atomic: readers holding or taking locks */
    gint gate_closed;           /* atomic; written under lock */
    gint entries;               /* atomic: gate entries in entries_period */
    gint64 entries_period;      /* atomic */
    gint64 drained_period;
    gint64 no_drain_before;     /* a period */
    gint64 drain_started_us;
    gint64 reopen_at_us;        /* 0: still draining */
    uint64_t drains;
    uint64_t drain_gen;
};

struct SevsnpCertReader {
    SevsnpCertStore *store;
    int fd;                     /* -1: not open */
    dev_t dev;
    ino_t ino;
    mode_t type;                /* S_IFMT bits: see same_inode() */
    bool local_clock;           /* the file's times come from our clock */
    bool locked;
    bool fair;                  /* counted by the fairness gate */
    SevsnpCertTable *table;     /* the table read under the locks */
};

struct SevsnpCertLease {
    SevsnpCertReader *reader;
};

static int64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* ---- the two lock families --------------------------------------------- */

static int ofd_lock(int fd, short type, off_t start, off_t len)
{
    struct flock fl = {
        .l_type = type,
        .l_whence = SEEK_SET,
        .l_start = start,
        .l_len = len,
    };

    if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        return (errno == EACCES || errno == EAGAIN) ? -EAGAIN : -errno;
    }
    return 0;
}

/*
 * One attempt at both locks; 0, or a negative errno (-EAGAIN: held).
 * Readers lock the data range below the intent byte, updaters the whole
 * file.
 */
static int try_lock_both(int fd, bool exclusive)
{
    int r, err;

    r = ofd_lock(fd, exclusive ? F_WRLCK : F_RDLCK, 0,
                 exclusive ? 0 : SEVSNP_LOCK_INTENT_OFFSET);
    if (r < 0) {
        return r;
    }
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
        err = errno;
        /* An updater keeps its intent byte. */
        ofd_lock(fd, F_UNLCK, 0, SEVSNP_LOCK_INTENT_OFFSET);
        return err == EWOULDBLOCK ? -EAGAIN : -err;
    }
    return 0;
}

/* Drop both locks, keeping the description open. */
static void unlock_both(int fd)
{
    flock(fd, LOCK_UN);
    ofd_lock(fd, F_UNLCK, 0, 0);
}

/* Does anyone hold a write lock on the intent byte of @fd's file? */
static bool intent_held(int fd)
{
    struct flock fl = {
        .l_type = F_RDLCK,
        .l_whence = SEEK_SET,
        .l_start = SEVSNP_LOCK_INTENT_OFFSET,
        .l_len = 1,
    };

    return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

bool sevsnp_wait_interrupted(const SevsnpWaitCtl *ctl)
{
    return ctl && ctl->interrupted && ctl->interrupted(ctl->opaque,
                                                       ctl->vcpu);
}

/* Sleep @us, at most READER_MAX_SLEEP_US so interruptions are seen. */
static void nap(int64_t us)
{
    if (us > 0) {
        g_usleep(MIN(us, READER_MAX_SLEEP_US));
    }
}

static GError *busy_error(const char *path, const char *what,
                          unsigned timeout_ms)
{
    return g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                       "%s: the %s locks were not obtained within %u ms",
                       path, what, timeout_ms);
}

static GError *interrupted_error(const char *path)
{
    return g_error_new(SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                       "%s: the wait for the shared locks was interrupted",
                       path);
}

/*
 * The updater's side: take the intent byte (when the descriptor allows
 * a write lock) so readers stop taking new locks, then both exclusive
 * locks, retrying for @timeout_ms (G_MAXUINT: for ever).
 */
static gboolean lock_both(int fd, bool exclusive, unsigned timeout_ms,
                          GError **err)
{
    int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    int64_t max_sleep = exclusive ? WRITER_MAX_SLEEP_US : READER_MAX_SLEEP_US;
    int64_t sleep_us = 20;
    bool intent = false;
    int r;

    for (;;) {
        int64_t now;

        if (exclusive && !intent) {
            intent = ofd_lock(fd, F_WRLCK, SEVSNP_LOCK_INTENT_OFFSET, 1) == 0;
        }
        r = try_lock_both(fd, exclusive);
        if (r == 0) {
            return TRUE;
        }
        if (r != -EAGAIN) {
            break;
        }
        now = g_get_monotonic_time();
        if (timeout_ms != G_MAXUINT && now >= deadline) {
            break;
        }
        if (timeout_ms != G_MAXUINT) {
            sleep_us = MIN(sleep_us, deadline - now);
        }
        g_usleep(sleep_us);
        sleep_us = MIN(sleep_us * 2, max_sleep);
    }
    if (intent) {
        ofd_lock(fd, F_UNLCK, SEVSNP_LOCK_INTENT_OFFSET, 1);
    }
    if (r != -EAGAIN) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "cannot lock: %s",
                    g_strerror(-r));
        return FALSE;
    }
    g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                "the %s locks were not obtained within %u ms",
                exclusive ? "exclusive" : "shared", timeout_ms);
    return FALSE;
}

gboolean sevsnp_lock_exclusive(int fd, unsigned timeout_ms, GError **err)
{
    return lock_both(fd, true, timeout_ms, err);
}

gboolean sevsnp_lock_shared(int fd, unsigned timeout_ms, GError **err)
{
    return lock_both(fd, false, timeout_ms, err);
}

/* ---- files ------------------------------------------------------------- */

/* @st must be a regular file of at most @max_size bytes. */
static gboolean check_regular(const char *path, const struct stat *st,
                              size_t max_size, GError **err)
{
    if (!S_ISREG(st->st_mode)) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "%s: not a regular file", path);
        return FALSE;
    }
    if ((uint64_t)st->st_size > max_size) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_TOO_LARGE,
                    "%s: %" G_GINT64_FORMAT " bytes exceeds the size cap of "
                    "%zu bytes", path, (gint64)st->st_size, max_size);
        return FALSE;
    }
    return TRUE;
}

/*
 * The one read loop: exactly @size bytes of @fd from offset 0, failing
 * when the file turns out shorter or longer.
 */
static GBytes *read_exact(int fd, size_t size, const char *path,
                          GError **err)
{
    g_autofree uint8_t *buf = g_malloc(size ? size : 1);
    size_t done = 0;
    char extra;

    while (done < size) {
        ssize_t n = pread(fd, buf + done, size - done, done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "%s: read failed: %s", path, g_strerror(errno));
            return NULL;
        }
        if (n == 0) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "%s: file shrank while being read (%zu of %zu "
                        "bytes)", path, done, size);
            return NULL;
        }
        done += n;
    }
    if (pread(fd, &extra, 1, size) > 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "%s: file grew while being read", path);
        return NULL;
    }
    return g_bytes_new_take(g_steal_pointer(&buf), size);
}

/*
 * Do the bytes of @fd, from offset 0 to its end, equal @blob?  Compared
 * a page at a time, without allocating: the common answer, on every
 * request where times cannot be trusted, is yes.  An error or a file
 * that changes length under the read answers no (the full read that
 * follows reports it).
 */
static bool fd_equals(int fd, size_t size, GBytes *blob)
{
    gsize blen;
    const uint8_t *b = g_bytes_get_data(blob, &blen);
    uint8_t buf[4096];
    size_t off = 0;
    char extra;

    if (blen != size) {
        return false;
    }
    while (off < size) {
        ssize_t n = pread(fd, buf, MIN(sizeof(buf), size - off), off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || memcmp(buf, b + off, n)) {
            return false;
        }
        off += n;
    }
    return pread(fd, &extra, 1, size) == 0;
}

GBytes *sevsnp_file_read(const char *path, size_t max_size, GError **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    GBytes *b = NULL;

    if (fd < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: stat: %s", path,
                    g_strerror(errno));
    } else if (check_regular(path, &st, max_size ? max_size
                                                 : SEVSNP_DEFAULT_MAX_BLOB,
                             err)) {
        b = read_exact(fd, st.st_size, path, err);
    }
    close(fd);
    return b;
}

int sevsnp_open_locked(const char *path, bool create, bool exclusive,
                       unsigned timeout_ms, GError **err)
{
    int flags = (exclusive ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0);
    int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
    GError *lerr = NULL;
    struct stat st;

    if (fd < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", path,
                    g_strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (!lock_both(fd, exclusive, timeout_ms, &lerr)) {
        g_set_error(err, SEVSNP_ERROR, lerr->code, "%s: %s", path,
                    lerr->message);
        g_error_free(lerr);
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the store --------------------------------------------------------- */

SevsnpCertStore *sevsnp_cert_store_new(const char *path, size_t max_size)
{
    SevsnpCertStore *s = g_new0(SevsnpCertStore, 1);
    g_autofree char *dir = g_path_get_dirname(path);

    s->refcount = 1;
    s->path = g_strdup(path);
    s->max_size = max_size ? max_size : SEVSNP_DEFAULT_MAX_BLOB;
    s->drained_period = -1;
    s->trust_ctime = -1;
    s->check_signatures = true;     /* not in QEMU's copy */
    s->base = g_path_get_basename(path);
    /* Without it (a directory we cannot open), @path is looked up. */
    s->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    s->pool = g_array_new(FALSE, FALSE, sizeof(int));
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    return s;
}
/* not in QEMU's copy: begin */

#ifdef SEVSNP_HAVE_X509
void sevsnp_cert_store_set_check_signatures(SevsnpCertStore *store,
                                            gboolean check)
{
    store->check_signatures = check;
}
#endif
/* not in QEMU's copy: end */

SevsnpCertStore *sevsnp_cert_store_ref(SevsnpCertStore *store)
{
    g_atomic_int_inc(&store->refcount);
    return store;
}

void sevsnp_cert_store_free(SevsnpCertStore *store)
{
    if (!store || !g_atomic_int_dec_and_test(&store->refcount)) {
        return;
    }
    sevsnp_cert_table_unref(store->cached);
    for (guint i = 0; i < store->pool->len; i++) {
        close(g_array_index(store->pool, int, i));
    }
    g_array_free(store->pool, TRUE);
    if (store->dirfd >= 0) {
        close(store->dirfd);
    }
    g_cond_clear(&store->cond);
    g_mutex_clear(&store->lock);
    g_free(store->base);
    g_free(store->path);
    g_free(store);
}

void sevsnp_cert_store_retire(SevsnpCertStore *store)
{
    g_atomic_int_set(&store->retired, 1);
    g_cond_broadcast(&store->cond);
}

bool sevsnp_cert_store_is_retired(SevsnpCertStore *store)
{
    return g_atomic_int_get(&store->retired);
}

void sevsnp_cert_store_trust_ctime(SevsnpCertStore *store, int trust)
{
    g_atomic_int_set(&store->trust_ctime, trust);
}

/* stat() of the path, relative to the directory opened at creation. */
static int store_stat(SevsnpCertStore *s, struct stat *st)
{
    return s->dirfd >= 0 ? fstatat(s->dirfd, s->base, st, 0)
                         : stat(s->path, st);
}

static int store_open_path(SevsnpCertStore *s)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

    return s->dirfd >= 0 ? openat(s->dirfd, s->base, flags)
                         : open(s->path, flags);
}

/*
 * A new description of the file the path names now: one opened in
 * advance when it is still that file, else opened now.  -1 with errno.
 */
/*
 * Is @b the file (@dev, @ino, of type @mode)?  The type too: a file
 * system that does not keep a special file open for its client (9p, for
 * a FIFO or a directory) can give the regular file created after it
 * its inode number.
 */
static bool same_inode(dev_t dev, ino_t ino, mode_t mode,
                       const struct stat *b)
{
    return dev == b->st_dev && ino == b->st_ino &&
           (mode & S_IFMT) == (b->st_mode & S_IFMT);
}

static int store_open(SevsnpCertStore *s)
{
    struct stat now, st;
    bool have_now = false;

    for (;;) {
        int fd = -1;

        g_mutex_lock(&s->lock);
        if (s->pool->len) {
            fd = g_array_index(s->pool, int, s->pool->len - 1);
            g_array_set_size(s->pool, s->pool->len - 1);
        }
        g_mutex_unlock(&s->lock);
        if (fd < 0) {
            return store_open_path(s);
        }
        if (!have_now) {
            if (store_stat(s, &now) < 0) {
                int e = errno;

                close(fd);
                errno = e;
                return -1;
            }
            have_now = true;
        }
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            same_inode(st.st_dev, st.st_ino, st.st_mode, &now)) {
            return fd;
        }
        /* Opened before the file was replaced: of no use any more. */
        close(fd);
    }
}

gboolean sevsnp_cert_store_preopen(SevsnpCertStore *store, guint n,
                                   GError **err)
{
    g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
    struct stat st;

    if (store->dirfd < 0) {
        g_autofree char *dir = g_path_get_dirname(store->path);

        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    for (guint i = 0; i < n; i++) {
        int fd = store_open_path(store);

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s",
                        store->path, fd < 0 ? g_strerror(errno)
                                            : "not a regular file");
            if (fd >= 0) {
                close(fd);
            }
            for (guint j = 0; j < fds->len; j++) {
                close(g_array_index(fds, int, j));
            }
            return FALSE;
        }
        g_array_append_val(fds, fd);
    }
    g_mutex_lock(&store->lock);
    g_array_append_vals(store->pool, fds->data, fds->len);
    g_mutex_unlock(&store->lock);
    return TRUE;
}

guint sevsnp_cert_store_preopened(SevsnpCertStore *store)
{
    guint n;

    g_mutex_lock(&store->lock);
    n = store->pool->len;
    g_mutex_unlock(&store->lock);
    return n;
}

/*
 * Does this kernel stamp the times of @fd's file with its own clock?
 * Local file systems do; network and FUSE file systems carry the
 * server's times.  An allow-list: anything not known is not trusted.
 * (An overlay file system's writable layer is local: a file written
 * through it is copied up there and stamped by this kernel.)
 */
static bool local_clock_fs(int fd)
{
    static const long local[] = {
        EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC, BTRFS_SUPER_MAGIC,
        TMPFS_MAGIC, RAMFS_MAGIC, F2FS_SUPER_MAGIC, OVERLAYFS_SUPER_MAGIC,
    };
    struct statfs fs;

    if (fstatfs(fd, &fs) < 0) {
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(local); i++) {
        if (fs.f_type == local[i]) {
            return true;
        }
    }
    return false;
}

const char *sevsnp_cert_store_get_path(const SevsnpCertStore *store)
{
    return store->path;
}

static uint64_t locked_read(const SevsnpCertStore *store, const uint64_t *v)
{
    SevsnpCertStore *s = (SevsnpCertStore *)store;
    uint64_t r;

    g_mutex_lock(&s->lock);
    r = *v;
    g_mutex_unlock(&s->lock);
    return r;
}

uint64_t sevsnp_cert_store_parse_count(const SevsnpCertStore *store)
{
    return locked_read(store, &store->parse_count);
}

uint64_t sevsnp_cert_store_cache_hits(const SevsnpCertStore *store)
{
    return locked_read(store, &store->cache_hits);
}

uint64_t sevsnp_cert_store_byte_compares(const SevsnpCertStore *store)
{
    return locked_read(store, &store->byte_compares);
}

uint64_t sevsnp_cert_store_fair_drains(const SevsnpCertStore *store)
{
    return locked_read(store, &store->drains);
}

SevsnpCertTable *sevsnp_cert_store_last_table(SevsnpCertStore *store)
{
    SevsnpCertTable *t;

    g_mutex_lock(&store->lock);
    t = store->cached ? sevsnp_cert_table_ref(store->cached) : NULL;
    g_mutex_unlock(&store->lock);
    return t;
}

/*
 * The blobs validated last by any store of the process, most recent
 * first (see validate()).  Validation is a pure function of the bytes
 * (and the size cap), and the same bytes come back: a file put back in
 * service, an updater reverting, several stores of one file.  Compared
 * byte for byte, so a hit is never a different blob.
 */
#define VALIDATED_CACHE 4
static GMutex validated_lock;
static SevsnpCertTable *validated[VALIDATED_CACHE];

static SevsnpCertTable *validated_lookup(GBytes *blob, size_t max_size)
{
    SevsnpCertTable *t = NULL;

    if (g_bytes_get_size(blob) > max_size) {
        return NULL;
    }
    g_mutex_lock(&validated_lock);
    for (int i = 0; i < VALIDATED_CACHE && validated[i] && !t; i++) {
        if (g_bytes_equal(blob, sevsnp_cert_table_get_blob(validated[i]))) {
            t = sevsnp_cert_table_ref(validated[i]);
        }
    }
    g_mutex_unlock(&validated_lock);
    return t;
}

static void validated_remember(SevsnpCertTable *t)
{
    SevsnpCertTable *old;

    g_mutex_lock(&validated_lock);
    old = validated[VALIDATED_CACHE - 1];
    memmove(validated + 1, validated,
            (VALIDATED_CACHE - 1) * sizeof(validated[0]));
    validated[0] = sevsnp_cert_table_ref(t);
    g_mutex_unlock(&validated_lock);
    sevsnp_cert_table_unref(old);
}

/*
 * Validate new bytes: the table's structure (sevsnp_cert_table_parse()),
 * and remember them.  What the entries hold is served as the operator
 * installed it: the operator's host tool judges the chain.
 * not in QEMU's copy: begin
 * In the standalone library the entries' contents are checked by the
 * parse too, and every signature of the chain that can be checked
 * (sevsnp_cert_table_check_signatures()): only a table whose signatures
 * verify is remembered, and a store @s that checks them
 * (sevsnp_cert_store_set_check_signatures()) refuses one that does not.
 * not in QEMU's copy: end
 */
static SevsnpCertTable *validate(SevsnpCertStore *s, GBytes *blob,
                                 size_t max_size, GError **err)
{
    SevsnpCertTable *t = sevsnp_cert_table_parse(blob, max_size, err);

    if (!t) {
        return NULL;
    }
    /* not in QEMU's copy: begin */
#ifdef SEVSNP_HAVE_X509
    {
        /*
         * Well-formed and still not what its signers signed (bytes
         * changed in place inside a key or a signature): a VCEK that is
         * not the one its ASK certified would not match the report.
         */
        g_autofree char *why = NULL;

        if (!sevsnp_cert_table_check_signatures(t, &why)) {
            if (s && s->check_signatures) {
                g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BAD_SIGNATURE,
                            "a signature of its chain does not verify: %s",
                            why);
                sevsnp_cert_table_unref(t);
                return NULL;
            }
            return t;
        }
    }
#endif
    /* not in QEMU's copy: end */
    validated_remember(t);
    return t;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_nlink == b->st_nlink &&
           ts_ns(&a->st_mtim) == ts_ns(&b->st_mtim) &&
           ts_ns(&a->st_ctim) == ts_ns(&b->st_ctim);
}

/*
 * With the locks held on @fd, whose metadata is @st: the table in the
 * file, from the cache or read and validated now.
 */
static SevsnpCertTable *table_for_fd(SevsnpCertStore *s, int fd,
                                     const struct stat *st, bool local_clock,
                                     GError **err)
{
    g_autoptr(GBytes) blob = NULL;
    SevsnpCertTable *t;
    GError *perr = NULL;
    int64_t verified_at;

    if (!check_regular(s->path, st, s->max_size, err)) {
        return NULL;
    }

    g_mutex_lock(&s->lock);
    if (local_clock && s->cached && same_file(st, &s->cached_st) &&
        ts_ns(&st->st_ctim) < s->cached_at_ns - RACY_WINDOW_NS) {
        t = sevsnp_cert_table_ref(s->cached);
        s->cache_hits++;
        g_mutex_unlock(&s->lock);
        return t;
    }
    t = s->cached && same_file(st, &s->cached_st) ?
        sevsnp_cert_table_ref(s->cached) : NULL;
    g_mutex_unlock(&s->lock);

    /* Taken before the read: the bytes read are at least this recent. */
    verified_at = realtime_ns();
    if (t) {
        /* The same file by its metadata: compare the bytes. */
        bool equal = fd_equals(fd, st->st_size,
                               sevsnp_cert_table_get_blob(t));

        g_mutex_lock(&s->lock);
        s->byte_compares++;
        if (equal) {
            s->cache_hits++;
            if (s->cached == t) {
                s->cached_at_ns = MAX(s->cached_at_ns, verified_at);
            }
            g_mutex_unlock(&s->lock);
            return t;
        }
        g_mutex_unlock(&s->lock);
        sevsnp_cert_table_unref(t);
    } else {
        g_mutex_lock(&s->lock);
        s->byte_compares++;
        g_mutex_unlock(&s->lock);
    }
    blob = read_exact(fd, st->st_size, s->path, err);
    if (!blob) {
        return NULL;
    }

    t = validated_lookup(blob, s->max_size);
    if (!t) {
        /* Once per new content of the file. */
        t = validate(s, blob, s->max_size, &perr);
        if (!t) {
            g_set_error(err, SEVSNP_ERROR, perr->code, "%s: %s", s->path,
                        perr->message);
            g_error_free(perr);
            return NULL;
        }
    }

    g_mutex_lock(&s->lock);
    s->parse_count++;
    sevsnp_cert_table_unref(s->cached);
    s->cached = sevsnp_cert_table_ref(t);
    s->cached_st = *st;
    s->cached_at_ns = verified_at;
    g_mutex_unlock(&s->lock);
    return t;
}

/* ---- the fairness gate -------------------------------------------------- */

/* Under s->lock, the gate closed: is the drain over? */
static bool gate_try_reopen(SevsnpCertStore *s, gint64 now)
{
    if (!s->reopen_at_us && g_atomic_int_get(&s->holders) == 0) {
        s->reopen_at_us = now + FAIR_GRACE_US;
    }
    if (s->reopen_at_us ? now < s->reopen_at_us
                        : now - s->drain_started_us < FAIR_DRAIN_MAX_US) {
        return false;
    }
    if (!s->reopen_at_us) {
        /* A request holding on for long: no gap possible for a while. */
        s->no_drain_before = s->drained_period + FAIR_BACKOFF_PERIODS;
    }
    g_atomic_int_set(&s->gate_closed, 0);
    g_cond_broadcast(&s->cond);
    return true;
}

/*
 * Admit a reader that is about to take the locks (@now: the monotonic
 * time).  Returns FALSE when @deadline_us passed or @ctl says to stop
 * while the gate was closed.
 */
static bool gate_enter(SevsnpCertStore *s, gint64 now, gint64 deadline_us,
                       const SevsnpWaitCtl *ctl)
{
    gint64 period = now / FAIR_PERIOD_US;
    uint64_t gen;

    if (__atomic_load_n(&s->entries_period, __ATOMIC_RELAXED) != period) {
        __atomic_store_n(&s->entries_period, period, __ATOMIC_RELAXED);
        g_atomic_int_set(&s->entries, 0);
    }
    if (g_atomic_int_add(&s->entries, 1) + 1 != FAIR_MIN_ENTRIES &&
        !g_atomic_int_get(&s->gate_closed)) {
        g_atomic_int_inc(&s->holders);
        return true;
    }

    g_mutex_lock(&s->lock);
    if (!s->gate_closed && s->drained_period != period &&
        period >= s->no_drain_before) {
        /* Busy: make this period's gap. */
        s->drained_period = period;
        s->drain_started_us = now;
        s->reopen_at_us = 0;
        s->drains++;
        s->drain_gen++;
        g_atomic_int_set(&s->gate_closed, 1);
    }
    /*
     * Wait for this drain only: a waiter that is scheduled late (more
     * threads than CPUs) must not find itself behind the next one.
     */
    gen = s->drain_gen;
    while (s->gate_closed && s->drain_gen == gen &&
           !gate_try_reopen(s, now)) {
        gint64 until;

        if (now >= deadline_us || sevsnp_wait_interrupted(ctl) ||
            g_atomic_int_get(&s->retired)) {
            g_mutex_unlock(&s->lock);
            return false;
        }
        until = s->reopen_at_us ? s->reopen_at_us
                                : s->drain_started_us + FAIR_DRAIN_MAX_US;
        until = MIN(MIN(until, deadline_us), now + READER_MAX_SLEEP_US);
        g_cond_wait_until(&s->cond, &s->lock, until);
        now = g_get_monotonic_time();
    }
    g_atomic_int_inc(&s->holders);
    g_mutex_unlock(&s->lock);
    return true;
}

static void gate_leave(SevsnpCertStore *s)
{
    if (g_atomic_int_dec_and_test(&s->holders) &&
        g_atomic_int_get(&s->gate_closed)) {
        g_mutex_lock(&s->lock);
        if (s->gate_closed && !s->reopen_at_us &&
            g_atomic_int_get(&s->holders) == 0) {
            s->reopen_at_us = g_get_monotonic_time() + FAIR_GRACE_US;
            g_cond_broadcast(&s->cond);
        }
        g_mutex_unlock(&s->lock);
    }
}

/* ---- readers ------------------------------------------------------------ */

SevsnpCertReader *sevsnp_cert_reader_new(SevsnpCertStore *store)
{
    SevsnpCertReader *r = g_new0(SevsnpCertReader, 1);

    r->store = sevsnp_cert_store_ref(store);
    r->fd = -1;
    return r;
}

SevsnpCertStore *sevsnp_cert_reader_get_store(const SevsnpCertReader *r)
{
    return r->store;
}

static void reader_close(SevsnpCertReader *r)
{
    if (r->fd >= 0) {
        close(r->fd);       /* drops any lock of the description */
        r->fd = -1;
    }
}

void sevsnp_cert_reader_unlock(SevsnpCertReader *r)
{
    if (!r || !r->locked) {
        return;
    }
    unlock_both(r->fd);
    r->locked = false;
    sevsnp_cert_table_unref(r->table);
    r->table = NULL;
    if (r->fair) {
        gate_leave(r->store);
    }
}

void sevsnp_cert_reader_free(SevsnpCertReader *r)
{
    if (!r) {
        return;
    }
    sevsnp_cert_reader_unlock(r);
    reader_close(r);
    sevsnp_cert_store_free(r->store);
    g_free(r);
}

static bool reader_open(SevsnpCertReader *r, GError **err)
{
    SevsnpCertStore *s = r->store;
    struct stat st;
    int trust;

    r->fd = store_open(s);
    if (r->fd < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s",
                    r->store->path, g_strerror(errno));
        return false;
    }
    if (fstat(r->fd, &st) < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: stat: %s",
                    r->store->path, g_strerror(errno));
        reader_close(r);
        return false;
    }
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    r->type = st.st_mode & S_IFMT;
    trust = g_atomic_int_get(&s->trust_ctime);
    r->local_clock = trust < 0 ? local_clock_fs(r->fd) : trust;
    return true;
}

/*
 * Is the path still the file of our description?  -1 with @err set when
 * the path cannot be looked up (a missing file is an error, not a stale
 * cache).
 */
static int path_is_ours(SevsnpCertReader *r, GError **err)
{
    struct stat st;

    if (store_stat(r->store, &st) < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s",
                    r->store->path, g_strerror(errno));
        return -1;
    }
    return same_inode(r->dev, r->ino, r->type, &st);
}

/*
 * Every CHECK_PERIOD_US (per store), and on every retry after a failed
 * try, a reader looks at the path and the intent byte before it takes the
 * locks.  Returns 1 to go ahead, 0 when an updater announced itself (back
 * off), -1 on error.
 */
static int periodic_check(SevsnpCertReader *r, gint64 now, bool force,
                          GError **err)
{
    SevsnpCertStore *s = r->store;
    int ours;

    if (!force && now < __atomic_load_n(&s->next_check_us, __ATOMIC_RELAXED)) {
        return 1;
    }
    ours = path_is_ours(r, err);
    if (ours < 0) {
        return -1;
    }
    if (!ours) {
        reader_close(r);
        if (!reader_open(r, err)) {
            return -1;
        }
    }
    if (intent_held(r->fd)) {
        return 0;
    }
    __atomic_store_n(&s->next_check_us, now + CHECK_PERIOD_US,
                     __ATOMIC_RELAXED);
    return 1;
}

/*
 * With the shared locks just taken: check the file and get its table.
 * Returns the table, or NULL with *@retry set when the path now names
 * another file (the reader re-opens and tries again), or NULL with @err.
 */
static SevsnpCertTable *locked_table(SevsnpCertReader *r, bool *retry,
                                     GError **err)
{
    SevsnpCertStore *s = r->store;
    struct stat st;
    bool known;
    int ours;

    *retry = false;
    if (fstat(r->fd, &st) < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: stat: %s",
                    s->path, g_strerror(errno));
        return NULL;
    }
    g_mutex_lock(&s->lock);
    known = s->cached && same_file(&st, &s->cached_st);
    if (known && r->local_clock &&
        ts_ns(&st.st_ctim) < s->cached_at_ns - RACY_WINDOW_NS) {
        /* The common case: unchanged and verified long enough ago. */
        SevsnpCertTable *t = sevsnp_cert_table_ref(s->cached);

        s->cache_hits++;
        g_mutex_unlock(&s->lock);
        return t;
    }
    g_mutex_unlock(&s->lock);
    if (!known || st.st_nlink == 0) {
        /*
         * Changed since the cached parse: a rename over the path or an
         * unlink shows here too (link count, ctime).  Is the path still
         * this file?
         */
        ours = path_is_ours(r, err);
        if (ours <= 0) {
            *retry = ours == 0;
            return NULL;
        }
    }
    return table_for_fd(s, r->fd, &st, r->local_clock, err);
}

SevsnpCertTable *sevsnp_cert_reader_lock(SevsnpCertReader *r,
                                         unsigned timeout_ms, bool fair,
                                         const SevsnpWaitCtl *ctl,
                                         GError **err)
{
    SevsnpCertStore *s = r->store;
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gint64 sleep_us = 20;
    bool force = false;

    g_assert(!r->locked);
    for (;;) {
        SevsnpCertTable *t;
        GError *lerr = NULL;
        bool retry = false;
        gint64 now;
        int c, lr;

        if (sevsnp_wait_interrupted(ctl)) {
            g_propagate_error(err, interrupted_error(s->path));
            return NULL;
        }
        if (g_atomic_int_get(&s->retired)) {
            /* The VMM put another file in service: the caller restarts. */
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_BUSY,
                        "%s: no longer in service", s->path);
            return NULL;
        }
        if (r->fd < 0 && !reader_open(r, err)) {
            return NULL;
        }
        now = g_get_monotonic_time();
        /*
         * A fairness gap is the store's own pause, not an updater: it is
         * always waited out (it lasts at most FAIR_DRAIN_MAX_US plus the
         * grace), whatever this request's lock timeout, so that no guest
         * is told BUSY, or given an empty table at the busy limit, when
         * nobody holds the lock.
         */
        if (fair && !gate_enter(s, now,
                                MAX(deadline, now + FAIR_DRAIN_MAX_US +
                                    FAIR_GRACE_US),
                                ctl)) {
            g_propagate_error(err, sevsnp_wait_interrupted(ctl)
                              ? interrupted_error(s->path)
                              : busy_error(s->path, "shared", timeout_ms));
            return NULL;
        }
        c = periodic_check(r, now, force, err);
        if (c < 0) {
            goto fail;
        }
        if (c > 0) {
            lr = try_lock_both(r->fd, false);
            if (lr == 0) {
                t = locked_table(r, &retry, &lerr);
                if (t) {
                    r->locked = true;
                    r->table = t;
                    r->fair = fair;
                    return t;
                }
                unlock_both(r->fd);
                if (!retry) {
                    g_propagate_error(err, lerr);
                    goto fail;
                }
                reader_close(r);
            } else if (lr != -EAGAIN) {
                g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                            "%s: cannot lock: %s", s->path, g_strerror(-lr));
                goto fail;
            }
        }
        if (fair) {
            gate_leave(s);
        }
        if (retry) {
            continue;
        }
        force = true;
        now = g_get_monotonic_time();
        if (now >= deadline) {
            g_propagate_error(err, busy_error(s->path, "shared", timeout_ms));
            return NULL;
        }
        nap(MIN(sleep_us, deadline - now));
        sleep_us = MIN(sleep_us * 2, READER_MAX_SLEEP_US);
        continue;
fail:
        if (fair) {
            gate_leave(s);
        }
        return NULL;
    }
}

/* ---- leases: a reader of their own ------------------------------------ */

SevsnpCertLease *sevsnp_cert_store_acquire(SevsnpCertStore *store,
                                           unsigned timeout_ms, GError **err)
{
    SevsnpCertReader *r = sevsnp_cert_reader_new(store);
    SevsnpCertLease *lease;

    if (!sevsnp_cert_reader_lock(r, timeout_ms, false, NULL, err)) {
        sevsnp_cert_reader_free(r);
        return NULL;
    }
    lease = g_new0(SevsnpCertLease, 1);
    lease->reader = r;
    return lease;
}

SevsnpCertTable *sevsnp_cert_lease_get_table(const SevsnpCertLease *lease)
{
    return lease->reader->table;
}

void sevsnp_cert_lease_release(SevsnpCertLease *lease)
{
    if (!lease) {
        return;
    }
    /* Closing the only descriptor of the description drops both locks. */
    sevsnp_cert_reader_free(lease->reader);
    g_free(lease);
}

SevsnpCertTable *sevsnp_cert_store_load(SevsnpCertStore *store,
                                        unsigned timeout_ms, GError **err)
{
    SevsnpCertLease *lease = sevsnp_cert_store_acquire(store, timeout_ms, err);
    SevsnpCertTable *t;

    if (!lease) {
        return NULL;
    }
    t = sevsnp_cert_table_ref(sevsnp_cert_lease_get_table(lease));
    sevsnp_cert_lease_release(lease);
    return t;
}

/* ---- the updater ------------------------------------------------------- */

static int write_all_at(int fd, const uint8_t *p, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, p + done, len - done, done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO;
        }
        done += n;
    }
    return 0;
}

gboolean sevsnp_cert_file_install(const char *path, GBytes *blob,
                                  unsigned timeout_ms, int64_t *waited_us,
                                  GError **err)
{
    gsize len;
    const uint8_t *data = g_bytes_get_data(blob, &len);
    SevsnpCertTable *t = validated_lookup(blob, SEVSNP_DEFAULT_MAX_BLOB);
    int64_t t0;
    int fd, r;

    if (!t) {
        t = validate(NULL, blob, 0, err);
        if (!t) {
            return FALSE;
        }
    }
    sevsnp_cert_table_unref(t);
    t0 = g_get_monotonic_time();
    fd = sevsnp_open_locked(path, true, true, timeout_ms, err);
    if (fd < 0) {
        return FALSE;
    }
    if (waited_us) {
        *waited_us = g_get_monotonic_time() - t0;
    }
    /* A full disk fails here, before the first byte of the file changes. */
    r = -posix_fallocate(fd, 0, MAX(len, 1));
    if (!r) {
        r = write_all_at(fd, data, len);
    }
    if (!r && ftruncate(fd, len) < 0) {
        r = -errno;
    }
    if (!r && fsync(fd) < 0) {
        r = -errno;
    }
    close(fd);              /* drops both locks and the intent byte */
    if (r) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", path,
                    g_strerror(-r));
        return FALSE;
    }
    return TRUE;
}
