// SPDX-License-Identifier: GPL-2.0-only
/* Outcomes from the workers to the main thread's sinks: see daemon/outcome.h. */
#include "daemon/outcome.h"
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define OUTCOME_SINKS 4
/*
 * When the main loop hears of outcomes: at the latest every OUTCOME_DRAIN_MS (a timer), or at
 * once when the queue is an eighth full.  Not per outcome: on a 2-core appliance a wake-up of
 * the main thread per message is a context switch per message (bench_posture.sh measured
 * ~5% msgs/s at 10 messages a session with one wake per batch); the sinks (posture, TLS
 * reports) need no outcome within milliseconds, and whoever reads their result first drains
 * (outcome_drain: `tlsrpt flush`, shutdown).
 */
#define OUTCOME_DRAIN_MS 200

struct outcome_queue {
	struct loop *loop;
	struct loop_ev ev;		/* the eventfd */
	struct loop_timer timer;	/* the periodic drain */
	pthread_mutex_t lock;
	struct report_outcome *ring;	/* cap records, under lock */
	size_t cap, head, len;
	struct {
		outcome_sink_fn fn;
		void *ctx;
	} sink[OUTCOME_SINKS];
	unsigned int nsink;
	atomic_uint_fast64_t *dropped;
};

void outcome_drain(struct outcome_queue *q)
{
	struct report_outcome o;

	if (!q)
		return;
	for (;;) {
		/* One at a time: the lock is held for a copy, never while a sink runs. */
		pthread_mutex_lock(&q->lock);
		if (!q->len) {
			pthread_mutex_unlock(&q->lock);
			return;
		}
		o = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
		pthread_mutex_unlock(&q->lock);
		for (unsigned int i = 0; i < q->nsink; i++)
			q->sink[i].fn(&o, q->sink[i].ctx);
	}
}

static void on_wake(struct loop_ev *ev, uint32_t events)
{
	struct outcome_queue *q = (struct outcome_queue *)((char *)ev - offsetof(struct outcome_queue, ev));
	uint64_t n;

	(void)events;
	/* the count is not needed: the ring says what is there */
	if (read(q->ev.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("outcomes: eventfd read: %s", strerror(errno));
	outcome_drain(q);
}

static void on_timer(struct loop_timer *t)
{
	struct outcome_queue *q = (struct outcome_queue *)((char *)t -
							    offsetof(struct outcome_queue, timer));

	outcome_drain(q);
	loop_timer_arm(q->loop, &q->timer, OUTCOME_DRAIN_MS);
}

int outcome_queue_new(struct loop *l, size_t cap, atomic_uint_fast64_t *dropped,
		      struct outcome_queue **out)
{
	struct outcome_queue *q = calloc(1, sizeof(*q));
	int rc;

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->cap = cap ? cap : 4096;
	q->dropped = dropped;
	q->ring = calloc(q->cap, sizeof(*q->ring));
	q->ev.fd = -1;
	if (!q->ring) {
		rc = -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->loop = l;
	q->ev.fn = on_wake;
	q->ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->ev.fd < 0) {
		rc = -errno;
		goto fail;
	}
	loop_timer_init(&q->timer, on_timer);
	if (l) {
		rc = loop_watch(l, &q->ev, EPOLLIN);
		if (rc)
			goto fail;
		rc = loop_timer_arm(l, &q->timer, OUTCOME_DRAIN_MS);
		if (rc) {
			loop_unwatch(l, &q->ev);
			goto fail;
		}
	}
	*out = q;
	return 0;
fail:
	if (q->ev.fd >= 0)
		close(q->ev.fd);
	free(q->ring);
	free(q);
	return rc;
}

void outcome_queue_free(struct outcome_queue *q)
{
	if (!q)
		return;
	outcome_drain(q);
	if (q->loop) {
		loop_timer_disarm(q->loop, &q->timer);
		loop_unwatch(q->loop, &q->ev);
	}
	close(q->ev.fd);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

int outcome_sink_add(struct outcome_queue *q, outcome_sink_fn fn, void *ctx)
{
	if (q->nsink == OUTCOME_SINKS)
		return -ENOSPC;
	q->sink[q->nsink].fn = fn;
	q->sink[q->nsink].ctx = ctx;
	q->nsink++;
	return 0;
}

void outcome_publish(struct outcome_queue *q, const struct report_outcome *o)
{
	uint64_t one = 1;
	bool full, wake;

	if (!q || !q->nsink)
		return;
	pthread_mutex_lock(&q->lock);
	full = q->len == q->cap;
	/* the record that makes the queue an eighth full wakes the loop (once: later ones find
	 * it past that mark, and the drain empties it) */
	wake = q->len + 1 == (q->cap + 7) / 8;
	if (!full) {
		q->ring[(q->head + q->len) % q->cap] = *o;
		q->len++;
	}
	pthread_mutex_unlock(&q->lock);
	if (full) {
		if (q->dropped)
			atomic_fetch_add(q->dropped, 1);
		return;
	}
	/* A full eventfd counter still wakes the loop: nothing is lost when this fails. */
	if (!wake)
		return;
	if (write(q->ev.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("outcomes: eventfd write: %s", strerror(errno));
}
