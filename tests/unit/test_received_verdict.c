// SPDX-License-Identifier: GPL-2.0-only
/*
 * The chain's verdict (smtp/received_verdict.h) and the own-servers list: the streaming scan the
 * inbound relay uses reaches explain's verdict on every sample message, fed in any pieces; the
 * walk marks the sender's claims; the sentence and its folded header; real header shapes
 * (Exchange Online's HTTPS and mapi hops, sendmail's verify=NOT, a forged ESMTPS line).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/received_own.h"
#include "smtp/received_verdict.h"

#define DATA "tests/unit/data/received/"

static char *load(const char *name, size_t *len)
{
	char path[256], *msg = malloc(1 << 16);
	FILE *f;

	snprintf(path, sizeof(path), DATA "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_non_null(msg);
	*len = fread(msg, 1, (1 << 16) - 1, f);
	msg[*len] = '\0';
	fclose(f);
	return msg;
}

/* The header section through the scan as session_body.c feeds it: field starts, then the
 * bytes of each line in pieces of `piece` bytes. */
static void scan_message(struct received_scan *sc, const char *msg, size_t len, size_t piece)
{
	size_t pos = 0;

	if (len >= 5 && !memcmp(msg, "From ", 5))
		pos = (size_t)((const char *)memchr(msg, '\n', len) - msg) + 1;
	while (pos < len) {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		size_t line = nl ? (size_t)(nl - msg) + 1 - pos : len - pos;

		if (msg[pos] == '\n' || (msg[pos] == '\r' && msg[pos + 1] == '\n'))
			break;
		if (msg[pos] != ' ' && msg[pos] != '\t' && !received_field_line(msg + pos, line))
			break;
		if (msg[pos] != ' ' && msg[pos] != '\t')
			received_scan_field(sc, received_field_is(msg + pos, line, "Received"));
		for (size_t o = 0; o < line; o += piece)
			received_scan_bytes(sc, msg + pos + o, line - o < piece ? line - o : piece);
		pos += line;
	}
	received_scan_end(sc);
}

static void words_of_chain(const char *msg, size_t len, const struct received_own *own, char *out,
			   size_t cap, struct received_verdict *v)
{
	struct received_chain c;

	assert_int_equal(received_chain_parse(msg, len, &c), 0);
	received_chain_walk(&c, own);
	received_verdict(&c, v);
	received_verdict_words(v, out, cap);
	received_chain_free(&c);
}

static void test_scan_equals_explain(void **state)
{
	static const char *const files[] = {
		"postfix.eml", "postfix-plain.eml", "exim.eml",		 "m365.eml",
		"gmail.eml",   "gmail-inbound.eml", "legacy.eml",	 "qmail.mbox",
		"tlsgate.eml", "m365-internal.eml", "forged-esmtps.eml",
	};
	static const size_t pieces[] = {1, 3, 7, 64, 100000};
	struct received_own own;
	struct received_scan *sc = malloc(sizeof(*sc));

	(void)state;
	assert_non_null(sc);
	assert_int_equal(received_own_parse(&own, "mailstore.example.org mx.example.org "
						  "192.0.2.0/24 .example.com"),
			 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *msg = load(files[i], &len);

		for (int with_own = 0; with_own < 2; with_own++) {
			struct received_verdict v;
			char want[1024], got[1024];

			words_of_chain(msg, len, with_own ? &own : NULL, want, sizeof(want), &v);
			for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
				received_scan_init(sc, with_own ? &own : NULL);
				scan_message(sc, msg, len, pieces[p]);
				received_verdict_words(&sc->v, got, sizeof(got));
				print_message("%s own=%d piece=%zu: %s\n", files[i], with_own,
					      pieces[p], got);
				assert_string_equal(got, want);
				assert_int_equal(sc->v.transfers, v.transfers);
				assert_int_equal(sc->v.claims, v.claims);
			}
		}
		free(msg);
	}
	free(sc);
}

static void test_real_shapes(void **state)
{
	struct received_chain c;
	struct received_verdict v;
	struct received_own own;
	char words[512];
	size_t len;
	char *msg;

	(void)state;
	/* Exchange Online: mapi (Outlook's submission) then HTTPS between mailbox servers */
	msg = load("m365-internal.eml", &len);
	assert_int_equal(received_chain_parse(msg, len, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.hop[0].tls, RECEIVED_TLS_YES);
	assert_string_equal(c.hop[0].protocol, "HTTPS");
	assert_int_equal(c.hop[2].local, RECEIVED_LOCAL_PROTOCOL);
	received_verdict(&c, &v);
	received_verdict_words(&v, words, sizeof(words));
	assert_string_equal(words, "Encrypted on every recorded hop.");
	received_chain_free(&c);
	free(msg);

	/* sendmail's verify=NOT: encrypted, the certificate not checked */
	msg = load("legacy.eml", &len);
	assert_int_equal(received_chain_parse(msg, len, &c), 0);
	assert_int_equal(c.hop[0].tls, RECEIVED_TLS_YES);
	assert_int_equal(c.hop[0].cert, RECEIVED_CERT_NOT_CHECKED);
	assert_string_equal(c.hop[0].cert_note, "verify=NOT");
	assert_int_equal(c.hop[1].cert, RECEIVED_CERT_UNKNOWN);
	received_chain_free(&c);
	free(msg);

	/* Postfix's certificate clause */
	msg = load("tlsgate.eml", &len);
	assert_int_equal(received_chain_parse(msg, len, &c), 0);
	assert_int_equal(c.hop[1].cert, RECEIVED_CERT_NOT_CHECKED);
	received_chain_free(&c);
	free(msg);

	/* A forged ESMTPS line below the organisation's first receipt is the sender's claim;
	 * the real first hop was plaintext, and that is the verdict. */
	msg = load("forged-esmtps.eml", &len);
	assert_int_equal(received_chain_parse(msg, len, &c), 0);
	assert_int_equal(received_own_parse(&own, "mailstore.example.org mx.example.org "
						  "192.0.2.0/24"),
			 0);
	received_chain_walk(&c, &own);
	assert_int_equal(c.hop[0].trust, RECEIVED_TRUST_OWN);
	assert_int_equal(c.hop[0].local, RECEIVED_LOCAL_INTERNAL);
	assert_int_equal(c.hop[1].trust, RECEIVED_TRUST_OWN);
	assert_true(c.hop[1].first_receipt);
	assert_int_equal(c.hop[2].trust, RECEIVED_TRUST_CLAIM);
	assert_int_equal(c.hop[2].tls, RECEIVED_TLS_YES);
	received_verdict(&c, &v);
	assert_int_equal(v.internal, 1);
	assert_int_equal(v.claims, 1);
	received_verdict_words(&v, words, sizeof(words));
	assert_string_equal(words, "NOT encrypted between sender.example.net and mx.example.org.");
	received_chain_free(&c);
	free(msg);
}

static void test_own_list(void **state)
{
	struct received_own o;

	(void)state;
	assert_int_equal(received_own_parse(&o, "mx1.example.org, .corp.example.org\t192.0.2.0/24 "
						"2001:db8::/32 cafe.example.net 198.51.100.7"),
			 0);
	assert_int_equal(o.n, 6);
	assert_true(received_own_name(&o, "MX1.example.org."));
	assert_false(received_own_name(&o, "mx2.example.org"));
	assert_true(received_own_name(&o, "a.b.corp.example.org"));
	assert_false(received_own_name(&o, "corp.example.org"));
	assert_false(received_own_name(&o, "evilcorp.example.org"));
	assert_true(received_own_name(&o, "cafe.example.net"));
	assert_true(received_own_addr(&o, "192.0.2.200"));
	assert_true(received_own_addr(&o, "::ffff:192.0.2.1"));
	assert_false(received_own_addr(&o, "192.0.3.1"));
	assert_true(received_own_addr(&o, "2001:db8:1::5"));
	assert_true(received_own_addr(&o, "198.51.100.7"));
	assert_false(received_own_addr(&o, "198.51.100.8"));
	assert_false(received_own_addr(&o, ""));
	assert_int_equal(received_own_parse(&o, ""), 0);
	assert_int_equal(o.n, 0);
	assert_int_equal(received_own_parse(&o, "192.0.2.0/33"), -EINVAL);
	assert_int_equal(received_own_parse(&o, "bad/name"), -EINVAL);
	assert_int_equal(received_own_parse(&o, "."), -EINVAL);
	assert_int_equal(received_own_parse(&o, "mx;rm"), -EINVAL);
}

/* The HELO name is the sender's word: it never makes a sender one of ours. */
static void test_helo_is_not_trusted(void **state)
{
	static const char msg[] =
		"Received: from mx.example.org (unknown [203.0.113.9]) by mx.example.org "
		"(Postfix) with ESMTP id 1; Sun, 29 Nov 2026 01:24:48 +0000\r\n"
		"Received: from x (x [192.0.2.5]) by mx.example.org with ESMTPS id 2; d\r\n\r\n";
	struct received_chain c;
	struct received_own own;

	(void)state;
	assert_int_equal(received_own_parse(&own, "mx.example.org 192.0.2.0/24"), 0);
	assert_int_equal(received_chain_parse(msg, sizeof(msg) - 1, &c), 0);
	received_chain_walk(&c, &own);
	/* "from mx.example.org by mx.example.org": the HELO is ours, the address is not */
	assert_int_equal(c.hop[0].local, RECEIVED_LOCAL_NO);
	assert_true(c.hop[0].first_receipt);
	assert_int_equal(c.hop[1].trust, RECEIVED_TRUST_CLAIM);
	received_chain_free(&c);
}

static void test_header_format(void **state)
{
	struct received_verdict v;
	char buf[RECEIVED_VERDICT_HEADER_MAX];
	int n;

	(void)state;
	received_verdict_init(&v);
	v.transfers = v.plaintext = 3;
	memset(v.plain_from, 'a', 200);
	memcpy(v.plain_to, "relay.corp.example", 19);
	v.plain_claim = true;
	n = received_verdict_header(&v, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_true(
		!strncmp(buf, "X-Tlsgate-Transport-Security: NOT encrypted between\r\n aaa", 57));
	assert_string_equal(buf + n - 2, "\r\n");
	/* every line ends in CRLF, continuation lines start with a space, none but a word
	 * longer than the line passes 78 columns */
	for (char *l = buf, *e; (e = strstr(l, "\r\n")); l = e + 2) {
		assert_true(l == buf || *l == ' ');
		assert_true(e - l <= 78 || !memchr(l + 1, ' ', (size_t)(e - l - 1)));
		assert_null(memchr(l, '\n', (size_t)(e - l)));
	}
	/* unfolded, it is the sentence */
	for (char *f; (f = strstr(buf, "\r\n "));)
		memmove(f, f + 2, strlen(f + 2) + 1);
	assert_non_null(
		strstr(buf, "(as the sender's servers recorded it) and on 2 more hops.\r\n"));
	assert_int_equal(received_verdict_header(&v, buf, 40), -ENOSPC);

	received_verdict_init(&v);
	n = received_verdict_header(&v, buf, sizeof(buf));
	assert_string_equal(buf, "X-Tlsgate-Transport-Security: No transfer between mail servers "
				 "was recorded.\r\n");
}

static void test_field_is(void **state)
{
	(void)state;
	assert_true(received_field_is("Received: x", 11, "Received"));
	assert_true(received_field_is("received \t: x", 13, "Received"));
	assert_false(received_field_is("Received-SPF: x", 15, "Received"));
	assert_false(received_field_is("Received", 8, "Received"));
	assert_true(
		received_field_is("X-TLSGATE-TRANSPORT-SECURITY:", 29, RECEIVED_VERDICT_HEADER));
	assert_true(received_field_line("Subject : x", 11));
	assert_false(received_field_line("This line is not a header field", 31));
	assert_false(received_field_line(": x", 3));
	assert_false(received_field_line("Subject", 7));
}

/* 10 000 Received fields stream through one fixed-size scan; the newest 256 are judged, as
 * explain reads them. */
static void test_huge_chain(void **state)
{
	struct received_scan *sc = malloc(sizeof(*sc));
	char line[256], words[512];

	(void)state;
	assert_non_null(sc);
	received_scan_init(sc, NULL);
	received_scan_ours(
		sc,
		"Received: from a (a [203.0.113.5]) by gw.example.org (tlsgate) "
		"with ESMTPS id Q\r\n\t(using TLSv1.3 with cipher X (256/256 bits)); d\r\n",
		120);
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(line, sizeof(line),
				 "Received: from h%d (h%d [198.51.100.1]) by h%d with %s; d\r\n", i,
				 i, i + 1, i < 5000 ? "ESMTPS" : "SMTP");

		received_scan_field(sc, true);
		received_scan_bytes(sc, line, (size_t)n);
		received_scan_field(sc, false);
		received_scan_bytes(sc, "X-Other: y\r\n", 12);
	}
	/* one field larger than the scan keeps: judged on its beginning */
	received_scan_field(sc, true);
	for (int i = 0; i < 1000; i++)
		received_scan_bytes(sc, " (filler filler filler filler)\r\n", 33);
	received_scan_end(sc);
	assert_int_equal(sc->v.hops, RECEIVED_MAX_HOPS);
	assert_int_equal(sc->v.claims, RECEIVED_MAX_HOPS - 1);
	received_verdict_words(&sc->v, words, sizeof(words));
	assert_string_equal(words, "Encrypted on every recorded hop; the last hop used TLS 1.3; "
				   "255 earlier hops as the sender's servers recorded them.");
	free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_equals_explain),
		cmocka_unit_test(test_real_shapes),
		cmocka_unit_test(test_own_list),
		cmocka_unit_test(test_helo_is_not_trusted),
		cmocka_unit_test(test_header_format),
		cmocka_unit_test(test_field_is),
		cmocka_unit_test(test_huge_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
