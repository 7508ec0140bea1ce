// SPDX-License-Identifier: GPL-2.0-only
/*
 * The questions the relay asks.  Lookups within one kind of key follow Postfix (a domain exactly,
 * then .parent entries upwards, the nearest winning) and routing (addresses by longest prefix);
 * when rules of different kinds apply to one connection, policy_rule_beats() (rule.c) decides:
 * strictest level first, then the most specific kind (policy.h has the full statement).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

#define NAME_MAX_LEN 256

static struct policy_match dflt(const struct policy *p, enum policy_dir dir)
{
	return (struct policy_match){ .rule = &p->t[dir].deflt, .how = "default" };
}

static const struct policy_rule *find_kind(const struct policy_table *t, const char *key,
					   enum policy_key_type kind)
{
	long i = policy_strtab_find(&t->keys, key, strlen(key));

	return i >= 0 && t->rules[i].key_type == kind ? &t->rules[i] : NULL;
}

static struct policy_match match_domain(const struct policy *p, enum policy_dir dir,
					const char *domain)
{
	const struct policy_table *t = &p->t[dir];
	const struct policy_rule *r;
	char name[NAME_MAX_LEN];

	if (!domain || !policy_name_fold(domain, name, sizeof(name)))
		return dflt(p, dir);
	r = find_kind(t, name, POLICY_KEY_DOMAIN);
	if (r)
		return (struct policy_match){ .rule = r, .how = "exact" };
	/* "a.b.example.org" tries ".b.example.org", ".example.org", ".org" (Postfix order). */
	for (const char *dot = strchr(name + 1, '.'); dot; dot = strchr(dot + 1, '.')) {
		r = find_kind(t, dot, POLICY_KEY_SUBDOMAINS);
		if (r)
			return (struct policy_match){ .rule = r, .how = "subdomain" };
	}
	return dflt(p, dir);
}

struct policy_match policy_match_domain(const struct policy *p, const char *domain)
{
	return match_domain(p, POLICY_OUTBOUND, domain);
}

struct policy_match policy_match_host(const struct policy *p, const char *host, uint16_t port)
{
	const struct policy_table *t = &p->t[POLICY_OUTBOUND];
	char name[NAME_MAX_LEN], key[NAME_MAX_LEN + 16];
	const struct policy_rule *r;
	uint8_t a[16];

	if (!host || !policy_name_fold(host, name, sizeof(name)))
		return dflt(p, POLICY_OUTBOUND);
	/* An address literal is keyed like the table writes it: [192.0.2.1], [ipv6:2001:db8::1]. */
	if (inet_pton(AF_INET6, name, a) == 1) {
		char canon[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, a, canon, sizeof(canon));
		snprintf(name, sizeof(name), "ipv6:%s", canon);
	}
	if (port) {
		snprintf(key, sizeof(key), "[%s]:%u", name, port);
		r = find_kind(t, key, POLICY_KEY_HOST);
		if (r)
			return (struct policy_match){ .rule = r, .how = "host-port" };
	}
	snprintf(key, sizeof(key), "[%s]", name);
	r = find_kind(t, key, POLICY_KEY_HOST);
	if (r)
		return (struct policy_match){ .rule = r, .how = "host" };
	return dflt(p, POLICY_OUTBOUND);
}

static struct policy_match match_lpm(const struct policy *p, enum policy_dir dir, int family,
				     const uint8_t addr[16])
{
	const struct policy_table *t = &p->t[dir];
	int32_t i = policy_lpm_lookup(&t->lpm, family, addr);
	const struct policy_rule *r;

	if (i < 0)
		return dflt(p, dir);
	r = &t->rules[i];
	return (struct policy_match){
		.rule = r,
		.how = r->prefix_len == (family == AF_INET ? 32 : 128) ? "address" : "cidr",
	};
}

/* Pick the better of two matches; a default never beats a real rule. */
static struct policy_match better(struct policy_match a, struct policy_match b)
{
	if (b.rule->key_type == POLICY_KEY_DEFAULT)
		return a;
	if (a.rule->key_type == POLICY_KEY_DEFAULT || policy_rule_beats(b.rule, a.rule))
		return b;
	return a;
}

struct policy_match policy_match_addr(const struct policy *p, const struct sockaddr *sa)
{
	struct policy_match m;
	struct addrmap *map;
	uint8_t addr[16];
	int family;

	uint16_t port = 0;

	if (!policy_sockaddr(sa, &family, addr, &port))
		return dflt(p, POLICY_OUTBOUND);
	m = match_lpm(p, POLICY_OUTBOUND, family, addr);
	map = policy_addrmap_get_current(p);
	if (map) {
		size_t count, first = policy_addrmap_find(map, family, policy_lpm_addr(family, addr), &count);

		for (size_t i = first; i < first + count; i++) {
			struct policy_match r = {
				.rule = &p->t[POLICY_OUTBOUND].rules[map->e[i].rule],
				.how = "resolved",
			};

			/* a [host]:port rule is about connections to that port only (port 0:
			 * not known, every rule counts, as the kernel does for such a frame) */
			if (r.rule->port && port && r.rule->port != port)
				continue;
			m = better(m, r);
		}
		policy_addrmap_put(map);
	}
	return m;
}

struct policy_match policy_outbound_for_dest(const struct policy *p, const struct sockaddr *sa,
					     const char *mx_host)
{
	struct policy_match m = policy_match_addr(p, sa);
	uint16_t port = 0;
	uint8_t addr[16];
	int family;

	if (mx_host) {
		policy_sockaddr(sa, &family, addr, &port);
		m = better(m, policy_match_host(p, mx_host, port));
	}
	return m;
}

struct policy_match policy_inbound(const struct policy *p, const struct sockaddr *client,
				   const char *sender_domain)
{
	struct policy_match m = dflt(p, POLICY_INBOUND);
	uint8_t addr[16];
	int family;

	if (policy_sockaddr(client, &family, addr, NULL))
		m = match_lpm(p, POLICY_INBOUND, family, addr);
	if (sender_domain)
		m = better(m, match_domain(p, POLICY_INBOUND, sender_domain));
	return m;
}
