/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A bpffs for a test process: when /sys/fs/bpf is not a bpffs, the process moves into a private
 * mount namespace and mounts one there, so pins it makes are invisible to (and vanish with) it,
 * and nothing on the machine changes.
 */
#ifndef TLSGATE_TESTS_BPFFS_H
#define TLSGATE_TESTS_BPFFS_H

/* 0 or -errno. */
int tg_test_bpffs(void);

#endif
