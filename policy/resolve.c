// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which addresses the domain and [host] rules stand for, so that the kernel enforcer (and
 * policy_match_addr at connect time) knows them: MX -> A/AAAA for domains, A/AAAA for [host].
 * The cache is keyed by name and lives in the resolver, across snapshots: a reload re-resolves
 * nothing that is still fresh, and a failure keeps the last good set (fail-closed: an address
 * stays "TLS required" until DNS positively says otherwise).  policy.h has the contract.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "policy/policy_int.h"

#define MAX_MX 16		/* MX hosts used per domain, best preference first */
#define MAX_ADDRS 64		/* addresses kept per name */

struct res_addr {
	int family;
	u128 addr;
	char *mx;
};

struct cache_ent {
	char *name;
	bool is_host;
	bool referenced;
	struct res_addr *addrs;	/* the last good set */
	size_t naddrs;
	bool have_set;
	int last_err;
	char last_error[192];
	unsigned int failures;
	uint64_t expires;
};

struct policy_resolver {
	struct policy_resolver_opts o;
	char *nameserver;
	pthread_mutex_t refresh_lock;	/* one refresh at a time */
	pthread_mutex_t lock;		/* the cache */
	struct cache_ent **ents;	/* sorted by (name, is_host) */
	size_t n;
};

uint64_t policy_resolver_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

int policy_resolver_new(const struct policy_resolver_opts *o, struct policy_resolver **out)
{
	struct policy_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	if (o) {
		memcpy(&r->o, o, o->sz && o->sz < sizeof(r->o) ? o->sz : sizeof(r->o));
		r->o.sz = sizeof(r->o);
	}
	if (!r->o.min_ttl)
		r->o.min_ttl = 30;
	if (!r->o.max_ttl)
		r->o.max_ttl = 86400;
	if (r->o.max_ttl < r->o.min_ttl)
		r->o.max_ttl = r->o.min_ttl;
	if (!r->o.retry_s)
		r->o.retry_s = 60;
	if (r->o.nameserver) {
		int rc = policy_dns_nameserver_check(r->o.nameserver);

		if (rc) {
			free(r);
			return rc;
		}
		r->nameserver = strdup(r->o.nameserver);
		if (!r->nameserver) {
			free(r);
			return -ENOMEM;
		}
		r->o.nameserver = r->nameserver;
	}
	pthread_mutex_init(&r->refresh_lock, NULL);
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return 0;
}

static void addrs_free(struct res_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].mx);
	free(a);
}

static void ent_free(struct cache_ent *e)
{
	if (!e)
		return;
	addrs_free(e->addrs, e->naddrs);
	free(e->name);
	free(e);
}

void policy_resolver_free(struct policy_resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		ent_free(r->ents[i]);
	free(r->ents);
	free(r->nameserver);
	pthread_mutex_destroy(&r->refresh_lock);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int name_cmp(const char *name, bool is_host, const struct cache_ent *e)
{
	int c = strcmp(name, e->name);

	return c ? c : (int)is_host - (int)e->is_host;
}

/* Index of (name, is_host), or where it would be inserted (*found false). */
static size_t cache_pos(const struct policy_resolver *r, const char *name, bool is_host,
			bool *found)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, is_host, r->ents[mid]);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

static struct cache_ent *cache_find(const struct policy_resolver *r, const char *name,
				    bool is_host)
{
	bool found;
	size_t i = cache_pos(r, name, is_host, &found);

	return found ? r->ents[i] : NULL;
}

/* A [host] that is an address literal needs no DNS: its address, or false. */
static bool host_literal(const char *host, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (!strncmp(host, "ipv6:", 5) && inet_pton(AF_INET6, host + 5, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	if (inet_pton(AF_INET, host, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	return false;
}

/* The name a rule needs resolved; false for rules without one. */
static bool rule_name(const struct policy_rule *r, const char **name, bool *is_host)
{
	int family;
	uint8_t a[16];

	/* A domain whose entry defers (dane-only, a refused entry) is deferred per recipient at
	 * RCPT, as Postfix defers per next-hop; its MX addresses may serve other domains, whose
	 * mail Postfix would still deliver, so they do not get the level. */
	if (r->key_type == POLICY_KEY_DOMAIN && r->level == POLICY_DEFER)
		return false;
	if (r->key_type == POLICY_KEY_DOMAIN) {
		*name = r->key;
		*is_host = false;
		return true;
	}
	if (r->key_type == POLICY_KEY_HOST && !host_literal(r->host, &family, a)) {
		*name = r->host;
		*is_host = true;
		return true;
	}
	return false;
}

/* ---- one name ------------------------------------------------------------------------------ */

struct result {
	struct res_addr *addrs;
	size_t n;
	uint32_t ttl;		/* smallest TTL of the records used */
	char why[192];
	int status;		/* DNS_OK or the failure */
	/* MX collection */
	struct policy_dns_rr mx[MAX_MX];
	size_t nmx;
	bool null_mx;
	const char *cur_mx;
};

static void ttl_min(struct result *res, uint32_t ttl)
{
	if (ttl < res->ttl)
		res->ttl = ttl;
}

static int on_addr(const struct policy_dns_rr *rr, void *arg)
{
	struct result *res = arg;
	int family = rr->type == ns_t_a ? AF_INET : AF_INET6;
	u128 a = policy_lpm_addr(family, rr->addr);
	struct res_addr *na;

	ttl_min(res, rr->ttl);
	for (size_t i = 0; i < res->n; i++)
		if (res->addrs[i].family == family && res->addrs[i].addr == a)
			return 0;
	if (res->n >= MAX_ADDRS)
		return 0;
	na = realloc(res->addrs, (res->n + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	res->addrs = na;
	na[res->n].family = family;
	na[res->n].addr = a;
	na[res->n].mx = strdup(res->cur_mx);
	if (!na[res->n].mx)
		return -ENOMEM;
	res->n++;
	return 0;
}

static int on_mx(const struct policy_dns_rr *rr, void *arg)
{
	struct result *res = arg;

	ttl_min(res, rr->ttl);
	if (!rr->name[0]) {
		res->null_mx = true;	/* RFC 7505: "MX 0 ." -- the domain takes no mail */
		return 0;
	}
	if (res->nmx < MAX_MX) {
		res->mx[res->nmx++] = *rr;
		return 0;
	}
	/* Keep the best preferences. */
	for (size_t i = 0; i < res->nmx; i++) {
		if (rr->pref < res->mx[i].pref) {
			res->mx[i] = *rr;
			break;
		}
	}
	return 0;
}

static int mx_cmp(const void *a, const void *b)
{
	const struct policy_dns_rr *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A and AAAA of host.  Negative answers are facts (no address of that family); anything else
 * makes the whole name fail, so an incomplete set never replaces a complete one. */
static int resolve_host(struct policy_dns_ctx *c, const char *host, struct result *res)
{
	static const uint16_t types[] = { ns_t_a, ns_t_aaaa };
	int nx = 0;

	res->cur_mx = host;
	for (size_t i = 0; i < NELEM(types); i++) {
		int st = policy_dns_lookup(c, host, types[i], on_addr, res, res->why, sizeof(res->why));

		if (st < 0)
			return st;
		if (st == DNS_NXDOMAIN)
			nx++;
		if (st == DNS_TEMPFAIL || st == DNS_FAIL) {
			res->status = st;
			return 0;
		}
	}
	if (nx == (int)NELEM(types))
		res->status = DNS_NXDOMAIN;	/* res->why says so */
	return 0;
}

static int resolve_name(struct policy_dns_ctx *c, const char *name, bool is_host, uint32_t max_ttl,
			struct result *res)
{
	int st, rc;

	res->ttl = max_ttl;
	res->status = DNS_OK;
	if (is_host) {
		rc = resolve_host(c, name, res);
		goto done;
	}
	st = policy_dns_lookup(c, name, ns_t_mx, on_mx, res, res->why, sizeof(res->why));
	if (st < 0)
		return st;
	if (st == DNS_NODATA) {
		/* No MX: the domain itself is the mail host (RFC 5321 5.1). */
		rc = resolve_host(c, name, res);
		goto done;
	}
	if (st != DNS_OK) {
		res->status = st;
		return 0;
	}
	if (res->null_mx && !res->nmx)
		return 0;	/* authoritative: no mail host, so no address to enforce */
	qsort(res->mx, res->nmx, sizeof(res->mx[0]), mx_cmp);
	for (size_t i = 0; i < res->nmx; i++) {
		size_t before = res->n;

		rc = resolve_host(c, res->mx[i].name, res);
		if (rc)
			return rc;
		if (res->status == DNS_NXDOMAIN && res->n == before)
			res->status = DNS_OK;	/* a dangling MX adds nothing; the others count */
		if (res->status != DNS_OK)
			return 0;
	}
	rc = 0;
done:
	if (rc)
		return rc;
	if (res->status == DNS_OK && res->n == 0)
		snprintf(res->why, sizeof(res->why), "%s: no address found", name);
	if (res->status == DNS_OK && res->n == 0)
		res->status = DNS_NODATA;
	return 0;
}

/* ---- refresh ------------------------------------------------------------------------------- */

static void apply_result(struct policy_resolver *r, struct cache_ent *e, struct result *res,
			 uint64_t now)
{
	if (res->status == DNS_OK) {
		uint32_t ttl = res->ttl < r->o.min_ttl ? r->o.min_ttl
			     : res->ttl > r->o.max_ttl ? r->o.max_ttl : res->ttl;

		if (e->have_set && e->naddrs != res->n)
			log_info("policy resolve name=%s addrs=%zu was=%zu ttl=%u", e->name, res->n,
				 e->naddrs, ttl);
		addrs_free(e->addrs, e->naddrs);
		e->addrs = res->addrs;
		e->naddrs = res->n;
		res->addrs = NULL;
		res->n = 0;
		e->have_set = true;
		e->last_err = 0;
		e->last_error[0] = '\0';
		e->failures = 0;
		e->expires = now + ttl;
		return;
	}
	e->last_err = res->status == DNS_NXDOMAIN || res->status == DNS_NODATA ? -ENOENT
		      : res->status == DNS_TEMPFAIL ? -EAGAIN : -EIO;
	snprintf(e->last_error, sizeof(e->last_error), "%s", res->why);
	e->failures++;
	e->expires = now + r->o.retry_s;
	log_warn("policy resolve name=%s error=\"%s\" failures=%u kept=%zu retry_in=%us", e->name,
		 e->last_error, e->failures, e->naddrs, r->o.retry_s);
}

/* Bring the cache to exactly the names p needs; returns the due ones (copied names). */
static int sync_cache(struct policy_resolver *r, const struct policy *p, uint64_t now,
		      struct cache_ent ***due, size_t *ndue, size_t *nnames)
{
	const struct policy_table *t = &p->t[POLICY_OUTBOUND];
	struct cache_ent **d = NULL;
	size_t nd = 0, k = 0;
	int rc = 0;

	for (size_t i = 0; i < r->n; i++)
		r->ents[i]->referenced = false;
	*nnames = 0;
	for (size_t i = 0; i < t->n; i++) {
		const char *name;
		bool is_host, found;
		size_t pos;

		if (!rule_name(&t->rules[i], &name, &is_host))
			continue;
		pos = cache_pos(r, name, is_host, &found);
		if (!found) {
			struct cache_ent *e = calloc(1, sizeof(*e)), **ne;

			ne = realloc(r->ents, (r->n + 1) * sizeof(*ne));
			if (ne)
				r->ents = ne;
			if (!e || !ne || !(e->name = strdup(name))) {
				ent_free(e);
				rc = -ENOMEM;
				goto out;
			}
			e->is_host = is_host;
			memmove(&r->ents[pos + 1], &r->ents[pos], (r->n - pos) * sizeof(*ne));
			r->ents[pos] = e;
			r->n++;
		}
		if (!r->ents[pos]->referenced)
			(*nnames)++;
		r->ents[pos]->referenced = true;
	}
	for (size_t i = 0; i < r->n; i++) {	/* names no rule needs any more */
		if (r->ents[i]->referenced)
			r->ents[k++] = r->ents[i];
		else
			ent_free(r->ents[i]);
	}
	r->n = k;
	d = calloc(r->n + 1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->ents[i]->expires <= now)
			d[nd++] = r->ents[i];
out:
	*due = d;
	*ndue = nd;
	return rc;
}

static int append_map(struct addrmap *m, size_t *pool_used, int family, u128 a, uint32_t rule,
		      const char *mx)
{
	size_t len = strlen(mx) + 1;

	m->e[m->n].family = family;
	m->e[m->n].addr = a;
	m->e[m->n].rule = rule;
	m->e[m->n].mx = (const char *)(uintptr_t)*pool_used;	/* an offset until the end */
	memcpy(m->pool + *pool_used, mx, len);
	*pool_used += len;
	m->n++;
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct policy_addrmap_ent *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static struct addrmap *build_map(const struct policy_resolver *r, const struct policy *p)
{
	const struct policy_table *t = &p->t[POLICY_OUTBOUND];
	size_t ne = 0, pool = 1, used = 0;
	struct addrmap *m = NULL;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < t->n; i++) {
			const struct policy_rule *rule = &t->rules[i];
			const struct cache_ent *e;
			const char *name;
			bool is_host;
			uint8_t a[16];
			int family;

			if (rule->key_type == POLICY_KEY_HOST &&
			    host_literal(rule->host, &family, a)) {
				/* No MX name: an address is no name for SNI or checks. */
				if (pass)
					append_map(m, &used, family, policy_lpm_addr(family, a),
						   (uint32_t)i, "");
				ne++;
				pool += 1;
				continue;
			}
			if (!rule_name(rule, &name, &is_host))
				continue;
			e = cache_find(r, name, is_host);
			for (size_t j = 0; e && j < e->naddrs; j++) {
				if (pass)
					append_map(m, &used, e->addrs[j].family, e->addrs[j].addr,
						   (uint32_t)i, e->addrs[j].mx);
				ne++;
				pool += strlen(e->addrs[j].mx) + 1;
			}
		}
		if (pass)
			break;
		m = calloc(1, sizeof(*m));
		if (!m)
			return NULL;
		m->e = calloc(ne + 1, sizeof(*m->e));
		m->pool = malloc(pool);
		if (!m->e || !m->pool) {
			free(m->e);
			free(m->pool);
			free(m);
			return NULL;
		}
		atomic_init(&m->refs, 1);
	}
	for (size_t i = 0; i < m->n; i++)
		m->e[i].mx = m->pool + (uintptr_t)m->e[i].mx;
	qsort(m->e, m->n, sizeof(*m->e), map_cmp);
	return m;
}

int policy_resolver_refresh(struct policy_resolver *r, struct policy *p, uint64_t now,
			    struct policy_resolve_stats *stats)
{
	struct policy_resolve_stats st = { 0 };
	struct cache_ent **due = NULL;
	struct policy_dns_ctx *ctx = NULL;
	struct addrmap *m;
	size_t ndue = 0;
	int rc;

	pthread_mutex_lock(&r->refresh_lock);
	pthread_mutex_lock(&r->lock);
	rc = sync_cache(r, p, now, &due, &ndue, &st.names);
	pthread_mutex_unlock(&r->lock);
	if (rc)
		goto out;
	if (ndue) {
		rc = policy_dns_ctx_new(&r->o, &ctx);
		if (rc) {
			log_err("policy resolve error=\"cannot set up the resolver: %s\"",
				strerror(-rc));
			goto out;
		}
	}
	/* Only this (serialised) refresh adds or removes entries, so they stay valid while we
	 * query without the lock; readers of the cache only see results applied under it. */
	for (size_t i = 0; i < ndue; i++) {
		struct result res;

		memset(&res, 0, sizeof(res));
		rc = resolve_name(ctx, due[i]->name, due[i]->is_host, r->o.max_ttl, &res);
		if (rc) {
			addrs_free(res.addrs, res.n);
			goto out;
		}
		st.queried++;
		if (res.status == DNS_OK)
			st.ok++;
		else
			st.failed++;
		pthread_mutex_lock(&r->lock);
		apply_result(r, due[i], &res, now);
		pthread_mutex_unlock(&r->lock);
		addrs_free(res.addrs, res.n);
	}
	pthread_mutex_lock(&r->lock);
	m = build_map(r, p);
	pthread_mutex_unlock(&r->lock);
	if (!m) {
		rc = -ENOMEM;
		goto out;
	}
	st.addrs = m->n;
	policy_addrmap_attach(p, m);
out:
	policy_dns_ctx_free(ctx);
	free(due);
	pthread_mutex_unlock(&r->refresh_lock);
	if (stats)
		*stats = st;
	return rc;
}

uint64_t policy_resolver_next_due(struct policy_resolver *r)
{
	uint64_t next = UINT64_MAX;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (r->ents[i]->expires < next)
			next = r->ents[i]->expires;
	pthread_mutex_unlock(&r->lock);
	return next;
}

int policy_resolver_foreach(struct policy_resolver *r,
			    int (*cb)(const struct policy_name_status *st, void *arg), void *arg)
{
	int rc = 0;

	/* cb runs under the cache lock: it must not call back into the resolver. */
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n && !rc; i++) {
		const struct cache_ent *e = r->ents[i];
		struct policy_name_status st = {
			.name = e->name,
			.is_host = e->is_host,
			.naddrs = e->naddrs,
			.have_set = e->have_set,
			.last_err = e->last_err,
			.last_error = e->last_error,
			.failures = e->failures,
			.expires = e->expires,
		};

		rc = cb(&st, arg);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}
