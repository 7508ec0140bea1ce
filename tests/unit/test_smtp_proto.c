// SPDX-License-Identifier: GPL-2.0-only
/* smtp/proto.c: command, path, BDAT, reply, EHLO and end-of-data parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smtp/proto.h"

#define S(x) x, sizeof(x) - 1

static void test_cmd_parse(void **state)
{
	struct smtp_cmd c;

	(void)state;
	assert_int_equal(smtp_cmd_parse(S("ehlo client.example.org"), &c), 0);
	assert_int_equal(c.verb, SMTP_EHLO);
	assert_int_equal(c.args_len, strlen("client.example.org"));
	assert_memory_equal(c.args, "client.example.org", c.args_len);
	assert_int_equal(smtp_cmd_parse(S("STARTTLS"), &c), 0);
	assert_int_equal(c.verb, SMTP_STARTTLS);
	assert_int_equal(c.args_len, 0);
	assert_int_equal(smtp_cmd_parse(S("StartTls now"), &c), 0);
	assert_int_equal(c.verb, SMTP_STARTTLS);
	assert_int_equal(c.args_len, 3);
	assert_int_equal(smtp_cmd_parse(S("XYZZY foo"), &c), 0);
	assert_int_equal(c.verb, SMTP_UNKNOWN);
	assert_int_equal(smtp_cmd_parse(S("DATAX"), &c), 0);
	assert_int_equal(c.verb, SMTP_UNKNOWN);
	assert_int_equal(smtp_cmd_parse("", 0, &c), -EINVAL);
	assert_int_equal(smtp_cmd_parse(S(" MAIL"), &c), -EINVAL);
	assert_int_equal(smtp_cmd_parse(S("MA1L FROM:<>"), &c), -EINVAL);
	assert_int_equal(smtp_cmd_parse("MAIL\0FROM", 9, &c), -EINVAL);
}

static void test_path_parse(void **state)
{
	char a[64];

	(void)state;
	assert_int_equal(smtp_path_parse(S("FROM:<bob@example.org> SIZE=10"), "FROM:", a, sizeof(a)),
			 0);
	assert_string_equal(a, "bob@example.org");
	assert_int_equal(smtp_path_parse(S("from: <>"), "FROM:", a, sizeof(a)), 0);
	assert_string_equal(a, "");
	assert_int_equal(smtp_path_parse(S("TO:<\"a>b c\"@example.net>"), "TO:", a, sizeof(a)), 0);
	assert_string_equal(a, "\"a>b c\"@example.net");
	assert_int_equal(smtp_path_parse(S("TO:carol@example.net"), "TO:", a, sizeof(a)), 0);
	assert_string_equal(a, "carol@example.net");
	assert_int_equal(smtp_path_parse(S("TO:<unterminated@example.net"), "TO:", a, sizeof(a)),
			 -EINVAL);
	assert_int_equal(smtp_path_parse(S("FROM:<x@y>"), "TO:", a, sizeof(a)), -EINVAL);
	assert_int_equal(smtp_path_parse(S("TO:<0123456789@example.net>"), "TO:", a, 8),
			 -ENAMETOOLONG);
}

static void test_addr_domain(void **state)
{
	char d[32];

	(void)state;
	assert_int_equal(smtp_addr_domain("Alice@Mail.Example.NET.", d, sizeof(d)), 0);
	assert_string_equal(d, "mail.example.net");
	assert_int_equal(smtp_addr_domain("\"a@b\"@example.org", d, sizeof(d)), 0);
	assert_string_equal(d, "example.org");
	assert_int_equal(smtp_addr_domain("postmaster", d, sizeof(d)), -EINVAL);
	assert_int_equal(smtp_addr_domain("", d, sizeof(d)), -EINVAL);
	assert_int_equal(smtp_addr_domain("x@", d, sizeof(d)), -EINVAL);
}

/* What a next hop reads (Postfix, strict_rfc821_envelopes=no): issue 13 item 8. */
static void test_addr_canon(void **state)
{
	static const struct {
		const char *raw, *canon;	/* canon NULL: refused */
	} cases[] = {
		{ "x@a.secure.example", "x@a.secure.example" },
		{ "x@a.secure.example ", "x@a.secure.example" },
		{ "x@a.secure.example(c)", "x@a.secure.example" },
		{ "x(c)@(nested (c))a.secure.example", "x@a.secure.example" },
		{ " x @ a.secure.example", "x@a.secure.example" },
		{ "x@a.secure.example\t", "x@a.secure.example" },
		{ "@relay.example,@b.example:x@secure.example", "x@secure.example" },
		{ "\"x y@z\"@secure.example", "\"x y@z\"@secure.example" },
		{ "x@secure.example.", "x@secure.example." },
		{ "x@[192.0.2.1]", "x@[192.0.2.1]" },
		{ "x@[IPv6:2001:db8::1]", "x@[IPv6:2001:db8::1]" },
		{ "postmaster", "postmaster" },
		{ "", "" },
		{ "x@b\xc3\xbc" "cher.example", "x@b\xc3\xbc" "cher.example" },
		{ "x@secure.example(", NULL },
		{ "x@secure.example)", NULL },
		{ "\"x@secure.example", NULL },
		{ "x@secure..example", NULL },
		{ "x@.secure.example", NULL },
		{ "x@", NULL },
		{ "@secure.example", NULL },
		{ "x@secure.example>", NULL },
		{ "x@sec<ure.example", NULL },
		{ "x@secure.example;evil", NULL },
		{ "x@secure\r.example", NULL },
		{ "@a.example:", NULL },
		{ "@a.example,x@secure.example", NULL },
		{ "x@[192.0.2.1", NULL },
		{ "(only a comment)", NULL },
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = smtp_addr_canon(cases[i].raw, out, sizeof(out));

		if (!cases[i].canon) {
			if (rc != -EINVAL)
				fail_msg("\"%s\": want -EINVAL, got %d (%s)", cases[i].raw, rc,
					 rc ? "" : out);
			continue;
		}
		if (rc)
			fail_msg("\"%s\": %d", cases[i].raw, rc);
		assert_string_equal(out, cases[i].canon);
	}
	assert_int_equal(smtp_addr_canon("0123456789@example.net", out, 8), -ENAMETOOLONG);
}

static int collect(const char *dom, void *ctx)
{
	char *all = ctx;

	strcat(all, dom);
	strcat(all, " ");
	return strcmp(dom, "stop.example") ? 0 : 7;
}

static void test_addr_route_domains(void **state)
{
	static const struct {
		const char *addr, *doms;
	} cases[] = {
		{ "x@Secure.Example.", "secure.example " },
		{ "x%secure.example@other.example", "other.example x secure.example " },
		{ "secure.example!x@other.example", "other.example secure.example x " },
		{ "\"x@secure.example\"@other.example", "other.example x secure.example " },
		{ "x\\@secure.example@other.example", "other.example x secure.example " },
		{ "x@[192.0.2.1]", "[192.0.2.1] " },
		{ "postmaster", "" },
		{ "secure.example!postmaster", "secure.example postmaster " },
		{ "a%stop.example%b@c.example", "c.example a stop.example " },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char all[256] = "";
		int rc = smtp_addr_route_domains(cases[i].addr, collect, all);

		assert_int_equal(rc, strstr(cases[i].doms, "stop.example") ? 7 : 0);
		assert_string_equal(all, cases[i].doms);
	}
}

static void test_bdat(void **state)
{
	uint64_t n;
	bool last;

	(void)state;
	assert_int_equal(smtp_bdat_parse(S("1024"), &n, &last), 0);
	assert_int_equal(n, 1024);
	assert_false(last);
	assert_int_equal(smtp_bdat_parse(S("0 last"), &n, &last), 0);
	assert_int_equal(n, 0);
	assert_true(last);
	assert_int_equal(smtp_bdat_parse(S("12 LASTX"), &n, &last), -EINVAL);
	assert_int_equal(smtp_bdat_parse(S("7  LAST"), &n, &last), 0);
	assert_int_equal(n, 7);
	assert_true(last);
	assert_int_equal(smtp_bdat_parse(S("7 "), &n, &last), 0);
	assert_false(last);
	/*
	 * No space before LAST: the next hop refuses the command and then reads the chunk as
	 * commands, which never passed our checks (XCLIENT, MAIL before STARTTLS).  Found by
	 * fuzz_smtp_proto.
	 */
	assert_int_equal(smtp_bdat_parse(S("40LAST"), &n, &last), -EINVAL);
	assert_int_equal(smtp_bdat_parse(S("40last"), &n, &last), -EINVAL);
	assert_int_equal(smtp_bdat_parse(S("-1"), &n, &last), -EINVAL);
	assert_int_equal(smtp_bdat_parse(S("99999999999999999999999"), &n, &last), -EINVAL);
}

static void test_reply_scan(void **state)
{
	int code;
	size_t n;
	const char multi[] = "250-mx.example.net\r\n250-PIPELINING\r\n250 SIZE 1000\r\nNEXT";

	(void)state;
	assert_int_equal(smtp_reply_scan(S("220 ready\r\n"), &code, &n), 1);
	assert_int_equal(code, 220);
	assert_int_equal(n, 11);
	assert_int_equal(smtp_reply_scan(multi, sizeof(multi) - 1, &code, &n), 1);
	assert_int_equal(code, 250);
	assert_int_equal(n, sizeof(multi) - 1 - 4);
	assert_int_equal(smtp_reply_scan(S("250-partial\r\n250 "), &code, &n), 0);
	assert_int_equal(smtp_reply_scan(S("25"), &code, &n), 0);
	assert_int_equal(smtp_reply_scan(S("354\r\n"), &code, &n), 1);
	assert_int_equal(code, 354);
	assert_int_equal(smtp_reply_scan(S("250-a\r\n251 b\r\n"), &code, &n), -EPROTO);
	assert_int_equal(smtp_reply_scan(S("hello\r\n"), &code, &n), -EPROTO);
	assert_int_equal(smtp_reply_scan(S("x"), &code, &n), -EPROTO);
	assert_int_equal(smtp_reply_scan(S("150 no\r\n"), &code, &n), -EPROTO);
	assert_int_equal(smtp_reply_scan(S("250:x\r\n"), &code, &n), -EPROTO);
}

static void test_reply_too_long(void **state)
{
	static char big[SMTP_REPLY_MAX + 100];
	int code;
	size_t n, off = 0;

	(void)state;
	while (off + 10 < sizeof(big)) {
		memcpy(big + off, "250-xxxx\r\n", 10);
		off += 10;
	}
	assert_int_equal(smtp_reply_scan(big, off, &code, &n), -EMSGSIZE);
	/* A buffer of exactly SMTP_REPLY_MAX bytes that ends inside a line can never complete
	 * within the bound: an error now, not a wait (a relay's buffer that size is full and
	 * reads no more; fuzz_session found the stall with a bare-LF EHLO reply). */
	memset(big, 0, sizeof(big));
	for (off = 0; off + 10 <= SMTP_REPLY_MAX - 6; off += 9)
		memcpy(big + off, "250-xxxx\n", 9);
	memcpy(big + off, "250-xxxxxxxxxx", SMTP_REPLY_MAX - off);
	assert_int_equal(smtp_reply_scan(big, SMTP_REPLY_MAX, &code, &n), -EMSGSIZE);
	assert_int_equal(smtp_reply_scan(big, SMTP_REPLY_MAX - 1, &code, &n), 0);
}

static void test_ehlo_rewrite(void **state)
{
	const char r[] = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
			 "250-STARTTLS\r\n250-8BITMIME\r\n250 CHUNKING\r\n";
	const char *drop[] = { "STARTTLS", NULL };
	const char *drop_last[] = { "CHUNKING", "STARTTLS", NULL };
	const char *add[] = { "STARTTLS", NULL };
	char out[512];
	int n;

	(void)state;
	assert_true(smtp_ehlo_has(r, sizeof(r) - 1, "starttls"));
	assert_true(smtp_ehlo_has(r, sizeof(r) - 1, "SIZE"));
	assert_false(smtp_ehlo_has(r, sizeof(r) - 1, "SIZ"));
	assert_false(smtp_ehlo_has(r, sizeof(r) - 1, "mx.example.net"));
	n = smtp_ehlo_rewrite(r, sizeof(r) - 1, drop, NULL, out, sizeof(out));
	assert_true(n > 0);
	out[n] = 0;
	assert_string_equal(out, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
				 "250-8BITMIME\r\n250 CHUNKING\r\n");
	n = smtp_ehlo_rewrite(r, sizeof(r) - 1, drop_last, NULL, out, sizeof(out));
	out[n] = 0;
	assert_string_equal(out, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
				 "250 8BITMIME\r\n");
	n = smtp_ehlo_rewrite(S("250 inside.example.net\n"), drop, add, out, sizeof(out));
	out[n] = 0;
	assert_string_equal(out, "250-inside.example.net\r\n250 STARTTLS\r\n");
	assert_int_equal(smtp_ehlo_rewrite(r, sizeof(r) - 1, drop, NULL, out, 20), -ENOSPC);
}

/*
 * Inbound, the inside MTA offers STARTTLS for itself: it is dropped, and ours is added in its
 * place.  (Found by fuzz_smtp_proto: "present" was judged on the reply before the drop, so a
 * sender never saw STARTTLS from tlsgated and sent in plaintext.)
 */
static void test_ehlo_rewrite_drop_and_add(void **state)
{
	const char r[] = "250-inside.example.net\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
	const char *drop[] = { "STARTTLS", "XCLIENT", NULL };
	const char *add[] = { "STARTTLS", NULL };
	char out[512];
	int n;

	(void)state;
	n = smtp_ehlo_rewrite(r, sizeof(r) - 1, drop, add, out, sizeof(out));
	assert_true(n > 0);
	out[n] = 0;
	assert_string_equal(out, "250-inside.example.net\r\n250-8BITMIME\r\n250 STARTTLS\r\n");
}

/* More than 128 lines: every one is kept, and the added keyword still comes (fuzz_smtp_proto). */
static void test_ehlo_rewrite_many_lines(void **state)
{
	static char r[200 * 12 + 64], out[sizeof(r) + 512];
	const char *drop[] = { "XCLIENT", NULL };
	const char *add[] = { "STARTTLS", NULL };
	size_t off = 0;
	int n;

	(void)state;
	off += (size_t)sprintf(r + off, "250-inside.example.net\r\n");
	for (int i = 0; i < 200; i++)
		off += (size_t)sprintf(r + off, "250-X%03d\r\n", i);
	off += (size_t)sprintf(r + off, "250 LAST\r\n");
	n = smtp_ehlo_rewrite(r, off, drop, add, out, sizeof(out));
	assert_int_equal(n, off + strlen("250 STARTTLS\r\n"));
	assert_true(smtp_ehlo_has(out, (size_t)n, "X199"));
	assert_true(smtp_ehlo_has(out, (size_t)n, "LAST"));
	assert_true(smtp_ehlo_has(out, (size_t)n, "STARTTLS"));
	assert_memory_equal(out + n - 14, "250 STARTTLS\r\n", 14);
}

/* Feed a body in pieces of `step` bytes; return the offset just past the terminator or -1. */
static long dot_find(const char *body, size_t len, size_t step, int *bare)
{
	struct smtp_dot d;
	size_t off = 0;

	*bare = 0;
	smtp_dot_init(&d);
	while (off < len) {
		size_t n = len - off < step ? len - off : step, used;

		switch (smtp_dot_scan(&d, body + off, n, &used)) {
		case SMTP_DOT_END:
			return (long)(off + used);
		case SMTP_DOT_BARE_LF:
			(*bare)++;
			off += used + 1;
			if (smtp_dot_bare_lf(&d))
				return (long)off;
			break;
		case SMTP_DOT_MORE:
			off += used;
			break;
		}
	}
	return -1;
}

static void test_dot(void **state)
{
	const char b1[] = "Subject: x\r\n\r\n..dotstuffed\r\n.\r\nRSET\r\n";
	const char b2[] = ".\r\n";
	const char b3[] = "a\r\n.x\r\n.\rX\r\nend\r\n.\r\n";
	const char b4[] = "bare\nlf\n.\nafter";
	const char b5[] = "no end\r\n.";
	const char b6[] = "cr\r\r\n.\r\n";
	int bare;

	(void)state;
	for (size_t step = 1; step <= 8; step++) {
		assert_int_equal(dot_find(b1, sizeof(b1) - 1, step, &bare),
				 (long)(sizeof(b1) - 1 - 6));
		assert_int_equal(bare, 0);
		assert_int_equal(dot_find(b2, sizeof(b2) - 1, step, &bare), 3);
		assert_int_equal(dot_find(b3, sizeof(b3) - 1, step, &bare), (long)(sizeof(b3) - 1));
		assert_int_equal(dot_find(b4, sizeof(b4) - 1, step, &bare), 10);
		assert_int_equal(bare, 3);
		assert_int_equal(dot_find(b5, sizeof(b5) - 1, step, &bare), -1);
		assert_int_equal(dot_find(b6, sizeof(b6) - 1, step, &bare), (long)(sizeof(b6) - 1));
	}
}

/* The rule stated plainly, on the whole body at once: lines end at LF (CRLF or bare LF); the data
 * ends after the first line that is exactly ".". */
static long dot_ref(const char *b, size_t len, int *bare)
{
	size_t ls = 0;

	*bare = 0;
	for (size_t i = 0; i < len; i++) {
		bool crlf;
		size_t end;

		if (b[i] != '\n')
			continue;
		crlf = i > ls && b[i - 1] == '\r';
		*bare += !crlf;
		end = crlf ? i - 1 : i;
		if (end - ls == 1 && b[ls] == '.')
			return (long)(i + 1);
		ls = i + 1;
	}
	return -1;
}

static unsigned next_rand(unsigned *x)	/* xorshift32: reproducible, no libc state */
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* The incremental scanner (with its memchr fast path) agrees with the plain rule on random bodies
 * made of the characters that matter, cut into random pieces. */
static void test_dot_random(void **state)
{
	static const char alpha[] = "\r\n.a";
	unsigned seed = 12345;
	char body[64];

	(void)state;
	for (int round = 0; round < 200000; round++) {
		size_t len = 1 + (size_t)(next_rand(&seed) % sizeof(body));
		size_t step = 1 + (size_t)(next_rand(&seed) % 9);
		int bare, bare_ref;
		long got, want;

		for (size_t i = 0; i < len; i++)
			body[i] = alpha[next_rand(&seed) % 4];
		got = dot_find(body, len, step, &bare);
		want = dot_ref(body, len, &bare_ref);
		assert_int_equal(got, want);
		assert_int_equal(bare, bare_ref);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_parse),    cmocka_unit_test(test_path_parse),
		cmocka_unit_test(test_addr_domain),
		cmocka_unit_test(test_addr_canon),
		cmocka_unit_test(test_addr_route_domains),  cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_reply_scan),   cmocka_unit_test(test_reply_too_long),
		cmocka_unit_test(test_ehlo_rewrite), cmocka_unit_test(test_ehlo_rewrite_drop_and_add),
		cmocka_unit_test(test_ehlo_rewrite_many_lines), cmocka_unit_test(test_dot),
		cmocka_unit_test(test_dot_random),
	};

	return cmocka_run_group_tests_name("smtp_proto", tests, NULL, NULL);
}
