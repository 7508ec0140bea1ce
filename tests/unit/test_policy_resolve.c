// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/resolve.c against a scripted DNS (the resolver's query seam answers with real DNS
 * messages built here, so the parser runs too): MX -> A/AAAA, implicit and null MX, TTL-driven
 * refresh, failures keeping the last good set, [host] and literal rules, the precedence of
 * resolved domains against address rules, the flat LPM list, and readers racing refreshes.
 * The same paths against a real nameserver: tests/e2e/test_policy_resolve.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/policy_entry.h"
#include "policy/policy.h"

/* ---- a scripted DNS ------------------------------------------------------------------------ */

struct fake_rr {
	uint32_t ttl;
	uint16_t pref;
	const char *data;	/* address, or MX exchange ("" = null MX) */
};

struct fake {
	char name[128];
	int type;
	int rcode;		/* ns_r_noerror, ns_r_servfail, ns_r_nxdomain, ns_r_refused */
	int err;		/* transport failure: the query returns -err */
	struct fake_rr rr[8];
	size_t nrr;
};

static struct fake fakes[64];
static size_t nfakes;
static char qlog[256][160];
static size_t nq;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

static void fake_reset(void)
{
	nfakes = 0;
	nq = 0;
}

static struct fake *fake_slot(const char *name, int type)
{
	for (size_t i = 0; i < nfakes; i++)
		if (!strcmp(fakes[i].name, name) && fakes[i].type == type)
			return &fakes[i];
	assert_true(nfakes < sizeof(fakes) / sizeof(fakes[0]));
	memset(&fakes[nfakes], 0, sizeof(fakes[0]));
	snprintf(fakes[nfakes].name, sizeof(fakes[0].name), "%s", name);
	fakes[nfakes].type = type;
	return &fakes[nfakes++];
}

/* fake_set("example.org", ns_t_mx, 0, 2, (struct fake_rr){300, 10, "mx1.example.org"}, ...) */
static void fake_set(const char *name, int type, int rcode, size_t n, ...)
{
	struct fake *f = fake_slot(name, type);
	va_list ap;

	f->rcode = rcode;
	f->err = 0;
	f->nrr = n;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		f->rr[i] = va_arg(ap, struct fake_rr);
	va_end(ap);
}

static void fake_fail(const char *name, int type, int err)
{
	fake_slot(name, type)->err = err;
}

/* Name in wire format; compressed to a pointer at the question when it ends with it. */
static size_t put_name(unsigned char *p, const char *name, const char *qname)
{
	size_t o = 0;

	if (!*name) {
		p[0] = 0;
		return 1;
	}
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		if (o && *qname && !strcmp(name, qname)) {
			p[o++] = 0xc0;
			p[o++] = 12;
			return o;
		}
		p[o++] = (unsigned char)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

static int fake_query(void *arg, const char *name, int type, unsigned char *ans, int anslen)
{
	struct fake *f = NULL;
	size_t o = 12;

	(void)arg;
	assert_true(anslen >= 4096);
	pthread_mutex_lock(&fake_lock);
	if (nq < sizeof(qlog) / sizeof(qlog[0]))
		snprintf(qlog[nq++], sizeof(qlog[0]), "%s %s", type == ns_t_mx ? "MX" :
			 type == ns_t_a ? "A" : "AAAA", name);
	for (size_t i = 0; i < nfakes; i++)
		if (!strcmp(fakes[i].name, name) && fakes[i].type == type)
			f = &fakes[i];
	pthread_mutex_unlock(&fake_lock);
	if (f && f->err)
		return -f->err;
	memset(ans, 0, 12);
	ans[2] = 0x81;	/* QR, RD */
	ans[3] = (unsigned char)(0x80 | (f ? f->rcode : 0));
	ans[5] = 1;
	ans[7] = (unsigned char)(f && !f->rcode ? f->nrr : 0);
	o += put_name(ans + o, name, "");
	ans[o++] = 0;
	ans[o++] = (unsigned char)type;
	ans[o++] = 0;
	ans[o++] = ns_c_in;
	for (size_t i = 0; f && !f->rcode && i < f->nrr; i++) {
		size_t rdlen_at;

		ans[o++] = 0xc0;	/* owner: the question name */
		ans[o++] = 12;
		ans[o++] = 0;
		ans[o++] = (unsigned char)type;
		ans[o++] = 0;
		ans[o++] = ns_c_in;
		ans[o++] = (unsigned char)(f->rr[i].ttl >> 24);
		ans[o++] = (unsigned char)(f->rr[i].ttl >> 16);
		ans[o++] = (unsigned char)(f->rr[i].ttl >> 8);
		ans[o++] = (unsigned char)f->rr[i].ttl;
		rdlen_at = o;
		o += 2;
		if (type == ns_t_mx) {
			ans[o++] = (unsigned char)(f->rr[i].pref >> 8);
			ans[o++] = (unsigned char)f->rr[i].pref;
			o += put_name(ans + o, f->rr[i].data, name);
		} else {
			int fam = type == ns_t_a ? AF_INET : AF_INET6;

			assert_int_equal(inet_pton(fam, f->rr[i].data, ans + o), 1);
			o += fam == AF_INET ? 4 : 16;
		}
		ans[rdlen_at] = (unsigned char)((o - rdlen_at - 2) >> 8);
		ans[rdlen_at + 1] = (unsigned char)(o - rdlen_at - 2);
	}
	return (int)o;
}

static bool queried(const char *what)
{
	for (size_t i = 0; i < nq; i++)
		if (!strcmp(qlog[i], what))
			return true;
	return false;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static struct policy *load(const char *outbound)
{
	char path[] = "/tmp/tg-policy-resolve.XXXXXX";
	struct policy_error err = { 0 };
	struct policy *p = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, outbound, strlen(outbound)), (ssize_t)strlen(outbound));
	close(fd);
	if (policy_load(path, NULL, &p, &err))
		fail_msg("%s", err.msg);
	unlink(path);
	return p;
}

static struct policy_resolver *resolver(uint32_t min_ttl)
{
	struct policy_resolver_opts o = {
		.sz = sizeof(o),
		.min_ttl = min_ttl,
		.max_ttl = 3600,
		.retry_s = 60,
		.query = fake_query,
	};
	struct policy_resolver *r = NULL;

	assert_int_equal(policy_resolver_new(&o, &r), 0);
	return r;
}

static struct policy_match at(const struct policy *p, const char *a)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, a, &s4->sin_addr), 1);
	}
	return policy_match_addr(p, (struct sockaddr *)&ss);
}

static const char *mx_of(const struct policy *p, const char *a)
{
	static char buf[256];
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, a, &s4.sin_addr), 1);
	if (policy_mx_for_addr(p, (struct sockaddr *)&s4, buf, sizeof(buf)))
		return "(none)";
	return buf;
}

struct status_cap {
	char text[1024];
};

static int cap_status(const struct policy_name_status *st, void *arg)
{
	struct status_cap *c = arg;
	size_t n = strlen(c->text);

	snprintf(c->text + n, sizeof(c->text) - n,
		 "%s%s addrs=%zu set=%d fail=%u exp=%llu err=%s\n", st->name,
		 st->is_host ? "(host)" : "", st->naddrs, st->have_set, st->failures,
		 (unsigned long long)st->expires, st->last_error);
	return 0;
}

static const char *status(struct policy_resolver *r)
{
	static struct status_cap c;

	c.text[0] = '\0';
	assert_int_equal(policy_resolver_foreach(r, cap_status, &c), 0);
	return c.text;
}

#define RR(ttl, pref, data) ((struct fake_rr){ (ttl), (pref), (data) })

static void zone_v1(void)
{
	fake_reset();
	fake_set("example.org", ns_t_mx, 0, 2, RR(300, 10, "mx1.example.org"),
		 RR(300, 20, "mx2.example.org"));
	fake_set("mx1.example.org", ns_t_a, 0, 1, RR(600, 0, "198.51.100.11"));
	fake_set("mx1.example.org", ns_t_aaaa, 0, 1, RR(600, 0, "2001:db8:5::11"));
	fake_set("mx2.example.org", ns_t_a, 0, 1, RR(120, 0, "198.51.100.12"));
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_mx_and_ttl_refresh(void **state)
{
	struct policy *p = load("example.org encrypt\n.example.org verify\n");
	struct policy_resolver *r = resolver(1);
	struct policy_resolve_stats st;

	(void)state;
	zone_v1();
	/* Before any refresh nothing is known about addresses. */
	assert_string_equal(at(p, "198.51.100.11").how, "default");
	assert_int_equal(policy_resolver_refresh(r, p, 1000, &st), 0);
	assert_int_equal(st.names, 1);	/* .example.org cannot be resolved */
	assert_int_equal(st.queried, 1);
	assert_int_equal(st.ok, 1);
	assert_int_equal(st.addrs, 3);
	assert_true(queried("MX example.org"));
	assert_true(queried("A mx1.example.org"));
	assert_true(queried("AAAA mx2.example.org"));
	assert_string_equal(at(p, "198.51.100.11").rule->key, "example.org");
	assert_string_equal(at(p, "198.51.100.11").how, "resolved");
	assert_string_equal(at(p, "2001:db8:5::11").rule->key, "example.org");
	assert_string_equal(mx_of(p, "198.51.100.12"), "mx2.example.org");
	/* The smallest TTL of the records used (mx2's A, 120 s) decides the next query. */
	assert_int_equal(policy_resolver_next_due(r), 1120);

	/* The zone changes; not due yet: nothing is queried and the set stays. */
	fake_set("mx2.example.org", ns_t_a, 0, 1, RR(120, 0, "198.51.100.13"));
	nq = 0;
	assert_int_equal(policy_resolver_refresh(r, p, 1119, &st), 0);
	assert_int_equal(st.queried, 0);
	assert_int_equal(nq, 0);
	assert_string_equal(at(p, "198.51.100.12").how, "resolved");
	/* Due: the new set replaces the old one. */
	assert_int_equal(policy_resolver_refresh(r, p, 1120, &st), 0);
	assert_int_equal(st.queried, 1);
	assert_string_equal(at(p, "198.51.100.13").how, "resolved");
	assert_string_equal(at(p, "198.51.100.12").how, "default");
	assert_int_equal(policy_resolver_next_due(r), 1240);
	policy_resolver_free(r);
	policy_put(p);
}

static void test_failure_keeps_last_good(void **state)
{
	struct policy *p = load("example.org encrypt\n");
	struct policy_resolver *r = resolver(1);
	struct policy_resolve_stats st;
	static const struct {
		int rcode, err;
		const char *why;
	} failures[] = {
		{ ns_r_servfail, 0, "MX example.org: SERVFAIL" },
		{ 0, ETIMEDOUT, "MX example.org: no usable answer (timeout, SERVFAIL or REFUSED)" },
		{ ns_r_nxdomain, 0, "MX example.org: NXDOMAIN" },
		{ ns_r_refused, 0, "MX example.org: REFUSED" },
	};
	uint64_t now = 1000;

	(void)state;
	zone_v1();
	assert_int_equal(policy_resolver_refresh(r, p, now, &st), 0);
	assert_int_equal(st.addrs, 3);
	for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
		char want[256];

		now = policy_resolver_next_due(r);
		if (failures[i].err)
			fake_fail("example.org", ns_t_mx, failures[i].err);
		else
			fake_set("example.org", ns_t_mx, failures[i].rcode, 0);
		assert_int_equal(policy_resolver_refresh(r, p, now, &st), 0);
		assert_int_equal(st.failed, 1);
		assert_int_equal(st.addrs, 3);	/* the last good set stays */
		assert_string_equal(at(p, "198.51.100.12").rule->key, "example.org");
		snprintf(want, sizeof(want), "example.org addrs=3 set=1 fail=%zu exp=%llu err=%s\n",
			 i + 1, (unsigned long long)now + 60, failures[i].why);
		assert_string_equal(status(r), want);
	}
	/* Recovery resets the failure count. */
	zone_v1();
	assert_int_equal(policy_resolver_refresh(r, p, now + 60, &st), 0);
	assert_int_equal(st.ok, 1);
	assert_non_null(strstr(status(r), "fail=0"));
	/* A failing MX host (not NXDOMAIN: a SERVFAIL) fails the whole name: no partial set. */
	fake_set("mx2.example.org", ns_t_aaaa, ns_r_servfail, 0);
	fake_set("mx2.example.org", ns_t_a, 0, 1, RR(120, 0, "198.51.100.99"));
	assert_int_equal(policy_resolver_refresh(r, p, policy_resolver_next_due(r), &st), 0);
	assert_int_equal(st.failed, 1);
	assert_string_equal(at(p, "198.51.100.99").how, "default");
	assert_string_equal(at(p, "198.51.100.12").how, "resolved");
	policy_resolver_free(r);
	policy_put(p);
}

static void test_implicit_null_and_dangling_mx(void **state)
{
	struct policy *p = load("implicit.example encrypt\n"
				"nullmx.example encrypt\n"
				"dangling.example encrypt\n"
				"nothing.example encrypt\n");
	struct policy_resolver *r = resolver(1);
	struct policy_resolve_stats st;
	const char *s;

	(void)state;
	fake_reset();
	/* No MX (NODATA): the domain is its own mail host. */
	fake_set("implicit.example", ns_t_a, 0, 1, RR(300, 0, "203.0.113.5"));
	/* RFC 7505 null MX: takes no mail; an empty set is the truth, not a failure. */
	fake_set("nullmx.example", ns_t_mx, 0, 1, RR(300, 0, ""));
	/* One MX host does not exist, the other does. */
	fake_set("dangling.example", ns_t_mx, 0, 2, RR(300, 10, "gone.dangling.example"),
		 RR(300, 20, "mx.dangling.example"));
	fake_set("gone.dangling.example", ns_t_a, ns_r_nxdomain, 0);
	fake_set("gone.dangling.example", ns_t_aaaa, ns_r_nxdomain, 0);
	fake_set("mx.dangling.example", ns_t_a, 0, 1, RR(300, 0, "203.0.113.6"));
	/* Every MX host gone: no address at all is a failure (nothing to replace the set with). */
	fake_set("nothing.example", ns_t_mx, 0, 1, RR(300, 10, "gone.dangling.example"));
	assert_int_equal(policy_resolver_refresh(r, p, 1000, &st), 0);
	assert_int_equal(st.queried, 4);
	assert_int_equal(st.ok, 3);
	assert_int_equal(st.failed, 1);
	assert_true(queried("A implicit.example"));
	assert_string_equal(at(p, "203.0.113.5").rule->key, "implicit.example");
	assert_string_equal(mx_of(p, "203.0.113.5"), "implicit.example");
	assert_string_equal(at(p, "203.0.113.6").rule->key, "dangling.example");
	s = status(r);
	assert_non_null(strstr(s, "nullmx.example addrs=0 set=1 fail=0"));
	assert_non_null(strstr(s, "nothing.example addrs=0 set=0 fail=1 exp=1060 "
				  "err=nothing.example: no address found\n"));
	policy_resolver_free(r);
	policy_put(p);
}

static void test_host_and_literal_rules(void **state)
{
	struct policy *p = load("[mx.example.net]:25 secure\n"
				"[192.0.2.27] encrypt\n"
				"[ipv6:2001:db8::27] encrypt\n");
	struct policy_resolver *r = resolver(1);
	struct policy_resolve_stats st;

	(void)state;
	fake_reset();
	fake_set("mx.example.net", ns_t_a, 0, 1, RR(300, 0, "198.51.100.30"));
	fake_set("mx.example.net", ns_t_mx, 0, 1, RR(300, 10, "wrong.example.net"));
	assert_int_equal(policy_resolver_refresh(r, p, 1000, &st), 0);
	assert_int_equal(st.names, 1);	/* literals need no DNS */
	assert_false(queried("MX mx.example.net"));	/* [host]: no MX lookup, as Postfix */
	assert_true(queried("A mx.example.net"));
	assert_int_equal(nq, 2);
	assert_int_equal(st.addrs, 3);
	assert_string_equal(at(p, "198.51.100.30").rule->key, "[mx.example.net]:25");
	assert_string_equal(at(p, "192.0.2.27").rule->key, "[192.0.2.27]");
	assert_string_equal(at(p, "2001:db8::27").rule->key, "[ipv6:2001:db8::27]");
	assert_string_equal(mx_of(p, "198.51.100.30"), "mx.example.net");
	assert_string_equal(mx_of(p, "192.0.2.27"), "");	/* a literal has no name */
	assert_string_equal(mx_of(p, "192.0.2.28"), "(none)");
	policy_resolver_free(r);
	policy_put(p);
}

static void test_ttl_clamp(void **state)
{
	struct policy *p = load("example.org encrypt\n");
	struct policy_resolver *r = resolver(30);
	struct policy_resolve_stats st;

	(void)state;
	fake_reset();
	fake_set("example.org", ns_t_mx, 0, 1, RR(5, 10, "mx.example.org"));
	fake_set("mx.example.org", ns_t_a, 0, 1, RR(0x80000005u, 0, "198.51.100.1"));
	assert_int_equal(policy_resolver_refresh(r, p, 1000, &st), 0);
	assert_int_equal(policy_resolver_next_due(r), 1030);	/* min_ttl */
	fake_set("example.org", ns_t_mx, 0, 1, RR(999999, 10, "mx.example.org"));
	fake_set("mx.example.org", ns_t_a, 0, 1, RR(999999, 0, "198.51.100.1"));
	assert_int_equal(policy_resolver_refresh(r, p, 1030, &st), 0);
	assert_int_equal(policy_resolver_next_due(r), 1030 + 3600);	/* max_ttl */
	policy_resolver_free(r);
	policy_put(p);
}

static bool has_entry(const struct tg_bpf_policy_entry *v, size_t n, const char *a,
		      unsigned int plen, enum policy_level level, uint32_t id)
{
	uint8_t want[16] = { 0 };
	int fam = strchr(a, ':') ? AF_INET6 : AF_INET;

	inet_pton(fam, a, want);
	for (size_t i = 0; i < n; i++)
		if (v[i].family == fam && !memcmp(v[i].addr, want, 16) && v[i].prefix_len == plen)
			return v[i].level == level && v[i].rule_id == id;
	return false;
}

static void test_precedence_and_lpm_entries(void **state)
{
	struct policy *p = load("a.example encrypt\n"
				"b.example verify\n"
				"c.example secure\n"
				"198.51.100.0/24 may\n"
				"203.0.113.0/24 secure\n"
				"203.0.113.9 none\n");
	struct policy_resolver *r = resolver(1);
	struct policy_resolve_stats st;
	struct tg_bpf_policy_entry *v = NULL;
	size_t n = 0;
	uint32_t ida, idb, idc, id24, id9;

	(void)state;
	fake_reset();
	/* a and b share an MX; c's MX is inside a stricter CIDR; c also has a host rule. */
	fake_set("a.example", ns_t_mx, 0, 1, RR(300, 10, "mx.shared.example"));
	fake_set("b.example", ns_t_mx, 0, 1, RR(300, 10, "mx.shared.example"));
	fake_set("mx.shared.example", ns_t_a, 0, 1, RR(300, 0, "198.51.100.7"));
	fake_set("c.example", ns_t_mx, 0, 1, RR(300, 10, "mx.c.example"));
	fake_set("mx.c.example", ns_t_a, 0, 2, RR(300, 0, "203.0.113.8"),
		 RR(300, 0, "203.0.113.9"));
	assert_int_equal(policy_resolver_refresh(r, p, 1000, &st), 0);
	ida = policy_rule_find(p, POLICY_OUTBOUND, "a.example")->id;
	idb = policy_rule_find(p, POLICY_OUTBOUND, "b.example")->id;
	idc = policy_rule_find(p, POLICY_OUTBOUND, "c.example")->id;
	id24 = policy_rule_find(p, POLICY_OUTBOUND, "203.0.113.0/24")->id;
	id9 = policy_rule_find(p, POLICY_OUTBOUND, "203.0.113.9")->id;

	/* Shared MX: the stricter domain wins at the address. */
	assert_string_equal(at(p, "198.51.100.7").rule->key, "b.example");
	/* A weaker address rule cannot weaken a resolved domain... */
	assert_string_equal(at(p, "198.51.100.8").rule->key, "198.51.100.0/24");
	/* ...equal level: the domain is more specific than the CIDR. */
	assert_string_equal(at(p, "203.0.113.8").rule->key, "c.example");
	/* An address rule saying "none" cannot weaken c.example's "secure". */
	assert_string_equal(at(p, "203.0.113.9").rule->key, "c.example");

	assert_int_equal(policy_lpm_entries(p, POLICY_OUTBOUND, &v, &n), 0);
	assert_int_equal(n, 5);
	assert_true(has_entry(v, n, "198.51.100.0", 24, POLICY_MAY,
			      policy_rule_find(p, POLICY_OUTBOUND, "198.51.100.0/24")->id));
	assert_true(has_entry(v, n, "198.51.100.7", 32, POLICY_VERIFY, idb));
	assert_true(has_entry(v, n, "203.0.113.0", 24, POLICY_SECURE, id24));
	assert_true(has_entry(v, n, "203.0.113.8", 32, POLICY_SECURE, idc));
	/* The address had its own rule (none): one entry, carrying the winner. */
	assert_true(has_entry(v, n, "203.0.113.9", 32, POLICY_SECURE, idc));
	(void)ida;
	(void)id9;
	/* Sorted: 198.51.100.0/24 before 198.51.100.7/32. */
	assert_int_equal(v[0].prefix_len, 24);
	assert_int_equal(v[1].prefix_len, 32);
	free(v);
	/* Inbound: address rules only (none here). */
	assert_int_equal(policy_lpm_entries(p, POLICY_INBOUND, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	policy_resolver_free(r);
	policy_put(p);
}

/* The address on a port, for [host]:port rules. */
static struct policy_match at_port(const struct policy *p, const char *a, uint16_t port)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };

	assert_int_equal(inet_pton(AF_INET, a, &s4.sin_addr), 1);
	return policy_match_addr(p, (struct sockaddr *)&s4);
}

/* Issue 13.5: a [host]:port rule applies on its port only, in the daemon and in the kernel. */
static void test_port_rules(void **state)
{
	struct policy *p = load("[mx.sub.example]:587 encrypt\n"
				"[mx.both.example] may\n"
				"[mx.both.example]:587 secure\n"
				"203.0.113.0/24 verify\n");
	struct policy_resolver *r = resolver(1);
	struct policy_resolve_stats st;
	struct tg_bpf_policy_entry *v = NULL;
	size_t n = 0;
	uint32_t id587, idboth587, id24;

	(void)state;
	fake_reset();
	fake_set("mx.sub.example", ns_t_a, 0, 1, RR(300, 0, "198.51.100.20"));
	fake_set("mx.both.example", ns_t_a, 0, 1, RR(300, 0, "203.0.113.30"));
	assert_int_equal(policy_resolver_refresh(r, p, 1000, &st), 0);
	id587 = policy_rule_find(p, POLICY_OUTBOUND, "[mx.sub.example]:587")->id;
	idboth587 = policy_rule_find(p, POLICY_OUTBOUND, "[mx.both.example]:587")->id;
	id24 = policy_rule_find(p, POLICY_OUTBOUND, "203.0.113.0/24")->id;

	/* the daemon: by port */
	assert_int_equal(at_port(p, "198.51.100.20", 587).rule->id, id587);
	assert_int_equal(at_port(p, "198.51.100.20", 25).rule->id, POLICY_ID_DEFAULT_OUT);
	assert_int_equal(at_port(p, "203.0.113.30", 587).rule->id, idboth587);
	/* on 25 the address rule (verify) beats [host] may */
	assert_int_equal(at_port(p, "203.0.113.30", 25).rule->id, id24);

	/* the kernel: an any-port entry, then the port's own */
	assert_int_equal(policy_lpm_entries(p, POLICY_OUTBOUND, &v, &n), 0);
	assert_int_equal(n, 5);
	/* 198.51.100.20: no any-port rule there: the default, then 587 encrypt */
	assert_int_equal(v[0].prefix_len, 32);
	assert_int_equal(v[0].port, 0);
	assert_int_equal(v[0].rule_id, POLICY_ID_DEFAULT_OUT);
	assert_int_equal(v[1].port, 587);
	assert_int_equal(v[1].rule_id, id587);
	assert_int_equal(v[1].level, POLICY_ENCRYPT);
	/* 203.0.113.0/24 verify; 203.0.113.30: any port verify (the CIDR wins over may), 587
	 * secure */
	assert_int_equal(v[2].prefix_len, 24);
	assert_int_equal(v[2].rule_id, id24);
	assert_int_equal(v[3].port, 0);
	assert_int_equal(v[3].rule_id, id24);
	assert_int_equal(v[4].port, 587);
	assert_int_equal(v[4].rule_id, idboth587);
	assert_int_equal(v[4].level, POLICY_SECURE);
	free(v);
	policy_resolver_free(r);
	policy_put(p);
}

/* A deferred domain (tafile=, which tlsgate cannot honour) on a shared MX: its recipients are
 * deferred at RCPT; the MX
 * itself is not refused, for the other domains it serves (as Postfix defers per next-hop). */
static void test_defer_not_resolved(void **state)
{
	struct policy *p = load("a.example verify tafile=/etc/ssl/x.pem\n"
				"b.example encrypt\n");
	struct policy_resolver *r = resolver(1);
	struct policy_resolve_stats st;
	struct tg_bpf_policy_entry *v = NULL;
	size_t n = 0;

	(void)state;
	fake_reset();
	fake_set("a.example", ns_t_mx, 0, 1, RR(300, 10, "mx.shared.example"));
	fake_set("b.example", ns_t_mx, 0, 1, RR(300, 10, "mx.shared.example"));
	fake_set("mx.shared.example", ns_t_a, 0, 1, RR(300, 0, "198.51.100.7"));
	assert_int_equal(policy_resolver_refresh(r, p, 1000, &st), 0);
	assert_false(queried("MX a.example"));
	assert_int_equal(policy_match_domain(p, "a.example").rule->level, POLICY_DEFER);
	assert_string_equal(at(p, "198.51.100.7").rule->key, "b.example");
	assert_int_equal(policy_lpm_entries(p, POLICY_OUTBOUND, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].level, POLICY_ENCRYPT);
	free(v);
	policy_resolver_free(r);
	policy_put(p);
}

static void test_cache_across_reload(void **state)
{
	struct policy *p = load("example.org encrypt\n"), *q;
	struct policy_resolver *r = resolver(1);
	struct policy_resolve_stats st;

	(void)state;
	zone_v1();
	assert_int_equal(policy_resolver_refresh(r, p, 1000, &st), 0);
	/* A reload with the same domain: nothing queried, addresses there at once. */
	q = load("example.org verify\nother.example may\n");
	fake_set("other.example", ns_t_a, 0, 1, RR(300, 0, "192.0.2.50"));
	nq = 0;
	assert_int_equal(policy_resolver_refresh(r, q, 1001, &st), 0);
	assert_int_equal(st.names, 2);
	assert_int_equal(st.queried, 1);	/* only the new name */
	assert_false(queried("MX example.org"));
	assert_int_equal(at(q, "198.51.100.11").rule->level, POLICY_VERIFY);
	/* The old snapshot keeps its own map. */
	assert_int_equal(at(p, "198.51.100.11").rule->level, POLICY_ENCRYPT);
	/* Names no longer used are dropped from the cache. */
	policy_put(q);
	q = load("other.example may\n");
	assert_int_equal(policy_resolver_refresh(r, q, 1002, &st), 0);
	assert_null(strstr(status(r), "example.org "));
	assert_non_null(strstr(status(r), "other.example addrs=1"));
	policy_put(q);
	policy_resolver_free(r);
	policy_put(p);
}

static void test_options(void **state)
{
	struct policy_resolver_opts o = { .sz = sizeof(o), .nameserver = "2001:db8::53" };
	struct policy_resolver *r = NULL;

	(void)state;
	assert_int_equal(policy_resolver_new(&o, &r), -EAFNOSUPPORT);
	o.nameserver = "203.0.113.53:99999";
	assert_int_equal(policy_resolver_new(&o, &r), -EINVAL);
	o.nameserver = "not-an-address";
	assert_int_equal(policy_resolver_new(&o, &r), -EINVAL);
	o.nameserver = "203.0.113.53:5353";
	assert_int_equal(policy_resolver_new(&o, &r), 0);
	assert_int_equal(policy_resolver_next_due(r), UINT64_MAX);
	policy_resolver_free(r);
	assert_int_equal(policy_resolver_new(NULL, &r), 0);	/* all defaults */
	policy_resolver_free(r);
	assert_true(policy_resolver_now() > 0);
}

/* Matching on other threads while refreshes replace the map: never a torn or freed read. */
struct race {
	struct policy *p;
	atomic_bool stop;
	atomic_ulong seen_resolved;
};

static void *reader(void *arg)
{
	struct race *rc = arg;

	while (!atomic_load(&rc->stop)) {
		struct policy_match m = at(rc->p, "198.51.100.11");

		if (!strcmp(m.how, "resolved"))
			atomic_fetch_add(&rc->seen_resolved, 1);
		else if (strcmp(m.how, "default"))
			abort();
	}
	return NULL;
}

static void test_readers_race_refreshes(void **state)
{
	struct race rc = { .p = load("example.org encrypt\n") };
	struct policy_resolver *r = resolver(1);
	pthread_t th[2];

	(void)state;
	zone_v1();
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &rc), 0);
	/* At least 200 map replacements, and on until the readers have matched a good number of
	 * times during them (a busy machine may not schedule them at once); bounded. */
	for (uint64_t now = 1000, i = 0;
	     i < 200 || (atomic_load(&rc.seen_resolved) < 10000 && i < 2000000); now += 120, i++)
		assert_int_equal(policy_resolver_refresh(r, rc.p, now, NULL), 0);
	atomic_store(&rc.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_true(atomic_load(&rc.seen_resolved) > 0);
	policy_resolver_free(r);
	policy_put(rc.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_and_ttl_refresh),
		cmocka_unit_test(test_failure_keeps_last_good),
		cmocka_unit_test(test_implicit_null_and_dangling_mx),
		cmocka_unit_test(test_host_and_literal_rules),
		cmocka_unit_test(test_ttl_clamp),
		cmocka_unit_test(test_precedence_and_lpm_entries),
		cmocka_unit_test(test_defer_not_resolved),
		cmocka_unit_test(test_port_rules),
		cmocka_unit_test(test_cache_across_reload),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_readers_race_refreshes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
