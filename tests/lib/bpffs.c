// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/bpffs.h"

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#define BPF_FS_MAGIC_NR 0xcafe4a11

int tg_test_bpffs(void)
{
	struct statfs st;

	if (!statfs("/sys/fs/bpf", &st) && (unsigned long)st.f_type == BPF_FS_MAGIC_NR)
		return 0;
	if (unshare(CLONE_NEWNS))
		return -errno;
	/* keep our mounts from propagating back to the machine's namespace */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}
