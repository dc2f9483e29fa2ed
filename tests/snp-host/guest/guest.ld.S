/*
 * Linker script of the test guest (run through cpp for layout.h).
 * One read-only image of IMAGE_SIZE bytes ending at 4 GiB; zeroed data
 * in RAM; no initialised writable data (the image may be a ROM).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "layout.h"

OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
ENTRY(entry64)

SECTIONS
{
    . = IMAGE_BASE;
    .rom : {
        *(.pagetables)
        *(.text .text.*)
        *(.rodata .rodata.*)
        *(.got .got.plt)
        . = ROM16_BASE - IMAGE_BASE;
        *(.rom16)
        . = TAIL_BASE - IMAGE_BASE;
        *(.tail)
    }
    asev_offset = 0x100000000 - asev;

    . = BSS_BASE;
    .data : { *(.data .data.*) }
    .bss (NOLOAD) : {
        bss_start = .;
        *(.bss .bss.* COMMON)
        bss_end = .;
    }

    /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) *(.interp) }
}

ASSERT(SIZEOF(.data) == 0, "initialised writable data: make it const")
ASSERT(bss_end <= STACK_BASE, "globals overflow into the stacks")
ASSERT(SIZEOF(.rom) == IMAGE_SIZE, "the image is not IMAGE_SIZE bytes")
