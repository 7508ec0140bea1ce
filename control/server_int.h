/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by control/server.c (socket, dispatch), reply.c (answers) and requests.c (handlers). */
#ifndef TLSGATE_CONTROL_SERVER_INT_H
#define TLSGATE_CONTROL_SERVER_INT_H

#include <stdbool.h>
#include <time.h>

#include "control/auth.h"
#include "control/server.h"

struct nl_sock;

struct control_server {
	struct nl_sock *sk;
	int fd;
	uint32_t port;
	const struct control_ops *ops;
	void *ctx;
	struct control_auth auth;
	char *run_dir; /* NULL: no RUNDIR/ctl */
	uint32_t events_group;
	size_t max_request;
	uint32_t event_seq;
	unsigned char *rxbuf;
	size_t rxcap;
	time_t last_denied_log;
	struct control_server_stats stats;
};

/* The answer to one request: netlink messages gathered into one datagram. */
struct control_reply {
	struct control_server *s;
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

struct control_request {
	const struct nlmsghdr *nlh;
	struct nlattr **tb; /* NLPROTO_A_MAX + 1, validated */
};

/* reply.c: append message m (freed) to the reply.  0 or -ENOMEM. */
int control_reply_add(struct control_reply *r, struct nl_msg *m);
/*
 * Append dump entry m (freed) with id, unless the page already holds entries and m would take
 * it past NLPROTO_PAGE_SIZE: then the page is full.  0 added, 1 full, -errno.
 */
int control_reply_entry(struct control_reply *r, struct nl_msg *m, uint64_t id);

/*
 * A request handler: answers into rp (objects, DONE for dumps) and returns 0, or returns -errno
 * with msg filled; the dispatcher then sends the ack or error.
 */
typedef int (*control_handler_fn)(struct control_server *s, const struct control_request *rq,
			      struct control_reply *rp, char *msg, size_t msglen);

struct control_handler {
	uint16_t type;
	enum control_access access;
	control_handler_fn fn;
};

/* The handler for a request type, or NULL. */
const struct control_handler *control_handler_find(uint16_t type);

#endif
