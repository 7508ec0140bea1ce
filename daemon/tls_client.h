/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tlsgated as STARTTLS client: one SSL_CTX (trust store, kTLS preparation) and, made from it on
 * first use, one per distinct protocol bounds and cipher list of the policy's rules; one SSL per
 * connection from the context of its rule's settings, given the per-connection rest (SNI, names
 * to verify); and the post-handshake verdict in Postfix's terms: Anonymous, Untrusted, Trusted,
 * Verified.
 */
#ifndef TLSGATE_DAEMON_TLS_CLIENT_H
#define TLSGATE_DAEMON_TLS_CLIENT_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "daemon/config.h"
#include "policy/policy.h"

struct tls_client_params {
	enum policy_level level;
	const struct policy_rule *rule;	/* attributes; may be NULL (defaults) */
	const char *mx_host;	/* the MX's name when known: SNI and match=hostname */
	const char *nexthop;	/* the next-hop domain when known: match=nexthop/dot-nexthop */
	const char *sni_hint;	/* SNI when neither the rule nor mx_host names one: a name from
				 * the recipient domains' lookups (never a name to verify) */
};

enum tls_trust {
	TLS_ANONYMOUS,		/* no certificate (anonymous cipher) */
	TLS_UNTRUSTED,		/* certificate chain not verified */
	TLS_TRUSTED,		/* chain verified, name not checked or not matched */
	TLS_VERIFIED,		/* chain and name (or pinned fingerprint) verified */
};

/* The daemon's client context.  The per-settings contexts made from it share its trust store,
 * copy its options (set them before the first session) and are freed with it. */
SSL_CTX *tls_client_ctx_new(const struct config *cfg, char *err, size_t errlen);

/*
 * A configured SSL for one connection (not yet bound to a socket), made from the context for the
 * rule's protocols and ciphers (SSL_get_SSL_CTX: ctx itself or one derived from it; thread-safe).
 * 0 or -errno with err.
 */
int tls_client_ssl_new(SSL_CTX *ctx, const struct tls_client_params *p, SSL **out, char *err,
		       size_t errlen);

/*
 * After the handshake: how far the peer is trusted, and whether that satisfies the level
 * (verify/secure need TLS_VERIFIED by name, fingerprint a pinned digest).  0 when satisfied,
 * -EPERM with the reason ("certificate name mismatch: ...") when not.
 */
int tls_client_check(SSL *ssl, const struct tls_client_params *p, enum tls_trust *trust,
		     char *why, size_t whylen);

const char *tls_client_trust_name(enum tls_trust t);

/*
 * The peer's certificate as a verify-level check would judge it, whatever level the session
 * applies (report/outcome.h's enum report_cert): the chain's verification result, and the
 * name check against mx_host when it is known.
 */
int tls_client_cert_status(SSL *ssl, const char *mx_host);

/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" (Postfix's wording). */
void tls_client_summary(const SSL *ssl, char *buf, size_t len);

/*
 * TLS session resumption (outbound_tls_session_cache): before the handshake, with the SSL as
 * tls_client_ssl_new (and anything after it that changes the offer) set it up, offer the
 * session kept for this destination under this policy.  dest names the destination: MX name,
 * address and port.  1 offered, 0 none kept, -ENOENT no cache (off, or a key too long), -ENOMEM.
 * The SSL remembers the key for what follows.
 */
int tls_client_resume_offer(SSL_CTX *ctx, SSL *ssl, const struct tls_client_params *p,
			    const char *dest);
/*
 * After a verdict that accepted the peer: keep the SSL's session for the next handshake to the
 * same destination under the same policy, if it can be resumed.  TLS 1.3 tickets come after
 * the handshake: call again once they were read.  true if kept.
 */
bool tls_client_resume_keep(SSL *ssl);
/* The verdict refused the peer: keep nothing of this SSL, drop what its key had cached. */
void tls_client_resume_forget(SSL *ssl);
/* "resumed", "new", or "new(cached-declined)" (a session was offered, the server chose not). */
const char *tls_client_resume_word(SSL *ssl);
/* The cache key (exposed for tests): 0, or -ENOSPC when it does not fit. */
int tls_client_resume_key(SSL *ssl, const struct tls_client_params *p, const char *dest,
			  char *out, size_t len);

/* The text of OpenSSL's error queue (then cleared), for logs. */
void tls_client_error_text(char *buf, size_t len);

#endif
