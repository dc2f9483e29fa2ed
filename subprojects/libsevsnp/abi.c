/*
 * libsevsnp: which kernel ABI delivers certificate requests
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "libsevsnp.h"

#define ATTR_NAME "KVM_X86_SEV_SNP_REQ_CERTS (attribute 2 of KVM_X86_GRP_SEV)"

gboolean sevsnp_abi_source_warns(SevsnpAbiSource source)
{
    return source == SEVSNP_ABI_FROM_NO_ATTRIBUTE ||
           source == SEVSNP_ABI_FROM_UNSUPPORTED;
}

gboolean sevsnp_abi_detect(SevsnpAbiChoice choice, SevsnpKvmAttrFn get_attr,
                           void *opaque, SevsnpAbi *abi,
                           SevsnpAbiSource *source, char **detail,
                           GError **err)
{
    g_autofree char *why = NULL;
    uint64_t val = 0;
    bool mainline = false;
    int r = -ENXIO;

    if (!get_attr) {
        *abi = choice == SEVSNP_ABI_CHOICE_VMGEXIT ? SEVSNP_ABI_VMGEXIT
                                                   : SEVSNP_ABI_REQ_CERTS;
        *source = choice == SEVSNP_ABI_CHOICE_AUTO ? SEVSNP_ABI_FROM_NO_KERNEL
                                                   : SEVSNP_ABI_FROM_CONFIG;
        why = g_strdup(choice == SEVSNP_ABI_CHOICE_AUTO ?
                       "no KVM to ask: auto means the mainline ABI" :
                       "named by certs-abi (no KVM to ask)");
        goto out;
    }

    r = get_attr(opaque, &val);
    mainline = r == 0 && val == 1;
    if (mainline) {
        why = g_strdup("the kernel advertises " ATTR_NAME " = 1");
    } else if (r == 0) {
        why = g_strdup_printf("the kernel reports " ATTR_NAME " = %" PRIu64
                              ", not 1: no KVM_EXIT_SNP_REQ_CERTS", val);
    } else {
        why = g_strdup_printf("the kernel has no " ATTR_NAME " (%s): "
                              "a kernel older than Linux 7.0",
                              g_strerror(-r));
    }

    switch (choice) {
    case SEVSNP_ABI_CHOICE_REQ_CERTS:
        if (!mainline) {
            g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_INVALID,
                        "certs-abi=req-certs: %s", why);
            return FALSE;
        }
        *abi = SEVSNP_ABI_REQ_CERTS;
        *source = SEVSNP_ABI_FROM_CONFIG;
        break;
    case SEVSNP_ABI_CHOICE_VMGEXIT:
        *abi = SEVSNP_ABI_VMGEXIT;
        *source = SEVSNP_ABI_FROM_CONFIG;
        break;
    default:
        if (mainline) {
            *abi = SEVSNP_ABI_REQ_CERTS;
            *source = SEVSNP_ABI_FROM_ATTRIBUTE;
        } else {
            char *w = why;

            *abi = SEVSNP_ABI_VMGEXIT;
            *source = r == 0 ? SEVSNP_ABI_FROM_UNSUPPORTED
                             : SEVSNP_ABI_FROM_NO_ATTRIBUTE;
            why = g_strdup_printf("%s; assuming AMD's legacy "
                                  "KVM_EXIT_VMGEXIT kernel (on a mainline "
                                  "kernel older than 7.0 guests get no "
                                  "certificates at all)", w);
            g_free(w);
        }
        break;
    }
out:
    if (detail) {
        *detail = g_steal_pointer(&why);
    }
    return TRUE;
}
