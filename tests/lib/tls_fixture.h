/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TLS test fixtures: an in-memory self-signed certificate (no files to manage), client and server
 * contexts pinned to one version and cipher, and a handshake between two local sockets.
 */
#ifndef TLSGATE_TESTS_TLS_FIXTURE_H
#define TLSGATE_TESTS_TLS_FIXTURE_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

struct tls_fixture_opts {
	int version;		/* TLS1_2_VERSION or TLS1_3_VERSION */
	const char *cipher;	/* OpenSSL name: "ECDHE-ECDSA-AES128-GCM-SHA256" or
				 * "TLS_AES_128_GCM_SHA256"; NULL for the default */
	bool ktls;		/* SSL_OP_ENABLE_KTLS on both sides */
	/* Server only: this key and certificate instead of tls_fixture_cert's, and a certificate
	 * sent after it (an issuer; NULL: the certificate alone).  Referenced, not taken. */
	EVP_PKEY *key;
	X509 *cert;
	X509 *chain;
};

/* A P-256 key and a self-signed certificate for cn, created once per process. */
int tls_fixture_cert(EVP_PKEY **key, X509 **cert);

/*
 * A small PKI for certificate checks: a fresh P-256 key and a certificate with subject CN cn,
 * the DNS subjectAltNames in dns (NULL-terminated; NULL for none), CA:TRUE when ca, valid from an
 * hour ago for a day, signed by issuer/issuer_key (NULL: self-signed).  The caller frees both.
 * Returns 0 or -1.
 */
int tls_fixture_issue(const char *cn, const char *const *dns, bool ca, X509 *issuer,
		      EVP_PKEY *issuer_key, EVP_PKEY **key, X509 **cert);

/* The same key and certificate as PEM files DIR/key.pem and DIR/cert.pem (for third-party
 * peers: openssl s_server, gnutls-serv).  Returns 0 or -1. */
int tls_fixture_write_pem(const char *dir);

SSL_CTX *tls_fixture_server_ctx(const struct tls_fixture_opts *o);
SSL_CTX *tls_fixture_client_ctx(const struct tls_fixture_opts *o);

/*
 * Pin ctx to a version named as the helpers' command lines name it ("tls1.2", "tls1.3"; NULL:
 * TLS 1.2 and later) and, if cipher is not NULL, to that cipher (a TLS 1.3 suite name for
 * tls1.3, an OpenSSL cipher list otherwise).  Returns 0, or -1 with a message on stderr.
 */
int tls_fixture_pin(SSL_CTX *ctx, const char *ver, const char *cipher);

/* One step of a non-blocking handshake (fn: SSL_connect, SSL_accept or SSL_do_handshake): 1 done,
 * 0 wants more (*events: POLLIN or POLLOUT), -1 failed (OpenSSL's errors on stderr). */
int tls_fixture_step(SSL *ssl, int (*fn)(SSL *), short *events);

/*
 * Handshake client and server over fds cfd/sfd (a connected pair) in this thread, driving both
 * non-blocking.  Leaves the fds blocking again.  Returns 0 or -1 (errors printed to stderr).
 */
int tls_fixture_handshake(SSL *client, SSL *server, int cfd, int sfd);

/* Deterministic pseudo-random payload (xorshift) so sender and receiver can both check it. */
void tls_fixture_fill(unsigned char *buf, size_t len, unsigned int seed);

#endif
