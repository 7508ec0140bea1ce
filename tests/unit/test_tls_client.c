// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon/tls_client.c's per-settings contexts: an SSL from tls_client_ssl_new carries exactly
 * the protocol bounds, cipher list, options and modes that the per-session configuration gave
 * (SSL_new on the daemon's context, then SSL_set_min/max_proto_version and SSL_set_cipher_list:
 * the reference here); equal settings share a context, different ones never do; a derived
 * context is prepared like the daemon's (trust store, DANE, kTLS keylog, options as they were
 * when it was made); refused cipher settings; past the cache's bound, the same settings on the
 * SSL; and a real handshake within a rule's bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/tls_client.h"
#include "tests/lib/tls_fixture.h"

/* The grade lists of tls_client.c (Postfix's), for the reference SSLs. */
static const char *grade_list(const char *grade)
{
	if (!grade || !strcmp(grade, "medium"))
		return "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH";
	if (!strcmp(grade, "high"))
		return "aNULL:-aNULL:HIGH:@STRENGTH";
	if (!strcmp(grade, "low"))
		return "aNULL:-aNULL:ALL:!EXPORT:+RC4:@STRENGTH";
	return NULL;
}

static SSL_CTX *base_ctx(void)
{
	struct config cfg;
	char err[256];
	SSL_CTX *ctx;

	config_defaults(&cfg);
	free(cfg.tls_ca_file);
	cfg.tls_ca_file = NULL;
	ctx = tls_client_ctx_new(&cfg, err, sizeof(err));
	config_free(&cfg);
	assert_non_null(ctx);
	return ctx;
}

/* The SSL as tls_client_ssl_new configured it per session before the cache. */
static SSL *reference(SSL_CTX *base, const struct policy_rule *r, const char *exclude_list)
{
	char list[512];
	SSL *ssl = SSL_new(base);

	assert_non_null(ssl);
	snprintf(list, sizeof(list), "%s%s", grade_list(r ? r->ciphers : NULL),
		 exclude_list ? exclude_list : "");
	if (r && r->min_version)
		SSL_set_min_proto_version(ssl, r->min_version);
	if (r && r->max_version)
		SSL_set_max_proto_version(ssl, r->max_version);
	assert_int_equal(SSL_set_cipher_list(ssl, list), 1);
	return ssl;
}

static void assert_same_settings(SSL *a, SSL *b)
{
	STACK_OF(SSL_CIPHER) *ca = SSL_get_ciphers(a), *cb = SSL_get_ciphers(b);

	assert_int_equal(SSL_get_min_proto_version(a), SSL_get_min_proto_version(b));
	assert_int_equal(SSL_get_max_proto_version(a), SSL_get_max_proto_version(b));
	assert_true(SSL_get_options(a) == SSL_get_options(b));
	assert_true(SSL_get_mode(a) == SSL_get_mode(b));
	assert_int_equal(SSL_get_verify_mode(a), SSL_get_verify_mode(b));
	assert_int_equal(sk_SSL_CIPHER_num(ca), sk_SSL_CIPHER_num(cb));
	for (int i = 0; i < sk_SSL_CIPHER_num(ca); i++)
		assert_string_equal(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ca, i)),
				    SSL_CIPHER_get_name(sk_SSL_CIPHER_value(cb, i)));
}

static SSL *made(SSL_CTX *base, const struct policy_rule *r, enum policy_level level)
{
	struct tls_client_params p = { .level = level, .rule = r, .mx_host = "mx.example" };
	char err[256] = "";
	SSL *ssl = NULL;

	assert_int_equal(tls_client_ssl_new(base, &p, &ssl, err, sizeof(err)), 0);
	assert_non_null(ssl);
	return ssl;
}

static void test_settings_as_per_session(void **state)
{
	static char high[] = "high", low[] = "low", ex[] = "3DES, CAMELLIA:AES128";
	const struct {
		struct policy_rule r;
		const char *exclude_list; /* what exclude= adds to the string */
	} cases[] = {
		{ { .min_version = 0 }, NULL },
		{ { .ciphers = high }, NULL },
		{ { .ciphers = low, .exclude = ex }, ":!3DES:!CAMELLIA:!AES128" },
		{ { .min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .ciphers = high },
		  NULL },
		{ { .min_version = TLS1_3_VERSION }, NULL },
		{ { .max_version = TLS1_2_VERSION, .exclude = ex }, ":!3DES:!CAMELLIA:!AES128" },
	};
	SSL_CTX *base = base_ctx();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		SSL *want = reference(base, &cases[i].r, cases[i].exclude_list);
		SSL *got = made(base, &cases[i].r, POLICY_ENCRYPT);

		assert_same_settings(got, want);
		SSL_free(got);
		/* again: now from the cached context */
		got = made(base, &cases[i].r, POLICY_ENCRYPT);
		assert_same_settings(got, want);
		SSL_free(got);
		SSL_free(want);
	}
	/* no rule at all (the inside MTA, defaults) */
	{
		SSL *want = reference(base, NULL, NULL), *got = made(base, NULL, POLICY_MAY);

		assert_same_settings(got, want);
		SSL_free(got);
		SSL_free(want);
	}
	SSL_CTX_free(base);
}

static void test_shared_by_settings(void **state)
{
	static char high[] = "high", high2[] = "high", ex1[] = "3DES", ex2[] = "RC4";
	struct policy_rule a = { .ciphers = high, .max_version = TLS1_2_VERSION };
	struct policy_rule b = { .ciphers = high2, .max_version = TLS1_2_VERSION };
	struct policy_rule c = { .ciphers = high, .max_version = TLS1_2_VERSION, .exclude = ex1 };
	struct policy_rule d = { .ciphers = high, .max_version = TLS1_2_VERSION, .exclude = ex2 };
	struct policy_rule e = { .ciphers = high };
	SSL_CTX *base = base_ctx();
	SSL *sa = made(base, &a, POLICY_ENCRYPT), *sb = made(base, &b, POLICY_VERIFY),
	    *sc = made(base, &c, POLICY_ENCRYPT), *sd = made(base, &d, POLICY_ENCRYPT),
	    *se = made(base, &e, POLICY_ENCRYPT);

	(void)state;
	/* the same settings from two rules (and levels): one context */
	assert_ptr_equal(SSL_get_SSL_CTX(sa), SSL_get_SSL_CTX(sb));
	/* anything that decided the handshake differs: never shared */
	assert_ptr_not_equal(SSL_get_SSL_CTX(sa), SSL_get_SSL_CTX(sc));
	assert_ptr_not_equal(SSL_get_SSL_CTX(sc), SSL_get_SSL_CTX(sd));
	assert_ptr_not_equal(SSL_get_SSL_CTX(sa), SSL_get_SSL_CTX(se));
	/* one trust store, the daemon's */
	assert_ptr_equal(SSL_CTX_get_cert_store(SSL_get_SSL_CTX(sa)), SSL_CTX_get_cert_store(base));
	SSL_free(sa);
	SSL_free(sb);
	SSL_free(sc);
	SSL_free(sd);
	SSL_free(se);
	SSL_CTX_free(base);
}

static void test_prepared_like_base(void **state)
{
	static char high[] = "high";
	struct policy_rule r = { .ciphers = high };
	SSL_CTX *base = base_ctx(), *d;
	SSL *ssl;

	(void)state;
	/* as tlsgated does for ktls = no, before any session */
	SSL_CTX_clear_options(base, SSL_OP_ENABLE_KTLS);
	ssl = made(base, &r, POLICY_ENCRYPT);
	d = SSL_get_SSL_CTX(ssl);
	assert_ptr_not_equal(d, base);
	assert_true(SSL_CTX_get_options(d) == SSL_CTX_get_options(base));
	assert_false(SSL_get_options(ssl) & SSL_OP_ENABLE_KTLS);
	assert_true(SSL_CTX_get_mode(d) == SSL_CTX_get_mode(base));
	assert_int_equal(SSL_CTX_get_verify_mode(d), SSL_VERIFY_NONE);
	/* kTLS preparation: the keylog callback that captures the TLS 1.3 secrets */
	assert_non_null(SSL_CTX_get_keylog_callback(d));
	assert_ptr_equal(SSL_CTX_get_keylog_callback(d), SSL_CTX_get_keylog_callback(base));
	/* DANE is enabled on the context: an SSL from it can enable it */
	assert_true(SSL_dane_enable(ssl, "mx.example") > 0);
	SSL_free(ssl);
	SSL_CTX_free(base);
}

static void test_refused_settings(void **state)
{
	static char bogus[] = "bogus", null_grade[] = "null", enull[] = "eNULL";
	struct policy_rule grade = { .ciphers = bogus };
	struct policy_rule empty = { .ciphers = null_grade, .exclude = enull };
	struct tls_client_params p = { .level = POLICY_ENCRYPT };
	SSL_CTX *base = base_ctx();
	char err[256];
	SSL *ssl = NULL;

	(void)state;
	p.rule = &grade;
	assert_int_equal(tls_client_ssl_new(base, &p, &ssl, err, sizeof(err)), -EINVAL);
	assert_null(ssl);
	assert_string_equal(err, "bad cipher settings ciphers=bogus exclude=");
	/* a list OpenSSL finds no cipher in, twice (not cached): the same answer */
	p.rule = &empty;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(tls_client_ssl_new(base, &p, &ssl, err, sizeof(err)), -EINVAL);
		assert_null(ssl);
		assert_string_equal(err, "bad cipher settings ciphers=null exclude=eNULL");
		assert_int_equal(ERR_peek_error(), 0); /* nothing left for the next session */
	}
	SSL_CTX_free(base);
}

static void test_past_the_bound(void **state)
{
	static char names[40][16];
	SSL_CTX *base = base_ctx();

	(void)state;
	/* more distinct settings than the cache holds: every SSL still has its own */
	for (int i = 0; i < 40; i++) {
		struct policy_rule r = { .exclude = names[i] };
		char ex[32];
		SSL *got, *want;

		snprintf(names[i], sizeof(names[i]), "NOSUCH%d", i);
		snprintf(ex, sizeof(ex), ":!NOSUCH%d", i);
		got = made(base, &r, POLICY_ENCRYPT);
		want = reference(base, &r, ex);
		assert_same_settings(got, want);
		if (i >= 32)
			assert_ptr_equal(SSL_get_SSL_CTX(got), base);
		SSL_free(got);
		SSL_free(want);
	}
	SSL_CTX_free(base);
}

/* A handshake within the rule's bounds: TLS 1.2 at most, no AES-128. */
static void test_handshake_in_bounds(void **state)
{
	static char ex[] = "AES128";
	struct policy_rule r = { .max_version = TLS1_2_VERSION, .exclude = ex };
	struct tls_fixture_opts o = { .version = 0 };
	SSL_CTX *base = base_ctx(), *sctx = tls_fixture_server_ctx(&o);
	SSL *c, *s;
	int sv[2];

	(void)state;
	assert_non_null(sctx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = made(base, &r, POLICY_ENCRYPT);
	s = SSL_new(sctx);
	assert_int_equal(tls_fixture_handshake(c, s, sv[0], sv[1]), 0);
	assert_int_equal(SSL_version(c), TLS1_2_VERSION);
	assert_null(strstr(SSL_CIPHER_get_name(SSL_get_current_cipher(c)), "AES128"));
	SSL_free(c);
	SSL_free(s);
	close(sv[0]);
	close(sv[1]);
	SSL_CTX_free(sctx);
	SSL_CTX_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_as_per_session),
		cmocka_unit_test(test_shared_by_settings),
		cmocka_unit_test(test_prepared_like_base),
		cmocka_unit_test(test_refused_settings),
		cmocka_unit_test(test_past_the_bound),
		cmocka_unit_test(test_handshake_in_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
