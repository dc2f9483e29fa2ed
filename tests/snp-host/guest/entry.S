/*
 * The test guest's entry: reset vector, the real-mode to long-mode switch
 * (shared by the BSP and, copied below 1 MiB, by the APs), the static
 * identity-mapped page tables, the exception stubs, and the OVMF GUIDed
 * table with the SEV information block and the SEV metadata QEMU reads
 * from the end of a -bios image.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "layout.h"

/* A GUID as stored in firmware tables: the first three fields LE. */
.macro guid a, b, c, d0, d1, d2, d3, d4, d5, d6, d7
    .long \a
    .word \b, \c
    .byte \d0, \d1, \d2, \d3, \d4, \d5, \d6, \d7
.endm

/*
 * Page tables, read-only in the image: 0 .. 4 GiB identity-mapped with
 * 2 MiB pages (the RAM, the image, the local APIC).  Accessed and dirty
 * are preset so that the CPU never writes to them.
 */
#define PTE_P       0x001
#define PTE_RW      0x002
#define PTE_A       0x020
#define PTE_D       0x040
#define PTE_PS      0x080

    .section .pagetables, "a"
    .balign 4096
    .globl pml4
pml4:
    .quad pdpt + (PTE_P | PTE_RW | PTE_A)
    .fill 511, 8, 0
pdpt:
    .quad pd + 0x0000 + (PTE_P | PTE_RW | PTE_A)
    .quad pd + 0x1000 + (PTE_P | PTE_RW | PTE_A)
    .quad pd + 0x2000 + (PTE_P | PTE_RW | PTE_A)
    .quad pd + 0x3000 + (PTE_P | PTE_RW | PTE_A)
    .fill 508, 8, 0
pd:
    .set i, 0
    .rept 2048
    .quad (i << 21) | (PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS)
    .set i, i + 1
    .endr

/*
 * 64-bit entry, for every CPU.  Stack by APIC ID; the BSP (APIC base MSR
 * bit 8) runs guest_main(), the others ap_main(apic_id).
 */
    .text
    .code64
    .globl entry64
entry64:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $1, %eax
    cpuid
    shr $24, %ebx
    cmp $MAX_CPUS, %ebx
    jae hang
    lea 1(%rbx), %rax
    imul $STACK_SIZE, %rax, %rax
    add $STACK_BASE, %rax
    mov %rax, %rsp
    mov %ebx, %edi
    mov $0x1b, %ecx
    rdmsr
    test $0x100, %eax
    jz 1f
    call guest_main
    jmp hang
1:
    call ap_main
    .globl hang
hang:
    cli
    hlt
    jmp hang

/*
 * Exception stubs: push a dummy error code where the CPU pushes none,
 * then the vector, and call exception(frame).
 */
.macro exc_stub n, err
exc_stub_\n:
    .if \err == 0
    pushq $0
    .endif
    pushq $\n
    jmp exc_common
.endm

    exc_stub 0, 0
    exc_stub 1, 0
    exc_stub 2, 0
    exc_stub 3, 0
    exc_stub 4, 0
    exc_stub 5, 0
    exc_stub 6, 0
    exc_stub 7, 0
    exc_stub 8, 1
    exc_stub 9, 0
    exc_stub 10, 1
    exc_stub 11, 1
    exc_stub 12, 1
    exc_stub 13, 1
    exc_stub 14, 1
    exc_stub 15, 0
    exc_stub 16, 0
    exc_stub 17, 1
    exc_stub 18, 0
    exc_stub 19, 0
    exc_stub 20, 0
    exc_stub 21, 1
    exc_stub 22, 0
    exc_stub 23, 0
    exc_stub 24, 0
    exc_stub 25, 0
    exc_stub 26, 0
    exc_stub 27, 0
    exc_stub 28, 0
    exc_stub 29, 1
    exc_stub 30, 1
    exc_stub 31, 0

exc_common:
    mov %rsp, %rdi
    and $-16, %rsp
    call exception
    jmp hang

    .section .rodata
    .balign 8
    .globl exc_stubs
exc_stubs:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .quad exc_stub_\n
    .endr
    .irp n, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .quad exc_stub_\n
    .endr

/*
 * Real mode: the reset path of the BSP and, copied to TRAMPOLINE_BASE,
 * the SIPI target of the APs.  Position-independent (the data it needs is
 * addressed relative to where it runs), straight to long mode: the
 * emulator executes real-mode code here, so keep it short.
 */
    .section .rom16, "ax"
    .code16
    .globl tramp_start, tramp_end
tramp_start:
    cli
    xor %ax, %ax
    mov %ax, %ss
    mov $0x6ff0, %sp
    call 1f
1:
    pop %bx
    lgdtl %cs:(tramp_gdtr - 1b)(%bx)
    mov %cr0, %eax
    and $0x9fffffff, %eax           /* caches on */
    or $1, %eax                     /* PE */
    mov %eax, %cr0
    ljmpl $SEL_CODE32, $prot32

    .code32
prot32:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $0x20, %eax                 /* CR4.PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx           /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax            /* PG */
    mov %eax, %cr0
    ljmp $SEL_CODE64, $entry64

    .balign 8
tramp_gdt:                          /* accessed bits preset: a ROM */
    .quad 0
    .quad 0x00af9b000000ffff        /* SEL_CODE64: 64-bit code */
    .quad 0x00cf93000000ffff        /* SEL_DATA: flat data */
    .quad 0x00cf9b000000ffff        /* SEL_CODE32: 32-bit code */
tramp_gdt_end:
tramp_gdtr:
    .word tramp_gdt_end - tramp_gdt - 1
    .long tramp_gdt
tramp_end:

/*
 * SEV metadata ("ASEV"): the pages QEMU hands to SNP_LAUNCH_UPDATE before
 * the guest runs: pre-validated (zero) memory, the secrets page, the
 * CPUID page.
 */
#define SEV_DESC_SNP_SEC_MEM    1
#define SEV_DESC_SNP_SECRETS    2
#define SEV_DESC_CPUID          3

    .balign 16
    .globl asev
asev:
    .ascii "ASEV"
    .long asev_end - asev
    .long 1
    .long (asev_end - asev_descs) / 12
asev_descs:
    .long TRAMPOLINE_BASE, SECRETS_BASE - TRAMPOLINE_BASE
    .long SEV_DESC_SNP_SEC_MEM
    .long SECRETS_BASE, 0x1000, SEV_DESC_SNP_SECRETS
    .long CPUID_BASE, 0x1000, SEV_DESC_CPUID
    .long SEC_MEM_BASE, SEC_MEM_SIZE, SEV_DESC_SNP_SEC_MEM
asev_end:

/*
 * The last 256 bytes: the OVMF GUIDed table (entries growing down from
 * the footer, which sits 48 bytes before the end), the reset vector.
 *   0xa2 SEV information block: the AP reset address
 *   0xb8 SEV metadata: offset of "ASEV" from the end of the image
 *   0xce table length, 0xd0 footer GUID, 0xf0 reset vector
 */
    .section .tail, "ax"
tail:
    .fill 0xa2, 1, 0xf4
    .long ROM16_BASE
    .word 22
    guid 0x00f771de, 0x1a7e, 0x4fcb, \
         0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e
    .long asev_offset
    .word 22
    guid 0xdc886566, 0x984a, 0x4798, \
         0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc
    .word 22 + 22 + 18
    guid 0x96b582de, 0x1fb2, 0x45f7, \
         0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d
    .if . - tail != 0xe0
    .error "GUIDed table misplaced"
    .endif
    .fill 0x10, 1, 0xf4
    .code16
reset_vector:                       /* 0xfffffff0 */
    jmp tramp_start
    .fill 0x100 - (. - tail), 1, 0xf4
