/*
 * libFuzzer target: the certificate service, judged by what a Linux guest
 * does with each answer.
 *
 * The service as QEMU has it: QEMU's copy of libsevsnp (crypto=none),
 * which checks the table's structure and serves what the operator
 * installed.  A sequence of guest requests (both ABIs, hostile
 * gpa/npages, buffers in private and MMIO pages, requests held across
 * other steps) is interleaved with host events: the blob rewritten
 * (valid, well-formed with a certificate changed, or malformed),
 * deleted, replaced by a FIFO or a directory, an updater holding the
 * exclusive locks, sev-snp-set-certs to another file, a bad file or
 * nothing, the rate limit and the busy limit changed.
 *
 * The oracle is the guest's.  A Linux guest wipes its VMPCK for any
 * answer but success, INVALID_LEN and (bounded) BUSY; so:
 *  - the generic error only, and always, for a buffer the guest got wrong
 *    (unaligned, overflowing, not entirely shared RAM);
 *  - BUSY only while an updater holds the lock or the rate limit is on,
 *    and never with the busy limit at 0;
 *  - INVALID_LEN only for a buffer smaller than the valid blob in service,
 *    with exactly the pages it needs;
 *  - success with exactly the blob in service, byte for byte (a
 *    well-formed one whose certificate was changed in place too: chains
 *    are the operator's tool's to judge), or with an empty table when
 *    there is none to give (host fault, serving off, busy limit): never
 *    the malformed blob, never a file no longer in service;
 * and, as before: nothing is written outside the buffer or into private
 * or MMIO pages; KVM never refuses the ret left for it; the shared locks
 * are held while a request is in flight and released after its
 * completion; an updater gets BUSY while they are held.
 *
 * Speed: the files live in memfs, an in-memory file system with Linux's
 * lock semantics (memfs.c): system calls were most of an execution's
 * time.  One guest memory for the whole run, written-extent tracking
 * instead of scanning it, the buffer alone refilled before a request;
 * the lock probes only after the steps that move locks.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ksim.h"
#include "fuzz.h"
#include "memfs.h"
#include "testutil.h"

#define CHECK(cond) do { if (!(cond)) { abort(); } } while (0)
#define P SEVSNP_PAGE_SIZE
#define BASE 0x100000ULL
#define MEMPAGES 32
#define FILL 0xcc
#define HELD_BASE 4             /* vCPUs 4..7 make held requests */

/* What the served path holds. */
enum {
    CUR_A, CUR_B, CUR_ALTERED, CUR_BAD, CUR_MISSING, CUR_FIFO, CUR_DIR
};

/* A, B valid; ALTERED: A with its VCEK's signature changed; BAD malformed */
static GBytes *blobs[4];
static const char *const dir = MEMFS_ROOT;
static const char *const path = MEMFS_ROOT "/certs.blob";
static const char *const other = MEMFS_ROOT "/other.blob";
static const char *const bad = MEMFS_ROOT "/bad.blob";
static KSimMem *mem;

static void write_file(const char *p, GBytes *b)
{
    int fd = open(p, O_RDWR | O_CREAT, 0644);
    gsize len;
    const uint8_t *d = g_bytes_get_data(b, &len);

    CHECK(fd >= 0);
    CHECK(pwrite(fd, d, len, 0) == (ssize_t)len && ftruncate(fd, len) == 0);
    close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autoptr(GBytes) milan = test_milan_blob();
    gsize len;
    const uint8_t *m = g_bytes_get_data(milan, &len);
    g_autoptr(GBytes) ark = test_milan(SEVSNP_CERT_ARK);
    g_autoptr(GBytes) ask = test_milan(SEVSNP_CERT_ASK);
    SevsnpCertTable *t = sevsnp_cert_table_parse(milan, 0, NULL);
    const SevsnpCertEntry *vcek = sevsnp_cert_table_find(t, SEVSNP_CERT_VCEK);
    uint8_t *altered = g_memdup2(m, len);
    SevsnpCertInput in[2];

    fuzz_default_artifact_prefix(argc, argv, "service");
    memcpy(in[0].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ARK), 16);
    memcpy(in[1].guid, sevsnp_cert_type_guid(SEVSNP_CERT_ASK), 16);
    in[0].der = ark;
    in[1].der = ask;
    blobs[CUR_A] = g_bytes_ref(milan);
    blobs[CUR_B] = sevsnp_cert_table_build(in, 2, NULL);
    altered[vcek->offset + vcek->length - 1] ^= 1;
    blobs[CUR_ALTERED] = g_bytes_new_take(altered, len);
    sevsnp_cert_table_unref(t);
    blobs[CUR_BAD] = g_bytes_new(m, len - 100);
    memfs_reset();
    write_file(other, blobs[CUR_B]);
    write_file(bad, blobs[CUR_BAD]);
    mem = ksim_mem_new(BASE, MEMPAGES, FILL);
    return 0;
}

/* Put a regular file with blob @which at the path, in place if possible. */
static void put_file(int which)
{
    struct stat st;

    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        CHECK(rmdir(path) == 0);
    } else if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        CHECK(unlink(path) == 0);
    }
    write_file(path, blobs[which]);
}

/* Is the guest's buffer its own mistake?  Independent of the service. */
static bool bad_buffer(uint64_t gpa, uint64_t npages)
{
    uint64_t len;

    if (npages == 0) {
        return false;           /* a size probe: nothing is written */
    }
    if ((gpa & (P - 1)) || npages > (UINT64_MAX - gpa) / P) {
        return true;
    }
    len = npages * P;
    if (gpa < BASE || gpa - BASE > MEMPAGES * P ||
        len > MEMPAGES * P - (gpa - BASE)) {
        return true;
    }
    for (uint64_t p = (gpa - BASE) / P; p < (gpa - BASE) / P + npages; p++) {
        if (mem->kind[p] != KSIM_PAGE_SHARED) {
            return true;
        }
    }
    return false;
}

typedef struct Model {
    int cur;                    /* what the path holds */
    int serving;                /* 0 the path, 1 the other file, 2 off */
    bool updater;               /* an updater holds the path's locks */
    bool rate;                  /* the rate limit is on */
    bool no_busy;               /* busy limit 0 */
} Model;

/* The blob the guest must get, or NULL for an empty table. */
static GBytes *expected_blob(const Model *m)
{
    if (m->serving == 2) {
        return NULL;
    }
    if (m->serving == 1) {
        return blobs[CUR_B];
    }
    return m->cur <= CUR_ALTERED ? blobs[m->cur] : NULL;
}

/* May this request be answered BUSY? */
static bool may_be_busy(const Model *m)
{
    return !m->no_busy && (m->rate || (m->serving == 0 && m->updater));
}

/* May it get an empty table although a blob is in service? */
static bool may_be_chainless(const Model *m)
{
    return m->rate || (m->serving == 0 && m->updater);
}

/*
 * Judge one answer as a Linux guest would, and check the bytes: the
 * heart of the target.  @ok_bytes: the buffer after the request.
 */
static void judge(const Model *m, uint64_t gpa, uint64_t npages,
                  SevsnpGuestResult r, uint64_t guest_npages, bool wrote)
{
    GBytes *want = expected_blob(m);
    gsize wlen = want ? g_bytes_get_size(want) : 0;
    static const uint8_t zero[SEVSNP_CERT_ENTRY_SIZE];

    CHECK(ksim_mem_written_within(mem, gpa, npages * P));
    CHECK(mem->violations == 0);
    if (bad_buffer(gpa, npages)) {
        /* Only the guest's own mistake may cost it its key. */
        CHECK(r == SEVSNP_GUEST_GENERIC);
        CHECK(!wrote);
        return;
    }
    CHECK(r != SEVSNP_GUEST_GENERIC);
    switch (r) {
    case SEVSNP_GUEST_BUSY:
        CHECK(may_be_busy(m));
        CHECK(!wrote);
        break;
    case SEVSNP_GUEST_INVALID_LEN:
        CHECK(want && wlen > npages * P);
        CHECK(guest_npages == (wlen + P - 1) / P);
        CHECK(!wrote);
        break;
    case SEVSNP_GUEST_OK:
        if (npages == 0) {
            /* A probe succeeds only when there is nothing to give. */
            CHECK(!want || may_be_chainless(m));
            CHECK(!wrote);
        } else if (want && wlen <= npages * P &&
                   !memcmp(ksim_mem_ptr(mem, gpa),
                           g_bytes_get_data(want, NULL), wlen)) {
            /* Exactly the blob in service, and nothing more. */
            CHECK(mem->written_lo == gpa && mem->written_end == gpa + wlen);
        } else {
            /* An empty table: only when there is nothing to give. */
            CHECK(!memcmp(ksim_mem_ptr(mem, gpa), zero, sizeof(zero)));
            CHECK(mem->written_lo == gpa &&
                  mem->written_end == gpa + sizeof(zero));
            CHECK(!want || may_be_chainless(m));
        }
        break;
    default:
        CHECK(false);
    }
}

/*
 * Would an updater's exclusive locks be refused on @fd's file, in both
 * families, exactly when @want?  From a description of the harness's
 * own, kept open: one F_OFD_GETLK, one flock() try.
 */
static bool locks_blocked(int fd, bool want)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    bool ofd, fl_blocked;

    CHECK(fcntl(fd, F_OFD_GETLK, &fl) == 0);
    ofd = fl.l_type != F_UNLCK;
    fl_blocked = flock(fd, LOCK_EX | LOCK_NB) < 0;
    if (!fl_blocked) {
        flock(fd, LOCK_UN);
    }
    return ofd == want && fl_blocked == want;
}

static int probe_open(const char *p)
{
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    CHECK(fd >= 0);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t hostile[] = {
        0, 1, UINT64_MAX & ~0xfffULL, BASE - P, BASE + (MEMPAGES - 1) * P,
        0xfffffffffffff000ULL,
    };
    SevsnpService *svc;
    Model m = { .cur = CUR_A };
    KSimVcpu v[4];
    int held[4] = { 0 };        /* 0 none, 1 on the path, 2 on the other */
    int nheld_path = 0, nheld_other = 0, updater_fd = -1;
    int path_probe, other_probe;
    /* What the last run left at the path: its blob A is put back. */
    static bool path_is_a;

    if (!path_is_a) {
        put_file(CUR_A);
    }
    path_probe = probe_open(path);
    other_probe = probe_open(other);
    svc = sevsnp_service_new(path, 0, 0, 0);
    ksim_mem_set_kind(mem, BASE, MEMPAGES, KSIM_PAGE_SHARED);
    for (int i = 0; i < 4; i++) {
        ksim_vcpu_init(&v[i], i, i < 2 ? SEVSNP_ABI_REQ_CERTS
                                       : SEVSNP_ABI_VMGEXIT, mem);
    }
    for (size_t off = 0; off + 4 <= size; off += 4) {
        const uint8_t *s = data + off;
        int op = s[0] % 10, k = s[1] % 4;
        uint64_t gpa = (s[2] & 0x80) ? hostile[s[2] % G_N_ELEMENTS(hostile)]
                       : BASE + (s[2] % MEMPAGES) * P + ((s[2] & 0x40) ? 16
                                                                      : 0);
        uint64_t npages = s[3] == 255 ? UINT64_MAX :
                          s[3] == 254 ? (1ULL << 52) : s[3] % 12;
        uint64_t fill_len = 0;

        if (!bad_buffer(gpa, npages)) {
            /*
             * Refill what a table can cover (the blobs are under 8 KiB);
             * the written extent covers the rest of the buffer.
             */
            fill_len = MIN(npages * P, 2 * P);
        }
        switch (op) {
        case 0:
        case 1:
            if (fill_len) {
                memset(ksim_mem_ptr(mem, gpa), FILL, fill_len);
            }
            ksim_mem_forget_writes(mem);
            mem->writes = 0;
            CHECK(ksim_guest_roundtrip(&v[k], svc, gpa, npages) == 0);
            judge(&m, gpa, npages, v[k].guest_result, v[k].guest_npages,
                  mem->writes != 0);
            break;
        case 2: {
            SevsnpReqResult r;
            SevsnpGuestResult gr;

            if (fill_len) {
                memset(ksim_mem_ptr(mem, gpa), FILL, fill_len);
            }
            ksim_mem_forget_writes(mem);
            mem->writes = 0;
            r = sevsnp_service_request(svc, HELD_BASE + k, gpa, npages,
                                       &ksim_mem_ops, mem, NULL);
            nheld_path -= held[k] == 1;     /* a new request releases it */
            nheld_other -= held[k] == 2;
            held[k] = 0;
            switch (r.outcome) {
            case SEVSNP_REQ_OK:
                gr = SEVSNP_GUEST_OK;
                /* Locks are held only when a file's table was served. */
                if (expected_blob(&m) && npages &&
                    g_bytes_get_size(expected_blob(&m)) <= npages * P &&
                    !memcmp(ksim_mem_ptr(mem, gpa),
                            g_bytes_get_data(expected_blob(&m), NULL),
                            g_bytes_get_size(expected_blob(&m)))) {
                    held[k] = m.serving + 1;
                } else if (expected_blob(&m) && !npages) {
                    CHECK(false);   /* a probe with a blob is too small */
                }
                break;
            case SEVSNP_REQ_HOST_FAULT:
            case SEVSNP_REQ_BUSY_LIMIT:
                gr = SEVSNP_GUEST_OK;
                break;
            case SEVSNP_REQ_TOO_SMALL:
                gr = SEVSNP_GUEST_INVALID_LEN;
                break;
            case SEVSNP_REQ_BUSY:
            case SEVSNP_REQ_RATE_LIMITED:
                gr = SEVSNP_GUEST_BUSY;
                break;
            default:
                CHECK(r.outcome == SEVSNP_REQ_ERROR);
                gr = SEVSNP_GUEST_GENERIC;
                break;
            }
            CHECK(r.completion_pending == (gr == SEVSNP_GUEST_OK));
            judge(&m, gpa, npages, gr, r.required_npages, mem->writes != 0);
            nheld_path += held[k] == 1;
            nheld_other += held[k] == 2;
            if (!r.completion_pending) {
                CHECK(!sevsnp_service_in_flight(svc, HELD_BASE + k));
            } else {
                CHECK(sevsnp_service_in_flight(svc, HELD_BASE + k));
            }
            break;
        }
        case 3: {
            bool was = sevsnp_service_in_flight(svc, HELD_BASE + k);

            CHECK(sevsnp_service_complete(svc, HELD_BASE + k) == was);
            nheld_path -= held[k] == 1;
            nheld_other -= held[k] == 2;
            held[k] = 0;
            CHECK(!sevsnp_service_in_flight(svc, HELD_BASE + k));
            break;
        }
        case 4: {
            int which = s[1] % 7;

            if (which <= CUR_BAD) {
                /* An updater's rewrite, in place, under the locks. */
                if (m.updater) {
                    break;
                }
                if (nheld_path && m.cur <= CUR_BAD) {
                    GError *err = NULL;

                    CHECK(!sevsnp_cert_file_install(path, blobs[which & 1],
                                                    0, NULL, &err));
                    CHECK(err->code == SEVSNP_ERROR_BUSY);
                    g_error_free(err);
                    break;
                }
                put_file(which);
            } else if (which == CUR_MISSING) {
                /* Operator mistakes need no lock. */
                if (m.cur == CUR_DIR) {
                    CHECK(rmdir(path) == 0);
                } else if (m.cur != CUR_MISSING) {
                    CHECK(unlink(path) == 0);
                }
            } else {
                g_autofree char *tmp = g_build_filename(dir, "repl", NULL);

                if (which == CUR_FIFO) {
                    CHECK(mkfifo(tmp, 0644) == 0);
                } else {
                    CHECK(mkdir(tmp, 0755) == 0);
                }
                if (m.cur == CUR_DIR) {
                    CHECK(rmdir(path) == 0);
                } else if (which == CUR_DIR && m.cur != CUR_MISSING) {
                    /* A directory can only be renamed over nothing. */
                    CHECK(unlink(path) == 0);
                }
                CHECK(rename(tmp, path) == 0);
            }
            if (updater_fd >= 0 && which > CUR_BAD) {
                /* The updater's locks stay on the file that went away. */
                close(updater_fd);
                updater_fd = -1;
                m.updater = false;
            }
            if (which > CUR_BAD || m.cur > CUR_BAD) {
                /* Held locks stay on the old file, if there was one. */
                nheld_path = 0;
                for (int i = 0; i < 4; i++) {
                    held[i] = held[i] == 1 ? -1 : held[i];
                }
                close(path_probe);
                path_probe = which <= CUR_BAD ? probe_open(path) : -1;
            }
            m.cur = which;
            break;
        }
        case 5:
            if (updater_fd >= 0) {
                close(updater_fd);
                updater_fd = -1;
                m.updater = false;
            } else if (m.cur <= CUR_BAD) {
                updater_fd = sevsnp_open_locked(path, false, true, 0, NULL);
                /* Only requests in flight keep an updater out. */
                CHECK((updater_fd < 0) == (nheld_path > 0));
                m.updater = updater_fd >= 0;
            }
            break;
        case 6: {
            int which = s[1] % 4;
            GError *err = NULL;

            if (which == 0) {
                /* Back to the path: refused while it is not servable. */
                bool ok = sevsnp_service_set_path(svc, path, &err);

                CHECK(ok == (m.cur <= CUR_ALTERED && !m.updater));
                if (ok) {
                    m.serving = 0;
                }
            } else if (which == 1) {
                CHECK(sevsnp_service_set_path(svc, other, NULL));
                m.serving = 1;
            } else if (which == 2) {
                CHECK(!sevsnp_service_set_path(svc, bad, &err));
                CHECK(err->code != SEVSNP_ERROR_BUSY);
            } else {
                CHECK(sevsnp_service_set_path(svc, "", NULL));
                m.serving = 2;
            }
            g_clear_error(&err);
            break;
        }
        case 7:
            m.rate = !m.rate;
            sevsnp_service_set_rate_limit(svc, m.rate, m.rate);
            break;
        case 8:
            m.no_busy = !m.no_busy;
            CHECK(sevsnp_service_set_busy_limit(svc, m.no_busy ? 0 :
                                                SEVSNP_BUSY_LIMIT_DEFAULT_MS,
                                                NULL));
            break;
        default:
            ksim_mem_set_kind(mem, BASE + (s[1] % MEMPAGES) * P, s[2] % 4,
                              s[3] % 3);
            break;
        }
        CHECK(mem->violations == 0);
        if (op == 2 || op == 3) {
            /* A request held or completed: its file's locks follow. */
            if (m.cur <= CUR_BAD) {
                CHECK(locks_blocked(path_probe,
                                    nheld_path > 0 || m.updater));
            }
            CHECK(locks_blocked(other_probe, nheld_other > 0));
        }
    }
    sevsnp_service_free(svc);
    if (updater_fd >= 0) {
        close(updater_fd);
    }
    if (m.cur <= CUR_BAD) {
        CHECK(locks_blocked(path_probe, false));
        close(path_probe);
    }
    CHECK(locks_blocked(other_probe, false));
    close(other_probe);
    path_is_a = m.cur == CUR_A;
    return 0;
}
