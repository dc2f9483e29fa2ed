/*
 * The floor of a shared/private conversion: what any VMM must do for one,
 * done bare, in a loop, through the same /dev/kvm (and, with
 * LD_PRELOAD=libsnp-host-sim.so, the same simulated SNP kernel) as QEMU:
 * KVM_SET_MEMORY_ATTRIBUTES, then the release of the backing no longer
 * used, as QEMU does it for guest RAM: going shared, the guest_memfd
 * range is punched (fallocate); going private, the anonymous shared
 * memory is dropped (madvise MADV_DONTNEED).  No exit, no bookkeeping.
 *
 * Usage: convert-floor SECONDS
 * Prints "FLOOR convert-4k n=N ns=T" and the same for convert-2m (N
 * conversions, half each way, in T ns).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/falloc.h>
#include <linux/kvm.h>

#define GUEST_SIZE (4ULL << 30)
#define GPA (1ULL << 30)            /* where the bench guest converts */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "convert-floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int vm, gmem;
static uint8_t *shared;

static void to_shared(uint64_t len)
{
    struct kvm_memory_attributes a = { .address = GPA, .size = len };

    if (ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &a) < 0) {
        die("KVM_SET_MEMORY_ATTRIBUTES shared");
    }
    if (fallocate(gmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, GPA,
                  len) < 0) {
        die("fallocate");
    }
}

static void to_private(uint64_t len)
{
    struct kvm_memory_attributes a = {
        .address = GPA, .size = len,
        .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
    };

    if (ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &a) < 0) {
        die("KVM_SET_MEMORY_ATTRIBUTES private");
    }
    if (madvise(shared + GPA, len, MADV_DONTNEED) < 0) {
        die("madvise");
    }
}

static void bench(const char *name, uint64_t len, double seconds)
{
    uint64_t t0 = now_ns(), t, n = 0;

    do {
        for (int i = 0; i < 8; i++) {
            to_shared(len);
            to_private(len);
        }
        n += 16;
        t = now_ns();
    } while (t - t0 < seconds * 1e9);
    printf("FLOOR %s n=%llu ns=%llu\n", name, (unsigned long long)n,
           (unsigned long long)(t - t0));
}

int main(int argc, char **argv)
{
    struct kvm_create_guest_memfd gm = { .size = GUEST_SIZE };
    struct kvm_userspace_memory_region2 r = {
        .slot = 0, .flags = KVM_MEM_GUEST_MEMFD, .guest_phys_addr = 0,
        .memory_size = GUEST_SIZE,
    };
    double seconds = argc > 1 ? atof(argv[1]) : 1;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (kvm < 0) {
        die("/dev/kvm");
    }
    vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_SNP_VM);
    if (vm < 0) {
        die("KVM_CREATE_VM (KVM_X86_SNP_VM; run with the SNP host "
            "simulator preloaded)");
    }
    gmem = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &gm);
    if (gmem < 0) {
        die("KVM_CREATE_GUEST_MEMFD");
    }
    shared = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (shared == MAP_FAILED) {
        die("mmap");
    }
    r.userspace_addr = (uintptr_t)shared;
    r.guest_memfd = gmem;
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &r) < 0) {
        die("KVM_SET_USER_MEMORY_REGION2");
    }
    bench("convert-4k", 4096, seconds);
    bench("convert-2m", 2 << 20, seconds);
    return 0;
}
