// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/dane*.c with canned answers: how answers are judged (secure, insecure, bogus,
 * indeterminate), TLSA and MX rdata, and the lookup's verdicts per RFC 7672 2.2 through a fake
 * transport that answers from a table, later (as libunbound does), never from inside start().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/dane.h"
#include "tests/lib/fake_dane.h"

#define T_A 1
#define T_MX 15
#define T_AAAA 28
#define T_TLSA 52

/* ---- canned answers ---------------------------------------------------------------------- */

enum kind { SEC, INSEC, BOGUS, SERVFAIL, TIMEOUT };

struct canned {
	const char *name;
	uint16_t type;
	enum kind kind;
	bool nx;
	const char *canon;
	size_t n;
	const unsigned char *rr[4];
	size_t len[4];
};

static struct {
	const struct canned *table;
	size_t ntable;
	struct tg_fake_dane f;	/* the questions the lookup asked */
	int results;
	struct policy_dane_domain got;
} F;

static struct policy_dane_transport fake_tr; /* over F.f (main) */

static bool asked(const char *qname, uint16_t type)
{
	for (size_t i = 0; i < F.f.nq; i++)
		if (!strcmp(F.f.q[i].name, qname) && F.f.q[i].type == type)
			return true;
	return false;
}

/* Answer every live query (and those they start) from the table; unknown names time out. */
static void pump(void)
{
	for (size_t i = 0; i < F.f.nq; i++) {
		struct tg_fake_dane_q *p = &F.f.q[i];
		struct policy_dane_answer a = {.err = -ETIMEDOUT};
		const struct canned *c = NULL;

		if (!p->live)
			continue;
		p->live = false;
		for (size_t k = 0; k < F.ntable; k++)
			if (!strcmp(F.table[k].name, p->name) && F.table[k].type == p->type)
				c = &F.table[k];
		if (c) {
			a.err = c->kind == TIMEOUT ? -ETIMEDOUT : 0;
			a.rcode = c->kind == BOGUS || c->kind == SERVFAIL ? 2 : c->nx ? 3 : 0;
			a.secure = c->kind == SEC;
			a.bogus = c->kind == BOGUS;
			a.why_bogus = c->kind == BOGUS ? "signature expired" : NULL;
			a.nxdomain = c->nx;
			a.canonname = c->canon;
			a.n = c->n;
			a.data = c->rr;
			a.len = c->len;
		}
		p->done(p->arg, &a);
	}
}

static void result_cb(void *arg, const struct policy_dane_domain *d)
{
	(void)arg;
	F.results++;
	assert_int_equal(policy_dane_domain_copy(&F.got, d), 0);
}

static void run_table_flags(const struct canned *t, size_t n, const char *domain, bool host,
			    unsigned int flags)
{
	struct policy_dane_lookup *l;

	policy_dane_domain_clear(&F.got);
	memset(&F, 0, sizeof(F));
	F.table = t;
	F.ntable = n;
	if (host)
		assert_int_equal(policy_dane_lookup_host(&fake_tr, domain, result_cb, NULL, &l), 0);
	else
		assert_int_equal(policy_dane_lookup_domain_flags(&fake_tr, domain, flags,
								 result_cb, NULL, &l),
				 0);
	assert_int_equal(F.results, 0); /* nothing answers from inside start() */
	pump();
	assert_int_equal(F.results, 1);
}

static void run_table(const struct canned *t, size_t n, const char *domain, bool host)
{
	run_table_flags(t, n, domain, host, 0);
}

#define RUN(t, domain) run_table(t, sizeof(t) / sizeof(t[0]), domain, false)
#define RUN_F(t, domain, f) run_table_flags(t, sizeof(t) / sizeof(t[0]), domain, false, f)

/* rdata */
static const unsigned char mx10[] = {0, 10, 3, 'M', 'x', '1', 4, 't', 'e', 's', 't', 0};
static const unsigned char mx20[] = {0, 20, 3, 'm', 'x', '2', 4, 't', 'e', 's', 't', 0};
static const unsigned char nullmx[] = {0, 0, 0};
static const unsigned char a1[] = {192, 0, 2, 25};
static const unsigned char a2[] = {192, 0, 2, 26};
static const unsigned char aaaa1[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				      0,    0,	  0,	0,    0, 0, 0, 0x25};
#define D32                                                                                        \
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, \
		26, 27, 28, 29, 30, 31, 32
static const unsigned char t311[] = {3, 1, 1, D32};
static const unsigned char t311b[] = {3,  1,  1,  32, 31, 30, 29, 28, 27, 26, 25, 24,
				      23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12,
				      11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1};
static const unsigned char t211[] = {2, 1, 1, D32};
static const unsigned char t111[] = {1, 1, 1, D32}; /* PKIX-EE: not for SMTP */
static const unsigned char t011[] = {0, 1, 1, D32}; /* PKIX-TA */
static const unsigned char t331[] = {3, 3, 1, D32}; /* unknown selector */
static const unsigned char t311_short[] = {3, 1, 1, 1, 2, 3};

#define RR1(x)            \
	1, {x},           \
	{                 \
		sizeof(x) \
	}
#define RR2(x, y)                    \
	2, {x, y},                   \
	{                            \
		sizeof(x), sizeof(y) \
	}

/* ---- pure helpers ------------------------------------------------------------------------ */

static void test_classify(void **state)
{
	struct policy_dane_answer a = {0};

	(void)state;
	a.secure = true;
	assert_int_equal(policy_dane_classify(&a), POLICY_DANE_SECURE);
	a.rcode = 3; /* a secure NXDOMAIN is a secure answer */
	assert_int_equal(policy_dane_classify(&a), POLICY_DANE_SECURE);
	a.secure = false;
	assert_int_equal(policy_dane_classify(&a), POLICY_DANE_INSECURE);
	a.rcode = 2;
	assert_int_equal(policy_dane_classify(&a), POLICY_DANE_INDETERMINATE);
	a.rcode = 5; /* REFUSED */
	assert_int_equal(policy_dane_classify(&a), POLICY_DANE_INDETERMINATE);
	a.bogus = true; /* libunbound: bogus comes as SERVFAIL; bogus wins */
	a.rcode = 2;
	assert_int_equal(policy_dane_classify(&a), POLICY_DANE_BOGUS);
	a.bogus = false;
	a.rcode = 0;
	a.err = -ETIMEDOUT;
	a.secure = true; /* an error is never secure */
	assert_int_equal(policy_dane_classify(&a), POLICY_DANE_INDETERMINATE);
}

static void test_tlsa_parse(void **state)
{
	static const unsigned char t312[67] = {3, 1, 2};
	static const unsigned char t200[] = {2, 0, 0, 0x30, 0x82};
	static const unsigned char t391[] = {3, 0, 9, 1, 2};
	struct policy_dane_tlsa t;
	char buf[64];

	(void)state;
	assert_int_equal(policy_dane_tlsa_parse(t311, sizeof(t311), &t), POLICY_DANE_TLSA_USABLE);
	assert_int_equal(t.usage, 3);
	assert_int_equal(t.selector, 1);
	assert_int_equal(t.mtype, 1);
	assert_int_equal(t.len, 32);
	assert_ptr_equal(t.data, t311 + 3);
	policy_dane_tlsa_desc(&t, buf, sizeof(buf));
	assert_string_equal(buf, "DANE-EE(3) 1 1");
	assert_int_equal(policy_dane_tlsa_parse(t211, sizeof(t211), &t), POLICY_DANE_TLSA_USABLE);
	policy_dane_tlsa_desc(&t, buf, sizeof(buf));
	assert_string_equal(buf, "DANE-TA(2) 1 1");
	assert_int_equal(policy_dane_tlsa_parse(t312, sizeof(t312), &t), POLICY_DANE_TLSA_USABLE);
	assert_int_equal(policy_dane_tlsa_parse(t200, sizeof(t200), &t), POLICY_DANE_TLSA_USABLE);
	assert_int_equal(policy_dane_tlsa_parse(t111, sizeof(t111), &t), POLICY_DANE_TLSA_UNUSABLE);
	assert_int_equal(policy_dane_tlsa_parse(t011, sizeof(t011), &t), POLICY_DANE_TLSA_UNUSABLE);
	assert_int_equal(policy_dane_tlsa_parse(t331, sizeof(t331), &t), POLICY_DANE_TLSA_UNUSABLE);
	assert_int_equal(policy_dane_tlsa_parse(t391, sizeof(t391), &t), POLICY_DANE_TLSA_UNUSABLE);
	/* A SHA-256 that is not 32 bytes can never match: unusable, as in OpenSSL and Postfix. */
	assert_int_equal(policy_dane_tlsa_parse(t311_short, sizeof(t311_short), &t),
			 POLICY_DANE_TLSA_UNUSABLE);
	assert_int_equal(policy_dane_tlsa_parse(t311, 3, &t), POLICY_DANE_TLSA_MALFORMED);
	assert_int_equal(policy_dane_tlsa_parse(t311, 0, &t), POLICY_DANE_TLSA_MALFORMED);
}

static void test_names(void **state)
{
	static const unsigned char ptr[] = {0, 10, 3, 'm', 'x', '1', 0xc0, 12};
	static const unsigned char trail[] = {0, 10, 2, 'm', 'x', 0, 0};
	static const unsigned char dot[] = {0, 10, 3, 'm', '.', 'x', 0};
	static const unsigned char trunc[] = {0, 10, 9, 'm', 'x'};
	unsigned char big[2 + 64 + 2] = {0, 1, 64};
	char name[POLICY_DANE_NAME_MAX];
	uint16_t pref;

	(void)state;
	assert_int_equal(policy_dane_mx_parse(mx10, sizeof(mx10), &pref, name), 0);
	assert_int_equal(pref, 10);
	assert_string_equal(name, "mx1.test");
	assert_int_equal(policy_dane_mx_parse(nullmx, sizeof(nullmx), &pref, name), 0);
	assert_string_equal(name, "");
	assert_int_equal(policy_dane_mx_parse(ptr, sizeof(ptr), &pref, name), -EINVAL);
	assert_int_equal(policy_dane_mx_parse(trail, sizeof(trail), &pref, name), -EINVAL);
	assert_int_equal(policy_dane_mx_parse(dot, sizeof(dot), &pref, name), -EINVAL);
	assert_int_equal(policy_dane_mx_parse(trunc, sizeof(trunc), &pref, name), -EINVAL);
	memset(big + 3, 'a', 64);
	assert_int_equal(policy_dane_mx_parse(big, sizeof(big), &pref, name), -EINVAL);
	assert_int_equal(policy_dane_name_norm("MX1.Test.", name), 0);
	assert_string_equal(name, "mx1.test");
	assert_int_equal(policy_dane_name_norm("a..b", name), -EINVAL);
	assert_int_equal(policy_dane_name_norm(".", name), -EINVAL);
	assert_int_equal(policy_dane_name_norm("a b", name), -EINVAL);
}

/* ---- lookups ----------------------------------------------------------------------------- */

static void test_secure_two_hosts(void **state)
{
	static const struct canned t[] = {
		{"example.test", T_MX, SEC, false, NULL, RR2(mx20, mx10)},
		{"mx1.test", T_A, SEC, false, "mx1.test.", RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, "mx1.test.", RR1(aaaa1)},
		{"_25._tcp.mx1.test", T_TLSA, SEC, false, NULL, RR1(t311)},
		{"mx2.test", T_A, SEC, false, "mx2.test.", RR1(a2)},
		{"mx2.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx2.test", T_TLSA, SEC, true, NULL, 0, {0}, {0}},
	};
	const struct policy_dane_host *h;
	char buf[64];

	(void)state;
	RUN(t, "Example.TEST.");
	assert_string_equal(F.got.domain, "example.test");
	assert_int_equal(F.got.state, POLICY_DANE_USABLE);
	assert_int_equal(F.got.nhost, 2);
	h = &F.got.host[0]; /* by preference, not by answer order */
	assert_string_equal(h->name, "mx1.test");
	assert_string_equal(h->base, "mx1.test");
	assert_int_equal(h->state, POLICY_DANE_USABLE);
	assert_int_equal(h->ntlsa, 1);
	assert_int_equal(h->tlsa[0].len, 32);
	assert_memory_equal(h->tlsa[0].data, t311 + 3, 32);
	policy_dane_tlsa_desc(&h->tlsa[0], buf, sizeof(buf));
	assert_string_equal(buf, "DANE-EE(3) 1 1");
	assert_int_equal(h->n4, 1);
	assert_int_equal(h->n6, 1);
	assert_ptr_equal(policy_dane_host_by_addr(&F.got, aaaa1, 16), h);
	assert_ptr_equal(policy_dane_host_by_addr(&F.got, a2, 4), &F.got.host[1]);
	assert_null(policy_dane_host_by_addr(&F.got, (const uint8_t *)"\xc0\0\2\1", 4));
	assert_ptr_equal(policy_dane_host_by_name(&F.got, "MX1.test."), h);
	h = &F.got.host[1];
	assert_int_equal(h->state, POLICY_DANE_NONE);
	assert_string_equal(h->reason, "no TLSA records");
}

static void test_mx_insecure(void **state)
{
	static const struct canned t[] = {
		{"example.test", T_MX, INSEC, false, NULL, RR1(mx10)},
	};

	(void)state;
	RUN(t, "example.test");
	assert_int_equal(F.got.state, POLICY_DANE_NONE);
	assert_string_equal(F.got.reason, "MX RRset insecure");
	assert_int_equal(F.got.nhost, 0);
	/* An attacker's MX host is not looked up at all. */
	assert_false(asked("mx1.test", T_A));
}

static void test_mx_bogus_and_timeout(void **state)
{
	static const struct canned bogus[] = {
		{"example.test", T_MX, BOGUS, false, NULL, 0, {0}, {0}},
	};
	static const struct canned servfail[] = {
		{"example.test", T_MX, SERVFAIL, false, NULL, 0, {0}, {0}},
	};
	static const struct canned none[] = {{"x", 0, SEC, false, NULL, 0, {0}, {0}}};

	(void)state;
	RUN(bogus, "example.test");
	assert_int_equal(F.got.state, POLICY_DANE_FAILED);
	assert_string_equal(F.got.reason, "MX lookup: bogus (signature expired)");
	RUN(servfail, "example.test");
	assert_int_equal(F.got.state, POLICY_DANE_FAILED);
	assert_string_equal(F.got.reason, "MX lookup: indeterminate");
	RUN(none, "example.test"); /* no answer at all: timeout */
	assert_int_equal(F.got.state, POLICY_DANE_FAILED);
}

static void test_tlsa_failures(void **state)
{
	static const struct canned bogus[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test", T_TLSA, BOGUS, false, NULL, 0, {0}, {0}},
	};
	static const struct canned timeout[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test", T_TLSA, TIMEOUT, false, NULL, 0, {0}, {0}},
	};
	static const struct canned insecure[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test", T_TLSA, INSEC, false, NULL, RR1(t311)},
	};

	(void)state;
	RUN(bogus, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_FAILED);
	assert_string_equal(F.got.host[0].reason, "TLSA lookup: bogus (signature expired)");
	assert_int_equal(F.got.state, POLICY_DANE_FAILED);
	RUN(timeout, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_FAILED);
	assert_string_equal(F.got.host[0].reason, "TLSA lookup: indeterminate");
	RUN(insecure, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_NONE);
	assert_int_equal(F.got.host[0].ntlsa, 0);
}

static void test_address_rules(void **state)
{
	static const struct canned insecure[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, INSEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
	};
	static const struct canned bogus6[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, BOGUS, false, NULL, 0, {0}, {0}},
	};

	(void)state;
	RUN(insecure, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_NONE);
	assert_string_equal(F.got.host[0].reason, "address records insecure");
	assert_false(asked("_25._tcp.mx1.test", T_TLSA));
	RUN(bogus6, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_FAILED);
	assert_string_equal(F.got.host[0].reason, "address lookup (AAAA): bogus");
	assert_false(asked("_25._tcp.mx1.test", T_TLSA));
}

static void test_unusable_and_rollover(void **state)
{
	static const struct canned unusable[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test",
		 T_TLSA,
		 SEC,
		 false,
		 NULL,
		 4,
		 {t111, t011, t331, t311_short},
		 {sizeof(t111), sizeof(t011), sizeof(t331), sizeof(t311_short)}},
	};
	static const struct canned rollover[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test",
		 T_TLSA,
		 SEC,
		 false,
		 NULL,
		 3,
		 {t311, t111, t311b},
		 {sizeof(t311), sizeof(t111), sizeof(t311b)}},
	};

	(void)state;
	RUN(unusable, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_UNUSABLE_ALL);
	assert_int_equal(F.got.host[0].nunusable, 4);
	assert_int_equal(F.got.state, POLICY_DANE_USABLE); /* TLS is mandatory */
	RUN(rollover, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_USABLE);
	assert_int_equal(F.got.host[0].ntlsa, 2);
	assert_int_equal(F.got.host[0].nunusable, 1);
	assert_memory_equal(F.got.host[0].tlsa[1].data, t311b + 3, 32);
}

static void test_cname_base(void **state)
{
	static const struct canned at_target[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, "mail.provider.test.", RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mail.provider.test", T_TLSA, SEC, false, NULL, RR1(t211)},
	};
	static const struct canned at_name[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, "mail.provider.test.", RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mail.provider.test", T_TLSA, SEC, true, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test", T_TLSA, SEC, false, NULL, RR1(t311)},
	};
	static const struct canned insecure_cname[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, INSEC, false, "mail.provider.test.", RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
	};

	(void)state;
	RUN(at_target, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_USABLE);
	assert_string_equal(F.got.host[0].name, "mx1.test");
	assert_string_equal(F.got.host[0].base, "mail.provider.test");
	RUN(at_name, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_USABLE);
	assert_string_equal(F.got.host[0].base, "mx1.test");
	RUN(insecure_cname, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_NONE);
	assert_false(asked("_25._tcp.mail.provider.test", T_TLSA));
}

static void test_implicit_and_null_mx(void **state)
{
	static const struct canned implicit[] = {
		{"example.test", T_MX, SEC, false, NULL, 0, {0}, {0}},
		{"example.test", T_A, SEC, false, NULL, RR1(a1)},
		{"example.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.example.test", T_TLSA, SEC, false, NULL, RR1(t311)},
	};
	static const struct canned null[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(nullmx)},
	};
	static const struct canned nx[] = {
		{"example.test", T_MX, SEC, true, NULL, 0, {0}, {0}},
	};

	(void)state;
	RUN(implicit, "example.test");
	assert_true(F.got.implicit_mx);
	assert_int_equal(F.got.nhost, 1);
	assert_string_equal(F.got.host[0].name, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_USABLE);
	RUN(null, "example.test");
	assert_int_equal(F.got.state, POLICY_DANE_NONE);
	assert_int_equal(F.got.nhost, 0);
	RUN(nx, "example.test");
	assert_int_equal(F.got.state, POLICY_DANE_NONE);
}

static void test_lookup_host(void **state)
{
	static const struct canned t[] = {
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test", T_TLSA, SEC, false, NULL, RR1(t311)},
	};

	(void)state;
	run_table(t, sizeof(t) / sizeof(t[0]), "mx1.test", true);
	assert_false(asked("mx1.test", T_MX));
	assert_int_equal(F.got.nhost, 1);
	assert_int_equal(F.got.host[0].state, POLICY_DANE_USABLE);
}

/* A question that cannot even be asked fails its host; the other answer does not revive it. */
static void test_start_fails(void **state)
{
	static const struct canned t[] = {
		{"example.example", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"_25._tcp.mx1.test", T_TLSA, SEC, false, NULL, RR1(t311)},
	};
	struct policy_dane_lookup *l;

	(void)state;
	policy_dane_domain_clear(&F.got);
	memset(&F, 0, sizeof(F));
	F.table = t;
	F.ntable = sizeof(t) / sizeof(t[0]);
	F.f.refuse_type = T_AAAA;
	assert_int_equal(
		policy_dane_lookup_domain(&fake_tr, "example.example", result_cb, NULL, &l), 0);
	pump();
	assert_int_equal(F.results, 1);
	assert_int_equal(F.got.host[0].state, POLICY_DANE_FAILED);
	assert_string_equal(F.got.host[0].reason, "address lookup could not be started");
	assert_false(asked("_25._tcp.mx1.test", T_TLSA));
	/* [host]: the lookup cannot start at all */
	F.results = 0;
	assert_int_equal(policy_dane_lookup_host(&fake_tr, "mx1.test", result_cb, NULL, &l),
			 -ENOMEM);
	pump();
	assert_int_equal(F.results, 0);
}

static void test_cancel(void **state)
{
	struct policy_dane_lookup *l;

	(void)state;
	policy_dane_domain_clear(&F.got);
	memset(&F, 0, sizeof(F));
	assert_int_equal(policy_dane_lookup_domain(&fake_tr, "example.test", result_cb, NULL, &l),
			 0);
	assert_int_equal(F.f.nq, 1);
	policy_dane_lookup_cancel(l);
	assert_int_equal(F.f.cancelled, 1);
	pump();
	assert_int_equal(F.results, 0);
	assert_int_equal(policy_dane_lookup_domain(&fake_tr, "bad name", result_cb, NULL, &l),
			 -EINVAL);
}

static void test_many_mx_keeps_preferred(void **state)
{
	static unsigned char mx[20][13]; /* pref, "mxNN.test" in wire form */
	size_t n = 0;

	(void)state;
	/* 20 hosts mxNN.test, preference 100 - i: the last ones are the most preferred. */
	for (int i = 0; i < 20; i++) {
		unsigned char *r = mx[i];

		r[0] = 0;
		r[1] = (unsigned char)(100 - i);
		r[2] = 4;
		r[3] = 'm';
		r[4] = 'x';
		r[5] = (unsigned char)('0' + i / 10);
		r[6] = (unsigned char)('0' + i % 10);
		memcpy(r + 7, "\4test", 5);
	}
	/* A canned answer holds 4 records: answer the MX query by hand; addresses time out. */
	{
		const unsigned char *rr[20];
		size_t len[20];
		struct policy_dane_answer a = {.secure = true, .n = 20, .data = rr, .len = len};
		struct policy_dane_lookup *l;

		for (int i = 0; i < 20; i++) {
			rr[i] = mx[i];
			len[i] = 13;
		}
		policy_dane_domain_clear(&F.got);
		memset(&F, 0, sizeof(F));
		assert_int_equal(
			policy_dane_lookup_domain(&fake_tr, "example.test", result_cb, NULL, &l),
			0);
		F.f.q[0].live = false;
		F.f.q[0].done(F.f.q[0].arg, &a);
		pump();
	}
	assert_int_equal(F.got.nhost, POLICY_DANE_MAX_HOSTS);
	for (size_t i = 0; i < F.got.nhost; i++) {
		assert_int_equal(F.got.host[i].pref, 81 + i);
		n += F.got.host[i].state == POLICY_DANE_FAILED; /* addresses time out */
	}
	assert_int_equal(n, POLICY_DANE_MAX_HOSTS);
}

/* F_ADDRS_ALWAYS: an insecure MX RRset's hosts and addresses for other policy, never DANE. */
static void test_flag_addrs_always(void **state)
{
	static const struct canned t[] = {
		{"example.test", T_MX, INSEC, false, NULL, RR2(mx20, mx10)},
		{"mx1.test", T_A, INSEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, INSEC, false, NULL, 0, {0}, {0}},
		{"mx2.test", T_A, SEC, false, NULL, RR1(a2)},
		{"mx2.test", T_AAAA, SEC, false, NULL, RR1(aaaa1)},
		{"_25._tcp.mx1.test", T_TLSA, SEC, false, NULL, RR1(t311)},
		{"_25._tcp.mx2.test", T_TLSA, SEC, false, NULL, RR1(t311)},
	};
	static const struct canned bogus_addr[] = {
		{"example.test", T_MX, INSEC, false, NULL, RR2(mx20, mx10)},
		{"mx1.test", T_A, INSEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, INSEC, false, NULL, 0, {0}, {0}},
		{"mx2.test", T_A, BOGUS, false, NULL, 0, {0}, {0}},
		{"mx2.test", T_AAAA, INSEC, false, NULL, 0, {0}, {0}},
	};
	static const struct canned implicit[] = {
		{"example.test", T_MX, INSEC, false, NULL, 0, {0}, {0}},
		{"example.test", T_A, INSEC, false, NULL, RR1(a1)},
		{"example.test", T_AAAA, INSEC, false, NULL, 0, {0}, {0}},
	};
	static const struct canned mx_bogus[] = {
		{"example.test", T_MX, BOGUS, false, NULL, 0, {0}, {0}},
	};
	static const struct canned nx[] = {
		{"example.test", T_MX, INSEC, true, NULL, 0, {0}, {0}},
	};

	(void)state;
	/* without the flag, nothing beyond the MX answer (as test_mx_insecure) */
	RUN(t, "example.test");
	assert_int_equal(F.got.nhost, 0);
	assert_false(asked("mx1.test", T_A));

	RUN_F(t, "example.test", POLICY_DANE_F_ADDRS_ALWAYS);
	assert_int_equal(F.got.state, POLICY_DANE_NONE);
	assert_string_equal(F.got.reason, "MX RRset insecure");
	assert_int_equal(F.got.nhost, 2);
	assert_string_equal(F.got.host[0].name, "mx1.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_NONE);
	assert_string_equal(F.got.host[0].reason, "MX RRset insecure");
	assert_int_equal(F.got.host[0].n4, 1);
	assert_int_equal(F.got.host[0].n6, 0);
	/* secure addresses and TLSA do not make DANE of an insecure MX RRset */
	assert_int_equal(F.got.host[1].state, POLICY_DANE_NONE);
	assert_int_equal(F.got.host[1].ntlsa, 0);
	assert_ptr_equal(policy_dane_host_by_addr(&F.got, a2, 4), &F.got.host[1]);
	assert_ptr_equal(policy_dane_host_by_addr(&F.got, aaaa1, 16), &F.got.host[1]);
	assert_false(asked("_25._tcp.mx1.test", T_TLSA));
	assert_false(asked("_25._tcp.mx2.test", T_TLSA));

	/* a bogus address answer is still a failure (of that host) */
	RUN_F(bogus_addr, "example.test", POLICY_DANE_F_ADDRS_ALWAYS);
	assert_int_equal(F.got.state, POLICY_DANE_NONE);
	assert_int_equal(F.got.host[0].state, POLICY_DANE_NONE);
	assert_int_equal(F.got.host[1].state, POLICY_DANE_FAILED);
	assert_non_null(strstr(F.got.host[1].reason, "bogus"));

	RUN_F(implicit, "example.test", POLICY_DANE_F_ADDRS_ALWAYS);
	assert_true(F.got.implicit_mx);
	assert_int_equal(F.got.nhost, 1);
	assert_string_equal(F.got.host[0].name, "example.test");
	assert_ptr_equal(policy_dane_host_by_addr(&F.got, a1, 4), &F.got.host[0]);

	RUN_F(mx_bogus, "example.test", POLICY_DANE_F_ADDRS_ALWAYS);
	assert_int_equal(F.got.state, POLICY_DANE_FAILED);
	assert_int_equal(F.got.nhost, 0);

	RUN_F(nx, "example.test", POLICY_DANE_F_ADDRS_ALWAYS);
	assert_int_equal(F.got.state, POLICY_DANE_NONE);
	assert_int_equal(F.got.nhost, 0);
	assert_string_equal(F.got.reason, "domain does not exist (insecure NXDOMAIN)");
}

/* F_NO_TLSA: DANE off; hosts and addresses only. */
static void test_flag_no_tlsa(void **state)
{
	static const struct canned t[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test", T_TLSA, SEC, false, NULL, RR1(t311)},
	};

	(void)state;
	RUN_F(t, "example.test", POLICY_DANE_F_NO_TLSA | POLICY_DANE_F_ADDRS_ALWAYS);
	assert_int_equal(F.got.state, POLICY_DANE_NONE);
	assert_string_equal(F.got.reason, "MX RRset secure, TLSA not asked");
	assert_int_equal(F.got.nhost, 1);
	assert_int_equal(F.got.host[0].state, POLICY_DANE_NONE);
	assert_string_equal(F.got.host[0].reason, "TLSA not asked");
	assert_int_equal(F.got.host[0].n4, 1);
	assert_false(asked("_25._tcp.mx1.test", T_TLSA));
	/* the same without the flag asks TLSA */
	RUN(t, "example.test");
	assert_int_equal(F.got.host[0].state, POLICY_DANE_USABLE);
}

/* A verdict kept in an allocation of policy_dane_domain_size() (daemon/destpol.c does). */
static void test_domain_size(void **state)
{
	static const struct canned t[] = {
		{"example.test", T_MX, SEC, false, NULL, RR1(mx10)},
		{"mx1.test", T_A, SEC, false, NULL, RR1(a1)},
		{"mx1.test", T_AAAA, SEC, false, NULL, 0, {0}, {0}},
		{"_25._tcp.mx1.test", T_TLSA, SEC, false, NULL, RR1(t311)},
	};
	struct policy_dane_domain *small;

	(void)state;
	RUN(t, "example.test");
	assert_int_equal(policy_dane_domain_size(&F.got),
			 offsetof(struct policy_dane_domain, host) + sizeof(F.got.host[0]));
	small = malloc(policy_dane_domain_size(&F.got));
	assert_non_null(small);
	assert_int_equal(policy_dane_domain_copy(small, &F.got), 0);
	assert_int_equal(small->host[0].ntlsa, 1);
	assert_memory_equal(small->host[0].tlsa[0].data, t311 + 3, 32);
	assert_ptr_equal(policy_dane_host_by_addr(small, a1, 4), &small->host[0]);
	policy_dane_domain_clear(small);
	assert_int_equal(small->nhost, 0);
	free(small);
}

/* The libunbound transport's set-up, without network: anchors and forwarders are checked. */
static void test_resolver_new(void **state)
{
	char ta[] = "/tmp/tg-dane-ta.XXXXXX", err[256];
	struct policy_dane_resolver_opts o = {
		.sz = sizeof(o), .trust_anchor = ta, .forwarder = "192.0.2.53@5353"};
	struct policy_dane_resolver *r = NULL;
	struct policy_dane_transport tr;
	static const char ds[] =
		"example. IN DS 52354 13 2 "
		"c283ae2042e214267f9519e97406e4d42df54cceba5a3b92aa59d802e439c070\n";
	int fd = mkstemp(ta);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, ds, sizeof(ds) - 1), (ssize_t)sizeof(ds) - 1);
	close(fd);
	assert_int_equal(policy_dane_resolver_new(&o, &r, err, sizeof(err)), 0);
	assert_true(policy_dane_fd(r) >= 0);
	policy_dane_transport_of(r, &tr);
	assert_ptr_equal(tr.t, r);
	assert_int_equal(policy_dane_process(r), 0); /* nothing pending: returns at once */
	policy_dane_resolver_free(r);

	/* the anchor is read (and checked) at set-up, not at the first query */
	fd = open(ta, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "example. IN DS garbage\n", 23), 23);
	close(fd);
	assert_int_not_equal(policy_dane_resolver_new(&o, &r, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "trust anchor /tmp/tg-dane-ta."));
	fd = open(ta, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, ds, sizeof(ds) - 1), (ssize_t)sizeof(ds) - 1);
	close(fd);

	o.forwarder = "not an address";
	assert_int_equal(policy_dane_resolver_new(&o, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "forwarder not an address"));
	unlink(ta);
	o.forwarder = NULL;
	assert_int_equal(policy_dane_resolver_new(&o, &r, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "trust anchor /tmp/tg-dane-ta."));
}

static int teardown(void **state)
{
	(void)state;
	policy_dane_domain_clear(&F.got);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_tlsa_parse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_secure_two_hosts),
		cmocka_unit_test(test_mx_insecure),
		cmocka_unit_test(test_mx_bogus_and_timeout),
		cmocka_unit_test(test_tlsa_failures),
		cmocka_unit_test(test_address_rules),
		cmocka_unit_test(test_unusable_and_rollover),
		cmocka_unit_test(test_cname_base),
		cmocka_unit_test(test_implicit_and_null_mx),
		cmocka_unit_test(test_lookup_host),
		cmocka_unit_test(test_start_fails),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_many_mx_keeps_preferred),
		cmocka_unit_test(test_flag_addrs_always),
		cmocka_unit_test(test_flag_no_tlsa),
		cmocka_unit_test(test_domain_size),
		cmocka_unit_test(test_resolver_new),
	};

	tg_fake_dane_transport(&F.f, &fake_tr);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
