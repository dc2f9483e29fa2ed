/*
 * qtests of SEV-SNP shared/private conversions: the real handlers of
 * KVM_HC_MAP_GPA_RANGE and KVM_EXIT_MEMORY_FAULT, injected under -accel
 * qtest (no KVM: no memory attributes to set, a failure injected where
 * a test asks for one).
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "standard-headers/linux/kvm_para.h"

#define P ((uint64_t)4096)
#define LOW_END (2 * GiB)           /* q35 with more than 2.75 GiB */
#define HIGH_START (4 * GiB)
#define HIGH_SIZE (3 * GiB)
#define FILL 0xcc
/* What KVM reads in hypercall.ret for a refused KVM_HC_MAP_GPA_RANGE. */
#define HC_RET_EINVAL ((uint64_t)-KVM_EINVAL)

static char *tmpdir;

/* The empty certificate table: the all-zero terminating entry alone. */
static const uint8_t empty_table[24];

static const char *firmware_dir(void)
{
    const char *d = g_getenv("QEMU_SNP_FIRMWARE_DIR");

    return d ? d : "/usr/share/seabios";
}

/* q35 with 5 GiB: low RAM below 2 GiB, high RAM from 4 GiB. */
static QTestState *start(const char *extra)
{
    return qtest_initf("-machine q35 -accel qtest -m 5G -smp 2 -nodefaults "
                       "-L %s -object sev-snp-guest,id=sev0,cbitpos=51,"
                       "reduced-phys-bits=1%s", firmware_dir(),
                       extra ? extra : "");
}

/* q35 with 2 GiB on two NUMA nodes: node 0 below 1 GiB, node 1 above. */
#define NODE1 (1 * GiB)

static QTestState *start_numa(void)
{
    return qtest_initf("-machine q35 -accel qtest -m 2G -smp 2 -nodefaults "
                       "-L %s -object sev-snp-guest,id=sev0,cbitpos=51,"
                       "reduced-phys-bits=1 "
                       "-object memory-backend-ram,id=m0,size=1G "
                       "-object memory-backend-ram,id=m1,size=1G "
                       "-numa node,nodeid=0,memdev=m0 "
                       "-numa node,nodeid=1,memdev=m1", firmware_dir());
}

/*
 * The results of a test entry point ("sev-snp ..." on the qtest
 * protocol) that must not fail.
 */
static gchar **sev_snp(QTestState *qts, const char *cmd)
{
    gchar **w = qtest_sev_snp(qts, "%s", cmd);
    g_autofree char *reply = g_strjoinv(" ", w);

    g_assert_cmpstr(w[0], ==, "OK");
    g_test_message("sev-snp %s: %s", cmd, reply);
    return w;
}

/*
 * A KVM_HC_MAP_GPA_RANGE exit of vCPU 0 (made to fail on the piece that
 * holds @fail_at unless it is 0): the hypercall's ret.
 */
static uint64_t map_failing(QTestState *qts, uint64_t gpa, uint64_t npages,
                            bool priv, uint64_t fail_at)
{
    g_autofree char *cmd = g_strdup_printf(
        "map-gpa-range 0 0x%" PRIx64 " %" PRIu64 " %s", gpa, npages,
        priv ? "private" : "shared");
    g_autofree char *failing = fail_at ?
        g_strdup_printf("%s 0x%" PRIx64, cmd, fail_at) : NULL;
    g_auto(GStrv) w = sev_snp(qts, failing ? failing : cmd);

    g_assert_nonnull(w[1]);
    return g_ascii_strtoull(w[1], NULL, 0);
}

static uint64_t map(QTestState *qts, uint64_t gpa, uint64_t npages,
                    bool priv)
{
    return map_failing(qts, gpa, npages, priv, 0);
}

/* A KVM_EXIT_MEMORY_FAULT of vCPU 0: converted, or a guest panic. */
static bool fault(QTestState *qts, uint64_t gpa, uint64_t size, bool priv)
{
    g_autofree char *cmd = g_strdup_printf(
        "memory-fault 0 0x%" PRIx64 " %" PRIu64 " %s", gpa, size,
        priv ? "private" : "shared");
    g_auto(GStrv) w = sev_snp(qts, cmd);

    g_assert_true(!g_strcmp0(w[1], "converted") ||
                  !g_strcmp0(w[1], "panicked"));
    return !strcmp(w[1], "converted");
}

/* A certificate request of vCPU 0, completed: what the guest sees. */
static char *req_certs(QTestState *qts, uint64_t gpa, uint64_t npages)
{
    g_autofree char *cmd = g_strdup_printf(
        "req-certs 0 0x%" PRIx64 " %" PRIu64, gpa, npages);
    g_auto(GStrv) w = sev_snp(qts, cmd);

    g_assert_nonnull(w[4]);
    return g_strdup(w[4]);
}

static QDict *memq(QTestState *qts)
{
    return qtest_qmp_assert_success_ref(qts,
        "{'execute': 'query-sev-snp-memory'}");
}

static uint64_t mem_stat(QTestState *qts, const char *name)
{
    g_autoptr(QDict) q = memq(qts);

    return qdict_get_int(q, name);
}

/* Region @i of the query: its gpa and its shared bytes. */
static void region(QTestState *qts, int i, uint64_t *gpa, uint64_t *size,
                   uint64_t *shared)
{
    g_autoptr(QDict) q = memq(qts);
    QList *l = qdict_get_qlist(q, "regions");
    QListEntry *e;
    int k = 0;

    QLIST_FOREACH_ENTRY(l, e) {
        if (k++ == i) {
            QDict *d = qobject_to(QDict, qlist_entry_obj(e));

            *gpa = qdict_get_int(d, "gpa");
            *size = qdict_get_int(d, "size");
            *shared = qdict_get_int(d, "shared-bytes");
            return;
        }
    }
    g_assert_not_reached();
}

/* The region holding @gpa: its index. */
static int region_of(QTestState *qts, uint64_t gpa)
{
    for (int i = 0;; i++) {
        uint64_t g, size, shared;

        region(qts, i, &g, &size, &shared);
        if (gpa >= g && gpa - g < size) {
            return i;
        }
    }
}

static uint64_t region_shared(QTestState *qts, uint64_t gpa)
{
    uint64_t g, size, shared;

    region(qts, region_of(qts, gpa), &g, &size, &shared);
    return shared;
}

static void test_regions(void)
{
    QTestState *qts = start(NULL);
    g_autoptr(QDict) q = memq(qts);
    uint64_t gpa, size, shared, total = 0;
    int n = qlist_size(qdict_get_qlist(q, "regions"));

    /* Low RAM ends at 2 GiB, high RAM is one region of 3 GiB at 4 GiB. */
    region(qts, n - 1, &gpa, &size, &shared);
    g_assert_cmphex(gpa, ==, HIGH_START);
    g_assert_cmphex(size, ==, HIGH_SIZE);
    region(qts, n - 2, &gpa, &size, &shared);
    g_assert_cmphex(gpa + size, ==, LOW_END);
    for (int i = 0; i < n; i++) {
        region(qts, i, &gpa, &size, &shared);
        g_assert_cmpuint(shared, ==, 0);
        total += size;
    }
    /* Everything starts private. */
    g_assert_cmpuint(qdict_get_int(q, "private-bytes"), ==, total);
    g_assert_cmpuint(qdict_get_int(q, "shared-bytes"), ==, 0);
    g_assert_cmpuint(total, >, 5 * GiB - 2 * MiB);
    qtest_quit(qts);
}

/* Every validation rule answers the guest with an error; VM keeps running. */
static void test_validation(void)
{
    static const struct {
        uint64_t gpa, npages;
        bool priv;
        const char *why;
    } bad[] = {
        { 0x100000, 0, false, "0 pages" },
        { 0x100800, 1, false, "not 4 KiB aligned" },
        { 0xfffffffffffff000ULL, 2, false, "past the end" },
        { 0x100000, UINT64_MAX, true, "past the end" },
        { 0xfec00000ULL, 1, true, "is not RAM" },          /* IOAPIC */
        { LOW_END - P, 2, true, "is not RAM" },             /* into hole */
        { HIGH_START + HIGH_SIZE - P, 2, true, "is not RAM" },
    };
    QTestState *qts = start(NULL);
    uint64_t priv_before = mem_stat(qts, "private-bytes");
    g_autoptr(QDict) ev = NULL;
    g_autoptr(QDict) st = NULL;

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(QDict) q = NULL;

        g_assert_cmphex(map(qts, bad[i].gpa, bad[i].npages, bad[i].priv), ==,
                        HC_RET_EINVAL);
        q = memq(qts);
        g_assert_cmpuint(qdict_get_int(q, "rejected"), ==, i + 1);
        g_assert_nonnull(strstr(qdict_get_str(q, "last-error"),
                                bad[i].why));
        g_assert_cmpuint(qdict_get_int(q, "private-bytes"), ==, priv_before);
        g_assert_cmpuint(qdict_get_int(q, "shared-bytes"), ==, 0);
    }
    /* The first refusal's event (later ones are throttled). */
    ev = qtest_qmp_eventwait_ref(qts, "SEV_SNP_MEMORY_ERROR");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "source"), ==,
                    "map-gpa-range");
    g_assert_false(qdict_get_bool(qdict_get_qdict(ev, "data"),
                                  "vm-stopped"));
    /* To shared of MMIO: success, nothing to do, as upstream. */
    g_assert_cmphex(map(qts, 0xfec00000ULL, 1, false), ==, 0);
    g_assert_cmpuint(mem_stat(qts, "shared-bytes"), ==, 0);
    st = qtest_qmp_assert_success_ref(qts, "{'execute': 'query-status'}");
    g_assert_cmpstr(qdict_get_str(st, "status"), ==, "running");
    qtest_quit(qts);
}

/* Is this QEMU 10.1 or later (RamBlockAttributes)? */
static bool qemu_at_least_10_1(QTestState *qts)
{
    g_autoptr(QDict) r = qtest_qmp_assert_success_ref(qts,
        "{'execute': 'query-version'}");
    QDict *q = qdict_get_qdict(r, "qemu");
    int64_t major = qdict_get_int(q, "major");

    return major > 10 || (major == 10 && qdict_get_int(q, "minor") >= 1);
}

/*
 * A range across low RAM, the PCI hole and high RAM.  To shared, each side
 * is converted and the MMIO in between skipped; but the BIOS ROM at the
 * top of 4 GiB is neither RAM nor MMIO: QEMU 10.1 and later refuse the
 * range, as upstream's kvm_convert_memory() refuses ROM, while QEMU 10.0's
 * tracker, which only knows RAM, skips it.  To private it is refused.
 */
static void test_split_across_sections(void)
{
    QTestState *qts = start(NULL);
    uint64_t npages = (HIGH_START - LOW_END) / P + 4;
    const uint64_t bios = 0xfffc0000ULL;
    g_autoptr(QDict) q = NULL;

    /* Up to the ROM: RAM converted, MMIO skipped. */
    g_assert_cmphex(map(qts, LOW_END - 2 * P, (bios - LOW_END) / P + 2,
                        false), ==, 0);
    g_assert_cmpuint(region_shared(qts, LOW_END - P), ==, 2 * P);
    if (qemu_at_least_10_1(qts)) {
        g_assert_cmphex(map(qts, LOW_END - 2 * P, npages, false), ==,
                        HC_RET_EINVAL);
        q = memq(qts);
        g_assert_nonnull(strstr(qdict_get_str(q, "last-error"), "pc.bios"));
        g_assert_cmpuint(region_shared(qts, HIGH_START), ==, 0);
        g_assert_cmphex(map(qts, HIGH_START, 2, false), ==, 0);
    } else {
        g_assert_cmphex(map(qts, LOW_END - 2 * P, npages, false), ==, 0);
    }
    g_assert_cmpuint(region_shared(qts, HIGH_START), ==, 2 * P);
    qobject_unref(q);
    q = memq(qts);
    g_assert_cmpuint(qdict_get_int(q, "shared-bytes"), ==, 4 * P);
    g_assert_cmpuint(qdict_get_int(q, "pages-to-shared"), ==, 4);

    /* Back to private: refused across the hole, fine side by side. */
    g_assert_cmphex(map(qts, LOW_END - 2 * P, npages, true), ==,
                    HC_RET_EINVAL);
    g_assert_cmpuint(mem_stat(qts, "shared-bytes"), ==, 4 * P);
    g_assert_cmphex(map(qts, LOW_END - 2 * P, 2, true), ==, 0);
    g_assert_cmphex(map(qts, HIGH_START, 2, true), ==, 0);
    g_assert_cmpuint(mem_stat(qts, "shared-bytes"), ==, 0);
    qtest_quit(qts);
}

/*
 * All or nothing when applying: a conversion across the two nodes of a
 * NUMA guest whose second piece fails leaves the first one as it was, and
 * the counters agree with the page state.
 */
static void test_rollback_numa(void)
{
    QTestState *qts = start_numa();
    uint64_t gpa, size, shared;
    g_autoptr(QDict) q = NULL;

    /* The nodes are regions of their own, on each side of 1 GiB. */
    region(qts, region_of(qts, NODE1 - P), &gpa, &size, &shared);
    g_assert_cmphex(gpa + size, ==, NODE1);
    region(qts, region_of(qts, NODE1), &gpa, &size, &shared);
    g_assert_cmphex(gpa, ==, NODE1);

    /* Page NODE1 - P shared already: the first piece is mixed. */
    g_assert_cmphex(map(qts, NODE1 - P, 1, false), ==, 0);
    g_assert_cmphex(map_failing(qts, NODE1 - 4 * P, 8, false, NODE1 + P), ==,
                    HC_RET_EINVAL);
    q = memq(qts);
    g_assert_nonnull(strstr(qdict_get_str(q, "last-error"), "to shared"));
    g_assert_cmpuint(qdict_get_int(q, "rejected"), ==, 1);
    g_assert_cmpuint(qdict_get_int(q, "conversions-to-shared"), ==, 1);
    g_assert_cmpuint(qdict_get_int(q, "pages-to-shared"), ==, 1);
    g_assert_cmpuint(qdict_get_int(q, "shared-bytes"), ==, P);
    g_assert_cmpuint(region_shared(qts, NODE1 - P), ==, P);
    g_assert_cmpuint(region_shared(qts, NODE1), ==, 0);

    /* Converting the same again without the failure: both nodes. */
    g_assert_cmphex(map(qts, NODE1 - 4 * P, 8, false), ==, 0);
    g_assert_cmpuint(region_shared(qts, NODE1 - P), ==, 4 * P);
    g_assert_cmpuint(region_shared(qts, NODE1), ==, 4 * P);
    qobject_unref(q);
    q = memq(qts);
    g_assert_cmpuint(qdict_get_int(q, "pages-to-shared"), ==, 1 + 7);
    g_assert_cmpuint(qdict_get_int(q, "shared-bytes"), ==, 8 * P);
    qtest_quit(qts);
}

/* Write @val to the q35 host bridge's config byte @reg. */
static void mch_write(QTestState *qts, uint8_t reg, uint8_t val)
{
    qtest_outl(qts, 0xcf8, 0x80000000u | (reg & 0xfc));
    qtest_outb(qts, 0xcfc + (reg & 3), val);
}

/*
 * The memory map is followed as it changes: RAM that PAM maps at
 * 0xc0000-0xfffff after the machine is built is tracked and converts,
 * and the pages that stay RAM keep their state.
 */
static void test_follows_memory_map(void)
{
    g_autofree char *blob = g_build_filename(tmpdir, "pam.blob", NULL);
    g_autofree char *extra = g_strdup_printf(",certs-path=%s", blob);
    g_autofree char *r = NULL;
    QTestState *qts;
    uint64_t before;
    const uint64_t pam = 0xc0000;

    g_assert_true(g_file_set_contents(blob, (const char *)empty_table,
                                      sizeof(empty_table), NULL));
    qts = start(extra);
    before = mem_stat(qts, "private-bytes");

    g_assert_cmphex(map(qts, 0x200000, 2, false), ==, 0);
    /* Not RAM yet (PCI: option ROMs): refused to private. */
    g_assert_cmphex(map(qts, pam, 1, true), ==, HC_RET_EINVAL);
    g_assert_cmpuint(mem_stat(qts, "shared-bytes"), ==, 2 * P);

    /* PAM0..6 (0x90-0x96): 0xc0000-0xfffff read-write RAM. */
    mch_write(qts, 0x90, 0x30);
    for (uint8_t reg = 0x91; reg <= 0x96; reg++) {
        mch_write(qts, reg, 0x33);
    }
    g_assert_cmpuint(mem_stat(qts, "private-bytes"), ==,
                     before - 2 * P + 256 * KiB);
    g_assert_cmpuint(region_shared(qts, pam), ==, 2 * P);
    g_assert_cmphex(map(qts, pam, 4, false), ==, 0);
    g_assert_cmpuint(mem_stat(qts, "shared-bytes"), ==, 6 * P);
    /* A certificate buffer there is served. */
    r = req_certs(qts, pam, 4);
    g_assert_cmpstr(r, ==, "ok");
    g_assert_cmphex(map(qts, pam, 1, true), ==, 0);
    g_assert_cmpuint(mem_stat(qts, "shared-bytes"), ==, 5 * P);

    /* Back to PCI: gone from the view; the rest keeps its state. */
    for (uint8_t reg = 0x90; reg <= 0x96; reg++) {
        mch_write(qts, reg, 0);
    }
    g_assert_cmpuint(mem_stat(qts, "shared-bytes"), ==, 2 * P);
    g_assert_cmphex(map(qts, pam, 1, true), ==, HC_RET_EINVAL);
    qtest_quit(qts);
    unlink(blob);
}

/* The totals after a scripted sequence. */
static void test_totals(void)
{
    QTestState *qts = start(NULL);
    uint64_t total = mem_stat(qts, "private-bytes");
    g_autoptr(QDict) q = NULL;

    g_assert_cmphex(map(qts, 0x100000, 256, false), ==, 0);     /* 1 MiB */
    g_assert_cmphex(map(qts, 0x100000, 16, false), ==, 0);      /* again */
    g_assert_cmphex(map(qts, 0x180000, 128, true), ==, 0);      /* half */
    g_assert_cmphex(map(qts, HIGH_START, 1024, false), ==, 0);  /* 4 MiB */
    g_assert_cmphex(map(qts, 0, 0, false), ==, HC_RET_EINVAL);
    g_assert_true(fault(qts, 0x300000, 2 * P, false));
    q = memq(qts);
    g_assert_cmpuint(qdict_get_int(q, "shared-bytes"), ==,
                     512 * KiB + 4 * MiB + 2 * P);
    g_assert_cmpuint(qdict_get_int(q, "private-bytes"), ==,
                     total - (512 * KiB + 4 * MiB + 2 * P));
    g_assert_cmpuint(qdict_get_int(q, "conversions-to-shared"), ==, 4);
    g_assert_cmpuint(qdict_get_int(q, "conversions-to-private"), ==, 1);
    g_assert_cmpuint(qdict_get_int(q, "pages-to-shared"), ==,
                     256 + 1024 + 2);
    g_assert_cmpuint(qdict_get_int(q, "pages-to-private"), ==, 128);
    g_assert_cmpuint(qdict_get_int(q, "explicit-requests"), ==, 5);
    g_assert_cmpuint(qdict_get_int(q, "implicit-requests"), ==, 1);
    g_assert_cmpuint(qdict_get_int(q, "rejected"), ==, 1);
    g_assert_cmpuint(qdict_get_int(q, "released-bytes"), ==, 128 * P);
    {
        g_autofree char *hmp = qtest_hmp(qts, "info sev-snp-memory");

        g_assert_nonnull(strstr(hmp, "conversions: to private 1 (128 "
                                "pages), to shared 4 (1282 pages)"));
        g_assert_nonnull(strstr(hmp, "rejected 1; released 512 KiB"));
    }
    qtest_quit(qts);
}

/*
 * An implicit conversion that cannot be done is a guest panic: the
 * GUEST_PANICKED event, then the panic action (pause here: the VM stops
 * as guest-panicked and QEMU stays; QEMU's default, shutdown, ends it).
 */
static void test_memory_fault_stops(void)
{
    QTestState *qts = start(" -action panic=pause");
    g_autoptr(QDict) st = NULL;
    g_autoptr(QDict) q = NULL;
    g_autoptr(QDict) ev = NULL;

    g_assert_false(fault(qts, 0xfed00000ULL, 4096, true));
    ev = qtest_qmp_eventwait_ref(qts, "GUEST_PANICKED");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "action"), ==,
                    "pause");
    qtest_qmp_eventwait(qts, "STOP");
    st = qtest_qmp_assert_success_ref(qts, "{'execute': 'query-status'}");
    g_assert_cmpstr(qdict_get_str(st, "status"), ==, "guest-panicked");
    q = memq(qts);
    g_assert_nonnull(strstr(qdict_get_str(q, "last-error"), "is not RAM"));
    g_assert_cmpuint(qdict_get_int(q, "implicit-requests"), ==, 1);
    g_assert_cmpuint(qdict_get_int(q, "rejected"), ==, 1);
    qtest_quit(qts);

    /* A fault whose size is not whole pages: refused the same way. */
    qts = start(" -action panic=pause");
    g_assert_false(fault(qts, 1048576, 100, false));
    qtest_qmp_eventwait(qts, "STOP");
    qobject_unref(q);
    q = memq(qts);
    g_assert_nonnull(strstr(qdict_get_str(q, "last-error"),
                            "size is not whole pages"));
    qtest_quit(qts);

    /* QEMU's default panic action, shutdown: QEMU ends, status 0. */
    qts = start(NULL);
    g_assert_false(fault(qts, 0xfed00000ULL, 4096, true));
    qobject_unref(ev);
    ev = qtest_qmp_eventwait_ref(qts, "GUEST_PANICKED");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "action"), ==,
                    "poweroff");
    qobject_unref(ev);
    ev = qtest_qmp_eventwait_ref(qts, "SHUTDOWN");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "reason"), ==,
                    "guest-panic");
    qtest_quit(qts);
}

/* A certificate request into a buffer gone private fails, writes nothing. */
static void test_certs_into_private(void)
{
    g_autofree char *blob = g_build_filename(tmpdir, "certs.blob", NULL);
    g_autofree char *extra = NULL;
    const uint64_t buf = 0x200000;
    uint8_t got[4 * P];
    QTestState *qts;
    g_autofree char *r = NULL;
    g_autofree char *r2 = NULL;

    g_assert_true(g_file_set_contents(blob, (const char *)empty_table,
                                      sizeof(empty_table), NULL));
    extra = g_strdup_printf(",certs-path=%s", blob);
    qts = start(extra);
    g_assert_cmphex(map(qts, buf, 4, false), ==, 0);
    g_assert_cmphex(map(qts, buf + 2 * P, 1, true), ==, 0);
    qtest_memset(qts, buf, FILL, sizeof(got));
    r = req_certs(qts, buf, 4);
    g_assert_cmpstr(r, ==, "generic");
    qtest_memread(qts, buf, got, sizeof(got));
    for (size_t i = 0; i < sizeof(got); i++) {
        g_assert_cmphex(got[i], ==, FILL);
    }
    /* Shared again: served. */
    g_assert_cmphex(map(qts, buf + 2 * P, 1, false), ==, 0);
    r2 = req_certs(qts, buf, 4);
    g_assert_cmpstr(r2, ==, "ok");
    qtest_quit(qts);
    unlink(blob);
}

/* Bytes of @path's storage, as its file system counts them. */
static uint64_t allocated(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return (uint64_t)st.st_blocks * 512;
}

/*
 * Shared to private releases the shared backing.  Guest RAM is a shared
 * file here, so that the test sees the release from outside QEMU: the
 * file's storage drops by the range.
 */
static void test_release_backing(void)
{
    const uint64_t gpa = 256 * MiB, size = 128 * MiB;
    g_autofree char *mem = g_build_filename(tmpdir, "ram", NULL);
    QTestState *qts;
    uint64_t before, after;

    qts = qtest_initf("-machine q35,memory-backend=ram0 -accel qtest "
                      "-m 512M -smp 2 -nodefaults -L %s "
                      "-object memory-backend-file,id=ram0,size=512M,"
                      "mem-path=%s,share=on "
                      "-object sev-snp-guest,id=sev0,cbitpos=51,"
                      "reduced-phys-bits=1", firmware_dir(), mem);
    g_assert_cmphex(map(qts, gpa, size / P, false), ==, 0);
    qtest_memset(qts, gpa, 0x5a, size);
    before = allocated(mem);
    g_assert_cmphex(map(qts, gpa, size / P, true), ==, 0);
    after = allocated(mem);
    g_test_message("backing file %" PRIu64 " KiB -> %" PRIu64 " KiB",
                   before / KiB, after / KiB);
    g_assert_cmpuint(before - MIN(before, after), >=, size * 9 / 10);
    g_assert_cmpuint(mem_stat(qts, "released-bytes"), ==, size);
    qtest_quit(qts);
    unlink(mem);
}

int main(int argc, char **argv)
{
    int r;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("sev-snp-memory-test-XXXXXX", NULL);
    qtest_add_func("/sev-snp-memory/regions", test_regions);
    qtest_add_func("/sev-snp-memory/validation", test_validation);
    qtest_add_func("/sev-snp-memory/split-across-sections",
                   test_split_across_sections);
    qtest_add_func("/sev-snp-memory/totals", test_totals);
    qtest_add_func("/sev-snp-memory/rollback-numa", test_rollback_numa);
    qtest_add_func("/sev-snp-memory/follows-memory-map",
                   test_follows_memory_map);
    qtest_add_func("/sev-snp-memory/memory-fault-stops",
                   test_memory_fault_stops);
    qtest_add_func("/sev-snp-memory/certs-into-private",
                   test_certs_into_private);
    qtest_add_func("/sev-snp-memory/release-backing", test_release_backing);
    r = g_test_run();
    rmdir(tmpdir);
    g_free(tmpdir);
    return r;
}
