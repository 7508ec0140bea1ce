/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TLS policy model: what the gateway requires per destination (outbound) and per sender
 * (inbound).  policy/ knows nothing of sockets or SMTP sessions; it answers questions.
 *
 * Outbound rules come from Postfix smtp_tls_policy_maps source files, read as they are:
 *     example.org          encrypt protocols=>=TLSv1.2
 *     .example.org         verify match=.example.org
 *     [mx1.example.net]:25 secure
 * plus tlsgate's own keys: IPv4/IPv6 addresses and CIDRs (192.0.2.25, 2001:db8::/32).
 * Inbound rules: client IP/CIDR or sender domain -> none | may | encrypt.
 *
 * A loaded policy is an immutable snapshot with a reference count: a reload builds a new one and
 * swaps it in (all-or-nothing); sessions keep the snapshot they started with.
 */
#ifndef TLSGATE_POLICY_POLICY_H
#define TLSGATE_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum policy_level {
	POLICY_NONE = 0,
	POLICY_MAY,
	POLICY_ENCRYPT,
	POLICY_FINGERPRINT,
	POLICY_VERIFY,
	POLICY_SECURE,
	POLICY_DANE,		/* parsed; refused at load: not supported yet */
	POLICY_DANE_ONLY,
};

/* True for every level from encrypt up: plaintext is refused. */
static inline bool policy_level_requires_tls(enum policy_level l)
{
	return l >= POLICY_ENCRYPT;
}

enum policy_key_type {
	POLICY_KEY_DOMAIN,	/* example.org (exact) */
	POLICY_KEY_SUBDOMAINS,	/* .example.org (any name below it) */
	POLICY_KEY_HOST,	/* [mx.example.org] or [mx.example.org]:port (no MX lookup) */
	POLICY_KEY_ADDR,	/* 192.0.2.25, 2001:db8::/32: exact address or CIDR */
	POLICY_KEY_DEFAULT,	/* the built-in default (may), when nothing matched */
};

enum policy_dir {
	POLICY_OUTBOUND,
	POLICY_INBOUND,
};

struct policy_rule {
	uint32_t id;		/* stable across reloads and restarts; logs, metrics, BPF maps */
	enum policy_dir dir;
	enum policy_key_type key_type;
	enum policy_level level;
	char *key;		/* as written, normalised (lower case, no trailing dot) */
	uint16_t port;		/* [host]:port, 0 = any */
	int family;		/* POLICY_KEY_ADDR: AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix_len;
	/* Postfix attributes */
	int min_version, max_version;	/* TLS1_2_VERSION ... from protocols=; 0 = default */
	char *ciphers;		/* ciphers= grade (export, low, medium, high, null) or NULL */
	char *exclude;		/* exclude= cipher list or NULL */
	char **match;		/* match= patterns (verify/secure: names; fingerprint: digests) */
	size_t nmatch;
	char *servername;	/* servername= (SNI) or NULL */
	/* where it came from, for errors and `policy show` */
	char *file;
	unsigned int line;
};

struct policy;

/* What matched and why, for logs: "rule=7 key=.example.org (subdomain match)". */
struct policy_match {
	const struct policy_rule *rule;	/* never NULL: the default rule when nothing matched */
	const char *how;	/* "exact", "subdomain", "host", "cidr", "default", ... */
};

/*
 * Errors name the file, line and column and what was expected:
 *   "tls_policy:12:9: unknown security level 'encrpyt' (expected none, may, encrypt, ...)"
 */
struct policy_error {
	char msg[512];
};

/* Loading: a bad table never replaces a good one.  0 or -errno (-EINVAL with err filled). */
int policy_load(const char *outbound_path, const char *inbound_path, struct policy **out,
		struct policy_error *err);
struct policy *policy_get(struct policy *p);	/* +1 reference */
void policy_put(struct policy *p);		/* -1; frees at 0 */

/*
 * Outbound questions.
 * - by next-hop domain (the recipient's domain at RCPT): exact, then .parent entries upwards;
 * - by MX host name and port: [host]:port, then [host];
 * - by address (the transparent original destination): exact address or longest prefix, and the
 *   addresses that resolved domain/host rules map to (policy/resolve).
 * policy_outbound_for_dest() combines what is known at connect time (address, MX name when known)
 * with the documented precedence.
 */
struct policy_match policy_match_domain(const struct policy *p, const char *domain);
struct policy_match policy_match_host(const struct policy *p, const char *host, uint16_t port);
struct policy_match policy_match_addr(const struct policy *p, const struct sockaddr *sa);
struct policy_match policy_outbound_for_dest(const struct policy *p, const struct sockaddr *sa,
					     const char *mx_host);

/* Inbound: by client address, and by MAIL FROM domain (NULL when not known yet). */
struct policy_match policy_inbound(const struct policy *p, const struct sockaddr *client,
				   const char *sender_domain);

const char *policy_level_name(enum policy_level l);
int policy_level_parse(const char *s, enum policy_level *out);

#endif
