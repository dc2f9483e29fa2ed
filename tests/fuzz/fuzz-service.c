/*
 * libFuzzer target: the request state machine of both ABIs, fed arbitrary
 * (abi, gpa, npages) sequences against fake guest memory with private and
 * MMIO pages, interleaved with held requests, completions and blob
 * changes (valid blobs A and B, and a malformed one).
 *
 * Invariants: nothing is written outside the buffer or into private or
 * MMIO pages; KVM never refuses the ret left for it (a documented value);
 * the guest gets exactly the blob in the file, never the malformed one;
 * the shared locks are held while a request is in flight and released
 * after every completion; an updater gets BUSY while they are held.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksim.h"
#include "fuzz.h"
#include "testutil.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)
#define P SEVSNP_PAGE_SIZE
#define BASE 0x100000ULL
#define MEMPAGES 32
#define FILL 0xcc
#define HELD_BASE 4             /* vCPUs 4..7 make held requests */

static GBytes *blobs[3];        /* A, B valid; C malformed */
static char *path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autoptr(GBytes) milan = test_milan_blob();
    gsize len;
    const uint8_t *m = g_bytes_get_data(milan, &len);
    g_autoptr(GBytes) ark = test_milan(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) ask = test_milan(SEVSNP_CERT_ASK);
    SevsnpCertInput in[2];

    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    in[0].der = ark;
    in[1].der = ask;
    blobs[0] = g_bytes_ref(milan);
    blobs[1] = sevsnp_cert_table_build(in, 2, NULL);
    blobs[2] = g_bytes_new(m, len - 100);
    path = test_write_tmp(blobs[0], "certs.blob");
    return 0;
}

/* Rewrite the blob under the exclusive locks, as an updater does. */
static void put_blob(int which)
{
    int fd = sevsnp_open_locked(path, false, true, 0, NULL);
    gsize len;
    const uint8_t *d = g_bytes_get_data(blobs[which], &len);

    CHECK(fd >= 0);
    CHECK(pwrite(fd, d, len, 0) == (ssize_t)len && ftruncate(fd, len) == 0);
    close(fd);
}

static bool locks_held(void)
{
    return ksim_lock_blocked(path, true, true) &&
           ksim_lock_blocked(path, true, false);
}

static bool locks_free(void)
{
    return !ksim_lock_blocked(path, true, true) &&
           !ksim_lock_blocked(path, true, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t hostile[] = {
        0, 1, UINT64_MAX & ~0xfffULL, BASE - P, BASE + (MEMPAGES - 1) * P,
        0xfffffffffffff000ULL,
    };
    SevsnpService *svc = sevsnp_service_new(path, 0, 0, 0);
    KSimMem *mem = ksim_mem_new(BASE, MEMPAGES, FILL);
    KSimVcpu v[4];
    bool held[4] = { false };
    int current = 0, nheld = 0;

    put_blob(0);
    for (int i = 0; i < 4; i++) {
        ksim_vcpu_init(&v[i], i, i < 2 ? SEVSNP_ABI_REQ_CERTS
                                       : SEVSNP_ABI_VMGEXIT, mem);
    }
    for (size_t off = 0; off + 4 <= size; off += 4) {
        const uint8_t *s = data + off;
        int op = s[0] % 6, k = s[1] % 4;
        uint64_t gpa = (s[2] & 0x80) ? hostile[s[2] % G_N_ELEMENTS(hostile)]
                       : BASE + (s[2] % MEMPAGES) * P + ((s[2] & 0x40) ? 16
                                                                      : 0);
        uint64_t npages = s[3] == 255 ? UINT64_MAX :
                          s[3] == 254 ? (1ULL << 52) : s[3] % 12;
        uint64_t len = MIN(npages, (uint64_t)MEMPAGES) * P;
        gsize blen;
        const uint8_t *want = g_bytes_get_data(blobs[current], &blen);

        switch (op) {
        case 0:
        case 1: {
            memset(mem->bytes, FILL, MEMPAGES * P);
            CHECK(ksim_guest_roundtrip(&v[k], svc, gpa, npages) == 0);
            CHECK(v[k].guest_result <= SEVSNP_GUEST_GENERIC);
            if (v[k].guest_result == SEVSNP_GUEST_OK) {
                CHECK(current != 2);
                CHECK(!memcmp(ksim_mem_ptr(mem, gpa), want, blen));
            }
            CHECK(ksim_mem_untouched_outside(mem, gpa, len, FILL));
            break;
        }
        case 2: {
            SevsnpReqResult r;

            memset(mem->bytes, FILL, MEMPAGES * P);
            r = sevsnp_service_request(svc, HELD_BASE + k, gpa, npages,
                                       &ksim_mem_ops, mem, NULL);
            CHECK(r.outcome <= SEVSNP_REQ_ERROR);
            if (held[k]) {
                nheld--;    /* a new request releases the stale one */
            }
            held[k] = r.outcome == SEVSNP_REQ_OK;
            nheld += held[k];
            CHECK(r.completion_pending == held[k]);
            if (held[k]) {
                CHECK(current != 2);
                CHECK(!memcmp(ksim_mem_ptr(mem, gpa), want, blen));
            }
            CHECK(ksim_mem_untouched_outside(mem, gpa, len, FILL));
            break;
        }
        case 3:
            CHECK(sevsnp_service_complete(svc, HELD_BASE + k) == held[k]);
            nheld -= held[k];
            held[k] = false;
            CHECK(!sevsnp_service_in_flight(svc, HELD_BASE + k));
            break;
        case 4: {
            int which = s[1] % 3;

            if (nheld) {
                GError *err = NULL;

                /* The updater must be told BUSY, and nothing changes. */
                CHECK(!sevsnp_cert_file_install(path, blobs[which % 2], 0,
                                                NULL, &err));
                CHECK(err->code == SEVSNP_ERROR_BUSY);
                g_error_free(err);
            } else {
                put_blob(which);
                current = which;
            }
            break;
        }
        default:
            ksim_mem_set_kind(mem, BASE + (s[1] % MEMPAGES) * P, s[2] % 4,
                              s[3] % 3);
            break;
        }
        CHECK(mem->violations == 0);
        CHECK(nheld ? locks_held() : locks_free());
    }
    sevsnp_service_free(svc);
    CHECK(locks_free());
    ksim_mem_free(mem);
    return 0;
}
