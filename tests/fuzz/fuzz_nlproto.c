// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: the control server's request path (control/server.c, control/requests.c,
 * control/nlproto*.c) on arbitrary datagrams, exactly as control_server_handle would pass them on.
 * The first input byte picks the sender's credentials (root, a stranger, a member of the read
 * group by primary gid, none), the rest is the datagram.  Replies go to a socket of ours and are
 * read back through the client-side decoders, which must accept everything the server sends:
 * a reply that does not parse, or an error without a text, traps.
 *
 * Seeds (tests/fuzz/corpus/nlproto/): one valid request of each type, as tlsgatectl builds them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/msg.h>

#include "control/server.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- ops: small, but they exercise every callback path (paging, add replies, errors) ---- */

static int op_status(void *ctx, struct nlproto_status *st)
{
	(void)ctx;
	snprintf(st->version, sizeof(st->version), "fuzz");
	st->ncipher = 1;
	snprintf(st->cipher[0].name, sizeof(st->cipher[0].name), "aes-128-gcm");
	return 0;
}

static int op_policy_dump(void *ctx, int dir, uint32_t after, control_rule_cb cb, void *arg)
{
	static const char *const match[] = {".example.org", "example.org"};
	char key[32];

	(void)ctx;
	(void)dir;
	/* enough rules for several pages */
	for (uint32_t id = after + 1; id < 2000; id++) {
		struct nlproto_rule r = {.id = id,
					 .key = key,
					 .level = "verify",
					 .match = match,
					 .nmatch = 2,
					 .file = "fuzz",
					 .line = id};
		int err;

		snprintf(key, sizeof(key), "d%u.example.org", id);
		err = cb(arg, &r);
		if (err)
			return err < 0 ? err : 0;
	}
	return 0;
}

static int op_policy_add(void *ctx, enum nlproto_dir dir, const char *line, control_rule_cb cb,
			 void *arg, char *msg, size_t msglen)
{
	struct nlproto_rule r = {.id = 16, .dir = dir, .key = line, .level = "may"};

	(void)ctx;
	if (!line[0] || line[0] == '#') {
		snprintf(msg, msglen, "policy add:1:1: empty line");
		return -EINVAL;
	}
	return cb(arg, &r) < 0 ? -EIO : 0;
}

static int op_text(void *ctx, enum nlproto_dir dir, const char *name, const char *data, size_t len,
		   char *msg, size_t msglen)
{
	(void)ctx;
	(void)dir;
	/* a NUL inside would have been refused before */
	if (strlen(data) != len)
		__builtin_trap();
	snprintf(msg, msglen, "%s: %zu bytes", name, len);
	return len % 2 ? -EINVAL : 0;
}

static int op_session_dump(void *ctx, uint64_t after, control_session_cb cb, void *arg)
{
	(void)ctx;
	for (uint64_t id = after + 1; id <= after + 300 && id; id++) {
		struct nlproto_session s = {.id = id, .client_addr = "192.0.2.10", .dest_port = 25};
		int err = cb(arg, &s);

		if (err)
			return err < 0 ? err : 0;
	}
	return 0;
}

static int op_kill(void *ctx, uint64_t id, char *msg, size_t msglen)
{
	(void)ctx;
	(void)msg;
	(void)msglen;
	return id % 2 ? -ENOENT : 0;
}

static const struct control_ops ops = {
	.status = op_status,
	.policy_dump = op_policy_dump,
	.policy_add = op_policy_add,
	.policy_import = op_text,
	.policy_check = op_text,
	.session_dump = op_session_dump,
	.session_kill = op_kill,
	/* reload and log_level: NULL, to exercise "not supported" and the default */
};

static struct control_server *srv;
static int sink = -1;
static uint32_t sink_port;
static unsigned char *rbuf;

static void setup(void)
{
	struct sockaddr_nl me = {.nl_family = AF_NETLINK};
	socklen_t len = sizeof(me);
	struct control_server_opts o = {.group = "root"};
	int big = 8 << 20;

	tg_log_init("fuzz_nlproto", 0);
	tg_log_set_level(TG_LOG_ERR);
	if (control_server_open(&o, &ops, NULL, &srv))
		abort();
	sink = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_USERSOCK);
	if (sink < 0 || bind(sink, (struct sockaddr *)&me, sizeof(me)) ||
	    getsockname(sink, (struct sockaddr *)&me, &len))
		abort();
	setsockopt(sink, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	sink_port = me.nl_pid;
	rbuf = malloc(1 << 20);
}

/* Everything the server answered must read back cleanly on the client side. */
static void check_replies(void)
{
	ssize_t n;

	while ((n = recv(sink, rbuf, 1 << 20, 0)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rbuf;
		int rem = (int)n;

		for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem)) {
			struct nlproto_status st;
			struct nlproto_session s;
			struct nlproto_rule r;
			const char *text, *mb[4];
			uint64_t cursor;
			char msg[256];
			bool more;
			int e;

			switch (nlh->nlmsg_type) {
			case NLMSG_ERROR:
				if (nlproto_error_parse(nlh, &e, &text) || (e && !text))
					__builtin_trap();
				break;
			case NLMSG_DONE:
				if (nlproto_done_parse(nlh, &e, &more, &cursor))
					__builtin_trap();
				break;
			case NLPROTO_MSG_POLICY:
				if (nlproto_parse_rule(nlh, &r, mb, 4, msg, sizeof(msg)))
					__builtin_trap();
				break;
			case NLPROTO_MSG_SESSION:
				if (nlproto_parse_session(nlh, &s, msg, sizeof(msg)))
					__builtin_trap();
				break;
			case NLPROTO_MSG_STATUS:
				if (nlproto_parse_status(nlh, &st, msg, sizeof(msg)))
					__builtin_trap();
				break;
			default:
				__builtin_trap(); /* the server sends nothing else */
			}
		}
		if (rem > 0)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucred cred = {.pid = getpid()};
	const struct ucred *c = &cred;
	void *dgram;

	if (!srv)
		setup();
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0: /* root */
		break;
	case 1: /* a stranger (whose pid is not his: refused without question) */
		cred.uid = 65534;
		cred.gid = 65534;
		break;
	case 2: /* a reader by primary group ("root" group, gid 0) */
		cred.uid = 65534;
		cred.gid = 0;
		break;
	case 3:
		c = NULL;
		break;
	}
	/* The datagram in an exact-size buffer of its own, aligned as the server's receive buffer
	 * is (control_server_input's contract; data + 1 is not). */
	dgram = malloc(size - 1 ? size - 1 : 1);
	if (!dgram)
		return 0;
	memcpy(dgram, data + 1, size - 1);
	control_server_input(srv, dgram, size - 1, c, sink_port);
	free(dgram);
	check_replies();
	return 0;
}
