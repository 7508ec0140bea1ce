// SPDX-License-Identifier: GPL-2.0-only
/*
 * The destination's own policy, per recipient (outbound): DANE (RFC 7672) and MTA-STS (RFC 8461)
 * checked against the leg this session already has.
 *
 * A transparent relay learns the recipient domain only at RCPT, and the MX only by address.  So
 * the verdict is taken per RCPT, from three things:
 *   - the gateway's own resolution of the recipient domain (daemon/destpol.c: MX hosts, their
 *     addresses, TLSA; DNSSEC-validated where the zone is signed), which maps the connected
 *     address back to the domain's MX host names -- an address that is none of the domain's MX
 *     hosts satisfies no DANE or MTA-STS policy of that domain;
 *   - the up leg's TLS peer, kept at the handshake (daemon/tls_peer.c): the chain checked
 *     against the host's TLSA records, or WebPKI-verified and matched to the MX host name;
 *   - the cached MTA-STS policy (daemon/sts_fetch.c), which never waits for a fetch.
 * A recipient whose domain the leg does not satisfy is refused with 450 and nothing of it goes
 * up; the held MAIL (session_relay.c) makes that true of the sender too.  Precedence as
 * docs/POLICY.md gives it: an explicit table rule for the domain decides alone (its dane and
 * dane-only levels ask for DANE here); else DANE with TLSA records; else MTA-STS enforce;
 * else testing (delivered, counted); else the session's own level.
 *
 * The DNS lookup may take a while: session_dest_ready() is asked before a RCPT line is taken,
 * and a session whose verdict needs a lookup under way stops reading commands until the lookup
 * ends (the worker goes on with other sessions; the session's timers keep running).
 */
#include "daemon/destpol.h"
#include "daemon/gateway.h"
#include "daemon/session_int.h"
#include "daemon/sts_fetch.h"
#include "daemon/tls_peer.h"
#include "daemon/tlsrpt.h"
#include "lib/log.h"
#include "report/outcome.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* What a recipient domain asks of the leg. */
struct dest_ask {
	bool dane;		/* DANE applies when the domain has TLSA records */
	bool dane_only;		/* ... and is required (dane-only) */
	bool sts;		/* MTA-STS applies */
	const struct policy_rule *rule;	/* the table's rule that asks, when one does */
};

static struct dest_ask dest_ask(const struct session *s, const char *dom)
{
	const struct config *c = &s->host->gw->cfg;
	struct dest_ask a = { 0 };
	struct policy_match m;

	if (dom[0] == '[')
		return a; /* an address literal has no MX, no TLSA base, no policy host */
	m = policy_match_domain(s->pol, dom);
	if (m.rule->key_type != POLICY_KEY_DEFAULT) {
		/* the admin's rule decides alone; its dane levels ask for DANE */
		a.dane = m.rule->written == POLICY_DANE || m.rule->written == POLICY_DANE_ONLY;
		a.dane_only = m.rule->written == POLICY_DANE_ONLY;
		a.rule = m.rule;
		return a;
	}
	a.dane = c->outbound_dane;
	a.sts = c->outbound_mta_sts && s->host->gw->sts;
	return a;
}

/* ---- waiting for a lookup ----------------------------------------------------------------- */

static void dest_wake(struct destpol_waiter *w)
{
	struct session *s = (struct session *)((char *)w - offsetof(struct session, dwait));

	s->dwaiting = false;
	session_run(s);
}

struct ready_ck {
	struct session *s;
	bool pending;
};

static int domain_ready(const char *dom, void *ctx)
{
	struct ready_ck *ck = ctx;
	struct session *s = ck->s;
	const struct policy_dane_domain *d;
	struct dest_ask a = dest_ask(s, dom);

	if (!a.dane && !a.sts)
		return 0;
	s->dwait.wake = dest_wake;
	if (destpol_get(s->host->destpol, dom, &d, &s->dwait) == 0) {
		/* once per lookup a session waits for: it explains a slow RCPT reply */
		log_info("session=%s RCPT waits for the policy lookup of %s", s->ids, dom);
		s->dwaiting = true;
		ck->pending = true;
		return 1; /* one wait at a time; the others are asked when it ends */
	}
	return 0;
}

bool session_dest_ready(struct session *s, const char *line, size_t len)
{
	char raw[320], addr[320];
	struct ready_ck ck = { .s = s };
	struct smtp_cmd c;

	if (s->role != ROLE_OUTBOUND || !s->host->destpol)
		return true;
	if (s->dwaiting)
		return false;
	if (smtp_cmd_parse(line, len, &c) || c.verb != SMTP_RCPT ||
	    smtp_path_parse(c.args, c.args_len, "TO:", raw, sizeof(raw)) ||
	    smtp_addr_canon(raw, addr, sizeof(addr)))
		return true; /* not a RCPT, or one that gets its 501 without a lookup */
	smtp_addr_route_domains(addr, domain_ready, &ck);
	return !ck.pending;
}

void session_dest_end(struct session *s)
{
	if (s->dwaiting)
		destpol_cancel(&s->dwait);
	s->dwaiting = false;
}

/* ---- the verdict -------------------------------------------------------------------------- */

struct dest_verdict {
	bool refuse;
	bool monitor;	/* the rule asking is in monitor mode: a failure is counted as would_fail */
	int rpt;		/* enum policy_rpt_result of the refusal, -1 none */
	int policy;		/* enum report_policy that refused */
	char dom[256];		/* the domain refused */
	char reply[700];
	char why[1024];
};

static void count(struct session *s, enum policy_rpt_policy pol, int result, bool refused)
{
	struct gateway_counters *c = &s->host->gw->ctr;

	if (result < 0)
		atomic_fetch_add(&c->rpt_success[pol], 1);
	else if (refused)
		atomic_fetch_add(&c->rpt_failure[pol][result], 1);
	else
		atomic_fetch_add(&c->rpt_would_fail[pol][result], 1);
}

bool session_dest_addr(const struct session *s, uint8_t a[16], size_t *alen)
{
	if (s->dest.ss_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)&s->dest)->sin_addr, 4);
		*alen = 4;
		return true;
	}
	if (s->dest.ss_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)&s->dest)->sin6_addr, 16);
		*alen = 16;
		return true;
	}
	*alen = 0;
	return false;
}

enum dane_out { DANE_NA, DANE_PASS, DANE_REFUSE };

/*
 * DANE for dom on this leg.  Every host of the domain at the connected address is tried (two MX
 * names may share an address); one that is satisfied lets the recipient through.
 */
static enum dane_out dane_verdict(struct session *s, const char *dom,
				  const struct policy_dane_domain *d, bool required,
				  struct dest_verdict *v)
{
	struct gateway *g = s->host->gw;
	uint8_t a[16];
	size_t alen = 0;
	bool mapped = false, dane_host = false, failed = false;
	enum policy_rpt_result res = POLICY_RPT_VALIDATION_FAILURE;
	int rc;

	if (d->state == POLICY_DANE_FAILED && !d->nhost) {
		/* the MX step itself failed: bogus or no answer.  Never a downgrade. */
		snprintf(v->why, sizeof(v->why), "DANE lookup for %s failed: %s", dom, d->reason);
		snprintf(v->reply, sizeof(v->reply), "450 4.7.5 DANE lookup for %s failed\r\n", dom);
		count(s, POLICY_RPT_TLSA, POLICY_RPT_DNSSEC_INVALID, !v->monitor);
		v->refuse = true;
		v->rpt = POLICY_RPT_DNSSEC_INVALID;
		v->policy = REPORT_POLICY_DANE;
		return DANE_REFUSE;
	}
	session_dest_addr(s, a, &alen);
	for (size_t i = 0; i < d->nhost; i++) {
		const struct policy_dane_host *h = &d->host[i];
		char buf[256];

		if (!policy_dane_host_has_addr(h, a, alen))
			continue;
		mapped = true;
		switch (h->state) {
		case POLICY_DANE_NONE:
			continue;
		case POLICY_DANE_FAILED:
			failed = true;
			res = POLICY_RPT_DNSSEC_INVALID;
			snprintf(v->why, sizeof(v->why), "DANE lookup for MX host %s failed: %s",
				 h->name, h->reason);
			continue;
		case POLICY_DANE_UNUSABLE_ALL:
			dane_host = true;
			if (s->up.tls) {
				snprintf(s->dest_auth, sizeof(s->dest_auth),
					 "TLS required by DANE (%s: all TLSA records unusable)", h->name);
				count(s, POLICY_RPT_TLSA, -1, true);
				return DANE_PASS;
			}
			res = POLICY_RPT_STARTTLS_NOT_SUPPORTED;
			snprintf(v->why, sizeof(v->why), "DANE: %s has TLSA records, the leg is "
				 "plaintext", h->name);
			continue;
		case POLICY_DANE_USABLE:
			dane_host = true;
			if (!s->up.tls || !s->upl.peer) {
				res = POLICY_RPT_STARTTLS_NOT_SUPPORTED;
				snprintf(v->why, sizeof(v->why), "DANE: %s has TLSA records, the leg "
					 "is %s", h->name, s->up.tls ? "anonymous" : "plaintext");
				continue;
			}
			rc = tls_peer_dane(s->upl.peer, g->client_ctx, h, dom, buf, sizeof(buf));
			if (!rc) {
				snprintf(s->dest_auth, sizeof(s->dest_auth),
					 "authenticated by DANE (%s, %s)", h->name, buf);
				count(s, POLICY_RPT_TLSA, -1, true);
				return DANE_PASS;
			}
			if (rc == -ENODATA) {
				/* OpenSSL took none of the records: as if all were unusable */
				snprintf(s->dest_auth, sizeof(s->dest_auth),
					 "TLS required by DANE (%s: no TLSA record usable here)",
					 h->name);
				count(s, POLICY_RPT_TLSA, -1, true);
				return DANE_PASS;
			}
			res = rc == -EPERM ? POLICY_RPT_VALIDATION_FAILURE : POLICY_RPT_TLSA_INVALID;
			snprintf(v->why, sizeof(v->why), "DANE verification of %s failed: %s",
				 h->name, buf);
			continue;
		}
	}
	if (dane_host || failed)
		goto refuse;
	if (!mapped && d->state != POLICY_DANE_NONE) {
		/* the domain has DANE, and this address is none of its validated MX hosts */
		res = POLICY_RPT_VALIDATION_FAILURE;
		snprintf(v->why, sizeof(v->why), "DANE: %s is not a DNSSEC-validated MX host of %s",
			 s->dest_txt, dom);
		goto refuse;
	}
	if (required) {
		res = POLICY_RPT_DANE_REQUIRED;
		snprintf(v->why, sizeof(v->why), "dane-only: no DNSSEC-validated TLSA records for "
			 "%s at %s (%s)", dom, s->dest_txt, d->reason);
		goto refuse;
	}
	return DANE_NA;
refuse:
	snprintf(v->reply, sizeof(v->reply), "450 4.7.5 DANE policy of %s not satisfied by %s\r\n",
		 dom, s->dest_txt);
	count(s, POLICY_RPT_TLSA, (int)res, !v->monitor);
	v->refuse = true;
	v->rpt = (int)res;
	v->policy = REPORT_POLICY_DANE;
	return DANE_REFUSE;
}

/* MTA-STS for dom on this leg; d (may be NULL) names the domain's MX hosts. */
static void sts_verdict(struct session *s, const char *dom, const struct policy_dane_domain *d,
			struct dest_verdict *v)
{
	struct policy_sts_entry *e = NULL;
	const char *name = NULL;
	enum policy_rpt_result res;
	bool enforce;
	uint8_t a[16];
	size_t alen = 0;
	char why[700];

	if (sts_fetch_lookup(s->host->gw->sts, dom, &e) != STS_LOOKUP_POLICY)
		return; /* none known (yet): the session's own level */
	enforce = e->pol.mode == POLICY_STS_ENFORCE;
	session_dest_addr(s, a, &alen);
	/* the connected address's MX names for this domain, from the gateway's resolution; one
	 * that the policy lists and the certificate names satisfies it */
	res = POLICY_RPT_VALIDATION_FAILURE;
	snprintf(why, sizeof(why), "%s is not an MX host of %s", s->dest_txt, dom);
	for (size_t i = 0; d && i < d->nhost; i++) {
		const struct policy_dane_host *h = &d->host[i];

		if (!policy_dane_host_has_addr(h, a, alen))
			continue;
		if (!policy_sts_mx_match(&e->pol, h->name)) {
			snprintf(why, sizeof(why), "MX host %s does not match the policy's mx patterns",
				 h->name);
			continue;
		}
		if (!s->up.tls) {
			res = POLICY_RPT_STARTTLS_NOT_SUPPORTED;
			snprintf(why, sizeof(why), "the leg to %s is plaintext", h->name);
			continue;
		}
		if (!s->upl.peer) {
			res = POLICY_RPT_CERTIFICATE_NOT_TRUSTED;
			snprintf(why, sizeof(why), "%s presented no certificate", h->name);
			continue;
		}
		if (tls_peer_sts(s->upl.peer, h->name, why, sizeof(why), &res))
			continue;
		name = h->name;
		break;
	}
	if (name) {
		snprintf(s->dest_auth, sizeof(s->dest_auth), "authenticated by MTA-STS (%s, %s)",
			 policy_sts_mode_name(e->pol.mode), name);
		count(s, POLICY_RPT_STS, -1, true);
		session_outcome_dest(s, dom, REPORT_POLICY_STS, -1, s->dest_auth);
		goto out;
	}
	count(s, POLICY_RPT_STS, (int)res, enforce);
	if (!enforce) {
		log_info("session=%s domain=%s MTA-STS testing: would have refused: %s (%s); "
			 "delivered", s->ids, dom, why, policy_rpt_result_name(res));
		session_outcome_dest(s, dom, REPORT_POLICY_STS, (int)res, why);
		goto out;
	}
	v->rpt = (int)res;
	v->policy = REPORT_POLICY_STS;
	snprintf(v->why, sizeof(v->why), "MTA-STS (enforce): %s (%s)", why,
		 policy_rpt_result_name(res));
	snprintf(v->reply, sizeof(v->reply), "450 4.7.5 MTA-STS policy of %s not satisfied by %s\r\n",
		 dom, s->dest_txt);
	v->refuse = true;
out:
	policy_sts_entry_put(e);
}

struct check_ck {
	struct session *s;
	struct dest_verdict *v;
	const char *addr;	/* the recipient, for the log */
};

static int domain_check(const char *dom, void *ctx)
{
	struct check_ck *ck = ctx;
	struct session *s = ck->s;
	struct dest_ask a = dest_ask(s, dom);
	const struct policy_dane_domain *d = NULL;
	int rc;

	if (!a.dane && !a.sts)
		return 0;
	ck->v->monitor = a.rule && gateway_rule_monitor(s->host->gw, a.rule);
	snprintf(ck->v->dom, sizeof(ck->v->dom), "%s", dom);
	if (!s->host->destpol) {
		if (!a.dane_only)
			return 0;
		/* dane-only asks for what this gateway is configured not to look up */
		snprintf(ck->v->why, sizeof(ck->v->why), "dane-only for %s, but outbound_dane and "
			 "outbound_mta_sts are off: no DNSSEC lookups", dom);
		snprintf(ck->v->reply, sizeof(ck->v->reply),
			 "450 4.7.5 TLS policy for %s cannot be honoured\r\n", dom);
		if (ck->v->monitor) {
			(void)session_would_refuse(s, a.rule, true, "rcpt=<%s> %.*s: %s", ck->addr,
						   (int)strcspn(ck->v->reply, "\r\n"), ck->v->reply,
						   ck->v->why);
			return 0;
		}
		ck->v->refuse = true;
		return 1;
	}
	rc = destpol_get(s->host->destpol, dom, &d, NULL);
	if (rc <= 0) {
		/* session_dest_ready() waited for it; a lookup that is not there now (an entry
		 * that expired in between, no memory) is not a verdict: try again later */
		snprintf(ck->v->why, sizeof(ck->v->why), "no lookup result for %s: %s", dom,
			 rc ? strerror(-rc) : "pending");
		snprintf(ck->v->reply, sizeof(ck->v->reply),
			 "451 4.4.3 Policy lookup for %s in progress, try again\r\n", dom);
		ck->v->refuse = true;
		return 1;
	}
	if (a.dane) {
		enum dane_out o = dane_verdict(s, dom, d, a.dane_only, ck->v);

		if (o == DANE_REFUSE && ck->v->monitor) {
			/* the table's dane/dane-only rule is in monitor mode: as may, delivered */
			(void)session_would_refuse(s, a.rule, true, "rcpt=<%s> %.*s: %s", ck->addr,
						   (int)strcspn(ck->v->reply, "\r\n"), ck->v->reply,
						   ck->v->why);
			ck->v->refuse = false;
			return 0;
		}
		if (o == DANE_REFUSE)
			return 1;
		if (o == DANE_PASS) {
			session_outcome_dest(s, dom, REPORT_POLICY_DANE, -1, s->dest_auth);
			return 0; /* DANE decided: MTA-STS never overrides it (RFC 8461 2) */
		}
	}
	if (a.sts) {
		sts_verdict(s, dom, d->nhost ? d : NULL, ck->v);
		if (ck->v->refuse)
			return 1;
	}
	return 0;
}

int session_dest_check(struct session *s, const char *addr, char *reply, size_t len)
{
	struct dest_verdict v = { .rpt = -1 };
	struct check_ck ck = { .s = s, .v = &v, .addr = addr };

	if (s->role != ROLE_OUTBOUND)
		return 0;
	/* RFC 8460 5.3.1: our own TLS report, on its way to a rua of the domain, is not held to
	 * the domain's DANE or MTA-STS policy (the leg keeps whatever TLS it has).  Only a report
	 * submission's one-time envelope sender with the recipient it was made for passes
	 * (daemon/tlsrpt.h). */
	if (s->host->gw->tlsrpt && tlsrpt_exempt(s->host->gw->tlsrpt, s->mail_from, addr)) {
		log_info("session=%s rcpt=<%s> TLS report (RFC 8460 5.3.1): the domain's DANE and "
			 "MTA-STS policies are not applied", s->ids, addr);
		return 0;
	}
	smtp_addr_route_domains(addr, domain_check, &ck);
	if (!v.refuse)
		return 0;
	log_info("session=%s rcpt=<%s> refused: %s", s->ids, addr, v.why);
	session_outcome_refused(s, v.dom, v.rpt, v.policy, v.why);
	snprintf(reply, len, "%s", v.reply);
	return -EPERM;
}
