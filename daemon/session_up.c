// SPDX-License-Identifier: GPL-2.0-only
/*
 * Setting up the up leg before the client sees anything: connect, greeting, EHLO, STARTTLS when
 * the policy wants it, the handshake and its verdict, kTLS, EHLO again inside TLS.  Only then is
 * the greeting shown (session_relay_show_greeting).  Where TLS is required and cannot be had, the client
 * gets a 421 instead of a greeting and keeps the mail queued.
 */
#include "daemon/datapath.h"
#include "daemon/gateway.h"
#include "daemon/session_int.h"
#include "daemon/tls_peer.h"
#include "ktls/endpoint.h"
#include "lib/log.h"
#include "lib/sockutil.h"
#include "report/outcome.h"
#include "daemon/events.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Decide where the up leg goes and what it requires; logs the session's start line. */
static int decide(struct session *s)
{
	struct gateway *g = s->host->gw;
	const struct config *c = &g->cfg;
	char ip[64], ipport[96];

	if (s->role == ROLE_OUTBOUND) {
		if (c->has_outbound_forward) {
			memcpy(&s->dest, &c->outbound_forward.ss, c->outbound_forward.len);
			if (c->outbound_forward_host)
				snprintf(s->mx_host, sizeof(s->mx_host), "%s",
					 c->outbound_forward_host);
		} else if (!s->steered) {
			return -EDESTADDRREQ;
		}
		if (!s->mx_host[0])
			policy_mx_for_addr(s->pol, (struct sockaddr *)&s->dest, s->mx_host,
					   sizeof(s->mx_host));
		s->out_match = policy_outbound_for_dest(s->pol, (struct sockaddr *)&s->dest,
							s->mx_host[0] ? s->mx_host : NULL);
		s->level = s->out_match.rule->level;
		if (s->out_match.rule->key_type == POLICY_KEY_DOMAIN ||
		    s->out_match.rule->key_type == POLICY_KEY_SUBDOMAINS)
			snprintf(s->nexthop, sizeof(s->nexthop), "%s", s->out_match.rule->key);
	} else {
		/* The inside leg, plaintext: to the configured next hop, else (steer_inbound) to
		 * the inside MX the sender addressed. */
		if (c->has_inbound_next_hop)
			memcpy(&s->dest, &c->inbound_next_hop.ss, c->inbound_next_hop.len);
		else if (!s->steered)
			return -EDESTADDRREQ;
		s->level = POLICY_NONE;
		s->in_match = policy_inbound(s->pol, (struct sockaddr *)&s->client, NULL);
		s->sender_must_tls = policy_level_requires_tls(s->in_match.rule->level);
		if (s->sender_must_tls && gateway_rule_monitor(g, s->in_match.rule)) {
			/* monitor mode: reported at each MAIL, never refused */
			s->sender_must_tls = false;
			s->sender_monitor = true;
		}
		/* inbound "none": do not offer STARTTLS to this client */
		s->offer_tls = g->server_ctx && s->in_match.rule->level != POLICY_NONE;
	}
	tg_addr_text(&s->dest, ip, sizeof(ip), ipport, sizeof(ipport));
	snprintf(s->dest_ip, sizeof(s->dest_ip), "%s", ip);
	snprintf(s->dest_txt, sizeof(s->dest_txt), "%.250s[%s]:%s", s->mx_host[0] ? s->mx_host : ip,
		 ip, strrchr(ipport, ':') + 1);
	s->tlsp.level = s->level;
	s->tlsp.rule = s->role == ROLE_OUTBOUND ? s->out_match.rule : NULL;
	s->tlsp.mx_host = s->mx_host[0] ? s->mx_host : NULL;
	s->tlsp.nexthop = s->nexthop[0] ? s->nexthop : NULL;
	session_event(s, EVENT_SESSION_START, s->role == ROLE_OUTBOUND ? s->out_match.how
									       : s->in_match.how);
	if (s->role == ROLE_OUTBOUND)
		log_info("session=%s start role=outbound client=%s dest=%s rule=%u key=%s how=%s "
			 "level=%s",
			 s->ids, s->client_txt, s->dest_txt, s->out_match.rule->id,
			 s->out_match.rule->key ? s->out_match.rule->key : "default",
			 s->out_match.how, policy_level_name(s->level));
	else
		log_info("session=%s start role=inbound client=%s next_hop=%s sender_rule=%u "
			 "key=%s level=%s",
			 s->ids, s->client_txt, s->dest_txt, s->in_match.rule->id,
			 s->in_match.rule->key ? s->in_match.rule->key : "default",
			 policy_level_name(s->in_match.rule->level));
	return 0;
}

/*
 * A refusal of the destination's rule was not made (monitor mode, session_would_refuse): the
 * rest of the session is what level may does -- TLS when offered and it works, else plaintext,
 * no certificate check -- so each refusal is reported once.
 */
static void monitor_as_may(struct session *s)
{
	s->level = POLICY_MAY;
	s->tlsp.level = POLICY_MAY;
}

int session_up_connect(struct session *s)
{
	int fd, err;

	if (!s->dest_txt[0]) {
		err = decide(s);
		if (err) {
			session_fail(s, "421 4.3.5 Error: no destination (connection was not steered "
					"and no next hop is configured)\r\n",
				     "no destination: not steered, and no %s",
				     s->role == ROLE_OUTBOUND ? "outbound_forward" : "inbound_next_hop");
			return err;
		}
	}
	/* An entry tlsgate cannot honour (dane-only, a refused entry): no delivery at all, the
	 * client keeps the mail -- what Postfix does with such an entry. */
	if (s->role == ROLE_OUTBOUND && s->level == POLICY_DEFER &&
	    session_would_refuse(s, s->out_match.rule, false, "421 4.7.5 TLS policy for %s cannot "
				 "be honoured (policy rule %u)", s->dest_txt, s->out_match.rule->id))
		monitor_as_may(s);
	if (s->role == ROLE_OUTBOUND && s->level == POLICY_DEFER) {
		char reply[400];

		atomic_fetch_add(&s->host->gw->ctr.tls_required_refused, 1);
		session_outcome_refused(s, NULL, -1, REPORT_POLICY_TABLE, "level=defer");
		snprintf(reply, sizeof(reply), "421 4.7.5 TLS policy for %s cannot be honoured "
			 "(policy rule %u)\r\n", s->dest_txt, s->out_match.rule->id);
		session_fail(s, reply, "policy-defer rule=%u key=%s: the entry is refused or needs "
			     "DANE (see the policy load warnings)", s->out_match.rule->id,
			     s->out_match.rule->key ? s->out_match.rule->key : "default");
		return -EPERM;
	}
	/* An idle TLS connection of the same destination and decision, if the worker has one */
	if (s->role == ROLE_OUTBOUND && session_reuse_take(s))
		return 0;
	fd = socket(s->dest.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		session_fail(s, "421 4.3.0 Error: local resource problem\r\n", "socket: %s",
			     strerror(errno));
		return err;
	}
	tg_set_nodelay(fd);
	/* The kernel enforcer (and the steering program) must know this is the relay. */
	datapath_relay_socket(s->host->gw, fd, s->ids);
	if (connect(fd, (struct sockaddr *)&s->dest,
		    s->dest.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6)) &&
	    errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		session_fail(s, "421 4.4.1 Error: cannot connect to the next hop\r\n",
			     "connect to %s: %s", s->dest_txt, strerror(-err));
		return err;
	}
	s->up.ep = ktls_ep_new(fd);
	if (!s->up.ep) {
		close(fd);
		session_fail(s, "421 4.3.0 Error: local resource problem\r\n", "out of memory");
		return -ENOMEM;
	}
	s->up.ev.fd = fd;
	s->upl.local_ip[0] = '\0'; /* a new connection (the may fallback): asked again */
	s->up.eof = false;
	s->up.tls = false;
	buf_reset(&s->up.in);
	buf_reset(&s->up.out);
	s->state = ST_UP_CONNECT;
	return 0;
}

/* A complete reply at the head of up.in: 1 (code, length), 0 need more, <0 failed (done). */
static int up_reply(struct session *s, int *code, size_t *len)
{
	int rc;

	session_side_fill(&s->up);
	if (s->state == ST_CLOSING)
		return -EPIPE;
	rc = smtp_reply_scan(buf_head(&s->up.in), s->up.in.len, code, len);
	if (rc < 0) {
		session_fail(s, "421 4.4.2 Error: next hop protocol error\r\n",
			     "bad reply from %s: %s", s->dest_txt, strerror(-rc));
		return rc;
	}
	if (!rc && s->up.eof) {
		session_fail(s, "421 4.4.2 Error: next hop closed the connection\r\n",
			     "%s closed the connection in state %s", s->dest_txt,
			     session_state_name(s->state));
		return -EPIPE;
	}
	return rc;
}

/* true: the session is refused; false: a monitor rule let it go on, at level may. */
static bool refuse_no_tls(struct session *s, const char *why)
{
	struct gateway *g = s->host->gw;
	char reply[700];

	if (session_would_refuse(s, s->out_match.rule, false, "421 4.7.4 TLS is required, but %s",
				 why)) {
		monitor_as_may(s);
		return false;
	}
	atomic_fetch_add(&g->ctr.tls_required_refused, 1);
	session_outcome_refused(s, NULL, POLICY_RPT_STARTTLS_NOT_SUPPORTED, REPORT_POLICY_TABLE,
				why);
	snprintf(reply, sizeof(reply), "421 4.7.4 TLS is required, but %s\r\n", why);
	session_fail(s, reply, "tls-required level=%s rule=%u: %s", policy_level_name(s->level),
		     s->out_match.rule ? s->out_match.rule->id : 0, why);
	return true;
}

static void start_plaintext(struct session *s)
{
	log_info("session=%s plaintext to %s level=%s%s", s->ids, s->dest_txt,
		 policy_level_name(s->level), s->tls_fallback ? " (after a failed TLS handshake)" : "");
	(void)session_relay_show_greeting(s); /* a failure has failed the session */
}

int session_up_keep_ehlo(struct session *s, const char *r, size_t len)
{
	free(s->upl.ehlo);
	s->upl.ehlo = NULL;
	s->upl.ehlo_len = 0;
	if (!r)
		return 0;
	s->upl.ehlo = malloc(len);
	if (!s->upl.ehlo) {
		session_fail(s, "421 4.3.0 Error: local resource problem\r\n",
			     "out of memory for the next hop's EHLO reply");
		return -ENOMEM;
	}
	memcpy(s->upl.ehlo, r, len);
	s->upl.ehlo_len = len;
	return 0;
}

void session_up_leg_free(struct up_leg *l)
{
	free(l->greeting);
	free(l->ehlo);
	if (l->peer)
		tls_peer_free(l->peer);
	memset(l, 0, sizeof(*l));
}

static bool on_ehlo(struct session *s, int code, const char *r, size_t len)
{
	bool tls_wanted = s->level != POLICY_NONE && !s->tls_fallback;

	if (code != 250) {
		if (policy_level_requires_tls(s->level)) {
			char why[512];

			snprintf(why, sizeof(why), "host %s refused EHLO: %.*s", s->dest_txt,
				 (int)strcspn(r, "\r\n"), r);
			if (refuse_no_tls(s, why))
				return true;
		}
		log_info("session=%s %s refused EHLO: %.*s; trying HELO", s->ids, s->dest_txt,
			 (int)strcspn(r, "\r\n"), r);
		if (session_side_printf(&s->up, "HELO %s\r\n", s->host->gw->cfg.hostname))
			return true; /* failed: up.out holds nothing else now */
		s->state = ST_UP_HELO;
		return true;
	}
	s->upl.starttls_offered = smtp_ehlo_has(r, len, "STARTTLS");
	if (session_up_keep_ehlo(s, r, len)) /* replaced by the one inside TLS, if TLS comes */
		return true;
	if (tls_wanted && s->upl.starttls_offered) {
		if (session_side_write(&s->up, "STARTTLS\r\n", 10))
			return true;
		s->state = ST_UP_STARTTLS;
		return true;
	}
	if (policy_level_requires_tls(s->level)) {
		char why[400];

		snprintf(why, sizeof(why), "was not offered by host %s", s->dest_txt);
		if (refuse_no_tls(s, why))
			return true;
	}
	start_plaintext(s);
	return true;
}

static bool begin_handshake(struct session *s)
{
	struct gateway *g = s->host->gw;
	char err[256];
	SSL *ssl = NULL;
	bool resume = false;
	int rc;

	/* RFC 3207 4.2 and CVE-2011-0411: whatever came after the 220 in plaintext is not part
	 * of the TLS session. */
	if (s->up.in.len) {
		log_warn("session=%s discarded %zu plaintext bytes %s sent after its 220 to STARTTLS",
			 s->ids, s->up.in.len, s->dest_txt);
		atomic_fetch_add(&g->ctr.starttls_injection_discarded, 1);
		buf_reset(&s->up.in);
	}
	/* No MX name known here: the recipient domains' lookups may name the host at this
	 * address (the TLSA base domain DANE wants as SNI, or the MX name MTA-STS checks). */
	s->tlsp.sni_hint = NULL;
	if (!s->tlsp.mx_host && s->host->destpol) {
		uint8_t a[16];
		size_t alen;

		if (session_dest_addr(s, a, &alen))
			s->tlsp.sni_hint = destpol_sni_for_addr(s->host->destpol, a, alen);
	}
	/* part of what decided the connection, should it be kept for reuse */
	snprintf(s->upl.sni_hint, sizeof(s->upl.sni_hint), "%s",
		 s->tlsp.sni_hint ? s->tlsp.sni_hint : "");
	if (s->tlsp.sni_hint && !(s->tlsp.rule && s->tlsp.rule->servername))
		log_info("session=%s SNI %s for %s (from the recipient domains' lookups)", s->ids,
			 s->tlsp.sni_hint, s->dest_txt);
	rc = tls_client_ssl_new(g->client_ctx, &s->tlsp, &ssl, err, sizeof(err));
	if (rc == -EINVAL && policy_level_requires_tls(s->level) &&
	    session_would_refuse(s, s->out_match.rule, false, "421 4.7.5 Error: cannot start TLS "
				 "to the next hop (%s)", err)) {
		/* e.g. verify with no name to check: may checks none */
		monitor_as_may(s);
		rc = tls_client_ssl_new(g->client_ctx, &s->tlsp, &ssl, err, sizeof(err));
	}
	s->tlsp.sni_hint = NULL; /* valid during this call only */
	if (!rc)
		session_nic_prefer(s, ssl);
	/* After everything that shapes the offer: the session kept for this destination and
	 * policy, if any.  With a cache, TLS 1.3 RX waits for the tickets (up_tls_settle). */
	if (!rc)
		resume = tls_client_resume_offer(g->client_ctx, ssl, &s->tlsp, s->dest_txt) >= 0;
	if (!rc)
		rc = ktls_ep_start_tls(s->up.ep, ssl, false);
	if (!rc && resume)
		ktls_ep_defer_rx(s->up.ep);
	if (rc) {
		if (ssl && rc != 0)
			SSL_free(ssl);
		session_fail(s, "421 4.7.5 Error: cannot start TLS to the next hop\r\n",
			     "tls setup for %s: %s", s->dest_txt, err[0] ? err : strerror(-rc));
		return true;
	}
	s->state = ST_UP_HANDSHAKE;
	return true;
}

static bool handshake_failed(struct session *s, int rc)
{
	struct gateway *g = s->host->gw;
	char why[512];

	atomic_fetch_add(&g->ctr.handshake_failed, 1);
	/* a kept session this MX fails with is not offered again */
	tls_client_resume_forget(ktls_ep_ssl(s->up.ep));
	snprintf(why, sizeof(why), "%s", *ktls_ep_error(s->up.ep) ? ktls_ep_error(s->up.ep)
								   : strerror(-rc));
	if (policy_level_requires_tls(s->level) &&
	    session_would_refuse(s, s->out_match.rule, false, "421 4.7.5 Cannot start TLS: "
				 "handshake failure with host %s (%s)", s->dest_txt, why))
		monitor_as_may(s);
	if (!policy_level_requires_tls(s->level)) {
		/* may: as Postfix, a new connection without TLS */
		log_info("session=%s TLS handshake with %s failed (%s); level=may: retrying "
			 "without TLS", s->ids, s->dest_txt, why);
		atomic_fetch_add(&g->ctr.tls_may_fallback, 1);
		s->tls_fallback = true;
		free(s->upl.greeting);
		s->upl.greeting = NULL;
		loop_unwatch(s->host->loop, &s->up.ev);
		ktls_ep_free(s->up.ep);
		s->up.ep = NULL;
		session_up_connect(s);
		return true;
	}
	{
		char reply[700];

		session_outcome_refused(s, NULL, POLICY_RPT_VALIDATION_FAILURE, REPORT_POLICY_TABLE,
					why);
		snprintf(reply, sizeof(reply),
			 "421 4.7.5 Cannot start TLS: handshake failure with host %s\r\n",
			 s->dest_txt);
		session_fail(s, reply, "tls-handshake-failed level=%s dest=%s: %s",
			     policy_level_name(s->level), s->dest_txt, why);
	}
	return true;
}

static bool handshake_done(struct session *s)
{
	struct gateway *g = s->host->gw;
	SSL *ssl = ktls_ep_ssl(s->up.ep);
	char why[512];
	int rc;

	s->upl.tls_ready = true;
	tls_client_summary(ssl, s->up.tlsinfo.summary, sizeof(s->up.tlsinfo.summary));
	/* what a verify rule would say of this peer, whatever this session's level */
	s->upl.cert = (uint8_t)tls_client_cert_status(ssl, s->mx_host);
	rc = tls_client_check(ssl, &s->tlsp, &s->up.tlsinfo.trust, why, sizeof(why));
	/* Resumption keeps only what this policy accepted (a monitored refusal included) */
	if (rc)
		tls_client_resume_forget(ssl);
	else
		(void)tls_client_resume_keep(ssl); /* TLS 1.2; 1.3 tickets come later */
	s->up.tls_resumed = SSL_session_reused(ssl);
	if (rc && session_would_refuse(s, s->out_match.rule, false, "421 4.7.5 Server certificate "
				       "not verified: host %s (%s)", s->dest_txt, why)) {
		monitor_as_may(s); /* may: the session goes on over this TLS, unverified */
		rc = 0;
	}
	if (rc) {
		char reply[640];

		atomic_fetch_add(&g->ctr.verify_failed, 1);
		session_outcome_refused(s, NULL,
					s->upl.cert == REPORT_CERT_EXPIRED
						? POLICY_RPT_CERTIFICATE_EXPIRED
					: s->upl.cert == REPORT_CERT_NAME_MISMATCH
						? POLICY_RPT_CERTIFICATE_HOST_MISMATCH
					: s->upl.cert == REPORT_CERT_VERIFIED ||
					  s->upl.cert == REPORT_CERT_NO_NAME
						? POLICY_RPT_VALIDATION_FAILURE
						: POLICY_RPT_CERTIFICATE_NOT_TRUSTED,
					REPORT_POLICY_TABLE, why);
		snprintf(reply, sizeof(reply), "421 4.7.5 Server certificate not verified: host %s\r\n",
			 s->dest_txt);
		session_fail(s, reply, "tls-verify-failed level=%s dest=%s %s tls_session=%s: %s",
			     policy_level_name(s->level), s->dest_txt, s->up.tlsinfo.summary,
			     tls_client_resume_word(ssl), why);
		return true;
	}
	/* caps NULL (ktls = no): the endpoint stays in userspace and says so */
	rc = ktls_ep_offload(s->up.ep, g->cfg.ktls ? &g->caps : NULL);
	if (rc) {
		session_fail(s, "421 4.7.0 Error: TLS session to the next hop unusable\r\n",
			     "ktls offload to %s left the session unusable: %s", s->dest_txt,
			     strerror(-rc));
		return true;
	}
	/* the kernel is asked once both directions are where they stay (up_tls_settle) */
	if (!ktls_ep_rx_waiting(s->up.ep))
		session_nic_note(s, &s->up);
	ktls_ep_state(s->up.ep, s->up.tlsinfo.ktls_state, sizeof(s->up.tlsinfo.ktls_state));
	snprintf(s->up.tlsinfo.version, sizeof(s->up.tlsinfo.version), "%s", SSL_get_version(ssl));
	snprintf(s->up.tlsinfo.cipher, sizeof(s->up.tlsinfo.cipher), "%s",
		 SSL_get_cipher_name(ssl));
	/* The recipients' DANE and MTA-STS are judged later, per RCPT (session_dest.c): what
	 * that needs of the peer is kept before the SSL goes. */
	if (s->host->destpol) {
		rc = tls_peer_keep(ssl, g->sts_store, &s->upl.peer);
		if (rc && rc != -ENOENT) {
			session_fail(s, "421 4.3.0 Error: local resource problem\r\n",
				     "cannot keep the certificates of %s: %s", s->dest_txt,
				     strerror(-rc));
			return true;
		}
	}
	s->up.tls = true;
	session_event(s, EVENT_SESSION_TLS, s->up.tlsinfo.summary);
	atomic_fetch_add(&g->ctr.tls_up, 1);
	if (s->up.tls_resumed)
		atomic_fetch_add(&g->ctr.tls_up_resumed, 1);
	log_info("session=%s %s TLS connection established to %s: %s tls_session=%s ktls=\"%s\" "
		 "kernel=\"%s\" level=%s rule=%u",
		 s->ids, tls_client_trust_name(s->up.tlsinfo.trust), s->dest_txt,
		 s->up.tlsinfo.summary, tls_client_resume_word(ssl), s->up.tlsinfo.ktls_state,
		 s->up.tlsinfo.ktls_conf[0] ? s->up.tlsinfo.ktls_conf : "-",
		 policy_level_name(s->level), s->out_match.rule ? s->out_match.rule->id : 0);
	/* Everything shown about the session is taken: with both directions in the kernel the
	 * SSL is dead weight (most of an idle session's memory).  Not yet where TLS 1.3 RX waits
	 * for the session tickets (up_tls_settle). */
	ktls_ep_release_ssl(s->up.ep);
	if (session_side_printf(&s->up, "EHLO %s\r\n", g->cfg.hostname))
		return true;
	s->state = ST_UP_EHLO_TLS;
	return true;
}

/*
 * The EHLO reply inside TLS was read, through OpenSSL where TLS 1.3 RX waited (and with it the
 * NewSessionTickets the server sent after the handshake): keep the session they make
 * resumable, then move RX to the kernel.  The MX sends nothing more until our next command.
 */
static void up_tls_settle(struct session *s)
{
	SSL *ssl = ktls_ep_ssl(s->up.ep);

	if (!ssl)
		return;
	(void)tls_client_resume_keep(ssl);
	if (ktls_ep_rx_waiting(s->up.ep)) {
		ktls_ep_offload_rx(s->up.ep);
		session_nic_note(s, &s->up);
		ktls_ep_state(s->up.ep, s->up.tlsinfo.ktls_state, sizeof(s->up.tlsinfo.ktls_state));
		log_info("session=%s TLS to %s after the first reply: ktls=\"%s\" kernel=\"%s\"",
			 s->ids, s->dest_txt, s->up.tlsinfo.ktls_state,
			 s->up.tlsinfo.ktls_conf[0] ? s->up.tlsinfo.ktls_conf : "-");
	}
	ktls_ep_release_ssl(s->up.ep);
}

static bool check_connected(struct session *s)
{
	struct pollfd pfd = { .fd = s->up.ev.fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (poll(&pfd, 1, 0) <= 0)
		return false;
	getsockopt(s->up.ev.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr) {
		session_fail(s, "421 4.4.1 Error: cannot connect to the next hop\r\n",
			     "connect to %s: %s", s->dest_txt, strerror(soerr));
		return true;
	}
	s->state = ST_UP_GREETING;
	return true;
}

bool session_up_step(struct session *s)
{
	const char *r;
	size_t len;
	int code, rc;

	switch (s->state) {
	case ST_UP_CONNECT:
		return check_connected(s);
	case ST_UP_HANDSHAKE:
		rc = ktls_ep_handshake(s->up.ep);
		if (rc == -EAGAIN) {
			s->up.wait |= ktls_ep_events(s->up.ep);
			return false;
		}
		return rc ? handshake_failed(s, rc) : handshake_done(s);
	case ST_UP_RSET:
		return session_reuse_rset_step(s);
	default:
		break;
	}

	rc = up_reply(s, &code, &len);
	if (rc <= 0)
		return rc < 0;
	r = buf_head(&s->up.in);
	switch (s->state) {
	case ST_UP_GREETING:
		if (code != 220) {
			/* The next hop refuses us: the client hears it as the next hop said it. */
			char reply[SMTP_LINE_MAX];

			snprintf(reply, sizeof(reply), "%.*s", (int)len, r);
			buf_consume(&s->up.in, len);
			session_fail(s, reply, "%s greeted with %d", s->dest_txt, code);
			return true;
		}
		if (!s->upl.greeting) {
			s->upl.greeting = malloc(len);
			if (s->upl.greeting) {
				memcpy(s->upl.greeting, r, len);
				s->upl.greeting_len = len;
			}
		}
		if (session_side_printf(&s->up, "EHLO %s\r\n", s->host->gw->cfg.hostname))
			return true;
		s->state = ST_UP_EHLO;
		break;
	case ST_UP_EHLO:
		on_ehlo(s, code, r, len);
		break;
	case ST_UP_HELO:
		if (code != 250) {
			char why[256];

			snprintf(why, sizeof(why), "%.*s", (int)strcspn(r, "\r\n"), r);
			session_fail(s, "421 4.4.2 Error: next hop refused HELO\r\n",
				     "%s refused HELO: %s", s->dest_txt, why);
			break;
		}
		(void)session_up_keep_ehlo(s, NULL, 0);
		start_plaintext(s);
		break;
	case ST_UP_STARTTLS:
		if (code != 220) {
			char why[512];

			snprintf(why, sizeof(why), "host %s refused to start TLS: %.*s", s->dest_txt,
				 (int)strcspn(r, "\r\n"), r);
			buf_consume(&s->up.in, len);
			if (policy_level_requires_tls(s->level)) {
				/* The refusal leaves the MX between commands, in plaintext: say
				 * goodbye (session_fail cannot tell this from a STARTTLS still
				 * waiting for its reply). */
				if (session_would_refuse(s, s->out_match.rule, false,
							 "421 4.7.4 TLS is required, but %s", why)) {
					monitor_as_may(s);
				} else {
					s->quit_sent = true;
					if (!buf_append(&s->up.out, "QUIT\r\n", 6))
						session_side_flush(&s->up);
					refuse_no_tls(s, why);
					return true;
				}
			}
			log_info("session=%s %s; level=may: continuing without TLS", s->ids, why);
			start_plaintext(s);
			return true;
		}
		buf_consume(&s->up.in, len);
		return begin_handshake(s);
	case ST_UP_EHLO_TLS:
		if (code != 250) {
			char why[256];

			snprintf(why, sizeof(why), "%.*s", (int)strcspn(r, "\r\n"), r);
			session_fail(s, "421 4.4.2 Error: next hop refused EHLO after STARTTLS\r\n",
				     "%s refused EHLO inside TLS: %s", s->dest_txt, why);
			break;
		}
		if (session_up_keep_ehlo(s, r, len))
			return true;
		buf_consume(&s->up.in, len);
		up_tls_settle(s);
		(void)session_relay_show_greeting(s); /* a failure has failed the session */
		return true;
	default:
		break;
	}
	if (s->state != ST_CLOSING)
		buf_consume(&s->up.in, len);
	return true;
}
