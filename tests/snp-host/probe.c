/*
 * snp-host-probe: can this machine's /dev/kvm carry the simulated SNP
 * host?  Asks, through the simulator (linked in, as QEMU gets it
 * preloaded), for everything an SEV-SNP guest of QEMU 10.0 / 10.2 needs
 * from KVM, and names the first thing missing.  The simulator provides
 * what an SNP host has and a plain KVM host may lack (the SNP VM type,
 * memory attributes, guest_memfd where the kernel has none); what it
 * cannot provide is a real VM, a vCPU, KVM_SET_USER_MEMORY_REGION2 and
 * the exits it rewrites.
 *
 * Exit status 0: usable, one line saying where guest_memfd comes from.
 * Exit status 1: unusable, one line naming the missing feature (the
 * scenario runner, the attestation race, the KVM demo and libvirt's
 * SNP domain SKIP with it, and make check says it once).
 *
 * Every number from the kernel is the released uapi headers'.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#define PROBE_MEM_SIZE (2 * 1024 * 1024)

static int missing(const char *what, int err, const char *why)
{
    printf("/dev/kvm lacks %s (%s%s%s), which the simulated SNP host "
           "cannot provide\n", what, why, err ? ": " : "",
           err ? strerror(err) : "");
    return 1;
}

/* The kernel's own answer, around the simulator. */
static long real_check(int fd, long cap)
{
    return syscall(SYS_ioctl, fd, KVM_CHECK_EXTENSION, cap);
}

int main(void)
{
    struct kvm_userspace_memory_region2 region = { 0 };
    struct kvm_create_guest_memfd gmem = { 0 };
    struct kvm_enable_cap hc = { 0 };
    const char *forced = getenv("SNP_HOST_SIM_EMULATE_GMEM");
    bool kernel_gmem;
    void *mem;
    int kvm, vm, gfd, vcpu, r;

    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        printf("/dev/kvm: %s\n", strerror(errno));
        return 1;
    }
    r = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (r != KVM_API_VERSION) {
        printf("/dev/kvm: KVM_GET_API_VERSION is %d, not %d\n", r,
               KVM_API_VERSION);
        return 1;
    }
    kernel_gmem = real_check(kvm, KVM_CAP_GUEST_MEMFD) > 0;
    if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
        return missing("KVM_CAP_IMMEDIATE_EXIT", 0,
                       "QEMU's vCPU loop and the certificate completion");
    }
    r = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
    if (r < 0 || !(r & (1 << KVM_X86_SNP_VM))) {
        printf("the simulator does not offer KVM_X86_SNP_VM "
               "(KVM_CAP_VM_TYPES 0x%x): is it linked in?\n", r);
        return 1;
    }
    vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_SNP_VM);
    if (vm < 0) {
        return missing("KVM_CREATE_VM", errno, "a default VM underneath");
    }
    if (ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2) <= 0) {
        return missing("KVM_CAP_USER_MEMORY2", 0,
                       "KVM_SET_USER_MEMORY_REGION2, Linux >= 6.8");
    }
    if (ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0 ||
        ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0) {
        return missing("guest_memfd", 0,
                       "KVM_CAP_GUEST_MEMFD is 0 on /dev/kvm or the SNP VM");
    }
    gmem.size = PROBE_MEM_SIZE;
    gfd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &gmem);
    if (gfd < 0) {
        return missing("guest_memfd", errno, "KVM_CREATE_GUEST_MEMFD");
    }
    mem = mmap(NULL, PROBE_MEM_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        printf("mmap: %s\n", strerror(errno));
        return 1;
    }
    region.memory_size = PROBE_MEM_SIZE;
    region.userspace_addr = (uintptr_t)mem;
    region.flags = KVM_MEM_GUEST_MEMFD;
    region.guest_memfd = gfd;
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &region) < 0) {
        return missing("KVM_SET_USER_MEMORY_REGION2", errno,
                       "a slot bound to a guest_memfd");
    }
    hc.cap = KVM_CAP_EXIT_HYPERCALL;
    hc.args[0] = 1ULL << KVM_HC_MAP_GPA_RANGE;
    if (ioctl(vm, KVM_ENABLE_CAP, &hc) < 0) {
        return missing("KVM_CAP_EXIT_HYPERCALL", errno,
                       "page-state changes reach QEMU as hypercall exits");
    }
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) {
        return missing("KVM_CREATE_VCPU", errno, "a vCPU of the SNP VM");
    }
    if (kernel_gmem && !(forced && *forced && strcmp(forced, "0"))) {
        printf("usable: guest_memfd from the kernel\n");
    } else if (kernel_gmem) {
        printf("usable: guest_memfd emulated by the simulator "
               "(SNP_HOST_SIM_EMULATE_GMEM=%s)\n", forced);
    } else {
        printf("usable: guest_memfd emulated by the simulator "
               "(the kernel has none)\n");
    }
    close(vcpu);
    close(vm);
    close(gfd);
    close(kvm);
    return 0;
}
