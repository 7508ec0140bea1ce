// SPDX-License-Identifier: GPL-2.0-only
/*
 * `tlsgatectl explain`: ctl_explain() called directly with
 * stdout/stderr captured, on the sample messages in tests/unit/data/received/; and the verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/received_explain.h"

#define DATA "tests/unit/data/received/"

struct run {
	int rc;
	char *out, *err;
};

static char *read_all(int fd)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)len + 1);

	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
	return buf;
}

/* Run ctl_explain with stdout and stderr going to files; stdin from stdin_path if given. */
static struct run run_explain(const char *stdin_path, const struct ctl_opts *o, int argc, ...)
{
	char *argv[8];
	struct run r;
	va_list ap;
	FILE *fout = tmpfile(), *ferr = tmpfile();
	int out = fileno(fout), err = fileno(ferr);
	int saved_out = dup(1), saved_err = dup(2), saved_in = -1;

	assert_true(argc < 8);
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	if (stdin_path) {
		int in = open(stdin_path, O_RDONLY);

		assert_true(in >= 0);
		saved_in = dup(0);
		dup2(in, 0);
		close(in);
		__fpurge(stdin); /* nothing buffered from an earlier run's file */
		clearerr(stdin);
	}
	dup2(out, 1);
	dup2(err, 2);
	r.rc = ctl_explain(argc, argv, o);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	if (saved_in >= 0) {
		dup2(saved_in, 0);
		close(saved_in);
		__fpurge(stdin);
		clearerr(stdin);
	}
	r.out = read_all(out);
	r.err = read_all(err);
	fclose(fout);
	fclose(ferr);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static const struct ctl_opts text_opts;
static const struct ctl_opts json_opts = { .json = true };

static void test_text_warning(void **state)
{
	struct run r = run_explain(NULL, &text_opts, 1, DATA "postfix-plain.eml");

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(
		r.out,
		"This message went through 4 recorded steps, listed in the order it travelled: "
		"hop 1 first, hop 4 last.\n"
		"\n"
		"Hop 1: 192.0.2.99 handed the message to webmail.example.com.\n"
		"  Encrypted: not recorded - this server did not write down whether the connection "
		"was encrypted.\n"
		"  When: Mon, 1 Sep 2025 20:16:40 +0000\n"
		"Hop 2: webmail.example.com [10.39.193.137] handed the message to relay.example.com.\n"
		"  Encrypted: yes (the server did not record which TLS version).\n"
		"  When: Mon, 1 Sep 2025 20:16:45 +0000 (UTC)\n"
		"Hop 3: relay.example.com [203.0.113.40] handed the message to mx.example.org.\n"
		"  Encrypted: NO - anyone on the network path could read this hop.\n"
		"  When: Mon, 1 Sep 2025 22:16:51 +0200 (CEST)\n"
		"Hop 4: the message was passed on inside mx.example.org (between programs on that "
		"server).\n"
		"  Encrypted: not needed - the message did not cross a network between servers.\n"
		"  When: Mon, 01 Sep 2025 22:16:52 +0200\n"
		"\n"
		"In one line: NOT encrypted between relay.example.com and mx.example.org.\n"
		"\n"
		"Verdict:\n"
		"WARNING: hop 3 (from relay.example.com to mx.example.org) was NOT encrypted.\n"
		"Hop 1 (from 192.0.2.99 to webmail.example.com) did not record whether it was "
		"encrypted.\n"
		"Each server writes its own Received: line; lines written before the message "
		"reached your own servers could be forged.\n");
	run_free(&r);
}

static void test_text_all_encrypted(void **state)
{
	struct run r = run_explain(NULL, &text_opts, 1, DATA "m365.eml");

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(
		r.out,
		"This message went through 4 recorded steps, listed in the order it travelled: "
		"hop 1 first, hop 4 last.\n"
		"\n"
		"Hop 1: the sender's mail program (Outlook) handed the message to "
		"AM0PR10MB2963.EURPRD10.PROD.OUTLOOK.COM (MAPI: a mail program's submission, not a "
		"transfer between servers).\n"
		"  Encrypted: not recorded - Outlook's own connection (Exchange Online takes it only "
		"over HTTPS); it does not count in the verdict.\n"
		"  When: Thu, 10 Mar 2022 13:06:06 +0000\n"
		"Hop 2: AM0PR10MB2963.EURPRD10.PROD.OUTLOOK.COM [2001:db8:208:157::14] handed the "
		"message to AM6PR10MB2279.EURPRD10.PROD.OUTLOOK.COM.\n"
		"  Encrypted: yes, with TLS 1.2 (cipher TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384).\n"
		"  When: Thu, 10 Mar 2022 13:06:07 +0000\n"
		"Hop 3: EUR05-AM6-obe.outbound.protection.outlook.com [203.0.113.130] handed the "
		"message to AM5EUR02FT012.mail.protection.outlook.com.\n"
		"  Encrypted: yes, with TLS 1.3 (cipher TLS_AES_256_GCM_SHA384).\n"
		"  When: Thu, 10 Mar 2022 13:06:08 +0000\n"
		"Hop 4: AM5EUR02FT012.eop-EUR02.prod.protection.outlook.com [2001:db8:208:1::1] "
		"handed the message to AM9PR04MB8123.eurprd04.prod.outlook.com.\n"
		"  Encrypted: yes, with TLS 1.2 (cipher TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384).\n"
		"  When: Thu, 10 Mar 2022 13:06:09 +0000\n"
		"\n"
		"In one line: Encrypted on every recorded hop; the last hop used TLS 1.2.\n"
		"\n"
		"Verdict:\n"
		"Every hop that recorded its security was encrypted.\n"
		"Each server writes its own Received: line; lines written before the message "
		"reached your own servers could be forged.\n");
	run_free(&r);
}

/* Outdated versions are encrypted, but said so; bits and cipher appear when recorded. */
static void test_text_outdated(void **state)
{
	struct run r = run_explain(NULL, &text_opts, 1, DATA "legacy.eml");

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Hop 2: mx2.example.com [198.51.100.15] handed the message "
				      "to mx.google.com.\n  Encrypted: yes, but with TLS 1.0, an "
				      "outdated version (cipher ECDHE-RSA-RC4-SHA, 128-bit).\n"));
	assert_non_null(strstr(r.out, "Hop 6: mimecast.example.com [203.0.113.73] handed the "
				      "message to relay.example.com.\n  Encrypted: yes (cipher "
				      "ECDHE-RSA-AES256-GCM-SHA384; the server did not record which "
				      "TLS version).\n"));
	assert_non_null(strstr(r.out, "\nVerdict:\n"
				      "WARNING: hop 3 (from scanner.corp.example.com to "
				      "CAS01.corp.example.com) was NOT encrypted.\n"
				      "Note: hop 1 (from scientist-2.lan to mx.google.com) used "
				      "TLSv1/SSLv3, an outdated version that is no longer considered "
				      "safe.\n"
				      "Note: hop 2 (from mx2.example.com to mx.google.com) used TLS "
				      "1.0, an outdated version that is no longer considered safe.\n"));
	run_free(&r);
}

static void test_json(void **state)
{
	struct run r = run_explain(NULL, &json_opts, 1, DATA "tlsgate.eml");

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(
		r.out,
		"{\"order\":\"oldest-first\",\"truncated\":false,\"hops\":["
		"{\"hop\":1,\"from\":\"laptop.example.com\",\"from_rdns\":null,"
		"\"from_addr\":\"2001:db8:95:205:d300:c432:2c5b:afd3\",\"by\":\"smtp.gmail.com\","
		"\"protocol\":\"ESMTPSA\",\"id\":\"y13sm15478225pgp.16.2026.11.28.17.24.45\","
		"\"date\":\"Sat, 28 Nov 2026 17:24:46 -0800 (PST)\",\"style\":\"gmail\","
		"\"local\":null,\"encrypted\":\"yes\",\"tls_version\":\"TLSv1.3\","
		"\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"bits\":256,\"outdated_tls\":false,"
		"\"certificate\":null,\"certificate_note\":null,\"recorded_by\":null,"
		"\"first_receipt\":false},"
		"{\"hop\":2,\"from\":null,\"from_rdns\":null,\"from_addr\":null,"
		"\"by\":\"mail-ed1-f49.google.com\",\"protocol\":\"SMTP\","
		"\"id\":\"4fb4d7f45d1cf-53e3b8f906fso6584393a12.2\","
		"\"date\":\"Sat, 28 Nov 2026 17:24:47 -0800 (PST)\",\"style\":\"gmail\","
		"\"local\":\"no-sending-host\",\"encrypted\":\"no\",\"tls_version\":null,"
		"\"cipher\":null,\"bits\":null,\"outdated_tls\":false,"
		"\"certificate\":null,\"certificate_note\":null,\"recorded_by\":null,"
		"\"first_receipt\":false},"
		"{\"hop\":3,\"from\":\"mail-ed1-f49.google.com\","
		"\"from_rdns\":\"mail-ed1-f49.google.com\",\"from_addr\":\"192.0.2.49\","
		"\"by\":\"gw.example.org\",\"protocol\":\"ESMTPS\",\"id\":\"4jcTwJ1wWSz42FqjGJ\","
		"\"date\":\"Sun, 29 Nov 2026 01:24:48 +0000 (UTC)\",\"style\":\"tlsgate\","
		"\"local\":null,\"encrypted\":\"yes\",\"tls_version\":\"TLSv1.3\","
		"\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"bits\":256,\"outdated_tls\":false,"
		"\"certificate\":\"not-checked\","
		"\"certificate_note\":\"no client certificate requested\",\"recorded_by\":null,"
		"\"first_receipt\":false},"
		"{\"hop\":4,\"from\":\"gw.example.org\",\"from_rdns\":\"gw.example.org\","
		"\"from_addr\":\"198.51.100.2\",\"by\":\"mailstore.example.org\","
		"\"protocol\":\"ESMTP\",\"id\":\"4jcTwK0Cc7zg3t\","
		"\"date\":\"Sun, 29 Nov 2026 01:24:49 +0000 (UTC)\",\"style\":\"postfix\","
		"\"local\":null,\"encrypted\":\"no\",\"tls_version\":null,\"cipher\":null,"
		"\"bits\":null,\"outdated_tls\":false,\"certificate\":null,"
		"\"certificate_note\":null,\"recorded_by\":null,\"first_receipt\":false}],"
		"\"verdict\":{\"all_recorded_encrypted\":false,\"transfers\":3,\"encrypted\":2,"
		"\"not_encrypted\":[4],\"not_recorded\":[],\"outdated_tls\":[],\"claims\":0,"
		"\"internal\":0,"
		"\"summary\":\"WARNING: at least one hop between servers was NOT encrypted.\","
		"\"words\":\"NOT encrypted between gw.example.org and mailstore.example.org.\"}}\n");
	run_free(&r);
}

/* -j after the word works too, -p pretty-prints; "-" reads standard input. */
static void test_options_and_stdin(void **state)
{
	struct run r = run_explain(DATA "gmail-inbound.eml", &text_opts, 3, "-j", "-p", "-");

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_true(!strncmp(r.out, "{\n    \"order\": \"oldest-first\",\n", 30));
	assert_non_null(strstr(r.out, "\"summary\": \"Every hop that recorded its security was "
				      "encrypted.\",\n"));
	run_free(&r);

	r = run_explain(DATA "exim.eml", &text_opts, 0);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Hop 3: eggs.example.org [2001:db8:142:3::10] handed the "
				      "message to lists.example.org.\n  Encrypted: yes, with TLS 1.2 "
				      "(cipher ECDHE_RSA_AES_256_GCM_SHA384, 256-bit).\n"));
	run_free(&r);
}

static void test_usage_and_errors(void **state)
{
	struct run r = run_explain(NULL, &text_opts, 1, "help");

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_true(!strncmp(r.out, "Usage: tlsgatectl", 17));
	run_free(&r);

	r = run_explain(NULL, &text_opts, 1, DATA "does-not-exist.eml");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "tlsgatectl: explain: " DATA
				   "does-not-exist.eml: No such file or directory\n");
	run_free(&r);

	r = run_explain(NULL, &text_opts, 2, DATA "exim.eml", DATA "m365.eml");
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.out, "");
	assert_true(!strncmp(r.err, "tlsgatectl: explain: one message at a time", 42));
	run_free(&r);

	r = run_explain(NULL, &text_opts, 1, "--frobnicate");
	assert_int_equal(r.rc, 2);
	assert_true(!strncmp(r.err, "tlsgatectl: explain: unknown option \"--frobnicate\"\n", 51));
	run_free(&r);
}

/* A message nobody relayed, and one with a huge body that must not be read. */
static void test_no_headers_and_big_body(void **state)
{
	char path[] = "/tmp/tg-explain-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	static char chunk[65536];
	struct run r;

	(void)state;
	assert_non_null(f);
	fputs("From: a@example.net\nSubject: local\n\nbody\n", f);
	fclose(f);
	r = run_explain(NULL, &text_opts, 1, path);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "This message has no Received: headers; no server recorded "
				   "handling it.\n\nIn one line: No transfer between mail servers "
				   "was recorded.\n\nVerdict:\nNo transfer between servers was "
				   "recorded, so there is nothing to judge.\n");
	run_free(&r);

	/* 16 MiB of body (over the 8 MiB header limit) after one header: only the header
	 * section is read. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("Received: from a (a [192.0.2.1]) by b.example.org with ESMTPS; d\r\n\r\n", f);
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 256; i++)
		fwrite(chunk, 1, sizeof(chunk), f);
	fclose(f);
	r = run_explain(NULL, &text_opts, 1, path);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Every hop that recorded its security was encrypted."));
	run_free(&r);

	/* A header section over 8 MiB (no empty line) is refused, not loaded. */
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 140; i++) {
		fputs("X-Filler: ", f);
		fwrite(chunk, 1, sizeof(chunk) - 20, f);
		fputs("\n", f);
	}
	fclose(f);
	r = run_explain(NULL, &text_opts, 1, path);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "header section larger than 8 MiB"));
	run_free(&r);
	unlink(path);
}

static void test_verdict_counts(void **state)
{
	static const struct {
		const char *file;
		struct received_verdict v;
	} c[] = {
		{ "postfix.eml", { .transfers = 2, .encrypted = 2 } },
		{ "postfix-plain.eml", { .transfers = 3, .encrypted = 1, .plaintext = 1,
					 .unrecorded = 1 } },
		{ "exim.eml", { .transfers = 3, .encrypted = 3 } },
		{ "m365.eml", { .transfers = 3, .encrypted = 3 } },
		{ "gmail.eml", { .transfers = 2, .encrypted = 2 } },
		{ "legacy.eml", { .transfers = 7, .encrypted = 6, .plaintext = 1, .outdated = 2 } },
		{ "qmail.mbox", { .transfers = 1, .plaintext = 1 } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char path[256], *msg = malloc(1 << 16);
		struct received_chain chain;
		struct received_verdict v;
		FILE *f;
		size_t len;

		snprintf(path, sizeof(path), DATA "%s", c[i].file);
		f = fopen(path, "rb");
		assert_non_null(f);
		len = fread(msg, 1, 1 << 16, f);
		fclose(f);
		assert_int_equal(received_chain_parse(msg, len, &chain), 0);
		received_verdict(&chain, &v);
		print_message("%s\n", c[i].file);
		assert_int_equal(v.transfers, c[i].v.transfers);
		assert_int_equal(v.encrypted, c[i].v.encrypted);
		assert_int_equal(v.plaintext, c[i].v.plaintext);
		assert_int_equal(v.unrecorded, c[i].v.unrecorded);
		assert_int_equal(v.outdated, c[i].v.outdated);
		received_chain_free(&chain);
		free(msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_warning),
		cmocka_unit_test(test_text_all_encrypted),
		cmocka_unit_test(test_text_outdated),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_options_and_stdin),
		cmocka_unit_test(test_usage_and_errors),
		cmocka_unit_test(test_no_headers_and_big_body),
		cmocka_unit_test(test_verdict_counts),
	};

	return cmocka_run_group_tests_name("received_explain", tests, NULL, NULL);
}
