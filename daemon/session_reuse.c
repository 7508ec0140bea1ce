// SPDX-License-Identifier: GPL-2.0-only
/*
 * Outbound connection reuse (outbound_connection_reuse): when a client ends its session with QUIT
 * after a delivered message and nothing is pending, its TLS connection to the MX is not closed
 * but kept idle in the worker's pool for outbound_connection_reuse_time_limit; the next session
 * for the same destination and the same policy decision takes it instead of connect + STARTTLS +
 * handshake, sends RSET, and on 250 goes on as if the leg had just been set up: the client gets
 * the MX's greeting and its EHLO is answered from the MX's EHLO reply inside TLS, both kept with
 * the connection.  What the MX sees is one TLS session with transactions separated by RSET, as
 * from Postfix's connection cache.
 *
 * Only between transactions, so no message can be lost or sent twice: the connection is kept
 * after the MX's reply to the end of data was delivered to the client, and a taken connection
 * that fails (closed, RSET answered otherwise than 250, a write error, a timeout) is closed
 * before the next client has seen a greeting, which then waits for a fresh connection.  An idle
 * connection the MX closes or writes anything to (a 421 on its idle timeout) is closed at once:
 * the pool watches every idle socket.
 *
 * The key is everything that decided the connection: the original destination address and port,
 * the policy snapshot (a reload drops the pool: session_reuse_tick), the rule, the level, the MX
 * name, the next-hop domain and the SNI hint; a connection made under verify is only ever taken
 * by a session that gets the same verdict.  A session a monitor rule let through as `may`, a
 * plaintext leg, one whose client authenticated (AUTH, XCLIENT) are never kept.
 */
#include "daemon/destpol.h"
#include "daemon/events.h"
#include "daemon/gateway.h"
#include "daemon/session_int.h"
#include "ktls/endpoint.h"
#include "lib/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

/* One idle connection: the up side of a session that ended, and what the next one needs. */
struct reuse_conn {
	struct reuse_conn *prev, *next; /* the pool's list; next: the zombies' once dead */
	bool dead;			/* ended: freed after the batch of events */
	struct session_reuse *pool;
	struct loop_ev ev;	 /* readable or hung up while idle: the MX's doing */
	struct loop_timer timer; /* outbound_connection_reuse_time_limit */
	struct ktls_ep *ep;
	uint64_t idle_since_ms;
	char last_ids[24]; /* the session that used it last, for logs */
	char dest_txt[320];
	/* the key (with leg.sni_hint) */
	struct sockaddr_storage dest;
	struct policy *pol; /* a reference: the snapshot identity */
	const struct policy_rule *rule;
	enum policy_level level;
	char mx_host[256], nexthop[256];
	/* The leg as a session holds it (s->upl, s->up.tlsinfo), for the next one: the greeting
	 * and EHLO reply it is shown, the peer its recipients are checked against, the TLS it
	 * logs; leg.uses counts the sessions served so far, leg.born_ms is when it was set up
	 * (outbound_connection_reuse_lifetime).  Moved in and out whole: up_leg_move. */
	struct up_leg leg;
	struct side_tls tls;
};

struct session_reuse {
	struct session_host *host;
	struct reuse_conn *head; /* newest first */
	/* Ended during the batch of events being dispatched, which may still hold an event for
	 * them: freed by session_reuse_tick, after it (as sessions are by session_reap). */
	struct reuse_conn *zombies;
	unsigned int n;
	unsigned int gen; /* g->policy_gen when the pool was last emptied */
	bool closed;	  /* shutting down: nothing is kept any more */
};

static const char *nth(unsigned int n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	return n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
}

static bool same_dest(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

/*
 * Hand an up leg from one holder to the other, a session's (s->upl, s->up.tlsinfo) or an idle
 * connection's (c->leg, c->tls), whole: whatever the structs gain later moves too.  What the
 * destination owned is released first (nothing, where it is a new entry or a session that
 * has no leg yet).  What the source owned (the greeting, the EHLO reply, the kept peer, the
 * NIC hold) is then the destination's alone, gone from the source; the rest stays readable
 * there (a session whose leg is kept still logs and reports its TLS when it ends).
 */
static void up_leg_move(struct up_leg *dl, struct side_tls *dt, struct up_leg *sl,
			struct side_tls *st)
{
	session_up_leg_free(dl);
	session_nic_release(dt);
	*dl = *sl;
	*dt = *st;
	sl->greeting = sl->ehlo = NULL;
	sl->greeting_len = sl->ehlo_len = 0;
	sl->peer = NULL;
	st->nic = NULL;
	st->nic_tx = st->nic_rx = false;
}

static void conn_unlink(struct reuse_conn *c)
{
	struct session_reuse *p = c->pool;

	if (c->prev)
		c->prev->next = c->next;
	else
		p->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	p->n--;
	atomic_fetch_sub(&p->host->gw->ctr.reuse_idle, 1);
	loop_timer_disarm(p->host->loop, &c->timer);
	loop_unwatch(p->host->loop, &c->ev);
}

/* What the connection carries (whatever a taking session did not take over); the struct
 * itself waits for the end of the batch of events (unlinked first). */
static void conn_free(struct reuse_conn *c)
{
	struct session_reuse *p = c->pool;

	session_nic_release(&c->tls);
	session_up_leg_free(&c->leg);
	if (c->ep)
		ktls_ep_free(c->ep); /* closes the socket */
	c->ep = NULL;
	if (c->pol)
		policy_put(c->pol);
	c->pol = NULL;
	c->dead = true;
	c->next = p->zombies;
	p->zombies = c;
}

static size_t pool_reap(struct session_reuse *p)
{
	size_t n = 0;

	while (p->zombies) {
		struct reuse_conn *c = p->zombies;

		p->zombies = c->next;
		free(c);
		n++;
	}
	return n;
}

/*
 * Close an idle connection: QUIT and close_notify when the MX is still there to hear them
 * (quit), then the socket.  The MX's 221 is not waited for: nothing of ours depends on it.
 */
static void conn_close(struct reuse_conn *c, bool quit, const char *why)
{
	uint64_t idle = loop_now_ms() - c->idle_since_ms;

	conn_unlink(c);
	if (quit) {
		ssize_t n = ktls_ep_write(c->ep, "QUIT\r\n", 6);

		if (n != 6)
			log_info("idle connection to %s: QUIT not sent (%s)", c->dest_txt,
				 n < 0 ? strerror((int)-n) : "partial write");
		else
			(void)ktls_ep_shutdown(c->ep); /* best effort, as for a session's QUIT */
	}
	log_info("idle connection to %s closed: %s (last used by session=%s, %u use%s, "
		 "idle %llu ms)",
		 c->dest_txt, why, c->last_ids, c->leg.uses, c->leg.uses == 1 ? "" : "s",
		 (unsigned long long)idle);
	conn_free(c);
}

static void on_idle_event(struct loop_ev *ev, uint32_t events)
{
	struct reuse_conn *c = (struct reuse_conn *)((char *)ev - offsetof(struct reuse_conn, ev));

	if (c->dead)
		return; /* ended (or taken) earlier in this batch */
	/* Anything from an idle MX -- a 421 on its own timeout, its FIN, junk -- ends it: the
	 * bytes are not a reply to anything, and the next session must not read them as one. */
	atomic_fetch_add(&c->pool->host->gw->ctr.reuse_lost, 1);
	conn_close(c, false,
		   events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP) && !(events & EPOLLIN)
			   ? "the next hop hung up"
			   : "the next hop closed it or wrote while idle");
}

static void on_idle_timer(struct loop_timer *t)
{
	struct reuse_conn *c =
		(struct reuse_conn *)((char *)t - offsetof(struct reuse_conn, timer));

	conn_close(c, true, "outbound_connection_reuse_time_limit");
}

static void pool_drop(struct session_reuse *p, const char *why)
{
	while (p->head)
		conn_close(p->head, true, why);
}

/* A policy swap since the pool was last emptied: every idle connection goes (QUIT). */
static void pool_check_policy(struct session_reuse *p)
{
	unsigned int gen = atomic_load(&p->host->gw->policy_gen);

	if (gen != p->gen) {
		p->gen = gen;
		pool_drop(p, "the policy was reloaded");
	}
}

size_t session_reuse_tick(struct session_host *h, bool stopping)
{
	struct session_reuse *p = h->reuse;
	size_t n;

	if (!p)
		return 0;
	n = pool_reap(p); /* between batches of events: nothing can refer to them any more */
	if (stopping && !p->closed) {
		p->closed = true;
		pool_drop(p, "shutdown");
		return n;
	}
	pool_check_policy(p);
	return n;
}

bool session_reuse_wanted(const struct session *s)
{
	return s->host->gw->cfg.outbound_connection_reuse && s->role == ROLE_OUTBOUND && s->up.ep &&
	       s->up.tls && s->upl.tls_ready && !s->would_refuse && !s->up_private &&
	       s->messages > 0;
}

/* Is anything readable or has the MX hung up (nothing must be waiting on an idle socket)? */
static bool socket_quiet(struct ktls_ep *ep)
{
	struct pollfd pfd = {.fd = ktls_ep_fd(ep), .events = POLLIN | POLLRDHUP};

	if (ktls_ep_rx_buffered(ep))
		return false;
	return poll(&pfd, 1, 0) == 0;
}

int session_reuse_put(struct session *s)
{
	struct session_host *h = s->host;
	struct gateway *g = h->gw;
	struct session_reuse *p = h->reuse;
	struct reuse_conn *c;
	struct policy *cur;
	uint64_t born;
	bool current;

	/* Between transactions, everything said and answered, nothing unread. */
	if (!session_reuse_wanted(s) || s->state != ST_RELAY || s->pq_len != 1 || s->in_txn ||
	    s->held_mail || s->held_rcpt || s->dwaiting || s->await_data || s->up.eof ||
	    s->up.in.len || s->up.out.len || !socket_quiet(s->up.ep))
		return -EBUSY;
	if (atomic_load(&g->stopping) || (p && p->closed))
		return -ESHUTDOWN; /* no session will take it */
	if (p && p->n >= g->cfg.outbound_connection_reuse_limit)
		return -ENOSPC;
	/* Not for ever (Postfix's smtp_connection_reuse_time_limit): a TLS session's keys and
	 * the MX's view of us get renewed now and then. */
	born = s->upl.uses ? s->upl.born_ms : s->started_ms;
	if (g->cfg.outbound_connection_reuse_lifetime &&
	    loop_now_ms() - born >= g->cfg.outbound_connection_reuse_lifetime * 1000ull) {
		log_info("session=%s connection to %s not kept: used for %llu s, "
			 "outbound_connection_reuse_lifetime=%us",
			 s->ids, s->dest_txt, (unsigned long long)((loop_now_ms() - born) / 1000),
			 g->cfg.outbound_connection_reuse_lifetime);
		return -ETIME;
	}
	/* made under the snapshot in force: a reload since may have changed the decision */
	cur = gateway_policy_get(g);
	current = cur == s->pol;
	if (cur)
		policy_put(cur);
	if (!current)
		return -ESTALE;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->host = h;
		p->gen = atomic_load(&g->policy_gen);
		h->reuse = p;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->pool = p;
	c->ev.fn = on_idle_event;
	c->ev.fd = s->up.ev.fd;
	loop_timer_init(&c->timer, on_idle_timer);
	if (loop_timer_arm(h->loop, &c->timer,
			   g->cfg.outbound_connection_reuse_time_limit * 1000ull) < 0) {
		free(c);
		return -ENOMEM;
	}
	/* the session's epoll registration goes; the pool's watches the same socket */
	loop_unwatch(h->loop, &s->up.ev);
	if (loop_watch(h->loop, &c->ev, EPOLLIN | EPOLLRDHUP) < 0) {
		int err = -errno;

		loop_timer_disarm(h->loop, &c->timer);
		free(c);
		return err;
	}
	/* from here on the connection is the pool's */
	c->ep = s->up.ep;
	s->up.ep = NULL;
	s->up.ev.fd = -1;
	up_leg_move(&c->leg, &c->tls, &s->upl, &s->up.tlsinfo);
	if (!c->leg.uses) { /* this session made it */
		c->leg.uses = 1;
		c->leg.born_ms = born;
	}
	c->idle_since_ms = loop_now_ms();
	snprintf(c->last_ids, sizeof(c->last_ids), "%s", s->ids);
	snprintf(c->dest_txt, sizeof(c->dest_txt), "%s", s->dest_txt);
	c->dest = s->dest;
	c->pol = policy_get(s->pol);
	c->rule = s->out_match.rule;
	c->level = s->level;
	snprintf(c->mx_host, sizeof(c->mx_host), "%s", s->mx_host);
	snprintf(c->nexthop, sizeof(c->nexthop), "%s", s->nexthop);
	c->next = p->head;
	if (p->head)
		p->head->prev = c;
	p->head = c;
	p->n++;
	atomic_fetch_add(&g->ctr.reuse_idle, 1);
	atomic_fetch_add(&g->ctr.reuse_kept, 1);
	log_info("session=%s connection to %s kept for reuse (%u use%s so far, %u idle, for %us)",
		 s->ids, s->dest_txt, c->leg.uses, c->leg.uses == 1 ? "" : "s", p->n,
		 g->cfg.outbound_connection_reuse_time_limit);
	return 0;
}

/* The SNI hint a handshake of s would use now (session_up.c begin_handshake's choice). */
static const char *sni_hint_now(const struct session *s)
{
	uint8_t a[16];
	size_t alen;
	const char *hint = NULL;

	if (!s->mx_host[0] && s->host->destpol && session_dest_addr(s, a, &alen))
		hint = destpol_sni_for_addr(s->host->destpol, a, alen);
	return hint ? hint : "";
}

static bool conn_fits(const struct reuse_conn *c, const struct session *s, const char *sni)
{
	return c->pol == s->pol && c->rule == s->out_match.rule && c->level == s->level &&
	       same_dest(&c->dest, &s->dest) && !strcmp(c->mx_host, s->mx_host) &&
	       !strcmp(c->nexthop, s->nexthop) && !strcmp(c->leg.sni_hint, sni);
}

bool session_reuse_take(struct session *s)
{
	struct session_reuse *p = s->host->reuse;
	struct gateway *g = s->host->gw;
	struct reuse_conn *c, *next;
	const char *sni;

	if (!p || !p->head || s->reuse_tried || s->role != ROLE_OUTBOUND || s->tls_fallback ||
	    !g->cfg.outbound_connection_reuse || s->level == POLICY_NONE)
		return false;
	pool_check_policy(p); /* a reload not yet seen by the loop */
	if (!p->head)
		return false;
	sni = sni_hint_now(s);
	for (c = p->head; c; c = next) {
		next = c->next;
		if (!conn_fits(c, s, sni))
			continue;
		/* A FIN or a 421 that arrived in this batch of events, not yet handled: */
		if (!socket_quiet(c->ep)) {
			atomic_fetch_add(&g->ctr.reuse_lost, 1);
			conn_close(c, false, "the next hop closed it or wrote while idle");
			continue;
		}
		break;
	}
	if (!c)
		return false;
	conn_unlink(c);
	s->up.ep = c->ep;
	c->ep = NULL;
	s->up.ev.fd = ktls_ep_fd(s->up.ep);
	s->up.eof = false;
	s->up.tls = true;
	buf_reset(&s->up.in);
	buf_reset(&s->up.out);
	up_leg_move(&s->upl, &s->up.tlsinfo, &c->leg, &c->tls);
	s->upl.uses++;
	log_info("session=%s taking the idle connection to %s (last used by session=%s, idle %llu "
		 "ms): "
		 "RSET",
		 s->ids, s->dest_txt, c->last_ids,
		 (unsigned long long)(loop_now_ms() - c->idle_since_ms));
	conn_free(c);
	s->state = ST_UP_RSET;
	if (session_side_write(&s->up, "RSET\r\n", 6)) {
		/* cannot happen with an empty buffer; if it did, the session failed: no fallback */
		return true;
	}
	return true;
}

void session_reuse_fallback(struct session *s, const char *why)
{
	struct gateway *g = s->host->gw;

	atomic_fetch_add(&g->ctr.reuse_failed, 1);
	log_info("session=%s idle connection to %s unusable (%s): connecting afresh before the "
		 "greeting",
		 s->ids, s->dest_txt, why);
	if (s->up.ep && !s->up.eof) {
		/* Best effort: it answered, so it may hear a goodbye. */
		ssize_t n = ktls_ep_write(s->up.ep, "QUIT\r\n", 6);

		if (n == 6)
			(void)ktls_ep_shutdown(s->up.ep);
	}
	session_side_close(s, &s->up);
	/* the taken leg, all of it: the fresh one starts as a new session's */
	session_nic_release(&s->up.tlsinfo);
	session_up_leg_free(&s->upl);
	memset(&s->up.tlsinfo, 0, sizeof(s->up.tlsinfo));
	s->up.tlsinfo.trust = TLS_ANONYMOUS;
	snprintf(s->up.tlsinfo.ktls_state, sizeof(s->up.tlsinfo.ktls_state), "plain");
	s->up.tls = false;
	s->up.eof = false;
	buf_reset(&s->up.in);
	buf_reset(&s->up.out);
	s->reuse_tried = true;
	if (session_up_connect(s) == 0)
		session_set_timeout(s, g->cfg.connect_timeout);
}

bool session_reuse_rset_step(struct session *s)
{
	struct gateway *g = s->host->gw;
	const char *r;
	size_t len;
	int code, rc;

	session_side_fill(&s->up); /* errors here are the end of the stream (session_io.c) */
	if (s->state != ST_UP_RSET)
		return true;
	rc = smtp_reply_scan(buf_head(&s->up.in), s->up.in.len, &code, &len);
	if (rc < 0) {
		session_reuse_fallback(s, "not an SMTP reply to RSET");
		return true;
	}
	if (!rc) {
		if (!s->up.eof)
			return false;
		session_reuse_fallback(s, "the next hop closed it, or a write to it failed");
		return true;
	}
	r = buf_head(&s->up.in);
	if (code != 250) {
		char why[320];

		snprintf(why, sizeof(why), "RSET answered \"%.*s\"", (int)strcspn(r, "\r\n"), r);
		buf_consume(&s->up.in, len);
		session_reuse_fallback(s, why);
		return true;
	}
	buf_consume(&s->up.in, len);
	if (s->up.in.len) {
		/* more than the reply: the two sides no longer agree on what was said */
		session_reuse_fallback(s, "bytes after the reply to RSET");
		return true;
	}
	atomic_fetch_add(&g->ctr.reuse_taken, 1);
	session_event(s, EVENT_SESSION_TLS, s->up.tlsinfo.summary);
	log_info("session=%s %s TLS connection reused to %s (%u%s use): %s ktls=\"%s\" "
		 "kernel=\"%s\" "
		 "level=%s rule=%u",
		 s->ids, tls_client_trust_name(s->up.tlsinfo.trust), s->dest_txt, s->upl.uses,
		 nth(s->upl.uses), s->up.tlsinfo.summary, s->up.tlsinfo.ktls_state,
		 s->up.tlsinfo.ktls_conf[0] ? s->up.tlsinfo.ktls_conf : "-",
		 policy_level_name(s->level), s->out_match.rule ? s->out_match.rule->id : 0);
	(void)session_relay_show_greeting(s); /* a failure has failed the session */
	return true;
}

void session_reuse_host_fini(struct session_host *h)
{
	if (!h->reuse)
		return;
	(void)session_reuse_tick(h, true);
	(void)pool_reap(h->reuse);
	free(h->reuse);
	h->reuse = NULL;
}
