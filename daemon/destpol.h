/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Destination policy lookups for outbound sessions: per recipient domain, the gateway's own view
 * of its MX hosts, their addresses and (DANE, RFC 7672) their TLSA verdicts -- what a session
 * that knows the MX only by address needs to decide DANE and MTA-STS (RFC 8461) per RCPT.
 *
 * One per worker thread, on the worker's loop: its own validating libunbound resolver
 * (policy/dane.h) whose fd is in the loop, and a cache of verdicts.  Never blocks: a miss
 * starts a lookup and the caller waits with a struct destpol_waiter; many sessions waiting on
 * one domain share one lookup.
 *
 * What is cached: the policy_dane_domain verdict, POLICY_DANE_F_ADDRS_ALWAYS always (MTA-STS
 * needs the hosts of insecure domains too) and POLICY_DANE_F_NO_TLSA when DANE is off.  A
 * lookup that does not end by its deadline is a FAILED verdict ("lookup timed out"), cached for
 * fail_ttl_s: a failure must defer mail, never read as "no DANE" (RFC 7672 2.2).
 */
#ifndef TLSGATE_DAEMON_DESTPOL_H
#define TLSGATE_DAEMON_DESTPOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/loop.h"
#include "policy/dane.h"

struct destpol;
struct destpol_entry;

struct destpol_opts {
	size_t sz;			/* sizeof(struct destpol_opts) */
	const char *trust_anchor;	/* DS/DNSKEY file; NULL: POLICY_DANE_ROOT_KEY */
	const char *forwarder;		/* libunbound's "ip" or "ip@port"; NULL: recursion */
	bool dane;			/* ask TLSA */
	unsigned int ttl_s;		/* a verdict is kept this long; 0: 300 */
	unsigned int fail_ttl_s;	/* ... a FAILED one; 0: 30 */
	unsigned int timeout_s;		/* a lookup's deadline; 0: 10 */
	size_t max_entries;		/* domains kept; 0: 10000 */
	/* Called (on the loop) with each verdict a lookup stored and when it expires
	 * (loop_now_ms clock): the kernel enforcer's view (daemon/destkern.h).  May be NULL. */
	void (*stored)(void *arg, const struct policy_dane_domain *v, uint64_t expires_ms);
	void *stored_arg;
};

#define DESTPOL_TTL_S 300
#define DESTPOL_FAIL_TTL_S 30
#define DESTPOL_TIMEOUT_S 10
#define DESTPOL_MAX_ENTRIES 10000

/* On the loop's thread, before it runs; the trust anchor is read here (daemon set-up, before
 * privileges are dropped).  0 or -errno with err filled ("trust anchor ...: ..."). */
int destpol_new(struct loop *l, const struct destpol_opts *o, struct destpol **out, char *err,
		size_t errlen);
/* The same over any transport and without a resolver of its own (unit tests). */
int destpol_new_transport(struct loop *l, const struct destpol_opts *o,
			  const struct policy_dane_transport *tr, struct destpol **out);
/* Cancels the lookups under way; waiters are not woken (their sessions are gone by then). */
void destpol_free(struct destpol *d);

struct destpol_waiter {
	void (*wake)(struct destpol_waiter *w);
	/* private */
	struct destpol_entry *e;
	struct destpol_waiter *next, **pprev;
};

/*
 * The cached verdict for domain (any case, trailing dot or not):
 *    1  *out valid until the next return to the loop (read it, never copy it by value: it holds
 *       only its nhost hosts -- policy_dane_domain_copy copies it)
 *    0  pending: a lookup started or is already running; w->wake runs once when it ends, from
 *       the loop, unless destpol_cancel(w) came first.  w may be NULL (nobody to wake).
 *  -EINVAL (not a domain name), -ENOMEM
 * A waiter waits for one domain at a time: passing a waiting w again moves it.  wake may call
 * destpol_get and destpol_cancel (for any waiter).
 */
int destpol_get(struct destpol *d, const char *domain, const struct policy_dane_domain **out,
		struct destpol_waiter *w);
/* Stop waiting (a session that ends); safe when w is not waiting. */
void destpol_cancel(struct destpol_waiter *w);

/*
 * The name to send as SNI to a destination address, from the verdicts cached here: the TLSA
 * base domain of a host with TLSA records at that address, else an MX host name there, else
 * NULL.  A hint for the handshake (servers that choose a certificate by name); valid until the
 * next return to the loop.  addr: 4 or 16 bytes.
 */
const char *destpol_sni_for_addr(const struct destpol *d, const uint8_t *addr, size_t alen);

/* Domains cached (pending ones included), for tests and stats. */
size_t destpol_count(const struct destpol *d);

#endif
