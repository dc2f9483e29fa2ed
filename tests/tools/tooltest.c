/*
 * snp-certs tool tests: running the tool as a separate process
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#include "tooltest.h"

const char *tool;
char *tmpdir;

void run_clear(Run *r)
{
    g_free(r->out);
    g_free(r->err);
}

void run_argv(Run *r, GPtrArray *argv)
{
    g_autoptr(GError) err = NULL;
    int ws;

    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL,
                               G_SPAWN_SEARCH_PATH, NULL, NULL, &r->out,
                               &r->err, &ws, &err));
    g_assert_no_error(err);
    g_assert_true(WIFEXITED(ws));
    r->status = WEXITSTATUS(ws);
    g_test_message("status %d", r->status);
    g_test_message("stdout: %s", r->out);
    g_test_message("stderr: %s", r->err);
}

void run_tool(Run *r, const char *first, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    va_list ap;

    g_ptr_array_add(argv, (char *)tool);
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        g_ptr_array_add(argv, (char *)a);
    }
    va_end(ap);
    run_argv(r, argv);
}

void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) {
        g_error("'%s' does not contain '%s'", hay, needle);
    }
}

char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

char *write_tmp(const char *name, GBytes *b)
{
    char *p = tmp_path(name);

    g_assert_true(g_file_set_contents(p, g_bytes_get_data(b, NULL),
                                      g_bytes_get_size(b), NULL));
    return p;
}

GBytes *read_file(const char *path)
{
    char *data;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    return g_bytes_new_take(data, len);
}

void tooltest_init(int *argc, char ***argv, const char *tmpl)
{
    g_test_init(argc, argv, NULL);
    tool = g_getenv("SNP_CERTS");
    g_assert_nonnull(tool);
    tmpdir = g_dir_make_tmp(tmpl, NULL);
    g_assert_nonnull(tmpdir);
}

int tooltest_run(void)
{
    int rc = g_test_run();

    if (rc == 0) {
        const char *rm[] = { "rm", "-rf", tmpdir, NULL };

        g_assert_true(g_spawn_sync(NULL, (char **)rm, NULL,
                                   G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                                   NULL, NULL, NULL));
    }
    g_free(tmpdir);
    return rc;
}
