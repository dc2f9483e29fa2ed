/*
 * Helpers shared by the libsevsnp unit tests
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "testutil.h"

#ifndef TESTDATA_DIR
#error TESTDATA_DIR must be defined
#endif

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-384");

    g_assert_nonnull(k);
    return k;
}

static X509 *new_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
                      EVP_PKEY *issuer_key, long nb_days, long na_days,
                      long serial)
{
    X509 *x = X509_new();
    X509_NAME *name;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), nb_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), na_days * 86400);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *)"qemu-snp tests", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    if (!issuer) {
        X509V3_CTX ctx;
        X509_EXTENSION *ext;

        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                  "critical,CA:TRUE");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    g_assert_cmpint(X509_sign(x, issuer_key, EVP_sha384()), >, 0);
    return x;
}

GBytes *test_x509_der(X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    GBytes *b;

    g_assert_cmpint(len, >, 0);
    b = g_bytes_new(der, len);
    OPENSSL_free(der);
    return b;
}

static X509 *new_ca(const char *cn, EVP_PKEY *key, X509 *issuer,
                    EVP_PKEY *issuer_key, long nb, long na, long serial)
{
    X509 *x = new_cert(cn, key, issuer, issuer_key, nb, na, serial);

    if (issuer) {
        /* Re-sign with the CA extension for intermediate certificates. */
        X509V3_CTX ctx;
        X509_EXTENSION *ext;

        X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                  "critical,CA:TRUE");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        g_assert_cmpint(X509_sign(x, issuer_key, EVP_sha384()), >, 0);
    }
    return x;
}

TestChain *test_chain_new(const char *tag, long nb, long na)
{
    TestChain *c = g_new0(TestChain, 1);
    EVP_PKEY *kark = new_key(), *kask = new_key(), *kvcek = new_key();
    g_autofree char *cn_ark = g_strdup_printf("ARK-%s", tag);
    g_autofree char *cn_ask = g_strdup_printf("SEV-%s", tag);
    g_autofree char *cn_vcek = g_strdup_printf("SEV-VCEK-%s", tag);
    X509 *ark = new_ca(cn_ark, kark, NULL, kark, nb, na, 1);
    X509 *ask = new_ca(cn_ask, kask, ark, kark, nb, na, 2);
    X509 *vcek = new_cert(cn_vcek, kvcek, ask, kask, nb, na, 3);
    X509_CRL *crl = X509_CRL_new();
    unsigned char *der = NULL;
    int len;

    c->ark = test_x509_der(ark);
    c->ask = test_x509_der(ask);
    c->vcek = test_x509_der(vcek);

    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark));
    {
        ASN1_TIME *t = ASN1_TIME_new();
        X509_gmtime_adj(t, 0);
        X509_CRL_set1_lastUpdate(crl, t);
        X509_gmtime_adj(t, 86400);
        X509_CRL_set1_nextUpdate(crl, t);
        ASN1_TIME_free(t);
    }
    g_assert_cmpint(X509_CRL_sign(crl, kark, EVP_sha384()), >, 0);
    len = i2d_X509_CRL(crl, &der);
    g_assert_cmpint(len, >, 0);
    c->crl = g_bytes_new(der, len);
    OPENSSL_free(der);

    X509_CRL_free(crl);
    X509_free(ark);
    X509_free(ask);
    X509_free(vcek);
    EVP_PKEY_free(kark);
    EVP_PKEY_free(kask);
    EVP_PKEY_free(kvcek);
    return c;
}

void test_chain_free(TestChain *c)
{
    if (!c) {
        return;
    }
    g_bytes_unref(c->ark);
    g_bytes_unref(c->ask);
    g_bytes_unref(c->vcek);
    g_bytes_unref(c->crl);
    g_free(c);
}

static GBytes *build3(GBytes *ark, GBytes *ask, GBytes *vcek)
{
    SevsnpCertInput in[3];
    GError *err = NULL;
    GBytes *blob;

    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    memcpy(in[2].guid, sevsnp_cert_type_guid(SEVSNP_CERT_VCEK), 16);
    in[0].der = ark;
    in[1].der = ask;
    in[2].der = vcek;
    blob = sevsnp_cert_table_build(in, 3, &err);
    g_assert_no_error(err);
    return blob;
}

GBytes *test_chain_blob(const TestChain *c)
{
    return build3(c->ark, c->ask, c->vcek);
}

GBytes *test_data(const char *name)
{
    g_autofree char *path = g_build_filename(TESTDATA_DIR, name, NULL);
    g_autofree char *buf = NULL;
    gsize len;
    GError *err = NULL;

    g_file_get_contents(path, &buf, &len, &err);
    g_assert_no_error(err);
    return g_bytes_new_take(g_steal_pointer(&buf), len);
}

#ifndef SEVSNP_HAVE_X509
/*
 * QEMU's copy of the library reads no PEM: OpenSSL's decoder, as the
 * standalone library's sevsnp_der_from_pem_or_der().
 */
static GBytes *pem_cert_der(GBytes *raw)
{
    gsize len;
    const char *p = g_bytes_get_data(raw, &len);
    BIO *bio;
    X509 *x;
    GBytes *der;

    if (len < 10 || !g_strstr_len(p, len, "-----BEGIN")) {
        return g_bytes_ref(raw);
    }
    bio = BIO_new_mem_buf(p, (int)len);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    g_assert_nonnull(x);
    der = test_x509_der(x);
    X509_free(x);
    BIO_free(bio);
    return der;
}
#endif

static GBytes *vendor(const char *family, SevsnpCertType type)
{
    g_autofree char *name = NULL;
    g_autoptr(GBytes) raw = NULL;
    GBytes *der;

    switch (type) {
    case SEVSNP_CERT_ARK:
        name = g_strdup_printf("%s-ark.pem", family);
        break;
    case SEVSNP_CERT_ASK:
        name = g_strdup_printf("%s-ask.pem", family);
        break;
    default:
        name = g_strdup_printf("%s-vcek.der", family);
        break;
    }
    raw = test_data(name);
#ifdef SEVSNP_HAVE_X509
    {
        GError *err = NULL;

        der = sevsnp_der_from_pem_or_der(raw, type, &err);
        g_assert_no_error(err);
    }
#else
    der = pem_cert_der(raw);
#endif
    return der;
}

GBytes *test_milan(SevsnpCertType type)
{
    return vendor("milan", type);
}

GBytes *test_genoa(SevsnpCertType type)
{
    return vendor("genoa", type);
}

GBytes *test_milan_blob(void)
{
#ifdef SEVSNP_HAVE_X509
    const SevsnpCertFile files[] = {
        { SEVSNP_CERT_ARK, NULL, TESTDATA_DIR "/milan-ark.pem" },
        { SEVSNP_CERT_ASK, NULL, TESTDATA_DIR "/milan-ask.pem" },
        { SEVSNP_CERT_VCEK, NULL, TESTDATA_DIR "/milan-vcek.der" },
    };
    GError *err = NULL;
    GBytes *b = sevsnp_cert_table_build_files(files, 3, &err);

    g_assert_no_error(err);
    return b;
#else
    g_autoptr(GBytes) ark = test_milan(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) ask = test_milan(SEVSNP_CERT_ASK);
    g_autoptr(GBytes) vcek = test_milan(SEVSNP_CERT_VCEK);

    return build3(ark, ask, vcek);
#endif
}

/* One temporary root per test process, removed when it exits. */
static char *tmp_root;
static pid_t tmp_owner;

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    return remove(path);
}

static void remove_tmp_root(void)
{
    if (tmp_root && getpid() == tmp_owner) {
        nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

char *test_write_tmp(GBytes *blob, const char *name)
{
    GError *err = NULL;
    g_autofree char *dir = NULL;
    char *path;
    gsize len;
    const char *data;

    if (!tmp_root) {
        tmp_root = g_dir_make_tmp("sevsnp-test-XXXXXX", &err);
        g_assert_no_error(err);
        tmp_owner = getpid();
        atexit(remove_tmp_root);
    }
    dir = g_build_filename(tmp_root, "XXXXXX", NULL);
    g_assert_nonnull(g_mkdtemp(dir));
    path = g_build_filename(dir, name, NULL);
    data = g_bytes_get_data(blob, &len);
    g_file_set_contents(path, data, len, &err);
    g_assert_no_error(err);
    return path;
}

void test_rewrite_in_place(const char *path, GBytes *blob)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
    gsize len;
    const char *data = g_bytes_get_data(blob, &len);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, data, len), ==, (ssize_t)len);
    close(fd);
}
