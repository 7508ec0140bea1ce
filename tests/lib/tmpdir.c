// SPDX-License-Identifier: GPL-2.0-only
/* A unit test's scratch directory (tests/lib/tmpdir.h). */
#include "tests/lib/tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

int tg_tmpdir_new(char *dir, size_t len, const char *name)
{
	if ((size_t)snprintf(dir, len, "/tmp/%s.XXXXXX", name) >= len)
		return -ENAMETOOLONG;
	return mkdtemp(dir) ? 0 : -errno;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -errno : 0;
}

int tg_tmpdir_remove(const char *dir)
{
	/* depth first, not following links out of it */
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
