// SPDX-License-Identifier: GPL-2.0-only
/*
 * The relay proper: client commands parsed line by line and forwarded (or answered here), the
 * next hop's replies relayed verbatim in command order (pipelining), with the few exceptions
 * that make the gateway what it is: EHLO keyword lists rewritten, STARTTLS handled by us
 * (inbound) or refused (outbound), RCPT domains that require TLS refused on a plaintext leg
 * (outbound), senders that must use TLS refused before it (inbound).
 */
#include "daemon/gateway.h"
#include "smtp/received.h"
#include "daemon/session_int.h"
#include "ktls/endpoint.h"
#include "lib/log.h"
#include "daemon/events.h"
#include "report/outcome.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The transaction as the replies tell it (in_txn, what the message log line says).  Replies run
 * behind the commands (pipelining): what the command reader decides on — where a BDAT chunk ends,
 * whether our Received header is in the message, whether the sender must use TLS — is not reset
 * here but by the commands themselves (cmd_txn_reset), or a reply to an earlier command would
 * undo it in the middle of a later one.
 */
void session_txn_reset(struct session *s)
{
	session_outcome_txn_end(s); /* after a message: published already, nothing left */
	s->in_txn = false;
	s->queue_id[0] = s->mail_from[0] = s->first_rcpt[0] = '\0';
	s->nrcpt = s->nrcpt_ok = 0;
	s->msg_bytes = 0;
}

/* A new transaction in command order (EHLO, RSET, MAIL, TLS started, a message ended). */
static void cmd_txn_reset(struct session *s)
{
	s->trace_sent = false;
	s->sender_domain_must_tls = false;
	free(s->held_mail);
	s->held_mail = NULL;
	s->held_mail_len = 0;
	s->cmd_txn++;
	s->dest_auth[0] = '\0';
}

int session_relay_show_greeting(struct session *s)
{
	int rc;

	if (s->upl.greeting)
		rc = session_side_write(&s->down, s->upl.greeting, s->upl.greeting_len);
	else
		rc = session_side_printf(&s->down, "220 %s ESMTP\r\n", s->host->gw->cfg.hostname);
	if (rc)
		return rc;
	s->greeted = true;
	s->state = ST_RELAY;
	return 0;
}

/* A pending reply could not be queued (out of memory): the order of replies is lost. */
static int pend_failed(struct session *s, int rc)
{
	session_fail(s, "421 4.3.0 Error: local resource problem\r\n",
		     "cannot queue a pending reply: %s", strerror(-rc));
	return rc;
}

/* No message goes in without our Received header: it is what tells the inside about TLS. */
static void no_trace(struct session *s)
{
	session_fail(s, "421 4.3.0 Error: local resource problem\r\n",
		     "cannot write the Received header: the message is not relayed without it");
}

static int local_reply_flags(struct session *s, enum smtp_verb verb, uint16_t flags,
			     const char *text)
{
	int rc = session_pend_push(s, PEND_LOCAL, verb, flags, text, NULL);

	return rc ? pend_failed(s, rc) : 0;
}

static int local_reply(struct session *s, enum smtp_verb verb, const char *text)
{
	return local_reply_flags(s, verb, 0, text);
}

/* Send a command line up as the client wrote it (normalised to CRLF): the line and its end as
 * one unit (commands() made room for it). */
static int forward(struct session *s, const char *line, size_t len, enum smtp_verb verb,
		   uint16_t flags, const char *arg)
{
	struct iovec iov[2] = { { (void *)line, len }, { "\r\n", 2 } };
	int rc = session_pend_push(s, PEND_FWD, verb, flags, NULL, arg);

	if (rc)
		return pend_failed(s, rc);
	return session_side_writev(&s->up, iov, 2);
}

/* Is the down side refused MAIL/RCPT/DATA/BDAT for want of TLS (inbound)? */
static bool sender_refused(const struct session *s)
{
	return s->role == ROLE_INBOUND && !s->down.tls &&
	       (s->sender_must_tls || s->sender_domain_must_tls);
}

/* dom: the sender's domain (at MAIL) */
static void refuse_sender(struct session *s, enum smtp_verb verb, const char *dom)
{
	char reply[300];

	atomic_fetch_add(&s->host->gw->ctr.sender_tls_refused, 1);
	snprintf(reply, sizeof(reply), "%s\r\n", s->host->gw->cfg.inbound_require_tls_reply);
	/* once per transaction: at its MAIL (the RCPTs and DATA after it are the same refusal) */
	if (verb == SMTP_MAIL)
		session_outcome_refused(s, dom, POLICY_RPT_STARTTLS_NOT_SUPPORTED,
					REPORT_POLICY_TABLE, "sender must use TLS");
	log_info("session=%s client=%s %s refused: TLS required from this sender (rule=%u key=%s)",
		 s->ids, s->client_txt, smtp_verb_name(verb), s->in_match.rule->id,
		 s->in_match.rule->key ? s->in_match.rule->key : "default");
	local_reply(s, verb, reply);
}

/*
 * The TLS checks by address look at every domain the next hop might route the address to, read
 * as the next hop reads it (smtp_addr_canon, smtp_addr_route_domains): a spelling the policy
 * does not recognise must not be one the next hop delivers to a TLS-required domain.
 */
struct tls_domain_check {
	struct session *s;
	bool inbound;		/* the sender's domain (inbound table), else a recipient's */
	struct policy_match m;		/* the first match that requires TLS */
	char dom[256];
	/* the first match that would, in monitor mode (gateway_rule_monitor): reported only
	 * when no enforced one refuses */
	struct policy_match mon;
	char mon_dom[256];
};

/* A match that would refuse: enforced (1, the check stops) or in monitor mode (kept in mon). */
static int domain_check_hit(struct tls_domain_check *ck, struct policy_match m, const char *dom)
{
	if (gateway_rule_monitor(ck->s->host->gw, m.rule)) {
		if (!ck->mon.rule) {
			ck->mon = m;
			snprintf(ck->mon_dom, sizeof(ck->mon_dom), "%s", dom);
		}
		return 0;
	}
	ck->m = m;
	snprintf(ck->dom, sizeof(ck->dom), "%s", dom);
	return 1;
}

/* An address literal "[192.0.2.1]" / "[ipv6:2001:db8::1]" as a socket address; -EINVAL. */
static int literal_addr(const char *dom, struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN + 8];
	size_t n = strlen(dom);
	const char *p = dom + 1;

	if (n < 3 || n - 2 >= sizeof(ip))
		return -EINVAL;
	if (!strncmp(p, "ipv6:", 5))
		p += 5;
	snprintf(ip, sizeof(ip), "%.*s", (int)(dom + n - 1 - p), p);
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int domain_requires_tls(const char *dom, void *ctx)
{
	struct tls_domain_check *ck = ctx;
	struct session *s = ck->s;
	struct policy_match m;
	struct sockaddr_storage ss;

	if (ck->inbound)
		m = policy_inbound(s->pol, (struct sockaddr *)&s->client, dom);
	else if (dom[0] == '[' && !literal_addr(dom, &ss))
		/* an address literal: delivered to that address */
		m = policy_match_addr(s->pol, (struct sockaddr *)&ss);
	else
		m = policy_match_domain(s->pol, dom);
	if (!policy_level_requires_tls(m.rule->level))
		return 0;
	return domain_check_hit(ck, m, dom);
}

/* A recipient domain (any the address routes to) whose entry tlsgate cannot honour. */
static int domain_deferred(const char *dom, void *ctx)
{
	struct tls_domain_check *ck = ctx;
	struct policy_match m;

	if (dom[0] == '[')
		return 0; /* address literals: the address rules (and the connect) decide */
	m = policy_match_domain(ck->s->pol, dom);
	if (m.rule->level != POLICY_DEFER)
		return 0;
	return domain_check_hit(ck, m, dom);
}

static void cmd_mail(struct session *s, const char *line, size_t len, const struct smtp_cmd *c)
{
	char raw[320], addr[320];

	if (smtp_path_parse(c->args, c->args_len, "FROM:", raw, sizeof(raw))) {
		local_reply(s, SMTP_MAIL, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
		return;
	}
	if (smtp_addr_canon(raw, addr, sizeof(addr))) {
		local_reply(s, SMTP_MAIL, "501 5.1.7 Bad sender address syntax\r\n");
		return;
	}
	if (s->held_mail) {
		/* RFC 5321 4.1.1.2: no MAIL inside a transaction (the next hop would say so) */
		local_reply(s, SMTP_MAIL, "503 5.5.1 Error: nested MAIL command\r\n");
		return;
	}
	cmd_txn_reset(s);
	if (s->role == ROLE_INBOUND && !s->down.tls && !s->sender_must_tls) {
		struct tls_domain_check ck = { .s = s, .inbound = true };

		if (smtp_addr_route_domains(addr, domain_requires_tls, &ck) > 0) {
			s->sender_domain_must_tls = true;
			s->in_match = ck.m;
		} else if (ck.mon.rule || s->sender_monitor) {
			/* monitor mode: what the 530 would have said, once per transaction */
			const struct policy_rule *r = ck.mon.rule ? ck.mon.rule
								  : s->in_match.rule;

			(void)session_would_refuse(s, r, false, "%s (client=%s sender=<%s>)",
						   s->host->gw->cfg.inbound_require_tls_reply,
						   s->client_txt, addr);
		}
	}
	if (sender_refused(s)) {
		const char *at = strrchr(addr, '@');

		refuse_sender(s, SMTP_MAIL, at ? at + 1 : "");
		return;
	}
	snprintf(s->mail_from, sizeof(s->mail_from), "%s", addr);
	received_queue_id(s->queue_id, sizeof(s->queue_id));
	if (s->role == ROLE_OUTBOUND) {
		/*
		 * Held: the sender goes up with the first recipient the policy lets through, so an
		 * MX that fails every recipient domain's policy (a plaintext leg for an encrypt
		 * domain, DANE, MTA-STS) never sees this transaction at all.  The next hop's answer
		 * to MAIL is given on that recipient (one_reply).
		 */
		s->held_mail = malloc(len);
		if (!s->held_mail) {
			pend_failed(s, -ENOMEM);
			return;
		}
		memcpy(s->held_mail, line, len);
		s->held_mail_len = len;
		local_reply(s, SMTP_MAIL, "250 2.1.0 Ok\r\n");
		return;
	}
	forward(s, line, len, SMTP_MAIL, PF_MAIL, NULL);
}

/*
 * The held MAIL and the first recipient let through, as one unit (line_room() made room for
 * both): the MAIL's reply is ours (PEND_INTERNAL), a refusal is passed on as the reply to this
 * recipient and every later one of the transaction.
 */
static int forward_with_mail(struct session *s, const char *line, size_t len, const char *addr)
{
	struct iovec iov[4] = {
		{ s->held_mail, s->held_mail_len }, { "\r\n", 2 }, { (void *)line, len }, { "\r\n", 2 },
	};
	/* Two commands in one write is pipelining: a next hop that does not offer it (OpenSMTPD
	 * hangs up on it) gets the recipient after the MAIL's reply. */
	bool pipelining = s->upl.ehlo && smtp_ehlo_has(s->upl.ehlo, s->upl.ehlo_len, "PIPELINING");
	int rc = session_pend_push(s, PEND_INTERNAL, SMTP_MAIL, PF_MAIL, NULL, NULL);

	if (!rc)
		rc = session_pend_push(s, PEND_FWD, SMTP_RCPT, PF_RCPT, NULL, addr);
	if (rc)
		return pend_failed(s, rc);
	if (!pipelining) {
		s->held_rcpt = malloc(len);
		if (!s->held_rcpt)
			return pend_failed(s, -ENOMEM);
		memcpy(s->held_rcpt, line, len);
		s->held_rcpt_len = len;
	}
	rc = session_side_writev(&s->up, iov, pipelining ? 4 : 2);
	free(s->held_mail);
	s->held_mail = NULL;
	s->held_mail_len = 0;
	return rc;
}

static void cmd_rcpt(struct session *s, const char *line, size_t len, const struct smtp_cmd *c)
{
	char raw[320], addr[320];

	if (smtp_path_parse(c->args, c->args_len, "TO:", raw, sizeof(raw))) {
		local_reply(s, SMTP_RCPT, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
		return;
	}
	if (smtp_addr_canon(raw, addr, sizeof(addr))) {
		/* what we cannot read, the policy cannot judge: not passed on */
		local_reply(s, SMTP_RCPT, "501 5.1.3 Bad recipient address syntax\r\n");
		return;
	}
	if (sender_refused(s)) {
		refuse_sender(s, SMTP_RCPT, NULL);
		return;
	}
	s->nrcpt++;
	s->rcpt_would_refuse = false;
	/* A recipient domain whose entry tlsgate cannot honour (dane-only, a refused entry):
	 * 450 on any leg, TLS or not, as Postfix defers such mail. */
	if (s->role == ROLE_OUTBOUND) {
		struct tls_domain_check ck = { .s = s };

		if (smtp_addr_route_domains(addr, domain_deferred, &ck) <= 0 && ck.mon.rule)
			(void)session_would_refuse(s, ck.mon.rule, true, "rcpt=<%s> 450 4.7.5 TLS "
						   "policy for %s cannot be honoured", addr,
						   ck.mon_dom);
		else if (ck.m.rule) {
			char reply[400];

			atomic_fetch_add(&s->host->gw->ctr.rcpt_tls_refused, 1);
			log_info("session=%s rcpt=<%s> refused: rule=%u key=%s level=defer (the "
				 "entry is refused or needs DANE)", s->ids, addr, ck.m.rule->id,
				 ck.m.rule->key);
			session_outcome_refused(s, ck.dom, -1, REPORT_POLICY_TABLE, "level=defer");
			snprintf(reply, sizeof(reply), "450 4.7.5 TLS policy for %s cannot be "
				 "honoured\r\n", ck.dom);
			local_reply(s, SMTP_RCPT, reply);
			return;
		}
	}
	/* Outbound on a plaintext leg: a recipient domain whose policy requires TLS gets a 450
	 * and nothing of it is sent (the client retries it later). */
	if (s->role == ROLE_OUTBOUND && !s->up.tls) {
		struct tls_domain_check ck = { .s = s };

		if (smtp_addr_route_domains(addr, domain_requires_tls, &ck) <= 0 && ck.mon.rule &&
		    !s->rcpt_would_refuse) {
			(void)session_would_refuse(s, ck.mon.rule, true, "rcpt=<%s> 450 4.7.4 TLS "
						   "required for %s (the session to %s is plaintext)",
						   addr, ck.mon_dom, s->dest_txt);
			session_outcome_dest(s, ck.mon_dom, REPORT_POLICY_TABLE,
					     POLICY_RPT_STARTTLS_NOT_SUPPORTED,
					     "monitor: TLS required, the leg is plaintext");
		} else if (ck.m.rule) {
			const struct policy_match m = ck.m;
			const char *dom = ck.dom;
			char reply[400];

			atomic_fetch_add(&s->host->gw->ctr.rcpt_tls_refused, 1);
			log_info("session=%s rcpt=<%s> refused: rule=%u key=%s level=%s requires TLS "
				 "but the session to %s is plaintext",
				 s->ids, addr, m.rule->id, m.rule->key, policy_level_name(m.rule->level),
				 s->dest_txt);
			session_outcome_refused(s, dom, POLICY_RPT_STARTTLS_NOT_SUPPORTED,
						REPORT_POLICY_TABLE, "TLS required, the leg is plaintext");
			snprintf(reply, sizeof(reply), "450 4.7.4 TLS required for %s\r\n", dom);
			local_reply(s, SMTP_RCPT, reply);
			return;
		}
	}
	/* The recipient domain's own policy (DANE, MTA-STS) against this leg. */
	if (s->role == ROLE_OUTBOUND) {
		char reply[800];

		if (session_dest_check(s, addr, reply, sizeof(reply))) {
			atomic_fetch_add(&s->host->gw->ctr.rcpt_tls_refused, 1);
			local_reply(s, SMTP_RCPT, reply);
			return;
		}
	}
	if (s->held_mail)
		forward_with_mail(s, line, len, addr);
	else
		forward(s, line, len, SMTP_RCPT, PF_RCPT, addr);
}

/* DATA or BDAT while the MAIL is still held: no recipient went up, so there is no transaction
 * at the next hop (Postfix's words). */
static bool no_recipients(struct session *s, enum smtp_verb verb)
{
	if (!s->held_mail)
		return false;
	local_reply(s, verb, "554 5.5.1 Error: no valid recipients\r\n");
	return true;
}

static void cmd_starttls(struct session *s, const struct smtp_cmd *c)
{
	struct gateway *g = s->host->gw;

	if (s->role == ROLE_OUTBOUND) {
		/* We removed STARTTLS from the list: TLS toward the outside is the gateway's. */
		local_reply(s, SMTP_STARTTLS, "502 5.5.1 Error: command not implemented\r\n");
		return;
	}
	if (c->args_len) {
		local_reply(s, SMTP_STARTTLS, "501 5.5.4 Syntax: STARTTLS\r\n");
		return;
	}
	if (s->down.tls) {
		local_reply(s, SMTP_STARTTLS, "554 5.5.1 Error: TLS already active\r\n");
		return;
	}
	if (!g->server_ctx) {
		local_reply(s, SMTP_STARTTLS, "454 4.7.0 TLS not available due to local problem\r\n");
		return;
	}
	if (!s->offer_tls) {
		/* the inbound rule for this client is "none": not offered, so not implemented */
		local_reply(s, SMTP_STARTTLS, "502 5.5.1 Error: command not implemented\r\n");
		return;
	}
	/* CVE-2011-0411 / "NO STARTTLS": nothing pipelined after STARTTLS may be executed
	 * inside TLS. */
	if (s->down.in.len) {
		log_warn("session=%s client=%s discarded %zu bytes pipelined after STARTTLS", s->ids,
			 s->client_txt, s->down.in.len);
		atomic_fetch_add(&g->ctr.starttls_injection_discarded, 1);
		buf_reset(&s->down.in);
	}
	session_pend_push(s, PEND_LOCAL, SMTP_STARTTLS, PF_STARTTLS, "220 2.0.0 Ready to start TLS\r\n",
		  NULL);
	s->state = ST_DOWN_TLS_WAIT;
}

/* An EHLO reply of the next hop as the client may see it: our keyword rules. */
static int ehlo_rewrite(const struct session *s, const char *r, size_t len, char *out, size_t cap)
{
	static const char *const drop_out[] = { "STARTTLS", NULL };
	static const char *const drop_in[] = { "STARTTLS", "XCLIENT", "XFORWARD", NULL };
	/* With our header editing on (X-Tlsgate-TLS, the verdict header), the header section
	 * is edited: not by length */
	static const char *const drop_in_x[] = { "STARTTLS", "XCLIENT", "XFORWARD", "CHUNKING",
						  NULL };
	static const char *const add_tls[] = { "STARTTLS", NULL };
	const char *const *add = NULL;

	if (s->role == ROLE_INBOUND && !s->down.tls && s->offer_tls)
		add = add_tls;
	return smtp_ehlo_rewrite(r, len,
				 s->role == ROLE_OUTBOUND		? drop_out
				 : session_trace_edits(s) ? drop_in_x
							  : drop_in,
				 add, out, cap);
}

/* The name in the first line of a 250 reply ("250-mx.example.net says hi" -> mx.example.net). */
static void reply_name(const char *r, size_t len, char *out, size_t cap)
{
	size_t i = len > 4 ? 4 : len, n = 0;

	while (i < len && r[i] != ' ' && r[i] != '\r' && r[i] != '\n' && n + 1 < cap)
		out[n++] = r[i++];
	out[n] = '\0';
}

/*
 * The client's EHLO or HELO: answered here from the next hop's reply to our own EHLO, never sent
 * up (RFC 5321 does not promise that a second EHLO works, and OpenSMTPD refuses it even after
 * RSET).  An identification ends a transaction (RFC 5321 4.1.4): the next hop gets RSET for it.
 */
static void cmd_hello(struct session *s, enum smtp_verb verb)
{
	char out[SMTP_REPLY_MAX + 1], name[256];
	int n;

	if (s->hello_seen) {
		int rc = session_pend_push(s, PEND_INTERNAL, SMTP_RSET, 0, NULL, NULL);

		if (rc) {
			pend_failed(s, rc);
			return;
		}
		if (session_side_write(&s->up, "RSET\r\n", 6))
			return;
	}
	s->hello_seen = true;
	if (verb == SMTP_EHLO && !s->upl.ehlo) {
		/* the next hop refused our EHLO (we said HELO): so do we */
		local_reply(s, verb, "502 5.5.2 Error: command not recognized\r\n");
		return;
	}
	if (verb == SMTP_EHLO) {
		n = ehlo_rewrite(s, s->upl.ehlo, s->upl.ehlo_len, out, sizeof(out) - 1);
		if (n < 0) {
			session_fail(s, "421 4.3.0 Error: local resource problem\r\n",
				     "cannot rewrite the next hop's EHLO reply: %s", strerror(-n));
			return;
		}
		out[n] = '\0';
		local_reply(s, verb, out);
		return;
	}
	if (s->upl.ehlo)
		reply_name(s->upl.ehlo, s->upl.ehlo_len, name, sizeof(name));
	else if (s->upl.greeting)
		reply_name(s->upl.greeting, s->upl.greeting_len, name, sizeof(name));
	else
		name[0] = '\0';
	snprintf(out, sizeof(out), "250 %s\r\n", name[0] ? name : s->host->gw->cfg.hostname);
	local_reply(s, verb, out);
}

/* One command line from the down side (without its line end). */
static void command(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd c;

	if (smtp_cmd_parse(line, len, &c)) {
		local_reply(s, SMTP_UNKNOWN, "500 5.5.2 Error: bad syntax\r\n");
		return;
	}
	/* What changes the next hop's session beyond a transaction (who the client is, what it
	 * may do) makes the connection this client's: never kept for another (session_reuse.c). */
	if (c.verb == SMTP_AUTH || c.verb == SMTP_XCLIENT || c.verb == SMTP_XFORWARD ||
	    c.verb == SMTP_ETRN || c.verb == SMTP_UNKNOWN)
		s->up_private = true;
	switch (c.verb) {
	case SMTP_EHLO:
	case SMTP_HELO:
		snprintf(s->helo, sizeof(s->helo), "%.*s", (int)strcspn(c.args, " \r\n"), c.args);
		if (c.args_len < sizeof(s->helo))
			s->helo[c.args_len] = '\0';
		s->esmtp = c.verb == SMTP_EHLO;
		session_txn_reset(s);
		cmd_txn_reset(s);
		cmd_hello(s, c.verb);
		break;
	case SMTP_STARTTLS:
		cmd_starttls(s, &c);
		break;
	case SMTP_MAIL:
		cmd_mail(s, line, len, &c);
		break;
	case SMTP_RCPT:
		cmd_rcpt(s, line, len, &c);
		break;
	case SMTP_DATA:
		if (sender_refused(s)) {
			refuse_sender(s, SMTP_DATA, NULL);
			break;
		}
		if (no_recipients(s, SMTP_DATA))
			break;
		forward(s, line, len, SMTP_DATA, PF_DATA, NULL);
		/* What follows is the body, once the 354 is there: no more commands until then. */
		s->await_data = true;
		break;
	case SMTP_RSET:
		session_txn_reset(s);
		cmd_txn_reset(s);
		forward(s, line, len, c.verb, 0, NULL);
		break;
	case SMTP_QUIT:
		if (session_reuse_wanted(s)) {
			/* Answered here if, at its turn, the leg can be kept (replies()). */
			local_reply_flags(s, SMTP_QUIT, PF_QUIT | PF_REUSE, "221 2.0.0 Bye\r\n");
			s->reuse_quit = true;
			break;
		}
		forward(s, line, len, SMTP_QUIT, PF_QUIT, NULL);
		s->quit_sent = true;
		break;
	case SMTP_AUTH:
		forward(s, line, len, SMTP_AUTH, PF_AUTH, NULL);
		break;
	case SMTP_XCLIENT:
	case SMTP_XFORWARD:
		if (s->role == ROLE_INBOUND) {
			/* The inside MTA may trust the gateway for these: never from outside. */
			local_reply(s, c.verb, "550 5.7.0 Error: insufficient authorization\r\n");
			break;
		}
		forward(s, line, len, c.verb, 0, NULL);
		break;
	default:
		forward(s, line, len, c.verb, 0, NULL);
		break;
	}
}

static bool bdat_command(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd c;
	uint64_t size;
	bool last;

	if (smtp_cmd_parse(line, len, &c) || c.verb != SMTP_BDAT)
		return false;
	if (smtp_bdat_parse(c.args, c.args_len, &size, &last)) {
		/* Without a size we cannot tell where the chunk ends: the session cannot go on. */
		session_fail(s, "554 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n", "bad BDAT syntax");
		return true;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	if (session_trace_edits(s)) {
		/* not offered (see the EHLO rewrite): refuse, and drop the chunk */
		local_reply(s, SMTP_BDAT, "502 5.5.1 Error: command not implemented\r\n");
		s->state = ST_BDAT_DISCARD;
		return true;
	}
	if (sender_refused(s)) {
		refuse_sender(s, SMTP_BDAT, NULL);
		s->state = ST_BDAT_DISCARD;
		return true;
	}
	if (no_recipients(s, SMTP_BDAT)) {
		s->state = ST_BDAT_DISCARD;
		return true;
	}
	if (s->role == ROLE_INBOUND && !s->trace_sent) {
		/* Our Received header goes first, as a chunk of its own; its reply is ours.  The
		 * command and its chunk are one unit (commands() made room for the largest): a
		 * "BDAT n" without its n bytes would make the next hop take the client's next
		 * bytes as the chunk, and run what the client hid in its own chunk as commands. */
		char hdr[RECEIVED_HEADER_MAX], cmd[32];
		int n = session_trace_header(s, hdr, sizeof(hdr)), m, rc;
		struct iovec iov[2];

		if (n <= 0) {
			no_trace(s);
			return true;
		}
		m = snprintf(cmd, sizeof(cmd), "BDAT %d\r\n", n);
		iov[0] = (struct iovec){ cmd, (size_t)m };
		iov[1] = (struct iovec){ hdr, (size_t)n };
		rc = session_pend_push(s, PEND_INTERNAL, SMTP_BDAT, 0, NULL, NULL);
		if (rc) {
			pend_failed(s, rc);
			return true;
		}
		if (session_side_writev(&s->up, iov, 2))
			return true;
		s->msg_bytes += (uint64_t)n;
		s->trace_sent = true;
	}
	if (forward(s, line, len, SMTP_BDAT, last ? PF_DOT : 0, NULL))
		return true;
	if (last)
		cmd_txn_reset(s); /* the next BDAT is another message: its own header */
	s->state = ST_BDAT;
	return true;
}

/* What the up buffer must have room for before the line is taken: the line, and for a BDAT
 * that carries our Received header first, that chunk too. */
static size_t line_room(const struct session *s, const char *line, size_t len)
{
	struct smtp_cmd c;
	size_t need = len + 2 + 16;

	if (s->auth_cont || smtp_cmd_parse(line, len, &c))
		return need;
	if (s->role == ROLE_INBOUND && !s->trace_sent && c.verb == SMTP_BDAT)
		need += 32 + RECEIVED_HEADER_MAX;
	if (s->held_mail && c.verb == SMTP_RCPT)
		need += s->held_mail_len + 2;
	return need;
}

static bool commands(struct session *s)
{
	bool progress = false;

	/* two slots: a command can queue two replies (an internal RSET or header chunk first) */
	while (s->state == ST_RELAY && !s->await_data && !s->held_rcpt && !s->reuse_quit &&
	       s->pq_len + 2 <= PQ_MAX) {
		size_t n = buf_line(&s->down.in), len;
		char *line = buf_head(&s->down.in);

		if (!n) {
			if (s->down.in.len >= SMTP_LINE_MAX) {
				/* An over-long line: answer once, drop it up to its end. */
				if (!s->discard_line)
					local_reply(s, SMTP_UNKNOWN, "500 5.5.2 Error: line too long\r\n");
				s->discard_line = true;
				buf_reset(&s->down.in);
				progress = true;
			}
			break;
		}
		if (s->discard_line || n > SMTP_LINE_MAX) {
			/* the end of an over-long line, or a whole one that arrived at once */
			if (!s->discard_line)
				local_reply(s, SMTP_UNKNOWN, "500 5.5.2 Error: line too long\r\n");
			s->discard_line = false;
			buf_consume(&s->down.in, n);
			progress = true;
			continue;
		}
		len = n - 1;
		if (len && line[len - 1] == '\r')
			len--;
		/* Room for the line up, or wait (backpressure). */
		if (buf_room(&s->up.out) < line_room(s, line, len))
			break;
		/* A recipient whose domain's DANE/MTA-STS lookup is under way: the line waits */
		if (!s->auth_cont && !session_dest_ready(s, line, len))
			break;
		/* Consumed first: a command (STARTTLS) may look at what follows its line.  The
		 * bytes stay where they are until the next read into the buffer. */
		buf_consume(&s->down.in, n);
		if (s->auth_cont) {
			s->auth_cont = false;
			forward(s, line, len, SMTP_AUTH, PF_AUTH, NULL);
		} else if (!bdat_command(s, line, len)) {
			command(s, line, len);
		}
		progress = true;
		if (s->state != ST_RELAY)
			break;
	}
	return progress;
}

static void log_message(struct session *s, int code, const char *reply, size_t len)
{
	struct gateway *g = s->host->gw;

	atomic_fetch_add(code / 100 == 2 ? &g->ctr.messages_ok : &g->ctr.messages_failed, 1);
	if (code / 100 == 2)
		s->messages++;
	session_outcome_message(s, code);
	log_info("session=%s msg=%s role=%s client=%s dest=%s from=<%s> nrcpt=%u size=%llu "
		 "body=%s tls=\"%s\" ktls=\"%s\"%s%s%s reply=\"%.*s\"",
		 s->ids, s->queue_id, s->role == ROLE_OUTBOUND ? "outbound" : "inbound",
		 s->client_txt, s->dest_txt, s->mail_from, s->nrcpt_ok,
		 (unsigned long long)s->msg_bytes, s->xfer ? ktls_xfer_backend(s->xfer) : "copy",
		 s->role == ROLE_OUTBOUND ? (s->up.tls ? s->up.tlsinfo.summary : "none")
					  : (s->down.tls ? s->down.tlsinfo.summary : "none"),
		 s->role == ROLE_OUTBOUND ? s->up.tlsinfo.ktls_state : s->down.tlsinfo.ktls_state,
		 s->dest_auth[0] ? " policy=\"" : "", s->dest_auth, s->dest_auth[0] ? "\"" : "",
		 (int)strcspn(reply, "\r\n"), reply);
	(void)len;
}

/* Relay (or consume) one reply of the up side for the pending command at the head. */
static bool one_reply(struct session *s)
{
	struct pend *p = &s->pq[s->pq_head];
	const char *r = buf_head(&s->up.in);
	size_t len;
	int code, rc;

	rc = smtp_reply_scan(r, s->up.in.len, &code, &len);
	if (rc < 0) {
		session_fail(s, "421 4.4.2 Error: next hop protocol error\r\n",
			     "bad reply from %s: %s", s->dest_txt, strerror(-rc));
		return true;
	}
	if (!rc)
		return false;
	if (p->kind == PEND_INTERNAL) {
		if (p->verb == SMTP_MAIL && code / 100 == 2)
			s->in_txn = true;
		if (p->verb == SMTP_MAIL && code / 100 != 2) {
			/* the held MAIL refused: its recipients get this reply */
			free(s->mail_fail);
			s->mail_fail = strndup(r, len);
			if (!s->mail_fail) {
				session_fail(s, "421 4.3.0 Error: local resource problem\r\n",
					     "out of memory for the next hop's reply to MAIL");
				return true;
			}
			s->mail_fail_txn = p->txn;
			atomic_fetch_add(&s->host->gw->ctr.mail_held_refused, 1);
			log_info("session=%s %s refused MAIL FROM:<%s>: %.*s", s->ids, s->dest_txt,
				 s->mail_from, (int)strcspn(r, "\r\n"), r);
		} else if (code / 100 != 2) {
			log_warn("session=%s %s answered our %s with: %.*s", s->ids, s->dest_txt,
				 smtp_verb_name(p->verb), (int)strcspn(r, "\r\n"), r);
		}
		bool mail = p->verb == SMTP_MAIL;

		buf_consume(&s->up.in, len);
		session_pend_pop(s);
		if (s->held_rcpt && mail) {
			/* without PIPELINING: the recipient now (a refused MAIL's recipient gets
			 * the refusal in place of the next hop's "need MAIL") */
			struct iovec iov[2] = { { s->held_rcpt, s->held_rcpt_len }, { "\r\n", 2 } };

			rc = session_side_writev(&s->up, iov, 2);
			free(s->held_rcpt);
			s->held_rcpt = NULL;
			s->held_rcpt_len = 0;
			if (rc)
				return true;
		}
		return true;
	}
	if ((p->flags & PF_RCPT) && s->mail_fail && p->txn == s->mail_fail_txn) {
		/* the next hop's "need MAIL" for a recipient of a refused MAIL: the client hears
		 * why the MAIL was refused instead */
		size_t n = strlen(s->mail_fail);

		if (buf_room(&s->down.out) < n)
			return false;
		if (session_side_write(&s->down, s->mail_fail, n))
			return true;
		s->errors++;
		buf_consume(&s->up.in, len);
		session_pend_pop(s);
		return true;
	}
	if (buf_room(&s->down.out) < len)
		return false; /* backpressure: the client reads slowly */
	/* The 354 and our Received header are decided together: both fit, or wait. */
	if ((p->flags & PF_DATA) && code == 354 && s->role == ROLE_INBOUND && !s->trace_sent &&
	    buf_room(&s->up.out) < RECEIVED_HEADER_MAX)
		return false;
	if (session_side_write(&s->down, r, len))
		return true;
	/* errors without delivering mail, as Postfix counts them (session.c acts on them) */
	if (code >= 400)
		s->errors++;
	else if (p->flags & PF_DOT)
		s->errors = 0;
	if ((p->flags & PF_MAIL) && code / 100 == 2)
		s->in_txn = true;
	if ((p->flags & PF_RCPT) && code / 100 == 2) {
		session_outcome_rcpt(s, p->arg);
		if (!s->nrcpt_ok && p->arg)
			snprintf(s->first_rcpt, sizeof(s->first_rcpt), "%s", p->arg);
		s->nrcpt_ok++;
	}
	if ((p->flags & PF_AUTH) && code == 334)
		s->auth_cont = true;
	if (p->flags & PF_DATA) {
		s->await_data = false;
		if (code == 354) {
			smtp_dot_init(&s->dot);
			s->hdr_phase = session_trace_edits(s);
			s->hdr_bol = true;
			s->hdr_dropping = false;
			if (s->role == ROLE_INBOUND && !s->trace_sent) {
				char hdr[RECEIVED_HEADER_MAX];
				int n = session_trace_header(s, hdr, sizeof(hdr));

				if (n <= 0) {
					no_trace(s);
					return true;
				}
				if (session_side_write(&s->up, hdr, (size_t)n))
					return true;
				s->msg_bytes += (uint64_t)n;
				s->trace_sent = true;
				s->lead_check = true; /* session_body.c: a first line that would fold */
				/* our hop is the newest of the chain the verdict judges */
				if (session_trace_scan_begin(s, hdr, (size_t)n)) {
					no_trace(s);
					return true;
				}
			}
			s->state = ST_BODY;
		}
	}
	if (p->flags & PF_DOT) {
		log_message(s, code, r, len);
		session_txn_reset(s);
	}
	if (p->verb == SMTP_RSET && code / 100 == 2)
		session_txn_reset(s);
	if (p->flags & PF_QUIT) {
		snprintf(s->end_reason, sizeof(s->end_reason), "quit");
		buf_consume(&s->up.in, len);
		session_pend_pop(s);
		s->state = ST_CLOSING;
		return true;
	}
	buf_consume(&s->up.in, len);
	session_pend_pop(s);
	return true;
}

/*
 * The client's QUIT, at its turn (every reply before it delivered): the up leg kept idle for the
 * next session and the 221 ours, or, when it cannot be kept after all, the QUIT goes up and the
 * next hop's 221 is relayed as for any session.
 */
static void quit_reuse(struct session *s, struct pend *p)
{
	if (!session_reuse_put(s)) {
		if (session_side_write(&s->down, p->local, strlen(p->local)))
			return;
		snprintf(s->end_reason, sizeof(s->end_reason), "quit (connection to %s kept for reuse)",
			 s->dest_txt);
		s->quit_sent = true; /* the up leg is the pool's: nothing more goes to it */
		session_pend_pop(s);
		s->state = ST_CLOSING;
		return;
	}
	free(p->local);
	p->local = NULL;
	p->kind = PEND_FWD;
	p->flags = PF_QUIT;
	s->quit_sent = true;
	if (session_side_write(&s->up, "QUIT\r\n", 6))
		return; /* it failed the session */
}

static bool replies(struct session *s)
{
	bool progress = false;

	while (s->state != ST_CLOSING) {
		struct pend *p;

		if (!s->pq_len) {
			int code;
			size_t len;

			/* A reply nobody asked for: a 421 before the next hop closes, or a bug. */
			if (s->up.in.len &&
			    smtp_reply_scan(buf_head(&s->up.in), s->up.in.len, &code, &len) == 1) {
				char reply[SMTP_LINE_MAX];

				snprintf(reply, sizeof(reply), "%.*s", (int)len, buf_head(&s->up.in));
				buf_consume(&s->up.in, len);
				session_fail(s, code == 421 ? reply
							    : "421 4.4.2 Error: next hop protocol error\r\n",
					     "unexpected reply from %s: %d", s->dest_txt, code);
				progress = true;
			}
			break;
		}
		p = &s->pq[s->pq_head];
		/* hard_error_limit reached: no more answers, session.c sends the client away */
		if (session_too_many_errors(s))
			break;
		if (p->kind == PEND_LOCAL) {
			size_t n = strlen(p->local);

			if (buf_room(&s->down.out) < n)
				break;
			if (p->flags & PF_REUSE) {
				quit_reuse(s, p);
				progress = true;
				continue;
			}
			if (session_side_write(&s->down, p->local, n))
				return true;
			s->errors += p->local[0] == '4' || p->local[0] == '5';
			session_pend_pop(s);
			progress = true;
			continue;
		}
		if (!one_reply(s))
			break;
		progress = true;
	}
	return progress;
}

static bool down_handshake(struct session *s)
{
	struct gateway *g = s->host->gw;
	SSL *ssl;
	int rc;

	if (s->state == ST_DOWN_TLS_WAIT) {
		/* The 220 must be on the wire, alone, before the handshake starts. */
		if (s->pq_len || s->down.out.len)
			return false;
		ssl = SSL_new(g->server_ctx);
		if (!ssl || ktls_ep_start_tls(s->down.ep, ssl, true)) {
			if (ssl)
				SSL_free(ssl);
			session_fail(s, NULL, "cannot start TLS as server");
			return true;
		}
		s->state = ST_DOWN_HANDSHAKE;
	}
	rc = ktls_ep_handshake(s->down.ep);
	if (rc == -EAGAIN) {
		s->down.wait |= ktls_ep_events(s->down.ep);
		return false;
	}
	if (rc) {
		atomic_fetch_add(&g->ctr.handshake_failed, 1);
		session_fail(s, NULL, "TLS handshake with client %s failed: %s", s->client_txt,
			     *ktls_ep_error(s->down.ep) ? ktls_ep_error(s->down.ep) : strerror(-rc));
		return true;
	}
	/* caps NULL (ktls = no): the endpoint stays in userspace and says so */
	if (ktls_ep_offload(s->down.ep, g->cfg.ktls ? &g->caps : NULL)) {
		session_fail(s, NULL, "ktls offload left the client session unusable");
		return true;
	}
	s->down.tls = true;
	atomic_fetch_add(&g->ctr.tls_down, 1);
	tls_client_summary(ktls_ep_ssl(s->down.ep), s->down.tlsinfo.summary,
			   sizeof(s->down.tlsinfo.summary));
	session_nic_note(s, &s->down);
	ktls_ep_state(s->down.ep, s->down.tlsinfo.ktls_state, sizeof(s->down.tlsinfo.ktls_state));
	snprintf(s->down.tlsinfo.version, sizeof(s->down.tlsinfo.version), "%s",
		 SSL_get_version(ktls_ep_ssl(s->down.ep)));
	snprintf(s->down.tlsinfo.cipher, sizeof(s->down.tlsinfo.cipher), "%s",
		 SSL_get_cipher_name(ktls_ep_ssl(s->down.ep)));
	session_trace_tls_capture(s, ktls_ep_ssl(s->down.ep));
	/* Everything shown about the session is taken: with both directions in the kernel the
	 * SSL is dead weight (most of an idle session's memory). */
	ktls_ep_release_ssl(s->down.ep);
	session_event(s, EVENT_SESSION_TLS, s->down.tlsinfo.summary);
	log_info("session=%s Anonymous TLS connection established from %s: %s ktls=\"%s\" "
		 "kernel=\"%s\"",
		 s->ids, s->client_txt, s->down.tlsinfo.summary, s->down.tlsinfo.ktls_state,
		 s->down.tlsinfo.ktls_conf[0] ? s->down.tlsinfo.ktls_conf : "-");
	/* RFC 3207 4.2: forget what the client told us before TLS; the next hop too (by RSET:
	 * its EHLO reply stays what the client's next EHLO is answered with). */
	s->helo[0] = '\0';
	s->hello_seen = false;
	session_txn_reset(s);
	cmd_txn_reset(s);
	rc = session_pend_push(s, PEND_INTERNAL, SMTP_RSET, 0, NULL, NULL);
	if (rc) {
		pend_failed(s, rc);
		return true;
	}
	if (session_side_write(&s->up, "RSET\r\n", 6))
		return true;
	s->state = ST_RELAY;
	return true;
}

/* A whole reply of the next hop waits at the head of up.in (passed on once there is room). */
static bool up_reply_complete(const struct session *s)
{
	size_t len;
	int code;

	return s->up.in.len &&
	       smtp_reply_scan(buf_head(&s->up.in), s->up.in.len, &code, &len) == 1;
}

static bool ends(struct session *s)
{
	if (s->state == ST_CLOSING)
		return false;
	if (s->down.eof && s->state == ST_RELAY && !buf_line(&s->down.in)) {
		/* A half-close is not a hang-up: Exim sends the end of data, QUIT and its FIN in
		 * one flight.  The replies owed for what the client sent still go to it (as
		 * Postfix does); the QUIT's reply, when it comes, ends the session. */
		if (s->pq_len && s->up.ep)
			return false;
		/* session_fail() says QUIT to the next hop, which is between commands here */
		session_fail(s, NULL, s->in_txn ? "client disconnected during a transaction"
						: "client disconnected");
		return true;
	}
	if (s->up.eof && !up_reply_complete(s)) {
		/* nothing more will come: what is left is no reply (or none at all) */
		session_fail(s, "421 4.4.2 Error: next hop closed the connection\r\n",
			     "%s closed the connection in state %s%s", s->dest_txt,
			     session_state_name(s->state),
			     s->up.in.len ? " in the middle of a reply" : "");
		return true;
	}
	return false;
}

bool session_relay_step(struct session *s)
{
	bool progress = false;

	if (s->up.ep)
		progress |= session_side_fill(&s->up);
	progress |= replies(s);
	switch (s->state) {
	case ST_RELAY:
		if (!s->await_data && s->pq_len < PQ_MAX)
			progress |= session_side_fill(&s->down);
		progress |= commands(s);
		progress |= replies(s);
		break;
	case ST_DOWN_TLS_WAIT:
	case ST_DOWN_HANDSHAKE:
		progress |= down_handshake(s);
		break;
	default:
		break;
	}
	progress |= ends(s);
	return progress;
}
