/*
 * memfs: an in-memory file system for the service fuzzer
 *
 * The certificate service's work is file system calls: open the blob,
 * take an OFD lock and a flock, fstat, pread, unlock; an updater's
 * rewrite; an operator's rename, unlink, mkfifo.  On this kind of
 * machine a system call costs microseconds, and they were most of each
 * execution of fuzz-service.  The fuzz binary is linked with
 * -Wl,--wrap for those calls, and every path under MEMFS_ROOT (and every
 * descriptor memfs gave out) is served here, in memory; anything else
 * goes to the real call.
 *
 * What it models, as Linux does: one flat directory of regular files,
 * FIFOs and (empty) directories; inodes that outlive their names while a
 * description refers to them; open file descriptions (never shared:
 * memfs has no dup); OFD byte-range locks (read/write, owned by the
 * description, conflicting between descriptions, released at close) and
 * flock locks (shared/exclusive per description); st_ino, st_nlink,
 * size, and mtime/ctime stamped from CLOCK_REALTIME at each change;
 * fstatfs() says tmpfs.  A call that would block (a FIFO opened without
 * O_NONBLOCK, flock() without LOCK_NB on a held lock) aborts: the
 * service must never block, and memfs makes that a finding.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "memfs.h"

#define FD_BASE 0x40000000
#define MAX_FDS 1024
#define DEV 0x6d656dULL

typedef struct Lock {
    struct Desc *owner;
    int64_t start, end;             /* [start, end) */
    short type;                     /* F_RDLCK or F_WRLCK */
} Lock;

typedef struct Inode {
    int refs;                       /* names + descriptions */
    ino_t ino;
    mode_t mode;
    nlink_t nlink;
    GByteArray *data;
    struct timespec mtime, ctime;
    GArray *locks;                  /* Lock: OFD locks */
    GArray *flocks;                 /* Lock: flock, start/end unused */
} Inode;

typedef struct Desc {
    Inode *inode;                   /* NULL: the root directory */
    int flags;
} Desc;

static GHashTable *names;           /* name -> Inode */
static Desc *fds[MAX_FDS];
static ino_t next_ino = 2;

static void stamp(Inode *in)
{
    clock_gettime(CLOCK_REALTIME, &in->ctime);
    in->mtime = in->ctime;
}

static Inode *inode_new(mode_t mode)
{
    Inode *in = g_new0(Inode, 1);

    in->ino = next_ino++;
    in->mode = mode;
    in->data = g_byte_array_new();
    in->locks = g_array_new(FALSE, FALSE, sizeof(Lock));
    in->flocks = g_array_new(FALSE, FALSE, sizeof(Lock));
    stamp(in);
    return in;
}

static void inode_unref(Inode *in)
{
    if (in && --in->refs == 0) {
        g_byte_array_unref(in->data);
        g_array_free(in->locks, TRUE);
        g_array_free(in->flocks, TRUE);
        g_free(in);
    }
}

void memfs_reset(void)
{
    if (!names) {
        names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify)inode_unref);
    }
    for (int i = 0; i < MAX_FDS; i++) {
        g_assert(!fds[i]);          /* a descriptor leaked */
    }
    g_hash_table_remove_all(names);
}

/* The name of @path in the root, or NULL when @path is not ours. */
static const char *our_name(const char *path)
{
    size_t n = strlen(MEMFS_ROOT);

    if (strncmp(path, MEMFS_ROOT, n)) {
        return NULL;
    }
    if (path[n] == '\0') {
        return "";
    }
    return path[n] == '/' && !strchr(path + n + 1, '/') ? path + n + 1
                                                         : NULL;
}

static Desc *desc_of(int fd)
{
    if (fd < FD_BASE || fd >= FD_BASE + MAX_FDS) {
        return NULL;
    }
    return fds[fd - FD_BASE];
}

static int fail(int e)
{
    errno = e;
    return -1;
}

static int open_name(const char *name, int flags, mode_t mode)
{
    Inode *in;
    Desc *d;
    int fd;

    if (!names) {
        memfs_reset();
    }
    if (!*name) {
        in = NULL;                  /* the root directory */
    } else {
        in = g_hash_table_lookup(names, name);
        if (!in) {
            if (!(flags & O_CREAT)) {
                return fail(ENOENT);
            }
            in = inode_new(S_IFREG | (mode & 07777));
            in->nlink = 1;
            in->refs = 1;
            g_hash_table_insert(names, g_strdup(name), in);
        }
        if ((flags & O_DIRECTORY) && !S_ISDIR(in->mode)) {
            return fail(ENOTDIR);
        }
        if (S_ISDIR(in->mode) && (flags & O_ACCMODE) != O_RDONLY) {
            return fail(EISDIR);
        }
        if (S_ISFIFO(in->mode) && !(flags & O_NONBLOCK)) {
            /* Would wait for a writer: the service must never do it. */
            abort();
        }
    }
    fd = 0;
    while (fd < MAX_FDS && fds[fd]) {
        fd++;
    }
    g_assert(fd < MAX_FDS);
    d = g_new0(Desc, 1);
    d->inode = in;
    d->flags = flags;
    if (in) {
        in->refs++;
    }
    fds[fd] = d;
    return FD_BASE + fd;
}

int __wrap_open64(const char *path, int flags, ...)
{
    const char *name = our_name(path);
    mode_t mode = 0;
    va_list ap;

    if (flags & O_CREAT) {
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    return name ? open_name(name, flags, mode)
                : __real_open64(path, flags, mode);
}

int __wrap_openat64(int dirfd, const char *path, int flags, ...)
{
    Desc *d = desc_of(dirfd);
    mode_t mode = 0;
    va_list ap;

    if (flags & O_CREAT) {
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    if (!d) {
        return __real_openat64(dirfd, path, flags, mode);
    }
    g_assert(!d->inode && !strchr(path, '/'));
    return open_name(path, flags, mode);
}

/* Drop @owner's locks from @a. */
static void drop_locks(GArray *a, Desc *owner)
{
    for (guint i = 0; i < a->len;) {
        if (g_array_index(a, Lock, i).owner == owner) {
            g_array_remove_index_fast(a, i);
        } else {
            i++;
        }
    }
}

int __wrap_close(int fd)
{
    Desc *d = desc_of(fd);

    if (!d) {
        return __real_close(fd);
    }
    if (d->inode) {
        drop_locks(d->inode->locks, d);
        drop_locks(d->inode->flocks, d);
        inode_unref(d->inode);
    }
    fds[fd - FD_BASE] = NULL;
    g_free(d);
    return 0;
}

static void fill_stat(const Inode *in, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_dev = DEV;
    if (!in) {
        st->st_ino = 1;
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return;
    }
    st->st_ino = in->ino;
    st->st_mode = in->mode;
    st->st_nlink = in->nlink;
    st->st_size = S_ISREG(in->mode) ? in->data->len : 0;
    st->st_blksize = 4096;
    st->st_mtim = in->mtime;
    st->st_ctim = in->ctime;
}

int __wrap_fstat64(int fd, struct stat *st)
{
    Desc *d = desc_of(fd);

    if (!d) {
        return __real_fstat64(fd, st);
    }
    fill_stat(d->inode, st);
    return 0;
}

static int stat_name(const char *name, struct stat *st)
{
    Inode *in;

    if (!*name) {
        fill_stat(NULL, st);
        return 0;
    }
    in = names ? g_hash_table_lookup(names, name) : NULL;
    if (!in) {
        return fail(ENOENT);
    }
    fill_stat(in, st);
    return 0;
}

int __wrap_stat64(const char *path, struct stat *st)
{
    const char *name = our_name(path);

    return name ? stat_name(name, st) : __real_stat64(path, st);
}

int __wrap_lstat64(const char *path, struct stat *st)
{
    const char *name = our_name(path);

    return name ? stat_name(name, st) : __real_lstat64(path, st);
}

int __wrap_fstatat64(int dirfd, const char *path, struct stat *st,
                     int flags)
{
    Desc *d = desc_of(dirfd);

    if (!d) {
        return __real_fstatat64(dirfd, path, st, flags);
    }
    g_assert(!d->inode && !strchr(path, '/'));
    return stat_name(path, st);
}

int __wrap_fstatfs64(int fd, struct statfs *st)
{
    if (!desc_of(fd)) {
        return __real_fstatfs64(fd, st);
    }
    memset(st, 0, sizeof(*st));
    st->f_type = TMPFS_MAGIC;
    st->f_bsize = 4096;
    return 0;
}

/* A regular file's inode behind @fd, or NULL with errno set. */
static Inode *reg(Desc *d)
{
    if (!d->inode || S_ISDIR(d->inode->mode)) {
        errno = EISDIR;
        return NULL;
    }
    if (!S_ISREG(d->inode->mode)) {
        errno = EINVAL;
        return NULL;
    }
    return d->inode;
}

ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t off)
{
    Desc *d = desc_of(fd);
    Inode *in;

    if (!d) {
        return __real_pread64(fd, buf, n, off);
    }
    in = reg(d);
    if (!in) {
        return -1;
    }
    if ((uint64_t)off >= in->data->len) {
        return 0;
    }
    n = MIN(n, (size_t)(in->data->len - off));
    memcpy(buf, in->data->data + off, n);
    return n;
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    Desc *d = desc_of(fd);
    Inode *in;

    if (!d) {
        return __real_pwrite64(fd, buf, n, off);
    }
    in = reg(d);
    if (!in) {
        return -1;
    }
    if ((d->flags & O_ACCMODE) == O_RDONLY) {
        return fail(EBADF);
    }
    if ((uint64_t)off + n > in->data->len) {
        g_byte_array_set_size(in->data, off + n);
    }
    memcpy(in->data->data + off, buf, n);
    stamp(in);
    return n;
}

int __wrap_ftruncate64(int fd, off_t len)
{
    Desc *d = desc_of(fd);
    Inode *in;
    guint old;

    if (!d) {
        return __real_ftruncate64(fd, len);
    }
    in = reg(d);
    if (!in) {
        return -1;
    }
    old = in->data->len;
    g_byte_array_set_size(in->data, len);
    if ((guint)len > old) {
        memset(in->data->data + old, 0, len - old);
    }
    stamp(in);
    return 0;
}

int __wrap_posix_fallocate64(int fd, off_t off, off_t len)
{
    Desc *d = desc_of(fd);
    Inode *in;

    if (!d) {
        return __real_posix_fallocate64(fd, off, len);
    }
    in = reg(d);
    if (!in) {
        return errno;
    }
    if ((uint64_t)(off + len) > in->data->len) {
        guint old = in->data->len;

        g_byte_array_set_size(in->data, off + len);
        memset(in->data->data + old, 0, off + len - old);
        stamp(in);
    }
    return 0;
}

int __wrap_fsync(int fd)
{
    return desc_of(fd) ? 0 : __real_fsync(fd);
}

static bool conflicts(short a, short b)
{
    return a == F_WRLCK || b == F_WRLCK;
}

/* The first lock of another description that conflicts, or NULL. */
static Lock *ofd_conflict(Inode *in, Desc *d, short type, int64_t start,
                          int64_t end)
{
    for (guint i = 0; i < in->locks->len; i++) {
        Lock *l = &g_array_index(in->locks, Lock, i);

        if (l->owner != d && l->start < end && start < l->end &&
            conflicts(l->type, type)) {
            return l;
        }
    }
    return NULL;
}

/* Take [start, end) out of @d's locks, splitting them as needed. */
static void ofd_carve(Inode *in, Desc *d, int64_t start, int64_t end)
{
    for (guint i = 0; i < in->locks->len;) {
        Lock l = g_array_index(in->locks, Lock, i);

        if (l.owner != d || l.end <= start || end <= l.start) {
            i++;
            continue;
        }
        g_array_remove_index_fast(in->locks, i);
        if (l.start < start) {
            Lock left = l;

            left.end = start;
            g_array_append_val(in->locks, left);
        }
        if (end < l.end) {
            Lock right = l;

            right.start = end;
            g_array_append_val(in->locks, right);
        }
    }
}

static int ofd(Desc *d, int cmd, struct flock *fl)
{
    Inode *in = d->inode;
    int64_t start, end;
    Lock *c;

    /* Only what the service asks: whole ranges from the start. */
    g_assert(fl->l_whence == SEEK_SET && fl->l_start >= 0 &&
             fl->l_len >= 0);
    g_assert(in);
    start = fl->l_start;
    end = fl->l_len ? start + fl->l_len : INT64_MAX;
    if (cmd == F_OFD_GETLK) {
        c = ofd_conflict(in, d, fl->l_type, start, end);
        if (!c) {
            fl->l_type = F_UNLCK;
        } else {
            fl->l_type = c->type;
            fl->l_start = c->start;
            fl->l_len = c->end == INT64_MAX ? 0 : c->end - c->start;
            fl->l_pid = -1;
        }
        return 0;
    }
    g_assert(cmd == F_OFD_SETLK);
    if (fl->l_type != F_UNLCK && ofd_conflict(in, d, fl->l_type, start,
                                              end)) {
        return fail(EAGAIN);
    }
    ofd_carve(in, d, start, end);
    if (fl->l_type != F_UNLCK) {
        Lock l = { .owner = d, .start = start, .end = end,
                   .type = fl->l_type };

        g_array_append_val(in->locks, l);
    }
    return 0;
}

int __wrap_fcntl64(int fd, int cmd, ...)
{
    Desc *d = desc_of(fd);
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!d) {
        return __real_fcntl64(fd, cmd, arg);
    }
    if (cmd == F_OFD_SETLK || cmd == F_OFD_GETLK) {
        return ofd(d, cmd, arg);
    }
    /* Blocking locks and anything else: not something the service does. */
    abort();
}

int __wrap_flock(int fd, int op)
{
    Desc *d = desc_of(fd);
    short type;

    if (!d) {
        return __real_flock(fd, op);
    }
    g_assert(d->inode);
    if ((op & ~LOCK_NB) == LOCK_UN) {
        drop_locks(d->inode->flocks, d);
        return 0;
    }
    type = (op & ~LOCK_NB) == LOCK_EX ? F_WRLCK : F_RDLCK;
    for (guint i = 0; i < d->inode->flocks->len; i++) {
        Lock *l = &g_array_index(d->inode->flocks, Lock, i);

        if (l->owner != d && conflicts(l->type, type)) {
            if (!(op & LOCK_NB)) {
                abort();            /* would block */
            }
            return fail(EWOULDBLOCK);
        }
    }
    /* Converting keeps one lock per description. */
    drop_locks(d->inode->flocks, d);
    {
        Lock l = { .owner = d, .type = type };

        g_array_append_val(d->inode->flocks, l);
    }
    return 0;
}

/* Take the name off its inode. */
static void unname(const char *name)
{
    Inode *in = g_hash_table_lookup(names, name);

    in->nlink--;
    clock_gettime(CLOCK_REALTIME, &in->ctime);
    g_hash_table_remove(names, name);
}

int __wrap_unlink(const char *path)
{
    const char *name = our_name(path);
    Inode *in;

    if (!name) {
        return __real_unlink(path);
    }
    in = names ? g_hash_table_lookup(names, name) : NULL;
    if (!in) {
        return fail(ENOENT);
    }
    if (S_ISDIR(in->mode)) {
        return fail(EISDIR);
    }
    unname(name);
    return 0;
}

int __wrap_rmdir(const char *path)
{
    const char *name = our_name(path);
    Inode *in;

    if (!name) {
        return __real_rmdir(path);
    }
    in = names ? g_hash_table_lookup(names, name) : NULL;
    if (!in) {
        return fail(ENOENT);
    }
    if (!S_ISDIR(in->mode)) {
        return fail(ENOTDIR);
    }
    unname(name);
    return 0;
}

static int make(const char *name, mode_t mode)
{
    Inode *in;

    if (!names) {
        memfs_reset();
    }
    if (g_hash_table_lookup(names, name)) {
        return fail(EEXIST);
    }
    in = inode_new(mode);
    in->nlink = 1;
    in->refs = 1;
    g_hash_table_insert(names, g_strdup(name), in);
    return 0;
}

int __wrap_mkfifo(const char *path, mode_t mode)
{
    const char *name = our_name(path);

    return name ? make(name, S_IFIFO | (mode & 07777))
                : __real_mkfifo(path, mode);
}

int __wrap_mkdir(const char *path, mode_t mode)
{
    const char *name = our_name(path);

    return name ? make(name, S_IFDIR | (mode & 07777))
                : __real_mkdir(path, mode);
}

int __wrap_rename(const char *from, const char *to)
{
    const char *a = our_name(from), *b = our_name(to);
    Inode *in, *over;

    if (!a && !b) {
        return __real_rename(from, to);
    }
    g_assert(a && b);
    in = names ? g_hash_table_lookup(names, a) : NULL;
    if (!in) {
        return fail(ENOENT);
    }
    over = g_hash_table_lookup(names, b);
    if (over == in) {
        return 0;
    }
    if (over && S_ISDIR(over->mode) != S_ISDIR(in->mode)) {
        return fail(S_ISDIR(over->mode) ? EISDIR : ENOTDIR);
    }
    in->refs++;
    unname(a);
    if (over) {
        unname(b);
    }
    in->nlink++;
    clock_gettime(CLOCK_REALTIME, &in->ctime);
    g_hash_table_insert(names, g_strdup(b), in);
    return 0;
}
