// SPDX-License-Identifier: GPL-2.0-only
/*
 * One day's aggregate (report/posture.h): rows per (direction, domain, host), bounded three
 * ways so that a gateway that talks to a million domains keeps a bounded day: max_domains
 * domains per direction (the rest count in one (other) row), POSTURE_HOSTS hosts per domain
 * (the rest in its (other) host), POSTURE_TOP versions and ciphers by name per row (the first
 * seen; the rest in "other").
 */
#include "report/posture.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cert_keys[REPORT_CERT_N] = {
	[REPORT_CERT_NONE] = "none",
	[REPORT_CERT_VERIFIED] = "verified",
	[REPORT_CERT_NAME_MISMATCH] = "name_mismatch",
	[REPORT_CERT_NO_NAME] = "no_name",
	[REPORT_CERT_EXPIRED] = "expired",
	[REPORT_CERT_SELF_SIGNED] = "self_signed",
	[REPORT_CERT_UNTRUSTED] = "untrusted",
};

static struct posture_ctr_name names[POSTURE_NCTR];

static void names_init(void)
{
	static const struct {
		enum posture_ctr c;
		const char *group, *key;
	} fixed[] = {
		{ POSTURE_SESSIONS, "", "sessions" },
		{ POSTURE_MESSAGES, "", "messages" },
		{ POSTURE_DELIVERED, "", "delivered" },
		{ POSTURE_PEER_REFUSED, "", "peer_refused" },
		{ POSTURE_RECIPIENTS, "", "recipients" },
		{ POSTURE_STARTTLS, "", "starttls_offered" },
		{ POSTURE_TLS, "", "tls" },
		{ POSTURE_TLS_MESSAGES, "", "tls_messages" },
		{ POSTURE_KTLS_TX_KERNEL, "ktls", "tx_kernel" },
		{ POSTURE_KTLS_TX_NIC, "ktls", "tx_nic" },
		{ POSTURE_KTLS_RX_KERNEL, "ktls", "rx_kernel" },
		{ POSTURE_KTLS_RX_NIC, "ktls", "rx_nic" },
		{ POSTURE_DANE_OK, "dane", "ok" },
		{ POSTURE_DANE_FAILED, "dane", "failed" },
		{ POSTURE_STS_OK, "sts", "ok" },
		{ POSTURE_STS_FAILED, "sts", "failed" },
		{ POSTURE_REFUSED, "refused", "total" },
		{ POSTURE_REFUSED_RECIPIENTS, "refused", "recipients" },
		{ POSTURE_REFUSED_OTHER, "refused", "other" },
		{ POSTURE_WOULD, "would_refuse", "total" },
		{ POSTURE_WOULD_OTHER, "would_refuse", "other" },
	};

	if (names[0].key)
		return;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		names[fixed[i].c] = (struct posture_ctr_name){ fixed[i].group, fixed[i].key };
	for (int i = 0; i < REPORT_CERT_N; i++)
		names[POSTURE_CERT + i] = (struct posture_ctr_name){ "cert", cert_keys[i] };
	for (int i = 0; i < POLICY_RPT_NRESULT; i++) {
		names[POSTURE_REFUSED_BY + i] =
			(struct posture_ctr_name){ "refused", policy_rpt_result_name((enum policy_rpt_result)i) };
		names[POSTURE_WOULD_BY + i] =
			(struct posture_ctr_name){ "would_refuse", policy_rpt_result_name((enum policy_rpt_result)i) };
	}
}

const struct posture_ctr_name *posture_ctr_name(enum posture_ctr c)
{
	names_init();
	return (unsigned int)c < POSTURE_NCTR ? &names[c] : NULL;
}

int posture_ctr_lookup(const char *k)
{
	const char *dot = strchr(k, '.');

	names_init();
	for (int i = 0; i < POSTURE_NCTR; i++) {
		const struct posture_ctr_name *n = &names[i];

		size_t glen = dot ? (size_t)(dot - k) : 0;

		if (dot ? (strlen(n->group) == glen && !strncmp(n->group, k, glen) &&
			   !strcmp(n->key, dot + 1))
			: (!n->group[0] && !strcmp(n->key, k)))
			return i;
	}
	return -1;
}

/* One word in the file: no white space, no '=' or control bytes; empty -> (unknown). */
static void word(const char *in, char *out, size_t len, bool lower)
{
	size_t n = 0;

	for (; *in && n + 1 < len; in++) {
		unsigned char ch = (unsigned char)*in;

		if (isspace(ch) || ch == '=' || ch < 0x20 || ch >= 0x7f)
			ch = '_';
		out[n++] = lower ? (char)tolower(ch) : (char)ch;
	}
	out[n] = '\0';
	if (!n)
		snprintf(out, len, "%s", POSTURE_UNKNOWN);
}

void posture_key(const char *in, char *out, size_t len)
{
	word(in, out, len, true);
}

int posture_day_new(int64_t day, uint32_t max_domains, struct posture_day **out)
{
	struct posture_day *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->day = day;
	d->max_domains = max_domains ? max_domains : POSTURE_MAX_DOMAINS_DEFAULT;
	d->nhash = 1024;
	d->hash = calloc(d->nhash, sizeof(*d->hash));
	if (!d->hash) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void posture_day_free(struct posture_day *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->ndom; i++) {
		struct posture_domain *dom = d->dom[i];

		for (uint32_t j = 0; j < dom->nrow; j++)
			free(dom->row[j].host);
		free(dom->row);
		free(dom->name);
		free(dom);
	}
	for (unsigned int i = 0; i < d->nnames; i++)
		free(d->names[i]);
	free(d->dom);
	free(d->hash);
	free(d);
}

static uint64_t hash_of(uint8_t dir, const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull ^ dir;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

struct posture_domain *posture_day_find(const struct posture_day *d, uint8_t dir,
					const char *domain)
{
	struct posture_domain *e = d->hash[hash_of(dir, domain) & (d->nhash - 1)];

	for (; e; e = e->hnext)
		if (e->dir == dir && !strcmp(e->name, domain))
			return e;
	return NULL;
}

static int grow_hash(struct posture_day *d)
{
	size_t n = d->nhash * 2;
	struct posture_domain **h = calloc(n, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < d->ndom; i++) {
		struct posture_domain *e = d->dom[i];
		size_t b = hash_of(e->dir, e->name) & (n - 1);

		e->hnext = h[b];
		h[b] = e;
	}
	free(d->hash);
	d->hash = h;
	d->nhash = n;
	return 0;
}

/* The domain's entry, made if need be; past max_domains the direction's (other). */
static struct posture_domain *domain_get(struct posture_day *d, uint8_t dir, const char *name,
					 bool *folded)
{
	struct posture_domain *e = posture_day_find(d, dir, name);
	bool other = !strcmp(name, POSTURE_OTHER);
	size_t b;

	*folded = false;
	if (e)
		return e;
	if (!other && d->ndomain[dir & 1] >= d->max_domains) {
		*folded = true;
		e = posture_day_find(d, dir, POSTURE_OTHER);
		if (e)
			return e;
		name = POSTURE_OTHER;
		other = true;
	}
	if (d->ndom == d->capdom) {
		size_t cap = d->capdom ? d->capdom * 2 : 64;
		struct posture_domain **n = realloc(d->dom, cap * sizeof(*n));

		if (!n)
			return NULL;
		d->dom = n;
		d->capdom = cap;
	}
	if (d->ndom >= d->nhash * 2 && grow_hash(d))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->name = strdup(name);
	if (!e->name) {
		free(e);
		return NULL;
	}
	e->dir = dir;
	b = hash_of(dir, name) & (d->nhash - 1);
	e->hnext = d->hash[b];
	d->hash[b] = e;
	d->dom[d->ndom++] = e;
	if (!other)
		d->ndomain[dir & 1]++;
	return e;
}

/* The domain's row for host, made if need be; past POSTURE_HOSTS the (other) host. */
static struct posture_row *row_get(struct posture_domain *e, const char *host)
{
	struct posture_row *r;
	uint32_t named = 0;

	for (uint32_t i = 0; i < e->nrow; i++) {
		if (!strcmp(e->row[i].host, host))
			return &e->row[i];
		named += strcmp(e->row[i].host, POSTURE_OTHER) != 0;
	}
	if (named >= POSTURE_HOSTS && strcmp(host, POSTURE_OTHER)) {
		for (uint32_t i = 0; i < e->nrow; i++)
			if (!strcmp(e->row[i].host, POSTURE_OTHER))
				return &e->row[i];
		host = POSTURE_OTHER;
	}
	r = realloc(e->row, (e->nrow + 1) * sizeof(*r));
	if (!r)
		return NULL;
	e->row = r;
	r = &e->row[e->nrow];
	memset(r, 0, sizeof(*r));
	r->host = strdup(host);
	if (!r->host)
		return NULL;
	e->nrow++;
	return r;
}

int posture_day_name(struct posture_day *d, const char *name)
{
	for (unsigned int i = 0; i < d->nnames; i++)
		if (!strcmp(d->names[i], name))
			return (int)i;
	if (d->nnames == POSTURE_NAMES)
		return -ENOSPC;
	d->names[d->nnames] = strdup(name);
	if (!d->names[d->nnames])
		return -ENOMEM;
	return (int)d->nnames++;
}

static void add32(uint32_t *c, uint64_t n)
{
	/* saturates: a day's counter of one row does not reach 2^32 in practice */
	*c = *c + n > UINT32_MAX ? UINT32_MAX : (uint32_t)(*c + n);
}

void posture_row_add_named(struct posture_row *r, bool ver, int name, uint32_t n)
{
	struct posture_named *v = ver ? r->ver : r->cip;
	uint8_t *nv = ver ? &r->nver : &r->ncip;

	if (name >= 0) {
		for (uint8_t i = 0; i < *nv; i++) {
			if (v[i].name == name) {
				add32(&v[i].n, n);
				return;
			}
		}
		if (*nv < POSTURE_TOP) {
			v[*nv].name = (uint16_t)name;
			v[*nv].n = n;
			(*nv)++;
			return;
		}
	}
	add32(ver ? &r->ver_other : &r->cip_other, n);
}

static void add_outcome(struct posture_day *d, struct posture_row *r,
			const struct report_outcome *o)
{
	bool delivered = o->result == REPORT_DELIVERED || o->result == REPORT_WOULD_REFUSE;
	int rpt = o->rpt_result >= 0 && o->rpt_result < POLICY_RPT_NRESULT ? o->rpt_result : -1;
	char key[sizeof(o->cipher)];

	if (o->new_session) {
		add32(&r->c[POSTURE_SESSIONS], 1);
		add32(&r->c[POSTURE_STARTTLS], o->starttls_offered);
		add32(&r->c[POSTURE_CERT + (o->cert < REPORT_CERT_N ? o->cert : REPORT_CERT_NONE)], 1);
		if (o->tls) {
			add32(&r->c[POSTURE_TLS], 1);
			word(o->tls_version, key, sizeof(key), false);
			posture_row_add_named(r, true, posture_day_name(d, key), 1);
			word(o->cipher, key, sizeof(key), false);
			posture_row_add_named(r, false, posture_day_name(d, key), 1);
		}
		add32(&r->c[POSTURE_KTLS_TX_KERNEL], o->ktls_tx == REPORT_KTLS_KERNEL);
		add32(&r->c[POSTURE_KTLS_TX_NIC], o->ktls_tx == REPORT_KTLS_NIC);
		add32(&r->c[POSTURE_KTLS_RX_KERNEL], o->ktls_rx == REPORT_KTLS_KERNEL);
		add32(&r->c[POSTURE_KTLS_RX_NIC], o->ktls_rx == REPORT_KTLS_NIC);
	}
	if (o->result != REPORT_POLICY_REFUSED) {
		add32(&r->c[POSTURE_MESSAGES], o->messages);
		add32(&r->c[POSTURE_RECIPIENTS], o->recipients);
		add32(&r->c[POSTURE_TLS_MESSAGES], o->tls ? o->messages : 0);
		add32(&r->c[delivered ? POSTURE_DELIVERED : POSTURE_PEER_REFUSED], o->messages);
	}
	switch (o->result) {
	case REPORT_POLICY_REFUSED:
		add32(&r->c[POSTURE_REFUSED], 1);
		add32(&r->c[POSTURE_REFUSED_RECIPIENTS], o->recipients);
		add32(&r->c[rpt >= 0 ? POSTURE_REFUSED_BY + rpt : POSTURE_REFUSED_OTHER], 1);
		break;
	case REPORT_WOULD_REFUSE:
		add32(&r->c[POSTURE_WOULD], 1);
		add32(&r->c[rpt >= 0 ? POSTURE_WOULD_BY + rpt : POSTURE_WOULD_OTHER], 1);
		break;
	default:
		break;
	}
	/* the destination's own policy, per outcome: passed, or refused by the gateway (an
	 * MTA-STS testing failure is a would_refuse, neither) */
	if (o->policy == REPORT_POLICY_DANE || o->policy == REPORT_POLICY_STS) {
		bool dane = o->policy == REPORT_POLICY_DANE;

		if (o->result == REPORT_POLICY_REFUSED)
			add32(&r->c[dane ? POSTURE_DANE_FAILED : POSTURE_STS_FAILED], 1);
		else if (o->result != REPORT_WOULD_REFUSE)
			add32(&r->c[dane ? POSTURE_DANE_OK : POSTURE_STS_OK], 1);
	}
}

int posture_day_add(struct posture_day *d, const struct report_outcome *o)
{
	char dom[REPORT_NAME_MAX], host[REPORT_NAME_MAX];
	struct posture_domain *e;
	struct posture_row *r;
	uint8_t dir = o->dir == REPORT_INBOUND ? REPORT_INBOUND : REPORT_OUTBOUND;
	bool folded;

	posture_key(o->domain, dom, sizeof(dom));
	/* outbound: the MX by name when known; inbound: the client's address (a HELO name is
	 * whatever the client says) */
	posture_key(dir == REPORT_OUTBOUND && o->mx[0] ? o->mx : o->peer_ip, host, sizeof(host));
	e = domain_get(d, dir, dom, &folded);
	if (!e)
		return -ENOMEM;
	r = row_get(e, folded ? POSTURE_OTHER : host);
	if (!r)
		return -ENOMEM;
	d->overflow += folded;
	add_outcome(d, r, o);
	d->dirty = true;
	return 0;
}

int posture_day_merge_row(struct posture_day *d, uint8_t dir, const char *domain,
			  const struct posture_row *src, char *const *src_names)
{
	struct posture_domain *e;
	struct posture_row *r;
	bool folded;

	e = domain_get(d, dir, domain, &folded);
	if (!e)
		return -ENOMEM;
	r = row_get(e, folded ? POSTURE_OTHER : src->host);
	if (!r)
		return -ENOMEM;
	/* a window merging days: a row folded counts as one (its outcomes are not known) */
	d->overflow += folded;
	for (int i = 0; i < POSTURE_NCTR; i++)
		add32(&r->c[i], src->c[i]);
	for (uint8_t i = 0; i < src->nver; i++)
		posture_row_add_named(r, true, posture_day_name(d, src_names[src->ver[i].name]),
				      src->ver[i].n);
	for (uint8_t i = 0; i < src->ncip; i++)
		posture_row_add_named(r, false, posture_day_name(d, src_names[src->cip[i].name]),
				      src->cip[i].n);
	add32(&r->ver_other, src->ver_other);
	add32(&r->cip_other, src->cip_other);
	d->dirty = true;
	return 0;
}

int posture_day_merge(struct posture_day *d, const struct posture_day *src)
{
	for (size_t i = 0; i < src->ndom; i++) {
		const struct posture_domain *e = src->dom[i];

		for (uint32_t j = 0; j < e->nrow; j++) {
			int rc = posture_day_merge_row(d, e->dir, e->name, &e->row[j], src->names);

			if (rc)
				return rc;
		}
	}
	d->overflow += src->overflow;
	return 0;
}

void posture_domain_sum(const struct posture_domain *dom, uint32_t c[POSTURE_NCTR])
{
	memset(c, 0, sizeof(uint32_t) * POSTURE_NCTR);
	for (uint32_t j = 0; j < dom->nrow; j++)
		for (int i = 0; i < POSTURE_NCTR; i++)
			add32(&c[i], dom->row[j].c[i]);
}

void posture_day_sum(const struct posture_day *d, uint8_t dir, uint32_t c[POSTURE_NCTR])
{
	uint32_t one[POSTURE_NCTR];

	memset(c, 0, sizeof(uint32_t) * POSTURE_NCTR);
	for (size_t k = 0; k < d->ndom; k++) {
		if (d->dom[k]->dir != dir)
			continue;
		posture_domain_sum(d->dom[k], one);
		for (int i = 0; i < POSTURE_NCTR; i++)
			add32(&c[i], one[i]);
	}
}
