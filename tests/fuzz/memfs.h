/*
 * memfs: an in-memory file system for the service fuzzer (memfs.c)
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_MEMFS_H
#define SEVSNP_MEMFS_H

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>

/*
 * Paths under this directory live in memory, with Linux's semantics for
 * what the certificate service and its updaters do (see memfs.c); the
 * binary is linked with -Wl,--wrap for each of the calls below
 * (tests/fuzz/meson.build).
 */
#define MEMFS_ROOT "/memfs"

/* Forget every file; every descriptor must have been closed. */
void memfs_reset(void);

/* The real calls, for anything that is not ours. */
int __real_open64(const char *path, int flags, ...);
int __real_openat64(int dirfd, const char *path, int flags, ...);
int __real_close(int fd);
int __real_fstat64(int fd, struct stat *st);
int __real_stat64(const char *path, struct stat *st);
int __real_lstat64(const char *path, struct stat *st);
int __real_fstatat64(int dirfd, const char *path, struct stat *st,
                     int flags);
int __real_fstatfs64(int fd, struct statfs *st);
ssize_t __real_pread64(int fd, void *buf, size_t n, off_t off);
ssize_t __real_pwrite64(int fd, const void *buf, size_t n, off_t off);
int __real_ftruncate64(int fd, off_t len);
int __real_posix_fallocate64(int fd, off_t off, off_t len);
int __real_fsync(int fd);
int __real_fcntl64(int fd, int cmd, ...);
int __real_flock(int fd, int op);
int __real_unlink(const char *path);
int __real_rename(const char *from, const char *to);
int __real_mkfifo(const char *path, mode_t mode);
int __real_mkdir(const char *path, mode_t mode);
int __real_rmdir(const char *path);

#endif
