// SPDX-License-Identifier: GPL-2.0-only
/*
 * ktls/dane.c on the relay's client context (tls_client_ctx_new): TLSA matching through
 * OpenSSL on a real handshake over a socketpair, with the fixture's certificate and host verdicts
 * made by hand: DANE-EE(3) by key and by certificate (SHA-256, SHA-512, full), a mismatch, a
 * rollover pair, SNI = TLSA base domain, an all-unusable host (TLS, no authentication), and hosts
 * DANE does not apply to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/tls_client.h"
#include "ktls/dane.h"
#include "tests/lib/tls_fixture.h"

static unsigned char spki256[32], spki512[64], cert256[32], *spki_der;
static int spki_len;

static int setup(void **state)
{
	EVP_PKEY *key;
	X509 *cert;
	unsigned char *der = NULL;
	int n;

	(void)state;
	if (tls_fixture_cert(&key, &cert))
		return -1;
	spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki_der);
	n = i2d_X509(cert, &der);
	if (spki_len <= 0 || n <= 0 ||
	    !EVP_Digest(spki_der, (size_t)spki_len, spki256, NULL, EVP_sha256(), NULL) ||
	    !EVP_Digest(spki_der, (size_t)spki_len, spki512, NULL, EVP_sha512(), NULL) ||
	    !EVP_Digest(der, (size_t)n, cert256, NULL, EVP_sha256(), NULL))
		return -1;
	OPENSSL_free(der);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	OPENSSL_free(spki_der);
	return 0;
}

static void host_init(struct policy_dane_host *h, enum policy_dane_state st)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->name, "mx1.example");
	strcpy(h->base, "mx1.example");
	h->state = st;
}

static void add(struct policy_dane_host *h, uint8_t u, uint8_t s, uint8_t m, const unsigned char *d,
		size_t len)
{
	struct policy_dane_tlsa *t = &h->tlsa[h->ntlsa++];

	t->usage = u;
	t->selector = s;
	t->mtype = m;
	t->data = (unsigned char *)(uintptr_t)d;
	t->len = (uint16_t)len;
}

/* Handshake with the fixture's server; rc of ktls_dane_check, its text in buf, the SNI seen. */
static int handshake(const struct policy_dane_host *h, bool *usable, char *buf, size_t len,
		     char *sni, size_t snilen)
{
	struct tls_fixture_opts o = {.version = TLS1_3_VERSION};
	SSL_CTX *sctx = tls_fixture_server_ctx(&o), *cctx;
	struct config cfg;
	SSL *c, *s;
	char err[256];
	const char *name;
	int sv[2], rc;

	/* The relay's own client context (tls_client_ctx_new enables DANE on it). */
	config_defaults(&cfg);
	free(cfg.tls_ca_file);
	cfg.tls_ca_file = NULL;
	cctx = tls_client_ctx_new(&cfg, err, sizeof(err));
	config_free(&cfg);
	assert_non_null(sctx);
	assert_non_null(cctx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = SSL_new(cctx);
	s = SSL_new(sctx);
	assert_int_equal(ktls_dane_ssl_config(c, h, "example.org", usable, err, sizeof(err)), 0);
	SSL_set_fd(c, sv[0]);
	SSL_set_fd(s, sv[1]);
	assert_int_equal(tls_fixture_handshake(c, s, sv[0], sv[1]), 0);
	name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
	snprintf(sni, snilen, "%s", name ? name : "");
	rc = *usable ? ktls_dane_check(c, buf, len) : 1;
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static void test_ee_matches(void **state)
{
	static const unsigned char wrong[32] = {1, 2, 3};
	struct policy_dane_host h;
	char buf[256], sni[256];
	bool usable;

	(void)state;
	host_init(&h, POLICY_DANE_USABLE);
	add(&h, 3, 1, 1, spki256, 32);
	assert_int_equal(handshake(&h, &usable, buf, sizeof(buf), sni, sizeof(sni)), 0);
	assert_true(usable);
	assert_string_equal(buf, "verified by DANE-EE(3) 1 1");
	assert_string_equal(sni, "mx1.example");

	host_init(&h, POLICY_DANE_USABLE);
	add(&h, 3, 1, 2, spki512, 64);
	assert_int_equal(handshake(&h, &usable, buf, sizeof(buf), sni, sizeof(sni)), 0);
	assert_string_equal(buf, "verified by DANE-EE(3) 1 2");

	host_init(&h, POLICY_DANE_USABLE);
	add(&h, 3, 0, 1, cert256, 32);
	assert_int_equal(handshake(&h, &usable, buf, sizeof(buf), sni, sizeof(sni)), 0);
	assert_string_equal(buf, "verified by DANE-EE(3) 0 1");

	host_init(&h, POLICY_DANE_USABLE);
	add(&h, 3, 1, 0, spki_der, (size_t)spki_len);
	assert_int_equal(handshake(&h, &usable, buf, sizeof(buf), sni, sizeof(sni)), 0);
	assert_string_equal(buf, "verified by DANE-EE(3) 1 0");

	/* Rollover: the old key's record first, the current one second. */
	host_init(&h, POLICY_DANE_USABLE);
	add(&h, 3, 1, 1, wrong, 32);
	add(&h, 3, 1, 1, spki256, 32);
	assert_int_equal(handshake(&h, &usable, buf, sizeof(buf), sni, sizeof(sni)), 0);
	assert_string_equal(buf, "verified by DANE-EE(3) 1 1");
}

static void test_mismatch(void **state)
{
	static const unsigned char wrong[32] = {1, 2, 3};
	struct policy_dane_host h;
	char buf[256], sni[256];
	bool usable;

	(void)state;
	host_init(&h, POLICY_DANE_USABLE);
	add(&h, 3, 1, 1, wrong, 32);
	/* The certificate's key under the wrong selector: no match either. */
	add(&h, 3, 0, 1, spki256, 32);
	assert_int_equal(handshake(&h, &usable, buf, sizeof(buf), sni, sizeof(sni)), -EPERM);
	assert_true(usable);
	assert_string_equal(buf, "no TLSA record matched (certificate verify: no matching DANE "
				 "TLSA records)");
}

static void test_sni_is_base_domain(void **state)
{
	struct policy_dane_host h;
	char buf[256], sni[256];
	bool usable;

	(void)state;
	host_init(&h, POLICY_DANE_USABLE);
	strcpy(h.base, "mail.provider.example"); /* the MX name was a CNAME */
	add(&h, 3, 1, 1, spki256, 32);
	assert_int_equal(handshake(&h, &usable, buf, sizeof(buf), sni, sizeof(sni)), 0);
	assert_string_equal(sni, "mail.provider.example");
}

static void test_unusable_all(void **state)
{
	struct policy_dane_host h;
	char buf[256] = "", sni[256];
	bool usable = true;

	(void)state;
	host_init(&h, POLICY_DANE_UNUSABLE_ALL);
	h.nunusable = 2;
	assert_int_equal(handshake(&h, &usable, buf, sizeof(buf), sni, sizeof(sni)), 1);
	assert_false(usable); /* TLS happened; nothing to authenticate with */
	assert_string_equal(sni, "mx1.example");
}

static void test_not_dane(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct policy_dane_host h;
	char err[256];
	bool usable;
	SSL *ssl;

	(void)state;
	assert_int_equal(ktls_dane_ctx_enable(ctx), 0);
	ssl = SSL_new(ctx);
	host_init(&h, POLICY_DANE_NONE);
	assert_int_equal(ktls_dane_ssl_config(ssl, &h, NULL, &usable, err, sizeof(err)), -EINVAL);
	host_init(&h, POLICY_DANE_FAILED);
	assert_int_equal(ktls_dane_ssl_config(ssl, &h, NULL, &usable, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no DANE for mx1.example: failed");
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ee_matches),	   cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_sni_is_base_domain), cmocka_unit_test(test_unusable_all),
		cmocka_unit_test(test_not_dane),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
