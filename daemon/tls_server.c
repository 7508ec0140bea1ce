// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/tls_server.h"
#include "daemon/tls_client.h"
#include "ktls/endpoint.h"
#include "policy/policy.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>

SSL_CTX *tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	int min_v = 0, max_v = 0;
	char why[128] = "";
	size_t bad = 0;
	SSL_CTX *ctx;
	char e[256];

	err[0] = '\0';
	if (!cfg->n_certs)
		return NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	for (unsigned int i = 0; i < cfg->n_certs; i++) {
		const struct config_cert *c = &cfg->certs[i];

		if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, c->key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			tls_client_error_text(e, sizeof(e));
			snprintf(err, errlen, "inbound_cert %s:%s: %s", c->cert_file, c->key_file, e);
			goto fail;
		}
	}
	if (policy_protocols_parse(cfg->inbound_tls_protocols, &min_v, &max_v, &bad, why,
				   sizeof(why))) {
		snprintf(err, errlen, "inbound_tls_protocols '%s': %s (at offset %zu)",
			 cfg->inbound_tls_protocols, why, bad);
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, min_v ? min_v : TLS1_2_VERSION);
	if (max_v)
		SSL_CTX_set_max_proto_version(ctx, max_v);
	if (SSL_CTX_set_cipher_list(ctx, cfg->inbound_tls_ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, cfg->inbound_tls_ciphersuites) != 1) {
		snprintf(err, errlen, "inbound_tls_ciphers/ciphersuites not accepted by OpenSSL");
		goto fail;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS); /* idle sessions keep no record buffers */
	/* Mozilla intermediate: the client's cipher order; no renegotiation; no session cache
	 * (each SMTP session is one connection; tickets would be sent after the kTLS switch). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (ktls_ctx_prepare(ctx, true)) {
		snprintf(err, errlen, "cannot prepare the server TLS context for kTLS");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
