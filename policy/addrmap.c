// SPDX-License-Identifier: GPL-2.0-only
/*
 * The address map attached to a snapshot: address -> (domain or [host] rule, MX name), made by
 * policy/resolve.c and replaced whole at each refresh.  Readers take a reference under a short
 * lock and then search it without one, so a refresh never blocks matching for longer than a
 * pointer swap.  Also here: the flat (prefix, rule id, level) list for the kernel's LPM map.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/common.h"
#include "bpf/policy_entry.h"
#include "policy/policy_int.h"

/* The kernel's levels are the policy's numbers (the enforcer compares them). */
_Static_assert(TG_LEVEL_NONE == POLICY_NONE && TG_LEVEL_MAY == POLICY_MAY &&
		       TG_LEVEL_ENCRYPT == POLICY_ENCRYPT,
	       "bpf/common.h levels mirror enum policy_level");

struct addrmap *policy_addrmap_get_current(const struct policy *p)
{
	struct addrmap *m;

	if (!p->res)
		return NULL;
	pthread_mutex_lock(&p->res->lock);
	m = p->res->map;
	if (m)
		atomic_fetch_add(&m->refs, 1);
	pthread_mutex_unlock(&p->res->lock);
	return m;
}

void policy_addrmap_put(struct addrmap *m)
{
	if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	free(m->e);
	free(m->pool);
	free(m);
}

void policy_addrmap_attach(struct policy *p, struct addrmap *m)
{
	struct addrmap *old;

	pthread_mutex_lock(&p->res->lock);
	old = p->res->map;
	p->res->map = m;
	pthread_mutex_unlock(&p->res->lock);
	policy_addrmap_put(old);
}

static int key_cmp(int fa, u128 a, int fb, u128 b)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (a != b)
		return a < b ? -1 : 1;
	return 0;
}

size_t policy_addrmap_find(const struct addrmap *m, int family, u128 a, size_t *count)
{
	size_t lo = 0, hi = m->n, first;

	while (lo < hi) {	/* lower bound */
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(m->e[mid].family, m->e[mid].addr, family, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < m->n && !key_cmp(m->e[lo].family, m->e[lo].addr, family, a))
		lo++;
	*count = lo - first;
	return first;
}

int policy_mx_for_addr(const struct policy *p, const struct sockaddr *sa, char *buf, size_t len)
{
	const struct policy_rule *best = NULL;
	struct addrmap *m;
	uint8_t addr[16];
	int family, rc = -ENOENT;

	if (!policy_sockaddr(sa, &family, addr, NULL))
		return -EINVAL;
	m = policy_addrmap_get_current(p);
	if (!m)
		return -ENOENT;
	size_t count, first = policy_addrmap_find(m, family, policy_lpm_addr(family, addr), &count);

	for (size_t i = first; i < first + count; i++) {
		const struct policy_rule *r = &p->t[POLICY_OUTBOUND].rules[m->e[i].rule];

		if (!best || policy_rule_beats(r, best)) {
			best = r;
			snprintf(buf, len, "%s", m->e[i].mx);
			rc = 0;
		}
	}
	policy_addrmap_put(m);
	return rc;
}

static void fill(struct tg_bpf_policy_entry *e, int family, u128 a, uint8_t plen,
		 const struct policy_rule *r)
{
	size_t n = family == AF_INET ? 4 : 16;

	memset(e, 0, sizeof(*e));
	e->dir = (uint8_t)(r->dir == POLICY_INBOUND ? TG_DIR_INBOUND : TG_DIR_OUTBOUND);
	e->family = family;
	for (size_t i = 0; i < n; i++)
		e->addr[i] = (uint8_t)(a >> (8 * (n - 1 - i)));
	e->prefix_len = plen;
	e->rule_id = r->id;
	e->level = (uint8_t)r->level;
	e->flags = r->monitor ? TG_POL_F_MONITOR : 0;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct tg_bpf_policy_entry *x = a, *y = b;
	int c = x->family != y->family ? (x->family == AF_INET ? -1 : 1) : 0;

	if (!c)
		c = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (!c)
		c = (int)x->prefix_len - (int)y->prefix_len;
	if (!c)
		c = (int)x->port - (int)y->port; /* the any-port entry first, then its ports */
	return c;
}

int policy_lpm_entries(const struct policy *p, enum policy_dir dir, struct tg_bpf_policy_entry **out,
		       size_t *n)
{
	const struct policy_table *t = &p->t[dir];
	struct addrmap *m = dir == POLICY_OUTBOUND ? policy_addrmap_get_current(p) : NULL;
	/* an address entry each, and per resolved address one any-port entry and at most one
	 * [host]:port entry per name that resolved to it */
	size_t cap = t->n + (m ? 2 * m->n : 0) + 1, k = 0;
	struct tg_bpf_policy_entry *v = calloc(cap, sizeof(*v));
	size_t *slot = calloc(t->n + 1, sizeof(*slot));	/* rule index -> its entry in v */

	if (!v || !slot) {
		free(v);
		free(slot);
		policy_addrmap_put(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct policy_rule *r = &t->rules[i];

		if (r->key_type != POLICY_KEY_ADDR)
			continue;
		slot[i] = k;
		fill(&v[k++], r->family, policy_lpm_addr(r->family, r->addr), r->prefix_len, r);
	}
	/* One host entry per resolved address, carrying the rule that wins there by the
	 * documented precedence -- including the address rules around it, so that the kernel's
	 * longest-prefix answer equals policy_match_addr().  A [host]:port rule applies on its
	 * port only: the any-port entry leaves it out, and each such port gets its own entry
	 * (the winner there, port rules included), which the loader puts beside the any-port
	 * level in the same trie value. */
	for (size_t i = 0; m && i < m->n;) {
		const struct policy_addrmap_ent *e = &m->e[i];
		size_t count, first = policy_addrmap_find(m, e->family, e->addr, &count);
		const struct policy_rule *best = NULL;
		uint8_t bytes[16] = { 0 }, plen = e->family == AF_INET ? 32 : 128;
		int32_t ai;

		for (size_t j = first; j < first + count; j++) {
			const struct policy_rule *r = &t->rules[m->e[j].rule];

			if (!r->port && (!best || policy_rule_beats(r, best)))
				best = r;
		}
		for (size_t b = 0; b < (plen / 8u); b++)
			bytes[b] = (uint8_t)(e->addr >> (plen - 8 * (b + 1)));
		ai = policy_lpm_lookup(&t->lpm, e->family, bytes);
		if (ai >= 0 && (!best || policy_rule_beats(&t->rules[ai], best)))
			best = &t->rules[ai];
		if (!best)
			best = &t->deflt; /* only port rules here: elsewhere the default applies */
		if (ai >= 0 && t->rules[ai].prefix_len == plen) {
			/* The address has its own rule: one entry, the winner's. */
			fill(&v[slot[ai]], e->family, e->addr, plen, best);
		} else {
			fill(&v[k++], e->family, e->addr, plen, best);
		}
		/* the ports of [host]:port rules among the names: the winner on each */
		for (size_t j = first; j < first + count; j++) {
			const struct policy_rule *r = &t->rules[m->e[j].rule];
			const struct policy_rule *pbest = best;
			bool seen = false;

			if (!r->port)
				continue;
			for (size_t q = first; q < j; q++)
				seen |= t->rules[m->e[q].rule].port == r->port;
			if (seen)
				continue;
			for (size_t q = j; q < first + count; q++) {
				const struct policy_rule *o = &t->rules[m->e[q].rule];

				if (o->port == r->port && policy_rule_beats(o, pbest))
					pbest = o;
			}
			fill(&v[k], e->family, e->addr, plen, pbest);
			v[k++].port = r->port;
		}
		i = first + count;
	}
	policy_addrmap_put(m);
	free(slot);
	qsort(v, k, sizeof(*v), ent_cmp);
	*out = v;
	*n = k;
	return 0;
}
