/*
 * The test guest's memory layout, shared by the assembler entry, the
 * linker script (through cpp) and the C code.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

/*
 * The image: 128 KiB mapped just below 4 GiB (QEMU maps -bios there and,
 * for SNP, nowhere else).  The real-mode code lives in its top 64 KiB,
 * where the reset CS base (0xffff0000) reaches it.
 */
#define IMAGE_SIZE          0x20000
#define IMAGE_BASE          (0x100000000 - IMAGE_SIZE)
#define ROM16_BASE          0xfffff000      /* real-mode entry + metadata */
#define TAIL_BASE           0xffffff00      /* GUIDed table, reset vector */

/* The AP start-up trampoline is copied here (SIPI vector 1). */
#define TRAMPOLINE_BASE     0x1000
#define TRAMPOLINE_VECTOR   (TRAMPOLINE_BASE >> 12)

/* Pages QEMU populates at launch from the SEV metadata. */
#define SECRETS_BASE        0x7000
#define CPUID_BASE          0x8000

/*
 * Pre-validated RAM: 1 MiB to 16 MiB.  Globals first, then a stack per
 * CPU, then a work area per CPU (certificate buffer, request, response).
 */
#define SEC_MEM_BASE        0x100000
#define SEC_MEM_SIZE        0xf00000
#define BSS_BASE            0x100000
#define STACK_BASE          0x200000
#define STACK_SIZE          0x10000
#define MAX_CPUS            16
#define WORK_BASE           0x400000
#define WORK_SIZE           0x40000         /* 256 KiB per CPU */
#define LINUX_BASE          0x800000        /* the Linux model (linux.c) */
#define LINUX_SIZE          0x200000
#define SCRATCH_BASE        0xc00000        /* conversion tests */
#define SCRATCH_SIZE        0x100000

/* GDT selectors. */
#define SEL_CODE64          0x08
#define SEL_DATA            0x10
#define SEL_CODE32          0x18

#endif /* GUEST_LAYOUT_H */
