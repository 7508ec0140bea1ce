// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/match.c and lpm.c: exact domain vs .parent, [host]:port vs [host], longest prefix for
 * IPv4 and IPv6 (also against a brute-force reference on random tables), the precedence between
 * kinds (strictest wins, ties to the most specific), inbound address vs sender domain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "policy/policy_int.h"	/* policy_rule_beats */
#include "tests/lib/tmpdir.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return tg_tmpdir_new(tmpdir, sizeof(tmpdir), "tg-policy-match") ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return tg_tmpdir_remove(tmpdir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct policy *load(const char *outbound, const char *inbound)
{
	char op[128], ip[128];
	struct policy_error err = { 0 };
	struct policy *p = NULL;

	snprintf(op, sizeof(op), "%s/out", tmpdir);
	snprintf(ip, sizeof(ip), "%s/in", tmpdir);
	write_file(op, outbound ? outbound : "");
	write_file(ip, inbound ? inbound : "");
	if (policy_load(op, ip, &p, &err))
		fail_msg("load: %s", err.msg);
	return p;
}

static struct sockaddr_storage sa(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return ss;
}

#define EXPECT(m, want_key, want_how)                                                        \
	do {                                                                                   \
		struct policy_match m_ = (m);                                                  \
		assert_non_null(m_.rule);                                                      \
		if (strcmp(m_.rule->key, want_key) || strcmp(m_.how, want_how))                \
			fail_msg("%s: got %s (%s), want %s (%s)", #m, m_.rule->key, m_.how,     \
				 want_key, want_how);                                          \
	} while (0)

static struct policy_match addr(const struct policy *p, const char *a)
{
	struct sockaddr_storage s = sa(a, 25);

	return policy_match_addr(p, (struct sockaddr *)&s);
}

static void test_domain(void **state)
{
	struct policy *p = load("example.org encrypt\n"
				".example.org verify\n"
				".a.example.org secure\n"
				".org may\n"
				"a.example.org none\n",
				NULL);

	(void)state;
	EXPECT(policy_match_domain(p, "example.org"), "example.org", "exact");
	EXPECT(policy_match_domain(p, "EXAMPLE.Org."), "example.org", "exact");
	EXPECT(policy_match_domain(p, "b.example.org"), ".example.org", "subdomain");
	EXPECT(policy_match_domain(p, "c.b.example.org"), ".example.org", "subdomain");
	/* The exact entry wins over the nearest parent... */
	EXPECT(policy_match_domain(p, "a.example.org"), "a.example.org", "exact");
	/* ...and the nearest parent over a farther one. */
	EXPECT(policy_match_domain(p, "x.a.example.org"), ".a.example.org", "subdomain");
	EXPECT(policy_match_domain(p, "other.org"), ".org", "subdomain");
	/* Label boundaries: "notexample.org" is not below example.org. */
	EXPECT(policy_match_domain(p, "notexample.org"), ".org", "subdomain");
	/* ".org" does not match "org" itself, as in Postfix. */
	EXPECT(policy_match_domain(p, "org"), "default", "default");
	EXPECT(policy_match_domain(p, "example.net"), "default", "default");
	EXPECT(policy_match_domain(p, NULL), "default", "default");
	EXPECT(policy_match_domain(p, ""), "default", "default");
	assert_int_equal(policy_match_domain(p, "example.net").rule->level, POLICY_MAY);
	assert_int_equal(policy_match_domain(p, "example.net").rule->id, POLICY_ID_DEFAULT_OUT);
	policy_put(p);
}

static void test_host(void **state)
{
	struct policy *p = load("[mx.example.org]:25 secure\n"
				"[mx.example.org] verify\n"
				"[mx2.example.org]:587 encrypt\n"
				"[192.0.2.27] encrypt\n"
				"[ipv6:2001:db8::27]:25 fingerprint match=" /* sha1 */
				"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\n"
				"mx3.example.org secure\n",
				NULL);

	(void)state;
	EXPECT(policy_match_host(p, "mx.example.org", 25), "[mx.example.org]:25", "host-port");
	EXPECT(policy_match_host(p, "MX.example.org.", 2525), "[mx.example.org]", "host");
	EXPECT(policy_match_host(p, "mx.example.org", 0), "[mx.example.org]", "host");
	EXPECT(policy_match_host(p, "mx2.example.org", 25), "default", "default");
	EXPECT(policy_match_host(p, "mx2.example.org", 587), "[mx2.example.org]:587", "host-port");
	EXPECT(policy_match_host(p, "192.0.2.27", 25), "[192.0.2.27]", "host");
	EXPECT(policy_match_host(p, "2001:db8:0::27", 25), "[ipv6:2001:db8::27]:25", "host-port");
	/* A domain rule is not a host rule: no MX name matches it. */
	EXPECT(policy_match_host(p, "mx3.example.org", 25), "default", "default");
	policy_put(p);
}

static void test_addr_longest_prefix(void **state)
{
	struct policy *p = load("0.0.0.0/0 may\n"
				"192.0.2.0/24 encrypt\n"
				"192.0.2.128/25 none\n"
				"192.0.2.129 secure\n"
				"2001:db8::/32 encrypt\n"
				"2001:db8:1::/48 verify\n"
				"2001:db8:1::1 secure\n",
				NULL);

	(void)state;
	EXPECT(addr(p, "192.0.2.1"), "192.0.2.0/24", "cidr");
	EXPECT(addr(p, "192.0.2.127"), "192.0.2.0/24", "cidr");
	EXPECT(addr(p, "192.0.2.128"), "192.0.2.128/25", "cidr");
	EXPECT(addr(p, "192.0.2.129"), "192.0.2.129", "address");
	EXPECT(addr(p, "192.0.2.130"), "192.0.2.128/25", "cidr");
	EXPECT(addr(p, "192.0.2.255"), "192.0.2.128/25", "cidr");
	EXPECT(addr(p, "192.0.3.0"), "0.0.0.0/0", "cidr");
	EXPECT(addr(p, "0.0.0.0"), "0.0.0.0/0", "cidr");
	EXPECT(addr(p, "255.255.255.255"), "0.0.0.0/0", "cidr");
	/* IPv4-mapped IPv6 (a dual-stack socket) is matched as IPv4. */
	EXPECT(addr(p, "::ffff:192.0.2.129"), "192.0.2.129", "address");
	EXPECT(addr(p, "2001:db8:1::1"), "2001:db8:1::1", "address");
	EXPECT(addr(p, "2001:db8:1::2"), "2001:db8:1::/48", "cidr");
	EXPECT(addr(p, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"), "2001:db8:1::/48", "cidr");
	EXPECT(addr(p, "2001:db8:2::1"), "2001:db8::/32", "cidr");
	/* No IPv6 default: the families are separate. */
	EXPECT(addr(p, "2001:db9::1"), "default", "default");
	EXPECT(addr(p, "::"), "default", "default");
	policy_put(p);
}

/* Random tables against a linear scan: the interval index must agree everywhere. */
static bool in_prefix(const uint8_t *a, const uint8_t *net, unsigned int plen)
{
	for (unsigned int b = 0; b < plen; b++)
		if (((a[b / 8] ^ net[b / 8]) >> (7 - b % 8)) & 1)
			return false;
	return true;
}

static void random_lpm(int family, unsigned int seed)
{
	unsigned int bits = family == AF_INET ? 32 : 128, nbytes = bits / 8;
	size_t cap = 64 * 1024, used = 0, nrules = 0;
	char *text = malloc(cap);
	struct policy_error err;
	struct policy *p = NULL;
	char path[128];

	assert_non_null(text);
	srand(seed);
	for (int i = 0; i < 600; i++) {
		uint8_t a[16] = { 0 };
		char buf[INET6_ADDRSTRLEN];
		/* Few distinct top bytes, so prefixes nest often. */
		unsigned int plen = (unsigned int)rand() % (bits + 1);

		for (unsigned int b = 0; b < nbytes; b++)
			a[b] = (uint8_t)(b < 2 ? rand() % 3 : rand());
		for (unsigned int b = plen; b < bits; b++)
			a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		inet_ntop(family, a, buf, sizeof(buf));
		if (family == AF_INET6 && !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
			continue;	/* v4-mapped keys are refused */
		used += (size_t)snprintf(text + used, cap - used, "%s/%u %s\n", buf, plen,
					 rand() % 2 ? "encrypt" : "may");
		nrules++;
	}
	/* Drop duplicate keys: keep the first of each (sort -u on the key would reorder). */
	{
		char *out = malloc(cap), *save = NULL;
		size_t o = 0;

		assert_non_null(out);
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char key[64];
			bool dup = false;

			sscanf(l, "%63s", key);
			for (char *q = out; q < out + o; q = strchr(q, '\n') + 1)
				if (!strncmp(q, key, strlen(key)) && q[strlen(key)] == ' ')
					dup = true;
			if (!dup)
				o += (size_t)snprintf(out + o, cap - o, "%s\n", l);
		}
		out[o] = '\0';
		free(text);
		text = out;
	}
	snprintf(path, sizeof(path), "%s/random", tmpdir);
	write_file(path, text);
	if (policy_load(path, NULL, &p, &err))
		fail_msg("%s", err.msg);
	nrules = policy_rule_count(p, POLICY_OUTBOUND);
	for (int i = 0; i < 20000; i++) {
		uint8_t a[16] = { 0 };
		char buf[INET6_ADDRSTRLEN];
		const struct policy_rule *want = NULL;
		struct policy_match m;

		for (unsigned int b = 0; b < nbytes; b++)
			a[b] = (uint8_t)(b < 2 ? rand() % 3 : rand());
		if (family == AF_INET6 && !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
			continue;
		for (size_t r = 0; r < nrules; r++) {
			const struct policy_rule *rule = policy_rule_at(p, POLICY_OUTBOUND, r);

			if (in_prefix(a, rule->addr, rule->prefix_len) &&
			    (!want || rule->prefix_len > want->prefix_len))
				want = rule;
		}
		inet_ntop(family, a, buf, sizeof(buf));
		m = addr(p, buf);
		if (want ? m.rule != want : m.rule->key_type != POLICY_KEY_DEFAULT)
			fail_msg("%s: got %s, want %s", buf, m.rule->key,
				 want ? want->key : "default");
	}
	policy_put(p);
	free(text);
}

static void test_addr_random_v4(void **state)
{
	(void)state;
	random_lpm(AF_INET, 4);
}

static void test_addr_random_v6(void **state)
{
	(void)state;
	random_lpm(AF_INET6, 6);
}

static void test_outbound_precedence(void **state)
{
	struct sockaddr_storage d = sa("192.0.2.5", 25), e = sa("198.51.100.5", 25);
	struct sockaddr_storage f = sa("203.0.113.5", 25);
	struct policy *p = load("192.0.2.0/24 may\n"
				"198.51.100.0/24 secure\n"
				"203.0.113.0/24 encrypt\n"
				"[mx.example.org] encrypt\n"
				"[mx.example.org]:25 verify\n",
				NULL);

	(void)state;
	/* A stricter host rule wins over a weaker address rule... */
	EXPECT(policy_outbound_for_dest(p, (struct sockaddr *)&d, "mx.example.org"),
	       "[mx.example.org]:25", "host-port");
	/* ...and a stricter address rule over a weaker host rule: never weakened. */
	EXPECT(policy_outbound_for_dest(p, (struct sockaddr *)&e, "mx.example.org"),
	       "198.51.100.0/24", "cidr");
	/* An MX name without a rule changes nothing. */
	EXPECT(policy_outbound_for_dest(p, (struct sockaddr *)&f, "mx.example.net"),
	       "203.0.113.0/24", "cidr");
	policy_put(p);

	/* Equal levels: the more specific kind ([host]) wins. */
	p = load("203.0.113.0/24 encrypt\n[mx.example.org] encrypt\n", NULL);
	EXPECT(policy_outbound_for_dest(p, (struct sockaddr *)&f, "mx.example.org"),
	       "[mx.example.org]", "host");
	/* Without an MX name only the address counts. */
	EXPECT(policy_outbound_for_dest(p, (struct sockaddr *)&f, NULL), "203.0.113.0/24", "cidr");
	EXPECT(policy_outbound_for_dest(p, NULL, "mx.example.org"), "[mx.example.org]", "host");
	EXPECT(policy_outbound_for_dest(p, NULL, NULL), "default", "default");
	policy_put(p);
}

static void test_rule_beats(void **state)
{
	struct policy_rule host = { .key_type = POLICY_KEY_HOST, .level = POLICY_ENCRYPT };
	struct policy_rule hostp = { .key_type = POLICY_KEY_HOST, .port = 25,
				     .level = POLICY_ENCRYPT };
	struct policy_rule dom = { .key_type = POLICY_KEY_DOMAIN, .level = POLICY_ENCRYPT };
	struct policy_rule sub = { .key_type = POLICY_KEY_SUBDOMAINS, .level = POLICY_ENCRYPT };
	struct policy_rule a24 = { .key_type = POLICY_KEY_ADDR, .prefix_len = 24,
				   .level = POLICY_ENCRYPT };
	struct policy_rule a32 = { .key_type = POLICY_KEY_ADDR, .prefix_len = 32,
				   .level = POLICY_ENCRYPT };
	struct policy_rule weak = { .key_type = POLICY_KEY_HOST, .port = 25, .level = POLICY_MAY };

	(void)state;
	assert_true(policy_rule_beats(&hostp, &host));
	assert_true(policy_rule_beats(&host, &dom));
	assert_true(policy_rule_beats(&dom, &sub));
	assert_true(policy_rule_beats(&sub, &a32));
	assert_true(policy_rule_beats(&a32, &a24));
	assert_false(policy_rule_beats(&a24, &a32));
	assert_false(policy_rule_beats(&dom, &dom));	/* a tie keeps the incumbent */
	assert_true(policy_rule_beats(&a24, &weak));	/* level first */
	assert_false(policy_rule_beats(&weak, &a24));
}

/* A monitor rule never takes a connection from an enforced rule that refuses more; against
 * rules that enforce no more than `may` it competes with its own level (so it is reported). */
static void test_rule_beats_monitor(void **state)
{
	struct policy_rule mon_host = { .key_type = POLICY_KEY_HOST, .level = POLICY_VERIFY,
					.monitor = true };
	struct policy_rule a24 = { .key_type = POLICY_KEY_ADDR, .prefix_len = 24,
				   .level = POLICY_ENCRYPT };
	struct policy_rule may32 = { .key_type = POLICY_KEY_ADDR, .prefix_len = 32,
				     .level = POLICY_MAY };
	struct policy_rule mon_dom = { .key_type = POLICY_KEY_DOMAIN, .level = POLICY_ENCRYPT,
				       .monitor = true };
	struct sockaddr_storage a = sa("192.0.2.25", 0), b = sa("198.51.100.25", 0);
	struct policy *p = load("192.0.2.0/24 encrypt\n"
				"192.0.2.25 verify mode=monitor\n"
				"198.51.100.0/24 verify mode=monitor\n"
				"198.51.100.25 encrypt\n", NULL);

	(void)state;
	assert_int_equal(policy_rule_enforced_level(&mon_host), POLICY_MAY);
	assert_true(policy_rule_beats(&a24, &mon_host));	/* enforced encrypt > monitor */
	assert_false(policy_rule_beats(&mon_host, &a24));
	assert_true(policy_rule_beats(&mon_host, &may32));	/* both enforce may: verify */
	assert_true(policy_rule_beats(&mon_host, &mon_dom));	/* monitor vs monitor: level */
	/* within addresses the longest prefix still decides (a carve-out may be a monitor) */
	EXPECT(policy_match_addr(p, (struct sockaddr *)&a), "192.0.2.25", "address");
	assert_true(policy_match_addr(p, (struct sockaddr *)&a).rule->monitor);
	EXPECT(policy_match_addr(p, (struct sockaddr *)&b), "198.51.100.25", "address");
	policy_put(p);
}

/* packaging/tls_policy.uk-public-sector: loads clean; every rule monitors; its exception
 * (legacy.example.gov.uk may) wins over .gov.uk for that domain only. */
static void test_uk_example_policy(void **state)
{
	static const char *const monitored[] = {
		"dept.gov.uk", "a.b.gov.uk", "gov.scot", "x.gov.wales", "llyw.cymru", "nhs.net",
		"met.police.uk", "army.mod.uk", "parliament.uk", "sub.legacy.example.gov.uk",
	};
	struct policy_error err;
	struct policy *p = NULL;
	struct policy_match m;
	size_t n = 0;

	(void)state;
	assert_int_equal(policy_check_file(POLICY_OUTBOUND, "packaging/tls_policy.uk-public-sector",
					   &n, &err), 0);
	assert_int_equal(policy_load("packaging/tls_policy.uk-public-sector", NULL, &p, &err), 0);
	assert_int_equal(policy_warning_count(p), 0);
	for (size_t i = 0; i < n; i++) {
		const struct policy_rule *r = policy_rule_at(p, POLICY_OUTBOUND, i);

		assert_true(r->level == POLICY_MAY || (r->level == POLICY_ENCRYPT && r->monitor &&
						      r->min_version == TLS1_2_VERSION));
	}
	for (size_t i = 0; i < sizeof(monitored) / sizeof(monitored[0]); i++) {
		m = policy_match_domain(p, monitored[i]);
		assert_int_equal(m.rule->level, POLICY_ENCRYPT);
		assert_true(m.rule->monitor);
	}
	m = policy_match_domain(p, "Legacy.Example.GOV.UK");
	assert_string_equal(m.rule->key, "legacy.example.gov.uk");
	assert_int_equal(m.rule->level, POLICY_MAY);
	assert_false(m.rule->monitor);
	m = policy_match_domain(p, "dept.gov.uk");
	assert_string_equal(m.rule->key, ".gov.uk");
	/* not listed: the default */
	assert_int_equal(policy_match_domain(p, "trust.nhs.uk").rule->id, POLICY_ID_DEFAULT_OUT);
	assert_int_equal(policy_match_domain(p, "school.sch.uk").rule->id, POLICY_ID_DEFAULT_OUT);
	policy_put(p);
}

static void test_inbound(void **state)
{
	struct sockaddr_storage c7 = sa("192.0.2.7", 0), c8 = sa("198.51.100.1", 0);
	struct sockaddr_storage c9 = sa("203.0.113.1", 0), c6 = sa("2001:db8:5::9", 0);
	struct policy *p = load("example.com none\n0.0.0.0/0 none\n",
				"192.0.2.0/24 may\n"
				"192.0.2.7 none\n"
				"198.51.100.0/24 encrypt\n"
				"2001:db8:5::/48 encrypt\n"
				"example.com encrypt\n"
				".example.com encrypt\n");

	(void)state;
	EXPECT(policy_inbound(p, (struct sockaddr *)&c7, NULL), "192.0.2.7", "address");
	/* A sender domain can only tighten the address rule... */
	EXPECT(policy_inbound(p, (struct sockaddr *)&c7, "Example.COM"), "example.com", "exact");
	/* ...never weaken it. */
	EXPECT(policy_inbound(p, (struct sockaddr *)&c8, "other.example.net"), "198.51.100.0/24",
	       "cidr");
	EXPECT(policy_inbound(p, (struct sockaddr *)&c9, "mail.example.com"), ".example.com",
	       "subdomain");
	EXPECT(policy_inbound(p, (struct sockaddr *)&c9, NULL), "default", "default");
	EXPECT(policy_inbound(p, (struct sockaddr *)&c6, NULL), "2001:db8:5::/48", "cidr");
	EXPECT(policy_inbound(p, NULL, "example.com"), "example.com", "exact");
	assert_int_equal(policy_inbound(p, NULL, NULL).rule->id, POLICY_ID_DEFAULT_IN);
	/* The tables are separate: outbound rules do not leak into inbound answers. */
	assert_int_equal(policy_inbound(p, (struct sockaddr *)&c9, NULL).rule->level, POLICY_MAY);
	policy_put(p);
}

static void test_accessors(void **state)
{
	struct policy *p = load("example.org encrypt\n[mx.example.org]:25 secure\n",
				"192.0.2.0/24 encrypt\n");
	const struct policy_rule *r;
	char path[128];

	(void)state;
	assert_int_equal(policy_rule_count(p, POLICY_OUTBOUND), 2);
	assert_int_equal(policy_rule_count(p, POLICY_INBOUND), 1);
	r = policy_rule_at(p, POLICY_OUTBOUND, 1);
	assert_string_equal(r->key, "[mx.example.org]:25");
	assert_int_equal(r->line, 2);
	assert_null(policy_rule_at(p, POLICY_OUTBOUND, 2));
	assert_ptr_equal(policy_rule_by_id(p, r->id), r);
	assert_ptr_equal(policy_rule_find(p, POLICY_OUTBOUND, "[MX.Example.org.]:25"), r);
	assert_null(policy_rule_find(p, POLICY_INBOUND, "example.org"));
	assert_non_null(policy_rule_find(p, POLICY_INBOUND, "192.0.2.0/24"));
	assert_null(policy_rule_find(p, POLICY_OUTBOUND, "not a key"));
	assert_int_equal(policy_rule_by_id(p, POLICY_ID_DEFAULT_OUT)->key_type,
			 POLICY_KEY_DEFAULT);
	assert_int_equal(policy_rule_by_id(p, POLICY_ID_DEFAULT_IN)->dir, POLICY_INBOUND);
	assert_null(policy_rule_by_id(p, 7));
	snprintf(path, sizeof(path), "%s/out", tmpdir);
	assert_string_equal(policy_path(p, POLICY_OUTBOUND), path);
	/* References: the snapshot lives while someone holds it. */
	assert_ptr_equal(policy_get(p), p);
	policy_put(p);
	assert_string_equal(policy_rule_at(p, POLICY_OUTBOUND, 0)->key, "example.org");
	policy_put(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_addr_longest_prefix),
		cmocka_unit_test(test_addr_random_v4),
		cmocka_unit_test(test_addr_random_v6),
		cmocka_unit_test(test_outbound_precedence),
		cmocka_unit_test(test_rule_beats),
		cmocka_unit_test(test_rule_beats_monitor),
		cmocka_unit_test(test_uk_example_policy),
		cmocka_unit_test(test_inbound),
		cmocka_unit_test(test_accessors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
