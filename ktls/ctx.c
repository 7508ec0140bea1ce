// SPDX-License-Identifier: GPL-2.0-only
/*
 * SSL_CTX preparation for the kernel hand-off and capture of the TLS 1.3 application traffic
 * secrets.  OpenSSL 3.0 has no API that returns them; the keylog callback is the supported way
 * out (the same lines SSLKEYLOGFILE writes).  The secrets are kept per SSL in ex_data, in memory
 * that is cleansed when the endpoint installs them or when the SSL is freed.
 */
#include "ktls/internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ktls_secrets {
	struct ktls_secret client, server; /* application_traffic_secret_0 of each side */
};

struct ktls_ctx_data {
	SSL_CTX_keylog_cb_func prev; /* a callback set before ours keeps working */
};

static pthread_once_t idx_once = PTHREAD_ONCE_INIT;
static int ssl_idx = -1, ctx_idx = -1;

static void free_secrets(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	OPENSSL_clear_free(ptr, sizeof(struct ktls_secrets));
}

static void free_ctx_data(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			  void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void alloc_indexes(void)
{
	ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_secrets);
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_ctx_data);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "LABEL <client_random hex> <secret hex>": the secret, or -EINVAL. */
static int parse_secret(const char *hex, struct ktls_secret *out)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > sizeof(out->b) || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, sizeof(*out));
			return -EINVAL;
		}
		out->b[i] = (unsigned char)(hi << 4 | lo);
	}
	out->len = n / 2;
	return 0;
}

void ktls_keylog_line(const SSL *ssl, const char *line)
{
	struct ktls_secrets *s;
	const char *sp;

	sp = strchr(line, ' ');
	if (!sp || !(sp = strchr(sp + 1, ' ')))
		return;
	s = SSL_get_ex_data(ssl, ssl_idx);
	if (!s) {
		s = OPENSSL_zalloc(sizeof(*s));
		if (!s || !SSL_set_ex_data((SSL *)ssl, ssl_idx, s)) {
			OPENSSL_free(s);
			return;
		}
	}
	if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24))
		parse_secret(sp + 1, &s->client);
	else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24))
		parse_secret(sp + 1, &s->server);
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct ktls_ctx_data *d = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx);

	ktls_keylog_line(ssl, line);
	if (d && d->prev)
		d->prev(ssl, line);
}

int ktls_ctx_prepare(SSL_CTX *ctx, bool server)
{
	struct ktls_ctx_data *d;

	pthread_once(&idx_once, alloc_indexes);
	if (ssl_idx < 0 || ctx_idx < 0)
		return -ENOMEM;
	d = SSL_CTX_get_ex_data(ctx, ctx_idx);
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d || !SSL_CTX_set_ex_data(ctx, ctx_idx, d)) {
			free(d);
			return -ENOMEM;
		}
		d->prev = SSL_CTX_get_keylog_callback(ctx);
	}
	SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	/* TX (both versions) and TLS 1.2 RX by OpenSSL itself; TLS 1.3 RX is ours. */
	SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS | SSL_OP_NO_RENEGOTIATION);
	/* Read-ahead would pull records past the handshake into OpenSSL's buffer. */
	SSL_CTX_set_read_ahead(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * As server: no tickets.  Resumption buys a relay nothing, and with none the server sends
	 * nothing after its Finished, so the hand-off point is the end of SSL_accept exactly.
	 */
	if (server && SSL_CTX_set_num_tickets(ctx, 0) != 1)
		return -EINVAL;
	return 0;
}

int ktls_ssl_secret(SSL *ssl, bool client_side, struct ktls_secret *out)
{
	struct ktls_secrets *s;
	const struct ktls_secret *src;

	if (ssl_idx < 0)
		return -ENOENT;
	s = SSL_get_ex_data(ssl, ssl_idx);
	if (!s)
		return -ENOENT;
	src = client_side ? &s->client : &s->server;
	if (!src->len)
		return -ENOENT;
	*out = *src;
	return 0;
}

void ktls_ssl_secrets_wipe(SSL *ssl)
{
	struct ktls_secrets *s;

	if (ssl_idx < 0)
		return;
	s = SSL_get_ex_data(ssl, ssl_idx);
	if (s)
		OPENSSL_cleanse(s, sizeof(*s));
}
