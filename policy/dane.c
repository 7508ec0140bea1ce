// SPDX-License-Identifier: GPL-2.0-only
/*
 * DANE lookups (RFC 7672 2.2): MX, then A and AAAA of each MX host, then TLSA at
 * _25._tcp.<TLSA base domain>, each answer judged secure/insecure/bogus/indeterminate, into one
 * verdict per host (policy/dane.h).  The questions go through a struct policy_dane_transport
 * (dane_ub.c: libunbound), so this file is the whole logic and the unit tests drive it with
 * canned answers.  A lookup has no timer of its own: the validator times out its queries
 * (indeterminate), and a caller with a deadline cancels.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dane.h"

#define T_A 1
#define T_MX 15
#define T_AAAA 28
#define T_TLSA 52

enum q_kind { Q_MX, Q_A, Q_AAAA, Q_TLSA };

struct dane_q {
	struct policy_dane_lookup *l;
	enum q_kind kind;
	int host;
	int id;
	bool live;
};

#define MAX_Q (1 + 4 * POLICY_DANE_MAX_HOSTS)

struct policy_dane_lookup {
	struct policy_dane_transport tr;
	policy_dane_result_fn cb;
	void *arg;
	unsigned int pending;
	unsigned int flags;	/* POLICY_DANE_F_* */
	bool mx_insecure;	/* hosts from an insecure MX RRset (F_ADDRS_ALWAYS) */
	struct policy_dane_domain d;
	struct dane_q q[MAX_Q];
	size_t nq;
};

size_t policy_dane_domain_size(const struct policy_dane_domain *d)
{
	return offsetof(struct policy_dane_domain, host) + d->nhost * sizeof(d->host[0]);
}

void policy_dane_domain_clear(struct policy_dane_domain *d)
{
	size_t sz = policy_dane_domain_size(d);

	for (size_t h = 0; h < d->nhost; h++)
		for (size_t i = 0; i < d->host[h].ntlsa; i++)
			free(d->host[h].tlsa[i].data);
	memset(d, 0, sz);
}

int policy_dane_domain_copy(struct policy_dane_domain *dst, const struct policy_dane_domain *src)
{
	memcpy(dst, src, policy_dane_domain_size(src));
	for (size_t h = 0; h < dst->nhost; h++) {
		for (size_t i = 0; i < dst->host[h].ntlsa; i++) {
			const struct policy_dane_tlsa *t = &src->host[h].tlsa[i];

			dst->host[h].tlsa[i].data = malloc(t->len);
			if (!dst->host[h].tlsa[i].data) {
				/* free what was copied so far, then forget the rest */
				dst->host[h].ntlsa = i;
				dst->nhost = h + 1;
				policy_dane_domain_clear(dst);
				return -ENOMEM;
			}
			memcpy(dst->host[h].tlsa[i].data, t->data, t->len);
		}
	}
	return 0;
}

bool policy_dane_host_has_addr(const struct policy_dane_host *h, const uint8_t *addr, size_t alen)
{
	for (size_t i = 0; alen == 4 && i < h->n4; i++)
		if (!memcmp(h->addr4[i], addr, 4))
			return true;
	for (size_t i = 0; alen == 16 && i < h->n6; i++)
		if (!memcmp(h->addr6[i], addr, 16))
			return true;
	return false;
}

const struct policy_dane_host *policy_dane_host_by_addr(const struct policy_dane_domain *d,
							const uint8_t *addr, size_t alen)
{
	for (size_t h = 0; h < d->nhost; h++)
		if (policy_dane_host_has_addr(&d->host[h], addr, alen))
			return &d->host[h];
	return NULL;
}

const struct policy_dane_host *policy_dane_host_by_name(const struct policy_dane_domain *d,
							const char *name)
{
	char n[POLICY_DANE_NAME_MAX];

	if (policy_dane_name_norm(name, n))
		return NULL;
	for (size_t h = 0; h < d->nhost; h++)
		if (!strcmp(d->host[h].name, n))
			return &d->host[h];
	return NULL;
}

static void on_answer(void *arg, const struct policy_dane_answer *a);

static int ask(struct policy_dane_lookup *l, enum q_kind kind, int host, const char *name)
{
	static const uint16_t types[] = {
		[Q_MX] = T_MX, [Q_A] = T_A, [Q_AAAA] = T_AAAA, [Q_TLSA] = T_TLSA};
	struct dane_q *q;
	int rc;

	if (l->nq >= MAX_Q)
		return -ENOSPC;
	q = &l->q[l->nq++];
	q->l = l;
	q->kind = kind;
	q->host = host;
	rc = l->tr.start(l->tr.t, name, types[kind], on_answer, q, &q->id);
	if (rc)
		return rc;
	q->live = true;
	l->pending++;
	if (host >= 0)
		l->d.host[host].pending++;
	return 0;
}

static void finish(struct policy_dane_lookup *l)
{
	struct policy_dane_domain *d = &l->d;

	if (d->nhost && !l->mx_insecure) {
		bool dane = false, failed = false;

		for (size_t h = 0; h < d->nhost; h++) {
			enum policy_dane_state s = d->host[h].state;

			dane |= s == POLICY_DANE_USABLE || s == POLICY_DANE_UNUSABLE_ALL;
			failed |= s == POLICY_DANE_FAILED;
		}
		d->state = dane	    ? POLICY_DANE_USABLE
			   : failed ? POLICY_DANE_FAILED
				    : POLICY_DANE_NONE;
		snprintf(d->reason, sizeof(d->reason), "%s",
			 dane	  ? "MX RRset secure, TLSA at some host"
			 : failed ? "MX RRset secure, lookups failed"
			 : l->flags & POLICY_DANE_F_NO_TLSA ? "MX RRset secure, TLSA not asked"
							     : "MX RRset secure, no TLSA");
	}
	l->cb(l->arg, d);
	policy_dane_domain_clear(d);
	free(l);
}

static void host_fail(struct policy_dane_host *h, enum policy_dane_state s, const char *what,
		      const struct policy_dane_answer *a)
{
	enum policy_dane_sec sec = a ? policy_dane_classify(a) : POLICY_DANE_SECURE;

	h->state = s;
	if (a && a->why_bogus && sec == POLICY_DANE_BOGUS)
		snprintf(h->reason, sizeof(h->reason), "%s: %s (%.160s)", what,
			 policy_dane_sec_name(sec), a->why_bogus);
	else if (a)
		snprintf(h->reason, sizeof(h->reason), "%s: %s", what, policy_dane_sec_name(sec));
	else
		snprintf(h->reason, sizeof(h->reason), "%s", what);
}

static int ask_tlsa(struct policy_dane_lookup *l, int hi, const char *base)
{
	char qname[POLICY_DANE_NAME_MAX + 16];

	snprintf(qname, sizeof(qname), "_25._tcp.%s", base);
	return ask(l, Q_TLSA, hi, qname);
}

/* Both address answers are in: DANE applies to the host only when both are secure. */
static void addrs_done(struct policy_dane_lookup *l, int hi)
{
	struct policy_dane_host *h = &l->d.host[hi];
	enum policy_dane_sec worst = h->sec4 > h->sec6 ? h->sec4 : h->sec6;

	if (h->state == POLICY_DANE_FAILED) /* one of the two could not be asked */
		return;
	if (worst >= POLICY_DANE_BOGUS) {
		h->state = POLICY_DANE_FAILED;
		snprintf(h->reason, sizeof(h->reason), "address lookup (%s): %s",
			 h->sec4 >= POLICY_DANE_BOGUS ? "A" : "AAAA", policy_dane_sec_name(worst));
		return;
	}
	if (l->mx_insecure) {
		host_fail(h, POLICY_DANE_NONE, "MX RRset insecure", NULL);
		return;
	}
	if (worst == POLICY_DANE_INSECURE) {
		host_fail(h, POLICY_DANE_NONE, "address records insecure", NULL);
		return;
	}
	if (h->n4 + h->n6 == 0) {
		host_fail(h, POLICY_DANE_NONE, "no address records", NULL);
		return;
	}
	if (l->flags & POLICY_DANE_F_NO_TLSA) {
		host_fail(h, POLICY_DANE_NONE, "TLSA not asked", NULL);
		return;
	}
	if (ask_tlsa(l, hi, h->base)) {
		host_fail(h, POLICY_DANE_FAILED, "TLSA lookup could not be started", NULL);
		return;
	}
}

static void on_addr(struct policy_dane_lookup *l, int hi, bool v6,
		    const struct policy_dane_answer *a)
{
	struct policy_dane_host *h = &l->d.host[hi];
	enum policy_dane_sec sec = policy_dane_classify(a);
	char canon[POLICY_DANE_NAME_MAX];

	if (v6)
		h->sec6 = sec;
	else
		h->sec4 = sec;
	if (sec >= POLICY_DANE_BOGUS)
		return;
	for (size_t i = 0; i < a->n; i++) {
		if (!v6 && a->len[i] == 4 && h->n4 < POLICY_DANE_MAX_ADDRS)
			memcpy(h->addr4[h->n4++], a->data[i], 4);
		else if (v6 && a->len[i] == 16 && h->n6 < POLICY_DANE_MAX_ADDRS)
			memcpy(h->addr6[h->n6++], a->data[i], 16);
	}
	/* RFC 7672 2.2.2: with secure addresses, the TLSA base domain is the CNAME-expanded name.
	 */
	if (sec == POLICY_DANE_SECURE && a->n && a->canonname &&
	    !policy_dane_name_norm(a->canonname, canon))
		memcpy(h->base, canon, sizeof(canon));
}

static void on_tlsa(struct policy_dane_lookup *l, int hi, const struct policy_dane_answer *a)
{
	struct policy_dane_host *h = &l->d.host[hi];
	enum policy_dane_sec sec = policy_dane_classify(a);
	bool expanded = strcmp(h->base, h->name) != 0;

	if (sec >= POLICY_DANE_BOGUS) {
		host_fail(h, POLICY_DANE_FAILED, "TLSA lookup", a);
		return;
	}
	if (sec == POLICY_DANE_INSECURE || a->nxdomain || a->n == 0) {
		/* RFC 7672 2.2.2: none at the expanded name, so try the MX host name itself. */
		if (expanded && !h->tlsa_at_name) {
			h->tlsa_at_name = true;
			memcpy(h->base, h->name, sizeof(h->base));
			if (ask_tlsa(l, hi, h->base))
				host_fail(h, POLICY_DANE_FAILED, "TLSA lookup could not be started",
					  NULL);
			return;
		}
		host_fail(h, POLICY_DANE_NONE,
			  sec == POLICY_DANE_INSECURE ? "TLSA RRset insecure" : "no TLSA records",
			  NULL);
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		struct policy_dane_tlsa t;

		if (policy_dane_tlsa_parse(a->data[i], a->len[i], &t) != POLICY_DANE_TLSA_USABLE ||
		    h->ntlsa == POLICY_DANE_MAX_TLSA) {
			h->nunusable++;
			continue;
		}
		t.data = malloc(t.len);
		if (!t.data) {
			host_fail(h, POLICY_DANE_FAILED, "out of memory", NULL);
			return;
		}
		memcpy(t.data, a->data[i] + 3, t.len);
		h->tlsa[h->ntlsa++] = t;
	}
	if (h->ntlsa) {
		h->state = POLICY_DANE_USABLE;
		snprintf(h->reason, sizeof(h->reason), "%zu usable TLSA record%s", h->ntlsa,
			 h->ntlsa == 1 ? "" : "s");
	} else {
		h->state = POLICY_DANE_UNUSABLE_ALL;
		snprintf(h->reason, sizeof(h->reason),
			 "all %zu TLSA records unusable: TLS without authentication", h->nunusable);
	}
}

struct mx_cand {
	uint16_t pref;
	char name[POLICY_DANE_NAME_MAX];
};

static int cmp_pref(const void *a, const void *b)
{
	const struct mx_cand *x = a, *y = b;

	return (int)x->pref - (int)y->pref;
}

static int add_host(struct policy_dane_domain *d, const char *name, uint16_t pref)
{
	struct policy_dane_host *h;

	for (size_t i = 0; i < d->nhost; i++)
		if (!strcmp(d->host[i].name, name))
			return 0;
	if (d->nhost == POLICY_DANE_MAX_HOSTS)
		return 0; /* the rest are the least preferred; the caller sorted */
	h = &d->host[d->nhost++];
	memcpy(h->name, name, POLICY_DANE_NAME_MAX);
	memcpy(h->base, name, POLICY_DANE_NAME_MAX);
	h->pref = pref;
	/* Unanswered counts as a failure, never as secure. */
	h->sec4 = h->sec6 = POLICY_DANE_INDETERMINATE;
	return 0;
}

static int start_hosts(struct policy_dane_lookup *l)
{
	for (size_t i = 0; i < l->d.nhost; i++) {
		int rc = ask(l, Q_A, (int)i, l->d.host[i].name);

		if (!rc)
			rc = ask(l, Q_AAAA, (int)i, l->d.host[i].name);
		if (rc)
			host_fail(&l->d.host[i], POLICY_DANE_FAILED,
				  "address lookup could not be started", NULL);
	}
	return 0;
}

static void domain_end(struct policy_dane_domain *d, enum policy_dane_state s, const char *why,
		       const struct policy_dane_answer *a)
{
	enum policy_dane_sec sec = a ? policy_dane_classify(a) : POLICY_DANE_SECURE;

	d->state = s;
	if (a && a->why_bogus && sec == POLICY_DANE_BOGUS)
		snprintf(d->reason, sizeof(d->reason), "%s: %s (%.160s)", why,
			 policy_dane_sec_name(sec), a->why_bogus);
	else if (a)
		snprintf(d->reason, sizeof(d->reason), "%s: %s", why, policy_dane_sec_name(sec));
	else
		snprintf(d->reason, sizeof(d->reason), "%s", why);
}

static void on_mx(struct policy_dane_lookup *l, const struct policy_dane_answer *a)
{
	struct policy_dane_domain *d = &l->d;
	struct mx_cand tmp[POLICY_DANE_MAX_HOSTS], c;
	enum policy_dane_sec sec = policy_dane_classify(a);
	size_t ntmp = 0;

	if (sec >= POLICY_DANE_BOGUS) {
		domain_end(d, POLICY_DANE_FAILED, "MX lookup", a);
		return;
	}
	/* RFC 7672 2.2.1: an MX RRset that is not secure could be anybody's; DANE does not apply.
	 * Its hosts are still wanted for other policy (MTA-STS) with F_ADDRS_ALWAYS; the domain's
	 * state says NONE either way. */
	if (sec == POLICY_DANE_INSECURE) {
		domain_end(d, POLICY_DANE_NONE, "MX RRset insecure", NULL);
		if (!(l->flags & POLICY_DANE_F_ADDRS_ALWAYS))
			return;
		l->mx_insecure = true;
	}
	if (a->nxdomain) {
		domain_end(d, POLICY_DANE_NONE,
			   l->mx_insecure ? "domain does not exist (insecure NXDOMAIN)"
					  : "domain does not exist (secure NXDOMAIN)",
			   NULL);
		return;
	}
	if (a->n == 0) {
		d->implicit_mx = true;
		add_host(d, d->domain, 0);
		start_hosts(l);
		return;
	}
	/* Keep the most preferred hosts when the RRset is longer than we look at. */
	for (size_t i = 0; i < a->n; i++) {
		if (policy_dane_mx_parse(a->data[i], a->len[i], &c.pref, c.name)) {
			/* insecure: DANE does not apply whatever the records say */
			if (l->mx_insecure)
				domain_end(d, POLICY_DANE_NONE,
					   "MX RRset insecure, malformed MX record", NULL);
			else
				domain_end(d, POLICY_DANE_FAILED, "malformed MX record", NULL);
			return;
		}
		if (!c.name[0]) {
			domain_end(d, POLICY_DANE_NONE, "null MX: the domain accepts no mail",
				   NULL);
			return;
		}
		if (ntmp < POLICY_DANE_MAX_HOSTS) {
			tmp[ntmp++] = c;
			continue;
		}
		qsort(tmp, ntmp, sizeof(tmp[0]), cmp_pref);
		if (c.pref < tmp[ntmp - 1].pref)
			tmp[ntmp - 1] = c;
	}
	qsort(tmp, ntmp, sizeof(tmp[0]), cmp_pref);
	for (size_t i = 0; i < ntmp; i++)
		add_host(d, tmp[i].name, tmp[i].pref);
	start_hosts(l);
}

static void on_answer(void *arg, const struct policy_dane_answer *a)
{
	struct dane_q *q = arg;
	struct policy_dane_lookup *l = q->l;

	q->live = false;
	l->pending--;
	if (q->host >= 0)
		l->d.host[q->host].pending--;
	switch (q->kind) {
	case Q_MX:
		on_mx(l, a);
		break;
	case Q_A:
	case Q_AAAA:
		on_addr(l, q->host, q->kind == Q_AAAA, a);
		if (!l->d.host[q->host].pending)
			addrs_done(l, q->host);
		break;
	case Q_TLSA:
		on_tlsa(l, q->host, a);
		break;
	}
	if (!l->pending)
		finish(l);
}

static int lookup_new(const struct policy_dane_transport *tr, const char *name,
		      policy_dane_result_fn cb, void *arg, struct policy_dane_lookup **out)
{
	struct policy_dane_lookup *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	if (policy_dane_name_norm(name, l->d.domain)) {
		free(l);
		return -EINVAL;
	}
	l->tr = *tr;
	l->cb = cb;
	l->arg = arg;
	*out = l;
	return 0;
}

int policy_dane_lookup_domain(const struct policy_dane_transport *tr, const char *domain,
			      policy_dane_result_fn cb, void *arg, struct policy_dane_lookup **out)
{
	return policy_dane_lookup_domain_flags(tr, domain, 0, cb, arg, out);
}

int policy_dane_lookup_domain_flags(const struct policy_dane_transport *tr, const char *domain,
				    unsigned int flags, policy_dane_result_fn cb, void *arg,
				    struct policy_dane_lookup **out)
{
	struct policy_dane_lookup *l;
	int rc = lookup_new(tr, domain, cb, arg, &l);

	if (rc)
		return rc;
	l->flags = flags;
	rc = ask(l, Q_MX, -1, l->d.domain);
	if (rc) {
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int policy_dane_lookup_host(const struct policy_dane_transport *tr, const char *host,
			    policy_dane_result_fn cb, void *arg, struct policy_dane_lookup **out)
{
	struct policy_dane_lookup *l;
	int rc = lookup_new(tr, host, cb, arg, &l);

	if (rc)
		return rc;
	add_host(&l->d, l->d.domain, 0);
	rc = ask(l, Q_A, 0, l->d.domain);
	if (!rc)
		rc = ask(l, Q_AAAA, 0, l->d.domain);
	if (rc) {
		policy_dane_lookup_cancel(l);
		return rc;
	}
	*out = l;
	return 0;
}

void policy_dane_lookup_cancel(struct policy_dane_lookup *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nq; i++)
		if (l->q[i].live)
			l->tr.cancel(l->tr.t, l->q[i].id);
	policy_dane_domain_clear(&l->d);
	free(l);
}
