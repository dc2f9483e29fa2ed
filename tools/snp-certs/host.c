/*
 * snp-certs host status: the SNP platform status and chip id of this
 * host, from the SEV device (SNP_PLATFORM_STATUS and GET_ID2 through
 * SEV_ISSUE_CMD, as the kernel's uapi header defines them).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <linux/psp-sev.h>

#include "snp-certs.h"

#define DEFAULT_DEVICE "/dev/sev"

/* The product of the CPU we run on, from CPUID leaf 1. */
static SevsnpProduct cpu_product(void)
{
    unsigned a, b, c, d, fam, model;

    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return SEVSNP_PRODUCT_UNKNOWN;
    }
    fam = (a >> 8) & 0xf;
    model = (a >> 4) & 0xf;
    if (fam == 0xf) {
        fam += (a >> 20) & 0xff;
        model |= ((a >> 16) & 0xf) << 4;
    }
    return sevsnp_product_from_cpuid(fam, model);
}

static gboolean issue(int fd, const char *device, uint32_t cmd, void *data,
                      const char *what, GError **err)
{
    struct sev_issue_cmd arg = { .cmd = cmd, .data = (uintptr_t)data };

    if (ioctl(fd, SEV_ISSUE_CMD, &arg) < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "%s: %s failed: %s (firmware error 0x%x)", device, what,
                    g_strerror(errno), arg.error);
        return FALSE;
    }
    return TRUE;
}

gboolean snp_host_query(const char *device, SnpHostInfo *info, GError **err)
{
    struct sev_user_data_snp_status st;
    struct sev_user_data_get_id2 id = { 0 };
    int fd;
    gboolean ok;

    memset(info, 0, sizeof(*info));
    memset(&st, 0, sizeof(st));
    fd = open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "%s: %s (is this an AMD SEV-SNP host with the ccp "
                    "driver loaded?)", device, g_strerror(errno));
        return FALSE;
    }
    id.address = (uintptr_t)info->chip_id;
    id.length = sizeof(info->chip_id);
    ok = issue(fd, device, SNP_PLATFORM_STATUS, &st, "SNP_PLATFORM_STATUS",
               err) &&
         issue(fd, device, SEV_GET_ID2, &id, "GET_ID2", err);
    close(fd);
    if (!ok) {
        return FALSE;
    }
    if (id.length == 0 || id.length > sizeof(info->chip_id)) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO,
                    "%s: GET_ID2 returned a %u-byte id", device, id.length);
        return FALSE;
    }
    info->api_major = st.api_major;
    info->api_minor = st.api_minor;
    info->state = st.state;
    info->rmp_initialized = st.is_rmp_initialized;
    info->build_id = st.build_id;
    info->mask_chip_id = st.mask_chip_id;
    info->mask_chip_key = st.mask_chip_key;
    info->vlek_en = st.vlek_en;
    info->guest_count = st.guest_count;
    info->current_tcb = st.current_tcb_version;
    info->reported_tcb = st.reported_tcb_version;
    info->chip_id_len = id.length;
    info->product = cpu_product();
    return TRUE;
}

static const char *state_name(uint8_t s)
{
    switch (s) {
    case 0:
        return "uninit";
    case 1:
        return "init";
    default:
        return "unknown";
    }
}

static void add_tcb(JsonBuilder *b, const char *name, uint64_t raw,
                    SevsnpProduct p)
{
    SevsnpTcb t = sevsnp_tcb_decode(raw, p);
    g_autofree char *s = g_strdup_printf("0x%016" G_GINT64_MODIFIER "x", raw);

    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "raw");
    json_builder_add_string_value(b, s);
    json_builder_set_member_name(b, "bootloader");
    json_builder_add_int_value(b, t.bootloader);
    json_builder_set_member_name(b, "tee");
    json_builder_add_int_value(b, t.tee);
    json_builder_set_member_name(b, "snp");
    json_builder_add_int_value(b, t.snp);
    json_builder_set_member_name(b, "microcode");
    json_builder_add_int_value(b, t.microcode);
    if (p == SEVSNP_PRODUCT_TURIN) {
        json_builder_set_member_name(b, "fmc");
        json_builder_add_int_value(b, t.fmc);
    }
    json_builder_end_object(b);
}

static char *hex(const uint8_t *d, size_t n)
{
    GString *s = g_string_sized_new(2 * n);

    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(s, "%02x", d[i]);
    }
    return g_string_free(s, FALSE);
}

int cmd_host(int argc, char **argv)
{
    gboolean json = FALSE;
    g_autofree char *device = NULL, *product = NULL;
    GOptionEntry opts[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print JSON for machines", NULL },
        { "device", 0, 0, G_OPTION_ARG_FILENAME, &device,
          "the SEV device (default " DEFAULT_DEVICE ")", "PATH" },
        { "product", 0, 0, G_OPTION_ARG_STRING, &product,
          "decode TCBs as this product's (default: from CPUID)",
          "Milan|Genoa|Turin" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("status - the SNP platform status of this "
                             "host");
    g_autoptr(GError) err = NULL;
    g_autofree char *chip = NULL, *cur = NULL, *rep = NULL;
    SnpHostInfo info;
    SevsnpProduct p;

    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "Issues SNP_PLATFORM_STATUS and GET_ID2 on the SEV device: the "
        "firmware version, the current and reported TCB and the chip id, "
        "which 'snp-certs fetch --host' uses.");
    if (!parse_options(ctx, &argc, &argv)) {
        return EXIT_USAGE;
    }
    if (argc != 2 || strcmp(argv[1], "status")) {
        die_msg("host: expected 'status' (try host --help)");
        return EXIT_USAGE;
    }
    if (!snp_host_query(device ? device : DEFAULT_DEVICE, &info, &err)) {
        die_msg("%s", err->message);
        return EXIT_USAGE;
    }
    p = info.product;
    if (product && !sevsnp_product_from_name(product, &p)) {
        die_msg("--product '%s' is not Milan, Genoa or Turin", product);
        return EXIT_USAGE;
    }
    chip = hex(info.chip_id, info.chip_id_len);
    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *text = NULL;
        g_autofree char *api = g_strdup_printf("%u.%u", info.api_major,
                                               info.api_minor);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "product");
        json_builder_add_string_value(b, sevsnp_product_name(p));
        json_builder_set_member_name(b, "api-version");
        json_builder_add_string_value(b, api);
        json_builder_set_member_name(b, "build-id");
        json_builder_add_int_value(b, info.build_id);
        json_builder_set_member_name(b, "state");
        json_builder_add_string_value(b, state_name(info.state));
        json_builder_set_member_name(b, "rmp-initialized");
        json_builder_add_boolean_value(b, info.rmp_initialized);
        json_builder_set_member_name(b, "mask-chip-id");
        json_builder_add_boolean_value(b, info.mask_chip_id);
        json_builder_set_member_name(b, "mask-chip-key");
        json_builder_add_boolean_value(b, info.mask_chip_key);
        json_builder_set_member_name(b, "vlek-loaded");
        json_builder_add_boolean_value(b, info.vlek_en);
        json_builder_set_member_name(b, "guest-count");
        json_builder_add_int_value(b, info.guest_count);
        add_tcb(b, "current-tcb", info.current_tcb, p);
        add_tcb(b, "reported-tcb", info.reported_tcb, p);
        json_builder_set_member_name(b, "chip-id");
        json_builder_add_string_value(b, chip);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        json_generator_set_root(gen, root);
        json_generator_set_pretty(gen, TRUE);
        text = json_generator_to_data(gen, NULL);
        printf("%s\n", text);
        return EXIT_OK;
    }
    {
        SevsnpTcb ct = sevsnp_tcb_decode(info.current_tcb, p);
        SevsnpTcb rt = sevsnp_tcb_decode(info.reported_tcb, p);

        cur = sevsnp_tcb_to_string(&ct, p);
        rep = sevsnp_tcb_to_string(&rt, p);
    }
    printf("product:       %s\n", sevsnp_product_name(p));
    printf("api version:   %u.%u (build %u)\n", info.api_major,
           info.api_minor, info.build_id);
    printf("state:         %s%s\n", state_name(info.state),
           info.rmp_initialized ? ", RMP initialised" : "");
    printf("guests:        %u\n", info.guest_count);
    printf("mask chip id:  %s\n", info.mask_chip_id ? "yes" : "no");
    printf("mask chip key: %s\n", info.mask_chip_key ? "yes" : "no");
    printf("VLEK loaded:   %s\n", info.vlek_en ? "yes" : "no");
    printf("current TCB:   %s (0x%016" G_GINT64_MODIFIER "x)\n", cur,
           info.current_tcb);
    printf("reported TCB:  %s (0x%016" G_GINT64_MODIFIER "x)\n", rep,
           info.reported_tcb);
    printf("chip id:       %s\n", chip);
    return EXIT_OK;
}
