// SPDX-License-Identifier: GPL-2.0-only
/* daemon/outcome.c: outcomes from worker threads to the main loop's sinks, never blocking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "daemon/loop.h"
#include "daemon/outcome.h"

#define THREADS 4
#define PER_THREAD 5000

struct seen {
	unsigned int n;
	unsigned int per_thread[THREADS];
	bool in_order;
};

static void sink(const struct report_outcome *o, void *ctx)
{
	struct seen *s = ctx;
	unsigned int t = o->rule_id, i = o->recipients;

	s->n++;
	/* one producer's records keep their order */
	if (t >= THREADS || i != s->per_thread[t])
		s->in_order = false;
	else
		s->per_thread[t]++;
}

struct producer {
	struct outcome_queue *q;
	unsigned int id;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct report_outcome o;

	memset(&o, 0, sizeof(o));
	o.rule_id = p->id;
	for (unsigned int i = 0; i < PER_THREAD; i++) {
		o.recipients = i;
		snprintf(o.domain, sizeof(o.domain), "d%u.example", i);
		outcome_publish(p->q, &o);
	}
	return NULL;
}

/* Four threads publish while the loop drains: every record arrives once, in each producer's
 * order, when the queue is large enough. */
static void test_threads(void **state)
{
	struct loop *l;
	struct outcome_queue *q;
	struct seen s = { .in_order = true };
	struct producer p[THREADS];
	pthread_t t[THREADS];
	atomic_uint_fast64_t dropped = 0;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(outcome_queue_new(l, THREADS * PER_THREAD, &dropped, &q), 0);
	assert_int_equal(outcome_sink_add(q, sink, &s), 0);
	for (unsigned int i = 0; i < THREADS; i++) {
		p[i] = (struct producer){ q, i };
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	while (s.n < THREADS * PER_THREAD)
		loop_run_once(l, 1000);
	for (unsigned int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	outcome_drain(q);
	assert_int_equal(s.n, THREADS * PER_THREAD);
	assert_true(s.in_order);
	assert_int_equal(atomic_load(&dropped), 0);
	outcome_queue_free(q);
	loop_free(l);
}

/* A full queue drops and counts; nothing waits.  No sink: nothing is queued at all. */
static void test_full_and_no_sink(void **state)
{
	struct outcome_queue *q;
	struct seen s = { .in_order = true };
	struct report_outcome o;
	atomic_uint_fast64_t dropped = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(outcome_queue_new(NULL, 8, &dropped, &q), 0);
	outcome_publish(q, &o); /* no sink yet: not queued, not dropped */
	assert_int_equal(atomic_load(&dropped), 0);
	assert_int_equal(outcome_sink_add(q, sink, &s), 0);
	for (unsigned int i = 0; i < 10; i++) {
		o.recipients = i;
		outcome_publish(q, &o);
	}
	assert_int_equal(atomic_load(&dropped), 2);
	outcome_drain(q);
	assert_int_equal(s.n, 8);
	assert_true(s.in_order);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(outcome_sink_add(q, sink, &s), i < 3 ? 0 : -ENOSPC);
	assert_int_equal(outcome_sink_add(q, sink, &s), -ENOSPC);
	outcome_publish(NULL, &o); /* nothing listens: harmless */
	outcome_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_full_and_no_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
