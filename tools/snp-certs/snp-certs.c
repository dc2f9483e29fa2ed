/*
 * snp-certs: build, inspect, verify and safely update SEV-SNP certificate
 * blobs (the GHCB certificate table a VMM serves to its guests).
 *
 * Updates follow the locking protocol the VMM relies on: the exclusive
 * OFD write lock and flock(LOCK_EX) on the blob file for the whole
 * rewrite, which is done in place so that the inode (and the lock) stays.
 *
 * Exit status: 0 success; 1 a check failed (invalid blob or chain);
 * 2 usage or I/O error; 3 lock not obtained in time.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "libsevsnp.h"
#include "snp-certs.h"

#define DEFAULT_TIMEOUT_S 10.0

static const char *prog = "snp-certs";

/* One line to stderr: "snp-certs: <message>". */
void die_msg(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", prog, msg);
}

/*
 * A blob a Linux guest cannot receive (above 16 KiB): accepted, with a
 * warning on stderr; the exit status does not change.
 */
static void warn_guest_size(const char *name, GBytes *blob)
{
    g_autofree char *w = sevsnp_blob_guest_warning(g_bytes_get_size(blob));

    if (w) {
        fprintf(stderr, "%s: warning: %s: %s\n", prog, name, w);
    }
}

/* The exit status a library error stands for. */
int status_of(const GError *err)
{
    if (err->domain != SEVSNP_ERROR) {
        return EXIT_USAGE;
    }
    switch (err->code) {
    case SEVSNP_ERROR_BUSY:
        return EXIT_BUSY;
    case SEVSNP_ERROR_IO:
    case SEVSNP_ERROR_INVALID:
        return EXIT_USAGE;
    default:
        return EXIT_CHECK;
    }
}

/* Parse the command's options; prints the error and returns FALSE. */
gboolean parse_options(GOptionContext *ctx, int *argc, char ***argv)
{
    g_autoptr(GError) err = NULL;

    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        die_msg("%s (try --help)", err->message);
        return FALSE;
    }
    return TRUE;
}

/* --timeout S of every command: seconds, negative or inf for ever. */
static double opt_timeout_s = DEFAULT_TIMEOUT_S;

static gboolean parse_timeout(const char *name, const char *value,
                              gpointer data, GError **error)
{
    char *end = NULL;
    double v = g_ascii_strtod(value, &end);

    if (!end || end == value || *end || isnan(v)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s: '%s' is not a number of seconds", name, value);
        return FALSE;
    }
    opt_timeout_s = v;
    return TRUE;
}

static unsigned timeout_ms_of(double seconds)
{
    if (seconds < 0 || seconds * 1000.0 >= (double)G_MAXUINT) {
        return G_MAXUINT;   /* wait for ever */
    }
    return (unsigned)ceil(seconds * 1000.0);
}

gboolean parse_time(const char *s, gint64 *out, GError **err)
{
    g_autoptr(GDateTime) dt = NULL;
    gint64 v;

    if (g_ascii_string_to_signed(s, 10, 0, G_MAXINT64, &v, NULL)) {
        *out = v;
        return TRUE;
    }
    dt = g_date_time_new_from_iso8601(s, g_time_zone_new_utc());
    if (!dt) {
        g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "'%s' is neither seconds since the epoch nor an ISO 8601 "
                    "date and time (2024-06-01T00:00:00Z)", s);
        return FALSE;
    }
    *out = g_date_time_to_unix(dt);
    return TRUE;
}

/* Read a blob file under the shared locks and validate it. */
SevsnpCertTable *load_blob(const char *path, int *status)
{
    g_autoptr(GError) err = NULL;
    SevsnpCertStore *store = sevsnp_cert_store_new(path, 0);
    SevsnpCertTable *t;

    /* show and verify say what is wrong with a chain themselves. */
    sevsnp_cert_store_set_check_signatures(store, FALSE);
    t = sevsnp_cert_store_load(store, timeout_ms_of(opt_timeout_s), &err);

    sevsnp_cert_store_free(store);
    if (!t) {
        die_msg("%s", err->message);
        *status = status_of(err);
    }
    return t;
}

/* ------------------------------------------------------------------ */
/* build                                                               */
/* ------------------------------------------------------------------ */

typedef struct BuildInput {
    uint8_t guid[SEVSNP_GUID_SIZE];
    SevsnpCertType kind;
    const char *file;
    const char *option;
} BuildInput;

static int add_input(GArray *inputs, SevsnpCertType slot, SevsnpCertType kind,
                     const uint8_t *guid, const char *file, const char *option)
{
    BuildInput in = { .kind = kind, .file = file, .option = option };

    memcpy(in.guid, guid ? guid : sevsnp_cert_type_guid(slot),
           SEVSNP_GUID_SIZE);
    for (guint i = 0; i < inputs->len; i++) {
        BuildInput *o = &g_array_index(inputs, BuildInput, i);

        if (memcmp(o->guid, in.guid, SEVSNP_GUID_SIZE) == 0) {
            char g[37];

            sevsnp_guid_unparse(in.guid, g);
            die_msg("%s and %s both give an entry of GUID %s (%s)",
                    o->option, option, g, sevsnp_cert_type_name(slot));
            return EXIT_USAGE;
        }
    }
    g_array_append_val(inputs, in);
    return EXIT_OK;
}

static int cmd_build(int argc, char **argv)
{
    g_autofree char *ark = NULL, *ask = NULL, *vcek = NULL, *vlek = NULL;
    g_autofree char *asvk = NULL, *crl = NULL, *out = NULL;
    g_auto(GStrv) entries = NULL;
    GOptionEntry opts[] = {
        { "ark", 0, 0, G_OPTION_ARG_FILENAME, &ark,
          "AMD Root Key certificate (PEM or DER)", "FILE" },
        { "ask", 0, 0, G_OPTION_ARG_FILENAME, &ask,
          "AMD SEV Key certificate", "FILE" },
        { "vcek", 0, 0, G_OPTION_ARG_FILENAME, &vcek,
          "VCEK certificate", "FILE" },
        { "vlek", 0, 0, G_OPTION_ARG_FILENAME, &vlek,
          "VLEK certificate (instead of --vcek)", "FILE" },
        { "asvk", 0, 0, G_OPTION_ARG_FILENAME, &asvk,
          "ASVK certificate (signs a VLEK; stored in the ASK slot)", "FILE" },
        { "crl", 0, 0, G_OPTION_ARG_FILENAME, &crl,
          "certificate revocation list (PEM or DER)", "FILE" },
        { "entry", 0, 0, G_OPTION_ARG_STRING_ARRAY, &entries,
          "an entry of any GUID; repeatable", "GUID=FILE" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
          "the blob to write (a new file; use install for a live one)",
          "OUT" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("-o OUT - build a certificate blob");
    g_autoptr(GArray) inputs = g_array_new(FALSE, TRUE, sizeof(BuildInput));
    g_autofree SevsnpCertFile *files = NULL;
    g_autoptr(GBytes) blob = NULL;
    g_autoptr(GError) err = NULL;
    int rc = EXIT_OK;

    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "Inputs may be PEM or DER; they are stored as DER, in the order "
        "ARK, ASK/ASVK, VCEK/VLEK, CRL, then --entry in the order given.");
    if (!parse_options(ctx, &argc, &argv)) {
        return EXIT_USAGE;
    }
    if (argc > 1) {
        die_msg("build: unexpected argument '%s'", argv[1]);
        return EXIT_USAGE;
    }
    if (!out) {
        die_msg("build: no output file (-o OUT)");
        return EXIT_USAGE;
    }
    if (vcek && vlek) {
        die_msg("build: --vcek and --vlek are exclusive: a report is signed "
                "by one of them");
        return EXIT_USAGE;
    }

    if (ark) {
        rc |= add_input(inputs, SEVSNP_CERT_ARK, SEVSNP_CERT_ARK, NULL, ark,
                        "--ark");
    }
    if (ask) {
        rc |= add_input(inputs, SEVSNP_CERT_ASK, SEVSNP_CERT_ASK, NULL, ask,
                        "--ask");
    }
    if (asvk) {
        rc |= add_input(inputs, SEVSNP_CERT_ASK, SEVSNP_CERT_ASK, NULL, asvk,
                        "--asvk");
    }
    if (vcek) {
        rc |= add_input(inputs, SEVSNP_CERT_VCEK, SEVSNP_CERT_VCEK, NULL, vcek,
                        "--vcek");
    }
    if (vlek) {
        rc |= add_input(inputs, SEVSNP_CERT_VLEK, SEVSNP_CERT_VLEK, NULL, vlek,
                        "--vlek");
    }
    if (crl) {
        rc |= add_input(inputs, SEVSNP_CERT_CRL, SEVSNP_CERT_CRL, NULL, crl,
                        "--crl");
    }
    for (guint i = 0; entries && entries[i] && !rc; i++) {
        const char *eq = strchr(entries[i], '=');
        g_autofree char *gs = NULL;
        uint8_t guid[SEVSNP_GUID_SIZE];
        SevsnpCertType t;

        if (!eq || eq[1] == '\0') {
            die_msg("build: --entry '%s' is not GUID=FILE", entries[i]);
            return EXIT_USAGE;
        }
        gs = g_strndup(entries[i], eq - entries[i]);
        if (!sevsnp_guid_parse(gs, guid)) {
            die_msg("build: --entry '%s': '%s' is not a GUID", entries[i], gs);
            return EXIT_USAGE;
        }
        t = sevsnp_cert_type_from_guid(guid);
        rc |= add_input(inputs, t, t, guid, eq + 1, "--entry");
    }
    if (rc) {
        return EXIT_USAGE;
    }
    if (inputs->len == 0) {
        die_msg("build: no input (give --ark, --ask, --vcek, ... or --entry)");
        return EXIT_USAGE;
    }

    files = g_new0(SevsnpCertFile, inputs->len);
    for (guint i = 0; i < inputs->len; i++) {
        BuildInput *in = &g_array_index(inputs, BuildInput, i);

        files[i].type = in->kind;
        files[i].guid = in->guid;
        files[i].path = in->file;
    }
    blob = sevsnp_cert_table_build_files(files, inputs->len, &err);
    if (!blob) {
        die_msg("%s", err->message);
        return EXIT_USAGE;
    }
    if (!g_file_set_contents(out, g_bytes_get_data(blob, NULL),
                             g_bytes_get_size(blob), &err)) {
        die_msg("%s: %s", out, err->message);
        return EXIT_USAGE;
    }
    warn_guest_size(out, blob);
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* show                                                                */
/* ------------------------------------------------------------------ */

static char *blob_sha256(const SevsnpCertTable *t)
{
    GBytes *b = sevsnp_cert_table_get_blob(t);

    return g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, b);
}

static void json_add_str(JsonBuilder *b, const char *name, const char *val)
{
    if (val) {
        json_builder_set_member_name(b, name);
        json_builder_add_string_value(b, val);
    }
}

static void json_add_int(JsonBuilder *b, const char *name, gint64 val)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, val);
}

static int show_json(const char *path, const SevsnpCertTable *t,
                     SevsnpChainStatus st, const char *why)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *sha = blob_sha256(t);
    g_autofree char *text = NULL;

    json_builder_begin_object(b);
    json_add_str(b, "file", path);
    json_add_int(b, "size", g_bytes_get_size(sevsnp_cert_table_get_blob(t)));
    json_add_str(b, "sha256", sha);
    json_builder_set_member_name(b, "entries");
    json_builder_begin_array(b);
    for (guint i = 0; i < sevsnp_cert_table_n_entries(t); i++) {
        g_autoptr(SevsnpCertInfo) info = sevsnp_cert_info_new(t, i);

        json_builder_begin_object(b);
        json_add_str(b, "type", sevsnp_cert_type_name(info->type));
        json_add_str(b, "guid", info->guid);
        json_add_int(b, "offset", info->offset);
        json_add_int(b, "length", info->length);
        json_add_str(b, "subject", info->subject);
        json_add_str(b, "common-name", info->common_name);
        json_add_str(b, "issuer", info->issuer);
        json_add_str(b, "serial", info->serial);
        json_add_str(b, "not-before", info->not_before);
        json_add_str(b, "not-after", info->not_after);
        json_add_str(b, "key-type", info->key_type);
        json_add_str(b, "fingerprint-sha384", info->fingerprint);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "chain");
    json_builder_begin_object(b);
    json_add_str(b, "status", sevsnp_chain_status_name(st));
    json_add_str(b, "detail", why);
    json_builder_end_object(b);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
    return EXIT_OK;
}

static void show_text(const char *path, const SevsnpCertTable *t,
                      SevsnpChainStatus st, const char *why)
{
    g_autofree char *sha = blob_sha256(t);
    guint n = sevsnp_cert_table_n_entries(t);

    printf("%s: %zu bytes, sha256 %s, %u entr%s\n", path,
           g_bytes_get_size(sevsnp_cert_table_get_blob(t)), sha, n,
           n == 1 ? "y" : "ies");
    for (guint i = 0; i < n; i++) {
        g_autoptr(SevsnpCertInfo) info = sevsnp_cert_info_new(t, i);

        printf("\n[%u] %-5s %s  offset %u  length %u\n", i,
               sevsnp_cert_type_name(info->type), info->guid, info->offset,
               info->length);
        if (info->subject) {
            printf("    subject:     %s\n", info->subject);
        }
        if (info->issuer) {
            printf("    issuer:      %s\n", info->issuer);
        }
        if (info->not_before) {
            printf("    validity:    %s .. %s\n", info->not_before,
                   info->not_after ? info->not_after : "-");
        }
        if (info->key_type) {
            printf("    key:         %s\n", info->key_type);
        }
        printf("    sha384:      %s\n", info->fingerprint);
    }
    printf("\nchain: %s%s%s\n", sevsnp_chain_status_name(st),
           why ? ": " : "", why ? why : "");
}

static int cmd_show(int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry opts[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print JSON for machines", NULL },
        { "timeout", 0, 0, G_OPTION_ARG_CALLBACK, parse_timeout,
          "wait at most S seconds for the shared lock (default 10)", "S" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("BLOB - show a certificate blob's table");
    SevsnpCertTable *t;
    g_autofree char *why = NULL;
    SevsnpChainStatus st;
    int status = EXIT_OK;

    g_option_context_add_main_entries(ctx, opts, NULL);
    if (!parse_options(ctx, &argc, &argv)) {
        return EXIT_USAGE;
    }
    if (argc != 2) {
        die_msg("show: expected one BLOB (try --help)");
        return EXIT_USAGE;
    }
    t = load_blob(argv[1], &status);
    if (!t) {
        return status;
    }
    st = sevsnp_cert_table_verify(t, 0, &why);
    if (json) {
        show_json(argv[1], t, st, why);
    } else {
        show_text(argv[1], t, st, why);
    }
    sevsnp_cert_table_unref(t);
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* verify                                                              */
/* ------------------------------------------------------------------ */

static int cmd_verify(int argc, char **argv)
{
    gboolean allow_incomplete = FALSE;
    gint64 at = 0;
    GOptionEntry opts[] = {
        { "allow-incomplete", 0, 0, G_OPTION_ARG_NONE, &allow_incomplete,
          "succeed when the links present are good but some are missing",
          NULL },
        { "at", 0, 0, G_OPTION_ARG_INT64, &at,
          "check validity at this time (seconds since the epoch) "
          "instead of now", "T" },
        { "timeout", 0, 0, G_OPTION_ARG_CALLBACK, parse_timeout,
          "wait at most S seconds for the shared lock (default 10)", "S" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("BLOB - check a blob's structure and chain");
    g_autofree char *why = NULL;
    SevsnpCertTable *t;
    SevsnpChainStatus st;
    int status = EXIT_OK;

    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "The ARK must be self-signed, the ARK must sign the ASK (or ASVK), "
        "the ASK the VCEK (or the ASVK the VLEK), and every certificate must "
        "be within its validity dates.");
    if (!parse_options(ctx, &argc, &argv)) {
        return EXIT_USAGE;
    }
    if (argc != 2) {
        die_msg("verify: expected one BLOB (try --help)");
        return EXIT_USAGE;
    }
    t = load_blob(argv[1], &status);
    if (!t) {
        return status;
    }
    warn_guest_size(argv[1], sevsnp_cert_table_get_blob(t));
    st = sevsnp_cert_table_verify(t, at, &why);
    sevsnp_cert_table_unref(t);
    switch (st) {
    case SEVSNP_CHAIN_VALID:
        printf("%s: valid\n", argv[1]);
        return EXIT_OK;
    case SEVSNP_CHAIN_INCOMPLETE:
        if (allow_incomplete) {
            printf("%s: incomplete: %s\n", argv[1], why);
            return EXIT_OK;
        }
        die_msg("%s: chain incomplete: %s", argv[1], why);
        return EXIT_CHECK;
    default:
        die_msg("%s: chain invalid: %s", argv[1], why);
        return EXIT_CHECK;
    }
}

/* ------------------------------------------------------------------ */
/* extract                                                             */
/* ------------------------------------------------------------------ */

static GBytes *der_to_pem(GBytes *der, bool crl)
{
    const unsigned char *p = g_bytes_get_data(der, NULL);
    long len = g_bytes_get_size(der);
    BIO *bio = BIO_new(BIO_s_mem());
    GBytes *out = NULL;
    char *mem;
    long n;
    int ok;

    if (crl) {
        X509_CRL *c = d2i_X509_CRL(NULL, &p, len);
        ok = c && PEM_write_bio_X509_CRL(bio, c);
        X509_CRL_free(c);
    } else {
        X509 *x = d2i_X509(NULL, &p, len);
        ok = x && PEM_write_bio_X509(bio, x);
        X509_free(x);
    }
    if (ok) {
        n = BIO_get_mem_data(bio, &mem);
        out = g_bytes_new(mem, n);
    }
    BIO_free(bio);
    return out;
}

static int cmd_extract(int argc, char **argv)
{
    gboolean pem = FALSE;
    GOptionEntry opts[] = {
        { "pem", 0, 0, G_OPTION_ARG_NONE, &pem,
          "write certificates and CRLs as PEM (default DER)", NULL },
        { "timeout", 0, 0, G_OPTION_ARG_CALLBACK, parse_timeout,
          "wait at most S seconds for the shared lock (default 10)", "S" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("BLOB DIR - write each entry to a file");
    SevsnpCertTable *t;
    int status = EXIT_OK;
    const char *dir;

    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "Files are named after the entry's type (ark, ask, vcek, vlek, crl) "
        "or, for other entries, its GUID; the extension is .der, .pem or "
        ".bin.");
    if (!parse_options(ctx, &argc, &argv)) {
        return EXIT_USAGE;
    }
    if (argc != 3) {
        die_msg("extract: expected BLOB and DIR (try --help)");
        return EXIT_USAGE;
    }
    dir = argv[2];
    t = load_blob(argv[1], &status);
    if (!t) {
        return status;
    }
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        die_msg("%s: %s", dir, g_strerror(errno));
        sevsnp_cert_table_unref(t);
        return EXIT_USAGE;
    }
    for (guint i = 0; i < sevsnp_cert_table_n_entries(t) && !status; i++) {
        const SevsnpCertEntry *e = sevsnp_cert_table_entry(t, i);
        g_autoptr(GBytes) data = sevsnp_cert_table_entry_data(t, i);
        g_autoptr(GBytes) pemdata = NULL;
        g_autoptr(GError) err = NULL;
        g_autofree char *name = NULL, *path = NULL;
        const char *ext = ".der";
        GBytes *w = data;

        if (e->type == SEVSNP_CERT_OTHER) {
            char g[37];

            sevsnp_guid_unparse(e->guid, g);
            name = g_strdup(g);
            ext = ".bin";
        } else {
            name = g_strdup(sevsnp_cert_type_name(e->type));
            if (pem) {
                pemdata = der_to_pem(data, e->type == SEVSNP_CERT_CRL);
                w = pemdata;
                ext = ".pem";
            }
        }
        path = g_strconcat(dir, G_DIR_SEPARATOR_S, name, ext, NULL);
        if (!w) {
            die_msg("%s: entry %u cannot be written as PEM", argv[1], i);
            status = EXIT_USAGE;
        } else if (!g_file_set_contents(path, g_bytes_get_data(w, NULL),
                                        g_bytes_get_size(w), &err)) {
            die_msg("%s: %s", path, err->message);
            status = EXIT_USAGE;
        } else {
            printf("%s\n", path);
        }
    }
    sevsnp_cert_table_unref(t);
    return status;
}

/* ------------------------------------------------------------------ */
/* install and lock                                                    */
/* ------------------------------------------------------------------ */

/*
 * The descriptor of `snp-certs lock` when it locks @target (the same
 * inode), else -1.  Installing through it is what lets an updater run
 * `snp-certs install` inside `snp-certs lock` on the same file, which
 * would otherwise wait for ever on its own lock.
 */
static int inherited_lock_fd(const char *target)
{
    const char *env = g_getenv(SNP_CERTS_LOCK_FD_ENV);
    struct stat st_fd, st_target;
    gint64 fd;
    int fl;

    if (!env || !g_ascii_string_to_signed(env, 10, 3, G_MAXINT, &fd, NULL)) {
        return -1;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || fstat(fd, &st_fd) < 0 ||
        stat(target, &st_target) < 0 || st_fd.st_dev != st_target.st_dev ||
        st_fd.st_ino != st_target.st_ino) {
        return -1;
    }
    return fd;
}

/* Rewrite the file of @fd in place with @blob (the locks are held). */
static gboolean rewrite_fd(int fd, const char *target, GBytes *blob,
                           GError **err)
{
    gsize len, done = 0;
    const uint8_t *data = g_bytes_get_data(blob, &len);
    int r = -posix_fallocate(fd, 0, MAX(len, 1));

    while (!r && done < len) {
        ssize_t n = pwrite(fd, data + done, len - done, done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
        } else {
            done += n;
        }
    }
    if (!r && ftruncate(fd, len) < 0) {
        r = -errno;
    }
    if (!r && fsync(fd) < 0) {
        r = -errno;
    }
    if (r) {
        g_set_error(err, SEVSNP_ERROR, SEVSNP_ERROR_IO, "%s: %s", target,
                    g_strerror(-r));
        return FALSE;
    }
    return TRUE;
}

static int cmd_install(int argc, char **argv)
{
    gboolean allow_invalid_chain = FALSE;
    GOptionEntry opts[] = {
        { "timeout", 0, 0, G_OPTION_ARG_CALLBACK, parse_timeout,
          "wait at most S seconds for the exclusive locks (default 10; "
          "negative: for ever)", "S" },
        { "allow-invalid-chain", 0, 0, G_OPTION_ARG_NONE,
          &allow_invalid_chain,
          "install even when the chain does not verify (the structure is "
          "always checked)", NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("NEW TARGET - replace TARGET with NEW in place, "
                             "under the exclusive locks");
    g_autoptr(GError) err = NULL;
    g_autofree char *why = NULL;
    g_autoptr(GBytes) blob = NULL;
    SevsnpCertTable *t;
    SevsnpChainStatus st;
    const char *target;
    int lock_fd;

    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "NEW is validated first.  TARGET is created if absent, locked "
        "(OFD write lock and flock(LOCK_EX)), rewritten in place so that "
        "its inode and the VMM's locks stay valid, synced, then unlocked.  "
        "Readers that take the shared locks see the old or the new blob, "
        "never a mix.  Run by CMD of 'snp-certs lock TARGET', it writes "
        "through the locked descriptor it inherits (" SNP_CERTS_LOCK_FD_ENV
        ") instead of locking again.");
    if (!parse_options(ctx, &argc, &argv)) {
        return EXIT_USAGE;
    }
    if (argc != 3) {
        die_msg("install: expected NEW and TARGET (try --help)");
        return EXIT_USAGE;
    }
    target = argv[2];
    blob = sevsnp_file_read(argv[1], 0, &err);
    if (!blob) {
        die_msg("%s", err->message);
        return status_of(err);
    }
    t = sevsnp_cert_table_parse(blob, 0, &err);
    if (!t) {
        die_msg("%s: %s", argv[1], err->message);
        return EXIT_CHECK;
    }
    st = sevsnp_cert_table_verify(t, 0, &why);
    sevsnp_cert_table_unref(t);
    if (st == SEVSNP_CHAIN_INVALID && !allow_invalid_chain) {
        die_msg("%s: chain invalid: %s (not installed)", argv[1], why);
        return EXIT_CHECK;
    }
    warn_guest_size(argv[1], blob);

    lock_fd = inherited_lock_fd(target);
    if (lock_fd >= 0) {
        /* Inside `snp-certs lock TARGET`: its locks already cover us. */
        if (!rewrite_fd(lock_fd, target, blob, &err)) {
            die_msg("%s", err->message);
            return status_of(err);
        }
        return EXIT_OK;
    }
    if (!sevsnp_cert_file_install(target, blob, timeout_ms_of(opt_timeout_s),
                                  NULL, &err)) {
        die_msg("%s", err->message);
        return status_of(err);
    }
    return EXIT_OK;
}

static int cmd_lock(int argc, char **argv)
{
    GOptionEntry opts[] = {
        { "timeout", 0, 0, G_OPTION_ARG_CALLBACK, parse_timeout,
          "wait at most S seconds for the exclusive locks (default 10; "
          "negative: for ever)", "S" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("TARGET -- CMD [ARGS...] - run CMD holding the "
                             "exclusive locks on TARGET");
    g_autoptr(GError) err = NULL;
    g_autofree char *fd_str = NULL, *abs_path = NULL;
    g_auto(GStrv) envp = NULL;
    int wait_status;
    char **cmd = NULL;
    int fd;

    /* Everything after the first "--" is CMD, untouched by GOption. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            argv[i] = NULL;
            cmd = argv + i + 1;
            argc = i;
            break;
        }
    }
    g_option_context_add_main_entries(ctx, opts, NULL);
    g_option_context_set_description(ctx,
        "For firmware, TCB or key updates: VMMs answer BUSY to certificate "
        "requests while CMD runs, so that no guest gets a chain that does "
        "not match its report.  Exits with CMD's status (128 + signal when "
        "CMD is killed).  CMD gets " SNP_CERTS_LOCK_FD_ENV " (the locked "
        "descriptor) and " SNP_CERTS_LOCK_PATH_ENV " in its environment; "
        "'snp-certs install NEW TARGET' run by CMD writes through it.");
    if (!parse_options(ctx, &argc, &argv)) {
        return EXIT_USAGE;
    }
    if (argc != 2 || !cmd || !cmd[0]) {
        die_msg("lock: expected TARGET -- CMD [ARGS...] (try --help)");
        return EXIT_USAGE;
    }
    fd = sevsnp_open_locked(argv[1], false, true,
                            timeout_ms_of(opt_timeout_s), &err);
    if (fd < 0) {
        die_msg("%s", err->message);
        return status_of(err);
    }
    /* CMD inherits the locked descriptor; install writes through it. */
    fd_str = g_strdup_printf("%d", fd);
    abs_path = g_canonicalize_filename(argv[1], NULL);
    envp = g_environ_setenv(g_get_environ(), SNP_CERTS_LOCK_FD_ENV, fd_str,
                            TRUE);
    envp = g_environ_setenv(envp, SNP_CERTS_LOCK_PATH_ENV, abs_path, TRUE);
    if (fcntl(fd, F_SETFD, 0) < 0) {
        die_msg("%s: %s", argv[1], g_strerror(errno));
        close(fd);
        return EXIT_USAGE;
    }
    if (!g_spawn_sync(NULL, cmd, envp,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN |
                      G_SPAWN_LEAVE_DESCRIPTORS_OPEN,
                      NULL, NULL, NULL, NULL, &wait_status, &err)) {
        die_msg("%s: %s", cmd[0], err->message);
        close(fd);
        return EXIT_USAGE;
    }
    close(fd);
    if (WIFEXITED(wait_status)) {
        return WEXITSTATUS(wait_status);
    }
    if (WIFSIGNALED(wait_status)) {
        return 128 + WTERMSIG(wait_status);
    }
    return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    { "build", cmd_build, "build a blob from certificates (PEM or DER)" },
    { "show", cmd_show, "print a blob's table (--json for machines)" },
    { "verify", cmd_verify, "check a blob's structure and chain" },
    { "extract", cmd_extract, "write each entry of a blob to a file" },
    { "install", cmd_install, "replace a live blob in place, under the "
      "exclusive locks" },
    { "lock", cmd_lock, "run a command holding the exclusive locks" },
    { "report", cmd_report, "show or verify an attestation report" },
    { "fetch", cmd_fetch, "fetch a chip's VCEK and chain from AMD KDS "
      "(or a mirror or cache) into a blob" },
    { "host", cmd_host, "show the SNP platform status of this host "
      "(/dev/sev)" },
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: %s COMMAND [OPTIONS...] ARGS...\n\n"
            "Build, inspect, verify and safely update SEV-SNP certificate "
            "blobs.\n\nCommands:\n", prog);
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(f, "\n'%s COMMAND --help' describes a command.\n"
            "Exit status: 0 success, 1 check failed, 2 usage or I/O error, "
            "3 lock not obtained in time.\n", prog);
}

int main(int argc, char **argv)
{
    g_autofree char *cmdname = NULL;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("%s %s\n", prog, SNP_CERTS_VERSION);
        return EXIT_OK;
    }
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            /* The command's name stands in for argv[0] in its --help. */
            cmdname = g_strdup_printf("%s %s", prog, argv[1]);
            argv[1] = cmdname;
            g_set_prgname(cmdname);
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
