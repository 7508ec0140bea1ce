// SPDX-License-Identifier: GPL-2.0-only
#include "bpf/tc.h"

#include <bpf/libbpf.h>
#include <errno.h>

static void hook_init(struct bpf_tc_hook *hook, int ifindex, bool ingress)
{
	*hook = (struct bpf_tc_hook){ .sz = sizeof(*hook) };
	hook->ifindex = ifindex;
	hook->attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

int tg_tc_attach(int ifindex, bool ingress, int prog_fd, uint32_t priority)
{
	bool created;

	return tg_tc_attach_ex(ifindex, ingress, prog_fd, priority, &created);
}

int tg_tc_attach_ex(int ifindex, bool ingress, int prog_fd, uint32_t priority, bool *created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TG_TC_HANDLE, .priority = priority,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	struct bpf_tc_hook hook;
	int err;

	hook_init(&hook, ifindex, ingress);
	err = bpf_tc_hook_create(&hook);
	/* -EEXIST: the clsact qdisc is already there (ours or an admin's); share it. */
	if (err && err != -EEXIST)
		return err;
	*created = !err;
	return bpf_tc_attach(&hook, &opts);
}

int tg_tc_detach(int ifindex, bool ingress, uint32_t priority)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TG_TC_HANDLE, .priority = priority);
	struct bpf_tc_hook hook;

	hook_init(&hook, ifindex, ingress);
	return bpf_tc_detach(&hook, &opts);
}

int tg_tc_destroy_hook(int ifindex)
{
	struct bpf_tc_hook hook;

	hook_init(&hook, ifindex, true);
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	return bpf_tc_hook_destroy(&hook);
}
