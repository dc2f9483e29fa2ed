/*
 * The libFuzzer entry points of our targets
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SEVSNP_FUZZ_H
#define SEVSNP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Adds -artifact_prefix=BUILD/fuzz-artifacts/NAME- to the command line
 * unless it has one (fuzz-common.c): no crash-* files where it was run.
 */
void fuzz_default_artifact_prefix(int *argc, char ***argv, const char *name);

/*
 * The certificate fuzzers' memo of OpenSSL's d2i_X509(), X509_verify()
 * and X509_verify_cert() (x509memo.c): set up at start-up.
 */
void x509_memo_init(void);

#endif
