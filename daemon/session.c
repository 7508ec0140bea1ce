// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session life and I/O.  The run loop is "make progress until stuck": every event re-runs all the
 * steps (flush, read, parse, transfer) until none moves a byte, then the epoll interest of each
 * side is set from what the steps are waiting for.  Level-triggered epoll keeps that simple and
 * free of lost wake-ups; a side is only watched for input when there is room to take it
 * (backpressure instead of unbounded buffering).
 */
#include "daemon/session_int.h"
#include "daemon/anvil.h"
#include "daemon/gateway.h"
#include "ktls/endpoint.h"
#include "lib/log.h"
#include "lib/sockutil.h"
#include "daemon/events.h"

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


static void session_destroy(struct session *s);
static void host_add(struct session_host *h, struct session *s);
static void host_del(struct session_host *h, struct session *s);
static void on_side_event(struct loop_ev *ev, uint32_t events);
static void on_timer(struct loop_timer *t);

static void side_init(struct session *s, struct side *sd, const char *name)
{
	sd->s = s;
	sd->name = name;
	sd->ev.fn = on_side_event;
	sd->ev.fd = -1;
	buf_init_pool(&sd->in, &s->host->buf_pool);
	buf_init_pool(&sd->out, &s->host->buf_pool);
	snprintf(sd->tlsinfo.ktls_state, sizeof(sd->tlsinfo.ktls_state), "plain");
}

/* The timeout of what the session waits for now (RFC 5321 4.5.3.2 per command). */
static unsigned int state_timeout(const struct session *s)
{
	const struct config *c = &s->host->gw->cfg;

	switch (s->state) {
	case ST_UP_CONNECT:
		return c->connect_timeout;
	case ST_UP_GREETING:
	case ST_UP_EHLO:
	case ST_UP_HELO:
	case ST_UP_EHLO_TLS:
		return c->helo_timeout;
	case ST_UP_RSET:
		/* a taken idle connection answers at once or is replaced (Postfix's
		 * smtp_rset_timeout is 20 s) */
		return c->helo_timeout < 20 ? c->helo_timeout : 20;
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

static bool in_body(const struct session *s)
{
	return s->state == ST_BODY || s->state == ST_BDAT || s->state == ST_BDAT_DISCARD;
}

/*
 * Deadlines on the client's turn.  The RFC 5321 timeouts restart with every byte, so a client
 * sending one byte every few seconds held its session (and its connection up) for ever.  A
 * command must be complete within command_deadline of the moment the client's turn began; a
 * body must arrive at min_data_rate bytes/s after a start of data_xfer_timeout (Postfix's
 * smtpd_min_data_rate).  While the up side holds a body's bytes back, the client is not the slow
 * one: its deadline starts again once they are taken.
 */
static void update_deadline(struct session *s, uint64_t now)
{
	const struct config *c = &s->host->gw->cfg;
	int kind = DL_NONE;

	if (s->state == ST_RELAY && !waiting_on_up(s) &&
	    (c->command_deadline || c->first_command_timeout))
		kind = DL_COMMAND;
	else if (in_body(s) && c->min_data_rate && !s->up.out.len &&
		 !(s->xfer && ktls_xfer_inflight(s->xfer)))
		kind = DL_BODY;
	if (kind == s->deadline_kind)
		return;
	s->deadline_kind = kind;
	s->deadline_bytes = s->down.bytes_in;
	s->deadline_ms = kind == DL_BODY ? now + c->data_xfer_timeout * 1000ull : 0;
	if (kind == DL_COMMAND) {
		unsigned int secs = c->command_deadline;

		/* The first command comes soon or not at all: an idle client holds a connection
		 * to the next hop (opened before its greeting) and must not hold it for long. */
		if (!s->down.bytes_in && c->first_command_timeout &&
		    (!secs || c->first_command_timeout < secs))
			secs = c->first_command_timeout;
		s->deadline_ms = secs ? now + secs * 1000ull : 0;
	}
}

/* When the client's turn ends: a body's deadline moves on with every byte at the minimum rate. */
static uint64_t deadline(const struct session *s)
{
	const struct config *c = &s->host->gw->cfg;

	if (s->deadline_kind != DL_BODY)
		return s->deadline_ms;
	return s->deadline_ms + (s->down.bytes_in - s->deadline_bytes) * 1000u / c->min_data_rate;
}

/* Is the end of a message with the next hop, its reply not yet passed on? */
static bool end_of_data_up(const struct session *s)
{
	for (size_t i = 0; i < s->pq_len; i++) {
		const struct pend *p = &s->pq[(s->pq_head + i) % s->pq_cap];

		if (p->kind == PEND_FWD && (p->flags & PF_DOT))
			return true;
	}
	return false;
}

static void on_timer(struct loop_timer *t)
{
	struct session *s = (struct session *)((char *)t - offsetof(struct session, timer));
	struct gateway *g = s->host->gw;
	uint64_t dl = deadline(s), now = loop_now_ms();

	if (s->state == ST_UP_RSET) {
		/* the client has seen nothing yet: a fresh connection instead */
		session_reuse_fallback(s, "no reply to RSET in time");
		session_run(s);
		return;
	}
	if (s->state == ST_CLOSING) {
		atomic_fetch_add(&g->ctr.timeouts, 1);
		snprintf(s->end_reason, sizeof(s->end_reason), "timeout while closing");
		session_destroy(s);
		return;
	}
	if ((!dl || now < dl) && now < s->idle_ms) {
		/* armed for a deadline that has gone since (the client's turn ended) */
		loop_timer_arm(s->host->loop, &s->timer,
			       (dl && dl < s->idle_ms ? dl : s->idle_ms) - now);
		return;
	}
	atomic_fetch_add(&g->ctr.timeouts, 1);
	if (dl && now >= dl) {
		session_fail(s, "421 4.4.2 Error: timeout exceeded\r\n",
			     "deadline state=%s: the client's %s took too long (command_deadline=%us "
			     "min_data_rate=%u)",
			     session_state_name(s->state),
			     s->deadline_kind == DL_BODY ? "message body" : "command",
			     g->cfg.command_deadline, g->cfg.min_data_rate);
		session_run(s);
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

static void session_abort(struct session *s, const char *reply, const char *reason)
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
	char *scratch = s->host->scratch;
	ssize_t n;
	int rc;

	if (!s->down.ep)
		return true;
	session_side_flush(&s->down);
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
		n = ktls_ep_read(s->down.ep, scratch, SESSION_SCRATCH);
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
	struct gateway *g = s->host->gw;
	bool progress, any = false;
	int rounds = 0;

	if (s->dead)
		return;

	do {
		progress = false;
		s->down.wait = s->up.wait = 0;
		progress |= session_side_flush(&s->down);
		progress |= session_side_flush(&s->up);
		switch (s->state) {
		case ST_UP_CONNECT:
		case ST_UP_GREETING:
		case ST_UP_EHLO:
		case ST_UP_HELO:
		case ST_UP_STARTTLS:
		case ST_UP_HANDSHAKE:
		case ST_UP_EHLO_TLS:
		case ST_UP_RSET:
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
		/* smtpd_hard_error_limit: a client that only errs (random bytes got 100 000 "500"
		 * replies on one connection) is sent away */
		if (session_too_many_errors(s) && s->state != ST_CLOSING) {
			session_fail(s, "421 4.7.0 Error: too many errors\r\n",
				     "hard_error_limit=%u reached", g->cfg.hard_error_limit);
			progress = true;
		}
		if (s->shutdown_reply && s->state != ST_CLOSING && !end_of_data_up(s)) {
			session_fail(s, s->shutdown_reply, "shutdown");
			progress = true;
		}
		any |= progress;
	} while (progress && ++rounds < 64);

	if (s->state != ST_CLOSING) {
		uint64_t now = loop_now_ms(), when, dl;

		/* the RFC 5321 timeout restarts with progress; the client's deadline does not */
		update_deadline(s, now);
		if (any || !s->idle_ms)
			s->idle_ms = now + state_timeout(s) * 1000ull;
		when = s->idle_ms;
		dl = deadline(s);
		if (dl && dl < when)
			when = dl;
		loop_timer_arm(s->host->loop, &s->timer, when > now ? when - now : 0);
	}
	/* An idle session keeps no buffer memory (most of a session's footprint). */
	buf_release(&s->down.in);
	buf_release(&s->down.out);
	buf_release(&s->up.in);
	buf_release(&s->up.out);
	if (s->down.ep &&
	    loop_watch(s->host->loop, &s->down.ev, side_interest(s, &s->down)) < 0)
		log_warn("session=%s epoll down: %s", s->ids, strerror(errno));
	if (s->up.ep && loop_watch(s->host->loop, &s->up.ev, side_interest(s, &s->up)) < 0)
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

int session_start(struct session_host *h, enum session_role role, int fd,
		  const struct sockaddr_storage *peer, const struct sockaddr_storage *local,
		  bool steered)
{
	struct session *s = tg_pool_zget(&h->session_pool);
	struct gateway *g = h->gw;
	int err;

	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->host = h;
	s->role = role;
	s->steered = steered;
	s->id = ((uint64_t)h->id << 48) | ++h->next_id;
	snprintf(s->ids, sizeof(s->ids), "%x%08lx", h->id, (unsigned long)(h->next_id & 0xffffffffu));
	s->started_ms = loop_now_ms();
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		s->started_wall_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	}
	loop_timer_init(&s->timer, on_timer);
	side_init(s, &s->down, "client");
	side_init(s, &s->up, "next-hop");
	s->down.ep = ktls_ep_new(fd);
	if (!s->down.ep) {
		err = -ENOMEM;
		close(fd);
		goto fail;
	}
	s->down.ev.fd = fd;
	tg_set_nodelay(fd);
	s->client = *peer;
	tg_addr_text(&s->client, s->client_ip, sizeof(s->client_ip), s->client_txt,
		  sizeof(s->client_txt));
	/* The original destination of a steered connection is our local address (bpf_sk_assign
	 * or TPROXY keep it); a static next hop replaces it. */
	s->dest = *local;
	s->pol = gateway_policy_get(g);
	host_add(h, s);
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
	tg_pool_put(&h->session_pool, s);
	return err;
}

static void session_destroy(struct session *s)
{
	struct gateway *g = s->host->gw;
	uint64_t ms = loop_now_ms() - s->started_ms;

	session_outcome_end(s); /* a transaction still open was abandoned */
	session_event(s, EVENT_SESSION_END, s->end_reason[0] ? s->end_reason : "quit");
	log_info("session=%s end role=%s client=%s dest=%s duration=%llu.%03llus messages=%u "
		 "in=%llu out=%llu up_in=%llu up_out=%llu reason=\"%s\"",
		 s->ids, s->role == ROLE_OUTBOUND ? "outbound" : "inbound", s->client_txt,
		 s->dest_txt, (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
		 s->messages, (unsigned long long)s->down.bytes_in,
		 (unsigned long long)s->down.bytes_out, (unsigned long long)s->up.bytes_in,
		 (unsigned long long)s->up.bytes_out, s->end_reason[0] ? s->end_reason : "quit");
	loop_timer_disarm(s->host->loop, &s->timer);
	session_side_close(s, &s->down);
	session_side_close(s, &s->up);
	session_nic_release(&s->down.tlsinfo);
	session_nic_release(&s->up.tlsinfo);
	buf_free(&s->down.in);
	buf_free(&s->down.out);
	buf_free(&s->up.in);
	buf_free(&s->up.out);
	session_pend_clear(s);
	free(s->pq);
	free(s->held_mail);
	free(s->held_rcpt);
	free(s->mail_fail);
	session_dest_end(s); /* no lookup left that could judge the kept peer ... */
	session_up_leg_free(&s->upl); /* ... freed with the rest of the leg */
	session_trace_scan_end(s);
	if (s->xfer)
		ktls_xfer_free(s->xfer);
	if (s->pol)
		policy_put(s->pol);
	s->pol = NULL;
	host_del(s->host, s);
	if (s->role == ROLE_INBOUND)
		anvil_disconnect(g->anvil, &s->client);
	atomic_fetch_sub(&g->ctr.sessions_active, 1);
	/* Not freed yet: events for it may still be in the batch being dispatched. */
	s->dead = true;
	s->next = s->host->zombies;
	s->host->zombies = s;
}

size_t session_reap(struct session_host *h)
{
	size_t n = 0;

	while (h->zombies) {
		struct session *s = h->zombies;

		h->zombies = s->next;
		tg_pool_put(&h->session_pool, s);
		n++;
	}
	return n;
}

/* ---- the host: the list of a worker's sessions ------------------------------------------- */

/*
 * How many given-back objects a worker keeps for its next sessions (lib/pool.h); the rest go
 * back to malloc at once.  Enough for a burst of sessions starting as others end and for the
 * buffers that every event takes and gives back, small against what those sessions hold: at
 * most 64 sessions, 1 MiB of side buffers and 512 KiB of bounce buffers per worker, and none of
 * it once the worker is idle (session_host_trim).
 */
#define SESSION_POOL_KEEP 64
#define BUF_POOL_KEEP 64
#define BOUNCE_POOL_KEEP 8

int session_host_init(struct session_host *h, struct gateway *gw, struct loop *loop,
		      unsigned int id)
{
	memset(h, 0, sizeof(*h));
	h->gw = gw;
	h->loop = loop;
	h->id = id;
	tg_pool_init(&h->session_pool, sizeof(struct session), SESSION_POOL_KEEP);
	tg_pool_init(&h->buf_pool, SIDE_BUF, BUF_POOL_KEEP);
	tg_pool_init(&h->bounce_pool, KTLS_XFER_BOUNCE_LEN, BOUNCE_POOL_KEEP);
	h->scratch = malloc(SESSION_SCRATCH);
	if (!h->scratch)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	return 0;
}

void session_host_fini(struct session_host *h)
{
	if (!h->scratch)
		return;
	session_reuse_host_fini(h);
	session_reap(h);
	session_host_trim(h);
	free(h->scratch);
	h->scratch = NULL;
	pthread_mutex_destroy(&h->lock);
}

unsigned int session_host_trim(struct session_host *h)
{
	return tg_pool_trim(&h->session_pool, 0) + tg_pool_trim(&h->buf_pool, 0) +
	       tg_pool_trim(&h->bounce_pool, 0);
}

static void host_add(struct session_host *h, struct session *s)
{
	pthread_mutex_lock(&h->lock);
	s->next = h->sessions;
	s->prev = NULL;
	if (h->sessions)
		h->sessions->prev = s;
	h->sessions = s;
	h->nsessions++;
	pthread_mutex_unlock(&h->lock);
}

static void host_del(struct session_host *h, struct session *s)
{
	pthread_mutex_lock(&h->lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->nsessions--;
	pthread_mutex_unlock(&h->lock);
	s->prev = s->next = NULL;
}

/* Owner thread only: the list changes only here, so reading it needs no lock. */
static struct session *host_find(struct session_host *h, uint64_t id)
{
	struct session *s;

	for (s = h->sessions; s && s->id != id; s = s->next)
		;
	return s;
}

int session_host_kill(struct session_host *h, uint64_t id)
{
	struct session *s = host_find(h, id);

	if (!s || s->dead)
		return -ENOENT;
	s->killed = true;
	session_abort(s, "421 4.3.0 Error: session ended by the administrator\r\n",
		      "killed by the administrator");
	return 0;
}

void session_host_shutdown(struct session_host *h, const char *reply)
{
	struct session *s = h->sessions, *next;

	for (; s; s = next) {
		next = s->next; /* s leaves the list when the abort destroys it */
		if (s->state != ST_CLOSING && end_of_data_up(s)) {
			s->shutdown_reply = reply;
			log_info("session=%s shutdown: waiting for the next hop's reply to the end of "
				 "data (data_done_timeout=%us)",
				 s->ids, h->gw->cfg.data_done_timeout);
			continue;
		}
		session_abort(s, reply, "shutdown");
	}
}

bool session_host_has(struct session_host *h, uint64_t id)
{
	bool found;

	pthread_mutex_lock(&h->lock);
	found = host_find(h, id) != NULL;
	pthread_mutex_unlock(&h->lock);
	return found;
}

void session_host_foreach(struct session_host *h,
			  void (*fn)(const struct session_view *v, void *ctx), void *ctx)
{
	struct session_view v;

	pthread_mutex_lock(&h->lock);
	for (struct session *s = h->sessions; s; s = s->next) {
		session_view(s, &v);
		fn(&v, ctx);
	}
	pthread_mutex_unlock(&h->lock);
}
