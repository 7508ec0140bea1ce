// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control server: the NETLINK_USERSOCK socket, receiving (size-checked, with credentials),
 * dispatch to the request handlers in control/requests.c, replies (built by control/reply.c)
 * sent without blocking, and event publishing.  See control/server.h.
 */
#include "control/server.h"
#include "control/runfile.h"
#include "control/server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

/* Datagrams served per control_server_handle call before yielding to the event loop. */
#define BATCH 64
/* ... and milliseconds spent on them at most (a large policy import may take longer alone). */
#define BATCH_MS 20
/* Our receive queue: room for a burst of requests or one large import without drops. */
#define RCVBUF (4u << 20)
/* The receive buffer kept between requests (it grows for one large request at a time). */
#define RXBUF_KEEP 65536

static void reply_send(struct control_reply *r)
{
	struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = r->port};

	if (!r->len)
		return;
	/* MSG_DONTWAIT: a full client queue drops this reply instead of stalling the daemon. */
	if (sendto(r->s->fd, r->buf, r->len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) <
	    0) {
		r->s->stats.send_failed++;
		log_debug("ctl reply-dropped port=%u bytes=%zu error=%s", r->port, r->len,
			  strerror(errno));
	}
}

static void reply_error(struct control_reply *r, int err, const char *msg, uint32_t bad_off)
{
	r->len = 0; /* whatever was gathered is void */
	if (!msg || !msg[0])
		msg = strerror(-err);
	if (control_reply_add(r, nlproto_error_new(r->req, r->port, err, msg, bad_off)) == 0)
		reply_send(r);
	r->s->stats.errors++;
}

/* ---- dispatch ---- */

static void log_denied(struct control_server *s, const char *what, const struct ucred *cred)
{
	time_t now = time(NULL);

	s->stats.denied++;
	/* A local user can send refused requests in a loop: one line per second is enough. */
	if (now == s->last_denied_log)
		return;
	s->last_denied_log = now;
	log_warn("ctl denied request=\"%s\" uid=%d pid=%d", what, cred ? (int)cred->uid : -1,
		 cred ? (int)cred->pid : -1);
}

/*
 * Who sent a datagram, decided once for all the requests in it: reading the sender's groups
 * (/proc) per request let one datagram of 100 000 denied requests hold the control thread for
 * a second.  Each access level is checked the first time a request needs it.
 */
struct dgram_auth {
	bool done[2];
	int err[2];
	char msg[2][NLPROTO_TEXT_MAX];
};

static int dgram_auth_check(struct control_server *s, struct dgram_auth *da,
			    const struct ucred *cred, enum control_access need, const char *what,
			    char *msg, size_t msglen)
{
	unsigned int i = need == CTL_ACCESS_WRITE;

	if (!da->done[i]) {
		da->err[i] = control_auth_check(&s->auth, cred, need, what, da->msg[i],
						sizeof(da->msg[i]));
		da->done[i] = true;
	}
	if (da->err[i])
		snprintf(msg, msglen, "%s", da->msg[i]);
	return da->err[i];
}

/* false: the rest of the datagram is not looked at (its sender was refused) */
static bool handle_msg(struct control_server *s, const struct nlmsghdr *nlh, const struct ucred *cred,
		       uint32_t sender, struct dgram_auth *da)
{
	struct control_reply rp = {.s = s, .req = nlh, .port = sender};
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	struct control_request rq = {.nlh = nlh, .tb = tb};
	const struct control_handler *h;
	char msg[NLPROTO_TEXT_MAX] = "", tname[32];
	const char *what = nlproto_msg_name(nlh->nlmsg_type, tname, sizeof(tname));
	uint32_t bad_off = 0;
	bool more = true;
	int err;

	/* Acks, errors, and anything that is not a request are not ours to answer (no loops). */
	if (!(nlh->nlmsg_flags & NLM_F_REQUEST) || nlh->nlmsg_type < NLMSG_MIN_TYPE)
		return true;
	s->stats.requests++;
	h = control_handler_find(nlh->nlmsg_type);
	/*
	 * Who asks comes before what is asked: refused senders never reach the parser, and get
	 * one answer per datagram; what else they packed into it is dropped unread.  An unknown
	 * request needs read access to be told so.
	 */
	err = dgram_auth_check(s, da, cred, h ? h->access : CTL_ACCESS_READ, what, msg,
			       sizeof(msg));
	if (err) {
		log_denied(s, what, cred);
		reply_error(&rp, err, msg, 0);
		more = false;
		goto out;
	}
	if (!h) {
		snprintf(msg, sizeof(msg),
			 "unknown request %s (this tlsgated speaks control protocol %d)", what,
			 NLPROTO_VERSION);
		reply_error(&rp, -EOPNOTSUPP, msg, 0);
		goto out;
	}
	err = nlproto_parse(nlh, tb, msg, sizeof(msg), &bad_off);
	if (err) {
		s->stats.malformed++;
		reply_error(&rp, err, msg, bad_off);
		goto out;
	}
	err = h->fn(s, &rq, &rp, msg, sizeof(msg));
	if (h->access == CTL_ACCESS_WRITE)
		log_info("ctl request=\"%s\" uid=%d pid=%d result=%s%s%s", what, (int)cred->uid,
			 (int)cred->pid, err ? strerror(-err) : "ok", msg[0] ? " msg=" : "", msg);
	else
		log_debug("ctl request=\"%s\" uid=%d pid=%d result=%s", what, (int)cred->uid,
			  (int)cred->pid, err ? strerror(-err) : "ok");
	if (err) {
		reply_error(&rp, err, msg, 0);
		goto out;
	}
	if ((nlh->nlmsg_flags & NLM_F_ACK) && (nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) {
		err = control_reply_add(&rp, nlproto_error_new(nlh, sender, 0, msg[0] ? msg : NULL, 0));
		if (err) {
			reply_error(&rp, err, "out of memory", 0);
			goto out;
		}
	}
	reply_send(&rp);
out:
	free(rp.buf);
	return more;
}

void control_server_input(struct control_server *s, const void *buf, size_t len, const struct ucred *cred,
		      uint32_t sender)
{
	const struct nlmsghdr *nlh = buf;
	int rem = len > INT32_MAX ? INT32_MAX : (int)len;
	struct dgram_auth da;

	/* Port 0 would be the kernel, which says nothing on NETLINK_USERSOCK; our own: a loop. */
	if (!sender || sender == s->port)
		return;
	memset(&da, 0, sizeof(da));
	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem))
		if (!handle_msg(s, nlh, cred, sender, &da))
			return;
	if (rem <= 0)
		return;
	s->stats.malformed++;
	/* A header that claims more than was sent: answer it, the sender may be waiting. */
	if ((size_t)rem >= sizeof(*nlh) && (nlh->nlmsg_flags & NLM_F_REQUEST) &&
	    nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
		struct control_reply rp = {.s = s, .req = nlh, .port = sender};
		char msg[128];

		snprintf(msg, sizeof(msg),
			 "truncated message: its header says %u bytes, %d arrived", nlh->nlmsg_len,
			 rem);
		reply_error(&rp, -EBADMSG, msg, 0);
		free(rp.buf);
	}
}

/* A request larger than we accept: read it away and tell the sender, from its header. */
static void refuse_oversized(struct control_server *s, size_t n, uint32_t sender)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)s->rxbuf;
	struct control_reply rp = {.s = s, .req = nlh, .port = sender};
	char msg[160];

	s->stats.malformed++;
	/* Only the header is looked at (it is in the buffer: rxcap >= 64 KiB). */
	if (!sender || sender == s->port || n < sizeof(*nlh) || !(nlh->nlmsg_flags & NLM_F_REQUEST))
		return;
	snprintf(msg, sizeof(msg),
		 "request of %zu bytes is larger than the %zu this tlsgated reads", n,
		 s->max_request);
	reply_error(&rp, -EMSGSIZE, msg, 0);
	free(rp.buf);
}

/* Receive one datagram.  1 handled, 0 queue empty, -errno. */
static int recv_one(struct control_server *s)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctrl;
	struct sockaddr_nl from;
	struct iovec iov = {.iov_base = s->rxbuf, .iov_len = s->rxcap};
	struct msghdr mh = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	struct ucred cred;
	bool have_cred = false;
	struct cmsghdr *c;
	ssize_t n;

	/* Peek for the full length (MSG_TRUNC) first: size the buffer, or refuse. */
	n = recv(s->fd, s->rxbuf, s->rxcap, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			/* Requests were dropped by the kernel; their senders time out.  Go on. */
			s->stats.overruns++;
			log_warn("ctl receive queue overflowed: requests lost");
			return 1;
		}
		return -errno;
	}
	if ((size_t)n > s->rxcap && (size_t)n <= s->max_request) {
		unsigned char *p = realloc(s->rxbuf, (size_t)n);

		if (!p)
			return -ENOMEM;
		s->rxbuf = p;
		s->rxcap = (size_t)n;
		iov.iov_base = p;
		iov.iov_len = (size_t)n;
	}
	mh.msg_control = ctrl.buf;
	mh.msg_controllen = sizeof(ctrl.buf);
	n = recvmsg(s->fd, &mh, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			have_cred = true;
		}
	}
	if (mh.msg_namelen != sizeof(from))
		return 1;
	if ((size_t)n > s->max_request || (size_t)n > s->rxcap)
		refuse_oversized(s, (size_t)n, from.nl_pid);
	else
		control_server_input(s, s->rxbuf, (size_t)n, have_cred ? &cred : NULL, from.nl_pid);
	/* An import may have grown the buffer to megabytes: do not keep them for good. */
	if (s->rxcap > RXBUF_KEEP) {
		unsigned char *p = realloc(s->rxbuf, RXBUF_KEEP);

		if (p) {
			s->rxbuf = p;
			s->rxcap = RXBUF_KEEP;
		}
	}
	return 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int control_server_handle(struct control_server *s)
{
	uint64_t until = mono_ms() + BATCH_MS;

	/* Bounded by count and by time: the supervisor's timers and signals come next. */
	for (int i = 0; i < BATCH && mono_ms() < until; i++) {
		int r = recv_one(s);

		if (r <= 0)
			return r;
	}
	return 0;
}

/* ---- events ---- */

int control_server_publish_event(struct control_server *s, const struct nlproto_event *ev)
{
	struct sockaddr_nl to = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1u << (s->events_group - 1),
	};
	struct nl_msg *m;
	ssize_t n;
	int err;

	m = nlproto_msg_new(NLPROTO_MSG_EVENT, 0, ++s->event_seq, s->port, 0);
	if (!m)
		return -ENOMEM;
	err = nlproto_put_event(m, ev);
	if (err)
		goto out;
	n = sendto(s->fd, nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len, MSG_DONTWAIT,
		   (struct sockaddr *)&to, sizeof(to));
	/*
	 * The kernel delivers to the group, then also tries unicast to port 0, which on
	 * NETLINK_USERSOCK has no kernel socket: ECONNREFUSED after a successful broadcast.
	 * Slow listeners lose events (they see ENOBUFS), the publisher never waits.
	 */
	err = n < 0 && errno != ECONNREFUSED ? -errno : 0;
	if (!err)
		s->stats.events++;
out:
	nlmsg_free(m);
	return err;
}

/* ---- life cycle ---- */

int control_server_fd(const struct control_server *s)
{
	return s->fd;
}

uint32_t control_server_port(const struct control_server *s)
{
	return s->port;
}

void control_server_stats(const struct control_server *s, struct control_server_stats *out)
{
	*out = s->stats;
}

static int open_socket(struct control_server *s)
{
	int rcvbuf = RCVBUF;

	s->sk = nl_socket_alloc();
	if (!s->sk)
		return -ENOMEM;
	nl_socket_disable_seq_check(s->sk);
	nl_socket_disable_auto_ack(s->sk);
	errno = 0;
	if (nl_connect(s->sk, NLPROTO_FAMILY) < 0)
		return errno ? -errno : -EIO;
	s->fd = nl_socket_get_fd(s->sk);
	s->port = nl_socket_get_local_port(s->sk);
	if (nl_socket_set_passcred(s->sk, 1) < 0 || nl_socket_set_nonblocking(s->sk) < 0 ||
	    fcntl(s->fd, F_SETFD, FD_CLOEXEC))
		return errno ? -errno : -EIO;
	/* FORCE needs CAP_NET_ADMIN; without it the kernel caps at net.core.rmem_max. */
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) &&
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		return -errno;
	s->rxcap = RXBUF_KEEP;
	s->rxbuf = malloc(s->rxcap);
	return s->rxbuf ? 0 : -ENOMEM;
}

int control_server_open(const struct control_server_opts *opts, const struct control_ops *ops, void *ctx,
		    struct control_server **out)
{
	struct control_server *s;
	int err;

	if (opts->events_group > 32)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->ops = ops;
	s->ctx = ctx;
	s->events_group = opts->events_group ? opts->events_group : NLPROTO_EVENTS_GROUP;
	s->max_request = opts->max_request ? opts->max_request : NLPROTO_MAX_REQUEST;
	control_auth_init(&s->auth, opts->group);
	err = open_socket(s);
	if (err)
		goto fail;
	if (opts->run_dir) {
		struct control_runinfo ri = {
			.pid = getpid(),
			.port = s->port,
			.events_group = s->events_group,
			.protocol = NLPROTO_VERSION,
		};

		s->run_dir = strdup(opts->run_dir);
		if (!s->run_dir) {
			err = -ENOMEM;
			goto fail;
		}
		err = control_runfile_write(s->run_dir, &ri);
		if (err)
			goto fail;
	}
	if (!s->auth.have_group)
		log_warn("ctl group=%s missing: only root may read through tlsgatectl",
			 s->auth.group);
	log_info("ctl listening port=%u events_group=%u run_dir=%s group=%s", s->port,
		 s->events_group, s->run_dir ? s->run_dir : "-", s->auth.group);
	*out = s;
	return 0;
fail:
	free(s->run_dir);
	s->run_dir = NULL;
	control_server_close(s);
	return err;
}

void control_server_close(struct control_server *s)
{
	if (!s)
		return;
	if (s->run_dir)
		control_runfile_remove(s->run_dir, getpid(), s->port);
	if (s->sk)
		nl_socket_free(s->sk); /* closes the fd */
	free(s->rxbuf);
	free(s->run_dir);
	free(s);
}
