/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DANE for SMTP (RFC 7672): which MX hosts of a domain have usable TLSA records, from DNSSEC-
 * validated answers.  The policy's resolution job only: no sockets, no TLS (ktls/dane.c
 * configures an SSL from a verdict).
 *
 *   dane.c      the lookup state machine (MX -> A/AAAA -> TLSA per host) and the verdicts; it
 *               asks questions through struct policy_dane_transport, so tests feed it canned
 *               answers
 *   dane_rr.c   pure helpers: answer classification, TLSA and MX rdata, wire names
 *   dane_ub.c   the transport over libunbound: validating, asynchronous, driven by the caller's
 *               epoll (policy_dane_fd + policy_dane_process), never blocking
 *
 * What counts (RFC 7672 2.1, 2.2): an answer is secure, insecure, bogus or indeterminate (SERVFAIL,
 * timeout, no answer).  Bogus or indeterminate MX, address or TLSA answers are a lookup failure
 * (the caller defers, never downgrades).  An insecure MX RRset means no DANE for the domain; an
 * insecure address RRset no DANE for that host; only a secure TLSA RRset counts.  Usable records
 * are DANE-TA(2) and DANE-EE(3) with selector 0/1 and matching type 0/1/2; when a secure RRset
 * has none of those the host is "unusable-all": TLS is still mandatory, without authentication
 * (RFC 7672 2.2).
 */
#ifndef TLSGATE_POLICY_DANE_H
#define TLSGATE_POLICY_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_DANE_NAME_MAX 256 /* text form, with NUL, no trailing dot */
#define POLICY_DANE_MAX_HOSTS 16 /* MX hosts looked at per domain (by preference) */
#define POLICY_DANE_MAX_ADDRS 16 /* per host and family */
#define POLICY_DANE_MAX_TLSA 32	 /* usable records kept per host */

/* ---- answers ------------------------------------------------------------------------------ */

enum policy_dane_sec {
	POLICY_DANE_SECURE,
	POLICY_DANE_INSECURE,
	POLICY_DANE_BOGUS,
	POLICY_DANE_INDETERMINATE, /* SERVFAIL, timeout, REFUSED, no server answered */
};

/* One answer as the transport saw it (libunbound's struct ub_result, reduced). */
struct policy_dane_answer {
	int err;   /* transport error (timeout, ...): indeterminate */
	int rcode; /* DNS RCODE */
	bool secure, bogus, nxdomain;
	size_t n; /* records of the asked type, rdata without rdlength */
	const unsigned char *const *data;
	const size_t *len;
	const char *canonname; /* final name after CNAMEs (may end in '.'), or NULL */
	const char *why_bogus; /* validator's reason, or NULL */
};

enum policy_dane_sec policy_dane_classify(const struct policy_dane_answer *a);
const char *policy_dane_sec_name(enum policy_dane_sec s);

/* ---- records ------------------------------------------------------------------------------ */

enum policy_dane_usage { POLICY_DANE_TA = 2, POLICY_DANE_EE = 3 };

struct policy_dane_tlsa {
	uint8_t usage, selector, mtype;
	uint16_t len;
	unsigned char *data; /* len bytes, owned by the host verdict */
};

enum policy_dane_tlsa_st {
	POLICY_DANE_TLSA_USABLE,
	POLICY_DANE_TLSA_UNUSABLE,  /* PKIX-TA/EE, unknown usage/selector/mtype, wrong length */
	POLICY_DANE_TLSA_MALFORMED, /* shorter than its fixed part */
};

/* TLSA rdata (RFC 6698 2.1) into out (data points into rdata).  A digest of the wrong length
 * for its matching type is unusable (RFC 7671 5.1, as OpenSSL and Postfix). */
enum policy_dane_tlsa_st policy_dane_tlsa_parse(const unsigned char *rdata, size_t len,
						struct policy_dane_tlsa *out);
/* "DANE-EE(3) 1 1" into buf. */
void policy_dane_tlsa_desc(const struct policy_dane_tlsa *t, char *buf, size_t len);

/* A wire-format name (uncompressed) to lower-case text without the trailing dot; only LDH
 * labels (and '_' for service labels) are accepted.  Returns the wire length consumed, -EINVAL. */
int policy_dane_wire_name(const unsigned char *p, size_t len, char *out, size_t outlen);
/* MX rdata: preference and exchange ("" for the null MX "."); 0 or -EINVAL. */
int policy_dane_mx_parse(const unsigned char *rdata, size_t len, uint16_t *pref,
			 char name[POLICY_DANE_NAME_MAX]);
/* Text name (any case, optional trailing dot) to the form above; 0 or -EINVAL. */
int policy_dane_name_norm(const char *in, char out[POLICY_DANE_NAME_MAX]);

/* ---- verdicts ----------------------------------------------------------------------------- */

enum policy_dane_state {
	POLICY_DANE_NONE,	  /* DANE does not apply (insecure, no TLSA): other policy */
	POLICY_DANE_USABLE,	  /* TLS mandatory, authenticated by these records */
	POLICY_DANE_UNUSABLE_ALL, /* TLS mandatory, not authenticated (RFC 7672 2.2) */
	POLICY_DANE_FAILED,	  /* lookup failure: defer with 4.7.5, never downgrade */
};
const char *policy_dane_state_name(enum policy_dane_state s);

struct policy_dane_host {
	char name[POLICY_DANE_NAME_MAX]; /* the MX host as the MX RRset names it */
	char base[POLICY_DANE_NAME_MAX]; /* TLSA base domain: SNI, and a DANE-TA name */
	uint16_t pref;
	enum policy_dane_state state;
	char reason[256]; /* why, for logs and `tlsgatectl dane check` */
	size_t n4, n6;
	uint8_t addr4[POLICY_DANE_MAX_ADDRS][4];
	uint8_t addr6[POLICY_DANE_MAX_ADDRS][16];
	size_t ntlsa; /* usable records */
	struct policy_dane_tlsa tlsa[POLICY_DANE_MAX_TLSA];
	size_t nunusable; /* secure records that were not usable */
	/* lookup progress (dane.c) */
	enum policy_dane_sec sec4, sec6;
	unsigned int pending;
	bool tlsa_at_name; /* TLSA asked again at the unexpanded name */
};

struct policy_dane_domain {
	char domain[POLICY_DANE_NAME_MAX];
	/* NONE/FAILED when the MX step decided (insecure MX; MX lookup failure); otherwise a
	 * summary for display: USABLE when some host has TLSA (usable or not), FAILED when none has
	 * and a host lookup failed, else NONE.  Decisions are per host (policy_dane_host_by_addr).
	 */
	enum policy_dane_state state;
	char reason[256];
	bool implicit_mx; /* no MX RRset: the domain is its own host (RFC 5321 5.1) */
	size_t nhost;
	struct policy_dane_host host[POLICY_DANE_MAX_HOSTS];
};

/* The bytes of d up to its last host: a verdict may be kept in an allocation of that size (the
 * host array is only ever read up to nhost), which the three functions below respect. */
size_t policy_dane_domain_size(const struct policy_dane_domain *d);
void policy_dane_domain_clear(struct policy_dane_domain *d);
/* A deep copy (the records' data too), to keep a verdict beyond the result callback; dst is
 * overwritten up to policy_dane_domain_size(src), not cleared.  0 or -ENOMEM (dst then empty). */
int policy_dane_domain_copy(struct policy_dane_domain *dst, const struct policy_dane_domain *src);
/* Does the host's address list include addr (4 or 16 bytes)? */
bool policy_dane_host_has_addr(const struct policy_dane_host *h, const uint8_t *addr, size_t alen);
/* The host whose validated addresses include addr (4 or 16 bytes), or NULL. */
const struct policy_dane_host *policy_dane_host_by_addr(const struct policy_dane_domain *d,
							const uint8_t *addr, size_t alen);
/* The host by name, or NULL. */
const struct policy_dane_host *policy_dane_host_by_name(const struct policy_dane_domain *d,
							const char *name);

/* ---- lookups ------------------------------------------------------------------------------ */

/* How dane.c asks a question.  start() calls done(arg, answer) later (never from inside
 * start()), exactly once unless cancel(id) came first; the answer is only valid during done. */
typedef void (*policy_dane_done_fn)(void *arg, const struct policy_dane_answer *a);
struct policy_dane_transport {
	int (*start)(void *t, const char *name, uint16_t type, policy_dane_done_fn done, void *arg,
		     int *id);
	void (*cancel)(void *t, int id);
	void *t;
};

struct policy_dane_lookup;
typedef void (*policy_dane_result_fn)(void *arg, const struct policy_dane_domain *d);

/* Look up domain (MX, each host's addresses, TLSA).  cb runs once when all answers are in (from
 * the transport's done, i.e. from policy_dane_process); the lookup then frees itself. */
int policy_dane_lookup_domain(const struct policy_dane_transport *tr, const char *domain,
			      policy_dane_result_fn cb, void *arg, struct policy_dane_lookup **out);

/*
 * Lookup flags, for callers that need the MX hosts beyond DANE (MTA-STS matches the MX names,
 * and a transparent relay knows the MX only by address):
 *
 *   ADDRS_ALWAYS  an insecure MX RRset still yields its hosts and their addresses (insecure
 *                 answers accepted); the domain stays NONE "MX RRset insecure" as without the
 *                 flag, each host NONE "MX RRset insecure" (no TLSA asked), or FAILED when an
 *                 address answer was bogus or indeterminate
 *   NO_TLSA       no TLSA queries (DANE off): hosts with addresses are NONE "TLSA not asked"
 */
#define POLICY_DANE_F_ADDRS_ALWAYS (1u << 0)
#define POLICY_DANE_F_NO_TLSA (1u << 1)
int policy_dane_lookup_domain_flags(const struct policy_dane_transport *tr, const char *domain,
				    unsigned int flags, policy_dane_result_fn cb, void *arg,
				    struct policy_dane_lookup **out);
/* The same for one host without an MX lookup (a [host] next hop): the domain has one host, the
 * MX step counted as secure (the name came from configuration, not from DNS). */
int policy_dane_lookup_host(const struct policy_dane_transport *tr, const char *host,
			    policy_dane_result_fn cb, void *arg, struct policy_dane_lookup **out);
/* Stop a lookup before its cb ran (cb will not run). */
void policy_dane_lookup_cancel(struct policy_dane_lookup *l);

/* ---- the libunbound transport (dane_ub.c) ------------------------------------------------- */

struct policy_dane_resolver;
struct policy_dane_resolver_opts {
	size_t sz;		  /* sizeof(struct policy_dane_resolver_opts) */
	const char *trust_anchor; /* DS/DNSKEY file; NULL: POLICY_DANE_ROOT_KEY */
	const char *forwarder;	  /* "ip" or "ip@port"; NULL: recursion from the root */
};
#define POLICY_DANE_ROOT_KEY "/usr/share/dns/root.key"

/* One per thread (an epoll loop); err gets libunbound's words on failure. */
int policy_dane_resolver_new(const struct policy_dane_resolver_opts *o,
			     struct policy_dane_resolver **out, char *err, size_t errlen);
void policy_dane_resolver_free(struct policy_dane_resolver *r);
/* The fd to watch for EPOLLIN; then call policy_dane_process (never blocks). */
int policy_dane_fd(struct policy_dane_resolver *r);
int policy_dane_process(struct policy_dane_resolver *r);
/* The transport to pass to policy_dane_lookup_*. */
void policy_dane_transport_of(struct policy_dane_resolver *r, struct policy_dane_transport *tr);

#endif
