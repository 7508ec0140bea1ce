/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MTA-STS (RFC 8461) building blocks, without sockets:
 *
 *   sts.c        the TXT record (_mta-sts.DOMAIN: "v=STSv1; id=...;"), the policy text (§3.2),
 *                MX pattern matching (§4.1), and the cache record written to disk
 *   sts_http.c   the HTTP response carrying the policy (§3.3)
 *   sts_cache.c  the cache: one file per domain under STATE_DIR/mta-sts/, loaded at start,
 *                bounded (oldest fetch evicted), written atomically; shared by threads
 *
 * The fetcher that fills the cache (DNS, HTTPS, timers) is daemon/sts_fetch.c.
 */
#ifndef TLSGATE_POLICY_STS_H
#define TLSGATE_POLICY_STS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_STS_MAX_BODY 65536	/* RFC 8461 §3.3: senders may cap the policy at 64 KiB */
#define POLICY_STS_MAX_AGE_MAX 31557600u	/* §3.2: max_age <= 31557600 s (about a year) */
#define POLICY_STS_ID_MAX 32		/* §3.1: id = 1*32(ALPHA / DIGIT) */
#define POLICY_STS_MAX_MX 256		/* mx: patterns kept; more makes the policy invalid */
#define POLICY_STS_NAME_MAX 254		/* a domain name with its NUL */

enum policy_sts_mode {
	POLICY_STS_NONE,	/* the domain withdrew its policy: nothing applies */
	POLICY_STS_TESTING,	/* deliver, but log and count what would have failed */
	POLICY_STS_ENFORCE,	/* the MX must match and present a WebPKI-valid certificate */
};

const char *policy_sts_mode_name(enum policy_sts_mode m);	/* "none", "testing", "enforce" */

/* ---- the TXT record (§3.1) ---------------------------------------------------------------- */

/* True when the record starts as an STS record must ("v=STSv1" then ';', blank or end); the
 * others are discarded before counting. */
bool policy_sts_txt_is_sts(const char *rec, size_t len);
/* Parse one record (§3.1 grammar: "v=STSv1" first, id required, extensions ignored, fields
 * separated by ';' with optional blanks).  id receives the NUL-terminated id.  0 or -EINVAL. */
int policy_sts_txt_parse(const char *rec, size_t len, char id[POLICY_STS_ID_MAX + 1]);

/*
 * The id from a DNS response to a TXT query for _mta-sts.DOMAIN: the strings of each TXT record
 * are concatenated; records not starting with v=STSv1 are discarded; exactly one must remain
 * and parse.  Returns 0 with id filled, -ENOENT when the domain has no STS record (NXDOMAIN,
 * no data, no v=STSv1 record), -EAGAIN for a temporary failure (SERVFAIL), -EINVAL otherwise
 * (two records, a malformed record or answer).  why says what, for the log.
 */
int policy_sts_txt_answer(const unsigned char *msg, size_t len, char id[POLICY_STS_ID_MAX + 1],
			  char *why, size_t whylen);

/*
 * The addresses (4 or 16 bytes each, in addrs[i]) in a DNS response to an A (family AF_INET) or
 * AAAA (AF_INET6) query, for the policy host mta-sts.DOMAIN.  0 with *n > 0, -ENOENT when
 * there are none, -EAGAIN (SERVFAIL), -EINVAL (malformed, refused).
 */
int policy_sts_addr_answer(const unsigned char *msg, size_t len, int family,
			   uint8_t (*addrs)[16], size_t max, size_t *n);

/* ---- the policy (§3.2) --------------------------------------------------------------------- */

struct policy_sts_policy {
	enum policy_sts_mode mode;
	uint32_t max_age;	/* seconds */
	size_t nmx;
	char **mx;		/* lower case, no trailing dot; "*.example.net" for a wildcard */
};

/*
 * Parse a policy body (len bytes, may contain NULs: refused).  Lines end in LF or CRLF; each is
 * "key: value" with optional blanks after the colon; version (STSv1), mode and max_age are
 * required, mx at least once unless mode is none; unknown keys are ignored; a repeated
 * version/mode/max_age keeps the first.  Larger than POLICY_STS_MAX_BODY is refused.
 * 0 (p filled, free with policy_sts_policy_clear) or -EINVAL with why, -ENOMEM.
 */
int policy_sts_policy_parse(const char *text, size_t len, struct policy_sts_policy *p, char *why,
			    size_t whylen);
void policy_sts_policy_clear(struct policy_sts_policy *p);

/*
 * Does MX host name mx (any case, a trailing dot allowed) match one of p's patterns (§4.1): an
 * exact name, or "*.rest" for exactly one more leftmost label ("*.example.net" matches
 * mx1.example.net, not example.net nor a.b.example.net).
 */
bool policy_sts_mx_match(const struct policy_sts_policy *p, const char *mx);
bool policy_sts_pattern_match(const char *pattern, const char *mx);

/* ---- the HTTPS answer (§3.3, sts_http.c) --------------------------------------------------- */

/*
 * Check an HTTP/1.x response as far as read (len bytes; eof: the server closed): 1 when more
 * bytes are needed, 0 when it is a usable policy response (*body, *body_len set, inside buf),
 * -EINVAL with why for anything else: a status other than 200 (redirects are not followed,
 * §3.3), a Content-Type other than text/plain, a body over POLICY_STS_MAX_BODY, a content
 * encoding, both Content-Length and chunked, malformed headers or chunks.  The body is delimited
 * by Content-Length, chunked transfer coding, or the server's close.  A chunked body is joined
 * in place when complete: after 0, buf has been rewritten.
 */
int policy_sts_http_parse(char *buf, size_t len, bool eof, const char **body, size_t *body_len,
			  char *why, size_t whylen);

/* ---- cached entries ------------------------------------------------------------------------ */

/* A fetched policy: immutable once built, shared by reference (the cache and readers). */
struct policy_sts_entry {
	atomic_uint refs;
	char domain[POLICY_STS_NAME_MAX];
	char id[POLICY_STS_ID_MAX + 1];
	int64_t fetched;	/* unix time of the fetch */
	int64_t expires;	/* fetched + max_age: used until then, fetch failures or not */
	struct policy_sts_policy pol;
	char *text;		/* the policy as served (what is written to disk) */
	size_t text_len;
};

/* Build an entry (refs = 1) from a policy text; -EINVAL with why when the text does not parse. */
int policy_sts_entry_new(const char *domain, const char *id, int64_t fetched, const char *text,
			 size_t len, struct policy_sts_entry **out, char *why, size_t whylen);
void policy_sts_entry_get(struct policy_sts_entry *e);
void policy_sts_entry_put(struct policy_sts_entry *e);

/*
 * The on-disk record: a header ("tlsgate-mta-sts 1", "domain:", "id:", "fetched:", "expires:"
 * lines), an empty line, then the policy text exactly as served.  serialize gives a malloc'd
 * buffer; parse rebuilds the entry (the text is parsed again: a damaged file is refused, never
 * half-used) and checks that expires is fetched + max_age.  0 or -EINVAL/-ENOMEM.
 */
int policy_sts_record_serialize(const struct policy_sts_entry *e, char **out, size_t *len);
int policy_sts_record_parse(const char *buf, size_t len, struct policy_sts_entry **out,
			    char *why, size_t whylen);

/* Lower-case domain without trailing dot, letters/digits/'-'/'_' labels; false if not a name. */
bool policy_sts_domain_norm(const char *in, char out[POLICY_STS_NAME_MAX]);

/* ---- the cache (sts_cache.c) --------------------------------------------------------------
 * Threads: every call takes the cache's mutex for a bounded time (a lookup is a binary search
 * and a reference count); file writes (fsync), unlinks, eviction's sort and frees happen
 * outside it.  For that, every change (put, set_state, purge) must come from one thread, the
 * fetcher's; get and foreach from any.  Readers keep the entry they got (a reference) as long as
 * they like: a replacement never changes an entry in place.
 */
struct policy_sts_cache;

/* What the fetcher remembers about a domain besides its policy (not persisted). */
struct policy_sts_state {
	int64_t last_check;	/* unix time of the last TXT check that completed, 0 never */
	int64_t last_attempt;	/* of the last fetch attempt (TXT check or HTTPS) */
	int64_t next_check;	/* not before: a failure backs off */
	uint32_t failures;	/* consecutive */
	uint32_t fetches;	/* policies fetched and stored since the daemon started */
	bool pending;		/* a refresh is under way */
	char error[192];	/* "" or why the last attempt failed */
};

/* Load every record under dir (created 0700 when missing); unreadable files are skipped and
 * logged.  max_entries 0: 100000.  0 or -errno. */
int policy_sts_cache_open(const char *dir, size_t max_entries, struct policy_sts_cache **out);
void policy_sts_cache_free(struct policy_sts_cache *c);
size_t policy_sts_cache_count(struct policy_sts_cache *c);

/* The policy cached for domain (a reference, or NULL), expired or not (check e->expires);
 * st (may be NULL) gets the domain's state.  -ENOENT when the cache knows nothing of it. */
int policy_sts_cache_get(struct policy_sts_cache *c, const char *domain,
			 struct policy_sts_entry **e, struct policy_sts_state *st);
/* Store e (the cache takes the caller's reference): written to disk first, then swapped in;
 * evicts the oldest fetch beyond max_entries.  0 or -errno (nothing changed). */
int policy_sts_cache_put(struct policy_sts_cache *c, struct policy_sts_entry *e);
/* Update the state of domain (created without a policy when new). */
int policy_sts_cache_set_state(struct policy_sts_cache *c, const char *domain,
			       const struct policy_sts_state *st);
/* Forget domain: its file and its state.  -ENOENT when unknown. */
int policy_sts_cache_purge(struct policy_sts_cache *c, const char *domain);
/* Calls fn for each domain in name order (under the lock: fn must not call the cache). */
int policy_sts_cache_foreach(struct policy_sts_cache *c,
			     int (*fn)(const char *domain, const struct policy_sts_entry *e,
				       const struct policy_sts_state *st, void *arg),
			     void *arg);

#endif
