/*
 * libsevsnp: the certificate store (one blob file, shared locks)
 *
 * Every request opens the file anew, so its OFD lock and its flock belong
 * to a file description of its own: concurrent requests never release each
 * other's locks, and closing the description drops both.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libsevsnp.h"
#include "sevsnp-internal.h"

/*
 * A cached parse is reused on metadata alone only when the file's change
 * time is older than the parse by more than this: file systems stamp
 * times from a coarse clock, so a rewrite within the same tick can keep
 * size, mtime and ctime (git's "racy" entries).  Inside the window the
 * bytes are compared instead.
 */
#define RACY_WINDOW_NS (2 * G_GINT64_CONSTANT(1000000000))

struct SevSnpCertStore {
    gint refcount;
    char *path;
    size_t max_size;
    GMutex lock;
    SevSnpCertTable *cached;
    struct stat cached_st;
    int64_t cached_at_ns;
    uint64_t parse_count;
    uint64_t cache_hits;
};

struct SevSnpCertLease {
    int fd;
    SevSnpCertTable *table;
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

/* One attempt at both locks; 0, or a negative errno (-EAGAIN: held). */
static int try_lock_both(int fd, bool exclusive)
{
    struct flock fl = {
        .l_type = exclusive ? F_WRLCK : F_RDLCK,
        .l_whence = SEEK_SET,
    };
    int err;

    if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        err = errno;
        return (err == EACCES || err == EAGAIN) ? -EAGAIN : -err;
    }
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
        err = errno;
        fl.l_type = F_UNLCK;
        fcntl(fd, F_OFD_SETLK, &fl);
        return err == EWOULDBLOCK ? -EAGAIN : -err;
    }
    return 0;
}

static gboolean lock_both(int fd, bool exclusive, unsigned timeout_ms,
                          GError **err)
{
    int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    unsigned sleep_us = 50;
    int r;

    for (;;) {
        int64_t now;

        r = try_lock_both(fd, exclusive);
        if (r == 0) {
            return TRUE;
        }
        if (r != -EAGAIN) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                        "cannot lock: %s", g_strerror(-r));
            return FALSE;
        }
        now = g_get_monotonic_time();
        if (timeout_ms != G_MAXUINT && now >= deadline) {
            break;
        }
        if (timeout_ms != G_MAXUINT) {
            sleep_us = MIN(sleep_us, (unsigned)(deadline - now));
        }
        g_usleep(sleep_us);
        sleep_us = MIN(sleep_us * 2, 5000);
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

SevSnpCertStore *sevsnp_cert_store_new(const char *path, size_t max_size)
{
    SevSnpCertStore *s = g_new0(SevSnpCertStore, 1);

    s->refcount = 1;
    s->path = g_strdup(path);
    s->max_size = max_size ? max_size : SEVSNP_DEFAULT_MAX_BLOB;
    g_mutex_init(&s->lock);
    return s;
}

SevSnpCertStore *sevsnp_cert_store_ref(SevSnpCertStore *store)
{
    g_atomic_int_inc(&store->refcount);
    return store;
}

void sevsnp_cert_store_free(SevSnpCertStore *store)
{
    if (!store || !g_atomic_int_dec_and_test(&store->refcount)) {
        return;
    }
    sevsnp_cert_table_unref(store->cached);
    g_mutex_clear(&store->lock);
    g_free(store->path);
    g_free(store);
}

const char *sevsnp_cert_store_get_path(const SevSnpCertStore *store)
{
    return store->path;
}

uint64_t sevsnp_cert_store_parse_count(const SevSnpCertStore *store)
{
    SevSnpCertStore *s = (SevSnpCertStore *)store;
    uint64_t v;

    g_mutex_lock(&s->lock);
    v = s->parse_count;
    g_mutex_unlock(&s->lock);
    return v;
}

uint64_t sevsnp_cert_store_cache_hits(const SevSnpCertStore *store)
{
    SevSnpCertStore *s = (SevSnpCertStore *)store;
    uint64_t v;

    g_mutex_lock(&s->lock);
    v = s->cache_hits;
    g_mutex_unlock(&s->lock);
    return v;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size &&
           ts_ns(&a->st_mtim) == ts_ns(&b->st_mtim) &&
           ts_ns(&a->st_ctim) == ts_ns(&b->st_ctim);
}

/* Read exactly st->st_size bytes of @fd. */
static GBytes *read_all(int fd, const struct stat *st, const char *path,
                        GError **err)
{
    size_t size = st->st_size;
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

/* With the locks held on @fd: the table in the file, from cache or not. */
static SevSnpCertTable *table_for_fd(SevSnpCertStore *s, int fd,
                                     GError **err)
{
    struct stat st;
    g_autoptr(GBytes) blob = NULL;
    SevSnpCertTable *t;
    GError *perr = NULL;

    if (fstat(fd, &st) < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: stat: %s",
                    s->path, g_strerror(errno));
        return NULL;
    }
    if (!check_regular(s->path, &st, s->max_size, err)) {
        return NULL;
    }

    g_mutex_lock(&s->lock);
    if (s->cached && same_file(&st, &s->cached_st)) {
        bool racy = ts_ns(&st.st_ctim) >= s->cached_at_ns - RACY_WINDOW_NS;

        if (!racy) {
            t = sevsnp_cert_table_ref(s->cached);
            s->cache_hits++;
            g_mutex_unlock(&s->lock);
            return t;
        }
    }
    g_mutex_unlock(&s->lock);

    blob = read_all(fd, &st, s->path, err);
    if (!blob) {
        return NULL;
    }

    g_mutex_lock(&s->lock);
    if (s->cached && same_file(&st, &s->cached_st) &&
        g_bytes_equal(blob, sevsnp_cert_table_get_blob(s->cached))) {
        t = sevsnp_cert_table_ref(s->cached);
        s->cache_hits++;
        g_mutex_unlock(&s->lock);
        return t;
    }
    g_mutex_unlock(&s->lock);

    t = sevsnp_cert_table_parse(blob, s->max_size, &perr);
    if (!t) {
        g_set_error(err, SEVSNP_ERROR, perr->code, "%s: %s", s->path,
                    perr->message);
        g_error_free(perr);
        return NULL;
    }

    g_mutex_lock(&s->lock);
    s->parse_count++;
    sevsnp_cert_table_unref(s->cached);
    s->cached = sevsnp_cert_table_ref(t);
    s->cached_st = st;
    s->cached_at_ns = realtime_ns();
    g_mutex_unlock(&s->lock);
    return t;
}

SevSnpCertLease *sevsnp_cert_store_acquire(SevSnpCertStore *store,
                                           unsigned timeout_ms, GError **err)
{
    SevSnpCertLease *lease;
    SevSnpCertTable *t;
    int fd = sevsnp_open_locked(store->path, false, false, timeout_ms, err);

    if (fd < 0) {
        return NULL;
    }
    t = table_for_fd(store, fd, err);
    if (!t) {
        close(fd);
        return NULL;
    }
    lease = g_new0(SevSnpCertLease, 1);
    lease->fd = fd;
    lease->table = t;
    return lease;
}

SevSnpCertTable *sevsnp_cert_lease_get_table(const SevSnpCertLease *lease)
{
    return lease->table;
}

void sevsnp_cert_lease_release(SevSnpCertLease *lease)
{
    if (!lease) {
        return;
    }
    /* Closing the only descriptor of the description drops both locks. */
    close(lease->fd);
    sevsnp_cert_table_unref(lease->table);
    g_free(lease);
}

SevSnpCertTable *sevsnp_cert_store_load(SevSnpCertStore *store,
                                        unsigned timeout_ms, GError **err)
{
    SevSnpCertLease *lease = sevsnp_cert_store_acquire(store, timeout_ms, err);
    SevSnpCertTable *t;

    if (!lease) {
        return NULL;
    }
    t = sevsnp_cert_table_ref(lease->table);
    sevsnp_cert_lease_release(lease);
    return t;
}

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
    SevSnpCertTable *t = sevsnp_cert_table_parse(blob, 0, err);
    int64_t t0;
    int fd, r;

    if (!t) {
        return FALSE;
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
    close(fd);              /* drops both locks */
    if (r) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", path,
                    g_strerror(-r));
        return FALSE;
    }
    return TRUE;
}

GBytes *sevsnp_file_read(const char *path, size_t max_size, GError **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    uint8_t *buf;
    struct stat st;
    size_t done = 0;

    if (!max_size) {
        max_size = SEVSNP_DEFAULT_MAX_BLOB;
    }
    if (fd < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: stat: %s", path,
                    g_strerror(errno));
        close(fd);
        return NULL;
    }
    if (!check_regular(path, &st, max_size, err)) {
        close(fd);
        return NULL;
    }
    buf = g_malloc(MAX(st.st_size, 1));
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, st.st_size - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", path,
                        n < 0 ? g_strerror(errno) : "file shrank while read");
            g_free(buf);
            close(fd);
            return NULL;
        }
        done += n;
    }
    close(fd);
    return g_bytes_new_take(buf, done);
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
