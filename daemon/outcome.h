/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Outcomes (report/outcome.h) from the workers to the main thread's sinks: the posture store and
 * the TLS reporter.  A worker never waits: outcome_publish() copies the record into a bounded
 * queue under a mutex held for a memcpy; the main loop drains the queue every 200 ms, or when an
 * eighth of it is used (an eventfd), and hands each record to every sink.  Whoever needs the
 * sinks up to date now calls outcome_drain() first (`tlsrpt flush`; shutdown drains).  A full queue drops the record and counts it (never a blocked
 * session; the count is in `tlsgatectl stats` as outcomes_dropped).
 */
#ifndef TLSGATE_DAEMON_OUTCOME_H
#define TLSGATE_DAEMON_OUTCOME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/loop.h"
#include "report/outcome.h"

struct outcome_queue;

typedef void (*outcome_sink_fn)(const struct report_outcome *o, void *ctx);

/* On the main thread: a queue of at most cap records (0: 4096) drained on loop l; records
 * dropped on a full queue are counted in *dropped (the gateway's counters; may be NULL). */
int outcome_queue_new(struct loop *l, size_t cap, atomic_uint_fast64_t *dropped,
		      struct outcome_queue **out);
/* Drains what is queued to the sinks first. */
void outcome_queue_free(struct outcome_queue *q);
/* Main thread, before the workers publish: add a sink (at most 4). 0 or -ENOSPC. */
int outcome_sink_add(struct outcome_queue *q, outcome_sink_fn fn, void *ctx);
/* Any thread, never blocks; q may be NULL (nothing listens). */
void outcome_publish(struct outcome_queue *q, const struct report_outcome *o);
/* Drain now (tests; the loop does it when the eventfd fires). */
void outcome_drain(struct outcome_queue *q);

#endif
