// SPDX-License-Identifier: GPL-2.0-only
/*
 * Building the answer to one request: netlink messages gathered into one datagram, and dump
 * pages that stop at NLPROTO_PAGE_SIZE.  The request handlers (requests.c) and the dispatcher
 * (server.c) both write through here.
 */
#include "control/server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>

static size_t align4(size_t n)
{
	return (n + NLMSG_ALIGNTO - 1) & ~(size_t)(NLMSG_ALIGNTO - 1);
}

static int reply_append(struct control_reply *r, const void *data, size_t len)
{
	size_t need = r->len + align4(len);

	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(r->buf, cap);
		if (!p)
			return -ENOMEM;
		r->buf = p;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, len);
	memset(r->buf + r->len + len, 0, align4(len) - len);
	r->len = need;
	return 0;
}

int control_reply_add(struct control_reply *r, struct nl_msg *m)
{
	int err;

	if (!m)
		return -ENOMEM;
	err = reply_append(r, nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len);
	nlmsg_free(m);
	return err;
}

int control_reply_entry(struct control_reply *r, struct nl_msg *m, uint64_t id)
{
	int err;

	if (!m)
		return -ENOMEM;
	if (r->entries && r->len + align4(nlmsg_hdr(m)->nlmsg_len) > NLPROTO_PAGE_SIZE) {
		nlmsg_free(m);
		r->full = true;
		return 1;
	}
	err = control_reply_add(r, m);
	if (err)
		return err;
	r->entries++;
	r->last_id = id;
	return 0;
}
