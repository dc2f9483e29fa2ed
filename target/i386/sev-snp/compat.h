/*
 * qemu-snp: the QEMU APIs that moved between the lines we build on
 *
 * Everything that differs between QEMU lines is here, so that the glue
 * reads the same on all of them.
 * before QEMU 10.1: begin
 * QEMU 10.1 moved exec/memory.h, exec/address-spaces.h and
 * exec/ramblock.h to system/, and QEMU 10.2 renamed CharBackend
 * CharFrontend.  Where the shared/private page state lives (QEMU's
 * RamBlockAttributes from 10.1, libsevsnp's tracker before) is chosen
 * by meson.build: one file each behind sev-snp-pages.h.
 * before QEMU 10.1: end
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_SEV_SNP_COMPAT_H
#define I386_SEV_SNP_COMPAT_H

#include "exec/cpu-common.h"

/* before QEMU 10.1: begin */
#define SEV_SNP_QEMU_AT_LEAST(major, minor) \
    (QEMU_VERSION_MAJOR > (major) || \
     (QEMU_VERSION_MAJOR == (major) && QEMU_VERSION_MINOR >= (minor)))

#if SEV_SNP_QEMU_AT_LEAST(10, 1)
/* before QEMU 10.1: end */
#include "system/memory.h"
#include "system/address-spaces.h"
#include "system/ramblock.h"
/* before QEMU 10.1: begin */
#else
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "exec/ramblock.h"
#endif

#if !SEV_SNP_QEMU_AT_LEAST(10, 2)
#include "chardev/char.h"
typedef CharBackend CharFrontend;
#endif
/* before QEMU 10.1: end */

#endif
