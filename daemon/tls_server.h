/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tlsgated as STARTTLS server (inbound): the appliance's certificate(s) — an RSA and an ECDSA pair
 * at once, OpenSSL picks by the client's signature algorithms — TLS >= 1.2 and Mozilla's
 * "intermediate" ciphers by default, prepared for kTLS.
 */
#ifndef TLSGATE_DAEMON_TLS_SERVER_H
#define TLSGATE_DAEMON_TLS_SERVER_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "daemon/config.h"

/* NULL with err when the configuration cannot be used; NULL and err "" without certificates. */
SSL_CTX *tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen);

#endif
