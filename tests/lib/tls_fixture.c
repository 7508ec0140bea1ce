// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/tls_fixture.h"
#include "lib/sockutil.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static EVP_PKEY *fx_key;
static X509 *fx_cert;

/* An extension by its config text ("CA:TRUE", "DNS:a,DNS:b"), issuer and subject from v3. */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

int tls_fixture_issue(const char *cn, const char *const *dns, bool ca, X509 *issuer,
		      EVP_PKEY *issuer_key, EVP_PKEY **keyp, X509 **certp)
{
	static long serial = 1;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	char san[1024] = "";
	size_t off = 0;
	X509_NAME *name;

	if (!key || !cert)
		goto fail;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(cert, key);
	for (size_t i = 0; dns && dns[i]; i++)
		off += (size_t)snprintf(san + off, sizeof(san) - off, "%sDNS:%s", i ? "," : "",
					dns[i]);
	if (off >= sizeof(san) ||
	    (ca &&
	     (add_ext(cert, issuer ? issuer : cert, NID_basic_constraints, "critical,CA:TRUE") ||
	      add_ext(cert, issuer ? issuer : cert, NID_key_usage,
		      "critical,keyCertSign,cRLSign"))) ||
	    (off && add_ext(cert, issuer ? issuer : cert, NID_subject_alt_name, san)) ||
	    !X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()))
		goto fail;
	*keyp = key;
	*certp = cert;
	return 0;
fail:
	EVP_PKEY_free(key);
	X509_free(cert);
	return -1;
}

int tls_fixture_cert(EVP_PKEY **key, X509 **cert)
{
	if (!fx_key &&
	    tls_fixture_issue("tlsgate-test.example", NULL, false, NULL, NULL, &fx_key, &fx_cert))
		return -1;
	*key = fx_key;
	*cert = fx_cert;
	return 0;
}

int tls_fixture_write_pem(const char *dir)
{
	char path[4096];
	EVP_PKEY *key;
	X509 *cert;
	FILE *f;
	int ok;

	if (tls_fixture_cert(&key, &cert))
		return -1;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) || !ok)
		return -1;
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = PEM_write_X509(f, cert);
	if (fclose(f) || !ok)
		return -1;
	return 0;
}

static SSL_CTX *ctx_new(const SSL_METHOD *m, const struct tls_fixture_opts *o)
{
	SSL_CTX *ctx = SSL_CTX_new(m);

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, o->version);
	SSL_CTX_set_max_proto_version(ctx, o->version);
	if (o->ktls)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	if (o->cipher) {
		int ok = o->version == TLS1_3_VERSION ? SSL_CTX_set_ciphersuites(ctx, o->cipher)
						     : SSL_CTX_set_cipher_list(ctx, o->cipher);
		if (!ok) {
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

SSL_CTX *tls_fixture_server_ctx(const struct tls_fixture_opts *o)
{
	SSL_CTX *ctx = ctx_new(TLS_server_method(), o);
	EVP_PKEY *key;
	X509 *cert;

	if (!ctx)
		return NULL;
	if (o->cert) {
		key = o->key;
		cert = o->cert;
	} else if (tls_fixture_cert(&key, &cert)) {
		key = NULL;
	}
	if (!key || SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    (o->chain && SSL_CTX_add1_chain_cert(ctx, o->chain) != 1)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int tls_fixture_pin(SSL_CTX *ctx, const char *ver, const char *cipher)
{
	int v = 0;

	if (ver && !strcmp(ver, "tls1.2")) {
		v = TLS1_2_VERSION;
	} else if (ver && !strcmp(ver, "tls1.3")) {
		v = TLS1_3_VERSION;
	} else if (ver) {
		fprintf(stderr, "TLS version %s: expected tls1.2 or tls1.3\n", ver);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, v ? v : TLS1_2_VERSION);
	if (v)
		SSL_CTX_set_max_proto_version(ctx, v);
	if (cipher && !(v == TLS1_3_VERSION ? SSL_CTX_set_ciphersuites(ctx, cipher)
					    : SSL_CTX_set_cipher_list(ctx, cipher))) {
		fprintf(stderr, "cipher %s not accepted by OpenSSL for %s\n", cipher,
			ver ? ver : "TLS 1.2");
		return -1;
	}
	return 0;
}

SSL_CTX *tls_fixture_client_ctx(const struct tls_fixture_opts *o)
{
	SSL_CTX *ctx = ctx_new(TLS_client_method(), o);

	if (ctx)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

int tls_fixture_step(SSL *ssl, int (*fn)(SSL *), short *events)
{
	int rc = fn(ssl);

	if (rc == 1)
		return 1;
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return 0;
	default:
		ERR_print_errors_fp(stderr);
		return -1;
	}
}

int tls_fixture_handshake(SSL *client, SSL *server, int cfd, int sfd)
{
	struct pollfd pfd[2] = { { .fd = cfd }, { .fd = sfd } };
	int cdone = 0, sdone = 0, rc = -1;

	if (tg_set_nonblock(cfd, true) || tg_set_nonblock(sfd, true))
		return -1;
	SSL_set_fd(client, cfd);
	SSL_set_fd(server, sfd);
	while (!cdone || !sdone) {
		pfd[0].events = pfd[1].events = 0;
		if (!cdone && (cdone = tls_fixture_step(client, SSL_connect, &pfd[0].events)) < 0)
			goto out;
		if (!sdone && (sdone = tls_fixture_step(server, SSL_accept, &pfd[1].events)) < 0)
			goto out;
		if ((!cdone || !sdone) && poll(pfd, 2, 10000) <= 0) {
			fprintf(stderr, "tls_fixture: handshake timed out\n");
			goto out;
		}
	}
	rc = 0;
out:
	tg_set_nonblock(cfd, false);
	tg_set_nonblock(sfd, false);
	return rc;
}

void tls_fixture_fill(unsigned char *buf, size_t len, unsigned int seed)
{
	unsigned int x = seed ? seed : 0x9e3779b9u;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}
