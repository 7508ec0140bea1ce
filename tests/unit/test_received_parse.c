// SPDX-License-Identifier: GPL-2.0-only
/*
 * smtp/received_parse.c, smtp/received_chain.c: every hop of the sample messages in
 * tests/unit/data/received/ (modelled on real Postfix, Exim, Exchange Online, Gmail, sendmail,
 * IronPort, Mimecast and qmail headers), then the header-section rules and the odd cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/received_parse.h"

#define Y RECEIVED_TLS_YES
#define N RECEIVED_TLS_NO
#define U RECEIVED_TLS_UNKNOWN

struct want {
	const char *from, *rdns, *addr, *by, *protocol, *id;
	enum received_tls_state tls;
	const char *version, *cipher;
	unsigned int bits;
	enum received_style style;
	enum received_local local;
	const char *date;
};

/* Newest first, as in the file. */
static const struct want postfix[] = {
	{ "mx.example.org", "localhost", "127.0.0.1", "mx.example.org", "ESMTP", "4VZ1Qh0Xqbz9sWp",
	  N, "", "", 0, RECEIVED_STYLE_POSTFIX, RECEIVED_LOCAL_LOOPBACK,
	  "Tue, 4 Mar 2025 10:15:03 +0100 (CET)" },
	{ "smtp.example.net", "smtp.example.net", "192.0.2.25", "mx.example.org", "ESMTPS",
	  "4VZ1Qh0Xqbz9sWn", Y, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", 256,
	  RECEIVED_STYLE_POSTFIX, RECEIVED_LOCAL_NO, "Tue, 4 Mar 2025 10:15:02 +0100 (CET)" },
	{ "[198.51.100.7]", "dsl-198-51-100-7.example.com", "198.51.100.7", "smtp.example.net",
	  "ESMTPSA", "4VZ1Qg6Hs1z3wbT", Y, "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256,
	  RECEIVED_STYLE_POSTFIX, RECEIVED_LOCAL_NO, "Tue, 4 Mar 2025 09:15:01 +0000 (UTC)" },
};

static const struct want postfix_plain[] = {
	{ "mx.example.org", "", "", "mx.example.org", "LMTP", "mJ2XEkO0jmf0GAAAgV1Ncw", N, "", "",
	  0, RECEIVED_STYLE_GENERIC, RECEIVED_LOCAL_SAME_HOST, "Mon, 01 Sep 2025 22:16:52 +0200" },
	{ "relay.example.com", "relay.example.com", "203.0.113.40", "mx.example.org", "ESMTP",
	  "4hQ2Lm1XyTz1xnS", N, "", "", 0, RECEIVED_STYLE_POSTFIX, RECEIVED_LOCAL_NO,
	  "Mon, 1 Sep 2025 22:16:51 +0200 (CEST)" },
	/* ESMTPS without the "(using ...)" clause: TLS, version not recorded. */
	{ "webmail.example.com", "", "10.39.193.137", "relay.example.com", "ESMTPS", "93B80C13FA6",
	  Y, "", "", 0, RECEIVED_STYLE_POSTFIX, RECEIVED_LOCAL_NO,
	  "Mon, 1 Sep 2025 20:16:45 +0000 (UTC)" },
	{ "[192.0.2.99]", "", "192.0.2.99", "webmail.example.com", "HTTP", "", U, "", "", 0,
	  RECEIVED_STYLE_GENERIC, RECEIVED_LOCAL_NO, "Mon, 1 Sep 2025 20:16:40 +0000" },
};

static const struct want exim[] = {
	{ "localhost", "", "::1", "lists.example.org", "esmtp", "1tpbEV-0002uk-Cz", N, "", "", 0,
	  RECEIVED_STYLE_EXIM, RECEIVED_LOCAL_LOOPBACK, "Tue, 04 Mar 2025 17:59:27 -0500" },
	{ "eggs.example.org", "", "2001:db8:142:3::10", "lists.example.org", "esmtps",
	  "1tpbEQ-0002u4-2g", Y, "TLSv1.2", "ECDHE_RSA_AES_256_GCM_SHA384", 256,
	  RECEIVED_STYLE_EXIM, RECEIVED_LOCAL_NO, "Tue, 04 Mar 2025 17:59:22 -0500" },
	{ "mail.example.net", "", "192.0.2.80", "eggs.example.org", "esmtps", "1wEKXY-00019T-1h", Y,
	  "TLSv1.3", "TLS_AES_256_GCM_SHA384", 0, RECEIVED_STYLE_EXIM, RECEIVED_LOCAL_NO,
	  "Tue, 04 Mar 2025 23:59:20 +0100" },
	{ "[198.51.100.86]", "", "198.51.100.86", "mail.example.net", "esmtpsa", "1ppp2s-000MPW-KY",
	  Y, "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, RECEIVED_STYLE_EXIM, RECEIVED_LOCAL_NO,
	  "Tue, 04 Mar 2025 23:59:18 +0100" },
};

static const struct want m365[] = {
	{ "AM5EUR02FT012.eop-EUR02.prod.protection.outlook.com", "", "2001:db8:208:1::1",
	  "AM9PR04MB8123.eurprd04.prod.outlook.com", "Microsoft SMTP Server", "15.20.5038.16", Y,
	  "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0, RECEIVED_STYLE_MICROSOFT,
	  RECEIVED_LOCAL_NO, "Thu, 10 Mar 2022 13:06:09 +0000" },
	{ "EUR05-AM6-obe.outbound.protection.outlook.com", "", "203.0.113.130",
	  "AM5EUR02FT012.mail.protection.outlook.com", "Microsoft SMTP Server", "15.20.5038.16", Y,
	  "TLSv1.3", "TLS_AES_256_GCM_SHA384", 0, RECEIVED_STYLE_MICROSOFT, RECEIVED_LOCAL_NO,
	  "Thu, 10 Mar 2022 13:06:08 +0000" },
	{ "AM0PR10MB2963.EURPRD10.PROD.OUTLOOK.COM", "", "2001:db8:208:157::14",
	  "AM6PR10MB2279.EURPRD10.PROD.OUTLOOK.COM", "Microsoft SMTP Server", "15.20.5038.16", Y,
	  "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0, RECEIVED_STYLE_MICROSOFT,
	  RECEIVED_LOCAL_NO, "Thu, 10 Mar 2022 13:06:07 +0000" },
	/* MAPI inside the sender's mailbox server (Outlook's submission: a local protocol, though
	 * "from X by X" too); the %zone is not part of the address. */
	{ "AM0PR10MB2963.EURPRD10.PROD.OUTLOOK.COM", "", "fe80::d5ba:3ed1:1acd:b5b7",
	  "AM0PR10MB2963.EURPRD10.PROD.OUTLOOK.COM", "mapi", "15.20.5038.027", U, "", "", 0,
	  RECEIVED_STYLE_MICROSOFT, RECEIVED_LOCAL_PROTOCOL, "Thu, 10 Mar 2022 13:06:06 +0000" },
};

static const struct want gmail[] = {
	{ "", "", "", "2002:a05:6a10:9e8c:b0:5c4:2a1e:7f61", "SMTP", "p12csp2187734pxb", N, "", "",
	  0, RECEIVED_STYLE_GENERIC, RECEIVED_LOCAL_NO_FROM,
	  "Thu, 15 May 2025 14:11:55 -0700 (PDT)" },
	{ "mail-sor-f41.google.com", "mail-sor-f41.google.com", "192.0.2.41", "mx.google.com",
	  "SMTPS", "2adb3069b0e04-550e6f16354sor103981e87.45.2025.05.15.14.11.54", Y, "", "", 0,
	  RECEIVED_STYLE_GMAIL, RECEIVED_LOCAL_NO, "Thu, 15 May 2025 14:11:54 -0700 (PDT)" },
	/* The HELO "[127.0.0.1]" is what the client said; the address is what Google saw. */
	{ "[127.0.0.1]", "", "198.51.100.167", "smtp.gmail.com", "ESMTPSA",
	  "586e51a60fabf-49335011458sm9060203fac.4.2025.05.15.14.11.53", Y, "TLSv1.3",
	  "TLS_AES_256_GCM_SHA384", 256, RECEIVED_STYLE_GMAIL, RECEIVED_LOCAL_NO,
	  "Thu, 15 May 2025 14:11:53 -0700 (PDT)" },
};

static const struct want gmail_inbound[] = {
	{ "", "", "", "2002:a05:7208:3189:b0:86:3a8d:2b5c", "SMTP", "k9csp1043217rbb", N, "", "", 0,
	  RECEIVED_STYLE_GENERIC, RECEIVED_LOCAL_NO_FROM, "Sat, 28 Nov 2026 17:24:49 -0800 (PST)" },
	{ "mail.example.net", "mail.example.net", "192.0.2.25", "mx.google.com", "ESMTPS",
	  "d18si1587727wme.183.2026.11.28.17.24.48", Y, "TLSv1.3", "TLS_AES_128_GCM_SHA256", 128,
	  RECEIVED_STYLE_GMAIL, RECEIVED_LOCAL_NO, "Sat, 28 Nov 2026 17:24:48 -0800 (PST)" },
};

static const struct want tlsgate[] = {
	{ "gw.example.org", "gw.example.org", "198.51.100.2", "mailstore.example.org", "ESMTP",
	  "4jcTwK0Cc7zg3t", N, "", "", 0, RECEIVED_STYLE_POSTFIX, RECEIVED_LOCAL_NO,
	  "Sun, 29 Nov 2026 01:24:49 +0000 (UTC)" },
	{ "mail-ed1-f49.google.com", "mail-ed1-f49.google.com", "192.0.2.49", "gw.example.org",
	  "ESMTPS", "4jcTwJ1wWSz42FqjGJ", Y, "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256,
	  RECEIVED_STYLE_TLSGATE, RECEIVED_LOCAL_NO, "Sun, 29 Nov 2026 01:24:48 +0000 (UTC)" },
	{ "", "", "", "mail-ed1-f49.google.com", "SMTP", "4fb4d7f45d1cf-53e3b8f906fso6584393a12.2",
	  N, "", "", 0, RECEIVED_STYLE_GMAIL, RECEIVED_LOCAL_NO_FROM,
	  "Sat, 28 Nov 2026 17:24:47 -0800 (PST)" },
	{ "laptop.example.com", "", "2001:db8:95:205:d300:c432:2c5b:afd3", "smtp.gmail.com",
	  "ESMTPSA", "y13sm15478225pgp.16.2026.11.28.17.24.45", Y, "TLSv1.3",
	  "TLS_AES_256_GCM_SHA384", 256, RECEIVED_STYLE_GMAIL, RECEIVED_LOCAL_NO,
	  "Sat, 28 Nov 2026 17:24:46 -0800 (PST)" },
};

static const struct want legacy[] = {
	{ "relay.example.com", "relay.example.com", "203.0.113.5", "mail.example.org", "ESMTPS",
	  "54FHBsMq012345", Y, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", 256,
	  RECEIVED_STYLE_SENDMAIL, RECEIVED_LOCAL_NO, "Thu, 15 May 2025 17:11:58 GMT" },
	{ "mimecast.example.com", "mimecast.example.com", "203.0.113.73", "relay.example.com",
	  "ESMTP/TLS/ECDHE-RSA-AES256-GCM-SHA384", "", Y, "", "ECDHE-RSA-AES256-GCM-SHA384", 0,
	  RECEIVED_STYLE_GENERIC, RECEIVED_LOCAL_NO, "15 May 2025 10:11:57 -0700" },
	{ "exch.example.com", "exch.example.com", "198.51.100.20", "mimecast.example.com", "ESMTP",
	  "us-mta-452-HQeiAEzjN7u5ly7_y_lhvQ-1", Y, "TLSv1.3", "TLS_AES_256_GCM_SHA384", 0,
	  RECEIVED_STYLE_GENERIC, RECEIVED_LOCAL_NO, "Thu, 15 May 2025 13:11:56 -0400" },
	{ "CAS01.corp.example.com", "", "198.51.100.11", "exch.example.com",
	  "Microsoft SMTP Server", "14.3.498.0", Y, "", "", 0, RECEIVED_STYLE_MICROSOFT,
	  RECEIVED_LOCAL_NO, "Thu, 15 May 2025 19:11:55 +0200" },
	/* Exchange records TLS whenever it was used: without it, this hop was plaintext. */
	{ "scanner.corp.example.com", "", "198.51.100.31", "CAS01.corp.example.com",
	  "Microsoft SMTP Server", "14.3.498.0", N, "", "", 0, RECEIVED_STYLE_MICROSOFT,
	  RECEIVED_LOCAL_NO, "Thu, 15 May 2025 19:11:54 +0200" },
	{ "mx2.example.com", "mx2.example.com", "198.51.100.15", "mx.google.com", "ESMTPS",
	  "m9si17640400wjr.7.2014.07.25.05.18.23", Y, "TLSv1.0", "ECDHE-RSA-RC4-SHA", 128,
	  RECEIVED_STYLE_GMAIL, RECEIVED_LOCAL_NO, "Fri, 25 Jul 2014 05:18:23 -0700 (PDT)" },
	{ "scientist-2.lan", "", "203.0.113.65", "mx.google.com", "ESMTPS",
	  "l19sm7304410fgb.9.2008.05.12.22.08.21", Y, "TLSv1/SSLv3", "RC4-MD5", 0,
	  RECEIVED_STYLE_GMAIL, RECEIVED_LOCAL_NO, "Mon, 12 May 2008 22:08:21 -0700 (PDT)" },
};

/* The body's Received: line (no empty line before it, a malformed message) is not read. */
static const struct want qmail[] = {
	{ "", "", "", "", "", "", U, "", "", 0, RECEIVED_STYLE_GENERIC, RECEIVED_LOCAL_NO_FROM,
	  "12 May 2008 22:08:21 -0000" },
	{ "unknown", "", "192.0.2.77", "relay.example.com", "SMTP", "", N, "", "", 0,
	  RECEIVED_STYLE_GENERIC, RECEIVED_LOCAL_NO, "12 May 2008 22:08:20 -0000" },
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 16);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

static void check_hop(const struct received_hop *h, const struct want *w, size_t i)
{
	print_message("hop %zu (by %s)\n", i, h->by);
	assert_string_equal(h->from, w->from);
	assert_string_equal(h->from_rdns, w->rdns);
	assert_string_equal(h->from_addr, w->addr);
	assert_string_equal(h->by, w->by);
	assert_string_equal(h->protocol, w->protocol);
	assert_string_equal(h->id, w->id);
	assert_string_equal(received_tls_state_name(h->tls), received_tls_state_name(w->tls));
	assert_string_equal(h->tls_version, w->version);
	assert_string_equal(h->cipher, w->cipher);
	assert_int_equal(h->bits, w->bits);
	assert_string_equal(received_style_name(h->style), received_style_name(w->style));
	assert_int_equal(h->local, w->local);
	assert_string_equal(h->date, w->date);
}

static void check_file(const char *name, const struct want *w, size_t n)
{
	char path[256];
	struct received_chain c;
	size_t len;
	char *msg;

	snprintf(path, sizeof(path), "tests/unit/data/received/%s", name);
	msg = slurp(path, &len);
	assert_int_equal(received_chain_parse(msg, len, &c), 0);
	assert_int_equal(c.n, n);
	assert_false(c.truncated);
	for (size_t i = 0; i < n; i++)
		check_hop(&c.hop[i], &w[i], i);
	received_chain_free(&c);
	free(msg);
}

#define CHECK_FILE(name, table) check_file(name, table, sizeof(table) / sizeof(table[0]))

static void test_corpus_postfix(void **state)
{
	(void)state;
	CHECK_FILE("postfix.eml", postfix);
	CHECK_FILE("postfix-plain.eml", postfix_plain);
}

static void test_corpus_exim(void **state)
{
	(void)state;
	CHECK_FILE("exim.eml", exim);
}

static void test_corpus_microsoft(void **state)
{
	(void)state;
	CHECK_FILE("m365.eml", m365);
}

static void test_corpus_gmail(void **state)
{
	(void)state;
	CHECK_FILE("gmail.eml", gmail);
	CHECK_FILE("gmail-inbound.eml", gmail_inbound);
}

static void test_corpus_tlsgate(void **state)
{
	(void)state;
	CHECK_FILE("tlsgate.eml", tlsgate);
}

static void test_corpus_legacy(void **state)
{
	(void)state;
	CHECK_FILE("legacy.eml", legacy);
	CHECK_FILE("qmail.mbox", qmail);
}

static void parse(const char *field, struct received_hop *h)
{
	received_parse_field(field, strlen(field), h);
}

/* The brief's one-line forms of each MTA's TLS wording. */
static void test_one_line_styles(void **state)
{
	struct received_hop h;

	(void)state;
	parse(" from mx.example.net (mx.example.net [192.0.2.1]) (using TLSv1.3 with cipher "
	      "TLS_AES_256_GCM_SHA384 (256/256 bits)) (No client certificate requested) by "
	      "gw.example.org (tlsgate) with ESMTPS id Q for <a@example.org>; Sun, 29 Nov 2026 "
	      "01:24:48 +0000 (UTC)",
	      &h);
	assert_int_equal(h.tls, Y);
	assert_string_equal(h.tls_version, "TLSv1.3");
	assert_string_equal(h.cipher, "TLS_AES_256_GCM_SHA384");
	assert_int_equal(h.bits, 256);
	assert_string_equal(h.date, "Sun, 29 Nov 2026 01:24:48 +0000 (UTC)");

	parse("from mx.example.net ([192.0.2.1]) by mx.example.org with esmtps (TLS1.3) tls "
	      "TLS_AES_256_GCM_SHA384 (Exim 4.96) id 1r2AbC-0001Xy-2Q; Tue, 04 Oct 2022 10:00:00 +0000",
	      &h);
	assert_int_equal(h.tls, Y);
	assert_string_equal(h.tls_version, "TLSv1.3");
	assert_string_equal(h.cipher, "TLS_AES_256_GCM_SHA384");
	assert_string_equal(h.protocol, "esmtps");
	assert_int_equal(h.style, RECEIVED_STYLE_EXIM);

	parse("from mx.example.net ([192.0.2.1]) by mx.example.org with esmtps "
	      "(TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256) (Exim 4.80) id x; Tue, 04 Oct 2022",
	      &h);
	assert_string_equal(h.tls_version, "TLSv1.2");
	assert_string_equal(h.cipher, "ECDHE-RSA-AES256-GCM-SHA384");
	assert_int_equal(h.bits, 256);

	parse("from mail.example.net (192.0.2.5) by AM5EUR02FT012.mail.protection.outlook.com "
	      "(203.0.113.130) with Microsoft SMTP Server (version=TLS1_2, "
	      "cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.5676.17 via Frontend "
	      "Transport; Tue, 4 Oct 2022 10:00:00 +0000",
	      &h);
	assert_int_equal(h.tls, Y);
	assert_string_equal(h.tls_version, "TLSv1.2");
	assert_string_equal(h.cipher, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
	assert_string_equal(h.from_addr, "192.0.2.5");
	assert_string_equal(h.id, "15.20.5676.17");

	parse("from mail.example.net (mail.example.net. [192.0.2.5]) by mx.google.com with ESMTPS "
	      "id abc for <u@example.com> (version=TLS1_3 cipher=TLS_AES_128_GCM_SHA256 "
	      "bits=128/128); Tue, 04 Oct 2022 03:00:00 -0700 (PDT)",
	      &h);
	assert_string_equal(h.from_rdns, "mail.example.net");
	assert_string_equal(h.tls_version, "TLSv1.3");
	assert_string_equal(h.cipher, "TLS_AES_128_GCM_SHA256");
	assert_int_equal(h.bits, 128);
	assert_int_equal(h.style, RECEIVED_STYLE_GMAIL);
}

/* RFC 3848 (and RFC 6531's UTF8 forms): the keyword alone decides when no comment says more. */
static void test_rfc3848_keywords(void **state)
{
	static const struct {
		const char *with;
		enum received_tls_state tls;
	} k[] = {
		{ "ESMTPS", Y },   { "ESMTPSA", Y },   { "esmtps", Y },	   { "LMTPS", Y },
		{ "LMTPSA", Y },   { "UTF8SMTPS", Y }, { "UTF8SMTPSA", Y }, { "UTF8LMTPS", Y },
		{ "SMTPS", Y },	   { "SMTP", N },      { "ESMTP", N },	   { "ESMTPA", N },
		{ "esmtpa", N },   { "LMTP", N },      { "LMTPA", N },	   { "UTF8SMTP", N },
		{ "UTF8SMTPA", N }, { "HTTP", U },     { "QMQP", U },	   { "ESMTPX", U },
	};
	char field[256];
	struct received_hop h;

	(void)state;
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		snprintf(field, sizeof(field),
			 "from a.example.net (a.example.net [192.0.2.1]) by b.example.org with %s "
			 "id x; Thu, 1 Jan 2026 00:00:00 +0000",
			 k[i].with);
		parse(field, &h);
		print_message("%s\n", k[i].with);
		assert_string_equal(h.protocol, k[i].with);
		assert_int_equal(h.tls, k[i].tls);
	}
}

static void test_versions(void **state)
{
	static const struct {
		const char *written, *stored, *words;
		bool outdated;
	} v[] = {
		{ "TLSv1.3", "TLSv1.3", "TLS 1.3", false }, { "TLS1_3", "TLSv1.3", "TLS 1.3", false },
		{ "TLS1.2", "TLSv1.2", "TLS 1.2", false },  { "tls1_2", "TLSv1.2", "TLS 1.2", false },
		{ "TLSv1.1", "TLSv1.1", "TLS 1.1", true },  { "TLSv1", "TLSv1.0", "TLS 1.0", true },
		{ "TLS1_0", "TLSv1.0", "TLS 1.0", true },   { "SSLv3", "SSLv3", "SSL 3", true },
		{ "TLSv1/SSLv3", "TLSv1/SSLv3", "TLSv1/SSLv3", true },
	};
	char field[256], words[48];
	struct received_hop h;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(field, sizeof(field),
			 "from a (a [192.0.2.1]) by b with ESMTPS id x (version=%s cipher=C "
			 "bits=128); Thu, 1 Jan 2026 00:00:00 +0000",
			 v[i].written);
		parse(field, &h);
		print_message("%s\n", v[i].written);
		assert_string_equal(h.tls_version, v[i].stored);
		assert_string_equal(received_tls_words(&h, words, sizeof(words)), v[i].words);
		assert_int_equal(received_tls_outdated(&h), v[i].outdated);
	}
}

/* The client's address from each wording; the receiver's view beats the client's claim. */
static void test_client_addresses(void **state)
{
	static const struct {
		const char *from, *addr, *rdns;
	} c[] = {
		{ "x (rdns.example.com [192.0.2.1])", "192.0.2.1", "rdns.example.com" },
		{ "x (unknown [IPv6:2001:DB8::1])", "2001:db8::1", "" },
		{ "x ([192.0.2.1]:3410 \"EHLO x\" rhost-flags-OK-OK-OK-OK)", "192.0.2.1", "" },
		{ "x ([192.0.2.1] helo=y)", "192.0.2.1", "" },
		{ "[192.0.2.9] (helo=y)", "192.0.2.9", "" },
		{ "[127.0.0.1] ([192.0.2.1])", "192.0.2.1", "" },
		{ "unknown (HELO y) (192.0.2.1)", "192.0.2.1", "" },
		{ "x (2001:db8:208:157::14)", "2001:db8:208:157::14", "" },
		{ "x ([fe80::1%4])", "fe80::1", "" },
		{ "x (not-an-address [999.0.2.1]) (192.0.2.3)", "192.0.2.3", "" },
		{ "x", "", "" },
	};
	char field[256];
	struct received_hop h;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(field, sizeof(field), "from %s by b.example.org with ESMTP; date", c[i].from);
		parse(field, &h);
		print_message("%s\n", c[i].from);
		assert_string_equal(h.from_addr, c[i].addr);
		assert_string_equal(h.from_rdns, c[i].rdns);
	}
}

static void test_local_hops(void **state)
{
	struct received_hop h;

	(void)state;
	parse("by mail.example.org (Postfix, from userid 1000) id 7FDD31801A3; Sat, 27 Mar 2021 "
	      "16:17:16 +0100 (CET)",
	      &h);
	assert_int_equal(h.local, RECEIVED_LOCAL_NO_FROM);
	parse("from x by y.example.org with local (Exim 4.96) id 1; date", &h);
	assert_int_equal(h.local, RECEIVED_LOCAL_PROTOCOL);
	parse("from x by y.example.org with local-esmtp (Exim 4.96) id 1; date", &h);
	assert_int_equal(h.local, RECEIVED_LOCAL_PROTOCOL);
	parse("from Y.example.org. (y [::ffff:127.0.0.2]) by y.example.org with ESMTP; date", &h);
	assert_int_equal(h.local, RECEIVED_LOCAL_LOOPBACK);
	parse("from Y.EXAMPLE.org. (y [192.0.2.1]) by y.example.org with ESMTP; date", &h);
	assert_int_equal(h.local, RECEIVED_LOCAL_SAME_HOST);
	parse("from x.example.net (x [10.0.0.1]) by y.example.org with ESMTP; date", &h);
	assert_int_equal(h.local, RECEIVED_LOCAL_NO);
}

/* Comments nest and quote; ';' inside comments and quoted words is not the date separator. */
static void test_comment_syntax(void **state)
{
	struct received_hop h;

	(void)state;
	parse("from x (a \\) (nested (deeper)) b [192.0.2.1]) by y.example.org with ESMTP id S1 "
	      "(ORCPT <rfc822;list@example.org>) for <\"odd; name\"@example.org>; Wed, 28 Oct "
	      "2009 04:24:58 -0400",
	      &h);
	assert_string_equal(h.from_addr, "192.0.2.1");
	assert_string_equal(h.id, "S1");
	assert_string_equal(h.date, "Wed, 28 Oct 2009 04:24:58 -0400");

	/* Unclosed comment: runs to the end, no crash, nothing invented. */
	parse("from x (y [192.0.2.1] by z with ESMTPS; date", &h);
	assert_string_equal(h.from, "x");
	assert_string_equal(h.by, "");
	assert_string_equal(h.date, "");
	assert_int_equal(h.tls, U);

	/* Keywords are case-insensitive; no date at all. */
	parse("FROM a.example.net BY b.example.org WITH ESMTPSA", &h);
	assert_string_equal(h.from, "a.example.net");
	assert_string_equal(h.by, "b.example.org");
	assert_int_equal(h.tls, Y);
	assert_string_equal(h.date, "");

	parse("", &h);
	assert_int_equal(h.local, RECEIVED_LOCAL_NO_FROM);
	assert_int_equal(h.tls, U);

	/*
	 * Postfix writes a client's HELO verbatim: a stray quote or '<' in it must not swallow
	 * the rest of the field (and hide what the receiver recorded about TLS).
	 */
	parse("from \"evil (unknown [192.0.2.1]) (using TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-"
	      "SHA256 (128/128 bits)) (Client CN \"x\", Issuer \"y\" (not verified)) by "
	      "mx.example.org (Postfix) with ESMTPS id Q; date",
	      &h);
	assert_string_equal(h.from, "\"evil");
	assert_string_equal(h.by, "mx.example.org");
	assert_int_equal(h.tls, Y);
	assert_string_equal(h.tls_version, "TLSv1.2");
	assert_string_equal(h.date, "date");
	parse("from <evil (unknown [192.0.2.1]) by mx.example.org (Postfix) with ESMTP id Q for "
	      "<a@example.org>; date",
	      &h);
	assert_string_equal(h.from, "<evil");
	assert_string_equal(h.by, "mx.example.org");
	assert_int_equal(h.tls, N);
	assert_string_equal(h.date, "date");
}

/* Control and 8-bit bytes never reach the stored text (terminal escapes, JSON). */
static void test_sanitised(void **state)
{
	static const char field[] = "from ev\x1b[31mil\xc3\xa9 (x [192.0.2.1]) by b\x00y with ESMTP; "
				    "da\x7fte";
	struct received_hop h;

	(void)state;
	received_parse_field(field, sizeof(field) - 1, &h);
	assert_string_equal(h.from, "ev?[31mil??");
	assert_string_equal(h.by, "b?y");
	assert_string_equal(h.date, "da?te");
}

static void test_header_section(void **state)
{
	/* obs-syntax space before the colon, lowercase name, LF and CRLF mixed, X-Received. */
	static const char msg[] = "received : from a (a [192.0.2.1])\r\n"
				  "  by b.example.org with ESMTPS; d1\r\n"
				  "X-Received: from z (z [192.0.2.9]) by q with SMTP; d0\n"
				  "Subject: Received: from fake\n"
				  "RECEIVED:from c (c [192.0.2.3])\n\tby d.example.org with SMTP; d2\n"
				  "\n"
				  "Received: from body (body [192.0.2.4]) by e with SMTP; d3\n";
	struct received_chain c;
	const char *s;

	(void)state;
	assert_int_equal(received_chain_parse(msg, sizeof(msg) - 1, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.hop[0].by, "b.example.org");
	assert_int_equal(c.hop[0].tls, Y);
	assert_string_equal(c.hop[0].date, "d1");
	assert_string_equal(c.hop[1].from_addr, "192.0.2.3");
	assert_string_equal(c.hop[1].date, "d2");
	received_chain_free(&c);

	/* Nothing at all; only a body; a continuation line before any field. */
	assert_int_equal(received_chain_parse("", 0, &c), 0);
	assert_int_equal(c.n, 0);
	s = "\r\nReceived: from x by y; d\r\n";
	assert_int_equal(received_chain_parse(s, strlen(s), &c), 0);
	assert_int_equal(c.n, 0);
	s = " stray\nReceived: by y; d";
	assert_int_equal(received_chain_parse(s, strlen(s), &c), 0);
	assert_int_equal(c.n, 1);
	received_chain_free(&c);
}

/* A mail loop's worth of headers: the newest RECEIVED_MAX_HOPS are kept, and it says so. */
static void test_too_many_hops(void **state)
{
	const char *line = "Received: from a (a [192.0.2.1]) by b with ESMTPS; d\r\n";
	size_t n = 300, len = strlen(line);
	char *msg = malloc(n * len);
	struct received_chain c;

	(void)state;
	assert_non_null(msg);
	for (size_t i = 0; i < n; i++)
		memcpy(msg + i * len, line, len);
	assert_int_equal(received_chain_parse(msg, n * len, &c), 0);
	assert_int_equal(c.n, RECEIVED_MAX_HOPS);
	assert_true(c.truncated);
	received_chain_free(&c);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_postfix),	 cmocka_unit_test(test_corpus_exim),
		cmocka_unit_test(test_corpus_microsoft), cmocka_unit_test(test_corpus_gmail),
		cmocka_unit_test(test_corpus_tlsgate),	 cmocka_unit_test(test_corpus_legacy),
		cmocka_unit_test(test_one_line_styles),	 cmocka_unit_test(test_rfc3848_keywords),
		cmocka_unit_test(test_versions),	 cmocka_unit_test(test_client_addresses),
		cmocka_unit_test(test_local_hops),	 cmocka_unit_test(test_comment_syntax),
		cmocka_unit_test(test_sanitised),	 cmocka_unit_test(test_header_section),
		cmocka_unit_test(test_too_many_hops),
	};

	return cmocka_run_group_tests_name("received_parse", tests, NULL, NULL);
}
