// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session life and I/O.  The run loop is "make progress until stuck": every event re-runs all the
 * steps (flush, read, parse, transfer) until none moves a byte, then the epoll interest of each
 * side is set from what the steps are waiting for.  Level-triggered epoll keeps that simple and
 * free of lost wake-ups; a side is only watched for input when there is room to take it
 * (backpressure instead of unbounded buffering).
 */
#include "daemon/session.h"
#include "daemon/gateway.h"
#include "daemon/worker.h"
#include "daemon/events.h"
#include "ktls/endpoint.h"
#include "lib/log.h"
#include "lib/sockutil.h"
#include "control/nlproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define SIDE_BUF 16384	/* per direction per side: bounded memory per session */
#define PQ_MAX 2048	/* pipelined commands awaiting replies */

static const char *const state_names[] = {
	[ST_UP_CONNECT] = "connect",	   [ST_UP_GREETING] = "greeting",
	[ST_UP_EHLO] = "ehlo",		   [ST_UP_HELO] = "helo",
	[ST_UP_STARTTLS] = "starttls",	   [ST_UP_HANDSHAKE] = "tls-handshake",
	[ST_UP_EHLO_TLS] = "ehlo-tls",	   [ST_RELAY] = "relay",
	[ST_DOWN_TLS_WAIT] = "starttls-server", [ST_DOWN_HANDSHAKE] = "tls-accept",
	[ST_BODY] = "data",		   [ST_BDAT] = "bdat",
	[ST_BDAT_DISCARD] = "bdat-discard", [ST_CLOSING] = "closing",
};

const char *session_state_name(enum session_state st)
{
	return (size_t)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

static void session_destroy(struct session *s);
static void on_side_event(struct loop_ev *ev, uint32_t events);
static void on_timer(struct loop_timer *t);

static void addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *full,
		      size_t fulllen)
{
	uint16_t port = 0;

	ip[0] = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)iplen);
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)iplen);
		port = ntohs(sin6->sin6_port);
	}
	if (full)
		snprintf(full, fulllen, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
}

static int side_init(struct session *s, struct side *sd, const char *name)
{
	sd->s = s;
	sd->name = name;
	sd->ev.fn = on_side_event;
	sd->ev.fd = -1;
	if (buf_init(&sd->in, SIDE_BUF) || buf_init(&sd->out, SIDE_BUF))
		return -ENOMEM;
	snprintf(sd->ktls_state, sizeof(sd->ktls_state), "plain");
	return 0;
}

static void side_close(struct session *s, struct side *sd)
{
	if (sd->ep) {
		loop_unwatch(s->w->loop, &sd->ev);
		ktls_ep_free(sd->ep); /* closes the fd */
		sd->ep = NULL;
	}
	sd->ev.fd = -1;
}

int session_side_write(struct side *sd, const void *p, size_t n)
{
	return buf_append(&sd->out, p, n);
}

int session_side_printf(struct side *sd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(&sd->out, fmt, ap);
	va_end(ap);
	return rc;
}

/* Read what is there into sd->in.  True if anything happened (bytes or the end). */
bool session_side_fill(struct side *sd)
{
	bool progress = false;

	while (sd->ep && !sd->eof) {
		char *tail = buf_tail(&sd->in);
		size_t room = buf_space(&sd->in);
		ssize_t n;

		if (!tail) {
			session_fail(sd->s, "421 4.3.0 Error: local resource problem\r\n",
				     "out of memory for the %s buffer", sd->name);
			return true;
		}
		if (!room)
			break;
		n = ktls_ep_read(sd->ep, tail, room);
		if (n > 0) {
			buf_commit(&sd->in, (size_t)n);
			sd->bytes_in += (uint64_t)n;
			progress = true;
			continue;
		}
		if (n == 0) {
			sd->eof = true;
			return true;
		}
		if (n == -EAGAIN) {
			sd->wait |= ktls_ep_events(sd->ep);
			break;
		}
		session_fail(sd->s, sd == &sd->s->down ? NULL : "421 4.4.2 Error: next hop connection lost\r\n",
			     "read from %s: %s%s%s", sd->name, strerror((int)-n),
			     *ktls_ep_error(sd->ep) ? ": " : "", ktls_ep_error(sd->ep));
		return true;
	}
	return progress;
}

/* Write out what is queued.  True if bytes moved. */
static bool side_flush(struct side *sd)
{
	bool progress = false;

	while (sd->ep && sd->out.len) {
		ssize_t n = ktls_ep_write(sd->ep, buf_head(&sd->out), sd->out.len);

		if (n > 0) {
			buf_consume(&sd->out, (size_t)n);
			sd->bytes_out += (uint64_t)n;
			progress = true;
			continue;
		}
		if (n == -EAGAIN) {
			sd->wait |= ktls_ep_events(sd->ep);
			break;
		}
		buf_reset(&sd->out);
		session_fail(sd->s, sd == &sd->s->down ? NULL : "421 4.4.2 Error: next hop connection lost\r\n",
			     "write to %s: %s", sd->name, strerror((int)-n));
		return true;
	}
	return progress;
}

void session_set_timeout(struct session *s, unsigned int seconds)
{
	loop_timer_arm(s->w->loop, &s->timer, (uint64_t)seconds * 1000u);
}

/* The timeout of what the session waits for now (RFC 5321 4.5.3.2 per command). */
static unsigned int state_timeout(const struct session *s)
{
	const struct config *c = &s->w->gw->cfg;

	switch (s->state) {
	case ST_UP_CONNECT:
		return c->connect_timeout;
	case ST_UP_GREETING:
	case ST_UP_EHLO:
	case ST_UP_HELO:
	case ST_UP_EHLO_TLS:
		return c->helo_timeout;
	case ST_UP_STARTTLS:
	case ST_UP_HANDSHAKE:
	case ST_DOWN_TLS_WAIT:
	case ST_DOWN_HANDSHAKE:
		return c->starttls_timeout;
	case ST_BODY:
	case ST_BDAT:
	case ST_BDAT_DISCARD:
		return c->data_xfer_timeout;
	case ST_CLOSING:
		return 10;
	case ST_RELAY:
		break;
	}
	for (size_t i = 0; i < s->pq_len; i++) {
		const struct pend *p = &s->pq[(s->pq_head + i) % s->pq_cap];

		if (p->kind == PEND_LOCAL)
			continue;
		if (p->flags & PF_DOT)
			return c->data_done_timeout;
		switch (p->verb) {
		case SMTP_MAIL:
			return c->mail_timeout;
		case SMTP_RCPT:
			return c->rcpt_timeout;
		case SMTP_DATA:
			return c->data_init_timeout;
		case SMTP_QUIT:
			return c->quit_timeout;
		default:
			return c->helo_timeout;
		}
	}
	return c->server_timeout;
}

/* Is the session waiting on the up side (vs. on the client) right now?  Bytes queued for it,
 * or a write to it that would block, mean the next hop is not reading: in the body states
 * that is what stops us, not the client (we stop reading the client then). */
static bool waiting_on_up(const struct session *s)
{
	if (s->up.out.len || (s->up.wait & EPOLLOUT))
		return true;
	if (s->state < ST_RELAY || s->state == ST_BODY || s->state == ST_BDAT)
		return s->state < ST_RELAY;
	for (size_t i = 0; i < s->pq_len; i++)
		if (s->pq[(s->pq_head + i) % s->pq_cap].kind != PEND_LOCAL)
			return true;
	return false;
}

static void on_timer(struct loop_timer *t)
{
	struct session *s = (struct session *)((char *)t - offsetof(struct session, timer));
	struct gateway *g = s->w->gw;

	atomic_fetch_add(&g->ctr.timeouts, 1);
	if (s->state == ST_CLOSING) {
		snprintf(s->end_reason, sizeof(s->end_reason), "timeout while closing");
		session_destroy(s);
		return;
	}
	if (waiting_on_up(s))
		session_fail(s, "421 4.4.2 Error: timeout waiting for the next hop\r\n",
			     "timeout state=%s waiting for %s", session_state_name(s->state),
			     s->dest_txt);
	else
		session_fail(s, "421 4.4.2 Error: timeout exceeded\r\n",
			     "timeout state=%s waiting for the client", session_state_name(s->state));
	session_run(s);
}

/* May a QUIT be sent up now: the up side waits for a command, in plaintext or inside a
 * completed TLS handshake, and no message body is half sent? */
static bool up_between_commands(const struct session *s)
{
	switch (s->state) {
	case ST_UP_EHLO:
	case ST_UP_HELO:
	case ST_UP_EHLO_TLS:
	case ST_RELAY:
	case ST_DOWN_TLS_WAIT:
	case ST_DOWN_HANDSHAKE:
		return true;
	case ST_UP_HANDSHAKE:
		return s->up_tls_ready; /* a verdict after the handshake, not a failed one */
	default:
		return false;
	}
}

void session_fail(struct session *s, const char *reply, const char *fmt, ...)
{
	va_list ap;

	if (s->state == ST_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(s->end_reason, sizeof(s->end_reason), fmt, ap);
	va_end(ap);
	if (reply && s->down.ep) {
		char with_host[300];
		const char *sp = strchr(reply, ' ');

		/* "421 4.4.2 Error: ..." -> "421 4.4.2 gw.example.net Error: ..." as Postfix writes */
		if (sp && strchr(sp + 1, ' ') && reply[0] == '4') {
			const char *sp2 = strchr(sp + 1, ' ');

			snprintf(with_host, sizeof(with_host), "%.*s %s%s", (int)(sp2 - reply), reply,
				 s->w->gw->cfg.hostname, sp2);
			session_side_write(&s->down, with_host, strlen(with_host));
		} else {
			session_side_write(&s->down, reply, strlen(reply));
		}
	}
	log_info("session=%s fail state=%s client=%s dest=%s reason=\"%s\"%s%.*s%s", s->ids,
		 session_state_name(s->state), s->client_txt, s->dest_txt, s->end_reason,
		 reply ? " reply=\"" : "", reply ? (int)strcspn(reply, "\r\n") : 0,
		 reply ? reply : "", reply ? "\"" : "");
	if (s->up.ep && !s->quit_sent && up_between_commands(s)) {
		/* A polite QUIT where the up side is between commands; a message in flight is
		 * aborted by the close itself (the next hop never sees its end). */
		s->quit_sent = true;
		session_side_write(&s->up, "QUIT\r\n", 6);
		side_flush(&s->up);
		if (s->up.ep && s->up_tls_ready)
			ktls_ep_shutdown(s->up.ep); /* close_notify, best effort */
	}
	side_close(s, &s->up);
	s->state = ST_CLOSING;
	session_set_timeout(s, 10);
}

void session_abort(struct session *s, const char *reply, const char *reason)
{
	session_fail(s, reply, "%s", reason);
	session_run(s);
}

/*
 * Last words to the client, then a lingering close: shut our side and read (and drop) what the
 * client still sends until it closes too, or a short timer runs out.  Closing a socket with
 * unread bytes sends a RST, and a RST can destroy the 4xx we just wrote before the client read
 * it — then it would not know the message failed with a temporary error.  True when done.
 */
static bool closing_step(struct session *s)
{
	char *scratch = s->w->scratch;
	ssize_t n;
	int rc;

	if (!s->down.ep)
		return true;
	side_flush(&s->down);
	if (s->down.out.len)
		return false;
	if (!s->draining) {
		rc = ktls_ep_shutdown(s->down.ep);
		if (rc == -EAGAIN) {
			s->down.wait |= ktls_ep_events(s->down.ep);
			return false;
		}
		if (rc)
			return true;
		s->draining = true;
		session_set_timeout(s, 2);
	}
	for (int i = 0; i < 16; i++) {
		n = ktls_ep_read(s->down.ep, scratch, WORKER_SCRATCH);
		if (n > 0)
			continue;
		if (n == -EAGAIN) {
			s->down.wait |= ktls_ep_events(s->down.ep) | EPOLLIN;
			return false;
		}
		return true; /* the client closed too (or failed): done */
	}
	/* More to drop (a client still sending a big body): come back when epoll says so, or
	 * the close would find unread bytes and RST the 4xx away. */
	s->down.wait |= EPOLLIN;
	return false;
}

static uint32_t side_interest(struct session *s, struct side *sd)
{
	uint32_t ev = sd->wait;

	if (!sd->ep)
		return 0;
	if (sd->out.len)
		ev |= EPOLLOUT;
	if (sd == &s->up) {
		if (s->state == ST_UP_CONNECT)
			ev |= EPOLLOUT;
		else if (s->state != ST_UP_HANDSHAKE && !sd->eof && buf_space(&sd->in) + sd->in.off)
			ev |= EPOLLIN;
	} else {
		switch (s->state) {
		case ST_RELAY:
			if (!s->await_data && !sd->eof && s->pq_len < PQ_MAX &&
			    buf_space(&sd->in) + sd->in.off)
				ev |= EPOLLIN;
			break;
		case ST_BODY:
		case ST_BDAT:
		case ST_BDAT_DISCARD:
			if (!sd->eof && !s->up.out.len)
				ev |= EPOLLIN;
			break;
		case ST_CLOSING:
			break;
		default:
			/* before the greeting: only notice a client that hangs up */
			ev |= EPOLLRDHUP;
		}
	}
	return ev;
}

void session_run(struct session *s)
{
	struct gateway *g = s->w->gw;
	bool progress, any = false;
	int rounds = 0;

	if (s->dead)
		return;

	do {
		progress = false;
		s->down.wait = s->up.wait = 0;
		progress |= side_flush(&s->down);
		progress |= side_flush(&s->up);
		switch (s->state) {
		case ST_UP_CONNECT:
		case ST_UP_GREETING:
		case ST_UP_EHLO:
		case ST_UP_HELO:
		case ST_UP_STARTTLS:
		case ST_UP_HANDSHAKE:
		case ST_UP_EHLO_TLS:
			progress |= session_up_step(s);
			break;
		case ST_RELAY:
		case ST_DOWN_TLS_WAIT:
		case ST_DOWN_HANDSHAKE:
			progress |= session_relay_step(s);
			break;
		case ST_BODY:
			progress |= session_body_step(s);
			progress |= session_relay_step(s);
			break;
		case ST_BDAT:
		case ST_BDAT_DISCARD:
			progress |= session_bdat_step(s);
			progress |= session_relay_step(s);
			break;
		case ST_CLOSING:
			if (closing_step(s)) {
				session_destroy(s);
				return;
			}
			break;
		}
		any |= progress;
	} while (progress && ++rounds < 64);

	if (any && s->state != ST_CLOSING)
		session_set_timeout(s, state_timeout(s));
	/* An idle session keeps no buffer memory (most of a session's footprint). */
	buf_release(&s->down.in);
	buf_release(&s->down.out);
	buf_release(&s->up.in);
	buf_release(&s->up.out);
	if (s->down.ep &&
	    loop_watch(s->w->loop, &s->down.ev, side_interest(s, &s->down)) < 0)
		log_warn("session=%s epoll down: %s", s->ids, strerror(errno));
	if (s->up.ep && loop_watch(s->w->loop, &s->up.ev, side_interest(s, &s->up)) < 0)
		log_warn("session=%s epoll up: %s", s->ids, strerror(errno));
	(void)g;
}

static void on_side_event(struct loop_ev *ev, uint32_t events)
{
	struct side *sd = (struct side *)((char *)ev - offsetof(struct side, ev));
	struct session *s = sd->s;

	/* Both sides' events can come in one epoll batch: the first may have ended it. */
	if (s->dead)
		return;

	if (sd == &s->down && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
	    s->state < ST_RELAY) {
		session_fail(s, NULL, "client hung up before the greeting");
	}
	session_run(s);
}

int session_start(struct worker *w, enum session_role role, int fd,
		  const struct sockaddr_storage *local, bool steered)
{
	struct session *s = calloc(1, sizeof(*s));
	struct gateway *g = w->gw;
	socklen_t len;
	int err;

	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->w = w;
	s->role = role;
	s->steered = steered;
	s->id = ((uint64_t)w->id << 48) | ++w->next_id;
	snprintf(s->ids, sizeof(s->ids), "%x%08lx", w->id, (unsigned long)(w->next_id & 0xffffffffu));
	s->started_ms = loop_now_ms();
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		s->started_wall_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	}
	loop_timer_init(&s->timer, on_timer);
	if (side_init(s, &s->down, "client") || side_init(s, &s->up, "next-hop")) {
		err = -ENOMEM;
		close(fd);
		goto fail;
	}
	s->down.ep = ktls_ep_new(fd);
	if (!s->down.ep) {
		err = -ENOMEM;
		close(fd);
		goto fail;
	}
	s->down.ev.fd = fd;
	tg_set_nodelay(fd);
	len = sizeof(s->client);
	getpeername(fd, (struct sockaddr *)&s->client, &len);
	addr_text(&s->client, s->client_ip, sizeof(s->client_ip), s->client_txt,
		  sizeof(s->client_txt));
	/* The original destination of a steered connection is our local address (bpf_sk_assign
	 * or TPROXY keep it); a static next hop replaces it. */
	s->dest = *local;
	s->pol = gateway_policy_get(g);
	worker_session_add(w, s);
	atomic_fetch_add(role == ROLE_OUTBOUND ? &g->ctr.sessions_outbound
					       : &g->ctr.sessions_inbound, 1);
	atomic_fetch_add(&g->ctr.sessions_active, 1);

	err = session_up_connect(s);
	if (err) {
		session_run(s);
		return 0;
	}
	session_set_timeout(s, state_timeout(s));
	session_run(s);
	return 0;
fail:
	buf_free(&s->down.in);
	buf_free(&s->down.out);
	buf_free(&s->up.in);
	buf_free(&s->up.out);
	if (s->down.ep)
		ktls_ep_free(s->down.ep);
	free(s);
	return err;
}

static void session_destroy(struct session *s)
{
	struct gateway *g = s->w->gw;
	uint64_t ms = loop_now_ms() - s->started_ms;

	session_event(s, NLPROTO_EV_SESSION_END, s->end_reason[0] ? s->end_reason : "quit");
	log_info("session=%s end role=%s client=%s dest=%s duration=%llu.%03llus messages=%u "
		 "in=%llu out=%llu up_in=%llu up_out=%llu reason=\"%s\"",
		 s->ids, s->role == ROLE_OUTBOUND ? "outbound" : "inbound", s->client_txt,
		 s->dest_txt, (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
		 s->messages, (unsigned long long)s->down.bytes_in,
		 (unsigned long long)s->down.bytes_out, (unsigned long long)s->up.bytes_in,
		 (unsigned long long)s->up.bytes_out, s->end_reason[0] ? s->end_reason : "quit");
	loop_timer_disarm(s->w->loop, &s->timer);
	side_close(s, &s->down);
	side_close(s, &s->up);
	buf_free(&s->down.in);
	buf_free(&s->down.out);
	buf_free(&s->up.in);
	buf_free(&s->up.out);
	session_pend_clear(s);
	free(s->pq);
	free(s->greeting);
	if (s->xfer)
		ktls_xfer_free(s->xfer);
	if (s->pol)
		policy_put(s->pol);
	s->pol = NULL;
	worker_session_del(s->w, s);
	atomic_fetch_sub(&g->ctr.sessions_active, 1);
	/* Not freed yet: events for it may still be in the batch being dispatched. */
	s->dead = true;
	s->next = s->w->zombies;
	s->w->zombies = s;
}

void session_reap(struct worker *w)
{
	while (w->zombies) {
		struct session *s = w->zombies;

		w->zombies = s->next;
		free(s);
	}
}

void session_addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *full,
		       size_t fulllen)
{
	addr_text(ss, ip, iplen, full, fulllen);
}

static const char *addr_port(const struct sockaddr_storage *ss, char *ip, size_t iplen,
			     uint16_t *port)
{
	char full[96];

	addr_text(ss, ip, iplen, full, sizeof(full));
	*port = ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
					 : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ip;
}

/* "tx=kernel rx=user(x)" -> "kernel", "user(x)"; "plain" -> "plain", "plain" */
static void split_ktls(const char *st, char *tx, char *rx, size_t len)
{
	const char *t = strstr(st, "tx="), *r = strstr(st, "rx=");

	snprintf(tx, len, "%.*s", t ? (int)strcspn(t + 3, " ") : (int)strlen(st), t ? t + 3 : st);
	snprintf(rx, len, "%.*s", r ? (int)strcspn(r + 3, " ") : (int)strlen(st), r ? r + 3 : st);
}

void session_describe(const struct session *s, struct nlproto_session *out, char *state,
		      size_t statelen, char *tx, char *rx, size_t txrxlen)
{
	/* The TLS leg the policy is about: toward the MX outbound, toward the sender inbound. */
	const struct side *leg = s->role == ROLE_OUTBOUND ? &s->up : &s->down;
	static __thread char cip[64], dip[64];

	memset(out, 0, sizeof(*out));
	out->id = s->id;
	out->role = s->role == ROLE_OUTBOUND ? POLICY_OUTBOUND : POLICY_INBOUND;
	out->client_addr = addr_port(&s->client, cip, sizeof(cip), &out->client_port);
	out->dest_addr = addr_port(&s->dest, dip, sizeof(dip), &out->dest_port);
	out->dest_name = s->mx_host[0] ? s->mx_host : NULL;
	snprintf(state, statelen, "%s", session_state_name(s->state));
	out->state = state;
	out->tls_version = leg->tls_version[0] ? leg->tls_version : NULL;
	out->cipher = leg->tls_cipher[0] ? leg->tls_cipher : NULL;
	split_ktls(leg->ktls_state, tx, rx, txrxlen);
	out->ktls_tx = tx;
	out->ktls_rx = rx;
	if (s->role == ROLE_OUTBOUND && s->out_match.rule) {
		out->rule_id = s->out_match.rule->id;
		out->level = policy_level_name(s->out_match.rule->level);
	} else if (s->role == ROLE_INBOUND && s->in_match.rule) {
		out->rule_id = s->in_match.rule->id;
		out->level = policy_level_name(s->in_match.rule->level);
	}
	out->bytes_c2s = s->down.bytes_in;
	out->bytes_s2c = s->down.bytes_out;
	out->start_ms = s->started_wall_ms;
}

void session_event(const struct session *s, int type, const char *detail)
{
	struct nlproto_session ns;
	struct nlproto_event ev = { .type = (enum nlproto_event_type)type };
	char state[32], tx[64], rx[64], src[96];
	struct timespec ts;

	session_describe(s, &ns, state, sizeof(state), tx, rx, sizeof(tx));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.time_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	ev.session = &ns;
	ev.rule_id = ns.rule_id;
	ev.level = ns.level;
	ev.detail = detail;
	snprintf(src, sizeof(src), "%s", s->client_txt);
	ev.src = src;
	ev.dst = s->dest_txt;
	ev.subject = s->ids;
	events_publish(&ev);
}
