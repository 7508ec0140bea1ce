// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/dns.c's answer walker on hand-made messages: what it must extract (compressed names,
 * CNAME chains, TTLs) and what it must refuse without reading past the buffer (truncation,
 * pointer loops, lying counts and lengths).  tests/fuzz/fuzz_policy_dns.c covers the rest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/nameser.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

/* Header: id 0, QR RD RA, rcode, 1 question, an answers. */
#define HDR(rcode, an) 0, 0, 0x81, 0x80 | (rcode), 0, 1, 0, (an), 0, 0, 0, 0
/* Question "example.org" (offset 12) type t class IN. */
#define Q(t) 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, (t), 0, 1
#define PTR_Q 0xc0, 12
#define TTL(x) ((x) >> 24) & 0xff, ((x) >> 16) & 0xff, ((x) >> 8) & 0xff, (x) & 0xff

struct seen {
	struct policy_dns_rr rr[8];
	int n;
};

static int collect(const struct policy_dns_rr *rr, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->rr[s->n++] = *rr;
	return 0;
}

static int walk(const unsigned char *m, size_t len, uint16_t type, struct seen *s)
{
	/* A private copy of exactly len bytes: ASan sees any read past the end. */
	unsigned char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, m, len);
	memset(s, 0, sizeof(*s));
	rc = policy_dns_parse_answer(copy, len, type, collect, s);
	free(copy);
	return rc;
}

static void test_mx_compressed(void **state)
{
	static const unsigned char m[] = {
		HDR(0, 2), Q(ns_t_mx),
		/* MX 10 mx1.example.org (compressed to the question name) */
		PTR_Q, 0, ns_t_mx, 0, 1, TTL(300), 0, 8, 0, 10, 3, 'M', 'X', '1', PTR_Q,
		/* MX 0 . (null MX), TTL with the high bit set: treated as 0 */
		PTR_Q, 0, ns_t_mx, 0, 1, TTL(0x80000000u), 0, 3, 0, 0, 0,
	};
	struct seen s;

	(void)state;
	assert_int_equal(walk(m, sizeof(m), ns_t_mx, &s), DNS_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rr[0].name, "mx1.example.org");	/* lower-cased */
	assert_int_equal(s.rr[0].pref, 10);
	assert_int_equal(s.rr[0].ttl, 300);
	assert_string_equal(s.rr[1].name, "");
	assert_int_equal(s.rr[1].ttl, 0);
}

static void test_cname_chain_and_classes(void **state)
{
	static const unsigned char m[] = {
		HDR(0, 3), Q(ns_t_a),
		/* CNAME (skipped: not the type asked for) */
		PTR_Q, 0, ns_t_cname, 0, 1, TTL(60), 0, 4, 1, 'x', PTR_Q,
		/* A in class CH (skipped) */
		PTR_Q, 0, ns_t_a, 0, 3, TTL(60), 0, 4, 1, 2, 3, 4,
		/* A 198.51.100.7 */
		1, 'x', PTR_Q, 0, ns_t_a, 0, 1, TTL(42), 0, 4, 198, 51, 100, 7,
	};
	struct seen s;

	(void)state;
	assert_int_equal(walk(m, sizeof(m), ns_t_a, &s), DNS_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.rr[0].ttl, 42);
	assert_memory_equal(s.rr[0].addr, ((uint8_t[]){ 198, 51, 100, 7 }), 4);
	/* Asked for AAAA, only A present: NODATA. */
	assert_int_equal(walk(m, sizeof(m), ns_t_aaaa, &s), DNS_NODATA);
}

static void test_rcodes(void **state)
{
	static const unsigned char nx[] = { HDR(3, 0), Q(ns_t_mx) };
	static const unsigned char sf[] = { HDR(2, 0), Q(ns_t_mx) };
	static const unsigned char rf[] = { HDR(5, 0), Q(ns_t_mx) };
	static const unsigned char nd[] = { HDR(0, 0), Q(ns_t_mx) };
	struct seen s;

	(void)state;
	assert_int_equal(walk(nx, sizeof(nx), ns_t_mx, &s), DNS_NXDOMAIN);
	assert_int_equal(walk(sf, sizeof(sf), ns_t_mx, &s), DNS_TEMPFAIL);
	assert_int_equal(walk(rf, sizeof(rf), ns_t_mx, &s), DNS_FAIL);
	assert_int_equal(walk(nd, sizeof(nd), ns_t_mx, &s), DNS_NODATA);
}

static void test_malformed(void **state)
{
	static const unsigned char query[] = { 0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, Q(1) };
	static const unsigned char loop[] = {
		/* the MX name (offset 43) is a pointer to itself */
		HDR(0, 1), Q(ns_t_mx), PTR_Q, 0, ns_t_mx, 0, 1, TTL(1), 0, 4, 0, 10, 0xc0, 43,
	};
	static const unsigned char long_rdlen[] = {
		HDR(0, 1), Q(ns_t_a), PTR_Q, 0, ns_t_a, 0, 1, TTL(1), 0, 200, 1, 2, 3, 4,
	};
	static const unsigned char bad_a[] = {
		HDR(0, 1), Q(ns_t_a), PTR_Q, 0, ns_t_a, 0, 1, TTL(1), 0, 5, 1, 2, 3, 4, 5,
	};
	static const unsigned char lying_count[] = {
		HDR(0, 2), Q(ns_t_a), PTR_Q, 0, ns_t_a, 0, 1, TTL(1), 0, 4, 1, 2, 3, 4,
	};
	static const unsigned char mx_past_rdata[] = {
		/* rdlen 3 but the name inside runs on past it */
		HDR(0, 1), Q(ns_t_mx), PTR_Q, 0, ns_t_mx, 0, 1, TTL(1), 0, 3,
		0, 1, 3, 'a', 'b', 'c', 0,
	};
	static const unsigned char odd_label[] = {
		/* MX "a.b" as ONE label (a '.' byte inside): not a host name */
		HDR(0, 1), Q(ns_t_mx), PTR_Q, 0, ns_t_mx, 0, 1, TTL(1), 0, 7,
		0, 1, 3, 'a', '.', 'b', 0,
	};
	static const unsigned char full[] = { HDR(0, 0), Q(ns_t_a) };
	struct seen s;

	(void)state;
	assert_int_equal(walk(query, sizeof(query), 1, &s), DNS_FAIL);	/* not a response */
	assert_int_equal(walk(loop, sizeof(loop), ns_t_mx, &s), DNS_FAIL);
	assert_int_equal(walk(long_rdlen, sizeof(long_rdlen), ns_t_a, &s), DNS_FAIL);
	assert_int_equal(walk(bad_a, sizeof(bad_a), ns_t_a, &s), DNS_FAIL);
	assert_int_equal(walk(lying_count, sizeof(lying_count), ns_t_a, &s), DNS_FAIL);
	assert_int_equal(walk(mx_past_rdata, sizeof(mx_past_rdata), ns_t_mx, &s), DNS_FAIL);
	assert_int_equal(walk(odd_label, sizeof(odd_label), ns_t_mx, &s), DNS_FAIL);
	/* Every truncation of a good message fails cleanly. */
	for (size_t len = 0; len < sizeof(full); len++)
		assert_int_equal(walk(full, len, ns_t_a, &s), DNS_FAIL);
	assert_int_equal(walk(full, sizeof(full), ns_t_a, &s), DNS_NODATA);
}

static int stop_cb(const struct policy_dns_rr *rr, void *arg)
{
	(void)rr;
	(void)arg;
	return -ENOMEM;
}

static void test_callback_stops(void **state)
{
	static const unsigned char m[] = {
		HDR(0, 1), Q(ns_t_a), PTR_Q, 0, ns_t_a, 0, 1, TTL(1), 0, 4, 1, 2, 3, 4,
	};

	(void)state;
	assert_int_equal(policy_dns_parse_answer(m, sizeof(m), ns_t_a, stop_cb, NULL), -ENOMEM);
	assert_int_equal(policy_dns_parse_answer(m, sizeof(m), ns_t_a, NULL, NULL), DNS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_compressed),
		cmocka_unit_test(test_cname_chain_and_classes),
		cmocka_unit_test(test_rcodes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_callback_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
