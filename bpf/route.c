// SPDX-License-Identifier: GPL-2.0-only
#include "bpf/route.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "lib/log.h"

/* libnl's error codes are its own; the ones that matter here, as errno. */
static int nlerr_to_errno(int err)
{
	switch (-err) {
	case 0:
		return 0;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_NOADDR:
	case NLE_NODEV:
		return -ENODEV;
	default:
		return -EINVAL;
	}
}

static int rule_op(struct nl_sock *sk, int family, uint32_t mark, uint32_t table, bool add)
{
	struct rtnl_rule *r = rtnl_rule_alloc();
	int err;

	if (!r)
		return -ENOMEM;
	rtnl_rule_set_family(r, family);
	rtnl_rule_set_prio(r, TG_RULE_PREF);
	rtnl_rule_set_mark(r, mark);
	rtnl_rule_set_mask(r, 0xFFFFFFFF);
	rtnl_rule_set_table(r, table);
	rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	err = add ? rtnl_rule_add(sk, r, NLM_F_EXCL) : rtnl_rule_delete(sk, r, 0);
	rtnl_rule_put(r);
	return nlerr_to_errno(err);
}

static int route_op(struct nl_sock *sk, int family, uint32_t table, bool add)
{
	static const unsigned char any[16];
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL;
	int lo = (int)if_nametoindex("lo"), err;

	if (!rt)
		return -ENOMEM;
	err = -ENOMEM;
	dst = nl_addr_build(family, any, family == AF_INET ? 4 : 16);
	nh = rtnl_route_nh_alloc();
	if (!dst || !nh)
		goto out;
	nl_addr_set_prefixlen(dst, 0);
	rtnl_route_set_family(rt, (uint8_t)family);
	rtnl_route_set_table(rt, table);
	rtnl_route_set_type(rt, RTN_LOCAL);
	rtnl_route_set_scope(rt, RT_SCOPE_HOST);
	rtnl_route_set_protocol(rt, RTPROT_STATIC);
	rtnl_route_set_dst(rt, dst);
	rtnl_route_nh_set_ifindex(nh, lo);
	rtnl_route_add_nexthop(rt, nh);
	nh = NULL; /* owned by the route now */
	err = nlerr_to_errno(add ? rtnl_route_add(sk, rt, NLM_F_EXCL) :
				   rtnl_route_delete(sk, rt, 0));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	rtnl_route_put(rt);
	return err;
}

static struct nl_sock *rtnl_open(int *err)
{
	struct nl_sock *sk = nl_socket_alloc();

	*err = -ENOMEM;
	if (!sk)
		return NULL;
	*err = nlerr_to_errno(nl_connect(sk, NETLINK_ROUTE));
	if (*err) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

int tg_route_add(uint32_t mark, uint32_t table)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct nl_sock *sk;
	int err = 0;

	sk = rtnl_open(&err);
	if (!sk)
		return err;
	for (unsigned int i = 0; i < 2; i++) {
		err = rule_op(sk, fams[i], mark, table, true);
		if (err && err != -EEXIST)
			goto out;
		err = route_op(sk, fams[i], table, true);
		if (err && err != -EEXIST)
			goto out;
		err = 0;
	}
out:
	if (err)
		log_err("bpf route add mark=0x%x table=%u err=%d", mark, table, err);
	nl_socket_free(sk);
	return err;
}

int tg_route_del(uint32_t mark, uint32_t table)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct nl_sock *sk;
	int err = 0, e;

	sk = rtnl_open(&err);
	if (!sk)
		return err;
	for (unsigned int i = 0; i < 2; i++) {
		e = rule_op(sk, fams[i], mark, table, false);
		if (e && e != -ENOENT && !err)
			err = e;
		e = route_op(sk, fams[i], table, false);
		if (e && e != -ENOENT && e != -ESRCH && !err)
			err = e;
	}
	nl_socket_free(sk);
	return err;
}
