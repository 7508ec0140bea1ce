// SPDX-License-Identifier: GPL-2.0-only
/*
 * smtp/received.c: the Received: header byte for byte as Postfix's smtpd writes it, the
 * X-Tlsgate-TLS: summary, Postfix's date format, and Postfix long queue ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "smtp/received.h"
#include "smtp/received_parse.h"

/* Sun, 29 Nov 2026 01:24:48 UTC */
#define T_NOV29 1795915488
/* Tue,  4 Mar 2025 09:15:02 UTC */
#define T_MAR4 1741079702

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int setup_utc(void **state)
{
	(void)state;
	set_tz("UTC");
	return 0;
}

static const struct received_tls tls13 = {
	.version = "TLSv1.3",
	.cipher = "TLS_AES_256_GCM_SHA384",
	.bits = 256,
	.alg_bits = 256,
};

static const char *const one_rcpt[] = { "bob@example.org" };

/* The gateway's header as in tests/unit/data/received/tlsgate.eml. */
static struct received_info gw_info(void)
{
	return (struct received_info){
		.helo = "mail-ed1-f49.google.com",
		.rdns = "mail-ed1-f49.google.com",
		.addr = "192.0.2.49",
		.family = AF_INET,
		.esmtp = true,
		.tls = &tls13,
		.by_host = "gw.example.org",
		.queue_id = "4jcTwJ1wWSz42FqjGJ",
		.rcpts = one_rcpt,
		.nrcpt = 1,
		.when = T_NOV29,
	};
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

static void test_tls13_one_rcpt(void **state)
{
	struct received_info ri = gw_info();
	char buf[RECEIVED_HEADER_MAX];
	const char *want =
		"Received: from mail-ed1-f49.google.com (mail-ed1-f49.google.com [192.0.2.49])\r\n"
		"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
		"\t(No client certificate requested)\r\n"
		"\tby gw.example.org (tlsgate) with ESMTPS id 4jcTwJ1wWSz42FqjGJ\r\n"
		"\tfor <bob@example.org>; Sun, 29 Nov 2026 01:24:48 +0000 (UTC)\r\n";

	(void)state;
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), strlen(want));
	assert_string_equal(buf, want);
}

/* What the sample message (read by the parser tests) holds is what we write. */
static void test_matches_sample_file(void **state)
{
	struct received_info ri = gw_info();
	char buf[RECEIVED_HEADER_MAX], sum[512];
	size_t len;
	char *file = slurp("tests/unit/data/received/tlsgate.eml", &len);
	int n = received_format(&ri, buf, sizeof(buf));
	int m = received_tls_summary(&ri, sum, sizeof(sum));
	char *at = strstr(file, "Received: from mail-ed1-f49");

	(void)state;
	assert_true(n > 0 && m > 0);
	assert_non_null(at);
	assert_memory_equal(at, buf, (size_t)n);
	assert_memory_equal(at + n, sum, (size_t)m);
	free(file);
}

/*
 * Postfix 3.7.11's own output (tests/unit/data/received/postfix-3.7.11-smtpd.txt, captured from
 * real deliveries) and ours for the same facts are the same bytes, but for the mail name and
 * the line ends (LF in the Maildir file, CRLF on the wire).  Postfix writes the key-exchange
 * line for TLS 1.3 only.
 */
static void test_same_bytes_as_postfix(void **state)
{
	static const char *const one[] = { "bob@example.org" };
	static const char *const two[] = { "bob@example.org", "carol@example.org" };
	static const struct received_tls t13 = {
		.version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384", .bits = 256,
		.alg_bits = 256, .kex_name = "X25519", .sig_name = "RSA-PSS", .sig_bits = 2048,
		.sig_digest = "SHA256",
	};
	static const struct received_tls t12 = {
		.version = "TLSv1.2", .cipher = "ECDHE-RSA-AES256-GCM-SHA384", .bits = 256,
		.alg_bits = 256,
	};
	const struct {
		const struct received_tls *tls;
		const char *addr, *id;
		int family;
		const char *const *rcpts;
		size_t nrcpt;
		time_t when;
	} d[] = {
		{ &t13, "192.0.2.10", "33A51A7A217", AF_INET, one, 1, 1795918514 },
		{ &t12, "192.0.2.10", "6ECA7A7A224", AF_INET, one, 1, 1795918514 },
		{ NULL, "192.0.2.10", "99B91A7A224", AF_INET, one, 1, 1795918514 },
		{ &t13, "192.0.2.10", "D1776A7A224", AF_INET, two, 2, 1795918514 },
		{ NULL, "2001:db8::10", "08DBAA7A03D", AF_INET6, one, 1, 1795918515 },
	};
	size_t len;
	char *file = slurp("tests/unit/data/received/postfix-3.7.11-smtpd.txt", &len);
	char *at = strstr(file, "\nReceived: ") + 1; /* past the "# ..." comment lines */

	(void)state;
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		struct received_info ri = {
			.helo = "client.example.net", .addr = d[i].addr, .family = d[i].family,
			.esmtp = true, .tls = d[i].tls, .by_host = "mx.example.org",
			.queue_id = d[i].id, .rcpts = d[i].rcpts, .nrcpt = d[i].nrcpt,
			.when = d[i].when,
		};
		char buf[RECEIVED_HEADER_MAX], want[RECEIVED_HEADER_MAX], *next, *w = want;

		assert_true(at != (char *)1);
		next = strstr(at, "\nReceived: ");
		len = next ? (size_t)(next - at) + 1 : strlen(at);
		next = next ? next + 1 : NULL;
		/* Postfix's bytes with our mail name and CRLF line ends. */
		for (size_t j = 0; j < len; j++) {
			if (!strncmp(at + j, "(Postfix)", 9)) {
				w += sprintf(w, "(" RECEIVED_MAIL_NAME ")");
				j += 8;
			} else if (at[j] == '\n') {
				w += sprintf(w, "\r\n");
			} else {
				*w++ = at[j];
			}
		}
		*w = '\0';
		assert_int_equal(received_format(&ri, buf, sizeof(buf)), strlen(want));
		assert_string_equal(buf, want);
		at = next;
	}
	assert_null(at);
	free(file);
}

/* The variants of Postfix's second line: curve instead of bits, key exchange alone, DHE bits. */
static void test_kex_variants(void **state)
{
	struct received_tls t = tls13;
	struct received_info ri = gw_info();
	char buf[RECEIVED_HEADER_MAX];

	(void)state;
	ri.tls = &t;
	t.kex_name = "ECDHE";
	t.kex_curve = "P-256";
	t.sig_name = "ECDSA";
	t.sig_curve = "P-256";
	t.sig_bits = 256; /* a curve wins over bits, as in Postfix */
	t.sig_digest = "SHA256";
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "(256/256 bits)\r\n\t key-exchange ECDHE (P-256) "
				    "server-signature ECDSA (P-256) server-digest SHA256)\r\n"
				    "\t(No client certificate requested)\r\n"));

	t = tls13;
	t.kex_name = "DHE";
	t.kex_bits = 2048;
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "(256/256 bits)\r\n\t key-exchange DHE (2048 bits))\r\n"));

	t = tls13;
	t.sig_name = "RSA-PSS";
	t.sig_bits = 4096;
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "(256/256 bits)\r\n\t server-signature RSA-PSS (4096 bits))\r\n"));

	t = tls13;
	t.client_cert = "Client did not present a certificate";
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "bits))\r\n\t(Client did not present a certificate)\r\n\tby "));
}

static void test_plaintext(void **state)
{
	struct received_info ri = {
		.helo = "relay.example.com",
		.rdns = "relay.example.com",
		.addr = "203.0.113.40",
		.family = AF_INET,
		.esmtp = true,
		.by_host = "gw.example.org",
		.queue_id = "4hQ2Lm1XyTz1xnS",
		.rcpts = one_rcpt,
		.nrcpt = 1,
		.when = 1756757811, /* Mon,  1 Sep 2025 20:16:51 UTC */
	};
	char buf[RECEIVED_HEADER_MAX];

	(void)state;
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	set_tz("UTC");
	assert_string_equal(buf,
			    "Received: from relay.example.com (relay.example.com [203.0.113.40])\r\n"
			    "\tby gw.example.org (tlsgate) with ESMTP id 4hQ2Lm1XyTz1xnS\r\n"
			    "\tfor <bob@example.org>; Mon,  1 Sep 2025 22:16:51 +0200 (CEST)\r\n");
}

/* IPv6 as Postfix writes it, normalised; no rDNS is "unknown". */
static void test_ipv6_unknown_rdns(void **state)
{
	struct received_info ri = gw_info();
	char buf[RECEIVED_HEADER_MAX];

	(void)state;
	ri.helo = "mail.example.net";
	ri.rdns = NULL;
	ri.addr = "2001:DB8:0:0::1";
	ri.family = AF_INET6;
	ri.tls = NULL;
	ri.nrcpt = 0;
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "Received: from mail.example.net (unknown [IPv6:2001:db8::1])\r\n"
				 "\tby gw.example.org (tlsgate) with ESMTP id 4jcTwJ1wWSz42FqjGJ;\r\n"
				 "\tSun, 29 Nov 2026 01:24:48 +0000 (UTC)\r\n");

	/* A dual-stack listener's IPv4-mapped address is the IPv4 client. */
	ri.addr = "::ffff:192.0.2.7";
	ri.rdns = "";
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "Received: from mail.example.net (unknown [192.0.2.7])\r\n"));
}

/* No HELO: Postfix writes the client's name ("unknown" without rDNS) twice. */
static void test_no_helo_smtp_no_id(void **state)
{
	struct received_info ri = gw_info();
	char buf[RECEIVED_HEADER_MAX];

	(void)state;
	ri.helo = NULL;
	ri.rdns = NULL;
	ri.queue_id = NULL;
	ri.esmtp = false; /* HELO, not EHLO: RFC 3848 has no "SMTPS" */
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	assert_string_equal(
		buf, "Received: from unknown (unknown [192.0.2.49])\r\n"
		     "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
		     "\t(No client certificate requested)\r\n"
		     "\tby gw.example.org (tlsgate) with SMTP\r\n"
		     "\tfor <bob@example.org>; Sun, 29 Nov 2026 01:24:48 +0000 (UTC)\r\n");
}

/* A client cannot add header lines through HELO or RCPT, nor send 8-bit bytes. */
static void test_injection(void **state)
{
	static const char *const rcpts[] = { "\"b ob\"@example.org\r\nBcc: x@example.com" };
	struct received_info ri = gw_info();
	char buf[RECEIVED_HEADER_MAX];

	(void)state;
	ri.helo = "evil\r\nX-Injected: 1\xc3\xa9";
	ri.rcpts = rcpts;
	assert_true(received_format(&ri, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "Received: from evil??X-Injected:?1?? (mail-ed1-f49"));
	assert_non_null(strstr(buf, "\tfor <\"b ob\"@example.org??Bcc: x@example.com>; Sun"));
	assert_null(strstr(buf, "\nX-Injected"));
	assert_null(strstr(buf, "\nBcc"));
}

/*
 * A HELO full of comment and quoting characters is written as a name (stricter than Postfix),
 * so it cannot hide our TLS clause from the parsers that read the header.
 */
static void test_hostile_helo(void **state)
{
	struct received_info ri = gw_info();
	char buf[RECEIVED_HEADER_MAX];
	struct received_hop hop;
	int n;

	(void)state;
	ri.helo = "a(b\"c<d;e)f\\";
	ri.rdns = "x (y";
	n = received_format(&ri, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true(!strncmp(buf, "Received: from a?b?c?d?e?f? (x??y [192.0.2.49])\r\n", 49));
	received_parse_field(buf + 9, (size_t)n - 9, &hop);
	assert_int_equal(hop.tls, RECEIVED_TLS_YES);
	assert_string_equal(hop.tls_version, "TLSv1.3");
	assert_string_equal(hop.by, "gw.example.org");
	assert_string_equal(hop.date, "Sun, 29 Nov 2026 01:24:48 +0000 (UTC)");
}

static void test_errors(void **state)
{
	struct received_info ri = gw_info();
	struct received_tls t = tls13;
	char buf[RECEIVED_HEADER_MAX], big[1100];
	int n;

	(void)state;
	ri.by_host = NULL;
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), -EINVAL);
	assert_string_equal(buf, "");
	ri = gw_info();
	ri.addr = "192.0.2.300";
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), -EINVAL);
	ri.addr = "2001:db8::1"; /* family says IPv4 */
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), -EINVAL);
	ri = gw_info();
	ri.family = AF_UNIX;
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), -EINVAL);
	ri = gw_info();
	t.cipher = NULL;
	ri.tls = &t;
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), -EINVAL);
	ri = gw_info();
	ri.rcpts = NULL;
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), -EINVAL);

	/* 1000 octets of HELO make a line longer than RFC 5322 allows. */
	ri = gw_info();
	memset(big, 'a', 1000);
	big[1000] = '\0';
	ri.helo = big;
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), -EMSGSIZE);
	/* The longest first line that fits: 998 octets. */
	big[998 - strlen("Received: from  (mail-ed1-f49.google.com [192.0.2.49])")] = '\0';
	n = received_format(&ri, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(strchr(buf, '\r') - buf, 998);
	big[strlen(big) + 1] = '\0';
	big[strlen(big)] = 'a';
	assert_int_equal(received_format(&ri, buf, sizeof(buf)), -EMSGSIZE);
}

/* -ENOSPC exactly when the header and its NUL do not fit. */
static void test_buffer_sizes(void **state)
{
	struct received_info ri = gw_info();
	char buf[RECEIVED_HEADER_MAX], small[RECEIVED_HEADER_MAX];
	int n = received_format(&ri, buf, sizeof(buf));

	(void)state;
	assert_true(n > 0);
	assert_int_equal(received_format(&ri, small, (size_t)n + 1), n);
	assert_string_equal(small, buf);
	assert_int_equal(received_format(&ri, small, (size_t)n), -ENOSPC);
	assert_int_equal(received_format(&ri, small, 1), -ENOSPC);
	assert_int_equal(received_format(&ri, small, 0), -ENOSPC);
	n = received_tls_summary(&ri, buf, sizeof(buf));
	assert_int_equal(received_tls_summary(&ri, small, (size_t)n), -ENOSPC);
	assert_int_equal(received_tls_summary(&ri, small, (size_t)n + 1), n);
}

static void test_tls_summary(void **state)
{
	struct received_info ri = gw_info();
	char buf[512];

	(void)state;
	assert_true(received_tls_summary(&ri, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "X-Tlsgate-TLS: tls=yes version=TLSv1.3 "
				 "cipher=TLS_AES_256_GCM_SHA384 bits=256 client=[192.0.2.49] "
				 "id=4jcTwJ1wWSz42FqjGJ\r\n");
	ri.tls = NULL;
	ri.addr = "2001:db8::25";
	ri.family = AF_INET6;
	ri.queue_id = NULL;
	assert_true(received_tls_summary(&ri, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "X-Tlsgate-TLS: tls=no client=[IPv6:2001:db8::25]\r\n");
}

/* What we write, our own parser (and so `tlsgatectl explain`) reads back. */
static void test_round_trip(void **state)
{
	static const struct {
		const char *addr;
		int family;
		bool tls, kex;
	} cases[] = {
		{ "192.0.2.49", AF_INET, true, false },
		{ "192.0.2.49", AF_INET, true, true },
		{ "2001:db8::1", AF_INET6, true, true },
		{ "203.0.113.9", AF_INET, false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct received_tls t = tls13;
		struct received_info ri = gw_info();
		struct received_hop hop;
		char buf[RECEIVED_HEADER_MAX];
		int n;

		if (cases[i].kex) {
			t.kex_name = "X25519";
			t.sig_name = "RSA-PSS";
			t.sig_bits = 2048;
			t.sig_digest = "SHA256";
		}
		ri.addr = cases[i].addr;
		ri.family = cases[i].family;
		ri.tls = cases[i].tls ? &t : NULL;
		n = received_format(&ri, buf, sizeof(buf));
		assert_true(n > 10);
		received_parse_field(buf + 9, (size_t)n - 9, &hop);
		assert_string_equal(hop.from, "mail-ed1-f49.google.com");
		assert_string_equal(hop.from_rdns, "mail-ed1-f49.google.com");
		assert_string_equal(hop.from_addr, cases[i].addr);
		assert_string_equal(hop.by, "gw.example.org");
		assert_string_equal(hop.id, "4jcTwJ1wWSz42FqjGJ");
		assert_string_equal(hop.date, "Sun, 29 Nov 2026 01:24:48 +0000 (UTC)");
		assert_int_equal(hop.style, RECEIVED_STYLE_TLSGATE);
		assert_int_equal(hop.local, RECEIVED_LOCAL_NO);
		if (cases[i].tls) {
			assert_string_equal(hop.protocol, "ESMTPS");
			assert_int_equal(hop.tls, RECEIVED_TLS_YES);
			assert_string_equal(hop.tls_version, "TLSv1.3");
			assert_string_equal(hop.cipher, "TLS_AES_256_GCM_SHA384");
			assert_int_equal(hop.bits, 256);
		} else {
			assert_string_equal(hop.protocol, "ESMTP");
			assert_int_equal(hop.tls, RECEIVED_TLS_NO);
		}
	}
}

static void test_date(void **state)
{
	char buf[80];

	(void)state;
	assert_int_equal(received_date(1736046245, buf, sizeof(buf)), 37);
	assert_string_equal(buf, "Sun,  5 Jan 2025 03:04:05 +0000 (UTC)");
	set_tz("EST5EDT,M3.2.0,M11.1.0");
	received_date(1751630400, buf, sizeof(buf)); /* 2025-07-04 12:00 UTC */
	assert_string_equal(buf, "Fri,  4 Jul 2025 08:00:00 -0400 (EDT)");
	received_date(1736046245, buf, sizeof(buf));
	assert_string_equal(buf, "Sat,  4 Jan 2025 22:04:05 -0500 (EST)");
	set_tz("NST3:30NDT,M3.2.0,M11.1.0"); /* a negative offset with minutes */
	received_date(1736046245, buf, sizeof(buf));
	assert_string_equal(buf, "Sat,  4 Jan 2025 23:34:05 -0330 (NST)");
	set_tz("IST-5:30");
	received_date(T_NOV29, buf, sizeof(buf));
	assert_string_equal(buf, "Sun, 29 Nov 2026 06:54:48 +0530 (IST)");
	set_tz("UTC");
	assert_int_equal(received_date(T_NOV29, buf, 37), -ENOSPC);
	assert_int_equal(received_date(T_NOV29, buf, 38), 37);
}

/*
 * Real Postfix ids (lists.ozlabs.org, mail.comstyle.com): their time part decodes to the time
 * in their own Received: header, so encoding those parts must give the same ids back.
 */
static void test_queue_id_vectors(void **state)
{
	static const struct {
		uint64_t sec;
		uint32_t usec;
		uint64_t inum;
		const char *id;
	} v[] = {
		{ 1689724163, 716522, 481486, "4R5FzR54zGz3c5t" },  /* 2023-07-18 23:49:23 UTC */
		{ 1676467580, 549255, 482919, "4PGzP83v6bz3cf0" },  /* 2023-02-15 13:26:20 UTC */
		{ 1789616452, 447326, 1117434, "4hlhP039QQz8PbS" }, /* 2026-09-17 03:40:52 UTC */
		{ 0, 0, 0, "0000000000z0" },
	};
	char buf[RECEIVED_QUEUE_ID_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(received_queue_id_encode(v[i].sec, v[i].usec, v[i].inum, buf,
							  sizeof(buf)),
				 strlen(v[i].id));
		assert_string_equal(buf, v[i].id);
	}
	assert_int_equal(received_queue_id_encode(1, 1000000, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(received_queue_id_encode(1789616452, 447326, 1117434, buf, 15), -ENOSPC);
	assert_int_equal(received_queue_id_encode(UINT64_MAX, 999999, UINT64_MAX, buf, sizeof(buf)),
			 12 + 4 + 1 + 12);
}

#define IDS_PER_THREAD 20000
#define THREADS 4

static void *make_ids(void *arg)
{
	char (*ids)[RECEIVED_QUEUE_ID_SIZE] = arg;

	for (int i = 0; i < IDS_PER_THREAD; i++)
		if (received_queue_id(ids[i], RECEIVED_QUEUE_ID_SIZE) <= 0)
			ids[i][0] = '\0';
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Ids from several threads at once are well formed and all different. */
static void test_queue_id_unique(void **state)
{
	static const char alphabet[] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
	char (*ids)[RECEIVED_QUEUE_ID_SIZE] = calloc(THREADS * IDS_PER_THREAD, sizeof(*ids));
	pthread_t th[THREADS];
	time_t now = time(NULL);

	(void)state;
	assert_non_null(ids);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, make_ids, ids + i * IDS_PER_THREAD),
				 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < THREADS * IDS_PER_THREAD; i++) {
		const char *id = ids[i], *z = strrchr(id, 'z');
		uint64_t sec = 0;

		assert_true(strlen(id) >= 12);
		assert_int_equal(strspn(id, alphabet), strlen(id));
		/* Postfix finds the separator as the last 'z' after >= 10 time digits. */
		assert_non_null(z);
		assert_true(z - id >= 10);
		for (const char *p = id; p < z - 4; p++)
			sec = sec * 52 + (uint64_t)(strchr(alphabet, *p) - alphabet);
		assert_true(sec >= (uint64_t)now - 5 && sec <= (uint64_t)now + 5);
	}
	qsort(ids, THREADS * IDS_PER_THREAD, sizeof(*ids), cmp_id);
	for (int i = 1; i < THREADS * IDS_PER_THREAD; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_tls13_one_rcpt, setup_utc),
		cmocka_unit_test_setup(test_matches_sample_file, setup_utc),
		cmocka_unit_test_setup(test_same_bytes_as_postfix, setup_utc),
		cmocka_unit_test_setup(test_kex_variants, setup_utc),
		cmocka_unit_test_setup(test_plaintext, setup_utc),
		cmocka_unit_test_setup(test_ipv6_unknown_rdns, setup_utc),
		cmocka_unit_test_setup(test_no_helo_smtp_no_id, setup_utc),
		cmocka_unit_test_setup(test_injection, setup_utc),
		cmocka_unit_test_setup(test_hostile_helo, setup_utc),
		cmocka_unit_test_setup(test_errors, setup_utc),
		cmocka_unit_test_setup(test_buffer_sizes, setup_utc),
		cmocka_unit_test_setup(test_tls_summary, setup_utc),
		cmocka_unit_test_setup(test_round_trip, setup_utc),
		cmocka_unit_test_setup(test_date, setup_utc),
		cmocka_unit_test(test_queue_id_vectors),
		cmocka_unit_test(test_queue_id_unique),
	};

	return cmocka_run_group_tests_name("received", tests, NULL, NULL);
}
