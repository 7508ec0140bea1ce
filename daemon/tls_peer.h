/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The up leg's TLS peer, kept after the handshake for checks made later: a cut-through relay
 * learns the recipient domain at RCPT, long after the handshake with the MX and after its SSL was
 * released (ktls_ep_release_ssl).  What is kept: the leaf (parsed) and the rest of the chain the
 * peer sent (as DER, a third of parsed X509s, parsed only for a DANE-TA question the memo cannot
 * answer), the protocol version, the handshake time and the WebPKI verdict for MTA-STS, computed
 * once here so that every RCPT check afterwards is cheap.
 *
 *   DANE (RFC 7672): the kept chain verified against one MX host's TLSA records as a handshake
 *   configured by ktls_dane_ssl_config() would verify it (same SSL_DANE set-up, same
 *   X509_verify_cert, same words), on a scratch SSL, at the handshake's time; a small memo per
 *   peer answers a repeated question (same host, names and records) without verifying again.
 *   MTA-STS (RFC 8461 4.2): TLS 1.2 or later, a WebPKI-valid chain, the leaf valid for the MX
 *   host name.
 */
#ifndef TLSGATE_DAEMON_TLS_PEER_H
#define TLSGATE_DAEMON_TLS_PEER_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>

#include "policy/dane.h"
#include "policy/rpt.h"

struct tls_peer;

/*
 * Take what later checks need from a completed client SSL (before ktls_ep_release_ssl).  webpki:
 * the MTA-STS trust anchors (tls_peer_store_new; NULL: the WebPKI verdict is "no trust anchors
 * configured").  The chain is verified against them here, once (purpose sslserver, no name).
 * 0, -ENOENT (the peer sent no certificate: anonymous TLS; *out is NULL), -ENOMEM.
 */
int tls_peer_keep(SSL *ssl, X509_STORE *webpki, struct tls_peer **out);
void tls_peer_free(struct tls_peer *p);

/*
 * DANE for one MX host: 0 with ktls_dane_check's words in buf ("verified by DANE-EE(3) 1 1",
 * "verified by DANE-TA(2) 1 1 depth 1 name mx1.example"), -EPERM with why ("no TLSA record
 * matched (certificate verify: ...)"; also for p NULL: no certificate).  ctx: the client context
 * (tls_client_ctx_new: DANE enabled; its trust store is the one the handshake would use).
 * -ENODATA when the host has no record to authenticate with (UNUSABLE_ALL, or OpenSSL took none
 * of its records): TLS without authentication, as RFC 7672 2.2 allows; -EINVAL for a NONE or
 * FAILED host (ktls_dane_ssl_config's words); -ENOMEM, -EIO.  p is not const: the memo.
 */
int tls_peer_dane(struct tls_peer *p, SSL_CTX *ctx, const struct policy_dane_host *host,
		  const char *nexthop, char *buf, size_t len);

/*
 * MTA-STS (RFC 8461 4.2) for the MX host mx_name: TLS 1.2 or later, the chain WebPKI-valid (the
 * verdict of tls_peer_keep), the leaf valid for mx_name (X509_check_host: subject alternative
 * names, a wildcard only as the whole leftmost label, no partial wildcards).  0, or -EPERM with
 * why ("TLS 1.1 below 1.2", "certificate not trusted: unable to get local issuer certificate",
 * "certificate name mismatch for mx1.example"; p NULL: "no server certificate"), and in *res
 * (may be NULL) RFC 8460's result type for it: certificate-expired, certificate-not-trusted
 * (any other chain failure, or no trust anchors), certificate-host-mismatch, else
 * validation-failure (the TLS version, no certificate).
 */
int tls_peer_sts(struct tls_peer *p, const char *mx_name, char *why, size_t whylen,
		 enum policy_rpt_result *res);

/* The MTA-STS WebPKI trust anchors from a PEM file (NULL or "": OpenSSL's default paths, the
 * system's CAs).  0 or -errno with err. */
int tls_peer_store_new(const char *ca_file, X509_STORE **out, char *err, size_t errlen);

#endif
