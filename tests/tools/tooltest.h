/*
 * snp-certs tool tests: running the tool as a separate process, and the
 * scratch directory each test program works in
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TOOLTEST_H
#define TOOLTEST_H

#include <glib.h>

/* The snp-certs under test ($SNP_CERTS) and this program's scratch dir. */
extern const char *tool;
extern char *tmpdir;

/* One run of a command: its exit status and what it printed. */
typedef struct Run {
    int status;
    char *out;
    char *err;
} Run;

void run_clear(Run *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Run, run_clear)

/* Run @argv (without its NULL terminator; searched in PATH). */
void run_argv(Run *r, GPtrArray *argv);

/* Run the tool with the NULL-terminated arguments. */
void G_GNUC_NULL_TERMINATED run_tool(Run *r, const char *first, ...);

void assert_contains(const char *hay, const char *needle);

/* A path in the scratch directory; @b written there; a file read whole. */
char *tmp_path(const char *name);
char *write_tmp(const char *name, GBytes *b);
GBytes *read_file(const char *path);

/*
 * g_test_init(), the tool from $SNP_CERTS and a new scratch directory
 * made from @tmpl; tooltest_run() runs the tests and removes the scratch
 * directory when they all passed (kept for a look otherwise).
 */
void tooltest_init(int *argc, char ***argv, const char *tmpl);
int tooltest_run(void);

#endif
