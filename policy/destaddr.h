/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Destination-policy addresses for the kernel enforcer: which MX addresses the recipient
 * domains' own policies (DANE, MTA-STS) make TLS-required, from the domains the gateway has
 * looked up.  Pure: no sockets, no threads, no clock of its own (callers pass times).
 *
 * An address is TLS-required by destination policy only when every domain seen on it requires
 * TLS toward the host there.  Shared MX addresses (large providers) serve many domains, and a
 * transparent relay's kernel half cannot tell which domain a bypassing connection is for: one
 * domain without DANE/MTA-STS on the address means plaintext may be legitimate there.
 *
 * The facts come as records, one per looked-up domain (its MX hosts, their DANE state and
 * addresses), each valid until its lookup expires; a newer record of a domain replaces the
 * older one.  Whether a domain requires TLS toward one of its hosts is the caller's question
 * (policy_destaddr_requires_fn: the admin's table, DANE, MTA-STS as configured);
 * policy_destaddr_host_requires answers the DANE and MTA-STS part.
 */
#ifndef TLSGATE_POLICY_DESTADDR_H
#define TLSGATE_POLICY_DESTADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/dane.h"
#include "policy/sts.h"

struct tg_bpf_policy_entry;

#define POLICY_DESTADDR_MAX_PAIRS 65536 /* (domain, address) pairs tracked by default */

/* One MX host of a looked-up domain. */
struct policy_destaddr_host {
	char name[POLICY_DANE_NAME_MAX];
	enum policy_dane_state dane; /* the host's DANE verdict (NONE when DANE is off) */
	size_t n4, n6;
	uint8_t addr4[POLICY_DANE_MAX_ADDRS][4];
	uint8_t addr6[POLICY_DANE_MAX_ADDRS][16];
};

/* One domain's lookup, reduced to what the aggregation needs (no TLSA data). */
struct policy_destaddr_rec {
	struct policy_destaddr_rec *next; /* free for the caller's queue */
	char domain[POLICY_DANE_NAME_MAX];
	uint64_t expires_ms; /* the caller's clock (monotonic ms) */
	size_t nhost;
	struct policy_destaddr_host host[];
};

/* A record of verdict v valid until expires_ms (malloc'd, sized to its hosts; free()). */
int policy_destaddr_rec_new(const struct policy_dane_domain *v, uint64_t expires_ms,
			    struct policy_destaddr_rec **out);

/*
 * Does a domain require TLS toward host by its own policies: DANE USABLE or UNUSABLE_ALL (TLS
 * mandatory, RFC 7672 2.2), or an MTA-STS policy (sts, may be NULL) in enforce mode whose mx
 * patterns match the host name (RFC 8461 4.1).  DANE NONE or FAILED, MTA-STS testing or none
 * do not.
 */
bool policy_destaddr_host_requires(enum policy_dane_state dane, const struct policy_sts_policy *sts,
				   const char *host);

struct policy_destaddr;

/* max_pairs 0: POLICY_DESTADDR_MAX_PAIRS.  0 or -ENOMEM. */
int policy_destaddr_new(size_t max_pairs, struct policy_destaddr **out);
void policy_destaddr_free(struct policy_destaddr *a);

/*
 * Take rec (ownership passes; rec->next is ignored): it replaces the domain's previous record.
 * A record without addresses only removes it.  Beyond max_pairs the records that expire first
 * are dropped (the new one last).  0, or -E2BIG when rec alone is over the bound (freed).
 */
int policy_destaddr_put(struct policy_destaddr *a, struct policy_destaddr_rec *rec);
/* Drop the records expired at now_ms; returns how many. */
size_t policy_destaddr_expire(struct policy_destaddr *a, uint64_t now_ms);
/* When the first record expires (UINT64_MAX: none). */
uint64_t policy_destaddr_next_expiry(const struct policy_destaddr *a);
size_t policy_destaddr_domains(const struct policy_destaddr *a);
size_t policy_destaddr_pairs(const struct policy_destaddr *a);

struct policy_destaddr_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

/* Does domain require TLS toward host h (the caller's whole precedence). */
typedef bool (*policy_destaddr_requires_fn)(void *arg, const char *domain,
					    const struct policy_destaddr_host *h);

/*
 * The addresses every domain seen on requires TLS toward (a host of a domain on an address that
 * does not require TLS there makes the address not required), sorted by family and address;
 * *out malloc'd (free(); NULL when *n is 0).  *seen (may be NULL): distinct addresses tracked.
 * 0 or -ENOMEM.
 */
int policy_destaddr_required(const struct policy_destaddr *a, policy_destaddr_requires_fn fn,
			     void *arg, struct policy_destaddr_addr **out, size_t *n, size_t *seen);

/*
 * The kernel's entries: the table's (tbl, n: policy_lpm_entries of both directions, kept as
 * they are) followed by one outbound any-port /32 or /128 entry at level encrypt with rule_id
 * for each required address that no outbound table prefix covers -- the admin's address and
 * resolved domain rules decide where they exist, as they do in the session.  *out malloc'd;
 * *added (may be NULL): destination entries appended.  0 or -ENOMEM.
 */
int policy_destaddr_entries(const struct tg_bpf_policy_entry *tbl, size_t n,
			    const struct policy_destaddr_addr *req, size_t nreq, uint32_t rule_id,
			    struct tg_bpf_policy_entry **out, size_t *nout, size_t *added);

#endif
