/*
 * What every fuzz target does at start-up
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "fuzz.h"

/*
 * libFuzzer writes what it finds (crash-*, leak-*, timeout-*, oom-*) to
 * its working directory unless told otherwise, and a target run by hand
 * from the work tree's top left them there to be committed.  Without
 * -artifact_prefix= on the command line they go to the build directory's
 * fuzz-artifacts/ (the target is BUILD/snp-fuzz/tests/fuzz/fuzz-NAME),
 * named NAME-crash-..., as scripts/fuzz.sh names them.
 */
void fuzz_default_artifact_prefix(int *argc, char ***argv, const char *name)
{
    char exe[PATH_MAX];
    g_autofree char *top = NULL;
    g_autofree char *dir = NULL;
    char **args;
    ssize_t n;

    for (int i = 1; i < *argc; i++) {
        if (!strncmp((*argv)[i], "-artifact_prefix=", 17)) {
            return;
        }
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        return;
    }
    exe[n] = '\0';
    top = g_strdup(exe);
    for (int up = 0; up < 4; up++) {
        char *parent = g_path_get_dirname(top);

        g_free(top);
        top = parent;
    }
    dir = g_build_filename(top, "fuzz-artifacts", NULL);
    if (g_mkdir_with_parents(dir, 0755)) {
        return;
    }
    /* Kept for the process, as libFuzzer keeps argv. */
    args = g_new0(char *, *argc + 2);
    memcpy(args, *argv, *argc * sizeof(char *));
    args[(*argc)++] = g_strdup_printf("-artifact_prefix=%s/%s-", dir, name);
    *argv = args;
}
