// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every step of a session uses: reading into and writing out of a side's buffers, failing
 * the session with a reply to the client, the queue of commands awaiting replies (pipelining),
 * and what the rest of the daemon sees of a session (its view and its events).
 */
#include "daemon/session_int.h"
#include "daemon/events.h"
#include "daemon/gateway.h"
#include "ktls/endpoint.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
	[ST_UP_CONNECT] = "connect",	   [ST_UP_GREETING] = "greeting",
	[ST_UP_EHLO] = "ehlo",		   [ST_UP_HELO] = "helo",
	[ST_UP_STARTTLS] = "starttls",	   [ST_UP_HANDSHAKE] = "tls-handshake",
	[ST_UP_EHLO_TLS] = "ehlo-tls",	   [ST_UP_RSET] = "reuse-rset",
	[ST_RELAY] = "relay",
	[ST_DOWN_TLS_WAIT] = "starttls-server", [ST_DOWN_HANDSHAKE] = "tls-accept",
	[ST_BODY] = "data",		   [ST_BDAT] = "bdat",
	[ST_BDAT_DISCARD] = "bdat-discard", [ST_CLOSING] = "closing",
};

const char *session_state_name(enum session_state st)
{
	return (size_t)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

void session_side_close(struct session *s, struct side *sd)
{
	if (sd->ep) {
		loop_unwatch(s->host->loop, &sd->ev);
		ktls_ep_free(sd->ep); /* closes the fd */
		sd->ep = NULL;
	}
	sd->ev.fd = -1;
}

/* A unit that did not fit where the caller made room for it: the two legs would no longer
 * agree on what was said, so the session ends here. */
static int queue_failed(struct side *sd, size_t n, int rc)
{
	session_fail(sd->s, "421 4.3.0 Error: local resource problem\r\n",
		     "cannot queue %zu bytes to %s (%s); ending the session rather than sending "
		     "part of it", n, sd->name, strerror(-rc));
	return rc;
}

int session_side_writev(struct side *sd, const struct iovec *iov, size_t iovcnt)
{
	int rc = buf_appendv(&sd->out, iov, iovcnt);

	if (rc) {
		size_t n = 0;

		for (size_t i = 0; i < iovcnt; i++)
			n += iov[i].iov_len;
		return queue_failed(sd, n, rc);
	}
	return 0;
}

int session_side_write(struct side *sd, const void *p, size_t n)
{
	int rc = buf_append(&sd->out, p, n);

	return rc ? queue_failed(sd, n, rc) : 0;
}

int session_side_printf(struct side *sd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(&sd->out, fmt, ap);
	va_end(ap);
	return rc ? queue_failed(sd, strlen(fmt), rc) : 0;
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
		if (sd == &sd->s->up && (sd->in.len || sd->s->state == ST_UP_RSET)) {
			/*
			 * What the next hop said before the error was authenticated (TLS records
			 * are checked one by one): its replies still go to the client, the error
			 * counts as the end of the stream.  A 221 followed by a close without
			 * close_notify, as some MTAs do, is then the 221 it is; a reply cut short
			 * by the error is a closed connection (ends()).
			 */
			log_info("session=%s read from %s: %s%s%s; %zu bytes before it are relayed",
				 sd->s->ids, sd->name, strerror((int)-n),
				 *ktls_ep_error(sd->ep) ? ": " : "", ktls_ep_error(sd->ep), sd->in.len);
			sd->eof = true;
			return true;
		}
		session_fail(sd->s, sd == &sd->s->down ? NULL : "421 4.4.2 Error: next hop connection lost\r\n",
			     "read from %s: %s%s%s", sd->name, strerror((int)-n),
			     *ktls_ep_error(sd->ep) ? ": " : "", ktls_ep_error(sd->ep));
		return true;
	}
	return progress;
}

/* Write out what is queued.  True if bytes moved. */
bool session_side_flush(struct side *sd)
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
		if (sd == &sd->s->up && sd->s->state == ST_UP_RSET) {
			/* a taken idle connection: the client has seen nothing, it gets a fresh
			 * one (session_reuse_rset_step sees the end) */
			sd->eof = true;
			return true;
		}
		session_fail(sd->s, sd == &sd->s->down ? NULL : "421 4.4.2 Error: next hop connection lost\r\n",
			     "write to %s: %s", sd->name, strerror((int)-n));
		return true;
	}
	return progress;
}

void session_set_timeout(struct session *s, unsigned int seconds)
{
	loop_timer_arm(s->host->loop, &s->timer, (uint64_t)seconds * 1000u);
}

bool session_too_many_errors(const struct session *s)
{
	unsigned int limit = s->host->gw->cfg.hard_error_limit;

	/* Outbound clients are the inside MTAs: an MX's rejections they relay are theirs to
	 * handle (a limit here would cut off a message's valid recipients after 20 bad ones). */
	return s->role == ROLE_INBOUND && limit && s->errors >= limit;
}

/* May a QUIT be sent up now: the up side waits for a command, in plaintext or inside a
 * completed TLS handshake, and no message body is half sent? */
static bool up_between_commands(const struct session *s)
{
	switch (s->state) {
	case ST_UP_EHLO:
	case ST_UP_HELO:
	case ST_UP_EHLO_TLS:
	case ST_UP_RSET:
	case ST_RELAY:
	case ST_DOWN_TLS_WAIT:
	case ST_DOWN_HANDSHAKE:
		return true;
	case ST_UP_HANDSHAKE:
		return s->upl.tls_ready; /* a verdict after the handshake, not a failed one */
	default:
		return false;
	}
}

bool session_would_refuse(struct session *s, const struct policy_rule *r, bool rcpt,
			  const char *fmt, ...)
{
	struct gateway *g = s->host->gw;
	char why[600];
	va_list ap;

	if (!r || !gateway_rule_monitor(g, r))
		return false;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	atomic_fetch_add(r->dir == POLICY_INBOUND ? &g->ctr.would_refuse_in
						  : &g->ctr.would_refuse_out, 1);
	if (rcpt)
		s->rcpt_would_refuse = true;
	else
		s->would_refuse = true;
	log_info("session=%s would have been refused (monitor): %s (rule=%u key=%s level=%s "
		 "mode=monitor%s)", s->ids, why, r->id, r->key ? r->key : "default",
		 policy_level_name(r->written ? r->written : r->level),
		 r->monitor ? "" : r->dir == POLICY_INBOUND ? " from inbound_policy_mode"
							     : " from outbound_policy_mode");
	return true;
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
		const char *sp = strchr(reply, ' '), *out = reply;

		/* "421 4.4.2 Error: ..." -> "421 4.4.2 gw.example.net Error: ..." as Postfix writes */
		if (sp && strchr(sp + 1, ' ') && reply[0] == '4') {
			const char *sp2 = strchr(sp + 1, ' ');

			snprintf(with_host, sizeof(with_host), "%.*s %s%s", (int)(sp2 - reply), reply,
				 s->host->gw->cfg.hostname, sp2);
			out = with_host;
		}
		/* Whole or not at all; without it the client still sees the connection end before
		 * any success, which it treats as a temporary failure. */
		if (buf_append(&s->down.out, out, strlen(out)))
			log_warn("session=%s no room for the failure reply to the client", s->ids);
	}
	log_info("session=%s fail state=%s client=%s dest=%s reason=\"%s\"%s%.*s%s", s->ids,
		 session_state_name(s->state), s->client_txt, s->dest_txt, s->end_reason,
		 reply ? " reply=\"" : "", reply ? (int)strcspn(reply, "\r\n") : 0,
		 reply ? reply : "", reply ? "\"" : "");
	if (s->up.ep && !s->quit_sent && up_between_commands(s)) {
		/* A polite QUIT where the up side is between commands; a message in flight is
		 * aborted by the close itself (the next hop never sees its end). */
		s->quit_sent = true;
		if (!buf_append(&s->up.out, "QUIT\r\n", 6)) /* whole, or none: it is a goodbye */
			session_side_flush(&s->up);
		if (s->up.ep && s->upl.tls_ready)
			ktls_ep_shutdown(s->up.ep); /* close_notify, best effort */
	}
	session_side_close(s, &s->up);
	s->state = ST_CLOSING;
	session_set_timeout(s, 10);
}

void session_view(const struct session *s, struct session_view *v)
{
	/* The TLS leg the policy is about: toward the MX outbound, toward the sender inbound. */
	const struct side *leg = s->role == ROLE_OUTBOUND ? &s->up : &s->down;
	const struct policy_match *m = s->role == ROLE_OUTBOUND ? &s->out_match : &s->in_match;

	memset(v, 0, sizeof(*v));
	v->id = s->id;
	v->ids = s->ids;
	v->role = s->role;
	v->client = &s->client;
	v->dest = &s->dest;
	v->client_txt = s->client_txt;
	v->dest_txt = s->dest_txt;
	v->dest_name = s->mx_host[0] ? s->mx_host : NULL;
	v->state = session_state_name(s->state);
	v->tls_version = leg->tlsinfo.version[0] ? leg->tlsinfo.version : NULL;
	v->cipher = leg->tlsinfo.cipher[0] ? leg->tlsinfo.cipher : NULL;
	v->ktls = leg->tlsinfo.ktls_state;
	v->ktls_conf = leg->tlsinfo.ktls_conf[0] ? leg->tlsinfo.ktls_conf : NULL;
	v->tls_resumed = leg->tls_resumed;
	v->rule = m->rule;
	v->conn_uses = s->role == ROLE_OUTBOUND && s->upl.tls_ready
			       ? (s->upl.uses ? s->upl.uses : 1)
			       : 0;
	v->bytes_c2s = s->down.bytes_in;
	v->bytes_s2c = s->down.bytes_out;
	v->start_ms = s->started_wall_ms;
}

void session_event(const struct session *s, int type, const char *detail)
{
	struct session_view v;
	struct event ev = { .type = (enum event_type)type, .detail = detail };

	session_view(s, &v);
	ev.session = &v;
	events_publish(&ev);
}

int session_pend_push(struct session *s, enum pend_kind kind, enum smtp_verb verb, uint16_t flags,
	      const char *local, const char *arg)
{
	struct pend *p;

	if (s->pq_len == s->pq_cap) {
		size_t cap = s->pq_cap ? s->pq_cap * 2 : 16;
		struct pend *n;

		if (cap > PQ_MAX)
			return -ENOSPC;
		n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < s->pq_len; i++)
			n[i] = s->pq[(s->pq_head + i) % s->pq_cap];
		free(s->pq);
		s->pq = n;
		s->pq_cap = cap;
		s->pq_head = 0;
	}
	p = &s->pq[(s->pq_head + s->pq_len) % s->pq_cap];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->verb = verb;
	p->flags = flags;
	p->txn = s->cmd_txn;
	if (local && !(p->local = strdup(local)))
		return -ENOMEM;
	if (arg && !(p->arg = strdup(arg))) {
		free(p->local);
		return -ENOMEM;
	}
	s->pq_len++;
	return 0;
}

void session_pend_pop(struct session *s)
{
	struct pend *p = &s->pq[s->pq_head];

	free(p->local);
	free(p->arg);
	s->pq_head = (s->pq_head + 1) % s->pq_cap;
	s->pq_len--;
}

void session_pend_clear(struct session *s)
{
	while (s->pq_len)
		session_pend_pop(s);
}

