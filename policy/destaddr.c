// SPDX-License-Identifier: GPL-2.0-only
/*
 * Destination-policy addresses (contract in destaddr.h): records by domain in a sorted array
 * (a put is a binary search and a memmove: a few thousand domains), the aggregation as a sort
 * of (address, requires) pairs and an AND per address, and the merge with the table's kernel
 * entries as one binary search per prefix length the table uses.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bpf/common.h"
#include "bpf/policy_entry.h"
#include "policy/destaddr.h"
#include "policy/policy_int.h"

struct policy_destaddr {
	struct policy_destaddr_rec **v; /* sorted by domain */
	size_t n, cap;
	size_t pairs, max_pairs;
};

static size_t rec_pairs(const struct policy_destaddr_rec *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nhost; i++)
		n += r->host[i].n4 + r->host[i].n6;
	return n;
}

int policy_destaddr_rec_new(const struct policy_dane_domain *v, uint64_t expires_ms,
			    struct policy_destaddr_rec **out)
{
	size_t nhost = v->nhost < POLICY_DANE_MAX_HOSTS ? v->nhost : POLICY_DANE_MAX_HOSTS;
	struct policy_destaddr_rec *r =
		calloc(1, sizeof(*r) + nhost * sizeof(struct policy_destaddr_host));

	if (!r)
		return -ENOMEM;
	memcpy(r->domain, v->domain, sizeof(r->domain));
	r->domain[sizeof(r->domain) - 1] = '\0';
	r->expires_ms = expires_ms;
	r->nhost = nhost;
	for (size_t i = 0; i < nhost; i++) {
		const struct policy_dane_host *h = &v->host[i];
		struct policy_destaddr_host *d = &r->host[i];

		memcpy(d->name, h->name, sizeof(d->name));
		d->name[sizeof(d->name) - 1] = '\0';
		d->dane = h->state;
		d->n4 = h->n4 < POLICY_DANE_MAX_ADDRS ? h->n4 : POLICY_DANE_MAX_ADDRS;
		d->n6 = h->n6 < POLICY_DANE_MAX_ADDRS ? h->n6 : POLICY_DANE_MAX_ADDRS;
		memcpy(d->addr4, h->addr4, d->n4 * 4);
		memcpy(d->addr6, h->addr6, d->n6 * 16);
	}
	*out = r;
	return 0;
}

bool policy_destaddr_host_requires(enum policy_dane_state dane, const struct policy_sts_policy *sts,
				   const char *host)
{
	if (dane == POLICY_DANE_USABLE || dane == POLICY_DANE_UNUSABLE_ALL)
		return true;
	return sts && sts->mode == POLICY_STS_ENFORCE && host && host[0] &&
	       policy_sts_mx_match(sts, host);
}

int policy_destaddr_new(size_t max_pairs, struct policy_destaddr **out)
{
	struct policy_destaddr *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->max_pairs = max_pairs ? max_pairs : POLICY_DESTADDR_MAX_PAIRS;
	*out = a;
	return 0;
}

void policy_destaddr_free(struct policy_destaddr *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	free(a);
}

/* Index of domain, or where it would go (*found false). */
static size_t find(const struct policy_destaddr *a, const char *domain, bool *found)
{
	size_t lo = 0, hi = a->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(a->v[mid]->domain, domain);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void remove_at(struct policy_destaddr *a, size_t i)
{
	a->pairs -= rec_pairs(a->v[i]);
	free(a->v[i]);
	memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(*a->v));
	a->n--;
}

int policy_destaddr_put(struct policy_destaddr *a, struct policy_destaddr_rec *rec)
{
	size_t np = rec_pairs(rec), i;
	bool found;

	i = find(a, rec->domain, &found);
	if (found)
		remove_at(a, i);
	if (!np) {
		free(rec);
		return 0;
	}
	if (np > a->max_pairs) {
		free(rec);
		return -E2BIG;
	}
	/* Over the bound: the records that expire first go (they are the least fresh view). */
	while (a->pairs + np > a->max_pairs && a->n) {
		size_t oldest = 0;

		for (size_t j = 1; j < a->n; j++)
			if (a->v[j]->expires_ms < a->v[oldest]->expires_ms)
				oldest = j;
		remove_at(a, oldest);
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		struct policy_destaddr_rec **v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			free(rec);
			return -ENOMEM;
		}
		a->v = v;
		a->cap = cap;
	}
	i = find(a, rec->domain, &found);
	memmove(&a->v[i + 1], &a->v[i], (a->n - i) * sizeof(*a->v));
	a->v[i] = rec;
	a->n++;
	a->pairs += np;
	return 0;
}

size_t policy_destaddr_expire(struct policy_destaddr *a, uint64_t now_ms)
{
	size_t k = 0, dropped = 0;

	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i]->expires_ms <= now_ms) {
			a->pairs -= rec_pairs(a->v[i]);
			free(a->v[i]);
			dropped++;
		} else {
			a->v[k++] = a->v[i];
		}
	}
	a->n = k;
	return dropped;
}

uint64_t policy_destaddr_next_expiry(const struct policy_destaddr *a)
{
	uint64_t t = UINT64_MAX;

	for (size_t i = 0; i < a->n; i++)
		if (a->v[i]->expires_ms < t)
			t = a->v[i]->expires_ms;
	return t;
}

size_t policy_destaddr_domains(const struct policy_destaddr *a)
{
	return a->n;
}

size_t policy_destaddr_pairs(const struct policy_destaddr *a)
{
	return a->pairs;
}

/* ---- aggregation ------------------------------------------------------------------------- */

struct pair {
	struct policy_destaddr_addr a;
	bool requires;
};

static int addr_cmp(const struct policy_destaddr_addr *x, const struct policy_destaddr_addr *y)
{
	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	return memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16);
}

static int pair_cmp(const void *a, const void *b)
{
	return addr_cmp(&((const struct pair *)a)->a, &((const struct pair *)b)->a);
}

int policy_destaddr_required(const struct policy_destaddr *a, policy_destaddr_requires_fn fn,
			     void *arg, struct policy_destaddr_addr **out, size_t *n, size_t *seen)
{
	struct pair *p = NULL;
	struct policy_destaddr_addr *res = NULL;
	size_t np = 0, nres = 0, nseen = 0;

	*out = NULL;
	*n = 0;
	if (seen)
		*seen = 0;
	if (!a->pairs)
		return 0;
	p = calloc(a->pairs, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < a->n; i++) {
		const struct policy_destaddr_rec *r = a->v[i];

		for (size_t j = 0; j < r->nhost; j++) {
			const struct policy_destaddr_host *h = &r->host[j];
			bool req;

			if (!h->n4 && !h->n6)
				continue;
			req = fn(arg, r->domain, h);
			for (size_t k = 0; k < h->n4; k++) {
				p[np].a.family = AF_INET;
				memcpy(p[np].a.addr, h->addr4[k], 4);
				p[np++].requires = req;
			}
			for (size_t k = 0; k < h->n6; k++) {
				p[np].a.family = AF_INET6;
				memcpy(p[np].a.addr, h->addr6[k], 16);
				p[np++].requires = req;
			}
		}
	}
	qsort(p, np, sizeof(*p), pair_cmp);
	res = calloc(np ? np : 1, sizeof(*res));
	if (!res) {
		free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < np;) {
		size_t j = i;
		bool all = true;

		/* every domain (and every host of a domain) seen on the address must require it */
		for (; j < np && !addr_cmp(&p[i].a, &p[j].a); j++)
			all &= p[j].requires;
		nseen++;
		if (all)
			res[nres++] = p[i].a;
		i = j;
	}
	free(p);
	if (!nres) {
		free(res);
		res = NULL;
	}
	*out = res;
	*n = nres;
	if (seen)
		*seen = nseen;
	return 0;
}

/* ---- merge with the table ------------------------------------------------------------------ */

struct pfx {
	int family;
	uint8_t len;
	u128 net;
};

static int pfx_cmp(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->net < y->net ? -1 : x->net > y->net;
}

static u128 mask_of(int family, uint8_t len)
{
	unsigned int bits = family == AF_INET ? 32 : 128;

	if (!len)
		return 0;
	if (len >= bits)
		return bits == 128 ? ~(u128)0 : (((u128)1 << 32) - 1);
	return (bits == 128 ? ~(u128)0 : (((u128)1 << 32) - 1)) &
	       ~((((u128)1) << (bits - len)) - 1);
}

int policy_destaddr_entries(const struct tg_bpf_policy_entry *tbl, size_t n,
			    const struct policy_destaddr_addr *req, size_t nreq, uint32_t rule_id,
			    struct tg_bpf_policy_entry **out, size_t *nout, size_t *added)
{
	struct tg_bpf_policy_entry *v = calloc(n + nreq + 1, sizeof(*v));
	struct pfx *t = calloc(n + 1, sizeof(*t));
	bool used[2][129] = { { false } };
	size_t nt = 0, k = n;

	if (!v || !t) {
		free(v);
		free(t);
		return -ENOMEM;
	}
	if (n) /* tbl may be NULL for an empty table */
		memcpy(v, tbl, n * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		if (tbl[i].dir != TG_DIR_OUTBOUND ||
		    (tbl[i].family != AF_INET && tbl[i].family != AF_INET6))
			continue;
		t[nt].family = tbl[i].family;
		t[nt].len = tbl[i].prefix_len;
		t[nt].net = policy_lpm_addr(tbl[i].family, tbl[i].addr) &
			    mask_of(tbl[i].family, tbl[i].prefix_len);
		used[tbl[i].family == AF_INET6][t[nt].len <= 128 ? t[nt].len : 128] = true;
		nt++;
	}
	qsort(t, nt, sizeof(*t), pfx_cmp);
	for (size_t i = 0; i < nreq; i++) {
		const struct policy_destaddr_addr *r = &req[i];
		unsigned int bits = r->family == AF_INET ? 32 : 128;
		u128 a = policy_lpm_addr(r->family, r->addr);
		bool covered = false;

		for (unsigned int len = 0; len <= bits && !covered; len++) {
			struct pfx key = { .family = r->family, .len = (uint8_t)len };

			if (!used[r->family == AF_INET6][len])
				continue;
			key.net = a & mask_of(r->family, (uint8_t)len);
			covered = bsearch(&key, t, nt, sizeof(*t), pfx_cmp) != NULL;
		}
		if (covered)
			continue;
		v[k].dir = TG_DIR_OUTBOUND;
		v[k].family = r->family;
		memcpy(v[k].addr, r->addr, r->family == AF_INET ? 4 : 16);
		v[k].prefix_len = (uint8_t)bits;
		v[k].rule_id = rule_id;
		v[k].level = TG_LEVEL_ENCRYPT;
		v[k].port = 0;
		k++;
	}
	free(t);
	*out = v;
	*nout = k;
	if (added)
		*added = k - n;
	return 0;
}
