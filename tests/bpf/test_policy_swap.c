// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy swaps after the privilege drop (bpf/loader.h): a child process keeps only the runtime
 * fds (tg_bpf_keep_runtime), becomes nobody without capabilities, and swaps the policy four
 * times; after each swap the parent reads, as root, which trie sits in tg_policy's slot and
 * what it holds.  The two tries made at set-up alternate, each emptied before it is filled; the
 * child cannot create a map (what the double buffer avoids) nor reach the closed maps; a socket
 * it registers in tg_relay carries the storage the programs look for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpf/common.h"
#include "bpf/loader.h"
#include "tests/lib/bpffs.h"

#define NOBODY 65534
#define ROUNDS 4

static char pin_dir[128];
static struct tg_bpf *h;

/* Round r's policy: only 203.0.113.(10 + r)/32, rule 100 + r. */
static struct tg_bpf_policy_entry entry_of(int r)
{
	struct tg_bpf_policy_entry e = { TG_DIR_OUTBOUND, AF_INET, { 203, 0, 113, 0 }, 32,
					 100u + (uint32_t)r, TG_LEVEL_ENCRYPT, 0, 0 };

	e.addr[3] = (uint8_t)(10 + r);
	return e;
}

static struct tg_lpm_key key_of(int r)
{
	struct tg_lpm_key k = { .prefixlen = TG_LPM_KIND_BITS + 32, .dir = TG_DIR_OUTBOUND,
				.family = TG_FAM_V4, .addr = { 203, 0, 113, 0 } };

	k.addr[3] = (uint8_t)(10 + r);
	return k;
}

static int pinned(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	return bpf_obj_get(path);
}

static bool unprivileged_bpf_disabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v != 0;
}

/* The child: 0 when every step did what it must; a step number otherwise. */
static int child(int to_parent, int from_parent)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_NO_PREALLOC);
	unsigned char addr[4] = { 192, 0, 2, 50 };
	int fd, sk, relay = pinned("tg_relay"); /* the pin directory is root's */
	char c = 0;
	__u32 v = 0;

	tg_bpf_keep_runtime(h);
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return 1;
	/* closed by keep_runtime: the exclusion map is out of reach */
	if (tg_bpf_exclude_add(h, AF_INET, addr, 32) == 0)
		return 2;
	/* what a swap cannot do any more */
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "tg_try", sizeof(struct tg_lpm_key),
			    sizeof(struct tg_policy_val), 16, &mo);
	if (fd >= 0 && unprivileged_bpf_disabled())
		return 3;
	if (fd >= 0)
		close(fd);
	for (int r = 0; r < ROUNDS; r++) {
		struct tg_bpf_policy_entry e = entry_of(r);

		if (tg_bpf_policy_replace(h, &e, 1))
			return 10 + r;
		if (write(to_parent, &c, 1) != 1 || read(from_parent, &c, 1) != 1)
			return 20 + r;
	}
	/* a relay socket, registered without privileges: the storage is there for the programs */
	sk = socket(AF_INET, SOCK_STREAM, 0);
	if (sk < 0 || tg_bpf_relay_socket(h, sk))
		return 4;
	if (relay < 0 || bpf_map_lookup_elem(relay, &sk, &v) || v != TG_RELAY_SOCKET)
		return 5;
	return 0;
}

static __u32 live_trie_id(void)
{
	int outer = pinned("tg_policy");
	__u32 zero = 0, id = 0;

	assert_true(outer >= 0);
	assert_int_equal(bpf_map_lookup_elem(outer, &zero, &id), 0);
	close(outer);
	return id;
}

static void test_swaps_unprivileged(void **state)
{
	int up[2], down[2], st;
	__u32 ids[ROUNDS];
	pid_t pid;
	char c = 0;

	(void)state;
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child(up[1], down[0]));
	/* only the child's ends stay open: a child that exits early is an EOF here */
	close(up[1]);
	close(down[0]);
	for (int r = 0; r < ROUNDS; r++) {
		struct tg_policy_val v;
		struct tg_lpm_key k = key_of(r), old = key_of(r - 2);
		int trie;

		if (read(up[0], &c, 1) != 1)
			break; /* the child failed: its status says where */
		ids[r] = live_trie_id();
		trie = bpf_map_get_fd_by_id(ids[r]);
		assert_true(trie >= 0);
		assert_int_equal(bpf_map_lookup_elem(trie, &k, &v), 0);
		assert_int_equal(v.rule_id, 100 + r);
		if (r >= 1)
			assert_int_not_equal(ids[r], ids[r - 1]);
		if (r >= 2) {
			/* the same trie as two swaps ago, emptied before it was filled */
			assert_int_equal(ids[r], ids[r - 2]);
			assert_int_not_equal(bpf_map_lookup_elem(trie, &old, &v), 0);
		}
		close(trie);
		assert_int_equal(write(down[1], &c, 1), 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(up[0]);
	close(down[1]);
}

static int setup(void **state)
{
	struct tg_bpf_opts o = { .sz = sizeof(o), .pin_dir = pin_dir };
	int err;

	(void)state;
	if (!getenv("TG_BPF_VERBOSE"))
		libbpf_set_print(NULL);
	err = tg_test_bpffs();
	if (err) {
		print_error("policy swap: no bpffs: %s\n", strerror(-err));
		return -1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/tlsgate-test-swap-%d", (int)getpid());
	err = tg_bpf_open(&o, &h);
	if (err) {
		print_error("policy swap: load failed: %s\n", strerror(-err));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (h) {
		tg_bpf_detach(h);
		tg_bpf_close(h);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swaps_unprivileged),
	};

	return cmocka_run_group_tests_name("policy_swap", tests, setup, teardown);
}
