/*
 * qemu-snp: the QEMU APIs that moved between the lines we build on
 *
 * Everything that differs between QEMU lines is here, so that the glue
 * reads the same on all of them.  QEMU 10.1 moved exec/memory.h,
 * exec/address-spaces.h and exec/ramblock.h to system/.  Where the
 * shared/private page state lives (QEMU's RamBlockAttributes from 10.1,
 * libsevsnp's tracker before) is chosen by meson.build: one file each
 * behind sev-snp-pages.h.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_SEV_SNP_COMPAT_H
#define I386_SEV_SNP_COMPAT_H

#define SEV_SNP_QEMU_AT_LEAST(major, minor) \
    (QEMU_VERSION_MAJOR > (major) || \
     (QEMU_VERSION_MAJOR == (major) && QEMU_VERSION_MINOR >= (minor)))

#include "exec/cpu-common.h"

#if SEV_SNP_QEMU_AT_LEAST(10, 1)
#include "system/memory.h"
#include "system/address-spaces.h"
#include "system/ramblock.h"
#else
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "exec/ramblock.h"
#endif

#endif
