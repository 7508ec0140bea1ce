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
 * docs/POLICY.md describes both formats, the matching order and the precedence below.
 *
 * A loaded policy is an immutable snapshot with a reference count: a reload builds a new one and
 * swaps it in (all-or-nothing); sessions keep the snapshot they started with.  Every function
 * here is thread-safe; a snapshot may be read from any number of threads at once.
 *
 * Precedence when several rules apply to one outbound connection (policy_outbound_for_dest,
 * policy_match_addr) or one inbound session (policy_inbound):
 *   1. the strictest level wins (none < may < encrypt < fingerprint < verify < secure <
 *      defer), so an address rule can never weaken a domain's requirement and a domain rule
 *      never an address's;
 *   2. on equal levels the most specific rule wins: [host]:port, then [host], then an exact
 *      domain, then a .domain, then addresses by prefix length (longest first);
 *   3. nothing matched: the built-in default rule (level may, id POLICY_ID_DEFAULT_OUT/_IN).
 * Among rules of one kind the usual lookups apply first: a domain is matched exactly, then by
 * its .parent entries upwards (the nearest wins); addresses by longest prefix (a more specific
 * CIDR may carve out a weaker exception from a wider one; only across kinds does 1. apply).
 */
#ifndef TLSGATE_POLICY_POLICY_H
#define TLSGATE_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

enum policy_level {
	POLICY_NONE = 0,
	POLICY_MAY,
	POLICY_ENCRYPT,
	POLICY_FINGERPRINT,
	POLICY_VERIFY,
	POLICY_SECURE,
	POLICY_DANE,		/* as written only: applied as may, TLSA checked per RCPT (written) */
	POLICY_DANE_ONLY,	/* as written only: applied as encrypt, DANE required per RCPT */
	/* Not a table level: what tlsgate applies to an entry it cannot honour (dane-only, an
	 * attribute it does not implement, a malformed attribute): no delivery, the client gets a
	 * 4xx and keeps the mail -- what Postfix does with such an entry (it defers the mail). */
	POLICY_DEFER,
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

/*
 * Rule ids (policy/ids.c): a rule's id is derived from its direction and normalised key, so the
 * same rule gets the same id in every reload and after every restart, whatever else changed in
 * the table (see docs/POLICY.md for the function).  Ids below POLICY_ID_FIRST are reserved.
 */
#define POLICY_ID_NONE		0u	/* "no rule" in maps */
#define POLICY_ID_DEFAULT_OUT	1u	/* the built-in outbound default */
#define POLICY_ID_DEFAULT_IN	2u	/* the built-in inbound default */
#define POLICY_ID_DEST_POLICY	3u	/* kernel entries from the destinations' DANE/MTA-STS
					 * (policy/destaddr.h) */
#define POLICY_ID_FIRST		16u

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
	/* extensions (after the original fields, so existing initialisers keep working) */
	char *protocols;	/* protocols= as written (min/max_version are derived), or NULL */
	char *host;		/* POLICY_KEY_HOST: the name inside the brackets, normalised */
	/* The level as the table wrote it when tlsgate applies another one in `level` (dane ->
	 * may, dane-only -> defer, any refused entry -> defer); 0 (none) when level is as
	 * written.  policy_rule_format prints this one, so the line keeps its meaning. */
	enum policy_level written;
	/* mode=monitor (tlsgate's own attribute, docs/POLICY.md "Monitor mode"): what this
	 * rule's level would refuse is delivered as `may` would, logged and counted as "would
	 * have been refused".  A monitor rule never weakens an enforced one: policy_rule_beats
	 * ranks it as `may` against enforced rules (policy_rule_enforced_level). */
	bool monitor;
};

/* The level a rule actually enforces: `may` for a monitor rule that asks for more. */
static inline enum policy_level policy_rule_enforced_level(const struct policy_rule *r)
{
	return r->monitor && r->level > POLICY_MAY ? POLICY_MAY : r->level;
}

struct policy;

/* What matched and why, for logs: "rule=7 key=.example.org (subdomain match)". */
struct policy_match {
	const struct policy_rule *rule;	/* never NULL: the default rule when nothing matched */
	const char *how;	/* "exact", "subdomain", "host-port", "host", "address", "cidr",
				 * "resolved", "default" */
};

/*
 * Errors name the file, line and column and what was expected:
 *   "tls_policy:12:9: unknown security level 'encrpyt' (expected none, may, encrypt, ...)"
 */
struct policy_error {
	char msg[512];
};

/*
 * Loading: a bad table never replaces a good one.  0 or -errno (-EINVAL with err filled; other
 * errors, e.g. -ENOENT, also fill err).  A NULL path means an empty table.
 */
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
/* What a reserved rule id stands for ("outbound default", "inbound default", "destination
 * policy (DANE/MTA-STS)"), or NULL for the ids of table rules. */
const char *policy_id_reserved_name(uint32_t id);
int policy_level_parse(const char *s, enum policy_level *out);
/* A mode= value, "monitor" or "enforce" (any case), n bytes: 0 and *monitor, or -EINVAL. */
int policy_mode_parse(const char *s, size_t n, bool *monitor);

/*
 * Extension: a Postfix protocols= value ("!SSLv2:!SSLv3", ">=TLSv1.2", "TLSv1.2:TLSv1.3") as
 * OpenSSL bounds (TLS1_2_VERSION...; 0 = no bound).  Also for tlsgated's own settings in the
 * same syntax.  0, or -EINVAL with *bad = offset in s and why filled.
 */
int policy_protocols_parse(const char *s, int *min_version, int *max_version, size_t *bad,
			   char *why, size_t whylen);

/* ---------------------------------------------------------------------------------------------
 * Extensions: inspecting a snapshot (`policy show`, netlink dumps).
 */

/* Rules of one direction in table order; i < policy_rule_count(). */
size_t policy_rule_count(const struct policy *p, enum policy_dir dir);
const struct policy_rule *policy_rule_at(const struct policy *p, enum policy_dir dir, size_t i);
/* NULL when no rule has that id (the default rules are found by their reserved ids). */
const struct policy_rule *policy_rule_by_id(const struct policy *p, uint32_t id);
/* By key as a user types it ("Example.ORG.", "192.0.2.1/32"): normalised like the table. */
const struct policy_rule *policy_rule_find(const struct policy *p, enum policy_dir dir,
					   const char *key);
/* The table file a direction was loaded from, or NULL. */
const char *policy_path(const struct policy *p, enum policy_dir dir);
/* Same rules (key, level, attributes, id) in the same order in both directions. */
bool policy_equal(const struct policy *a, const struct policy *b);

/* ---------------------------------------------------------------------------------------------
 * Extensions: single rules (`policy add`, `policy show`) and table text (`policy check`, fuzz).
 */

/*
 * Parse one entry "KEY LEVEL [ATTR=VALUE...]" as a table line; errors are reported as
 * "NAME:1:COLUMN: ..." (name: e.g. "policy add").  Fills *out (clear it with
 * policy_rule_clear).  0 or -EINVAL/-ENOMEM.
 */
int policy_rule_parse(enum policy_dir dir, const char *name, const char *text,
		      struct policy_rule *out, struct policy_error *err);
/* Free what a rule owns and zero it. */
void policy_rule_clear(struct policy_rule *r);
/* The rule as a table line that parses back to an equal rule; snprintf semantics.  (A rule
 * tlsgate defers because its entry was refused prints as "KEY LEVEL" without the attributes:
 * it is for showing, not for writing back.) */
int policy_rule_format(const struct policy_rule *r, char *buf, size_t len);
/* Same key, level and attributes (ids and source positions are not compared). */
bool policy_rule_equal(const struct policy_rule *a, const struct policy_rule *b);

/*
 * Parse a whole table held in memory (name is used in error messages).  On success *rules is a
 * malloc'd array of *n rules (ids not yet assigned) to free with policy_rules_free.
 *
 * Outbound entries are read as Postfix reads them (docs/POLICY.md, "What tlsgate does with
 * entries Postfix reads differently"): an entry Postfix would skip is skipped, one Postfix
 * would defer mail for becomes a POLICY_DEFER rule, duplicates keep the first; each with a
 * warning.  Only errors in tlsgate's own syntax (address keys, the inbound table) and an
 * unreadable file refuse the table: -EINVAL with the first error in err.
 */
int policy_parse_table(enum policy_dir dir, const char *name, const char *text, size_t len,
		       struct policy_rule **rules, size_t *n, struct policy_error *err);
void policy_rules_free(struct policy_rule *rules, size_t n);
/* `policy check FILE`: parse only; *nrules may be NULL. */
int policy_check_file(enum policy_dir dir, const char *path, size_t *nrules,
		      struct policy_error *err);

/* Every warning and error of one parse, "name:line:col: ...", in file order. */
#define POLICY_DIAG_MAX 100	/* kept; more are counted */
struct policy_diag {
	bool error;		/* refuses the table; else a warning (the table loads) */
	char msg[512];
};
struct policy_diags {
	struct policy_diag *v;
	size_t n;			/* kept, <= POLICY_DIAG_MAX */
	size_t nerrors, nwarnings;	/* all of them */
	char first_error[512];	/* kept even when warnings filled v (what a refusal reports) */
};
void policy_diags_free(struct policy_diags *d);
/* policy_parse_table collecting every diagnostic (rules may be NULL: check only).  0 when there
 * is no error (warnings may be in d), -EINVAL when there is, -ENOMEM. */
int policy_parse_table_diags(enum policy_dir dir, const char *name, const char *text, size_t len,
			     struct policy_rule **rules, size_t *n, struct policy_diags *d);
/* policy_check_file with every diagnostic in d (an unreadable file: err, and -errno). */
int policy_check_file_diags(enum policy_dir dir, const char *path, size_t *nrules,
			    struct policy_diags *d, struct policy_error *err);
/* The warnings of the tables a snapshot was built from (to log after a load or change). */
size_t policy_warning_count(const struct policy *p);
const char *policy_warning_at(const struct policy *p, size_t i);

/* ---------------------------------------------------------------------------------------------
 * Extensions: changes from the control plane (policy/store.c).  Each builds a new snapshot from
 * `old` with one change and persists the changed table atomically (temp file, fsync, rename,
 * fsync of the directory) to the file `old` was loaded from; the file is edited in place, so
 * the administrator's comments and layout survive.  All-or-nothing: on any error `old` and the
 * file are unchanged and *out is NULL.  A snapshot loaded later from the same files equals
 * *out (policy_equal).  Callers serialise these calls (one control thread); -ESTALE when the
 * file changed on disk since `old` was loaded (reload first), -EEXIST / -ENOENT for a key that
 * exists / does not exist, -ENOENT when the direction has no table file.
 */
int policy_store_add(const struct policy *old, enum policy_dir dir, const char *rule_text,
		     struct policy **out, struct policy_error *err);
int policy_store_del(const struct policy *old, enum policy_dir dir, const char *key,
		     struct policy **out, struct policy_error *err);
/* Replace the whole table with the contents of src_path (validated first). */
int policy_store_import(const struct policy *old, enum policy_dir dir, const char *src_path,
			struct policy **out, struct policy_error *err);
/* The atomic write the above use: temp file beside path, fsync, rename, fsync dir; a replaced
 * file keeps its mode and owner, a new one gets 0644 (_mode: the given mode). */
int policy_write_atomic(const char *path, const void *data, size_t len);
int policy_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode);

/* ---------------------------------------------------------------------------------------------
 * Extensions: resolution of domain and [host] rules (policy/resolve.c) and the flat address
 * list for the kernel enforcer.
 *
 * Outbound domain rules are resolved MX -> A/AAAA (no MX: the domain's own A/AAAA, RFC 5321
 * 5.1), [host] rules A/AAAA (no MX, as Postfix), [address] literals need no DNS.  Results are
 * cached by name in the resolver, so they survive reloads; a name is queried again when the
 * smallest TTL of the records used expires (clamped to [min_ttl, max_ttl]).  A failed
 * resolution (timeout, SERVFAIL, NXDOMAIN, or no address at all) keeps the last good set,
 * is logged (log_warn "policy resolve name=... error=...") and shown by
 * policy_resolver_foreach, and is retried after retry_s.  .domain rules cannot be resolved
 * (a wildcard has no address): they apply at RCPT time only.
 *
 * Threads: refreshes are synchronous on the calling thread (meant for one daemon thread) and
 * serialised per resolver; matching on any thread sees either the old or the new address map.
 * After a reload call policy_resolver_refresh(r, new, now) before swapping `new` in: cached
 * names are not queried again, so this is quick and the new snapshot starts with addresses.
 */
struct policy_resolver;

struct policy_resolver_opts {
	size_t sz;		/* sizeof(struct policy_resolver_opts), for later growth */
	/* "203.0.113.53" or "203.0.113.53:5353"; NULL: the servers of /etc/resolv.conf.  IPv6
	 * servers are supported through resolv.conf only (glibc keeps them in private fields). */
	const char *nameserver;
	unsigned int timeout_s;	/* per attempt; 0: 2 */
	unsigned int attempts;	/* 0: 2 */
	uint32_t min_ttl;	/* 0: 30 s */
	uint32_t max_ttl;	/* 0: 86400 s */
	uint32_t retry_s;	/* after a failure; 0: 60 s */
	/* Test seam: answers queries instead of DNS (returns the response length or -errno). */
	int (*query)(void *arg, const char *name, int type, unsigned char *ans, int anslen);
	void *query_arg;
};

struct policy_resolve_stats {
	size_t names;		/* names the policy needs resolved */
	size_t queried;		/* names looked up in this call (the others were not due) */
	size_t ok, failed;	/* of those queried */
	size_t addrs;		/* addresses in the map attached to the policy */
};

struct policy_name_status {
	const char *name;	/* "example.org" (MX) or "mx.example.net" ([host]) */
	bool is_host;
	size_t naddrs;		/* addresses currently used (the last good set) */
	bool have_set;		/* a resolution ever succeeded */
	int last_err;		/* 0 or -errno of the last attempt */
	const char *last_error;	/* "" or why the last attempt failed */
	unsigned int failures;	/* consecutive */
	uint64_t expires;	/* time of the next query (policy_resolver_now() clock) */
};

int policy_resolver_new(const struct policy_resolver_opts *o, struct policy_resolver **out);
void policy_resolver_free(struct policy_resolver *r);
/* The resolver's clock: CLOCK_MONOTONIC seconds. */
uint64_t policy_resolver_now(void);
/* Query the names of p that are due at `now` and attach the address map to p.  0 or -errno
 * (a name that fails to resolve is not an error of the call: see stats and foreach). */
int policy_resolver_refresh(struct policy_resolver *r, struct policy *p, uint64_t now,
			    struct policy_resolve_stats *stats);
/* When the next name is due (UINT64_MAX: nothing cached). */
uint64_t policy_resolver_next_due(struct policy_resolver *r);
/* Calls cb for every cached name (sorted by name); stops at a non-zero return and returns it. */
int policy_resolver_foreach(struct policy_resolver *r,
			    int (*cb)(const struct policy_name_status *st, void *arg), void *arg);

/* The MX host name an address was resolved from, for SNI and certificate checks: 0, or
 * -ENOENT when no domain or [host] name resolved to it ("" for an [address] rule). */
int policy_mx_for_addr(const struct policy *p, const struct sockaddr *sa, char *buf,
		       size_t len);

/*
 * The kernel enforcer's LPM map contents for one direction: every address rule, plus (outbound)
 * every resolved address as /32 or /128.  Each entry carries the level and id of the rule that
 * wins there by the precedence above (a resolved address inside a stricter CIDR gets the
 * CIDR's level), so a longest-prefix lookup in the kernel gives the same answer as
 * policy_match_addr().  Sorted by family, address, prefix length.  *out is malloc'd (free()).
 */
struct tg_bpf_policy_entry;
int policy_lpm_entries(const struct policy *p, enum policy_dir dir, struct tg_bpf_policy_entry **out,
		       size_t *n);

#endif
