/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A unit test's scratch directory: made under /tmp with a name that says whose it is, removed
 * with everything in it (no shell: a path is never a command).
 */
#ifndef TLSGATE_TESTS_TMPDIR_H
#define TLSGATE_TESTS_TMPDIR_H

#include <stddef.h>

/* /tmp/NAME.XXXXXX made into dir (len bytes): 0, or -errno. */
int tg_tmpdir_new(char *dir, size_t len, const char *name);
/* dir and everything below it: 0, or -errno. */
int tg_tmpdir_remove(const char *dir);

#endif
