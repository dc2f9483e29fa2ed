/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 * Copyright (c) 2026 The qemu-snp authors
 *
 * The functions x509memo.c wraps at link time (-Wl,--wrap=...), and
 * CamelCase names for the OpenSSL stack types it uses.
 */
#ifndef X509MEMO_H
#define X509MEMO_H

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

typedef STACK_OF(X509) X509Stack;
typedef STACK_OF(X509_OBJECT) X509ObjectStack;

X509 *__real_d2i_X509(X509 **a, const unsigned char **pp, long len);
X509 *__wrap_d2i_X509(X509 **a, const unsigned char **pp, long len);
int __real_X509_verify(X509 *x, EVP_PKEY *key);
int __wrap_X509_verify(X509 *x, EVP_PKEY *key);
int __real_X509_verify_cert(X509_STORE_CTX *ctx);
int __wrap_X509_verify_cert(X509_STORE_CTX *ctx);

#endif
