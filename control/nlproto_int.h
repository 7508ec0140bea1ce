/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers shared by control/nlproto*.c only; users of the protocol include control/nlproto.h. */
#ifndef TLSGATE_CONTROL_NLPROTO_INT_H
#define TLSGATE_CONTROL_NLPROTO_INT_H

#include <stddef.h>
#include <stdint.h>

struct nl_msg;
struct nlattr;
struct nla_policy;

/* Make room for `more` bytes at the tail (libnl messages do not grow by themselves). */
int nlproto_reserve(struct nl_msg *m, size_t more);
/* nla_put with room made and the 16-bit attribute length checked: 0 or -EMSGSIZE/-ENOMEM. */
int nlproto_put(struct nl_msg *m, int type, size_t len, const void *data);
/* A string attribute; NULL puts nothing. */
int nlproto_put_str(struct nl_msg *m, int type, const char *s);
const char *nlproto_attr_name(int type);
/*
 * nla_parse plus what it does not check: which attribute failed (named in msg, its offset from
 * base in *bad_off), and bytes left over after the last whole attribute.
 */
int nlproto_parse_attrs(struct nlattr **tb, int maxtype, struct nlattr *head, int len,
			const struct nla_policy *policy, const char *const *names, const void *base,
			char *msg, size_t msglen, uint32_t *bad_off);

#endif
