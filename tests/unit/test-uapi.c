/*
 * libsevsnp's kernel ABI numbers against the released Linux uapi headers
 *
 * Compiled against Debian's linux-libc-dev >= 7.0, unpacked under
 * build/uapi by scripts/fetch-uapi.sh (never the machine's own, older
 * headers): every exit reason, attribute, command, flag and struct layout
 * libsevsnp restates must equal the kernel's.  Only the legacy
 * KVM_EXIT_VMGEXIT ABI of AMD's kernels (seed 001) is not in any released
 * header; its number is checked to be the one mainline gave to TDX.
 *
 * Also the regression test of the detection bug: a fake /dev/kvm that
 * answers the attributes as a released 7.x kernel does, keyed by the
 * header's names.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <stddef.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <glib.h>

#include "libsevsnp.h"

#ifndef KVM_EXIT_SNP_REQ_CERTS
#error "not the released uapi headers: no KVM_EXIT_SNP_REQ_CERTS"
#endif

static void test_numbers(void)
{
    g_assert_cmpint(SEVSNP_KVM_EXIT_SNP_REQ_CERTS, ==, KVM_EXIT_SNP_REQ_CERTS);
    g_assert_cmpint(SEVSNP_KVM_EXIT_HYPERCALL, ==, KVM_EXIT_HYPERCALL);
    g_assert_cmpint(SEVSNP_KVM_EXIT_MEMORY_FAULT, ==, KVM_EXIT_MEMORY_FAULT);
    /* Legacy AMD kernels reuse the number mainline gave to TDX. */
    g_assert_cmpint(SEVSNP_KVM_EXIT_VMGEXIT, ==, KVM_EXIT_TDX);

    g_assert_cmpint(SEVSNP_KVM_HC_MAP_GPA_RANGE, ==, KVM_HC_MAP_GPA_RANGE);
    g_assert_cmphex(SEVSNP_KVM_MAP_GPA_RANGE_ENCRYPTED, ==,
                    KVM_MAP_GPA_RANGE_ENCRYPTED);
    g_assert_cmphex(SEVSNP_KVM_MEMORY_EXIT_FLAG_PRIVATE, ==,
                    KVM_MEMORY_EXIT_FLAG_PRIVATE);
    g_assert_cmphex(SEVSNP_KVM_MEMORY_ATTRIBUTE_PRIVATE, ==,
                    KVM_MEMORY_ATTRIBUTE_PRIVATE);
    g_assert_cmphex(SEVSNP_HC_RET_EINVAL, ==, (uint64_t)-KVM_EINVAL);

    g_assert_cmpint(SEVSNP_KVM_X86_GRP_SEV, ==, KVM_X86_GRP_SEV);
    g_assert_cmpint(SEVSNP_KVM_X86_SNP_POLICY_BITS, ==,
                    KVM_X86_SNP_POLICY_BITS);
    g_assert_cmpint(SEVSNP_KVM_X86_SEV_SNP_REQ_CERTS, ==,
                    KVM_X86_SEV_SNP_REQ_CERTS);
    g_assert_cmpint(SEVSNP_KVM_SEV_SNP_ENABLE_REQ_CERTS, ==,
                    KVM_SEV_SNP_ENABLE_REQ_CERTS);
}

static void test_layout(void)
{
    struct kvm_run run;

    g_assert_cmpuint(sizeof(struct sevsnp_kvm_exit_snp_req_certs), ==,
                     sizeof(struct kvm_exit_snp_req_certs));
    g_assert_cmpuint(offsetof(struct sevsnp_kvm_exit_snp_req_certs, gpa), ==,
                     offsetof(struct kvm_exit_snp_req_certs, gpa));
    g_assert_cmpuint(offsetof(struct sevsnp_kvm_exit_snp_req_certs, npages),
                     ==, offsetof(struct kvm_exit_snp_req_certs, npages));
    g_assert_cmpuint(offsetof(struct sevsnp_kvm_exit_snp_req_certs, ret), ==,
                     offsetof(struct kvm_exit_snp_req_certs, ret));
    /* The glue reads the member at the start of kvm_run's exit union. */
    g_assert_cmpuint(offsetof(struct kvm_run, snp_req_certs), ==,
                     offsetof(struct kvm_run, hw));
    g_assert_cmpuint(sizeof(run.snp_req_certs), ==,
                     sizeof(struct sevsnp_kvm_exit_snp_req_certs));
    /* The legacy member must fit the union too (seed 001 layout). */
    g_assert_cmpuint(sizeof(struct sevsnp_kvm_user_vmgexit), <=,
                     sizeof(run.padding));
    g_assert_cmpuint(offsetof(struct sevsnp_kvm_user_vmgexit,
                              req_certs.data_gpa), ==, 8);
}

/* A fake /dev/kvm, keyed by the released header's names. */
typedef struct FakeAttr {
    uint32_t group;
    uint64_t attr;
    uint64_t val;
} FakeAttr;

typedef struct FakeKernel {
    const FakeAttr *attrs;
    guint n;
} FakeKernel;

/*
 * What QEMU's reader does with its linux-headers/: KVM_X86_SEV_SNP_REQ_CERTS
 * of KVM_X86_GRP_SEV, by the released header's names.
 */
static int fake_get_attr(void *opaque, uint64_t *val)
{
    const FakeKernel *k = opaque;

    for (guint i = 0; i < k->n; i++) {
        if (k->attrs[i].group == KVM_X86_GRP_SEV &&
            k->attrs[i].attr == KVM_X86_SEV_SNP_REQ_CERTS) {
            *val = k->attrs[i].val;
            return 0;
        }
    }
    return -ENXIO;
}

/* Linux 7.x: VMSA features, policy bits (not 1), REQ_CERTS = 1. */
static const FakeAttr linux7[] = {
    { KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES, 0x1 },
    { KVM_X86_GRP_SEV, KVM_X86_SNP_POLICY_BITS, 0x3fff0000ULL },
    { KVM_X86_GRP_SEV, KVM_X86_SEV_SNP_REQ_CERTS, 1 },
};

/* Linux 6.x with policy bits but no certificate exits. */
static const FakeAttr linux6[] = {
    { KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES, 0x1 },
    { KVM_X86_GRP_SEV, KVM_X86_SNP_POLICY_BITS, 1 },
};

/* A kernel that knows the attribute but says it is not supported. */
static const FakeAttr linux7_off[] = {
    { KVM_X86_GRP_SEV, KVM_X86_SNP_POLICY_BITS, 0x3fff0000ULL },
    { KVM_X86_GRP_SEV, KVM_X86_SEV_SNP_REQ_CERTS, 0 },
};

#define KERNEL(a) { (a), G_N_ELEMENTS(a) }

static void detect(const FakeKernel *k, SevsnpAbiChoice choice,
                   SevsnpAbi want_abi, SevsnpAbiSource want_source)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *detail = NULL;
    SevsnpAbi abi;
    SevsnpAbiSource source;

    g_assert_true(sevsnp_abi_detect(choice, fake_get_attr, (void *)k, &abi,
                                    &source, &detail, &err));
    g_assert_no_error(err);
    g_assert_cmpint(abi, ==, want_abi);
    g_assert_cmpint(source, ==, want_source);
    g_assert_nonnull(detail);
}

static void test_detect_linux7(void)
{
    FakeKernel k = KERNEL(linux7);

    detect(&k, SEVSNP_ABI_CHOICE_AUTO, SEVSNP_ABI_REQ_CERTS,
           SEVSNP_ABI_FROM_ATTRIBUTE);
    g_assert_false(sevsnp_abi_source_warns(SEVSNP_ABI_FROM_ATTRIBUTE));
    detect(&k, SEVSNP_ABI_CHOICE_REQ_CERTS, SEVSNP_ABI_REQ_CERTS,
           SEVSNP_ABI_FROM_CONFIG);
    detect(&k, SEVSNP_ABI_CHOICE_VMGEXIT, SEVSNP_ABI_VMGEXIT,
           SEVSNP_ABI_FROM_CONFIG);
}

static void test_detect_older(void)
{
    FakeKernel k6 = KERNEL(linux6), off = KERNEL(linux7_off);
    g_autoptr(GError) err = NULL;
    SevsnpAbi abi;
    SevsnpAbiSource source;

    detect(&k6, SEVSNP_ABI_CHOICE_AUTO, SEVSNP_ABI_VMGEXIT,
           SEVSNP_ABI_FROM_NO_ATTRIBUTE);
    g_assert_true(sevsnp_abi_source_warns(SEVSNP_ABI_FROM_NO_ATTRIBUTE));
    detect(&off, SEVSNP_ABI_CHOICE_AUTO, SEVSNP_ABI_VMGEXIT,
           SEVSNP_ABI_FROM_UNSUPPORTED);
    g_assert_true(sevsnp_abi_source_warns(SEVSNP_ABI_FROM_UNSUPPORTED));

    g_assert_false(sevsnp_abi_detect(SEVSNP_ABI_CHOICE_REQ_CERTS,
                                     fake_get_attr, &k6, &abi, &source,
                                     NULL, &err));
    g_assert_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "KVM_X86_SEV_SNP_REQ_CERTS"));
}

static void test_detect_no_kvm(void)
{
    SevsnpAbi abi;
    SevsnpAbiSource source;

    g_assert_true(sevsnp_abi_detect(SEVSNP_ABI_CHOICE_AUTO, NULL, NULL, &abi,
                                    &source, NULL, NULL));
    g_assert_cmpint(abi, ==, SEVSNP_ABI_REQ_CERTS);
    g_assert_cmpint(source, ==, SEVSNP_ABI_FROM_NO_KERNEL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/uapi/numbers", test_numbers);
    g_test_add_func("/uapi/layout", test_layout);
    g_test_add_func("/uapi/detect/linux-7", test_detect_linux7);
    g_test_add_func("/uapi/detect/older", test_detect_older);
    g_test_add_func("/uapi/detect/no-kvm", test_detect_no_kvm);
    return g_test_run();
}
