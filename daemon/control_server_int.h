/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by control_server.c (socket, dispatch, replies) and control_requests.c (handlers). */
#ifndef TLSGATE_DAEMON_CONTROL_SERVER_INT_H
#define TLSGATE_DAEMON_CONTROL_SERVER_INT_H

#include <stdbool.h>
#include <time.h>

#include "daemon/control_auth.h"
#include "daemon/control_server.h"

struct nl_sock;

struct ctl_server {
	struct nl_sock *sk;
	int fd;
	uint32_t port;
	const struct ctl_ops *ops;
	void *ctx;
	struct ctl_auth auth;
	char *run_dir; /* NULL: no RUNDIR/ctl */
	uint32_t events_group;
	size_t max_request;
	uint32_t event_seq;
	unsigned char *rxbuf;
	size_t rxcap;
	time_t last_denied_log;
	struct ctl_server_stats stats;
};

/* The answer to one request: netlink messages gathered into one datagram. */
struct ctl_reply {
	struct ctl_server *s;
	const struct nlmsghdr *req;
	uint32_t port; /* the requester */
	char *buf;
	size_t len, cap;
	size_t entries;	  /* dump entries in this page */
	uint64_t last_id; /* the last entry's id: the cursor */
	bool full;	  /* the page is full; the dump stops here */
	int err;	  /* first failure inside a callback */
	uint64_t want_id; /* session show: the one wanted */
	bool found;
};

struct ctl_request {
	const struct nlmsghdr *nlh;
	struct nlattr **tb; /* NLPROTO_A_MAX + 1, validated */
};

/* Append message m (freed) to the reply.  0 or -ENOMEM. */
int ctl_reply_add(struct ctl_reply *r, struct nl_msg *m);
/*
 * Append dump entry m (freed) with id, unless the page already holds entries and m would take
 * it past NLPROTO_PAGE_SIZE: then the page is full.  0 added, 1 full, -errno.
 */
int ctl_reply_entry(struct ctl_reply *r, struct nl_msg *m, uint64_t id);

/*
 * A request handler: answers into rp (objects, DONE for dumps) and returns 0, or returns -errno
 * with msg filled; the dispatcher then sends the ack or error.
 */
typedef int (*ctl_handler_fn)(struct ctl_server *s, const struct ctl_request *rq,
			      struct ctl_reply *rp, char *msg, size_t msglen);

struct ctl_handler {
	uint16_t type;
	enum ctl_access access;
	ctl_handler_fn fn;
};

/* The handler for a request type, or NULL. */
const struct ctl_handler *ctl_handler_find(uint16_t type);

#endif
