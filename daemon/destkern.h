/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The destinations' own policies for the kernel enforcer (enforce_destination_policy): the
 * recipient domains the workers looked up (daemon/destpol.c) gathered on the supervisor's loop
 * into policy/destaddr.h's aggregator, whose TLS-required addresses the supervisor pushes into
 * the kernel beside the table's entries (supervisor_policy.c).
 *
 * Flow: a worker never waits.  When its destpol stores a verdict, destkern_post reduces it to a
 * record (malloc, no lock), appends it to a bounded list under a mutex (a pointer append) and
 * writes an eventfd when the list was empty -- the same hand-over as sts_fetch's refresh queue.
 * A snapshot read by the supervisor would need a lock around every worker's cache for as long
 * as it is walked; a queue costs the workers one short lock per lookup (not per RCPT), and the
 * supervisor sees a domain's newest record as soon as it exists.  On the loop, the records go
 * into the aggregator and a short timer (coalescing a burst of lookups into one push) calls
 * `changed`; so does the first record's expiry and destkern_touch (an MTA-STS policy stored).
 * What the caller then pushes is decided by destkern_required: it compares with the last push.
 */
#ifndef TLSGATE_DAEMON_DESTKERN_H
#define TLSGATE_DAEMON_DESTKERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/loop.h"
#include "policy/destaddr.h"

struct destkern;

#define DESTKERN_QUEUE_MAX 4096	 /* records waiting for the loop; more are dropped (logged) */
#define DESTKERN_COALESCE_MS 200 /* from the first new record to the push */

/* On the loop's thread; changed(arg) runs on it.  max_pairs as policy_destaddr_new. */
int destkern_new(struct loop *l, size_t max_pairs, void (*changed)(void *arg), void *arg,
		 struct destkern **out);
/* After every thread that posts has stopped. */
void destkern_free(struct destkern *k);

/* Any thread, never blocks beyond a list append: v is the verdict a lookup stored, valid until
 * expires_ms (loop_now_ms clock). */
void destkern_post(struct destkern *k, const struct policy_dane_domain *v, uint64_t expires_ms);
/* The loop's thread: something the requirement depends on changed (an MTA-STS policy): run
 * changed after the coalescing delay. */
void destkern_touch(struct destkern *k);

/* The loop's thread: the addresses to enforce now (policy_destaddr_required, expired records
 * dropped first); *changed whether they differ from the previous call's.  0 or -ENOMEM. */
int destkern_required(struct destkern *k, policy_destaddr_requires_fn fn, void *arg,
		      struct policy_destaddr_addr **out, size_t *n, size_t *seen, bool *changed);

/* The last answer did not reach the kernel: the next destkern_required counts as changed. */
void destkern_forget(struct destkern *k);

#endif
