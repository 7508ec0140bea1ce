// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/destaddr.c: which MX addresses the destinations' own policies make TLS-required in the
 * kernel.  The rule under test: an address is required only while every domain seen on it
 * requires TLS toward the host there; records replace their domain's older record and expire;
 * the bound drops the records that expire first; the admin's table prefixes (outbound) cover
 * an address and then decide alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/common.h"
#include "bpf/policy_entry.h"
#include "policy/destaddr.h"
#include "policy/policy.h"

/* A host spec: "name state addr[,addr...]" with state N(one) U(sable) A(ll unusable) F(ailed). */
static struct policy_destaddr_rec *rec(const char *domain, uint64_t expires, const char *hosts[],
				       size_t nhost)
{
	struct policy_dane_domain *d = calloc(1, sizeof(*d));
	struct policy_destaddr_rec *r = NULL;

	assert_non_null(d);
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	d->nhost = nhost;
	for (size_t i = 0; i < nhost; i++) {
		struct policy_dane_host *h = &d->host[i];
		char buf[512], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", hosts[i]);
		snprintf(h->name, sizeof(h->name), "%s", strtok_r(buf, " ", &save));
		tok = strtok_r(NULL, " ", &save);
		h->state = tok[0] == 'U' ? POLICY_DANE_USABLE
			 : tok[0] == 'A' ? POLICY_DANE_UNUSABLE_ALL
			 : tok[0] == 'F' ? POLICY_DANE_FAILED
					 : POLICY_DANE_NONE;
		while ((tok = strtok_r(NULL, " ,", &save))) {
			if (strchr(tok, ':'))
				assert_int_equal(inet_pton(AF_INET6, tok, h->addr6[h->n6++]), 1);
			else
				assert_int_equal(inet_pton(AF_INET, tok, h->addr4[h->n4++]), 1);
		}
	}
	assert_int_equal(policy_destaddr_rec_new(d, expires, &r), 0);
	free(d);
	return r;
}

static void put(struct policy_destaddr *a, const char *domain, uint64_t expires,
		const char *hosts[], size_t nhost)
{
	assert_int_equal(policy_destaddr_put(a, rec(domain, expires, hosts, nhost)), 0);
}

/* The requirement as the daemon decides it, without a table or MTA-STS: DANE alone; a domain
 * named "table-*" stands for one whose table rule says may. */
static bool dane_only(void *arg, const char *domain, const struct policy_destaddr_host *h)
{
	(*(int *)arg)++;
	if (!strncmp(domain, "table-", 6))
		return false;
	return policy_destaddr_host_requires(h->dane, NULL, h->name);
}

/* The required addresses as "a b c" (text), and how many were seen. */
static char *required(struct policy_destaddr *a, size_t *seen)
{
	static char out[1024];
	struct policy_destaddr_addr *v;
	size_t n;
	int calls = 0;

	assert_int_equal(policy_destaddr_required(a, dane_only, &calls, &v, &n, seen), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char s[64];

		inet_ntop(v[i].family, v[i].addr, s, sizeof(s));
		if (i)
			strcat(out, " ");
		strcat(out, s);
	}
	free(v);
	return out;
}

static struct policy_sts_policy sts(const char *text)
{
	struct policy_sts_policy p;
	char why[160];

	assert_int_equal(policy_sts_policy_parse(text, strlen(text), &p, why, sizeof(why)), 0);
	return p;
}

static void test_host_requires(void **state)
{
	struct policy_sts_policy enf = sts("version: STSv1\nmode: enforce\nmx: *.mx.example\n"
					   "max_age: 86400\n");
	struct policy_sts_policy tst = sts("version: STSv1\nmode: testing\nmx: *.mx.example\n"
					   "max_age: 86400\n");
	struct policy_sts_policy none = sts("version: STSv1\nmode: none\nmax_age: 86400\n");

	(void)state;
	assert_true(policy_destaddr_host_requires(POLICY_DANE_USABLE, NULL, "a.example"));
	assert_true(policy_destaddr_host_requires(POLICY_DANE_UNUSABLE_ALL, NULL, "a.example"));
	assert_false(policy_destaddr_host_requires(POLICY_DANE_NONE, NULL, "a.example"));
	assert_false(policy_destaddr_host_requires(POLICY_DANE_FAILED, NULL, "a.example"));
	assert_true(policy_destaddr_host_requires(POLICY_DANE_NONE, &enf, "a.mx.example"));
	assert_true(policy_destaddr_host_requires(POLICY_DANE_FAILED, &enf, "A.MX.example."));
	/* the pattern takes exactly one more label */
	assert_false(policy_destaddr_host_requires(POLICY_DANE_NONE, &enf, "a.b.mx.example"));
	assert_false(policy_destaddr_host_requires(POLICY_DANE_NONE, &enf, "other.example"));
	assert_false(policy_destaddr_host_requires(POLICY_DANE_NONE, &tst, "a.mx.example"));
	assert_false(policy_destaddr_host_requires(POLICY_DANE_NONE, &none, "a.mx.example"));
	/* DANE decides first: a usable host requires TLS whatever MTA-STS says */
	assert_true(policy_destaddr_host_requires(POLICY_DANE_USABLE, &tst, "other.example"));
	policy_sts_policy_clear(&enf);
	policy_sts_policy_clear(&tst);
	policy_sts_policy_clear(&none);
}

static void test_every_domain(void **state)
{
	struct policy_destaddr *a;
	size_t seen;

	(void)state;
	assert_int_equal(policy_destaddr_new(0, &a), 0);
	assert_string_equal(required(a, &seen), "");
	assert_int_equal(seen, 0);

	/* a DANE domain: its MX address is required */
	put(a, "dane.example", 1000, (const char *[]){ "mx.dane.example U 203.0.113.25" }, 1);
	assert_string_equal(required(a, &seen), "203.0.113.25");
	assert_int_equal(seen, 1);

	/* a second DANE domain on the same address, one with IPv6 too: still required */
	put(a, "dane2.example", 1000,
	    (const char *[]){ "mx.dane2.example A 203.0.113.25,2001:db8::25" }, 1);
	assert_string_equal(required(a, &seen), "203.0.113.25 2001:db8::25");

	/* a domain without DANE on the shared address: it is no longer required there */
	put(a, "plain.example", 2000, (const char *[]){ "mx.plain.example N 203.0.113.25" }, 1);
	assert_string_equal(required(a, &seen), "2001:db8::25");
	assert_int_equal(seen, 2);
	assert_int_equal(policy_destaddr_domains(a), 3);
	assert_int_equal(policy_destaddr_pairs(a), 4);

	/* plain.example's new lookup no longer has that address: required again */
	put(a, "plain.example", 3000, (const char *[]){ "mx.plain.example N 203.0.113.99" }, 1);
	assert_string_equal(required(a, &seen), "203.0.113.25 2001:db8::25");

	/* a record without addresses (a failed lookup) removes the domain */
	put(a, "plain.example", 3000, NULL, 0);
	assert_int_equal(policy_destaddr_domains(a), 2);

	/* a FAILED host does not require TLS, nor a domain the caller says its table relaxes */
	put(a, "failed.example", 3000, (const char *[]){ "mx.f.example F 198.51.100.1" }, 1);
	put(a, "table-may.example", 3000, (const char *[]){ "mx.t.example U 198.51.100.2" }, 1);
	assert_string_equal(required(a, &seen), "203.0.113.25 2001:db8::25");
	assert_int_equal(seen, 4);

	/* two hosts of one domain on one address: both must require it */
	put(a, "mixed.example", 3000,
	    (const char *[]){ "a.mixed.example U 198.51.100.3", "b.mixed.example N 198.51.100.3",
			      "c.mixed.example U 198.51.100.4" },
	    3);
	assert_string_equal(required(a, &seen), "198.51.100.4 203.0.113.25 2001:db8::25");

	/* expiry: the records of 1000 go, with them 203.0.113.25 and the IPv6 address */
	assert_int_equal(policy_destaddr_next_expiry(a), 1000);
	assert_int_equal(policy_destaddr_expire(a, 999), 0);
	assert_int_equal(policy_destaddr_expire(a, 1000), 2);
	assert_string_equal(required(a, &seen), "198.51.100.4");
	assert_int_equal(policy_destaddr_next_expiry(a), 3000);
	assert_int_equal(policy_destaddr_expire(a, 5000), 3);
	assert_int_equal(policy_destaddr_next_expiry(a), UINT64_MAX);
	assert_int_equal(policy_destaddr_pairs(a), 0);
	assert_string_equal(required(a, &seen), "");
	policy_destaddr_free(a);
}

/* The requirement is asked once per host per aggregation, with the domain's name. */
static void test_fn_calls(void **state)
{
	struct policy_destaddr *a;
	struct policy_destaddr_addr *v;
	size_t n;
	int calls = 0;

	(void)state;
	assert_int_equal(policy_destaddr_new(0, &a), 0);
	put(a, "x.example", 10,
	    (const char *[]){ "a.x.example U 192.0.2.1,192.0.2.2", "b.x.example U 192.0.2.3",
			      "noaddr.x.example U" },
	    3);
	assert_int_equal(policy_destaddr_required(a, dane_only, &calls, &v, &n, NULL), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(n, 3);
	free(v);
	policy_destaddr_free(a);
}

static void test_bound(void **state)
{
	struct policy_destaddr *a;
	size_t seen;

	(void)state;
	assert_int_equal(policy_destaddr_new(3, &a), 0);
	put(a, "b.example", 200, (const char *[]){ "mx.b U 192.0.2.2" }, 1);
	put(a, "a.example", 100, (const char *[]){ "mx.a U 192.0.2.1" }, 1);
	put(a, "c.example", 300, (const char *[]){ "mx.c U 192.0.2.3" }, 1);
	assert_int_equal(policy_destaddr_pairs(a), 3);
	/* one more pair: the record that expires first (a.example) goes */
	put(a, "d.example", 50, (const char *[]){ "mx.d U 192.0.2.4" }, 1);
	assert_int_equal(policy_destaddr_domains(a), 3);
	assert_string_equal(required(a, &seen), "192.0.2.2 192.0.2.3 192.0.2.4");
	/* a record over the bound by itself is refused, and the others stay */
	assert_int_equal(policy_destaddr_put(a, rec("e.example", 500,
						   (const char *[]){ "mx.e U 192.0.2.5,192.0.2.6,"
								     "192.0.2.7,192.0.2.8" },
						   1)),
			 -E2BIG);
	assert_int_equal(policy_destaddr_pairs(a), 3);
	/* two pairs: the two records that expire first go */
	put(a, "f.example", 400, (const char *[]){ "mx.f U 192.0.2.9,192.0.2.10" }, 1);
	assert_string_equal(required(a, &seen), "192.0.2.3 192.0.2.9 192.0.2.10");
	policy_destaddr_free(a);
}

static struct tg_bpf_policy_entry ent(uint8_t dir, const char *addr, uint8_t plen, uint32_t id,
				      uint8_t level, uint16_t port)
{
	struct tg_bpf_policy_entry e = { .dir = dir, .prefix_len = plen, .rule_id = id,
					 .level = level, .port = port };

	e.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(e.family, addr, e.addr), 1);
	return e;
}

static struct policy_destaddr_addr addr(const char *s)
{
	struct policy_destaddr_addr a = { .family = strchr(s, ':') ? AF_INET6 : AF_INET };

	assert_int_equal(inet_pton(a.family, s, a.addr), 1);
	return a;
}

static void test_entries(void **state)
{
	const struct tg_bpf_policy_entry tbl[] = {
		ent(TG_DIR_OUTBOUND, "192.0.2.0", 24, 100, TG_LEVEL_MAY, 0),
		ent(TG_DIR_OUTBOUND, "198.51.100.7", 32, 101, TG_LEVEL_NONE, 0),
		ent(TG_DIR_OUTBOUND, "198.51.100.7", 32, 102, TG_LEVEL_ENCRYPT, 587),
		ent(TG_DIR_OUTBOUND, "2001:db8:1::", 48, 103, TG_LEVEL_ENCRYPT, 0),
		/* inbound prefixes say nothing of destinations */
		ent(TG_DIR_INBOUND, "203.0.113.0", 24, 104, TG_LEVEL_ENCRYPT, 0),
	};
	const struct policy_destaddr_addr req[] = {
		addr("192.0.2.25"),	/* inside the table's /24: the table decides */
		addr("198.51.100.7"),	/* the table's own address (none): the table decides */
		addr("198.51.100.8"),
		addr("203.0.113.25"),
		addr("2001:db8:1::25"),
		addr("2001:db8:2::25"),
	};
	struct tg_bpf_policy_entry *v, wide = ent(TG_DIR_OUTBOUND, "0.0.0.0", 0, 105, 1, 0);
	size_t n, added;
	char s[64];

	(void)state;
	assert_int_equal(policy_destaddr_entries(tbl, 5, req, 6, POLICY_ID_DEST_POLICY, &v, &n,
						 &added),
			 0);
	assert_int_equal(added, 3);
	assert_int_equal(n, 8);
	assert_memory_equal(v, tbl, sizeof(tbl)); /* the table's entries first, unchanged */
	for (size_t i = 5; i < n; i++) {
		assert_int_equal(v[i].dir, TG_DIR_OUTBOUND);
		assert_int_equal(v[i].rule_id, POLICY_ID_DEST_POLICY);
		assert_int_equal(v[i].level, TG_LEVEL_ENCRYPT);
		assert_int_equal(v[i].port, 0);
		assert_int_equal(v[i].prefix_len, v[i].family == AF_INET ? 32 : 128);
	}
	assert_string_equal(inet_ntop(AF_INET, v[5].addr, s, sizeof(s)), "198.51.100.8");
	assert_string_equal(inet_ntop(AF_INET, v[6].addr, s, sizeof(s)), "203.0.113.25");
	assert_string_equal(inet_ntop(AF_INET6, v[7].addr, s, sizeof(s)), "2001:db8:2::25");
	free(v);

	/* a table default route covers every IPv4 address */
	assert_int_equal(policy_destaddr_entries(&wide, 1, req, 6, POLICY_ID_DEST_POLICY, &v, &n,
						 &added),
			 0);
	assert_int_equal(added, 2);
	assert_int_equal(v[1].family, AF_INET6);
	assert_int_equal(v[2].family, AF_INET6);
	free(v);

	/* no table at all */
	assert_int_equal(policy_destaddr_entries(NULL, 0, req, 6, POLICY_ID_DEST_POLICY, &v, &n,
						 &added),
			 0);
	assert_int_equal(added, 6);
	free(v);
}

static void test_reserved_names(void **state)
{
	(void)state;
	assert_string_equal(policy_id_reserved_name(POLICY_ID_DEST_POLICY),
			    "destination policy (DANE/MTA-STS)");
	assert_string_equal(policy_id_reserved_name(POLICY_ID_DEFAULT_OUT), "outbound default");
	assert_null(policy_id_reserved_name(POLICY_ID_FIRST));
	assert_true(POLICY_ID_DEST_POLICY < POLICY_ID_FIRST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_requires),
		cmocka_unit_test(test_every_domain),
		cmocka_unit_test(test_fn_calls),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_reserved_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
