// SPDX-License-Identifier: GPL-2.0-only
/* report/tlsrpt.c: the _smtp._tls record, the day's aggregate, its file, the JSON report, gzip,
 * and libtlsrpt's datagram. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "report/tlsrpt.h"

static int parse(const char *s, struct tlsrpt_record *r)
{
	char why[160];

	return tlsrpt_record_parse(s, strlen(s), r, why, sizeof(why));
}

static void test_record(void **state)
{
	struct tlsrpt_record r;

	(void)state;
	assert_int_equal(parse("v=TLSRPTv1; rua=mailto:tlsrpt@example.net", &r), 0);
	assert_int_equal(r.nrua, 1);
	assert_string_equal(r.rua[0], "mailto:tlsrpt@example.net");
	assert_int_equal(parse("v=TLSRPTv1;rua=mailto:a@example.net , https://rpt.example.net/v1;", &r), 0);
	assert_int_equal(r.nrua, 2);
	assert_string_equal(r.rua[1], "https://rpt.example.net/v1");
	/* extensions are ignored, the version is case-sensitive and first */
	assert_int_equal(parse("v=TLSRPTv1; ext=1; rua=https://x.example/", &r), 0);
	assert_int_equal(parse("v=tlsrptv1; rua=mailto:a@example.net", &r), -ENOENT);
	assert_int_equal(parse("rua=mailto:a@example.net; v=TLSRPTv1", &r), -ENOENT);
	assert_int_equal(parse("v=TLSRPTv10; rua=mailto:a@example.net", &r), -ENOENT);
	assert_int_equal(parse("v=spf1 -all", &r), -ENOENT);
	/* a TLSRPTv1 record that is broken */
	assert_int_equal(parse("v=TLSRPTv1", &r), -EINVAL);
	assert_int_equal(parse("v=TLSRPTv1; rua=http://x.example/", &r), -EINVAL);
	assert_int_equal(parse("v=TLSRPTv1; rua=", &r), -EINVAL);
	assert_int_equal(parse("v=TLSRPTv1; rua=mailto:a@x.example; rua=mailto:b@x.example", &r),
			 -EINVAL);
	assert_int_equal(parse("v=TLSRPTv1 rua=mailto:a@x.example", &r), -EINVAL);
}

/* A DNS answer to TXT _smtp._tls.example.net with the given records (one string each). */
static size_t answer(unsigned char *m, int rcode, const char *const *txt, size_t n)
{
	static const unsigned char qname[] = "\x05_smtp\x04_tls\x07" "example\x03net";
	size_t o = 12;

	memset(m, 0, 12);
	m[0] = 0x12;
	m[1] = 0x34;
	m[2] = 0x81;
	m[3] = 0x80 | (unsigned char)rcode;
	m[5] = 1;
	m[7] = (unsigned char)n;
	memcpy(m + o, qname, sizeof(qname));
	o += sizeof(qname);
	m[o++] = 0; m[o++] = 16; m[o++] = 0; m[o++] = 1;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(txt[i]);

		m[o++] = 0xc0; m[o++] = 12;
		m[o++] = 0; m[o++] = 16; m[o++] = 0; m[o++] = 1;
		m[o++] = 0; m[o++] = 0; m[o++] = 1; m[o++] = 0;
		m[o++] = 0; m[o++] = (unsigned char)(l + 1);
		m[o++] = (unsigned char)l;
		memcpy(m + o, txt[i], l);
		o += l;
	}
	return o;
}

static void test_record_answer(void **state)
{
	const char *one[] = { "v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.net" };
	const char *two[] = { "v=TLSRPTv1; rua=mailto:r@example.net",
			      "v=TLSRPTv1; rua=https://r.example.net/" };
	unsigned char m[1024];
	struct tlsrpt_record r;
	char txt[256], why[160];
	size_t n;

	(void)state;
	n = answer(m, 0, one, 2);
	assert_int_equal(tlsrpt_record_answer(m, n, &r, txt, sizeof(txt), why, sizeof(why)), 0);
	assert_int_equal(r.nrua, 1);
	assert_string_equal(txt, "v=TLSRPTv1; rua=mailto:r@example.net");
	/* §3: more than one record is no record */
	n = answer(m, 0, two, 2);
	assert_int_equal(tlsrpt_record_answer(m, n, &r, txt, sizeof(txt), why, sizeof(why)), -ENOENT);
	assert_int_equal(r.nrua, 0);
	n = answer(m, 0, one, 1);
	assert_int_equal(tlsrpt_record_answer(m, n, &r, NULL, 0, why, sizeof(why)), -ENOENT);
	n = answer(m, 3, NULL, 0);
	assert_int_equal(tlsrpt_record_answer(m, n, &r, NULL, 0, why, sizeof(why)), -ENOENT);
	n = answer(m, 2, NULL, 0);
	assert_int_equal(tlsrpt_record_answer(m, n, &r, NULL, 0, why, sizeof(why)), -EAGAIN);
}

static struct report_outcome outcome(const char *dom, uint8_t policy, int rpt, const char *mx,
				     const char *peer)
{
	struct report_outcome o;

	memset(&o, 0, sizeof(o));
	o.time = 1796428800 + 3600;
	o.dir = REPORT_OUTBOUND;
	o.policy = policy;
	o.rpt_result = (int8_t)rpt;
	o.result = rpt >= 0 ? REPORT_POLICY_REFUSED : REPORT_DELIVERED;
	snprintf(o.domain, sizeof(o.domain), "%s", dom);
	snprintf(o.mx, sizeof(o.mx), "%s", mx);
	snprintf(o.peer_ip, sizeof(o.peer_ip), "%s", peer);
	snprintf(o.local_ip, sizeof(o.local_ip), "192.0.2.1");
	return o;
}

#define STS_POL "version: STSv1\nmode: enforce\nmx: mx1.example.net\nmx: *.example.net\nmax_age: 86400"

static void fill(struct tlsrpt_day *d)
{
	struct report_outcome o;

	tlsrpt_day_init(d, tlsrpt_day_start(1796428800 + 5));
	for (int i = 0; i < 5; i++) {
		o = outcome("example.net", REPORT_POLICY_STS, -1, "mx1.example.net", "198.51.100.7");
		assert_int_equal(tlsrpt_day_add(d, &o, STS_POL), 0);
	}
	for (int i = 0; i < 3; i++) {
		o = outcome("example.net", REPORT_POLICY_STS, POLICY_RPT_CERTIFICATE_EXPIRED,
			    "mx1.example.net", "198.51.100.7");
		assert_int_equal(tlsrpt_day_add(d, &o, STS_POL), 0);
	}
	o = outcome("example.net", REPORT_POLICY_STS, POLICY_RPT_STARTTLS_NOT_SUPPORTED, "",
		    "198.51.100.8");
	assert_int_equal(tlsrpt_day_add(d, &o, STS_POL), 0);
	o = outcome("dane.example", REPORT_POLICY_DANE, -1, "mx.dane.example", "2001:db8::25");
	assert_int_equal(tlsrpt_day_add(d, &o, "mx.dane.example. IN TLSA 3 1 1 ab12"), 0);
	o = outcome("plain.example", REPORT_POLICY_TABLE, -1, "", "203.0.113.9");
	assert_int_equal(tlsrpt_day_add(d, &o, NULL), 0);
	/* ignored: inbound, no domain, refused by the table alone */
	o = outcome("in.example", REPORT_POLICY_TABLE, -1, "", "203.0.113.9");
	o.dir = REPORT_INBOUND;
	assert_int_equal(tlsrpt_day_add(d, &o, NULL), 0);
	o = outcome("", REPORT_POLICY_TABLE, -1, "", "203.0.113.9");
	assert_int_equal(tlsrpt_day_add(d, &o, NULL), 0);
	o = outcome("table.example", REPORT_POLICY_TABLE, -1, "", "203.0.113.9");
	o.result = REPORT_POLICY_REFUSED;
	assert_int_equal(tlsrpt_day_add(d, &o, NULL), 0);
}

static void test_aggregate(void **state)
{
	struct tlsrpt_day d;
	struct tlsrpt_domain *dom;

	(void)state;
	fill(&d);
	assert_int_equal(d.start, 1796428800);
	assert_int_equal(d.ndom, 3);
	/* sorted by name */
	assert_string_equal(d.dom[0].name, "dane.example");
	dom = tlsrpt_day_find(&d, "example.net");
	assert_non_null(dom);
	assert_int_equal(dom->npol, 1);
	assert_int_equal(dom->pol[0].type, POLICY_RPT_STS);
	assert_int_equal(dom->pol[0].ok, 5);
	assert_int_equal(dom->pol[0].failed, 4);
	assert_int_equal(dom->pol[0].nfail, 2);
	assert_int_equal(dom->pol[0].fail[0].count, 3);
	assert_int_equal(dom->pol[0].fail[0].result, POLICY_RPT_CERTIFICATE_EXPIRED);
	assert_null(tlsrpt_day_find(&d, "in.example"));
	assert_null(tlsrpt_day_find(&d, "table.example"));
	tlsrpt_day_clear(&d);
	/* the bound */
	tlsrpt_day_init(&d, 0);
	d.max_domains = 2;
	for (int i = 0; i < 3; i++) {
		char n[32];
		struct report_outcome o;

		snprintf(n, sizeof(n), "d%d.example", i);
		o = outcome(n, REPORT_POLICY_TABLE, -1, "", "203.0.113.9");
		assert_int_equal(tlsrpt_day_add(&d, &o, NULL), i < 2 ? 0 : -ENOSPC);
	}
	tlsrpt_day_clear(&d);
}

static void test_day_file(void **state)
{
	struct tlsrpt_day d, e;
	char *buf, *buf2, *bad;
	size_t len, len2;

	(void)state;
	fill(&d);
	assert_int_equal(tlsrpt_day_save(&d, &buf, &len), 0);
	tlsrpt_day_init(&e, 0);
	assert_int_equal(tlsrpt_day_load(&e, buf, len), 0);
	assert_int_equal(e.start, d.start);
	assert_int_equal(tlsrpt_day_save(&e, &buf2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	/* a policy string with newlines and tabs survives */
	assert_string_equal(tlsrpt_day_find(&e, "example.net")->pol[0].string, STS_POL);
	/* a cut file, a count that does not add up, garbage: refused, e unchanged */
	assert_int_equal(tlsrpt_day_load(&e, buf, len - 1), -EINVAL);
	bad = strdup(buf);
	*strstr(bad, "\t5\t4\t") = '\0';
	assert_int_equal(tlsrpt_day_load(&e, bad, strlen(bad)), -EINVAL);
	free(bad);
	bad = strdup(buf);
	strstr(bad, "\t5\t4\t")[3] = '3';
	assert_int_equal(tlsrpt_day_load(&e, bad, len), -EINVAL);
	free(bad);
	assert_int_equal(tlsrpt_day_load(&e, "tlsrpt-day v1 5\n", 16), -EINVAL);
	assert_int_equal(tlsrpt_day_load(&e, "x", 1), -EINVAL);
	assert_int_equal(e.ndom, 3);
	free(buf);
	free(buf2);
	tlsrpt_day_clear(&d);
	tlsrpt_day_clear(&e);
}

static void test_json_gzip(void **state)
{
	struct tlsrpt_meta m = { .org = "Example Org", .contact = "mailto:postmaster@example.org",
				 .submitter = "gw.example.org", .start = 1796428800,
				 .end = 1796428800 + 86400 };
	struct tlsrpt_day d;
	char *json, out[8192], fn[256];
	unsigned char *gz;
	size_t jlen, gzlen;
	uLongf olen = sizeof(out);
	z_stream z = { 0 };

	(void)state;
	fill(&d);
	assert_int_equal(tlsrpt_json(&m, tlsrpt_day_find(&d, "example.net"), &json, &jlen), 0);
	assert_non_null(strstr(json, "\"organization-name\":\"Example Org\""));
	assert_non_null(strstr(json, "\"start-datetime\":\"2026-12-05T00:00:00Z\""));
	assert_non_null(strstr(json, "\"end-datetime\":\"2026-12-05T23:59:59Z\""));
	assert_non_null(strstr(json, "\"report-id\":\"2026-12-05T00:00:00Z_example.net@gw.example.org\""));
	assert_non_null(strstr(json, "\"policies\":[{"));
	assert_non_null(strstr(json, "\"policy-type\":\"sts\""));
	assert_non_null(strstr(json, "\"mx-host\":[\"mx1.example.net\",\"*.example.net\"]"));
	assert_non_null(strstr(json, "\"total-successful-session-count\":5"));
	assert_non_null(strstr(json, "\"total-failure-session-count\":4"));
	assert_non_null(strstr(json, "\"result-type\":\"certificate-expired\",\"sending-mta-ip\":"
				     "\"192.0.2.1\",\"receiving-mx-hostname\":\"mx1.example.net\","
				     "\"receiving-ip\":\"198.51.100.7\",\"failed-session-count\":3"));
	/* no MX name known: the key is left out, not empty */
	assert_non_null(strstr(json, "{\"result-type\":\"starttls-not-supported\",\"sending-mta-ip\":"
				     "\"192.0.2.1\",\"receiving-ip\""));
	assert_int_equal(tlsrpt_gzip(json, jlen, &gz, &gzlen), 0);
	assert_int_equal(gz[0], 0x1f);
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)olen;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, jlen);
	assert_memory_equal(out, json, jlen);
	inflateEnd(&z);
	free(gz);
	free(json);
	assert_int_equal(tlsrpt_json(&m, tlsrpt_day_find(&d, "plain.example"), &json, &jlen), 0);
	assert_non_null(strstr(json, "\"policy\":{\"policy-type\":\"no-policy-found\",\"policy-domain\":"
				     "\"plain.example\"}"));
	free(json);
	tlsrpt_filename(&m, "example.net", fn, sizeof(fn));
	assert_string_equal(fn, "gw.example.org!example.net!1796428800!1796515199.json.gz");
	tlsrpt_day_clear(&d);
}

static void test_datagram(void **state)
{
	struct report_outcome o = outcome("example.net", REPORT_POLICY_STS,
					  POLICY_RPT_CERTIFICATE_HOST_MISMATCH, "mx1.example.net",
					  "198.51.100.7");
	char *b;
	size_t n;

	(void)state;
	assert_int_equal(tlsrpt_datagram(&o, "v=TLSRPTv1; rua=mailto:r@example.net", STS_POL, &b, &n),
			 0);
	assert_non_null(strstr(b, "{\"d\":\"example.net\",\"pr\":\"v=TLSRPTv1; rua=mailto:r@example.net\""
				  ",\"policies\":[{\"policy-type\":2,\"policy-domain\":\"example.net\""));
	assert_non_null(strstr(b, "\"failure-details\":[{\"c\":202,\"s\":\"192.0.2.1\",\"n\":"
				  "\"mx1.example.net\",\"r\":\"198.51.100.7\"}],\"t\":1,\"f\":1}]}"));
	free(b);
	o = outcome("example.net", REPORT_POLICY_DANE, -1, "mx1.example.net", "198.51.100.7");
	assert_int_equal(tlsrpt_datagram(&o, "v=TLSRPTv1; rua=mailto:r@example.net", NULL, &b, &n), 0);
	assert_non_null(strstr(b, "\"policy-type\":1,\"policy-domain\":\"example.net\",\"t\":0,\"f\":0"));
	free(b);
	o.dir = REPORT_INBOUND;
	assert_int_equal(tlsrpt_datagram(&o, "", NULL, &b, &n), -EINVAL);
	assert_int_equal(tlsrpt_datagram_code(POLICY_RPT_DANE_REQUIRED), 306);
}

static void test_day_start(void **state)
{
	(void)state;
	assert_int_equal(tlsrpt_day_start(1796428800), 1796428800);
	assert_int_equal(tlsrpt_day_start(1796428800 + 86399), 1796428800);
	assert_int_equal(tlsrpt_day_start(1796428800 + 86400), 1796428800 + 86400);
	assert_int_equal(tlsrpt_day_start(-1), -86400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_record_answer),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_day_file),
		cmocka_unit_test(test_json_gzip),
		cmocka_unit_test(test_datagram),
		cmocka_unit_test(test_day_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
