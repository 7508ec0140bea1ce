// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control client (tlsgatectl's transport) and event monitor; see control_client.h.
 */
#include "control/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

/* A dump page is NLPROTO_PAGE_SIZE; the queue holds a few plus the kernel's per-skb overhead. */
#define CLIENT_RCVBUF (1 << 20)

/* A received datagram, checked to come from the daemon. */
struct rx {
	unsigned char *buf;
	size_t cap;
	struct control_runinfo ri;
	char run_dir[4096];
	struct nl_sock *sk;
	int fd;
};

struct control_client {
	struct rx rx;
	int timeout_ms;
	uint32_t seq;
};

struct control_monitor {
	struct rx rx;
	size_t len, off; /* the datagram being handed out, message by message */
};

static int rx_open(struct rx *rx, const char *run_dir, char *msg, size_t msglen)
{
	int rcvbuf = CLIENT_RCVBUF, err;

	rx->fd = -1;
	if (snprintf(rx->run_dir, sizeof(rx->run_dir), "%s", run_dir) >= (int)sizeof(rx->run_dir)) {
		snprintf(msg, msglen, "run directory name too long");
		return -ENAMETOOLONG;
	}
	err = control_runfile_read(run_dir, &rx->ri, msg, msglen);
	if (err)
		return err;
	rx->cap = 65536;
	rx->buf = malloc(rx->cap);
	rx->sk = nl_socket_alloc();
	if (!rx->buf || !rx->sk) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	nl_socket_disable_seq_check(rx->sk);
	nl_socket_disable_auto_ack(rx->sk);
	errno = 0;
	if (nl_connect(rx->sk, NLPROTO_FAMILY) < 0) {
		err = errno ? -errno : -EIO;
		snprintf(msg, msglen, "cannot open a netlink socket: %s", strerror(-err));
		return err;
	}
	rx->fd = nl_socket_get_fd(rx->sk);
	/* Credentials on what we receive tell the daemon's answers from anyone else's. */
	if (nl_socket_set_passcred(rx->sk, 1) < 0 || fcntl(rx->fd, F_SETFD, FD_CLOEXEC)) {
		err = errno ? -errno : -EIO;
		snprintf(msg, msglen, "cannot set up the netlink socket: %s", strerror(-err));
		return err;
	}
	setsockopt(rx->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return 0;
}

static void rx_close(struct rx *rx)
{
	if (rx->sk)
		nl_socket_free(rx->sk);
	free(rx->buf);
}

/*
 * Wait up to timeout_ms for a datagram and read it whole.  Its length, or -ETIMEDOUT, -ENOBUFS,
 * -errno.  Datagrams that are not from the daemon (port and owner uid) give 0: skip them.
 */
static ssize_t rx_recv(struct rx *rx, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctrl;
	struct pollfd pfd = {.fd = rx->fd, .events = POLLIN};
	struct sockaddr_nl from;
	struct iovec iov;
	struct msghdr mh = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.buf,
		.msg_controllen = sizeof(ctrl.buf),
	};
	struct ucred cred = {.uid = (uid_t)-1};
	struct cmsghdr *c;
	ssize_t n;
	int r;

	r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = recv(rx->fd, rx->buf, rx->cap, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if ((size_t)n > rx->cap) {
		unsigned char *p = realloc(rx->buf, (size_t)n);

		if (!p)
			return -ENOMEM;
		rx->buf = p;
		rx->cap = (size_t)n;
	}
	iov.iov_base = rx->buf;
	iov.iov_len = rx->cap;
	n = recvmsg(rx->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(cred)))
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
	/* root, or whoever owns RUNDIR/ctl (a daemon that is not root writes it itself) */
	if (mh.msg_namelen != sizeof(from) || (cred.uid != 0 && cred.uid != rx->ri.owner))
		return 0;
	if (from.nl_pid != rx->ri.port) {
		/* tlsgated restarted (a new port)?  RUNDIR/ctl says, under the same owner. */
		struct control_runinfo ri;
		char ignored[256];

		if (control_runfile_read(rx->run_dir, &ri, ignored, sizeof(ignored)) ||
		    ri.port != from.nl_pid || (cred.uid != 0 && cred.uid != ri.owner))
			return 0;
		rx->ri = ri;
	}
	return n;
}

/* ---- requests ---- */

int control_client_open(const char *run_dir, int timeout_ms, struct control_client **out, char *msg,
		    size_t msglen)
{
	struct control_client *c = calloc(1, sizeof(*c));
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int err;

	if (!c) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	c->timeout_ms = timeout_ms;
	c->seq = (uint32_t)time(NULL);
	err = rx_open(&c->rx, run_dir, msg, msglen);
	if (err)
		goto fail;
	/* A daemon whose queue is full makes send() wait: bound that like the answer. */
	setsockopt(c->rx.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	*out = c;
	return 0;
fail:
	control_client_close(c);
	return err;
}

void control_client_close(struct control_client *c)
{
	if (!c)
		return;
	rx_close(&c->rx);
	free(c);
}

const struct control_runinfo *control_client_daemon(const struct control_client *c)
{
	return &c->rx.ri;
}

struct nl_msg *control_client_msg(uint16_t type, uint16_t flags, size_t payload)
{
	return nlproto_msg_new(type, flags | NLM_F_REQUEST, 0, 0, payload);
}

/* Big requests (policy import) need a send buffer to match: root may force one. */
static int fit_sndbuf(int fd, size_t len, char *msg, size_t msglen)
{
	int cur = 0, want;
	socklen_t sl = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &sl) == 0 && (size_t)cur >= len + 64)
		return 0;
	want = (int)(len + 65536);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)))
		return -errno;
	sl = sizeof(cur);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &sl) == 0 && (size_t)cur >= len + 64)
		return 0;
	snprintf(msg, msglen,
		 "request of %zu bytes is larger than this user may send (net.core.wmem_max)", len);
	return -EMSGSIZE;
}

static int send_req(struct control_client *c, struct nlmsghdr *nlh, char *msg, size_t msglen)
{
	struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = c->rx.ri.port};
	int err;

	err = fit_sndbuf(c->rx.fd, nlh->nlmsg_len, msg, msglen);
	if (err)
		return err;
	if (sendto(c->rx.fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
		return 0;
	err = -errno;
	if (err == -ECONNREFUSED)
		snprintf(msg, msglen,
			 "tlsgated (pid %d) does not answer on netlink port %u: is it running?",
			 (int)c->rx.ri.pid, c->rx.ri.port);
	else if (err == -EAGAIN)
		snprintf(msg, msglen, "tlsgated (pid %d) is not reading requests (waited %d s)",
			 (int)c->rx.ri.pid, c->timeout_ms / 1000);
	else
		snprintf(msg, msglen, "cannot send to tlsgated: %s", strerror(-err));
	return err;
}

/* Point the request at the next dump page: a new cursor and a new sequence number. */
static int set_cursor(struct nl_msg *req, uint64_t cursor)
{
	struct nlattr *a = nlmsg_find_attr(nlmsg_hdr(req), 0, NLPROTO_A_CURSOR);

	if (a && nla_len(a) == sizeof(cursor)) {
		memcpy(nla_data(a), &cursor, sizeof(cursor));
		return 0;
	}
	return nla_put_u64(req, NLPROTO_A_CURSOR, cursor) < 0 ? -ENOMEM : 0;
}

enum step { STEP_MORE, STEP_DONE, STEP_NEXT_PAGE };

/* One reply message.  STEP_* or -errno (msg filled). */
static int on_reply(const struct nlmsghdr *nlh, control_reply_cb cb, void *arg, uint64_t *cursor,
		    char *msg, size_t msglen)
{
	const char *text;
	bool more;
	int err, e;

	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		if (nlproto_error_parse(nlh, &e, &text)) {
			snprintf(msg, msglen, "garbled answer from tlsgated");
			return -EBADMSG;
		}
		snprintf(msg, msglen, "%s", text ? text : e ? strerror(-e) : "");
		return e ? e : STEP_DONE;
	case NLMSG_DONE:
		if (nlproto_done_parse(nlh, &e, &more, cursor)) {
			snprintf(msg, msglen, "garbled dump end from tlsgated");
			return -EBADMSG;
		}
		if (e) {
			snprintf(msg, msglen, "%s", strerror(-e));
			return e;
		}
		return more ? STEP_NEXT_PAGE : STEP_DONE;
	case NLMSG_NOOP:
		return STEP_MORE;
	default:
		err = cb ? cb(arg, nlh) : 0;
		if (err < 0 && !msg[0])
			snprintf(msg, msglen, "cannot read the answer: %s", strerror(-err));
		return err < 0 ? err : STEP_MORE;
	}
}

/* Read datagrams until the answer to seq ends.  STEP_DONE, STEP_NEXT_PAGE or -errno. */
static int read_answer(struct control_client *c, uint32_t seq, control_reply_cb cb, void *arg,
		       uint64_t *cursor, char *msg, size_t msglen)
{
	for (;;) {
		ssize_t n = rx_recv(&c->rx, c->timeout_ms);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)c->rx.buf;
		int rem, r;

		if (n == -ETIMEDOUT) {
			snprintf(msg, msglen, "no answer from tlsgated (pid %d) within %d ms",
				 (int)c->rx.ri.pid, c->timeout_ms);
			return (int)n;
		}
		if (n < 0) {
			snprintf(msg, msglen, "cannot read from tlsgated: %s", strerror((int)-n));
			return (int)n;
		}
		rem = (int)n;
		for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem)) {
			/* An answer to an earlier request that timed out: not ours now. */
			if (nlh->nlmsg_seq != seq)
				continue;
			r = on_reply(nlh, cb, arg, cursor, msg, msglen);
			if (r != STEP_MORE)
				return r;
		}
	}
}

int control_client_call(struct control_client *c, struct nl_msg *req, control_reply_cb cb, void *arg, char *msg,
		    size_t msglen)
{
	struct nlmsghdr *nlh = nlmsg_hdr(req);
	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	struct nlattr *a = nlmsg_find_attr(nlh, 0, NLPROTO_A_CURSOR);
	uint64_t cursor = 0, prev = a ? nlproto_u64(a, 0) : 0;
	int r;

	msg[0] = '\0';
	nlh->nlmsg_flags |= NLM_F_REQUEST;
	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	for (;;) {
		nlh = nlmsg_hdr(req);
		nlh->nlmsg_seq = ++c->seq;
		nlh->nlmsg_pid = nl_socket_get_local_port(c->rx.sk);
		r = send_req(c, nlh, msg, msglen);
		if (r)
			return r;
		r = read_answer(c, nlh->nlmsg_seq, cb, arg, &cursor, msg, msglen);
		if (r != STEP_NEXT_PAGE)
			return r == STEP_DONE ? 0 : r;
		/* Ids ascend: a cursor that does not move would have us ask forever. */
		if (cursor <= prev) {
			snprintf(msg, msglen, "tlsgated's list did not advance (cursor %llu)",
				 (unsigned long long)cursor);
			return -EPROTO;
		}
		prev = cursor;
		if (set_cursor(req, cursor)) {
			snprintf(msg, msglen, "out of memory");
			return -ENOMEM;
		}
	}
}

/* ---- monitor ---- */

int control_monitor_open(const char *run_dir, struct control_monitor **out, char *msg, size_t msglen)
{
	struct control_monitor *m = calloc(1, sizeof(*m));
	int err;

	if (!m) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	err = rx_open(&m->rx, run_dir, msg, msglen);
	if (err)
		goto fail;
	if (!m->rx.ri.events_group) {
		snprintf(msg, msglen, "tlsgated (pid %d) publishes no events", (int)m->rx.ri.pid);
		err = -ENOTSUP;
		goto fail;
	}
	errno = 0;
	if (nl_socket_add_membership(m->rx.sk, (int)m->rx.ri.events_group) < 0) {
		err = errno ? -errno : -EPERM;
		if (err == -EPERM)
			snprintf(msg, msglen,
				 "monitor needs root (CAP_NET_ADMIN): the kernel lets no one else "
				 "join NETLINK_USERSOCK multicast groups");
		else
			snprintf(msg, msglen, "cannot join event group %u: %s",
				 m->rx.ri.events_group, strerror(-err));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	control_monitor_close(m);
	return err;
}

int control_monitor_fd(const struct control_monitor *m)
{
	return m->rx.fd;
}

int control_monitor_next(struct control_monitor *m, int timeout_ms, struct nlproto_event *ev,
		     struct nlproto_session *sess, char *msg, size_t msglen)
{
	ssize_t n;

	for (;;) {
		while (m->off < m->len) {
			const struct nlmsghdr *nlh = (const struct nlmsghdr *)(m->rx.buf + m->off);
			int rem = (int)(m->len - m->off);

			if (!nlmsg_ok(nlh, rem)) {
				m->off = m->len;
				break;
			}
			m->off += NLMSG_ALIGN(nlh->nlmsg_len);
			if (nlh->nlmsg_type != NLPROTO_MSG_EVENT)
				continue;
			/* A garbled event is skipped, not fatal: the stream goes on. */
			if (nlproto_parse_event(nlh, ev, sess, msg, msglen) == 0)
				return 0;
		}
		n = rx_recv(&m->rx, timeout_ms);
		if (n < 0) {
			if (n != -ETIMEDOUT && n != -ENOBUFS)
				snprintf(msg, msglen, "cannot read events: %s", strerror((int)-n));
			return (int)n;
		}
		m->len = (size_t)n;
		m->off = 0;
	}
}

void control_monitor_close(struct control_monitor *m)
{
	if (!m)
		return;
	rx_close(&m->rx);
	free(m);
}
