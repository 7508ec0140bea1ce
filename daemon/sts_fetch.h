/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MTA-STS policies (RFC 8461) fetched and kept fresh: the TXT record _mta-sts.DOMAIN over UDP,
 * then https://mta-sts.DOMAIN/.well-known/mta-sts.txt (WebPKI-verified for that name, SNI, TLS
 * 1.2+, no redirects, 64 KiB, a deadline), into the on-disk cache (policy/sts.h).
 *
 * Where it runs: on the supervisor's (main thread's) loop, asynchronously: a fetch is a state
 * machine driven by loop_watch and a timer, never a blocking call.  Workers only read: the cache
 * is behind a mutex held for a binary search and a reference count (policy/sts_cache.c), and a
 * worker that wants a refresh queues the domain (a mutex and an eventfd write) -- a worker never
 * waits on DNS or HTTPS.
 *
 * When: a domain is checked (TXT) when asked (sts_fetch_lookup, at most once per check
 * interval, or `tlsgatectl sts refresh`) and, for cached policies, by a timer once half of
 * max_age has gone by.  The policy is fetched again when the TXT id differs from the cached
 * one, when half of max_age has gone by, or when forced.  A failure keeps the cached policy (it
 * is used until it expires) and backs off.
 */
#ifndef TLSGATE_DAEMON_STS_FETCH_H
#define TLSGATE_DAEMON_STS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/loop.h"
#include "policy/sts.h"

struct sts_fetch;

struct sts_fetch_opts {
	const char *cache_dir;	/* STATE_DIR/mta-sts */
	const char *ca_file;	/* WebPKI roots (PEM); NULL or "": OpenSSL's default paths */
	const char *nameserver;	/* "a.b.c.d[:port]"; NULL: the first of /etc/resolv.conf */
	unsigned int timeout_s;	/* a whole refresh (DNS, connect, TLS, HTTP); 0: 10 */
	size_t max_entries;	/* cache bound; 0: 100000 */
	uint16_t port;		/* HTTPS port; 0: 443 */
	/* Called on the loop after a policy was stored (who depends on it: daemon/destkern.h). */
	void (*stored)(void *arg, const char *domain);
	void *stored_arg;
};

int sts_fetch_new(struct loop *l, const struct sts_fetch_opts *o, struct sts_fetch **out);
/* Abandons fetches under way (the cache keeps what was stored). */
void sts_fetch_free(struct sts_fetch *f);

enum sts_lookup {
	STS_LOOKUP_NONE,	/* no policy applies (none known, expired, or mode none) */
	STS_LOOKUP_POLICY,	/* *e: testing or enforce, not expired */
	STS_LOOKUP_PENDING,	/* none cached yet and a fetch is under way: none applies now */
};

/*
 * Any thread, never blocks: the cached policy for domain (a reference the caller drops with
 * policy_sts_entry_put).  Queues a refresh when the domain is due a check.
 */
enum sts_lookup sts_fetch_lookup(struct sts_fetch *f, const char *domain,
				 struct policy_sts_entry **e);

/*
 * Ask for a refresh of domain: a TXT check, and a fetch if the id changed, half of max_age has
 * gone, nothing is cached, or force.  From the loop's own thread it starts at once (the state
 * shows pending on return); from others it is queued.  0, -EINVAL (not a domain name), -EBUSY
 * (queue full).
 */
int sts_fetch_refresh(struct sts_fetch *f, const char *domain, bool force);

/* For `tlsgatectl sts show|purge` (the loop's thread). */
struct policy_sts_cache *sts_fetch_cache(struct sts_fetch *f);

#endif
