/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DANE on the STARTTLS client's SSL (RFC 7672 3): an SSL configured from a host's verdict
 * (policy/dane.h) with OpenSSL's SSL_dane_* API, and the outcome after the handshake in words for
 * the log ("verified by DANE-EE(3) 1 1").  Only the two DANE usages reach OpenSSL: DANE-EE(3)
 * without name checks, DANE-TA(2) with the TLSA base domain and the MX host name as reference
 * identifiers (no partial wildcards).  The client SSL_CTX keeps SSL_VERIFY_NONE: the handshake
 * completes and ktls_dane_check() decides, so a mismatch is reported, not a handshake alert.
 * Users: the relay's client (daemon/tls_client.c) and `tlsgatectl dane check` (ctl/dane.c).
 */
#ifndef TLSGATE_KTLS_DANE_H
#define TLSGATE_KTLS_DANE_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "policy/dane.h"

/* Once per client SSL_CTX, before any SSL is made from it (tls_client_ctx_new does).  0, -EIO. */
int ktls_dane_ctx_enable(SSL_CTX *ctx);

/*
 * Configure ssl (not yet connected) for host: SNI = TLSA base domain; for a USABLE host DANE
 * with its records.  DANE-TA(2) names (RFC 7672 3.2.2): the TLSA base domain, the MX host name
 * when a CNAME made them differ, and nexthop (the destination domain whose secure MX RRset named
 * the host; NULL for none).  An UNUSABLE_ALL host gets SNI only: TLS is mandatory,
 * authentication is not possible (RFC 7672 2.2).  NONE and FAILED are the caller's business:
 * -EINVAL.  When OpenSSL takes none of the records (a digest it lacks) *usable is false: treat
 * the host as UNUSABLE_ALL.  0 or -errno with err.
 */
int ktls_dane_ssl_config(SSL *ssl, const struct policy_dane_host *host, const char *nexthop,
			bool *usable, char *err, size_t errlen);

/*
 * After the handshake of an SSL configured with usable records: 0 with "verified by DANE-EE(3)
 * 1 1" (DANE-TA adds the matched depth and the name: "verified by DANE-TA(2) 1 1 depth 1
 * name mx1.test"), or -EPERM with why ("no TLSA record matched (certificate verify: ...)").
 */
/* Call it before the SSL is released (ktls_ep_release_ssl): it reads the verification state. */
int ktls_dane_check(SSL *ssl, char *buf, size_t len);

/*
 * ktls_dane_check's verdict and words from the DANE state a verification left in ssl (its
 * verify result, SSL_get0_dane_authority, SSL_get0_peername), whoever ran it: the handshake, or
 * daemon/tls_peer.c's later check of a kept chain on a scratch SSL.
 */
int ktls_dane_outcome(SSL *ssl, char *buf, size_t len);

#endif
