// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/sts.c, sts_http.c and sts_cache.c: the MTA-STS TXT record (§3.1), the policy text (§3.2, LF and
 * CRLF, unknown keys, limits), the HTTP answer (status 200 only, text/plain, 64 KiB), MX
 * patterns (§4.1), the on-disk record, and the cache (round trip through a restart, eviction,
 * purge).  tests/fuzz/fuzz_policy_sts.c covers what hand-made cases do not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/nameser.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/sts.h"
#include "tests/lib/tmpdir.h"

/* ---- TXT ---- */

static int txt(const char *s, char *id)
{
	return policy_sts_txt_parse(s, strlen(s), id);
}

static void test_txt_record(void **state)
{
	char id[POLICY_STS_ID_MAX + 1];

	(void)state;
	assert_int_equal(txt("v=STSv1; id=20160831085700Z;", id), 0);
	assert_string_equal(id, "20160831085700Z");
	assert_int_equal(txt("v=STSv1;id=abc", id), 0);
	assert_string_equal(id, "abc");
	assert_int_equal(txt("v=STSv1 ;  id=x1 ; ext=va:lue ;", id), 0);
	assert_string_equal(id, "x1");
	assert_int_equal(txt("v=STSv1; ext.a-b_c=1; id=Z9", id), 0);
	assert_string_equal(id, "Z9");
	/* 32 characters is the most */
	assert_int_equal(txt("v=STSv1; id=0123456789abcdef0123456789ABCDEF", id), 0);
	assert_int_equal(txt("v=STSv1; id=0123456789abcdef0123456789ABCDEFx", id), -EINVAL);
	assert_int_equal(txt("v=STSv1;", id), -EINVAL);		/* no id */
	assert_int_equal(txt("v=STSv1", id), -EINVAL);
	assert_int_equal(txt("v=STSv1; id=", id), -EINVAL);
	assert_int_equal(txt("v=STSv1; id=a-b", id), -EINVAL);	/* id: letters and digits */
	/* a repeated id: the first counts, the rest must be well-formed extensions */
	assert_int_equal(txt("v=STSv1; id=a; id=b", id), 0);
	assert_string_equal(id, "a");
	assert_int_equal(txt("v=STSv1; id=a; id=b-c:d", id), 0);
	assert_int_equal(txt("v=STSv1; id=a; id=b;c", id), -EINVAL);
	assert_int_equal(txt("v=STSv2; id=a", id), -EINVAL);
	assert_int_equal(txt("id=a; v=STSv1", id), -EINVAL);	/* version first */
	assert_int_equal(txt("v=STSv1; id=a; x=a=b", id), -EINVAL);
	assert_int_equal(txt("v=STSv1; id=a; =b", id), -EINVAL);
	assert_int_equal(txt("v=STSv1; id=a x", id), -EINVAL);
	/* §3.1: only records beginning "v=STSv1;" count (blanks allowed before the ';') */
	assert_false(policy_sts_txt_is_sts("v=STSv10; id=a", 14));
	assert_false(policy_sts_txt_is_sts("v=STSv1", 7));
	assert_false(policy_sts_txt_is_sts("v=STSv1 id=a", 12));
	assert_true(policy_sts_txt_is_sts("v=STSv1 \t;", 10));
	/* not NUL-terminated: only len bytes are read */
	assert_int_equal(policy_sts_txt_parse("v=STSv1; id=abcXXX", 15, id), 0);
	assert_string_equal(id, "abc");
}

/* A response to a TXT query for _mta-sts.example.org: each record a list of strings. */
static size_t txt_answer(unsigned char *m, int rcode, const char *const *const *recs)
{
	static const unsigned char q[] = { 8, '_', 'm', 't', 'a', '-', 's', 't', 's', 7, 'e', 'x',
					   'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
					   0, ns_t_txt, 0, 1 };
	size_t n = 12, an = 0;

	memset(m, 0, 12);
	m[2] = 0x81;
	m[3] = (unsigned char)(0x80 | rcode);
	m[5] = 1;
	memcpy(m + n, q, sizeof(q));
	n += sizeof(q);
	for (; recs && recs[an]; an++) {
		size_t rdlen = 0, at;

		m[n++] = 0xc0;
		m[n++] = 12;
		m[n++] = 0;
		m[n++] = ns_t_txt;
		m[n++] = 0;
		m[n++] = 1;
		memset(m + n, 0, 3);
		m[n + 3] = 60;
		n += 4;
		at = n;
		n += 2;
		for (const char *const *s = recs[an]; *s; s++) {
			size_t l = strlen(*s);

			m[n++] = (unsigned char)l;
			memcpy(m + n, *s, l);
			n += l;
			rdlen += l + 1;
		}
		m[at] = (unsigned char)(rdlen >> 8);
		m[at + 1] = (unsigned char)rdlen;
	}
	m[7] = (unsigned char)an;
	return n;
}

static void test_txt_answer(void **state)
{
	static const char *const one[] = { "v=STSv1; id=", "abc123;", NULL };	/* split */
	static const char *const spf[] = { "v=spf1 -all", NULL };
	static const char *const two[] = { "v=STSv1; id=other", NULL };
	static const char *const bad[] = { "v=STSv1; id=a-b", NULL };
	static const char *const *const r_one[] = { spf, one, NULL };
	static const char *const *const r_two[] = { one, two, NULL };
	static const char *const *const r_spf[] = { spf, NULL };
	static const char *const *const r_bad[] = { bad, spf, NULL };
	char id[POLICY_STS_ID_MAX + 1], why[128];
	unsigned char m[1024];
	size_t n;

	(void)state;
	n = txt_answer(m, 0, r_one);
	assert_int_equal(policy_sts_txt_answer(m, n, id, why, sizeof(why)), 0);
	assert_string_equal(id, "abc123");
	n = txt_answer(m, 0, r_two);
	assert_int_equal(policy_sts_txt_answer(m, n, id, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "exactly one"));
	n = txt_answer(m, 0, r_spf);
	assert_int_equal(policy_sts_txt_answer(m, n, id, why, sizeof(why)), -ENOENT);
	n = txt_answer(m, 0, r_bad);
	assert_int_equal(policy_sts_txt_answer(m, n, id, why, sizeof(why)), -EINVAL);
	n = txt_answer(m, ns_r_nxdomain, NULL);
	assert_int_equal(policy_sts_txt_answer(m, n, id, why, sizeof(why)), -ENOENT);
	n = txt_answer(m, ns_r_servfail, NULL);
	assert_int_equal(policy_sts_txt_answer(m, n, id, why, sizeof(why)), -EAGAIN);
	/* a character-string longer than its RDATA */
	n = txt_answer(m, 0, r_one);
	m[12 + 26 + 12] = 200;
	assert_int_equal(policy_sts_txt_answer(m, n, id, why, sizeof(why)), -EINVAL);
	/* truncated message */
	n = txt_answer(m, 0, r_one);
	assert_int_equal(policy_sts_txt_answer(m, n - 3, id, why, sizeof(why)), -EINVAL);
}

/* ---- policy text ---- */

static int pol(const char *s, struct policy_sts_policy *p)
{
	char why[128];

	return policy_sts_policy_parse(s, strlen(s), p, why, sizeof(why));
}

static void test_policy_text(void **state)
{
	struct policy_sts_policy p;
	char why[128];

	(void)state;
	/* The RFC's example, CRLF */
	assert_int_equal(pol("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
			     "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
			     &p), 0);
	assert_int_equal(p.mode, POLICY_STS_ENFORCE);
	assert_int_equal(p.max_age, 604800);
	assert_int_equal(p.nmx, 3);
	assert_string_equal(p.mx[1], "*.example.net");
	policy_sts_policy_clear(&p);
	/* LF, no final newline, blanks, unknown keys, upper-case MX folded */
	assert_int_equal(pol("version:STSv1\nfoo: bar baz\nmode:   testing \nmx: MX.Example.ORG\n"
			     "max_age: 86400", &p), 0);
	assert_int_equal(p.mode, POLICY_STS_TESTING);
	assert_string_equal(p.mx[0], "mx.example.org");
	policy_sts_policy_clear(&p);
	/* mode none needs no mx */
	assert_int_equal(pol("version: STSv1\nmode: none\nmax_age: 0\n", &p), 0);
	assert_int_equal(p.mode, POLICY_STS_NONE);
	policy_sts_policy_clear(&p);
	/* a repeated mode: the first counts */
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmode: none\nmx: a.b\nmax_age: 1\n",
			     &p), 0);
	assert_int_equal(p.mode, POLICY_STS_ENFORCE);
	policy_sts_policy_clear(&p);
	/* refused */
	assert_int_equal(pol("mode: enforce\nmx: a.b\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n", &p),
			 -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557600\n", &p),
			 0);
	policy_sts_policy_clear(&p);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1\n", &p),
			 -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b.\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("<html>\n<body>hello</body>\n", &p), -EINVAL);
	/* lines that are not "key: value" are ignored like unknown keys */
	assert_int_equal(pol("version: STSv1\n<!-- x -->\nmode : none\n mode: testing\n"
			     "mode: enforce\nmx: a.b\nmax_age: 1\n", &p), 0);
	assert_int_equal(p.mode, POLICY_STS_ENFORCE);
	policy_sts_policy_clear(&p);
	/* mx: RFC 5321 Domain (letters, digits, inner hyphens) */
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a-1.b\nmax_age: 1\n", &p), 0);
	policy_sts_policy_clear(&p);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: -a.b\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a-.b\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a_b.c\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(pol("version: STSv1\nmode: enforce\rmx: a.b\nmax_age: 1\n", &p), -EINVAL);
	assert_int_equal(policy_sts_policy_parse("version: STSv1\n\0", 16, &p, why, sizeof(why)),
			 -EINVAL);
	{
		size_t big = POLICY_STS_MAX_BODY + 1;
		char *t = malloc(big);

		assert_non_null(t);
		memset(t, '\n', big);
		assert_int_equal(policy_sts_policy_parse(t, big, &p, why, sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "larger"));
		free(t);
	}
}

static void test_patterns(void **state)
{
	(void)state;
	assert_true(policy_sts_pattern_match("mx.example.org", "mx.example.org"));
	assert_true(policy_sts_pattern_match("mx.example.org", "MX.Example.Org."));
	assert_false(policy_sts_pattern_match("mx.example.org", "mx2.example.org"));
	assert_true(policy_sts_pattern_match("*.example.net", "mx1.example.net"));
	assert_true(policy_sts_pattern_match("*.example.net", "MX1.EXAMPLE.NET."));
	assert_false(policy_sts_pattern_match("*.example.net", "example.net"));
	assert_false(policy_sts_pattern_match("*.example.net", "a.b.example.net"));
	assert_false(policy_sts_pattern_match("*.example.net", ".example.net"));
	assert_false(policy_sts_pattern_match("*.example.net", "mx1.example.net.evil"));
	assert_false(policy_sts_pattern_match("*.example.net", ""));
	assert_false(policy_sts_pattern_match("*.example.net", "."));
}

/* ---- HTTP ---- */

/* The parser rewrites a chunked body in place: a copy per call (kept until the next). */
static int http(const char *s, bool eof, const char **body, size_t *blen, char *why)
{
	static char *copy;

	free(copy);
	copy = strdup(s);
	assert_non_null(copy);
	return policy_sts_http_parse(copy, strlen(s), eof, body, blen, why, 128);
}

static void test_http(void **state)
{
	const char *body;
	char why[128];
	size_t blen;

	(void)state;
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
			      "Content-Length: 5\r\n\r\nhello",
			      false, &body, &blen, why), 0);
	assert_int_equal(blen, 5);
	assert_memory_equal(body, "hello", 5);
	/* no Content-Length: the body ends at close */
	assert_int_equal(http("HTTP/1.0 200 OK\nContent-type: TEXT/PLAIN\n\nabc", false, &body,
			      &blen, why), 1);
	assert_int_equal(http("HTTP/1.0 200 OK\nContent-type: TEXT/PLAIN\n\nabc", true, &body,
			      &blen, why), 0);
	assert_int_equal(blen, 3);
	/* more to come */
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", false, &body,
			      &blen, why), 1);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9"
			      "\r\n\r\nabc", false, &body, &blen, why), 1);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9"
			      "\r\n\r\nabc", true, &body, &blen, why), -EINVAL);
	/* redirects are not followed */
	assert_int_equal(http("HTTP/1.1 301 Moved\r\nLocation: https://evil/\r\n\r\n", false,
			      &body, &blen, why), -EINVAL);
	assert_non_null(strstr(why, "301"));
	assert_non_null(strstr(why, "redirect"));
	assert_int_equal(http("HTTP/1.1 404 Not Found\r\n\r\n", false, &body, &blen, why),
			 -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", true, &body,
			      &blen, why), -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plainx\r\n\r\n", true, &body,
			      &blen, why), -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\n\r\nabc", true, &body, &blen, why), -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Content-Encoding: gzip\r\n\r\nxyz", true, &body, &blen, why),
			 -EINVAL);
	/* chunked: joined, extensions and trailers ignored, LF alone accepted */
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
			      "A;ext=1\r\n0123456789\r\n1\nZ\n0\r\nX-Trailer: 1\r\n\r\n", false,
			      &body, &blen, why), 0);
	assert_int_equal(blen, 14);
	assert_memory_equal(body, "abc0123456789Z", 14);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", false,
			      &body, &blen, why), 1);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", true,
			      &body, &blen, why), -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", false,
			      &body, &blen, why), -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Transfer-Encoding: chunked\r\n\r\nx\r\n", false, &body, &blen, why),
			 -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n10001\r\n", false, &body, &blen,
			      why), -EINVAL);
	assert_non_null(strstr(why, "larger"));
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc"
			      "\r\n0\r\n\r\n", false, &body, &blen, why), -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Transfer-Encoding: gzip, chunked\r\n\r\n", false, &body, &blen, why),
			 -EINVAL);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			      "Content-Length: 65537\r\n\r\n", false, &body, &blen, why), -EINVAL);
	assert_non_null(strstr(why, "larger"));
	assert_int_equal(http("SMTP/1.1 200 OK\r\n\r\n", true, &body, &blen, why), -EINVAL);
	assert_int_equal(http("HTTP/1.1 2000 OK\r\n\r\n", true, &body, &blen, why), -EINVAL);
	assert_int_equal(http("", true, &body, &blen, why), -EINVAL);
	assert_int_equal(http("", false, &body, &blen, why), 1);
	{
		/* no Content-Length and more than 64 KiB: refused before the close */
		const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
		size_t hl = strlen(h), n = hl + POLICY_STS_MAX_BODY + 1;
		char *b = malloc(n);

		assert_non_null(b);
		memcpy(b, h, hl);
		memset(b + hl, 'x', n - hl);
		assert_int_equal(policy_sts_http_parse(b, n, false, &body, &blen, why, sizeof(why)),
				 -EINVAL);
		assert_int_equal(policy_sts_http_parse(b, n - 1, true, &body, &blen, why,
						       sizeof(why)), 0);
		free(b);
	}
}

/* ---- records and the cache ---- */

static const char policy1[] = "version: STSv1\r\nmode: enforce\r\nmx: *.example.org\r\n"
			      "max_age: 86400\r\n";

static void test_record_round_trip(void **state)
{
	struct policy_sts_entry *e, *back;
	char why[128], *rec;
	size_t len;

	(void)state;
	assert_int_equal(policy_sts_entry_new("Example.ORG.", "id1", 1700000000, policy1,
					      strlen(policy1), &e, why, sizeof(why)), 0);
	assert_string_equal(e->domain, "example.org");
	assert_int_equal(e->expires, 1700000000 + 86400);
	assert_int_equal(policy_sts_record_serialize(e, &rec, &len), 0);
	assert_int_equal(policy_sts_record_parse(rec, len, &back, why, sizeof(why)), 0);
	assert_string_equal(back->domain, "example.org");
	assert_string_equal(back->id, "id1");
	assert_int_equal(back->fetched, 1700000000);
	assert_int_equal(back->expires, e->expires);
	assert_int_equal(back->text_len, strlen(policy1));
	assert_memory_equal(back->text, policy1, strlen(policy1));
	assert_true(policy_sts_mx_match(&back->pol, "mx1.example.org"));
	policy_sts_entry_put(back);
	/* a damaged record is refused, not half-used */
	rec[len - 5] = 'x';	/* max_age: 864x0 */
	assert_int_equal(policy_sts_record_parse(rec, len, &back, why, sizeof(why)), -EINVAL);
	memcpy(strstr(rec, "expires: ") + 9, "9", 1);
	assert_int_equal(policy_sts_record_parse(rec, len, &back, why, sizeof(why)), -EINVAL);
	assert_int_equal(policy_sts_record_parse(rec, 10, &back, why, sizeof(why)), -EINVAL);
	free(rec);
	policy_sts_entry_put(e);
	assert_int_equal(policy_sts_entry_new("example.org", "a-b", 1, policy1, strlen(policy1),
					      &e, why, sizeof(why)), -EINVAL);
	assert_int_equal(policy_sts_entry_new("../etc", "a", 1, policy1, strlen(policy1), &e, why,
					      sizeof(why)), -EINVAL);
}

static struct policy_sts_entry *entry(const char *domain, const char *id, int64_t fetched)
{
	struct policy_sts_entry *e;
	char why[128];

	assert_int_equal(policy_sts_entry_new(domain, id, fetched, policy1, strlen(policy1), &e,
					      why, sizeof(why)), 0);
	return e;
}

static void test_cache(void **state)
{
	char dir[] = "/tmp/tg-sts-unit.XXXXXX", sub[64], path[128];
	struct policy_sts_cache *c;
	struct policy_sts_entry *e, *kept;
	struct policy_sts_state st = { 0 };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/mta-sts", dir);
	assert_int_equal(policy_sts_cache_open(sub, 2, &c), 0);
	assert_int_equal(policy_sts_cache_count(c), 0);
	assert_int_equal(policy_sts_cache_put(c, entry("a.example", "one", 100)), 0);
	assert_int_equal(policy_sts_cache_get(c, "a.example", &kept, NULL), 0);
	assert_string_equal(kept->id, "one");
	/* a replacement leaves the reader's entry alone */
	assert_int_equal(policy_sts_cache_put(c, entry("a.example", "two", 200)), 0);
	assert_string_equal(kept->id, "one");
	policy_sts_entry_put(kept);
	st.failures = 3;
	snprintf(st.error, sizeof(st.error), "boom");
	assert_int_equal(policy_sts_cache_set_state(c, "a.example", &st), 0);
	assert_int_equal(policy_sts_cache_put(c, entry("b.example", "b", 300)), 0);
	/* the third evicts the oldest fetch (a.example, 200), file and all */
	assert_int_equal(policy_sts_cache_put(c, entry("c.example", "c", 400)), 0);
	assert_int_equal(policy_sts_cache_count(c), 2);
	assert_int_equal(policy_sts_cache_get(c, "a.example", &e, NULL), -ENOENT);
	assert_null(e);
	snprintf(path, sizeof(path), "%s/a.example", sub);
	assert_int_equal(access(path, F_OK), -1);
	/* domains without a policy go before cached policies, however old these are */
	st = (struct policy_sts_state){ .last_attempt = 1000 };
	assert_int_equal(policy_sts_cache_set_state(c, "x.example", &st), 0);
	assert_int_equal(policy_sts_cache_count(c), 2);
	assert_int_equal(policy_sts_cache_get(c, "b.example", &e, NULL), 0);
	policy_sts_entry_put(e);
	assert_int_equal(policy_sts_cache_get(c, "c.example", &e, NULL), 0);
	policy_sts_entry_put(e);
	assert_int_equal(policy_sts_cache_get(c, "x.example", &e, NULL), -ENOENT);
	st.last_attempt = 1001;
	assert_int_equal(policy_sts_cache_set_state(c, "y.example", &st), 0);
	assert_int_equal(policy_sts_cache_get(c, "y.example", &e, NULL), -ENOENT);
	assert_int_equal(policy_sts_cache_count(c), 2);
	/* unknown domain, purge */
	assert_int_equal(policy_sts_cache_purge(c, "x.example"), -ENOENT);
	assert_int_equal(policy_sts_cache_purge(c, "c.example"), 0);
	snprintf(path, sizeof(path), "%s/c.example", sub);
	assert_int_equal(access(path, F_OK), -1);
	policy_sts_cache_free(c);

	/* a damaged file and a left-over temp file beside the good one */
	snprintf(path, sizeof(path), "%s/d.example", sub);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("tlsgate-mta-sts 1\ndomain: d.example\ngarbage\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/b.example.tmp.abcdef", sub);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	/* the restart: b.example comes back as it was written */
	assert_int_equal(policy_sts_cache_open(sub, 0, &c), 0);
	assert_int_equal(policy_sts_cache_count(c), 1);
	assert_int_equal(policy_sts_cache_get(c, "b.example", &e, &st), 0);
	assert_string_equal(e->id, "b");
	assert_int_equal(e->fetched, 300);
	assert_int_equal(e->pol.mode, POLICY_STS_ENFORCE);
	assert_int_equal(st.failures, 0);	/* state is not persisted */
	policy_sts_entry_put(e);
	assert_int_equal(access(path, F_OK), -1);
	policy_sts_cache_free(c);
	assert_int_equal(tg_tmpdir_remove(dir), 0);
}

/* A large cache evicts in batches (1%), domains without a policy first. */
static void test_cache_batch_eviction(void **state)
{
	char dir[] = "/tmp/tg-sts-unit.XXXXXX", sub[64], name[64];
	struct policy_sts_state st = { 0 };
	struct policy_sts_cache *c;
	struct policy_sts_entry *e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/mta-sts", dir);
	assert_int_equal(policy_sts_cache_open(sub, 1000, &c), 0);
	assert_int_equal(policy_sts_cache_put(c, entry("p1.example", "a", 1)), 0);
	assert_int_equal(policy_sts_cache_put(c, entry("p2.example", "a", 2)), 0);
	for (int i = 0; i < 998; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		st.last_attempt = 100 + i;
		assert_int_equal(policy_sts_cache_set_state(c, name, &st), 0);
	}
	assert_int_equal(policy_sts_cache_count(c), 1000);
	st.last_attempt = 5000;
	assert_int_equal(policy_sts_cache_set_state(c, "new.example", &st), 0);
	/* 1001 > 1000: 1 + 10 go, the oldest without a policy */
	assert_int_equal(policy_sts_cache_count(c), 990);
	assert_int_equal(policy_sts_cache_get(c, "p1.example", &e, NULL), 0);
	policy_sts_entry_put(e);
	assert_int_equal(policy_sts_cache_get(c, "p2.example", &e, NULL), 0);
	policy_sts_entry_put(e);
	assert_int_equal(policy_sts_cache_get(c, "n10.example", NULL, NULL), -ENOENT);
	assert_int_equal(policy_sts_cache_get(c, "n11.example", NULL, NULL), 0);
	assert_int_equal(policy_sts_cache_get(c, "new.example", NULL, NULL), 0);
	policy_sts_cache_free(c);
	assert_int_equal(tg_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt_record),	  cmocka_unit_test(test_txt_answer),
		cmocka_unit_test(test_policy_text),	  cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_http),		  cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_cache),		  cmocka_unit_test(test_cache_batch_eviction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
