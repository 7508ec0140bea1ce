// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a session taught the gateway about its destinations (report/outcome.h), published to
 * the main thread's sinks (daemon/outcome.h: the posture store, the TLS reports) -- never
 * waiting.
 *
 * Outbound, a transaction collects its recipient domains as the replies come in (a recipient
 * counts once the next hop accepted it; what a domain's DANE or MTA-STS said of the leg is
 * noted at its RCPT); the reply to the end of data publishes one outcome per domain, and so
 * does a transaction abandoned after recipients were accepted (RSET, the session ending:
 * messages 0).  Refusals are published where they happen: a recipient the gateway refused, a
 * session refused before any recipient (its domain the next-hop domain when the rule names
 * one).  Inbound, one outcome per message, for the sender's domain.  The session facts
 * (STARTTLS, TLS, certificate, kTLS) count once per session and domain (new_session).
 */
#include "daemon/gateway.h"
#include "daemon/outcome.h"
#include "daemon/session_int.h"
#include "lib/sockutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define ODOM_MAX 32	/* recipient domains per transaction; more count as (other) */

struct session_odom {
	char domain[REPORT_NAME_MAX];
	uint32_t recipients;
	uint8_t policy;		/* enum report_policy that let it through */
	int8_t would_rpt;	/* a policy that would have refused it (MTA-STS testing, monitor) */
	char detail[160];
};

static uint8_t ktls_of(const char *state, const char *dir)
{
	char k[16], n[16];

	snprintf(k, sizeof(k), "%s=kernel", dir);
	snprintf(n, sizeof(n), "%s=nic", dir);
	return strstr(state, k) ? REPORT_KTLS_KERNEL : strstr(state, n) ? REPORT_KTLS_NIC
									 : REPORT_KTLS_NONE;
}

static const char *addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/* FNV-1a of the lower-case domain */
static uint64_t dom_hash(const char *d)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *d; d++)
		h = (h ^ (unsigned char)(*d | (*d >= 'A' && *d <= 'Z' ? 0x20 : 0))) * 0x100000001b3ull;
	return h;
}

/* The session's first outcome for dom?  (A session carrying more than SESSION_SEEN_MAX
 * domains counts each later one as a session of its own.) */
static bool first_for(struct session *s, const char *dom)
{
	uint64_t h = dom_hash(dom);

	for (unsigned int i = 0; i < s->nodom_seen; i++)
		if (s->odom_seen[i] == h)
			return false;
	if (s->nodom_seen < SESSION_SEEN_MAX)
		s->odom_seen[s->nodom_seen++] = h;
	return true;
}

/* The fields every outcome of the session has. */
static void fill(struct session *s, struct report_outcome *o, const char *dom)
{
	bool out = s->role == ROLE_OUTBOUND;
	const struct side *leg = out ? &s->up : &s->down;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	char full[128];

	memset(o, 0, sizeof(*o));
	o->time = time(NULL);
	o->dir = out ? REPORT_OUTBOUND : REPORT_INBOUND;
	o->rpt_result = -1;
	/* set at the up leg's handshake: also for a session refused because of it */
	o->cert = out ? s->upl.cert : REPORT_CERT_NONE;
	o->tls = leg->tls;
	o->starttls_offered = out ? s->upl.starttls_offered : s->offer_tls;
	o->level = (uint8_t)s->level;
	o->rule_id = out ? (s->out_match.rule ? s->out_match.rule->id : 0)
			 : (s->in_match.rule ? s->in_match.rule->id : 0);
	o->new_session = first_for(s, dom);
	if (leg->tls) {
		o->ktls_tx = ktls_of(leg->tlsinfo.ktls_state, "tx");
		o->ktls_rx = ktls_of(leg->tlsinfo.ktls_state, "rx");
		snprintf(o->tls_version, sizeof(o->tls_version), "%s", leg->tlsinfo.version);
		snprintf(o->cipher, sizeof(o->cipher), "%s", leg->tlsinfo.cipher);
	}
	snprintf(o->domain, sizeof(o->domain), "%s", dom);
	if (out) {
		snprintf(o->mx, sizeof(o->mx), "%s", s->mx_host);
		snprintf(o->peer_ip, sizeof(o->peer_ip), "%s", s->dest_ip);
		/* once per connection, not per outcome */
		if (!s->upl.local_ip[0] && s->up.ev.fd >= 0 &&
		    !getsockname(s->up.ev.fd, (struct sockaddr *)&local, &len))
			tg_addr_text(&local, s->upl.local_ip, sizeof(s->upl.local_ip), full,
				     sizeof(full));
		snprintf(o->local_ip, sizeof(o->local_ip), "%s", s->upl.local_ip);
	} else {
		snprintf(o->mx, sizeof(o->mx), "%s", s->helo);
		snprintf(o->peer_ip, sizeof(o->peer_ip), "%s", s->client_ip);
	}
}

static void publish(struct session *s, const struct report_outcome *o)
{
	outcome_publish(s->host->gw->outcomes, o);
}

/* The transaction's entry for dom, made if need be; NULL when out of memory. */
static struct session_odom *odom_get(struct session *s, const char *dom)
{
	struct session_odom *e;

	for (unsigned int i = 0; i < s->nodom; i++)
		if (!strcasecmp(s->odom[i].domain, dom))
			return &s->odom[i];
	if (s->nodom == ODOM_MAX) {
		/* the last slot takes the rest */
		e = &s->odom[ODOM_MAX - 1];
		snprintf(e->domain, sizeof(e->domain), "(other)");
		return e;
	}
	e = realloc(s->odom, (s->nodom + 1) * sizeof(*e));
	if (!e)
		return NULL;
	s->odom = e;
	e = &s->odom[s->nodom++];
	memset(e, 0, sizeof(*e));
	e->would_rpt = -1;
	snprintf(e->domain, sizeof(e->domain), "%s", dom);
	return e;
}

void session_outcome_dest(struct session *s, const char *dom, int policy, int would_rpt,
			  const char *detail)
{
	struct session_odom *e;

	if (!s->host->gw->outcomes)
		return;
	e = odom_get(s, dom);
	if (!e)
		return;
	e->policy = (uint8_t)policy;
	if (would_rpt >= 0)
		e->would_rpt = (int8_t)would_rpt;
	if (detail)
		snprintf(e->detail, sizeof(e->detail), "%s", detail);
}

void session_outcome_rcpt(struct session *s, const char *addr)
{
	struct session_odom *e;

	if (s->role != ROLE_OUTBOUND || !s->host->gw->outcomes || !addr)
		return;
	e = odom_get(s, addr_domain(addr));
	if (e)
		e->recipients++;
}

void session_outcome_refused(struct session *s, const char *dom, int rpt, int policy,
			     const char *detail)
{
	struct report_outcome o;

	if (!s->host->gw->outcomes)
		return;
	/* before any recipient: the next-hop domain when the rule names one */
	fill(s, &o, dom ? dom : s->nexthop);
	o.result = REPORT_POLICY_REFUSED;
	o.rpt_result = (int8_t)rpt;
	o.policy = (uint8_t)policy;
	o.recipients = dom && s->role == ROLE_OUTBOUND ? 1 : 0;
	if (detail)
		snprintf(o.policy_detail, sizeof(o.policy_detail), "%s", detail);
	publish(s, &o);
}

/* Outbound: one outcome per domain of the transaction; messages 0 when it was abandoned. */
static void publish_txn(struct session *s, int code, uint32_t messages)
{
	for (unsigned int i = 0; i < s->nodom; i++) {
		const struct session_odom *e = &s->odom[i];
		struct report_outcome o;
		int would = e->would_rpt;

		if (!e->recipients)
			continue; /* every recipient of it refused by the next hop */
		fill(s, &o, e->domain);
		o.messages = messages;
		o.recipients = e->recipients;
		o.policy = e->policy;
		snprintf(o.policy_detail, sizeof(o.policy_detail), "%s", e->detail);
		/* a session-level refusal of a monitor rule (TLS not offered, not verified) */
		if (would < 0 && s->would_refuse)
			would = s->up.tls ? POLICY_RPT_VALIDATION_FAILURE
					  : POLICY_RPT_STARTTLS_NOT_SUPPORTED;
		if (code / 100 == 2 && would >= 0) {
			o.result = REPORT_WOULD_REFUSE;
			o.rpt_result = (int8_t)would;
		} else {
			o.result = code / 100 == 2 ? REPORT_DELIVERED : REPORT_PEER_REFUSED;
		}
		publish(s, &o);
	}
	free(s->odom);
	s->odom = NULL;
	s->nodom = 0;
}

void session_outcome_message(struct session *s, int code)
{
	struct report_outcome o;

	if (!s->host->gw->outcomes)
		return;
	if (s->role == ROLE_OUTBOUND) {
		publish_txn(s, code, 1);
		return;
	}
	fill(s, &o, addr_domain(s->mail_from));
	o.messages = 1;
	o.recipients = s->nrcpt_ok;
	o.result = code / 100 == 2 ? REPORT_DELIVERED : REPORT_PEER_REFUSED;
	publish(s, &o);
}

void session_outcome_txn_end(struct session *s)
{
	if (s->nodom)
		publish_txn(s, 0, 0);
}

void session_outcome_end(struct session *s)
{
	session_outcome_txn_end(s);
	free(s->odom);
	s->odom = NULL;
	s->nodom = 0;
}
