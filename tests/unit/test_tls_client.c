// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon/tls_client.c's per-settings contexts: an SSL from tls_client_ssl_new carries exactly
 * the protocol bounds, cipher list, options and modes that the per-session configuration gave
 * (SSL_new on the daemon's context, then SSL_set_min/max_proto_version and SSL_set_cipher_list:
 * the reference here); equal settings share a context, different ones never do; a derived
 * context is prepared like the daemon's (trust store, DANE, kTLS keylog, options as they were
 * when it was made); refused cipher settings; past the cache's bound, the same settings on the
 * SSL; and a real handshake within a rule's bounds.
 *
 * Session resumption: the cache (daemon/tls_resume.c: LRU bound, expiry, copies); the key
 * differs for every setting that decides a handshake; a real second handshake resumes and
 * stays verified (verify result, chain, tls_peer_keep); a session kept for MX A is not offered
 * to MX B; a session kept under may is not offered under verify -- and offered anyway (what a
 * key by destination alone would do) it would let a certificate for another name through.
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
#include "daemon/tls_peer.h"
#include "daemon/tls_resume.h"
#include "report/outcome.h"
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

/* --- session resumption */

static void test_resume_cache(void **state)
{
	struct tls_resume *c = tls_resume_new(2, 100);
	SSL_SESSION *a = SSL_SESSION_new(), *b = SSL_SESSION_new(), *x = SSL_SESSION_new(), *got;
	time_t origin = 0;

	(void)state;
	assert_non_null(c);
	assert_null(tls_resume_new(0, 100));
	SSL_SESSION_set_timeout(a, 1); /* marks to tell the copies apart */
	SSL_SESSION_set_timeout(b, 2);
	SSL_SESSION_set_timeout(x, 3);
	assert_int_equal(tls_resume_put(c, "a", a, 1000, 1000), 0);
	assert_int_equal(tls_resume_put(c, "b", b, 1000, 1000), 0);
	got = tls_resume_get(c, "a", 1001, &origin); /* a is now the most recent */
	assert_non_null(got);
	assert_true(got != a); /* a copy */
	assert_int_equal(SSL_SESSION_get_timeout(got), 1);
	SSL_SESSION_free(got);
	assert_int_equal(tls_resume_put(c, "x", x, 1002, 1002), 0); /* over the bound: b goes */
	assert_int_equal(tls_resume_count(c), 2);
	assert_null(tls_resume_get(c, "b", 1003, &origin));
	got = tls_resume_get(c, "x", 1003, &origin);
	assert_int_equal(SSL_SESSION_get_timeout(got), 3);
	SSL_SESSION_free(got);
	/* replacing keeps one entry */
	assert_int_equal(tls_resume_put(c, "x", b, 1004, 1004), 0);
	assert_int_equal(tls_resume_count(c), 2);
	got = tls_resume_get(c, "x", 1004, &origin);
	assert_int_equal(SSL_SESSION_get_timeout(got), 2);
	SSL_SESSION_free(got);
	/* expiry: max_age after the put (no ticket hint here) */
	assert_null(tls_resume_get(c, "x", 1004 + 100, &origin));
	assert_int_equal(tls_resume_count(c), 1);
	tls_resume_del(c, "a");
	assert_int_equal(tls_resume_count(c), 0);
	/* a session from a resumed handshake keeps its origin's deadline, however late it is
	 * kept, and one past it is not kept at all */
	assert_int_equal(tls_resume_put(c, "r", a, 2050, 2000), 0);
	got = tls_resume_get(c, "r", 2099, &origin);
	assert_non_null(got);
	assert_int_equal(origin, 2000);
	SSL_SESSION_free(got);
	assert_null(tls_resume_get(c, "r", 2100, &origin));
	assert_int_equal(tls_resume_put(c, "r", a, 2100, 2000), 0);
	assert_int_equal(tls_resume_count(c), 0);
	tls_resume_free(c);
	SSL_SESSION_free(a);
	SSL_SESSION_free(b);
	SSL_SESSION_free(x);
}

static void key_of(SSL_CTX *base, const struct tls_client_params *p, const char *dest, char *out,
		   size_t len)
{
	char err[256];
	SSL *ssl = NULL;

	assert_int_equal(tls_client_ssl_new(base, p, &ssl, err, sizeof(err)), 0);
	assert_int_equal(tls_client_resume_key(ssl, p, dest, out, len), 0);
	SSL_free(ssl);
}

/* Every setting that decides a handshake is in the key; equal settings give equal keys. */
static void test_resume_keys(void **state)
{
	static char m1[] = "mx.example", m2[] = "other.example", fp1[] = "AA:BB", fp2[] = "AA:BC";
	static char *ma[] = { m1 }, *mb[] = { m2 }, *fa[] = { fp1 }, *fb[] = { fp2 };
	static char ex[] = "AES128";
	struct policy_rule verify_a = { .level = POLICY_VERIFY, .match = ma, .nmatch = 1 };
	struct policy_rule verify_b = { .level = POLICY_VERIFY, .match = mb, .nmatch = 1 };
	struct policy_rule fp_a = { .level = POLICY_FINGERPRINT, .match = fa, .nmatch = 1 };
	struct policy_rule fp_b = { .level = POLICY_FINGERPRINT, .match = fb, .nmatch = 1 };
	struct policy_rule tls12 = { .level = POLICY_ENCRYPT, .max_version = TLS1_2_VERSION };
	struct policy_rule excl = { .level = POLICY_ENCRYPT, .exclude = ex };
	struct tls_client_params base_p = { .level = POLICY_VERIFY, .rule = &verify_a,
					    .mx_host = "mx.example" };
	const char *dest = "mx.example[192.0.2.1]:25";
	SSL_CTX *base = base_ctx();
	char k0[2048], k1[2048], k[2048];
	struct tls_client_params p;

	(void)state;
	key_of(base, &base_p, dest, k0, sizeof(k0));
	key_of(base, &base_p, dest, k1, sizeof(k1));
	assert_string_equal(k0, k1);
	key_of(base, &base_p, "mx.example[192.0.2.2]:25", k, sizeof(k));
	assert_string_not_equal(k, k0);				/* another MX address */
	key_of(base, &base_p, "mx.example[192.0.2.1]:587", k, sizeof(k));
	assert_string_not_equal(k, k0);				/* another port */
	p = base_p;
	p.rule = &verify_b;
	key_of(base, &p, dest, k, sizeof(k));
	assert_string_not_equal(k, k0);				/* other names to match */
	p = base_p;
	p.level = POLICY_SECURE;
	key_of(base, &p, dest, k, sizeof(k));
	assert_string_not_equal(k, k0);				/* another level */
	p = base_p;
	p.level = POLICY_MAY;
	p.rule = NULL;
	key_of(base, &p, dest, k0, sizeof(k0));
	p.level = POLICY_ENCRYPT;
	key_of(base, &p, dest, k, sizeof(k));
	assert_string_not_equal(k, k0);				/* may / encrypt */
	p.rule = &tls12;
	key_of(base, &p, dest, k1, sizeof(k1));
	assert_string_not_equal(k, k1);				/* protocol bounds */
	p.rule = &excl;
	key_of(base, &p, dest, k1, sizeof(k1));
	assert_string_not_equal(k, k1);				/* cipher exclusions */
	p = base_p;
	p.sni_hint = "sni.example";
	p.mx_host = NULL;
	p.level = POLICY_FINGERPRINT;
	p.rule = &fp_a;
	key_of(base, &p, dest, k0, sizeof(k0));
	p.rule = &fp_b;
	key_of(base, &p, dest, k1, sizeof(k1));
	assert_string_not_equal(k0, k1);			/* pinned fingerprints */
	p.sni_hint = "sni2.example";
	key_of(base, &p, dest, k, sizeof(k));
	assert_string_not_equal(k, k1);				/* SNI */
	SSL_CTX_free(base);
}

struct pki {
	X509 *ca, *mx, *other;
	EVP_PKEY *ca_key, *mx_key, *other_key;
};

static void pki_make(struct pki *k)
{
	static const char *const mx[] = { "mx.example", NULL }, *const other[] = { "other.example", NULL };

	assert_int_equal(tls_fixture_issue("test CA", NULL, true, NULL, NULL, &k->ca_key, &k->ca), 0);
	assert_int_equal(tls_fixture_issue("mx.example", mx, false, k->ca, k->ca_key, &k->mx_key,
					   &k->mx), 0);
	assert_int_equal(tls_fixture_issue("other.example", other, false, k->ca, k->ca_key,
					   &k->other_key, &k->other), 0);
}

static void pki_free(struct pki *k)
{
	X509_free(k->ca);
	X509_free(k->mx);
	X509_free(k->other);
	EVP_PKEY_free(k->ca_key);
	EVP_PKEY_free(k->mx_key);
	EVP_PKEY_free(k->other_key);
}

/*
 * One client session against sctx (which keeps its ticket key between calls): the SSL made by
 * tls_client_ssl_new, offered what the cache has when offer, the handshake, then one byte from
 * the server (TLS 1.3 tickets are read on the way).  Returns the client SSL (caller frees).
 */
static SSL *session(SSL_CTX *base, SSL_CTX *sctx, const struct tls_client_params *p,
		    const char *dest, int *offered)
{
	char err[256], b = 0;
	SSL *c = NULL, *s;
	int sv[2];

	assert_int_equal(tls_client_ssl_new(base, p, &c, err, sizeof(err)), 0);
	*offered = tls_client_resume_offer(base, c, p, dest);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s = SSL_new(sctx);
	assert_int_equal(tls_fixture_handshake(c, s, sv[0], sv[1]), 0);
	assert_int_equal(SSL_write(s, "x", 1), 1);
	assert_int_equal(SSL_read(c, &b, 1), 1);
	assert_int_equal(b, 'x');
	/* as the daemon's end: close_notify out, so OpenSSL keeps the session resumable */
	SSL_shutdown(c);
	SSL_free(s);
	close(sv[0]);
	close(sv[1]);
	return c;
}

static SSL_CTX *server(EVP_PKEY *key, X509 *cert)
{
	struct tls_fixture_opts o = { .version = TLS1_3_VERSION, .key = key, .cert = cert };
	SSL_CTX *ctx = tls_fixture_server_ctx(&o);

	assert_non_null(ctx);
	return ctx;
}

static void test_resume_verified(void **state)
{
	static char m[] = "mx.example";
	static char *ma[] = { m };
	struct policy_rule verify = { .level = POLICY_VERIFY, .match = ma, .nmatch = 1 };
	struct tls_client_params p = { .level = POLICY_VERIFY, .rule = &verify,
				       .mx_host = "mx.example" };
	const char *mx_a = "mx.example[192.0.2.1]:25", *mx_b = "mx.example[192.0.2.2]:25";
	SSL_CTX *base = base_ctx(), *sctx;
	struct tls_peer *peer = NULL;
	enum tls_trust trust;
	struct pki k;
	char why[256];
	int offered;
	SSL *c;

	(void)state;
	pki_make(&k);
	assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(base), k.ca), 1);
	sctx = server(k.mx_key, k.mx);

	c = session(base, sctx, &p, mx_a, &offered);
	assert_int_equal(offered, 0);
	assert_int_equal(SSL_session_reused(c), 0);
	assert_string_equal(tls_client_resume_word(c), "new");
	assert_int_equal(tls_client_check(c, &p, &trust, why, sizeof(why)), 0);
	assert_true(tls_client_resume_keep(c));
	SSL_free(c);

	c = session(base, sctx, &p, mx_a, &offered);
	assert_int_equal(offered, 1);
	assert_int_equal(SSL_session_reused(c), 1);
	assert_string_equal(tls_client_resume_word(c), "resumed");
	/* verified as the first: OpenSSL kept the verify result and the chain in the session */
	assert_int_equal(tls_client_check(c, &p, &trust, why, sizeof(why)), 0);
	assert_int_equal(trust, TLS_VERIFIED);
	assert_int_equal(tls_client_cert_status(c, "mx.example"), REPORT_CERT_VERIFIED);
	assert_int_equal(tls_peer_keep(c, NULL, &peer), 0); /* DANE per recipient uses it */
	assert_non_null(peer);
	tls_peer_free(peer);
	SSL_free(c);

	/* MX B (another address) is never offered A's session */
	c = session(base, sctx, &p, mx_b, &offered);
	assert_int_equal(offered, 0);
	assert_int_equal(SSL_session_reused(c), 0);
	SSL_free(c);

	/* a refusal drops what the key had */
	c = session(base, sctx, &p, mx_a, &offered);
	assert_int_equal(offered, 1);
	tls_client_resume_forget(c);
	assert_false(tls_client_resume_keep(c));
	SSL_free(c);
	c = session(base, sctx, &p, mx_a, &offered);
	assert_int_equal(offered, 0);
	SSL_free(c);

	SSL_CTX_free(sctx);
	SSL_CTX_free(base);
	pki_free(&k);
}

/*
 * The policy is raised from may to verify for an MX whose trusted certificate names another
 * host.  Under may no name is checked, so its session carries "chain OK".
 */
static void test_resume_policy_change(void **state)
{
	static char m[] = "mx.example";
	static char *ma[] = { m };
	struct policy_rule verify = { .level = POLICY_VERIFY, .match = ma, .nmatch = 1 };
	struct tls_client_params may = { .level = POLICY_MAY, .mx_host = "mx.example" };
	struct tls_client_params ver = { .level = POLICY_VERIFY, .rule = &verify,
					 .mx_host = "mx.example" };
	const char *dest = "mx.example[192.0.2.1]:25";
	SSL_CTX *base = base_ctx(), *sctx;
	SSL_SESSION *may_sess;
	enum tls_trust trust;
	char why[256], err[256];
	struct pki k;
	int offered, sv[2];
	SSL *c, *s;

	(void)state;
	pki_make(&k);
	assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(base), k.ca), 1);
	sctx = server(k.other_key, k.other);

	c = session(base, sctx, &may, dest, &offered);
	assert_int_equal(tls_client_check(c, &may, &trust, why, sizeof(why)), 0);
	assert_int_equal(SSL_get_verify_result(c), X509_V_OK);
	assert_true(tls_client_resume_keep(c));
	may_sess = SSL_get1_session(c);
	SSL_free(c);

	/* under verify: nothing offered, a full handshake, the name check refuses the MX */
	c = session(base, sctx, &ver, dest, &offered);
	assert_int_equal(offered, 0);
	assert_int_equal(SSL_session_reused(c), 0);
	assert_int_equal(tls_client_check(c, &ver, &trust, why, sizeof(why)), -EPERM);
	SSL_free(c);

	/* A key by destination alone would have offered the may session: it resumes, and the
	 * session's old verdict passes the verify check for the wrong name. */
	assert_int_equal(tls_client_ssl_new(base, &ver, &c, err, sizeof(err)), 0);
	assert_int_equal(SSL_set_session(c, may_sess), 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s = SSL_new(sctx);
	assert_int_equal(tls_fixture_handshake(c, s, sv[0], sv[1]), 0);
	assert_int_equal(SSL_session_reused(c), 1);
	assert_int_equal(tls_client_check(c, &ver, &trust, why, sizeof(why)), 0);
	SSL_free(c);
	SSL_free(s);
	close(sv[0]);
	close(sv[1]);

	SSL_SESSION_free(may_sess);
	SSL_CTX_free(sctx);
	SSL_CTX_free(base);
	pki_free(&k);
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
		cmocka_unit_test(test_resume_cache),
		cmocka_unit_test(test_resume_keys),
		cmocka_unit_test(test_resume_verified),
		cmocka_unit_test(test_resume_policy_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
